"""Guest RAM backing: prealloc when the host can hold it, sparse else."""

import contextlib
import io
import os
import tempfile
import unittest

from harness import backing
from harness.util import MtinitError

MEMINFO = """MemTotal:       24683620 kB
MemFree:         1234567 kB
MemAvailable:   %d kB
Buffers:          123456 kB
"""


@contextlib.contextmanager
def fake_meminfo(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "meminfo")
        with open(path, "w") as fh:
            fh.write(text)
        yield path


def gib_kb(gib):
    return int(gib * 1024 * 1024)


class MemAvailableTest(unittest.TestCase):
    def test_read(self):
        with fake_meminfo(MEMINFO % gib_kb(20)) as path:
            self.assertEqual(backing.mem_available_mb(path), 20 * 1024)

    def test_missing_line_or_file(self):
        with fake_meminfo("MemTotal: 1 kB\n") as path:
            self.assertIsNone(backing.mem_available_mb(path))
        self.assertIsNone(backing.mem_available_mb("/nonexistent/meminfo"))


class ChooseTest(unittest.TestCase):
    def test_sparse_is_always_sparse(self):
        self.assertEqual(backing.choose("sparse", 256 * 1024, 1024),
                         ("sparse", None))

    def test_prealloc_that_fits(self):
        self.assertEqual(backing.choose("prealloc", 16384, 20 * 1024),
                         ("prealloc", None))
        # Exactly 2 GiB left is enough.
        self.assertEqual(backing.choose("prealloc", 16384, 18 * 1024),
                         ("prealloc", None))

    def test_prealloc_refused_naming_the_sizes(self):
        with self.assertRaises(MtinitError) as ctx:
            backing.choose("prealloc", 64 * 1024, 23 * 1024)
        text = str(ctx.exception)
        for part in ("--backing prealloc", "64G guest", "needs 66.0G",
                     "2G left to the host", "the host has 23.0G",
                     "--backing sparse"):
            self.assertIn(part, text)

    def test_prealloc_one_mib_short(self):
        with self.assertRaises(MtinitError):
            backing.choose("prealloc", 16384, 18 * 1024 - 1)

    def test_auto(self):
        self.assertEqual(backing.choose("auto", 16384, 20 * 1024),
                         ("prealloc", None))
        used, note = backing.choose("auto", 64 * 1024, 23 * 1024)
        self.assertEqual(used, "sparse")
        self.assertIn("guest RAM is sparse: a prealloc 64G guest", note)

    def test_no_meminfo(self):
        used, note = backing.choose("auto", 1024, None)
        self.assertEqual(used, "sparse")
        self.assertIn("MemAvailable", note)
        with self.assertRaisesRegex(MtinitError, "MemAvailable"):
            backing.choose("prealloc", 1024, None)

    def test_unknown(self):
        with self.assertRaisesRegex(MtinitError, "--backing 'swap'"):
            backing.choose("swap", 1024, 20 * 1024)


class ResolveTest(unittest.TestCase):
    def resolve(self, requested, guest_mb, available_gib):
        err = io.StringIO()
        with fake_meminfo(MEMINFO % gib_kb(available_gib)) as path, \
                contextlib.redirect_stderr(err):
            used = backing.resolve(requested, guest_mb, path)
        return used, err.getvalue()

    def test_auto_prealloc_is_silent(self):
        self.assertEqual(self.resolve("auto", 16384, 22.5),
                         ("prealloc", ""))

    def test_auto_falls_back_with_one_info_line(self):
        used, err = self.resolve("auto", 16384, 17)
        self.assertEqual(used, "sparse")
        self.assertEqual(len(err.splitlines()), 1)
        self.assertTrue(err.startswith("mtinit: guest RAM is sparse: a "
                                       "prealloc 16G guest needs 18.0G of "
                                       "MemAvailable"), err)
        self.assertIn("the host has 17.0G", err)

    def test_prealloc_refused(self):
        with self.assertRaisesRegex(MtinitError, "the host has 17.0G"):
            self.resolve("prealloc", 16384, 17)


if __name__ == "__main__":
    unittest.main()
