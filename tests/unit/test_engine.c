/* SPDX-License-Identifier: MIT */
/* The engine driven with a fake clock and hand-made readings: no sockets, no wall clock. */
#include "forestwatch/engine.h"
#include "cfg_test.h"
#include "engine_int.h"
#include "forestwatch/util.h"
#include "test.h"

#define T0 1780300800000LL /* 2026-06-01T08:00:00Z */

static struct fw_config *load(const char *path)
{
    return cfg_from_file(path);
}

static struct fw_reading reading(const char *station, const char *zone, const char *metric,
                                 double value, int64_t t)
{
    struct fw_reading r = {0};
    fw_strlcpy(r.station, station, sizeof(r.station));
    fw_strlcpy(r.zone, zone, sizeof(r.zone));
    r.metric = fw_metric_find(metric);
    r.value = value;
    r.time_ms = t;
    return r;
}

#define CFG FW_TEST_DATA "/engine/forestwatch.json"

FW_TEST(over_threshold_fires_once_per_route)
{
    struct fw_config *cfg = load(CFG);
    ASSERT_TRUE(cfg);
    struct fw_engine *e = fw_engine_new(cfg);
    struct fw_actions a = {0};
    struct fw_reading r = reading("s1", "z1", "smoke_ppm", 120, T0);
    ASSERT_EQ(fw_engine_feed(e, &r, T0, &a), 0);
    r = reading("s1", "z1", "smoke_ppm", 352.5, T0 + 1000);
    ASSERT_EQ(fw_engine_feed(e, &r, T0 + 1000, &a), 2);
    ASSERT_STR_EQ(cfg->routes[a.items[0].route].name, "forestry");
    ASSERT_STR_EQ(cfg->routes[a.items[1].route].name, "emergency");
    const struct fw_alert *al = &a.items[0].alert;
    ASSERT_EQ(al->status, FW_ALERT_FIRING);
    ASSERT_STR_EQ(al->rule, "smoke_high");
    ASSERT_STR_EQ(al->zone, "z1");
    ASSERT_STR_EQ(al->station, "s1");
    ASSERT_DBL_NEAR(al->value, 352.5, 0);
    ASSERT_EQ(al->event_ms, T0 + 1000);
    ASSERT_EQ(al->started_ms, T0 + 1000);
    ASSERT_STR_EQ(al->id, "gw-t:smoke_high:s1:1780300801000");
    /* Still over: no repeat. */
    fw_actions_clear(&a);
    r = reading("s1", "z1", "smoke_ppm", 400, T0 + 2000);
    ASSERT_EQ(fw_engine_feed(e, &r, T0 + 2000, &a), 0);
    struct fw_engine_stats st;
    fw_engine_stats(e, &st);
    ASSERT_EQ(st.fired, 1);
    ASSERT_EQ(st.firing, 1);
    ASSERT_EQ(st.readings, 3);
    fw_actions_free(&a);
    fw_engine_free(e);
    fw_config_free(cfg);
}

FW_TEST(back_under_resolves_with_same_id)
{
    struct fw_config *cfg = load(CFG);
    struct fw_engine *e = fw_engine_new(cfg);
    struct fw_actions a = {0};
    struct fw_reading r = reading("s1", "z1", "smoke_ppm", 500, T0);
    fw_engine_feed(e, &r, T0, &a);
    char id[FW_ALERT_MAX_ID];
    fw_strlcpy(id, a.items[0].alert.id, sizeof(id));
    fw_actions_clear(&a);
    r = reading("s1", "z1", "smoke_ppm", 300, T0 + 60000); /* not > 300 */
    ASSERT_EQ(fw_engine_feed(e, &r, T0 + 60000, &a), 2);
    ASSERT_EQ(a.items[0].alert.status, FW_ALERT_RESOLVED);
    ASSERT_EQ(a.items[0].alert.cause, FW_CAUSE_RECOVERED);
    ASSERT_STR_EQ(a.items[0].alert.id, id);
    ASSERT_EQ(a.items[0].alert.started_ms, T0);
    ASSERT_EQ(a.items[0].alert.event_ms, T0 + 60000);
    /* A new episode gets a new id. */
    fw_actions_clear(&a);
    r = reading("s1", "z1", "smoke_ppm", 301, T0 + 120000);
    ASSERT_EQ(fw_engine_feed(e, &r, T0 + 120000, &a), 2);
    ASSERT_TRUE(strcmp(a.items[0].alert.id, id) != 0);
    fw_actions_free(&a);
    fw_engine_free(e);
    fw_config_free(cfg);
}

