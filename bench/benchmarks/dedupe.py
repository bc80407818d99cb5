"""dedupe.py - issue 5's benchmark: `cowcopy dedupe` against jdupes,
duperemove and rmlint's clone handler, on a 20,000-file tree with 30%
exact duplicates (dedupe_common.py), on scratch btrfs and XFS.

Tools (each a whole process run in the filesystem's root):
  cowcopy     cowcopy dedupe --no-progress tree        (default threads)
  jdupes      jdupes -r -B -q tree
  duperemove  duperemove -dr -q -b 4096 tree
  rmlint      rmlint -T df -c sh:handler=clone -o sh:SCRIPT tree && sh SCRIPT -d -q
Every run gets a fresh tree, generated again from the seed, with the page
cache dropped before it (dedupe_common.FreshTree); the tools run in rounds,
each round every tool once in an order drawn from a fixed seed, so drifts
of the machine hit all alike. Per round: cowcopy's wall time over jdupes'
(target at most 0.5x) and over duperemove's (at most 0.2x); space freed
(used space before minus after, synced) of cowcopy over jdupes' (at least
0.99x). After each tool's first run, untimed: every file's content
digest is unchanged, and how many files of duplicate groups now are the same
physical blocks as their group (FIEMAP), and how many others share
anything.

A fifth side, "floor", lists the tree with sizes and reads every file that
has a duplicate once, 4 readers in parallel: the least any whole-file
dedupe must do, to show what the machine allows.

Then the cache: on a fresh tree, `cowcopy dedupe --cache DB tree` (a new
DB), the page cache dropped, the same command again (target: the second
at most 0.1x the first), and, the cache dropped again, the command without
--cache as a reference (what the second run costs from the skip of files
already sharing their extents alone), and `du -s tree`, the floor of any
second run (it must list the tree to see what changed).
"""
import os

from benchlib import cache, measure, report, stats
from benchmarks import dedupe_common as dc

NAME = "dedupe"
TITLE = ("a 20,000-file tree with 30% duplicates: `cowcopy dedupe` vs jdupes, duperemove "
         "and rmlint")
ISSUE = 5
NEEDS = dc.NEEDS

ROUNDS = 5
CACHE_RUNS = 3
IMAGE = "8G"
FILESYSTEMS = ["btrfs", "xfs"]
TARGETS = {"jdupes": 0.5, "duperemove": 0.2}
SPACE_TARGET = 0.99
CACHE_TARGET = 0.1


def _row(case, a_name, b_name, a_walls, b_walls, ratios, target, lower_is_better=True):
    return report.RatioRow(case=case, a_name=a_name, b_name=b_name,
                           a=stats.summary(a_walls), b=stats.summary(b_walls),
                           ratio=stats.summary(ratios), target=target,
                           lower_is_better=lower_is_better)


