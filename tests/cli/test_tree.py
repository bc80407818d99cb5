"""test_tree.py - `cowcopy cp -r/-a` on real filesystems, against cp -a.

Generated trees hold every kind of entry and attribute (treegen.py); the
result of `cowcopy cp -a` is compared with that of `cp -a` entry by entry
(treecompare.py, itself tested in test_treecompare.py), and on btrfs and XFS
every regular file with data must share all its extents with its source.
"""
import json
import os
import shutil
import stat
import subprocess

import support
from support import FsTestCase, is_clone_of, listing, on_filesystems, read, run, write_random
import treecompare
from treecompare import snapshot


def compare(a, b, **kw):
    """treecompare.compare; the Darwin backend has no file capabilities."""
    if support.DARWIN:
        kw.setdefault("ignore_xattrs", ("security.capability",))
    return treecompare.compare(a, b, **kw)
from treegen import make_deep, make_tree


def regular_files(root):
    root = os.fsencode(root)
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                yield p, st


def has_inline_data(path):
    return any(flags & support.FIEMAP_EXTENT_DATA_INLINE for _, _, _, flags in support.extents(path))


@on_filesystems("btrfs", "xfs", "ext4")
class CompareWithCp(FsTestCase):
    def test_archive_equals_cp_archive(self):
        src = self.path("src")
        make_tree(src, seed=11)
        subprocess.run(["cp", "-a", src, self.path("ref")], check=True)
        for jobs in ("1", "4"):
            out = self.path("out" + jobs)
            r = run(["cp", "-a", "-j", jobs, src, out])
            self.assertRuns(r)
            self.assertEqual(r.stderr, b"")
            self.assertEqual(compare(self.path("ref"), out), [])
            self.assertEqual(compare(src, out), [])
            if self.fs in support.COW_FILESYSTEMS:
                self.assert_all_cloned(src, out)

    def assert_all_cloned(self, src, out):
        src, out = os.fsencode(src), os.fsencode(out)
        checked = 0
        for p, st in regular_files(src):
            if st.st_size == 0 or has_inline_data(p):
                continue
            copy = os.path.join(out, os.path.relpath(p, src))
            self.assertTrue(is_clone_of(copy, p), f"{copy!r} does not share all extents with {p!r}")
            checked += 1
        self.assertGreater(checked, 20)

    def test_recursive_without_preserve_equals_cp_r(self):
        src = self.path("src")
        make_tree(src, seed=12, files=25)
        subprocess.run(["cp", "-r", src, self.path("ref")], check=True)
        self.assertRuns(run(["cp", "-r", src, self.path("out")]))
        diffs = compare(self.path("ref"), self.path("out"))
        # Times are "now" on both sides; everything else must match.
        self.assertEqual([d for d in diffs if "mtime_ns" not in d], [])

    def test_many_files_and_directories_with_threads(self):
        src = self.path("src")
        os.mkdir(src)
        for d in range(40):
            os.mkdir(os.path.join(src, f"d{d}"))
            for f in range(25):
                with open(os.path.join(src, f"d{d}", f"f{f}"), "wb") as fh:
                    fh.write(os.urandom(d * 97 + f))
        subprocess.run(["cp", "-a", src, self.path("ref")], check=True)
        for jobs in ("1", "2", "8"):
            out = self.path("out" + jobs)
            self.assertRuns(run(["cp", "-a", "-j", jobs, src, out]))
            self.assertEqual(compare(self.path("ref"), out), [])


@on_filesystems("ext4")
class SameAsCpForOperands(FsTestCase):
    """SRC/ versus SRC, existing and missing DST: the same outcome as cp."""

    CASES = [
        ["-r", "src", "new"],
        ["-r", "src/", "new"],
        ["-r", "src", "existing"],
        ["-r", "src/", "existing"],
        ["-a", "src", "merge"],
        ["-r", "src", "file", "existing"],
        ["-rT", "src", "existing"],
        ["-a", "src/sub", "existing/"],
    ]

    def sandbox(self, name):
        box = self.path(name)
        os.makedirs(os.path.join(box, "src", "sub"))
        write_random(os.path.join(box, "src", "a"), 1000, 1)
        write_random(os.path.join(box, "src", "sub", "b"), 2000, 2)
        write_random(os.path.join(box, "file"), 10, 3)
        os.mkdir(os.path.join(box, "existing"))
        os.makedirs(os.path.join(box, "merge", "src", "sub"))
        write_random(os.path.join(box, "merge", "src", "old"), 10, 4)
        write_random(os.path.join(box, "merge", "src", "a"), 10, 5)
        for p in (box, os.path.join(box, "src")):
            os.utime(p, ns=(10 ** 18, 10 ** 18))
        return box

    def test_operands(self):
        for i, args in enumerate(self.CASES):
            with self.subTest(args=args):
                ref, out = self.sandbox(f"ref{i}"), self.sandbox(f"out{i}")
                a = subprocess.run(["cp"] + args, cwd=ref, stderr=subprocess.PIPE)
                b = run(["cp"] + args, cwd=out)
                self.assertEqual(b.returncode, a.returncode, (a.stderr, b.stderr))
                # Copies made "now" have different times on each side; all else must match.
                diffs = compare(ref, out)
                self.assertEqual([d for d in diffs if "mtime_ns" not in d], [])


