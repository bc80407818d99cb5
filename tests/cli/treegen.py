"""treegen.py - generate test trees with everything cp -a must keep.

make_tree(root, seed) builds, deterministically for a seed: nested
directories, files from a few bytes to megabytes, a sparse file, symlinks
(relative, absolute, dangling), hard links across directories, a FIFO, a
Unix socket, a character device, user xattrs, POSIX ACLs (file and default),
a file capability, a read-only directory, odd names (spaces, a newline,
invalid UTF-8, a leading dash), odd modes (setuid, sticky) and owners, and
nanosecond timestamps on everything (set last, directories deepest first).
"""
import os
import random
import socket
import stat
import subprocess


def _write(path, size, rng):
    with open(path, "wb") as f:
        f.write(rng.randbytes(size))


def make_tree(root, seed=1, files=60, max_size=3 << 20, extras=True):
    """Build the tree at root (bytes or str). @return the list of relative paths made."""
    rng = random.Random(seed)
    root = os.fsencode(root)
    os.makedirs(root)
    dirs = [root]
    for i in range(8):  # dir0..dir7 at the top, for the extras below
        d = os.path.join(root, b"dir%d" % i)
        os.mkdir(d)
        dirs.append(d)
    for i in range(6):  # and some nesting
        d = os.path.join(rng.choice(dirs), b"nest%d" % i)
        os.mkdir(d)
        dirs.append(d)
    made = []
    for i in range(files):
        d = rng.choice(dirs)
        # Mostly small files, a few up to max_size.
        size = min(max_size, rng.choice([0, 1, 17, 4095, 4096, 4097, rng.randrange(1, 65536),
                                         rng.randrange(65536, max(max_size, 65537))]))
        p = os.path.join(d, b"file%d" % i)
        _write(p, size, rng)
        made.append(p)
    if not extras:
        _set_times(root, rng)
        return made

    odd = [b"with space", b"new\nline", b"bad\xffutf8", b"-dash", b"quote'\"", b"\xc3\xa9t\xc3\xa9"]
    for name in odd:
        _write(os.path.join(root, b"dir1", name), rng.randrange(0, 5000), rng)

    # A sparse file: 64 MiB with two data islands.
    sparse = os.path.join(root, b"dir2", b"sparse")
    with open(sparse, "wb") as f:
        f.seek(5 << 20)
        f.write(rng.randbytes(100000))
        f.seek(40 << 20)
        f.write(rng.randbytes(4096))
        f.truncate(64 << 20)

    # Links.
    os.symlink(b"file0", os.path.join(root, b"rel-link"))
    os.symlink(b"../dir1/with space", os.path.join(root, b"dir3", b"up-link"))
    os.symlink(b"/etc/hostname", os.path.join(root, b"abs-link"))
    os.symlink(b"no/such/target", os.path.join(root, b"dir4", b"dangling"))
    target = made[1]
    os.link(target, os.path.join(root, b"dir5", b"hardlink-a"))
    os.link(target, os.path.join(root, b"dir6", b"hardlink-b"))
    os.link(made[2], os.path.join(root, b"hardlink-c"))

    # Special files.
    os.mkfifo(os.path.join(root, b"dir3", b"fifo"), 0o640)
    sock_path = os.path.join(root, b"dir4", b"socket")
    s = socket.socket(socket.AF_UNIX)
    s.bind(sock_path)
    s.close()
    os.mknod(os.path.join(root, b"dir5", b"null-dev"), 0o600 | stat.S_IFCHR, os.makedev(1, 3))

    # Attributes.
    os.setxattr(made[3], b"user.colour", b"blue")
    os.setxattr(made[3], b"user.binary", bytes(range(256)))
    os.setxattr(os.path.join(root, b"dir2"), b"user.dir-attr", b"yes")
    subprocess.run([b"setfacl", b"-m", b"u:1234:rw,g:5678:r", made[4]], check=True)
    subprocess.run([b"setfacl", b"-d", b"-m", b"u:1234:rwx", os.path.join(root, b"dir6")],
                   check=True)
    subprocess.run([b"setcap", b"cap_net_bind_service+ep", made[5]], check=True)
    os.chown(made[6], 1234, 5678)
    os.chmod(made[7], 0o4755)
    os.chmod(made[8], 0o640)
    os.chmod(os.path.join(root, b"dir3"), 0o1777)
    os.lchown(os.path.join(root, b"rel-link"), 4321, 8765)

    _set_times(root, rng)
    # A read-only directory with a file in it (mode set after its content).
    ro = os.path.join(root, b"dir7")
    os.chmod(ro, 0o555)
    return made


def _set_times(root, rng):
    """Nanosecond mtimes everywhere, deepest first so directories keep theirs."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames + dirnames:
            entries.append(os.path.join(dirpath, n))
    entries.sort(key=lambda p: -p.count(b"/"))
    for p in entries + [root]:
        t = rng.randrange(10 ** 17, 17 * 10 ** 17)
        os.utime(p, ns=(t + 1, t), follow_symlinks=False)


def make_deep(root, depth=24, name_len=200):
    """A chain of directories whose total path is longer than PATH_MAX (4096),
    made through directory descriptors, with a file at the bottom.
    @return the depth made."""
    os.makedirs(root)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for level in range(depth):
            name = (b"%03d" % level) + b"d" * (name_len - 3)
            os.mkdir(name, dir_fd=fd)
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = sub
        leaf = os.open(b"bottom", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, b"deep data\n" * 1000)
        os.close(leaf)
    finally:
        os.close(fd)
    return depth
