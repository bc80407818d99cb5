/*
 * progress.c - the one-line progress display (see progress.h).
 */
#include "progress.h"

#include "cli.h"

#include <inttypes.h>
#include <unistd.h>

void cli_progress_init(cli_progress *p, int mode, const char *verb)
{
    p->mode = mode;
    p->active = mode == PROGRESS_ALWAYS || (mode == PROGRESS_AUTO && isatty(STDERR_FILENO));
    p->drawn = false;
    p->width = 0;
    p->delay = mode == PROGRESS_ALWAYS ? 0.0 : 1.0;
    p->verb = verb;
}

void cli_progress_draw(cli_progress *p, double elapsed, uint64_t files, uint64_t bytes,
                       bool totals_known, uint64_t total_files, uint64_t total_bytes)
{
    if (!p->active || elapsed < p->delay)
        return;
    char done[32], rate[32], total[32], line[256];
    cli_human_bytes(bytes, done, sizeof done);
    cli_human_bytes(elapsed > 0 ? (uint64_t)((double)bytes / elapsed) : 0, rate, sizeof rate);
    int n;
    if (totals_known && total_bytes > 0) {
        cli_human_bytes(total_bytes, total, sizeof total);
        double left = bytes < total_bytes && bytes > 0
                          ? elapsed * (double)(total_bytes - bytes) / (double)bytes
                          : 0;
        unsigned eta = (unsigned)(left + 0.5);
        n = snprintf(line, sizeof line,
                     "%" PRIu64 "/%" PRIu64 " files %s, %s/%s, %s/s, ETA %u:%02u:%02u", files,
                     total_files, p->verb, done, total, rate, eta / 3600, eta / 60 % 60, eta % 60);
    } else {
        n = snprintf(line, sizeof line, "%" PRIu64 " files %s, %s, %s/s", files, p->verb, done,
                     rate);
    }
    if (n < 0)
        return;
    /* Pad over the previous line: escape codes would garble a pipe. */
    fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
    fflush(stderr);
    p->width = n;
    p->drawn = true;
}

void cli_progress_clear(cli_progress *p)
{
    if (!p->drawn)
        return;
    fprintf(stderr, "\r%*s\r", p->width, "");
    fflush(stderr);
    p->drawn = false;
    p->width = 0;
}
