/*
 * progress.h - the one-line progress display on stderr for long operations.
 *
 * Shown on a terminal for operations longer than about a second, or always
 * with --progress (even into a pipe); never with --no-progress. Refreshed at
 * most 10 times a second (the library calls back at most every 100 ms).
 */
#ifndef COWCOPY_CLI_PROGRESS_H
#define COWCOPY_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum cli_progress_mode { PROGRESS_AUTO = 0, PROGRESS_ALWAYS, PROGRESS_NEVER };

typedef struct cli_progress {
    int mode;        /* enum cli_progress_mode */
    bool active;     /* should lines be drawn at all (mode and terminal) */
    bool drawn;      /* a line is on screen now */
    int width;       /* length of the line on screen */
    double delay;    /* seconds before the first line (AUTO: 1.0) */
    const char *verb; /* "copied", "scanned", ... */
} cli_progress;

void cli_progress_init(cli_progress *p, int mode, const char *verb);

/* Draw: done/total files and bytes, rate, ETA when totals are known. */
void cli_progress_draw(cli_progress *p, double elapsed, uint64_t files, uint64_t bytes,
                       bool totals_known, uint64_t total_files, uint64_t total_bytes);

/* Erase the line so that messages and the final output start clean. */
void cli_progress_clear(cli_progress *p);

#endif
