/*
 * <sys/clonefile.h> - Darwin's clonefile family (X bsd/sys/clonefile.h,
 * clonefile(2)), simulated on Linux by tests/darwin-sim: FICLONE into a newly
 * created file, with Darwin's check order, errnos and metadata rules.
 */
#ifndef _SYS_CLONEFILE_H_
#define _SYS_CLONEFILE_H_

#include <stdint.h>

/* Options for clonefile calls. Each bit first appears in the xnu noted; an
 * older kernel answers it with EINVAL (see darwin_sim_set_os_version). */
#define CLONE_NOFOLLOW 0x0001     /* don't follow a symlink as src's last component (10.12) */
#define CLONE_NOOWNERCOPY 0x0002  /* don't copy owner/group even when root (10.13) */
#define CLONE_ACL 0x0004          /* also copy the source's ACL (13.0) */
#define CLONE_NOFOLLOW_ANY 0x0008 /* fail with ELOOP on any symlink in either path (15.0) */

#ifdef __cplusplus
extern "C" {
#endif

/* Clone src (relative to src_dirfd) to the new name dst (relative to
 * dst_dirfd). @return 0, or -1 and errno: EINVAL (flags; src not a regular
 * file, symlink or directory), ENOENT, EEXIST (dst exists), EXDEV (other
 * mount), EACCES, ENOTSUP (filesystem cannot clone), ENOSPC, EIO, ... */
int clonefileat(int src_dirfd, const char *src, int dst_dirfd, const char *dst, uint32_t flags)
    __OSX_AVAILABLE(10.12) __IOS_AVAILABLE(10.0) __TVOS_AVAILABLE(10.0) __WATCHOS_AVAILABLE(3.0);
/* As clonefileat, the source being the open file srcfd, which must be open
 * for reading (else EBADF). */
int fclonefileat(int srcfd, int dst_dirfd, const char *dst, uint32_t flags)
    __OSX_AVAILABLE(10.12) __IOS_AVAILABLE(10.0) __TVOS_AVAILABLE(10.0) __WATCHOS_AVAILABLE(3.0);
/* clonefileat(AT_FDCWD, src, AT_FDCWD, dst, flags). */
int clonefile(const char *src, const char *dst, uint32_t flags)
    __OSX_AVAILABLE(10.12) __IOS_AVAILABLE(10.0) __TVOS_AVAILABLE(10.0) __WATCHOS_AVAILABLE(3.0);

#ifdef __cplusplus
}
#endif

#endif /* _SYS_CLONEFILE_H_ */
