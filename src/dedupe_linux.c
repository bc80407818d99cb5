/*
 * dedupe_linux.c - sharing identical files on Linux: the FIDEDUPERANGE
 * ioctl, in which the kernel compares the bytes under lock and shares only
 * what is identical, so content can never change, even if a file is being
 * written; inode, times, mode, owner and xattrs stay as they are.
 *
 * Its limits: 127 destinations per call (what fits its one-page argument),
 * requests of 16 MiB (the chunk older kernels accept), offsets aligned to
 * blocks, the last request ending at both files' end. Every destination's
 * status is checked: FILE_DEDUPE_RANGE_DIFFERS (it changed since it was
 * read) is counted, an error is reported with both paths.
 */
#include "dedupe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
    DEDUPE_CHUNK = 16 * 1024 * 1024,
    DEDUPE_MAX_DESTS = 127, /* what fits the kernel's one-page argument */
};

/* Can this filesystem deduplicate? Asks the kernel to dedupe a range of fd
 * onto itself: a no-op where supported (the status is then EINVAL for the
 * overlap), an ioctl error such as EOPNOTSUPP where not (ext4, tmpfs).
 * @return 1 yes, or -errno. */
int dd_probe(int fd, uint64_t size)
{
    struct {
        struct file_dedupe_range r;
        struct file_dedupe_range_info info[1];
    } arg;
    memset(&arg, 0, sizeof arg);
    arg.r.src_length = size < DEDUPE_CHUNK ? size : DEDUPE_CHUNK;
    arg.r.dest_count = 1;
    arg.info[0].dest_fd = fd;
    if (SYS(fideduperange)(fd, &arg.r) == 0)
        return 1;
    int err = errno;
    if (err == EOPNOTSUPP || err == ENOTTY || err == EINVAL || err == EXDEV || err == ENOSYS)
        return -err;
    return 1; /* EPERM, EACCES...: a per-file matter, found out file by file */
}

/* Share src's data with each of the n destinations (not in a dry run):
 * sets their status and adds to the counters. */
void dd_share(dd_worker *w, dd_member *src, dd_member **dests, size_t n)
{
    dd_job *r = w->run;
    dd_scan *s = &r->scan;
    uint64_t size = s->files[src->file].size;
    if (r->dry_run) {
        dd_would_share(r, dests, n, size);
        return;
    }
    int src_fd = dd_member_fd(w, src);
    if (src_fd < 0) {
        for (size_t i = 0; i < n; i++)
            dests[i]->status = COWCOPY_DEDUPE_FAILED;
        return;
    }
    struct file_dedupe_range *arg =
        calloc(1, sizeof *arg + DEDUPE_MAX_DESTS * sizeof(struct file_dedupe_range_info));
    int fds[DEDUPE_MAX_DESTS];
    uint64_t deduped[DEDUPE_MAX_DESTS];
    for (size_t base = 0; arg && base < n; base += DEDUPE_MAX_DESTS) {
        size_t batch = n - base < DEDUPE_MAX_DESTS ? n - base : DEDUPE_MAX_DESTS;
        for (size_t i = 0; i < batch; i++) {
            fds[i] = dd_member_fd(w, dests[base + i]);
            deduped[i] = 0;
            /* ESTALE: changed since it was read; not shared, and not an error. */
            dests[base + i]->status = fds[i] == -ESTALE ? COWCOPY_DEDUPE_DIFFERED
                                      : fds[i] < 0      ? COWCOPY_DEDUPE_FAILED
                                                        : -1;
        }
        for (uint64_t off = 0; off < size && !atomic_load(&r->stop); off += DEDUPE_CHUNK) {
            uint64_t len = size - off < DEDUPE_CHUNK ? size - off : DEDUPE_CHUNK;
            uint16_t count = 0;
            size_t which[DEDUPE_MAX_DESTS];
            for (size_t i = 0; i < batch; i++) {
                /* One that differed goes on: its equal chunks still share. */
                if (fds[i] < 0 || dests[base + i]->status == COWCOPY_DEDUPE_FAILED)
                    continue;
                arg->info[count] = (struct file_dedupe_range_info){.dest_fd = fds[i],
                                                                   .dest_offset = off};
                which[count++] = i;
            }
            if (count == 0)
                break;
            arg->src_offset = off;
            arg->src_length = len;
            arg->dest_count = count;
            int rc;
            do
                rc = SYS(fideduperange)(src_fd, arg);
            while (rc < 0 && errno == EINTR);
            int err = errno;
            for (uint16_t k = 0; k < count; k++) {
                size_t i = which[k];
                dd_member *d = dests[base + i];
                const struct file_dedupe_range_info *info = &arg->info[k];
                int status = rc < 0 ? -err : info->status;
                if (status == FILE_DEDUPE_RANGE_SAME) {
                    deduped[i] += info->bytes_deduped;
                } else if (status == FILE_DEDUPE_RANGE_DIFFERS) {
                    atomic_fetch_add(&r->bytes_differed, len);
                    d->status = COWCOPY_DEDUPE_DIFFERED;
                } else {
                    d->status = COWCOPY_DEDUPE_FAILED;
                    const char *src_path = dd_path(s, &s->files[src->file], &w->path, &w->cap);
                    dd_report(s, COWCOPY_OP_DEDUPE, "FIDEDUPERANGE", status < 0 ? -status : EIO,
                              src_path ? src_path : "?",
                              dd_path(s, &s->files[d->file], &w->path2, &w->cap2),
                              s->fss[s->files[d->file].fs].type);
                }
            }
        }
        for (size_t i = 0; i < batch; i++) {
            dd_member *d = dests[base + i];
            dd_member_release(d, fds[i]);
            atomic_fetch_add(&r->bytes_deduped, deduped[i]);
            if (d->status == -1) {
                d->status = COWCOPY_DEDUPE_SHARED;
                atomic_fetch_add(&r->files_deduped, 1);
                atomic_fetch_add(&r->freed_estimate, size);
            }
        }
    }
    if (!arg)
        for (size_t i = 0; i < n; i++)
            dests[i]->status = COWCOPY_DEDUPE_FAILED;
    free(arg);
    dd_member_release(src, src_fd);
}

