/*
 * internal.h - declarations shared between the library's source files.
 *
 * Nothing here is public: the command and the Python extension see only
 * include/cowcopy.h. Private names start with cowcopy__ (two underscores).
 */
#ifndef COWCOPY_INTERNAL_H
#define COWCOPY_INTERNAL_H

#include "cowcopy.h"
#include "sys.h"

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

/* ------------------------------------------------------------ error.c */

/* Record a failure in *e (may be NULL): op, call, -err. @return -err. */
int cowcopy__fail(cowcopy_error *e, int op, const char *call, int err);

/* ----------------------------------------------------------- fsinfo.c */

/* @return a short name ("btrfs", "ext4") for a statfs magic number, or
 * "this filesystem" when unknown. Static storage. */
const char *cowcopy__fs_name(unsigned long magic);
/* @return the name of the filesystem holding fd, or NULL if fstatfs fails. */
const char *cowcopy__fs_name_fd(int fd);

/* ------------------------------------------------------------- fsid.c */

/* Which physical address space a file's extents belong to (see fsid.c). */
typedef struct cowcopy__fsid {
    uint64_t hi, lo; /* btrfs: the filesystem's fsid; elsewhere hi = 0, lo = st_dev */
} cowcopy__fsid;

/* The address space of fd (whose fstat is *st). Never fails: without a
 * btrfs fsid it is st_dev. */
cowcopy__fsid cowcopy__fsid_of(int fd, const struct stat *st);
static inline bool cowcopy__fsid_equal(cowcopy__fsid a, cowcopy__fsid b)
{
    return a.hi == b.hi && a.lo == b.lo;
}

/* The UUID of fd's filesystem, stable across remounts. @return 0, or
 * -ENODATA when the filesystem has none the kernel tells. */
int cowcopy__fs_uuid(int fd, unsigned char uuid[16]);

/* ------------------------------------------------------------- data.c */

/* A reusable I/O buffer; one per thread in tree copies. Zero-initialise. */
typedef struct cowcopy__buf {
    char *data;
    size_t size;
} cowcopy__buf;

/* Make b hold at least `want` bytes (rounded up, capped at the library's
 * largest buffer). @return 0 or -ENOMEM. */
int cowcopy__buf_reserve(cowcopy__buf *b, size_t want);
void cowcopy__buf_free(cowcopy__buf *b);

/* Facts about the output descriptor handed to cowcopy__data_copy. */
#define COWCOPY__OUT_REGULAR  0x1u /* a regular file: may be cloned into and truncated */
#define COWCOPY__OUT_OLD_DATA 0x2u /* holds old content (written in place): truncate
                                      it before copying, but only once a clone failed */

/*
 * Fill `out` with the data of `in` (whose fstat is *in_st), by the ladder for
 * `reflink` (enum cowcopy_reflink). Sets res->method, bytes, hole_bytes and
 * fallback_*; on failure res->error's op/call/code. If out_st is not NULL,
 * it gets the fstat of `out` that a clone takes to check its size (so a
 * caller can see the new file's owner without another call); its st_mode
 * is 0 when no such fstat was taken.
 * @return 0 or a negative errno.
 */
int cowcopy__data_copy(int in, int out, const struct stat *in_st, int reflink, unsigned out_flags,
                       cowcopy__buf *buf, cowcopy_result *res, struct stat *out_st);

/* ------------------------------------------------------------- dest.c */

enum cowcopy__temp_kind {
    COWCOPY__TEMP_NONE = 0,
    COWCOPY__TEMP_UNNAMED, /* O_TMPFILE: vanishes by itself unless linked */
    COWCOPY__TEMP_NAMED    /* hidden name, registered for signal-time cleanup */
};

/* A file or other entry being built beside its final name. */
typedef struct cowcopy__temp {
    int dirfd; /* directory it lives in (borrowed, not closed here) */
    int fd;    /* open descriptor of a temporary regular file, else -1 */
    int kind;  /* enum cowcopy__temp_kind */
    int slot;  /* cleanup registry slot of a named temp, or -1 */
    char name[NAME_MAX + 1];
} cowcopy__temp;

/* Create an empty regular temporary file in dirfd that will become `base`,
 * opened read-write with creation mode `mode` (umask applies). Unnamed
 * (O_TMPFILE) where the filesystem supports it, else a hidden name.
 * @return 0 or a negative errno (nothing to discard then). */
