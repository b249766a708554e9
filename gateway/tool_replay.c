/* SPDX-License-Identifier: MIT */
/*
 * `forestwatch replay`: what would this config have alerted? It reads recorded inputs (the
 * daemon's .jsonl recordings, or a .csv table of readings) and drives the very core the daemon
 * runs (core.h: the models, the engine, the alert post-processing) with them, with `now` = the
 * time each was handed to the daemon's core, and prints every alert the engine produces, then a
 * summary (alerts per rule and zone, flaps, records read and rejected). With --json it prints
 * the messages the daemon would have published instead, rendered and grouped by the core; with
 * --diff OLD NEW it runs two configs over the same data and prints what changes.
 * docs/replay.md is the user's guide.
 *
 * Bad input lines are reported as file:line: reason, counted, and skipped, and the replay goes
 * on: an operator wants to see the rest. The exit status is then 1.
 */
#include "forestwatch/config.h"
#include "forestwatch/core.h"
#include "forestwatch/log.h"
#include "forestwatch/record.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/uplink.h"
#include "forestwatch/readline.h"
#include "forestwatch/util.h"
#include "tool_cmds.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_LINE (64 * 1024)              /* an input line, bytes; longer ones are rejected */
#define MAX_ERRORS_SHOWN 100              /* bad lines named one by one; the rest are counted */
#define MAX_INPUTS 1024                   /* --from options */
#define FLAP_WINDOW_MS (10LL * 60 * 1000) /* fired again this soon after resolving: a flap */
#define MAX_RECV_MS 253402300799999LL     /* 9999-12-31T23:59:59.999Z */
#define CSV_HEADER "recv,time,station,zone,metric,value"

struct opts {
    const char *config;
    const char *diff_old, *diff_new;
    const char *from[MAX_INPUTS];
    size_t nfrom;
    int has_since, has_until;
    int64_t since, until;
    int json;
    const char *route;
    const struct fw_tool_io *io;
};

/* What one input record hands the core (docs/replay.md). */
enum record_kind {
    REC_READING, /* a reading */
    REC_TICK,    /* the core's clock went on without a reading */
    REC_FLUSH,   /* the held groups due by recv were released */
    REC_FLUSH_ALL /* every held group was released */,
    REC_ACK,      /* a duty officer's acknowledgement */
    REC_FORECAST, /* a forecast day of the meteorology feed */
};

struct record {
    enum record_kind kind;
    int64_t recv;
    struct fw_reading r;         /* REC_READING */
    struct fw_ack ack;           /* REC_ACK */
    struct fw_meteo_forecast fc; /* REC_FORECAST */
};

/*
 * One message of an alert as printed: one per notification group (the routes of one change
 * collapse). An episode is an alert from its firing (kind "new") to its resolve; in between it
 * may send updates, repeats and escalations, which are messages of the same episode, not new
 * firings.
 */
struct event {
    enum fw_alert_kind kind;
    size_t episode;   /* index into run->eps */
    unsigned nth;     /* 1 for the episode's first message of this kind, 2 for the next, ... */
    int64_t time_ms;  /* the alert's time: when its value was measured */
    int64_t moved_ms; /* what --diff compares: when a firing alert started, else its time */
    size_t seq;       /* order of appearance */
    char *text;       /* "firing smoke_high zone=bs-03 node=... value=... routes=..." */
    size_t detail;    /* offset of " zone=" in text: what may differ between two configs */
};

/* One episode of one (rule, context), for --diff: from its first message to its resolve. */
struct episode {
    const struct context_state *cs;        /* its rule and context */
    int64_t start_ms, end_ms;              /* end INT64_MAX while it is still firing */
    unsigned counts[FW_KIND_RESOLVED + 1]; /* its messages so far, per kind */
    long pair;                             /* --diff: the matching episode of the other run */
};

/* Per (rule, context): the episode in progress and the last resolve, for flaps. */
struct context_state {
    const struct fw_cfg_rule *rule;
    char key[FW_READING_MAX_ID]; /* the context: station, zone or "" */
    int open;                    /* an episode is in progress: run->eps[episode] */
    size_t episode;
    int resolved;
    int64_t resolved_ms;
};

/* Messages counted per rule, per zone and in all. */
struct tally {
    uint64_t fired, updates, resolved;
};

struct run {
    const struct opts *o;
    const struct fw_config *cfg;
    struct fw_core *core;
    struct fw_core_actions acts; /* the core's actions: the daemon's to carry out, dropped */
    struct fw_dispatch_out out;  /* the rendered messages */
    int flush_lines;             /* the input records group releases (a daemon's recording) */
    uint64_t derived_skipped;    /* recorded derived readings the core derived again */
    int collect;                 /* --diff: keep the events instead of printing them */
    int quiet; /* the second pass of --diff: bad lines were reported by the first */
    int has_route;
    size_t route;
    struct event *ev;
    size_t nev, capev;
    struct episode *eps;
    size_t neps, capeps;
    struct context_state **cs; /* pointers: episodes keep them */
    size_t ncs, capcs;
    struct tally *by_rule; /* per config rule */
    struct tally *by_zone; /* per config zone, then one for "no zone" */
    struct tally all;
    uint64_t flaps;
    uint64_t read, rejected, skipped, shown_errors;
    int have_recv;
    int64_t last_recv;
};

/* ------------------------------------------------------------------------------------------ */
/* Alerts                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* fw_actions_notify appends the routes of one message next to each other. */
static int same_change(const struct fw_alert *a, const struct fw_alert *b)
{
    return strcmp(a->id, b->id) == 0 && a->seq == b->seq && a->status == b->status &&
           a->kind == b->kind && a->event_ms == b->event_ms;
}

static struct context_state *context_of(struct run *run, const struct fw_alert *a)
{
    const char *key = a->station[0] ? a->station : a->zone;
    for (size_t i = 0; i < run->ncs; i++)
        if (run->cs[i]->rule == a->cfg_rule && strcmp(run->cs[i]->key, key) == 0)
            return run->cs[i];
    /* Bounded by the config: rules x (stations + zones + 1). */
    if (run->ncs == run->capcs) {
        run->capcs = run->capcs ? run->capcs * 2 : 16;
        run->cs = fw_xrealloc(run->cs, run->capcs * sizeof(*run->cs));
    }
    struct context_state *c = fw_xcalloc(1, sizeof(*c));
    c->rule = a->cfg_rule;
    fw_strlcpy(c->key, key, sizeof(c->key));
    run->cs[run->ncs++] = c;
    return c;
}

