/*
 * copyfile.c - the subset of Darwin's copyfile(3) a backend needs, after
 * CF copyfile.c (copyfile-224):
 *   COPYFILE_DATA         every byte (holes are written as zeros, as
 *                         copyfile's plain data copy does)
 *   COPYFILE_DATA_SPARSE  holes kept (SEEK_DATA/SEEK_HOLE) when the source
 *                         has one; otherwise a full copy with COPYFILE_DATA,
 *                         ENOTSUP without it
 *   COPYFILE_XATTR        the destination's visible xattrs become the source's
 *   COPYFILE_ACL          the POSIX ACL(s) (removed where the source has none)
 *   COPYFILE_STAT         owner (as permitted), mode, st_flags (SF_* only as
 *                         root), creation time, access and modification times
 *   COPYFILE_EXCL, NOFOLLOW_SRC, NOFOLLOW_DST, UNLINK (copyfile only)
 *   COPYFILE_CLONE        copyfile only: clonefileat(CLONE_NOFOLLOW
 *                         [| CLONE_ACL with COPYFILE_ACL]) of a regular file
 *                         or symlink; on failure a copy with EXCL|STAT|XATTR|
 *                         DATA|NOFOLLOW_SRC added
 *   COPYFILE_CLONE_FORCE  the same clone; any failure is ENOTSUP (copyfile-180+)
 * fcopyfile ignores both CLONE bits. RECURSIVE, CHECK, MOVE, PACK, UNPACK
 * and RUN_IN_PLACE are not simulated: -1 and ENOTSUP. Data is copied from
 * offset 0 of both descriptors and the destination ends at the source's
 * size. A file copyfile created is removed if the copy fails.
 */
#include "sim.h"

#include <copyfile.h>
#include <sys/clonefile.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct _copyfile_state {
    int src_fd, dst_fd;
    char *src_name, *dst_name;
    copyfile_callback_t status_cb;
    void *status_ctx;
    off_t copied;
    bool was_cloned;
};

#define NOT_SIMULATED                                                                        \
    (COPYFILE_RECURSIVE | COPYFILE_CHECK | COPYFILE_MOVE | COPYFILE_PACK | COPYFILE_UNPACK |   \
     COPYFILE_RUN_IN_PLACE)

/* Set errno to e. @return -1. */
static int fail(int e)
{
    errno = e;
    return -1;
}

copyfile_state_t copyfile_state_alloc(void)
{
    copyfile_state_t s = calloc(1, sizeof *s);
    if (s)
        s->src_fd = s->dst_fd = -1;
    return s;
}

int copyfile_state_free(copyfile_state_t s)
{
    if (s) {
        free(s->src_name);
        free(s->dst_name);
        free(s);
    }
    return 0;
}

/* Replace *slot by a copy of name. */
static int set_name(char **slot, const char *name)
{
    char *copy = name ? strdup(name) : NULL;
    if (name && !copy)
        return fail(ENOMEM);
    free(*slot);
    *slot = copy;
    return 0;
}

int copyfile_state_get(copyfile_state_t s, uint32_t flag, void *dst)
{
    if (!s || !dst)
        return fail(EINVAL);
    switch (flag) {
    case COPYFILE_STATE_SRC_FD: *(int *)dst = s->src_fd; return 0;
    case COPYFILE_STATE_DST_FD: *(int *)dst = s->dst_fd; return 0;
    case COPYFILE_STATE_SRC_FILENAME: *(const char **)dst = s->src_name; return 0;
    case COPYFILE_STATE_DST_FILENAME: *(const char **)dst = s->dst_name; return 0;
    case COPYFILE_STATE_STATUS_CB: *(copyfile_callback_t *)dst = s->status_cb; return 0;
    case COPYFILE_STATE_STATUS_CTX: *(void **)dst = s->status_ctx; return 0;
    case COPYFILE_STATE_COPIED: *(off_t *)dst = s->copied; return 0;
    case COPYFILE_STATE_WAS_CLONED: *(bool *)dst = s->was_cloned; return 0;
    default: return fail(EINVAL);
    }
}

int copyfile_state_set(copyfile_state_t s, uint32_t flag, const void *src)
{
    if (!s)
        return fail(EINVAL);
    switch (flag) {
    case COPYFILE_STATE_SRC_FD: s->src_fd = *(const int *)src; return 0;
    case COPYFILE_STATE_DST_FD: s->dst_fd = *(const int *)src; return 0;
    case COPYFILE_STATE_SRC_FILENAME: return set_name(&s->src_name, src);
    case COPYFILE_STATE_DST_FILENAME: return set_name(&s->dst_name, src);
    /* Stored for copyfile_state_get; the simulation never calls it. */
    case COPYFILE_STATE_STATUS_CB: memcpy(&s->status_cb, &src, sizeof s->status_cb); return 0;
    case COPYFILE_STATE_STATUS_CTX: s->status_ctx = (void *)(uintptr_t)src; return 0;
    default: return fail(EINVAL);
    }
}

