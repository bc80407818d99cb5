/*
 * test_file.c - the single-file copy (cowcopy_file_copy) on real
 * filesystems: clones proven by extents, fallbacks, destination rules,
 * metadata, and failures injected through the platform call table.
 */
#include "harness.h"

#include "cowcopy.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static cowcopy_options opts_with(int reflink)
{
    cowcopy_options o;
    cowcopy_options_init(&o);
    o.reflink = reflink;
    return o;
}

static void fault(const char *spec)
{
    CHECK_EQ(cowcopy__fault_set(spec), 0);
}

static ino_t inode_of(const char *path)
{
    struct stat st;
    CHECK_OK(lstat(path, &st));
    return st.st_ino;
}

static void run(const char *cmd)
{
    int r = system(cmd);
    if (r != 0)
        harness_fail(__FILE__, __LINE__, "command failed (%d): %s", r, cmd);
}

/* ------------------------------------------------------------ the ladder */

static void test_clone_shares_extents(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 8 << 20, 1);
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), 0);
    CHECK_STR_EQ(cowcopy_method_name(res.method), "cloned");
    CHECK_EQ(res.bytes, 8 << 20);
    CHECK_EQ(res.fallback_errno, 0);
    CHECK(is_clone_of(dst, src));
    CHECK(same_content(src, dst));
    CHECK_EQ(count_entries(dir), 2);

    /* ALWAYS clones too; NEVER shares nothing. */
    o.reflink = COWCOPY_REFLINK_ALWAYS;
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "always"), &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_CLONED);
    CHECK(is_clone_of(path_in(dir, "always"), src));
    o.reflink = COWCOPY_REFLINK_NEVER;
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "never"), &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_COPIED);
    CHECK(!shares_any_block(path_in(dir, "never"), src));
    CHECK(same_content(src, path_in(dir, "never")));
}

static void test_auto_copies_where_no_clone(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, (3 << 20) + 17, 2);
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), 0);
    CHECK(res.method == COWCOPY_METHOD_COPIED || res.method == COWCOPY_METHOD_OFFLOADED);
    CHECK_STR_EQ(res.fallback_call, CLONE_CALL);
    CHECK(res.fallback_errno != 0);
    CHECK(same_content(src, dst));
}

static void test_always_fails_cleanly_where_no_clone(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 1 << 20, 3);
    cowcopy_options o = opts_with(COWCOPY_REFLINK_ALWAYS);
    cowcopy_result res;
    int r = cowcopy_file_copy(src, dst, &o, &res);
    CHECK(r < 0);
    CHECK_EQ(res.error.code, r);
    CHECK_EQ(res.error.op, COWCOPY_OP_CLONE);
    CHECK_STR_EQ(res.error.call, CLONE_CALL);
    CHECK(res.error.fs != NULL);
    CHECK(!exists(dst));
    CHECK_EQ(count_entries(dir), 1); /* no stray temporary */

    /* An existing destination is left exactly as it was. */
    write_text(dst, "old content");
    ino_t ino = inode_of(dst);
    CHECK(cowcopy_file_copy(src, dst, &o, &res) < 0);
    CHECK_EQ(inode_of(dst), ino);
    write_text(path_in(dir, "expect"), "old content");
    CHECK(same_content(dst, path_in(dir, "expect")));
    CHECK_EQ(count_entries(dir), 3);
}

static void test_cross_filesystem(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *xfs_dir = harness_dir_on("xfs");
    const char *src = path_in(dir, "src"), *dst = path_in(xfs_dir, "dst");
    write_random(src, 2 << 20, 4);
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), 0);
    CHECK(res.method == COWCOPY_METHOD_COPIED || res.method == COWCOPY_METHOD_OFFLOADED);
    CHECK_EQ(res.fallback_errno, EXDEV);
    CHECK(same_content(src, dst));
    o.reflink = COWCOPY_REFLINK_ALWAYS;
    CHECK_EQ(cowcopy_file_copy(src, path_in(xfs_dir, "always"), &o, &res), -EXDEV);
    CHECK(!exists(path_in(xfs_dir, "always")));
    CHECK_EQ(count_entries(xfs_dir), 1);
}

