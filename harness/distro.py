"""Debian's own 6.12 kernel configuration (package linux-config-6.12):
the options of config/guest.config that must keep Debian's values."""

import lzma
import os

from .kconfig import parse_config_lines
from .util import MtinitError

CONFIG_DIR = "/usr/src/linux-config-6.12"
FLAVOUR = "amd64_none_cloud-amd64"
# The options that change how memory is initialised and freed, or how
# padata's helpers run: the guest must be built as Debian builds them.
OPTIONS = (
    "CONFIG_INIT_ON_ALLOC_DEFAULT_ON", "CONFIG_INIT_ON_FREE_DEFAULT_ON",
    "CONFIG_SHUFFLE_PAGE_ALLOCATOR", "CONFIG_PAGE_POISONING",
    "CONFIG_PAGE_EXTENSION", "CONFIG_KFENCE", "CONFIG_KFENCE_SAMPLE_INTERVAL",
    "CONFIG_UNACCEPTED_MEMORY", "CONFIG_NR_CPUS", "CONFIG_MAXSMP",
    "CONFIG_CPUMASK_OFFSTACK", "CONFIG_NODES_SHIFT", "CONFIG_PREEMPT_NONE",
    "CONFIG_PREEMPT_VOLUNTARY", "CONFIG_PREEMPT", "CONFIG_PREEMPT_RT",
    "CONFIG_PREEMPT_DYNAMIC", "CONFIG_HZ_100", "CONFIG_HZ_250",
    "CONFIG_HZ_300", "CONFIG_HZ_1000", "CONFIG_CGROUPS", "CONFIG_MEMCG",
    "CONFIG_NUMA", "CONFIG_SPARSEMEM_VMEMMAP",
    "CONFIG_DEFERRED_STRUCT_PAGE_INIT", "CONFIG_MEMORY_HOTPLUG",
    "CONFIG_ZONE_DEVICE", "CONFIG_CGROUP_SCHED", "CONFIG_FAIR_GROUP_SCHED",
    "CONFIG_CFS_BANDWIDTH", "CONFIG_RT_GROUP_SCHED", "CONFIG_CPUSETS",
    "CONFIG_CGROUP_PIDS",
)


PACKAGE = "linux-config-6.12"


def ensure_config():
    """Debian's configurations of the pinned base's version (the same
    source package builds both); return the version in use."""
    from . import base
    return base.ensure_pinned(PACKAGE, base.read_pin()["version"])


def config_path(flavour=FLAVOUR):
    return os.path.join(CONFIG_DIR, "config.%s.xz" % flavour)


def existing_config(flavour=FLAVOUR):
    """The path of one of Debian's configurations; one message if the
    package is missing."""
    path = config_path(flavour)
    if not os.path.exists(path):
        raise MtinitError("%s is missing: install Debian's package %s "
                          "('./mtinit test' and './mtinit build distro' do)"
                          % (path, PACKAGE))
    return path


def read_config(flavour=FLAVOUR):
    """{CONFIG_X: value} of one of Debian's configurations ('n': unset)."""
    path = existing_config(flavour)
    with lzma.open(path, "rt") as fh:
        return parse_config_lines(fh, path)


def differences(ours, debian, options=OPTIONS):
    """'CONFIG_X: ours V, Debian W' for each option whose values differ
    (an option absent from a file counts as unset)."""
    found = []
    for option in options:
        mine, theirs = ours.get(option, "n"), debian.get(option, "n")
        if mine != theirs:
            found.append("%s: ours %s, Debian %s" % (option, mine, theirs))
    return found


def write_config(dest, flavour=FLAVOUR):
    """Write Debian's configuration, uncompressed, to dest (a .config)."""
    with lzma.open(existing_config(flavour), "rb") as src, open(dest, "wb") as out:
        out.write(src.read())
