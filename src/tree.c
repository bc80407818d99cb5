/*
 * tree.c - copying directory trees: cowcopy_tree_copy() (cp -r / cp -a).
 *
 * The walker (walk.c) hands whole directories to worker threads. For each
 * entry a worker copies files by the single-file rules (file.c) into the
 * matching destination directory, recreates symlinks and special files
 * (node.c), keeps hard-link groups together (links.c), and creates
 * subdirectories when it starts reading them. A directory's owner, xattrs,
 * mode and times are set when its whole subtree is done, so read-only
 * directories copy and directory mtimes survive their contents being written.
 *
 * Inside a destination tree that already exists, a symlink is never written
 * through: it is replaced by the copied entry. (cp 9.1 writes through it,
 * which lets whoever planted the link redirect the copy.)
 */
#include "links.h"
#include "walk.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What the copier keeps per directory. */
struct tree_dir {
    struct stat st;        /* the source directory's stat */
    int dst_fd;            /* destination directory, open from dir_begin to dir_done */
    bool fresh;            /* created by this copy (known empty) */
    bool mode_predictable; /* no default ACL: new files get mode & ~umask */
    bool skip_contents;    /* -x: a mount point of another filesystem */
    bool failed;           /* no destination directory: nothing inside is copied */
};

struct tree_counters {
    atomic_uint_fast64_t files, cloned, offloaded, copied, bytes, hole_bytes;
    atomic_uint_fast64_t directories, symlinks, hardlinks, specials, skipped, errors;
    atomic_uint_fast64_t total_files, total_bytes;
    atomic_int totals_known;
};

struct tree_job {
    const cowcopy_tree_options *opts;
    cowcopy_options file; /* per-entry options */
    const char *src_root, *dst_root;
    size_t src_root_len;
    dev_t root_dev;
    int dst_root_fd;      /* the destination root (for hard links), valid during the walk */
    mode_t umask;
    int threads;
    cowcopy__links *links;
    struct tree_counters n;
    pthread_mutex_t callback_lock; /* callbacks run one at a time */
    atomic_int first_error;
    atomic_llong last_progress_ns;
    long long start_ns;
};

struct tree_worker {
    struct tree_job *job;
    cowcopy__buf buf;
    char *src_path, *dst_path, *rel_path; /* scratch, for messages and links */
    size_t src_cap, dst_cap, rel_cap;
};

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Path of dir relative to the source root ("" for the root itself). */
static const char *relative_dir(const struct tree_job *job, const cowcopy__wdir *dir)
{
    const char *rel = dir->path + job->src_root_len;
    while (*rel == '/')
        rel++;
    return rel;
}

/* Fill w->src_path and w->dst_path with the full paths of dir/name (name
 * NULL: of dir itself). @return false on ENOMEM. */
static bool entry_paths(struct tree_worker *w, const cowcopy__wdir *dir, const char *name)
{
    const struct tree_job *job = w->job;
    const char *rel = relative_dir(job, dir);
    if (!cowcopy__path_join(&w->dst_path, &w->dst_cap, job->dst_root, rel))
        return false;
    if (!*rel) /* the root: no trailing slash added */
        snprintf(w->dst_path, w->dst_cap, "%s", job->dst_root);
    if (!name) {
        size_t len = strlen(dir->path) + 1;
        if (len > w->src_cap) {
            char *p = realloc(w->src_path, len);
            if (!p)
                return false;
            w->src_path = p;
            w->src_cap = len;
        }
        memcpy(w->src_path, dir->path, len);
        return true;
    }
    char *dst = strdup(w->dst_path);
    if (!dst)
        return false;
    bool ok = cowcopy__path_join(&w->src_path, &w->src_cap, dir->path, name) &&
              cowcopy__path_join(&w->dst_path, &w->dst_cap, dst, name);
    free(dst);
    return ok;
}

static void maybe_progress(struct tree_job *job, cowcopy__walker *wk);

/* Report a failed entry (paths built here) and count it. */
static void report_error(struct tree_worker *w, cowcopy__walker *wk, const cowcopy__wdir *dir,
                         const char *name, cowcopy_error *e)
{
    struct tree_job *job = w->job;
    atomic_fetch_add(&job->n.errors, 1);
    int expected = 0;
    atomic_compare_exchange_strong(&job->first_error, &expected, e->code);
    if (!job->opts->on_error)
        return;
    bool have_paths = entry_paths(w, dir, name);
    e->src = have_paths ? w->src_path : dir->path;
    e->dst = have_paths ? w->dst_path : job->dst_root;
    pthread_mutex_lock(&job->callback_lock);
    int stop = job->opts->on_error(job->opts->error_data, e);
    pthread_mutex_unlock(&job->callback_lock);
    if (stop)
        cowcopy__walk_stop(wk);
}

