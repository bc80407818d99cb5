"""tree_common.py - what the tree benchmarks (cp-tree, cp-tree-threads,
cp-tree-scale) share: issue 3's tree, its peers per filesystem, the
preparation before each run and the checks after it. Not a benchmark itself
(no NAME).

The tree (issue 3): 20,000 small files of 1 to 64 KiB in 1,000 directories
(32 top directories, nested one level), 20 files of 1 to 8 MiB, one 512 MiB
file, one 1 GiB sparse file holding 16 MiB of data in 8 runs, 20 symlinks
to files of the tree, 2 dangling symlinks and one hard link; random
incompressible contents from seed 3.
"""
import os
from benchlib import cache, gen, measure, treecheck

SEED = 3
SPEC = gen.TreeSpec(small_files=20000, dirs=1000, medium_files=20, big_files=[512 << 20],
                    sparse_files=[(1 << 30, 16 << 20)], symlinks=20, dangling_symlinks=2,
                    hardlinks=1)


# filesystem -> (what the copy is, the peer's cp arguments, issue 3's target for cowcopy/peer)
PEERS = {
    "xfs": ("clone", ["cp", "-a", "--reflink=always"], 0.85),
    "btrfs": ("clone", ["cp", "-a", "--reflink=always"], 1.0),
    "ext4": ("copy", ["cp", "-a"], 1.0),
}

NEEDS = ["mkfs.btrfs:btrfs-progs", "mkfs.xfs:xfsprogs", "mkfs.ext4:e2fsprogs",
         "strace:strace", "/usr/bin/time:time"]

SHUTIL = ("import shutil; shutil.copytree({src!r}, {dst!r}, symlinks=True, "
          "copy_function=shutil.copy2)")


def describe(spec=SPEC):
    return (f"{spec.small_files:,} files of 1–64 KiB in {spec.dirs:,} directories, "
            f"{spec.medium_files} of 1–8 MiB, one 512 MiB file, one 1 GiB sparse file "
            f"(16 MiB of data), {spec.symlinks} symlinks, {spec.dangling_symlinks} dangling "
            f"symlinks, {spec.hardlinks} hard link; seed {SEED}")


def make_source(ctx, mnt, name="src", spec=SPEC):
    """Generate the tree at mnt/name. @return its treecheck.entries()."""
    src = os.path.join(mnt, name)
    ctx.log(f"{os.path.basename(mnt)}: generating {name}: {describe(spec)}")
    info = gen.make_tree(src, spec, seed=SEED)
    cache.sync(mnt)
    ents = treecheck.entries(src)
    files = sum(e.kind == "f" for e in ents.values())
    if files != info.files + info.hardlinks:
        raise measure.BenchmarkError(f"generated {files} files, expected {info.files}")
    return ents


def cowcopy_side(ctx, mnt, src="src", dst="dst", jobs=None, name="cowcopy"):
    argv = [ctx.cowcopy, "cp", "-a"] + ([f"-j{jobs}"] if jobs else []) + [src, dst]
    return measure.Side(name, argv=argv, cwd=mnt)


def peer_side(fs, mnt, src="src", dst="dst"):
    return measure.Side("cp", argv=[*PEERS[fs][1], src, dst], cwd=mnt)


def shutil_side(mnt, src="src", dst="dst"):
    return measure.Side("shutil", argv=["/usr/bin/python3", "-c", SHUTIL.format(src=src, dst=dst)],
                        cwd=mnt)


def make_prepare(mnt, src="src", dst="dst"):
    """Before every run, untimed and alike for every side: remove the last
    copy, sync (the scratch filesystem, then all), read the whole source so
    its inodes, directories and data sit in the page cache ("warm")."""
    def prepare(_side):
        cache.prepare("warm", inputs=[os.path.join(mnt, src)], remove=[os.path.join(mnt, dst)],
                      fs=mnt)
    return prepare


def make_check(fs, mnt, src_entries, src="src", dst="dst", full_every_run=False):
    """After every run: the copy has every entry with the source's sizes.
    After the first run of each side (or every run): the whole comparison
    (types, modes, owners, mtimes in ns, symlink targets, hard links except
    for shutil, which does not keep them), and on btrfs/XFS every data
    extent of every file shared with its source (a clone; inline data
    excepted), on ext4 none shared; every byte equal on ext4 and for shutil
    (which copies everywhere); the sparse file still sparse (except for
    shutil, which writes holes out)."""
    verified = set()
    what = PEERS[fs][0]
    src_dir, dst_dir = os.path.join(mnt, src), os.path.join(mnt, dst)
    want = sorted((p, e.kind, e.size) for p, e in src_entries.items())

    def check(side, _run):
        got = treecheck.entries(dst_dir)
        have = sorted((p, e.kind, e.size) for p, e in got.items())
        if have != want:
            missing = len(set(want) - set(have))
            raise measure.BenchmarkError(f"{fs} {side.name}: the copy differs from the source "
                                         f"({missing} entries missing or of another size)")
        if side.name in verified and not full_every_run:
            return
        is_shutil = side.name == "shutil"
        diff = treecheck.differences(src_dir, dst_dir, src_entries=src_entries,
                                     links=not is_shutil)
        if diff:
            raise measure.BenchmarkError(f"{fs} {side.name}: " + "; ".join(diff))
        for path, e in got.items():
            if e.kind != "f":
                continue
            full = os.path.join(dst_dir, path)
            shared, total = treecheck.shared_extents(full)
            if what == "clone" and not is_shutil and shared != total:
                raise measure.BenchmarkError(f"{fs} {side.name}: {path} is not a clone "
                                             f"({shared} of {total} extents shared)")
            if what == "copy" and shared:
                raise measure.BenchmarkError(f"{fs} {side.name}: {path} shares extents")
            if (what == "copy" or is_shutil) and \
                    not treecheck.same_content(os.path.join(src_dir, path), full):
                raise measure.BenchmarkError(f"{fs} {side.name}: {path} differs")
            if path.startswith("sparse") and not is_shutil and \
                    e.blocks > 2 * src_entries[path].blocks + 2048:
                raise measure.BenchmarkError(f"{fs} {side.name}: {path} is no longer sparse "
                                             f"({e.blocks * 512} bytes allocated)")
        verified.add(side.name)

    return check


def per_file_calls(counts, files):
    """'N calls, N.N per file (openat N, ...)' from measure.syscall_counts."""
    total = sum(n for n, _ in counts.values())
    top = sorted(counts.items(), key=lambda kv: -kv[1][0])[:6]
    return (f"{total:,} calls, {total / files:.1f} per file (" +
            ", ".join(f"{k} {n / files:.2f}" for k, (n, _) in top) + ")")


def cpu(runs):
    """Median user+system CPU seconds of runs."""
    v = sorted(r.user + r.sys for r in runs)
    return v[len(v) // 2]

