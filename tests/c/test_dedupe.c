/*
 * test_dedupe.c - cowcopy_dedupe() through the C API: counters, group
 * callbacks, cancellation, and failures injected through the call table
 * (a read error on one file, a failing FIDEDUPERANGE) that must be reported
 * without changing any file. Whole-run behaviour (content, metadata, freed
 * space, a concurrent writer, the cache) is tested from the command line:
 * tests/cli/test_dedupe.py.
 */
#include "harness.h"

#include "cowcopy.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* groups x copies identical files under dir/tree; group g's files are
 * size + g * size_step bytes. */
static const char *make_copies(const char *dir, int groups, int copies, uint64_t size,
                               uint64_t size_step)
{
    const char *tree = path_in(dir, "tree");
    CHECK_OK(mkdir(tree, 0755));
    char p[4096];
    for (int g = 0; g < groups; g++)
        for (int c = 0; c < copies; c++) {
            snprintf(p, sizeof p, "%s/g%d-c%d", tree, g, c);
            write_random(p, size + (uint64_t)g * size_step, (uint32_t)g + 1); /* same seed */
        }
    return tree;
}

struct tally {
    int errors, groups, files_in_groups, last_code, last_op;
};

static int count_error(void *data, const cowcopy_error *e)
{
    struct tally *t = data;
    t->errors++;
    t->last_code = e->code;
    t->last_op = e->op;
    return 0;
}

static void count_group(void *data, const cowcopy_dedupe_group *g)
{
    struct tally *t = data;
    t->groups++;
    t->files_in_groups += (int)g->count;
    CHECK_EQ(g->status[0], COWCOPY_DEDUPE_SOURCE);
}

static void test_counts_and_groups(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *tree = make_copies(dir, 4, 3, 200000, 1000);
    cowcopy_dedupe_options o;
    cowcopy_dedupe_options_init(&o);
    struct tally t = {0};
    o.on_group = count_group;
    o.group_data = &t;
    cowcopy_dedupe_stats s;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), 0);
    CHECK_EQ(s.files_scanned, 12);
    CHECK_EQ(s.groups, 4);
    CHECK_EQ(s.files_deduped, 8);
    CHECK_EQ(s.bytes_deduped, 2 * (200000 + 201000 + 202000 + 203000));
    CHECK_EQ(t.groups, 4);
    CHECK_EQ(t.files_in_groups, 12);
    CHECK(is_clone_of(path_in(tree, "g2-c1"), path_in(tree, "g2-c0")) ||
          is_clone_of(path_in(tree, "g2-c0"), path_in(tree, "g2-c1")));
    /* Again: all shared already, nothing read, nothing deduplicated. */
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), 0);
    CHECK_EQ(s.files_deduped, 0);
    CHECK_EQ(s.files_already_shared, 8);
    CHECK_EQ(s.bytes_read, 0);
    CHECK_EQ(s.freed, 0); /* nothing changed: no free-space delta to report */
}

/* Same-size groups: a second run tells them apart by their edge blocks only. */
static void test_same_size_groups_read_edges_only(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *tree = make_copies(dir, 4, 3, 200000, 0);
    cowcopy_dedupe_stats s;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, NULL, &s), 0);
    CHECK_EQ(s.files_deduped, 8);
    CHECK_EQ(cowcopy_dedupe(&tree, 1, NULL, &s), 0);
    CHECK_EQ(s.files_deduped, 0);
    CHECK_EQ(s.bytes_read, 4 * 2 * 4096);
}

static void test_read_error_on_one_file(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *tree = make_copies(dir, 3, 2, 300000, 1000);
    cowcopy_dedupe_options o;
    cowcopy_dedupe_options_init(&o);
    o.threads = 1;
    struct tally t = {0};
    o.on_error = count_error;
    o.error_data = &t;
    CHECK_EQ(cowcopy__fault_set("pread@2=EIO"), 0);
    cowcopy_dedupe_stats s;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), -EIO);
    CHECK_EQ(cowcopy__fault_set(""), 0);
    CHECK_EQ(t.errors, 1);
    CHECK_EQ(t.last_op, COWCOPY_OP_READ);
    CHECK_EQ(s.errors, 1);
    CHECK_EQ(s.groups, 2); /* the group whose member could not be read is left alone */
    CHECK_EQ(s.files_deduped, 2);
}

