"""Series hygiene: exported, applies three ways, checkpatch, kernel-doc,
each patch compiles, sparse and Sphinx add no warning to the base's,
coccicheck reports nothing on the lines the series adds."""

import collections
import os
import re
import shutil
import tempfile
import time

from . import base, deps
from .util import (BUILD, KTREE, PATCHES, MtinitError, ensure_dir, git,
                   info, run)

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


def _kbuild_object(path, tree=None):
    """Whether the C file path is built as an object of its own: its
    directory's Makefile names it. A C file that another one #includes
    (the series' KUnit suites, built into the file they test) is not, and
    compiling it alone would fail."""
    makefile = os.path.join(tree or KTREE, os.path.dirname(path), "Makefile")
    if not os.path.exists(makefile):
        return False
    with open(makefile) as fh:
        text = fh.read()
    name = os.path.basename(path)[:-2]
    pattern = r"(?<![\w-])%s\.o\b" % re.escape(name)
    return re.search(pattern, text) is not None


def _kernel_objects(names):
    """The kernel objects of the C files the series touches (tools/:
    selftests and their modules are not kbuild objects; nor are C files
    that other C files include)."""
    return sorted({p[:-2] + ".o" for p in touched_files(names)
                   if p.endswith(".c") and not p.startswith("tools/") and
                   _kbuild_object(p)})


def check_bisect(names):
    """Every patch builds on its own: at each commit above base, compile
    the C files that the series touches (in a worktree of its own, so the
    patched build is left alone)."""
    from . import build
    objects = _kernel_objects(names)
    if not objects:
        return []
    tree = os.path.join(BUILD, "bisect")
    odir = ensure_dir(os.path.join(BUILD, "out", "bisect"))
    git(["worktree", "prune"])
    if not os.path.exists(os.path.join(tree, ".git")):
        # Missing, or left half-made by an interrupted run.
        shutil.rmtree(tree, ignore_errors=True)
        git(["worktree", "prune"])
        git(["worktree", "add", "-f", "--detach", tree, "base"])
    commits = git(["rev-list", "--reverse", "base..HEAD"]).split()
    problems = []
    if not commits:
        return problems
    deps.ensure_step("build")
    with build.build_lock():
        # The patched kernel's config. The series' KUnit suites, #included
        # by the files they test, are built by the debug kernel at the
        # series' head.
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


# Where a sparse or Sphinx message points: file:line[:col]. Messages are
# compared without it, since the series moves the base's lines.
LOCATION = re.compile(r"(\S+?):\d+(:\d+)?:")


def _messages(text, pattern):
    """Counter of the lines matching pattern, without line numbers and
    with absolute paths made relative to the tree."""
    found = collections.Counter()
    for line in text.splitlines():
        if re.search(pattern, line):
            line = re.sub(r"/\S*?/(build/(linux|bisect|src/stock))/", "",
                          line)
            found[LOCATION.sub(r"\1:", line.strip())] += 1
    return found


def new_messages(before, after):
    """Messages of after that before does not have (as often)."""
    return sorted((after - before).elements())


SPARSE_MESSAGE = r": (warning|error): "


def _sparse(tree, odir, objects):
    """sparse's messages on the objects that exist in tree."""
    from . import build
    present = [o for o in objects
               if os.path.exists(os.path.join(tree, o[:-2] + ".c"))]
    rc, out = run(["make", "-C", tree, "O=" + odir, "C=2",
                   "-j%d" % (os.cpu_count() or 2), "CC=ccache gcc"] +
                  present, quiet=True, check=False,
                  env=dict(build.BUILD_ENV, **build.CCACHE_ENV))
    log = os.path.join(odir, "sparse.log")
    with open(log, "w") as fh:
        fh.write(out)
    if rc != 0:
        # A run that stopped early has fewer messages: never compare it.
        raise MtinitError("make C=2 fails in %s; see %s"
                          % (tree, os.path.relpath(log)))
    return _messages(out, SPARSE_MESSAGE)


