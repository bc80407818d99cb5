"""test_inspect.py - `cowcopy shared`, `cowcopy du` and `cowcopy probe` on real
filesystems, run as a user would run them.

Every number the commands print is checked against an independent
computation from FIEMAP read here (support.extents) -- intersection of
physical ranges for `shared`, a second du written in Python for `du` --
and against the fixed values the issue gives (a clone: 100%; a 32 MiB file
and its clone: total 64 MiB, exclusive 0, set shared 32 MiB, saved 32 MiB).
On btrfs `du` is also compared with `btrfs filesystem du -s --raw`. `probe`'s
answers are checked against a table and against trying FICLONE,
FIDEDUPERANGE and copy_file_range here, and it must leave nothing behind,
even when killed in the middle (strace injects the SIGKILL).
"""
import errno
import fcntl
import json
import os
import shutil
import stat
import struct
import subprocess
import tempfile

import support
from support import FsTestCase, is_clone_of, on_filesystems, run, shares_any_block, write_random
from treegen import make_tree

MiB = 1 << 20
SKIP_FLAGS = (support.FIEMAP_EXTENT_DATA_INLINE | support.FIEMAP_EXTENT_UNKNOWN
              | 0x4  # FIEMAP_EXTENT_DELALLOC
              | 0x400)  # FIEMAP_EXTENT_DATA_TAIL
FIEMAP_EXTENT_ENCODED = 0x8


# ------------------------------------------------------------ independent math

NO_MAP = 0x80000000  # a data range from SEEK_DATA: the filesystem has no FIEMAP (tmpfs)


