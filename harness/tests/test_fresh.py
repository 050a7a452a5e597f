"""make fresh: the root's sources, release, commands and mount safety."""

import os
import tempfile
import unittest

from harness import fresh
from harness.util import MtinitError


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    return path


class SourcesTest(unittest.TestCase):
    def test_enabled_debian_sources_only(self):
        with tempfile.TemporaryDirectory() as apt:
            deb = write(os.path.join(apt, "sources.list.d", "debian.sources"),
                        "Types: deb\nURIs: http://deb.debian.org/debian\n")
            write(os.path.join(apt, "sources.list.d", "node.sources.off"),
                  "URIs: http://deb.debian.org/debian\n")
            other = write(os.path.join(apt, "sources.list.d", "sdk.list"),
                          "deb https://packages.example.com/apt sdk main\n")
            write(os.path.join(apt, "sources.list"), "")
            found = fresh.apt_sources(apt)
            self.assertEqual(found, [deb, other])
            self.assertEqual(fresh.debian_sources(found), [deb])

    def test_release(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = write(os.path.join(tmp, "os-release"),
                         'NAME="Debian GNU/Linux"\nVERSION_CODENAME=bookworm\n')
            self.assertEqual(fresh.release(path), "bookworm")
            write(path, 'NAME="Something"\n')
            with self.assertRaisesRegex(MtinitError, "VERSION_CODENAME"):
                fresh.release(path)


class CommandTest(unittest.TestCase):
    def test_mmdebstrap(self):
        cmd = fresh.mmdebstrap_command("bookworm", ["/a.sources"], "/r")
        self.assertEqual(cmd[:4], fresh.PRIVATE)
        self.assertEqual(cmd[4:7], ["mmdebstrap", "--variant=minbase",
                                    "--mode=root"])
        self.assertEqual(cmd[-3:], ["bookworm", "/r", "/a.sources"])
        self.assertIn("debian-archive-keyring", cmd[7])

    def test_chroot_runs_ci_with_a_clean_environment(self):
        cmd = fresh.chroot_command()
        self.assertEqual(cmd[:4], ["chroot", fresh.ROOTFS, "/usr/bin/env",
                                   "-i"])
        self.assertEqual(cmd[-1], "cd /work/mtinit && bash .ci/run")
        self.assertIn("CI=true", cmd)


class MountSafetyTest(unittest.TestCase):
    def test_mounts_under_the_root(self):
        root = os.path.realpath(fresh.ROOTFS)
        with tempfile.TemporaryDirectory() as tmp:
            mounts = write(os.path.join(tmp, "mounts"), "".join(
                "x %s y rw 0 0\n" % p for p in (
                    "/", "/dev", root + "/proc", root + "/dev",
                    root + "x/dev", root + "/dev/pts")))
            self.assertEqual(fresh.mounts_under(fresh.ROOTFS, mounts),
                             [root + "/proc", root + "/dev",
                              root + "/dev/pts"])

    def test_remove_refuses_while_mounted(self):
        real_under, real_rmtree = fresh.mounts_under, fresh.shutil.rmtree
        removed = []
        fresh.mounts_under = lambda path: [path + "/dev"]
        fresh.shutil.rmtree = removed.append
        try:
            with self.assertRaisesRegex(MtinitError, "mounted in it"):
                fresh.remove_root()
        finally:
            fresh.mounts_under = real_under
            fresh.shutil.rmtree = real_rmtree
        self.assertEqual(removed, [])

    def test_mounts_only_in_a_private_namespace(self):
        """Every mount happens in the unshare'd namespace, with private
        propagation, and the run ends by exec'ing the chroot; nothing is
        unmounted, so nothing can unmount the host's /dev."""
        cmd = fresh.namespace_script("/home/u/.cache/ccache")
        self.assertEqual(cmd[:6], ["unshare", "--mount", "--propagation",
                                   "private", "sh", "-c"])
        script = cmd[6].splitlines()
        self.assertEqual(script[0], "set -e")
        self.assertTrue(script[-1].startswith("exec chroot "))
        self.assertNotIn("umount", cmd[6])
        self.assertIn("mount -o remount,bind,ro %s/%s"
                      % (fresh.ROOTFS, fresh.CCACHE_IN_ROOT), script)
        self.assertIn(" CCACHE_READONLY=1 ", script[-1])
        self.assertNotIn("ccache", fresh.namespace_script(None)[6])

    def test_paths_are_quoted(self):
        real = fresh.ROOTFS
        fresh.ROOTFS = "/tmp/it's here"
        try:
            script = fresh.namespace_script("/home/a b/.cache/ccache")[6]
        finally:
            fresh.ROOTFS = real
        self.assertIn("mount -t proc proc '/tmp/it'\"'\"'s here/proc'", script)
        self.assertIn("mount --bind '/home/a b/.cache/ccache' ", script)

    def test_mount_escapes(self):
        self.assertEqual(fresh.unescape_mount("/a\\040b\\011c\\134d"),
                         "/a b\tc\\d")

    def test_not_root_is_refused(self):
        real = fresh.os.geteuid
        fresh.os.geteuid = lambda: 1000
        try:
            with self.assertRaisesRegex(MtinitError, "needs root"):
                fresh.check_root()
        finally:
            fresh.os.geteuid = real


if __name__ == "__main__":
    unittest.main()
