/*
 * dedupe_darwin.c - sharing identical files on Darwin, where APFS has no
 * kernel compare (no FIDEDUPERANGE).
 *
 * For each duplicate: clone the group's source to a hidden name beside it
 * (fclonefileat); compare that clone with the duplicate byte for byte; give
 * the clone the duplicate's metadata (owner, xattrs, ACL, mode, times
 * including the creation time, BSD flags); check that the duplicate has not
 * changed meanwhile (device, inode, size, mtime, ctime, and that its name
 * still names it); then rename the clone over the duplicate.
 *
 * These guarantees are weaker than Linux's, and the documentation says so:
 * the duplicate's inode number and ctime change, and a write through a
 * descriptor opened before the final rename, made between the last check
 * and the rename, is lost with the old inode. The window is narrowed by
 * checking just before the rename, and --min-age skips files modified
 * recently. Files with more than one link (replacing one would break the
 * link), compressed files (UF_COMPRESSED: the clone would not be), and
 * immutable or append-only files are never replaced.
 */
#include "dedupe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { COMPARE_CHUNK = 256 * 1024 };

/* Flags that forbid replacing a file (or would not survive a clone). */
#define NEVER_REPLACE_FLAGS                                                                   \
    (UF_COMPRESSED | UF_IMMUTABLE | UF_APPEND | SF_IMMUTABLE | SF_APPEND | SF_RESTRICTED |     \
     SF_NOUNLINK)

/* Darwin: dedupe is clone-and-compare, so it works wherever clones do:
 * the volume's VOL_CAP_INT_CLONE. */
int dd_probe(int fd, uint64_t size)
{
    (void)size;
    /* Only a clear no stops the run; when the volume does not say, the
     * clones will tell, file by file. */
    return cowcopy__volume_can_clone(fd) == 0 ? -ENOTSUP : 1;
}

