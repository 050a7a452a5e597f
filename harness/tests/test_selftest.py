"""The selftest boot's planted lock inversion (harness/selftest.py), against
the kernel log of a real debug-kernel boot: one lockdep report about
pt_inversion_lock, after the padata suite's 17 cases."""

import contextlib
import io
import unittest
from unittest import mock

from harness import logparse, selftest
from harness.tests.common import FakeGuest, fixture, with_run


class LockdepInversionTest(unittest.TestCase):
    def setUp(self):
        self.log = fixture("debug-selftest-lockdep.dmesg.log")
        self.splats = logparse.splats(self.log)

    def test_the_planted_report_is_accepted_and_removed(self):
        problems, rest = selftest.lockdep_problems(self.splats, self.log)
        self.assertEqual(problems, [])
        self.assertIn(selftest.LOCKDEP_REPORT, self.splats)
        self.assertEqual(rest, [])

    def test_another_splat_is_kept(self):
        other = "BUG: sleeping function called from invalid context"
        problems, rest = selftest.lockdep_problems(self.splats + [other],
                                                   self.log)
        self.assertEqual(problems, [])
        self.assertEqual(rest, [other])

    def test_no_report_is_a_problem(self):
        log = self.log.replace(selftest.LOCKDEP_REPORT, "")
        problems, _ = selftest.lockdep_problems([], log)
        self.assertEqual(problems, ["the planted lock inversion was "
                                    "reported 0 times, not once"])

    def test_a_report_about_another_lock_is_a_problem(self):
        log = self.log.replace(selftest.LOCKDEP_LOCK, "some_other_lock")
        problems, _ = selftest.lockdep_problems(self.splats, log)
        self.assertEqual(problems, ["the lockdep report does not name "
                                    "pt_inversion_lock"])

    def test_only_lockdep_kernels_get_the_suite(self):
        self.assertIn("debug", selftest.LOCKDEP_KERNELS)
        self.assertNotIn("patched", selftest.LOCKDEP_KERNELS)


class GuestTest(unittest.TestCase):
    def test_two_nodes_of_two_cpus(self):
        from harness import topology
        spec = topology.guest_spec(**selftest.GUEST)
        self.assertEqual(spec["smp"], 4)
        self.assertEqual([n["cpus"] for n in spec["nodes"]],
                         [[0, 1], [2, 3]])

    def test_hotplug_leaves_cpus_1_and_2(self):
        self.assertEqual(selftest.SELFTEST_HOTPLUG_CPUS, "3-3")


# selftest.sh's report: the padata suite's cases beneath its result.
KTAP = """KTAP version 1
1..1
    KTAP version 1
    1..2
    ok 1 thread_count
    not ok 2 chunk_size
not ok 1 padata
"""
STOCK_LOG = "stock-16G-smp2.serial.log"


class RunOnTest(unittest.TestCase):
    """selftest.run_on() boots the Selftest workload (QEMU faked)."""

    SUITES = {"padata": [("/dev/null", "/mtinit/selftests/padata/run.sh")]}

    def run_on(self, serial):
        guest = FakeGuest(serial)
        out, err = io.StringIO(), io.StringIO()
        with guest.patched(self), \
                mock.patch.object(selftest, "suites", lambda k: self.SUITES), \
                contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            problems = selftest.run_on("patched")
        return guest, problems, out.getvalue(), err.getvalue()

    def test_report(self):
        guest, problems, out, err = self.run_on(
            with_run(fixture(STOCK_LOG), "selftest", KTAP))
        self.assertIn(" nokaslr mtinit.run=selftest mtinit.pad=",
                      guest.append())
        self.assertEqual(guest.image_files, self.SUITES["padata"])
        self.assertEqual(problems, ["not ok 1 padata"])
        self.assertEqual(out, KTAP)
        self.assertIn("selftest on patched: 1 suite(s) planned, 0 passed; 2 "
                      "test case(s), 1 failed", err)

    def test_no_report(self):
        _, problems, out, _ = self.run_on(fixture(STOCK_LOG))
        self.assertEqual(problems, ["the guest printed no selftest report"])
        self.assertEqual(out, "")

    def test_missing_results(self):
        _, problems, _, _ = self.run_on(with_run(
            fixture(STOCK_LOG), "selftest", "KTAP version 1\n1..2\nok 1 a\n"))
        self.assertEqual(problems, ["planned 2 tests, 1 reported"])


if __name__ == "__main__":
    unittest.main()
