"""Upstream's own selftests of mm and memory hotplug (and the series'
padata suite), run in the guest by kselftest's runner; stock is the
reference every other kernel is compared with."""

import collections
import os
import re
import shlex
import shutil

from . import boot, build, deps, topology
from .util import BUILD, KTREE, MtinitError, ensure_dir, info, run, warn
from .workload import Workload

# One guest for every kernel: the same programs, the same RAM, half of it
# movable so that memory blocks can go offline (memory-hotplug). Two
# nodes and 4 vCPUs: mm's migration test moves pages between two nodes
# and skips every case on one node or when numa_num_task_cpus() - 1 < 2;
# four padata cases need 3 CPUs.
GUEST = {"mem": "8G", "smp": 4, "numa": "4G@0-1,4G@2-3"}
# The tests make the kernel log a lot: a large log buffer keeps boot's
# lines (the 'Memory:' line every boot is checked against). hugepages=:
# run_vmtests.sh sizes the 2 MiB pool for its tests (256 MiB) and, at its
# cleanup after the userfaultfd block (whichever categories run), puts it
# back to what it found at its start, so the tests after that
# (migration's hugetlb cases, thuge-gen) had no huge pages unless the
# pool is there from boot.
APPEND = "movablecore=50% hugepages=128 log_buf_len=16M"
# Correctness only: sparse RAM (first-touch faults change no result).
BACKING = "sparse"
# Seconds each runner test may take in the guest (run_vmtests.sh with all
# its categories is one test), and the whole boot: for every category on
# the guest's 4 vCPUs, and for CI's quick categories (3 minutes a kernel
# here): a hang there stops each of the two boots within 15 minutes, and
# make test still ends within CI's 90.
TIMEOUTS = {"full": (3000, 4200), "quick": (600, 900)}
# run_vmtests.sh categories (its VM_SELFTEST_ITEMS): the ones that
# allocate, migrate, compact, split or pin the pages the series creates.
VM_CATEGORIES = ("hugetlb", "compaction", "migration", "thp", "mmap",
                 "mlock", "gup_test", "userfaultfd")
# Upstream programs that cannot finish under TCG within the runner's
# timeout, each replaced in the guest by a stand-in that reports a skip
# with the reason (KTAP '# SKIP'), so that the rest of its category runs.
TOO_SLOW = {
    "mm/hugetlb_fault_after_madv":
        "10000 rounds of a 2 MiB hugetlb fault racing 100 MADV_DONTNEEDs: "
        "each fault clears 2 MiB, over 30 minutes under TCG",
}
SKIP_STANDIN = """#!/bin/sh
printf '# SKIP (mtinit): %%s\\n' %s
exit 4
"""
# Collections of the kselftest tree and the runner's test names.
TESTS = ("mm:run_vmtests.sh", "memory-hotplug:mem-on-off-test.sh")
PADATA_TEST = "padata:padata_mt.sh"
SELFTESTS = os.path.join("tools", "testing", "selftests")
WORK = os.path.join(BUILD, "kselftest")
# The guest has no libc: every program is linked statically. The base's
# mm/khugepaged.c returns KSFT_SKIP without including kselftest.h (a
# stable backport that forgot the include); its value is defined here, as
# kselftest.h defines it, rather than patching upstream's test.
EXTRA_CFLAGS = "-static -DKSFT_SKIP=4"
BASH = "/bin/bash-static"
GUEST_DIR = "/mtinit/kselftest"
LIST = "kselftest-list.txt"
# What 'make test' runs (CI has 90 minutes for everything): the
# categories that finish in a few minutes under TCG. 'test --full' and
# './mtinit kselftest' run VM_CATEGORIES.
CI_VM_CATEGORIES = ("mmap", "compaction", "gup_test", "mlock", "migration")
# A reference that passes fewer tests than this did not really run.
MIN_PASSED = 25
CI_MIN_PASSED = 10


