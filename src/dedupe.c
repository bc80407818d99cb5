/*
 * dedupe.c - making identical files share storage: cowcopy_dedupe().
 *
 * 1. Scan (dedupe_scan.c): every regular file under the paths, in parallel.
 * 2. Group by (filesystem, size); hard links are one candidate. A
 *    filesystem that cannot deduplicate (found by asking the kernel to
 *    dedupe a range of one candidate onto itself, which changes nothing) is
 *    reported once, and none of its files is read.
 * 3. Per group, in parallel: map each member's blocks (FIEMAP) and cluster
 *    members whose maps are equal: they already share everything and need
 *    not be read. Hash one member per cluster (first and last 4 KiB, then
 *    all of it, xxHash3; from the cache when unchanged), split by hash, and
 *    hand each set of identical clusters to the kernel: FIDEDUPERANGE from
 *    the largest cluster's file to every file of the others, 127
 *    destinations and 16 MiB per call (the chunk size older kernels
 *    accept), the last chunk ending at both files' end. The kernel compares
 *    the bytes under lock and shares only what is identical; every
 *    destination's status is checked.
 * 4. Sync each filesystem and measure the free space gained.
 */
#include "dedupe.h"

#include <errno.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void cowcopy_dedupe_options_init(cowcopy_dedupe_options *opts)
{
    memset(opts, 0, sizeof *opts);
}

static void snapshot(dd_job *r, cowcopy_dedupe_stats *s)
{
    memset(s, 0, sizeof *s);
    s->files_scanned = atomic_load(&r->scan.files_scanned);
    s->bytes_scanned = atomic_load(&r->scan.bytes_scanned);
    s->bytes_read = atomic_load(&r->bytes_read);
    s->cache_hits = atomic_load(&r->cache_hits);
    s->groups = atomic_load(&r->dup_groups);
    s->files_deduped = atomic_load(&r->files_deduped);
    s->bytes_deduped = atomic_load(&r->bytes_deduped);
    s->files_already_shared = atomic_load(&r->files_already);
    s->bytes_differed = atomic_load(&r->bytes_differed);
    s->errors = atomic_load(&r->scan.errors);
    s->freed_estimate = atomic_load(&r->freed_estimate);
    s->elapsed = (double)(now_ns() - r->start_ns) / 1e9;
}

static void maybe_progress(dd_job *r)
{
    const cowcopy_dedupe_options *o = r->opts;
    if (!o->progress)
        return;
    long long interval = (long long)(o->progress_ms ? o->progress_ms : 100) * 1000000;
    long long last = atomic_load(&r->last_progress_ns), now = now_ns();
    if (now - last < interval || !atomic_compare_exchange_strong(&r->last_progress_ns, &last, now))
        return;
    cowcopy_dedupe_stats s;
    snapshot(r, &s);
    pthread_mutex_lock(&r->scan.callback_lock);
    if (o->progress(o->progress_data, &s))
        atomic_store(&r->stop, true);
    pthread_mutex_unlock(&r->scan.callback_lock);
}

/* ------------------------------------------------------- filesystems */

/* Find or add the filesystem with id; @return its index or UINT32_MAX. */
static uint32_t fs_index(dd_scan *s, cowcopy__fsid id, int fd)
{
    for (size_t i = 0; i < s->nfss; i++)
        if (cowcopy__fsid_equal(s->fss[i].id, id)) {
            SYS(close)(fd);
            return (uint32_t)i;
        }
    if (s->nfss == s->fss_cap) {
        size_t want = s->fss_cap ? s->fss_cap * 2 : 4;
        dd_fs *p = realloc(s->fss, want * sizeof *p);
        if (!p) {
            SYS(close)(fd);
            return UINT32_MAX;
        }
        s->fss = p;
        s->fss_cap = want;
    }
    dd_fs *fs = &s->fss[s->nfss];
    *fs = (dd_fs){.id = id, .type = cowcopy__fs_name_fd(fd), .probe_fd = fd};
    fs->has_uuid = cowcopy__fs_uuid(fd, fs->uuid) == 0;
    return (uint32_t)s->nfss++;
}

/* Give every candidate its filesystem group, by opening one file per
 * device. Files that cannot be opened are reported and dropped. */
