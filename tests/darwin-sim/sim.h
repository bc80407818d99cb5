/*
 * sim.h - internals shared by the files of the simulated Darwin layer
 * (libdarwinsim.a). Not for the code under test: that includes the Darwin
 * headers in include/ only.
 *
 * The implementation is compiled with DARWIN_SIM_BUILDING, so it sees the
 * Darwin names and values (CLONE_*, XATTR_CREATE = 2, ENOATTR = 93...) next
 * to glibc's, without the renaming macros. Linux's own xattr calls, whose
 * header clashes with Darwin's <sys/xattr.h>, are reached through the
 * dsim_lx_* wrappers of linux.c, the one file compiled against glibc alone.
 *
 * Conventions: functions return 0 (or a count) on success and -1 with errno
 * set on failure, as the Darwin calls they serve; errno values are always
 * produced by name (ENOATTR, ENOTSUP, ...), never by number.
 */
#ifndef DARWIN_SIM_INTERNAL_H
#define DARWIN_SIM_INTERNAL_H

#ifndef DARWIN_SIM_BUILDING
#error "sim.h is internal to libdarwinsim (build with -DDARWIN_SIM_BUILDING)"
#endif

#include "darwin-sim.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* ------------------------------------------------- Linux xattrs (linux.c)
 * Thin wrappers of glibc's calls; `how` is one of DSIM_LX_*. nofollow picks
 * the l* variant. They return what glibc returns, Linux errno included. */
enum { DSIM_LX_ANY = 0, DSIM_LX_CREATE = 1, DSIM_LX_REPLACE = 2 };
ssize_t dsim_lx_getxattr(const char *path, const char *name, void *value, size_t size,
                         bool nofollow);
ssize_t dsim_lx_fgetxattr(int fd, const char *name, void *value, size_t size);
int dsim_lx_setxattr(const char *path, const char *name, const void *value, size_t size,
                     int how, bool nofollow);
int dsim_lx_fsetxattr(int fd, const char *name, const void *value, size_t size, int how);
ssize_t dsim_lx_listxattr(const char *path, char *list, size_t size, bool nofollow);
ssize_t dsim_lx_flistxattr(int fd, char *list, size_t size);
int dsim_lx_removexattr(const char *path, const char *name, bool nofollow);
int dsim_lx_fremovexattr(int fd, const char *name);
/* The largest value Linux accepts (XATTR_SIZE_MAX). */
size_t dsim_lx_xattr_size_max(void);

/* ------------------------------------------------------ objects (node.c)
 * An object the simulation inspects: an O_PATH descriptor opened from a
 * path (or the caller's descriptor), its statx, and "/proc/self/fd/N", a
 * path that reaches exactly that object for the path-only Linux calls. */
struct dsim_node {
    int fd;
    bool owned;      /* fd is ours to close */
    char proc[48];   /* "/proc/self/fd/N" */
    struct statx stx;
};

/* How a path's symlinks are treated. */
enum dsim_follow {
    DSIM_FOLLOW,       /* follow all */
    DSIM_NOFOLLOW,     /* not the last component */
    DSIM_NOFOLLOW_ANY, /* none: ELOOP on any, the last component included */
};

/* Open the object at dirfd/path. @return 0, or -1 and errno (ENOENT for
 * "", ELOOP, ENOTDIR, EACCES, ...). */
int dsim_node_open(struct dsim_node *n, int dirfd, const char *path, enum dsim_follow follow);
/* Describe the caller's open descriptor fd (kept open by the caller).
 * @return 0, or -1 and EBADF. */
int dsim_node_from_fd(struct dsim_node *n, int fd);
void dsim_node_close(struct dsim_node *n);
/* Re-read n->stx. */
int dsim_node_restat(struct dsim_node *n);
/* openat with O_NOFOLLOW added for DSIM_NOFOLLOW; for DSIM_NOFOLLOW_ANY a
 * walk that fails with ELOOP on any symlink, the last component included.
 * O_CLOEXEC is always added. */
