/* SPDX-License-Identifier: MIT */
/*
 * Alert records and the notifications the engine asks the shell to publish. An alert is one
 * episode of one rule at one station: it fires once, and resolves once. Its id is stable for the
 * episode ("<gateway>:<rule>:<context>:<start ms>"), so a bureau's system that sees a message
 * twice (QoS 1 is at-least-once) can tell it is the same alert.
 *
 * A notification is a snapshot taken when the alert changed; it points at its rule for the
 * templates, so the shell renders it before the config that rule belongs to is released.
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

/* What a message says about its episode (CAP msgType in brackets). */
enum fw_alert_kind {
    FW_KIND_NEW,      /* the alert starts (Alert) */
    FW_KIND_UPDATE,   /* its value or the zone's level changed materially (Update) */
    FW_KIND_REPEAT,   /* still firing and not acknowledged after repeat_every (Update) */
    FW_KIND_ESCALATE, /* not acknowledged in time: urgency raised, more routes (Update) */
    FW_KIND_RESOLVED, /* the alert ends (Update, all clear) */
};

enum fw_alert_cause {
    FW_CAUSE_CONDITION,    /* the rule's condition held (for its `for`) */
    FW_CAUSE_RECOVERED,    /* the condition stopped holding, or its clear condition held */
    FW_CAUSE_RULE_REMOVED, /* a reload removed the rule */
    FW_CAUSE_RULE_CHANGED, /* a reload changed the rule and it no longer holds */
    FW_CAUSE_CONTEXT_GONE, /* a reload removed the station or zone the alert was about */
};

struct fw_alert {
    char id[FW_ALERT_MAX_ID];
    char rule[FW_CONFIG_MAX_ID + 1];
    char zone[FW_READING_MAX_ID];    /* "" for a global rule */
    char station[FW_READING_MAX_ID]; /* "" unless the rule is per station */
    /*
     * The rule, for its severity, templates and labels. Valid while the config it belongs to
     * lives: the shell renders notifications before it frees a replaced config.
     */
    const struct fw_cfg_rule *cfg_rule;
    const struct fw_metric *metric; /* of the primary value, or NULL */
    const char *op;                 /* of the primary comparison, or NULL (static string) */
    double threshold;               /* its constant right side, when has_threshold */
    int has_threshold;
    enum fw_alert_status status;
    enum fw_alert_cause cause;
    double value;          /* the primary value behind this notification (NaN when unknown) */
    int64_t event_ms;      /* its time */
    int64_t started_ms;    /* when the episode began */
    double level;          /* the zone's fire-danger level at that time, NaN when unknown */
    double computed_level; /* the level the zone's model computed, NaN when unknown */
    int level_bureau;      /* `level` is the meteorology bureau's published one */
    enum fw_alert_kind kind;
    uint32_t seq;            /* the message's number within the episode, from 1 */
    int64_t sent_ms;         /* the message's time (the engine's clock) */
    int64_t first_sent_ms;   /* the episode's first message's time, for references */
    int64_t prev_expires_ms; /* when the episode's latest earlier message expires; 0: none */
    enum fw_urgency urgency; /* the rule's, raised one step by an escalation */
    int acked;
    char acked_by[FW_READING_MAX_ID];
    int64_t acked_ms;
    /* The pest stage of the alert's zone, for {pest}, {pest_stage} and {pest_action}: the pest
     * its pest_days_to_stage is about, with that stage's name and action text. The engine leaves
     * them ""; the shell fills them from the pest model before rendering. */
    char pest[FW_READING_MAX_ID];
    char pest_stage[FW_READING_MAX_ID];
    char pest_action[FW_PESTS_MAX_ACTION];
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
 * The id of the open episode of `inst` (the "id" of its messages, what an acknowledgement names)
 * into `buf` of `size` bytes (FW_ALERT_MAX_ID is always enough).
 */
void fw_alert_instance_id(char *buf, size_t size, const char *gateway_id,
                          const struct fw_rule_instance *inst);

/**
 * Fill `out` from an instance that just changed state under `rule`. `gateway_id` goes into the
 * id; `level` is the zone's fire-danger level (NaN when unknown).
 */
void fw_alert_from_instance(struct fw_alert *out, const char *gateway_id,
                            const struct fw_cfg_rule *rule, const struct fw_rule_instance *inst,
                            enum fw_alert_status status, enum fw_alert_cause cause, double level);

/*
 * How long the message of a resolved alert stays in effect: long enough for every receiver to
 * take in the all-clear (one that drops expired messages unread would keep the alert up), short
 * enough not to linger.
 */
#define FW_ALERT_RESOLVED_EXPIRES_MS (3600 * 1000LL)

/**
 * When the information in a message of `a` sent at `sent_ms` begins and stops being in effect
 * (CAP <onset> and <expires>, docs/cap.md "Expiry"), in UTC ms, by the kind of its primary
 * metric, with local days at the zone's offset (fw_config_zone_offset_min):
 *   - resolved: onset the episode's start, expires FW_ALERT_RESOLVED_EXPIRES_MS after sent_ms;
 *     but a forecast's all-clear that comes because its day has begun (the value is now about a
 *     later day than the message before it) takes effect when that message expires: the day it
 *     announced keeps its expectation to its end;
 *   - a forecast for tomorrow (a metric named "*_tomorrow"): tomorrow's local day, from the
 *     value's time, from its first to its last moment (expires is the next midnight);
 *   - a value the models derive once a day (the fire-danger codes and level, the pest model's
 *     daily values): onset the episode's start, expires at the end of the local day of the value,
 *     or of sent_ms when that is later (a message sent on a later day);
 *   - anything else: onset the episode's start, expires cfg->cap.expires_after_ms after sent_ms.
 * Pure; any thread.
 */
/** 1 when `m` is a forecast for tomorrow (a metric named "*_tomorrow"), else 0 (NULL too). */
int fw_alert_metric_is_forecast(const struct fw_metric *m);

void fw_alert_validity(const struct fw_config *cfg, const struct fw_alert *a, int64_t sent_ms,
                       int64_t *onset_ms, int64_t *expires_ms);

/** Append one notification per route of `rule` (route indexes of the config `rule` is in). */
void fw_actions_notify(struct fw_actions *a, const struct fw_cfg_rule *rule,
                       const struct fw_alert *alert);

/* The largest acknowledgement message accepted, in bytes. */
#define FW_ACK_MAX_BYTES 4096

/* A duty officer's acknowledgement, as read from the ack topic. */
struct fw_ack {
    char id[FW_ALERT_MAX_ID];
    char by[FW_READING_MAX_ID];
    int64_t at_ms; /* its "time", or the `now_ms` given to fw_ack_parse when it has none */
};

/**
 * Read an acknowledgement message: {"id": "<alert id>", "by": "<who>", "time": "<RFC 3339>"}
 * ("time" optional) of `len` bytes (need not be NUL-terminated). Returns 0, or -EINVAL with
 * *why set to a static reason. Pure; any thread.
 */
int fw_ack_parse(const void *payload, size_t len, int64_t now_ms, struct fw_ack *out,
                 const char **why);

const char *fw_alert_status_str(enum fw_alert_status s);
const char *fw_alert_kind_str(enum fw_alert_kind k);
const char *fw_alert_cause_str(enum fw_alert_cause c);

#endif
