/*
 * cowcopy.h - the whole public C API of libcowcopy.
 *
 * libcowcopy makes copies that share storage. On copy-on-write filesystems
 * (btrfs, XFS with reflink, bcachefs, ZFS 2.2+, NFS 4.2, APFS) a clone is a
 * new, independent file that points at its source's data blocks: made in
 * constant time, taking no extra space, diverging block by block only when
 * either side is written. Where cloning is impossible the library falls back
 * to the fastest correct copy (see "The fallback ladder" below).
 *
 * Conventions (borrowed from libuv and zstd):
 *  - Functions return 0 on success or a negative errno value (-ENOENT, ...).
 *    cowcopy_strerror() turns any such value into a message.
 *  - Unknown bits in a flags or preserve word are rejected with -EINVAL, so
 *    a program built against a newer header fails loudly on an older library.
 *  - Every function is thread-safe and may be called from many threads at
 *    once unless its comment says otherwise. The library keeps no global
 *    state beyond process-wide "this syscall does not exist" memos.
 *  - Strings handed to callbacks are valid only during the callback.
 *
 * The fallback ladder (COWCOPY_REFLINK_AUTO):
 *  1. clone: ioctl(FICLONE) on Linux. Any error except EIO, ENOMEM, ENOSPC
 *     and EDQUOT means "cannot clone here" and moves on (filesystems answer
 *     this with many different errnos; the rule is coreutils').
 *  2. offload: copy_file_range() per data extent (NFS server-side copy,
 *     in-kernel copy). Refusal before the first byte moves on.
 *  3. copy: SEEK_DATA/SEEK_HOLE so holes stay holes, then read/write.
 * COWCOPY_REFLINK_ALWAYS stops after step 1 and reports its error, leaving
 * nothing behind. COWCOPY_REFLINK_NEVER skips steps 1 and 2 (copy_file_range
 * may share blocks implicitly, so it is not a "real" copy).
 *
 * Destinations:
 *  - A new destination is built as an unnamed O_TMPFILE file in its
 *    directory and linked into place only when complete: no failure, not even
 *    SIGKILL, leaves a partial file. Without O_TMPFILE a hidden temporary name
 *    is used and removed on failure (and, through
 *    cowcopy_cleanup_temporaries(), on signals).
 *  - An existing regular file with one link is replaced atomically by
 *    renaming the complete new file over it; the new file takes the old
 *    one's mode, owner, group and ACL unless the caller preserves them from
 *    the source. An existing file with other hard links, a symlink to a file,
 *    or a device node is written in place (as cp does), because replacing it
 *    would silently break the link.
 */
#ifndef COWCOPY_H
#define COWCOPY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(COWCOPY_BUILDING) && defined(__GNUC__)
#define COWCOPY_API __attribute__((visibility("default")))
#else
#define COWCOPY_API
#endif

#define COWCOPY_VERSION_MAJOR 0
#define COWCOPY_VERSION_MINOR 1
#define COWCOPY_VERSION_PATCH 0
#define COWCOPY_VERSION_STRING "0.1.0"

/* @return the library's version string, e.g. "0.1.0" (static storage). */
COWCOPY_API const char *cowcopy_version(void);

/* ---------------------------------------------------------------- errors */

/* @return a message for a negative errno (or 0: "Success"). Never NULL;
 * static or thread-local storage, valid until the next call in the thread. */
COWCOPY_API const char *cowcopy_strerror(int err);

/* What the library was doing when something failed: names the step, so a
 * caller can say "cannot open 'a' for reading" rather than just an errno. */
