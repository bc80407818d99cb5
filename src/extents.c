/*
 * extents.c - physical extent maps (see extents.h) and the public
 * cowcopy_shared_measure(): how many bytes of one file's data sit on the
 * same physical blocks as another's.
 *
 * Shared bytes are found by intersecting physical ranges, byte-exact, not
 * by FIEMAP's COWCOPY__EXTENT_SHARED flag: the flag says an extent is
 * referenced by something, not by which file, and btrfs sets it on a whole
 * extent even when only part of it is shared. Encoded (compressed) btrfs
 * extents report the extent's disk address with its uncompressed length, so
 * their ranges cannot be intersected; they are compared by identity instead
 * (same disk address: the same extent), counting the measured file's length.
 */
#include "extents.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/magic.h>

/* ---------------------------------------------------------- range sets */

/* Sets at least this big sort and merge themselves before growing. */
enum { RANGESET_COMPACT_MIN = 1 << 16 };

/* qsort order: by start, then by end. */
static int prange_cmp(const void *a, const void *b)
{
    const cowcopy__prange *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Sort and merge in place, keeping the allocation. @return distinct bytes. */
static uint64_t rangeset_compact(cowcopy__rangeset *s)
{
    if (!s->normal && s->n > 1)
        qsort(s->r, s->n, sizeof *s->r, prange_cmp);
    uint64_t bytes = 0;
    size_t out = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (out > 0 && s->r[i].start <= s->r[out - 1].end) {
            if (s->r[i].end > s->r[out - 1].end)
                s->r[out - 1].end = s->r[i].end;
            continue;
        }
        s->r[out++] = s->r[i];
    }
    s->n = out;
    for (size_t i = 0; i < out; i++)
        bytes += s->r[i].end - s->r[i].start;
    s->normal = true;
    return bytes;
}

/* Make room for `more` ranges. @return 0 or -ENOMEM. */
static int rangeset_reserve(cowcopy__rangeset *s, size_t more)
{
    if (s->cap - s->n >= more)
        return 0;
    if (s->n >= RANGESET_COMPACT_MIN) {
        rangeset_compact(s);
        if (s->cap - s->n >= more && s->n <= s->cap / 4 * 3)
            return 0;
    }
    size_t cap = s->cap ? s->cap : 8;
    while (cap - s->n < more) {
        if (cap > SIZE_MAX / 2 / sizeof *s->r)
            return -ENOMEM;
        cap *= 2;
    }
    cowcopy__prange *r = realloc(s->r, cap * sizeof *r);
    if (!r)
        return -ENOMEM;
    s->r = r;
    s->cap = cap;
    return 0;
}

int cowcopy__rangeset_add(cowcopy__rangeset *s, uint64_t start, uint64_t len)
{
    if (len == 0)
        return 0;
    /* Extend the last range in place when the new one continues it (the
     * common case: a file's extents in logical order, often contiguous). */
    if (s->n > 0 && s->r[s->n - 1].end == start) {
        s->r[s->n - 1].end = start + len;
        return 0;
    }
    int r = rangeset_reserve(s, 1);
    if (r < 0)
        return r;
    if (s->n > 0 && start < s->r[s->n - 1].end)
        s->normal = false;
    else if (s->n == 0)
        s->normal = true;
    s->r[s->n++] = (cowcopy__prange){start, start + len};
    return 0;
}

int cowcopy__rangeset_merge(cowcopy__rangeset *dst, const cowcopy__rangeset *src)
{
    if (src->n == 0)
        return 0;
    int r = rangeset_reserve(dst, src->n);
    if (r < 0)
        return r;
    memcpy(dst->r + dst->n, src->r, src->n * sizeof *src->r);
    dst->n += src->n;
    dst->normal = false;
    return 0;
}

uint64_t cowcopy__rangeset_normalize(cowcopy__rangeset *s)
{
    uint64_t bytes = rangeset_compact(s);
    if (s->n == 0) {
        free(s->r);
        s->r = NULL;
        s->cap = 0;
    } else if (s->n < s->cap) {
        cowcopy__prange *r = realloc(s->r, s->n * sizeof *r);
        if (r) { /* a failed shrink keeps the larger block: still correct */
            s->r = r;
            s->cap = s->n;
        }
    }
    return bytes;
}

