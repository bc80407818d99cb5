/*
 * meta.c - Darwin's BSD file flags (st_flags) and creation time, which
 * Linux lacks, kept in a record the simulation owns: the xattr
 * DSIM_META_XATTR (see sim.h). chflags(2) and friends live here too.
 *
 * Record layout (24 bytes, host byte order): "DSM1", u32 flags, u8
 * crtime_recorded, 3 bytes 0, i64 crtime seconds, u32 crtime nanoseconds.
 * A file whose flags are 0 and whose creation time was never set has no
 * record: its creation time is statx's btime.
 */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { RECORD_SIZE = 24 };
static const char MAGIC[4] = {'D', 'S', 'M', '1'};

/* The creation time Linux knows: btime, or the older of mtime and ctime. */
static struct timespec default_crtime(const struct statx *stx)
{
    const struct statx_timestamp *t = &stx->stx_btime;
    if (!(stx->stx_mask & STATX_BTIME)) {
        t = &stx->stx_mtime;
        if (stx->stx_ctime.tv_sec < t->tv_sec ||
            (stx->stx_ctime.tv_sec == t->tv_sec && stx->stx_ctime.tv_nsec < t->tv_nsec))
            t = &stx->stx_ctime;
    }
    return (struct timespec){.tv_sec = t->tv_sec, .tv_nsec = t->tv_nsec};
}

int dsim_meta_read(const struct dsim_node *n, struct dsim_meta *m)
{
    m->flags = 0;
    m->crtime = default_crtime(&n->stx);
    m->crtime_recorded = false;
    if (S_ISLNK(n->stx.stx_mode))
        return 0;
    unsigned char rec[RECORD_SIZE + 1];
    ssize_t len = dsim_lx_getxattr(n->proc, DSIM_META_XATTR, rec, sizeof rec, false);
    if (len < 0)
        return errno == ENODATA || errno == EOPNOTSUPP ? 0 : -1;
    if (len != RECORD_SIZE || memcmp(rec, MAGIC, 4) != 0)
        return 0; /* not ours: ignore it */
    uint32_t nsec;
    int64_t sec;
    memcpy(&m->flags, rec + 4, 4);
    memcpy(&sec, rec + 12, 8);
    memcpy(&nsec, rec + 20, 4);
    if (rec[8]) {
        m->crtime_recorded = true;
        m->crtime = (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = (long)nsec};
    }
    return 0;
}

/* Set or remove the record through n->proc. */
static int store(const struct dsim_node *n, const struct dsim_meta *m)
{
    if (m->flags == 0 && !m->crtime_recorded) {
        if (dsim_lx_removexattr(n->proc, DSIM_META_XATTR, false) < 0 && errno != ENODATA)
            return -1;
        return 0;
    }
    unsigned char rec[RECORD_SIZE] = {0};
    memcpy(rec, MAGIC, 4);
    memcpy(rec + 4, &m->flags, 4);
    rec[8] = m->crtime_recorded;
    int64_t sec = m->crtime.tv_sec;
    uint32_t nsec = (uint32_t)m->crtime.tv_nsec;
    memcpy(rec + 12, &sec, 8);
    memcpy(rec + 20, &nsec, 4);
    return dsim_lx_setxattr(n->proc, DSIM_META_XATTR, rec, sizeof rec, DSIM_LX_ANY, false);
}

int dsim_meta_write(const struct dsim_node *n, const struct dsim_meta *m)
{
    if (S_ISLNK(n->stx.stx_mode)) {
        errno = ENOTSUP;
        return -1;
    }
    if (store(n, m) == 0)
        return 0;
    if (errno == EOPNOTSUPP) {
        errno = ENOTSUP;
        return -1;
    }
    if (errno != EACCES || geteuid() != n->stx.stx_uid)
        return -1;
    /* The owner may change flags and times on Darwin without write
     * permission; Linux wants it for user xattrs: lend it for a moment. */
    mode_t mode = n->stx.stx_mode & 07777;
    if (chmod(n->proc, mode | S_IWUSR) < 0)
        return -1;
    int r = store(n, m), e = errno;
    if (chmod(n->proc, mode) < 0 && r == 0)
        return -1;
    errno = e;
    return r;
}

int dsim_flags_check(const struct dsim_node *n, uint32_t old, uint32_t flags)
{
    if (S_ISSOCK(n->stx.stx_mode) || (flags & ~(uint32_t)(UF_SETTABLE | SF_SUPPORTED))) {
        errno = EINVAL; /* a socket; synthetic or unsupported bits */
        return -1;
    }
    if (!dsim_owner_or_root(n) || (geteuid() != 0 && ((old ^ flags) & SF_SETTABLE))) {
        errno = EPERM; /* only the superuser changes SF_* flags */
        return -1;
    }
    return 0;
}

/* chflags on node n: Darwin's permission rules, then the record. */
static int set_flags(struct dsim_node *n, uint32_t flags)
{
    struct dsim_meta m;
    if (!dsim_owner_or_root(n)) {
        errno = EPERM;
        return -1;
    }
    if (dsim_meta_read(n, &m) < 0 || dsim_flags_check(n, m.flags, flags) < 0)
        return -1;
    if (m.flags == flags)
        return 0;
    m.flags = flags;
    return dsim_meta_write(n, &m);
}

/* chflags/lchflags on a path. */
static int chflags_path(const char *path, uint32_t flags, enum dsim_follow follow)
{
    struct dsim_node n;
    if (dsim_node_open(&n, AT_FDCWD, path, follow) < 0)
        return -1;
    int r = set_flags(&n, flags), e = errno;
    dsim_node_close(&n);
    errno = e;
    return r;
}

int chflags(const char *path, __uint32_t flags)
{
    return chflags_path(path, flags, DSIM_FOLLOW);
}

int lchflags(const char *path, __uint32_t flags)
{
    return chflags_path(path, flags, DSIM_NOFOLLOW);
}

int fchflags(int fd, __uint32_t flags)
{
    struct dsim_node n;
    if (dsim_node_from_fd(&n, fd) < 0)
        return -1;
    return set_flags(&n, flags);
}
