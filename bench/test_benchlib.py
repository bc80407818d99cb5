#!/usr/bin/python3
"""test_benchlib.py - checks of the benchmark library itself (not of cowcopy).

    /usr/bin/python3 bench/test_benchlib.py        (as root: the scratch tests mount)

Statistics on known samples, determinism of generated data and trees, the
peak-RSS probe, interleaving order (pairs and rounds), free-space deltas (a
clone costs no space), the tree checks (they catch a broken copy), and that
scratch filesystems are removed on an exception, on SIGINT and SIGTERM, and
when left behind by a killed run.
Nothing here is timed: these are correctness checks of the tools we time with.
"""
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from benchlib import gen, measure, scratch, space, stats, treecheck  # noqa: E402


def scratch_dirs():
    parent = os.path.dirname(scratch.PREFIX)
    return {os.path.join(parent, n) for n in os.listdir(parent)
            if os.path.join(parent, n).startswith(scratch.PREFIX)}


def bench_mounts():
    with open("/proc/self/mounts") as f:
        return [l.split()[1] for l in f if l.split()[1].startswith(scratch.PREFIX)]


class Stats(unittest.TestCase):
    def test_summary(self):
        s = stats.summary([5, 1, 3, 2, 4])
        self.assertEqual((s.n, s.median, s.q1, s.q3, s.min, s.max), (5, 3, 2, 4, 1, 5))

    def test_judge(self):
        s = stats.summary([0.9, 0.95, 1.0, 1.05, 1.1])
        self.assertEqual(stats.judge(s, 1.0).text, "PASS (within noise)")
        self.assertEqual(stats.judge(s, 0.8).text, "MISS")
        self.assertEqual(stats.judge(s, 2.0, lower_is_better=False).text, "MISS")


class Gen(unittest.TestCase):
    def test_same_seed_same_bytes(self):
        with tempfile.TemporaryDirectory() as d:
            a, b, c = (os.path.join(d, x) for x in "abc")
            gen.write_random_file(a, 3 << 20 | 5, seed=7)
            gen.write_random_file(b, 3 << 20 | 5, seed=7)
            gen.write_random_file(c, 3 << 20 | 5, seed=8)
            self.assertEqual(open(a, "rb").read(), open(b, "rb").read())
            self.assertNotEqual(open(a, "rb").read(), open(c, "rb").read())

    def test_sparse(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "s")
            gen.write_sparse_file(p, 64 << 20, 1 << 20, seed=1)
            st = os.stat(p)
            self.assertEqual(st.st_size, 64 << 20)
            self.assertLess(st.st_blocks * 512, 4 << 20)

    def test_tree_is_deterministic(self):
        spec = gen.TreeSpec(small_files=200, small_max=8 << 10, dirs=20, medium_files=2,
                            medium_min=1 << 20, medium_max=2 << 20, sparse_files=[(8 << 20, 1 << 20)],
                            symlinks=3, dangling_symlinks=1, hardlinks=2, dup_fraction=0.3,
                            empty_files=2)
        with tempfile.TemporaryDirectory() as d:
            i1 = gen.make_tree(os.path.join(d, "1"), spec, seed=5)
            i2 = gen.make_tree(os.path.join(d, "2"), spec, seed=5)
            self.assertEqual(i1, i2)
            self.assertEqual(i1.files, 200 + 2 + 2 + 1)
            self.assertGreater(i1.dup_files, 30)
            r = subprocess.run(["diff", "-r", "--no-dereference", os.path.join(d, "1"),
                                os.path.join(d, "2")])
            self.assertEqual(r.returncode, 0)
            for paths in i1.groups.values():  # duplicates really are identical
                first = open(os.path.join(d, "1", paths[0]), "rb").read()
                for p in paths[1:]:
                    self.assertEqual(open(os.path.join(d, "1", p), "rb").read(), first)
                # ... and of one size class: a medium file repeats a medium one
                self.assertEqual(len({os.path.basename(p)[0] for p in paths}), 1, paths)

    def test_medium_duplicates_stay_medium(self):
        spec = gen.TreeSpec(small_files=50, small_max=4 << 10, dirs=5, medium_files=20,
                            medium_min=1 << 20, medium_max=1 << 20 | 4096, dup_fraction=0.5)
        with tempfile.TemporaryDirectory() as d:
            info = gen.make_tree(d, spec, seed=2)
            medium = [p for paths in info.groups.values() for p in paths
                      if os.path.basename(p).startswith("m")]
            self.assertGreater(len(medium), 2)
            for p in medium:
                self.assertGreaterEqual(os.path.getsize(os.path.join(d, p)), 1 << 20)


