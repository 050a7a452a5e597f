"""make test: series check, builds, a checked boot matrix, selftests and
the harness's own unit tests."""

import os
import re
import subprocess
import sys

from . import (base, boot, build, check, compare, kselftest, logparse, pmem,
               selftest, topology)
from .util import KTREE, ROOT, MtinitError, info
from .workload import Workload

# Guest RAM of every boot of the matrix (harness/backing.py): sparse. The
# matrix checks correctness, which first-touch faults do not change; its
# 64-256 GiB guests cannot be prefaulted on a 24 GiB host, and prefaulting
# even 16 GiB costs host time on every boot.
BACKING = "sparse"
# The series' padata tracepoints (padata:padata_mt_start and _end, one pair
# per multithreaded job) printed to dmesg. Every patched and debug boot of a
# row whose parameters have it checks each traced job
# (padata_trace_problems()); stock has no such events and only says that it
# failed to enable them.
PADATA_TRACE = "trace_event=padata:* tp_printk"
# The thread function of deferred init's jobs (mm/mm_init.c).
DEFERRED_FN = "deferred_init_memmap_chunk"

# Every case boots stock, patched and patched with one thread per node;
# "debug": True adds the debug kernel (lockdep, DEBUG_VM, object debugging).
# "proves" is the README's "what it proves" column (matrix.table());
# "expect" checks that the row's parameters took effect (expect_problems();
# the SERIES_EXPECT keys only on kernels with the series).
CASES = [
    {"name": "16G, 2 vCPUs", "mem": "16G", "smp": 2, "debug": True,
     "proves": "the series loses no page; thread count changes nothing; "
               "no lockdep/DEBUG_VM splat"},
    {"name": "64G, 2 vCPUs", "mem": "64G", "smp": 2,
     "proves": "the same on a large guest"},
    {"name": "1 vCPU", "mem": "8G", "smp": 1, "debug": True,
     "proves": "one CPU: deferred init and padata with no helper thread"},
    {"name": "2 nodes", "numa": "6G@0,10G@1", "smp": 2,
     "proves": "per-node accounting with NUMA"},
    {"name": "8 vCPUs, 4 nodes", "smp": 8,
     "numa": "4G@0-1,4G@2-3,4G@4-5,4G@6-7", "debug": True,
     "proves": "four pgdatinit threads at once, each with its node's 2 CPUs "
               "(more vCPUs than host cores)"},
    {"name": "CPU-less node", "numa": "2G@0-1,16G", "smp": 2,
     "debug": True,
     "proves": "a node with memory and no CPUs is initialised from node 0 "
               "(`node 1 has no CPUs, initialised from node 0 with threads on "
               "nodes 0`, a limit of 2 threads: node 0's CPUs) and loses "
               "nothing"},
    # QEMU's default distances make nodes 0 and 1 equally near to 2 and 3:
    # the kernel starts the k-th CPU-less node at a different one.
    {"name": "two CPU-less nodes", "numa": "2G@0,2G@1,8G,8G", "smp": 2,
     "debug": True, "append": PADATA_TRACE,
     "expect": {"initialised_from": {2: 0, 3: 1}},
     "proves": "two nodes without CPUs, equally near to two nodes with one "
               "CPU each, are initialised from different nodes (node 2 from "
               "0, node 3 from 1), each limited to that node's CPU, with "
               "threads only on nodes with CPUs; the padata tracepoints pair "
               "up, no job runs more threads than it was given nor is given "
               "more than its max_threads, and deferred init's jobs ran the "
               "threads its lines report"},
    {"name": "memory-less node", "numa": "6G@0-1,0@2-3", "smp": 4,
     "debug": True,
     "proves": "a node with CPUs and no memory: no deferred work, nothing "
               "breaks, its CPUs are not counted for node 0"},
    {"name": "odd node sizes", "numa": "6150M@0,4097M@1", "smp": 2,
     "proves": "node ends that are not a multiple of a section (128 MiB) or "
               "of MAX_ORDER (4 MiB), and a section shared by two nodes"},
    {"name": "holes (memmap=)", "mem": "16G", "smp": 2, "debug": True,
     "append": "memmap=64M$5G memmap=6M$9218M",
     "expect": {"max_present_mb": 16384 - 70},
     "proves": "reserved holes inside a node, one not MAX_ORDER aligned: "
               "deferred init skips them exactly"},
    {"name": "mem= limit", "mem": "16G", "smp": 2, "append": "mem=10000M",
     "expect": {"max_present_mb": 10000},
     "proves": "a mem= limit that ends inside a section"},
    {"name": "movablecore=", "mem": "16G", "smp": 2, "debug": True,
     "append": "movablecore=4G", "expect": {"zones_present": ["0/Movable"]},
     "proves": "ZONE_MOVABLE as the deferred zone"},
    {"name": "kernelcore= on 2 nodes", "numa": "6G@0,10G@1", "smp": 2,
     "append": "kernelcore=4G",
     "expect": {"zones_present": ["0/Movable", "1/Movable"]},
     "proves": "ZONE_MOVABLE on every node, split by kernelcore="},
    # A 512 MiB ring buffer per CPU allocated in start_kernel() forces
    # deferred_grow_zone() before deferred init runs.
    {"name": "on-demand growth", "mem": "16G", "smp": 2,
     "append": "ftrace=nop trace_buf_size=512M", "grows_from": 0,
     "proves": "deferred_grow_zone() before deferred init stays exact, and "
               "deferred init is left fewer pages than without it"},
    {"name": "2M hugepages", "mem": "16G", "smp": 2, "debug": True,
     "append": "hugepages=1024 " + PADATA_TRACE,
     "expect": {"hugetlb_kb": 1024 * 2048,
                "padata_fns": ["hugetlb_pages_alloc_boot_node"]},
     "proves": "boot-time 2 MiB pages (allocated with padata after deferred "
               "init) on top of the series' buddy state; hugetlb's "
               "allocation job is traced, paired and within its "
               "max_threads"},
    # What distributions turn on changes the free path; the series' line
    # must still count nearly every page as written from a template
    # (template_problems()). Every kernel has Debian's values
    # (config/guest.config: init_on_alloc on by default, page shuffling and
    # KFENCE built in); the debug kernel adds page poisoning and page_ext.
    {"name": "init_on_alloc=0", "mem": "16G", "smp": 2,
     "append": "init_on_alloc=0",
     "proves": "without Debian's init_on_alloc default the free path skips "
               "its per-page checks: the write-once path holds there too"},
    {"name": "shuffle, no init_on_alloc", "mem": "16G", "smp": 2,
     "debug": True, "append": "page_alloc.shuffle=1 init_on_alloc=0",
     "proves": "page shuffling (built into every kernel) on the series' free "
               "lists; DEBUG_VM's checks alone still take the write-once "
               "path"},
    {"name": "init_on_free, page_poison", "mem": "2G", "smp": 2,
     "debug": True, "append": "init_on_free=1 page_poison=1",
     "proves": "features that write every freed page do it per block, on "
               "the write-once path too (page_poison: debug only)"},
    {"name": "1G hugepages", "mem": "16G", "smp": 2,
     "append": "hugepagesz=1G hugepages=2 " + PADATA_TRACE,
     "expect": {"hugetlb_kb": 2 * 1024 * 1024,
                "padata_fns": ["gather_bootmem_prealloc_parallel"]},
     "proves": "boot-time gigantic pages (memblock before deferred init, "
               "gathered with padata) stay out of the deferred ranges; the "
               "padata tracepoints show hugetlb's gathering job beside "
               "deferred init's, each pair complete and within its "
               "max_threads"},
]
FULL_CASES = CASES + [
    {"name": "128G, 2 vCPUs", "mem": "128G", "smp": 2,
     "proves": "a 128 GiB guest"},
    {"name": "256G, 8 vCPUs, 4 nodes", "smp": 8,
     "numa": "64G@0-1,64G@2-3,64G@4-5,64G@6-7",
     "proves": "a 256 GiB guest over four nodes"},
]
# The kernels as Debian configures them (build variants stock-distro and
# distro: Debian's cloud-amd64 configuration, config/distro.config), in
# 'test --full': every check of the rows above, with stock-distro as the
# reference.
DISTRO_KERNELS = build.DISTRO_VARIANTS
DISTRO_CASES = [
    {"name": "distro 16G", "mem": "16G", "smp": 2,
     "kernels": DISTRO_KERNELS,
     "proves": "on Debian's own configuration the series loses no page and "
               "writes nearly every page from a template"},
    {"name": "distro 64G", "mem": "64G", "smp": 2,
     "kernels": DISTRO_KERNELS,
     "proves": "the same on a large guest"},
    {"name": "distro CPU-less node", "numa": "2G@0-1,16G", "smp": 2,
     "kernels": DISTRO_KERNELS,
     "proves": "a node with memory and no CPUs on Debian's configuration"},
]
# The KASAN kernel (patched source, config/kasan.config) on small guests
# (test --full): its shadow is 1/8 of RAM, reserved early, so only present
# pages are compared with stock; every boot must be clean.
KASAN_CASES = [
    {"name": "KASAN 2G", "mem": "2G", "smp": 2,
     "proves": "KASAN sees no bad access in deferred init or padata"},
    {"name": "KASAN 4G, 2 nodes", "numa": "2G@0,2G@1", "smp": 2,
     "proves": "the same with two pgdatinit threads"},
]
KASAN_ON = "kasan: KernelAddressSanitizer initialized"
# Upstream's selftests: stock first (the reference), then the series;
# in 'test --full' every category on the debug kernel too, in CI the
# quick categories (each full run takes many minutes under TCG, and CI has
# 90 minutes for everything on a machine with a cold cache).
KSELFTEST_KERNELS = ("stock", "patched")
KSELFTEST_FULL_KERNELS = KSELFTEST_KERNELS + ("debug",)
# Allocate and free nearly all memory of a small guest after boot.
MEMSTRESS = {"mem": "3G", "smp": 2}
# guest/scripts/memstress.sh: a plain script, its report read below.
MEMSTRESS_SCRIPT = Workload("memstress")
MEMSTRESS_LINE = re.compile(r"memstress before=(\d+) full=(\d+) after=(\d+)")
# Thread parameter cases, on the first case's shape: (threads, append,
# the dmesg text it must produce or None). None: no "not a thread count"
# message at all. 1 and the default are in every case above.
INVALID = "deferred_page_init_threads: '%s' is not a thread count, using " \
    "the default"
