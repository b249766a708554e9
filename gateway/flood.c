/* SPDX-License-Identifier: MIT */
/*
 * Message budgets against floods (include/forestwatch/flood.h): a token bucket and a warning
 * limiter per node, one more for the forecasts. They moved out of the daemon so that the rule,
 * and its warning once a minute, can be tested on a fake clock.
 */
#include "forestwatch/flood.h"

#include "forestwatch/ratelimit.h"
#include "forestwatch/util.h"

#include <stdlib.h>

struct budget {
    struct fw_tokens tokens;
    struct fw_ratelimit said; /* one warning a minute */
    uint64_t dropped;
};

struct fw_flood {
    struct budget *node; /* per node of the config */
    size_t nnodes;
    struct budget forecasts; /* forecasts name no node: one budget for all of them */
    uint64_t dropped;
};

static const struct fw_ratelimit once_a_minute = {.interval_ms = 60000, .burst = 1};

void fw_flood_reset(struct fw_flood *f, const struct fw_config *cfg)
{
    free(f->node);
    f->nnodes = cfg->nnodes;
    f->node = fw_xcalloc(cfg->nnodes + 1, sizeof(*f->node));
    for (size_t i = 0; i < cfg->nnodes; i++)
        f->node[i].said = once_a_minute;
    f->forecasts.said = once_a_minute;
}

struct fw_flood *fw_flood_new(const struct fw_config *cfg)
{
    struct fw_flood *f = fw_xcalloc(1, sizeof(*f));
    fw_flood_reset(f, cfg);
    return f;
}

void fw_flood_free(struct fw_flood *f)
{
    if (!f)
        return;
    free(f->node);
    free(f);
}

int fw_flood_take(struct fw_flood *f, const struct fw_cfg_limits *limits, size_t node,
                  int64_t now_ms, uint64_t *warn)
{
    FW_ASSERT(node == FW_FLOOD_FORECASTS || node < f->nnodes);
    struct budget *b = node == FW_FLOOD_FORECASTS ? &f->forecasts : &f->node[node];
    *warn = 0;
    if (fw_tokens_take(&b->tokens, limits->node_messages_per_s, limits->node_burst, now_ms))
        return 1;
    b->dropped++;
    f->dropped++;
    uint64_t quiet = 0;
    if (fw_ratelimit_allow(&b->said, now_ms, &quiet))
        *warn = b->dropped;
    return 0;
}

uint64_t fw_flood_dropped(const struct fw_flood *f)
{
    return f->dropped;
}
