#!/bin/sh
# The padata suite's planted lock inversion, run after the other suites on
# kernels with lockdep (harness/selftest.py): lockdep must report it once,
# and is off for the rest of the boot afterwards.
exec sh /mtinit/selftests/padata/run.sh lockdep_inversion