PARAM_CASES = [
    (64, "", None),         # above the CPU count: clamped
    (0, "", None),          # 0: the default, silently
    (None, "deferred_page_init_threads=lots", INVALID % "lots"),
    (None, "deferred_page_init_threads=-1", INVALID % "-1"),
    (None, "deferred_page_init_threads=", INVALID % ""),
]


def node_cpus(spec):
    """{node: the default thread limit of its deferred init} of a guest:
    its CPU count, or for a node without CPUs that of the node it borrows
    from. QEMU's default distances make every other node equally near, and
    the series starts a CPU-less node at the (node % count)-th node with
    CPUs, in id order, so that nodes one apart start on different ones."""
    if not spec["nodes"]:
        return {0: spec["smp"]}
    counts = [len(n["cpus"]) for n in spec["nodes"]]
    lenders = [nid for nid, count in enumerate(counts) if count]
    if not lenders:
        return {nid: 1 for nid in range(len(counts))}
    return {nid: count or counts[lenders[nid % len(lenders)]]
            for nid, count in enumerate(counts)}


def nodes_with_cpus(spec):
    """The nodes of a guest that have CPUs."""
    if not spec["nodes"]:
        return {0}
    return {nid for nid, n in enumerate(spec["nodes"]) if n["cpus"]}