@on_filesystems("btrfs", "ext4")
class ExistingDestinationTree(FsTestCase):
    def test_files_replaced_and_symlinks_never_followed(self):
        src, dst, outside = self.path("src"), self.path("dst"), self.path("outside")
        os.makedirs(os.path.join(src, "sub"))
        for name in ("plain", "linked", "through-file", "sub/inner"):
            write_random(os.path.join(src, name), 5000, hash(name) & 0xffff)
        os.makedirs(os.path.join(dst, "src"))
        os.makedirs(outside)
        d = os.path.join(dst, "src")
        write_random(os.path.join(d, "plain"), 10, 1)
        write_random(os.path.join(d, "linked"), 10, 2)
        os.link(os.path.join(d, "linked"), os.path.join(dst, "other-link"))
        write_random(os.path.join(outside, "target"), 10, 3)
        os.symlink(os.path.join(outside, "target"), os.path.join(d, "through-file"))
        os.symlink(outside, os.path.join(d, "sub"))
        before_outside = snapshot(outside)
        plain_ino = os.stat(os.path.join(d, "plain")).st_ino
        linked_ino = os.stat(os.path.join(d, "linked")).st_ino

        r = run(["cp", "-a", src, dst])
        self.assertRuns(r)
        # Single-link file: replaced atomically (new inode), content of src.
        self.assertNotEqual(os.stat(os.path.join(d, "plain")).st_ino, plain_ino)
        # Hard-linked file: written in place, so the other link sees it.
        self.assertEqual(os.stat(os.path.join(d, "linked")).st_ino, linked_ino)
        self.assertEqual(read(os.path.join(dst, "other-link")), read(os.path.join(src, "linked")))
        # Symlinks inside the destination tree are replaced, not written through.
        self.assertTrue(stat.S_ISREG(os.lstat(os.path.join(d, "through-file")).st_mode))
        self.assertTrue(stat.S_ISDIR(os.lstat(os.path.join(d, "sub")).st_mode))
        self.assertEqual(compare(before_outside, outside), [])
        self.assertEqual(compare(src, d), [])


@on_filesystems("ext4")
class Refusals(FsTestCase):
    def test_into_itself(self):
        src = self.path("a")
        os.makedirs(os.path.join(src, "sub"))
        write_random(os.path.join(src, "f"), 100, 1)
        r = run(["cp", "-r", src, os.path.join(src, "sub")])
        self.assertRuns(r, 1)
        self.assertEqual(r.stderr.decode(), f"cowcopy: cannot copy a directory, '{src}', into "
                                            f"itself, '{src}/sub/a'\n")
        self.assertEqual(listing(os.path.join(src, "sub")), [])
        r = run(["cp", "-r", src, src])
        self.assertRuns(r, 1)
        self.assertIn(b"into itself", r.stderr)
        self.assertEqual(listing(src), ["f", "sub"])

    def test_directory_over_file(self):
        os.makedirs(self.path("src", "x"))
        os.makedirs(self.path("dst", "src"))
        write_random(self.path("dst", "src", "x"), 10, 1)
        r = run(["cp", "-r", self.path("src"), self.path("dst")])
        self.assertRuns(r, 1)
        self.assertIn(b"cannot overwrite non-directory", r.stderr)


