/* SPDX-License-Identifier: MIT */
/*
 * Rule semantics through the engine with a fake clock: `for`, `keep_firing_for`, the clear
 * condition (hysteresis), missing data, absent_for, aggregation by zone, late samples, and a
 * reload that changes one rule while the others keep their pending timers.
 */
#include "forestwatch/engine.h"
#include "forestwatch/util.h"
#include "cfg_test.h"
#include "test.h"

#define T0 1780300800000LL /* a multiple of the 15 s instants */
#define SEC 1000LL
#define MIN 60000LL

#define ENGINE15 "{\"eval_interval_ms\": 15000, \"lookback_ms\": 600000}"

struct run {
    struct fw_config *cfg;
    struct fw_engine *e;
    struct fw_actions a;
};

static int run_init(struct run *r, const char *json)
{
    memset(r, 0, sizeof(*r));
    r->cfg = cfg_from_text(json);
    if (!r->cfg)
        return -1;
    r->e = fw_engine_new(r->cfg);
    fw_engine_tick(r->e, T0 - 1, &r->a); /* start the clock just before T0 */
    return 0;
}

static void run_free(struct run *r)
{
    fw_actions_free(&r->a);
    fw_engine_free(r->e);
    fw_config_free(r->cfg);
}

/* A reading sampled at t that arrives at now. */
static size_t feed_at(struct run *r, const char *station, const char *metric, double v, int64_t t,
                      int64_t now)
{
    struct fw_reading rd = {0};
    const struct fw_cfg_node *n = fw_config_node(r->cfg, station);
    fw_strlcpy(rd.station, n ? station : "", sizeof(rd.station));
    fw_strlcpy(rd.zone, n ? n->zone : station, sizeof(rd.zone));
    rd.metric = fw_metric_find(metric);
    rd.source = n ? FW_SOURCE_MQTT_NATIVE : FW_SOURCE_DERIVED;
    rd.value = v;
    rd.time_ms = t;
    return fw_engine_feed(r->e, &rd, now, &r->a);
}

static size_t feed(struct run *r, const char *station, const char *metric, double v, int64_t t)
{
    return feed_at(r, station, metric, v, t, t);
}

/* Notifications for the first route only: one per alert change. */
static size_t changes(const struct run *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->a.n; i++)
        n += r->a.items[i].route == r->a.items[0].route;
    return n;
}

static const struct fw_alert *last(const struct run *r)
{
    return r->a.n ? &r->a.items[r->a.n - 1].alert : NULL;
}

#define RULE(name, body)                                                                           \
    "{\"name\": \"" name "\", \"severity\": \"Severe\", \"category\": \"Fire\", "                  \
    "\"routes\": [\"forestry\"], " body "}"

FW_TEST(for_waits_then_fires_at_an_instant)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_BASE(RULE("smoke", "\"expr\": \"smoke_ppm > 300\", \"for\": "
                                                  "\"1m\""),
                                    ENGINE15)),
              0);
    feed(&r, "s1", "smoke_ppm", 400, T0 + 5 * SEC);
    ASSERT_EQ(r.a.n, 0);
    ASSERT_EQ(fw_engine_instance(r.e, "smoke", "s1")->phase, FW_RULE_PENDING);
    fw_engine_tick(r.e, T0 + 60 * SEC, &r.a); /* 55 s held: not yet */
    ASSERT_EQ(r.a.n, 0);
    fw_engine_tick(r.e, T0 + 74 * SEC, &r.a);
    ASSERT_EQ(r.a.n, 0);
    fw_engine_tick(r.e, T0 + 75 * SEC, &r.a); /* the instant at 75 s: held 70 s */
    ASSERT_EQ(r.a.n, 1);
    ASSERT_EQ(last(&r)->status, FW_ALERT_FIRING);
    ASSERT_EQ(last(&r)->started_ms, T0 + 75 * SEC);
    ASSERT_DBL_NEAR(last(&r)->value, 400, 0);
    ASSERT_EQ(last(&r)->event_ms, T0 + 5 * SEC); /* the time of the sample behind it */
    run_free(&r);
}