/* A 1 GiB file with 2 MiB of data, copied by every method, stays sparse. */
static void test_sparse_stays_sparse(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "sparse");
    int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    static char block[1 << 20];
    memset(block, 'x', sizeof block);
    CHECK_EQ(pwrite(fd, block, sizeof block, 100 << 20), sizeof block);
    CHECK_EQ(pwrite(fd, block, sizeof block, 900 << 20), sizeof block);
    CHECK_OK(ftruncate(fd, 1 << 30));
    close(fd);
    static const int modes[] = {COWCOPY_REFLINK_AUTO, COWCOPY_REFLINK_NEVER};
    for (int i = 0; i < 2; i++) {
        const char *dst = path_in(dir, i ? "never" : "auto");
        cowcopy_options o = opts_with(modes[i]);
        cowcopy_result res;
        CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), 0);
        struct stat st;
        CHECK_OK(stat(dst, &st));
        CHECK_EQ(st.st_size, 1 << 30);
        CHECK(allocated_bytes(dst) <= 8 << 20);
        if (res.method != COWCOPY_METHOD_CLONED)
            CHECK_EQ(res.hole_bytes, (1 << 30) - (2 << 20));
        CHECK(same_content(src, dst));
    }
}

static void test_empty_and_tiny_files(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    write_text(path_in(dir, "empty"), "");
    write_text(path_in(dir, "tiny"), "hi\n");
    for (int mode = COWCOPY_REFLINK_AUTO; mode <= COWCOPY_REFLINK_NEVER; mode++) {
        if (mode == COWCOPY_REFLINK_ALWAYS)
            continue;
        cowcopy_options o = opts_with(mode);
        cowcopy_result res;
        CHECK_EQ(cowcopy_file_copy(path_in(dir, "empty"), path_in(dir, "e2"), &o, &res), 0);
        CHECK(same_content(path_in(dir, "empty"), path_in(dir, "e2")));
        CHECK_EQ(res.bytes, 0);
        CHECK_EQ(cowcopy_file_copy(path_in(dir, "tiny"), path_in(dir, "t2"), &o, &res), 0);
        CHECK(same_content(path_in(dir, "tiny"), path_in(dir, "t2")));
        unlink(path_in(dir, "e2"));
        unlink(path_in(dir, "t2"));
    }
}

static void test_pseudo_file_copied_by_content(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *dst = path_in(dir, "version");
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy("/proc/version", dst, NULL, &res), 0);
    struct stat st;
    CHECK_OK(stat("/proc/version", &st));
    CHECK_EQ(st.st_size, 0); /* the size lies */
    CHECK(res.bytes > 10);
    CHECK(same_content("/proc/version", dst));
}

/* ------------------------------------------------------ injected faults */

static void test_enospc_leaves_nothing(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 8 << 20, 5);
    cowcopy_options o = opts_with(COWCOPY_REFLINK_NEVER);
    cowcopy_result res;
    fault("pwrite@3=ENOSPC");
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), -ENOSPC);
    CHECK_EQ(res.error.op, COWCOPY_OP_WRITE);
    CHECK(!exists(dst));
    CHECK_EQ(count_entries(dir), 1);

    /* An existing destination keeps its old content and inode. */
    write_text(dst, "precious");
    ino_t ino = inode_of(dst);
    fault("pwrite@3=ENOSPC");
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), -ENOSPC);
    CHECK_EQ(inode_of(dst), ino);
    write_text(path_in(dir, "expect"), "precious");
    CHECK(same_content(dst, path_in(dir, "expect")));
    CHECK_EQ(count_entries(dir), 3);

    /* Without O_TMPFILE (the 3rd openat: parent, source, temporary), the
     * hidden temporary name is removed on failure too. (The Darwin backend
     * has only hidden names: the cases above were that already.) */
    unlink(dst);
    fault(DARWIN_BACKEND ? "pwrite@3=ENOSPC" : "openat@3=EOPNOTSUPP,pwrite@3=ENOSPC");
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), -ENOSPC);
    CHECK(!exists(dst));
    CHECK_EQ(count_entries(dir), 2);

    /* ENOSPC from the clone itself is fatal in AUTO: no fallback. */
    fault(DARWIN_BACKEND ? "fclonefileat=ENOSPC" : "ficlone=ENOSPC");
    o.reflink = COWCOPY_REFLINK_AUTO;
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), -ENOSPC);
    CHECK_EQ(res.error.op, COWCOPY_OP_CLONE);
    CHECK(!exists(dst));
}

static void test_named_temporary_path(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 3 << 20, 6);
    cowcopy_result res;
    const char *no_tmpfile = DARWIN_BACKEND ? "" : "openat@3=EOPNOTSUPP"; /* Darwin: always */
    fault(no_tmpfile);
    CHECK_EQ(cowcopy_file_copy(src, dst, NULL, &res), 0);
    CHECK(same_content(src, dst));
    CHECK_EQ(count_entries(dir), 2);
    write_random(src, 1 << 20, 7);
    fault(no_tmpfile);
    CHECK_EQ(cowcopy_file_copy(src, dst, NULL, &res), 0); /* replace via rename */
    CHECK(same_content(src, dst));
    CHECK_EQ(count_entries(dir), 2);
}

