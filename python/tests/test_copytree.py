"""test_copytree.py - cowcopy.copytree on real filesystems.

copytree follows shutil.copytree's algorithm with cowcopy.copy2 as its copy
function, so files in a copied tree are clones where the filesystem can
clone (proven by extents) and carry copy2's metadata; ignore, symlinks,
dirs_exist_ok, custom copy functions and the collected shutil.Error behave
as in shutil.
"""
import errno
import os
import stat

import support
from support import (FsTestCase, is_clone_of, listing, on_filesystems, read, run_python,
                     shares_any_block, write_random, write_text)

import cowcopy


def make_tree(root):
    """A small tree: files of several sizes, a sparse file, nested and empty
    directories, relative and absolute symlinks, a symlink to a directory."""
    os.makedirs(os.path.join(root, "sub", "deeper"))
    os.mkdir(os.path.join(root, "empty"))
    write_random(os.path.join(root, "big"), 2 << 20, 31)
    write_random(os.path.join(root, "sub", "medium"), 200000, 32)
    write_random(os.path.join(root, "sub", "deeper", "small"), 100000, 33)
    write_text(os.path.join(root, "tiny"), "tiny")
    with open(os.path.join(root, "sparse"), "wb") as f:
        f.write(b"s" * 65536)
        f.truncate(32 << 20)
    os.symlink("big", os.path.join(root, "rel-link"))
    os.symlink(os.path.join(root, "tiny"), os.path.join(root, "abs-link"))
    os.symlink("sub", os.path.join(root, "dir-link"))
    os.chmod(os.path.join(root, "sub", "medium"), 0o600)
    os.chmod(os.path.join(root, "sub"), 0o750)
    os.utime(os.path.join(root, "big"), ns=(10**18, 10**18 + 7))


