/* SPDX-License-Identifier: MIT */
/*
 * Config loader: reads the main JSON file and the rule files of rules.d/, validates them in four
 * stages and builds a struct fw_config.
 *
 *   1. parse: comments are blanked out (keeping every newline, so positions stay true), then
 *      cJSON parses; a syntax error is reported as file:line:col;
 *   2. key tables: each JSON object is checked against a static table of its keys (type, bounds,
 *      required), the way redis checks its directives; unknown keys are errors, with a
 *      "did you mean" hint for typos;
 *   3. cross-field checks: references between sections (a node's zone, a rule's routes), unique
 *      names, ordered bounds;
 *   4. the caller applies the result; nothing here touches live state.
 *
 * Every error names the file and the JSON path, and all of them are collected before returning.
 */
#include "forestwatch/config.h"

#include "forestwatch/expr.h"
#include "forestwatch/jsontext.h"
#include "forestwatch/models.h"
#include "forestwatch/pests.h"
#include "forestwatch/profile.h"
#include "forestwatch/log.h"
#include "forestwatch/reading.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* Error collection and JSON paths                                                             */
/* ------------------------------------------------------------------------------------------ */

/* The texts of the files one load read, kept to its end: errors found after a file was parsed
 * (the cross-field checks) are given the lines of their paths too. */
struct loaded_file {
    char *shown, *text;
};
struct fw_cfg_files {
    struct loaded_file *v;
    size_t n;
};

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

static void parse_gateway(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"id", FW_CFG_ID, 1, FW_CFG_FIELD(struct gateway_sec, id)},
        {"name", FW_CFG_STR, 0, FW_CFG_FIELD(struct gateway_sec, name), 0, 200},
        {"name_en", FW_CFG_STR, 0, FW_CFG_FIELD(struct gateway_sec, name_en), 1, 200},
        {"status_broker", FW_CFG_ID, 1, FW_CFG_FIELD(struct gateway_sec, status_broker)},
        {"status_topic", FW_CFG_STR, 0, FW_CFG_FIELD(struct gateway_sec, status_topic), 1, 256},
        {"log_level", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct gateway_sec, log_level), 0, 0,
         log_level_names},
        {"watch_config", FW_CFG_BOOL, 0, FW_CFG_FIELD(struct gateway_sec, watch_config)},
        {NULL},
    };
    struct fw_config *cfg = base;
    struct gateway_sec g = {.log_level = 3};
    fw_cfg_apply_keys(c, v, keys, &g);
    cfg->gateway_id = g.id;
    cfg->gateway_name = g.name;
    cfg->gateway_name_en = g.name_en;
    cfg->status_broker = g.status_broker;
    cfg->status_topic = g.status_topic;
    cfg->log_level = log_level_values[g.log_level];
    cfg->watch_config = g.watch_config;
}

static void parse_limits(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"max_payload_bytes", FW_CFG_SIZE, 0, FW_CFG_FIELD(struct fw_cfg_limits, max_payload_bytes),
         64, 1048576},
        {"max_readings", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_limits, max_readings), 1, 1024},
        {"max_future_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_limits, max_future_ms), 0,
         86400000},
        {"max_age_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_limits, max_age_ms), 1000,
         31622400000.0},
        {"node_messages_per_s", FW_CFG_NUM, 0,
         FW_CFG_FIELD(struct fw_cfg_limits, node_messages_per_s), 0.001, 100000},
        {"node_burst", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fw_cfg_limits, node_burst), 1, 1000000},
        {NULL},
    };
    fw_cfg_apply_keys(c, v, keys, &((struct fw_config *)base)->limits);
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

static void parse_broker_tls(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"ca_file", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_tls, ca_file), 1, 1024},
        {"cert_file", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_tls, cert_file), 1, 1024},
        {"key_file", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_tls, key_file), 1, 1024},
        {"server_name", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_tls, server_name), 1, 253},
        {NULL},
    };
    struct fw_cfg_tls *tls = &((struct fw_cfg_broker *)base)->tls;
    fw_cfg_apply_keys(c, v, keys, tls);
    if (!tls->cert_file != !tls->key_file)
        fw_cfg_err(
            c, "\"cert_file\" and \"key_file\" go together: give both (a client certificate) or "
               "neither");
}

/* One node of a broker cluster: {"host": ..., "port": ...}. */
static void parse_broker_node(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"host", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_broker_node, host), 1, 253},
        {"port", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_broker_node, port), 1, 65535},
        {NULL},
    };
    struct fw_cfg_broker *b = base;
    struct fw_cfg_broker_node *n = &b->nodes[b->nnodes++];
    n->port = 1883;
    fw_cfg_apply_keys(c, v, keys, n);
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

static void parse_broker(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    static const struct fw_cfg_key keys[] = {
        {"host", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_broker, host), 1, 253},
        {"nodes", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_broker_nodes},
        {"port", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_broker, port), 1, 65535},
        {"client_id", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_broker, client_id), 1, 128},
        {"username", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_broker, username), 1, 256},
        {"password", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_broker_password},
        {"password_file", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_broker, password_file), 1,
         1024},
        {"password_env", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_broker_password_env},
        {"tls", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_broker_tls},
        {"keepalive_s", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_broker, keepalive_s), 5, 3600},
        {"reconnect_min_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_broker, reconnect_min_ms), 50,
         600000},
        {"reconnect_max_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_broker, reconnect_max_ms), 50,
         3600000},
        {"clean_session", FW_CFG_BOOL, 0, FW_CFG_FIELD(struct fw_cfg_broker, clean_session)},
        {NULL},
    };
    struct fw_config *cfg = arg;
    struct fw_cfg_broker b = {
        .port = 1883,
        .keepalive_s = 30,
        .reconnect_min_ms = 500,
        .reconnect_max_ms = 30000,
    };
    b.name = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, keys, &b);
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

/* MQTT topic checks (MQTT 3.1.1 section 4.7): a name has no wildcards; a filter uses them whole. */
static int topic_ok(const char *t, int filter)
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

static void parse_uplinks(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"broker", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_uplink, broker)},
        {"topic", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_uplink, topic), 1, 1024},
        {"qos", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_uplink, qos), 0, 1},
        {"format", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_uplink, format), 0, 0,
         uplink_format_names},
        {NULL},
    };
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
        struct fw_cfg_uplink u = {.qos = 1, .format = FW_UPLINK_NATIVE};
        fw_cfg_apply_keys(c, e, keys, &u);
        if (u.topic && !topic_ok(u.topic, 1)) {
            size_t m2 = fw_cfg_path_key(c, "topic");
            fw_cfg_err(c, "invalid MQTT topic filter \"%s\"", u.topic);
            fw_cfg_path_pop(c, m2);
        }
        cfg->uplinks = fw_xrealloc(cfg->uplinks, (cfg->nuplinks + 1) * sizeof(*cfg->uplinks));
        cfg->uplinks[cfg->nuplinks++] = u;
        fw_cfg_path_pop(c, mark);
    }
}

static void parse_point(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"lat", FW_CFG_NUM, 1, FW_CFG_FIELD(struct fw_cfg_point, lat), -90, 90},
        {"lon", FW_CFG_NUM, 1, FW_CFG_FIELD(struct fw_cfg_point, lon), -180, 180},
        {NULL},
    };
    struct fw_cfg_zone *z = base;
    fw_cfg_apply_keys(c, v, keys, &z->location);
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

static void parse_contact_at(struct fw_cfg_ctx *c, const cJSON *v, struct fw_cfg_contact *out)
{
    static const struct fw_cfg_key keys[] = {
        {"name", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_contact, name), 1, 200},
        {"name_en", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_contact, name_en), 1, 200},
        {"phone", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_contact, phone), 1, 64},
        {NULL},
    };
    fw_cfg_apply_keys(c, v, keys, out);
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

static void parse_fire_stations(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct fire_sec *f = base;
    fw_cfg_free_string_list(f->stations, f->nstations);
    f->stations = fw_cfg_string_list(c, v, &f->nstations, 1);
    if (cJSON_IsArray(v) &&
        (cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > FW_MODELS_MAX_STATIONS))
        fw_cfg_err(c, "must name 1..%d stations, got %d", FW_MODELS_MAX_STATIONS,
                   cJSON_GetArraySize(v));
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

static void parse_fire_levels(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"index", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_levels_index},
        {"min", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_levels_min},
        {"provisional", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_levels_provisional},
        {NULL},
    };
    struct fire_sec *f = base;
    /* An operator's table is not the provisional default unless it says so. */
    f->levels.provisional = 0;
    fw_cfg_apply_keys(c, v, keys, &f->levels);
}

