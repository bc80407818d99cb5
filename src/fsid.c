/*
 * fsid.c - which filesystem a file is on, as an identity that survives
 * remounts (device numbers do not) and that btrfs subvolumes share (their
 * st_dev differs, yet they deduplicate together).
 *
 * Order: btrfs's fsid (BTRFS_IOC_FS_INFO: one per filesystem, whatever the
 * subvolume), then the generic FS_IOC_GETFSUUID (Linux 6.5+; ext4, XFS, ...;
 * btrfs does not answer it on 6.18), then statfs's f_fsid with st_dev as a
 * last resort, which is not stable across remounts (is_uuid false).
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

int cowcopy__fsid_of(int fd, dev_t dev, cowcopy__fsid *out)
{
    memset(out, 0, sizeof *out);
    if (SYS(btrfs_fsid)(fd, out->bytes) == 0) {
        out->is_uuid = true;
        return 0;
    }
    struct cowcopy__fsuuid u;
    memset(&u, 0, sizeof u);
    if (SYS(getfsuuid)(fd, &u) == 0 && u.len > 0 && u.len <= sizeof out->bytes) {
        memcpy(out->bytes, u.uuid, u.len);
        out->is_uuid = true;
        return 0;
    }
    struct statfs sfs;
    if (SYS(fstatfs)(fd, &sfs) < 0)
        return -errno;
    memcpy(out->bytes, &sfs.f_fsid, sizeof sfs.f_fsid < 8 ? sizeof sfs.f_fsid : 8);
    uint64_t d = (uint64_t)dev;
    memcpy(out->bytes + 8, &d, 8);
    return 0;
}

bool cowcopy__fsid_equal(const cowcopy__fsid *a, const cowcopy__fsid *b)
{
    return memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}
