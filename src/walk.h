/*
 * walk.h - a parallel directory walker on directory descriptors.
 *
 * Used by the tree copier, `du` and `dedupe`. Threads are handed whole
 * directories (threads working in one directory contend on its lock): a
 * worker takes a directory from a shared LIFO stack, reads it with getdents,
 * calls `entry` for each name, and pushes the subdirectories it is told to
 * descend into. Everything is relative to directory descriptors (openat,
 * O_NOFOLLOW), so paths longer than PATH_MAX work and no symlink is followed
 * unless asked. A directory's descriptor stays open until its whole subtree
 * is done, then `dir_done` runs (post-order: the place to set a copied
 * directory's mode and times). LIFO order keeps the number of open
 * descriptors near depth x threads.
 */
#ifndef COWCOPY_WALK_H
#define COWCOPY_WALK_H

#include "internal.h"

#include <stdatomic.h>

typedef struct cowcopy__walker cowcopy__walker;

/* A directory being walked. */
typedef struct cowcopy__wdir {
    struct cowcopy__wdir *parent; /* NULL for the root */
    char *path;                   /* root path + "/" + names, for messages */
    const char *name;             /* last component (points into path) */
    int fd;                       /* open from when it is read until its subtree is done */
    dev_t dev;                    /* of the directory (from the entry's stat) */
    ino_t ino;
    unsigned depth;               /* root: 0 */
    atomic_int pending;           /* its own reading + each unfinished subdirectory */
    void *user;                   /* the caller's data for this directory */
} cowcopy__wdir;

enum { COWCOPY__WALK_NEXT = 0, COWCOPY__WALK_DESCEND = 1 };

typedef struct cowcopy__walk_ops {
    /* Per-thread state: made at a worker's start, given to every callback. */
    void *(*worker_init)(cowcopy__walker *wk);
    void (*worker_fini)(cowcopy__walker *wk, void *worker);
    /* Called for each entry of `dir` (not . or ..) by the thread reading it;
     * type is the d_type (DT_UNKNOWN possible). To descend into a directory,
     * set *child_user and return COWCOPY__WALK_DESCEND, with *child_st its
     * stat (dev/ino are used for loop checks). A negative errno stops the walk. */
    int (*entry)(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, const char *name,
                 unsigned char type, void **child_user, struct stat *child_st);
    /* After `dir` is opened and before it is read. A negative errno skips
     * reading it (report it yourself); dir_done still runs. May be NULL. */
    int (*dir_begin)(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir);
    /* `dir` could not be opened or read (op is COWCOPY_OP_OPEN_DIR or
     * COWCOPY_OP_READ_DIR). The walk goes on. */
    void (*dir_failed)(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, int op,
                       const char *call, int err);
    /* `dir` and everything below it are done (also after a stop: then
     * cowcopy__walk_stopped() is true and only resources should be freed). */
    void (*dir_done)(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir);
} cowcopy__walk_ops;

typedef struct cowcopy__walk_params {
    const cowcopy__walk_ops *ops;
    void *ctx;          /* the caller's, via cowcopy__walk_ctx() */
    int root_fd;        /* an open directory; the walker owns and closes it */
    const char *root_path;
    void *root_user;
    dev_t root_dev;
    ino_t root_ino;
    int threads;        /* >= 1; the calling thread is one of them */
    bool follow;        /* follow symlinks to directories when opening (-L) */
} cowcopy__walk_params;

/* Walk the tree. @return 0 when it ran to the end, the negative errno an
 * `entry` returned or -ECANCELED after cowcopy__walk_stop(), or an error
 * starting threads. */
int cowcopy__walk(const cowcopy__walk_params *p);

void *cowcopy__walk_ctx(cowcopy__walker *wk);
/* Ask every worker to stop after its current entry. Thread-safe. */
void cowcopy__walk_stop(cowcopy__walker *wk);
bool cowcopy__walk_stopped(cowcopy__walker *wk);

/* path + "/" + name into *buf (grown as needed). @return *buf or NULL. */
char *cowcopy__path_join(char **buf, size_t *cap, const char *path, const char *name);

#endif
