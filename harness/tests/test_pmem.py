"""--pmem: validation, the kernel parameters, and parsing a real boot."""

import unittest
from unittest import mock

from harness import boot, logparse, matrix, pmem, report, topology
from harness.tests.test_cli import mtinit
from harness.util import MtinitError
from harness.tests.common import fixture, with_debug_kunit

# A real stock boot: ./mtinit boot --kernel stock --mem 6G --pmem 2G
# --pmem-loops 3 (fsdax, MTTCG, 2 vCPUs).
STOCK_LOG = "stock-6G-pmem2G-fsdax3.serial.log"
# The patched kernel's line, made from the series' exact format
# "node %d device memmap initialised, %lu pages in %llu.%03llu ms with %d
# threads (limit %u)" (no kernel printed it yet when this fixture was made).
DEVICE_LINE = ("[    2.500000] node 0 device memmap initialised, %d pages in "
               "12.345 ms with 2 threads (limit 2)")
DEFERRED_LINE = ("[    1.000000] node 0 initialised, 4161536 pages in "
                 "123.456 ms with 2 threads (limit 2), 4157440 from "
                 "templates")


def spec(mem, size, **kw):
    return pmem.with_pmem(topology.guest_spec(mem=mem, smp=2), size, **kw)


class ValidationTest(unittest.TestCase):
    def test_top_of_ram_above_4g(self):
        # 6 GiB: 3 GiB below the PCI hole, 3 GiB at 4-7 GiB.
        pm = spec("6G", "2G")["pmem"]
        self.assertEqual((pm["offset"], pm["size"]), ("5G", "2G"))
        self.assertEqual(pmem.kernel_append(pm),
                         "memmap=2G!5G printk.devkmsg=on mtinit.pmem=fsdax,1")
        # The bench's 16 GiB namespace in a 24 GiB guest: RAM ends at 25G.
        self.assertEqual(spec("24G", "16G")["pmem"]["offset"], "9G")

    def test_small_guest_below_the_hole(self):
        pm = spec("3G", "512M", mode="devdax", loops=10)["pmem"]
        self.assertEqual(pm["offset_mb"], 2560)
        self.assertEqual(pmem.kernel_append(pm), "memmap=512M!2560M "
                         "printk.devkmsg=on mtinit.pmem=devdax,10")

    def test_no_pmem(self):
        plain = topology.guest_spec(mem="6G", smp=2)
        self.assertIs(pmem.with_pmem(plain, None), plain)

    def test_errors(self):
        cases = [
            (("6G", "5G"), "--pmem 5G leaves 1G of --mem 6G as RAM: at "
                           "least 2G is needed"),
            (("6G", "8G"), "leaves 0M of --mem 6G"),
            (("6G", "100M"), "--pmem 100M is not a multiple of 128M"),
            (("8G", "6G"), "is more than the 5G of --mem 8G above 4 GiB"),
            (("6100M", "1G"), "--mem 6100M must be a multiple of 128M"),
            (("6G", "2X"), "bad size '2X'"),
        ]
        for (mem, size), message in cases:
            with self.assertRaises(MtinitError) as ctx:
                spec(mem, size)
            self.assertIn(message, str(ctx.exception), (mem, size))

    def test_bad_mode_loops_numa(self):
        with self.assertRaisesRegex(MtinitError, "use fsdax or devdax"):
            spec("6G", "2G", mode="raw")
        with self.assertRaisesRegex(MtinitError, "at least 1"):
            spec("6G", "2G", loops=0)
        numa = topology.guest_spec(numa="2G@0-1,8G", smp=2)
        with self.assertRaisesRegex(MtinitError, "cannot be combined with "
                                    "--numa"):
            pmem.with_pmem(numa, "2G")


class CliTest(unittest.TestCase):
    def test_too_big(self):
        proc = mtinit("boot", "--mem", "6G", "--pmem", "5G")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(proc.stderr.strip().splitlines(), [
            "mtinit: error: --pmem 5G leaves 1G of --mem 6G as RAM: at "
            "least 2G is needed"])
        self.assertEqual(proc.stdout, "")

    def test_bad_loops(self):
        proc = mtinit("boot", "--pmem", "1G", "--pmem-loops", "0")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("--pmem-loops must be at least 1", proc.stderr)


def analyse(serial, loops=3, **kw):
    """What boot.boot() makes of a pmem boot's serial log."""
    return boot.analyse(serial, 0, 300, pmem.workloads(
        spec("6G", "2G", loops=loops, **kw)))


