"""test_portable.py - the package's main jobs with nothing but the standard
library and the host's own extent map: the Python suite a macOS host runs
(on APFS and HFS+ images) besides running everywhere else.

Clones are proven with extents read by suitelib (FIEMAP on Linux,
F_LOG2PHYS_EXT on macOS), never with cowcopy.shared_bytes, whose answer is
checked against them.
"""
import errno
import os
import shutil
import stat

import support
from support import (COW_FILESYSTEMS, NOCOW_FILESYSTEMS, FsTestCase, is_clone_of, listing,
                     on_filesystems, read, shares_any_block, write_random)

from suitelib import CLONE_CALL  # noqa: E402 (support put it on the path)

import cowcopy

MiB = 1 << 20


@on_filesystems(*COW_FILESYSTEMS)
class Clones(FsTestCase):
    def test_copyfile_copy2_and_clone_share_blocks(self):
        a = self.path("a")
        write_random(a, 3 * MiB + 5, 1)
        os.chmod(a, 0o640)
        os.utime(a, ns=(1_500_000_000_123_456_789,) * 2)
        for fn in (cowcopy.copyfile, cowcopy.copy, cowcopy.copy2, cowcopy.clone):
            b = self.path("b")
            fn(a, b)
            self.assertEqual(read(b), read(a), fn.__name__)
            self.assertTrue(is_clone_of(b, a), fn.__name__)
            self.assertEqual(cowcopy.shared_bytes(a, b), 3 * MiB + 5)
            if fn is cowcopy.copy2:
                self.assertEqual(os.stat(b).st_mtime_ns, os.stat(a).st_mtime_ns)
                self.assertEqual(stat.S_IMODE(os.stat(b).st_mode), 0o640)
            os.unlink(b)

    def test_copytree_clones_every_file(self):
        src = self.path("src")
        os.makedirs(os.path.join(src, "sub"))
        write_random(os.path.join(src, "f"), MiB, 2)
        write_random(os.path.join(src, "sub", "g"), 200000, 3)
        os.symlink("f", os.path.join(src, "link"))
        cowcopy.copytree(src, self.path("dst"), symlinks=True)
        self.assertEqual(listing(self.path("dst")), ["f", "link", "sub"])
        self.assertEqual(os.readlink(self.path("dst", "link")), "f")
        for rel in ("f", os.path.join("sub", "g")):
            self.assertTrue(is_clone_of(self.path("dst", rel), os.path.join(src, rel)), rel)

    def test_dedupe_makes_duplicates_share(self):
        for n in ("a", "b"):
            write_random(self.path(n), 2 * MiB, 4)
        self.assertFalse(shares_any_block(self.path("a"), self.path("b")))
        report = cowcopy.dedupe(self.dir)
        self.assertEqual(report.files_deduplicated, 1)
        self.assertTrue(is_clone_of(self.path("b"), self.path("a")) or
                        is_clone_of(self.path("a"), self.path("b")))
        self.assertEqual(read(self.path("a")), read(self.path("b")))


@on_filesystems(*NOCOW_FILESYSTEMS)
class NoClones(FsTestCase):
    def test_clone_raises_and_copy_falls_back(self):
        a, b = self.path("a"), self.path("b")
        write_random(a, 2 * MiB, 5)
        with self.assertRaises(OSError) as caught:
            cowcopy.clone(a, b)
        self.assertEqual((caught.exception.errno, caught.exception.filename,
                          caught.exception.filename2), (errno.ENOTSUP, a, b))
        self.assertEqual(listing(self.dir), ["a"])
        result = cowcopy.copy_file(a, b)
        self.assertIn(result.method, ("offloaded", "copied"))
        self.assertEqual((result.fallback_call, result.fallback_errno),
                         (CLONE_CALL, errno.ENOTSUP))
        self.assertEqual(read(b), read(a))
        self.assertEqual(cowcopy.shared_bytes(a, b), 0)
        shutil_copy = self.path("c")
        shutil.copyfile(a, shutil_copy)  # the drop-in and shutil agree on content
        self.assertEqual(read(b), read(shutil_copy))


if __name__ == "__main__":
    support.main()
