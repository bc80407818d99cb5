/*
 * meta_darwin.c - Darwin's extended attributes, ACLs, BSD file flags and
 * creation time.
 *
 * Xattrs use Darwin's calls (with position and options; bare names such as
 * com.apple.FinderInfo). A compressed file's com.apple.decmpfs and resource
 * fork stay hidden (no XATTR_SHOWCOMPRESSION), as copyfile(3) wants. ACLs
 * are not xattrs on Darwin: they are copied with fcopyfile(COPYFILE_ACL).
 * Flags and creation time are read with one fgetattrlist, which works
 * wherever struct stat's st_flags/st_birthtimespec would (and in the
 * simulated layer, whose struct stat is glibc's).
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { XATTR_VALUE_MAX = 1024 * 1024 }; /* larger values are rare; they are reported */

/* List fd's xattr names into a malloc'ed buffer. @return length, 0, or -errno. */
static ssize_t xattr_list(int fd, char **list)
{
    *list = NULL;
    for (int tries = 0; tries < 5; tries++) {
        ssize_t n = SYS(flistxattr)(fd, NULL, 0, 0);
        if (n <= 0)
            return n < 0 ? (errno == ENOTSUP ? 0 : -errno) : 0;
        char *buf = malloc((size_t)n);
        if (!buf)
            return -ENOMEM;
        ssize_t got = SYS(flistxattr)(fd, buf, (size_t)n, 0);
        if (got >= 0) {
            *list = buf;
            return got;
        }
        free(buf);
        if (errno != ERANGE) /* ERANGE: it grew meanwhile */
            return -errno;
    }
    return -ERANGE;
}

/* shutil's rule (COWCOPY__XATTR_SKIP_REFUSED), with Darwin's names. */
static bool refused(int err)
{
    return err == EPERM || err == ENOTSUP || err == ENOATTR || err == EINVAL;
}

int cowcopy__xattr_copy(int in_fd, int out_fd, unsigned which, int *acl_err)
{
    bool skip_refused = which & COWCOPY__XATTR_SKIP_REFUSED;
    if (acl_err)
        *acl_err = 0;
    if ((which & COWCOPY__XATTR_ACL) &&
        SYS(fcopyfile)(in_fd, out_fd, NULL, COPYFILE_ACL) < 0 && !(skip_refused && refused(errno))) {
        int *err = acl_err ? acl_err : &(int){0};
        *err = -errno;
    }
    if (!(which & COWCOPY__XATTR_OTHER))
        return 0;
    char *list;
    ssize_t len = xattr_list(in_fd, &list);
    if (len <= 0)
        return (int)len;
    /* Setting xattrs needs write permission on the file itself: a copy of a
     * read-only file, made by its (unprivileged) owner, is made writable by
     * its owner for the while and given its mode back, as on Linux. */
    struct stat st;
    bool made_writable = false;
    if (geteuid() != 0 && SYS(fstat)(out_fd, &st) == 0 && !(st.st_mode & S_IWUSR))
        made_writable = SYS(fchmod)(out_fd, (st.st_mode & 07777) | S_IRUSR | S_IWUSR) == 0;
    char *value = NULL;
    int first_error = 0;
    for (char *name = list; name < list + len; name += strlen(name) + 1) {
        ssize_t n = SYS(fgetxattr)(in_fd, name, NULL, 0, 0, 0);
        if (n < 0 || n > XATTR_VALUE_MAX) {
            int err = n < 0 ? errno : E2BIG;
            if (err != ENOATTR && !(skip_refused && refused(err)) && !first_error)
                first_error = -err;
            continue;
        }
        char *grown = realloc(value, n > 0 ? (size_t)n : 1);
        if (!grown) {
            first_error = first_error ? first_error : -ENOMEM;
            break;
        }
        value = grown;
        n = SYS(fgetxattr)(in_fd, name, value, (size_t)n, 0, 0);
        if (n < 0) {
            if (errno != ENOATTR && !(skip_refused && refused(errno)) && !first_error)
                first_error = -errno; /* ENOATTR: removed meanwhile */
            continue;
        }
        if (SYS(fsetxattr)(out_fd, name, value, (size_t)n, 0, 0) < 0 &&
            !(skip_refused && refused(errno)) && !first_error)
            first_error = -errno;
    }
    free(value);
    free(list);
    if (made_writable && SYS(fchmod)(out_fd, st.st_mode & 07777) < 0 && !first_error)
        first_error = -errno;
    return first_error;
}

