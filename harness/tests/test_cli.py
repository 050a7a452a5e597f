"""Bad input: one clear message and a non-zero exit, before any work."""

import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def mtinit(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "mtinit")] +
                          list(args), capture_output=True, text=True,
                          timeout=60)


class BadInputTest(unittest.TestCase):
    def assertFails(self, args, message, code=1):
        proc = mtinit(*args)
        self.assertEqual(proc.returncode, code, proc.stderr)
        self.assertIn(message, proc.stderr)
        self.assertEqual(proc.stdout, "")

    def test_cpu_out_of_range(self):
        self.assertFails(["boot", "--numa", "4G@0-5", "--smp", "2"],
                         "mtinit: error: node 0 names CPU 2")

    def test_impossible_topologies(self):
        cases = [
            (["--numa", "1G@0," + ",".join(["4M"] * 64), "--smp", "1"],
             "supports at most 64 (CONFIG_NODES_SHIFT)"),
            (["--numa", "4G@0-1,2M", "--smp", "2"],
             "node 1 of --numa '4G@0-1,2M' has 2M of memory"),
            (["--numa", "4G@0-1,0", "--smp", "2"],
             "has neither memory nor CPUs"),
            (["--numa", "0@0-1,4G", "--smp", "2"],
             "node 0 needs at least 256M"),
            (["--numa", "2G@0,2G@1", "--smp", "4"],
             "CPUs 2,3 are in no node"),
            (["--numa", "2G@0-1,2G@1", "--smp", "2"],
             "CPU 1 is in nodes 0 and 1"),
        ]
        for args, message in cases:
            self.assertFails(["boot"] + args, message)

    def test_bad_size(self):
        self.assertFails(["boot", "--mem", "16X"], "bad size '16X'")

    def test_bad_smp(self):
        self.assertFails(["boot", "--smp", "0"], "--smp 0 is out of range")

    def test_negative_threads(self):
        self.assertFails(["boot", "--mem", "4G", "--threads", "-1"],
                         "--threads must be 0")

    def test_threads_on_stock(self):
        self.assertFails(["boot", "--kernel", "stock", "--threads", "2"],
                         "stock has no deferred_page_init_threads=")

    def test_prealloc_that_does_not_fit(self):
        self.assertFails(["boot", "--mem", "1T", "--backing", "prealloc"],
                         "mtinit: error: --backing prealloc: a prealloc 1T "
                         "guest needs 1026.0G of MemAvailable")

    def test_unknown_backing(self):
        self.assertFails(["boot", "--backing", "swap"],
                         "invalid choice: 'swap'", code=2)

    def test_bench_boots(self):
        self.assertFails(["bench", "--boots", "-1", "--no-build"],
                         "mtinit: error: --boots must be at least 1")

    def test_unknown_option(self):
        self.assertFails(["boot", "--frobnicate"],
                         "unrecognized arguments: --frobnicate", code=2)

    def test_unknown_command(self):
        self.assertFails(["fly"], "invalid choice: 'fly'", code=2)

    def test_unknown_variant(self):
        self.assertFails(["build", "huge"], "invalid choice: 'huge'", code=2)


if __name__ == "__main__":
    unittest.main()
