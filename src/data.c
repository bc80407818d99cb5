/*
 * data.c - moving a file's bytes: clone, offload, or copy with holes kept.
 *
 * The fallback ladder (rules from coreutils' copy.c, libuv and CPython):
 *  1. ioctl(FICLONE). In AUTO, any error but EIO, ENOMEM, ENOSPC and EDQUOT
 *     means "cannot clone here"; filesystems answer that with EOPNOTSUPP,
 *     EXDEV, EINVAL, ENOTTY, EBADF... After a clone the sizes must match.
 *  2. copy_file_range() over each data extent. Before the first byte,
 *     ENOSYS, ENOTTY, EOPNOTSUPP, EINVAL, EBADF, EXDEV, ETXTBSY, EPERM,
 *     EACCES and ENOENT mean "use read/write", and so does a 0 return on the
 *     first call (procfs and friends). ENOSYS is remembered for the process.
 *  3. pread/pwrite over each data extent found with SEEK_DATA/SEEK_HOLE,
 *     then the file is extended to its size with ftruncate, so holes stay
 *     holes. The source is read on past its reported size until end of file,
 *     because pseudo-files (/proc, /sys) report sizes that are not true.
 * A source that changes while it is being read (not cloned: FICLONE is
 * atomic) is an error, not a silently torn copy.
 */
#include "internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    BUF_MIN = 64 * 1024,
    /* 256 KiB: source pages, buffer and destination pages of one step stay
     * within a core's L2. Measured with bench/ (512 MiB, warm page cache,
     * 21 interleaved pairs, 2-core Xeon with 2 MiB L2 per core), 1 MiB was
     * 8% slower on ext4, 3.5% on XFS and 5% on btrfs, and 128 KiB 2.5%
     * slower on ext4; from a cold cache all sizes were alike. */
    BUF_MAX = 256 * 1024,
};

int cowcopy__buf_reserve(cowcopy__buf *b, size_t want)
{
    if (want < BUF_MIN)
        want = BUF_MIN;
    if (want > BUF_MAX)
        want = BUF_MAX;
    want = (want + BUF_MIN - 1) / BUF_MIN * BUF_MIN;
    if (b->size >= want)
        return 0;
    char *p = malloc(want);
    if (!p)
        return -ENOMEM;
    free(b->data);
    b->data = p;
    b->size = want;
    return 0;
}

void cowcopy__buf_free(cowcopy__buf *b)
{
    free(b->data);
    b->data = NULL;
    b->size = 0;
}

#if defined(HAVE_FICLONE) || defined(HAVE_COPY_FILE_RANGE)
static void note_fallback(cowcopy_result *res, const char *call, int err)
{
    if (!res->fallback_call) {
        res->fallback_call = call;
        res->fallback_errno = err;
    }
}
#endif

/* ------------------------------------------------------------- clone */

#ifdef HAVE_FICLONE
/* Errors after which AUTO must not fall back: the copy would fail too. */
static bool clone_error_is_fatal(int err)
{
    return err == EIO || err == ENOMEM || err == ENOSPC || err == EDQUOT;
}

/*
 * Step 1. @return 0 when cloned, 1 when the filesystem refused and the
 * ladder should go on, or a negative errno (res->error set).
 */