FW_TEST(for_restarts_when_the_condition_breaks)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_BASE(RULE("smoke", "\"expr\": \"smoke_ppm > 300\", \"for\": "
                                                  "\"1m\""),
                                    ENGINE15)),
              0);
    feed(&r, "s1", "smoke_ppm", 400, T0);
    feed(&r, "s1", "smoke_ppm", 100, T0 + 40 * SEC);
    ASSERT_EQ(fw_engine_instance(r.e, "smoke", "s1")->phase, FW_RULE_INACTIVE);
    feed(&r, "s1", "smoke_ppm", 400, T0 + 50 * SEC);
    fw_engine_tick(r.e, T0 + 105 * SEC, &r.a); /* 55 s since it held again */
    ASSERT_EQ(r.a.n, 0);
    fw_engine_tick(r.e, T0 + 120 * SEC, &r.a);
    ASSERT_EQ(r.a.n, 1);
    ASSERT_EQ(last(&r)->started_ms, T0 + 120 * SEC);
    run_free(&r);
}

FW_TEST(keep_firing_for_rides_out_a_dip)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_BASE(RULE("smoke", "\"expr\": \"smoke_ppm > 300\", "
                                                  "\"keep_firing_for\": \"2m\""),
                                    ENGINE15)),
              0);
    feed(&r, "s1", "smoke_ppm", 400, T0);
    ASSERT_EQ(r.a.n, 1);
    feed(&r, "s1", "smoke_ppm", 250, T0 + 30 * SEC); /* a dip */
    feed(&r, "s1", "smoke_ppm", 320, T0 + 90 * SEC); /* back over: nothing announced */
    feed(&r, "s1", "smoke_ppm", 200, T0 + 100 * SEC);
    fw_engine_tick(r.e, T0 + 205 * SEC, &r.a); /* 115 s since it last held */
    ASSERT_EQ(r.a.n, 1);
    fw_engine_tick(r.e, T0 + 210 * SEC, &r.a); /* 120 s */
    ASSERT_EQ(r.a.n, 2);
    ASSERT_EQ(last(&r)->status, FW_ALERT_RESOLVED);
    ASSERT_DBL_NEAR(last(&r)->value, 200, 0);
    run_free(&r);
}

FW_TEST(clear_condition_is_hysteresis)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_BASE(RULE("smoke", "\"expr\": \"smoke_ppm > 300\", \"clear\": "
                                                  "\"smoke_ppm < 200\""),
                                    ENGINE15)),
              0);
    /* A value hovering around the threshold fires once and does not flap. */
    static const double v[] = {310, 290, 305, 295, 301, 250, 299, 210};
    for (size_t i = 0; i < FW_ARRAY_LEN(v); i++)
        feed(&r, "s1", "smoke_ppm", v[i], T0 + (int64_t)i * SEC);
    ASSERT_EQ(r.a.n, 1);
    feed(&r, "s1", "smoke_ppm", 150, T0 + 20 * SEC);
    ASSERT_EQ(r.a.n, 2);
    ASSERT_EQ(last(&r)->status, FW_ALERT_RESOLVED);
    ASSERT_EQ(last(&r)->cause, FW_CAUSE_RECOVERED);
    run_free(&r);
}

FW_TEST(missing_data_never_resolves)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_BASE(RULE("smoke", "\"expr\": \"smoke_ppm > 300\""), ENGINE15)), 0);
    feed(&r, "s1", "smoke_ppm", 400, T0);
    ASSERT_EQ(r.a.n, 1);
    /* The sensor falls silent for an hour (far past the 10 min lookback): still firing. */
    fw_engine_tick(r.e, T0 + 60 * MIN, &r.a);
    ASSERT_EQ(r.a.n, 1);
    ASSERT_EQ(fw_engine_instance(r.e, "smoke", "s1")->phase, FW_RULE_FIRING);
    feed(&r, "s1", "smoke_ppm", 20, T0 + 61 * MIN);
    ASSERT_EQ(r.a.n, 2);
    run_free(&r);
}

FW_TEST(late_sample_does_not_change_the_current_value)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_BASE(RULE("smoke", "\"expr\": \"smoke_ppm > 300\"") "," RULE(
                                        "smoke_avg", "\"expr\": \"avg_over_time(smoke_ppm[5m]) "
                                                     "> 200\""),
                                    ENGINE15)),
              0);
    feed(&r, "s1", "smoke_ppm", 400, T0 + 60 * SEC);
    ASSERT_EQ(changes(&r), 2); /* both rules */
    /* Messages delayed in the network, sampled before the newest one, arrive now. They count
     * in the window (the average falls to 210, then to 143) but do not change the current
     * value: the instant rule keeps firing. */
    feed_at(&r, "s1", "smoke_ppm", 20, T0 + 10 * SEC, T0 + 61 * SEC);
    ASSERT_EQ(changes(&r), 2);
    feed_at(&r, "s1", "smoke_ppm", 10, T0 + 20 * SEC, T0 + 62 * SEC);
    ASSERT_EQ(changes(&r), 3);
    ASSERT_STR_EQ(last(&r)->rule, "smoke_avg");
    ASSERT_EQ(last(&r)->status, FW_ALERT_RESOLVED);
    ASSERT_EQ(fw_engine_instance(r.e, "smoke", "s1")->phase, FW_RULE_FIRING);
    ASSERT_DBL_NEAR(fw_engine_instance(r.e, "smoke", "s1")->value, 400, 0);
    run_free(&r);
}