static void test_eintr_and_short_transfers(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    write_random(src, (5 << 20) + 12345, 8);
    cowcopy_options o = opts_with(COWCOPY_REFLINK_NEVER);
    cowcopy_result res;
    fault("pwrite%2=short,pread%3=EINTR,pwrite%5=EINTR,pread%4=short");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "rw"), &o, &res), 0);
    CHECK(same_content(src, path_in(dir, "rw")));
    if (DARWIN_BACKEND)
        return; /* no copy_file_range there */
    /* The offload path too (the clone refused so copy_file_range runs). */
    o.reflink = COWCOPY_REFLINK_AUTO;
    fault("ficlone@1=EINTR,ficlone=EOPNOTSUPP,copy_file_range@1=short,copy_file_range@2=EINTR,"
          "copy_file_range@3=short");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "cfr"), &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_OFFLOADED);
    CHECK(same_content(src, path_in(dir, "cfr")));
}

static void test_fallback_reasons(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    write_random(src, 1 << 20, 9);
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    cowcopy_result res;
    fault("ficlone=EOPNOTSUPP");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "a"), &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_OFFLOADED);
    CHECK_STR_EQ(res.fallback_call, "FICLONE");
    CHECK_EQ(res.fallback_errno, EOPNOTSUPP);
    fault("ficlone=EINVAL,copy_file_range=EXDEV");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "b"), &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_COPIED);
    CHECK(same_content(src, path_in(dir, "b")));
    /* After the first offloaded byte an error is an error, not a fallback. */
    write_random(src, 3 << 20, 9);
    fault("ficlone=EINVAL,copy_file_range@1=short,copy_file_range@2=EXDEV");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "c"), &o, &res), -EXDEV);
    CHECK_EQ(res.error.op, COWCOPY_OP_COPY);
    CHECK(!exists(path_in(dir, "c")));
    /* ENOSYS is remembered: the second copy must not call copy_file_range
     * (if it did, the injected EIO would fail it). */
    fault("ficlone=EINVAL,copy_file_range@1=ENOSYS,copy_file_range@2+=EIO");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "d"), &o, &res), 0);
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "e"), &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_COPIED);
    CHECK(same_content(src, path_in(dir, "e")));
}

static void test_commit_failures_leave_nothing(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 1 << 20, 10);
    cowcopy_result res;
    fault(DARWIN_BACKEND ? "renameatx_np=EIO" : "linkat=EIO"); /* how a new file is put in place */
    CHECK_EQ(cowcopy_file_copy(src, dst, NULL, &res), -EIO);
    CHECK(!exists(dst));
    CHECK_EQ(count_entries(dir), 1);
    /* linkat(AT_EMPTY_PATH) refused as without CAP_DAC_READ_SEARCH: the
     * unnamed file is linked through /proc/self/fd instead, and from then
     * on only so: the next copy's first linkat is the /proc one, whose
     * ENOENT is then the copy's error (AT_EMPTY_PATH first would have
     * gone on to the /proc link and met the EIO). */
    if (!DARWIN_BACKEND) { /* O_TMPFILE's links; Darwin has hidden names only */
        fault("linkat@1=ENOENT");
        CHECK_EQ(cowcopy_file_copy(src, dst, NULL, &res), 0);
        CHECK(same_content(src, dst));
        unlink(dst);
        fault("linkat@1=ENOENT,linkat@2+=EIO");
        CHECK_EQ(cowcopy_file_copy(src, dst, NULL, &res), -ENOENT);
        CHECK(!exists(dst));
        CHECK_EQ(count_entries(dir), 1);
    }
    write_text(dst, "keep");
    fault("renameat=EIO");
    CHECK_EQ(cowcopy_file_copy(src, dst, NULL, &res), -EIO);
    CHECK_EQ(res.error.op, COWCOPY_OP_COMMIT);
    write_text(path_in(dir, "expect"), "keep");
    CHECK(same_content(dst, path_in(dir, "expect")));
    CHECK_EQ(count_entries(dir), 3);
    /* --fsync really syncs: a failing fsync fails the copy. */
    unlink(path_in(dir, "expect"));
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    o.flags = COWCOPY_FSYNC;
    fault("fsync=EIO");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "synced"), &o, &res), -EIO);
    CHECK_EQ(res.error.op, COWCOPY_OP_SYNC);
    CHECK(!exists(path_in(dir, "synced")));
    fault("");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "synced"), &o, &res), 0);
    CHECK(same_content(src, path_in(dir, "synced")));
}

