/* SPDX-License-Identifier: MIT */
/*
 * The durable outbox on real SQLite files, each case in its own temporary folder: the schema and
 * its version (a newer or foreign database is refused and left alone), rows that survive a clean
 * close and a SIGKILL at a random point (every row the killed child reported committed must be
 * there, byte for byte), order per route, priority draining of a backlog, the in-flight window,
 * pacing on a fake clock, acknowledgements and drops, a full database (PRAGMA max_page_count)
 * that refuses new rows with -ENOSPC while keeping the old ones and accepts rows again once acks
 * free space, a deletion that fails and is retried, and the alert history: views, the duty
 * officers' acknowledgement, pruning.
 */
#include "test.h"

#include "forestwatch/outbox.h"
#include "forestwatch/util.h"
#include "outbox_int.h"

#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define T0 1780286400000LL /* 2026-06-01T04:00:00Z */
#define DAY_MS 86400000LL

struct fx {
    char *dir;
    char *path;
    struct fw_outbox *ob;
};

/* A temporary folder with the path of a database in it; the outbox is not opened. */
static int fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    f->dir = fw_xstrdup("/tmp/fw-test-outbox-XXXXXX");
    if (!mkdtemp(f->dir))
        return -errno;
    f->path = fw_xasprintf("%s/outbox.db", f->dir);
    return 0;
}

static int fx_open(struct fx *f)
{
    char *err = NULL;
    int rc = fx_init(f);
    if (rc == 0)
        rc = fw_outbox_open(f->path, &f->ob, &err);
    if (rc < 0)
        fprintf(stderr, "open: %d: %s\n", rc, err ? err : "");
    free(err);
    return rc;
}

static int fx_reopen(struct fx *f)
{
    fw_outbox_close(f->ob);
    f->ob = NULL;
    char *err = NULL;
    int rc = fw_outbox_open(f->path, &f->ob, &err);
    if (rc < 0)
        fprintf(stderr, "reopen: %d: %s\n", rc, err ? err : "");
    free(err);
    return rc;
}

/* Release everything; the folder is removed only after a passing case, for a post-mortem. */
static void fx_done(struct fx *f)
{
    fw_outbox_close(f->ob);
    if (!fw_test__failed) {
        char *cmd = fw_xasprintf("rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", f->dir);
        free(cmd);
    } else {
        fprintf(stderr, "left for inspection: %s\n", f->dir);
    }
    free(f->dir);
    free(f->path);
}

static struct fw_outbox_msg mk(const char *route, const char *broker, int prio,
                               const char *alert_id, const char *kind, const char *payload)
{
    return (struct fw_outbox_msg){
        .route = route,
        .broker = broker,
        .topic = strcmp(route, "forestry") == 0 ? "bureau/forestry/alerts" : "bureau/x/alerts",
        .payload = payload,
        .len = strlen(payload),
        .qos = 1,
        .priority = prio,
        .created_ms = T0,
        .alert_id = alert_id,
        .kind = kind,
        .rule = "smoke_high",
        .zone = "bs-03",
    };
}

static int push1(struct fw_outbox *ob, const char *route, const char *broker, int prio,
                 const char *alert_id, const char *kind, const char *payload, int64_t *id)
{
    struct fw_outbox_msg m = mk(route, broker, prio, alert_id, kind, payload);
    return fw_outbox_push(ob, &m, 1, id);
}

/* One integer from SQL on the outbox's own connection; LLONG_MIN on error. */
static long long sql_int(struct fw_outbox *ob, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = LLONG_MIN;
    if (sqlite3_prepare_v2(fw_outbox__db(ob), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The ids of the next batch for `broker`, in order, into ids[] (at most 64). */
static size_t next_ids(struct fw_outbox *ob, const char *broker, int64_t now, size_t max,
                       int64_t *ids, int64_t *wake)
{
    const struct fw_outbox_item *it;
    size_t n = 0;
    int64_t w = 0;
    if (fw_outbox_next(ob, broker, now, max, &it, &n, &w) < 0)
        return SIZE_MAX;
    for (size_t i = 0; i < n && i < 64; i++)
        ids[i] = it[i].id;
    if (wake)
        *wake = w;
    return n;
}

/* Publish (pretend) everything next() gives, with mids from *mid on. */
static size_t send_all(struct fw_outbox *ob, const char *broker, int64_t now, int *mid)
{
    const struct fw_outbox_item *it;
    size_t n = 0;
    int64_t w;
    if (fw_outbox_next(ob, broker, now, 100, &it, &n, &w) < 0)
        return SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        if (fw_outbox_sent(ob, it[i].id, (*mid)++, now) < 0)
            return SIZE_MAX;
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Schema and opening                                                                          */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(open_creates_schema)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    ASSERT_EQ(sql_int(f.ob, "PRAGMA user_version"), FW_OUTBOX_SCHEMA_VERSION);
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                            "('outbox', 'history')"),
              2);
    ASSERT_EQ(sql_int(f.ob, "PRAGMA synchronous"), 2); /* FULL: set for the schema commit */
    /* The durability policy: a push commits with FULL (fsync of the WAL before it returns), an
     * acknowledgement with NORMAL. */
    int64_t id;
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a1", "firing", "{}", &id), 0);
    ASSERT_EQ(sql_int(f.ob, "PRAGMA synchronous"), 2);
    ASSERT_EQ(fw_outbox_ack(f.ob, id, T0), 0);
    ASSERT_EQ(sql_int(f.ob, "PRAGMA synchronous"), 1);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a2", "firing", "{}", &id), 0);
    ASSERT_EQ(sql_int(f.ob, "PRAGMA synchronous"), 2);
    ASSERT_EQ(fw_outbox_ack(f.ob, id, T0), 0);
    size_t n = 99;
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(fx_reopen(&f), 0);

    /* WAL is a property of the file: another connection sees it. */
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(f.path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_STR_EQ((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    fx_done(&f);
}

FW_TEST(open_refuses_newer_schema)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    int64_t id;
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a1", "firing", "{}", &id), 0);
    ASSERT_EQ(sqlite3_exec(fw_outbox__db(f.ob), "PRAGMA user_version = 7", NULL, NULL, NULL),
              SQLITE_OK);
    fw_outbox_close(f.ob);
    f.ob = NULL;

    char *err = NULL;
    struct fw_outbox *ob = NULL;
    ASSERT_EQ(fw_outbox_open(f.path, &ob, &err), -ENOTSUP);
    ASSERT_TRUE(ob == NULL);
    ASSERT_STR_CONTAINS(err, f.path);
    ASSERT_STR_CONTAINS(err, "schema version 7 is newer than this forestwatch knows (2)");
    free(err);

    /* Left untouched: version and row still there. */
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(f.path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT (SELECT user_version FROM pragma_user_version) * 100 "
                                 "+ (SELECT COUNT(*) FROM outbox)",
                                 -1, &st, NULL),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_int(st, 0), 701);
    sqlite3_finalize(st);
    sqlite3_close(db);
    fx_done(&f);
}

FW_TEST(kv_put_get)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    char *text = (char *)"x";
    ASSERT_EQ(fw_outbox_kv_get(f.ob, "models.fire", &text), -ENOENT);
    ASSERT_TRUE(text == NULL);
    ASSERT_EQ(fw_outbox_kv_put(f.ob, "models.fire", "{\"v\":1}"), 0);
    ASSERT_EQ(fw_outbox_kv_put(f.ob, "models.pests", "{}"), 0);
    ASSERT_EQ(fw_outbox_kv_get(f.ob, "models.fire", &text), 0);
    ASSERT_STR_EQ(text, "{\"v\":1}");
    free(text);
    /* A put replaces. */
    ASSERT_EQ(fw_outbox_kv_put(f.ob, "models.fire", "{\"v\":2}"), 0);
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM kv"), 2);
    /* Bad arguments change nothing. */
    ASSERT_EQ(fw_outbox_kv_put(f.ob, "", "{}"), -EINVAL);
    char longkey[FW_OUTBOX_MAX_NAME + 1];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    ASSERT_EQ(fw_outbox_kv_put(f.ob, longkey, "{}"), -E2BIG);
    ASSERT_EQ(fw_outbox_kv_get(f.ob, longkey, &text), -E2BIG);
    /* The texts survive a close and reopen, and sit beside the queue without touching it. */
    ASSERT_EQ(fx_reopen(&f), 0);
    ASSERT_EQ(fw_outbox_kv_get(f.ob, "models.fire", &text), 0);
    ASSERT_STR_EQ(text, "{\"v\":2}");
    free(text);
    ASSERT_EQ(fw_outbox_kv_get(f.ob, "models.pests", &text), 0);
    ASSERT_STR_EQ(text, "{}");
    free(text);
    size_t n = 99;
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 0);
    fx_done(&f);
}