uint64_t cowcopy__rangeset_overlap(const cowcopy__rangeset *s, uint64_t start, uint64_t len)
{
    uint64_t end = start + len;
    /* The first range ending after start. */
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->r[mid].end <= start)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t bytes = 0;
    for (size_t i = lo; i < s->n && s->r[i].start < end; i++) {
        uint64_t a = s->r[i].start > start ? s->r[i].start : start;
        uint64_t b = s->r[i].end < end ? s->r[i].end : end;
        bytes += b - a;
    }
    return bytes;
}

void cowcopy__rangeset_free(cowcopy__rangeset *s)
{
    free(s->r);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------ iterator */

/* ------------------------------------------------------------ iterator */

int cowcopy__extent_seek_next(cowcopy__extent_iter *it, cowcopy__extent *out, const char **call)
{
    if (it->done || it->next >= it->end)
        return 0;
    uint64_t data = it->next, hole = it->end;
#ifdef HAVE_SEEK_DATA
    off_t d = SYS(lseek)(it->fd, (off_t)it->next, SEEK_DATA);
    if (d < 0) {
        if (errno == ENXIO) { /* only a hole up to end of file */
            it->done = true;
            return 0;
        }
        if (errno != EINVAL && errno != EOPNOTSUPP) {
            *call = "lseek";
            return -errno;
        }
        d = (off_t)it->next; /* no SEEK_DATA here: all of it is data */
    } else {
        off_t h = SYS(lseek)(it->fd, d, SEEK_HOLE);
        if (h < 0 && errno != ENXIO) {
            *call = "lseek";
            return -errno;
        }
        if (h >= 0 && (uint64_t)h < hole && (uint64_t)h < it->size)
            hole = (uint64_t)h; /* a real hole, not the one at end of file */
    }
    data = (uint64_t)d;
#endif
    if (data >= it->end || hole <= data) {
        it->done = true;
        return 0;
    }
    *out = (cowcopy__extent){data, 0, hole - data, COWCOPY__EXTENT_NO_MAP};
    it->next = hole;
    return 1;
}

/* ----------------------------------------------------------- file maps */

int cowcopy__extmap_read(int fd, const struct stat *st, cowcopy__extmap *m, const char **call)
{
    memset(m, 0, sizeof *m);
    m->fs = cowcopy__fsid_of(fd, st);
    m->dev = st->st_dev;
    m->ino = st->st_ino;
    cowcopy__extent_iter it;
    uint64_t size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
    cowcopy__extent_iter_init(&it, fd, size, size);
    cowcopy__extent e;
    int r;
    while ((r = cowcopy__extent_next(&it, &e, call)) > 0) {
        m->data_bytes += e.length;
        if (e.flags & COWCOPY__EXTENT_UNPLACED)
            continue;
        if (e.flags & COWCOPY__EXTENT_ENCODED)
            r = cowcopy__rangeset_add(&m->encoded, e.physical, 1);
        else
            r = cowcopy__rangeset_add(&m->placed, e.physical, e.length);
        if (r < 0) {
            *call = "malloc";
            break;
        }
    }
    if (r < 0) {
        cowcopy__extmap_free(m);
        return r;
    }
    m->has_map = !it.no_map;
    cowcopy__rangeset_normalize(&m->placed);
    cowcopy__rangeset_normalize(&m->encoded);
    return 0;
}

void cowcopy__extmap_free(cowcopy__extmap *m)
{
    cowcopy__rangeset_free(&m->placed);
    cowcopy__rangeset_free(&m->encoded);
}

int cowcopy__extents_measure(int fd, const struct stat *st, const cowcopy__extmap *with,
                             cowcopy__extsum *sum, const char **call)
{
    memset(sum, 0, sizeof *sum);
    bool same_file = st->st_dev == with->dev && st->st_ino == with->ino;
    bool other_fs = !same_file && !cowcopy__fsid_equal(cowcopy__fsid_of(fd, st), with->fs);
    cowcopy__extent_iter it;
    uint64_t size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
    cowcopy__extent_iter_init(&it, fd, size, size);
    cowcopy__extent e;
    int r;
    while ((r = cowcopy__extent_next(&it, &e, call)) > 0) {
        sum->data_bytes += e.length;
        if (same_file || other_fs || (e.flags & COWCOPY__EXTENT_UNPLACED))
            continue;
        if (e.flags & COWCOPY__EXTENT_ENCODED) {
            if (cowcopy__rangeset_overlap(&with->encoded, e.physical, 1))
                sum->shared_bytes += e.length;
        } else {
            sum->shared_bytes += cowcopy__rangeset_overlap(&with->placed, e.physical, e.length);
        }
    }
    if (r < 0)
        return r;
    if (same_file) {
        sum->shared_bytes = sum->data_bytes;
        sum->basis = COWCOPY_SHARED_SAME_FILE;
    } else if (other_fs) {
        sum->basis = COWCOPY_SHARED_OTHER_FS;
    } else if (it.no_map || !with->has_map) {
        sum->basis = COWCOPY_SHARED_NO_MAP;
    } else {
        sum->basis = COWCOPY_SHARED_EXTENTS;
    }
    return 0;
}

/* ------------------------------------------------------- shared_measure */

/* Open path for mapping: a regular file, never a device or FIFO (they are
 * rejected from a stat before any open, which could block or rewind a tape).
 * @return the descriptor or -errno with e filled in. */
static int open_regular(const char *path, struct stat *st, cowcopy_error *e)
{
    if (SYS(fstatat)(AT_FDCWD, path, st, 0) < 0)
        return cowcopy__fail(e, COWCOPY_OP_STAT_SOURCE, "stat", errno);
    if (!S_ISREG(st->st_mode))
        return cowcopy__fail(e, COWCOPY_OP_NOT_REGULAR, NULL, S_ISDIR(st->st_mode) ? EISDIR : EINVAL);
    int fd = SYS(openat)(AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
    if (fd < 0)
        return cowcopy__fail(e, COWCOPY_OP_OPEN_SOURCE, "open", errno);
    if (SYS(fstat)(fd, st) < 0) {
        int err = errno;
        SYS(close)(fd);
        return cowcopy__fail(e, COWCOPY_OP_STAT_SOURCE, "fstat", err);
    }
    if (!S_ISREG(st->st_mode)) { /* replaced since the stat */
        SYS(close)(fd);
        return cowcopy__fail(e, COWCOPY_OP_NOT_REGULAR, NULL, S_ISDIR(st->st_mode) ? EISDIR : EINVAL);
    }
    return fd;
}

/* Measure one other file against map m into *res. @return 0 or -errno. */
static int measure_one(const char *path, const cowcopy__extmap *m, cowcopy_shared *res)
{
    struct stat st;
    int fd = open_regular(path, &st, &res->error);
    if (fd < 0)
        return fd;
    res->size = (uint64_t)st.st_size;
    cowcopy__extsum sum;
    const char *call = NULL;
    int r = cowcopy__extents_measure(fd, &st, m, &sum, &call);
    SYS(close)(fd);
    if (r < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_MAP_EXTENTS, call, -r);
    res->data_bytes = sum.data_bytes;
    res->shared_bytes = sum.shared_bytes;
    res->basis = sum.basis;
    return 0;
}

int cowcopy_shared_measure(const char *file, const char *const *others, size_t count,
                           cowcopy_shared *results)
{
    cowcopy__fault_init_from_env();
    if (count > 0 && (!others || !results))
        return -EINVAL;
    for (size_t i = 0; i < count; i++) {
        memset(&results[i], 0, sizeof results[i]);
        results[i].error.src = others[i];
    }
    cowcopy_error fe = {.src = file};
    cowcopy__extmap m;
    struct stat st;
    int r = 0;
    if (!file || !*file) {
        r = cowcopy__fail(&fe, COWCOPY_OP_STAT_SOURCE, NULL, ENOENT);
    } else if ((r = open_regular(file, &st, &fe)) >= 0) {
        int fd = r;
        const char *call = NULL;
        r = cowcopy__extmap_read(fd, &st, &m, &call);
        SYS(close)(fd);
        if (r < 0)
            cowcopy__fail(&fe, COWCOPY_OP_MAP_EXTENTS, call, -r);
    }
    if (r < 0) {
        for (size_t i = 0; i < count; i++)
            results[i].error = fe;
        return r;
    }
    int first = 0;
    for (size_t i = 0; i < count; i++) {
        int ri = !others[i] || !*others[i]
                     ? cowcopy__fail(&results[i].error, COWCOPY_OP_STAT_SOURCE, NULL, ENOENT)
                     : measure_one(others[i], &m, &results[i]);
        if (ri < 0 && first == 0)
            first = ri;
    }
    cowcopy__extmap_free(&m);
    return first;
}
