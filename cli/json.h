/*
 * json.h - writing one JSON document to a stream, the same way for every
 * subcommand's --json.
 *
 * Paths are bytes, not text: a string that is not valid UTF-8 is written with
 * Python's surrogateescape convention, each invalid byte 0xXY as "\udcXY", so
 * that os.fsencode() of the decoded value gives back the exact bytes.
 * The document is written compactly on one line, ending in a newline.
 */
#ifndef COWCOPY_CLI_JSON_H
#define COWCOPY_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum { JSON_MAX_DEPTH = 16 };

typedef struct json_writer {
    FILE *f;
    int depth;
    bool has_items[JSON_MAX_DEPTH]; /* does the open container have an item yet? */
} json_writer;

void json_init(json_writer *w, FILE *f);
/* Containers. key is the member name inside an object, NULL inside an array
 * or at the top. */
void json_object_begin(json_writer *w, const char *key);
void json_object_end(json_writer *w); /* at depth 0 also writes the final newline */
void json_array_begin(json_writer *w, const char *key);
void json_array_end(json_writer *w);
/* Values. */
void json_string(json_writer *w, const char *key, const char *value); /* NULL -> null */
void json_uint(json_writer *w, const char *key, uint64_t value);
void json_int(json_writer *w, const char *key, int64_t value);
void json_double(json_writer *w, const char *key, double value, int decimals);
void json_bool(json_writer *w, const char *key, bool value);
void json_null(json_writer *w, const char *key);

/* Write s as a JSON string literal (quotes included), surrogateescaped. */
void json_write_string(FILE *f, const char *s);

#endif