FW_TEST(open_migrates_version_1)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    int64_t id;
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a1", "firing", "{}", &id), 0);
    /* Make it a version 1 file: no kv table. */
    ASSERT_EQ(sqlite3_exec(fw_outbox__db(f.ob), "DROP TABLE kv; PRAGMA user_version = 1", NULL,
                           NULL, NULL),
              SQLITE_OK);
    ASSERT_EQ(fx_reopen(&f), 0);
    ASSERT_EQ(sql_int(f.ob, "PRAGMA user_version"), 2);
    size_t n = 0;
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 1); /* the queued message is still there */
    ASSERT_EQ(fw_outbox_kv_put(f.ob, "k", "v"), 0);
    char *text = NULL;
    ASSERT_EQ(fw_outbox_kv_get(f.ob, "k", &text), 0);
    ASSERT_STR_EQ(text, "v");
    free(text);
    fx_done(&f);
}

FW_TEST(open_refuses_foreign_files)
{
    struct fx f;
    ASSERT_EQ(fx_init(&f), 0);
    char *err = NULL;
    struct fw_outbox *ob = NULL;

    /* An SQLite database of something else. */
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(f.path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE readings (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ASSERT_EQ(fw_outbox_open(f.path, &ob, &err), -EINVAL);
    ASSERT_STR_CONTAINS(err, "not a forestwatch outbox");
    FW_FREE(err);

    /* Not a database at all. */
    char *txt = fw_xasprintf("%s/notes.db", f.dir);
    FILE *fp = fopen(txt, "w");
    ASSERT_TRUE(fp != NULL);
    for (int i = 0; i < 100; i++)
        fputs("this is not an SQLite database, it is a text file\n", fp);
    fclose(fp);
    ASSERT_EQ(fw_outbox_open(txt, &ob, &err), -EINVAL);
    ASSERT_STR_CONTAINS(err, txt);
    FW_FREE(err);
    free(txt);

    /* A folder that does not exist. */
    char *missing = fw_xasprintf("%s/no/such/dir/outbox.db", f.dir);
    ASSERT_EQ(fw_outbox_open(missing, &ob, &err), -ENOENT);
    ASSERT_STR_CONTAINS(err, missing);
    FW_FREE(err);
    free(missing);
    fx_done(&f);
}

FW_TEST(reopen_keeps_rows)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    char payload[5][64];
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        snprintf(payload[i], sizeof(payload[i]), "{\"n\": %d, \"zh\": \"北山林场\"}", i);
        char alert[16];
        snprintf(alert, sizeof(alert), "a%d", i);
        ASSERT_EQ(push1(f.ob, i % 2 ? "emergency" : "forestry", "b1", 2, alert, "firing",
                        payload[i], &ids[i]),
                  0);
        if (i)
            ASSERT_GT(ids[i], ids[i - 1]);
    }
    /* Two in flight when the process goes: pending again after the restart. */
    int mid = 1;
    ASSERT_EQ(send_all(f.ob, "b1", T0, &mid), 5);
    ASSERT_EQ(fw_outbox_inflight(f.ob, "b1"), 5);
    ASSERT_EQ(fw_outbox_ack(f.ob, ids[0], T0 + 10), 0);
    ASSERT_EQ(fx_reopen(&f), 0);
    ASSERT_EQ(fw_outbox_inflight(f.ob, NULL), 0);
    size_t n = 0;
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 4);
    const struct fw_outbox_item *it;
    int64_t wake;
    ASSERT_EQ(fw_outbox_next(f.ob, "b1", T0 + 20, 100, &it, &n, &wake), 0);
    ASSERT_EQ(n, 4);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(it[i].id, ids[i + 1]);
        ASSERT_EQ(it[i].len, strlen(payload[i + 1]));
        ASSERT_TRUE(memcmp(it[i].payload, payload[i + 1], it[i].len) == 0);
        ASSERT_STR_EQ(it[i].route, (i + 1) % 2 ? "emergency" : "forestry");
        ASSERT_STR_EQ(it[i].broker, "b1");
        ASSERT_STR_EQ(it[i].kind, "firing");
        ASSERT_EQ(it[i].qos, 1);
        ASSERT_EQ(it[i].attempts, 1);
        ASSERT_EQ(it[i].created_ms, T0);
    }
    ASSERT_STR_EQ(it[0].topic, "bureau/x/alerts");
    ASSERT_STR_EQ(it[0].alert_id, "a1");
    fx_done(&f);
}

