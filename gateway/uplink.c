/* SPDX-License-Identifier: MIT */
/*
 * The native JSON uplink decoder. The size is checked before parsing, so a 10 MB payload costs a
 * comparison, not a parse; cJSON's own nesting limit bounds recursion. Every rejection records
 * a reason precise enough for an operator to fix the node: which field, what was wrong.
 */
#include "forestwatch/uplink.h"

#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const error_names[FW_UPLINK__COUNT] = {
    [FW_UPLINK_OK] = "ok",
    [FW_UPLINK_TOO_BIG] = "too_big",
    [FW_UPLINK_BAD_JSON] = "bad_json",
    [FW_UPLINK_MISSING] = "missing_field",
    [FW_UPLINK_BAD_FIELD] = "bad_field",
    [FW_UPLINK_UNKNOWN_NODE] = "unknown_node",
    [FW_UPLINK_BAD_TIME] = "bad_time",
    [FW_UPLINK_TOO_MANY] = "too_many_readings",
    [FW_UPLINK_UNKNOWN_METRIC] = "unknown_metric",
    [FW_UPLINK_BAD_UNIT] = "bad_unit",
    [FW_UPLINK_OUT_OF_RANGE] = "out_of_range",
    [FW_UPLINK_DUPLICATE] = "duplicate",
    [FW_UPLINK_FCNT_RESET] = "fcnt_reset",
    [FW_UPLINK_BAD_PAYLOAD] = "bad_payload",
    [FW_UPLINK_UNMAPPED] = "unmapped",
};

const char *fw_uplink_error_str(enum fw_uplink_error e)
{
    return e < FW_UPLINK__COUNT ? error_names[e] : "?";
}

enum fw_uplink_error fw_uplink_check_value(const char *metric, const char *unit, double value,
                                           const struct fw_metric **out)
{
    const struct fw_metric *m = *out = fw_metric_find(metric);
    if (!m || m->scope != FW_METRIC_STATION)
        return FW_UPLINK_UNKNOWN_METRIC;
    if (unit && !fw_metric_unit_ok(m, unit))
        return FW_UPLINK_BAD_UNIT;
    if (!isfinite(value) || value < m->min || value > m->max)
        return FW_UPLINK_OUT_OF_RANGE;
    return FW_UPLINK_OK;
}

void fw_uplink_add_issue(struct fw_uplink_result *res, enum fw_uplink_error code, const char *fmt,
                         ...)
{
    if (res->nissues >= FW_UPLINK_MAX_ISSUES)
        return;
    struct fw_uplink_issue *is = &res->issues[res->nissues++];
    is->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(is->detail, sizeof(is->detail), fmt, ap);
    va_end(ap);
}

/* Reject the whole message. */
static int reject(struct fw_uplink_result *res, enum fw_uplink_error code, int rc)
{
    res->error = code;
    res->n = 0;
    return rc;
}

static int parse_time(const cJSON *t, int64_t *ms)
{
    if (cJSON_IsString(t))
        return fw_time_parse(t->valuestring, ms);
    /* Epoch seconds: integral, and after 2000 so that a counter or uptime is not taken for it. */
    if (cJSON_IsNumber(t) && t->valuedouble == floor(t->valuedouble) &&
        t->valuedouble >= 946684800.0 && t->valuedouble < 32503680000.0) {
        *ms = (int64_t)t->valuedouble * 1000;
        return 0;
    }
    return -EINVAL;
}

/* The message's time: a valid form, not too far ahead of the gateway's clock, not too old. */
static int check_time(const struct fw_config *cfg, const char *key, const cJSON *time,
                      int64_t now_ms, struct fw_uplink_result *res, int64_t *t_ms)
{
    if (parse_time(time, t_ms)) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_TIME,
                            "%s: must be RFC 3339 with an offset or epoch seconds, got %.40s", key,
                            cJSON_IsString(time) ? time->valuestring : "a non-string");
        return reject(res, FW_UPLINK_BAD_TIME, -EINVAL);
    }
    if (*t_ms > now_ms + cfg->limits.max_future_ms) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_TIME,
                            "%s: %lld s ahead of the gateway clock (node clock?)", key,
                            (long long)((*t_ms - now_ms) / 1000));
        return reject(res, FW_UPLINK_BAD_TIME, -EINVAL);
    }
    if (*t_ms < now_ms - cfg->limits.max_age_ms) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_TIME, "%s: %lld s old, more than limits.max_age_ms",
                            key, (long long)((now_ms - *t_ms) / 1000));
        return reject(res, FW_UPLINK_BAD_TIME, -EINVAL);
    }
    return 0;
}

