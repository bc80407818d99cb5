/*
 * fcntl.c - darwin_sim_fcntl(), the simulation's fcntl(2): Darwin's own
 * commands on top of Linux calls, everything else passed to glibc.
 *
 *   F_LOG2PHYS_EXT / F_LOG2PHYS  FIEMAP (FIEMAP_FLAG_SYNC). As in xnu
 *     (X bsd/kern/kern_descrip.c): the file offset is rounded down to a
 *     filesystem block, the run is measured from there for at most
 *     l2p_contigbytes bytes (F_LOG2PHYS: one 512-byte device block), and
 *     l2p_contigbytes returns that run less the offset's distance into its
 *     block; l2p_devoffset is the device byte offset, or -1 where no block
 *     backs the offset. Extents that continue each other both in the file
 *     and on the device form one run. Runs are FIEMAP's, so block-granular:
 *     the last one may reach past EOF to the end of its block.
 *   F_PUNCHHOLE   fallocate(PUNCH_HOLE | KEEP_SIZE), block-aligned ranges.
 *   F_PREALLOCATE fallocate(KEEP_SIZE) (fst_bytesalloc = the length asked).
 *   F_FULLFSYNC   fsync.   F_NOCACHE  accepted, no effect.
 *   F_GETPATH     readlink of /proc/self/fd/N (MAXPATHLEN bytes).
 */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <unistd.h>

enum { DEV_BLOCK_SIZE = 512, BATCH = 64 };

/* Set errno to e. @return -1. */
static int fail(int e)
{
    errno = e;
    return -1;
}

/* Can FIEMAP's extent e give a device offset? Inline and unknown (not yet
 * allocated) extents have none. */
static bool has_block(const struct fiemap_extent *e)
{
    return !(e->fe_flags & (FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_UNKNOWN |
                            FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_NOT_ALIGNED));
}

/* One FIEMAP call from `start`; *out malloc'ed. @return extents or -1. */
static int fiemap_from(int fd, uint64_t start, struct fiemap **out)
{
    struct fiemap *fm = calloc(1, sizeof *fm + BATCH * sizeof(struct fiemap_extent));
    if (!fm)
        return fail(ENOMEM);
    fm->fm_start = start;
    fm->fm_length = FIEMAP_MAX_OFFSET - start;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = BATCH;
    if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
        int e = errno;
        free(fm);
        return fail(dsim_notsup_errno(e));
    }
    *out = fm;
    return (int)fm->fm_mapped_extents;
}

int dsim_extents(int fd, struct fiemap_extent **out)
{
    struct fiemap_extent *all = NULL;
    int count = 0;
    uint64_t start = 0;
    *out = NULL;
    for (;;) {
        struct fiemap *fm;
        int n = fiemap_from(fd, start, &fm);
        if (n < 0) {
            free(all);
            return -1;
        }
        struct fiemap_extent *grown = n ? realloc(all, (size_t)(count + n) * sizeof *all) : all;
        if (n && !grown) {
            free(fm);
            free(all);
            return fail(ENOMEM);
        }
        all = grown;
        if (n)
            memcpy(all + count, fm->fm_extents, (size_t)n * sizeof *all);
        count += n;
        bool last = n < BATCH || (fm->fm_extents[n - 1].fe_flags & FIEMAP_EXTENT_LAST);
        if (n)
            start = fm->fm_extents[n - 1].fe_logical + fm->fm_extents[n - 1].fe_length;
        free(fm);
        if (last)
            break;
    }
    *out = all;
    return count;
}

/* The run at `aligned` (a block boundary) of at most `limit` bytes:
 * *dev = device offset of `aligned` or -1, @return its length or -1. */