FW_TEST(stations_are_independent)
{
    struct fw_config *cfg = load(CFG);
    struct fw_engine *e = fw_engine_new(cfg);
    struct fw_actions a = {0};
    struct fw_reading r1 = reading("s1", "z1", "smoke_ppm", 500, T0);
    struct fw_reading r2 = reading("s2", "z1", "smoke_ppm", 600, T0);
    ASSERT_EQ(fw_engine_feed(e, &r1, T0, &a), 2);
    ASSERT_EQ(fw_engine_feed(e, &r2, T0, &a), 2);
    ASSERT_STR_EQ(a.items[2].alert.station, "s2");
    struct fw_reading low = reading("s1", "z1", "smoke_ppm", 10, T0 + 1);
    fw_actions_clear(&a);
    ASSERT_EQ(fw_engine_feed(e, &low, T0 + 1, &a), 2);
    ASSERT_STR_EQ(a.items[0].alert.station, "s1");
    struct fw_engine_stats st;
    fw_engine_stats(e, &st);
    ASSERT_EQ(st.firing, 1);
    fw_actions_free(&a);
    fw_engine_free(e);
    fw_config_free(cfg);
}

FW_TEST(zone_selector_and_routes)
{
    struct fw_config *cfg = load(CFG);
    struct fw_engine *e = fw_engine_new(cfg);
    struct fw_actions a = {0};
    struct fw_reading r = reading("s1", "z1", "rel_humidity_pct", 10, T0);
    ASSERT_EQ(fw_engine_feed(e, &r, T0, &a), 0); /* dry_z2 watches z2 only */
    r = reading("s3", "z2", "rel_humidity_pct", 20, T0);
    ASSERT_EQ(fw_engine_feed(e, &r, T0, &a), 1); /* <= 20, forestry only */
    ASSERT_STR_EQ(cfg->routes[a.items[0].route].name, "forestry");
    ASSERT_EQ(a.items[0].alert.cfg_rule->severity, FW_SEV_MODERATE);
    ASSERT_EQ(a.items[0].alert.cfg_rule->category, FW_CAT_MET);
    fw_actions_free(&a);
    fw_engine_free(e);
    fw_config_free(cfg);
}

FW_TEST(late_reading_does_not_resolve)
{
    struct fw_config *cfg = load(CFG);
    struct fw_engine *e = fw_engine_new(cfg);
    struct fw_actions a = {0};
    struct fw_reading r = reading("s1", "z1", "smoke_ppm", 500, T0 + 10000);
    fw_engine_feed(e, &r, T0 + 10000, &a);
    fw_actions_clear(&a);
    /* A message delayed in the network arrives after the newer one. */
    r = reading("s1", "z1", "smoke_ppm", 20, T0);
    ASSERT_EQ(fw_engine_feed(e, &r, T0 + 11000, &a), 0);
    const struct fw_rule_instance *in = fw_engine_instance(e, "smoke_high", "s1");
    ASSERT_TRUE(in && in->phase == FW_RULE_FIRING);
    ASSERT_DBL_NEAR(in->value, 500, 0); /* the newest sample is still the current value */
    fw_actions_free(&a);
    fw_engine_free(e);
    fw_config_free(cfg);
}

FW_TEST(reload_keeps_unchanged_firing_state)
{
    struct fw_config *c1 = load(CFG);
    struct fw_engine *e1 = fw_engine_new(c1);
    struct fw_actions a = {0};
    struct fw_reading r = reading("s1", "z1", "smoke_ppm", 500, T0);
    fw_engine_feed(e1, &r, T0, &a);
    fw_actions_clear(&a);
    struct fw_config *c2 = load(FW_TEST_DATA "/engine/same.json");
    ASSERT_TRUE(c2);
    struct fw_engine *e2 = fw_engine_new(c2);
    fw_engine_adopt(e2, e1, T0 + 1, &a);
    ASSERT_EQ(a.n, 0);
    fw_engine_free(e1);
    fw_config_free(c1);
    /* Still firing: another high reading announces nothing, a low one resolves. */
    r = reading("s1", "z1", "smoke_ppm", 450, T0 + 2);
    ASSERT_EQ(fw_engine_feed(e2, &r, T0 + 2, &a), 0);
    r = reading("s1", "z1", "smoke_ppm", 45, T0 + 3);
    ASSERT_EQ(fw_engine_feed(e2, &r, T0 + 3, &a), 2);
    ASSERT_EQ(a.items[0].alert.status, FW_ALERT_RESOLVED);
    fw_actions_free(&a);
    fw_engine_free(e2);
    fw_config_free(c2);
}

