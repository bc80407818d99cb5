/*
 * sys.h - the platform call table.
 *
 * Every system call the library makes goes through cowcopy__sys, a table of
 * function pointers (SQLite's aSyscall idea). Two things hang on it:
 *  - fault injection: test builds (COWCOPY_TESTING) can make any call fail
 *    with any errno at its Nth use, or return short counts (fault.c), so the
 *    fallback ladder and the no-partial-file guarantees are tested against
 *    failures a real filesystem will not produce on demand;
 *  - a second backend (macOS) can be compiled on Linux against a simulated
 *    Darwin layer and exercised by the same tests.
 *
 * Call sites use SYS(name)(args...). Each entry behaves exactly like the libc
 * call of the same name: -1 and errno on failure. Linux ioctls get entries of
 * their own (ficlone, fiemap, ...) so that each can be faulted by name;
 * btrfs_fsid is ioctl BTRFS_IOC_FS_INFO reduced to the filesystem's UUID
 * (call it only on btrfs: other filesystems may reuse the ioctl number).
 *
 * Feature macros (libuv style: test features, not OS names, at call sites):
 *   HAVE_FICLONE, HAVE_COPY_FILE_RANGE, HAVE_O_TMPFILE, HAVE_SEEK_DATA,
 *   HAVE_RENAMEAT2, HAVE_FIEMAP, HAVE_FIDEDUPERANGE
 */
#ifndef COWCOPY_SYS_H
#define COWCOPY_SYS_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

/* The Darwin backend: on macOS, or on Linux against tests/darwin-sim. */
#if defined(__APPLE__) || defined(DARWIN_SIM)
#define COWCOPY_DARWIN 1
#endif

#ifdef COWCOPY_DARWIN
#include <copyfile.h>
#include <sys/attr.h>
#include <sys/clonefile.h>
#include <sys/xattr.h>
#define HAVE_CLONEFILE 1      /* clonefile(2) family: clones make new files */
#define HAVE_FCOPYFILE 1      /* copyfile(3): ACLs */
#define HAVE_F_LOG2PHYS_EXT 1 /* fcntl(F_LOG2PHYS_EXT): physical runs */
#define HAVE_GETATTRLIST 1    /* creation time, BSD flags, volume capabilities */
#define HAVE_CHFLAGS 1        /* BSD file flags (UF_HIDDEN, ...) */
#define HAVE_RENAMEATX_NP 1   /* RENAME_EXCL: rename without replacing */
#elif defined(__linux__)
#include <linux/fs.h>
#ifdef FICLONE
#define HAVE_FICLONE 1
#endif
#ifdef FIDEDUPERANGE
#define HAVE_FIDEDUPERANGE 1
#endif
#define HAVE_FIEMAP 1
#define HAVE_COPY_FILE_RANGE 1
#define HAVE_RENAMEAT2 1
#define HAVE_GETDENTS64 1
#define HAVE_LINUX_XATTR 1
#endif
#if defined(O_TMPFILE) && !defined(COWCOPY_DARWIN)
#define HAVE_O_TMPFILE 1
#endif
#if defined(SEEK_DATA) && defined(SEEK_HOLE)
#define HAVE_SEEK_DATA 1
#endif

struct fiemap;
struct file_dedupe_range;
struct log2phys;

/* FS_IOC_GETFSUUID's argument (Linux 6.5; declared here for older headers). */
struct cowcopy__fsuuid {
    unsigned char len;
    unsigned char uuid[16];
};

/*
 * X(return type, name, parameter list, argument list): one row per call.
 * COWCOPY_SYSCALLS_COMMON are POSIX calls both platforms have (syncfs is
 * sync() on Darwin; fsync is F_FULLFSYNC there, for real durability);
 * the platform list adds the calls only that platform has, with its own
 * signatures (Darwin's xattr calls take a position and options).
 */
#define COWCOPY_SYSCALLS_COMMON(X) \
    X(int, openat, (int dirfd, const char *path, int flags, mode_t mode),                      \
      (dirfd, path, flags, mode)) \
    X(int, close, (int fd), (fd)) \
    X(ssize_t, read, (int fd, void *buf, size_t n), (fd, buf, n)) \
    X(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n)) \
    X(ssize_t, pread, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off)) \
    X(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off)) \
    X(off_t, lseek, (int fd, off_t off, int whence), (fd, off, whence)) \
    X(int, fstat, (int fd, struct stat *st), (fd, st)) \
    X(int, fstatat, (int dirfd, const char *path, struct stat *st, int flags),                 \
      (dirfd, path, st, flags)) \
    X(int, fstatfs, (int fd, struct statfs *st), (fd, st)) \
    X(int, ftruncate, (int fd, off_t len), (fd, len)) \
    X(int, fsync, (int fd), (fd)) \
    X(int, fchmod, (int fd, mode_t mode), (fd, mode)) \
    X(int, fchown, (int fd, uid_t uid, gid_t gid), (fd, uid, gid)) \
    X(int, futimens, (int fd, const struct timespec *ts), (fd, ts)) \
    X(int, fchmodat, (int dirfd, const char *path, mode_t mode, int flags),                    \
      (dirfd, path, mode, flags)) \
    X(int, fchownat, (int dirfd, const char *path, uid_t uid, gid_t gid, int flags),           \
      (dirfd, path, uid, gid, flags)) \
    X(int, utimensat, (int dirfd, const char *path, const struct timespec *ts, int flags),     \
      (dirfd, path, ts, flags)) \
    X(int, linkat, (int olddirfd, const char *old, int newdirfd, const char *new_, int flags), \
      (olddirfd, old, newdirfd, new_, flags)) \
    X(int, renameat, (int olddirfd, const char *old, int newdirfd, const char *new_),          \
      (olddirfd, old, newdirfd, new_)) \
    X(int, unlinkat, (int dirfd, const char *path, int flags), (dirfd, path, flags)) \
    X(int, mkdirat, (int dirfd, const char *path, mode_t mode), (dirfd, path, mode)) \
    X(int, symlinkat, (const char *target, int dirfd, const char *path),                       \
      (target, dirfd, path)) \
    X(ssize_t, readlinkat, (int dirfd, const char *path, char *buf, size_t size),              \
      (dirfd, path, buf, size)) \
    X(int, mknodat, (int dirfd, const char *path, mode_t mode, dev_t dev),                     \
      (dirfd, path, mode, dev)) \
    X(int, faccessat, (int dirfd, const char *path, int mode, int flags),                      \
      (dirfd, path, mode, flags)) \
    X(int, syncfs, (int fd), (fd))