enum cowcopy_op {
    COWCOPY_OP_NONE = 0,
    COWCOPY_OP_STAT_SOURCE,     /* cannot stat %1 */
    COWCOPY_OP_OPEN_SOURCE,     /* cannot open %1 for reading */
    COWCOPY_OP_READ,            /* error reading %1 */
    COWCOPY_OP_STAT_DEST,       /* cannot stat %2 */
    COWCOPY_OP_CREATE_DEST,     /* cannot create regular file %2 */
    COWCOPY_OP_CLONE,           /* cannot clone %1 to %2 */
    COWCOPY_OP_WRITE,           /* error writing %2 */
    COWCOPY_OP_COPY,            /* error copying %1 to %2 (copy_file_range) */
    COWCOPY_OP_SET_OWNER,       /* failed to preserve ownership for %2 */
    COWCOPY_OP_SET_MODE,        /* preserving permissions for %2 */
    COWCOPY_OP_SET_XATTR,       /* preserving extended attributes for %2 */
    COWCOPY_OP_SET_TIMES,       /* preserving times for %2 */
    COWCOPY_OP_SYNC,            /* cannot sync %2 */
    COWCOPY_OP_COMMIT,          /* cannot move the new file into place at %2 */
    COWCOPY_OP_SAME_FILE,       /* %1 and %2 are the same file */
    COWCOPY_OP_OMIT_DIR,        /* -r not specified; omitting directory %1 */
    COWCOPY_OP_OVERWRITE_DIR,   /* cannot overwrite directory %2 with non-directory */
    COWCOPY_OP_DANGLING_DEST,   /* not writing through dangling symlink %2 */
    COWCOPY_OP_INTO_SELF,       /* cannot copy a directory, %1, into itself, %2 */
    COWCOPY_OP_OPEN_DIR,        /* cannot open directory %1 */
    COWCOPY_OP_READ_DIR,        /* cannot read directory %1 */
    COWCOPY_OP_MAKE_DIR,        /* cannot create directory %2 */
    COWCOPY_OP_READ_LINK,       /* cannot read symbolic link %1 */
    COWCOPY_OP_MAKE_LINK,       /* cannot create symbolic link %2 */
    COWCOPY_OP_MAKE_NODE,       /* cannot create special file %2 */
    COWCOPY_OP_HARD_LINK,       /* cannot create hard link %2 */
    COWCOPY_OP_OVERWRITE_NONDIR,/* cannot overwrite non-directory %2 with directory %1 */
    COWCOPY_OP_SOURCE_CHANGED,  /* %1 changed while it was being copied (code -EAGAIN) */
    COWCOPY_OP_DEDUPE,          /* cannot deduplicate %2 against %1 */
    COWCOPY_OP_DEDUPE_FS,       /* cannot deduplicate files on the filesystem of %1 */
    COWCOPY_OP_CACHE,           /* ignoring the cache %1 (a warning: the run goes on) */
    COWCOPY_OP_MAP_EXTENTS,     /* cannot read the extent map of %1 (FIEMAP) */
    COWCOPY_OP_NOT_REGULAR,     /* %1 is not a regular file (code -EISDIR for a directory) */
    COWCOPY_OP_SPECIAL_FILE,    /* not copying special file %1 (COWCOPY_TREE_NO_SPECIALS) */
    COWCOPY_OP_COUNT
};

/* @return a message template for an operation, with "%1" standing for the
 * quoted source path and "%2" for the quoted destination path, e.g.
 * "cannot clone %1 to %2". Callers substitute paths quoted their own way. */
COWCOPY_API const char *cowcopy_op_template(int op);

/* One failure, with everything needed to tell a person what went wrong. */
typedef struct cowcopy_error {
    int code;          /* negative errno */
    int op;            /* enum cowcopy_op */
    const char *call;  /* the system call that failed ("openat", "FICLONE"), or NULL */
    const char *src;   /* source path involved, or NULL */
    const char *dst;   /* destination path involved, or NULL */
    const char *fs;    /* for COWCOPY_OP_CLONE: destination filesystem ("ext4"), or NULL */
} cowcopy_error;

/* ------------------------------------------------------------ copy options */

enum cowcopy_reflink {
    COWCOPY_REFLINK_AUTO = 0,   /* clone if possible, else the fastest correct copy */
    COWCOPY_REFLINK_ALWAYS = 1, /* clone or fail, leaving nothing behind */
    COWCOPY_REFLINK_NEVER = 2   /* a real, independent copy: no FICLONE, no copy_file_range */
};

