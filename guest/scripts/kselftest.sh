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
# charge_reserved_hugetlb.sh uses procps and psmisc where busybox falls
# short: 'pgrep -f' (no busybox applet), 'killall -SIG --wait' (no
# --wait) and 'ps PID' to ask whether a process lives (busybox's ps takes
# no PID and always succeeds). Without these it waits forever.
cat >/bin/pgrep <<'EOF_PGREP'
#!/bin/sh
# pgrep -f PATTERN: the PIDs whose command line contains PATTERN.
[ "$1" = -f ] && shift
found=1
for dir in /proc/[0-9]*; do
	pid=${dir#/proc/}
	[ "$pid" = $$ ] && continue
	cmd=$(tr '\0' ' ' <"$dir/cmdline" 2>/dev/null)
	case "$cmd" in *"$1"*) echo "$pid"; found=0 ;; esac
done
exit $found
EOF_PGREP
rm -f /bin/killall
cat >/bin/killall <<'EOF_KILLALL'
#!/bin/sh
# killall [-SIG] [--wait|-w] NAME...: busybox's, then wait until none
# of the NAMEs runs.
wait=
args=
for arg; do
	case "$arg" in
	--wait|-w) wait=1 ;;
	*) args="$args $arg" ;;
	esac
done
# shellcheck disable=SC2086 # one argument per word, on purpose
/bin/busybox killall $args || exit
[ -n "$wait" ] || exit 0
for arg; do
	case "$arg" in -*) continue ;; esac
	while /bin/busybox pidof "$arg" >/dev/null; do sleep 0.1; done
done
EOF_KILLALL
rm -f /bin/ps
cat >/bin/ps <<'EOF_PS'
#!/bin/sh
# ps PID: whether it runs; anything else: busybox's ps.
case "$1" in
[0-9]*) [ -d "/proc/$1" ] ;;
*) exec /bin/busybox ps "$@" ;;
esac
EOF_PS
chmod +x /bin/pgrep /bin/killall /bin/ps
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /dev/shm
depmod

cd "$ksft" || { echo "no $ksft in the guest image"; exit 1; }
VM_SELFTEST_ITEMS=$(cat mtinit-vm-categories)
export VM_SELFTEST_ITEMS
# shellcheck disable=SC2046 # one argument per word, on purpose
./run_kselftest.sh -o "$(cat mtinit-timeout)" $(cat mtinit-tests)
