"""suitelib.py - what the Python-written test suites share: the CLI suites
(tests/cli/support.py) and the Python package's (python/tests/support.py)
build on this module (standard library only).

Suites are unittest modules; main() runs one and prints one line per test,
"PASS name", "FAIL name: why" or "SKIP name: why", the format tests/run.sh
tallies (a failing subtest is a FAIL line of its own; expected failures and
unexpected successes are not allowed). Scratch filesystems come from
COWCOPY_TEST_FS ("btrfs=/mnt/..:ext4=..."), made by tests/run.sh as root
(tests/lib/scratch.sh).

Clones are proven with the host's own extent map, read here directly, never
with the code under test: FIEMAP through fcntl.ioctl on Linux, F_LOG2PHYS_EXT
through fcntl.fcntl on macOS (tests/run.sh runs only the portable suites
there; scratch.sh makes an APFS and an HFS+ image as their filesystems).
"""
import errno
import fcntl
import os
import random
import shutil
import struct
import sys
import tempfile
import traceback
import unittest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

FILESYSTEMS = {}
for _item in filter(None, os.environ.get("COWCOPY_TEST_FS", "").split(":")):
    _name, _, _mnt = _item.partition("=")
    FILESYSTEMS[_name] = _mnt

# The host the suites run on, which is not the backend under test: on Linux
# the Darwin backend runs on the simulated layer.
HOST_DARWIN = sys.platform == "darwin"
if HOST_DARWIN:
    COW_FILESYSTEMS = ("apfs",)
    NOCOW_FILESYSTEMS = ("hfs",)  # case-sensitive HFS+: no clones
else:
    COW_FILESYSTEMS = ("btrfs", "xfs")
    NOCOW_FILESYSTEMS = ("ext4", "tmpfs")
ALL_FILESYSTEMS = COW_FILESYSTEMS + NOCOW_FILESYSTEMS

NOBODY = 65534

# Which backend the code under test was built with (tests/run.sh sets it):
# "darwin" is the Darwin backend on the simulated layer (tests/darwin-sim).
BACKEND = os.environ.get("COWCOPY_TEST_BACKEND", "darwin" if HOST_DARWIN else "linux")
DARWIN = BACKEND == "darwin"
CLONE_CALL = "fclonefileat" if DARWIN else "FICLONE"  # the call a refused clone names
# Where the simulated layer keeps Darwin's flags and creation time (a Linux
# xattr): storage of the simulation, not an attribute of the files.
SIM_RECORD_XATTR = "user.com.apple.system.darwin-sim"

# ---------------------------------------------------------------- FIEMAP

FS_IOC_FIEMAP = 0xC020660B
FIEMAP_FLAG_SYNC = 0x1
FIEMAP_EXTENT_LAST = 0x1
FIEMAP_EXTENT_UNKNOWN = 0x2
FIEMAP_EXTENT_DATA_INLINE = 0x200
FIEMAP_EXTENT_SHARED = 0x2000


def extents(path):
    """[(logical, physical, length, flags)] of path's data, after a sync:
    FIEMAP's extents and flags on Linux; on macOS runs of F_LOG2PHYS_EXT,
    whose flags are 0 (Darwin does not say whether a block is shared)."""
    return _extents_log2phys(path) if HOST_DARWIN else _extents_fiemap(path)


# Darwin's fcntl F_LOG2PHYS_EXT and its struct log2phys, packed to 4 bytes:
# l2p_flags (u32), l2p_contigbytes (off_t: in, bytes to map; out, the run's
# length), l2p_devoffset (off_t: in, file offset; out, device offset or -1).
F_LOG2PHYS_EXT = 65
_LOG2PHYS = struct.Struct("=Iqq")


