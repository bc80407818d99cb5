"""test_install.py - `make install` and `make uninstall` into a DESTDIR.

The installed tree must hold the command, both libraries, the header, the
pkg-config file and the man page; a C program must build against it through
pkg-config alone and clone through the installed shared library; the shared
library must export only the public API; and `make uninstall` must remove
every file it installed.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import support

PROGRAM = r"""
#include <cowcopy.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    cowcopy_result res;
    int r = cowcopy_file_copy(argv[1], argv[2], NULL, &res);
    printf("%s %s\n", r == 0 ? "ok" : cowcopy_strerror(r), cowcopy_method_name(res.method));
    return r != 0;
}
"""

EXPECTED = ["usr/bin/cowcopy", "usr/include/cowcopy.h", "usr/lib/libcowcopy.a",
            "usr/lib/libcowcopy.so", "usr/lib/libcowcopy.so.0", "usr/lib/pkgconfig/cowcopy.pc",
            "usr/share/man/man1/cowcopy.1"]


class Install(unittest.TestCase):
    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="cowcopy-install-")
        self.addCleanup(shutil.rmtree, self.dest, ignore_errors=True)

    def make(self, *targets):
        r = subprocess.run(["make", "-s", "--no-print-directory", "PREFIX=/usr",
                            f"DESTDIR={self.dest}", *targets], cwd=support.TOP,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(r.returncode, 0, r.stdout.decode(errors="replace"))

    def installed_files(self):
        out = []
        for dirpath, _, names in os.walk(self.dest):
            out += [os.path.relpath(os.path.join(dirpath, n), self.dest) for n in names]
        return sorted(out)

    def test_install_build_against_it_and_uninstall(self):
        self.make("install")
        files = self.installed_files()
        for f in EXPECTED:
            self.assertIn(f, files)
        # A program built through pkg-config alone, run against the installed .so.
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(self.dest, "usr/lib/pkgconfig"),
                   PKG_CONFIG_SYSROOT_DIR=self.dest)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "cowcopy"], env=env,
                               stdout=subprocess.PIPE, check=True).stdout.decode().split()
        src = os.path.join(self.dest, "prog.c")
        with open(src, "w") as f:
            f.write(PROGRAM)
        exe = os.path.join(self.dest, "prog")
        subprocess.run(["gcc", "-o", exe, src] + flags, check=True)
        data = os.path.join(self.dest, "data")
        with open(data, "wb") as f:
            f.write(b"some bytes\n" * 1000)
        r = subprocess.run([exe, data, data + ".copy"], stdout=subprocess.PIPE,
                           env=dict(os.environ, LD_LIBRARY_PATH=os.path.join(self.dest, "usr/lib")))
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith(b"ok "), r.stdout)
        self.assertEqual(support.read(data), support.read(data + ".copy"))
        # Only the public API is exported.
        nm = subprocess.run(["nm", "-D", "--defined-only",
                             os.path.join(self.dest, "usr/lib/libcowcopy.so")],
                            stdout=subprocess.PIPE, check=True).stdout.decode()
        symbols = [line.split()[-1] for line in nm.splitlines() if " T " in line]
        self.assertTrue(symbols)
        self.assertEqual([s for s in symbols if not s.startswith("cowcopy_") or
                          s.startswith("cowcopy__")], [])
        man = subprocess.run(["man", "-l", os.path.join(self.dest, "usr/share/man/man1/cowcopy.1")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=dict(os.environ, MANWIDTH="80"))
        self.assertIn(b"cowcopy dedupe", man.stdout)
        for f in ("prog", "prog.c", "data", "data.copy"):
            os.unlink(os.path.join(self.dest, f))
        self.make("uninstall")
        self.assertEqual(self.installed_files(), [])


if __name__ == "__main__":
    support.main()
