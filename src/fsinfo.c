/*
 * fsinfo.c - names of filesystems, from statfs(2) magic numbers.
 *
 * Used in messages ("ext4 cannot share data") and by `probe`. Names only:
 * what a filesystem can do is always found by trying, never from this list.
 */
#include "internal.h"

#ifdef __APPLE__
/* macOS names filesystems itself (statfs's f_fstypename: "apfs", "hfs"...);
 * there are no Linux magic numbers to look up. */
const char *cowcopy__fs_name(unsigned long magic)
{
    (void)magic;
    return "this filesystem";
}

const char *cowcopy__fs_name_fd(int fd)
{
    static _Thread_local char name[MFSTYPENAMELEN];
    struct statfs sfs;
    if (SYS(fstatfs)(fd, &sfs) < 0)
        return NULL;
    snprintf(name, sizeof name, "%s", sfs.f_fstypename);
    return name;
}
#else
/* Linux, and the simulated Darwin layer (whose statfs is Linux's). */
#include <linux/magic.h>

#ifndef BCACHEFS_SUPER_MAGIC
#define BCACHEFS_SUPER_MAGIC 0xca451a4e
#endif
#ifndef ZFS_SUPER_MAGIC
#define ZFS_SUPER_MAGIC 0x2fc12fc1
#endif
#ifndef F2FS_SUPER_MAGIC
#define F2FS_SUPER_MAGIC 0xF2F52010
#endif
#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif
#ifndef SMB2_SUPER_MAGIC
#define SMB2_SUPER_MAGIC 0xFE534D42
#endif
#ifndef CIFS_SUPER_MAGIC
#define CIFS_SUPER_MAGIC 0xFF534D42
#endif
#ifndef OCFS2_SUPER_MAGIC
#define OCFS2_SUPER_MAGIC 0x7461636f
#endif

static const struct {
    unsigned long magic;
    const char *name;
} fs_names[] = {
    {BTRFS_SUPER_MAGIC, "btrfs"},     {XFS_SUPER_MAGIC, "xfs"},
    {EXT4_SUPER_MAGIC, "ext4"},       {TMPFS_MAGIC, "tmpfs"},
    {BCACHEFS_SUPER_MAGIC, "bcachefs"}, {ZFS_SUPER_MAGIC, "zfs"},
    {NFS_SUPER_MAGIC, "nfs"},         {OVERLAYFS_SUPER_MAGIC, "overlay"},
    {F2FS_SUPER_MAGIC, "f2fs"},       {FUSE_SUPER_MAGIC, "fuse"},
    {SMB2_SUPER_MAGIC, "smb3"},       {CIFS_SUPER_MAGIC, "cifs"},
    {OCFS2_SUPER_MAGIC, "ocfs2"},     {PROC_SUPER_MAGIC, "proc"},
    {SYSFS_MAGIC, "sysfs"},           {RAMFS_MAGIC, "ramfs"},
    {SQUASHFS_MAGIC, "squashfs"},     {MSDOS_SUPER_MAGIC, "vfat"},
};

const char *cowcopy__fs_name(unsigned long magic)
{
    for (size_t i = 0; i < sizeof fs_names / sizeof fs_names[0]; i++)
        if (fs_names[i].magic == magic)
            return fs_names[i].name;
    return "this filesystem";
}

const char *cowcopy__fs_name_fd(int fd)
{
    struct statfs sfs;
    if (SYS(fstatfs)(fd, &sfs) < 0)
        return NULL;
    return cowcopy__fs_name((unsigned long)sfs.f_type);
}
#endif /* __APPLE__ */
