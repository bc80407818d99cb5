"""cp_tree.py - issue 3's benchmark: a 20,000-file tree, `cowcopy cp -a` against `cp -a`.

The tree (see tree_common.py) is generated once per filesystem from seed 3
on a fresh 8 GiB loop-mounted scratch btrfs, XFS (reflink=1) and ext4:
  xfs    `cowcopy cp -a src dst` vs `cp -a --reflink=always src dst`   target A/B <= 0.85
  btrfs  the same                                                      target A/B <= 1.0
  ext4   `cowcopy cp -a src dst` vs `cp -a src dst`                    target A/B <= 1.0
cowcopy runs with its default thread count for the filesystem (no -j).
Both are whole processes run in the filesystem's root, interleaved in pairs
(order per pair from a fixed seed). Before every run, untimed: dst removed,
syncfs + sync, the whole source read (warm page cache, alike for both).
After every run the copy is checked (every entry, every size); after the
first run of each side fully (see tree_common.make_check: attributes,
links, clones on btrfs/XFS, bytes on ext4, sparseness).

Reference row: Python's `shutil.copytree(src, dst, symlinks=True,
copy_function=shutil.copy2)` under Debian's /usr/bin/python3 (a whole
process), in pairs against cowcopy. Afterwards each side of the main pair
runs once under `strace -f -c` for system calls per file.
"""
import os

from benchlib import measure, report, stats
from benchmarks import tree_common as tc

NAME = "cp-tree"
TITLE = "a 20,000-file tree: `cowcopy cp -a` vs `cp -a` (clone on btrfs/XFS, copy on ext4)"
ISSUE = 3
NEEDS = tc.NEEDS

PAIRS = 11
REF_PAIRS = 3
IMAGE = "8G"
FILESYSTEMS = ["xfs", "btrfs", "ext4"]


def run(ctx):
    section = report.Section(NAME, TITLE, ISSUE)
    rows, ref_rows, calls = [], [], []
    for fs in FILESYSTEMS:
        what, _peer, target = tc.PEERS[fs]
        mnt = ctx.scratch.mount(fs, IMAGE)
        src_entries = tc.make_source(ctx, mnt)
        files = sum(e.kind == "f" for e in src_entries.values())
        a, b = tc.cowcopy_side(ctx, mnt), tc.peer_side(fs, mnt)
        prepare = tc.make_prepare(mnt)
        check = tc.make_check(fs, mnt, src_entries)
        pairs = ctx.pairs(PAIRS)
        ctx.log(f"{fs}: {pairs} pairs of `{a.command()}` and `{b.command()}`")
        res = measure.compare(a, b, pairs, prepare=prepare, check=check, seed=tc.SEED,
                              progress=lambda t, fs=fs: ctx.log(f"{fs}: {t}"))
        row = report.ratio_row(f"{fs}: {what}", res, target)
        rows.append(row)
        section.passed &= row.verdict.passed
        section.commands += [(f"{fs} A", a.command()), (f"{fs} B", b.command())]
        section.raw.append(report.pairs_detail(fs, res))
        section.raw.append(f"{fs}: median CPU (user+system) cowcopy {tc.cpu(res.a_runs):.3f} s, "
                           f"cp {tc.cpu(res.b_runs):.3f} s")
        warning = report.order_effect(fs, res)
        if warning:
            section.notes.append(warning)

        ref = tc.shutil_side(mnt)
        ref_pairs = min(ctx.pairs(REF_PAIRS), REF_PAIRS * 3)
        ctx.log(f"{fs}: {ref_pairs} pairs of cowcopy and `{ref.command()}` (reference)")
        rres = measure.compare(a, ref, ref_pairs, prepare=prepare, check=check, seed=tc.SEED,
                               progress=lambda t, fs=fs: ctx.log(f"{fs} reference: {t}"))
        rs = stats.summary(rres.ratios)
        ref_rows.append([fs, report.fmt_time(stats.summary(r.wall for r in rres.b_runs).median),
                         report.fmt_time(stats.summary(r.wall for r in rres.a_runs).median),
                         f"{1 / rs.median:.1f}x", f"{rs.q1:.3f}–{rs.q3:.3f}", rs.n])
        section.commands.append((f"{fs} reference", ref.command()))
        section.raw.append(report.pairs_detail(f"{fs} reference", rres))

        ca, cb = measure.syscall_counts(a, prepare), measure.syscall_counts(b, prepare)
        section.raw.append(report.syscall_table(fs, a.name, ca, b.name, cb))
        calls.append(f"{fs}: cowcopy {tc.per_file_calls(ca, files)}; "
                     f"cp {tc.per_file_calls(cb, files)}")
        ctx.scratch.unmount(fs)

    section.tables.append(report.ratio_table(rows))
    section.tables.append(report.plain_table(
        ["reference", "shutil.copytree median", "cowcopy median", "shutil / cowcopy",
         "cowcopy/shutil IQR", "pairs"], ref_rows))
    section.notes.append(
        f"The tree: {tc.describe()}. Each filesystem is a fresh {IMAGE}iB loop-mounted "
        "scratch image; the tree is generated once on it and copied to `dst` beside it. "
        "Before every run, untimed: `dst` removed, syncfs + sync, every file of `src` read "
        "(warm page cache, alike for both sides). Checked after every run: every entry with "
        "its size; after the first run of each side: types, modes, owners, mtimes (ns), "
        "symlink targets and the hard link, every data extent shared with the source on "
        "btrfs/XFS (FIEMAP; inline data excepted), none shared and every byte equal on ext4, "
        "and the sparse file still sparse. cowcopy runs with its default thread count.")
    section.notes.append(
        "Reference: `shutil.copytree(..., symlinks=True, copy_function=shutil.copy2)` in "
        "Debian's /usr/bin/python3 as a whole process. It copies every byte (Python 3.11's "
        "copyfile uses sendfile; it never clones), writes the sparse file densely and does not "
        "keep the hard link; its checks skip those points.")
    section.notes.append("System calls of one run (strace -f -c), per regular file: " +
                         "; ".join(calls) + ". Every call is listed under \"Every pair\".")
    return section
