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
 * directory for several sources (exit 1, as in cp).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct cp_args {
    cowcopy_options opts;
    bool verbose;
    bool recursive;
    bool no_target_dir;
    const char *target_dir;
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
          "  -v, --verbose        print each file with the method used (cloned,\n"
          "                       offloaded, copied)\n"
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
    {"fsync", no_argument, NULL, OPT_FSYNC},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* @return -1 to go on, or an exit code to return at once. */
static int parse_cp_args(int argc, char **argv, struct cp_args *a)
{
    cowcopy_options_init(&a->opts);
    unsigned no_preserve = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "anfLPrRpt:Tvd", cp_long_options, NULL)) != -1) {
        unsigned bits;
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
            a->opts.flags |= COWCOPY_NO_DEREFERENCE;
            a->opts.preserve |= COWCOPY_PRESERVE_ALL;
            a->opts.preserve_required |= COWCOPY_PRESERVE_MODE | COWCOPY_PRESERVE_TIMESTAMPS;
            break;
        case 'd':
            a->opts.flags |= COWCOPY_NO_DEREFERENCE;
            a->opts.preserve |= COWCOPY_PRESERVE_LINKS;
            break;
        case 'n': a->opts.flags |= COWCOPY_NO_CLOBBER; break;
        case 'f': a->opts.flags |= COWCOPY_FORCE; break;
        case 'L': a->opts.flags &= ~COWCOPY_NO_DEREFERENCE; break;
        case 'P': a->opts.flags |= COWCOPY_NO_DEREFERENCE; break;
        case 'r':
        case 'R': a->recursive = true; break;
        case 't': a->target_dir = optarg; break;
        case 'T': a->no_target_dir = true; break;
        case 'v': a->verbose = true; break;
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
    return -1;
}

/* The last component of path, ignoring trailing slashes, into a new string. */
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

/* dir + "/" + name, without doubling a slash. */
static char *join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    char *p = malloc(dl + strlen(name) + 2);
    if (p)
        sprintf(p, "%s%s%s", dir, slash ? "" : "/", name);
    return p;
}

static void print_verbose(const char *src, const char *dst, const cowcopy_result *res)
{
    cli_quote(stdout, src);
    fputs(" -> ", stdout);
    cli_quote(stdout, dst);
    printf(" (%s", cowcopy_method_name(res->method));
    if (res->fallback_call && res->method != COWCOPY_METHOD_SKIPPED)
        printf("; %s: %s", res->fallback_call,
               res->fallback_errno ? cowcopy_strerror(-res->fallback_errno) : "no data");
    fputs(")\n", stdout);
}

/* Copy one operand to dst. @return true on success. */
static bool copy_one(const char *src, const char *dst, const struct cp_args *a)
{
    cowcopy_result res;
    struct stat st;
    /* Decide -r before the library would refuse the directory. */
    if (a->recursive && stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_warn("copying directories (-r) is not supported yet: %s", src);
        return false;
    }
    int r = cowcopy_file_copy(src, dst, &a->opts, &res);
    if (r < 0) {
        cli_print_error(&res.error);
        return false;
    }
    if (a->verbose && res.method != COWCOPY_METHOD_SKIPPED)
        print_verbose(src, dst, &res);
    return true;
}

static bool is_directory(const char *path)
{
    struct stat st;
    errno = 0;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
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
        if (a.no_target_dir || (n == 2 && !is_directory(operands[1])))
            return copy_one(operands[0], operands[1], &a) ? EXIT_OK : EXIT_FAILED;
        target = operands[--n];
    } else if (n == 0) {
        return cli_usage_error("cp", "missing file operand");
    }
    if (!is_directory(target)) {
        int err = errno;
        fputs("cowcopy: target ", stderr);
        cli_quote(stderr, target);
        if (err == ENOENT || err == ENOTDIR || err == 0)
            fputs(" is not a directory\n", stderr);
        else
            fprintf(stderr, ": %s\n", strerror(err));
        return EXIT_FAILED;
    }
    bool ok = true;
    for (int i = 0; i < n; i++) {
        char *name = last_component(operands[i]);
        char *dst = name ? join_path(target, name) : NULL;
        if (!dst) {
            cli_warn("out of memory");
            free(name);
            return EXIT_FAILED;
        }
        ok &= copy_one(operands[i], dst, &a);
        free(dst);
        free(name);
    }
    return ok ? EXIT_OK : EXIT_FAILED;
}
