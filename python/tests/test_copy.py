"""test_copy.py - cowcopy.copyfile/copy/copy2/clone/copy_file on real filesystems.

Clones are proven by extents (FIEMAP read in support.py), fallbacks are
checked on ext4 and tmpfs, and the shutil-compatible functions are held to
shutil's observable behaviour: return values, path types, modes, metadata,
symlinks, and the exception class, errno, filename and filename2 of every
failure. Unprivileged cases run in a child process as uid 65534.
"""
import errno
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys

import support
from support import (FsTestCase, is_clone_of, listing, on_filesystems, read, run_python,
                     shares_any_block, write_random, write_text, xattr_names)

import cowcopy

FALLBACK_ERRNOS = (errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY)


@on_filesystems(*support.COW_FILESYSTEMS)
class CloneTest(FsTestCase):
    def test_copyfile_clones_and_returns_dst(self):
        write_random(self.path("a"), 4 << 20, 1)
        self.assertEqual(cowcopy.copyfile(self.path("a"), self.path("b")), self.path("b"))
        self.assertTrue(is_clone_of(self.path("b"), self.path("a")))
        self.assertEqual(read(self.path("a")), read(self.path("b")))

    def test_copy_and_copy2_clone_into_a_directory(self):
        write_random(self.path("a"), 1 << 20, 2)
        os.mkdir(self.path("d"))
        os.mkdir(self.path("e"))
        self.assertEqual(cowcopy.copy(self.path("a"), self.path("d")), self.path("d", "a"))
        self.assertEqual(cowcopy.copy2(self.path("a"), self.path("e")), self.path("e", "a"))
        self.assertTrue(is_clone_of(self.path("d", "a"), self.path("a")))
        self.assertTrue(is_clone_of(self.path("e", "a"), self.path("a")))

    def test_copy_file_says_it_cloned(self):
        write_random(self.path("a"), 3 << 20, 3)
        r = cowcopy.copy_file(self.path("a"), self.path("b"))
        self.assertIsInstance(r, cowcopy.CopyResult)
        self.assertEqual(r, cowcopy.CopyResult("cloned", 3 << 20, 0, None, None))
        self.assertTrue(r.cloned)
        self.assertTrue(is_clone_of(self.path("b"), self.path("a")))

    def test_clone(self):
        write_random(self.path("a"), 2 << 20, 4)
        self.assertEqual(cowcopy.clone(self.path("a"), self.path("b")), self.path("b"))
        self.assertTrue(is_clone_of(self.path("b"), self.path("a")))
        r = cowcopy.copyfile(self.path("a"), self.path("c"), reflink="always")
        self.assertEqual(r, self.path("c"))
        self.assertTrue(is_clone_of(self.path("c"), self.path("a")))

    def test_reflink_never_shares_no_block(self):
        write_random(self.path("a"), 2 << 20, 5)
        cowcopy.copyfile(self.path("a"), self.path("b"), reflink="never")
        self.assertFalse(shares_any_block(self.path("a"), self.path("b")))
        r = cowcopy.copy_file(self.path("a"), self.path("c"), reflink="never")
        self.assertEqual((r.method, r.fallback_call), ("copied", None))
        self.assertFalse(shares_any_block(self.path("a"), self.path("c")))
        self.assertEqual(read(self.path("a")), read(self.path("c")))

    def test_a_clone_is_independent(self):
        write_random(self.path("a"), 1 << 20, 6)
        before = read(self.path("a"))
        cowcopy.clone(self.path("a"), self.path("b"))
        with open(self.path("b"), "r+b") as f:
            f.write(b"changed")
        self.assertEqual(read(self.path("a")), before)
        self.assertEqual(read(self.path("b"))[:7], b"changed")

    def test_sparse_file_clone_keeps_size_and_holes(self):
        with open(self.path("a"), "wb") as f:
            f.write(b"head" * 4096)
            f.seek(256 << 20)
            f.write(b"tail" * 4096)
        r = cowcopy.copy_file(self.path("a"), self.path("b"))
        self.assertEqual(r.method, "cloned")
        self.assertEqual(r.bytes, os.path.getsize(self.path("a")))
        self.assertLess(os.stat(self.path("b")).st_blocks * 512, 1 << 20)
        self.assertTrue(is_clone_of(self.path("b"), self.path("a")))