FW_TEST(push_checks_and_is_atomic)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    struct fw_outbox_msg m[3] = {
        mk("forestry", "b1", 1, "a1", "firing", "one"),
        mk("emergency", "b2", 1, "a1", "firing", "two"),
        mk("forestry", "b1", 1, "a2", "firing", "three"),
    };
    char *big = fw_xmalloc(FW_OUTBOX_MAX_PAYLOAD + 1);
    memset(big, 'x', FW_OUTBOX_MAX_PAYLOAD + 1);
    m[2].payload = big;
    m[2].len = FW_OUTBOX_MAX_PAYLOAD + 1;
    int64_t ids[3] = {0};
    ASSERT_EQ(fw_outbox_push(f.ob, m, 3, ids), -E2BIG);
    m[2].len = FW_OUTBOX_MAX_PAYLOAD; /* exactly the cap is fine */
    m[1].qos = 3;
    ASSERT_EQ(fw_outbox_push(f.ob, m, 3, ids), -EINVAL);
    m[1].qos = 1;
    m[1].priority = FW_OUTBOX_MAX_PRIORITY + 1;
    ASSERT_EQ(fw_outbox_push(f.ob, m, 3, ids), -EINVAL);
    m[1].priority = 0;
    m[1].route = NULL;
    ASSERT_EQ(fw_outbox_push(f.ob, m, 3, ids), -EINVAL);
    m[1].route = "emergency";
    char topic[FW_OUTBOX_MAX_TOPIC + 1];
    memset(topic, 't', sizeof(topic) - 1);
    topic[sizeof(topic) - 1] = '\0';
    m[1].topic = topic;
    ASSERT_EQ(fw_outbox_push(f.ob, m, 3, ids), -E2BIG);
    size_t n = 9;
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 0); /* nothing of a refused batch */

    m[1].topic = "bureau/emergency/alerts";
    ASSERT_EQ(fw_outbox_push(f.ob, m, 3, ids), 0);
    ASSERT_EQ(ids[1], ids[0] + 1);
    ASSERT_EQ(ids[2], ids[1] + 1);
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM history"), 3);
    /* An empty payload is an empty message, not a NULL. */
    struct fw_outbox_msg e = mk("forestry", "b1", 1, "a3", "firing", "");
    ASSERT_EQ(fw_outbox_push(f.ob, &e, 1, NULL), 0);
    free(big);
    fx_done(&f);
}

/* ------------------------------------------------------------------------------------------ */
/* Order, priority, window, pacing                                                             */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(in_order_per_route)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    ASSERT_EQ(fw_outbox_set_rate(f.ob, 0), 0);
    int64_t ids[30], other;
    for (int i = 0; i < 30; i++)
        ASSERT_EQ(
            push1(f.ob, i % 3 ? "forestry" : "emergency", "b1", 2, "a", "firing", "{}", &ids[i]),
            0);
    ASSERT_EQ(push1(f.ob, "forestry", "b2", 2, "a", "firing", "{}", &other), 0);

    /* The broker's window: 20 at most in flight, in sequence. */
    int64_t got[64];
    ASSERT_EQ(next_ids(f.ob, "b1", T0, 100, got, NULL), FW_OUTBOX_MAX_INFLIGHT);
    for (int i = 0; i < FW_OUTBOX_MAX_INFLIGHT; i++)
        ASSERT_EQ(got[i], ids[i]);
    ASSERT_EQ(next_ids(f.ob, "b1", T0, 3, got, NULL), 3); /* `max` caps too */
    int mid = 1;
    ASSERT_EQ(send_all(f.ob, "b1", T0, &mid), FW_OUTBOX_MAX_INFLIGHT);
    ASSERT_EQ(next_ids(f.ob, "b1", T0, 100, got, NULL), 0);
    ASSERT_EQ(next_ids(f.ob, "b2", T0, 100, got, NULL), 1); /* other brokers have their own */
    ASSERT_EQ(got[0], other);

    /* Five acknowledgements open five places for the next five in sequence. */
    for (int i = 1; i <= 5; i++) {
        int64_t id = 0;
        ASSERT_EQ(fw_outbox_ack_mid(f.ob, "b1", i, T0 + 5, &id), 0);
        ASSERT_EQ(id, ids[i - 1]);
    }
    ASSERT_EQ(fw_outbox_ack_mid(f.ob, "b1", 1, T0 + 5, NULL), -ENOENT); /* stale mid */
    ASSERT_EQ(fw_outbox_ack_mid(f.ob, "b2", 6, T0 + 5, NULL), -ENOENT); /* other broker */
    ASSERT_EQ(next_ids(f.ob, "b1", T0 + 6, 100, got, NULL), 5);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(got[i], ids[20 + i]);

    /* A lost connection: everything unacknowledged goes again, from the oldest. */
    fw_outbox_link_lost(f.ob, "b1");
    ASSERT_EQ(fw_outbox_inflight(f.ob, "b1"), 0);
    ASSERT_EQ(next_ids(f.ob, "b1", T0 + 7, 100, got, NULL), FW_OUTBOX_MAX_INFLIGHT);
    for (int i = 0; i < FW_OUTBOX_MAX_INFLIGHT; i++)
        ASSERT_EQ(got[i], ids[5 + i]);
    ASSERT_EQ(fw_outbox_sent(f.ob, ids[5], 1, T0 + 8), 0);
    ASSERT_EQ(fw_outbox_sent(f.ob, ids[5], 2, T0 + 8), -EALREADY);
    ASSERT_EQ(fw_outbox_sent(f.ob, 999999, 3, T0 + 8), -ENOENT);
    /* A resend counts as an attempt. */
    ASSERT_EQ(sql_int(f.ob, "SELECT attempts FROM outbox ORDER BY id LIMIT 1"), 2);
    fx_done(&f);
}

