"""Bench reports: cover-letter tables (markdown) and the plot."""

import statistics

from .logparse import cpu_less_text


def stats(values):
    """(median, stdev) of the non-None values; (None, None) if none."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    spread = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return statistics.median(vals), spread


def _speedup(base, value):
    if base is None or value is None or base == 0:
        return "      --", "    --"
    return ("%7.1f%%" % ((base - value) * 100.0 / base),
            "%5.2fx" % (value / base))


# A median whose stdev is above this share of it is marked noisy.
NOISY_SHARE = 0.10
NOISY_MARK = "!"
NOISY_LEGEND = ("%s stdev above %d%% of the median: noisy, compare with "
                "care" % (NOISY_MARK, round(NOISY_SHARE * 100)))


def noisy(median, spread):
    """True when the spread is above NOISY_SHARE of the median."""
    return bool(median and spread and spread > NOISY_SHARE * abs(median))


def _cell(median, spread):
    """'median (stdev)' and one more character: NOISY_MARK or a blank."""
    if median is None:
        return "%18s " % "--"
    return "%9.1f (%6.1f)%s" % (median, spread, NOISY_MARK
                                if noisy(median, spread) else " ")


# The kernel column's width: the longest label of a table, at least this.
LABEL_WIDTH = 7


def label_width(rows):
    return max([LABEL_WIDTH] + [len(row["label"]) for row in rows])


def _thr(row):
    """The '(thr)' column: the row's thread count, '-' when unknown."""
    return "%3s" % (row["threads"] if row["threads"] is not None else "-")


def _finish(lines, cells):
    """A table's text from its lines; the noisy legend under it when one
    of its cells ((median, stdev) pairs) has the mark."""
    if any(noisy(*cell) for cell in cells):
        lines = lines + [NOISY_LEGEND]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def table(title, rows):
    """A cover-letter table for one configuration.

    rows: [{'label', 'node_pct', 'threads', 'boot_ms': [...],
    'deferred_ms': [...], 'cpu_less': [...] (optional)}]; the first row is
    the baseline (stock). Each figure is a median with its stdev, marked
    noisy (NOISY_MARK, with the legend under the table) when the stdev is
    above NOISY_SHARE of it. Rows with 'cpu_less' (bench.cpu_less_runs())
    add lines under the table (cpu_less_lines()).
    """
    base_boot = stats(rows[0]["boot_ms"])[0]
    base_def = stats(rows[0]["deferred_ms"])[0]
    width = label_width(rows)
    pad = " " * (width - LABEL_WIDTH)
    lines = [
        title, "",
        pad + "                          kernel boot                          "
        "deferred init",
        pad + "                          ----------------------------------   "
        "----------------------------------",
        "kernel  " + pad + "node% (thr)   speedup  ratio  time_ms  (stdev)   "
        "speedup  ratio  time_ms  (stdev)",
    ]
    cells = []
    for index, row in enumerate(rows):
        boot = stats(row["boot_ms"])
        deferred = stats(row["deferred_ms"])
        cells += [boot, deferred]
        if index == 0:
            sb, rb = "      --", "    --"
            sd, rd = "      --", "    --"
        else:
            sb, rb = _speedup(base_boot, boot[0])
            sd, rd = _speedup(base_def, deferred[0])
        node = "%4s" % ("%d%%" % row["node_pct"]
                        if row["node_pct"] is not None else "--")
        lines.append("%-*s %s (%s)  %s %s %s %s %s %s" % (
            width, row["label"], node, _thr(row), sb, rb, _cell(*boot), sd,
            rd, _cell(*deferred)))
    return _finish(lines + cpu_less_lines(rows), cells)


def target_line(rows, target):
    """Under a table: whether the last row's deferred init (the series
    with its default threads) is within target x the first row's."""
    base, value = (stats(rows[i]["deferred_ms"])[0] for i in (0, -1))
    if not base or value is None:
        return "target %s <= %.2fx %s: no figure\n" % (
            rows[-1]["label"], target, rows[0]["label"])
    ratio = value / base
    return "target %s <= %.2fx %s: %.2fx, %s\n" % (
        rows[-1]["label"], target, rows[0]["label"], ratio,
        "met" if ratio <= target else "NOT met")


CPU_LESS_HEADING = ("nodes without CPUs, as the series reports them "
                    "(boots):")