int cowcopy__temp_open(cowcopy__temp *t, int dirfd, const char *base, mode_t mode);

/* Create a named temporary entry of any type: calls make(dirfd, name, ctx)
 * with fresh hidden names until it stops failing with EEXIST.
 * @return 0 or the negative errno of make. */
int cowcopy__temp_make(cowcopy__temp *t, int dirfd, const char *base,
                       int (*make)(int dirfd, const char *name, void *ctx), void *ctx);

/* Put the temporary entry in place as dirfd/base, replacing an existing
 * entry only if `replace`; without it an existing entry fails with -EEXIST.
 * A temporary file's descriptor is closed (and its error checked) here.
 * On failure the temporary is discarded. *call names the failing call.
 * @return 0 or a negative errno. */
int cowcopy__temp_commit(cowcopy__temp *t, const char *base, bool replace, const char **call);

/* Drop a temporary that will not be committed: close it, remove its name. */
void cowcopy__temp_discard(cowcopy__temp *t);

/* ------------------------------------------------------------- meta.c */

/* Which extended attributes cowcopy__xattr_copy carries over. */
#define COWCOPY__XATTR_ACL   0x1u /* system.posix_acl_access / _default (part of "mode") */
#define COWCOPY__XATTR_OTHER 0x2u /* all others cp copies (user.*, security.capability, ...) */
#define COWCOPY__XATTR_SKIP_REFUSED 0x4u /* skip an attribute refused with EPERM, ENOTSUP,
                                            ENODATA or EINVAL (COWCOPY_XATTR_SKIP_REFUSED) */

/* Platform parts (meta_linux.c, meta_darwin.c). */

/* Copy the selected xattrs of in_fd to out_fd in one pass. @return 0 or the
 * first negative errno of a non-ACL attribute (the others are still tried);
 * ACL failures go to *acl_err if given (else into the return value). */
int cowcopy__xattr_copy(int in_fd, int out_fd, unsigned which, int *acl_err);

/* Give out_fd the ACL of dirfd/name (an old destination, not following a
 * final symlink). @return 0 (also when it has none) or -errno. */
int cowcopy__acl_copy_at(int dirfd, const char *name, int out_fd);

/* Would files made in the directory dirfd inherit an ACL (so that their mode
 * is not simply mode & ~umask)? When unsure, true. */
bool cowcopy__has_default_acl(int dirfd);

#ifdef COWCOPY_DARWIN
/* Remove every xattr of fd (a clone carries its source's). @return 0 or -errno. */
int cowcopy__xattr_strip(int fd);
/* BSD flags (UF_*, SF_*) and creation time of fd. @return 0 or -errno. */
int cowcopy__bsd_attrs_get(int fd, uint32_t *flags, struct timespec *crtime);
/* Set fd's creation time (tv_nsec UTIME_NOW: now). @return 0 or -errno. */
int cowcopy__crtime_set(int fd, const struct timespec *crtime);
/* Bytes of fd's data that no other file shares (APFS's private size). */
int cowcopy__private_size(int fd, uint64_t *bytes);
/* Does the volume of fd (any file or directory on it) say it can clone
 * (VOL_CAP_INT_CLONE)? @return 1 yes, 0 no, -ENODATA when it does not say,
 * or the -errno of getattrlist. */
int cowcopy__volume_can_clone(int fd);
#endif

/* What to apply to a new or rewritten file once its data is in place. */
typedef struct cowcopy__meta_plan {
    bool set_owner;
    uid_t uid;
    gid_t gid;
    bool owner_required;  /* a failed chown is an error, not ignored */
    bool set_mode;
    mode_t mode;          /* permission bits incl. setuid/setgid/sticky */
    bool mode_required;
    int acl_from_fd;      /* copy ACL xattrs from this fd, or -1 */
    int acl_from_dirfd;   /* else the ACL of this file (an old destination), if */
    const char *acl_from_name; /* acl_from_name is not NULL */
    int xattr_from_fd;    /* copy other xattrs from this fd, or -1 */
    bool xattr_required;
    bool xattr_skip_refused; /* COWCOPY_XATTR_SKIP_REFUSED: for the ACL too */
    bool set_times;
    struct timespec times[2]; /* atime, mtime */
    bool times_required;
    bool set_crtime;          /* creation time (Darwin) */
    struct timespec crtime;   /* tv_nsec UTIME_NOW: now */
    bool set_flags;           /* BSD file flags (Darwin), set last: UF_IMMUTABLE */
    uint32_t flags;           /* would stop anything after it */
} cowcopy__meta_plan;

