/*
 * test_extents.c - the inspection calls through the C API, on real
 * filesystems: cowcopy_shared_measure() (clones, partial overwrites, holes,
 * many extents, subvolumes, bad input), cowcopy_usage_measure() (exact
 * values, hard links, overlapping paths, -x, errors) and cowcopy_fs_probe()
 * (every scratch filesystem, unwritable directories, nothing left behind),
 * plus the range sets underneath and failures injected into FIEMAP, FICLONE,
 * FIDEDUPERANGE and friends. Sharing is proven independently with the
 * harness's own FIEMAP reader, not with the code under test.
 */
#include "harness.h"

#include "cowcopy.h"
#include "extents.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

enum { KiB = 1024, MiB = 1024 * 1024 };

static void fault(const char *spec)
{
    CHECK_EQ(cowcopy__fault_set(spec), 0);
}

/* dst becomes a clone of src (ioctl FICLONE, not the code under test). */
static void clone_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(in >= 0 && out >= 0);
    CHECK_OK(ioctl(out, FICLONE, in));
    close(in);
    close(out);
}

/* A real, independent copy by read/write. */
static void copy_bytes(const char *src, const char *dst)
{
    cowcopy_options o;
    cowcopy_options_init(&o);
    o.reflink = COWCOPY_REFLINK_NEVER;
    CHECK_OK(cowcopy_file_copy(src, dst, &o, NULL));
}

static void overwrite(const char *path, uint64_t offset, size_t len, unsigned char byte)
{
    unsigned char buf[64 * 1024];
    CHECK(len <= sizeof buf);
    memset(buf, byte, len);
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, buf, len, (off_t)offset), (long long)len);
    CHECK_OK(fsync(fd));
    close(fd);
}

/* Measure one other file against file. @return the call's result. */
static int measure(const char *file, const char *other, cowcopy_shared *res)
{
    const char *others[] = {other};
    return cowcopy_shared_measure(file, others, 1, res);
}

/* ----------------------------------------------------------- range sets */

static void test_rangeset(const struct harness_fs *fs, const char *dir)
{
    (void)fs, (void)dir;
    cowcopy__rangeset s = {0};
    CHECK_OK(cowcopy__rangeset_add(&s, 100, 50));  /* [100,150) */
    CHECK_OK(cowcopy__rangeset_add(&s, 0, 10));    /* [0,10) */
    CHECK_OK(cowcopy__rangeset_add(&s, 140, 20));  /* overlaps: [100,160) */
    CHECK_OK(cowcopy__rangeset_add(&s, 10, 5));    /* touches: [0,15) */
    CHECK_OK(cowcopy__rangeset_add(&s, 500, 0));   /* empty: ignored */
    CHECK_OK(cowcopy__rangeset_add(&s, 1000, 1));
    CHECK_EQ(cowcopy__rangeset_normalize(&s), 15 + 60 + 1);
    CHECK_EQ(s.n, 3);
    CHECK_EQ(cowcopy__rangeset_overlap(&s, 0, 2000), 76);
    CHECK_EQ(cowcopy__rangeset_overlap(&s, 14, 2), 1);    /* last byte of [0,15) */
    CHECK_EQ(cowcopy__rangeset_overlap(&s, 15, 85), 0);   /* the gap exactly */
    CHECK_EQ(cowcopy__rangeset_overlap(&s, 5, 100), 15);  /* 5..15 and 100..105 */
    CHECK_EQ(cowcopy__rangeset_overlap(&s, 159, 1000), 2); /* 159 and 1000 */
    CHECK_EQ(cowcopy__rangeset_overlap(&s, 2000, 10), 0);

    cowcopy__rangeset t = {0};
    CHECK_OK(cowcopy__rangeset_add(&t, 12, 100)); /* [12,112) joins both */
    CHECK_OK(cowcopy__rangeset_merge(&s, &t));
    CHECK_EQ(cowcopy__rangeset_normalize(&s), 160 + 1);
    CHECK_EQ(s.n, 2);
    cowcopy__rangeset_free(&t);
    cowcopy__rangeset_free(&s);

    /* Past the compaction threshold: many duplicates and neighbours, in
     * descending order; the set must stay exact while compacting itself. */
    for (int round = 0; round < 3; round++)
        for (uint64_t i = 200000; i-- > 0;)
            CHECK_OK(cowcopy__rangeset_add(&s, (i % 50000) * 10, 5 + round));
    CHECK(s.cap < 600000); /* compacted rather than grown to hold every add */
    CHECK_EQ(cowcopy__rangeset_normalize(&s), 50000ull * 7);
    CHECK_EQ(s.n, 50000);
    CHECK_EQ(cowcopy__rangeset_overlap(&s, 0, 500000), 50000ull * 7);
    CHECK_EQ(cowcopy__rangeset_overlap(&s, 6, 10), 1 + 6); /* 6, then 10..15 */
    cowcopy__rangeset_free(&s);
}

