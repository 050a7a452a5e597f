"""coccicheck in 'mtinit check': its reports are read from coccicheck's
real output, and only those on lines the series adds count."""

import os
import tempfile
import unittest

from harness import check

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures",
                       "coccicheck-report.txt")
# git diff -U0 base HEAD -- kernel/padata.c, the first hunks.
DIFF = """diff --git a/kernel/padata.c b/kernel/padata.c
--- a/kernel/padata.c
+++ b/kernel/padata.c
@@ -18,0 +19 @@
+#include <linux/cgroup.h>
@@ -21,0 +24,4 @@
+a
+b
+c
+d
@@ -26 +33,0 @@
-gone
"""


class CocciTest(unittest.TestCase):
    def test_reports_from_real_output(self):
        with open(FIXTURE) as fh:
            reports = check.cocci_reports(fh.read())
        # The echoed spatch command and spatch's warning about a semantic
        # patch are not reports.
        self.assertEqual(reports, [("kernel/mtinit_bad.c", 5,
                                    "WARNING: Use ARRAY_SIZE")])

    def test_added_lines(self):
        self.assertEqual(check.added_lines(DIFF), {19, 24, 25, 26, 27})

    def test_files(self):
        with tempfile.TemporaryDirectory() as tree:
            os.makedirs(os.path.join(tree, "kernel"))
            with open(os.path.join(tree, "series.patch"), "w") as fh:
                fh.write("diff --git a/kernel/a.c b/kernel/a.c\n"
                         "diff --git a/kernel/old.c b/kernel/new.c\n"
                         "diff --git a/kernel/x.h b/kernel/x.h\n"
                         "diff --git a/kernel/gone.c b/kernel/gone.c\n")
            for name in ("a.c", "new.c", "x.h"):
                with open(os.path.join(tree, "kernel", name), "w") as fh:
                    fh.write("x\n")
            self.assertEqual(check.cocci_files(["series.patch"], tree, tree),
                             ["kernel/a.c", "kernel/new.c"])

    def test_incomplete_runs(self):
        with open(FIXTURE) as fh:
            text = fh.read()
        self.assertIsNone(check.cocci_incomplete(text, 1))
        self.assertEqual(check.cocci_incomplete(text, 73),
                         "it ran 1 of the 73 semantic patches")
        self.assertIn("skipped", check.cocci_incomplete(
            text + "Skipping coccinelle SmPL patch: x.cocci\n", 1))


class CheckCoccicheckTest(unittest.TestCase):
    """Only reports on lines the series adds, in the file checked, fail."""

    def run_check(self, reports):
        from unittest import mock
        with mock.patch.object(check.deps, "ensure_step"), \
                mock.patch.object(check, "cocci_files",
                                  lambda names: ["kernel/padata.c"]), \
                mock.patch.object(check, "git", lambda args: DIFF), \
                mock.patch.object(check, "_coccicheck",
                                  lambda path: reports):
            return check.check_coccicheck(["x.patch"])

    def test_report_on_an_added_line(self):
        self.assertEqual(self.run_check([("kernel/padata.c", 25, "WARNING: "
                                          "Use ARRAY_SIZE")]),
                         ["coccicheck reports on lines the series adds to "
                          "kernel/padata.c:\n  kernel/padata.c:25: WARNING: "
                          "Use ARRAY_SIZE"])

    def test_reports_on_base_lines_and_other_files(self):
        self.assertEqual(self.run_check([("kernel/padata.c", 20, "x"),
                                         ("kernel/other.c", 25, "y")]), [])


if __name__ == "__main__":
    unittest.main()