/* What to carry over from the source (cp --preserve=...). */
#define COWCOPY_PRESERVE_MODE       0x01u /* permission bits incl. setuid/setgid/sticky, POSIX ACLs */
#define COWCOPY_PRESERVE_OWNERSHIP  0x02u /* owner and group */
#define COWCOPY_PRESERVE_TIMESTAMPS 0x04u /* access and modification time, to the nanosecond */
#define COWCOPY_PRESERVE_XATTR      0x08u /* extended attributes, file capabilities included */
#define COWCOPY_PRESERVE_LINKS      0x10u /* hard links inside a copied tree stay linked */
#define COWCOPY_PRESERVE_ALL        0x1fu

/* Behaviour flags. */
#define COWCOPY_NO_CLOBBER      0x0001u /* leave an existing destination alone (result: SKIPPED) */
#define COWCOPY_FORCE           0x0002u /* replace a destination even if it is not writable (cp -f) */
#define COWCOPY_NO_DEREFERENCE  0x0004u /* a symlink source is copied as a symlink (cp -P) */
#define COWCOPY_FSYNC           0x0008u /* flush each file before it is linked, its directory after */
/* With COWCOPY_PRESERVE_XATTR (and the ACLs of COWCOPY_PRESERVE_MODE): an
 * attribute whose copy fails with EPERM, ENOTSUP, ENODATA or EINVAL (one the
 * destination refuses, such as security.* for an unprivileged user, or one
 * that vanished) is skipped even when required; other errors still count.
 * This is Python's shutil.copystat() rule; cp reports such failures. */
#define COWCOPY_XATTR_SKIP_REFUSED 0x0010u
#define COWCOPY_FLAGS_ALL       0x001fu

typedef struct cowcopy_options {
    int reflink;                /* enum cowcopy_reflink */
    unsigned preserve;          /* COWCOPY_PRESERVE_* bits */
    unsigned preserve_required; /* subset of preserve whose failure is an error; other
                                   preserve failures are ignored, as cp -p ignores a
                                   failed chown for an unprivileged user */
    unsigned flags;             /* COWCOPY_* flag bits */
} cowcopy_options;

/* Fill *opts with the defaults: AUTO, preserve nothing, no flags. */
COWCOPY_API void cowcopy_options_init(cowcopy_options *opts);

/* ------------------------------------------------------------- one file */

/* How the data got there. */
enum cowcopy_method {
    COWCOPY_METHOD_NONE = 0,  /* nothing was done (failure) */
    COWCOPY_METHOD_CLONED,    /* shares the source's blocks (FICLONE/clonefile) */
    COWCOPY_METHOD_OFFLOADED, /* copied by the kernel (copy_file_range) */
    COWCOPY_METHOD_COPIED,    /* copied by read/write, holes kept */
    COWCOPY_METHOD_SYMLINK,   /* a symbolic link was recreated */
    COWCOPY_METHOD_SPECIAL,   /* a FIFO, socket or device node was recreated */
    COWCOPY_METHOD_HARDLINK,  /* linked to an earlier copy of the same inode */
    COWCOPY_METHOD_SKIPPED,   /* destination existed and COWCOPY_NO_CLOBBER was set */
    COWCOPY_METHOD_DIRECTORY, /* a directory was created or merged into (trees) */
    COWCOPY_METHOD_COUNT
};

/* @return "cloned", "offloaded", "copied", ... for an enum cowcopy_method. */
COWCOPY_API const char *cowcopy_method_name(int method);

typedef struct cowcopy_result {
    int method;                /* enum cowcopy_method */
    uint64_t bytes;            /* size of the copy in bytes */
    uint64_t hole_bytes;       /* of which kept as holes (not written) */
    int fallback_errno;        /* positive errno of the first call that refused, 0 if none */
    const char *fallback_call; /* "FICLONE" or "copy_file_range" (static), NULL if none */
    cowcopy_error error;       /* on failure: what failed (src/dst point at the caller's paths) */
} cowcopy_result;