def file_extents(path):
    """support.extents(path), or where FIEMAP is not supported the data
    ranges SEEK_DATA/SEEK_HOLE give, flagged NO_MAP (with no physical place);
    the hole SEEK_HOLE puts at end of file is moved to the end of the block."""
    try:
        return support.extents(path)
    except OSError as e:
        if e.errno != errno.EOPNOTSUPP:
            raise
    out = []
    size = os.path.getsize(path)
    block = os.statvfs(path).f_bsize
    with open(path, "rb") as f:
        off = 0
        while off < size:
            try:
                data = os.lseek(f.fileno(), off, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:
                    break
                raise
            hole = os.lseek(f.fileno(), data, os.SEEK_HOLE)
            if hole >= size:
                hole = -(-size // block) * block
            out.append((data, None, hole - data, NO_MAP))
            off = hole
    return out


def placed_extents(path, end):
    """[(logical, physical, length, flags)] with a place on disk, clipped at end."""
    out = []
    for logical, physical, length, flags in file_extents(path):
        if logical >= end or flags & (SKIP_FLAGS | NO_MAP):
            continue
        out.append((logical, physical, min(length, end - logical), flags))
    return out


def expected_shared(file, other):
    """(shared, data) bytes of other on file's blocks, byte-exact (no compression here)."""
    fsize, osize = os.path.getsize(file), os.path.getsize(other)
    mine = [(p, p + n) for _, p, n, _ in placed_extents(file, fsize)]
    data = sum(min(n, osize - l) for l, _, n, _ in file_extents(other) if l < osize)
    shared = 0
    for _, p, n, _ in placed_extents(other, osize):
        covered = set()
        for a, b in mine:  # ranges of one file do not overlap each other here
            lo, hi = max(a, p), min(b, p + n)
            if lo < hi:
                covered.add((lo, hi))
        shared += sum(hi - lo for lo, hi in covered)
    return shared, data


def union_bytes(ranges):
    """Distinct bytes covered by [(start, end)] ranges."""
    total, cur_a, cur_b = 0, None, None
    for a, b in sorted(ranges):
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_b is not None:
        total += cur_b - cur_a
    return total


def expected_du(*roots):
    """btrfs filesystem du -s semantics, computed here from FIEMAP."""
    seen = set()
    files = apparent = total = exclusive = 0
    shared = []

    def one(path, st):
        nonlocal files, apparent, total, exclusive
        if (st.st_dev, st.st_ino) in seen:
            return
        seen.add((st.st_dev, st.st_ino))
        files += 1
        apparent += st.st_size
        bs = os.statvfs(path).f_bsize
        end = -(-st.st_size // bs) * bs
        for logical, _, n, flags in file_extents(path):
            if flags & NO_MAP and logical < end:  # data that cannot be shared
                total += min(n, end - logical)
                exclusive += min(n, end - logical)
        for _, p, n, flags in placed_extents(path, end):
            total += n
            if flags & support.FIEMAP_EXTENT_SHARED:
                shared.append((p, p + n))
            else:
                exclusive += n

    for root in roots:
        root = os.fsencode(root)
        st = os.stat(root)
        if stat.S_ISREG(st.st_mode):
            one(root, st)
            continue
        for dirpath, _, names in os.walk(root):
            for n in names:
                p = os.path.join(dirpath, n)
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode):
                    one(p, st)
    set_shared = union_bytes(shared)
    return {"files": files, "apparent_bytes": apparent, "total_bytes": total,
            "exclusive_bytes": exclusive, "set_shared_bytes": set_shared,
            "saved_bytes": total - exclusive - set_shared}


DU_KEYS = ("files", "apparent_bytes", "total_bytes", "exclusive_bytes", "set_shared_bytes",
           "saved_bytes")


def du_json(*paths, user=None):
    """(result, parsed document) of `cowcopy du --json PATHS`."""
    r = run(["du", "--json", *paths], user=user)
    doc = json.loads(r.stdout)
    return r, doc


def clone(src, dst):
    """FICLONE done here, not by the code under test."""
    with open(src, "rb") as s, open(dst, "wb") as d:
        fcntl.ioctl(d.fileno(), 0x40049409, s.fileno())


def overwrite(path, offset, data):
    """Write data at offset in place, flushed."""
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)
        os.fsync(f.fileno())


def shared_line(file, other, shared, data, pct, note=None):
    """The line `cowcopy shared` prints for one OTHER."""
    tail = f"; {note}" if note else ""
    return f"{other}: {shared} of {data} bytes shared with {file} ({pct}{tail})\n"


# ------------------------------------------------------------------- shared

@on_filesystems(*support.ALL_FILESYSTEMS)
class Shared(FsTestCase):
    def note(self):
        return "the filesystem gives no extent map" if self.fs == "tmpfs" else None

    def assert_shares_nothing(self, a, b):
        """Independent proof: no physical block in common (tmpfs has no
        physical map to compare; it cannot share at all)."""
        if self.fs != "tmpfs":
            self.assertFalse(shares_any_block(self.path(a), self.path(b)))
        self.assertEqual(expected_shared(self.path(a), self.path(b))[0], 0)

    def test_clone_is_fully_shared(self):
        write_random(self.path("a"), 64 * MiB, 1)
        self.assertRuns(run(["cp", "a", "b"], cwd=self.dir))
        r = run(["shared", "a", "b"], cwd=self.dir)
        self.assertRuns(r)
        cow = self.fs in support.COW_FILESYSTEMS
        if cow:
            self.assertTrue(is_clone_of(self.path("b"), self.path("a")))
            self.assertEqual(r.stdout.decode(),
                             "b: 67108864 of 67108864 bytes shared with a (100.0%)\n")
        else:
            self.assert_shares_nothing("a", "b")
            self.assertEqual(r.stdout.decode(),
                             shared_line("a", "b", 0, 67108864, "0.0%", self.note()))
        self.assertEqual(r.stderr, b"")

    def test_reflink_never_copy_shares_nothing(self):
        write_random(self.path("a"), 3 * MiB + 5, 2)
        self.assertRuns(run(["cp", "--reflink=never", "a", "c"], cwd=self.dir))
        self.assert_shares_nothing("a", "c")
        r = run(["shared", "a", "c"], cwd=self.dir)
        self.assertRuns(r)
        self.assertEqual(r.stdout.decode(),
                         shared_line("a", "c", 0, 3 * MiB + 5, "0.0%", self.note()))

    def test_sparse_file_and_its_clone(self):
        with open(self.path("sparse"), "wb") as f:
            f.seek(5 * MiB)
            f.write(os.urandom(100000))
            f.seek(40 * MiB)
            f.write(os.urandom(4096))
            f.truncate(64 * MiB)
        self.assertRuns(run(["cp", "sparse", "copy"], cwd=self.dir))
        r = run(["shared", "--json", "sparse", "copy"], cwd=self.dir)
        self.assertRuns(r)
        res = json.loads(r.stdout)["results"][0]
        shared, data = expected_shared(self.path("sparse"), self.path("copy"))
        self.assertEqual(res["data_bytes"], data)
        self.assertLess(data, 1 * MiB)  # holes do not count
        self.assertEqual(res["size"], 64 * MiB)
        self.assertEqual(res["shared_bytes"], shared)
        if self.fs in support.COW_FILESYSTEMS:
            self.assertEqual(shared, data)
            self.assertEqual(res["percent"], 100.0)
        else:
            self.assertEqual(shared, 0)

    def test_empty_tiny_and_other_filesystem_give_zero(self):
        open(self.path("e1"), "wb").close()
        self.assertRuns(run(["cp", "e1", "e2"], cwd=self.dir))
        with open(self.path("t1"), "wb") as f:
            f.write(b"tiny")
        self.assertRuns(run(["cp", "t1", "t2"], cwd=self.dir))
        other = self.dir_on("ext4" if self.fs != "ext4" else "xfs")
        write_random(self.path("a"), MiB, 3)
        shutil.copyfile(self.path("a"), os.path.join(other, "far"))
        r = run(["shared", "e1", "e2"], cwd=self.dir)
        self.assertRuns(r)
        # An empty file has nothing to map: Linux still asks FIEMAP whether
        # the filesystem maps at all, Darwin's F_LOG2PHYS_EXT has no such call.
        note = None if support.DARWIN else self.note()
        self.assertEqual(r.stdout.decode(), shared_line("e1", "e2", 0, 0, "0.0%", note))
        r = run(["shared", "t1", "t2"], cwd=self.dir)
        self.assertRuns(r)
        tiny_shared = 4 if self.fs == "xfs" else 0  # btrfs keeps 4 bytes inline: nothing to share
        if self.fs == "btrfs":
            self.assertTrue(support.extents(self.path("t2"))[0][3] & support.FIEMAP_EXTENT_DATA_INLINE)
        self.assertEqual(r.stdout.decode(), shared_line(
            "t1", "t2", tiny_shared, 4, "100.0%" if tiny_shared else "0.0%",
            self.note() if not tiny_shared else None))
        far = os.path.join(other, "far")
        r = run(["shared", "a", far], cwd=self.dir)
        self.assertRuns(r)
        self.assertEqual(r.stdout.decode(),
                         shared_line("a", far, 0, MiB, "0.0%", "on different filesystems"))

    def test_json_and_human(self):
        write_random(self.path("a"), 2 * MiB, 4)
        self.assertRuns(run(["cp", "--reflink=never", "a", "b"], cwd=self.dir))
        r = run(["shared", "--json", "a", "b", "a"], cwd=self.dir)
        self.assertRuns(r)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["command"], doc["ok"], doc["errors"], doc["failures"]),
                         ("shared", True, 0, []))
        self.assertEqual(doc["file"], "a")
        b, a = doc["results"]
        self.assertEqual((b["path"], b["shared_bytes"], b["data_bytes"], b["percent"]),
                         ("b", 0, 2 * MiB, 0.0))
        self.assertEqual((a["path"], a["shared_bytes"], a["basis"], a["percent"]),
                         ("a", 2 * MiB, "same file", 100.0))
        r = run(["shared", "-h", "a", "a"], cwd=self.dir)
        self.assertEqual(r.stdout.decode(), "a: 2.0 MiB of 2.0 MiB shared with a (100.0%; the same file)\n")


