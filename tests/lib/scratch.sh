# scratch.sh - loop-mounted scratch filesystems for the tests (sourced).
#
# scratch_setup makes a fresh directory /tmp/cowcopy-scratch.XXXXXX holding
# small images of btrfs, XFS (reflink=1), XFS (reflink=0), ext4 and a tmpfs,
# mounts them, and exports COWCOPY_TEST_FS="btrfs=/mnt/..:xfs=...:...".
# scratch_teardown unmounts and removes everything; call it from a trap so it
# runs even when a test fails or the run is interrupted. Loop devices come
# from `mount -o loop`, which detaches them on unmount (autoclear).
#
# On macOS (no loop devices, no root needed) the scratch filesystems are two
# sparse disk images attached with hdiutil: APFS, which clones, and
# case-sensitive HFS+, which does not: COWCOPY_TEST_FS="apfs=..:hfs=..".
#
# Leftovers of an earlier interrupted run are cleaned first: a scratch
# directory whose owner.pid no longer runs is unmounted and removed. A run in
# progress (its owner alive) is left alone.

SCRATCH_ROOT=""
SCRATCH_DARWIN=""
[[ $(uname -s) == Darwin ]] && SCRATCH_DARWIN=1

scratch_log() { echo "scratch: $*" >&2; }

# Unmount everything below $1 (deepest first) and remove the directory.
scratch_remove_dir() {
    local dir=$1 m
    if [[ -n $SCRATCH_DARWIN ]]; then
        for m in "$dir"/*/; do
            hdiutil detach -quiet "$m" 2>/dev/null || hdiutil detach -quiet -force "$m" 2>/dev/null
        done
        rm -rf "$dir"
        return
    fi
    for m in $(findmnt -rn -o TARGET | grep "^$dir/" | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
    rm -rf "$dir"
}

scratch_clean_stale() {
    local d pid
    for d in /tmp/cowcopy-scratch.*; do
        [[ -d $d ]] || continue
        pid=$(cat "$d/owner.pid" 2>/dev/null)
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
            continue
        fi
        scratch_log "removing leftovers of an earlier run: $d"
        scratch_remove_dir "$d"
    done
}

# scratch_make NAME SIZE MKFS... : image + loop mount at $SCRATCH_ROOT/NAME
scratch_make() {
    local name=$1 size=$2
    shift 2
    local img=$SCRATCH_ROOT/$name.img mnt=$SCRATCH_ROOT/$name
    mkdir -p "$mnt"
    truncate -s "$size" "$img" || return 1
    if ! "$@" "$img" >"$SCRATCH_ROOT/$name.mkfs.log" 2>&1; then
        scratch_log "$1 failed for $name: $(tail -1 "$SCRATCH_ROOT/$name.mkfs.log")"
        return 1
    fi
    if ! mount -o loop "$img" "$mnt" 2>"$SCRATCH_ROOT/$name.mount.log"; then
        scratch_log "cannot mount $name: $(cat "$SCRATCH_ROOT/$name.mount.log")"
        return 1
    fi
    chmod 1777 "$mnt" # unprivileged permission tests need a place to work
    COWCOPY_TEST_FS+="${COWCOPY_TEST_FS:+:}$name=$mnt"
}

# scratch_attach NAME SIZE FSTYPE : a sparse image attached at $SCRATCH_ROOT/NAME (macOS)
scratch_attach() {
    local name=$1 size=$2 fstype=$3 mnt=$SCRATCH_ROOT/$1
    mkdir -p "$mnt"
    if ! hdiutil create -quiet -size "$size" -fs "$fstype" -volname "cowcopy-$name" \
        -type SPARSE "$SCRATCH_ROOT/$name" 2>"$SCRATCH_ROOT/$name.create.log"; then
        scratch_log "hdiutil create failed for $name: $(tail -1 "$SCRATCH_ROOT/$name.create.log")"
        return 1
    fi
    if ! hdiutil attach -quiet -nobrowse -mountpoint "$mnt" "$SCRATCH_ROOT/$name.sparseimage" \
        2>"$SCRATCH_ROOT/$name.attach.log"; then
        scratch_log "cannot attach $name: $(cat "$SCRATCH_ROOT/$name.attach.log")"
        return 1
    fi
    chmod 1777 "$mnt"
    COWCOPY_TEST_FS+="${COWCOPY_TEST_FS:+:}$name=$mnt"
}

scratch_setup_darwin() {
    scratch_clean_stale
    SCRATCH_ROOT=$(mktemp -d /tmp/cowcopy-scratch.XXXXXX) || return 1
    echo $$ >"$SCRATCH_ROOT/owner.pid"
    scratch_attach apfs 1g APFS
    scratch_attach hfs 512m "Case-sensitive Journaled HFS+"
    export COWCOPY_TEST_FS
}

scratch_setup() {
    COWCOPY_TEST_FS=""
    if [[ -n $SCRATCH_DARWIN ]]; then
        scratch_setup_darwin
        return
    fi
    if [[ $(id -u) -ne 0 ]]; then
        scratch_log "not root: no scratch filesystems (tests that need them will SKIP)"
        export COWCOPY_TEST_FS
        return 0
    fi
    scratch_clean_stale
    SCRATCH_ROOT=$(mktemp -d /tmp/cowcopy-scratch.XXXXXX) || return 1
    chmod 755 "$SCRATCH_ROOT"
    echo $$ >"$SCRATCH_ROOT/owner.pid"
    # mkfs.xfs needs at least 300 MB; mkfs.btrfs about 110 MiB. Images are sparse.
    scratch_make btrfs 1G mkfs.btrfs -q -f
    scratch_make xfs 1G mkfs.xfs -q -f -m reflink=1
    scratch_make xfs_noreflink 320M mkfs.xfs -q -f -m reflink=0
    scratch_make ext4 512M mkfs.ext4 -q -F
    mkdir -p "$SCRATCH_ROOT/tmpfs"
    if mount -t tmpfs -o size=512m,mode=1777 tmpfs "$SCRATCH_ROOT/tmpfs"; then
        COWCOPY_TEST_FS+="${COWCOPY_TEST_FS:+:}tmpfs=$SCRATCH_ROOT/tmpfs"
    fi
    export COWCOPY_TEST_FS
}

scratch_teardown() {
    [[ -n $SCRATCH_ROOT && -d $SCRATCH_ROOT ]] || return 0
    cd / || true
    scratch_remove_dir "$SCRATCH_ROOT"
    SCRATCH_ROOT=""
}