/*
 * Copy one file, src to dst, following the ladder and destination rules at
 * the top of this header. A symlink src is followed unless
 * COWCOPY_NO_DEREFERENCE, in which case the link itself is recreated. A
 * directory src fails with -EISDIR (COWCOPY_OP_OMIT_DIR). A FIFO or device
 * src is read until end of file, as are files whose size lies (/proc, /sys).
 * dst names the file to create or replace (not a directory to copy into).
 *
 * @param opts  NULL for the defaults.
 * @param res   optional; filled in on success and failure alike.
 * @return 0, or a negative errno; on failure the destination is untouched
 *         (new or replaced destinations) or, when written in place, holds
 *         whatever was written before the failure, as with cp.
 */
COWCOPY_API int cowcopy_file_copy(const char *src, const char *dst,
                                  const cowcopy_options *opts, cowcopy_result *res);

/* As cowcopy_file_copy(), with src and dst relative to directory
 * descriptors (AT_FDCWD for the working directory). */
COWCOPY_API int cowcopy_file_copyat(int src_dirfd, const char *src, int dst_dirfd,
                                    const char *dst, const cowcopy_options *opts,
                                    cowcopy_result *res);

/* ------------------------------------------------------------ trees */

/* Tree flags (cowcopy_tree_options.flags). */
#define COWCOPY_TREE_DEREFERENCE     0x1u /* follow every symlink in the tree (cp -L) */
#define COWCOPY_TREE_FOLLOW_ROOT     0x2u /* follow src itself if it is a symlink (cp -H) */
#define COWCOPY_TREE_ONE_FILE_SYSTEM 0x4u /* do not descend into other filesystems (cp -x) */
#define COWCOPY_TREE_COUNT_TOTALS    0x8u /* count the source's files and bytes alongside the
                                             copy, so progress can show an ETA */
/* A FIFO, socket or device node is not recreated (as cp -R does): it is
 * reported to on_error (COWCOPY_OP_SPECIAL_FILE, -EOPNOTSUPP) and left out,
 * so the caller may treat it in its own way. A symlink to one is reported
 * only when followed. */
#define COWCOPY_TREE_NO_SPECIALS     0x10u
/* Leave the destination root directory's owner, mode, times and xattrs as
 * they are (its contents are copied as usual): for a caller that made the
 * root itself and sets its attributes itself. */
#define COWCOPY_TREE_KEEP_ROOT_ATTRS 0x20u
/* With COWCOPY_PRESERVE_MODE, every copied directory gets exactly its
 * source's mode, clearing a set-group-ID bit that mkdir inherited from a
 * set-group-ID parent. Without it the inherited bit stays, as with cp -a;
 * Python's shutil.copytree clears it (its chmod sets the exact mode). */
#define COWCOPY_TREE_EXACT_DIR_MODE  0x40u
#define COWCOPY_TREE_FLAGS_ALL       0x7fu

/* Counters of a tree copy. Progress callbacks get a snapshot. */
typedef struct cowcopy_tree_stats {
    uint64_t files;       /* regular files done (cloned + offloaded + copied + linked) */
    uint64_t cloned, offloaded, copied;
    uint64_t bytes;       /* size of the regular files done */
    uint64_t hole_bytes;  /* of which left as holes by fallback copies */
    uint64_t directories, symlinks, hardlinks, specials;
    uint64_t skipped;     /* left alone: COWCOPY_NO_CLOBBER */
    uint64_t errors;      /* entries that failed (each reported to on_error) */
    uint64_t total_files, total_bytes; /* the whole source, when totals_known */
    int totals_known;     /* COWCOPY_TREE_COUNT_TOTALS finished counting */
    int threads;          /* worker threads used */
    double elapsed;       /* seconds since the copy started */
} cowcopy_tree_stats;

/* Callbacks run in worker threads, one at a time (the library serialises
 * them); they must not call back into a running tree copy. */