def cpu_less(spec):
    """The nodes of a guest with memory and no CPUs."""
    return [nid for nid, n in enumerate(spec["nodes"] or [])
            if n["mem_mb"] and not n["cpus"]]


def deferred_problems(result, spec, threads):
    """The series' deferred-init lines: pages, the thread limit and the
    threads that ran."""
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
        if line["limit"] != want:
            problems.append("node %d: a limit of %d threads, expected %d"
                            % (line["node"], line["limit"], want))
        if not 1 <= line["threads"] <= line["limit"]:
            problems.append("node %d: %d threads ran, the limit is %d"
                            % (line["node"], line["threads"],
                               line["limit"]))
        problems += template_problems(line)
    return problems + cpu_less_problems(result["deferred"], spec)


def cpu_less_problems(lines, spec):
    """Each node without CPUs says which node's CPUs its pgdatinit thread
    ran on and on which nodes its threads ran (deferred(): from_node,
    ran_on); no node with CPUs says it has none."""
    problems = []
    with_cpus = nodes_with_cpus(spec)
    by_node = {line["node"]: line for line in lines}
    for nid in cpu_less(spec):
        line = by_node.get(nid, {})
        if line.get("from_node") is None:
            problems.append("node %d has no CPUs but dmesg lacks 'node %d has "
                            "no CPUs, initialised from node ...'" % (nid, nid))
        else:
            problems += borrowed_problems(line, with_cpus)
    for line in lines:
        if line["node"] in with_cpus and line.get("from_node") is not None:
            problems.append("node %d has CPUs but the series says it has "
                            "none" % line["node"])
    return problems


