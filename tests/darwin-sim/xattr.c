/*
 * xattr.c - Darwin's extended-attribute calls (getxattr(2), setxattr(2),
 * listxattr(2), removexattr(2) and their f* forms) on Linux xattrs.
 *
 * Names: the Darwin name N is the Linux xattr "user.N"; Linux names outside
 * user. (security., system., trusted.) are never shown. Darwin's protected
 * names (com.apple.system.*) are refused with EPERM and hidden from lists,
 * which also keeps the simulation's own record (sim.h) out of reach.
 * Check order follows xnu's syscalls (X bsd/vfs/vfs_syscalls.c and
 * vfs_xattr.c): options, then the object (path calls look it up before the
 * name for get/list/remove, after it for set), the name (ENAMETOOLONG over
 * XATTR_MAXNAMELEN, EPERM if protected), the object type (EPERM unless
 * regular file, directory or symlink), the name's form (EINVAL if empty or
 * not UTF-8), position (EINVAL unless 0 or the resource fork), the call.
 * Linux's ENODATA becomes ENOATTR; EOPNOTSUPP is ENOTSUP already.
 */
#include "sim.h"

#include <sys/xattr.h>
#include <sys/decmpfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USER_PREFIX "user."
#define USER_PREFIX_LEN 5
#define PROTECTED_PREFIX "com.apple.system."

/* Linux's errno for a Darwin xattr call, translated by name. */
static int translate(int e)
{
    return e == ENODATA ? ENOATTR : e;
}

static int fail(int e)
{
    errno = e;
    return -1;
}

