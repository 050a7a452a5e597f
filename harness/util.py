"""Small helpers shared by every module: errors, paths, running commands."""

import errno
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
# Boot logs and reports; MTINIT_OUT moves them (e.g. to a bigger disk).
OUT = os.environ.get("MTINIT_OUT") or os.path.join(ROOT, "out")
KTREE = os.path.join(BUILD, "linux")
PATCHES = os.path.join(ROOT, "patches")


class MtinitError(Exception):
    """A failure the user must see as one clear message (exit 1)."""


def info(msg):
    print("mtinit: " + msg, file=sys.stderr, flush=True)


def warn(msg):
    print("mtinit: WARNING: " + msg, file=sys.stderr, flush=True)


def run(cmd, cwd=None, env=None, quiet=False, check=True, log=None):
    """Run a command; raise MtinitError naming it when it fails.

    With quiet=True the output is captured and returned (and shown only on
    failure); with log=PATH it goes to that file instead.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        if log:
            with open(log, "w") as fh:
                proc = subprocess.run(cmd, cwd=cwd, env=full_env, stdout=fh,
                                      stderr=subprocess.STDOUT, text=True)
            out = ""
        elif quiet:
            proc = subprocess.run(cmd, cwd=cwd, env=full_env, text=True,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
            out = proc.stdout
        else:
            proc = subprocess.run(cmd, cwd=cwd, env=full_env, text=True)
            out = ""
    except FileNotFoundError:
        raise MtinitError("command not found: %s" % cmd[0])
    if check and proc.returncode != 0:
        detail = ""
        if quiet and out:
            detail = "\n" + "\n".join(out.rstrip().splitlines()[-20:])
        if log:
            detail = " (see %s)" % log
        raise MtinitError("'%s' failed with exit code %d%s"
                          % (" ".join(cmd[:4]), proc.returncode, detail))
    return out if check else (proc.returncode, out)


def git(args, cwd=KTREE, quiet=True, check=True, env=None):
    return run(["git"] + args, cwd=cwd, quiet=quiet, check=check, env=env)


def ensure_dir(path):
    os.makedirs(path, exist_ok=True)
    return path


def need_space(path, mb, what):
    """Refuse to start work that would fill the disk holding path."""
    probe = path
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    free_mb = shutil.disk_usage(probe).free // (1024 * 1024)
    if free_mb < mb:
        raise MtinitError("%s needs %d MiB free in %s, the disk has %d MiB: "
                          "free some space (or set MTINIT_OUT)"
                          % (what, mb, path, free_mb))


def os_error_message(err):
    """One line for an OSError that escaped (disk full, permissions)."""
    where = " %s" % err.filename if err.filename else ""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return ("cannot write%s: %s; free some space on that disk (or set "
                "MTINIT_OUT)" % (where, err.strerror))
    return "%s%s: %s" % ("I/O error on" if where else "I/O error", where,
                         err.strerror or err)


def ranges(numbers):
    """[0, 1, 3] -> [(0, 1), (3, 3)]: the runs of consecutive numbers."""
    out = []
    for number in sorted(numbers):
        if out and out[-1][1] == number - 1:
            out[-1][1] = number
        else:
            out.append([number, number])
    return [tuple(r) for r in out]
