"""Log parsing against real serial logs kept as fixtures."""

import unittest

from harness import boot, logparse
from harness.tests.common import fixture


class StockBootTest(unittest.TestCase):
    """A clean stock 6.12 boot: 16 GiB, 2 vCPUs, MTTCG."""

    def setUp(self):
        self.serial = fixture("stock-16G-smp2.serial.log")
        self.result = boot.analyse(self.serial, 0, 300)

    def test_sections(self):
        names = set(logparse.sections(self.serial))
        self.assertEqual(names, {"zoneinfo", "meminfo", "iomem", "dmesg"})

    def test_ok_and_clean(self):
        self.assertTrue(self.result["ok"])
        self.assertEqual(self.result["splats"], [])
        self.assertEqual(boot.problems(self.result), [])

    def test_stock_deferred_line(self):
        self.assertEqual(self.result["deferred"], [
            {"node": 0, "pages": None, "ms": 468.0, "threads": None,
             "limit": None,
             "from_templates": None}])
        self.assertEqual(self.result["deferred_ms"], 468.0)

    def test_boot_ms_is_start_of_init(self):
        self.assertEqual(self.result["boot_ms"], 2111.472)

    def test_zones(self):
        zones = self.result["zones"]
        self.assertEqual(zones["0/DMA32"], {"present": 786302,
                                            "managed": 767174,
                                            "spanned": 1048575})
        self.assertEqual(zones["0/Normal"]["present"], 3407872)
        managed = sum(z["managed"] for z in zones.values())
        self.assertEqual(managed * 4, self.result["memtotal_kb"])

    def test_memory_line_and_freed(self):
        line = self.result["memory_line"]
        self.assertEqual(line["physical"], 16776696)
        self.assertEqual(line["reserved"], 369336)
        self.assertEqual(line["code"], 6144)
        # initrd, initmem and rodata/data gap; not the SMP alternatives
        # freed before the 'Memory:' line.
        self.assertEqual(self.result["freed_kb"], 1940 + 828 + 1136)

    def test_one_lost_page_is_caught(self):
        self.result["zones"]["0/Normal"]["managed"] -= 1
        self.result["memtotal_kb"] -= 4
        problems = boot.problems(self.result)
        self.assertEqual(len(problems), 1)
        self.assertIn("(-4 kB)", problems[0])


class SeriesLineTest(unittest.TestCase):
    def test_series_format(self):
        text = ("[    0.9] node 1 initialised, 8126464 pages in 123.456 ms "
                "with 1 threads (limit 2), 8122368 from templates\n"
                "[    0.8] node 0 initialised, 1 pages in 0.012 ms "
                "with 1 threads\n")
        self.assertEqual(logparse.deferred(text), [
            {"node": 0, "pages": 1, "ms": 0.012, "threads": 1, "limit": 1,
             "from_templates": None},
            {"node": 1, "pages": 8126464, "ms": 123.456, "threads": 1,
             "limit": 2, "from_templates": 8122368}])


class FailedBootTest(unittest.TestCase):
    def test_panic(self):
        result = boot.analyse(fixture("panic-no-init.serial.log"), 0, 300)
        self.assertFalse(result["ok"])
        self.assertIn("Kernel panic - not syncing: VFS", result["error"])
        self.assertTrue(result["splats"])
        self.assertIsNone(result["memtotal_kb"])

    def test_hang(self):
        result = boot.analyse(fixture("hang.serial.log"), None, 20)
        self.assertFalse(result["ok"])
        self.assertEqual(result["error"],
                         "timeout: no power-off within 20 s")

    def test_truncated_log(self):
        serial = fixture("stock-16G-smp2.serial.log")
        result = boot.analyse(serial[:len(serial) // 2], 0, 300)
        self.assertFalse(result["ok"])
        self.assertIn("stopped before the end", result["error"])


class SplatTest(unittest.TestCase):
    def test_kinds(self):
        text = "\n".join([
            "[    1.0] WARNING: CPU: 0 PID: 1 at mm/mm_init.c:10 f+0x1/0x2",
            "[    1.0] BUG: Bad page state in process swapper",
            "[    1.0] INFO: task pgdatinit0:12 blocked for more than 120 "
            "seconds.",
            "[    1.0] WARNING: possible circular locking dependency detected",
            "[    1.0] BUG: KASAN: use-after-free in foo",
            "[    1.0] Memory: 1K/2K available",
            "[    1.0] Lock dependency validator: Copyright (c) 2006 Red Hat",
            "[    1.0] ... MAX_LOCKDEP_SUBCLASSES:  8",
        ])
        self.assertEqual(len(logparse.splats(text)), 5)


if __name__ == "__main__":
    unittest.main()
