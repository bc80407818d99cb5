/*
 * test_tree.c - cowcopy_tree_copy() through the C API: counters, callbacks
 * and cancellation, hard links across threads, read-only directories,
 * faults in the middle of a tree, refusal to copy into itself, and symlinks
 * in an existing destination that must not be followed. (Whole-tree
 * equality with cp -a is tested from the command line: tests/cli/test_tree.py.)
 */
#include "harness.h"

#include "cowcopy.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) < 0)
        harness_fail(__FILE__, __LINE__, "mkdir %s: %s", path, strerror(errno));
}

/* dirs x files small files under root/dN/fM. */
static void make_grid(const char *root, int dirs, int files)
{
    make_dir(root);
    char path[4096];
    for (int d = 0; d < dirs; d++) {
        snprintf(path, sizeof path, "%s/d%d", root, d);
        make_dir(path);
        for (int f = 0; f < files; f++) {
            snprintf(path, sizeof path, "%s/d%d/f%d", root, d, f);
            write_random(path, (uint64_t)(d * 131 + f * 7 + 1), (uint32_t)(d * 1000 + f));
        }
    }
}

static cowcopy_tree_options archive_options(void)
{
    cowcopy_tree_options t;
    cowcopy_tree_options_init(&t);
    t.file.preserve = COWCOPY_PRESERVE_ALL;
    t.file.flags = COWCOPY_NO_DEREFERENCE;
    return t;
}

static void test_counts_and_methods(const struct harness_fs *fs, const char *dir)
{
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    make_grid(src, 5, 8);
    CHECK_OK(symlink("d0/f0", path_in(src, "link")));
    CHECK_OK(link(path_in(src, "d1/f1"), path_in(src, "hard")));
    CHECK_OK(mkfifo(path_in(src, "fifo"), 0644));
    cowcopy_tree_options t = archive_options();
    cowcopy_tree_stats s;
    CHECK_EQ(cowcopy_tree_copy(src, dst, &t, &s), 0);
    CHECK_EQ(s.files, 41);
    CHECK_EQ(s.hardlinks, 1);
    CHECK_EQ(s.symlinks, 1);
    CHECK_EQ(s.specials, 1);
    CHECK_EQ(s.directories, 6);
    CHECK_EQ(s.errors, 0);
    CHECK(s.threads >= 1);
    if (fs->can_clone)
        CHECK_EQ(s.cloned, 40);
    else
        CHECK_EQ(s.cloned, 0);
    CHECK_EQ(s.cloned + s.offloaded + s.copied + s.hardlinks, s.files);
    struct stat a, b;
    CHECK_OK(stat(path_in(dst, "hard"), &a));
    CHECK_OK(stat(path_in(dst, "d1/f1"), &b));
    CHECK_EQ(a.st_ino, b.st_ino);
    CHECK(same_content(path_in(src, "d4/f7"), path_in(dst, "d4/f7")));
}

/* Many links to one inode spread over directories copied by 4 threads. */
static void test_hard_links_across_threads(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    make_grid(src, 12, 3);
    char path[4096];
    for (int d = 0; d < 12; d++) {
        snprintf(path, sizeof path, "%s/d%d/shared", src, d);
        CHECK_OK(link(path_in(src, "d0/f0"), path));
    }
    cowcopy_tree_options t = archive_options();
    t.threads = 4;
    cowcopy_tree_stats s;
    CHECK_EQ(cowcopy_tree_copy(src, dst, &t, &s), 0);
    CHECK_EQ(s.threads, 4);
    CHECK_EQ(s.hardlinks, 12);
    struct stat first;
    CHECK_OK(stat(path_in(dst, "d0/f0"), &first));
    CHECK_EQ(first.st_nlink, 13);
    for (int d = 0; d < 12; d++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/d%d/shared", dst, d);
        CHECK_OK(stat(path, &st));
        CHECK_EQ(st.st_ino, first.st_ino);
    }
}