static int try_clone(int in, int out, const struct stat *in_st, int reflink, unsigned out_flags,
                     cowcopy_result *res, struct stat *out_st_copy)
{
    int r;
    do
        r = SYS(ficlone)(out, in);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        int err = errno;
        if (reflink == COWCOPY_REFLINK_ALWAYS || clone_error_is_fatal(err)) {
            res->error.fs = cowcopy__fs_name_fd(out);
            return cowcopy__fail(&res->error, COWCOPY_OP_CLONE, "FICLONE", err);
        }
        note_fallback(res, "FICLONE", err);
        return 1;
    }
    struct stat out_st;
    if (SYS(fstat)(out, &out_st) < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_CLONE, "fstat", errno);
    /* Written in place over a longer file, the clone leaves the old tail. */
    if ((out_flags & COWCOPY__OUT_OLD_DATA) && out_st.st_size > in_st->st_size) {
        if (SYS(ftruncate)(out, in_st->st_size) < 0)
            return cowcopy__fail(&res->error, COWCOPY_OP_WRITE, "ftruncate", errno);
        out_st.st_size = in_st->st_size;
    }
    if (out_st.st_size != in_st->st_size) {
        /* Either the source changed size since it was examined (then the
         * clone is a consistent snapshot of the new content), or the clone
         * is short, which must never pass. */
        struct stat now;
        if (SYS(fstat)(in, &now) < 0 || now.st_size != out_st.st_size)
            return cowcopy__fail(&res->error, COWCOPY_OP_CLONE, "FICLONE", EIO);
    }
    if (out_st_copy)
        *out_st_copy = out_st;
    res->method = COWCOPY_METHOD_CLONED;
    res->bytes = (uint64_t)out_st.st_size;
    res->hole_bytes = 0; /* a clone keeps holes by construction; not counted */
    return 0;
}
#endif /* HAVE_FICLONE */

/* ----------------------------------------------------------- extents */

/*
 * Find the first data extent [*data, *hole) at or after off, clipped to
 * size. *data == size means no data is left below size. Filesystems that do
 * not know SEEK_DATA get one extent covering the rest of the file.
 * @return 0 or a negative errno (res->error set).
 */
static int next_data(int in, off_t off, off_t size, bool *seek_ok, off_t *data, off_t *hole,
                     cowcopy_result *res)
{
    *data = off;
    *hole = size;
#ifdef HAVE_SEEK_DATA
    if (!*seek_ok)
        return 0;
    off_t d = SYS(lseek)(in, off, SEEK_DATA);
    if (d < 0) {
        if (errno == ENXIO) { /* only a hole up to end of file */
            *data = size;
            return 0;
        }
        if (errno == EINVAL || errno == EOPNOTSUPP || errno == ESPIPE) {
            *seek_ok = false;
            return 0;
        }
        return cowcopy__fail(&res->error, COWCOPY_OP_READ, "lseek", errno);
    }
    off_t h = SYS(lseek)(in, d, SEEK_HOLE);
    if (h < 0) {
        if (errno != ENXIO) /* ENXIO: the file shrank under us; the range read finds out */
            return cowcopy__fail(&res->error, COWCOPY_OP_READ, "lseek", errno);
        h = size;
    }
    *data = d < size ? d : size;
    *hole = h < size ? h : size;
#else
    (void)in;
    (void)seek_ok;
    (void)res;
#endif
    return 0;
}

#ifdef HAVE_COPY_FILE_RANGE
/* Set when copy_file_range returned ENOSYS: the kernel lacks it, for good. */
static atomic_int offload_missing;

/* ----------------------------------------------------------- offload */

/* copy_file_range errors that, before the first byte, mean "not here". */
static bool offload_refused(int err)
{
    return err == ENOSYS || err == ENOTTY || err == EOPNOTSUPP || err == EINVAL ||
           err == EBADF || err == EXDEV || err == ETXTBSY || err == EPERM || err == EACCES ||
           err == ENOENT;
}

/*
 * Step 2 for one extent [start, end). *moved gets the bytes copied (short
 * only at end of file). @return 0, 1 when refused before any byte of the
 * file was offloaded (`first`), or a negative errno.
 */
