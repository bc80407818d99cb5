/*
 * cmd_cp.c - `cowcopy cp`: cp's interface, cloning by default.
 *
 *   cowcopy cp [OPTIONS] SRC DST
 *   cowcopy cp [OPTIONS] SRC... DIR
 *   cowcopy cp [OPTIONS] -t DIR SRC...
 *
 * Operands are checked and copied one by one: a bad operand is reported
 * and skipped, the rest are still done, and the exit status is 1. Usage
 * mistakes exit 2 before anything is done, as does a missing target
 * directory for several sources (exit 1, as in cp). With -r/-a each operand
 * is a tree (cowcopy_tree_copy); --stats and --json sum over all operands.
 */
#include "cli.h"
#include "progress.h"
#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct cp_args {
    cowcopy_options opts;
    unsigned tree_flags;
    int threads;
    bool verbose;
    bool recursive;
    bool dereference_set; /* -L, -P, -H, -d or -a given: -r does not imply -P */
    bool no_target_dir;
    bool stats;
    bool json;
    int progress;         /* enum cli_progress_mode */
    const char *target_dir;
};

/* Everything one `cowcopy cp` run adds up, over all operands. */
struct cp_run {
    const struct cp_args *args;
    cowcopy_tree_stats total; /* summed over operands */
    cli_failures failures;
    cli_progress progress;
    uint64_t base_files, base_bytes; /* done by earlier operands, for progress */
    struct timespec start;
};

static void cp_help(void)
{
    fputs("Usage: cowcopy cp [OPTIONS] SRC DST\n"
          "  or:  cowcopy cp [OPTIONS] SRC... DIR\n"
          "  or:  cowcopy cp [OPTIONS] -t DIR SRC...\n"
          "Copy SRC to DST, or SRCs into DIR. On copy-on-write filesystems (btrfs, XFS with\n"
          "reflink, bcachefs, ZFS 2.2+, NFS 4.2) the copy shares the source's data blocks: it\n"
          "is instant and takes no space until either side is written.\n\n"
          "  --reflink[=WHEN]     auto (default): clone if possible, else copy;\n"
          "                       always (also --reflink alone): clone or fail, leaving\n"
          "                       nothing behind; never: a real, independent copy\n"
          "  -p                   same as --preserve=mode,ownership,timestamps\n"
          "  --preserve[=LIST]    keep attributes of the source: mode, ownership,\n"
          "                       timestamps, xattr, links, all (default:\n"
          "                       mode,ownership,timestamps)\n"
          "  --no-preserve=LIST   do not keep these attributes\n"
          "  -n, --no-clobber     leave an existing destination alone\n"
          "  -f, --force          replace a destination even if it is not writable\n"
          "  -L, --dereference    follow symbolic links given as SRC (the default)\n"
          "  -P, --no-dereference copy symbolic links given as SRC as links\n"
          "  -t, --target-directory=DIR  copy all SRC arguments into DIR\n"
          "  -T, --no-target-directory   treat DST as a normal file\n"
          "  -r, -R, --recursive  copy directories recursively (symlinks stay links)\n"
          "  -a, --archive        same as -R --preserve=all -P: an exact copy\n"
          "  -H                   follow symbolic links given as SRC (with -R)\n"
          "  -x, --one-file-system  do not descend into other filesystems\n"
          "  -j, --jobs=N         copy with N threads (default 2, 1 on a single CPU)\n"
          "  -v, --verbose        print each file with the method used (cloned,\n"
          "                       offloaded, copied)\n"
          "  --progress           always show progress on stderr (default: on a\n"
          "                       terminal, for copies longer than a second)\n"
          "  --no-progress        never show progress\n"
          "  --stats              print a summary when done\n"
          "  --json               print the summary as one JSON object on stdout\n"
          "  --fsync              flush each file and its directory to stable storage\n"
          "  --help               display this help and exit\n"
          "  --version            output version information and exit\n\n"
          "An existing destination file is replaced atomically: the complete new file is\n"
          "renamed over it and takes its mode, owner and ACL (unless preserved from SRC).\n"
          "A destination with other hard links, or a symlink to a file, is written in\n"
          "place as cp does. Exit status: 0 success, 1 some file failed, 2 usage error.\n",
          stdout);
}