FW_TEST(reload_changed_threshold_resolves_and_applies)
{
    struct fw_config *c1 = load(CFG);
    struct fw_engine *e1 = fw_engine_new(c1);
    struct fw_actions a = {0};
    struct fw_reading r = reading("s1", "z1", "smoke_ppm", 400, T0);
    fw_engine_feed(e1, &r, T0, &a);
    fw_actions_clear(&a);
    struct fw_config *c2 = load(FW_TEST_DATA "/engine/threshold500.json");
    ASSERT_TRUE(c2);
    struct fw_engine *e2 = fw_engine_new(c2);
    fw_engine_adopt(e2, e1, T0 + 1, &a);
    ASSERT_EQ(a.n, 2); /* 400 is no longer > 500 */
    ASSERT_EQ(a.items[0].alert.cause, FW_CAUSE_RULE_CHANGED);
    ASSERT_DBL_NEAR(a.items[0].alert.threshold, 500, 0);
    fw_actions_clear(&a);
    fw_engine_free(e1);
    fw_config_free(c1);
    r = reading("s1", "z1", "smoke_ppm", 450, T0 + 2);
    ASSERT_EQ(fw_engine_feed(e2, &r, T0 + 2, &a), 0);
    r = reading("s1", "z1", "smoke_ppm", 501, T0 + 3);
    ASSERT_EQ(fw_engine_feed(e2, &r, T0 + 3, &a), 2);
    fw_actions_free(&a);
    fw_engine_free(e2);
    fw_config_free(c2);
}

FW_TEST(reload_removed_rule_resolves)
{
    struct fw_config *c1 = load(CFG);
    struct fw_engine *e1 = fw_engine_new(c1);
    struct fw_actions a = {0};
    struct fw_reading r = reading("s3", "z2", "rel_humidity_pct", 5, T0);
    ASSERT_EQ(fw_engine_feed(e1, &r, T0, &a), 1);
    fw_actions_clear(&a);
    struct fw_config *c2 = load(FW_TEST_DATA "/engine/no_dry.json");
    ASSERT_TRUE(c2);
    ASSERT_EQ(c2->nrules, 1);
    struct fw_engine *e2 = fw_engine_new(c2);
    fw_engine_adopt(e2, e1, T0 + 1, &a);
    ASSERT_EQ(a.n, 1);
    ASSERT_STR_EQ(a.items[0].alert.rule, "dry_z2");
    ASSERT_EQ(a.items[0].alert.cause, FW_CAUSE_RULE_REMOVED);
    ASSERT_STR_EQ(c2->routes[a.items[0].route].name, "forestry");
    fw_actions_free(&a);
    fw_engine_free(e1);
    fw_config_free(c1);
    fw_engine_free(e2);
    fw_config_free(c2);
}

/*
 * The gateway's clock jumps back an hour (an NTP correction after a boot with a wrong clock, a
 * battery-backed clock reset): the firing alert neither resolves nor repeats, and a new
 * over-threshold reading stamped with the new, earlier time still fires at once: a fire must
 * not wait for the clock to catch up with where it was.
 */
FW_TEST(clock_jumping_back_loses_no_alert)
{
    struct fw_config *cfg = load(CFG);
    struct fw_engine *e = fw_engine_new(cfg);
    struct fw_actions a = {0};
    struct fw_reading r = reading("s1", "z1", "smoke_ppm", 500, T0);
    ASSERT_EQ(fw_engine_feed(e, &r, T0, &a), 2);
    int64_t back = T0 - 3600000;
    fw_actions_clear(&a);
    ASSERT_EQ(fw_engine_tick(e, back, &a), 0);
    ASSERT_EQ(fw_engine_tick(e, back + 60000, &a), 0);
    r = reading("s2", "z1", "smoke_ppm", 450, back + 61000);
    ASSERT_EQ(fw_engine_feed(e, &r, back + 61000, &a), 2);
    ASSERT_EQ(a.items[0].alert.status, FW_ALERT_FIRING);
    ASSERT_STR_EQ(a.items[0].alert.station, "s2");
    struct fw_engine_stats st;
    fw_engine_stats(e, &st);
    ASSERT_EQ(st.firing, 2);
    fw_actions_free(&a);
    fw_engine_free(e);
    fw_config_free(cfg);
}

