/*
 * cmd_dedupe.c - `cowcopy dedupe`: make identical files share their blocks.
 *
 *   cowcopy dedupe [OPTIONS] PATH...
 *
 * A summary is always printed (or the --json document). Exit 0 when the run
 * completed, including when some bytes differed at the last moment (normal:
 * a file changed after it was read); 1 when any file could not be examined
 * or deduplicated, or a filesystem cannot deduplicate at all; 2 for usage
 * errors.
 */
#include "cli.h"
#include "progress.h"
#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A group kept for --json. */
struct kept_group {
    uint64_t size;
    size_t count;
    char **paths;
    int *status;
};

struct dedupe_run {
    bool verbose, json, dry_run;
    cli_progress progress;
    cli_failures failures;
    struct kept_group *groups;
    size_t ngroups, groups_cap;
    int cache_warnings;
};

static void dedupe_help(void)
{
    fputs("Usage: cowcopy dedupe [OPTIONS] PATH...\n"
          "Find files with identical content under the PATHs and make them share their\n"
          "data blocks (btrfs, XFS with reflink). The kernel compares the bytes before it\n"
          "shares anything, so no file's content can change, even one written during the\n"
          "run; times, mode, owner and xattrs are left as they are. Hard links are never\n"
          "broken.\n\n"
          "  -n, --dry-run        report what would be shared, change nothing\n"
          "  -v, --verbose        list each group of identical files\n"
          "  -x, --one-file-system  do not descend into other filesystems\n"
          "      --min-size=SIZE  skip smaller files (bytes, or with K, M, G; default:\n"
          "                       any size that can share)\n"
          "      --min-age=SECONDS  leave alone files modified in the last SECONDS\n"
          "      --cache=FILE     keep file hashes in FILE (SQLite) so that a later run\n"
          "                       over an unchanged tree reads no file data again\n"
          "  -j, --jobs=N         use N threads (default: twice the CPUs, 4 to 8)\n"
          "      --progress       always show progress on stderr\n"
          "      --no-progress    never show progress\n"
          "      --json           print the whole report as one JSON object\n"
          "      --help           display this help and exit\n\n"
          "Exit status: 0 the run completed (bytes that differed at the last moment are\n"
          "normal), 1 a file could not be examined or deduplicated, 2 usage error.\n",
          stdout);
}

/* "64", "4K", "1M", "2G" -> bytes. @return 0 or -1. */
static int parse_size(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: return -1;
    }
    if (*end == 'i' && end[1] == 'B')
        end += 2;
    else if (*end == 'B')
        end++;
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static const char *status_word(int status, bool dry_run)
{
    switch (status) {
    case COWCOPY_DEDUPE_SOURCE: return "source";
    case COWCOPY_DEDUPE_SHARED: return "shared";
    case COWCOPY_DEDUPE_WOULD_SHARE: return dry_run ? "would share" : "shared";
    case COWCOPY_DEDUPE_ALREADY: return "already";
    case COWCOPY_DEDUPE_DIFFERED: return "differed";
    case COWCOPY_DEDUPE_SKIPPED: return "skipped";
    default: return "failed";
    }
}

static const char *status_key(int status)
{
    switch (status) {
    case COWCOPY_DEDUPE_SOURCE: return "source";
    case COWCOPY_DEDUPE_SHARED: return "shared";
    case COWCOPY_DEDUPE_WOULD_SHARE: return "would_share";
    case COWCOPY_DEDUPE_ALREADY: return "already_shared";
    case COWCOPY_DEDUPE_DIFFERED: return "differed";
    case COWCOPY_DEDUPE_SKIPPED: return "skipped";
    default: return "failed";
    }
}

