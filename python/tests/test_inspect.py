"""test_inspect.py - shared_bytes, usage, dedupe and probe on real filesystems.

Every answer is checked against what this file finds on its own: shared
bytes by intersecting the physical extents FIEMAP gives (support.extents,
read through ioctl, never with the code under test), sharing after dedupe
with FIEMAP, contents by reading, metadata by stat and getxattr, probe's
answers against a table and against trying FICLONE here. Errors must be the
OSError subclass for the errno with filename (and filename2 where two files
are involved) set; paths come back as the type they were given in.
"""
import errno
import fcntl
import os
import pathlib
import pickle
import subprocess
import sys
import warnings

import support
from support import (FsTestCase, extents, is_clone_of, listing, on_filesystems, read,
                     run_python, shares_any_block, write_random, xattr_names)

import cowcopy

MiB = 1 << 20
FICLONE = 0x40049409
# Extents with no place of their own on disk (inline, unknown, delayed).
UNPLACED = (support.FIEMAP_EXTENT_DATA_INLINE | support.FIEMAP_EXTENT_UNKNOWN | 0x4)
HAS_NOTES = sys.version_info >= (3, 11)
# The calls a refusal to clone or deduplicate names: the Darwin backend asks
# the volume (getattrlist's VOL_CAP_INT_CLONE) instead of trying.
CLONE_REFUSED_BY = "getattrlist" if support.DARWIN else "FICLONE"
DEDUPE_REFUSED_BY = "getattrlist" if support.DARWIN else "FIDEDUPERANGE"


def fiemap_shared(a, b):
    """Bytes of b's data (clipped at its end) on the same physical bytes as
    a's data: the intersection of their extents, computed here."""
    mine = [(p, p + n) for _, p, n, f in extents(a) if not f & UNPLACED]
    size = os.path.getsize(b)
    shared = 0
    for logical, p, n, f in extents(b):
        if f & UNPLACED or logical >= size:
            continue
        end = p + min(n, size - logical)
        shared += sum(max(0, min(hi, end) - max(lo, p)) for lo, hi in mine)
    return shared


def meta(path):
    """What dedupe must leave alone: inode, mode, owner, links, size, mtime,
    ctime and extended attributes. The Darwin backend replaces a duplicate
    by a verified clone: its inode and ctime change (documented), and the
    simulated layer's record of Darwin-only metadata is no attribute."""
    st = os.stat(path)
    xattrs = {n: os.getxattr(path, n) for n in xattr_names(path)}
    inode_and_ctime = () if support.DARWIN else (st.st_ino, st.st_ctime_ns)
    return inode_and_ctime + (st.st_mode, st.st_uid, st.st_gid, st.st_nlink, st.st_size,
                              st.st_mtime_ns, tuple(sorted(xattrs.items())))


def copy_bytes(src, dst):
    """A real, independent copy made here (no clone, no copy_file_range)."""
    with open(src, "rb") as f, open(dst, "wb") as g:
        g.write(f.read())


def mount_tmpfs(case, where):
    """Mount a small tmpfs at the new directory where (root only), unmounted
    at cleanup."""
    os.mkdir(where)
    if os.geteuid() != 0:
        case.skipTest("mounting a tmpfs needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", where], check=True)
    case.addCleanup(subprocess.run, ["umount", where], check=True)


# ------------------------------------------------------------ shared_bytes

