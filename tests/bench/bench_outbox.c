/* SPDX-License-Identifier: MIT */
/*
 * Outbox benchmark: prints figures, asserts nothing about time (docs/outbox.md). On a database
 * in a fresh folder under --dir (default: the current folder, so the build tree's disk rather
 * than a tmpfs), it measures what the daemon's loop thread pays per call: pushes of one alert
 * message (~2 KiB) in their own transaction, with the module's policy (synchronous=FULL: an
 * fsync of the WAL per commit) and, for comparison, with synchronous=NORMAL (no fsync); pushes
 * of an alert to two routes in one transaction; draining (next + sent + ack, the ack a NORMAL
 * transaction); and fw_outbox_next over a backlog of 10,000 rows. Latencies are p50, p99 and
 * max over every call. `--quick` runs a tiny version, for the ctest that only checks that the
 * benchmark still runs.
 */
#include "forestwatch/outbox.h"
#include "forestwatch/util.h"
#include "outbox_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define T0 1780286400000LL

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Print a rate and the latency distribution of `n` calls that took lat[] ns in all. */
static void report(const char *what, int64_t *lat, size_t n)
{
    if (n == 0)
        return;
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += lat[i];
    qsort(lat, n, sizeof(*lat), cmp_i64);
    printf("  %-44s %9.0f /s   p50 %8.1f us   p99 %8.1f us   max %8.1f us\n", what,
           (double)n * 1e9 / (double)total, lat[n / 2] / 1e3, lat[(n * 99) / 100] / 1e3,
           lat[n - 1] / 1e3);
}

static char payload[2048];

static struct fw_outbox_msg alert_msg(int i, const char *route)
{
    static char alert[64];
    snprintf(alert, sizeof(alert), "gw-bench:smoke_high:node-%d:%lld", i % 50, T0 + i);
    return (struct fw_outbox_msg){
        .route = route,
        .broker = "bureau",
        .topic = "bureau/forestry/alerts",
        .payload = payload,
        .len = sizeof(payload),
        .qos = 1,
        .priority = 1 + i % 4,
        .created_ms = T0 + i,
        .alert_id = alert,
        .kind = "firing",
        .rule = "smoke_high",
        .zone = "bs-03",
    };
}

static int open_fresh(const char *dir, const char *name, struct fw_outbox **ob)
{
    char *path = fw_xasprintf("%s/%s.db", dir, name);
    char *err = NULL;
    int rc = fw_outbox_open(path, ob, &err);
    if (rc < 0)
        fprintf(stderr, "bench_outbox: %s\n", err ? err : path);
    free(err);
    free(path);
    if (rc == 0)
        fw_outbox_set_rate(*ob, 0);
    return rc;
}

/* Pushes of one message per transaction under `sync` (-1: the module's policy). */
static int bench_push(const char *dir, const char *name, int sync, size_t n, const char *label)
{
    struct fw_outbox *ob;
    if (open_fresh(dir, name, &ob) < 0)
        return 1;
    fw_outbox__force_sync(ob, sync);
    int64_t *lat = fw_xmalloc(n * sizeof(*lat));
    for (size_t i = 0; i < n; i++) {
        struct fw_outbox_msg m = alert_msg((int)i, "forestry");
        int64_t t = mono_ns();
        int rc = fw_outbox_push(ob, &m, 1, NULL);
        lat[i] = mono_ns() - t;
        if (rc < 0) {
            fprintf(stderr, "bench_outbox: push: %s\n", fw_outbox_errmsg(ob));
            return 1;
        }
    }
    report(label, lat, n);

    /* Drain what was pushed: next, sent, ack, as the daemon does on each PUBACK. */
    if (sync < 0) {
        int64_t *acks = fw_xmalloc(n * sizeof(*acks)), *nexts = fw_xmalloc(n * sizeof(*nexts));
        size_t nacks = 0, nnext = 0;
        int mid = 1;
        while (nacks < n) {
            const struct fw_outbox_item *it;
            size_t k = 0;
            int64_t wake, t = mono_ns();
            if (fw_outbox_next(ob, "bureau", T0, 100, &it, &k, &wake) < 0 || k == 0) {
                fprintf(stderr, "bench_outbox: next: %s\n", fw_outbox_errmsg(ob));
                return 1;
            }
            nexts[nnext++] = mono_ns() - t;
            int64_t ids[FW_OUTBOX_MAX_INFLIGHT];
            for (size_t i = 0; i < k; i++) {
                ids[i] = it[i].id;
                fw_outbox_sent(ob, it[i].id, mid++, T0);
            }
            for (size_t i = 0; i < k; i++) {
                t = mono_ns();
                int rc = fw_outbox_ack(ob, ids[i], T0 + 1);
                acks[nacks++] = mono_ns() - t;
                if (rc < 0) {
                    fprintf(stderr, "bench_outbox: ack: %s\n", fw_outbox_errmsg(ob));
                    return 1;
                }
            }
        }
        report("ack (NORMAL: no fsync)", acks, nacks);
        report("next, batch of 20, small queue", nexts, nnext);
        free(acks);
        free(nexts);
    }
    free(lat);
    fw_outbox_close(ob);
    return 0;
}