def run(ctx):
    section = report.Section(NAME, TITLE, ISSUE)
    time_rows, space_rows, tool_rows, cache_rows, floors = [], [], [], [], []
    for fs in FILESYSTEMS:
        mnt = ctx.scratch.mount(fs, IMAGE)
        fresh = dc.FreshTree(ctx, mnt)
        sides = dc.tool_sides(ctx, mnt) + [dc.floor_side(ctx, mnt)]
        names = [s.name for s in sides]
        n = ctx.pairs(ROUNDS)
        ctx.log(f"{fs}: {n} rounds of " + ", ".join(f"`{s.command()}`" for s in sides))
        res = measure.rounds(sides, n, prepare=fresh.prepare, check=fresh.check, warmup=0,
                             seed=dc.SEED, progress=lambda t, fs=fs: ctx.log(f"{fs}: {t}"))
        exp = fresh.expected
        for peer, target in TARGETS.items():
            j = names.index(peer)
            row = _row(f"{fs}: wall time", "cowcopy", peer, res.walls(0), res.walls(j),
                       res.ratios(0, ref=j), target)
            time_rows.append(row)
            section.passed &= row.verdict.passed
        freed = {name: fresh.freed[name] for name in names}
        ratios = [a / b for a, b in zip(freed["cowcopy"], freed["jdupes"])]
        srow = _row(f"{fs}: space freed", "cowcopy", "jdupes", freed["cowcopy"], freed["jdupes"],
                    ratios, SPACE_TARGET, lower_is_better=False)
        space_rows.append([srow.case, report.fmt_bytes(srow.a.median),
                           report.fmt_bytes(srow.b.median), f"**{srow.ratio.median:.4f}x**",
                           f"{srow.ratio.min:.4f}–{srow.ratio.max:.4f}", srow.ratio.n,
                           f"≥ {SPACE_TARGET}x", srow.verdict.text])
        section.passed &= srow.verdict.passed
        floor = stats.summary(res.walls(names.index("floor"))).median
        dupe_median = stats.summary(res.walls(names.index("duperemove"))).median
        floors.append(f"{fs}: the floor took {report.fmt_time(floor)}, "
                      f"{floor / dupe_median:.2f}x duperemove's median "
                      f"({report.fmt_time(dupe_median)}); 0.2x duperemove would be "
                      f"{report.fmt_time(0.2 * dupe_median)}")
        for i, name in enumerate(names):
            w = stats.summary(res.walls(i))
            f = stats.summary(freed[name])
            full, dups, others = fresh.sharing[name]
            tool_rows.append([fs, name, report.fmt_time(w.median),
                              f"{report.fmt_time(w.q1)}–{report.fmt_time(w.q3)}",
                              f"{stats.summary(r.user + r.sys for r in res.runs[i]).median:.2f} s",
                              report.fmt_bytes(f.median),
                              f"{f.median / exp.perfect_bytes:.1%}",
                              f"{full:,} of {dups:,}", f"{others:,}", w.n])
            if fs == FILESYSTEMS[0]:
                section.commands.append((name, sides[i].command()))
        lines = [f"{fs}: round, order, then wall s and space freed per tool"]
        for k, order in enumerate(res.order):
            lines.append(f"  {k + 1:2d} " + ", ".join(
                f"{name} {res.runs[names.index(name)][k].wall:.2f} s "
                f"{report.fmt_bytes(freed[name][k])}" for name in order))
        section.raw.append("\n".join(lines))

        cache_rows.append(_cache_case(ctx, fs, mnt, fresh, section))
        ctx.scratch.unmount(fs)

    section.tables.append(report.ratio_table(time_rows))
    section.tables.append(report.plain_table(
        ["case", "cowcopy median", "jdupes median", "cowcopy / jdupes", "min–max", "rounds",
         "target", "result"], space_rows))
    section.tables.append(report.plain_table(
        ["filesystem", "tool", "wall median", "wall IQR", "CPU median", "space freed median",
         "of a perfect file dedupe", "duplicates made one (FIEMAP)", "others sharing",
         "runs"], tool_rows))
    section.tables.append(report.ratio_table([r for r, _, _ in cache_rows]))
    section.tables.append(report.plain_table(
        ["case", "first run (new cache)", "again with --cache", "again without --cache",
         "without / first", "`du -s tree`"], [extra for _, extra, _ in cache_rows]))
    section.notes.append(
        f"The tree: {dc.describe()}. Each filesystem is a fresh {IMAGE}iB loop-mounted "
        "scratch image. Before every run, untimed: the tree removed and generated again from "
        "the seed (the same names and bytes every time), syncfs + sync, the used space read "
        "(statvfs after a sync; on btrfs after `btrfs filesystem sync`), the page cache "
        "dropped (`echo 3 > /proc/sys/vm/drop_caches`). After the run: the used space read "
        "again the same way; space freed = before − after. The tools run in rounds, each "
        "round every tool once in an order drawn from a fixed seed; the wall-time ratios "
        "pair cowcopy with the peer of the same round.")
    section.notes.append(
        "Checked after each tool's first run, untimed: every file's content (BLAKE2b) equals the "
        "generated tree's. \"Duplicates made one\" counts the files of duplicate groups whose "
        "whole data map (FIEMAP, logical → physical, contiguous runs merged) equals that of "
        "another member of their group, i.e. files that now are the same blocks; on btrfs "
        "files whose data is inline in metadata (up to 2 KiB here) cannot share and are left "
        "out. \"Others sharing\" counts files without a duplicate that share any extent "
        "(must be 0). A perfect file dedupe frees every duplicate beyond the first of its "
        f"group, in 4 KiB blocks: {report.fmt_bytes(exp.perfect_bytes)} here "
        f"({exp.info.dup_files:,} duplicate files).")
    section.notes.append(
        "rmlint's clone handler is timed as a whole: `rmlint` finding the duplicates and "
        "writing its script, then the script running `rmlint --dedupe` (FIDEDUPERANGE) once "
        "per duplicate. duperemove keeps its hashes in memory (no --hashfile).")
    section.notes.append(
        "The floor: `" + dc.FLOOR.format(tree="tree", list="LIST") + "` (LIST: every file that "
        "has a duplicate), with the same preparation: listing the tree with sizes and reading "
        "each file that has a duplicate once, 4 readers in parallel. Every byte of every "
        "duplicate must be read for it to be compared, so no whole-file dedupe can take less "
        "on this machine; the kernel's compare, its metadata updates and the final sync come "
        "on top. " + "; ".join(floors) + ".")
    section.notes.append(
        "The cache case: the second run's floor is listing the tree with sizes (`du -s tree`, "
        "page cache dropped), which any run needs to find what changed: " +
        "; ".join(note for _, _, note in cache_rows) + ".")
    return section