@on_filesystems("btrfs", "xfs")
class SharedBytesCowTest(FsTestCase):
    def test_a_clone_shares_all_of_its_data(self):
        write_random(self.path("a"), 4 * MiB, 1)
        cowcopy.clone(self.path("a"), self.path("b"))
        self.assertTrue(is_clone_of(self.path("b"), self.path("a")))
        self.assertEqual(fiemap_shared(self.path("a"), self.path("b")), 4 * MiB)
        r = cowcopy.shared_bytes(self.path("a"), self.path("b"))
        self.assertIsInstance(r, int)
        self.assertIsInstance(r, cowcopy.SharedBytes)
        self.assertEqual(r, 4 * MiB)
        self.assertEqual((r.data_bytes, r.size, r.basis), (4 * MiB, 4 * MiB, "extents"))

    def test_a_real_copy_shares_nothing(self):
        write_random(self.path("a"), 4 * MiB, 2)
        cowcopy.copyfile(self.path("a"), self.path("b"), reflink="never")
        self.assertFalse(shares_any_block(self.path("a"), self.path("b")))
        self.assertEqual(fiemap_shared(self.path("a"), self.path("b")), 0)
        r = cowcopy.shared_bytes(self.path("a"), self.path("b"))
        self.assertEqual(r, 0)
        self.assertEqual((r.data_bytes, r.size, r.basis), (4 * MiB, 4 * MiB, "extents"))

    def test_a_clone_written_to_shares_the_rest(self):
        # The first MiB of b rewritten: b gets its own blocks there.
        write_random(self.path("a"), 4 * MiB, 3)
        cowcopy.clone(self.path("a"), self.path("b"))
        with open(self.path("b"), "r+b") as f:
            f.write(os.urandom(MiB))
        expected = fiemap_shared(self.path("a"), self.path("b"))
        self.assertEqual(expected, 3 * MiB)
        self.assertEqual(cowcopy.shared_bytes(self.path("a"), self.path("b")), expected)
        # And the other way round: 3 MiB of a's data are on b's blocks.
        self.assertEqual(cowcopy.shared_bytes(self.path("b"), self.path("a")),
                         fiemap_shared(self.path("b"), self.path("a")))

    def test_the_same_file_and_its_hard_link(self):
        write_random(self.path("a"), MiB, 4)
        os.link(self.path("a"), self.path("link"))
        for other in ("a", "link"):
            r = cowcopy.shared_bytes(self.path("a"), self.path(other))
            self.assertEqual((r, r.basis), (MiB, "same file"), other)

    def test_an_empty_file_shares_nothing(self):
        open(self.path("empty"), "wb").close()
        write_random(self.path("a"), MiB, 5)
        r = cowcopy.shared_bytes(self.path("a"), self.path("empty"))
        self.assertEqual((r, r.data_bytes, r.size), (0, 0, 0))

    def test_paths_of_every_kind(self):
        write_random(self.path("a"), MiB, 6)
        cowcopy.clone(self.path("a"), self.path("b"))
        for a, b in ((os.fsencode(self.path("a")), os.fsencode(self.path("b"))),
                     (pathlib.Path(self.path("a")), pathlib.Path(self.path("b")))):
            self.assertEqual(cowcopy.shared_bytes(a, b), MiB)

    def test_the_result_keeps_its_details(self):
        write_random(self.path("a"), MiB, 7)
        cowcopy.clone(self.path("a"), self.path("b"))
        r = cowcopy.shared_bytes(self.path("a"), self.path("b"))
        self.assertEqual(str(r), str(MiB))
        self.assertEqual(repr(r), f"SharedBytes({MiB}, data_bytes={MiB}, size={MiB}, "
                                  "basis='extents')")
        again = pickle.loads(pickle.dumps(r))
        self.assertEqual((again, again.data_bytes, again.size, again.basis),
                         (r, r.data_bytes, r.size, r.basis))
        with self.assertRaises(AttributeError):
            r.basis = "other"


@on_filesystems("ext4", "tmpfs")
class SharedBytesNoCowTest(FsTestCase):
    def test_a_copy_shares_nothing(self):
        write_random(self.path("a"), 2 * MiB, 8)
        result = cowcopy.copy_file(self.path("a"), self.path("b"))
        self.assertFalse(result.cloned)
        if self.fs == "ext4":
            self.assertFalse(shares_any_block(self.path("a"), self.path("b")))
        r = cowcopy.shared_bytes(self.path("a"), self.path("b"))
        self.assertEqual((r, r.data_bytes, r.size), (0, 2 * MiB, 2 * MiB))
        self.assertEqual(r.basis, "extents" if self.fs == "ext4" else "no extent map")


