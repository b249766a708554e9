/* SPDX-License-Identifier: MIT */
/*
 * The config's sections: one key table per JSON object (gateway, limits, brokers, uplinks,
 * zones with their fire and pest models, nodes, routes, rules, escalation, acks, state, cap,
 * store, engine, record, buses, devices, metrics), and the parsers of the values a table row
 * cannot check alone (polygons, level tables, rule expressions, templates). This is stage 2 of
 * the loader (config.h): text already parsed to JSON goes in, a struct fw_config comes out, and
 * every error is collected with its file and JSON path. Pure: no file is read here.
 */
#include "forestwatch/config.h"

#include "config_int.h"

#include "forestwatch/expr.h"
#include "forestwatch/log.h"
#include "forestwatch/models.h"
#include "forestwatch/pests.h"
#include "forestwatch/reading.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An unknown metric name, with the nearest known one when a typo is likely. */
static void err_unknown_metric(struct fw_cfg_ctx *c, const char *name)
{
    const struct fw_metric *hint = fw_metric_nearest(name);
    if (hint)
        fw_cfg_err(c, "unknown metric \"%s\" (did you mean \"%s\"?)", name, hint->name);
    else
        fw_cfg_err(c, "unknown metric \"%s\" (see `forestwatch metrics`)", name);
}

/* ------------------------------------------------------------------------------------------ */
/* Sections                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static const char *const log_level_names[] = {"error", "warning", "notice", "info", "debug", NULL};
static const int log_level_values[] = {FW_LOG_ERR, FW_LOG_WARNING, FW_LOG_NOTICE, FW_LOG_INFO,
                                       FW_LOG_DEBUG};

/* The gateway section is parsed into this, then copied into struct fw_config. */
struct gateway_sec {
    char *id, *name, *name_en, *status_broker, *status_topic;
    int log_level;
    bool watch_config;
};

static const struct fw_cfg_key gateway_keys[] = {
    {"id", FW_CFG_ID, 1, FW_CFG_FIELD(struct gateway_sec, id)},
    {"name", FW_CFG_STR, 0, FW_CFG_FIELD(struct gateway_sec, name), 0, 200},
    {"name_en", FW_CFG_STR, 0, FW_CFG_FIELD(struct gateway_sec, name_en), 1, 200},
    {"status_broker", FW_CFG_ID, 1, FW_CFG_FIELD(struct gateway_sec, status_broker)},
    {"status_topic", FW_CFG_STR, 0, FW_CFG_FIELD(struct gateway_sec, status_topic), 1, 256},
    {"log_level", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct gateway_sec, log_level), 0, 0,
     log_level_names, .def = "\"info\""},
    {"watch_config", FW_CFG_BOOL, 0, FW_CFG_FIELD(struct gateway_sec, watch_config)},
    {NULL},
};

static void parse_gateway(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_config *cfg = base;
    struct gateway_sec g = {0};
    fw_cfg_key_defaults(gateway_keys, &g);
    fw_cfg_apply_keys(c, v, gateway_keys, &g);
    cfg->gateway_id = g.id;
    cfg->gateway_name = g.name;
    cfg->gateway_name_en = g.name_en;
    cfg->status_broker = g.status_broker;
    cfg->status_topic = g.status_topic;
    cfg->log_level = log_level_values[g.log_level];
    cfg->watch_config = g.watch_config;
}

static const struct fw_cfg_key limits_keys[] = {
    {"max_payload_bytes", FW_CFG_SIZE, 0, FW_CFG_FIELD(struct fw_cfg_limits, max_payload_bytes), 64,
     1048576, .def = "16384"},
    {"max_readings", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_limits, max_readings), 1, 1024,
     .def = "64"},
    {"max_future_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_limits, max_future_ms), 0, 86400000,
     .def = "300000"},
    {"max_age_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_limits, max_age_ms), 1000,
     31622400000.0, .def = "604800000"},
    {"node_messages_per_s", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fw_cfg_limits, node_messages_per_s),
     0.001, 100000, .def = "10"},
    {"node_burst", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fw_cfg_limits, node_burst), 1, 1000000,
     .def = "600"},
    {NULL},
};

static void parse_limits(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_apply_keys(c, v, limits_keys, &((struct fw_config *)base)->limits);
}

/*
 * A password written into the config would end up in backups, version control and support
 * tickets. The key is refused with a pointer to the two supported places; its value is not
 * repeated in the message.
 */
static void parse_broker_password(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    (void)v;
    (void)base;
    fw_cfg_err(c,
               "passwords are not kept in the config: put it in a file named by \"password_file\" "
               "or in an environment variable named by \"password_env\"");
}

static void parse_broker_password_env(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_broker *b = base;
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    int ok = s && *s && strlen(s) <= 128 && !isdigit((unsigned char)*s);
    for (const char *p = s; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '_';
    if (!ok) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(
            c,
            "must be the name of an environment variable (1..128 letters, digits or '_', not "
            "starting with a digit), got %s",
            got);
        return;
    }
    free(b->password_env);
    b->password_env = fw_xstrdup(s);
}

static const struct fw_cfg_key broker_tls_keys[] = {
    {"ca_file", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_tls, ca_file), 1, 1024},
    {"cert_file", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_tls, cert_file), 1, 1024},
    {"key_file", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_tls, key_file), 1, 1024},
    {"server_name", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_tls, server_name), 1, 253},
    {NULL},
};

static void parse_broker_tls(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_tls *tls = &((struct fw_cfg_broker *)base)->tls;
    fw_cfg_apply_keys(c, v, broker_tls_keys, tls);
    if (!tls->cert_file != !tls->key_file)
        fw_cfg_err(
            c, "\"cert_file\" and \"key_file\" go together: give both (a client certificate) or "
               "neither");
}

/* One node of a broker cluster: {"host": ..., "port": ...}. */
static const struct fw_cfg_key broker_node_keys[] = {
    {"host", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_broker_node, host), 1, 253},
    {"port", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_broker_node, port), 1, 65535, .def = "1883"},
    {NULL},
};

static void parse_broker_node(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_broker *b = base;
    struct fw_cfg_broker_node *n = &b->nodes[b->nnodes++];
    fw_cfg_key_defaults(broker_node_keys, n);
    fw_cfg_apply_keys(c, v, broker_node_keys, n);
}

/* A broker cluster's nodes: 1..FW_CFG_MAX_BROKER_NODES of them, each tried in turn. */
static void parse_broker_nodes(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_broker *b = base;
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (n < 1 || n > FW_CFG_MAX_BROKER_NODES) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be an array of 1..%d nodes {\"host\", \"port\"}, got %s%s",
                   FW_CFG_MAX_BROKER_NODES, cJSON_IsArray(v) && n == 0 ? "an empty array" : got,
                   cJSON_IsArray(v) && n > 0 ? " of more" : "");
        return;
    }
    b->nodes = fw_xcalloc((size_t)n, sizeof(*b->nodes));
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t mark = fw_cfg_path_index(c, i);
        parse_broker_node(c, e, b);
        fw_cfg_path_pop(c, mark);
    }
}

static const struct fw_cfg_key broker_keys[] = {
    {"host", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_broker, host), 1, 253},
    {"nodes", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_broker_nodes},
    {"port", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_broker, port), 1, 65535, .def = "1883"},
    {"client_id", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_broker, client_id), 1, 128},
    {"username", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_broker, username), 1, 256},
    {"password", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_broker_password},
    {"password_file", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_broker, password_file), 1, 1024},
    {"password_env", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_broker_password_env},
    {"tls", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_broker_tls},
    {"keepalive_s", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_broker, keepalive_s), 5, 3600,
     .def = "30"},
    {"reconnect_min_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_broker, reconnect_min_ms), 50,
     600000, .def = "500"},
    {"reconnect_max_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_broker, reconnect_max_ms), 50,
     3600000, .def = "30000"},
    {"clean_session", FW_CFG_BOOL, 0, FW_CFG_FIELD(struct fw_cfg_broker, clean_session)},
    {NULL},
};

static void parse_broker(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    struct fw_config *cfg = arg;
    struct fw_cfg_broker b = {0};
    fw_cfg_key_defaults(broker_keys, &b);
    b.name = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, broker_keys, &b);
    if (b.nodes && (b.host || cJSON_GetObjectItemCaseSensitive(m, "port")))
        fw_cfg_err(c, "give either \"host\" (and \"port\") or \"nodes\" (a cluster), not both");
    else if (!cJSON_GetObjectItemCaseSensitive(m, "host") &&
             !cJSON_GetObjectItemCaseSensitive(m, "nodes"))
        fw_cfg_err(c, "missing required key \"host\"");
    else if (b.nodes && b.nnodes > 0 && b.nodes[0].host) {
        /* The first node stands for the broker wherever one address is named. */
        b.host = fw_xstrdup(b.nodes[0].host);
        b.port = b.nodes[0].port;
    }
    if (b.reconnect_min_ms > b.reconnect_max_ms)
        fw_cfg_err(c, "reconnect_min_ms (%lld) must not exceed reconnect_max_ms (%lld)",
                   (long long)b.reconnect_min_ms, (long long)b.reconnect_max_ms);
    if (b.password_file && b.password_env)
        fw_cfg_err(c, "give either \"password_file\" or \"password_env\", not both");
    else if ((b.password_file || b.password_env) && !b.username)
        fw_cfg_err(c,
                   "a password needs \"username\" too (MQTT 3.1.1 sends no password without one)");
    cfg->brokers = fw_xrealloc(cfg->brokers, (cfg->nbrokers + 1) * sizeof(*cfg->brokers));
    cfg->brokers[cfg->nbrokers++] = b;
}

static void parse_brokers(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_for_each_named(c, v, "brokers", parse_broker, base);
}

int fw_config__topic_ok(const char *t, int filter)
{
    if (!*t || strlen(t) > 1024)
        return 0;
    for (const char *p = t; *p; p++) {
        if (*p == '+' || *p == '#') {
            if (!filter)
                return 0;
            int starts = p == t || p[-1] == '/';
            int ends = p[1] == '\0' || (*p == '+' && p[1] == '/');
            if (!starts || !ends)
                return 0;
        }
    }
    return 1;
}

static const char *const uplink_format_names[] = {"native", "chirpstack", "tts", "meteo", NULL};

static const struct fw_cfg_key uplink_keys[] = {
    {"broker", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_uplink, broker)},
    {"topic", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_uplink, topic), 1, 1024},
    {"qos", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_uplink, qos), 0, 1, .def = "1"},
    {"format", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_uplink, format), 0, 0,
     uplink_format_names, .def = "\"native\""},
    {NULL},
};