class Measure(unittest.TestCase):
    def test_run_and_status(self):
        self.assertEqual(measure.run_process(["true"]).status, 0)
        r = measure.run_process(["sh", "-c", "echo oops >&2; exit 3"])
        self.assertEqual((r.status, r.stderr.strip()), (3, "oops"))

    def test_peak_rss(self):
        floor = measure.rss_floor_kib()
        big = measure.peak_rss_kib(["/usr/bin/python3", "-c", "b = bytearray(64 << 20)"])
        self.assertLess(floor, 8 << 10)
        self.assertGreater(big - floor, 60 << 10)

    def test_interleaving(self):
        seen = []
        a = measure.Side("a", fn=lambda: seen.append("a"))
        b = measure.Side("b", fn=lambda: seen.append("b"))
        res = measure.compare(a, b, 4, warmup=1, order="alternate")
        self.assertEqual("".join(seen), "ab" + "abbaabba")
        self.assertEqual(res.order, ["AB", "BA", "AB", "BA"])
        self.assertEqual(len(res.ratios), 4)

    def test_shuffle_is_seeded(self):
        a, b = measure.Side("a", fn=lambda: None), measure.Side("b", fn=lambda: None)
        o1 = measure.compare(a, b, 40, warmup=0, seed=3).order
        o2 = measure.compare(a, b, 40, warmup=0, seed=3).order
        self.assertEqual(o1, o2)
        self.assertTrue(10 < o1.count("AB") < 30)
        self.assertNotEqual(o1, measure.compare(a, b, 40, warmup=0, seed=4).order)

    def test_rounds(self):
        seen = []
        sides = [measure.Side(n, fn=lambda n=n: seen.append(n)) for n in "abc"]
        res = measure.rounds(sides, 6, warmup=1, seed=5)
        self.assertEqual("".join(seen[:3]), "abc")          # warm-up in list order
        self.assertEqual(len(seen), 3 + 18)
        for k, names in enumerate(res.order):                # each round runs each once
            self.assertEqual(sorted(names), ["a", "b", "c"])
            self.assertEqual("".join(seen[3 + 3 * k:6 + 3 * k]), "".join(names))
        self.assertEqual(res.order, measure.rounds(sides, 6, warmup=0, seed=5).order)
        self.assertGreater(len({tuple(o) for o in res.order}), 1)
        self.assertEqual(len(res.ratios(2)), 6)

    def test_failure_stops(self):
        a = measure.Side("a", argv=["false"])
        with self.assertRaises(measure.BenchmarkError):
            measure.compare(a, a, 1, warmup=0)


@unittest.skipUnless(os.geteuid() == 0, "needs root to mount")
class Scratch(unittest.TestCase):
    CHILD = textwrap.dedent("""
        import os, sys, time
        sys.path.insert(0, %r)
        from benchlib import scratch
        with scratch.Scratch() as s:
            s.mount("tmpfs", "16M")
            s.mount("ext4", "64M")
            print(s.root, flush=True)
            if sys.argv[1] == "raise":
                raise RuntimeError("boom")
            time.sleep(60)
    """) % HERE

    def run_child(self, how):
        before = scratch_dirs()
        arg = "raise" if how == "raise" else "sleep"
        p = subprocess.Popen([sys.executable, "-c", self.CHILD, arg], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        root = p.stdout.readline().strip()
        self.assertTrue(root.startswith(scratch.PREFIX))
        self.assertEqual(len([m for m in bench_mounts() if m.startswith(root + "/")]), 2)
        if how != "raise":
            p.send_signal(how)
        p.wait(timeout=30)
        p.stdout.close()
        self.assertFalse(os.path.exists(root))
        self.assertEqual([m for m in bench_mounts() if m.startswith(root + "/")], [])
        self.assertEqual(scratch_dirs() - before, set())

    def test_exception(self):
        self.run_child("raise")

    def test_sigint(self):
        self.run_child(signal.SIGINT)

    def test_sigterm(self):
        self.run_child(signal.SIGTERM)

    def test_space_delta_sees_clones(self):
        with scratch.Scratch() as s:
            for kind in ("btrfs", "xfs"):
                mnt = s.mount(kind, "512M" if kind == "btrfs" else "320M")
                base = space.used_bytes(mnt)
                gen.write_random_file(os.path.join(mnt, "a"), 16 << 20, seed=1)
                written = space.used_bytes(mnt) - base
                subprocess.run(["cp", "--reflink=always", os.path.join(mnt, "a"),
                                os.path.join(mnt, "b")], check=True)
                cloned = space.used_bytes(mnt) - base - written
                self.assertGreaterEqual(written, 16 << 20, kind)
                self.assertLess(cloned, 1 << 20, kind)
                self.assertEqual(space.fs_type(mnt), kind)
                self.assertEqual(space.tree_bytes(mnt), 32 << 20)

    def test_treecheck_catches_broken_copies(self):
        with scratch.Scratch() as s:
            mnt = s.mount("xfs", "320M")
            src, good = os.path.join(mnt, "src"), os.path.join(mnt, "good")
            spec = gen.TreeSpec(small_files=30, dirs=3, symlinks=2, dangling_symlinks=1,
                                hardlinks=1)
            gen.make_tree(src, spec, seed=1)
            subprocess.run(["cp", "-a", "--reflink=always", src, good], check=True)
            self.assertEqual(treecheck.differences(src, good), [])
            f = os.path.join(good, gen.dir_name(0), "f000000")
            self.assertEqual(treecheck.shared_extents(f), (1, 1))
            self.assertTrue(treecheck.same_content(os.path.join(src, gen.dir_name(0), "f000000"), f))
            st = os.stat(f)
            os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1))       # mtime off by 1 ns
            self.assertIn("mtime_ns", " ".join(treecheck.differences(src, good)))
            plain = os.path.join(mnt, "plain")                          # no hard link, no clone
            subprocess.run(["cp", "-R", "--preserve=all", "--no-preserve=links",
                            "--reflink=never", src, plain], check=True)
            self.assertIn("hard-link groups", " ".join(treecheck.differences(src, plain)))
            self.assertEqual(treecheck.differences(src, plain, links=False), [])
            self.assertEqual(treecheck.shared_extents(
                os.path.join(plain, gen.dir_name(0), "f000000")), (0, 1))

    def test_stale_leftovers(self):
        p = subprocess.Popen([sys.executable, "-c", self.CHILD, "sleep"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        root = p.stdout.readline().strip()
        p.kill()  # SIGKILL: no cleanup possible
        p.wait()
        p.stdout.close()
        self.assertTrue(os.path.isdir(root))
        with scratch.Scratch():
            pass
        self.assertFalse(os.path.exists(root))
        self.assertEqual([m for m in bench_mounts() if m.startswith(root + "/")], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