def _extents_log2phys(path):
    out = []
    with open(path, "rb") as f:
        fd = f.fileno()
        os.fsync(fd)  # delayed allocation: give the data its blocks first
        size = os.fstat(fd).st_size
        pos = 0
        while pos < size:
            try:
                pos = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:
                    break  # only a hole is left
                raise
            end = os.lseek(fd, pos, os.SEEK_HOLE)
            while pos < end:
                res = fcntl.fcntl(fd, F_LOG2PHYS_EXT, _LOG2PHYS.pack(0, end - pos, pos))
                _, run, physical = _LOG2PHYS.unpack(res)
                if run <= 0:
                    raise OSError(errno.EIO, f"F_LOG2PHYS_EXT mapped no bytes at {pos}", path)
                run = min(run, end - pos)
                if physical != -1:
                    out.append((pos, physical, run, 0))
                pos += run
    return out


def _extents_fiemap(path):
    out = []
    start = 0
    with open(path, "rb") as f:
        while True:
            count = 128
            header = struct.pack("=QQLLLL", start, 0xFFFFFFFFFFFFFFFF - start,
                                 FIEMAP_FLAG_SYNC, 0, count, 0)
            buf = bytearray(header + b"\0" * (56 * count))
            fcntl.ioctl(f.fileno(), FS_IOC_FIEMAP, buf)
            mapped = struct.unpack_from("=L", buf, 20)[0]
            if mapped == 0:
                return out
            last = False
            for i in range(mapped):
                logical, physical, length, _, _, flags = struct.unpack_from(
                    "=QQQQQL", buf, 32 + 56 * i)
                out.append((logical, physical, length, flags))
                start = logical + length
                last = last or bool(flags & FIEMAP_EXTENT_LAST)
            if last:
                return out


def is_clone_of(dst, src):
    """Every extent of dst is flagged shared and sits at the same physical
    place as src's data at the same offset; both have data."""
    d, s = extents(dst), extents(src)
    if not d or not s:
        return False
    for logical, physical, length, flags in d:
        # (macOS gives no shared flag: the same physical place is the proof.)
        if not HOST_DARWIN and not flags & FIEMAP_EXTENT_SHARED or flags & FIEMAP_EXTENT_DATA_INLINE:
            return False
        off = 0
        while off < length:
            for sl, sp, slen, _ in s:
                if sl <= logical + off < sl + slen:
                    delta = logical + off - sl
                    if sp + delta != physical + off:
                        return False
                    off += min(slen - delta, length - off)
                    break
            else:
                return False
    return True


def shares_any_block(a, b):
    """Do a and b have any physical block in common?"""
    ea, eb = extents(a), extents(b)
    skip = FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_UNKNOWN
    return any(pa < pb + lb and pb < pa + la
               for _, pa, la, fa in ea if not fa & skip
               for _, pb, lb, fb in eb if not fb & skip)


# ---------------------------------------------------------------- files

