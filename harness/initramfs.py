"""The guest image: a busybox initramfs with guest/init and test scripts."""

import os
import shutil
import stat
import tempfile

from . import deps
from .util import BUILD, ROOT, MtinitError, ensure_dir, run

GUEST_DIR = os.path.join(ROOT, "guest")
BUSYBOX = "/bin/busybox"
IMAGE_DIR = os.path.join(BUILD, "initramfs")


def _inputs():
    files = [os.path.join(GUEST_DIR, "init")]
    scripts = os.path.join(GUEST_DIR, "scripts")
    if os.path.isdir(scripts):
        files += [os.path.join(scripts, n) for n in sorted(os.listdir(scripts))]
    return files


def image(variant, extra=(), dest=None):
    """Return the path of an uncompressed cpio for a kernel variant.

    extra: (source, path-in-guest) pairs, e.g. test modules of the variant.
    dest: where to write it (a boot's own directory). Without it, the
    image goes to build/initramfs/VARIANT.cpio, which every checkout
    sharing build/ rewrites: concurrent boots must pass dest.
    """
    deps.ensure(["busybox-static", "cpio"])
    if not os.path.exists(BUSYBOX):
        raise MtinitError("%s is missing (package busybox-static)" % BUSYBOX)
    if dest:
        staging = tempfile.mkdtemp(prefix="initramfs-",
                                   dir=os.path.dirname(dest))
        try:
            return _make(os.path.join(staging, "root"), dest, extra)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    root = os.path.join(IMAGE_DIR, variant)
    shutil.rmtree(root, ignore_errors=True)
    return _make(root, os.path.join(IMAGE_DIR, variant + ".cpio"), extra)


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