/* Readings of ever new station ids (a recording full of strangers) stop making series at the
 * cap; the series held, and the alerts they feed, go on working. */
FW_TEST(series_capped_known_ones_keep_working)
{
    struct fw_config *cfg = load(CFG);
    ASSERT_TRUE(cfg);
    cfg->engine.max_series = 5;
    struct fw_engine *e = fw_engine_new(cfg);
    struct fw_actions a = {0};
    struct fw_reading r = reading("s1", "z1", "smoke_ppm", 120, T0);
    ASSERT_EQ(fw_engine_feed(e, &r, T0, &a), 0);
    char id[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "stranger-%d", i);
        r = reading(id, "z1", "smoke_ppm", 10, T0 + i);
        fw_engine_feed(e, &r, T0 + i, &a);
    }
    struct fw_engine_stats st;
    fw_engine_stats(e, &st);
    ASSERT_EQ(st.series, 5);
    ASSERT_EQ(st.series_refused, 996);
    ASSERT_EQ(st.stale, 0);
    r = reading("s1", "z1", "smoke_ppm", 352.5, T0 + 2000);
    ASSERT_EQ(fw_engine_feed(e, &r, T0 + 2000, &a), 2);
    ASSERT_STR_EQ(a.items[0].alert.station, "s1");
    fw_actions_free(&a);
    fw_engine_free(e);

    /* By default the cap is what the config can use: far below the strangers' count. */
    cfg->engine.max_series = 0;
    e = fw_engine_new(cfg);
    for (int i = 0; i < 100000; i++) {
        snprintf(id, sizeof(id), "stranger-%d", i);
        r = reading(id, "z1", "smoke_ppm", 10, T0 + i);
        fw_engine_feed(e, &r, T0 + i, &a);
    }
    fw_engine_stats(e, &st);
    ASSERT_GT(st.series_refused, 0);
    ASSERT_EQ(st.series + st.series_refused, 100000);
    fw_actions_free(&a);
    fw_engine_free(e);
    fw_config_free(cfg);
}

/* A per-station rule limited to node kinds: a silent-node rule for battery-powered field nodes
 * fires for a silent one of those kinds only, never for a station of another kind (a mains-
 * powered Modbus device, the meteorology bureau's station) that sends no battery reading. */
FW_TEST(rule_kinds_limit_station_contexts)
{
    struct fw_config *cfg = cfg_from_text(
        "{\"gateway\": {\"id\": \"gw-t\", \"status_broker\": \"b\"},"
        " \"brokers\": {\"b\": {\"host\": \"127.0.0.1\"}},"
        " \"zones\": {\"z1\": {\"name\": \"Z\", \"forest_chief\": {\"name\": \"C\"}}},"
        " \"nodes\": {\"smoke-1\": {\"zone\": \"z1\", \"kind\": \"smoke\"},"
        "             \"smoke-2\": {\"zone\": \"z1\", \"kind\": \"smoke\"},"
        "             \"A3011\": {\"zone\": \"z1\", \"kind\": \"meteo\"},"
        "             \"bare\": {\"zone\": \"z1\"}},"
        " \"routes\": {\"f\": {\"broker\": \"b\", \"topic\": \"f\"}},"
        " \"rules\": [{\"name\": \"silent\", \"expr\": \"absent_for(battery_v, 10m)\","
        "   \"kinds\": [\"smoke\", \"weather\"], \"severity\": \"Minor\", \"category\": \"Other\","
        "   \"routes\": [\"f\"]}]}");
    ASSERT_TRUE(cfg);
    ASSERT_EQ(fw_cfg_rule_nodes(cfg, &cfg->rules[0]), 2);
    /* kinds that match no node: the rule watches nothing (check-config and the daemon say so) */
    char *smoke = cfg->rules[0].kinds[0];
    cfg->rules[0].kinds[0] = "smok";
    cfg->rules[0].nkinds = 1;
    ASSERT_EQ(fw_cfg_rule_nodes(cfg, &cfg->rules[0]), 0);
    cfg->rules[0].kinds[0] = smoke;
    cfg->rules[0].nkinds = 2;
    struct fw_engine *e = fw_engine_new(cfg);
    struct fw_actions a = {0};
    fw_engine_tick(e, T0, &a);
    struct fw_reading r = reading("smoke-1", "z1", "battery_v", 3.9, T0 + 60000);
    fw_engine_feed(e, &r, T0 + 60000, &a);
    ASSERT_EQ(a.n, 0);
    fw_engine_tick(e, T0 + 10 * 60000 + 30000, &a);
    /* smoke-2 never reported; smoke-1 did a minute after the start; A3011 and bare are of
     * other kinds (bare of none) */
    ASSERT_EQ(a.n, 1);
    ASSERT_STR_EQ(a.items[0].alert.station, "smoke-2");
    fw_actions_clear(&a);
    fw_engine_tick(e, T0 + 12 * 60000, &a);
    ASSERT_EQ(a.n, 1);
    ASSERT_STR_EQ(a.items[0].alert.station, "smoke-1");
    fw_actions_free(&a);
    fw_engine_free(e);
    fw_config_free(cfg);
}