def borrowed_problems(line, with_cpus):
    """A node without CPUs was initialised from a node with CPUs, whose
    CPUs ran some of its chunks, and only CPUs of nodes with CPUs did."""
    problems = []
    node, source, ran_on = line["node"], line["from_node"], line["ran_on"]
    if source not in with_cpus:
        problems.append("node %d: initialised from node %d, which has no "
                        "CPUs" % (node, source))
    if source not in ran_on:
        problems.append("node %d: initialised from node %d, but its threads "
                        "ran on nodes '%s'" % (
                            node, source, logparse.node_list_text(ran_on)))
    strays = sorted(set(ran_on) - with_cpus)
    if strays:
        problems.append("node %d: threads on nodes %s, which have no CPUs"
                        % (node, logparse.node_list_text(strays)))
    return problems


def traces_padata(append):
    """The boot's kernel parameters turn the padata tracepoints on."""
    return "trace_event=padata" in append


def padata_trace_problems(jobs, deferred_lines):
    """The padata jobs traced by the series' tracepoints (padata_jobs()):
    every start has exactly one end and every end its start, there is at
    least one job, each ran 1 to max(max_threads, 1) threads (an empty job
    may run none), and the most threads of deferred init's jobs are the
    most its lines report (each node reports its largest job's count)."""
    if not jobs:
        return ["no padata job traced (padata_mt_start/padata_mt_end)"]
    problems = logparse.unpaired_padata(jobs) + address_fn_problems(jobs)
    for job in jobs:
        problems += job_thread_problems(job)
    return problems + deferred_job_problems(jobs, deferred_lines)


def address_fn_problems(jobs):
    """A kernel without KALLSYMS prints a job's fn as an address, which no
    check can tell from another."""
    addresses = sorted({j["fn"] for j in jobs if j["fn"].startswith("0x")})
    if not addresses:
        return []
    return ["padata job functions printed as addresses (%s): the kernel "
            "lacks CONFIG_KALLSYMS" % ", ".join(addresses)]


def job_thread_problems(job):
    """1 <= threads <= given <= max(max_threads, 1), or 0 threads for a job
    of size 0 (given: the threads the start event says the job was given);
    an unpaired job (unpaired_padata()) is not judged here."""
    if job["threads"] is None or job["max_threads"] is None:
        return []
    least = 0 if job["size"] == 0 else 1
    most = max(job["max_threads"], 1)
    given = job.get("given", most)
    if least <= job["threads"] <= given <= most:
        return []
    return ["padata job fn=%s start=%d size=%d: %d threads ran, %d given, "
            "max_threads %d" % (job["fn"], job["start"], job["size"],
                                job["threads"], given, job["max_threads"])]


def deferred_job_problems(jobs, deferred_lines):
    """The most threads one of deferred init's jobs ran is the most any
    node's deferred-init line reports."""
    ran = max((j["threads"] for j in jobs
               if j["fn"] == DEFERRED_FN and j["threads"] is not None),
              default=None)
    reported = max((line["threads"] for line in deferred_lines
                    if line["threads"] is not None), default=None)
    if ran == reported:
        return []
    return ["the %s jobs ran at most %s threads, the deferred-init lines "
            "report at most %s" % (DEFERRED_FN, ran, reported)]