int cowcopy__xattr_strip(int fd)
{
    char *list;
    ssize_t len = xattr_list(fd, &list);
    if (len <= 0)
        return (int)len;
    int first_error = 0;
    for (char *name = list; name < list + len; name += strlen(name) + 1)
        if (SYS(fremovexattr)(fd, name, 0) < 0 && errno != ENOATTR && !first_error)
            first_error = -errno;
    free(list);
    return first_error;
}

int cowcopy__acl_copy_at(int dirfd, const char *name, int out_fd)
{
    int fd = SYS(openat)(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == EACCES ? 0 : -errno; /* unreadable: its ACL cannot be read either */
    int r = SYS(fcopyfile)(fd, out_fd, NULL, COPYFILE_ACL) < 0 ? -errno : 0;
    SYS(close)(fd);
    return r;
}

bool cowcopy__has_default_acl(int dirfd)
{
    (void)dirfd;
    return true; /* Darwin ACLs inherit through entries we do not parse: assume so */
}

/* fgetattrlist's answer for ATTR_CMN_CRTIME | ATTR_CMN_FLAGS: 4-byte packed. */
struct bsd_attrs {
    uint32_t length;
    struct timespec crtime;
    uint32_t flags;
} __attribute__((packed, aligned(4)));

int cowcopy__bsd_attrs_get(int fd, uint32_t *flags, struct timespec *crtime)
{
    struct attrlist al;
    memset(&al, 0, sizeof al);
    al.bitmapcount = ATTR_BIT_MAP_COUNT;
    al.commonattr = ATTR_CMN_CRTIME | ATTR_CMN_FLAGS;
    struct bsd_attrs buf;
    memset(&buf, 0, sizeof buf);
    if (SYS(fgetattrlist)(fd, &al, &buf, sizeof buf, 0) < 0)
        return -errno;
    memcpy(crtime, &buf.crtime, sizeof *crtime);
    *flags = buf.flags;
    return 0;
}

int cowcopy__crtime_set(int fd, const struct timespec *crtime)
{
    struct attrlist al;
    memset(&al, 0, sizeof al);
    al.bitmapcount = ATTR_BIT_MAP_COUNT;
    al.commonattr = ATTR_CMN_CRTIME;
    struct timespec t = *crtime;
    if (t.tv_nsec == UTIME_NOW)
        clock_gettime(CLOCK_REALTIME, &t);
    return SYS(fsetattrlist)(fd, &al, &t, sizeof t, 0) < 0 ? -errno : 0;
}

int cowcopy__private_size(int fd, uint64_t *bytes)
{
    struct attrlist al;
    memset(&al, 0, sizeof al);
    al.bitmapcount = ATTR_BIT_MAP_COUNT;
    al.forkattr = ATTR_CMNEXT_PRIVATESIZE; /* extended common attributes ride in forkattr */
    struct {
        uint32_t length;
        off_t private_size;
    } __attribute__((packed, aligned(4))) buf;
    memset(&buf, 0, sizeof buf);
    if (SYS(fgetattrlist)(fd, &al, &buf, sizeof buf, FSOPT_ATTR_CMN_EXTENDED) < 0)
        return -errno;
    off_t v;
    memcpy(&v, &buf.private_size, sizeof v);
    *bytes = v > 0 ? (uint64_t)v : 0;
    return 0;
}
