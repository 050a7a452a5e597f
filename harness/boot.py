"""One boot of one kernel: run QEMU, keep the logs, return the results.

What the guest runs besides boot's own reports comes in as workloads
(harness/workload.py): boot adds their kernel parameters and files, and
stores their analyses and problems in the result, whatever they are.
"""

import datetime
import json
import os
import re

from . import build, deps, initramfs, logparse, qemu, workload
from .backing import resolve as resolve_backing
from .util import OUT, MtinitError, ensure_dir, need_space

THREADS_PARAM = "deferred_page_init_threads"
# A boot's logs are well under 1 MiB (the debug kernel's serial log is the
# largest); QEMU writes the serial log and cannot report a full disk.
BOOT_SPACE_MB = 16


def _boot_dir(kernel, spec, mode, threads, workloads):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    shape = spec["numa"] or spec["mem"]
    name = "%s-%s-%s-%s-smp%d" % (stamp, kernel, mode,
                                  re.sub(r"[^\w.-]", "_", shape), spec["smp"])
    if threads is not None:
        name += "-t%d" % threads
    name += workload.dir_tags(workloads)
    return ensure_dir(os.path.join(OUT, "boots", name))


def _kernel_append(kernel, threads, append):
    parts = []
    if threads is not None:
        if kernel in build.STOCK_VARIANTS:
            raise MtinitError("--threads needs a kernel with the series: "
                              "%s has no %s= parameter"
                              % (kernel, THREADS_PARAM))
        parts.append("%s=%d" % (THREADS_PARAM, threads))
    if append:
        parts.append(append)
    return " ".join(parts)


def check_request(kernel, threads, append=""):
    """Refuse a boot that cannot run (bad --threads, a kernel not built)
    before anything is installed or started; return the kernel's build
    info and the kernel parameters."""
    if threads is not None and threads < 0:
        raise MtinitError("--threads must be 0 (default) or more")
    cmd_append = _kernel_append(kernel, threads, append)
    record = build.build_info(kernel)
    if record is None:
        raise MtinitError("the %s kernel is not built; run './mtinit build "
                          "%s'" % (kernel, kernel))
    return record, cmd_append


def boot(kernel, spec, mode="mttcg", threads=None, append="", timeout=300,
         backing="auto", workloads=(), cpu=qemu.DEFAULT_CPU):
    """Boot once; return the result dict (the JSON of 'mtinit boot').

    cpu: QEMU's -cpu (harness/qemu.py).

    backing: guest RAM 'prealloc', 'sparse' or 'auto' (harness/backing.py),
    decided from the host's MemAvailable just before QEMU starts.
    workloads: harness.workload.Workload objects, run in the guest in
    order; each one's analysis is stored as result[its name].
    """
    record, cmd_append = check_request(kernel, threads, append)
    deps.ensure_step("boot")
    need_space(OUT, BOOT_SPACE_MB, "a boot")
    # All of the guest's RAM is backed, what a workload carves out of it
    # included.
    used = resolve_backing(backing, spec["mem_mb"])
    workloads = tuple(workloads)
    cmd_append = " ".join(p for p in (
        cmd_append, workload.kernel_params(workloads)) if p)
    bdir = _boot_dir(kernel, spec, mode, threads, workloads)
    # The guest image in the boot's own directory: boots may run at once.
    initrd = initramfs.image(os.path.join(bdir, "initrd.cpio"),
                             workload.image_files(workloads))
    serial = os.path.join(bdir, "serial.log")
    cmd = qemu.command(build.kernel_image(kernel), initrd, spec, mode, used,
                       cmd_append, serial, cpu=cpu)
    with open(os.path.join(bdir, "qemu.cmd"), "w") as fh:
        fh.write(" ".join(cmd) + "\n")
    try:
        rc, seconds = qemu.run(cmd, timeout, os.path.join(bdir, "qemu.log"))
    finally:
        os.remove(initrd)
    with open(serial, errors="replace") as fh:
        text = fh.read()
    result = analyse(text, rc, timeout, workloads)
    result.update({
        "kernel": kernel, "base": record["base"], "commit": record["commit"],
        "mode": mode, "backing": used, "cpu": cpu, "mem": spec["mem"],
        "smp": spec["smp"],
        "numa": spec["numa"], "threads": threads, "append": append,
        "wall_s": round(seconds, 1), "log_dir": os.path.relpath(bdir),
    })
    with open(os.path.join(bdir, "dmesg.log"), "w") as fh:
        fh.write(logparse.sections(text).get("dmesg", ""))
    with open(os.path.join(bdir, "result.json"), "w") as fh:
        json.dump(result, fh, indent=1, sort_keys=True)
    return result


def analyse(serial, rc, timeout, workloads=()):
    """Turn a serial log (and QEMU's exit) into the measured fields, the
    framed output of the guest's scripts ('runs') and the workloads'
    analyses and problems (workload.record())."""
    sec = logparse.sections(serial)
    result = measured(serial, sec, rc, timeout)
    runs = {name[len("run-"):]: body for name, body in sec.items()
            if name.startswith("run-")}
    if runs:
        result["runs"] = runs
    workload.record(result, workloads, sec)
    return result


