"""make test: series check, builds, a checked boot matrix, selftests and
the harness's own unit tests."""

import os
import re
import subprocess
import sys

from . import base, boot, build, check, compare, selftest, topology
from .util import KTREE, ROOT, MtinitError, info

# Every case boots stock, patched and patched with one thread per node;
# "debug": True adds the debug kernel (lockdep, DEBUG_VM, object debugging).
CASES = [
    {"name": "16G, 2 vCPUs", "mem": "16G", "smp": 2, "debug": True},
    {"name": "64G, 2 vCPUs", "mem": "64G", "smp": 2},
    {"name": "2 nodes", "numa": "6G@0,10G@1", "smp": 2},
    {"name": "CPU-less node", "numa": "2G@0-1,16G", "smp": 2,
     "debug": True},
    # A 512 MiB ring buffer per CPU allocated in start_kernel() forces
    # deferred_grow_zone() before deferred init runs.
    {"name": "on-demand growth", "mem": "16G", "smp": 2,
     "append": "ftrace=nop trace_buf_size=512M", "grows_from": 0},
]
FULL_CASES = CASES + [
    {"name": "128G, 2 vCPUs", "mem": "128G", "smp": 2},
    {"name": "1 vCPU", "mem": "8G", "smp": 1, "debug": True},
]
# Allocate and free nearly all memory of a small guest after boot.
MEMSTRESS = {"mem": "3G", "smp": 2}
MEMSTRESS_LINE = re.compile(r"memstress before=(\d+) full=(\d+) after=(\d+)")
# Thread parameter cases, on the first case's shape: (threads, append,
# the dmesg text it must produce or None).
PARAM_CASES = [
    (64, "", None),
    (None, "deferred_page_init_threads=lots",
     "deferred_page_init_threads: 'lots' is not a thread count"),
]


def node_cpus(spec):
    """{node: CPUs that initialise its memory} of a guest.

    A node without CPUs borrows the nearest node's; QEMU's default
    distances make every other node equally near, so that is the lowest
    numbered node with CPUs.
    """
    if not spec["nodes"]:
        return {0: spec["smp"]}
    counts = [len(n["cpus"]) for n in spec["nodes"]]
    lender = next((c for c in counts if c), 1)
    return {nid: c or lender for nid, c in enumerate(counts)}


def deferred_problems(result, spec, threads):
    """The series' deferred-init lines: pages and the thread count."""
    problems = []
    cpus = node_cpus(spec)
    if not result["deferred"]:
        return ["no deferred-init line in dmesg"]
    for line in result["deferred"]:
        if line["pages"] is None or line["threads"] is None:
            problems.append("node %d: the line lacks pages or threads"
                            % line["node"])
            continue
        default = max(cpus.get(line["node"], 0), 1)
        want = min(threads, default) if threads else default
        if line["threads"] != want:
            problems.append("node %d: %d threads, expected %d"
                            % (line["node"], line["threads"], want))
    return problems


def pages_by_node(result):
    return [(d["node"], d["pages"]) for d in result["deferred"]]


