/* SPDX-License-Identifier: MIT */
/*
 * The durable outbox (outbox.h, docs/outbox.md) on SQLite: two tables in one WAL database, the
 * queue `outbox` (a row per message not yet acknowledged by its broker) and the audit `history`
 * (a row per message ever queued, sharing its id). A push writes both in one transaction that is
 * fsynced before it returns; an acknowledgement deletes the queue row and stamps the history row
 * in another. What is in flight, and each route's pacing, live in memory: after a restart every
 * queued row is simply pending again.
 *
 * SQLite result codes are translated to negative errno codes here and nowhere else; the text
 * behind the last failure is kept for fw_outbox_errmsg, so that the caller that decides what to
 * do logs it once.
 */
#include "forestwatch/outbox.h"
#include "outbox_int.h"

#include "forestwatch/log.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * How long a statement waits for a lock held by another process (the operator's tool reading the
 * history) before failing with -EBUSY. WAL readers never block the writer, so this only covers
 * the short exclusive moments of a checkpoint or of the schema being created; it is kept small
 * because the daemon calls in from its loop thread.
 */
#define BUSY_TIMEOUT_MS 250
/*
 * After a checkpoint the WAL is cut back to this size rather than to nothing: a WAL that keeps
 * its blocks can take the small transactions of acknowledgements on a filesystem that has just
 * filled up (on filesystems that overwrite in place).
 */
#define WAL_KEEP_BYTES (4 * 1024 * 1024)

#define SYNC_NORMAL 1
#define SYNC_FULL 2

struct route {
    char *name;
    char *broker;
    struct fw_outbox_pacer pacer;
};

struct flight {
    int64_t id;
    int mid;
    size_t route; /* index into routes */
    /* The broker acknowledged it but deleting the row failed: never handed out again in this
     * session, and the deletion is retried (delivered_ms is the acknowledgement's time). */
    int delivered;
    int64_t delivered_ms;
};

enum stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_INSERT,
    ST_INSERT_HISTORY,
    ST_NEXT,
    ST_NEXT_FIFO,
    ST_COUNT_ROUTE,
    ST_ALERT_QUEUED,
    ST_ROUTE_OF,
    ST_ATTEMPT,
    ST_DELIVERED,
    ST_DROPPED,
    ST_DELETE,
    ST_COUNT,
    ST_ACKED,
    ST_HAS_ALERT,
    ST_KV_PUT,
    ST_KV_GET,
    ST__COUNT
};

/* The priority clamp in ST_INSERT keeps a message behind the queued ones of its alert. */
static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_INSERT] =
        "INSERT INTO outbox (route, broker, topic, payload, qos, priority, created_ms, "
        "alert_id, kind) VALUES (?1, ?2, ?3, ?4, ?5, MIN(?6, COALESCE((SELECT "
        "MIN(priority) FROM outbox WHERE alert_id = ?8 AND route = ?1), ?6)), ?7, ?8, ?9)",
    [ST_INSERT_HISTORY] = "INSERT INTO history (id, created_ms, route, broker, topic, alert_id, "
                          "rule, zone, kind, priority) SELECT id, created_ms, route, broker, "
                          "topic, alert_id, ?2, ?3, kind, priority FROM outbox WHERE id = ?1",
    [ST_NEXT] = "SELECT id, topic, payload, qos, priority, attempts, created_ms, alert_id, kind "
                "FROM outbox WHERE route = ?1 AND broker = ?2 ORDER BY priority DESC, id LIMIT ?3",
    [ST_NEXT_FIFO] = "SELECT id, topic, payload, qos, priority, attempts, created_ms, alert_id, "
                     "kind FROM outbox WHERE route = ?1 AND broker = ?2 ORDER BY id LIMIT ?3",
    [ST_COUNT_ROUTE] = "SELECT COUNT(*) FROM outbox WHERE route = ?1 AND broker = ?2",
    [ST_ALERT_QUEUED] = "SELECT COUNT(*) FROM outbox WHERE alert_id = ?1 AND route = ?2 AND "
                        "broker = ?3",
    [ST_ROUTE_OF] = "SELECT route, broker FROM outbox WHERE id = ?1",
    [ST_ATTEMPT] = "UPDATE outbox SET attempts = attempts + 1, last_attempt_ms = ?2 WHERE id = ?1",
    [ST_DELIVERED] = "UPDATE history SET delivered_ms = ?2, attempts = (SELECT attempts FROM "
                     "outbox WHERE id = ?1) WHERE id = ?1 AND id IN (SELECT id FROM outbox)",
    [ST_DROPPED] = "UPDATE history SET dropped = ?2, attempts = (SELECT attempts FROM outbox "
                   "WHERE id = ?1) WHERE id = ?1 AND id IN (SELECT id FROM outbox)",
    [ST_DELETE] = "DELETE FROM outbox WHERE id = ?1",
    [ST_COUNT] = "SELECT COUNT(*) FROM outbox",
    [ST_ACKED] = "UPDATE history SET acked_ms = ?2, acked_by = ?3 WHERE alert_id = ?1 AND "
                 "acked_ms IS NULL",
    [ST_HAS_ALERT] = "SELECT 1 FROM history WHERE alert_id = ?1 LIMIT 1",
    [ST_KV_PUT] = "INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)",
    [ST_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
};

static const char schema_sql[] =
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT," /* AUTOINCREMENT: an id is never reused, so the
                                                history can share it */
    " route TEXT NOT NULL,"
    " broker TEXT NOT NULL,"
    " topic TEXT NOT NULL,"
    " payload BLOB NOT NULL,"
    " qos INTEGER NOT NULL,"
    " priority INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " last_attempt_ms INTEGER,"
    " alert_id TEXT NOT NULL,"
    " kind TEXT NOT NULL);"
    "CREATE INDEX outbox_order ON outbox (route, broker, priority DESC, id);"
    "CREATE INDEX outbox_alert ON outbox (alert_id, route);"
    "CREATE TABLE history ("
    " id INTEGER PRIMARY KEY,"
    " created_ms INTEGER NOT NULL,"
    " route TEXT NOT NULL,"
    " broker TEXT NOT NULL,"
    " topic TEXT NOT NULL,"
    " alert_id TEXT NOT NULL,"
    " rule TEXT NOT NULL,"
    " zone TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " priority INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " delivered_ms INTEGER,"
    " dropped TEXT,"
    " acked_ms INTEGER,"
    " acked_by TEXT);"
    "CREATE INDEX history_created ON history (created_ms);"
    "CREATE INDEX history_alert ON history (alert_id, kind);";

