"""make bench: stock vs patched, alternating boots, medians and ratios."""

import collections
import json
import os

from . import (backing, base, boot, build, deps, pmem, qemu, report,
               topology)
from .util import KTREE, OUT, MtinitError, ensure_dir, info

# Each configuration boots its variants alternately (A B C A B C ...), one
# boot at a time: only one guest (and so one prealloc guest) exists at
# once. A variant is (kernel, threads): threads None is the kernel's
# default. "backing" is the guest RAM (harness/backing.py): every MTTCG
# (wall-clock) configuration is prefaulted, since a first-touch host fault
# per page is a cost of TCG that no real machine pays; icount counts
# instructions, which sparse RAM does not change, so its guests may be
# larger than the host.
CONFIGS = [
    {"title": "16 GiB guest, 2 vCPUs, 1 node, MTTCG", "mem": "16G",
     "smp": 2, "mode": "mttcg", "backing": "prealloc",
     "variants": [("stock", None), ("patched", 1), ("patched", None)]},
    {"title": "18 GiB guest, 2 vCPUs, node 0: 2 GiB + both CPUs, "
              "node 1: 16 GiB, no CPUs, MTTCG",
     "numa": "2G@0-1,16G", "smp": 2, "mode": "mttcg", "backing": "prealloc",
     "variants": [("stock", None), ("patched", 1), ("patched", None)]},
    # Two CPU-less nodes, equally near to two nodes of one CPU each: the
    # series initialises them from different nodes and spreads each one's
    # threads over both; the table says where they ran (cpu_less_runs()).
    {"title": "14 GiB guest, 2 vCPUs, nodes 0 and 1: 1 GiB + 1 CPU each, "
              "nodes 2 and 3: 6 GiB, no CPUs, MTTCG",
     "numa": "1G@0,1G@1,6G,6G", "smp": 2, "mode": "mttcg",
     "backing": "prealloc",
     # Each node with CPUs has one: the default limit is 1 thread, so a
     # threads=1 row would boot the same configuration again.
     "variants": [("stock", None), ("patched", None)]},
    # icount is deterministic: one boot each is exact.
    {"title": "16 GiB guest, 1 vCPU, icount (1 ns = 1 instruction)",
     "mem": "16G", "smp": 1, "mode": "icount", "boots": 1,
     "backing": "sparse",
     "variants": [("stock", None), ("patched", None)]},
    {"title": "64 GiB guest, 1 vCPU, icount (1 ns = 1 instruction)",
     "mem": "64G", "smp": 1, "mode": "icount", "boots": 1,
     "backing": "sparse",
     "variants": [("stock", None), ("patched", None)]},
    # Every kernel is built with Debian's values (config/guest.config),
    # so the rows above have init_on_alloc on, as Debian boots. Without
    # it (init_on_alloc=0) the free path skips its per-page checks: the
    # figures of the series' earlier versions, from a tinyconfig-like free
    # path, side by side.
    {"title": "16 GiB guest, 1 vCPU, icount (1 ns = 1 instruction), "
              "init_on_alloc=0 (not Debian's default)",
     "mem": "16G", "smp": 1, "mode": "icount", "boots": 1,
     "backing": "sparse", "append": "init_on_alloc=0",
     "variants": [("stock", None), ("patched", None)]},
    {"title": "64 GiB guest, 1 vCPU, icount (1 ns = 1 instruction), "
              "init_on_alloc=0 (not Debian's default)",
     "mem": "64G", "smp": 1, "mode": "icount", "boots": 1,
     "backing": "sparse", "append": "init_on_alloc=0",
     "variants": [("stock", None), ("patched", None)]},
]
# The same work on the kernels as Debian configures them (build variants
# stock-distro and distro: Debian's cloud-amd64 configuration itself,
# init_on_alloc on), beside the tables above ('bench --distro', 'make
# bench').
DISTRO_KERNELS = {"stock": "stock-distro", "patched": "distro"}


def on_distro_kernels(config, **extra):
    """A configuration of the tables above, booting the distro kernels."""
    return dict(config, variants=[(DISTRO_KERNELS[kernel], threads)
                                  for kernel, threads in config["variants"]],
                **extra)


# 16 and 64 GiB icount (the 16 GiB one with issue 10's target), 16 GiB
# MTTCG with 1 and 2 threads, and the pmem tables.
DISTRO_CONFIGS = ([on_distro_kernels(CONFIGS[3], target=0.35),
                   on_distro_kernels(CONFIGS[4]),
                   on_distro_kernels(CONFIGS[0])] +
                  [on_distro_kernels(c) for c in pmem.BENCH_CONFIGS])
DEFAULT_BOOTS = 5
QUICK = {"configs": [0, 3], "distro_configs": [0], "boots": 2}
# How a table's title names the kernels' configuration, by its reference.
KERNEL_CONFIG_TITLES = {
    "stock": "Guest config (tinyconfig + Debian's values, "
             "config/guest.config)",
    "stock-distro": "Debian's cloud-amd64 config (linux-config-6.12)",
}
# How a table's title names the guest RAM its boots had.
BACKING_TITLES = {"prealloc": "prefaulted RAM (prealloc)",
                  "sparse": "sparse RAM"}


