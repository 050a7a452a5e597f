"""Series hygiene: exported, applies three ways, checkpatch and kernel-doc."""

import os
import re
import shutil
import tempfile

from . import base, deps
from .util import BUILD, KTREE, PATCHES, MtinitError, ensure_dir, git, run

DIFF_GIT = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.M)


def touched_files(names, patches_dir=PATCHES):
    """Paths the series modifies (as they are named in the base)."""
    paths = set()
    for name in names:
        with open(os.path.join(patches_dir, name)) as fh:
            for old, _new in DIFF_GIT.findall(fh.read()):
                paths.add(old)
    return sorted(paths)


def _base_copy(paths, dest):
    """Write the base's version of paths (those that exist) under dest."""
    for path in paths:
        rc, content = git(["show", "base:" + path], check=False)
        if rc != 0:
            continue
        target = os.path.join(dest, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as fh:
            fh.write(content)


def check_applies(names):
    """Apply the series to the base's files with quilt and with patch -p1."""
    paths = touched_files(names)
    with tempfile.TemporaryDirectory() as tmp:
        quilt_dir = os.path.join(tmp, "quilt")
        _base_copy(paths, quilt_dir)
        shutil.copytree(PATCHES, os.path.join(quilt_dir, "patches"))
        rc, out = run(["quilt", "push", "-a", "-q"], cwd=quilt_dir,
                      quiet=True, check=False,
                      env={"QUILT_PATCHES": "patches", "QUILTRC": "-"})
        if rc != 0:
            return ["quilt push -a fails:\n" + out.strip()]
        patch_dir = os.path.join(tmp, "patch")
        _base_copy(paths, patch_dir)
        for name in names:
            rc, out = run(["patch", "-p1", "-s", "-N", "-i",
                           os.path.join(PATCHES, name)], cwd=patch_dir,
                          quiet=True, check=False)
            if rc != 0:
                return ["patch -p1 < %s fails:\n%s" % (name, out.strip())]
    return []


# build/linux holds the base as one commit, without upstream's history, so
# checkpatch cannot look up the commit a Fixes: tag names; the form of the
# tag is still checked (GIT_COMMIT_ID).
CHECKPATCH_IGNORE = ["UNKNOWN_COMMIT_ID"]


def check_checkpatch(names):
    problems = []
    script = os.path.join(KTREE, "scripts", "checkpatch.pl")
    for name in names:
        rc, out = run(["perl", script, "--strict", "--no-tree", "--terse",
                       "--show-types",
                       "--ignore", ",".join(CHECKPATCH_IGNORE),
                       os.path.join(PATCHES, name)],
                      cwd=KTREE, quiet=True, check=False)
        bad = [line for line in out.splitlines()
               if re.search(r"\b(ERROR|WARNING|CHECK):", line)]
        if rc != 0 or bad:
            problems.append("checkpatch --strict on %s:\n  %s"
                            % (name, "\n  ".join(bad or [out.strip()])))
    return problems


def _kernel_doc(path, strict):
    """kernel-doc's complaints about one file, without line numbers."""
    script = os.path.join(KTREE, "scripts", "kernel-doc")
    cmd = ["perl", script, "-none"] + (["-Wall"] if strict else [])
    _, out = run(cmd + [path], cwd=KTREE, quiet=True, check=False)
    return {re.sub(r":\d+:", ":", line.replace(KTREE + "/", ""))
            for line in out.splitlines() if line.strip()}


def check_kernel_doc(names):
    """kernel-doc -none must be silent on every C file the series changes,
    and -Wall must find nothing there that the base does not have."""
    problems = []
    files = [p for p in touched_files(names)
             if p.endswith((".c", ".h")) and
             os.path.exists(os.path.join(KTREE, p))]
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            found = sorted(_kernel_doc(path, strict=False))
            before = set()
            rc, content = git(["show", "base:" + path], check=False)
            if rc == 0:
                old = os.path.join(tmp, path)
                os.makedirs(os.path.dirname(old), exist_ok=True)
                with open(old, "w") as fh:
                    fh.write(content)
                before = {line.replace(old, path)
                          for line in _kernel_doc(old, strict=True)}
            found += sorted(_kernel_doc(path, strict=True) - before)
            if found:
                problems.append("kernel-doc on %s:\n  %s"
                                % (path, "\n  ".join(found[:20])))
    return problems


def check_bisect(names):
    """Every patch builds on its own: at each commit above base, compile
    the C files that the series touches (in a worktree of its own, so the
    patched build is left alone)."""
    from . import build
    # Kernel objects only: tools/ (selftests, their modules) is not kbuild.
    objects = sorted({p[:-2] + ".o" for p in touched_files(names)
                      if p.endswith(".c") and not p.startswith("tools/")})
    if not objects:
        return []
    tree = os.path.join(BUILD, "bisect")
    odir = ensure_dir(os.path.join(BUILD, "out", "bisect"))
    git(["worktree", "prune"])
    if not os.path.isdir(tree):
        git(["worktree", "add", "-f", "--detach", tree, "base"])
    commits = git(["rev-list", "--reverse", "base..HEAD"]).split()
    problems = []
    if not commits:
        return problems
    deps.ensure_step("build")
    with build.build_lock():
        # The patched kernel's config (the series adds no Kconfig symbol).
        git(["checkout", "-q", "-f", commits[-1]], cwd=tree)
        build.configure("patched", tree, odir)
        for index, commit in enumerate(commits):
            git(["checkout", "-q", "-f", commit], cwd=tree)
            log = os.path.join(odir, "patch-%d.log" % (index + 1))
            rc, _ = run(["make", "-C", tree, "O=" + odir, "-j%d"
                         % (os.cpu_count() or 2), "CC=ccache gcc",
                         "olddefconfig"] + objects, quiet=True, check=False,
                        env=dict(build.BUILD_ENV, **build.CCACHE_ENV))
            if rc != 0:
                rc, _ = run(["make", "-C", tree, "O=" + odir, "CC=ccache gcc"]
                            + objects, log=log, check=False,
                            env=build.BUILD_ENV)
                problems.append("patch %d (%s) does not compile; see %s"
                                % (index + 1, names[index],
                                   os.path.relpath(log)))
    return problems


def run_check(bisect=True):
    """Return every problem found (empty: the series is clean)."""
    deps.ensure_step("check")
    if not os.path.isdir(os.path.join(KTREE, ".git")):
        base.prepare()
    names = base.series_names()
    problems = []
    if base.tree_is_dirty():
        problems.append("build/linux has uncommitted changes")
    stale = base.exported_differs()
    if stale:
        problems.append("patches/ is not what build/linux exports (run "
                        "'./mtinit refresh'): " + ", ".join(stale))
    problems += check_applies(names)
    problems += check_checkpatch(names)
    problems += check_kernel_doc(names)
    if bisect and not problems:
        problems += check_bisect(names)
    return names, problems


def main():
    names, problems = run_check()
    if problems:
        for problem in problems:
            print("FAIL: " + problem)
        raise MtinitError("series check: %d problem(s)" % len(problems))
    print("series check: %d patches exported, apply with git am, quilt and "
          "patch -p1, checkpatch --strict and kernel-doc clean, each "
          "compiles on its own" % len(names))