static void parse_uplinks(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_config *cfg = base;
    char got[64];
    if (!cJSON_IsArray(v)) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be an array of subscriptions, got %s", got);
        return;
    }
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t mark = fw_cfg_path_index(c, i);
        struct fw_cfg_uplink u = {0};
        fw_cfg_key_defaults(uplink_keys, &u);
        fw_cfg_apply_keys(c, e, uplink_keys, &u);
        if (u.topic && !fw_config__topic_ok(u.topic, 1)) {
            size_t m2 = fw_cfg_path_key(c, "topic");
            fw_cfg_err(c, "invalid MQTT topic filter \"%s\"", u.topic);
            fw_cfg_path_pop(c, m2);
        }
        cfg->uplinks = fw_xrealloc(cfg->uplinks, (cfg->nuplinks + 1) * sizeof(*cfg->uplinks));
        cfg->uplinks[cfg->nuplinks++] = u;
        fw_cfg_path_pop(c, mark);
    }
}

static const struct fw_cfg_key point_keys[] = {
    {"lat", FW_CFG_NUM, 1, FW_CFG_FIELD(struct fw_cfg_point, lat), -90, 90},
    {"lon", FW_CFG_NUM, 1, FW_CFG_FIELD(struct fw_cfg_point, lon), -180, 180},
    {NULL},
};

static void parse_point(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_zone *z = base;
    fw_cfg_apply_keys(c, v, point_keys, &z->location);
    z->has_location = true;
}

static void parse_polygon(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_zone *z = base;
    char got[64];
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (!cJSON_IsArray(v) || n < 4 || n > 1000) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c,
                   "must be an array of 4..1000 [lat, lon] pairs, the first equal to the last, got "
                   "%s%s",
                   got, cJSON_IsArray(v) ? " of fewer than 4" : "");
        return;
    }
    z->polygon = fw_xcalloc((size_t)n, sizeof(*z->polygon));
    int i = 0, ok = 1;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t mark = fw_cfg_path_index(c, i);
        const cJSON *la = cJSON_GetArrayItem(e, 0), *lo = cJSON_GetArrayItem(e, 1);
        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsNumber(la) ||
            !cJSON_IsNumber(lo) || fabs(la->valuedouble) > 90 || fabs(lo->valuedouble) > 180) {
            fw_cfg_describe(e, got, sizeof(got));
            fw_cfg_err(c, "must be [lat, lon] with lat -90..90 and lon -180..180, got %s", got);
            ok = 0;
        } else {
            z->polygon[i].lat = la->valuedouble;
            z->polygon[i].lon = lo->valuedouble;
        }
        fw_cfg_path_pop(c, mark);
    }
    z->npolygon = (size_t)n;
    if (ok &&
        (z->polygon[0].lat != z->polygon[n - 1].lat || z->polygon[0].lon != z->polygon[n - 1].lon))
        fw_cfg_err(c, "the first point must equal the last (a closed ring)");
}

static const struct fw_cfg_key contact_keys[] = {
    {"name", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_contact, name), 1, 200},
    {"name_en", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_contact, name_en), 1, 200},
    {"phone", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_contact, phone), 1, 64},
    {NULL},
};

static void parse_contact_at(struct fw_cfg_ctx *c, const cJSON *v, struct fw_cfg_contact *out)
{
    fw_cfg_apply_keys(c, v, contact_keys, out);
}

static void parse_chief(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    parse_contact_at(c, v, &((struct fw_cfg_zone *)base)->forest_chief);
}

static void parse_duty(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    parse_contact_at(c, v, &((struct fw_cfg_zone *)base)->duty);
}

/* A key read after the rest of its object, by the object's own parser. */
static void parse_later(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    (void)c;
    (void)v;
    (void)base;
}

/* ---- The fire-danger model of a zone (docs/models.md) ------------------------------------ */

/* The "fire" object is read into this, then checked and copied into struct fw_models_zone. */
struct fire_sec {
    char **stations;
    size_t nstations;
    char *fallback;
    int utc_offset_min;
    double lat;
    bool lat_adjust;
    int ffmc_coef; /* index in ffmc_coef_names */
    int noon_window_min;
    int rain_max_gap_min;
    bool hourly_ffmc;
    double startup_ffmc, startup_dmc, startup_dc;
    int season_start_month, season_start_day;
    int season_end_month, season_end_day;
    struct fw_models_levels levels;
};

static const char *const ffmc_coef_names[] = {"cffdrs", "1985", NULL};

/* A zone model's "stations": 1..max names (the fire model's and the rating's). */
static void parse_station_list(struct fw_cfg_ctx *c, const cJSON *v, char ***list, size_t *n,
                               int max)
{
    fw_cfg_free_string_list(*list, *n);
    *list = fw_cfg_string_list(c, v, n, 1);
    if (cJSON_IsArray(v) && (cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > max))
        fw_cfg_err(c, "must name 1..%d stations, got %d", max, cJSON_GetArraySize(v));
}

static void parse_fire_stations(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fire_sec *f = base;
    parse_station_list(c, v, &f->stations, &f->nstations, FW_MODELS_MAX_STATIONS);
}

/* "MM-DD", a day of a year (29 February allowed). */
static void parse_month_day(struct fw_cfg_ctx *c, const cJSON *v, int *month, int *day)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    char got[64];
    int mo = 0, d = 0, n = 0;
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    if (!s || strlen(s) != 5 || sscanf(s, "%2d-%2d%n", &mo, &d, &n) != 2 || n != 5 ||
        !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[3]) || mo < 1 || mo > 12 ||
        d < 1 || d > mdays[mo - 1]) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be a month and day \"MM-DD\" such as \"03-15\", got %s", got);
        return;
    }
    *month = mo;
    *day = d;
}

static void parse_fire_season_start(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fire_sec *f = base;
    parse_month_day(c, v, &f->season_start_month, &f->season_start_day);
}

static void parse_fire_season_end(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fire_sec *f = base;
    parse_month_day(c, v, &f->season_end_month, &f->season_end_day);
}

static void parse_levels_index(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_models_levels *l = base;
    enum fw_models_index i;
    if (!cJSON_IsString(v) || fw_models_index_parse(v->valuestring, &i) < 0) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c,
                   "must be one of \"fwi\", \"isi\", \"bui\", \"ffmc\", \"dmc\", \"dc\", \"dsr\", "
                   "\"nesterov\", got %s",
                   got);
        return;
    }
    l->index = i;
}

static void parse_levels_min(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_models_levels *l = base;
    char got[64];
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != FW_MODELS_LEVELS) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be an array of %d ascending numbers (where levels 1..5 start), got %s",
                   FW_MODELS_LEVELS, got);
        return;
    }
    int i = 0, ok = 1;
    double min[FW_MODELS_LEVELS];
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || fabs(e->valuedouble) > 1e6) {
            size_t mark = fw_cfg_path_index(c, i);
            fw_cfg_describe(e, got, sizeof(got));
            fw_cfg_err(c, "must be a number -1e6..1e6, got %s", got);
            fw_cfg_path_pop(c, mark);
            ok = 0;
            continue;
        }
        min[i] = e->valuedouble;
        if (i > 0 && ok && !(min[i] > min[i - 1])) {
            size_t mark = fw_cfg_path_index(c, i);
            fw_cfg_err(c, "must be greater than the one before (%g), got %g", min[i - 1], min[i]);
            fw_cfg_path_pop(c, mark);
            ok = 0;
        }
    }
    if (ok)
        memcpy(l->min, min, sizeof(min));
}

static void parse_levels_provisional(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_models_levels *l = base;
    if (!cJSON_IsBool(v)) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be true or false, got %s", got);
        return;
    }
    l->provisional = cJSON_IsTrue(v);
}

static const struct fw_cfg_key fire_levels_keys[] = {
    {"index", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_levels_index},
    {"min", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_levels_min},
    {"provisional", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_levels_provisional},
    {NULL},
};

static void parse_fire_levels(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fire_sec *f = base;
    /* An operator's table is not the provisional default unless it says so. */
    f->levels.provisional = 0;
    fw_cfg_apply_keys(c, v, fire_levels_keys, &f->levels);
}

static const struct fw_cfg_key fire_keys[] = {
    {"stations", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_fire_stations},
    {"fallback", FW_CFG_ID, 0, FW_CFG_FIELD(struct fire_sec, fallback)},
    {"utc_offset_min", FW_CFG_INT, 1, FW_CFG_FIELD(struct fire_sec, utc_offset_min),
     FW_MODELS_OFFSET_MIN, FW_MODELS_OFFSET_MAX},
    {"lat", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fire_sec, lat), -90, 90},
    {"lat_adjust", FW_CFG_BOOL, 0, FW_CFG_FIELD(struct fire_sec, lat_adjust)},
    {"ffmc_coef", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fire_sec, ffmc_coef), 0, 0, ffmc_coef_names},
    {"noon_window_min", FW_CFG_INT, 0, FW_CFG_FIELD(struct fire_sec, noon_window_min), 1,
     FW_MODELS_NOON_WINDOW_MAX},
    {"rain_max_gap_min", FW_CFG_INT, 0, FW_CFG_FIELD(struct fire_sec, rain_max_gap_min), 15,
     FW_MODELS_RAIN_GAP_MAX},
    {"hourly_ffmc", FW_CFG_BOOL, 0, FW_CFG_FIELD(struct fire_sec, hourly_ffmc)},
    {"startup_ffmc", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fire_sec, startup_ffmc), 0, 101},
    {"startup_dmc", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fire_sec, startup_dmc), 0, 1e6},
    {"startup_dc", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fire_sec, startup_dc), 0, 1e6},
    {"season_start", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_fire_season_start},
    {"season_end", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_fire_season_end},
    {"levels", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_fire_levels},
    {NULL},
};