static void parse_zone_fire(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"stations", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_fire_stations},
        {"fallback", FW_CFG_ID, 0, FW_CFG_FIELD(struct fire_sec, fallback)},
        {"utc_offset_min", FW_CFG_INT, 1, FW_CFG_FIELD(struct fire_sec, utc_offset_min),
         FW_MODELS_OFFSET_MIN, FW_MODELS_OFFSET_MAX},
        {"lat", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fire_sec, lat), -90, 90},
        {"lat_adjust", FW_CFG_BOOL, 0, FW_CFG_FIELD(struct fire_sec, lat_adjust)},
        {"ffmc_coef", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fire_sec, ffmc_coef), 0, 0,
         ffmc_coef_names},
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
    fw_cfg_apply_keys(c, v, keys, &f);
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
            /* The model names the field first ("levels.min: ..."): make it part of the path. */
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
        } else {
            free(z->fire);
            z->fire = fw_xmalloc(sizeof(*z->fire));
            *z->fire = mz;
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

static void parse_pest_stage(struct fw_cfg_ctx *c, const cJSON *v, struct fw_pests_stage *st)
{
    /* Read into strings first: the stage's fields are fixed arrays. */
    struct stage_sec {
        char *name, *action;
        double dd;
    } sec = {.dd = NAN};
    static const struct fw_cfg_key keys[] = {
        {"name", FW_CFG_STR, 1, FW_CFG_FIELD(struct stage_sec, name), 1, FW_READING_MAX_ID - 1},
        {"dd", FW_CFG_NUMN, 1, FW_CFG_FIELD(struct stage_sec, dd), 0, 1e5},
        {"action", FW_CFG_STR, 0, FW_CFG_FIELD(struct stage_sec, action), 0,
         FW_PESTS_MAX_ACTION - 1},
        {NULL},
    };
    fw_cfg_apply_keys(c, v, keys, &sec);
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

static void parse_pest(struct fw_cfg_ctx *c, const cJSON *v, struct fw_pests_pest *p)
{
    static const struct fw_cfg_key keys[] = {
        {"id", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_later},
        {"name", FW_CFG_TEXT, 0, FW_CFG_FIELD(struct fw_pests_pest, name), 1,
         FW_READING_MAX_ID - 1},
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
    fw_cfg_apply_keys(c, v, keys, p);
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

static void parse_pests_disease(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"enabled", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_disease_enabled},
        {"rh_min", FW_CFG_NUMN, 0, FW_CFG_FIELD(struct fw_pests_disease, rh_min), 0, 100},
        {"temp_lo", FW_CFG_NUMN, 0, FW_CFG_FIELD(struct fw_pests_disease, temp_lo), -90, 70},
        {"temp_hi", FW_CFG_NUMN, 0, FW_CFG_FIELD(struct fw_pests_disease, temp_hi), -90, 70},
        {NULL},
    };
    struct fw_pests_zone *z = base;
    z->disease.enabled = 1; /* a "disease" object turns it on unless it says otherwise */
    fw_cfg_apply_keys(c, v, keys, &z->disease);
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

static void parse_zone_pests(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"stations", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_pests_stations},
        {"fallback", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pests_fallback},
        {"utc_offset_min", FW_CFG_INT, 1, FW_CFG_FIELD(struct fw_pests_zone, utc_offset_min),
         FW_MODELS_OFFSET_MIN, FW_MODELS_OFFSET_MAX},
        {"min_hours", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_pests_zone, min_hours), 1, 24},
        {"close_delay_min", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_pests_zone, close_delay_min), 0,
         360},
        {"pests", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pests_list},
        {"disease", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_pests_disease},
        {NULL},
    };
    struct fw_cfg_zone *z = base;
    struct fw_pests_zone *pz = fw_xmalloc(sizeof(*pz));
    fw_pests_zone_init(pz, z->id);
    size_t before = c->errs->n + c->errs->dropped;
    fw_cfg_apply_keys(c, v, keys, pz);
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

static void parse_zone(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    static const struct fw_cfg_key keys[] = {
        {"name", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_zone, name), 1, 200},
        {"name_en", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_zone, name_en), 1, 200},
        {"location", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_point},
        {"polygon", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_polygon},
        {"forest_chief", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_chief},
        {"duty", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_duty},
        {"fire", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_later},
        {"pests", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_zone_pests},
        {NULL},
    };
    struct fw_config *cfg = arg;
    struct fw_cfg_zone z = {0};
    z.id = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, keys, &z);
    /* After the other keys: "fire" takes its default latitude from "location". */
    const cJSON *fire = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, "fire") : NULL;
    if (fire) {
        size_t mark = fw_cfg_path_key(c, "fire");
        parse_zone_fire(c, fire, &z);
        fw_cfg_path_pop(c, mark);
    }
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

static void parse_node(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    static const struct fw_cfg_key keys[] = {
        {"zone", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_node, zone)},
        {"dev_eui", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_node, dev_eui), 16, 16},
        {"lns_name", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_node, lns_name), 1, 127},
        {"codec", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_node, lora_codec), 0, 0,
         lora_codec_names},
        {"lpp_map", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_node_lpp_map},
        {"kind", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_node, kind), 1, 64},
        {"description", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_node, description), 0, 400},
        {NULL},
    };
    struct fw_config *cfg = arg;
    struct fw_cfg_node n = {0};
    n.id = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, keys, &n);
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

static void parse_route(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    static const struct fw_cfg_key keys[] = {
        {"broker", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_route, broker)},
        {"topic", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_route, topic), 1, 1024},
        {"qos", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_route, qos), 1, 1},
        {"format", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_route, format), 0, 0, format_names},
        {"group_window_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_route, group_window_ms), 0,
         600000},
        {NULL},
    };
    struct fw_config *cfg = arg;
    /* Every message a bureau receives is a CAP 1.2 alert unless the route asks otherwise. */
    struct fw_cfg_route r = {.qos = 1, .format = FW_FORMAT_CAP_XML};
    r.name = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, keys, &r);
    if (r.topic && !topic_ok(r.topic, 0)) {
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
    "rule",
    "zone",
    "zone_name",
    "zone_name_en",
    "station",
    "node",
    "value",
    "threshold",
    "unit",
    "metric",
    "level",
    "forest_chief",
    "forest_chief_phone",
    "duty",
    "duty_phone",
    "severity",
    "time",
    "pest",
    "pest_stage",
    "pest_action",
    NULL,
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

static void parse_template_at(struct fw_cfg_ctx *c, const cJSON *v, struct fw_cfg_template *t)
{
    static const struct fw_cfg_key keys[] = {
        {"headline", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_template, headline), 1, 500},
        {"description", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_template, description), 1, 2000},
        {NULL},
    };
    fw_cfg_apply_keys(c, v, keys, t);
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

static void parse_templates(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"zh-CN", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_tmpl_zh},
        {"en-US", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_tmpl_en},
        {NULL},
    };
    fw_cfg_apply_keys(c, v, keys, base);
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

/* Rules come from the main file and from each rules.d file. */
static void parse_rules(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
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
        {"severity", FW_CFG_ENUM, 1, FW_CFG_FIELD(struct fw_cfg_rule, severity), 0, 0,
         severity_names},
        {"urgency", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_rule, urgency), 0, 0, urgency_names},
        {"certainty", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_rule, certainty), 0, 0,
         certainty_names},
        {"category", FW_CFG_ENUM, 1, FW_CFG_FIELD(struct fw_cfg_rule, category), 0, 0,
         category_names},
        {"routes", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_rule_routes},
        {"labels", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_labels},
        {"templates", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_templates},
        {"repeat_every", FW_CFG_DUR, 0, FW_CFG_FIELD(struct fw_cfg_rule, repeat_every_ms), 60000,
         7 * 86400000.0},
        {"update_delta", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fw_cfg_rule, update_delta), 0, 1e12},
        {"inhibits", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_rule_inhibits},
        {NULL},
    };
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
        fw_cfg_apply_keys(c, e, keys, &r);
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

static void parse_escalations(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"min_severity", FW_CFG_ENUM, 1, FW_CFG_FIELD(struct fw_cfg_escalation, min_severity), 0, 0,
         severity_names},
        {"after", FW_CFG_DUR, 1, FW_CFG_FIELD(struct fw_cfg_escalation, after_ms), 60000,
         7 * 86400000.0},
        {"routes", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_escalation_routes},
        {NULL},
    };
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
        fw_cfg_apply_keys(c, e, keys, &x);
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

static void parse_acks(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"broker", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_acks, broker)},
        {"topic", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_acks, topic), 1, 1024},
        {NULL},
    };
    fw_cfg_apply_keys(c, v, keys, &((struct fw_config *)base)->acks);
}