class SharedBytesAcrossFilesystemsTest(FsTestCase):
    fs = "btrfs"

    def test_files_on_two_filesystems_share_nothing(self):
        other = self.dir_on("ext4")
        write_random(self.path("a"), MiB, 9)
        cowcopy.copyfile(self.path("a"), os.path.join(other, "b"))
        r = cowcopy.shared_bytes(self.path("a"), os.path.join(other, "b"))
        self.assertEqual((r, r.basis), (0, "different filesystems"))


class SharedBytesErrorTest(FsTestCase):
    fs = "btrfs"

    def test_a_missing_file_is_named(self):
        write_random(self.path("a"), 4096, 10)
        for a, b, bad in ((self.path("missing"), self.path("a"), self.path("missing")),
                          (self.path("a"), self.path("missing"), self.path("missing")),
                          (os.fsencode(self.path("a")), os.fsencode(self.path("gone")),
                           os.fsencode(self.path("gone")))):
            with self.subTest(a=a, b=b):
                with self.assertRaises(FileNotFoundError) as cm:
                    cowcopy.shared_bytes(a, b)
                self.assertEqual((cm.exception.errno, cm.exception.filename,
                                  cm.exception.filename2), (errno.ENOENT, bad, None))
                if HAS_NOTES:
                    self.assertEqual(cm.exception.__notes__, [f"cannot stat {bad!r} (stat)"])

    def test_a_directory_is_not_a_regular_file(self):
        write_random(self.path("a"), 4096, 11)
        os.mkdir(self.path("d"))
        with self.assertRaises(IsADirectoryError) as cm:
            cowcopy.shared_bytes(self.path("a"), self.path("d"))
        self.assertEqual((cm.exception.filename, cm.exception.filename2), (self.path("d"), None))
        if HAS_NOTES:
            self.assertEqual(cm.exception.__notes__, [f"{self.path('d')!r} is not a regular file"])

    def test_an_unreadable_file_as_an_unprivileged_user(self):
        write_random(self.path("a"), 4096, 12)
        write_random(self.path("secret"), 4096, 13)
        os.chmod(self.path("secret"), 0o600)
        p = run_python(f"""
            try:
                cowcopy.shared_bytes({self.path('a')!r}, {self.path('secret')!r})
            except PermissionError as e:
                print(e.errno, e.filename, e.filename2)
            """, user="nobody")
        self.assertSubprocessOK(p)
        self.assertEqual(p.stdout.split(), [str(errno.EACCES), self.path("secret"), "None"])

    def test_bad_arguments(self):
        with self.assertRaises(TypeError):
            cowcopy.shared_bytes(self.path("a"), 3)
        with self.assertRaises(ValueError):
            cowcopy.shared_bytes(self.path("a"), "x\0y")


# ------------------------------------------------------------ usage

