"""In-guest kernel tests, reported as KTAP and checked by the harness."""

import re

from . import boot, topology
from .util import MtinitError, info

# Suites: name -> [(file on the host, path in the guest)]. The series adds
# its suites here; each needs /mtinit/selftests/NAME/run.sh in the guest.
SUITES = {}
GUEST = {"mem": "4G", "smp": 2}


def parse_ktap(text):
    """Top-level KTAP results: (planned count, [(ok, number, name)])."""
    plan = None
    results = []
    for line in text.splitlines():
        m = re.match(r"1\.\.(\d+)\s*$", line)
        if m and plan is None:
            plan = int(m.group(1))
            continue
        m = re.match(r"(not ok|ok) (\d+) ?-? ?(.*)$", line)
        if m:
            results.append((m.group(1) == "ok", int(m.group(2)),
                            m.group(3).strip()))
    return plan, results


def verdict(text):
    """Problems in a KTAP report (empty: every planned test passed)."""
    plan, results = parse_ktap(text)
    if plan is None:
        return ["no KTAP plan line: the suite runner did not run"]
    problems = ["not ok %d %s" % (n, name) for ok, n, name in results
                if not ok]
    if len(results) != plan:
        problems.append("planned %d tests, %d reported" % (plan,
                                                           len(results)))
    return problems


def run_on(kernel):
    spec = topology.guest_spec(**GUEST)
    extra = [f for files in SUITES.values() for f in files]
    result = boot.boot(kernel, spec, runs=["selftest"], extra_files=extra,
                       timeout=900)
    problems = boot.problems(result)
    ktap = result.get("runs", {}).get("selftest")
    if ktap is None:
        problems.append("the guest printed no selftest report")
    else:
        problems += verdict(ktap)
        plan, results = parse_ktap(ktap)
        passed = sum(1 for ok, _, _ in results if ok)
        info("selftest on %s: %s suites planned, %d passed (%s)"
             % (kernel, plan, passed, result["log_dir"]))
    return problems


def main(kernels=None):
    problems = []
    for kernel in kernels or ["patched"]:
        problems += ["%s: %s" % (kernel, p) for p in run_on(kernel)]
    if problems:
        raise MtinitError("selftest: " + "; ".join(problems))
