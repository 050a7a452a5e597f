"""The boot matrix's own expectations."""

import os
import unittest

from harness import compare, logparse, matrix, topology
from harness.tests.common import (HUGEPAGES_1G, HUGEPAGES_2M,
                                  STOCK_TWO_CPU_LESS, TWO_CPU_LESS,
                                  debug_ktap, fixture, without)
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

    def test_cpu_less_nodes_borrow_in_turn(self):
        spec = topology.guest_spec(numa="2G@0,2G@1-2,16G,16G", smp=3)
        self.assertEqual(matrix.node_cpus(spec), {0: 1, 1: 2, 2: 1, 3: 2})
        spec = topology.guest_spec(numa="2G@0,2G@1,16G,16G", smp=2)
        self.assertEqual(matrix.node_cpus(spec), {0: 1, 1: 1, 2: 1, 3: 1})
        self.assertEqual(matrix.cpu_less(spec), [2, 3])
        self.assertEqual(matrix.nodes_with_cpus(spec), {0, 1})
        one = topology.guest_spec(mem="4G", smp=2)
        self.assertEqual((matrix.cpu_less(one), matrix.nodes_with_cpus(one)),
                         ([], {0}))

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


def two_cpu_less(dmesg=None):
    """The new row's guest and a patched boot's result from its fixture
    (or from dmesg)."""
    case = next(c for c in matrix.CASES if c["name"] == "two CPU-less nodes")
    spec = topology.guest_spec(numa=case["numa"], smp=case["smp"])
    dmesg = fixture(TWO_CPU_LESS) if dmesg is None else dmesg
    return case, spec, {"deferred": logparse.deferred(dmesg),
                        "padata_jobs": logparse.padata_jobs(dmesg),
                        "kunit": logparse.kunit(dmesg),
                        "zones": {}}


def say(dmesg, node, source, ran_on):
    """dmesg with node's 'has no CPUs' line saying source and ran_on."""
    old = next(l for l in dmesg.splitlines()
               if "node %d has no CPUs" % node in l)
    new = old[:old.index("node %d has" % node)] + (
        "node %d has no CPUs, initialised from node %d with threads on "
        "nodes %s" % (node, source, ran_on))
    return dmesg.replace(old, new)


class CpuLessNodeTest(unittest.TestCase):
    """node N has no CPUs, initialised from node F with threads on nodes L:
    checked on every patched and debug boot (deferred_problems())."""

    def test_two_cpu_less_nodes(self):
        _, spec, result = two_cpu_less()
        self.assertEqual(matrix.deferred_problems(result, spec, None), [])
        self.assertEqual(matrix.deferred_problems(result, spec, 64), [])

    def test_limit_of_the_lender(self):
        """The limit of a node without CPUs is its lender's CPU count (1),
        not every online CPU (2)."""
        _, spec, result = two_cpu_less(fixture(TWO_CPU_LESS).replace(
            "(limit 1)", "(limit 2)"))
        self.assertEqual(matrix.deferred_problems(result, spec, None), [
            "node %d: a limit of 2 threads, expected 1" % node
            for node in range(4)])

    def test_from_a_node_without_cpus(self):
        _, spec, result = two_cpu_less(say(fixture(TWO_CPU_LESS), 3, 2,
                                           "0-2"))
        self.assertEqual(matrix.deferred_problems(result, spec, None), [
            "node 3: initialised from node 2, which has no CPUs",
            "node 3: threads on nodes 2, which have no CPUs"])

    def test_from_a_node_its_threads_did_not_run_on(self):
        _, spec, result = two_cpu_less(say(fixture(TWO_CPU_LESS), 2, 0,
                                           "1"))
        self.assertEqual(matrix.deferred_problems(result, spec, None), [
            "node 2: initialised from node 0, but its threads ran on "
            "nodes '1'"])
        _, spec, result = two_cpu_less(say(fixture(TWO_CPU_LESS), 2, 0, ""))
        self.assertEqual(matrix.deferred_problems(result, spec, None), [
            "node 2: initialised from node 0, but its threads ran on "
            "nodes ''"])

    def test_missing_line(self):
        _, spec, result = two_cpu_less(without(fixture(TWO_CPU_LESS),
                                               "node 3 has no CPUs"))
        self.assertEqual(matrix.deferred_problems(result, spec, None), [
            "node 3 has no CPUs but dmesg lacks 'node 3 has no CPUs, "
            "initialised from node ...'"])

    def test_old_message_is_not_enough(self):
        dmesg = fixture(TWO_CPU_LESS).replace(
            "node 2 has no CPUs, initialised from node 0 with threads on "
            "nodes 0", "node 2 has no CPUs, initialising it with node 0's")
        _, spec, result = two_cpu_less(dmesg)
        self.assertIn("node 2 has no CPUs but dmesg lacks",
                      matrix.deferred_problems(result, spec, None)[0])

    def test_node_with_cpus_says_it_has_none(self):
        _, _, result = two_cpu_less()
        spec = topology.guest_spec(numa="2G@0,2G@1,8G,8G@2", smp=3)
        self.assertEqual(matrix.cpu_less_problems(result["deferred"], spec),
                         ["node 3 has CPUs but the series says it has none"])


