#!/usr/bin/env bash
# deps.sh [--build] - install what building and testing cowcopy needs, from
# Debian's packages (Homebrew's on macOS), when it is missing. `make` runs it
# with --build (only the libraries the build links: libxxhash, SQLite);
# `make check` runs it whole. Safe to run again. Without root it only reports
# (on Linux).
set -u

# macOS: the two libraries from Homebrew; the rest (clang, python3, hdiutil)
# comes with the system or the Command Line Tools.
if [[ $(uname -s) == Darwin ]]; then
    if ! command -v brew >/dev/null 2>&1; then
        echo "deps.sh: Homebrew is needed on macOS for xxhash and sqlite (https://brew.sh)" >&2
        exit 1
    fi
    for formula in xxhash sqlite; do
        brew list --versions "$formula" >/dev/null 2>&1 || brew install -q "$formula" || {
            echo "deps.sh: could not install $formula with Homebrew" >&2
            exit 1
        }
    done
    exit 0
fi

# command-or-file needed to build -> Debian package that provides it
build_needs=(
    "/usr/include/xxhash.h:libxxhash-dev"
    "/usr/include/sqlite3.h:libsqlite3-dev"
)

# ... and to test
needs=(
    "mkfs.btrfs:btrfs-progs"
    "mkfs.xfs:xfsprogs"
    "mkfs.ext4:e2fsprogs"
    "setfacl:acl"
    "setfattr:attr"
    "setcap:libcap2-bin"
    "setpriv:util-linux"
    "/usr/bin/python3:python3"
    "/usr/include/python3.11/Python.h:python3-dev"
    "/usr/lib/python3.11/ensurepip/__init__.py:python3-venv"
    "/usr/lib/python3/dist-packages/setuptools/__init__.py:python3-setuptools"
    "/usr/lib/python3/dist-packages/wheel/__init__.py:python3-wheel"
    "/usr/lib/python3/dist-packages/pip/__init__.py:python3-pip"
    "/usr/lib/python3.11/test/test_shutil.py:libpython3.11-testsuite"
    "valgrind:valgrind"
    "pkg-config:pkg-config"
    "strace:strace"
)

if [[ ${1:-} == --build ]]; then
    needs=("${build_needs[@]}")
else
    needs+=("${build_needs[@]}")
fi

missing=()
for pair in "${needs[@]}"; do
    what=${pair%%:*}
    pkg=${pair##*:}
    if [[ $what == /* ]]; then
        [[ -e $what ]] || missing+=("$pkg")
    else
        command -v "$what" >/dev/null 2>&1 || [[ -x /sbin/$what || -x /usr/sbin/$what ]] || missing+=("$pkg")
    fi
done

[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
    echo "deps.sh: missing packages (install as root): ${missing[*]}" >&2
    exit 0
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
        echo "deps.sh: could not install ${missing[*]}" >&2
        exit 1
    }
fi
