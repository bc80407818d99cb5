"""test_faults.py - failures a real filesystem will not produce on demand.

The library reads COWCOPY_FAULTS once per process (grammar at the top of
src/fault.c), and only when built with COWCOPY_TESTING, as the test venv's
extension is. Each case runs in a fresh interpreter with its own spec, and
checks the exception Python sees (class, errno, filename, filename2) and
that no partial file or temporary is left behind. The release build
(build/python-release, made by `make python`) must ignore the variable.

Faults name calls of the platform's call table (src/sys.h); a testing build
aborts on a name its table lacks. On the Darwin backend the clone is
fclonefileat, a new destination is committed with renameatx_np
(RENAME_EXCL), and there is no copy_file_range: a copy writes with pwrite.
"""
import errno
import os

import support
from support import (FsTestCase, listing, on_filesystems, read, run_python, write_random,
                     xattr_names)

import cowcopy

# The clone call, and the call that puts a new destination in place.
CLONE = "fclonefileat" if support.DARWIN else "ficlone"
COMMIT = "renameatx_np" if support.DARWIN else "linkat"
# On a filesystem that clones, the Darwin clone carries the source's xattrs
# itself, so faults in fsetxattr cannot bite there: those cases run on ext4
# only under Darwin.
XATTR_FAULT_FILESYSTEMS = ("ext4",) if support.DARWIN else ("btrfs", "ext4")

# A child prints the outcome of one call as "ok <method or dst>" or
# "error <class> <errno> <filename> <filename2>".
CALL = """
import json
def outcome(fn, *args, **kwargs):
    try:
        r = fn(*args, **kwargs)
    except OSError as e:
        return ["error", type(e).__name__, e.errno, e.filename, e.filename2]
    return ["ok", r.method if isinstance(r, cowcopy.CopyResult) else r]
print(json.dumps(outcome({call})))
"""


class FaultCase(FsTestCase):
    def outcome(self, call, faults, **kwargs):
        """Run `call` (an expression) in a child with COWCOPY_FAULTS=faults;
        return its outcome list."""
        import json
        p = run_python(CALL.format(call=call), env={"COWCOPY_FAULTS": faults}, **kwargs)
        self.assertSubprocessOK(p)
        return json.loads(p.stdout)


class TestingBuildTest(FsTestCase):
    fs = "btrfs"

    def test_the_test_venv_has_fault_injection(self):
        # Without it every case below would test nothing.
        self.assertTrue(cowcopy._cowcopy.TESTING)


@on_filesystems("ext4", "tmpfs")
class CopyFaultTest(FaultCase):
    def setUp(self):
        super().setUp()
        write_random(self.path("a"), 3 << 20, 21)
        self.a, self.b = self.path("a"), self.path("b")

    def assertLeftNothing(self):
        self.assertEqual(listing(self.dir), ["a"])

    def test_enospc_while_writing(self):
        # With reflink="auto" the copy after the refused clone fails: an
        # offload on Linux, writes on Darwin.
        auto = "pwrite@2=ENOSPC" if support.DARWIN else "copy_file_range@1=ENOSPC"
        for spec, reflink in (("pwrite@2=ENOSPC", "never"), (auto, "auto")):
            for fn in ("copyfile", "copy", "copy2", "copy_file"):
                out = self.outcome(f"cowcopy.{fn}, {self.a!r}, {self.b!r}, reflink={reflink!r}",
                                   spec)
                self.assertEqual(out, ["error", "OSError", errno.ENOSPC, self.a, self.b],
                                 (spec, fn))
                self.assertLeftNothing()

    def test_eio_while_reading(self):
        out = self.outcome(f"cowcopy.copyfile, {self.a!r}, {self.b!r}, reflink='never'",
                           "pread@1=EIO")
        self.assertEqual(out, ["error", "OSError", errno.EIO, self.a, self.b])
        self.assertLeftNothing()

    def test_short_transfers_and_eintr_still_copy_everything(self):
        specs = ["pwrite%2=short,pread%3=EINTR", "pread%2=short,pwrite%3=EINTR"]
        if not support.DARWIN:  # Darwin has no copy_file_range
            specs.append("copy_file_range%2=short")
        for spec in specs:
            out = self.outcome(f"cowcopy.copy_file, {self.a!r}, {self.b!r}", spec)
            self.assertEqual(out[0], "ok", spec)
            self.assertEqual(read(self.b), read(self.a), spec)
            os.unlink(self.b)

    def test_commit_failure_leaves_nothing(self):
        out = self.outcome(f"cowcopy.copy2, {self.a!r}, {self.b!r}", f"{COMMIT}=EIO,renameat=EIO")
        self.assertEqual(out, ["error", "OSError", errno.EIO, self.a, self.b])
        self.assertLeftNothing()

    def test_required_timestamps_failure_is_raised(self):
        out = self.outcome(f"cowcopy.copy2, {self.a!r}, {self.b!r}", "futimens=EPERM")
        self.assertEqual(out, ["error", "PermissionError", errno.EPERM, self.a, self.b])
        self.assertLeftNothing()

    def test_permission_denied_by_open(self):
        out = self.outcome(f"cowcopy.copyfile, {self.a!r}, {self.b!r}", "openat@1=EACCES")
        self.assertEqual(out, ["error", "PermissionError", errno.EACCES, self.a, self.b])
        self.assertLeftNothing()


