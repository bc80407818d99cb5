/*
 * dedupe.h - what the dedupe files share: the candidate table built by the
 * scan (dedupe_scan.c), content hashing (dedupe_hash.c), the hash cache
 * (dedupe_cache.c) and extent maps (dedupe_map.c), used by the engine
 * (dedupe.c).
 *
 * Memory: a candidate is 32 bytes plus its name; paths are rebuilt from a
 * directory table when needed, so 200,000 files cost a few megabytes.
 */
#ifndef COWCOPY_DEDUPE_H
#define COWCOPY_DEDUPE_H

#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* ------------------------------------------------------- dedupe_scan.c */

/* One candidate: a regular file met by the scan. */
typedef struct dd_file {
    uint64_t size;
    uint64_t ino;
    uint32_t dev;   /* index into dd_scan.devs */
    uint32_t dir;   /* index into dd_scan.dirs */
    uint32_t name;  /* offset of its name in dd_scan.names */
    uint32_t fs;    /* filesystem group (index into dd_scan.fss), set after the scan */
} dd_file;

typedef struct dd_dir {
    uint32_t parent; /* DD_NO_PARENT for a path given by the user */
    uint32_t name;   /* offset in names: a component, or the whole given path */
} dd_dir;

#define DD_NO_PARENT UINT32_MAX

/* A device met during the scan and the filesystem it belongs to. */
typedef struct dd_dev {
    dev_t dev;
    uint32_t fs;       /* index into dd_scan.fss */
    bool identified;
} dd_dev;

/* A filesystem (btrfs subvolumes of one filesystem are one). */
typedef struct dd_fs {
    cowcopy__fsid id;          /* grouping: btrfs subvolumes together */
    unsigned char uuid[16];    /* the cache's key part, if has_uuid */
    bool has_uuid;
    const char *type;  /* "btrfs", ... (static) */
    int probe_fd;      /* a directory on it, open during the run (statfs, syncfs) */
    int dedupe_state;  /* 0 untried, 1 can deduplicate, -errno cannot */
    uint64_t free_before;
} dd_fs;

typedef struct dd_scan {
    pthread_mutex_t lock;
    dd_file *files;
    size_t nfiles, files_cap;
    dd_dir *dirs;
    size_t ndirs, dirs_cap;
    char *names;
    size_t names_len, names_cap;
    dd_dev *devs;
    size_t ndevs, devs_cap;
    dd_fs *fss;
    size_t nfss, fss_cap;
    /* options and reporting */
    uint64_t min_size;
    time_t newest_mtime;  /* --min-age: files modified after this are left alone */
    bool one_file_system;
    const cowcopy_dedupe_options *opts;
    atomic_uint_fast64_t files_scanned, bytes_scanned, errors;
    atomic_int first_error;
    pthread_mutex_t callback_lock; /* callbacks run one at a time */
} dd_scan;

int dd_scan_init(dd_scan *s, const cowcopy_dedupe_options *opts);
void dd_scan_free(dd_scan *s);
/* Add the file or tree at path to the candidates. Failures inside are
 * reported and counted; @return a negative errno only when path itself
 * cannot be examined (also reported). */
int dd_scan_path(dd_scan *s, const char *path, int threads);
/* The full path of f into *buf (grown as needed). @return *buf or NULL. */
char *dd_path(const dd_scan *s, const dd_file *f, char **buf, size_t *cap);
/* Open f read-only (O_NOATIME where permitted), also when its path is
 * longer than PATH_MAX. @return an fd or -errno. */
int dd_open(const dd_scan *s, const dd_file *f, char **buf, size_t *cap);
/* Open the directory holding f; *name is f's name in it (in *buf or the
 * scan's tables). @return the directory's fd or -errno. */
int dd_open_parent(const dd_scan *s, const dd_file *f, char **buf, size_t *cap, const char **name);
/* Report an error about f (or about src/dst paths directly) to on_error. */
void dd_report(dd_scan *s, int op, const char *call, int err, const char *src, const char *dst,
               const char *fs);

/* ------------------------------------------------------- dedupe_hash.c */

typedef struct dd_hash {
    uint64_t lo, hi; /* XXH3 128-bit */
} dd_hash;