@on_filesystems("btrfs", "xfs")
class UsageCowTest(FsTestCase):
    def test_a_file_then_the_file_and_its_clone(self):
        write_random(self.path("a"), 4 * MiB, 20)
        u = cowcopy.usage(self.path("a"))
        self.assertEqual(u[:7], (1, 4 * MiB, 4 * MiB, 4 * MiB, 0, 0, 0))
        self.assertEqual(u.errors, ())
        cowcopy.clone(self.path("a"), self.path("b"))
        # Independently: every extent of both is flagged shared, at one place.
        self.assertTrue(all(f & support.FIEMAP_EXTENT_SHARED for _, _, _, f in
                            extents(self.path("a")) + extents(self.path("b"))))
        self.assertTrue(is_clone_of(self.path("b"), self.path("a")))
        both = cowcopy.usage(self.path("a"), self.path("b"))
        self.assertEqual((both.files, both.apparent_bytes, both.total_bytes,
                          both.exclusive_bytes, both.set_shared_bytes, both.saved_bytes,
                          both.inline_bytes), (2, 8 * MiB, 8 * MiB, 0, 4 * MiB, 4 * MiB, 0))
        self.assertEqual(cowcopy.usage(self.dir)[:7], both[:7])
        # a alone: its extents are shared (with b, outside the set): nothing
        # exclusive, nothing saved inside the set.
        alone = cowcopy.usage(self.path("a"))
        self.assertEqual(alone[:7], (1, 4 * MiB, 4 * MiB, 0, 4 * MiB, 0, 0))

    def test_each_inode_counts_once(self):
        write_random(self.path("a"), MiB, 21)
        os.link(self.path("a"), self.path("link"))
        u = cowcopy.usage(self.path("a"), self.path("link"), self.dir, self.dir)
        self.assertEqual((u.files, u.apparent_bytes, u.total_bytes), (1, MiB, MiB))

    def test_threads_and_path_types(self):
        os.mkdir(self.path("t"))
        for i in range(20):
            write_random(self.path("t", str(i)), 65536, 100 + i)
        u1 = cowcopy.usage(os.fsencode(self.path("t")), threads=1)
        u3 = cowcopy.usage(pathlib.Path(self.path("t")), threads=3)
        self.assertEqual((u1.threads, u3.threads), (1, 3))
        self.assertEqual(u1[:7], (20, 20 * 65536, 20 * 65536, 20 * 65536, 0, 0, 0))
        self.assertEqual(u3[:7], u1[:7])
        for bad in (0, -1, 1.5, True, "2"):
            with self.assertRaises(ValueError):
                cowcopy.usage(self.dir, threads=bad)
        with self.assertRaises(TypeError):
            cowcopy.usage(self.dir, os.fsencode(self.dir))

    def test_one_file_system(self):
        write_random(self.path("a"), MiB, 22)
        mount_tmpfs(self, self.path("mnt"))
        write_random(self.path("mnt", "b"), MiB, 23)
        self.assertEqual(cowcopy.usage(self.dir).files, 2)
        u = cowcopy.usage(self.dir, one_file_system=True)
        self.assertEqual((u.files, u.total_bytes), (1, MiB))


@on_filesystems("ext4", "tmpfs")
class UsageNoCowTest(FsTestCase):
    def test_a_file_and_its_copy_use_twice_the_space(self):
        write_random(self.path("a"), 4 * MiB, 24)
        cowcopy.copyfile(self.path("a"), self.path("b"))
        u = cowcopy.usage(self.path("a"), self.path("b"))
        self.assertEqual(u[:7], (2, 8 * MiB, 8 * MiB, 8 * MiB, 0, 0, 0))

    def test_the_default_is_the_working_directory(self):
        write_random(self.path("a"), 8192, 25)
        old = os.getcwd()
        os.chdir(self.dir)
        self.addCleanup(os.chdir, old)
        self.assertEqual(cowcopy.usage()[:3], (1, 8192, 8192))


class UsageErrorTest(FsTestCase):
    fs = "btrfs"

    def test_a_missing_path_raises_after_measuring_the_rest(self):
        write_random(self.path("a"), MiB, 26)
        with self.assertRaises(FileNotFoundError) as cm:
            cowcopy.usage(self.path("a"), self.path("missing"))
        self.assertEqual((cm.exception.filename, cm.exception.filename2),
                         (self.path("missing"), None))
        if HAS_NOTES:
            self.assertEqual(cm.exception.__notes__,
                             [f"cannot stat {self.path('missing')!r} (stat)"])

    def test_ignore_errors_returns_them_with_the_numbers(self):
        write_random(self.path("a"), MiB, 27)
        u = cowcopy.usage(os.fsencode(self.path("a")), os.fsencode(self.path("x")),
                          os.fsencode(self.path("y")), ignore_errors=True)
        self.assertEqual((u.files, u.total_bytes), (1, MiB))
        self.assertEqual(sorted((type(e), e.filename) for e in u.errors),
                         [(FileNotFoundError, os.fsencode(self.path("x"))),
                          (FileNotFoundError, os.fsencode(self.path("y")))])

    def test_several_errors_say_how_many_more(self):
        with self.assertRaises(FileNotFoundError) as cm:
            cowcopy.usage(self.path("x"), self.path("y"), self.path("z"))
        if HAS_NOTES:
            self.assertIn("and 2 more error(s); with ignore_errors=True they are returned "
                          "in the result's errors", cm.exception.__notes__)

    def test_an_unreadable_directory_as_an_unprivileged_user(self):
        os.makedirs(self.path("top", "closed"))
        write_random(self.path("top", "f"), 8192, 28)
        write_random(self.path("top", "closed", "g"), 8192, 29)
        os.chmod(self.path("top", "closed"), 0o700)
        p = run_python(f"""
            u = cowcopy.usage({self.path('top')!r}, ignore_errors=True)
            print(u.files, u.total_bytes)
            for e in u.errors:
                print(type(e).__name__, e.errno, e.filename)
            """, user="nobody")
        self.assertSubprocessOK(p)
        self.assertEqual(p.stdout.splitlines(),
                         ["1 8192", f"PermissionError {errno.EACCES} {self.path('top', 'closed')}"])