FW_TEST(priority_drains_backlog)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    ASSERT_EQ(fw_outbox_set_rate(f.ob, 0), 0);
    /* No backlog: one message, straight out. */
    int64_t lone, got[64];
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "lone", "firing", "{}", &lone), 0);
    ASSERT_EQ(next_ids(f.ob, "b1", T0, 100, got, NULL), 1);
    ASSERT_EQ(got[0], lone);
    ASSERT_EQ(fw_outbox_ack(f.ob, lone, T0), 0);

    /* Without a backlog a route keeps its order, whatever the priorities: "in order". */
    int64_t f_low, f_ext;
    ASSERT_EQ(push1(f.ob, "forestry", "b3", 1, "f_low", "firing", "{}", &f_low), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b3", 4, "f_ext", "firing", "{}", &f_ext), 0);
    ASSERT_EQ(next_ids(f.ob, "b3", T0, 100, got, NULL), 2);
    ASSERT_EQ(got[0], f_low);
    ASSERT_EQ(got[1], f_ext);

    /* A backlog (more waiting than the in-flight window: the broker was away) of minor alerts,
     * then a moderate one and an extreme one: the backlog drains highest priority first. */
    int64_t low[25], mod, ext;
    for (int i = 0; i < 25; i++)
        ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "low", "firing", "{}", &low[i]), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 2, "mod", "firing", "{}", &mod), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 4, "ext", "firing", "{}", &ext), 0);
    ASSERT_EQ(next_ids(f.ob, "b1", T0, 100, got, NULL), FW_OUTBOX_MAX_INFLIGHT);
    ASSERT_EQ(got[0], ext);
    ASSERT_EQ(got[1], mod);
    for (int i = 2; i < FW_OUTBOX_MAX_INFLIGHT; i++)
        ASSERT_EQ(got[i], low[i - 2]);

    /* Draining in batches of two: a new extreme alert jumps what is left, not what is in
     * flight. */
    int mid = 1;
    const struct fw_outbox_item *it;
    size_t n;
    int64_t wake, ext2;
    ASSERT_EQ(fw_outbox_next(f.ob, "b1", T0, 2, &it, &n, &wake), 0);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(fw_outbox_sent(f.ob, it[0].id, mid++, T0), 0);
    ASSERT_EQ(fw_outbox_sent(f.ob, it[1].id, mid++, T0), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 4, "ext2", "firing", "{}", &ext2), 0);
    ASSERT_EQ(next_ids(f.ob, "b1", T0, 2, got, NULL), 2);
    ASSERT_EQ(got[0], ext2);
    ASSERT_EQ(got[1], low[0]);

    /* "resolved" never overtakes its "firing", even when its priority came out higher. */
    int64_t fir, res;
    ASSERT_EQ(push1(f.ob, "emergency", "b9", 1, "x", "firing", "{}", &fir), 0);
    ASSERT_EQ(push1(f.ob, "emergency", "b9", 4, "x", "resolved", "{}", &res), 0);
    ASSERT_EQ(fw_outbox_next(f.ob, "b9", T0, 100, &it, &n, &wake), 0);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(it[0].id, fir);
    ASSERT_EQ(it[1].id, res);
    ASSERT_EQ(it[1].priority, 1);
    fx_done(&f);
}

FW_TEST(pacing_fake_clock)
{
    struct fw_outbox_pacer p = {0};
    int64_t t = T0;
    /* Unpaced: always now. */
    ASSERT_EQ(fw_outbox_pace_when(&p, 0, t), t);
    fw_outbox_pace_sent(&p, 0, t);
    ASSERT_EQ(p.tat_us, 0);

    /* 5 a second: a burst of five, then one every 200 ms. */
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(fw_outbox_pace_when(&p, 5, t), t);
        fw_outbox_pace_sent(&p, 5, t);
    }
    ASSERT_EQ(fw_outbox_pace_when(&p, 5, t), t + 200);
    ASSERT_EQ(fw_outbox_pace_when(&p, 5, t + 199), t + 200);
    fw_outbox_pace_sent(&p, 5, t + 200);
    ASSERT_EQ(fw_outbox_pace_when(&p, 5, t + 200), t + 400);
    /* A quiet second refills the burst. */
    t += 1400;
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(fw_outbox_pace_when(&p, 5, t), t);
        fw_outbox_pace_sent(&p, 5, t);
    }
    ASSERT_EQ(fw_outbox_pace_when(&p, 5, t), t + 200);

    /* A wall clock stepped back an hour costs nothing: the next message goes at once on the new
     * clock, and the ones after it at the rate, not an hour later. */
    int64_t back = t - 3600 * 1000;
    ASSERT_EQ(fw_outbox_pace_when(&p, 5, back), back);
    ASSERT_EQ(fw_outbox_pace_when(&p, 5, back + 10), back + 10);
    fw_outbox_pace_sent(&p, 5, back + 10);
    ASSERT_EQ(fw_outbox_pace_when(&p, 5, back + 10), back + 210);
    fw_outbox_pace_sent(&p, 5, back + 210);
    ASSERT_EQ(fw_outbox_pace_when(&p, 5, back + 210), back + 410);

    /* Rates that do not divide a second: 3 a second is one every 333.333 ms. */
    struct fw_outbox_pacer q = {0};
    for (int i = 0; i < 3; i++)
        fw_outbox_pace_sent(&q, 3, T0);
    ASSERT_EQ(fw_outbox_pace_when(&q, 3, T0), T0 + 334);
}

FW_TEST(pacing_in_next)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    ASSERT_EQ(fw_outbox_set_rate(f.ob, -1), -EINVAL);
    ASSERT_EQ(fw_outbox_set_rate(f.ob, FW_OUTBOX_MAX_RATE + 1), -EINVAL);
    ASSERT_EQ(fw_outbox_set_rate(f.ob, 2), 0);
    int64_t ids[5], other, got[64], wake = 0;
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a", "firing", "{}", &ids[i]), 0);
    ASSERT_EQ(push1(f.ob, "emergency", "b1", 1, "b", "firing", "{}", &other), 0);

    /* Each route has its own pace: two of forestry and the one of emergency go now. */
    int mid = 1;
    ASSERT_EQ(next_ids(f.ob, "b1", T0, 100, got, &wake), 3);
    ASSERT_EQ(got[0], ids[0]);
    ASSERT_EQ(got[1], ids[1]);
    ASSERT_EQ(got[2], other);
    ASSERT_EQ(wake, T0 + 500);
    ASSERT_EQ(send_all(f.ob, "b1", T0, &mid), 3);
    ASSERT_EQ(next_ids(f.ob, "b1", T0 + 499, 100, got, &wake), 0);
    ASSERT_EQ(wake, T0 + 500);
    ASSERT_EQ(next_ids(f.ob, "b1", T0 + 500, 100, got, &wake), 1);
    ASSERT_EQ(got[0], ids[2]);
    ASSERT_EQ(send_all(f.ob, "b1", T0 + 500, &mid), 1);
    ASSERT_EQ(next_ids(f.ob, "b1", T0 + 600, 100, got, &wake), 0);
    ASSERT_EQ(wake, T0 + 1000);
    /* A resend after a lost link is paced too. */
    fw_outbox_link_lost(f.ob, "b1");
    ASSERT_EQ(next_ids(f.ob, "b1", T0 + 1000, 100, got, &wake), 2);
    ASSERT_EQ(got[0], ids[0]);
    ASSERT_EQ(got[1], other);
    ASSERT_EQ(wake, T0 + 1500);
    /* Nothing held back by pacing: no wake-up. */
    ASSERT_EQ(fw_outbox_set_rate(f.ob, 0), 0);
    ASSERT_EQ(next_ids(f.ob, "b1", T0 + 1000, 100, got, &wake), 6);
    ASSERT_EQ(wake, 0);
    fx_done(&f);
}

