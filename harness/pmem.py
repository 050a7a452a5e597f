"""--pmem: ZONE_DEVICE memmap init of a legacy pmem namespace.

SIZE is carved out of the top of guest RAM with 'memmap=SIZE!OFFSET' (e820
type 12, region0/namespace0.0 of the X86_PMEM_LEGACY driver). The guest
script guest/scripts/pmem.sh reconfigures the namespace as fsdax (pfn seed,
nd_pmem) or devdax (dax seed, dax_pmem) with its struct pages in RAM (mode
'ram'), then binds, checks and unbinds it LOOPS times. A bind runs
memremap_pages() and so memmap_init_zone_device().

bind_ms is measured in the guest the same way for every kernel: the script
writes 'mtinit-pmem: bind N begin' and '... end' to /dev/kmsg around the
'echo DEV > bind', and the difference of their printk timestamps
(local_clock: microseconds under MTTCG, guest instructions under icount) is
the bind's time. The patched kernel also prints, once per
memmap_init_zone_device() call, 'node N device memmap initialised, P pages
in T.TTT ms with K threads'; the stock kernel prints nothing.

pages is the harness's own count, the same for every kernel: the range
memremap_pages() maps in mode 'ram' is the namespace from its start to the
end of the pfn device's data (the info block and its alignment padding
included, the end truncation excluded), in 4 KiB pages, from sysfs
(namespace resource, pfn resource and size).

The guest's namespace is part of its spec (with_pmem(): spec['pmem']);
the script is a workload (Pmem, harness/workload.py) that callers give
boot.boot() as workloads(spec).
"""

import re

from . import compare
from .hotplug import HOTPLUG_CPUS, HOTPLUG_GUEST, HOTPLUG_KERNELS
from .logparse import graph_steps
from .topology import format_size, guest_spec, parse_size
from .util import MtinitError
from .workload import Workload

# Guest RAM left beside the namespace.
MIN_RAM_MB = 2048
# Memory sections are 128 MiB: the namespace starts and ends on one.
ALIGN_MB = 128
# QEMU's pc machine: with 3.5 GiB or more, the first 3 GiB of RAM are below
# the PCI hole and the rest starts at 4 GiB (hw/i386/pc_piix.c,
# gigabyte_align); below 3.5 GiB all RAM is below 4 GiB.
LOWMEM_SPLIT_MB = 3584
LOWMEM_MB = 3072
HOLE_END_MB = 4096
MODES = ("fsdax", "devdax")
PAGE = 4096

# The series: once per memmap_init_zone_device() call. Neither this nor
# logparse.SERIES_DEFERRED ('node N initialised, ...') matches the other's
# line (harness/tests/test_pmem.py).
DEVICE_MEMMAP = re.compile(
    r"node (\d+) device memmap initialised, (\d+) pages in (\d+\.\d+) ms "
    r"with (\d+) threads?(?: \(limit (\d+)\))?")
MARKER = re.compile(r"^\[\s*(\d+\.\d+)\]\s?mtinit-pmem: (bind|unbind) (\d+) "
                    r"(begin|end)\s*$")
REPORT = re.compile(r"^pmem (.*)$")
KEYVAL = re.compile(r"(\w+)=(\S+)")


def ram_top_mb(mem_mb):
    """Guest physical address (MiB) of the end of RAM."""
    if mem_mb >= LOWMEM_SPLIT_MB:
        return HOLE_END_MB + mem_mb - LOWMEM_MB
    return mem_mb