/* --------------------------------------------------------------- shared */

static void test_shared_clone_and_copy(const struct harness_fs *fs, const char *dir)
{
    const char *a = path_in(dir, "a"), *b = path_in(dir, "b"), *c = path_in(dir, "c");
    write_random(a, 3 * MiB + 123, 1);
    CHECK_OK(cowcopy_file_copy(a, b, NULL, NULL)); /* a clone where the filesystem can */
    copy_bytes(a, c);
    cowcopy_shared r;
    CHECK_EQ(measure(a, b, &r), 0);
    CHECK_EQ(r.size, 3 * MiB + 123);
    CHECK_EQ(r.data_bytes, 3 * MiB + 123); /* clipped at end of file, byte-exact */
    if (fs->can_clone) {
        CHECK(is_clone_of(b, a));
        CHECK_EQ(r.shared_bytes, r.data_bytes);
        CHECK_EQ(r.basis, COWCOPY_SHARED_EXTENTS);
    } else {
        CHECK(!shares_any_block(a, b));
        CHECK_EQ(r.shared_bytes, 0);
        CHECK_EQ(r.basis, fs->bit == FS_TMPFS ? COWCOPY_SHARED_NO_MAP : COWCOPY_SHARED_EXTENTS);
    }
    CHECK_EQ(measure(a, c, &r), 0);
    CHECK(!shares_any_block(a, c));
    CHECK_EQ(r.shared_bytes, 0);
    CHECK_EQ(r.data_bytes, 3 * MiB + 123);
    /* A file with itself, and through a hard link: all of it. */
    CHECK_OK(link(a, path_in(dir, "a-link")));
    CHECK_EQ(measure(a, path_in(dir, "a-link"), &r), 0);
    CHECK_EQ(r.basis, COWCOPY_SHARED_SAME_FILE);
    CHECK_EQ(r.shared_bytes, 3 * MiB + 123);
}

/* The case: a clone, then one 4 KiB block in its middle rewritten. */
static void test_shared_partial_overwrite(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *a = path_in(dir, "a"), *b = path_in(dir, "b");
    write_random(a, 8 * MiB, 2);
    clone_file(a, b);
    overwrite(b, 4 * MiB, 4096, 0x5a);
    cowcopy_shared r;
    CHECK_EQ(measure(a, b, &r), 0);
    CHECK_EQ(r.data_bytes, 8 * MiB);
    CHECK_EQ(r.shared_bytes, 8 * MiB - 4096);
    CHECK_EQ(measure(b, a, &r), 0);
    CHECK_EQ(r.shared_bytes, 8 * MiB - 4096);
    /* A clone of the clone shares all of b and all but that block of a. */
    const char *c = path_in(dir, "c");
    clone_file(b, c);
    const char *others[] = {a, b};
    cowcopy_shared rs[2];
    CHECK_EQ(cowcopy_shared_measure(c, others, 2, rs), 0);
    CHECK_EQ(rs[0].shared_bytes, 8 * MiB - 4096);
    CHECK_EQ(rs[1].shared_bytes, 8 * MiB);
}

/* Two clones of one source: each shares everything with it and each other. */
static void test_shared_two_clones(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *a = path_in(dir, "a"), *b = path_in(dir, "b"), *c = path_in(dir, "c");
    write_random(a, 1 * MiB, 3);
    clone_file(a, b);
    clone_file(a, c);
    const char *others[] = {b, c};
    cowcopy_shared rs[2];
    CHECK_EQ(cowcopy_shared_measure(a, others, 2, rs), 0);
    CHECK_EQ(rs[0].shared_bytes, MiB);
    CHECK_EQ(rs[1].shared_bytes, MiB);
    CHECK_EQ(measure(b, c, &rs[0]), 0);
    CHECK_EQ(rs[0].shared_bytes, MiB);
    CHECK_EQ(rs[0].data_bytes, MiB);
}

