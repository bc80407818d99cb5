/*
 * report.c - failures kept for --json and the common JSON envelope.
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

enum { FAILURES_KEPT = 1000 };

void cli_failures_add(cli_failures *f, const cowcopy_error *e)
{
    cli_print_error(e);
    f->total++;
    if (f->count == FAILURES_KEPT)
        return;
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        cli_failure *items = realloc(f->items, cap * sizeof *items);
        if (!items)
            return;
        f->items = items;
        f->cap = cap;
    }
    cli_failure *item = &f->items[f->count++];
    item->message = cli_format_error(e);
    item->src = e->src ? strdup(e->src) : NULL;
    item->dst = e->dst ? strdup(e->dst) : NULL;
    item->err = -e->code;
}

void cli_failures_free(cli_failures *f)
{
    for (size_t i = 0; i < f->count; i++) {
        free(f->items[i].message);
        free(f->items[i].src);
        free(f->items[i].dst);
    }
    free(f->items);
    memset(f, 0, sizeof *f);
}

void cli_json_begin(json_writer *w, FILE *out, const char *command, bool ok,
                    const cli_failures *failures)
{
    json_init(w, out);
    json_object_begin(w, NULL);
    json_string(w, "command", command);
    json_string(w, "version", cowcopy_version());
    json_bool(w, "ok", ok);
    json_uint(w, "errors", failures->total);
    json_array_begin(w, "failures");
    for (size_t i = 0; i < failures->count; i++) {
        const cli_failure *item = &failures->items[i];
        json_object_begin(w, NULL);
        json_string(w, "message", item->message);
        json_string(w, "src", item->src);
        json_string(w, "dst", item->dst);
        json_int(w, "errno", item->err);
        json_string(w, "error", cowcopy_strerror(-item->err));
        json_object_end(w);
    }
    json_array_end(w);
    if (failures->total > failures->count)
        json_bool(w, "failures_truncated", true);
}