/* ------------------------------------------------------------------------------------------ */
/* Acknowledgements, drops                                                                     */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(ack_deletes)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    int64_t id, got[64];
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 3, "a1", "firing", "{\"x\":1}", &id), 0);
    int mid = 7;
    ASSERT_EQ(send_all(f.ob, "b1", T0 + 1, &mid), 1);
    ASSERT_EQ(next_ids(f.ob, "b1", T0 + 2, 100, got, NULL), 0); /* in flight: not again */
    int64_t acked = 0;
    ASSERT_EQ(fw_outbox_ack_mid(f.ob, "b1", 7, T0 + 3, &acked), 0);
    ASSERT_EQ(acked, id);
    size_t n = 9;
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(fw_outbox_inflight(f.ob, NULL), 0);
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM outbox"), 0);
    ASSERT_EQ(sql_int(f.ob, "SELECT delivered_ms FROM history"), T0 + 3);
    ASSERT_EQ(sql_int(f.ob, "SELECT attempts FROM history"), 1);
    ASSERT_EQ(fw_outbox_ack(f.ob, id, T0 + 4), -ENOENT);
    ASSERT_EQ(next_ids(f.ob, "b1", T0 + 5, 100, got, NULL), 0);
    /* Ids are never reused, even when the newest row was deleted (history shares them). */
    int64_t id2;
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 3, "a2", "firing", "{}", &id2), 0);
    ASSERT_GT(id2, id);
    ASSERT_EQ(fx_reopen(&f), 0);
    int64_t id3;
    ASSERT_EQ(fw_outbox_ack(f.ob, id2, T0 + 6), 0); /* an ack needs no sent() */
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 3, "a3", "firing", "{}", &id3), 0);
    ASSERT_GT(id3, id2);
    fx_done(&f);
}

FW_TEST(drop_gives_up)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    int64_t a, b, c, got[64];
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a", "firing", "{}", &a), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b2", 1, "b", "firing", "{}", &b), 0);
    ASSERT_EQ(push1(f.ob, "emergency", "b2", 1, "c", "firing", "{}", &c), 0);
    int mid = 1;
    ASSERT_EQ(send_all(f.ob, "b1", T0, &mid), 1);
    ASSERT_EQ(fw_outbox_drop(f.ob, a, T0, "publish: payload too big"), 0);
    ASSERT_EQ(fw_outbox_inflight(f.ob, "b1"), 0);
    ASSERT_EQ(fw_outbox_drop(f.ob, a, T0, "again"), -ENOENT);
    size_t n = 0;
    ASSERT_EQ(send_all(f.ob, "b2", T0, &mid), 2);
    ASSERT_EQ(fw_outbox_drop_broker(f.ob, "b2", T0, "broker removed by reload", &n), 0);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(fw_outbox_inflight(f.ob, NULL), 0);
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(next_ids(f.ob, "b2", T0, 100, got, NULL), 0);
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM history WHERE dropped IS NOT NULL AND "
                            "delivered_ms IS NULL AND attempts = 1"),
              3);
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM history WHERE dropped = 'broker removed by "
                            "reload'"),
              2);

    /* Rows of brokers the config no longer has, found again after a restart. */
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "d", "firing", "{}", NULL), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "old", 1, "e", "firing", "{}", NULL), 0);
    ASSERT_EQ(push1(f.ob, "emergency", "old", 1, "f", "firing", "{}", NULL), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "gone", 1, "g", "firing", "{}", NULL), 0);
    ASSERT_EQ(fx_reopen(&f), 0);
    const char *const keep[] = {"b1", "b2"};
    ASSERT_EQ(fw_outbox_keep_brokers(f.ob, keep, 2, T0, "broker not configured", &n), 0);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(fw_outbox_keep_brokers(f.ob, keep, 2, T0, "broker not configured", &n), 0);
    ASSERT_EQ(n, 0);
    fx_done(&f);
}

/* A deletion that fails (here: the connection made read-only) keeps the message out of later
 * batches and is retried until it succeeds. */
FW_TEST(ack_failure_retried)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    int64_t a, b, got[64];
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a", "firing", "{}", &a), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "b", "firing", "{}", &b), 0);
    int mid = 1;
    ASSERT_EQ(send_all(f.ob, "b1", T0, &mid), 2);
    sqlite3 *db = fw_outbox__db(f.ob);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL), SQLITE_OK);
    int rc = fw_outbox_ack(f.ob, a, T0 + 1);
    ASSERT_TRUE(rc < 0 && rc != -ENOENT);
    ASSERT_TRUE(fw_outbox_errmsg(f.ob)[0] != '\0');
    ASSERT_EQ(fw_outbox_inflight(f.ob, "b1"), 1); /* delivered: out of the window */
    size_t n = 0;
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 1);
    fw_outbox_link_lost(f.ob, "b1");
    ASSERT_EQ(next_ids(f.ob, "b1", T0 + 2, 100, got, NULL), 1); /* b only */
    ASSERT_EQ(got[0], b);
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM outbox"), 2);

    ASSERT_EQ(sqlite3_exec(db, "PRAGMA query_only = 0", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(next_ids(f.ob, "b1", T0 + 3, 100, got, NULL), 1); /* retries the deletion */
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM outbox"), 1);
    ASSERT_EQ(sql_int(f.ob, "SELECT delivered_ms FROM history WHERE alert_id = 'a'"), T0 + 1);
    ASSERT_EQ(fw_outbox_inflight(f.ob, NULL), 0);
    fx_done(&f);
}

/* ------------------------------------------------------------------------------------------ */
/* Queue cap per route                                                                         */
/* ------------------------------------------------------------------------------------------ */

/* A route at its cap refuses new messages whole, names itself, and takes them again once its
 * broker acknowledges; other routes are not held back; delivered rows never count. */
FW_TEST(queue_cap_per_route)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    fw_outbox_set_max_queued(f.ob, 3);
    char id[16];
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "a%d", i);
        ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, id, "firing", "{}", NULL), 0);
    }
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 4, "a3", "firing", "{}", NULL), -ENOBUFS);
    ASSERT_TRUE(strstr(fw_outbox_errmsg(f.ob), "route \"forestry\"") != NULL);
    ASSERT_TRUE(strstr(fw_outbox_errmsg(f.ob), "the limit is 3") != NULL);
    /* The same route name on another broker, and another route, have their own queues. */
    ASSERT_EQ(push1(f.ob, "forestry", "b2", 1, "b0", "firing", "{}", NULL), 0);
    ASSERT_EQ(push1(f.ob, "emergency", "b1", 1, "c0", "firing", "{}", NULL), 0);
    /* A batch with one message too many is refused whole: its other message is not queued. */
    struct fw_outbox_msg two[2] = {mk("emergency", "b1", 1, "c1", "firing", "{}"),
                                   mk("forestry", "b1", 1, "a3", "firing", "{}")};
    ASSERT_EQ(fw_outbox_push(f.ob, two, 2, NULL), -ENOBUFS);
    size_t n = 0;
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 5);
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM history"), 5);

    /* One delivery makes room for one. */
    int mid = 1;
    ASSERT_EQ(send_all(f.ob, "b1", T0, &mid), 4);
    ASSERT_EQ(fw_outbox_ack_mid(f.ob, "b1", 1, T0 + 1, NULL), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a3", "firing", "{}", NULL), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a4", "firing", "{}", NULL), -ENOBUFS);

    /* An acknowledgement whose deletion failed still frees its place. */
    sqlite3 *db = fw_outbox__db(f.ob);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL), SQLITE_OK);
    int rc = fw_outbox_ack_mid(f.ob, "b1", 2, T0 + 2, NULL);
    ASSERT_TRUE(rc < 0 && rc != -ENOENT);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA query_only = 0", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a4", "firing", "{}", NULL), 0);
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM outbox WHERE route = 'forestry' AND "
                            "broker = 'b1'"),
              3);

    /* A lower cap keeps what waits; no cap takes everything. */
    fw_outbox_set_max_queued(f.ob, 1);
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 5);
    ASSERT_EQ(push1(f.ob, "forestry", "b2", 1, "b1", "firing", "{}", NULL), -ENOBUFS);
    fw_outbox_set_max_queued(f.ob, 0);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(push1(f.ob, "forestry", "b2", 1, "b1", "firing", "{}", NULL), 0);
    fx_done(&f);
}