/* Is s valid UTF-8 (xnu's utf8_validatestr, minus its Unicode tables)? */
static bool valid_utf8(const unsigned char *s)
{
    while (*s) {
        int extra = *s < 0x80 ? 0 : (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2
                                   : (*s & 0xf8) == 0xf0 ? 3 : -1;
        if (extra < 0 || (extra == 1 && *s < 0xc2))
            return false;
        s++;
        for (int i = 0; i < extra; i++, s++)
            if ((*s & 0xc0) != 0x80)
                return false;
    }
    return true;
}

static bool is_protected(const char *name)
{
    return strncmp(name, PROTECTED_PREFIX, strlen(PROTECTED_PREFIX)) == 0;
}

static bool is_compression_name(const char *name)
{
    return strcmp(name, DECMPFS_XATTR_NAME) == 0 || strcmp(name, XATTR_RESOURCEFORK_NAME) == 0;
}

/* The name checks done when the syscall copies the name in: NULL, length,
 * protection. `root_may_read_security`: getxattr lets root read
 * com.apple.system.Security. @return 0 or -1 and errno. */
static int check_name_copyin(const char *name, bool root_may_read_security)
{
    if (!name)
        return fail(EFAULT);
    if (strlen(name) > XATTR_MAXNAMELEN)
        return fail(ENAMETOOLONG);
    if (is_protected(name) &&
        !(root_may_read_security && geteuid() == 0 && strcmp(name, "com.apple.system.Security") == 0))
        return fail(EPERM);
    return 0;
}

/* vn_*xattr's checks: object type, then the name's form. */
static int check_node_and_name(const struct dsim_node *n, const char *name)
{
    mode_t t = n->stx.stx_mode & S_IFMT;
    if (t != S_IFREG && t != S_IFDIR && t != S_IFLNK)
        return fail(EPERM);
    if (name && (name[0] == '\0' || !valid_utf8((const unsigned char *)name)))
        return fail(EINVAL);
    return 0;
}

/* "user." + name into buf (name is at most XATTR_MAXNAMELEN bytes). */
static const char *linux_name(char *buf, const char *name)
{
    memcpy(buf, USER_PREFIX, USER_PREFIX_LEN);
    strcpy(buf + USER_PREFIX_LEN, name);
    return buf;
}

/* Hidden because the file is UF_COMPRESSED and the caller did not ask for
 * XATTR_SHOWCOMPRESSION? @return 1, 0, or -1 and errno. */
static int hidden_by_compression(const struct dsim_node *n, const char *name, int options)
{
    if ((options & XATTR_SHOWCOMPRESSION) || !is_compression_name(name))
        return 0;
    struct dsim_meta m;
    if (dsim_meta_read(n, &m) < 0)
        return -1;
    return (m.flags & UF_COMPRESSED) != 0;
}

/* Open the object of a path call. */
static int open_path(struct dsim_node *n, const char *path, int options)
{
    enum dsim_follow f = (options & XATTR_NOFOLLOW_ANY) ? DSIM_NOFOLLOW_ANY
                         : (options & XATTR_NOFOLLOW) ? DSIM_NOFOLLOW
                                                      : DSIM_FOLLOW;
    return dsim_node_open(n, AT_FDCWD, path, f);
}

/* Read the whole Linux xattr lname of n into a malloc'ed buffer.
 * @return its length (*out set, free it), or -1 and the Linux errno. */
static ssize_t read_all(const struct dsim_node *n, const char *lname, unsigned char **out)
{
    *out = NULL;
    for (;;) {
        ssize_t len = dsim_lx_getxattr(n->proc, lname, NULL, 0, false);
        if (len < 0)
            return -1;
        unsigned char *buf = malloc(len ? (size_t)len : 1);
        if (!buf)
            return fail(ENOMEM);
        ssize_t got = dsim_lx_getxattr(n->proc, lname, buf, (size_t)len, false);
        if (got >= 0) {
            *out = buf;
            return got;
        }
        int e = errno;
        free(buf);
        if (e != ERANGE) /* ERANGE: it grew meanwhile */
            return fail(e);
    }
}

/* The Linux name list of n, malloc'ed. @return its size or -1 (Linux errno). */
static ssize_t list_all(const struct dsim_node *n, char **out)
{
    *out = NULL;
    if (S_ISLNK(n->stx.stx_mode))
        return 0; /* Linux allows no user xattrs on symlinks */
    for (;;) {
        ssize_t len = dsim_lx_listxattr(n->proc, NULL, 0, false);
        if (len <= 0)
            return len;
        char *buf = malloc((size_t)len);
        if (!buf)
            return fail(ENOMEM);
        ssize_t got = dsim_lx_listxattr(n->proc, buf, (size_t)len, false);
        if (got >= 0) {
            *out = buf;
            return got;
        }
        int e = errno;
        free(buf);
        if (e != ERANGE)
            return fail(e);
    }
}

/* -------------------------------------------------------------- getxattr */

static ssize_t get_on(const struct dsim_node *n, const char *name, void *value, size_t size,
                      u_int32_t position, int options)
{
    if (check_node_and_name(n, name) < 0)
        return -1;
    bool rsrc = strcmp(name, XATTR_RESOURCEFORK_NAME) == 0;
    if (position != 0 && !rsrc)
        return fail(EINVAL);
    int hidden = hidden_by_compression(n, name, options);
    if (hidden)
        return hidden < 0 ? -1 : fail(ENOATTR);
    if (S_ISLNK(n->stx.stx_mode))
        return fail(ENOATTR);
    char lname[USER_PREFIX_LEN + XATTR_MAXNAMELEN + 1];
    linux_name(lname, name);
    if (!rsrc || position == 0) {
        ssize_t r = dsim_lx_getxattr(n->proc, lname, size ? value : NULL, value ? size : 0, false);
        return r < 0 ? fail(translate(errno)) : r;
    }
    unsigned char *all;
    ssize_t len = read_all(n, lname, &all);
    if (len < 0)
        return fail(translate(errno));
    ssize_t r = len;
    if (value && size) {
        size_t avail = (size_t)len > position ? (size_t)len - position : 0;
        r = (ssize_t)(avail < size ? avail : size);
        memcpy(value, all + position, (size_t)r);
    }
    free(all);
    return r;
}

ssize_t darwin_sim_getxattr(const char *path, const char *name, void *value, size_t size,
                            u_int32_t position, int options)
{
    if (options & (XATTR_NOSECURITY | XATTR_NODEFAULT))
        return fail(EINVAL);
    struct dsim_node n;
    if (open_path(&n, path, options) < 0)
        return -1;
    ssize_t r = -1;
    if (check_name_copyin(name, true) == 0)
        r = get_on(&n, name, value, size, position, options);
    int e = errno;
    dsim_node_close(&n);
    errno = e;
    return r;
}

ssize_t darwin_sim_fgetxattr(int fd, const char *name, void *value, size_t size,
                             u_int32_t position, int options)
{
    if (options & (XATTR_NOFOLLOW | XATTR_NOFOLLOW_ANY | XATTR_NOSECURITY | XATTR_NODEFAULT))
        return fail(EINVAL);
    struct dsim_node n;
    if (dsim_node_from_fd(&n, fd) < 0 || check_name_copyin(name, true) < 0)
        return -1;
    return get_on(&n, name, value, size, position, options);
}

/* -------------------------------------------------------------- setxattr */

static int set_on(const struct dsim_node *n, const char *name, const void *value, size_t size,
                  u_int32_t position, int options)
{
    if (check_node_and_name(n, NULL) < 0)
        return -1;
    if ((options & (XATTR_CREATE | XATTR_REPLACE)) == (XATTR_CREATE | XATTR_REPLACE))
        return fail(EINVAL);
    if (check_node_and_name(n, name) < 0)
        return -1;
    bool rsrc = strcmp(name, XATTR_RESOURCEFORK_NAME) == 0;
    if (position != 0 && !rsrc)
        return fail(EINVAL);
    if (strcmp(name, XATTR_FINDERINFO_NAME) == 0 && size != 32)
        return fail(ERANGE);
    if (S_ISLNK(n->stx.stx_mode))
        return fail(EPERM); /* Linux: no user xattrs on symlinks */
    int how = (options & XATTR_CREATE)    ? DSIM_LX_CREATE
              : (options & XATTR_REPLACE) ? DSIM_LX_REPLACE
                                          : DSIM_LX_ANY;
    char lname[USER_PREFIX_LEN + XATTR_MAXNAMELEN + 1];
    linux_name(lname, name);
    if (position == 0) {
        int r = dsim_lx_setxattr(n->proc, lname, value, size, how, false);
        return r < 0 ? fail(translate(errno)) : 0;
    }
    /* Resource fork at an offset: rewrite the whole value. */
    unsigned char *old;
    ssize_t len = read_all(n, lname, &old);
    if (len < 0 && errno != ENODATA)
        return fail(translate(errno));
    if (len >= 0 && how == DSIM_LX_CREATE) {
        free(old);
        return fail(EEXIST);
    }
    if (len < 0 && how == DSIM_LX_REPLACE)
        return fail(ENOATTR);
    size_t oldlen = len < 0 ? 0 : (size_t)len;
    size_t newlen = (size_t)position + size > oldlen ? (size_t)position + size : oldlen;
    if (newlen > dsim_lx_xattr_size_max()) {
        free(old);
        return fail(E2BIG);
    }
    unsigned char *buf = calloc(1, newlen ? newlen : 1);
    if (!buf) {
        free(old);
        return fail(ENOMEM);
    }
    if (oldlen)
        memcpy(buf, old, oldlen);
    memcpy(buf + position, value, size);
    int r = dsim_lx_setxattr(n->proc, lname, buf, newlen, DSIM_LX_ANY, false);
    int e = errno;
    free(buf);
    free(old);
    return r < 0 ? fail(translate(e)) : 0;
}

/* setxattr's checks before the object is looked up. */
static int set_precheck(const char *name, const void *value, size_t size)
{
    if (check_name_copyin(name, false) < 0)
        return -1;
    if (size != 0 && value == NULL)
        return fail(EINVAL);
    return 0;
}

int darwin_sim_setxattr(const char *path, const char *name, const void *value, size_t size,
                        u_int32_t position, int options)
{
    if (options & (XATTR_NOSECURITY | XATTR_NODEFAULT))
        return fail(EINVAL);
    if (set_precheck(name, value, size) < 0)
        return -1;
    struct dsim_node n;
    if (open_path(&n, path, options) < 0)
        return -1;
    int r = set_on(&n, name, value, size, position, options), e = errno;
    dsim_node_close(&n);
    errno = e;
    return r;
}

int darwin_sim_fsetxattr(int fd, const char *name, const void *value, size_t size,
                         u_int32_t position, int options)
{
    if (options & (XATTR_NOFOLLOW | XATTR_NOFOLLOW_ANY | XATTR_NOSECURITY | XATTR_NODEFAULT))
        return fail(EINVAL);
    if (set_precheck(name, value, size) < 0)
        return -1;
    struct dsim_node n;
    if (dsim_node_from_fd(&n, fd) < 0)
        return -1;
    return set_on(&n, name, value, size, position, options);
}

/* ----------------------------------------------------------- removexattr */

static int remove_on(const struct dsim_node *n, const char *name, int options)
{
    if (check_node_and_name(n, name) < 0)
        return -1;
    int hidden = hidden_by_compression(n, name, options);
    if (hidden)
        return hidden < 0 ? -1 : fail(ENOATTR);
    if (S_ISLNK(n->stx.stx_mode))
        return fail(ENOATTR);
    char lname[USER_PREFIX_LEN + XATTR_MAXNAMELEN + 1];
    int r = dsim_lx_removexattr(n->proc, linux_name(lname, name), false);
    return r < 0 ? fail(translate(errno)) : 0;
}

int darwin_sim_removexattr(const char *path, const char *name, int options)
{
    if (options & (XATTR_NOSECURITY | XATTR_NODEFAULT))
        return fail(EINVAL);
    if (check_name_copyin(name, false) < 0)
        return -1;
    struct dsim_node n;
    if (open_path(&n, path, options) < 0)
        return -1;
    int r = remove_on(&n, name, options), e = errno;
    dsim_node_close(&n);
    errno = e;
    return r;
}

int darwin_sim_fremovexattr(int fd, const char *name, int options)
{
    if (options & (XATTR_NOFOLLOW | XATTR_NOFOLLOW_ANY | XATTR_NOSECURITY | XATTR_NODEFAULT))
        return fail(EINVAL);
    struct dsim_node n;
    if (dsim_node_from_fd(&n, fd) < 0 || check_name_copyin(name, false) < 0)
        return -1;
    return remove_on(&n, name, options);
}

/* ------------------------------------------------------------- listxattr */

/* Is the Linux name lname shown to Darwin callers (options apply)? */
static int visible(const struct dsim_node *n, const char *lname, int options)
{
    if (strncmp(lname, USER_PREFIX, USER_PREFIX_LEN) != 0)
        return 0;
    const char *name = lname + USER_PREFIX_LEN;
    if (is_protected(name) || strlen(name) > XATTR_MAXNAMELEN)
        return 0;
    int hidden = hidden_by_compression(n, name, options);
    return hidden < 0 ? -1 : !hidden;
}

static ssize_t list_on(const struct dsim_node *n, char *namebuf, size_t size, int options)
{
    if (check_node_and_name(n, NULL) < 0)
        return -1;
    char *all;
    ssize_t len = list_all(n, &all);
    if (len < 0)
        return fail(translate(errno));
    size_t need = 0;
    ssize_t r = 0;
    for (ssize_t i = 0; i < len && r == 0; i += (ssize_t)strlen(all + i) + 1) {
        int v = visible(n, all + i, options);
        if (v < 0)
            r = -1;
        else if (v)
            need += strlen(all + i) - USER_PREFIX_LEN + 1;
    }
    if (r == 0 && namebuf && size) {
        if (size < need) {
            errno = ERANGE;
            r = -1;
        } else {
            char *out = namebuf;
            for (ssize_t i = 0; i < len; i += (ssize_t)strlen(all + i) + 1)
                if (visible(n, all + i, options) > 0) {
                    size_t l = strlen(all + i) - USER_PREFIX_LEN + 1;
                    memcpy(out, all + i + USER_PREFIX_LEN, l);
                    out += l;
                }
        }
    }
    int e = errno;
    free(all);
    errno = e;
    return r < 0 ? -1 : (ssize_t)need;
}

ssize_t darwin_sim_listxattr(const char *path, char *namebuff, size_t size, int options)
{
    if (options & (XATTR_NOSECURITY | XATTR_NODEFAULT))
        return fail(EINVAL);
    struct dsim_node n;
    if (open_path(&n, path, options) < 0)
        return -1;
    ssize_t r = list_on(&n, namebuff, size, options);
    int e = errno;
    dsim_node_close(&n);
    errno = e;
    return r;
}

ssize_t darwin_sim_flistxattr(int fd, char *namebuff, size_t size, int options)
{
    if (options & (XATTR_NOFOLLOW | XATTR_NOFOLLOW_ANY | XATTR_NOSECURITY | XATTR_NODEFAULT))
        return fail(EINVAL);
    struct dsim_node n;
    if (dsim_node_from_fd(&n, fd) < 0)
        return -1;
    return list_on(&n, namebuff, size, options);
}

/* ------------------------------------------------- used by clone and copy */

int dsim_xattrs_any(const struct dsim_node *n)
{
    ssize_t r = list_on(n, NULL, 0, XATTR_SHOWCOMPRESSION);
    return r < 0 ? -1 : r > 0;
}

int dsim_xattrs_copy(const struct dsim_node *from, const struct dsim_node *to, bool remove_others)
{
    if (S_ISLNK(from->stx.stx_mode) || S_ISLNK(to->stx.stx_mode))
        return 0;
    char *names;
    ssize_t len;
    if (remove_others) {
        if ((len = list_all(to, &names)) < 0)
            return fail(translate(errno));
        for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1)
            if (visible(to, names + i, XATTR_SHOWCOMPRESSION) > 0 &&
                dsim_lx_removexattr(to->proc, names + i, false) < 0 && errno != ENODATA) {
                int e = errno;
                free(names);
                return fail(translate(e));
            }
        free(names);
    }
    if ((len = list_all(from, &names)) < 0)
        return fail(translate(errno));
    int r = 0;
    for (ssize_t i = 0; i < len && r == 0; i += (ssize_t)strlen(names + i) + 1) {
        if (visible(from, names + i, XATTR_SHOWCOMPRESSION) <= 0)
            continue;
        unsigned char *value;
        ssize_t vlen = read_all(from, names + i, &value);
        if (vlen < 0) {
            if (errno == ENODATA)
                continue; /* removed meanwhile */
            r = -1;
            break;
        }
        r = dsim_lx_setxattr(to->proc, names + i, value, (size_t)vlen, DSIM_LX_ANY, false);
        free(value);
    }
    int e = errno;
    free(names);
    return r < 0 ? fail(translate(e)) : 0;
}

int dsim_acl_copy(const struct dsim_node *from, const struct dsim_node *to, bool remove_missing)
{
    static const char *const names[] = {"system.posix_acl_access", "system.posix_acl_default"};
    if (S_ISLNK(from->stx.stx_mode) || S_ISLNK(to->stx.stx_mode))
        return 0;
    for (int i = 0; i < 2; i++) {
        if (i == 1 && (!S_ISDIR(from->stx.stx_mode) || !S_ISDIR(to->stx.stx_mode)))
            break;
        unsigned char *acl;
        ssize_t len = read_all(from, names[i], &acl);
        if (len < 0) {
            if (errno != ENODATA && errno != EOPNOTSUPP)
                return -1;
            if (remove_missing && dsim_lx_removexattr(to->proc, names[i], false) < 0 &&
                errno != ENODATA && errno != EOPNOTSUPP)
                return -1;
            continue;
        }
        int r = dsim_lx_setxattr(to->proc, names[i], acl, (size_t)len, DSIM_LX_ANY, false);
        int e = errno;
        free(acl);
        if (r < 0)
            return fail(dsim_notsup_errno(e));
    }
    return 0;
}