/* A model's refusal of a zone names the field first ("levels.min: ..."): report it there. */
static void model_error(struct fw_cfg_ctx *c, const char *why)
{
    const char *sep = strstr(why, ": ");
    size_t mark = c->pathlen;
    if (sep && (size_t)(sep - why) < 64) {
        char field[64];
        memcpy(field, why, (size_t)(sep - why));
        field[sep - why] = '\0';
        char *save = NULL;
        for (char *tok = strtok_r(field, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
            fw_cfg_path_key(c, tok);
        why = sep + 2;
    }
    fw_cfg_err(c, "%s", why);
    fw_cfg_path_pop(c, mark);
}

static void parse_zone_fire(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_zone *z = base;
    struct fw_models_zone mz;
    fw_models_zone_init(&mz, z->id);
    struct fire_sec f = {
        .lat = z->has_location ? z->location.lat : NAN,
        .lat_adjust = mz.lat_adjust != 0,
        .noon_window_min = mz.noon_window_min,
        .rain_max_gap_min = mz.rain_max_gap_min,
        .hourly_ffmc = mz.hourly_ffmc != 0,
        .startup_ffmc = mz.startup_ffmc,
        .startup_dmc = mz.startup_dmc,
        .startup_dc = mz.startup_dc,
        .levels = mz.levels,
    };
    size_t before = c->errs->n + c->errs->dropped;
    fw_cfg_apply_keys(c, v, fire_keys, &f);
    if (cJSON_IsObject(v) && isnan(f.lat))
        fw_cfg_err(c,
                   "missing required key \"lat\" (the zone has no \"location\" to take it from)");
    if (c->errs->n + c->errs->dropped == before) {
        for (size_t i = 0; i < f.nstations; i++)
            fw_strlcpy(mz.stations[i], f.stations[i], sizeof(mz.stations[i]));
        mz.nstations = f.nstations;
        if (f.fallback)
            fw_strlcpy(mz.fallback, f.fallback, sizeof(mz.fallback));
        mz.utc_offset_min = f.utc_offset_min;
        mz.lat = f.lat;
        mz.lat_adjust = f.lat_adjust;
        mz.ffmc_coef = f.ffmc_coef == 1 ? FW_FWI_FFMC_COEF_1985 : FW_FWI_FFMC_COEF_CFFDRS;
        mz.noon_window_min = f.noon_window_min;
        mz.rain_max_gap_min = f.rain_max_gap_min;
        mz.hourly_ffmc = f.hourly_ffmc;
        mz.startup_ffmc = f.startup_ffmc;
        mz.startup_dmc = f.startup_dmc;
        mz.startup_dc = f.startup_dc;
        mz.season_start_month = f.season_start_month;
        mz.season_start_day = f.season_start_day;
        mz.season_end_month = f.season_end_month;
        mz.season_end_day = f.season_end_day;
        mz.levels = f.levels;
        const char *why = NULL;
        if (fw_models_zone_check(&mz, &why) < 0) {
            model_error(c, why);
        } else {
            free(z->fire);
            z->fire = fw_xmalloc(sizeof(*z->fire));
            *z->fire = mz;
        }
    }
    fw_cfg_free_string_list(f.stations, f.nstations);
    free(f.fallback);
}

/* ---- The national fire weather rating of a zone (docs/models.md) ------------------------ */

/* The "cn" object is read into this, then checked and copied into struct fw_cnm_zone. */
struct cn_sec {
    char **stations;
    size_t nstations;
    char *fallback;
    int utc_offset_min;
    int min_hours;
    int close_delay_min;
    int rain_max_gap_min;
    int phenology_hold_days;
    struct fw_cnm_season seasons[FW_CNM_MAX_SEASONS];
    size_t nseasons;
};

static void parse_cn_stations(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct cn_sec *f = base;
    parse_station_list(c, v, &f->stations, &f->nstations, FW_CNM_MAX_STATIONS);
}

static void parse_cn_season_from(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cnm_season *s = base;
    parse_month_day(c, v, &s->month, &s->day);
}

static void parse_cn_season_class(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cnm_season *s = base;
    if (!cJSON_IsString(v) || fw_cnr_phenology_parse(v->valuestring, &s->cls) < 0) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c,
                   "must be NONE, G20/S10, G50/S30, G75/S60 or G100/S90 (or either half, as G75 "
                   "or S60), got %s",
                   got);
    }
}

static const struct fw_cfg_key cn_season_keys[] = {
    {"from", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_cn_season_from},
    {"class", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_cn_season_class},
    {NULL},
};

static void parse_cn_phenology(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct cn_sec *f = base;
    char got[64];
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > FW_CNM_MAX_SEASONS) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(
            c, "must be an array of 0..%d periods {\"from\": \"MM-DD\", \"class\": ...}, got %s",
            FW_CNM_MAX_SEASONS, got);
        return;
    }
    int i = 0;
    f->nseasons = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t mark = fw_cfg_path_index(c, i);
        struct fw_cnm_season s = {0};
        fw_cfg_apply_keys(c, e, cn_season_keys, &s);
        if (f->nseasons > 0 && s.month &&
            s.month * 100 + s.day <=
                f->seasons[f->nseasons - 1].month * 100 + f->seasons[f->nseasons - 1].day) {
            size_t m2 = fw_cfg_path_key(c, "from");
            fw_cfg_err(c, "must be after the period before (%02d-%02d), got %02d-%02d",
                       f->seasons[f->nseasons - 1].month, f->seasons[f->nseasons - 1].day, s.month,
                       s.day);
            fw_cfg_path_pop(c, m2);
        }
        if (s.month)
            f->seasons[f->nseasons++] = s;
        fw_cfg_path_pop(c, mark);
    }
}

static const struct fw_cfg_key cn_keys[] = {
    {"stations", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_cn_stations},
    {"fallback", FW_CFG_ID, 0, FW_CFG_FIELD(struct cn_sec, fallback)},
    {"utc_offset_min", FW_CFG_INT, 1, FW_CFG_FIELD(struct cn_sec, utc_offset_min),
     FW_MODELS_OFFSET_MIN, FW_MODELS_OFFSET_MAX},
    {"min_hours", FW_CFG_INT, 0, FW_CFG_FIELD(struct cn_sec, min_hours), 1, 24},
    {"close_delay_min", FW_CFG_INT, 0, FW_CFG_FIELD(struct cn_sec, close_delay_min), 0,
     FW_CNM_CLOSE_DELAY_MAX},
    {"rain_max_gap_min", FW_CFG_INT, 0, FW_CFG_FIELD(struct cn_sec, rain_max_gap_min), 15,
     FW_MODELS_RAIN_GAP_MAX},
    {"phenology", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_cn_phenology},
    {"phenology_hold_days", FW_CFG_INT, 0, FW_CFG_FIELD(struct cn_sec, phenology_hold_days), 1,
     FW_CNM_HOLD_DAYS_MAX},
    {NULL},
};

static void parse_zone_cn(struct fw_cfg_ctx *c, const cJSON *v, struct fw_cfg_zone *z)
{
    struct fw_cnm_zone mz;
    fw_cnm_zone_init(&mz, z->id);
    struct cn_sec f = {
        .min_hours = mz.min_hours,
        .close_delay_min = mz.close_delay_min,
        .rain_max_gap_min = mz.rain_max_gap_min,
        .phenology_hold_days = mz.phenology_hold_days,
    };
    size_t before = c->errs->n + c->errs->dropped;
    fw_cfg_apply_keys(c, v, cn_keys, &f);
    if (c->errs->n + c->errs->dropped == before) {
        for (size_t i = 0; i < f.nstations; i++)
            fw_strlcpy(mz.stations[i], f.stations[i], sizeof(mz.stations[i]));
        mz.nstations = f.nstations;
        if (f.fallback)
            fw_strlcpy(mz.fallback, f.fallback, sizeof(mz.fallback));
        mz.utc_offset_min = f.utc_offset_min;
        mz.min_hours = f.min_hours;
        mz.close_delay_min = f.close_delay_min;
        mz.rain_max_gap_min = f.rain_max_gap_min;
        mz.phenology_hold_days = f.phenology_hold_days;
        memcpy(mz.seasons, f.seasons, sizeof(mz.seasons));
        mz.nseasons = f.nseasons;
        const char *why = NULL;
        if (fw_cnm_zone_check(&mz, &why) < 0) {
            model_error(c, why);
        } else {
            free(z->cn);
            z->cn = fw_xmalloc(sizeof(*z->cn));
            *z->cn = mz;
        }
    }
    fw_cfg_free_string_list(f.stations, f.nstations);
    free(f.fallback);
}

/* ---- The pest model of a zone (docs/pests.md) ---------------------------------------------- */

/* Copy a list of names into a fixed table of ids; too many is reported by the caller's check. */
static void copy_ids(struct fw_cfg_ctx *c, const cJSON *v, char (*ids)[FW_READING_MAX_ID],
                     size_t max, size_t *n, const char *what)
{
    size_t k = 0;
    char **list = fw_cfg_string_list(c, v, &k, 1);
    if (cJSON_IsArray(v) &&
        ((size_t)cJSON_GetArraySize(v) < 1 || (size_t)cJSON_GetArraySize(v) > max))
        fw_cfg_err(c, "must name 1..%zu %s, got %d", max, what, cJSON_GetArraySize(v));
    *n = 0;
    for (size_t i = 0; i < k && *n < max; i++)
        fw_strlcpy(ids[(*n)++], list[i], FW_READING_MAX_ID);
    fw_cfg_free_string_list(list, k);
}

static void parse_pests_stations(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_pests_zone *z = base;
    copy_ids(c, v, z->stations, FW_PESTS_MAX_STATIONS, &z->nstations, "stations");
}

static void parse_pests_fallback(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_pests_zone *z = base;
    if (!cJSON_IsString(v) || !fw_cfg_valid_id(v->valuestring) ||
        strlen(v->valuestring) >= FW_READING_MAX_ID) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be a station name, got %s", got);
        return;
    }
    fw_strlcpy(z->fallback, v->valuestring, sizeof(z->fallback));
}

static void parse_pest_traps(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_pests_pest *p = base;
    copy_ids(c, v, p->traps, FW_PESTS_MAX_TRAPS, &p->ntraps, "trap nodes");
}

static void parse_pest_method(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_pests_pest *p = base;
    if (!cJSON_IsString(v) || fw_dd_method_parse(v->valuestring, &p->method) < 0) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(
            c,
            "must be one of \"average\", \"single-sine\", \"double-sine\", \"single-triangle\", "
            "\"double-triangle\", got %s",
            got);
    }
}

static void parse_pest_cutoff(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_pests_pest *p = base;
    if (!cJSON_IsString(v) || fw_dd_cutoff_parse(v->valuestring, &p->cutoff) < 0) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be one of \"horizontal\", \"vertical\", \"intermediate\", got %s", got);
    }
}

static void parse_pest_biofix(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_pests_pest *p = base;
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    if (strcmp(s, "date") == 0) {
        p->biofix = FW_PESTS_BIOFIX_DATE;
    } else if (strcmp(s, "trap") == 0) {
        p->biofix = FW_PESTS_BIOFIX_TRAP;
    } else {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be \"date\" or \"trap\", got %s", got);
    }
}

/* A stage is read into strings first: the stage's fields are fixed arrays. */
struct stage_sec {
    char *name, *action;
    double dd;
};