static const char *const bus_kind_names[] = {"tcp", "rtu", NULL};
static const char *const parity_names[] = {"N", "E", "O", NULL};

static void parse_bus(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    static const struct fw_cfg_key keys[] = {
        {"kind", FW_CFG_ENUM, 1, FW_CFG_FIELD(struct fw_cfg_bus, kind), 0, 0, bus_kind_names},
        {"host", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_bus, host), 1, 253},
        {"port", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_bus, port), 1, 65535},
        {"device", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_bus, device), 1, 256},
        {"baud", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_bus, baud), 1200, 921600},
        {"parity", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_bus, parity), 0, 0, parity_names},
        {"data_bits", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_bus, data_bits), 7, 8},
        {"stop_bits", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_bus, stop_bits), 1, 2},
        {"rs485", FW_CFG_BOOL, 0, FW_CFG_FIELD(struct fw_cfg_bus, rs485)},
        {"pause_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_bus, pause_ms), 0, 10000},
        {NULL},
    };
    struct fw_config *cfg = arg;
    struct fw_cfg_bus b = {.port = 502, .baud = 9600, .data_bits = 8, .stop_bits = 1};
    b.name = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, keys, &b);
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

static void parse_device(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    static const struct fw_cfg_key keys[] = {
        {"bus", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_device, bus)},
        {"unit_id", FW_CFG_INT, 1, FW_CFG_FIELD(struct fw_cfg_device, unit_id), 0, 255},
        {"profile", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_device, profile)},
        {"zone", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_device, zone)},
        {"interval_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_device, interval_ms), 100,
         86400000},
        {"timeout_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_device, timeout_ms), 10, 60000},
        {"retries", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_device, retries), 0, 10},
        {NULL},
    };
    struct fw_config *cfg = arg;
    /* timeout_ms 0: the poller derives it from the bus and the profile (docs/modbus.md). */
    struct fw_cfg_device dv = {.interval_ms = 10000, .timeout_ms = 0, .retries = 0};
    dv.id = fw_xstrdup(m->string);
    fw_cfg_apply_keys(c, m, keys, &dv);
    cfg->devices = fw_xrealloc(cfg->devices, (cfg->ndevices + 1) * sizeof(*cfg->devices));
    cfg->devices[cfg->ndevices++] = dv;
}

static void parse_devices(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_for_each_named(c, v, "devices", parse_device, base);
}

static void parse_store(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"path", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_store, path), 1, 1024},
        {"rate_per_route", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_store, rate_per_route), 1,
         1000},
        {"history_days", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_store, history_days), 1, 3650},
        {"max_queued_per_route", FW_CFG_INT, 0,
         FW_CFG_FIELD(struct fw_cfg_store, max_queued_per_route), 1, 1000000},
        {NULL},
    };
    fw_cfg_apply_keys(c, v, keys, &((struct fw_config *)base)->store);
}

static const char *const cap_status_names[] = {"Actual", "Exercise", "Test", NULL};

static void parse_cap(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"utc_offset_min", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_cap, utc_offset_min), -720,
         840},
        {"status", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct fw_cfg_cap, status), 0, 0, cap_status_names},
        {"sender", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_cfg_cap, sender), 1, 200},
        {"circle_radius_km", FW_CFG_NUM, 0, FW_CFG_FIELD(struct fw_cfg_cap, circle_radius_km), 0.01,
         1000},
        {"expires_after_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_cap, expires_after_ms),
         600000, 2592000000.0},
        {NULL},
    };
    struct fw_cfg_cap *cap = &((struct fw_config *)base)->cap;
    fw_cfg_apply_keys(c, v, keys, cap);
    /* CAP 1.2 (3.3.2): no spaces, commas or restricted characters in a sender. */
    if (cap->sender && strpbrk(cap->sender, " ,<&")) {
        size_t mark = fw_cfg_path_key(c, "sender");
        fw_cfg_err(c, "must not contain spaces, commas, '<' or '&' (CAP 1.2)");
        fw_cfg_path_pop(c, mark);
    }
}

static void parse_state(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"broker", FW_CFG_ID, 1, FW_CFG_FIELD(struct fw_cfg_state, broker)},
        {"topic_prefix", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_state, topic_prefix), 1, 900},
        {NULL},
    };
    fw_cfg_apply_keys(c, v, keys, &((struct fw_config *)base)->state);
}

static void parse_engine(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"eval_interval_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_engine, eval_interval_ms),
         1000, 3600000},
        {"lookback_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_engine, lookback_ms), 1000,
         604800000},
        {"max_samples", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_engine, max_samples), 16,
         1000000},
        {"max_window_ms", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_engine, max_window_ms), 1000,
         (double)FW_EXPR_MAX_RANGE_MS},
        {"max_series", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_engine, max_series), 1, 100000000},
        {NULL},
    };
    fw_cfg_apply_keys(c, v, keys, &((struct fw_config *)base)->engine);
}

static void parse_record(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    static const struct fw_cfg_key keys[] = {
        {"dir", FW_CFG_STR, 1, FW_CFG_FIELD(struct fw_cfg_record, dir), 1, 1024},
        {"max_file_bytes", FW_CFG_MS, 0, FW_CFG_FIELD(struct fw_cfg_record, max_file_bytes), 4096,
         1099511627776.0},
        {"max_files", FW_CFG_INT, 0, FW_CFG_FIELD(struct fw_cfg_record, max_files), 1, 10000},
        {NULL},
    };
    fw_cfg_apply_keys(c, v, keys, &((struct fw_config *)base)->record);
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

static void parse_metric(struct fw_cfg_ctx *c, const cJSON *m, void *arg)
{
    static const struct fw_cfg_key keys[] = {
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
    fw_cfg_apply_keys(c, m, keys, &d);
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
    {"escalation", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_escalations},
    {"acks", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_acks},
    {"state", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_state},
    {"cap", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_cap},
    {"store", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_store},
    {"buses", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_buses},
    {"devices", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_devices},
    {"profiles_dir", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_config, profiles_dir), 1, 1024},
    {"unknown_devices_topic", FW_CFG_STR, 0, FW_CFG_FIELD(struct fw_config, unknown_devices_topic),
     1, 1024},
    {"metrics", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_metrics_done},
    {NULL},
};

static const struct fw_cfg_key rulefile_keys[] = {
    {"rules", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, parse_rules},
    {NULL},
};

/* ------------------------------------------------------------------------------------------ */
/* Reading and parsing files                                                                   */
/* ------------------------------------------------------------------------------------------ */

/*
 * Replace // and block comments with spaces, keeping newlines so that line:col of a later syntax
 * error still points into the file as written. Returns 0, or the offset + 1 of an unterminated
 * block comment.
 */
static size_t blank_comments(char *s, size_t len)
{
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        if (in_str) {
            if (s[i] == '\\' && i + 1 < len)
                i++;
            else if (s[i] == '"')
                in_str = 0;
        } else if (s[i] == '"') {
            in_str = 1;
        } else if (s[i] == '/' && i + 1 < len && s[i + 1] == '/') {
            for (; i < len && s[i] != '\n'; i++)
                s[i] = ' ';
        } else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
            size_t start = i;
            s[i] = s[i + 1] = ' ';
            for (i += 2; i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/'); i++)
                if (s[i] != '\n')
                    s[i] = ' ';
            if (i >= len)
                return start + 1;
            s[i] = s[i + 1] = ' ';
            i++;
        }
    }
    return 0;
}

char *fw_cfg_read_text(const char *path, const char *shown, size_t max_bytes, size_t *len_out,
                       struct fw_cfg_errors *errs, int *rc)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    struct stat st;
    if (!f) {
        *rc = errno == ENOENT ? -ENOENT : -EIO;
        fw_cfg_errors_add(errs, fw_xasprintf("%s: cannot open: %s", shown, strerror(errno)));
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        *rc = -EIO;
        fw_cfg_errors_add(errs, fw_xasprintf("%s: not a regular file", shown));
        goto fail;
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        *rc = -E2BIG;
        fw_cfg_errors_add(errs, fw_xasprintf("%s: file is %lld bytes, more than the limit of %zu",
                                             shown, (long long)st.st_size, max_bytes));
        goto fail;
    }
    size_t len = (size_t)st.st_size;
    text = fw_xmalloc(len + 1);
    if (fread(text, 1, len, f) != len) {
        *rc = -EIO;
        fw_cfg_errors_add(errs, fw_xasprintf("%s: read error", shown));
        goto fail;
    }
    text[len] = '\0';
    if (memchr(text, '\0', len)) {
        *rc = -EINVAL;
        fw_cfg_errors_add(errs, fw_xasprintf("%s: contains a NUL byte: not a text file", shown));
        goto fail;
    }
    size_t open_comment = blank_comments(text, len);
    if (open_comment) {
        int line, col;
        fw_jsontext_line_col(text, open_comment - 1, &line, &col);
        *rc = -EINVAL;
        fw_cfg_errors_add(errs,
                          fw_xasprintf("%s:%d:%d: unterminated /* comment", shown, line, col));
        goto fail;
    }
    fclose(f);
    *len_out = len;
    return text;
