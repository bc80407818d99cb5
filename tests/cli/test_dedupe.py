"""test_dedupe.py - `cowcopy dedupe` on scratch btrfs and XFS (and its refusal
on ext4): content and metadata never change, duplicates end up sharing all
their extents (proven with FIEMAP read here), non-duplicates share nothing
new, the space freed matches the report, a concurrent writer loses nothing,
and the cache is used when valid and ignored when not.
"""
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import threading

import support
from support import FsTestCase, extents, is_clone_of, on_filesystems, read, run, shares_any_block


def sha256(path):
    """Content digest, read with O_NOATIME (root): checking must not change atimes."""
    fd = os.open(path, os.O_RDONLY | os.O_NOATIME)
    with os.fdopen(fd, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def meta(path):
    """What dedupe must not change. The Darwin backend replaces a duplicate
    by a verified clone: its inode and ctime change (documented), and the
    simulated layer's record of Darwin-only metadata is rewritten."""
    st = os.stat(path, follow_symlinks=False)
    xattrs = {n: os.getxattr(path, n) for n in os.listxattr(path)
              if n != support.SIM_RECORD_XATTR}
    inode_and_ctime = () if support.DARWIN else (st.st_ino, st.st_ctime_ns)
    return inode_and_ctime + (st.st_mode, st.st_uid, st.st_gid, st.st_nlink, st.st_size,
                              st.st_mtime_ns, st.st_atime_ns, tuple(sorted(xattrs.items())))


def all_files(root):
    out = []
    for dirpath, _, names in os.walk(root):
        out += [os.path.join(dirpath, n) for n in names]
    return sorted(out)


def free_bytes(path):
    os.sync()
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def make_dupes(root, seed=1):
    """A tree with duplicate sets, near-duplicates, hard links, tiny and empty
    files, and an existing clone. @return (dupe sets, unique files)."""
    rng = random.Random(seed)
    os.makedirs(root)
    for d in ("a", "b", "c/deep"):
        os.makedirs(os.path.join(root, d))
    sets, uniques = [], []

    def write(path, data):
        with open(path, "wb") as f:
            f.write(data)

    for i, size in enumerate([5000, 70000, 300000, 1 << 20, 40 << 20]):
        data = rng.randbytes(size)
        members = [os.path.join(root, d, f"dup{i}") for d in ("a", "b", "c/deep")[: 2 + i % 2]]
        for m in members:
            write(m, data)
        sets.append(members)
    # Same size, different only in the middle: must never be merged.
    base = bytearray(rng.randbytes(1 << 20))
    write(os.path.join(root, "a", "near1"), bytes(base))
    base[len(base) // 2] ^= 0xFF
    write(os.path.join(root, "b", "near2"), bytes(base))
    uniques += [os.path.join(root, "a", "near1"), os.path.join(root, "b", "near2")]
    # Same size, different edges only.
    mid = rng.randbytes(200000)
    write(os.path.join(root, "a", "edge1"), b"A" + mid + b"A")
    write(os.path.join(root, "b", "edge2"), b"B" + mid + b"B")
    uniques += [os.path.join(root, "a", "edge1"), os.path.join(root, "b", "edge2")]
    # Hard links: one inode, one candidate, links kept.
    os.link(sets[2][0], os.path.join(root, "c", "hardlink"))
    # Empty and tiny files.
    for d in ("a", "b"):
        write(os.path.join(root, d, "empty"), b"")
        write(os.path.join(root, d, "tiny"), b"tiny\n")
    # An existing clone of a duplicate.
    subprocess.run(["cp", "--reflink=always", sets[1][0], os.path.join(root, "c", "clone")],
                   check=True)
    sets[1].append(os.path.join(root, "c", "clone"))
    os.setxattr(sets[3][0], "user.note", b"kept")
    os.chmod(sets[3][1], 0o600)
    os.chown(sets[0][1], 1234, 5678)
    for p in all_files(root):
        t = rng.randrange(10 ** 17, 17 * 10 ** 17)
        os.utime(p, ns=(t + 7, t))
    return sets, uniques


@on_filesystems(*support.COW_FILESYSTEMS)
class DedupeTree(FsTestCase):
    def setUp(self):
        super().setUp()
        self.root = self.path("tree")
        self.sets, self.uniques = make_dupes(self.root)
        os.sync()
        self.before = {p: (sha256(p), meta(p)) for p in all_files(self.root)}

    def assert_unchanged(self):
        # Metadata first: this check's own read must not move an atime. (It
        # would on the Darwin backend: the new clone's ctime is later than
        # its atime, and Linux's relatime then updates the atime on read.)
        metas = {p: meta(p) for p in all_files(self.root)}
        after = {p: (sha256(p), metas[p]) for p in metas}
        self.assertEqual(after.keys(), self.before.keys())
        for p in after:
            self.assertEqual(after[p], self.before[p], f"{p} changed")

    def test_duplicates_share_and_nothing_else_changes(self):
        free0 = free_bytes(self.root)
        r = run(["dedupe", "--json", self.root])
        self.assertRuns(r)
        doc = json.loads(r.stdout)
        free1 = free_bytes(self.root)
        self.assert_unchanged()
        for members in self.sets:
            size = os.path.getsize(members[0])
            if self.fs == "btrfs" and size < 4096:
                continue  # inline extents cannot share
            src = members[0]
            for m in members[1:]:
                self.assertTrue(is_clone_of(m, src) or is_clone_of(src, m),
                                f"{m} does not share all extents with {src}")
        a, b = self.uniques[0], self.uniques[1]
        self.assertFalse(shares_any_block(a, b))
        self.assertFalse(shares_any_block(self.uniques[2], self.uniques[3]))
        # Freed space: what the report measured, what we measure, what we expect.
        expected = sum(os.path.getsize(p) for members in self.sets for p in members[1:]
                       if not (self.fs == "btrfs" and os.path.getsize(p) < 4096)
                       and not p.endswith("/clone"))
        self.assertEqual(doc["errors"], 0)
        if support.DARWIN:
            # Darwin replaces duplicates: their old inodes' blocks are freed as
            # they are released, which XFS does in the background. Measured
            # a moment later the space is there; the run's own figure can lag.
            import time
            time.sleep(1)
            self.assertGreater(free_bytes(self.root) - free0, expected * 0.97)
            self.assertGreaterEqual(doc["freed_estimate"], expected)
        else:
            self.assertGreater(doc["freed"], expected * 0.97)
            self.assertLess(abs(doc["freed"] - (free1 - free0)), expected * 0.03 + (1 << 20))
        self.assertGreaterEqual(doc["files_already_shared"], 1)  # the clone
        self.assertEqual(doc["bytes_differed"], 0)
        # A second run finds everything shared and reads almost nothing: only
        # the same-size pair that differs in the middle must be read again
        # (its edges match), and with a cache not even that.
        near = sum(os.path.getsize(p) for p in self.uniques[:2])
        cache = self.path("cache.db")
        for attempt in range(3):
            r = run(["dedupe", "--json", "--cache", cache, self.root])
            self.assertRuns(r)
            doc2 = json.loads(r.stdout)
            self.assertEqual(doc2["files_deduplicated"], 0)
            cached = attempt > 0 and not support.DARWIN  # no cache without a UUID (Darwin)
            self.assertLessEqual(doc2["bytes_read"], (0 if cached else near) + 64 * 1024)
        if not support.DARWIN:
            self.assertEqual(doc2["bytes_read"], 0)
        self.assert_unchanged()

    def test_dry_run_changes_nothing(self):
        maps = {p: extents(p) for p in all_files(self.root)}
        r = run(["dedupe", "-n", "-v", self.root])
        self.assertRuns(r)
        self.assertIn(b"would share", r.stdout)
        self.assertIn(b"would deduplicate:", r.stdout)
        self.assert_unchanged()
        self.assertEqual({p: extents(p) for p in all_files(self.root)}, maps)

    @support.linux_only("the cache is keyed by filesystem UUID, which the Darwin backend does "
                        "not read (DarwinCache tests what it does instead)")
    def test_cache(self):
        cache = self.path("cache.db")
        r = run(["dedupe", "-n", "--json", "--cache", cache, self.root])
        self.assertRuns(r)
        first = json.loads(r.stdout)
        self.assertGreater(first["bytes_read"], 1 << 20)
        r = run(["dedupe", "-n", "--json", "--cache", cache, self.root])
        self.assertRuns(r)
        second = json.loads(r.stdout)
        self.assertEqual(second["bytes_read"], 0)
        self.assertGreater(second["cache_hits"], 0)
        self.assertEqual(second["files_deduplicated"], first["files_deduplicated"])
        # A changed file is read again (mtime/ctime no longer match).
        changed = self.sets[4][1]
        with open(changed, "r+b") as f:
            f.write(b"X")
        r = run(["dedupe", "-n", "--json", "--cache", cache, self.root])
        third = json.loads(r.stdout)
        self.assertGreater(third["bytes_read"], 0)
        self.assertEqual(third["files_deduplicated"], first["files_deduplicated"] - 1)

    def test_corrupt_and_foreign_caches_are_ignored(self):
        bad = self.path("garbage.db")
        with open(bad, "wb") as f:
            f.write(b"this is not a database" * 100)
        foreign = self.path("foreign.db")
        db = sqlite3.connect(foreign)
        db.execute("CREATE TABLE t (x)")
        db.commit()
        db.close()
        for cache in (bad, foreign):
            before = read(cache)
            r = run(["dedupe", "-n", "--cache", cache, self.root])
            self.assertRuns(r)
            self.assertIn(b"cowcopy: warning: ignoring the cache", r.stderr)
            self.assertEqual(read(cache), before)
        r = run(["dedupe", "--cache", bad, self.root])
        self.assertRuns(r)
        self.assertTrue(is_clone_of(self.sets[3][1], self.sets[3][0]))

    def test_verbose_lists_groups(self):
        r = run(["dedupe", "-v", self.root])
        self.assertRuns(r)
        out = r.stdout.decode()
        self.assertIn("identical files of 40 MiB:", out)
        self.assertIn("  source ", out)
        self.assertIn("  shared ", out)
        self.assertIn("duplicate groups:", out)


@on_filesystems("btrfs")
@support.linux_only("btrfs subvolumes")
class BtrfsSubvolumes(FsTestCase):
    def test_subvolumes_deduplicate_together(self):
        a, b = self.path("sv1"), self.path("sv2")
        for sv in (a, b):
            subprocess.run(["btrfs", "subvolume", "create", sv], check=True, stdout=subprocess.DEVNULL)
            self.addCleanup(subprocess.run, ["btrfs", "subvolume", "delete", sv],
                            stdout=subprocess.DEVNULL)
        data = os.urandom(500000)
        for sv in (a, b):
            with open(os.path.join(sv, "f"), "wb") as f:
                f.write(data)
        self.assertNotEqual(os.stat(a).st_dev, os.stat(b).st_dev)
        r = run(["dedupe", "--json", a, b])
        self.assertRuns(r)
        self.assertEqual(json.loads(r.stdout)["files_deduplicated"], 1)
        self.assertTrue(is_clone_of(os.path.join(b, "f"), os.path.join(a, "f")) or
                        is_clone_of(os.path.join(a, "f"), os.path.join(b, "f")))


@on_filesystems("xfs")
@support.linux_only("the kernel's compare under lock; Darwin's weaker, documented guarantee "
                    "is tested in tests/c/test_darwin.c")
class ConcurrentWriter(FsTestCase):
    def test_every_file_holds_its_last_completed_write(self):
        root = self.path("tree")
        os.makedirs(root)
        rng = random.Random(5)
        contents = {}
        for g in range(60):
            data = rng.randbytes(256 * 1024)
            for k in range(4):
                p = os.path.join(root, f"g{g}-{k}")
                with open(p, "wb") as f:
                    f.write(data)
                contents[p] = data
        os.sync()
        log, stop = [], threading.Event()

        def writer():
            wr = random.Random(6)
            paths = sorted(contents)
            while not stop.is_set():
                p = wr.choice(paths)
                data = wr.randbytes(256 * 1024) if wr.random() < 0.5 else contents[wr.choice(paths)]
                with open(p, "r+b") as f:  # in place: the inode the dedupe is working on
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                log.append((p, data))  # completed

        t = threading.Thread(target=writer)
        t.start()
        runs = 0
        try:
            while runs < 3 or len(log) < 100:
                r = run(["dedupe", "--json", root])
                self.assertRuns(r)
                runs += 1
                self.assertLess(runs, 200)
        finally:
            stop.set()
            t.join()
        self.assertGreaterEqual(len(log), 100)
        expected = dict(contents)
        for p, data in log:
            expected[p] = data
        for p, data in expected.items():
            self.assertEqual(read(p), data, f"{p} does not hold its last completed write")


@on_filesystems("ext4")
class Refusals(FsTestCase):
    def test_ext4_cannot_deduplicate(self):
        root = self.path("tree")
        os.makedirs(root)
        for n in ("a", "b"):
            with open(os.path.join(root, n), "wb") as f:
                f.write(b"x" * 100000)
        before = {p: (sha256(p), meta(p)) for p in all_files(root)}
        r = run(["dedupe", "--json", root])
        self.assertRuns(r, 1)
        self.assertEqual(r.stderr.decode(),
                         f"cowcopy: cannot deduplicate files on the filesystem of '{root}': "
                         "Operation not supported (ext4 cannot share data between files)\n")
        doc = json.loads(r.stdout)
        self.assertEqual(doc["bytes_read"], 0)
        self.assertFalse(doc["ok"])
        self.assertEqual({p: (sha256(p), meta(p)) for p in all_files(root)}, before)

    def test_bad_input(self):
        self.assertRuns(run(["dedupe"]), 2)
        self.assertRuns(run(["dedupe", "--min-size=lots", self.dir]), 2)
        r = run(["dedupe", self.path("missing")])
        self.assertRuns(r, 1)
        self.assertIn(f"cowcopy: cannot stat '{self.path('missing')}': No such file or "
                      "directory".encode(), r.stderr)


@on_filesystems("xfs")
class Permissions(FsTestCase):
    def test_unreadable_and_foreign_files_as_unprivileged_user(self):
        root = self.path("tree")
        os.makedirs(root)
        data = os.urandom(100000)
        for n in ("mine1", "mine3", "secret", "theirs"):
            with open(os.path.join(root, n), "wb") as f:
                f.write(data)
        # mine1 and its clone mine2 form the largest cluster: the source.
        subprocess.run(["cp", "--reflink=always", os.path.join(root, "mine1"),
                        os.path.join(root, "mine2")], check=True)
        for n in ("mine1", "mine2", "mine3"):
            os.chown(os.path.join(root, n), support.NOBODY, support.NOBODY)
        os.chmod(os.path.join(root, "secret"), 0o600)
        os.chmod(os.path.join(root, "theirs"), 0o644)
        # Darwin replaces duplicates by renaming clones beside them: that
        # needs a directory the user may write.
        os.chmod(root, 0o777 if support.DARWIN else 0o755)
        r = run(["dedupe", "-v", root], user="nobody")
        self.assertRuns(r, 1)
        err = r.stderr.decode()
        self.assertIn(f"cowcopy: cannot open '{root}/secret' for reading: Permission denied\n", err)
        # root's file, not writable by nobody: the kernel refuses to change it.
        self.assertRegex(err, rf"cowcopy: cannot deduplicate '{root}/theirs' against "
                              rf"'{root}/mine[12]': Operation not permitted\n")
        self.assertTrue(is_clone_of(os.path.join(root, "mine3"), os.path.join(root, "mine1")))
        self.assertFalse(shares_any_block(os.path.join(root, "theirs"), os.path.join(root, "mine1")))


@on_filesystems("xfs")
@support.darwin_only("the Darwin backend reads no filesystem UUID to key the cache by "
                     "(Linux's cache: DedupeTree.test_cache)")
class DarwinCache(FsTestCase):
    """Without a filesystem UUID the Darwin backend cannot key a cache: it
    says so, and the run goes on without one."""

    def test_cache_unused_with_a_warning(self):
        for n in ("a", "b"):
            with open(self.path(n), "wb") as f:
                f.write(b"z" * 100000)
        r = run(["dedupe", "--json", "--cache", self.path("c.db"), self.dir])
        self.assertRuns(r)
        self.assertIn(b"cowcopy: warning: ignoring the cache", r.stderr)
        self.assertEqual(json.loads(r.stdout)["files_deduplicated"], 1)


@on_filesystems("xfs")
class MinSize(FsTestCase):
    def test_min_size(self):
        for n in ("a", "b"):
            with open(self.path(n), "wb") as f:
                f.write(b"y" * 8192)
        r = run(["dedupe", "--json", "--min-size=16K", self.dir])
        self.assertRuns(r)
        self.assertEqual(json.loads(r.stdout)["files_deduplicated"], 0)
        self.assertFalse(shares_any_block(self.path("a"), self.path("b")))
        r = run(["dedupe", "--json", "--min-size=4K", self.dir])
        self.assertEqual(json.loads(r.stdout)["files_deduplicated"], 1)


if __name__ == "__main__":
    support.main()