@on_filesystems(*support.COW_FILESYSTEMS)
class SharedClones(FsTestCase):
    def test_partial_overwrite(self):
        size = 16 * MiB
        write_random(self.path("a"), size, 5)
        clone(self.path("a"), self.path("b"))
        overwrite(self.path("b"), 8 * MiB, os.urandom(4096))
        self.assertEqual(expected_shared(self.path("a"), self.path("b")), (size - 4096, size))
        r = run(["shared", "a", "b"], cwd=self.dir)
        self.assertRuns(r)
        self.assertEqual(r.stdout.decode(), shared_line("a", "b", size - 4096, size, "99.9%"))
        r = run(["shared", "b", "a"], cwd=self.dir)
        self.assertEqual(r.stdout.decode(), shared_line("b", "a", size - 4096, size, "99.9%"))

    def test_clone_of_a_clone(self):
        write_random(self.path("a"), 4 * MiB, 6)
        self.assertRuns(run(["cp", "a", "b"], cwd=self.dir))
        self.assertRuns(run(["cp", "b", "c"], cwd=self.dir))
        self.assertTrue(is_clone_of(self.path("c"), self.path("a")))
        r = run(["shared", "a", "c", "b"], cwd=self.dir)
        self.assertRuns(r)
        self.assertEqual(r.stdout.decode(),
                         shared_line("a", "c", 4 * MiB, 4 * MiB, "100.0%")
                         + shared_line("a", "b", 4 * MiB, 4 * MiB, "100.0%"))

    def test_two_clones_of_one_source(self):
        write_random(self.path("src"), 6 * MiB + 1, 7)
        self.assertRuns(run(["cp", "src", "x"], cwd=self.dir))
        self.assertRuns(run(["cp", "src", "y"], cwd=self.dir))
        n = 6 * MiB + 1
        for file, others in (("src", ["x", "y"]), ("x", ["src", "y"]), ("y", ["x"])):
            r = run(["shared", file, *others], cwd=self.dir)
            self.assertRuns(r)
            self.assertEqual(r.stdout.decode(),
                             "".join(shared_line(file, o, n, n, "100.0%") for o in others))
            for o in others:
                self.assertEqual(expected_shared(self.path(file), self.path(o)), (n, n))


