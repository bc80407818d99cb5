/*
 * test_sim.c - tests of the simulated Darwin layer itself, against the
 * man pages' and xnu's documented behaviour (shared/darwin-reference.md):
 * clonefile(2), copyfile(3), fcntl(2) F_LOG2PHYS(_EXT), getattrlist(2),
 * setattrlist(2), chflags(2), the xattr calls and renamex_np(2), on the
 * scratch btrfs, XFS (with and without reflink), ext4 and tmpfs.
 *
 * This file is Darwin code: it is built like the backend will be (-include
 * darwin-sim.h, the Darwin headers of include/), so it also proves that
 * Darwin code compiles unchanged against the simulation. Linux's own view
 * (xattr names, btime, ACL entries) comes from the oracle in
 * test_sim_linux.c; extents from the harness's FIEMAP reader.
 */
#include "harness.h"
#include "test_sim_oracle.h"

/* A call table declared before <sys/xattr.h>, as src/sys.h is: the renaming
 * of darwin-sim.h is already in force, so its member is the one the Darwin
 * fgetxattr fills (see test_layouts_and_values). */
struct call_table {
    ssize_t (*fgetxattr)(int fd, const char *name, void *value, size_t size,
                         u_int32_t position, int options);
};

#include <copyfile.h>
#include <sys/attr.h>
#include <sys/clonefile.h>
#include <sys/decmpfs.h>
#include <sys/vnode.h>
#include <sys/xattr.h>
#include <TargetConditionals.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK_ERR(expr, e)                                                                    \
    do {                                                                                      \
        errno = 0;                                                                            \
        long long r_ = (long long)(expr);                                                     \
        int e_ = errno;                                                                       \
        if (r_ != -1 || e_ != (e))                                                            \
            harness_fail(__FILE__, __LINE__, "%s: want -1/%s (%d), got %lld/%d (%s)", #expr,  \
                         #e, (int)(e), r_, e_, strerror(e_));                                 \
    } while (0)

static void run(const char *cmd)
{
    int r = system(cmd);
    if (r != 0)
        harness_fail(__FILE__, __LINE__, "command failed (%d): %s", r, cmd);
}

static struct stat lstat_of(const char *path)
{
    struct stat st;
    CHECK_OK(lstat(path, &st));
    return st;
}

static uint32_t rd_u32(const void *buf, size_t off)
{
    uint32_t v;
    memcpy(&v, (const char *)buf + off, 4);
    return v;
}

static int64_t rd_i64(const void *buf, size_t off)
{
    int64_t v;
    memcpy(&v, (const char *)buf + off, 8);
    return v;
}

static struct attrlist attrs(attrgroup_t common, attrgroup_t vol, attrgroup_t file)
{
    struct attrlist al = {.bitmapcount = ATTR_BIT_MAP_COUNT};
    al.commonattr = common;
    al.volattr = vol;
    al.fileattr = file;
    return al;
}

/* getattrlist(ATTR_CMN_FLAGS). */
static uint32_t flags_of(const char *path, unsigned options)
{
    struct attrlist al = attrs(ATTR_CMN_FLAGS, 0, 0);
    unsigned char buf[64];
    CHECK_OK(getattrlist(path, &al, buf, sizeof buf, options));
    CHECK_EQ(rd_u32(buf, 0), 8);
    return rd_u32(buf, 4);
}

/* getattrlist(ATTR_CMN_CRTIME) as {sec, nsec}. */
static struct timespec crtime_of(const char *path)
{
    struct attrlist al = attrs(ATTR_CMN_CRTIME, 0, 0);
    unsigned char buf[64];
    CHECK_OK(getattrlist(path, &al, buf, sizeof buf, 0));
    CHECK_EQ(rd_u32(buf, 0), 20);
    return (struct timespec){.tv_sec = (time_t)rd_i64(buf, 4), .tv_nsec = (long)rd_i64(buf, 12)};
}

/* setattrlist(ATTR_CMN_CRTIME). */
static int set_crtime(const char *path, time_t sec, long nsec)
{
    struct attrlist al = attrs(ATTR_CMN_CRTIME, 0, 0);
    int64_t ts[2] = {sec, nsec};
    return setattrlist(path, &al, ts, sizeof ts, 0);
}

/* VOL_CAP_INT_CLONE of the volume holding path: -1 not valid, 0, 1. */
static int vol_can_clone(const char *path)
{
    struct attrlist al = attrs(0, ATTR_VOL_INFO | ATTR_VOL_CAPABILITIES, 0);
    unsigned char buf[64];
    CHECK_OK(getattrlist(path, &al, buf, sizeof buf, 0));
    CHECK_EQ(rd_u32(buf, 0), 4 + sizeof(vol_capabilities_attr_t));
    vol_capabilities_attr_t caps;
    memcpy(&caps, buf + 4, sizeof caps);
    if (!(caps.valid[VOL_CAPABILITIES_INTERFACES] & VOL_CAP_INT_CLONE))
        return -1;
    return (caps.capabilities[VOL_CAPABILITIES_INTERFACES] & VOL_CAP_INT_CLONE) != 0;
}

/* A subdirectory anyone may write, for cases that become nobody. */
static const char *open_dir(const char *dir, const char *name)
{
    const char *d = path_in(dir, name);
    CHECK_OK(mkdir(d, 0777));
    CHECK_OK(chmod(d, 0777));
    return d;
}

/* ================================================= headers and constants */

static void test_layouts_and_values(const struct harness_fs *fs, const char *dir)
{
    (void)fs, (void)dir;
    CHECK_EQ(sizeof(struct log2phys), 20);
    CHECK_EQ(offsetof(struct log2phys, l2p_flags), 0);
    CHECK_EQ(offsetof(struct log2phys, l2p_contigbytes), 4);
    CHECK_EQ(offsetof(struct log2phys, l2p_devoffset), 12);
    CHECK_EQ(sizeof(struct attrlist), 24);
    CHECK_EQ(sizeof(attribute_set_t), 20);
    CHECK_EQ(sizeof(attrreference_t), 8);
    CHECK_EQ(sizeof(vol_capabilities_attr_t), 32);
    CHECK_EQ(sizeof(fstore_t), 32);
    CHECK_EQ(sizeof(fpunchhole_t), 24);
    /* Darwin-only names carry Darwin's values ... */
    CHECK_EQ(ENOATTR, 93);
    CHECK_EQ(EFTYPE, 79);
    CHECK_EQ(F_LOG2PHYS, 49);
    CHECK_EQ(F_LOG2PHYS_EXT, 65);
    CHECK_EQ(F_PUNCHHOLE, 99);
    CHECK_EQ(XATTR_NOFOLLOW, 1);
    CHECK_EQ(XATTR_CREATE, 2);
    CHECK_EQ(XATTR_REPLACE, 4);
    CHECK_EQ(XATTR_MAXNAMELEN, 127);
    CHECK_EQ(CLONE_NOFOLLOW | CLONE_NOOWNERCOPY | CLONE_ACL | CLONE_NOFOLLOW_ANY, 0xf);
    CHECK_EQ(COPYFILE_ALL, 0xf);
    CHECK_EQ(COPYFILE_CLONE, 0x1000000);
    CHECK_EQ(COPYFILE_CLONE_FORCE, 0x2000000);
    CHECK_EQ(COPYFILE_DATA_SPARSE, 0x8000000);
    CHECK_EQ(COPYFILE_STATE_WAS_CLONED, 10);
    CHECK_EQ(RENAME_SWAP, 2);
    CHECK_EQ(RENAME_EXCL, 4);
    CHECK_EQ(ATTR_CMN_CRTIME, 0x200);
    CHECK_EQ(ATTR_VOL_INFO, 0x80000000u);
    CHECK_EQ(VOL_CAP_INT_CLONE, 0x10000);
    CHECK_EQ(UF_HIDDEN, 0x8000);
    CHECK_EQ(SF_RESTRICTED, 0x80000);
    CHECK_EQ(EF_SHARES_ALL_BLOCKS, 0x40);
    CHECK_EQ(VREG, 1);
    CHECK_EQ(VLNK, 5);
    /* ... names both systems have keep glibc's (the code must use names). */
    CHECK(ENOATTR != oracle_enodata());
    CHECK_EQ(ENOTSUP, EOPNOTSUPP);
    CHECK(SEEK_DATA != SEEK_HOLE);
    /* Availability shims say "available"; TargetConditionals says macOS. */
    CHECK(__builtin_available(macOS 13.0, *));
    CHECK_EQ(TARGET_OS_OSX, 1);
    CHECK_EQ(DARWIN_SIM, 1);
    /* Renamed names agree however early they were declared. */
    struct call_table t = {.fgetxattr = fgetxattr};
    CHECK(t.fgetxattr == darwin_sim_fgetxattr);
    errno = 0;
    CHECK_EQ(t.fgetxattr(-1, "k", NULL, 0, 0, 0), -1);
    CHECK_EQ(errno, EBADF);
}

/* ============================================================= clonefile */

static void test_clone_shares_extents(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 3 << 20, 1);
    CHECK_OK(clonefile(src, dst, 0));
    CHECK(is_clone_of(dst, src));
    CHECK(same_content(src, dst));
    CHECK_EQ(lstat_of(dst).st_size, 3 << 20);
}

