"""python_package.py - issue 6's benchmark: the Python package against what
Python programs use today, on a fresh 8 GiB loop-mounted scratch btrfs.

Cases, each side timed in this process (Debian's /usr/bin/python3) with
perf_counter around the call, the two sides interleaved in pairs (order per
pair from a fixed seed):
  tree   cowcopy.copytree(src, dst, symlinks=True) vs
         shutil.copytree(src, dst, symlinks=True) on issue 3's tree
         (20,000 files of 1-64 KiB in 1,000 directories, 20 of 1-8 MiB,
         one 512 MiB file, one 1 GiB sparse file with 16 MiB of data,
         symlinks, 2 dangling, a hard link; seed 3)       target A/B <= 1/5
  file   cowcopy.copyfile(src, dst) vs shutil.copyfile(src, dst) on a
         512 MiB file of random bytes (seed 6)             target A/B <= 1/100
  each   5,000 files of 4-64 KiB (seed 6) cloned one by one from a Python
         loop: cowcopy.copyfile(s, d) vs
         subprocess.run(["cp", "--reflink=always", s, d], check=True)
                                                           target A/B <= 1/20
symlinks=True on both sides because the tree holds dangling symlinks, which
copytree's default (follow them) reports as errors.

The package is the release build that `make python` installs into
build/python-release (COWCOPY_PYTHON_RELEASE names another directory),
imported as a user with PYTHONPATH would; the benchmark refuses a build with
fault injection compiled in, and one older than the sources.

Before every run, untimed and alike for both sides: the last output removed
(for "each", the destination directory made again, empty), the scratch
filesystem and the one beneath its image synced, the inputs read into the
page cache ("warm"). After every run: the output has every entry with the
source's sizes. After the first run of each side, fully: every regular
file's bytes equal the source's; cowcopy's files share all their extents
with the source (filefrag -v, FIEMAP; btrfs inline data, which cannot be
shared, excepted) and shutil's share none; cp's clones are checked the same
way.
"""
import os
import subprocess
import sys

from benchlib import cache, gen, measure, report, treecheck

NAME = "python"
TITLE = ("the Python package on btrfs: `cowcopy.copytree`, `cowcopy.copyfile` and per-file "
         "clones vs `shutil` and `cp` per file")
ISSUE = 6
NEEDS = ["mkfs.btrfs:btrfs-progs", "filefrag:e2fsprogs", "cp:coreutils"]

IMAGE = "8G"
SEED = 6
TREE_SEED = 3  # issue 3's tree, as its own benchmarks generate it
TREE = gen.TreeSpec(small_files=20000, dirs=1000, medium_files=20, big_files=[512 << 20],
                    sparse_files=[(1 << 30, 16 << 20)], symlinks=20, dangling_symlinks=2,
                    hardlinks=1)
FILE_SIZE = 512 << 20
EACH_FILES = 5000
EACH_SPEC = gen.TreeSpec(small_files=EACH_FILES, small_min=4 << 10, small_max=64 << 10, dirs=1)

# (case, default pairs, target for cowcopy/other: at least 5x, 100x, 20x faster)
TREE_PAIRS, FILE_PAIRS, EACH_PAIRS = 9, 21, 9
TREE_TARGET, FILE_TARGET, EACH_TARGET = 1 / 5, 1 / 100, 1 / 20


# ------------------------------------------------------------ the package

def load_package(top):
    """Import cowcopy from the release build. @return (module, directory)."""
    where = os.path.abspath(os.environ.get("COWCOPY_PYTHON_RELEASE",
                                           os.path.join(top, "build", "python-release")))
    init = os.path.join(where, "cowcopy", "__init__.py")
    if not os.path.isfile(init):
        raise measure.BenchmarkError(f"no cowcopy package in {where}: run `make python`")
    newest = max(os.path.getmtime(os.path.join(d, n))
                 for sub in ("src", "include", os.path.join("python", "cowcopy"))
                 for d, _, names in os.walk(os.path.join(top, sub)) for n in names
                 if n.endswith((".c", ".h", ".py", ".pyi")))
    if os.path.getmtime(init) < newest:
        raise measure.BenchmarkError(f"the package in {where} is older than the sources: "
                                     "run `make python`")
    sys.path.insert(0, where)
    import cowcopy
    if os.path.dirname(os.path.dirname(os.path.abspath(cowcopy.__file__))) != where:
        raise measure.BenchmarkError(f"imported cowcopy from {cowcopy.__file__}, not {where}")
    if cowcopy._cowcopy.TESTING:
        raise measure.BenchmarkError(f"{where} holds a build with fault injection")
    return cowcopy, where


# ------------------------------------------------------------ checks

def regular_files(root):
    """{relative path: size} of the regular files under root (not links)."""
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            if not os.path.islink(p):
                out[os.path.relpath(p, root)] = os.path.getsize(p)
    return out


