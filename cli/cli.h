/*
 * cli.h - what the command's files share: the subcommand signature, path
 * quoting, message printing and exit codes.
 *
 * The command uses only the public header, include/cowcopy.h, exactly as
 * zstd's programs/ use only lib/zstd.h.
 */
#ifndef COWCOPY_CLI_H
#define COWCOPY_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cowcopy.h"

/* Documented exit codes (cowcopy(1), EXIT STATUS). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* A subcommand: argv[0] is its name. @return an exit code. */
typedef int (*cli_command_fn)(int argc, char **argv);

int cmd_cp(int argc, char **argv);
int cmd_dedupe(int argc, char **argv);

/* Write s to f quoted so that every byte is visible and the result is
 * unambiguous and pastable into a POSIX shell, as GNU ls's
 * --quoting-style=shell-escape-always does: 'a b', 'it'\''s', 'x'$'\n''y'. */
void cli_quote(FILE *f, const char *s);

/* Decode the UTF-8 sequence at s: @return its length (1-4) with
 * *code_point set, or 0 if s starts with an invalid byte (or the NUL). */
size_t cli_utf8_decode(const unsigned char *s, unsigned *code_point);

/* Print "cowcopy: " + the operation's message with quoted paths + ": " +
 * the errno's text + a hint where one helps, on stderr, as one line. */
void cli_print_error(const cowcopy_error *e);

/* Format a failure as cli_print_error does, without "cowcopy: " and the
 * newline, into a malloc'ed string (NULL on ENOMEM). */
char *cli_format_error(const cowcopy_error *e);

/* "1.5 GiB" style (binary units, one decimal below 10). */
void cli_human_bytes(uint64_t bytes, char *buf, size_t size);

/* printf-style "cowcopy: ..." line on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Usage mistake: message, then "Try 'cowcopy CMD --help'". @return EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Usage mistake about one operand: "cowcopy: " + what + quoted path.
 * @return EXIT_USAGE. */
int cli_usage_error_path(const char *cmd, const char *what, const char *path);

/* Remove the library's hidden temporaries on SIGINT/SIGTERM/SIGHUP/SIGPIPE,
 * then die of the signal as usual. */
void cli_install_signal_cleanup(void);

/* Flush stdout and check every write to it succeeded (coreutils'
 * close_stdout). @return exit_code, or EXIT_FAILED with a message if not. */
int cli_finish_stdout(int exit_code);

#endif