fail:
    free(text);
    fclose(f);
    return NULL;
}

cJSON *fw_cfg_parse(const char *text, size_t len, const char *shown, struct fw_cfg_errors *errs)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1); /* + the NUL it requires */
    if (root)
        return root;
    /*
     * cJSON tells where it stopped, not why. The text's own reader, which follows cJSON step by
     * step, finds the same place and says what was expected there. Should it find nothing (it
     * is not cJSON), cJSON's place still stands.
     */
    char why[256];
    long at = fw_jsontext_syntax(text, len, why, sizeof(why));
    if (at < 0) {
        size_t off = end ? (size_t)(end - text) : 0;
        at = (long)(off > len ? len : off);
        snprintf(why, sizeof(why), "not valid JSON");
    }
    int line, col;
    fw_jsontext_line_col(text, (size_t)at, &line, &col);
    fw_cfg_errors_add(errs, fw_xasprintf("%s:%d:%d: invalid JSON: %s", shown, line, col, why));
    return NULL;
}

/*
 * A message about a duplicate is about a later member of that name: the first is the one that
 * was read. So the k-th such message of one path names the k-th later member.
 */
static int is_duplicate_msg(const char *after_path)
{
    return strncmp(after_path, ": duplicate ", 12) == 0;
}

void fw_cfg_errors_locate(struct fw_cfg_errors *errs, size_t from, const char *shown,
                          const char *text)
{
    size_t sl = strlen(shown);
    char **located = fw_xcalloc(errs->n + 1, sizeof(*located));
    for (size_t i = from; i < errs->n; i++) {
        const char *m = errs->msgs[i], *path = m + sl + 2, *end;
        if (strncmp(m, shown, sl) != 0 || strncmp(m + sl, ": $", 3) != 0)
            continue;
        int line = fw_jsontext_path_line(text, path, 0, &end);
        if (strncmp(end, ": ", 2) != 0)
            continue; /* not a path after all */
        if (is_duplicate_msg(end)) {
            unsigned dup = 1;
            size_t plen = (size_t)(end - m);
            for (size_t j = from; j < i; j++)
                dup +=
                    strncmp(errs->msgs[j], m, plen) == 0 && is_duplicate_msg(errs->msgs[j] + plen);
            line = fw_jsontext_path_line(text, path, dup, &end);
        }
        if (line > 0)
            located[i] = fw_xasprintf("%s:%d: %s", shown, line, path);
    }
    for (size_t i = from; i < errs->n; i++)
        if (located[i]) {
            free(errs->msgs[i]);
            errs->msgs[i] = located[i];
        }
    free(located);
}

/* Read and parse one file; NULL after reporting the reason as an error of `c`. The text is kept
 * in c->files, for the lines of the errors found later. */
static cJSON *read_json(struct fw_cfg_ctx *c, const char *path, int *rc)
{
    size_t len;
    char *text = fw_cfg_read_text(path, c->file, FW_CONFIG_MAX_FILE_BYTES, &len, c->errs, rc);
    if (!text)
        return NULL;
    cJSON *root = fw_cfg_parse(text, len, c->file, c->errs);
    if (!root) {
        *rc = -EINVAL;
        free(text);
        return NULL;
    }
    struct fw_cfg_files *f = c->files;
    f->v = fw_xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
    f->v[f->n++] = (struct loaded_file){fw_xstrdup(c->file), text};
    return root;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_rule_files(struct fw_cfg_ctx *c, struct fw_config *cfg, const char *shown_dir,
                            int explicit_dir)
{
    DIR *d = opendir(cfg->rules_dir);
    if (!d) {
        /* The folder is optional unless the config names one. */
        if (explicit_dir || errno != ENOENT)
            fw_cfg_errors_add(c->errs,
                              fw_xasprintf("%s: $.rules_dir: cannot open folder \"%s\": %s",
                                           cfg->path, shown_dir, strerror(errno)));
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        if (n >= 1000) {
            fw_cfg_errors_add(c->errs, fw_xasprintf("%s: more than 1000 rule files", shown_dir));
            break;
        }
        names = fw_xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = fw_xstrdup(e->d_name);
    }
    closedir(d);
    /* Sorted, so rule order and duplicate reports do not depend on the file system. */
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *full = fw_xasprintf("%s/%s", cfg->rules_dir, names[i]);
        char *shown = fw_xasprintf("%s/%s", shown_dir, names[i]);
        struct fw_cfg_ctx fc = {
            .file = shown, .errs = c->errs, .path = "$", .pathlen = 1, .files = c->files};
        int rc = 0;
        cJSON *root = read_json(&fc, full, &rc);
        if (root) {
            fw_cfg_apply_keys(&fc, root, rulefile_keys, cfg);
            cJSON_Delete(root);
        }
        free(shown);
        free(full);
        free(names[i]);
    }
    free(names);
}

/* ------------------------------------------------------------------------------------------ */
/* Cross-field checks                                                                          */
/* ------------------------------------------------------------------------------------------ */

/* "(routes: "a", "b")" listing what exists, so a typo is easy to spot. */
static void list_names(char *buf, size_t size, const char *what, const char *const *names, size_t n)
{
    size_t used = (size_t)snprintf(buf, size, " (%s: ", what);
    if (n == 0)
        used += (size_t)snprintf(buf + used, size - used, "none defined");
    for (size_t i = 0; i < n && used < size; i++) {
        if (i == 8) {
            snprintf(buf + used, size - used, ", ...");
            used = strlen(buf);
            break;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s\"%s\"", i ? ", " : "", names[i]);
    }
    if (used < size)
        snprintf(buf + used, size - used, ")");
}

#define NAMES_OF(arr, n, member, out)                                                              \
    do {                                                                                           \
        out = fw_xcalloc((n) + 1, sizeof(char *));                                                 \
        for (size_t i_ = 0; i_ < (n); i_++)                                                        \
            out[i_] = (arr)[i_].member;                                                            \
    } while (0)

/* Route names to indexes, reporting each unknown one at path "<c>.routes[k]". */
static size_t *resolve_routes(struct fw_cfg_ctx *c, const struct fw_config *cfg, char **names,
                              size_t n, const char **rnames)
{
    char list[512];
    size_t *idx = fw_xcalloc(n + 1, sizeof(size_t));
    for (size_t k = 0; k < n; k++) {
        size_t found = cfg->nroutes;
        for (size_t q = 0; q < cfg->nroutes; q++)
            if (strcmp(cfg->routes[q].name, names[k]) == 0)
                found = q;
        idx[k] = found;
        if (found == cfg->nroutes) {
            size_t m2 = fw_cfg_path_key(c, "routes");
            fw_cfg_path_index(c, (int)k);
            list_names(list, sizeof(list), "routes", rnames, cfg->nroutes);
            fw_cfg_err(c, "no route named \"%s\"%s", names[k], list);
            fw_cfg_path_pop(c, m2);
        }
    }
    return idx;
}

/*
 * A window holds every sample of its range (up to engine.max_samples) and is scanned at each
 * evaluation: its length is capped where the operator can see and raise the cap. Checked here,
 * after the whole config is read, because the engine section may come after the rules.
 */
static void check_windows(struct fw_cfg_ctx *c, const struct fw_config *cfg,
                          const struct fw_cfg_rule *r)
{
    const struct fw_expr *ex[2] = {r->expr, r->clear};
    static const char *const keys[2] = {"expr", "clear"};
    for (int k = 0; k < 2; k++) {
        int64_t range;
        int pos = ex[k] ? fw_expr_window_over(ex[k], cfg->engine.max_window_ms, &range) : -1;
        if (pos < 0)
            continue;
        char got[32], max[32];
        fw_cfg_format_duration(range, got, sizeof(got));
        fw_cfg_format_duration(cfg->engine.max_window_ms, max, sizeof(max));
        size_t mark = fw_cfg_path_key(c, keys[k]);
        fw_cfg_err(c, "position %d: a window of %s is longer than engine.max_window_ms (%s)",
                   pos + 1, got, max);
        fw_cfg_path_pop(c, mark);
    }
}

