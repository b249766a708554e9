/* SPDX-License-Identifier: MIT */
/* Alert records and the notification list. */
#include "forestwatch/alerts.h"

#include "forestwatch/expr.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void fw_actions_clear(struct fw_actions *a)
{
    a->n = 0;
}

void fw_actions_free(struct fw_actions *a)
{
    FW_FREE(a->items);
    a->n = a->cap = 0;
}

static struct fw_notification *push(struct fw_actions *a)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->items = fw_xrealloc(a->items, a->cap * sizeof(*a->items));
    }
    return &a->items[a->n++];
}

void fw_alert_instance_id(char *buf, size_t size, const char *gateway_id,
                          const struct fw_rule_instance *inst)
{
    snprintf(buf, size, "%s:%s:%s:%lld", gateway_id, inst->rule, inst->key[0] ? inst->key : "all",
             (long long)inst->fired_ms);
}

void fw_alert_from_instance(struct fw_alert *out, const char *gateway_id,
                            const struct fw_cfg_rule *rule, const struct fw_rule_instance *inst,
                            enum fw_alert_status status, enum fw_alert_cause cause, double level)
{
    memset(out, 0, sizeof(*out));
    /* Ids are short enough by construction: every part is bounded by the config and decoder. */
    fw_alert_instance_id(out->id, sizeof(out->id), gateway_id, inst);
    fw_strlcpy(out->rule, inst->rule, sizeof(out->rule));
    fw_strlcpy(out->zone, inst->zone, sizeof(out->zone));
    fw_strlcpy(out->station, inst->station, sizeof(out->station));
    out->cfg_rule = rule;
    out->metric = rule->expr ? fw_expr_primary_metric(rule->expr, &out->threshold,
                                                      &out->has_threshold, &out->op)
                             : NULL;
    out->status = status;
    out->cause = cause;
    out->value = status == FW_ALERT_FIRING ? inst->trigger_value : inst->value;
    out->event_ms = inst->value_ms;
    out->started_ms = inst->fired_ms;
    out->level = level;
    out->computed_level = NAN; /* the core fills it in (fw_core_dispatch) */
    out->kind = status == FW_ALERT_FIRING ? FW_KIND_NEW : FW_KIND_RESOLVED;
    out->urgency = rule->urgency;
    out->first_sent_ms = inst->first_sent_ms;
    out->prev_expires_ms = inst->expires_ms;
    out->acked = inst->acked;
    fw_strlcpy(out->acked_by, inst->acked_by, sizeof(out->acked_by));
    out->acked_ms = inst->acked_ms;
}

/*
 * The models' values that hold for one local day: the fire model's codes and level (computed at
 * local noon) and the pest model's daily values (computed just after the local midnight ending
 * their day). Hourly ones (hffmc, disease_risk_hours) are not among them.
 */
static const char *const daily_metrics[] = {
    "ffmc",
    "dmc",
    "dc",
    "isi",
    "bui",
    "fwi",
    "nesterov_index",
    "fire_danger_level",
    "fire_danger_level_computed",
    "bureau_danger_level",
    "fire_model_missing",
    "degree_days",
    "pest_days_to_stage",
    "pest_model_missing",
    "trap_count_day",
    "trap_count_week",
};

static int is_daily(const struct fw_metric *m)
{
    for (size_t i = 0; m && i < FW_ARRAY_LEN(daily_metrics); i++)
        if (strcmp(m->name, daily_metrics[i]) == 0)
            return 1;
    return 0;
}

int fw_alert_metric_is_forecast(const struct fw_metric *m)
{
    static const char suffix[] = "_tomorrow";
    size_t n = m ? strlen(m->name) : 0;
    return n > sizeof(suffix) - 1 && strcmp(m->name + n - (sizeof(suffix) - 1), suffix) == 0;
}

