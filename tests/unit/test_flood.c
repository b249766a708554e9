/* SPDX-License-Identifier: MIT */
/*
 * Message budgets on a fake clock: a node's burst and rate, the warning at most once a minute
 * with what the budget lost, nodes and forecasts independent of one another, and a reload that
 * refills the nodes' budgets but keeps the forecasts' and the total lost.
 */
#include "forestwatch/flood.h"
#include "cfg_test.h"
#include "test.h"

#define T0 1780300800000LL
#define CFG FW_TEST_DATA "/engine/forestwatch.json" /* nodes s1, s2, s3 */

static const struct fw_cfg_limits lim = {.node_messages_per_s = 1, .node_burst = 3};

static int take(struct fw_flood *f, size_t node, int64_t t, uint64_t *warn)
{
    return fw_flood_take(f, &lim, node, t, warn);
}

FW_TEST(burst_rate_and_warning)
{
    struct fw_config *cfg = cfg_from_file(CFG);
    ASSERT_TRUE(cfg);
    struct fw_flood *f = fw_flood_new(cfg);
    uint64_t warn = 99;
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(take(f, 0, T0, &warn), 1);
        ASSERT_EQ(warn, 0);
    }
    ASSERT_EQ(take(f, 0, T0, &warn), 0);
    ASSERT_EQ(warn, 1); /* the first drop warns */
    ASSERT_EQ(take(f, 0, T0 + 10, &warn), 0);
    ASSERT_EQ(warn, 0);                         /* not again within the minute */
    ASSERT_EQ(take(f, 0, T0 + 1010, &warn), 1); /* a second refills one token */
    ASSERT_EQ(take(f, 0, T0 + 1020, &warn), 0);
    ASSERT_EQ(warn, 0);
    for (int i = 0; i < 3; i++) /* a minute refilled the burst, no more */
        ASSERT_EQ(take(f, 0, T0 + 60000, &warn), 1);
    ASSERT_EQ(take(f, 0, T0 + 60000, &warn), 0);
    ASSERT_EQ(warn, 4); /* a minute on: warns again, with all it lost */
    ASSERT_EQ(fw_flood_dropped(f), 4);
    fw_flood_free(f);
    fw_config_free(cfg);
}

FW_TEST(budgets_independent)
{
    struct fw_config *cfg = cfg_from_file(CFG);
    ASSERT_TRUE(cfg);
    struct fw_flood *f = fw_flood_new(cfg);
    uint64_t warn;
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(take(f, 0, T0, &warn), 1);
    ASSERT_EQ(take(f, 0, T0, &warn), 0);
    ASSERT_EQ(take(f, 1, T0, &warn), 1);
    ASSERT_EQ(take(f, FW_FLOOD_FORECASTS, T0, &warn), 1);
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(take(f, FW_FLOOD_FORECASTS, T0, &warn), 1);
    ASSERT_EQ(take(f, FW_FLOOD_FORECASTS, T0, &warn), 0);
    ASSERT_EQ(warn, 1); /* its own count and its own warning */
    ASSERT_EQ(take(f, 2, T0, &warn), 1);
    ASSERT_EQ(fw_flood_dropped(f), 2);
    fw_flood_free(f);
    fw_config_free(cfg);
}

/* A reload refills the nodes' budgets; the forecasts' budget and the total lost carry over. */
FW_TEST(reset_on_reload)
{
    struct fw_config *cfg = cfg_from_file(CFG);
    ASSERT_TRUE(cfg);
    struct fw_flood *f = fw_flood_new(cfg);
    uint64_t warn;
    for (int i = 0; i < 4; i++) {
        take(f, 0, T0, &warn);
        take(f, FW_FLOOD_FORECASTS, T0, &warn);
    }
    ASSERT_EQ(fw_flood_dropped(f), 2);
    fw_flood_reset(f, cfg);
    ASSERT_EQ(fw_flood_dropped(f), 2);
    ASSERT_EQ(take(f, 0, T0, &warn), 1);
    ASSERT_EQ(take(f, FW_FLOOD_FORECASTS, T0, &warn), 0);
    ASSERT_EQ(warn, 2); /* its warning may come again at once, its count kept */
    fw_flood_free(f);
    fw_flood_free(NULL);
    fw_config_free(cfg);
}
