/*
 * json.c - the JSON writer behind every --json (see json.h).
 */
#include "json.h"

#include "cli.h"

#include <inttypes.h>

void json_init(json_writer *w, FILE *f)
{
    w->f = f;
    w->depth = 0;
    w->has_items[0] = false;
}

/* Comma and member name before a value. */
static void json_prefix(json_writer *w, const char *key)
{
    if (w->depth > 0) {
        if (w->has_items[w->depth])
            fputc(',', w->f);
        w->has_items[w->depth] = true;
    }
    if (key) {
        json_write_string(w->f, key);
        fputc(':', w->f);
    }
}

static void json_open(json_writer *w, const char *key, char bracket)
{
    json_prefix(w, key);
    fputc(bracket, w->f);
    if (w->depth + 1 < JSON_MAX_DEPTH)
        w->depth++;
    w->has_items[w->depth] = false;
}

void json_object_begin(json_writer *w, const char *key)
{
    json_open(w, key, '{');
}

void json_object_end(json_writer *w)
{
    fputc('}', w->f);
    if (w->depth > 0)
        w->depth--;
    if (w->depth == 0)
        fputc('\n', w->f);
}

void json_array_begin(json_writer *w, const char *key)
{
    json_open(w, key, '[');
}

void json_array_end(json_writer *w)
{
    fputc(']', w->f);
    if (w->depth > 0)
        w->depth--;
}

void json_write_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    while (*s) {
        unsigned c = *s;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            s++;
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\t': fputs("\\t", f); break;
            case '\r': fputs("\\r", f); break;
            default: fprintf(f, "\\u%04x", c); break;
            }
            s++;
        } else {
            unsigned cp;
            size_t n = cli_utf8_decode(s, &cp);
            if (n == 0) { /* surrogateescape: byte 0xXY -> U+DCXY */
                fprintf(f, "\\udc%02x", c);
                s++;
            } else {
                fwrite(s, 1, n, f);
                s += n;
            }
        }
    }
    fputc('"', f);
}

void json_string(json_writer *w, const char *key, const char *value)
{
    json_prefix(w, key);
    if (value)
        json_write_string(w->f, value);
    else
        fputs("null", w->f);
}

void json_uint(json_writer *w, const char *key, uint64_t value)
{
    json_prefix(w, key);
    fprintf(w->f, "%" PRIu64, value);
}

void json_int(json_writer *w, const char *key, int64_t value)
{
    json_prefix(w, key);
    fprintf(w->f, "%" PRId64, value);
}

void json_double(json_writer *w, const char *key, double value, int decimals)
{
    json_prefix(w, key);
    fprintf(w->f, "%.*f", decimals, value);
}

void json_bool(json_writer *w, const char *key, bool value)
{
    json_prefix(w, key);
    fputs(value ? "true" : "false", w->f);
}

void json_null(json_writer *w, const char *key)
{
    json_prefix(w, key);
    fputs("null", w->f);
}
