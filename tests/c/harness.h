/*
 * harness.h - the C test suites' harness.
 *
 * A suite is a table of cases; each case runs once per scratch filesystem
 * it asks for (COWCOPY_TEST_FS, set by tests/run.sh), in a forked child with
 * a fresh directory, so a crash, a sanitizer report or an injected fault
 * stays inside one case. Each case prints one line:
 *   PASS name[fs] | FAIL name[fs]: file:line: what | SKIP name[fs]: why
 * CHECK_* macros print both values (libuv's ASSERT_EQ idea) and end the case.
 */
#ifndef COWCOPY_TEST_HARNESS_H
#define COWCOPY_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Which filesystems a case runs on. */
#define FS_BTRFS 0x01u
#define FS_XFS 0x02u
#define FS_EXT4 0x04u
#define FS_TMPFS 0x08u
#define FS_XFS_NOREFLINK 0x10u
#define FS_COW (FS_BTRFS | FS_XFS)
#define FS_NOCOW (FS_EXT4 | FS_TMPFS)
#define FS_ALL (FS_COW | FS_NOCOW)
#define FS_ONCE 0x100u /* run once, on btrfs (for cases that pick their own) */
/* Which backend a case is about. The suites also run against the library
 * built with the Darwin backend on the simulated layer (tests/darwin-sim);
 * a case testing a Linux mechanism (FICLONE, copy_file_range, O_TMPFILE,
 * file capabilities...) is not run there, and one testing a Darwin
 * mechanism not here. Such cases are left out, not reported as skipped. */
#define LINUX_ONLY 0x200u
#define DARWIN_ONLY 0x400u

#ifdef COWCOPY_TEST_DARWIN_BACKEND
#define DARWIN_BACKEND 1
#define CLONE_CALL "fclonefileat" /* the call a refused clone names */
#else
#define DARWIN_BACKEND 0
#define CLONE_CALL "FICLONE"
#endif

struct harness_fs {
    const char *name; /* "btrfs", "xfs", "ext4", "tmpfs", "xfs_noreflink" */
    const char *mnt;  /* its mount point */
    unsigned bit;     /* FS_* */
    bool can_clone;
};

typedef void (*harness_fn)(const struct harness_fs *fs, const char *dir);

struct harness_case {
    const char *name;
    harness_fn fn;
    unsigned filesystems;
};

/* Run the cases; @return the process exit status (0 unless one failed). */
int harness_main(const struct harness_case *cases, size_t count);

/* The scratch filesystem called name, or NULL if it is not mounted. */
const struct harness_fs *harness_fs_find(const char *name);
/* A fresh directory for this case on filesystem name ("xfs"), or SKIP. */
const char *harness_dir_on(const char *name);

void harness_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
void harness_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond))                                                                          \
            harness_fail(__FILE__, __LINE__, "%s", #cond);                                    \
    } while (0)
#define CHECK_EQ(a, b)                                                                        \
    do {                                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                                   \
        if (a_ != b_)                                                                         \
            harness_fail(__FILE__, __LINE__, "%s == %s: %lld vs %lld", #a, #b, a_, b_);       \
    } while (0)
#define CHECK_STR_EQ(a, b)                                                                    \
    do {                                                                                      \
        const char *a_ = (a), *b_ = (b);                                                      \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                \
            harness_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b,            \
                         a_ ? a_ : "(null)", b_ ? b_ : "(null)");                             \
    } while (0)
#define CHECK_OK(expr)                                                                        \
    do {                                                                                      \
        long long r_ = (long long)(expr);                                                     \
        if (r_ < 0)                                                                           \
            harness_fail(__FILE__, __LINE__, "%s failed: %lld (%s)", #expr, r_,               \
                         strerror(r_ == -1 ? errno : (int)-r_));                              \
    } while (0)
#define SKIP(...) harness_skip(__VA_ARGS__)

/* ---------------------------------------------------------- file helpers */

/* dir + "/" + name in a static rotating buffer (256 slots). */
const char *path_in(const char *dir, const char *name);
/* Write size bytes of seeded pseudo-random data (exits the case on error). */
void write_random(const char *path, uint64_t size, uint32_t seed);
void write_text(const char *path, const char *text);
/* @return true if both files have the same size and bytes. */
bool same_content(const char *a, const char *b);
bool exists(const char *path);
/* Number of entries in dir other than . and .. (hidden ones included). */
int count_entries(const char *dir);
/* Allocated bytes (st_blocks * 512). */
uint64_t allocated_bytes(const char *path);

/* ---------------------------------------------------------- extent proof */

struct extent {
    uint64_t logical, physical, length;
    uint32_t flags;
};
/* The file's extents (FIEMAP, synced). @return count, or -1. *out malloc'ed. */
int extents_of(const char *path, struct extent **out);
/* Proof of a clone: dst's every extent is flagged shared and maps to the
 * same physical bytes as src at the same offsets, and both have data. */
bool is_clone_of(const char *dst, const char *src);
/* Does any physical byte of a also belong to b? */
bool shares_any_block(const char *a, const char *b);

/* Become the unprivileged user nobody (65534) for the rest of the case. */
void become_nobody(void);

#endif
