"""support.py - helpers for the CLI test suites (standard library only).

The shared part (scratch filesystems from COWCOPY_TEST_FS, FIEMAP read
directly through ioctl, generated files, per-filesystem test classes, the
PASS/FAIL/SKIP line runner) is tests/lib/suitelib.py, which the Python
package's suites use too; this module adds what is the CLI's own: the
command under test, from COWCOPY (a path to the cowcopy binary), and run().
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import suitelib  # noqa: E402
from suitelib import (ALL_FILESYSTEMS, BACKEND, CLONE_CALL, COW_FILESYSTEMS,  # noqa: E402,F401
                      DARWIN, darwin_only, FIEMAP_EXTENT_DATA_INLINE, FIEMAP_EXTENT_LAST,
                      FIEMAP_EXTENT_SHARED, FIEMAP_EXTENT_UNKNOWN, FIEMAP_FLAG_SYNC,
                      FILESYSTEMS, FS_IOC_FIEMAP, NOBODY, NOCOW_FILESYSTEMS,
                      SIM_RECORD_XATTR, TOP, extents, is_clone_of, linux_only, listing,
                      main, on_filesystems, read, shares_any_block, write_random)

COWCOPY = os.environ.get("COWCOPY", os.path.join(os.path.dirname(__file__), "../../build/cowcopy"))


def run(args, user=None, env=None, input=None, cwd=None, timeout=120, stdout=None):
    """Run `cowcopy ARGS...` (or a raw argv if args[0] is absolute or a list
    starting with a program). user="nobody" drops to uid/gid 65534."""
    argv = [COWCOPY] + list(args)
    if user == "nobody":
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] + argv
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(argv, input=input, cwd=cwd, env=full_env, timeout=timeout,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE)


class FsTestCase(suitelib.FsTestCase):
    """suitelib.FsTestCase with directories named cli-* and assertRuns."""

    prefix = "cli-"

    def assertRuns(self, result, code=0):
        """Assert the exit status, showing stderr when it is not as expected."""
        self.assertEqual(result.returncode, code,
                         f"exit {result.returncode}, stderr: {result.stderr.decode(errors='replace')}")
