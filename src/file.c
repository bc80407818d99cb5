/*
 * file.c - copying one file: what the destination is, how it is built, and
 * the public cowcopy_file_copy()/cowcopy_file_copyat().
 *
 * Destination rules (see include/cowcopy.h):
 *  NEW      no entry yet: build an unnamed file, link it into place.
 *  REPLACE  a regular file with one link (or, with COWCOPY_FORCE, anything
 *           but a directory): build the new file beside it and rename it
 *           over the old one, giving it the old one's owner, group, mode
 *           and ACL unless they are preserved from the source.
 *  INPLACE  a file with other hard links, a symlink to a file, or a device:
 *           open it and write into it, as cp does, keeping the inode.
 * The same rules serve the tree copier (tree.c), which additionally never
 * writes through a symlink inside the destination tree.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cowcopy_options_init(cowcopy_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->reflink = COWCOPY_REFLINK_AUTO;
}

int cowcopy__options_check(const cowcopy_options *o)
{
    if (!o)
        return 0;
    if (o->reflink < COWCOPY_REFLINK_AUTO || o->reflink > COWCOPY_REFLINK_NEVER)
        return -EINVAL;
    if ((o->preserve & ~COWCOPY_PRESERVE_ALL) || (o->preserve_required & ~o->preserve) ||
        (o->flags & ~COWCOPY_FLAGS_ALL))
        return -EINVAL;
    return 0;
}

mode_t cowcopy__umask(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (f) {
        char line[256];
        unsigned m;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "Umask: %o", &m) == 1) {
                fclose(f);
                return (mode_t)m;
            }
        fclose(f);
    }
    mode_t m = umask(022); /* racy with other threads changing it; only without /proc */
    umask(m);
    return m;
}

enum dest_kind { DEST_NEW, DEST_REPLACE, DEST_INPLACE, DEST_SKIP };

/* Forget a failure that a later step recovers from; keep the paths. */
static void clear_error(cowcopy_error *e)
{
    e->code = 0;
    e->op = COWCOPY_OP_NONE;
    e->call = NULL;
    e->fs = NULL;
}

/* The attributes the new file should get from the source, by the options. */
static void plan_from_source(cowcopy__meta_plan *plan, const cowcopy_options *o, int in,
                             const struct stat *st)
{
    memset(plan, 0, sizeof *plan);
    plan->acl_from_fd = plan->xattr_from_fd = -1;
    if (o->preserve & COWCOPY_PRESERVE_OWNERSHIP) {
        plan->set_owner = true;
        plan->uid = st->st_uid;
        plan->gid = st->st_gid;
        plan->owner_required = o->preserve_required & COWCOPY_PRESERVE_OWNERSHIP;
    }
    if (o->preserve & COWCOPY_PRESERVE_MODE) {
        plan->set_mode = true;
        plan->mode = st->st_mode & 07777;
        plan->mode_required = o->preserve_required & COWCOPY_PRESERVE_MODE;
        plan->acl_from_fd = in;
    }
    if (o->preserve & COWCOPY_PRESERVE_XATTR) {
        plan->xattr_from_fd = in;
        plan->xattr_required = o->preserve_required & COWCOPY_PRESERVE_XATTR;
    }
    plan->xattr_skip_refused = o->flags & COWCOPY_XATTR_SKIP_REFUSED;
    if (o->preserve & COWCOPY_PRESERVE_TIMESTAMPS) {
        plan->set_times = true;
        plan->times[0] = st->st_atim;
        plan->times[1] = st->st_mtim;
        plan->times_required = o->preserve_required & COWCOPY_PRESERVE_TIMESTAMPS;
    }
#ifdef HAVE_GETATTRLIST
    /* What Mac users expect cp -p to keep too: BSD flags (with the mode, as
     * BSD cp -p does) and the creation time (with the times). */
    uint32_t flags;
    struct timespec crtime;
    if ((o->preserve & (COWCOPY_PRESERVE_MODE | COWCOPY_PRESERVE_TIMESTAMPS)) &&
        cowcopy__bsd_attrs_get(in, &flags, &crtime) == 0) {
        if (o->preserve & COWCOPY_PRESERVE_MODE) {
            plan->set_flags = flags != 0; /* a new file has none */
            plan->flags = flags;
        }
        if (o->preserve & COWCOPY_PRESERVE_TIMESTAMPS) {
            plan->set_crtime = true;
            plan->crtime = crtime;
        }
    }
#endif
}

/* What a replaced file keeps of the old one where the source's attributes
 * are not preserved: the attributes cp's in-place overwrite would leave. */