@on_filesystems("ext4")
class ErrorsDoNotStopTheCopy(FsTestCase):
    def test_unreadable_entries_as_unprivileged_user(self):
        src = self.path("src")
        os.makedirs(os.path.join(src, "closed"))
        os.makedirs(os.path.join(src, "open"))
        write_random(os.path.join(src, "open", "ok"), 3000, 1)
        write_random(os.path.join(src, "secret"), 3000, 2)
        write_random(os.path.join(src, "closed", "hidden"), 3000, 3)
        os.chmod(os.path.join(src, "secret"), 0o600)
        os.chmod(os.path.join(src, "closed"), 0o700)
        for p in (src, os.path.join(src, "open")):
            os.chmod(p, 0o755)
        os.chmod(os.path.join(src, "open", "ok"), 0o644)
        out = self.path("out")
        r = run(["cp", "-r", src, out], user="nobody")
        self.assertRuns(r, 1)
        err = r.stderr.decode()
        self.assertIn(f"cowcopy: cannot open '{src}/secret' for reading: Permission denied\n", err)
        self.assertIn(f"cowcopy: cannot open directory '{src}/closed': Permission denied\n", err)
        self.assertEqual(read(os.path.join(out, "open", "ok")), read(os.path.join(src, "open", "ok")))
        self.assertFalse(os.path.exists(os.path.join(out, "secret")))

    def test_enospc_on_one_file(self):
        src = self.path("src")
        os.makedirs(src)
        for i in range(6):
            write_random(os.path.join(src, f"f{i}"), 3 << 20, i)
        out = self.path("out")
        r = run(["cp", "-r", "-j", "1", "--reflink=never", src, out],
                env={"COWCOPY_FAULTS": "pwrite@7=ENOSPC"})
        self.assertRuns(r, 1)
        self.assertEqual(r.stderr.count(b"No space left on device"), 1, r.stderr)
        copied = listing(out)
        self.assertEqual(len(copied), 5)  # all but the one that failed
        for name in copied:
            self.assertEqual(read(os.path.join(out, name)), read(os.path.join(src, name)))
        self.assertFalse(any(n.startswith(".") for n in copied))


@on_filesystems("btrfs", "ext4")
class DeepPaths(FsTestCase):
    def test_deeper_than_path_max(self):
        src = self.path("deep")
        make_deep(src)
        r = subprocess.run(["cp", "-a", src, self.path("by-cp")], stderr=subprocess.PIPE)
        self.assertNotEqual(r.returncode, 0)  # cp 9.1 itself fails here
        self.assertIn(b"File name too long", r.stderr)
        r = run(["cp", "-a", src, self.path("out")])
        self.assertRuns(r)
        self.assertEqual(compare(src, self.path("out")), [])


@on_filesystems("btrfs")
class ReportsTest(FsTestCase):
    def test_stats_and_json(self):
        src = self.path("src")
        make_tree(src, seed=13, files=20, max_size=100000, extras=False)
        nfiles = sum(1 for _ in regular_files(src))
        r = run(["cp", "-a", "--json", src, self.path("out")])
        self.assertRuns(r)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["command"], "cp")
        self.assertTrue(doc["ok"])
        self.assertEqual(doc["errors"], 0)
        self.assertEqual(doc["failures"], [])
        self.assertEqual(doc["files"], nfiles)
        self.assertEqual(doc["cloned"], nfiles)
        self.assertEqual(doc["directories"], 15)
        self.assertGreater(doc["bytes"], 0)
        r = run(["cp", "-a", "--stats", src, self.path("out2")])
        self.assertRuns(r)
        self.assertIn(f"files:       {nfiles} (cloned {nfiles},".encode(), r.stdout)

    def test_json_paths_keep_their_bytes(self):
        src = os.fsencode(self.path("src"))
        os.makedirs(src)
        bad = os.path.join(src, b"bad\xff\nname")
        write_random(bad, 100, 1)
        os.chmod(bad, 0o600)
        os.chmod(src, 0o755)
        r = run(["cp", "-r", "--json", src, self.path("out")], user="nobody")
        self.assertRuns(r, 1)
        doc = json.loads(r.stdout)
        self.assertFalse(doc["ok"])
        self.assertEqual(doc["errors"], 1)
        failure = doc["failures"][0]
        self.assertEqual(os.fsencode(failure["src"]), bad)
        self.assertEqual(failure["errno"], 13)
        self.assertIn("for reading", failure["message"])

    def test_progress_only_when_asked_in_a_pipe(self):
        src = self.path("src")
        make_tree(src, seed=14, files=10, max_size=1000, extras=False)
        r = run(["cp", "-r", src, self.path("quiet")])
        self.assertRuns(r)
        self.assertEqual(r.stderr, b"")
        os.mkdir(self.path("big"))
        for i in range(3000):
            with open(self.path("big", f"f{i}"), "wb") as f:
                f.write(b"x" * 100)
        r = run(["cp", "-r", "--progress", "--reflink=never", "-j", "1", self.path("big"),
                 self.path("loud")])
        self.assertRuns(r)
        self.assertIn(b"files copied", r.stderr)
        self.assertTrue(r.stderr.startswith(b"\r"))


@on_filesystems("tmpfs")
class MemoryBound(FsTestCase):
    def test_peak_rss_of_a_20000_file_tree(self):
        src = self.path("src")
        os.mkdir(src)
        for d in range(100):
            sub = os.path.join(src, f"d{d}")
            os.mkdir(sub)
            for f in range(200):
                open(os.path.join(sub, f"f{f}"), "wb").close()
        proc = subprocess.Popen([support.COWCOPY, "cp", "-a", src, self.path("out")])
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.assertEqual(proc.returncode, 0)
        self.assertLess(usage.ru_maxrss, 64 * 1024)  # KiB


if __name__ == "__main__":
    support.main()