static void test_read_only_directories(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    make_grid(src, 2, 2);
    CHECK_OK(chmod(path_in(src, "d0"), 0555));
    CHECK_OK(chmod(path_in(src, "d1"), 0500));
    struct timespec times[2] = {{1000, 1}, {2000, 999999999}};
    CHECK_OK(utimensat(AT_FDCWD, path_in(src, "d0"), times, 0));
    cowcopy_tree_options t = archive_options();
    CHECK_EQ(cowcopy_tree_copy(src, dst, &t, NULL), 0);
    struct stat st;
    CHECK_OK(stat(path_in(dst, "d0"), &st));
    CHECK_EQ(st.st_mode & 07777, 0555);
    CHECK_EQ(st.st_mtim.tv_sec, 2000);
    CHECK_EQ(st.st_mtim.tv_nsec, 999999999);
    CHECK_OK(stat(path_in(dst, "d1"), &st));
    CHECK_EQ(st.st_mode & 07777, 0500);
    CHECK(same_content(path_in(src, "d1/f1"), path_in(dst, "d1/f1")));
}

struct recorder {
    int errors, entries, progress_calls, stop_after;
    int last_code;
    char last_src[4096];
};

static int record_error(void *data, const cowcopy_error *e)
{
    struct recorder *r = data;
    r->errors++;
    r->last_code = e->code;
    snprintf(r->last_src, sizeof r->last_src, "%s", e->src ? e->src : "");
    return 0;
}

static void record_entry(void *data, const char *src, const char *dst, const cowcopy_result *res)
{
    (void)src, (void)dst, (void)res;
    ((struct recorder *)data)->entries++;
}

static int record_progress(void *data, const cowcopy_tree_stats *s)
{
    struct recorder *r = data;
    r->progress_calls++;
    return r->stop_after && (int)s->files >= r->stop_after;
}

static void test_fault_in_the_middle_goes_on(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    make_grid(src, 3, 4);
    write_random(path_in(src, "d1/big"), 3 << 20, 99);
    cowcopy_tree_options t = archive_options();
    t.file.reflink = COWCOPY_REFLINK_NEVER;
    t.threads = 1;
    struct recorder rec = {0};
    t.on_error = record_error;
    t.error_data = &rec;
    t.on_entry = record_entry;
    t.entry_data = &rec;
    /* The big file is the only one needing more than one 1 MiB write. */
    CHECK_EQ(cowcopy__fault_set("pwrite@14+=ENOSPC"), 0);
    cowcopy_tree_stats s;
    int r = cowcopy_tree_copy(src, dst, &t, &s);
    CHECK_EQ(cowcopy__fault_set(""), 0);
    CHECK_EQ(r, -ENOSPC);
    CHECK(rec.errors >= 1);
    CHECK_EQ(s.errors, (uint64_t)rec.errors);
    CHECK_EQ(rec.last_code, -ENOSPC);
    /* Every file copied is whole, the failed ones are absent, nothing stray. */
    int found = 0;
    for (int d = 0; d < 3; d++) {
        char sub[64];
        snprintf(sub, sizeof sub, "d%d", d);
        DIR *dp = opendir(path_in(dst, sub));
        CHECK(dp != NULL);
        struct dirent *e;
        while ((e = readdir(dp))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            CHECK(e->d_name[0] != '.');
            char rel[512];
            snprintf(rel, sizeof rel, "%s/%s", sub, e->d_name);
            CHECK(same_content(path_in(src, rel), path_in(dst, rel)));
            found++;
        }
        closedir(dp);
    }
    CHECK_EQ(found, s.files);
    CHECK_EQ(s.files + s.errors, 13);
}

static void test_callbacks_and_cancel(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    make_grid(src, 20, 50);
    cowcopy_tree_options t = archive_options();
    t.threads = 2;
    t.progress_ms = 1;
    struct recorder rec = {0};
    t.progress = record_progress;
    t.progress_data = &rec;
    t.on_entry = record_entry;
    t.entry_data = &rec;
    cowcopy_tree_stats s;
    CHECK_EQ(cowcopy_tree_copy(src, path_in(dir, "all"), &t, &s), 0);
    CHECK(rec.progress_calls >= 1);
    CHECK_EQ(rec.entries, 1000 + 21); /* files and the directories made, the root too */
    /* A progress callback asking to stop stops the copy. */
    struct recorder stop = {.stop_after = 100};
    t.progress_data = &stop;
    t.on_entry = NULL;
    CHECK_EQ(cowcopy_tree_copy(src, path_in(dir, "part"), &t, &s), -ECANCELED);
    CHECK(s.files < 1000);
}

