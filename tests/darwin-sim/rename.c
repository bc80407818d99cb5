/*
 * rename.c - Darwin's renamex_np(2) and renameatx_np(2) on Linux's
 * renameat2: RENAME_EXCL is RENAME_NOREPLACE (EEXIST if `to` exists),
 * RENAME_SWAP is RENAME_EXCHANGE (ENOENT if `to` is missing); both together,
 * or an undefined bit, are EINVAL. RENAME_NOFOLLOW_ANY resolves both parent
 * directories without following any symlink (ELOOP); RENAME_SECLUDE is not
 * simulated (ENOTSUP). Darwin's RENAME_EXCL (4) is Linux's RENAME_WHITEOUT:
 * the flags are translated by name, never passed through.
 */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

int renameatx_np(int fromfd, const char *from, int tofd, const char *to, unsigned int flags)
{
    if (flags & ~(unsigned)(RENAME_SECLUDE | RENAME_SWAP | RENAME_EXCL | RENAME_NOFOLLOW_ANY)) {
        errno = EINVAL;
        return -1;
    }
    if ((flags & RENAME_SWAP) && (flags & RENAME_EXCL)) {
        errno = EINVAL;
        return -1;
    }
    if (flags & RENAME_SECLUDE) {
        errno = ENOTSUP;
        return -1;
    }
    unsigned linux_flags = ((flags & RENAME_EXCL) ? RENAME_NOREPLACE : 0) |
                           ((flags & RENAME_SWAP) ? RENAME_EXCHANGE : 0);
    if (!(flags & RENAME_NOFOLLOW_ANY))
        return renameat2(fromfd, from, tofd, to, linux_flags);
    char from_base[NAME_MAX + 1], to_base[NAME_MAX + 1];
    bool slash;
    int fp = dsim_open_parent(fromfd, from, DSIM_NOFOLLOW_ANY, from_base, &slash);
    if (fp < 0)
        return -1;
    int tp = dsim_open_parent(tofd, to, DSIM_NOFOLLOW_ANY, to_base, &slash);
    if (tp < 0) {
        int e = errno;
        close(fp);
        errno = e;
        return -1;
    }
    int r = renameat2(fp, from_base, tp, to_base, linux_flags), e = errno;
    close(fp);
    close(tp);
    errno = e;
    return r;
}

int renamex_np(const char *from, const char *to, unsigned int flags)
{
    return renameatx_np(AT_FDCWD, from, AT_FDCWD, to, flags);
}
