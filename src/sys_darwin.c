/*
 * sys_darwin.c - the Darwin entries of the platform call table.
 *
 * Built on macOS, and on Linux against the simulated Darwin layer in
 * tests/darwin-sim (which provides these calls, with Darwin's names, values
 * and errnos, on top of real Linux calls). Two entries differ from the libc
 * call of their name, on purpose:
 *  - fsync is fcntl(F_FULLFSYNC): on macOS fsync(2) does not ask the drive
 *    to flush its cache, so --fsync would not survive a power loss;
 *  - syncfs (Linux-only) is sync(2), used to settle free-space figures.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static int real_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    return openat(dirfd, path, flags, mode);
}

/* fsync for durability: F_FULLFSYNC, falling back to fsync where a
 * filesystem does not support it (some network filesystems). */
static int full_fsync(int fd)
{
    if (fcntl(fd, F_FULLFSYNC) == 0)
        return 0;
    return fsync(fd);
}

static int sync_all(int fd)
{
    (void)fd;
    sync();
    return 0;
}

static int real_log2phys_ext(int fd, struct log2phys *l2p)
{
    return fcntl(fd, F_LOG2PHYS_EXT, l2p);
}

static int real_fgetattrlist(int fd, void *attrs, void *buf, size_t size, unsigned int options)
{
    return fgetattrlist(fd, attrs, buf, size, options);
}

static int real_fsetattrlist(int fd, void *attrs, void *buf, size_t size, unsigned int options)
{
    return fsetattrlist(fd, attrs, buf, size, options);
}

static int real_fchflags(int fd, unsigned int flags)
{
    return fchflags(fd, flags);
}

/* One initializer for both tables, so they cannot drift apart. */
#define DARWIN_SYSCALLS_INITIALIZER                                                           \
    {                                                                                         \
        .openat = real_openat, .close = close, .read = read, .write = write, .pread = pread,  \
        .pwrite = pwrite, .lseek = lseek, .fstat = fstat, .fstatat = fstatat,                 \
        .fstatfs = fstatfs, .ftruncate = ftruncate, .fsync = full_fsync, .fchmod = fchmod,    \
        .fchown = fchown, .futimens = futimens, .fchmodat = fchmodat, .fchownat = fchownat,   \
        .utimensat = utimensat, .linkat = linkat, .renameat = renameat,                       \
        .unlinkat = unlinkat, .mkdirat = mkdirat, .symlinkat = symlinkat,                     \
        .readlinkat = readlinkat, .mknodat = mknodat, .faccessat = faccessat,                 \
        .syncfs = sync_all, .flistxattr = flistxattr, .fgetxattr = fgetxattr,                 \
        .fsetxattr = fsetxattr, .fremovexattr = fremovexattr, .fclonefileat = fclonefileat,   \
        .fcopyfile = fcopyfile, .fgetattrlist = real_fgetattrlist,                            \
        .fsetattrlist = real_fsetattrlist,                                                    \
        .fchflags = real_fchflags, .log2phys_ext = real_log2phys_ext,                         \
        .renameatx_np = renameatx_np,                                                         \
    }

const cowcopy__sys_table cowcopy__sys_real = DARWIN_SYSCALLS_INITIALIZER;
cowcopy__sys_table cowcopy__sys = DARWIN_SYSCALLS_INITIALIZER;
