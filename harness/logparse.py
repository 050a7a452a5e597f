"""Parse what a guest printed: framed reports, dmesg, zoneinfo, meminfo."""

import re

from .util import ranges

BEGIN = re.compile(r"@@MTINIT-BEGIN (\S+)@@")
END = re.compile(r"@@MTINIT-END rc=(\d+)@@")
DONE = "@@MTINIT-DONE@@"
# The first line of every kernel log, gone when the log buffer wrapped.
BANNER = "] Linux version "
TIMESTAMP = re.compile(r"^\[\s*(\d+\.\d+)\]\s?(.*)$")

# Stock 6.12: "node 0 deferred pages initialised in 104ms"
STOCK_DEFERRED = re.compile(
    r"node (\d+) deferred pages initialised in (\d+)ms")
# The series: "node 0 initialised, 4161536 pages in 123.456 ms with 2 threads
# (limit 2), 4157440 from templates". The count is of the threads that ran
# the node's jobs, the limit what they were allowed; before the patch that
# reports the threads that ran, the line has only the limit, as the count.
# The last part, pages of the blocks written once from a template, is absent
# before the write-once patch.
SERIES_DEFERRED = re.compile(
    r"node (\d+) initialised, (\d+) pages in (\d+\.\d+) ms with (\d+) "
    r"threads?(?: \(limit (\d+)\))?(?:, (\d+) from templates)?")
# The series, for a node with memory and no CPUs, just before its line
# above: "node 2 has no CPUs, initialised from node 0 with threads on nodes
# 0-1": the node whose CPUs its pgdatinit thread ran on, and (the kernel's
# %*pbl list) every node whose CPUs ran at least one chunk of its jobs.
CPU_LESS = re.compile(
    r"node (\d+) has no CPUs, initialised from node (\d+) with threads on "
    r"nodes ((?:\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*)?)\s*$")
# The series' tracepoints, one pair per padata multithreaded job, in dmesg
# with 'trace_event=padata:* tp_printk'. fn is the job's thread function
# (%ps: a symbol name, "name [module]" for a module's, an address without
# KALLSYMS); max_threads and threads are ints.
PADATA_START = re.compile(
    r"padata_mt_start: fn=(\S+(?: \[\S+\])?) start=(\d+) size=(\d+) "
    r"chunk=(\d+) max_threads=(-?\d+) threads=(\d+)")
PADATA_END = re.compile(
    r"padata_mt_end: fn=(\S+(?: \[\S+\])?) start=(\d+) size=(\d+) "
    r"threads=(-?\d+) ns=(\d+)")
# KUnit's KTAP in the kernel log, from the suites built in (the debug
# kernel's, run at boot): a suite opens with "    # Subtest: NAME" and its
# cases follow at the same indent as "ok N name", "not ok N name" or
# "ok N name # SKIP reason". A parameterised case's own results are one
# level deeper, and the suite's own result is at the left margin: neither
# is a case here.
KUNIT_SUITE = re.compile(r"^ {4}# Subtest: (\S+)\s*$")
KUNIT_CASE = re.compile(
    r"^ {4}(ok|not ok) \d+ (\S+)(?:\s+#\s*SKIP\b\s*(.*?))?\s*$")
INIT_STARTED = re.compile(r"Run \S+ as init process")
MEMORY_LINE = re.compile(
    r"Memory: (\d+)K/(\d+)K available \((\d+)K kernel code, (\d+)K rwdata, "
    r"(\d+)K rodata, (\d+)K init, (\d+)K bss, (\d+)K reserved, "
    r"(\d+)K cma-reserved")
FREEING = re.compile(r"Freeing (.*) memory: (\d+)K")
PANIC = re.compile(r"Kernel panic - not syncing.*")
SPLAT = re.compile(
    r"(\bWARNING:|\bBUG:|kernel BUG at|\bOops\b|general protection fault|"
    r"\bINFO: |\bKASAN:|\bUBSAN:|\bODEBUG:|Kernel panic|"
    r"DEBUG_LOCKS_WARN_ON|unreferenced object|Bad page)")


def sections(serial):
    """Split the serial log into {name: text} of the framed reports."""
    found = {}
    name, lines = None, []
    for raw in serial.splitlines():
        line = raw.rstrip("\r")
        m = BEGIN.search(line)
        if m:
            name, lines = m.group(1), []
            continue
        if name and END.search(line):
            found[name] = "\n".join(lines) + "\n"
            name = None
            continue
        if name:
            lines.append(line)
    return found


