import unittest

from harness import qemu, topology
from harness.util import MtinitError


class SizeTest(unittest.TestCase):
    def test_units(self):
        self.assertEqual(topology.parse_size("512M"), 512)
        self.assertEqual(topology.parse_size("16G"), 16384)
        self.assertEqual(topology.parse_size("1t"), 1024 * 1024)

    def test_rejects(self):
        for bad in ("", "16", "1.5G", "G", "-1G", "16GB", "16K"):
            with self.assertRaises(MtinitError, msg=bad):
                topology.parse_size(bad)

    def test_format(self):
        self.assertEqual(topology.format_size(65536), "64G")
        self.assertEqual(topology.format_size(1000), "1000M")


class NumaTest(unittest.TestCase):
    def test_cpu_less_node(self):
        spec = topology.guest_spec(numa="2G@0-1,32G", smp=2)
        self.assertEqual(spec["mem"], "34G")
        self.assertEqual(spec["nodes"], [
            {"mem_mb": 2048, "cpus": [0, 1]}, {"mem_mb": 32768, "cpus": []}])

    def test_two_cpu_less_nodes(self):
        """A node without '@CPUS' has none, and four nodes are fine."""
        spec = topology.guest_spec(numa="2G@0,2G@1,16G,16G", smp=2)
        self.assertEqual(spec["mem"], "36G")
        self.assertEqual([n["cpus"] for n in spec["nodes"]],
                         [[0], [1], [], []])
        numa = [a for a in qemu.memory_args(spec, "sparse")
                if a.startswith("node,")]
        self.assertEqual(numa, ["node,nodeid=0,cpus=0-0,memdev=m0",
                                "node,nodeid=1,cpus=1-1,memdev=m1",
                                "node,nodeid=2,memdev=m2",
                                "node,nodeid=3,memdev=m3"])

    def test_memory_less_node(self):
        spec = topology.guest_spec(numa="4G@0-1,0@2-3")
        self.assertEqual(spec["smp"], 4)
        self.assertEqual(spec["nodes"][1], {"mem_mb": 0, "cpus": [2, 3]})

    def test_cpus_default_to_node_0(self):
        spec = topology.guest_spec(numa="4G,4G", smp=2)
        self.assertEqual(spec["nodes"][0]["cpus"], [0, 1])

    def test_cpu_list_syntax(self):
        self.assertEqual(topology.parse_cpus("0-2+5"), [0, 1, 2, 5])

    def test_errors(self):
        cases = {
            "CPU 2 but the guest has only 2": dict(numa="4G@0-2", smp=2),
            "in nodes 0 and 1": dict(numa="4G@0-1,4G@1", smp=2),
            "are in no node": dict(numa="4G@0,4G", smp=2),
            "neither memory nor CPUs": dict(numa="4G@0-1,0", smp=2),
            "disagrees": dict(numa="4G@0-1", smp=2, mem="8G"),
            "bad CPU range": dict(numa="4G@3-1", smp=4),
            "bad size": dict(numa="4X@0", smp=1),
            "out of range 1-64": dict(smp=0),
            "guest memory 128M is out of range": dict(mem="128M"),
            "node 0 needs at least": dict(numa="128M@0,4G@1", smp=2),
            "node 0 needs at least 256M": dict(numa="0@0-1,4G", smp=2),
            "needs at least 4M": dict(numa="4G@0-1,2M", smp=2),
            "at most 64 (CONFIG_NODES_SHIFT)":
                dict(numa="1G@0," + ",".join(["4M"] * 64), smp=1),
            "has neither memory nor CPUs": dict(numa="4G@0,0", smp=1),
            "CPU 64 but the guest has only 64": dict(numa="4G@0-64", smp=64),
            "--smp 65 is out of range": dict(numa="4G@0-64", smp=65),
        }
        for text, kwargs in cases.items():
            with self.assertRaises(MtinitError, msg=text) as ctx:
                topology.guest_spec(**kwargs)
            self.assertIn(text, str(ctx.exception))


class QemuArgsTest(unittest.TestCase):
    def test_single_node_sparse(self):
        args = qemu.memory_args(topology.guest_spec(mem="64G", smp=2),
                                "sparse")
        self.assertIn("memory-backend-ram,id=m0,size=65536M,reserve=off",
                      args)
        self.assertIn("memory-backend=m0", args)
        self.assertNotIn("prealloc", " ".join(args))

    def test_single_node_prealloc(self):
        args = qemu.memory_args(topology.guest_spec(mem="16G", smp=2),
                                "prealloc")
        self.assertIn("memory-backend-ram,id=m0,size=16384M,prealloc=on",
                      args)
        self.assertNotIn("reserve=off", " ".join(args))

    def test_numa_nodes(self):
        spec = topology.guest_spec(numa="2G@0-1,32G,0@2-3")
        args = qemu.memory_args(spec, "sparse")
        numa = [args[i + 1] for i, a in enumerate(args) if a == "-numa"]
        self.assertEqual(numa, ["node,nodeid=0,cpus=0-1,memdev=m0",
                                "node,nodeid=1,memdev=m1",
                                "node,nodeid=2,cpus=2-3"])

    def test_every_numa_backend_prealloc(self):
        spec = topology.guest_spec(numa="2G@0-1,16G,0@2-3")
        args = qemu.memory_args(spec, "prealloc")
        backends = [args[i + 1] for i, a in enumerate(args)
                    if a == "-object"]
        self.assertEqual(backends, [
            "memory-backend-ram,id=m0,size=2048M,prealloc=on",
            "memory-backend-ram,id=m1,size=16384M,prealloc=on"])

    def test_unknown_backing(self):
        spec = topology.guest_spec(mem="4G", smp=1)
        with self.assertRaisesRegex(MtinitError, "unknown guest RAM "
                                    "backing 'auto'"):
            qemu.memory_args(spec, "auto")

    def test_modes(self):
        spec = topology.guest_spec(mem="4G", smp=1)
        cmd = qemu.command("k", "i", spec, "icount", "sparse", "", "s")
        self.assertIn("shift=0,sleep=off", cmd)
        with self.assertRaises(MtinitError):
            qemu.command("k", "i", spec, "kvm", "sparse", "", "s")


class CmdlineTest(unittest.TestCase):
    def test_padded_to_one_length(self):
        short = qemu.padded_cmdline("a")
        longer = qemu.padded_cmdline("a deferred_page_init_threads=64")
        self.assertEqual(len(short), qemu.CMDLINE_LENGTH)
        self.assertEqual(len(longer), qemu.CMDLINE_LENGTH)
        self.assertTrue(longer.startswith("a deferred_page_init_threads=64 "))

    def test_too_long(self):
        with self.assertRaises(MtinitError):
            qemu.padded_cmdline("x" * 600)

    def test_numa_sockets(self):
        spec = topology.guest_spec(numa="4G@0,4G@1")
        self.assertEqual(qemu.smp_arg(spec), "2,sockets=2,cores=1,threads=1")
        self.assertEqual(qemu.smp_arg(topology.guest_spec(mem="4G")), "2")


if __name__ == "__main__":
    unittest.main()
