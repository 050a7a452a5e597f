"""make fresh: CI's run in a fresh Debian root, as on a new machine.

A minimal root (mmdebstrap --variant=minbase, from this machine's own apt
sources and release) gets a clean clone of the repository at HEAD, and
runs '.ci/run' in it under chroot, with /proc, /sys and /dev mounted in a
private mount namespace (unshare): exactly what CI runs, so every package
the run needs must be installed by the harness itself (harness/deps.py),
never by hand. The host's ccache is read (never written) unless --cold:
the cache holds compiler output, no package, and without it the three
kernel builds alone take hours here.
"""

import os
import pwd
import re
import shlex
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


# A private mount namespace (util-linux): the mounts made in it, by
# mmdebstrap or by the run, never reach the host and go with it.
PRIVATE = ["unshare", "--mount", "--propagation", "private"]


def mmdebstrap_command(suite, sources, target):
    """mmdebstrap mounts /proc, /sys and /dev files in the root while it
    works: in a private mount namespace, so that a run killed half-way
    leaves nothing mounted on the host."""
    return PRIVATE + ["mmdebstrap", "--variant=minbase", "--mode=root",
                      "--include=" + ",".join(INCLUDE), suite, target] + \
        sources


def chroot_command(workdir=WORKDIR):
    """CI's own entry point in the root, with a clean environment (a
    shared ccache is read, never written: it belongs to the host)."""
    env = ["HOME=/root", "CI=true", "LANG=C.UTF-8",
           "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
           "/bin"]
    return (["chroot", ROOTFS, "/usr/bin/env", "-i"] + env +
            ["/bin/bash", "-c", "cd %s && bash .ci/run" % workdir])


def namespace_script(ccache=None):
    """The shell commands run in a private mount namespace: the mounts the
    run needs, then the chroot. Nothing is mounted on the host: the
    namespace's mounts go with it when its last process exits, however it
    exits, so nothing is left to unmount and no unmount can reach the
    host's /dev. ccache: a host cache directory to bind read-only at the
    root's ~/.cache/ccache, or None."""
    q = shlex.quote
    root = ROOTFS
    lines = ["set -e",
             "mount -t proc proc %s" % q(root + "/proc"),
             "mount -t sysfs sysfs %s" % q(root + "/sys"),
             "mount --rbind /dev %s" % q(root + "/dev")]
    env = []
    if ccache:
        target = q("%s/%s" % (root, CCACHE_IN_ROOT))
        lines += ["mkdir -p %s" % target,
                  "mount --bind %s %s" % (q(ccache), target),
                  "mount -o remount,bind,ro %s" % target]
        env = ["CCACHE_READONLY=1", "CCACHE_NOSTATS=1",
               "CCACHE_TEMPDIR=/tmp/ccache-tmp"]
    cmd = chroot_command()
    cmd = cmd[:4] + env + cmd[4:]
    lines.append("exec " + shlex.join(cmd))
    return PRIVATE + ["sh", "-c", "\n".join(lines)]


def _log_run(cmd, log):
    """Run cmd, its output shown and appended to log; return its exit
    code."""
    info("$ " + " ".join(cmd[:6]) + (" ..." if len(cmd) > 6 else ""))
    with open(log, "a") as fh:
        fh.write("$ %s\n" % " ".join(cmd))
        fh.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                errors="replace")
        for line in proc.stdout:
            fh.write(line)
            fh.flush()
            print(line, end="", flush=True)
        return proc.wait()


def mounts_under(path, mounts_file="/proc/mounts"):
    """The host's mount points at or below path: the run mounts nothing
    on the host, so any is left by something else, and removing the root
    through a bind mount of /dev would remove the host's /dev."""
    path = os.path.realpath(path)
    with open(mounts_file) as fh:
        points = [unescape_mount(line.split()[1]) for line in fh]
    return [p for p in points if p == path or p.startswith(path + "/")]


def unescape_mount(field):
    """A /proc/mounts path: space, tab, newline and backslash are octal
    escapes there."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def remove_root():
    """Remove an earlier root; refuse while anything is mounted in it."""
    left = mounts_under(ROOTFS)
    if left:
        raise MtinitError("will not remove %s: mounted in it: %s (unmount "
                          "them first)" % (os.path.relpath(ROOTFS),
                                           ", ".join(left)))
    if os.path.exists(ROOTFS):
        # rm's --one-file-system never crosses into a mount /proc/mounts
        # might not have shown.
        subprocess.check_call(["rm", "-rf", "--one-file-system", ROOTFS])


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
    dirty = git(["-c", "safe.directory=" + ROOT, "status", "--porcelain",
                 "--untracked-files=no"], cwd=ROOT)
    if dirty.strip():
        info("uncommitted changes are not in the fresh root: it runs HEAD")
    dest = os.path.join(ROOTFS, WORKDIR.lstrip("/"))
    ensure_dir(os.path.dirname(dest))
    # Root may clone a checkout another user owns.
    git(["-c", "safe.directory=" + ROOT, "clone", "-q", ROOT, dest], cwd=ROOT)
    shutil.copy("/etc/resolv.conf", os.path.join(ROOTFS, "etc",
                                                 "resolv.conf"))


def host_ccache():
    """The ccache of the user who ran make fresh (under sudo, the invoking
    user's, not root's), or None when there is none."""
    if os.environ.get("CCACHE_DIR"):
        path = os.environ["CCACHE_DIR"]
    else:
        home = os.path.expanduser("~")
        if os.environ.get("SUDO_USER"):
            home = pwd.getpwnam(os.environ["SUDO_USER"]).pw_dir
        path = os.path.join(home, ".cache", "ccache")
    return path if os.path.isdir(path) else None


def main(share_ccache=True, keep=False):
    """Make the root, run CI in it, say whether it passed; remove the
    root after a pass unless keep (a failed one stays, to look into)."""
    check_root()
    deps.ensure_step("fresh")
    remove_root()
    need_space(BUILD, SPACE_MB, "make fresh")
    ensure_dir(FRESH)
    with open(LOG, "w"):
        pass
    info("fresh root in %s (log: %s)" % (os.path.relpath(ROOTFS),
                                          os.path.relpath(LOG)))
    make_root(LOG)
    copy_clone()
    ccache = host_ccache() if share_ccache else None
    info("ccache: %s" % ("%s, read-only" % ccache if ccache else "none"))
    rc = _log_run(namespace_script(ccache), LOG)
    if rc != 0:
        raise MtinitError("make fresh: '.ci/run' failed in the fresh root "
                          "(exit %d); the root stays in %s; see %s"
                          % (rc, os.path.relpath(ROOTFS),
                             os.path.relpath(LOG)))
    if not keep:
        remove_root()
    info("make fresh: '.ci/run' passed in a fresh %s root" % release())


def check_root():
    """make fresh runs mmdebstrap, mount and chroot: root only."""
    if os.geteuid() != 0:
        raise MtinitError("make fresh needs root (mmdebstrap, mount, "
                          "chroot): run it as root or with sudo")
