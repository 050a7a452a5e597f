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
            patch = os.path.join(tree, "series.patch")
            with open(patch, "w") as fh:
                fh.write("diff --git a/kernel/a.c b/kernel/a.c\n"
                         "diff --git a/kernel/x.h b/kernel/x.h\n"
                         "diff --git a/kernel/gone.c b/kernel/gone.c\n")
            for name in ("a.c", "x.h"):
                with open(os.path.join(tree, "kernel", name), "w") as fh:
                    fh.write("x\n")
            real = check.touched_files
            check.touched_files = lambda names: real(names, tree)
            try:
                self.assertEqual(check.cocci_files(["series.patch"], tree),
                                 ["kernel/a.c"])
            finally:
                check.touched_files = real


if __name__ == "__main__":
    unittest.main()