def device_lines(text):
    """Every series device memmap line of a text, parsed."""
    return [d for d in map(pmem.device_line, text.splitlines()) if d]


def with_device_lines(serial, pages=524288):
    """The real log with the series' line after every 'bind N begin'."""
    out = []
    for line in serial.splitlines():
        out.append(line)
        if "mtinit-pmem: bind" in line and line.endswith("begin"):
            out.append(DEVICE_LINE % pages)
    return "\n".join(out) + "\n"


class StockPmemBootTest(unittest.TestCase):
    def setUp(self):
        self.serial = fixture(STOCK_LOG)
        self.result = analyse(self.serial)
        self.pm = self.result["pmem"]

    def test_boot_checks_hold_with_pmem_carved_out(self):
        self.assertEqual(boot.problems(self.result), [])
        # 6 GiB less the 2 GiB namespace.
        self.assertEqual(self.result["memory_line"]["physical"], 4193784)

    def test_bind_times_from_markers(self):
        self.assertEqual(self.pm["binds_ms"], [430.515, 414.873, 387.262])
        self.assertEqual(self.pm["bind_ms"], 430.515)
        self.assertEqual(self.pm["unbinds_ms"], [89.362, 77.541, 83.969])

    def test_pages_and_threads(self):
        # namespace 0x140000000, data 0x140200000 + 2145386496 bytes.
        self.assertEqual(self.pm["pages"], 2 * 1024 * 1024 * 1024 // 4096)
        self.assertEqual(self.pm["threads"], 1)
        self.assertEqual(self.pm["kernel_lines"], [[], [], []])

    def test_report(self):
        self.assertEqual((self.pm["checks"], self.pm["done"],
                          self.pm["error"], self.pm["device"]),
                         (3, True, None, "pfn0.0"))
        self.assertEqual((self.pm["memfree_before_kb"],
                          self.pm["memfree_bound_kb"],
                          self.pm["memfree_after_kb"]),
                         (4022464, 3989620, 4020196))

    def test_stock_prints_no_message(self):
        self.assertEqual(device_lines(self.serial), [])
        self.assertEqual(pmem.message_problems(self.pm), [
            "pmem: no 'device memmap initialised' line for bind(s) 1,2,3 "
            "of 3"])

    def test_memfree_not_back(self):
        # 2% below memfree_before=4022464.
        serial = self.serial.replace("pmem memfree_after=4020196",
                                     "pmem memfree_after=3942000")
        self.assertIn("more than 1%", " ".join(boot.problems(
            analyse(serial))))

    def test_script_error(self):
        serial = self.serial.replace("pmem check 2 ok blk=pmem0 mib=2046",
                                     "pmem error: bind 2: /dev/pmem0 read "
                                     "back differs at MiB 0")
        self.assertEqual(boot.problems(analyse(serial)), [
            "pmem: bind 2: /dev/pmem0 read back differs at MiB 0"])

    def test_missing_marker_and_check(self):
        serial = self.serial.replace("mtinit-pmem: bind 2 end", "")
        serial = serial.replace("pmem check 3 ok", "pmem check 3 skipped")
        problems = boot.problems(analyse(serial))
        self.assertEqual(problems, [
            "pmem: bind [2] not timed (markers missing in dmesg)",
            "pmem: 2 of 3 binds checked"])

    def test_script_did_not_run(self):
        serial = self.serial.replace("@@MTINIT-BEGIN run-pmem@@", "")
        self.assertEqual(boot.problems(analyse(serial)),
                         ["pmem: the guest's pmem script did not run"])


class PatchedMessageTest(unittest.TestCase):
    def test_message_between_markers(self):
        result = analyse(with_device_lines(fixture(STOCK_LOG)))
        pm = result["pmem"]
        line = {"node": 0, "pages": 524288, "ms": 12.345, "threads": 2,
                "limit": 2}
        self.assertEqual(pm["kernel_lines"], [[line]] * 3)
        self.assertEqual(pm["threads"], 2)
        self.assertEqual(pmem.message_problems(pm), [])
        self.assertEqual(boot.problems(result), [])

    def test_page_count_mismatch(self):
        pm = analyse(with_device_lines(fixture(STOCK_LOG), 524287))["pmem"]
        self.assertEqual(pmem.message_problems(pm)[0],
                         "pmem bind 1: the kernel initialised 524287 pages, "
                         "the harness counts 524288")

    def test_regexes_do_not_cross(self):
        device = DEVICE_LINE % 524288
        self.assertIsNone(logparse.SERIES_DEFERRED.search(device))
        self.assertIsNone(pmem.DEVICE_MEMMAP.search(DEFERRED_LINE))
        self.assertEqual(logparse.deferred(device + "\n" + DEFERRED_LINE), [
            {"node": 0, "pages": 4161536, "ms": 123.456, "threads": 2,
             "limit": 2, "from_templates": 4157440, "from_node": None,
             "ran_on": None}])
        self.assertEqual(device_lines(DEFERRED_LINE + "\n" + device), [
            {"node": 0, "pages": 524288, "ms": 12.345, "threads": 2,
             "limit": 2}])

    def test_line_before_the_threads_that_ran(self):
        """Before the series reports the threads that ran, the one count
        is the limit."""
        line = ("node 1 device memmap initialised, 8 pages in 0.001 ms "
                "with 1 threads")
        self.assertEqual(device_lines(line), [
            {"node": 1, "pages": 8, "ms": 0.001, "threads": 1, "limit": 1}])

    def test_small_namespace_has_no_line(self):
        pm = analyse(fixture(STOCK_LOG))["pmem"]
        self.assertIn("no 'device memmap initialised' line",
                      pmem.message_problems(pm)[0])
        pm["pages"] = pmem.REPORTED_MIN_PAGES - 1
        self.assertEqual(pmem.message_problems(pm), [])

    def test_more_threads_than_the_limit(self):
        serial = with_device_lines(fixture(STOCK_LOG)).replace(
            "with 2 threads (limit 2)", "with 3 threads (limit 2)")
        pm = analyse(serial)["pmem"]
        self.assertEqual(pmem.message_problems(pm)[0],
                         "pmem bind 1: 3 threads ran, the limit is 2")


class StockDevdaxBootTest(unittest.TestCase):
    """A real stock boot: --mem 6G --pmem 2G --pmem-mode devdax
    --pmem-loops 3 (dax seed dax0.0 bound to dax_pmem)."""

    def test_parse(self):
        serial = fixture("stock-6G-pmem2G-devdax3.serial.log")
        result = analyse(serial, mode="devdax")
        pm = result["pmem"]
        self.assertEqual(boot.problems(result), [])
        self.assertEqual((pm["mode"], pm["device"], pm["checks"],
                          pm["pages"], pm["threads"]),
                         ("devdax", "dax0.0", 3, 524288, 1))
        self.assertEqual(pm["binds_ms"], [152.484, 120.797, 118.646])
        self.assertEqual(pm["kernel_lines"], [[], [], []])


def series_log(pages=524288, threads=2):
    """The real stock log as a kernel with the series would print it: the
    deferred line and the device memmap lines in the series' formats."""
    serial = with_device_lines(fixture(STOCK_LOG), pages)
    return serial.replace("node 0 deferred pages initialised in 20ms",
                          "node 0 initialised, 1010000 pages in 32.000 ms "
                          "with %d threads (limit %d), 1009664 from "
                          "templates" % (threads, threads))


def with_hotplug(serial):
    """The log of a boot whose binds ran under CPU hotplug (the debug
    kernel's pmem boots): 4 vCPUs and hotplug.sh's report."""
    return serial.replace("pmem memfree_after=", "pmem cpu-hotplug: CPUs "
                          "2-3, 9 offline/online cycles, 0 failed, offline "
                          "now: ''\npmem memfree_after=", 1)


def debug_log():
    """A debug kernel's pmem boot: 4 vCPUs, binds under CPU hotplug, and
    the KUnit results every debug boot prints."""
    return with_debug_kunit(with_hotplug(series_log(threads=4)))


class MatrixCaseTest(unittest.TestCase):
    """pmem.matrix_case() with boot.boot() replaced by fixture boots."""
    CASE = {"name": "pmem", "mem": "6G", "pmem": "2G", "smp": 2,
            "mode": "fsdax", "loops": 3}

    def run_case(self, logs):
        def fake_boot(kernel, spec, workloads=(), **kw):
            self.assertEqual(spec["pmem"]["loops"], 3)
            self.assertEqual([w.namespace for w in workloads],
                             [spec["pmem"]])
            result = analyse(logs[kernel])
            result.update({"kernel": kernel, "log_dir": "out/" + kernel})
            return result
        m = matrix.Matrix(verbose=False)
        with mock.patch.object(boot, "boot", fake_boot), \
                mock.patch.object(matrix, "info", lambda msg: None):
            pmem.matrix_case(m, self.CASE)
        return m.failures

    def test_all_good(self):
        logs = {"stock": fixture(STOCK_LOG), "patched": series_log(),
                "debug": debug_log()}
        self.assertEqual(self.run_case(logs), [])

    def test_debug_without_hotplug_report(self):
        logs = {"stock": fixture(STOCK_LOG), "patched": series_log(),
                "debug": with_debug_kunit(series_log(threads=4))}
        self.assertEqual(self.run_case(logs), [
            "pmem [debug] [CPU hotplug]: no cpu-hotplug report from the "
            "bind loop"])

    def test_patched_without_the_message(self):
        # The patched kernel before memmap_init_zone_device() is threaded.
        unthreaded = fixture(STOCK_LOG).replace(
            "node 0 deferred pages initialised in 20ms",
            "node 0 initialised, 1010000 pages in 32.000 ms with 2 threads, "
            "1009664 from templates")
        logs = {"stock": fixture(STOCK_LOG), "patched": unthreaded,
                "debug": debug_log()}
        self.assertEqual(self.run_case(logs), [
            "pmem [patched]: pmem: no 'device memmap initialised' line for "
            "bind(s) 1,2,3 of 3"])

    def test_stock_with_a_message(self):
        logs = {"stock": with_device_lines(fixture(STOCK_LOG)),
                "patched": series_log(),
                "debug": debug_log()}
        self.assertEqual(self.run_case(logs), [
            "pmem [stock]: the stock kernel printed 3 device memmap "
            "line(s)"])

    def test_page_counts_differ(self):
        logs = {"stock": fixture(STOCK_LOG), "patched": series_log(),
                "debug": series_log().replace("pfn_size=2145386496",
                                              "pfn_size=2143289344")}
        failures = self.run_case(logs)
        self.assertIn("pmem [stock vs debug]: pmem pages 524288 vs 523776",
                      failures)


class BenchTableTest(unittest.TestCase):
    def rows(self, patched_ms):
        results = {}
        for kernel, ms in (("stock", [300.0, 320.0, 340.0]),
                           ("patched", patched_ms)):
            results[(kernel, None)] = [{"pmem": {
                "bind_ms": v, "pages": 4194304,
                "threads": 1 if kernel == "stock" else 2,
                "kernel_lines": [[{"ms": v / 2, "threads": 2}]]
                if kernel == "patched" else [[]]}} for v in ms]
        return pmem.bench_rows(pmem.BENCH_CONFIGS[0], results)

    def test_target_met(self):
        text = report.pmem_table("t", self.rows([90.0, 96.0, 99.0]), 0.3,
                                 icount=True)
        self.assertIn("patched   2      70.0%  0.30x      96.0 (   4.6)  "
                      "0.30x ok       48.0 (   2.3)", text)
        self.assertIn("instructions per page, whole bind: stock 76.3, "
                      "patched 22.9", text)

    def test_target_missed(self):
        text = report.pmem_table("t", self.rows([300.0, 330.0]), 0.3)
        self.assertIn("0.98x     315.0 (  21.2)  0.30x NO", text)
        self.assertNotIn("instructions", text)


class HotplugReportTest(unittest.TestCase):
    """The debug kernel's binds run under CPU hotplug; its report is
    checked."""

    def result(self, text):
        return {"pmem": {"hotplug": pmem.hotplug_report(text)}}

    def test_cycles_and_no_failure_pass(self):
        text = ("pmem cpu-hotplug: CPUs 2-3, 14 offline/online cycles, 0 "
                "failed, offline now: ''\n")
        self.assertEqual(pmem.hotplug_problems(self.result(text)), [])

    def test_failed_write_fails(self):
        text = ("pmem cpu-hotplug: CPUs 2-3, 14 offline/online cycles, 2 "
                "failed, offline now: ''\n")
        self.assertEqual(len(pmem.hotplug_problems(self.result(text))), 1)

    def test_no_cycle_fails(self):
        text = ("pmem cpu-hotplug: CPUs 2-3, 0 offline/online cycles, 0 "
                "failed, offline now: ''\n")
        self.assertEqual(len(pmem.hotplug_problems(self.result(text))), 1)

    def test_missing_report_fails(self):
        self.assertEqual(len(pmem.hotplug_problems(self.result(
            "pmem done binds=10\n"))), 1)


if __name__ == "__main__":
    unittest.main()
