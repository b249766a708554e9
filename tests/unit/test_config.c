/* SPDX-License-Identifier: MIT */
/* The config API: what a valid config turns into (the error table is in tests/data/config). */
#include "forestwatch/config.h"
#include "forestwatch/log.h"
#include "test.h"

#include <errno.h>

FW_TEST(shipped_config_loads)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_SOURCE_DIR "/config/forestwatch.json", &cfg, &errs), 0);
    ASSERT_EQ(errs.n, 0);
    ASSERT_STR_EQ(cfg->gateway_id, "gw-beishan-01");
    ASSERT_STR_EQ(cfg->status_topic, "forestwatch/gw-beishan-01/status");
    ASSERT_GE(cfg->nrules, 2);
    ASSERT_EQ(cfg->nroutes, 2);
    /* Nodes are sorted and resolved to their zones. */
    for (size_t i = 1; i < cfg->nnodes; i++)
        ASSERT_LT(strcmp(cfg->nodes[i - 1].id, cfg->nodes[i].id), 0);
    const struct fw_cfg_node *n = fw_config_node(cfg, "bs07-smoke-01");
    ASSERT_TRUE(n && n->zone_ref);
    ASSERT_STR_EQ(n->zone_ref->id, "bs-07");
    ASSERT_TRUE(fw_config_node(cfg, "nope") == NULL);
    const struct fw_cfg_zone *z = fw_config_zone(cfg, "bs-03");
    ASSERT_TRUE(z);
    ASSERT_EQ(z->npolygon, 5);
    ASSERT_STR_EQ(z->forest_chief.name, "王建国");
    fw_config_free(cfg);
}

FW_TEST(defaults_and_case_insensitive_enums)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_TEST_DATA "/config/valid/three_brokers.json", &cfg, &errs), 0);
    const struct fw_cfg_broker *b = fw_config_broker(cfg, "emergency");
    ASSERT_TRUE(b);
    ASSERT_EQ(b->port, 1883);
    ASSERT_EQ(b->keepalive_s, 30);
    ASSERT_STR_EQ(b->client_id, "forestwatch-gw-3-emergency");
    ASSERT_EQ(cfg->log_level, FW_LOG_DEBUG);
    ASSERT_EQ(cfg->rules[0].severity, FW_SEV_EXTREME);
    ASSERT_EQ(cfg->rules[0].category, FW_CAT_FIRE);
    ASSERT_EQ(cfg->rules[0].op, FW_OP_GE);
    ASSERT_EQ(cfg->rules[0].nroutes, 2);
    ASSERT_STR_EQ(cfg->routes[cfg->rules[0].route_idx[1]].name, "emergency");
    ASSERT_EQ(cfg->limits.max_readings, 64);
    fw_config_free(cfg);
}

FW_TEST(missing_file_is_reported)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load("/nonexistent/forestwatch.json", &cfg, &errs), -ENOENT);
    ASSERT_TRUE(cfg == NULL);
    ASSERT_EQ(errs.n, 1);
    ASSERT_STR_CONTAINS(errs.msgs[0], "/nonexistent/forestwatch.json: cannot open");
    fw_cfg_errors_clear(&errs);
    ASSERT_EQ(errs.n, 0);
}

FW_TEST(errors_are_capped)
{
    /* A config with thousands of bad keys reports the first FW_CONFIG_MAX_ERRORS and counts
     * the rest, rather than growing without bound. */
    char path[] = "/tmp/fw-cfg-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"gateway\":{\"id\":\"g\",\"status_broker\":\"b\"");
    for (int i = 0; i < 1000; i++)
        fprintf(f, ",\"k%d\":1", i);
    fprintf(f, "}}");
    fclose(f);
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(path, &cfg, &errs), -EINVAL);
    unlink(path);
    ASSERT_EQ(errs.n, FW_CONFIG_MAX_ERRORS);
    ASSERT_GT(errs.dropped, 0);
    fw_cfg_errors_clear(&errs);
}