static void test_clone_enotsup_where_no_reflink(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    write_random(src, 1 << 20, 2);
    CHECK_ERR(clonefile(src, path_in(dir, "dst"), 0), ENOTSUP);
    CHECK_EQ(count_entries(dir), 1); /* nothing left behind */
    CHECK_EQ(vol_can_clone(dir), 0);
}

static void test_clone_eexist_before_exdev(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    write_random(src, 65536, 3);
    const char *other = harness_dir_on("xfs");
    const char *there = path_in(other, "there");
    write_text(there, "x");
    CHECK_ERR(clonefile(src, there, 0), EEXIST);
    CHECK_ERR(clonefile(src, path_in(other, "new"), 0), EXDEV);
    CHECK(!exists(path_in(other, "new")));
    /* On a filesystem without cloning, EEXIST still comes first. */
    const char *ext4 = harness_dir_on("ext4");
    const char *e_src = path_in(ext4, "src"), *e_dst = path_in(ext4, "dst");
    write_text(e_src, "a");
    write_text(e_dst, "b");
    CHECK_ERR(clonefile(e_src, e_dst, 0), EEXIST);
    CHECK_ERR(clonefile(e_src, path_in(ext4, "new"), 0), ENOTSUP);
    /* A dangling symlink is a name that exists. */
    CHECK_OK(symlink("nowhere", path_in(dir, "dangling")));
    CHECK_ERR(clonefile(src, path_in(dir, "dangling"), 0), EEXIST);
}

static void test_clone_flags_and_old_kernels(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    write_random(src, 65536, 4);
    CHECK_ERR(clonefile(src, path_in(dir, "a"), 0x10), EINVAL);
    CHECK_ERR(clonefile(src, path_in(dir, "a"), 0x80000000u), EINVAL);
    CHECK_ERR(clonefileat(AT_FDCWD, "/nonexistent", AT_FDCWD, path_in(dir, "a"), 0x20), EINVAL);
    CHECK(!exists(path_in(dir, "a")));
    /* The newest kernel knows every flag. */
    CHECK_EQ(darwin_sim_os_version(), 1500);
    CHECK_OK(clonefile(src, path_in(dir, "all"), CLONE_NOFOLLOW | CLONE_NOOWNERCOPY | CLONE_ACL |
                                                    CLONE_NOFOLLOW_ANY));
    /* macOS 12 predates CLONE_ACL: EINVAL, and the retry without it works. */
    CHECK_OK(darwin_sim_set_os_version(12, 6));
    CHECK_EQ(darwin_sim_os_version(), 1206);
    CHECK_ERR(clonefile(src, path_in(dir, "b"), CLONE_NOFOLLOW | CLONE_ACL), EINVAL);
    CHECK(!exists(path_in(dir, "b")));
    CHECK_OK(clonefile(src, path_in(dir, "b"), CLONE_NOFOLLOW | CLONE_NOOWNERCOPY));
    CHECK(is_clone_of(path_in(dir, "b"), src));
    /* 10.12 knew only CLONE_NOFOLLOW; 14 not yet CLONE_NOFOLLOW_ANY. */
    CHECK_OK(darwin_sim_set_os_version(10, 12));
    CHECK_ERR(clonefile(src, path_in(dir, "c"), CLONE_NOOWNERCOPY), EINVAL);
    CHECK_OK(clonefile(src, path_in(dir, "c"), CLONE_NOFOLLOW));
    CHECK_OK(darwin_sim_set_os_version(14, 0));
    CHECK_ERR(clonefile(src, path_in(dir, "d"), CLONE_NOFOLLOW_ANY), EINVAL);
    CHECK_OK(clonefile(src, path_in(dir, "d"), CLONE_ACL));
    /* The environment variable, read again after a reset. */
    CHECK_OK(setenv("DARWIN_SIM_MACOS", "13.0", 1));
    CHECK_OK(darwin_sim_set_os_version(0, 0));
    CHECK_EQ(darwin_sim_os_version(), 1300);
    CHECK_OK(clonefile(src, path_in(dir, "e"), CLONE_ACL));
    CHECK_OK(setenv("DARWIN_SIM_MACOS", "12", 1));
    CHECK_OK(darwin_sim_set_os_version(0, 0));
    CHECK_ERR(clonefile(src, path_in(dir, "f"), CLONE_ACL), EINVAL);
    CHECK_OK(unsetenv("DARWIN_SIM_MACOS"));
    CHECK_OK(darwin_sim_set_os_version(0, 0));
    CHECK_EQ(darwin_sim_os_version(), 1500);
    CHECK_ERR(darwin_sim_set_os_version(-1, 0), EINVAL);
}

static void test_clone_source_types(const struct harness_fs *fs, const char *dir)
{
    const char *fifo = path_in(dir, "fifo");
    CHECK_OK(mkfifo(fifo, 0644));
    CHECK_ERR(clonefile(fifo, path_in(dir, "a"), 0), EINVAL);
    CHECK_ERR(clonefile(path_in(dir, "missing"), path_in(dir, "a"), 0), ENOENT);
    CHECK_ERR(clonefile("", path_in(dir, "a"), 0), ENOENT);
    CHECK_ERR(clonefile(fs->mnt, path_in(dir, "a"), 0), EINVAL); /* a mount point */
    const char *sub = path_in(dir, "sub");
    CHECK_OK(mkdir(sub, 0755));
    CHECK_ERR(clonefile(sub, path_in(dir, "a"), 0), ENOTSUP); /* limitation: no directories */
    CHECK_ERR(clonefile(sub, sub, 0), EEXIST);
    CHECK(!exists(path_in(dir, "a")));
    const char *file = path_in(dir, "file");
    write_text(file, "x");
    CHECK_ERR(clonefile(file, path_in(dir, "file/a"), 0), ENOTDIR);
    CHECK_ERR(clonefile(file, path_in(dir, "nodir/a"), 0), ENOENT);
}

static void test_clone_symlinks(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *target = path_in(dir, "target"), *link = path_in(dir, "link");
    write_random(target, 65536, 5);
    CHECK_OK(symlink("target", link));
    CHECK_OK(clonefile(link, path_in(dir, "followed"), 0));
    CHECK(S_ISREG(lstat_of(path_in(dir, "followed")).st_mode));
    CHECK(is_clone_of(path_in(dir, "followed"), target));
    CHECK_OK(clonefile(link, path_in(dir, "itself"), CLONE_NOFOLLOW));
    CHECK(S_ISLNK(lstat_of(path_in(dir, "itself")).st_mode));
    char buf[64] = {0};
    CHECK_EQ(readlink(path_in(dir, "itself"), buf, sizeof buf - 1), 6);
    CHECK_STR_EQ(buf, "target");
    /* CLONE_NOFOLLOW_ANY: ELOOP for a symlink anywhere in either path. */
    const char *sub = path_in(dir, "sub");
    CHECK_OK(mkdir(sub, 0755));
    CHECK_OK(symlink("sub", path_in(dir, "sublink")));
    write_random(path_in(sub, "f"), 4096, 6);
    CHECK_ERR(clonefile(path_in(dir, "sublink/f"), path_in(dir, "g"), CLONE_NOFOLLOW_ANY), ELOOP);
    CHECK_ERR(clonefile(path_in(sub, "f"), path_in(dir, "sublink/g"), CLONE_NOFOLLOW_ANY), ELOOP);
    CHECK_ERR(clonefile(link, path_in(dir, "g"), CLONE_NOFOLLOW_ANY), ELOOP);
    CHECK_OK(clonefile(path_in(sub, "f"), path_in(dir, "g"), CLONE_NOFOLLOW_ANY));
    CHECK_OK(clonefile(path_in(dir, "sublink/f"), path_in(dir, "sublink/h"), 0));
    CHECK(exists(path_in(sub, "h")));
}

static void test_clone_clears_setid_bits(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 8192, 7);
    CHECK_OK(chmod(src, 06751));
    CHECK_OK(clonefile(src, dst, 0));
    CHECK_EQ(lstat_of(dst).st_mode & 07777, 0751);
    CHECK_EQ(lstat_of(src).st_mode & 07777, 06751);
}

static void test_clone_owner(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    if (geteuid() != 0)
        SKIP("needs root");
    const char *src = path_in(dir, "src");
    write_random(src, 8192, 8);
    CHECK_OK(chown(src, 1234, 5678));
    CHECK_OK(clonefile(src, path_in(dir, "root_copy"), 0));
    CHECK_EQ(lstat_of(path_in(dir, "root_copy")).st_uid, 1234);
    CHECK_EQ(lstat_of(path_in(dir, "root_copy")).st_gid, 5678);
    CHECK_OK(clonefile(src, path_in(dir, "noowner"), CLONE_NOOWNERCOPY));
    CHECK_EQ(lstat_of(path_in(dir, "noowner")).st_uid, 0);
    CHECK_EQ(lstat_of(path_in(dir, "noowner")).st_gid, getegid());
    /* Not root: owned as a new file of the caller's, whatever the flags. */
    const char *open = open_dir(dir, "open");
    become_nobody();
    CHECK_OK(clonefile(src, path_in(open, "mine"), 0));
    CHECK_EQ(lstat_of(path_in(open, "mine")).st_uid, 65534);
    CHECK(is_clone_of(path_in(open, "mine"), src));
}