def job(fn=matrix.DEFERRED_FN, size=8, max_threads=2, threads=2, start=0):
    """One paired padata job as logparse.padata_jobs() gives it."""
    return {"fn": fn, "start": start, "size": size, "chunk": 1,
            "max_threads": max_threads, "threads": threads, "ns": 1000}


class PadataTraceTest(unittest.TestCase):
    """padata_trace_problems(): boots with 'trace_event=padata:*'."""

    def jobs_and_lines(self, name):
        dmesg = fixture(name)
        return logparse.padata_jobs(dmesg), logparse.deferred(dmesg)

    def test_fixtures_pass(self):
        for name in (TWO_CPU_LESS, HUGEPAGES_1G, HUGEPAGES_2M):
            self.assertEqual(matrix.padata_trace_problems(
                *self.jobs_and_lines(name)), [], name)

    def test_unpaired_start(self):
        jobs, lines = self.jobs_and_lines(TWO_CPU_LESS)
        jobs[3].update(threads=None, ns=None)
        self.assertEqual(matrix.padata_trace_problems(jobs, lines), [
            "padata_mt_start without an end: fn=deferred_init_memmap_chunk "
            "start=3440640 size=2031616"])

    def test_unpaired_end(self):
        jobs, lines = self.jobs_and_lines(HUGEPAGES_1G)
        jobs[-1].update(chunk=None, max_threads=None)
        self.assertEqual(matrix.padata_trace_problems(jobs, lines), [
            "padata_mt_end without a start: "
            "fn=gather_bootmem_prealloc_parallel start=0 size=1"])

    def test_more_threads_than_max_threads(self):
        jobs, lines = self.jobs_and_lines(HUGEPAGES_1G)
        jobs[-1]["threads"] = 2
        self.assertEqual(matrix.padata_trace_problems(jobs, lines), [
            "padata job fn=gather_bootmem_prealloc_parallel start=0 size=1: "
            "2 threads ran, 1 given, max_threads 1"])

    def test_thread_bounds(self):
        self.assertEqual(matrix.job_thread_problems(job(threads=2)), [])
        self.assertEqual(matrix.job_thread_problems(
            job(max_threads=0, threads=1)), [])
        self.assertEqual(matrix.job_thread_problems(
            job(size=0, threads=0)), [])
        self.assertEqual(len(matrix.job_thread_problems(job(threads=0))), 1)
        self.assertEqual(len(matrix.job_thread_problems(
            job(max_threads=0, threads=2))), 1)
        self.assertEqual(len(matrix.job_thread_problems(
            job(size=0, threads=3))), 1)

    def test_no_job(self):
        _, lines = self.jobs_and_lines(TWO_CPU_LESS)
        self.assertEqual(matrix.padata_trace_problems([], lines),
                         ["no padata job traced (padata_mt_start/"
                          "padata_mt_end)"])

    def test_deferred_threads_must_match_the_lines(self):
        jobs, lines = self.jobs_and_lines(HUGEPAGES_1G)
        for line in lines:
            line["threads"] = min(line["threads"], 1)
        self.assertEqual(matrix.padata_trace_problems(jobs, lines), [
            "the deferred_init_memmap_chunk jobs ran at most 2 threads, the "
            "deferred-init lines report at most 1"])
        others = [j for j in jobs if j["fn"] != matrix.DEFERRED_FN]
        self.assertIn("jobs ran at most None threads",
                      matrix.padata_trace_problems(others, lines)[0])

    def test_addresses_without_kallsyms(self):
        """A kernel without KALLSYMS prints %ps as an address."""
        jobs = [job(fn="0xffffffff81a83b10")]
        self.assertEqual(matrix.padata_trace_problems(
            jobs, [{"threads": 2}])[0],
            "padata job functions printed as addresses (0xffffffff81a83b10):"
            " the kernel lacks CONFIG_KALLSYMS")


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
        for case in matrix.FULL_CASES + matrix.DISTRO_CASES + \
                matrix.KASAN_CASES:
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

    def test_two_cpu_less_nodes_from_different_nodes(self):
        case, _, result = two_cpu_less()
        self.assertEqual(matrix.expect_problems(result, case["expect"]), [])
        _, _, same = two_cpu_less(say(fixture(TWO_CPU_LESS), 3, 0, "0-1"))
        self.assertEqual(matrix.expect_problems(same, case["expect"]),
                         ["node 3 initialised from node 0, expected node 1"])
        _, _, stock = two_cpu_less("")
        self.assertEqual(matrix.expect_problems(stock, case["expect"]), [
            "node 2 initialised from node None, expected node 0",
            "node 3 initialised from node None, expected node 1"])

    def test_series_keys_are_not_asked_of_stock(self):
        case = next(c for c in matrix.CASES if c["name"] == "1G hugepages")
        self.assertEqual(matrix.series_expect(case["expect"], "stock"),
                         {"hugetlb_kb": 2 * 1024 * 1024})
        self.assertEqual(matrix.series_expect(case["expect"], "debug"),
                         case["expect"])
        stock = {"zones": {}, "hugetlb_kb": 2 * 1024 * 1024,
                 "deferred": [], "padata_jobs": []}
        self.assertEqual(matrix.expect_problems(
            stock, matrix.series_expect(case["expect"], "stock")), [])

    def test_another_padata_job(self):
        case = next(c for c in matrix.CASES if c["name"] == "1G hugepages")
        dmesg = fixture(HUGEPAGES_1G)
        result = {"zones": {}, "hugetlb_kb": 2 * 1024 * 1024,
                  "padata_jobs": logparse.padata_jobs(dmesg)}
        self.assertEqual(matrix.expect_problems(result, case["expect"]), [])
        result["padata_jobs"] = [j for j in result["padata_jobs"]
                                 if j["fn"] == matrix.DEFERRED_FN]
        self.assertEqual(matrix.expect_problems(result, case["expect"]), [
            "no padata job of gather_bootmem_prealloc_parallel traced "
            "(traced: deferred_init_memmap_chunk)"])
        result["padata_jobs"] = []
        self.assertEqual(matrix.expect_problems(result, case["expect"]), [
            "no padata job of gather_bootmem_prealloc_parallel traced "
            "(traced: none)"])

    def test_2m_allocation_job(self):
        case = next(c for c in matrix.CASES if c["name"] == "2M hugepages")
        for name, problems in ((HUGEPAGES_2M, []), (HUGEPAGES_1G, [
                "no padata job of hugetlb_pages_alloc_boot_node traced "
                "(traced: deferred_init_memmap_chunk, "
                "gather_bootmem_prealloc_parallel)"])):
            result = {"zones": {}, "hugetlb_kb": 1024 * 2048,
                      "padata_jobs": logparse.padata_jobs(fixture(name))}
            self.assertEqual(matrix.expect_problems(result, case["expect"]),
                             problems, name)

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