def strip_timestamp(line):
    m = TIMESTAMP.match(line)
    return (float(m.group(1)), m.group(2)) if m else (None, line)


def _texts(dmesg):
    """The text of each line, without its timestamp."""
    return (strip_timestamp(line)[1] for line in dmesg.splitlines())


def deferred(dmesg):
    """Deferred-init lines as [{node, pages, ms, threads, limit,
    from_templates, from_node, ran_on}], by node; what a kernel does not
    print is None (from_node and ran_on: cpu_less_nodes(), for a node
    without CPUs)."""
    nodes = []
    for text in _texts(dmesg):
        m = SERIES_DEFERRED.search(text)
        if m:
            nodes.append({"node": int(m.group(1)), "pages": int(m.group(2)),
                          "ms": float(m.group(3)),
                          "threads": int(m.group(4)),
                          "limit": int(m.group(5) or m.group(4)),
                          "from_templates": _int_or_none(m.group(6))})
            continue
        m = STOCK_DEFERRED.search(text)
        if m:
            nodes.append({"node": int(m.group(1)), "pages": None,
                          "ms": float(m.group(2)), "threads": None,
                          "limit": None, "from_templates": None})
    borrowed = {n["node"]: n for n in cpu_less_nodes(dmesg)}
    for line in nodes:
        found = borrowed.get(line["node"], {})
        line["from_node"] = found.get("from_node")
        line["ran_on"] = found.get("ran_on")
    return sorted(nodes, key=lambda n: n["node"])


def cpu_less_nodes(dmesg):
    """The series' lines about nodes without CPUs, by node:
    [{node, from_node, ran_on: [nodes]}]."""
    found = []
    for text in _texts(dmesg):
        m = CPU_LESS.search(text)
        if m:
            found.append({"node": int(m.group(1)),
                          "from_node": int(m.group(2)),
                          "ran_on": node_list(m.group(3))})
    return sorted(found, key=lambda n: n["node"])


def node_list(text):
    """The kernel's %*pbl list as numbers: '0-1,3' -> [0, 1, 3]; '' -> []."""
    nodes = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        nodes.extend(range(int(first), int(last or first) + 1))
    return nodes


def node_list_text(nodes):
    """node_list()'s inverse: [0, 1, 3] -> '0-1,3'."""
    return ",".join("%d" % first if first == last else "%d-%d" % (first, last)
                    for first, last in ranges(nodes))


def cpu_less_text(line):
    """'from node 0, threads on nodes 0-1': what the series said about a
    node without CPUs (a dict with from_node and ran_on)."""
    return "from node %d, threads on nodes %s" % (
        line["from_node"], node_list_text(line["ran_on"]))


def padata_jobs(dmesg):
    """The padata_mt_start/padata_mt_end trace events as jobs, in the
    order they started (an end without a start: where it ended): [{fn,
    start, size, chunk, max_threads, threads, ns}]. Jobs on different nodes
    run at once, so their lines interleave: an end closes the earliest open
    start of the same fn, start and size. What the missing event of an
    unpaired one would say is None (unpaired_padata() lists them)."""
    jobs, open_jobs = [], {}
    for text in _texts(dmesg):
        m = PADATA_START.search(text)
        if m:
            job = _padata_job(m)
            job.update(chunk=int(m.group(4)), max_threads=int(m.group(5)),
                       given=int(m.group(6)))
            jobs.append(job)
            open_jobs.setdefault(_job_key(job), []).append(job)
            continue
        m = PADATA_END.search(text)
        if m:
            waiting = open_jobs.get(_job_key(_padata_job(m)))
            if waiting:
                job = waiting.pop(0)
            else:
                job = _padata_job(m)
                jobs.append(job)
            job.update(threads=int(m.group(4)), ns=int(m.group(5)))
    return jobs


def _padata_job(m):
    """A job from a start or end event's fn, start and size."""
    return {"fn": m.group(1), "start": int(m.group(2)),
            "size": int(m.group(3)), "chunk": None, "max_threads": None,
            "given": None, "threads": None, "ns": None}


def _job_key(job):
    return job["fn"], job["start"], job["size"]


def unpaired_padata(jobs):
    """One description per event of padata_jobs() without its pair."""
    found = []
    for job in jobs:
        where = "fn=%s start=%d size=%d" % (job["fn"], job["start"],
                                            job["size"])
        if job["ns"] is None:
            found.append("padata_mt_start without an end: " + where)
        elif job["max_threads"] is None:
            found.append("padata_mt_end without a start: " + where)
    return found