def slowest_node_threads(spec, runs):
    """Threads that worked on the slowest node: as the series reports
    them, or for stock (which does not) the node's own CPUs, at least 1."""
    for result in runs:
        if result["deferred"]:
            slowest = max(result["deferred"], key=lambda d: d["ms"])
            if slowest["threads"] is not None:
                return slowest["threads"]
            if spec["nodes"]:
                return max(len(spec["nodes"][slowest["node"]]["cpus"]), 1)
            return spec["smp"]
    return None


def config_spec(config):
    spec = topology.guest_spec(mem=config.get("mem"), smp=config["smp"],
                               numa=config.get("numa"))
    return pmem.with_pmem(spec, config.get("pmem"))


def run_config(config, boots, progress):
    spec = config_spec(config)
    results = {variant: [] for variant in config["variants"]}
    for round_no in range(config.get("boots", boots)):
        for variant in config["variants"]:
            kernel, threads = variant
            progress(kernel, threads, config, round_no)
            result = boot.boot(kernel, spec, mode=config["mode"],
                               threads=threads, timeout=600,
                               append=config.get("append", ""),
                               backing=config["backing"],
                               workloads=pmem.workloads(spec),
                               cpu=config.get("cpu", qemu.DEFAULT_CPU))
            results[variant].append(result)
            info("  -> %s" % _one_line(result))
    return results


def _one_line(result):
    bad = boot.problems(result)
    if bad:
        return "FAILED: " + "; ".join(bad)
    return "boot %.1f ms, deferred %.1f ms (%s)%s" % (
        result["boot_ms"] or 0, result["deferred_ms"] or 0,
        ", ".join("node %d %s thr" % (d["node"], d["threads"])
                  for d in result["deferred"]),
        ", pmem bind %s ms" % result["pmem"]["bind_ms"]
        if result.get("pmem") else "")


def rows_of(config, spec, results):
    """Table rows; node% is the share of the guest's CPUs that worked on
    the slowest node."""
    rows = []
    for variant in config["variants"]:
        runs = results[variant]
        used = slowest_node_threads(spec, runs)
        pct = round(100.0 * used / spec["smp"]) if used else None
        rows.append({
            "label": variant[0], "threads": used, "node_pct": pct,
            "boot_ms": [r["boot_ms"] for r in runs],
            "deferred_ms": [r["deferred_ms"] for r in runs],
            "cpu_less": cpu_less_runs(runs),
        })
    return rows


def cpu_less_runs(runs):
    """Where the series says the nodes without CPUs of a variant's boots
    were initialised from and their threads ran: [{node, from_node,
    ran_on, boots}], by node, the commonest first (empty for stock, which
    does not say)."""
    seen = collections.Counter(
        (line["node"], line["from_node"], tuple(line["ran_on"]))
        for result in runs for line in result["deferred"]
        if line.get("from_node") is not None)
    ordered = sorted(seen.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0]))
    return [{"node": node, "from_node": source, "ran_on": list(ran_on),
             "boots": boots}
            for (node, source, ran_on), boots in ordered]


def per_page_line(results):
    """Guest instructions per deferred page (icount: 1 ns = 1 insn).

    The stock kernel does not print its page count; the patched boot of the
    same guest initialises the same pages, so its count is used for both.
    """
    pages = [d["pages"] for runs in results.values() for r in runs
             for d in r["deferred"] if d["pages"]]
    if not pages:
        return ""
    parts = []
    for (kernel, threads), runs in results.items():
        ms = report.stats([r["deferred_ms"] for r in runs])[0]
        if ms is not None:
            parts.append("%s %.1f" % (kernel, ms * 1e6 / max(pages)))
    return ("instructions per deferred page (%d pages): %s\n"
            % (max(pages), ", ".join(parts)))


def select_configs(quick=False, only=None, distro=False):
    """The bench's configurations: all, the quick ones, or only the
    deferred-init ('deferred'), ZONE_DEVICE ('pmem') or distro-kernel
    ('distro') ones; distro adds the distro-kernel ones to the others."""
    configs = ([CONFIGS[i] for i in QUICK["configs"]] if quick
               else list(CONFIGS))
    pmem_configs = pmem.BENCH_QUICK if quick else pmem.BENCH_CONFIGS
    distro_configs = ([DISTRO_CONFIGS[i] for i in QUICK["distro_configs"]]
                      if quick else list(DISTRO_CONFIGS))
    chosen = {"deferred": configs, "pmem": list(pmem_configs),
              "distro": distro_configs, None: configs + pmem_configs}
    if only not in chosen:
        raise MtinitError("--only '%s': use deferred, pmem or distro" % only)
    if distro and only != "distro":
        # The distro kernels' tables of the same kind.
        kind = {"deferred": False, "pmem": True}.get(only)
        return chosen[only] + [c for c in distro_configs
                               if kind is None or bool(c.get("pmem")) == kind]
    return chosen[only]