def pmem_spec(spec, size, mode="fsdax", loops=1):
    """Validate --pmem against the guest; return the pmem part of a spec.

    The namespace is the last SIZE of guest physical RAM. It must be whole
    128 MiB sections, lie above the PCI hole (or, in a guest below 3.5 GiB,
    below it), and leave at least MIN_RAM_MB of RAM. --numa is refused: the
    namespace would belong to whichever node holds the top of RAM and the
    bench and tests do not need that (yet).
    """
    if mode not in MODES:
        raise MtinitError("--pmem-mode '%s': use %s" % (mode, " or ".join(
            MODES)))
    if loops is None or loops < 1:
        raise MtinitError("--pmem-loops must be at least 1")
    if spec.get("nodes"):
        raise MtinitError("--pmem cannot be combined with --numa: the "
                          "namespace is carved from the top of a one-node "
                          "guest's RAM")
    size_mb = parse_size(size)
    mem_mb = spec["mem_mb"]
    if size_mb % ALIGN_MB:
        raise MtinitError("--pmem %s is not a multiple of %dM (a memory "
                          "section)" % (size, ALIGN_MB))
    if mem_mb - size_mb < MIN_RAM_MB:
        raise MtinitError("--pmem %s leaves %s of --mem %s as RAM: at least "
                          "%s is needed" % (
                              format_size(size_mb),
                              format_size(max(mem_mb - size_mb, 0)),
                              spec["mem"], format_size(MIN_RAM_MB)))
    top_mb = ram_top_mb(mem_mb)
    offset_mb = top_mb - size_mb
    if mem_mb >= LOWMEM_SPLIT_MB and offset_mb < HOLE_END_MB:
        raise MtinitError("--pmem %s is more than the %s of --mem %s above "
                          "4 GiB (QEMU puts the first 3 GiB below the PCI "
                          "hole)" % (format_size(size_mb),
                                     format_size(mem_mb - LOWMEM_MB),
                                     spec["mem"]))
    if offset_mb % ALIGN_MB:
        raise MtinitError("with --pmem, --mem %s must be a multiple of %dM "
                          "(the namespace would start at %dM)"
                          % (spec["mem"], ALIGN_MB, offset_mb))
    return {"size_mb": size_mb, "size": format_size(size_mb),
            "offset_mb": offset_mb, "offset": format_size(offset_mb),
            "mode": mode, "loops": loops}


def with_pmem(spec, size, mode="fsdax", loops=1):
    """The guest spec with 'pmem' set (spec itself when size is None)."""
    if size is None:
        return spec
    out = dict(spec)
    out["pmem"] = pmem_spec(spec, size, mode, loops)
    return out


class Pmem(Workload):
    """guest/scripts/pmem.sh on a namespace (a spec's 'pmem' part): its
    analysis is the boot result's 'pmem'."""

    name = "pmem"

    def __init__(self, namespace):
        self.namespace = namespace

    def kernel_append(self):
        return kernel_append(self.namespace)

    def dir_tag(self):
        return "pmem%s-%s" % (self.namespace["size"],
                              self.namespace["mode"])

    def analyse(self, run_text, dmesg):
        return analyse(self.namespace, run_text, dmesg)

    def problems(self, analysed):
        return problems(analysed)

    def summary(self, analysed):
        return summary(analysed) if analysed else None


def workloads(spec):
    """What boot.boot(workloads=) runs for a guest spec: the pmem script
    when with_pmem() gave it a namespace, else nothing."""
    return [Pmem(spec["pmem"])] if spec.get("pmem") else []


def kernel_append(pm):
    """Kernel parameters of a pmem guest. printk.devkmsg=on: the markers
    must not be rate limited (10 lines per 5 s by default)."""
    return "memmap=%s!%s printk.devkmsg=on mtinit.pmem=%s,%d" % (
        pm["size"], pm["offset"], pm["mode"], pm["loops"])


def device_line(line):
    """The series' device memmap line as {node, pages, ms, threads, limit},
    or None for any other line. threads ran the job, limit is what it was
    allowed; a kernel that prints only one count printed the limit."""
    m = DEVICE_MEMMAP.search(line)
    if not m:
        return None
    return {"node": int(m.group(1)), "pages": int(m.group(2)),
            "ms": float(m.group(3)), "threads": int(m.group(4)),
            "limit": int(m.group(5) or m.group(4))}