/* ------------------------------------------------------- destinations */

static void test_replace_keeps_old_attributes(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 200000, 11);
    CHECK_OK(chmod(src, 0755));
    write_text(dst, "old");
    CHECK_OK(chown(dst, 1234, 5678));
    CHECK_OK(chmod(dst, 0640));
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "setfacl -m u:4321:rw '%s'", dst);
    run(cmd);
    char old_acl[256], new_acl[256];
    ssize_t old_len = getxattr(dst, "system.posix_acl_access", old_acl, sizeof old_acl);
    CHECK(old_len > 0);
    struct stat before;
    CHECK_OK(stat(dst, &before));
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(src, dst, NULL, &res), 0);
    struct stat after;
    CHECK_OK(stat(dst, &after));
    CHECK(after.st_ino != before.st_ino); /* replaced, not rewritten */
    CHECK(same_content(src, dst));
    CHECK_EQ(after.st_mode & 07777, before.st_mode & 07777);
    CHECK_EQ(after.st_uid, 1234);
    CHECK_EQ(after.st_gid, 5678);
    ssize_t new_len = getxattr(dst, "system.posix_acl_access", new_acl, sizeof new_acl);
    CHECK_EQ(new_len, old_len);
    CHECK(memcmp(old_acl, new_acl, (size_t)old_len) == 0);
    CHECK_EQ(count_entries(dir), 2);

    /* With -p the source's attributes win. */
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    o.preserve = COWCOPY_PRESERVE_MODE | COWCOPY_PRESERVE_OWNERSHIP | COWCOPY_PRESERVE_TIMESTAMPS;
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), 0);
    CHECK_OK(stat(dst, &after));
    CHECK_EQ(after.st_mode & 07777, 0755);
    CHECK_EQ(after.st_uid, 0);
    CHECK(getxattr(dst, "system.posix_acl_access", new_acl, sizeof new_acl) < 0);
}

static void test_hard_linked_dest_written_in_place(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst"), *other = path_in(dir, "other");
    write_random(src, 300000, 12);
    write_random(dst, 5 << 20, 13); /* longer than the source */
    CHECK_OK(link(dst, other));
    ino_t ino = inode_of(dst);
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(src, dst, NULL, &res), 0);
    CHECK_EQ(inode_of(dst), ino);
    CHECK(same_content(src, dst));
    CHECK(same_content(src, other));
    if (fs->can_clone && !DARWIN_BACKEND) /* Darwin clones only into new files */
        CHECK(is_clone_of(dst, src));
    /* The same through the fallback copy. */
    cowcopy_options o = opts_with(COWCOPY_REFLINK_NEVER);
    write_random(dst, 5 << 20, 14);
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), 0);
    CHECK(same_content(src, other));
    /* ALWAYS that cannot clone leaves the linked file untouched. */
    if (!fs->can_clone || DARWIN_BACKEND) {
        write_random(dst, 4096, 15);
        write_random(path_in(dir, "expect"), 4096, 15);
        o.reflink = COWCOPY_REFLINK_ALWAYS;
        CHECK(cowcopy_file_copy(src, dst, &o, &res) < 0);
        CHECK(same_content(other, path_in(dir, "expect")));
    }
}

static void test_symlink_dest_written_through(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *target = path_in(dir, "target");
    const char *link_path = path_in(dir, "link");
    write_random(src, 100000, 16);
    write_text(target, "old");
    CHECK_OK(symlink("target", link_path));
    ino_t ino = inode_of(target);
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(src, link_path, NULL, &res), 0);
    struct stat st;
    CHECK_OK(lstat(link_path, &st));
    CHECK(S_ISLNK(st.st_mode));
    CHECK_EQ(inode_of(target), ino);
    CHECK(same_content(src, target));
    /* A dangling symlink is refused (as cp does) unless forced. */
    CHECK_OK(symlink("nowhere", path_in(dir, "dangling")));
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "dangling"), NULL, &res), -ENOENT);
    CHECK_EQ(res.error.op, COWCOPY_OP_DANGLING_DEST);
    CHECK(!exists(path_in(dir, "nowhere")));
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    o.flags = COWCOPY_FORCE;
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "dangling"), &o, &res), 0);
    CHECK_OK(lstat(path_in(dir, "dangling"), &st));
    CHECK(S_ISREG(st.st_mode));
}