@on_filesystems("btrfs")
class SharedBadInput(FsTestCase):
    def test_missing_path_and_directory(self):
        write_random(self.path("a"), 100000, 8)
        os.mkdir(self.path("d"))
        r = run(["shared", "a", "missing", "d", "a"], cwd=self.dir)
        self.assertRuns(r, 1)
        self.assertEqual(r.stderr.decode(),
                         "cowcopy: cannot stat 'missing': No such file or directory\n"
                         "cowcopy: 'd' is not a regular file: Is a directory\n")
        self.assertEqual(r.stdout.decode(), "a: 100000 of 100000 bytes shared with a (100.0%; "
                                            "the same file)\n")
        r = run(["shared", "d", "a"], cwd=self.dir)
        self.assertRuns(r, 1)
        self.assertEqual(r.stderr.decode(), "cowcopy: 'd' is not a regular file: Is a directory\n")
        self.assertEqual(r.stdout, b"")
        r = run(["shared", "--json", "missing", "a", "a"], cwd=self.dir)
        self.assertRuns(r, 1)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["ok"], doc["errors"], doc["results"]), (False, 1, []))
        self.assertEqual(doc["failures"][0]["errno"], errno.ENOENT)

    def test_unreadable_file(self):
        write_random(self.path("a"), 100000, 9)
        self.assertRuns(run(["cp", "a", "secret"], cwd=self.dir))
        os.chmod(self.path("secret"), 0o600)
        r = run(["shared", "a", "secret"], cwd=self.dir, user="nobody")
        self.assertRuns(r, 1)
        self.assertEqual(r.stderr.decode(),
                         "cowcopy: cannot open 'secret' for reading: Permission denied\n")

    def test_usage_errors(self):
        for args in ([], ["a"], ["--bogus", "a", "b"]):
            r = run(["shared", *args], cwd=self.dir)
            self.assertRuns(r, 2)
            self.assertIn(b"Try 'cowcopy shared --help'", r.stderr)
        r = run(["shared", "--help"])
        self.assertRuns(r)
        self.assertIn(b"Usage: cowcopy shared", r.stdout)


