"""Parse what a guest printed: framed reports, dmesg, zoneinfo, meminfo."""

import re

BEGIN = re.compile(r"@@MTINIT-BEGIN (\S+)@@")
END = re.compile(r"@@MTINIT-END rc=(\d+)@@")
DONE = "@@MTINIT-DONE@@"
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


def deferred(dmesg):
    """Deferred-init lines as [{node, pages, ms, threads, limit,
    from_templates}], by node; what a kernel does not print is None."""
    nodes = []
    for line in dmesg.splitlines():
        _, text = strip_timestamp(line)
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
    return sorted(nodes, key=lambda n: n["node"])


def _int_or_none(text):
    return None if text is None else int(text)


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