def _make(args, log, env=None):
    try:
        run(["make", "-s"] + args, log=log, env=env)
    except MtinitError:
        with open(log) as fh:
            tail = "".join(fh.readlines()[-15:])
        raise MtinitError("kselftest build failed; end of %s:\n%s"
                          % (os.path.relpath(log), tail))


def build_programs():
    """Build mm and memory-hotplug once, from the patched tree, statically,
    into build/kselftest/install (the same programs for every kernel)."""
    deps.ensure_step("kselftest")
    obj = ensure_dir(os.path.join(WORK, "obj"))
    install = os.path.join(WORK, "install")
    shutil.rmtree(install, ignore_errors=True)
    log = os.path.join(WORK, "build.log")
    info("building upstream's mm and memory-hotplug selftests (log: %s)"
         % os.path.relpath(log))
    # The UAPI headers the tests include, in the selftests' output tree.
    _make(["-C", KTREE, "O=" + obj, "headers"], log + ".headers")
    selftests = os.path.join(KTREE, SELFTESTS)
    flags = ["O=" + obj, "EXTRA_CFLAGS=" + EXTRA_CFLAGS]
    # One target at a time: kselftest's 'all' and 'install' succeed when
    # any one of several targets builds.
    collections = [t.split(":")[0] for t in TESTS]
    for collection in collections:
        _make(["-C", selftests, "TARGETS=" + collection] + flags + ["all"],
              log)
    _make(["-C", selftests, "TARGETS=" + " ".join(collections)] + flags +
          ["KSFT_INSTALL_PATH=" + install, "install"], log + ".install")
    return install


def padata_programs(kernel):
    """The padata collection, installed by kselftest's own install rule,
    its test module built against the kernel; None when the kernel's tree
    has no padata selftest (stock). Used by selftest.py too."""
    deps.ensure_step("selftest")
    src = os.path.join(build.source_tree(kernel), SELFTESTS, "padata")
    if not os.path.exists(os.path.join(src, "padata_mt.sh")):
        return None
    kdir = build.out_dir(kernel)
    install = os.path.join(WORK, kernel, "install")
    shutil.rmtree(install, ignore_errors=True)
    log = ensure_dir(os.path.join(WORK, kernel))
    log = os.path.join(log, "padata-build.log")
    # No O=: kselftest would pass it on to the module's kbuild, which must
    # build against KDIR's own output directory.
    make = ["-C", os.path.join(KTREE, SELFTESTS), "TARGETS=padata",
            "KDIR=" + kdir]
    with build.build_lock():
        # The module is built in the tree's padata_test/: no object of
        # another kernel may be left there.
        _make(make + ["clean"], log + ".clean")
        _make(make + ["KSFT_INSTALL_PATH=" + install, "install"], log)
    return install


def guest_files(tree, dest):
    """(host file, guest path) of every file under tree, at dest."""
    files = []
    for dirpath, _, names in os.walk(tree):
        for name in sorted(names):
            path = os.path.join(dirpath, name)
            if os.path.isfile(path):
                files.append((path, os.path.join(
                    dest, os.path.relpath(path, tree))))
    return files


def module_files(kernel):
    """The kernel's modules (its modules.order), where modprobe looks for
    them (the guest runs depmod): mem-on-off-test.sh loads
    memory-notifier-error-inject."""
    odir = build.out_dir(kernel)
    with open(os.path.join(odir, "include", "config",
                           "kernel.release")) as fh:
        release = fh.read().strip()
    with open(os.path.join(odir, "modules.order")) as fh:
        modules = [line.strip()[:-2] + ".ko" for line in fh if line.strip()]
    return [(os.path.join(odir, m),
             "/lib/modules/%s/kernel/%s" % (release, m)) for m in modules]


def _read_list(install):
    path = os.path.join(install, LIST)
    with open(path) as fh:
        return [line.strip() for line in fh if line.strip()]


def vm_categories(default):
    """run_vmtests.sh's categories; MTINIT_VM_CATEGORIES overrides them
    (a space-separated list) to run a few alone."""
    chosen = tuple(os.environ.get("MTINIT_VM_CATEGORIES", "").split())
    if chosen:
        info("MTINIT_VM_CATEGORIES overrides the categories")
    return chosen or default