int dsim_open(int dirfd, const char *path, int oflags, mode_t mode, enum dsim_follow follow);
/* Split path into its parent directory, opened O_PATH|O_DIRECTORY relative
 * to dirfd (its symlinks followed unless follow is DSIM_NOFOLLOW_ANY), and
 * its last component, copied into base[NAME_MAX + 1]. *trailing_slash says
 * whether path ended in '/'. @return the parent's fd, or -1 and errno
 * (ENOENT for "", ENAMETOOLONG, ...). */
int dsim_open_parent(int dirfd, const char *path, enum dsim_follow follow, char *base,
                     bool *trailing_slash);

/* ---------------------------------------- flags and creation time (meta.c)
 * Linux has neither st_flags nor a settable creation time, so the
 * simulation keeps them in the xattr user.com.apple.system.darwin-sim: a
 * name in Darwin's protected com.apple.system. namespace, which the Darwin
 * xattr calls refuse (EPERM) and listxattr hides, as Darwin does for its
 * own protected names. Without the record: flags 0, creation time =
 * statx's btime (or the older of mtime and ctime where the filesystem has
 * no btime). Symlinks cannot carry user xattrs on Linux: their flags are 0
 * and their creation time is btime, and setting either fails with ENOTSUP. */
#define DSIM_META_XATTR "user.com.apple.system.darwin-sim"

struct dsim_meta {
    uint32_t flags;           /* UF_* | SF_* */
    struct timespec crtime;   /* effective creation time */
    bool crtime_recorded;     /* crtime came from the record */
};

/* Read n's flags and creation time. @return 0, or -1 and errno (EACCES
 * if the record exists but cannot be read). */
int dsim_meta_read(const struct dsim_node *n, struct dsim_meta *m);
/* Record flags and crtime (always both). @return 0, or -1 and errno
 * (ENOTSUP for symlinks). An owner without write permission is let through
 * by a temporary chmod u+w (Linux asks write permission for user xattrs,
 * Darwin asks ownership for chflags). */
int dsim_meta_write(const struct dsim_node *n, const struct dsim_meta *m);

/* May the caller change n's flags from `old` to `flags` (chflags(2)
 * rules: EINVAL for bits outside UF_SETTABLE | SF_SUPPORTED, EPERM unless
 * owner or root, EPERM for SF_* changes unless root)? @return 0 or -1. */
int dsim_flags_check(const struct dsim_node *n, uint32_t old, uint32_t flags);

/* Is the caller root or the owner of n? (Darwin's rule for chflags, times.) */
bool dsim_owner_or_root(const struct dsim_node *n);

/* ------------------------------------------------------- xattrs (xattr.c) */
/* Copy every Darwin-visible xattr (Linux user.*, minus the record) of
 * `from` to `to`, replacing what `to` has under those names. When
 * remove_others, `to`'s other visible xattrs are removed first.
 * @return 0, or -1 and errno. */
int dsim_xattrs_copy(const struct dsim_node *from, const struct dsim_node *to,
                     bool remove_others);
/* Does n have any Darwin-visible xattr? @return 1, 0, or -1 and errno. */
int dsim_xattrs_any(const struct dsim_node *n);
/* Copy the POSIX ACLs (access, and default for directories) of `from` onto
 * `to`; where `from` has none, `to`'s are removed when remove_missing.
 * @return 0, or -1 and errno. */
int dsim_acl_copy(const struct dsim_node *from, const struct dsim_node *to, bool remove_missing);

/* ------------------------------------------------------ extents (fcntl.c) */
struct fiemap_extent;
/* All FIEMAP extents of the open (not O_PATH) file fd, synced first.
 * @return the count (*out malloc'ed, NULL if 0), or -1 and errno. */
int dsim_extents(int fd, struct fiemap_extent **out);

/* ---------------------------------------------- clonefile (clonefile.c) */
/* The clonefile flags the simulated kernel accepts. */
uint32_t dsim_clone_flags_known(void);

/* --------------------------------------------------------- misc (node.c) */
/* Darwin's dev_t encoding of a Linux device number (major << 24 | minor). */
int32_t dsim_darwin_dev(uint32_t major, uint32_t minor);
/* Map a Linux "cannot do this here" errno from FICLONE, FIEMAP, fallocate
 * and renameat2 to Darwin's ENOTSUP; others unchanged. */
int dsim_notsup_errno(int e);

#endif /* DARWIN_SIM_INTERNAL_H */