/* Apply the ownership part of the plan (before apply_rest: chown clears
 * file capabilities and setuid bits). If a non-required chown fails,
 * setuid/setgid are dropped from the planned mode, as cp does.
 * @return 0 or a negative errno with res->error set. */
int cowcopy__meta_apply_owner(int fd, cowcopy__meta_plan *plan, cowcopy_result *res);

/* Apply the rest of the plan in cp's order: xattrs, ACL, mode, times. */
int cowcopy__meta_apply_rest(int fd, const cowcopy__meta_plan *plan, cowcopy_result *res);

/* ------------------------------------------------------------- file.c */

/* Validate user options; NULL means defaults. @return 0 or -EINVAL. */
int cowcopy__options_check(const cowcopy_options *o);

/* What one copying thread carries from file to file. */
typedef struct cowcopy__ctx {
    const cowcopy_options *opts;
    cowcopy__buf *buf;  /* this thread's I/O buffer */
    bool in_tree;       /* destination is inside a copied tree: never write
                           through a symlink there */
    bool recreate_specials; /* a FIFO, socket or device source is recreated
                               (cp -R), not read for its data */
    bool dst_dir_fresh; /* the destination directory was just made by us and
                           is known empty: no need to look for old entries */
    bool mode_predictable; /* new files there get exactly (mode & ~umask): no
                              default ACL. Lets a fchmod be skipped. */
    mode_t umask;       /* the process umask, valid with mode_predictable */
} cowcopy__ctx;

/*
 * Copy the non-directory src_dirfd/src_name to dst_dirfd/dst_base (a single
 * name in an open directory) by the destination rules of file.c. src_lst is
 * the source's lstat (or stat when following), or NULL to look it up.
 * @return 0 or a negative errno, with res filled in.
 */
int cowcopy__copy_nondir(int src_dirfd, const char *src_name, const struct stat *src_lst,
                         int dst_dirfd, const char *dst_base, cowcopy__ctx *ctx,
                         cowcopy_result *res);

#ifdef HAVE_CLONEFILE
/*
 * Darwin (clone_darwin.c): clone in (fstat *st) to a new hidden temporary
 * beside dirfd/base, open it into *t (fstat in *out_st), and adjust the
 * plan so that the clone's metadata ends up as the options ask.
 * @return 0 when cloned, 1 when the filesystem refused and a copy should be
 * made instead (res->fallback_* says why), or a negative errno.
 */
int cowcopy__clone_to_temp(int in, const struct stat *st, int dirfd, const char *base,
                           const cowcopy__ctx *ctx, cowcopy__meta_plan *plan, cowcopy__temp *t,
                           struct stat *out_st, cowcopy_result *res);
#endif

/* The process umask, read without changing it where /proc tells it. */
mode_t cowcopy__umask(void);

/* As cowcopy__copy_nondir, for a regular file already open as `in` whose
 * fstat is *st (the tree copier opens files itself to see hard links). */
int cowcopy__copy_open_file(int in, const struct stat *st, int dst_dirfd, const char *dst_base,
                            cowcopy__ctx *ctx, cowcopy_result *res);

/* ------------------------------------------------------------- node.c */

/* Recreate the symlink src_dirfd/src_name (lstat *st) as dst_dirfd/dst_base,
 * replacing a non-directory there atomically. @return 0 or -errno. */
int cowcopy__copy_symlink(int src_dirfd, const char *src_name, const struct stat *st,
                          int dst_dirfd, const char *dst_base, cowcopy__ctx *ctx,
                          cowcopy_result *res);

/* Recreate a FIFO, socket or device node (lstat *st) as dst_dirfd/dst_base,
 * as cp -a does. @return 0 or -errno. */
int cowcopy__copy_special(const struct stat *st, int dst_dirfd, const char *dst_base,
                          cowcopy__ctx *ctx, cowcopy_result *res);

#endif /* COWCOPY_INTERNAL_H */
