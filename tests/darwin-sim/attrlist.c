/*
 * attrlist.c - getattrlist(2), fgetattrlist, getattrlistat, setattrlist(2),
 * fsetattrlist and setattrlistat on Linux's statx/statfs, the simulation's
 * flags/creation-time record (meta.c), FIEMAP and a trial clone.
 *
 * Returned attributes (others that are valid are left out, as on a volume
 * that lacks them; ATTR_CMN_RETURNED_ATTRS tells):
 *   common   RETURNED_ATTRS, NAME, DEVID (Darwin's 32-bit dev_t encoding),
 *            OBJTYPE (enum vtype), CRTIME, MODTIME, CHGTIME, ACCTIME,
 *            OWNERID, GRPID, ACCESSMASK, FLAGS, FILEID
 *   volume   INFO, SIZE, SPACEFREE, SPACEAVAIL, IOBLOCKSIZE, CAPABILITIES
 *   dir      LINKCOUNT            (directories only)
 *   file     LINKCOUNT, TOTALSIZE, ALLOCSIZE, IOBLOCKSIZE, DATALENGTH,
 *            DATAALLOCSIZE        (everything but directories)
 *   cmnext   PRIVATESIZE (regular files), LINKID, EXT_FLAGS (with
 *            FSOPT_ATTR_CMN_EXTENDED)
 * Settable: CRTIME, MODTIME, ACCTIME, OWNERID, GRPID, ACCESSMASK, FLAGS;
 * CHGTIME is accepted and ignored. Other settable attributes: ENOTSUP.
 *
 * Volume capabilities: VOL_CAP_INT_CLONE is decided by a trial FICLONE
 * between two O_TMPFILE files in the volume's root directory (or, if that
 * is not writable, the object's own directory); EXTENDED_ATTR and
 * PUNCHHOLE by trials on the same file. A capability counts only where its
 * valid bit is set; capabilities no trial could decide are not valid.
 */
#include "sim.h"

#include <sys/attr.h>
#include <sys/vnode.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Set errno to e. @return -1. */
static int fail(int e)
{
    errno = e;
    return -1;
}

/* ------------------------------------------------------------ the buffer */

struct out {
    unsigned char *fixed; /* leading length + fixed-size attributes */
    size_t len, cap;
    unsigned char *var;   /* variable-length data, appended at the end */
    size_t var_len, var_cap;
    size_t ref_at;        /* where NAME's attrreference sits (0: none) */
    bool failed;
};

/* Make *buf hold need bytes (doubling); o->failed on ENOMEM. */
static void grow(unsigned char **buf, size_t *cap, size_t need, bool *failed)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap * 2 : 256;
    while (c < need)
        c *= 2;
    unsigned char *b = realloc(*buf, c);
    if (!b) {
        *failed = true;
        return;
    }
    *buf = b;
    *cap = c;
}

/* Append n bytes (then zero padding to 4-byte alignment). */
static void put(struct out *o, const void *p, size_t n)
{
    size_t padded = (n + 3) & ~(size_t)3;
    grow(&o->fixed, &o->cap, o->len + padded, &o->failed);
    if (o->failed)
        return;
    memcpy(o->fixed + o->len, p, n);
    memset(o->fixed + o->len + n, 0, padded - n);
    o->len += padded;
}

/* 32- and 64-bit values, in host byte order as Darwin packs them. */
static void put_u32(struct out *o, uint32_t v) { put(o, &v, 4); }
static void put_u64(struct out *o, uint64_t v) { put(o, &v, 8); }

/* A statx timestamp as Darwin's LP64 struct timespec (16 bytes). */
static void put_time(struct out *o, struct statx_timestamp t)
{
    int64_t ts[2] = {t.tv_sec, t.tv_nsec}; /* Darwin LP64 struct timespec */
    put(o, ts, sizeof ts);
}

/* A struct timespec as Darwin's LP64 one (16 bytes). */
static void put_timespec(struct out *o, struct timespec t)
{
    int64_t ts[2] = {t.tv_sec, t.tv_nsec};
    put(o, ts, sizeof ts);
}

