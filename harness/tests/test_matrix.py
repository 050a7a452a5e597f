"""The boot matrix's own expectations."""

import os
import unittest

from harness import compare, matrix, topology
from harness.util import ROOT


def result(*lines):
    """Deferred lines (node, pages, ms, threads[, from_templates[, limit]]);
    without a template count, all pages came from templates; without a
    limit, it is the threads that ran."""
    keys = ("node", "pages", "ms", "threads", "from_templates", "limit")
    found = []
    for line in lines:
        line = line + (line[1],) * (len(line) < 5)
        line = line + (line[3],) * (len(line) < 6)
        found.append(dict(zip(keys, line)))
    return {"deferred": found}


class ThreadExpectationTest(unittest.TestCase):
    def test_cpu_less_node_borrows(self):
        spec = topology.guest_spec(numa="2G@0-1,16G")
        self.assertEqual(matrix.node_cpus(spec), {0: 2, 1: 2})

    def test_default_and_clamp(self):
        spec = topology.guest_spec(mem="4G", smp=2)
        good = result((0, 100, 1.0, 2))
        self.assertEqual(matrix.deferred_problems(good, spec, None), [])
        self.assertEqual(matrix.deferred_problems(good, spec, 64), [])
        self.assertEqual(len(matrix.deferred_problems(good, spec, 1)), 1)

    def test_threads_that_ran(self):
        spec = topology.guest_spec(mem="4G", smp=2)
        fewer = result((0, 100, 1.0, 1, 100, 2))
        self.assertEqual(matrix.deferred_problems(fewer, spec, None), [])
        more = result((0, 100, 1.0, 3, 100, 2))
        self.assertEqual(matrix.deferred_problems(more, spec, None),
                         ["node 0: 3 threads ran, the limit is 2"])
        none = result((0, 100, 1.0, 0, 100, 2))
        self.assertEqual(matrix.deferred_problems(none, spec, None),
                         ["node 0: 0 threads ran, the limit is 2"])

    def test_stock_line_is_not_enough(self):
        spec = topology.guest_spec(mem="4G", smp=2)
        stock = result((0, None, 4.0, None))
        self.assertIn("lacks pages",
                      matrix.deferred_problems(stock, spec, None)[0])
        self.assertEqual(matrix.deferred_problems({"deferred": []}, spec,
                                                  None),
                         ["no deferred-init line in dmesg"])


class TemplateShareTest(unittest.TestCase):
    def test_fall_back_is_caught(self):
        spec = topology.guest_spec(mem="4G", smp=2)
        big = matrix.MIN_TEMPLATE_PAGES * 10
        ok = result((0, big, 1.0, 2, int(big * 0.95)))
        self.assertEqual(matrix.deferred_problems(ok, spec, None), [])
        fell_back = result((0, big, 1.0, 2, 0))
        self.assertIn("fell back",
                      matrix.deferred_problems(fell_back, spec, None)[0])

    def test_small_node_and_missing_count(self):
        spec = topology.guest_spec(mem="4G", smp=2)
        small = result((0, 1024, 1.0, 2, 0))
        self.assertEqual(matrix.deferred_problems(small, spec, None), [])
        old_line = result((0, 1024, 1.0, 2, None))
        self.assertIn("lacks 'N from templates'",
                      matrix.deferred_problems(old_line, spec, None)[0])


class GrowthTest(unittest.TestCase):
    def test_growth_must_leave_fewer_pages(self):
        m = matrix.Matrix(verbose=False)
        m.grew("g", result((0, 90, 1.0, 2)), result((0, 100, 1.0, 2)))
        self.assertEqual(m.failures, [])
        m.grew("g", result((0, 100, 1.0, 2)), result((0, 100, 1.0, 2)))
        self.assertEqual(len(m.failures), 1)


class MemstressLineTest(unittest.TestCase):
    def test_parse(self):
        m = matrix.MEMSTRESS_LINE.search(
            "x\nmemstress before=100 full=10 after=99\n")
        self.assertEqual(m.groups(), ("100", "10", "99"))


