"""Log parsing against real serial logs kept as fixtures."""

import unittest

from harness import boot, logparse
from harness.tests.common import (HUGEPAGES_1G, TWO_CPU_LESS, fixture,
                                   without)


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
             "from_templates": None, "from_node": None, "ran_on": None}])
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
             "from_templates": None, "from_node": None, "ran_on": None},
            {"node": 1, "pages": 8126464, "ms": 123.456, "threads": 1,
             "limit": 2, "from_templates": 8122368, "from_node": None,
             "ran_on": None}])


class CpuLessLineTest(unittest.TestCase):
    """node N has no CPUs, initialised from node F with threads on nodes L
    (a guest 2G@0,2G@1,8G,8G, 2 vCPUs)."""

    def test_lines(self):
        self.assertEqual(logparse.cpu_less_nodes(fixture(TWO_CPU_LESS)), [
            {"node": 2, "from_node": 0, "ran_on": [0]},
            {"node": 3, "from_node": 1, "ran_on": [1]}])

    def test_merged_into_the_deferred_lines(self):
        lines = logparse.deferred(fixture(TWO_CPU_LESS))
        self.assertEqual([(l["node"], l["threads"], l["limit"],
                           l["from_node"], l["ran_on"]) for l in lines],
                         [(0, 1, 1, None, None), (1, 1, 1, None, None),
                          (2, 1, 1, 0, [0]), (3, 1, 1, 1, [1])])

    def test_node_lists(self):
        for text, nodes in (("1", [1]), ("0-1", [0, 1]), ("0,2-3", [0, 2, 3]),
                            ("0-1,3", [0, 1, 3]), ("", [])):
            self.assertEqual(logparse.node_list(text), nodes, text)
            self.assertEqual(logparse.node_list_text(nodes), text, nodes)

    def test_one_node_and_none(self):
        text = ("[    1.000000] node 1 has no CPUs, initialised from node 0 "
                "with threads on nodes 0\n"
                "[    1.000001] node 4 has no CPUs, initialised from node 2 "
                "with threads on nodes \n")
        self.assertEqual(logparse.cpu_less_nodes(text), [
            {"node": 1, "from_node": 0, "ran_on": [0]},
            {"node": 4, "from_node": 2, "ran_on": []}])

    def test_the_old_line_is_not_read(self):
        old = ("[    1.000000] node 1 has no CPUs, initialising it with node "
               "0's\n")
        self.assertEqual(logparse.cpu_less_nodes(old), [])

    def test_text(self):
        self.assertEqual(logparse.cpu_less_text({"from_node": 0,
                                                 "ran_on": [0, 1, 3]}),
                         "from node 0, threads on nodes 0-1,3")


class PadataTraceTest(unittest.TestCase):
    """padata_mt_start/padata_mt_end with 'trace_event=padata:* tp_printk'."""

    def test_the_announced_format(self):
        text = ("[    1.234567] padata_mt_start: fn=deferred_init_memmap_chunk"
                " start=1048576 size=3145728 chunk=32768 max_threads=2"
                " threads=2\n"
                "[    1.274690] padata_mt_end: fn=deferred_init_memmap_chunk "
                "start=1048576 size=3145728 threads=2 ns=40123456\n")
        self.assertEqual(logparse.padata_jobs(text), [
            {"fn": "deferred_init_memmap_chunk", "start": 1048576,
             "size": 3145728, "chunk": 32768, "max_threads": 2, "given": 2,
             "threads": 2, "ns": 40123456}])

    def test_interleaved_jobs_pair_up(self):
        jobs = logparse.padata_jobs(fixture(TWO_CPU_LESS))
        self.assertEqual(logparse.unpaired_padata(jobs), [])
        self.assertEqual([(j["start"], j["max_threads"], j["given"],
                           j["threads"]) for j in jobs],
                         [(65536, 1, 1, 1), (1081344, 1, 1, 1),
                          (1343488, 1, 1, 1), (3440640, 1, 1, 1),
                          (5504512, 1, 1, 1), (3407360, 1, 1, 1),
                          (0, 4, 3, 1)])
        self.assertEqual(jobs[2]["ns"], 303980402)
        self.assertEqual(jobs[-1]["fn"], "gather_bootmem_prealloc_parallel")

    def test_start_without_end(self):
        text = without(fixture(TWO_CPU_LESS),
                    "padata_mt_end: fn=deferred_init_memmap_chunk "
                    "start=3440640")
        jobs = logparse.padata_jobs(text)
        self.assertEqual(len(jobs), 7)
        self.assertEqual(logparse.unpaired_padata(jobs), [
            "padata_mt_start without an end: fn=deferred_init_memmap_chunk "
            "start=3440640 size=2031616"])

    def test_end_without_start(self):
        text = without(fixture(HUGEPAGES_1G), "padata_mt_start: "
                    "fn=gather_bootmem_prealloc_parallel")
        self.assertEqual(logparse.unpaired_padata(logparse.padata_jobs(text)),
                         ["padata_mt_end without a start: "
                          "fn=gather_bootmem_prealloc_parallel start=0 "
                          "size=1"])

    def test_second_end_is_unpaired(self):
        text = fixture(HUGEPAGES_1G)
        end = next(l for l in text.splitlines(True) if "padata_mt_end" in l)
        jobs = logparse.padata_jobs(text + end)
        self.assertEqual(len(jobs), 5)
        self.assertEqual(len(logparse.unpaired_padata(jobs)), 1)
        self.assertIn("padata_mt_end without a start",
                      logparse.unpaired_padata(jobs)[0])

    def test_a_module_function(self):
        text = ("[    9.000000] padata_mt_start: fn=padata_mt_test_fn "
                "[padata_mt_test] start=0 size=8 chunk=1 max_threads=4 "
                "threads=4\n")
        self.assertEqual(logparse.padata_jobs(text)[0]["fn"],
                         "padata_mt_test_fn [padata_mt_test]")

    def test_trace_lines_are_no_splats(self):
        for name in (TWO_CPU_LESS, HUGEPAGES_1G):
            self.assertEqual(logparse.splats(fixture(name)), [], name)

    def test_stock_without_the_tracepoints(self):
        """Stock has no padata events: 'trace_event=padata:*' only makes it
        say so, which fails nothing."""
        serial = fixture("stock-16G-smp2.serial.log").replace(
            "@@MTINIT-BEGIN dmesg@@\n", "@@MTINIT-BEGIN dmesg@@\n"
            "[    0.171727] Failed to enable trace event: padata:*\n", 1)
        self.assertIn("Failed to enable trace event", serial)
        result = boot.analyse(serial, 0, 300)
        self.assertEqual(result["padata_jobs"], [])
        self.assertEqual(boot.problems(result), [])


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
