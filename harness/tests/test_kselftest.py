"""Upstream kselftest results: parsing the runner's KTAP, comparing with
stock."""

import contextlib
import io
import unittest
from unittest import mock

from harness import kselftest
from harness.tests.common import FakeGuest, fixture, with_run


SMALL = """TAP version 13
1..2
# timeout set to 180
# selftests: mm: run_vmtests.sh
# TAP version 13
# ok 1 hugepage-mmap
# not ok 2 map_hugetlb # exit=1
# ok 3 compaction_test # SKIP
# ok 4 gup_test -u
# ok 5 gup_test -u
# SUMMARY: PASS=3 SKIP=1 FAIL=1
# 1..5
not ok 1 selftests: mm: run_vmtests.sh # exit=1
# selftests: memory-hotplug: mem-on-off-test.sh
# Test scope: 2% hotplug memory
ok 2 selftests: memory-hotplug: mem-on-off-test.sh
"""


class ParseTest(unittest.TestCase):
    def test_top_level_and_nested(self):
        self.assertEqual(kselftest.parse(SMALL), {
            "mm:run_vmtests.sh": "fail",
            "mm: hugepage-mmap": "pass",
            "mm: map_hugetlb": "fail",
            "mm: compaction_test": "skip",
            "mm: gup_test -u": "pass",
            "mm: gup_test -u'": "pass",
            "memory-hotplug:mem-on-off-test.sh": "pass",
        })

    def test_totals(self):
        self.assertEqual(kselftest.totals(kselftest.parse(SMALL)),
                         {"pass": 4, "fail": 2, "skip": 1})

    def test_top_level_skip(self):
        text = "# selftests: padata: padata_mt.sh\n" \
               "ok 3 selftests: padata: padata_mt.sh # SKIP\n"
        self.assertEqual(kselftest.parse(text),
                         {"padata:padata_mt.sh": "skip"})


CASES = """TAP version 13
1..1
# selftests: mm: run_vmtests.sh
# TAP version 13
# # running ./migration
# # TAP version 13
# # 1..2
# # ok 1 migration.private_anon
# # not ok 2 migration.private_anon_htlb
# # # FAILED: 1 / 2 tests passed.
# not ok 1 migration # exit=1
# # ok 1 # SKIP need more free huge pages
# # ok 2 Should have worked
# ok 2 gup_longterm
# 1..2
not ok 1 selftests: mm: run_vmtests.sh # exit=1
"""