FW_TEST(absent_for_finds_a_silent_station)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_BASE(RULE("silent", "\"expr\": \"absent_for(battery_v, 30m)\""),
                                    ENGINE15)),
              0);
    feed(&r, "s1", "battery_v", 3.9, T0 + 20 * MIN);
    feed(&r, "s2", "battery_v", 3.8, T0 + 20 * MIN);
    feed(&r, "s3", "battery_v", 3.7, T0 + 20 * MIN);
    fw_engine_tick(r.e, T0 + 49 * MIN, &r.a);
    ASSERT_EQ(r.a.n, 0);
    feed(&r, "s1", "battery_v", 3.9, T0 + 45 * MIN);
    feed(&r, "s3", "battery_v", 3.7, T0 + 45 * MIN);
    fw_engine_tick(r.e, T0 + 50 * MIN, &r.a); /* s2 silent for 30 minutes */
    ASSERT_EQ(r.a.n, 1);
    ASSERT_STR_EQ(last(&r)->station, "s2");
    ASSERT_STR_EQ(last(&r)->zone, "z1");
    feed(&r, "s2", "battery_v", 3.8, T0 + 51 * MIN); /* back */
    ASSERT_EQ(r.a.n, 2);
    ASSERT_EQ(last(&r)->status, FW_ALERT_RESOLVED);
    run_free(&r);
}

FW_TEST(two_sensors_in_a_zone_is_one_zone_alert)
{
    struct run r;
    ASSERT_EQ(
        run_init(&r, CFG_BASE(RULE("two_smoke", "\"expr\": \"count by (zone) (smoke_ppm > 300) "
                                                ">= 2\""),
                              ENGINE15)),
        0);
    feed(&r, "s1", "smoke_ppm", 350, T0);
    feed(&r, "s3", "smoke_ppm", 900, T0); /* alone in z2 */
    ASSERT_EQ(r.a.n, 0);
    feed(&r, "s2", "smoke_ppm", 320, T0 + SEC); /* the second in z1: immediately */
    ASSERT_EQ(r.a.n, 1);
    ASSERT_STR_EQ(last(&r)->zone, "z1");
    ASSERT_STR_EQ(last(&r)->station, "");
    ASSERT_STR_CONTAINS(last(&r)->id, ":two_smoke:z1:");
    feed(&r, "s1", "smoke_ppm", 40, T0 + 2 * SEC);
    ASSERT_EQ(r.a.n, 2);
    ASSERT_EQ(last(&r)->status, FW_ALERT_RESOLVED);
    run_free(&r);
}

FW_TEST(zone_value_reaches_every_station_of_the_zone)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_BASE(RULE("smoke_dry", "\"expr\": \"smoke_ppm > 100 and "
                                                      "fire_danger_level >= 4\""),
                                    ENGINE15)),
              0);
    feed(&r, "s1", "smoke_ppm", 150, T0);
    feed(&r, "s3", "smoke_ppm", 150, T0);
    ASSERT_EQ(r.a.n, 0);
    feed(&r, "z1", "fire_danger_level", 4, T0 + SEC); /* a derived zone reading */
    ASSERT_EQ(r.a.n, 1);
    ASSERT_STR_EQ(last(&r)->station, "s1");
    ASSERT_DBL_NEAR(last(&r)->level, 4, 0);
    run_free(&r);
}

