"""QEMU command lines and running a guest to its end or its timeout."""

import re
import os
import signal
import subprocess
import time

from .util import MtinitError, ranges

MODES = {
    "mttcg": ["-accel", "tcg,thread=multi"],
    # One guest nanosecond per guest instruction: deterministic timing.
    "icount": ["-accel", "tcg", "-icount", "shift=0,sleep=off"],
}
# nokaslr: the guest config has Debian's EFI stub, which makes the kernel
# relocatable, so KASLR would place the kernel image (about 12 MiB of
# memblock) in DMA32 or Normal at random, and the exact per-zone
# comparisons of boots (stock vs patched, threads) would differ by that.
# log_buf_len=1M: the harness reads the guest's whole dmesg (the Memory:
# line, zones, deferred init), and a kernel with many built-in drivers
# (the distro kernels; Debian's LOG_BUF_SHIFT is 17) would wrap a smaller
# buffer before init runs (boot.problems() catches it).
BASE_APPEND = ("console=ttyS0,115200 panic=-1 oops=panic loglevel=7 "
               "log_buf_len=1M nokaslr")
# Early boot copies the command line into memblock allocations, so its
# length moves later allocations and can change the managed page count by
# one. Every boot pads it to the same length to stay comparable.
CMDLINE_LENGTH = 512


# Options of each memory backend, by backing (harness/backing.py): sparse
# RAM is given on first touch (reserve=off: no swap reservation either, so
# guests larger than the host fit); prealloc RAM is touched by QEMU before
# the guest starts (and cannot be combined with reserve=off).
BACKEND_OPTIONS = {"sparse": "reserve=off", "prealloc": "prealloc=on"}


def memory_backend(backend_id, mb, backing):
    """One -object memory-backend-ram argument."""
    if backing not in BACKEND_OPTIONS:
        raise MtinitError("unknown guest RAM backing '%s' (use %s)"
                          % (backing, " or ".join(sorted(BACKEND_OPTIONS))))
    return ["-object", "memory-backend-ram,id=%s,size=%dM,%s"
            % (backend_id, mb, BACKEND_OPTIONS[backing])]


def memory_args(spec, backing):
    """Guest RAM: one backend (sparse or prealloc), or one per NUMA node
    with memory."""
    args = ["-m", "%dM" % spec["mem_mb"]]
    nodes = spec.get("nodes")
    if not nodes:
        return args + memory_backend("m0", spec["mem_mb"], backing) + [
            "-machine", "memory-backend=m0"]
    for nid, node in enumerate(nodes):
        numa = "node,nodeid=%d" % nid
        for first, last in ranges(node["cpus"]):
            numa += ",cpus=%d-%d" % (first, last)
        if node["mem_mb"]:
            args += memory_backend("m%d" % nid, node["mem_mb"], backing)
            numa += ",memdev=m%d" % nid
        args += ["-numa", numa]
    return args


# The guest CPU: every feature TCG has. 'boot --cpu' can take features
# away, e.g. 'max,erms=off,fsrm=off': with ERMS the kernel clears pages
# with 'rep stosb', which TCG runs one byte per iteration (and icount
# counts each iteration as an instruction), a cost no real CPU with ERMS
# pays; without it the kernel uses 'rep stosq', 8 bytes per iteration.
DEFAULT_CPU = "max"
CPU_SYNTAX = re.compile(r"^[A-Za-z0-9][\w.+-]*(,[\w.+-]+(=[\w.+-]+)?)*$")


def check_cpu(cpu):
    """A -cpu value of the form MODEL[,FEATURE=VALUE...]."""
    if not CPU_SYNTAX.fullmatch(cpu or ""):
        raise MtinitError("--cpu '%s': use QEMU's MODEL[,FEATURE=on|off...], "
                          "e.g. max,erms=off" % cpu)
    return cpu


def command(kernel, initrd, spec, mode, backing, append, serial_log,
            cpu=DEFAULT_CPU):
    if mode not in MODES:
        raise MtinitError("unknown mode '%s' (use mttcg or icount)" % mode)
    cmdline = padded_cmdline(BASE_APPEND + (" " + append if append else ""))
    return (["qemu-system-x86_64", "-machine", "pc", "-cpu", check_cpu(cpu),
             "-smp", smp_arg(spec)] + MODES[mode] +
            memory_args(spec, backing) +
            ["-kernel", kernel, "-initrd", initrd, "-append", cmdline,
             "-display", "none", "-monitor", "none", "-no-reboot",
             "-serial", "file:" + serial_log, "-nodefaults"])


def padded_cmdline(cmdline):
    """The kernel command line padded to CMDLINE_LENGTH characters."""
    pad = CMDLINE_LENGTH - len(cmdline) - len(" mtinit.pad=")
    if pad < 1:
        raise MtinitError("kernel command line longer than %d characters"
                          % (CMDLINE_LENGTH - 16))
    return cmdline + " mtinit.pad=" + "x" * pad


def smp_arg(spec):
    """With NUMA nodes, one socket per CPU: CPUs of different nodes must
    not share a last-level cache (the kernel warns in topology_sane())."""
    if spec.get("nodes"):
        return "%d,sockets=%d,cores=1,threads=1" % (spec["smp"], spec["smp"])
    return str(spec["smp"])


def run(cmd, timeout, stderr_log):
    """Run QEMU; return (exit code or None on timeout, seconds taken)."""
    start = time.monotonic()
    with open(stderr_log, "w") as err:
        try:
            proc = subprocess.Popen(cmd, stdout=err, stderr=err,
                                    start_new_session=True)
        except FileNotFoundError:
            raise MtinitError("qemu-system-x86_64 is not installed")
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
        except KeyboardInterrupt:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    return rc, time.monotonic() - start
