/* SPDX-License-Identifier: MIT */
/*
 * The console's routes and JSON documents (include/forestwatch/console.h, docs/console.md). It
 * reads the config, the engine's open alerts and zone levels, and the gateway's counters, all
 * borrowed for the call; it writes nothing anywhere. The page's files are compiled in
 * (console_assets.c, generated from gateway/console/ at build time), so the daemon serves no
 * file from disk and a path can never name one.
 */
#include "forestwatch/console.h"

#include "forestwatch/alerts.h"
#include "forestwatch/cap.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* console_assets.c */
extern const unsigned char fw_console__index_html[], fw_console__console_js[],
    fw_console__console_css[];
extern const size_t fw_console__index_html_len, fw_console__console_js_len,
    fw_console__console_css_len;

/* Tomorrow's level is the forecast of a day: one older than this is not tomorrow's any more. */
#define TOMORROW_MAX_AGE_MS (48 * 3600 * 1000LL)

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char buf[FW_TIME_STRLEN];
    fw_time_format(ms, buf);
    cJSON_AddStringToObject(o, key, buf);
}

static void add_opt_string(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
}

/* A level 1..5 and its official colour's English name (docs/cap.md, "Colours"), or nulls. */
static void add_level(cJSON *o, const char *key, const char *colour_key, double level)
{
    int whole = !isnan(level) && level == floor(level);
    const char *colour = whole ? fw_cap_level_colour((int)level, 0) : NULL;
    if (isnan(level))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, level);
    if (colour)
        cJSON_AddStringToObject(o, colour_key, colour);
    else
        cJSON_AddNullToObject(o, colour_key);
}

static cJSON *contact_json(const struct fw_cfg_contact *c)
{
    cJSON *o = cJSON_CreateObject();
    add_opt_string(o, "name", c->name);
    add_opt_string(o, "name_en", c->name_en);
    add_opt_string(o, "phone", c->phone);
    return o;
}

static cJSON *point_json(const struct fw_cfg_point *p)
{
    const double v[2] = {p->lat, p->lon};
    return cJSON_CreateDoubleArray(v, 2);
}

static double tomorrow_level(const struct fw_console_view *v, const char *zone)
{
    double level;
    int64_t at;
    if (fw_stats_get(v->stats, FW_STAT_ZONE_TOMORROW, zone, &level, &at) < 0 ||
        v->now_ms - at > TOMORROW_MAX_AGE_MS)
        return NAN;
    return level;
}

static void count_alert(const struct fw_rule_instance *in, void *arg)
{
    (void)in;
    (*(int *)arg)++;
}

static cJSON *zones(const struct fw_console_view *v)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < v->cfg->nzones; i++) {
        const struct fw_cfg_zone *z = &v->cfg->zones[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", z->id);
        add_opt_string(o, "name", z->name);
        add_opt_string(o, "name_en", z->name_en);
        add_level(o, "level", "colour", fw_engine_zone_level(v->engine, z->id, v->now_ms));
        add_level(o, "level_tomorrow", "colour_tomorrow", tomorrow_level(v, z->id));
        int open = 0;
        fw_engine_zone_alerts(v->engine, z->id, count_alert, &open);
        cJSON_AddNumberToObject(o, "open_alerts", open);
        if (z->has_location)
            cJSON_AddItemToObject(o, "location", point_json(&z->location));
        if (z->npolygon) {
            cJSON *poly = cJSON_AddArrayToObject(o, "polygon");
            for (size_t p = 0; p < z->npolygon; p++)
                cJSON_AddItemToArray(poly, point_json(&z->polygon[p]));
        }
        cJSON_AddItemToObject(o, "forest_chief", contact_json(&z->forest_chief));
        cJSON_AddItemToObject(o, "duty", contact_json(&z->duty));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* ---- Open alerts ----------------------------------------------------------------------------- */

struct open_alert {
    const struct fw_rule_instance *in;
    const struct fw_cfg_rule *rule;
};

struct open_list {
    struct open_alert *v;
    size_t n, cap;
    const struct fw_config *cfg;
};

static void collect_alert(const struct fw_rule_instance *in, void *arg)
{
    struct open_list *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = fw_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    const struct fw_cfg_rule *rule = NULL;
    for (size_t r = 0; r < l->cfg->nrules && !rule; r++)
        if (strcmp(l->cfg->rules[r].name, in->rule) == 0)
            rule = &l->cfg->rules[r];
    l->v[l->n++] = (struct open_alert){in, rule};
}

static int severity_of(const struct open_alert *a)
{
    return a->rule ? (int)a->rule->severity : 0;
}

/* Most severe first; among equals, newest first; then by id, so the order is stable. */
static int cmp_alerts(const void *pa, const void *pb)
{
    const struct open_alert *a = pa, *b = pb;
    if (severity_of(a) != severity_of(b))
        return severity_of(b) - severity_of(a);
    if (a->in->fired_ms != b->in->fired_ms)
        return a->in->fired_ms < b->in->fired_ms ? 1 : -1;
    int c = strcmp(a->in->rule, b->in->rule);
    return c ? c : strcmp(a->in->key, b->in->key);
}

static cJSON *alerts(const struct fw_console_view *v)
{
    struct open_list l = {.cfg = v->cfg};
    fw_engine_zone_alerts(v->engine, "", collect_alert, &l); /* gateway-wide rules */
    for (size_t i = 0; i < v->cfg->nzones; i++)
        fw_engine_zone_alerts(v->engine, v->cfg->zones[i].id, collect_alert, &l);
    if (l.n)
        qsort(l.v, l.n, sizeof(*l.v), cmp_alerts);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < l.n; i++) {
        const struct fw_rule_instance *in = l.v[i].in;
        const struct fw_cfg_rule *rule = l.v[i].rule;
        const struct fw_cfg_zone *z = in->zone[0] ? fw_config_zone(v->cfg, in->zone) : NULL;
        char id[FW_ALERT_MAX_ID];
        fw_alert_instance_id(id, sizeof(id), v->cfg->gateway_id, in);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "rule", in->rule);
        if (rule) {
            cJSON_AddStringToObject(o, "severity", fw_severity_str(rule->severity));
            add_opt_string(o, "description", rule->description);
        }
        cJSON_AddStringToObject(o, "zone", in->zone);
        if (z) {
            add_opt_string(o, "zone_name", z->name);
            add_opt_string(o, "zone_name_en", z->name_en);
            cJSON_AddItemToObject(o, "forest_chief", contact_json(&z->forest_chief));
            cJSON_AddItemToObject(o, "duty", contact_json(&z->duty));
            cJSON_AddNumberToObject(o, "utc_offset_min", fw_config_zone_offset_min(v->cfg, z));
        }
        if (in->station[0])
            cJSON_AddStringToObject(o, "node", in->station);
        add_time(o, "since", in->fired_ms);
        if (isnan(in->value))
            cJSON_AddNullToObject(o, "value");
        else
            cJSON_AddNumberToObject(o, "value", in->value);
        if (rule && rule->metric) {
            cJSON_AddStringToObject(o, "metric", rule->metric);
            cJSON_AddStringToObject(o, "op", fw_cmp_op_str(rule->op));
            cJSON_AddNumberToObject(o, "threshold", rule->threshold);
        }
        if (in->acked)
            cJSON_AddStringToObject(o, "acknowledged_by", in->acked_by);
        cJSON_AddItemToArray(arr, o);
    }
    free(l.v);
    return arr;
}