/* An array of 1 .. limits.max_readings entries; else the message is rejected. */
static int check_array(const struct fw_config *cfg, const char *key, const cJSON *a,
                       struct fw_uplink_result *res)
{
    if (!cJSON_IsArray(a)) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_FIELD, "%s: must be an array", key);
        return reject(res, FW_UPLINK_BAD_FIELD, -EINVAL);
    }
    int count = cJSON_GetArraySize(a);
    if (count == 0) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_FIELD, "%s: empty", key);
        return reject(res, FW_UPLINK_BAD_FIELD, -EINVAL);
    }
    if (count > cfg->limits.max_readings) {
        fw_uplink_add_issue(res, FW_UPLINK_TOO_MANY, "%d %s, more than the limit of %d", count, key,
                            cfg->limits.max_readings);
        return reject(res, FW_UPLINK_TOO_MANY, -E2BIG);
    }
    return count;
}

/*
 * A parsed uplink object: the node named by `id_key`, its time and its readings, given the
 * provenance `source`. Shared by the field nodes' uplinks and the meteorology bureau's
 * observations.
 */
static int decode_object(const struct fw_config *cfg, const cJSON *root, const char *id_key,
                         enum fw_source_kind source, int64_t now_ms, struct fw_uplink_result *res)
{
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(root, id_key);
    const cJSON *time = cJSON_GetObjectItemCaseSensitive(root, "time");
    const cJSON *readings = cJSON_GetObjectItemCaseSensitive(root, "readings");
    if (!node || !time || !readings) {
        fw_uplink_add_issue(res, FW_UPLINK_MISSING, "missing \"%s\"",
                            !node   ? id_key
                            : !time ? "time"
                                    : "readings");
        return reject(res, FW_UPLINK_MISSING, -EINVAL);
    }
    if (!cJSON_IsString(node) || fw_strlcpy(res->node, node->valuestring, sizeof(res->node))) {
        res->node[0] = '\0';
        fw_uplink_add_issue(res, FW_UPLINK_BAD_FIELD, "%s: must be a string of at most %d bytes",
                            id_key, FW_READING_MAX_ID - 1);
        return reject(res, FW_UPLINK_BAD_FIELD, -EINVAL);
    }
    const struct fw_cfg_node *cn = fw_config_node(cfg, res->node);
    if (!cn) {
        fw_uplink_add_issue(res, FW_UPLINK_UNKNOWN_NODE, "%s \"%s\" is not in the config", id_key,
                            res->node);
        return reject(res, FW_UPLINK_UNKNOWN_NODE, -ENOENT);
    }
    int64_t t_ms;
    int rc = check_time(cfg, "time", time, now_ms, res, &t_ms);
    if (rc < 0)
        return rc;
    int count = check_array(cfg, "readings", readings, res);
    if (count < 0)
        return count;
    if (res->cap < count) {
        res->readings = fw_xrealloc(res->readings, (size_t)count * sizeof(*res->readings));
        res->cap = count;
    }

    int i = 0;
    for (const cJSON *e = readings->child; e; e = e->next, i++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "metric");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "unit");
        const struct fw_metric *metric;
        res->rejected_readings++; /* undone below when the reading is accepted */
        if (!cJSON_IsString(m) || !cJSON_IsNumber(v) || !cJSON_IsString(u)) {
            fw_uplink_add_issue(
                res, !m || !v || !u ? FW_UPLINK_MISSING : FW_UPLINK_BAD_FIELD,
                "readings[%d]: needs \"metric\" (string), \"value\" (number) and \"unit\" "
                "(string)",
                i);
            continue;
        }
        double val = v->valuedouble;
        enum fw_uplink_error bad =
            fw_uplink_check_value(m->valuestring, u->valuestring, val, &metric);
        if (bad == FW_UPLINK_UNKNOWN_METRIC && !metric) {
            fw_uplink_add_issue(res, bad, "readings[%d].metric: unknown metric \"%.60s\"", i,
                                m->valuestring);
            continue;
        }
        if (bad == FW_UPLINK_UNKNOWN_METRIC) {
            fw_uplink_add_issue(
                res, bad, "readings[%d].metric: %s is derived by the gateway, not sent by nodes", i,
                metric->name);
            continue;
        }
        if (bad == FW_UPLINK_BAD_UNIT) {
            fw_uplink_add_issue(res, bad,
                                "readings[%d].unit: \"%.20s\" is not the unit of %s (\"%s\")", i,
                                u->valuestring, metric->name, metric->unit);
            continue;
        }
        if (bad == FW_UPLINK_OUT_OF_RANGE) {
            fw_uplink_add_issue(
                res, bad, "readings[%d].value: %g %s is outside the possible range %g..%g of %s", i,
                val, metric->unit, metric->min, metric->max, metric->name);
            continue;
        }
        struct fw_reading *r = &res->readings[res->n++];
        memset(r, 0, sizeof(*r));
        r->source = source;
        fw_strlcpy(r->station, cn->id, sizeof(r->station));
        fw_strlcpy(r->zone, cn->zone, sizeof(r->zone));
        r->metric = metric;
        r->value = val;
        r->time_ms = t_ms;
        res->rejected_readings--;
    }
    return 0;
}