def timed(dmesg):
    """{('bind'|'unbind', n): {'ms': float|None, 'lines': [...]}} from the
    markers and the device memmap lines printed between them."""
    spans, open_span = {}, None
    for line in dmesg.splitlines():
        m = MARKER.match(line)
        if m:
            stamp, op, n, edge = (float(m.group(1)), m.group(2),
                                  int(m.group(3)), m.group(4))
            span = spans.setdefault((op, n), {"begin": None, "end": None,
                                              "lines": []})
            span[edge] = stamp
            open_span = span if edge == "begin" else None
            continue
        found = device_line(line) if open_span is not None else None
        if found:
            open_span["lines"].append(found)
    out = {}
    for key, span in spans.items():
        ms = None
        if span["begin"] is not None and span["end"] is not None:
            ms = round((span["end"] - span["begin"]) * 1000.0, 3)
        out[key] = {"ms": ms, "lines": span["lines"]}
    return out


def report(text):
    """The guest script's 'pmem KEY=VALUE' lines as one dict, plus
    'error' (its 'pmem error: ...' line), 'checks' and 'done'."""
    out = {"error": None, "checks": 0, "done": False}
    for line in text.splitlines():
        m = REPORT.match(line.strip())
        if not m:
            continue
        body = m.group(1)
        if body.startswith("graph: "):
            said = body[len("graph: "):]
            if said.startswith((GRAPH_ON + " ", "unavailable ")):
                out.setdefault("graph", said)
            continue
        if body.startswith("error:"):
            out["error"] = body[len("error:"):].strip()
            continue
        if body.startswith("check ") and " ok" in body:
            out["checks"] += 1
        if body.startswith("done"):
            out["done"] = True
        for key, value in KEYVAL.findall(body):
            out.setdefault(key, value)
    return out


def harness_pages(rep):
    """Pages memremap_pages() maps: namespace start to end of data."""
    try:
        start = int(rep["ns_resource"], 0)
        data = int(rep["pfn_resource"], 0)
        size = int(rep["pfn_size"], 0)
    except (KeyError, ValueError):
        return None
    return (data + size - start) // PAGE


def _int(rep, key):
    try:
        return int(rep[key])
    except (KeyError, ValueError):
        return None


def analyse(pm, run_text, dmesg):
    """The 'pmem' field of a boot's JSON."""
    rep = report(run_text or "")
    spans = timed(dmesg or "")
    loops = pm["loops"]
    binds = [spans.get(("bind", n), {"ms": None, "lines": []})
             for n in range(1, loops + 1)]
    unbinds = [spans.get(("unbind", n), {"ms": None})
               for n in range(1, loops + 1)]
    lines = [b["lines"] for b in binds]
    first = lines[0] if lines else []
    return {
        "size": pm["size"], "offset": pm["offset"], "mode": pm["mode"],
        "loops": loops,
        "bind_ms": binds[0]["ms"] if binds else None,
        "binds_ms": [b["ms"] for b in binds],
        "unbinds_ms": [u["ms"] for u in unbinds],
        "pages": harness_pages(rep),
        # The stock kernel initialises device pages on one thread and says
        # nothing; the series says how many threads it used.
        "threads": max((l["threads"] for l in first), default=1),
        "kernel_lines": lines,
        "memfree_before_kb": _int(rep, "memfree_before"),
        "memfree_bound_kb": _int(rep, "memfree_bound"),
        "memfree_after_kb": _int(rep, "memfree_after"),
        "checks": rep["checks"],
        "device": rep.get("device"),
        "error": rep["error"] if rep["error"] else (
            None if run_text else "the guest's pmem script did not run"),
        "done": rep["done"],
        "hotplug": hotplug_report(run_text or ""),
        "graph": rep.get("graph"),
        "steps": traced_bind_steps(run_text or ""),
    }


