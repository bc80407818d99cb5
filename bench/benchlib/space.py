"""space.py - how much space a filesystem uses, and how that changed.

    before = used_bytes(mnt)
    ... run a dedupe ...
    freed = before - used_bytes(mnt)

used_bytes syncs the filesystem first (and, on btrfs, commits the
transaction, after which its free-space numbers are current), then reads
statvfs: blocks in use, not apparent sizes, so shared extents count once.
"""
import os
import subprocess

from . import cache


def fs_type(path):
    """The filesystem type of path's mount, as in /proc/self/mounts."""
    path = os.path.realpath(path)
    best, kind = "", None
    with open("/proc/self/mounts") as f:
        for line in f:
            _dev, target, fstype = line.split()[:3]
            target = target.encode().decode("unicode_escape")
            if (path == target or path.startswith(target.rstrip("/") + "/")) and \
                    len(target) > len(best):
                best, kind = target, fstype
    return kind


def used_bytes(path):
    """Bytes in use on path's filesystem, after a sync."""
    cache.sync(path)
    if fs_type(path) == "btrfs":
        subprocess.run(["btrfs", "filesystem", "sync", path], check=True,
                       stdout=subprocess.DEVNULL)
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def tree_bytes(path):
    """Apparent size of the regular files below path (hard links once)."""
    seen, total = set(), 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen or not (st.st_mode & 0o170000 == 0o100000):
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total
