"""Kernel builds: stock (the base), patched (base + series), debug, kasan,
and stock-distro and distro: the base and the series on Debian's own
cloud-amd64 configuration."""

import contextlib
import fcntl
import hashlib
import json
import os
import shutil

from . import deps, distro
from .kconfig import parse_fragment
from .util import BUILD, KTREE, ROOT, MtinitError, ensure_dir, git, info, run

VARIANTS = ("stock", "patched", "debug", "kasan", "stock-distro", "distro")
# The variants built from the base alone.
STOCK_VARIANTS = ("stock", "stock-distro")
# The variants whose configuration starts from Debian's (harness/distro.py)
# rather than tinyconfig; only their bzImage is built (the guest loads no
# modules, and Debian's 1100 modules would take hours here).
DISTRO_VARIANTS = ("stock-distro", "distro")
# What 'build all' and 'make test' build; kasan (a long build, small
# guests only) is built by 'build kasan' and 'test --full'.
CI_VARIANTS = ("stock", "patched", "debug")
CONFIG_DIR = os.path.join(ROOT, "config")
FRAGMENTS = {
    "stock": ["guest.config", "kselftest.config"],
    "patched": ["guest.config", "kselftest.config"],
    "debug": ["guest.config", "kselftest.config", "debug.config"],
    "kasan": ["guest.config", "kselftest.config", "kasan.config"],
    "stock-distro": ["distro.config"],
    "distro": ["distro.config"],
}
# Upstream selftests' own config files, merged from the kernel tree being
# built, before config/'s fragments: every kernel can run them
# (harness/kselftest.py).
TREE_FRAGMENTS = [
    os.path.join("tools", "testing", "selftests", "mm", "config"),
    os.path.join("tools", "testing", "selftests", "memory-hotplug", "config"),
]
STOCK_SRC = os.path.join(BUILD, "src", "stock")
# ccache keys without this checkout's absolute path, so that a fresh clone
# elsewhere (CI) hits the cache: paths under the repository become
# relative, and kbuild's -fmacro-prefix-map (which only strips the source
# root from __FILE__) is left out of the hash.
CCACHE_ENV = {
    "CCACHE_BASEDIR": ROOT,
    "CCACHE_IGNOREOPTIONS": "-fmacro-prefix-map=*",
}
# Fixed build identity: identical sources give identical objects (ccache).
BUILD_ENV = {
    "KBUILD_BUILD_TIMESTAMP": "2000-01-01",
    "KBUILD_BUILD_USER": "mtinit",
    "KBUILD_BUILD_HOST": "mtinit",
}


def out_dir(variant):
    return os.path.join(BUILD, "out", variant)


def kernel_image(variant):
    return os.path.join(out_dir(variant), "arch", "x86", "boot", "bzImage")


def build_info(variant):
    """What a finished build recorded about itself, or None."""
    path = os.path.join(out_dir(variant), "mtinit-build.json")
    if not os.path.exists(path) or not os.path.exists(kernel_image(variant)):
        return None
    with open(path) as fh:
        return json.load(fh)


def unmet_options(wanted, dotconfig):
    """Options of the fragments that did not survive olddefconfig."""
    have = parse_fragment(dotconfig)
    unmet = []
    for key, value in wanted.items():
        got = have.get(key, "n")
        if got != value:
            unmet.append("%s=%s (got %s)" % (key, value, got))
    return unmet


def source_tree(variant):
    """The source directory of a variant, exported from git if needed."""
    if not os.path.isdir(os.path.join(KTREE, ".git")):
        raise MtinitError("build/linux does not exist; run './mtinit "
                          "prepare' first")
    if variant not in STOCK_VARIANTS:
        return KTREE
    base = git(["rev-parse", "base"]).strip()
    stamp = os.path.join(STOCK_SRC, ".mtinit-base")
    if os.path.exists(stamp) and open(stamp).read().strip() == base:
        return STOCK_SRC
    info("exporting the base into build/src/stock")
    shutil.rmtree(STOCK_SRC, ignore_errors=True)
    ensure_dir(STOCK_SRC)
    run(["sh", "-c", "git -C '%s' archive base | tar -x -C '%s'"
         % (KTREE, STOCK_SRC)])
    with open(stamp, "w") as fh:
        fh.write(base + "\n")
    return STOCK_SRC


def source_commit(variant):
    stock = variant in STOCK_VARIANTS
    commit = git(["rev-parse", "--short=12", "base" if stock else "HEAD"])
    commit = commit.strip()
    if not stock:
        dirty = git(["status", "--porcelain", "--untracked-files=no"])
        if dirty.strip():
            commit += "-dirty"
    return commit