def run_config(kernel, tests, listed, categories, test_timeout):
    """The guest's configuration files, written beside the kernel's
    programs: the runner's list of every installed test (kselftest-list.txt,
    one per installed tree, merged), its arguments, and run_vmtests.sh's
    categories."""
    cfg = ensure_dir(os.path.join(WORK, kernel))
    paths = []
    for name, text in ((LIST, "\n".join(listed)),
                       ("mtinit-tests",
                        " ".join("-t " + t for t in tests)),
                       ("mtinit-vm-categories", " ".join(categories)),
                       ("mtinit-timeout", str(test_timeout))):
        path = os.path.join(cfg, name)
        with open(path, "w") as fh:
            fh.write(text + "\n")
        paths.append((path, GUEST_DIR + "/" + name))
    return paths


def slow_replaced(files, work):
    """files, with each program of TOO_SLOW replaced by a stand-in
    written under work that reports a skip and why."""
    replaced = []
    missing = set(TOO_SLOW) - {os.path.relpath(guest, GUEST_DIR)
                               for _, guest in files}
    if missing:
        warn("kselftest: no installed program %s to replace (TOO_SLOW is "
             "stale)" % ", ".join(sorted(missing)))
    for host, guest in files:
        name = os.path.relpath(guest, GUEST_DIR)
        if name in TOO_SLOW:
            host = os.path.join(work, "skip-" + os.path.basename(name))
            with open(host, "w") as fh:
                fh.write(SKIP_STANDIN % shlex.quote(TOO_SLOW[name]))
            os.chmod(host, 0o755)
        replaced.append((host, guest))
    return replaced


def image_files(kernel, programs, categories, test_timeout):
    """Everything the kernel's kselftest boot adds to the guest image; the
    runner stops a test after test_timeout seconds."""
    tests = list(TESTS)
    listed = _read_list(programs)
    files = [f for f in guest_files(programs, GUEST_DIR)
             if not f[1].endswith("/" + LIST)]
    files = slow_replaced(files, ensure_dir(os.path.join(WORK, kernel)))
    padata = padata_programs(kernel)
    if padata:
        tests.append(PADATA_TEST)
        listed += _read_list(padata)
        files += guest_files(os.path.join(padata, "padata"),
                             GUEST_DIR + "/padata")
    files += run_config(kernel, tests, listed, categories, test_timeout)
    files += module_files(kernel)
    files.append((BASH, "/bin/bash"))
    return files


# 'ok 3 selftests: mm: run_vmtests.sh' at the top level; run_vmtests.sh's
# own results nested under it, behind the runner's '# ' prefix.
TOP = re.compile(r"^(not ok|ok) (\d+) selftests: (\S+): (\S+)(.*)$")
NESTED = re.compile(r"^# (not ok|ok) (\d+) (.*?)\s*(#.*)?$")
# The cases of a program that prints KTAP itself (kselftest.h or
# kselftest_harness.h: migration, gup_longterm, map_fixed_noreplace, ...),
# nested once more by run_vmtests.sh.
CASE = re.compile(r"^# # (not ok|ok) (\d+)")
# Between a program's name and its case's number ('mm: migration :: 5'):
# the number, not the description, which some programs word by their
# result ('Should have worked', 'ioctl status 0'). totals() counts tests,
# not cases.
CASE_SEP = " :: "
# Programs (by run_vmtests.sh category) whose cases the reference must
# run, not skip, lest a guest that cannot run them (one node, too few
# CPUs, no huge pages) leave the category silently empty on every kernel.
MUST_RUN = {"migration": "mm: migration"}


def _status(word, directive):
    directive = (directive or "").strip()
    if re.match(r"#\s*SKIP", directive, re.I):
        return "skip"
    return "pass" if word == "ok" else "fail"


def _unique(results, key):
    while key in results:
        key += "'"
    return key