/* ---- Declared metrics -------------------------------------------------------------------- */

/* One zone and node, one route, rule RULE, and pm25_ugm3 declared with maximum MAX (or no
 * metrics at all when MAX is NULL). */
static struct fw_config *pm_config(const char *rule, const char *max)
{
    char text[2048], decl[256] = "";
    if (max)
        snprintf(decl, sizeof(decl),
                 ", \"metrics\": {\"pm25_ugm3\": {\"unit\": \"ug/m3\", \"min\": 0, \"max\": %s, "
                 "\"description\": \"PM2.5\"}}",
                 max);
    snprintf(text, sizeof(text),
             "{\"gateway\": {\"id\": \"gw-t\", \"status_broker\": \"b\"},"
             "\"brokers\": {\"b\": {\"host\": \"127.0.0.1\"}},"
             "\"zones\": {\"z1\": {\"name\": \"Zone 1\", \"forest_chief\": {\"name\": \"C\"}}},"
             "\"nodes\": {\"s1\": {\"zone\": \"z1\"}},"
             "\"routes\": {\"r\": {\"broker\": \"b\", \"topic\": \"f\"}},"
             "\"rules\": [%s]%s}",
             rule, decl);
    return cfg_from_text(text);
}

#define PM_RULE(EXPR)                                                                              \
    "{\"name\": \"pm\", \"expr\": \"" EXPR "\", \"severity\": \"Minor\", \"category\": \"Env\", "  \
    "\"routes\": [\"r\"]}"

FW_TEST(declared_metric_fires_like_builtin)
{
    struct fw_config *cfg = pm_config(PM_RULE("pm25_ugm3 > 75"), "1000");
    ASSERT_TRUE(cfg);
    fw_metric_use(cfg->metrics); /* as the daemon does when the config goes live */
    struct fw_engine *e = fw_engine_new(cfg);
    struct fw_actions a = {0};
    struct fw_reading r = reading("s1", "z1", "pm25_ugm3", 60, T0);
    ASSERT_TRUE(r.metric == fw_metric_set_at(cfg->metrics, 0));
    ASSERT_EQ(fw_engine_feed(e, &r, T0, &a), 0);
    r = reading("s1", "z1", "pm25_ugm3", 80, T0 + 1000);
    ASSERT_EQ(fw_engine_feed(e, &r, T0 + 1000, &a), 1);
    ASSERT_EQ(a.items[0].alert.status, FW_ALERT_FIRING);
    ASSERT_TRUE(a.items[0].alert.metric == r.metric);
    ASSERT_DBL_NEAR(a.items[0].alert.value, 80, 0);
    ASSERT_DBL_NEAR(a.items[0].alert.threshold, 75, 0);
    fw_actions_free(&a);
    fw_engine_free(e);
    fw_metric_use(NULL);
    fw_config_free(cfg);
}