# ---------------------------------------------------------------------- du

@on_filesystems(*support.ALL_FILESYSTEMS)
class Du(FsTestCase):
    def check_du(self, doc, expected):
        self.assertEqual({k: doc[k] for k in DU_KEYS}, expected)

    def test_file_then_file_and_its_clone(self):
        write_random(self.path("a"), 32 * MiB, 10)
        r, doc = du_json(self.dir)
        self.assertRuns(r)
        self.check_du(doc, {"files": 1, "apparent_bytes": 32 * MiB, "total_bytes": 32 * MiB,
                            "exclusive_bytes": 32 * MiB, "set_shared_bytes": 0, "saved_bytes": 0})
        self.assertRuns(run(["cp", "a", "b"], cwd=self.dir))
        r, doc = du_json(self.dir)
        self.assertRuns(r)
        self.assertEqual({k: doc[k] for k in DU_KEYS}, expected_du(self.dir))
        if self.fs in support.COW_FILESYSTEMS:
            self.check_du(doc, {"files": 2, "apparent_bytes": 64 * MiB, "total_bytes": 64 * MiB,
                                "exclusive_bytes": 0, "set_shared_bytes": 32 * MiB,
                                "saved_bytes": 32 * MiB})
        else:
            self.check_du(doc, {"files": 2, "apparent_bytes": 64 * MiB, "total_bytes": 64 * MiB,
                                "exclusive_bytes": 64 * MiB, "set_shared_bytes": 0,
                                "saved_bytes": 0})
        r = run(["du", "-h", self.dir])
        self.assertRuns(r)
        cow = self.fs in support.COW_FILESYSTEMS
        self.assertEqual(r.stdout.decode(),
                         "files:          2\n"
                         "apparent size:  64 MiB\n"
                         "total:          64 MiB\n"
                         f"exclusive:      {'0 B' if cow else '64 MiB'}\n"
                         f"set shared:     {'32 MiB' if cow else '0 B'}\n"
                         f"saved:          {'32 MiB' if cow else '0 B'}\n")

    def test_generated_tree_before_and_after_cp_a(self):
        src = self.path("tree", "src")
        os.mkdir(self.path("tree"))
        make_tree(src, seed=21, extras=self.fs != "tmpfs")
        r, before = du_json(self.path("tree"))
        self.assertRuns(r)
        expected = expected_du(self.path("tree"))
        if support.DARWIN and self.fs == "xfs":
            # XFS's unwritten preallocations are data to FIEMAP (expected_du)
            # but holes to SEEK_DATA, which Darwin's iterator walks (APFS
            # has no unwritten extents): a little less data, never more.
            for k in ("total_bytes", "exclusive_bytes"):
                self.assertTrue(0.98 * expected[k] <= before[k] <= expected[k], (k, before[k]))
                expected[k] = before[k]
        self.assertEqual({k: before[k] for k in DU_KEYS}, expected)
        self.assertGreater(before["files"], 50)
        self.assertEqual(before["exclusive_bytes"], before["total_bytes"])
        self.assertEqual((before["set_shared_bytes"], before["saved_bytes"]), (0, 0))
        copy = self.path("tree", "copy")
        self.assertRuns(run(["cp", "-a", src, copy]))
        r, after = du_json(self.path("tree"))
        self.assertRuns(r)
        if not (support.DARWIN and self.fs == "xfs"):
            self.assertEqual({k: after[k] for k in DU_KEYS}, expected_du(self.path("tree")))
        # The copy's own data: on XFS a sparse file's unwritten preallocation
        # inside the file is not cloned, so it may be a little less than the
        # source's (never more, and never much less).
        t, c = before["total_bytes"], expected_du(copy)["total_bytes"]
        self.assertTrue(0.99 * t <= c <= t, (c, t))
        self.assertEqual((after["files"], after["apparent_bytes"], after["total_bytes"]),
                         (2 * before["files"], 2 * before["apparent_bytes"], t + c))
        if support.DARWIN and self.fs == "xfs":
            pass  # XFS's unwritten preallocations, above: not exact here
        elif self.fs in support.COW_FILESYSTEMS:
            # Every byte of the copy sits on the source's blocks.
            self.assertEqual((after["exclusive_bytes"], after["set_shared_bytes"],
                              after["saved_bytes"]), (t - c, c, c))
        else:
            self.assertEqual((after["exclusive_bytes"], after["set_shared_bytes"],
                              after["saved_bytes"]), (t + c, 0, 0))

    def test_hard_links_and_overlapping_paths_count_once(self):
        os.mkdir(self.path("d"))
        write_random(self.path("d", "a"), 300000, 11)
        os.link(self.path("d", "a"), self.path("a-link"))
        r, doc = du_json(self.dir, self.path("d"), self.path("d", "a"), self.path("a-link"))
        self.assertRuns(r)
        self.assertEqual((doc["files"], doc["apparent_bytes"]), (1, 300000))
        self.assertEqual(doc["total_bytes"], expected_du(self.dir)["total_bytes"])

    def test_missing_and_unreadable_paths(self):
        os.mkdir(self.path("d"))
        write_random(self.path("d", "ok"), 8192, 12)
        write_random(self.path("d", "secret"), 8192, 13)
        os.chmod(self.path("d", "secret"), 0o600)
        r = run(["du", "missing", "d"], cwd=self.dir, user="nobody")
        self.assertRuns(r, 1)
        self.assertEqual(sorted(r.stderr.decode().splitlines()), [
            "cowcopy: cannot open 'd/secret' for reading: Permission denied",
            "cowcopy: cannot stat 'missing': No such file or directory"])
        self.assertTrue(r.stdout.decode().startswith("files:          1\n"), r.stdout)
        r, doc = du_json("missing", self.path("d"), user="nobody")
        self.assertRuns(r, 1)
        self.assertEqual((doc["ok"], doc["errors"], doc["files"], doc["total_bytes"]),
                         (False, 2, 1, 8192))
        self.assertEqual(sorted(f["errno"] for f in doc["failures"]), [errno.ENOENT, errno.EACCES])