# Share of a node's deferred pages that must come from templates (the
# write-once path of whole MAX_ORDER blocks); the rest are partial blocks
# at the edges of free ranges. Only nodes with at least MIN_TEMPLATE_PAGES
# deferred pages are held to it.
MIN_TEMPLATE_SHARE = 0.9
MIN_TEMPLATE_PAGES = 65536


# The KUnit suites that config/debug.config builds into the debug kernel,
# which run at each of its boots (a failed case is a problem of every boot,
# boot.problems()), and the case that only a node without CPUs exercises.
DEBUG_KUNIT_SUITES = ("padata_mt", "memmap_template")
CPU_LESS_KUNIT_CASE = ("padata_mt", "padata_kunit_cpu_node_cpu_less")


def kunit_problems(cases, spec):
    """The debug kernel's KUnit suites ran, and on a guest with CPU-less
    nodes their placement case ran rather than skipped."""
    ran = {c["suite"] for c in cases}
    problems = ["KUnit suite %s did not run" % suite
                for suite in DEBUG_KUNIT_SUITES if suite not in ran]
    if cpu_less(spec):
        suite, name = CPU_LESS_KUNIT_CASE
        status = [c["status"] for c in cases
                  if c["suite"] == suite and c["case"] == name]
        if status != ["ok"]:
            problems.append("KUnit %s.%s: %s on a guest with CPU-less nodes"
                            % (suite, name, ", ".join(status) or "absent"))
    return problems


def template_problems(line):
    """The series' line says how many pages came from templates, and
    nearly all of a large node's did: whatever the kernel's config and
    parameters, the write-once path must not silently fall back."""
    if line.get("from_templates") is None:
        return ["node %d: the line lacks 'N from templates'" % line["node"]]
    if line["pages"] >= MIN_TEMPLATE_PAGES and \
            line["from_templates"] < MIN_TEMPLATE_SHARE * line["pages"]:
        return ["node %d: only %d of %d pages from templates (at least "
                "%d%% expected): the write-once path fell back"
                % (line["node"], line["from_templates"], line["pages"],
                   MIN_TEMPLATE_SHARE * 100)]
    return []


# "expect" keys about what only the series prints: Matrix.expected()
# leaves them out for stock (series_expect()).
SERIES_EXPECT = ("initialised_from", "padata_fns")


def series_expect(expect, kernel):
    """The part of a row's "expect" entry that holds on kernel."""
    if kernel not in build.STOCK_VARIANTS:
        return expect
    return {k: v for k, v in expect.items() if k not in SERIES_EXPECT}


def expect_problems(result, expect):
    """A row's parameters took effect (its "expect" entry)."""
    problems = []
    zones = result["zones"]
    for name in expect.get("zones_present", ()):
        if not zones.get(name, {}).get("present"):
            problems.append("zone %s has no present pages" % name)
    if "max_present_mb" in expect:
        present_mb = sum(z["present"] for z in zones.values()) * 4 / 1024
        if present_mb > expect["max_present_mb"]:
            problems.append("%.0f MiB present, at most %d expected"
                            % (present_mb, expect["max_present_mb"]))
    if "hugetlb_kb" in expect and \
            result.get("hugetlb_kb") != expect["hugetlb_kb"]:
        problems.append("Hugetlb %s kB, expected %d kB"
                        % (result.get("hugetlb_kb"), expect["hugetlb_kb"]))
    if "initialised_from" in expect:
        problems += initialised_from_problems(result["deferred"],
                                              expect["initialised_from"])
    if "padata_fns" in expect:
        problems += traced_fn_problems(result["padata_jobs"],
                                       expect["padata_fns"])
    return problems


def initialised_from_problems(deferred_lines, wanted):
    """Each node without CPUs of wanted ({node: from_node}) was initialised
    from that node, as its 'has no CPUs' line says."""
    found = {line["node"]: line.get("from_node") for line in deferred_lines}
    return ["node %d initialised from node %s, expected node %d"
            % (node, found.get(node), source)
            for node, source in sorted(wanted.items())
            if found.get(node) != source]