static void on_group(void *data, const cowcopy_dedupe_group *g)
{
    struct dedupe_run *run = data;
    if (run->json) {
        if (run->ngroups == run->groups_cap) {
            size_t cap = run->groups_cap ? run->groups_cap * 2 : 64;
            struct kept_group *p = realloc(run->groups, cap * sizeof *p);
            if (!p)
                return;
            run->groups = p;
            run->groups_cap = cap;
        }
        struct kept_group *k = &run->groups[run->ngroups];
        k->size = g->size;
        k->count = g->count;
        k->paths = calloc(g->count, sizeof *k->paths);
        k->status = calloc(g->count, sizeof *k->status);
        if (!k->paths || !k->status) {
            free(k->paths);
            free(k->status);
            return;
        }
        for (size_t i = 0; i < g->count; i++) {
            k->paths[i] = strdup(g->paths[i]);
            k->status[i] = g->status[i];
        }
        run->ngroups++;
        return;
    }
    if (!run->verbose)
        return;
    cli_progress_clear(&run->progress);
    char size[32];
    cli_human_bytes(g->size, size, sizeof size);
    printf("%zu identical files of %s:\n", g->count, size);
    for (size_t i = 0; i < g->count; i++) {
        printf("  %-12s ", status_word(g->status[i], run->dry_run));
        cli_quote(stdout, g->paths[i]);
        fputc('\n', stdout);
    }
}

static int on_error(void *data, const cowcopy_error *e)
{
    struct dedupe_run *run = data;
    cli_progress_clear(&run->progress);
    if (e->op == COWCOPY_OP_CACHE) { /* a warning: the run goes on without the cache */
        fputs("cowcopy: warning: ", stderr);
        char *msg = cli_format_error(e);
        fprintf(stderr, "%s\n", msg ? msg : "ignoring the cache");
        free(msg);
        run->cache_warnings++;
        return 0;
    }
    cli_failures_add(&run->failures, e);
    return 0;
}

static int on_progress(void *data, const cowcopy_dedupe_stats *s)
{
    struct dedupe_run *run = data;
    cli_progress_draw(&run->progress, s->elapsed, s->files_scanned, s->bytes_read, false, 0, 0);
    return 0;
}

static void print_json(struct dedupe_run *run, const cowcopy_dedupe_stats *s, bool ok)
{
    json_writer w;
    cli_json_begin(&w, stdout, "dedupe", ok, &run->failures);
    json_bool(&w, "dry_run", run->dry_run);
    json_uint(&w, "files_scanned", s->files_scanned);
    json_uint(&w, "bytes_scanned", s->bytes_scanned);
    json_uint(&w, "bytes_read", s->bytes_read);
    json_uint(&w, "cache_hits", s->cache_hits);
    json_uint(&w, "duplicate_groups", s->groups);
    json_uint(&w, "files_deduplicated", s->files_deduped);
    json_uint(&w, "bytes_deduplicated", s->bytes_deduped);
    json_uint(&w, "files_already_shared", s->files_already_shared);
    json_uint(&w, "bytes_differed", s->bytes_differed);
    json_uint(&w, "freed_estimate", s->freed_estimate);
    json_int(&w, "freed", s->freed);
    json_double(&w, "elapsed", s->elapsed, 3);
    json_array_begin(&w, "groups");
    for (size_t i = 0; i < run->ngroups; i++) {
        const struct kept_group *g = &run->groups[i];
        json_object_begin(&w, NULL);
        json_uint(&w, "size", g->size);
        json_array_begin(&w, "files");
        for (size_t k = 0; k < g->count; k++) {
            json_object_begin(&w, NULL);
            json_string(&w, "path", g->paths[k]);
            json_string(&w, "status", status_key(g->status[k]));
            json_object_end(&w);
        }
        json_array_end(&w);
        json_object_end(&w);
    }
    json_array_end(&w);
    json_object_end(&w);
}

static void print_summary(struct dedupe_run *run, const cowcopy_dedupe_stats *s)
{
    char scanned[32], read[32], deduped[32], differed[32], freed[32], estimate[32];
    cli_human_bytes(s->bytes_scanned, scanned, sizeof scanned);
    cli_human_bytes(s->bytes_read, read, sizeof read);
    cli_human_bytes(s->bytes_deduped, deduped, sizeof deduped);
    cli_human_bytes(s->bytes_differed, differed, sizeof differed);
    cli_human_bytes(s->freed >= 0 ? (uint64_t)s->freed : (uint64_t)-s->freed, freed, sizeof freed);
    cli_human_bytes(s->freed_estimate, estimate, sizeof estimate);
    printf("files scanned:     %" PRIu64 " (%s)\n", s->files_scanned, scanned);
    printf("data read:         %s (%" PRIu64 " files from the cache)\n", read, s->cache_hits);
    printf("duplicate groups:  %" PRIu64 "\n", s->groups);
    printf("%s %" PRIu64 " files, %s\n",
           run->dry_run ? "would deduplicate:" : "deduplicated:     ", s->files_deduped, deduped);
    printf("already shared:    %" PRIu64 " files\n", s->files_already_shared);
    printf("differed:          %s (changed during the run; left as they are)\n", differed);
    printf("errors:            %" PRIu64 "\n", run->failures.total);
    if (run->dry_run)
        printf("space freed:       none (dry run; sharing would free about %s)\n", estimate);
    else
        printf("space freed:       %s%s measured after sync (estimate %s)\n",
               s->freed < 0 ? "-" : "", freed, estimate);
    printf("elapsed:           %.3f s\n", s->elapsed);
}

