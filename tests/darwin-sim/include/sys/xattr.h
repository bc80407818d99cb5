/*
 * <sys/xattr.h> - Darwin's extended-attribute calls (X bsd/sys/xattr.h,
 * getxattr(2) & co.), simulated by tests/darwin-sim. It shadows glibc's
 * <sys/xattr.h>: nothing of Linux's API (l*xattr, XATTR_CREATE = 1, ...) is
 * visible to code built against the simulation.
 *
 * The calls have Darwin's signatures and option values; their names are
 * macros for darwin_sim_<name> (glibc has the same names), defined in the
 * force-included darwin-sim.h so that every line of every translation unit
 * agrees on them, whatever it includes first. A Darwin name such
 * as "com.apple.FinderInfo" is stored as the Linux xattr
 * "user.com.apple.FinderInfo"; Linux-only namespaces (security., system.,
 * trusted.) are invisible. A missing attribute is ENOATTR, never ENODATA.
 */
#ifndef _SYS_XATTR_H_
#define _SYS_XATTR_H_

#include <stdint.h>
#include <sys/types.h>

/* Options for pathname based xattr calls */
#define XATTR_NOFOLLOW 0x0001 /* Don't follow symbolic links */
/* Options for setxattr calls */
#define XATTR_CREATE 0x0002  /* set the value, fail if attr already exists */
#define XATTR_REPLACE 0x0004 /* set the value, fail if attr does not exist */
/* Set this to bypass authorization checking (eg. if doing auth-related work) */
#define XATTR_NOSECURITY 0x0008
/* Set this to bypass the default extended attribute file (dot-underscore file) */
#define XATTR_NODEFAULT 0x0010
/* option for f/getxattr() and f/listxattr() to expose the HFS Compression extended attributes */
#define XATTR_SHOWCOMPRESSION 0x0020
/* Options for pathname based xattr calls */
#define XATTR_NOFOLLOW_ANY 0x0040 /* Don't follow any symbolic links in the path */

#define XATTR_MAXNAMELEN 127

/* See the ATTR_CMN_FNDRINFO section of getattrlist(2) for details on FinderInfo */
#define XATTR_FINDERINFO_NAME "com.apple.FinderInfo"
#define XATTR_RESOURCEFORK_NAME "com.apple.ResourceFork"

#ifdef __cplusplus
extern "C" {
#endif

/* @return the value's size (with value NULL or size 0: the size needed), or
 * -1 and errno: ENOATTR, ERANGE, ENAMETOOLONG (name over 127 bytes), EPERM,
 * EINVAL (bad name or options, position != 0 except for the resource fork,
 * XATTR_NOFOLLOW on the f* call), ENOTSUP, ... */
ssize_t darwin_sim_getxattr(const char *path, const char *name, void *value, size_t size,
                            u_int32_t position, int options);
ssize_t darwin_sim_fgetxattr(int fd, const char *name, void *value, size_t size,
                             u_int32_t position, int options);
/* @return 0, or -1 and errno: EEXIST (XATTR_CREATE), ENOATTR (XATTR_REPLACE),
 * E2BIG, ERANGE, EINVAL, EPERM, ENOTSUP, ... */
int darwin_sim_setxattr(const char *path, const char *name, const void *value, size_t size,
                        u_int32_t position, int options);
int darwin_sim_fsetxattr(int fd, const char *name, const void *value, size_t size,
                         u_int32_t position, int options);
int darwin_sim_removexattr(const char *path, const char *name, int options);
int darwin_sim_fremovexattr(int fd, const char *name, int options);
/* NUL-terminated names back to back; @return their total size (0: none),
 * with namebuff NULL or size 0 the size needed; ERANGE if size is short. */
ssize_t darwin_sim_listxattr(const char *path, char *namebuff, size_t size, int options);
ssize_t darwin_sim_flistxattr(int fd, char *namebuff, size_t size, int options);

#ifdef __cplusplus
}
#endif

#endif /* _SYS_XATTR_H_ */