/* Slows the copy down so that the counting thread surely finishes first. */
static int slow_progress(void *data, const cowcopy_tree_stats *s)
{
    (void)s;
    ((struct recorder *)data)->progress_calls++;
    usleep(10000);
    return 0;
}

static void test_totals_are_counted(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    make_grid(src, 4, 10);
    cowcopy_tree_options t = archive_options();
    t.threads = 1;
    t.flags = COWCOPY_TREE_COUNT_TOTALS;
    t.progress_ms = 1;
    struct recorder rec = {0};
    t.progress = slow_progress;
    t.progress_data = &rec;
    cowcopy_tree_stats s;
    CHECK_EQ(cowcopy_tree_copy(src, path_in(dir, "dst"), &t, &s), 0);
    CHECK(rec.progress_calls >= 10);
    CHECK(s.totals_known);
    CHECK_EQ(s.total_files, 40);
    uint64_t bytes = 0;
    for (int d = 0; d < 4; d++)
        for (int f = 0; f < 10; f++)
            bytes += (uint64_t)(d * 131 + f * 7 + 1);
    CHECK_EQ(s.total_bytes, bytes);
    CHECK_EQ(s.bytes, bytes);
}

static void test_into_itself_refused(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    make_grid(src, 2, 1);
    cowcopy_tree_options t = archive_options();
    struct recorder rec = {0};
    t.on_error = record_error;
    t.error_data = &rec;
    CHECK_EQ(cowcopy_tree_copy(src, path_in(src, "d1/inside"), &t, NULL), -EINVAL);
    CHECK_EQ(rec.errors, 1);
    CHECK(!exists(path_in(src, "d1/inside")));
    CHECK_EQ(cowcopy_tree_copy(src, src, &t, NULL), -EINVAL);
    t.flags = 0x100;
    CHECK_EQ(cowcopy_tree_copy(src, path_in(dir, "x"), &t, NULL), -EINVAL);
    CHECK(!exists(path_in(dir, "x")));
}

static void test_existing_destination_symlinks_replaced(const struct harness_fs *fs,
                                                        const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    const char *outside = path_in(dir, "outside");
    make_grid(src, 2, 2);
    make_dir(dst);
    make_dir(outside);
    write_text(path_in(outside, "keep"), "outside");
    CHECK_OK(symlink(outside, path_in(dst, "d0")));
    CHECK_OK(symlink(path_in(outside, "keep"), path_in(dst, "d1")));
    cowcopy_tree_options t = archive_options();
    CHECK_EQ(cowcopy_tree_copy(src, dst, &t, NULL), 0);
    struct stat st;
    CHECK_OK(lstat(path_in(dst, "d0"), &st));
    CHECK(S_ISDIR(st.st_mode));
    CHECK_OK(lstat(path_in(dst, "d1"), &st));
    CHECK(S_ISDIR(st.st_mode));
    CHECK_EQ(count_entries(outside), 1);
    write_text(path_in(dir, "expect"), "outside");
    CHECK(same_content(path_in(outside, "keep"), path_in(dir, "expect")));
    CHECK(same_content(path_in(src, "d0/f1"), path_in(dst, "d0/f1")));
}

static void test_single_file_source(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    write_random(path_in(dir, "file"), 5000, 3);
    CHECK_OK(mkfifo(path_in(dir, "fifo"), 0600));
    cowcopy_tree_options t = archive_options();
    cowcopy_tree_stats s;
    CHECK_EQ(cowcopy_tree_copy(path_in(dir, "file"), path_in(dir, "copy"), &t, &s), 0);
    CHECK_EQ(s.files, 1);
    CHECK(same_content(path_in(dir, "file"), path_in(dir, "copy")));
    CHECK_EQ(cowcopy_tree_copy(path_in(dir, "fifo"), path_in(dir, "fifo2"), &t, &s), 0);
    CHECK_EQ(s.specials, 1);
    struct stat st;
    CHECK_OK(lstat(path_in(dir, "fifo2"), &st));
    CHECK(S_ISFIFO(st.st_mode));
}

