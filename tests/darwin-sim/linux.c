/*
 * linux.c - the Linux side of the simulated Darwin layer: glibc's xattr
 * calls behind dsim_lx_* names. It is the one file of libdarwinsim compiled
 * against glibc's headers alone (no darwin-sim.h, no include/), because
 * glibc's <sys/xattr.h> and Darwin's cannot both be seen in one file.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/xattr.h>

#ifdef DARWIN_SIM
#error "linux.c must be compiled without darwin-sim.h"
#endif

/* Declared in sim.h, which this file cannot include. */
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
size_t dsim_lx_xattr_size_max(void);

/* DSIM_LX_* to Linux's XATTR_CREATE / XATTR_REPLACE. */
static int linux_how(int how)
{
    return how == DSIM_LX_CREATE ? XATTR_CREATE : how == DSIM_LX_REPLACE ? XATTR_REPLACE : 0;
}

ssize_t dsim_lx_getxattr(const char *path, const char *name, void *value, size_t size,
                         bool nofollow)
{
    return nofollow ? lgetxattr(path, name, value, size) : getxattr(path, name, value, size);
}

ssize_t dsim_lx_fgetxattr(int fd, const char *name, void *value, size_t size)
{
    return fgetxattr(fd, name, value, size);
}

int dsim_lx_setxattr(const char *path, const char *name, const void *value, size_t size,
                     int how, bool nofollow)
{
    return nofollow ? lsetxattr(path, name, value, size, linux_how(how))
                    : setxattr(path, name, value, size, linux_how(how));
}

int dsim_lx_fsetxattr(int fd, const char *name, const void *value, size_t size, int how)
{
    return fsetxattr(fd, name, value, size, linux_how(how));
}

ssize_t dsim_lx_listxattr(const char *path, char *list, size_t size, bool nofollow)
{
    return nofollow ? llistxattr(path, list, size) : listxattr(path, list, size);
}

ssize_t dsim_lx_flistxattr(int fd, char *list, size_t size)
{
    return flistxattr(fd, list, size);
}

int dsim_lx_removexattr(const char *path, const char *name, bool nofollow)
{
    return nofollow ? lremovexattr(path, name) : removexattr(path, name);
}

int dsim_lx_fremovexattr(int fd, const char *name)
{
    return fremovexattr(fd, name);
}

size_t dsim_lx_xattr_size_max(void)
{
    return 65536; /* XATTR_SIZE_MAX in <linux/limits.h> */
}
