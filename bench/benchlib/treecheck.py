"""treecheck.py - untimed checks that a copied tree is what it should be.

The benchmarks time tools that copy trees; these checks make sure each tool
really produced the tree (a fast wrong copy must not pass as a fast copy):

    entries(root)                 {relative path: Entry} of everything below root
    differences(src, dst, ...)    what differs between two such trees, as text
    shared_extents(path)          (shared, total) data extents via FIEMAP
    physical_map(path)            the data's physical runs: equal for files that share
    digest(path)                  a content digest
    same_content(a, b)            byte equality of two files

Entries compare type, mode, owner, size, mtime (ns) and symlink targets,
and hard-link groups; directory mtimes are compared too (cp -a keeps them).
Nothing here is timed.
"""
import fcntl
import hashlib
import os
import stat
import struct
from dataclasses import dataclass

FS_IOC_FIEMAP = 0xC020660B
FIEMAP_FLAG_SYNC = 0x1
FIEMAP_EXTENT_LAST = 0x1
FIEMAP_EXTENT_DATA_INLINE = 0x200
FIEMAP_EXTENT_SHARED = 0x2000
_HEAD = struct.Struct("=QQIIII")            # struct fiemap
_EXTENT = struct.Struct("=QQQQQIIII")       # struct fiemap_extent (56 bytes)


@dataclass(frozen=True)
class Entry:
    kind: str          # "f", "d", "l" or "o" (other)
    mode: int
    uid: int
    gid: int
    size: int          # regular files; 0 otherwise
    mtime_ns: int      # not compared for symlinks
    target: str = None  # symlink target
    ino: int = 0       # for hard-link groups (not compared directly)
    nlink: int = 1
    blocks: int = 0    # 512-byte blocks allocated


def entries(root):
    """{path relative to root: Entry} for root's contents (root excluded)."""
    out = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel) if rel else root) as it:
            for e in it:
                r = os.path.join(rel, e.name) if rel else e.name
                st = e.stat(follow_symlinks=False)
                m = st.st_mode
                kind = "f" if stat.S_ISREG(m) else "d" if stat.S_ISDIR(m) else \
                    "l" if stat.S_ISLNK(m) else "o"
                out[r] = Entry(kind, stat.S_IMODE(m), st.st_uid, st.st_gid,
                               st.st_size if kind == "f" else 0,
                               st.st_mtime_ns if kind != "l" else 0,
                               os.readlink(e.path) if kind == "l" else None,
                               st.st_ino, st.st_nlink, st.st_blocks)
                if kind == "d":
                    stack.append(r)
    return out


def _link_groups(ents):
    groups = {}
    for path, e in ents.items():
        if e.kind == "f" and e.nlink > 1:
            groups.setdefault(e.ino, []).append(path)
    return sorted(sorted(g) for g in groups.values())


def differences(src, dst, src_entries=None, links=True, limit=5):
    """Sentences naming up to `limit` differences between the trees src and
    dst (empty: equal). links=False skips hard-link groups (shutil does not
    keep them). src_entries: entries(src), if already known."""
    a = src_entries if src_entries is not None else entries(src)
    b = entries(dst)
    out = []
    for path in sorted(set(a) | set(b)):
        if len(out) >= limit:
            break
        ea, eb = a.get(path), b.get(path)
        if ea is None or eb is None:
            out.append(f"{path}: only in {'dst' if ea is None else 'src'}")
            continue
        fields = ("kind", "mode", "uid", "gid", "size", "mtime_ns", "target")
        diff = [f for f in fields if getattr(ea, f) != getattr(eb, f)]
        if diff:
            out.append(f"{path}: " + ", ".join(
                f"{f} {getattr(ea, f)!r} -> {getattr(eb, f)!r}" for f in diff))
    if links and len(out) < limit and _link_groups(a) != _link_groups(b):
        out.append(f"hard-link groups differ: {_link_groups(a)} -> {_link_groups(b)}")
    return out


def fiemap(path):
    """Yield (logical, physical, length, flags) for each extent of path, by
    FIEMAP (synced first)."""
    start, batch = 0, 64
    fd = os.open(path, os.O_RDONLY)
    try:
        while True:
            buf = bytearray(_HEAD.size + batch * _EXTENT.size)
            _HEAD.pack_into(buf, 0, start, (1 << 64) - 1 - start, FIEMAP_FLAG_SYNC, 0, batch, 0)
            fcntl.ioctl(fd, FS_IOC_FIEMAP, buf)
            mapped = _HEAD.unpack_from(buf, 0)[3]
            if mapped == 0:
                return
            last = False
            for i in range(mapped):
                logical, phys, length, _r1, _r2, flags, *_ = _EXTENT.unpack_from(
                    buf, _HEAD.size + i * _EXTENT.size)
                yield logical, phys, length, flags
                start = logical + length
                last = last or bool(flags & FIEMAP_EXTENT_LAST)
            if last:
                return
    finally:
        os.close(fd)


def shared_extents(path):
    """(extents flagged shared, data extents) of path by FIEMAP; extents
    whose data is inline in metadata (small files on btrfs) are not counted,
    since they cannot be shared."""
    shared = total = 0
    for _logical, _phys, _length, flags in fiemap(path):
        if not flags & FIEMAP_EXTENT_DATA_INLINE:
            total += 1
            shared += bool(flags & FIEMAP_EXTENT_SHARED)
    return shared, total


def physical_map(path, shared_only=False):
    """path's data as a tuple of (logical, physical, length) runs, runs
    contiguous both logically and physically merged, so two files whose data
    is the same blocks have equal maps. None for an empty file or one whose
    data is inline (btrfs). shared_only: only the runs flagged shared."""
    runs = []
    for logical, phys, length, flags in fiemap(path):
        if flags & FIEMAP_EXTENT_DATA_INLINE:
            return None
        if shared_only and not flags & FIEMAP_EXTENT_SHARED:
            continue
        if runs and runs[-1][0] + runs[-1][2] == logical and runs[-1][1] + runs[-1][2] == phys:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + length)
        else:
            runs.append((logical, phys, length))
    return tuple(runs) or None


def digest(path):
    """A 128-bit BLAKE2b digest of path's content."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                return h.digest()
            h.update(block)


def same_content(a, b, chunk=1 << 20):
    """Do files a and b hold the same bytes?"""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(chunk), fb.read(chunk)
            if x != y:
                return False
            if not x:
                return True
