"""test_tree_parity.py - cowcopy.copytree against shutil.copytree, entry by entry.

Both copy the same generated tree (tests/cli/treegen.py: nested directories,
files of all sizes, a sparse file, relative, absolute and dangling symlinks,
hard links, a FIFO, a socket, a device, user xattrs, POSIX ACLs, a file
capability, setuid and sticky modes, foreign owners, a read-only directory,
odd names), called the same way, and tests/cli/treecompare.py compares the
two results attribute by attribute: type, mode, owner, mtime to the
nanosecond, xattrs, symlink target, device numbers, size, content and
hard-link groups. Only the data map is left out: shutil writes a sparse
file's holes out as data where cowcopy keeps them (copy2's documented
difference); and on the Darwin backend, which has no file capabilities,
the capability. The shutil.Error lists must name the same entries with the
same errno (cowcopy's messages name both paths where shutil's name one).

Each case also checks through support.LibrarySpy whether the tree copier
did the work, so that parity is shown for the fast path and not only for
the Python walk. Cases: links followed and kept, ignore_dangling_symlinks,
merging into an existing tree (dirs_exist_ok), an empty or existing
destination, a set-group-ID parent, the destination inside the source, a
symlink loop, and an unprivileged user.
"""
import json
import os
import re
import shutil
import stat
import sys

import support
from support import FsTestCase, LibrarySpy, on_filesystems, run_python, write_text

import cowcopy

sys.path.insert(0, os.path.join(support.TOP, "tests", "cli"))
import treecompare  # noqa: E402  (the CLI suites' tree walker and generator)
import treegen  # noqa: E402


def tree_diffs(a, b, check_owner=True):
    """treecompare's differences between trees a and b, data maps aside.
    The Darwin backend has no file capabilities (on the simulated layer the
    kernel clears security.capability on chown): not compared there, as in
    tests/cli/test_tree.py."""
    sa, sb = treecompare.snapshot(a), treecompare.snapshot(b)
    for snap in (sa, sb):
        for entry in snap.values():
            entry.data_map = None
    ignore = ("security.capability",) if support.DARWIN else ()
    return treecompare.compare(sa, sb, check_owner=check_owner, ignore_xattrs=ignore)


def error_keys(errors, src, dst):
    """shutil.Error's list as a set of (source path relative to src, destination
    path relative to dst, errno or "named pipe")."""
    keys = set()
    for s, d, why in errors:
        match = re.match(r"\[Errno (\d+)\]", why)
        kind = int(match.group(1)) if match else "named pipe" if "named pipe" in why else why
        keys.add((os.path.relpath(os.fspath(s), src), os.path.relpath(os.fspath(d), dst), kind))
    return keys