/* Records every error's op and code, and the special files' names. */
struct op_recorder {
    int count, specials;
    int ops[16], codes[16];
    char special_src[4][4096];
};

static int record_op(void *data, const cowcopy_error *e)
{
    struct op_recorder *r = data;
    if (r->count < 16) {
        r->ops[r->count] = e->op;
        r->codes[r->count] = e->code;
    }
    r->count++;
    if (e->op == COWCOPY_OP_SPECIAL_FILE && r->specials < 4)
        snprintf(r->special_src[r->specials++], 4096, "%s", e->src ? e->src : "");
    return 0;
}

static bool recorded_special(const struct op_recorder *r, const char *src)
{
    for (int i = 0; i < r->specials && i < 4; i++)
        if (strcmp(r->special_src[i], src) == 0)
            return true;
    return false;
}

/* COWCOPY_TREE_NO_SPECIALS: FIFOs and devices are reported, not recreated;
 * a symlink to one is reported when followed, copied as a link otherwise. */
static void test_no_specials(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    make_grid(src, 2, 2);
    CHECK_OK(mkfifo(path_in(src, "d0/fifo"), 0640));
    CHECK_OK(mknod(path_in(src, "null"), S_IFCHR | 0600, makedev(1, 3)));
    CHECK_OK(symlink("d0/fifo", path_in(src, "to-fifo")));
    cowcopy_tree_options t = archive_options();
    t.flags = COWCOPY_TREE_NO_SPECIALS;
    struct op_recorder rec = {0};
    t.on_error = record_op;
    t.error_data = &rec;
    cowcopy_tree_stats s;
    const char *dst = path_in(dir, "links");
    CHECK_EQ(cowcopy_tree_copy(src, dst, &t, &s), -EOPNOTSUPP);
    CHECK_EQ(rec.count, 2);
    CHECK_EQ(s.errors, 2);
    CHECK_EQ(s.specials, 0);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(rec.ops[i], COWCOPY_OP_SPECIAL_FILE);
        CHECK_EQ(rec.codes[i], -EOPNOTSUPP);
    }
    CHECK(recorded_special(&rec, path_in(src, "d0/fifo")));
    CHECK(recorded_special(&rec, path_in(src, "null")));
    CHECK(!exists(path_in(dst, "d0/fifo")));
    CHECK(!exists(path_in(dst, "null")));
    struct stat st;
    CHECK_OK(lstat(path_in(dst, "to-fifo"), &st));
    CHECK(S_ISLNK(st.st_mode));
    CHECK(same_content(path_in(src, "d1/f1"), path_in(dst, "d1/f1")));
    /* Following links (cp -L), the link to the FIFO is reported too. */
    struct op_recorder followed = {0};
    t.error_data = &followed;
    t.flags |= COWCOPY_TREE_DEREFERENCE;
    dst = path_in(dir, "followed");
    CHECK_EQ(cowcopy_tree_copy(src, dst, &t, &s), -EOPNOTSUPP);
    CHECK_EQ(followed.count, 3);
    CHECK(recorded_special(&followed, path_in(src, "to-fifo")));
    CHECK(!exists(path_in(dst, "to-fifo")));
    /* A special file as the source itself. */
    struct op_recorder root = {0};
    t.error_data = &root;
    CHECK_EQ(cowcopy_tree_copy(path_in(src, "null"), path_in(dir, "null2"), &t, &s),
             -EOPNOTSUPP);
    CHECK_EQ(root.count, 1);
    CHECK_EQ(root.ops[0], COWCOPY_OP_SPECIAL_FILE);
    CHECK(!exists(path_in(dir, "null2")));
    /* Without the flag they are recreated, as cp -R does. */
    t.flags = 0;
    t.on_error = NULL;
    dst = path_in(dir, "recreated");
    CHECK_EQ(cowcopy_tree_copy(src, dst, &t, &s), 0);
    CHECK_OK(lstat(path_in(dst, "d0/fifo"), &st));
    CHECK(S_ISFIFO(st.st_mode));
}