static void test_clone_permissions(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *secret = path_in(dir, "secret");
    write_random(src, 8192, 9);
    write_random(secret, 8192, 10);
    CHECK_OK(chmod(secret, 0600));
    const char *open = open_dir(dir, "open");
    become_nobody();
    CHECK_ERR(clonefile(src, path_in(dir, "x"), 0), EACCES);      /* dst dir not writable */
    CHECK_ERR(clonefile(secret, path_in(open, "x"), 0), EACCES);  /* src not readable */
    CHECK_EQ(count_entries(open), 0);
}

static void test_clone_acl(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *inherit = path_in(dir, "inherit");
    write_random(src, 8192, 11);
    CHECK_OK(mkdir(inherit, 0755));
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "setfacl -m u:1234:rw '%s' && setfacl -d -m u:4321:r '%s'", src,
             inherit);
    run(cmd);
    CHECK_EQ(oracle_acl_has_user(src, 1234), 1);
    /* Without CLONE_ACL: the directory's inherited ACL, not the source's. */
    const char *plain = path_in(inherit, "plain"), *with = path_in(inherit, "with");
    CHECK_OK(clonefile(src, plain, 0));
    CHECK_EQ(oracle_acl_has_user(plain, 1234), 0);
    CHECK_EQ(oracle_acl_has_user(plain, 4321), 1);
    CHECK_OK(clonefile(src, with, CLONE_ACL));
    CHECK_EQ(oracle_acl_has_user(with, 1234), 1);
    CHECK_OK(clonefile(src, path_in(dir, "flat"), 0));
    CHECK_EQ(oracle_acl_has_user(path_in(dir, "flat"), 1234), 0);
}

static void test_clone_metadata(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 65536, 12);
    CHECK_OK(setxattr(src, "com.example.tag", "blue", 4, 0, 0));
    CHECK_OK(chflags(src, UF_HIDDEN | UF_DATAVAULT | UF_NODUMP));
    CHECK_OK(set_crtime(src, 1000000000, 123456789));
    struct timespec times[2] = {{.tv_sec = 1500000000, .tv_nsec = 5},
                                {.tv_sec = 1600000000, .tv_nsec = 7}};
    CHECK_OK(utimensat(AT_FDCWD, src, times, 0));
    CHECK_OK(clonefile(src, dst, 0));
    char value[16] = {0};
    CHECK_EQ(getxattr(dst, "com.example.tag", value, sizeof value, 0, 0), 4);
    CHECK_STR_EQ(value, "blue");
    CHECK_EQ(flags_of(dst, 0), UF_HIDDEN | UF_NODUMP); /* UF_DATAVAULT is not copied */
    struct timespec cr = crtime_of(dst);
    CHECK_EQ(cr.tv_sec, 1000000000);
    CHECK_EQ(cr.tv_nsec, 123456789);
    struct stat st = lstat_of(dst);
    CHECK_EQ(st.st_mtim.tv_sec, 1600000000);
    CHECK_EQ(st.st_mtim.tv_nsec, 7);
    CHECK_EQ(st.st_atim.tv_sec, 1500000000);
    CHECK(is_clone_of(dst, src));
}

static void test_fclonefileat(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    write_random(src, 65536, 13);
    int wr = open(src, O_WRONLY), rd = open(src, O_RDONLY), dirfd = open(dir, O_RDONLY);
    CHECK(wr >= 0 && rd >= 0 && dirfd >= 0);
    CHECK_ERR(fclonefileat(wr, dirfd, "w", 0), EBADF);
    CHECK_ERR(fclonefileat(-1, dirfd, "w", 0), EBADF);
    CHECK_ERR(fclonefileat(-1, dirfd, "w", 0x100), EINVAL); /* flags are checked first */
    CHECK(!exists(path_in(dir, "w")));
    CHECK_OK(fclonefileat(rd, dirfd, "r", 0));
    CHECK(is_clone_of(path_in(dir, "r"), src));
    CHECK_ERR(fclonefileat(rd, dirfd, "r", 0), EEXIST);
    CHECK_ERR(fclonefileat(rd, rd, "x", 0), ENOTDIR); /* dirfd is not a directory */
    CHECK_OK(clonefileat(dirfd, "src", dirfd, "at", 0));
    CHECK(is_clone_of(path_in(dir, "at"), src));
    close(wr);
    close(rd);
    close(dirfd);
}

/* ============================================================== copyfile */

static void test_copyfile_clone(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 1 << 20, 14);
    copyfile_state_t s = copyfile_state_alloc();
    CHECK(s != NULL);
    CHECK_OK(copyfile(src, dst, s, COPYFILE_CLONE));
    bool cloned = false;
    off_t copied = -1;
    CHECK_OK(copyfile_state_get(s, COPYFILE_STATE_WAS_CLONED, &cloned));
    CHECK_OK(copyfile_state_get(s, COPYFILE_STATE_COPIED, &copied));
    CHECK(cloned);
    CHECK_EQ(copied, 0);
    CHECK(is_clone_of(dst, src));
    CHECK_OK(copyfile(src, path_in(dir, "forced"), s, COPYFILE_CLONE_FORCE));
    CHECK(is_clone_of(path_in(dir, "forced"), src));
    /* CLONE_FORCE: any clone failure is ENOTSUP (copyfile-180+). */
    CHECK_ERR(copyfile(src, dst, s, COPYFILE_CLONE_FORCE), ENOTSUP); /* exists */
    CHECK_ERR(copyfile(src, path_in(harness_dir_on("ext4"), "x"), s, COPYFILE_CLONE_FORCE), ENOTSUP);
    CHECK_ERR(copyfile(path_in(dir, "missing"), path_in(dir, "y"), s, COPYFILE_CLONE_FORCE), ENOTSUP);
    CHECK_ERR(copyfile(dir, path_in(dir, "y"), s, COPYFILE_CLONE_FORCE), ENOTSUP); /* a directory */
    /* CLONE falls back to a copy with COPYFILE_EXCL: an existing dst is EEXIST. */
    CHECK_ERR(copyfile(src, dst, s, COPYFILE_CLONE), EEXIST);
    copyfile_state_free(s);
}

static void test_copyfile_clone_fallback(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, (1 << 20) + 3, 15);
    CHECK_OK(chmod(src, 0640));
    CHECK_OK(setxattr(src, "com.example.k", "v", 1, 0, 0));
    copyfile_state_t s = copyfile_state_alloc();
    CHECK_ERR(copyfile(src, dst, s, COPYFILE_CLONE_FORCE), ENOTSUP);
    CHECK(!exists(dst));
    CHECK_OK(copyfile(src, dst, s, COPYFILE_CLONE));
    bool cloned = true;
    off_t copied = 0;
    CHECK_OK(copyfile_state_get(s, COPYFILE_STATE_WAS_CLONED, &cloned));
    CHECK_OK(copyfile_state_get(s, COPYFILE_STATE_COPIED, &copied));
    CHECK(!cloned);
    CHECK_EQ(copied, (1 << 20) + 3);
    CHECK(same_content(src, dst));
    CHECK_EQ(lstat_of(dst).st_mode & 07777, 0640); /* the fallback adds STAT and XATTR */
    CHECK_EQ(getxattr(dst, "com.example.k", NULL, 0, 0, 0), 1);
    copyfile_state_free(s);
}

static void test_fcopyfile_ignores_clone_bits(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 1 << 20, 16);
    int in = open(src, O_RDONLY), out = open(dst, O_RDWR | O_CREAT, 0644);
    CHECK(in >= 0 && out >= 0);
    CHECK_OK(fcopyfile(in, out, NULL, COPYFILE_CLONE));
    CHECK_EQ(lstat_of(dst).st_size, 0); /* nothing asked but the clone: nothing done */
    CHECK_OK(fcopyfile(in, out, NULL, COPYFILE_CLONE_FORCE | COPYFILE_DATA));
    CHECK(same_content(src, dst));
    CHECK(!shares_any_block(dst, src)); /* copied, never cloned */
    close(in);
    close(out);
}

static void test_copyfile_data_sparse(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src");
    int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    static char block[65536];
    memset(block, 'x', sizeof block);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, block, sizeof block, 0), sizeof block);
    CHECK_EQ(pwrite(fd, block, sizeof block, 8 << 20), sizeof block);
    CHECK_OK(ftruncate(fd, 16 << 20));
    CHECK_OK(fsync(fd));
    close(fd);
    CHECK(allocated_bytes(src) < (2 << 20));
    const char *dense = path_in(dir, "dense"), *sparse = path_in(dir, "sparse");
    CHECK_OK(copyfile(src, dense, NULL, COPYFILE_DATA));
    CHECK_OK(copyfile(src, sparse, NULL, COPYFILE_DATA | COPYFILE_DATA_SPARSE));
    CHECK(same_content(src, dense));
    CHECK(same_content(src, sparse));
    CHECK(allocated_bytes(sparse) < (2 << 20));
    CHECK(allocated_bytes(dense) >= (15 << 20)); /* plain DATA writes the holes */
    /* DATA_SPARSE alone needs a sparse source; with DATA it falls back. */
    const char *full = path_in(dir, "full");
    write_random(full, 65536, 17);
    CHECK_ERR(copyfile(full, path_in(dir, "f1"), NULL, COPYFILE_DATA_SPARSE), ENOTSUP);
    CHECK(!exists(path_in(dir, "f1")));
    CHECK_OK(copyfile(full, path_in(dir, "f2"), NULL, COPYFILE_DATA | COPYFILE_DATA_SPARSE));
    CHECK(same_content(full, path_in(dir, "f2")));
}

