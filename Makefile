# mtinit: the two commands most people need are 'make bench' and 'make test'.
# The harness runs on Debian's python3 (it imports python3-matplotlib).
PYTHON ?= /usr/bin/python3
MTINIT := $(PYTHON) ./mtinit

.PHONY: bench bench-quick test test-full check unit prepare build refresh fresh

bench:
	$(MTINIT) bench --distro

bench-quick:
	$(MTINIT) bench --quick

test:
	$(MTINIT) test

test-full:
	$(MTINIT) test --full

# CI's run in a fresh Debian root (mmdebstrap, chroot; needs root).
fresh:
	$(MTINIT) fresh

check:
	$(MTINIT) check

unit:
	$(PYTHON) -m unittest discover -s harness/tests -t .

prepare:
	$(MTINIT) prepare

build:
	$(MTINIT) build all

refresh:
	$(MTINIT) refresh
