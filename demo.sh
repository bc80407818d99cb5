#!/usr/bin/env bash
# demo.sh COWCOPY - the main job, shown: clone a 1 GiB file, copy it the old
# way, and prove the clone shares its blocks (used by `make demo`).
#
# As root it makes a scratch btrfs filesystem (installing btrfs-progs if
# missing) and removes it afterwards. Otherwise it works in a temporary
# directory, where clones happen only if that directory's filesystem can
# clone.
set -eu
cowcopy=$(realpath "$1")
top=$(cd "$(dirname "$0")" && pwd)
workdir=$(mktemp -d /tmp/cowcopy-demo.XXXXXX)
mnt=""
cleanup() {
    cd /
    [[ -n $mnt ]] && umount "$mnt" 2>/dev/null
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [[ $(id -u) -eq 0 ]]; then
    command -v mkfs.btrfs >/dev/null || "$top/tests/deps.sh"
    truncate -s 3G "$workdir/btrfs.img"
    mkfs.btrfs -q -f "$workdir/btrfs.img" >/dev/null
    mkdir "$workdir/mnt"
    mount -o loop "$workdir/btrfs.img" "$workdir/mnt"
    mnt=$workdir/mnt
    dir=$mnt
    echo "A scratch btrfs filesystem is mounted at $dir for this demo."
else
    dir=$workdir
    echo "Not root: working in $dir ($(stat -f -c %T "$dir")). Clones need a copy-on-write"
    echo "filesystem (btrfs, XFS with reflink, bcachefs, ZFS 2.2+); elsewhere cowcopy copies."
fi
cd "$dir"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f s", b - a }'; }
used() { df -B1 --output=used . | tail -1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

echo
echo "Writing a 1 GiB file of random data..."
dd if=/dev/urandom of=big bs=1M count=1024 status=none
sync

before=$(used)
t0=$(now)
"$cowcopy" cp -v big clone
t1=$(now)
sync
after_clone=$(used)
t2=$(now)
"$cowcopy" cp -v --reflink=never big copy
t3=$(now)
sync
after_copy=$(used)

echo
echo "cowcopy cp big clone                  $(elapsed "$t0" "$t1")   space used: $(mib $((after_clone - before)))"
echo "cowcopy cp --reflink=never big copy   $(elapsed "$t2" "$t3")   space used: $(mib $((after_copy - after_clone)))"
echo
echo "Proof that the clone shares its blocks (its extents, read with FIEMAP):"
"$cowcopy" shared big clone copy | sed 's/^/  /'
echo
echo "Storage used by the three files, sharing counted once:"
"$cowcopy" du -h big clone copy | sed 's/^/  /'
cmp -s big clone && cmp -s big copy && echo "  contents: identical"