/* 300 data blocks between holes: more extents than one FIEMAP batch, and
 * holes that must not count. */
static void test_shared_sparse_many_extents(const struct harness_fs *fs, const char *dir)
{
    const char *a = path_in(dir, "a"), *b = path_in(dir, "b");
    int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    unsigned char block[4096];
    for (int i = 0; i < 300; i++) {
        memset(block, i + 1, sizeof block);
        CHECK_EQ(pwrite(fd, block, sizeof block, (off_t)i * 3 * 4096), 4096);
    }
    CHECK_OK(ftruncate(fd, 300 * 3 * 4096 + 5 * MiB)); /* a hole at the end too */
    close(fd);
    CHECK_OK(cowcopy_file_copy(a, b, NULL, NULL));
    struct extent *ext;
    int n = extents_of(a, &ext);
    if (fs->bit != FS_TMPFS)
        CHECK(n > COWCOPY__FIEMAP_BATCH);
    if (n > 0)
        free(ext);
    cowcopy_shared r;
    CHECK_EQ(measure(a, b, &r), 0);
    CHECK_EQ(r.data_bytes, 300 * 4096);
    CHECK_EQ(r.size, 300 * 3 * 4096 + 5 * MiB);
    CHECK_EQ(r.shared_bytes, fs->can_clone ? 300 * 4096 : 0);
}

/* Empty files, tiny (btrfs inline) files, different filesystems: 0. */
static void test_shared_nothing_to_share(const struct harness_fs *fs, const char *dir)
{
    const char *e1 = path_in(dir, "e1"), *e2 = path_in(dir, "e2");
    write_text(e1, "");
    CHECK_OK(cowcopy_file_copy(e1, e2, NULL, NULL));
    cowcopy_shared r;
    CHECK_EQ(measure(e1, e2, &r), 0);
    CHECK_EQ(r.data_bytes, 0);
    CHECK_EQ(r.shared_bytes, 0);
    const char *t1 = path_in(dir, "t1"), *t2 = path_in(dir, "t2");
    write_text(t1, "tiny\n");
    CHECK_OK(cowcopy_file_copy(t1, t2, NULL, NULL));
    CHECK_EQ(measure(t1, t2, &r), 0);
    CHECK_EQ(r.data_bytes, 5);
    if (fs->bit == FS_BTRFS) { /* inline in metadata: no block of its own to share */
        struct extent *ext;
        CHECK_EQ(extents_of(t2, &ext), 1);
        CHECK(ext[0].flags & FIEMAP_EXTENT_DATA_INLINE);
        free(ext);
        CHECK_EQ(r.shared_bytes, 0);
    } else {
        CHECK_EQ(r.shared_bytes, fs->bit == FS_XFS ? 5 : 0);
    }
    /* The same content on another filesystem. */
    const char *other = harness_fs_find("ext4") && fs->bit != FS_EXT4 ? "ext4" : "xfs";
    const char *far = path_in(harness_dir_on(other), "far");
    const char *a = path_in(dir, "a");
    write_random(a, MiB, 4);
    copy_bytes(a, far);
    CHECK_EQ(measure(a, far, &r), 0);
    CHECK_EQ(r.basis, COWCOPY_SHARED_OTHER_FS);
    CHECK_EQ(r.shared_bytes, 0);
    CHECK_EQ(r.data_bytes, MiB);
}

/* btrfs subvolumes have their own st_dev but share one physical space. */
static void test_shared_across_subvolumes(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    struct btrfs_ioctl_vol_args args;
    memset(&args, 0, sizeof args);
    snprintf(args.name, sizeof args.name, "sub");
    CHECK_OK(ioctl(dfd, BTRFS_IOC_SUBVOL_CREATE, &args));
    close(dfd);
    const char *a = path_in(dir, "a"), *b = path_in(dir, "sub/b");
    write_random(a, 2 * MiB, 5);
    clone_file(a, b);
    struct stat sa, sb;
    CHECK_OK(stat(a, &sa));
    CHECK_OK(stat(b, &sb));
    CHECK(sa.st_dev != sb.st_dev);
    cowcopy_shared r;
    CHECK_EQ(measure(a, b, &r), 0);
    CHECK_EQ(r.basis, COWCOPY_SHARED_EXTENTS);
    CHECK_EQ(r.shared_bytes, 2 * MiB);
    /* du over both: one physical space, the shared extent counted once. */
    const char *paths[] = {dir};
    cowcopy_usage u;
    CHECK_EQ(cowcopy_usage_measure(paths, 1, NULL, &u), 0);
    CHECK_EQ(u.files, 2);
    CHECK_EQ(u.total_bytes, 4 * MiB);
    CHECK_EQ(u.set_shared_bytes, 2 * MiB);
    CHECK_EQ(u.saved_bytes, 2 * MiB);
    /* Without the btrfs UUID the subvolumes look like two filesystems. */
    fault("btrfs_fsid=ENOTTY");
    CHECK_EQ(measure(a, b, &r), 0);
    CHECK_EQ(r.basis, COWCOPY_SHARED_OTHER_FS);
    fault(NULL);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "btrfs -q subvolume delete '%s/sub' >/dev/null", dir);
    CHECK_EQ(system(cmd), 0);
}

