"""In-guest kernel tests, reported as KTAP and checked by the harness."""

import os
import re

from . import boot, kselftest, topology
from .hotplug import HOTPLUG_KERNELS
from .util import ROOT, MtinitError, info
from .workload import Workload

# Two nodes of two CPUs: the padata suite binds a job to the other node
# than the boot CPU's, confines callers to two of four CPUs (affinity,
# cpuset) and limits them to two CPUs' worth of time (cpu.max).
GUEST = {"mem": "4G", "smp": 4, "numa": "2G@0-1,2G@2-3"}
# The selftest runs under CPU hotplug on hotplug.HOTPLUG_KERNELS
# (guest/scripts/selftest.sh, mtinit.hotplug=). Other in-guest workloads
# (pmem) toggle CPUs 2-3 of 4 vCPUs; the selftest toggles only CPU 3, so
# that CPU 1 stays free for the padata module's own cpu_hotplug case and
# node 1 and the padata suite's cpuset of CPUs 1-2 keep an online CPU.
SELFTEST_HOTPLUG_CPUS = "3-3"
PADATA = os.path.join("tools", "testing", "selftests", "padata")
# Kernels with lockdep also run the padata suite's planted lock inversion,
# as a suite of its own that sorts after "padata" (the guest runs suites in
# 'ls' order): the boot must report that one inversion, in the thread
# function's lock, and no other problem.
LOCKDEP_KERNELS = ("debug",)
LOCKDEP_SUITE = "padata-lockdep"
LOCKDEP_SCRIPT = os.path.join(ROOT, "guest", "scripts", "padata-lockdep.sh")
LOCKDEP_REPORT = "WARNING: possible circular locking dependency detected"
LOCKDEP_LOCK = "pt_inversion_lock"
# Guest RAM (harness/backing.py): the suites test correctness, which
# first-touch faults do not change, so nothing is prefaulted.
BACKING = "sparse"


def padata_suite(kernel):
    """The padata suite of the series: its script and its test module,
    as kselftest's install rule builds them (harness/kselftest.py). None
    when the kernel's tree has no such suite."""
    install = kselftest.padata_programs(kernel)
    if install is None:
        return None
    guest = "/mtinit/selftests/padata"
    return [(os.path.join(install, "padata", "padata_mt.sh"),
             guest + "/run.sh"),
            (os.path.join(install, "padata", "padata_test", "padata_test.ko"),
             guest + "/padata_test/padata_test.ko")]


def suites(kernel):
    """{name: [(host file, path in the guest)]}: each suite needs
    /mtinit/selftests/NAME/run.sh in the guest, which prints KTAP."""
    found = {}
    files = padata_suite(kernel)
    if files:
        found["padata"] = files
        if kernel in LOCKDEP_KERNELS:
            found[LOCKDEP_SUITE] = [
                (LOCKDEP_SCRIPT,
                 "/mtinit/selftests/%s/run.sh" % LOCKDEP_SUITE)]
    return found


def lockdep_problems(splats, log):
    """The planted inversion's boot: its report, once, about the planted
    lock; returns (problems, the splats that remain to be judged)."""
    problems = []
    count = log.count(LOCKDEP_REPORT)
    if count != 1:
        problems.append("the planted lock inversion was reported %d times, "
                        "not once" % count)
    elif LOCKDEP_LOCK not in log[log.index(LOCKDEP_REPORT):]:
        problems.append("the lockdep report does not name %s" % LOCKDEP_LOCK)
    return problems, [s for s in splats if s != LOCKDEP_REPORT]


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


# A suite's own cases, indented beneath its top-level result.
CASE = re.compile(r"^\s+(not ok|ok) \d+ (.*)$", re.M)


def verdict(text):
    """Problems in a KTAP report (empty: every planned test passed)."""
    return ktap_problems(*parse_ktap(text))


def ktap_problems(plan, results):
    """Problems of parse_ktap()'s plan and results."""
    if plan is None:
        return ["no KTAP plan line: the suite runner did not run"]
    problems = ["not ok %d %s" % (n, name) for ok, n, name in results
                if not ok]
    if len(results) != plan:
        problems.append("planned %d tests, %d reported" % (plan,
                                                           len(results)))
    return problems


class Selftest(Workload):
    """guest/scripts/selftest.sh: every suite of the image, as KTAP. Its
    analysis (the boot result's 'selftest') is the top-level results and
    the count of the suites' cases; its problems, those of verdict()."""

    name = "selftest"

    def __init__(self, suites):
        self.suites = suites

    def files(self):
        return [f for files in self.suites.values() for f in files]

    def analyse(self, run_text, dmesg):
        plan, results = parse_ktap(run_text or "")
        cases = CASE.findall(run_text or "")
        return {"reported": run_text is not None, "plan": plan,
                "results": [list(r) for r in results],
                "cases": len(cases),
                "failed_cases": sum(1 for c in cases if c[0] == "not ok")}

    def problems(self, analysed):
        if not analysed["reported"]:
            return ["the guest printed no selftest report"]
        return ktap_problems(analysed["plan"], analysed["results"])


def run_on(kernel):
    """Boot the kernel once with its suites; return the problems."""
    hotplug = kernel in HOTPLUG_KERNELS
    spec = topology.guest_spec(**GUEST)
    found = suites(kernel)
    result = boot.boot(kernel, spec, workloads=[Selftest(found)],
                       timeout=900, append="mtinit.hotplug=" +
                       SELFTEST_HOTPLUG_CPUS if hotplug else "",
                       backing=BACKING)
    if LOCKDEP_SUITE in found and result.get("log_dir"):
        with open(os.path.join(ROOT, result["log_dir"], "dmesg.log"),
                  errors="replace") as fh:
            planted, rest = lockdep_problems(result["splats"], fh.read())
        problems = planted + boot.problems(dict(result, splats=rest))
    else:
        problems = boot.problems(result)
    if result["selftest"]["reported"]:
        print_report(kernel, result)
    return problems


def print_report(kernel, result):
    """A selftest boot's totals in one info line, then its KTAP."""
    ran = result["selftest"]
    passed = sum(1 for ok, _, _ in ran["results"] if ok)
    info("selftest on %s: %s suite(s) planned, %d passed; %d test case(s), "
         "%d failed (%s)" % (kernel, ran["plan"], passed, ran["cases"],
                             ran["failed_cases"], result["log_dir"]))
    print(result["runs"]["selftest"], end="")


def main(kernels=None):
    problems = []
    for kernel in kernels or ["patched"]:
        problems += ["%s: %s" % (kernel, p) for p in run_on(kernel)]
    if problems:
        raise MtinitError("selftest: " + "; ".join(problems))