static void test_new_file_mode_follows_umask(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    write_text(src, "x");
    CHECK_OK(chmod(src, 06775));
    umask(022);
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "a"), NULL, &res), 0);
    struct stat st;
    CHECK_OK(stat(path_in(dir, "a"), &st));
    CHECK_EQ(st.st_mode & 07777, 0755);
    umask(077);
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "b"), NULL, &res), 0);
    CHECK_OK(stat(path_in(dir, "b"), &st));
    CHECK_EQ(st.st_mode & 07777, 0700);
    /* With -p the special bits come along. */
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    o.preserve = COWCOPY_PRESERVE_MODE | COWCOPY_PRESERVE_OWNERSHIP;
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "c"), &o, &res), 0);
    CHECK_OK(stat(path_in(dir, "c"), &st));
    CHECK_EQ(st.st_mode & 07777, 06775);
}

static void test_preserve_metadata(const struct harness_fs *fs, const char *dir)
{
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 70000, 17);
    CHECK_OK(chown(src, 1234, 5678));
    CHECK_OK(chmod(src, 0751));
    CHECK_OK(setxattr(src, "user.colour", "blue", 4, 0));
    CHECK_OK(setxattr(src, "user.empty", "", 0, 0));
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "setfacl -m u:4321:r,g:8765:rw '%s' && setcap cap_net_raw+ep '%s'",
             src, src);
    run(cmd);
    struct timespec times[2] = {{1234567890, 123456789}, {1300000000, 987654321}};
    CHECK_OK(utimensat(AT_FDCWD, src, times, 0));
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    o.preserve = COWCOPY_PRESERVE_ALL;
    o.preserve_required = COWCOPY_PRESERVE_ALL;
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), 0);
    struct stat s, d;
    CHECK_OK(stat(src, &s));
    CHECK_OK(stat(dst, &d));
    CHECK_EQ(d.st_mode, s.st_mode);
    CHECK_EQ(d.st_uid, 1234);
    CHECK_EQ(d.st_gid, 5678);
    CHECK_EQ(d.st_mtim.tv_sec, 1300000000);
    CHECK_EQ(d.st_mtim.tv_nsec, 987654321);
    CHECK_EQ(d.st_atim.tv_sec, 1234567890);
    CHECK_EQ(d.st_atim.tv_nsec, 123456789);
    static const char *const names[] = {"user.colour", "user.empty", "system.posix_acl_access",
                                        "security.capability"};
    /* Darwin has no file capabilities: the last name is Linux's alone. */
    for (size_t i = 0; i < (DARWIN_BACKEND ? 3u : 4u); i++) {
        char a[512], b[512];
        ssize_t na = getxattr(src, names[i], a, sizeof a);
        ssize_t nb = getxattr(dst, names[i], b, sizeof b);
        if (na < 0)
            harness_fail(__FILE__, __LINE__, "source lacks %s", names[i]);
        if (nb != na || memcmp(a, b, (size_t)na) != 0)
            harness_fail(__FILE__, __LINE__, "%s differs (%zd vs %zd bytes)", names[i], na, nb);
    }
    /* A failure to preserve that was asked for is an error, and leaves nothing. */
    fault("fchmod=EPERM");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "x"), &o, &res), -EPERM);
    CHECK_EQ(res.error.op, COWCOPY_OP_SET_MODE);
    CHECK(!exists(path_in(dir, "x")));
    /* A copy, not a clone: a Darwin clone carries its xattrs itself. */
    o.reflink = COWCOPY_REFLINK_NEVER;
    fault("fsetxattr=EOPNOTSUPP");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "x"), &o, &res), -EOPNOTSUPP);
    CHECK_EQ(res.error.op, COWCOPY_OP_SET_XATTR);
    CHECK(!exists(path_in(dir, "x")));
    /* ... but not when it was not required (cp -a on a filesystem without xattrs). */
    o.preserve_required = 0;
    fault("fsetxattr=EOPNOTSUPP");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "x"), &o, &res), 0);
    o.reflink = COWCOPY_REFLINK_AUTO;
    /* Where a clone's fstat shows the new file has the wanted owner already
     * (here root's own file), no fchown is made; a differing owner still is. */
    if (fs->bit & FS_COW) {
        const char *own = path_in(dir, "own");
        write_random(own, 5000, 18);
        o.preserve_required = COWCOPY_PRESERVE_ALL;
        fault("fchown=EPERM");
        CHECK_EQ(cowcopy_file_copy(own, path_in(dir, "own2"), &o, &res), 0);
        CHECK_EQ(res.method, COWCOPY_METHOD_CLONED);
        CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "y"), &o, &res), -EPERM);
        CHECK_EQ(res.error.op, COWCOPY_OP_SET_OWNER);
        CHECK(!exists(path_in(dir, "y")));
    }
}