static void test_shared_bad_input(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *a = path_in(dir, "a"), *d = path_in(dir, "d"), *fifo = path_in(dir, "fifo");
    write_random(a, 64 * KiB, 6);
    CHECK_OK(mkdir(d, 0755));
    CHECK_OK(mkfifo(fifo, 0644));
    const char *missing = path_in(dir, "missing");
    const char *others[] = {missing, d, fifo, a, ""};
    cowcopy_shared rs[5];
    CHECK_EQ(cowcopy_shared_measure(a, others, 5, rs), -ENOENT);
    CHECK_EQ(rs[0].error.code, -ENOENT);
    CHECK_EQ(rs[0].error.op, COWCOPY_OP_STAT_SOURCE);
    CHECK_STR_EQ(rs[0].error.src, missing);
    CHECK_EQ(rs[1].error.code, -EISDIR);
    CHECK_EQ(rs[1].error.op, COWCOPY_OP_NOT_REGULAR);
    CHECK_STR_EQ(rs[1].error.src, d);
    CHECK_EQ(rs[2].error.code, -EINVAL); /* the FIFO is not opened: no hang */
    CHECK_EQ(rs[2].error.op, COWCOPY_OP_NOT_REGULAR);
    CHECK_EQ(rs[3].error.code, 0); /* the good one is still measured */
    CHECK_EQ(rs[3].shared_bytes, 64 * KiB);
    CHECK_EQ(rs[4].error.code, -ENOENT);
    /* The reference file itself bad: every result says so. */
    const char *two[] = {a, a};
    CHECK_EQ(cowcopy_shared_measure(d, two, 2, rs), -EISDIR);
    CHECK_EQ(rs[0].error.op, COWCOPY_OP_NOT_REGULAR);
    CHECK_STR_EQ(rs[1].error.src, d);
    CHECK_EQ(cowcopy_shared_measure(a, NULL, 0, NULL), 0);
    CHECK_EQ(cowcopy_shared_measure(a, NULL, 1, rs), -EINVAL);
    CHECK_EQ(strcmp(cowcopy_op_template(COWCOPY_OP_MAP_EXTENTS), "cannot read the extent map of %1"),
             0);
}

static void test_shared_unreadable(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *a = path_in(dir, "a"), *secret = path_in(dir, "secret");
    write_random(a, 64 * KiB, 7);
    CHECK_OK(cowcopy_file_copy(a, secret, NULL, NULL));
    CHECK_OK(chmod(secret, 0600));
    CHECK_OK(chmod(dir, 0755));
    become_nobody();
    cowcopy_shared r;
    CHECK_EQ(measure(a, secret, &r), -EACCES);
    CHECK_EQ(r.error.op, COWCOPY_OP_OPEN_SOURCE);
    CHECK_STR_EQ(r.error.src, secret);
    CHECK_EQ(measure(secret, a, &r), -EACCES);
    CHECK_STR_EQ(r.error.src, secret);
}