static const struct fw_cfg_key pest_stage_keys[] = {
    {"name", FW_CFG_STR, 1, FW_CFG_FIELD(struct stage_sec, name), 1, FW_READING_MAX_ID - 1},
    {"dd", FW_CFG_NUMN, 1, FW_CFG_FIELD(struct stage_sec, dd), 0, 1e5},
    {"action", FW_CFG_STR, 0, FW_CFG_FIELD(struct stage_sec, action), 0, FW_PESTS_MAX_ACTION - 1},
    {NULL},
};

static void parse_pest_stage(struct fw_cfg_ctx *c, const cJSON *v, struct fw_pests_stage *st)
{
    struct stage_sec sec = {.dd = NAN};
    fw_cfg_apply_keys(c, v, pest_stage_keys, &sec);
    if (sec.name)
        fw_strlcpy(st->name, sec.name, sizeof(st->name));
    if (sec.action)
        fw_strlcpy(st->action, sec.action, sizeof(st->action));
    st->dd = isnan(sec.dd) ? 0.0 : sec.dd; /* null: not set, refused by the model's check */
    free(sec.name);
    free(sec.action);
}

static void parse_pest_stages(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_pests_pest *p = base;
    char got[64];
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (!cJSON_IsArray(v) || n < 1 || n > FW_PESTS_MAX_STAGES) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be an array of 1..%d stages, got %s", FW_PESTS_MAX_STAGES, got);
        return;
    }
    int i = 0;
    p->nstages = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t mark = fw_cfg_path_index(c, i);
        parse_pest_stage(c, e, &p->stages[p->nstages++]);
        fw_cfg_path_pop(c, mark);
    }
}

static void parse_pest_biofix_date(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_pests_pest *p = base;
    parse_month_day(c, v, &p->biofix_month, &p->biofix_day);
}

/*
 * Whether a pest entry is modelled. "enabled": false keeps a pest in the file, checked for its
 * form but with values it still lacks (a threshold no source verifies) left null, and not run.
 */
static int pest_enabled(const cJSON *e)
{
    const cJSON *en = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "enabled") : NULL;
    return !cJSON_IsFalse(en);
}

static void parse_pest_enabled(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    (void)base;
    if (!cJSON_IsBool(v)) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be true or false, got %s", got);
    }
}

static const struct fw_cfg_key pest_keys[] = {
    {"id", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_later},
    {"name", FW_CFG_TEXT, 0, FW_CFG_FIELD(struct fw_pests_pest, name), 1, FW_READING_MAX_ID - 1},
    {"name_en", FW_CFG_TEXT, 0, FW_CFG_FIELD(struct fw_pests_pest, name_en), 1,
     FW_READING_MAX_ID - 1},
    {"enabled", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pest_enabled},
    {"method", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pest_method},
    {"cutoff", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pest_cutoff},
    {"lower", FW_CFG_NUMN, 1, FW_CFG_FIELD(struct fw_pests_pest, lower), -90, 70},
    {"upper", FW_CFG_NUMN, 0, FW_CFG_FIELD(struct fw_pests_pest, upper), -90, 70},
    {"biofix", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pest_biofix},
    {"biofix_date", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pest_biofix_date},
    {"traps", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pest_traps},
    {"trap_count", FW_CFG_NUMN, 0, FW_CFG_FIELD(struct fw_pests_pest, trap_count), 0, 1e6},
    {"trap_days", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_pests_pest, trap_days), 1,
     FW_PESTS_MAX_RUN},
    {"stages", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_pest_stages},
    {NULL},
};

static void parse_pest(struct fw_cfg_ctx *c, const cJSON *v, struct fw_pests_pest *p)
{
    const cJSON *id = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "id") : NULL;
    if (id && (!cJSON_IsString(id) || !fw_cfg_valid_id(id->valuestring) ||
               strlen(id->valuestring) >= FW_READING_MAX_ID)) {
        char got[64];
        size_t mark = fw_cfg_path_key(c, "id");
        fw_cfg_describe(id, got, sizeof(got));
        fw_cfg_err(c, "must be a name of 1..%d letters, digits, '_', '-' or '.', got %s",
                   FW_READING_MAX_ID - 1, got);
        fw_cfg_path_pop(c, mark);
        id = NULL;
    }
    fw_pests_pest_init(p, id ? id->valuestring : "");
    fw_cfg_apply_keys(c, v, pest_keys, p);
    if (isnan(p->upper))
        p->upper = FW_DD_NO_UPPER; /* null: no upper threshold */
    if (isnan(p->trap_count))
        p->trap_count = 0.0; /* null: not set, refused by the model's check for a trap biofix */
    if (cJSON_IsObject(v) && p->biofix == FW_PESTS_BIOFIX_DATE &&
        !cJSON_GetObjectItemCaseSensitive(v, "biofix_date"))
        fw_cfg_err(c, "a date biofix needs \"biofix_date\" (\"MM-DD\")");
}

static void parse_pests_list(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_pests_zone *z = base;
    char got[64];
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (!cJSON_IsArray(v) || n > FW_PESTS_MAX_PESTS) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be an array of 0..%d pests, got %s", FW_PESTS_MAX_PESTS, got);
        return;
    }
    int i = 0;
    z->npests = 0;
    struct fw_pests_pest *off = fw_xmalloc(sizeof(*off));
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t mark = fw_cfg_path_index(c, i);
        parse_pest(c, e, pest_enabled(e) ? &z->pests[z->npests++] : off);
        fw_cfg_path_pop(c, mark);
    }
    free(off);
}

/* The index in the config's "pests" array of the model's pest `i` (disabled ones are skipped). */
static int pest_json_index(const cJSON *list, size_t i)
{
    int j = 0;
    for (const cJSON *e = cJSON_IsArray(list) ? list->child : NULL; e; e = e->next, j++)
        if (pest_enabled(e) && i-- == 0)
            return j;
    return (int)i;
}

static void parse_disease_enabled(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_pests_disease *d = base;
    if (!cJSON_IsBool(v)) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be true or false, got %s", got);
        return;
    }
    d->enabled = cJSON_IsTrue(v);
}

static const struct fw_cfg_key disease_keys[] = {
    {"enabled", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_disease_enabled},
    {"rh_min", FW_CFG_NUMN, 0, FW_CFG_FIELD(struct fw_pests_disease, rh_min), 0, 100},
    {"temp_lo", FW_CFG_NUMN, 0, FW_CFG_FIELD(struct fw_pests_disease, temp_lo), -90, 70},
    {"temp_hi", FW_CFG_NUMN, 0, FW_CFG_FIELD(struct fw_pests_disease, temp_hi), -90, 70},
    {NULL},
};

static void parse_pests_disease(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_pests_zone *z = base;
    z->disease.enabled = 1; /* a "disease" object turns it on unless it says otherwise */
    fw_cfg_apply_keys(c, v, disease_keys, &z->disease);
}

/*
 * Report a failed fw_pests_zone_check at the field it names: "min_hours: ..." at .min_hours,
 * "pest lower: ..." at .pests[i].lower of the first pest that fails on its own, "pest stage dd:
 * ..." at .pests[i].stages.dd.
 */
static void pests_check_error(struct fw_cfg_ctx *c, const struct fw_pests_zone *z,
                              const cJSON *list, const char *why)
{
    size_t mark = c->pathlen;
    if (strncmp(why, "pest ", 5) == 0 || strncmp(why, "pest: ", 6) == 0) {
        struct fw_pests_zone *one = fw_xmalloc(sizeof(*one));
        size_t i;
        for (i = 0; i < z->npests; i++) {
            const char *e = NULL;
            *one = *z;
            one->pests[0] = z->pests[i];
            one->npests = 1;
            if (fw_pests_zone_check(one, &e) < 0) {
                why = e;
                break;
            }
        }
        free(one);
        fw_cfg_path_key(c, "pests");
        if (i == z->npests) {
            /* Only the pests together fail: two with one id. */
            fw_cfg_err(c, "%s", why + 5);
            fw_cfg_path_pop(c, mark);
            return;
        }
        fw_cfg_path_index(c, pest_json_index(list, i));
        why += why[4] == ':' ? 6 : 5;
        if (strncmp(why, "stage ", 6) == 0) {
            fw_cfg_path_key(c, "stages");
            why += 6;
        }
    }
    const char *sep = strstr(why, ": ");
    if (sep && (size_t)(sep - why) < 32 && !memchr(why, ' ', (size_t)(sep - why))) {
        char field[32];
        memcpy(field, why, (size_t)(sep - why));
        field[sep - why] = '\0';
        fw_cfg_path_key(c, field);
        why = sep + 2;
    }
    fw_cfg_err(c, "%s", why);
    fw_cfg_path_pop(c, mark);
}

/* Keep the ids of the zone's disabled pests, for the notes of check-config and the daemon. */
static void pests_note_disabled(struct fw_cfg_zone *z, const cJSON *list)
{
    for (const cJSON *e = cJSON_IsArray(list) ? list->child : NULL; e; e = e->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (pest_enabled(e) || !cJSON_IsString(id))
            continue;
        z->pests_disabled =
            fw_xrealloc(z->pests_disabled, (z->npests_disabled + 1) * sizeof(char *));
        z->pests_disabled[z->npests_disabled++] = fw_xstrdup(id->valuestring);
    }
}

static const struct fw_cfg_key zone_pests_keys[] = {
    {"stations", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_pests_stations},
    {"fallback", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pests_fallback},
    {"utc_offset_min", FW_CFG_INT, 1, FW_CFG_FIELD(struct fw_pests_zone, utc_offset_min),
     FW_MODELS_OFFSET_MIN, FW_MODELS_OFFSET_MAX},
    {"min_hours", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_pests_zone, min_hours), 1, 24},
    {"close_delay_min", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_pests_zone, close_delay_min), 0, 360},
    {"pests", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pests_list},
    {"disease", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pests_disease},
    {NULL},
};

static void parse_zone_pests(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_zone *z = base;
    struct fw_pests_zone *pz = fw_xmalloc(sizeof(*pz));
    fw_pests_zone_init(pz, z->id);
    size_t before = c->errs->n + c->errs->dropped;
    fw_cfg_apply_keys(c, v, zone_pests_keys, pz);
    const char *why = NULL;
    if (c->errs->n + c->errs->dropped != before) {
        free(pz);
    } else if (fw_pests_zone_check(pz, &why) < 0) {
        pests_check_error(c, pz, cJSON_GetObjectItemCaseSensitive(v, "pests"), why);
        free(pz);
    } else {
        free(z->pests);
        z->pests = pz;
        pests_note_disabled(z, cJSON_GetObjectItemCaseSensitive(v, "pests"));
    }
}