/* Parse a --preserve list into COWCOPY_PRESERVE_* bits. @return 0 or -1. */
static int parse_preserve_list(const char *list, unsigned *bits)
{
    static const struct {
        const char *name;
        unsigned bits;
    } names[] = {
        {"mode", COWCOPY_PRESERVE_MODE},
        {"ownership", COWCOPY_PRESERVE_OWNERSHIP},
        {"timestamps", COWCOPY_PRESERVE_TIMESTAMPS},
        {"xattr", COWCOPY_PRESERVE_XATTR},
        {"links", COWCOPY_PRESERVE_LINKS},
        {"all", COWCOPY_PRESERVE_ALL},
    };
    *bits = 0;
    while (*list) {
        size_t len = strcspn(list, ",");
        bool found = false;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == len && strncmp(names[i].name, list, len) == 0) {
                *bits |= names[i].bits;
                found = true;
            }
        if (!found)
            return -1;
        list += len;
        if (*list == ',')
            list++;
    }
    return 0;
}

enum {
    OPT_REFLINK = 256,
    OPT_PRESERVE,
    OPT_NO_PRESERVE,
    OPT_FSYNC,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_STATS,
    OPT_JSON,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option cp_long_options[] = {
    {"reflink", optional_argument, NULL, OPT_REFLINK},
    {"preserve", optional_argument, NULL, OPT_PRESERVE},
    {"no-preserve", required_argument, NULL, OPT_NO_PRESERVE},
    {"no-clobber", no_argument, NULL, 'n'},
    {"force", no_argument, NULL, 'f'},
    {"dereference", no_argument, NULL, 'L'},
    {"no-dereference", no_argument, NULL, 'P'},
    {"recursive", no_argument, NULL, 'r'},
    {"archive", no_argument, NULL, 'a'},
    {"target-directory", required_argument, NULL, 't'},
    {"no-target-directory", no_argument, NULL, 'T'},
    {"verbose", no_argument, NULL, 'v'},
    {"one-file-system", no_argument, NULL, 'x'},
    {"jobs", required_argument, NULL, 'j'},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"stats", no_argument, NULL, OPT_STATS},
    {"json", no_argument, NULL, OPT_JSON},
    {"fsync", no_argument, NULL, OPT_FSYNC},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* How symlinks are followed: -L (all), -P (none), -H (command line only). */
static void set_dereference(struct cp_args *a, int how)
{
    a->dereference_set = true;
    a->tree_flags &= ~(COWCOPY_TREE_DEREFERENCE | COWCOPY_TREE_FOLLOW_ROOT);
    if (how == 'L') {
        a->opts.flags &= ~COWCOPY_NO_DEREFERENCE;
        a->tree_flags |= COWCOPY_TREE_DEREFERENCE;
    } else {
        a->opts.flags |= COWCOPY_NO_DEREFERENCE;
        if (how == 'H')
            a->tree_flags |= COWCOPY_TREE_FOLLOW_ROOT;
    }
}

/* @return -1 to go on, or an exit code to return at once. */
static int parse_cp_args(int argc, char **argv, struct cp_args *a)
{
    cowcopy_options_init(&a->opts);
    unsigned no_preserve = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "anfLPHrRpt:Tvdxj:", cp_long_options, NULL)) != -1) {
        unsigned bits;
        char *end;
        switch (c) {
        case OPT_REFLINK:
            if (!optarg || strcmp(optarg, "always") == 0)
                a->opts.reflink = COWCOPY_REFLINK_ALWAYS;
            else if (strcmp(optarg, "auto") == 0)
                a->opts.reflink = COWCOPY_REFLINK_AUTO;
            else if (strcmp(optarg, "never") == 0)
                a->opts.reflink = COWCOPY_REFLINK_NEVER;
            else
                return cli_usage_error("cp", "invalid argument '%s' for '--reflink' "
                                             "(valid: auto, always, never)", optarg);
            break;
        case OPT_PRESERVE:
            if (!optarg)
                bits = COWCOPY_PRESERVE_MODE | COWCOPY_PRESERVE_OWNERSHIP |
                       COWCOPY_PRESERVE_TIMESTAMPS;
            else if (parse_preserve_list(optarg, &bits) < 0)
                return cli_usage_error("cp", "invalid argument '%s' for '--preserve' (valid: "
                                             "mode, ownership, timestamps, xattr, links, all)",
                                       optarg);
            a->opts.preserve |= bits;
            a->opts.preserve_required |= bits; /* asked for by name: failures are errors */
            break;
        case OPT_NO_PRESERVE:
            if (parse_preserve_list(optarg, &bits) < 0)
                return cli_usage_error("cp", "invalid argument '%s' for '--no-preserve'",
                                       optarg);
            no_preserve |= bits;
            break;
        case 'p':
            a->opts.preserve |= COWCOPY_PRESERVE_MODE | COWCOPY_PRESERVE_OWNERSHIP |
                                COWCOPY_PRESERVE_TIMESTAMPS;
            a->opts.preserve_required |= COWCOPY_PRESERVE_MODE | COWCOPY_PRESERVE_TIMESTAMPS;
            break;
        case 'a':
            a->recursive = true;
            set_dereference(a, 'P');
            a->opts.preserve |= COWCOPY_PRESERVE_ALL;
            a->opts.preserve_required |= COWCOPY_PRESERVE_MODE | COWCOPY_PRESERVE_TIMESTAMPS;
            break;
        case 'd':
            set_dereference(a, 'P');
            a->opts.preserve |= COWCOPY_PRESERVE_LINKS;
            break;
        case 'L':
        case 'P':
        case 'H': set_dereference(a, c); break;
        case 'n': a->opts.flags |= COWCOPY_NO_CLOBBER; break;
        case 'f': a->opts.flags |= COWCOPY_FORCE; break;
        case 'r':
        case 'R': a->recursive = true; break;
        case 't': a->target_dir = optarg; break;
        case 'T': a->no_target_dir = true; break;
        case 'v': a->verbose = true; break;
        case 'x': a->tree_flags |= COWCOPY_TREE_ONE_FILE_SYSTEM; break;
        case 'j':
            a->threads = (int)strtol(optarg, &end, 10);
            if (*end || a->threads < 1 || a->threads > 256)
                return cli_usage_error("cp", "invalid number of jobs '%s' (1 to 256)", optarg);
            break;
        case OPT_PROGRESS: a->progress = PROGRESS_ALWAYS; break;
        case OPT_NO_PROGRESS: a->progress = PROGRESS_NEVER; break;
        case OPT_STATS: a->stats = true; break;
        case OPT_JSON: a->json = true; break;
        case OPT_FSYNC: a->opts.flags |= COWCOPY_FSYNC; break;
        case OPT_HELP: cp_help(); return EXIT_OK;
        case OPT_VERSION: printf("cowcopy %s\n", cowcopy_version()); return EXIT_OK;
        default: return cli_usage_error("cp", "invalid usage");
        }
    }
    a->opts.preserve &= ~no_preserve;
    a->opts.preserve_required &= a->opts.preserve;
    if (a->target_dir && a->no_target_dir)
        return cli_usage_error("cp", "cannot combine --target-directory (-t) and "
                                     "--no-target-directory (-T)");
    if ((a->opts.flags & COWCOPY_NO_CLOBBER) && (a->opts.flags & COWCOPY_FORCE))
        a->opts.flags &= ~COWCOPY_FORCE; /* -n wins, as in cp */
    if (a->recursive && !a->dereference_set)
        set_dereference(a, 'P'); /* cp -R copies symlinks as symlinks */
    if (a->json)
        a->verbose = false; /* stdout holds exactly one JSON document */
    return -1;
}