GRAPH_LINE = re.compile(r"^pmem graph: (.*)$", re.M)
# The script's word on the traced bind: 'on (the functions traced)' or
# 'unavailable (why)'. Kernels without the tracer say one of these.
GRAPH_ON = "on"
NO_TRACER = ("unavailable (no tracefs)",
             "unavailable (no function_graph tracer)")


def traced_bind_steps(run_text):
    """Where the traced bind's time went, by function (logparse's
    graph_steps()), from the guest script's 'pmem graph:' lines: empty
    for kernels without the function-graph tracer."""
    return graph_steps("\n".join(GRAPH_LINE.findall(run_text)))


def graph_problems(pm):
    """A kernel with the function-graph tracer traced the extra bind and
    its trace has steps; one without it said so."""
    said = pm.get("graph")
    if said is None:
        return ["the pmem script did not say whether it traced a bind"]
    if said.startswith(GRAPH_ON):
        return [] if pm.get("steps") else [
            "the traced bind's function-graph trace has no step"]
    if said in NO_TRACER:
        return []
    return ["no traced bind: graph %s" % said]


def problems(pm):
    """What is wrong with one pmem run on its own (empty: nothing): the
    script failed or stopped, a bind or unbind was not timed, a bind was
    not checked, MemFree did not come back within 1% after the last
    unbind, or a kernel with the function-graph tracer did not trace its
    extra bind (graph_problems())."""
    if not pm:
        return []
    if pm["error"]:
        return ["pmem: " + pm["error"]]
    found = []
    if not pm["done"]:
        found.append("pmem: the guest script stopped before its end")
    for what in ("binds_ms", "unbinds_ms"):
        missing = [n + 1 for n, ms in enumerate(pm[what]) if ms is None]
        if missing:
            found.append("pmem: %s %s not timed (markers missing in dmesg)"
                         % (what[:-4], missing))
    if pm["checks"] != pm["loops"]:
        found.append("pmem: %d of %d binds checked" % (pm["checks"],
                                                       pm["loops"]))
    if not pm["pages"]:
        found.append("pmem: no page count (sysfs resource and size)")
    before, after = pm["memfree_before_kb"], pm["memfree_after_kb"]
    if before is None or after is None:
        found.append("pmem: MemFree before or after missing")
    elif abs(before - after) > 0.01 * before:
        found.append("pmem: MemFree %d kB after the last unbind, %d kB "
                     "before the first bind (more than 1%%)"
                     % (after, before))
    if pm["done"]:
        found += ["pmem: " + p for p in graph_problems(pm)]
    return found


# The series reports ranges of device memory of at least 1 GiB at
# KERN_INFO; smaller ones only with pr_debug(), which the guest's kernels
# leave off.
REPORTED_MIN_PAGES = (1 << 30) // PAGE


def message_problems(pm):
    """A kernel with the series: every bind of a namespace of at least
    1 GiB printed the device memmap line, its pages add up to the harness's
    count, and no more threads ran than the limit allows."""
    found, missing = [], []
    reported = (pm["pages"] or 0) >= REPORTED_MIN_PAGES
    for n, lines in enumerate(pm["kernel_lines"], 1):
        if not lines:
            if reported:
                missing.append(n)
            continue
        pages = sum(l["pages"] for l in lines)
        found += ["pmem bind %d: %d threads ran, the limit is %d"
                  % (n, l["threads"], l["limit"]) for l in lines
                  if not 1 <= l["threads"] <= l["limit"]]
        if pages != pm["pages"]:
            found.append("pmem bind %d: the kernel initialised %d pages, "
                         "the harness counts %s" % (n, pages, pm["pages"]))
    if missing:
        found.insert(0, "pmem: no 'device memmap initialised' line for "
                        "bind(s) %s of %d" % (",".join(map(str, missing)),
                                              len(pm["kernel_lines"])))
    return found