/* ---- Devices and the gateway ----------------------------------------------------------------- */

static cJSON *devices(const struct fw_console_view *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *nodes = cJSON_AddArrayToObject(o, "nodes");
    for (size_t i = 0; i < v->cfg->nnodes; i++) {
        const struct fw_cfg_node *n = &v->cfg->nodes[i];
        cJSON *x = cJSON_CreateObject();
        int64_t at;
        cJSON_AddStringToObject(x, "id", n->id);
        cJSON_AddStringToObject(x, "zone", n->zone);
        add_opt_string(x, "kind", n->kind);
        if (fw_stats_get(v->stats, FW_STAT_NODE_LAST_SEEN, n->id, NULL, &at) == 0) {
            add_time(x, "last_seen", at);
            cJSON_AddNumberToObject(x, "age_s", (double)((v->now_ms - at) / 1000));
        } else {
            cJSON_AddNullToObject(x, "last_seen");
        }
        cJSON_AddItemToArray(nodes, x);
    }
    cJSON *mb = cJSON_AddArrayToObject(o, "modbus");
    for (size_t i = 0; i < v->cfg->ndevices; i++) {
        const struct fw_cfg_device *d = &v->cfg->devices[i];
        cJSON *x = cJSON_CreateObject();
        double ok = 0, failed = 0;
        int64_t at = 0;
        cJSON_AddStringToObject(x, "id", d->id);
        add_opt_string(x, "zone", d->zone);
        fw_stats_get(v->stats, FW_STAT_MODBUS_POLLS, d->id, &ok, NULL);
        fw_stats_get(v->stats, FW_STAT_MODBUS_FAILURES, d->id, &failed, NULL);
        cJSON_AddNumberToObject(x, "polls", ok);
        cJSON_AddNumberToObject(x, "failures", failed);
        if (fw_stats_get(v->stats, FW_STAT_NODE_LAST_SEEN, d->id, NULL, &at) == 0)
            add_time(x, "last_seen", at);
        else
            cJSON_AddNullToObject(x, "last_seen");
        cJSON_AddItemToArray(mb, x);
    }
    return o;
}