/* The word a line starts with: "firing" for the message that starts an episode. */
static const char *kind_word(enum fw_alert_kind k)
{
    return k == FW_KIND_NEW ? "firing" : fw_alert_kind_str(k);
}

/* "firing smoke_high zone=bs-03 node=bs03-smoke-01 value=352.5 routes=forestry,emergency" */
static char *alert_text(const struct run *run, const struct fw_notification *items, size_t n,
                        size_t *detail)
{
    const struct fw_alert *a = &items[0].alert;
    char value[32] = "-";
    if (!isnan(a->value))
        fw_record_number(a->value, value, sizeof(value));
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(run->cfg->routes[items[i].route].name) + 1;
    char *routes = fw_xmalloc(len);
    routes[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(routes, ",");
        strcat(routes, run->cfg->routes[items[i].route].name);
    }
    char *s =
        fw_xasprintf("%s %s zone=%s node=%s value=%s routes=%s", kind_word(a->kind), a->rule,
                     a->zone[0] ? a->zone : "-", a->station[0] ? a->station : "-", value, routes);
    *detail = strlen(kind_word(a->kind)) + 1 + strlen(a->rule);
    free(routes);
    return s;
}

/*
 * The episode `a` belongs to, opening one when none is in progress: at a firing, and also at
 * any other message when --route shows only part of an episode (an escalation that adds the
 * route, a resolve whose firing went elsewhere).
 */
static struct episode *episode_of(struct run *run, struct context_state *c,
                                  const struct fw_alert *a)
{
    if (c->open && a->kind != FW_KIND_NEW)
        return &run->eps[c->episode];
    if (run->neps == run->capeps) {
        run->capeps = run->capeps ? run->capeps * 2 : 64;
        run->eps = fw_xrealloc(run->eps, run->capeps * sizeof(*run->eps));
    }
    struct episode *ep = &run->eps[run->neps];
    memset(ep, 0, sizeof(*ep));
    ep->cs = c;
    ep->start_ms = a->kind == FW_KIND_NEW ? a->started_ms : a->event_ms;
    ep->end_ms = INT64_MAX;
    ep->pair = -1;
    c->open = 1;
    c->episode = run->neps++;
    return ep;
}

static void print_message(struct run *run, const struct fw_notification *items, const char *text)
{
    const struct fw_alert *a = &items[0].alert;
    char t[FW_TIME_STRLEN];
    if (run->o->json)
        return; /* the rendered messages are printed instead (print_rendered) */
    fw_time_format(a->event_ms, t);
    fprintf(run->o->io->out, "%s %s\n", t, text);
}

/*
 * --json: the messages the core rendered, as their routes carry them: those of --route, or
 * without it those of every route (which share one format, checked at the start), a message
 * that several routes carry with the same bytes printed once.
 */
static void print_rendered(struct run *run)
{
    const struct fw_dispatch_out *o = &run->out;
    for (size_t i = 0; run->o->json && i < o->nmsg; i++) {
        const struct fw_dispatch_msg *m = &o->msg[i];
        if (run->has_route && m->route != run->route)
            continue;
        size_t k = 0;
        while (!run->has_route && k < i && strcmp(o->msg[k].body, m->body) != 0)
            k++;
        if (!run->has_route && k < i)
            continue;
        size_t len = strlen(m->body);
        fprintf(run->o->io->out, "%s%s", m->body, len && m->body[len - 1] == '\n' ? "" : "\n");
    }
    for (size_t i = 0; run->o->json && i < o->nnote; i++)
        if (o->note[i].level <= FW_LOG_ERR)
            fprintf(run->o->io->err, "forestwatch replay: %s%s%s\n", o->note[i].head,
                    o->note[i].rc ? strerror(-o->note[i].rc) : "",
                    o->note[i].rc ? o->note[i].tail : "");
    fw_dispatch_out_clear(&run->out);
}

/* One message of one alert, with the `n` routes it goes to. */
static void on_alert(struct run *run, const struct fw_notification *items, size_t n)
{
    const struct fw_alert *a = &items[0].alert;
    const struct fw_config *cfg = run->cfg;
    if (run->has_route) {
        size_t i = 0;
        while (i < n && items[i].route != run->route)
            i++;
        if (i == n)
            return;
    }
    struct context_state *c = context_of(run, a);
    struct episode *ep = episode_of(run, c, a);
    size_t r = (size_t)(a->cfg_rule - cfg->rules);
    const struct fw_cfg_zone *z = a->zone[0] ? fw_config_zone(cfg, a->zone) : NULL;
    size_t zi = z ? (size_t)(z - cfg->zones) : cfg->nzones;
    FW_ASSERT(r < cfg->nrules && (int)a->kind >= 0 && a->kind <= FW_KIND_RESOLVED);
    struct tally *t[3] = {&run->all, &run->by_rule[r], &run->by_zone[zi]};
    unsigned nth = ++ep->counts[a->kind];
    if (a->kind == FW_KIND_NEW) {
        /* Only a firing starts an episode: an update, repeat or escalation is the same alert
         * speaking again, neither a new firing nor a flap. */
        if (c->resolved && a->event_ms - c->resolved_ms <= FLAP_WINDOW_MS)
            run->flaps++;
        for (int k = 0; k < 3; k++)
            t[k]->fired++;
    } else if (a->kind == FW_KIND_RESOLVED) {
        c->open = 0;
        c->resolved = 1;
        c->resolved_ms = a->event_ms;
        ep->end_ms = a->event_ms;
        for (int k = 0; k < 3; k++)
            t[k]->resolved++;
    } else {
        for (int k = 0; k < 3; k++)
            t[k]->updates++;
    }
    size_t detail;
    char *text = alert_text(run, items, n, &detail);
    if (!run->collect) {
        print_message(run, items, text);
        free(text);
        return;
    }
    if (run->nev == run->capev) {
        run->capev = run->capev ? run->capev * 2 : 64;
        run->ev = fw_xrealloc(run->ev, run->capev * sizeof(*run->ev));
    }
    struct event *e = &run->ev[run->nev];
    e->kind = a->kind;
    e->episode = (size_t)(ep - run->eps);
    e->nth = nth;
    e->time_ms = a->event_ms;
    /* A `for` or a changed threshold moves the moment an alert fires, not always the time of
     * the sample it reports; every later message has no moment of its own but its time. */
    e->moved_ms = a->kind == FW_KIND_NEW ? a->started_ms : a->event_ms;
    e->seq = run->nev++;
    e->text = text;
    e->detail = detail;
}