@on_filesystems(*support.NOCOW_FILESYSTEMS)
class FallbackTest(FsTestCase):
    def test_auto_copies_and_says_why(self):
        write_random(self.path("a"), 2 << 20, 7)
        r = cowcopy.copy_file(self.path("a"), self.path("b"))
        self.assertIn(r.method, ("offloaded", "copied"))
        self.assertFalse(r.cloned)
        self.assertEqual(r.fallback_call, support.CLONE_CALL)
        self.assertIn(r.fallback_errno, FALLBACK_ERRNOS)
        self.assertEqual(r.bytes, 2 << 20)
        self.assertEqual(read(self.path("a")), read(self.path("b")))
        self.assertEqual(cowcopy.copyfile(self.path("a"), self.path("c")), self.path("c"))
        self.assertEqual(read(self.path("a")), read(self.path("c")))

    def test_always_raises_the_real_errno_and_leaves_nothing(self):
        write_random(self.path("a"), 1 << 20, 8)
        auto = cowcopy.copy_file(self.path("a"), self.path("probe"))
        os.unlink(self.path("probe"))
        calls = (lambda: cowcopy.clone(self.path("a"), self.path("b")),
                 lambda: cowcopy.copyfile(self.path("a"), self.path("b"), reflink="always"),
                 lambda: cowcopy.copy(self.path("a"), self.path("b"), reflink="always"),
                 lambda: cowcopy.copy2(self.path("a"), self.path("b"), reflink="always"),
                 lambda: cowcopy.copy_file(self.path("a"), self.path("b"), reflink="always"))
        for call in calls:
            with self.assertRaises(OSError) as cm:
                call()
            self.assertEqual(cm.exception.errno, auto.fallback_errno)
            self.assertEqual(type(cm.exception), OSError)  # EOPNOTSUPP has no subclass
            self.assertNames(cm.exception, self.path("a"), self.path("b"))
            if sys.version_info >= (3, 11):
                self.assertEqual(cm.exception.__notes__,
                                 [f"cannot clone {self.path('a')!r} to {self.path('b')!r} "
                                  f"({support.CLONE_CALL} on {self.fs})"])
            self.assertEqual(listing(self.dir), ["a"])

    def test_sparse_copy_keeps_holes(self):
        with open(self.path("a"), "wb") as f:
            f.write(b"x" * 65536)
            f.seek(64 << 20)
            f.write(b"y" * 65536)
        size = os.path.getsize(self.path("a"))
        for reflink in ("auto", "never"):
            dst = self.path("b-" + reflink)
            r = cowcopy.copy_file(self.path("a"), dst, reflink=reflink)
            self.assertEqual(r.bytes, size)
            self.assertGreaterEqual(r.hole_bytes, size - 2 * 65536 - (1 << 20))
            self.assertLess(os.stat(dst).st_blocks * 512, 4 << 20)
            self.assertEqual(read(dst), read(self.path("a")))

    def test_reflink_never_does_not_try_to_clone(self):
        write_random(self.path("a"), 100000, 9)
        r = cowcopy.copy_file(self.path("a"), self.path("b"), reflink="never")
        self.assertEqual(r, cowcopy.CopyResult("copied", 100000, 0, None, None))


class CrossFilesystemTest(FsTestCase):
    fs = "btrfs"

    def test_clone_across_filesystems_is_exdev(self):
        other = self.dir_on("ext4")
        write_random(self.path("a"), 1 << 20, 10)
        with self.assertRaises(OSError) as cm:
            cowcopy.clone(self.path("a"), os.path.join(other, "b"))
        self.assertEqual(cm.exception.errno, errno.EXDEV)
        self.assertEqual(os.listdir(other), [])
        r = cowcopy.copy_file(self.path("a"), os.path.join(other, "b"))
        self.assertEqual((r.fallback_call, r.fallback_errno), (support.CLONE_CALL, errno.EXDEV))
        self.assertEqual(read(self.path("a")), read(os.path.join(other, "b")))
        self.assertEqual(cowcopy.copy2(self.path("a"), other), os.path.join(other, "a"))


