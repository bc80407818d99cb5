/*
 * node.c - recreating entries that have no data to copy: symbolic links
 * (cp -P, cp -a) and FIFOs, sockets and device nodes (cp -a).
 *
 * A new entry is created at its name directly (creation is atomic). An
 * existing non-directory is replaced atomically: the entry is made under a
 * hidden name beside it and renamed over it. Metadata is set by name without
 * following symlinks (fchownat/utimensat with AT_SYMLINK_NOFOLLOW).
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct node_spec {
    const struct stat *st; /* the source's lstat */
    const char *target;    /* symlink target, or NULL for a special file */
};

/* temp_make callback: create the entry described by ctx at dirfd/name. */
static int make_node(int dirfd, const char *name, void *ctx)
{
    const struct node_spec *spec = ctx;
    if (spec->target)
        return SYS(symlinkat)(spec->target, dirfd, name);
    return SYS(mknodat)(dirfd, name, spec->st->st_mode & (S_IFMT | 0777), spec->st->st_rdev);
}

/* Apply owner, mode and times to dirfd/name by the options. @return 0 or -errno. */
static int node_metadata(int dirfd, const char *name, const struct node_spec *spec,
                         const cowcopy_options *o, cowcopy_result *res)
{
    const struct stat *st = spec->st;
    mode_t mode = st->st_mode & 07777;
    if (o->preserve & COWCOPY_PRESERVE_OWNERSHIP &&
        SYS(fchownat)(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
        if ((o->preserve_required & COWCOPY_PRESERVE_OWNERSHIP) ||
            (errno != EPERM && errno != EINVAL))
            return cowcopy__fail(&res->error, COWCOPY_OP_SET_OWNER, "fchownat", errno);
        mode &= ~(mode_t)(S_ISUID | S_ISGID);
    }
    if (!spec->target && (o->preserve & COWCOPY_PRESERVE_MODE) &&
        SYS(fchmodat)(dirfd, name, mode, 0) < 0 &&
        (o->preserve_required & COWCOPY_PRESERVE_MODE))
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_MODE, "fchmodat", errno);
    if (o->preserve & COWCOPY_PRESERVE_TIMESTAMPS) {
        struct timespec times[2] = {st->st_atim, st->st_mtim};
        if (SYS(utimensat)(dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0 &&
            (o->preserve_required & COWCOPY_PRESERVE_TIMESTAMPS))
            return cowcopy__fail(&res->error, COWCOPY_OP_SET_TIMES, "utimensat", errno);
    }
    return 0;
}

/* Create the node at dirfd/base, or replace what is there. */
static int place_node(const struct node_spec *spec, int op, int method, int dirfd,
                      const char *base, cowcopy__ctx *ctx, cowcopy_result *res)
{
    const cowcopy_options *o = ctx->opts;
    const char *call = spec->target ? "symlinkat" : "mknodat";
    struct stat old;
    int r;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (SYS(fstatat)(dirfd, base, &old, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                return cowcopy__fail(&res->error, COWCOPY_OP_STAT_DEST, "fstatat", errno);
            if (make_node(dirfd, base, (void *)spec) < 0) {
                if (errno == EEXIST)
                    continue; /* appeared meanwhile: look again */
                return cowcopy__fail(&res->error, op, call, errno);
            }
            if ((r = node_metadata(dirfd, base, spec, o, res)) < 0)
                return r;
            break;
        }
        if (S_ISDIR(old.st_mode))
            return cowcopy__fail(&res->error, COWCOPY_OP_OVERWRITE_DIR, NULL, EISDIR);
        if (old.st_dev == spec->st->st_dev && old.st_ino == spec->st->st_ino)
            return cowcopy__fail(&res->error, COWCOPY_OP_SAME_FILE, NULL, EINVAL);
        if (o->flags & COWCOPY_NO_CLOBBER) {
            res->method = COWCOPY_METHOD_SKIPPED;
            return 0;
        }
        cowcopy__temp t;
        if ((r = cowcopy__temp_make(&t, dirfd, base, make_node, (void *)spec)) < 0)
            return cowcopy__fail(&res->error, op, call, -r);
        if ((r = node_metadata(dirfd, t.name, spec, o, res)) < 0) {
            cowcopy__temp_discard(&t);
            return r;
        }
        if ((r = cowcopy__temp_commit(&t, base, true, &call)) < 0)
            return cowcopy__fail(&res->error, COWCOPY_OP_COMMIT, call, -r);
        break;
    }
    if ((o->flags & COWCOPY_FSYNC) && SYS(fsync)(dirfd) < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_SYNC, "fsync", errno);
    res->method = method;
    return 0;
}

int cowcopy__copy_symlink(int src_dirfd, const char *src_name, const struct stat *st,
                          int dst_dirfd, const char *dst_base, cowcopy__ctx *ctx,
                          cowcopy_result *res)
{
    /* st_size is the target's length, except for /proc's magic links (0). */
    size_t cap = st->st_size > 0 ? (size_t)st->st_size + 1 : PATH_MAX;
    char *target = NULL;
    ssize_t n;
    for (;;) {
        char *grown = realloc(target, cap);
        if (!grown) {
            free(target);
            return cowcopy__fail(&res->error, COWCOPY_OP_READ_LINK, "malloc", ENOMEM);
        }
        target = grown;
        n = SYS(readlinkat)(src_dirfd, src_name, target, cap);
        if (n < 0) {
            int err = errno;
            free(target);
            return cowcopy__fail(&res->error, COWCOPY_OP_READ_LINK, "readlinkat", err);
        }
        if ((size_t)n < cap)
            break;
        cap *= 2; /* the link changed since lstat; try again */
    }
    target[n] = '\0';
    struct node_spec spec = {.st = st, .target = target};
    int r = place_node(&spec, COWCOPY_OP_MAKE_LINK, COWCOPY_METHOD_SYMLINK, dst_dirfd, dst_base,
                       ctx, res);
    free(target);
    res->bytes = 0;
    return r;
}

int cowcopy__copy_special(const struct stat *st, int dst_dirfd, const char *dst_base,
                          cowcopy__ctx *ctx, cowcopy_result *res)
{
    struct node_spec spec = {.st = st, .target = NULL};
    return place_node(&spec, COWCOPY_OP_MAKE_NODE, COWCOPY_METHOD_SPECIAL, dst_dirfd, dst_base,
                      ctx, res);
}