static void test_copyfile_metadata(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_text(src, "source data");
    write_text(dst, "old");
    CHECK_OK(chmod(src, 0604));
    CHECK_OK(setxattr(src, "com.example.a", "1", 1, 0, 0));
    CHECK_OK(setxattr(dst, "com.example.stale", "2", 1, 0, 0));
    CHECK_OK(chflags(src, UF_HIDDEN));
    CHECK_OK(set_crtime(src, 900000000, 0));
    struct timespec times[2] = {{.tv_sec = 1200000000}, {.tv_sec = 1300000000}};
    CHECK_OK(utimensat(AT_FDCWD, src, times, 0));
    /* XATTR alone: the xattrs become the source's, nothing else changes. */
    CHECK_OK(copyfile(src, dst, NULL, COPYFILE_XATTR));
    CHECK_ERR(getxattr(dst, "com.example.stale", NULL, 0, 0, 0), ENOATTR);
    CHECK_EQ(getxattr(dst, "com.example.a", NULL, 0, 0, 0), 1);
    CHECK(lstat_of(dst).st_mode != lstat_of(src).st_mode);
    CHECK_EQ(flags_of(dst, 0), 0);
    /* METADATA: mode, flags, creation and modification times; data kept. */
    CHECK_OK(copyfile(src, dst, NULL, COPYFILE_METADATA));
    CHECK_EQ(lstat_of(dst).st_mode & 07777, 0604);
    CHECK_EQ(flags_of(dst, 0), UF_HIDDEN);
    CHECK_EQ(crtime_of(dst).tv_sec, 900000000);
    CHECK_EQ(lstat_of(dst).st_mtim.tv_sec, 1300000000);
    CHECK_EQ(lstat_of(dst).st_size, 3);
    /* ALL onto a new file, then fcopyfile(COPYFILE_ACL). */
    CHECK_OK(copyfile(src, path_in(dir, "all"), NULL, COPYFILE_ALL));
    CHECK(same_content(src, path_in(dir, "all")));
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "setfacl -m u:2345:r '%s'", src);
    run(cmd);
    int in = open(src, O_RDONLY), out = open(dst, O_RDWR);
    CHECK(in >= 0 && out >= 0);
    CHECK_OK(fcopyfile(in, out, NULL, COPYFILE_ACL));
    CHECK_EQ(oracle_acl_has_user(dst, 2345), 1);
    close(in);
    close(out);
}

static void test_copyfile_names_and_flags(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_text(src, "abc");
    write_text(dst, "xyz");
    CHECK_ERR(copyfile(src, dst, NULL, COPYFILE_DATA | COPYFILE_EXCL), EEXIST);
    CHECK_OK(copyfile(src, dst, NULL, COPYFILE_DATA));
    CHECK(same_content(src, dst));
    const char *link = path_in(dir, "link");
    CHECK_OK(symlink("src", link));
    CHECK_OK(copyfile(link, path_in(dir, "linkcopy"), NULL, COPYFILE_ALL | COPYFILE_NOFOLLOW_SRC));
    CHECK(S_ISLNK(lstat_of(path_in(dir, "linkcopy")).st_mode));
    CHECK_ERR(copyfile(src, link, NULL, COPYFILE_DATA | COPYFILE_NOFOLLOW_DST), ELOOP);
    CHECK_OK(copyfile(src, link, NULL, COPYFILE_DATA | COPYFILE_UNLINK));
    CHECK(S_ISREG(lstat_of(link).st_mode));
    CHECK_ERR(copyfile(src, path_in(dir, "r"), NULL, COPYFILE_ALL | COPYFILE_RECURSIVE), ENOTSUP);
    CHECK_ERR(copyfile(src, path_in(dir, "r"), NULL, COPYFILE_CHECK), ENOTSUP);
    /* A directory source: the directory itself, with its metadata. */
    const char *sub = path_in(dir, "sub");
    CHECK_OK(mkdir(sub, 0750));
    write_text(path_in(sub, "inside"), "i");
    CHECK_OK(copyfile(sub, path_in(dir, "subcopy"), NULL, COPYFILE_ALL));
    CHECK_EQ(lstat_of(path_in(dir, "subcopy")).st_mode & 07777, 0750);
    CHECK_EQ(count_entries(path_in(dir, "subcopy")), 0);
}

static void test_copyfile_state(const struct harness_fs *fs, const char *dir)
{
    (void)fs, (void)dir;
    copyfile_state_t s = copyfile_state_alloc();
    CHECK(s != NULL);
    int fd = -2;
    CHECK_OK(copyfile_state_get(s, COPYFILE_STATE_SRC_FD, &fd));
    CHECK_EQ(fd, -1);
    int seven = 7;
    CHECK_OK(copyfile_state_set(s, COPYFILE_STATE_DST_FD, &seven));
    CHECK_OK(copyfile_state_get(s, COPYFILE_STATE_DST_FD, &fd));
    CHECK_EQ(fd, 7);
    CHECK_OK(copyfile_state_set(s, COPYFILE_STATE_SRC_FILENAME, "a/b"));
    const char *name = NULL;
    CHECK_OK(copyfile_state_get(s, COPYFILE_STATE_SRC_FILENAME, &name));
    CHECK_STR_EQ(name, "a/b");
    bool cloned = true;
    CHECK_OK(copyfile_state_get(s, COPYFILE_STATE_WAS_CLONED, &cloned));
    CHECK(!cloned);
    CHECK_ERR(copyfile_state_get(s, COPYFILE_STATE_QUARANTINE, &name), EINVAL);
    CHECK_ERR(copyfile_state_get(s, 999, &name), EINVAL);
    CHECK_OK(copyfile_state_free(s));
}

/* ================================================= fcntl F_LOG2PHYS(_EXT) */

/* The device offset FIEMAP gives for file offset off (-1: none), and the
 * length of the device-contiguous run from off. */
static int64_t fiemap_truth(const struct extent *ex, int n, uint64_t off, uint64_t size,
                            int64_t *run)
{
    for (int i = 0; i < n; i++) {
        if (off < ex[i].logical) {
            *run = (int64_t)(ex[i].logical - off);
            return -1;
        }
        if (off < ex[i].logical + ex[i].length) {
            uint64_t end = ex[i].logical + ex[i].length, phys_end = ex[i].physical + ex[i].length;
            for (int j = i + 1; j < n && ex[j].logical == end && ex[j].physical == phys_end; j++) {
                end += ex[j].length;
                phys_end += ex[j].length;
            }
            *run = (int64_t)(end - off);
            return (int64_t)(ex[i].physical + (off - ex[i].logical));
        }
    }
    *run = off < size ? (int64_t)(size - off) : 0;
    return -1;
}

static void test_log2phys_matches_fiemap(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *path = path_in(dir, "f");
    write_random(path, 3 << 20, 18);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    struct stat st0 = lstat_of(path);
    (void)st0;
    /* Punch a hole in the middle, extend with one at the end. */
    fpunchhole_t hole = {.fp_offset = 1 << 20, .fp_length = 1 << 20};
    CHECK_OK(fcntl(fd, F_PUNCHHOLE, &hole));
    CHECK_OK(ftruncate(fd, 5 << 20));
    CHECK_OK(fsync(fd));
    struct extent *ex;
    int n = extents_of(path, &ex);
    CHECK(n >= 2);
    uint64_t size = 5 << 20;
    const uint64_t probes[] = {0, 1000, 4096, 65536 + 17, (1 << 20) - 1, 1 << 20,
                               (1 << 20) + 4095, 2 << 20, (2 << 20) + 333, 4 << 20,
                               (5 << 20) - 1};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        int64_t run;
        int64_t dev = fiemap_truth(ex, n, probes[i], size, &run);
        struct log2phys l2p = {.l2p_contigbytes = INT64_MAX, .l2p_devoffset = (off_t)probes[i]};
        CHECK_OK(fcntl(fd, F_LOG2PHYS_EXT, &l2p));
        CHECK_EQ(l2p.l2p_flags, 0);
        CHECK_EQ(l2p.l2p_devoffset, dev);
        CHECK_EQ(l2p.l2p_contigbytes, run);
        /* A smaller question gets at most what it asked for. */
        struct log2phys small = {.l2p_contigbytes = 4096, .l2p_devoffset = (off_t)probes[i]};
        CHECK_OK(fcntl(fd, F_LOG2PHYS_EXT, &small));
        CHECK_EQ(small.l2p_devoffset, dev);
        CHECK(small.l2p_contigbytes <= 4096 && small.l2p_contigbytes <= run);
    }
    /* Walking by runs covers the file and counts FIEMAP's data bytes. */
    uint64_t data = 0, expect = 0;
    for (int i = 0; i < n; i++)
        expect += ex[i].length;
    for (uint64_t off = 0; off < size;) {
        struct log2phys l2p = {.l2p_contigbytes = INT64_MAX, .l2p_devoffset = (off_t)off};
        CHECK_OK(fcntl(fd, F_LOG2PHYS_EXT, &l2p));
        CHECK(l2p.l2p_contigbytes > 0);
        if (l2p.l2p_devoffset != -1)
            data += (uint64_t)l2p.l2p_contigbytes;
        off += (uint64_t)l2p.l2p_contigbytes;
    }
    CHECK_EQ(data, expect);
    free(ex);
    close(fd);
}

