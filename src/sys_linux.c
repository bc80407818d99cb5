/*
 * sys_linux.c - the Linux entries of the platform call table.
 *
 * Plain libc calls go in as they are; the ioctls and calls with awkward
 * signatures get thin wrappers here so every entry behaves like a libc call
 * (-1 and errno). Compatibility defines for older headers sit at the top,
 * as in libuv's platform files.
 */
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/btrfs.h>
#include <linux/fiemap.h>
#include <string.h>

static int real_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    return openat(dirfd, path, flags, mode);
}

static int real_ficlone(int dst_fd, int src_fd)
{
#ifdef HAVE_FICLONE
    return ioctl(dst_fd, FICLONE, src_fd);
#else
    (void)dst_fd;
    (void)src_fd;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

static ssize_t real_copy_file_range(int in, off_t *off_in, int out, off_t *off_out, size_t len,
                                    unsigned flags)
{
    /* loff_t and off_t are both 64-bit with _FILE_OFFSET_BITS=64. */
    return copy_file_range(in, (loff_t *)off_in, out, (loff_t *)off_out, len, flags);
}

static int real_fiemap(int fd, struct fiemap *map)
{
    return ioctl(fd, FS_IOC_FIEMAP, map);
}

static int real_fideduperange(int src_fd, struct file_dedupe_range *range)
{
#ifdef HAVE_FIDEDUPERANGE
    return ioctl(src_fd, FIDEDUPERANGE, range);
#else
    (void)src_fd;
    (void)range;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

#ifndef FS_IOC_GETFSUUID
#define FS_IOC_GETFSUUID _IOR(0x15, 0, struct cowcopy__fsuuid)
#endif

/* The filesystem's UUID (ext4, XFS, ... since Linux 6.5; not btrfs). */
static int real_getfsuuid(int fd, struct cowcopy__fsuuid *uuid)
{
    return ioctl(fd, FS_IOC_GETFSUUID, uuid);
}

/* btrfs's fsid, the same for every subvolume of one filesystem. */
static int real_btrfs_fsid(int fd, unsigned char fsid[16])
{
#ifdef BTRFS_IOC_FS_INFO
    struct btrfs_ioctl_fs_info_args args;
    memset(&args, 0, sizeof args);
    if (ioctl(fd, BTRFS_IOC_FS_INFO, &args) < 0)
        return -1;
    memcpy(fsid, args.fsid, 16);
    return 0;
#else
    (void)fd;
    (void)fsid;
    errno = ENOTTY;
    return -1;
#endif
}

static int real_renameat2(int olddirfd, const char *old, int newdirfd, const char *new_,
                          unsigned flags)
{
    return (int)syscall(SYS_renameat2, olddirfd, old, newdirfd, new_, flags);
}

static ssize_t real_getdents(int fd, void *buf, size_t size)
{
    return getdents64(fd, buf, size);
}

static int real_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)
{
    return fsetxattr(fd, name, value, size, flags);
}

static int real_lsetxattr(const char *path, const char *name, const void *value, size_t size,
                          int flags)
{
    return lsetxattr(path, name, value, size, flags);
}

/* One initializer for both tables, so they cannot drift apart. */
#define LINUX_SYSCALLS_INITIALIZER \
    { \
        .openat = real_openat, \
        .close = close, \
        .read = read, \
        .write = write, \
        .pread = pread, \
        .pwrite = pwrite, \
        .lseek = lseek, \
        .fstat = fstat, \
        .fstatat = fstatat, \
        .fstatfs = fstatfs, \
        .ftruncate = ftruncate, \
        .fsync = fsync, \
        .fchmod = fchmod, \
        .fchown = fchown, \
        .futimens = futimens, \
        .fchmodat = fchmodat, \
        .fchownat = fchownat, \
        .utimensat = utimensat, \
        .flistxattr = flistxattr, \
        .fgetxattr = fgetxattr, \
        .fsetxattr = real_fsetxattr, \
        .fremovexattr = fremovexattr, \
        .llistxattr = llistxattr, \
        .lgetxattr = lgetxattr, \
        .lsetxattr = real_lsetxattr, \
        .linkat = linkat, \
        .renameat = renameat, \
        .renameat2 = real_renameat2, \
        .unlinkat = unlinkat, \
        .mkdirat = mkdirat, \
        .symlinkat = symlinkat, \
        .readlinkat = readlinkat, \
        .mknodat = mknodat, \
        .faccessat = faccessat, \
        .getdents = real_getdents, \
        .ficlone = real_ficlone, \
        .copy_file_range = real_copy_file_range, \
        .fiemap = real_fiemap, \
        .fideduperange = real_fideduperange, \
        .getfsuuid = real_getfsuuid, \
        .btrfs_fsid = real_btrfs_fsid, \
        .syncfs = syncfs, \
    }

const cowcopy__sys_table cowcopy__sys_real = LINUX_SYSCALLS_INITIALIZER;
cowcopy__sys_table cowcopy__sys = LINUX_SYSCALLS_INITIALIZER;