class TracedRowsTest(unittest.TestCase):
    """Which rows and boots turn the padata tracepoints on and check
    them."""

    def test_rows(self):
        traced = [c["name"] for c in matrix.FULL_CASES
                  if matrix.traces_padata(c.get("append", ""))]
        self.assertEqual(traced, ["two CPU-less nodes", "2M hugepages",
                                  "1G hugepages"])
        case = next(c for c in matrix.CASES if c["name"] == "1G hugepages")
        self.assertEqual(case["append"], "hugepagesz=1G hugepages=2 "
                         "trace_event=padata:* tp_printk")
        case = next(c for c in matrix.CASES
                    if c["name"] == "two CPU-less nodes")
        self.assertEqual((case["numa"], case["smp"], case["debug"],
                          case["append"]),
                         ("2G@0,2G@1,8G,8G", 2, True, matrix.PADATA_TRACE))

    def boot_failures(self, kernel, append, dmesg):
        """Matrix.boot()'s failures for one boot whose dmesg is given."""
        from harness import boot
        _, spec, result = two_cpu_less(dmesg)
        result["log_dir"] = "x"
        real_boot, real_problems = boot.boot, boot.problems
        boot.boot = lambda *a, **kw: result
        boot.problems = lambda r: []
        try:
            m = matrix.Matrix(verbose=False)
            m.boot("w", kernel, spec, append=append)
        finally:
            boot.boot, boot.problems = real_boot, real_problems
        return m.failures

    def test_checked_on_the_series_with_the_parameter(self):
        dmesg = fixture(TWO_CPU_LESS)
        self.assertEqual(self.boot_failures("patched", matrix.PADATA_TRACE,
                                            dmesg), [])
        broken = without(dmesg, "padata_mt_end: fn=deferred_init_memmap_"
                                "chunk start=65536")
        # A debug boot prints its KUnit results too.
        self.assertEqual(self.boot_failures("debug", matrix.PADATA_TRACE,
                                            debug_ktap() + broken),
                         ["w [debug: padata trace]: padata_mt_start without "
                          "an end: fn=deferred_init_memmap_chunk start=65536 "
                          "size=458752"])
        # Without the parameter the events are not asked for.
        self.assertEqual(self.boot_failures("patched", "", broken), [])

    def test_stock_is_not_asked(self):
        dmesg = fixture(STOCK_TWO_CPU_LESS)
        self.assertIn("Failed to enable trace event: padata:*", dmesg)
        self.assertEqual(self.boot_failures(
            "stock", matrix.PADATA_TRACE, dmesg), [])


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