# ------------------------------------------------------------ dedupe

def make_duplicates(case, seed):
    """a, b, c: one 1 MiB content written three times (real copies, no
    shared blocks); d: another content of the same size; e: unique size.
    Each gets its own mode, mtime and a user xattr."""
    write_random(case.path("a"), MiB, seed)
    copy_bytes(case.path("a"), case.path("b"))
    copy_bytes(case.path("a"), case.path("c"))
    write_random(case.path("d"), MiB, seed + 1)
    write_random(case.path("e"), MiB + 4096, seed + 2)
    for i, name in enumerate("abcde"):
        os.chmod(case.path(name), 0o600 + i)
        os.utime(case.path(name), ns=(1_600_000_000_000_000_000 + i, 1_500_000_000_000_000_000 + i))
        os.setxattr(case.path(name), "user.which", name.encode())
    for x, y in (("a", "b"), ("a", "c"), ("b", "c"), ("a", "d")):
        case.assertFalse(shares_any_block(case.path(x), case.path(y)), (x, y))
    return {n: (read(case.path(n)), meta(case.path(n))) for n in "abcde"}


@on_filesystems("btrfs", "xfs")
class DedupeTest(FsTestCase):
    def assertUnchanged(self, before):
        for name, (data, st) in before.items():
            self.assertEqual(read(self.path(name)), data, name)
            self.assertEqual(meta(self.path(name)), st, name)

    def test_duplicates_come_to_share_their_blocks(self):
        before = make_duplicates(self, 30)
        r = cowcopy.dedupe(self.dir, groups=True)
        self.assertIsInstance(r, cowcopy.DedupeReport)
        self.assertEqual((r.dry_run, r.files_scanned, r.bytes_scanned, r.duplicate_groups,
                          r.files_deduplicated, r.bytes_deduplicated, r.files_already_shared,
                          r.bytes_differed, r.freed_estimate, r.errors),
                         (False, 5, 5 * MiB + 4096, 1, 2, 2 * MiB, 0, 0, 2 * MiB, ()))
        self.assertGreater(r.elapsed, 0)
        self.assertEqual(len(r.groups), 1)
        group = r.groups[0]
        self.assertEqual(group.size, MiB)
        self.assertEqual(sorted(f.path for f in group.files), [self.path(n) for n in "abc"])
        self.assertEqual([f.status for f in group.files], ["source", "shared", "shared"])
        source = group.files[0].path
        for f in group.files[1:]:
            self.assertTrue(is_clone_of(f.path, source), f.path)
            self.assertEqual(fiemap_shared(source, f.path), MiB)
            self.assertEqual(cowcopy.shared_bytes(source, f.path), MiB)
        for other in "abce":
            self.assertFalse(shares_any_block(self.path("d"), self.path(other)), other)
        self.assertUnchanged(before)
        # A second run finds them shared already and reads no file whole
        # (only the edges of d and of one of the others, to tell them apart).
        again = cowcopy.dedupe(self.dir)
        self.assertEqual((again.duplicate_groups, again.files_deduplicated,
                          again.files_already_shared, again.groups), (1, 0, 2, ()))
        self.assertLess(again.bytes_read, MiB)
        self.assertUnchanged(before)

    def test_a_dry_run_changes_nothing(self):
        before = make_duplicates(self, 40)
        maps = {n: extents(self.path(n)) for n in "abcde"}
        r = cowcopy.dedupe(self.path("a"), self.path("b"), self.path("c"), self.path("d"),
                           self.path("e"), dry_run=True, groups=True)
        self.assertEqual((r.dry_run, r.duplicate_groups, r.files_deduplicated,
                          r.bytes_deduplicated, r.freed_estimate, r.freed),
                         (True, 1, 2, 2 * MiB, 2 * MiB, 0))
        self.assertEqual([f.status for f in r.groups[0].files],
                         ["source", "would_share", "would_share"])
        for x, y in (("a", "b"), ("a", "c"), ("b", "c")):
            self.assertFalse(shares_any_block(self.path(x), self.path(y)), (x, y))
        self.assertEqual({n: extents(self.path(n)) for n in "abcde"}, maps)
        self.assertUnchanged(before)

    def test_paths_come_back_as_given(self):
        make_duplicates(self, 50)
        r = cowcopy.dedupe(os.fsencode(self.dir), dry_run=True, groups=True)
        self.assertEqual(sorted(f.path for f in r.groups[0].files),
                         [os.fsencode(self.path(n)) for n in "abc"])
        r = cowcopy.dedupe(pathlib.Path(self.dir), dry_run=True, groups=True)
        self.assertEqual(sorted(f.path for f in r.groups[0].files),
                         [self.path(n) for n in "abc"])

    def test_min_size_leaves_smaller_files_out(self):
        make_duplicates(self, 60)
        r = cowcopy.dedupe(self.dir, dry_run=True, min_size=MiB + 1)
        self.assertEqual((r.files_scanned, r.duplicate_groups, r.files_deduplicated), (5, 0, 0))
        r = cowcopy.dedupe(self.dir, dry_run=True, min_size=MiB)
        self.assertEqual(r.duplicate_groups, 1)

    @support.linux_only("the cache is keyed by filesystem UUID, which the Darwin backend does "
                        "not read (test_no_cache_without_a_filesystem_uuid instead)")
    def test_a_cache_spares_reading_again(self):
        make_duplicates(self, 70)
        cache = os.path.join(self.dir_on(self.fs), "hashes.db")
        first = cowcopy.dedupe(self.dir, dry_run=True, cache=cache)
        self.assertGreater(first.bytes_read, 0)
        self.assertEqual(first.cache_hits, 0)
        second = cowcopy.dedupe(self.dir, dry_run=True, cache=pathlib.Path(cache))
        self.assertEqual((second.bytes_read, second.duplicate_groups, second.files_deduplicated),
                         (0, 1, 2))
        self.assertGreater(second.cache_hits, 0)

    @support.darwin_only("the Darwin backend reads no filesystem UUID to key the cache by "
                         "(Linux's cache: test_a_cache_spares_reading_again)")
    def test_no_cache_without_a_filesystem_uuid(self):
        make_duplicates(self, 75)
        cache = os.path.join(self.dir_on(self.fs), "hashes.db")
        for attempt in range(2):  # the second run finds nothing cached either
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                r = cowcopy.dedupe(self.dir, dry_run=True, cache=cache)
            self.assertEqual((r.duplicate_groups, r.files_deduplicated, r.cache_hits, r.errors),
                             (1, 2, 0, ()), attempt)
            self.assertGreater(r.bytes_read, 0, attempt)
            self.assertEqual([w.category for w in caught], [RuntimeWarning], attempt)
            self.assertIn(cache, str(caught[0].message))
            self.assertIn("no stable UUID", str(caught[0].message))

    def test_a_damaged_cache_is_ignored_with_a_warning(self):
        make_duplicates(self, 80)
        cache = os.path.join(self.dir_on(self.fs), "hashes.db")
        with open(cache, "wb") as f:
            f.write(b"not a database" * 100)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = cowcopy.dedupe(self.dir, cache=cache)
        self.assertEqual((r.files_deduplicated, r.errors), (2, ()))
        self.assertEqual([w.category for w in caught], [RuntimeWarning])
        self.assertIn(cache, str(caught[0].message))
        self.assertEqual(caught[0].filename, __file__)  # points at the caller

    def test_one_file_system_leaves_a_mount_inside_alone(self):
        make_duplicates(self, 90)
        mount_tmpfs(self, self.path("mnt"))
        write_random(self.path("mnt", "x"), 65536, 91)
        copy_bytes(self.path("mnt", "x"), self.path("mnt", "y"))
        # tmpfs cannot deduplicate: without one_file_system that is an error.
        with self.assertRaises(OSError) as cm:
            cowcopy.dedupe(self.dir, dry_run=True)
        self.assertEqual(cm.exception.errno, errno.EOPNOTSUPP)
        r = cowcopy.dedupe(self.dir, dry_run=True, one_file_system=True)
        self.assertEqual((r.files_scanned, r.duplicate_groups, r.errors), (5, 1, ()))

    def test_threads(self):
        make_duplicates(self, 100)
        for threads in (1, 3):
            r = cowcopy.dedupe(self.dir, dry_run=True, threads=threads)
            self.assertEqual(r.files_deduplicated, 2, threads)
        for bad in (0, -2, 2.0, False):
            with self.assertRaises(ValueError):
                cowcopy.dedupe(self.dir, threads=bad)