/* COWCOPY_XATTR_SKIP_REFUSED: shutil.copystat's rule. An attribute refused
 * with EPERM, ENOTSUP, ENODATA or EINVAL is skipped even though xattrs (and
 * the mode, with its ACL) are required; any other error still fails. */
static void test_xattr_skip_refused(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    write_random(src, 5000, 23);
    CHECK_OK(setxattr(src, "user.one", "1", 1, 0));
    CHECK_OK(setxattr(src, "user.two", "22", 2, 0));
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "setfacl -m u:4321:r '%s'", src);
    run(cmd);
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    o.preserve = o.preserve_required =
        COWCOPY_PRESERVE_MODE | COWCOPY_PRESERVE_XATTR | COWCOPY_PRESERVE_TIMESTAMPS;
    o.flags = COWCOPY_XATTR_SKIP_REFUSED;
    cowcopy_result res;
    static const char *const refusals[] = {"EPERM", "EOPNOTSUPP", "ENODATA", "EINVAL"};
    for (size_t i = 0; i < 4; i++) {
        char spec[64], name[64];
        snprintf(spec, sizeof spec, "fsetxattr=%s", refusals[i]);
        snprintf(name, sizeof name, "all-%s", refusals[i]);
        fault(spec);
        CHECK_EQ(cowcopy_file_copy(src, path_in(dir, name), &o, &res), 0);
        fault("");
        char list[1024];
        CHECK_EQ(listxattr(path_in(dir, name), list, sizeof list), 0);
        struct stat st, src_st;
        CHECK_OK(stat(path_in(dir, name), &st));
        CHECK_OK(stat(src, &src_st));
        CHECK_EQ(st.st_mode, src_st.st_mode); /* the mode arrives without its ACL */
        CHECK_EQ(st.st_mtim.tv_nsec, src_st.st_mtim.tv_nsec);
    }
    /* One refused attribute is skipped, the others arrive. */
    fault("fsetxattr@2=EPERM");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "one-refused"), &o, &res), 0);
    fault("");
    char list[1024];
    ssize_t n = listxattr(path_in(dir, "one-refused"), list, sizeof list);
    int names = 0;
    for (ssize_t off = 0; off < n; off += (ssize_t)strlen(list + off) + 1)
        names++;
    CHECK_EQ(names, 2);
    /* Other errors still fail, for the ACL (mode) and the rest alike. */
    fault("fsetxattr=ENOSPC");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "x"), &o, &res), -ENOSPC);
    fault("");
    CHECK(res.error.op == COWCOPY_OP_SET_XATTR || res.error.op == COWCOPY_OP_SET_MODE);
    CHECK(!exists(path_in(dir, "x")));
    fault("fgetxattr=EIO");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "x"), &o, &res), -EIO);
    fault("");
    CHECK(!exists(path_in(dir, "x")));
    /* Without the flag, a refusal fails as before. */
    o.flags = 0;
    fault("fsetxattr=EPERM");
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "x"), &o, &res), -EPERM);
    fault("");
    CHECK(!exists(path_in(dir, "x")));
    /* Unknown flag bits are still refused. */
    o.flags = COWCOPY_FLAGS_ALL + 1;
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "x"), &o, &res), -EINVAL);
}

static void test_no_clobber_and_refusals(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_text(src, "new");
    write_text(dst, "old");
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    o.flags = COWCOPY_NO_CLOBBER;
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_SKIPPED);
    write_text(path_in(dir, "expect"), "old");
    CHECK(same_content(dst, path_in(dir, "expect")));

    CHECK_EQ(cowcopy_file_copy(src, src, NULL, &res), -EINVAL);
    CHECK_EQ(res.error.op, COWCOPY_OP_SAME_FILE);
    CHECK_OK(link(src, path_in(dir, "hard")));
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "hard"), NULL, &res), -EINVAL);
    CHECK_EQ(res.error.op, COWCOPY_OP_SAME_FILE);

    CHECK_OK(mkdir(path_in(dir, "sub"), 0755));
    CHECK_EQ(cowcopy_file_copy(path_in(dir, "sub"), path_in(dir, "d2"), NULL, &res), -EISDIR);
    CHECK_EQ(res.error.op, COWCOPY_OP_OMIT_DIR);
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "sub"), NULL, &res), -EISDIR);
    CHECK_EQ(res.error.op, COWCOPY_OP_OVERWRITE_DIR);
    CHECK_EQ(cowcopy_file_copy(path_in(dir, "missing"), path_in(dir, "m2"), NULL, &res), -ENOENT);
    CHECK_EQ(res.error.op, COWCOPY_OP_STAT_SOURCE);
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "nodir/x"), NULL, &res), -ENOENT);
    CHECK_EQ(res.error.op, COWCOPY_OP_CREATE_DEST);

    o.flags = 0x8000;
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "z"), &o, &res), -EINVAL);
    o.flags = 0;
    o.reflink = 7;
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "z"), &o, &res), -EINVAL);
    o.reflink = 0;
    o.preserve = 0x100;
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "z"), &o, &res), -EINVAL);
    CHECK(!exists(path_in(dir, "z")));
}