/* Size check and parse: the root object, or NULL with the message rejected. */
static cJSON *parse_root(const struct fw_config *cfg, const void *payload, size_t len,
                         struct fw_uplink_result *res)
{
    res->node[0] = '\0';
    res->n = 0;
    res->error = FW_UPLINK_OK;
    res->nissues = 0;
    res->rejected_readings = 0;
    if (len > cfg->limits.max_payload_bytes) {
        fw_uplink_add_issue(res, FW_UPLINK_TOO_BIG, "payload of %zu bytes exceeds the limit of %zu",
                            len, cfg->limits.max_payload_bytes);
        reject(res, FW_UPLINK_TOO_BIG, -E2BIG);
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLength(payload, len);
    if (!cJSON_IsObject(root)) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_JSON, "%s",
                            root ? "not a JSON object" : "not valid JSON");
        reject(res, FW_UPLINK_BAD_JSON, -EINVAL);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int fw_uplink_decode_native(const struct fw_config *cfg, const void *payload, size_t len,
                            int64_t now_ms, struct fw_uplink_result *res)
{
    cJSON *root = parse_root(cfg, payload, len, res);
    if (!root)
        return res->error == FW_UPLINK_TOO_BIG ? -E2BIG : -EINVAL;
    int rc = decode_object(cfg, root, "node", FW_SOURCE_MQTT_NATIVE, now_ms, res);
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The meteorology bureau's feed                                                               */
/* ------------------------------------------------------------------------------------------ */

/* A forecast value: absent (0), a number in the metric's range (1), or wrong (-1, reported). */
static int forecast_value(const cJSON *e, int i, const char *key, const char *metric,
                          struct fw_uplink_result *res, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
    if (!v)
        return 0;
    const struct fw_metric *m;
    if (!cJSON_IsNumber(v)) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_FIELD, "forecasts[%d].%s: must be a number", i, key);
        return -1;
    }
    if (fw_uplink_check_value(metric, NULL, v->valuedouble, &m) != FW_UPLINK_OK) {
        fw_uplink_add_issue(res, FW_UPLINK_OUT_OF_RANGE,
                            "forecasts[%d].%s: %g is outside the possible range %g..%g %s", i, key,
                            v->valuedouble, m->min, m->max, m->unit);
        return -1;
    }
    *out = v->valuedouble;
    return 1;
}

/* "YYYY-MM-DD" as a day number; -EINVAL for anything else. */
static int parse_date(const char *s, int64_t *day)
{
    int y, m, d, n = 0;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
        s[4] != '-' || s[7] != '-' || m < 1 || m > 12 || d < 1 || d > 31)
        return -EINVAL;
    *day = fw_time__days_from_civil(y, (unsigned)m, (unsigned)d);
    int yy, mm, dd;
    fw_time__civil_from_days(*day, &yy, &mm, &dd);
    return dd == d ? 0 : -EINVAL; /* 2026-02-30 */
}

/*
 * The local date `date` of entry `list`[i] for zone `z`: from the day before "issued"'s local
 * date to FW_METEO_MAX_LEAD_DAYS after it. 0 with *day set, or -1 with the reason reported.
 */
static int entry_day(const struct fw_config *cfg, const struct fw_cfg_zone *z, const char *date,
                     const char *list, int i, int64_t issued_ms, struct fw_uplink_result *res,
                     int64_t *day)
{
    int64_t issued_day = fw_time__local_day(issued_ms, fw_config_zone_offset_min(cfg, z));
    if (parse_date(date, day) < 0 || *day < issued_day - 1 ||
        *day > issued_day + FW_METEO_MAX_LEAD_DAYS) {
        fw_uplink_add_issue(
            res, FW_UPLINK_BAD_FIELD,
            "%s[%d].date: must be a date YYYY-MM-DD from the day before \"issued\" to "
            "%d days after it, got \"%.20s\"",
            list, i, FW_METEO_MAX_LEAD_DAYS, date);
        return -1;
    }
    return 0;
}

