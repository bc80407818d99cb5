"""test_treecompare.py - the tree comparison walker must catch broken copies.

A walker that finds no difference proves nothing unless it is known to find
differences: each test here breaks one attribute of an exact copy (made by
cp -a) and expects the walker to name it.
"""
import os
import subprocess

import support
from support import FsTestCase, on_filesystems
from treecompare import compare, snapshot
from treegen import make_tree


@on_filesystems("ext4")
class WalkerCatchesBrokenCopies(FsTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        self.made = make_tree(self.src, seed=7, files=30, max_size=200000)
        self.base = snapshot(self.src)

    def copy(self):
        dst = self.path("copy%d" % len(os.listdir(self.dir)))
        subprocess.run(["cp", "-a", self.src, dst], check=True)
        self.assertEqual(compare(self.base, dst), [])
        return dst

    def rel(self, path):
        return os.path.relpath(path, os.fsencode(self.src))

    def assertCaught(self, dst, what, path=None):
        diffs = compare(self.base, dst)
        self.assertTrue(diffs, f"walker missed: {what}")
        if path is not None:
            shown = os.fsdecode(path)
            self.assertTrue(any(d.startswith(shown) for d in diffs), diffs)

    def test_exact_copy_passes(self):
        self.copy()

    def test_mtime_off_by_one_nanosecond(self):
        dst = self.copy()
        rel = self.rel(self.made[9])
        p = os.path.join(os.fsencode(dst), rel)
        st = os.stat(p)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
        self.assertCaught(dst, "mtime +1ns", rel)

    def test_lost_acl(self):
        dst = self.copy()
        rel = self.rel(self.made[4])
        subprocess.run([b"setfacl", b"-b", os.path.join(os.fsencode(dst), rel)], check=True)
        self.assertCaught(dst, "lost ACL", rel)

    def test_split_hard_link_group(self):
        dst = self.copy()
        p = os.path.join(os.fsencode(dst), b"dir6", b"hardlink-b")
        data = support.read(p)
        st = os.stat(p)
        os.unlink(p)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, st.st_mode & 0o7777)
        os.chown(p, st.st_uid, st.st_gid)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
        self.assertCaught(dst, "split hard-link group")

    def test_lost_file_capability(self):
        dst = self.copy()
        rel = self.rel(self.made[5])
        subprocess.run([b"setcap", b"-r", os.path.join(os.fsencode(dst), rel)], check=True)
        self.assertCaught(dst, "lost capability", rel)

    def test_sparse_file_made_dense(self):
        dst = self.copy()
        p = os.path.join(os.fsencode(dst), b"dir2", b"sparse")
        st = os.stat(p)
        subprocess.run([b"cp", b"--sparse=never", p, p + b".dense"], check=True)
        os.rename(p + b".dense", p)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
        self.assertCaught(dst, "sparse made dense", b"dir2/sparse")

    def test_other_breakages(self):
        dst = os.fsencode(self.copy())
        rel = self.rel(self.made[10])
        p = os.path.join(dst, rel)
        os.chmod(p, 0o600 if os.stat(p).st_mode & 0o7777 != 0o600 else 0o644)
        self.assertCaught(dst, "mode", rel)
        dst = os.fsencode(self.copy())
        os.chown(os.path.join(dst, rel), 99, 99)
        self.assertCaught(dst, "owner", rel)
        dst = os.fsencode(self.copy())
        link = os.path.join(dst, b"rel-link")
        os.unlink(link)
        os.symlink(b"file1", link)
        self.assertCaught(dst, "symlink target", b"rel-link")
        dst = os.fsencode(self.copy())
        os.unlink(os.path.join(dst, rel))
        self.assertCaught(dst, "missing file", rel)
        dst = os.fsencode(self.copy())
        os.setxattr(os.path.join(dst, self.rel(self.made[3])), b"user.colour", b"red")
        self.assertCaught(dst, "xattr value", self.rel(self.made[3]))
        dst = os.fsencode(self.copy())
        big = max(self.made, key=lambda m: os.stat(m).st_size)
        p = os.path.join(dst, self.rel(big))
        st = os.stat(p)
        with open(p, "r+b") as f:
            f.seek(st.st_size // 2)
            byte = f.read(1)
            f.seek(st.st_size // 2)
            f.write(bytes([byte[0] ^ 1]))
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
        self.assertCaught(dst, "one byte changed", self.rel(big))
        dst = os.fsencode(self.copy())
        with open(os.path.join(dst, b"extra"), "wb"):
            pass
        self.assertCaught(dst, "extra file", b"extra")


if __name__ == "__main__":
    support.main()
