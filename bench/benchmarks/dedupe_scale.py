"""dedupe_scale.py - issue 5's 200,000-file tree: peak RSS of `cowcopy
dedupe` per file (at most 300 bytes per file beyond a fixed base) and how
its time grows against the 20,000-file tree; jdupes as the reference.

On each filesystem (a fresh scratch image) two trees from seed 5: issue 5's
tree (dedupe_common.SPEC: 20,000 files of 1-64 KiB, 30 of 1-8 MiB, 30%
duplicates) and the same with 200,000 small files (20 per directory, as in
the small one). Each tool runs on each tree RUNS times, every run on a
fresh tree with the page cache dropped (dedupe_common.FreshTree), under GNU
time for its peak RSS. Per-file memory = (RSS at 200k - RSS at 20k) /
180,000: what each added file costs beyond the fixed base (the program,
its threads' buffers, the libraries). After cowcopy's first run on each
tree: every file's content unchanged, duplicates sharing (as in dedupe).
"""
import os

from benchlib import measure, report, stats
from benchmarks import dedupe_common as dc

NAME = "dedupe-scale"
TITLE = "200,000 files vs 20,000: peak RSS per file and growth of `cowcopy dedupe` and jdupes"
ISSUE = 5
NEEDS = dc.NEEDS

RUNS = 1
SMALL, LARGE = 20000, 200000
PER_FILE_TARGET = 300  # bytes of peak RSS per added file
IMAGES = {"btrfs": "16G", "xfs": "16G"}
FILESYSTEMS = ["btrfs", "xfs"]


def run(ctx):
    section = report.Section(NAME, TITLE, ISSUE)
    rows = []
    floor = measure.rss_floor_kib()
    for fs in FILESYSTEMS:
        mnt = ctx.scratch.mount(fs, IMAGES[fs])
        walls, rss, freed, sharing, read = {}, {}, {}, {}, {}
        report_path = os.path.join(ctx.scratch.root, "summary.txt")
        for n in (SMALL, LARGE):
            fresh = dc.FreshTree(ctx, mnt, spec=dc.SPEC.with_small_files(n), full_check={"cowcopy"})
            sides = [dc.cowcopy_side(ctx, mnt),
                     measure.Side("jdupes", argv=["jdupes", "-r", "-B", "-q", dc.TREE], cwd=mnt)]
            for k in range(ctx.pairs(RUNS)):
                for side in sides:
                    ctx.log(f"{fs} {n:,} files: generating, then `{side.command()}`")
                    fresh.prepare(side)
                    run_, kib = measure.run_with_peak_rss(side.argv, cwd=mnt,
                                                          stdout_path=report_path)
                    if side.name == "cowcopy":  # its summary (not --json: that keeps every group)
                        with open(report_path) as f:
                            summary = dict(line.split(":", 1) for line in f if ":" in line)
                        read[n] = (summary["data read"].split("(")[0].strip(),
                                   summary["files scanned"].split("(")[0].strip())
                    fresh.check(side, run_)
                    walls.setdefault((n, side.name), []).append(run_.wall)
                    rss.setdefault((n, side.name), []).append(kib)
                    ctx.log(f"{fs} {n:,} files: {side.name} {run_.wall:.2f} s, "
                            f"peak RSS {kib / 1024:.1f} MiB")
                    if fs == FILESYSTEMS[0] and n == SMALL and k == 0:
                        section.commands.append((side.name, f"/usr/bin/time -f %M "
                                                            f"{side.command()}"))
            for side in sides:
                freed[(n, side.name)] = stats.summary(fresh.freed[side.name]).median
            sharing[n] = fresh.sharing["cowcopy"]
            files = fresh.expected.info.files
            ctx.log(f"{fs} {n:,} files: {files:,} regular files")
        for name in ("cowcopy", "jdupes"):
            t_s = stats.summary(walls[(SMALL, name)]).median
            t_l = stats.summary(walls[(LARGE, name)]).median
            r_s = stats.summary(rss[(SMALL, name)]).median
            r_l = stats.summary(rss[(LARGE, name)]).median
            per_file = (r_l - r_s) * 1024 / (LARGE - SMALL)
            verdict = ""
            if name == "cowcopy":
                ok = per_file <= PER_FILE_TARGET
                section.passed &= ok
                verdict = "PASS" if ok else "MISS"
            rows.append([fs, name, report.fmt_time(t_s), report.fmt_time(t_l),
                         f"{t_l / t_s:.2f}x", f"{r_s / 1024:.1f} MiB", f"{r_l / 1024:.1f} MiB",
                         f"**{per_file:.0f} B**", verdict,
                         f"{report.fmt_bytes(freed[(SMALL, name)])} / "
                         f"{report.fmt_bytes(freed[(LARGE, name)])}"])
        full, dups, others = sharing[LARGE]
        section.notes.append(
            f"{fs}, 200,000 files, cowcopy's first run: {full:,} of {dups:,} files of duplicate "
            f"groups made one, {others} others sharing. Data read: "
            f"{read[SMALL][0]} of {read[SMALL][1]} files at 20k, "
            f"{read[LARGE][0]} of {read[LARGE][1]} at 200k (cowcopy's summary): with "
            "200,000 files of 1-64 KiB nearly "
            "every size is shared by several files, so a far larger share of the files must be "
            "read than with 20,000, and the time grows with it.")
        ctx.scratch.unmount(fs)
    section.tables.append(report.plain_table(
        ["filesystem", "tool", f"{SMALL:,} files", f"{LARGE:,} files", "growth",
         f"peak RSS {SMALL // 1000}k", f"peak RSS {LARGE // 1000}k", "RSS per added file",
         f"≤ {PER_FILE_TARGET} B", "space freed 20k / 200k"], rows))
    section.notes.append(
        f"Trees: issue 5's ({dc.describe()}) and the same with {LARGE:,} small files in "
        f"{LARGE // 20:,} directories; the 30 medium files stay, so strictly linear per-file "
        "work gives a growth a little under 10x. Every run is on a fresh tree with the page "
        "cache dropped (as in the dedupe benchmark); times and RSS are medians of "
        f"{ctx.pairs(RUNS)} run(s) per tool and tree, each under `/usr/bin/time -f %M`, whose "
        f"floor is {floor / 1024:.1f} MiB (`/bin/true` measured the same way). RSS per added "
        f"file = (RSS at {LARGE // 1000}k − RSS at {SMALL // 1000}k) / {LARGE - SMALL:,}.")
    return section
