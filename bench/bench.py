#!/usr/bin/python3
"""bench.py - the benchmark driver behind bench/run.sh.

    bench.py --cowcopy PATH [--pairs N] [--note TEXT] [--no-write] [--list] [NAME...]

Finds the benchmarks in bench/benchmarks/ (one module each, see
bench/README.md), installs what each needs (bench/deps.sh), runs the chosen
ones (all by default) each on fresh scratch filesystems, prints their tables
and writes their blocks of bench/RESULTS.md with the conditions of the run.
Exits 1 if a benchmark could not run (a tool failed, a check failed); a
target missed is reported as MISS, not as an error: benchmarks are not tests.
"""
import argparse
import importlib
import os
import pkgutil
import shlex
import subprocess
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from benchlib import measure, report, scratch  # noqa: E402

# A run is flagged as taken on a busy machine when other work used more than
# this share of the CPU during it (the load average before it is recorded, but
# it also counts whatever we ran just before).
BUSY_OTHERS = 0.15


class Context:
    """What a benchmark's run(ctx) gets."""

    def __init__(self, cowcopy, scratch_, pairs, log):
        self.cowcopy = cowcopy      # absolute path of the cowcopy binary under test
        self.top = TOP              # the source tree
        self.scratch = scratch_     # a benchlib.scratch.Scratch, fresh for this benchmark
        self.pairs_override = pairs
        self.log = log

    def pairs(self, default):
        """Number of pairs: --pairs if given, else the benchmark's default."""
        return self.pairs_override or default


def discover():
    """name -> module, in file name order."""
    import benchmarks
    found = {}
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"benchmarks.{info.name}")
        if hasattr(mod, "NAME") and hasattr(mod, "run"):
            found[mod.NAME] = mod
    return found


def install_needs(needs):
    if needs:
        subprocess.run([os.path.join(HERE, "deps.sh"), *needs], check=True)


def main():
    ap = argparse.ArgumentParser(description="Run cowcopy's benchmarks; results in bench/RESULTS.md.")
    ap.add_argument("--cowcopy", required=True, help="the cowcopy binary to measure")
    ap.add_argument("--pairs", type=int, help="pairs (or repetitions) per case, overriding defaults")
    ap.add_argument("--note", action="append", default=[], help="a note to record with the results")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--invocation", help="the command line to record (set by run.sh)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    ap.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = ap.parse_args()

    found = discover()
    if args.list:
        for name, mod in found.items():
            issue = f" (issue {mod.ISSUE})" if getattr(mod, "ISSUE", None) else ""
            print(f"{name:16s} {mod.TITLE}{issue}")
        return 0
    unknown = [n for n in args.names if n not in found]
    if unknown:
        print(f"bench: unknown benchmark(s): {' '.join(unknown)}; --list shows them", file=sys.stderr)
        return 2
    if args.pairs is not None and args.pairs < 1:
        print("bench: --pairs must be at least 1", file=sys.stderr)
        return 2
    cowcopy = os.path.abspath(args.cowcopy)
    if not os.access(cowcopy, os.X_OK):
        print(f"bench: no cowcopy binary at {cowcopy}; run `make` first", file=sys.stderr)
        return 2
    invocation = args.invocation or " ".join(shlex.quote(a) for a in sys.argv)

    failed = 0
    for name in args.names or list(found):
        mod = found[name]
        measure.log(f"== {name}: {mod.TITLE}")
        try:
            install_needs(getattr(mod, "NEEDS", []))
            facts = report.machine_facts(cowcopy, TOP)
            watch = report.CpuWatch()
            with scratch.Scratch() as s:
                ctx = Context(cowcopy, s, args.pairs, measure.log)
                section = mod.run(ctx)
            others = watch.others_share()
        except Exception as e:  # a failed tool or check: report, go on with the next
            traceback.print_exc()
            measure.log(f"bench: {name} could not run: {e}")
            failed += 1
            continue
        section.conditions = {"command": f"`{invocation}`", **facts,
                              "CPU used outside the benchmark during the run":
                                  f"{others:.0%} of the machine"}
        notes = list(args.note)
        if others > BUSY_OTHERS:
            notes.append(f"Taken on a shared, busy machine ({others:.0%} of the CPU used by other "
                         "work during the run): absolute times are noisy; re-run on a quiet "
                         "machine for figures to quote.")
        if notes:
            section.conditions["note"] = " ".join(notes)
        print()
        print(section.render())
        print()
        if not args.no_write:
            report.update_results(args.results, section, order=list(found))
            measure.log(f"bench: {name} written to {os.path.relpath(args.results)}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the scratch filesystems are already removed
        print("bench: interrupted", file=sys.stderr)
        sys.exit(130)
