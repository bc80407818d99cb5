/*
 * node.c - how the simulated Darwin layer reaches file system objects:
 * opening paths with Darwin's three symlink policies (follow, NOFOLLOW,
 * NOFOLLOW_ANY, a symlink-free walk), describing an object by
 * statx, and small conversions shared by the other files.
 */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Set errno to e. @return -1. */
static int fail_errno(int e)
{
    errno = e;
    return -1;
}

/* Open path under DSIM_NOFOLLOW_ANY: one component at a time, each opened
 * O_PATH|O_NOFOLLOW and refused (ELOOP) if it is a symlink. (openat2's
 * RESOLVE_NO_SYMLINKS would do it in one call, but valgrind 3.19 does not
 * know that system call.) */
static int open_nofollow_any(int dirfd, const char *path, int oflags, mode_t mode)
{
    size_t len = strlen(path);
    if (len == 0)
        return fail_errno(ENOENT);
    if (len >= PATH_MAX)
        return fail_errno(ENAMETOOLONG);
    char copy[PATH_MAX];
    memcpy(copy, path, len + 1);
    int cur = openat(path[0] == '/' ? AT_FDCWD : dirfd, path[0] == '/' ? "/" : ".",
                     O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0)
        return -1;
    char *save = NULL;
    char *comp = strtok_r(copy, "/", &save);
    if (!comp) /* "/" */
        comp = ".";
    for (;;) {
        char *next = strtok_r(NULL, "/", &save);
        struct stat st;
        if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
            close(cur);
            return fail_errno(ELOOP);
        }
        if (!next) { /* the last component */
            int fd = openat(cur, comp, oflags | O_NOFOLLOW, mode);
            int e = errno;
            close(cur);
            if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
                close(fd); /* replaced by a symlink meanwhile */
                return fail_errno(ELOOP);
            }
            errno = e;
            return fd;
        }
        int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        close(cur);
        if (fd < 0)
            return -1;
        int e = fstat(fd, &st) < 0 ? errno : S_ISLNK(st.st_mode) ? ELOOP
                                         : !S_ISDIR(st.st_mode)    ? ENOTDIR
                                                                   : 0;
        if (e) {
            close(fd);
            return fail_errno(e);
        }
        cur = fd;
        comp = next;
    }
}

int dsim_open(int dirfd, const char *path, int oflags, mode_t mode, enum dsim_follow follow)
{
    if (!path)
        return fail_errno(EFAULT);
    oflags |= O_CLOEXEC;
    if (follow == DSIM_NOFOLLOW)
        oflags |= O_NOFOLLOW;
    if (follow == DSIM_NOFOLLOW_ANY)
        return open_nofollow_any(dirfd, path, oflags, mode);
    return openat(dirfd, path, oflags, mode);
}

int dsim_open_parent(int dirfd, const char *path, enum dsim_follow follow, char *base,
                     bool *trailing_slash)
{
    if (!path) {
        errno = EFAULT;
        return -1;
    }
    size_t len = strlen(path);
    if (len == 0) {
        errno = ENOENT;
        return -1;
    }
    if (len >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char copy[PATH_MAX];
    memcpy(copy, path, len + 1);
    *trailing_slash = false;
    while (len > 1 && copy[len - 1] == '/') {
        copy[--len] = '\0';
        *trailing_slash = true;
    }
    char *slash = strrchr(copy, '/');
    const char *name = slash ? slash + 1 : copy;
    const char *parent = ".";
    if (slash == copy)
        parent = "/";
    else if (slash) {
        *slash = '\0';
        parent = copy;
    }
    if (strlen(name) > NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (*name == '\0') { /* the path was "/" */
        name = ".";
    }
    strcpy(base, name);
    return dsim_open(dirfd, parent, O_PATH | O_DIRECTORY, 0,
                     follow == DSIM_NOFOLLOW_ANY ? DSIM_NOFOLLOW_ANY : DSIM_FOLLOW);
}

/* Fill n->stx and n->proc for n->fd. */
static int describe(struct dsim_node *n)
{
    snprintf(n->proc, sizeof n->proc, "/proc/self/fd/%d", n->fd);
    return dsim_node_restat(n);
}

int dsim_node_restat(struct dsim_node *n)
{
    return statx(n->fd, "", AT_EMPTY_PATH,
                 STATX_BASIC_STATS | STATX_BTIME | STATX_MNT_ID, &n->stx);
}

int dsim_node_open(struct dsim_node *n, int dirfd, const char *path, enum dsim_follow follow)
{
    n->owned = true;
    n->fd = dsim_open(dirfd, path, O_PATH, 0, follow);
    if (n->fd < 0)
        return -1;
    if (describe(n) < 0) {
        int e = errno;
        close(n->fd);
        n->fd = -1;
        errno = e;
        return -1;
    }
    return 0;
}

int dsim_node_from_fd(struct dsim_node *n, int fd)
{
    n->owned = false;
    n->fd = fd;
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    return describe(n);
}

void dsim_node_close(struct dsim_node *n)
{
    if (n->owned && n->fd >= 0)
        close(n->fd);
    n->fd = -1;
}

bool dsim_owner_or_root(const struct dsim_node *n)
{
    uid_t me = geteuid();
    return me == 0 || me == n->stx.stx_uid;
}

int32_t dsim_darwin_dev(uint32_t major, uint32_t minor)
{
    return (int32_t)((major << 24) | (minor & 0xffffff));
}

int dsim_notsup_errno(int e)
{
    /* Linux's EOPNOTSUPP is ENOTSUP; ENOTTY: no such ioctl here. */
    if (e == EOPNOTSUPP || e == ENOTTY)
        return ENOTSUP;
    return e;
}
