/*
 * clonefile.c - Darwin's clonefile(2), clonefileat(2) and fclonefileat(2) on
 * Linux: FICLONE into a newly created file, with xnu's check order
 * (X bsd/vfs/vfs_syscalls.c clonefile_internal): flags (EINVAL) -> source
 * lookup -> source type (EINVAL unless regular file, symlink or directory;
 * EINVAL for a mount point) -> destination exists (EEXIST) -> other mount
 * (EXDEV) -> permission (EACCES) -> the clone itself (ENOTSUP where FICLONE
 * is not supported: ext4, tmpfs, XFS without reflink).
 *
 * The clone gets Darwin's metadata: xattrs, mode (setuid/setgid cleared),
 * st_flags except UF_DATAVAULT/SF_RESTRICTED, creation time, atime and
 * mtime; owner and group only for root without CLONE_NOOWNERCOPY; the
 * destination directory's inherited (default) ACL, replaced by the source's
 * ACL with CLONE_ACL. Any failure removes the new file: nothing is left.
 * Directories are refused with ENOTSUP (README: Limitations).
 *
 * The simulated kernel's version (darwin_sim_set_os_version) decides which
 * flags it knows; an unknown bit is EINVAL, as on an older macOS.
 */
#include "sim.h"

#include <sys/clonefile.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ------------------------------------------------------ simulated version */

enum { NEWEST = 1500 };
static int os_version = -1; /* major * 100 + minor; -1: read DARWIN_SIM_MACOS */

/* "13" or "12.6" to 1300 / 1206; -1 if malformed. */
static int parse_version(const char *s)
{
    char *end;
    long major = strtol(s, &end, 10);
    long minor = 0;
    if (end == s || major < 0 || major > 99)
        return -1;
    if (*end == '.') {
        const char *m = end + 1;
        minor = strtol(m, &end, 10);
        if (end == m || minor < 0 || minor > 99)
            return -1;
    }
    return *end ? -1 : (int)(major * 100 + minor);
}

int darwin_sim_os_version(void)
{
    if (os_version < 0) {
        const char *env = getenv("DARWIN_SIM_MACOS");
        int v = env && *env ? parse_version(env) : -1;
        os_version = v > 0 ? v : NEWEST;
    }
    return os_version;
}

int darwin_sim_set_os_version(int major, int minor)
{
    if (major < 0 || minor < 0 || major > 99 || minor > 99) {
        errno = EINVAL;
        return -1;
    }
    os_version = major == 0 && minor == 0 ? -1 : major * 100 + minor;
    return 0;
}

uint32_t dsim_clone_flags_known(void)
{
    int v = darwin_sim_os_version();
    uint32_t known = CLONE_NOFOLLOW; /* 10.12, xnu-3789 */
    if (v >= 1013)
        known |= CLONE_NOOWNERCOPY; /* xnu-4570 */
    if (v >= 1300)
        known |= CLONE_ACL; /* xnu-8792.41.9 */
    if (v >= 1500)
        known |= CLONE_NOFOLLOW_ANY; /* xnu-11215 */
    return known;
}

/* ----------------------------------------------------------------- clone */

static int fail(int e)
{
    errno = e;
    return -1;
}

/* FICLONE's "cannot clone here" errnos are Darwin's ENOTSUP. */
static int clone_errno(int e)
{
    if (e == EINVAL || e == EXDEV)
        return ENOTSUP;
    return dsim_notsup_errno(e);
}

/* Give the new regular file dfd (its node dn) the clone's metadata. */
static int clone_metadata(const struct dsim_node *src, int dfd, uint32_t flags)
{
    struct dsim_node dn;
    struct dsim_meta meta;
    const struct statx *s = &src->stx;
    if (dsim_node_from_fd(&dn, dfd) < 0)
        return -1;
    if (!(flags & CLONE_NOOWNERCOPY) && geteuid() == 0 && fchown(dfd, s->stx_uid, s->stx_gid) < 0)
        return -1;
    if (dsim_xattrs_copy(src, &dn, false) < 0 || dsim_meta_read(src, &meta) < 0)
        return -1;
    meta.flags &= ~(uint32_t)(UF_DATAVAULT | SF_RESTRICTED);
    meta.crtime_recorded = true;
    if (dsim_meta_write(&dn, &meta) < 0)
        return -1;
    if (fchmod(dfd, s->stx_mode & 07777 & ~(S_ISUID | S_ISGID)) < 0)
        return -1;
    if ((flags & CLONE_ACL) && dsim_acl_copy(src, &dn, false) < 0)
        return -1;
    struct timespec times[2] = {
        {.tv_sec = s->stx_atime.tv_sec, .tv_nsec = s->stx_atime.tv_nsec},
        {.tv_sec = s->stx_mtime.tv_sec, .tv_nsec = s->stx_mtime.tv_nsec},
    };
    return futimens(dfd, times);
}

