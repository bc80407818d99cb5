"""cp_file.py - issue 2's benchmark: one 512 MiB file, `cowcopy cp` against `cp`.

Cases, each on its own fresh 4 GiB scratch filesystem, with a 512 MiB file of
random data from a fixed seed:
  btrfs  `cowcopy cp src dst`                vs `cp --reflink=always src dst`  target A/B <= 1.0
  xfs    the same (mkfs.xfs -m reflink=1)                                      target A/B <= 1.0
  ext4   `cowcopy cp --reflink=never ...`    vs `cp --reflink=never ...`       target A/B <= 1.05
Both sides are whole processes, run in the scratch filesystem's root with
relative paths. Before every run (untimed): dst is removed, the filesystem
and the one under its image are synced, and src is read so that it sits in
the page cache for both sides ("warm"). After every run dst must have src's
size; the first run of each side is checked fully: on btrfs/XFS dst's
extents must be flagged shared (a clone), on ext4 dst must equal src
byte for byte and share nothing. After the pairs, each side runs once more
under `strace -f -c` (untimed) and the system call counts are recorded next
to the per-pair times, to explain a difference.
"""
import os
import subprocess

from benchlib import cache, gen, measure, report

NAME = "cp-file"
TITLE = "one 512 MiB file: `cowcopy cp` vs `cp` (clone on btrfs/XFS, copy on ext4)"
ISSUE = 2
NEEDS = ["mkfs.btrfs:btrfs-progs", "mkfs.xfs:xfsprogs", "mkfs.ext4:e2fsprogs",
         "filefrag:e2fsprogs", "cmp:diffutils", "strace:strace"]

SIZE = 512 << 20
SEED = 2
PAIRS = 21
IMAGE = "4G"  # sparse image size of each scratch filesystem

# (filesystem, what, cowcopy arguments, cp arguments, target for cowcopy/cp)
CASES = [
    ("btrfs", "clone", ["cp"], ["--reflink=always"], 1.0),
    ("xfs", "clone", ["cp"], ["--reflink=always"], 1.0),
    ("ext4", "copy", ["cp", "--reflink=never"], ["--reflink=never"], 1.05),
]


def shared_extents(path):
    """(extents flagged shared, all extents) of path, from filefrag -v (FIEMAP)."""
    out = subprocess.run(["filefrag", "-v", path], capture_output=True, text=True,
                         check=True).stdout
    rows = [l for l in out.splitlines() if l.strip()[:1].isdigit() and ":" in l]
    return sum("shared" in l for l in rows), len(rows)


def make_check(mnt, what):
    verified = set()

    def check(side, run):
        dst = os.path.join(mnt, "dst")
        size = os.stat(dst).st_size
        if size != SIZE:
            raise measure.BenchmarkError(f"{side.name}: dst has {size} bytes, not {SIZE}")
        if side.name in verified:
            return
        shared, total = shared_extents(dst)
        if what == "clone" and (total == 0 or shared != total):
            raise measure.BenchmarkError(f"{side.name}: dst is not a clone "
                                         f"({shared} of {total} extents shared)")
        if what == "copy":
            if shared:
                raise measure.BenchmarkError(f"{side.name}: dst shares {shared} extents")
            if subprocess.run(["cmp", "-s", os.path.join(mnt, "src"), dst]).returncode != 0:
                raise measure.BenchmarkError(f"{side.name}: dst differs from src")
        verified.add(side.name)

    return check


def run(ctx):
    section = report.Section(NAME, TITLE, ISSUE)
    rows, floor, calls = [], None, []
    for fs, what, a_args, b_args, target in CASES:
        mnt = ctx.scratch.mount(fs, IMAGE)
        src, dst = os.path.join(mnt, "src"), os.path.join(mnt, "dst")
        ctx.log(f"{fs}: writing a {SIZE >> 20} MiB file (seed {SEED})")
        gen.write_random_file(src, SIZE, seed=SEED)
        a = measure.Side("cowcopy", argv=[ctx.cowcopy, *a_args, "src", "dst"], cwd=mnt)
        b = measure.Side("cp", argv=["cp", *b_args, "src", "dst"], cwd=mnt)

        def prepare(_side, mnt=mnt, src=src, dst=dst):
            cache.prepare("warm", inputs=[src], remove=[dst], fs=mnt)

        pairs = ctx.pairs(PAIRS)
        ctx.log(f"{fs}: {pairs} pairs of `{a.command()}` and `{b.command()}`")
        res = measure.compare(a, b, pairs, prepare=prepare, check=make_check(mnt, what), seed=SEED,
                              progress=lambda t, fs=fs: ctx.log(f"{fs}: {t}"))
        row = report.ratio_row(f"{fs}: {what} 512 MiB", res, target)
        rows.append(row)
        section.passed &= row.verdict.passed
        section.commands.append((f"{fs} A", a.command()))
        section.commands.append((f"{fs} B", b.command()))
        section.raw.append(report.pairs_detail(fs, res))
        warning = report.order_effect(fs, res)
        if warning:
            section.notes.append(warning)
        ca, cb = measure.syscall_counts(a, prepare), measure.syscall_counts(b, prepare)
        section.raw.append(report.syscall_table(fs, a.name, ca, b.name, cb))
        calls.append(f"{fs} {sum(n for n, _ in ca.values())} / {sum(n for n, _ in cb.values())} "
                     f"(openat {ca.get('openat', (0, 0))[0]} / {cb.get('openat', (0, 0))[0]})")
        if floor is None:
            floor = measure.spawn_floor()
    section.tables.append(report.ratio_table(rows))
    section.notes.append(
        f"Each case runs on a fresh {IMAGE}iB loop-mounted scratch filesystem holding a "
        f"{SIZE >> 20} MiB file of random bytes (seed {SEED}); both commands run as whole "
        "processes in its root. "
        "Before every run, untimed: `dst` removed, syncfs + sync, `src` read into the page "
        "cache (same warm state for both sides). Checked: every `dst` has the right size; "
        "the first of each side is a full clone (all FIEMAP extents shared) on btrfs and "
        "XFS, and byte-identical and unshared on ext4.")
    section.notes.append(
        f"Launching `/bin/true` the same way takes {report.fmt_time(floor)} (median of 21): "
        "that is the floor under both sides of the clone rows, where the clone itself is "
        "tens of microseconds.")
    section.notes.append("System calls of one run (strace -f -c), cowcopy / cp: " +
                         "; ".join(calls) + ". Every call is listed under \"Every pair\".")
    return section