typedef int (*cowcopy_progress_fn)(void *data, const cowcopy_tree_stats *stats); /* nonzero: stop */
typedef int (*cowcopy_error_fn)(void *data, const cowcopy_error *error);         /* nonzero: stop */
typedef void (*cowcopy_entry_fn)(void *data, const char *src, const char *dst,
                                 const cowcopy_result *res);

typedef struct cowcopy_tree_options {
    cowcopy_options file;        /* reflink mode, preserve bits, flags for every entry */
    unsigned flags;              /* COWCOPY_TREE_* */
    int threads;                 /* 0: 2 (1 on a single CPU), measured fastest */
    unsigned progress_ms;        /* least interval between progress calls (0: 100) */
    cowcopy_progress_fn progress;
    void *progress_data;
    cowcopy_error_fn on_error;   /* each failed entry; NULL: count only */
    void *error_data;
    cowcopy_entry_fn on_entry;   /* each entry done (cp -v); NULL: none */
    void *entry_data;
} cowcopy_tree_options;

/* Defaults: file options as cowcopy_options_init, no flags, threads chosen. */
COWCOPY_API void cowcopy_tree_options_init(cowcopy_tree_options *opts);

/*
 * Copy the tree src to dst, like cp -r (with opts->file.preserve =
 * COWCOPY_PRESERVE_ALL and COWCOPY_NO_DEREFERENCE: like cp -a). dst is the
 * name the copy gets; if it is an existing directory the copy merges into
 * it, and existing entries are replaced by the single-file rules, except that
 * a symlink met inside the destination tree is never written through: it is
 * replaced by the copied entry. A src that is not a directory is copied as
 * one file. Directories get their mode and times after their contents, so
 * read-only directories copy too. Hard links inside the tree stay linked
 * with COWCOPY_PRESERVE_LINKS. The walk uses directory descriptors only, so
 * paths longer than PATH_MAX work. Copying a directory into itself is
 * refused (-EINVAL, COWCOPY_OP_INTO_SELF) before anything is done.
 *
 * A failing entry is reported to opts->on_error and the copy goes on; what
 * was copied is whole.
 * @param stats optional; filled in at the end.
 * @return 0 if every entry was copied; else the negative errno of the first
 *         failure (stats->errors says how many), -ECANCELED if a callback
 *         asked to stop.
 */
COWCOPY_API int cowcopy_tree_copy(const char *src, const char *dst,
                                  const cowcopy_tree_options *opts, cowcopy_tree_stats *stats);

/* ------------------------------------------------------------ dedupe */

/* Dedupe flags (cowcopy_dedupe_options.flags). */
#define COWCOPY_DEDUPE_DRY_RUN         0x1u /* find and report, change nothing */
#define COWCOPY_DEDUPE_ONE_FILE_SYSTEM 0x2u /* do not descend into other filesystems */
#define COWCOPY_DEDUPE_FLAGS_ALL       0x3u

typedef struct cowcopy_dedupe_stats {
    uint64_t files_scanned;        /* regular files met */
    uint64_t bytes_scanned;        /* their total size */
    uint64_t bytes_read;           /* file data read to compare contents */
    uint64_t cache_hits;           /* files whose hashes came from the cache */
    uint64_t groups;               /* sets of 2+ files with identical content */
    uint64_t files_deduped;        /* files made to share their data (dry run: would be) */
    uint64_t bytes_deduped;        /* bytes the kernel made shared (dry run: would) */
    uint64_t files_already_shared; /* duplicates that already shared all their blocks */
    uint64_t bytes_differed;       /* bytes found different at the last moment (normal:
                                      a file changed after it was read) */
    uint64_t errors;               /* files that could not be examined or deduplicated */
    uint64_t freed_estimate;       /* bytes that sharing should free */
    int64_t freed;                 /* free-space delta of the filesystems after a sync
                                      (0 in a dry run or when no file was deduplicated;
                                      other writers make it noisy) */
    double elapsed;                /* seconds */
} cowcopy_dedupe_stats;