static void identify_filesystems(dd_worker *w)
{
    dd_scan *s = &w->run->scan;
    for (size_t i = 0; i < s->nfiles; i++) {
        dd_file *f = &s->files[i];
        dd_dev *d = &s->devs[f->dev];
        if (d->identified) {
            f->fs = d->fs;
            continue;
        }
        int fd = dd_open(s, f, &w->path, &w->cap);
        struct stat st;
        int r = fd < 0 ? fd : SYS(fstat)(fd, &st) < 0 ? -errno : 0;
        if (r < 0) {
            if (fd >= 0)
                SYS(close)(fd);
            dd_report(s, COWCOPY_OP_OPEN_SOURCE, "open", -r, w->path, NULL, NULL);
            f->fs = UINT32_MAX;
            continue;
        }
        uint32_t fs = fs_index(s, cowcopy__fsid_of(fd, &st), fd);
        if (fs == UINT32_MAX) {
            f->fs = UINT32_MAX;
            continue;
        }
        d->fs = fs;
        d->identified = true;
        f->fs = fs;
    }
}

static uint64_t free_bytes(int fd)
{
    struct statfs sfs;
    if (SYS(fstatfs)(fd, &sfs) < 0)
        return 0;
    return (uint64_t)sfs.f_bavail * (uint64_t)sfs.f_bsize;
}

/* ------------------------------------------------------- grouping */

