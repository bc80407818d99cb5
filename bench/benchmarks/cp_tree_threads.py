"""cp_tree_threads.py - thread counts for `cowcopy cp -a` per filesystem: the
measurements behind default_threads() in src/tree.c.

On each of XFS (reflink=1), btrfs and ext4 (fresh 8 GiB scratch images),
issue 3's 20,000-file tree (tree_common.py) is copied by the peer of that
filesystem (`cp -a --reflink=always` on btrfs/XFS, `cp -a` on ext4) and by
`cowcopy cp -a -jN` for N = 1, 2, 4, in rounds: each round runs every
command once, in an order drawn from a fixed seed. Preparation and checks
are those of cp-tree (warm page cache, output checked after every run, in
full after each command's first). Reported per command: median wall time,
median CPU time, and the median of its per-round ratio to the peer.
"""
from benchlib import measure, report, stats
from benchmarks import tree_common as tc

NAME = "cp-tree-threads"
TITLE = "thread counts for `cowcopy cp -a -jN` on the 20,000-file tree, per filesystem"
ISSUE = 3
NEEDS = tc.NEEDS

ROUNDS = 7
IMAGE = "8G"
FILESYSTEMS = ["xfs", "btrfs", "ext4"]
JOBS = [1, 2, 4]


def run(ctx):
    section = report.Section(NAME, TITLE, ISSUE)
    rows = []
    best = []
    for fs in FILESYSTEMS:
        mnt = ctx.scratch.mount(fs, IMAGE)
        src_entries = tc.make_source(ctx, mnt)
        sides = [tc.peer_side(fs, mnt)] + [tc.cowcopy_side(ctx, mnt, jobs=j, name=f"cowcopy -j{j}")
                                           for j in JOBS]
        n = ctx.pairs(ROUNDS)
        ctx.log(f"{fs}: {n} rounds of " + ", ".join(f"`{s.command()}`" for s in sides))
        res = measure.rounds(sides, n, prepare=tc.make_prepare(mnt),
                             check=tc.make_check(fs, mnt, src_entries), seed=tc.SEED,
                             progress=lambda t, fs=fs: ctx.log(f"{fs}: {t}"))
        medians = {}
        for i, side in enumerate(sides):
            w = stats.summary(res.walls(i))
            r = stats.summary(res.ratios(i))
            medians[side.name] = r.median
            rows.append([fs, side.name, report.fmt_time(w.median), f"{w.q1 * 1e3:.0f}–{w.q3 * 1e3:.0f} ms",
                         f"{tc.cpu(res.runs[i]):.2f} s",
                         "—" if i == 0 else f"**{r.median:.3f}x**",
                         "—" if i == 0 else f"{r.q1:.3f}–{r.q3:.3f}", w.n])
            if fs == FILESYSTEMS[0]:
                section.commands.append((side.name, side.command()))
        fastest = min((k for k in medians if k != "cp"), key=medians.get)
        best.append(f"{fs}: {fastest}")
        lines = [f"{fs}: round, order, then ms per command"]
        for k, order in enumerate(res.order):
            lines.append(f"  {k + 1:2d} " + ", ".join(
                f"{name} {res.runs[[s.name for s in sides].index(name)][k].wall * 1e3:.1f}"
                for name in order))
        section.raw.append("\n".join(lines))
        ctx.scratch.unmount(fs)
    section.tables.append(report.plain_table(
        ["filesystem", "command", "wall median", "wall IQR", "CPU median", "ratio to cp (median)",
         "ratio IQR", "rounds"], rows))
    section.notes.append("Fastest cowcopy thread count per filesystem (lowest median ratio to "
                         "cp): " + "; ".join(best) + ".")
    section.notes.append(
        f"The tree: {tc.describe()}. Commands run in the scratch filesystem's root with "
        "`src` and `dst` relative; on btrfs and ext4 the peer is as in cp-tree "
        "(`cp -a --reflink=always` on btrfs, `cp -a` on ext4). Before every run, untimed: "
        "`dst` removed, syncfs + sync, every file of `src` read (warm page cache). A ratio is "
        "taken within a round (same machine state), its median over the rounds.")
    return section