/* ------------------------------------------------------------------ data */

/* Copy [start, end) of in to out at the same offsets. */
static int copy_range(int in, int out, off_t start, off_t end, copyfile_state_t s)
{
    enum { BUF = 256 * 1024 };
    unsigned char *buf = malloc(BUF);
    if (!buf)
        return fail(ENOMEM);
    int r = 0;
    for (off_t off = start; off < end && r == 0;) {
        size_t want = end - off < BUF ? (size_t)(end - off) : BUF;
        ssize_t n = pread(in, buf, want, off);
        if (n <= 0) {
            r = n < 0 ? -1 : fail(EIO); /* shrank meanwhile */
            break;
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = pwrite(out, buf + done, (size_t)(n - done), off + done);
            if (w < 0) {
                r = -1;
                break;
            }
            done += w;
        }
        off += n;
        if (s)
            s->copied += n;
    }
    int e = errno;
    free(buf);
    errno = e;
    return r;
}

/* COPYFILE_DATA / COPYFILE_DATA_SPARSE from in to out (whole file).
 * @return 0 or -1. */
static int copy_data(int in, int out, copyfile_state_t s, copyfile_flags_t flags)
{
    struct stat st;
    if (fstat(in, &st) < 0)
        return -1;
    off_t hole = lseek(in, 0, SEEK_HOLE);
    bool sparse_source = hole >= 0 && hole < st.st_size;
    bool sparse = (flags & COPYFILE_DATA_SPARSE) && sparse_source;
    if ((flags & COPYFILE_DATA_SPARSE) && !sparse && !(flags & COPYFILE_DATA))
        return fail(ENOTSUP); /* copyfile(3): sparse copy impossible, no fallback */
    if (ftruncate(out, 0) < 0)
        return -1;
    if (!sparse) {
        if (copy_range(in, out, 0, st.st_size, s) < 0)
            return -1;
    } else {
        if (ftruncate(out, st.st_size) < 0)
            return -1;
        for (off_t data = 0;;) {
            data = lseek(in, data, SEEK_DATA);
            if (data < 0 && errno == ENXIO)
                break; /* no data after this point */
            if (data < 0)
                return -1;
            if (data >= st.st_size)
                break;
            off_t end = lseek(in, data, SEEK_HOLE);
            if (end < 0)
                return -1;
            if (end > st.st_size)
                end = st.st_size;
            if (copy_range(in, out, data, end, s) < 0)
                return -1;
            data = end;
        }
    }
    return ftruncate(out, st.st_size);
}

/* ------------------------------------------------------------ metadata */

/* COPYFILE_STAT's record part: st_flags and creation time. */
static int copy_flags_crtime(const struct dsim_node *from, const struct dsim_node *to)
{
    struct dsim_meta src, dst;
    if (dsim_meta_read(from, &src) < 0 || dsim_meta_read(to, &dst) < 0)
        return -1;
    uint32_t flags = src.flags & (UF_SETTABLE | SF_SUPPORTED);
    if (geteuid() != 0)
        flags = (flags & UF_SETTABLE) | (dst.flags & SF_SETTABLE);
    dst.flags = flags;
    dst.crtime = src.crtime;
    dst.crtime_recorded = true;
    return dsim_meta_write(to, &dst);
}

/* The copy between two open files, clone bits already handled. */
static int copy_fds(int in, int out, copyfile_state_t s, copyfile_flags_t flags)
{
    struct dsim_node from, to;
    if (dsim_node_from_fd(&from, in) < 0 || dsim_node_from_fd(&to, out) < 0)
        return -1;
    const struct statx *x = &from.stx;
    if ((flags & (COPYFILE_DATA | COPYFILE_DATA_SPARSE)) && S_ISREG(x->stx_mode) &&
        copy_data(in, out, s, flags) < 0)
        return -1;
    if ((flags & COPYFILE_XATTR) && dsim_xattrs_copy(&from, &to, true) < 0)
        return -1;
    if (flags & COPYFILE_STAT) {
        (void)fchown(out, x->stx_uid, x->stx_gid); /* as copyfile: where permitted */
        if (fchmod(out, x->stx_mode & 07777) < 0)
            return -1;
    }
    if ((flags & COPYFILE_ACL) && (dsim_node_restat(&to) < 0 || dsim_acl_copy(&from, &to, true) < 0))
        return -1;
    if (flags & COPYFILE_STAT) {
        struct timespec times[2] = {
            {.tv_sec = x->stx_atime.tv_sec, .tv_nsec = x->stx_atime.tv_nsec},
            {.tv_sec = x->stx_mtime.tv_sec, .tv_nsec = x->stx_mtime.tv_nsec},
        };
        if (dsim_node_restat(&to) < 0 || copy_flags_crtime(&from, &to) < 0 ||
            futimens(out, times) < 0)
            return -1;
    }
    return 0;
}

