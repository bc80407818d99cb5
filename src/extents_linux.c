/*
 * extents_linux.c - the extent iterator on Linux: FIEMAP, flushed first
 * (FIEMAP_FLAG_SYNC), in batches, clipped at the iterator's end; without
 * FIEMAP (tmpfs) it falls back to SEEK_DATA/SEEK_HOLE data ranges that have
 * no physical place (COWCOPY__EXTENT_NO_MAP).
 */
#include "extents.h"

#include <errno.h>
#include <string.h>

_Static_assert(COWCOPY__EXTENT_LAST == FIEMAP_EXTENT_LAST &&
                   COWCOPY__EXTENT_UNKNOWN == FIEMAP_EXTENT_UNKNOWN &&
                   COWCOPY__EXTENT_DELALLOC == FIEMAP_EXTENT_DELALLOC &&
                   COWCOPY__EXTENT_ENCODED == FIEMAP_EXTENT_ENCODED &&
                   COWCOPY__EXTENT_INLINE == FIEMAP_EXTENT_DATA_INLINE &&
                   COWCOPY__EXTENT_TAIL == FIEMAP_EXTENT_DATA_TAIL &&
                   COWCOPY__EXTENT_SHARED == FIEMAP_EXTENT_SHARED,
               "extent flags are FIEMAP's, passed through unchanged");

void cowcopy__extent_iter_init(cowcopy__extent_iter *it, int fd, uint64_t size, uint64_t end)
{
    it->fd = fd;
    it->size = size;
    it->end = end;
    it->next = 0;
    it->index = 0;
    it->fm_flags = FIEMAP_FLAG_SYNC;
    it->started = false;
    it->done = false;
    it->no_map = false;
    /* Zeroed once: valgrind (3.19) does not know that FS_IOC_FIEMAP fills
     * fm_extents and would flag every read of them as uninitialised. */
    memset(&it->buf, 0, sizeof it->buf);
}

/* FIEMAP errors meaning "this filesystem gives no extent map". */
static bool no_fiemap_errno(int err)
{
    return err == EOPNOTSUPP || err == ENOTTY || err == ENOSYS;
}

/* Ask FIEMAP for the next batch from it->next. @return 1 with a batch,
 * 0 at the end, or -errno. */
static int fiemap_batch(cowcopy__extent_iter *it, const char **call)
{
    struct fiemap *fm = &it->buf.fm;
    for (;;) {
        memset(fm, 0, sizeof *fm);
        fm->fm_start = it->next;
        fm->fm_length = it->end > it->next ? it->end - it->next : 1; /* 0 is EINVAL */
        fm->fm_flags = it->fm_flags;
        fm->fm_extent_count = COWCOPY__FIEMAP_BATCH;
        if (SYS(fiemap)(it->fd, fm) == 0)
            break;
        int err = errno;
        if (err == EBADR && (it->fm_flags & FIEMAP_FLAG_SYNC)) {
            /* The filesystem refuses FIEMAP_FLAG_SYNC (fiemap_prep() in
             * Linux answers unsupported flags with EBADR): flush the data
             * ourselves and ask without it. */
            SYS(fsync)(it->fd);
            it->fm_flags &= ~FIEMAP_FLAG_SYNC;
            continue;
        }
        if (!it->started && no_fiemap_errno(err)) {
            it->no_map = true;
            return 0;
        }
        *call = "FIEMAP";
        return -err;
    }
    it->fm_flags &= ~FIEMAP_FLAG_SYNC; /* flushed once is enough */
    it->started = true;
    it->index = 0;
    if (fm->fm_mapped_extents == 0 || fm->fm_mapped_extents > COWCOPY__FIEMAP_BATCH) {
        it->done = true;
        fm->fm_mapped_extents = 0;
        return 0;
    }
    /* A batch that does not move past it->next would repeat forever. */
    const struct fiemap_extent *last = &fm->fm_extents[fm->fm_mapped_extents - 1];
    if (!(last->fe_flags & FIEMAP_EXTENT_LAST) && last->fe_logical + last->fe_length <= it->next) {
        *call = "FIEMAP";
        return -EIO;
    }
    return 1;
}

int cowcopy__extent_next(cowcopy__extent_iter *it, cowcopy__extent *out, const char **call)
{
    for (;;) {
        if (it->no_map)
            return cowcopy__extent_seek_next(it, out, call);
        struct fiemap *fm = &it->buf.fm;
        if (it->index < fm->fm_mapped_extents) {
            const struct fiemap_extent *e = &fm->fm_extents[it->index++];
            if (e->fe_flags & FIEMAP_EXTENT_LAST)
                it->done = true;
            uint64_t start = e->fe_logical, end = e->fe_logical + e->fe_length;
            uint64_t from = start > it->next ? start : it->next; /* never report twice */
            uint64_t to = end < it->end ? end : it->end;
            if (end > it->next)
                it->next = end;
            if (it->next >= it->end)
                it->done = true;
            if (to <= from)
                continue;
            uint64_t phys = e->fe_physical;
            if (!(e->fe_flags & (FIEMAP_EXTENT_ENCODED | COWCOPY__EXTENT_UNPLACED)))
                phys += from - start;
            *out = (cowcopy__extent){from, phys, to - from, e->fe_flags};
            return 1;
        }
        /* An empty file still gets one FIEMAP call: whether the filesystem
         * has extent maps at all is part of the answer (tmpfs has none). */
        if (it->done || (it->started && it->next >= it->end))
            return 0;
        int r = fiemap_batch(it, call);
        if (r < 0)
            return r;
        if (r == 0 && !it->no_map)
            return 0;
    }
}