@on_filesystems("btrfs", "xfs", "ext4")
class ParityTest(FsTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        treegen.make_tree(self.src, seed=7, files=40, max_size=1 << 20)

    def both(self, src=None, prepare=None, tree_calls=None, **kwargs):
        """Copy src (default the generated tree) with shutil to shutil/dst
        and with cowcopy to cowcopy/dst, after prepare(dst) for each.
        @return (shutil's errors, cowcopy's errors, cowcopy's tree calls), the
        errors as error_keys; exceptions other than shutil.Error propagate."""
        src = src or self.src
        results = []
        calls = []
        for name, fn in (("shutil", shutil.copytree), ("cowcopy", cowcopy.copytree)):
            os.makedirs(self.path(name), exist_ok=True)
            dst = self.path(name, "dst")
            if prepare:
                prepare(dst)
            with LibrarySpy() as spy:
                try:
                    fn(src, dst, **kwargs)
                    errors = []
                except shutil.Error as e:
                    errors = e.args[0]
            calls = spy.tree_calls
            results.append(error_keys(errors, src, dst))
        if tree_calls is not None:
            self.assertEqual(len(calls), tree_calls)
        return results[0], results[1], calls

    def assertSameTrees(self, name="dst"):
        """shutil/name and cowcopy/name are equal but for their data maps."""
        self.assertEqual(tree_diffs(self.path("shutil", name), self.path("cowcopy", name)), [])

    def test_symlinks_followed(self):
        theirs, ours, _ = self.both(tree_calls=1)
        self.assertEqual(ours, theirs)
        # The FIFO and socket fail in both; the dangling link too.
        kinds = sorted(str(kind) for _, _, kind in theirs)
        self.assertIn("named pipe", kinds)
        self.assertIn("6", kinds)  # ENXIO, the socket
        self.assertIn("2", kinds)  # ENOENT, the dangling link
        self.assertSameTrees()

    def test_symlinks_kept(self):
        theirs, ours, _ = self.both(symlinks=True, tree_calls=1)
        self.assertEqual(ours, theirs)
        self.assertSameTrees()
        self.assertEqual(os.readlink(self.path("cowcopy", "dst", "dir4", "dangling")),
                         "no/such/target")

    def test_ignore_dangling_symlinks(self):
        # shutil looks for a link's target from the working directory: the
        # relative links are dropped unless their target is found there.
        os.chdir(os.path.join(self.src, "dir1"))
        self.addCleanup(os.chdir, support.TOP)
        theirs, ours, _ = self.both(ignore_dangling_symlinks=True, tree_calls=0)
        self.assertEqual(ours, theirs)
        self.assertSameTrees()
        theirs, ours, _ = self.both(ignore_dangling_symlinks=True, symlinks=True,
                                    prepare=shutil.rmtree, tree_calls=1)
        self.assertEqual(ours, theirs)
        self.assertSameTrees()

    def prepare_existing(self, dst):
        """An existing destination tree for dirs_exist_ok: directories to merge
        into, files to replace, a symlink to a directory elsewhere (which shutil
        writes through), a file where the source has a directory, an extra
        file; all with the same times in both copies."""
        outside = os.path.join(os.path.dirname(dst), "outside")
        os.makedirs(os.path.join(dst, "dir1"))
        os.makedirs(outside)
        write_text(os.path.join(dst, "dir1", "mine"), "mine")
        write_text(os.path.join(dst, "dir2"), "a file where a directory is copied")
        os.symlink("../outside", os.path.join(dst, "dir3"))
        os.makedirs(os.path.join(dst, "dir5"))
        write_text(os.path.join(dst, "dir5", "hardlink-a"), "replaced")
        os.symlink("file0", os.path.join(dst, "rel-link"))
        for rel in ("dir1/mine", "dir1", "dir2", "dir3", "dir5/hardlink-a", "dir5", "rel-link",
                    ".", "../outside"):
            os.utime(os.path.join(dst, rel), ns=(10**18, 10**18), follow_symlinks=False)

    def test_dirs_exist_ok_merging(self):
        for symlinks in (False, True):
            with self.subTest(symlinks=symlinks):
                for name in ("shutil", "cowcopy"):
                    shutil.rmtree(self.path(name), ignore_errors=True)
                theirs, ours, calls = self.both(prepare=self.prepare_existing,
                                                dirs_exist_ok=True, symlinks=symlinks)
                self.assertEqual(ours, theirs)
                # Directories new to the destination (or empty, as dir3's
                # target) are filled by the tree copier; dir1 and dir5 hold
                # something and are merged into entry by entry.
                filled = sorted(os.path.relpath(d, self.path("cowcopy", "dst"))
                                for _, d, *_ in calls)
                expected = []
                for name in sorted(os.listdir(self.src)):
                    path = os.path.join(self.src, name)
                    if name == "dir2" or os.path.islink(path) or not os.path.isdir(path):
                        continue  # dir2: a file in the destination (FileExistsError)
                    if name in ("dir1", "dir5"):
                        expected += [f"{name}/{sub}" for sub in sorted(os.listdir(path))
                                     if os.path.isdir(os.path.join(path, sub))]
                    else:
                        expected.append(name)
                self.assertEqual(filled, expected)
                self.assertIn("dir0", filled)
                self.assertSameTrees()
                self.assertSameTrees("outside")

    def test_existing_destination(self):
        # Empty: filled by the tree copier, its attributes set by copystat.
        def empty(dst):
            os.mkdir(dst, 0o700)
        theirs, ours, _ = self.both(prepare=empty, dirs_exist_ok=True, tree_calls=1)
        self.assertEqual(ours, theirs)
        self.assertSameTrees()
        # Without dirs_exist_ok: FileExistsError from both, nothing copied.
        for fn in (shutil.copytree, cowcopy.copytree):
            os.mkdir(self.path("taken"))
            with self.assertRaises(FileExistsError):
                fn(self.src, self.path("taken"))
            self.assertEqual(os.listdir(self.path("taken")), [])
            os.rmdir(self.path("taken"))

    def test_set_group_id_parent(self):
        # New directories inherit the set-group-ID bit; shutil's chmod clears it.
        os.mkdir(self.path("shared"))
        os.chown(self.path("shared"), 0, 4321)
        os.chmod(self.path("shared"), 0o2775)
        for name, fn in (("shutil", shutil.copytree), ("cowcopy", cowcopy.copytree)):
            with self.assertRaises(shutil.Error):
                fn(self.src, self.path("shared", name))
        self.assertEqual(tree_diffs(self.path("shared", "shutil"),
                                    self.path("shared", "cowcopy")), [])
        mode = os.stat(self.path("shared", "cowcopy", "dir0")).st_mode
        self.assertFalse(mode & stat.S_ISGID)
        self.assertEqual(os.stat(self.path("shared", "cowcopy", "dir0")).st_gid, 4321)

    def test_destination_inside_source(self):
        # shutil copies what src held before dst was made (CPython issue
        # 38688). Two identical sources, one for each.
        twins = {}
        for name, fn in (("shutil", shutil.copytree), ("cowcopy", cowcopy.copytree)):
            src = self.path(f"twin-{name}")
            treegen.make_tree(src, seed=8, files=10, extras=False)
            with LibrarySpy() as spy:
                fn(src, os.path.join(src, "new", "copy"))
            twins[name] = (src, spy.tree_calls)
        # The source root and the new directories get the time of the copy
        # itself (the root's changes when new/ is made in it): not compared.
        def clock(diff):
            match = re.fullmatch(r"(.*): mtime_ns \d+ != \d+", diff)
            return match is not None and match.group(1) in (".", "new", "new/copy")
        diffs = tree_diffs(twins["shutil"][0], twins["cowcopy"][0])
        self.assertEqual([d for d in diffs if not clock(d)], [])
        calls = twins["cowcopy"][1]
        self.assertEqual([f[1] for f in calls[0][4]], [cowcopy._cowcopy.OP_INTO_SELF])
        self.assertGreater(len(calls), 1)  # the subdirectories by the tree copier

    def test_symlink_loop(self):
        # A link to an ancestor: shutil copies it inside itself until the
        # kernel's limit of 40 symlinks in a path (ELOOP).
        src = self.path("looped")
        treegen.make_tree(src, seed=9, files=6, extras=False)
        os.symlink("..", os.path.join(src, "dir2", "up"))
        theirs, ours, calls = self.both(src=src)
        self.assertEqual(ours, theirs)
        self.assertEqual([kind for _, _, kind in theirs], [40])
        self.assertGreater(len(calls), 1)
        self.assertSameTrees()

    def test_as_an_unprivileged_user(self):
        # nobody cannot read some files (mode 0640, owner root), nor set the
        # file capability (EPERM: skipped by copystat's rule) nor keep owners.
        os.chmod(os.path.join(self.src, "dir0"), 0o700)  # unreadable for nobody
        p = run_python(f"""
            import json, shutil
            sys.path.insert(0, {os.path.dirname(__file__)!r})
            from support import LibrarySpy
            out = {{}}
            for name, fn in (("shutil", shutil.copytree), ("cowcopy", cowcopy.copytree)):
                os.mkdir(os.path.join({self.dir!r}, name))
                dst = os.path.join({self.dir!r}, name, "dst")
                with LibrarySpy() as spy:
                    try:
                        fn({self.src!r}, dst)
                        errors = []
                    except shutil.Error as e:
                        errors = [[os.fsdecode(s), os.fsdecode(d), w] for s, d, w in e.args[0]]
                out[name] = {{"errors": errors, "trees": len(spy.tree_calls)}}
            print(json.dumps(out))
        """, user="nobody")
        self.assertSubprocessOK(p)
        out = json.loads(p.stdout)
        self.assertEqual(out["cowcopy"]["trees"], 1)
        theirs = error_keys(out["shutil"]["errors"], self.src, self.path("shutil", "dst"))
        ours = error_keys(out["cowcopy"]["errors"], self.src, self.path("cowcopy", "dst"))
        self.assertEqual(ours, theirs)
        self.assertIn(("dir0", "dir0", 13), ours)
        self.assertSameTrees()
        self.assertEqual(os.stat(self.path("cowcopy", "dst", "dir7")).st_uid, support.NOBODY)


if __name__ == "__main__":
    support.main()