/* By enum fw_cfg_scale. */
static const char *const danger_scale_names[] = {"fwi", "nesterov", "cn", NULL};

static const struct fw_cfg_key zone_keys[] = {
    {"name", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_zone, name), 1, 200},
    {"name_en", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_zone, name_en), 1, 200},
    {"county", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_zone, county), 1, 32},
    {"location", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_point},
    {"polygon", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_polygon},
    {"forest_chief", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_chief},
    {"duty", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_duty},
    {"fire", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_later},
    {"pests", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_zone_pests},
    {"cn", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_later},
    {"danger_scale", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_zone, danger_scale), 0, 0,
     danger_scale_names},
    {NULL},
};

/*
 * Which model gives the zone's fire_danger_level: the scale named must have its model (the
 * default, "fwi", asks for nothing), and "nesterov" reads the fire model's levels on the
 * Nesterov index, Nesterov's own classes unless the zone gives a table on that index.
 */
static void zone_scale(struct fw_cfg_ctx *c, const cJSON *m, struct fw_cfg_zone *z)
{
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(m, "danger_scale");
    const cJSON *fire = cJSON_GetObjectItemCaseSensitive(m, "fire");
    const cJSON *levels =
        cJSON_IsObject(fire) ? cJSON_GetObjectItemCaseSensitive(fire, "levels") : NULL;
    const char *why = NULL;
    if (given && z->danger_scale == FW_SCALE_CN && !z->cn &&
        !cJSON_GetObjectItemCaseSensitive(m, "cn"))
        why = "\"cn\" needs the zone's \"cn\" section (the national rating)";
    else if (given && z->danger_scale != FW_SCALE_CN && !z->fire && !fire)
        why = "needs the zone's \"fire\" section, whose model gives this scale's levels";
    else if (z->danger_scale == FW_SCALE_NESTEROV && z->fire && levels &&
             z->fire->levels.index != FW_MODELS_INDEX_NESTEROV)
        why = "\"nesterov\" reads the fire model's levels on the Nesterov index: set "
              "fire.levels.index to \"nesterov\", or drop fire.levels for Nesterov's classes";
    if (why) {
        size_t mark = fw_cfg_path_key(c, "danger_scale");
        fw_cfg_err(c, "%s", why);
        fw_cfg_path_pop(c, mark);
        return;
    }
    if (z->fire) {
        if (z->danger_scale == FW_SCALE_NESTEROV && !levels)
            fw_models_levels_nesterov(&z->fire->levels);
        z->fire->zone_level = z->danger_scale != FW_SCALE_CN;
    }
    if (z->cn)
        z->cn->zone_level = z->danger_scale == FW_SCALE_CN;
}

static void parse_zone(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    struct fw_config *cfg = arg;
    struct fw_cfg_zone z = {0};
    z.id = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, zone_keys, &z);
    /* After the other zone_keys: "fire" takes its default latitude from "location". */
    const cJSON *fire = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, "fire") : NULL;
    if (fire) {
        size_t mark = fw_cfg_path_key(c, "fire");
        parse_zone_fire(c, fire, &z);
        fw_cfg_path_pop(c, mark);
    }
    const cJSON *cn = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, "cn") : NULL;
    if (cn) {
        size_t mark = fw_cfg_path_key(c, "cn");
        parse_zone_cn(c, cn, &z);
        fw_cfg_path_pop(c, mark);
    }
    if (cJSON_IsObject(m))
        zone_scale(c, m, &z);
    cfg->zones = fw_xrealloc(cfg->zones, (cfg->nzones + 1) * sizeof(*cfg->zones));
    cfg->zones[cfg->nzones++] = z;
}

static void parse_zones(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_for_each_named(c, v, "zones", parse_zone, base);
}

static const char *const lora_codec_names[] = {"forestwatch", "lpp", "server", NULL};
#define LORA_CODEC_FORESTWATCH 0 /* lora_codec_names[0], as enum fw_lora_codec */

/*
 * A node's Cayenne LPP channel map, {"4": "smoke_ppm"}: an analog input carries whatever the
 * sensor on that channel measures, and only the operator knows which. Channels are LPP's one
 * byte, each mapped once, to a metric nodes may send.
 */
static void parse_node_lpp_map(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_node *n = base;
    char got[64];
    const cJSON *m;
    size_t count = 0;
    if (!cJSON_IsObject(v)) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be an object of LPP channels (\"0\"..\"255\") to metric names, got %s",
                   got);
        return;
    }
    cJSON_ArrayForEach(m, v) count++;
    n->lpp_map = fw_xcalloc(count + 1, sizeof(*n->lpp_map));
    cJSON_ArrayForEach(m, v)
    {
        size_t mark = fw_cfg_path_key(c, m->string);
        char *end = NULL;
        long ch = isdigit((unsigned char)m->string[0]) ? strtol(m->string, &end, 10) : -1;
        const struct fw_metric *metric = cJSON_IsString(m) ? fw_metric_find(m->valuestring) : NULL;
        fw_cfg_describe(m, got, sizeof(got));
        if (ch < 0 || ch > 255 || *end)
            fw_cfg_err(c, "not an LPP channel: must be an integer 0..255");
        else if (!cJSON_IsString(m))
            fw_cfg_err(c, "must be a metric name, got %s", got);
        else if (!metric)
            err_unknown_metric(c, m->valuestring);
        else if (metric->scope != FW_METRIC_STATION)
            fw_cfg_err(c, "%s is derived by the gateway, not sent by nodes", metric->name);
        else {
            size_t k;
            for (k = 0; k < n->nlpp_map && n->lpp_map[k].channel != ch; k++)
                ;
            if (k < n->nlpp_map)
                fw_cfg_err(c, "channel %ld is mapped twice", ch);
            else
                n->lpp_map[n->nlpp_map++] = (struct fw_codec_lpp_map){(uint8_t)ch, metric->name};
        }
        fw_cfg_path_pop(c, mark);
    }
}

static const struct fw_cfg_key node_keys[] = {
    {"zone", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_node, zone)},
    {"dev_eui", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_node, dev_eui), 16, 16},
    {"lns_name", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_node, lns_name), 1, 127},
    {"codec", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_node, lora_codec), 0, 0, lora_codec_names},
    {"lpp_map", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_node_lpp_map},
    {"kind", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_node, kind), 1, 64},
    {"description", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_node, description), 0, 400},
    {NULL},
};

static void parse_node(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    struct fw_config *cfg = arg;
    struct fw_cfg_node n = {0};
    n.id = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, node_keys, &n);
    if (n.lpp_map && n.lora_codec == LORA_CODEC_FORESTWATCH) {
        size_t mark = fw_cfg_path_key(c, "lpp_map");
        fw_cfg_err(c, "only read with \"codec\": \"lpp\" or \"server\", not \"%s\"",
                   lora_codec_names[LORA_CODEC_FORESTWATCH]);
        fw_cfg_path_pop(c, mark);
    }
    if (n.dev_eui && strspn(n.dev_eui, "0123456789abcdefABCDEF") != 16) {
        size_t mark = fw_cfg_path_key(c, "dev_eui");
        fw_cfg_err(c, "must be 16 hex digits, got \"%s\"", n.dev_eui);
        fw_cfg_path_pop(c, mark);
    }
    /* A device EUI appears once: two nodes cannot share a radio. */
    for (size_t k = 0; n.dev_eui && k < cfg->nnodes; k++)
        if (cfg->nodes[k].dev_eui && strcasecmp(cfg->nodes[k].dev_eui, n.dev_eui) == 0) {
            size_t mark = fw_cfg_path_key(c, "dev_eui");
            fw_cfg_err(c, "the same device EUI as node \"%s\"", cfg->nodes[k].id);
            fw_cfg_path_pop(c, mark);
        }
    cfg->nodes = fw_xrealloc(cfg->nodes, (cfg->nnodes + 1) * sizeof(*cfg->nodes));
    cfg->nodes[cfg->nnodes++] = n;
}

static void parse_nodes(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_for_each_named(c, v, "nodes", parse_node, base);
}

static const char *const format_names[] = {"json", "cap-xml", "cap-json", NULL};

static const struct fw_cfg_key route_keys[] = {
    {"broker", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_route, broker)},
    {"topic", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_route, topic), 1, 1024},
    {"qos", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_route, qos), 1, 1, .def = "1"},
    {"format", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_route, format), 0, 0, format_names,
     .def = "\"cap-xml\""},
    {"group_window_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_route, group_window_ms), 0,
     600000},
    {NULL},
};

static void parse_route(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    struct fw_config *cfg = arg;
    /* Every message a bureau receives is a CAP 1.2 alert unless the route asks otherwise. */
    struct fw_cfg_route r = {0};
    fw_cfg_key_defaults(route_keys, &r);
    r.name = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, route_keys, &r);
    if (r.topic && !fw_config__topic_ok(r.topic, 0)) {
        size_t mark = fw_cfg_path_key(c, "topic");
        fw_cfg_err(c, "invalid MQTT topic \"%s\" (no wildcards in a publish topic)", r.topic);
        fw_cfg_path_pop(c, mark);
    }
    cfg->routes = fw_xrealloc(cfg->routes, (cfg->nroutes + 1) * sizeof(*cfg->routes));
    cfg->routes[cfg->nroutes++] = r;
}

static void parse_routes(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_for_each_named(c, v, "routes", parse_route, base);
}

static const char *const op_names[] = {">", ">=", "<", "<=", "==", "!=", NULL};
static const char *const severity_names[] = {"Unknown", "Minor",   "Moderate",
                                             "Severe",  "Extreme", NULL};
static const char *const category_names[] = {"Fire", "Env", "Met", "Safety", "Other", NULL};

static void parse_rule_zones(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_rule *r = base;
    r->zones = fw_cfg_string_list(c, v, &r->nzones, 1);
    if (r->zones && r->nzones == 0)
        fw_cfg_err(c, "must list at least one zone (leave the key out for every zone)");
}

static void parse_rule_kinds(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_rule *r = base;
    r->kinds = fw_cfg_string_list(c, v, &r->nkinds, 1);
    if (r->kinds && r->nkinds == 0)
        fw_cfg_err(c, "must list at least one node kind (leave the key out for every node)");
}

static void parse_rule_inhibits(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_rule *r = base;
    r->inhibits = fw_cfg_string_list(c, v, &r->ninhibits, 1);
}

static void parse_rule_routes(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_rule *r = base;
    r->routes = fw_cfg_string_list(c, v, &r->nroutes, 1);
    if (r->routes && r->nroutes == 0)
        fw_cfg_err(c, "must list at least one route");
}