static int64_t run_at(int fd, uint64_t aligned, uint64_t size, uint64_t limit, int64_t *dev)
{
    struct fiemap *fm;
    int n = fiemap_from(fd, aligned, &fm);
    if (n < 0)
        return -1;
    uint64_t end;
    *dev = -1;
    struct fiemap_extent *e = n > 0 ? &fm->fm_extents[0] : NULL;
    if (!e || e->fe_logical > aligned) {
        /* A hole: up to the next extent, or to EOF. */
        end = e ? e->fe_logical : (size > aligned ? size : aligned);
    } else if (!has_block(e)) {
        end = e->fe_logical + e->fe_length;
    } else {
        *dev = (int64_t)(e->fe_physical + (aligned - e->fe_logical));
        end = e->fe_logical + e->fe_length;
        uint64_t phys_end = e->fe_physical + e->fe_length;
        bool last = e->fe_flags & FIEMAP_EXTENT_LAST;
        /* Extend over extents that continue this one in file and device. */
        for (int i = 1; !last && end - aligned < limit;) {
            if (i == n) {
                if (n < BATCH)
                    break;
                free(fm);
                if ((n = fiemap_from(fd, end, &fm)) < 0)
                    return -1;
                if (n == 0)
                    break;
                i = 0;
            }
            struct fiemap_extent *x = &fm->fm_extents[i++];
            if (x->fe_logical != end || x->fe_physical != phys_end || !has_block(x))
                break;
            end += x->fe_length;
            phys_end += x->fe_length;
            last = x->fe_flags & FIEMAP_EXTENT_LAST;
        }
    }
    free(fm);
    uint64_t run = end - aligned;
    return (int64_t)(run < limit ? run : limit);
}

/* F_LOG2PHYS(_EXT) for fd at file_offset; `limit` is the byte count asked. */
static int log2phys(int fd, int64_t file_offset, uint64_t limit, bool ext, struct log2phys *l2p)
{
    struct stat st;
    struct statfs sfs;
    if (fstat(fd, &st) < 0)
        return -1;
    if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
        return fail(EBADF); /* not a vnode */
    if (file_offset < 0)
        return fail(EINVAL);
    if (fstatfs(fd, &sfs) < 0)
        return -1;
    uint64_t bsize = sfs.f_bsize > 0 ? (uint64_t)sfs.f_bsize : 4096;
    uint64_t aligned = (uint64_t)file_offset - (uint64_t)file_offset % bsize;
    uint64_t delta = (uint64_t)file_offset - aligned;
    int64_t dev;
    int64_t run = run_at(fd, aligned, (uint64_t)st.st_size, limit, &dev);
    if (run < 0)
        return -1;
    l2p->l2p_flags = 0;
    l2p->l2p_contigbytes = !ext ? 0 : run > (int64_t)delta ? run - (int64_t)delta : 0;
    l2p->l2p_devoffset = dev < 0 ? -1 : dev + (int64_t)delta;
    return 0;
}

/* F_PUNCHHOLE: EPERM unless writable, EINVAL unless block-aligned. */
static int punchhole(int fd, const fpunchhole_t *p)
{
    int fl = fcntl(fd, F_GETFL);
    struct statfs sfs;
    if (fl < 0 || fstatfs(fd, &sfs) < 0)
        return -1;
    if ((fl & O_ACCMODE) == O_RDONLY)
        return fail(EPERM);
    uint64_t bsize = sfs.f_bsize > 0 ? (uint64_t)sfs.f_bsize : 4096;
    if (p->fp_offset < 0 || p->fp_length < 0 || (uint64_t)p->fp_offset % bsize ||
        (uint64_t)p->fp_length % bsize)
        return fail(EINVAL);
    if (p->fp_length == 0)
        return 0;
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, p->fp_offset, p->fp_length) < 0)
        return fail(dsim_notsup_errno(errno));
    return 0;
}