static void report_fail(struct tree_worker *w, cowcopy__walker *wk, const cowcopy__wdir *dir,
                        const char *name, int op, const char *call, int err)
{
    cowcopy_error e = {0};
    cowcopy__fail(&e, op, call, err);
    report_error(w, wk, dir, name, &e);
}

/* Count a finished entry and tell on_entry about it. */
static void account(struct tree_worker *w, cowcopy__walker *wk, const cowcopy__wdir *dir,
                    const char *name, const cowcopy_result *res)
{
    struct tree_job *job = w->job;
    struct tree_counters *n = &job->n;
    switch (res->method) {
    case COWCOPY_METHOD_CLONED: atomic_fetch_add(&n->cloned, 1); break;
    case COWCOPY_METHOD_OFFLOADED: atomic_fetch_add(&n->offloaded, 1); break;
    case COWCOPY_METHOD_COPIED: atomic_fetch_add(&n->copied, 1); break;
    case COWCOPY_METHOD_HARDLINK: atomic_fetch_add(&n->hardlinks, 1); break;
    case COWCOPY_METHOD_SYMLINK: atomic_fetch_add(&n->symlinks, 1); break;
    case COWCOPY_METHOD_SPECIAL: atomic_fetch_add(&n->specials, 1); break;
    case COWCOPY_METHOD_SKIPPED: atomic_fetch_add(&n->skipped, 1); break;
    case COWCOPY_METHOD_DIRECTORY: atomic_fetch_add(&n->directories, 1); break;
    default: break;
    }
    if (res->method >= COWCOPY_METHOD_CLONED && res->method <= COWCOPY_METHOD_COPIED) {
        atomic_fetch_add(&n->files, 1);
        atomic_fetch_add(&n->bytes, res->bytes);
        atomic_fetch_add(&n->hole_bytes, res->hole_bytes);
    } else if (res->method == COWCOPY_METHOD_HARDLINK) {
        atomic_fetch_add(&n->files, 1);
    }
    if (job->opts->on_entry && res->method != COWCOPY_METHOD_SKIPPED &&
        entry_paths(w, dir, name)) {
        pthread_mutex_lock(&job->callback_lock);
        job->opts->on_entry(job->opts->entry_data, w->src_path, w->dst_path, res);
        pthread_mutex_unlock(&job->callback_lock);
    }
    maybe_progress(job, wk);
}

static void snapshot(struct tree_job *job, cowcopy_tree_stats *s)
{
    struct tree_counters *n = &job->n;
    memset(s, 0, sizeof *s);
    s->files = atomic_load(&n->files);
    s->cloned = atomic_load(&n->cloned);
    s->offloaded = atomic_load(&n->offloaded);
    s->copied = atomic_load(&n->copied);
    s->bytes = atomic_load(&n->bytes);
    s->hole_bytes = atomic_load(&n->hole_bytes);
    s->directories = atomic_load(&n->directories);
    s->symlinks = atomic_load(&n->symlinks);
    s->hardlinks = atomic_load(&n->hardlinks);
    s->specials = atomic_load(&n->specials);
    s->skipped = atomic_load(&n->skipped);
    s->errors = atomic_load(&n->errors);
    s->total_files = atomic_load(&n->total_files);
    s->total_bytes = atomic_load(&n->total_bytes);
    s->totals_known = atomic_load(&n->totals_known);
    s->threads = job->threads;
    s->elapsed = (double)(now_ns() - job->start_ns) / 1e9;
}

/* Call the progress callback if its interval has passed (one thread wins). */
static void maybe_progress(struct tree_job *job, cowcopy__walker *wk)
{
    if (!job->opts->progress)
        return;
    long long interval = (long long)(job->opts->progress_ms ? job->opts->progress_ms : 100) * 1000000;
    long long last = atomic_load(&job->last_progress_ns), now = now_ns();
    if (now - last < interval || !atomic_compare_exchange_strong(&job->last_progress_ns, &last, now))
        return;
    cowcopy_tree_stats s;
    snapshot(job, &s);
    pthread_mutex_lock(&job->callback_lock);
    int stop = job->opts->progress(job->opts->progress_data, &s);
    pthread_mutex_unlock(&job->callback_lock);
    if (stop && wk)
        cowcopy__walk_stop(wk);
}

