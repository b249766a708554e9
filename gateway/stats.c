/* SPDX-License-Identifier: MIT */
/*
 * The gateway's counters and gauges (include/forestwatch/stats.h) and their Prometheus text
 * rendering. A family holds its series in an array searched linearly: the label values are the
 * config's names, a few dozen at most, and a scrape or an event touches one family at a time.
 * The table of families below is the one place their names, types and help texts are written;
 * docs/console.md lists the same, and the integration test reads them back through a real
 * Prometheus parser.
 */
#include "forestwatch/stats.h"

#include "forestwatch/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct family_def {
    const char *name;
    const char *type; /* "counter" or "gauge" */
    const char *label;
    const char *help;
};

static const struct family_def families[FW_STAT__COUNT] = {
    [FW_STAT_UPLINKS] = {"forestwatch_uplinks_received_total", "counter", NULL,
                         "Uplink messages received on the configured uplink topics."},
    [FW_STAT_UPLINK_ISSUES] =
        {"forestwatch_uplink_issues_total", "counter", "reason",
         "Uplink issues by reason: messages rejected, readings dropped, warnings."},
    [FW_STAT_READINGS] = {"forestwatch_readings_total", "counter", "source",
                          "Readings given to the core, by source."},
    [FW_STAT_ALERTS_FIRED] = {"forestwatch_alerts_fired_total", "counter", "rule",
                              "Alert episodes that started, by rule."},
    [FW_STAT_ALERTS_RESOLVED] = {"forestwatch_alerts_resolved_total", "counter", "rule",
                                 "Alert episodes that ended, by rule."},
    [FW_STAT_MSG_COMMITTED] = {"forestwatch_messages_committed_total", "counter", "route",
                               "Alert messages saved to the outbox, by route."},
    [FW_STAT_MSG_PUBLISHED] = {"forestwatch_messages_published_total", "counter", "broker",
                               "Outbox messages handed to the broker, by broker."},
    [FW_STAT_MSG_ACKED] = {"forestwatch_messages_acked_total", "counter", "broker",
                           "Outbox messages the broker acknowledged, by broker."},
    [FW_STAT_OUTBOX_DEPTH] = {"forestwatch_outbox_depth", "gauge", NULL,
                              "Messages in the outbox not acknowledged yet."},
    [FW_STAT_BROKER_UP] = {"forestwatch_broker_connected", "gauge", "broker",
                           "1 while the link to the broker is connected, else 0."},
    [FW_STAT_BROKER_RECONNECTS] = {"forestwatch_broker_reconnects_total", "counter", "broker",
                                   "Connections to the broker after the first."},
    [FW_STAT_MODBUS_POLLS] = {"forestwatch_modbus_polls_total", "counter", "device",
                              "Modbus polls answered, by device."},
    [FW_STAT_MODBUS_FAILURES] = {"forestwatch_modbus_poll_failures_total", "counter", "device",
                                 "Modbus polls failed, by device."},
    [FW_STAT_NODE_LAST_SEEN] = {"forestwatch_node_last_seen_seconds", "gauge", "node",
                                "When the node's last reading reached the gateway (Unix time)."},
    [FW_STAT_ZONE_TOMORROW] = {"forestwatch_zone_level_tomorrow", "gauge", "zone",
                               "Tomorrow's expected fire-danger level of the zone (1..5)."},
};

struct series {
    char *label;
    double v;
    int64_t at_ms;
};

struct family {
    struct series *v;
    size_t n, cap;
};

struct fw_stats {
    struct family f[FW_STAT__COUNT];
    uint64_t dropped; /* figures lost to the series cap */
};

struct fw_stats *fw_stats_new(void)
{
    return fw_xcalloc(1, sizeof(struct fw_stats));
}

void fw_stats_free(struct fw_stats *s)
{
    if (!s)
        return;
    for (int i = 0; i < FW_STAT__COUNT; i++) {
        for (size_t j = 0; j < s->f[i].n; j++)
            free(s->f[i].v[j].label);
        free(s->f[i].v);
    }
    free(s);
}

static struct series *find(const struct fw_stats *s, enum fw_stat f, const char *label)
{
    const struct family *fam = &s->f[f];
    if (!label)
        label = "";
    for (size_t i = 0; i < fam->n; i++)
        if (strcmp(fam->v[i].label, label) == 0)
            return &fam->v[i];
    return NULL;
}