@on_filesystems("btrfs", "ext4")
class ShutilBehaviourTest(FsTestCase):
    def setUp(self):
        super().setUp()
        self.old_umask = os.umask(0o022)
        self.addCleanup(os.umask, self.old_umask)

    def test_path_types_and_return_values(self):
        write_random(self.path("a"), 5000, 11)
        a = self.path("a")
        r = cowcopy.copyfile(pathlib.Path(a), pathlib.Path(self.path("p")))
        self.assertEqual(r, pathlib.Path(self.path("p")))
        r = cowcopy.copyfile(os.fsencode(a), os.fsencode(self.path("b")))
        self.assertEqual(r, os.fsencode(self.path("b")))
        entry = next(e for e in os.scandir(self.dir) if e.name == "a")
        self.assertEqual(cowcopy.copy2(entry, self.path("e")), self.path("e"))
        os.mkdir(self.path("d"))
        self.assertEqual(cowcopy.copy(os.fsencode(a), os.fsencode(self.path("d"))),
                         os.fsencode(self.path("d", "a")))
        self.assertEqual(cowcopy.copy2(pathlib.Path(a), pathlib.Path(self.path("d"))),
                         self.path("d", "a"))
        for name in ("p", "b", "e", "d/a"):
            self.assertEqual(read(self.path(name)), read(a), name)
        with self.assertRaises(TypeError):
            cowcopy.copyfile(1.5, self.path("x"))
        with self.assertRaises(TypeError):
            cowcopy.copy_file(a, None)
        with self.assertRaises(ValueError):
            cowcopy.copyfile(a, self.path("x\0y"))
        with self.assertRaises(ValueError):
            cowcopy.copyfile(a, self.path("x"), reflink="sometimes")
        with self.assertRaises(ValueError):
            cowcopy.copyfile(a, self.path("x"), reflink=True)
        with self.assertRaises(ValueError):
            cowcopy.copy_file(a, self.path("x"), preserve="colour")
        with self.assertRaises(ValueError):
            cowcopy.copy_file(a, self.path("x"), preserve="mode", preserve_required="xattr")
        self.assertFalse(os.path.lexists(self.path("x")))

    def test_copyfile_gives_a_new_file_the_default_mode(self):
        # shutil.copyfile opens dst with open(dst, "wb"): 0o666 less the umask.
        for mode in (0o751, 0o600, 0o644, 0o4755):
            src, dst = self.path(f"src-{mode:o}"), self.path(f"dst-{mode:o}")
            write_text(src, "x")
            os.chmod(src, mode)
            cowcopy.copyfile(src, dst)
            self.assertEqual(stat.S_IMODE(os.stat(dst).st_mode), 0o644, oct(mode))
        write_text(self.path("old"), "old")
        os.chmod(self.path("old"), 0o640)
        cowcopy.copyfile(self.path("src-751"), self.path("old"))
        self.assertEqual(stat.S_IMODE(os.stat(self.path("old")).st_mode), 0o640)

    def test_copy_copies_the_mode_bits(self):
        write_text(self.path("a"), "a")
        os.chmod(self.path("a"), 0o4751)
        write_text(self.path("old"), "old")
        os.chmod(self.path("old"), 0o600)
        for dst in (self.path("new"), self.path("old")):
            cowcopy.copy(self.path("a"), dst)
            self.assertEqual(stat.S_IMODE(os.stat(dst).st_mode), 0o4751)
            self.assertEqual(read(dst), b"a")

    def test_copy2_copies_times_mode_and_xattrs(self):
        write_random(self.path("a"), 70000, 12)
        os.chmod(self.path("a"), 0o640)
        os.setxattr(self.path("a"), "user.colour", b"blue")
        os.setxattr(self.path("a"), "user.empty", b"")
        subprocess.run(["setfacl", "-m", "u:4321:r", self.path("a")], check=True)
        os.utime(self.path("a"), ns=(1234567890123456789, 1300000000987654321))
        # The access time is the source's from before it was read (as cp -p
        # keeps it; reading may update it under relatime).
        s = os.stat(self.path("a"))
        cowcopy.copy2(self.path("a"), self.path("b"))
        d = os.stat(self.path("b"))
        self.assertEqual((d.st_atime_ns, d.st_mtime_ns), (s.st_atime_ns, s.st_mtime_ns))
        self.assertEqual(d.st_mode, s.st_mode)
        for name in ("user.colour", "user.empty", "system.posix_acl_access"):
            self.assertEqual(os.getxattr(self.path("b"), name), os.getxattr(self.path("a"), name))
        self.assertEqual(sorted(xattr_names(self.path("b"))), sorted(xattr_names(self.path("a"))))

    def test_copy_does_not_copy_acls_or_xattrs(self):
        # shutil.copy is copyfile + chmod: no ACL, no xattr, no times.
        write_text(self.path("a"), "a")
        os.setxattr(self.path("a"), "user.colour", b"blue")
        subprocess.run(["setfacl", "-m", "u:4321:r", self.path("a")], check=True)
        os.utime(self.path("a"), (1000000000, 1000000000))
        cowcopy.copy(self.path("a"), self.path("b"))
        self.assertEqual(xattr_names(self.path("b")), [])
        self.assertNotEqual(os.stat(self.path("b")).st_mtime, 1000000000)
        self.assertEqual(stat.S_IMODE(os.stat(self.path("b")).st_mode),
                         stat.S_IMODE(os.stat(self.path("a")).st_mode))

    def test_copy2_of_a_read_only_file_with_xattrs_as_nobody(self):
        write_text(self.path("a"), "read only")
        os.setxattr(self.path("a"), "user.origin", b"web")
        os.chmod(self.path("a"), 0o444)
        os.chown(self.path("a"), support.NOBODY, support.NOBODY)
        p = run_python(f"""
            cowcopy.copy2({self.path('a')!r}, {self.path('b')!r})
            print(oct(os.stat({self.path('b')!r}).st_mode), os.getxattr({self.path('b')!r}, "user.origin"))
        """, user="nobody")
        self.assertSubprocessOK(p)
        self.assertEqual(p.stdout.split(), ["0o100444", "b'web'"])

    def test_follow_symlinks_false_makes_a_symlink(self):
        write_text(self.path("target"), "t")
        os.symlink("target", self.path("link"))
        os.utime(self.path("link"), ns=(10**18, 2 * 10**18), follow_symlinks=False)
        for fn in (cowcopy.copyfile, cowcopy.copy, cowcopy.copy2):
            dst = self.path("copy-" + fn.__name__)
            self.assertEqual(fn(self.path("link"), dst, follow_symlinks=False), dst)
            self.assertTrue(os.path.islink(dst))
            self.assertEqual(os.readlink(dst), "target")
        self.assertEqual(os.lstat(self.path("copy-copy2")).st_mtime_ns, 2 * 10**18)
        # An existing destination: os.symlink's FileExistsError, as in shutil.
        write_text(self.path("existing"), "e")
        with self.assertRaises(FileExistsError) as cm:
            cowcopy.copyfile(self.path("link"), self.path("existing"), follow_symlinks=False)
        self.assertEqual(cm.exception.filename2, self.path("existing"))
        self.assertEqual(read(self.path("existing")), b"e")
        # Followed (the default), the link's target is copied.
        cowcopy.copyfile(self.path("link"), self.path("followed"))
        self.assertFalse(os.path.islink(self.path("followed")))
        self.assertEqual(read(self.path("followed")), b"t")
        # A regular file with follow_symlinks=False is copied as usual.
        cowcopy.copy2(self.path("target"), self.path("plain"), follow_symlinks=False)
        self.assertEqual(read(self.path("plain")), b"t")
        r = cowcopy.copy_file(self.path("link"), self.path("native"), follow_symlinks=False)
        self.assertEqual(r.method, "symlink")
        self.assertEqual(os.readlink(self.path("native")), "target")

    def test_destinations_reached_through_links(self):
        write_random(self.path("a"), 30000, 13)
        # A symlink to a file: written through, the link stays.
        write_text(self.path("target"), "old")
        os.symlink("target", self.path("link"))
        cowcopy.copyfile(self.path("a"), self.path("link"))
        self.assertTrue(os.path.islink(self.path("link")))
        self.assertEqual(read(self.path("target")), read(self.path("a")))
        # A dangling symlink: shutil's open(dst, "wb") creates its target.
        os.symlink("made", self.path("dangling"))
        cowcopy.copyfile(self.path("a"), self.path("dangling"))
        self.assertTrue(os.path.islink(self.path("dangling")))
        self.assertEqual(read(self.path("made")), read(self.path("a")))
        # A file with another hard link: written in place, both names see it.
        write_text(self.path("h1"), "old")
        os.link(self.path("h1"), self.path("h2"))
        cowcopy.copy2(self.path("a"), self.path("h2"))
        self.assertEqual(read(self.path("h1")), read(self.path("a")))
        self.assertEqual(os.stat(self.path("h1")).st_ino, os.stat(self.path("h2")).st_ino)
        # A lone file is replaced by a complete new one.
        write_text(self.path("lone"), "a much longer old content" * 5000)
        cowcopy.copyfile(self.path("a"), self.path("lone"))
        self.assertEqual(read(self.path("lone")), read(self.path("a")))