/*
 * A reload that describes a declared metric anew (a wider range) keeps its samples, so a window
 * over it goes on as before; one that drops the declaration drops the metric's series.
 */
FW_TEST(reload_with_changed_declaration)
{
    struct fw_config *c1 = pm_config(PM_RULE("avg_over_time(pm25_ugm3[1h]) > 75"), "500");
    struct fw_config *c2 = pm_config(PM_RULE("avg_over_time(pm25_ugm3[1h]) > 75"), "1000");
    struct fw_config *c3 = pm_config(PM_RULE("smoke_ppm > 300"), NULL);
    ASSERT_TRUE(c1 && c2 && c3);
    fw_metric_use(c1->metrics);
    struct fw_engine *e1 = fw_engine_new(c1);
    struct fw_actions a = {0};
    struct fw_reading r = reading("s1", "z1", "pm25_ugm3", 100, T0);
    ASSERT_EQ(fw_engine_feed(e1, &r, T0, &a), 1);
    fw_actions_clear(&a);

    struct fw_engine *e2 = fw_engine_new(c2);
    fw_engine_adopt(e2, e1, T0 + 1, &a);
    ASSERT_EQ(a.n, 0); /* the same rule over the same quantity: still firing, nothing to say */
    fw_metric_use(c2->metrics);
    fw_engine_free(e1);
    ASSERT_DBL_NEAR(fw_metric_find("pm25_ugm3")->max, 1000, 0); /* c2's description */
    /* The mean of 100 and 60 is above 75 only with the sample from before the reload. */
    r = reading("s1", "z1", "pm25_ugm3", 60, T0 + 60000);
    ASSERT_EQ(fw_engine_feed(e2, &r, T0 + 60000, &a), 0);
    /* ... and the rule goes on: a mean of 100, 60 and 0 resolves it. */
    r = reading("s1", "z1", "pm25_ugm3", 0, T0 + 120000);
    ASSERT_EQ(fw_engine_feed(e2, &r, T0 + 120000, &a), 1);
    ASSERT_EQ(a.items[0].alert.status, FW_ALERT_RESOLVED);
    fw_actions_clear(&a);

    struct fw_engine_stats st;
    fw_engine_stats(e2, &st);
    size_t before = st.series;
    ASSERT_GE(before, 1);
    struct fw_engine *e3 = fw_engine_new(c3);
    fw_engine_adopt(e3, e2, T0 + 120001, &a);
    fw_metric_use(c3->metrics);
    fw_engine_stats(e3, &st);
    ASSERT_EQ(st.series, before - 1);
    ASSERT_TRUE(fw_metric_find("pm25_ugm3") == NULL);
    fw_actions_free(&a);
    fw_engine_free(e2);
    fw_engine_free(e3);
    fw_metric_use(NULL);
    fw_config_free(c1);
    fw_config_free(c2);
    fw_config_free(c3);
}

/*
 * Zone rules kept incrementally against the same rules recomputed: two engines on one config fed
 * the same random stream (stations, zones, metrics, values about the thresholds, late samples,
 * gaps past the lookback and the windows, a reload halfway), one of them recomputing every
 * aggregation; every notification must be the same, to the bit of its value.
 */
#define ZA_RULE(name, body)                                                                        \
    "{\"name\": \"" name "\", \"severity\": \"Severe\", \"category\": \"Fire\", "                  \
    "\"routes\": [\"forestry\"], " body "}"

static int za_same(const struct fw_actions *a, const struct fw_actions *b)
{
    if (a->n != b->n) {
        fprintf(stderr, "kept: %zu notifications, recomputed: %zu\n", a->n, b->n);
        return 0;
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct fw_alert *x = &a->items[i].alert, *y = &b->items[i].alert;
        int value = (isnan(x->value) && isnan(y->value)) ||
                    memcmp(&x->value, &y->value, sizeof(x->value)) == 0;
        if (strcmp(x->id, y->id) != 0 || x->status != y->status || x->kind != y->kind ||
            x->cause != y->cause || x->seq != y->seq || x->event_ms != y->event_ms || !value ||
            a->items[i].route != b->items[i].route) {
            fprintf(stderr,
                    "kept: %s status %d kind %d value %a; recomputed: %s status %d kind %d "
                    "value %a\n",
                    x->id, (int)x->status, (int)x->kind, x->value, y->id, (int)y->status,
                    (int)y->kind, y->value);
            return 0;
        }
    }
    return 1;
}