enum { OPT_MIN_SIZE = 256, OPT_MIN_AGE, OPT_CACHE, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_JSON, OPT_HELP };

static const struct option dedupe_options[] = {
    {"dry-run", no_argument, NULL, 'n'},
    {"verbose", no_argument, NULL, 'v'},
    {"one-file-system", no_argument, NULL, 'x'},
    {"min-size", required_argument, NULL, OPT_MIN_SIZE},
    {"min-age", required_argument, NULL, OPT_MIN_AGE},
    {"cache", required_argument, NULL, OPT_CACHE},
    {"jobs", required_argument, NULL, 'j'},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

int cmd_dedupe(int argc, char **argv)
{
    struct dedupe_run run = {0};
    cowcopy_dedupe_options o;
    cowcopy_dedupe_options_init(&o);
    int progress = PROGRESS_AUTO, c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "nvxj:", dedupe_options, NULL)) != -1) {
        switch (c) {
        case 'n': o.flags |= COWCOPY_DEDUPE_DRY_RUN; break;
        case 'v': run.verbose = true; break;
        case 'x': o.flags |= COWCOPY_DEDUPE_ONE_FILE_SYSTEM; break;
        case OPT_MIN_SIZE:
            if (parse_size(optarg, &o.min_size) < 0)
                return cli_usage_error("dedupe", "invalid size '%s' for '--min-size'", optarg);
            break;
        case OPT_MIN_AGE: {
            unsigned long age = strtoul(optarg, &end, 10);
            if (*end || end == optarg || age > 100UL * 365 * 24 * 3600)
                return cli_usage_error("dedupe", "invalid number of seconds '%s' for '--min-age'",
                                       optarg);
            o.min_age = (unsigned)age;
            break;
        }
        case OPT_CACHE: o.cache_path = optarg; break;
        case 'j':
            o.threads = (int)strtol(optarg, &end, 10);
            if (*end || o.threads < 1 || o.threads > 256)
                return cli_usage_error("dedupe", "invalid number of jobs '%s' (1 to 256)", optarg);
            break;
        case OPT_PROGRESS: progress = PROGRESS_ALWAYS; break;
        case OPT_NO_PROGRESS: progress = PROGRESS_NEVER; break;
        case OPT_JSON: run.json = true; break;
        case OPT_HELP: dedupe_help(); return EXIT_OK;
        default: return cli_usage_error("dedupe", "invalid usage");
        }
    }
    if (optind >= argc)
        return cli_usage_error("dedupe", "missing path operand");
    run.dry_run = o.flags & COWCOPY_DEDUPE_DRY_RUN;
    cli_progress_init(&run.progress, progress, "scanned");
    o.on_error = on_error;
    o.error_data = &run;
    if (run.verbose || run.json) {
        o.on_group = on_group;
        o.group_data = &run;
    }
    if (run.progress.active) {
        o.progress = on_progress;
        o.progress_data = &run;
    }
    cowcopy_dedupe_stats s;
    int r = cowcopy_dedupe((const char *const *)argv + optind, (size_t)(argc - optind), &o, &s);
    cli_progress_clear(&run.progress);
    if (r == -ENOMEM || r == -EINVAL)
        cli_warn("dedupe failed: %s", cowcopy_strerror(r));
    bool ok = r == 0 && run.failures.total == 0;
    if (run.json)
        print_json(&run, &s, ok);
    else
        print_summary(&run, &s);
    for (size_t i = 0; i < run.ngroups; i++) {
        for (size_t k = 0; k < run.groups[i].count; k++)
            free(run.groups[i].paths[k]);
        free(run.groups[i].paths);
        free(run.groups[i].status);
    }
    free(run.groups);
    cli_failures_free(&run.failures);
    return ok ? EXIT_OK : EXIT_FAILED;
}
