"""The series' KUnit suites: built into the debug kernel
(config/debug.config), they run at each of its boots. './mtinit kunit'
boots it once on a guest that every case needs, with two nodes without
CPUs, and prints each case; every debug boot of 'test' checks them too
(boot.problems(), matrix.kunit_problems())."""

from . import boot, logparse, matrix, topology
from .util import MtinitError, info

# Nodes 0 and 1 with one CPU each, nodes 2 and 3 with memory and no CPUs:
# the placement case of padata_mt runs rather than skips.
GUEST = {"mem": "6G", "smp": 2, "numa": "1G@0,1G@1,2G,2G"}


def case_line(case):
    """One line per case: its status, suite.case, and a skip's reason."""
    reason = " (%s)" % case["reason"] if case["reason"] else ""
    return "%-4s %s.%s%s" % (case["status"], case["suite"], case["case"],
                             reason)


def main(kernel="debug"):
    spec = topology.guest_spec(**GUEST)
    info("booting the %s kernel, %s, %d vCPUs, nodes %s"
         % (kernel, GUEST["mem"], GUEST["smp"], GUEST["numa"]))
    result = boot.boot(kernel, spec, timeout=600, backing="sparse")
    for case in result["kunit"]:
        print(case_line(case))
    failed = logparse.kunit_failures(result["kunit"])
    print("kunit: %d cases, %d failed (log: %s)"
          % (len(result["kunit"]), len(failed), result["log_dir"]))
    problems = boot.problems(result) + matrix.kunit_problems(
        result["kunit"], spec)
    if problems:
        raise MtinitError("kunit: " + "; ".join(problems))
