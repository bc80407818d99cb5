"""test_portable.py - the command's main jobs, with nothing but the standard
library and the host's own extent map: the suite a macOS host runs (on APFS
and HFS+ images) besides running everywhere else.

Each class runs on the host's copy-on-write filesystems (btrfs and XFS on
Linux, APFS on macOS) or on those without clones (ext4 and tmpfs; HFS+).
Clones are proven with extents read by suitelib (FIEMAP, F_LOG2PHYS_EXT),
never with `cowcopy shared`, whose answer is checked against them.
"""
import errno
import json
import os
import stat

import support
from support import (COW_FILESYSTEMS, NOCOW_FILESYSTEMS, FsTestCase, is_clone_of, listing,
                     on_filesystems, read, run, shares_any_block, write_random)

MiB = 1 << 20


def set_times(path, seconds):
    """Give path an mtime and atime with a nanosecond part."""
    ns = seconds * 1_000_000_000 + 123_456_789
    os.utime(path, ns=(ns, ns), follow_symlinks=False)


@on_filesystems(*COW_FILESYSTEMS)
class CloneFiles(FsTestCase):
    def test_copy_is_a_clone_with_the_same_bytes(self):
        write_random(self.path("a"), 4 * MiB + 123, 1)
        for args in (["cp"], ["cp", "--reflink=always"]):
            r = run(args + [self.path("a"), self.path("b")])
            self.assertRuns(r)
            self.assertEqual(read(self.path("b")), read(self.path("a")))
            self.assertTrue(is_clone_of(self.path("b"), self.path("a")), args)
            os.unlink(self.path("b"))

    def test_preserve_keeps_mode_and_times(self):
        write_random(self.path("a"), MiB, 2)
        os.chmod(self.path("a"), 0o640)
        set_times(self.path("a"), 1_500_000_000)
        self.assertRuns(run(["cp", "-p", self.path("a"), self.path("b")]))
        sa, sb = os.stat(self.path("a")), os.stat(self.path("b"))
        self.assertEqual(stat.S_IMODE(sb.st_mode), 0o640)
        self.assertEqual(sb.st_mtime_ns, sa.st_mtime_ns)
        self.assertTrue(is_clone_of(self.path("b"), self.path("a")))

    def test_existing_destination_is_replaced_whole(self):
        write_random(self.path("a"), 2 * MiB, 3)
        write_random(self.path("b"), 5 * MiB, 4)
        os.chmod(self.path("b"), 0o600)
        self.assertRuns(run(["cp", self.path("a"), self.path("b")]))
        self.assertEqual(read(self.path("b")), read(self.path("a")))
        self.assertTrue(is_clone_of(self.path("b"), self.path("a")))
        # As cp: an existing destination keeps its own mode without -p.
        self.assertEqual(stat.S_IMODE(os.stat(self.path("b")).st_mode), 0o600)
        self.assertEqual(listing(self.dir), ["a", "b"])

    def test_never_makes_an_independent_sparse_copy(self):
        with open(self.path("a"), "wb") as f:
            f.write(os.urandom(MiB))
            f.seek(64 * MiB)
            f.write(os.urandom(MiB))
        self.assertRuns(run(["cp", "--reflink=never", self.path("a"), self.path("b")]))
        self.assertEqual(read(self.path("b")), read(self.path("a")))
        self.assertFalse(shares_any_block(self.path("a"), self.path("b")))
        self.assertLess(os.stat(self.path("b")).st_blocks * 512, 8 * MiB)  # holes kept


@on_filesystems(*NOCOW_FILESYSTEMS)
class NoClones(FsTestCase):
    def test_always_fails_and_leaves_nothing(self):
        write_random(self.path("a"), MiB, 5)
        r = run(["cp", "--reflink=always", self.path("a"), self.path("b")])
        self.assertRuns(r, 1)
        err = r.stderr.decode()
        self.assertIn(f"cannot clone '{self.path('a')}' to '{self.path('b')}': "
                      f"{os.strerror(errno.ENOTSUP)}", err)
        self.assertEqual(listing(self.dir), ["a"])

    def test_auto_copies_exactly(self):
        write_random(self.path("a"), 3 * MiB + 7, 6)
        set_times(self.path("a"), 1_400_000_000)
        self.assertRuns(run(["cp", "-p", self.path("a"), self.path("b")]))
        self.assertEqual(read(self.path("b")), read(self.path("a")))
        self.assertEqual(os.stat(self.path("b")).st_mtime_ns, os.stat(self.path("a")).st_mtime_ns)


def make_tree(root):
    """A small tree: nested directories, modes, an empty and a read-only
    file, a symlink, a dangling symlink and two hard links."""
    os.makedirs(os.path.join(root, "d1", "d2"))
    write_random(os.path.join(root, "big"), 3 * MiB, 7)
    write_random(os.path.join(root, "d1", "small"), 5000, 8)
    write_random(os.path.join(root, "d1", "d2", "deep"), 300000, 9)
    open(os.path.join(root, "empty"), "wb").close()
    write_random(os.path.join(root, "ro"), 70000, 10)
    os.chmod(os.path.join(root, "ro"), 0o444)
    os.link(os.path.join(root, "big"), os.path.join(root, "d1", "big-link"))
    os.symlink("d1/small", os.path.join(root, "sym"))
    os.symlink("nowhere", os.path.join(root, "dangling"))
    os.chmod(os.path.join(root, "d1"), 0o750)
    for dirpath, dirs, files in os.walk(root, topdown=False):
        for name in files + dirs:
            set_times(os.path.join(dirpath, name), 1_300_000_000)
    set_times(root, 1_300_000_000)


