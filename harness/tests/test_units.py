"""Tests of the pure parts: pin and series files, KTAP, tables, compares."""

import os
import tempfile
import unittest

from harness import base, build, compare, report, selftest
from harness.util import MtinitError


def write(path, text):
    with open(path, "w") as fh:
        fh.write(text)
    return path


class PinTest(unittest.TestCase):
    def test_repository_pin_parses(self):
        pin = base.read_pin()
        self.assertEqual(pin["package"], "linux-source-6.12")
        self.assertRegex(pin["sha256"], r"^[0-9a-f]{64}$")

    def test_missing_key(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = write(os.path.join(tmp, "BASE"), "package = x\n")
            with self.assertRaisesRegex(MtinitError, "'version' is missing"):
                base.read_pin(path)

    def test_garbage_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = write(os.path.join(tmp, "BASE"), "what\n")
            with self.assertRaisesRegex(MtinitError, "BASE:1"):
                base.read_pin(path)

    def test_wrong_checksum(self):
        with tempfile.TemporaryDirectory() as tmp:
            tarball = write(os.path.join(tmp, "t.tar.xz"), "not a kernel")
            pin = {"package": "p", "version": "1", "tarball": tarball,
                   "sha256": "0" * 64}
            with self.assertRaisesRegex(MtinitError, "BASE pins"):
                base.verify_tarball(pin, "1")
            # A fallback version cannot match the pin: not an error here.
            self.assertEqual(base.verify_tarball(pin, "2"),
                             base.sha256_of(tarball))


class NotCommittedTest(unittest.TestCase):
    def test_generated_docs_are_not_work(self):
        generated = {"Documentation/networking/netlink_spec/devlink.rst"}
        self.assertEqual(base.not_committed([
            "Documentation/networking/netlink_spec/devlink.rst",
            "Documentation/networking/netlink_spec/handwritten.rst",
            "mm/new_file.c", "Documentation/core-api/new.rst",
            "tools/testing/selftests/padata/padata_test/padata_test.ko",
            "tools/testing/selftests/padata/padata_test/.padata_test.o.cmd",
            "tools/testing/selftests/padata/padata_test/Module.symvers",
            "tools/testing/selftests/padata/padata_test/new.c",
            "tools/testing/selftests/mm/local_config.h",
            "tools/testing/selftests/mm/local_config.mk"],
            generated),
            ["Documentation/networking/netlink_spec/handwritten.rst",
             "mm/new_file.c", "Documentation/core-api/new.rst",
             "tools/testing/selftests/padata/padata_test/new.c"])

    def test_generated_docs_from_the_specs(self):
        with tempfile.TemporaryDirectory() as tree:
            specs = os.path.join(tree, base.NETLINK_SPECS)
            os.makedirs(specs)
            write(os.path.join(specs, "devlink.yaml"), "")
            write(os.path.join(specs, "README"), "")
            self.assertEqual(base.generated_docs(tree), {
                "Documentation/networking/netlink_spec/index.rst",
                "Documentation/networking/netlink_spec/devlink.rst"})


class SeriesTest(unittest.TestCase):
    def test_order_and_comments(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("0001-a.patch", "0002-b.patch"):
                write(os.path.join(tmp, name), "")
            series = write(os.path.join(tmp, "series"),
                           "# comment\n0002-b.patch\n\n0001-a.patch\n")
            self.assertEqual(base.series_names(series),
                             ["0002-b.patch", "0001-a.patch"])

    def test_missing_patch(self):
        with tempfile.TemporaryDirectory() as tmp:
            series = write(os.path.join(tmp, "series"), "0001-gone.patch\n")
            with self.assertRaisesRegex(MtinitError, "0001-gone.patch"):
                base.series_names(series)

    def test_compare_dirs(self):
        with tempfile.TemporaryDirectory() as a, \
                tempfile.TemporaryDirectory() as b:
            write(os.path.join(a, "0001-x.patch"), "one")
            write(os.path.join(b, "0001-x.patch"), "one")
            self.assertEqual(base.compare_dirs(a, b), [])
            write(os.path.join(b, "0001-x.patch"), "two")
            write(os.path.join(a, "series"), "0001-x.patch\n")
            self.assertEqual(base.compare_dirs(a, b),
                             ["series", "0001-x.patch"])

    def test_cover_letter_is_from_the_series_author(self):
        """The export is the same on a machine whose git has another
        identity, or none (make fresh found this)."""
        import subprocess
        with tempfile.TemporaryDirectory() as tree:
            def git(*args, **env):
                subprocess.run(["git", "-C", tree] + list(args), check=True,
                               capture_output=True,
                               env=dict(os.environ, **env))
            git("init", "-q")
            git("config", "user.name", "Someone Else")
            git("config", "user.email", "else@example.org")
            write(os.path.join(tree, "f"), "a\n")
            git("add", "f")
            git("commit", "-qm", "base")
            git("tag", "base")
            write(os.path.join(tree, "f"), "b\n")
            git("commit", "-qam", "change", GIT_AUTHOR_NAME="Series Author",
                GIT_AUTHOR_EMAIL="author@example.org")
            with tempfile.TemporaryDirectory() as dest:
                base.export_series(dest, tree)
                with open(os.path.join(dest, "0000-cover-letter.patch")) as fh:
                    letter = fh.read()
        self.assertIn("From: Series Author <author@example.org>", letter)
        self.assertNotIn("Someone Else", letter)


class FragmentTest(unittest.TestCase):
    def test_unmet_options(self):
        with tempfile.TemporaryDirectory() as tmp:
            dot = write(os.path.join(tmp, ".config"),
                        "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=64\n")
            wanted = {"CONFIG_A": "y", "CONFIG_B": "y", "CONFIG_C": "64",
                      "CONFIG_D": "n"}
            self.assertEqual(build.unmet_options(wanted, dot),
                             ["CONFIG_B=y (got n)"])

    def test_repository_fragments_parse(self):
        for name in ("guest.config", "debug.config"):
            opts = build.parse_fragment(os.path.join(build.CONFIG_DIR, name))
            self.assertTrue(opts)
        guest = build.parse_fragment(os.path.join(build.CONFIG_DIR,
                                                  "guest.config"))
        self.assertEqual(guest["CONFIG_DEFERRED_STRUCT_PAGE_INIT"], "y")


class KtapTest(unittest.TestCase):
    def test_all_pass(self):
        text = "KTAP version 1\n1..2\n    1..1\n    ok 1 inner\nok 1 a\nok 2 b\n"
        self.assertEqual(selftest.verdict(text), [])

    def test_empty_plan_is_honest(self):
        self.assertEqual(selftest.verdict("KTAP version 1\n1..0\n"), [])

    def test_failure_and_missing(self):
        text = "KTAP version 1\n1..3\nok 1 a\nnot ok 2 b\n"
        self.assertEqual(selftest.verdict(text),
                         ["not ok 2 b", "planned 3 tests, 2 reported"])

    def test_no_plan(self):
        self.assertEqual(len(selftest.verdict("garbage\n")), 1)


def boot_result(zones, memtotal, code=4096, init=1000):
    return {"zones": zones, "memtotal_kb": memtotal,
            "memory_line": {"code": code, "rwdata": 1000, "rodata": 1000,
                            "bss": 1000, "init": init}}


class CompareTest(unittest.TestCase):
    def zones(self, dma32_managed, normal_managed=1000):
        return {"0/DMA32": {"present": 5000, "managed": dma32_managed},
                "0/Normal": {"present": 2000, "managed": normal_managed}}

    def test_equal(self):
        a = boot_result(self.zones(4000), 20000)
        self.assertEqual(compare.against_stock(a, a), [])
        self.assertEqual(compare.identical(a, a), [])

    def test_bigger_image_accounted_exactly(self):
        stock = boot_result(self.zones(4000), 20000)
        patched = boot_result(self.zones(3998), 19992, code=4104)
        self.assertEqual(compare.against_stock(stock, patched), [])

    def test_image_difference_below_a_page(self):
        # Real figures of a CI run: rwdata +1K and bss -4K, managed equal.
        stock = boot_result(self.zones(4000), 20000)
        patched = boot_result(self.zones(4000), 20000)
        patched["memory_line"].update(rwdata=1001, bss=996)
        self.assertEqual(compare.against_stock(stock, patched), [])
        lost = boot_result(self.zones(3999), 19996)
        lost["memory_line"].update(rwdata=1001, bss=996)
        self.assertIn("differ by -1",
                      compare.against_stock(stock, lost)[0])

    def test_one_page_lost(self):
        stock = boot_result(self.zones(4000), 20000)
        patched = boot_result(self.zones(3999), 19996)
        problems = compare.against_stock(stock, patched)
        self.assertTrue(problems)
        self.assertIn("differ by -1", problems[0])

    def test_present_differs(self):
        stock = boot_result(self.zones(4000), 20000)
        zones = self.zones(4000)
        zones["0/Normal"]["present"] += 1
        patched = boot_result(zones, 20000)
        self.assertIn("present", compare.against_stock(stock, patched)[0])

    def test_two_zones_changed(self):
        stock = boot_result(self.zones(4000), 20000)
        patched = boot_result(self.zones(3999, 999), 19992, code=4104)
        self.assertIn("more than one zone",
                      compare.against_stock(stock, patched)[0])

    def test_identical_reports_zone(self):
        a = boot_result(self.zones(4000), 20000)
        b = boot_result(self.zones(4001), 20004)
        self.assertEqual(len(compare.identical(a, b)), 2)


class ReportTest(unittest.TestCase):
    def test_table(self):
        rows = [
            {"label": "stock", "node_pct": 100, "threads": 2,
             "boot_ms": [1000, 1100, 1200], "deferred_ms": [400, 420, 380]},
            {"label": "patched", "node_pct": 50, "threads": 1,
             "boot_ms": [800, 800], "deferred_ms": [200, 200]},
        ]
        text = report.table("T", rows)
        self.assertIn("node% (thr)", text)
        lines = text.splitlines()
        self.assertIn("100%", lines[5])
        self.assertIn("  50.0%  0.50x", lines[6])
        self.assertIn("1100.0 ( 100.0)", lines[5])

    def test_stats(self):
        self.assertEqual(report.stats([None, 3.0]), (3.0, 0.0))
        self.assertEqual(report.stats([]), (None, None))

    def test_noisy_threshold(self):
        self.assertFalse(report.noisy(100.0, 10.0))
        self.assertTrue(report.noisy(100.0, 10.1))
        self.assertFalse(report.noisy(100.0, 0.0))
        self.assertFalse(report.noisy(None, None))

    def test_quiet_table_has_no_mark_or_legend(self):
        rows = [
            {"label": "stock", "node_pct": 100, "threads": 2,
             "boot_ms": [1000, 1100, 1200], "deferred_ms": [400, 420, 380]},
            {"label": "patched", "node_pct": 100, "threads": 2,
             "boot_ms": [900, 910], "deferred_ms": [200, 210]},
        ]
        text = report.table("T", rows)
        self.assertNotIn(report.NOISY_MARK, text)
        self.assertNotIn(report.NOISY_LEGEND, text)

    def test_noisy_row_is_marked_with_legend(self):
        rows = [
            {"label": "stock", "node_pct": 100, "threads": 2,
             "boot_ms": [1000, 1010, 990], "deferred_ms": [400, 410, 390]},
            # deferred: median 200, stdev 100 (50%); boot quiet.
            {"label": "patched", "node_pct": 100, "threads": 2,
             "boot_ms": [900, 910, 890], "deferred_ms": [100, 200, 300]},
        ]
        lines = report.table("T", rows).splitlines()
        self.assertNotIn("!", lines[5])
        self.assertTrue(lines[6].endswith("200.0 ( 100.0)!"), lines[6])
        self.assertIn(" 900.0 (  10.0)  ", lines[6])
        self.assertEqual(lines[-1], report.NOISY_LEGEND)
        self.assertIn("10% of the median", report.NOISY_LEGEND)
        # The mark does not move the columns.
        self.assertEqual(len(lines[5]) + 1, len(lines[6]))

    def test_cpu_less_lines(self):
        """The patched rows of a guest with nodes without CPUs say where
        those were initialised from and their threads ran."""
        rows = [
            {"label": "stock", "node_pct": 50, "threads": 1,
             "boot_ms": [1000], "deferred_ms": [400], "cpu_less": []},
            {"label": "patched", "node_pct": 50, "threads": 1,
             "boot_ms": [900], "deferred_ms": [200],
             "cpu_less": [{"node": 2, "from_node": 0, "ran_on": [0],
                           "boots": 5},
                          {"node": 3, "from_node": 1, "ran_on": [1],
                           "boots": 5}]},
            {"label": "patched", "node_pct": 100, "threads": 2,
             "boot_ms": [900], "deferred_ms": [100],
             "cpu_less": [{"node": 2, "from_node": 0, "ran_on": [0, 1],
                           "boots": 4},
                          {"node": 2, "from_node": 0, "ran_on": [0],
                           "boots": 1}]},
        ]
        lines = report.table("T", rows).splitlines()
        self.assertEqual(lines[8:], [
            report.CPU_LESS_HEADING,
            "patched (  1)  node 2 from node 0, threads on nodes 0 (5); "
            "node 3 from node 1, threads on nodes 1 (5)",
            "patched (  2)  node 2 from node 0, threads on nodes 0-1 (4); "
            "node 2 from node 0, threads on nodes 0 (1)"])
        for row in rows:
            row["cpu_less"] = []
        self.assertNotIn(report.CPU_LESS_HEADING, report.table("T", rows))

    def test_noisy_pmem_row(self):
        rows = [
            {"label": "stock", "threads": 1, "pages": 100,
             "bind_ms": [100, 130, 70], "kernel_ms": []},
            {"label": "patched", "threads": 2, "pages": 100,
             "bind_ms": [30, 31, 29], "kernel_ms": [25, 25]},
        ]
        lines = report.pmem_table("P", rows, 0.3).splitlines()
        self.assertIn("100.0 (  30.0)!", lines[5])
        self.assertIn("30.0 (   1.0)  0.30x ok", lines[6])
        self.assertEqual(lines[-1], report.NOISY_LEGEND)



class BenchSelectTest(unittest.TestCase):
    """bench --only picks the deferred-init or the pmem configurations."""

    def test_all_by_default(self):
        from harness import bench, pmem
        self.assertEqual(bench.select_configs(),
                         list(bench.CONFIGS) + pmem.BENCH_CONFIGS)

    def test_only_deferred(self):
        from harness import bench
        chosen = bench.select_configs(only="deferred")
        self.assertEqual(chosen, list(bench.CONFIGS))
        self.assertFalse(any(c.get("pmem") for c in chosen))

    def test_only_pmem(self):
        from harness import bench
        chosen = bench.select_configs(only="pmem")
        self.assertTrue(chosen)
        self.assertTrue(all(c.get("pmem") for c in chosen))

    def test_unknown_is_refused(self):
        from harness import bench
        from harness.util import MtinitError
        with self.assertRaises(MtinitError):
            bench.select_configs(only="everything")


class BenchBackingTest(unittest.TestCase):
    """Every MTTCG configuration is prefaulted and fits a 24 GiB host."""

    def all_configs(self):
        from harness import bench, pmem
        return (bench.CONFIGS + pmem.BENCH_CONFIGS + pmem.BENCH_QUICK +
                bench.DISTRO_CONFIGS)

    def test_mttcg_prealloc_icount_sparse(self):
        for config in self.all_configs():
            want = "prealloc" if config["mode"] == "mttcg" else "sparse"
            self.assertEqual(config["backing"], want, config["title"])

    def test_prefaulted_guests_fit_a_24g_host(self):
        from harness import bench
        host_mb = 24 * 1024 - 512    # MemAvailable of an idle 24 GiB host
        self.assertEqual(bench.prealloc_refusals(self.all_configs(),
                                                 host_mb), [])

    def test_too_small_host_is_refused_up_front(self):
        from harness import bench
        refusals = bench.prealloc_refusals(bench.CONFIGS, 16 * 1024)
        self.assertEqual(len(refusals), 2)
        self.assertIn("18 GiB guest", refusals[1])
        self.assertIn("a prealloc 18G guest needs 20.0G", refusals[1])

    def test_two_cpu_less_nodes(self):
        """A prefaulted MTTCG guest with two nodes without CPUs, not in
        the quick bench."""
        from harness import bench
        config = next(c for c in bench.CONFIGS
                      if c.get("numa") == "1G@0,1G@1,6G,6G")
        self.assertEqual((config["smp"], config["mode"], config["backing"],
                          config["variants"]),
                         (2, "mttcg", "prealloc", [("stock", None),
                                                   ("patched", None)]))
        self.assertTrue(config["title"].startswith("14 GiB guest, 2 vCPUs"))
        self.assertEqual(bench.config_spec(config)["mem_mb"], 14 * 1024)
        self.assertNotIn(config, bench.select_configs(quick=True))

    def test_cpu_less_runs(self):
        from harness import bench

        def run(*said):
            return {"deferred": [
                {"node": 0, "from_node": None, "ran_on": None}] + [
                {"node": n, "from_node": f, "ran_on": r} for n, f, r in said]}
        runs = [run((2, 0, [0, 1]), (3, 1, [0, 1])),
                run((2, 0, [0]), (3, 1, [0, 1])),
                run((2, 0, [0, 1]), (3, 1, [0, 1]))]
        self.assertEqual(bench.cpu_less_runs(runs), [
            {"node": 2, "from_node": 0, "ran_on": [0, 1], "boots": 2},
            {"node": 2, "from_node": 0, "ran_on": [0], "boots": 1},
            {"node": 3, "from_node": 1, "ran_on": [0, 1], "boots": 3}])
        self.assertEqual(bench.cpu_less_runs([run(), run()]), [])

    def test_quick_is_one_prealloc_16g_and_one_icount(self):
        from harness import bench
        quick = bench.select_configs(quick=True, only="deferred")
        self.assertEqual([(c["mem"], c["mode"], c["backing"])
                          for c in quick],
                         [("16G", "mttcg", "prealloc"),
                          ("16G", "icount", "sparse")])

    def test_no_64g_mttcg(self):
        from harness import bench
        for config in bench.select_configs():
            if config["mode"] == "mttcg":
                self.assertLessEqual(bench.config_spec(config)["mem_mb"],
                                     18 * 1024, config["title"])

    def test_title_names_the_backing_used(self):
        from harness import bench
        config = bench.CONFIGS[0]
        results = {("stock", None): [{"backing": "prealloc"}]}
        self.assertEqual(bench.table_title(config, 5, results),
                         "Guest config (tinyconfig + Debian's values, "
                         "config/guest.config): 16 GiB guest, 2 vCPUs, 1 "
                         "node, MTTCG, prefaulted RAM (prealloc), 5 boot(s) "
                         "each, medians")
        results = {("stock", None): [{"backing": "sparse"}]}
        self.assertIn("MTTCG, sparse RAM, 5 boot(s)",
                      bench.table_title(config, 5, results))



class CpuTest(unittest.TestCase):
    def test_cpu_syntax(self):
        from harness import qemu
        for good in ("max", "max,erms=off,fsrm=off", "Skylake-Server,+avx"):
            self.assertEqual(qemu.check_cpu(good), good)
        for bad in ("", "max;reboot", "max,,erms=off", "max erms=off",
                    ",erms=off"):
            with self.assertRaisesRegex(MtinitError, "--cpu"):
                qemu.check_cpu(bad)

    def test_command_and_title_carry_the_cpu(self):
        from harness import bench, pmem, qemu
        cmd = qemu.command("k", "i", {"smp": 1, "mem_mb": 1024,
                                      "nodes": None}, "icount", "sparse",
                           "", "s", cpu="max,erms=off")
        self.assertEqual(cmd[cmd.index("-cpu") + 1], "max,erms=off")
        config = next(c for c in pmem.BENCH_CONFIGS
                      if c.get("cpu") and c["mode"] == "icount")
        results = {("stock", None): [{"backing": "sparse"}]}
        self.assertIn("icount (1 ns = 1 instruction), guest CPU max,erms=off,"
                      "fsrm=off, sparse RAM",
                      bench.table_title(config, 1, results))


if __name__ == "__main__":
    unittest.main()