def traced_fn_problems(jobs, fns):
    """Each of fns is the thread function of at least one traced padata
    job: the engine's users that the row's parameters call ran, and were
    traced."""
    traced = {job["fn"] for job in jobs}
    return ["no padata job of %s traced (traced: %s)"
            % (fn, ", ".join(sorted(traced)) or "none")
            for fn in fns if fn not in traced]


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

    def boot(self, where, kernel, spec, threads=None, append="",
             workloads=()):
        """Boot once (workloads: boot.boot()'s) and check the boot on its
        own; the result, or None when it has problems."""
        self.boots += 1
        info("boot %d: %s, %s%s%s" % (
            self.boots, where, kernel,
            " threads=%d" % threads if threads is not None else "",
            " '%s'" % append if append else ""))
        result = boot.boot(kernel, spec, threads=threads, append=append,
                           timeout=900, workloads=workloads,
                           backing=BACKING)
        bad = boot.problems(result)
        self.fail("%s [%s %s]" % (where, kernel, result["log_dir"]), bad)
        if not bad and kernel not in build.STOCK_VARIANTS:
            self.fail("%s [%s]" % (where, kernel),
                      deferred_problems(result, spec, threads))
            if traces_padata(append):
                self.fail("%s [%s: padata trace]" % (where, kernel),
                          padata_trace_problems(result["padata_jobs"],
                                                result["deferred"]))
        if not bad and kernel == "debug":
            self.fail("%s [debug: KUnit]" % where,
                      kunit_problems(result["kunit"], spec))
        return result if not bad else None

    def case(self, case):
        """Boot a case on stock, the series and the series with one
        thread (the case's "kernels", stock and patched by default), and
        the debug kernel if it asks; compare them."""
        name = case["name"]
        append = case.get("append", "")
        spec = topology.guest_spec(mem=case.get("mem"), smp=case.get("smp"),
                                   numa=case.get("numa"))
        reference, series = case.get("kernels", ("stock", "patched"))
        stock = self.boot(name, reference, spec, append=append)
        patched = self.boot(name, series, spec, append=append)
        one = self.boot(name, series, spec, threads=1, append=append)
        self.expected(name, case, **{reference: stock, series: patched})
        if stock and patched:
            self.fail("%s [%s vs %s]" % (name, reference, series),
                      compare.against_stock(stock, patched))
        if patched and one:
            self.same("%s [%s threads=1 vs default]" % (name, series),
                      patched, one)
        self.free_close(name, reference, stock,
                        **{series: patched, series + " threads=1": one})
        if case.get("debug"):
            debug = self.boot(name, "debug", spec, append=append)
            if stock and debug:
                self.fail(name + " [stock vs debug: present]",
                          compare.present_equal(stock, debug))
            self.free_close(name, reference, stock, debug=debug)
        return spec, patched

    def expected(self, name, case, **results):
        """The row's "expect" entry holds on each of its boots."""
        for kernel, result in results.items():
            if result and case.get("expect"):
                self.fail("%s [%s: expected]" % (name, kernel),
                          expect_problems(result, series_expect(
                              case["expect"], kernel)))

    def free_close(self, name, reference, stock, **others):
        """Free memory after boot within compare.FREE_TOLERANCE_KB of the
        reference kernel's (stock's), for each of the other boots that
        succeeded (the debug kernel: compare.DEBUG_FREE_TOLERANCE_KB)."""
        for label, result in others.items():
            if stock and result:
                tolerance = (compare.DEBUG_FREE_TOLERANCE_KB
                             if label == "debug"
                             else compare.FREE_TOLERANCE_KB)
                self.fail("%s [%s vs %s: free]" % (name, reference, label),
                          compare.free_close(stock, result, tolerance))

    def kasan(self, case):
        """The KASAN kernel: clean, ok, its own accounting exact, present
        equal to stock, thread count as the patched kernel's."""
        name = case["name"]
        spec = topology.guest_spec(mem=case.get("mem"), smp=case.get("smp"),
                                   numa=case.get("numa"))
        stock = self.boot(name, "stock", spec)
        for threads in (None, 1):
            result = self.boot(name, "kasan", spec, threads=threads)
            if not result:
                continue
            with open(os.path.join(result["log_dir"], "dmesg.log")) as fh:
                self.fail(name + " [kasan: active]",
                          [] if KASAN_ON in fh.read() else
                          ["no '%s' in dmesg: not a KASAN kernel" % KASAN_ON])
            if stock:
                self.fail(name + " [stock vs kasan: present]",
                          compare.present_equal(stock, result))

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
        result = self.boot(where, kernel, spec,
                           workloads=[MEMSTRESS_SCRIPT])
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
                                             else repr(append))
            result = self.boot(where, "patched", spec, threads=threads,
                               append=append)
            if not result:
                continue
            if reference:
                self.same(where + " vs default", reference, result)
            with open(os.path.join(result["log_dir"], "dmesg.log")) as fh:
                self.fail(where, param_message_problems(fh.read(), expect))


