"""The packages each subcommand installs before its first step."""

import argparse
import unittest

from harness import cli, deps
from harness.util import MtinitError


def subcommands():
    """The subcommand names of ./mtinit's argparse parser."""
    for action in cli.parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("./mtinit's parser has no subcommands")


class CommandTableTest(unittest.TestCase):
    def test_every_subcommand_has_steps(self):
        self.assertEqual(subcommands(), set(deps.COMMANDS))

    def test_every_step_is_run_by_a_subcommand(self):
        run = {step for steps in deps.COMMANDS.values() for step in steps}
        self.assertEqual(run, set(deps.STEPS))

    def test_steps_are_known(self):
        for command, steps in deps.COMMANDS.items():
            for step in steps:
                self.assertIn(step, deps.STEPS, command)

    def test_step_packages_are_described(self):
        for step, packages in deps.STEPS.items():
            for package in packages:
                self.assertIn(package, deps.PACKAGES, step)

    def test_every_described_package_is_used(self):
        used = {p for packages in deps.STEPS.values() for p in packages}
        self.assertEqual(used, set(deps.PACKAGES))

    def test_check_installs_sparse_and_sphinx(self):
        needed = deps.packages_of_command("check")
        self.assertIn("sparse", needed)
        self.assertIn("python3-sphinx", needed)

    def test_kselftest_installs_what_the_guest_needs(self):
        needed = deps.packages_of_command("kselftest")
        for package in ("bash-static", "rsync", "libcap-dev", "libnuma-dev",
                        "busybox-static", "qemu-system-x86"):
            self.assertIn(package, needed)

    def test_unknown_subcommand(self):
        with self.assertRaisesRegex(MtinitError, "'fly'"):
            deps.packages_of_command("fly")


class CoverageTest(unittest.TestCase):
    """A subcommand installs what the work it runs needs."""

    def covers(self, command, step):
        missing = (set(deps.STEPS[step]) -
                   set(deps.packages_of_command(command)))
        self.assertFalse(missing, "%s lacks %s's %s" % (command, step,
                                                        sorted(missing)))

    def test_check_compiles_every_patch(self):
        # check_bisect builds each patch's objects: flex, bison, gcc ...
        self.covers("check", "build")
        self.assertIn("flex", deps.packages_of_command("check"))

    def test_check_runs_quilt_patch_and_perl(self):
        for package in ("quilt", "patch", "perl"):
            self.assertIn(package, deps.packages_of_command("check"))

    def test_distro_build_in_build_bench_and_test(self):
        for command in ("build", "bench", "test"):
            self.covers(command, "distro build")

    def test_selftest_builds_modules_and_boots(self):
        for step in ("build", "initramfs", "boot"):
            self.covers("selftest", step)

    def test_bench_builds_boots_and_plots(self):
        for step in ("prepare", "build", "initramfs", "boot", "bench plot"):
            self.covers("bench", step)

    def test_test_runs_everything_but_the_bench(self):
        for command in ("prepare", "build", "boot", "check", "selftest",
                        "kselftest"):
            for step in deps.COMMANDS[command]:
                self.covers("test", step)

    def test_boot_needs_qemu_and_the_initramfs(self):
        self.assertEqual(deps.packages_of_command("boot"),
                         ["busybox-static", "cpio", "qemu-system-x86"])


class PinnedTest(unittest.TestCase):
    def test_a_pin_may_downgrade(self):
        """linux-config-6.12 may already be installed, newer, by the unit
        tests' step: its pin at the base's version must not be refused."""
        from harness import base
        seen = []
        real = (deps.installed_version, deps.apt_update, deps.run)
        deps.installed_version = lambda p: "9.9"
        deps.apt_update = lambda: None
        deps.run = lambda cmd, **kw: seen.append(cmd) or (0, "")
        try:
            self.assertEqual(base.ensure_pinned("pkg", "1.0"), "1.0")
        finally:
            deps.installed_version, deps.apt_update, deps.run = real
        self.assertIn("--allow-downgrades", seen[0])
        self.assertEqual(seen[0][-1], "pkg=1.0")


class EnsureTest(unittest.TestCase):
    def test_empty_list_installs_nothing(self):
        calls = []
        real = deps.installed_version
        deps.installed_version = lambda p: calls.append(p)
        deps.STEPS["nothing"] = ()
        try:
            deps.ensure([])
            deps.ensure_step("nothing")
        finally:
            deps.installed_version = real
            del deps.STEPS["nothing"]
        self.assertEqual(calls, [])

    def test_dispatch_checks_input_then_installs_then_runs(self):
        order = []
        real = deps.ensure_command
        deps.ensure_command = lambda command: order.append("ensure " +
                                                           command)
        try:
            args = cli.parser().parse_args(["refresh"])
            args.func = lambda a: order.append("run")
            args.validate = lambda a: order.append("validate")
            cli.run_command(args)
        finally:
            deps.ensure_command = real
        self.assertEqual(order, ["validate", "ensure refresh", "run"])


if __name__ == "__main__":
    unittest.main()
