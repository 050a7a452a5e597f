#!/bin/sh
# Run upstream's kselftests, installed under /mtinit/kselftest by the
# harness (harness/kselftest.py), with kselftest's own runner. The runner
# prints KTAP; run_vmtests.sh's per-test results appear nested under it.
#
# /mtinit/kselftest/mtinit-tests lists the runner's arguments (-t
# COLLECTION:TEST ...); /mtinit/kselftest/mtinit-vm-categories the
# run_vmtests.sh categories (its VM_SELFTEST_ITEMS); mtinit-timeout the
# seconds each test (run_vmtests.sh as a whole is one) may take.
ksft=/mtinit/kselftest

# What the tests and the runner expect of a distribution: bash (copied in
# from bash-static), /dev/stdout and friends (the runner writes each test's
# output to /dev/stdout: without the link it would be a file), /sbin/modprobe,
# /usr/bin/env, debugfs, /dev/shm, and the kernel's modules where modprobe
# finds them.
mkdir -p /sbin /usr/bin /dev/shm /sys/kernel/debug
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
for tool in modprobe insmod rmmod depmod lsmod; do
	ln -sf /bin/busybox /sbin/$tool
done
ln -sf /bin/busybox /usr/bin/env
ln -sf /bin/bash /usr/bin/bash
# The runner bounds each test with 'timeout --foreground S timeout S CMD'
# when /usr/bin/timeout exists; busybox's timeout has no --foreground.
printf '#!/bin/sh\n[ "$1" = --foreground ] && shift\nexec /bin/busybox timeout "$@"\n' \
	>/usr/bin/timeout
chmod +x /usr/bin/timeout
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /dev/shm
depmod

cd "$ksft" || { echo "no $ksft in the guest image"; exit 1; }
VM_SELFTEST_ITEMS=$(cat mtinit-vm-categories)
export VM_SELFTEST_ITEMS
# shellcheck disable=SC2046 # one argument per word, on purpose
./run_kselftest.sh -o "$(cat mtinit-timeout)" $(cat mtinit-tests)