def walk(root):
    """{relative path: kind} of everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            kind = "link" if os.path.islink(p) else "dir" if os.path.isdir(p) else "file"
            out[os.path.relpath(p, root)] = kind
    return out


@on_filesystems("btrfs", "xfs", "ext4")
class CopytreeTest(FsTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        make_tree(self.src)

    def test_copies_the_tree_with_clones_and_metadata(self):
        dst = self.path("dst")
        self.assertEqual(cowcopy.copytree(self.src, dst), dst)
        self.assertEqual(listing(dst), ["abs-link", "big", "dir-link", "empty", "rel-link",
                                        "sparse", "sub", "tiny"])
        # symlinks=False: links are followed, as shutil does.
        kinds = walk(dst)
        self.assertNotIn("link", kinds.values())
        for rel in ("big", "sub/medium", "sub/deeper/small", "tiny", "sparse", "rel-link",
                    "abs-link", "dir-link/medium"):
            s = os.path.join(self.src, rel)
            d = os.path.join(dst, rel)
            self.assertEqual(read(d), read(s), rel)
            self.assertEqual(os.stat(d).st_mode, os.stat(s).st_mode, rel)
            self.assertEqual(os.stat(d).st_mtime_ns, os.stat(s).st_mtime_ns, rel)
            if self.fs in support.COW_FILESYSTEMS and os.path.getsize(s) >= 65536:
                self.assertTrue(is_clone_of(d, s), rel)
        self.assertEqual(os.stat(os.path.join(dst, "sub")).st_mode,
                         os.stat(os.path.join(self.src, "sub")).st_mode)
        self.assertLess(os.stat(os.path.join(dst, "sparse")).st_blocks * 512, 4 << 20)

    def test_symlinks_true_copies_links_as_links(self):
        dst = cowcopy.copytree(self.src, self.path("dst"), symlinks=True)
        self.assertEqual(os.readlink(os.path.join(dst, "rel-link")), "big")
        self.assertEqual(os.readlink(os.path.join(dst, "abs-link")),
                         os.path.join(self.src, "tiny"))
        self.assertEqual(os.readlink(os.path.join(dst, "dir-link")), "sub")

    def test_reflink_never_and_always(self):
        dst = cowcopy.copytree(self.src, self.path("never"), reflink="never")
        self.assertFalse(shares_any_block(os.path.join(dst, "big"), os.path.join(self.src, "big")))
        if self.fs in support.COW_FILESYSTEMS:
            dst = cowcopy.copytree(self.src, self.path("always"), reflink="always")
            self.assertTrue(is_clone_of(os.path.join(dst, "big"), os.path.join(self.src, "big")))
            return
        with self.assertRaises(cowcopy.Error) as cm:
            cowcopy.copytree(self.src, self.path("always"), reflink="always")
        errors = cm.exception.args[0]
        # Every regular file (links followed) failed with the filesystem's errno.
        self.assertEqual(len(errors), 9)
        for src, dst, why in errors:
            self.assertTrue(why.startswith(f"[Errno {errno.EOPNOTSUPP}] "), why)
        self.assertEqual(walk(self.path("always")),
                         {"sub": "dir", "sub/deeper": "dir", "empty": "dir", "dir-link": "dir",
                          "dir-link/deeper": "dir"})

    def test_ignore_and_copy_function_are_called_as_shutil_calls_them(self):
        seen = []

        def ignore(path, names):
            seen.append((path, sorted(names)))
            return {"big", "deeper"}

        copied = []

        def copy_function(src, dst):
            self.assertIsInstance(src, str)
            copied.append(os.path.relpath(dst, self.path("dst")))
            return cowcopy.copy2(src, dst)

        cowcopy.copytree(self.src, self.path("dst"), ignore=ignore, copy_function=copy_function)
        self.assertEqual(seen[0], (self.src, ["abs-link", "big", "dir-link", "empty", "rel-link",
                                              "sparse", "sub", "tiny"]))
        self.assertNotIn("big", listing(self.path("dst")))
        self.assertNotIn("deeper", listing(self.path("dst", "sub")))
        self.assertEqual(sorted(copied), ["abs-link", "dir-link/medium", "rel-link", "sparse",
                                          "sub/medium", "tiny"])
        with self.assertRaises(ValueError):
            cowcopy.copytree(self.src, self.path("x"), copy_function=copy_function,
                             reflink="always")
        self.assertFalse(os.path.exists(self.path("x")))

    def test_dirs_exist_ok(self):
        os.mkdir(self.path("dst"))
        write_text(self.path("dst", "tiny"), "old")
        write_text(self.path("dst", "mine"), "mine")
        with self.assertRaises(FileExistsError):
            cowcopy.copytree(self.src, self.path("dst"))
        cowcopy.copytree(self.src, self.path("dst"), dirs_exist_ok=True)
        self.assertEqual(read(self.path("dst", "tiny")), b"tiny")
        self.assertEqual(read(self.path("dst", "mine")), b"mine")

    def test_dangling_symlinks(self):
        os.symlink("nowhere", os.path.join(self.src, "sub", "dangling"))
        with self.assertRaises(cowcopy.Error) as cm:
            cowcopy.copytree(self.src, self.path("a"))
        # Reached twice: through sub/ and through dir-link/.
        errors = sorted(cm.exception.args[0])
        self.assertEqual([(src, dst) for src, dst, _ in errors],
                         [(os.path.join(self.src, d, "dangling"), self.path("a", d, "dangling"))
                          for d in ("dir-link", "sub")])
        for _, _, why in errors:
            self.assertTrue(why.startswith("[Errno 2] No such file or directory"), why)
        cowcopy.copytree(self.src, self.path("b"), ignore_dangling_symlinks=True)
        self.assertNotIn("dangling", listing(self.path("b", "sub")))
        cowcopy.copytree(self.src, self.path("c"), symlinks=True)
        self.assertEqual(os.readlink(self.path("c", "sub", "dangling")), "nowhere")

    def test_bytes_paths(self):
        dst = cowcopy.copytree(os.fsencode(self.src), os.fsencode(self.path("dst")))
        self.assertEqual(dst, os.fsencode(self.path("dst")))
        self.assertEqual(read(self.path("dst", "sub", "medium")),
                         read(os.path.join(self.src, "sub", "medium")))

    def test_argument_checks(self):
        for threads in (0, -1, True, 1.5, "2"):
            with self.assertRaises(ValueError):
                cowcopy.copytree(self.src, self.path("x"), threads=threads)
        with self.assertRaises(ValueError):
            cowcopy.copytree(self.src, self.path("x"), reflink="maybe")
        self.assertFalse(os.path.exists(self.path("x")))
        cowcopy.copytree(self.src, self.path("y"), threads=2)
        self.assertEqual(walk(self.path("y")), walk(cowcopy.copytree(self.src, self.path("z"))))

    def test_unreadable_entries_are_collected_as_nobody(self):
        os.chmod(self.path("src", "sub"), 0o755)
        os.chmod(self.path("src", "sub", "medium"), 0o600)
        p = run_python(f"""
            try:
                cowcopy.copytree({self.src!r}, {self.path('dst')!r})
            except cowcopy.Error as e:
                for src, dst, why in e.args[0]:
                    print(os.path.relpath(src, {self.src!r}), why.split(']')[0])
        """, user="nobody")
        self.assertSubprocessOK(p)
        # medium is reached twice: through sub/ and through dir-link/.
        self.assertEqual(sorted(p.stdout.splitlines()), ["dir-link/medium [Errno 13",
                                                         "sub/medium [Errno 13"])
        self.assertTrue(stat.S_ISREG(os.stat(self.path("dst", "big")).st_mode))


if __name__ == "__main__":
    support.main()
