"""The in-guest workloads' interface (harness/workload.py): boot.py runs
them without knowing any, and no import circle joins boot and them."""

import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


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
    def test_pmem_loads_neither_boot_nor_the_selftests(self):
        loaded = loaded_by("harness.pmem")
        self.assertIn("harness.hotplug", loaded)
        for module in ("harness.boot", "harness.selftest",
                       "harness.kselftest"):
            self.assertNotIn(module, loaded)


if __name__ == "__main__":
    unittest.main()
