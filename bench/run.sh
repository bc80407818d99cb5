#!/usr/bin/env bash
# run.sh [COWCOPY] [OPTIONS] [NAME...] - run cowcopy's benchmarks (all, or the
# named ones) and record them in bench/RESULTS.md. `make bench` runs
# `bench/run.sh build/cowcopy`.
#
#   COWCOPY      the binary to measure (default: build/cowcopy); recognised
#                as the first argument when it contains a '/' or is a file
#   --list       the benchmarks there are
#   --pairs N    pairs (repetitions) per case instead of each default
#   --note TEXT  a note recorded with the results (e.g. "quiet machine")
#   --no-write   print the tables only, leave RESULTS.md alone
#
# Needs root (scratch loop filesystems); installs what it needs from Debian's
# packages. The work is done by bench.py with Debian's /usr/bin/python3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
invocation=$(/usr/bin/python3 -c 'import shlex, sys; print(shlex.join(sys.argv[1:]))' \
    bench/run.sh "$@")

cowcopy=$top/build/cowcopy
if [[ $# -gt 0 && ( $1 == */* || -f $1 ) ]]; then
    cowcopy=$1
    shift
fi
if [[ ! -x $cowcopy ]]; then
    echo "run.sh: no cowcopy binary at $cowcopy; run \`make\` first" >&2
    exit 2
fi
if [[ $(id -u) -ne 0 && " $* " != *" --list "* ]]; then
    echo "run.sh: benchmarks need root: they mount scratch filesystems" >&2
    exit 2
fi
"$top/bench/deps.sh"
exec /usr/bin/python3 "$top/bench/bench.py" --cowcopy "$(realpath "$cowcopy")" \
    --invocation "$invocation" "$@"
