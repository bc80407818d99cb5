"""test_cp.py - `cowcopy cp` for single files, run as a user would run it.

Clones are proven by extents (FIEMAP), messages are checked word for word
where the wording is part of the interface, and failures (injected through
COWCOPY_FAULTS, which only test builds honour, or real: a full tmpfs, an
unprivileged user) must leave no partial file behind.
"""
import os
import signal
import stat
import subprocess
import time

import support
from support import (FsTestCase, is_clone_of, on_filesystems, read, run, shares_any_block,
                     write_random, listing)


@on_filesystems(*support.COW_FILESYSTEMS)
class CloneTest(FsTestCase):
    def test_clone_by_default(self):
        write_random(self.path("a"), 4 << 20, 1)
        r = run(["cp", self.path("a"), self.path("b")])
        self.assertRuns(r)
        self.assertEqual(r.stdout, b"")
        self.assertTrue(is_clone_of(self.path("b"), self.path("a")))
        self.assertEqual(read(self.path("a")), read(self.path("b")))

    def test_verbose_names_the_method(self):
        write_random(self.path("a"), 1 << 20, 2)
        r = run(["cp", "-v", self.path("a"), self.path("b")])
        self.assertRuns(r)
        self.assertEqual(r.stdout.decode(), f"'{self.path('a')}' -> '{self.path('b')}' (cloned)\n")
        r = run(["cp", "-v", "--reflink=never", self.path("a"), self.path("c")])
        self.assertTrue(r.stdout.decode().endswith("(copied)\n"), r.stdout)
        self.assertFalse(shares_any_block(self.path("a"), self.path("c")))

    def test_reflink_always(self):
        write_random(self.path("a"), 1 << 20, 3)
        self.assertRuns(run(["cp", "--reflink=always", self.path("a"), self.path("b")]))
        self.assertTrue(is_clone_of(self.path("b"), self.path("a")))
        self.assertRuns(run(["cp", "--reflink", self.path("a"), self.path("c")]))
        self.assertTrue(is_clone_of(self.path("c"), self.path("a")))

    def test_into_directory_and_target_options(self):
        for n in "xyz":
            write_random(self.path(n), 70000, ord(n))
        os.mkdir(self.path("d"))
        self.assertRuns(run(["cp", self.path("x"), self.path("y"), self.path("d")]))
        self.assertEqual(listing(self.path("d")), ["x", "y"])
        self.assertTrue(is_clone_of(self.path("d", "x"), self.path("x")))
        self.assertRuns(run(["cp", "-t", self.path("d"), self.path("z")]))
        self.assertEqual(listing(self.path("d")), ["x", "y", "z"])
        self.assertRuns(run(["cp", self.path("z"), self.path("d") + "/"]))
        # -T: the existing directory is a destination file, and cannot be overwritten.
        r = run(["cp", "-T", self.path("x"), self.path("d")])
        self.assertRuns(r, 1)
        self.assertIn(b"cannot overwrite directory", r.stderr)


@on_filesystems(*support.NOCOW_FILESYSTEMS)
class FallbackTest(FsTestCase):
    def test_auto_copies(self):
        write_random(self.path("a"), 2 << 20, 4)
        r = run(["cp", "-v", self.path("a"), self.path("b")])
        self.assertRuns(r)
        self.assertRegex(r.stdout.decode(), r"\((copied|offloaded); %s: " % support.CLONE_CALL)
        self.assertEqual(read(self.path("a")), read(self.path("b")))

    def test_always_fails_with_a_clear_message_and_leaves_nothing(self):
        write_random(self.path("a"), 1 << 20, 5)
        r = run(["cp", "--reflink=always", self.path("a"), self.path("b")])
        self.assertRuns(r, 1)
        self.assertEqual(
            r.stderr.decode(),
            f"cowcopy: cannot clone '{self.path('a')}' to '{self.path('b')}': "
            f"Operation not supported ({self.fs} cannot share data; use --reflink=auto to copy)\n")
        self.assertEqual(listing(self.dir), ["a"])

    def test_sparse_file_stays_sparse(self):
        with open(self.path("a"), "wb") as f:
            f.seek(300 << 20)
            f.write(b"x" * (1 << 20))
            f.truncate(1 << 30)
        for mode in ("auto", "never"):
            self.assertRuns(run(["cp", f"--reflink={mode}", self.path("a"), self.path(mode)]))
            st = os.stat(self.path(mode))
            self.assertEqual(st.st_size, 1 << 30)
            self.assertLess(st.st_blocks * 512, 8 << 20)


