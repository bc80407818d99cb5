"""report.py - turning measurements into the tables of bench/RESULTS.md.

A benchmark returns a Section: its title, the tables it printed, the exact
commands that were timed, notes, and the raw per-pair numbers. The driver
adds the conditions (date, kernel, machine, load, versions, the run.sh
command line) and update_results() rewrites only that benchmark's block of
RESULTS.md, between <!-- bench:NAME begin --> and <!-- bench:NAME end -->,
keeping every other benchmark's results as they were.
"""
import datetime
import os
import platform
import re
import subprocess
import time
from dataclasses import dataclass, field

from . import stats


def fmt_time(seconds):
    """Wall time in a unit that keeps 3 significant digits."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_ratio(r):
    return f"{r:.3f}x"


def fmt_bytes(n):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


@dataclass
class RatioRow:
    """One line of a ratio table: A against B with a target for A/B."""
    case: str
    a_name: str
    b_name: str
    a: stats.Summary        # wall times of A, seconds
    b: stats.Summary        # wall times of B
    ratio: stats.Summary    # per-pair A/B
    target: float
    lower_is_better: bool = True

    @property
    def verdict(self):
        return stats.judge(self.ratio, self.target, self.lower_is_better)


def ratio_row(case, pair_result, target, lower_is_better=True):
    """A RatioRow from a measure.PairResult."""
    return RatioRow(case=case, a_name=pair_result.a.name, b_name=pair_result.b.name,
                    a=stats.summary(r.wall for r in pair_result.a_runs),
                    b=stats.summary(r.wall for r in pair_result.b_runs),
                    ratio=stats.summary(pair_result.ratios), target=target,
                    lower_is_better=lower_is_better)


def ratio_table(rows):
    """Markdown table: medians of each side, the median ratio and its spread,
    the target and the verdict."""
    out = ["| case | A | B | A median | B median | A/B median | A/B IQR | A/B min–max | pairs "
           "| target | result |",
           "|---|---|---|---:|---:|---:|---|---|---:|---|---|"]
    for r in rows:
        target = ("≤ " if r.lower_is_better else "≥ ") + fmt_ratio(r.target)
        out.append(f"| {r.case} | {r.a_name} | {r.b_name} | {fmt_time(r.a.median)} "
                   f"| {fmt_time(r.b.median)} | **{fmt_ratio(r.ratio.median)}** "
                   f"| {r.ratio.q1:.3f}–{r.ratio.q3:.3f} | {r.ratio.min:.3f}–{r.ratio.max:.3f} "
                   f"| {r.ratio.n} | {target} | {r.verdict.text} |")
    return "\n".join(out)


def plain_table(header, rows):
    """Markdown table from a header list and rows of already formatted cells,
    for reference rows, space freed, peak RSS and the like."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def pairs_detail(label, pair_result):
    """Every pair's times and ratio, for the collapsed raw-data block, and
    the median ratio of AB pairs and of BA pairs."""
    lines = [f"{label}: pair, order, {pair_result.a.name} ms, {pair_result.b.name} ms, ratio"]
    for i, (ra, rb, o) in enumerate(zip(pair_result.a_runs, pair_result.b_runs,
                                        pair_result.order)):
        lines.append(f"  {i + 1:2d} {o} {ra.wall * 1e3:10.3f} {rb.wall * 1e3:10.3f} "
                     f"{ra.wall / rb.wall:7.3f}")
    by = pair_result.ratios_by_order()
    lines.append(f"{label}: median ratio of AB pairs " + ", of BA pairs ".join(
        f"{stats.summary(by[o]).median:.3f} ({len(by[o])})" if by[o] else "- (0)"
        for o in ("AB", "BA")))
    return "\n".join(lines)


ORDER_EFFECT = 0.10  # AB and BA medians further apart than this (relative) are reported