def write_random(path, size, seed):
    """Deterministic pseudo-random content (fixed seed)."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rng.randbytes(n))
            left -= n


def read(path):
    with open(path, "rb") as f:
        return f.read()


def listing(path):
    return sorted(os.listdir(path))


def xattr_names(path, follow_symlinks=True):
    """os.listxattr without the simulated Darwin layer's record
    (SIM_RECORD_XATTR), which is no attribute of the file."""
    return [n for n in os.listxattr(path, follow_symlinks=follow_symlinks)
            if n != SIM_RECORD_XATTR]


# ---------------------------------------------------------------- cases

class FsTestCase(unittest.TestCase):
    """A test case bound to one scratch filesystem (self.fs, self.mnt), with
    a fresh directory self.dir (named prefix + random, writable by all)
    removed afterwards."""

    fs = None
    prefix = "t-"

    def setUp(self):
        if self.fs not in FILESYSTEMS:
            self.skipTest(f"no scratch {self.fs} filesystem (tests/run.sh makes them as root)")
        self.mnt = FILESYSTEMS[self.fs]
        self.dir = tempfile.mkdtemp(prefix=self.prefix, dir=self.mnt)
        os.chmod(self.dir, 0o777)
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def dir_on(self, fs):
        """A fresh directory on another scratch filesystem, or skip."""
        if fs not in FILESYSTEMS:
            self.skipTest(f"no scratch {fs} filesystem")
        d = tempfile.mkdtemp(prefix=self.prefix, dir=FILESYSTEMS[fs])
        os.chmod(d, 0o777)
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        return d


def on_filesystems(*names):
    """Class decorator: one copy of the test class per filesystem, named
    Class[fs], registered in the defining module."""
    def decorate(cls):
        module = sys.modules[cls.__module__]
        for fs in names:
            sub = type(f"{cls.__name__}[{fs}]", (cls,), {"fs": fs, "__test__": True})
            sub.__qualname__ = sub.__name__
            setattr(module, sub.__name__, sub)
        cls.__test__ = False
        return cls
    return decorate


# ---------------------------------------------------------------- running

class LineResult(unittest.TestResult):
    """Prints one PASS/FAIL/SKIP line per test; tracebacks go to stderr.
    prefix is put before each test's name."""

    def __init__(self, prefix=""):
        super().__init__()
        self.prefix = prefix
        self.passed = 0

    def name(self, test):
        case = getattr(test, "test_case", test)  # a subtest names its test
        name = f"{self.prefix}{type(case).__name__}.{case._testMethodName}"
        return name if case is test else f"{name} {test._subDescription()}"

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        print(f"PASS {self.name(test)}", flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._report(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._report(test, err)

    def _report(self, test, err):
        lines = traceback.format_exception(*err)
        where = [l.strip().splitlines()[0] for l in lines if l.strip().startswith("File")]
        last = str(err[1]).replace("\n", " | ")[:600]
        print(f"FAIL {self.name(test)}: {where[-1] if where else ''}: {last}", flush=True)
        sys.stderr.write(f"---- {self.name(test)}\n" + "".join(lines))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print(f"SKIP {self.name(test)}: {reason}", flush=True)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        print(f"FAIL {self.name(test)}: expected failures are not allowed here", flush=True)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        print(f"FAIL {self.name(test)}: unexpected success", flush=True)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._report(subtest, err)

    def wasSuccessful(self):
        return super().wasSuccessful() and not self.unexpectedSuccesses


def linux_only(reason):
    """Class or method decorator: this tests a Linux mechanism (reason says
    which) and is left out, not skipped, when the Darwin backend is under
    test; the Darwin backend's own guarantees have tests of their own."""
    def decorate(obj):
        obj.linux_only = reason
        return obj
    return decorate


def darwin_only(reason):
    """Class or method decorator, the mirror of linux_only: this tests what
    only the Darwin backend does (reason says what) and is left out, not
    skipped, when the Linux backend is under test."""
    def decorate(obj):
        obj.darwin_only = reason
        return obj
    return decorate


def left_out(test):
    """Is test marked for the other backend (linux_only, darwin_only), on
    its class or its method?"""
    mark = "linux_only" if DARWIN else "darwin_only"
    return bool(getattr(type(test), mark, None) or
                getattr(getattr(test, test._testMethodName), mark, None))


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def main():
    """Run the calling module's tests; print PASS/FAIL/SKIP lines and exit
    0 only if all passed. The environment variable COWCOPY_TEST_ONLY keeps
    tests whose name contains it; tests marked for the other backend
    (linux_only, darwin_only) are left out."""
    module = sys.modules["__main__"]
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name in sorted(dir(module)):
        obj = getattr(module, name)
        if (isinstance(obj, type) and issubclass(obj, unittest.TestCase)
                and obj.__dict__.get("__test__", True) is not False):
            suite.addTests(loader.loadTestsFromTestCase(obj))
    only = os.environ.get("COWCOPY_TEST_ONLY")
    result = LineResult()
    for test in flatten(suite):
        if only and only not in f"{type(test).__name__}.{test._testMethodName}":
            continue
        if left_out(test):
            continue
        test.run(result)
    sys.exit(0 if result.wasSuccessful() else 1)