def cpu_less_lines(rows):
    """Under a table: for each row whose boots had nodes without CPUs
    (patched), the node each was initialised from and the nodes its
    threads ran on, with how many boots said so."""
    lines = []
    for row in rows:
        said = ["node %d %s (%d)" % (seen["node"], cpu_less_text(seen),
                                     seen["boots"])
                for seen in row.get("cpu_less") or ()]
        if said:
            lines.append("%-*s (%s)  %s" % (label_width(rows), row["label"],
                                             _thr(row), "; ".join(said)))
    return [CPU_LESS_HEADING] + lines if lines else []


def plot(path, series, title):
    """Deferred-init time against threads, one line per kernel.

    series: {kernel: [(threads, median_ms), ...]}. Returns False when
    matplotlib is missing.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(figsize=(7, 4.5))
    for kernel, points in sorted(series.items()):
        points = sorted(p for p in points if p[1] is not None)
        if not points:
            continue
        style = "s--" if kernel.startswith("stock") else "o-"
        axes.plot([p[0] for p in points], [p[1] for p in points], style,
                  label=kernel)
    axes.set_xlabel("threads per node")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_ylabel("deferred init, slowest node (ms, median)")
    axes.set_title(title + " (MTTCG, stock: its default)")
    axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.3)
    axes.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def pmem_table(title, rows, target, icount=False):
    """The ZONE_DEVICE table: the first bind of a pmem namespace.

    rows: [{'label', 'threads', 'pages', 'bind_ms': [...],
    'kernel_ms': [...]}] from pmem.bench_rows(); the first row is stock.
    bind_ms is timed by the harness around the bind (every kernel);
    memmap_ms is the series' own figure for memmap_init_zone_device().
    """
    base = stats(rows[0]["bind_ms"])[0]
    width = label_width(rows)
    pad = " " * (width - LABEL_WIDTH)
    lines = [
        title, "",
        pad + "%14s%-46s%s" % ("", "first bind, timed by the harness",
                               "memmap init (kernel)"),
        pad + "%14s%s  %s" % ("", "-" * 44, "-" * 18),
        "kernel  " + pad + "thr    speedup  ratio   bind_ms  (stdev)  "
        "target    memmap_ms  (stdev)",
    ]
    cells = []
    for index, row in enumerate(rows):
        bind = stats(row["bind_ms"])
        memmap = stats(row["kernel_ms"])
        cells += [bind, memmap]
        if index == 0:
            speedup, ratio, goal = "      --", "    --", "      --"
        else:
            speedup, ratio = _speedup(base, bind[0])
            met = (bind[0] is not None and base and
                   bind[0] / base <= target)
            goal = "%4.2fx %s" % (target, "ok" if met else "NO")
        lines.append("%-*s %s   %s %s %s %s  %s" % (
            width, row["label"], _thr(row), speedup, ratio, _cell(*bind),
            goal, _cell(*memmap)))
    pages = next((r["pages"] for r in rows if r["pages"]), None)
    if pages:
        lines.append("pages per bind (harness, from sysfs): %d" % pages)
        if icount:
            lines.append("instructions per page, whole bind: %s" % ", ".join(
                "%s %.1f" % (r["label"], stats(r["bind_ms"])[0] * 1e6 /
                             pages)
                for r in rows if stats(r["bind_ms"])[0] is not None))
    return _finish(lines + steps_lines(rows), cells)


STEPS_HEADING = ("the traced bind (one more after the timed ones) by step "
                 "(function-graph tracer; ms, median; a step includes the "
                 "steps indented under it):")


def steps_lines(rows):
    """Under the pmem table: the traced bind's time per traced function,
    one column per row, for rows whose kernels have the tracer
    (pmem.traced_bind_steps()); nothing when none has."""
    order, seen = [], set()
    for row in rows:
        for boot_steps in row.get("steps") or ():
            for step in boot_steps:
                if step["fn"] not in seen:
                    seen.add(step["fn"])
                    order.append((step["fn"], step["depth"]))
    if not order:
        return []
    width = max(len("  " * depth + fn) for fn, depth in order) + 2
    lines = [STEPS_HEADING,
             "%-*s" % (width, "step") +
             "".join("%14s" % row["label"] for row in rows)]
    for fn, depth in order:
        cells = []
        for row in rows:
            times = [step["ms"] for boot_steps in row.get("steps") or ()
                     for step in boot_steps if step["fn"] == fn]
            median = stats(times)[0]
            cells.append("%14s" % ("--" if median is None
                                   else "%.1f" % median))
        lines.append("%-*s" % (width, "  " * depth + fn) + "".join(cells))
    return lines
