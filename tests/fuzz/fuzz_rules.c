/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the rule expression language (gateway/expr.c). The input, cut at its
 * first NUL and capped at 8 KiB, is compiled both as a value and as a condition. A failed parse
 * must say where (a position inside the text) and what; one that parses is evaluated once in a
 * station, a zone and the global context against a small fixed config and series store (built
 * on the first call), and must keep the language's promises: a condition is 1, 0 or NaN, the
 * scope is one of the three, the source text is kept as given, ranges are at most 31 days, and
 * nothing reads outside its memory (ASan) or leaks (LeakSanitizer).
 */
#include "forestwatch/config.h"
#include "forestwatch/expr.h"
#include "forestwatch/reading.h"
#include "forestwatch/series.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 8192
#define NOW_MS 1780000000000LL /* 2026-05-28T20:26:40Z: any fixed time will do */

/* Violations abort, so that the replay driver fails too (FW_ASSERT aborts with file:line). */
#define CHECK(cond) FW_ASSERT(cond)

/* ------------------------------------------------------------------------------------------ */
/* The fixed world: the shipped demo's two zones and five nodes, and a few samples            */
/* ------------------------------------------------------------------------------------------ */

static struct fw_cfg_zone zones[] = {
    {.id = "bs-03", .name = "北山林场 3 号网格"},
    {.id = "bs-07", .name = "北山林场 7 号网格"},
};

/* Sorted by id, as the loader leaves them: fw_config_node searches by bisection. */
static struct fw_cfg_node nodes[] = {
    {.id = "bs03-smoke-01", .zone = "bs-03", .kind = "smoke"},
    {.id = "bs03-smoke-02", .zone = "bs-03", .kind = "smoke"},
    {.id = "bs03-wx-01", .zone = "bs-03", .kind = "weather"},
    {.id = "bs07-smoke-01", .zone = "bs-07", .kind = "smoke"},
    {.id = "bs07-wx-01", .zone = "bs-07", .kind = "weather"},
};

static struct fw_config cfg;
static size_t zone_nodes_03[] = {0, 1, 2}, zone_nodes_07[] = {3, 4};
static const size_t *const zone_nodes[] = {zone_nodes_03, zone_nodes_07};
static const size_t zone_nnodes[] = {3, 2};
static struct fw_expr_env env;

static void add(const char *metric, const char *key, const char *zone, enum fw_source_kind src,
                int64_t ago_ms, double v)
{
    const struct fw_metric *m = fw_metric_find(metric);
    FW_ASSERT(m);
    FW_ASSERT(fw_series_add((struct fw_series_store *)env.series, m, key, zone, src,
                            NOW_MS - ago_ms, v, NOW_MS) == 0);
}

static void world_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    for (size_t i = 0; i < FW_ARRAY_LEN(nodes); i++)
        nodes[i].zone_ref = &zones[nodes[i].zone[3] == '3' ? 0 : 1];
    cfg.gateway_id = "gw-fuzz";
    cfg.zones = zones;
    cfg.nzones = FW_ARRAY_LEN(zones);
    cfg.nodes = nodes;
    cfg.nnodes = FW_ARRAY_LEN(nodes);
    cfg.engine.eval_interval_ms = 15000;
    cfg.engine.lookback_ms = 3600000;
    cfg.engine.max_samples = 64;

    int n;
    fw_metric_table(&n);
    struct fw_series_limits *lim = fw_xcalloc((size_t)n, sizeof(*lim));
    for (int i = 0; i < n; i++)
        lim[i] = (struct fw_series_limits){.retain_ms = FW_EXPR_MAX_RANGE_MS * 2, .cap = 64};
    env.series = fw_series_store_new(lim, n);
    free(lim);
    env.cfg = &cfg;
    env.zone_nodes = zone_nodes;
    env.zone_nnodes = zone_nnodes;
    env.lookback_ms = cfg.engine.lookback_ms;
    env.start_ms = NOW_MS - 2 * 3600000LL;

    /* A smoke spike with a drop (a counter reset for rate()), one quiet smoke node. */
    static const double smoke[] = {12, 15, 40, 180, 352.5, 20, 410};
    for (int i = 0; i < (int)FW_ARRAY_LEN(smoke); i++)
        add("smoke_ppm", "bs03-smoke-01", "bs-03", FW_SOURCE_MQTT_NATIVE,
            (int64_t)(FW_ARRAY_LEN(smoke) - 1 - i) * 60000, smoke[i]);
    add("smoke_ppm", "bs07-smoke-01", "bs-07", FW_SOURCE_MQTT_NATIVE, 30000, 8);
    add("co_ppm", "bs03-smoke-02", "bs-03", FW_SOURCE_MQTT_NATIVE, 5000, 55);
    for (int i = 0; i < 5; i++)
        add("air_temp_c", "bs03-wx-01", "bs-03", FW_SOURCE_MQTT_NATIVE, i * 120000, 24.1 + i);
    add("rel_humidity_pct", "bs03-wx-01", "bs-03", FW_SOURCE_MQTT_NATIVE, 1000, 18);
    /* Stale: older than the lookback, so an instant read is unknown. */
    add("battery_v", "bs07-wx-01", "bs-07", FW_SOURCE_MQTT_NATIVE, 2 * 3600000LL, 3.1);
    add("ffmc", "bs-03", "bs-03", FW_SOURCE_DERIVED, 600000, 91.5);
    add("fwi", "bs-07", "bs-07", FW_SOURCE_DERIVED, 600000, 31.0);
    add("fire_danger_level", "bs-03", "bs-03", FW_SOURCE_DERIVED, 600000, 4);
}