def summary(pm):
    """One line for 'mtinit boot' without --json."""
    return ("pmem %s %s at %s: bind %s ms (%d bind(s): %s), %s pages, %d "
            "thread(s), MemFree %s -> %s kB%s" % (
                pm["size"], pm["mode"], pm["offset"], pm["bind_ms"],
                pm["loops"], ", ".join(str(ms) for ms in pm["binds_ms"]),
                pm["pages"], pm["threads"], pm["memfree_before_kb"],
                pm["memfree_after_kb"],
                ", error: " + pm["error"] if pm["error"] else ""))


# make bench: stock and patched alternately. Targets are the patched
# median's ratio to stock's. The MTTCG guest is prefaulted (backing
# prealloc, harness/backing.py) and so must fit the host with room to
# spare: a 12 GiB guest with an 8 GiB namespace. icount counts
# instructions, which sparse RAM does not change: a 16 GiB namespace.
BENCH_CONFIGS = [
    {"title": "8 GiB pmem namespace (fsdax, struct pages in RAM) in a "
              "12 GiB guest, 2 vCPUs, MTTCG",
     "mem": "12G", "pmem": "8G", "smp": 2, "mode": "mttcg",
     "backing": "prealloc",
     "variants": [("stock", None), ("patched", None)], "target": 0.3},
    # The same on a guest CPU without ERMS (see the icount tables below):
    # what is left of the bind when the new memmap's clearing runs as
    # 'rep stosq', nearer to what it costs a real CPU.
    {"title": "8 GiB pmem namespace (fsdax, struct pages in RAM) in a "
              "12 GiB guest, 2 vCPUs, MTTCG",
     "mem": "12G", "pmem": "8G", "smp": 2, "mode": "mttcg",
     "backing": "prealloc", "cpu": "max,erms=off,fsrm=off",
     "variants": [("stock", None), ("patched", None)], "target": 0.3},
    # icount is deterministic: one boot each is exact. One vCPU: the
    # per-page work alone.
    {"title": "16 GiB pmem namespace (fsdax, struct pages in RAM) in a "
              "24 GiB guest, 1 vCPU, icount (1 ns = 1 instruction)",
     "mem": "24G", "pmem": "16G", "smp": 1, "mode": "icount", "boots": 1,
     "backing": "sparse",
     "variants": [("stock", None), ("patched", None)], "target": 0.5},
    # The same on a guest CPU without ERMS: with it the kernel clears the
    # new memmap's pages (init_on_alloc) with 'rep stosb', which icount
    # counts per byte (64 instructions per struct page), a cost a real
    # CPU with ERMS does not have; without it, 'rep stosq' (8).
    {"title": "16 GiB pmem namespace (fsdax, struct pages in RAM) in a "
              "24 GiB guest, 1 vCPU, icount (1 ns = 1 instruction)",
     "mem": "24G", "pmem": "16G", "smp": 1, "mode": "icount", "boots": 1,
     "backing": "sparse", "cpu": "max,erms=off,fsrm=off",
     "variants": [("stock", None), ("patched", None)], "target": 0.5},
]
BENCH_QUICK = [
    {"title": "2 GiB pmem namespace (fsdax, struct pages in RAM) in a "
              "6 GiB guest, 2 vCPUs, MTTCG",
     "mem": "6G", "pmem": "2G", "smp": 2, "mode": "mttcg",
     "backing": "prealloc",
     "variants": [("stock", None), ("patched", None)], "target": 0.3},
]


def bench_rows(config, results):
    """Rows for report.pmem_table(): one per variant, in order."""
    rows = []
    for variant in config["variants"]:
        runs = [r.get("pmem") or {} for r in results[variant]]
        kernel_ms = [sum(l["ms"] for l in r["kernel_lines"][0])
                     for r in runs
                     if r.get("kernel_lines") and r["kernel_lines"][0]]
        rows.append({
            "label": variant[0],
            "threads": next((r["threads"] for r in runs if r.get("pages")),
                            None),
            "pages": next((r["pages"] for r in runs if r.get("pages")),
                          None),
            "bind_ms": [r.get("bind_ms") for r in runs],
            "kernel_ms": kernel_ms,
            "steps": [r.get("steps") or [] for r in runs],
        })
    return rows


