/*
 * dedupe_hash.c - content hashes for dedupe: xxHash3 (128-bit) from Debian's
 * libxxhash, over the first and last 4 KiB to split candidate groups
 * cheaply, then over the whole content. Hashes only group candidates: the
 * kernel compares the bytes before sharing anything.
 */
#include "dedupe.h"

#include <errno.h>
#include <xxhash.h>

/* Read exactly n bytes at off (short only at end of file). @return bytes or -errno. */
static ssize_t read_at(int fd, char *p, size_t n, off_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = SYS(pread)(fd, p + done, n - done, off + (off_t)done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

static dd_hash from_xxh(XXH128_hash_t h)
{
    return (dd_hash){.lo = h.low64, .hi = h.high64};
}

int dd_hash_full(int fd, uint64_t size, cowcopy__buf *buf, dd_hash *out, uint64_t *read)
{
    int r = cowcopy__buf_reserve(buf, (size_t)(size < (1u << 20) ? size : (1u << 20)));
    if (r < 0)
        return r;
    XXH3_state_t *state = XXH3_createState();
    if (!state)
        return -ENOMEM;
    XXH3_128bits_reset(state);
    uint64_t off = 0;
    while (off < size) {
        size_t want = size - off < buf->size ? (size_t)(size - off) : buf->size;
        ssize_t n = read_at(fd, buf->data, want, (off_t)off);
        if (n < 0) {
            XXH3_freeState(state);
            return (int)n;
        }
        XXH3_128bits_update(state, buf->data, (size_t)n);
        *read += (uint64_t)n;
        off += (uint64_t)n;
        if ((size_t)n < want)
            break; /* shrank: the hash differs from the others', the kernel would refuse anyway */
    }
    *out = from_xxh(XXH3_128bits_digest(state));
    XXH3_freeState(state);
    return 0;
}

int dd_hash_edges(int fd, uint64_t size, cowcopy__buf *buf, dd_hash *out, uint64_t *read)
{
    if (size <= 2 * DD_EDGE_BLOCK)
        return dd_hash_full(fd, size, buf, out, read);
    int r = cowcopy__buf_reserve(buf, 2 * DD_EDGE_BLOCK);
    if (r < 0)
        return r;
    ssize_t a = read_at(fd, buf->data, DD_EDGE_BLOCK, 0);
    if (a < 0)
        return (int)a;
    ssize_t b = read_at(fd, buf->data + a, DD_EDGE_BLOCK, (off_t)(size - DD_EDGE_BLOCK));
    if (b < 0)
        return (int)b;
    *read += (uint64_t)(a + b);
    *out = from_xxh(XXH3_128bits(buf->data, (size_t)(a + b)));
    return 0;
}