static const char *const urgency_names[] = {"Immediate", "Expected", "Future",
                                            "Past",      "Unknown",  NULL};
static const char *const certainty_names[] = {"Observed", "Likely",  "Possible",
                                              "Unlikely", "Unknown", NULL};

const char *const fw_template_placeholders[] = {
    "rule",         "zone",         "zone_name",
    "zone_name_en", "station",      "node",
    "value",        "threshold",    "unit",
    "metric",       "level",        "computed_level",
    "scale",        "level_name",   "level_colour",
    "level_flag",   "forest_chief", "forest_chief_phone",
    "duty",         "duty_phone",   "severity",
    "time",         "pest",         "pest_stage",
    "pest_action",  NULL,
};

static void parse_labels(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_rule *r = base;
    char got[64];
    if (!cJSON_IsObject(v)) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be an object of name: text, got %s", got);
        return;
    }
    for (const cJSON *m = v->child; m; m = m->next) {
        size_t mark = fw_cfg_path_key(c, m->string);
        fw_cfg_describe(m, got, sizeof(got));
        if (!fw_cfg_valid_id(m->string))
            fw_cfg_err(c, "invalid label name: use 1..%d letters, digits, '_', '-' or '.'",
                       FW_CONFIG_MAX_ID);
        else if (!cJSON_IsString(m) || strlen(m->valuestring) > 200)
            fw_cfg_err(c, "must be a string of at most 200 bytes, got %s", got);
        else {
            r->labels = fw_xrealloc(r->labels, (r->nlabels + 1) * sizeof(*r->labels));
            r->labels[r->nlabels].key = fw_xstrdup(m->string);
            r->labels[r->nlabels].value = fw_xstrdup(m->valuestring);
            r->nlabels++;
        }
        fw_cfg_path_pop(c, mark);
    }
}

/* Placeholders are {name}; "{{" and "}}" stand for literal braces. */
static void check_template_text(struct fw_cfg_ctx *c, const char *text)
{
    for (const char *p = text; *p; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p++;
            continue;
        }
        if (*p == '}') {
            fw_cfg_err(c, "unmatched '}' (write }} for a literal brace)");
            return;
        }
        if (*p != '{')
            continue;
        const char *end = strchr(p, '}');
        if (!end) {
            fw_cfg_err(c, "unterminated placeholder: '{' without '}'");
            return;
        }
        int known = 0;
        for (int i = 0; fw_template_placeholders[i]; i++)
            known |= (size_t)(end - p - 1) == strlen(fw_template_placeholders[i]) &&
                     strncmp(p + 1, fw_template_placeholders[i], (size_t)(end - p - 1)) == 0;
        if (!known) {
            char all[512];
            size_t n = 0;
            for (int i = 0; fw_template_placeholders[i] && n < sizeof(all); i++)
                n += (size_t)snprintf(all + n, sizeof(all) - n, "%s%s", i ? ", " : "",
                                      fw_template_placeholders[i]);
            fw_cfg_err(c, "unknown placeholder {%.*s} (placeholders: %s)",
                       (int)(end - p - 1 > 40 ? 40 : end - p - 1), p + 1, all);
            return;
        }
        p = end;
    }
}

static const struct fw_cfg_key template_keys[] = {
    {"headline", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_template, headline), 1, 500},
    {"description", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_template, description), 1, 2000},
    {NULL},
};

static void parse_template_at(struct fw_cfg_ctx *c, const cJSON *v, struct fw_cfg_template *t)
{
    fw_cfg_apply_keys(c, v, template_keys, t);
    if (t->headline) {
        size_t mark = fw_cfg_path_key(c, "headline");
        check_template_text(c, t->headline);
        fw_cfg_path_pop(c, mark);
    }
    if (t->description) {
        size_t mark = fw_cfg_path_key(c, "description");
        check_template_text(c, t->description);
        fw_cfg_path_pop(c, mark);
    }
}

static void parse_tmpl_zh(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    parse_template_at(c, v, &((struct fw_cfg_rule *)base)->zh);
}

static void parse_tmpl_en(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    parse_template_at(c, v, &((struct fw_cfg_rule *)base)->en);
}

static const struct fw_cfg_key templates_keys[] = {
    {"zh-CN", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_tmpl_zh},
    {"en-US", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_tmpl_en},
    {NULL},
};

static void parse_templates(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_apply_keys(c, v, templates_keys, base);
}

/* Compile `src` into *out, reporting a failure at the path of `key`. */
static void compile_expr(struct fw_cfg_ctx *c, const char *key, const char *src,
                         struct fw_expr **out)
{
    struct fw_expr_error e;
    if (fw_expr_parse(src, 1, out, &e) == 0)
        return;
    size_t mark = fw_cfg_path_key(c, key);
    fw_cfg_err(c, "position %d: %s", e.pos + 1, e.msg);
    fw_cfg_path_pop(c, mark);
}

/* The threshold form, or the expression; then compile what the rule says. */
static void finish_rule(struct fw_cfg_ctx *c, const cJSON *e, struct fw_cfg_rule *r)
{
    int has_expr = cJSON_GetObjectItemCaseSensitive(e, "expr") != NULL;
    int has_metric = cJSON_GetObjectItemCaseSensitive(e, "metric") != NULL;
    int has_op = cJSON_GetObjectItemCaseSensitive(e, "op") != NULL;
    int has_threshold = cJSON_GetObjectItemCaseSensitive(e, "threshold") != NULL;
    if (has_expr && (has_metric || has_op || has_threshold)) {
        fw_cfg_err(c, "use either \"expr\" or \"metric\", \"op\" and \"threshold\", not both");
        return;
    }
    if (!has_expr && !has_metric && !has_op && !has_threshold) {
        fw_cfg_err(c, "missing required key \"expr\" (or \"metric\", \"op\" and \"threshold\")");
        return;
    }
    if (!has_expr) {
        const char *missing = !has_metric      ? "metric"
                              : !has_op        ? "op"
                              : !has_threshold ? "threshold"
                                               : NULL;
        if (missing) {
            fw_cfg_err(c, "missing required key \"%s\"", missing);
            return;
        }
        if (!r->metric)
            return; /* its own error is reported */
        if (!fw_metric_find(r->metric)) {
            size_t m2 = fw_cfg_path_key(c, "metric");
            err_unknown_metric(c, r->metric);
            fw_cfg_path_pop(c, m2);
            return;
        }
        if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(e, "threshold")) ||
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "op")))
            return;
        r->expr_src = fw_xasprintf("%s %s %.17g", r->metric, fw_cmp_op_str(r->op), r->threshold);
    }
    if (r->expr_src)
        compile_expr(c, "expr", r->expr_src, &r->expr);
    if (r->clear_src) {
        compile_expr(c, "clear", r->clear_src, &r->clear);
        if (r->expr && r->clear && fw_expr_scope(r->clear) > fw_expr_scope(r->expr)) {
            size_t m2 = fw_cfg_path_key(c, "clear");
            fw_cfg_err(c,
                       "is evaluated per %s, but expr is per %s: clear cannot read what expr's "
                       "context does not have",
                       fw_expr_scope_str(fw_expr_scope(r->clear)),
                       fw_expr_scope_str(fw_expr_scope(r->expr)));
            fw_cfg_path_pop(c, m2);
        }
    }
    if (r->expr && r->kinds && fw_expr_scope(r->expr) != FW_EXPR_STATION) {
        size_t m2 = fw_cfg_path_key(c, "kinds");
        fw_cfg_err(c, "only for a rule evaluated per station, and this one is per %s",
                   fw_expr_scope_str(fw_expr_scope(r->expr)));
        fw_cfg_path_pop(c, m2);
    }
}

static const struct fw_cfg_key rule_keys[] = {
    {"name", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_rule, name)},
    {"description", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_rule, description), 0, 1000},
    {"expr", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_rule, expr_src), 1, FW_EXPR_MAX_LEN},
    {"clear", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_rule, clear_src), 1, FW_EXPR_MAX_LEN},
    {"for", FW_CFG_DUR, 0, FW_CFG_FIELD(struct fw_cfg_rule, for_ms), 0, 7 * 86400000.0},
    {"keep_firing_for", FW_CFG_DUR, 0, FW_CFG_FIELD(struct fw_cfg_rule, keep_firing_for_ms), 0,
     7 * 86400000.0},
    {"metric", FW_CFG_ID, 0, FW_CFG_FIELD(struct fw_cfg_rule, metric)},
    {"op", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_rule, op), 0, 0, op_names},
    {"threshold", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fw_cfg_rule, threshold), -1e12, 1e12},
    {"zones", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_rule_zones},
    {"kinds", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_rule_kinds},
    {"severity", FW_CFG_ENUM, 1, FW_CFG_FIELD(struct fw_cfg_rule, severity), 0, 0, severity_names},
    {"urgency", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_rule, urgency), 0, 0, urgency_names},
    {"certainty", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_rule, certainty), 0, 0,
     certainty_names},
    {"category", FW_CFG_ENUM, 1, FW_CFG_FIELD(struct fw_cfg_rule, category), 0, 0, category_names},
    {"routes", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_rule_routes},
    {"labels", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_labels},
    {"templates", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_templates},
    {"repeat_every", FW_CFG_DUR, 0, FW_CFG_FIELD(struct fw_cfg_rule, repeat_every_ms), 60000,
     7 * 86400000.0},
    {"update_delta", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fw_cfg_rule, update_delta), 0, 1e12},
    {"inhibits", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_rule_inhibits},
    {NULL},
};

/* Rules come from the main file and from each rules.d file. */
static void parse_rules(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_config *cfg = base;
    char got[64];
    if (!cJSON_IsArray(v)) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be an array of rules, got %s", got);
        return;
    }
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t mark = fw_cfg_path_index(c, i);
        struct fw_cfg_rule r = {0};
        r.file = fw_xstrdup(c->file);
        fw_cfg_apply_keys(c, e, rule_keys, &r);
        if (cJSON_IsObject(e))
            finish_rule(c, e, &r);
        /* Cross-file uniqueness is checked here, where the path of the duplicate is known. */
        for (size_t k = 0; r.name && k < cfg->nrules; k++)
            if (cfg->rules[k].name && strcmp(cfg->rules[k].name, r.name) == 0) {
                size_t m2 = fw_cfg_path_key(c, "name");
                fw_cfg_err(c, "duplicate rule \"%s\", first defined in %s", r.name,
                           cfg->rules[k].file);
                fw_cfg_path_pop(c, m2);
                break;
            }
        cfg->rules = fw_xrealloc(cfg->rules, (cfg->nrules + 1) * sizeof(*cfg->rules));
        cfg->rules[cfg->nrules++] = r;
        fw_cfg_path_pop(c, mark);
    }
}