/* Schema version 2: small named texts that must survive a restart (the models' state). */
static const char kv_sql[] = "CREATE TABLE kv ("
                             " key TEXT PRIMARY KEY NOT NULL,"
                             " value TEXT NOT NULL);";

struct fw_outbox {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
    int sync;        /* the PRAGMA synchronous in force, -1: not set yet */
    int forced_sync; /* fw_outbox__force_sync, -1: the module's policy */
    int rate;
    size_t max_queued; /* per route: undelivered messages at most; 0: no limit */

    struct route *routes;
    size_t nroutes, caproutes;
    struct flight *flights;
    size_t nflights, capflights;

    /* The last batch of fw_outbox_next: items and, per item, one block for its strings and
     * payload. */
    struct fw_outbox_item *batch;
    char **batch_mem;
    size_t nbatch, capbatch;

    char errmsg[512];
};

/* ------------------------------------------------------------------------------------------ */
/* SQLite plumbing                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* SQLite's result code as a negative errno code: the one place where they are translated. */
static int errno_of(sqlite3 *db, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_CANTOPEN: {
        /* A missing folder and a forbidden one differ only in the system's errno. */
        int e = db ? sqlite3_system_errno(db) : 0;
        return e > 0 ? -e : -EACCES;
    }
    case SQLITE_NOTADB:
        return -EINVAL;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    default: /* SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_ERROR (a damaged schema), ... */
        return -EIO;
    }
}

static void set_errmsg(struct fw_outbox *ob, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_errmsg(struct fw_outbox *ob, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ob->errmsg, sizeof(ob->errmsg), fmt, ap);
    va_end(ap);
}

/* Record the failure `rc` of `what` and return it translated. */
static int db_fail(struct fw_outbox *ob, int rc, const char *what)
{
    set_errmsg(ob, "%s: %s", what, sqlite3_errmsg(ob->db));
    FW_LOG(FW_LOG_DEBUG, "outbox: %s: %s (%d)", what, sqlite3_errmsg(ob->db), rc);
    return errno_of(ob->db, rc);
}

