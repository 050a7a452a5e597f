"""Cross-boot checks: stock vs patched, and patched vs patched."""

PAGE_KB = 4
# Memory in use after boot (MemTotal - MemFree, so that the kernel images'
# difference in size cancels out) may differ from stock's by this much.
# Measured: see README ("Free pages after boot"); boot-to-boot spread on
# one kernel comes from per-CPU page lists and slab under MTTCG.
FREE_TOLERANCE_KB = 16 * 1024
# The debug kernel's own structures (lockdep, debug objects, page_ext,
# what its KUnit suites leave) grow with CPUs and nodes: measured up to
# 17.1 MiB more in use than stock (memory-less node, 4 vCPUs, CI run of
# 2026-11-26), and 15-16 MiB before that. The series' leaks are caught
# on the patched kernel with FREE_TOLERANCE_KB; this still catches a
# lost section (128 MiB) on the debug kernel.
DEBUG_FREE_TOLERANCE_KB = 32 * 1024


def image_kb(memory_line):
    """KiB of the kernel image still reserved once init memory is freed:
    code, rwdata, rodata and bss of the 'Memory:' line."""
    return sum(memory_line[k] for k in ("code", "rwdata", "rodata", "bss"))


def identical(a, b):
    """Zones and MemTotal of two boots of one kernel must be equal."""
    problems = []
    if a["zones"] != b["zones"]:
        for name in sorted(set(a["zones"]) | set(b["zones"])):
            za, zb = a["zones"].get(name), b["zones"].get(name)
            if za != zb:
                problems.append("zone %s: %s vs %s" % (name, za, zb))
    if a["memtotal_kb"] != b["memtotal_kb"]:
        problems.append("MemTotal %s vs %s kB" % (a["memtotal_kb"],
                                                   b["memtotal_kb"]))
    return problems


def present_equal(a, b):
    """present pages per zone must be equal: the same memory was found.

    Kernels with different configs (debug) make different early memblock
    allocations, so only present is compared across configs; each boot's
    own accounting is checked by boot.problems().
    """
    problems = []
    for name in sorted(set(a["zones"]) | set(b["zones"])):
        za, zb = a["zones"].get(name), b["zones"].get(name)
        if za is None or zb is None:
            problems.append("zone %s exists in only one kernel" % name)
        elif za["present"] != zb["present"]:
            problems.append("zone %s: present %d vs %d"
                            % (name, za["present"], zb["present"]))
    return problems


def against_stock(stock, patched):
    """present per zone equal; managed equal once the kernel images'
    difference in size (from each boot's 'Memory:' line) is accounted for.

    The image lives in one zone; every other zone must match exactly, and
    the total difference in managed pages must be the difference in image
    pages, to within less than one page.
    """
    problems = present_equal(stock, patched)
    if problems:
        return problems
    names = sorted(stock["zones"])
    ms, mp = stock.get("memory_line"), patched.get("memory_line")
    if not ms or not mp:
        return ["no 'Memory:' line to account for the kernel image"]
    image_pages = (image_kb(mp) - image_kb(ms)) / PAGE_KB
    deltas = {n: patched["zones"][n]["managed"] - stock["zones"][n]["managed"]
              for n in names}
    changed = {n: d for n, d in deltas.items() if d}
    if len(changed) > 1:
        problems.append("managed differs in more than one zone: %s"
                        % changed)
    total = sum(deltas.values())
    # The 'Memory:' line floors each section to KiB and leaves out the
    # padding between them, so its difference is exact only to within a
    # page: a page lost or gained still shows, a fraction of one does not.
    if abs(total + image_pages) >= 1:
        problems.append(
            "managed pages differ by %+d but the kernel images differ by "
            "%+g pages (%s)" % (total, image_pages, changed or "no zone"))
    memtotal_delta = patched["memtotal_kb"] - stock["memtotal_kb"]
    if memtotal_delta != total * PAGE_KB:
        problems.append("MemTotal differs by %+d kB, managed pages by %+d"
                        % (memtotal_delta, total))
    return problems


def used_kb(result):
    return result["memtotal_kb"] - result["memfree_kb"]


def free_close(stock, other, tolerance_kb=FREE_TOLERANCE_KB):
    """Memory in use after boot (MemTotal - MemFree) within tolerance_kb
    of stock's: pages the kernel manages but never handed to the
    allocator, or leaked during init, show up here."""
    if stock.get("memfree_kb") is None or other.get("memfree_kb") is None:
        return ["no MemFree to compare"]
    delta = used_kb(other) - used_kb(stock)
    if abs(delta) > tolerance_kb:
        return ["%d kB in use after boot, stock %d kB: %+d kB is beyond "
                "the tolerance of %d kB" % (used_kb(other), used_kb(stock),
                                            delta, tolerance_kb)]
    return []