def snapshot(root):
    """{relative path: (kind, mode, mtime_ns, size, content or target, link key)}."""
    out, inodes = {}, {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            else:
                group = inodes.setdefault(st.st_ino, rel) if st.st_nlink > 1 else None
                out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_mtime_ns, read(p), group)
    return out


@on_filesystems(*COW_FILESYSTEMS)
class Trees(FsTestCase):
    def test_archive_copy_clones_every_file_and_keeps_the_tree(self):
        src, dst = self.path("src"), self.path("dst")
        make_tree(src)
        r = run(["cp", "-a", src, dst])
        self.assertRuns(r)
        a, b = snapshot(src), snapshot(dst)
        # Hard-link groups are named by their first path; the walk order is the same.
        self.assertEqual(a, b)
        for rel, entry in a.items():
            if entry[0] == "file" and entry[3]:
                self.assertTrue(is_clone_of(os.path.join(dst, rel), os.path.join(src, rel)), rel)
        self.assertEqual(os.stat(os.path.join(dst, "big")).st_ino,
                         os.stat(os.path.join(dst, "d1", "big-link")).st_ino)


@on_filesystems(*COW_FILESYSTEMS)
class Dedupe(FsTestCase):
    def test_duplicates_come_to_share_their_blocks(self):
        for n in ("a", "b", "c"):
            write_random(self.path(n), 3 * MiB, 11)  # the same bytes, written three times
            os.chmod(self.path(n), 0o640)
            set_times(self.path(n), 1_200_000_000)
        write_random(self.path("other"), 3 * MiB, 12)
        before = {n: (read(self.path(n)), os.stat(self.path(n))) for n in ("a", "b", "c")}
        self.assertFalse(shares_any_block(self.path("a"), self.path("b")))
        r = run(["dedupe", "--json", self.dir])
        self.assertRuns(r)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["duplicate_groups"], doc["files_deduplicated"]), (1, 2))
        names = [os.path.basename(f["path"]) for f in doc["groups"][0]["files"]]
        source = names[0]
        for n in ("a", "b", "c"):
            data, st = before[n]
            now = os.stat(self.path(n))
            self.assertEqual(read(self.path(n)), data)
            self.assertEqual((stat.S_IMODE(now.st_mode), now.st_mtime_ns),
                             (stat.S_IMODE(st.st_mode), st.st_mtime_ns))
            if n != source:
                self.assertTrue(is_clone_of(self.path(n), self.path(source)), n)
        self.assertFalse(shares_any_block(self.path("other"), self.path("a")))


@on_filesystems(*(COW_FILESYSTEMS + NOCOW_FILESYSTEMS))
class Inspect(FsTestCase):
    def test_shared_agrees_with_the_extent_map(self):
        write_random(self.path("a"), 2 * MiB, 13)
        self.assertRuns(run(["cp", self.path("a"), self.path("b")]))
        r = run(["shared", "--json", self.path("a"), self.path("b")])
        self.assertRuns(r)
        got = json.loads(r.stdout)["results"][0]["shared_bytes"]
        if self.fs in COW_FILESYSTEMS:
            self.assertTrue(is_clone_of(self.path("b"), self.path("a")))
            self.assertEqual(got, 2 * MiB)
        else:  # (tmpfs has no extent map to look at)
            self.assertEqual(got, 0)

    def test_probe_answers_as_a_trial_clone_does(self):
        r = run(["probe", "--json", self.dir])
        self.assertRuns(r)
        doc = json.loads(r.stdout)
        write_random(self.path("a"), 100000, 14)
        trial = run(["cp", "--reflink=always", self.path("a"), self.path("b")]).returncode == 0
        self.assertEqual(doc["clone"]["answer"], "yes" if trial else "no")
        self.assertEqual(trial, self.fs in COW_FILESYSTEMS)
        self.assertEqual(listing(self.dir), ["a", "b"] if trial else ["a"])

    def test_du_counts_a_clone_once(self):
        write_random(self.path("a"), 4 * MiB, 15)
        self.assertRuns(run(["cp", self.path("a"), self.path("b")]))
        r = run(["du", "--json", self.dir])
        self.assertRuns(r)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["files"], doc["apparent_bytes"]), (2, 8 * MiB))
        if self.fs in COW_FILESYSTEMS:
            self.assertEqual(doc["saved_bytes"], 4 * MiB)
            self.assertEqual(doc["exclusive_bytes"], 0)
        else:
            self.assertEqual(doc["saved_bytes"], 0)


if __name__ == "__main__":
    support.main()
