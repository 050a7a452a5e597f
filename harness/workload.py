"""In-guest workloads: what a boot runs in the guest besides boot's own
reports, all behind one small interface, so that boot.py runs any of them
without knowing which (pmem's bind loop, the padata selftest, upstream's
kselftests, memstress).

The layers are those of tools/testing/kunit/ (configuration, kernel,
parser, JSON), one small piece each: before the guest starts, a workload
gives its kernel parameters and the files it needs in the image; after,
it turns its framed output into a JSON-able analysis, problems and a
summary line. Each workload's module imports boot to run it; boot imports
only this module.

The guest's init runs /mtinit/NAME.sh for each NAME of 'mtinit.run=a,b',
in order, and frames its output as the section 'run-NAME'
(logparse.sections()); boot keeps every such section's text in the
result's 'runs' ({NAME: text}).

A workload's module may also offer benchmark and matrix configurations,
each in one shape: BENCH_CONFIGS with bench_rows(config, results) (rows
for a report table, one per variant), and MATRIX_CASES with
matrix_case(matrix, case) (one case of 'make test' on a matrix.Matrix).
pmem has both; the selftests run as whole steps of 'make test' instead.
"""

from .util import MtinitError


class Workload:
    """One script the guest runs, and what the harness makes of it.

    name: the script (/mtinit/NAME.sh, from guest/scripts/), its framed
    section (run-NAME) and the key of its analysis in the boot result; it
    must not be one of boot's own fields.

    As it is, a workload is a plain script: no parameters, no files, no
    analysis (its output is only in the result's 'runs'). Subclasses
    override what they need.
    """

    name = None

    def __init__(self, name=None):
        if name is not None:
            self.name = name

    def kernel_append(self):
        """Kernel parameters the script needs ('' for none)."""
        return ""

    def files(self):
        """(host path, guest path) pairs to add to the guest image."""
        return []

    def dir_tag(self):
        """A short tag for the name of the boot's directory ('' for
        none)."""
        return ""

    def analyse(self, run_text, dmesg):
        """A JSON-able analysis, stored as result[name], or None to store
        nothing. run_text is the script's framed output, None when it did
        not run or did not end; dmesg is the guest's kernel log."""
        return None

    def problems(self, analysed):
        """What is wrong with the run, from analyse()'s result (empty:
        nothing)."""
        return []

    def summary(self, analysed):
        """One line for 'mtinit boot' without --json, or None."""
        return None


def kernel_params(workloads):
    """The kernel parameters of the workloads, then 'mtinit.run=' naming
    their scripts in order ('' without workloads)."""
    parts = [w.kernel_append() for w in workloads]
    if workloads:
        parts.append("mtinit.run=" + ",".join(w.name for w in workloads))
    return " ".join(p for p in parts if p)


def image_files(workloads):
    """Every (host path, guest path) pair the workloads need, in order."""
    return [pair for w in workloads for pair in w.files()]


def dir_tags(workloads):
    """The workloads' tags for a boot directory's name, '-' before each."""
    return "".join("-" + w.dir_tag() for w in workloads if w.dir_tag())


def record(result, workloads, sections):
    """Analyse each workload's framed output (sections: logparse's) into
    result[name], and record its problems in
    result['workload_problems'][name], where boot.problems() finds them."""
    dmesg = sections.get("dmesg", "")
    for w in workloads:
        analysed = w.analyse(sections.get("run-" + w.name), dmesg)
        if analysed is not None:
            if w.name in result or w.name in RESERVED:
                raise MtinitError("workload '%s' would overwrite the boot "
                                  "result's own '%s'" % (w.name, w.name))
            result[w.name] = analysed
        result.setdefault("workload_problems", {})[w.name] = \
            w.problems(analysed)


# The fields boot.boot() sets after the analysis, and the workloads' own:
# no workload may be named after one.
RESERVED = ("kernel", "base", "commit", "mode", "backing", "cpu", "mem",
            "smp",
            "numa", "threads", "append", "wall_s", "log_dir", "runs",
            "workload_problems")


def summaries(result, workloads):
    """Each workload's summary line of a boot result, where it has one."""
    lines = [w.summary(result.get(w.name)) for w in workloads]
    return [line for line in lines if line]
