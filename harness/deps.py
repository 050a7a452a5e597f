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
    "openssl": "the distro kernels' module signing key",
    "cpio": "packing the initramfs",
    "ccache": "fast kernel rebuilds",
    "quilt": "checking that the series applies with quilt",
    "patch": "checking that the series applies with patch -p1",
    "xz-utils": "unpacking the base tarball",
    "git": "the kernel work tree",
    "python3-matplotlib": "the bench plot",
    "perl": "checkpatch.pl, kernel-doc and the kernel's build scripts",
    "rsync": "kselftest's install rule (the padata suite too)",
    "sparse": "mtinit check: sparse on the files the series touches",
    "coccinelle": "mtinit check: scripts/coccicheck on the series' C "
                  "files",
    "libpython3-dev": "coccinelle's Python rules load libpython3.X.so, "
                      "which only the -dev package provides",
    "ocaml": "coccinelle's OCaml rules are compiled with ocamlopt",
    "python3-sphinx": "mtinit check: Sphinx on Documentation/core-api",
    "python3-yaml": "mtinit check: the docs build turns the YNL specs into "
                    ".rst (tools/net/ynl/ynl-gen-rst.py)",
    "libcap-dev": "mm selftests (static libcap)",
    "libnuma-dev": "mm selftests (static libnuma)",
    "bash-static": "bash in the guest, for upstream's selftest scripts",
    "mmdebstrap": "make fresh: a minimal Debian root",
    "linux-config-6.12": "Debian's kernel configurations (the distro "
                         "kernels start from one; unit tests compare "
                         "config/guest.config with it)",
}

# The kernel build tools: kernels, and the selftest modules built against
# them (perl: the kernel's build needs more than Debian's perl-base).
_KERNEL_BUILD = ("gcc", "make", "flex", "bison", "bc", "libelf-dev",
                 "libssl-dev", "perl", "ccache", "cpio")

# Step -> the packages it uses. A step is one kind of work that one or
# more subcommands do. ("prepare" also installs the pinned
# linux-source-6.12 itself, at the version BASE names: harness/base.py.)
STEPS = {
    "prepare": ("git", "xz-utils"),
    "refresh": ("git",),
    "build": _KERNEL_BUILD,
    # The stock-distro and distro kernels start from Debian's
    # configuration, which signs modules (its key made with openssl).
    "distro build": ("linux-config-6.12", "openssl"),
    "initramfs": ("busybox-static", "cpio"),
    "boot": ("qemu-system-x86",),
    # Applies with git am, quilt and patch; checkpatch and kernel-doc.
    "check": ("git", "quilt", "patch", "perl"),
    "sparse": _KERNEL_BUILD + ("sparse",),
    "docs": ("make", "perl", "python3-sphinx", "python3-yaml"),
    # scripts/coccicheck is a bash script around spatch; spatch runs the
    # semantic patches' Python rules through libpython3.X.so (the
    # unversioned name, from libpython3-dev) and compiles their OCaml
    # rules with ocamlopt (package ocaml): make fresh found both missing.
    "coccicheck": ("coccinelle", "libpython3-dev", "ocaml"),
    # The series' test modules, built against a kernel's build.
    "selftest": _KERNEL_BUILD + ("rsync",),
    # Upstream's selftests, built statically from the patched tree (and
    # the padata module against each kernel); bash for the guest.
    "kselftest": _KERNEL_BUILD + ("rsync", "bash-static", "libcap-dev",
                                   "libnuma-dev"),
    "bench plot": ("python3-matplotlib",),
    # A Debian root for CI's run on a "new machine" (harness/fresh.py);
    # git clones the repository into it.
    "fresh": ("mmdebstrap", "git"),
    "unit tests": ("linux-config-6.12",),
}

# ./mtinit subcommand -> the steps it runs. Each subcommand installs the
# packages of all its steps before its first step (cli.main), so that a
# fresh machine never stops half-way on a missing tool.
COMMANDS = {
    "prepare": ("prepare",),
    "refresh": ("refresh",),
    "build": ("build", "distro build"),
    "boot": ("initramfs", "boot"),
    # Prepares build/linux if it is missing, builds stock and patched.
    "bench": ("prepare", "build", "distro build", "initramfs", "boot",
              "bench plot"),
    # Prepares build/linux if it is missing; compiles every patch on its
    # own (check.check_bisect), so it needs the kernel build tools.
    "check": ("prepare", "check", "build", "sparse", "coccicheck", "docs"),
    "selftest": ("selftest", "initramfs", "boot"),
    "kselftest": ("kselftest", "initramfs", "boot"),
    "kunit": ("initramfs", "boot"),
    "fresh": ("fresh",),
    "test": ("unit tests", "prepare", "check", "build", "distro build",
             "sparse", "coccicheck", "docs",
             "initramfs", "boot", "selftest", "kselftest"),
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


def apt_install(specs, no_recommends=True, allow_downgrades=False):
    """Install package specs ('name' or 'name=version'); raise on failure.
    allow_downgrades: a pinned version may be older than the one another
    step installed (apt refuses that otherwise)."""
    apt_update()
    cmd = _sudo() + ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get",
                     "install", "-y", "-q"]
    if no_recommends:
        cmd.append("--no-install-recommends")
    if allow_downgrades:
        cmd.append("--allow-downgrades")
    rc, out = run(cmd + list(specs), quiet=True, check=False)
    if rc != 0:
        tail = "\n".join(out.strip().splitlines()[-5:])
        raise MtinitError("cannot install %s:\n%s" % (" ".join(specs), tail))


def packages_of_steps(steps):
    """The packages the steps use, sorted, each once."""
    return sorted({pkg for step in steps for pkg in STEPS[step]})


def packages_of_command(command):
    """Every package a ./mtinit subcommand uses, over all its steps."""
    if command not in COMMANDS:
        raise MtinitError("no package list for subcommand '%s'" % command)
    return packages_of_steps(COMMANDS[command])


def ensure_command(command):
    """Install what a subcommand needs before its first step."""
    ensure(packages_of_command(command))


def ensure_step(step):
    """Install what one step needs (a guard where the step runs)."""
    ensure(packages_of_steps([step]))


def ensure(packages=None):
    """Install whichever of the packages (None: all the harness's) are
    missing."""
    wanted = sorted(PACKAGES) if packages is None else packages
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