static void test_symlink_source_as_link(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    write_text(path_in(dir, "target"), "t");
    CHECK_OK(symlink("target", path_in(dir, "link")));
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    o.flags = COWCOPY_NO_DEREFERENCE;
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(path_in(dir, "link"), path_in(dir, "copy"), &o, &res), 0);
    CHECK_EQ(res.method, COWCOPY_METHOD_SYMLINK);
    char buf[64];
    ssize_t n = readlink(path_in(dir, "copy"), buf, sizeof buf - 1);
    CHECK_EQ(n, 6);
    buf[n] = '\0';
    CHECK_STR_EQ(buf, "target");
    /* Replacing an existing file with the link is atomic (no stray names). */
    write_text(path_in(dir, "file"), "f");
    CHECK_EQ(cowcopy_file_copy(path_in(dir, "link"), path_in(dir, "file"), &o, &res), 0);
    struct stat st;
    CHECK_OK(lstat(path_in(dir, "file"), &st));
    CHECK(S_ISLNK(st.st_mode));
    CHECK_EQ(count_entries(dir), 4);
    /* Followed by default. */
    CHECK_EQ(cowcopy_file_copy(path_in(dir, "link"), path_in(dir, "deref"), NULL, &res), 0);
    CHECK_OK(lstat(path_in(dir, "deref"), &st));
    CHECK(S_ISREG(st.st_mode));
}

static void test_permission_refusals(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "secret"), *ro = path_in(dir, "ro");
    write_text(src, "secret");
    CHECK_OK(chmod(src, 0600));
    write_text(path_in(dir, "public"), "public");
    CHECK_OK(chmod(path_in(dir, "public"), 0644));
    CHECK_OK(mkdir(ro, 0755));
    CHECK_OK(chmod(dir, 0777));
    write_text(path_in(dir, "theirs"), "theirs");
    CHECK_OK(chmod(path_in(dir, "theirs"), 0644));
    become_nobody();
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(src, path_in(dir, "out"), NULL, &res), -EACCES);
    CHECK_EQ(res.error.op, COWCOPY_OP_OPEN_SOURCE);
    CHECK(!exists(path_in(dir, "out")));
    CHECK_EQ(cowcopy_file_copy(path_in(dir, "public"), path_in(ro, "x"), NULL, &res), -EACCES);
    CHECK_EQ(res.error.op, COWCOPY_OP_CREATE_DEST);
    CHECK_EQ(count_entries(ro), 0);
    /* A destination we may not write is refused as cp refuses it... */
    CHECK_EQ(cowcopy_file_copy(path_in(dir, "public"), path_in(dir, "theirs"), NULL, &res),
             -EACCES);
    CHECK_EQ(res.error.op, COWCOPY_OP_CREATE_DEST);
    /* ... and replaced with -f (the directory is writable). */
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    o.flags = COWCOPY_FORCE;
    CHECK_EQ(cowcopy_file_copy(path_in(dir, "public"), path_in(dir, "theirs"), &o, &res), 0);
    CHECK(same_content(path_in(dir, "public"), path_in(dir, "theirs")));
}

/* An unprivileged user copies a read-only file's extended attributes: the
 * kernel wants write permission on the new inode to set them (as cp knows). */
static void test_xattrs_of_read_only_file(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    write_text(src, "read only");
    CHECK_OK(setxattr(src, "user.origin", "web", 3, 0));
    CHECK_OK(chmod(src, 0444));
    CHECK_OK(chown(src, 65534, 65534));
    CHECK_OK(chmod(dir, 0777));
    become_nobody();
    umask(022);
    cowcopy_options o = opts_with(COWCOPY_REFLINK_AUTO);
    cowcopy_result res;
    for (int with_mode = 0; with_mode < 2; with_mode++) {
        const char *dst = path_in(dir, with_mode ? "with_mode" : "xattr_only");
        o.preserve = COWCOPY_PRESERVE_XATTR | (with_mode ? COWCOPY_PRESERVE_MODE : 0u);
        o.preserve_required = o.preserve;
        CHECK_EQ(cowcopy_file_copy(src, dst, &o, &res), 0);
        char value[16];
        CHECK_EQ(getxattr(dst, "user.origin", value, sizeof value), 3);
        CHECK(memcmp(value, "web", 3) == 0);
        struct stat st;
        CHECK_OK(stat(dst, &st));
        CHECK_EQ(st.st_mode & 07777, 0444);
    }
}