/* What happened to each file of a group (cowcopy_dedupe_group.status). */
enum cowcopy_dedupe_status {
    COWCOPY_DEDUPE_SOURCE = 0,   /* the file the others now share with */
    COWCOPY_DEDUPE_SHARED,       /* made to share all its data with the source */
    COWCOPY_DEDUPE_WOULD_SHARE,  /* dry run: would be */
    COWCOPY_DEDUPE_ALREADY,      /* already shared all its blocks with the source */
    COWCOPY_DEDUPE_DIFFERED,     /* changed since it was read: part or all not shared */
    COWCOPY_DEDUPE_FAILED,       /* an error, reported to on_error */
    COWCOPY_DEDUPE_SKIPPED       /* left as it is on purpose (Darwin: other hard links,
                                    compressed or immutable; see cowcopy_dedupe()) */
};

/* A set of files found identical, for -v style listings. */
typedef struct cowcopy_dedupe_group {
    uint64_t size;             /* of each file */
    size_t count;
    const char *const *paths;  /* paths[0] is the source */
    const int *status;         /* enum cowcopy_dedupe_status, one per path */
} cowcopy_dedupe_group;

typedef void (*cowcopy_dedupe_group_fn)(void *data, const cowcopy_dedupe_group *group);
typedef int (*cowcopy_dedupe_progress_fn)(void *data, const cowcopy_dedupe_stats *stats);

typedef struct cowcopy_dedupe_options {
    unsigned flags;              /* COWCOPY_DEDUPE_* */
    uint64_t min_size;           /* skip smaller files; 0: any size that can share */
    unsigned min_age;            /* skip files modified in the last min_age seconds */
    int threads;                 /* 0: twice the CPUs, at least 4, at most 8 */
    const char *cache_path;      /* SQLite hash cache to read and update, or NULL */
    unsigned progress_ms;        /* least interval between progress calls (0: 100) */
    cowcopy_dedupe_progress_fn progress; /* nonzero return: stop */
    void *progress_data;
    cowcopy_error_fn on_error;   /* each failure; COWCOPY_OP_CACHE ones are warnings */
    void *error_data;
    cowcopy_dedupe_group_fn on_group; /* each group found, once handled */
    void *group_data;
} cowcopy_dedupe_options;

/* Defaults: no flags, any size, threads chosen, no cache, no callbacks. */
COWCOPY_API void cowcopy_dedupe_options_init(cowcopy_dedupe_options *opts);

/*
 * Find regular files with identical content under the paths (files or
 * directories) and make them share their data blocks. On Linux this is the
 * FIDEDUPERANGE ioctl: the kernel compares the bytes under lock and shares
 * only what is identical, so no file's content can change, even if it is
 * written during the run; mtime, ctime, mode, owner and xattrs are left
 * alone, and files are read with O_NOATIME where permitted, so atimes stay.
 *
 * Candidates are grouped by filesystem (btrfs subvolumes of one filesystem
 * together) and size; hard links are one candidate (links are never
 * broken); members already sharing all their blocks are not read again;
 * groups are split by a hash of their first and last blocks, then by a
 * full-content hash (xxHash3), and only then handed to the kernel. With a
 * cache (SQLite), unchanged files (same filesystem UUID, inode, size, mtime
 * and ctime) are not read again; a damaged or foreign cache is reported
 * (COWCOPY_OP_CACHE) and ignored, never trusted.
 *
 * On Darwin, where APFS has no kernel compare, a duplicate is replaced by a
 * clone of the source that was compared with it byte for byte and given its
 * metadata, after a last check that it has not changed: its inode and ctime
 * change, and a write through a descriptor opened before the rename can be
 * lost. Files with other hard links, compressed or immutable ones are left
 * alone (COWCOPY_DEDUPE_SKIPPED); min_age narrows the window further.
 *
 * @return 0 when the run completed without errors (bytes that differed at
 *         the last moment are normal and not an error); else the negative
 *         errno of the first error (stats->errors says how many), e.g.
 *         -EOPNOTSUPP for a filesystem that cannot deduplicate (ext4),
 *         -ECANCELED if the progress callback asked to stop.
 */
