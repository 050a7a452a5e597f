"""make fresh: CI's run in a fresh Debian root, as on a new machine.

A minimal root (mmdebstrap --variant=minbase, from this machine's own apt
sources and release) gets a clean clone of the repository at HEAD, and
runs '.ci/run' in it under chroot, with /proc, /sys and /dev mounted:
exactly what CI runs, so every package the run needs must be installed
by the harness itself (harness/deps.py), never by hand. The host's ccache
is shared unless --cold: the cache holds compiler output, no package, and
without it the three kernel builds alone take hours here.
"""

import os
import shutil
import subprocess

from . import deps
from .util import BUILD, ROOT, MtinitError, ensure_dir, git, info, need_space

FRESH = os.path.join(BUILD, "fresh")
ROOTFS = os.path.join(FRESH, "root")
LOG = os.path.join(FRESH, "fresh.log")
# Where the clone lives in the root.
WORKDIR = "/work/mtinit"
# The root, its packages, the kernel source, three kernel builds and the
# boots' logs.
SPACE_MB = 30000
APT_DIR = "/etc/apt"
# What minbase lacks that the run needs before the harness can install
# anything: verified downloads (keyring, certificates).
INCLUDE = ("ca-certificates", "debian-archive-keyring")
# (source, target in the root, mount arguments), mounted in this order.
MOUNTS = (
    ("proc", "proc", ["-t", "proc"]),
    ("sysfs", "sys", ["-t", "sysfs"]),
    ("/dev", "dev", ["--rbind"]),
)
CCACHE_IN_ROOT = "root/.cache/ccache"


def apt_sources(apt_dir=APT_DIR):
    """The machine's enabled apt source files: sources.list and the .list
    and .sources files of sources.list.d (others, such as '.disabled'
    ones, are not read by apt either)."""
    found = []
    main = os.path.join(apt_dir, "sources.list")
    if os.path.isfile(main) and os.path.getsize(main):
        found.append(main)
    parts = os.path.join(apt_dir, "sources.list.d")
    if os.path.isdir(parts):
        found += [os.path.join(parts, name) for name in sorted(os.listdir(
            parts)) if name.endswith((".list", ".sources"))]
    return found


def debian_sources(paths):
    """Of the source files, those that name a Debian archive: the root
    gets Debian's packages only, as a new machine would."""
    chosen = []
    for path in paths:
        with open(path) as fh:
            if "debian.org" in fh.read():
                chosen.append(path)
    return chosen


def release(os_release="/etc/os-release"):
    """This machine's Debian release (VERSION_CODENAME)."""
    with open(os_release) as fh:
        for line in fh:
            key, _, value = line.strip().partition("=")
            if key == "VERSION_CODENAME" and value:
                return value.strip('"')
    raise MtinitError("%s names no VERSION_CODENAME: not a Debian release "
                      "that mmdebstrap can make" % os_release)


def mmdebstrap_command(suite, sources, target):
    return (["mmdebstrap", "--variant=minbase", "--mode=root",
             "--include=" + ",".join(INCLUDE), suite, target] + sources)


def chroot_command(workdir=WORKDIR):
    """CI's own entry point in the root, with a clean environment."""
    return ["chroot", ROOTFS, "/usr/bin/env", "-i", "HOME=/root", "CI=true",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
            "/bin", "LANG=C.UTF-8", "/bin/bash", "-c",
            "cd %s && bash .ci/run" % workdir]


def _log_run(cmd, log):
    """Run cmd with its output appended to log; return its exit code."""
    info("$ " + " ".join(cmd))
    with open(log, "a") as fh:
        fh.write("$ %s\n" % " ".join(cmd))
        fh.flush()
        return subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)


def mounts_under(path, mounts_file="/proc/mounts"):
    """The mount points at or below path (a run that died may leave
    them): removing the root through a bind mount of /dev would remove the
    host's /dev."""
    path = os.path.realpath(path)
    with open(mounts_file) as fh:
        points = [line.split()[1].replace("\\040", " ") for line in fh]
    return [p for p in points if p == path or p.startswith(path + "/")]


def remove_root():
    """Remove an earlier root, after unmounting what a run that died left
    mounted in it; refuse if anything stays mounted."""
    unmount_all(sorted(mounts_under(ROOTFS)))
    left = mounts_under(ROOTFS)
    if left:
        raise MtinitError("cannot remove the old fresh root: still mounted: "
                          "%s" % ", ".join(left))
    shutil.rmtree(ROOTFS, ignore_errors=True)


def make_root(log):
    sources = debian_sources(apt_sources())
    if not sources:
        raise MtinitError("no Debian source in %s: mmdebstrap needs the "
                          "machine's own mirror" % APT_DIR)
    remove_root()
    cmd = mmdebstrap_command(release(), sources, ROOTFS)
    if _log_run(cmd, log) != 0:
        raise MtinitError("mmdebstrap failed; see %s" % os.path.relpath(log))


def copy_clone():
    """A clean clone of HEAD (uncommitted work is not in it)."""
    dirty = git(["status", "--porcelain", "--untracked-files=no"], cwd=ROOT)
    if dirty.strip():
        info("uncommitted changes are not in the fresh root: it runs HEAD")
    dest = os.path.join(ROOTFS, WORKDIR.lstrip("/"))
    ensure_dir(os.path.dirname(dest))
    git(["clone", "-q", ROOT, dest], cwd=ROOT)
    shutil.copy("/etc/resolv.conf", os.path.join(ROOTFS, "etc",
                                                 "resolv.conf"))


def host_ccache():
    return os.environ.get("CCACHE_DIR",
                          os.path.expanduser("~/.cache/ccache"))


def mount_all(share_ccache):
    """Mount what the run needs; return the mount points, innermost
    last."""
    points = []
    mounts = list(MOUNTS)
    if share_ccache:
        mounts.append((ensure_dir(host_ccache()), CCACHE_IN_ROOT,
                       ["--bind"]))
    for source, target, args in mounts:
        point = ensure_dir(os.path.join(ROOTFS, target))
        subprocess.check_call(["mount"] + args + [source, point])
        points.append(point)
    return points


def unmount_all(points):
    for point in reversed(points):
        subprocess.call(["umount", "--lazy", "--recursive", point])


def main(share_ccache=True):
    """Make the root, run CI in it, say whether it passed."""
    if os.geteuid() != 0:
        raise MtinitError("make fresh needs root (mmdebstrap, mount, "
                          "chroot)")
    deps.ensure_step("fresh")
    need_space(BUILD, SPACE_MB, "make fresh")
    ensure_dir(FRESH)
    with open(LOG, "w"):
        pass
    info("fresh root in %s (log: %s)" % (os.path.relpath(ROOTFS),
                                          os.path.relpath(LOG)))
    make_root(LOG)
    copy_clone()
    points = mount_all(share_ccache)
    try:
        rc = _log_run(chroot_command(), LOG)
    finally:
        unmount_all(points)
    if rc != 0:
        raise MtinitError("make fresh: '.ci/run' failed in the fresh root "
                          "(exit %d); see %s" % (rc, os.path.relpath(LOG)))
    info("make fresh: '.ci/run' passed in a fresh %s root" % release())
