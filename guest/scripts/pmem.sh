#!/bin/sh
# ZONE_DEVICE memmap init: the legacy pmem region that 'memmap=SIZE!OFFSET'
# made (region0, namespace0.0, raw) is reconfigured with struct pages in RAM
# (mode 'ram') and bound LOOPS times: 'mtinit.pmem=MODE,LOOPS', MODE fsdax
# (pfn seed, nd_pmem, /dev/pmemN) or devdax (dax seed, dax_pmem, /dev/daxN.M).
#
# The bind runs memremap_pages() and so memmap_init_zone_device(). Each bind
# and unbind is bracketed by 'mtinit-pmem: bind N begin/end' lines written to
# /dev/kmsg: the harness times it from their printk timestamps (local_clock,
# microseconds; guest instructions under icount), the same way for every
# kernel. Lines 'pmem KEY=VALUE ...' report the rest; 'pmem error: ...' and
# a non-zero exit report a failure. With 'mtinit.hotplug=A-B', CPUs A-B go
# offline and back online in a loop (hotplug.sh) while the binds run.
ND=/sys/bus/nd
UUID=6d74696e-6974-706d-656d-000000000001

arg=$(sed -n 's/.*mtinit\.pmem=\([^ ]*\).*/\1/p' /proc/cmdline)
mode=${arg%%,*}
loops=${arg#*,}
[ "$loops" = "$arg" ] && loops=1

say() { echo "pmem $*"; }
fail() { echo "pmem error: $*"; exit 1; }
mark() { echo "mtinit-pmem: $*" > /dev/kmsg; }
free_kb() { awk '/^MemFree:/ { print $2 }' /proc/meminfo; }

case "$mode" in
fsdax) seed=pfn_seed; drv=nd_pmem ;;
devdax) seed=dax_seed; drv=dax_pmem ;;
*) fail "mtinit.pmem='$arg': MODE must be fsdax or devdax" ;;
esac
case "$loops" in
''|*[!0-9]*|0) fail "mtinit.pmem='$arg': LOOPS must be a positive number" ;;
esac

ns=namespace0.0
[ -d $ND/devices/$ns ] || fail "no $ns: no legacy pmem (memmap=SIZE!OFFSET)"
say "mode=$mode loops=$loops namespace=$ns" \
    "ns_resource=$(cat $ND/devices/$ns/resource)" \
    "ns_size=$(cat $ND/devices/$ns/size)"

# At boot the namespace is raw pmem, bound to nd_pmem: release it.
if [ -e $ND/devices/$ns/driver ]; then
	echo $ns > $ND/drivers/nd_pmem/unbind || fail "cannot unbind raw $ns"
fi
dev=$(cat $ND/devices/region0/$seed)
[ -n "$dev" ] && [ -d $ND/devices/$dev ] || fail "no $seed in region0"
echo $ns > $ND/devices/$dev/namespace || fail "$dev: cannot claim $ns"
echo ram > $ND/devices/$dev/mode || fail "$dev: cannot set mode ram"
echo $UUID > $ND/devices/$dev/uuid || fail "$dev: cannot set uuid"
say "device=$dev driver=$drv align=$(cat $ND/devices/$dev/align)"

# fsdax: write a pattern at the start and at the end of the block device,
# read it back from the device (buffers flushed), and check that the
# previous bind's pattern survived unbind and re-bind.
check_fsdax() {
	n=$1
	blk=$(ls $ND/devices/$dev/block 2>/dev/null)
	[ -b "/dev/$blk" ] || fail "bind $n: no block device under $dev"
	mib=$(( $(cat /sys/block/$blk/size) / 2048 ))
	[ "$mib" -ge 2 ] || fail "bind $n: /dev/$blk has only $mib MiB"
	if [ "$n" -gt 1 ]; then
		for at in 0 $((mib - 1)); do
			dd if=/dev/$blk bs=1M skip=$at count=1 2>/dev/null |
				cmp -s - /tmp/pattern ||
				fail "bind $n: /dev/$blk lost bind $((n - 1))'s" \
				     "pattern at MiB $at"
		done
	fi
	head -c 1048576 /dev/urandom > /tmp/pattern
	for at in 0 $((mib - 1)); do
		dd if=/tmp/pattern of=/dev/$blk bs=1M seek=$at count=1 \
			conv=fsync 2>/dev/null ||
			fail "bind $n: write to /dev/$blk at MiB $at failed"
	done
	blockdev --flushbufs /dev/$blk
	for at in 0 $((mib - 1)); do
		dd if=/dev/$blk bs=1M skip=$at count=1 2>/dev/null |
			cmp -s - /tmp/pattern ||
			fail "bind $n: /dev/$blk read back differs at MiB $at"
	done
	say "check $n ok blk=$blk mib=$mib"
}

# devdax: the character device exists and has the region's data size
# (device-dax has no read/write, only mmap, which busybox cannot do).
check_devdax() {
	n=$1
	dax=$(ls /sys/bus/dax/devices 2>/dev/null | head -n 1)
	[ -n "$dax" ] && [ -c "/dev/$dax" ] ||
		fail "bind $n: no device-dax character device"
	size=$(cat /sys/bus/dax/devices/$dax/size)
	[ "$size" = "$(cat $ND/devices/$dev/size)" ] ||
		fail "bind $n: $dax is $size bytes, $dev $(cat \
		     $ND/devices/$dev/size)"
	say "check $n ok dax=$dax size=$size"
}