/* At the cap, a later message of an alert the route still holds goes in behind it, so an update
 * or a cancel never overtakes its own alert; a message of any other alert is refused. */
FW_TEST(queue_cap_keeps_an_alerts_messages_together)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    ASSERT_EQ(fw_outbox_set_rate(f.ob, 0), 0);
    fw_outbox_set_max_queued(f.ob, 2);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a0", "firing", "{\"n\":0}", NULL), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a1", "firing", "{\"n\":1}", NULL), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 2, "a2", "firing", "{}", NULL), -ENOBUFS);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a0", "resolved", "{\"n\":2}", NULL), 0);
    /* bounded: one other message while only the alert's first waits, then its resolution */
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a1", "update", "{}", NULL), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a1", "repeat", "{}", NULL), -ENOBUFS);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a1", "resolved", "{}", NULL), 0);
    /* held on another route only: no exception here */
    ASSERT_EQ(push1(f.ob, "emergency", "b1", 1, "e0", "firing", "{}", NULL), 0);
    fw_outbox_set_max_queued(f.ob, 1);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "e0", "resolved", "{}", NULL), -ENOBUFS);
    /* the route sends a0's two messages in their order */
    const struct fw_outbox_item *it;
    size_t n;
    int64_t wake;
    ASSERT_EQ(fw_outbox_next(f.ob, "b1", T0, 16, &it, &n, &wake), 0);
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(it[i].alert_id, "a0") == 0)
            ASSERT_STR_EQ(it[i].kind, seen++ ? "resolved" : "firing");
    ASSERT_EQ(seen, 2);
    fx_done(&f);
}

/* ------------------------------------------------------------------------------------------ */
/* Full disk                                                                                   */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(full_database)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    ASSERT_EQ(fw_outbox_set_rate(f.ob, 0), 0);
    enum { PAYLOAD = 6000, MAXROWS = 200 };
    char *payload = fw_xmalloc(PAYLOAD);
    int64_t ids[MAXROWS];
    int nrows = 0;
    /* Limit the database to a little more than it holds now: 32 pages of 4 KiB. */
    long long pages = sql_int(f.ob, "PRAGMA page_count");
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", pages + 32);
    ASSERT_EQ(sql_int(f.ob, sql), pages + 32);

    int rc = 0;
    while (nrows < MAXROWS) {
        memset(payload, 'a' + nrows % 26, PAYLOAD);
        struct fw_outbox_msg m = mk("forestry", "b1", 1, "a", "firing", "");
        m.payload = payload;
        m.len = PAYLOAD;
        if ((rc = fw_outbox_push(f.ob, &m, 1, &ids[nrows])) < 0)
            break;
        nrows++;
    }
    ASSERT_EQ(rc, -ENOSPC);
    ASSERT_STR_CONTAINS(fw_outbox_errmsg(f.ob), "full");
    ASSERT_GE(nrows, 5);
    ASSERT_LT(nrows, MAXROWS);
    /* A batch fails whole; a small message may still fit, so fill up with those first. */
    struct fw_outbox_msg two[2] = {mk("forestry", "b1", 1, "a", "firing", ""),
                                   mk("forestry", "b1", 1, "a", "firing", "")};
    two[0].payload = two[1].payload = payload;
    two[0].len = two[1].len = PAYLOAD;
    ASSERT_EQ(fw_outbox_push(f.ob, two, 2, NULL), -ENOSPC);
    size_t n = 0;
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, (size_t)nrows);

    /* Everything committed before is there, byte for byte, and can be sent. */
    int seen = 0, mid = 1;
    while (seen < nrows) {
        const struct fw_outbox_item *it;
        int64_t wake;
        ASSERT_EQ(fw_outbox_next(f.ob, "b1", T0, 100, &it, &n, &wake), 0);
        ASSERT_GT(n, 0);
        for (size_t i = 0; i < n; i++, seen++) {
            ASSERT_EQ(it[i].id, ids[seen]);
            ASSERT_EQ(it[i].len, PAYLOAD);
            const char *p = it[i].payload;
            ASSERT_TRUE(p[0] == 'a' + seen % 26 && p[PAYLOAD - 1] == 'a' + seen % 26);
            ASSERT_EQ(fw_outbox_sent(f.ob, it[i].id, mid++, T0), 0);
        }
        /* Acknowledge all but the very last row: deleting works on a full database. */
        for (size_t i = 0; i < n; i++)
            if (seen < nrows || i + 1 < n)
                ASSERT_EQ(fw_outbox_ack(f.ob, it[i].id, T0 + 1), 0);
    }
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 1);
    /* The freed pages take new rows again. */
    ASSERT_EQ(fw_outbox_push(f.ob, two, 2, NULL), 0);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "a", "firing", "{}", NULL), 0);
    ASSERT_EQ(fw_outbox_pending(f.ob, &n), 0);
    ASSERT_EQ(n, 6);
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check "
                            "= 'ok'"),
              1);
    free(payload);
    fx_done(&f);
}

