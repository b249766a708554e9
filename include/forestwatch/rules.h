/* SPDX-License-Identifier: MIT */
/*
 * Rules decide, reading by reading, whether a condition holds for one station and move that
 * station's rule instance through its states. This rules are thresholds
 * (`metric op threshold`, optionally limited to zones); the interface is the one the rule
 * language will use: a rule says whether a reading concerns it, evaluates its condition, and an
 * instance steps INACTIVE -> FIRING -> INACTIVE, reporting each transition.
 *
 * Instances are keyed by (rule name, station), so they can be carried across a config reload.
 */
#ifndef FORESTWATCH_RULES_H
#define FORESTWATCH_RULES_H

#include <stdint.h>

#include "forestwatch/config.h"
#include "forestwatch/reading.h"

enum fw_rule_phase {
    FW_RULE_INACTIVE,
    FW_RULE_FIRING,
};

enum fw_rule_transition {
    FW_RULE_NONE,     /* nothing to announce */
    FW_RULE_FIRED,    /* the condition started to hold */
    FW_RULE_RESOLVED, /* the condition stopped holding */
};

struct fw_rule_instance {
    char rule[FW_CONFIG_MAX_ID + 1];
    char station[FW_READING_MAX_ID];
    char zone[FW_READING_MAX_ID];
    enum fw_rule_phase phase;
    int64_t fired_ms;     /* time of the reading that fired the current or last episode */
    int64_t last_ms;      /* time of the newest reading evaluated */
    double last_value;    /* its value */
    double trigger_value; /* the value that fired the instance */
};

/** 1 when `r` is about `rd`'s metric and, if the rule names zones, `rd`'s zone is one of them. */
int fw_rule_applies(const struct fw_cfg_rule *r, const struct fw_reading *rd);

/** Evaluate the rule's condition on a value. */
int fw_rule_condition(const struct fw_cfg_rule *r, double value);

/**
 * Step an instance with a reading's value and time. A reading older than the newest one already
 * evaluated is ignored (FW_RULE_NONE): the instance reflects the latest state of the station,
 * and a late message must not resolve a fire that a newer reading still shows.
 */
enum fw_rule_transition fw_rule_step(const struct fw_cfg_rule *r, struct fw_rule_instance *inst,
                                     double value, int64_t t_ms);

#endif