static void test_shared_faults(const struct harness_fs *fs, const char *dir)
{
    const char *a = path_in(dir, "a"), *b = path_in(dir, "b");
    write_random(a, 256 * KiB, 8);
    clone_file(a, b);
    cowcopy_shared r;
    fault("fiemap=EIO");
    CHECK_EQ(measure(a, b, &r), -EIO);
    CHECK_EQ(r.error.op, COWCOPY_OP_MAP_EXTENTS);
    CHECK_STR_EQ(r.error.call, "FIEMAP");
    CHECK_STR_EQ(r.error.src, a);
    fault("fiemap@2=EIO"); /* the reference maps, the other does not */
    CHECK_EQ(measure(a, b, &r), -EIO);
    CHECK_STR_EQ(r.error.src, b);
    /* No FIEMAP at all: data counted from SEEK_DATA, nothing claimed shared. */
    fault("fiemap=EOPNOTSUPP");
    CHECK_EQ(measure(a, b, &r), 0);
    CHECK_EQ(r.basis, COWCOPY_SHARED_NO_MAP);
    CHECK_EQ(r.data_bytes, 256 * KiB);
    CHECK_EQ(r.shared_bytes, 0);
    /* A filesystem that refuses FIEMAP_FLAG_SYNC: asked again without it. */
    fault("fiemap@1=EBADR,fiemap@3=EBADR");
    CHECK_EQ(measure(a, b, &r), 0);
    CHECK_EQ(r.shared_bytes, 256 * KiB);
    fault("lseek=EIO,fiemap=ENOTTY");
    CHECK_EQ(measure(a, b, &r), -EIO);
    CHECK_STR_EQ(r.error.call, "lseek");
    fault("openat@2=EMLINK");
    CHECK_EQ(measure(a, b, &r), -EMLINK);
    CHECK_EQ(r.error.op, COWCOPY_OP_OPEN_SOURCE);
    fault(NULL);
    (void)fs;
}

/* ---------------------------------------------------------------- usage */

static cowcopy_usage usage_of(const char *path)
{
    const char *paths[] = {path};
    cowcopy_usage u;
    CHECK_EQ(cowcopy_usage_measure(paths, 1, NULL, &u), 0);
    CHECK_EQ(u.errors, 0);
    return u;
}

/* The numbers: a 32 MiB file alone, then with its clone. */
static void test_usage_file_and_clone(const struct harness_fs *fs, const char *dir)
{
    const char *a = path_in(dir, "a");
    write_random(a, 32 * MiB, 9);
    cowcopy_usage u = usage_of(dir);
    CHECK_EQ(u.files, 1);
    CHECK_EQ(u.apparent_bytes, 32 * MiB);
    CHECK_EQ(u.total_bytes, 32 * MiB);
    CHECK_EQ(u.exclusive_bytes, 32 * MiB);
    CHECK_EQ(u.set_shared_bytes, 0);
    CHECK_EQ(u.saved_bytes, 0);
    CHECK(u.threads >= 1);
    CHECK_OK(cowcopy_file_copy(a, path_in(dir, "b"), NULL, NULL));
    u = usage_of(dir);
    CHECK_EQ(u.files, 2);
    CHECK_EQ(u.apparent_bytes, 64 * MiB);
    CHECK_EQ(u.total_bytes, 64 * MiB);
    if (fs->can_clone) {
        CHECK(is_clone_of(path_in(dir, "b"), a));
        CHECK_EQ(u.exclusive_bytes, 0);
        CHECK_EQ(u.set_shared_bytes, 32 * MiB);
        CHECK_EQ(u.saved_bytes, 32 * MiB);
        /* The file alone now: shared with something outside the set. */
        u = usage_of(a);
        CHECK_EQ(u.exclusive_bytes, 0);
        CHECK_EQ(u.set_shared_bytes, 32 * MiB);
        CHECK_EQ(u.saved_bytes, 0);
    } else {
        CHECK_EQ(u.exclusive_bytes, 64 * MiB);
        CHECK_EQ(u.set_shared_bytes, 0);
        CHECK_EQ(u.saved_bytes, 0);
    }
    /* Room for the other suites on the small scratch filesystems. */
    CHECK_OK(unlink(a));
    CHECK_OK(unlink(path_in(dir, "b")));
}

/* Partial overwrite of a clone: the set uses size + 4 KiB distinct bytes. */
static void test_usage_partial_overwrite(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *a = path_in(dir, "a"), *b = path_in(dir, "b");
    write_random(a, 8 * MiB, 10);
    clone_file(a, b);
    overwrite(b, 4 * MiB, 4096, 0x33);
    cowcopy_usage u = usage_of(dir);
    CHECK_EQ(u.total_bytes, 16 * MiB);
    CHECK_EQ(u.exclusive_bytes + u.set_shared_bytes, 8 * MiB + 4096);
    CHECK_EQ(u.saved_bytes, 8 * MiB - 4096);
}

