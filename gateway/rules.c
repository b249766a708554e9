/* SPDX-License-Identifier: MIT */
/* The rule instance state machine (see rules.h for the states and the reasons). */
#include "forestwatch/rules.h"

#include <math.h>

enum fw_rule_transition fw_rule_step(const struct fw_cfg_rule *r, struct fw_rule_instance *in,
                                     double cond, double clear, int64_t t_ms)
{
    int holds = cond == 1;
    in->last_eval_ms = t_ms;
    if (holds)
        in->last_true_ms = t_ms;
    switch (in->phase) {
    case FW_RULE_INACTIVE:
        if (!holds)
            return FW_RULE_NONE;
        in->pending_since_ms = t_ms;
        if (r->for_ms > 0) {
            in->phase = FW_RULE_PENDING;
            return FW_RULE_NONE;
        }
        break;
    case FW_RULE_PENDING:
        /* Anything but a definite true (false, or no data) restarts the wait. */
        if (!holds) {
            in->phase = FW_RULE_INACTIVE;
            return FW_RULE_NONE;
        }
        if (t_ms - in->pending_since_ms < r->for_ms)
            return FW_RULE_NONE;
        break;
    case FW_RULE_FIRING:
        if (r->clear) {
            if (clear != 1 || t_ms - in->last_true_ms < r->keep_firing_for_ms)
                return FW_RULE_NONE;
        } else if (cond != 0 || t_ms - in->last_true_ms < r->keep_firing_for_ms) {
            return FW_RULE_NONE;
        }
        in->phase = FW_RULE_INACTIVE;
        return FW_RULE_RESOLVED;
    }
    in->phase = FW_RULE_FIRING;
    in->fired_ms = t_ms;
    in->trigger_value = in->value;
    return FW_RULE_FIRED;
}

const char *fw_rule_phase_str(enum fw_rule_phase p)
{
    return p == FW_RULE_FIRING ? "firing" : p == FW_RULE_PENDING ? "pending" : "inactive";
}
