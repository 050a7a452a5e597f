"""The debug kernel's KUnit results in the kernel log: parsed, and every
boot checked (boot.problems(), matrix.kunit_problems())."""

import unittest

from harness import boot, logparse, matrix, topology
from harness.tests.common import DEBUG_KUNIT, fixture, ktap

CPU_LESS_CASE = "padata_kunit_cpu_node_cpu_less"
SUITES = {
    "padata_mt": ["padata_kunit_job_threads", "padata_kunit_chunk_size",
                  "padata_kunit_claim", "padata_kunit_claim_sweep",
                  "padata_kunit_run_jobs", "padata_kunit_two_threads",
                  "padata_kunit_cpu_node_with_cpus", CPU_LESS_CASE],
    "memmap_template": ["memmap_kunit_deferred_block", "memmap_kunit_device",
                        "memmap_kunit_device_pud"],
}
NR_CASES = sum(len(cases) for cases in SUITES.values())


def with_case(text, case, result):
    """text with the result line of case replaced by result (e.g. 'not ok
    3 padata_kunit_claim')."""
    out = []
    for line in text.splitlines(True):
        stamp, body = logparse.strip_timestamp(line)
        if body.strip().split("#")[0].split()[-1:] == [case] and \
                body.lstrip().startswith(("ok ", "not ok ")):
            line = "[%12.6f]     %s\n" % (stamp, result)
        out.append(line)
    return "".join(out)


class KunitParseTest(unittest.TestCase):
    def setUp(self):
        self.dmesg = fixture(DEBUG_KUNIT)

    def test_every_case_passed(self):
        cases = logparse.kunit(self.dmesg)
        for suite, names in SUITES.items():
            self.assertEqual([c["case"] for c in cases
                              if c["suite"] == suite], names)
        self.assertEqual(len(cases), NR_CASES)
        self.assertEqual({c["status"] for c in cases}, {"ok"})
        self.assertEqual(logparse.kunit_failures(cases), [])

    def test_failed_case(self):
        text = with_case(self.dmesg, "padata_kunit_claim",
                         "not ok 3 padata_kunit_claim")
        cases = logparse.kunit(text)
        self.assertEqual(logparse.kunit_failures(cases),
                         ["padata_mt.padata_kunit_claim"])

    def test_skipped_case(self):
        text = with_case(self.dmesg, CPU_LESS_CASE,
                         "ok 8 %s # SKIP no online node without online "
                         "CPUs" % CPU_LESS_CASE)
        case = next(c for c in logparse.kunit(text)
                    if c["case"] == CPU_LESS_CASE)
        self.assertEqual((case["status"], case["reason"]),
                         ("skip", "no online node without online CPUs"))
        self.assertEqual(logparse.kunit_failures(logparse.kunit(text)), [])

    def test_no_kunit(self):
        self.assertEqual(logparse.kunit(fixture(
            "stock-16G-smp2.serial.log")), [])

    def test_kunit_lines_are_no_splats(self):
        self.assertEqual(logparse.splats(ktap(self.dmesg)), [])


class KunitBootTest(unittest.TestCase):
    """A failed case is a problem of any boot; the debug kernel's suites
    must have run, and their CPU-less case on a CPU-less guest."""

    def setUp(self):
        self.ktap = ktap(fixture(DEBUG_KUNIT))
        self.serial = fixture("stock-16G-smp2.serial.log")

    def boot_with(self, ktap_text):
        serial = self.serial.replace("@@MTINIT-BEGIN dmesg@@\n",
                                     "@@MTINIT-BEGIN dmesg@@\n" + ktap_text,
                                     1)
        return boot.analyse(serial, 0, 300)

    def test_passing_suite_is_no_problem(self):
        result = self.boot_with(self.ktap)
        self.assertEqual(len(result["kunit"]), NR_CASES)
        self.assertEqual(boot.problems(result), [])

    def test_failed_case_fails_the_boot(self):
        result = self.boot_with(with_case(self.ktap, "padata_kunit_run_jobs",
                                          "not ok 5 padata_kunit_run_jobs"))
        self.assertEqual(boot.problems(result), [
            "1 KUnit case(s) failed: padata_mt.padata_kunit_run_jobs"])

    def test_debug_suites_must_run(self):
        spec = topology.guest_spec(mem="8G", smp=2)
        self.assertEqual(matrix.kunit_problems([], spec),
                         ["KUnit suite padata_mt did not run",
                          "KUnit suite memmap_template did not run"])
        cases = logparse.kunit(self.ktap)
        self.assertEqual(matrix.kunit_problems(cases, spec), [])

    def test_cpu_less_case_must_run_on_a_cpu_less_guest(self):
        cpu_less = topology.guest_spec(mem="12G", smp=2,
                                       numa="2G@0,2G@1,4G,4G")
        one_node = topology.guest_spec(mem="8G", smp=2)
        skipped = logparse.kunit(with_case(
            self.ktap, CPU_LESS_CASE,
            "ok 8 %s # SKIP no online node without online CPUs"
            % CPU_LESS_CASE))
        self.assertEqual(matrix.kunit_problems(skipped, one_node), [])
        self.assertEqual(matrix.kunit_problems(skipped, cpu_less), [
            "KUnit padata_mt.%s: skip on a guest with CPU-less nodes"
            % CPU_LESS_CASE])
        self.assertEqual(matrix.kunit_problems(
            logparse.kunit(self.ktap), cpu_less), [])


if __name__ == "__main__":
    unittest.main()
