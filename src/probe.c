/*
 * probe.c - cowcopy_fs_probe(): what a directory's filesystem can do,
 * found by trying, never from a list of filesystem names.
 *
 * In the directory, a small file is written (two blocks of data) and
 *  - dedupe: a second file with the same bytes is written and
 *    FIDEDUPERANGE asked to share the first file's blocks with it;
 *  - clone: a third file is made a FICLONE of the first;
 *  - offload: copy_file_range copies the first into a fourth.
 * The files are unnamed O_TMPFILE files wherever the filesystem has them, so
 * nothing is left behind even if the process is killed; elsewhere they get
 * hidden names that are removed afterwards, on failure, and by
 * cowcopy_cleanup_temporaries() from a signal handler.
 *
 * A refusal that means "not here" (EOPNOTSUPP, ENOTTY, ENOSYS, EINVAL,
 * EXDEV) is a NO; any other failure (ENOSPC, EIO, EPERM, ...) says nothing
 * about the filesystem and is UNKNOWN, with the errno.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static const char *const answer_names[] = {"unknown", "yes", "no"};

const char *cowcopy_probe_answer_name(int answer)
{
    if (answer < COWCOPY_PROBE_UNKNOWN || answer > COWCOPY_PROBE_NO)
        return "unknown";
    return answer_names[answer];
}

/* Does err from a clone, dedupe or copy_file_range mean "this filesystem
 * cannot do it"? */
static bool refusal(int err)
{
    return err == EOPNOTSUPP || err == ENOTTY || err == ENOSYS || err == EINVAL || err == EXDEV;
}

/* Record an answer; a YES carries no call or errno. */
static void set_answer(cowcopy_probe_check *c, int answer, const char *call, int err)
{
    c->answer = answer;
    c->call = answer == COWCOPY_PROBE_YES ? NULL : call;
    c->err = answer == COWCOPY_PROBE_YES ? 0 : err;
}

/* A failed call: NO if it is a refusal, else UNKNOWN. */
static void set_failed(cowcopy_probe_check *c, const char *call, int err)
{
    set_answer(c, refusal(err) ? COWCOPY_PROBE_NO : COWCOPY_PROBE_UNKNOWN, call, err);
}

