"""test_shutil_compat.py - CPython's own shutil tests, run against cowcopy.

Runs the copyfile, copy, copy2 and copytree tests of test.test_shutil (the
suite shipped with the interpreter; on Debian the libpython3.11-testsuite
package) with shutil.copyfile, copy, copy2 and copytree replaced by cowcopy's,
once on the scratch btrfs (where they clone) and once on ext4 (where they
fall back). test_shutil works in the current directory and in TMPDIR, so
both are moved to the scratch filesystem.

Each test prints a PASS/FAIL/SKIP line named fs/Class.test. A test that
passes without ever calling a cowcopy function fails: it would prove
nothing. The tests left out are those that mock CPython's private copy
internals; EXCLUDED lists them with the reason, and python/README.md repeats
the list (test_package.py checks that it does). An INFO line per filesystem
says how many ran, passed and were excluded, how the library copied (by
copy_file and by the tree copier), and how many trees went to the tree
copier; copytree's tests must send some there (its fast path), or the run
fails.
"""
import functools
import os
import re
import shutil
import sys
import tempfile
import unittest

import support

import cowcopy

# Which tests of test_shutil are "the copyfile, copy, copy2 and copytree
# tests": class name -> pattern of test names.
SELECTED = {
    "TestCopyTree": r"test_",
    "TestCopy": r"test_(copy2?(_|$)|copyfile_|dont_copy_file_onto_)",
    "TestCopyFile": r"test_",
    "TestZeroCopySendfile": r"test_(regular_copy|non_existent_src|unhandled_exception)$",
}

# Tests that cannot apply: they replace CPython's private copy internals.
EXCLUDED = {
    "TestCopyFile.test_w_source_open_fails":
        "replaces shutil's module-level open(), which cowcopy does not call",
    "TestCopyFile.test_w_dest_open_fails":
        "replaces shutil's module-level open() and expects copyfile of a nonexistent "
        "'srcfile' to succeed through it",
    "TestCopyFile.test_w_dest_close_fails":
        "replaces shutil's module-level open() with objects whose close fails",
    "TestCopyFile.test_w_source_close_fails":
        "replaces shutil's module-level open() with objects whose close fails",
    "TestZeroCopySendfile.test_unhandled_exception":
        "mocks os.sendfile to raise ZeroDivisionError from inside copyfile",
}

PATCHED = ("copyfile", "copy", "copy2", "copytree")


class Counter:
    """Counts calls of the patched functions and, one level down, how the
    library copied: the methods of its one-file copies (CopyResult.method)
    and of the files its tree copier copied (its counters), and the trees
    copytree handed to the tree copier."""

    def __init__(self):
        self.calls = 0
        self.methods = {}
        self.trees = 0

    def wrap(self, fn):
        @functools.wraps(fn)
        def counted(*args, **kwargs):
            self.calls += 1
            return fn(*args, **kwargs)
        return counted

    def library(self, real):
        """A stand-in for the extension module that tallies copy_file results."""
        counter = self

        class Library:
            def __getattr__(self, name):
                return getattr(real, name)

            @staticmethod
            def copy_file(*args):
                result = real.copy_file(*args)
                counter.methods[result[0]] = counter.methods.get(result[0], 0) + 1
                return result

            @staticmethod
            def tree_copy(*args):
                failures, stats = real.tree_copy(*args)
                counter.trees += 1
                for method in ("cloned", "offloaded", "copied"):
                    if stats[method]:
                        counter.methods[method] = counter.methods.get(method, 0) + stats[method]
                return failures, stats
        return Library()


def selected_tests(module):
    """[(class, [(id "Class.test", test)])] of the selection, in a stable order."""
    loader = unittest.TestLoader()
    out = []
    for cls_name, pattern in SELECTED.items():
        cls = getattr(module, cls_name)
        tests = [(f"{cls_name}.{test._testMethodName}", test)
                 for test in loader.loadTestsFromTestCase(cls)
                 if re.match(pattern, test._testMethodName)]
        out.append((cls, tests))
    return out