static char *last_component(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    return strndup(path + start, len - start);
}
static char *join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    char *p = malloc(dl + strlen(name) + 2);
    if (p)
        sprintf(p, "%s%s%s", dir, slash ? "" : "/", name);
    return p;
}

static bool is_directory(const char *path)
{
    struct stat st;
    errno = 0;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void print_verbose(const char *src, const char *dst, const cowcopy_result *res)
{
    cli_quote(stdout, src);
    fputs(" -> ", stdout);
    cli_quote(stdout, dst);
    if (res->method == COWCOPY_METHOD_DIRECTORY) {
        fputc('\n', stdout);
        return;
    }
    printf(" (%s", cowcopy_method_name(res->method));
    if (res->fallback_call && res->method != COWCOPY_METHOD_SKIPPED)
        printf("; %s: %s", res->fallback_call,
               res->fallback_errno ? cowcopy_strerror(-res->fallback_errno) : "no data");
    fputs(")\n", stdout);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Library callbacks (the library runs them one at a time). */
static int on_error(void *data, const cowcopy_error *e)
{
    struct cp_run *run = data;
    cli_progress_clear(&run->progress);
    cli_failures_add(&run->failures, e);
    return 0;
}

static void on_entry(void *data, const char *src, const char *dst, const cowcopy_result *res)
{
    struct cp_run *run = data;
    cli_progress_clear(&run->progress);
    print_verbose(src, dst, res);
}

static int on_progress(void *data, const cowcopy_tree_stats *s)
{
    struct cp_run *run = data;
    cli_progress_draw(&run->progress, seconds_since(&run->start), run->base_files + s->files,
                      run->base_bytes + s->bytes, s->totals_known, run->base_files + s->total_files,
                      run->base_bytes + s->total_bytes);
    return 0;
}

static void add_stats(cowcopy_tree_stats *t, const cowcopy_tree_stats *s)
{
    t->files += s->files;
    t->cloned += s->cloned;
    t->offloaded += s->offloaded;
    t->copied += s->copied;
    t->bytes += s->bytes;
    t->hole_bytes += s->hole_bytes;
    t->directories += s->directories;
    t->symlinks += s->symlinks;
    t->hardlinks += s->hardlinks;
    t->specials += s->specials;
    t->skipped += s->skipped;
    if (s->threads > t->threads)
        t->threads = s->threads;
}

/* Copy one file operand (no -r) and count it. @return true on success. */
static bool copy_file_operand(struct cp_run *run, const char *src, const char *dst)
{
    const struct cp_args *a = run->args;
    cowcopy_result res;
    if (cowcopy_file_copy(src, dst, &a->opts, &res) < 0) {
        on_error(run, &res.error);
        return false;
    }
    cowcopy_tree_stats one = {0};
    switch (res.method) {
    case COWCOPY_METHOD_CLONED: one.cloned = 1; break;
    case COWCOPY_METHOD_OFFLOADED: one.offloaded = 1; break;
    case COWCOPY_METHOD_COPIED: one.copied = 1; break;
    case COWCOPY_METHOD_SYMLINK: one.symlinks = 1; break;
    case COWCOPY_METHOD_SKIPPED: one.skipped = 1; break;
    default: break;
    }
    one.files = one.cloned + one.offloaded + one.copied;
    one.bytes = res.bytes;
    one.hole_bytes = res.hole_bytes;
    add_stats(&run->total, &one);
    if (a->verbose && res.method != COWCOPY_METHOD_SKIPPED)
        print_verbose(src, dst, &res);
    return true;
}

/* Copy one operand: a file, or a tree with -r. @return true on success. */
static bool copy_one(struct cp_run *run, const char *src, const char *dst)
{
    const struct cp_args *a = run->args;
    if (!a->recursive)
        return copy_file_operand(run, src, dst);
    cowcopy_tree_options t;
    cowcopy_tree_options_init(&t);
    t.file = a->opts;
    t.flags = a->tree_flags | (run->progress.active ? COWCOPY_TREE_COUNT_TOTALS : 0);
    t.threads = a->threads;
    t.on_error = on_error;
    t.error_data = run;
    if (a->verbose) {
        t.on_entry = on_entry;
        t.entry_data = run;
    }
    if (run->progress.active) {
        t.progress = on_progress;
        t.progress_data = run;
    }
    cowcopy_tree_stats s;
    int r = cowcopy_tree_copy(src, dst, &t, &s);
    add_stats(&run->total, &s);
    run->base_files += s.files;
    run->base_bytes += s.bytes;
    return r == 0;
}

/* --stats on stdout, or the --json document. */
static void print_summary(struct cp_run *run, bool ok)
{
    const cowcopy_tree_stats *t = &run->total;
    double elapsed = seconds_since(&run->start);
    if (run->args->json) {
        json_writer w;
        cli_json_begin(&w, stdout, "cp", ok, &run->failures);
        json_uint(&w, "files", t->files);
        json_uint(&w, "cloned", t->cloned);
        json_uint(&w, "offloaded", t->offloaded);
        json_uint(&w, "copied", t->copied);
        json_uint(&w, "hardlinks", t->hardlinks);
        json_uint(&w, "symlinks", t->symlinks);
        json_uint(&w, "specials", t->specials);
        json_uint(&w, "directories", t->directories);
        json_uint(&w, "skipped", t->skipped);
        json_uint(&w, "bytes", t->bytes);
        json_uint(&w, "hole_bytes", t->hole_bytes);
        json_uint(&w, "threads", (uint64_t)(t->threads > 0 ? t->threads : 1));
        json_double(&w, "elapsed", elapsed, 3);
        json_object_end(&w);
        return;
    }
    char bytes[32];
    cli_human_bytes(t->bytes, bytes, sizeof bytes);
    printf("files:       %llu (cloned %llu, offloaded %llu, copied %llu, hard links %llu)\n"
           "bytes:       %llu (%s)\n"
           "directories: %llu\n"
           "symlinks:    %llu\n"
           "special:     %llu\n"
           "skipped:     %llu\n"
           "errors:      %llu\n"
           "elapsed:     %.3f s\n",
           (unsigned long long)t->files, (unsigned long long)t->cloned,
           (unsigned long long)t->offloaded, (unsigned long long)t->copied,
           (unsigned long long)t->hardlinks, (unsigned long long)t->bytes, bytes,
           (unsigned long long)t->directories, (unsigned long long)t->symlinks,
           (unsigned long long)t->specials, (unsigned long long)t->skipped,
           (unsigned long long)run->failures.total, elapsed);
}

/* Copy every operand into target, a directory. @return true if all went well. */
static bool copy_into(struct cp_run *run, char **operands, int n, const char *target)
{
    bool ok = true;
    for (int i = 0; i < n; i++) {
        char *name = last_component(operands[i]);
        char *dst = name ? join_path(target, name) : NULL;
        if (!dst) {
            cli_warn("out of memory");
            free(name);
            return false;
        }
        ok &= copy_one(run, operands[i], dst);
        free(dst);
        free(name);
    }
    return ok;
}

int cmd_cp(int argc, char **argv)
{
    struct cp_args a = {0};
    int r = parse_cp_args(argc, argv, &a);
    if (r >= 0)
        return r;
    char **operands = argv + optind;
    int n = argc - optind;
    const char *target = a.target_dir;
    if (!target) {
        if (n == 0)
            return cli_usage_error("cp", "missing file operand");
        if (n == 1)
            return cli_usage_error_path("cp", "missing destination file operand after ",
                                        operands[0]);
        if (a.no_target_dir && n > 2)
            return cli_usage_error_path("cp", "extra operand ", operands[2]);
        if (!a.no_target_dir && (n > 2 || is_directory(operands[1])))
            target = operands[--n];
    } else if (n == 0) {
        return cli_usage_error("cp", "missing file operand");
    }
    if (target && !is_directory(target)) {
        int err = errno;
        fputs("cowcopy: target ", stderr);
        cli_quote(stderr, target);
        if (err == ENOENT || err == ENOTDIR || err == 0)
            fputs(" is not a directory\n", stderr);
        else
            fprintf(stderr, ": %s\n", strerror(err));
        return EXIT_FAILED;
    }
    struct cp_run run = {.args = &a};
    clock_gettime(CLOCK_MONOTONIC, &run.start);
    cli_progress_init(&run.progress, a.progress, "copied");
    bool ok = target ? copy_into(&run, operands, n, target)
                     : copy_one(&run, operands[0], operands[1]);
    cli_progress_clear(&run.progress);
    ok = ok && run.failures.total == 0;
    if (a.stats || a.json)
        print_summary(&run, ok);
    cli_failures_free(&run.failures);
    return ok ? EXIT_OK : EXIT_FAILED;
}
