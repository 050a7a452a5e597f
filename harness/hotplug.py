"""CPU hotplug in the guest while a workload runs: guest/scripts/hotplug.sh
takes CPUs A-B offline and back online in a loop for pmem.sh's binds and
selftest.sh's suites, asked for with 'mtinit.hotplug=A-B'.

The settings pmem's matrix cases and the selftest share live here, in a
module that imports nothing of the harness: either may use them without
importing the other (or boot).
"""

# Kernels whose in-guest workloads run while CPUs go offline and online.
HOTPLUG_KERNELS = ("debug",)
# The guest of a hotplug run: 4 vCPUs, so that CPUs can leave and some
# stay. pmem's binds toggle HOTPLUG_CPUS, CPUs 2-3 of the 4; the selftest
# toggles only CPU 3 (selftest.SELFTEST_HOTPLUG_CPUS, and why).
HOTPLUG_GUEST = {"mem": "4G", "smp": 4}
HOTPLUG_CPUS = "2-3"
