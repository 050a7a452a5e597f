"""What the tests share: the logs kept under fixtures/."""

import os

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    """The text of fixtures/NAME."""
    with open(os.path.join(FIXTURES, name)) as fh:
        return fh.read()


# Real dmesg logs of the series (patched kernel, sparse RAM) booted with
# 'trace_event=padata:* tp_printk': two CPU-less nodes
# (--numa 2G@0,2G@1,8G,8G --smp 2), and 16 GiB guests with 1 GiB and
# 2 MiB boot-time huge pages; and stock on the two CPU-less nodes, which
# has no padata events.
TWO_CPU_LESS = "patched-two-cpu-less-nodes-trace.dmesg.log"
HUGEPAGES_1G = "patched-1G-hugepages-trace.dmesg.log"
HUGEPAGES_2M = "patched-2M-hugepages-trace.dmesg.log"
STOCK_TWO_CPU_LESS = "stock-two-cpu-less-nodes-trace.dmesg.log"

def without(text, needle):
    """text without its lines that contain needle."""
    return "".join(line for line in text.splitlines(True)
                   if needle not in line)