class DedupeExt4Test(FsTestCase):
    fs = "ext4"

    def test_ext4_cannot_deduplicate_and_says_so(self):
        before = make_duplicates(self, 110)
        for dry_run in (False, True):
            with self.subTest(dry_run=dry_run):
                with self.assertRaises(OSError) as cm:
                    cowcopy.dedupe(self.dir, dry_run=dry_run)
                e = cm.exception
                self.assertEqual((type(e), e.errno, e.filename, e.filename2),
                                 (OSError, errno.EOPNOTSUPP, self.dir, None))
                if HAS_NOTES:
                    self.assertEqual(e.__notes__, [
                        f"cannot deduplicate files on the filesystem of {self.dir!r} "
                        f"({DEDUPE_REFUSED_BY} on ext4)"])
        r = cowcopy.dedupe(self.dir, ignore_errors=True)
        self.assertEqual((r.files_scanned, r.duplicate_groups, r.files_deduplicated), (5, 0, 0))
        self.assertEqual([(e.errno, e.filename) for e in r.errors],
                         [(errno.EOPNOTSUPP, self.dir)])
        for name, (data, st) in before.items():
            self.assertEqual((read(self.path(name)), meta(self.path(name))), (data, st), name)


class DedupeErrorTest(FsTestCase):
    fs = "btrfs"

    def test_a_missing_path(self):
        with self.assertRaises(FileNotFoundError) as cm:
            cowcopy.dedupe(self.path("missing"))
        self.assertEqual((cm.exception.filename, cm.exception.filename2),
                         (self.path("missing"), None))

    def test_bad_arguments(self):
        with self.assertRaises(TypeError):
            cowcopy.dedupe()
        with self.assertRaises(TypeError):
            cowcopy.dedupe(self.dir, os.fsencode(self.dir))
        for bad in (-1, 1.5, True, "1"):
            with self.assertRaises(ValueError):
                cowcopy.dedupe(self.dir, min_size=bad)

    def test_an_unreadable_duplicate_as_an_unprivileged_user(self):
        # nobody owns a, b and c; the fourth copy is root's and unreadable
        # to nobody: reported by name, the others still shared.
        make_duplicates(self, 120)
        os.remove(self.path("d"))
        for n in "abce":
            os.chown(self.path(n), support.NOBODY, support.NOBODY)
        copy_bytes(self.path("a"), self.path("root-only"))
        os.chmod(self.path("root-only"), 0o600)
        p = run_python(f"""
            r = cowcopy.dedupe({self.dir!r}, ignore_errors=True)
            print(r.files_deduplicated)
            for e in r.errors:
                print(type(e).__name__, e.errno, e.filename, e.filename2)
            """, user="nobody")
        self.assertSubprocessOK(p)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], "2")
        self.assertEqual(lines[1:], [f"PermissionError {errno.EACCES} "
                                     f"{self.path('root-only')} None"])
        self.assertFalse(shares_any_block(self.path("root-only"), self.path("a")))