hp=$(sed -n 's/.*mtinit\.hotplug=\([0-9][0-9]*-[0-9][0-9]*\).*/\1/p' \
	/proc/cmdline)
[ -n "$hp" ] && sh /mtinit/hotplug.sh start "$hp"

# Where a bind's time goes, on kernels with the function-graph tracer
# (the distro kernels have Debian's): after the timed binds, one more
# bind, traced, so that tracing never changes a timed one. Only the step
# functions of STEPS that the kernel can trace are patched (an inlined one
# is not there; a '.isra.N' clone is traced under its own name), each
# entry and exit. 'pmem graph: on' then the trace's lines, or 'pmem graph:
# unavailable (why)', for the harness (pmem.traced_bind_steps()).
TRACING=/sys/kernel/tracing
# The step functions, as one BRE alternation (one pass over the list).
STEPS='memremap_pages\|pagemap_range\|arch_add_memory\|init_memory_mapping'
STEPS="$STEPS"'\|add_pages\|__add_pages\|sparse_add_section\|section_activate'
STEPS="$STEPS"'\|vmemmap_populate\|move_pfn_range_to_zone'
STEPS="$STEPS"'\|memmap_init_zone_device'
graph_unavailable() { say "graph: unavailable ($*)"; return 1; }
graph_start() {
	[ -e $TRACING/available_tracers ] ||
		mount -t tracefs nodev $TRACING 2>/dev/null ||
		graph_unavailable "no tracefs" || return 1
	grep -qw function_graph $TRACING/available_tracers 2>/dev/null ||
		graph_unavailable "no function_graph tracer" || return 1
	[ -e $TRACING/available_filter_functions ] &&
		[ -e $TRACING/set_ftrace_filter ] ||
		graph_unavailable "no dynamic ftrace: cannot trace only the steps" ||
		return 1
	sed -n "s/^\(\($STEPS\)\(\.[a-z]*\.[0-9]*\)*\)\( .*\)\{0,1\}$/\1/p" \
		$TRACING/available_filter_functions > /tmp/steps
	if [ ! -s /tmp/steps ]; then
		graph_unavailable "no step function can be traced"
		return 1
	fi
	while read -r f; do
		echo "$f" >> $TRACING/set_ftrace_filter
	done < /tmp/steps
	if grep -q '^#### all functions enabled' $TRACING/set_ftrace_filter
	then
		graph_unavailable "no step function can be traced"
		return 1
	fi
	echo 1 > $TRACING/options/funcgraph-tail
	echo function_graph > $TRACING/current_tracer ||
		graph_unavailable "cannot start function_graph" || return 1
	echo > $TRACING/trace
	say "graph: on ($(tr '\n' ' ' < /tmp/steps))"
}
# Read the trace while function_graph is still the tracer (setting
# another one clears the buffer), then put everything back.
graph_stop() {
	echo 0 > $TRACING/tracing_on
	grep -v '^#' $TRACING/trace | sed 's/^/pmem graph: /'
	echo nop > $TRACING/current_tracer
	echo 1 > $TRACING/tracing_on
	echo > $TRACING/set_ftrace_filter
}
traced_bind() {
	graph_start || return 0
	mark "traced bind begin"
	echo $dev > $ND/drivers/$drv/bind
	rc=$?
	mark "traced bind end"
	graph_stop
	bound=
	[ -e $ND/devices/$dev/driver ] && bound=1
	if [ -n "$bound" ]; then
		echo $dev > $ND/drivers/$drv/unbind ||
			fail "unbind of $dev from $drv after the traced bind failed"
	fi
	# A failed traced bind fails the run like a failed timed one (the
	# timed results stay in the boot's JSON).
	[ $rc = 0 ] && [ -n "$bound" ] ||
		fail "traced bind of $dev to $drv failed"
}

before=$(free_kb)
say "memfree_before=$before"
n=1
while [ $n -le "$loops" ]; do
	mark "bind $n begin"
	echo $dev > $ND/drivers/$drv/bind
	rc=$?
	mark "bind $n end"
	[ $rc = 0 ] && [ -e $ND/devices/$dev/driver ] ||
		fail "bind $n of $dev to $drv failed"
	if [ $n = 1 ]; then
		say "memfree_bound=$(free_kb)" \
		    "pfn_resource=$(cat $ND/devices/$dev/resource)" \
		    "pfn_size=$(cat $ND/devices/$dev/size)"
	fi
	check_$mode $n
	mark "unbind $n begin"
	echo $dev > $ND/drivers/$drv/unbind
	rc=$?
	mark "unbind $n end"
	[ $rc = 0 ] && [ ! -e $ND/devices/$dev/driver ] ||
		fail "unbind $n of $dev from $drv failed"
	n=$((n + 1))
done
rm -f /tmp/pattern
if [ -n "$hp" ]; then
	sh /mtinit/hotplug.sh stop > /tmp/hotplug.out 2>&1 ||
		fail "CPU hotplug during the binds: $(cat /tmp/hotplug.out)"
	say "$(head -n 1 /tmp/hotplug.out)"
fi
say "memfree_after=$(free_kb)"
traced_bind
say "done binds=$loops"