/* ------------------------------------------------------------------------------------------ */
/* Crash safety                                                                                */
/* ------------------------------------------------------------------------------------------ */

struct report {
    int64_t id;
    int32_t seq;
};

/* Row `seq`'s content, so that the parent can check it without having seen it. */
static size_t crash_payload(int seq, char *buf, size_t size)
{
    size_t len = 64 + (size_t)(seq * 37) % 2000;
    if (len > size)
        len = size;
    int h = snprintf(buf, size, "row %d:", seq);
    for (size_t i = (size_t)h; i < len; i++)
        buf[i] = (char)('A' + (seq + i) % 61);
    return len;
}

static void crash_child(const char *path, int first, int wfd)
{
    struct fw_outbox *ob;
    if (fw_outbox_open(path, &ob, NULL) < 0)
        _exit(3);
    char payload[4096], alert[32], route[16];
    for (int seq = first;; seq++) {
        struct fw_outbox_msg m = mk("forestry", "b1", seq % 5, "", "firing", "");
        snprintf(alert, sizeof(alert), "alert-%d", seq);
        snprintf(route, sizeof(route), "r%d", seq % 3);
        m.alert_id = alert;
        m.route = route;
        m.payload = payload;
        m.len = crash_payload(seq, payload, sizeof(payload));
        m.created_ms = T0 + seq;
        struct report r;
        memset(&r, 0, sizeof(r)); /* the padding too: it goes down the pipe */
        r.seq = seq;
        if (fw_outbox_push(ob, &m, 1, &r.id) < 0)
            _exit(4);
        /* Reported only once the commit returned. */
        if (write(wfd, &r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(5);
    }
}

FW_TEST(crash_sigkill)
{
    struct fx f;
    ASSERT_EQ(fx_init(&f), 0);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(seed);
    struct report *all = NULL;
    size_t nall = 0, cap = 0;
    for (int round = 0; round < 3; round++) {
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        int kill_after = 10 + rand() % 120;
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(f.path, round * 1000000, fds[1]);
        }
        close(fds[1]);
        int killed = 0;
        struct report r;
        ssize_t got;
        while ((got = read(fds[0], &r, sizeof(r))) == (ssize_t)sizeof(r)) {
            if (nall == cap) {
                cap = cap ? 2 * cap : 256;
                all = fw_xrealloc(all, cap * sizeof(*all));
            }
            all[nall++] = r;
            if (!killed && --kill_after == 0) {
                /* The child goes on committing while the signal is on its way: it lands at
                 * whatever point of a transaction the child has reached. */
                kill(pid, SIGKILL);
                killed = 1;
            }
        }
        close(fds[0]);
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            FW_FAIL_("seed %u round %d: child ended with status %d", seed, round, status);

        /* Every row reported committed, in any round so far, is there and intact. */
        ASSERT_EQ(fx_reopen(&f), 0);
        sqlite3_stmt *st;
        ASSERT_EQ(sqlite3_prepare_v2(fw_outbox__db(f.ob),
                                     "SELECT route, alert_id, payload, priority, created_ms FROM "
                                     "outbox WHERE id = ?1",
                                     -1, &st, NULL),
                  SQLITE_OK);
        char want[4096], s[32];
        for (size_t i = 0; i < nall; i++) {
            sqlite3_bind_int64(st, 1, all[i].id);
            int seq = all[i].seq;
            if (sqlite3_step(st) != SQLITE_ROW) {
                sqlite3_finalize(st);
                FW_FAIL_("seed %u: row %lld (seq %d) reported committed is missing", seed,
                         (long long)all[i].id, seq);
            }
            size_t len = crash_payload(seq, want, sizeof(want));
            snprintf(s, sizeof(s), "r%d", seq % 3);
            int ok = strcmp((const char *)sqlite3_column_text(st, 0), s) == 0;
            snprintf(s, sizeof(s), "alert-%d", seq);
            ok = ok && strcmp((const char *)sqlite3_column_text(st, 1), s) == 0;
            ok = ok && (size_t)sqlite3_column_bytes(st, 2) == len &&
                 memcmp(sqlite3_column_blob(st, 2), want, len) == 0;
            ok = ok && sqlite3_column_int(st, 3) == seq % 5 &&
                 sqlite3_column_int64(st, 4) == T0 + seq;
            sqlite3_reset(st);
            if (!ok) {
                sqlite3_finalize(st);
                FW_FAIL_("seed %u: row %lld (seq %d) damaged", seed, (long long)all[i].id, seq);
            }
        }
        sqlite3_finalize(st);
        /* At most the one row the child committed but had no time to report, per round. */
        size_t pending = 0;
        ASSERT_EQ(fw_outbox_pending(f.ob, &pending), 0);
        ASSERT_GE(pending, nall);
        ASSERT_LE(pending, nall + (size_t)round + 1);
        ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM pragma_integrity_check WHERE "
                                "integrity_check = 'ok'"),
                  1);
        /* Close before the next fork: a connection must not cross a fork. */
        fw_outbox_close(f.ob);
        f.ob = NULL;
    }
    printf("crash_sigkill: seed %u, %zu rows reported committed over 3 kills, all present\n", seed,
           nall);
    free(all);
    fx_done(&f);
}

/* ------------------------------------------------------------------------------------------ */
/* History                                                                                     */
/* ------------------------------------------------------------------------------------------ */

struct listing {
    int n;
    char alerts[16][32];
    char kinds[16][16];
    int64_t acked[16];
    char acked_by[16][32];
    int64_t delivered[16];
    int stop_at;
};

static int on_entry(const struct fw_outbox_entry *e, void *arg)
{
    struct listing *l = arg;
    if (l->n < 16) {
        snprintf(l->alerts[l->n], sizeof(l->alerts[0]), "%s", e->alert_id);
        snprintf(l->kinds[l->n], sizeof(l->kinds[0]), "%s", e->kind);
        snprintf(l->acked_by[l->n], sizeof(l->acked_by[0]), "%s", e->acked_by ? e->acked_by : "");
        l->acked[l->n] = e->acked_ms;
        l->delivered[l->n] = e->delivered_ms;
    }
    l->n++;
    return l->stop_at && l->n == l->stop_at ? 42 : 0;
}