def run_on(fs, module, counter):
    """Run the selection in a fresh directory on fs. @return (ran, passed,
    excluded, failed)."""
    mnt = support.FILESYSTEMS[fs]
    work = tempfile.mkdtemp(prefix="shutil-compat-", dir=mnt)
    old_cwd = os.getcwd()
    old_tmpdir = os.environ.get("TMPDIR")
    os.chdir(work)
    os.environ["TMPDIR"] = work
    tempfile.tempdir = None  # let tempfile read TMPDIR again
    result = support.LineResult(prefix=f"{fs}/")
    ran = excluded = 0
    try:
        for cls, tests in selected_tests(module):
            # Class fixtures, as a TestSuite would run them (not for a
            # skipped class, whose tests each report the skip).
            fixtures = not getattr(cls, "__unittest_skip__", False)
            if fixtures:
                cls.setUpClass()
            try:
                for name, test in tests:
                    if name in EXCLUDED:
                        excluded += 1
                        continue
                    ran += 1
                    test.run(_Guard(result, counter))
            finally:
                if fixtures:
                    cls.tearDownClass()
                    cls.doClassCleanups()
    finally:
        os.chdir(old_cwd)
        if old_tmpdir is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old_tmpdir
        tempfile.tempdir = None
        shutil.rmtree(work, ignore_errors=True)
    failed = len(result.failures) + len(result.errors)
    return ran, result.passed, excluded, failed


class _Guard:
    """Forwards a test's outcome to a LineResult, turning a success without
    any call of a patched function into a failure."""

    def __init__(self, result, counter):
        self._result, self._counter, self._before = result, counter, counter.calls

    def __getattr__(self, name):
        return getattr(self._result, name)

    def addSuccess(self, test):
        if self._counter.calls == self._before:
            try:
                raise AssertionError("passed without calling cowcopy: it proves nothing")
            except AssertionError:
                self._result.addFailure(test, sys.exc_info())
            return
        self._result.addSuccess(test)


def main():
    missing = [fs for fs in ("btrfs", "ext4") if fs not in support.FILESYSTEMS]
    for fs in missing:
        print(f"SKIP {fs}/test_shutil: no scratch {fs} filesystem "
              "(tests/run.sh makes them as root)", flush=True)
    if len(missing) == 2:
        sys.exit(0)
    try:
        # Imported in the scratch directory: the module probes sendfile there.
        os.chdir(support.FILESYSTEMS["btrfs" if "btrfs" not in missing else "ext4"])
        from test import test_shutil
    except ImportError as e:
        print(f"FAIL test_shutil: cannot import CPython's test.test_shutil ({e}); "
              "Debian ships it in libpython3.11-testsuite", flush=True)
        sys.exit(1)
    finally:
        os.chdir(support.TOP)

    counter = Counter()
    originals = {name: getattr(shutil, name) for name in PATCHED}
    real_library = cowcopy._cowcopy
    for name in PATCHED:
        setattr(shutil, name, counter.wrap(getattr(cowcopy, name)))
    cowcopy._cowcopy = counter.library(real_library)
    failed_any = False
    try:
        for fs in ("btrfs", "ext4"):
            if fs in missing:
                continue
            counter.methods = {}
            counter.trees = 0
            ran, passed, excluded, failed = run_on(fs, test_shutil, counter)
            failed_any |= failed > 0
            methods = ", ".join(f"{n} {m}" for m, n in sorted(counter.methods.items()))
            print(f"INFO test_shutil on {fs}: {ran} ran, {passed} passed, {failed} failed, "
                  f"{excluded} excluded; the library's copies: {methods}; "
                  f"{counter.trees} trees by its tree copier", flush=True)
            # copytree's tests must exercise the tree copier, not only the walk.
            if counter.trees > 0:
                print(f"PASS {fs}/test_shutil.copytree_used_the_tree_copier", flush=True)
            else:
                failed_any = True
                print(f"FAIL {fs}/test_shutil.copytree_used_the_tree_copier: no tree copies",
                      flush=True)
            # The point of running on both: clones on btrfs, fallbacks on ext4.
            cloned = counter.methods.get("cloned", 0)
            fell_back = sum(n for m, n in counter.methods.items() if m in ("offloaded", "copied"))
            if (fs == "btrfs" and cloned > 0) or (fs == "ext4" and cloned == 0 and fell_back > 0):
                print(f"PASS {fs}/test_shutil.copies_were_{'cloned' if fs == 'btrfs' else 'not_cloned'}",
                      flush=True)
            else:
                failed_any = True
                print(f"FAIL {fs}/test_shutil.copy_methods: unexpected: {methods or 'no copies'}",
                      flush=True)
    finally:
        for name, fn in originals.items():
            setattr(shutil, name, fn)
        cowcopy._cowcopy = real_library
    sys.exit(1 if failed_any else 0)


if __name__ == "__main__":
    main()
