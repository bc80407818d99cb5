"""support.py - helpers for the Python package's test suites.

The shared part (scratch filesystems from COWCOPY_TEST_FS, FIEMAP read
directly through fcntl.ioctl and never with the code under test, generated
files, per-filesystem test classes, the PASS/FAIL/SKIP line runner that
tests/run.sh tallies) is tests/lib/suitelib.py, which the CLI suites use
too; this module adds what is the package's own: a fresh interpreter for
code that must run apart (run_python), a stand-in for the extension that
records what the package asks of it (LibrarySpy), and test cases with the
package's assertions.

The package under test is whatever `import cowcopy` finds: tests/run.sh runs
these suites with build/python-venv/bin/python, where `make python`
installed a build with fault injection (COWCOPY_TESTING).
"""
import os
import subprocess
import sys
import textwrap

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "lib"))

import suitelib  # noqa: E402
from suitelib import (ALL_FILESYSTEMS, BACKEND, CLONE_CALL, COW_FILESYSTEMS,  # noqa: E402,F401
                      DARWIN, FIEMAP_EXTENT_DATA_INLINE, FIEMAP_EXTENT_LAST,
                      FIEMAP_EXTENT_SHARED, FIEMAP_EXTENT_UNKNOWN, FIEMAP_FLAG_SYNC,
                      FILESYSTEMS, FS_IOC_FIEMAP, NOBODY, NOCOW_FILESYSTEMS, SIM_RECORD_XATTR,
                      TOP, LineResult, darwin_only, extents, flatten, is_clone_of,
                      linux_only, listing, main, on_filesystems, read, shares_any_block,
                      write_random, xattr_names)

RELEASE_BUILD = os.environ.get("COWCOPY_PYTHON_RELEASE",
                               os.path.join(TOP, "build", "python-release"))


def write_text(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# ---------------------------------------------------------------- subprocesses

def run_python(code, env=None, user=None, pythonpath=None, timeout=120):
    """Run `code` in a fresh interpreter (this one) and return the
    CompletedProcess. env entries are added to the environment; user="nobody"
    drops to uid/gid 65534 after `import cowcopy` (the package need not be
    readable by nobody); pythonpath is put first on sys.path."""
    prologue = "import cowcopy, os, sys\n"
    if user == "nobody":
        prologue += (f"os.setgroups([]); os.setresgid({NOBODY}, {NOBODY}, {NOBODY}); "
                     f"os.setresuid({NOBODY}, {NOBODY}, {NOBODY})\n")
    full_env = dict(os.environ)
    full_env.pop("COWCOPY_FAULTS", None)
    if pythonpath:
        full_env["PYTHONPATH"] = pythonpath
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(code)],
                          env=full_env, timeout=timeout, capture_output=True, text=True)


# ---------------------------------------------------------------- the library

class LibrarySpy:
    """Stands in for the extension module cowcopy._cowcopy while in a
    `with` block and records what the package asked of the library:
    tree_calls, a list of (src, dst, tree_flags, threads, failures, stats)
    per tree_copy() call, and file_calls, the number of copy_file() calls.
    It is how the tests see which path copytree took."""

    def __init__(self):
        import cowcopy
        self._package = cowcopy
        self._real = cowcopy._cowcopy
        self.tree_calls = []
        self.file_calls = 0

    def __getattr__(self, name):
        return getattr(self._real, name)

    def copy_file(self, *args, **kwargs):
        self.file_calls += 1
        return self._real.copy_file(*args, **kwargs)

    def tree_copy(self, src, dst, *args):
        failures, stats = self._real.tree_copy(src, dst, *args)
        self.tree_calls.append((src, dst, args[4], args[5], failures, stats))
        return failures, stats

    def __enter__(self):
        self._package._cowcopy = self
        return self

    def __exit__(self, *exc):
        self._package._cowcopy = self._real


# ---------------------------------------------------------------- cases

class FsTestCase(suitelib.FsTestCase):
    """suitelib.FsTestCase with directories named py-* and the package's
    assertions."""

    prefix = "py-"

    def assertNames(self, exc, src, dst):
        """The OSError names both paths, as os functions name them."""
        self.assertEqual((exc.filename, exc.filename2), (os.fspath(src), os.fspath(dst)))

    def assertSubprocessOK(self, proc):
        self.assertEqual(proc.returncode, 0, f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