static void check_refs(struct fw_config *cfg, struct fw_cfg_errors *errs)
{
    struct fw_cfg_ctx c = {.file = cfg->path, .errs = errs, .path = "$", .pathlen = 1};
    char list[512];
    const char **bnames, **znames, **rnames;
    NAMES_OF(cfg->brokers, cfg->nbrokers, name, bnames);
    NAMES_OF(cfg->zones, cfg->nzones, id, znames);
    NAMES_OF(cfg->routes, cfg->nroutes, name, rnames);

    if (cfg->status_broker && !fw_config_broker(cfg, cfg->status_broker)) {
        list_names(list, sizeof(list), "brokers", bnames, cfg->nbrokers);
        fw_cfg_errors_add(errs,
                          fw_xasprintf("%s: $.gateway.status_broker: no broker named \"%s\"%s",
                                       cfg->path, cfg->status_broker, list));
    }
    for (size_t i = 0; i < cfg->nuplinks; i++) {
        const char *b = cfg->uplinks[i].broker;
        if (b && !fw_config_broker(cfg, b)) {
            list_names(list, sizeof(list), "brokers", bnames, cfg->nbrokers);
            fw_cfg_errors_add(errs,
                              fw_xasprintf("%s: $.uplinks[%zu].broker: no broker named \"%s\"%s",
                                           cfg->path, i, b, list));
        }
    }
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct fw_cfg_route *r = &cfg->routes[i];
        if (r->broker && !fw_config_broker(cfg, r->broker)) {
            size_t mark = fw_cfg_path_key(&c, "routes");
            fw_cfg_path_key(&c, r->name);
            fw_cfg_path_key(&c, "broker");
            list_names(list, sizeof(list), "brokers", bnames, cfg->nbrokers);
            fw_cfg_err(&c, "no broker named \"%s\"%s", r->broker, list);
            fw_cfg_path_pop(&c, mark);
        }
    }
    for (size_t i = 0; i < cfg->nnodes; i++) {
        struct fw_cfg_node *n = &cfg->nodes[i];
        if (n->zone && !(n->zone_ref = fw_config_zone(cfg, n->zone))) {
            size_t mark = fw_cfg_path_key(&c, "nodes");
            fw_cfg_path_key(&c, n->id);
            fw_cfg_path_key(&c, "zone");
            list_names(list, sizeof(list), "zones", znames, cfg->nzones);
            fw_cfg_err(&c, "no zone named \"%s\"%s", n->zone, list);
            fw_cfg_path_pop(&c, mark);
        }
    }
    /* A fire model's stations must be nodes (or Modbus devices): a misspelt one would make every
     * day missing. The fallback may be any station id, such as the meteorology feed's. */
    for (size_t i = 0; i < cfg->nzones; i++) {
        const struct fw_models_zone *f = cfg->zones[i].fire;
        for (size_t k = 0; f && k < f->nstations; k++) {
            int found = 0;
            for (size_t j = 0; j < cfg->nnodes && !found; j++)
                found = strcmp(cfg->nodes[j].id, f->stations[k]) == 0;
            if (found)
                continue;
            size_t mark = fw_cfg_path_key(&c, "zones");
            fw_cfg_path_key(&c, cfg->zones[i].id);
            fw_cfg_path_key(&c, "fire");
            fw_cfg_path_key(&c, "stations");
            fw_cfg_path_index(&c, (int)k);
            fw_cfg_err(&c, "no node named \"%s\"", f->stations[k]);
            fw_cfg_path_pop(&c, mark);
        }
    }
    /* The same for the pest model's temperature stations and its pests' trap nodes. */
    for (size_t i = 0; i < cfg->nzones; i++) {
        const struct fw_pests_zone *pz = cfg->zones[i].pests;
        for (size_t p = 0; pz && p <= pz->npests; p++) {
            size_t n = p == 0 ? pz->nstations : pz->pests[p - 1].ntraps;
            for (size_t k = 0; k < n; k++) {
                const char *id = p == 0 ? pz->stations[k] : pz->pests[p - 1].traps[k];
                int found = 0;
                for (size_t j = 0; j < cfg->nnodes && !found; j++)
                    found = strcmp(cfg->nodes[j].id, id) == 0;
                if (found)
                    continue;
                size_t mark = fw_cfg_path_key(&c, "zones");
                fw_cfg_path_key(&c, cfg->zones[i].id);
                fw_cfg_path_key(&c, "pests");
                if (p > 0) {
                    fw_cfg_path_key(&c, "pests");
                    fw_cfg_path_index(&c, (int)p - 1);
                    fw_cfg_path_key(&c, "traps");
                } else {
                    fw_cfg_path_key(&c, "stations");
                }
                fw_cfg_path_index(&c, (int)k);
                fw_cfg_err(&c, "no node named \"%s\"", id);
                fw_cfg_path_pop(&c, mark);
            }
        }
    }
    /* Two links with one client id on one broker would take turns kicking each other off. */
    for (size_t i = 0; i < cfg->nbrokers; i++)
        for (size_t j = 0; j < i; j++) {
            const struct fw_cfg_broker *a = &cfg->brokers[i], *b = &cfg->brokers[j];
            if (a->host && b->host && a->client_id && b->client_id &&
                strcmp(a->host, b->host) == 0 && a->port == b->port &&
                strcmp(a->client_id, b->client_id) == 0) {
                size_t mark = fw_cfg_path_key(&c, "brokers");
                fw_cfg_path_key(&c, a->name);
                fw_cfg_path_key(&c, "client_id");
                fw_cfg_err(&c, "same host, port and client id as broker \"%s\"", b->name);
                fw_cfg_path_pop(&c, mark);
            }
        }
    for (size_t i = 0; i < cfg->nrules; i++) {
        struct fw_cfg_rule *r = &cfg->rules[i];
        struct fw_cfg_ctx rc = {.file = r->file, .errs = errs, .path = "$.rules", .pathlen = 7};
        /* Rules are numbered within their own file. */
        int idx = 0;
        for (size_t k = 0; k < i; k++)
            idx += strcmp(cfg->rules[k].file, r->file) == 0;
        size_t mark = fw_cfg_path_index(&rc, idx);
        for (size_t z = 0; z < r->nzones; z++)
            if (!fw_config_zone(cfg, r->zones[z])) {
                size_t m2 = fw_cfg_path_key(&rc, "zones");
                fw_cfg_path_index(&rc, (int)z);
                list_names(list, sizeof(list), "zones", znames, cfg->nzones);
                fw_cfg_err(&rc, "no zone named \"%s\"%s", r->zones[z], list);
                fw_cfg_path_pop(&rc, m2);
            }
        r->route_idx = resolve_routes(&rc, cfg, r->routes, r->nroutes, rnames);
        check_windows(&rc, cfg, r);
        for (size_t k = 0; k < r->ninhibits; k++) {
            const char *name = r->inhibits[k];
            int found = 0;
            for (size_t q = 0; q < cfg->nrules; q++)
                found |= cfg->rules[q].name && strcmp(cfg->rules[q].name, name) == 0;
            size_t m2 = fw_cfg_path_key(&rc, "inhibits");
            fw_cfg_path_index(&rc, (int)k);
            if (!found)
                fw_cfg_err(&rc, "no rule named \"%s\"", name);
            else if (strcmp(name, r->name) == 0)
                fw_cfg_err(&rc, "a rule cannot inhibit itself");
            fw_cfg_path_pop(&rc, m2);
        }
        fw_cfg_path_pop(&rc, mark);
    }
    for (size_t i = 0; i < cfg->nescalations; i++) {
        struct fw_cfg_ctx ec = {
            .file = cfg->path, .errs = errs, .path = "$.escalation", .pathlen = 12};
        fw_cfg_path_index(&ec, (int)i);
        cfg->escalations[i].route_idx = resolve_routes(&ec, cfg, cfg->escalations[i].routes,
                                                       cfg->escalations[i].nroutes, rnames);
    }
    static const char *const side_sections[] = {"acks", "state"};
    const char *side_brokers[] = {cfg->acks.broker, cfg->state.broker};
    const char *side_topics[] = {cfg->acks.topic, cfg->state.topic_prefix};
    for (int k = 0; k < 2; k++) {
        if (side_brokers[k] && !fw_config_broker(cfg, side_brokers[k])) {
            list_names(list, sizeof(list), "brokers", bnames, cfg->nbrokers);
            fw_cfg_errors_add(errs,
                              fw_xasprintf("%s: $.%s.broker: no broker named \"%s\"%s", cfg->path,
                                           side_sections[k], side_brokers[k], list));
        }
        if (side_topics[k] && !topic_ok(side_topics[k], 0))
            fw_cfg_errors_add(errs,
                              fw_xasprintf("%s: $.%s.%s: invalid MQTT topic \"%s\" (no wildcards)",
                                           cfg->path, side_sections[k],
                                           k ? "topic_prefix" : "topic", side_topics[k]));
    }
    free(bnames);
    free(znames);
    free(rnames);
}