/* ---------------------------------------------------------- entries */

static cowcopy__ctx entry_ctx(struct tree_worker *w, const struct tree_dir *td)
{
    return (cowcopy__ctx){.opts = &w->job->file,
                          .buf = &w->buf,
                          .in_tree = true,
                          .recreate_specials = true,
                          .dst_dir_fresh = td->fresh,
                          .mode_predictable = td->mode_predictable,
                          .umask = w->job->umask};
}

struct link_args {
    int root_fd;         /* the destination root */
    const char *relpath; /* the first copy, relative to it */
};

/* cowcopy__temp_make callback: hard-link the first copy as dirfd/name. */
static int make_link(int dirfd, const char *name, void *ctx)
{
    const struct link_args *a = ctx;
    return SYS(linkat)(a->root_fd, a->relpath, dirfd, name, 0);
}

/* Hard-link dir/name to the earlier copy at relpath (relative to the
 * destination root), replacing what is there atomically if anything. */
static int link_to_first(struct tree_worker *w, struct tree_dir *td, const char *name,
                         const char *relpath, cowcopy_result *res)
{
    struct link_args args = {w->job->dst_root_fd, relpath};
    if (make_link(td->dst_fd, name, &args) == 0) {
        res->method = COWCOPY_METHOD_HARDLINK;
        return 0;
    }
    if (errno != EEXIST || td->fresh)
        return cowcopy__fail(&res->error, COWCOPY_OP_HARD_LINK, "linkat", errno);
    if (w->job->file.flags & COWCOPY_NO_CLOBBER) {
        res->method = COWCOPY_METHOD_SKIPPED;
        return 0;
    }
    cowcopy__temp t;
    int r = cowcopy__temp_make(&t, td->dst_fd, name, make_link, &args);
    const char *call = "linkat";
    if (r == 0)
        r = cowcopy__temp_commit(&t, name, true, &call);
    if (r < 0)
        return cowcopy__fail(&res->error, COWCOPY_OP_HARD_LINK, call, -r);
    res->method = COWCOPY_METHOD_HARDLINK;
    return 0;
}

/* Copy the regular file dir/name. */
static void tree_regular(struct tree_worker *w, cowcopy__walker *wk, cowcopy__wdir *dir,
                         struct tree_dir *td, const char *name)
{
    struct tree_job *job = w->job;
    bool deref = job->opts->flags & COWCOPY_TREE_DEREFERENCE;
    cowcopy_result res;
    memset(&res, 0, sizeof res);
    int in = SYS(openat)(dir->fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | (deref ? 0 : O_NOFOLLOW), 0);
    if (in < 0) {
        report_fail(w, wk, dir, name, COWCOPY_OP_OPEN_SOURCE, "open", errno);
        return;
    }
    struct stat st;
    if (SYS(fstat)(in, &st) < 0) {
        report_fail(w, wk, dir, name, COWCOPY_OP_STAT_SOURCE, "fstat", errno);
        SYS(close)(in);
        return;
    }
    int claimed = -1;
    int r = 0;
    if ((job->file.preserve & COWCOPY_PRESERVE_LINKS) && st.st_nlink > 1) {
        const char *rel = relative_dir(job, dir);
        char *first = NULL;
        if (!cowcopy__path_join(&w->rel_path, &w->rel_cap, rel, name))
            r = cowcopy__fail(&res.error, COWCOPY_OP_HARD_LINK, "malloc", ENOMEM);
        else if (!*rel)
            snprintf(w->rel_path, w->rel_cap, "%s", name);
        if (r == 0 && (claimed = cowcopy__links_claim(job->links, st.st_dev, st.st_ino,
                                                      w->rel_path, &first)) == 0) {
            r = link_to_first(w, td, name, first, &res);
            free(first);
        } else if (claimed < 0) {
            r = cowcopy__fail(&res.error, COWCOPY_OP_HARD_LINK, "malloc", -claimed);
        }
    }
    if (claimed != 0 && r == 0) {
        cowcopy__ctx ctx = entry_ctx(w, td);
        r = cowcopy__copy_open_file(in, &st, td->dst_fd, name, &ctx, &res);
    }
    if (claimed == 1)
        cowcopy__links_finish(job->links, st.st_dev, st.st_ino,
                              r == 0 && res.method != COWCOPY_METHOD_SKIPPED);
    SYS(close)(in);
    if (r < 0)
        report_error(w, wk, dir, name, &res.error);
    else
        account(w, wk, dir, name, &res);
}

