/*
 * cmd_du.c - `cowcopy du [OPTIONS] PATH...`: storage used by the set of
 * files under the PATHs, with the meanings of `btrfs filesystem du -s`
 * (cowcopy_usage_measure), on btrfs, XFS and anything else with FIEMAP:
 *
 *   files:          2
 *   apparent size:  67108864
 *   total:          67108864
 *   exclusive:      0
 *   set shared:     33554432
 *   saved:          33554432
 *
 * Paths that cannot be read are reported on stderr, the rest is still
 * measured, and the exit status is 1.
 */
#include "cli.h"
#include "report.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* --help, on stdout. */
static void du_help(void)
{
    fputs("Usage: cowcopy du [OPTIONS] [PATH]...\n"
          "Summarize the storage used by the regular files under the PATHs (default: .),\n"
          "counting each file once (hard links too), with the meanings of\n"
          "'btrfs filesystem du -s', on btrfs, XFS and other filesystems with FIEMAP:\n"
          "  files          regular files\n"
          "  apparent size  the sum of their sizes\n"
          "  total          bytes of their data extents (whole blocks, holes not counted)\n"
          "  exclusive      of which on extents nothing else references\n"
          "  set shared     distinct bytes of the shared extents they use, each counted once\n"
          "  saved          total minus the distinct bytes they use: what sharing saves\n"
          "                 inside the set\n"
          "A shared extent may also be referenced from outside the set (a snapshot, a file\n"
          "elsewhere): FIEMAP cannot tell, so deleting the files may free less than\n"
          "'exclusive' + 'set shared'. Every file must be readable.\n\n"
          "  -h, --human-readable  sizes in KiB, MiB, GiB...\n"
          "  -x, --one-file-system  do not descend into other filesystems\n"
          "  -j, --jobs=N          walk with N threads (default: one per CPU, up to 4)\n"
          "  --json                print one JSON object on stdout\n"
          "  --help                display this help and exit\n"
          "  --version             output version information and exit\n\n"
          "Exit status: 0 success, 1 some path could not be measured, 2 usage error.\n",
          stdout);
}

/* Library callback: print and keep each failure (calls are serialised). */
static int on_error(void *data, const cowcopy_error *e)
{
    cli_failures_add(data, e);
    return 0;
}

/* One 'label: value' line, value exact or with -h in binary units. */
static void print_row(const char *label, uint64_t n, bool human)
{
    printf("%-15s ", label);
    if (human) {
        char buf[32];
        cli_human_bytes(n, buf, sizeof buf);
        printf("%s\n", buf);
    } else {
        printf("%llu\n", (unsigned long long)n);
    }
}

/* The --json document. */
static void print_json(char **paths, size_t n, const cowcopy_usage *u, bool ok,
                       const cli_failures *failures)
{
    json_writer w;
    cli_json_begin(&w, stdout, "du", ok, failures);
    json_array_begin(&w, "paths");
    for (size_t i = 0; i < n; i++)
        json_string(&w, NULL, paths[i]);
    json_array_end(&w);
    json_uint(&w, "files", u->files);
    json_uint(&w, "apparent_bytes", u->apparent_bytes);
    json_uint(&w, "total_bytes", u->total_bytes);
    json_uint(&w, "exclusive_bytes", u->exclusive_bytes);
    json_uint(&w, "set_shared_bytes", u->set_shared_bytes);
    json_uint(&w, "saved_bytes", u->saved_bytes);
    json_uint(&w, "inline_bytes", u->inline_bytes);
    json_uint(&w, "threads", (uint64_t)u->threads);
    json_double(&w, "elapsed", u->elapsed, 3);
    json_object_end(&w);
}

enum { OPT_JSON = 256, OPT_HELP, OPT_VERSION };

static const struct option du_options[] = {
    {"human-readable", no_argument, NULL, 'h'},
    {"one-file-system", no_argument, NULL, 'x'},
    {"jobs", required_argument, NULL, 'j'},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

int cmd_du(int argc, char **argv)
{
    bool human = false, json = false;
    cowcopy_usage_options opts;
    cowcopy_usage_options_init(&opts);
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hxj:", du_options, NULL)) != -1) {
        switch (c) {
        case 'h': human = true; break;
        case 'x': opts.flags |= COWCOPY_USAGE_ONE_FILE_SYSTEM; break;
        case 'j':
            opts.threads = (int)strtol(optarg, &end, 10);
            if (*end || opts.threads < 1 || opts.threads > 256)
                return cli_usage_error("du", "invalid number of jobs '%s' (1 to 256)", optarg);
            break;
        case OPT_JSON: json = true; break;
        case OPT_HELP: du_help(); return EXIT_OK;
        case OPT_VERSION: printf("cowcopy %s\n", cowcopy_version()); return EXIT_OK;
        default: return cli_usage_error("du", "invalid usage");
        }
    }
    static char dot[] = ".";
    static char *dot_only[] = {dot};
    char **paths = optind < argc ? argv + optind : dot_only;
    size_t n = optind < argc ? (size_t)(argc - optind) : 1;
    cli_failures failures = {0};
    opts.on_error = on_error;
    opts.error_data = &failures;
    cowcopy_usage u;
    int r = cowcopy_usage_measure((const char *const *)paths, n, &opts, &u);
    bool ok = failures.total == 0;
    if (r < 0 && ok) { /* no path failed, the whole did (out of memory merging) */
        cli_warn("cannot measure the set of files: %s", cowcopy_strerror(r));
        ok = false;
    }
    if (json) {
        print_json(paths, n, &u, ok, &failures);
    } else {
        print_row("files:", u.files, false);
        print_row("apparent size:", u.apparent_bytes, human);
        print_row("total:", u.total_bytes, human);
        print_row("exclusive:", u.exclusive_bytes, human);
        print_row("set shared:", u.set_shared_bytes, human);
        print_row("saved:", u.saved_bytes, human);
        if (u.inline_bytes)
            print_row("inline:", u.inline_bytes, human);
    }
    cli_failures_free(&failures);
    return ok ? EXIT_OK : EXIT_FAILED;
}
