/* SPDX-License-Identifier: MIT */
/*
 * Rule instances: one per (rule, context), where the context is a station, a zone or the whole
 * gateway (the rule's scope, inferred from its expression). An instance moves through
 *
 *   INACTIVE --expr true--> PENDING --true for `for`--> FIRING --resolved--> INACTIVE
 *
 * (straight to FIRING when `for` is 0). A firing instance resolves when `clear` holds, if the
 * rule has one; otherwise when expr has been false for `keep_firing_for`. Unknown (missing data)
 * breaks a pending wait but never resolves a firing alert: a smoke sensor that falls silent in
 * a fire must not end the alert; the station-silent rule reports the silence.
 */
#ifndef FORESTWATCH_RULES_H
#define FORESTWATCH_RULES_H

#include <stdint.h>

#include "forestwatch/config.h"
#include "forestwatch/reading.h"

enum fw_rule_phase {
    FW_RULE_INACTIVE,
    FW_RULE_PENDING,
    FW_RULE_FIRING,
};

enum fw_rule_transition {
    FW_RULE_NONE,     /* nothing to announce */
    FW_RULE_FIRED,    /* the alert starts */
    FW_RULE_RESOLVED, /* the alert ends */
};

struct fw_rule_instance {
    char rule[FW_CONFIG_MAX_ID + 1];
    char key[FW_READING_MAX_ID];     /* the context: station id, zone id, or "" (global) */
    char station[FW_READING_MAX_ID]; /* "" unless the scope is per station */
    char zone[FW_READING_MAX_ID];    /* "" for the global scope */
    enum fw_rule_phase phase;
    int64_t pending_since_ms; /* when expr started to hold (PENDING) */
    int64_t fired_ms;         /* when the current or last episode began */
    int64_t last_true_ms;     /* the last evaluation at which expr held */
    int64_t last_eval_ms;
    double value;         /* the primary value at the last evaluation */
    int64_t value_ms;     /* its time */
    double trigger_value; /* the primary value when the episode began */

    /* The episode's messages, kept by the alert manager (engine.c). */
    uint32_t seq;          /* messages sent for the episode; its first (the Alert) is 1 */
    int64_t first_sent_ms; /* when the first went out: what later ones reference */
    int64_t last_sent_ms;  /* when the latest went out: repeats count from here */
    int64_t expires_ms;    /* when the latest stops being in effect (fw_alert_validity) */
    double sent_value;     /* the value and zone level in the latest message */
    double sent_level;
    int announced; /* the first message went out (inhibition may hold it back) */
    int escalated;
    int acked;
    char acked_by[FW_READING_MAX_ID];
    int64_t acked_ms;
};

/**
 * Step an instance with the results of one evaluation at time t_ms: `cond` is expr's value,
 * `clear` is the clear condition's value (ignored when the rule has none); each is 1, 0 or NaN.
 */
enum fw_rule_transition fw_rule_step(const struct fw_cfg_rule *r, struct fw_rule_instance *in,
                                     double cond, double clear, int64_t t_ms);

const char *fw_rule_phase_str(enum fw_rule_phase p);

#endif
