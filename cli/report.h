/*
 * report.h - what every subcommand reports the same way: the failures it
 * met, kept for the JSON document, and the JSON envelope.
 *
 * Every --json document is one object with at least:
 *   "command": the subcommand ("cp", "du", ...), "version": cowcopy's version,
 *   "ok": true when the exit status is 0, "errors": the number of failures,
 *   "failures": [{"message", "src", "dst", "errno", "error"}...] (the first
 *   1000; "failures_truncated": true if there were more),
 * followed by the subcommand's own fields (cowcopy(1), JSON OUTPUT).
 */
#ifndef COWCOPY_CLI_REPORT_H
#define COWCOPY_CLI_REPORT_H

#include "cli.h"
#include "json.h"

typedef struct cli_failure {
    char *message; /* as printed on stderr, without "cowcopy: " */
    char *src, *dst;
    int err;       /* positive errno */
} cli_failure;

typedef struct cli_failures {
    cli_failure *items;
    size_t count, cap;
    uint64_t total; /* including those not kept */
} cli_failures;

/* Print e on stderr and keep it for the JSON document. */
void cli_failures_add(cli_failures *f, const cowcopy_error *e);
void cli_failures_free(cli_failures *f);

/* Open the document: "command", "version", "ok", "errors", "failures". The
 * caller adds its fields, then calls json_object_end(). */
void cli_json_begin(json_writer *w, FILE *out, const char *command, bool ok,
                    const cli_failures *failures);

#endif
