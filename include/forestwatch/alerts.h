/* SPDX-License-Identifier: MIT */
/*
 * Alert records and the notifications the engine asks the shell to publish. An alert is one
 * episode of one rule at one station: it fires once, and resolves once. Its id is stable for the
 * episode ("<gateway>:<rule>:<station>:<start ms>"), so a bureau's system that sees a message
 * twice (QoS 1 is at-least-once) can tell it is the same alert.
 *
 * A notification is a self-contained snapshot: it copies what a message needs from the rule,
 * so it can still be rendered after a reload has replaced the config the rule came from.
 */
#ifndef FORESTWATCH_ALERTS_H
#define FORESTWATCH_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/config.h"
#include "forestwatch/reading.h"
#include "forestwatch/rules.h"

#define FW_ALERT_MAX_ID 224

enum fw_alert_status { FW_ALERT_FIRING, FW_ALERT_RESOLVED };

enum fw_alert_cause {
    FW_CAUSE_THRESHOLD,    /* a reading crossed into the condition */
    FW_CAUSE_RECOVERED,    /* a reading is back on the safe side */
    FW_CAUSE_RULE_REMOVED, /* a reload removed the rule */
    FW_CAUSE_RULE_CHANGED, /* a reload changed the rule and the last value no longer matches */
};

struct fw_alert {
    char id[FW_ALERT_MAX_ID];
    char rule[FW_CONFIG_MAX_ID + 1];
    char zone[FW_READING_MAX_ID];
    char station[FW_READING_MAX_ID];
    const struct fw_metric *metric;
    enum fw_cmp_op op;
    double threshold;
    enum fw_severity severity;
    enum fw_category category;
    enum fw_alert_status status;
    enum fw_alert_cause cause;
    double value;       /* the value behind this notification */
    int64_t event_ms;   /* the time of that value */
    int64_t started_ms; /* when the episode began */
};

struct fw_notification {
    size_t route; /* index into the routes of the engine's config */
    struct fw_alert alert;
};

/* A growable list the caller owns and reuses; the engine appends to it. */
struct fw_actions {
    struct fw_notification *items;
    size_t n, cap;
};

/** Forget the items (keeps the memory for reuse). */
void fw_actions_clear(struct fw_actions *a);
/** Release the memory. */
void fw_actions_free(struct fw_actions *a);

/**
 * Fill `out` from an instance that just changed state under `rule`. `gateway_id` goes into the id.
 */
void fw_alert_from_instance(struct fw_alert *out, const char *gateway_id,
                            const struct fw_cfg_rule *rule, const struct fw_rule_instance *inst,
                            const struct fw_metric *metric, enum fw_alert_status status,
                            enum fw_alert_cause cause);

/** Append one notification per route of `rule` (route indexes of the config `rule` is in). */
void fw_actions_notify(struct fw_actions *a, const struct fw_cfg_rule *rule,
                       const struct fw_alert *alert);

const char *fw_alert_status_str(enum fw_alert_status s);
const char *fw_alert_cause_str(enum fw_alert_cause c);

#endif