static int offload_range(int in, int out, off_t start, off_t end, bool first, off_t *moved,
                         cowcopy_result *res)
{
    off_t in_off = start, out_off = start;
    while (in_off < end) {
        off_t left = end - in_off;
        size_t ask = left > (off_t)1 << 30 ? (size_t)1 << 30 : (size_t)left;
        ssize_t n = SYS(copy_file_range)(in, &in_off, out, &out_off, ask, 0);
        if (n > 0)
            continue; /* the kernel advanced both offsets */
        if (n == 0) {
            if (first && in_off == start) {
                note_fallback(res, "copy_file_range", 0);
                return 1;
            }
            break; /* end of file: the source shrank */
        }
        int err = errno;
        if (err == EINTR)
            continue;
        if (first && in_off == start && offload_refused(err)) {
            if (err == ENOSYS)
                atomic_store(&offload_missing, 1);
            note_fallback(res, "copy_file_range", err);
            return 1;
        }
        return cowcopy__fail(&res->error, COWCOPY_OP_COPY, "copy_file_range", err);
    }
    *moved = in_off - start;
    return 0;
}
#endif /* HAVE_COPY_FILE_RANGE */

/* -------------------------------------------------------- read/write */

/* Write all n bytes at off, retrying EINTR and short writes. */
static int pwrite_all(int out, const char *p, size_t n, off_t off, cowcopy_result *res)
{
    while (n > 0) {
        ssize_t w = SYS(pwrite)(out, p, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return cowcopy__fail(&res->error, COWCOPY_OP_WRITE, "write", errno);
        }
        if (w == 0) /* no progress and no errno: treat as the device being full */
            return cowcopy__fail(&res->error, COWCOPY_OP_WRITE, "write", ENOSPC);
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Step 3 for one extent [start, end), or to end of file if end < 0.
 * *moved gets the bytes copied. @return 0 or a negative errno. */
static int rw_range(int in, int out, off_t start, off_t end, cowcopy__buf *buf, off_t *moved,
                    cowcopy_result *res)
{
    off_t pos = start;
    while (end < 0 || pos < end) {
        size_t want = buf->size;
        if (end >= 0 && (off_t)want > end - pos)
            want = (size_t)(end - pos);
        ssize_t n = SYS(pread)(in, buf->data, want, pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return cowcopy__fail(&res->error, COWCOPY_OP_READ, "read", errno);
        }
        if (n == 0)
            break;
        int r = pwrite_all(out, buf->data, (size_t)n, pos, res);
        if (r < 0)
            return r;
        pos += n;
    }
    *moved = pos - start;
    return 0;
}

/* Copy a FIFO, character device or other stream: read until end of file. */
static int stream_copy(int in, int out, cowcopy__buf *buf, cowcopy_result *res)
{
    int r = cowcopy__buf_reserve(buf, BUF_MIN);
    if (r < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_READ, "malloc", -r);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = SYS(read)(in, buf->data, buf->size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return cowcopy__fail(&res->error, COWCOPY_OP_READ, "read", errno);
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = SYS(write)(out, buf->data + done, (size_t)(n - done));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return cowcopy__fail(&res->error, COWCOPY_OP_WRITE, "write", errno);
            }
            if (w == 0)
                return cowcopy__fail(&res->error, COWCOPY_OP_WRITE, "write", ENOSPC);
            done += w;
        }
        total += (uint64_t)n;
    }
    res->method = COWCOPY_METHOD_COPIED;
    res->bytes = total;
    return 0;
}

/* Did the source change while it was read? Compares size and mtime with
 * the fstat taken before. Pseudo-files keep both constant, so they pass. */
static int check_unchanged(int in, const struct stat *before, cowcopy_result *res)
{
    struct stat now;
    if (SYS(fstat)(in, &now) < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_READ, "fstat", errno);
    if (now.st_size != before->st_size || now.st_mtim.tv_sec != before->st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != before->st_mtim.tv_nsec)
        return cowcopy__fail(&res->error, COWCOPY_OP_SOURCE_CHANGED, NULL, EAGAIN);
    return 0;
}