COWCOPY_API int cowcopy_dedupe(const char *const *paths, size_t npaths,
                               const cowcopy_dedupe_options *opts, cowcopy_dedupe_stats *stats);

/* Remove every hidden temporary file the library has created and not yet
 * renamed into place. Async-signal-safe: meant for a SIGINT/SIGTERM handler
 * that then re-raises the signal. O_TMPFILE files need no cleanup. */
COWCOPY_API void cowcopy_cleanup_temporaries(void);

/* ------------------------------------------------------------ inspecting */

/*
 * How much storage files really share. On copy-on-write filesystems a file's
 * data sits in extents on disk; FIEMAP (ioctl FS_IOC_FIEMAP, called with
 * FIEMAP_FLAG_SYNC so that delayed allocation is flushed first) tells where.
 * Two files share the bytes whose physical places coincide. Extents are
 * clipped at end of file, so holes and blocks preallocated beyond the end do
 * not count. Data that has no place of its own on disk (btrfs inline
 * extents) and data on filesystems that give no extent map (tmpfs) is never
 * shared. btrfs subvolumes of one filesystem are one physical space.
 */

/* On what grounds cowcopy_shared.shared_bytes was found. */
enum cowcopy_shared_basis {
    COWCOPY_SHARED_EXTENTS = 0, /* the physical extents of both files were compared */
    COWCOPY_SHARED_SAME_FILE,   /* the other is the file itself (same inode): all of it */
    COWCOPY_SHARED_OTHER_FS,    /* on different filesystems: nothing can be shared */
    COWCOPY_SHARED_NO_MAP       /* a filesystem gives no extent map (tmpfs): nothing is */
};

/* One file compared with the reference file. */
typedef struct cowcopy_shared {
    uint64_t shared_bytes; /* of data_bytes, those on the same physical blocks as the
                              reference file's data */
    uint64_t data_bytes;   /* this file's data: its extents clipped at end of file
                              (holes not counted, btrfs inline data counted) */
    uint64_t size;         /* its size (st_size) */
    int basis;             /* enum cowcopy_shared_basis */
    cowcopy_error error;   /* on failure; src is the failing path */
} cowcopy_shared;

/*
 * For each of others[0..count), how many bytes of its data sit on the same
 * physical blocks as the data of `file`, byte-exact. Files on different
 * filesystems, on filesystems that cannot share (ext4), empty files and
 * btrfs inline data give 0, not an error; a directory or other non-regular
 * file is an error (COWCOPY_OP_NOT_REGULAR). Each file must be readable (it
 * is opened to map it). Every others[i] gets its own results[i], so one bad
 * path does not hide the others; a failure of `file` itself is copied into
 * every result.
 * @return 0 if every comparison was made, else the negative errno of the
 *         first failure (results[i].error says which).
 * Thread-safe.
 */
COWCOPY_API int cowcopy_shared_measure(const char *file, const char *const *others, size_t count,
                                       cowcopy_shared *results);

/* Usage flags (cowcopy_usage_options.flags). */
#define COWCOPY_USAGE_ONE_FILE_SYSTEM 0x1u /* do not descend into other filesystems (du -x) */
#define COWCOPY_USAGE_FLAGS_ALL       0x1u

typedef struct cowcopy_usage_options {
    unsigned flags;            /* COWCOPY_USAGE_* */
    int threads;               /* 0: chosen (up to 4, at most one per CPU) */
    cowcopy_error_fn on_error; /* each path that could not be measured; NULL: count only.
                                  Runs in worker threads, one call at a time. */
    void *error_data;
} cowcopy_usage_options;

/* Defaults: no flags, threads chosen, no callback. */
COWCOPY_API void cowcopy_usage_options_init(cowcopy_usage_options *opts);