/* One entry of "forecasts"; 0 with *f filled, or -1 with the reason reported. */
static int decode_forecast(const struct fw_config *cfg, const cJSON *e, int i, int64_t issued_ms,
                           struct fw_uplink_result *res, struct fw_meteo_forecast *f)
{
    const cJSON *zone = cJSON_GetObjectItemCaseSensitive(e, "zone");
    const cJSON *date = cJSON_GetObjectItemCaseSensitive(e, "date");
    memset(f, 0, sizeof(*f));
    if (!cJSON_IsString(zone) || !cJSON_IsString(date)) {
        fw_uplink_add_issue(res, zone && date ? FW_UPLINK_BAD_FIELD : FW_UPLINK_MISSING,
                            "forecasts[%d]: needs \"zone\" and \"date\" (strings)", i);
        return -1;
    }
    const struct fw_cfg_zone *z = fw_config_zone(cfg, zone->valuestring);
    if (!z) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_FIELD,
                            "forecasts[%d].zone: \"%.60s\" is not in the config", i,
                            zone->valuestring);
        return -1;
    }
    fw_strlcpy(f->zone, zone->valuestring, sizeof(f->zone));
    f->issued_ms = issued_ms;
    if (entry_day(cfg, z, date->valuestring, "forecasts", i, issued_ms, res, &f->day) < 0)
        return -1;
    static const char *const noon_keys[] = {"air_temp_c", "rel_humidity_pct", "wind_speed_ms",
                                            "rain_mm"};
    double *noon[] = {&f->temp_c, &f->rh_pct, &f->wind_ms, &f->rain_mm};
    int has = 0;
    for (size_t k = 0; k < FW_ARRAY_LEN(noon_keys); k++) {
        int r = forecast_value(e, i, noon_keys[k], noon_keys[k], res, noon[k]);
        if (r < 0)
            return -1;
        has += r;
    }
    int has_min = forecast_value(e, i, "air_temp_min_c", "air_temp_c", res, &f->tmin_c);
    int has_max = forecast_value(e, i, "air_temp_max_c", "air_temp_c", res, &f->tmax_c);
    if (has_min < 0 || has_max < 0)
        return -1;
    if ((has != 0 && has != 4) || has_min != has_max || (has == 0 && !has_min)) {
        fw_uplink_add_issue(
            res, FW_UPLINK_MISSING,
            "forecasts[%d]: needs the noon weather (air_temp_c, rel_humidity_pct, "
            "wind_speed_ms, rain_mm), the day's air_temp_min_c and air_temp_max_c, or both",
            i);
        return -1;
    }
    if (has_min && f->tmin_c > f->tmax_c) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_FIELD,
                            "forecasts[%d]: air_temp_min_c %g above air_temp_max_c %g", i,
                            f->tmin_c, f->tmax_c);
        return -1;
    }
    f->has_noon = has == 4;
    f->has_minmax = has_min;
    return 0;
}

/* Room for `more` entries past the `n` held. */
static void forecasts_reserve(struct fw_meteo_forecasts *out, size_t more)
{
    if ((size_t)out->cap < (size_t)out->n + more) {
        out->cap = out->n + (int)more;
        out->v = fw_xrealloc(out->v, (size_t)out->cap * sizeof(*out->v));
    }
}

/*
 * One entry of "levels": {"zone" or "county", "date", "level"}, appended to `out` once per zone
 * it names (a county no zone of the config lies in names none: a bureau publishes for more
 * counties than one gateway covers). 0, or -1 with the reason reported.
 */
