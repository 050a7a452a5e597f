#!/bin/sh
# Run every in-guest suite under /mtinit/selftests/NAME/run.sh and report
# the results as KTAP: one top-level result per suite, each suite's own
# KTAP output indented beneath it.
cd /mtinit/selftests 2>/dev/null && suites=$(ls) || suites=""
count=0
for suite in $suites; do count=$((count + 1)); done
echo "KTAP version 1"
echo "1..$count"
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