FW_TEST(reload_keeps_pending_timers_of_unchanged_rules)
{
    const char *a = CFG_BASE(RULE("r1", "\"expr\": \"smoke_ppm > 300\", \"for\": \"1m\"") "," RULE(
                                 "r2", "\"expr\": \"co_ppm > 50\", \"for\": \"1m\""),
                             ENGINE15);
    const char *b = CFG_BASE(RULE("r1", "\"expr\": \"smoke_ppm > 300\", \"for\": \"1m\"") "," RULE(
                                 "r2", "\"expr\": \"co_ppm > 40\", \"for\": \"1m\""),
                             ENGINE15);
    struct run r;
    ASSERT_EQ(run_init(&r, a), 0);
    feed(&r, "s1", "smoke_ppm", 400, T0);
    feed(&r, "s1", "co_ppm", 60, T0);
    /* Reload half way through the wait: r1 unchanged, r2 changed. */
    struct fw_config *cfg2 = cfg_from_text(b);
    ASSERT_TRUE(cfg2);
    struct fw_engine *e2 = fw_engine_new(cfg2);
    fw_engine_adopt(e2, r.e, T0 + 30 * SEC, &r.a);
    ASSERT_EQ(r.a.n, 0);
    fw_engine_free(r.e);
    fw_config_free(r.cfg);
    r.e = e2;
    r.cfg = cfg2;
    ASSERT_EQ(fw_engine_instance(r.e, "r1", "s1")->phase, FW_RULE_PENDING);
    ASSERT_EQ(fw_engine_instance(r.e, "r1", "s1")->pending_since_ms, T0);
    ASSERT_TRUE(fw_engine_instance(r.e, "r2", "s1") == NULL); /* its wait starts over */
    fw_engine_tick(r.e, T0 + 60 * SEC, &r.a);
    ASSERT_EQ(r.a.n, 1); /* r1 after its minute, as if nothing had happened */
    ASSERT_STR_EQ(last(&r)->rule, "r1");
    fw_engine_tick(r.e, T0 + 90 * SEC, &r.a);
    ASSERT_EQ(r.a.n, 1);
    /* r2: a minute from the first instant after the reload (T0 + 45 s). */
    fw_engine_tick(r.e, T0 + 105 * SEC, &r.a);
    ASSERT_EQ(r.a.n, 2);
    ASSERT_STR_EQ(last(&r)->rule, "r2");
    /* The series came along: the values are still there. */
    struct fw_engine_stats st;
    fw_engine_stats(r.e, &st);
    ASSERT_EQ(st.series, 2);
    run_free(&r);
}

FW_TEST(rule_zones_limit_the_contexts)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_BASE(RULE("smoke", "\"expr\": \"smoke_ppm > 300\", \"zones\": "
                                                  "[\"z2\"]"),
                                    ENGINE15)),
              0);
    feed(&r, "s1", "smoke_ppm", 900, T0);
    fw_engine_tick(r.e, T0 + MIN, &r.a);
    ASSERT_EQ(r.a.n, 0);
    feed(&r, "s3", "smoke_ppm", 900, T0 + MIN);
    ASSERT_EQ(r.a.n, 1);
    run_free(&r);
}

FW_TEST(same_input_same_output_however_often_ticked)
{
    const char *cfg = CFG_BASE(RULE("rise", "\"expr\": \"delta(smoke_ppm[2m]) > 100\", \"for\": "
                                            "\"30s\"") "," RULE("silent", "\"expr\": "
                                                                          "\"absent_for(smoke_ppm,"
                                                                          " 5m)\""),
                               ENGINE15);
    struct run x, y;
    ASSERT_EQ(run_init(&x, cfg), 0);
    ASSERT_EQ(run_init(&y, cfg), 0);
    for (int i = 0; i < 200; i++) {
        int64_t t = T0 + i * 7 * SEC;
        double v = (i % 50) * 10.0;
        feed(&x, i % 3 ? "s1" : "s2", "smoke_ppm", v, t);
        feed(&y, i % 3 ? "s1" : "s2", "smoke_ppm", v, t);
        /* y is ticked every second in between, x never. */
        for (int k = 1; k < 7; k++)
            fw_engine_tick(y.e, t + k * SEC, &y.a);
    }
    fw_engine_tick(x.e, T0 + 1400 * SEC, &x.a);
    fw_engine_tick(y.e, T0 + 1400 * SEC, &y.a);
    ASSERT_GT(x.a.n, 2);
    ASSERT_EQ(x.a.n, y.a.n);
    for (size_t i = 0; i < x.a.n; i++) {
        ASSERT_STR_EQ(x.a.items[i].alert.id, y.a.items[i].alert.id);
        ASSERT_EQ(x.a.items[i].alert.status, y.a.items[i].alert.status);
        ASSERT_EQ(x.a.items[i].alert.event_ms, y.a.items[i].alert.event_ms);
    }
    run_free(&x);
    run_free(&y);
}
