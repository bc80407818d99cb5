"""test_copytree.py - cowcopy.copytree on real filesystems.

copytree gives shutil.copytree's result with cowcopy.copy2 as its copy
function, so files in a copied tree are clones where the filesystem can
clone (proven by extents) and carry copy2's metadata; ignore, symlinks,
dirs_exist_ok, custom copy functions and the collected shutil.Error behave
as in shutil. FastPathTest checks which trees go to the library's tree copier
(seen through support.LibrarySpy), its threads, and that Ctrl-C stops it;
test_tree_parity.py compares whole trees with shutil's.
"""
import errno
import os
import shutil
import signal
import stat
import sys
import threading
import time

import support
from support import (FsTestCase, LibrarySpy, is_clone_of, listing, on_filesystems, read,
                     run_python, shares_any_block, write_random, write_text)

sys.path.insert(0, os.path.join(support.TOP, "tests", "cli"))
import treecompare  # noqa: E402  (the CLI suites' tree walker)

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


# The regular files of make_tree's tree, symlinks followed as copytree
# follows them by default.
FOLLOWED_FILES = ["abs-link", "big", "dir-link/deeper/small", "dir-link/medium", "rel-link",
                  "sparse", "sub/deeper/small", "sub/medium", "tiny"]


@on_filesystems("btrfs", "xfs", "ext4")
class FastPathTest(FsTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        make_tree(self.src)

    def test_the_tree_copier_copies_the_whole_tree(self):
        dst = self.path("dst")
        with LibrarySpy() as spy:
            self.assertEqual(cowcopy.copytree(self.src, dst), dst)
        # One call of the library for the whole tree, none per file.
        self.assertEqual(len(spy.tree_calls), 1)
        self.assertEqual(spy.file_calls, 0)
        src_arg, dst_arg, tree_flags, threads, failures, stats = spy.tree_calls[0]
        self.assertEqual((src_arg, dst_arg, threads, failures), (self.src, dst, 0, []))
        self.assertTrue(tree_flags & cowcopy._cowcopy.TREE_DEREFERENCE)
        self.assertEqual(stats["files"], len(FOLLOWED_FILES))
        self.assertEqual(stats["errors"], 0)
        for rel in FOLLOWED_FILES:
            self.assertEqual(read(os.path.join(dst, rel)), read(os.path.join(self.src, rel)))
        if self.fs in support.COW_FILESYSTEMS:
            # Every file cloned, by the library's count and by FIEMAP.
            self.assertEqual(stats["cloned"], len(FOLLOWED_FILES))
            for rel in FOLLOWED_FILES:
                if os.path.getsize(os.path.join(self.src, rel)) >= 65536:
                    self.assertTrue(is_clone_of(os.path.join(dst, rel),
                                                os.path.join(self.src, rel)), rel)
        else:
            self.assertEqual(stats["cloned"], 0)
            self.assertEqual(stats["offloaded"] + stats["copied"], len(FOLLOWED_FILES))

    def test_which_calls_take_the_fast_path(self):
        def custom(src, dst):
            return cowcopy.copy2(src, dst)

        # (arguments, the tree copier used, cowcopy's copy_file used per file)
        cases = [
            ({}, True, False),
            ({"symlinks": True}, True, False),
            ({"copy_function": cowcopy.copy2}, True, False),
            ({"copy_function": shutil.copy2}, True, False),
            ({"ignore_dangling_symlinks": True, "symlinks": True}, True, False),
            ({"ignore": lambda path, names: []}, False, True),
            ({"copy_function": custom}, False, True),
            ({"copy_function": cowcopy.copy}, False, True),
            ({"copy_function": shutil.copy}, False, False),
            # shutil looks for a link's target from the working directory.
            ({"ignore_dangling_symlinks": True}, False, True),
        ]
        for i, (kwargs, tree, per_file) in enumerate(cases):
            with self.subTest(kwargs=kwargs), LibrarySpy() as spy:
                dst = self.path(f"dst{i}")
                cowcopy.copytree(self.src, dst, **kwargs)
                self.assertEqual(len(spy.tree_calls), 1 if tree else 0)
                self.assertEqual(spy.file_calls > 0, per_file)
                self.assertEqual(read(os.path.join(dst, "sub", "medium")),
                                 read(os.path.join(self.src, "sub", "medium")))
        # str and bytes mixed: shutil's os.path.join raises TypeError.
        with LibrarySpy() as spy, self.assertRaises(TypeError):
            cowcopy.copytree(self.src, os.fsencode(self.path("mixed")))
        self.assertEqual(spy.tree_calls, [])

    def test_threads(self):
        default = min(2, os.cpu_count())  # the library's choice on every filesystem
        reference = None
        for threads in (None, 1, 2, 4):
            dst = self.path(f"dst-{threads}")
            with LibrarySpy() as spy:
                cowcopy.copytree(self.src, dst, threads=threads)
            stats = spy.tree_calls[0][5]
            self.assertEqual(stats["threads"], threads or default)
            self.assertEqual(stats["files"], len(FOLLOWED_FILES))
            snap = treecompare.snapshot(dst)
            if reference is None:
                reference = snap
            else:
                self.assertEqual(treecompare.compare(reference, snap), [], threads)

    def test_merging_uses_the_fast_path_for_new_directories(self):
        # dst and dst/sub hold something: their entries are copied one by
        # one, as shutil does, while empty/, dir-link/ (a link followed) and
        # sub/deeper/, which do not exist, are filled by the tree copier.
        os.makedirs(self.path("dst", "sub"))
        write_text(self.path("dst", "sub", "mine"), "mine")
        with LibrarySpy() as spy:
            cowcopy.copytree(self.src, self.path("dst"), dirs_exist_ok=True)
        filled = sorted(os.path.relpath(dst, self.path("dst")) for _, dst, *_ in spy.tree_calls)
        self.assertEqual(filled, ["dir-link", "empty", "sub/deeper"])
        self.assertEqual(spy.file_calls, 6)  # abs-link big rel-link sparse tiny, sub/medium
        self.assertEqual(read(self.path("dst", "sub", "mine")), b"mine")
        self.assertEqual(read(self.path("dst", "sub", "deeper", "small")),
                         read(os.path.join(self.src, "sub", "deeper", "small")))
        # An existing empty destination is filled by the tree copier too.
        os.mkdir(self.path("empty-dst"))
        with LibrarySpy() as spy:
            cowcopy.copytree(self.src, self.path("empty-dst"), dirs_exist_ok=True)
        self.assertEqual([dst for _, dst, *_ in spy.tree_calls], [self.path("empty-dst")])

    def test_destination_inside_the_source(self):
        # The library refuses before doing anything; the Python walk copies
        # what src held before dst was made, as shutil does (CPython issue
        # 38688), with the tree copier for each subdirectory.
        dst = os.path.join(self.src, "new", "copy")
        with LibrarySpy() as spy:
            cowcopy.copytree(self.src, dst)
        refused = spy.tree_calls[0]
        self.assertEqual(refused[:2], (self.src, dst))
        self.assertEqual([f[1] for f in refused[4]], [cowcopy._cowcopy.OP_INTO_SELF])
        self.assertEqual(sorted(os.path.relpath(d, dst) for _, d, *_ in spy.tree_calls[1:]),
                         ["dir-link", "empty", "sub"])
        self.assertEqual(spy.file_calls, 5)
        self.assertEqual(listing(dst), ["abs-link", "big", "dir-link", "empty", "rel-link",
                                        "sparse", "sub", "tiny"])
        self.assertEqual(listing(os.path.join(dst, "sub")), ["deeper", "medium"])

    def test_ctrl_c_stops_a_long_copy(self):
        # 3,000 files in 30 directories. Once 100 have arrived, another thread
        # sends SIGUSR1, whose handler raises: the copy (in its own thread,
        # the main thread waiting) stops soon, with that exception.
        big = self.path("many")
        for d in range(30):
            os.makedirs(os.path.join(big, str(d)))
            for f in range(100):
                write_random(os.path.join(big, str(d), str(f)), 3000, d * 100 + f)

        class Stop(Exception):
            pass

        def handler(signum, frame):
            raise Stop

        def count(root):
            return sum(len(files) for _, _, files in os.walk(root))

        def interrupt_after(root, files, sent):
            deadline = time.monotonic() + 60
            while count(root) < files and time.monotonic() < deadline:
                time.sleep(0.001)
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGUSR1)

        old = signal.signal(signal.SIGUSR1, handler)
        self.addCleanup(signal.signal, signal.SIGUSR1, old)
        for threads in (1, 2):
            dst = self.path(f"stopped-{threads}")
            with self.subTest(threads=threads), LibrarySpy() as spy:
                sent = []
                helper = threading.Thread(target=interrupt_after, args=(dst, 100, sent))
                helper.start()
                with self.assertRaises(Stop):
                    cowcopy.copytree(big, dst, threads=threads)
                stopped = time.monotonic()
                helper.join()
                # Raised by the library call, soon after the signal, with
                # part of the tree copied and every file copied whole.
                self.assertEqual(spy.tree_calls, [])
                self.assertLess(stopped - sent[0], 2)
                copied = count(dst)
                self.assertGreaterEqual(copied, 100)
                self.assertLess(copied, 3000)
                for dirpath, _, names in os.walk(dst):
                    for name in names:
                        rel = os.path.relpath(os.path.join(dirpath, name), dst)
                        self.assertEqual(read(os.path.join(dst, rel)), read(os.path.join(big, rel)))
        # Without the signal the same copy runs to the end.
        cowcopy.copytree(big, self.path("whole"))
        self.assertEqual(count(self.path("whole")), 3000)

if __name__ == "__main__":
    support.main()
