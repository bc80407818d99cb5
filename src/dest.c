/*
 * dest.c - building a destination beside its final name, then putting it
 * in place in one step.
 *
 * A regular file is built as an unnamed O_TMPFILE file in the destination's
 * directory (btrfs, XFS, ext4 and tmpfs support it, and FICLONE into it
 * works), then linked to its name when complete: a crash or SIGKILL before
 * that leaves nothing. Replacing an existing name needs a rename, so the
 * unnamed file is first linked to a hidden name and renamed over the old
 * file. Where O_TMPFILE is missing (NFS, older filesystems) the file is
 * created under a hidden name from the start.
 *
 * Hidden names are ".<name>.cowcopy-XXXXXXXX". Each live one is recorded in
 * a fixed table of slots so that cowcopy_cleanup_temporaries() can remove it
 * from a signal handler (lock-free, async-signal-safe).
 */
#include "internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __APPLE__
#include <sys/random.h> /* getentropy */
#endif

/* ----------------------------------------------------- cleanup registry */

enum { SLOT_FREE = 0, SLOT_FILLING = 1, SLOT_LIVE = 2, SLOT_COUNT = 256 };

static struct {
    atomic_int state;
    int dirfd;
    char name[NAME_MAX + 1];
} temp_slots[SLOT_COUNT];

/* Record dirfd/name for signal-time cleanup. @return the slot, or -1 if all
 * are taken (the copy still goes ahead; only interrupt cleanup is lost). */
static int slot_claim(int dirfd, const char *name)
{
    for (int i = 0; i < SLOT_COUNT; i++) {
        int expected = SLOT_FREE;
        if (atomic_compare_exchange_strong(&temp_slots[i].state, &expected, SLOT_FILLING)) {
            temp_slots[i].dirfd = dirfd;
            snprintf(temp_slots[i].name, sizeof temp_slots[i].name, "%s", name);
            atomic_store(&temp_slots[i].state, SLOT_LIVE);
            return i;
        }
    }
    return -1;
}

static void slot_release(int slot)
{
    if (slot >= 0)
        atomic_store(&temp_slots[slot].state, SLOT_FREE);
}

void cowcopy_cleanup_temporaries(void)
{
    for (int i = 0; i < SLOT_COUNT; i++) {
        int expected = SLOT_LIVE;
        if (atomic_compare_exchange_strong(&temp_slots[i].state, &expected, SLOT_FILLING)) {
            unlinkat(temp_slots[i].dirfd, temp_slots[i].name, 0);
            atomic_store(&temp_slots[i].state, SLOT_FREE);
        }
    }
}

/* ------------------------------------------------------------ names */

/* Write a fresh hidden name for `base` into out (NAME_MAX+1 bytes). */
static void temp_name(char *out, const char *base)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static _Thread_local uint64_t state;
    if (state == 0) {
        if (getentropy(&state, sizeof state) != 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)getpid();
        }
        state |= 1;
    }
    char suffix[9];
    for (int i = 0; i < 8; i++) {
        state ^= state << 13; /* xorshift64: names need to differ, not be secret */
        state ^= state >> 7;
        state ^= state << 17;
        suffix[i] = alphabet[state % (sizeof alphabet - 1)];
    }
    suffix[8] = '\0';
    /* ".<base>.cowcopy-XXXXXXXX" must fit NAME_MAX: keep at most 200 bytes of base. */
    snprintf(out, NAME_MAX + 1, ".%.200s.cowcopy-%s", base, suffix);
}

/* ------------------------------------------------------------ O_TMPFILE */

#ifdef HAVE_O_TMPFILE

/* Can an O_TMPFILE file be linked into place? Linking needs /proc/self/fd
 * (any user) or AT_EMPTY_PATH (CAP_DAC_READ_SEARCH); checked once. */
static bool unnamed_linkable(void)
{
    static atomic_int known; /* 0 unknown, 1 yes, 2 no */
    int k = atomic_load(&known);
    if (k == 0) {
        struct stat st;
        k = (stat("/proc/self/fd", &st) == 0 || geteuid() == 0) ? 1 : 2;
        atomic_store(&known, k);
    }
    return k == 1;
}

/* Filesystems answer O_TMPFILE they cannot do with one of these. */
static bool tmpfile_unsupported(int err)
{
    return err == EOPNOTSUPP || err == EISDIR || err == EINVAL || err == ENOENT;
}

/* Set once linkat(AT_EMPTY_PATH) was refused (ENOENT) while the /proc
 * path then worked: this process lacks CAP_DAC_READ_SEARCH. */
static atomic_int empty_path_refused;

/*
 * Link the unnamed file t->fd as dirfd/name. @return 0 or -errno.
 * AT_EMPTY_PATH first: it links the descriptor directly, where the
 * /proc/self/fd/N path costs a walk through procfs on every file (perf of
 * a 20,000-file tree copy on XFS, bench/ cp-tree: about 4% of its CPU).
 * Older kernels allow it only with CAP_DAC_READ_SEARCH (root) and answer
 * ENOENT otherwise (6.18 also lets the file's opener do it); after such an
 * ENOENT the /proc path, which any user may link, is used, and from then
 * on only it.
 */
