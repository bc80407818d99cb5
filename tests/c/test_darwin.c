/*
 * test_darwin.c - the Darwin backend's own guarantees, run against the
 * library built with it on the simulated Darwin layer (tests/darwin-sim);
 * in the Linux build this suite has no cases.
 *
 * This file is Darwin code (compiled with the simulated headers): it sets up
 * and checks BSD flags, creation times and xattrs with Darwin's calls.
 *  - A clone (fclonefileat) carries its source's mode (less setuid/setgid),
 *    xattrs, flags and times: the copy must end up with exactly what the
 *    options ask for, as a written copy would.
 *  - A kernel that does not know CLONE_ACL answers EINVAL: the clone is made
 *    without it and the result says so; the ACL is still copied.
 *  - Darwin clones only into new files: --reflink=always onto a file
 *    written in place fails; auto copies and says why.
 *  - dedupe has no kernel compare: a duplicate is replaced by a clone of
 *    the source that was compared byte for byte and given the duplicate's
 *    metadata; files with other links, compressed or immutable ones are left
 *    alone; --min-age skips recently modified files.
 */
#include "harness.h"

#include "cowcopy.h"
#include "sys.h"

#ifdef COWCOPY_TEST_DARWIN_BACKEND
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/attr.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../darwin-sim/test_sim_oracle.h"

static cowcopy_options opts_with(int reflink, unsigned preserve)
{
    cowcopy_options o;
    cowcopy_options_init(&o);
    o.reflink = reflink;
    o.preserve = o.preserve_required = preserve;
    return o;
}

/* BSD flags and creation time of path, with Darwin's getattrlist. */
static void bsd_attrs(const char *path, uint32_t *flags, struct timespec *crtime)
{
    struct attrlist al;
    memset(&al, 0, sizeof al);
    al.bitmapcount = ATTR_BIT_MAP_COUNT;
    al.commonattr = ATTR_CMN_CRTIME | ATTR_CMN_FLAGS;
    struct {
        uint32_t length;
        struct timespec crtime;
        uint32_t flags;
    } __attribute__((packed, aligned(4))) buf;
    CHECK_OK(getattrlist(path, &al, &buf, sizeof buf, FSOPT_NOFOLLOW));
    memcpy(crtime, &buf.crtime, sizeof *crtime);
    *flags = buf.flags;
}

static void set_crtime(const char *path, time_t sec, long nsec)
{
    struct attrlist al;
    memset(&al, 0, sizeof al);
    al.bitmapcount = ATTR_BIT_MAP_COUNT;
    al.commonattr = ATTR_CMN_CRTIME;
    struct timespec t = {sec, nsec};
    CHECK_OK(setattrlist(path, &al, &t, sizeof t, 0));
}

/* A source with every attribute a clone carries. */
static void make_rich_source(const char *src)
{
    write_random(src, 300000, 31);
    CHECK_OK(chmod(src, 04755));
    CHECK_OK(setxattr(src, "colour", "blue", 4, 0, 0));
    set_crtime(src, 1000000000, 500);
    struct timespec times[2] = {{1100000000, 1}, {1200000000, 2}};
    CHECK_OK(utimensat(AT_FDCWD, src, times, 0));
    CHECK_OK(chflags(src, UF_HIDDEN)); /* last: flags survive the rest */
}

static void test_clone_metadata_matches_options(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    make_rich_source(src);
    umask(022);
    time_t before = time(NULL);
    cowcopy_result res;
    /* No preserve: as a new file written now would be. */
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO, 0);
    const char *plain = path_in(dir, "plain");
    CHECK_EQ(cowcopy_file_copy(src, plain, &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_CLONED);
    CHECK(is_clone_of(plain, src));
    struct stat st;
    CHECK_OK(stat(plain, &st));
    CHECK_EQ(st.st_mode & 07777, 0755);
    CHECK(st.st_mtim.tv_sec >= before);
    char value[16];
    CHECK_EQ(getxattr(plain, "colour", value, sizeof value, 0, 0), -1);
    CHECK_EQ(errno, ENOATTR);
    uint32_t flags;
    struct timespec crtime;
    bsd_attrs(plain, &flags, &crtime);
    CHECK_EQ(flags, 0);
    CHECK(crtime.tv_sec >= before);
    /* Everything preserved: the setuid bit a clone drops comes back. */
    o = opts_with(COWCOPY_REFLINK_AUTO, COWCOPY_PRESERVE_ALL);
    const char *all = path_in(dir, "all");
    CHECK_EQ(cowcopy_file_copy(src, all, &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_CLONED);
    CHECK(is_clone_of(all, src));
    CHECK_OK(stat(all, &st));
    CHECK_EQ(st.st_mode & 07777, 04755);
    CHECK_EQ(st.st_mtim.tv_sec, 1200000000);
    CHECK_EQ(st.st_mtim.tv_nsec, 2);
    CHECK_EQ(getxattr(all, "colour", value, sizeof value, 0, 0), 4);
    bsd_attrs(all, &flags, &crtime);
    CHECK_EQ(flags, UF_HIDDEN);
    CHECK_EQ(crtime.tv_sec, 1000000000);
    CHECK_EQ(crtime.tv_nsec, 500);
    CHECK_EQ(count_entries(dir), 3); /* no hidden temporary left */
}

static void test_old_kernel_without_clone_acl(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    write_random(src, 100000, 32);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "setfacl -m u:4321:r '%s'", src);
    CHECK_EQ(system(cmd), 0);
    CHECK_OK(darwin_sim_set_os_version(12, 6)); /* before CLONE_ACL (13.0) */
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO, COWCOPY_PRESERVE_MODE);
    cowcopy_result res;
    const char *dst = path_in(dir, "dst");
    int r = cowcopy_file_copy(src, dst, &o, &res);
    CHECK_OK(darwin_sim_set_os_version(15, 0));
    CHECK_EQ(r, 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_CLONED); /* cloned anyway, without the flag */
    CHECK_STR_EQ(res.fallback_call, "fclonefileat(CLONE_ACL)");
    CHECK_EQ(res.fallback_errno, EINVAL);
    CHECK(is_clone_of(dst, src));
    CHECK_EQ(oracle_acl_has_user(dst, 4321), 1); /* and the ACL copied after */
    /* A new kernel clones with the flag directly. */
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "dst2"), &o, &res), 0);
    CHECK(res.fallback_call == NULL);
    CHECK_EQ(oracle_acl_has_user(path_in(dir, "dst2"), 4321), 1);
}