class Matrix:
    """Runs boots, checks each one, and collects every failure."""

    def __init__(self, verbose=True):
        self.failures = []
        self.boots = 0
        self.passed = 0
        self.verbose = verbose

    def fail(self, where, problems):
        """Count one check; record each of its problems."""
        if not problems:
            self.passed += 1
        for problem in problems:
            self.failures.append("%s: %s" % (where, problem))
            if self.verbose:
                print("  FAIL %s: %s" % (where, problem), flush=True)

    def boot(self, where, kernel, spec, threads=None, append="", runs=()):
        self.boots += 1
        info("boot %d: %s, %s%s%s" % (
            self.boots, where, kernel,
            " threads=%d" % threads if threads is not None else "",
            " '%s'" % append if append else ""))
        result = boot.boot(kernel, spec, threads=threads, append=append,
                           timeout=900, runs=runs)
        bad = boot.problems(result)
        self.fail("%s [%s %s]" % (where, kernel, result["log_dir"]), bad)
        if not bad and kernel != "stock":
            self.fail("%s [%s]" % (where, kernel),
                      deferred_problems(result, spec, threads))
        return result if not bad else None

    def case(self, case):
        name = case["name"]
        append = case.get("append", "")
        spec = topology.guest_spec(mem=case.get("mem"), smp=case.get("smp"),
                                   numa=case.get("numa"))
        stock = self.boot(name, "stock", spec, append=append)
        patched = self.boot(name, "patched", spec, append=append)
        one = self.boot(name, "patched", spec, threads=1, append=append)
        if stock and patched:
            self.fail(name + " [stock vs patched]",
                      compare.against_stock(stock, patched))
        if patched and one:
            self.same(name + " [patched threads=1 vs default]", patched, one)
        if case.get("debug"):
            debug = self.boot(name, "debug", spec, append=append)
            if stock and debug:
                self.fail(name + " [stock vs debug: present]",
                          compare.present_equal(stock, debug))
        return spec, patched

    def grew(self, where, grown, normal):
        """A boot that grew the zone early leaves fewer pages to deferred
        init than the same guest without the growth."""
        if not grown or not normal:
            return
        before, after = pages_by_node(normal), pages_by_node(grown)
        self.fail(where, [] if sum(p for _, p in after) <
                  sum(p for _, p in before) else
                  ["deferred init still initialised %s pages (%s without "
                   "the early allocation): the zone did not grow on demand"
                   % (after, before)])

    def memstress(self, kernel):
        """Fill nearly all free memory with tmpfs pages and free it."""
        where = "memstress %s" % MEMSTRESS["mem"]
        spec = topology.guest_spec(**MEMSTRESS)
        result = self.boot(where, kernel, spec, runs=["memstress"])
        if not result:
            return
        m = MEMSTRESS_LINE.search(result.get("runs", {}).get("memstress",
                                                             ""))
        if not m:
            self.fail("%s [%s]" % (where, kernel), ["no memstress report"])
            return
        before, full, after = (int(v) for v in m.groups())
        problems = []
        if before - full < 0.9 * (before - 131072):
            problems.append("filled only %d of %d kB" % (before - full,
                                                         before))
        if abs(before - after) > 0.01 * before:
            problems.append("MemFree %d kB after freeing, %d kB before"
                            % (after, before))
        self.fail("%s [%s]" % (where, kernel), problems)

    def same(self, where, a, b):
        problems = compare.identical(a, b)
        if pages_by_node(a) != pages_by_node(b):
            problems.append("deferred pages %s vs %s"
                            % (pages_by_node(a), pages_by_node(b)))
        self.fail(where, problems)

    def params(self, spec, reference):
        for threads, append, expect in PARAM_CASES:
            where = "thread parameter %s" % (threads if threads is not None
                                             else append)
            result = self.boot(where, "patched", spec, threads=threads,
                               append=append)
            if not result:
                continue
            if reference:
                self.same(where + " vs default", reference, result)
            if expect:
                with open(os.path.join(result["log_dir"], "dmesg.log")) as fh:
                    if expect not in fh.read():
                        self.fail(where, ["dmesg lacks '%s'" % expect])


def unit_tests():
    """The harness's own tests (python unittest, beside the code)."""
    info("harness unit tests")
    proc = subprocess.run([sys.executable, "-m", "unittest", "discover",
                           "-s", os.path.join(ROOT, "harness", "tests"),
                           "-t", ROOT], cwd=ROOT)
    if proc.returncode != 0:
        raise MtinitError("harness unit tests failed")


def main(full=False, skip_build=False):
    unit_tests()
    if not os.path.isdir(os.path.join(KTREE, ".git")):
        base.prepare()
    info("series check")
    check.main()
    if not skip_build:
        for variant in build.VARIANTS:
            build.build(variant)
    matrix = Matrix()
    patched = []
    for case in FULL_CASES if full else CASES:
        spec, result = matrix.case(case)
        patched.append((spec, result))
        if "grows_from" in case:
            matrix.grew(case["name"], result, patched[case["grows_from"]][1])
    matrix.params(*patched[0])
    for kernel in ("patched", "debug"):
        matrix.memstress(kernel)
    from . import pmem
    for case in pmem.MATRIX_CASES:
        pmem.matrix_case(matrix, case)
    info("selftest")
    try:
        selftest.main(["patched", "debug"])
        matrix.fail("selftest", [])
    except MtinitError as err:
        matrix.fail("selftest", [str(err)])
    failed = len(matrix.failures)
    print("test: %d passed, %d failed" % (matrix.passed, failed))
    if failed:
        raise MtinitError("%d problem(s) in %d boots:\n  %s" % (
            failed, matrix.boots, "\n  ".join(matrix.failures)))
