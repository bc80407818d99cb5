/*
 * util.c - the command's plumbing: error lines, usage errors, signal-time
 * cleanup of temporaries, and checking that stdout was really written.
 */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A hint for a failed clone, where one helps the reader decide what next. */
static void print_clone_hint(FILE *f, const cowcopy_error *e)
{
    int err = -e->code;
    if (err == EXDEV)
        fputs(" (source and destination are on different filesystems; use --reflink=auto to copy)",
              f);
    else if (err == EOPNOTSUPP || err == ENOTTY || err == ENOSYS || err == EINVAL)
        fprintf(f, " (%s cannot share data; use --reflink=auto to copy)",
                e->fs ? e->fs : "this filesystem");
}

/* Write the message for e (without prefix and newline) to f. */
static void write_error(FILE *f, const cowcopy_error *e)
{
    for (const char *t = cowcopy_op_template(e->op); *t; t++) {
        if (t[0] == '%' && (t[1] == '1' || t[1] == '2')) {
            const char *path = t[1] == '1' ? e->src : e->dst;
            cli_quote(f, path ? path : "?");
            t++;
        } else {
            fputc(*t, f);
        }
    }
    /* Messages that say everything already (same file, omitting directory). */
    bool self_explaining = e->op == COWCOPY_OP_SAME_FILE || e->op == COWCOPY_OP_OMIT_DIR ||
                           e->op == COWCOPY_OP_SOURCE_CHANGED || e->op == COWCOPY_OP_INTO_SELF ||
                           e->op == COWCOPY_OP_OVERWRITE_DIR || e->op == COWCOPY_OP_DANGLING_DEST ||
                           e->op == COWCOPY_OP_OVERWRITE_NONDIR;
    if (e->op == COWCOPY_OP_CACHE && e->call) /* the library says why in words */
        fprintf(f, ": %s", e->call);
    else if (!self_explaining)
        fprintf(f, ": %s", cowcopy_strerror(e->code));
    if (e->op == COWCOPY_OP_CLONE)
        print_clone_hint(f, e);
    else if (e->op == COWCOPY_OP_DEDUPE_FS && e->fs)
        fprintf(f, " (%s cannot share data between files)", e->fs);
}

void cli_print_error(const cowcopy_error *e)
{
    flockfile(stderr);
    fputs("cowcopy: ", stderr);
    write_error(stderr, e);
    fputc('\n', stderr);
    funlockfile(stderr);
}

char *cli_format_error(const cowcopy_error *e)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    write_error(f, e);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

void cli_human_bytes(uint64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 6) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, size, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fputs("cowcopy: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cowcopy: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "Try 'cowcopy %s --help' for more information.\n", cmd);
    else
        fputs("Try 'cowcopy --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

int cli_usage_error_path(const char *cmd, const char *what, const char *path)
{
    fprintf(stderr, "cowcopy: %s", what);
    cli_quote(stderr, path);
    fputc('\n', stderr);
    fprintf(stderr, "Try 'cowcopy %s --help' for more information.\n", cmd);
    return EXIT_USAGE;
}

static void on_fatal_signal(int sig)
{
    cowcopy_cleanup_temporaries();
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_install_signal_cleanup(void)
{
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction old;
        /* Keep a signal ignored if our parent ignored it (nohup). */
        if (sigaction(signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(signals[i], &sa, NULL);
    }
}

int cli_finish_stdout(int exit_code)
{
    bool failed = ferror(stdout) != 0;
    int err = failed ? EIO : 0;
    if (fflush(stdout) != 0) {
        failed = true;
        err = errno;
    }
    if (failed) {
        /* EPIPE and EBADF are what `cowcopy ... | head` and `>&-` give. */
        cli_warn("write error: %s", strerror(err ? err : EIO));
        return EXIT_FAILED;
    }
    return exit_code;
}