/* Write len bytes of buf at offset 0 of fd. @return 0 or -errno. */
static int write_all(int fd, const unsigned char *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = SYS(pwrite)(fd, buf + done, len - done, (off_t)done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return 0;
}

/* A temporary file in dirfd holding data (if given). @return 0 or -errno
 * with *call set; on failure nothing is left. */
static int make_file(cowcopy__temp *t, int dirfd, const unsigned char *data, size_t len,
                     const char **call)
{
    int r = cowcopy__temp_open(t, dirfd, "probe", 0600);
    if (r < 0) {
        *call = "openat";
        return r;
    }
    if (data && (r = write_all(t->fd, data, len)) < 0) {
        *call = "write";
        cowcopy__temp_discard(t);
        return r;
    }
    return 0;
}

#ifdef COWCOPY_DARWIN
struct clone_probe {
    int src;
};

static int make_probe_clone(int dirfd, const char *name, void *ctx)
{
    const struct clone_probe *c = ctx;
    return SYS(fclonefileat)(c->src, dirfd, name, CLONE_NOFOLLOW);
}

/* clone: the volume's VOL_CAP_INT_CLONE, then a real fclonefileat of src to
 * a hidden name (removed again), whose size must match. The trial decides. */
static void try_clone(cowcopy_probe *p, int dirfd, int src, size_t len)
{
    int says = cowcopy__volume_can_clone(dirfd);
    cowcopy__temp t;
    struct clone_probe c = {src};
    int r = cowcopy__temp_make(&t, dirfd, "probe", make_probe_clone, &c);
    if (r < 0) {
        if (says == 0) /* the volume says it cannot, and it cannot */
            set_answer(&p->clone, COWCOPY_PROBE_NO, "getattrlist", ENOTSUP);
        else
            set_failed(&p->clone, "fclonefileat", -r);
        return;
    }
    struct stat st;
    if (SYS(fstatat)(dirfd, t.name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        set_answer(&p->clone, COWCOPY_PROBE_UNKNOWN, "fstatat", errno);
    else if ((uint64_t)st.st_size != len)
        set_answer(&p->clone, COWCOPY_PROBE_UNKNOWN, "fclonefileat", EIO);
    else
        set_answer(&p->clone, COWCOPY_PROBE_YES, NULL, 0);
    cowcopy__temp_discard(&t);
}

/* dedupe: APFS has no kernel compare; cowcopy deduplicates by cloning and
 * comparing (dedupe_darwin.c), so it can wherever it can clone. */
static void try_dedupe(cowcopy_probe *p, int dirfd, int src, const unsigned char *data, size_t len)
{
    (void)dirfd, (void)src, (void)data, (void)len;
    p->dedupe = p->clone;
}

/* offload: Darwin has no copy_file_range. */
static void try_offload(cowcopy_probe *p, int dirfd, int src, size_t len)
{
    (void)dirfd, (void)src, (void)len;
    set_answer(&p->offload, COWCOPY_PROBE_NO, "copy_file_range", ENOSYS);
}

#else
/* dedupe: FIDEDUPERANGE of src's data onto a second file with the same
 * bytes, written separately (so they share nothing before). */
static void try_dedupe(cowcopy_probe *p, int dirfd, int src, const unsigned char *data, size_t len)
{
    cowcopy__temp t;
    const char *call = NULL;
    int r = make_file(&t, dirfd, data, len, &call);
    if (r < 0) {
        set_answer(&p->dedupe, COWCOPY_PROBE_UNKNOWN, call, -r);
        return;
    }
#ifdef HAVE_FIDEDUPERANGE
    struct file_dedupe_range *range = calloc(1, sizeof *range + sizeof range->info[0]);
    if (!range) {
        set_answer(&p->dedupe, COWCOPY_PROBE_UNKNOWN, "malloc", ENOMEM);
    } else {
        range->src_offset = 0;
        range->src_length = len;
        range->dest_count = 1;
        range->info[0].dest_fd = t.fd;
        range->info[0].dest_offset = 0;
        if (SYS(fideduperange)(src, range) < 0)
            set_failed(&p->dedupe, "FIDEDUPERANGE", errno);
        else if (range->info[0].status < 0)
            set_failed(&p->dedupe, "FIDEDUPERANGE", -range->info[0].status);
        else if (range->info[0].status == FILE_DEDUPE_RANGE_SAME && range->info[0].bytes_deduped > 0)
            set_answer(&p->dedupe, COWCOPY_PROBE_YES, NULL, 0);
        else /* "differs": someone wrote to our file meanwhile */
            set_answer(&p->dedupe, COWCOPY_PROBE_UNKNOWN, "FIDEDUPERANGE", EAGAIN);
        free(range);
    }
#else
    (void)src;
    set_answer(&p->dedupe, COWCOPY_PROBE_NO, "FIDEDUPERANGE", ENOSYS);
#endif
    cowcopy__temp_discard(&t);
}

/* clone: FICLONE of src into a new empty file, whose size must then match. */
static void try_clone(cowcopy_probe *p, int dirfd, int src, size_t len)
{
    cowcopy__temp t;
    const char *call = NULL;
    int r = make_file(&t, dirfd, NULL, 0, &call);
    if (r < 0) {
        set_answer(&p->clone, COWCOPY_PROBE_UNKNOWN, call, -r);
        return;
    }
    struct stat st;
    if (SYS(ficlone)(t.fd, src) < 0)
        set_failed(&p->clone, "FICLONE", errno);
    else if (SYS(fstat)(t.fd, &st) < 0)
        set_answer(&p->clone, COWCOPY_PROBE_UNKNOWN, "fstat", errno);
    else if ((uint64_t)st.st_size != len) /* a clone that lies about its result */
        set_answer(&p->clone, COWCOPY_PROBE_UNKNOWN, "FICLONE", EIO);
    else
        set_answer(&p->clone, COWCOPY_PROBE_YES, NULL, 0);
    cowcopy__temp_discard(&t);
}

/* offload: copy_file_range of src into a new empty file copies something. */
static void try_offload(cowcopy_probe *p, int dirfd, int src, size_t len)
{
    cowcopy__temp t;
    const char *call = NULL;
    int r = make_file(&t, dirfd, NULL, 0, &call);
    if (r < 0) {
        set_answer(&p->offload, COWCOPY_PROBE_UNKNOWN, call, -r);
        return;
    }
    off_t in = 0, out = 0;
    ssize_t n;
    do
        n = SYS(copy_file_range)(src, &in, t.fd, &out, len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        set_failed(&p->offload, "copy_file_range", errno);
    else if (n == 0) /* copies nothing although there is data: not really supported */
        set_answer(&p->offload, COWCOPY_PROBE_NO, "copy_file_range", 0);
    else
        set_answer(&p->offload, COWCOPY_PROBE_YES, NULL, 0);
    cowcopy__temp_discard(&t);
}
#endif /* COWCOPY_DARWIN */

int cowcopy_fs_probe(const char *dir, cowcopy_probe *p)
{
    cowcopy__fault_init_from_env();
    cowcopy_probe local;
    if (!p)
        p = &local;
    memset(p, 0, sizeof *p);
    p->error.src = dir;
    if (!dir || !*dir)
        return cowcopy__fail(&p->error, COWCOPY_OP_OPEN_DIR, NULL, ENOENT);
    int dirfd = SYS(openat)(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY, 0);
    if (dirfd < 0)
        return cowcopy__fail(&p->error, COWCOPY_OP_OPEN_DIR, "open", errno);
    struct statfs sfs;
    if (SYS(fstatfs)(dirfd, &sfs) < 0) {
        int err = errno;
        SYS(close)(dirfd);
        return cowcopy__fail(&p->error, COWCOPY_OP_STAT_SOURCE, "statfs", err);
    }
    const char *name = cowcopy__fs_name((unsigned long)sfs.f_type);
    snprintf(p->fs_name, sizeof p->fs_name, "%s",
             strcmp(name, "this filesystem") == 0 ? "unknown" : name);
    p->fs_magic = (uint64_t)(unsigned long)sfs.f_type;
    p->block_size = sfs.f_bsize > 0 ? (uint64_t)sfs.f_bsize : 0;

    /* Two blocks of data (at least 4 KiB each, at most 64 KiB): not tiny, so
     * btrfs keeps it in a data extent rather than inline in metadata. */
    size_t block = p->block_size < 4096 ? 4096 : p->block_size > 65536 ? 65536 : (size_t)p->block_size;
    size_t len = 2 * block;
    unsigned char *data = malloc(len);
    if (!data) {
        SYS(close)(dirfd);
        return cowcopy__fail(&p->error, COWCOPY_OP_NONE, "malloc", ENOMEM);
    }
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i * 131 + i / 4096 * 7 + 1);

    cowcopy__temp src;
    const char *call = NULL;
    int r = make_file(&src, dirfd, data, len, &call);
    if (r < 0) {
        /* Cannot make or fill a file here: nothing can be tried. */
        p->writable = strcmp(call, "openat") != 0;
        set_answer(&p->clone, COWCOPY_PROBE_UNKNOWN, call, -r);
        p->dedupe = p->offload = p->clone;
    } else {
        p->writable = 1;
        try_clone(p, dirfd, src.fd, len); /* first: on Darwin dedupe's answer is clone's */
        try_dedupe(p, dirfd, src.fd, data, len);
        try_offload(p, dirfd, src.fd, len);
        cowcopy__temp_discard(&src);
    }
    free(data);
    SYS(close)(dirfd);
    return 0;
}