class CloneFaultTest(FaultCase):
    fs = "btrfs"

    def setUp(self):
        super().setUp()
        write_random(self.path("a"), 2 << 20, 22)
        self.a, self.b = self.path("a"), self.path("b")

    def test_refused_clone_falls_back_in_auto_and_fails_in_always(self):
        p = run_python(f"""
            r = cowcopy.copy_file({self.a!r}, {self.b!r})
            print(r.method, r.fallback_call, r.fallback_errno)
        """, env={"COWCOPY_FAULTS": f"{CLONE}=EOPNOTSUPP"})
        self.assertSubprocessOK(p)
        method, call, err = p.stdout.split()
        self.assertIn(method, ("offloaded", "copied"))
        self.assertEqual((call, int(err)), (support.CLONE_CALL, errno.EOPNOTSUPP))
        self.assertEqual(read(self.b), read(self.a))
        os.unlink(self.b)
        for fn in ("clone", "copyfile"):
            extra = "" if fn == "clone" else ", reflink='always'"
            out = self.outcome(f"cowcopy.{fn}, {self.a!r}, {self.b!r}{extra}",
                               f"{CLONE}=EOPNOTSUPP")
            self.assertEqual(out, ["error", "OSError", errno.EOPNOTSUPP, self.a, self.b])
            self.assertEqual(listing(self.dir), ["a"])

    def test_clone_eio_is_not_a_reason_to_fall_back(self):
        # Coreutils' rule: EIO, ENOMEM, ENOSPC, EDQUOT from the clone are real.
        for err, name in ((errno.EIO, "EIO"), (errno.ENOSPC, "ENOSPC")):
            out = self.outcome(f"cowcopy.copyfile, {self.a!r}, {self.b!r}", f"{CLONE}={name}")
            self.assertEqual(out, ["error", "OSError", err, self.a, self.b])
            self.assertEqual(listing(self.dir), ["a"])


@on_filesystems(*XATTR_FAULT_FILESYSTEMS)
class Copy2MetadataFaultTest(FaultCase):
    """copy2 lets the library set the mode and xattrs best-effort, then gives
    shutil.copystat's verdict: lost attributes are set again, ignoring only
    the errors shutil ignores, and chmod's failure is raised."""

    def setUp(self):
        super().setUp()
        write_random(self.path("a"), 100000, 23)
        os.chmod(self.path("a"), 0o640)
        os.setxattr(self.path("a"), "user.colour", b"blue")
        self.a, self.b = self.path("a"), self.path("b")

    def test_xattrs_the_library_could_not_set_are_set_again(self):
        for spec in ("fsetxattr=ENOSPC", "fsetxattr=EOPNOTSUPP", "fchmod=EPERM"):
            p = run_python(f"""
                cowcopy.copy2({self.a!r}, {self.b!r})
                print(oct(os.stat({self.b!r}).st_mode), os.getxattr({self.b!r}, "user.colour"))
            """, env={"COWCOPY_FAULTS": spec})
            self.assertSubprocessOK(p)
            self.assertEqual(p.stdout.split(), ["0o100640", "b'blue'"], spec)
            os.unlink(self.b)

    def test_xattr_errors_shutil_raises_are_raised(self):
        # The library failed to set it (injected), and so does os.setxattr:
        # ENOSPC is raised as shutil raises it; EPERM and ENOTSUP are ignored.
        for err, expect in ((errno.ENOSPC, "OSError 28"), (errno.EPERM, "ok"),
                            (errno.ENOTSUP, "ok")):
            p = run_python(f"""
                def refuse(*args, **kwargs):
                    raise OSError({err}, os.strerror({err}))
                os.setxattr = refuse
                try:
                    cowcopy.copy2({self.a!r}, {self.b!r})
                except OSError as e:
                    print(type(e).__name__, e.errno)
                else:
                    print("ok")
            """, env={"COWCOPY_FAULTS": "fsetxattr=ENOSPC"})
            self.assertSubprocessOK(p)
            self.assertEqual(p.stdout.strip(), expect)
            if os.path.exists(self.b):
                os.unlink(self.b)


