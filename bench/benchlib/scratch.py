"""scratch.py - loop-mounted scratch filesystems for benchmarks, always removed.

    with Scratch() as s:                     # /tmp/cowcopy-bench.XXXXXX
        btrfs = s.mount("btrfs", "4G")       # sparse image, mkfs, mount -o loop
        xfs = s.mount("xfs", "4G")           # mkfs.xfs -m reflink=1
        ...
        s.unmount("btrfs")                   # done with it: free its memory and disk
    # everything below the scratch directory is unmounted and removed here

Removal happens on normal exit, on exceptions, on Ctrl-C (KeyboardInterrupt)
and on SIGTERM/SIGHUP, which are turned into SystemExit while a Scratch is
open. A run killed with SIGKILL leaves its directory behind; the next
Scratch() removes every /tmp/cowcopy-bench.* whose owner.pid is no longer
alive (the same convention as tests/lib/scratch.sh), and leaves runs in
progress alone. Loop devices come from `mount -o loop`, which detaches them
on unmount (autoclear).

ext4 is made with lazy_itable_init=0,lazy_journal_init=0 so no background
ext4lazyinit thread writes to it while it is measured.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

PREFIX = "/tmp/cowcopy-bench."

# kind -> mkfs command (the image path is appended)
MKFS = {
    "btrfs": ["mkfs.btrfs", "-q", "-f"],
    "xfs": ["mkfs.xfs", "-q", "-f", "-m", "reflink=1"],
    "xfs_noreflink": ["mkfs.xfs", "-q", "-f", "-m", "reflink=0"],
    "ext4": ["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"],
}


def log(msg):
    print(f"scratch: {msg}", file=sys.stderr, flush=True)


def _mounts_below(directory):
    """Mount points strictly below directory, deepest first."""
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            target = line.split()[1].encode().decode("unicode_escape")
            if target.startswith(directory.rstrip("/") + "/"):
                found.append(target)
    return sorted(found, key=len, reverse=True)


def _unmount(target):
    if subprocess.run(["umount", target], stderr=subprocess.DEVNULL).returncode != 0:
        # Busy (a process still has a file open there): detach it now; the
        # kernel finishes when the last user goes, and autoclear frees the loop.
        subprocess.run(["umount", "-l", target], stderr=subprocess.DEVNULL)


def remove_dir(directory):
    """Unmount everything below directory (deepest first), then remove it."""
    for target in _mounts_below(directory):
        _unmount(target)
    shutil.rmtree(directory, ignore_errors=True)


def clean_stale():
    """Remove scratch directories of earlier runs whose owner is gone."""
    parent = os.path.dirname(PREFIX)
    for name in sorted(os.listdir(parent)):
        path = os.path.join(parent, name)
        if not path.startswith(PREFIX) or not os.path.isdir(path):
            continue
        try:
            with open(os.path.join(path, "owner.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            continue  # its owner still runs
        except (OSError, ValueError):
            pass
        log(f"removing leftovers of an earlier run: {path}")
        remove_dir(path)


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


class Scratch:
    """A scratch directory with loop-mounted filesystems; a context manager."""

    def __init__(self):
        self.root = None
        self.mounts = {}  # name -> mount point
        self._old_handlers = {}

    def __enter__(self):
        if os.geteuid() != 0:
            raise SystemExit("benchmarks need root: they mount scratch filesystems")
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, _raise_exit)
        clean_stale()
        self.root = tempfile.mkdtemp(prefix=os.path.basename(PREFIX), dir=os.path.dirname(PREFIX))
        os.chmod(self.root, 0o755)
        with open(os.path.join(self.root, "owner.pid"), "w") as f:
            f.write(f"{os.getpid()}\n")
        return self

    def __exit__(self, *exc):
        # No signal may interrupt the cleanup itself.
        blocked = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            self.teardown()
        finally:
            for sig, handler in self._old_handlers.items():
                signal.signal(sig, handler)
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        return False

    def teardown(self):
        if self.root and os.path.isdir(self.root):
            if (os.getcwd() + "/").startswith(self.root + "/"):
                os.chdir("/")  # do not hold a mount busy
            remove_dir(self.root)
        self.root = None
        self.mounts = {}

    def mount(self, kind, size="4G", name=None):
        """Make and mount a filesystem of `kind` (a key of MKFS, or "tmpfs")
        on a sparse image of `size`; @return its mount point."""
        name = name or kind
        mnt = os.path.join(self.root, name)
        os.mkdir(mnt)
        if kind == "tmpfs":
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=1777", "tmpfs", mnt],
                           check=True)
        else:
            img = os.path.join(self.root, name + ".img")
            with open(img, "wb") as f:
                f.truncate(_parse_size(size))
            r = subprocess.run(MKFS[kind] + [img], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"{MKFS[kind][0]} failed for {name}: {r.stderr.strip()}")
            r = subprocess.run(["mount", "-o", "loop", img, mnt], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"cannot mount {name}: {r.stderr.strip()}")
        os.chmod(mnt, 0o1777)
        self.mounts[name] = mnt
        return mnt

    def unmount(self, name):
        """Unmount the filesystem `name` and remove its image and mount
        point, freeing its page cache and disk space for the next case."""
        mnt = self.mounts.pop(name)
        if (os.getcwd() + "/").startswith(mnt + "/"):
            os.chdir("/")
        _unmount(mnt)
        os.rmdir(mnt)
        img = os.path.join(self.root, name + ".img")
        if os.path.exists(img):
            os.unlink(img)


def _parse_size(size):
    """"4G", "512M", "300K" or a number of bytes -> bytes (powers of 1024)."""
    if isinstance(size, int):
        return size
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if size[-1].upper() in units:
        return int(float(size[:-1]) * units[size[-1].upper()])
    return int(size)
