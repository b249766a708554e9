/* SPDX-License-Identifier: MIT */
/* Alert records and the notification list. */
#include "forestwatch/alerts.h"

#include "forestwatch/util.h"

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

void fw_alert_from_instance(struct fw_alert *out, const char *gateway_id,
                            const struct fw_cfg_rule *rule, const struct fw_rule_instance *inst,
                            const struct fw_metric *metric, enum fw_alert_status status,
                            enum fw_alert_cause cause)
{
    memset(out, 0, sizeof(*out));
    /* Ids are short enough by construction: every part is bounded by the config and decoder. */
    snprintf(out->id, sizeof(out->id), "%s:%s:%s:%lld", gateway_id, inst->rule, inst->station,
             (long long)inst->fired_ms);
    fw_strlcpy(out->rule, inst->rule, sizeof(out->rule));
    fw_strlcpy(out->zone, inst->zone, sizeof(out->zone));
    fw_strlcpy(out->station, inst->station, sizeof(out->station));
    out->metric = metric;
    out->op = rule->op;
    out->threshold = rule->threshold;
    out->severity = rule->severity;
    out->category = rule->category;
    out->status = status;
    out->cause = cause;
    out->value = inst->last_value;
    out->event_ms = inst->last_ms;
    out->started_ms = inst->fired_ms;
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
    case FW_CAUSE_THRESHOLD:
        return "threshold";
    case FW_CAUSE_RECOVERED:
        return "recovered";
    case FW_CAUSE_RULE_REMOVED:
        return "rule_removed";
    case FW_CAUSE_RULE_CHANGED:
        return "rule_changed";
    }
    return "?";
}