static int tree_entry(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, const char *name,
                      unsigned char type, void **child_user, struct stat *child_st)
{
    struct tree_worker *w = worker;
    struct tree_job *job = w->job;
    struct tree_dir *td = dir->user;
    bool deref = job->opts->flags & COWCOPY_TREE_DEREFERENCE;
    if (type == DT_REG) {
        tree_regular(w, wk, dir, td, name);
        return COWCOPY__WALK_NEXT;
    }
    struct stat st;
    if (SYS(fstatat)(dir->fd, name, &st, deref ? 0 : AT_SYMLINK_NOFOLLOW) < 0) {
        report_fail(w, wk, dir, name, COWCOPY_OP_STAT_SOURCE, "stat", errno);
        return COWCOPY__WALK_NEXT;
    }
    if (S_ISREG(st.st_mode)) {
        tree_regular(w, wk, dir, td, name);
        return COWCOPY__WALK_NEXT;
    }
    if (S_ISDIR(st.st_mode)) {
        for (const cowcopy__wdir *a = dir; deref && a; a = a->parent)
            if (a->dev == st.st_dev && a->ino == st.st_ino) {
                report_fail(w, wk, dir, name, COWCOPY_OP_OPEN_DIR, NULL, ELOOP);
                return COWCOPY__WALK_NEXT;
            }
        struct tree_dir *child = calloc(1, sizeof *child);
        if (!child) {
            report_fail(w, wk, dir, name, COWCOPY_OP_MAKE_DIR, "malloc", ENOMEM);
            return COWCOPY__WALK_NEXT;
        }
        child->st = st;
        child->dst_fd = -1;
        child->skip_contents = (job->opts->flags & COWCOPY_TREE_ONE_FILE_SYSTEM) &&
                               st.st_dev != job->root_dev;
        *child_user = child;
        *child_st = st;
        return COWCOPY__WALK_DESCEND;
    }
    if ((job->opts->flags & COWCOPY_TREE_NO_SPECIALS) && !S_ISLNK(st.st_mode)) {
        report_fail(w, wk, dir, name, COWCOPY_OP_SPECIAL_FILE, NULL, EOPNOTSUPP);
        return COWCOPY__WALK_NEXT;
    }
    cowcopy_result res;
    memset(&res, 0, sizeof res);
    cowcopy__ctx ctx = entry_ctx(w, td);
    int r = cowcopy__copy_nondir(dir->fd, name, &st, td->dst_fd, name, &ctx, &res);
    if (r < 0)
        report_error(w, wk, dir, name, &res.error);
    else
        account(w, wk, dir, name, &res);
    return COWCOPY__WALK_NEXT;
}

/* ------------------------------------------------------- directories */

/* The mode a new destination directory is made with: the source's bits as
 * cp -r passes them to mkdir (the sticky bit kept, setgid left to the
 * parent), plus owner rwx so that it can be filled. */
static mode_t dir_create_mode(const struct stat *st)
{
    return (st->st_mode & (0777 | S_ISVTX)) | S_IRWXU;
}

/* Open (making it if needed) the destination directory name in parent_fd
 * for a source directory, filling td. @return 0 or -errno (e set). */
static int open_dest_dir(int parent_fd, bool parent_fresh, const char *name, bool follow,
                         struct tree_dir *td, cowcopy_error *e)
{
    struct stat old;
    if (!parent_fresh) {
        if (SYS(fstatat)(parent_fd, name, &old, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISDIR(old.st_mode))
                goto open_it;
            if (!S_ISLNK(old.st_mode))
                return cowcopy__fail(e, COWCOPY_OP_OVERWRITE_NONDIR, NULL, ENOTDIR);
            /* A symlink inside the destination tree: replace it, never follow it. */
            if (SYS(unlinkat)(parent_fd, name, 0) < 0)
                return cowcopy__fail(e, COWCOPY_OP_MAKE_DIR, "unlinkat", errno);
        } else if (errno != ENOENT) {
            return cowcopy__fail(e, COWCOPY_OP_STAT_DEST, "fstatat", errno);
        }
    }
    /* Owner rwx while filling it; the real mode is set when it is done. */
    if (SYS(mkdirat)(parent_fd, name, dir_create_mode(&td->st)) < 0) {
        if (errno != EEXIST || parent_fresh)
            return cowcopy__fail(e, COWCOPY_OP_MAKE_DIR, "mkdirat", errno);
        goto open_it; /* made meanwhile; opening checks it is a directory */
    }
    td->fresh = true;
open_it:
    td->dst_fd = SYS(openat)(parent_fd, name,
                             O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW), 0);
    if (td->dst_fd < 0)
        return cowcopy__fail(e, errno == ENOTDIR ? COWCOPY_OP_OVERWRITE_NONDIR : COWCOPY_OP_MAKE_DIR,
                             "openat", errno);
    if (td->fresh) {
        /* Files made here get exactly mode & ~umask unless a default ACL was
         * inherited from an existing parent directory. */
        td->mode_predictable = !cowcopy__has_default_acl(td->dst_fd);
    }
    return 0;
}