def _int_or_none(text):
    return None if text is None else int(text)


def kunit(text):
    """Each KUnit case the log reports, in order, as {"suite", "case",
    "status" ("ok", "fail" or "skip"), "reason" (a skip's, else "")}."""
    cases, suite = [], None
    for body in _texts(text):
        m = KUNIT_SUITE.match(body)
        if m:
            suite = m.group(1)
            continue
        m = KUNIT_CASE.match(body)
        if m and suite:
            status = ("fail" if m.group(1) == "not ok" else
                      "skip" if m.group(3) is not None else "ok")
            cases.append({"suite": suite, "case": m.group(2),
                          "status": status, "reason": m.group(3) or ""})
    return cases


def kunit_failures(cases):
    """'suite.case' of each failed KUnit case."""
    return ["%s.%s" % (c["suite"], c["case"]) for c in cases
            if c["status"] == "fail"]


def boot_ms(dmesg):
    """Milliseconds from kernel start to the start of init, or None."""
    for line in dmesg.splitlines():
        stamp, text = strip_timestamp(line)
        if stamp is not None and INIT_STARTED.search(text):
            return round(stamp * 1000.0, 3)
    return None


def memory_line(dmesg):
    """The 'Memory:' line as a dict of KiB figures, or None."""
    m = MEMORY_LINE.search(dmesg)
    if not m:
        return None
    keys = ("available", "physical", "code", "rwdata", "rodata", "init",
            "bss", "reserved", "cma")
    return dict(zip(keys, (int(v) for v in m.groups())))


def freed_kb(dmesg):
    """KiB that 'Freeing ... memory' lines returned to the allocator after
    the 'Memory:' line (None without that line)."""
    m = MEMORY_LINE.search(dmesg)
    if not m:
        return None
    return sum(int(f.group(2)) for f in FREEING.finditer(dmesg, m.end()))


def splats(text):
    """Lines that report a kernel problem (warnings, bugs, lockdep...)."""
    found = []
    for line in text.splitlines():
        _, body = strip_timestamp(line.rstrip("\r"))
        if SPLAT.search(body) and "@@MTINIT" not in body:
            found.append(body.strip())
    return found


def panic(text):
    m = PANIC.search(text)
    return m.group(0).strip() if m else None


def zoneinfo(text):
    """{'<node>/<zone>': {'present': N, 'managed': N, 'spanned': N}}."""
    zones = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"Node (\d+), zone\s+(\S+)", line)
        if m:
            current = zones.setdefault("%s/%s" % m.groups(), {})
            continue
        m = re.match(r"\s+(present|managed|spanned)\s+(\d+)$", line)
        if m and current is not None:
            current[m.group(1)] = int(m.group(2))
    return {k: v for k, v in zones.items() if "present" in v}


def meminfo(text):
    """{'MemTotal': kB, ...} from /proc/meminfo."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"(\w+(?:\(\w+\))?):\s+(\d+)", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


# The function-graph tracer's lines (funcgraph-tail on): the entry of a
# call with children '  1)               |    name() {', a leaf
# '  1) + 12.345 us   |      name();' and the end of a call with children
# '  1) ! 130.000 us  |    } /* name */'; the column after '|' is indented
# two spaces per level of nesting. A compiler's clone of a function
# ('name.isra.0') counts as the function.
GRAPH_TIMED = re.compile(r"(\d+(?:\.\d+)?) us\s*\|( *)(?:([\w.]+)\(\);|"
                         r"\} /\* ([\w.]+) \*/)")
GRAPH_ENTRY = re.compile(r"\|( *)([\w.]+)\(\) \{")


def graph_steps(text):
    """Total time per function of a function-graph trace, in the order
    the functions were first entered: [{fn, depth, ms, calls}], depth 0
    for the outermost traced calls (a function's time includes the
    traced functions under it)."""
    steps = {}

    def step(name, indent):
        depth = max(len(indent) - 2, 0) // 2
        name = name.split(".")[0]
        return steps.setdefault(name, {"fn": name, "depth": depth,
                                       "ms": 0.0, "calls": 0})

    for line in text.splitlines():
        entry = GRAPH_ENTRY.search(line)
        if entry:
            step(entry.group(2), entry.group(1))
            continue
        timed = GRAPH_TIMED.search(line)
        if timed:
            found = step(timed.group(3) or timed.group(4), timed.group(2))
            found["ms"] = round(found["ms"] + float(timed.group(1)) / 1000.0,
                                3)
            found["calls"] += 1
    return list(steps.values())
