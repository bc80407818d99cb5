/*
 * walk.c - the parallel directory walker (see walk.h for the model).
 *
 * State: a LIFO stack of directories waiting to be read, guarded by one
 * mutex, and a count of directories not yet finished. A worker pops a
 * directory, opens it relative to its parent's descriptor, reads it in
 * getdents batches calling `entry` per name, pushes the subdirectories, then
 * releases it. Releasing decrements `pending`; at zero the directory's
 * subtree is done: `dir_done` runs, its descriptor is closed, and its parent
 * is released in turn. When no directory is left unfinished, all workers
 * return.
 */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cowcopy__walker {
    const cowcopy__walk_params *p;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    cowcopy__wdir **stack; /* directories waiting to be read */
    size_t stack_len, stack_cap;
    size_t unfinished;     /* pushed or being read, not yet released by their reader */
    int idle;              /* workers waiting for work */
    atomic_bool stop;
    atomic_int result;     /* first error that stopped the walk */
};

enum { DENTS_BUF = 32 * 1024 };

void *cowcopy__walk_ctx(cowcopy__walker *wk)
{
    return wk->p->ctx;
}

void cowcopy__walk_stop(cowcopy__walker *wk)
{
    int expected = 0;
    atomic_compare_exchange_strong(&wk->result, &expected, -ECANCELED);
    atomic_store(&wk->stop, true);
    pthread_mutex_lock(&wk->lock);
    pthread_cond_broadcast(&wk->wake);
    pthread_mutex_unlock(&wk->lock);
}

bool cowcopy__walk_stopped(cowcopy__walker *wk)
{
    return atomic_load(&wk->stop);
}

char *cowcopy__path_join(char **buf, size_t *cap, const char *path, const char *name)
{
    size_t pl = strlen(path), nl = strlen(name);
    bool slash = pl > 0 && path[pl - 1] != '/';
    size_t need = pl + slash + nl + 1;
    if (need > *cap) {
        size_t grown = need < 256 ? 256 : need * 2;
        char *p = realloc(*buf, grown);
        if (!p)
            return NULL;
        *buf = p;
        *cap = grown;
    }
    memcpy(*buf, path, pl);
    if (slash)
        (*buf)[pl] = '/';
    memcpy(*buf + pl + slash, name, nl + 1);
    return *buf;
}

static cowcopy__wdir *wdir_new(cowcopy__wdir *parent, const char *name, void *user,
                               const struct stat *st)
{
    cowcopy__wdir *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    size_t cap = 0;
    if (!cowcopy__path_join(&d->path, &cap, parent->path, name)) {
        free(d);
        return NULL;
    }
    d->name = d->path + strlen(d->path) - strlen(name);
    d->parent = parent;
    d->fd = -1;
    d->dev = st->st_dev;
    d->ino = st->st_ino;
    d->depth = parent->depth + 1;
    atomic_init(&d->pending, 1);
    d->user = user;
    return d;
}

/* One of dir's holds is gone; at zero its subtree is finished: run
 * dir_done, close it, and release its parent in turn. */
static void wdir_release(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir)
{
    while (dir && atomic_fetch_sub(&dir->pending, 1) == 1) {
        cowcopy__wdir *parent = dir->parent;
        wk->p->ops->dir_done(wk, worker, dir);
        if (dir->fd >= 0)
            SYS(close)(dir->fd);
        free(dir->path);
        free(dir);
        dir = parent;
    }
}

static int push(cowcopy__walker *wk, cowcopy__wdir *d)
{
    pthread_mutex_lock(&wk->lock);
    if (wk->stack_len == wk->stack_cap) {
        size_t cap = wk->stack_cap ? wk->stack_cap * 2 : 64;
        cowcopy__wdir **s = realloc(wk->stack, cap * sizeof *s);
        if (!s) {
            pthread_mutex_unlock(&wk->lock);
            return -ENOMEM;
        }
        wk->stack = s;
        wk->stack_cap = cap;
    }
    wk->stack[wk->stack_len++] = d;
    wk->unfinished++;
    if (wk->idle > 0)
        pthread_cond_signal(&wk->wake);
    pthread_mutex_unlock(&wk->lock);
    return 0;
}

/* Take the next directory, waiting while others may still push some.
 * @return NULL when the walk is over (or stopped and drained). */
static cowcopy__wdir *pop(cowcopy__walker *wk)
{
    pthread_mutex_lock(&wk->lock);
    for (;;) {
        if (wk->stack_len > 0) {
            cowcopy__wdir *d = wk->stack[--wk->stack_len];
            pthread_mutex_unlock(&wk->lock);
            return d;
        }
        if (wk->unfinished == 0) {
            pthread_cond_broadcast(&wk->wake);
            pthread_mutex_unlock(&wk->lock);
            return NULL;
        }
        wk->idle++;
        pthread_cond_wait(&wk->wake, &wk->lock);
        wk->idle--;
    }
}

/* The reader of a directory is done with it (its children may not be). */
static void finished_reading(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir)
{
    wdir_release(wk, worker, dir);
    pthread_mutex_lock(&wk->lock);
    if (--wk->unfinished == 0)
        pthread_cond_broadcast(&wk->wake);
    pthread_mutex_unlock(&wk->lock);
}

