/* SPDX-License-Identifier: MIT */
/*
 * Threshold rules and the per-station instance state machine. Comparisons are plain IEEE double
 * comparisons on values already checked finite by the decoders.
 */
#include "forestwatch/rules.h"

#include <string.h>

int fw_rule_applies(const struct fw_cfg_rule *r, const struct fw_reading *rd)
{
    if (strcmp(r->metric, rd->metric->name) != 0)
        return 0;
    if (!r->zones)
        return 1;
    for (size_t i = 0; i < r->nzones; i++)
        if (strcmp(r->zones[i], rd->zone) == 0)
            return 1;
    return 0;
}

int fw_rule_condition(const struct fw_cfg_rule *r, double value)
{
    switch (r->op) {
    case FW_OP_GT:
        return value > r->threshold;
    case FW_OP_GE:
        return value >= r->threshold;
    case FW_OP_LT:
        return value < r->threshold;
    case FW_OP_LE:
        return value <= r->threshold;
    case FW_OP_EQ:
        return value == r->threshold;
    case FW_OP_NE:
        return value != r->threshold;
    }
    return 0;
}

enum fw_rule_transition fw_rule_step(const struct fw_cfg_rule *r, struct fw_rule_instance *inst,
                                     double value, int64_t t_ms)
{
    if (inst->last_ms && t_ms < inst->last_ms)
        return FW_RULE_NONE;
    inst->last_ms = t_ms;
    inst->last_value = value;
    int cond = fw_rule_condition(r, value);
    if (cond && inst->phase == FW_RULE_INACTIVE) {
        inst->phase = FW_RULE_FIRING;
        inst->fired_ms = t_ms;
        inst->trigger_value = value;
        return FW_RULE_FIRED;
    }
    if (!cond && inst->phase == FW_RULE_FIRING) {
        inst->phase = FW_RULE_INACTIVE;
        return FW_RULE_RESOLVED;
    }
    return FW_RULE_NONE;
}