/* A destination ending in "/" that is no directory is an error (ENOTDIR,
 * as cp says), but the source's own problems are reported first, as cp does. */
static void test_source_errors_before_trailing_slash(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *sub = path_in(dir, "sub");
    write_text(src, "data");
    CHECK_OK(mkdir(sub, 0755));
    char slashed[4096];
    snprintf(slashed, sizeof slashed, "%s/", path_in(dir, "nonexistent"));
    cowcopy_result res;
    CHECK_EQ(cowcopy_file_copy(path_in(dir, "missing"), slashed, NULL, &res), -ENOENT);
    CHECK_EQ(res.error.op, COWCOPY_OP_STAT_SOURCE);
    CHECK_EQ(cowcopy_file_copy(sub, slashed, NULL, &res), -EISDIR);
    CHECK_EQ(res.error.op, COWCOPY_OP_OMIT_DIR);
    CHECK_EQ(cowcopy_file_copy(src, slashed, NULL, &res), -ENOTDIR);
    CHECK_EQ(res.error.op, COWCOPY_OP_CREATE_DEST);
    snprintf(slashed, sizeof slashed, "%s/", sub);
    CHECK_EQ(cowcopy_file_copy(src, slashed, NULL, &res), -EISDIR);
    CHECK_EQ(res.error.op, COWCOPY_OP_OVERWRITE_DIR);
    CHECK(!exists(path_in(dir, "nonexistent")));
}

static const struct harness_case cases[] = {
    {"clone_shares_extents", test_clone_shares_extents, FS_COW},
    {"auto_copies_where_no_clone", test_auto_copies_where_no_clone, FS_NOCOW | FS_XFS_NOREFLINK},
    {"always_fails_cleanly_where_no_clone", test_always_fails_cleanly_where_no_clone,
     FS_NOCOW | FS_XFS_NOREFLINK},
    {"cross_filesystem", test_cross_filesystem, FS_ONCE},
    {"sparse_stays_sparse", test_sparse_stays_sparse, FS_ALL},
    {"empty_and_tiny_files", test_empty_and_tiny_files, FS_ALL},
    {"pseudo_file_copied_by_content", test_pseudo_file_copied_by_content, FS_EXT4},
    {"enospc_leaves_nothing", test_enospc_leaves_nothing, FS_ALL},
    {"named_temporary_path", test_named_temporary_path, FS_ALL},
    {"eintr_and_short_transfers", test_eintr_and_short_transfers, FS_ALL},
    {"fallback_reasons", test_fallback_reasons, FS_ALL | LINUX_ONLY}, /* FICLONE, copy_file_range */
    {"commit_failures_leave_nothing", test_commit_failures_leave_nothing, FS_ALL},
    {"replace_keeps_old_attributes", test_replace_keeps_old_attributes, FS_ALL},
    {"hard_linked_dest_written_in_place", test_hard_linked_dest_written_in_place, FS_ALL},
    {"symlink_dest_written_through", test_symlink_dest_written_through, FS_ALL},
    {"new_file_mode_follows_umask", test_new_file_mode_follows_umask, FS_ALL},
    {"preserve_metadata", test_preserve_metadata, FS_ALL},
    /* Linux's xattr code; the Darwin rule is tested by the Python shutil suite. */
    {"xattr_skip_refused", test_xattr_skip_refused, FS_BTRFS | FS_EXT4 | LINUX_ONLY},
    {"no_clobber_and_refusals", test_no_clobber_and_refusals, FS_ALL},
    {"symlink_source_as_link", test_symlink_source_as_link, FS_ALL},
    {"permission_refusals", test_permission_refusals, FS_ALL},
    {"xattrs_of_read_only_file", test_xattrs_of_read_only_file, FS_BTRFS | FS_EXT4 | FS_TMPFS},
    {"source_errors_before_trailing_slash", test_source_errors_before_trailing_slash, FS_ONCE},
};

int main(void)
{
    return harness_main(cases, sizeof cases / sizeof cases[0]);
}