/* Clone a regular file: rfd is src opened for reading. */
static int clone_regular(const struct dsim_node *src, int rfd, int pfd, const char *base,
                         uint32_t flags)
{
    int dfd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (dfd < 0)
        return -1;
    int r = ioctl(dfd, FICLONE, rfd);
    int e = r < 0 ? clone_errno(errno) : 0;
    if (r == 0 && clone_metadata(src, dfd, flags) < 0) {
        r = -1;
        e = errno;
    }
    close(dfd);
    if (r < 0) {
        unlinkat(pfd, base, 0);
        return fail(e);
    }
    return 0;
}

/* Clone a symlink: a new link to the same target, owner and times. */
static int clone_symlink(const struct dsim_node *src, int pfd, const char *base, uint32_t flags)
{
    char target[PATH_MAX + 1];
    ssize_t len = readlinkat(src->fd, "", target, PATH_MAX);
    if (len < 0)
        return -1;
    target[len] = '\0';
    if (symlinkat(target, pfd, base) < 0)
        return -1;
    const struct statx *s = &src->stx;
    struct timespec times[2] = {
        {.tv_sec = s->stx_atime.tv_sec, .tv_nsec = s->stx_atime.tv_nsec},
        {.tv_sec = s->stx_mtime.tv_sec, .tv_nsec = s->stx_mtime.tv_nsec},
    };
    if ((!(flags & CLONE_NOOWNERCOPY) && geteuid() == 0 &&
         fchownat(pfd, base, s->stx_uid, s->stx_gid, AT_SYMLINK_NOFOLLOW) < 0) ||
        utimensat(pfd, base, times, AT_SYMLINK_NOFOLLOW) < 0) {
        int e = errno;
        unlinkat(pfd, base, 0);
        return fail(e);
    }
    return 0;
}

/* clonefile_internal: src is looked up; rfd >= 0 is an fd the caller has
 * already proved readable (fclonefileat). */
static int clone_internal(const struct dsim_node *src, int rfd, int dst_dirfd, const char *dst,
                          uint32_t flags)
{
    mode_t type = src->stx.stx_mode & S_IFMT;
    if (type != S_IFREG && type != S_IFLNK && type != S_IFDIR)
        return fail(EINVAL);
    if (type == S_IFDIR && (src->stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
        return fail(EINVAL); /* a volume root or mount point */

    char base[NAME_MAX + 1];
    bool slash;
    int pfd = dsim_open_parent(dst_dirfd, dst,
                               (flags & CLONE_NOFOLLOW_ANY) ? DSIM_NOFOLLOW_ANY : DSIM_FOLLOW,
                               base, &slash);
    if (pfd < 0)
        return -1;
    int r = -1;
    struct stat st;
    struct statx pst;
    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
        errno = EEXIST;
    else if (errno != ENOENT)
        ; /* EACCES, ELOOP...: as the lookup reports it */
    else if (slash)
        errno = ENOTDIR;
    else if (statx(pfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &pst) < 0)
        ;
    else if (pst.stx_mnt_id != src->stx.stx_mnt_id)
        errno = EXDEV;
    else if (faccessat(pfd, ".", W_OK | X_OK, AT_EACCESS) < 0)
        ;
    else if (type == S_IFDIR)
        errno = ENOTSUP; /* not simulated: see README */
    else if (type == S_IFLNK)
        r = clone_symlink(src, pfd, base, flags);
    else if (rfd >= 0)
        r = clone_regular(src, rfd, pfd, base, flags);
    else {
        int fd = open(src->proc, O_RDONLY | O_CLOEXEC); /* EACCES if unreadable */
        if (fd >= 0) {
            r = clone_regular(src, fd, pfd, base, flags);
            int e = errno;
            close(fd);
            errno = e;
        }
    }
    int e = errno;
    close(pfd);
    errno = e;
    return r;
}

int clonefileat(int src_dirfd, const char *src, int dst_dirfd, const char *dst, uint32_t flags)
{
    if (flags & ~dsim_clone_flags_known())
        return fail(EINVAL);
    if (!dst)
        return fail(EFAULT);
    enum dsim_follow follow = (flags & CLONE_NOFOLLOW_ANY) ? DSIM_NOFOLLOW_ANY
                              : (flags & CLONE_NOFOLLOW)   ? DSIM_NOFOLLOW
                                                           : DSIM_FOLLOW;
    struct dsim_node n;
    if (dsim_node_open(&n, src_dirfd, src, follow) < 0)
        return -1;
    int r = clone_internal(&n, -1, dst_dirfd, dst, flags), e = errno;
    dsim_node_close(&n);
    errno = e;
    return r;
}

int clonefile(const char *src, const char *dst, uint32_t flags)
{
    return clonefileat(AT_FDCWD, src, AT_FDCWD, dst, flags);
}

int fclonefileat(int srcfd, int dst_dirfd, const char *dst, uint32_t flags)
{
    if (flags & ~dsim_clone_flags_known())
        return fail(EINVAL);
    if (!dst)
        return fail(EFAULT);
    int fl = fcntl(srcfd, F_GETFL);
    if (fl < 0)
        return -1;
    if ((fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
        return fail(EBADF); /* xnu: the fd must be open for reading (FREAD) */
    struct dsim_node n;
    if (dsim_node_from_fd(&n, srcfd) < 0)
        return -1;
    return clone_internal(&n, srcfd, dst_dirfd, dst, flags);
}
