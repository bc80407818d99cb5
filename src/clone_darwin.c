/*
 * clone_darwin.c - cloning on Darwin: fclonefileat(2) makes the new file.
 *
 * Linux clones into an open file (FICLONE); Darwin's clone creates the file,
 * so the copy is cloned to a hidden temporary name beside the destination
 * and then renamed into place by the same rules as every other copy
 * (dest.c): nothing partial is ever visible, and a replaced file is
 * replaced atomically.
 *
 * Flags: CLONE_NOFOLLOW (the source is an open file already, but say so),
 * CLONE_NOOWNERCOPY (ownership is cowcopy's decision, as elsewhere) and,
 * when the mode is preserved (ACLs belong to it), CLONE_ACL from macOS
 * 13.0. A kernel that does not know a flag answers EINVAL: the call is made
 * again without it, and the result says so (fallback_call names the flag).
 *
 * A clone carries its source's mode (less setuid/setgid), xattrs, BSD flags
 * and times. The plan is adjusted so that the copy ends up with exactly what
 * the options ask for, as a copy made by writing would.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct clone_args {
    int src;
    uint32_t flags;
};

/* cowcopy__temp_make callback: clone the source as dirfd/name. */
static int make_clone(int dirfd, const char *name, void *ctx)
{
    const struct clone_args *a = ctx;
    return SYS(fclonefileat)(a->src, dirfd, name, a->flags);
}

/* Errors after which AUTO must not fall back: the copy would fail too. */
static bool clone_error_is_fatal(int err)
{
    return err == EIO || err == ENOMEM || err == ENOSPC || err == EDQUOT;
}

/* The newest flag a kernel might not know, to drop on EINVAL; 0 if none. */
static uint32_t newest_flag(uint32_t flags)
{
    if (flags & CLONE_ACL)
        return CLONE_ACL; /* macOS 13.0 */
    if (flags & CLONE_NOOWNERCOPY)
        return CLONE_NOOWNERCOPY; /* macOS 10.13 */
    return 0;
}

static const char *flag_call(uint32_t flag)
{
    return flag == CLONE_ACL ? "fclonefileat(CLONE_ACL)" : "fclonefileat(CLONE_NOOWNERCOPY)";
}

int cowcopy__clone_to_temp(int in, const struct stat *st, int dirfd, const char *base,
                           const cowcopy__ctx *ctx, cowcopy__meta_plan *plan, cowcopy__temp *t,
                           struct stat *out_st, cowcopy_result *res)
{
    const cowcopy_options *o = ctx->opts;
    struct clone_args a = {in, CLONE_NOFOLLOW | CLONE_NOOWNERCOPY};
    if (o->preserve & COWCOPY_PRESERVE_MODE) {
        if (__builtin_available(macOS 13.0, *))
            a.flags |= CLONE_ACL;
    }
    int r;
    while ((r = cowcopy__temp_make(t, dirfd, base, make_clone, &a)) < 0) {
        uint32_t drop = newest_flag(a.flags);
        if (r == -EINVAL && drop) { /* an older kernel: try again without it */
            a.flags &= ~drop;
            if (!res->fallback_call) {
                res->fallback_call = flag_call(drop);
                res->fallback_errno = EINVAL;
            }
            continue;
        }
        if (o->reflink == COWCOPY_REFLINK_ALWAYS || clone_error_is_fatal(-r)) {
            res->error.fs = cowcopy__fs_name_fd(dirfd);
            return cowcopy__fail(&res->error, COWCOPY_OP_CLONE, "fclonefileat", -r);
        }
        if (!res->fallback_call || res->fallback_errno == EINVAL) {
            res->fallback_call = "fclonefileat";
            res->fallback_errno = -r;
        }
        return 1;
    }
    /* Read-only: metadata calls need no more, and a clone of a read-only
     * file is read-only for its unprivileged owner too. */
    t->fd = SYS(openat)(dirfd, t->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (t->fd < 0 || SYS(fstat)(t->fd, out_st) < 0) {
        int err = errno;
        cowcopy__temp_discard(t);
        return cowcopy__fail(&res->error, COWCOPY_OP_CREATE_DEST, "openat", err);
    }
    if (out_st->st_size != st->st_size) {
        /* The source changed size since it was examined (the clone is then a
         * snapshot of the new content), or the clone is short: never pass. */
        struct stat now;
        if (SYS(fstat)(in, &now) < 0 || now.st_size != out_st->st_size) {
            cowcopy__temp_discard(t);
            return cowcopy__fail(&res->error, COWCOPY_OP_CLONE, "fclonefileat", EIO);
        }
    }
    res->method = COWCOPY_METHOD_CLONED;
    res->bytes = (uint64_t)out_st->st_size;
    res->hole_bytes = 0;

    /* What the clone carried, made to match the options. */
    bool inherit = plan->acl_from_name != NULL; /* replacing: the old file's attributes */
    if (!plan->set_mode) { /* a new file: the source's bits less the umask, as cp */
        plan->set_mode = true;
        plan->mode = st->st_mode & 0777 & ~cowcopy__umask();
        plan->mode_required = true;
    }
    if (!plan->set_times) { /* a new file's times are now */
        plan->set_times = true;
        plan->times[0].tv_nsec = plan->times[1].tv_nsec = UTIME_NOW;
        plan->times_required = true;
    }
    if (!plan->set_crtime) {
        plan->set_crtime = true;
        plan->crtime.tv_nsec = UTIME_NOW;
    }
    if (plan->xattr_from_fd >= 0) {
        plan->xattr_from_fd = -1; /* the clone has the source's already */
    } else if ((r = cowcopy__xattr_strip(t->fd)) < 0) {
        cowcopy__temp_discard(t);
        return cowcopy__fail(&res->error, COWCOPY_OP_SET_XATTR, "fremovexattr", -r);
    }
    if (a.flags & CLONE_ACL)
        plan->acl_from_fd = -1; /* cloned with it */
    if (!(o->preserve & COWCOPY_PRESERVE_MODE) || inherit) {
        uint32_t flags;
        struct timespec crtime;
        if (cowcopy__bsd_attrs_get(t->fd, &flags, &crtime) == 0 && flags != 0) {
            plan->set_flags = true; /* not kept: a new file has none */
            plan->flags = 0;
        }
    } else {
        plan->set_flags = false; /* the clone has the source's flags */
    }
    return 0;
}

int cowcopy__volume_can_clone(int fd)
{
    struct attrlist al;
    memset(&al, 0, sizeof al);
    al.bitmapcount = ATTR_BIT_MAP_COUNT;
    al.volattr = ATTR_VOL_INFO | ATTR_VOL_CAPABILITIES;
    struct {
        uint32_t length;
        vol_capabilities_attr_t caps;
    } __attribute__((packed, aligned(4))) buf; /* getattrlist packs to 4 bytes */
    memset(&buf, 0, sizeof buf);
    if (SYS(fgetattrlist)(fd, &al, &buf, sizeof buf, 0) < 0)
        return -errno;
    vol_capabilities_attr_t caps;
    memcpy(&caps, &buf.caps, sizeof caps);
    if (!(caps.valid[VOL_CAPABILITIES_INTERFACES] & VOL_CAP_INT_CLONE))
        return -ENODATA;
    return (caps.capabilities[VOL_CAPABILITIES_INTERFACES] & VOL_CAP_INT_CLONE) ? 1 : 0;
}
