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
    cowcopy__fsid id;
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
/* Look up a file by (filesystem, inode) valid for (size, mtime, ctime).
 * @return bit 1: edge hash found, bit 2: full hash found. Thread-safe. */
int dd_cache_get(dd_cache *c, const cowcopy__fsid *fs, const struct stat *st, dd_hash *edge,
                 dd_hash *full);
/* Store what is known (have_full false: only the edge hash). Thread-safe. */
void dd_cache_put(dd_cache *c, const cowcopy__fsid *fs, const struct stat *st,
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

/* Map fd's data. @return 0 or -errno. */
int dd_map_load(int fd, dd_map *map);
bool dd_map_equal(const dd_map *a, const dd_map *b);
void dd_map_free(dd_map *map);

#endif
