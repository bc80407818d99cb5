"""measure.py - timing whole processes and Python callables, in interleaved pairs.

run_process(argv) starts a program with posix_spawn (vfork+exec in glibc,
the cheapest start Python offers), waits with wait4 and returns a Run: wall
time from just before the spawn to just after the reap, exit status and
user/system CPU time of the child (and its reaped descendants).

Peak RSS is measured by peak_rss_kib(), in a separate, untimed run under
GNU time (/usr/bin/time -f %M), not from the timed runs: Linux carries the
RSS high-water mark of the address space a process replaced at exec into
its ru_maxrss, and a child spawned by Python would report Python's own
~20 MB. Under GNU time (a small process that forks) that floor is ~1-2 MB,
the same for every tool; rss_floor_kib() measures it with /bin/true.
The same launcher is used for both sides, so its small fixed cost is the
same for both; spawn_floor() measures it (a run of /bin/true) so a reader
can judge ratios of very short processes.

compare(a, b, pairs, prepare=...) runs A and B in pairs, each pair in an
order drawn from a fixed seed (AB or BA), after unrecorded warm-up runs of
each. A drawn order rather than strict alternation (AB BA AB BA ...):
this VM showed a stall of ~0.4 s every few seconds in cold-cache runs
that fell on every 4th run, which strict alternation lined up with one
side (B of every AB pair) and turned into a false 2x "speed-up" for the
other; a seeded random order cannot line up with a periodic disturbance,
yet repeats exactly. order="alternate" remains available. Before *every* run, timed or not,
prepare(side) is called untimed: it removes the previous output, syncs and
sets the page cache (see cache.prepare). After every run, check(side, run)
may verify the output (untimed); it raises to stop the benchmark. Each pair
gives one ratio A/B; stats.summary turns those into the median and spread.

A Side is either a command (argv, run as a whole process) or a Python
callable (fn, timed in-process with perf_counter), for benchmarks of the
Python package against shutil.

rounds(sides, n, ...) generalises compare() to several sides (a peer and
cowcopy at several thread counts): each round runs every side once in a
seeded random order; ratios are taken within a round.
"""
import atexit
import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field


class BenchmarkError(RuntimeError):
    """A tool failed or a check of its output failed: the benchmark stops."""


@dataclass
class Run:
    wall: float          # seconds
    status: int          # exit status (0 = success); -N = killed by signal N
    user: float = 0.0    # CPU seconds in user mode
    sys: float = 0.0     # CPU seconds in the kernel
    stderr: str = ""


@dataclass
class Side:
    """One contender: `argv` (a whole process) or `fn` (a Python callable)."""
    name: str
    argv: list = None
    fn: object = None
    cwd: str = None
    env: dict = None

    def command(self):
        """The command line as a person would type it (for RESULTS.md)."""
        import shlex
        if self.argv is not None:
            return " ".join(shlex.quote(a) for a in self.argv)
        return getattr(self.fn, "__doc__", None) or repr(self.fn)

    def run(self):
        if self.argv is not None:
            return run_process(self.argv, cwd=self.cwd, env=self.env)
        return run_callable(self.fn)


_stderr_file = None


def run_process(argv, cwd=None, env=None, stdout_path=os.devnull):
    """Run argv to completion; @return a Run. stdout goes to stdout_path,
    stderr is kept (last 4 KiB) for error messages. The child is killed if
    we are interrupted while it runs."""
    global _stderr_file
    if _stderr_file is None:
        _stderr_file = tempfile.TemporaryFile(prefix="cowcopy-bench-stderr.")
        atexit.register(_stderr_file.close)
    _stderr_file.seek(0)
    _stderr_file.truncate()
    out_fd = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    actions = [
        (os.POSIX_SPAWN_DUP2, out_fd, 1),
        (os.POSIX_SPAWN_DUP2, _stderr_file.fileno(), 2),
        (os.POSIX_SPAWN_CLOSE, out_fd),
    ]
    if env is None:
        env = os.environ
    old_cwd = None
    if cwd is not None:  # posix_spawn has no portable chdir action before 3.13
        old_cwd = os.getcwd()
        os.chdir(cwd)
    pid = None
    try:
        t0 = time.perf_counter_ns()
        pid = os.posix_spawnp(argv[0], argv, env, file_actions=actions)
        _, wstatus, ru = os.wait4(pid, 0)
        t1 = time.perf_counter_ns()
        pid = None
    finally:
        if pid is not None:  # interrupted: do not leave it running in a mount
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
        os.close(out_fd)
        if old_cwd is not None:
            os.chdir(old_cwd)
    status = os.waitstatus_to_exitcode(wstatus)
    _stderr_file.seek(0, os.SEEK_END)
    size = _stderr_file.tell()
    _stderr_file.seek(max(0, size - 4096))
    err = _stderr_file.read().decode(errors="replace")
    return Run(wall=(t1 - t0) / 1e9, status=status, user=ru.ru_utime, sys=ru.ru_stime,
               stderr=err)