def entries(root):
    """Sorted (relative path, kind, size) of everything under root."""
    out = []
    for dirpath, dirs, names in os.walk(root):
        for n in dirs + names:
            p = os.path.join(dirpath, n)
            kind = "l" if os.path.islink(p) else "d" if os.path.isdir(p) else "f"
            out.append((os.path.relpath(p, root), kind,
                        os.path.getsize(p) if kind == "f" else 0))
    return sorted(out)


def extent_flags(paths):
    """{path: [flags of each extent]} from `filefrag -v` (FIEMAP), a few
    hundred files per call."""
    out = {}
    for i in range(0, len(paths), 500):
        chunk = paths[i:i + 500]
        text = subprocess.run(["filefrag", "-v", *chunk], capture_output=True, text=True,
                              check=True).stdout
        current = None
        for line in text.splitlines():
            if line.startswith("File size of "):
                current = line[len("File size of "):line.rindex(" is ")]
                out[current] = []
            elif current and ":" in line and line.strip()[:1].isdigit():
                out[current].append(line.rsplit(":", 1)[1].strip())
    return out


def check_copy(src, dst, clone, files=None):
    """The full check of one output: files (relative paths; default all)
    have src's bytes; with clone every extent is shared (inline data
    excepted), without it none. Raises BenchmarkError."""
    names = sorted(files if files is not None else regular_files(src))
    for rel in names:
        if treecheck.digest(os.path.join(src, rel)) != treecheck.digest(os.path.join(dst, rel)):
            raise measure.BenchmarkError(f"{dst}/{rel} differs from its source")
    flags = extent_flags([os.path.join(dst, rel) for rel in names])
    for rel in names:
        rows = flags.get(os.path.join(dst, rel), [])
        placed = [f for f in rows if "inline" not in f]
        shared = sum("shared" in f for f in placed)
        if clone and shared != len(placed):
            raise measure.BenchmarkError(f"{dst}/{rel} is not a clone "
                                         f"({shared} of {len(placed)} extents shared)")
        if not clone and shared:
            raise measure.BenchmarkError(f"{dst}/{rel} shares {shared} extents")


def make_check(src, dst, clones, cheap, files=None):
    """After every run the cheap check; after the first of each side the
    full one (clones: {side name: whether its copies must be clones})."""
    verified = set()

    def check(side, _run):
        cheap(side)
        if side.name not in verified:
            check_copy(src, dst, clones[side.name], files)
            verified.add(side.name)

    return check


# ------------------------------------------------------------ cases

def run_pairs(ctx, section, label, a, b, pairs, target, prepare, check):
    """Pairs of a and b; a row of the ratio table and the raw detail."""
    ctx.log(f"{label}: {pairs} pairs of `{a.command()}` and `{b.command()}`")
    res = measure.compare(a, b, pairs, prepare=prepare, check=check, seed=SEED,
                          progress=lambda t: ctx.log(f"{label}: {t}"))
    row = report.ratio_row(label, res, target)
    section.passed &= row.verdict.passed
    section.commands += [(f"{label} A", a.command()), (f"{label} B", b.command())]
    section.raw.append(report.pairs_detail(label, res))
    warning = report.order_effect(label, res)
    if warning:
        section.notes.append(warning)
    return row


def tree_case(ctx, cowcopy, mnt, section):
    import shutil
    src, dst = os.path.join(mnt, "tree"), os.path.join(mnt, "tree-copy")
    ctx.log(f"tree: generating issue 3's tree at {src} (seed {TREE_SEED})")
    gen.make_tree(src, TREE, seed=TREE_SEED)
    cache.sync(mnt)
    want = entries(src)

    def a():
        """cowcopy.copytree(src, dst, symlinks=True)"""
        cowcopy.copytree(src, dst, symlinks=True)

    def b():
        """shutil.copytree(src, dst, symlinks=True)"""
        shutil.copytree(src, dst, symlinks=True)

    def cheap(side):
        if entries(dst) != want:
            raise measure.BenchmarkError(f"tree {side.name}: the copy differs from the source")

    def prepare(_side):
        cache.prepare("warm", inputs=[src], remove=[dst], fs=mnt)

    check = make_check(src, dst, {"cowcopy": True, "shutil": False}, cheap)
    return run_pairs(ctx, section, "tree: 20,000 files", measure.Side("cowcopy", fn=a),
                     measure.Side("shutil", fn=b), ctx.pairs(TREE_PAIRS), TREE_TARGET, prepare,
                     check)