# ------------------------------------------------------------ probe

# What probe must answer on each scratch filesystem: (name, clone, dedupe,
# offload); the Darwin backend has no copy_file_range (see probed()).
PROBED = {
    "btrfs": ("btrfs", "yes", "yes", "yes"),
    "xfs": ("xfs", "yes", "yes", "yes"),
    "xfs_noreflink": ("xfs", "no", "no", "yes"),
    "ext4": ("ext4", "no", "no", "yes"),
    "tmpfs": ("tmpfs", "no", "no", "yes"),
}


def probed(fs):
    """PROBED's row; offload is "no" on the Darwin backend."""
    row = PROBED[fs]
    return row[:3] + ("no",) if support.DARWIN else row


def try_ficlone(directory):
    """Can a file be cloned in directory? Tried here with ioctl(FICLONE)."""
    a, b = os.path.join(directory, ".try-a"), os.path.join(directory, ".try-b")
    try:
        with open(a, "wb") as f:
            f.write(os.urandom(8192))
        with open(a, "rb") as src, open(b, "wb") as dst:
            try:
                fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
                return True
            except OSError:
                return False
    finally:
        for p in (a, b):
            if os.path.exists(p):
                os.remove(p)


@on_filesystems(*PROBED)
class ProbeTest(FsTestCase):
    def test_answers(self):
        name, clone, dedupe, offload = probed(self.fs)
        p = cowcopy.probe(self.dir)
        self.assertIsInstance(p, cowcopy.Probe)
        self.assertEqual((p.directory, p.filesystem, p.writable), (self.dir, name, True))
        self.assertEqual((p.clone.answer, p.dedupe.answer, p.offload.answer),
                         (clone, dedupe, offload))
        self.assertEqual(p.clone.answer == "yes", try_ficlone(self.dir))
        self.assertEqual(p.block_size, os.statvfs(self.dir).f_bsize)
        stat_type = subprocess.run(["stat", "-f", "-c", "%t", self.dir], capture_output=True,
                                   text=True, check=True).stdout.strip()
        self.assertEqual(p.fs_magic, int(stat_type, 16))
        for check, err, call in ((p.clone, errno.EOPNOTSUPP, CLONE_REFUSED_BY),
                                 (p.dedupe, errno.EOPNOTSUPP, DEDUPE_REFUSED_BY),
                                 (p.offload, errno.ENOSYS, "copy_file_range")):
            if check.answer == "yes":
                self.assertEqual((check.errno, check.call), (None, None))
            else:
                self.assertEqual((check.errno, check.call), (err, call))
        self.assertEqual(listing(self.dir), [])  # nothing left behind

    def test_path_types(self):
        self.assertEqual(cowcopy.probe(os.fsencode(self.dir)).directory, os.fsencode(self.dir))
        self.assertEqual(cowcopy.probe(pathlib.Path(self.dir)).filesystem, PROBED[self.fs][0])


