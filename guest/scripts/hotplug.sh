#!/bin/sh
# CPU hotplug behind an in-guest test, for any script of the image:
#   sh /mtinit/hotplug.sh start A-B   take CPUs A-B offline and back online
#                                     in a loop, in the background
#   sh /mtinit/hotplug.sh stop        end the loop (after one cycle at
#                                     least), print one summary line; exit
#                                     1 if a write failed or a CPU is
#                                     still offline
# selftest.sh uses it for mtinit.hotplug=A-B; a pmem bind/unbind loop can
# wrap itself in start/stop the same way.
state=/tmp/hotplug
case "$1" in
start)
	rm -f "$state.stop" "$state.done" "$state.count" "$state.err"
	echo "$2" >"$state.cpus"
	sh "$0" loop "$2" </dev/null >/dev/null 2>"$state.err" &
	;;
loop)
	cycles=0
	errors=0
	while :; do
		for cpu in $(seq "${2%-*}" "${2#*-}"); do
			echo 0 >"/sys/devices/system/cpu/cpu$cpu/online" ||
				errors=$((errors + 1))
		done
		for cpu in $(seq "${2%-*}" "${2#*-}"); do
			echo 1 >"/sys/devices/system/cpu/cpu$cpu/online" ||
				errors=$((errors + 1))
		done
		cycles=$((cycles + 1))
		echo "$cycles $errors" >"$state.count"
		[ -e "$state.stop" ] && break
	done
	touch "$state.done"
	;;
stop)
	touch "$state.stop"
	# Not 'kill -0': the loop's parent has exited, and an orphan that
	# nobody reaps would look alive forever.
	while [ ! -e "$state.done" ]; do sleep 1; done
	read -r cycles errors <"$state.count" 2>/dev/null
	offline=$(cat /sys/devices/system/cpu/offline)
	echo "cpu-hotplug: CPUs $(cat "$state.cpus"), ${cycles:-0}" \
		"offline/online cycles, ${errors:-0} failed, offline now:" \
		"'$offline'"
	cat "$state.err"
	[ "${cycles:-0}" -gt 0 ] && [ "$errors" = 0 ] && [ -z "$offline" ]
	;;
*)
	echo "usage: $0 start A-B | stop" >&2
	exit 2
	;;
esac
