/*
 * usage.c - cowcopy_usage_measure(): storage used by a set of files, with
 * the meanings of `btrfs filesystem du -s`, on any filesystem with FIEMAP.
 *
 * The walker (walk.c) hands whole directories to worker threads. For each
 * regular file a worker reads the extent map (extents.c) once and counts:
 * its data bytes (total), those on extents FIEMAP does not flag shared
 * (exclusive), and the physical ranges of the shared ones, kept in a
 * per-worker range set per filesystem. When every worker is done, the sets
 * are merged: the distinct bytes of their union are "set shared", and
 * total - exclusive - set shared is what sharing saves inside the set.
 * Unshared extents need no set: nothing else references them, so their
 * bytes are distinct already. Memory is therefore 16 bytes per shared
 * extent (merged sets compact themselves) plus 16 per inode that may be
 * met twice (hard links; every file when several paths may overlap).
 *
 * Extents are clipped at end of file rounded up to the filesystem block, so
 * a file's last block counts whole (as the filesystem allocates it and as
 * btrfs du counts it) but blocks preallocated beyond the end (fallocate
 * --keep-size, XFS's speculative preallocation) do not.
 */
#include "extents.h"
#include "walk.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ----------------------------------------------------------- inode set */

/* (dev, ino) pairs, open addressing with linear probing. */
struct ino_key {
    uint64_t dev, ino;
};

struct inoset {
    struct ino_key *slots; /* empty slots are all ones */
    size_t cap, n;
};