/* COWCOPY_TREE_KEEP_ROOT_ATTRS: the root's own attributes are the caller's;
 * everything below gets its source's. */
static void test_keep_root_attrs(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    make_grid(src, 1, 1);
    CHECK_OK(chmod(src, 0750));
    CHECK_OK(chmod(path_in(src, "d0"), 0705));
    CHECK_OK(setxattr(src, "user.root", "r", 1, 0));
    CHECK_OK(setxattr(path_in(src, "d0"), "user.sub", "s", 1, 0));
    struct timespec times[2] = {{1000, 1}, {2000, 2}};
    CHECK_OK(utimensat(AT_FDCWD, src, times, 0));
    CHECK_OK(utimensat(AT_FDCWD, path_in(src, "d0"), times, 0));
    make_dir(dst);
    CHECK_OK(chmod(dst, 0711));
    cowcopy_tree_options t = archive_options();
    t.flags = COWCOPY_TREE_KEEP_ROOT_ATTRS;
    CHECK_EQ(cowcopy_tree_copy(src, dst, &t, NULL), 0);
    struct stat st;
    char value[8];
    CHECK_OK(stat(dst, &st));
    CHECK_EQ(st.st_mode & 07777, 0711);
    CHECK(st.st_mtim.tv_sec != 2000);
    CHECK(getxattr(dst, "user.root", value, sizeof value) < 0);
    CHECK_OK(stat(path_in(dst, "d0"), &st));
    CHECK_EQ(st.st_mode & 07777, 0705);
    CHECK_EQ(st.st_mtim.tv_sec, 2000);
    CHECK_EQ(getxattr(path_in(dst, "d0"), "user.sub", value, sizeof value), 1);
    CHECK(same_content(path_in(src, "d0/f0"), path_in(dst, "d0/f0")));
    /* Without the flag the root gets its source's attributes too. */
    t.flags = 0;
    CHECK_EQ(cowcopy_tree_copy(src, dst, &t, NULL), 0);
    CHECK_OK(stat(dst, &st));
    CHECK_EQ(st.st_mode & 07777, 0750);
    CHECK_EQ(st.st_mtim.tv_sec, 2000);
    CHECK_EQ(getxattr(dst, "user.root", value, sizeof value), 1);
}

/* In a set-group-ID parent, mkdir gives new directories the set-group-ID
 * bit. cp -a keeps it; COWCOPY_TREE_EXACT_DIR_MODE gives the source's mode. */
static void test_exact_dir_mode(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *shared = path_in(dir, "shared");
    make_grid(src, 1, 1);
    CHECK_OK(chmod(src, 0755));
    CHECK_OK(chmod(path_in(src, "d0"), 0700));
    make_dir(shared);
    CHECK_OK(chmod(shared, 02775));
    cowcopy_tree_options t = archive_options();
    const char *like_cp = path_in(shared, "like-cp");
    CHECK_EQ(cowcopy_tree_copy(src, like_cp, &t, NULL), 0);
    struct stat st;
    CHECK_OK(stat(like_cp, &st));
    CHECK_EQ(st.st_mode & 07777, 02755);
    CHECK_OK(stat(path_in(like_cp, "d0"), &st));
    CHECK_EQ(st.st_mode & 07777, 02700);
    t.flags = COWCOPY_TREE_EXACT_DIR_MODE;
    const char *exact = path_in(shared, "exact");
    CHECK_EQ(cowcopy_tree_copy(src, exact, &t, NULL), 0);
    CHECK_OK(stat(exact, &st));
    CHECK_EQ(st.st_mode & 07777, 0755);
    CHECK_OK(stat(path_in(exact, "d0"), &st));
    CHECK_EQ(st.st_mode & 07777, 0700);
    /* A source directory's own set-group-ID bit is still copied. */
    CHECK_OK(chmod(path_in(src, "d0"), 02750));
    const char *again = path_in(dir, "again");
    CHECK_EQ(cowcopy_tree_copy(src, again, &t, NULL), 0);
    CHECK_OK(stat(path_in(again, "d0"), &st));
    CHECK_EQ(st.st_mode & 07777, 02750);
}