def check_sparse(names):
    """sparse (make C=2) on the C files the series touches: no message the
    base does not have on the same files. Runs in check_bisect's worktree
    and configuration."""
    from . import build
    objects = _kernel_objects(names)
    if not objects:
        return []
    deps.ensure_step("sparse")
    tree = os.path.join(BUILD, "bisect")
    odir = os.path.join(BUILD, "out", "bisect")
    with build.build_lock():
        # build/linux's HEAD: the whole series.
        git(["checkout", "-q", "-f", git(["rev-parse", "HEAD"]).strip()],
            cwd=tree)
        after = _sparse(tree, odir, objects)
        git(["checkout", "-q", "-f", "base"], cwd=tree)
        before = _sparse(tree, odir, objects)
    added = new_messages(before, after)
    if added:
        return ["sparse finds what the base does not have:\n  " +
                "\n  ".join(added[:20])]
    return []


# coccicheck (report mode) runs every semantic patch of
# scripts/coccinelle/ on one file at a time. On this machine (2 cores,
# while a guest ran beside it) the series' C files took 34 s
# (mm/mm_init_kunit.c) to 130 s (kernel/sched/core.c), about 8 minutes
# for all seven: cheap enough to check every one rather than a subset.
# Two limits: headers are not checked (coccicheck's rules are written
# for C files), and a report on a base line that the series' changes
# cause elsewhere (say a lock the series no longer releases) is not
# seen.
# A report: path:line:columns: message (coccilib's report format).
COCCI_REPORT = re.compile(r"^(\S+?\.c):(\d+):\S*:? (.*)$")
# Each semantic patch run, as coccicheck echoes it.
COCCI_RUN = re.compile(r"^\S*spatch .*--cocci-file (\S+)", re.M)
COCCI_SKIPPED = "Skipping coccinelle SmPL patch"
HUNK = re.compile(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", re.M)
# What the caller's environment must not change in coccicheck: which
# rules run (COCCI), spatch's options (SPFLAGS), a debug file that makes
# every later run bail out with status 0 (DEBUG_FILE), and more.
COCCI_ENV = {"C": "2", "MODE": "report", "V": "0", "COCCI": "",
             "SPFLAGS": "", "DEBUG_FILE": "", "LINUXINCLUDE": "",
             "KBUILD_EXTMOD": "", "SPATCH": "spatch"}


def added_lines(diff):
    """Line numbers (in the new file) that a unified diff adds."""
    lines = set()
    for start, count in HUNK.findall(diff):
        first = int(start)
        lines.update(range(first, first + int(count or "1")))
    return lines


def cocci_reports(text):
    """(path, line, message) of each report in coccicheck's output (its
    echo of each spatch command and spatch's warnings about the semantic
    patches themselves are not reports)."""
    found = []
    for line in text.splitlines():
        match = COCCI_REPORT.match(line.strip())
        if match:
            found.append((match.group(1), int(match.group(2)),
                          match.group(3)))
    return found


def cocci_incomplete(text, rules):
    """Why coccicheck's output shows that not every semantic patch ran
    (it exits 0 when it skips one for its spatch version), or None."""
    if COCCI_SKIPPED in text:
        return "it skipped semantic patches (%s)" % COCCI_SKIPPED
    ran = len(COCCI_RUN.findall(text))
    if ran != rules:
        return "it ran %d of the %d semantic patches" % (ran, rules)
    return None


def cocci_files(names, patches_dir=PATCHES, tree=None):
    """The series' C files as they are named at its head (a renamed file
    by its new name), those that exist there (tree: build/linux by
    default)."""
    paths = set()
    for name in names:
        with open(os.path.join(patches_dir, name)) as fh:
            paths.update(new for _old, new in DIFF_GIT.findall(fh.read()))
    return sorted(path for path in paths if path.endswith(".c") and
                  os.path.exists(os.path.join(tree or KTREE, path)))


def _cocci_rules():
    rules = 0
    for _dirpath, _dirs, files in os.walk(os.path.join(KTREE, "scripts",
                                                       "coccinelle")):
        rules += sum(1 for f in files if f.endswith(".cocci"))
    return rules


def _coccicheck(path):
    """coccicheck's reports on one file of build/linux."""
    rc, out = run([os.path.join(KTREE, "scripts", "coccicheck"), path],
                  cwd=KTREE, quiet=True, check=False,
                  env=dict(COCCI_ENV, srctree=KTREE))
    if rc != 0:
        raise MtinitError("scripts/coccicheck %s fails:\n%s"
                          % (path, out.strip()[-2000:]))
    incomplete = cocci_incomplete(out, _cocci_rules())
    if incomplete:
        raise MtinitError("scripts/coccicheck %s did not check it all: %s"
                          % (path, incomplete))
    return cocci_reports(out)


def series_added_lines(path):
    """The lines of path (build/linux) that the series adds."""
    diff = git(["diff", "--no-color", "--no-ext-diff", "--no-renames",
                "-U0", "base", "HEAD", "--", path])
    lines = added_lines(diff)
    if diff.strip() and "\n+" in diff and not lines:
        raise MtinitError("cannot read the hunks of git diff on %s" % path)
    return lines


def check_coccicheck(names):
    """coccicheck in report mode on the series' C files: no report on a
    line the series adds. Reports on the base's own lines are the base's
    (mm/mm_init.c has three)."""
    deps.ensure_step("coccicheck")
    problems = []
    for path in cocci_files(names):
        ours = series_added_lines(path)
        found = ["%s:%d: %s" % report for report in _coccicheck(path)
                 if report[0] == path and report[1] in ours]
        if found:
            problems.append("coccicheck reports on lines the series adds "
                            "to %s:\n  %s" % (path, "\n  ".join(found)))
    return problems


DOCS_DIRS = "core-api"
# Sphinx's own messages, and kernel-doc's (lower case) passed through it.
DOCS_MESSAGE = r"\b(WARNING|ERROR|CRITICAL)\b|: (warning|error): "


def _htmldocs(tree, name):
    odir = ensure_dir(os.path.join(BUILD, "out", "docs-" + name))
    log = os.path.join(odir, "htmldocs.log")
    rc, out = run(["make", "-C", tree, "O=" + odir, "htmldocs",
                   "SPHINXDIRS=" + DOCS_DIRS, "SPHINXOPTS=-j1"],
                  quiet=True, check=False)
    with open(log, "w") as fh:
        fh.write(out)
    if rc != 0:
        raise MtinitError("make htmldocs SPHINXDIRS=%s fails in %s; see %s"
                          % (DOCS_DIRS, tree, os.path.relpath(log)))
    return _messages(out, DOCS_MESSAGE)


def check_docs():
    """Sphinx on Documentation/core-api (padata.rst and the kernel-doc it
    pulls in): no warning the base's core-api does not have."""
    from . import build
    deps.ensure_step("docs")
    after = _htmldocs(KTREE, "patched")
    before = _htmldocs(build.source_tree("stock"), "stock")
    added = new_messages(before, after)
    if added:
        return ["make htmldocs SPHINXDIRS=%s warns where the base does "
                "not:\n  %s" % (DOCS_DIRS, "\n  ".join(added[:20]))]
    return []


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
        problems += timed("compile each patch", check_bisect, names)
        problems += timed("sparse", check_sparse, names)
        problems += timed("coccicheck", check_coccicheck, names)
    if not problems:
        problems += timed("Sphinx", check_docs)
    return names, problems


def timed(what, func, *args):
    """Run one step of the check, saying how long it took."""
    start = time.time()
    problems = func(*args)
    info("check: %s took %.0f s" % (what, time.time() - start))
    return problems


def main():
    names, problems = run_check()
    if problems:
        for problem in problems:
            print("FAIL: " + problem)
        raise MtinitError("series check: %d problem(s)" % len(problems))
    print("series check: %d patches exported, apply with git am, quilt and "
          "patch -p1, checkpatch --strict and kernel-doc clean, each "
          "compiles on its own" % len(names))