static void parse_escalation_routes(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_escalation *x = base;
    x->routes = fw_cfg_string_list(c, v, &x->nroutes, 1);
}

static const struct fw_cfg_key escalation_keys[] = {
    {"min_severity", FW_CFG_ENUM, 1, FW_CFG_FIELD(struct fw_cfg_escalation, min_severity), 0, 0,
     severity_names},
    {"after", FW_CFG_DUR, 1, FW_CFG_FIELD(struct fw_cfg_escalation, after_ms), 60000,
     7 * 86400000.0},
    {"routes", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_escalation_routes},
    {NULL},
};

static void parse_escalations(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_config *cfg = base;
    char got[64];
    if (!cJSON_IsArray(v)) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be an array of escalation policies, got %s", got);
        return;
    }
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t mark = fw_cfg_path_index(c, i);
        struct fw_cfg_escalation x = {0};
        fw_cfg_apply_keys(c, e, escalation_keys, &x);
        for (size_t k = 0; k < cfg->nescalations; k++)
            if (cfg->escalations[k].min_severity == x.min_severity) {
                fw_cfg_err(c, "a second policy for min_severity \"%s\"",
                           severity_names[x.min_severity]);
                break;
            }
        cfg->escalations =
            fw_xrealloc(cfg->escalations, (cfg->nescalations + 1) * sizeof(*cfg->escalations));
        cfg->escalations[cfg->nescalations++] = x;
        fw_cfg_path_pop(c, mark);
    }
}

static const struct fw_cfg_key acks_keys[] = {
    {"broker", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_acks, broker)},
    {"topic", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_acks, topic), 1, 1024},
    {NULL},
};

static void parse_acks(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_apply_keys(c, v, acks_keys, &((struct fw_config *)base)->acks);
}

static const char *const bus_kind_names[] = {"tcp", "rtu", NULL};
static const char *const parity_names[] = {"N", "E", "O", NULL};

static const struct fw_cfg_key bus_keys[] = {
    {"kind", FW_CFG_ENUM, 1, FW_CFG_FIELD(struct fw_cfg_bus, kind), 0, 0, bus_kind_names},
    {"host", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_bus, host), 1, 253},
    {"port", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_bus, port), 1, 65535, .def = "502"},
    {"device", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_bus, device), 1, 256},
    {"baud", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_bus, baud), 1200, 921600, .def = "9600"},
    {"parity", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_bus, parity), 0, 0, parity_names},
    {"data_bits", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_bus, data_bits), 7, 8, .def = "8"},
    {"stop_bits", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_bus, stop_bits), 1, 2, .def = "1"},
    {"rs485", FW_CFG_BOOL, 0, FW_CFG_FIELD(struct fw_cfg_bus, rs485)},
    {"pause_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_bus, pause_ms), 0, 10000},
    {NULL},
};

static void parse_bus(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    struct fw_config *cfg = arg;
    struct fw_cfg_bus b = {0};
    fw_cfg_key_defaults(bus_keys, &b);
    b.name = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, bus_keys, &b);
    if (b.kind == FW_BUS_TCP && !b.host)
        fw_cfg_err(c, "a tcp bus needs \"host\"");
    if (b.kind == FW_BUS_RTU && !b.device)
        fw_cfg_err(c, "an rtu bus needs \"device\" (the serial port, e.g. /dev/ttyUSB0)");
    cfg->buses = fw_xrealloc(cfg->buses, (cfg->nbuses + 1) * sizeof(*cfg->buses));
    cfg->buses[cfg->nbuses++] = b;
}

static void parse_buses(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_for_each_named(c, v, "buses", parse_bus, base);
}

static const struct fw_cfg_key device_keys[] = {
    {"bus", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_device, bus)},
    {"unit_id", FW_CFG_INT, 1, FW_CFG_FIELD(struct fw_cfg_device, unit_id), 0, 255},
    {"profile", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_device, profile)},
    {"zone", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_device, zone)},
    {"interval_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_device, interval_ms), 100, 86400000,
     .def = "10000"},
    {"timeout_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_device, timeout_ms), 10, 60000},
    {"retries", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_device, retries), 0, 10, .def = "0"},
    {NULL},
};

static void parse_device(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    struct fw_config *cfg = arg;
    /* timeout_ms has no default in the table: left 0, the poller derives it from the bus and
     * the profile (docs/modbus.md). */
    struct fw_cfg_device dv = {0};
    fw_cfg_key_defaults(device_keys, &dv);
    dv.id = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, device_keys, &dv);
    cfg->devices = fw_xrealloc(cfg->devices, (cfg->ndevices + 1) * sizeof(*cfg->devices));
    cfg->devices[cfg->ndevices++] = dv;
}

static void parse_devices(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_for_each_named(c, v, "devices", parse_device, base);
}

static const struct fw_cfg_key store_keys[] = {
    {"path", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_store, path), 1, 1024,
     .def = "\"forestwatch.db\""},
    {"rate_per_route", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_store, rate_per_route), 1, 1000,
     .def = "10"},
    {"history_days", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_store, history_days), 1, 3650,
     .def = "90"},
    {"max_queued_per_route", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_store, max_queued_per_route),
     1, 1000000, .def = "10000"},
    {NULL},
};

static void parse_store(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_apply_keys(c, v, store_keys, &((struct fw_config *)base)->store);
}

static const char *const cap_status_names[] = {"Actual", "Exercise", "Test", NULL};

static const struct fw_cfg_key cap_keys[] = {
    {"utc_offset_min", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_cap, utc_offset_min), -720, 840,
     .def = "0"},
    {"status", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_cap, status), 0, 0, cap_status_names,
     .def = "\"Actual\""},
    {"sender", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_cap, sender), 1, 200},
    {"circle_radius_km", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fw_cfg_cap, circle_radius_km), 0.01,
     1000, .def = "1"},
    {"expires_after_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_cap, expires_after_ms), 600000,
     2592000000.0, .def = "86400000"},
    {NULL},
};

static void parse_cap(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_cap *cap = &((struct fw_config *)base)->cap;
    fw_cfg_apply_keys(c, v, cap_keys, cap);
    /* CAP 1.2 (3.3.2): no spaces, commas or restricted characters in a sender. */
    if (cap->sender && strpbrk(cap->sender, " ,<&")) {
        size_t mark = fw_cfg_path_key(c, "sender");
        fw_cfg_err(c, "must not contain spaces, commas, '<' or '&' (CAP 1.2)");
        fw_cfg_path_pop(c, mark);
    }
}

static const struct fw_cfg_key state_keys[] = {
    {"broker", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_state, broker)},
    {"topic_prefix", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_state, topic_prefix), 1, 900},
    {NULL},
};

static void parse_state(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_apply_keys(c, v, state_keys, &((struct fw_config *)base)->state);
}

static const struct fw_cfg_key engine_keys[] = {
    {"eval_interval_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_engine, eval_interval_ms), 1000,
     3600000, .def = "15000"},
    {"lookback_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_engine, lookback_ms), 1000, 604800000,
     .def = "3600000"},
    {"max_samples", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_engine, max_samples), 16, 1000000,
     .def = "4096"},
    {"max_window_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_engine, max_window_ms), 1000,
     (double)FW_EXPR_MAX_RANGE_MS, .def = "604800000"},
    {"max_series", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_engine, max_series), 1, 100000000},
    {NULL},
};

static void parse_engine(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_apply_keys(c, v, engine_keys, &((struct fw_config *)base)->engine);
}

static const struct fw_cfg_key record_keys[] = {
    {"dir", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_record, dir), 1, 1024},
    {"max_file_bytes", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_record, max_file_bytes), 4096,
     1099511627776.0, .def = "67108864"},
    {"max_files", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_record, max_files), 1, 10000,
     .def = "8"},
    {NULL},
};

static void parse_record(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_apply_keys(c, v, record_keys, &((struct fw_config *)base)->record);
}

/* ---- An active/standby group (docs/ha.md) -------------------------------------------------- */

static const struct fw_cfg_key ha_keys[] = {
    {"group", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_ha, group)},
    {"member", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_ha, member)},
    {"priority", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_ha, priority), 0, 1000, .def = "100"},
    {"heartbeat_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_ha, heartbeat_ms), 100, 60000,
     .def = "1000"},
    {"dead_after_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_ha, dead_after_ms), 300, 600000,
     .def = "3500"},
    {"settle_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_ha, settle_ms), 0, 60000, .def = "2000"},
    {"rescue_after_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_ha, rescue_after_ms), 1000,
     86400000, .def = "30000"},
    {"topic_prefix", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_ha, topic_prefix), 1, 256},
    {NULL},
};

static void parse_ha(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_apply_keys(c, v, ha_keys, &((struct fw_config *)base)->ha);
}

static const struct fw_cfg_key console_keys[] = {
    {"listen", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_console, listen), 2, 64,
     .def = "\"127.0.0.1\""},
    {"port", FW_CFG_INT, 1, FW_CFG_FIELD(struct fw_cfg_console, port), 1, 65535},
    {"client_timeout_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_console, client_timeout_ms),
     1000, 3600000, .def = "30000"},
    {"max_connections", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_console, max_connections), 1,
     1000, .def = "64"},
    {NULL},
};

/* The server takes a numeric address only: a name would need a resolver, which may block. */
static int numeric_address(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void parse_console(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fw_cfg_console *con = &((struct fw_config *)base)->console;
    con->enabled = true;
    fw_cfg_apply_keys(c, v, console_keys, con);
    if (con->listen && !numeric_address(con->listen)) {
        size_t mark = fw_cfg_path_key(c, "listen");
        fw_cfg_err(c,
                   "must be a numeric IPv4 or IPv6 address (127.0.0.1, ::1, 0.0.0.0), got \"%s\"",
                   con->listen);
        fw_cfg_path_pop(c, mark);
    }
}

/* ---- Declared metrics (docs/config.md, `metrics`) ------------------------------------------ */

/* A declaration is read into this, then checked and added to the config's metric set. */
struct metric_sec {
    char *unit, *unit_alias, *description, *description_zh;
    double min, max;
};

/* A metric name is an identifier of the rule language, lowercase as the built-in ones are. */
static int metric_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= FW_READING_MAX_ID || !islower((unsigned char)s[0]))
        return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* A unit is written in every uplink and message: one printable word, no quotes or escapes. */
