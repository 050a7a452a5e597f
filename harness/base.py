"""The pinned base and the series: prepare build/linux, refresh patches/."""

import filecmp
import hashlib
import os
import re
import shutil
import tempfile

from . import deps
from .util import (KTREE, PATCHES, ROOT, MtinitError, ensure_dir, git, info,
                   run, warn)

PIN_FILE = os.path.join(ROOT, "BASE")
SERIES = os.path.join(PATCHES, "series")
COVER = os.path.join(PATCHES, "0000-cover-letter.patch")
COVER_TEXT = os.path.join(ROOT, "doc", "cover-letter.txt")
# A fixed identity and date make the base commit the same on every machine.
BASE_ENV = {
    "GIT_AUTHOR_NAME": "mtinit", "GIT_AUTHOR_EMAIL": "mtinit@localhost",
    "GIT_COMMITTER_NAME": "mtinit", "GIT_COMMITTER_EMAIL": "mtinit@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}


def read_pin(path=PIN_FILE):
    """Parse the BASE file ('key = value' lines, '#' comments)."""
    pin = {}
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "=" not in line:
                raise MtinitError("%s:%d: expected 'key = value'"
                                  % (path, lineno))
            key, value = (s.strip() for s in line.split("=", 1))
            pin[key] = value
    for key in ("package", "version", "tarball", "sha256"):
        if key not in pin:
            raise MtinitError("%s: '%s' is missing" % (path, key))
    return pin


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_base_package(pin):
    """Install the pinned source package; return the version in use."""
    return ensure_pinned(pin["package"], pin["version"])


def ensure_pinned(package, version):
    """Install package at version (the base's: Debian builds its source
    and its configurations together); return the version in use.

    Falls back to the newest available one when the pinned version has
    left the archive, and says so loudly.
    """
    have = deps.installed_version(package)
    if have == version:
        return have
    try:
        deps.apt_install(["%s=%s" % (package, version)],
                         allow_downgrades=True)
        return version
    except MtinitError:
        pass
    if have is None:
        deps.apt_install([package])
        have = deps.installed_version(package)
    warn("*" * 64)
    warn("the pinned %s %s is not available;" % (package, version))
    warn("FALLING BACK to %s %s. Results are not from the pinned base."
         % (package, have))
    warn("*" * 64)
    return have


def verify_tarball(pin, version):
    """Check the tarball's checksum against the pin (when it is the pin)."""
    tarball = pin["tarball"]
    if not os.path.exists(tarball):
        raise MtinitError("base tarball %s is missing" % tarball)
    actual = sha256_of(tarball)
    if version == pin["version"] and actual != pin["sha256"]:
        raise MtinitError("base tarball %s has sha256 %s, but BASE pins %s"
                          % (tarball, actual, pin["sha256"]))
    return actual


def series_names(series=SERIES):
    """The patch file names of the series, in order."""
    if not os.path.exists(series):
        return []
    names = []
    with open(series) as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    for name in names:
        if not os.path.exists(os.path.join(os.path.dirname(series), name)):
            raise MtinitError("patches/series names %s, which does not exist"
                              % name)
    return names


def tree_is_dirty(tree=KTREE):
    return bool(git(["status", "--porcelain", "--untracked-files=no"],
                    cwd=tree).strip())


def identity():
    """The project repository's git identity, used in build/linux too."""
    name = git(["config", "user.name"], cwd=ROOT, check=False)[1].strip()
    email = git(["config", "user.email"], cwd=ROOT, check=False)[1].strip()
    return name or "mtinit", email or "mtinit@localhost"


def _unpack_base(pin, version, sha):
    info("unpacking %s into build/linux" % pin["tarball"])
    shutil.rmtree(KTREE, ignore_errors=True)
    ensure_dir(KTREE)
    run(["tar", "-xf", pin["tarball"], "-C", KTREE, "--strip-components=1"])
    git(["init", "-q", "-b", "main"])
    name, email = identity()
    git(["config", "user.name", name])
    git(["config", "user.email", email])
    # Debian's .gitignore ignores every top-level entry ('/*'): force.
    git(["add", "-A", "-f", "."])
    msg = ("base: Debian %s %s\n\nsha256 of the tarball: %s\n"
           % (pin["package"], version, sha))
    git(["commit", "-q", "--no-verify", "-m", msg], env=BASE_ENV)
    git(["tag", "base"])


def base_version_of_tree():
    """The package version recorded in build/linux's base commit."""
    msg = git(["log", "-1", "--format=%s", "base"])
    m = re.match(r"base: Debian \S+ (\S+)", msg.strip())
    return m.group(1) if m else None


def apply_series(tree=KTREE, patches_dir=PATCHES):
    """git am every patch of the series in order, one commit each."""
    names = series_names(os.path.join(patches_dir, "series"))
    for index, name in enumerate(names):
        rc, out = git(["am", "-q", "--committer-date-is-author-date",
                       os.path.join(patches_dir, name)], cwd=tree,
                      check=False)
        if rc != 0:
            git(["am", "--abort"], cwd=tree, check=False)
            raise MtinitError(
                "patch %d/%d %s does not apply:\n%s\nbuild/linux is left at "
                "base plus the first %d patches (nothing half-applied)."
                % (index + 1, len(names), name, out.strip(), index))
    return len(names)


def prepare(force=False):
    """Create build/linux = pinned base + patches/, one commit per patch."""
    deps.ensure_step("prepare")
    pin = read_pin()
    version = ensure_base_package(pin)
    sha = verify_tarball(pin, version)
    if os.path.isdir(os.path.join(KTREE, ".git")):
        if tree_is_dirty():
            raise MtinitError("build/linux has uncommitted changes; commit "
                              "them and run './mtinit refresh', or discard "
                              "them, before prepare")
        if base_version_of_tree() == version:
            differs = exported_differs()
            if not differs:
                info("build/linux already holds the base and patches/; "
                     "nothing to do")
                return
            if not force:
                raise MtinitError(
                    "build/linux has commits that differ from patches/ (%s):"
                    " run './mtinit refresh' to keep them, or "
                    "'./mtinit prepare --force' to discard them"
                    % ", ".join(differs))
            git(["am", "--abort"], check=False)
            git(["reset", "-q", "--hard", "base"])
            git(["clean", "-q", "-fdx"])
        else:
            _unpack_base(pin, version, sha)
    else:
        _unpack_base(pin, version, sha)
    count = apply_series()
    info("build/linux: base (%s %s) + %d patches"
         % (pin["package"], version, count))
    if version != pin["version"]:
        warn("build/linux is on the FALLBACK base %s, not the pinned %s"
             % (version, pin["version"]))


def export_series(dest, tree=KTREE):
    """Write the series of build/linux (base..HEAD) into dest."""
    ensure_dir(dest)
    # A fixed abbreviation: git's automatic one grows with the number of
    # objects (and changes when git gc packs them), which would change
    # the 'index' lines of the same series from one checkout to another.
    # The cover letter is from the series' author, not from whoever this
    # machine's git says it is (a new machine may have no identity).
    name = git(["log", "-1", "--format=%an", "HEAD"], cwd=tree).strip()
    email = git(["log", "-1", "--format=%ae", "HEAD"], cwd=tree).strip()
    git(["-c", "core.abbrev=12", "format-patch", "-q", "--abbrev=12",
         "--zero-commit", "--no-signature", "--cover-letter", "--base=base",
         "-o", dest, "base..HEAD"], cwd=tree,
        env={"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email})
    names = sorted(n for n in os.listdir(dest)
                   if n.endswith(".patch") and not n.startswith("0000-"))
    with open(os.path.join(dest, "series"), "w") as fh:
        fh.write("".join(n + "\n" for n in names))
    _fill_cover_letter(os.path.join(dest, "0000-cover-letter.patch"))
    return names


def _fill_cover_letter(path):
    if not os.path.exists(path):
        return
    subject, body = "", ""
    if os.path.exists(COVER_TEXT):
        with open(COVER_TEXT) as fh:
            text = fh.read()
        subject, _, body = text.partition("\n")
        body = body.strip("\n")
    with open(path) as fh:
        letter = fh.read()
    letter = letter.replace("*** SUBJECT HERE ***", subject.strip())
    letter = letter.replace("*** BLURB HERE ***", body)
    letter = re.sub(r"^Date: .*\n", "", letter, count=1, flags=re.M)
    with open(path, "w") as fh:
        fh.write(letter)


def exported_differs(tree=KTREE):
    """Return the files in which patches/ differs from a fresh export."""
    with tempfile.TemporaryDirectory() as tmp:
        export_series(tmp, tree)
        return compare_dirs(tmp, PATCHES)


def compare_dirs(fresh, committed):
    def patch_files(d):
        if not os.path.isdir(d):
            return set()
        return {n for n in os.listdir(d)
                if n.endswith(".patch") or n == "series"}
    a, b = patch_files(fresh), patch_files(committed)
    diffs = sorted(a ^ b)
    for name in sorted(a & b):
        if not filecmp.cmp(os.path.join(fresh, name),
                           os.path.join(committed, name), shallow=False):
            diffs.append(name)
    return diffs


# Files that builds write into the source tree, not work left
# uncommitted: 'make htmldocs' (./mtinit check) turns the YNL specs into
# .rst files there even with O=, and kselftest's install rule builds the
# padata test module beside its source (kbuild's objects, hidden .cmd
# files, module lists); the mm selftests' build probes the toolchain into
# local_config.h and local_config.mk beside its sources.
NETLINK_RST = "Documentation/networking/netlink_spec/"
NETLINK_SPECS = "Documentation/netlink/specs"
BUILD_PRODUCTS = (".o", ".ko", ".mod", ".mod.c", ".cmd", "Module.symvers",
                  "modules.order")
SELFTEST_PRODUCTS = ("tools/testing/selftests/mm/local_config.h",
                     "tools/testing/selftests/mm/local_config.mk")


def generated_docs(tree=KTREE):
    """The .rst files 'make htmldocs' generates: one per YNL spec, and
    their index."""
    specs = os.path.join(tree, NETLINK_SPECS)
    names = sorted(os.listdir(specs)) if os.path.isdir(specs) else []
    return {NETLINK_RST + "index.rst"} | {
        NETLINK_RST + name[:-len(".yaml")] + ".rst"
        for name in names if name.endswith(".yaml")}


def not_committed(paths, generated=()):
    """The untracked paths of build/linux that may be work someone forgot
    to 'git add -f' (what builds generate left out: generated, the
    generated_docs(), kbuild's products and the selftests')."""
    return [p for p in paths if p not in generated
            and p not in SELFTEST_PRODUCTS
            and not os.path.basename(p).endswith(BUILD_PRODUCTS)]


def refresh():
    """Regenerate patches/ from build/linux's commits above base."""
    if not os.path.isdir(os.path.join(KTREE, ".git")):
        raise MtinitError("build/linux does not exist; run './mtinit "
                          "prepare' first")
    if tree_is_dirty():
        raise MtinitError("build/linux has uncommitted changes; commit them "
                          "first (only commits are exported)")
    untracked = not_committed(git(["ls-files", "--others", "--ignored",
                                   "--exclude-standard"]).split(),
                              generated_docs())
    if untracked:
        warn("build/linux has files that are not committed (Debian's "
             ".gitignore hides new files: use 'git add -f'): "
             + " ".join(untracked[:10]))
    with tempfile.TemporaryDirectory() as tmp:
        names = export_series(tmp)
        ensure_dir(PATCHES)
        for old in os.listdir(PATCHES):
            if old.endswith(".patch") or old == "series":
                os.unlink(os.path.join(PATCHES, old))
        for name in os.listdir(tmp):
            shutil.copy(os.path.join(tmp, name), PATCHES)
    info("patches/: %d patches and a cover letter" % len(names))