@on_filesystems("btrfs")
class DuAgainstBtrfsDu(FsTestCase):
    def btrfs_du(self, path):
        subprocess.run(["sync"], check=True)
        out = subprocess.run(["btrfs", "filesystem", "du", "-s", "--raw", path],
                             check=True, capture_output=True, text=True).stdout.splitlines()
        total, excl, shared = out[1].split()[:3]
        return int(total), int(excl), int(shared)

    def test_agrees_with_btrfs_filesystem_du(self):
        tree = self.path("tree")
        os.mkdir(tree)
        make_tree(os.path.join(tree, "src"), seed=31)
        self.assertRuns(run(["cp", "-a", os.path.join(tree, "src"), os.path.join(tree, "copy")]))
        write_random(os.path.join(tree, "big"), 24 * MiB, 14)
        clone(os.path.join(tree, "big"), os.path.join(tree, "big2"))
        overwrite(os.path.join(tree, "big2"), 12 * MiB, os.urandom(8192))
        self.assertRuns(run(["cp", "--reflink=never", os.path.join(tree, "big"),
                             os.path.join(tree, "big3")]))
        theirs = self.btrfs_du(tree)
        r, doc = du_json(tree)
        self.assertRuns(r)
        ours = (doc["total_bytes"], doc["exclusive_bytes"], doc["set_shared_bytes"])
        print(f"INFO du vs btrfs filesystem du -s --raw (total, exclusive, set shared): "
              f"ours {ours}, btrfs {theirs}", flush=True)
        for mine, ref in zip(ours, theirs):
            self.assertLessEqual(abs(mine - ref), ref / 100)
        self.assertGreater(theirs[1], 0)
        self.assertGreater(theirs[2], 0)


