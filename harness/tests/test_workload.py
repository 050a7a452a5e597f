"""The in-guest workloads' interface (harness/workload.py): boot.py runs
them without knowing any, and no import circle joins boot and them."""

import contextlib
import io
import json
import os
import subprocess
import sys
import unittest

from harness import boot, pmem, topology
from harness.tests.common import FakeGuest, fixture, with_run
from harness.workload import Workload, kernel_params

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# A clean stock boot (16 GiB, 2 vCPUs) and a stock pmem boot (6 GiB, a
# 2 GiB fsdax namespace, 3 binds), as the guest printed them.
STOCK_LOG = "stock-16G-smp2.serial.log"
PMEM_LOG = "stock-6G-pmem2G-fsdax3.serial.log"


def loaded_by(module):
    """The harness modules a fresh interpreter has after importing
    module (with the interpreter running the tests, in the repository)."""
    code = ("import sys, %s; print(' '.join(sorted(m for m in sys.modules "
            "if m.startswith('harness.'))))" % module)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          check=True)
    return set(proc.stdout.split())


class ImportTest(unittest.TestCase):
    WORKLOAD_MODULES = ("harness.pmem", "harness.selftest",
                        "harness.kselftest")

    def test_boot_loads_no_workload(self):
        loaded = loaded_by("harness.boot")
        self.assertIn("harness.workload", loaded)
        for module in self.WORKLOAD_MODULES:
            self.assertNotIn(module, loaded)

    def test_pmem_loads_neither_boot_nor_the_selftests(self):
        loaded = loaded_by("harness.pmem")
        self.assertIn("harness.hotplug", loaded)
        for module in ("harness.boot",) + self.WORKLOAD_MODULES[1:]:
            self.assertNotIn(module, loaded)

    def test_boot_names_no_workload(self):
        with open(os.path.join(ROOT, "harness", "boot.py")) as fh:
            source = fh.read().lower()
        # "selftest" covers kselftest too.
        for name in ("pmem", "selftest"):
            self.assertNotIn(name, source)


class KernelParamsTest(unittest.TestCase):
    def test_scripts_in_order(self):
        self.assertEqual(kernel_params([Workload("a"), Workload("b")]),
                         "mtinit.run=a,b")
        self.assertEqual(kernel_params([]), "")

    def test_pmem_parameters_then_its_script(self):
        spec = pmem.with_pmem(topology.guest_spec(mem="6G", smp=2), "2G")
        self.assertEqual(kernel_params(pmem.workloads(spec)),
                         "memmap=2G!5G printk.devkmsg=on mtinit.pmem=fsdax,1 "
                         "mtinit.run=pmem")
        self.assertEqual(pmem.workloads(topology.guest_spec(mem="6G")), [])


class FakeWorkload(Workload):
    """Every part of the interface, with what it was given kept."""

    name = "fake"

    def __init__(self, data):
        self.data = data

    def kernel_append(self):
        return "fake.level=3"

    def files(self):
        return [(self.data, "/mtinit/fake/data")]

    def dir_tag(self):
        return "fake3"

    def analyse(self, run_text, dmesg):
        return {"said": run_text, "dmesg_has_memory_line":
                "Memory:" in dmesg}

    def problems(self, analysed):
        return ["fake: " + line for line in analysed["said"].splitlines()
                if line.startswith("bad")]

    def summary(self, analysed):
        return "fake said %d line(s)" % len(analysed["said"].splitlines())


class BootWithWorkloadsTest(unittest.TestCase):
    """boot.boot() runs any workload alike: its parameters, files,
    analysis, problems and summary."""

    def boot(self, serial, spec, workloads, append=""):
        guest = FakeGuest(serial)
        with guest.patched(self):
            result = boot.boot("stock", spec, append=append,
                               backing="sparse", workloads=workloads)
        return guest, result

    def test_fake_workload(self):
        fake = FakeWorkload(os.path.join(ROOT, "guest", "init"))
        serial = with_run(fixture(STOCK_LOG), "fake", "fine\nbad thing\n")
        guest, result = self.boot(serial, topology.guest_spec(mem="16G"),
                                  [fake])
        self.assertIn(" fake.level=3 mtinit.run=fake mtinit.pad=",
                      guest.append())
        self.assertEqual(guest.image_files, [(fake.data,
                                              "/mtinit/fake/data")])
        self.assertTrue(result["log_dir"].endswith("-fake3"))
        self.assertEqual(result["runs"], {"fake": "fine\nbad thing\n"})
        self.assertEqual(result["fake"], {"said": "fine\nbad thing\n",
                                          "dmesg_has_memory_line": True})
        self.assertEqual(result["workload_problems"],
                         {"fake": ["fake: bad thing"]})
        self.assertEqual(boot.problems(result), ["fake: bad thing"])
        # A result read back from its JSON keeps the workload's problems.
        with open(os.path.join(result["log_dir"], "result.json")) as fh:
            self.assertEqual(boot.problems(json.load(fh)),
                             ["fake: bad thing"])
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            boot.print_summary(result, [fake])
        self.assertEqual(printed.getvalue().splitlines()[-1],
                         "  fake said 2 line(s)")

    def test_plain_script(self):
        serial = with_run(fixture(STOCK_LOG), "memstress", "memstress x\n")
        guest, result = self.boot(serial, topology.guest_spec(mem="16G"),
                                  [Workload("memstress")])
        self.assertIn(" mtinit.run=memstress mtinit.pad=", guest.append())
        self.assertEqual(result["runs"], {"memstress": "memstress x\n"})
        self.assertNotIn("memstress", result)
        self.assertEqual(boot.problems(result), [])

    def test_no_workload(self):
        guest, result = self.boot(fixture(STOCK_LOG),
                                  topology.guest_spec(mem="16G"), [])
        self.assertNotIn("mtinit.run", guest.append())
        self.assertEqual(guest.image_files, [])
        self.assertNotIn("workload_problems", result)
        self.assertEqual(boot.problems(result), [])

    def test_pmem_as_before(self):
        """The pmem boot's command line, directory and 'pmem' field are
        what boot made of spec['pmem'] before pmem was a workload."""
        spec = pmem.with_pmem(topology.guest_spec(mem="6G", smp=2), "2G",
                              loops=3)
        guest, result = self.boot(fixture(PMEM_LOG), spec,
                                  pmem.workloads(spec),
                                  append="mtinit.hotplug=2-3")
        self.assertIn(" mtinit.hotplug=2-3 memmap=2G!5G printk.devkmsg=on "
                      "mtinit.pmem=fsdax,3 mtinit.run=pmem mtinit.pad=",
                      guest.append())
        self.assertEqual(guest.image_files, [])
        self.assertTrue(result["log_dir"].endswith("-pmem2G-fsdax"))
        self.assertEqual(result["pmem"]["binds_ms"],
                         [430.515, 414.873, 387.262])
        self.assertEqual(result["append"], "mtinit.hotplug=2-3")
        self.assertEqual(boot.problems(result), [])

    def test_a_workload_may_not_replace_a_field(self):
        clash = FakeWorkload("unused")
        clash.name = "zones"
        with self.assertRaisesRegex(Exception, "would overwrite"):
            boot.analyse(with_run(fixture(STOCK_LOG), "zones", "x\n"), 0,
                         300, [clash])


if __name__ == "__main__":
    unittest.main()
