/*
 * fsid.c - which filesystem a file is on, two ways:
 *
 *  - cowcopy__fsid_of(): the physical address space its extents live in, to
 *    compare extents and to group dedupe candidates. btrfs gives every
 *    subvolume its own st_dev, yet all share one address space (and
 *    deduplicate together): there it is the filesystem's fsid; elsewhere
 *    st_dev, which also keeps apart two mounted copies of one image.
 *  - cowcopy__fs_uuid(): an identity that survives remounts (device numbers
 *    do not), for keys stored on disk such as the dedupe cache: btrfs's fsid
 *    (BTRFS_IOC_FS_INFO), else FS_IOC_GETFSUUID (Linux 6.5+: ext4, XFS...;
 *    btrfs does not answer it on 6.18).
 * Darwin: st_dev, and no UUID (see below).
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

#ifdef COWCOPY_DARWIN
/* Darwin: one address space per mounted volume. */
cowcopy__fsid cowcopy__fsid_of(int fd, const struct stat *st)
{
    (void)fd;
    return (cowcopy__fsid){0, (uint64_t)st->st_dev};
}

/* Darwin: no stable volume UUID is read here (getattrlist's ATTR_VOL_UUID
 * would be the way); without one the dedupe cache is not used. */
int cowcopy__fs_uuid(int fd, unsigned char uuid[16])
{
    (void)fd;
    (void)uuid;
    return -ENODATA;
}
#else
#include <linux/magic.h>

cowcopy__fsid cowcopy__fsid_of(int fd, const struct stat *st)
{
    cowcopy__fsid id = {0, (uint64_t)st->st_dev};
    struct statfs sfs;
    unsigned char uuid[16];
    if (SYS(fstatfs)(fd, &sfs) == 0 && (unsigned long)sfs.f_type == BTRFS_SUPER_MAGIC &&
        SYS(btrfs_fsid)(fd, uuid) == 0) {
        memcpy(&id.hi, uuid, 8);
        memcpy(&id.lo, uuid + 8, 8);
        id.hi |= 1; /* never 0, so never equal to an st_dev identity */
    }
    return id;
}

int cowcopy__fs_uuid(int fd, unsigned char uuid[16])
{
    if (SYS(btrfs_fsid)(fd, uuid) == 0)
        return 0;
    struct cowcopy__fsuuid u;
    memset(&u, 0, sizeof u);
    if (SYS(getfsuuid)(fd, &u) == 0 && u.len == 16) {
        memcpy(uuid, u.uuid, 16);
        return 0;
    }
    return -ENODATA;
}
#endif /* COWCOPY_DARWIN */