/* Hard links, overlapping paths and the same path twice count once. */
static void test_usage_counts_each_inode_once(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *sub = path_in(dir, "sub");
    CHECK_OK(mkdir(sub, 0755));
    write_random(path_in(dir, "sub/a"), 100 * KiB, 11);
    CHECK_OK(link(path_in(dir, "sub/a"), path_in(dir, "a-link")));
    write_random(path_in(dir, "b"), 8 * KiB, 12);
    CHECK_OK(symlink("b", path_in(dir, "b-symlink"))); /* not followed inside the tree */
    CHECK_OK(mkfifo(path_in(dir, "fifo"), 0644));
    cowcopy_usage u = usage_of(dir);
    CHECK_EQ(u.files, 2);
    CHECK_EQ(u.apparent_bytes, 108 * KiB);
    CHECK_EQ(u.total_bytes, 108 * KiB);
    const char *paths[] = {dir, sub, path_in(dir, "b"), dir, path_in(dir, "b-symlink")};
    CHECK_EQ(cowcopy_usage_measure(paths, 5, NULL, &u), 0);
    CHECK_EQ(u.files, 2);
    CHECK_EQ(u.total_bytes, 108 * KiB);
    /* A symlink given as a path is followed. */
    const char *one[] = {path_in(dir, "b-symlink")};
    CHECK_EQ(cowcopy_usage_measure(one, 1, NULL, &u), 0);
    CHECK_EQ(u.files, 1);
    CHECK_EQ(u.apparent_bytes, 8 * KiB);
    /* A tail block counts whole; holes and the sparse end do not. */
    const char *s = path_in(dir, "sparse");
    int fd = open(s, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, "x", 1, 3 * MiB), 1);
    CHECK_EQ(pwrite(fd, "y", 1, 5 * MiB + 100), 1);
    close(fd);
    u = usage_of(s);
    CHECK_EQ(u.apparent_bytes, 5 * MiB + 101);
    CHECK_EQ(u.total_bytes, 2 * 4096);
}

struct errors_seen {
    int count;
    char first[4096];
    int op;
};

static int note_error(void *data, const cowcopy_error *e)
{
    struct errors_seen *s = data;
    if (s->count++ == 0) {
        snprintf(s->first, sizeof s->first, "%s", e->src ? e->src : "(null)");
        s->op = e->op;
    }
    return 0;
}

static void test_usage_errors(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *sub = path_in(dir, "sub");
    CHECK_OK(mkdir(sub, 0755));
    write_random(path_in(dir, "sub/ok"), 8 * KiB, 13);
    write_random(path_in(dir, "sub/secret"), 8 * KiB, 14);
    CHECK_OK(chmod(path_in(dir, "sub/secret"), 0600));
    CHECK_OK(mkdir(path_in(dir, "closed"), 0700));
    write_random(path_in(dir, "closed/x"), 8 * KiB, 15);
    CHECK_OK(chmod(dir, 0755));
    become_nobody();
    struct errors_seen seen = {0};
    cowcopy_usage_options o;
    cowcopy_usage_options_init(&o);
    o.on_error = note_error;
    o.error_data = &seen;
    o.threads = 1;
    const char *missing = path_in(dir, "missing");
    const char *paths[] = {missing, dir};
    cowcopy_usage u;
    CHECK_EQ(cowcopy_usage_measure(paths, 2, &o, &u), -ENOENT);
    CHECK_EQ(u.errors, 3); /* missing, sub/secret, closed/ */
    CHECK_EQ(seen.count, 3);
    CHECK_STR_EQ(seen.first, missing);
    CHECK_EQ(seen.op, COWCOPY_OP_STAT_SOURCE);
    CHECK_EQ(u.files, 1); /* the rest is still measured */
    CHECK_EQ(u.total_bytes, 8 * KiB);
    o.flags = 0x80;
    CHECK_EQ(cowcopy_usage_measure(paths, 2, &o, &u), -EINVAL);
}

