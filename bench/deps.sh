#!/usr/bin/env bash
# deps.sh [WHAT:PACKAGE...] - install what the benchmarks need from Debian's
# packages when it is missing. WHAT is a command (looked up on PATH and in
# /sbin, /usr/sbin) or an absolute path; PACKAGE the Debian package that
# provides it. With no arguments it installs the base set every benchmark
# uses; bench.py passes each benchmark's NEEDS list. Safe to run again.
set -u

needs=("$@")
if [[ ${#needs[@]} -eq 0 ]]; then
    needs=(
        "/usr/bin/python3:python3"
        "/usr/bin/time:time"
        "mkfs.btrfs:btrfs-progs"
        "mkfs.xfs:xfsprogs"
        "mkfs.ext4:e2fsprogs"
        "filefrag:e2fsprogs"
        "cmp:diffutils"
    )
fi

missing=()
for pair in "${needs[@]}"; do
    what=${pair%%:*}
    pkg=${pair##*:}
    if [[ $what == /* ]]; then
        [[ -e $what ]] && continue
    else
        command -v "$what" >/dev/null 2>&1 && continue
        [[ -x /sbin/$what || -x /usr/sbin/$what ]] && continue
    fi
    [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done

[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
    echo "deps.sh: missing packages (install as root): ${missing[*]}" >&2
    exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
        echo "deps.sh: could not install ${missing[*]}" >&2
        exit 1
    }
fi
