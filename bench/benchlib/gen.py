"""gen.py - benchmark data made from fixed seeds: files, sparse files, trees.

The same seed gives the same bytes, names and layout on every machine (the
generator is Python's Mersenne Twister, whose output is stable across
versions). Content is incompressible random data, so no filesystem or tool
can shortcut it.

    write_random_file(path, 512 << 20, seed=1)
    write_sparse_file(path, 1 << 30, data_bytes=2 << 20, seed=2)
    info = make_tree(root, TreeSpec(small_files=20000, dirs=1000, ...), seed=3)

make_tree is deterministic, so a "fresh tree per tool and per repetition"
(needed when a tool changes the tree, e.g. dedupe) is simply make_tree again
with the same seed into an empty directory; TreeInfo says what was made
(counts, bytes, and the duplicate groups for checking dedupe results).
"""
import os
import random
from dataclasses import dataclass, field, replace

CHUNK = 1 << 20


def random_bytes(seed, size):
    """`size` bytes determined by `seed` (any hashable: int, str, tuple as str)."""
    return random.Random(seed).randbytes(size)


def write_random_file(path, size, seed, chunk=CHUNK):
    """Write `size` random bytes determined by `seed` to path."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(chunk, left)
            f.write(rng.randbytes(n))
            left -= n


def write_sparse_file(path, size, data_bytes, seed, extents=8):
    """A file of apparent `size` holding `data_bytes` of random data in
    `extents` equal runs spread evenly, holes between (4 KiB aligned)."""
    rng = random.Random(seed)
    per = (data_bytes // extents) // 4096 * 4096
    stride = size // extents // 4096 * 4096
    with open(path, "wb") as f:
        for i in range(extents):
            if per == 0:
                break
            f.seek(i * stride)
            left = per
            while left > 0:
                n = min(CHUNK, left)
                f.write(rng.randbytes(n))
                left -= n
        f.truncate(size)


@dataclass
class TreeSpec:
    """What make_tree builds. Sizes are in bytes, drawn uniformly in [min, max]."""
    small_files: int = 0
    small_min: int = 1 << 10
    small_max: int = 64 << 10
    dirs: int = 1                 # small and medium files are spread over this many
    medium_files: int = 0
    medium_min: int = 1 << 20
    medium_max: int = 8 << 20
    big_files: list = field(default_factory=list)      # sizes of dense big files
    sparse_files: list = field(default_factory=list)   # (apparent size, data bytes)
    symlinks: int = 0             # relative symlinks to files of the tree
    dangling_symlinks: int = 0
    hardlinks: int = 0            # extra names for existing small files
    dup_fraction: float = 0.0     # share of small/medium files that copy an earlier one of their class
    empty_files: int = 0

    def with_small_files(self, n):
        """The same tree with n small files, 20 per directory (the scale
        benchmarks' 20,000 and 200,000-file trees)."""
        return replace(self, small_files=n, dirs=n // 20)


@dataclass
class TreeInfo:
    files: int = 0                # regular files (each hard link counted once)
    dirs: int = 0
    symlinks: int = 0
    hardlinks: int = 0
    bytes: int = 0                # apparent size of all regular files
    data_bytes: int = 0           # bytes of data written (holes excluded)
    dup_files: int = 0            # files whose content repeats an earlier file
    dup_bytes: int = 0            # bytes a perfect dedupe could free
    groups: dict = field(default_factory=dict)  # content id -> [relative paths]


def dir_name(i):
    """Relative path of directory number i: 32 top directories, nested one level."""
    return f"d{i % 32:02d}/s{i:04d}"


def make_tree(root, spec, seed):
    """Build the tree described by spec under root (created if missing).
    @return a TreeInfo."""
    rng = random.Random(seed)
    info = TreeInfo()
    os.makedirs(root, exist_ok=True)
    for i in range(spec.dirs):
        os.makedirs(os.path.join(root, dir_name(i)), exist_ok=True)
    info.dirs = spec.dirs + min(spec.dirs, 32)

    regular = []  # relative paths of small/medium files, for links
    contents = []  # (content id, size) of files made so far, for duplicates
    # A duplicate repeats an earlier file of its own class (small or medium),
    # so medium duplicates stay 1-8 MiB. The draw of rng.random() is the
    # same whatever dup_fraction is, so trees without duplicates do not change.
    by_class = {"small": [], "medium": []}

    def emit(rel, size, cls):
        earlier = by_class[cls]
        if contents and rng.random() < spec.dup_fraction and earlier:
            cid, size = earlier[rng.randrange(len(earlier))]
            info.dup_files += 1
            info.dup_bytes += size
        else:
            cid = len(contents)
            contents.append((cid, size))
            earlier.append((cid, size))
        with open(os.path.join(root, rel), "wb") as f:
            f.write(random_bytes(f"{seed}:{cid}", size))
        info.groups.setdefault(cid, []).append(rel)
        info.files += 1
        info.bytes += size
        info.data_bytes += size
        regular.append(rel)

    for i in range(spec.small_files):
        emit(f"{dir_name(i % spec.dirs)}/f{i:06d}", rng.randint(spec.small_min, spec.small_max),
             "small")
    for i in range(spec.medium_files):
        emit(f"{dir_name(i % spec.dirs)}/m{i:04d}", rng.randint(spec.medium_min, spec.medium_max),
             "medium")
    for i in range(spec.empty_files):
        open(os.path.join(root, f"{dir_name(i % spec.dirs)}/e{i:04d}"), "wb").close()
        info.files += 1
    for i, size in enumerate(spec.big_files):
        write_random_file(os.path.join(root, f"big{i}"), size, seed=f"{seed}:big{i}")
        info.files += 1
        info.bytes += size
        info.data_bytes += size
    for i, (size, data) in enumerate(spec.sparse_files):
        write_sparse_file(os.path.join(root, f"sparse{i}"), size, data, seed=f"{seed}:sparse{i}")
        info.files += 1
        info.bytes += size
        info.data_bytes += data
    for i in range(spec.symlinks):
        target = regular[rng.randrange(len(regular))]
        os.symlink(target, os.path.join(root, f"link{i}"))  # relative to root
        info.symlinks += 1
    for i in range(spec.dangling_symlinks):
        os.symlink(f"missing-target-{i}", os.path.join(root, f"dangling{i}"))
        info.symlinks += 1
    for i in range(spec.hardlinks):
        target = regular[rng.randrange(len(regular))]
        os.link(os.path.join(root, target), os.path.join(root, f"hardlink{i}"))
        info.hardlinks += 1
    info.groups = {cid: paths for cid, paths in info.groups.items() if len(paths) > 1}
    return info
