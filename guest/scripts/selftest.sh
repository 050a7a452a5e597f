#!/bin/sh
# Run every in-guest suite under /mtinit/selftests/NAME/run.sh and report
# the results as KTAP: one top-level result per suite, each suite's own
# KTAP output indented beneath it.
#
# mtinit.hotplug=A-B on the kernel command line takes CPUs A-B offline and
# back online in a loop while the suites run (hotplug.sh), and adds one
# result, cpu-hotplug: every offline/online succeeded and every CPU is back
# online.
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

[ -n "$hp" ] && sh /mtinit/hotplug.sh start "$hp"

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
	if sh /mtinit/hotplug.sh stop >/tmp/hotplug.out 2>&1; then
		result="ok"
	else
		result="not ok"
	fi
	sed 's/^/    # /' /tmp/hotplug.out
	echo "$result $((index + 1)) cpu-hotplug"
fi