static void plan_from_old(cowcopy__meta_plan *plan, const cowcopy_options *o,
                          const struct stat *old, int dirfd, const char *base)
{
    if (!(o->preserve & COWCOPY_PRESERVE_OWNERSHIP) &&
        (old->st_uid != geteuid() || old->st_gid != getegid())) {
        plan->set_owner = true;
        plan->uid = old->st_uid;
        plan->gid = old->st_gid;
        plan->owner_required = true; /* on failure we write in place instead */
    }
    if (!(o->preserve & COWCOPY_PRESERVE_MODE)) {
        plan->set_mode = true;
        plan->mode = old->st_mode & 07777;
        if (geteuid() != 0) /* a non-root write clears these in place too */
            plan->mode &= ~(mode_t)(S_ISUID | S_ISGID);
        plan->mode_required = true;
        plan->acl_from_dirfd = dirfd; /* read when applied: the old file is still there */
        plan->acl_from_name = base;
    }
}

/* Finish a file whose data is in place: metadata, then fsync on request. */
static int finish_file(int fd, const cowcopy__meta_plan *plan, const cowcopy_options *o,
                       cowcopy_result *res)
{
    int r = cowcopy__meta_apply_rest(fd, plan, res);
    if (r < 0)
        return r;
    if ((o->flags & COWCOPY_FSYNC) && SYS(fsync)(fd) < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_SYNC, "fsync", errno);
    return 0;
}

static int sync_dir(int dirfd, const cowcopy_options *o, cowcopy_result *res)
{
    if ((o->flags & COWCOPY_FSYNC) && SYS(fsync)(dirfd) < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_SYNC, "fsync", errno);
    return 0;
}

/*
 * Build the copy as a temporary beside dirfd/base and put it in place. With
 * `inherit`, it takes the old file's owner, group, mode and ACL where the
 * source's are not preserved.
 * @return 0, a negative errno, or 1 when the old destination's owner cannot
 * be given to a replacement (the caller then writes in place).
 */
static int copy_via_temp(int in, const struct stat *st, int dirfd, const char *base,
                         enum dest_kind kind, bool inherit, const struct stat *old,
                         cowcopy__ctx *ctx, cowcopy_result *res)
{
    const cowcopy_options *o = ctx->opts;
    cowcopy__meta_plan plan;
    plan_from_source(&plan, o, in, st);
    if (inherit)
        plan_from_old(&plan, o, old, dirfd, base);
    /*
     * The old destination's owner goes on first: if it cannot be given, the
     * caller writes in place instead, and no data has been copied in vain.
     * Any other owner is set after the data (the unnamed or hidden file is
     * ours alone until committed, and chown need only precede the xattrs
     * and mode) and only if the new file does not have it already: a clone
     * takes an fstat of the new file anyway, and where that shows the
     * wanted owner (root copying root's files, a user copying their own)
     * the fchown, which costs a journal transaction on XFS, is skipped, as
     * cp does. Measured with bench/ cp-tree (20,000 files, XFS, root):
     * fchown was about 3% of the copy's CPU under perf.
     */
    bool owner_first = plan.set_owner && inherit && !(o->preserve & COWCOPY_PRESERVE_OWNERSHIP);
    cowcopy__temp t;
    struct stat out_st;
    memset(&out_st, 0, sizeof out_st);
    int r = 1;
#ifdef HAVE_CLONEFILE
    /* Darwin clones by making the new file (clonefile(2)), so it comes first. */
    if (o->reflink != COWCOPY_REFLINK_NEVER &&
        (r = cowcopy__clone_to_temp(in, st, dirfd, base, ctx, &plan, &t, &out_st, res)) < 0)
        return r;
    if (r == 0 && owner_first && cowcopy__meta_apply_owner(t.fd, &plan, res) < 0) {
        cowcopy__temp_discard(&t);
        clear_error(&res->error);
        return 1;
    }
#endif
    if (r == 1) { /* no clone yet: create the file, then fill it */
        /* A new file gets the source's permission bits less the umask, as with cp. */
        mode_t create_mode = inherit ? 0600 : (st->st_mode & 0777);
        /* Where creation already gives the mode wanted, save the fchmod. */
        if (plan.set_mode && kind == DEST_NEW && ctx->mode_predictable &&
            (create_mode & ~ctx->umask) == plan.mode)
            plan.set_mode = false;
        if ((r = cowcopy__temp_open(&t, dirfd, base, create_mode)) < 0) {
            if (kind == DEST_REPLACE && (r == -EACCES || r == -EPERM))
                return 1; /* a writable file in an unwritable directory: in place */
            return cowcopy__fail(&res->error, COWCOPY_OP_CREATE_DEST, "openat", -r);
        }
        if (owner_first && cowcopy__meta_apply_owner(t.fd, &plan, res) < 0) {
            cowcopy__temp_discard(&t);
            clear_error(&res->error);
            return 1;
        }
        r = cowcopy__data_copy(in, t.fd, st, o->reflink, COWCOPY__OUT_REGULAR, ctx->buf, res,
                               &out_st);
    }
    if (r == 0 && plan.set_owner && !owner_first &&
        !(out_st.st_mode != 0 && out_st.st_uid == plan.uid && out_st.st_gid == plan.gid))
        r = cowcopy__meta_apply_owner(t.fd, &plan, res);
    if (r == 0)
        r = finish_file(t.fd, &plan, o, res);
    if (r < 0) {
        cowcopy__temp_discard(&t);
        return r;
    }
    const char *call = NULL;
    r = cowcopy__temp_commit(&t, base, kind == DEST_REPLACE, &call);
    if (r == -EEXIST && kind == DEST_NEW && (o->flags & COWCOPY_NO_CLOBBER)) {
        res->method = COWCOPY_METHOD_SKIPPED; /* appeared meanwhile: leave it alone */
        return 0;
    }
    if (r < 0)
        return cowcopy__fail(&res->error, r == -EEXIST ? COWCOPY_OP_CREATE_DEST : COWCOPY_OP_COMMIT,
                             call, -r);
    return sync_dir(dirfd, o, res);
}

