"""The selftest boot's planted lock inversion (harness/selftest.py), against
the kernel log of a real debug-kernel boot: one lockdep report about
pt_inversion_lock, after the padata suite's 17 cases."""

import unittest

from harness import logparse, selftest
from harness.tests.common import fixture


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


if __name__ == "__main__":
    unittest.main()
