/*
 * dedupe_map.c - a file's data as physical runs, for dedupe to see which
 * candidates already share all their blocks (equal maps) without reading
 * any data, and which hold data that cannot be shared (btrfs inline
 * extents, no extent map at all).
 *
 * The extents come from the shared iterator (extents.c: FIEMAP after a
 * sync, clipped at end of file). Runs are merged where they are contiguous
 * both logically and physically, so that two clones whose extents btrfs
 * happens to split at different offsets still compare equal.
 */
#include "dedupe.h"
#include "extents.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int dd_map_load(int fd, uint64_t size, dd_map *m, const char **call)
{
    memset(m, 0, sizeof *m);
    *call = "malloc";
    cowcopy__extent_iter *it = malloc(sizeof *it); /* ~3.6 KiB: not on a thread's stack */
    if (!it)
        return -ENOMEM;
    cowcopy__extent_iter_init(it, fd, size, size);
    size_t cap = 0;
    cowcopy__extent e;
    int r;
    while ((r = cowcopy__extent_next(it, &e, call)) == 1) {
        if (e.flags & COWCOPY__EXTENT_UNPLACED)
            m->inline_data = true; /* no block of its own to share */
        if ((r = map_push(m, &cap, e.logical, e.physical, e.length)) < 0) {
            *call = "malloc";
            break;
        }
    }
    free(it);
    if (r < 0)
        dd_map_free(m);
    return r < 0 ? r : 0;
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