def parse(ktap):
    """{test name: 'pass'|'fail'|'skip'} from the runner's KTAP: one entry
    per collection:test, one per run_vmtests.sh test ('mm: NAME'), and one
    per case of a test that reports its own cases ('mm: NAME :: N')."""
    results = {}
    nested, cases = [], []
    for line in ktap.splitlines():
        m = CASE.match(line)
        if m:
            directive = "#" + line[m.end():].partition("#")[2]
            cases.append((m.group(2), _status(m.group(1), directive)))
            continue
        m = NESTED.match(line)
        if m:
            nested.append((m.group(3), _status(m.group(1), m.group(4)),
                           cases))
            cases = []
            continue
        m = TOP.match(line)
        if m:
            collection = m.group(3)
            results["%s:%s" % (collection, m.group(4))] = _status(
                m.group(1), m.group(5).lstrip() if "#" in m.group(5)
                else "")
            for name, status, its_cases in nested:
                key = _unique(results, "%s: %s" % (collection, name))
                results[key] = status
                for case, case_status in its_cases:
                    results[_unique(results, key + CASE_SEP + case)] = \
                        case_status
            nested, cases = [], []
    return results


def timed_out(ktap):
    """The runner's top-level tests that it stopped at their timeout
    ('not ok N selftests: mm: run_vmtests.sh # TIMEOUT 3000 seconds'):
    whatever they had left to run did not run, on any kernel."""
    found = []
    for line in ktap.splitlines():
        m = TOP.match(line)
        if m and re.match(r"\s*#\s*TIMEOUT", m.group(5), re.I):
            found.append("%s:%s" % (m.group(3), m.group(4)))
    return found


def totals(results):
    """Counts of the tests' results (their cases not counted)."""
    counts = {"pass": 0, "fail": 0, "skip": 0}
    for name, status in results.items():
        if CASE_SEP not in name:
            counts[status] += 1
    return counts


def not_run(reference, categories):
    """Why the reference ran no case of a MUST_RUN program of the chosen
    categories: [(program, why)]."""
    found = []
    for category, name in sorted(MUST_RUN.items()):
        if category not in categories:
            continue
        cases = [status for key, status in reference.items()
                 if key.startswith(name + CASE_SEP)]
        if name not in reference:
            found.append((name, "it did not run"))
        elif "pass" in cases:
            continue
        elif cases and set(cases) == {"skip"}:
            found.append((name, "every case skipped: the guest cannot run "
                          "it"))
        else:
            found.append((name, "no case passed"))
    return found


def regressions(reference, results):
    """Tests the reference (stock) passes that the kernel does not, and
    tests the kernel fails that the reference does not fail (skipped
    there, or only the kernel has them: the series' padata suite)."""
    lost = {name for name, status in reference.items()
            if status == "pass" and results.get(name) != "pass"}
    lost |= {name for name, status in results.items()
             if status == "fail" and reference.get(name) != "fail"}
    return sorted(lost)


class Kselftest(Workload):
    """guest/scripts/kselftest.sh: kselftest's runner on the image's
    programs (image_files()). Its analysis (the boot result's 'kselftest')
    is parse()'s results of the runner's KTAP."""

    name = "kselftest"

    def __init__(self, files, test_timeout):
        self.paths = files
        self.test_timeout = test_timeout

    def files(self):
        return self.paths

    def analyse(self, run_text, dmesg):
        return {"reported": run_text is not None,
                "results": parse(run_text or ""),
                "timed_out": timed_out(run_text or "")}

    def problems(self, analysed):
        if not analysed["reported"]:
            return ["the guest printed no kselftest report"]
        if not analysed["results"]:
            return ["no test result in the kselftest report"]
        return ["kselftest's runner stopped %s at its %d s timeout: the "
                "tests after it did not run" % (name, self.test_timeout)
                for name in analysed.get("timed_out", [])]