static int cmp_node(const void *a, const void *b)
{
    return strcmp(((const struct fw_cfg_node *)a)->id, ((const struct fw_cfg_node *)b)->id);
}

/* ------------------------------------------------------------------------------------------ */
/* Public API                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/*
 * Modbus devices: each names a bus and a profile (a file of the profiles folder, loaded once and
 * validated here, so check-config catches a bad register map), and becomes a station of its
 * zone, so rules see its readings like any node's.
 */
static void load_devices(struct fw_cfg_ctx *c, struct fw_config *cfg, const char *dir)
{
    /* `rel` is the folder as written, for messages; profiles_dir becomes the real path. */
    char *rel = fw_xstrdup(cfg->profiles_dir ? cfg->profiles_dir : "profiles");
    char *resolved = rel[0] == '/' ? fw_xstrdup(rel) : fw_xasprintf("%s/%s", dir, rel);
    free(cfg->profiles_dir);
    cfg->profiles_dir = resolved;
    for (size_t i = 0; i < cfg->ndevices; i++) {
        struct fw_cfg_device *dv = &cfg->devices[i];
        size_t mark = fw_cfg_path_key(c, "devices");
        fw_cfg_path_key(c, dv->id);
        const struct fw_cfg_bus *bus = NULL;
        for (size_t b = 0; dv->bus && b < cfg->nbuses; b++)
            if (strcmp(cfg->buses[b].name, dv->bus) == 0)
                bus = &cfg->buses[b];
        if (dv->bus && !bus) {
            size_t m2 = fw_cfg_path_key(c, "bus");
            fw_cfg_err(c, "no bus named \"%s\"", dv->bus);
            fw_cfg_path_pop(c, m2);
        }
        if (bus && bus->kind == FW_BUS_RTU && (dv->unit_id < 1 || dv->unit_id > 247)) {
            size_t m2 = fw_cfg_path_key(c, "unit_id");
            fw_cfg_err(c, "must be 1..247 on an rtu bus, got %d", dv->unit_id);
            fw_cfg_path_pop(c, m2);
        }
        /* Both would answer one request, or one would be read for the other: the pollers
         * refuse to start on such a config, so it must not pass the check. */
        for (size_t j = 0; bus && j < i; j++) {
            const struct fw_cfg_device *o = &cfg->devices[j];
            if (o->bus && strcmp(o->bus, dv->bus) == 0 && o->unit_id == dv->unit_id) {
                size_t m2 = fw_cfg_path_key(c, "unit_id");
                fw_cfg_err(c, "unit %d on bus \"%s\" is device \"%s\" already", dv->unit_id,
                           dv->bus, o->id);
                fw_cfg_path_pop(c, m2);
                break;
            }
        }
        if (dv->zone && !fw_config_zone(cfg, dv->zone)) {
            size_t m2 = fw_cfg_path_key(c, "zone");
            fw_cfg_err(c, "no zone named \"%s\"", dv->zone);
            fw_cfg_path_pop(c, m2);
        }
        for (size_t n = 0; n < cfg->nnodes; n++)
            if (strcmp(cfg->nodes[n].id, dv->id) == 0)
                fw_cfg_err(c, "a node of the same name exists: a device is a station of its own");
        for (size_t k = 0; dv->profile && k < cfg->nprofiles; k++)
            if (strcmp(cfg->profiles[k]->name, dv->profile) == 0)
                dv->profile_ref = cfg->profiles[k];
        if (dv->profile && !dv->profile_ref) {
            char *file = fw_xasprintf("%s/%s.json", cfg->profiles_dir, dv->profile);
            char *shown = fw_xasprintf("%s/%s.json", rel, dv->profile);
            struct fw_profile *p = NULL;
            if (access(file, F_OK) != 0 && errno == ENOENT) {
                /* Most likely a misspelt name: say which device asked for it. */
                size_t m2 = fw_cfg_path_key(c, "profile");
                fw_cfg_err(c, "no profile \"%s\": %s does not exist", dv->profile, shown);
                fw_cfg_path_pop(c, m2);
            } else if (fw_profile_load(file, shown, &p, c->errs) == 0) {
                cfg->profiles =
                    fw_xrealloc(cfg->profiles, (cfg->nprofiles + 1) * sizeof(*cfg->profiles));
                cfg->profiles[cfg->nprofiles++] = p;
                dv->profile_ref = p;
            }
            free(file);
            free(shown);
        }
        fw_cfg_path_pop(c, mark);
        /* The device as a node: a station of its zone. */
        if (dv->zone && fw_config_zone(cfg, dv->zone)) {
            cfg->nodes = fw_xrealloc(cfg->nodes, (cfg->nnodes + 1) * sizeof(*cfg->nodes));
            cfg->nodes[cfg->nnodes++] = (struct fw_cfg_node){
                .id = fw_xstrdup(dv->id),
                .zone = fw_xstrdup(dv->zone),
                .kind = fw_xasprintf("modbus:%s", dv->profile ? dv->profile : "?"),
            };
        }
    }
    free(rel);
}

/* ------------------------------------------------------------------------------------------ */
/* Broker credentials and TLS files                                                            */
/* ------------------------------------------------------------------------------------------ */

#define FW_CONFIG_MAX_PASSWORD 1024

/*
 * Open a file named by the config for reading, or report why not at the current path. Only
 * regular files are accepted: a FIFO or a device would block the loader (and a reload).
 */
static int open_config_file(struct fw_cfg_ctx *c, const char *file, const char *shown)
{
    int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        fw_cfg_err(c, "cannot read \"%s\": %s", shown, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fw_cfg_err(c, "cannot read \"%s\": not a regular file", shown);
        close(fd);
        return -1;
    }
    return fd;
}

/* A path from the config, resolved against the config's folder `dir`. */
static char *resolve_path(const char *dir, const char *written)
{
    return written[0] == '/' ? fw_xstrdup(written) : fw_xasprintf("%s/%s", dir, written);
}

/*
 * `key` of the object at the current path names a file: resolve it (in place) and check that it
 * can be read. Messages name the file as resolved, or as written when the config itself was
 * named without a folder (`bare`).
 */
static void check_config_file(struct fw_cfg_ctx *c, const char *key, char **file, const char *dir,
                              int bare)
{
    if (!*file)
        return;
    char *written = *file;
    *file = resolve_path(dir, written);
    size_t mark = fw_cfg_path_key(c, key);
    int fd = open_config_file(c, *file, bare ? written : *file);
    if (fd >= 0)
        close(fd);
    fw_cfg_path_pop(c, mark);
    free(written);
}

/*
 * The password is the first line of the file, without its line ending. Messages name the file
 * but never quote what it holds.
 */
static char *read_password_file(struct fw_cfg_ctx *c, const char *file, const char *shown)
{
    int fd = open_config_file(c, file, shown);
    if (fd < 0)
        return NULL;
    char buf[FW_CONFIG_MAX_PASSWORD + 2];
    size_t n = 0;
    int e = 0;
    while (n < sizeof(buf) - 1) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r < 0)
            e = errno;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (memchr(buf + n - (size_t)r, '\n', (size_t)r))
            break;
    }
    close(fd);
    buf[n] = '\0';
    char *secret = NULL;
    size_t len = 0;
    while (len < n && buf[len] != '\n')
        len++;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (e)
        fw_cfg_err(c, "cannot read \"%s\": %s", shown, strerror(e));
    else if (len == 0)
        fw_cfg_err(c, "\"%s\" holds no password: its first line must be the password", shown);
    else if (len > FW_CONFIG_MAX_PASSWORD)
        fw_cfg_err(c, "the first line of \"%s\" is longer than %d bytes", shown,
                   FW_CONFIG_MAX_PASSWORD);
    else if (memchr(buf, '\0', len))
        fw_cfg_err(c, "the first line of \"%s\" contains a NUL byte", shown);
    else
        secret = fw_xasprintf("%.*s", (int)len, buf);
    explicit_bzero(buf, sizeof(buf));
    return secret;
}

/*
 * Per broker: resolve the TLS files and check that they can be read, and fetch the password from
 * its file or its environment variable. Done at load so that check-config, a start and a reload
 * all fail on a missing file rather than the link failing later, broker by broker.
 */