static int by_group_key(const void *a, const void *b, void *ctx)
{
    const dd_file *files = ctx;
    const dd_file *x = &files[*(const size_t *)a], *y = &files[*(const size_t *)b];
    if (x->fs != y->fs)
        return x->fs < y->fs ? -1 : 1;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

/* Sort candidates, collapse hard links, find groups of equal (fs, size). */
static int build_groups(dd_job *r)
{
    dd_scan *s = &r->scan;
    r->order = malloc((s->nfiles ? s->nfiles : 1) * sizeof *r->order);
    if (!r->order)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->nfiles; i++)
        if (s->files[i].fs != UINT32_MAX)
            r->order[n++] = i;
    qsort_r(r->order, n, sizeof *r->order, by_group_key, s->files);
    /* One inode, one candidate: links are never broken. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept > 0) {
            const dd_file *a = &s->files[r->order[kept - 1]], *b = &s->files[r->order[i]];
            if (a->dev == b->dev && a->ino == b->ino)
                continue;
        }
        r->order[kept++] = r->order[i];
    }
    r->norder = kept;
    size_t cap = 0;
    for (size_t i = 0; i < kept;) {
        size_t j = i + 1;
        const dd_file *a = &s->files[r->order[i]];
        while (j < kept && s->files[r->order[j]].fs == a->fs &&
               s->files[r->order[j]].size == a->size)
            j++;
        if (j - i >= 2) {
            if (r->ngroups == cap) {
                cap = cap ? cap * 2 : 256;
                struct span *p = realloc(r->groups, cap * sizeof *p);
                if (!p)
                    return -ENOMEM;
                r->groups = p;
            }
            r->groups[r->ngroups++] = (struct span){i, j - i};
        }
        i = j;
    }
    return 0;
}

/* Probe each filesystem that has groups; report those that cannot dedupe. */
static void check_filesystems(dd_worker *w)
{
    dd_job *r = w->run;
    dd_scan *s = &r->scan;
    for (size_t g = 0; g < r->ngroups; g++) {
        const dd_file *f = &s->files[r->order[r->groups[g].start]];
        dd_fs *fs = &s->fss[f->fs];
        if (fs->dedupe_state != 0)
            continue;
        if (r->cache && !fs->has_uuid) /* cache keys need a UUID that survives remounts */
            dd_report(s, COWCOPY_OP_CACHE,
                      "this filesystem gives no stable UUID: its files are not cached", EINVAL,
                      r->opts->cache_path, NULL, fs->type);
        fs->free_before = free_bytes(fs->probe_fd);
        int fd = dd_open(s, f, &w->path, &w->cap);
        if (fd < 0)
            continue; /* reported when the group is handled */
        fs->dedupe_state = dd_probe(fd, f->size);
        SYS(close)(fd);
        if (fs->dedupe_state < 0) {
            /* Name the path the user gave that holds this file. */
            const char *where = w->path;
            if (f->dir != DD_NO_PARENT) {
                uint32_t d = f->dir;
                while (s->dirs[d].parent != DD_NO_PARENT)
                    d = s->dirs[d].parent;
                where = s->names + s->dirs[d].name;
            }
            dd_report(s, COWCOPY_OP_DEDUPE_FS, DD_PROBE_CALL, -fs->dedupe_state, where, NULL,
                      fs->type);
        }
    }
}

/* ------------------------------------------------------- one group */

static uint64_t map_hash(const dd_map *m)
{
    return m->count ? XXH3_64bits(m->runs, m->count * sizeof *m->runs) : 0;
}

static int by_map_hash(const void *a, const void *b)
{
    const dd_member *x = *(dd_member *const *)a, *y = *(dd_member *const *)b;
    return x->map_hash < y->map_hash ? -1 : x->map_hash > y->map_hash;
}

int dd_open_member(dd_worker *w, dd_member *m)
{
    dd_scan *s = &w->run->scan;
    const dd_file *f = &s->files[m->file];
    int fd = dd_open(s, f, &w->path, &w->cap);
    if (fd == -ENOENT)
        return -ESTALE; /* removed since the scan (a temporary): not a candidate now */
    if (fd < 0) {
        dd_report(s, COWCOPY_OP_OPEN_SOURCE, "open", -fd, w->path, NULL, NULL);
        return fd;
    }
    if (SYS(fstat)(fd, &m->st) < 0 || (uint64_t)m->st.st_ino != f->ino ||
        (uint64_t)m->st.st_size != f->size) {
        SYS(close)(fd);
        return -ESTALE; /* replaced or resized since the scan: not a candidate now */
    }
    return fd;
}

int dd_member_fd(dd_worker *w, dd_member *m)
{
    if (m->fd < 0)
        return dd_open_member(w, m);
    const dd_file *f = &w->run->scan.files[m->file];
    if (SYS(fstat)(m->fd, &m->st) < 0 || (uint64_t)m->st.st_size != f->size)
        return -ESTALE; /* resized since the scan: not a candidate now */
    return m->fd;
}

void dd_member_release(const dd_member *m, int fd)
{
    if (fd >= 0 && fd != m->fd)
        SYS(close)(fd);
}

/* Members of groups up to this size keep their file open from mapping to
 * sharing: one open and fstat per file instead of three. Bounded so that
 * all workers together stay far below the usual limit of 1024 descriptors. */
#define DD_KEEP_OPEN_MAX 32

/* Hashes of a cluster's representative, from the cache or by reading. */
static int hash_member(dd_worker *w, dd_member *m, bool full)
{
    dd_job *r = w->run;
    dd_scan *s = &r->scan;
    const dd_file *f = &s->files[m->file];
    const dd_fs *fs = &s->fss[f->fs];
    if (!m->have_edge && !m->have_full) {
        int found = dd_cache_get(r->cache, fs, &m->st, &m->edge, &m->full);
        m->have_edge = found & 1;
        m->have_full = found & 2;
        if (found)
            atomic_fetch_add(&r->cache_hits, 1);
    }
    bool small = f->size <= DD_SMALL_FILE;
    if (m->have_full || (!full && !small && m->have_edge))
        return 0;
    int fd = dd_member_fd(w, m);
    if (fd < 0)
        return fd;
    uint64_t read = 0;
    int rc;
    if (full || small) {
        rc = dd_hash_full(fd, f->size, &w->buf, &m->full, &read);
        m->have_full = rc == 0;
    } else {
        rc = dd_hash_edges(fd, f->size, &w->buf, &m->edge, &read);
        m->have_edge = rc == 0;
    }
    dd_member_release(m, fd);
    atomic_fetch_add(&r->bytes_read, read);
    if (rc < 0) {
        dd_report(s, COWCOPY_OP_READ, "read", -rc, dd_path(s, f, &w->path, &w->cap), NULL, NULL);
        return rc;
    }
    dd_cache_put(r->cache, fs, &m->st, m->have_edge ? &m->edge : NULL,
                 m->have_full ? &m->full : NULL);
    return 0;
}

static bool same_hash(const dd_hash *a, const dd_hash *b)
{
    return a->lo == b->lo && a->hi == b->hi;
}

void dd_would_share(dd_job *job, dd_member **dests, size_t n, uint64_t size)
{
    for (size_t i = 0; i < n; i++) {
        dests[i]->status = COWCOPY_DEDUPE_WOULD_SHARE;
        atomic_fetch_add(&job->files_deduped, 1);
        atomic_fetch_add(&job->bytes_deduped, size);
        atomic_fetch_add(&job->freed_estimate, size);
    }
}

/* Tell on_group about the files in members[] with status set, source first. */
static void report_group(dd_worker *w, dd_member **set, size_t n, size_t src)
{
    dd_job *r = w->run;
    if (!r->opts->on_group || n < 2)
        return;
    dd_scan *s = &r->scan;
    char **paths = calloc(n, sizeof *paths);
    const char **cpaths = calloc(n, sizeof *cpaths);
    int *status = calloc(n, sizeof *status);
    if (paths && cpaths && status) {
        size_t k = 0;
        for (size_t pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < n; i++) {
                if ((pass == 0) != (i == src))
                    continue;
                char *buf = NULL;
                size_t cap = 0;
                paths[k] = dd_path(s, &s->files[set[i]->file], &buf, &cap);
                if (!paths[k])
                    free(buf);
                cpaths[k] = paths[k] ? paths[k] : "?";
                status[k] = i == src ? COWCOPY_DEDUPE_SOURCE : set[i]->status;
                k++;
            }
        cowcopy_dedupe_group g = {.size = s->files[set[src]->file].size, .count = n,
                                  .paths = cpaths, .status = status};
        pthread_mutex_lock(&s->callback_lock);
        r->opts->on_group(r->opts->group_data, &g);
        pthread_mutex_unlock(&s->callback_lock);
        for (size_t i = 0; i < n; i++)
            free(paths[i]);
    }
    free(paths);
    free(cpaths);
    free(status);
}

/* A set of clusters with identical content: the largest cluster's
 * representative becomes the source, every file of the others shares it. */
static void handle_identical(dd_worker *w, dd_member **reps, size_t nreps,
                             dd_member *all, size_t nall)
{
    dd_job *r = w->run;
    /* The source: the largest cluster (the fewest files to change); among
     * equals one with other hard links, which Darwin could never replace. */
    dd_member *src = reps[0];
    for (size_t i = 1; i < nreps; i++)
        if (reps[i]->cluster_size > src->cluster_size ||
            (reps[i]->cluster_size == src->cluster_size && reps[i]->st.st_nlink > 1 &&
             src->st.st_nlink <= 1))
            src = reps[i];
    size_t nset = 0, ndests = 0;
    dd_member **set = malloc(nall * sizeof *set), **dests = malloc(nall * sizeof *dests);
    if (!set || !dests) {
        free(set);
        free(dests);
        return;
    }
    size_t src_pos = 0;
    for (size_t k = 0; k < nreps; k++)
        reps[k]->in_set = true;
    for (size_t i = 0; i < nall; i++) {
        dd_member *m = &all[i];
        if (!m->usable || !all[m->cluster].in_set)
            continue;
        if (m == src)
            src_pos = nset;
        else if (&all[m->cluster] == src) {
            m->status = COWCOPY_DEDUPE_ALREADY;
            atomic_fetch_add(&r->files_already, 1);
        } else {
            dests[ndests++] = m;
        }
        set[nset++] = m;
    }
    for (size_t k = 0; k < nreps; k++)
        reps[k]->in_set = false;
    atomic_fetch_add(&r->dup_groups, 1);
    if (ndests > 0)
        dd_share(w, src, dests, ndests);
    report_group(w, set, nset, src_pos);
    free(set);
    free(dests);
}

static void handle_group(dd_worker *w, const struct span *g)
{
    dd_job *r = w->run;
    dd_scan *s = &r->scan;
    if (s->fss[s->files[r->order[g->start]].fs].dedupe_state < 0)
        return; /* reported once for the whole filesystem */
    size_t n = g->count;
    dd_member *m = calloc(n, sizeof *m);
    dd_member **by = malloc(n * sizeof *by);
    if (!m || !by) {
        free(m);
        free(by);
        dd_report(s, COWCOPY_OP_READ, "malloc", ENOMEM, "?", NULL, NULL);
        return;
    }
    /* Map every member's blocks. */
    size_t usable = 0;
    for (size_t i = 0; i < n; i++) {
        m[i].file = r->order[g->start + i];
        m[i].status = -1;
        m[i].fd = -1;
        int fd = dd_open_member(w, &m[i]);
        if (fd < 0)
            continue;
        const char *call;
        int rc = dd_map_load(fd, s->files[m[i].file].size, &m[i].map, &call);
        if (rc == 0 && n <= DD_KEEP_OPEN_MAX && m[i].map.count && !m[i].map.inline_data)
            m[i].fd = fd;
        else
            SYS(close)(fd);
        if (rc < 0) {
            dd_report(s, COWCOPY_OP_READ, call, -rc,
                      dd_path(s, &s->files[m[i].file], &w->path, &w->cap), NULL, NULL);
            continue;
        }
        if (m[i].map.count == 0 || m[i].map.inline_data)
            continue; /* no data, or data that cannot be shared */
        m[i].usable = true;
        m[i].map_hash = map_hash(&m[i].map);
        by[usable++] = &m[i];
    }
    /* Cluster members with equal maps: they share all their blocks already. */
    qsort(by, usable, sizeof *by, by_map_hash);
    size_t nreps = 0;
    for (size_t i = 0; i < usable; i++) {
        dd_member *rep = NULL;
        for (size_t j = i; j > 0 && by[j - 1]->map_hash == by[i]->map_hash; j--)
            if (dd_map_equal(&m[by[j - 1]->cluster].map, &by[i]->map)) {
                rep = &m[by[j - 1]->cluster];
                break;
            }
        if (!rep) {
            rep = by[i];
            nreps++;
        }
        by[i]->cluster = (size_t)(rep - m);
        rep->cluster_size++;
    }
    /* Representatives, hashed: all of a small file at once; for bigger ones
     * the first and last blocks, and all of it only where those collide. A
     * single cluster needs no hash: its members already share everything. */
    bool small = s->files[r->order[g->start]].size <= DD_SMALL_FILE;
    if (nreps == 1) {
        dd_member *only = &m[by[0]->cluster];
        if (only->cluster_size >= 2)
            handle_identical(w, &only, 1, m, n);
        nreps = 0;
    }
    dd_member **reps = malloc((nreps ? nreps : 1) * sizeof *reps);
    size_t k = 0;
    for (size_t i = 0; reps && nreps > 0 && i < usable; i++)
        if (&m[by[i]->cluster] == by[i] && hash_member(w, by[i], small) == 0)
            reps[k++] = by[i];
    nreps = reps ? k : 0;
    for (size_t i = 0; !small && i < nreps; i++)
        for (size_t j = 0; !reps[i]->have_full && j < nreps; j++)
            if (j != i && same_hash(&reps[j]->edge, &reps[i]->edge))
                hash_member(w, reps[i], true);
    /* Sets of representatives with equal full hashes: one kernel call each.
     * A lone cluster of several members is a group already deduplicated. */
    dd_member **set = malloc((nreps ? nreps : 1) * sizeof *set);
    bool *done = calloc(nreps ? nreps : 1, sizeof *done);
    for (size_t i = 0; set && done && i < nreps; i++) {
        if (done[i])
            continue;
        size_t nset = 0;
        set[nset++] = reps[i];
        done[i] = true;
        for (size_t j = i + 1; reps[i]->have_full && j < nreps; j++)
            if (!done[j] && reps[j]->have_full && same_hash(&reps[j]->full, &reps[i]->full)) {
                set[nset++] = reps[j];
                done[j] = true;
            }
        if (nset >= 2 || reps[i]->cluster_size >= 2)
            handle_identical(w, set, nset, m, n);
        if (atomic_load(&r->stop))
            break;
    }
    free(set);
    free(done);
    free(reps);
    for (size_t i = 0; i < n; i++) {
        dd_map_free(&m[i].map);
        if (m[i].fd >= 0)
            SYS(close)(m[i].fd);
    }
    free(m);
    free(by);
}

static void *group_worker(void *arg)
{
    dd_worker *w = arg;
    dd_job *r = w->run;
    for (;;) {
        size_t g = atomic_fetch_add(&r->next_group, 1);
        if (g >= r->ngroups || atomic_load(&r->stop))
            break;
        handle_group(w, &r->groups[g]);
        maybe_progress(r);
    }
    return NULL;
}

static void worker_free(dd_worker *w)
{
    cowcopy__buf_free(&w->buf);
    free(w->path);
    free(w->path2);
}

/* ------------------------------------------------------- the run */

/* Dedupe mostly waits for reads (FIEMAP, small files read whole): more
 * reads in flight than CPUs keep the device busy. Twice the CPUs, at least
 * 4, at most 8: on 2 CPUs, issue 5's tree regenerated before each run and
 * the page cache dropped, 3 runs each, medians -j2/-j4/-j8 were 2.03/1.82/
 * 1.75 s on loop-mounted btrfs and 1.74/1.36/1.40 s on XFS. */
static int default_threads(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long n = cpus > 0 ? 2 * cpus : 4;
    return (int)(n < 4 ? 4 : n > 8 ? 8 : n);
}

int cowcopy_dedupe(const char *const *paths, size_t npaths, const cowcopy_dedupe_options *opts,
                   cowcopy_dedupe_stats *stats)
{
    cowcopy__fault_init_from_env();
    cowcopy_dedupe_options defaults;
    if (!opts) {
        cowcopy_dedupe_options_init(&defaults);
        opts = &defaults;
    }
    if (stats)
        memset(stats, 0, sizeof *stats);
    if ((opts->flags & ~COWCOPY_DEDUPE_FLAGS_ALL) || opts->threads < 0 || (npaths && !paths))
        return -EINVAL;
    dd_job *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->opts = opts;
    r->dry_run = opts->flags & COWCOPY_DEDUPE_DRY_RUN;
    r->start_ns = now_ns();
    dd_scan_init(&r->scan, opts);
    int threads = opts->threads ? opts->threads : default_threads();

    int rc = 0;
    for (size_t i = 0; i < npaths && rc == 0; i++) {
        int sr = dd_scan_path(&r->scan, paths[i], threads);
        if (sr == -ENOMEM)
            rc = sr;
        maybe_progress(r);
    }
    dd_worker *ws = calloc((size_t)threads, sizeof *ws);
    if (!ws)
        rc = -ENOMEM;
    if (rc == 0) {
        for (int i = 0; i < threads; i++)
            ws[i].run = r;
        if (opts->cache_path)
            r->cache = dd_cache_open(opts->cache_path, &r->scan);
        identify_filesystems(&ws[0]);
        rc = build_groups(r);
    }
    if (rc == 0) {
        check_filesystems(&ws[0]);
        pthread_t *tids = calloc((size_t)threads, sizeof *tids);
        int started = 0;
        for (int i = 1; tids && i < threads; i++, started++)
            if (pthread_create(&tids[i], NULL, group_worker, &ws[i]) != 0)
                break;
        group_worker(&ws[0]);
        for (int i = 1; i <= started; i++)
            pthread_join(tids[i], NULL);
        free(tids);
        dd_cache_close(r->cache);
        r->cache = NULL;
    }
    /* Space actually freed: sync each filesystem, then compare free space
     * (not when no file was changed: the delta would be other writers'). */
    int64_t freed = 0;
    bool changed = !r->dry_run && atomic_load(&r->files_deduped) > 0;
    for (size_t i = 0; changed && i < r->scan.nfss; i++) {
        dd_fs *fs = &r->scan.fss[i];
        if (fs->dedupe_state != 1)
            continue;
        SYS(syncfs)(fs->probe_fd);
        freed += (int64_t)free_bytes(fs->probe_fd) - (int64_t)fs->free_before;
    }
    if (stats) {
        snapshot(r, stats);
        stats->freed = freed;
    }
    if (rc == 0)
        rc = atomic_load(&r->stop) ? -ECANCELED : atomic_load(&r->scan.first_error);
    for (int i = 0; ws && i < threads; i++)
        worker_free(&ws[i]);
    free(ws);
    dd_cache_close(r->cache);
    free(r->order);
    free(r->groups);
    dd_scan_free(&r->scan);
    free(r);
    return rc;
}
