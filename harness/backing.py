"""How guest RAM is backed on the host: prefaulted or sparse.

sparse: memory-backend-ram with reserve=off. The host gives a page on the
guest's first touch of it, so 64-256 GiB guests fit a 24 GiB host. Under
TCG that first touch is a host page fault (and a slow path in QEMU) that
no real machine pays, and it dominates wall-clock (MTTCG) figures of
memory init.

prealloc: prealloc=on. QEMU touches every page before the guest starts
(host time that wall_s includes and guest times do not), so the guest
pays no first-touch fault. The whole guest must fit the host: a prealloc
guest must leave HOST_RESERVE_MB of MemAvailable.

auto: prealloc when it fits, sparse otherwise (with one info line).
"""

import re

from .topology import format_size
from .util import MtinitError, info

BACKINGS = ("prealloc", "sparse")
CHOICES = ("auto",) + BACKINGS
# What a prealloc guest must leave available to the host (QEMU itself,
# the harness, a kernel build beside it).
HOST_RESERVE_MB = 2048
MEMINFO = "/proc/meminfo"


def mem_available_mb(path=MEMINFO):
    """The host's MemAvailable in MiB, or None when it cannot be read."""
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError:
        return None
    m = re.search(r"^MemAvailable:\s+(\d+) kB$", text, re.M)
    return int(m.group(1)) // 1024 if m else None


def prealloc_refusal(guest_mb, available_mb):
    """Why a prealloc guest of guest_mb does not fit, or None if it does."""
    if available_mb is None:
        return ("a prealloc %s guest needs the host's MemAvailable, and "
                "%s has none" % (format_size(guest_mb), MEMINFO))
    needed = guest_mb + HOST_RESERVE_MB
    if available_mb >= needed:
        return None
    return ("a prealloc %s guest needs %s of MemAvailable (the guest and "
            "%s left to the host) and the host has %s"
            % (format_size(guest_mb), _gib(needed),
               format_size(HOST_RESERVE_MB), _gib(available_mb)))


def _gib(mb):
    """A host figure in MiB as GiB with one decimal."""
    return "%.1fG" % (mb / 1024.0)


def choose(requested, guest_mb, available_mb):
    """(backing, note): what a guest of guest_mb gets on a host with
    available_mb MemAvailable. note explains an auto fallback to sparse
    (else None); prealloc that does not fit is refused."""
    if requested not in CHOICES:
        raise MtinitError("--backing '%s': use %s" % (requested,
                                                      ", ".join(CHOICES)))
    if requested == "sparse":
        return "sparse", None
    refusal = prealloc_refusal(guest_mb, available_mb)
    if requested == "prealloc":
        if refusal:
            raise MtinitError("--backing prealloc: %s; use --backing "
                              "sparse (or auto) or a smaller guest"
                              % refusal)
        return "prealloc", None
    if refusal:
        return "sparse", "guest RAM is sparse: %s" % refusal
    return "prealloc", None


def resolve(requested, guest_mb, meminfo=MEMINFO):
    """The backing a boot uses now, from the host's current MemAvailable;
    an auto fallback to sparse is said in one info line."""
    backing, note = choose(requested, guest_mb,
                           mem_available_mb(meminfo)
                           if requested != "sparse" else None)
    if note:
        info(note)
    return backing
