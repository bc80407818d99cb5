/*
 * quote.c - quoting paths in messages so newlines, control characters and
 * invalid UTF-8 are visible and unambiguous (GNU ls's shell-escape-always
 * style: the result can be pasted back into a shell).
 */
#include "cli.h"

#include <string.h>

/* @return the length of the valid, printable UTF-8 sequence at s (1-4), or
 * 0 if s starts with a control character or an invalid byte. */
static size_t printable_len(const unsigned char *s)
{
    unsigned cp;
    size_t len = cli_utf8_decode(s, &cp);
    if (len == 0 || cp < 0x20 || cp == 0x7f)
        return 0;
    if (cp >= 0x80 && (cp < 0xa0 || cp == 0x2028 || cp == 0x2029))
        return 0; /* C1 controls, line separators */
    return len;
}

static void put_escaped(FILE *f, unsigned char c)
{
    switch (c) {
    case '\a': fputs("\\a", f); break;
    case '\b': fputs("\\b", f); break;
    case '\f': fputs("\\f", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    case '\v': fputs("\\v", f); break;
    default: fprintf(f, "\\%03o", c); break;
    }
}

void cli_quote(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    bool in_plain = false; /* inside '...' */
    bool in_dollar = false; /* inside $'...' */
    if (!*s) {
        fputs("''", f);
        return;
    }
    while (*s) {
        size_t n = printable_len(s);
        if (n > 0 && *s != '\'') {
            if (in_dollar) {
                fputc('\'', f);
                in_dollar = false;
            }
            if (!in_plain) {
                fputc('\'', f);
                in_plain = true;
            }
            fwrite(s, 1, n, f);
            s += n;
            continue;
        }
        if (in_plain) {
            fputc('\'', f);
            in_plain = false;
        }
        if (*s == '\'') {
            if (in_dollar) {
                fputc('\'', f);
                in_dollar = false;
            }
            fputs("\\'", f);
            s++;
            continue;
        }
        if (!in_dollar) {
            fputs("$'", f);
            in_dollar = true;
        }
        put_escaped(f, *s++);
    }
    if (in_plain || in_dollar)
        fputc('\'', f);
}
