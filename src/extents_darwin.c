/*
 * extents_darwin.c - the extent iterator on Darwin: data ranges from
 * SEEK_DATA/SEEK_HOLE, each mapped run by run with fcntl(F_LOG2PHYS_EXT),
 * which answers, for a file offset, the device offset and how many bytes
 * from there are physically contiguous (l2p_contigbytes): one call per run,
 * not per block.
 *
 * Darwin does not say whether an extent is shared (FIEMAP_EXTENT_SHARED has
 * no counterpart here); callers that need exclusive bytes ask the file for
 * its private size instead (usage.c). A run without a block of its own
 * (devoffset -1) is reported as COWCOPY__EXTENT_UNKNOWN, with no place.
 */
#include "extents.h"

#include <errno.h>
#include <string.h>

void cowcopy__extent_iter_init(cowcopy__extent_iter *it, int fd, uint64_t size, uint64_t end)
{
    memset(it, 0, sizeof *it);
    it->fd = fd;
    it->size = size;
    it->end = end;
}

/* Filesystems without F_LOG2PHYS_EXT answer with one of these. */
static bool no_log2phys_errno(int err)
{
    return err == ENOTSUP || err == ENOTTY || err == EINVAL || err == ENOSYS;
}

int cowcopy__extent_next(cowcopy__extent_iter *it, cowcopy__extent *out, const char **call)
{
    if (it->no_map)
        return cowcopy__extent_seek_next(it, out, call);
    if (it->pos >= it->range_end) { /* the next data range */
        cowcopy__extent range;
        int r = cowcopy__extent_seek_next(it, &range, call);
        if (r <= 0)
            return r;
        it->pos = range.logical;
        it->range_end = range.logical + range.length;
    }
    struct log2phys l2p;
    memset(&l2p, 0, sizeof l2p);
    l2p.l2p_contigbytes = (off_t)(it->range_end - it->pos);
    l2p.l2p_devoffset = (off_t)it->pos;
    if (SYS(log2phys_ext)(it->fd, &l2p) < 0) {
        int err = errno;
        if (!it->started && no_log2phys_errno(err)) {
            /* No physical map on this filesystem: data ranges only. */
            it->no_map = true;
            *out = (cowcopy__extent){it->pos, 0, it->range_end - it->pos, COWCOPY__EXTENT_NO_MAP};
            it->pos = it->range_end;
            return 1;
        }
        *call = "F_LOG2PHYS_EXT";
        return -err;
    }
    it->started = true;
    uint64_t left = it->range_end - it->pos;
    uint64_t len = l2p.l2p_contigbytes > 0 && (uint64_t)l2p.l2p_contigbytes < left
                       ? (uint64_t)l2p.l2p_contigbytes
                       : left;
    /* A run reaching end of file takes the rest of its last block when the
     * iterator counts that block whole (end past size): the block is one,
     * though F_LOG2PHYS_EXT maps only up to end of file. */
    if (it->pos + len >= it->size && it->range_end > it->size)
        len = left;
    bool placed = l2p.l2p_devoffset >= 0;
    *out = (cowcopy__extent){it->pos, placed ? (uint64_t)l2p.l2p_devoffset : 0, len,
                             placed ? 0u : COWCOPY__EXTENT_UNKNOWN};
    it->pos += len;
    return 1;
}
