#!/bin/sh
# Run every in-guest suite under /mtinit/selftests/NAME/run.sh and report
# the results as KTAP: one top-level result per suite, each suite's own
# KTAP output indented beneath it.
#
# mtinit.hotplug=A-B on the kernel command line takes CPUs A-B offline and
# back online in a loop while the suites run, and adds one result,
# cpu-hotplug: every offline/online succeeded and every CPU is back online.
# Every suite runs under it (padata now; a pmem bind/unbind suite dropped
# into /mtinit/selftests/pmem/ would too).
cd /mtinit/selftests 2>/dev/null && suites=$(ls) || suites=""
hp=$(sed -n 's/.*mtinit\.hotplug=\([0-9][0-9]*-[0-9][0-9]*\).*/\1/p' \
	/proc/cmdline)
count=0
for suite in $suites; do count=$((count + 1)); done
[ -n "$hp" ] && count=$((count + 1))
echo "KTAP version 1"
echo "1..$count"

# One cycle at least, then until /tmp/hotplug.stop exists; the running
# totals go to /tmp/hotplug.count as "cycles errors".
hotplug_loop() {
	cycles=0
	errors=0
	while :; do
		for cpu in $(seq "${hp%-*}" "${hp#*-}"); do
			echo 0 >"/sys/devices/system/cpu/cpu$cpu/online" ||
				errors=$((errors + 1))
		done
		for cpu in $(seq "${hp%-*}" "${hp#*-}"); do
			echo 1 >"/sys/devices/system/cpu/cpu$cpu/online" ||
				errors=$((errors + 1))
		done
		cycles=$((cycles + 1))
		echo "$cycles $errors" >/tmp/hotplug.count
		[ -e /tmp/hotplug.stop ] && break
	done
}

if [ -n "$hp" ]; then
	rm -f /tmp/hotplug.stop /tmp/hotplug.count
	hotplug_loop 2>/tmp/hotplug.err &
	hotplug_pid=$!
fi

index=0
for suite in $suites; do
	index=$((index + 1))
	if sh "/mtinit/selftests/$suite/run.sh" >/tmp/suite.out 2>&1; then
		result="ok"
	else
		result="not ok"
	fi
	sed 's/^/    /' /tmp/suite.out
	echo "$result $index $suite"
done

if [ -n "$hp" ]; then
	touch /tmp/hotplug.stop
	wait "$hotplug_pid"
	read -r cycles errors </tmp/hotplug.count 2>/dev/null
	offline=$(cat /sys/devices/system/cpu/offline)
	echo "    # cpu-hotplug: CPUs $hp, $cycles offline/online cycles" \
		"during the suites, $errors failed, offline now: '$offline'"
	sed 's/^/    # /' /tmp/hotplug.err
	if [ "${cycles:-0}" -gt 0 ] && [ "$errors" = 0 ] &&
		[ -z "$(echo $offline)" ]; then
		result="ok"
	else
		result="not ok"
	fi
	echo "$result $((index + 1)) cpu-hotplug"
fi