static void load_broker_secrets(struct fw_cfg_ctx *c, struct fw_config *cfg, const char *dir,
                                int bare)
{
    for (size_t i = 0; i < cfg->nbrokers; i++) {
        struct fw_cfg_broker *b = &cfg->brokers[i];
        size_t mark = fw_cfg_path_key(c, "brokers");
        fw_cfg_path_key(c, b->name);
        if (b->tls.ca_file) {
            size_t m2 = fw_cfg_path_key(c, "tls");
            check_config_file(c, "ca_file", &b->tls.ca_file, dir, bare);
            check_config_file(c, "cert_file", &b->tls.cert_file, dir, bare);
            check_config_file(c, "key_file", &b->tls.key_file, dir, bare);
            fw_cfg_path_pop(c, m2);
        }
        if (b->password_file && !b->password_env) {
            size_t m2 = fw_cfg_path_key(c, "password_file");
            char *written = b->password_file;
            b->password_file = resolve_path(dir, written);
            b->password =
                read_password_file(c, b->password_file, bare ? written : b->password_file);
            free(written);
            fw_cfg_path_pop(c, m2);
        }
        if (b->password_env && !b->password_file) {
            size_t m2 = fw_cfg_path_key(c, "password_env");
            const char *v = getenv(b->password_env);
            if (!v)
                fw_cfg_err(c, "environment variable \"%s\" is not set", b->password_env);
            else if (!*v)
                fw_cfg_err(c, "environment variable \"%s\" is empty", b->password_env);
            else if (strlen(v) > FW_CONFIG_MAX_PASSWORD)
                fw_cfg_err(c, "environment variable \"%s\" is longer than %d bytes",
                           b->password_env, FW_CONFIG_MAX_PASSWORD);
            else
                b->password = fw_xstrdup(v);
            fw_cfg_path_pop(c, m2);
        }
        fw_cfg_path_pop(c, mark);
    }
}

int fw_config_load(const char *path, struct fw_config **out, struct fw_cfg_errors *errs)
{
    struct fw_config *cfg = fw_xcalloc(1, sizeof(*cfg));
    struct fw_cfg_files files = {0};
    struct fw_cfg_ctx c = {.file = path, .errs = errs, .path = "$", .pathlen = 1, .files = &files};
    int rc = 0;
    size_t errs_before = errs->n + errs->dropped, first_err = errs->n;
    *out = NULL;

    cfg->path = fw_xstrdup(path);
    cfg->metrics = fw_metric_set_new();
    /* Names resolve against this file's declarations, not the running config's. */
    const struct fw_metric_set *outer = fw_metric_scope(cfg->metrics);
    cfg->log_level = FW_LOG_INFO;
    cfg->limits.max_payload_bytes = 16384;
    cfg->limits.max_readings = 64;
    cfg->limits.max_future_ms = 5 * 60 * 1000;
    cfg->limits.max_age_ms = 7LL * 24 * 3600 * 1000;
    cfg->limits.node_messages_per_s = 10;
    cfg->limits.node_burst = 600;
    cfg->cap.circle_radius_km = 1;
    cfg->cap.expires_after_ms = 24 * 3600 * 1000LL;
    cfg->store.rate_per_route = 10;
    cfg->store.history_days = 90;
    cfg->store.max_queued_per_route = 10000;
    cfg->engine.eval_interval_ms = 15000;
    cfg->engine.lookback_ms = 3600000;
    cfg->engine.max_samples = 4096;
    cfg->engine.max_window_ms = 7LL * 24 * 3600 * 1000;
    cfg->record.max_file_bytes = 64LL * 1024 * 1024;
    cfg->record.max_files = 8;

    cJSON *root = read_json(&c, path, &rc);
    if (!root)
        goto fail;
    parse_metrics_first(&c, root, cfg);
    fw_cfg_apply_keys(&c, root, top_keys, cfg);
    int explicit_dir = cfg->rules_dir != NULL;
    cJSON_Delete(root);

    /* rules.d is resolved against the main file's folder, as written (for messages) and real. */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? fw_xasprintf("%.*s", (int)(slash - path), path) : fw_xstrdup(".");
    const char *rel = cfg->rules_dir ? cfg->rules_dir : "rules.d";
    char *resolved = rel[0] == '/' ? fw_xstrdup(rel) : fw_xasprintf("%s/%s", dir, rel);
    char *shown = rel[0] == '/' || !slash ? fw_xstrdup(rel) : fw_xstrdup(resolved);
    free(cfg->rules_dir);
    cfg->rules_dir = resolved;
    load_rule_files(&c, cfg, shown, explicit_dir);
    free(shown);
    /*
     * The outbox lives beside the config unless told otherwise: durable by default. Under a
     * service manager that gives the service a state directory (systemd's StateDirectory=,
     * which sets STATE_DIRECTORY), written files go there instead: /etc stays read-only.
     */
    const char *state_dir = getenv("STATE_DIRECTORY");
    if (state_dir && (state_dir[0] != '/' || strchr(state_dir, ':')))
        state_dir = NULL; /* one absolute folder only */
    const char *wdir = state_dir ? state_dir : dir;
    if (!cfg->store.path)
        cfg->store.path = fw_xstrdup("forestwatch.db");
    if (cfg->store.path[0] != '/') {
        char *db = fw_xasprintf("%s/%s", wdir, cfg->store.path);
        free(cfg->store.path);
        cfg->store.path = db;
    }
    if (cfg->record.dir && cfg->record.dir[0] != '/') {
        char *rec = fw_xasprintf("%s/%s", wdir, cfg->record.dir);
        free(cfg->record.dir);
        cfg->record.dir = rec;
    }

    load_devices(&c, cfg, dir);
    load_broker_secrets(&c, cfg, dir, slash == NULL);
    free(dir);

    /* Defaults that depend on other keys. */
    if (cfg->gateway_id && !cfg->status_topic)
        cfg->status_topic = fw_xasprintf("forestwatch/%s/status", cfg->gateway_id);
    if (cfg->status_topic && !topic_ok(cfg->status_topic, 0))
        fw_cfg_errors_add(errs,
                          fw_xasprintf("%s: $.gateway.status_topic: invalid MQTT topic \"%s\"",
                                       path, cfg->status_topic));
    for (size_t i = 0; i < cfg->nbrokers; i++)
        if (!cfg->brokers[i].client_id && cfg->gateway_id)
            cfg->brokers[i].client_id =
                fw_xasprintf("forestwatch-%s-%s", cfg->gateway_id, cfg->brokers[i].name);

    check_refs(cfg, errs);
    for (size_t i = 0; i < files.n; i++) {
        fw_cfg_errors_locate(errs, first_err, files.v[i].shown, files.v[i].text);
        free(files.v[i].shown);
        free(files.v[i].text);
    }
    free(files.v);
    if (errs->n + errs->dropped > errs_before) {
        rc = -EINVAL;
        goto fail;
    }
    if (cfg->nnodes)
        qsort(cfg->nodes, cfg->nnodes, sizeof(*cfg->nodes), cmp_node);
    /* Sorting moved the nodes; resolve their zones again. */
    for (size_t i = 0; i < cfg->nnodes; i++)
        cfg->nodes[i].zone_ref = fw_config_zone(cfg, cfg->nodes[i].zone);
    fw_metric_scope(outer);
    *out = cfg;
    return 0;
fail:
    fw_metric_scope(outer);
    fw_config_free(cfg);
    return rc ? rc : -EINVAL;
}

static void free_contact(struct fw_cfg_contact *c)
{
    free(c->name);
    free(c->name_en);
    free(c->phone);
}