static void test_in_place_cannot_clone(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 200000, 33);
    write_random(dst, 5000, 34);
    CHECK_OK(link(dst, path_in(dir, "other")));
    cowcopy_options o = opts_with(COWCOPY_REFLINK_ALWAYS, 0);
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), -ENOTSUP);
    CHECK_EQ(res.error.op, COWCOPY_OP_CLONE);
    write_random(path_in(dir, "expect"), 5000, 34);
    CHECK(same_content(dst, path_in(dir, "expect")));
    o.reflink = COWCOPY_REFLINK_AUTO;
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_COPIED);
    CHECK_STR_EQ(res.fallback_call, "fclonefileat");
    CHECK_EQ(res.fallback_errno, EEXIST);
    CHECK(same_content(src, path_in(dir, "other")));
}

static void test_clone_faults(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    write_random(src, 100000, 35);
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO, 0);
    cowcopy_result res;
    CHECK_EQ(cowcopy__fault_set("fclonefileat=ENOSPC"), 0);
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "a"), &o, &res), -ENOSPC); /* no fallback */
    CHECK_EQ(res.error.op, COWCOPY_OP_CLONE);
    CHECK_EQ(cowcopy__fault_set("fclonefileat=ENOTSUP"), 0);
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "b"), &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_COPIED);
    CHECK_STR_EQ(res.fallback_call, "fclonefileat");
    CHECK_EQ(res.fallback_errno, ENOTSUP);
    CHECK(same_content(src, path_in(dir, "b")));
    o.reflink = COWCOPY_REFLINK_ALWAYS;
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "c"), &o, &res), -ENOTSUP);
    CHECK_EQ(cowcopy__fault_set(""), 0);
    CHECK_EQ(count_entries(dir), 2); /* src and b: nothing else, nothing hidden */
}

struct statuses {
    int shared, skipped, already;
};

static void count_statuses(void *data, const cowcopy_dedupe_group *g)
{
    struct statuses *s = data;
    for (size_t i = 0; i < g->count; i++) {
        s->shared += g->status[i] == COWCOPY_DEDUPE_SHARED;
        s->skipped += g->status[i] == COWCOPY_DEDUPE_SKIPPED;
        s->already += g->status[i] == COWCOPY_DEDUPE_ALREADY;
    }
}