static void test_log2phys_clones_share_offsets(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 2 << 20, 19);
    CHECK_OK(clonefile(src, dst, 0));
    int a = open(src, O_RDONLY), b = open(dst, O_RDONLY);
    CHECK(a >= 0 && b >= 0);
    for (off_t off = 0; off < (2 << 20); off += 300000) {
        struct log2phys la = {.l2p_contigbytes = 1 << 20, .l2p_devoffset = off};
        struct log2phys lb = la;
        CHECK_OK(fcntl(a, F_LOG2PHYS_EXT, &la));
        CHECK_OK(fcntl(b, F_LOG2PHYS_EXT, &lb));
        CHECK(la.l2p_devoffset >= 0);
        CHECK_EQ(la.l2p_devoffset, lb.l2p_devoffset);
        CHECK_EQ(la.l2p_contigbytes, lb.l2p_contigbytes);
    }
    /* A write to the clone moves that block elsewhere. */
    int w = open(dst, O_WRONLY);
    CHECK_EQ(pwrite(w, "changed!", 8, 0), 8);
    CHECK_OK(fsync(w));
    close(w);
    struct log2phys la = {.l2p_contigbytes = 4096}, lb = la;
    CHECK_OK(fcntl(a, F_LOG2PHYS_EXT, &la));
    CHECK_OK(fcntl(b, F_LOG2PHYS_EXT, &lb));
    CHECK(la.l2p_devoffset != lb.l2p_devoffset);
    close(a);
    close(b);
}

static void test_log2phys_errors_and_plain(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *path = path_in(dir, "f");
    write_random(path, 1 << 20, 20);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    struct log2phys l2p = {.l2p_contigbytes = -1, .l2p_devoffset = 0};
    CHECK_ERR(fcntl(fd, F_LOG2PHYS_EXT, &l2p), EINVAL);
    l2p = (struct log2phys){.l2p_contigbytes = 4096, .l2p_devoffset = -5};
    CHECK_ERR(fcntl(fd, F_LOG2PHYS_EXT, &l2p), EINVAL);
    int p[2];
    CHECK_OK(pipe(p));
    l2p = (struct log2phys){.l2p_contigbytes = 4096};
    CHECK_ERR(fcntl(p[0], F_LOG2PHYS_EXT, &l2p), EBADF);
    close(p[0]);
    close(p[1]);
    /* F_LOG2PHYS: the descriptor's offset, one device block, no run length. */
    struct log2phys ext = {.l2p_contigbytes = 4096, .l2p_devoffset = 8192 + 100};
    CHECK_OK(fcntl(fd, F_LOG2PHYS_EXT, &ext));
    CHECK_EQ(lseek(fd, 8192 + 100, SEEK_SET), 8192 + 100);
    struct log2phys plain = {.l2p_contigbytes = 777, .l2p_devoffset = 0};
    CHECK_OK(fcntl(fd, F_LOG2PHYS, &plain));
    CHECK_EQ(plain.l2p_devoffset, ext.l2p_devoffset);
    CHECK_EQ(plain.l2p_contigbytes, 0);
    /* Beyond EOF: no block. */
    l2p = (struct log2phys){.l2p_contigbytes = 4096, .l2p_devoffset = 4 << 20};
    CHECK_OK(fcntl(fd, F_LOG2PHYS_EXT, &l2p));
    CHECK_EQ(l2p.l2p_devoffset, -1);
    close(fd);
}

static void test_fcntl_other_commands(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *path = path_in(dir, "f");
    write_random(path, 1 << 20, 21);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    /* glibc's commands pass through the fcntl macro. */
    CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
    CHECK_OK(fcntl(fd, F_SETFD, FD_CLOEXEC));
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 100);
    CHECK(dup >= 100);
    close(dup);
    CHECK_OK(fcntl(fd, F_FULLFSYNC));
    CHECK_OK(fcntl(fd, F_NOCACHE, 1));
    char buf[MAXPATHLEN];
    CHECK_OK(fcntl(fd, F_GETPATH, buf));
    CHECK_STR_EQ(buf, path);
    uint64_t before = allocated_bytes(path);
    fpunchhole_t hole = {.fp_offset = 65536, .fp_length = 262144};
    CHECK_OK(fcntl(fd, F_PUNCHHOLE, &hole));
    CHECK(allocated_bytes(path) < before);
    CHECK_EQ(lseek(fd, 0, SEEK_HOLE), 65536);
    CHECK_EQ(lstat_of(path).st_size, 1 << 20);
    hole.fp_offset = 100;
    CHECK_ERR(fcntl(fd, F_PUNCHHOLE, &hole), EINVAL);
    fstore_t store = {.fst_flags = F_ALLOCATEALL, .fst_posmode = F_PEOFPOSMODE,
                      .fst_length = 1 << 20};
    CHECK_OK(fcntl(fd, F_PREALLOCATE, &store));
    CHECK_EQ(store.fst_bytesalloc, 1 << 20);
    CHECK_EQ(lstat_of(path).st_size, 1 << 20);
    close(fd);
}

/* ========================================================= getattrlist */

static void test_volume_clone_capability(const struct harness_fs *fs, const char *dir)
{
    CHECK_EQ(vol_can_clone(dir), fs->can_clone ? 1 : 0);
    CHECK_EQ(vol_can_clone(fs->mnt), fs->can_clone ? 1 : 0);
    /* With ATTR_CMN_RETURNED_ATTRS first, and more volume attributes. */
    struct attrlist al = attrs(ATTR_CMN_RETURNED_ATTRS,
                               ATTR_VOL_INFO | ATTR_VOL_SIZE | ATTR_VOL_IOBLOCKSIZE |
                                   ATTR_VOL_CAPABILITIES | ATTR_VOL_FSTYPE,
                               0);
    unsigned char buf[256];
    CHECK_OK(getattrlist(dir, &al, buf, sizeof buf, 0));
    CHECK_EQ(rd_u32(buf, 0), 4 + 20 + 8 + 4 + 32);
    attribute_set_t ret;
    memcpy(&ret, buf + 4, sizeof ret);
    CHECK_EQ(ret.commonattr, ATTR_CMN_RETURNED_ATTRS);
    /* ATTR_VOL_FSTYPE is valid but not simulated: left out. */
    CHECK_EQ(ret.volattr, ATTR_VOL_INFO | ATTR_VOL_SIZE | ATTR_VOL_IOBLOCKSIZE | ATTR_VOL_CAPABILITIES);
    CHECK(rd_i64(buf, 24) > (100 << 20));
    vol_capabilities_attr_t caps;
    memcpy(&caps, buf + 36, sizeof caps);
    CHECK(caps.valid[VOL_CAPABILITIES_INTERFACES] & VOL_CAP_INT_CLONE);
    CHECK_EQ(!!(caps.capabilities[VOL_CAPABILITIES_INTERFACES] & VOL_CAP_INT_CLONE), fs->can_clone);
    CHECK(caps.capabilities[VOL_CAPABILITIES_INTERFACES] & VOL_CAP_INT_EXTENDED_ATTR);
    /* As an unprivileged user who cannot write the volume root. */
    const char *open = open_dir(dir, "open");
    become_nobody();
    CHECK_EQ(vol_can_clone(open), fs->can_clone ? 1 : 0);
}