static int tree_dir_begin(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir)
{
    struct tree_worker *w = worker;
    struct tree_dir *td = dir->user;
    if (dir->parent) { /* the root's destination was opened by cowcopy_tree_copy() */
        struct tree_dir *ptd = dir->parent->user;
        cowcopy_result res;
        memset(&res, 0, sizeof res);
        if (open_dest_dir(ptd->dst_fd, ptd->fresh, dir->name, false, td, &res.error) < 0) {
            td->failed = true;
            report_error(w, wk, dir, NULL, &res.error);
            return -1;
        }
        res.method = COWCOPY_METHOD_DIRECTORY;
        if (td->fresh)
            account(w, wk, dir, NULL, &res);
    }
    return td->skip_contents ? -1 : 0;
}

static void tree_dir_failed(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, int op,
                            const char *call, int err)
{
    report_fail(worker, wk, dir, NULL, op, call, err);
}

/* Owner, xattrs and ACLs, mode, times of a finished destination directory. */
static void finish_dir(struct tree_worker *w, cowcopy__walker *wk, cowcopy__wdir *dir,
                       struct tree_dir *td)
{
    const cowcopy_options *o = &w->job->file;
    const struct stat *st = &td->st;
    cowcopy__meta_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.acl_from_fd = plan.xattr_from_fd = -1;
    if (o->preserve & COWCOPY_PRESERVE_OWNERSHIP) {
        plan.set_owner = true;
        plan.uid = st->st_uid;
        plan.gid = st->st_gid;
        plan.owner_required = o->preserve_required & COWCOPY_PRESERVE_OWNERSHIP;
    }
    mode_t created = dir_create_mode(st) & ~w->job->umask;
    if (o->preserve & COWCOPY_PRESERVE_MODE) {
        plan.mode = st->st_mode & 07777;
        plan.set_mode = !td->fresh || plan.mode != created || !td->mode_predictable ||
                        (w->job->opts->flags & COWCOPY_TREE_EXACT_DIR_MODE);
        plan.mode_required = o->preserve_required & COWCOPY_PRESERVE_MODE;
        plan.acl_from_fd = dir->fd;
    } else if (td->fresh) { /* cp -r: the source's bits (sticky too) less the umask */
        plan.mode = st->st_mode & (0777 | S_ISVTX) & ~w->job->umask;
        plan.set_mode = plan.mode != created || !td->mode_predictable;
        plan.mode_required = true;
    }
    if (o->preserve & COWCOPY_PRESERVE_XATTR) {
        plan.xattr_from_fd = dir->fd;
        plan.xattr_required = o->preserve_required & COWCOPY_PRESERVE_XATTR;
    }
    plan.xattr_skip_refused = o->flags & COWCOPY_XATTR_SKIP_REFUSED;
    if (o->preserve & COWCOPY_PRESERVE_TIMESTAMPS) {
        plan.set_times = true;
        plan.times[0] = st->st_atim;
        plan.times[1] = st->st_mtim;
        plan.times_required = o->preserve_required & COWCOPY_PRESERVE_TIMESTAMPS;
    }
    cowcopy_result res;
    memset(&res, 0, sizeof res);
    /* The caller sets the root's attributes itself (COWCOPY_TREE_KEEP_ROOT_ATTRS). */
    bool keep = !dir->parent && (w->job->opts->flags & COWCOPY_TREE_KEEP_ROOT_ATTRS);
    int r = keep ? 0 : cowcopy__meta_apply_owner(td->dst_fd, &plan, &res);
    if (r == 0 && !keep)
        r = cowcopy__meta_apply_rest(td->dst_fd, &plan, &res);
    if (r == 0 && (o->flags & COWCOPY_FSYNC) && SYS(fsync)(td->dst_fd) < 0)
        r = cowcopy__fail(&res.error, COWCOPY_OP_SYNC, "fsync", errno);
    if (r < 0)
        report_error(w, wk, dir, NULL, &res.error);
}

