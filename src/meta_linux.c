/*
 * meta_linux.c - Linux's extended attributes and POSIX ACLs (which are
 * xattrs there: system.posix_acl_access and _default).
 *
 * Which xattrs are copied follows libattr's /etc/xattr.conf, as cp does:
 * POSIX ACLs belong to "mode"; trusted.SGI_*, xfsroot.*, security.evm and
 * afs.* are never copied; security.selinux is left to the destination's
 * policy (cp copies it only with --preserve=context).
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

enum { XATTR_VALUE_MAX = 65536 }; /* Linux's XATTR_SIZE_MAX */

static const char ACL_ACCESS[] = "system.posix_acl_access";
static const char ACL_DEFAULT[] = "system.posix_acl_default";

static bool is_acl_name(const char *name)
{
    return strcmp(name, ACL_ACCESS) == 0 || strcmp(name, ACL_DEFAULT) == 0 ||
           strcmp(name, "system.nfs4_acl") == 0;
}

static bool is_skipped_name(const char *name)
{
    return strncmp(name, "trusted.SGI_", 12) == 0 || strncmp(name, "xfsroot.", 8) == 0 ||
           strcmp(name, "security.evm") == 0 || strncmp(name, "afs.", 4) == 0 ||
           strcmp(name, "security.selinux") == 0;
}

/* List in_fd's xattr names into a malloc'ed buffer. @return the list's
 * length (0: none, *list NULL) or -errno. */
static ssize_t xattr_list(int fd, char **list, bool skip_refused)
{
    char small[1024];
    *list = NULL;
    ssize_t n = SYS(flistxattr)(fd, small, sizeof small);
    if (n < 0 && errno == ERANGE)
        n = SYS(flistxattr)(fd, NULL, 0);
    else if (n >= 0) {
        if (n == 0)
            return 0;
        *list = malloc((size_t)n);
        if (!*list)
            return -ENOMEM;
        memcpy(*list, small, (size_t)n);
        return n;
    }
    for (int tries = 0; n >= 0 && tries < 5; tries++) {
        free(*list);
        *list = malloc((size_t)n + 1);
        if (!*list)
            return -ENOMEM;
        ssize_t got = SYS(flistxattr)(fd, *list, (size_t)n + 1);
        if (got >= 0)
            return got;
        if (errno != ERANGE)
            break;
        n = SYS(flistxattr)(fd, NULL, 0); /* it grew meanwhile */
    }
    int err = errno;
    free(*list);
    *list = NULL;
    if (err == ENOTSUP || err == EOPNOTSUPP)
        return 0; /* the source's filesystem has no xattrs */
    if (skip_refused && (err == ENODATA || err == EINVAL))
        return 0; /* shutil's rule for listxattr */
    return -err;
}

/* Is err one that COWCOPY__XATTR_SKIP_REFUSED skips (shutil._copyxattr's list)? */
static bool refused(int err)
{
    return err == EPERM || err == ENOTSUP || err == EOPNOTSUPP || err == ENODATA || err == EINVAL;
}

/* Copy the selected xattrs named in list (len bytes, freed here). */
static int xattr_copy_listed(int in_fd, int out_fd, unsigned which, int *acl_err, char *list,
                             ssize_t len)
{
    bool skip_refused = which & COWCOPY__XATTR_SKIP_REFUSED;
    char *value = NULL;
    int first_error = 0;
    for (char *name = list; name < list + len; name += strlen(name) + 1) {
        bool acl = is_acl_name(name);
        if ((acl && !(which & COWCOPY__XATTR_ACL)) || (!acl && !(which & COWCOPY__XATTR_OTHER)) ||
            is_skipped_name(name))
            continue;
        int *err = acl && acl_err ? acl_err : &first_error;
        if (!value && !(value = malloc(XATTR_VALUE_MAX))) {
            *err = -ENOMEM;
            break;
        }
        ssize_t n = SYS(fgetxattr)(in_fd, name, value, XATTR_VALUE_MAX);
        if (n < 0) {
            /* ENODATA: removed meanwhile */
            if (errno != ENODATA && !(skip_refused && refused(errno)) && !*err)
                *err = -errno;
            continue;
        }
        if (SYS(fsetxattr)(out_fd, name, value, (size_t)n, 0) < 0 &&
            !(skip_refused && refused(errno)) && !*err)
            *err = -errno;
    }
    free(value);
    free(list);
    return first_error;
}