/* A well-mixed hash of (dev, ino): inode numbers are often sequential. */
static size_t ino_hash(uint64_t dev, uint64_t ino)
{
    uint64_t x = ino ^ (dev * 0x9e3779b97f4a7c15ull); /* splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (size_t)x;
}

/* Is this slot free? */
static bool ino_empty(const struct ino_key *k)
{
    return k->dev == UINT64_MAX && k->ino == UINT64_MAX;
}

/* Put k in slots (cap a power of two) without checking for room. */
static bool ino_place(struct ino_key *slots, size_t cap, struct ino_key k)
{
    for (size_t i = ino_hash(k.dev, k.ino) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (ino_empty(&slots[i])) {
            slots[i] = k;
            return true;
        }
        if (slots[i].dev == k.dev && slots[i].ino == k.ino)
            return false;
    }
}

/* Add (dev, ino). @return 1 if it was new, 0 if already there, -ENOMEM. */
static int inoset_insert(struct inoset *s, dev_t dev, ino_t ino)
{
    if ((s->n + 1) * 10 > s->cap * 7) { /* keep the load under 70% */
        size_t cap = s->cap ? s->cap * 2 : 1024;
        struct ino_key *slots = malloc(cap * sizeof *slots);
        if (!slots)
            return -ENOMEM;
        memset(slots, 0xff, cap * sizeof *slots);
        for (size_t i = 0; i < s->cap; i++)
            if (!ino_empty(&s->slots[i]))
                ino_place(slots, cap, s->slots[i]);
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    if (!ino_place(s->slots, s->cap, (struct ino_key){(uint64_t)dev, (uint64_t)ino}))
        return 0;
    s->n++;
    return 1;
}

/* ------------------------------------------------------------- the job */

struct counts {
    uint64_t files, apparent, total, exclusive, inline_bytes;
    uint64_t private_in_shared; /* Darwin: private bytes of files whose ranges are kept */
};

/* A device seen during the walk: which filesystem it is, its block size. */
struct dev_info {
    dev_t dev;
    int fs;          /* index into job->fsids */
    uint64_t bsize;
};

struct usage_job {
    const cowcopy_usage_options *opts;
    pthread_mutex_t lock;       /* guards the members up to `callback_lock` */
    struct dev_info *devs;
    size_t ndevs, devcap;
    cowcopy__fsid *fsids;       /* one per physical address space */
    cowcopy__rangeset *shared;  /* per fsid: shared ranges of finished workers */
    size_t nfs, fscap;
    struct inoset seen;         /* inodes that may be met twice, and directories */
    struct counts c;            /* of finished workers */
    int merge_error;            /* -ENOMEM while merging a worker's ranges */
    pthread_mutex_t callback_lock;
    bool track_all;             /* several paths: every file goes through `seen` */
    dev_t root_dev;             /* of the path being walked (-x) */
    atomic_int first_error;
    atomic_uint_fast64_t errors;
};

struct usage_worker {
    struct usage_job *job;
    struct counts c;
    cowcopy__rangeset *shared; /* per fs index */
    size_t nshared;
    cowcopy__rangeset file_ranges; /* the current file's shared ranges */
    bool have_last;
    struct dev_info last;      /* cache of the last device met */
    char *path;                /* scratch for messages */
    size_t path_cap;
    cowcopy__extent_iter it;
};

/* Report a path that could not be measured: dirpath/name, or dirpath when
 * name is NULL. w may be NULL (a thread without state): then the path
 * reported is dirpath. */
static void report_to(struct usage_job *job, struct usage_worker *w, const char *dirpath,
                      const char *name, int op, const char *call, int err)
{
    cowcopy_error e = {0};
    cowcopy__fail(&e, op, call, err);
    atomic_fetch_add(&job->errors, 1);
    int expected = 0;
    atomic_compare_exchange_strong(&job->first_error, &expected, e.code);
    if (!job->opts->on_error)
        return;
    e.src = name && w ? cowcopy__path_join(&w->path, &w->path_cap, dirpath, name) : dirpath;
    if (!e.src)
        e.src = dirpath;
    pthread_mutex_lock(&job->callback_lock);
    job->opts->on_error(job->opts->error_data, &e);
    pthread_mutex_unlock(&job->callback_lock);
}

/* report_to() for a worker's own job. */
static void report(struct usage_worker *w, const char *dirpath, const char *name, int op,
                   const char *call, int err)
{
    report_to(w->job, w, dirpath, name, op, call, err);
}

/* Has (dev, ino) been met before? Records it. @return 1 new, 0 seen, -ENOMEM. */
static int first_meeting(struct usage_job *job, dev_t dev, ino_t ino)
{
    pthread_mutex_lock(&job->lock);
    int r = inoset_insert(&job->seen, dev, ino);
    pthread_mutex_unlock(&job->lock);
    return r;
}

/* Find or add the filesystem of a device (job->lock held). @return its
 * index or -ENOMEM. */
static int fs_index(struct usage_job *job, cowcopy__fsid id)
{
    for (size_t i = 0; i < job->nfs; i++)
        if (cowcopy__fsid_equal(job->fsids[i], id))
            return (int)i;
    if (job->nfs == job->fscap) {
        size_t cap = job->fscap ? job->fscap * 2 : 4;
        cowcopy__fsid *ids = realloc(job->fsids, cap * sizeof *ids);
        if (!ids)
            return -ENOMEM;
        job->fsids = ids;
        cowcopy__rangeset *sets = realloc(job->shared, cap * sizeof *sets);
        if (!sets)
            return -ENOMEM;
        job->shared = sets;
        job->fscap = cap;
    }
    job->fsids[job->nfs] = id;
    memset(&job->shared[job->nfs], 0, sizeof job->shared[0]);
    return (int)job->nfs++;
}

/* The filesystem and block size of the file fd (fstat *st), cached per
 * worker and per job. @return 0 or -ENOMEM. */
static int device_of(struct usage_worker *w, int fd, const struct stat *st, struct dev_info *out)
{
    if (w->have_last && w->last.dev == st->st_dev) {
        *out = w->last;
        return 0;
    }
    struct usage_job *job = w->job;
    bool found = false;
    pthread_mutex_lock(&job->lock);
    for (size_t i = 0; i < job->ndevs && !found; i++)
        if (job->devs[i].dev == st->st_dev) {
            *out = job->devs[i];
            found = true;
        }
    pthread_mutex_unlock(&job->lock);
    if (!found) {
        /* First file of this device: find its filesystem (outside the lock). */
        cowcopy__fsid id = cowcopy__fsid_of(fd, st);
        struct statfs sfs;
        uint64_t bsize = SYS(fstatfs)(fd, &sfs) == 0 && sfs.f_bsize > 0 ? (uint64_t)sfs.f_bsize : 1;
        int r = 0;
        pthread_mutex_lock(&job->lock);
        if (job->ndevs == job->devcap) {
            size_t cap = job->devcap ? job->devcap * 2 : 4;
            struct dev_info *d = realloc(job->devs, cap * sizeof *d);
            if (d) {
                job->devs = d;
                job->devcap = cap;
            } else {
                r = -ENOMEM;
            }
        }
        if (r == 0 && (r = fs_index(job, id)) >= 0) {
            *out = (struct dev_info){st->st_dev, r, bsize};
            job->devs[job->ndevs++] = *out; /* a duplicate after a race is harmless */
            r = 0;
        }
        pthread_mutex_unlock(&job->lock);
        if (r < 0)
            return r;
    }
    w->last = *out;
    w->have_last = true;
    return 0;
}

/* The worker's range set for filesystem index fs. @return it or NULL. */
static cowcopy__rangeset *worker_set(struct usage_worker *w, int fs)
{
    if ((size_t)fs >= w->nshared) {
        size_t n = (size_t)fs + 1;
        cowcopy__rangeset *s = realloc(w->shared, n * sizeof *s);
        if (!s)
            return NULL;
        memset(s + w->nshared, 0, (n - w->nshared) * sizeof *s);
        w->shared = s;
        w->nshared = n;
    }
    return &w->shared[fs];
}

/* Count the regular file fd (fstat *st). @return 0, or -errno with *op and
 * *call saying what failed. */
static int count_file(struct usage_worker *w, int fd, const struct stat *st, int *op,
                      const char **call)
{
    struct dev_info dev;
    int r = device_of(w, fd, st, &dev);
    if (r < 0) {
        *op = COWCOPY_OP_NONE;
        *call = "malloc";
        return r;
    }
    uint64_t size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
    uint64_t end = size % dev.bsize ? size + (dev.bsize - size % dev.bsize) : size;
    struct counts c = {.files = 1, .apparent = size};
    cowcopy__rangeset *ranges = &w->file_ranges;
    ranges->n = 0;
    cowcopy__extent_iter_init(&w->it, fd, size, end);
    cowcopy__extent e;
    while ((r = cowcopy__extent_next(&w->it, &e, call)) > 0) {
        if (e.flags & COWCOPY__EXTENT_NO_MAP) { /* data that cannot be shared (tmpfs) */
            c.total += e.length;
            c.exclusive += e.length;
        } else if (e.flags & COWCOPY__EXTENT_UNPLACED) {
            /* Inline data: its bytes up to end of file, not the block
             * length FIEMAP gives it. */
            if (e.logical < size)
                c.inline_bytes += (e.logical + e.length < size ? e.length : size - e.logical);
        } else {
            c.total += e.length;
            /* Encoded (compressed) extents are counted at their uncompressed
             * length from their disk address, as btrfs du counts them. */
#ifndef COWCOPY_DARWIN
            if (!(e.flags & COWCOPY__EXTENT_SHARED))
                c.exclusive += e.length;
            else
#endif
            if ((r = cowcopy__rangeset_add(ranges, e.physical, e.length)) < 0) {
                *call = "malloc";
                break;
            }
        }
    }
    if (r < 0) {
        *op = COWCOPY_OP_MAP_EXTENTS;
        return r;
    }
#ifdef COWCOPY_DARWIN
    /* Darwin does not flag shared extents; APFS tells each file's private
     * size instead (bytes nothing else references). A file with nothing
     * shared is all exclusive; one sharing some keeps its ranges, and its
     * private bytes are taken off the set's shared union at the end. */
    uint64_t placed = c.total - c.exclusive, private_bytes;
    if (placed > 0 && cowcopy__private_size(fd, &private_bytes) == 0) {
        /* Private size is in bytes; extents count whole blocks. */
        if (private_bytes % dev.bsize)
            private_bytes += dev.bsize - private_bytes % dev.bsize;
        if (private_bytes > placed)
            private_bytes = placed;
        c.exclusive += private_bytes;
        if (private_bytes == placed)
            ranges->n = 0;
        else
            c.private_in_shared = private_bytes;
    }
#endif
    cowcopy__rangeset *set = ranges->n ? worker_set(w, dev.fs) : NULL;
    if (ranges->n && (!set || cowcopy__rangeset_merge(set, ranges) < 0)) {
        *op = COWCOPY_OP_NONE;
        *call = "malloc";
        return -ENOMEM;
    }
    w->c.files += c.files;
    w->c.apparent += c.apparent;
    w->c.total += c.total;
    w->c.exclusive += c.exclusive;
    w->c.inline_bytes += c.inline_bytes;
    w->c.private_in_shared += c.private_in_shared;
    return 0;
}

/* Measure dirfd/name, a regular file by its directory entry (follow: the
 * path itself may be a symlink). Anything else found there is skipped. */
static void usage_file(struct usage_worker *w, int dirfd, const char *dirpath, const char *name,
                       bool follow)
{
    int fd = SYS(openat)(dirfd, name,
                         O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW), 0);
    if (fd < 0) {
        if (errno != ELOOP) /* ELOOP: replaced by a symlink meanwhile, which du skips */
            report(w, dirpath, name, COWCOPY_OP_OPEN_SOURCE, "open", errno);
        return;
    }
    struct stat st;
    int op = COWCOPY_OP_STAT_SOURCE;
    const char *call = "fstat";
    int r = SYS(fstat)(fd, &st) < 0 ? -errno : 0;
    if (r == 0 && S_ISREG(st.st_mode) && (w->job->track_all || st.st_nlink > 1)) {
        r = first_meeting(w->job, st.st_dev, st.st_ino);
        call = "malloc";
        op = COWCOPY_OP_NONE;
        if (r == 0) /* met already: counted once */
            st.st_mode = 0;
        else if (r > 0)
            r = 0;
    }
    if (r == 0 && S_ISREG(st.st_mode))
        r = count_file(w, fd, &st, &op, &call);
    SYS(close)(fd);
    if (r < 0)
        report(w, dirpath, name, op, call, -r);
}

/* ------------------------------------------------------------ walking */

/* The walker's entry callback: count regular files, descend into each
 * directory once (not into other filesystems with -x), skip the rest. */
static int usage_entry(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, const char *name,
                       unsigned char type, void **child_user, struct stat *child_st)
{
    (void)wk;
    struct usage_worker *w = worker;
    struct usage_job *job = w->job;
    if (type == DT_REG) {
        usage_file(w, dir->fd, dir->path, name, false);
        return COWCOPY__WALK_NEXT;
    }
    if (type != DT_DIR && type != DT_UNKNOWN)
        return COWCOPY__WALK_NEXT; /* symlinks, devices, FIFOs: no data of their own */
    struct stat st;
    if (SYS(fstatat)(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        report(w, dir->path, name, COWCOPY_OP_STAT_SOURCE, "fstatat", errno);
        return COWCOPY__WALK_NEXT;
    }
    if (S_ISREG(st.st_mode)) {
        usage_file(w, dir->fd, dir->path, name, false);
        return COWCOPY__WALK_NEXT;
    }
    if (!S_ISDIR(st.st_mode))
        return COWCOPY__WALK_NEXT;
    if ((job->opts->flags & COWCOPY_USAGE_ONE_FILE_SYSTEM) && st.st_dev != job->root_dev)
        return COWCOPY__WALK_NEXT;
    /* Each directory once: overlapping paths, bind mounts of a parent. */
    int r = first_meeting(job, st.st_dev, st.st_ino);
    if (r < 0)
        report(w, dir->path, name, COWCOPY_OP_READ_DIR, "malloc", -r);
    if (r <= 0)
        return COWCOPY__WALK_NEXT;
    *child_user = NULL;
    *child_st = st;
    return COWCOPY__WALK_DESCEND;
}

/* A directory could not be opened or read: report it, the walk goes on. */
static void usage_dir_failed(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir, int op,
                             const char *call, int err)
{
    report_to(cowcopy__walk_ctx(wk), worker, dir->path, NULL, op, call, err);
}

/* Nothing to do after a directory: du keeps no per-directory state. */
static void usage_dir_done(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir)
{
    (void)wk, (void)worker, (void)dir;
}

/* A worker's state for job. @return it, or NULL on ENOMEM. */
static struct usage_worker *worker_new(struct usage_job *job)
{
    struct usage_worker *w = calloc(1, sizeof *w);
    if (w)
        w->job = job;
    return w;
}

/* Hand a worker's counts and ranges to the job and free it. */
static void worker_finish(struct usage_worker *w)
{
    struct usage_job *job = w->job;
    pthread_mutex_lock(&job->lock);
    job->c.files += w->c.files;
    job->c.apparent += w->c.apparent;
    job->c.total += w->c.total;
    job->c.exclusive += w->c.exclusive;
    job->c.inline_bytes += w->c.inline_bytes;
    job->c.private_in_shared += w->c.private_in_shared;
    for (size_t i = 0; i < w->nshared && i < job->nfs; i++) {
        cowcopy__rangeset *dst = &job->shared[i], *src = &w->shared[i];
        if (dst->n == 0 && src->n > 0) { /* take the whole set over */
            cowcopy__rangeset_free(dst);
            *dst = *src;
            memset(src, 0, sizeof *src);
        } else if (cowcopy__rangeset_merge(dst, src) < 0) {
            job->merge_error = -ENOMEM;
        }
        cowcopy__rangeset_free(src);
    }
    pthread_mutex_unlock(&job->lock);
    free(w->shared);
    cowcopy__rangeset_free(&w->file_ranges);
    free(w->path);
    free(w);
}

/* Walker hooks: each thread's state is made at its start and handed to
 * the job at its end. */
static void *usage_worker_init(cowcopy__walker *wk)
{
    return worker_new(cowcopy__walk_ctx(wk));
}

static void usage_worker_fini(cowcopy__walker *wk, void *worker)
{
    (void)wk;
    if (worker)
        worker_finish(worker);
}

/* usage_entry, for a thread that may have failed to get its state: then
 * the walk stops (-ENOMEM), since its files could not be counted. */
static int usage_entry_checked(cowcopy__walker *wk, void *worker, cowcopy__wdir *dir,
                               const char *name, unsigned char type, void **child_user,
                               struct stat *child_st)
{
    if (!worker)
        return -ENOMEM;
    return usage_entry(wk, worker, dir, name, type, child_user, child_st);
}

static const cowcopy__walk_ops usage_ops = {
    .worker_init = usage_worker_init,
    .worker_fini = usage_worker_fini,
    .entry = usage_entry_checked,
    .dir_failed = usage_dir_failed,
    .dir_done = usage_dir_done,
};

/* ------------------------------------------------------------ the call */

void cowcopy_usage_options_init(cowcopy_usage_options *opts)
{
    memset(opts, 0, sizeof *opts);
}

/* Threads for a walk that mostly waits on metadata: one per CPU, up to 4. */
static int default_threads(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        return 1;
    return cpus > 4 ? 4 : (int)cpus;
}

/* Seconds elapsed since *start (CLOCK_MONOTONIC). */
static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Measure one path into the job, with the calling thread's worker `top`
 * for a path that is a file. */
static void measure_path(struct usage_job *job, struct usage_worker *top, const char *path,
                         int threads)
{
    struct stat st;
    if (!path || !*path) {
        report(top, path ? path : "", NULL, COWCOPY_OP_STAT_SOURCE, NULL, ENOENT);
        return;
    }
    if (SYS(fstatat)(AT_FDCWD, path, &st, 0) < 0) {
        report(top, path, NULL, COWCOPY_OP_STAT_SOURCE, "stat", errno);
        return;
    }
    if (S_ISREG(st.st_mode)) {
        usage_file(top, AT_FDCWD, "", path, true);
        return;
    }
    if (!S_ISDIR(st.st_mode))
        return; /* a device, FIFO or socket: no data extents */
    int r = first_meeting(job, st.st_dev, st.st_ino);
    if (r <= 0) {
        if (r < 0)
            report(top, path, NULL, COWCOPY_OP_READ_DIR, "malloc", -r);
        return;
    }
    int fd = SYS(openat)(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY, 0);
    if (fd < 0) {
        report(top, path, NULL, COWCOPY_OP_OPEN_DIR, "open", errno);
        return;
    }
    job->root_dev = st.st_dev;
    cowcopy__walk_params params = {
        .ops = &usage_ops, .ctx = job, .root_fd = fd, .root_path = path,
        .root_dev = st.st_dev, .root_ino = st.st_ino, .threads = threads,
    };
    r = cowcopy__walk(&params); /* owns and closes fd */
    if (r < 0)
        report(top, path, NULL, COWCOPY_OP_READ_DIR, NULL, -r);
}

int cowcopy_usage_measure(const char *const *paths, size_t count,
                          const cowcopy_usage_options *opts, cowcopy_usage *usage)
{
    cowcopy__fault_init_from_env();
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    cowcopy_usage local;
    if (!usage)
        usage = &local;
    memset(usage, 0, sizeof *usage);
    cowcopy_usage_options defaults;
    if (!opts) {
        cowcopy_usage_options_init(&defaults);
        opts = &defaults;
    }
    if ((opts->flags & ~COWCOPY_USAGE_FLAGS_ALL) || opts->threads < 0 || (count > 0 && !paths))
        return -EINVAL;

    struct usage_job job;
    memset(&job, 0, sizeof job);
    job.opts = opts;
    job.track_all = count > 1;
    pthread_mutex_init(&job.lock, NULL);
    pthread_mutex_init(&job.callback_lock, NULL);
    atomic_init(&job.first_error, 0);
    atomic_init(&job.errors, 0);
    int threads = opts->threads ? opts->threads : default_threads();

    struct usage_worker *top = worker_new(&job);
    if (!top) {
        pthread_mutex_destroy(&job.lock);
        pthread_mutex_destroy(&job.callback_lock);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++)
        measure_path(&job, top, paths[i], threads);
    worker_finish(top);

    uint64_t set_shared = 0;
    for (size_t i = 0; i < job.nfs; i++) {
        set_shared += cowcopy__rangeset_normalize(&job.shared[i]);
    set_shared = set_shared > job.c.private_in_shared ? set_shared - job.c.private_in_shared : 0;
        cowcopy__rangeset_free(&job.shared[i]);
    }
    usage->files = job.c.files;
    usage->apparent_bytes = job.c.apparent;
    usage->total_bytes = job.c.total;
    usage->exclusive_bytes = job.c.exclusive;
    usage->set_shared_bytes = set_shared;
    uint64_t distinct = job.c.exclusive + set_shared; /* <= total: union <= sum */
    usage->saved_bytes = job.c.total > distinct ? job.c.total - distinct : 0;
    usage->inline_bytes = job.c.inline_bytes;
    usage->errors = atomic_load(&job.errors);
    usage->threads = threads;
    usage->elapsed = seconds_since(&start);

    int r = atomic_load(&job.first_error);
    if (r == 0)
        r = job.merge_error;
    free(job.devs);
    free(job.fsids);
    free(job.shared);
    free(job.seen.slots);
    pthread_mutex_destroy(&job.lock);
    pthread_mutex_destroy(&job.callback_lock);
    return r;
}