FW_TEST(zone_aggregates_incremental)
{
    static const char *const rules =
        ZA_RULE(
            "zc",
            "\"expr\": \"count by (zone) (smoke_ppm > 300) >= 2\", "
            "\"clear\": \"count by (zone) (smoke_ppm > 200) < 1\"") "," ZA_RULE("zmax",
                                                                                "\"expr\": \"max "
                                                                                "by (zone) "
                                                                                "(max_over_time("
                                                                                "smoke_ppm[5m])) > "
                                                                                "400\", "
                                                                                "\"for\": \"30s\"") "," ZA_RULE("zavg",
                                                                                                                "\"expr\": \"avg by (zone) (air_temp_c) > 30 and min by (zone) "
                                                                                                                "(air_temp_c) > 20\"") "," ZA_RULE("gsum",
                                                                                                                                                   "\"expr\": \"sum(co_ppm) > 50\"") "," ZA_RULE("st", "\"expr\": \"smoke_ppm > 2 * avg by (zone) (smoke_ppm)\"") "," ZA_RULE("abs", "\"expr\": \"count by (zone) (absent_for(battery_v, 5m)) >= 2\"") "," ZA_RULE("zrate",
                                                                                                                                                                                                                                                                                                                                                                   "\"expr\": \"sum by (zone) (rate(co_ppm[3m])) > 0.1\"");
    char *json = fw_xasprintf(CFG_BASE("%s", "{\"eval_interval_ms\": 15000, \"lookback_ms\": "
                                             "600000}"),
                              rules);
    struct fw_config *cfg = cfg_from_text(json);
    free(json);
    ASSERT_TRUE(cfg);
    static const char *const metrics[] = {"smoke_ppm", "air_temp_c", "co_ppm", "battery_v"};
    static const double values[][4] = {
        {0, 150, 250, 350}, {15, 25, 35, 45}, {0, 10, 30, 60}, {3.5, 3.6, 3.7, 3.8}};
    uint64_t rng = 7;
#define ZA_RAND(n) ((rng = rng * 6364136223846793005ULL + 1442695040888963407ULL) >> 33) % (n)
    struct fw_engine *kept = fw_engine_new(cfg), *fresh = fw_engine_new(cfg);
    fw_engine__recompute_aggregates(fresh, 1);
    struct fw_actions a = {0}, b = {0};
    int64_t now = T0;
    size_t notified = 0;
    for (int step = 0; step < 4000; step++) {
        now += ZA_RAND(16) ? 1000 * (int64_t)ZA_RAND(20) : 60000 * (int64_t)(1 + ZA_RAND(8));
        if (step == 2000) {
            /* A reload of the same config: the series move to new engines, whose kept values
             * start over from them. */
            struct fw_engine *k2 = fw_engine_new(cfg), *f2 = fw_engine_new(cfg);
            fw_engine__recompute_aggregates(f2, 1);
            fw_engine_adopt(k2, kept, now, &a);
            fw_engine_adopt(f2, fresh, now, &b);
            fw_engine_free(kept);
            fw_engine_free(fresh);
            kept = k2;
            fresh = f2;
        } else if (ZA_RAND(5) == 0) {
            fw_engine_tick(kept, now, &a);
            fw_engine_tick(fresh, now, &b);
        } else {
            const struct fw_cfg_node *nd = &cfg->nodes[ZA_RAND(cfg->nnodes)];
            size_t m = ZA_RAND(4);
            int64_t t = ZA_RAND(5) ? now : now - 1000 * (int64_t)ZA_RAND(120);
            struct fw_reading r = reading(nd->id, nd->zone, metrics[m], values[m][ZA_RAND(4)], t);
            fw_engine_feed(kept, &r, now, &a);
            fw_engine_feed(fresh, &r, now, &b);
        }
        ASSERT_TRUE(za_same(&a, &b));
        notified += a.n;
        fw_actions_clear(&a);
        fw_actions_clear(&b);
    }
#undef ZA_RAND
    ASSERT_GT(notified, 100); /* the stream does make the rules fire and resolve */
    fw_actions_free(&a);
    fw_actions_free(&b);
    fw_engine_free(kept);
    fw_engine_free(fresh);
    fw_config_free(cfg);
}
