"""sparse and Sphinx messages are compared with the base's, without line
numbers and absolute paths."""

import collections
import unittest

from harness import check

BASE = """  CHECK   /work/x/build/bisect/mm/page_alloc.c
/work/x/build/bisect/mm/page_alloc.c:2724:6: warning: context imbalance in 'free_unref_page' - different lock contexts for basic block
"""
SERIES = """  CHECK   /work/x/build/bisect/mm/page_alloc.c
/work/x/build/bisect/mm/page_alloc.c:2790:6: warning: context imbalance in 'free_unref_page' - different lock contexts for basic block
/work/x/build/bisect/kernel/padata.c:1301:17: warning: dereference of noderef expression
"""


class MessagesTest(unittest.TestCase):
    def test_moved_lines_are_the_same_message(self):
        before = check._messages(BASE, check.SPARSE_MESSAGE)
        after = check._messages(SERIES, check.SPARSE_MESSAGE)
        self.assertEqual(check.new_messages(before, after),
                         ["kernel/padata.c: warning: dereference of noderef "
                          "expression"])

    def test_a_message_repeated_more_often_is_new(self):
        before = collections.Counter({"a.c: warning: x": 1})
        after = collections.Counter({"a.c: warning: x": 2})
        self.assertEqual(check.new_messages(before, after),
                         ["a.c: warning: x"])

    def test_sphinx_warning(self):
        text = ("/work/x/build/linux/Documentation/core-api/padata.rst:210: "
                "WARNING: Inline interpreted text or phrase reference "
                "start-string without end-string.\n")
        self.assertEqual(list(check._messages(text, check.DOCS_MESSAGE)),
                         ["Documentation/core-api/padata.rst: WARNING: Inline "
                          "interpreted text or phrase reference start-string "
                          "without end-string."])


    def test_kernel_doc_warning_through_sphinx(self):
        text = ("/work/x/build/linux/include/linux/padata.h:160: warning: "
                "Function parameter or struct member 'node' not described "
                "in 'padata_mt_job'\n")
        self.assertEqual(len(check._messages(text, check.DOCS_MESSAGE)), 1)





class KbuildObjectTest(unittest.TestCase):
    """Only C files that their Makefile builds are compiled on their own
    by check: a KUnit suite #included by the file it tests is not."""

    def test_objects_and_included_files(self):
        import os
        import tempfile
        with tempfile.TemporaryDirectory() as tree:
            os.makedirs(os.path.join(tree, "mm"))
            with open(os.path.join(tree, "mm", "Makefile"), "w") as fh:
                fh.write("obj-y := mm_init.o page_alloc.o\n"
                         "obj-$(CONFIG_X) += early-mm_init.o\n")
            self.assertTrue(check._kbuild_object("mm/mm_init.c", tree))
            self.assertTrue(check._kbuild_object("mm/page_alloc.c", tree))
            self.assertFalse(check._kbuild_object("mm/mm_init_kunit.c",
                                                  tree))
            self.assertFalse(check._kbuild_object("mm/init.c", tree))
            self.assertFalse(check._kbuild_object("fs/x.c", tree))


if __name__ == "__main__":
    unittest.main()