static bool is_dot_or_dotdot(const char *n)
{
    return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

/* Read dir and handle every entry. */
/* Hand one entry of dir to `entry`, pushing it if it is to be descended
 * into. @return false when the walk must stop. */
static bool handle_entry(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, const char *name,
                         unsigned char type)
{
    const cowcopy__walk_ops *ops = wk->p->ops;
    if (is_dot_or_dotdot(name))
        return true;
    if (atomic_load(&wk->stop))
        return false;
    void *child_user = NULL;
    struct stat child_st;
    int r = ops->entry(wk, worker, dir, name, type, &child_user, &child_st);
    if (r < 0) {
        int expected = 0;
        atomic_compare_exchange_strong(&wk->result, &expected, r);
        cowcopy__walk_stop(wk);
        return false;
    }
    if (r != COWCOPY__WALK_DESCEND)
        return true;
    cowcopy__wdir *child = wdir_new(dir, name, child_user, &child_st);
    if (!child) {
        ops->dir_failed(wk, worker, dir, COWCOPY_OP_READ_DIR, "malloc", ENOMEM);
        return true;
    }
    atomic_fetch_add(&dir->pending, 1);
    if (push(wk, child) < 0) {
        ops->dir_failed(wk, worker, child, COWCOPY_OP_READ_DIR, "malloc", ENOMEM);
        wdir_release(wk, worker, child);
    }
    return true;
}

#ifdef HAVE_GETDENTS64
/* Read dir's entries with getdents64 in batches. */
static void read_entries(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, char *dents)
{
    for (;;) {
        ssize_t n = SYS(getdents)(dir->fd, dents, DENTS_BUF);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            wk->p->ops->dir_failed(wk, worker, dir, COWCOPY_OP_READ_DIR, "getdents64", errno);
            return;
        }
        if (n == 0)
            return;
        for (ssize_t off = 0; off < n;) {
            struct dirent64 *e = (struct dirent64 *)(dents + off);
            off += e->d_reclen;
            if (!handle_entry(wk, worker, dir, e->d_name, e->d_type))
                return;
        }
    }
}
#else
/* Read dir's entries with readdir (Darwin has no public getdents). */
static void read_entries(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, char *dents)
{
    (void)dents;
    int fd = fcntl(dir->fd, F_DUPFD_CLOEXEC, 0); /* closedir() closes its descriptor */
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        wk->p->ops->dir_failed(wk, worker, dir, COWCOPY_OP_READ_DIR, "fdopendir", err);
        return;
    }
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno)
                wk->p->ops->dir_failed(wk, worker, dir, COWCOPY_OP_READ_DIR, "readdir", errno);
            break;
        }
        if (!handle_entry(wk, worker, dir, e->d_name, e->d_type))
            break;
    }
    closedir(d);
}
#endif

/* Open dir if need be, then read it. */
static void read_dir(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, char *dents)
{
    const cowcopy__walk_ops *ops = wk->p->ops;
    if (dir->fd < 0) {
        int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY | (wk->p->follow ? 0 : O_NOFOLLOW);
        dir->fd = SYS(openat)(dir->parent->fd, dir->name, flags, 0);
        if (dir->fd < 0) {
            ops->dir_failed(wk, worker, dir, COWCOPY_OP_OPEN_DIR, "openat", errno);
            return;
        }
    }
    if (ops->dir_begin && ops->dir_begin(wk, worker, dir) < 0)
        return;
    read_entries(wk, worker, dir, dents);
}

static void *worker_main(void *arg)
{
    cowcopy__walker *wk = arg;
    const cowcopy__walk_ops *ops = wk->p->ops;
    void *worker = ops->worker_init ? ops->worker_init(wk) : NULL;
    char *dents = malloc(DENTS_BUF);
    cowcopy__wdir *dir;
    while ((dir = pop(wk))) {
        if (dents && !atomic_load(&wk->stop))
            read_dir(wk, worker, dir, dents);
        else if (!dents)
            ops->dir_failed(wk, worker, dir, COWCOPY_OP_READ_DIR, "malloc", ENOMEM);
        finished_reading(wk, worker, dir);
    }
    free(dents);
    if (ops->worker_fini)
        ops->worker_fini(wk, worker);
    return NULL;
}

int cowcopy__walk(const cowcopy__walk_params *p)
{
    cowcopy__walker wk = {.p = p};
    pthread_mutex_init(&wk.lock, NULL);
    pthread_cond_init(&wk.wake, NULL);
    atomic_init(&wk.stop, false);
    atomic_init(&wk.result, 0);
    int r = 0;
    cowcopy__wdir *root = calloc(1, sizeof *root);
    if (root)
        root->path = strdup(p->root_path);
    if (!root || !root->path) {
        if (root)
            free(root);
        SYS(close)(p->root_fd);
        r = -ENOMEM;
        goto out;
    }
    root->name = root->path;
    root->fd = p->root_fd;
    root->dev = p->root_dev;
    root->ino = p->root_ino;
    atomic_init(&root->pending, 1);
    root->user = p->root_user;
    if ((r = push(&wk, root)) < 0) {
        free(root->path);
        free(root);
        SYS(close)(p->root_fd);
        goto out;
    }

    int extra = p->threads > 1 ? p->threads - 1 : 0;
    pthread_t *threads = extra ? calloc((size_t)extra, sizeof *threads) : NULL;
    int started = 0;
    for (int i = 0; i < extra && threads; i++, started++)
        if (pthread_create(&threads[i], NULL, worker_main, &wk) != 0)
            break; /* fewer helpers than asked for: the walk still completes */
    worker_main(&wk);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    r = atomic_load(&wk.result);
out:
    free(wk.stack);
    pthread_cond_destroy(&wk.wake);
    pthread_mutex_destroy(&wk.lock);
    return r;
}