def _cache_case(ctx, fs, mnt, fresh, section):
    """The --cache case on this filesystem: CACHE_RUNS times a fresh tree,
    a first run with a new cache, a second with it, a third without, then
    `du -s tree` (the floor), the page cache dropped before each.
    @return (RatioRow second/first, row of plain medians, a note on the floor)."""
    db = os.path.join(ctx.scratch.root, f"cache-{fs}.sqlite")
    first = dc.cowcopy_side(ctx, mnt, extra=["--cache", db], name="cowcopy --cache (first)")
    again = dc.cowcopy_side(ctx, mnt, extra=["--cache", db], name="cowcopy --cache (again)")
    plain = dc.cowcopy_side(ctx, mnt, name="cowcopy (again, no cache)")
    du = measure.Side("du -s", argv=["du", "-s", dc.TREE], cwd=mnt)
    runs = {first.name: [], again.name: [], plain.name: [], du.name: []}
    for k in range(ctx.pairs(CACHE_RUNS)):
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
        fresh.prepare(first)
        runs[first.name].append(measure.run_checked(first))
        for side in (again, plain, du):
            cache.sync(mnt)
            cache.drop_caches()
            runs[side.name].append(measure.run_checked(side))
        ctx.log(f"{fs} cache {k + 1}: " + ", ".join(
            f"{name} {r[-1].wall:.3f} s" for name, r in runs.items()))
    if fs == FILESYSTEMS[0]:
        section.commands += [("cache, first and again", first.command()),
                             ("cache, reference", plain.command())]
    walls = {name: [r.wall for r in rs] for name, rs in runs.items()}
    ratios = [b / a for a, b in zip(walls[first.name], walls[again.name])]
    row = _row(f"{fs}: second run with --cache", "again", "first", walls[again.name],
               walls[first.name], ratios, CACHE_TARGET)
    section.passed &= row.verdict.passed
    plain_ratio = stats.summary(b / a for a, b in zip(walls[first.name], walls[plain.name]))
    du_median = stats.summary(walls[du.name]).median
    extra = [fs, report.fmt_time(stats.summary(walls[first.name]).median),
             report.fmt_time(stats.summary(walls[again.name]).median),
             report.fmt_time(stats.summary(walls[plain.name]).median),
             f"{plain_ratio.median:.3f}x", report.fmt_time(du_median)]
    note = (f"{fs}: {report.fmt_time(du_median)}, "
            f"{du_median / stats.summary(walls[first.name]).median:.3f}x the first run")
    section.raw.append(f"{fs} cache: run, first s, again with --cache s, again without s, "
                       "du -s s\n" +
                       "\n".join(f"  {k + 1:2d} {a:.3f} {b:.3f} {c:.3f} {d:.3f}"
                                  for k, (a, b, c, d) in enumerate(zip(*walls.values()))))
    return row, extra, note