# ------------------------------------------------------------------- probe

FICLONE = 0x40049409
FIDEDUPERANGE = 0xC0189436

EXPECTED_PROBE = {
    "btrfs": ("btrfs", "yes", "yes", "yes"),
    "xfs": ("xfs", "yes", "yes", "yes"),
    "xfs_noreflink": ("xfs", "no", "no", "yes"),
    "ext4": ("ext4", "no", "no", "yes"),
    "tmpfs": ("tmpfs", "no", "no", "yes"),
}


def expected_probe(fs):
    """EXPECTED_PROBE's row; the Darwin backend has no copy_file_range."""
    row = EXPECTED_PROBE[fs]
    return row[:3] + ("no",) if support.DARWIN else row


def try_here(directory):
    """(clone, dedupe, offload) answers found by trying in directory, here."""
    data = os.urandom(8192)
    with tempfile.TemporaryDirectory(dir=directory) as d:
        paths = [os.path.join(d, n) for n in "abcd"]
        for p in paths[:2]:
            with open(p, "wb") as f:
                f.write(data)
        fds = [os.open(p, os.O_RDWR | os.O_CREAT) for p in paths]
        try:
            answers = []
            try:
                fcntl.ioctl(fds[2], FICLONE, fds[0])
                answers.append("yes")
            except OSError:
                answers.append("no")
            arg = bytearray(struct.pack("=QQHHI", 0, len(data), 1, 0, 0)
                            + struct.pack("=qQQiI", fds[1], 0, 0, 0, 0))
            try:
                fcntl.ioctl(fds[0], FIDEDUPERANGE, arg)
                status = struct.unpack_from("=i", arg, 24 + 24)[0]
                answers.append("yes" if status == 0 else "no")
            except OSError:
                answers.append("no")
            try:
                n = os.copy_file_range(fds[0], fds[3], len(data), 0, 0)
                answers.append("yes" if n > 0 else "no")
            except OSError:
                answers.append("no")
            return tuple(answers)
        finally:
            for fd in fds:
                os.close(fd)


def probe_json(directory, user=None):
    """(result, parsed document) of `cowcopy probe --json DIR`."""
    r = run(["probe", "--json", directory], user=user)
    return r, json.loads(r.stdout)


def answers(doc):
    """(filesystem, clone, dedupe, offload) of a probe document."""
    return (doc["filesystem"], doc["clone"]["answer"], doc["dedupe"]["answer"],
            doc["offload"]["answer"])


