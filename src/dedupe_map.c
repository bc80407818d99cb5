/*
 * dedupe_map.c - a file's data as physical runs (FIEMAP), for dedupe to see
 * which candidates already share all their blocks (equal maps) without
 * reading any data, and which hold data that cannot be shared (btrfs inline
 * extents).
 *
 * FIEMAP_FLAG_SYNC flushes delayed allocation first, so every extent has a
 * physical address. Runs are merged where they are contiguous both
 * logically and physically, so that two clones whose extents btrfs happens
 * to split at different offsets still compare equal.
 */
#include "dedupe.h"

#include <errno.h>
#include <linux/fiemap.h>
#include <stdlib.h>
#include <string.h>

enum { MAP_BATCH = 128 };

/* Append a run, merging with the previous one when contiguous. */
static int map_push(dd_map *m, size_t *cap, uint64_t logical, uint64_t physical, uint64_t length)
{
    if (m->count > 0) {
        dd_run *last = &m->runs[m->count - 1];
        if (last->logical + last->length == logical && last->physical + last->length == physical) {
            last->length += length;
            return 0;
        }
    }
    if (m->count == *cap) {
        size_t want = *cap ? *cap * 2 : 4;
        dd_run *p = realloc(m->runs, want * sizeof *p);
        if (!p)
            return -ENOMEM;
        m->runs = p;
        *cap = want;
    }
    m->runs[m->count++] = (dd_run){logical, physical, length};
    return 0;
}

int dd_map_load(int fd, dd_map *m)
{
    memset(m, 0, sizeof *m);
    size_t cap = 0;
    size_t fm_size = sizeof(struct fiemap) + MAP_BATCH * sizeof(struct fiemap_extent);
    struct fiemap *fm = malloc(fm_size);
    if (!fm)
        return -ENOMEM;
    uint64_t start = 0;
    int r = 0;
    for (bool last = false; !last;) {
        /* All of it: valgrind does not know the kernel fills the extents. */
        memset(fm, 0, fm_size);
        fm->fm_start = start;
        fm->fm_length = FIEMAP_MAX_OFFSET - start;
        fm->fm_flags = FIEMAP_FLAG_SYNC;
        fm->fm_extent_count = MAP_BATCH;
        if (SYS(fiemap)(fd, fm) < 0) {
            r = -errno;
            break;
        }
        if (fm->fm_mapped_extents == 0)
            break;
        for (unsigned i = 0; i < fm->fm_mapped_extents && r == 0; i++) {
            const struct fiemap_extent *e = &fm->fm_extents[i];
            if (e->fe_flags & (FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_NOT_ALIGNED |
                               FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DATA_TAIL))
                m->inline_data = true;
            r = map_push(m, &cap, e->fe_logical, e->fe_physical, e->fe_length);
            start = e->fe_logical + e->fe_length;
            if (e->fe_flags & FIEMAP_EXTENT_LAST)
                last = true;
        }
        if (r < 0)
            break;
    }
    free(fm);
    if (r < 0)
        dd_map_free(m);
    return r;
}

bool dd_map_equal(const dd_map *a, const dd_map *b)
{
    return a->count == b->count && !a->inline_data && !b->inline_data &&
           memcmp(a->runs, b->runs, a->count * sizeof *a->runs) == 0;
}

void dd_map_free(dd_map *m)
{
    free(m->runs);
    m->runs = NULL;
    m->count = 0;
}