#ifdef COWCOPY_DARWIN
#define COWCOPY_SYSCALLS_PLATFORM(X) \
    X(ssize_t, flistxattr, (int fd, char *list, size_t size, int options), (fd, list, size, options)) \
    X(ssize_t, fgetxattr, (int fd, const char *name, void *value, size_t size, uint32_t position, int options), (fd, name, value, size, position, options)) \
    X(int, fsetxattr, (int fd, const char *name, const void *value, size_t size, uint32_t position, int options), (fd, name, value, size, position, options)) \
    X(int, fremovexattr, (int fd, const char *name, int options), (fd, name, options)) \
    X(int, fclonefileat, (int src_fd, int dst_dirfd, const char *dst, uint32_t flags), (src_fd, dst_dirfd, dst, flags)) \
    X(int, fcopyfile, (int from, int to, copyfile_state_t state, copyfile_flags_t flags), (from, to, state, flags)) \
    X(int, fgetattrlist, (int fd, void *attrs, void *buf, size_t size, unsigned int options), (fd, attrs, buf, size, options)) \
    X(int, fsetattrlist, (int fd, void *attrs, void *buf, size_t size, unsigned int options), (fd, attrs, buf, size, options)) \
    X(int, fchflags, (int fd, unsigned int flags), (fd, flags)) \
    X(int, log2phys_ext, (int fd, struct log2phys *l2p), (fd, l2p)) \
    X(int, renameatx_np, (int fromfd, const char *from, int tofd, const char *to, unsigned int flags), (fromfd, from, tofd, to, flags))
#else
#define COWCOPY_SYSCALLS_PLATFORM(X) \
    X(ssize_t, flistxattr, (int fd, char *list, size_t size), (fd, list, size)) \
    X(ssize_t, fgetxattr, (int fd, const char *name, void *value, size_t size),                \
      (fd, name, value, size)) \
    X(int, fsetxattr, (int fd, const char *name, const void *value, size_t size, int flags),   \
      (fd, name, value, size, flags)) \
    X(int, fremovexattr, (int fd, const char *name), (fd, name)) \
    X(ssize_t, llistxattr, (const char *path, char *list, size_t size), (path, list, size)) \
    X(ssize_t, lgetxattr, (const char *path, const char *name, void *value, size_t size),      \
      (path, name, value, size)) \
    X(int, lsetxattr,                                                                          \
      (const char *path, const char *name, const void *value, size_t size, int flags),         \
      (path, name, value, size, flags)) \
    X(int, renameat2,                                                                          \
      (int olddirfd, const char *old, int newdirfd, const char *new_, unsigned flags),         \
      (olddirfd, old, newdirfd, new_, flags)) \
    X(ssize_t, getdents, (int fd, void *buf, size_t size), (fd, buf, size)) \
    X(int, ficlone, (int dst_fd, int src_fd), (dst_fd, src_fd)) \
    X(ssize_t, copy_file_range,                                                                \
      (int in, off_t *off_in, int out, off_t *off_out, size_t len, unsigned flags),            \
      (in, off_in, out, off_out, len, flags)) \
    X(int, fiemap, (int fd, struct fiemap *map), (fd, map)) \
    X(int, fideduperange, (int src_fd, struct file_dedupe_range *range), (src_fd, range)) \
    X(int, getfsuuid, (int fd, struct cowcopy__fsuuid *uuid), (fd, uuid)) \
    X(int, btrfs_fsid, (int fd, unsigned char fsid[16]), (fd, fsid))
#endif

#define COWCOPY_SYSCALLS(X) COWCOPY_SYSCALLS_COMMON(X) COWCOPY_SYSCALLS_PLATFORM(X)

#define COWCOPY__SYS_MEMBER(ret, name, params, args) ret(*name) params;
typedef struct cowcopy__sys_table {
    COWCOPY_SYSCALLS(COWCOPY__SYS_MEMBER)
} cowcopy__sys_table;
#undef COWCOPY__SYS_MEMBER

/* The table in use. Its entries point at the real calls (sys_linux.c) unless
 * a test build installed fault wrappers (fault.c). */
extern cowcopy__sys_table cowcopy__sys;
/* The real calls, never wrapped. */
extern const cowcopy__sys_table cowcopy__sys_real;

#define SYS(name) (cowcopy__sys.name)

/* Install fault rules from a spec such as "write@3=ENOSPC,ficlone=EOPNOTSUPP"
 * (grammar in fault.c); NULL or "" removes all. Not thread-safe: call it
 * before starting copies. @return 0 or -EINVAL for a malformed spec. */
int cowcopy__fault_set(const char *spec);

/* Test builds: read COWCOPY_FAULTS from the environment once. Production
 * builds: does nothing. Called by every public entry point (cheap). */
void cowcopy__fault_init_from_env(void);

#endif /* COWCOPY_SYS_H */
