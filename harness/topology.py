"""Guest shape: --mem, --smp and --numa SPEC, validated up front."""

import re

from .util import MtinitError

MAX_SMP = 64            # the guests this harness boots (NR_CPUS is 8192)
MAX_NODES = 64          # the guests this harness boots (NODES_SHIFT 10)
# A node with memory has at least one MAX_ORDER block (4 MiB): the unit
# deferred init hands to the buddy allocator. Less is not a machine shape.
MIN_NODE_MB = 4
MIN_MEM_MB = 256
MAX_MEM_MB = 1024 * 1024
UNITS = {"M": 1, "G": 1024, "T": 1024 * 1024}


def parse_size(text):
    """'16G', '512M', '1T' -> MiB. Whole MiB only."""
    m = re.fullmatch(r"\s*(\d+)([MGT])\s*", text or "", re.I)
    if not m:
        raise MtinitError("bad size '%s': use a whole number with M, G or T "
                          "(e.g. 512M, 16G)" % text)
    return int(m.group(1)) * UNITS[m.group(2).upper()]


def format_size(mb):
    for unit in ("T", "G"):
        if mb and mb % UNITS[unit] == 0:
            return "%d%s" % (mb // UNITS[unit], unit)
    return "%dM" % mb


def parse_cpus(text):
    """'0-1+4' -> [0, 1, 4]."""
    cpus = []
    for part in text.split("+"):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise MtinitError("bad CPU list '%s': use N, N-M or N-M+K" % text)
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else first
        if last < first:
            raise MtinitError("bad CPU range '%s'" % part)
        cpus.extend(range(first, last + 1))
    return cpus


def parse_numa(spec):
    """'2G@0-1,32G' -> [{'mem_mb': 2048, 'cpus': [0, 1]}, {...}]."""
    nodes = []
    items = spec.split(",")
    if len(items) > MAX_NODES:
        raise MtinitError("--numa '%s...' has %d nodes; the guest kernel "
                          "supports at most %d (CONFIG_NODES_SHIFT)"
                          % (spec[:20], len(items), MAX_NODES))
    for index, item in enumerate(items):
        size, sep, cpus = item.strip().partition("@")
        if size.strip() == "0":
            mem_mb = 0
        else:
            mem_mb = parse_size(size)
        node = {"mem_mb": mem_mb, "cpus": parse_cpus(cpus) if sep else []}
        if mem_mb == 0 and not node["cpus"]:
            raise MtinitError("node %d of --numa '%s' has neither memory nor "
                              "CPUs" % (index, spec))
        if 0 < mem_mb < MIN_NODE_MB:
            raise MtinitError("node %d of --numa '%s' has %s of memory: a "
                              "node with memory needs at least %s (use 0 "
                              "for a node without memory)"
                              % (index, spec, format_size(mem_mb),
                                 format_size(MIN_NODE_MB)))
        nodes.append(node)
    return nodes


def _check_cpus(nodes, smp):
    seen = {}
    for nid, node in enumerate(nodes):
        for cpu in node["cpus"]:
            if cpu >= smp:
                raise MtinitError("node %d names CPU %d but the guest has "
                                  "only %d (CPUs 0-%d)"
                                  % (nid, cpu, smp, smp - 1))
            if cpu in seen:
                raise MtinitError("CPU %d is in nodes %d and %d"
                                  % (cpu, seen[cpu], nid))
            seen[cpu] = nid
    missing = [c for c in range(smp) if c not in seen]
    if missing:
        raise MtinitError("CPUs %s are in no node: every CPU of --smp %d "
                          "must be listed in --numa"
                          % (",".join(map(str, missing)), smp))


def guest_spec(mem=None, smp=None, numa=None):
    """Validate the guest's shape; return a dict used by qemu and JSON."""
    if smp is not None and not 1 <= smp <= MAX_SMP:
        raise MtinitError("--smp %d is out of range 1-%d" % (smp, MAX_SMP))
    nodes = parse_numa(numa) if numa else None
    if nodes:
        listed = [c for n in nodes for c in n["cpus"]]
        if smp is None:
            smp = max(listed) + 1 if listed else 2
        if not listed:
            nodes[0]["cpus"] = list(range(smp))
        _check_cpus(nodes, smp)
        total = sum(n["mem_mb"] for n in nodes)
        if mem is not None and parse_size(mem) != total:
            raise MtinitError("--mem %s disagrees with --numa '%s' (%s in "
                              "all)" % (mem, numa, format_size(total)))
        mem_mb = total
    else:
        smp = smp or 2
        mem_mb = parse_size(mem) if mem else 4096
    if not MIN_MEM_MB <= mem_mb <= MAX_MEM_MB:
        raise MtinitError("guest memory %s is out of range %s-%s"
                          % (format_size(mem_mb), format_size(MIN_MEM_MB),
                             format_size(MAX_MEM_MB)))
    if nodes and nodes[0]["mem_mb"] < MIN_MEM_MB:
        raise MtinitError("node 0 needs at least %s: the kernel boots from it"
                          % format_size(MIN_MEM_MB))
    return {"mem_mb": mem_mb, "mem": format_size(mem_mb), "smp": smp,
            "numa": numa, "nodes": nodes}
