/*
 * extents.h - physical extent maps: where a file's data sits on disk, and
 * sets of physical byte ranges to intersect such maps with.
 *
 * Used by `shared` (extents.c), `du` (usage.c) and `dedupe`. The pieces:
 *  - an extent iterator over FIEMAP (Linux; flushed first with FIEMAP_FLAG_SYNC)
 *    or F_LOG2PHYS_EXT (Darwin),
 *    clipped at an end offset, that falls back to SEEK_DATA/SEEK_HOLE data
 *    ranges without physical places on filesystems without FIEMAP (tmpfs);
 *  - a range set: sorted, merged physical ranges, 16 bytes per range, with
 *    an overlap query in O(log n);
 *  - an extent map of one file (its range set and byte counts) and a
 *    measure of another file against it, which is "how many of B's data
 *    bytes sit on A's blocks" -- dedupe's "does B already share all its data
 *    with A" is cowcopy__extsum_all_shared() of that measure;
 * Physical addresses compare only within one address space:
 * cowcopy__fsid_of() (fsid.c) says which.
 */
#ifndef COWCOPY_EXTENTS_H
#define COWCOPY_EXTENTS_H

#include "internal.h"

#include <stdint.h>
#ifdef HAVE_FIEMAP
#include <linux/fiemap.h>
#endif

/* ---------------------------------------------------------- range sets */

/* Physical bytes [start, end). */
typedef struct cowcopy__prange {
    uint64_t start, end;
} cowcopy__prange;

/* A set of physical ranges. Zero-initialise; add ranges in any order, then
 * normalize before querying. */
typedef struct cowcopy__rangeset {
    cowcopy__prange *r;
    size_t n, cap;
    bool normal; /* sorted, disjoint, non-adjacent */
} cowcopy__rangeset;

/* Add [start, start + len) (len > 0). Large sets compact themselves (sort
 * and merge) before growing. @return 0 or -ENOMEM. */
int cowcopy__rangeset_add(cowcopy__rangeset *s, uint64_t start, uint64_t len);
/* Add every range of src to dst. @return 0 or -ENOMEM. */
int cowcopy__rangeset_merge(cowcopy__rangeset *dst, const cowcopy__rangeset *src);
/* Sort and merge overlapping or touching ranges; shrink the allocation.
 * @return the number of distinct bytes in the set. */
uint64_t cowcopy__rangeset_normalize(cowcopy__rangeset *s);
/* @return how many bytes of [start, start + len) lie in the normalized s. */
uint64_t cowcopy__rangeset_overlap(const cowcopy__rangeset *s, uint64_t start, uint64_t len);
void cowcopy__rangeset_free(cowcopy__rangeset *s);

/* ------------------------------------------------------------ iterator */

/* Extent flags: FIEMAP's values (extents_linux.c passes them through). */
#define COWCOPY__EXTENT_LAST     0x00000001u
#define COWCOPY__EXTENT_UNKNOWN  0x00000002u /* no place known (Darwin: devoffset -1) */
#define COWCOPY__EXTENT_DELALLOC 0x00000004u
#define COWCOPY__EXTENT_ENCODED  0x00000008u /* compressed: compared by identity */
#define COWCOPY__EXTENT_INLINE   0x00000200u
#define COWCOPY__EXTENT_TAIL     0x00000400u
#define COWCOPY__EXTENT_SHARED   0x00002000u /* Linux only: Darwin does not say */
/* A data range from SEEK_DATA, with no physical place (no extent map). */
#define COWCOPY__EXTENT_NO_MAP 0x80000000u
/* Data whose physical address is not a place of its own on disk: inline
 * data, tail packing, not yet allocated or unknown, or no map at all. */
#define COWCOPY__EXTENT_UNPLACED                                                               \
    (COWCOPY__EXTENT_INLINE | COWCOPY__EXTENT_TAIL | COWCOPY__EXTENT_UNKNOWN |                \
     COWCOPY__EXTENT_DELALLOC | COWCOPY__EXTENT_NO_MAP)