/* Do a and b hold the same size bytes? @return 0 same, 1 different, -errno. */
static int compare(int a, int b, uint64_t size, cowcopy__buf *buf, uint64_t *read)
{
    int r = cowcopy__buf_reserve(buf, 2 * COMPARE_CHUNK);
    if (r < 0)
        return r;
    size_t chunk = buf->size / 2; /* the buffer may be capped below what was asked */
    char *pa = buf->data, *pb = buf->data + chunk;
    for (uint64_t off = 0; off < size;) {
        size_t want = size - off < chunk ? (size_t)(size - off) : chunk;
        ssize_t na = SYS(pread)(a, pa, want, (off_t)off), nb = SYS(pread)(b, pb, want, (off_t)off);
        if (na < 0 || nb < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        *read += (uint64_t)(na + nb);
        if (na != nb || memcmp(pa, pb, (size_t)na) != 0)
            return 1;
        if (na == 0)
            return 1; /* shorter than its size said: it changed */
        off += (uint64_t)na;
    }
    return 0;
}

struct clone_args {
    int src;
};

static int make_clone(int dirfd, const char *name, void *ctx)
{
    const struct clone_args *a = ctx;
    return SYS(fclonefileat)(a->src, dirfd, name, CLONE_NOFOLLOW | CLONE_NOOWNERCOPY);
}

/* Give the clone t (fd) the metadata of the duplicate (fd dup, stat *st,
 * flags, crtime). @return 0 or -errno with *call set. */
static int copy_metadata(int t, int dup, const struct stat *st, uint32_t flags,
                         const struct timespec *crtime, const char **call)
{
    int r, acl_err = 0;
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (SYS(fchown)(t, st->st_uid, st->st_gid) < 0)
        return *call = "fchown", -errno;
    if ((r = cowcopy__xattr_strip(t)) < 0)
        return *call = "fremovexattr", r;
    if ((r = cowcopy__xattr_copy(dup, t, COWCOPY__XATTR_OTHER | COWCOPY__XATTR_ACL, &acl_err)) < 0)
        return *call = "fsetxattr", r;
    if (acl_err < 0)
        return *call = "fcopyfile", acl_err;
    if (SYS(fchmod)(t, st->st_mode & 07777) < 0)
        return *call = "fchmod", -errno;
    if (SYS(futimens)(t, times) < 0)
        return *call = "futimens", -errno;
    if ((r = cowcopy__crtime_set(t, crtime)) < 0)
        return *call = "setattrlist", r;
    if (SYS(fchflags)(t, flags) < 0) /* last: some flags forbid later changes */
        return *call = "fchflags", -errno;
    return 0;
}

/* Has the duplicate changed since *was? Its descriptor and its name. */
static bool changed(int fd, int dirfd, const char *name, const struct stat *was)
{
    struct stat now, named;
    if (SYS(fstat)(fd, &now) < 0 || SYS(fstatat)(dirfd, name, &named, AT_SYMLINK_NOFOLLOW) < 0)
        return true;
    return now.st_dev != was->st_dev || now.st_ino != was->st_ino ||
           now.st_size != was->st_size || now.st_mtim.tv_sec != was->st_mtim.tv_sec ||
           now.st_mtim.tv_nsec != was->st_mtim.tv_nsec || now.st_ctim.tv_sec != was->st_ctim.tv_sec ||
           now.st_ctim.tv_nsec != was->st_ctim.tv_nsec || named.st_dev != was->st_dev ||
           named.st_ino != was->st_ino;
}

/* Replace the duplicate d by a clone of src_fd. @return its new status. */
static int share_one(dd_worker *w, int src_fd, const char *src_path, dd_member *d, uint64_t size)
{
    dd_job *job = w->run;
    dd_scan *s = &job->scan;
    const dd_file *f = &s->files[d->file];
    int fd = dd_open_member(w, d);
    if (fd == -ESTALE)
        return COWCOPY_DEDUPE_DIFFERED;
    if (fd < 0)
        return COWCOPY_DEDUPE_FAILED;
    char *dst_path = strdup(w->path);
    int status = COWCOPY_DEDUPE_FAILED, r = 0, dirfd = -1;
    const char *call = "fclonefileat", *name;
    uint32_t flags;
    struct timespec crtime;
    cowcopy__temp t;
    t.kind = COWCOPY__TEMP_NONE;
    if (d->st.st_nlink > 1) { /* replacing it would break the link */
        status = COWCOPY_DEDUPE_SKIPPED;
        goto out;
    }
    if ((r = cowcopy__bsd_attrs_get(fd, &flags, &crtime)) < 0) {
        call = "getattrlist";
        goto fail;
    }
    if (flags & NEVER_REPLACE_FLAGS) {
        status = COWCOPY_DEDUPE_SKIPPED;
        goto out;
    }
    if ((dirfd = dd_open_parent(s, f, &w->path2, &w->cap2, &name)) < 0) {
        r = dirfd;
        call = "open";
        goto fail;
    }
    struct clone_args a = {src_fd};
    if ((r = cowcopy__temp_make(&t, dirfd, name, make_clone, &a)) < 0)
        goto fail;
    if ((t.fd = SYS(openat)(dirfd, t.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0)) < 0) {
        r = -errno;
        call = "openat";
        goto fail;
    }
    uint64_t read = 0;
    r = compare(t.fd, fd, size, &w->buf, &read);
    atomic_fetch_add(&job->bytes_read, read);
    if (r == 1) {
        atomic_fetch_add(&job->bytes_differed, size);
        status = COWCOPY_DEDUPE_DIFFERED;
        goto out;
    }
    if (r < 0) {
        call = "read";
        goto fail;
    }
    if ((r = copy_metadata(t.fd, fd, &d->st, flags, &crtime, &call)) < 0)
        goto fail;
    if (changed(fd, dirfd, name, &d->st)) { /* checked just before the rename */
        atomic_fetch_add(&job->bytes_differed, size);
        status = COWCOPY_DEDUPE_DIFFERED;
        goto out;
    }
    if ((r = cowcopy__temp_commit(&t, name, true, &call)) < 0)
        goto fail;
    status = COWCOPY_DEDUPE_SHARED;
    goto out;
fail:
    dd_report(s, COWCOPY_OP_DEDUPE, call, -r, src_path, dst_path ? dst_path : "?",
              s->fss[f->fs].type);
out:
    if (t.kind != COWCOPY__TEMP_NONE)
        cowcopy__temp_discard(&t);
    if (dirfd >= 0)
        SYS(close)(dirfd);
    SYS(close)(fd);
    free(dst_path);
    return status;
}

void dd_share(dd_worker *w, dd_member *src, dd_member **dests, size_t n)
{
    dd_job *job = w->run;
    uint64_t size = job->scan.files[src->file].size;
    if (job->dry_run) {
        dd_would_share(job, dests, n, size);
        return;
    }
    int src_fd = dd_open_member(w, src);
    char *src_path = src_fd >= 0 ? strdup(w->path) : NULL;
    for (size_t i = 0; i < n; i++) {
        dests[i]->status = src_fd < 0 ? COWCOPY_DEDUPE_FAILED
                                      : share_one(w, src_fd, src_path ? src_path : "?", dests[i],
                                                  size);
        if (dests[i]->status == COWCOPY_DEDUPE_SHARED) {
            atomic_fetch_add(&job->files_deduped, 1);
            atomic_fetch_add(&job->bytes_deduped, size);
            atomic_fetch_add(&job->freed_estimate, size);
        }
    }
    free(src_path);
    if (src_fd >= 0)
        SYS(close)(src_fd);
}