def order_effect(label, pair_result):
    """A warning sentence when pairs where A ran first give a median ratio
    more than ORDER_EFFECT away from pairs where B ran first, else None."""
    by = pair_result.ratios_by_order()
    if len(by["AB"]) < 3 or len(by["BA"]) < 3:
        return None
    ab, ba = stats.summary(by["AB"]).median, stats.summary(by["BA"]).median
    if abs(ab - ba) <= ORDER_EFFECT * min(ab, ba):
        return None
    return (f"Order effect in {label}: the median ratio is {ab:.3f} when "
            f"{pair_result.a.name} ran first and {ba:.3f} when {pair_result.b.name} did; "
            "the overall median mixes both, treat it with care.")


def syscall_table(label, a_name, a_counts, b_name, b_counts):
    """Side-by-side system call counts (from measure.syscall_counts), as text."""
    names = sorted(set(a_counts) | set(b_counts),
                   key=lambda n: -(a_counts.get(n, (0, 0))[0] + b_counts.get(n, (0, 0))[0]))
    lines = [f"{label}: system calls (strace -f -c), {a_name} / {b_name}"]
    for n in names:
        ca, ea = a_counts.get(n, (0, 0))
        cb, eb = b_counts.get(n, (0, 0))
        err = f"   errors {ea} / {eb}" if ea or eb else ""
        lines.append(f"  {n:20s} {ca:6d} / {cb:6d}{err}")
    total_a = sum(c for c, _ in a_counts.values())
    total_b = sum(c for c, _ in b_counts.values())
    lines.append(f"  {'total':20s} {total_a:6d} / {total_b:6d}")
    return "\n".join(lines)


@dataclass
class Section:
    name: str
    title: str
    issue: int = None
    tables: list = field(default_factory=list)     # markdown strings
    commands: list = field(default_factory=list)   # (label, command line)
    notes: list = field(default_factory=list)
    raw: list = field(default_factory=list)        # plain text blocks
    conditions: dict = field(default_factory=dict)  # filled in by the driver
    passed: bool = True

    def render(self):
        issue = f" (issue {self.issue})" if self.issue else ""
        out = [f"<!-- bench:{self.name} begin -->", f"## {self.name}: {self.title}{issue}", ""]
        for key, value in self.conditions.items():
            out.append(f"- **{key}:** {value}")
        out.append("")
        for t in self.tables:
            out += [t, ""]
        if self.commands:
            out.append("Timed commands:")
            out.append("")
            out += [f"- {label}: `{cmd}`" for label, cmd in self.commands]
            out.append("")
        for n in self.notes:
            out += [n, ""]
        if self.raw:
            out += ["<details><summary>Every pair</summary>", "", "```"]
            out += self.raw
            out += ["```", "", "</details>", ""]
        out.append(f"<!-- bench:{self.name} end -->")
        return "\n".join(out)