static void test_attrlist_packing(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *path = path_in(dir, "some-name");
    write_random(path, 12345, 22);
    CHECK_OK(chflags(path, UF_NODUMP));
    struct attrlist al = attrs(ATTR_CMN_CRTIME | ATTR_CMN_MODTIME | ATTR_CMN_FLAGS,
                               0, ATTR_FILE_TOTALSIZE);
    unsigned char buf[256];
    memset(buf, 0xAA, sizeof buf);
    CHECK_OK(getattrlist(path, &al, buf, sizeof buf, 0));
    /* length, CRTIME at 4 (a 4-byte-aligned timespec), MODTIME at 20,
     * FLAGS at 36, TOTALSIZE (off_t) at 40. */
    CHECK_EQ(rd_u32(buf, 0), 48);
    struct stat st = lstat_of(path);
    CHECK_EQ(rd_i64(buf, 20), st.st_mtim.tv_sec);
    CHECK_EQ(rd_i64(buf, 28), st.st_mtim.tv_nsec);
    CHECK_EQ(rd_u32(buf, 36), UF_NODUMP);
    CHECK_EQ(rd_i64(buf, 40), 12345);
    CHECK_EQ(buf[48], 0xAA); /* nothing written past the length */
    /* Variable-length NAME: an attrreference to the 4-byte aligned data. */
    al = attrs(ATTR_CMN_NAME | ATTR_CMN_OBJTYPE | ATTR_CMN_ACCESSMASK | ATTR_CMN_FILEID, 0, 0);
    CHECK_OK(getattrlist(path, &al, buf, sizeof buf, 0));
    attrreference_t ref;
    memcpy(&ref, buf + 4, sizeof ref);
    CHECK_EQ(ref.attr_length, strlen("some-name") + 1);
    CHECK_EQ(ref.attr_dataoffset % 4, 0);
    CHECK_STR_EQ((const char *)buf + 4 + ref.attr_dataoffset, "some-name");
    CHECK_EQ(rd_u32(buf, 12), VREG);
    CHECK_EQ(rd_u32(buf, 16), st.st_mode & 07777);
    CHECK_EQ((uint64_t)rd_i64(buf, 20), st.st_ino);
    CHECK_EQ(rd_u32(buf, 0), 28 + 12); /* "some-name\0" padded to 12 */
    /* A short buffer is filled and the length says what was copied, unless
     * FSOPT_REPORT_FULLSIZE asks for the full size. */
    memset(buf, 0xAA, sizeof buf);
    CHECK_OK(getattrlist(path, &al, buf, 10, 0));
    CHECK_EQ(rd_u32(buf, 0), 10);
    CHECK_EQ(buf[10], 0xAA);
    CHECK_OK(getattrlist(path, &al, buf, 10, FSOPT_REPORT_FULLSIZE));
    CHECK_EQ(rd_u32(buf, 0), 40);
    /* Errors. */
    CHECK_ERR(getattrlist(path, &al, buf, 3, 0), ERANGE);
    al.bitmapcount = 4;
    CHECK_ERR(getattrlist(path, &al, buf, sizeof buf, 0), EINVAL);
    al = attrs(0, ATTR_VOL_CAPABILITIES, 0); /* no ATTR_VOL_INFO */
    CHECK_ERR(getattrlist(path, &al, buf, sizeof buf, 0), EINVAL);
    al = attrs(0, ATTR_VOL_INFO | ATTR_VOL_CAPABILITIES, ATTR_FILE_TOTALSIZE);
    CHECK_ERR(getattrlist(path, &al, buf, sizeof buf, 0), EINVAL);
    al = attrs(ATTR_CMN_GEN_COUNT, 0, 0);
    CHECK_ERR(getattrlist(path, &al, buf, sizeof buf, 0), EINVAL);
    al = attrs(0, 0, 0x00004000); /* not a file attribute */
    CHECK_ERR(getattrlist(path, &al, buf, sizeof buf, 0), EINVAL);
    al = attrs(ATTR_CMN_OBJTYPE, 0, 0);
    CHECK_ERR(getattrlist(path_in(dir, "missing"), &al, buf, sizeof buf, 0), ENOENT);
    /* FSOPT_NOFOLLOW; fgetattrlist; getattrlistat; directory vs file attributes. */
    CHECK_OK(symlink("some-name", path_in(dir, "link")));
    CHECK_OK(getattrlist(path_in(dir, "link"), &al, buf, sizeof buf, 0));
    CHECK_EQ(rd_u32(buf, 4), VREG);
    CHECK_OK(getattrlist(path_in(dir, "link"), &al, buf, sizeof buf, FSOPT_NOFOLLOW));
    CHECK_EQ(rd_u32(buf, 4), VLNK);
    CHECK_ERR(getattrlist(path_in(dir, "link"), &al, buf, sizeof buf, FSOPT_NOFOLLOW_ANY), ELOOP);
    CHECK_ERR(getattrlist(path, &al, buf, sizeof buf, FSOPT_PACK_INVAL_ATTRS), EINVAL);
    al.commonattr |= ATTR_CMN_RETURNED_ATTRS;
    CHECK_ERR(getattrlist(path, &al, buf, sizeof buf, FSOPT_PACK_INVAL_ATTRS), ENOTSUP);
    al.commonattr = ATTR_CMN_OBJTYPE;
    int dirfd = open(dir, O_RDONLY);
    CHECK_OK(getattrlistat(dirfd, "link", &al, buf, sizeof buf, FSOPT_NOFOLLOW));
    CHECK_EQ(rd_u32(buf, 4), VLNK);
    CHECK_OK(fgetattrlist(dirfd, &al, buf, sizeof buf, 0));
    CHECK_EQ(rd_u32(buf, 4), VDIR);
    al = attrs(ATTR_CMN_RETURNED_ATTRS, 0, ATTR_FILE_LINKCOUNT);
    al.dirattr = ATTR_DIR_LINKCOUNT;
    CHECK_OK(fgetattrlist(dirfd, &al, buf, sizeof buf, 0));
    attribute_set_t ret;
    memcpy(&ret, buf + 4, sizeof ret);
    CHECK_EQ(ret.dirattr, ATTR_DIR_LINKCOUNT);
    CHECK_EQ(ret.fileattr, 0);
    CHECK_EQ(rd_u32(buf, 0), 28);
    close(dirfd);
}

static void test_crtime_read_write(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *path = path_in(dir, "f");
    write_text(path, "x");
    long long sec;
    long nsec;
    struct timespec cr = crtime_of(path);
    if (oracle_btime(path, &sec, &nsec) == 0) { /* the default is btime */
        CHECK_EQ(cr.tv_sec, sec);
        CHECK_EQ(cr.tv_nsec, nsec);
    } else {
        CHECK_EQ(cr.tv_sec, lstat_of(path).st_mtim.tv_sec);
    }
    CHECK_OK(set_crtime(path, 946684800, 42));
    cr = crtime_of(path);
    CHECK_EQ(cr.tv_sec, 946684800);
    CHECK_EQ(cr.tv_nsec, 42);
    /* The record is Linux's user.com.apple.system.darwin-sim, out of the
     * Darwin calls' reach. */
    CHECK(oracle_getxattr(path, "user.com.apple.system.darwin-sim", NULL, 0) > 0);
    CHECK_EQ(listxattr(path, NULL, 0, 0), 0);
    CHECK_ERR(getxattr(path, "com.apple.system.darwin-sim", NULL, 0, 0, 0), EPERM);
    /* MODTIME earlier than CRTIME lowers CRTIME; CHGTIME is ignored. */
    struct attrlist al = attrs(ATTR_CMN_MODTIME | ATTR_CMN_CHGTIME, 0, 0);
    int64_t two[4] = {900000000, 1, 5, 5};
    CHECK_OK(setattrlist(path, &al, two, sizeof two, 0));
    CHECK_EQ(crtime_of(path).tv_sec, 900000000);
    CHECK_EQ(lstat_of(path).st_mtim.tv_sec, 900000000);
    /* CRTIME and MODTIME in one buffer, in bit order, no leading length. */
    al = attrs(ATTR_CMN_CRTIME | ATTR_CMN_MODTIME | ATTR_CMN_FLAGS, 0, 0);
    unsigned char buf[36] = {0};
    int64_t cr_mod[4] = {800000000, 0, 1000000000, 0};
    uint32_t flags = UF_HIDDEN;
    memcpy(buf, cr_mod, 32);
    memcpy(buf + 32, &flags, 4);
    CHECK_OK(setattrlist(path, &al, buf, sizeof buf, 0));
    CHECK_EQ(crtime_of(path).tv_sec, 800000000);
    CHECK_EQ(lstat_of(path).st_mtim.tv_sec, 1000000000);
    CHECK_EQ(flags_of(path, 0), UF_HIDDEN);
    CHECK_ERR(setattrlist(path, &al, buf, 20, 0), EINVAL); /* buffer too short */
    /* fsetattrlist. */
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    al = attrs(ATTR_CMN_CRTIME, 0, 0);
    int64_t ts[2] = {700000000, 9};
    CHECK_OK(fsetattrlist(fd, &al, ts, sizeof ts, 0));
    CHECK_EQ(crtime_of(path).tv_sec, 700000000);
    close(fd);
    /* Owner, group and mode, in bit order after the times. */
    al = attrs(ATTR_CMN_OWNERID | ATTR_CMN_GRPID | ATTR_CMN_ACCESSMASK, 0, 0);
    uint32_t ids[3] = {4321, 8765, 0640};
    if (geteuid() == 0) {
        CHECK_OK(setattrlist(path, &al, ids, sizeof ids, 0));
        CHECK_EQ(lstat_of(path).st_uid, 4321);
        CHECK_EQ(lstat_of(path).st_gid, 8765);
        CHECK_EQ(lstat_of(path).st_mode & 07777, 0640);
        CHECK_OK(chown(path, 0, 0));
    }
    /* Errors. */
    al = attrs(ATTR_CMN_NAME, 0, 0);
    CHECK_ERR(setattrlist(path, &al, buf, sizeof buf, 0), EINVAL); /* not settable */
    al = attrs(ATTR_CMN_FNDRINFO, 0, 0);
    CHECK_ERR(setattrlist(path, &al, buf, sizeof buf, 0), ENOTSUP); /* not simulated */
    al = attrs(ATTR_CMN_CRTIME, 0, 0);
    al.bitmapcount = 6;
    CHECK_ERR(setattrlist(path, &al, ts, sizeof ts, 0), EINVAL);
    al.bitmapcount = ATTR_BIT_MAP_COUNT;
    become_nobody();
    CHECK_ERR(setattrlist(path, &al, ts, sizeof ts, 0), EPERM); /* not the owner */
}