/* Steps 2 and 3 for regular files: extent by extent, holes kept. */
static int sparse_copy(int in, int out, const struct stat *in_st, bool offload,
                       cowcopy__buf *buf, cowcopy_result *res)
{
    off_t size = in_st->st_size, off = 0, written_end = 0, data_bytes = 0;
#ifdef HAVE_COPY_FILE_RANGE
    bool seek_ok = true, offloading = offload && size > 0 && !atomic_load(&offload_missing);
#else
    bool seek_ok = true, offloading = false; /* no copy_file_range on this platform */
    (void)offload;
#endif
    bool offloaded_any = false, shrank = false;
    int r;
    if (!offloading && (r = cowcopy__buf_reserve(buf, (size_t)size)) < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_READ, "malloc", -r);

    while (off < size && !shrank) {
        off_t data, hole, moved = 0;
        if ((r = next_data(in, off, size, &seek_ok, &data, &hole, res)) < 0)
            return r;
        if (data >= size)
            break;
#ifdef HAVE_COPY_FILE_RANGE
        if (offloading) {
            r = offload_range(in, out, data, hole, !offloaded_any, &moved, res);
            if (r < 0)
                return r;
            if (r == 1) {
                offloading = false;
                if ((r = cowcopy__buf_reserve(buf, (size_t)size)) < 0)
                    return cowcopy__fail(&res->error, COWCOPY_OP_READ, "malloc", -r);
            } else {
                offloaded_any = true;
            }
        }
#endif
        if (!offloading && (r = rw_range(in, out, data, hole, buf, &moved, res)) < 0)
            return r;
        data_bytes += moved;
        written_end = data + moved;
        shrank = moved < hole - data;
        off = hole;
    }

    off_t final_size = shrank ? written_end : size;
    if (!shrank) {
        /* Read on past the reported size: pseudo-files lie about it. */
        off_t tail = 0;
        if ((r = cowcopy__buf_reserve(buf, BUF_MIN)) < 0)
            return cowcopy__fail(&res->error, COWCOPY_OP_READ, "malloc", -r);
        if ((r = rw_range(in, out, size, -1, buf, &tail, res)) < 0)
            return r;
        if (tail > 0) {
            data_bytes += tail;
            written_end = size + tail;
            final_size = written_end;
        }
    }
    if (written_end < final_size && SYS(ftruncate)(out, final_size) < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_WRITE, "ftruncate", errno);
    if ((r = check_unchanged(in, in_st, res)) < 0)
        return r;

    res->method = offloaded_any ? COWCOPY_METHOD_OFFLOADED : COWCOPY_METHOD_COPIED;
    res->bytes = (uint64_t)final_size;
    res->hole_bytes = (uint64_t)(final_size - data_bytes);
    return 0;
}

int cowcopy__data_copy(int in, int out, const struct stat *in_st, int reflink, unsigned out_flags,
                       cowcopy__buf *buf, cowcopy_result *res, struct stat *out_st)
{
    bool both_regular = S_ISREG(in_st->st_mode) && (out_flags & COWCOPY__OUT_REGULAR);
    if (out_st)
        out_st->st_mode = 0;
#ifdef HAVE_FICLONE
    if (reflink == COWCOPY_REFLINK_ALWAYS || (reflink == COWCOPY_REFLINK_AUTO && both_regular)) {
        int r = try_clone(in, out, in_st, reflink, out_flags, res, out_st);
        if (r <= 0)
            return r;
    }
#else
    /* Darwin clones only by making a new file (clone_darwin.c): data written
     * into an existing file (in place) cannot be a clone. */
    if (reflink == COWCOPY_REFLINK_ALWAYS) {
        res->error.fs = cowcopy__fs_name_fd(out);
        return cowcopy__fail(&res->error, COWCOPY_OP_CLONE, "fclonefileat", ENOTSUP);
    }
    if (reflink == COWCOPY_REFLINK_AUTO && both_regular && !res->fallback_call) {
        res->fallback_call = "fclonefileat"; /* what clonefile(2) says of an existing file */
        res->fallback_errno = EEXIST;
    }
#endif
    if ((out_flags & COWCOPY__OUT_OLD_DATA) && SYS(ftruncate)(out, 0) < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_WRITE, "ftruncate", errno);
    if (!both_regular)
        return stream_copy(in, out, buf, res);
    return sparse_copy(in, out, in_st, reflink == COWCOPY_REFLINK_AUTO, buf, res);
}