FW_TEST(history_views)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    struct fw_outbox_msg x2[2] = {mk("forestry", "b1", 3, "X", "firing", "{}"),
                                  mk("emergency", "b1", 3, "X", "firing", "{}")};
    int64_t xid[2];
    ASSERT_EQ(fw_outbox_push(f.ob, x2, 2, xid), 0);
    int64_t y;
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 4, "Y", "firing", "{}", &y), 0);
    x2[0].kind = x2[1].kind = "resolved";
    x2[0].created_ms = x2[1].created_ms = T0 + 60000;
    ASSERT_EQ(fw_outbox_push(f.ob, x2, 2, NULL), 0);
    ASSERT_EQ(fw_outbox_ack(f.ob, xid[0], T0 + 5), 0);

    struct listing l = {0};
    ASSERT_EQ(fw_outbox_history(f.ob, FW_OUTBOX_RECENT, 0, 0, on_entry, &l), 0);
    ASSERT_EQ(l.n, 5);
    ASSERT_STR_EQ(l.kinds[0], "resolved"); /* newest first */
    ASSERT_STR_EQ(l.alerts[2], "Y");
    ASSERT_EQ(l.delivered[4], T0 + 5);
    memset(&l, 0, sizeof(l));
    ASSERT_EQ(fw_outbox_history(f.ob, FW_OUTBOX_RECENT, T0 + 1, 0, on_entry, &l), 0);
    ASSERT_EQ(l.n, 2);
    memset(&l, 0, sizeof(l));
    ASSERT_EQ(fw_outbox_history(f.ob, FW_OUTBOX_RECENT, 0, 3, on_entry, &l), 0);
    ASSERT_EQ(l.n, 3);
    memset(&l, 0, sizeof(l));
    l.stop_at = 2;
    ASSERT_EQ(fw_outbox_history(f.ob, FW_OUTBOX_RECENT, 0, 0, on_entry, &l), 42);
    ASSERT_EQ(l.n, 2);

    memset(&l, 0, sizeof(l));
    ASSERT_EQ(fw_outbox_history(f.ob, FW_OUTBOX_OPEN, 0, 0, on_entry, &l), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT_STR_EQ(l.alerts[0], "Y");
    memset(&l, 0, sizeof(l));
    ASSERT_EQ(fw_outbox_history(f.ob, FW_OUTBOX_UNACKED, 0, 0, on_entry, &l), 0);
    ASSERT_EQ(l.n, 2); /* one row per alert, resolved or not */
    ASSERT_STR_EQ(l.alerts[0], "Y");
    ASSERT_STR_EQ(l.alerts[1], "X");

    ASSERT_EQ(fw_outbox_set_acked(f.ob, "X", "北山林场值班室 王", T0 + 120000), 0);
    ASSERT_EQ(fw_outbox_set_acked(f.ob, "X", "someone else", T0 + 130000), -EALREADY);
    ASSERT_EQ(fw_outbox_set_acked(f.ob, "nope", "x", T0), -ENOENT);
    memset(&l, 0, sizeof(l));
    ASSERT_EQ(fw_outbox_history(f.ob, FW_OUTBOX_UNACKED, 0, 0, on_entry, &l), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT_STR_EQ(l.alerts[0], "Y");
    memset(&l, 0, sizeof(l));
    ASSERT_EQ(fw_outbox_history(f.ob, FW_OUTBOX_RECENT, 0, 0, on_entry, &l), 0);
    for (int i = 0; i < 5; i++) {
        int is_x = strcmp(l.alerts[i], "X") == 0;
        ASSERT_EQ(l.acked[i], is_x ? T0 + 120000 : 0);
        ASSERT_STR_EQ(l.acked_by[i], is_x ? "北山林场值班室 王" : "");
    }
    ASSERT_EQ(fw_outbox_history(f.ob, (enum fw_outbox_view)9, 0, 0, on_entry, &l), -EINVAL);
    fx_done(&f);
}

FW_TEST(prune_history)
{
    struct fx f;
    ASSERT_EQ(fx_open(&f), 0);
    /* A: fired and resolved, delivered. B: fired, still open, delivered. C: fired and resolved,
     * still queued. D: recent. */
    int64_t a1, a2, b1, c1, c2, d1;
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "A", "firing", "{}", &a1), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "A", "resolved", "{}", &a2), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "B", "firing", "{}", &b1), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "C", "firing", "{}", &c1), 0);
    ASSERT_EQ(push1(f.ob, "forestry", "b1", 1, "C", "resolved", "{}", &c2), 0);
    struct fw_outbox_msg d = mk("forestry", "b1", 1, "D", "firing", "{}");
    d.created_ms = T0 + 40 * DAY_MS;
    ASSERT_EQ(fw_outbox_push(f.ob, &d, 1, &d1), 0);
    ASSERT_EQ(fw_outbox_ack(f.ob, a1, T0), 0);
    ASSERT_EQ(fw_outbox_ack(f.ob, a2, T0), 0);
    ASSERT_EQ(fw_outbox_ack(f.ob, b1, T0), 0);
    ASSERT_EQ(fw_outbox_ack(f.ob, d1, T0), 0);

    size_t removed = 99;
    ASSERT_EQ(fw_outbox_prune(f.ob, T0 + 41 * DAY_MS, 0, &removed), -EINVAL);
    ASSERT_EQ(fw_outbox_prune(f.ob, T0 + 29 * DAY_MS, 30, &removed), 0);
    ASSERT_EQ(removed, 0); /* nothing old enough */
    ASSERT_EQ(fw_outbox_prune(f.ob, T0 + 41 * DAY_MS, 30, &removed), 0);
    ASSERT_EQ(removed, 2); /* A's two */
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM history WHERE alert_id = 'A'"), 0);
    ASSERT_EQ(sql_int(f.ob, "SELECT COUNT(*) FROM history WHERE alert_id IN ('B', 'C', 'D')"), 4);
    ASSERT_EQ(fw_outbox_ack(f.ob, c1, T0), 0);
    ASSERT_EQ(fw_outbox_ack(f.ob, c2, T0), 0);
    ASSERT_EQ(fw_outbox_prune(f.ob, T0 + 41 * DAY_MS, 30, &removed), 0);
    ASSERT_EQ(removed, 2); /* C's two, once delivered */
    ASSERT_EQ(fw_outbox_prune(f.ob, T0 + 400 * DAY_MS, 30, &removed), 0);
    ASSERT_EQ(removed, 0); /* B is open, D too */
    fx_done(&f);
}