/* One alert to two routes per transaction: what dispatch commits for one notification. */
static int bench_push_pairs(const char *dir, size_t n)
{
    struct fw_outbox *ob;
    if (open_fresh(dir, "pairs", &ob) < 0)
        return 1;
    int64_t *lat = fw_xmalloc(n * sizeof(*lat));
    for (size_t i = 0; i < n; i++) {
        struct fw_outbox_msg m[2] = {alert_msg((int)i, "forestry"), alert_msg((int)i, "emergency")};
        int64_t t = mono_ns();
        int rc = fw_outbox_push(ob, m, 2, NULL);
        lat[i] = mono_ns() - t;
        if (rc < 0)
            return 1;
    }
    report("push 2 routes in 1 tx (FULL), per tx", lat, n);
    free(lat);
    fw_outbox_close(ob);
    return 0;
}

/* fw_outbox_next over a large backlog, as after a long outage. */
static int bench_backlog(const char *dir, size_t rows, size_t calls)
{
    struct fw_outbox *ob;
    if (open_fresh(dir, "backlog", &ob) < 0)
        return 1;
    enum { BATCH = 500 };
    struct fw_outbox_msg *m = fw_xmalloc(BATCH * sizeof(*m));
    char(*alerts)[64] = fw_xmalloc(BATCH * sizeof(*alerts));
    int64_t t = mono_ns();
    for (size_t done = 0; done < rows;) {
        size_t k = rows - done < BATCH ? rows - done : BATCH;
        for (size_t i = 0; i < k; i++) {
            m[i] = alert_msg((int)(done + i), (done + i) % 2 ? "forestry" : "emergency");
            snprintf(alerts[i], sizeof(alerts[i]), "a%zu", done + i);
            m[i].alert_id = alerts[i];
        }
        if (fw_outbox_push(ob, m, k, NULL) < 0)
            return 1;
        done += k;
    }
    double fill = (double)(mono_ns() - t) / 1e9;
    printf("  %-44s %9.0f /s   (%zu rows in transactions of %d)\n", "push, bulk", rows / fill, rows,
           BATCH);
    int64_t *lat = fw_xmalloc(calls * sizeof(*lat));
    int mid = 1;
    for (size_t c = 0; c < calls; c++) {
        const struct fw_outbox_item *it;
        size_t k;
        int64_t wake;
        t = mono_ns();
        if (fw_outbox_next(ob, "bureau", T0, 100, &it, &k, &wake) < 0)
            return 1;
        lat[c] = mono_ns() - t;
        /* Everything that went out is acknowledged, as the PUBACKs would: the window moves. */
        int64_t ids[FW_OUTBOX_MAX_INFLIGHT];
        for (size_t i = 0; i < k; i++) {
            ids[i] = it[i].id;
            fw_outbox_sent(ob, it[i].id, mid++, T0);
        }
        for (size_t i = 0; i < k; i++)
            fw_outbox_ack(ob, ids[i], T0);
    }
    char label[64];
    snprintf(label, sizeof(label), "next, batch of 20, backlog of %zu", rows);
    report(label, lat, calls);
    size_t pending = 0;
    fw_outbox_pending(ob, &pending);
    t = mono_ns();
    fw_outbox_pending(ob, &pending);
    printf("  %-44s %9.1f us  (%zu rows)\n", "pending count", (double)(mono_ns() - t) / 1e3,
           pending);
    free(lat);
    free(m);
    free(alerts);
    fw_outbox_close(ob);
    return 0;
}

int main(int argc, char **argv)
{
    int quick = 0;
    const char *base = ".";
    size_t n = 2000, backlog = 10000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            base = argv[++i];
        } else if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
            n = strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_outbox [--quick] [--dir DIR] [--rows N]\n");
            return 2;
        }
    }
    if (quick) {
        n = 40;
        backlog = 200;
    }
    if (n < 1)
        n = 1;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (char)('a' + i % 26);
    char *dir = fw_xasprintf("%s/bench_outbox.XXXXXX", base);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_outbox: mkdtemp %s: %s\n", dir, strerror(errno));
        return 1;
    }
    printf("outbox benchmark: SQLite %s, database in %s, %zu messages of %zu bytes%s\n",
           sqlite3_libversion(), dir, n, sizeof(payload), quick ? " (quick)" : "");
    int rc = bench_push(dir, "policy", -1, n, "push, 1 per tx (FULL: fsync per commit)");
    rc = rc || bench_push(dir, "normal", 1, n, "push, 1 per tx (NORMAL, for comparison)");
    rc = rc || bench_push_pairs(dir, n / 2 ? n / 2 : 1);
    rc = rc || bench_backlog(dir, backlog, quick ? 20 : 200);
    char *cmd = fw_xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_outbox: could not remove %s\n", dir);
    free(cmd);
    free(dir);
    return rc;
}