class RowsTest(unittest.TestCase):
    def test_every_row_is_valid_and_documented(self):
        with open(os.path.join(ROOT, "README.md")) as fh:
            readme = fh.read()
        names = set()
        for case in matrix.FULL_CASES + matrix.KASAN_CASES:
            topology.guest_spec(mem=case.get("mem"), smp=case.get("smp"),
                                numa=case.get("numa"))
            self.assertTrue(case.get("proves"), case["name"])
            self.assertNotIn(case["name"], names)
            names.add(case["name"])
        for row in matrix.table().splitlines():
            self.assertTrue(row in readme, "README lacks the matrix row "
                            "'%s': paste matrix.table() into it" % row)

    def test_kasan_only_in_full(self):
        self.assertNotIn("kasan", matrix.variants(False))
        self.assertIn("kasan", matrix.variants(True))


def zones(**present):
    return {name.replace("_", "/"): {"present": p, "managed": p}
            for name, p in present.items()}


class ExpectTest(unittest.TestCase):
    def test_zone_present(self):
        result = {"zones": zones(**{"0_Normal": 10, "0_Movable": 0})}
        self.assertEqual(matrix.expect_problems(
            result, {"zones_present": ["0/Normal"]}), [])
        self.assertEqual(matrix.expect_problems(
            result, {"zones_present": ["0/Movable", "1/Movable"]}),
            ["zone 0/Movable has no present pages",
             "zone 1/Movable has no present pages"])

    def test_max_present(self):
        result = {"zones": zones(**{"0_DMA32": 256 * 100})}
        self.assertEqual(matrix.expect_problems(
            result, {"max_present_mb": 100}), [])
        self.assertEqual(len(matrix.expect_problems(
            result, {"max_present_mb": 99})), 1)

    def test_hugetlb(self):
        result = {"zones": {}, "hugetlb_kb": 2048}
        self.assertEqual(matrix.expect_problems(
            result, {"hugetlb_kb": 2048}), [])
        self.assertEqual(matrix.expect_problems(
            {"zones": {}, "hugetlb_kb": 0}, {"hugetlb_kb": 2048}),
            ["Hugetlb 0 kB, expected 2048 kB"])


class ParamMessageTest(unittest.TestCase):
    def test_invalid_values(self):
        dmesg = ("[ 0.0] " + matrix.INVALID % "-1" + "\n")
        self.assertEqual(matrix.param_message_problems(
            dmesg, matrix.INVALID % "-1"), [])
        self.assertEqual(len(matrix.param_message_problems(
            dmesg, matrix.INVALID % "lots")), 1)
        # A valid value must not produce the message.
        self.assertEqual(len(matrix.param_message_problems(dmesg, None)), 1)
        self.assertEqual(matrix.param_message_problems("clean\n", None), [])


class FreeTest(unittest.TestCase):
    def result(self, total, free):
        return {"memtotal_kb": total, "memfree_kb": free}

    def test_image_difference_cancels(self):
        stock = self.result(16000000, 15990000)
        # 8 kB bigger image: MemTotal and MemFree both 8 kB lower.
        self.assertEqual(compare.free_close(
            stock, self.result(15999992, 15989992)), [])

    def test_tolerance(self):
        stock = self.result(16000000, 15990000)
        tol = compare.FREE_TOLERANCE_KB
        self.assertEqual(compare.free_close(
            stock, self.result(16000000, 15990000 - tol)), [])
        problems = compare.free_close(
            stock, self.result(16000000, 15990000 - tol - 4))
        self.assertIn("beyond the tolerance", problems[0])
        self.assertEqual(compare.free_close(stock, {"memtotal_kb": 1,
                                                    "memfree_kb": None}),
                         ["no MemFree to compare"])



class BackingTest(unittest.TestCase):
    """make test boots sparse guests: correctness, not wall-clock time,
    and rows larger than the host."""

    def test_every_matrix_boot_is_sparse(self):
        from harness import boot, selftest
        self.assertEqual(matrix.BACKING, "sparse")
        self.assertEqual(selftest.BACKING, "sparse")
        seen = []
        real_boot, real_problems = boot.boot, boot.problems
        boot.boot = lambda *a, **kw: seen.append(kw.get("backing")) or {
            "log_dir": "x"}
        boot.problems = lambda r: []
        try:
            spec = topology.guest_spec(mem="256G", smp=2)
            matrix.Matrix(verbose=False).boot("w", "stock", spec)
        finally:
            boot.boot, boot.problems = real_boot, real_problems
        self.assertEqual(seen, ["sparse"])


if __name__ == "__main__":
    unittest.main()
