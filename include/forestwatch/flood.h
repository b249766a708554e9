/* SPDX-License-Identifier: MIT */
/*
 * Message budgets against floods: each node of the config has a token bucket of
 * limits.node_messages_per_s with limits.node_burst, and the meteorology feed's forecasts, which
 * name no node, share one of the same size. A node that floods (a stuck firmware loop, a replay
 * attack) loses its excess messages, so that it cannot crowd out the others or fill the
 * recordings; the driver warns about it at most once a minute per budget, with what it lost.
 *
 * Pure: the time is passed in, and the warning goes back to the driver as a count to log. All
 * calls from one thread.
 */
#ifndef FORESTWATCH_FLOOD_H
#define FORESTWATCH_FLOOD_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/config.h"

#define FW_FLOOD_FORECASTS SIZE_MAX /* the budget of the meteorology feed's forecasts */

struct fw_flood;

/** Budgets for the nodes of `cfg`, all full. */
struct fw_flood *fw_flood_new(const struct fw_config *cfg);

/**
 * After a reload: fresh budgets for the nodes of `cfg`. The forecasts' budget and the counts of
 * what was lost carry over; every budget may warn again at once.
 */
void fw_flood_reset(struct fw_flood *f, const struct fw_config *cfg);

/** Release. NULL is a no-op. */
void fw_flood_free(struct fw_flood *f);

/**
 * Take one message of node `node` (its index in the config's nodes, or FW_FLOOD_FORECASTS) at
 * `now_ms` from its budget, under `limits`. Returns 1 when the budget allows it; 0 when it is
 * dropped, and then `*warn` is what the budget has lost so far when a warning is due (at most
 * once a minute), else 0.
 */
int fw_flood_take(struct fw_flood *f, const struct fw_cfg_limits *limits, size_t node,
                  int64_t now_ms, uint64_t *warn);

/** Messages dropped because their budget was spent, in all since fw_flood_new(). */
uint64_t fw_flood_dropped(const struct fw_flood *f);

#endif