/* Write into the existing file dirfd/base (following a symlink unless
 * `nofollow`). @return 0, a negative errno, or 1 on EACCES with
 * COWCOPY_FORCE (the caller then replaces the name). */
static int copy_in_place(int in, const struct stat *st, int dirfd, const char *base,
                         bool nofollow, cowcopy__ctx *ctx, cowcopy_result *res)
{
    const cowcopy_options *o = ctx->opts;
    int out = SYS(openat)(dirfd, base,
                          O_WRONLY | O_CLOEXEC | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0), 0);
    if (out < 0) {
        if ((errno == EACCES || errno == EPERM) && (o->flags & COWCOPY_FORCE))
            return 1;
        return cowcopy__fail(&res->error, COWCOPY_OP_CREATE_DEST, "openat", errno);
    }
    struct stat out_st;
    int r = 0;
    if (SYS(fstat)(out, &out_st) < 0)
        r = cowcopy__fail(&res->error, COWCOPY_OP_STAT_DEST, "fstat", errno);
    unsigned out_flags =
        S_ISREG(out_st.st_mode) ? COWCOPY__OUT_REGULAR | COWCOPY__OUT_OLD_DATA : 0u;
    cowcopy__meta_plan plan;
    plan_from_source(&plan, o, in, st);
    if (r == 0)
        r = cowcopy__data_copy(in, out, st, o->reflink, out_flags, ctx->buf, res, NULL);
    if (r == 0 && S_ISREG(out_st.st_mode)) {
        r = cowcopy__meta_apply_owner(out, &plan, res);
        if (r == 0)
            r = finish_file(out, &plan, o, res);
    }
    if (SYS(close)(out) < 0 && errno != EINTR && r == 0)
        r = cowcopy__fail(&res->error, COWCOPY_OP_WRITE, "close", errno);
    return r;
}

/* Same inode? */
static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Decide what to do with dirfd/base for a copy of the file *src_st.
 * @return an enum dest_kind, or a negative errno (res->error set).
 */
