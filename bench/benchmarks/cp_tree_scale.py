"""cp_tree_scale.py - issue 3's 200,000-file tree: time against the 20,000-file
tree (it should grow about linearly) and peak RSS (at most 64 MiB).

On each filesystem (fresh scratch image) two trees are generated from seed 3:
`src20k`, issue 3's tree (tree_common.SPEC), and `src200k`, the same with
200,000 small files in 10,000 directories (20 per directory, as in the
small one; the same medium, big, sparse files and links). For each tree,
`cowcopy cp -a` and its peer (`cp -a --reflink=always` on btrfs/XFS, `cp -a`
on ext4) run in interleaved pairs, prepared and checked as in cp-tree
(warm page cache; every entry and size after every run, in full after each
side's first run). Growth = median time on 200k / median time on 20k; the
added cost per added file = (t200k - t20k) / 180,000. Peak RSS of each
command on each tree comes from one more untimed run under GNU time.
"""
from benchlib import measure, report, stats
from benchmarks import tree_common as tc

NAME = "cp-tree-scale"
TITLE = "200,000 files vs 20,000: growth of `cowcopy cp -a` and `cp -a`, and peak RSS"
ISSUE = 3
NEEDS = tc.NEEDS

PAIRS = 3
SMALL, LARGE = 20000, 200000
RSS_TARGET_KIB = 64 << 10
IMAGES = {"xfs": "16G", "btrfs": "16G", "ext4": "24G"}
FILESYSTEMS = ["xfs", "btrfs", "ext4"]


def run(ctx):
    section = report.Section(NAME, TITLE, ISSUE)
    time_rows, rss_rows = [], []
    floor = measure.rss_floor_kib()
    for fs in FILESYSTEMS:
        mnt = ctx.scratch.mount(fs, IMAGES[fs])
        trees = {}
        for n in (SMALL, LARGE):
            name = f"src{n // 1000}k"
            trees[n] = (name, tc.make_source(ctx, mnt, name, tc.SPEC.with_small_files(n)))
        results, rss = {}, {}
        for n, (src, ents) in trees.items():
            a, b = tc.cowcopy_side(ctx, mnt, src=src), tc.peer_side(fs, mnt, src=src)
            prepare = tc.make_prepare(mnt, src=src)
            pairs = ctx.pairs(PAIRS)
            ctx.log(f"{fs}: {pairs} pairs of `{a.command()}` and `{b.command()}`")
            res = measure.compare(a, b, pairs, prepare=prepare,
                                  check=tc.make_check(fs, mnt, ents, src=src), seed=tc.SEED,
                                  progress=lambda t, fs=fs, src=src: ctx.log(f"{fs} {src}: {t}"))
            results[n] = res
            section.raw.append(report.pairs_detail(f"{fs} {src}", res))
            for side in (a, b):
                prepare(side)
                rss[(n, side.name)] = measure.peak_rss_kib(side.argv, cwd=mnt)
            if fs == FILESYSTEMS[0] or fs == "ext4":
                section.commands += [(f"{fs} {src} A", a.command()), (f"{fs} {src} B", b.command())]
            time_rows.append(report.ratio_row(f"{fs}: {n:,} files", res, tc.PEERS[fs][2]))
        for side, runs in (("cowcopy", "a_runs"), ("cp", "b_runs")):
            t_small = stats.summary(r.wall for r in getattr(results[SMALL], runs)).median
            t_large = stats.summary(r.wall for r in getattr(results[LARGE], runs)).median
            growth = t_large / t_small
            per_file = (t_large - t_small) / (LARGE - SMALL)
            rss_small, rss_large = rss[(SMALL, side)], rss[(LARGE, side)]
            verdict = ""
            if side == "cowcopy":
                ok = rss_large <= RSS_TARGET_KIB
                section.passed &= ok
                verdict = "PASS" if ok else "MISS"
            rss_rows.append([fs, side, report.fmt_time(t_small), report.fmt_time(t_large),
                             f"**{growth:.2f}x**", f"{per_file * 1e6:.1f} µs",
                             f"{rss_small / 1024:.1f} MiB", f"{rss_large / 1024:.1f} MiB",
                             verdict])
        ctx.scratch.unmount(fs)
    section.tables.append(report.ratio_table(time_rows))
    section.tables.append(report.plain_table(
        ["filesystem", "command", f"{SMALL:,} files", f"{LARGE:,} files", "growth (10x files)",
         "per added file", f"peak RSS {SMALL // 1000}k", f"peak RSS {LARGE // 1000}k",
         "RSS ≤ 64 MiB"], rss_rows))
    section.notes.append(
        f"Trees: `src20k` = {tc.describe(tc.SPEC.with_small_files(SMALL))}; `src200k` = the same with "
        f"{LARGE:,} small files in {LARGE // 20:,} directories. Only the small files and "
        "directories grow tenfold (the big, sparse and medium files stay), so strictly linear "
        "per-file work gives a growth a little under 10x. Times are medians of the pairs in "
        "the first table; the per-file cost is (t200k − t20k) / 180,000.")
    section.notes.append(
        f"Peak RSS: one untimed run per command and tree under `/usr/bin/time -f %M` after the "
        f"same preparation; it includes GNU time's floor of {floor / 1024:.1f} MiB "
        "(`/bin/true` measured the same way).")
    return section