static cJSON *gateway(const struct fw_console_view *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", v->cfg->gateway_id);
    add_opt_string(o, "name", v->cfg->gateway_name);
    add_opt_string(o, "name_en", v->cfg->gateway_name_en);
    add_time(o, "config_loaded", v->loaded_ms);
    if (v->last_reload)
        cJSON_AddStringToObject(o, "last_reload", v->last_reload);
    else
        cJSON_AddNullToObject(o, "last_reload");
    cJSON_AddNumberToObject(o, "rules", (double)v->cfg->nrules);
    double depth = 0;
    fw_stats_get(v->stats, FW_STAT_OUTBOX_DEPTH, NULL, &depth, NULL);
    cJSON_AddNumberToObject(o, "outbox_depth", depth);
    cJSON *brokers = cJSON_AddArrayToObject(o, "brokers");
    for (size_t i = 0; i < v->cfg->nbrokers; i++) {
        cJSON *b = cJSON_CreateObject();
        double up = 0;
        fw_stats_get(v->stats, FW_STAT_BROKER_UP, v->cfg->brokers[i].name, &up, NULL);
        cJSON_AddStringToObject(b, "name", v->cfg->brokers[i].name);
        cJSON_AddBoolToObject(b, "connected", up > 0);
        cJSON_AddItemToArray(brokers, b);
    }
    return o;
}

static char *print(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    FW_ASSERT(s);
    cJSON_Delete(o);
    return s;
}

char *fw_console_zones_json(const struct fw_console_view *v)
{
    return print(zones(v));
}

char *fw_console_alerts_json(const struct fw_console_view *v)
{
    return print(alerts(v));
}

char *fw_console_devices_json(const struct fw_console_view *v)
{
    return print(devices(v));
}

char *fw_console_gateway_json(const struct fw_console_view *v)
{
    return print(gateway(v));
}

/* Without "now": that changes every time, and the events are sent on a change of the rest. */
static cJSON *state(const struct fw_console_view *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "zones", zones(v));
    cJSON_AddItemToObject(o, "alerts", alerts(v));
    cJSON_AddItemToObject(o, "devices", devices(v));
    cJSON_AddItemToObject(o, "gateway", gateway(v));
    return o;
}

char *fw_console_state_json(const struct fw_console_view *v)
{
    cJSON *o = state(v);
    add_time(o, "now", v->now_ms);
    return print(o);
}

char *fw_console_event(const struct fw_console_view *v, uint64_t *hash)
{
    cJSON *o = state(v);
    char *body = cJSON_PrintUnformatted(o);
    FW_ASSERT(body);
    uint64_t h = fw_hash64(body, strlen(body), 0);
    free(body);
    if (h == *hash) {
        cJSON_Delete(o);
        return NULL;
    }
    *hash = h;
    add_time(o, "now", v->now_ms);
    body = print(o);
    /* cJSON's unformatted output has no newline (they are escaped inside strings), so the whole
     * object is one data line. */
    char *ev = fw_xasprintf("event: state\ndata: %s\n\n", body);
    free(body);
    return ev;
}

/* ---- Routes ---------------------------------------------------------------------------------- */

static void reply_static(struct fw_console_reply *r, int status, const char *type, const void *data,
                         size_t len)
{
    *r = (struct fw_console_reply){.status = status, .type = type, .data = data, .len = len};
}

static void reply_owned(struct fw_console_reply *r, const char *type, char *body)
{
    *r = (struct fw_console_reply){
        .status = 200, .type = type, .body = body, .data = body, .len = strlen(body)};
}

#define TYPE_JSON "application/json; charset=utf-8"
#define TYPE_TEXT "text/plain; charset=utf-8"

static void reply_text(struct fw_console_reply *r, int status, const char *text)
{
    reply_static(r, status, TYPE_TEXT, text, strlen(text));
}

void fw_console_handle(const struct fw_console_view *v, const char *method, const char *path,
                       struct fw_console_reply *r)
{
    static const struct {
        const char *path;
        char *(*json)(const struct fw_console_view *);
    } api[] = {
        {"/api/zones", fw_console_zones_json},     {"/api/alerts", fw_console_alerts_json},
        {"/api/devices", fw_console_devices_json}, {"/api/gateway", fw_console_gateway_json},
        {"/api/state", fw_console_state_json},
    };
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        reply_text(r, 405, "method not allowed: the console is read-only (GET, HEAD)\n");
        return;
    }
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
        reply_static(r, 200, "text/html; charset=utf-8", fw_console__index_html,
                     fw_console__index_html_len);
        return;
    }
    if (strcmp(path, "/console.js") == 0) {
        reply_static(r, 200, "text/javascript; charset=utf-8", fw_console__console_js,
                     fw_console__console_js_len);
        return;
    }
    if (strcmp(path, "/console.css") == 0) {
        reply_static(r, 200, "text/css; charset=utf-8", fw_console__console_css,
                     fw_console__console_css_len);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        reply_owned(r, "text/plain; version=0.0.4; charset=utf-8", fw_stats_render(v->stats));
        return;
    }
    if (strcmp(path, "/api/events") == 0) {
        uint64_t none = 0; /* the stream starts with the whole state */
        char *ev = fw_console_event(v, &none);
        reply_owned(r, "text/event-stream", ev ? ev : fw_xstrdup(""));
        r->events = 1;
        return;
    }
    for (size_t i = 0; i < FW_ARRAY_LEN(api); i++)
        if (strcmp(path, api[i].path) == 0) {
            reply_owned(r, TYPE_JSON, api[i].json(v));
            return;
        }
    reply_text(r, 404, "not found\n");
}

void fw_console_reply_free(struct fw_console_reply *r)
{
    FW_FREE(r->body);
    r->data = NULL;
}
