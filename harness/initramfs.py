"""The guest image: a busybox initramfs with guest/init and test scripts."""

import os
import shutil
import stat
import tempfile

from . import deps
from .util import ROOT, MtinitError, ensure_dir, run

GUEST_DIR = os.path.join(ROOT, "guest")
BUSYBOX = "/bin/busybox"


def _inputs():
    files = [os.path.join(GUEST_DIR, "init")]
    scripts = os.path.join(GUEST_DIR, "scripts")
    if os.path.isdir(scripts):
        files += [os.path.join(scripts, n) for n in sorted(os.listdir(scripts))]
    return files


def image(dest, extra=()):
    """Write an uncompressed cpio to dest (a boot's own directory, so that
    concurrent boots never share one) and return its path.

    extra: (source, path-in-guest) pairs, e.g. test modules of the kernel.
    """
    deps.ensure_step("initramfs")
    if not os.path.exists(BUSYBOX):
        raise MtinitError("%s is missing (package busybox-static)" % BUSYBOX)
    staging = tempfile.mkdtemp(prefix="initramfs-", dir=os.path.dirname(dest))
    try:
        return _make(os.path.join(staging, "root"), dest, extra)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _make(root, cpio, extra):
    for sub in ("bin", "mtinit", "dev", "proc", "sys", "tmp"):
        ensure_dir(os.path.join(root, sub))
    shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
    for src in _inputs():
        name = os.path.basename(src)
        dest = os.path.join(root, name if name == "init" else
                            os.path.join("mtinit", name))
        shutil.copy(src, dest)
        os.chmod(dest, os.stat(dest).st_mode | stat.S_IXUSR)
    for src, dest in extra:
        target = os.path.join(root, dest.lstrip("/"))
        ensure_dir(os.path.dirname(target))
        shutil.copy(src, target)
    run(["sh", "-c", "cd '%s' && find . | LC_ALL=C sort | "
         "cpio -o -H newc --quiet > '%s'" % (root, cpio)])
    return cpio
