/*
 * cmd_probe.c - `cowcopy probe [DIR]`: what DIR's filesystem can do, found by
 * trying on temporary files in DIR (cowcopy_fs_probe):
 *
 *   directory:   /mnt/data
 *   filesystem:  xfs
 *   block size:  4096
 *   clone:       yes
 *   dedupe:      yes
 *   offload:     yes
 *
 * An answer that could not be found is "unknown (reason)"; a directory the
 * user cannot write to gives "unknown (cannot write here: ...)" and exit 0.
 * Exit 1 only when DIR cannot be examined at all (missing, not a directory).
 */
#include "cli.h"
#include "report.h"

#include <getopt.h>
#include <string.h>

/* --help, on stdout. */
static void probe_help(void)
{
    fputs("Usage: cowcopy probe [OPTIONS] [DIR]\n"
          "Show the type and block size of the filesystem holding DIR (default: .) and\n"
          "whether it can clone files (FICLONE), deduplicate them (FIDEDUPERANGE) and\n"
          "copy inside the kernel (copy_file_range) -- found by trying each on temporary\n"
          "files in DIR that are removed afterwards (unnamed O_TMPFILE files where the\n"
          "filesystem has them, so nothing is left even if cowcopy is killed).\n"
          "Answers: yes, no (with the refusal), unknown (with the reason; e.g. when DIR\n"
          "is not writable).\n\n"
          "  --json     print one JSON object on stdout\n"
          "  --help     display this help and exit\n"
          "  --version  output version information and exit\n\n"
          "Exit status: 0 success (also with unknown answers), 1 DIR cannot be examined,\n"
          "2 usage error.\n",
          stdout);
}

/* One answer line: 'clone:       no (FICLONE: Operation not supported)'. */
static void print_check(const char *label, const cowcopy_probe *p, const cowcopy_probe_check *c)
{
    printf("%-12s %s", label, cowcopy_probe_answer_name(c->answer));
    if (c->answer == COWCOPY_PROBE_YES) {
        fputc('\n', stdout);
        return;
    }
    if (c->answer == COWCOPY_PROBE_UNKNOWN && !p->writable)
        printf(" (cannot write here: %s)\n", cowcopy_strerror(-c->err));
    else if (c->err == 0)
        printf(" (%s copied nothing)\n", c->call ? c->call : "it");
    else
        printf(" (%s: %s)\n", c->call ? c->call : "?", cowcopy_strerror(-c->err));
}

/* One answer as a JSON object {answer, call, errno, error}. */
static void json_check(json_writer *w, const char *key, const cowcopy_probe_check *c)
{
    json_object_begin(w, key);
    json_string(w, "answer", cowcopy_probe_answer_name(c->answer));
    json_string(w, "call", c->call);
    json_int(w, "errno", c->err);
    json_string(w, "error", c->err ? cowcopy_strerror(-c->err) : NULL);
    json_object_end(w);
}

enum { OPT_JSON = 256, OPT_HELP, OPT_VERSION };

static const struct option probe_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

int cmd_probe(int argc, char **argv)
{
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", probe_options, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: json = true; break;
        case OPT_HELP: probe_help(); return EXIT_OK;
        case OPT_VERSION: printf("cowcopy %s\n", cowcopy_version()); return EXIT_OK;
        default: return cli_usage_error("probe", "invalid usage");
        }
    }
    if (argc - optind > 1)
        return cli_usage_error_path("probe", "extra operand ", argv[optind + 1]);
    const char *dir = optind < argc ? argv[optind] : ".";
    cowcopy_probe p;
    cli_failures failures = {0};
    int r = cowcopy_fs_probe(dir, &p);
    if (r < 0)
        cli_failures_add(&failures, &p.error);
    if (json) {
        json_writer w;
        cli_json_begin(&w, stdout, "probe", r == 0, &failures);
        json_string(&w, "directory", dir);
        if (r == 0) {
            json_string(&w, "filesystem", p.fs_name);
            json_uint(&w, "fs_magic", p.fs_magic);
            json_uint(&w, "block_size", p.block_size);
            json_bool(&w, "writable", p.writable);
            json_check(&w, "clone", &p.clone);
            json_check(&w, "dedupe", &p.dedupe);
            json_check(&w, "offload", &p.offload);
        }
        json_object_end(&w);
    } else if (r == 0) {
        fputs("directory:   ", stdout);
        cli_print_name(stdout, dir);
        fputc('\n', stdout);
        if (strcmp(p.fs_name, "unknown") == 0)
            printf("filesystem:  unknown (type 0x%llx)\n", (unsigned long long)p.fs_magic);
        else
            printf("filesystem:  %s\n", p.fs_name);
        printf("block size:  %llu\n", (unsigned long long)p.block_size);
        print_check("clone:", &p, &p.clone);
        print_check("dedupe:", &p, &p.dedupe);
        print_check("offload:", &p, &p.offload);
    }
    cli_failures_free(&failures);
    return r == 0 ? EXIT_OK : EXIT_FAILED;
}
