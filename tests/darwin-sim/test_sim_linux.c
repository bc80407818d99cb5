/*
 * test_sim_linux.c - the tests' Linux-side oracle (test_sim_oracle.h),
 * compiled against glibc alone so that it sees Linux's xattr API and
 * values, not the simulated Darwin ones.
 */
#include "test_sim_oracle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

ssize_t oracle_getxattr(const char *path, const char *name, void *value, size_t size)
{
    return lgetxattr(path, name, value, size);
}

int oracle_setxattr(const char *path, const char *name, const void *value, size_t size)
{
    return lsetxattr(path, name, value, size, 0);
}

ssize_t oracle_listxattr(const char *path, char *buf, size_t size)
{
    return llistxattr(path, buf, size);
}

int oracle_btime(const char *path, long long *sec, long *nsec)
{
    struct statx stx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &stx) < 0 ||
        !(stx.stx_mask & STATX_BTIME))
        return -1;
    *sec = stx.stx_btime.tv_sec;
    *nsec = stx.stx_btime.tv_nsec;
    return 0;
}

int oracle_acl_has_user(const char *path, unsigned uid)
{
    unsigned char buf[4096];
    ssize_t n = lgetxattr(path, "system.posix_acl_access", buf, sizeof buf);
    if (n < 0)
        return errno == ENODATA ? 0 : -1;
    /* posix_acl_xattr_header { u32 version } then entries { u16 tag, u16 perm, u32 id } */
    for (ssize_t off = 4; off + 8 <= n; off += 8) {
        uint16_t tag;
        uint32_t id;
        memcpy(&tag, buf + off, 2);
        memcpy(&id, buf + off + 4, 4);
        if (tag == 0x02 /* ACL_USER */ && id == uid)
            return 1;
    }
    return 0;
}

int oracle_enodata(void)
{
    return ENODATA;
}