static void test_kernel_refusal_changes_nothing(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *tree = make_copies(dir, 2, 2, 100000, 1000);
    cowcopy_dedupe_options o;
    cowcopy_dedupe_options_init(&o);
    struct tally t = {0};
    o.on_error = count_error;
    o.error_data = &t;
    /* The first call is the support probe; the next ones fail. */
    CHECK_EQ(cowcopy__fault_set("fideduperange@2+=EIO"), 0);
    cowcopy_dedupe_stats s;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), -EIO);
    CHECK_EQ(cowcopy__fault_set(""), 0);
    CHECK_EQ(t.errors, 2);
    CHECK_EQ(t.last_op, COWCOPY_OP_DEDUPE);
    CHECK_EQ(s.files_deduped, 0);
    CHECK(!shares_any_block(path_in(tree, "g0-c0"), path_in(tree, "g0-c1")));
    CHECK(same_content(path_in(tree, "g0-c0"), path_in(tree, "g0-c1")));
}

/* Files removed after the scan listed them (another program's temporaries)
 * are no longer candidates, and not errors: one gone before its stat, and
 * one per later group gone before it is opened (removed while the first
 * group is reported). */
struct vanish {
    const char *tree;
    int groups_seen;
    uint64_t first_size;
};

static void remove_later_copies(void *data, const cowcopy_dedupe_group *g)
{
    struct vanish *v = data;
    if (v->groups_seen++ > 0)
        return;
    v->first_size = g->size;
    char p[4096];
    for (int k = 0; k < 3; k++)
        if (200000 + (uint64_t)k * 1000 != g->size) {
            snprintf(p, sizeof p, "%s/g%d-c2", v->tree, k);
            CHECK_OK(unlink(p));
        }
}

static void test_vanished_files_are_not_errors(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *tree = make_copies(dir, 3, 3, 200000, 1000);
    cowcopy_dedupe_options o;
    cowcopy_dedupe_options_init(&o);
    o.threads = 1;
    struct tally t = {0};
    o.on_error = count_error;
    o.error_data = &t;
    cowcopy_dedupe_stats s;
    /* fstatat #1 is the root; #2 the first entry listed. */
    CHECK_EQ(cowcopy__fault_set("fstatat@2=ENOENT"), 0);
    o.flags = COWCOPY_DEDUPE_DRY_RUN;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), 0);
    CHECK_EQ(cowcopy__fault_set(""), 0);
    CHECK_EQ(t.errors, 0);
    CHECK_EQ(s.files_scanned, 8);
    CHECK_EQ(s.files_deduped, 5);
    struct vanish v = {.tree = tree};
    o.flags = 0;
    o.on_group = remove_later_copies;
    o.group_data = &v;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), 0);
    CHECK_EQ(t.errors, 0);
    CHECK_EQ(s.errors, 0);
    CHECK_EQ(v.groups_seen, 3);
    CHECK_EQ(s.files_deduped, 2 + 1 + 1);
}

static int stop_at_once(void *data, const cowcopy_dedupe_stats *s)
{
    (void)data, (void)s;
    return 1;
}

static void test_dry_run_cancel_and_bad_options(const struct harness_fs *fs, const char *dir)
{
    (void)fs;
    const char *tree = make_copies(dir, 5, 2, 50000, 1000);
    cowcopy_dedupe_options o;
    cowcopy_dedupe_options_init(&o);
    o.flags = COWCOPY_DEDUPE_DRY_RUN;
    cowcopy_dedupe_stats s;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), 0);
    CHECK_EQ(s.files_deduped, 5);
    CHECK_EQ(s.freed, 0);
    CHECK(!shares_any_block(path_in(tree, "g0-c0"), path_in(tree, "g0-c1")));
    o.flags = 0;
    o.progress = stop_at_once;
    o.progress_ms = 1;
    usleep(2000);
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), -ECANCELED);
    o.progress = NULL;
    o.flags = 0x80;
    CHECK_EQ(cowcopy_dedupe(&tree, 1, &o, &s), -EINVAL);
}

static const struct harness_case cases[] = {
    {"counts_and_groups", test_counts_and_groups, FS_COW},
    {"same_size_groups_read_edges_only", test_same_size_groups_read_edges_only, FS_XFS},
    {"read_error_on_one_file", test_read_error_on_one_file, FS_XFS},
    /* FIDEDUPERANGE's own refusal; the Darwin procedure is in test_darwin.c. */
    {"kernel_refusal_changes_nothing", test_kernel_refusal_changes_nothing, FS_BTRFS | LINUX_ONLY},
    {"vanished_files_are_not_errors", test_vanished_files_are_not_errors, FS_XFS},
    {"dry_run_cancel_and_bad_options", test_dry_run_cancel_and_bad_options, FS_XFS},
};

int main(void)
{
    return harness_main(cases, sizeof cases / sizeof cases[0]);
}