static int classify_dest(int dirfd, const char *base, const struct stat *src_st,
                         const cowcopy__ctx *ctx, struct stat *old, bool *through_link,
                         cowcopy_result *res)
{
    const cowcopy_options *o = ctx->opts;
    *through_link = false;
    if (SYS(fstatat)(dirfd, base, old, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return DEST_NEW;
        return cowcopy__fail(&res->error, COWCOPY_OP_STAT_DEST, "fstatat", errno);
    }
    if (S_ISDIR(old->st_mode))
        return cowcopy__fail(&res->error, COWCOPY_OP_OVERWRITE_DIR, NULL, EISDIR);
    if (S_ISLNK(old->st_mode) && !ctx->in_tree) {
        struct stat target;
        if (SYS(fstatat)(dirfd, base, &target, 0) < 0) {
            if (errno != ENOENT)
                return cowcopy__fail(&res->error, COWCOPY_OP_STAT_DEST, "fstatat", errno);
            if (o->flags & COWCOPY_NO_CLOBBER)
                return DEST_SKIP;
            if (!(o->flags & COWCOPY_FORCE))
                return cowcopy__fail(&res->error, COWCOPY_OP_DANGLING_DEST, NULL, ENOENT);
            return DEST_REPLACE; /* cp -f removes a dangling symlink */
        }
        if (S_ISDIR(target.st_mode))
            return cowcopy__fail(&res->error, COWCOPY_OP_OVERWRITE_DIR, NULL, EISDIR);
        if (same_file(&target, src_st))
            return cowcopy__fail(&res->error, COWCOPY_OP_SAME_FILE, NULL, EINVAL);
        if (o->flags & COWCOPY_NO_CLOBBER)
            return DEST_SKIP;
        *old = target;
        *through_link = true;
        return DEST_INPLACE;
    }
    if (same_file(old, src_st))
        return cowcopy__fail(&res->error, COWCOPY_OP_SAME_FILE, NULL, EINVAL);
    if (o->flags & COWCOPY_NO_CLOBBER)
        return DEST_SKIP;
    if (S_ISREG(old->st_mode)) {
        if (old->st_nlink > 1)
            return DEST_INPLACE;
        if (!(o->flags & COWCOPY_FORCE) &&
            SYS(faccessat)(dirfd, base, W_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) < 0 &&
            errno == EACCES)
            return cowcopy__fail(&res->error, COWCOPY_OP_CREATE_DEST, "open", EACCES);
        return DEST_REPLACE;
    }
    if (ctx->in_tree || S_ISLNK(old->st_mode) || S_ISSOCK(old->st_mode))
        return DEST_REPLACE; /* never write through a link met inside a tree */
    return DEST_INPLACE;     /* a device or FIFO: `cp a /dev/null` writes into it */
}

int cowcopy__copy_open_file(int in, const struct stat *st, int dst_dirfd, const char *dst_base,
                            cowcopy__ctx *ctx, cowcopy_result *res)
{
    struct stat old;
    bool through_link = false;
    int r = ctx->dst_dir_fresh ? DEST_NEW
                               : classify_dest(dst_dirfd, dst_base, st, ctx, &old, &through_link, res);
    if (r < 0)
        return r;
    if (r == DEST_SKIP) {
        res->method = COWCOPY_METHOD_SKIPPED;
        return 0;
    }
    enum dest_kind kind = (enum dest_kind)r;
    if (kind == DEST_INPLACE) {
        r = copy_in_place(in, st, dst_dirfd, dst_base, !through_link, ctx, res);
        if (r != 1)
            return r;
        /* Not writable, and COWCOPY_FORCE: replace the name instead. */
        clear_error(&res->error);
        kind = DEST_REPLACE;
        if (SYS(fstatat)(dst_dirfd, dst_base, &old, AT_SYMLINK_NOFOLLOW) < 0)
            return cowcopy__fail(&res->error, COWCOPY_OP_STAT_DEST, "fstatat", errno);
    }
    /* Only a regular file hands its attributes on: a replaced symlink or
     * FIFO must not make the new file mode 0777. */
    bool inherit = kind == DEST_REPLACE && S_ISREG(old.st_mode);
    r = copy_via_temp(in, st, dst_dirfd, dst_base, kind, inherit, &old, ctx, res);
    if (r == 1) /* cannot give a replacement the old owner: keep the inode */
        r = copy_in_place(in, st, dst_dirfd, dst_base, true, ctx, res);
    if (r == 1) /* not writable either, and COWCOPY_FORCE: a file of our own, as cp -f */
        r = copy_via_temp(in, st, dst_dirfd, dst_base, kind, false, &old, ctx, res);
    return r;
}

int cowcopy__copy_nondir(int src_dirfd, const char *src_name, const struct stat *src_lst,
                         int dst_dirfd, const char *dst_base, cowcopy__ctx *ctx,
                         cowcopy_result *res)
{
    const cowcopy_options *o = ctx->opts;
    bool follow = !(o->flags & COWCOPY_NO_DEREFERENCE);
    struct stat lst;
    if (!src_lst) {
        if (SYS(fstatat)(src_dirfd, src_name, &lst, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
            return cowcopy__fail(&res->error, COWCOPY_OP_STAT_SOURCE, "stat", errno);
        src_lst = &lst;
    }
    if (S_ISDIR(src_lst->st_mode))
        return cowcopy__fail(&res->error, COWCOPY_OP_OMIT_DIR, NULL, EISDIR);
    if (S_ISLNK(src_lst->st_mode))
        return cowcopy__copy_symlink(src_dirfd, src_name, src_lst, dst_dirfd, dst_base, ctx, res);
    if (ctx->recreate_specials && !S_ISREG(src_lst->st_mode))
        return cowcopy__copy_special(src_lst, dst_dirfd, dst_base, ctx, res);

    int in = SYS(openat)(src_dirfd, src_name,
                         O_RDONLY | O_CLOEXEC | O_NOCTTY | (follow ? 0 : O_NOFOLLOW), 0);
    if (in < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_OPEN_SOURCE, "open", errno);
    struct stat st;
    int r;
    if (SYS(fstat)(in, &st) < 0)
        r = cowcopy__fail(&res->error, COWCOPY_OP_STAT_SOURCE, "fstat", errno);
    else if (S_ISDIR(st.st_mode)) /* became a directory since the lstat */
        r = cowcopy__fail(&res->error, COWCOPY_OP_OMIT_DIR, NULL, EISDIR);
    else
        r = cowcopy__copy_open_file(in, &st, dst_dirfd, dst_base, ctx, res);
    SYS(close)(in);
    if (r < 0)
        res->method = COWCOPY_METHOD_NONE;
    return r;
}

/* Split path into its directory part (copied into dir, "." if none) and a
 * pointer to its last component. @return 0, or -ENAMETOOLONG. */
static int split_path(const char *path, char *dir, size_t dir_size, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dir_size, ".");
        *base = path;
        return 0;
    }
    size_t len = (size_t)(slash - path);
    if (len == 0)
        len = 1; /* "/name": the root directory */
    if (len >= dir_size)
        return -ENAMETOOLONG;
    memcpy(dir, path, len);
    dir[len] = '\0';
    *base = slash + 1;
    return 0;
}

int cowcopy_file_copyat(int src_dirfd, const char *src, int dst_dirfd, const char *dst,
                        const cowcopy_options *opts, cowcopy_result *res)
{
    cowcopy_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    res->error.src = src;
    res->error.dst = dst;
    cowcopy__fault_init_from_env();
    cowcopy_options defaults;
    if (!opts) {
        cowcopy_options_init(&defaults);
        opts = &defaults;
    }
    int r = cowcopy__options_check(opts);
    if (r < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_NONE, NULL, -r);
    if (!src || !dst || !*src || !*dst)
        return cowcopy__fail(&res->error, !src || !*src ? COWCOPY_OP_STAT_SOURCE
                                                        : COWCOPY_OP_CREATE_DEST,
                             NULL, ENOENT);

    char *dir = malloc(PATH_MAX);
    if (!dir)
        return cowcopy__fail(&res->error, COWCOPY_OP_NONE, "malloc", ENOMEM);
    const char *base;
    if ((r = split_path(dst, dir, PATH_MAX, &base)) < 0) {
        free(dir);
        return cowcopy__fail(&res->error, COWCOPY_OP_CREATE_DEST, NULL, -r);
    }
    if (*base == '\0') { /* "dst/": a directory, or an error as in cp */
        struct stat st;
        free(dir);
        /* The source's own problems are reported first, as cp does:
         * `cp missing x/` cannot stat 'missing'; `cp dir x/` omits 'dir'. */
        int follow = !(opts->flags & COWCOPY_NO_DEREFERENCE);
        if (SYS(fstatat)(src_dirfd, src, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
            return cowcopy__fail(&res->error, COWCOPY_OP_STAT_SOURCE, "stat", errno);
        if (S_ISDIR(st.st_mode))
            return cowcopy__fail(&res->error, COWCOPY_OP_OMIT_DIR, NULL, EISDIR);
        if (SYS(fstatat)(dst_dirfd, dst, &st, 0) == 0 && S_ISDIR(st.st_mode))
            return cowcopy__fail(&res->error, COWCOPY_OP_OVERWRITE_DIR, NULL, EISDIR);
        return cowcopy__fail(&res->error, COWCOPY_OP_CREATE_DEST, NULL, ENOTDIR);
    }
    int dirfd = SYS(openat)(dst_dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    free(dir);
    if (dirfd < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_CREATE_DEST, "open", errno);

    cowcopy__buf buf = {0};
    cowcopy__ctx ctx = {.opts = opts, .buf = &buf, .in_tree = false};
    r = cowcopy__copy_nondir(src_dirfd, src, NULL, dirfd, base, &ctx, res);
    cowcopy__buf_free(&buf);
    SYS(close)(dirfd);
    return r;
}

int cowcopy_file_copy(const char *src, const char *dst, const cowcopy_options *opts,
                      cowcopy_result *res)
{
    return cowcopy_file_copyat(AT_FDCWD, src, AT_FDCWD, dst, opts, res);
}
