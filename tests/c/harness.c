/*
 * harness.c - the C suites' harness: filesystem discovery, a forked child per
 * case, result lines, file and extent helpers (FIEMAP read directly, not
 * through the library under test).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct harness_fs filesystems[8];
static size_t fs_count;
static const char *current_case = "?";
static const char *current_fs = "?";
static char current_dir[4096];

static void parse_filesystems(void)
{
    const char *env = getenv("COWCOPY_TEST_FS");
    if (!env || !*env)
        return;
    char *copy = strdup(env);
    for (char *item = strtok(copy, ":"); item && fs_count < 8; item = strtok(NULL, ":")) {
        char *eq = strchr(item, '=');
        if (!eq)
            continue;
        *eq = '\0';
        struct harness_fs *f = &filesystems[fs_count++];
        f->name = item;
        f->mnt = eq + 1;
        f->bit = strcmp(item, "btrfs") == 0   ? FS_BTRFS
                 : strcmp(item, "xfs") == 0   ? FS_XFS
                 : strcmp(item, "ext4") == 0  ? FS_EXT4
                 : strcmp(item, "tmpfs") == 0 ? FS_TMPFS
                                              : FS_XFS_NOREFLINK;
        f->can_clone = f->bit & FS_COW;
    }
}

const struct harness_fs *harness_fs_find(const char *name)
{
    for (size_t i = 0; i < fs_count; i++)
        if (strcmp(filesystems[i].name, name) == 0)
            return &filesystems[i];
    return NULL;
}

static void make_case_dir(char *out, size_t size, const char *mnt, const char *suffix)
{
    snprintf(out, size, "%s/c-%d-%s%s", mnt, (int)getpid(), current_case, suffix);
    if (mkdir(out, 0755) < 0 && errno != EEXIST)
        harness_fail(__FILE__, __LINE__, "mkdir %s: %s", out, strerror(errno));
}

const char *harness_dir_on(const char *name)
{
    static char dirs[4][4096];
    static int next;
    const struct harness_fs *f = harness_fs_find(name);
    if (!f)
        harness_skip("no scratch %s filesystem", name);
    char *d = dirs[next++ % 4];
    make_case_dir(d, sizeof dirs[0], f->mnt, "-other");
    return d;
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s[%s]: %s:%d: ", current_case, current_fs, file, line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(1);
}

void harness_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("SKIP %s[%s]: ", current_case, current_fs);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(77);
}

static void run_case(const struct harness_case *c, const struct harness_fs *f)
{
    current_case = c->name;
    current_fs = f ? f->name : "none";
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!f)
            harness_skip("no scratch filesystem (tests/run.sh makes them when run as root)");
        make_case_dir(current_dir, sizeof current_dir, f->mnt, "");
        c->fn(f, current_dir);
        exit(0); /* the parent says PASS once the exit status (sanitizers!) is clean */
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        printf("FAIL %s[%s]: cannot fork: %s\n", current_case, current_fs, strerror(errno));
        return;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        printf("PASS %s[%s]\n", current_case, current_fs);
    else if (WIFSIGNALED(status))
        printf("FAIL %s[%s]: killed by signal %d\n", current_case, current_fs, WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1 && WEXITSTATUS(status) != 77)
        printf("FAIL %s[%s]: exited with status %d (sanitizer report on stderr?)\n",
               current_case, current_fs, WEXITSTATUS(status));
    fflush(stdout);
}

int harness_main(const struct harness_case *cases, size_t count)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    parse_filesystems();
    const char *only = getenv("COWCOPY_TEST_ONLY"); /* run one case by name */
    for (size_t i = 0; i < count; i++) {
        const struct harness_case *c = &cases[i];
        if (only && strcmp(only, c->name) != 0)
            continue;
        if ((c->filesystems & LINUX_ONLY && DARWIN_BACKEND) ||
            (c->filesystems & DARWIN_ONLY && !DARWIN_BACKEND))
            continue; /* about the other backend's mechanism */
        if (c->filesystems & FS_ONCE) {
            run_case(c, harness_fs_find("btrfs"));
            continue;
        }
        bool ran = false;
        for (size_t j = 0; j < fs_count; j++)
            if (c->filesystems & filesystems[j].bit) {
                run_case(c, &filesystems[j]);
                ran = true;
            }
        if (!ran)
            run_case(c, NULL);
    }
    return 0;
}

/* ------------------------------------------------------------- files */