def file_case(ctx, cowcopy, mnt, section):
    import shutil
    src, dst = os.path.join(mnt, "file"), os.path.join(mnt, "file-copy")
    ctx.log(f"file: writing {FILE_SIZE >> 20} MiB of random bytes (seed {SEED})")
    gen.write_random_file(src, FILE_SIZE, seed=SEED)

    def a():
        """cowcopy.copyfile(src, dst)"""
        cowcopy.copyfile(src, dst)

    def b():
        """shutil.copyfile(src, dst)"""
        shutil.copyfile(src, dst)

    def cheap(side):
        if os.path.getsize(dst) != FILE_SIZE:
            raise measure.BenchmarkError(f"file {side.name}: dst has the wrong size")

    def prepare(_side):
        cache.prepare("warm", inputs=[src], remove=[dst], fs=mnt)

    clones = {"cowcopy": True, "shutil": False}
    verified = set()

    def check(side, _run):
        cheap(side)
        if side.name not in verified:
            if treecheck.digest(src) != treecheck.digest(dst):
                raise measure.BenchmarkError(f"file {side.name}: dst differs from src")
            flags = extent_flags([dst])[dst]
            shared = sum("shared" in f for f in flags)
            if clones[side.name] and (not flags or shared != len(flags)):
                raise measure.BenchmarkError(f"file {side.name}: not a clone "
                                             f"({shared} of {len(flags)} extents shared)")
            if not clones[side.name] and shared:
                raise measure.BenchmarkError(f"file {side.name}: dst shares {shared} extents")
            verified.add(side.name)

    return run_pairs(ctx, section, "file: 512 MiB", measure.Side("cowcopy", fn=a),
                     measure.Side("shutil", fn=b), ctx.pairs(FILE_PAIRS), FILE_TARGET, prepare,
                     check)


def each_case(ctx, cowcopy, mnt, section):
    src, dst = os.path.join(mnt, "each"), os.path.join(mnt, "each-copy")
    ctx.log(f"each: generating {EACH_FILES:,} files of 4-64 KiB (seed {SEED})")
    gen.make_tree(src, EACH_SPEC, seed=SEED)
    cache.sync(mnt)
    rels = sorted(regular_files(src))
    pairs_of_paths = [(os.path.join(src, r), os.path.join(dst, r)) for r in rels]
    dirs = sorted({os.path.dirname(d) for _, d in pairs_of_paths})

    def a():
        """for s, d in files: cowcopy.copyfile(s, d)"""
        for s, d in pairs_of_paths:
            cowcopy.copyfile(s, d)

    def b():
        """for s, d in files: subprocess.run(["cp", "--reflink=always", s, d], check=True)"""
        for s, d in pairs_of_paths:
            subprocess.run(["cp", "--reflink=always", s, d], check=True)

    def cheap(side):
        if len(regular_files(dst)) != len(rels):
            raise measure.BenchmarkError(f"each {side.name}: files are missing")

    def prepare(_side):
        cache.prepare("warm", inputs=[src], remove=[dst], fs=mnt)
        for d in dirs:
            os.makedirs(d)

    check = make_check(src, dst, {"cowcopy": True, "cp": True}, cheap)
    return run_pairs(ctx, section, "each: 5,000 files", measure.Side("cowcopy", fn=a),
                     measure.Side("cp", fn=b), ctx.pairs(EACH_PAIRS), EACH_TARGET, prepare,
                     check)


def run(ctx):
    cowcopy, where = load_package(ctx.top)
    section = report.Section(NAME, TITLE, ISSUE)
    mnt = ctx.scratch.mount("btrfs", IMAGE)
    rows = [tree_case(ctx, cowcopy, mnt, section)]
    cache.remove_path(os.path.join(mnt, "tree"))
    rows.append(file_case(ctx, cowcopy, mnt, section))
    cache.remove_path(os.path.join(mnt, "file"))
    rows.append(each_case(ctx, cowcopy, mnt, section))
    section.tables.append(report.ratio_table(rows))
    section.notes.append(
        "Speed-ups (B/A, the inverse of the median ratio): "
        + "; ".join(f"{r.case} {1 / r.ratio.median:.3g}x, quartiles {1 / r.ratio.q3:.3g}x–"
                    f"{1 / r.ratio.q1:.3g}x (target {1 / r.target:.3g}x)" for r in rows) + ".")
    section.notes.append(
        f"Both sides are Python calls timed in the benchmark's own process (Debian's "
        f"/usr/bin/python3 {sys.version.split()[0]}), with cowcopy {cowcopy.__version__} "
        f"imported from the release build in {os.path.relpath(where, ctx.top)} (`make "
        f"python`), on a fresh {IMAGE}iB loop-mounted btrfs; `src` and `dst` are absolute "
        "paths there. tree: issue 3's tree (20,000 files of 1–64 KiB in 1,000 directories, "
        "20 of 1–8 MiB, one 512 MiB file, one 1 GiB sparse file holding 16 MiB, 20 "
        f"symlinks, 2 dangling, one hard link; seed {TREE_SEED}); file: 512 MiB of random "
        f"bytes; each: {EACH_FILES:,} files of 4–64 KiB in one directory, copied one call "
        f"(or one `cp` process) per file (seed {SEED}). Before every run, untimed: the "
        "output removed (each: its directory made again), syncfs + sync, the inputs read "
        "into the page cache. Checked after every run: every entry there with its size; "
        "after the first of each side: every byte, and every extent shared with the source "
        "for cowcopy and cp (filefrag -v; btrfs inline data excepted), none for shutil, "
        "which copies (os.sendfile) and writes the sparse file's holes out.")
    return section