static void test_usage_faults(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        write_random(path_in(dir, name), 16 * KiB, (uint32_t)(20 + i));
    }
    struct errors_seen seen = {0};
    cowcopy_usage_options o;
    cowcopy_usage_options_init(&o);
    o.on_error = note_error;
    o.error_data = &seen;
    const char *paths[] = {dir};
    cowcopy_usage u;
    fault("fiemap@2=EIO");
    CHECK_EQ(cowcopy_usage_measure(paths, 1, &o, &u), -EIO);
    CHECK_EQ(u.errors, 1);
    CHECK_EQ(seen.op, COWCOPY_OP_MAP_EXTENTS);
    CHECK_EQ(u.files, 3); /* the failed file is not half-counted */
    CHECK_EQ(u.total_bytes, 48 * KiB);
    seen.count = 0;
    fault("getdents=EIO");
    CHECK_EQ(cowcopy_usage_measure(paths, 1, &o, &u), -EIO);
    CHECK_EQ(seen.op, COWCOPY_OP_READ_DIR);
    CHECK_STR_EQ(seen.first, dir);
    /* No FIEMAP: data counted by SEEK_DATA as exclusive, never shared. */
    fault("fiemap=EOPNOTSUPP");
    CHECK_EQ(cowcopy_usage_measure(paths, 1, &o, &u), 0);
    CHECK_EQ(u.files, 4);
    CHECK_EQ(u.total_bytes, 64 * KiB);
    CHECK_EQ(u.exclusive_bytes, 64 * KiB);
    fault(NULL);
}

/* -x: a filesystem mounted inside the tree is left out. */
static void test_usage_one_file_system(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *mnt = path_in(dir, "mnt");
    CHECK_OK(mkdir(mnt, 0755));
    write_random(path_in(dir, "here"), 12 * KiB, 30);
    CHECK_OK(mount("tmpfs", mnt, "tmpfs", 0, "size=4m"));
    write_random(path_in(dir, "mnt/there"), 20 * KiB, 31);
    const char *paths[] = {dir};
    cowcopy_usage all, one;
    cowcopy_usage_options o;
    cowcopy_usage_options_init(&o);
    int r_all = cowcopy_usage_measure(paths, 1, &o, &all);
    o.flags = COWCOPY_USAGE_ONE_FILE_SYSTEM;
    int r_one = cowcopy_usage_measure(paths, 1, &o, &one);
    CHECK_OK(umount(mnt));
    CHECK_EQ(r_all, 0);
    CHECK_EQ(r_one, 0);
    CHECK_EQ(all.files, 2);
    CHECK_EQ(all.total_bytes, 32 * KiB);
    CHECK_EQ(one.files, 1);
    CHECK_EQ(one.total_bytes, 12 * KiB);
}

/* ---------------------------------------------------------------- probe */

static void test_probe(const struct harness_fs *fs, const char *dir)
{
    cowcopy_probe p;
    CHECK_EQ(cowcopy_fs_probe(dir, &p), 0);
    const char *name = fs->bit == FS_XFS_NOREFLINK ? "xfs" : fs->name;
    CHECK_STR_EQ(p.fs_name, name);
    CHECK(p.block_size >= 512);
    CHECK_EQ(p.writable, 1);
    int can = fs->can_clone ? COWCOPY_PROBE_YES : COWCOPY_PROBE_NO;
    CHECK_EQ(p.clone.answer, can);
    CHECK_EQ(p.dedupe.answer, can);
    /* Darwin has no copy_file_range; its dedupe is clone-and-compare. */
    CHECK_EQ(p.offload.answer, DARWIN_BACKEND ? COWCOPY_PROBE_NO : COWCOPY_PROBE_YES);
    if (!fs->can_clone) {
        CHECK_STR_EQ(p.clone.call, DARWIN_BACKEND ? "getattrlist" : "FICLONE");
        CHECK_EQ(p.clone.err, EOPNOTSUPP);
        CHECK_STR_EQ(p.dedupe.call, DARWIN_BACKEND ? "getattrlist" : "FIDEDUPERANGE");
    } else {
        CHECK(p.clone.call == NULL && p.clone.err == 0);
    }
    CHECK_EQ(count_entries(dir), 0); /* nothing left behind */
    CHECK_STR_EQ(cowcopy_probe_answer_name(p.clone.answer), fs->can_clone ? "yes" : "no");
}