/* Read the access ACL of dirfd/name (not following a final symlink) into a
 * malloc'ed *value. @return its length, 0 when it has none, or -errno. */
static ssize_t acl_read_at(int dirfd, const char *name, void **value)
{
    char path[PATH_MAX];
    *value = NULL;
    if (dirfd == AT_FDCWD)
        snprintf(path, sizeof path, "%s", name);
    else if (snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dirfd, name) >= (int)sizeof path)
        return -ENAMETOOLONG;
    char buf[4096];
    ssize_t n = SYS(lgetxattr)(path, ACL_ACCESS, buf, sizeof buf);
    if (n < 0 && errno == ERANGE) {
        *value = malloc(XATTR_VALUE_MAX);
        if (!*value)
            return -ENOMEM;
        n = SYS(lgetxattr)(path, ACL_ACCESS, *value, XATTR_VALUE_MAX);
        if (n <= 0) {
            free(*value);
            *value = NULL;
        }
        return n < 0 ? -errno : n;
    }
    if (n < 0)
        return (errno == ENODATA || errno == ENOTSUP || errno == EOPNOTSUPP) ? 0 : -errno;
    if (n == 0)
        return 0;
    *value = malloc((size_t)n);
    if (!*value)
        return -ENOMEM;
    memcpy(*value, buf, (size_t)n);
    return n;
}

/*
 * Copy the selected xattrs into fd. The kernel checks write permission on the
 * inode (not the descriptor) before setting user.* attributes, so a copy of a
 * read-only file, made by a user without CAP_FOWNER, is made writable by its
 * owner for the while (coreutils does the same) and given its mode back.
 * The source is listed first: most files have no xattrs, and then nothing
 * else is called.
 * @return 0 or the first negative errno.
 */
int cowcopy__xattr_copy(int in_fd, int fd, unsigned which, int *acl_err)
{
    char *list;
    if (acl_err)
        *acl_err = 0;
    ssize_t len = xattr_list(in_fd, &list, which & COWCOPY__XATTR_SKIP_REFUSED);
    if (len <= 0)
        return (int)len;
    struct stat st;
    bool made_writable = false;
    if ((which & COWCOPY__XATTR_OTHER) && geteuid() != 0 && SYS(fstat)(fd, &st) == 0 &&
        !(st.st_mode & S_IWUSR))
        made_writable = SYS(fchmod)(fd, (st.st_mode & 07777) | S_IRUSR | S_IWUSR) == 0;
    int r = xattr_copy_listed(in_fd, fd, which, acl_err, list, len);
    if (made_writable && SYS(fchmod)(fd, st.st_mode & 07777) < 0 && r == 0)
        r = -errno;
    return r;
}

int cowcopy__acl_copy_at(int dirfd, const char *name, int out_fd)
{
    void *value;
    ssize_t n = acl_read_at(dirfd, name, &value);
    if (n <= 0)
        return (int)n;
    int r = SYS(fsetxattr)(out_fd, ACL_ACCESS, value, (size_t)n, 0) < 0 ? -errno : 0;
    free(value);
    return r;
}

bool cowcopy__has_default_acl(int dirfd)
{
    ssize_t n = SYS(fgetxattr)(dirfd, ACL_DEFAULT, NULL, 0);
    return !(n < 0 && (errno == ENODATA || errno == EOPNOTSUPP));
}
