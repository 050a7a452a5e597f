"""The boot matrix's own expectations."""

import unittest

from harness import matrix, topology


def result(*lines):
    return {"deferred": [dict(zip(("node", "pages", "ms", "threads"), line))
                         for line in lines]}


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

    def test_stock_line_is_not_enough(self):
        spec = topology.guest_spec(mem="4G", smp=2)
        stock = result((0, None, 4.0, None))
        self.assertIn("lacks pages",
                      matrix.deferred_problems(stock, spec, None)[0])
        self.assertEqual(matrix.deferred_problems({"deferred": []}, spec,
                                                  None),
                         ["no deferred-init line in dmesg"])


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


if __name__ == "__main__":
    unittest.main()