static void check_unit(struct fw_cfg_ctx *c, const char *key, const char *unit)
{
    int ok = unit != NULL;
    for (const unsigned char *p = (const unsigned char *)unit; ok && *p; p++)
        ok = *p > ' ' && *p != 0x7f && *p != '"' && *p != '\\' && *p != '{' && *p != '}';
    if (ok)
        return;
    size_t mark = fw_cfg_path_key(c, key);
    fw_cfg_err(
        c,
        "must be a unit of 1..%d bytes without spaces, quotes, braces or control characters, "
        "got \"%.40s\"",
        FW_METRIC_MAX_UNIT, unit);
    fw_cfg_path_pop(c, mark);
}

static const struct fw_cfg_key metric_keys[] = {
    {"unit", FW_CFG_STR, 1, FW_CFG_FIELD(struct metric_sec, unit), 1, FW_METRIC_MAX_UNIT},
    {"unit_alias", FW_CFG_STR, 0, FW_CFG_FIELD(struct metric_sec, unit_alias), 1,
     FW_METRIC_MAX_UNIT},
    {"min", FW_CFG_NUM, 1, FW_CFG_FIELD(struct metric_sec, min), -1e12, 1e12},
    {"max", FW_CFG_NUM, 1, FW_CFG_FIELD(struct metric_sec, max), -1e12, 1e12},
    {"description", FW_CFG_STR, 0, FW_CFG_FIELD(struct metric_sec, description), 1,
     FW_METRIC_MAX_HELP},
    {"description_zh", FW_CFG_STR, 0, FW_CFG_FIELD(struct metric_sec, description_zh), 1,
     FW_METRIC_MAX_HELP},
    {NULL},
};

static void parse_metric(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    struct fw_config *cfg = arg;
    struct metric_sec d = {.min = NAN, .max = NAN};
    size_t before = c->errs->n + c->errs->dropped;
    const struct fw_metric *builtin = fw_metric_builtin(m->string);
    if (builtin) {
        fw_cfg_err(c, "\"%s\" is a built-in metric (%s, %g..%g): choose another name", m->string,
                   builtin->unit, builtin->min, builtin->max);
    } else if (fw_expr_reserved(m->string)) {
        fw_cfg_err(c, "\"%s\" is a word of the rule language: choose another name", m->string);
    }
    fw_cfg_apply_keys(c, m, metric_keys, &d);
    if (cJSON_IsObject(m) && !d.description && !d.description_zh)
        fw_cfg_err(c, "missing required key \"description\" (or \"description_zh\")");
    if (d.unit)
        check_unit(c, "unit", d.unit);
    if (d.unit_alias) {
        check_unit(c, "unit_alias", d.unit_alias);
        if (d.unit && strcmp(d.unit, d.unit_alias) == 0) {
            size_t mark = fw_cfg_path_key(c, "unit_alias");
            fw_cfg_err(c, "is the unit itself, \"%s\"", d.unit);
            fw_cfg_path_pop(c, mark);
        }
    }
    /* "bool" and "count" mean what they mean for the built-in metrics: 0 or 1, and a tally. */
    int is_bool = d.unit && strcmp(d.unit, "bool") == 0;
    int is_count = d.unit && strcmp(d.unit, "count") == 0;
    if (isfinite(d.min) && isfinite(d.max)) {
        size_t mark = c->pathlen;
        if (d.max <= d.min) {
            fw_cfg_path_key(c, "max");
            fw_cfg_err(c, "must be more than min (%g), got %g", d.min, d.max);
        } else if (is_bool && (d.min != 0 || d.max != 1)) {
            fw_cfg_path_key(c, d.min != 0 ? "min" : "max");
            fw_cfg_err(c, "a \"bool\" metric is 0 or 1: its range must be 0..1, got %g..%g", d.min,
                       d.max);
        } else if (is_count && d.min < 0) {
            fw_cfg_path_key(c, "min");
            fw_cfg_err(c, "a \"count\" metric cannot be negative, got %g", d.min);
        }
        fw_cfg_path_pop(c, mark);
    }
    if (c->errs->n + c->errs->dropped == before) {
        const struct fw_metric decl = {
            .name = m->string,
            .unit = d.unit,
            .alias = d.unit_alias,
            .min = d.min,
            .max = d.max,
            .help = d.description,
            .scope = FW_METRIC_STATION,
            .help_zh = d.description_zh,
        };
        const struct fw_metric *out;
        int rc = fw_metric_set_add(cfg->metrics, &decl, &out);
        if (rc == -ENOSPC)
            fw_cfg_err(c, "more than %d metrics declared", FW_METRIC_MAX_DECLARED);
        else if (rc == -EOVERFLOW)
            fw_cfg_err(c,
                       "the gateway took in %d distinct metric declarations since it started: "
                       "restart it to declare more",
                       FW_METRIC_MAX_VERSIONS);
        else
            FW_ASSERT(rc == 0); /* names were checked above, and duplicates by the caller */
    }
    free(d.unit);
    free(d.unit_alias);
    free(d.description);
    free(d.description_zh);
}

/*
 * Read before every other key, so that rules, nodes and device profiles may use the metrics
 * wherever the section stands in the file.
 */
static void parse_metrics_first(struct fw_cfg_ctx *c, const cJSON *root, struct fw_config *cfg)
{
    const cJSON *v =
        cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "metrics") : NULL;
    char bad[160];
    if (!v)
        return;
    snprintf(bad, sizeof(bad),
             "invalid metric name: use a lowercase letter, then lowercase letters, digits or "
             "'_', at most %d bytes (e.g. pm25_ugm3)",
             FW_READING_MAX_ID - 1);
    size_t mark = fw_cfg_path_key(c, "metrics");
    fw_cfg_for_each_named_by(c, v, "metrics", metric_name_ok, bad, parse_metric, cfg);
    fw_cfg_path_pop(c, mark);
}

/* In the key table for its place in the docs' key list; parse_metrics_first did the work. */
static void parse_metrics_done(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    (void)c;
    (void)v;
    (void)base;
}

/* rules_dir is read into the config before the rule files, so it is a plain string key. */
static const struct fw_cfg_key top_keys[] = {
    {"gateway", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_gateway},
    {"limits", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_limits},
    {"brokers", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_brokers},
    {"uplinks", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_uplinks},
    {"zones", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_zones},
    {"nodes", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_nodes},
    {"routes", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_routes},
    {"rules", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_rules},
    {"rules_dir", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_config, rules_dir), 1, 1024},
    {"engine", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_engine},
    {"record", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_record},
    {"ha", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_ha},
    {"escalation", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_escalations},
    {"acks", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_acks},
    {"state", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_state},
    {"cap", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_cap},
    {"store", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_store},
    {"buses", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_buses},
    {"devices", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_devices},
    {"profiles_dir", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_config, profiles_dir), 1, 1024},
    {"cn_rating_tables", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_config, cn_tables_file), 1, 1024},
    {"unknown_devices_topic", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_config, unknown_devices_topic),
     1, 1024},
    {"metrics", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_metrics_done},
    {"console", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_console},
    {NULL},
};

static const struct fw_cfg_key rulefile_keys[] = {
    {"rules", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_rules},
    {NULL},
};

const struct fw_config_key_table fw_config__key_tables[] = {
    {"", NULL, top_keys},
    {"gateway", NULL, gateway_keys},
    {"limits", NULL, limits_keys},
    {"brokers.<name>", NULL, broker_keys},
    {"brokers.<name>", "nodes", broker_node_keys},
    {"brokers.<name>.tls", NULL, broker_tls_keys},
    {"uplinks[]", NULL, uplink_keys},
    {"zones.<name>", NULL, zone_keys},
    {"zones.<name>", "location", point_keys},
    {"zones.<name>", "forest_chief", contact_keys},
    {"zones.<name>", "duty", contact_keys},
    {"zones.<name>.fire", NULL, fire_keys},
    {"zones.<name>.fire", "levels", fire_levels_keys},
    {"zones.<name>.cn", NULL, cn_keys},
    {"zones.<name>.cn", "phenology", cn_season_keys},
    {"zones.<name>.pests", NULL, zone_pests_keys},
    {"zones.<name>.pests", "disease", disease_keys},
    {"zones.<name>.pests.pests[]", NULL, pest_keys},
    {"zones.<name>.pests.pests[]", "stages", pest_stage_keys},
    {"nodes.<name>", NULL, node_keys},
    {"routes.<name>", NULL, route_keys},
    {"rules[]", NULL, rule_keys},
    {"rules[]", "templates", templates_keys},
    {"rules[]", "templates", template_keys},
    {"escalation[]", NULL, escalation_keys},
    {"buses.<name>", NULL, bus_keys},
    {"devices.<name>", NULL, device_keys},
    {"store", NULL, store_keys},
    {"cap", NULL, cap_keys},
    {"acks", NULL, acks_keys},
    {"state", NULL, state_keys},
    {"engine", NULL, engine_keys},
    {"metrics.<name>", NULL, metric_keys},
    {"record", NULL, record_keys},
    {"ha", NULL, ha_keys},
    {"console", NULL, console_keys},
    {NULL},
};

void fw_config__defaults(struct fw_config *cfg)
{
    fw_cfg_key_defaults(limits_keys, &cfg->limits);
    fw_cfg_key_defaults(store_keys, &cfg->store);
    fw_cfg_key_defaults(cap_keys, &cfg->cap);
    fw_cfg_key_defaults(engine_keys, &cfg->engine);
    fw_cfg_key_defaults(record_keys, &cfg->record);
    fw_cfg_key_defaults(ha_keys, &cfg->ha);
    fw_cfg_key_defaults(console_keys, &cfg->console);
}

void fw_config__parse_main(struct fw_cfg_ctx *c, const cJSON *root, struct fw_config *cfg)
{
    parse_metrics_first(c, root, cfg);
    fw_cfg_apply_keys(c, root, top_keys, cfg);
}

void fw_config__parse_rule_file(struct fw_cfg_ctx *c, const cJSON *root, struct fw_config *cfg)
{
    fw_cfg_apply_keys(c, root, rulefile_keys, cfg);
}

/* The names of enum values, from the tables the config is written with. */
const char *fw_cmp_op_str(enum fw_cmp_op op)
{
    return op_names[op];
}

const char *fw_severity_str(enum fw_severity s)
{
    return severity_names[s];
}

const char *fw_category_str(enum fw_category c)
{
    return category_names[c];
}

const char *fw_urgency_str(enum fw_urgency u)
{
    return urgency_names[u];
}

const char *fw_certainty_str(enum fw_certainty c)
{
    return certainty_names[c];
}