def run_callable(fn):
    """Time fn() in this process; an exception stops the benchmark."""
    t0 = time.perf_counter_ns()
    fn()
    t1 = time.perf_counter_ns()
    return Run(wall=(t1 - t0) / 1e9, status=0)


TIME = "/usr/bin/time"  # GNU time, Debian package "time"


def peak_rss_kib(argv, cwd=None):
    """Peak RSS of one (untimed) run of argv, in KiB, as /usr/bin/time -f %M
    reports it. Includes a floor of ~1-2 MB (see rss_floor_kib)."""
    return run_with_peak_rss(argv, cwd)[1]


def run_with_peak_rss(argv, cwd=None, stdout_path=os.devnull):
    """Run argv once under GNU time; @return (Run, peak RSS in KiB). The
    wall time includes GNU time's own start (about a millisecond)."""
    with tempfile.NamedTemporaryFile(mode="r", prefix="cowcopy-bench-rss.") as out:
        run = run_process([TIME, "-f", "%M", "-o", out.name, *argv], cwd=cwd,
                          stdout_path=stdout_path)
        if run.status != 0:
            raise BenchmarkError(f"{argv[0]} exited with {run.status}: {run.stderr.strip()}")
        return run, int(out.read().split()[-1])


def rss_floor_kib():
    """Peak RSS that GNU time reports for /bin/true: the floor under every
    peak_rss_kib figure."""
    return peak_rss_kib(["/bin/true"])