/* Run a statement that returns no rows, and make it reusable. */
static int stmt_run(struct fw_outbox *ob, enum stmt s, const char *what)
{
    sqlite3_stmt *st = ob->st[s];
    int rc = sqlite3_step(st);
    int err = rc == SQLITE_DONE ? 0 : db_fail(ob, rc, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

static void stmt_done(struct fw_outbox *ob, enum stmt s)
{
    sqlite3_reset(ob->st[s]);
    sqlite3_clear_bindings(ob->st[s]);
}

static int exec_sql(struct fw_outbox *ob, const char *sql, const char *what)
{
    int rc = sqlite3_exec(ob->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(ob, rc, what);
}

/*
 * PRAGMA synchronous per transaction (docs/outbox.md): FULL syncs the WAL at every commit, so a
 * committed push survives a power cut; NORMAL leaves the sync to the next FULL commit or
 * checkpoint, which is enough for what may be lost harmlessly (an acknowledgement lost to a power
 * cut only makes a message go twice). WAL frames are appended in order, so a later FULL commit
 * makes the earlier NORMAL ones durable too, and losing the unsynced tail never touches them.
 */
static int set_sync(struct fw_outbox *ob, int durable)
{
    int want = ob->forced_sync >= 0 ? ob->forced_sync : durable ? SYNC_FULL : SYNC_NORMAL;
    if (ob->sync == want)
        return 0;
    char sql[40];
    snprintf(sql, sizeof(sql), "PRAGMA synchronous = %d", want);
    int rc = exec_sql(ob, sql, "set synchronous");
    if (rc == 0)
        ob->sync = want;
    return rc;
}

static int tx_begin(struct fw_outbox *ob, int durable)
{
    int rc = set_sync(ob, durable);
    if (rc < 0)
        return rc;
    /* IMMEDIATE: take the write lock now, so a busy database fails here and not at COMMIT. */
    return stmt_run(ob, ST_BEGIN, "begin");
}

/* SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR); roll back what is
 * left open, keeping the first error's text. */
static void tx_rollback(struct fw_outbox *ob)
{
    if (!sqlite3_get_autocommit(ob->db)) {
        sqlite3_step(ob->st[ST_ROLLBACK]);
        sqlite3_reset(ob->st[ST_ROLLBACK]);
    }
}

/* Commit when `rc` is 0, else (or when the commit fails) roll back; returns the outcome. */
static int tx_end(struct fw_outbox *ob, int rc)
{
    if (rc == 0) {
        rc = stmt_run(ob, ST_COMMIT, "commit");
        if (rc == 0)
            return 0;
    }
    tx_rollback(ob);
    return rc;
}

static int check_str(const char *s, size_t cap)
{
    if (!s)
        return -EINVAL;
    return strlen(s) < cap ? 0 : -E2BIG;
}

/* ------------------------------------------------------------------------------------------ */
/* Routes and flights (memory only)                                                            */
/* ------------------------------------------------------------------------------------------ */

static size_t route_find(const struct fw_outbox *ob, const char *name, const char *broker)
{
    for (size_t i = 0; i < ob->nroutes; i++)
        if (strcmp(ob->routes[i].name, name) == 0 && strcmp(ob->routes[i].broker, broker) == 0)
            return i;
    return SIZE_MAX;
}

/* Routes are never forgotten: a handful per config, and their pacing must outlive a reload. */
static size_t route_get(struct fw_outbox *ob, const char *name, const char *broker)
{
    size_t i = route_find(ob, name, broker);
    if (i != SIZE_MAX)
        return i;
    if (ob->nroutes == ob->caproutes) {
        ob->caproutes = ob->caproutes ? 2 * ob->caproutes : 8;
        ob->routes = fw_xrealloc(ob->routes, ob->caproutes * sizeof(*ob->routes));
    }
    struct route *r = &ob->routes[ob->nroutes];
    memset(r, 0, sizeof(*r));
    r->name = fw_xstrdup(name);
    r->broker = fw_xstrdup(broker);
    return ob->nroutes++;
}

static struct flight *flight_by_id(struct fw_outbox *ob, int64_t id)
{
    for (size_t i = 0; i < ob->nflights; i++)
        if (ob->flights[i].id == id)
            return &ob->flights[i];
    return NULL;
}

static void flight_remove(struct fw_outbox *ob, struct flight *f)
{
    size_t i = (size_t)(f - ob->flights);
    memmove(f, f + 1, (ob->nflights - i - 1) * sizeof(*f));
    ob->nflights--;
}

static struct flight *flight_add(struct fw_outbox *ob, int64_t id, int mid, size_t route)
{
    if (ob->nflights == ob->capflights) {
        ob->capflights = ob->capflights ? 2 * ob->capflights : 32;
        ob->flights = fw_xrealloc(ob->flights, ob->capflights * sizeof(*ob->flights));
    }
    struct flight *f = &ob->flights[ob->nflights++];
    memset(f, 0, sizeof(*f));
    f->id = id;
    f->mid = mid;
    f->route = route;
    return f;
}

static void batch_clear(struct fw_outbox *ob)
{
    for (size_t i = 0; i < ob->nbatch; i++)
        FW_FREE(ob->batch_mem[i]);
    ob->nbatch = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Open, close                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* One integer from a statement like "PRAGMA user_version". */
static int query_int(struct fw_outbox *ob, const char *sql, const char *what, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    int err = rc == SQLITE_OK ? 0 : db_fail(ob, rc, what);
    sqlite3_finalize(st);
    return err;
}

/*
 * A new file's directory entry is not made durable by syncing the file: without this, a power
 * cut soon after the first start could lose the whole database with its first alerts. SQLite
 * syncs the folder for the WAL it creates, but not for the main file.
 */
static int sync_parent_dir(const char *path)
{
    char *copy = fw_xstrdup(path);
    int rc = 0;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

/* Create the schema in an empty database, or check the version of an existing one. */
static int schema_setup(struct fw_outbox *ob, const char *path)
{
    int64_t version = 0, objects = 0;
    int rc = tx_begin(ob, 1);
    if (rc < 0)
        return rc;
    /* Read inside the write transaction: two processes opening a new file at once must not both
     * create the tables. */
    rc = query_int(ob, "PRAGMA user_version", "read schema version", &version);
    if (rc == 0 && version == 0)
        rc = query_int(ob, "SELECT COUNT(*) FROM sqlite_schema", "read schema", &objects);
    if (rc < 0)
        return tx_end(ob, rc);
    if (version > FW_OUTBOX_SCHEMA_VERSION) {
        set_errmsg(ob,
                   "%s: schema version %lld is newer than this forestwatch knows (%d): the "
                   "database was written by a newer release; not opened, left untouched",
                   path, (long long)version, FW_OUTBOX_SCHEMA_VERSION);
        return tx_end(ob, -ENOTSUP);
    }
    if (version == FW_OUTBOX_SCHEMA_VERSION) {
        tx_rollback(ob); /* nothing was written */
        return 0;
    }
    if (version == 1) {
        /* Migration 1 -> 2: the key/value table; the queue and the history stay as they are. */
        rc = exec_sql(ob, kv_sql, "migrate schema 1 to 2");
        if (rc == 0)
            rc = exec_sql(ob, "PRAGMA user_version = 2", "set schema version");
        return tx_end(ob, rc);
    }
    if (version < 0 || objects > 0) {
        set_errmsg(ob, "%s: not a forestwatch outbox (schema version %lld, %lld objects)", path,
                   (long long)version, (long long)objects);
        return tx_end(ob, -EINVAL);
    }
    rc = exec_sql(ob, schema_sql, "create schema");
    if (rc == 0)
        rc = exec_sql(ob, kv_sql, "create schema");
    if (rc == 0) {
        char sql[48];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", FW_OUTBOX_SCHEMA_VERSION);
        rc = exec_sql(ob, sql, "set schema version");
    }
    return tx_end(ob, rc);
}

static int load_routes(struct fw_outbox *ob)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(ob->db, "SELECT DISTINCT route, broker FROM outbox", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            route_get(ob, (const char *)sqlite3_column_text(st, 0),
                      (const char *)sqlite3_column_text(st, 1));
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    int err = rc == SQLITE_OK ? 0 : db_fail(ob, rc, "load routes");
    sqlite3_finalize(st);
    return err;
}

int fw_outbox_open(const char *path, struct fw_outbox **out, char **err)
{
    FW_ASSERT(path && out);
    struct fw_outbox *ob = fw_xcalloc(1, sizeof(*ob));
    ob->sync = -1;
    ob->forced_sync = -1;
    ob->rate = FW_OUTBOX_DEFAULT_RATE;
    if (err)
        *err = NULL;
    struct stat sb;
    int fresh = stat(path, &sb) < 0 && errno == ENOENT;

    int rc = sqlite3_open_v2(
        path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        /* sqlite3_open_v2 gives a handle even on failure, for its message. */
        rc = ob->db ? db_fail(ob, rc, "open") : -ENOMEM;
        goto fail;
    }
    sqlite3_extended_result_codes(ob->db, 1);
    sqlite3_busy_timeout(ob->db, BUSY_TIMEOUT_MS);

    /* The first statement reads the file: a file that is not a database fails here. */
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(ob->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        rc = mode && strcmp(mode, "wal") == 0 ? SQLITE_OK : SQLITE_CANTOPEN;
        if (rc != SQLITE_OK) {
            set_errmsg(ob, "journal mode WAL refused (got %s)", mode ? mode : "nothing");
            sqlite3_finalize(st);
            rc = -EIO;
            goto fail;
        }
    }
    rc = rc == SQLITE_OK ? 0 : db_fail(ob, rc, "set journal mode WAL");
    sqlite3_finalize(st);
    if (rc < 0)
        goto fail;
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %d", WAL_KEEP_BYTES);
    if ((rc = exec_sql(ob, sql, "set journal size limit")) < 0)
        goto fail;
    /* The transaction statements first: the schema is set up in a transaction, and the other
     * statements need the schema. */
    for (int i = 0; i < ST__COUNT; i++) {
        if (i == ST_INSERT && (rc = schema_setup(ob, path)) < 0)
            goto fail;
        rc = sqlite3_prepare_v3(ob->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &ob->st[i],
                                NULL);
        if (rc != SQLITE_OK) {
            rc = db_fail(ob, rc, "prepare");
            goto fail;
        }
    }
    if ((rc = load_routes(ob)) < 0)
        goto fail;
    if (fresh && (rc = sync_parent_dir(path)) < 0) {
        set_errmsg(ob, "sync the folder of the new database: %s", strerror(-rc));
        goto fail;
    }
    *out = ob;
    return 0;
fail:
    if (err) {
        /* Messages from schema_setup name the file already. */
        if (strncmp(ob->errmsg, path, strlen(path)) == 0)
            *err = fw_xstrdup(ob->errmsg);
        else
            *err = fw_xasprintf("%s: %s", path, ob->errmsg[0] ? ob->errmsg : strerror(-rc));
    }
    fw_outbox_close(ob);
    return rc;
}

void fw_outbox_close(struct fw_outbox *ob)
{
    if (!ob)
        return;
    batch_clear(ob);
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(ob->st[i]);
    /* The last connection to close checkpoints the WAL into the database and removes it. */
    sqlite3_close(ob->db);
    for (size_t i = 0; i < ob->nroutes; i++) {
        free(ob->routes[i].name);
        free(ob->routes[i].broker);
    }
    free(ob->routes);
    free(ob->flights);
    free(ob->batch);
    free(ob->batch_mem);
    free(ob);
}

const char *fw_outbox_errmsg(const struct fw_outbox *ob)
{
    return ob->errmsg;
}

sqlite3 *fw_outbox__db(struct fw_outbox *ob)
{
    return ob->db;
}

void fw_outbox__force_sync(struct fw_outbox *ob, int level)
{
    ob->forced_sync = level;
}

void fw_outbox_set_max_queued(struct fw_outbox *ob, size_t per_route)
{
    ob->max_queued = per_route;
}

int fw_outbox_set_rate(struct fw_outbox *ob, int per_second)
{
    if (per_second < 0 || per_second > FW_OUTBOX_MAX_RATE)
        return -EINVAL;
    ob->rate = per_second;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Queueing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static int msg_check(const struct fw_outbox_msg *m)
{
    int rc;
    if (m->qos < 0 || m->qos > 2 || m->priority < 0 || m->priority > FW_OUTBOX_MAX_PRIORITY ||
        (!m->payload && m->len))
        return -EINVAL;
    if (m->len > FW_OUTBOX_MAX_PAYLOAD)
        return -E2BIG;
    if ((rc = check_str(m->route, FW_OUTBOX_MAX_NAME)) < 0 ||
        (rc = check_str(m->broker, FW_OUTBOX_MAX_NAME)) < 0 ||
        (rc = check_str(m->topic, FW_OUTBOX_MAX_TOPIC)) < 0 ||
        (rc = check_str(m->alert_id, FW_OUTBOX_MAX_ALERT_ID)) < 0 ||
        (rc = check_str(m->kind, FW_OUTBOX_MAX_NAME)) < 0 ||
        (rc = check_str(m->rule, FW_OUTBOX_MAX_NAME)) < 0 ||
        (rc = check_str(m->zone, FW_OUTBOX_MAX_NAME)) < 0)
        return rc;
    if (!m->route[0] || !m->broker[0] || !m->topic[0])
        return -EINVAL;
    return 0;
}

static int insert_one(struct fw_outbox *ob, const struct fw_outbox_msg *m, int64_t *id)
{
    sqlite3_stmt *st = ob->st[ST_INSERT];
    sqlite3_bind_text(st, 1, m->route, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->broker, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->topic, -1, SQLITE_STATIC);
    /* A NULL blob would be SQL NULL; an empty payload is an empty blob. */
    if (m->len)
        sqlite3_bind_blob(st, 4, m->payload, (int)m->len, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(st, 4, 0);
    sqlite3_bind_int(st, 5, m->qos);
    sqlite3_bind_int(st, 6, m->priority);
    sqlite3_bind_int64(st, 7, m->created_ms);
    sqlite3_bind_text(st, 8, m->alert_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, m->kind, -1, SQLITE_STATIC);
    int rc = stmt_run(ob, ST_INSERT, "insert");
    if (rc < 0)
        return rc;
    *id = sqlite3_last_insert_rowid(ob->db);
    st = ob->st[ST_INSERT_HISTORY];
    sqlite3_bind_int64(st, 1, *id);
    sqlite3_bind_text(st, 2, m->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->zone, -1, SQLITE_STATIC);
    return stmt_run(ob, ST_INSERT_HISTORY, "insert history");
}

static void retry_delivered(struct fw_outbox *ob);

/*
 * Run the COUNT statement `s` (bound by the caller) and take off the rows acknowledged but not
 * yet deleted, which are delivered: of route index `route`, or of every route for SIZE_MAX.
 */
static int count_undelivered(struct fw_outbox *ob, enum stmt s, size_t route, int64_t *out)
{
    int rc = sqlite3_step(ob->st[s]);
    int64_t rows = rc == SQLITE_ROW ? sqlite3_column_int64(ob->st[s], 0) : 0;
    rc = rc == SQLITE_ROW ? 0 : db_fail(ob, rc, "count");
    stmt_done(ob, s);
    for (size_t i = 0; i < ob->nflights; i++)
        if (ob->flights[i].delivered && (route == SIZE_MAX || ob->flights[i].route == route) &&
            rows > 0)
            rows--;
    *out = rows;
    return rc;
}

/*
 * Inside the push's transaction, before message `m` is inserted: is there room on its route?
 * The count sees the batch's earlier rows; rows acknowledged but not yet deleted are delivered
 * and do not count.
 */
static int route_room(struct fw_outbox *ob, const struct fw_outbox_msg *m)
{
    sqlite3_stmt *st = ob->st[ST_COUNT_ROUTE];
    sqlite3_bind_text(st, 1, m->route, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->broker, -1, SQLITE_STATIC);
    int64_t queued;
    int rc = count_undelivered(ob, ST_COUNT_ROUTE, route_get(ob, m->route, m->broker), &queued);
    if (rc < 0)
        return rc;
    if (queued < (int64_t)ob->max_queued)
        return 0;
    /* At the cap, a later message of an alert the route still holds goes in past it, behind the
     * alert: sent at once instead, it would overtake its own alert, or be lost while the alert
     * is still delivered. Bounded: the resolution (once per episode), and one other message
     * while only the alert's first waits; more updates or repeats of an undelivered alert are
     * refused. */
    if (m->alert_id) {
        sqlite3_stmt *q = ob->st[ST_ALERT_QUEUED];
        sqlite3_bind_text(q, 1, m->alert_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, m->route, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, m->broker, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
        int64_t held = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
        stmt_done(ob, ST_ALERT_QUEUED);
        if (rc != SQLITE_ROW)
            return db_fail(ob, rc, "queued alert");
        int resolution = m->kind && strcmp(m->kind, FW_OUTBOX_KIND_RESOLVED) == 0;
        if (held > 0 && (resolution || held == 1))
            return 0;
    }
    set_errmsg(ob, "route \"%s\" (broker \"%s\"): %lld messages wait, the limit is %zu", m->route,
               m->broker, (long long)queued, ob->max_queued);
    return -ENOBUFS;
}

int fw_outbox_push(struct fw_outbox *ob, const struct fw_outbox_msg *msgs, size_t n, int64_t *ids)
{
    int rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = msg_check(&msgs[i])) < 0) {
            set_errmsg(ob, "message %zu: %s", i, rc == -E2BIG ? "too big" : "invalid");
            return rc;
        }
    if (n == 0)
        return 0;
    int64_t id_stack[8];
    int64_t *tmp = n <= FW_ARRAY_LEN(id_stack) ? id_stack : fw_xmalloc(n * sizeof(*tmp));
    if (ob->max_queued)
        retry_delivered(ob); /* delivered rows make room before anything is refused */
    rc = tx_begin(ob, 1);
    if (rc == 0) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (ob->max_queued)
                rc = route_room(ob, &msgs[i]);
            if (rc == 0)
                rc = insert_one(ob, &msgs[i], &tmp[i]);
        }
        rc = tx_end(ob, rc);
    }
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            route_get(ob, msgs[i].route, msgs[i].broker);
            if (ids)
                ids[i] = tmp[i];
        }
    }
    if (tmp != id_stack)
        free(tmp);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Acknowledgements and drops                                                                  */
/* ------------------------------------------------------------------------------------------ */

/*
 * Remove row `id` from the queue and stamp its history row in one transaction: `dropped` NULL
 * for a delivery at `now_ms`, else the reason it was given up. Not durable (NORMAL): losing this
 * to a power cut only sends the message once more.
 */
static int finish_row(struct fw_outbox *ob, int64_t id, int64_t now_ms, const char *dropped)
{
    int rc = tx_begin(ob, 0);
    if (rc < 0)
        return rc;
    enum stmt s = dropped ? ST_DROPPED : ST_DELIVERED;
    sqlite3_bind_int64(ob->st[s], 1, id);
    if (dropped)
        sqlite3_bind_text(ob->st[s], 2, dropped, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(ob->st[s], 2, now_ms);
    rc = stmt_run(ob, s, dropped ? "mark dropped" : "mark delivered");
    if (rc == 0) {
        sqlite3_bind_int64(ob->st[ST_DELETE], 1, id);
        rc = stmt_run(ob, ST_DELETE, "delete");
        if (rc == 0 && sqlite3_changes(ob->db) == 0)
            rc = -ENOENT;
    }
    return tx_end(ob, rc);
}

/* Retry deleting rows whose acknowledgement could not be written; stop at the first failure
 * (the disk is still full: the next call tries again). */
static void retry_delivered(struct fw_outbox *ob)
{
    for (size_t i = 0; i < ob->nflights;) {
        struct flight *f = &ob->flights[i];
        if (!f->delivered) {
            i++;
            continue;
        }
        int rc = finish_row(ob, f->id, f->delivered_ms, NULL);
        if (rc < 0 && rc != -ENOENT)
            return;
        FW_LOG(FW_LOG_DEBUG, "outbox: message %lld: deleted on retry", (long long)f->id);
        flight_remove(ob, f);
    }
}

int fw_outbox_ack(struct fw_outbox *ob, int64_t id, int64_t now_ms)
{
    retry_delivered(ob);
    struct flight *f = flight_by_id(ob, id);
    if (f && f->delivered)
        return 0; /* a repeated acknowledgement of what is being deleted already */
    int rc = finish_row(ob, id, now_ms, NULL);
    if (f && (rc == 0 || rc == -ENOENT)) {
        flight_remove(ob, f);
    } else if (f) {
        /* Keep it out of later batches: the broker has it. */
        f->delivered = 1;
        f->delivered_ms = now_ms;
    }
    return rc;
}

int fw_outbox_ack_mid(struct fw_outbox *ob, const char *broker, int mid, int64_t now_ms,
                      int64_t *id)
{
    for (size_t i = 0; i < ob->nflights; i++) {
        struct flight *f = &ob->flights[i];
        if (f->mid == mid && !f->delivered && strcmp(ob->routes[f->route].broker, broker) == 0) {
            int64_t fid = f->id;
            if (id)
                *id = fid;
            return fw_outbox_ack(ob, fid, now_ms);
        }
    }
    return -ENOENT;
}

int fw_outbox_drop(struct fw_outbox *ob, int64_t id, int64_t now_ms, const char *reason)
{
    int rc = check_str(reason, FW_OUTBOX_MAX_TOPIC);
    if (rc < 0)
        return rc;
    rc = finish_row(ob, id, now_ms, reason);
    struct flight *f = flight_by_id(ob, id);
    if (f && (rc == 0 || rc == -ENOENT))
        flight_remove(ob, f);
    return rc;
}

int fw_outbox_drop_broker(struct fw_outbox *ob, const char *broker, int64_t now_ms,
                          const char *reason, size_t *n)
{
    (void)now_ms;
    if (n)
        *n = 0;
    int rc = check_str(reason, FW_OUTBOX_MAX_TOPIC);
    if (rc < 0 || (rc = check_str(broker, FW_OUTBOX_MAX_NAME)) < 0)
        return rc;
    static const char *const sql[2] = {
        "UPDATE history SET dropped = ?2, attempts = (SELECT attempts FROM outbox o WHERE o.id = "
        "history.id) WHERE id IN (SELECT id FROM outbox WHERE broker = ?1)",
        "DELETE FROM outbox WHERE broker = ?1",
    };
    rc = tx_begin(ob, 0);
    if (rc < 0)
        return rc;
    size_t deleted = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        sqlite3_stmt *st = NULL;
        int src = sqlite3_prepare_v2(ob->db, sql[i], -1, &st, NULL);
        if (src == SQLITE_OK) {
            sqlite3_bind_text(st, 1, broker, -1, SQLITE_STATIC);
            if (i == 0)
                sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
            src = sqlite3_step(st);
        }
        rc = src == SQLITE_DONE ? 0 : db_fail(ob, src, "drop broker");
        sqlite3_finalize(st);
        deleted = (size_t)sqlite3_changes(ob->db);
    }
    rc = tx_end(ob, rc);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < ob->nflights;) {
        if (strcmp(ob->routes[ob->flights[i].route].broker, broker) == 0)
            flight_remove(ob, &ob->flights[i]);
        else
            i++;
    }
    if (n)
        *n = deleted;
    return 0;
}

int fw_outbox_keep_brokers(struct fw_outbox *ob, const char *const *brokers, size_t n,
                           int64_t now_ms, const char *reason, size_t *n_dropped)
{
    if (n_dropped)
        *n_dropped = 0;
    for (size_t ri = 0; ri < ob->nroutes; ri++) {
        const char *b = ob->routes[ri].broker;
        int keep = 0, seen = 0;
        for (size_t i = 0; i < n && !keep; i++)
            keep = strcmp(brokers[i], b) == 0;
        for (size_t j = 0; j < ri && !seen; j++)
            seen = strcmp(ob->routes[j].broker, b) == 0;
        if (keep || seen)
            continue;
        size_t k = 0;
        int rc = fw_outbox_drop_broker(ob, b, now_ms, reason, &k);
        if (rc < 0)
            return rc;
        if (n_dropped)
            *n_dropped += k;
    }
    return 0;
}

void fw_outbox_link_lost(struct fw_outbox *ob, const char *broker)
{
    for (size_t i = 0; i < ob->nflights;) {
        struct flight *f = &ob->flights[i];
        if (!f->delivered && strcmp(ob->routes[f->route].broker, broker) == 0)
            flight_remove(ob, f);
        else
            i++;
    }
}

size_t fw_outbox_inflight(const struct fw_outbox *ob, const char *broker)
{
    size_t n = 0;
    for (size_t i = 0; i < ob->nflights; i++) {
        const struct flight *f = &ob->flights[i];
        if (!f->delivered && (!broker || strcmp(ob->routes[f->route].broker, broker) == 0))
            n++;
    }
    return n;
}

int fw_outbox_each_queued(struct fw_outbox *ob,
                          void (*cb)(void *arg, int64_t id, const char *route, const void *payload,
                                     size_t len),
                          void *arg)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(ob->db, "SELECT id, route, payload FROM outbox ORDER BY id", -1,
                                &st, NULL);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            cb(arg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
               sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    int err = rc == SQLITE_OK ? 0 : db_fail(ob, rc, "list queued messages");
    sqlite3_finalize(st);
    return err;
}

int fw_outbox_pending(struct fw_outbox *ob, size_t *count)
{
    int64_t rows;
    int rc = count_undelivered(ob, ST_COUNT, SIZE_MAX, &rows);
    if (rc < 0)
        return rc;
    *count = (size_t)rows;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* What to publish next                                                                        */
/* ------------------------------------------------------------------------------------------ */

static int64_t pace_interval_us(int rate)
{
    return 1000000 / rate;
}

/*
 * The theoretical arrival time. In steady use it is at most `rate` intervals ahead of now, so
 * anything further is a wall clock stepped back, which must not stall a route for the length of
 * the step: the route goes on as if its burst were just spent, so one message may go now and the
 * next ones at the rate. (Clamping to `rate` intervals ahead would keep the next message one
 * interval away at every call, for as long as the step.)
 */
static int64_t pace_tat(const struct fw_outbox_pacer *p, int rate, int64_t now_us)
{
    int64_t t = pace_interval_us(rate);
    if (p->tat_us > now_us + (int64_t)rate * t)
        return now_us + (int64_t)(rate - 1) * t;
    return p->tat_us;
}

int64_t fw_outbox_pace_when(const struct fw_outbox_pacer *p, int rate, int64_t now_ms)
{
    if (rate <= 0)
        return now_ms;
    int64_t t = pace_interval_us(rate);
    int64_t at_us = pace_tat(p, rate, now_ms * 1000) - (int64_t)(rate - 1) * t;
    int64_t at_ms = at_us <= 0 ? 0 : (at_us + 999) / 1000;
    return at_ms > now_ms ? at_ms : now_ms;
}

void fw_outbox_pace_sent(struct fw_outbox_pacer *p, int rate, int64_t now_ms)
{
    if (rate <= 0)
        return;
    int64_t now_us = now_ms * 1000, tat = pace_tat(p, rate, now_us);
    p->tat_us = (tat > now_us ? tat : now_us) + pace_interval_us(rate);
}

/* Copy the current row of ST_NEXT into the batch. */
static void batch_add(struct fw_outbox *ob, sqlite3_stmt *st, const struct route *r)
{
    if (ob->nbatch == ob->capbatch) {
        ob->capbatch = ob->capbatch ? 2 * ob->capbatch : 32;
        ob->batch = fw_xrealloc(ob->batch, ob->capbatch * sizeof(*ob->batch));
        ob->batch_mem = fw_xrealloc(ob->batch_mem, ob->capbatch * sizeof(*ob->batch_mem));
    }
    const char *topic = (const char *)sqlite3_column_text(st, 1);
    const void *payload = sqlite3_column_blob(st, 2);
    size_t len = (size_t)sqlite3_column_bytes(st, 2);
    const char *alert_id = (const char *)sqlite3_column_text(st, 7);
    const char *kind = (const char *)sqlite3_column_text(st, 8);
    size_t tl = strlen(topic) + 1, al = strlen(alert_id) + 1, kl = strlen(kind) + 1;
    /* The payload first, so it is aligned for whoever parses it in place. */
    char *mem = fw_xmalloc(len + tl + al + kl);
    if (len)
        memcpy(mem, payload, len);
    memcpy(mem + len, topic, tl);
    memcpy(mem + len + tl, alert_id, al);
    memcpy(mem + len + tl + al, kind, kl);
    ob->batch_mem[ob->nbatch] = mem;
    ob->batch[ob->nbatch++] = (struct fw_outbox_item){
        .id = sqlite3_column_int64(st, 0),
        .route = r->name,
        .broker = r->broker,
        .topic = mem + len,
        .payload = mem,
        .len = len,
        .qos = sqlite3_column_int(st, 3),
        .priority = sqlite3_column_int(st, 4),
        .attempts = sqlite3_column_int(st, 5),
        .created_ms = sqlite3_column_int64(st, 6),
        .alert_id = mem + len + tl,
        .kind = mem + len + tl + al,
    };
}

/*
 * Candidates of one route: its first `allowed` rows not in flight, in queue order, or, when the
 * route has a backlog (more waiting than the in-flight window holds: the broker was away), in
 * (priority, id) order, so that a new severe alert goes ahead of an hour of old ones. *more says
 * whether rows not in flight remain beyond them.
 */
static int route_candidates(struct fw_outbox *ob, size_t ri, size_t allowed, int *more,
                            int *is_backlog)
{
    const struct route *r = &ob->routes[ri];
    size_t skip = 0;
    for (size_t i = 0; i < ob->nflights; i++)
        skip += ob->flights[i].route == ri;
    sqlite3_stmt *cnt = ob->st[ST_COUNT_ROUTE];
    sqlite3_bind_text(cnt, 1, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(cnt, 2, r->broker, -1, SQLITE_STATIC);
    int64_t queued = sqlite3_step(cnt) == SQLITE_ROW ? sqlite3_column_int64(cnt, 0) : 0;
    stmt_done(ob, ST_COUNT_ROUTE);
    int backlog = queued - (int64_t)skip > FW_OUTBOX_MAX_INFLIGHT;
    *is_backlog = backlog;
    enum stmt which = backlog ? ST_NEXT : ST_NEXT_FIFO;
    sqlite3_stmt *st = ob->st[which];
    sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->broker, -1, SQLITE_STATIC);
    /* Rows in flight may sit anywhere in the order; one more row tells whether more remain. */
    sqlite3_bind_int64(st, 3, (int64_t)(allowed + skip + 1));
    *more = 0;
    size_t taken = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (flight_by_id(ob, sqlite3_column_int64(st, 0)))
            continue;
        if (taken == allowed) {
            *more = 1;
            break;
        }
        batch_add(ob, st, r);
        taken++;
    }
    int err = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(ob, rc, "select next");
    stmt_done(ob, which);
    return err;
}

int fw_outbox_next(struct fw_outbox *ob, const char *broker, int64_t now_ms, size_t max,
                   const struct fw_outbox_item **items, size_t *n, int64_t *wake_ms)
{
    batch_clear(ob);
    *items = ob->batch;
    *n = 0;
    *wake_ms = 0;
    retry_delivered(ob);
    size_t busy = fw_outbox_inflight(ob, broker);
    size_t room = busy >= FW_OUTBOX_MAX_INFLIGHT ? 0 : FW_OUTBOX_MAX_INFLIGHT - busy;
    if (max < room)
        room = max;
    if (room == 0)
        return 0;
    size_t *first = fw_xcalloc(ob->nroutes + 1, sizeof(size_t));
    size_t *count = fw_xcalloc(ob->nroutes + 1, sizeof(size_t));
    int *backlog = fw_xcalloc(ob->nroutes + 1, sizeof(int));
    for (size_t ri = 0; ri < ob->nroutes; ri++) {
        struct route *r = &ob->routes[ri];
        first[ri] = ob->nbatch;
        if (strcmp(r->broker, broker) != 0)
            continue;
        /* How many this route's pacing lets go now, on a copy of its pacer. */
        struct fw_outbox_pacer sim = r->pacer;
        size_t allowed = 0;
        while (allowed < room && fw_outbox_pace_when(&sim, ob->rate, now_ms) <= now_ms) {
            fw_outbox_pace_sent(&sim, ob->rate, now_ms);
            allowed++;
        }
        int more = 0;
        int rc = route_candidates(ob, ri, allowed, &more, &backlog[ri]);
        if (rc < 0) {
            batch_clear(ob);
            free(first);
            free(count);
            free(backlog);
            return rc;
        }
        count[ri] = ob->nbatch - first[ri];
        /* Rows held back by pacing (not by the in-flight window, which a PUBACK reopens). */
        if (more && allowed < room) {
            int64_t at = fw_outbox_pace_when(&sim, ob->rate, now_ms);
            if (*wake_ms == 0 || at < *wake_ms)
                *wake_ms = at;
        }
    }
    /*
     * Routes share the broker's window. Merge their candidates, each route's in its own order
     * (which the window cut below must not break): at each step the route head that is the
     * oldest goes, except that a backlogged route's head goes by its priority first.
     */
    struct fw_outbox_item *merged = fw_xmalloc((ob->nbatch + 1) * sizeof(*merged));
    char **mem = fw_xmalloc((ob->nbatch + 1) * sizeof(*mem));
    size_t *at = fw_xcalloc(ob->nroutes + 1, sizeof(size_t));
    for (size_t m = 0; m < ob->nbatch; m++) {
        size_t best = SIZE_MAX;
        for (size_t ri = 0; ri < ob->nroutes; ri++) {
            if (at[ri] == count[ri])
                continue;
            const struct fw_outbox_item *h = &ob->batch[first[ri] + at[ri]];
            const struct fw_outbox_item *b =
                best == SIZE_MAX ? NULL : &ob->batch[first[best] + at[best]];
            int hp = backlog[ri] ? h->priority : 0, bp = b && backlog[best] ? b->priority : 0;
            if (!b || hp > bp || (hp == bp && h->id < b->id))
                best = ri;
        }
        merged[m] = ob->batch[first[best] + at[best]];
        mem[m] = ob->batch_mem[first[best] + at[best]];
        at[best]++;
    }
    if (ob->nbatch > 0) { /* memcpy must not see the NULL of an empty batch */
        memcpy(ob->batch, merged, ob->nbatch * sizeof(*merged));
        memcpy(ob->batch_mem, mem, ob->nbatch * sizeof(*mem));
    }
    free(merged);
    free(mem);
    free(at);
    free(first);
    free(count);
    free(backlog);
    *items = ob->batch; /* after the last realloc */
    *n = ob->nbatch < room ? ob->nbatch : room;
    return 0;
}

int fw_outbox_sent(struct fw_outbox *ob, int64_t id, int mid, int64_t now_ms)
{
    if (flight_by_id(ob, id))
        return -EALREADY;
    /* Normally the item comes from the last batch; otherwise ask the database. */
    size_t ri = SIZE_MAX;
    for (size_t i = 0; i < ob->nbatch && ri == SIZE_MAX; i++)
        if (ob->batch[i].id == id)
            ri = route_find(ob, ob->batch[i].route, ob->batch[i].broker);
    if (ri == SIZE_MAX) {
        sqlite3_stmt *st = ob->st[ST_ROUTE_OF];
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            ri = route_get(ob, (const char *)sqlite3_column_text(st, 0),
                           (const char *)sqlite3_column_text(st, 1));
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(ob, rc, "find message");
        stmt_done(ob, ST_ROUTE_OF);
        if (rc < 0)
            return rc;
        if (ri == SIZE_MAX)
            return -ENOENT;
    }
    flight_add(ob, id, mid, ri);
    fw_outbox_pace_sent(&ob->routes[ri].pacer, ob->rate, now_ms);
    /* The counters are for the audit only: failing to write them changes nothing in flight. */
    int rc = set_sync(ob, 0);
    if (rc == 0) {
        sqlite3_bind_int64(ob->st[ST_ATTEMPT], 1, id);
        sqlite3_bind_int64(ob->st[ST_ATTEMPT], 2, now_ms);
        rc = stmt_run(ob, ST_ATTEMPT, "count attempt");
    }
    if (rc < 0)
        FW_LOG(FW_LOG_DEBUG, "outbox: message %lld: attempt not counted: %s", (long long)id,
               ob->errmsg);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* History                                                                                     */
/* ------------------------------------------------------------------------------------------ */

int fw_outbox_set_acked(struct fw_outbox *ob, const char *alert_id, const char *who,
                        int64_t when_ms)
{
    int rc = check_str(alert_id, FW_OUTBOX_MAX_ALERT_ID);
    if (rc < 0 || (rc = check_str(who, FW_OUTBOX_MAX_NAME)) < 0)
        return rc;
    /* A person's acknowledgement is not repeatable at will: it is committed durably. */
    rc = tx_begin(ob, 1);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(ob->st[ST_ACKED], 1, alert_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ob->st[ST_ACKED], 2, when_ms);
    sqlite3_bind_text(ob->st[ST_ACKED], 3, who, -1, SQLITE_STATIC);
    rc = stmt_run(ob, ST_ACKED, "acknowledge");
    if (rc == 0 && sqlite3_changes(ob->db) == 0) {
        sqlite3_stmt *st = ob->st[ST_HAS_ALERT];
        sqlite3_bind_text(st, 1, alert_id, -1, SQLITE_STATIC);
        int src = sqlite3_step(st);
        rc = src == SQLITE_ROW    ? -EALREADY
             : src == SQLITE_DONE ? -ENOENT
                                  : db_fail(ob, src, "find alert");
        stmt_done(ob, ST_HAS_ALERT);
    }
    return tx_end(ob, rc);
}

int fw_outbox_prune(struct fw_outbox *ob, int64_t now_ms, int retention_days, size_t *removed)
{
    if (removed)
        *removed = 0;
    if (retention_days < 1 || retention_days > 36500)
        return -EINVAL;
    /* Queued messages and open alerts stay whatever their age: the first are not history yet,
     * and the duty officers still need to see the second. */
    static const char sql[] =
        "DELETE FROM history WHERE created_ms < ?1 AND id NOT IN (SELECT id FROM outbox) AND "
        "alert_id NOT IN (SELECT h.alert_id FROM history h WHERE h.kind = '" FW_OUTBOX_KIND_FIRING
        "' AND NOT EXISTS (SELECT 1 FROM history r WHERE r.alert_id = h.alert_id AND r.kind = "
        "'" FW_OUTBOX_KIND_RESOLVED "'))";
    int rc = tx_begin(ob, 0);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now_ms - (int64_t)retention_days * 86400000);
        src = sqlite3_step(st);
    }
    rc = src == SQLITE_DONE ? 0 : db_fail(ob, src, "prune");
    sqlite3_finalize(st);
    size_t n = (size_t)sqlite3_changes(ob->db);
    rc = tx_end(ob, rc);
    if (rc == 0 && removed)
        *removed = n;
    return rc;
}

#define HISTORY_COLS                                                                               \
    "h.id, h.created_ms, h.route, h.broker, h.topic, h.alert_id, h.rule, h.zone, h.kind, "         \
    "h.priority, h.attempts, h.delivered_ms, h.dropped, h.acked_ms, h.acked_by"
/* The first "firing" message of its alert: one row per alert in the alert views. */
#define FIRST_FIRING                                                                               \
    "h.kind = '" FW_OUTBOX_KIND_FIRING "' AND h.id = (SELECT MIN(f.id) FROM history f WHERE "      \
    "f.alert_id = h.alert_id AND f.kind = '" FW_OUTBOX_KIND_FIRING "')"

static const char *const view_sql[] = {
    [FW_OUTBOX_RECENT] = "SELECT " HISTORY_COLS " FROM history h WHERE h.created_ms >= ?1 "
                         "ORDER BY h.id DESC LIMIT ?2",
    [FW_OUTBOX_OPEN] =
        "SELECT " HISTORY_COLS " FROM history h WHERE h.created_ms >= ?1 AND " FIRST_FIRING
        " AND NOT EXISTS (SELECT 1 FROM history r WHERE r.alert_id = "
        "h.alert_id AND r.kind = '" FW_OUTBOX_KIND_RESOLVED "') "
        "ORDER BY h.priority DESC, h.id DESC LIMIT ?2",
    [FW_OUTBOX_UNACKED] =
        "SELECT " HISTORY_COLS " FROM history h WHERE h.created_ms >= ?1 AND " FIRST_FIRING
        " AND h.acked_ms IS NULL ORDER BY h.id DESC LIMIT ?2",
};

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

int fw_outbox_history(struct fw_outbox *ob, enum fw_outbox_view view, int64_t since_ms,
                      size_t limit, fw_outbox_entry_cb cb, void *arg)
{
    if ((unsigned)view >= FW_ARRAY_LEN(view_sql) || !cb)
        return -EINVAL;
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(ob->db, view_sql[view], -1, &st, NULL);
    int rc = 0;
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, since_ms);
        sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
        while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
            struct fw_outbox_entry e = {
                .id = sqlite3_column_int64(st, 0),
                .created_ms = sqlite3_column_int64(st, 1),
                .route = col_text(st, 2),
                .broker = col_text(st, 3),
                .topic = col_text(st, 4),
                .alert_id = col_text(st, 5),
                .rule = col_text(st, 6),
                .zone = col_text(st, 7),
                .kind = col_text(st, 8),
                .priority = sqlite3_column_int(st, 9),
                .attempts = sqlite3_column_int(st, 10),
                .delivered_ms = sqlite3_column_int64(st, 11),
                .dropped = col_text(st, 12),
                .acked_ms = sqlite3_column_int64(st, 13),
                .acked_by = col_text(st, 14),
            };
            rc = cb(&e, arg);
        }
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_fail(ob, src, "list history");
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Key/value texts                                                                             */
/* ------------------------------------------------------------------------------------------ */