/*
 * The core's notifications at `now`: rendered (and grouped, and given their pest context) by the
 * core as the daemon has them rendered, then handed on, one group per message.
 */
static void drain(struct run *run, int64_t now)
{
    struct fw_actions *a = fw_core_pending(run->core);
    run->acts.n = 0;
    if (!a->n)
        return;
    fw_core_dispatch(run->core, now, &run->out);
    for (size_t i = 0; i < a->n;) {
        size_t j = i + 1;
        while (j < a->n && same_change(&a->items[i].alert, &a->items[j].alert))
            j++;
        on_alert(run, &a->items[i], j - i);
        i = j;
    }
    fw_actions_clear(a);
    print_rendered(run);
}

/* Release the held groups due by `upto` (INT64_MAX: all) at `now`. */
static void release(struct run *run, int64_t upto, int64_t now)
{
    fw_core_flush(run->core, upto, now, &run->out);
    print_rendered(run);
}

/* ------------------------------------------------------------------------------------------ */
/* Input records                                                                               */
/* ------------------------------------------------------------------------------------------ */

static int reject(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reject(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* recv: integer milliseconds, or an RFC 3339 time. */
static int parse_recv_text(const char *s, int64_t *out)
{
    long long v;
    if (fw_parse_int(s, 0, MAX_RECV_MS, &v) == 0) {
        *out = v;
        return 0;
    }
    return fw_time_parse(s, out);
}

/* Check and complete a reading from its fields (any may be NULL when absent). */
static int make_reading(const struct run *run, struct record *rec, const char *time,
                        const char *station, const char *zone, const char *metric, double value,
                        const char *source, char *why, size_t size)
{
    struct fw_reading *r = &rec->r;
    memset(r, 0, sizeof(*r));
    if (!time || !*time)
        return reject(why, size, "missing \"time\"");
    if (fw_time_parse(time, &r->time_ms) < 0)
        return reject(why, size, "\"time\": not an RFC 3339 time with an offset: \"%.64s\"", time);
    if (!metric || !*metric)
        return reject(why, size, "missing \"metric\"");
    r->metric = fw_metric_find(metric);
    if (!r->metric)
        return reject(why, size, "unknown metric \"%.64s\"", metric);
    if (!isfinite(value) || value < r->metric->min || value > r->metric->max)
        return reject(why, size, "\"value\": %g is outside %s's possible range %g..%g", value,
                      r->metric->name, r->metric->min, r->metric->max);
    r->value = value;
    if (station && fw_strlcpy(r->station, station, sizeof(r->station)) < 0)
        return reject(why, size, "\"station\": longer than %d bytes", FW_READING_MAX_ID - 1);
    if (!r->station[0] && r->metric->scope == FW_METRIC_STATION)
        return reject(why, size, "missing \"station\"");
    if (zone && fw_strlcpy(r->zone, zone, sizeof(r->zone)) < 0)
        return reject(why, size, "\"zone\": longer than %d bytes", FW_READING_MAX_ID - 1);
    if (!r->zone[0]) {
        const struct fw_cfg_node *node = fw_config_node(run->cfg, r->station);
        if (!node)
            return reject(why, size, "no \"zone\", and node \"%s\" is not in the config",
                          r->station);
        fw_strlcpy(r->zone, node->zone, sizeof(r->zone));
    }
    r->source = FW_SOURCE_MQTT_NATIVE;
    if (source && *source && fw_source_parse(source, &r->source) < 0)
        return reject(why, size, "unknown source \"%.64s\"", source);
    return 0;
}

static const char *json_str(const cJSON *o, const char *key, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return NULL;
    if (!cJSON_IsString(v)) {
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

/* The numbers of a forecast line: absent ones stay NAN. */
static int forecast_number(const cJSON *o, const char *key, double *out, char *why, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NAN;
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return reject(why, size, "\"%s\": must be a number", key);
    *out = v->valuedouble;
    return 0;
}

/* {"recv": ..., "forecast": "<zone>", "day": "yyyy-mm-dd", "issued": "<RFC 3339>", "temp_c",
 * "rh_pct", "wind_ms", "rain_mm" (the noon weather, all four or none), "tmin_c", "tmax_c" (both
 * or neither), "level" (the bureau's published level 1..5)}, as fw_record_forecast() writes it. */
static int parse_forecast(const cJSON *o, struct fw_meteo_forecast *f, char *why, size_t size)
{
    int bad = 0;
    const char *zone = json_str(o, "forecast", &bad), *day = json_str(o, "day", &bad);
    const char *issued = json_str(o, "issued", &bad);
    int y, mo, d;
    char tail;
    memset(f, 0, sizeof(*f));
    if (bad || !zone || !day || !issued)
        return reject(why, size,
                      "a forecast line needs \"forecast\" (the zone), \"day\" and "
                      "\"issued\" as strings");
    if (fw_strlcpy(f->zone, zone, sizeof(f->zone)) < 0)
        return reject(why, size, "\"forecast\": longer than %d bytes", FW_READING_MAX_ID - 1);
    if (sscanf(day, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3 || mo < 1 || mo > 12 || d < 1 ||
        d > 31)
        return reject(why, size, "\"day\": not a date yyyy-mm-dd: \"%.64s\"", day);
    f->day = fw_time__days_from_civil(y, mo, d);
    if (fw_time_parse(issued, &f->issued_ms) < 0)
        return reject(why, size, "\"issued\": not an RFC 3339 time with an offset: \"%.64s\"",
                      issued);
    double level;
    double *v[] = {&f->temp_c, &f->rh_pct, &f->wind_ms, &f->rain_mm,
                   &f->tmin_c, &f->tmax_c, &level};
    static const char *const keys[] = {"temp_c", "rh_pct", "wind_ms", "rain_mm",
                                       "tmin_c", "tmax_c", "level"};
    int have = 0;
    for (size_t i = 0; i < FW_ARRAY_LEN(keys); i++) {
        if (forecast_number(o, keys[i], v[i], why, size) < 0)
            return -EINVAL;
        have |= !isnan(*v[i]) << i;
    }
    if ((have & 15) != 0 && (have & 15) != 15)
        return reject(why, size,
                      "a forecast's noon weather needs temp_c, rh_pct, wind_ms and "
                      "rain_mm together");
    if ((have & 48) != 0 && (have & 48) != 48)
        return reject(why, size, "a forecast's extremes need tmin_c and tmax_c together");
    if (!isnan(level) && (level < 1 || level > 5 || level != floor(level)))
        return reject(why, size, "\"level\": must be an integer 1..5, got %g", level);
    f->level = isnan(level) ? 0 : (int)level;
    f->has_noon = (have & 15) == 15;
    f->has_minmax = (have & 48) == 48;
    return 0;
}

/* {"recv": ..., "ack": "<alert id>", "by": "<who>", "at": "<RFC 3339>"} */
static int parse_ack(const cJSON *o, struct fw_ack *ack, char *why, size_t size)
{
    int bad = 0;
    const char *id = json_str(o, "ack", &bad), *by = json_str(o, "by", &bad);
    const char *at = json_str(o, "at", &bad);
    memset(ack, 0, sizeof(*ack));
    if (bad || !id || !by || !at)
        return reject(why, size,
                      "an acknowledgement line needs \"ack\", \"by\" and \"at\" as "
                      "strings");
    if (fw_strlcpy(ack->id, id, sizeof(ack->id)) < 0 ||
        fw_strlcpy(ack->by, by, sizeof(ack->by)) < 0)
        return reject(why, size, "\"ack\" or \"by\": too long");
    if (fw_time_parse(at, &ack->at_ms) < 0)
        return reject(why, size, "\"at\": not an RFC 3339 time with an offset: \"%.64s\"", at);
    return 0;
}

/* The keys that make a line other than a reading, and the keys each may have besides "recv". */
static const struct {
    const char *key;
    enum record_kind kind;
    const char *const *keys;
} line_kinds[] = {
    {"tick", REC_TICK, (const char *const[]){"tick", NULL}},
    {"flush", REC_FLUSH, (const char *const[]){"flush", NULL}},
    {"ack", REC_ACK, (const char *const[]){"ack", "by", "at", NULL}},
    {"forecast", REC_FORECAST,
     (const char *const[]){"forecast", "day", "issued", "temp_c", "rh_pct", "wind_ms", "rain_mm",
                           "tmin_c", "tmax_c", NULL}},
    {NULL, REC_READING,
     (const char *const[]){"time", "station", "zone", "metric", "value", "source", NULL}},
};

static int parse_json_line(const struct run *run, const char *line, size_t len, struct record *rec,
                           char *why, size_t size)
{
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    int rc = 0;
    if (!o)
        return reject(why, size, "not JSON (at byte %ld)", end ? (long)(end - line) + 1 : 1L);
    for (const char *p = end; p && p < line + len; p++)
        if (*p != ' ' && *p != '\t') {
            rc =
                reject(why, size, "text after the JSON object (at byte %ld)", (long)(p - line) + 1);
            goto fail;
        }
    if (!cJSON_IsObject(o)) {
        rc = reject(why, size, "not a JSON object");
        goto fail;
    }
    size_t lk = 0;
    while (line_kinds[lk].key && !cJSON_GetObjectItemCaseSensitive(o, line_kinds[lk].key))
        lk++;
    for (const cJSON *k = o->child; k; k = k->next) {
        const char *const *known = line_kinds[lk].keys;
        while (*known && strcmp(k->string, *known) != 0)
            known++;
        if (!*known && strcmp(k->string, "recv") != 0) {
            if (line_kinds[lk].kind == REC_TICK)
                rc = reject(why, size, "a tick line is {\"recv\": ..., \"tick\": true}");
            else if (line_kinds[lk].key)
                rc = reject(why, size, "unknown key \"%.64s\" in a \"%s\" line", k->string,
                            line_kinds[lk].key);
            else
                rc = reject(why, size, "unknown key \"%.64s\"", k->string);
            goto fail;
        }
    }
    const cJSON *recv = cJSON_GetObjectItemCaseSensitive(o, "recv");
    memset(rec, 0, sizeof(*rec));
    if (cJSON_IsNumber(recv)) {
        double v = recv->valuedouble;
        if (v != floor(v) || v < 0 || v > (double)MAX_RECV_MS) {
            rc = reject(why, size, "\"recv\": must be whole milliseconds since 1970, got %g", v);
            goto fail;
        }
        rec->recv = (int64_t)v;
    } else if (cJSON_IsString(recv)) {
        if (parse_recv_text(recv->valuestring, &rec->recv) < 0) {
            rc = reject(why, size, "\"recv\": not milliseconds nor an RFC 3339 time: \"%.64s\"",
                        recv->valuestring);
            goto fail;
        }
    } else {
        rc = reject(why, size, recv ? "\"recv\": must be a number" : "missing \"recv\"");
        goto fail;
    }
    rec->kind = line_kinds[lk].kind;
    if (rec->kind == REC_TICK) {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "tick")))
            rc = reject(why, size, "a tick line is {\"recv\": ..., \"tick\": true}");
        goto fail;
    }
    if (rec->kind == REC_FLUSH) {
        const cJSON *fl = cJSON_GetObjectItemCaseSensitive(o, "flush");
        if (cJSON_IsString(fl) && strcmp(fl->valuestring, "all") == 0)
            rec->kind = REC_FLUSH_ALL;
        else if (!cJSON_IsTrue(fl))
            rc = reject(why, size,
                        "a flush line is {\"recv\": ..., \"flush\": true} or "
                        "\"flush\": \"all\"");
        goto fail;
    }
    if (rec->kind == REC_ACK) {
        rc = parse_ack(o, &rec->ack, why, size);
        goto fail;
    }
    if (rec->kind == REC_FORECAST) {
        rc = parse_forecast(o, &rec->fc, why, size);
        goto fail;
    }
    int bad = 0;
    const char *time = json_str(o, "time", &bad), *station = json_str(o, "station", &bad);
    const char *zone = json_str(o, "zone", &bad), *metric = json_str(o, "metric", &bad);
    const char *source = json_str(o, "source", &bad);
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
    if (bad) {
        rc = reject(why, size, "time, station, zone, metric and source must be strings");
        goto fail;
    }
    if (!cJSON_IsNumber(value)) {
        rc = reject(why, size, value ? "\"value\": must be a number" : "missing \"value\"");
        goto fail;
    }
    rc = make_reading(run, rec, time, station, zone, metric, value->valuedouble, source, why, size);
fail:
    cJSON_Delete(o);
    return rc;
}

/* Split `line` at commas in place; returns the number of fields (at most max). */
static int split_csv(char *line, char **fields, int max)
{
    int n = 0;
    fields[n++] = line;
    for (char *p = line; *p; p++)
        if (*p == ',') {
            *p = '\0';
            if (n == max)
                return max + 1;
            fields[n++] = p + 1;
        }
    return n;
}

static int parse_csv_line(const struct run *run, char *line, int ncols, struct record *rec,
                          char *why, size_t size)
{
    char *f[7];
    int n = split_csv(line, f, 7);
    if (n != ncols)
        return reject(why, size, "%d fields, the header has %d (quoted fields are not supported)",
                      n, ncols);
    memset(rec, 0, sizeof(*rec));
    const char *source = ncols == 7 ? f[6] : NULL;
    if (f[0][0] && !f[1][0] && !f[2][0] && !f[3][0] && !f[4][0] && !f[5][0] &&
        (!source || !source[0])) {
        rec->kind = REC_TICK;
        if (parse_recv_text(f[0], &rec->recv) < 0)
            return reject(why, size, "column \"recv\": not milliseconds nor an RFC 3339 time");
        return 0;
    }
    char *end;
    errno = 0;
    double value = strtod(f[5], &end);
    if (!f[5][0] || *end || errno == ERANGE)
        return reject(why, size, "column \"value\": not a number: \"%.64s\"", f[5]);
    int rc = make_reading(run, rec, f[1], f[2], f[3], f[4], value, source, why, size);
    if (rc < 0)
        return rc;
    if (!f[0][0])
        rec->recv = rec->r.time_ms; /* no receive time: the sample's own time stands in */
    else if (parse_recv_text(f[0], &rec->recv) < 0)
        return reject(why, size, "column \"recv\": not milliseconds nor an RFC 3339 time");
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Files                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void bad_line(struct run *run, const char *path, unsigned long line, const char *why)
{
    run->rejected++;
    if (run->quiet)
        return;
    if (run->shown_errors++ < MAX_ERRORS_SHOWN)
        fprintf(run->o->io->err, "%s:%lu: %s\n", path, line, why);
}

/*
 * Hand one record to the core, as the daemon did (docs/replay.md). A table of readings records no
 * group releases: there a held group goes out when its window has closed, at the window's end,
 * before the first record received after it, as the daemon's group timer would have sent it.
 */
static void feed(struct run *run, const struct record *rec)
{
    int64_t due;
    run->flush_lines |= rec->kind == REC_FLUSH || rec->kind == REC_FLUSH_ALL;
    while (!run->flush_lines && (due = fw_core_next_deadline(run->core)) != 0 && due <= rec->recv)
        release(run, due, due);
    switch (rec->kind) {
    case REC_READING:
        /* The models of the replayed config derive their zones' readings again. */
        if (rec->r.source == FW_SOURCE_DERIVED && fw_core_derives(run->core, rec->r.zone)) {
            run->derived_skipped++;
            break;
        }
        fw_core_feed(run->core, &rec->r, 1, rec->recv, &run->acts);
        break;
    case REC_TICK:
        fw_core_tick(run->core, rec->recv, &run->acts);
        break;
    case REC_FLUSH:
        release(run, rec->recv, rec->recv);
        break;
    case REC_FLUSH_ALL:
        release(run, INT64_MAX, rec->recv);
        break;
    case REC_ACK:
        fw_core_ack(run->core, rec->ack.id, rec->ack.by, rec->ack.at_ms);
        break;
    case REC_FORECAST:
        fw_core_forecasts(run->core, &rec->fc, 1, &run->acts);
        break;
    }
    if (rec->kind != REC_FLUSH && rec->kind != REC_FLUSH_ALL) {
        run->have_recv = 1;
        run->last_recv = rec->recv;
    }
    drain(run, rec->recv);
}

static int run_file(struct run *run, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int rc = -errno;
        if (!run->quiet)
            fprintf(run->o->io->err, "forestwatch replay: %s: %s\n", path, strerror(-rc));
        return rc;
    }
    /* .csv or .jsonl by the name; otherwise a JSON line starts with '{'. */
    size_t plen = strlen(path);
    int csv = plen > 4 && strcmp(path + plen - 4, ".csv") == 0;
    if (!csv && !(plen > 6 && strcmp(path + plen - 6, ".jsonl") == 0)) {
        int c;
        while ((c = getc(f)) == ' ' || c == '\t' || c == '\r' || c == '\n')
            ;
        csv = c != '{' && c != EOF;
        rewind(f);
    }
    char *buf = fw_xmalloc(MAX_LINE + 1);
    char why[256];
    unsigned long lineno = 0;
    int ncols = 0; /* CSV: 6 or 7 once the header is read */
    size_t len;
    int rc;
    while ((rc = fw_read_line(f, buf, MAX_LINE + 1, &len)) != -ENODATA) {
        lineno++;
        if (rc == -E2BIG) {
            run->read++;
            snprintf(why, sizeof(why), "line longer than %d bytes", MAX_LINE);
            bad_line(run, path, lineno, why);
            continue;
        }
        if (strspn(buf, " \t") == len)
            continue;
        if (strlen(buf) != len) {
            /* Text after a NUL would be silently cut off by every string function below. */
            run->read++;
            snprintf(why, sizeof(why), "a NUL byte at column %zu; not a text line",
                     strlen(buf) + 1);
            bad_line(run, path, lineno, why);
            if (csv && !ncols) /* no header yet: the columns are unknown, as below */
                break;
            continue;
        }
        if (csv && !ncols) {
            if (strcmp(buf, CSV_HEADER) == 0 || strcmp(buf, CSV_HEADER ",source") == 0) {
                ncols = strcmp(buf, CSV_HEADER) == 0 ? 6 : 7;
                continue;
            }
            /* Without the header the columns cannot be trusted: the whole file is refused. */
            snprintf(why, sizeof(why), "the first line must be the header \"%s[,source]\"",
                     CSV_HEADER);
            run->read++;
            bad_line(run, path, lineno, why);
            break;
        }
        struct record rec;
        run->read++;
        int bad = csv ? parse_csv_line(run, buf, ncols, &rec, why, sizeof(why))
                      : parse_json_line(run, buf, len, &rec, why, sizeof(why));
        if (bad < 0) {
            bad_line(run, path, lineno, why);
            continue;
        }
        const struct opts *o = run->o;
        if ((o->has_since && rec.recv < o->since) || (o->has_until && rec.recv > o->until)) {
            run->skipped++;
            continue;
        }
        feed(run, &rec);
    }
    int err = ferror(f);
    free(buf);
    fclose(f);
    if (err) {
        if (!run->quiet)
            fprintf(run->o->io->err, "forestwatch replay: %s: read error\n", path);
        return -EIO;
    }
    return 0;
}

/* Replay every input through run->cfg. Returns 0, or -1 when an input could not be read. */
static int run_files(struct run *run)
{
    int failed = 0;
    for (size_t i = 0; i < run->o->nfrom; i++) {
        const char *from = run->o->from[i];
        struct stat st;
        if (stat(from, &st) == 0 && S_ISDIR(st.st_mode)) {
            /* A recording folder: its files in the order they were written. */
            char **paths;
            size_t n;
            int rc = fw_record_list(from, &paths, &n);
            if (rc < 0 || n == 0) {
                if (!run->quiet)
                    fprintf(run->o->io->err, "forestwatch replay: %s: %s\n", from,
                            rc < 0 ? strerror(-rc) : "no recording files (readings-*.jsonl)");
                failed = 1;
            }
            for (size_t k = 0; rc == 0 && k < n; k++) {
                failed |= run_file(run, paths[k]) < 0;
                free(paths[k]);
            }
            if (rc == 0)
                free(paths);
            continue;
        }
        failed |= run_file(run, from) < 0;
    }
    /* Live time went on after the last reading (the final tick line says how far); --until
     * asks for more. Either way the pending `for`s and windows get to play out. */
    int64_t end = run->o->has_until ? run->o->until : run->last_recv;
    if (run->o->has_until || run->have_recv) {
        fw_core_tick(run->core, end, &run->acts);
        drain(run, end);
        /* What is still held at the end goes out there, as the daemon sends it at shutdown. */
        release(run, INT64_MAX, end);
    }
    return failed ? -1 : 0;
}

static int run_all(struct run *run)
{
    /*
     * Records name metrics: those of this run's config are known for the run, as the daemon
     * knows its config's. A scope of this thread, so the two runs of --diff each see their own.
     */
    const struct fw_metric_set *outer = fw_metric_scope(run->cfg->metrics);
    int failed = run_files(run);
    fw_metric_scope(outer);
    return failed;
}

/* ------------------------------------------------------------------------------------------ */
/* Runs                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/*
 * Load a config and get a run ready. -EINVAL when the config does not load (its errors are
 * printed), -ENOENT when the options do not fit it (--route, --json): bad usage.
 */
static int run_init(struct run *run, const struct opts *o, const char *config_path,
                    struct fw_config **cfg_out)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    memset(run, 0, sizeof(*run));
    run->o = o;
    if (fw_config_load(config_path, &cfg, &errs) < 0) {
        fw_cfg_errors_print(&errs, o->io->err);
        fw_cfg_errors_clear(&errs);
        return -EINVAL;
    }
    if (o->route) {
        size_t i = 0;
        while (i < cfg->nroutes && strcmp(cfg->routes[i].name, o->route) != 0)
            i++;
        if (i == cfg->nroutes) {
            fprintf(o->io->err, "forestwatch replay: --route: %s has no route \"%s\"\n",
                    config_path, o->route);
            fw_config_free(cfg);
            return -ENOENT;
        }
        run->has_route = 1;
        run->route = i;
    } else if (o->json) {
        /* Each message is printed once, as its routes carry it: they must agree on how. */
        static const char *const formats[] = {"json", "cap-xml", "cap-json"};
        for (size_t i = 1; i < cfg->nroutes; i++)
            if (cfg->routes[i].format != cfg->routes[0].format) {
                fprintf(o->io->err,
                        "forestwatch replay: --json: the routes of %s carry different formats "
                        "(%s: %s, %s: %s): choose one with --route\n",
                        config_path, cfg->routes[0].name, formats[cfg->routes[0].format],
                        cfg->routes[i].name, formats[cfg->routes[i].format]);
                fw_config_free(cfg);
                return -ENOENT;
            }
    }
    run->cfg = cfg;
    run->core = fw_core_new(cfg, &run->acts);
    /* A model the config gives but that cannot run is the config's problem: said as the daemon
     * says it. */
    for (size_t i = 0; i < run->acts.n; i++)
        if (run->acts.v[i].kind == FW_CORE_NOTE && run->acts.v[i].level <= FW_LOG_ERR)
            fprintf(o->io->err, "forestwatch replay: %s\n", run->acts.v[i].text);
    run->acts.n = 0;
    run->by_rule = fw_xcalloc(cfg->nrules + 1, sizeof(*run->by_rule));
    run->by_zone = fw_xcalloc(cfg->nzones + 1, sizeof(*run->by_zone));
    *cfg_out = cfg;
    return 0;
}

static void run_free(struct run *run, struct fw_config *cfg)
{
    fw_core_free(run->core);
    fw_core_actions_free(&run->acts);
    fw_dispatch_out_free(&run->out);
    for (size_t i = 0; i < run->nev; i++)
        free(run->ev[i].text);
    free(run->ev);
    free(run->eps);
    for (size_t i = 0; i < run->ncs; i++)
        free(run->cs[i]);
    free(run->cs);
    free(run->by_rule);
    free(run->by_zone);
    fw_config_free(cfg);
}

static void print_tally(FILE *out, const char *name, const struct tally *t)
{
    if (t->fired || t->updates || t->resolved)
        fprintf(out, "  %-24s fired %llu, updates %llu, resolved %llu\n", name,
                (unsigned long long)t->fired, (unsigned long long)t->updates,
                (unsigned long long)t->resolved);
}

static void print_summary(const struct run *run, FILE *out)
{
    const struct fw_config *cfg = run->cfg;
    fprintf(out,
            "summary: %llu records read, %llu rejected, %llu outside --since/--until; "
            "%llu alerts fired, %llu updates, %llu resolved, %llu flaps\n",
            (unsigned long long)run->read, (unsigned long long)run->rejected,
            (unsigned long long)run->skipped, (unsigned long long)run->all.fired,
            (unsigned long long)run->all.updates, (unsigned long long)run->all.resolved,
            (unsigned long long)run->flaps);
    if (run->derived_skipped)
        fprintf(out,
                "derived: %llu recorded derived readings skipped: the config's zone models "
                "derived them again\n",
                (unsigned long long)run->derived_skipped);
    fprintf(out, "by rule:\n");
    for (size_t i = 0; i < cfg->nrules; i++)
        print_tally(out, cfg->rules[i].name, &run->by_rule[i]);
    fprintf(out, "by zone:\n");
    for (size_t i = 0; i <= cfg->nzones; i++)
        print_tally(out, i < cfg->nzones ? cfg->zones[i].id : "(no zone)", &run->by_zone[i]);
    fprintf(out, "flaps: %llu (fired again within 10 min of resolving, same rule and context)\n",
            (unsigned long long)run->flaps);
}

static int cmd_replay(const struct opts *o)
{
    struct run run;
    struct fw_config *cfg;
    int rc = run_init(&run, o, o->config, &cfg);
    if (rc < 0)
        return rc == -ENOENT ? 2 : 1;
    int failed = run_all(&run) < 0;
    fflush(o->io->out);
    print_summary(&run, o->json ? o->io->err : o->io->out);
    rc = failed || run.rejected ? 1 : 0;
    if (run.shown_errors > MAX_ERRORS_SHOWN)
        fprintf(o->io->err, "forestwatch replay: %llu more bad lines not shown\n",
                (unsigned long long)(run.shown_errors - MAX_ERRORS_SHOWN));
    run_free(&run, cfg);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* --diff                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/*
 * Episodes are matched across the two runs first, then their messages. Two episodes of one rule
 * and context are the same alert when their times overlap: a changed `for` or threshold moves
 * when an alert starts and ends, not which one it is, and an episode that only one config raised
 * does not shift the others. Within a pair, the n-th message of a kind matches the n-th.
 */
static int context_cmp(const struct episode *x, const struct episode *y)
{
    int c = strcmp(x->cs->rule->name, y->cs->rule->name);
    return c ? c : strcmp(x->cs->key, y->cs->key);
}

static const struct run *sort_run; /* qsort has no argument for it; one thread */

static int episode_idx_cmp(const void *a, const void *b)
{
    const struct episode *x = &sort_run->eps[*(const size_t *)a];
    const struct episode *y = &sort_run->eps[*(const size_t *)b];
    int c = context_cmp(x, y);
    if (!c)
        c = (x->start_ms > y->start_ms) - (x->start_ms < y->start_ms);
    return c;
}

static size_t *sorted_episodes(const struct run *run)
{
    size_t *v = fw_xcalloc(run->neps + 1, sizeof(*v));
    for (size_t i = 0; i < run->neps; i++)
        v[i] = i;
    sort_run = run;
    if (run->neps)
        qsort(v, run->neps, sizeof(*v), episode_idx_cmp);
    return v;
}

/* One run's episodes of a context never overlap one another, so one sweep pairs them. */
static void pair_episodes(struct run *a, struct run *b)
{
    size_t *va = sorted_episodes(a), *vb = sorted_episodes(b);
    size_t i = 0, k = 0;
    while (i < a->neps && k < b->neps) {
        struct episode *x = &a->eps[va[i]], *y = &b->eps[vb[k]];
        int c = context_cmp(x, y);
        if (c < 0 || (c == 0 && x->end_ms < y->start_ms)) {
            i++;
        } else if (c > 0 || y->end_ms < x->start_ms) {
            k++;
        } else {
            x->pair = (long)va[i++];
            y->pair = x->pair;
            k++;
        }
    }
    free(va);
    free(vb);
}

/* A message and what it matches by: its episode's pair, its kind and its place. */
struct keyed {
    const struct event *e;
    size_t pair; /* OLD's episode index when paired; unique otherwise */
};

static int keyed_cmp(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    if (x->pair != y->pair)
        return x->pair < y->pair ? -1 : 1;
    if (x->e->kind != y->e->kind)
        return x->e->kind < y->e->kind ? -1 : 1;
    return (x->e->nth > y->e->nth) - (x->e->nth < y->e->nth);
}

/* OLD's episodes are numbered as they are; NEW's unpaired ones after all of OLD's. */
static struct keyed *keyed_events(const struct run *run, int is_new, size_t old_neps)
{
    struct keyed *v = fw_xcalloc(run->nev + 1, sizeof(*v));
    for (size_t i = 0; i < run->nev; i++) {
        const struct episode *ep = &run->eps[run->ev[i].episode];
        v[i].e = &run->ev[i];
        v[i].pair = !is_new         ? run->ev[i].episode
                    : ep->pair >= 0 ? (size_t)ep->pair
                                    : old_neps + run->ev[i].episode;
    }
    if (run->nev)
        qsort(v, run->nev, sizeof(*v), keyed_cmp);
    return v;
}

struct change {
    char kind; /* '-', '+', '~' */
    const struct event *old, *new_;
    int64_t time_ms; /* where it sorts: the time printed first */
    size_t seq;
};

static int change_cmp(const void *a, const void *b)
{
    const struct change *x = a, *y = b;
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int same_message(const struct event *x, const struct event *y)
{
    return x->moved_ms == y->moved_ms && x->time_ms == y->time_ms && strcmp(x->text, y->text) == 0;
}

static void print_change(FILE *out, const struct change *ch)
{
    char told[FW_TIME_STRLEN], tnew[FW_TIME_STRLEN];
    if (ch->old)
        fw_time_format(ch->kind == '~' ? ch->old->moved_ms : ch->old->time_ms, told);
    if (ch->new_)
        fw_time_format(ch->kind == '~' ? ch->new_->moved_ms : ch->new_->time_ms, tnew);
    if (ch->kind == '-') {
        fprintf(out, "- %s %s\n", told, ch->old->text);
    } else if (ch->kind == '+') {
        fprintf(out, "+ %s %s\n", tnew, ch->new_->text);
    } else {
        fprintf(out, "~ %s %s -> %s", ch->new_->text, told, tnew);
        /* Same time, or not: what else changed is shown as OLD had it. */
        if (strcmp(ch->old->text, ch->new_->text) != 0)
            fprintf(out, " (OLD:%s)", ch->old->text + ch->old->detail);
        fprintf(out, "\n");
    }
}

static int cmd_diff(const struct opts *o)
{
    struct run a, b;
    struct fw_config *ca, *cb;
    int rc = run_init(&a, o, o->diff_old, &ca);
    if (rc < 0)
        return rc == -ENOENT ? 2 : 1;
    if ((rc = run_init(&b, o, o->diff_new, &cb)) < 0) {
        run_free(&a, ca);
        return rc == -ENOENT ? 2 : 1;
    }
    a.collect = b.collect = 1;
    b.quiet = 1;
    int failed = run_all(&a) < 0;
    failed |= run_all(&b) < 0;

    pair_episodes(&a, &b);
    struct keyed *va = keyed_events(&a, 0, a.neps), *vb = keyed_events(&b, 1, a.neps);
    struct change *ch = fw_xcalloc(a.nev + b.nev + 1, sizeof(*ch));
    size_t n = 0, i = 0, k = 0, same = 0, only_old = 0, only_new = 0, changed = 0;
    while (i < a.nev || k < b.nev) {
        int c = i == a.nev ? 1 : k == b.nev ? -1 : keyed_cmp(&va[i], &vb[k]);
        if (c < 0) {
            ch[n++] = (struct change){'-', va[i].e, NULL, va[i].e->time_ms, 0};
            only_old++;
            i++;
        } else if (c > 0) {
            ch[n++] = (struct change){'+', NULL, vb[k].e, vb[k].e->time_ms, 0};
            only_new++;
            k++;
        } else {
            if (!same_message(va[i].e, vb[k].e)) {
                ch[n++] = (struct change){'~', va[i].e, vb[k].e, va[i].e->moved_ms, 0};
                changed++;
            } else {
                same++;
            }
            i++;
            k++;
        }
    }
    /* Print in time order, ties in the order the old then the new run produced them. */
    for (size_t j = 0; j < n; j++)
        ch[j].seq = ch[j].old ? ch[j].old->seq : a.nev + ch[j].new_->seq;
    if (n)
        qsort(ch, n, sizeof(*ch), change_cmp);
    for (size_t j = 0; j < n; j++)
        print_change(o->io->out, &ch[j]);
    fprintf(o->io->out,
            "diff: %zu only in OLD, %zu only in NEW, %zu changed, %zu unchanged "
            "(%llu records read, %llu rejected)\n",
            only_old, only_new, changed, same, (unsigned long long)a.read,
            (unsigned long long)a.rejected);
    rc = failed || a.rejected ? 1 : 0;
    free(ch);
    free(va);
    free(vb);
    run_free(&a, ca);
    run_free(&b, cb);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Command line                                                                                */
/* ------------------------------------------------------------------------------------------ */

static int usage(FILE *err)
{
    fprintf(
        err,
        "usage: forestwatch replay --config FILE --from FILE|DIR... [--since T] [--until T]\n"
        "                          [--route NAME] [--json]\n"
        "       forestwatch replay --diff OLD_CONFIG NEW_CONFIG --from FILE|DIR... [--since T]\n"
        "                          [--until T] [--route NAME]\n"
        "  --from      a recording (.jsonl), a table (.csv: recv,time,station,zone,metric,"
        "value[,source])\n"
        "              or a recording folder; may be repeated\n"
        "  --since, --until  RFC 3339 times: only records received in [since, until]\n"
        "  --route     only the alerts that go to this route\n"
        "  --json      print the messages the route carries (CAP XML, CAP JSON or JSON), as the\n"
        "              daemon would publish them; without --route the routes must share a "
        "format\n");
    return 2;
}

int fw_tool_replay(int argc, char **argv, const struct fw_tool_io *io)
{
    struct opts o = {.io = io};
    FILE *err = io->err;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = argc - i - 1;
        if (strcmp(a, "--config") == 0 && more >= 1) {
            o.config = argv[++i];
        } else if (strcmp(a, "--from") == 0 && more >= 1) {
            if (o.nfrom == MAX_INPUTS) {
                fprintf(err, "forestwatch replay: at most %d --from\n", MAX_INPUTS);
                return 2;
            }
            o.from[o.nfrom++] = argv[++i];
        } else if ((strcmp(a, "--since") == 0 || strcmp(a, "--until") == 0) && more >= 1) {
            int since = a[2] == 's';
            int64_t *t = since ? &o.since : &o.until;
            if (fw_time_parse(argv[++i], t) < 0) {
                fprintf(err, "forestwatch replay: %s: not an RFC 3339 time: \"%s\"\n", a, argv[i]);
                return 2;
            }
            *(since ? &o.has_since : &o.has_until) = 1;
        } else if (strcmp(a, "--route") == 0 && more >= 1) {
            o.route = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if (strcmp(a, "--diff") == 0 && more >= 2) {
            o.diff_old = argv[++i];
            o.diff_new = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(err);
            return 0;
        } else {
            fprintf(err, "forestwatch replay: unknown option or missing value: %s\n", a);
            return usage(err);
        }
    }
    if (!o.nfrom || (!o.config == !o.diff_old) || (o.diff_old && o.json)) {
        fprintf(err, "forestwatch replay: need --from and either --config or --diff "
                     "(--json does not go with --diff)\n");
        return usage(err);
    }
    if (o.has_since && o.has_until && o.since > o.until) {
        fprintf(err, "forestwatch replay: --since is after --until\n");
        return 2;
    }
    return o.diff_old ? cmd_diff(&o) : cmd_replay(&o);
}
