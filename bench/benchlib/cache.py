"""cache.py - put the page cache in the same state before each timed run.

Two policies, chosen per benchmark:
  warm  sync, then read the inputs fully, so both sides start with the
        source in memory (single-file copies: measures the tools, not the disk)
  cold  sync, then drop clean caches (echo 3 > drop_caches), so both sides
        read from the device (dedupe: reading is most of the work)
sync() flushes the scratch filesystem and then the filesystem holding its
image, so no writeback of an earlier run overlaps the next timed run.
"""
import ctypes
import os
import shutil

DROP = "/proc/sys/vm/drop_caches"


_libc = ctypes.CDLL(None, use_errno=True)


def sync(path=None):
    """syncfs(2) of path's filesystem (if given), then a global sync, which
    also flushes the filesystem beneath the loop images."""
    if path is not None:
        fd = os.open(path, os.O_RDONLY)
        try:
            if _libc.syncfs(fd) != 0:
                raise OSError(ctypes.get_errno(), "syncfs", path)
        finally:
            os.close(fd)
    os.sync()


def drop_caches():
    """Write back everything, then drop the page cache, dentries and inodes."""
    os.sync()
    with open(DROP, "w") as f:
        f.write("3\n")


def warm(*paths, chunk=1 << 20):
    """Read every regular file at or below paths, so it sits in the page cache.
    @return the number of bytes read."""
    total = 0
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            for dirpath, _dirs, files in os.walk(path):
                for name in files:
                    total += _read_file(os.path.join(dirpath, name), chunk)
        else:
            total += _read_file(path, chunk)
    return total


def _read_file(path, chunk):
    if os.path.islink(path) or not os.path.isfile(path):
        return 0
    total = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        buf = bytearray(chunk)
        view = memoryview(buf)
        while True:
            n = os.readv(fd, [view])
            if n == 0:
                break
            total += n
    finally:
        os.close(fd)
    return total


def prepare(policy, inputs, remove=(), fs=None):
    """The usual per-repetition step: remove the previous outputs, sync, and
    set the cache state by `policy` ("warm" reads `inputs`, "cold" drops)."""
    for path in remove:
        remove_path(path)
    sync(fs)
    if policy == "cold":
        drop_caches()
    elif policy == "warm":
        warm(*inputs)
    elif policy is not None:
        raise ValueError(f"unknown cache policy {policy!r}")


def remove_path(path):
    """Remove a file, symlink or whole tree if it exists."""
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)
