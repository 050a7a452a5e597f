#!/bin/sh
# Allocate nearly all free memory (tmpfs pages), free it again, and report
# MemFree before, when full, and after, in kB, for the harness to check.
free_kb() {
	awk '/^MemFree:/ { print $2 }' /proc/meminfo
}

before=$(free_kb)
# Leave 128 MiB so that the kernel itself is never short.
fill=$((before - 131072))
mkdir -p /mnt/fill
mount -t tmpfs -o size=${fill}k tmpfs /mnt/fill || exit 1
dd if=/dev/zero of=/mnt/fill/data bs=1M count=$((fill / 1024)) 2>/dev/null
full=$(free_kb)
rm /mnt/fill/data
umount /mnt/fill
after=$(free_kb)
echo "memstress before=$before full=$full after=$after"