static struct series *find_or_add(struct fw_stats *s, enum fw_stat f, const char *label)
{
    FW_ASSERT(f >= 0 && f < FW_STAT__COUNT);
    struct series *x = find(s, f, label);
    if (x)
        return x;
    struct family *fam = &s->f[f];
    if (fam->n >= FW_STATS_MAX_SERIES) {
        s->dropped++;
        return NULL;
    }
    if (fam->n == fam->cap) {
        fam->cap = fam->cap ? fam->cap * 2 : 8;
        fam->v = fw_xrealloc(fam->v, fam->cap * sizeof(*fam->v));
    }
    x = &fam->v[fam->n++];
    *x = (struct series){fw_xstrdup(label ? label : ""), 0, 0};
    return x;
}

void fw_stats_add(struct fw_stats *s, enum fw_stat f, const char *label, double delta)
{
    struct series *x = find_or_add(s, f, label);
    if (x)
        x->v += delta;
}

void fw_stats_set(struct fw_stats *s, enum fw_stat f, const char *label, double v)
{
    struct series *x = find_or_add(s, f, label);
    if (x)
        x->v = v;
}

int fw_stats_get(const struct fw_stats *s, enum fw_stat f, const char *label, double *v,
                 int64_t *at_ms)
{
    const struct series *x = find(s, f, label);
    if (!x)
        return -ENOENT;
    if (v)
        *v = x->v;
    if (at_ms)
        *at_ms = x->at_ms;
    return 0;
}

void fw_stats_reading(struct fw_stats *s, const struct fw_reading *r, int64_t now_ms)
{
    fw_stats_add(s, FW_STAT_READINGS, fw_source_str(r->source), 1);
    if (r->source != FW_SOURCE_DERIVED && r->station[0]) {
        struct series *x = find_or_add(s, FW_STAT_NODE_LAST_SEEN, r->station);
        if (x) {
            x->v = (double)(now_ms / 1000);
            x->at_ms = now_ms;
        }
    }
    /* Tomorrow's level is a derived zone reading that no rule needs to hold in a series: kept
     * here with its time, for the console. */
    if (r->metric && r->zone[0] && strcmp(r->metric->name, "fire_danger_level_tomorrow") == 0) {
        struct series *x = find_or_add(s, FW_STAT_ZONE_TOMORROW, r->zone);
        if (x) {
            x->v = r->value;
            x->at_ms = r->time_ms;
        }
    }
}

/* ---- The text format ------------------------------------------------------------------------ */

struct text {
    char *p;
    size_t n, cap;
};

static void put(struct text *t, const char *s, size_t len)
{
    if (t->n + len + 1 > t->cap) {
        while (t->n + len + 1 > t->cap)
            t->cap = t->cap ? t->cap * 2 : 4096;
        t->p = fw_xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->n, s, len);
    t->n += len;
    t->p[t->n] = '\0';
}

static void puts_(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

/* A label value: backslash, double quote and newline escaped, as the format requires. */
static void put_label_value(struct text *t, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            puts_(t, "\\\\");
        else if (*v == '"')
            puts_(t, "\\\"");
        else if (*v == '\n')
            puts_(t, "\\n");
        else
            put(t, v, 1);
    }
}

static void put_number(struct text *t, double v)
{
    char num[64];
    if (isnan(v))
        snprintf(num, sizeof(num), "NaN");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(num, sizeof(num), "%.0f", v);
    else
        snprintf(num, sizeof(num), "%.17g", v);
    puts_(t, num);
}

static void put_family(struct text *t, const char *name, const char *type, const char *help)
{
    puts_(t, "# HELP ");
    puts_(t, name);
    puts_(t, " ");
    puts_(t, help);
    puts_(t, "\n# TYPE ");
    puts_(t, name);
    puts_(t, " ");
    puts_(t, type);
    puts_(t, "\n");
}

char *fw_stats_render(const struct fw_stats *s)
{
    struct text t = {0};
    for (int i = 0; i < FW_STAT__COUNT; i++) {
        const struct family_def *d = &families[i];
        const struct family *fam = &s->f[i];
        put_family(&t, d->name, d->type, d->help);
        /* A family without a label always has its one series, so that a scraper sees 0. */
        if (!d->label && fam->n == 0) {
            puts_(&t, d->name);
            puts_(&t, " 0\n");
        }
        for (size_t j = 0; j < fam->n; j++) {
            puts_(&t, d->name);
            if (d->label) {
                puts_(&t, "{");
                puts_(&t, d->label);
                puts_(&t, "=\"");
                put_label_value(&t, fam->v[j].label);
                puts_(&t, "\"}");
            }
            puts_(&t, " ");
            put_number(&t, fam->v[j].v);
            puts_(&t, "\n");
        }
    }
    put_family(&t, "forestwatch_stats_series_dropped_total", "counter",
               "Figures lost because a family reached its series cap.");
    puts_(&t, "forestwatch_stats_series_dropped_total ");
    put_number(&t, (double)s->dropped);
    puts_(&t, "\n");
    return t.p;
}
