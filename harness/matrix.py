"""make test: series check, builds, a checked boot matrix, selftests and
the harness's own unit tests."""

import os
import subprocess
import sys

from . import base, boot, build, check, compare, selftest, topology
from .util import KTREE, ROOT, MtinitError, info

# Every case boots stock, patched and patched with one thread per node.
CASES = [
    {"name": "16G, 2 vCPUs", "mem": "16G", "smp": 2},
    {"name": "64G, 2 vCPUs", "mem": "64G", "smp": 2},
    {"name": "2 nodes", "numa": "6G@0,10G@1", "smp": 2},
    {"name": "CPU-less node", "numa": "2G@0-1,16G", "smp": 2},
]
FULL_CASES = CASES + [
    {"name": "128G, 2 vCPUs", "mem": "128G", "smp": 2},
    {"name": "1 vCPU", "mem": "8G", "smp": 1},
]
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

    def __init__(self):
        self.failures = []
        self.boots = 0
        self.passed = 0

    def fail(self, where, problems):
        """Count one check; record each of its problems."""
        if not problems:
            self.passed += 1
        for problem in problems:
            self.failures.append("%s: %s" % (where, problem))
            print("  FAIL %s: %s" % (where, problem), flush=True)

    def boot(self, where, kernel, spec, threads=None, append=""):
        self.boots += 1
        info("boot %d: %s, %s%s%s" % (
            self.boots, where, kernel,
            " threads=%d" % threads if threads is not None else "",
            " '%s'" % append if append else ""))
        result = boot.boot(kernel, spec, threads=threads, append=append,
                           timeout=600)
        bad = boot.problems(result)
        self.fail("%s [%s %s]" % (where, kernel, result["log_dir"]), bad)
        if not bad and kernel != "stock":
            self.fail("%s [%s]" % (where, kernel),
                      deferred_problems(result, spec, threads))
        return result if not bad else None

    def case(self, case):
        name = case["name"]
        spec = topology.guest_spec(mem=case.get("mem"), smp=case.get("smp"),
                                   numa=case.get("numa"))
        stock = self.boot(name, "stock", spec)
        patched = self.boot(name, "patched", spec)
        one = self.boot(name, "patched", spec, threads=1)
        if stock and patched:
            self.fail(name + " [stock vs patched]",
                      compare.against_stock(stock, patched))
        if patched and one:
            self.same(name + " [patched threads=1 vs default]", patched, one)
        return spec, patched

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
        build.build("stock")
        build.build("patched")
    matrix = Matrix()
    reference = None
    for index, case in enumerate(FULL_CASES if full else CASES):
        spec, patched = matrix.case(case)
        if index == 0:
            first_spec, reference = spec, patched
    matrix.params(first_spec, reference)
    info("selftest")
    try:
        selftest.main(["patched"])
        matrix.fail("selftest", [])
    except MtinitError as err:
        matrix.fail("selftest", [str(err)])
    failed = len(matrix.failures)
    print("test: %d passed, %d failed" % (matrix.passed, failed))
    if failed:
        raise MtinitError("%d problem(s) in %d boots:\n  %s" % (
            failed, matrix.boots, "\n  ".join(matrix.failures)))