static int link_unnamed(const cowcopy__temp *t, const char *name)
{
    int err = 0;
    if (!atomic_load_explicit(&empty_path_refused, memory_order_relaxed)) {
        if (SYS(linkat)(t->fd, "", t->dirfd, name, AT_EMPTY_PATH) == 0)
            return 0;
        err = errno;
        if (err != ENOENT)
            return -err;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", t->fd);
    if (SYS(linkat)(AT_FDCWD, path, t->dirfd, name, AT_SYMLINK_FOLLOW) == 0) {
        if (err == ENOENT)
            atomic_store_explicit(&empty_path_refused, 1, memory_order_relaxed);
        return 0;
    }
    return -errno;
}
#endif /* HAVE_O_TMPFILE */

static int make_regular(int dirfd, const char *name, void *ctx)
{
    mode_t mode = *(const mode_t *)ctx;
    return SYS(openat)(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
}

int cowcopy__temp_make(cowcopy__temp *t, int dirfd, const char *base,
                       int (*make)(int dirfd, const char *name, void *ctx), void *ctx)
{
    t->dirfd = dirfd;
    t->fd = -1;
    t->kind = COWCOPY__TEMP_NONE;
    t->slot = -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        temp_name(t->name, base);
        /* Claim the slot first, so there is no moment in which the name
         * exists but a signal handler would not know to remove it. */
        t->slot = slot_claim(dirfd, t->name);
        int r = make(dirfd, t->name, ctx);
        if (r >= 0) {
            t->kind = COWCOPY__TEMP_NAMED;
            if (make == make_regular)
                t->fd = r;
            return 0;
        }
        int err = errno;
        slot_release(t->slot);
        t->slot = -1;
        if (err != EEXIST)
            return -err;
    }
    return -EEXIST;
}

int cowcopy__temp_open(cowcopy__temp *t, int dirfd, const char *base, mode_t mode)
{
    t->dirfd = dirfd;
    t->fd = -1;
    t->kind = COWCOPY__TEMP_NONE;
    t->slot = -1;
#ifdef HAVE_O_TMPFILE
    static atomic_int tmpfile_missing; /* the kernel has no O_TMPFILE at all */
    if (!atomic_load(&tmpfile_missing) && unnamed_linkable()) {
        int fd = SYS(openat)(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
        if (fd >= 0) {
            t->fd = fd;
            t->kind = COWCOPY__TEMP_UNNAMED;
            return 0;
        }
        int err = errno;
        if (!tmpfile_unsupported(err))
            return -err;
        if (err == EISDIR) /* kernels before 3.11 ignore the flag's tmpfile bit */
            atomic_store(&tmpfile_missing, 1);
    }
#endif
    return cowcopy__temp_make(t, dirfd, base, make_regular, &mode);
}

void cowcopy__temp_discard(cowcopy__temp *t)
{
    if (t->fd >= 0)
        SYS(close)(t->fd);
    t->fd = -1;
    if (t->kind == COWCOPY__TEMP_NAMED) {
        SYS(unlinkat)(t->dirfd, t->name, 0);
        slot_release(t->slot);
        t->slot = -1;
    }
    t->kind = COWCOPY__TEMP_NONE;
}

/* Close t->fd, reporting errors close can surface (NFS write-back). */
static int temp_close_fd(cowcopy__temp *t)
{
    if (t->fd < 0)
        return 0;
    int r = SYS(close)(t->fd);
    t->fd = -1;
    return (r < 0 && errno != EINTR) ? -errno : 0;
}

/* Rename a named temp to base; without `replace`, never over an existing
 * entry. @return 0 or -errno with *call set. */
static int rename_named(cowcopy__temp *t, const char *base, bool replace, const char **call)
{
    if (replace) {
        *call = "renameat";
        return SYS(renameat)(t->dirfd, t->name, t->dirfd, base) == 0 ? 0 : -errno;
    }
#ifdef HAVE_RENAMEAT2
    *call = "renameat2";
    if (SYS(renameat2)(t->dirfd, t->name, t->dirfd, base, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return -errno;
#elif defined(HAVE_RENAMEATX_NP)
    *call = "renameatx_np";
    if (SYS(renameatx_np)(t->dirfd, t->name, t->dirfd, base, RENAME_EXCL) == 0)
        return 0;
    if (errno != ENOTSUP && errno != EINVAL) /* ENOTSUP: not on this filesystem */
        return -errno;
#endif
    /* No RENAME_NOREPLACE here: link (fails if base exists), then unlink. */
    *call = "linkat";
    if (SYS(linkat)(t->dirfd, t->name, t->dirfd, base, 0) < 0)
        return -errno;
    SYS(unlinkat)(t->dirfd, t->name, 0);
    return 0;
}

int cowcopy__temp_commit(cowcopy__temp *t, const char *base, bool replace, const char **call)
{
    int r;
#ifdef HAVE_O_TMPFILE
    if (t->kind == COWCOPY__TEMP_UNNAMED && !replace) {
        *call = "linkat";
        r = link_unnamed(t, base);
        if (r < 0) {
            cowcopy__temp_discard(t);
            return r;
        }
        *call = "close";
        r = temp_close_fd(t);
        t->kind = COWCOPY__TEMP_NONE;
        return r;
    }
    if (t->kind == COWCOPY__TEMP_UNNAMED) {
        /* Replacing needs a name to rename: give the file a hidden one. */
        for (int attempt = 0;; attempt++) {
            temp_name(t->name, base);
            t->slot = slot_claim(t->dirfd, t->name);
            *call = "linkat";
            r = link_unnamed(t, t->name);
            if (r == 0)
                break;
            slot_release(t->slot);
            t->slot = -1;
            if (r != -EEXIST || attempt == 100) {
                cowcopy__temp_discard(t);
                return r;
            }
        }
        t->kind = COWCOPY__TEMP_NAMED;
    }
#endif
    *call = "close";
    r = temp_close_fd(t);
    if (r == 0)
        r = rename_named(t, base, replace, call);
    if (r < 0) {
        cowcopy__temp_discard(t);
        return r;
    }
    slot_release(t->slot);
    t->slot = -1;
    t->kind = COWCOPY__TEMP_NONE;
    return 0;
}
