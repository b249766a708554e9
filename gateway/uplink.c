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

static void issue(struct fw_uplink_result *res, enum fw_uplink_error code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void issue(struct fw_uplink_result *res, enum fw_uplink_error code, const char *fmt, ...)
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

int fw_uplink_decode_native(const struct fw_config *cfg, const void *payload, size_t len,
                            int64_t now_ms, struct fw_uplink_result *res)
{
    int rc = 0;
    cJSON *root = NULL;
    res->node[0] = '\0';
    res->n = 0;
    res->error = FW_UPLINK_OK;
    res->nissues = 0;
    res->rejected_readings = 0;

    if (len > cfg->limits.max_payload_bytes) {
        issue(res, FW_UPLINK_TOO_BIG, "payload of %zu bytes exceeds the limit of %zu", len,
              cfg->limits.max_payload_bytes);
        return reject(res, FW_UPLINK_TOO_BIG, -E2BIG);
    }
    root = cJSON_ParseWithLength(payload, len);
    if (!cJSON_IsObject(root)) {
        issue(res, FW_UPLINK_BAD_JSON, "%s", root ? "not a JSON object" : "not valid JSON");
        rc = reject(res, FW_UPLINK_BAD_JSON, -EINVAL);
        goto done;
    }

    const cJSON *node = cJSON_GetObjectItemCaseSensitive(root, "node");
    const cJSON *time = cJSON_GetObjectItemCaseSensitive(root, "time");
    const cJSON *readings = cJSON_GetObjectItemCaseSensitive(root, "readings");
    if (!node || !time || !readings) {
        issue(res, FW_UPLINK_MISSING, "missing \"%s\"",
              !node   ? "node"
              : !time ? "time"
                      : "readings");
        rc = reject(res, FW_UPLINK_MISSING, -EINVAL);
        goto done;
    }
    if (!cJSON_IsString(node) || fw_strlcpy(res->node, node->valuestring, sizeof(res->node))) {
        res->node[0] = '\0';
        issue(res, FW_UPLINK_BAD_FIELD, "node: must be a string of at most %d bytes",
              FW_READING_MAX_ID - 1);
        rc = reject(res, FW_UPLINK_BAD_FIELD, -EINVAL);
        goto done;
    }
    const struct fw_cfg_node *cn = fw_config_node(cfg, res->node);
    if (!cn) {
        issue(res, FW_UPLINK_UNKNOWN_NODE, "node \"%s\" is not in the config", res->node);
        rc = reject(res, FW_UPLINK_UNKNOWN_NODE, -ENOENT);
        goto done;
    }
    int64_t t_ms;
    if (parse_time(time, &t_ms)) {
        issue(res, FW_UPLINK_BAD_TIME,
              "time: must be RFC 3339 with an offset or epoch seconds, got %s",
              cJSON_IsString(time) ? time->valuestring : "a non-string");
        rc = reject(res, FW_UPLINK_BAD_TIME, -EINVAL);
        goto done;
    }
    if (t_ms > now_ms + cfg->limits.max_future_ms) {
        issue(res, FW_UPLINK_BAD_TIME, "time: %lld s ahead of the gateway clock (node clock?)",
              (long long)((t_ms - now_ms) / 1000));
        rc = reject(res, FW_UPLINK_BAD_TIME, -EINVAL);
        goto done;
    }
    if (t_ms < now_ms - cfg->limits.max_age_ms) {
        issue(res, FW_UPLINK_BAD_TIME, "time: %lld s old, more than limits.max_age_ms",
              (long long)((now_ms - t_ms) / 1000));
        rc = reject(res, FW_UPLINK_BAD_TIME, -EINVAL);
        goto done;
    }
    if (!cJSON_IsArray(readings)) {
        issue(res, FW_UPLINK_BAD_FIELD, "readings: must be an array");
        rc = reject(res, FW_UPLINK_BAD_FIELD, -EINVAL);
        goto done;
    }
    int count = cJSON_GetArraySize(readings);
    if (count == 0) {
        issue(res, FW_UPLINK_BAD_FIELD, "readings: empty");
        rc = reject(res, FW_UPLINK_BAD_FIELD, -EINVAL);
        goto done;
    }
    if (count > cfg->limits.max_readings) {
        issue(res, FW_UPLINK_TOO_MANY, "%d readings, more than the limit of %d", count,
              cfg->limits.max_readings);
        rc = reject(res, FW_UPLINK_TOO_MANY, -E2BIG);
        goto done;
    }
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
            issue(res, !m || !v || !u ? FW_UPLINK_MISSING : FW_UPLINK_BAD_FIELD,
                  "readings[%d]: needs \"metric\" (string), \"value\" (number) and \"unit\" "
                  "(string)",
                  i);
            continue;
        }
        double val = v->valuedouble;
        enum fw_uplink_error bad =
            fw_uplink_check_value(m->valuestring, u->valuestring, val, &metric);
        if (bad == FW_UPLINK_UNKNOWN_METRIC && !metric) {
            issue(res, bad, "readings[%d].metric: unknown metric \"%.60s\"", i, m->valuestring);
            continue;
        }
        if (bad == FW_UPLINK_UNKNOWN_METRIC) {
            issue(res, bad, "readings[%d].metric: %s is derived by the gateway, not sent by nodes",
                  i, metric->name);
            continue;
        }
        if (bad == FW_UPLINK_BAD_UNIT) {
            issue(res, bad, "readings[%d].unit: \"%.20s\" is not the unit of %s (\"%s\")", i,
                  u->valuestring, metric->name, metric->unit);
            continue;
        }
        if (bad == FW_UPLINK_OUT_OF_RANGE) {
            issue(res, bad, "readings[%d].value: %g %s is outside the possible range %g..%g of %s",
                  i, val, metric->unit, metric->min, metric->max, metric->name);
            continue;
        }
        struct fw_reading *r = &res->readings[res->n++];
        memset(r, 0, sizeof(*r));
        r->source = FW_SOURCE_MQTT_NATIVE;
        fw_strlcpy(r->station, cn->id, sizeof(r->station));
        fw_strlcpy(r->zone, cn->zone, sizeof(r->zone));
        r->metric = metric;
        r->value = val;
        r->time_ms = t_ms;
        res->rejected_readings--;
    }
done:
    cJSON_Delete(root);
    return rc;
}

void fw_uplink_result_free(struct fw_uplink_result *res)
{
    FW_FREE(res->readings);
    res->cap = 0;
    res->n = 0;
}
