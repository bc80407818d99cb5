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

enum {
    DEDUPE_CHUNK = 16 * 1024 * 1024,
    DEDUPE_MAX_DESTS = 127, /* what fits the kernel's one-page argument */
};

struct run {
    dd_scan scan;
    dd_cache *cache;
    const cowcopy_dedupe_options *opts;
    bool dry_run;
    size_t *order;   /* file indices, sorted by (fs, size, dev, ino), hard links collapsed */
    size_t norder;
    struct span {
        size_t start, count;
    } *groups;       /* runs of equal (fs, size) in order, 2 or more files */
    size_t ngroups;
    atomic_size_t next_group;
    atomic_uint_fast64_t bytes_read, cache_hits, dup_groups, files_deduped, bytes_deduped;
    atomic_uint_fast64_t files_already, bytes_differed, freed_estimate;
    atomic_llong last_progress_ns;
    atomic_bool stop;
    long long start_ns;
};

/* One member of a group while it is being handled. */
struct member {
    size_t file;      /* index into scan.files */
    struct stat st;
    dd_map map;
    uint64_t map_hash;
    size_t cluster;   /* index of the member that represents its cluster */
    size_t cluster_size;
    dd_hash edge, full;
    bool have_edge, have_full;
    int status;       /* enum cowcopy_dedupe_status, -1 while undecided */
    bool usable;      /* has data that can be shared */
    bool in_set;      /* its cluster is in the identical set being handled */
};

struct worker {
    struct run *run;
    cowcopy__buf buf;
    char *path, *path2;
    size_t cap, cap2;
};

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

static void snapshot(struct run *r, cowcopy_dedupe_stats *s)
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