class TreeFaultCase(FaultCase):
    """copytree's tree copier under injected failures: each failed file is a
    shutil.Error entry, and nothing partial or temporary is left."""

    def setUp(self):
        super().setUp()
        for d in ("d0", "d1"):
            os.makedirs(self.path("src", d))
            for f in ("f0", "f1"):
                write_random(self.path("src", d, f), 300000, len(d + f))
        os.setxattr(self.path("src", "d1", "f1"), "user.colour", b"blue")

    def copytree_errors(self, faults, **kwargs):
        """copytree src to dst in a child with COWCOPY_FAULTS=faults:
        @return (sorted [relative src, relative dst, reason], tree copies)."""
        import json
        p = run_python(f"""
            import json, shutil
            sys.path.insert(0, {os.path.dirname(__file__)!r})
            from support import LibrarySpy
            with LibrarySpy() as spy:
                try:
                    cowcopy.copytree({self.path("src")!r}, {self.path("dst")!r}, **{kwargs!r})
                    errors = []
                except shutil.Error as e:
                    errors = e.args[0]
            print(json.dumps([sorted([os.path.relpath(s, {self.dir!r}),
                                      os.path.relpath(d, {self.dir!r}), why]
                                     for s, d, why in errors), len(spy.tree_calls)]))
        """, env={"COWCOPY_FAULTS": faults})
        self.assertSubprocessOK(p)
        return json.loads(p.stdout)

    def assertOnlyWholeFiles(self):
        for dirpath, _, names in os.walk(self.path("dst")):
            for name in names:
                self.assertFalse(name.startswith("."), name)  # no named temporary
                rel = os.path.relpath(os.path.join(dirpath, name), self.path("dst"))
                self.assertEqual(read(os.path.join(dirpath, name)), read(self.path("src", rel)))


@on_filesystems("btrfs", "ext4")
class TreeFaultTest(TreeFaultCase):
    def test_enospc_on_every_write(self):
        spec = "pwrite=ENOSPC" + ("" if support.DARWIN else ",copy_file_range=ENOSPC")
        errors, trees = self.copytree_errors(spec, reflink="never")
        self.assertEqual(trees, 1)
        self.assertEqual([e[:2] for e in errors],
                         [[f"src/{d}/{f}", f"dst/{d}/{f}"] for d in ("d0", "d1")
                          for f in ("f0", "f1")])
        for src, dst, why in errors:
            self.assertEqual(why, f"[Errno {errno.ENOSPC}] No space left on device: "
                                  f"{self.path(src)!r} -> {self.path(dst)!r}")
        self.assertEqual(listing(self.path("dst")), ["d0", "d1"])
        self.assertOnlyWholeFiles()

    def test_one_failure_among_many(self):
        # futimens is called once per file and directory.
        errors, trees = self.copytree_errors("futimens@2=EPERM", threads=1)
        self.assertEqual(trees, 1)
        self.assertEqual(len(errors), 1)
        self.assertTrue(errors[0][2].startswith(f"[Errno {errno.EPERM}] "), errors)
        self.assertOnlyWholeFiles()


@on_filesystems(*XATTR_FAULT_FILESYSTEMS)
class TreeXattrFaultTest(TreeFaultCase):
    def test_xattrs_by_copystat_rule(self):
        # A refusal (EPERM) is skipped as shutil.copystat skips it; ENOSPC is
        # an error, and the file is not left without its attribute.
        errors, _ = self.copytree_errors("fsetxattr=EPERM")
        self.assertEqual(errors, [])
        self.assertEqual(read(self.path("dst", "d1", "f1")), read(self.path("src", "d1", "f1")))
        self.assertEqual(xattr_names(self.path("dst", "d1", "f1")), [])
        import shutil
        shutil.rmtree(self.path("dst"))
        errors, _ = self.copytree_errors("fsetxattr=ENOSPC")
        self.assertEqual(errors, [["src/d1/f1", "dst/d1/f1",
                                   f"[Errno {errno.ENOSPC}] No space left on device: "
                                   f"{self.path('dst', 'd1', 'f1')!r}"]])
        self.assertFalse(os.path.exists(self.path("dst", "d1", "f1")))
        self.assertOnlyWholeFiles()


@support.linux_only("build/python-release is the host's (Linux) backend, not the one under test")
class ReleaseBuildTest(FsTestCase):
    fs = "btrfs"

    def test_release_build_ignores_cowcopy_faults(self):
        release = support.RELEASE_BUILD
        if not os.path.isdir(os.path.join(release, "cowcopy")):
            self.fail(f"no release build in {release} (`make python` makes it)")
        write_random(self.path("a"), 1 << 20, 24)
        code = f"""
            assert cowcopy.__file__.startswith({release!r}) != cowcopy._cowcopy.TESTING, cowcopy.__file__
            print(cowcopy._cowcopy.TESTING, cowcopy.copy_file({self.path('a')!r}, {self.path('b')!r}).method)
        """
        p = run_python(code, env={"COWCOPY_FAULTS": "ficlone=EIO"}, pythonpath=release)
        self.assertSubprocessOK(p)
        self.assertEqual(p.stdout.split(), ["False", "cloned"])
        # The same spec bites the test build: the check above means something.
        p = run_python(code, env={"COWCOPY_FAULTS": "ficlone=EIO"})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Input/output error", p.stderr)


if __name__ == "__main__":
    support.main()