def fragments(variant, src):
    """The fragments merged into a variant's starting configuration."""
    ours = [os.path.join(CONFIG_DIR, f) for f in FRAGMENTS[variant]]
    if variant in DISTRO_VARIANTS:
        return ours
    return [os.path.join(src, f) for f in TREE_FRAGMENTS] + ours


def start_config(variant, make, dotconfig):
    """Write the configuration the fragments go on: tinyconfig, or
    Debian's cloud-amd64 configuration for the distro variants."""
    if variant in DISTRO_VARIANTS:
        distro.write_config(dotconfig)
    else:
        run(make + ["tinyconfig"], quiet=True, env=BUILD_ENV)


def configure(variant, src, odir):
    """The starting configuration + the variant's fragments; verify every
    option of the fragments stuck, and that a distro variant kept Debian's
    value of every option that changes memory init (harness/distro.py)."""
    frags = fragments(variant, src)
    wanted = {}
    for frag in frags:
        wanted.update(parse_fragment(frag))
    digest = hashlib.sha256()
    for frag in frags:
        digest.update(open(frag, "rb").read())
    if variant in DISTRO_VARIANTS:
        digest.update(open(distro.config_path(), "rb").read())
    stamp = os.path.join(odir, ".mtinit-config")
    dotconfig = os.path.join(odir, ".config")
    if (os.path.exists(stamp) and os.path.exists(dotconfig)
            and open(stamp).read() == digest.hexdigest()):
        return
    make = ["make", "-s", "-C", src, "O=" + odir]
    start_config(variant, make, dotconfig)
    run([os.path.join(src, "scripts", "kconfig", "merge_config.sh"), "-m",
         "-O", odir, dotconfig] + frags, quiet=True)
    run(make + ["olddefconfig"], quiet=True, env=BUILD_ENV)
    unmet = unmet_options(wanted, dotconfig)
    if unmet:
        raise MtinitError("kernel config for %s lacks: %s"
                          % (variant, ", ".join(unmet)))
    if variant in DISTRO_VARIANTS:
        changed = distro.differences(parse_fragment(dotconfig),
                                     distro.read_config())
        if changed:
            raise MtinitError("the %s kernel's config lost Debian's values: "
                              "%s" % (variant, "; ".join(changed)))
    with open(stamp, "w") as fh:
        fh.write(digest.hexdigest())


@contextlib.contextmanager
def build_lock():
    """One kernel build at a time on this machine (2 cores)."""
    path = os.path.join(ensure_dir(BUILD), ".kbuild.lock")
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            info("waiting for another kernel build to finish")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def build(variant):
    """Build one variant; return its build info."""
    with build_lock():
        return _build(variant)


def _build(variant):
    if variant not in VARIANTS:
        raise MtinitError("unknown kernel '%s' (use %s)"
                          % (variant, "|".join(VARIANTS)))
    deps.ensure_step("build")
    debian_config = None
    if variant in DISTRO_VARIANTS:
        deps.ensure_step("distro build")
        debian_config = "%s %s, flavour %s" % (
            distro.PACKAGE, distro.ensure_config(), distro.FLAVOUR)
    src = source_tree(variant)
    odir = ensure_dir(out_dir(variant))
    configure(variant, src, odir)
    log = os.path.join(odir, "mtinit-build.log")
    info("building %s kernel (log: %s)" % (variant, os.path.relpath(log)))
    env = dict(BUILD_ENV)
    env.update(CCACHE_ENV)
    env.setdefault("CCACHE_DIR", os.environ.get(
        "CCACHE_DIR", os.path.expanduser("~/.cache/ccache")))
    try:
        run(["make", "-C", src, "O=" + odir, "-j%d" % (os.cpu_count() or 2),
             "CC=ccache gcc"] + make_targets(variant), env=env, log=log)
    except MtinitError:
        with open(log) as fh:
            tail = "".join(fh.readlines()[-15:])
        raise MtinitError("the %s kernel does not build; end of %s:\n%s"
                          % (variant, os.path.relpath(log), tail))
    record = {
        "variant": variant,
        "commit": source_commit(variant),
        "base": git(["log", "-1", "--format=%s", "base"]).strip(),
        "release": open(os.path.join(
            odir, "include", "config", "kernel.release")).read().strip(),
    }
    if debian_config:
        record["debian_config"] = debian_config
    with open(os.path.join(odir, "mtinit-build.json"), "w") as fh:
        json.dump(record, fh, indent=1)
    info("built %s: %s" % (variant, os.path.relpath(kernel_image(variant))))
    return record


def make_targets(variant):
    if variant in DISTRO_VARIANTS:
        return ["bzImage"]
    return ["bzImage", "modules"]


def build_many(which):
    variants = CI_VARIANTS if which == "all" else (which,)
    return [build(v) for v in variants]