typedef struct cowcopy__extent {
    uint64_t logical, physical, length; /* clipped at the iterator's end */
    uint32_t flags;                     /* COWCOPY__EXTENT_* */
} cowcopy__extent;

enum { COWCOPY__FIEMAP_BATCH = 64 };

/* Walks a file's extents in logical order (extents_linux.c on Linux,
 * extents_darwin.c on Darwin). */
typedef struct cowcopy__extent_iter {
    int fd;
    uint64_t size;   /* of the file */
    uint64_t end;    /* extents are clipped here */
    uint64_t next;   /* logical offset of the next request or SEEK_DATA */
    uint32_t index;  /* next extent in the batch */
    uint32_t fm_flags;
    bool started, done, no_map;
#ifdef HAVE_FIEMAP
    union {
        struct fiemap fm;
        unsigned char bytes[sizeof(struct fiemap) +
                            COWCOPY__FIEMAP_BATCH * sizeof(struct fiemap_extent)];
    } buf;
#else
    uint64_t pos, range_end; /* the data range being mapped, run by run */
#endif
} cowcopy__extent_iter;

/* Start walking the extents of fd, a file of `size` bytes, up to byte `end`:
 * size itself, or size rounded up to a block to count the last block whole
 * (SEEK_HOLE puts a hole at the exact end of file; it is moved to `end`).
 * Cannot fail. */
void cowcopy__extent_iter_init(cowcopy__extent_iter *it, int fd, uint64_t size, uint64_t end);
/*
 * The next extent, clipped at the end.
 * @return 1 with *out filled, 0 when there are no more, or a negative errno
 *         with *call naming the call that failed ("FIEMAP", "lseek").
 */
int cowcopy__extent_next(cowcopy__extent_iter *it, cowcopy__extent *out, const char **call);

/* The next data range from SEEK_DATA/SEEK_HOLE, without a physical place
 * (for filesystems without an extent map). Same return as _next. */
int cowcopy__extent_seek_next(cowcopy__extent_iter *it, cowcopy__extent *out, const char **call);

/* ----------------------------------------------------------- file maps */

/* The extent map of one file, kept as a set of physical ranges. */
typedef struct cowcopy__extmap {
    cowcopy__rangeset placed;  /* physical ranges of its data with a place on disk */
    cowcopy__rangeset encoded; /* first physical byte of each encoded (compressed)
                                  extent, as [p, p + 1): compared by identity */
    uint64_t data_bytes;       /* all data up to end of file, holes not counted */
    cowcopy__fsid fs;
    dev_t dev;
    ino_t ino;
    bool has_map;              /* the filesystem gave an extent map */
} cowcopy__extmap;

/* Map the regular file fd (fstat *st), clipped at end of file. On failure
 * nothing needs freeing. @return 0 or a negative errno with *call set. */
int cowcopy__extmap_read(int fd, const struct stat *st, cowcopy__extmap *m, const char **call);
void cowcopy__extmap_free(cowcopy__extmap *m);

/* Another file measured against an extent map. */
typedef struct cowcopy__extsum {
    uint64_t data_bytes;   /* its data up to end of file, holes not counted */
    uint64_t shared_bytes; /* of which on the map's blocks */
    int basis;             /* enum cowcopy_shared_basis */
} cowcopy__extsum;

/* Measure the regular file fd (fstat *st) against map `with`, byte-exact,
 * streaming its extents (nothing of it is kept). @return 0 or a negative
 * errno with *call set. */
int cowcopy__extents_measure(int fd, const struct stat *st, const cowcopy__extmap *with,
                             cowcopy__extsum *sum, const char **call);

/* Does the measured file have data, all of it on the map's blocks? */
static inline bool cowcopy__extsum_all_shared(const cowcopy__extsum *s)
{
    return s->data_bytes > 0 && s->shared_bytes == s->data_bytes;
}

#endif