static void maybe_progress(struct run *r)
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
static uint32_t fs_index(dd_scan *s, const cowcopy__fsid *id, int fd)
{
    for (size_t i = 0; i < s->nfss; i++)
        if (cowcopy__fsid_equal(&s->fss[i].id, id)) {
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
    s->fss[s->nfss] = (dd_fs){.id = *id, .type = cowcopy__fs_name_fd(fd), .probe_fd = fd};
    return (uint32_t)s->nfss++;
}

/* Give every candidate its filesystem group, by opening one file per
 * device. Files that cannot be opened are reported and dropped. */
static void identify_filesystems(struct worker *w)
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
        cowcopy__fsid id;
        int r = fd < 0 ? fd : cowcopy__fsid_of(fd, d->dev, &id);
        if (r < 0) {
            if (fd >= 0)
                SYS(close)(fd);
            dd_report(s, COWCOPY_OP_OPEN_SOURCE, "open", -r, w->path, NULL, NULL);
            f->fs = UINT32_MAX;
            continue;
        }
        uint32_t fs = fs_index(s, &id, fd);
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

/* Can this filesystem deduplicate? Asks the kernel to dedupe a range of fd
 * onto itself: a no-op where supported (the status is then EINVAL for the
 * overlap), an ioctl error such as EOPNOTSUPP where not (ext4, tmpfs).
 * @return 1 yes, or -errno. */
static int probe_dedupe(int fd, uint64_t size)
{
    struct {
        struct file_dedupe_range r;
        struct file_dedupe_range_info info[1];
    } arg;
    memset(&arg, 0, sizeof arg);
    arg.r.src_length = size < DEDUPE_CHUNK ? size : DEDUPE_CHUNK;
    arg.r.dest_count = 1;
    arg.info[0].dest_fd = fd;
    if (SYS(fideduperange)(fd, &arg.r) == 0)
        return 1;
    int err = errno;
    if (err == EOPNOTSUPP || err == ENOTTY || err == EINVAL || err == EXDEV || err == ENOSYS)
        return -err;
    return 1; /* EPERM, EACCES...: a per-file matter, found out file by file */
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
static int build_groups(struct run *r)
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
static void check_filesystems(struct worker *w)
{
    struct run *r = w->run;
    dd_scan *s = &r->scan;
    for (size_t g = 0; g < r->ngroups; g++) {
        const dd_file *f = &s->files[r->order[r->groups[g].start]];
        dd_fs *fs = &s->fss[f->fs];
        if (fs->dedupe_state != 0)
            continue;
        fs->free_before = free_bytes(fs->probe_fd);
        int fd = dd_open(s, f, &w->path, &w->cap);
        if (fd < 0)
            continue; /* reported when the group is handled */
        fs->dedupe_state = probe_dedupe(fd, f->size);
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
            dd_report(s, COWCOPY_OP_DEDUPE_FS, "FIDEDUPERANGE", -fs->dedupe_state, where, NULL,
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
    const struct member *x = *(struct member *const *)a, *y = *(struct member *const *)b;
    return x->map_hash < y->map_hash ? -1 : x->map_hash > y->map_hash;
}

/* Open f, checking it is still the inode the scan saw. @return fd or -errno. */
static int open_member(struct worker *w, struct member *m)
{
    dd_scan *s = &w->run->scan;
    const dd_file *f = &s->files[m->file];
    int fd = dd_open(s, f, &w->path, &w->cap);
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

/* Hashes of a cluster's representative, from the cache or by reading. */
static int hash_member(struct worker *w, struct member *m, bool full)
{
    struct run *r = w->run;
    dd_scan *s = &r->scan;
    const dd_file *f = &s->files[m->file];
    const cowcopy__fsid *fsid = &s->fss[f->fs].id;
    if (!m->have_edge && !m->have_full) {
        int found = dd_cache_get(r->cache, fsid, &m->st, &m->edge, &m->full);
        m->have_edge = found & 1;
        m->have_full = found & 2;
        if (found)
            atomic_fetch_add(&r->cache_hits, 1);
    }
    bool small = f->size <= DD_SMALL_FILE;
    if (m->have_full || (!full && !small && m->have_edge))
        return 0;
    int fd = open_member(w, m);
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
    SYS(close)(fd);
    atomic_fetch_add(&r->bytes_read, read);
    if (rc < 0) {
        dd_report(s, COWCOPY_OP_READ, "read", -rc, dd_path(s, f, &w->path, &w->cap), NULL, NULL);
        return rc;
    }
    dd_cache_put(r->cache, fsid, &m->st, m->have_edge ? &m->edge : NULL,
                 m->have_full ? &m->full : NULL);
    return 0;
}

static bool same_hash(const dd_hash *a, const dd_hash *b)
{
    return a->lo == b->lo && a->hi == b->hi;
}

/* Share src's data with each of the n destinations (not in a dry run):
 * sets their status and adds to the counters. */
static void share(struct worker *w, struct member *src, struct member **dests, size_t n)
{
    struct run *r = w->run;
    dd_scan *s = &r->scan;
    uint64_t size = s->files[src->file].size;
    if (r->dry_run) {
        for (size_t i = 0; i < n; i++) {
            dests[i]->status = COWCOPY_DEDUPE_WOULD_SHARE;
            atomic_fetch_add(&r->files_deduped, 1);
            atomic_fetch_add(&r->bytes_deduped, size);
            atomic_fetch_add(&r->freed_estimate, size);
        }
        return;
    }
    int src_fd = open_member(w, src);
    if (src_fd < 0) {
        for (size_t i = 0; i < n; i++)
            dests[i]->status = COWCOPY_DEDUPE_FAILED;
        return;
    }
    char *src_path = strdup(w->path);
    struct file_dedupe_range *arg =
        calloc(1, sizeof *arg + DEDUPE_MAX_DESTS * sizeof(struct file_dedupe_range_info));
    int fds[DEDUPE_MAX_DESTS];
    uint64_t deduped[DEDUPE_MAX_DESTS];
    for (size_t base = 0; arg && base < n; base += DEDUPE_MAX_DESTS) {
        size_t batch = n - base < DEDUPE_MAX_DESTS ? n - base : DEDUPE_MAX_DESTS;
        for (size_t i = 0; i < batch; i++) {
            fds[i] = open_member(w, dests[base + i]);
            deduped[i] = 0;
            /* ESTALE: changed since it was read; not shared, and not an error. */
            dests[base + i]->status = fds[i] == -ESTALE ? COWCOPY_DEDUPE_DIFFERED
                                      : fds[i] < 0      ? COWCOPY_DEDUPE_FAILED
                                                        : -1;
        }
        for (uint64_t off = 0; off < size && !atomic_load(&r->stop); off += DEDUPE_CHUNK) {
            uint64_t len = size - off < DEDUPE_CHUNK ? size - off : DEDUPE_CHUNK;
            uint16_t count = 0;
            size_t which[DEDUPE_MAX_DESTS];
            for (size_t i = 0; i < batch; i++) {
                /* One that differed goes on: its equal chunks still share. */
                if (fds[i] < 0 || dests[base + i]->status == COWCOPY_DEDUPE_FAILED)
                    continue;
                arg->info[count] = (struct file_dedupe_range_info){.dest_fd = fds[i],
                                                                   .dest_offset = off};
                which[count++] = i;
            }
            if (count == 0)
                break;
            arg->src_offset = off;
            arg->src_length = len;
            arg->dest_count = count;
            int rc;
            do
                rc = SYS(fideduperange)(src_fd, arg);
            while (rc < 0 && errno == EINTR);
            int err = errno;
            for (uint16_t k = 0; k < count; k++) {
                size_t i = which[k];
                struct member *d = dests[base + i];
                const struct file_dedupe_range_info *info = &arg->info[k];
                int status = rc < 0 ? -err : info->status;
                if (status == FILE_DEDUPE_RANGE_SAME) {
                    deduped[i] += info->bytes_deduped;
                } else if (status == FILE_DEDUPE_RANGE_DIFFERS) {
                    atomic_fetch_add(&r->bytes_differed, len);
                    d->status = COWCOPY_DEDUPE_DIFFERED;
                } else {
                    d->status = COWCOPY_DEDUPE_FAILED;
                    dd_report(s, COWCOPY_OP_DEDUPE, "FIDEDUPERANGE", status < 0 ? -status : EIO,
                              src_path ? src_path : "?",
                              dd_path(s, &s->files[d->file], &w->path2, &w->cap2),
                              s->fss[s->files[d->file].fs].type);
                }
            }
        }
        for (size_t i = 0; i < batch; i++) {
            struct member *d = dests[base + i];
            if (fds[i] >= 0)
                SYS(close)(fds[i]);
            atomic_fetch_add(&r->bytes_deduped, deduped[i]);
            if (d->status == -1) {
                d->status = COWCOPY_DEDUPE_SHARED;
                atomic_fetch_add(&r->files_deduped, 1);
                atomic_fetch_add(&r->freed_estimate, size);
            }
        }
    }
    if (!arg)
        for (size_t i = 0; i < n; i++)
            dests[i]->status = COWCOPY_DEDUPE_FAILED;
    free(arg);
    free(src_path);
    SYS(close)(src_fd);
}

/* Tell on_group about the files in members[] with status set, source first. */
static void report_group(struct worker *w, struct member **set, size_t n, size_t src)
{
    struct run *r = w->run;
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
static void handle_identical(struct worker *w, struct member **reps, size_t nreps,
                             struct member *all, size_t nall)
{
    struct run *r = w->run;
    struct member *src = reps[0];
    for (size_t i = 1; i < nreps; i++)
        if (reps[i]->cluster_size > src->cluster_size)
            src = reps[i];
    size_t nset = 0, ndests = 0;
    struct member **set = malloc(nall * sizeof *set), **dests = malloc(nall * sizeof *dests);
    if (!set || !dests) {
        free(set);
        free(dests);
        return;
    }
    size_t src_pos = 0;
    for (size_t k = 0; k < nreps; k++)
        reps[k]->in_set = true;
    for (size_t i = 0; i < nall; i++) {
        struct member *m = &all[i];
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
        share(w, src, dests, ndests);
    report_group(w, set, nset, src_pos);
    free(set);
    free(dests);
}

static void handle_group(struct worker *w, const struct span *g)
{
    struct run *r = w->run;
    dd_scan *s = &r->scan;
    if (s->fss[s->files[r->order[g->start]].fs].dedupe_state < 0)
        return; /* reported once for the whole filesystem */
    size_t n = g->count;
    struct member *m = calloc(n, sizeof *m);
    struct member **by = malloc(n * sizeof *by);
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
        int fd = open_member(w, &m[i]);
        if (fd < 0)
            continue;
        int rc = dd_map_load(fd, &m[i].map);
        SYS(close)(fd);
        if (rc < 0) {
            dd_report(s, COWCOPY_OP_READ, "FIEMAP", -rc,
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
        struct member *rep = NULL;
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
        struct member *only = &m[by[0]->cluster];
        if (only->cluster_size >= 2)
            handle_identical(w, &only, 1, m, n);
        nreps = 0;
    }
    struct member **reps = malloc((nreps ? nreps : 1) * sizeof *reps);
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
    struct member **set = malloc((nreps ? nreps : 1) * sizeof *set);
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
    for (size_t i = 0; i < n; i++)
        dd_map_free(&m[i].map);
    free(m);
    free(by);
}

static void *group_worker(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;
    for (;;) {
        size_t g = atomic_fetch_add(&r->next_group, 1);
        if (g >= r->ngroups || atomic_load(&r->stop))
            break;
        handle_group(w, &r->groups[g]);
        maybe_progress(r);
    }
    return NULL;
}

static void worker_free(struct worker *w)
{
    cowcopy__buf_free(&w->buf);
    free(w->path);
    free(w->path2);
}

/* ------------------------------------------------------- the run */

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
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->opts = opts;
    r->dry_run = opts->flags & COWCOPY_DEDUPE_DRY_RUN;
    r->start_ns = now_ns();
    dd_scan_init(&r->scan, opts);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = opts->threads ? opts->threads : (cpus >= 2 ? 2 : 1);

    int rc = 0;
    for (size_t i = 0; i < npaths && rc == 0; i++) {
        int sr = dd_scan_path(&r->scan, paths[i], threads);
        if (sr == -ENOMEM)
            rc = sr;
        maybe_progress(r);
    }
    struct worker *ws = calloc((size_t)threads, sizeof *ws);
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
    /* Space actually freed: sync each filesystem, then compare free space. */
    int64_t freed = 0;
    for (size_t i = 0; !r->dry_run && i < r->scan.nfss; i++) {
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