class CrossFilesystemTest(FsTestCase):
    fs = "btrfs"

    def test_btrfs_to_xfs(self):
        other = self.dir_on("xfs")
        write_random(self.path("a"), 1 << 20, 6)
        r = run(["cp", "-v", self.path("a"), other])
        self.assertRuns(r)
        self.assertIn(b"Invalid cross-device link", r.stdout)
        self.assertEqual(read(self.path("a")), read(os.path.join(other, "a")))
        r = run(["cp", "--reflink=always", self.path("a"), os.path.join(other, "b")])
        self.assertRuns(r, 1)
        self.assertIn(b"different filesystems; use --reflink=auto to copy", r.stderr)
        self.assertEqual(listing(other), ["a"])


@on_filesystems("ext4")
class OperandTest(FsTestCase):
    def test_bad_operands_are_skipped_and_the_rest_done(self):
        write_random(self.path("good"), 1000, 7)
        os.mkdir(self.path("adir"))
        os.mkdir(self.path("out"))
        r = run(["cp", self.path("missing"), self.path("adir"), self.path("good"), self.path("out")])
        self.assertRuns(r, 1)
        self.assertEqual(listing(self.path("out")), ["good"])
        err = r.stderr.decode()
        self.assertIn(f"cowcopy: cannot stat '{self.path('missing')}': No such file or directory\n", err)
        self.assertIn(f"cowcopy: -r not specified; omitting directory '{self.path('adir')}'\n", err)

    def test_same_file(self):
        write_random(self.path("a"), 10, 8)
        r = run(["cp", self.path("a"), self.path("a")])
        self.assertRuns(r, 1)
        self.assertEqual(r.stderr.decode(),
                         f"cowcopy: '{self.path('a')}' and '{self.path('a')}' are the same file\n")

    def test_missing_target_directory_stops_before_anything(self):
        write_random(self.path("a"), 10, 9)
        write_random(self.path("b"), 10, 10)
        r = run(["cp", self.path("a"), self.path("b"), self.path("nodir")])
        self.assertRuns(r, 1)
        self.assertIn(b"is not a directory", r.stderr)
        self.assertEqual(listing(self.dir), ["a", "b"])

    def test_usage_errors_exit_2(self):
        self.assertRuns(run(["cp"]), 2)
        r = run(["cp", self.path("a")])
        self.assertRuns(r, 2)
        self.assertIn(b"missing destination file operand after", r.stderr)
        self.assertRuns(run(["cp", "--bogus", "a", "b"]), 2)
        self.assertRuns(run(["cp", "--reflink=sometimes", "a", "b"]), 2)
        self.assertRuns(run(["cp", "--preserve=colour", "a", "b"]), 2)
        self.assertRuns(run(["cp", "-T", "a", "b", "c"]), 2)
        self.assertRuns(run(["nosuchcommand"]), 2)
        self.assertRuns(run([]), 2)

    def test_help_and_version(self):
        r = run(["cp", "--help"])
        self.assertRuns(r)
        self.assertIn(b"--reflink", r.stdout)
        self.assertEqual(r.stderr, b"")
        r = run(["--version"])
        self.assertRuns(r)
        self.assertRegex(r.stdout.decode(), r"^cowcopy \d+\.\d+\.\d+\n$")
        self.assertRuns(run(["--help"]))

    def test_odd_names_are_quoted_visibly(self):
        name = self.path("new\nline")
        r = run(["cp", name, self.path("x")])
        self.assertRuns(r, 1)
        self.assertIn(f"'{self.dir}/new'$'\\n''line'".encode(), r.stderr)
        r = run(["cp", b"bad\xffbyte'quote", "y"], cwd=self.dir)
        self.assertIn(b"'bad'$'\\377''byte'\\''quote'", r.stderr)

    def test_no_clobber_and_preserve(self):
        write_random(self.path("a"), 100, 11)
        with open(self.path("b"), "wb") as f:
            f.write(b"old")
        self.assertRuns(run(["cp", "-n", self.path("a"), self.path("b")]))
        self.assertEqual(read(self.path("b")), b"old")
        os.chmod(self.path("a"), 0o751)
        os.utime(self.path("a"), ns=(1_000_000_001_123_456_789, 1_200_000_000_987_654_321))
        self.assertRuns(run(["cp", "-p", self.path("a"), self.path("c")]))
        st = os.stat(self.path("c"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o751)
        self.assertEqual(st.st_mtime_ns, 1_200_000_000_987_654_321)
        self.assertEqual(st.st_atime_ns, 1_000_000_001_123_456_789)

    def test_pseudo_files_copied_by_content(self):
        self.assertRuns(run(["cp", "/proc/version", self.path("v")]))
        self.assertEqual(read(self.path("v")), read("/proc/version"))
        sys_file = "/sys/kernel/mm/transparent_hugepage/enabled"
        if not os.path.exists(sys_file):
            sys_file = "/sys/devices/system/cpu/online"
        self.assertRuns(run(["cp", sys_file, self.path("s")]))
        self.assertEqual(read(self.path("s")), read(sys_file))
        self.assertRuns(run(["cp", self.path("v"), "/dev/null"]))

    def test_stdout_write_error_is_reported(self):
        write_random(self.path("a"), 100, 12)
        with open("/dev/full", "wb") as full:
            r = run(["cp", "-v", self.path("a"), self.path("b")], stdout=full)
        self.assertRuns(r, 1)
        self.assertIn(b"write error", r.stderr)


@on_filesystems("ext4")
class PermissionTest(FsTestCase):
    def test_unreadable_source(self):
        write_random(self.path("secret"), 100, 13)
        os.chmod(self.path("secret"), 0o600)
        r = run(["cp", self.path("secret"), self.path("copy")], user="nobody")
        self.assertRuns(r, 1)
        self.assertEqual(r.stderr.decode(), f"cowcopy: cannot open '{self.path('secret')}' "
                                            "for reading: Permission denied\n")
        self.assertFalse(os.path.exists(self.path("copy")))

    def test_unwritable_directory(self):
        write_random(self.path("a"), 100, 14)
        os.mkdir(self.path("ro"), 0o755)
        r = run(["cp", self.path("a"), self.path("ro")], user="nobody")
        self.assertRuns(r, 1)
        self.assertEqual(r.stderr.decode(), f"cowcopy: cannot create regular file "
                                            f"'{self.path('ro', 'a')}': Permission denied\n")
        self.assertEqual(listing(self.path("ro")), [])


@on_filesystems("ext4")
class FailureTest(FsTestCase):
    def test_injected_enospc_leaves_no_partial_file(self):
        write_random(self.path("a"), 8 << 20, 15)
        with open(self.path("old"), "wb") as f:
            f.write(b"old")
        env = {"COWCOPY_FAULTS": "pwrite@3=ENOSPC"}
        r = run(["cp", "--reflink=never", self.path("a"), self.path("b")], env=env)
        self.assertRuns(r, 1)
        self.assertEqual(r.stderr.decode(),
                         f"cowcopy: error writing '{self.path('b')}': No space left on device\n")
        r = run(["cp", "--reflink=never", self.path("a"), self.path("old")], env=env)
        self.assertRuns(r, 1)
        self.assertEqual(read(self.path("old")), b"old")
        self.assertEqual(listing(self.dir), ["a", "old"])

    def test_release_build_ignores_fault_variable(self):
        release = os.path.join(support.TOP, "build", "cowcopy")
        if not os.path.exists(release):
            self.skipTest("no release build in build/")
        write_random(self.path("a"), 1 << 20, 16)
        r = subprocess.run([release, "cp", "--reflink=never", self.path("a"), self.path("b")],
                           env=dict(os.environ, COWCOPY_FAULTS="pwrite=ENOSPC"),
                           stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read(self.path("a")), read(self.path("b")))

    def test_real_enospc_on_a_full_filesystem(self):
        small = self.path("small")
        os.mkdir(small)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small], check=True)
        try:
            write_random(self.path("big"), 8 << 20, 17)
            r = run(["cp", self.path("big"), small])
            self.assertRuns(r, 1)
            self.assertIn(b"No space left on device", r.stderr)
            self.assertEqual(listing(small), [])
        finally:
            subprocess.run(["umount", small], check=True)

    def test_interrupted_copy_leaves_nothing(self):
        # A FIFO source keeps the copy waiting while we interrupt it, once
        # with the unnamed O_TMPFILE file (SIGKILL), once with the hidden-name
        # fallback (openat@3 refused; SIGTERM must remove the name).
        cases = ((signal.SIGKILL, ""), (signal.SIGTERM, "openat@3=EOPNOTSUPP"))
        if support.DARWIN:  # no O_TMPFILE there: hidden names only, removed on SIGTERM
            cases = ((signal.SIGTERM, ""),)
        for sig, faults in cases:
            fifo = self.path("fifo")
            os.mkfifo(fifo)
            proc = subprocess.Popen([support.COWCOPY, "cp", fifo, self.path("dst")],
                                    env=dict(os.environ, COWCOPY_FAULTS=faults))
            with open(fifo, "wb") as w:
                w.write(b"partial data " * 1000)
                w.flush()
                time.sleep(0.5)
                entries = listing(self.dir)
                if faults or support.DARWIN:  # the hidden name exists while copying
                    self.assertTrue(any(e.startswith(".dst.cowcopy-") for e in entries), entries)
                proc.send_signal(sig)
                proc.wait(timeout=10)
            self.assertEqual(proc.returncode, -sig)
            self.assertEqual(listing(self.dir), ["fifo"])
            os.unlink(fifo)


if __name__ == "__main__":
    support.main()