/* COWCOPY_XATTR_SKIP_REFUSED applies to directories too. */
static void test_tree_xattr_skip_refused(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    make_grid(src, 2, 1);
    CHECK_OK(setxattr(path_in(src, "d0"), "user.dir", "d", 1, 0));
    CHECK_OK(setxattr(path_in(src, "d1/f0"), "user.file", "f", 1, 0));
    cowcopy_tree_options t;
    cowcopy_tree_options_init(&t);
    t.file.preserve = t.file.preserve_required =
        COWCOPY_PRESERVE_MODE | COWCOPY_PRESERVE_TIMESTAMPS | COWCOPY_PRESERVE_XATTR;
    t.file.flags = COWCOPY_XATTR_SKIP_REFUSED;
    struct op_recorder rec = {0};
    t.on_error = record_op;
    t.error_data = &rec;
    CHECK_EQ(cowcopy__fault_set("fsetxattr=EPERM"), 0);
    int r = cowcopy_tree_copy(src, path_in(dir, "skipped"), &t, NULL);
    CHECK_EQ(cowcopy__fault_set(""), 0);
    CHECK_EQ(r, 0);
    CHECK_EQ(rec.count, 0);
    CHECK(same_content(path_in(src, "d1/f0"), path_in(dir, "skipped/d1/f0")));
    /* Other errors are reported, for the directory and the file. */
    CHECK_EQ(cowcopy__fault_set("fsetxattr=E2BIG"), 0);
    r = cowcopy_tree_copy(src, path_in(dir, "failed"), &t, NULL);
    CHECK_EQ(cowcopy__fault_set(""), 0);
    CHECK_EQ(r, -E2BIG);
    CHECK_EQ(rec.count, 2);
    CHECK_EQ(rec.ops[0], COWCOPY_OP_SET_XATTR);
    CHECK_EQ(rec.ops[1], COWCOPY_OP_SET_XATTR);
    /* And without the flag a refusal is an error. */
    t.file.flags = 0;
    CHECK_EQ(cowcopy__fault_set("fsetxattr=EPERM"), 0);
    r = cowcopy_tree_copy(src, path_in(dir, "refused"), &t, NULL);
    CHECK_EQ(cowcopy__fault_set(""), 0);
    CHECK_EQ(r, -EPERM);
}

static const struct harness_case cases[] = {
    {"counts_and_methods", test_counts_and_methods, FS_ALL},
    {"hard_links_across_threads", test_hard_links_across_threads, FS_BTRFS | FS_EXT4},
    {"read_only_directories", test_read_only_directories, FS_XFS | FS_TMPFS},
    {"fault_in_the_middle_goes_on", test_fault_in_the_middle_goes_on, FS_EXT4 | FS_BTRFS},
    {"callbacks_and_cancel", test_callbacks_and_cancel, FS_XFS},
    {"totals_are_counted", test_totals_are_counted, FS_TMPFS},
    {"into_itself_refused", test_into_itself_refused, FS_EXT4},
    {"existing_destination_symlinks_replaced", test_existing_destination_symlinks_replaced,
     FS_BTRFS | FS_TMPFS},
    {"single_file_source", test_single_file_source, FS_EXT4},
    {"no_specials", test_no_specials, FS_BTRFS | FS_EXT4},
    {"keep_root_attrs", test_keep_root_attrs, FS_XFS | FS_EXT4},
    /* Linux's set-group-ID directories (BSD semantics differ). */
    {"exact_dir_mode", test_exact_dir_mode, FS_BTRFS | FS_TMPFS | LINUX_ONLY},
    {"tree_xattr_skip_refused", test_tree_xattr_skip_refused, FS_EXT4},
};

int main(void)
{
    return harness_main(cases, sizeof cases / sizeof cases[0]);
}
