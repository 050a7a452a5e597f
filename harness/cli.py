"""Command line of ./mtinit: one subcommand per job."""

import argparse
import json
import sys

from .util import MtinitError, os_error_message

# The kernels (harness/build.py's VARIANTS; a unit test keeps them equal).
KERNELS = ("stock", "patched", "debug", "kasan", "stock-distro", "distro")


def _cmd_prepare(args):
    from . import base
    base.prepare(force=args.force)


def _cmd_refresh(args):
    from . import base
    base.refresh()


def _cmd_build(args):
    from . import build
    build.build_many(args.variant)


def _validate_boot(args):
    """The guest, the kernel and the RAM backing, before anything runs."""
    from . import backing, boot, pmem, qemu, topology
    spec = topology.guest_spec(mem=args.mem, smp=args.smp, numa=args.numa)
    args.spec = pmem.with_pmem(spec, args.pmem, args.pmem_mode,
                               args.pmem_loops)
    args.backing = backing.resolve(args.backing, args.spec["mem_mb"])
    boot.check_request(args.kernel, args.threads, args.append)
    qemu.check_cpu(args.cpu)


def _cmd_boot(args):
    from . import boot, pmem
    workloads = pmem.workloads(args.spec)
    result = boot.boot(args.kernel, args.spec, mode=args.mode,
                       threads=args.threads, append=args.append,
                       timeout=args.timeout, backing=args.backing,
                       workloads=workloads, cpu=args.cpu)
    if args.json:
        print(json.dumps(result, indent=1, sort_keys=True))
    else:
        boot.print_summary(result, workloads)
    problems = boot.problems(result)
    if problems:
        raise MtinitError("boot failed: " + "; ".join(problems))


def _validate_bench(args):
    from . import bench
    args.plan = bench.plan(quick=args.quick, boots=args.boots,
                           only=args.only, distro=args.distro)


def _cmd_bench(args):
    from . import bench
    bench.main(args.plan, skip_build=args.no_build)


def _cmd_check(args):
    from . import check
    check.main()


def _cmd_selftest(args):
    from . import selftest
    selftest.main(kernels=args.kernel)


def _cmd_kunit(args):
    from . import kunit
    kunit.main()


def _cmd_kselftest(args):
    from . import kselftest
    # Stock always runs first: it is the reference every result is
    # compared with.
    kernels = ["stock"] + [k for k in args.kernel or ["patched"]
                           if k != "stock"]
    kselftest.main(kernels, quick=args.quick)


def _validate_fresh(args):
    from . import fresh
    fresh.check_root()


def _cmd_fresh(args):
    from . import fresh
    fresh.main(share_ccache=not args.cold, keep=args.keep)


def _cmd_test(args):
    from . import matrix
    matrix.main(full=args.full, skip_build=args.no_build)


