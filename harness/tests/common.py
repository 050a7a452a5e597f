"""What the tests share: the logs kept under fixtures/, and a guest to
boot them in with QEMU faked."""

import contextlib
import os
import shutil
import tempfile
from unittest import mock

from harness import boot, build, deps, initramfs, logparse, qemu

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    """The text of fixtures/NAME."""
    with open(os.path.join(FIXTURES, name)) as fh:
        return fh.read()


# Real dmesg logs of the series (patched kernel, sparse RAM) booted with
# 'trace_event=padata:* tp_printk': two CPU-less nodes
# (--numa 2G@0,2G@1,8G,8G --smp 2), and 16 GiB guests with 1 GiB and
# 2 MiB boot-time huge pages; and stock on the two CPU-less nodes, which
# has no padata events.
TWO_CPU_LESS = "patched-two-cpu-less-nodes-trace.dmesg.log"
HUGEPAGES_1G = "patched-1G-hugepages-trace.dmesg.log"
HUGEPAGES_2M = "patched-2M-hugepages-trace.dmesg.log"
STOCK_TWO_CPU_LESS = "stock-two-cpu-less-nodes-trace.dmesg.log"
# A real dmesg log of the debug kernel, whose KUnit suites run at boot, on
# the guest of './mtinit kunit' (--numa 1G@0,1G@1,2G,2G --smp 2: two
# CPU-less nodes; sparse RAM).
DEBUG_KUNIT = "debug-two-cpu-less-nodes-kunit.dmesg.log"

def without(text, needle):
    """text without its lines that contain needle."""
    return "".join(line for line in text.splitlines(True)
                   if needle not in line)


def ktap(dmesg):
    """The KTAP lines of a log, from its first 'KTAP version' line to the
    last suite's own result (at the left margin)."""
    lines = dmesg.splitlines(True)
    first = next(i for i, line in enumerate(lines) if "KTAP version" in line)
    last = max(i for i, line in enumerate(lines)
               if logparse.strip_timestamp(line)[1].startswith(
                   ("ok ", "not ok ")))
    return "".join(lines[first:last + 1])


def debug_ktap():
    """The KUnit results every debug boot prints (from DEBUG_KUNIT)."""
    return ktap(fixture(DEBUG_KUNIT))


def with_debug_kunit(serial):
    """A serial log with the debug kernel's KUnit results at the start of
    its dmesg section, as a boot of the debug kernel has them."""
    marker = "@@MTINIT-BEGIN dmesg@@\n"
    assert marker in serial
    return serial.replace(marker, marker + debug_ktap(), 1)


def with_run(serial, name, text):
    """serial with a framed run-NAME section before the guest's reports,
    as guest/init prints it."""
    marker = "@@MTINIT-BEGIN zoneinfo@@"
    assert marker in serial
    return serial.replace(marker, "@@MTINIT-BEGIN run-%s@@\n%s@@MTINIT-END "
                          "rc=0@@\n%s" % (name, text, marker), 1)


class FakeGuest:
    """boot.boot() with QEMU, the guest image and the kernel build faked:
    the 'guest' prints serial; what boot asked for is kept."""

    def __init__(self, serial):
        self.serial = serial
        self.image_files = None
        self.cmd = None
        self.timeout = None

    def image(self, dest, extra=()):
        self.image_files = list(extra)
        with open(dest, "w") as fh:
            fh.write("cpio\n")
        return dest

    def run(self, cmd, timeout, stderr_log):
        self.cmd = cmd
        self.timeout = timeout
        serial = cmd[cmd.index("-serial") + 1][len("file:"):]
        with open(serial, "w") as fh:
            fh.write(self.serial)
        return 0, 1.5

    def append(self):
        """The kernel command line boot gave QEMU."""
        return self.cmd[self.cmd.index("-append") + 1]

    @contextlib.contextmanager
    def patched(self, test):
        """Fake it for the body of a with statement, boots under a
        temporary out/ that test removes when it ends."""
        out = tempfile.mkdtemp(prefix="mtinit-fake-guest-")
        test.addCleanup(shutil.rmtree, out)
        with mock.patch.object(qemu, "run", self.run), \
                mock.patch.object(initramfs, "image", self.image), \
                mock.patch.object(build, "build_info",
                                  lambda k: {"base": "b", "commit": "c"}), \
                mock.patch.object(deps, "ensure_step", lambda step: None), \
                mock.patch.object(boot, "OUT", out):
            yield self
