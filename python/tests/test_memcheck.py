"""test_memcheck.py - the extension under valgrind's memcheck.

The C suites run under valgrind in tests/run.sh; the extension is C too, and
its bindings of the inspection calls keep failures and groups in raw memory
from the library's worker threads. Here one interpreter (this one, with
PYTHONMALLOC=malloc so that valgrind sees every allocation) runs every
binding through its success and failure paths -- copies, a tree copy with
failures, shared_bytes, usage, dedupe with groups, a damaged cache and a new
one, probe -- from the main thread and from several threads, on the scratch
btrfs and ext4. Any invalid read or write, use of uninitialised memory or
definite leak fails the test.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import support
from support import FILESYSTEMS

EXERCISE = r'''
import os, shutil, sys, threading, warnings
import cowcopy

btrfs, ext4 = sys.argv[1], sys.argv[2]
for d in (btrfs, ext4):
    with open(os.path.join(d, "a"), "wb") as f:
        f.write(os.urandom(300000))
    for n in ("b", "c"):
        shutil.copyfile(os.path.join(d, "a"), os.path.join(d, n))
a, b = os.path.join(btrfs, "a"), os.path.join(btrfs, "b")
cowcopy.clone(a, os.path.join(btrfs, "clone"))
cowcopy.copy2(a, os.path.join(btrfs, "copy2"), reflink="never")
print(cowcopy.copy_file(a, os.path.join(ext4, "x"), preserve="all"))
try:
    cowcopy.clone(a, os.path.join(ext4, "y"))
except OSError as e:
    print(repr(e))
tree = os.path.join(btrfs, "tree")
os.makedirs(os.path.join(tree, "sub"))
os.mkfifo(os.path.join(tree, "fifo"))
os.symlink("nowhere", os.path.join(tree, "dangling"))
shutil.copyfile(a, os.path.join(tree, "sub", "f"))
try:
    cowcopy.copytree(tree, os.path.join(btrfs, "tree2"))
except cowcopy.Error as e:
    print(len(e.args[0]), "tree errors")

def inspect(tag):
    out = [repr(cowcopy.shared_bytes(a, os.path.join(btrfs, "clone"))),
           repr(cowcopy.shared_bytes(a, os.path.join(ext4, "a")))]
    for x, y in ((a, btrfs + "/missing"), (btrfs, a)):
        try:
            cowcopy.shared_bytes(x, y)
        except OSError as e:
            out.append(repr(e))
    out.append(repr(cowcopy.usage(btrfs, ext4, threads=2)))
    out.append(repr(cowcopy.usage(os.fsencode(btrfs), b"/nonexistent", ignore_errors=True)))
    try:
        cowcopy.usage(btrfs + "/x", btrfs + "/y")
    except OSError as e:
        out.append(repr(e))
    for d in (btrfs, ext4):
        out.append(repr(cowcopy.probe(d)))
    try:
        cowcopy.probe(a)
    except OSError as e:
        out.append(repr(e))
    out.append(repr(cowcopy.dedupe(btrfs, dry_run=True, groups=True)))
    out.append(repr(cowcopy.dedupe(ext4, ignore_errors=True, groups=True)))
    try:
        cowcopy.dedupe(ext4, btrfs + "/missing")
    except OSError as e:
        out.append(repr(e))
    return out

inspect("main")
threads = [threading.Thread(target=inspect, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
cache = os.path.join(btrfs, "cache.db")
with open(cache, "wb") as f:
    f.write(b"not a database" * 64)
with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    print(cowcopy.dedupe(btrfs, groups=True, cache=cache).files_deduplicated)
os.remove(cache)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(cowcopy.dedupe(os.fsencode(btrfs), groups=True, cache=cache, threads=3).groups[:1])
for w in caught:
    print("warning:", w.message)
print("done")
'''


class MemcheckTest(unittest.TestCase):
    def test_every_binding_under_memcheck(self):
        valgrind = shutil.which("valgrind")
        if not valgrind:
            self.skipTest("valgrind is not installed")
        dirs = []
        for fs in ("btrfs", "ext4"):
            if fs not in FILESYSTEMS:
                self.skipTest(f"no scratch {fs} filesystem")
            d = tempfile.mkdtemp(prefix="py-", dir=FILESYSTEMS[fs])
            self.addCleanup(shutil.rmtree, d, ignore_errors=True)
            dirs.append(d)
        env = dict(os.environ, PYTHONMALLOC="malloc")
        env.pop("COWCOPY_FAULTS", None)
        p = subprocess.run([valgrind, "-q", "--error-exitcode=99", "--leak-check=full",
                            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
                            sys.executable, "-c", EXERCISE, *dirs],
                           env=env, capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-6000:])
        self.assertEqual(p.stderr, "")
        lines = p.stdout.splitlines()
        self.assertEqual(lines[-1], "done")
        self.assertIn("tree errors", p.stdout)  # the tree copier's failure log was used
        # A new cache is used without a word; the Darwin backend keys none
        # (no filesystem UUID there) and says so.
        warned = [line for line in lines if line.startswith("warning:")]
        self.assertEqual(len(warned), 1 if support.DARWIN else 0, warned)
        for line in warned:
            self.assertIn("no stable UUID", line)


if __name__ == "__main__":
    support.main()