def _read(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def machine_facts(cowcopy, top):
    """Conditions of this run: date, kernel, machine, load, versions."""
    mem_kib = 0
    cpu = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    vm = []
    if any(n.startswith("virtio") for n in _listdir("/sys/bus/virtio/drivers/virtio_balloon")):
        vm.append("virtio balloon (guest memory can be handed back to the host)")
    if any(_readfile(f"/sys/kernel/mm/damon/admin/kdamonds/{k}/state") == "on"
           for k in _listdir("/sys/kernel/mm/damon/admin/kdamonds") if k.isdigit()):
        vm.append("DAMON running (proactive reclaim may evict page cache)")
    head = _read(["git", "-C", top, "rev-parse", "--short", "HEAD"])
    # Uncommitted changes to anything but the results themselves.
    dirty = _read(["git", "-C", top, "status", "--porcelain", "--untracked-files=no", "--",
                   ".", ":(exclude)bench/RESULTS.md"])
    facts = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": f"{platform.system()} {platform.release()}",
        "machine": f"{os.cpu_count()} CPUs ({cpu}), {mem_kib / (1 << 20):.1f} GiB memory",
        "load average before the run (1, 5, 15 min)": ", ".join(f"{x:.2f}" for x in load),
        "cowcopy": f"{(_read([cowcopy, '--version']) or '?').splitlines()[0]} ({cowcopy}), "
                   f"commit {head}{' with uncommitted changes' if dirty else ''}",
        "cp": _read(["cp", "--version"]).splitlines()[0],
    }
    if vm:
        facts["memory management"] = "; ".join(vm)
    return facts


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def _readfile(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


class CpuWatch:
    """How busy the machine was *outside* this benchmark's own processes:
    CPU time of the whole machine (/proc/stat) minus that of this process
    and its children (os.times), as a share of all CPUs over the run.
    Kernel threads that write back our own files count as outside, so a
    few percent are expected on an idle machine."""

    @staticmethod
    def _busy():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
        idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
        return (sum(v[:8]) - idle) / hz

    @staticmethod
    def _ours():
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def __init__(self):
        self.t0 = time.monotonic()
        self.busy0, self.ours0 = self._busy(), self._ours()

    def others_share(self):
        """Share (0..1) of the machine's CPU time used by others since start."""
        wall = (time.monotonic() - self.t0) * os.cpu_count()
        others = (self._busy() - self.busy0) - (self._ours() - self.ours0)
        return max(0.0, others / wall) if wall > 0 else 0.0


HEADER = """\
# cowcopy benchmarks: results

Written by `bench/run.sh`; do not edit by hand (each benchmark's block is
replaced when that benchmark runs again, the others are kept).

## How to reproduce

```sh
make bench                               # build, then every benchmark
bench/run.sh build/cowcopy cp-file       # one benchmark by name
bench/run.sh build/cowcopy --list        # the benchmarks there are
bench/run.sh build/cowcopy --pairs 31 cp-file   # more pairs than the default
```

Run as root on an otherwise idle machine: benchmarks make loop-mounted
scratch filesystems (sparse images under `/tmp/cowcopy-bench.*`, removed
afterwards, even on Ctrl-C) and install the tools they compare against from
Debian's packages (`bench/deps.sh`). Each block below names the exact
command that produced it and the conditions it ran under.

## How to read the tables

- A and B run as whole processes, **interleaved** in one invocation: pair
  after pair, each pair's order (A B or B A) drawn from a fixed seed, after
  one warm-up run of each. (Not strict alternation: a periodic stall on
  this VM once lined up with one side of it.) Before every run, untimed:
  the previous output is removed, the filesystem is synced and the page
  cache is put in the same state for both sides (stated per benchmark).
- Each pair gives one ratio A/B of wall times. The table shows the
  **median** of those ratios, its interquartile range (IQR) and min–max,
  and the median wall time of each side.
- The result is PASS when the median ratio meets the target, MISS when
  not; "(within noise)" when the target lies inside the IQR, i.e. the run
  cannot tell the two apart at that level.
- "Every pair" lists each pair's times, and the median ratio of the pairs
  where A ran first and where B did; when those differ by more than 10% a
  note says so (an order effect).
- Generated data comes from fixed seeds: every run times the same bytes.
"""


def update_results(path, section, order=()):
    """Replace (or add) section's block in the RESULTS.md at path, keeping the
    others; blocks are written in `order` (benchmark names), unknown last."""
    blocks = {}
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
        for m in re.finditer(r"<!-- bench:(\S+) begin -->.*?<!-- bench:\1 end -->", text, re.S):
            blocks[m.group(1)] = m.group(0)
    blocks[section.name] = section.render()
    names = [n for n in order if n in blocks] + sorted(n for n in blocks if n not in order)
    with open(path + ".tmp", "w") as f:
        f.write(HEADER)
        for n in names:
            f.write("\n" + blocks[n] + "\n")
    os.replace(path + ".tmp", path)