class ProbeErrorTest(FsTestCase):
    fs = "btrfs"

    def test_a_missing_directory_and_a_file(self):
        write_random(self.path("f"), 10, 130)
        for path, exc in ((self.path("missing"), FileNotFoundError),
                          (self.path("f"), NotADirectoryError),
                          (os.fsencode(self.path("missing")), FileNotFoundError)):
            with self.subTest(path=path):
                with self.assertRaises(exc) as cm:
                    cowcopy.probe(path)
                self.assertEqual((cm.exception.filename, cm.exception.filename2), (path, None))
                if HAS_NOTES:
                    self.assertEqual(cm.exception.__notes__,
                                     [f"cannot open directory {path!r} (open)"])

    def test_a_directory_nobody_may_write_to(self):
        os.mkdir(self.path("ro"))
        os.chmod(self.path("ro"), 0o755)
        p = run_python(f"""
            p = cowcopy.probe({self.path('ro')!r})
            print(p.filesystem, p.writable, p.clone.answer, p.dedupe.answer, p.offload.answer,
                  p.clone.errno, p.clone.call)
            """, user="nobody")
        self.assertSubprocessOK(p)
        self.assertEqual(p.stdout.split(), ["btrfs", "False", "unknown", "unknown", "unknown",
                                            str(errno.EACCES), "openat"])
        self.assertEqual(listing(self.path("ro")), [])


if __name__ == "__main__":
    support.main()