/* Hash of the first and last 4 KiB (the whole file if it is at most 8 KiB). */
int dd_hash_edges(int fd, uint64_t size, cowcopy__buf *buf, dd_hash *out, uint64_t *read);
/* Hash of the whole content. */
int dd_hash_full(int fd, uint64_t size, cowcopy__buf *buf, dd_hash *out, uint64_t *read);
/* Files up to this size are hashed whole at once (no edge pass). */
#define DD_EDGE_BLOCK 4096u
#define DD_SMALL_FILE (64u * 1024u)

/* ------------------------------------------------------ dedupe_cache.c */

typedef struct dd_cache dd_cache;

/* Open (creating if missing) the cache at path. A file that is not a
 * cowcopy cache, or is damaged, is reported through s and NULL returned: it
 * is then neither read nor written. */
dd_cache *dd_cache_open(const char *path, dd_scan *s);
/* Look up a file by (filesystem UUID, inode) valid for (size, mtime,
 * ctime); files on a filesystem without a UUID are never cached.
 * @return bit 1: edge hash found, bit 2: full hash found. Thread-safe. */
int dd_cache_get(dd_cache *c, const dd_fs *fs, const struct stat *st, dd_hash *edge,
                 dd_hash *full);
/* Store what is known (have_full false: only the edge hash). Thread-safe. */
void dd_cache_put(dd_cache *c, const dd_fs *fs, const struct stat *st,
                  const dd_hash *edge, const dd_hash *full);
/* Commit and close. NULL is fine. */
void dd_cache_close(dd_cache *c);

/* -------------------------------------------------------- dedupe_map.c */

/* A file's data, as physical runs (FIEMAP, synced), merged where both
 * logically and physically contiguous: equal maps mean equal blocks. */
typedef struct dd_run {
    uint64_t logical, physical, length;
} dd_run;

typedef struct dd_map {
    dd_run *runs;
    size_t count;
    bool inline_data; /* some data cannot be shared (btrfs inline extent) */
} dd_map;

/* Map the data of fd, a file of size bytes.
 * @return 0, or -errno with *call naming the call that failed. */
int dd_map_load(int fd, uint64_t size, dd_map *map, const char **call);
bool dd_map_equal(const dd_map *a, const dd_map *b);
void dd_map_free(dd_map *map);

/* ------------------------------------------------------- the engine */

typedef struct dd_job {
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
} dd_job;

/* One member of a group while it is being handled. */
typedef struct dd_member {
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
    int fd;           /* kept open from mapping to sharing (small groups), else -1 */
} dd_member;

typedef struct dd_worker {
    struct dd_job *run;
    cowcopy__buf buf;
    char *path, *path2;
    size_t cap, cap2;
} dd_worker;

/* Open m's file, checking it is still the inode the scan saw (m->st is
 * set). @return fd, -ESTALE if it changed, or another -errno (reported). */
int dd_open_member(dd_worker *w, dd_member *m);
/* m's descriptor: the one kept open since mapping (the same inode
 * throughout; m->st is refreshed and a changed size gives -ESTALE), or
 * dd_open_member's. Give it back with dd_member_release.
 * @return fd or -errno as dd_open_member. */
int dd_member_fd(dd_worker *w, dd_member *m);
/* Close fd unless it is the one m keeps. */
void dd_member_release(const dd_member *m, int fd);

/* Dry run: mark the n destinations as would-share and count them. */
void dd_would_share(dd_job *job, dd_member **dests, size_t n, uint64_t size);

/* --------------------------------- dedupe_linux.c / dedupe_darwin.c */

/* Can the filesystem of fd (a candidate of size bytes) deduplicate?
 * Changes nothing. @return 1 yes, or -errno for "no, and why". */
int dd_probe(int fd, uint64_t size);
/* The call dd_probe's answer comes from, for messages. */
#ifdef COWCOPY_DARWIN
#define DD_PROBE_CALL "getattrlist"
#else
#define DD_PROBE_CALL "FIDEDUPERANGE"
#endif

/* Make each of the n destinations share src's data (in a dry run: say they
 * would), setting their status and adding to the run's counters. */
void dd_share(dd_worker *w, dd_member *src, dd_member **dests, size_t n);

#endif
