/*
 * meta.c - metadata: owner, mode, timestamps (ns), xattrs and ACLs.
 *
 * Order matters and follows coreutils: ownership first (chown clears file
 * capabilities and setuid/setgid bits), then extended attributes (file
 * capabilities included), then the ACL, then the mode, then the times last
 * (nothing after them may touch the file's data).
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

int cowcopy__xattr_copy(int in_fd, int out_fd, unsigned which, int *acl_err)
{
    char *list;
    if (acl_err)
        *acl_err = 0;
    ssize_t len = xattr_list(in_fd, &list, which & COWCOPY__XATTR_SKIP_REFUSED);
    if (len <= 0)
        return (int)len;
    return xattr_copy_listed(in_fd, out_fd, which, acl_err, list, len);
}

ssize_t cowcopy__acl_read_at(int dirfd, const char *name, void **value)
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

/* May an unprivileged chown failure be ignored? (coreutils' chown_failure_ok) */
static bool chown_failure_ok(int err)
{
    return err == EPERM || err == EINVAL;
}

int cowcopy__meta_apply_owner(int fd, cowcopy__meta_plan *plan, cowcopy_result *res)
{
    if (!plan->set_owner)
        return 0;
    if (SYS(fchown)(fd, plan->uid, plan->gid) == 0)
        return 0;
    int err = errno;
    if (plan->owner_required || !chown_failure_ok(err))
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_OWNER, "fchown", err);
    /* Perhaps only the group can be set (a group we belong to). */
    if (SYS(fchown)(fd, (uid_t)-1, plan->gid) < 0)
        plan->mode &= ~(mode_t)S_ISGID;
    plan->mode &= ~(mode_t)S_ISUID;
    return 0;
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
static int xattr_copy_writable(int in_fd, int fd, unsigned which, int *acl_err)
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

int cowcopy__meta_apply_rest(int fd, const cowcopy__meta_plan *plan, cowcopy_result *res)
{
    /* One pass over the source's xattrs serves both the ACL and the rest. */
    unsigned which = plan->xattr_skip_refused ? COWCOPY__XATTR_SKIP_REFUSED : 0u;
    unsigned skip = which;
    int from = -1;
    if (plan->xattr_from_fd >= 0) {
        which |= COWCOPY__XATTR_OTHER;
        from = plan->xattr_from_fd;
    }
    if (plan->acl_from_fd >= 0 && (from < 0 || from == plan->acl_from_fd)) {
        which |= COWCOPY__XATTR_ACL;
        from = plan->acl_from_fd;
    }
    int acl_err = 0, other_err = 0;
    if (which & (COWCOPY__XATTR_ACL | COWCOPY__XATTR_OTHER))
        other_err = xattr_copy_writable(from, fd, which, &acl_err);
    if (plan->acl_from_fd >= 0 && !(which & COWCOPY__XATTR_ACL))
        cowcopy__xattr_copy(plan->acl_from_fd, fd, COWCOPY__XATTR_ACL | skip, &acl_err);
    if (other_err < 0 && plan->xattr_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_XATTR, "fsetxattr", -other_err);
    if (acl_err < 0 && plan->mode_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_MODE, "fsetxattr", -acl_err);
    if (plan->acl_from_fd < 0 && plan->acl_len > 0 &&
        SYS(fsetxattr)(fd, ACL_ACCESS, plan->acl_value, plan->acl_len, 0) < 0 &&
        plan->mode_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_MODE, "fsetxattr", errno);
    if (plan->set_mode && SYS(fchmod)(fd, plan->mode) < 0 && plan->mode_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_MODE, "fchmod", errno);
    if (plan->set_times && SYS(futimens)(fd, plan->times) < 0 && plan->times_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_TIMES, "futimens", errno);
    return 0;
}