static void test_chflags(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *path = path_in(dir, "f"), *link = path_in(dir, "link");
    write_text(path, "x");
    CHECK_OK(symlink("f", link));
    CHECK_EQ(flags_of(path, 0), 0);
    CHECK_OK(chflags(path, UF_HIDDEN));
    CHECK_EQ(flags_of(path, 0), UF_HIDDEN);
    CHECK_EQ(flags_of(link, 0), UF_HIDDEN);
    CHECK_EQ(flags_of(link, FSOPT_NOFOLLOW), 0);
    int fd = open(path, O_RDONLY);
    CHECK_OK(fchflags(fd, UF_HIDDEN | SF_ARCHIVED));
    CHECK_EQ(flags_of(path, 0), UF_HIDDEN | SF_ARCHIVED);
    close(fd);
    CHECK_ERR(lchflags(link, UF_HIDDEN), ENOTSUP); /* Linux symlinks carry no record */
    CHECK_OK(lchflags(link, 0));
    CHECK_ERR(chflags(path, SF_DATALESS), EINVAL); /* synthetic */
    CHECK_OK(mkdir(path_in(dir, "d"), 0755));
    CHECK_OK(chflags(path_in(dir, "d"), UF_HIDDEN | UF_OPAQUE));
    CHECK_EQ(flags_of(path_in(dir, "d"), 0), UF_HIDDEN | UF_OPAQUE);
    CHECK_ERR(chflags(path_in(dir, "missing"), 0), ENOENT);
    CHECK_OK(chflags(path, 0));
    CHECK_EQ(oracle_getxattr(path, "user.com.apple.system.darwin-sim", NULL, 0), -1);
    /* Owner-only, and SF_* for root only. */
    const char *open = open_dir(dir, "open");
    const char *mine = path_in(open, "mine");
    write_text(mine, "m");
    CHECK_OK(chown(mine, 65534, 65534));
    CHECK_OK(chmod(mine, 0444)); /* no write permission: still the owner's to flag */
    CHECK_OK(chflags(path, SF_ARCHIVED));
    become_nobody();
    CHECK_ERR(chflags(path, SF_ARCHIVED | UF_HIDDEN), EPERM);
    CHECK_OK(chflags(mine, UF_HIDDEN));
    CHECK_EQ(flags_of(mine, 0), UF_HIDDEN);
    CHECK_EQ(lstat_of(mine).st_mode & 07777, 0444);
    CHECK_ERR(chflags(mine, UF_HIDDEN | SF_ARCHIVED), EPERM);
}

static void test_ext_flags_and_private_size(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *src = path_in(dir, "src"), *dst = path_in(dir, "dst");
    write_random(src, 1 << 20, 23);
    struct attrlist al = attrs(ATTR_CMN_RETURNED_ATTRS, 0, 0);
    al.forkattr = ATTR_CMNEXT_PRIVATESIZE | ATTR_CMNEXT_EXT_FLAGS;
    unsigned char buf[128];
    CHECK_ERR(getattrlist(src, &al, buf, sizeof buf, 0), EINVAL); /* needs CMN_EXTENDED */
    CHECK_OK(getattrlist(src, &al, buf, sizeof buf, FSOPT_ATTR_CMN_EXTENDED));
    CHECK_EQ(rd_u32(buf, 0), 4 + 20 + 8 + 8);
    CHECK_EQ(rd_u32(buf, 4 + 16), ATTR_CMNEXT_PRIVATESIZE | ATTR_CMNEXT_EXT_FLAGS);
    CHECK_EQ(rd_i64(buf, 24), 1 << 20);
    CHECK_EQ(rd_i64(buf, 32), EF_NO_XATTRS);
    CHECK_OK(clonefile(src, dst, 0));
    CHECK_OK(getattrlist(dst, &al, buf, sizeof buf, FSOPT_ATTR_CMN_EXTENDED));
    CHECK_EQ(rd_i64(buf, 24), 0);
    CHECK_EQ(rd_i64(buf, 32), EF_MAY_SHARE_BLOCKS | EF_SHARES_ALL_BLOCKS | EF_NO_XATTRS);
    CHECK_OK(setxattr(src, "k", "v", 1, 0, 0));
    CHECK_OK(getattrlist(src, &al, buf, sizeof buf, FSOPT_ATTR_CMN_EXTENDED));
    CHECK_EQ(rd_i64(buf, 32), EF_MAY_SHARE_BLOCKS | EF_SHARES_ALL_BLOCKS);
    /* A sparse file. */
    const char *holes = path_in(dir, "holes");
    int fd = open(holes, O_WRONLY | O_CREAT, 0644);
    CHECK_EQ(pwrite(fd, "x", 1, 1 << 20), 1);
    close(fd);
    CHECK_OK(getattrlist(holes, &al, buf, sizeof buf, FSOPT_ATTR_CMN_EXTENDED));
    CHECK(rd_i64(buf, 32) & EF_IS_SPARSE);
}

/* ================================================================= xattrs */

static void test_xattr_name_mapping(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *path = path_in(dir, "f");
    write_text(path, "x");
    unsigned char finder[32] = {1, 2, 3};
    CHECK_OK(setxattr(path, XATTR_FINDERINFO_NAME, finder, sizeof finder, 0, 0));
    CHECK_EQ(oracle_getxattr(path, "user.com.apple.FinderInfo", NULL, 0), 32);
    CHECK_OK(oracle_setxattr(path, "user.from-linux", "L", 1));
    if (geteuid() == 0)
        CHECK_OK(oracle_setxattr(path, "trusted.hidden", "T", 1));
    char list[256];
    ssize_t n = listxattr(path, list, sizeof list, 0);
    CHECK_EQ(n, (ssize_t)(sizeof "com.apple.FinderInfo" + sizeof "from-linux"));
    CHECK_EQ(listxattr(path, NULL, 0, 0), n);
    CHECK(memmem(list, (size_t)n, "com.apple.FinderInfo", sizeof "com.apple.FinderInfo"));
    CHECK(memmem(list, (size_t)n, "from-linux", sizeof "from-linux"));
    CHECK_ERR(listxattr(path, list, (size_t)n - 1, 0), ERANGE);
    char v[8] = {0};
    CHECK_EQ(getxattr(path, "from-linux", v, sizeof v, 0, 0), 1);
    CHECK_STR_EQ(v, "L");
    CHECK_EQ(getxattr(path, "from-linux", NULL, 0, 0, 0), 1);
    CHECK_ERR(getxattr(path, "trusted.hidden", v, sizeof v, 0, 0), ENOATTR);
    CHECK_ERR(getxattr(path, XATTR_FINDERINFO_NAME, v, 4, 0, 0), ERANGE);
    int fd = open(path, O_RDONLY);
    CHECK_EQ(flistxattr(fd, NULL, 0, 0), n);
    CHECK_EQ(fgetxattr(fd, "from-linux", v, sizeof v, 0, 0), 1);
    CHECK_OK(fsetxattr(fd, "via-fd", "F", 1, 0, 0));
    CHECK_EQ(oracle_getxattr(path, "user.via-fd", NULL, 0), 1);
    CHECK_OK(fremovexattr(fd, "via-fd", 0));
    CHECK_OK(removexattr(path, "from-linux", 0));
    CHECK_EQ(oracle_getxattr(path, "user.from-linux", NULL, 0), -1);
    close(fd);
}

static void test_xattr_errors(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *path = path_in(dir, "f");
    write_text(path, "x");
    char v[8];
    CHECK_ERR(getxattr(path, "missing", v, sizeof v, 0, 0), ENOATTR);
    CHECK(ENOATTR != oracle_enodata());
    CHECK_ERR(removexattr(path, "missing", 0), ENOATTR);
    CHECK_ERR(setxattr(path, "k", "v", 1, 0, XATTR_REPLACE), ENOATTR);
    CHECK_OK(setxattr(path, "k", "v", 1, 0, XATTR_CREATE));
    CHECK_ERR(setxattr(path, "k", "w", 1, 0, XATTR_CREATE), EEXIST);
    CHECK_OK(setxattr(path, "k", "w", 1, 0, XATTR_REPLACE));
    CHECK_ERR(setxattr(path, "k", "w", 1, 0, XATTR_CREATE | XATTR_REPLACE), EINVAL);
    char name[200];
    memset(name, 'n', sizeof name);
    name[XATTR_MAXNAMELEN] = '\0';
    CHECK_OK(setxattr(path, name, "v", 1, 0, 0)); /* 127 bytes: fine */
    name[XATTR_MAXNAMELEN] = 'n';
    name[XATTR_MAXNAMELEN + 1] = '\0';
    CHECK_ERR(setxattr(path, name, "v", 1, 0, 0), ENAMETOOLONG);
    CHECK_ERR(getxattr(path, name, v, sizeof v, 0, 0), ENAMETOOLONG);
    CHECK_ERR(getxattr(path, "k", v, sizeof v, 1, 0), EINVAL); /* position */
    CHECK_ERR(setxattr(path, "k", "v", 1, 1, 0), EINVAL);
    CHECK_ERR(getxattr(path, "k", v, sizeof v, 0, XATTR_NOSECURITY), EINVAL);
    CHECK_ERR(listxattr(path, NULL, 0, XATTR_NODEFAULT), EINVAL);
    CHECK_ERR(setxattr(path, "", "v", 1, 0, 0), EINVAL);
    CHECK_ERR(setxattr(path, "bad\xff", "v", 1, 0, 0), EINVAL);
    CHECK_ERR(setxattr(path, "k", NULL, 1, 0, 0), EINVAL);
    CHECK_ERR(setxattr(path, XATTR_FINDERINFO_NAME, "short", 5, 0, 0), ERANGE);
    CHECK_ERR(setxattr(path, "com.apple.system.x", "v", 1, 0, 0), EPERM);
    CHECK_ERR(removexattr(path, "com.apple.system.x", 0), EPERM);
    int fd = open(path, O_RDONLY);
    CHECK_ERR(fgetxattr(fd, "k", v, sizeof v, 0, XATTR_NOFOLLOW), EINVAL);
    CHECK_ERR(fsetxattr(fd, "k", "v", 1, 0, XATTR_NOFOLLOW), EINVAL);
    CHECK_ERR(flistxattr(fd, NULL, 0, XATTR_NOFOLLOW), EINVAL);
    CHECK_ERR(fremovexattr(fd, "k", XATTR_NOFOLLOW), EINVAL);
    CHECK_ERR(fgetxattr(-1, "k", v, sizeof v, 0, 0), EBADF);
    close(fd);
    CHECK_ERR(getxattr(path_in(dir, "missing"), "k", v, sizeof v, 0, 0), ENOENT);
    const char *fifo = path_in(dir, "fifo");
    CHECK_OK(mkfifo(fifo, 0644));
    CHECK_ERR(getxattr(fifo, "k", v, sizeof v, 0, 0), EPERM); /* not a file, dir or link */
}

