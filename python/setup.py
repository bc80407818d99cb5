"""setup.py - builds the cowcopy package and its C extension, _cowcopy.

The extension is compiled from the library's own sources (../src/*.c) plus
cowcopy/_cowcopy.c, which includes only cowcopy.h and Python.h: no installed
libcowcopy is needed, and the package must be built from a checkout of the
repository (pip install ./python). Metadata lives in pyproject.toml; this file
exists because the setuptools versions in use need it for C extensions.

Environment:
  COWCOPY_TESTING=1  compile with -DCOWCOPY_TESTING, so the library honours
                     the COWCOPY_FAULTS variable (fault injection for tests;
                     never for a release build). Such builds go to
                     build/testing, release builds to build/release, so the two
                     never share object files.
  COWCOPY_WERROR=1   turn compiler warnings into errors (make check sets it).
  COWCOPY_PREBUILT=DIR
                     link DIR/libcowcopy.a (a `make` build directory) instead of
                     compiling the library's sources; if DIR/darwin-sim holds
                     libdarwinsim.a it is linked too. make check uses this for
                     the Darwin backend on the simulated layer (build/darwin).

The library's sources are src/*.c: files named *_linux.c or *_darwin.c
belong to that platform only, every other file is common (the Makefile
follows the same rule).
"""
import glob
import os
import re
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def _flag(name):
    """Is the environment variable `name` set to something other than "" or "0"?"""
    return os.environ.get(name, "") not in ("", "0")


def _rel(path):
    """path relative to the working directory: setuptools wants relative
    source names, and pip runs this file from its own directory."""
    return os.path.relpath(path, os.getcwd())


def _library_version():
    """The library's version, from COWCOPY_VERSION_STRING in cowcopy.h."""
    with open(os.path.join(TOP, "include", "cowcopy.h"), encoding="utf-8") as f:
        match = re.search(r'#define COWCOPY_VERSION_STRING "([^"]+)"', f.read())
    if not match:
        raise RuntimeError("COWCOPY_VERSION_STRING not found in include/cowcopy.h")
    return match.group(1)


def _library_sources():
    """The library's sources for this platform: the common files and the
    platform's own (*_darwin.c on macOS, *_linux.c elsewhere)."""
    sources = sorted(glob.glob(os.path.join(TOP, "src", "*.c")))
    if not sources:
        raise RuntimeError(f"no library sources in {os.path.join(TOP, 'src')}: "
                           "build the package from a checkout of the cowcopy repository")
    own = "_darwin.c" if sys.platform == "darwin" else "_linux.c"
    return [s for s in sources
            if s.endswith(own) or not (s.endswith("_linux.c") or s.endswith("_darwin.c"))]


def _prebuilt_objects(build_dir):
    """The static libraries of a `make` build in build_dir, to link instead
    of compiling the sources."""
    lib = os.path.join(os.path.abspath(build_dir), "libcowcopy.a")
    if not os.path.isfile(lib):
        raise RuntimeError(f"COWCOPY_PREBUILT: no {lib} (run make B={build_dir} first)")
    sim = os.path.join(os.path.abspath(build_dir), "darwin-sim", "libdarwinsim.a")
    return [lib] + ([sim] if os.path.isfile(sim) else [])


TESTING = _flag("COWCOPY_TESTING")
PREBUILT = os.environ.get("COWCOPY_PREBUILT", "")
LIB_SOURCES = [] if PREBUILT else _library_sources()

warnings = ["-Wall", "-Wextra", "-Wshadow", "-Wformat=2", "-Wundef", "-Wvla",
            "-Wstrict-prototypes"]
if _flag("COWCOPY_WERROR"):
    warnings.append("-Werror")

extension = Extension(
    "cowcopy._cowcopy",
    sources=[_rel(os.path.join(HERE, "cowcopy", "_cowcopy.c"))] + [_rel(s) for s in LIB_SOURCES],
    # Only the public header directory: the extension must not see src/.
    # (The library's own files find their private headers beside them.)
    include_dirs=[_rel(os.path.join(TOP, "include"))],
    define_macros=[("_GNU_SOURCE", "1"), ("_FILE_OFFSET_BITS", "64")]
    + ([("COWCOPY_TESTING", "1")] if TESTING else []),
    extra_compile_args=["-std=c11", "-fvisibility=hidden", "-pthread"] + warnings,
    extra_link_args=["-pthread"],
    # What libcowcopy links: xxHash (dedupe's content hashes), SQLite (its cache).
    libraries=["xxhash", "sqlite3"],
    extra_objects=_prebuilt_objects(PREBUILT) if PREBUILT else [],
    depends=[_rel(p) for p in glob.glob(os.path.join(TOP, "src", "*.h"))]
    + [_rel(os.path.join(TOP, "include", "cowcopy.h"))]
    + (_prebuilt_objects(PREBUILT) if PREBUILT else []),
)

setup(
    version=_library_version(),
    ext_modules=[extension],
    options={"build": {"build_base": os.path.join(
        "build", "prebuilt" if PREBUILT else "testing" if TESTING else "release")}},
)