@on_filesystems("btrfs", "ext4")
class ErrorTest(FsTestCase):
    def assertFails(self, exc_type, call, src, dst, errno_=None):
        with self.assertRaises(exc_type) as cm:
            call(src, dst)
        self.assertIs(type(cm.exception), exc_type)
        self.assertNames(cm.exception, src, dst)
        if errno_ is not None:
            self.assertEqual(cm.exception.errno, errno_)
        return cm.exception

    def test_missing_source(self):
        for fn in (cowcopy.copyfile, cowcopy.copy, cowcopy.copy2, cowcopy.clone,
                   cowcopy.copy_file):
            self.assertFails(FileNotFoundError, fn, self.path("missing"), self.path("b"),
                             errno.ENOENT)
            self.assertFails(FileNotFoundError, fn, os.fsencode(self.path("missing")),
                             os.fsencode(self.path("b")), errno.ENOENT)
        self.assertEqual(listing(self.dir), [])

    def test_missing_destination_directory(self):
        write_text(self.path("a"), "a")
        for fn in (cowcopy.copyfile, cowcopy.copy, cowcopy.copy2, cowcopy.clone):
            self.assertFails(FileNotFoundError, fn, self.path("a"), self.path("no", "b"))

    def test_directories(self):
        write_text(self.path("a"), "a")
        os.mkdir(self.path("d"))
        for fn in (cowcopy.copyfile, cowcopy.copy, cowcopy.copy2, cowcopy.copy_file):
            self.assertFails(IsADirectoryError, fn, self.path("d"), self.path("x"))
        for fn in (cowcopy.copyfile, cowcopy.copy_file, cowcopy.clone):
            self.assertFails(IsADirectoryError, fn, self.path("a"), self.path("d"))
        self.assertEqual(listing(self.dir), ["a", "d"])
        self.assertEqual(listing(self.path("d")), [])

    def test_trailing_slash_destinations(self):
        write_text(self.path("a"), "a")
        os.mkdir(self.path("d"))
        e = self.assertFails(FileNotFoundError, cowcopy.copyfile, self.path("a"),
                             self.path("nodir") + "/")
        self.assertEqual(e.strerror, "Directory does not exist")
        self.assertFails(NotADirectoryError, cowcopy.copyfile, self.path("a"), self.path("a") + "/")
        # The source's own problem is the one reported (test_shutil's _test_copy_dir).
        self.assertFails(IsADirectoryError, cowcopy.copy, self.path("d"), self.path("nodir") + "/")
        self.assertFails(FileNotFoundError, cowcopy.copyfile, self.path("missing"),
                         self.path("nodir") + "/")
        self.assertFails(NotADirectoryError, cowcopy.copyfile, self.path("a", "x"), self.path("b"))

    def test_same_file(self):
        write_text(self.path("a"), "keep")
        os.link(self.path("a"), self.path("hard"))
        os.symlink("a", self.path("soft"))
        entry = next(e for e in os.scandir(self.dir) if e.name == "a")
        cases = [(self.path("a"), self.path("a")), (self.path("a"), self.path("hard")),
                 (self.path("a"), self.path("soft")), (self.path("soft"), self.path("a")),
                 (entry, self.path("hard"))]
        for src, dst in cases:
            for fn in (cowcopy.copyfile, cowcopy.copy, cowcopy.copy2, cowcopy.copy_file,
                       cowcopy.clone):
                with self.assertRaises(cowcopy.SameFileError) as cm:
                    fn(src, dst)
                self.assertIsInstance(cm.exception, shutil.SameFileError)
                self.assertEqual(str(cm.exception), f"{src!r} and {dst!r} are the same file")
        self.assertEqual(read(self.path("a")), b"keep")
        self.assertIs(cowcopy.SameFileError, shutil.SameFileError)

    def test_named_pipes_are_refused_without_blocking(self):
        write_text(self.path("a"), "a")
        os.mkfifo(self.path("fifo"))
        signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("blocked")))
        self.addCleanup(signal.signal, signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(20)
        self.addCleanup(signal.alarm, 0)
        for fn in (cowcopy.copyfile, cowcopy.copy, cowcopy.copy2):
            for src, dst in ((self.path("fifo"), self.path("b")), (self.path("a"), self.path("fifo"))):
                with self.assertRaises(cowcopy.SpecialFileError) as cm:
                    fn(src, dst)
                self.assertEqual(str(cm.exception), "`%s` is a named pipe" % (
                    self.path("fifo")))
        with self.assertRaises(cowcopy.SpecialFileError):
            cowcopy.clone(self.path("fifo"), self.path("b"))
        self.assertEqual(listing(self.dir), ["a", "fifo"])

    def test_name_too_long(self):
        write_text(self.path("a"), "a")
        self.assertFails(OSError, cowcopy.copyfile, self.path("a"), self.path("n" * 300),
                         errno.ENAMETOOLONG)

    def test_permission_errors_as_nobody(self):
        write_text(self.path("secret"), "secret")
        os.chmod(self.path("secret"), 0o600)
        write_text(self.path("public"), "public")
        os.chmod(self.path("public"), 0o644)
        os.mkdir(self.path("ro"), 0o755)
        write_text(self.path("theirs"), "theirs")
        os.chmod(self.path("theirs"), 0o644)
        p = run_python(f"""
            for src, dst in (({self.path('secret')!r}, {self.path('out')!r}),
                             ({self.path('public')!r}, {self.path('ro', 'x')!r}),
                             ({self.path('public')!r}, {self.path('theirs')!r})):
                for fn in (cowcopy.copyfile, cowcopy.copy, cowcopy.copy2, cowcopy.copy_file):
                    try:
                        fn(src, dst)
                    except PermissionError as e:
                        assert (e.errno, e.filename, e.filename2) == (13, src, dst), e
                    else:
                        raise AssertionError(f"{{fn.__name__}}({{src}}, {{dst}}) did not fail")
            # force replaces a file we may not write, in a directory we may write
            r = cowcopy.copy_file({self.path('public')!r}, {self.path('theirs')!r}, force=True)
            print(r.method in ("cloned", "offloaded", "copied"))
        """, user="nobody")
        self.assertSubprocessOK(p)
        self.assertEqual(p.stdout.strip(), "True")
        self.assertFalse(os.path.exists(self.path("out")))
        self.assertEqual(listing(self.path("ro")), [])
        self.assertEqual(read(self.path("theirs")), b"public")


@on_filesystems("btrfs", "ext4")
class CopyFileOptionsTest(FsTestCase):
    def test_overwrite_false_skips(self):
        write_text(self.path("a"), "new")
        write_text(self.path("b"), "old")
        r = cowcopy.copy_file(self.path("a"), self.path("b"), overwrite=False)
        self.assertEqual(r.method, "skipped")
        self.assertEqual(read(self.path("b")), b"old")
        r = cowcopy.copy_file(self.path("a"), self.path("c"), overwrite=False, fsync=True)
        self.assertIn(r.method, ("cloned", "offloaded", "copied"))
        self.assertEqual(read(self.path("c")), b"new")

    def test_preserve_all(self):
        write_random(self.path("a"), 10000, 14)
        os.chown(self.path("a"), 1234, 5678)
        os.chmod(self.path("a"), 0o2750)
        os.setxattr(self.path("a"), "user.k", b"v")
        os.utime(self.path("a"), ns=(5 * 10**17 + 1, 6 * 10**17 + 2))
        s = os.stat(self.path("a"))
        cowcopy.copy_file(self.path("a"), self.path("b"), preserve="all")
        d = os.stat(self.path("b"))
        self.assertEqual((d.st_uid, d.st_gid, d.st_mode, d.st_atime_ns, d.st_mtime_ns),
                         (s.st_uid, s.st_gid, s.st_mode, s.st_atime_ns, s.st_mtime_ns))
        self.assertEqual(os.getxattr(self.path("b"), "user.k"), b"v")
        cowcopy.copy_file(self.path("a"), self.path("c"), preserve=["mode", "timestamps"],
                          preserve_required=["mode"])
        c = os.stat(self.path("c"))
        self.assertEqual((c.st_uid, c.st_mode, c.st_mtime_ns), (0, s.st_mode, s.st_mtime_ns))
        self.assertEqual(xattr_names(self.path("c")), [])


if __name__ == "__main__":
    support.main()