/* ------------------------------------------------------------------------------------------ */
/* Checks                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static int is_condition_value(double v)
{
    return isnan(v) || v == 0 || v == 1;
}

static void check_parsed(const struct fw_expr *e, const char *src, int is_condition)
{
    enum fw_expr_scope scope = fw_expr_scope(e);
    CHECK(scope == FW_EXPR_GLOBAL || scope == FW_EXPR_ZONE || scope == FW_EXPR_STATION);
    CHECK(fw_expr_scope_str(scope) != NULL);
    CHECK(strcmp(fw_expr_source(e), src) == 0);
    CHECK(fw_expr_time_dependent(e) == 0 || fw_expr_time_dependent(e) == 1);

    int n;
    const struct fw_metric *table = fw_metric_table(&n);
    for (int i = 0; i < n; i++) {
        int64_t r = fw_expr_range_ms(e, &table[i]);
        CHECK(r >= -1 && r <= FW_EXPR_MAX_RANGE_MS);
        enum fw_expr_reach reach = fw_expr_reach(e, &table[i]);
        CHECK(reach >= FW_REACH_NONE && reach <= FW_REACH_ALL);
        /* A metric is read (range >= 0) exactly when a sample of it reaches some context. */
        CHECK((r >= 0) == (reach != FW_REACH_NONE));
    }

    double threshold = 0;
    int has_threshold = 0;
    const char *op = NULL;
    const struct fw_metric *pm = fw_expr_primary_metric(e, &threshold, &has_threshold, &op);
    CHECK(pm == NULL || (pm >= table && pm < table + n));
    CHECK(has_threshold == 0 || has_threshold == 1);

    /* Every context, whatever the scope: a context the rule does not need reads unknowns. */
    struct fw_expr_ctx ctxs[] = {
        {.env = &env, .now_ms = NOW_MS, .station = &nodes[0]},
        {.env = &env, .now_ms = NOW_MS, .station = &nodes[4]},
        {.env = &env, .now_ms = NOW_MS, .zone = &zones[0]},
        {.env = &env, .now_ms = NOW_MS, .zone = &zones[1]},
        {.env = &env, .now_ms = NOW_MS},
    };
    for (size_t k = 0; k < FW_ARRAY_LEN(ctxs); k++) {
        struct fw_expr_primary p;
        double v = fw_expr_eval(e, &ctxs[k], &p);
        if (is_condition)
            CHECK(is_condition_value(v));
        CHECK(p.time_ms <= NOW_MS);
        /* Evaluation is a pure function of its inputs. */
        double again = fw_expr_eval(e, &ctxs[k], NULL);
        CHECK((isnan(v) && isnan(again)) || v == again);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    world_init();
    /* Exactly the text plus its NUL, so that ASan catches a read past the end. */
    char *src = malloc(size + 1);
    if (!src)
        return 0;
    memcpy(src, data, size);
    src[size] = '\0';
    size_t len = strlen(src);

    int parsed[2] = {0, 0};
    for (int want = 0; want <= 1; want++) {
        struct fw_expr *e = (struct fw_expr *)1;
        struct fw_expr_error err;
        int rc = fw_expr_parse(src, want, &e, &err);
        CHECK(rc == 0 || rc == -EINVAL);
        if (rc != 0) {
            CHECK(e == NULL);
            CHECK(err.msg[0] != '\0');
            CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
            CHECK(err.pos >= 0 && (size_t)err.pos <= len);
            continue;
        }
        parsed[want] = 1;
        CHECK(e != NULL);
        /* A condition parsed as a value is still a condition; want_condition only checks. */
        struct fw_expr_error err2;
        struct fw_expr *cond = NULL;
        int is_condition = want || fw_expr_parse(src, 1, &cond, &err2) == 0;
        fw_expr_free(cond);
        check_parsed(e, src, is_condition);
        fw_expr_free(e);
    }
    /* Whatever parses as a condition parses as a value. */
    CHECK(!parsed[1] || parsed[0]);
    free(src);
    return 0;
}