@on_filesystems(*support.ALL_FILESYSTEMS, "xfs_noreflink")
class Probe(FsTestCase):
    def test_answers_and_nothing_left(self):
        r, doc = probe_json(self.dir)
        self.assertRuns(r)
        self.assertEqual(os.listdir(self.dir), [])
        self.assertEqual(answers(doc), expected_probe(self.fs))
        truth = try_here(self.dir)
        if support.DARWIN:  # no copy_file_range there
            truth = truth[:2] + ("no",)
        self.assertEqual(answers(doc)[1:], truth)
        self.assertEqual((doc["command"], doc["ok"], doc["writable"], doc["block_size"]),
                         ("probe", True, True, os.statvfs(self.dir).f_bsize))
        r = run(["probe"], cwd=self.dir)
        self.assertRuns(r)
        fs, clone_, dedupe, offload = expected_probe(self.fs)

        def line(label, answer, why):
            return f"{label:<12} {answer}" + ("" if answer == "yes" else f" ({why})") + "\n"
        # Darwin asks the volume (getattrlist) and has no copy_file_range.
        not_clone = ("getattrlist" if support.DARWIN else "FICLONE") + ": Operation not supported"
        not_dedupe = (("getattrlist" if support.DARWIN else "FIDEDUPERANGE") +
                      ": Operation not supported")
        not_offload = "copy_file_range: " + ("Function not implemented" if support.DARWIN
                                             else "Operation not supported")
        self.assertEqual(r.stdout.decode(),
                         "directory:   .\n"
                         f"filesystem:  {fs}\n"
                         f"block size:  {os.statvfs(self.dir).f_bsize}\n"
                         + line("clone:", clone_, not_clone)
                         + line("dedupe:", dedupe, not_dedupe)
                         + line("offload:", offload, not_offload))
        self.assertEqual(os.listdir(self.dir), [])

    def test_unwritable_directory_is_unknown(self):
        os.chmod(self.dir, 0o755)
        r = run(["probe", self.dir], user="nobody")
        self.assertRuns(r, 0)
        lines = r.stdout.decode().splitlines()
        self.assertEqual(lines[3:], [f"{k:<12} unknown (cannot write here: Permission denied)"
                                     for k in ("clone:", "dedupe:", "offload:")])
        r, doc = probe_json(self.dir, user="nobody")
        self.assertRuns(r, 0)
        self.assertEqual((doc["ok"], doc["writable"], doc["clone"]["answer"],
                          doc["clone"]["errno"]), (True, False, "unknown", errno.EACCES))
        self.assertEqual(os.listdir(self.dir), [])

    @support.linux_only("O_TMPFILE: a kill leaves nothing; Darwin's hidden names are removed "
                        "on catchable signals only")
    def test_killed_midway_leaves_nothing(self):
        if not shutil.which("strace"):
            self.skipTest("strace is not installed (tests/deps.sh installs it)")
        # SIGKILL when the probe makes its first ioctl (FICLONE or
        # FIDEDUPERANGE), and when it calls copy_file_range: its temporary
        # files exist at those moments.
        for syscall in ("ioctl", "copy_file_range"):
            argv = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"trace={syscall}",
                    "-e", f"inject={syscall}:signal=SIGKILL:when=1", support.COWCOPY,
                    "probe", self.dir]
            r = subprocess.run(argv, capture_output=True, timeout=60)
            self.assertNotEqual(r.returncode, 0, f"{syscall}: the probe was not killed")
            self.assertEqual(os.listdir(self.dir), [], f"left behind after SIGKILL at {syscall}")


@on_filesystems("xfs")
class ProbeOverlay(FsTestCase):
    """An overlayfs over XFS, mounted here and always unmounted."""

    def test_overlay_over_xfs(self):
        parts = {n: self.path(n) for n in ("lower", "upper", "work", "merged")}
        for p in parts.values():
            os.mkdir(p)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={parts['lower']},upperdir={parts['upper']},"
                        f"workdir={parts['work']}", parts["merged"]], check=True)
        self.addCleanup(subprocess.run, ["umount", parts["merged"]], check=True)
        r, doc = probe_json(parts["merged"])
        self.assertRuns(r)
        self.assertEqual(answers(doc), ("overlay", "yes", "yes", "no" if support.DARWIN else "yes"))
        truth = try_here(parts["merged"])
        self.assertEqual(answers(doc)[1:], truth[:2] + ("no",) if support.DARWIN else truth)
        self.assertEqual(os.listdir(parts["merged"]), [])
        self.assertEqual(os.listdir(parts["upper"]), [])


@on_filesystems("btrfs")
class ProbeBadInput(FsTestCase):
    def test_missing_or_not_a_directory(self):
        r = run(["probe", "missing"], cwd=self.dir)
        self.assertRuns(r, 1)
        self.assertEqual(r.stderr.decode(),
                         "cowcopy: cannot open directory 'missing': No such file or directory\n")
        open(self.path("f"), "w").close()
        r, doc = probe_json(self.path("f"))
        self.assertRuns(r, 1)
        self.assertEqual((doc["ok"], doc["errors"]), (False, 1))
        self.assertEqual(doc["failures"][0]["errno"], errno.ENOTDIR)
        r = run(["probe", "a", "b"])
        self.assertRuns(r, 2)


if __name__ == "__main__":
    support.main()