def measured(serial, sec, rc, timeout):
    """The fields boot measures itself, from the serial log and its
    sections."""
    dmesg = sec.get("dmesg", "")
    # Before init, the console has everything; after it, dmesg has it.
    full = dmesg or serial
    deferred = logparse.deferred(full)
    panic = logparse.panic(serial)
    done = logparse.DONE in serial
    error = None
    if rc is None:
        error = "timeout: no power-off within %d s" % timeout
    elif panic:
        error = panic
    elif not done:
        error = "the guest stopped before the end of init (qemu exit %d)" % rc
    elif rc != 0:
        error = "qemu exited with %d" % rc
    meminfo = logparse.meminfo(sec.get("meminfo", ""))
    return {
        "ok": error is None,
        "error": error,
        "deferred": deferred,
        "deferred_ms": max((d["ms"] for d in deferred), default=None),
        "boot_ms": logparse.boot_ms(full),
        "memtotal_kb": meminfo.get("MemTotal"),
        "memfree_kb": meminfo.get("MemFree"),
        "hugetlb_kb": meminfo.get("Hugetlb"),
        "memory_line": logparse.memory_line(full),
        "freed_kb": logparse.freed_kb(full),
        "zones": logparse.zoneinfo(sec.get("zoneinfo", "")),
        "padata_jobs": logparse.padata_jobs(full),
        "kunit": logparse.kunit(full),
        "dmesg_from_boot": (logparse.BANNER in dmesg if dmesg else None),
        "splats": sorted(set(logparse.splats(serial) + logparse.splats(dmesg)),
                         key=(serial + dmesg).find),
    }


def problems(result):
    """What is wrong with one boot on its own (empty list: nothing).

    The workloads' problems come last. They are judged when the boot is
    analysed and kept in the result ('workload_problems'), because
    problems() gets a result alone: one from JSON (bench.json, a boot's
    result.json), or a test's, with no workload objects to ask, and boot
    must not import the workloads' modules to rebuild them. So a result
    changed after its analysis keeps the problems it had; analyse the log
    again instead. They are listed whether or not the boot reached the end
    of init: a workload whose script did not run or end says so.
    """
    found = []
    if not result["ok"]:
        found.append(result["error"])
    if result["splats"]:
        found.append("%d splat(s), first: %s" % (len(result["splats"]),
                                                 result["splats"][0]))
    failed = logparse.kunit_failures(result.get("kunit", []))
    if failed:
        found.append("%d KUnit case(s) failed: %s" % (len(failed),
                                                       ", ".join(failed)))
    if result["ok"]:
        if result.get("dmesg_from_boot") is False:
            found.append("dmesg lost its beginning: the kernel's log buffer "
                         "wrapped before the guest read it (raise log_buf_len)")
        if not result["zones"]:
            found.append("no zones in /proc/zoneinfo")
        if not result["memtotal_kb"]:
            found.append("no MemTotal in /proc/meminfo")
        managed_kb = 4 * sum(z.get("managed", 0)
                             for z in result["zones"].values())
        if result["memtotal_kb"] and managed_kb != result["memtotal_kb"]:
            found.append("MemTotal %d kB differs from the zones' managed "
                         "pages (%d kB)" % (result["memtotal_kb"],
                                            managed_kb))
        found += accounting_problems(result, managed_kb)
    for workload_problems in result.get("workload_problems", {}).values():
        found += workload_problems
    return found


def accounting_problems(result, managed_kb):
    """Every page is accounted for: the managed pages must be exactly the
    'Memory:' line's physical pages, less what it reports reserved, plus
    what the kernel freed after it (initrd, init sections)."""
    line = result.get("memory_line")
    if not line:
        return ["no 'Memory:' line in dmesg"]
    expected = (line["physical"] - line["reserved"] - line["cma"] +
                result["freed_kb"])
    if managed_kb != expected:
        return ["managed pages are %d kB but the 'Memory:' line and the "
                "freed memory account for %d kB (%+d kB)"
                % (managed_kb, expected, managed_kb - expected)]
    return []


def cpu_less_note(line):
    """', no CPUs: from node F, threads on nodes L' for a deferred-init
    line of a node without CPUs (the series says so), else ''."""
    if line.get("from_node") is None:
        return ""
    return ", no CPUs: " + logparse.cpu_less_text(line)


def print_summary(result, workloads=()):
    """What 'mtinit boot' prints without --json; the workloads' summary
    lines last."""
    status = "ok" if result["ok"] else "FAILED: %s" % result["error"]
    print("%s %s %s smp=%d numa=%s: %s" % (
        result["kernel"], result["mode"], result["mem"], result["smp"],
        result["numa"], status))
    for node in result["deferred"]:
        print("  node %d: %s pages in %.3f ms, %s threads%s" % (
            node["node"], node["pages"], node["ms"], node["threads"],
            cpu_less_note(node)))
    if result["padata_jobs"]:
        print("  %d padata job(s) traced" % len(result["padata_jobs"]))
    print("  boot %s ms, deferred %s ms, MemTotal %s kB, %d splats, logs %s"
          % (result["boot_ms"], result["deferred_ms"], result["memtotal_kb"],
             len(result["splats"]), result["log_dir"]))
    for line in workload.summaries(result, workloads):
        print("  " + line)