int fcopyfile(int from_fd, int to_fd, copyfile_state_t s, copyfile_flags_t flags)
{
    if (flags & NOT_SIMULATED)
        return fail(ENOTSUP);
    if (s) {
        s->copied = 0;
        s->was_cloned = false;
        s->src_fd = from_fd;
        s->dst_fd = to_fd;
    }
    return copy_fds(from_fd, to_fd, s, flags & ~(copyfile_flags_t)(COPYFILE_CLONE | COPYFILE_CLONE_FORCE));
}

/* ----------------------------------------------------------------- paths */

/* The clone attempt of COPYFILE_CLONE / COPYFILE_CLONE_FORCE. */
static int try_clone(const char *from, const char *to, copyfile_flags_t flags)
{
    struct stat st;
    if (lstat(from, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
        return fail(EINVAL);
    return clonefileat(AT_FDCWD, from, AT_FDCWD, to,
                       CLONE_NOFOLLOW | ((flags & COPYFILE_ACL) ? CLONE_ACL : 0));
}

/* A symlink source under NOFOLLOW_SRC: a new symlink. */
static int copy_symlink(const char *from, const char *to, copyfile_flags_t flags)
{
    char target[PATH_MAX + 1];
    ssize_t n = readlink(from, target, PATH_MAX);
    if (n < 0)
        return -1;
    target[n] = '\0';
    if ((flags & COPYFILE_UNLINK) && unlink(to) < 0 && errno != ENOENT)
        return -1;
    return symlink(target, to);
}

/* A directory source: the directory itself (not its contents). */
static int copy_dir(const char *from, const char *to, copyfile_state_t s, copyfile_flags_t flags)
{
    bool created = mkdir(to, 0700) == 0;
    if (!created && (errno != EEXIST || (flags & COPYFILE_EXCL)))
        return -1;
    int in = open(from, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int out = in < 0 ? -1 : open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = out < 0 ? -1 : copy_fds(in, out, s, flags & ~(copyfile_flags_t)COPYFILE_DATA);
    int e = errno;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (r < 0 && created)
        rmdir(to);
    errno = e;
    return r;
}

/* copyfile of a regular file: open both ends as the flags say, copy,
 * remove a destination this call created if the copy fails. */
static int copy_file(const char *from, const char *to, copyfile_state_t s, copyfile_flags_t flags)
{
    int in = open(from, O_RDONLY | O_CLOEXEC | ((flags & COPYFILE_NOFOLLOW_SRC) ? O_NOFOLLOW : 0));
    if (in < 0)
        return -1;
    struct stat st;
    if (fstat(in, &st) < 0) {
        close(in);
        return -1;
    }
    if ((flags & COPYFILE_UNLINK) && unlink(to) < 0 && errno != ENOENT) {
        int e = errno;
        close(in);
        return fail(e);
    }
    int base = O_WRONLY | O_CLOEXEC | ((flags & COPYFILE_NOFOLLOW_DST) ? O_NOFOLLOW : 0);
    mode_t mode = (st.st_mode & 0777) | S_IRUSR | S_IWUSR;
    int out = open(to, base | O_CREAT | O_EXCL, mode);
    bool created = out >= 0;
    if (out < 0 && errno == EEXIST && !(flags & COPYFILE_EXCL))
        out = open(to, base);
    if (out < 0) {
        int e = errno;
        close(in);
        return fail(e);
    }
    if (s)
        s->src_fd = in, s->dst_fd = out;
    int r = copy_fds(in, out, s, flags), e = errno;
    close(in);
    close(out);
    if (s)
        s->src_fd = s->dst_fd = -1;
    if (r < 0 && created)
        unlink(to);
    errno = e;
    return r;
}

int copyfile(const char *from, const char *to, copyfile_state_t s, copyfile_flags_t flags)
{
    if (flags & NOT_SIMULATED)
        return fail(ENOTSUP);
    if (!from || !to)
        return fail(EINVAL);
    if (s) {
        s->copied = 0;
        s->was_cloned = false;
        if (set_name(&s->src_name, from) < 0 || set_name(&s->dst_name, to) < 0)
            return -1;
    }
    if (flags & (COPYFILE_CLONE | COPYFILE_CLONE_FORCE)) {
        if (try_clone(from, to, flags) == 0) {
            if (s)
                s->was_cloned = true;
            return 0;
        }
        if (flags & COPYFILE_CLONE_FORCE)
            return fail(ENOTSUP); /* copyfile-180+: whatever clonefileat said */
        flags |= COPYFILE_EXCL | COPYFILE_STAT | COPYFILE_XATTR | COPYFILE_DATA |
                 COPYFILE_NOFOLLOW_SRC;
    }
    struct stat st;
    int r = (flags & COPYFILE_NOFOLLOW_SRC) ? lstat(from, &st) : stat(from, &st);
    if (r < 0)
        return -1;
    if (S_ISLNK(st.st_mode))
        return copy_symlink(from, to, flags);
    if (S_ISDIR(st.st_mode))
        return copy_dir(from, to, s, flags);
    return copy_file(from, to, s, flags);
}