/*
 * Storage used by a set of files, with the meanings of `btrfs filesystem du
 * -s`, on any filesystem FIEMAP works on. The set is every regular file
 * under the paths (each inode once: hard links and overlapping paths count
 * once). Symlinks inside the trees are not followed; the paths themselves
 * are. Sizes are whole blocks up to end of file, as the filesystem allocates
 * them. A "shared" extent is one FIEMAP flags FIEMAP_EXTENT_SHARED: something
 * else references it, inside the set or outside it (a snapshot, a file not
 * in the set) -- FIEMAP cannot tell which, so nothing here says what
 * deleting the files would free.
 */
typedef struct cowcopy_usage {
    uint64_t files;            /* regular files (inodes) */
    uint64_t apparent_bytes;   /* sum of their sizes */
    uint64_t total_bytes;      /* bytes of their data extents */
    uint64_t exclusive_bytes;  /* of which on extents nothing else references */
    uint64_t set_shared_bytes; /* distinct physical bytes of the shared extents the set
                                  references, each counted once */
    uint64_t saved_bytes;      /* total minus the distinct physical bytes the set uses:
                                  what sharing saves inside the set */
    uint64_t inline_bytes;     /* data not in data extents (btrfs inline extents, data
                                  whose place is unknown); not in total, as btrfs du */
    uint64_t errors;           /* paths that could not be measured */
    int threads;               /* worker threads used */
    double elapsed;            /* seconds */
} cowcopy_usage;

/*
 * Measure the usage of paths[0..count). Paths that cannot be read are
 * reported to opts->on_error and counted in usage->errors; the rest are
 * still measured.
 * @param opts NULL for the defaults.
 * @return 0 if everything was measured; else the negative errno of the
 *         first failure (-EINVAL for bad options; usage is still filled in).
 * Thread-safe.
 */
COWCOPY_API int cowcopy_usage_measure(const char *const *paths, size_t count,
                                      const cowcopy_usage_options *opts, cowcopy_usage *usage);

/* An answer of cowcopy_fs_probe(). */
enum cowcopy_probe_answer {
    COWCOPY_PROBE_UNKNOWN = 0, /* could not be tried (cannot write here, no space, ...) */
    COWCOPY_PROBE_YES = 1,
    COWCOPY_PROBE_NO = 2
};

typedef struct cowcopy_probe_check {
    int answer;       /* enum cowcopy_probe_answer */
    int err;          /* NO, UNKNOWN: positive errno of the call that refused or failed */
    const char *call; /* that call ("FICLONE", "openat", ...; static), NULL with YES */
} cowcopy_probe_check;

typedef struct cowcopy_probe {
    char fs_name[32];   /* "btrfs", "xfs", "ext4", "overlay", ... or "unknown" */
    uint64_t fs_magic;  /* statfs f_type */
    uint64_t block_size; /* statfs f_bsize */
    int writable;       /* 1 if temporary files could be made in the directory */
    cowcopy_probe_check clone;   /* ioctl FICLONE of a whole file */
    cowcopy_probe_check dedupe;  /* ioctl FIDEDUPERANGE of identical data */
    cowcopy_probe_check offload; /* copy_file_range copies the data */
    cowcopy_error error; /* on failure */
} cowcopy_probe;

/*
 * What the filesystem holding directory `dir` can do, found by trying each
 * operation on temporary files made in `dir` and removed afterwards: unnamed
 * O_TMPFILE files where the filesystem supports them, so that nothing is
 * left even if the process is killed (elsewhere hidden names, removed by
 * cowcopy_cleanup_temporaries() too). A directory the caller cannot write
 * to gives UNKNOWN answers with writable = 0, not an error.
 * @return 0, or a negative errno if dir cannot be examined at all.
 * Thread-safe.
 */
COWCOPY_API int cowcopy_fs_probe(const char *dir, cowcopy_probe *probe);

/* @return "yes", "no" or "unknown" for an enum cowcopy_probe_answer. */
COWCOPY_API const char *cowcopy_probe_answer_name(int answer);

#ifdef __cplusplus
}
#endif
#endif /* COWCOPY_H */