def kernels_of(configs):
    """The kernels the configurations boot, each once, in order."""
    kernels = []
    for config in configs:
        for kernel, _ in config["variants"]:
            if kernel not in kernels:
                kernels.append(kernel)
    return kernels


def prealloc_refusals(configs, available_mb):
    """Why the prealloc configurations would not fit the host (empty:
    they all do), checked before the builds and the first boot."""
    found = []
    for config in configs:
        if config["backing"] != "prealloc":
            continue
        mem_mb = config_spec(config)["mem_mb"]
        refusal = backing.prealloc_refusal(mem_mb, available_mb)
        if refusal:
            found.append("%s: %s" % (config["title"], refusal))
    return found


def plan(quick=False, boots=None, only=None, distro=False):
    """The configurations and boots per configuration, checked: bad input
    and prealloc guests that the host cannot hold are refused up front."""
    configs = select_configs(quick, only, distro)
    boots = boots or (QUICK["boots"] if quick else DEFAULT_BOOTS)
    if boots < 1:
        raise MtinitError("--boots must be at least 1")
    refusals = prealloc_refusals(configs, backing.mem_available_mb())
    if refusals:
        raise MtinitError("the bench's prefaulted guests do not fit this "
                          "host:\n  " + "\n  ".join(refusals))
    return {"configs": configs, "boots": boots}


def config_title(kernel, record):
    """How a table names its kernels' configuration, by its reference
    kernel; with the Debian package version its build recorded."""
    if record and record.get("debian_config"):
        return "Debian's config (%s)" % record["debian_config"]
    return KERNEL_CONFIG_TITLES[kernel]


def table_title(config, boots, results):
    """A table's title line: the kernels' configuration, the guest, the
    guest RAM its boots actually had, the boots."""
    used = sorted({r["backing"] for runs in results.values() for r in runs})
    reference = config["variants"][0][0]
    cpu = ", guest CPU %s" % config["cpu"] if config.get("cpu") else ""
    return "%s: %s%s, %s, %d boot(s) each, medians" % (
        config_title(reference, build.build_info(reference)),
        config["title"], cpu,
        ", ".join(BACKING_TITLES[b] for b in used),
        config.get("boots", boots))


def main(bench_plan, skip_build=False):
    """Run a plan() and write out/bench.md, bench.json and bench.png."""
    deps.ensure_step("bench plot")
    if not os.path.isdir(os.path.join(KTREE, ".git")):
        base.prepare()
    configs, boots = bench_plan["configs"], bench_plan["boots"]
    if not skip_build:
        for kernel in kernels_of(configs):
            build.build(kernel)
    total = sum(c.get("boots", boots) * len(c["variants"]) for c in configs)
    done = [0]

    def progress(kernel, threads, config, round_no):
        done[0] += 1
        info("[%d/%d] %s, %s threads=%s (round %d)" % (
            done[0], total, config["title"], kernel,
            threads if threads else "default", round_no + 1))

    ensure_dir(OUT)
    tables, raw, failures, plot_series = [], [], [], {}
    for config in configs:
        results = run_config(config, boots, progress)
        rows = rows_of(config, config_spec(config), results)
        title = table_title(config, boots, results)
        if config.get("pmem"):
            text = report.pmem_table(title, pmem.bench_rows(config, results),
                                     config["target"],
                                     config["mode"] == "icount")
        else:
            text = report.table(title, rows)
        if config["mode"] == "icount" and not config.get("pmem"):
            text += per_page_line(results)
        if config.get("target") and not config.get("pmem"):
            text += report.target_line(rows, config["target"])
        tables.append(text)
        if config["mode"] == "mttcg" and not config.get("pmem"):
            for row in rows:
                key = "%s %s" % (row["label"],
                                 config.get("numa") or config["mem"])
                plot_series.setdefault(key, []).append(
                    (row["threads"], report.stats(row["deferred_ms"])[0]))
        for (kernel, threads), runs in results.items():
            for r in runs:
                raw.append(r)
                for problem in boot.problems(r):
                    failures.append("%s (%s): %s" % (r["log_dir"], kernel,
                                                     problem))
    _write(tables, raw, plot_series)
    if failures:
        raise MtinitError("%d bench boot(s) failed:\n  %s"
                          % (len(failures), "\n  ".join(failures)))


def _write(tables, raw, plot_series):
    md = "# mtinit bench\n\n" + "\n".join("```\n%s```\n" % t for t in tables)
    with open(os.path.join(OUT, "bench.md"), "w") as fh:
        fh.write(md)
    with open(os.path.join(OUT, "bench.json"), "w") as fh:
        json.dump({"tables": tables, "boots": raw}, fh, indent=1)
    png = os.path.join(OUT, "bench.png")
    if not report.plot(png, plot_series, "Deferred struct page init"):
        info("matplotlib is missing: no out/bench.png")
    print(md)
    info("wrote out/bench.md, out/bench.json, out/bench.png")
