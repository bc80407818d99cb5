/*
 * meta.c - metadata: owner, mode, timestamps (ns), xattrs and ACLs.
 *
 * Order matters and follows coreutils: ownership first (chown clears file
 * capabilities and setuid/setgid bits), then extended attributes (file
 * capabilities included), then the ACL, then the mode, then the times last
 * (nothing after them may touch the file's data). Reading and writing xattrs
 * and ACLs is the platform's: meta_linux.c, meta_darwin.c.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

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
        other_err = cowcopy__xattr_copy(from, fd, which, &acl_err);
    if (plan->acl_from_fd >= 0 && !(which & COWCOPY__XATTR_ACL))
        cowcopy__xattr_copy(plan->acl_from_fd, fd, COWCOPY__XATTR_ACL | skip, &acl_err);
    if (other_err < 0 && plan->xattr_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_XATTR, "fsetxattr", -other_err);
    if (acl_err < 0 && plan->mode_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_MODE, "fsetxattr", -acl_err);
    int r;
    if (plan->acl_from_fd < 0 && plan->acl_from_name &&
        (r = cowcopy__acl_copy_at(plan->acl_from_dirfd, plan->acl_from_name, fd)) < 0 &&
        plan->mode_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_MODE, "fsetxattr", -r);
    if (plan->set_mode && SYS(fchmod)(fd, plan->mode) < 0 && plan->mode_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_MODE, "fchmod", errno);
    if (plan->set_times && SYS(futimens)(fd, plan->times) < 0 && plan->times_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_TIMES, "futimens", errno);
#ifdef HAVE_GETATTRLIST
    /* After the mtime: setting an mtime before the creation time lowers it. */
    if (plan->set_crtime && (r = cowcopy__crtime_set(fd, &plan->crtime)) < 0 &&
        plan->times_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_TIMES, "setattrlist", -r);
#endif
#ifdef HAVE_CHFLAGS
    if (plan->set_flags && SYS(fchflags)(fd, plan->flags) < 0 && plan->mode_required)
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_MODE, "fchflags", errno);
#endif
    return 0;
}