def parser():
    p = argparse.ArgumentParser(
        prog="mtinit",
        description="Build the memory-init series on its pinned base, boot "
                    "it in QEMU and prove it correct and fast.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("prepare", help="unpack the base into build/linux "
                       "and apply patches/")
    s.add_argument("--force", action="store_true",
                   help="discard commits in build/linux not in patches/")
    s.set_defaults(func=_cmd_prepare)

    s = sub.add_parser("refresh", help="export build/linux's commits to "
                       "patches/")
    s.set_defaults(func=_cmd_refresh)

    s = sub.add_parser("build", help="build kernels")
    s.add_argument("variant", nargs="?", default="all",
                   choices=list(KERNELS) + ["all"])
    s.set_defaults(func=_cmd_build)

    s = sub.add_parser("boot", help="boot one kernel once")
    s.add_argument("--kernel", default="patched", choices=KERNELS)
    s.add_argument("--mem", help="guest RAM, e.g. 16G (default 4G, or the "
                   "sum of --numa)")
    s.add_argument("--smp", type=int, default=None, help="vCPUs (default 2)")
    s.add_argument("--numa", help="nodes SIZE[@CPUS],...; e.g. 2G@0-1,32G")
    s.add_argument("--mode", default="mttcg", choices=["mttcg", "icount"])
    s.add_argument("--threads", type=int, default=None,
                   help="deferred init threads per node (patched kernels)")
    s.add_argument("--append", default="", help="extra kernel parameters")
    s.add_argument("--timeout", type=int, default=300,
                   help="seconds before the guest counts as hung")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("--pmem", metavar="SIZE", help="carve SIZE off the top "
                   "of --mem as legacy pmem and time its bind (fsdax or "
                   "devdax, struct pages in RAM)")
    s.add_argument("--pmem-mode", default="fsdax",
                   choices=["fsdax", "devdax"], help="with --pmem")
    s.add_argument("--pmem-loops", type=int, default=1, metavar="N",
                   help="with --pmem: bind, check and unbind N times")
    s.add_argument("--backing", default="auto",
                   choices=["auto", "prealloc", "sparse"],
                   help="guest RAM: prealloc (prefaulted by QEMU before "
                   "the guest starts), sparse (given on first touch), or "
                   "auto (prealloc when it leaves the host 2 GiB "
                   "available, else sparse)")
    s.add_argument("--cpu", default="max",
                   help="QEMU's -cpu (default max), e.g. max,erms=off,"
                   "fsrm=off: without ERMS the kernel clears pages with "
                   "rep stosq, not rep stosb, which TCG runs (and icount "
                   "counts) one byte at a time")
    s.set_defaults(func=_cmd_boot, validate=_validate_boot)

    s = sub.add_parser("bench", help="stock vs patched, alternating boots")
    s.add_argument("--quick", action="store_true", help="small and fast")
    s.add_argument("--boots", type=int, default=None,
                   help="boots per kernel and configuration")
    s.add_argument("--no-build", action="store_true",
                   help="use the kernels already built")
    s.add_argument("--only", choices=["deferred", "pmem", "distro"],
                   help="only the deferred-init, the pmem or the "
                   "distro-kernel tables")
    s.add_argument("--distro", action="store_true",
                   help="add the tables of the kernels built from Debian's "
                   "cloud-amd64 configuration (stock-distro vs distro; "
                   "long builds)")
    s.set_defaults(func=_cmd_bench, validate=_validate_bench)

    s = sub.add_parser("check", help="series hygiene")
    s.set_defaults(func=_cmd_check)

    s = sub.add_parser("selftest", help="in-guest kernel tests")
    s.add_argument("--kernel", action="append",
                   choices=["patched", "debug"],
                   help="kernel(s) to run on (default: patched)")
    s.set_defaults(func=_cmd_selftest)

    s = sub.add_parser("kunit", help="the series' KUnit suites, in a "
                       "boot of the debug kernel")
    s.set_defaults(func=_cmd_kunit)

    s = sub.add_parser("kselftest", help="upstream's mm and memory-hotplug "
                       "selftests in the guest, compared with stock")
    s.add_argument("--kernel", action="append",
                   choices=["stock", "patched", "debug"],
                   help="kernel(s) to compare with stock, which always runs "
                   "first as the reference (default: patched)")
    s.add_argument("--quick", action="store_true",
                   help="only the run_vmtests.sh categories 'make test' "
                   "runs")
    s.set_defaults(func=_cmd_kselftest)

    s = sub.add_parser("fresh", help="CI's run ('.ci/run') in a fresh "
                       "Debian root made with mmdebstrap (root only)")
    s.add_argument("--cold", action="store_true",
                   help="do not let the root read the host's ccache")
    s.add_argument("--keep", action="store_true",
                   help="keep the root after a pass (a failed one is kept)")
    s.set_defaults(func=_cmd_fresh, validate=_validate_fresh)

    s = sub.add_parser("test", help="everything CI runs")
    s.add_argument("--full", action="store_true", help="the whole matrix")
    s.add_argument("--no-build", action="store_true",
                   help="use the kernels already built")
    s.set_defaults(func=_cmd_test)
    return p


def _no_validation(args):
    """Subcommands whose input argparse checks completely."""


def run_command(args):
    """Check the input, install every package the subcommand's steps use
    (deps.COMMANDS), then run it: bad input is refused before anything is
    installed, and nothing stops half-way on a missing tool."""
    from . import deps
    getattr(args, "validate", _no_validation)(args)
    deps.ensure_command(args.command)
    args.func(args)


def main(argv):
    args = parser().parse_args(argv)
    try:
        run_command(args)
    except MtinitError as err:
        print("mtinit: error: %s" % err, file=sys.stderr)
        return 1
    except OSError as err:
        # A full disk under out/ or build/, or a permission problem.
        print("mtinit: error: %s" % os_error_message(err), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mtinit: interrupted", file=sys.stderr)
        return 130
    return 0
