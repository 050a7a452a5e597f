"""A guest that hangs or panics, and a full disk for out/: one clear
message and a non-zero exit from ./mtinit, never a hang.

These boot the stock kernel for real (about 30 s in all) and are skipped
when it is not built, or with MTINIT_SKIP_BOOTS=1.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import build

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BOOTABLE = (build.build_info("stock") is not None and
            shutil.which("qemu-system-x86_64") is not None and
            not os.environ.get("MTINIT_SKIP_BOOTS"))
SMALL = ["boot", "--kernel", "stock", "--mem", "1G", "--smp", "1"]

# Run ./mtinit with open() failing with ENOSPC for every file written under
# out/: the disk fills up in the middle of a boot.
ENOSPC_RUNNER = r"""
import builtins, errno, os, sys
sys.path.insert(0, sys.argv[1])
from harness import cli, util
real_open = builtins.open
def full_open(path, mode="r", *args, **kwargs):
    if (any(c in mode for c in "wax") and
            os.path.abspath(str(path)).startswith(util.OUT)):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return real_open(path, mode, *args, **kwargs)
builtins.open = full_open
sys.exit(cli.main(sys.argv[2:]))
"""


def mtinit(args, env=None, timeout=180):
    full_env = dict(os.environ, **(env or {}))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "mtinit")] +
                          args, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
    return proc, time.monotonic() - start


@unittest.skipUnless(BOOTABLE, "needs the stock kernel built and QEMU")
class GuestFailureTest(unittest.TestCase):
    def assertClearFailure(self, proc, message):
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("mtinit: error: ", proc.stderr)
        self.assertIn(message, proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)

    def test_hang_times_out(self):
        proc, seconds = mtinit(SMALL + ["--append", "mtinit.hang",
                                        "--timeout", "20"])
        self.assertClearFailure(proc, "boot failed: timeout: no power-off "
                                      "within 20 s")
        self.assertLess(seconds, 90)

    def test_panic_is_reported(self):
        # No such init in the initramfs: the kernel falls back to a root
        # device it does not have and panics ("VFS: Unable to mount root").
        proc, _ = mtinit(SMALL + ["--append", "rdinit=/nonexistent",
                                  "--timeout", "120"])
        self.assertClearFailure(proc, "boot failed: Kernel panic - not "
                                      "syncing")

    def test_full_disk_before_boot(self):
        tiny = tempfile.mkdtemp(prefix="mtinit-full-")
        try:
            mounted = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", tiny],
                capture_output=True).returncode == 0
            if not mounted:
                self.skipTest("cannot mount a tmpfs (not root?)")
            try:
                proc, _ = mtinit(SMALL, env={"MTINIT_OUT": tiny})
            finally:
                subprocess.run(["umount", tiny])
        finally:
            os.rmdir(tiny)
        self.assertClearFailure(proc, "a boot needs 16 MiB free in %s, the "
                                      "disk has 1 MiB" % tiny)

    def test_full_disk_during_boot(self):
        proc = subprocess.run(
            [sys.executable, "-c", ENOSPC_RUNNER, ROOT] + SMALL,
            capture_output=True, text=True, timeout=120)
        self.assertClearFailure(proc, "No space left on device; free some "
                                      "space on that disk")


if __name__ == "__main__":
    unittest.main()