static int decode_level(const struct fw_config *cfg, const cJSON *e, int i, int64_t issued_ms,
                        struct fw_uplink_result *res, struct fw_meteo_forecasts *out)
{
    const cJSON *zone = cJSON_GetObjectItemCaseSensitive(e, "zone");
    const cJSON *county = cJSON_GetObjectItemCaseSensitive(e, "county");
    const cJSON *date = cJSON_GetObjectItemCaseSensitive(e, "date");
    const cJSON *level = cJSON_GetObjectItemCaseSensitive(e, "level");
    const cJSON *where = zone ? zone : county;
    if (!cJSON_IsString(where) || (zone && county) || !cJSON_IsString(date)) {
        fw_uplink_add_issue(res, where && date ? FW_UPLINK_BAD_FIELD : FW_UPLINK_MISSING,
                            "levels[%d]: needs \"zone\" or \"county\" (one of them) and \"date\" "
                            "(strings)",
                            i);
        return -1;
    }
    /* The range first: a huge value cast to int is undefined. */
    if (!cJSON_IsNumber(level) || !(level->valuedouble >= 1 && level->valuedouble <= 5) ||
        level->valuedouble != floor(level->valuedouble)) {
        fw_uplink_add_issue(res, level ? FW_UPLINK_BAD_FIELD : FW_UPLINK_MISSING,
                            "levels[%d].level: must be an integer 1..5 (一级 .. 五级)", i);
        return -1;
    }
    if (zone && !fw_config_zone(cfg, zone->valuestring)) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_FIELD,
                            "levels[%d].zone: \"%.60s\" is not in the config", i,
                            zone->valuestring);
        return -1;
    }
    size_t mark = (size_t)out->n;
    for (size_t k = 0; k < cfg->nzones; k++) {
        const struct fw_cfg_zone *z = &cfg->zones[k];
        if (zone ? strcmp(z->id, zone->valuestring) != 0
                 : !z->county || strcmp(z->county, county->valuestring) != 0)
            continue;
        forecasts_reserve(out, 1);
        struct fw_meteo_forecast *f = &out->v[out->n];
        memset(f, 0, sizeof(*f));
        fw_strlcpy(f->zone, z->id, sizeof(f->zone));
        f->issued_ms = issued_ms;
        f->level = (int)level->valuedouble;
        if (entry_day(cfg, z, date->valuestring, "levels", i, issued_ms, res, &f->day) < 0) {
            out->n = (int)mark; /* the whole entry goes */
            return -1;
        }
        out->n++;
    }
    return 0;
}

/* A message of dated entries per zone: "forecasts" or "levels", with its "issued" time. */
static int decode_dated(const struct fw_config *cfg, const cJSON *root, const char *key,
                        int64_t now_ms, struct fw_uplink_result *res,
                        struct fw_meteo_forecasts *out)
{
    const cJSON *issued = cJSON_GetObjectItemCaseSensitive(root, "issued");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!issued || !list) {
        fw_uplink_add_issue(res, FW_UPLINK_MISSING, "missing \"%s\"", !issued ? "issued" : key);
        return reject(res, FW_UPLINK_MISSING, -EINVAL);
    }
    int64_t t_ms;
    int rc = check_time(cfg, "issued", issued, now_ms, res, &t_ms);
    if (rc < 0)
        return rc;
    int count = check_array(cfg, key, list, res);
    if (count < 0)
        return count;
    int levels = strcmp(key, "levels") == 0;
    forecasts_reserve(out, (size_t)count);
    int i = 0;
    for (const cJSON *e = list->child; e; e = e->next, i++) {
        if (levels ? decode_level(cfg, e, i, t_ms, res, out) == 0
                   : decode_forecast(cfg, e, i, t_ms, res, &out->v[out->n]) == 0)
            out->n += !levels;
        else
            res->rejected_readings++;
    }
    return 0;
}

int fw_uplink_decode_meteo(const struct fw_config *cfg, const void *payload, size_t len,
                           int64_t now_ms, struct fw_uplink_result *res,
                           struct fw_meteo_forecasts *fc)
{
    fc->n = 0;
    cJSON *root = parse_root(cfg, payload, len, res);
    if (!root)
        return res->error == FW_UPLINK_TOO_BIG ? -E2BIG : -EINVAL;
    int rc;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsString(type)) {
        fw_uplink_add_issue(res, type ? FW_UPLINK_BAD_FIELD : FW_UPLINK_MISSING,
                            "type: must be \"observation\", \"forecast\" or \"fire_danger_level\"");
        rc = reject(res, type ? FW_UPLINK_BAD_FIELD : FW_UPLINK_MISSING, -EINVAL);
    } else if (strcmp(type->valuestring, "observation") == 0) {
        rc = decode_object(cfg, root, "station", FW_SOURCE_METEO, now_ms, res);
    } else if (strcmp(type->valuestring, "forecast") == 0) {
        rc = decode_dated(cfg, root, "forecasts", now_ms, res, fc);
    } else if (strcmp(type->valuestring, "fire_danger_level") == 0) {
        rc = decode_dated(cfg, root, "levels", now_ms, res, fc);
    } else {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_FIELD,
                            "type: must be \"observation\", \"forecast\" or "
                            "\"fire_danger_level\", got \"%.40s\"",
                            type->valuestring);
        rc = reject(res, FW_UPLINK_BAD_FIELD, -EINVAL);
    }
    cJSON_Delete(root);
    return rc;
}

void fw_meteo_forecasts_free(struct fw_meteo_forecasts *fc)
{
    FW_FREE(fc->v);
    fc->cap = 0;
    fc->n = 0;
}

void fw_uplink_result_free(struct fw_uplink_result *res)
{
    FW_FREE(res->readings);
    res->cap = 0;
    res->n = 0;
}