static void test_dedupe_replaces_with_verified_clones(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *tree = path_in(dir, "tree");
    CHECK_OK(mkdir(tree, 0755));
    const char *a = path_in(tree, "a"), *b = path_in(tree, "b"), *c = path_in(tree, "c");
    const char *d = path_in(tree, "d"), *e = path_in(tree, "e");
    write_random(a, 400000, 36);
    write_random(b, 400000, 36);
    write_random(c, 400000, 36);
    write_random(d, 400000, 36);
    write_random(e, 400000, 36);
    /* a and its clone form the largest cluster: a is the group's source. */
    cowcopy_options co = opts_with(COWCOPY_REFLINK_ALWAYS, 0);
    cowcopy_result cr;
    CHECK_EQ(cowcopy_file_copy(a, path_in(tree, "a-clone"), &co, &cr), 0);
    CHECK_OK(link(c, path_in(tree, "c-link")));     /* other links: never replaced */
    CHECK_OK(chflags(d, UF_COMPRESSED));            /* compressed: never replaced */
    CHECK_OK(chmod(e, 0640));                       /* e's own metadata must survive */
    CHECK_OK(chown(e, 1234, 5678));
    CHECK_OK(setxattr(e, "note", "mine", 4, 0, 0));
    set_crtime(e, 900000000, 7);
    struct timespec times[2] = {{1000000001, 3}, {1000000002, 4}};
    CHECK_OK(utimensat(AT_FDCWD, e, times, 0));
    CHECK_OK(chflags(e, UF_HIDDEN));
    struct stat b_before, c_before, e_before;
    CHECK_OK(stat(b, &b_before));
    CHECK_OK(stat(c, &c_before));
    CHECK_OK(stat(e, &e_before));
    uint32_t e_flags;
    struct timespec e_crtime;
    bsd_attrs(e, &e_flags, &e_crtime);

    cowcopy_dedupe_options o;
    cowcopy_dedupe_options_init(&o);
    struct statuses st = {0};
    o.on_group = count_statuses;
    o.group_data = &st;
    cowcopy_dedupe_stats s;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), 0);
    CHECK_EQ(s.files_deduped, 2); /* b and e */
    CHECK_EQ(st.shared, 2);
    CHECK_EQ(st.skipped, 2);     /* c (two links) and d (compressed) */
    CHECK_EQ(st.already, 1);     /* a's clone */
    /* Shared now, content unchanged, a new inode (Darwin's documented cost). */
    CHECK(is_clone_of(b, a));
    CHECK(same_content(a, b));
    struct stat now;
    CHECK_OK(stat(b, &now));
    CHECK(now.st_ino != b_before.st_ino);
    CHECK_EQ(now.st_mode, b_before.st_mode);
    CHECK_EQ(now.st_mtim.tv_nsec, b_before.st_mtim.tv_nsec);
    /* e kept everything of its own. */
    CHECK_OK(stat(e, &now));
    CHECK_EQ(now.st_mode & 07777, 0640);
    CHECK_EQ(now.st_uid, 1234);
    CHECK_EQ(now.st_gid, 5678);
    CHECK_EQ(now.st_mtim.tv_sec, 1000000002);
    CHECK_EQ(now.st_mtim.tv_nsec, 4);
    char value[16];
    CHECK_EQ(getxattr(e, "note", value, sizeof value, 0, 0), 4);
    uint32_t flags;
    struct timespec crtime;
    bsd_attrs(e, &flags, &crtime);
    CHECK_EQ(flags, e_flags);
    CHECK_EQ(crtime.tv_sec, 900000000);
    CHECK_EQ(crtime.tv_nsec, 7);
    /* c (two links) and d (compressed) were left alone. */
    CHECK_OK(stat(c, &now));
    CHECK_EQ(now.st_ino, c_before.st_ino);
    CHECK_EQ(now.st_nlink, 2);
    CHECK(!shares_any_block(c, a));
    CHECK(!shares_any_block(d, a));
    CHECK_EQ(count_entries(tree), 7); /* no hidden temporary left */
}

static void test_dedupe_min_age(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *tree = path_in(dir, "tree");
    CHECK_OK(mkdir(tree, 0755));
    write_random(path_in(tree, "x"), 100000, 37);
    write_random(path_in(tree, "y"), 100000, 37);
    cowcopy_dedupe_options o;
    cowcopy_dedupe_options_init(&o);
    o.min_age = 3600; /* both were written just now */
    cowcopy_dedupe_stats s;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), 0);
    CHECK_EQ(s.files_scanned, 2);
    CHECK_EQ(s.files_deduped, 0);
    CHECK(!shares_any_block(path_in(tree, "x"), path_in(tree, "y")));
    o.min_age = 0;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), 0);
    CHECK_EQ(s.files_deduped, 1);
}

static void test_dedupe_where_no_clone(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *tree = path_in(dir, "tree");
    CHECK_OK(mkdir(tree, 0755));
    write_random(path_in(tree, "x"), 100000, 38);
    write_random(path_in(tree, "y"), 100000, 38);
    cowcopy_dedupe_stats s;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, NULL, &s), -ENOTSUP);
    CHECK_EQ(s.errors, 1);
    CHECK_EQ(s.bytes_read, 0);
}

static const struct harness_case cases[] = {
    {"clone_metadata_matches_options", test_clone_metadata_matches_options, FS_COW | DARWIN_ONLY},
    {"old_kernel_without_clone_acl", test_old_kernel_without_clone_acl, FS_COW | DARWIN_ONLY},
    {"in_place_cannot_clone", test_in_place_cannot_clone, FS_BTRFS | DARWIN_ONLY},
    {"clone_faults", test_clone_faults, FS_XFS | DARWIN_ONLY},
    {"dedupe_replaces_with_verified_clones", test_dedupe_replaces_with_verified_clones,
     FS_COW | DARWIN_ONLY},
    {"dedupe_min_age", test_dedupe_min_age, FS_XFS | DARWIN_ONLY},
    {"dedupe_where_no_clone", test_dedupe_where_no_clone, FS_EXT4 | DARWIN_ONLY},
};
#else
static const struct harness_case cases[] = {
    {"none", NULL, DARWIN_ONLY}, /* the Linux build runs no Darwin cases */
};
#endif

int main(void)
{
    return harness_main(cases, sizeof cases / sizeof cases[0]);
}
