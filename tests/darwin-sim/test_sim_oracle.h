/*
 * test_sim_oracle.h - the Linux truth the simulated Darwin layer's tests
 * check it against, from test_sim_linux.c: glibc's xattr calls, statx's
 * btime and POSIX ACL entries, reached without the layer under test.
 */
#ifndef DARWIN_SIM_TEST_ORACLE_H
#define DARWIN_SIM_TEST_ORACLE_H

#include <stddef.h>
#include <sys/types.h>

/* Linux lgetxattr / lsetxattr / lremovexattr (full Linux names). */
ssize_t oracle_getxattr(const char *path, const char *name, void *value, size_t size);
int oracle_setxattr(const char *path, const char *name, const void *value, size_t size);
/* The Linux names of path's xattrs, NUL-separated into buf. */
ssize_t oracle_listxattr(const char *path, char *buf, size_t size);
/* statx's btime of path (no symlink following). @return 0, or -1 if the
 * filesystem has none. */
int oracle_btime(const char *path, long long *sec, long *nsec);
/* Does path's access ACL have an entry for user uid? 1, 0, or -1. */
int oracle_acl_has_user(const char *path, unsigned uid);
/* Linux's value of ENODATA (the errno the layer must never pass on). */
int oracle_enodata(void);

#endif