void fw_alert_validity(const struct fw_config *cfg, const struct fw_alert *a, int64_t sent_ms,
                       int64_t *onset_ms, int64_t *expires_ms)
{
    const struct fw_cfg_zone *z = a->zone[0] ? fw_config_zone(cfg, a->zone) : NULL;
    const int off = fw_config_zone_offset_min(cfg, z);
    *onset_ms = a->started_ms;
    if (a->status == FW_ALERT_RESOLVED) {
        if (fw_alert_metric_is_forecast(a->metric) && a->prev_expires_ms > sent_ms &&
            fw_time__local_day_start(fw_time__local_day(a->event_ms, off) + 1, off) >=
                a->prev_expires_ms)
            /* The model moved on to the next day at midnight; the day just begun keeps what was
             * announced for it until its end. */
            *onset_ms = a->prev_expires_ms;
        *expires_ms = (*onset_ms > sent_ms ? *onset_ms : sent_ms) + FW_ALERT_RESOLVED_EXPIRES_MS;
    } else if (fw_alert_metric_is_forecast(a->metric)) {
        /* The expectation is about tomorrow: it neither starts nor ends today. */
        int64_t day = fw_time__local_day(a->event_ms, off) + 1;
        *onset_ms = fw_time__local_day_start(day, off);
        *expires_ms = fw_time__local_day_start(day + 1, off);
    } else if (is_daily(a->metric)) {
        int64_t day = fw_time__local_day(a->event_ms, off);
        int64_t sent_day = fw_time__local_day(sent_ms, off);
        *expires_ms = fw_time__local_day_start((sent_day > day ? sent_day : day) + 1, off);
    } else {
        *expires_ms = sent_ms + cfg->cap.expires_after_ms;
    }
}

void fw_actions_notify(struct fw_actions *a, const struct fw_cfg_rule *rule,
                       const struct fw_alert *alert)
{
    for (size_t i = 0; i < rule->nroutes; i++) {
        struct fw_notification *n = push(a);
        n->route = rule->route_idx[i];
        n->alert = *alert;
    }
}

const char *fw_alert_status_str(enum fw_alert_status s)
{
    return s == FW_ALERT_FIRING ? "firing" : "resolved";
}

const char *fw_alert_cause_str(enum fw_alert_cause c)
{
    switch (c) {
    case FW_CAUSE_CONDITION:
        return "condition";
    case FW_CAUSE_RECOVERED:
        return "recovered";
    case FW_CAUSE_RULE_REMOVED:
        return "rule_removed";
    case FW_CAUSE_RULE_CHANGED:
        return "rule_changed";
    case FW_CAUSE_CONTEXT_GONE:
        return "context_removed";
    }
    return "?";
}

const char *fw_alert_kind_str(enum fw_alert_kind k)
{
    static const char *const names[] = {"new", "update", "repeat", "escalate", "resolved"};
    return (unsigned)k < FW_ARRAY_LEN(names) ? names[k] : "?";
}

int fw_ack_parse(const void *payload, size_t len, int64_t now_ms, struct fw_ack *out,
                 const char **why)
{
    memset(out, 0, sizeof(*out));
    out->at_ms = now_ms;
    *why = NULL;
    cJSON *j = len <= FW_ACK_MAX_BYTES ? cJSON_ParseWithLength(payload, len) : NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(j, "by");
    const cJSON *time = cJSON_GetObjectItemCaseSensitive(j, "time");
    if (!cJSON_IsString(id) || !cJSON_IsString(by))
        *why = "needs \"id\" and \"by\" strings (at most 4 KiB of JSON)";
    else if (strlen(id->valuestring) >= sizeof(out->id) || id->valuestring[0] == '\0')
        *why = "\"id\" is not an alert id (empty or too long)";
    else if (strlen(by->valuestring) >= sizeof(out->by) || by->valuestring[0] == '\0')
        *why = "\"by\" must name who acknowledged, in at most 63 bytes";
    else if (time && (!cJSON_IsString(time) || fw_time_parse(time->valuestring, &out->at_ms) < 0))
        *why = "\"time\" must be RFC 3339 with an offset";
    if (!*why) {
        fw_strlcpy(out->id, id->valuestring, sizeof(out->id));
        fw_strlcpy(out->by, by->valuestring, sizeof(out->by));
    }
    cJSON_Delete(j);
    return *why ? -EINVAL : 0;
}