def param_message_problems(dmesg, expect):
    """The invalid-value message is there when expected, and only then."""
    if expect:
        return [] if expect in dmesg else ["dmesg lacks \"%s\"" % expect]
    bad = [line for line in dmesg.splitlines()
           if "is not a thread count" in line]
    return ["unexpected message: %s" % bad[0]] if bad else []


def unit_tests():
    """The harness's own tests (python unittest, beside the code)."""
    info("harness unit tests")
    proc = subprocess.run([sys.executable, "-m", "unittest", "discover",
                           "-s", os.path.join(ROOT, "harness", "tests"),
                           "-t", ROOT], cwd=ROOT)
    if proc.returncode != 0:
        raise MtinitError("harness unit tests failed")


def variants(full):
    """The kernels 'make test' builds: KASAN and the distro kernels only
    for --full."""
    return build.CI_VARIANTS + (("kasan",) + DISTRO_KERNELS if full else ())


def cases(full):
    """The boot matrix's cases: 'make test' or 'test --full'."""
    return FULL_CASES + DISTRO_CASES if full else CASES


def table():
    """The README's matrix table, one row per case."""
    rows = ["| case | guest | kernel parameters | kernels | CI | what it "
            "proves |", "|---|---|---|---|---|---|"]
    for case in FULL_CASES + DISTRO_CASES + KASAN_CASES:
        reference, series = ("stock", "kasan") if case in KASAN_CASES else \
            case.get("kernels", ("stock", "patched"))
        kernels = "%s, %s, %s with 1 thread%s" % (
            reference, series, series,
            ", debug" if case.get("debug") else "")
        guest = "%s, %d vCPU%s" % (case.get("numa") or case["mem"],
                                   case["smp"], "s" * (case["smp"] > 1))
        rows.append("| %s | %s | %s | %s | %s | %s |" % (
            case["name"], guest,
            "`%s`" % case["append"] if case.get("append") else "",
            kernels, "CI" if case in CASES else "full", case["proves"]))
    return "\n".join(rows) + "\n"


def main(full=False, skip_build=False):
    unit_tests()
    if not os.path.isdir(os.path.join(KTREE, ".git")):
        base.prepare()
    info("series check")
    check.main()
    if not skip_build:
        for variant in variants(full):
            build.build(variant)
    matrix = Matrix()
    patched = []
    for case in cases(full):
        spec, result = matrix.case(case)
        patched.append((spec, result))
        if "grows_from" in case:
            matrix.grew(case["name"], result, patched[case["grows_from"]][1])
    matrix.params(*patched[0])
    for kernel in ("patched", "debug"):
        matrix.memstress(kernel)
    for case in pmem.MATRIX_CASES:
        pmem.matrix_case(matrix, case)
    if full:
        for case in KASAN_CASES:
            matrix.kasan(case)
    info("selftest")
    try:
        selftest.main(["patched", "debug"])
        matrix.fail("selftest", [])
    except MtinitError as err:
        matrix.fail("selftest", [str(err)])
    info("upstream kselftests of mm and memory hotplug")
    try:
        if full:
            kselftest.main(KSELFTEST_FULL_KERNELS)
        else:
            kselftest.main(KSELFTEST_KERNELS, quick=True)
        matrix.fail("kselftest", [])
    except MtinitError as err:
        matrix.fail("kselftest", [str(err)])
    failed = len(matrix.failures)
    print("test: %d passed, %d failed" % (matrix.passed, failed))
    if failed:
        raise MtinitError("%d problem(s) in %d boots:\n  %s" % (
            failed, matrix.boots, "\n  ".join(matrix.failures)))