static void tree_dir_done(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir)
{
    struct tree_worker *w = worker;
    struct tree_dir *td = dir->user;
    if (!td)
        return;
    if (!td->failed && td->dst_fd >= 0 && !cowcopy__walk_stopped(wk))
        finish_dir(w, wk, dir, td);
    if (td->dst_fd >= 0)
        SYS(close)(td->dst_fd);
    free(td);
}

static void *tree_worker_init(cowcopy__walker *wk)
{
    struct tree_worker *w = calloc(1, sizeof *w);
    if (w)
        w->job = cowcopy__walk_ctx(wk);
    return w;
}

static void tree_worker_fini(cowcopy__walker *wk, void *worker)
{
    (void)wk;
    struct tree_worker *w = worker;
    cowcopy__buf_free(&w->buf);
    free(w->src_path);
    free(w->dst_path);
    free(w->rel_path);
    free(w);
}

static const cowcopy__walk_ops tree_ops = {
    .worker_init = tree_worker_init,
    .worker_fini = tree_worker_fini,
    .entry = tree_entry,
    .dir_begin = tree_dir_begin,
    .dir_failed = tree_dir_failed,
    .dir_done = tree_dir_done,
};

/* -------------------------------------------------------- counting */

/* COWCOPY_TREE_COUNT_TOTALS: a one-thread walk beside the copy that sums
 * the source's regular files and bytes, for an ETA. */
struct counter {
    struct tree_job *job;
    pthread_t thread;
    cowcopy__walker *wk;
    pthread_mutex_t lock;
    bool done;
    cowcopy__walk_params params;
};

