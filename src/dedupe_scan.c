/*
 * dedupe_scan.c - collecting dedupe candidates: every regular file under the
 * given paths (parallel walk, walk.c), as compact records with their device,
 * inode and size; directories in a table so that paths can be rebuilt.
 */
#include "dedupe.h"
#include "walk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dd_scan_init(dd_scan *s, const cowcopy_dedupe_options *opts)
{
    memset(s, 0, sizeof *s);
    s->opts = opts;
    s->min_size = opts->min_size ? opts->min_size : 1;
    s->newest_mtime = opts->min_age ? time(NULL) - (time_t)opts->min_age : 0;
    s->one_file_system = opts->flags & COWCOPY_DEDUPE_ONE_FILE_SYSTEM;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->callback_lock, NULL);
    return 0;
}

void dd_scan_free(dd_scan *s)
{
    for (size_t i = 0; i < s->nfss; i++)
        if (s->fss[i].probe_fd >= 0)
            SYS(close)(s->fss[i].probe_fd);
    free(s->files);
    free(s->dirs);
    free(s->names);
    free(s->devs);
    free(s->fss);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->callback_lock);
}

/* Grow *arr (of elem-sized items) to hold one more. Called with s->lock held. */
static bool grow(void **arr, size_t *cap, size_t used, size_t elem)
{
    if (used < *cap)
        return true;
    size_t want = *cap ? *cap * 2 : 1024;
    void *p = realloc(*arr, want * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = want;
    return true;
}

/* Copy name into the names arena. @return its offset, or UINT32_MAX. Locked. */
static uint32_t add_name(dd_scan *s, const char *name)
{
    size_t len = strlen(name) + 1;
    if (s->names_len + len > UINT32_MAX)
        return UINT32_MAX;
    while (s->names_len + len > s->names_cap) {
        size_t want = s->names_cap ? s->names_cap * 2 : 64 * 1024;
        char *p = realloc(s->names, want);
        if (!p)
            return UINT32_MAX;
        s->names = p;
        s->names_cap = want;
    }
    memcpy(s->names + s->names_len, name, len);
    uint32_t off = (uint32_t)s->names_len;
    s->names_len += len;
    return off;
}

/* Index of a device in the table (added if new). Locked. */
static uint32_t dev_index(dd_scan *s, dev_t dev)
{
    for (size_t i = s->ndevs; i > 0; i--) /* few devices; the last is the likeliest */
        if (s->devs[i - 1].dev == dev)
            return (uint32_t)(i - 1);
    if (!grow((void **)&s->devs, &s->devs_cap, s->ndevs, sizeof *s->devs))
        return UINT32_MAX;
    s->devs[s->ndevs] = (dd_dev){.dev = dev};
    return (uint32_t)s->ndevs++;
}

static uint32_t add_dir(dd_scan *s, uint32_t parent, const char *name)
{
    pthread_mutex_lock(&s->lock);
    uint32_t idx = UINT32_MAX, off = add_name(s, name);
    if (off != UINT32_MAX && grow((void **)&s->dirs, &s->dirs_cap, s->ndirs, sizeof *s->dirs)) {
        s->dirs[s->ndirs] = (dd_dir){.parent = parent, .name = off};
        idx = (uint32_t)s->ndirs++;
    }
    pthread_mutex_unlock(&s->lock);
    return idx;
}

/* --min-age: was the file modified too recently to be touched? */
static bool too_recent(const dd_scan *s, const struct stat *st)
{
    return s->newest_mtime && st->st_mtim.tv_sec > s->newest_mtime;
}

static int add_file(dd_scan *s, uint32_t dir, const char *name, const struct stat *st)
{
    atomic_fetch_add(&s->files_scanned, 1);
    atomic_fetch_add(&s->bytes_scanned, (uint64_t)st->st_size);
    if ((uint64_t)st->st_size < s->min_size || too_recent(s, st))
        return 0;
    int r = 0;
    pthread_mutex_lock(&s->lock);
    uint32_t dev = dev_index(s, st->st_dev), off = add_name(s, name);
    if (dev == UINT32_MAX || off == UINT32_MAX ||
        !grow((void **)&s->files, &s->files_cap, s->nfiles, sizeof *s->files))
        r = -ENOMEM;
    else
        s->files[s->nfiles++] = (dd_file){.size = (uint64_t)st->st_size,
                                          .ino = (uint64_t)st->st_ino,
                                          .dev = dev,
                                          .dir = dir,
                                          .name = off};
    pthread_mutex_unlock(&s->lock);
    return r;
}

void dd_report(dd_scan *s, int op, const char *call, int err, const char *src, const char *dst,
               const char *fs)
{
    if (op != COWCOPY_OP_CACHE) {
        atomic_fetch_add(&s->errors, 1);
        int expected = 0;
        atomic_compare_exchange_strong(&s->first_error, &expected, -err);
    }
    if (!s->opts->on_error)
        return;
    cowcopy_error e = {.code = -err, .op = op, .call = call, .src = src, .dst = dst, .fs = fs};
    pthread_mutex_lock(&s->callback_lock);
    s->opts->on_error(s->opts->error_data, &e);
    pthread_mutex_unlock(&s->callback_lock);
}

/* ------------------------------------------------------------ paths */

/* Append the path of directory d to *buf at *len. Recursive over parents. */
static bool dir_path(const dd_scan *s, uint32_t d, char **buf, size_t *cap, size_t *len)
{
    const dd_dir *dir = &s->dirs[d];
    if (dir->parent != DD_NO_PARENT && !dir_path(s, dir->parent, buf, cap, len))
        return false;
    const char *name = s->names + dir->name;
    size_t nl = strlen(name);
    bool slash = dir->parent != DD_NO_PARENT && *len > 0 && (*buf)[*len - 1] != '/';
    if (*len + slash + nl + 1 > *cap) {
        size_t want = (*len + slash + nl + 1) * 2;
        char *p = realloc(*buf, want);
        if (!p)
            return false;
        *buf = p;
        *cap = want;
    }
    if (slash)
        (*buf)[(*len)++] = '/';
    memcpy(*buf + *len, name, nl + 1);
    *len += nl;
    return true;
}

char *dd_path(const dd_scan *s, const dd_file *f, char **buf, size_t *cap)
{
    size_t len = 0;
    if (f->dir == DD_NO_PARENT) { /* a file given by the user: its name is its path */
        const char *name = s->names + f->name;
        size_t nl = strlen(name) + 1;
        if (nl > *cap) {
            char *p = realloc(*buf, nl);
            if (!p)
                return NULL;
            *buf = p;
            *cap = nl;
        }
        memcpy(*buf, name, nl);
        return *buf;
    }
    if (!dir_path(s, f->dir, buf, cap, &len))
        return NULL;
    size_t dl = len;
    const char *name = s->names + f->name;
    size_t nl = strlen(name);
    bool slash = dl > 0 && (*buf)[dl - 1] != '/';
    if (dl + slash + nl + 1 > *cap) {
        size_t want = dl + slash + nl + 1;
        char *p = realloc(*buf, want);
        if (!p)
            return NULL;
        *buf = p;
        *cap = want;
    }
    if (slash)
        (*buf)[dl++] = '/';
    memcpy(*buf + dl, name, nl + 1);
    return *buf;
}

/* Open path read-only, with O_NOATIME where permitted (owner or root). */
static int open_noatime(int dirfd, const char *path)
{
    int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
#ifdef O_NOATIME
    int fd = SYS(openat)(dirfd, path, flags | O_NOATIME, 0);
    if (fd < 0 && errno == EPERM)
        fd = SYS(openat)(dirfd, path, flags, 0);
#else
    int fd = SYS(openat)(dirfd, path, flags, 0); /* Darwin: no O_NOATIME */
#endif
    return fd < 0 ? -errno : fd;
}

/* Open directory d, one component at a time (paths beyond PATH_MAX). */
static int open_dir_chain(const dd_scan *s, uint32_t d)
{
    const dd_dir *dir = &s->dirs[d];
    int parent = AT_FDCWD;
    if (dir->parent != DD_NO_PARENT && (parent = open_dir_chain(s, dir->parent)) < 0)
        return parent;
    int fd = SYS(openat)(parent, s->names + dir->name,
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW, 0);
    int err = errno;
    if (parent >= 0)
        SYS(close)(parent);
    return fd < 0 ? -err : fd;
}

int dd_open(const dd_scan *s, const dd_file *f, char **buf, size_t *cap)
{
    if (!dd_path(s, f, buf, cap))
        return -ENOMEM;
    if (strlen(*buf) < PATH_MAX)
        return open_noatime(AT_FDCWD, *buf);
    int dirfd = open_dir_chain(s, f->dir);
    if (dirfd < 0)
        return dirfd;
    int fd = open_noatime(dirfd, s->names + f->name);
    SYS(close)(dirfd);
    return fd;
}

int dd_open_parent(const dd_scan *s, const dd_file *f, char **buf, size_t *cap, const char **name)
{
    if (f->dir != DD_NO_PARENT) {
        *name = s->names + f->name;
        return open_dir_chain(s, f->dir);
    }
    /* A file given by the user: its name is its path. */
    if (!dd_path(s, f, buf, cap))
        return -ENOMEM;
    char *slash = strrchr(*buf, '/');
    const char *dir = ".";
    if (slash) {
        *slash = '\0';
        dir = slash == *buf ? "/" : *buf;
        *name = slash + 1;
    } else {
        *name = *buf;
    }
    int fd = SYS(openat)(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

/* ------------------------------------------------------------ the walk */

struct scan_worker {
    dd_scan *s;
    char *path;
    size_t cap;
};

/* A path for messages: dir's path + name. */
static const char *entry_path(struct scan_worker *w, const cowcopy__wdir *dir, const char *name)
{
    if (!name)
        return dir->path;
    return cowcopy__path_join(&w->path, &w->cap, dir->path, name) ? w->path : dir->path;
}

static int scan_entry(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, const char *name,
                      unsigned char type, void **child_user, struct stat *child_st)
{
    struct scan_worker *w = worker;
    dd_scan *s = w->s;
    if (type != DT_REG && type != DT_DIR && type != DT_UNKNOWN)
        return COWCOPY__WALK_NEXT; /* symlinks, devices, FIFOs: nothing to share */
    struct stat st;
    if (SYS(fstatat)(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        /* Removed since the directory was read (another program's
         * temporary): nothing left to share, and no error. */
        if (errno != ENOENT)
            dd_report(s, COWCOPY_OP_STAT_SOURCE, "stat", errno, entry_path(w, dir, name), NULL,
                      NULL);
        return COWCOPY__WALK_NEXT;
    }
    if (S_ISREG(st.st_mode)) {
        int r = add_file(s, (uint32_t)(uintptr_t)dir->user, name, &st);
        if (r < 0)
            return r;
    } else if (S_ISDIR(st.st_mode)) {
        if (s->one_file_system && st.st_dev != dir->dev)
            return COWCOPY__WALK_NEXT;
        uint32_t idx = add_dir(s, (uint32_t)(uintptr_t)dir->user, name);
        if (idx == UINT32_MAX)
            return -ENOMEM;
        *child_user = (void *)(uintptr_t)idx;
        *child_st = st;
        return COWCOPY__WALK_DESCEND;
    }
    (void)wk;
    return COWCOPY__WALK_NEXT;
}

static void scan_dir_failed(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, int op,
                            const char *call, int err)
{
    (void)wk;
    struct scan_worker *w = worker;
    dd_report(w->s, op, call, err, dir->path, NULL, NULL);
}

static void scan_dir_done(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir)
{
    (void)wk, (void)worker, (void)dir;
}

static void *scan_worker_init(cowcopy__walker *wk)
{
    struct scan_worker *w = calloc(1, sizeof *w);
    if (w)
        w->s = cowcopy__walk_ctx(wk);
    return w;
}

static void scan_worker_fini(cowcopy__walker *wk, void *worker)
{
    (void)wk;
    struct scan_worker *w = worker;
    free(w->path);
    free(w);
}

static const cowcopy__walk_ops scan_ops = {
    .worker_init = scan_worker_init,
    .worker_fini = scan_worker_fini,
    .entry = scan_entry,
    .dir_failed = scan_dir_failed,
    .dir_done = scan_dir_done,
};

int dd_scan_path(dd_scan *s, const char *path, int threads)
{
    struct stat st;
    if (SYS(fstatat)(AT_FDCWD, path, &st, 0) < 0) {
        int err = errno;
        dd_report(s, COWCOPY_OP_STAT_SOURCE, "stat", err, path, NULL, NULL);
        return -err;
    }
    if (S_ISREG(st.st_mode)) {
        int r = 0;
        pthread_mutex_lock(&s->lock);
        uint32_t off = add_name(s, path);
        pthread_mutex_unlock(&s->lock);
        if (off == UINT32_MAX)
            return -ENOMEM;
        /* A given file: no directory; dd_path() uses its name as its path. */
        atomic_fetch_add(&s->files_scanned, 1);
        atomic_fetch_add(&s->bytes_scanned, (uint64_t)st.st_size);
        if ((uint64_t)st.st_size < s->min_size || too_recent(s, &st))
            return 0;
        pthread_mutex_lock(&s->lock);
        uint32_t dev = dev_index(s, st.st_dev);
        if (dev == UINT32_MAX || !grow((void **)&s->files, &s->files_cap, s->nfiles,
                                       sizeof *s->files))
            r = -ENOMEM;
        else
            s->files[s->nfiles++] = (dd_file){.size = (uint64_t)st.st_size,
                                              .ino = (uint64_t)st.st_ino,
                                              .dev = dev,
                                              .dir = DD_NO_PARENT,
                                              .name = off};
        pthread_mutex_unlock(&s->lock);
        return r;
    }
    if (!S_ISDIR(st.st_mode))
        return 0; /* a FIFO or device given directly: nothing to share */
    int fd = SYS(openat)(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) {
        int err = errno;
        dd_report(s, COWCOPY_OP_OPEN_DIR, "open", err, path, NULL, NULL);
        return -err;
    }
    uint32_t root = add_dir(s, DD_NO_PARENT, path);
    if (root == UINT32_MAX) {
        SYS(close)(fd);
        return -ENOMEM;
    }
    cowcopy__walk_params p = {.ops = &scan_ops, .ctx = s, .root_fd = fd, .root_path = path,
                              .root_user = (void *)(uintptr_t)root, .root_dev = st.st_dev,
                              .root_ino = st.st_ino, .threads = threads};
    return cowcopy__walk(&p);
}