const char *path_in(const char *dir, const char *name)
{
    static char bufs[256][4096];
    static int next;
    char *b = bufs[next++ % 256];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

void write_random(const char *path, uint64_t size, uint32_t seed)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        harness_fail(__FILE__, __LINE__, "open %s: %s", path, strerror(errno));
    static uint32_t buf[16384];
    uint32_t x = seed * 2654435761u + 1;
    for (uint64_t done = 0; done < size;) {
        for (size_t i = 0; i < 16384; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[i] = x;
        }
        size_t n = size - done < sizeof buf ? (size_t)(size - done) : sizeof buf;
        if (write(fd, buf, n) != (ssize_t)n)
            harness_fail(__FILE__, __LINE__, "write %s: %s", path, strerror(errno));
        done += n;
    }
    close(fd);
}

void write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        harness_fail(__FILE__, __LINE__, "write %s: %s", path, strerror(errno));
    close(fd);
}

bool same_content(const char *a, const char *b)
{
    int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
    bool same = fa >= 0 && fb >= 0;
    static char ba[65536], bb[65536];
    while (same) {
        ssize_t na = read(fa, ba, sizeof ba), nb = read(fb, bb, sizeof bb);
        if (na != nb || na < 0 || memcmp(ba, bb, (size_t)na) != 0)
            same = false;
        if (na <= 0)
            break;
    }
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    return same;
}

bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

uint64_t allocated_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

/* ------------------------------------------------------------ extents */

int extents_of(const char *path, struct extent **out)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int count = 0, cap = 0;
    *out = NULL;
    uint64_t start = 0;
    for (;;) {
        enum { BATCH = 256 };
        struct fiemap *fm = calloc(1, sizeof *fm + BATCH * sizeof(struct fiemap_extent));
        fm->fm_start = start;
        fm->fm_length = ~0ULL - start;
        fm->fm_flags = FIEMAP_FLAG_SYNC;
        fm->fm_extent_count = BATCH;
        if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
            free(fm);
            close(fd);
            return -1;
        }
        bool last = fm->fm_mapped_extents == 0;
        for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
            struct fiemap_extent *e = &fm->fm_extents[i];
            if (count == cap) {
                cap = cap ? cap * 2 : 16;
                *out = realloc(*out, (size_t)cap * sizeof **out);
            }
            (*out)[count++] = (struct extent){e->fe_logical, e->fe_physical, e->fe_length,
                                              e->fe_flags};
            start = e->fe_logical + e->fe_length;
            if (e->fe_flags & FIEMAP_EXTENT_LAST)
                last = true;
        }
        free(fm);
        if (last)
            break;
    }
    close(fd);
    return count;
}

bool is_clone_of(const char *dst, const char *src)
{
    struct extent *d, *s;
    int nd = extents_of(dst, &d), ns = extents_of(src, &s);
    bool ok = nd > 0 && ns > 0;
    for (int i = 0; ok && i < nd; i++) {
        if (!(d[i].flags & FIEMAP_EXTENT_SHARED) || (d[i].flags & FIEMAP_EXTENT_DATA_INLINE))
            ok = false;
        /* Every byte of this extent must sit at the same physical place in src. */
        for (uint64_t off = 0; ok && off < d[i].length;) {
            uint64_t logical = d[i].logical + off;
            bool found = false;
            for (int j = 0; j < ns && !found; j++)
                if (logical >= s[j].logical && logical < s[j].logical + s[j].length) {
                    uint64_t delta = logical - s[j].logical;
                    if (s[j].physical + delta != d[i].physical + off)
                        ok = false;
                    uint64_t run = s[j].length - delta;
                    off += run < d[i].length - off ? run : d[i].length - off;
                    found = true;
                }
            if (!found)
                ok = false;
        }
    }
    free(d);
    free(s);
    return ok;
}

bool shares_any_block(const char *a, const char *b)
{
    struct extent *ea, *eb;
    int na = extents_of(a, &ea), nb = extents_of(b, &eb);
    bool any = false;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) {
            if ((ea[i].flags | eb[j].flags) & (FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_UNKNOWN))
                continue;
            if (ea[i].physical < eb[j].physical + eb[j].length &&
                eb[j].physical < ea[i].physical + ea[i].length)
                any = true;
        }
    if (na > 0)
        free(ea);
    if (nb > 0)
        free(eb);
    return any;
}

void become_nobody(void)
{
    if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
        setresuid(65534, 65534, 65534) < 0)
        harness_fail(__FILE__, __LINE__, "cannot become nobody: %s", strerror(errno));
}
