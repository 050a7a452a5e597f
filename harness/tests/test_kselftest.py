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


class RealLogTest(unittest.TestCase):
    """The runner's report from a stock boot (8 GiB, 2 vCPUs,
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
        self.assertEqual(kselftest.compare({"stock": self.results,
                                            "patched": dict(self.results)}),
                         [])


class CompareTest(unittest.TestCase):
    def test_same_results_pass(self):
        ref = {"t%d" % i: "pass" for i in range(30)}
        self.assertEqual(kselftest.compare({"stock": ref,
                                            "patched": dict(ref)}), [])

    def test_a_lost_test_fails(self):
        ref = {"t%d" % i: "pass" for i in range(30)}
        mine = dict(ref, t3="fail", t4="skip")
        problems = kselftest.compare({"stock": ref, "patched": mine})
        self.assertIn("patched does not pass what stock passes: t3, t4",
                      problems)
        self.assertIn("patched passes 28 tests, stock 30", problems)

    def test_a_new_failure_fails(self):
        ref = dict({"t%d" % i: "pass" for i in range(30)}, s="skip")
        mine = dict(ref, s="fail", **{"padata:padata_mt.sh": "fail"})
        problems = kselftest.compare({"stock": ref, "patched": mine})
        self.assertIn("patched does not pass what stock passes: "
                      "padata:padata_mt.sh, s", problems)

    def test_a_missing_test_fails(self):
        ref = {"t%d" % i: "pass" for i in range(30)}
        mine = dict(ref)
        del mine["t7"]
        self.assertTrue(kselftest.compare({"stock": ref, "patched": mine}))

    def test_stock_failures_may_stay(self):
        ref = dict({"t%d" % i: "pass" for i in range(30)}, bad="fail")
        self.assertEqual(kselftest.compare({"stock": ref,
                                            "patched": dict(ref)}), [])

    def test_a_reference_that_hardly_ran(self):
        problems = kselftest.compare({"stock": {"a": "pass"}})
        self.assertEqual(len(problems), 1)
        self.assertIn("did not really run", problems[0])


class RunOnTest(unittest.TestCase):
    """kselftest.run_on() boots the Kselftest workload (QEMU faked) with
    the real stock report."""

    FILES = [("/dev/null", "/mtinit/kselftest/mtinit-tests")]

    def run_on(self, serial):
        guest = FakeGuest(serial)
        with guest.patched(self), \
                mock.patch.object(kselftest, "image_files",
                                  lambda kernel, programs, categories:
                                  self.FILES), \
                contextlib.redirect_stderr(io.StringIO()):
            runs = kselftest.run_on("stock", "programs", ("mmap",))
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
        tests = kselftest.Kselftest([])
        analysed = tests.analyse(self.KTAP, "")
        self.assertEqual(analysed["timed_out"], ["mm:run_vmtests.sh"])
        self.assertEqual(tests.problems(analysed), [
            "kselftest's runner stopped mm:run_vmtests.sh at its %d s "
            "timeout: the tests after it did not run"
            % kselftest.TEST_TIMEOUT])

    def test_no_timeout(self):
        tests = kselftest.Kselftest([])
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


if __name__ == "__main__":
    unittest.main()