static void test_xattr_symlinks(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *path = path_in(dir, "f"), *link = path_in(dir, "link");
    write_text(path, "x");
    CHECK_OK(symlink("f", link));
    CHECK_OK(setxattr(link, "k", "v", 1, 0, 0)); /* followed: on f */
    CHECK_EQ(oracle_getxattr(path, "user.k", NULL, 0), 1);
    CHECK_EQ(getxattr(link, "k", NULL, 0, 0, 0), 1);
    CHECK_ERR(getxattr(link, "k", NULL, 0, 0, XATTR_NOFOLLOW), ENOATTR);
    CHECK_EQ(listxattr(link, NULL, 0, XATTR_NOFOLLOW), 0);
    CHECK_ERR(setxattr(link, "k", "v", 1, 0, XATTR_NOFOLLOW), EPERM); /* Linux symlinks */
    CHECK_OK(mkdir(path_in(dir, "sub"), 0755));
    write_text(path_in(dir, "sub/g"), "g");
    CHECK_OK(symlink("sub", path_in(dir, "sublink")));
    CHECK_ERR(getxattr(path_in(dir, "sublink/g"), "k", NULL, 0, 0, XATTR_NOFOLLOW_ANY), ELOOP);
    CHECK_ERR(getxattr(link, "k", NULL, 0, 0, XATTR_NOFOLLOW_ANY), ELOOP);
    CHECK_ERR(getxattr(path_in(dir, "sub/g"), "k", NULL, 0, 0, XATTR_NOFOLLOW_ANY), ENOATTR);
}

static void test_xattr_resource_fork_and_compression(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *path = path_in(dir, "f");
    write_text(path, "x");
    CHECK_OK(setxattr(path, XATTR_RESOURCEFORK_NAME, "hello", 5, 0, 0));
    CHECK_OK(setxattr(path, XATTR_RESOURCEFORK_NAME, " world", 6, 5, 0));
    char v[32] = {0};
    CHECK_EQ(getxattr(path, XATTR_RESOURCEFORK_NAME, v, sizeof v, 0, 0), 11);
    CHECK_STR_EQ(v, "hello world");
    memset(v, 0, sizeof v);
    CHECK_EQ(getxattr(path, XATTR_RESOURCEFORK_NAME, v, sizeof v, 6, 0), 5);
    CHECK_STR_EQ(v, "world");
    CHECK_ERR(setxattr(path, XATTR_RESOURCEFORK_NAME, "x", 1, 3, XATTR_CREATE), EEXIST);
    /* UF_COMPRESSED hides decmpfs and the resource fork unless asked. */
    CHECK_OK(setxattr(path, DECMPFS_XATTR_NAME, "fpmc", 4, 0, 0));
    CHECK_OK(chflags(path, UF_COMPRESSED));
    CHECK_ERR(getxattr(path, DECMPFS_XATTR_NAME, v, sizeof v, 0, 0), ENOATTR);
    CHECK_EQ(getxattr(path, DECMPFS_XATTR_NAME, v, sizeof v, 0, XATTR_SHOWCOMPRESSION), 4);
    CHECK_EQ(listxattr(path, NULL, 0, 0), 0);
    CHECK_EQ(listxattr(path, NULL, 0, XATTR_SHOWCOMPRESSION),
             (ssize_t)(sizeof DECMPFS_XATTR_NAME + sizeof XATTR_RESOURCEFORK_NAME));
}

/* ============================================================ renamex_np */

static void test_renamex(const struct harness_fs *fs, const char *dir)
{
    const char *a = path_in(dir, "a"), *b = path_in(dir, "b"), *c = path_in(dir, "c");
    write_text(a, "A");
    write_text(b, "B");
    CHECK_ERR(renamex_np(a, b, RENAME_EXCL), EEXIST);
    CHECK(exists(a));
    CHECK_OK(renamex_np(a, c, RENAME_EXCL));
    CHECK(!exists(a));
    write_text(b, "new B");
    CHECK_OK(renamex_np(b, c, RENAME_SWAP)); /* c held "A", b "new B" */
    FILE *f = fopen(c, "r"), *g = fopen(b, "r");
    CHECK(f && g);
    CHECK_EQ(fgetc(f), 'n');
    CHECK_EQ(fgetc(g), 'A');
    fclose(f);
    fclose(g);
    CHECK_ERR(renamex_np(b, a, RENAME_SWAP), ENOENT);
    CHECK_ERR(renamex_np(b, c, RENAME_SWAP | RENAME_EXCL), EINVAL);
    CHECK_ERR(renamex_np(b, c, RENAME_RESERVED1), EINVAL);
    CHECK_ERR(renamex_np(b, c, RENAME_SECLUDE), ENOTSUP);
    CHECK_OK(mkdir(path_in(dir, "sub"), 0755));
    CHECK_OK(symlink("sub", path_in(dir, "sublink")));
    CHECK_ERR(renamex_np(b, path_in(dir, "sublink/b"), RENAME_NOFOLLOW_ANY), ELOOP);
    CHECK_OK(renamex_np(b, path_in(dir, "sub/b"), RENAME_NOFOLLOW_ANY | RENAME_EXCL));
    int dirfd = open(dir, O_RDONLY);
    CHECK_OK(renameatx_np(dirfd, "sub/b", dirfd, "d", RENAME_EXCL));
    CHECK(exists(path_in(dir, "d")));
    close(dirfd);
    const char *other = harness_dir_on(strcmp(fs->name, "btrfs") == 0 ? "xfs" : "btrfs");
    CHECK_ERR(renamex_np(path_in(dir, "d"), path_in(other, "d"), RENAME_EXCL), EXDEV);
}

int main(void)
{
    static const struct harness_case cases[] = {
        {"layouts_and_values", test_layouts_and_values, FS_ONCE},
        {"clone_shares_extents", test_clone_shares_extents, FS_COW},
        {"clone_enotsup_where_no_reflink", test_clone_enotsup_where_no_reflink,
         FS_NOCOW | FS_XFS_NOREFLINK},
        {"clone_eexist_before_exdev", test_clone_eexist_before_exdev, FS_ONCE},
        {"clone_flags_and_old_kernels", test_clone_flags_and_old_kernels, FS_COW},
        {"clone_source_types", test_clone_source_types, FS_COW},
        {"clone_symlinks", test_clone_symlinks, FS_COW},
        {"clone_clears_setid_bits", test_clone_clears_setid_bits, FS_COW},
        {"clone_owner", test_clone_owner, FS_COW},
        {"clone_permissions", test_clone_permissions, FS_COW},
        {"clone_acl", test_clone_acl, FS_COW},
        {"clone_metadata", test_clone_metadata, FS_COW},
        {"fclonefileat", test_fclonefileat, FS_COW},
        {"copyfile_clone", test_copyfile_clone, FS_COW},
        {"copyfile_clone_fallback", test_copyfile_clone_fallback, FS_NOCOW | FS_XFS_NOREFLINK},
        {"fcopyfile_ignores_clone_bits", test_fcopyfile_ignores_clone_bits, FS_COW},
        {"copyfile_data_sparse", test_copyfile_data_sparse, FS_ALL},
        {"copyfile_metadata", test_copyfile_metadata, FS_ALL},
        {"copyfile_names_and_flags", test_copyfile_names_and_flags, FS_ALL},
        {"copyfile_state", test_copyfile_state, FS_ONCE},
        {"log2phys_matches_fiemap", test_log2phys_matches_fiemap, FS_COW | FS_EXT4},
        {"log2phys_clones_share_offsets", test_log2phys_clones_share_offsets, FS_COW},
        {"log2phys_errors_and_plain", test_log2phys_errors_and_plain, FS_ONCE},
        {"fcntl_other_commands", test_fcntl_other_commands, FS_COW | FS_EXT4},
        {"volume_clone_capability", test_volume_clone_capability, FS_ALL | FS_XFS_NOREFLINK},
        {"attrlist_packing", test_attrlist_packing, FS_ONCE},
        {"crtime_read_write", test_crtime_read_write, FS_ALL},
        {"chflags", test_chflags, FS_ALL},
        {"ext_flags_and_private_size", test_ext_flags_and_private_size, FS_COW},
        {"xattr_name_mapping", test_xattr_name_mapping, FS_ALL},
        {"xattr_errors", test_xattr_errors, FS_ALL},
        {"xattr_symlinks", test_xattr_symlinks, FS_ALL},
        {"xattr_resource_fork_and_compression", test_xattr_resource_fork_and_compression, FS_ONCE},
        {"renamex", test_renamex, FS_ALL},
    };
    return harness_main(cases, sizeof cases / sizeof cases[0]);
}
