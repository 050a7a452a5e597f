"""Debian packages the harness needs, installed on demand."""

import os
import shutil

from .util import MtinitError, info, run

# Package -> what it is needed for (shown when it cannot be installed).
PACKAGES = {
    "qemu-system-x86": "booting guests",
    "busybox-static": "the guest's initramfs",
    "gcc": "building kernels",
    "make": "building kernels",
    "flex": "building kernels",
    "bison": "building kernels",
    "bc": "building kernels",
    "libelf-dev": "building kernels",
    "libssl-dev": "building kernels",
    "cpio": "packing the initramfs",
    "ccache": "fast kernel rebuilds",
    "quilt": "checking that the series applies with quilt",
    "patch": "checking that the series applies with patch -p1",
    "xz-utils": "unpacking the base tarball",
    "git": "the kernel work tree",
    "python3-matplotlib": "the bench plot",
}

_apt_updated = False


def installed_version(pkg):
    """Return the installed version of a Debian package, or None."""
    rc, out = run(["dpkg-query", "-W", "-f=${Status}|${Version}", pkg],
                  quiet=True, check=False)
    if rc != 0 or not out.startswith("install ok installed"):
        return None
    return out.split("|", 1)[1].strip()


def _sudo():
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo"):
        return ["sudo"]
    raise MtinitError("packages must be installed but this is not root and "
                      "there is no sudo")


def apt_update():
    global _apt_updated
    if not _apt_updated:
        info("apt-get update")
        run(_sudo() + ["apt-get", "update", "-q"], quiet=True)
        _apt_updated = True


def apt_install(specs, no_recommends=True):
    """Install package specs ('name' or 'name=version'); raise on failure."""
    apt_update()
    cmd = _sudo() + ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get",
                     "install", "-y", "-q"]
    if no_recommends:
        cmd.append("--no-install-recommends")
    rc, out = run(cmd + list(specs), quiet=True, check=False)
    if rc != 0:
        tail = "\n".join(out.strip().splitlines()[-5:])
        raise MtinitError("cannot install %s:\n%s" % (" ".join(specs), tail))


def ensure(packages=None):
    """Install whichever of the harness's packages are missing."""
    wanted = packages or sorted(PACKAGES)
    missing = [p for p in wanted if installed_version(p) is None]
    if not missing:
        return
    info("installing missing packages: " + " ".join(missing))
    try:
        apt_install(missing)
    except MtinitError as err:
        needs = ", ".join("%s (%s)" % (p, PACKAGES.get(p, "?"))
                          for p in missing)
        raise MtinitError("%s\nneeded: %s" % (err, needs))