def spawn_floor(runs=21):
    """Median wall time of running /bin/true with this launcher, seconds."""
    times = sorted(run_process(["/bin/true"]).wall for _ in range(runs))
    return times[len(times) // 2]


@dataclass
class PairResult:
    a: Side
    b: Side
    a_runs: list = field(default_factory=list)
    b_runs: list = field(default_factory=list)
    order: list = field(default_factory=list)   # "AB" or "BA" per pair

    @property
    def ratios(self):
        return [ra.wall / rb.wall for ra, rb in zip(self.a_runs, self.b_runs)]

    def ratios_by_order(self):
        """{"AB": [...], "BA": [...]}: the ratios of pairs where A ran first,
        and where B did. Far apart, they reveal an order effect."""
        out = {"AB": [], "BA": []}
        for o, r in zip(self.order, self.ratios):
            out[o].append(r)
        return out


def _checked(side, run, check):
    if run.status != 0:
        raise BenchmarkError(f"{side.name}: `{side.command()}` exited with {run.status}: "
                             f"{run.stderr.strip()}")
    if check is not None:
        check(side, run)
    return run


def run_checked(side, check=None):
    """Run side once (no preparation); a failed run raises BenchmarkError,
    then check(side, run) if given. @return the Run."""
    return _checked(side, side.run(), check)


def compare(a, b, pairs, prepare=None, check=None, warmup=1, order="shuffle", seed=0,
            progress=None):
    """Run sides a and b in `pairs` interleaved pairs; @return a PairResult.

    order: "shuffle" (each pair's order drawn from random.Random(seed)) or
    "alternate" (AB, BA, AB, ...). prepare(side) runs untimed before every
    run; check(side, run) untimed after every run. progress(text) is told
    about each pair."""
    rng = random.Random(seed)
    res = PairResult(a, b)

    def one(side):
        if prepare is not None:
            prepare(side)
        return _checked(side, side.run(), check)

    for _ in range(warmup):
        one(a)
        one(b)
    for i in range(pairs):
        if order == "alternate":
            first_a = i % 2 == 0
        elif order == "shuffle":
            first_a = rng.random() < 0.5
        else:
            raise ValueError(f"unknown order {order!r}")
        if first_a:
            ra = one(a)
            rb = one(b)
        else:
            rb = one(b)
            ra = one(a)
        res.a_runs.append(ra)
        res.b_runs.append(rb)
        res.order.append("AB" if first_a else "BA")
        if progress is not None:
            progress(f"pair {i + 1}/{pairs} {res.order[-1]}: {a.name} {ra.wall * 1e3:.2f} ms, "
                     f"{b.name} {rb.wall * 1e3:.2f} ms, ratio {ra.wall / rb.wall:.3f}")
    return res


@dataclass
class RoundsResult:
    """rounds(): runs[i][k] is side i's run in round k; order[k] the names
    in the order they ran in round k."""
    sides: list
    runs: list = field(default_factory=list)
    order: list = field(default_factory=list)

    def walls(self, i):
        return [r.wall for r in self.runs[i]]

    def ratios(self, i, ref=0):
        """Per-round wall ratios of side i to side ref (same round)."""
        return [a.wall / b.wall for a, b in zip(self.runs[i], self.runs[ref])]


def rounds(sides, n, prepare=None, check=None, warmup=1, seed=0, progress=None):
    """Several sides (e.g. a peer and cowcopy at -j1, -j2, -j4) in `n`
    rounds: every round runs each side once, in an order drawn from
    random.Random(seed), so each side meets the machine's drifts alike and
    per-round ratios pair like compare()'s. prepare/check as in compare().
    @return a RoundsResult."""
    rng = random.Random(seed)
    res = RoundsResult(list(sides), [[] for _ in sides])

    def one(side):
        if prepare is not None:
            prepare(side)
        return _checked(side, side.run(), check)

    for _ in range(warmup):
        for side in sides:
            one(side)
    for k in range(n):
        idx = list(range(len(sides)))
        rng.shuffle(idx)
        for i in idx:
            res.runs[i].append(one(sides[i]))
        res.order.append([sides[i].name for i in idx])
        if progress is not None:
            progress(f"round {k + 1}/{n}: " + ", ".join(
                f"{sides[i].name} {res.runs[i][-1].wall * 1e3:.1f} ms" for i in idx))
    return res


def repeat(side, runs, prepare=None, check=None, warmup=0):
    """Run one side `runs` times (e.g. a reference row, or one of several
    tools that each need a fresh tree); @return the list of Runs."""
    out = []
    for i in range(warmup + runs):
        if prepare is not None:
            prepare(side)
        run = _checked(side, side.run(), check)
        if i >= warmup:
            out.append(run)
    return out


def syscall_counts(side, prepare=None):
    """Run side once under `strace -f -c` (untimed) after prepare(side);
    @return {syscall: (calls, errors)}: evidence for why one side is slower."""
    if side.argv is None:
        raise ValueError("syscall counts need a command")
    if prepare is not None:
        prepare(side)
    with tempfile.NamedTemporaryFile(mode="r", prefix="cowcopy-bench-strace.") as out:
        run = run_process(["strace", "-f", "-c", "-U", "name,calls,errors", "-o", out.name,
                           *side.argv], cwd=side.cwd, env=side.env)
        if run.status != 0:
            raise BenchmarkError(f"strace {side.command()} exited with {run.status}: "
                                 f"{run.stderr.strip()}")
        counts = {}
        for line in out.read().splitlines():
            f = line.split()
            if len(f) >= 2 and f[1].isdigit() and not set(f[0]) <= set("-") and f[0] != "total":
                counts[f[0]] = (int(f[1]), int(f[2]) if len(f) > 2 and f[2].isdigit() else 0)
        return counts


def log(msg):
    print(msg, file=sys.stderr, flush=True)
