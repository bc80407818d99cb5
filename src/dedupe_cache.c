/*
 * dedupe_cache.c - the dedupe hash cache (--cache FILE), an SQLite database
 * (Debian's libsqlite3) so that a later run over an unchanged tree reads no
 * file data again.
 *
 * Key: (filesystem UUID, inode) - device numbers change across remounts, so
 * they are not part of it. An entry is used only if the file's size, mtime
 * and ctime (to the nanosecond) are those recorded. A stale entry can only
 * cost a wasted kernel compare, never a wrong dedupe: FIDEDUPERANGE compares
 * the bytes itself.
 *
 * A file that is not a cowcopy cache (wrong application_id or schema) or is
 * damaged (quick_check fails) is reported and ignored: never read, never
 * written over.
 */
#include "dedupe.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_APP_ID 0x636f7763 /* "cowc" */
#define CACHE_VERSION 1

struct dd_cache {
    sqlite3 *db;
    sqlite3_stmt *get, *put;
    pthread_mutex_t lock;
    unsigned pending; /* writes since the last commit */
};

static const char CACHE_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS file_hashes ("
    " fs BLOB NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
    " edge_lo INTEGER, edge_hi INTEGER, full_lo INTEGER, full_hi INTEGER,"
    " PRIMARY KEY (fs, ino)) WITHOUT ROWID;";

/* @return a single integer from a query, or -1. */
static long long query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Is db an intact cowcopy cache (or a new, empty database)? NULL if so, else why not. */
static const char *check_cache(sqlite3 *db)
{
    long long app = query_int(db, "PRAGMA application_id");
    long long tables = query_int(db, "SELECT count(*) FROM sqlite_master");
    if (app < 0 || tables < 0)
        return "not an SQLite database, or damaged";
    if (app == 0 && tables == 0)
        return NULL; /* brand new */
    if (app != CACHE_APP_ID)
        return "not a cowcopy cache";
    if (query_int(db, "PRAGMA user_version") != CACHE_VERSION)
        return "a cowcopy cache of another version";
    sqlite3_stmt *st;
    const char *why = "damaged";
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW &&
            strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0)
            why = NULL;
        sqlite3_finalize(st);
    }
    return why;
}

dd_cache *dd_cache_open(const char *path, dd_scan *s)
{
    sqlite3 *db = NULL;
    const char *why = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                            SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        why = db ? sqlite3_errmsg(db) : "cannot open";
    } else {
        sqlite3_busy_timeout(db, 5000);
        why = check_cache(db);
    }
    dd_cache *c = NULL;
    if (!why && (c = calloc(1, sizeof *c)) == NULL)
        why = "out of memory";
    if (!why) {
        char sql[256];
        snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%d;",
                 CACHE_APP_ID, CACHE_VERSION);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, CACHE_SCHEMA, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db,
                               "SELECT size, mtime_ns, ctime_ns, edge_lo, edge_hi, full_lo, full_hi"
                               " FROM file_hashes WHERE fs = ? AND ino = ?",
                               -1, &c->get, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db,
                               "INSERT OR REPLACE INTO file_hashes VALUES (?,?,?,?,?,?,?,?,?)", -1,
                               &c->put, NULL) != SQLITE_OK ||
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            why = sqlite3_errmsg(db);
    }
    if (why) {
        /* errno: EINVAL for "not ours", EIO for a damaged file. */
        int err = strstr(why, "damaged") ? EIO : EINVAL;
        char *copy = strdup(why);
        dd_report(s, COWCOPY_OP_CACHE, copy ? copy : "sqlite3", err, path, NULL, NULL);
        free(copy);
        if (c) {
            sqlite3_finalize(c->get);
            sqlite3_finalize(c->put);
            free(c);
        }
        sqlite3_close(db);
        return NULL;
    }
    c->db = db;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static int64_t ns_of(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int dd_cache_get(dd_cache *c, const cowcopy__fsid *fs, const struct stat *st, dd_hash *edge,
                 dd_hash *full)
{
    if (!c || !fs->is_uuid)
        return 0;
    int found = 0;
    pthread_mutex_lock(&c->lock);
    sqlite3_bind_blob(c->get, 1, fs->bytes, sizeof fs->bytes, SQLITE_STATIC);
    sqlite3_bind_int64(c->get, 2, (sqlite3_int64)st->st_ino);
    if (sqlite3_step(c->get) == SQLITE_ROW &&
        sqlite3_column_int64(c->get, 0) == (sqlite3_int64)st->st_size &&
        sqlite3_column_int64(c->get, 1) == ns_of(&st->st_mtim) &&
        sqlite3_column_int64(c->get, 2) == ns_of(&st->st_ctim)) {
        if (sqlite3_column_type(c->get, 3) != SQLITE_NULL) {
            edge->lo = (uint64_t)sqlite3_column_int64(c->get, 3);
            edge->hi = (uint64_t)sqlite3_column_int64(c->get, 4);
            found |= 1;
        }
        if (sqlite3_column_type(c->get, 5) != SQLITE_NULL) {
            full->lo = (uint64_t)sqlite3_column_int64(c->get, 5);
            full->hi = (uint64_t)sqlite3_column_int64(c->get, 6);
            found |= 2;
        }
    }
    sqlite3_reset(c->get);
    pthread_mutex_unlock(&c->lock);
    return found;
}

void dd_cache_put(dd_cache *c, const cowcopy__fsid *fs, const struct stat *st,
                  const dd_hash *edge, const dd_hash *full)
{
    if (!c || !fs->is_uuid)
        return;
    pthread_mutex_lock(&c->lock);
    sqlite3_stmt *p = c->put;
    sqlite3_bind_blob(p, 1, fs->bytes, sizeof fs->bytes, SQLITE_STATIC);
    sqlite3_bind_int64(p, 2, (sqlite3_int64)st->st_ino);
    sqlite3_bind_int64(p, 3, (sqlite3_int64)st->st_size);
    sqlite3_bind_int64(p, 4, ns_of(&st->st_mtim));
    sqlite3_bind_int64(p, 5, ns_of(&st->st_ctim));
    if (edge) {
        sqlite3_bind_int64(p, 6, (sqlite3_int64)edge->lo);
        sqlite3_bind_int64(p, 7, (sqlite3_int64)edge->hi);
    } else {
        sqlite3_bind_null(p, 6);
        sqlite3_bind_null(p, 7);
    }
    if (full) {
        sqlite3_bind_int64(p, 8, (sqlite3_int64)full->lo);
        sqlite3_bind_int64(p, 9, (sqlite3_int64)full->hi);
    } else {
        sqlite3_bind_null(p, 8);
        sqlite3_bind_null(p, 9);
    }
    sqlite3_step(p);
    sqlite3_reset(p);
    /* Commit now and then, so an interrupted run keeps most of its work. */
    if (++c->pending >= 10000) {
        sqlite3_exec(c->db, "COMMIT; BEGIN", NULL, NULL, NULL);
        c->pending = 0;
    }
    pthread_mutex_unlock(&c->lock);
}

void dd_cache_close(dd_cache *c)
{
    if (!c)
        return;
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(c->get);
    sqlite3_finalize(c->put);
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