def run_on(kernel, programs, categories, timeouts=TIMEOUTS["full"]):
    """Boot the kernel once with the tests; return (results, problems).
    timeouts: (seconds per runner test, seconds for the boot)."""
    test_timeout, timeout = timeouts
    spec = topology.guest_spec(**GUEST)
    tests = Kselftest(image_files(kernel, programs, categories,
                                  test_timeout), test_timeout)
    result = boot.boot(kernel, spec, workloads=[tests], timeout=timeout,
                       append=APPEND, backing=BACKING)
    problems = boot.problems(result)
    if not result["kselftest"]["reported"]:
        return {}, problems
    with open(os.path.join(result["log_dir"], "kselftest.ktap"), "w") as fh:
        fh.write(result["runs"]["kselftest"])
    results = result["kselftest"]["results"]
    counts = totals(results)
    info("kselftest on %s: %d passed, %d failed, %d skipped (%s)"
         % (kernel, counts["pass"], counts["fail"], counts["skip"],
            result["log_dir"]))
    return results, problems


def print_totals(kernel, results):
    """The kernel's totals, each test and failed case that did not pass,
    and how many cases of each program skipped."""
    counts = totals(results)
    print("# %s: %d passed, %d failed, %d skipped"
          % (kernel, counts["pass"], counts["fail"], counts["skip"]))
    skipped = collections.Counter()
    for name in sorted(results):
        status = results[name]
        if CASE_SEP in name and status == "skip":
            skipped[name.split(CASE_SEP)[0]] += 1
        elif status != "pass":
            print("#   %s %s" % (status, name))
    for name in sorted(skipped):
        print("#   %s: %d case(s) skipped" % (name, skipped[name]))


def compare(runs, categories, reference="stock", min_passed=MIN_PASSED):
    """Problems: a kernel that passes fewer tests than the reference, or
    does not pass a test or case the reference passes, or fails one the
    reference does not fail; a reference that hardly ran, or that ran no
    case of a MUST_RUN program of the categories."""
    problems = []
    ref = runs.get(reference)
    if ref is None:
        return problems
    passed = totals(ref)["pass"]
    if passed < min_passed:
        problems.append("%s passed %d upstream tests, fewer than %d: the "
                        "suite did not really run" % (reference, passed,
                                                      min_passed))
    for name, why in not_run(ref, categories):
        problems.append("%s passed no case of %s: %s" % (reference, name,
                                                         why))
    for kernel, results in runs.items():
        if kernel == reference:
            continue
        lost = regressions(ref, results)
        if lost:
            problems.append("%s does not pass what %s passes: %s"
                            % (kernel, reference, ", ".join(lost)))
        if totals(results)["pass"] < passed:
            problems.append("%s passes %d tests, %s %d" % (
                kernel, totals(results)["pass"], reference, passed))
    return problems


def timeout_mode(quick, categories):
    """'quick' for CI's categories (or fewer) under --quick, else 'full'
    (MTINIT_VM_CATEGORIES may name slow ones with --quick)."""
    if quick and set(categories) <= set(CI_VM_CATEGORIES):
        return "quick"
    return "full"


def main(kernels=("stock", "patched"), quick=False):
    """Run the suites on each kernel (stock first: the reference); raise
    with every problem found. quick: CI's categories."""
    default = CI_VM_CATEGORIES if quick else VM_CATEGORIES
    categories = vm_categories(default)
    info("run_vmtests.sh categories: " + " ".join(categories))
    for kernel in kernels:
        if build.build_info(kernel) is None:
            raise MtinitError("the %s kernel is not built; run './mtinit "
                              "build %s'" % (kernel, kernel))
    programs = build_programs()
    runs, problems = {}, []
    for kernel in kernels:
        results, found = run_on(kernel, programs, categories,
                                TIMEOUTS[timeout_mode(quick, categories)])
        runs[kernel] = results
        problems += ["%s: %s" % (kernel, p) for p in found]
    for kernel in kernels:
        print_totals(kernel, runs[kernel])
    # Categories chosen by hand may hold a single test.
    if categories != default:
        minimum = 1
    else:
        minimum = CI_MIN_PASSED if quick else MIN_PASSED
    problems += compare(runs, categories, min_passed=minimum)
    if problems:
        raise MtinitError("kselftest: " + "; ".join(problems))
    return runs