static void test_probe_unwritable(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    CHECK_OK(chmod(dir, 0755));
    become_nobody();
    cowcopy_probe p;
    CHECK_EQ(cowcopy_fs_probe(dir, &p), 0);
    CHECK_EQ(p.writable, 0);
    CHECK_EQ(p.clone.answer, COWCOPY_PROBE_UNKNOWN);
    CHECK_EQ(p.dedupe.answer, COWCOPY_PROBE_UNKNOWN);
    CHECK_EQ(p.offload.answer, COWCOPY_PROBE_UNKNOWN);
    CHECK_EQ(p.clone.err, EACCES);
    CHECK_STR_EQ(p.fs_name, fs->name);
    CHECK_EQ(count_entries(dir), 0);
}

static void test_probe_faults(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    cowcopy_probe p;
    fault("ficlone=EIO,fideduperange=EOPNOTSUPP,copy_file_range=EXDEV");
    CHECK_EQ(cowcopy_fs_probe(dir, &p), 0);
    CHECK_EQ(p.clone.answer, COWCOPY_PROBE_UNKNOWN); /* EIO says nothing about the fs */
    CHECK_EQ(p.clone.err, EIO);
    CHECK_EQ(p.dedupe.answer, COWCOPY_PROBE_NO);
    CHECK_EQ(p.offload.answer, COWCOPY_PROBE_NO);
    CHECK_STR_EQ(p.offload.call, "copy_file_range");
    /* The first temporary file cannot be made as O_TMPFILE: hidden names
     * are used and removed. */
    fault("openat@2=EOPNOTSUPP");
    CHECK_EQ(cowcopy_fs_probe(dir, &p), 0);
    CHECK_EQ(p.clone.answer, COWCOPY_PROBE_YES);
    CHECK_EQ(count_entries(dir), 0);
    /* No space for the data: nothing can be tried. */
    fault("pwrite=ENOSPC");
    CHECK_EQ(cowcopy_fs_probe(dir, &p), 0);
    CHECK_EQ(p.writable, 1);
    CHECK_EQ(p.clone.answer, COWCOPY_PROBE_UNKNOWN);
    CHECK_EQ(p.clone.err, ENOSPC);
    CHECK_STR_EQ(p.clone.call, "write");
    CHECK_EQ(count_entries(dir), 0);
    fault("fstatfs=EIO");
    CHECK_EQ(cowcopy_fs_probe(dir, &p), -EIO);
    CHECK_EQ(p.error.op, COWCOPY_OP_STAT_SOURCE);
    fault(NULL);
    write_text(path_in(dir, "file"), "x");
    CHECK_EQ(cowcopy_fs_probe(path_in(dir, "file"), &p), -ENOTDIR);
    CHECK_EQ(p.error.op, COWCOPY_OP_OPEN_DIR);
    CHECK_EQ(cowcopy_fs_probe(path_in(dir, "missing"), &p), -ENOENT);
}

static const struct harness_case cases[] = {
    {"rangeset", test_rangeset, FS_ONCE},
    {"shared_clone_and_copy", test_shared_clone_and_copy, FS_ALL},
    {"shared_partial_overwrite", test_shared_partial_overwrite, FS_COW},
    {"shared_two_clones", test_shared_two_clones, FS_COW},
    {"shared_sparse_many_extents", test_shared_sparse_many_extents, FS_ALL},
    {"shared_nothing_to_share", test_shared_nothing_to_share, FS_ALL},
    {"shared_across_subvolumes", test_shared_across_subvolumes, FS_BTRFS | LINUX_ONLY},
    {"shared_bad_input", test_shared_bad_input, FS_COW},
    {"shared_unreadable", test_shared_unreadable, FS_ONCE},
    {"shared_faults", test_shared_faults, FS_COW | LINUX_ONLY}, /* FIEMAP faults */
    {"usage_file_and_clone", test_usage_file_and_clone, FS_ALL},
    {"usage_partial_overwrite", test_usage_partial_overwrite, FS_COW},
    {"usage_counts_each_inode_once", test_usage_counts_each_inode_once, FS_ALL},
    {"usage_errors", test_usage_errors, FS_ONCE},
    {"usage_faults", test_usage_faults, FS_COW | LINUX_ONLY},
    {"usage_one_file_system", test_usage_one_file_system, FS_ONCE},
    {"probe", test_probe, FS_ALL | FS_XFS_NOREFLINK},
    {"probe_unwritable", test_probe_unwritable, FS_ALL},
    {"probe_faults", test_probe_faults, FS_COW | LINUX_ONLY}, /* FICLONE, FIDEDUPERANGE */
};

int main(void)
{
    return harness_main(cases, sizeof cases / sizeof cases[0]);
}