/* An attrreference to a NUL-terminated string stored after the fixed part. */
static void put_string(struct out *o, const char *s)
{
    size_t n = strlen(s) + 1, padded = (n + 3) & ~(size_t)3;
    o->ref_at = o->len;
    attrreference_t ref = {0, (u_int32_t)n};
    put(o, &ref, sizeof ref);
    grow(&o->var, &o->var_cap, padded, &o->failed);
    if (o->failed)
        return;
    memcpy(o->var, s, n);
    memset(o->var + n, 0, padded - n);
    o->var_len = padded;
}

/* ------------------------------------------------------------ the volume */

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* The mount point of mount mnt_id, from /proc/self/mountinfo, into path. */
static int mount_point(uint64_t mnt_id, char *path, size_t size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -1;
    char line[8192];
    int r = fail(ENOENT);
    while (fgets(line, sizeof line, f)) {
        unsigned long long id;
        char mnt[4096];
        if (sscanf(line, "%llu %*u %*s %*s %4095s", &id, mnt) == 2 && id == mnt_id) {
            unescape(mnt);
            snprintf(path, size, "%s", mnt);
            r = 0;
            break;
        }
    }
    fclose(f);
    return r;
}

/* O_TMPFILE in directory dirfd (O_PATH is fine). */
static int tmpfile_in(int dirfd)
{
    return openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

/* A filesystem whose renameat2 has NOREPLACE and EXCHANGE. */
static bool known_fs(long type)
{
    return type == (long)BTRFS_SUPER_MAGIC || type == (long)XFS_SUPER_MAGIC ||
           type == (long)EXT4_SUPER_MAGIC || type == (long)TMPFS_MAGIC;
}

/* What trials in directory dirfd found: -1 undecided, 0 no, 1 yes. */
struct trials {
    int clone, xattr, punch;
};

/* Try FICLONE, a user xattr and a hole punch on two O_TMPFILE files in
 * dirfd. @return 0, or -1 if no file could be made there. */
static int try_in(int dirfd, struct trials *t)
{
    int a = tmpfile_in(dirfd);
    if (a < 0)
        return -1;
    int b = tmpfile_in(dirfd);
    if (b < 0) {
        close(a);
        return -1;
    }
    static const unsigned char block[4096];
    if (pwrite(a, block, sizeof block, 0) == (ssize_t)sizeof block) {
        if (ioctl(b, FICLONE, a) == 0)
            t->clone = 1;
        else if (dsim_notsup_errno(errno) == ENOTSUP || errno == EINVAL || errno == EXDEV)
            t->clone = 0;
        if (fallocate(a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, sizeof block) == 0)
            t->punch = 1;
        else if (dsim_notsup_errno(errno) == ENOTSUP)
            t->punch = 0;
    }
    if (dsim_lx_fsetxattr(a, "user.darwin-sim.probe", "1", 1, DSIM_LX_ANY) == 0)
        t->xattr = 1;
    else if (errno == EOPNOTSUPP)
        t->xattr = 0;
    close(a);
    close(b);
    return 0;
}

/* The directory holding obj (for the trials), opened O_PATH, or -1. */
static int parent_of(const struct dsim_node *obj)
{
    if (S_ISDIR(obj->stx.stx_mode))
        return dup(obj->fd);
    char path[4096];
    ssize_t n = readlink(obj->proc, path, sizeof path - 1);
    if (n <= 0 || path[0] != '/')
        return -1;
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    *(slash == path ? slash + 1 : slash) = '\0';
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* The capabilities of the volume whose root is rootfd; obj is the object
 * the caller named, whose directory serves if the root is not writable. */
static void capabilities(int rootfd, const struct dsim_node *obj, const struct statfs *sfs,
                         vol_capabilities_attr_t *c)
{
    memset(c, 0, sizeof *c);
    u_int32_t *fmt = &c->capabilities[VOL_CAPABILITIES_FORMAT];
    u_int32_t *fmt_valid = &c->valid[VOL_CAPABILITIES_FORMAT];
    u_int32_t *in = &c->capabilities[VOL_CAPABILITIES_INTERFACES];
    u_int32_t *in_valid = &c->valid[VOL_CAPABILITIES_INTERFACES];
    /* Every Linux filesystem the tests use: case-sensitive, with symlinks,
     * hard links, 64-bit inode numbers and large files. */
    *fmt_valid = *fmt = VOL_CAP_FMT_SYMBOLICLINKS | VOL_CAP_FMT_HARDLINKS |
                        VOL_CAP_FMT_CASE_SENSITIVE | VOL_CAP_FMT_CASE_PRESERVING |
                        VOL_CAP_FMT_2TB_FILESIZE | VOL_CAP_FMT_64BIT_OBJECT_IDS;
    *in_valid = *in = VOL_CAP_INT_ATTRLIST | VOL_CAP_INT_ADVLOCK | VOL_CAP_INT_FLOCK;
    if (known_fs(sfs->f_type)) { /* renameat2 NOREPLACE and EXCHANGE */
        *in_valid |= VOL_CAP_INT_RENAME_SWAP | VOL_CAP_INT_RENAME_EXCL;
        *in |= VOL_CAP_INT_RENAME_SWAP | VOL_CAP_INT_RENAME_EXCL;
    }
    struct trials t = {-1, -1, -1};
    if (try_in(rootfd, &t) < 0) {
        int dirfd = parent_of(obj);
        if (dirfd >= 0) {
            try_in(dirfd, &t);
            close(dirfd);
        }
    }
    const struct {
        int result;
        u_int32_t *set, *valid, bit;
    } found[] = {
        {t.clone, in, in_valid, VOL_CAP_INT_CLONE},
        {t.xattr, in, in_valid, VOL_CAP_INT_EXTENDED_ATTR},
        {t.xattr, fmt, fmt_valid, VOL_CAP_FMT_HIDDEN_FILES}, /* UF_HIDDEN is recorded */
        {t.punch, in, in_valid, VOL_CAP_INT_PUNCHHOLE},
        {t.punch, fmt, fmt_valid, VOL_CAP_FMT_SPARSE_FILES},
    };
    for (size_t i = 0; i < sizeof found / sizeof found[0]; i++) {
        if (found[i].result < 0)
            continue;
        *found[i].valid |= found[i].bit;
        if (found[i].result)
            *found[i].set |= found[i].bit;
    }
}

/* ------------------------------------------------------------ getattrlist */

#define CMN_SUPPORTED                                                                        \
    (ATTR_CMN_RETURNED_ATTRS | ATTR_CMN_NAME | ATTR_CMN_DEVID | ATTR_CMN_OBJTYPE |            \
     ATTR_CMN_CRTIME | ATTR_CMN_MODTIME | ATTR_CMN_CHGTIME | ATTR_CMN_ACCTIME |               \
     ATTR_CMN_OWNERID | ATTR_CMN_GRPID | ATTR_CMN_ACCESSMASK | ATTR_CMN_FLAGS | ATTR_CMN_FILEID)
#define VOL_SUPPORTED                                                                        \
    (ATTR_VOL_INFO | ATTR_VOL_SIZE | ATTR_VOL_SPACEFREE | ATTR_VOL_SPACEAVAIL |               \
     ATTR_VOL_IOBLOCKSIZE | ATTR_VOL_CAPABILITIES)
#define DIR_SUPPORTED ATTR_DIR_LINKCOUNT
#define FILE_SUPPORTED                                                                       \
    (ATTR_FILE_LINKCOUNT | ATTR_FILE_TOTALSIZE | ATTR_FILE_ALLOCSIZE | ATTR_FILE_IOBLOCKSIZE | \
     ATTR_FILE_DATALENGTH | ATTR_FILE_DATAALLOCSIZE)
#define CMNEXT_SUPPORTED (ATTR_CMNEXT_PRIVATESIZE | ATTR_CMNEXT_LINKID | ATTR_CMNEXT_EXT_FLAGS)

/* Darwin's enum vtype for a Linux file type. */
static u_int32_t vtype_of(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return VREG;
    case S_IFDIR: return VDIR;
    case S_IFBLK: return VBLK;
    case S_IFCHR: return VCHR;
    case S_IFLNK: return VLNK;
    case S_IFSOCK: return VSOCK;
    case S_IFIFO: return VFIFO;
    default: return VNON;
    }
}

/* Sharing facts of a regular file: EF_* bits and bytes not shared. */
static int sharing(const struct dsim_node *n, uint64_t *ext_flags, int64_t *private_size)
{
    int fd = open(n->proc, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct fiemap_extent *ex;
    int count = dsim_extents(fd, &ex);
    off_t hole = count < 0 ? -1 : lseek(fd, 0, SEEK_HOLE);
    close(fd);
    if (count < 0)
        return -1;
    uint64_t size = n->stx.stx_size, priv = 0;
    int shared = 0;
    for (int i = 0; i < count; i++) {
        uint64_t end = ex[i].fe_logical + ex[i].fe_length;
        if (end > size)
            end = size;
        if (ex[i].fe_flags & FIEMAP_EXTENT_SHARED)
            shared++;
        else if (end > ex[i].fe_logical)
            priv += end - ex[i].fe_logical;
    }
    free(ex);
    *ext_flags = 0;
    if (shared)
        *ext_flags |= EF_MAY_SHARE_BLOCKS;
    if (shared && shared == count)
        *ext_flags |= EF_SHARES_ALL_BLOCKS;
    if (hole >= 0 && (uint64_t)hole < size)
        *ext_flags |= EF_IS_SPARSE;
    *private_size = (int64_t)priv;
    return 0;
}

/* The volume root of n: an O_PATH fd of its mount point, and its name. */
static int volume_root(const struct dsim_node *n, char *name, size_t size)
{
    char path[4096];
    if (mount_point(n->stx.stx_mnt_id, path, sizeof path) < 0)
        return -1;
    const char *slash = strrchr(path, '/');
    snprintf(name, size, "%s", slash && slash[1] ? slash + 1 : "/");
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* The NAME of an object: the last component of `path`, else its /proc link. */
static void name_of(const struct dsim_node *n, const char *path, char *name, size_t size)
{
    char buf[4096];
    if (!path) {
        ssize_t len = readlink(n->proc, buf, sizeof buf - 1);
        buf[len > 0 ? len : 0] = '\0';
        path = buf;
    }
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    if (len == 1 && path[0] == '/')
        start = 0;
    size_t l = len - start < size - 1 ? len - start : size - 1;
    memcpy(name, path + start, l);
    name[l] = '\0';
}

/* getattrlist's checks of the attribute list and options. @return 0 or -1. */
static int validate(const struct attrlist *al, unsigned long options)
{
    if (al->bitmapcount != ATTR_BIT_MAP_COUNT)
        return fail(EINVAL);
    if ((al->volattr & ~ATTR_VOL_VALIDMASK) || (al->dirattr & ~ATTR_DIR_VALIDMASK) ||
        (al->fileattr & ~ATTR_FILE_VALIDMASK))
        return fail(EINVAL);
    if (al->forkattr & ~((options & FSOPT_ATTR_CMN_EXTENDED) ? ATTR_CMNEXT_VALIDMASK
                                                             : ATTR_FORK_VALIDMASK))
        return fail(EINVAL);
    if (!(options & FSOPT_ATTR_CMN_EXTENDED) &&
        (al->commonattr & (ATTR_CMN_GEN_COUNT | ATTR_CMN_DOCUMENT_ID)))
        return fail(EINVAL);
    if (al->volattr) {
        if (!(al->volattr & ATTR_VOL_INFO) || al->dirattr || al->fileattr || al->forkattr ||
            (al->commonattr & (ATTR_CMN_EXTENDED_SECURITY | ATTR_CMN_UUID | ATTR_CMN_GRPUUID |
                               ATTR_CMN_FILEID | ATTR_CMN_PARENTID)))
            return fail(EINVAL);
    }
    if (options & FSOPT_PACK_INVAL_ATTRS)
        return fail((al->commonattr & ATTR_CMN_RETURNED_ATTRS) ? ENOTSUP : EINVAL);
    return 0;
}

/* Pack the attributes of node n (reached by `path`, or NULL for an fd) into
 * o; *ret collects what was returned. */
static int pack(struct dsim_node *n, const char *path, const struct attrlist *al,
                unsigned long options, struct out *o, attribute_set_t *ret)
{
    struct dsim_node root = {.fd = -1};
    char name[1024];
    struct statfs sfs = {0};
    if (al->volattr) {
        /* Volume attributes describe the volume root; so do the common ones. */
        int fd = volume_root(n, name, sizeof name);
        if (fd < 0 || fstatfs(fd, &sfs) < 0 || dsim_node_from_fd(&root, fd) < 0) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
        root.owned = true;
    } else {
        name_of(n, path, name, sizeof name);
    }
    const struct dsim_node *obj = al->volattr ? &root : n;
    const struct statx *x = &obj->stx;
    attrgroup_t c = al->commonattr & CMN_SUPPORTED;
    struct dsim_meta meta = {0};
    if ((c & (ATTR_CMN_CRTIME | ATTR_CMN_FLAGS)) && dsim_meta_read(obj, &meta) < 0) {
        int e = errno;
        dsim_node_close(&root);
        return fail(e);
    }
    size_t ret_at = o->len;
    if (c & ATTR_CMN_RETURNED_ATTRS) {
        attribute_set_t zero = {0};
        put(o, &zero, sizeof zero); /* filled in at the end */
    }
    if (c & ATTR_CMN_NAME)
        put_string(o, name);
    if (c & ATTR_CMN_DEVID)
        put_u32(o, (uint32_t)dsim_darwin_dev(x->stx_dev_major, x->stx_dev_minor));
    if (c & ATTR_CMN_OBJTYPE)
        put_u32(o, vtype_of(x->stx_mode));
    if (c & ATTR_CMN_CRTIME)
        put_timespec(o, meta.crtime);
    if (c & ATTR_CMN_MODTIME)
        put_time(o, x->stx_mtime);
    if (c & ATTR_CMN_CHGTIME)
        put_time(o, x->stx_ctime);
    if (c & ATTR_CMN_ACCTIME)
        put_time(o, x->stx_atime);
    if (c & ATTR_CMN_OWNERID)
        put_u32(o, x->stx_uid);
    if (c & ATTR_CMN_GRPID)
        put_u32(o, x->stx_gid);
    if (c & ATTR_CMN_ACCESSMASK)
        put_u32(o, x->stx_mode & 07777);
    if (c & ATTR_CMN_FLAGS)
        put_u32(o, meta.flags);
    if (c & ATTR_CMN_FILEID)
        put_u64(o, x->stx_ino);
    ret->commonattr = c;

    attrgroup_t v = al->volattr & VOL_SUPPORTED;
    if (v & ATTR_VOL_SIZE)
        put_u64(o, (uint64_t)sfs.f_blocks * (uint64_t)sfs.f_frsize);
    if (v & ATTR_VOL_SPACEFREE)
        put_u64(o, (uint64_t)sfs.f_bfree * (uint64_t)sfs.f_frsize);
    if (v & ATTR_VOL_SPACEAVAIL)
        put_u64(o, (uint64_t)sfs.f_bavail * (uint64_t)sfs.f_frsize);
    if (v & ATTR_VOL_IOBLOCKSIZE)
        put_u32(o, (uint32_t)sfs.f_bsize);
    if (v & ATTR_VOL_CAPABILITIES) {
        vol_capabilities_attr_t caps;
        capabilities(root.fd, n, &sfs, &caps);
        put(o, &caps, sizeof caps);
    }
    ret->volattr = v;

    bool dir = S_ISDIR(x->stx_mode);
    attrgroup_t d = dir ? al->dirattr & DIR_SUPPORTED : 0;
    if (d & ATTR_DIR_LINKCOUNT)
        put_u32(o, x->stx_nlink);
    ret->dirattr = d;

    attrgroup_t f = dir ? 0 : al->fileattr & FILE_SUPPORTED;
    if (f & ATTR_FILE_LINKCOUNT)
        put_u32(o, x->stx_nlink);
    if (f & ATTR_FILE_TOTALSIZE)
        put_u64(o, x->stx_size);
    if (f & ATTR_FILE_ALLOCSIZE)
        put_u64(o, x->stx_blocks * 512);
    if (f & ATTR_FILE_IOBLOCKSIZE)
        put_u32(o, x->stx_blksize);
    if (f & ATTR_FILE_DATALENGTH)
        put_u64(o, x->stx_size);
    if (f & ATTR_FILE_DATAALLOCSIZE)
        put_u64(o, x->stx_blocks * 512);
    ret->fileattr = f;

    attrgroup_t e = (options & FSOPT_ATTR_CMN_EXTENDED) ? al->forkattr & CMNEXT_SUPPORTED : 0;
    uint64_t ext_flags = 0;
    int64_t private_size = 0;
    if (e & (ATTR_CMNEXT_PRIVATESIZE | ATTR_CMNEXT_EXT_FLAGS)) {
        if (S_ISREG(x->stx_mode) && sharing(obj, &ext_flags, &private_size) < 0)
            e &= ~(attrgroup_t)(ATTR_CMNEXT_PRIVATESIZE | ATTR_CMNEXT_EXT_FLAGS); /* unreadable */
        if (!S_ISREG(x->stx_mode))
            e &= ~(attrgroup_t)ATTR_CMNEXT_PRIVATESIZE;
        int any = (e & ATTR_CMNEXT_EXT_FLAGS) ? dsim_xattrs_any(obj) : 1;
        if (any == 0)
            ext_flags |= EF_NO_XATTRS;
        else if (any < 0)
            e &= ~(attrgroup_t)ATTR_CMNEXT_EXT_FLAGS;
    }
    if (e & ATTR_CMNEXT_PRIVATESIZE)
        put_u64(o, (uint64_t)private_size);
    if (e & ATTR_CMNEXT_LINKID)
        put_u64(o, x->stx_ino);
    if (e & ATTR_CMNEXT_EXT_FLAGS)
        put_u64(o, ext_flags);
    ret->forkattr = e;
    if (al->volattr)
        dsim_node_close(&root);
    if (o->failed)
        return fail(ENOMEM);
    if (c & ATTR_CMN_RETURNED_ATTRS)
        memcpy(o->fixed + ret_at, ret, sizeof *ret);
    return 0;
}

/* getattrlist on node n: validate, pack, copy out (truncating silently). */
static int getattr(struct dsim_node *n, const char *path, void *alist, void *buf, size_t size,
                   unsigned long options)
{
    struct attrlist al;
    if (!alist || !buf)
        return fail(EFAULT);
    memcpy(&al, alist, sizeof al);
    if (validate(&al, options) < 0)
        return -1;
    if (size < sizeof(u_int32_t))
        return fail(ERANGE);
    struct out o = {0};
    attribute_set_t ret = {0};
    put_u32(&o, 0); /* the length, set below */
    int r = o.failed ? fail(ENOMEM) : pack(n, path, &al, options, &o, &ret);
    if (r == 0) {
        size_t total = o.len + o.var_len;
        if (o.ref_at) { /* NAME's data follows the fixed part */
            int32_t off = (int32_t)(o.len - o.ref_at);
            memcpy(o.fixed + o.ref_at, &off, sizeof off);
        }
        size_t copy = total < size ? total : size;
        u_int32_t length = (u_int32_t)((options & FSOPT_REPORT_FULLSIZE) ? total : copy);
        memcpy(o.fixed, &length, sizeof length);
        size_t first = copy < o.len ? copy : o.len;
        memcpy(buf, o.fixed, first);
        if (copy > first)
            memcpy((unsigned char *)buf + first, o.var, copy - first);
    }
    int e = errno;
    free(o.fixed);
    free(o.var);
    errno = e;
    return r;
}

/* The symlink policy of FSOPT_NOFOLLOW / FSOPT_NOFOLLOW_ANY. */
static enum dsim_follow follow_of(unsigned long options)
{
    return (options & FSOPT_NOFOLLOW_ANY) ? DSIM_NOFOLLOW_ANY
           : (options & FSOPT_NOFOLLOW)   ? DSIM_NOFOLLOW
                                          : DSIM_FOLLOW;
}

int getattrlistat(int fd, const char *path, void *attrList, void *attrBuf, size_t attrBufSize,
                  unsigned long options)
{
    struct dsim_node n;
    if (dsim_node_open(&n, fd, path, follow_of(options)) < 0)
        return -1;
    int r = getattr(&n, path, attrList, attrBuf, attrBufSize, options), e = errno;
    dsim_node_close(&n);
    errno = e;
    return r;
}

int getattrlist(const char *path, void *attrList, void *attrBuf, size_t attrBufSize,
                unsigned int options)
{
    return getattrlistat(AT_FDCWD, path, attrList, attrBuf, attrBufSize, options);
}

int fgetattrlist(int fd, void *attrList, void *attrBuf, size_t attrBufSize, unsigned int options)
{
    struct dsim_node n;
    if (dsim_node_from_fd(&n, fd) < 0)
        return -1;
    return getattr(&n, NULL, attrList, attrBuf, attrBufSize, options);
}

/* ------------------------------------------------------------ setattrlist */

#define CMN_SETTABLE_SIMULATED                                                                \
    (ATTR_CMN_CRTIME | ATTR_CMN_MODTIME | ATTR_CMN_CHGTIME | ATTR_CMN_ACCTIME |               \
     ATTR_CMN_OWNERID | ATTR_CMN_GRPID | ATTR_CMN_ACCESSMASK | ATTR_CMN_FLAGS)

/* Take n bytes (a 4-byte-aligned slot) from the buffer. */
static int take(const unsigned char **p, const unsigned char *end, void *dst, size_t n)
{
    size_t padded = (n + 3) & ~(size_t)3;
    if ((size_t)(end - *p) < padded)
        return fail(EINVAL);
    memcpy(dst, *p, n);
    *p += padded;
    return 0;
}

/* A Darwin struct timespec from the buffer (EINVAL if nsec is out of range). */
static int take_time(const unsigned char **p, const unsigned char *end, struct timespec *t)
{
    int64_t v[2];
    if (take(p, end, v, sizeof v) < 0)
        return -1;
    if (v[1] < 0 || v[1] >= 1000000000)
        return fail(EINVAL);
    *t = (struct timespec){.tv_sec = (time_t)v[0], .tv_nsec = (long)v[1]};
    return 0;
}

/* Is a before b? */
static bool earlier(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* setattrlist on node n (dirfd/path: how it was reached, for symlinks). */
static int setattr(struct dsim_node *n, int dirfd, const char *path, void *alist, void *buf,
                   size_t size, unsigned long options)
{
    struct attrlist al;
    if (!alist || (!buf && size))
        return fail(EFAULT);
    memcpy(&al, alist, sizeof al);
    if (al.bitmapcount != ATTR_BIT_MAP_COUNT)
        return fail(EINVAL);
    attrgroup_t fork_mask =
        (options & FSOPT_ATTR_CMN_EXTENDED) ? ATTR_CMNEXT_SETMASK : ATTR_FORK_SETMASK;
    if ((al.commonattr & ~ATTR_CMN_SETMASK) || (al.volattr & ~ATTR_VOL_SETMASK) ||
        (al.dirattr & ~ATTR_DIR_SETMASK) || (al.fileattr & ~ATTR_FILE_SETMASK) ||
        (al.forkattr & ~fork_mask))
        return fail(EINVAL);
    if ((al.commonattr & ~CMN_SETTABLE_SIMULATED) || al.volattr || al.fileattr)
        return fail(ENOTSUP); /* settable on Darwin, not simulated */

    const unsigned char *p = buf, *end = p + size;
    struct timespec crtime = {0}, mtime = {0}, ctime_ignored, atime = {0};
    uint32_t uid = (uint32_t)-1, gid = (uint32_t)-1, mode = 0, flags = 0;
    attrgroup_t c = al.commonattr;
    if (((c & ATTR_CMN_CRTIME) && take_time(&p, end, &crtime) < 0) ||
        ((c & ATTR_CMN_MODTIME) && take_time(&p, end, &mtime) < 0) ||
        ((c & ATTR_CMN_CHGTIME) && take_time(&p, end, &ctime_ignored) < 0) ||
        ((c & ATTR_CMN_ACCTIME) && take_time(&p, end, &atime) < 0) ||
        ((c & ATTR_CMN_OWNERID) && take(&p, end, &uid, 4) < 0) ||
        ((c & ATTR_CMN_GRPID) && take(&p, end, &gid, 4) < 0) ||
        ((c & ATTR_CMN_ACCESSMASK) && take(&p, end, &mode, 4) < 0) ||
        ((c & ATTR_CMN_FLAGS) && take(&p, end, &flags, 4) < 0))
        return -1;

    bool link = S_ISLNK(n->stx.stx_mode);
    bool times = c & (ATTR_CMN_MODTIME | ATTR_CMN_ACCTIME);
    bool record = c & (ATTR_CMN_CRTIME | ATTR_CMN_FLAGS | ATTR_CMN_MODTIME);
    struct dsim_meta meta;
    if ((c & (ATTR_CMN_CRTIME | ATTR_CMN_MODTIME | ATTR_CMN_ACCTIME | ATTR_CMN_FLAGS)) &&
        !dsim_owner_or_root(n))
        return fail(EPERM);
    if (record && dsim_meta_read(n, &meta) < 0)
        return -1;
    if ((c & ATTR_CMN_FLAGS) && dsim_flags_check(n, meta.flags, flags) < 0)
        return -1;

    if ((c & (ATTR_CMN_OWNERID | ATTR_CMN_GRPID)) &&
        fchownat(n->fd, "", uid, gid, AT_EMPTY_PATH) < 0)
        return -1;
    if (c & ATTR_CMN_ACCESSMASK) {
        if (link)
            return fail(ENOTSUP); /* Linux symlinks have no mode of their own */
        if (chmod(n->proc, mode & 07777) < 0)
            return -1;
    }
    if (times) {
        struct timespec ts[2] = {
            (c & ATTR_CMN_ACCTIME) ? atime : (struct timespec){.tv_nsec = UTIME_OMIT},
            (c & ATTR_CMN_MODTIME) ? mtime : (struct timespec){.tv_nsec = UTIME_OMIT},
        };
        int r = link && path ? utimensat(dirfd, path, ts, AT_SYMLINK_NOFOLLOW)
                             : utimensat(AT_FDCWD, n->proc, ts, 0);
        if (r < 0)
            return -1;
    }
    if (record) {
        bool changed = false;
        if (c & ATTR_CMN_CRTIME) {
            meta.crtime = crtime;
            meta.crtime_recorded = changed = true;
        }
        /* A modification time earlier than the creation time lowers it. */
        if ((c & ATTR_CMN_MODTIME) && earlier(mtime, meta.crtime)) {
            meta.crtime = mtime;
            meta.crtime_recorded = changed = true;
        }
        if ((c & ATTR_CMN_FLAGS) && meta.flags != flags) {
            meta.flags = flags;
            changed = true;
        }
        if (changed && dsim_node_restat(n) == 0 && dsim_meta_write(n, &meta) < 0)
            return -1;
    }
    return 0;
}

int setattrlistat(int fd, const char *path, void *attrList, void *attrBuf, size_t attrBufSize,
                  uint32_t options)
{
    struct dsim_node n;
    if (dsim_node_open(&n, fd, path, follow_of(options)) < 0)
        return -1;
    int r = setattr(&n, fd, path, attrList, attrBuf, attrBufSize, options), e = errno;
    dsim_node_close(&n);
    errno = e;
    return r;
}

int setattrlist(const char *path, void *attrList, void *attrBuf, size_t attrBufSize,
                unsigned int options)
{
    return setattrlistat(AT_FDCWD, path, attrList, attrBuf, attrBufSize, options);
}

int fsetattrlist(int fd, void *attrList, void *attrBuf, size_t attrBufSize, unsigned int options)
{
    struct dsim_node n;
    if (dsim_node_from_fd(&n, fd) < 0)
        return -1;
    return setattr(&n, AT_FDCWD, NULL, attrList, attrBuf, attrBufSize, options);
}
