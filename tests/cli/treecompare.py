"""treecompare.py - compare two directory trees attribute by attribute.

snapshot(root) walks a tree through directory descriptors only (os.open with
dir_fd, os.scandir on a descriptor), so trees deeper than PATH_MAX work, and
records for every entry: type, permission bits (07777), owner, group, mtime
in nanoseconds, extended attributes (POSIX ACLs and file capabilities
included), symlink target bytes, device numbers, regular file size, content
digest and data map (which byte ranges hold data: a sparse file made dense is
caught), and hard-link groups.

compare(a, b) returns a list of human-readable differences; empty means the
trees are equal in every attribute cp -a promises to keep. Names are bytes
throughout, so newlines and invalid UTF-8 in names are handled exactly.
"""
import errno
import hashlib
import os
import stat

SEEK_DATA, SEEK_HOLE = 3, 4


class Entry:
    __slots__ = ("kind", "mode", "uid", "gid", "mtime_ns", "xattrs", "target", "rdev",
                 "size", "digest", "data_map", "inode")

    def __repr__(self):
        return f"Entry({self.kind}, {oct(self.mode)}, size={self.size})"


def _kind(mode):
    for test, name in ((stat.S_ISDIR, "dir"), (stat.S_ISREG, "file"), (stat.S_ISLNK, "symlink"),
                       (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "chardev"), (stat.S_ISBLK, "blockdev")):
        if test(mode):
            return name
    return "unknown"


def _xattrs(proc_path, follow):
    """All xattrs of an entry, by a short /proc/self/fd/N/name path."""
    try:
        names = os.listxattr(proc_path, follow_symlinks=follow)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
            return {}
        raise
    out = {}
    for name in names:
        # SELinux labels are the destination's policy; the simulated Darwin
        # layer's record is its storage of Darwin-only metadata.
        if name in ("security.selinux", "user.com.apple.system.darwin-sim"):
            continue
        try:
            out[name] = os.getxattr(proc_path, name, follow_symlinks=follow)
        except OSError as e:
            if e.errno != errno.ENODATA:
                raise
    return out


def _file_facts(dir_fd, name):
    """Content digest and data map (data ranges, see _normalise_map)."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    try:
        size = os.fstat(fd).st_size
        ranges = []
        off = 0
        while off < size:
            try:
                data = os.lseek(fd, off, SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:
                    break
                raise
            hole = os.lseek(fd, data, SEEK_HOLE)
            ranges.append((data, hole))
            off = hole
        h = hashlib.sha256()
        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            h.update(chunk)
        return h.hexdigest(), _normalise_map(ranges, size)
    finally:
        os.close(fd)


def _normalise_map(ranges, size):
    """Data ranges in 64 KiB units: filesystems allocate differently at block
    and extent edges; what must match is where the holes are."""
    unit = 64 << 10
    out = []
    for start, end in ranges:
        s, e = start // unit, (min(end, size) + unit - 1) // unit
        if out and out[-1][1] >= s:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def snapshot(root, with_content=True):
    """{relative path (bytes): Entry} for root and everything below it."""
    out = {}
    root = os.fsencode(root)
    st = os.stat(root, follow_symlinks=False)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        out[b"."] = _entry_from(st, fd, None, with_content)
        _walk(fd, b"", out, with_content)
    finally:
        os.close(fd)
    return out


def _entry_from(st, dir_fd, name, with_content):
    e = Entry()
    e.kind = _kind(st.st_mode)
    e.mode = stat.S_IMODE(st.st_mode)
    e.uid, e.gid = st.st_uid, st.st_gid
    e.mtime_ns = st.st_mtime_ns
    e.inode = (st.st_dev, st.st_ino, st.st_nlink)
    e.rdev = st.st_rdev if e.kind in ("chardev", "blockdev") else None
    e.size = st.st_size if e.kind == "file" else None
    e.target = None
    e.digest = e.data_map = None
    # A short path whatever the depth; the final name itself is not followed
    # (the root is reached through the /proc magic link, which must be).
    proc = f"/proc/self/fd/{dir_fd}" + ("" if name is None else "/" + os.fsdecode(name))
    e.xattrs = _xattrs(proc, follow=name is None)
    if e.kind == "symlink":
        e.target = os.readlink(name, dir_fd=dir_fd)
    elif e.kind == "file" and with_content:
        e.digest, e.data_map = _file_facts(dir_fd, name)
    return e


def _walk(dir_fd, prefix, out, with_content):
    for d in os.scandir(dir_fd):
        name = os.fsencode(d.name)
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        rel = prefix + name
        out[rel] = _entry_from(st, dir_fd, name, with_content)
        if stat.S_ISDIR(st.st_mode):
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            try:
                _walk(sub, rel + b"/", out, with_content)
            finally:
                os.close(sub)


def link_groups(snap):
    """Hard-link groups: sets of paths sharing an inode (regular files only)."""
    by_inode = {}
    for path, e in snap.items():
        if e.kind == "file" and e.inode[2] > 1:
            by_inode.setdefault(e.inode[:2], set()).add(path)
    return sorted(sorted(g) for g in by_inode.values() if len(g) > 1)


def compare(a, b, check_owner=True, ignore_xattrs=()):
    """Differences between two trees (roots or snapshots), as strings;
    xattrs named in ignore_xattrs are not compared."""
    sa = a if isinstance(a, dict) else snapshot(a)
    sb = b if isinstance(b, dict) else snapshot(b)
    diffs = []
    for path in sorted(set(sa) | set(sb)):
        ea, eb = sa.get(path), sb.get(path)
        shown = path.decode(errors="backslashreplace")
        if ea is None or eb is None:
            diffs.append(f"{shown}: only in {'second' if ea is None else 'first'} tree")
            continue
        fields = ["kind", "mode", "mtime_ns", "xattrs", "target", "rdev", "size", "digest",
                  "data_map"]
        if check_owner:
            fields += ["uid", "gid"]
        if ea.kind == "symlink":
            fields.remove("mode")  # Linux symlinks are always 0777
        for f in fields:
            va, vb = getattr(ea, f), getattr(eb, f)
            if f == "xattrs" and ignore_xattrs:
                va = {k: v for k, v in va.items() if k not in ignore_xattrs}
                vb = {k: v for k, v in vb.items() if k not in ignore_xattrs}
            if va != vb:
                if f == "xattrs":
                    keys = sorted(set(va) ^ set(vb) | {k for k in va if k in vb and va[k] != vb[k]})
                    diffs.append(f"{shown}: xattrs differ: {keys}")
                else:
                    diffs.append(f"{shown}: {f} {va!r} != {vb!r}")
    ga, gb = link_groups(sa), link_groups(sb)
    if ga != gb:
        diffs.append(f"hard-link groups differ: {ga} != {gb}")
    return diffs