int fw_outbox_kv_put(struct fw_outbox *ob, const char *key, const char *text)
{
    int rc = check_str(key, FW_OUTBOX_MAX_NAME);
    if (rc == 0)
        rc = check_str(text, FW_OUTBOX_MAX_KV + 1);
    if (rc == 0 && !*key)
        rc = -EINVAL;
    if (rc < 0) {
        set_errmsg(ob, "kv put: %s", rc == -E2BIG ? "too big" : "invalid");
        return rc;
    }
    /* NORMAL sync: a state lost to a power cut is the one before, never a torn one. */
    if ((rc = tx_begin(ob, 0)) < 0)
        return tx_end(ob, rc);
    sqlite3_stmt *st = ob->st[ST_KV_PUT];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    rc = stmt_run(ob, ST_KV_PUT, "kv put");
    return tx_end(ob, rc);
}

int fw_outbox_kv_get(struct fw_outbox *ob, const char *key, char **text)
{
    *text = NULL;
    int rc = check_str(key, FW_OUTBOX_MAX_NAME);
    if (rc < 0)
        return rc;
    if ((rc = tx_begin(ob, 0)) < 0)
        return tx_end(ob, rc);
    sqlite3_stmt *st = ob->st[ST_KV_GET];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        *text = fw_xstrdup(v ? v : "");
    } else if (s == SQLITE_DONE) {
        rc = -ENOENT;
    } else {
        rc = db_fail(ob, s, "kv get");
    }
    stmt_done(ob, ST_KV_GET);
    /* A read changed nothing: end the transaction without a commit's sync. */
    if (rc == 0 || rc == -ENOENT) {
        int end = tx_end(ob, 0);
        if (end < 0) {
            FW_FREE(*text);
            return end;
        }
        return rc;
    }
    return tx_end(ob, rc);
}
