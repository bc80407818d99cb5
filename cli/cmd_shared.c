/*
 * cmd_shared.c - `cowcopy shared FILE OTHER...`: for each OTHER, how many
 * bytes of its data sit on the same physical blocks as FILE's data
 * (cowcopy_shared_measure), one line each:
 *
 *   b: 536870912 of 536870912 bytes shared with a (100.0%)
 *
 * The percentage is rounded down, so 100.0% means every byte. A path that
 * cannot be measured is reported on stderr and the others are still done;
 * the exit status is then 1.
 */
#include "cli.h"
#include "report.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* --help, on stdout. */
static void shared_help(void)
{
    fputs("Usage: cowcopy shared [OPTIONS] FILE OTHER...\n"
          "For each OTHER, print how many bytes of its data sit on the same physical blocks\n"
          "as FILE's data (clones share them), out of OTHER's data bytes (holes not counted):\n"
          "  b: 536870912 of 536870912 bytes shared with a (100.0%)\n"
          "Files on different filesystems, on filesystems that cannot share, and empty files\n"
          "share 0 bytes. Every file must be readable.\n\n"
          "  -h, --human-readable  sizes in KiB, MiB, GiB...\n"
          "  --json                print one JSON object on stdout\n"
          "  --help                display this help and exit\n"
          "  --version             output version information and exit\n\n"
          "Exit status: 0 success, 1 some file could not be measured, 2 usage error.\n",
          stdout);
}

/* The share in tenths of a percent, rounded down (1000 only if all). */
static unsigned permille(const cowcopy_shared *r)
{
    if (r->data_bytes == 0 || r->shared_bytes == 0)
        return 0;
    if (r->shared_bytes >= r->data_bytes)
        return 1000;
    unsigned p = (unsigned)((long double)r->shared_bytes * 1000 / (long double)r->data_bytes);
    return p > 999 ? 999 : p;
}

/* The JSON name of an enum cowcopy_shared_basis. */
static const char *basis_name(int basis)
{
    switch (basis) {
    case COWCOPY_SHARED_SAME_FILE: return "same file";
    case COWCOPY_SHARED_OTHER_FS: return "different filesystems";
    case COWCOPY_SHARED_NO_MAP: return "no extent map";
    default: return "extents";
    }
}

/* Why a result says what it says, where that is not "compared extents". */
static const char *basis_note(int basis)
{
    switch (basis) {
    case COWCOPY_SHARED_SAME_FILE: return "the same file";
    case COWCOPY_SHARED_OTHER_FS: return "on different filesystems";
    case COWCOPY_SHARED_NO_MAP: return "the filesystem gives no extent map";
    default: return NULL;
    }
}

/* A byte count on stdout: exact, or with -h in binary units. */
static void print_bytes(uint64_t n, bool human)
{
    if (human) {
        char buf[32];
        cli_human_bytes(n, buf, sizeof buf);
        fputs(buf, stdout);
    } else {
        printf("%llu", (unsigned long long)n);
    }
}

/* One OTHER's line: 'b: N of M bytes shared with a (P%)'. */
static void print_line(const char *file, const char *other, const cowcopy_shared *r, bool human)
{
    unsigned pm = permille(r);
    cli_print_name(stdout, other);
    fputs(": ", stdout);
    print_bytes(r->shared_bytes, human);
    fputs(" of ", stdout);
    print_bytes(r->data_bytes, human);
    fputs(human ? " shared with " : " bytes shared with ", stdout);
    cli_print_name(stdout, file);
    printf(" (%u.%u%%", pm / 10, pm % 10);
    const char *note = basis_note(r->basis);
    if (note)
        printf("; %s", note);
    fputs(")\n", stdout);
}

/* The --json document; failed OTHERs appear only in "failures". */
static void print_json(const char *file, char **others, size_t n, const cowcopy_shared *res,
                       bool ok, const cli_failures *failures)
{
    json_writer w;
    cli_json_begin(&w, stdout, "shared", ok, failures);
    json_string(&w, "file", file);
    json_array_begin(&w, "results");
    for (size_t i = 0; i < n; i++) {
        if (res[i].error.code < 0)
            continue;
        json_object_begin(&w, NULL);
        json_string(&w, "path", others[i]);
        json_uint(&w, "shared_bytes", res[i].shared_bytes);
        json_uint(&w, "data_bytes", res[i].data_bytes);
        json_uint(&w, "size", res[i].size);
        json_double(&w, "percent", permille(&res[i]) / 10.0, 1);
        json_string(&w, "basis", basis_name(res[i].basis));
        json_object_end(&w);
    }
    json_array_end(&w);
    json_object_end(&w);
}

enum { OPT_JSON = 256, OPT_HELP, OPT_VERSION };

static const struct option shared_options[] = {
    {"human-readable", no_argument, NULL, 'h'},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

int cmd_shared(int argc, char **argv)
{
    bool human = false, json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", shared_options, NULL)) != -1) {
        switch (c) {
        case 'h': human = true; break;
        case OPT_JSON: json = true; break;
        case OPT_HELP: shared_help(); return EXIT_OK;
        case OPT_VERSION: printf("cowcopy %s\n", cowcopy_version()); return EXIT_OK;
        default: return cli_usage_error("shared", "invalid usage");
        }
    }
    int n = argc - optind;
    if (n == 0)
        return cli_usage_error("shared", "missing file operand");
    if (n == 1)
        return cli_usage_error_path("shared", "missing file operand after ", argv[optind]);
    const char *file = argv[optind];
    char **others = argv + optind + 1;
    size_t count = (size_t)n - 1;
    cowcopy_shared *res = calloc(count, sizeof *res);
    if (!res) {
        cli_warn("out of memory");
        return EXIT_FAILED;
    }
    cli_failures failures = {0};
    int r = cowcopy_shared_measure(file, (const char *const *)others, count, res);
    bool file_failed = r < 0 && count > 0 && res[0].error.src == file;
    if (file_failed) {
        cli_failures_add(&failures, &res[0].error); /* once, not once per OTHER */
    } else {
        for (size_t i = 0; i < count; i++) {
            if (res[i].error.code < 0)
                cli_failures_add(&failures, &res[i].error);
            else if (!json)
                print_line(file, others[i], &res[i], human);
        }
    }
    bool ok = failures.total == 0;
    if (json)
        print_json(file, others, file_failed ? 0 : count, res, ok, &failures);
    cli_failures_free(&failures);
    free(res);
    return ok ? EXIT_OK : EXIT_FAILED;
}