void fw_config_free(struct fw_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nbrokers; i++) {
        struct fw_cfg_broker *b = &cfg->brokers[i];
        free(b->name);
        free(b->host);
        for (size_t k = 0; k < b->nnodes; k++)
            free(b->nodes[k].host);
        free(b->nodes);
        free(b->client_id);
        free(b->username);
        free(b->password_file);
        free(b->password_env);
        if (b->password)
            explicit_bzero(b->password, strlen(b->password));
        free(b->password);
        free(b->tls.ca_file);
        free(b->tls.cert_file);
        free(b->tls.key_file);
        free(b->tls.server_name);
    }
    for (size_t i = 0; i < cfg->nuplinks; i++) {
        free(cfg->uplinks[i].broker);
        free(cfg->uplinks[i].topic);
    }
    for (size_t i = 0; i < cfg->nzones; i++) {
        struct fw_cfg_zone *z = &cfg->zones[i];
        free(z->id);
        free(z->name);
        free(z->name_en);
        free(z->polygon);
        free(z->fire);
        free(z->pests);
        for (size_t k = 0; k < z->npests_disabled; k++)
            free(z->pests_disabled[k]);
        free(z->pests_disabled);
        free_contact(&z->forest_chief);
        free_contact(&z->duty);
    }
    for (size_t i = 0; i < cfg->nnodes; i++) {
        free(cfg->nodes[i].id);
        free(cfg->nodes[i].zone);
        free(cfg->nodes[i].kind);
        free(cfg->nodes[i].description);
        free(cfg->nodes[i].dev_eui);
        free(cfg->nodes[i].lns_name);
        free(cfg->nodes[i].lpp_map);
    }
    for (size_t i = 0; i < cfg->nroutes; i++) {
        free(cfg->routes[i].name);
        free(cfg->routes[i].broker);
        free(cfg->routes[i].topic);
    }
    for (size_t i = 0; i < cfg->nrules; i++) {
        struct fw_cfg_rule *r = &cfg->rules[i];
        free(r->name);
        free(r->file);
        free(r->description);
        free(r->metric);
        free(r->expr_src);
        free(r->clear_src);
        fw_expr_free(r->expr);
        fw_expr_free(r->clear);
        for (size_t k = 0; k < r->nlabels; k++) {
            free(r->labels[k].key);
            free(r->labels[k].value);
        }
        free(r->labels);
        free(r->zh.headline);
        free(r->zh.description);
        free(r->en.headline);
        free(r->en.description);
        fw_cfg_free_string_list(r->zones, r->nzones);
        fw_cfg_free_string_list(r->kinds, r->nkinds);
        fw_cfg_free_string_list(r->routes, r->nroutes);
        free(r->route_idx);
        fw_cfg_free_string_list(r->inhibits, r->ninhibits);
    }
    free(cfg->brokers);
    free(cfg->uplinks);
    free(cfg->zones);
    free(cfg->nodes);
    free(cfg->routes);
    free(cfg->rules);
    for (size_t i = 0; i < cfg->nescalations; i++) {
        fw_cfg_free_string_list(cfg->escalations[i].routes, cfg->escalations[i].nroutes);
        free(cfg->escalations[i].route_idx);
    }
    free(cfg->escalations);
    free(cfg->acks.broker);
    free(cfg->acks.topic);
    free(cfg->state.broker);
    free(cfg->state.topic_prefix);
    free(cfg->cap.sender);
    free(cfg->store.path);
    free(cfg->unknown_devices_topic);
    for (size_t i = 0; i < cfg->nbuses; i++) {
        free(cfg->buses[i].name);
        free(cfg->buses[i].host);
        free(cfg->buses[i].device);
    }
    free(cfg->buses);
    for (size_t i = 0; i < cfg->ndevices; i++) {
        free(cfg->devices[i].id);
        free(cfg->devices[i].bus);
        free(cfg->devices[i].profile);
        free(cfg->devices[i].zone);
    }
    free(cfg->devices);
    for (size_t i = 0; i < cfg->nprofiles; i++)
        fw_profile_free(cfg->profiles[i]);
    free(cfg->profiles);
    free(cfg->profiles_dir);
    free(cfg->path);
    free(cfg->rules_dir);
    free(cfg->gateway_id);
    free(cfg->gateway_name);
    free(cfg->gateway_name_en);
    free(cfg->status_broker);
    free(cfg->status_topic);
    free(cfg->record.dir);
    fw_metric_set_free(cfg->metrics);
    free(cfg);
}

void fw_config_notes(const struct fw_config *cfg, void (*say)(void *arg, const char *note),
                     void *arg)
{
    char note[256];
    for (size_t i = 0; i < cfg->nzones; i++)
        for (size_t k = 0; k < cfg->zones[i].npests_disabled; k++) {
            snprintf(note, sizeof(note),
                     "zone \"%s\": pest \"%s\" is disabled (\"enabled\": false): not modelled",
                     cfg->zones[i].id, cfg->zones[i].pests_disabled[k]);
            say(arg, note);
        }
    for (size_t i = 0; i < cfg->nrules; i++)
        if (cfg->rules[i].kinds && fw_cfg_rule_nodes(cfg, &cfg->rules[i]) == 0) {
            snprintf(note, sizeof(note), "rule \"%s\": its kinds match no node: it watches nothing",
                     cfg->rules[i].name);
            say(arg, note);
        }
}

static void print_note(void *arg, const char *note)
{
    fprintf(arg, "note: %s\n", note);
}

int fw_config_check(const char *path, FILE *out, FILE *errf)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    int rc = fw_config_load(path, &cfg, &errs);
    if (rc == 0) {
        fw_config_notes(cfg, print_note, errf);
        fprintf(out, "configuration OK\n");
    } else
        fw_cfg_errors_print(&errs, errf);
    fw_cfg_errors_clear(&errs);
    fw_config_free(cfg);
    return rc == 0 ? 0 : 1;
}

const struct fw_cfg_node *fw_config_node(const struct fw_config *cfg, const char *id)
{
    size_t lo = 0, hi = cfg->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(id, cfg->nodes[mid].id);
        if (d == 0)
            return &cfg->nodes[mid];
        if (d < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct fw_cfg_zone *fw_config_zone(const struct fw_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nzones; i++)
        if (strcmp(cfg->zones[i].id, id) == 0)
            return &cfg->zones[i];
    return NULL;
}

int fw_config_zone_offset_min(const struct fw_config *cfg, const struct fw_cfg_zone *z)
{
    if (z && z->fire)
        return z->fire->utc_offset_min;
    if (z && z->pests)
        return z->pests->utc_offset_min;
    return cfg->cap.utc_offset_min;
}

const struct fw_cfg_broker *fw_config_broker(const struct fw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nbrokers; i++)
        if (strcmp(cfg->brokers[i].name, name) == 0)
            return &cfg->brokers[i];
    return NULL;
}

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

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int broker_nodes_equal(const struct fw_cfg_broker *a, const struct fw_cfg_broker *b)
{
    if (a->nnodes != b->nnodes)
        return 0;
    for (size_t i = 0; i < a->nnodes; i++)
        if (!str_eq(a->nodes[i].host, b->nodes[i].host) || a->nodes[i].port != b->nodes[i].port)
            return 0;
    return 1;
}

int fw_cfg_broker_equal(const struct fw_cfg_broker *a, const struct fw_cfg_broker *b)
{
    return str_eq(a->host, b->host) && a->port == b->port && str_eq(a->client_id, b->client_id) &&
           str_eq(a->username, b->username) && str_eq(a->password, b->password) &&
           str_eq(a->tls.ca_file, b->tls.ca_file) && str_eq(a->tls.cert_file, b->tls.cert_file) &&
           str_eq(a->tls.key_file, b->tls.key_file) &&
           str_eq(a->tls.server_name, b->tls.server_name) && a->keepalive_s == b->keepalive_s &&
           a->reconnect_min_ms == b->reconnect_min_ms &&
           a->reconnect_max_ms == b->reconnect_max_ms && a->clean_session == b->clean_session &&
           broker_nodes_equal(a, b);
}

int fw_cfg_rule_in_zone(const struct fw_cfg_rule *r, const char *zone)
{
    if (!r->zones)
        return 1;
    for (size_t i = 0; i < r->nzones; i++)
        if (strcmp(r->zones[i], zone) == 0)
            return 1;
    return 0;
}

int fw_cfg_rule_covers(const struct fw_cfg_rule *r, const struct fw_cfg_node *n)
{
    if (!fw_cfg_rule_in_zone(r, n->zone))
        return 0;
    if (!r->kinds)
        return 1;
    for (size_t i = 0; i < r->nkinds; i++)
        if (n->kind && strcmp(r->kinds[i], n->kind) == 0)
            return 1;
    return 0;
}

size_t fw_cfg_rule_nodes(const struct fw_config *cfg, const struct fw_cfg_rule *r)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->nnodes; i++)
        n += fw_cfg_rule_covers(r, &cfg->nodes[i]) != 0;
    return n;
}

int fw_cfg_rule_same_logic(const struct fw_cfg_rule *a, const struct fw_cfg_rule *b)
{
    if (!str_eq(a->expr_src, b->expr_src) || !str_eq(a->clear_src, b->clear_src) ||
        a->for_ms != b->for_ms || a->keep_firing_for_ms != b->keep_firing_for_ms ||
        a->nzones != b->nzones || !a->zones != !b->zones)
        return 0;
    /* The same text may read another metric: a declared one whose unit a reload changed. */
    if ((a->expr && b->expr && !fw_expr_same_metrics(a->expr, b->expr)) ||
        (a->clear && b->clear && !fw_expr_same_metrics(a->clear, b->clear)))
        return 0;
    for (size_t i = 0; i < a->nzones; i++)
        if (strcmp(a->zones[i], b->zones[i]) != 0)
            return 0;
    return 1;
}