static int count_entry(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, const char *name,
                       unsigned char type, void **child_user, struct stat *child_st)
{
    (void)worker;
    struct counter *c = cowcopy__walk_ctx(wk);
    pthread_mutex_lock(&c->lock);
    c->wk = wk; /* so the copy can stop the count when it finishes first */
    bool done = c->done;
    pthread_mutex_unlock(&c->lock);
    if (done)
        return -ECANCELED;
    if (type != DT_REG && type != DT_DIR && type != DT_UNKNOWN)
        return COWCOPY__WALK_NEXT;
    struct stat st;
    if (SYS(fstatat)(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return COWCOPY__WALK_NEXT;
    if (S_ISREG(st.st_mode)) {
        atomic_fetch_add(&c->job->n.total_files, 1);
        atomic_fetch_add(&c->job->n.total_bytes, (uint64_t)st.st_size);
        return COWCOPY__WALK_NEXT;
    }
    if (!S_ISDIR(st.st_mode))
        return COWCOPY__WALK_NEXT;
    *child_user = NULL;
    *child_st = st;
    return COWCOPY__WALK_DESCEND;
}

static void count_dir_failed(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, int op,
                             const char *call, int err)
{
    (void)wk, (void)worker, (void)dir, (void)op, (void)call, (void)err;
}

static void count_dir_done(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir)
{
    (void)wk, (void)worker, (void)dir;
}

static const cowcopy__walk_ops count_ops = {
    .entry = count_entry,
    .dir_failed = count_dir_failed,
    .dir_done = count_dir_done,
};

static void *count_main(void *arg)
{
    struct counter *c = arg;
    int r = cowcopy__walk(&c->params);
    pthread_mutex_lock(&c->lock);
    c->wk = NULL; /* the walker lived in cowcopy__walk's frame */
    pthread_mutex_unlock(&c->lock);
    if (r == 0)
        atomic_store(&c->job->n.totals_known, 1);
    return NULL;
}

static int counter_start(struct counter *c, struct tree_job *job, int src_fd, const struct stat *st)
{
    memset(c, 0, sizeof *c);
    c->job = job;
    pthread_mutex_init(&c->lock, NULL);
    int fd = SYS(openat)(src_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    c->params = (cowcopy__walk_params){.ops = &count_ops, .ctx = c, .root_fd = fd,
                                       .root_path = job->src_root, .root_dev = st->st_dev,
                                       .root_ino = st->st_ino, .threads = 1};
    if (pthread_create(&c->thread, NULL, count_main, c) != 0) {
        SYS(close)(fd);
        return -EAGAIN;
    }
    return 0;
}

static void counter_finish(struct counter *c)
{
    pthread_mutex_lock(&c->lock);
    c->done = true;
    if (c->wk)
        cowcopy__walk_stop(c->wk);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->lock);
}

/* -------------------------------------------------------- the copy */

void cowcopy_tree_options_init(cowcopy_tree_options *opts)
{
    memset(opts, 0, sizeof *opts);
    cowcopy_options_init(&opts->file);
}

/*
 * Worker threads unless told: two, at most one per CPU. Measured with whole
 * directories per thread (bench/RESULTS.md, cp-tree-threads, Linux 6.18, 2
 * CPUs): two beat one on XFS (0.55x vs 0.97x of cp -a's time), btrfs (0.81x
 * vs 0.99x) and ext4 (0.54x vs 1.05x); four were no faster on XFS and ext4
 * and slower on btrfs (1.11x), which serialises metadata updates within a
 * subvolume. (shared/DESIGN.md's earlier figures had btrfs slower with two.)
 */
static int default_threads(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus == 1 ? 1 : 2;
}

/* Is the directory (dev, ino) dst_fd itself or one of its ancestors?
 * @return 1 yes, 0 no, or -errno. */
static int is_ancestor_or_self(dev_t dev, ino_t ino, int dst_fd)
{
    int fd = SYS(openat)(dst_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    for (int depth = 0; depth < 4096; depth++) {
        struct stat st, up_st;
        if (SYS(fstat)(fd, &st) < 0)
            break;
        if (st.st_dev == dev && st.st_ino == ino) {
            SYS(close)(fd);
            return 1;
        }
        int up = SYS(openat)(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (up < 0 || SYS(fstat)(up, &up_st) < 0) {
            if (up >= 0)
                SYS(close)(up);
            break;
        }
        SYS(close)(fd);
        fd = up;
        if (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino)
            break; /* "/" is its own parent */
    }
    SYS(close)(fd);
    return 0;
}

/* Split dst into an opened parent directory and its last component. */
static int open_parent(const char *dst, int *parent_fd, const char **base, char **dir_buf)
{
    size_t len = strlen(dst);
    while (len > 1 && dst[len - 1] == '/')
        len--;
    char *copy = strndup(dst, len);
    if (!copy)
        return -ENOMEM;
    char *slash = strrchr(copy, '/');
    const char *dir = ".";
    if (slash == copy) {
        dir = "/";
        *base = slash + 1;
    } else if (slash) {
        *slash = '\0';
        dir = copy;
        *base = slash + 1;
    } else {
        *base = copy;
    }
    if (!**base) { /* dst is "/" */
        free(copy);
        return -EEXIST;
    }
    *parent_fd = SYS(openat)(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (*parent_fd < 0) {
        int err = errno;
        free(copy);
        return -err;
    }
    *dir_buf = copy;
    return 0;
}

int cowcopy_tree_copy(const char *src, const char *dst, const cowcopy_tree_options *opts,
                      cowcopy_tree_stats *stats)
{
    cowcopy__fault_init_from_env();
    cowcopy_tree_options defaults;
    if (!opts) {
        cowcopy_tree_options_init(&defaults);
        opts = &defaults;
    }
    if (stats)
        memset(stats, 0, sizeof *stats);
    int r = cowcopy__options_check(&opts->file);
    if (r < 0 || (opts->flags & ~COWCOPY_TREE_FLAGS_ALL) || opts->threads < 0)
        return -EINVAL;

    struct tree_job job;
    memset(&job, 0, sizeof job);
    job.opts = opts;
    job.file = opts->file;
    job.src_root = src;
    job.dst_root = dst;
    job.src_root_len = strlen(src);
    job.start_ns = now_ns();
    job.umask = cowcopy__umask();
    pthread_mutex_init(&job.callback_lock, NULL);
    struct tree_worker top = {.job = &job};
    cowcopy_result res;
    memset(&res, 0, sizeof res);
    res.error.src = src;
    res.error.dst = dst;

    bool follow_root = opts->flags & (COWCOPY_TREE_DEREFERENCE | COWCOPY_TREE_FOLLOW_ROOT) ||
                       !(opts->file.flags & COWCOPY_NO_DEREFERENCE);
    if (opts->flags & COWCOPY_TREE_DEREFERENCE)
        job.file.flags &= ~COWCOPY_NO_DEREFERENCE;
    struct stat st;
    int parent_fd = -1, src_fd = -1;
    char *dir_buf = NULL;
    const char *base;
    if (SYS(fstatat)(AT_FDCWD, src, &st, follow_root ? 0 : AT_SYMLINK_NOFOLLOW) < 0) {
        r = cowcopy__fail(&res.error, COWCOPY_OP_STAT_SOURCE, "stat", errno);
        goto fail;
    }
    if ((r = open_parent(dst, &parent_fd, &base, &dir_buf)) < 0) {
        r = cowcopy__fail(&res.error, COWCOPY_OP_CREATE_DEST, "open", -r);
        goto fail;
    }
    if (!S_ISDIR(st.st_mode)) { /* one file; special files are recreated as with cp -R */
        if ((opts->flags & COWCOPY_TREE_NO_SPECIALS) && !S_ISREG(st.st_mode) &&
            !S_ISLNK(st.st_mode)) {
            r = cowcopy__fail(&res.error, COWCOPY_OP_SPECIAL_FILE, NULL, EOPNOTSUPP);
            goto fail;
        }
        cowcopy__ctx ctx = {.opts = &job.file, .buf = &top.buf, .recreate_specials = true};
        if (follow_root)
            job.file.flags &= ~COWCOPY_NO_DEREFERENCE;
        r = cowcopy__copy_nondir(AT_FDCWD, src, &st, parent_fd, base, &ctx, &res);
        if (r < 0)
            goto fail;
        account(&top, NULL, &(cowcopy__wdir){.path = (char *)src}, NULL, &res);
        goto done;
    }
    /* Refuse to copy a directory into itself or below itself. */
    struct stat dst_st;
    if (is_ancestor_or_self(st.st_dev, st.st_ino, parent_fd) == 1 ||
        (SYS(fstatat)(parent_fd, base, &dst_st, 0) == 0 && dst_st.st_dev == st.st_dev &&
         dst_st.st_ino == st.st_ino)) {
        r = cowcopy__fail(&res.error, COWCOPY_OP_INTO_SELF, NULL, EINVAL);
        goto fail;
    }
    src_fd = SYS(openat)(AT_FDCWD, src,
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow_root ? 0 : O_NOFOLLOW), 0);
    if (src_fd < 0) {
        r = cowcopy__fail(&res.error, COWCOPY_OP_OPEN_DIR, "open", errno);
        goto fail;
    }
    struct tree_dir *root = calloc(1, sizeof *root);
    if (!root) {
        r = cowcopy__fail(&res.error, COWCOPY_OP_MAKE_DIR, "malloc", ENOMEM);
        goto fail;
    }
    root->st = st;
    root->dst_fd = -1;
    if ((r = open_dest_dir(parent_fd, false, base, true, root, &res.error)) < 0) {
        free(root);
        goto fail;
    }
    if (root->fresh) {
        res.method = COWCOPY_METHOD_DIRECTORY;
        account(&top, NULL, &(cowcopy__wdir){.path = (char *)src}, NULL, &res);
    }
    job.root_dev = st.st_dev;
    job.dst_root_fd = root->dst_fd;
    job.threads = opts->threads ? opts->threads : default_threads();
    if ((job.file.preserve & COWCOPY_PRESERVE_LINKS) && !(job.links = cowcopy__links_new())) {
        SYS(close)(root->dst_fd);
        free(root);
        r = cowcopy__fail(&res.error, COWCOPY_OP_NONE, "malloc", ENOMEM);
        goto fail;
    }
    struct counter counter;
    bool counting = (opts->flags & COWCOPY_TREE_COUNT_TOTALS) &&
                    counter_start(&counter, &job, src_fd, &st) == 0;
    cowcopy__walk_params params = {
        .ops = &tree_ops, .ctx = &job, .root_fd = src_fd, .root_path = src, .root_user = root,
        .root_dev = st.st_dev, .root_ino = st.st_ino, .threads = job.threads,
        .follow = (opts->flags & COWCOPY_TREE_DEREFERENCE) != 0,
    };
    src_fd = -1; /* the walker owns it now */
    r = cowcopy__walk(&params);
    if (counting)
        counter_finish(&counter);
    cowcopy__links_free(job.links);
    if (r == 0)
        r = atomic_load(&job.first_error);
    goto done;

fail:
    if (opts->on_error) {
        pthread_mutex_lock(&job.callback_lock);
        opts->on_error(opts->error_data, &res.error);
        pthread_mutex_unlock(&job.callback_lock);
    }
    atomic_fetch_add(&job.n.errors, 1);
done:
    if (src_fd >= 0)
        SYS(close)(src_fd);
    if (parent_fd >= 0)
        SYS(close)(parent_fd);
    free(dir_buf);
    cowcopy__buf_free(&top.buf);
    free(top.src_path);
    free(top.dst_path);
    free(top.rel_path);
    if (stats)
        snapshot(&job, stats);
    pthread_mutex_destroy(&job.callback_lock);
    return r;
}