/* F_PREALLOCATE: fallocate(KEEP_SIZE); fst_bytesalloc = the length. */
static int preallocate(int fd, fstore_t *f)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fstat(fd, &st) < 0)
        return -1;
    if ((fl & O_ACCMODE) == O_RDONLY)
        return fail(EBADF);
    if (f->fst_length < 0 || (f->fst_posmode != F_PEOFPOSMODE && f->fst_posmode != F_VOLPOSMODE))
        return fail(EINVAL);
    off_t start = f->fst_posmode == F_PEOFPOSMODE ? st.st_size + f->fst_offset : f->fst_offset;
    f->fst_bytesalloc = 0;
    if (f->fst_length > 0 && fallocate(fd, FALLOC_FL_KEEP_SIZE, start, f->fst_length) < 0)
        return fail(dsim_notsup_errno(errno));
    f->fst_bytesalloc = f->fst_length;
    return 0;
}

/* F_GETPATH: the path of fd into buf[MAXPATHLEN]. */
static int getpath(int fd, char *buf)
{
    char proc[48], tmp[4096];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, tmp, sizeof tmp);
    if (n < 0)
        return fail(errno == ENOENT ? EBADF : errno);
    if (n >= MAXPATHLEN)
        return fail(ENAMETOOLONG);
    memcpy(buf, tmp, (size_t)n);
    buf[n] = '\0';
    return 0;
}

/* What glibc's fcntl command takes: 0 nothing, 1 an int, 2 a pointer. */
static int linux_arg_kind(int cmd)
{
    switch (cmd) {
    case F_GETFD:
    case F_GETFL:
    case F_GETOWN:
    case F_GETSIG:
    case F_GETLEASE:
    case F_GETPIPE_SZ:
    case F_GET_SEALS:
        return 0;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
    case F_SETFD:
    case F_SETFL:
    case F_SETOWN:
    case F_SETSIG:
    case F_SETLEASE:
    case F_NOTIFY:
    case F_SETPIPE_SZ:
    case F_ADD_SEALS:
        return 1;
    default:
        return 2; /* locks, F_*OWN_EX, hints, unknown: as glibc, a pointer */
    }
}

int darwin_sim_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int r;
    switch (cmd) {
    case F_LOG2PHYS:
    case F_LOG2PHYS_EXT: {
        struct log2phys *user = va_arg(ap, struct log2phys *), l2p;
        memcpy(&l2p, user, sizeof l2p);
        if (cmd == F_LOG2PHYS_EXT && l2p.l2p_contigbytes < 0) {
            r = fail(EINVAL);
            break;
        }
        int64_t offset = l2p.l2p_devoffset;
        if (cmd == F_LOG2PHYS && (offset = lseek(fd, 0, SEEK_CUR)) < 0) {
            r = fail(errno == ESPIPE ? EBADF : errno);
            break;
        }
        uint64_t limit = cmd == F_LOG2PHYS_EXT ? (uint64_t)l2p.l2p_contigbytes : DEV_BLOCK_SIZE;
        r = log2phys(fd, offset, limit, cmd == F_LOG2PHYS_EXT, &l2p);
        if (r == 0)
            memcpy(user, &l2p, sizeof l2p);
        break;
    }
    case F_PUNCHHOLE:
        r = punchhole(fd, va_arg(ap, const fpunchhole_t *));
        break;
    case F_PREALLOCATE:
        r = preallocate(fd, va_arg(ap, fstore_t *));
        break;
    case F_FULLFSYNC:
        r = fsync(fd);
        break;
    case F_NOCACHE:
        (void)va_arg(ap, int);
        r = fcntl(fd, F_GETFD) < 0 ? -1 : 0;
        break;
    case F_GETPATH:
        r = getpath(fd, va_arg(ap, char *));
        break;
    default:
        switch (linux_arg_kind(cmd)) {
        case 0:
            r = fcntl(fd, cmd);
            break;
        case 1:
            r = fcntl(fd, cmd, va_arg(ap, int));
            break;
        default:
            r = fcntl(fd, cmd, va_arg(ap, void *));
            break;
        }
    }
    va_end(ap);
    return r;
}