# make test: small guests (fast), ten binds, on every kernel; stock is the
# comparison (it must pass the same checks, without the series' line).
MATRIX_CASES = [
    {"name": "pmem fsdax, 10 binds", "mem": "6G", "pmem": "2G", "smp": 2,
     "mode": "fsdax", "loops": 10},
    {"name": "pmem devdax, 3 binds", "mem": "6G", "pmem": "2G", "smp": 2,
     "mode": "devdax", "loops": 3},
]
MATRIX_KERNELS = ("stock", "patched", "debug")
# The debug kernel binds while CPUs go offline and back online, as its
# selftests do (harness/hotplug.py, guest/scripts/hotplug.sh): padata's
# helpers must cope with CPUs leaving.
HOTPLUG_LINE = re.compile(r"cpu-hotplug: CPUs \S+, (\d+) offline/online "
                          r"cycles, (\d+) failed")


def hotplug_report(run_text):
    """{'cycles', 'failed'} of the bind loop's CPU hotplug, or None."""
    m = HOTPLUG_LINE.search(run_text)
    if not m:
        return None
    return {"cycles": int(m.group(1)), "failed": int(m.group(2))}


def hotplug_problems(result):
    """A hotplug boot must report at least one cycle and no failure."""
    hp = result["pmem"].get("hotplug")
    if not hp:
        return ["no cpu-hotplug report from the bind loop"]
    if hp["cycles"] < 1 or hp["failed"]:
        return ["CPU hotplug during the binds: %d cycles, %d failed"
                % (hp["cycles"], hp["failed"])]
    return []


def matrix_case(matrix, case):
    """Boot one pmem case on every kernel with a harness.matrix.Matrix.

    Each boot: boot.problems() (which includes problems() above: the
    binds, checks, markers and MemFree within 1%); with the series, the
    device memmap line for every bind with the harness's page count;
    across kernels, stock and patched agree on the memory (pmem carved
    out of both) and on the page count.
    """
    name = case["name"]
    spec = with_pmem(guest_spec(mem=case["mem"], smp=case["smp"]),
                     case["pmem"], case["mode"], case["loops"])
    results = {}
    for kernel in MATRIX_KERNELS:
        hotplug = kernel in HOTPLUG_KERNELS
        kspec = (dict(spec, smp=HOTPLUG_GUEST["smp"]) if hotplug
                 else spec)
        result = matrix.boot(name, kernel, kspec, append="mtinit.hotplug=" +
                             HOTPLUG_CPUS if hotplug else "",
                             workloads=workloads(kspec))
        results[kernel] = result
        if not result:
            continue
        where = "%s [%s]" % (name, kernel)
        if hotplug:
            matrix.fail(where + " [CPU hotplug]", hotplug_problems(result))
        if kernel == "stock":
            lines = [l for b in result["pmem"]["kernel_lines"] for l in b]
            matrix.fail(where, ["the stock kernel printed %d device memmap "
                                "line(s)" % len(lines)] if lines else [])
        else:
            matrix.fail(where, message_problems(result["pmem"]))
    stock = results.get("stock")
    for kernel in MATRIX_KERNELS[1:]:
        other = results.get(kernel)
        if not stock or not other:
            continue
        where = "%s [stock vs %s]" % (name, kernel)
        problems = (compare.against_stock(stock, other)
                    if kernel == "patched"
                    else compare.present_equal(stock, other))
        if stock["pmem"]["pages"] != other["pmem"]["pages"]:
            problems.append("pmem pages %s vs %s" % (
                stock["pmem"]["pages"], other["pmem"]["pages"]))
        matrix.fail(where, problems)
    return results