class CaseTest(unittest.TestCase):
    """The cases of a program that prints KTAP itself (kselftest.h,
    kselftest_harness.h), nested twice in the runner's KTAP: kept by
    number, since some programs word a case by its result."""

    def test_cases_are_kept_under_their_program(self):
        self.assertEqual(kselftest.parse(CASES), {
            "mm:run_vmtests.sh": "fail",
            "mm: migration": "fail",
            "mm: migration :: 1": "pass",
            "mm: migration :: 2": "fail",
            "mm: gup_longterm": "pass",
            "mm: gup_longterm :: 1": "skip",
            "mm: gup_longterm :: 2": "pass",
        })

    def test_a_case_worded_by_its_result_keeps_its_key(self):
        failed = CASES.replace("# # ok 2 Should have worked",
                               "# # not ok 2 Should have failed")
        self.assertEqual(kselftest.parse(failed)["mm: gup_longterm :: 2"],
                         "fail")
        self.assertEqual(set(kselftest.parse(failed)),
                         set(kselftest.parse(CASES)))

    def test_totals_count_tests_not_cases(self):
        self.assertEqual(kselftest.totals(kselftest.parse(CASES)),
                         {"pass": 1, "fail": 2, "skip": 0})

    def test_a_lost_case_fails(self):
        ref = kselftest.parse(
            fixture("stock-8G-2nodes-quick-kselftest.ktap"))
        mine = dict(ref)
        mine["mm: migration :: 3"] = "fail"
        problems = kselftest.compare({"stock": ref, "patched": mine},
                                     kselftest.CI_VM_CATEGORIES,
                                     min_passed=10)
        self.assertEqual(problems, ["patched does not pass what stock "
                                    "passes: mm: migration :: 3"])

    def test_two_nodes_run_migration(self):
        stock = kselftest.parse(
            fixture("stock-8G-2nodes-quick-kselftest.ktap"))
        patched = kselftest.parse(
            fixture("patched-8G-2nodes-quick-kselftest.ktap"))
        self.assertEqual(kselftest.totals(stock),
                         {"pass": 12, "fail": 0, "skip": 0})
        self.assertEqual(kselftest.totals(patched),
                         {"pass": 31, "fail": 0, "skip": 0})
        self.assertEqual(kselftest.not_run(stock,
                                           kselftest.CI_VM_CATEGORIES), [])
        self.assertEqual(kselftest.compare({"stock": stock,
                                            "patched": patched},
                                           kselftest.CI_VM_CATEGORIES,
                                           min_passed=10), [])

    def test_one_node_runs_no_migration_case(self):
        """The old guest (1 node, 2 vCPUs): migration 'passed' with every
        case skipped."""
        stock = kselftest.parse(fixture("stock-8G-kselftest.ktap"))
        self.assertEqual(stock["mm: migration"], "pass")
        self.assertEqual(kselftest.not_run(stock, ("migration",)), [
            ("mm: migration", "every case skipped: the guest cannot run "
             "it")])
        self.assertIn("stock passed no case of mm: migration: every case "
                      "skipped: the guest cannot run it",
                      kselftest.compare({"stock": stock},
                                        kselftest.VM_CATEGORIES))

    def test_migration_not_chosen_is_not_required(self):
        stock = kselftest.parse(fixture("stock-8G-kselftest.ktap"))
        self.assertEqual(kselftest.not_run(stock, ("mmap",)), [])

    def test_migration_chosen_but_absent(self):
        stock = kselftest.parse(
            fixture("stock-8G-2nodes-quick-kselftest.ktap"))
        gone = {k: v for k, v in stock.items()
                if not k.startswith("mm: migration")}
        self.assertEqual(kselftest.not_run(gone, ("migration",)),
                         [("mm: migration", "it did not run")])
        failed = dict(stock, **{k: "fail" for k in stock
                                if k.startswith("mm: migration :: ")})
        self.assertEqual(kselftest.not_run(failed, ("migration",)),
                         [("mm: migration", "no case passed")])

    def test_skipped_cases_are_summed(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            kselftest.print_totals("stock", kselftest.parse(CASES))
        self.assertEqual(out.getvalue().splitlines(), [
            "# stock: 1 passed, 2 failed, 0 skipped",
            "#   fail mm: migration",
            "#   fail mm: migration :: 2",
            "#   fail mm:run_vmtests.sh",
            "#   mm: gup_longterm: 1 case(s) skipped"])


class RealLogTest(unittest.TestCase):
    """The runner's report from a stock boot (8 GiB, 1 node, 2 vCPUs,
    movablecore=50%, before NET and the hugetlb cgroup controller were in
    the guest config)."""

    def setUp(self):
        self.results = kselftest.parse(fixture("stock-8G-kselftest.ktap"))

    def test_totals(self):
        self.assertEqual(kselftest.totals(self.results),
                         {"pass": 27, "fail": 4, "skip": 3})

    def test_names(self):
        self.assertEqual(self.results["memory-hotplug:mem-on-off-test.sh"],
                         "pass")
        self.assertEqual(self.results["mm: uffd-stress hugetlb 128 32"],
                         "pass")
        self.assertEqual(self.results["mm: map_populate"], "fail")
        self.assertEqual(self.results["mm: khugepaged"], "skip")
        # run_vmtests.sh exits 4 when any of its tests skipped.
        self.assertEqual(self.results["mm:run_vmtests.sh"], "skip")

    def test_the_same_log_twice_is_no_regression(self):
        # Only the guest's own shortcoming (see CaseTest).
        self.assertEqual(kselftest.compare({"stock": self.results,
                                            "patched": dict(self.results)},
                                           kselftest.VM_CATEGORIES),
                         ["stock passed no case of mm: migration: every "
                          "case skipped: the guest cannot run it"])


class CompareTest(unittest.TestCase):
    def test_same_results_pass(self):
        ref = {"t%d" % i: "pass" for i in range(30)}
        self.assertEqual(kselftest.compare({"stock": ref,
                                            "patched": dict(ref)}, ()), [])

    def test_a_lost_test_fails(self):
        ref = {"t%d" % i: "pass" for i in range(30)}
        mine = dict(ref, t3="fail", t4="skip")
        problems = kselftest.compare({"stock": ref, "patched": mine}, ())
        self.assertIn("patched does not pass what stock passes: t3, t4",
                      problems)
        self.assertIn("patched passes 28 tests, stock 30", problems)

    def test_a_new_failure_fails(self):
        ref = dict({"t%d" % i: "pass" for i in range(30)}, s="skip")
        mine = dict(ref, s="fail", **{"padata:padata_mt.sh": "fail"})
        problems = kselftest.compare({"stock": ref, "patched": mine}, ())
        self.assertIn("patched does not pass what stock passes: "
                      "padata:padata_mt.sh, s", problems)

    def test_a_missing_test_fails(self):
        ref = {"t%d" % i: "pass" for i in range(30)}
        mine = dict(ref)
        del mine["t7"]
        self.assertTrue(kselftest.compare({"stock": ref, "patched": mine}, ()))

    def test_stock_failures_may_stay(self):
        ref = dict({"t%d" % i: "pass" for i in range(30)}, bad="fail")
        self.assertEqual(kselftest.compare({"stock": ref,
                                            "patched": dict(ref)}, ()), [])

    def test_a_reference_that_hardly_ran(self):
        problems = kselftest.compare({"stock": {"a": "pass"}}, ())
        self.assertEqual(len(problems), 1)
        self.assertIn("did not really run", problems[0])


class RunOnTest(unittest.TestCase):
    """kselftest.run_on() boots the Kselftest workload (QEMU faked) with
    the real stock report."""

    FILES = [("/dev/null", "/mtinit/kselftest/mtinit-tests")]

    def image_files(self, kernel, programs, categories, test_timeout):
        self.test_timeout = test_timeout
        return self.FILES

    def run_on(self, serial, timeouts=kselftest.TIMEOUTS["full"]):
        guest = FakeGuest(serial)
        with guest.patched(self), \
                mock.patch.object(kselftest, "image_files",
                                  self.image_files), \
                contextlib.redirect_stderr(io.StringIO()):
            runs = kselftest.run_on("stock", "programs", ("mmap",),
                                    timeouts)
        self.timeout = guest.timeout
        return guest, runs

    def test_report(self):
        ktap = fixture("stock-8G-kselftest.ktap")
        guest, (results, problems) = self.run_on(
            with_run(fixture("stock-16G-smp2.serial.log"), "kselftest", ktap))
        self.assertIn(" nokaslr movablecore=50% hugepages=128 log_buf_len=16M "
                      "mtinit.run=kselftest mtinit.pad=", guest.append())
        self.assertEqual(guest.image_files, self.FILES)
        self.assertEqual(results, kselftest.parse(ktap))
        self.assertEqual(problems, [])

    def test_guest_shape_and_timeouts(self):
        ktap = fixture("stock-8G-2nodes-quick-kselftest.ktap")
        serial = with_run(fixture("stock-16G-smp2.serial.log"), "kselftest",
                          ktap)
        guest, _ = self.run_on(serial)
        cmd = " ".join(guest.cmd)
        self.assertIn("-smp 4", cmd)
        self.assertIn("nodeid=0,cpus=0-1", cmd)
        self.assertIn("nodeid=1,cpus=2-3", cmd)
        self.assertEqual((self.test_timeout, self.timeout),
                         kselftest.TIMEOUTS["full"])
        self.run_on(serial, kselftest.TIMEOUTS["quick"])
        self.assertEqual((self.test_timeout, self.timeout), (600, 900))

    def test_no_report(self):
        _, runs = self.run_on(fixture("stock-16G-smp2.serial.log"))
        self.assertEqual(runs, ({}, ["the guest printed no kselftest "
                                     "report"]))

    def test_no_result(self):
        _, runs = self.run_on(with_run(fixture("stock-16G-smp2.serial.log"),
                                       "kselftest", "TAP version 13\n"))
        self.assertEqual(runs, ({}, ["no test result in the kselftest "
                                     "report"]))


class TimeoutTest(unittest.TestCase):
    """A runner test stopped at its timeout is a problem on every kernel:
    the tests after it never ran, and comparing kernels would not see
    it."""

    KTAP = ("TAP version 13\n1..2\n# selftests: mm: run_vmtests.sh\n"
            "# ok 1 hugepage-mmap\n"
            "not ok 1 selftests: mm: run_vmtests.sh # TIMEOUT 1500 seconds\n"
            "ok 2 selftests: memory-hotplug: mem-on-off-test.sh\n")

    def test_timeout_is_a_problem(self):
        tests = kselftest.Kselftest([], 1500)
        analysed = tests.analyse(self.KTAP, "")
        self.assertEqual(analysed["timed_out"], ["mm:run_vmtests.sh"])
        self.assertEqual(tests.problems(analysed), [
            "kselftest's runner stopped mm:run_vmtests.sh at its 1500 s "
            "timeout: the tests after it did not run"])

    def test_no_timeout(self):
        tests = kselftest.Kselftest([], 1500)
        ktap = self.KTAP.replace(" # TIMEOUT 1500 seconds", "")
        self.assertEqual(tests.problems(tests.analyse(ktap, "")), [])


class TooSlowTest(unittest.TestCase):
    """A program too slow for TCG is replaced by a stand-in that reports
    a skip (run_vmtests.sh counts exit 4 as one) and says why; the other
    files are left alone."""

    def test_stand_in(self):
        import os
        import subprocess
        import tempfile
        guest = kselftest.GUEST_DIR + "/mm/hugetlb_fault_after_madv"
        other = ("/x/mm/hugetlb_madv_vs_map",
                 kselftest.GUEST_DIR + "/mm/hugetlb_madv_vs_map")
        with tempfile.TemporaryDirectory() as work:
            files = kselftest.slow_replaced(
                [("/x/mm/hugetlb_fault_after_madv", guest), other], work)
            self.assertEqual(files[1], other)
            host, where = files[0]
            self.assertEqual(where, guest)
            self.assertTrue(host.startswith(work))
            proc = subprocess.run([host], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 4)
        self.assertTrue(proc.stdout.startswith("# SKIP (mtinit): 10000 "
                                               "rounds"))

class MainTest(unittest.TestCase):
    """main() gives CI's quick run the short timeouts, the full run the
    long ones."""

    def timeouts_of(self, quick):
        seen = []
        ref = kselftest.parse(fixture("stock-8G-2nodes-quick-kselftest.ktap"))

        def run_on(kernel, programs, categories, timeouts):
            seen.append(timeouts)
            return ref, []

        with mock.patch.object(kselftest.build, "build_info",
                               lambda kernel: {}), \
                mock.patch.object(kselftest, "build_programs",
                                  lambda: "programs"), \
                mock.patch.object(kselftest, "run_on", run_on), \
                mock.patch.dict("os.environ",
                                {"MTINIT_VM_CATEGORIES": "migration"}), \
                contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            kselftest.main(quick=quick)
        return seen

    def test_quick(self):
        self.assertEqual(self.timeouts_of(True), [(600, 900)] * 2)

    def test_quick_with_slow_categories_chosen(self):
        self.assertEqual(kselftest.timeout_mode(True, ("hugetlb", "mmap")),
                         "full")
        self.assertEqual(kselftest.timeout_mode(True, ("mmap",)), "quick")

    def test_full(self):
        self.assertEqual(self.timeouts_of(False),
                         [kselftest.TIMEOUTS["full"]] * 2)


if __name__ == "__main__":
    unittest.main()
