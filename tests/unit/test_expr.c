/* SPDX-License-Identifier: MIT */
/*
 * The rule expression language: what parses (and at which scope), every error message with its
 * position, and the evaluator on a real series store: instant reads, staleness, every window
 * function (with samples out of order), aggregations and three-valued logic.
 */
#include "forestwatch/expr.h"
#include "forestwatch/util.h"
#include "cfg_test.h"
#include "test.h"

FW_TEST(parses_with_scope)
{
    static const struct {
        const char *src;
        enum fw_expr_scope scope;
    } ok[] = {
        {"smoke_ppm > 300", FW_EXPR_STATION},
        {"smoke_ppm > 300 and delta(air_temp_c[10m]) > 5", FW_EXPR_STATION},
        {"count by (zone) (smoke_ppm > 300) >= 2", FW_EXPR_ZONE},
        {"count(smoke_ppm > 300) by (zone) >= 2", FW_EXPR_ZONE},
        {"fire_danger_level >= 4", FW_EXPR_ZONE},
        {"smoke_ppm{zone=\"z1\"} > 300 and fire_danger_level >= 4", FW_EXPR_STATION},
        {"absent_for(battery_v, 2h)", FW_EXPR_STATION},
        {"max(fwi) > 30", FW_EXPR_GLOBAL},
        {"smoke_ppm{node=\"s1\"} > 1", FW_EXPR_GLOBAL},
        {"fire_danger_level{zone=\"z2\"} >= 4", FW_EXPR_GLOBAL},
        {"not (rel_humidity_pct >= 30) or wind_speed_ms > 10", FW_EXPR_STATION},
        {"rate(trap_count[1d]) * 86400 > 100", FW_EXPR_STATION},
        {"-air_temp_c < -3 and air_temp_c / 2 + 1 - 1 * 3 > -100", FW_EXPR_STATION},
        {"max by (zone) (air_temp_c) - min by (zone) (air_temp_c) > 10", FW_EXPR_ZONE},
        {"changes(battery_v[1h30m]) == 0 and count_over_time(smoke_ppm{source=\"mqtt\"}[5m]) "
         "!= 0",
         FW_EXPR_STATION},
        {"sum_over_time(rain_mm[24h]) >= 50 or min_over_time(rel_humidity_pct[3h]) <= 15 or "
         "max_over_time(wind_speed_ms[30m]) > 17.2 or avg_over_time(co_ppm[500ms]) > .5",
         FW_EXPR_STATION},
        {"avg(smoke_ppm) > 1 and sum(smoke_ppm) > 1 and min(smoke_ppm) > 0", FW_EXPR_GLOBAL},
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(ok); i++) {
        struct fw_expr *e;
        struct fw_expr_error err;
        if (fw_expr_parse(ok[i].src, 1, &e, &err) != 0) {
            fprintf(stderr, "\"%s\": %d: %s\n", ok[i].src, err.pos, err.msg);
            ASSERT_TRUE(0);
        }
        ASSERT_STR_EQ(fw_expr_scope_str(fw_expr_scope(e)), fw_expr_scope_str(ok[i].scope));
        ASSERT_STR_EQ(fw_expr_source(e), ok[i].src);
        fw_expr_free(e);
    }
    /* A number is a valid expression where a condition is not required. */
    struct fw_expr *e;
    struct fw_expr_error err;
    ASSERT_EQ(fw_expr_parse("smoke_ppm * 2", 0, &e, &err), 0);
    fw_expr_free(e);
}

struct bad {
    const char *src;
    int pos;
    const char *msg;
};

FW_TEST(every_error_message)
{
    static char deep[200], longname[100], longexpr[FW_EXPR_MAX_LEN + 2], wide[4000], longval[120];
    memset(deep, '(', 70);
    strcpy(deep + 70, "1");
    memset(longname, 'x', 80);
    memset(longexpr, ' ', FW_EXPR_MAX_LEN + 1);
    snprintf(longval, sizeof(longval), "smoke_ppm{zone=\"%070d\"} > 1", 0);
    /* 300 additions: more parts than an expression may have. */
    strcpy(wide, "1");
    for (int i = 0; i < 300; i++)
        strcat(wide, "+1");
    strcat(wide, " > 0");
    const struct bad bad[] = {
        {"", 0, "expected a number, a metric, a function or '(', got end of input"},
        {"smoke_ppm > ", 12, "expected a number, a metric, a function or '(', got end of input"},
        {"smok_ppm > 3", 0, "unknown metric 'smok_ppm' (did you mean 'smoke_ppm'?)"},
        {"zebra > 3", 0, "unknown metric 'zebra'"},
        {longname, 0,
         "unknown metric "
         "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"},
        {"avg_over_time(smoke_ppm) > 1", 23,
         "expected a range such as [10m] after the metric, got ')'"},
        {"avg_over_time(smoke_ppm[10x]) > 1", 24,
         "expected a duration such as 30s, 10m, 1h or 1h30m, got '10x'"},
        {"avg_over_time(smoke_ppm[0s]) > 1", 24, "a range must be more than 0 and at most 31d"},
        {"avg_over_time(smoke_ppm[32d]) > 1", 24, "a range must be more than 0 and at most 31d"},
        {"avg_over_time(smoke_ppm[5m) > 1", 26, "expected ']' after the duration, got ')'"},
        {"avg_over_time(smoke_ppm[5m] > 1", 28, "expected ')' after the range, got '>'"},
        {"avg_over_time smoke_ppm", 14, "expected '(' after the function name, got 'smoke_ppm'"},
        {"count > 1", 6, "expected '(' after the function name, got '>'"},
        {"smoke_ppm[5m] > 1", 9,
         "a range [..] needs a function around it, e.g. avg_over_time(smoke_ppm[10m])"},
        {"smoke_ppm > 300 and 5", 20, "'and' needs a condition, got a number"},
        {"5 or smoke_ppm > 1", 0, "'or' needs a condition, got a number"},
        {"not smoke_ppm", 4, "'not' needs a condition, got a number"},
        {"smoke_ppm + (co_ppm > 1) > 2", 12, "'+' needs a number, got a condition"},
        {"(co_ppm > 1) * 2 > 1", 0, "'*' needs a number, got a condition"},
        {"-(co_ppm > 1) > 1", 1, "'-' needs a number, got a condition"},
        {"(co_ppm > 1) > 1", 0, "a comparison needs a number, got a condition"},
        {"max(co_ppm > 1) > 1", 4, "max needs a number, got a condition"},
        {"smoke_ppm + 3", 0, "must be a condition such as smoke_ppm > 300, not a number"},
        {"1 < smoke_ppm < 3", 14, "comparisons do not chain: write a < x and x < b"},
        {"foo(smoke_ppm) > 1", 0,
         "unknown function 'foo' (functions: avg_over_time, min_over_time, max_over_time, "
         "sum_over_time, count_over_time, rate, delta, changes, absent_for, count, max, min, "
         "avg, sum)"},
        {"smoke_ppm{zone=~\"a\"} > 1", 14,
         "regular-expression matchers are not supported: use = or !="},
        {"smoke_ppm{colour=\"red\"} > 1", 10,
         "unknown label 'colour': use zone, station, node or source"},
        {"smoke_ppm{3=\"a\"} > 1", 10,
         "expected a label (zone, station, node or source), got a number '3'"},
        {"smoke_ppm{zone \"a\"} > 1", 15,
         "expected '=' or '!=' after the label, got a string '\"a\"'"},
        {"smoke_ppm{zone=a} > 1", 15, "expected a quoted value, got 'a'"},
        {"smoke_ppm{zone=\"a} > 1", 15, "unterminated string"},
        {longval, 15, "label value longer than 63 bytes"},
        {"smoke_ppm{zone=\"a\" > 1", 19, "expected ',' or '}' in the label matchers, got '>'"},
        {"smoke_ppm{zone=\"a\",zone=\"b\"} > 1", 19, "two zone matchers in one selector"},
        {"smoke_ppm{node=\"a\",station=\"b\"} > 1", 19, "two station matchers in one selector"},
        {"smoke_ppm{zone!=\"a\",zone!=\"b\",zone!=\"c\",zone!=\"d\",zone!=\"e\"} > 1", 50,
         "at most 4 matchers in one selector"},
        {"count by (station) (smoke_ppm > 1) > 1", 10,
         "only by (zone) is supported, got by (station)"},
        {"count by (3) (smoke_ppm > 1) > 1", 10, "expected zone, got a number '3'"},
        {"count by zone (smoke_ppm > 1) > 1", 9, "expected '(' after by, got 'zone'"},
        {"count by (zone (smoke_ppm > 1) > 1", 15, "expected ')' after by (zone, got '('"},
        {"count by (zone) smoke_ppm > 1", 16,
         "expected '(' and the expression to aggregate, got 'smoke_ppm'"},
        {"count(smoke_ppm > 1 > 1", 20, "comparisons do not chain: write a < x and x < b"},
        {"count(smoke_ppm > 1 and co_ppm > 1 >= 2", 35,
         "comparisons do not chain: write a < x and x < b"},
        {"count(smoke_ppm > 1 and co_ppm > 1 2", 35,
         "expected ')' after the aggregated expression, got a number '2'"},
        {"absent_for(battery_v[5m])", 20,
         "absent_for takes a metric and a duration: absent_for(metric, 30m)"},
        {"absent_for(battery_v)", 20, "expected ',' and a duration after the metric, got ')'"},
        {"absent_for(battery_v, 0s)", 22,
         "expected a duration such as 30m (at most 31d), got a duration '0s'"},
        {"absent_for(battery_v, 5m", 24, "expected ')' after the duration, got end of input"},
        {"absent_for battery_v", 11, "expected '(' after the function name, got 'battery_v'"},
        {"(smoke_ppm > 300", 16, "expected ')', got end of input"},
        {"smoke_ppm > 300)", 15, "expected an operator or the end of the expression, got ')'"},
        {"smoke_ppm > 10m", 12,
         "a duration such as '10m' is only allowed in a range [..] or absent_for"},
        {"smoke_ppm >= 300 or co_ppm > 50 smoke", 32,
         "expected an operator (and, or, a comparison, + - * /), got 'smoke'"},
        {"smoke_ppm > \"x\"", 12,
         "expected a number, a metric, a function or '(', got a string '\"x\"'"},
        {"smoke_ppm > 300 和", 16, "expected an operator or the end of the expression, got '和'"},
        {"and smoke_ppm > 1", 0, "expected an expression, got 'and'"},
        {deep, 64, "expression nested more than 64 deep"},
        {wide, 0, NULL}, /* too many parts: checked below by its message prefix */
        {longexpr, FW_EXPR_MAX_LEN, "expression longer than 4096 bytes"},
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++) {
        struct fw_expr *e = NULL;
        struct fw_expr_error err;
        int rc = fw_expr_parse(bad[i].src, 1, &e, &err);
        int ok = rc == -EINVAL && e == NULL;
        if (ok && bad[i].msg)
            ok = err.pos == bad[i].pos && strcmp(err.msg, bad[i].msg) == 0;
        else if (ok)
            ok = strstr(err.msg, "expression too large (more than 512 parts)") != NULL;
        if (!ok) {
            fprintf(stderr, "case %zu \"%.60s\": rc %d pos %d msg \"%s\"\n", i, bad[i].src, rc,
                    err.pos, err.msg);
            fw_expr_free(e);
            ASSERT_TRUE(0);
        }
    }
}

FW_TEST(durations)
{
    int64_t ms;
    ASSERT_EQ(fw_duration_parse("90s", &ms), 0);
    ASSERT_EQ(ms, 90000);
    ASSERT_EQ(fw_duration_parse("1h30m", &ms), 0);
    ASSERT_EQ(ms, 5400000);
    ASSERT_EQ(fw_duration_parse("2d", &ms), 0);
    ASSERT_EQ(ms, 172800000);
    ASSERT_EQ(fw_duration_parse("500ms", &ms), 0);
    ASSERT_EQ(ms, 500);
    ASSERT_EQ(fw_duration_parse("0s", &ms), 0);
    ASSERT_EQ(ms, 0);
    ASSERT_EQ(fw_duration_parse("30m1h", &ms), -EINVAL); /* units must go down */
    ASSERT_EQ(fw_duration_parse("5", &ms), -EINVAL);
    ASSERT_EQ(fw_duration_parse("5 m", &ms), -EINVAL);
    ASSERT_EQ(fw_duration_parse("m", &ms), -EINVAL);
    ASSERT_EQ(fw_duration_parse("", &ms), -EINVAL);
    ASSERT_EQ(fw_duration_parse("99999999999d", &ms), -EINVAL);
}

/* ------------------------------------------------------------------------------------------ */
/* Evaluation on a real store                                                                  */
/* ------------------------------------------------------------------------------------------ */

#define T0 1780300800000LL
#define MIN 60000LL

struct world {
    struct fw_config *cfg;
    struct fw_series_store *st;
    size_t *zone_nodes[2];
    size_t zone_nnodes[2];
    struct fw_expr_env env;
};

static void world_init(struct world *w)
{
    memset(w, 0, sizeof(*w));
    w->cfg = cfg_from_text(CFG_BASE("", "{}"));
    FW_ASSERT(w->cfg);
    int n;
    fw_metric_table(&n);
    struct fw_series_limits *lim = fw_xcalloc((size_t)n, sizeof(*lim));
    for (int i = 0; i < n; i++)
        lim[i] = (struct fw_series_limits){.retain_ms = 24 * 60 * MIN, .cap = 1000};
    w->st = fw_series_store_new(lim, n);
    free(lim);
    for (size_t z = 0; z < 2; z++) {
        w->zone_nodes[z] = fw_xcalloc(3, sizeof(size_t));
        for (size_t i = 0; i < w->cfg->nnodes; i++)
            if (w->cfg->nodes[i].zone_ref == &w->cfg->zones[z])
                w->zone_nodes[z][w->zone_nnodes[z]++] = i;
    }
    w->env = (struct fw_expr_env){.series = w->st,
                                  .cfg = w->cfg,
                                  .zone_nodes = (const size_t *const *)w->zone_nodes,
                                  .zone_nnodes = w->zone_nnodes,
                                  .lookback_ms = 10 * MIN,
                                  .start_ms = T0 - 60 * MIN};
}

static void world_free(struct world *w)
{
    fw_series_store_free(w->st);
    free(w->zone_nodes[0]);
    free(w->zone_nodes[1]);
    fw_config_free(w->cfg);
}

static void put(struct world *w, const char *station, const char *metric, int64_t t, double v)
{
    const struct fw_cfg_node *n = fw_config_node(w->cfg, station);
    const struct fw_cfg_zone *z = n ? n->zone_ref : fw_config_zone(w->cfg, station);
    fw_series_add(w->st, fw_metric_find(metric), station, z->id, FW_SOURCE_MQTT_NATIVE, t, v, T0);
}

/* Evaluate `src` at `now` for station s (or zone z when s is NULL, or globally). */
static double ev(struct world *w, const char *src, const char *s, const char *z, int64_t now)
{
    struct fw_expr *e;
    struct fw_expr_error err;
    if (fw_expr_parse(src, 0, &e, &err) != 0) {
        fprintf(stderr, "%s: %s\n", src, err.msg);
        return -999;
    }
    struct fw_expr_ctx ctx = {.env = &w->env,
                              .now_ms = now,
                              .station = s ? fw_config_node(w->cfg, s) : NULL,
                              .zone = z ? fw_config_zone(w->cfg, z) : NULL};
    double v = fw_expr_eval(e, &ctx, NULL);
    fw_expr_free(e);
    return v;
}

FW_TEST(instant_reads_and_staleness)
{
    struct world w;
    world_init(&w);
    put(&w, "s1", "smoke_ppm", T0 - 2 * MIN, 120);
    put(&w, "s1", "smoke_ppm", T0 - 5 * MIN, 999); /* late, older: not the current value */
    ASSERT_DBL_NEAR(ev(&w, "smoke_ppm", "s1", NULL, T0), 120, 0);
    ASSERT_TRUE(isnan(ev(&w, "smoke_ppm", "s2", NULL, T0)));           /* no series */
    ASSERT_TRUE(isnan(ev(&w, "smoke_ppm", "s1", NULL, T0 + 9 * MIN))); /* past the lookback */
    ASSERT_DBL_NEAR(ev(&w, "smoke_ppm{zone=\"z1\"}", "s1", NULL, T0), 120, 0);
    ASSERT_TRUE(isnan(ev(&w, "smoke_ppm{zone=\"z2\"}", "s1", NULL, T0)));
    ASSERT_TRUE(isnan(ev(&w, "smoke_ppm{node!=\"s1\"}", "s1", NULL, T0)));
    ASSERT_DBL_NEAR(ev(&w, "smoke_ppm{source=\"mqtt\"}", "s1", NULL, T0), 120, 0);
    ASSERT_TRUE(isnan(ev(&w, "smoke_ppm{source=\"derived\"}", "s1", NULL, T0)));
    /* Pinned: the same in every context, even the global one. */
    ASSERT_DBL_NEAR(ev(&w, "smoke_ppm{station=\"s1\"}", "s3", NULL, T0), 120, 0);
    ASSERT_DBL_NEAR(ev(&w, "smoke_ppm{node=\"s1\"}", NULL, NULL, T0), 120, 0);
    /* A zone metric read from a station context is its zone's. */
    put(&w, "z1", "fire_danger_level", T0 - MIN, 4);
    ASSERT_DBL_NEAR(ev(&w, "fire_danger_level", "s2", NULL, T0), 4, 0);
    ASSERT_DBL_NEAR(ev(&w, "fire_danger_level", NULL, "z1", T0), 4, 0);
    ASSERT_TRUE(isnan(ev(&w, "fire_danger_level", "s3", NULL, T0)));
    ASSERT_DBL_NEAR(ev(&w, "fire_danger_level{zone=\"z1\"}", NULL, NULL, T0), 4, 0);
    world_free(&w);
}

FW_TEST(arithmetic_and_three_valued_logic)
{
    struct world w;
    world_init(&w);
    put(&w, "s1", "smoke_ppm", T0, 100);
    ASSERT_DBL_NEAR(ev(&w, "smoke_ppm * 2 + 1 - 6 / 3", "s1", NULL, T0), 199, 1e-12);
    ASSERT_DBL_NEAR(ev(&w, "-smoke_ppm", "s1", NULL, T0), -100, 0);
    ASSERT_TRUE(isnan(ev(&w, "smoke_ppm / 0", "s1", NULL, T0))); /* no infinities */
    ASSERT_EQ(ev(&w, "smoke_ppm > 50", "s1", NULL, T0), 1);
    ASSERT_EQ(ev(&w, "smoke_ppm >= 100 and smoke_ppm <= 100 and smoke_ppm == 100", "s1", NULL, T0),
              1);
    ASSERT_EQ(ev(&w, "smoke_ppm != 100 or smoke_ppm < 100", "s1", NULL, T0), 0);
    /* co_ppm is missing: unknown, and Kleene logic carries it. */
    ASSERT_TRUE(isnan(ev(&w, "co_ppm > 1", "s1", NULL, T0)));
    ASSERT_TRUE(isnan(ev(&w, "not (co_ppm > 1)", "s1", NULL, T0)));
    ASSERT_EQ(ev(&w, "co_ppm > 1 and smoke_ppm > 500", "s1", NULL, T0), 0); /* false wins */
    ASSERT_TRUE(isnan(ev(&w, "co_ppm > 1 and smoke_ppm > 50", "s1", NULL, T0)));
    ASSERT_EQ(ev(&w, "co_ppm > 1 or smoke_ppm > 50", "s1", NULL, T0), 1); /* true wins */
    ASSERT_TRUE(isnan(ev(&w, "co_ppm > 1 or smoke_ppm > 500", "s1", NULL, T0)));
    ASSERT_EQ(ev(&w, "not (smoke_ppm > 500)", "s1", NULL, T0), 1);
    world_free(&w);
}

FW_TEST(window_functions_with_samples_out_of_order)
{
    struct world w;
    world_init(&w);
    /* Values 10, 30, 20, 20, 50 at minutes -8, -6, -4, -2, 0, inserted in a shuffled order. */
    put(&w, "s1", "co_ppm", T0 - 4 * MIN, 20);
    put(&w, "s1", "co_ppm", T0, 50);
    put(&w, "s1", "co_ppm", T0 - 8 * MIN, 10);
    put(&w, "s1", "co_ppm", T0 - 2 * MIN, 20);
    put(&w, "s1", "co_ppm", T0 - 6 * MIN, 30);
    put(&w, "s1", "co_ppm", T0 - 30 * MIN, 1000); /* outside every window below */
    ASSERT_DBL_NEAR(ev(&w, "avg_over_time(co_ppm[10m])", "s1", NULL, T0), 26, 1e-12);
    ASSERT_DBL_NEAR(ev(&w, "min_over_time(co_ppm[10m])", "s1", NULL, T0), 10, 0);
    ASSERT_DBL_NEAR(ev(&w, "max_over_time(co_ppm[10m])", "s1", NULL, T0), 50, 0);
    ASSERT_DBL_NEAR(ev(&w, "sum_over_time(co_ppm[10m])", "s1", NULL, T0), 130, 0);
    ASSERT_DBL_NEAR(ev(&w, "count_over_time(co_ppm[10m])", "s1", NULL, T0), 5, 0);
    ASSERT_DBL_NEAR(ev(&w, "delta(co_ppm[10m])", "s1", NULL, T0), 40, 0);
    ASSERT_DBL_NEAR(ev(&w, "changes(co_ppm[10m])", "s1", NULL, T0), 3, 0);
    /* The window's start is exclusive: (now - 5m, now] holds -4, -2 and 0. */
    ASSERT_DBL_NEAR(ev(&w, "count_over_time(co_ppm[5m])", "s1", NULL, T0), 3, 0);
    ASSERT_DBL_NEAR(ev(&w, "count_over_time(co_ppm[4m])", "s1", NULL, T0), 2, 0);
    /* Too few samples for a difference; no samples at all; no series at all. */
    ASSERT_TRUE(isnan(ev(&w, "delta(co_ppm[1m])", "s1", NULL, T0)));
    ASSERT_TRUE(isnan(ev(&w, "avg_over_time(co_ppm[1m])", "s1", NULL, T0 + 30 * 1000 + MIN)));
    ASSERT_DBL_NEAR(ev(&w, "count_over_time(co_ppm[1m])", "s1", NULL, T0 + 2 * MIN), 0, 0);
    ASSERT_TRUE(isnan(ev(&w, "count_over_time(co_ppm[1m])", "s2", NULL, T0)));
    ASSERT_TRUE(isnan(ev(&w, "rate(co_ppm[1m])", "s1", NULL, T0)));
    /* rate: a counter with a reset (the node rebooted): 0, 60, 120, reset to 30, 90 over
     * 4 minutes gives increases 60 + 60 + 30 + 60 = 210 in 240 s. */
    put(&w, "s2", "trap_count", T0 - 4 * MIN, 0);
    put(&w, "s2", "trap_count", T0 - 3 * MIN, 60);
    put(&w, "s2", "trap_count", T0 - 2 * MIN, 120);
    put(&w, "s2", "trap_count", T0 - 1 * MIN, 30);
    put(&w, "s2", "trap_count", T0, 90);
    ASSERT_DBL_NEAR(ev(&w, "rate(trap_count[10m])", "s2", NULL, T0), 210.0 / 240.0, 1e-12);
    world_free(&w);
}

FW_TEST(aggregations_by_zone_and_over_all)
{
    struct world w;
    world_init(&w);
    put(&w, "s1", "smoke_ppm", T0, 350);
    put(&w, "s2", "smoke_ppm", T0, 320);
    put(&w, "s3", "smoke_ppm", T0, 500);
    put(&w, "s1", "air_temp_c", T0, 31);
    put(&w, "s2", "air_temp_c", T0, 19);
    const char *two = "count by (zone) (smoke_ppm > 300) >= 2";
    ASSERT_EQ(ev(&w, two, NULL, "z1", T0), 1);
    ASSERT_EQ(ev(&w, two, NULL, "z2", T0), 0); /* only one sensor there */
    ASSERT_EQ(ev(&w, two, "s3", NULL, T0), 0); /* from a station: its zone's group */
    ASSERT_DBL_NEAR(ev(&w, "count(smoke_ppm > 300)", NULL, NULL, T0), 3, 0);
    ASSERT_DBL_NEAR(ev(&w, "count(smoke_ppm)", NULL, NULL, T0), 3, 0);
    ASSERT_DBL_NEAR(ev(&w, "count(co_ppm)", NULL, NULL, T0), 0, 0);
    ASSERT_TRUE(isnan(ev(&w, "max(co_ppm)", NULL, NULL, T0)));
    ASSERT_DBL_NEAR(ev(&w, "max by (zone) (smoke_ppm)", NULL, "z1", T0), 350, 0);
    ASSERT_DBL_NEAR(ev(&w, "min by (zone) (smoke_ppm)", NULL, "z1", T0), 320, 0);
    ASSERT_DBL_NEAR(ev(&w, "avg by (zone) (smoke_ppm)", NULL, "z1", T0), 335, 0);
    ASSERT_DBL_NEAR(ev(&w, "sum(smoke_ppm)", NULL, NULL, T0), 1170, 0);
    ASSERT_DBL_NEAR(
        ev(&w, "max by (zone) (air_temp_c) - min by (zone) (air_temp_c)", NULL, "z1", T0), 12, 0);
    /* Over zones: the elements are zones when the inner expression reads a zone metric. */
    put(&w, "z1", "fire_danger_level", T0, 4);
    put(&w, "z2", "fire_danger_level", T0, 2);
    ASSERT_DBL_NEAR(ev(&w, "count(fire_danger_level >= 4)", NULL, NULL, T0), 1, 0);
    ASSERT_DBL_NEAR(ev(&w, "max(fire_danger_level)", NULL, NULL, T0), 4, 0);
    world_free(&w);
}

FW_TEST(absent_for_counts_from_start)
{
    struct world w;
    world_init(&w);
    w.env.start_ms = T0;
    put(&w, "s1", "battery_v", T0 + 10 * MIN, 3.9);
    const char *src = "absent_for(battery_v, 30m)";
    /* Too early to tell for anyone: the gateway has not watched for 30 minutes. */
    ASSERT_EQ(ev(&w, src, "s2", NULL, T0 + 29 * MIN), 0);
    ASSERT_EQ(ev(&w, src, "s2", NULL, T0 + 30 * MIN), 1); /* never heard from */
    ASSERT_EQ(ev(&w, src, "s1", NULL, T0 + 30 * MIN), 0);
    ASSERT_EQ(ev(&w, src, "s1", NULL, T0 + 40 * MIN), 1); /* silent 30 minutes */
    /* A selector that does not cover the station asks nothing of it. */
    ASSERT_TRUE(
        isnan(ev(&w, "absent_for(battery_v{zone=\"z2\"}, 30m)", "s1", NULL, T0 + 40 * MIN)));
    ASSERT_EQ(ev(&w, "absent_for(battery_v{zone=\"z2\"}, 30m)", "s3", NULL, T0 + 40 * MIN), 1);
    world_free(&w);
}

FW_TEST(sums_are_exact)
{
    /* sum and avg add exactly and round once: the order of the stations does not matter, and
     * nothing is lost to an intermediate rounding or overflow. */
    struct world w;
    world_init(&w);
    put(&w, "s1", "smoke_ppm", T0, 0.1);
    put(&w, "s2", "smoke_ppm", T0, 0.2);
    put(&w, "s3", "smoke_ppm", T0, 0.3);
    ASSERT_TRUE(ev(&w, "sum(smoke_ppm)", NULL, NULL, T0) == 0.6); /* left to right: 0.6 + 1 ulp */
    put(&w, "s1", "co_ppm", T0, 1e20);
    put(&w, "s2", "co_ppm", T0, 1);
    put(&w, "s3", "co_ppm", T0, -1e20);
    ASSERT_TRUE(ev(&w, "sum(co_ppm)", NULL, NULL, T0) == 1); /* left to right: 0 */
    ASSERT_TRUE(ev(&w, "avg(co_ppm)", NULL, NULL, T0) == 1.0 / 3);
    put(&w, "s1", "air_temp_c", T0, 1e308);
    put(&w, "s2", "air_temp_c", T0, 1e308);
    put(&w, "s3", "air_temp_c", T0, -1e308);
    ASSERT_TRUE(ev(&w, "sum(air_temp_c)", NULL, NULL, T0) == 1e308); /* left to right: inf */
    ASSERT_TRUE(isinf(ev(&w, "sum by (zone) (air_temp_c)", NULL, "z1", T0)));
    put(&w, "s1", "rain_mm", T0, 5e-324);
    put(&w, "s2", "rain_mm", T0, 5e-324);
    ASSERT_TRUE(ev(&w, "sum(rain_mm)", NULL, NULL, T0) == 1e-323); /* subnormals too */
    put(&w, "s1", "wind_speed_ms", T0, -0.0);
    put(&w, "s2", "wind_speed_ms", T0, -0.0);
    double z = ev(&w, "sum by (zone) (wind_speed_ms)", NULL, "z1", T0);
    ASSERT_TRUE(z == 0 && signbit(z)); /* -0 + -0 is -0, as IEEE adds */
    put(&w, "s3", "wind_speed_ms", T0, 0.0);
    z = ev(&w, "sum(wind_speed_ms)", NULL, NULL, T0);
    ASSERT_TRUE(z == 0 && !signbit(z));
    /* Ties to even, at the 54th bit: 2^53 + 1 rounds down to 2^53, 2^53 + 3 up to 2^53 + 4. */
    put(&w, "s1", "rel_humidity_pct", T0, 9007199254740992.0);
    put(&w, "s2", "rel_humidity_pct", T0, 1);
    ASSERT_TRUE(ev(&w, "sum by (zone) (rel_humidity_pct)", NULL, "z1", T0) == 9007199254740992.0);
    put(&w, "s2", "rel_humidity_pct", T0, 3);
    ASSERT_TRUE(ev(&w, "sum by (zone) (rel_humidity_pct)", NULL, "z1", T0) == 9007199254740996.0);
    world_free(&w);
}

/*
 * Kept aggregations against recomputation: random streams over 3 zones (one of them empty) and 11
 * stations listed out of zone order, with late samples, samples slightly ahead, gaps longer than
 * the lookback and than every window, signed zeros, ties, values far apart and ones whose
 * doubles overflow; each expression is evaluated with its kept state and afresh, in every
 * context, at times that fall on the very millisecond a sample goes stale or leaves a window,
 * and now and then back in time. Any difference in a single bit fails.
 */
#define AGG_NODES 11
static const char *const agg_exprs[] = {
    "count by (zone) (smoke_ppm > 300)",
    "count(smoke_ppm)",
    "count by (zone) (co_ppm)",
    "max by (zone) (smoke_ppm)",
    "min by (zone) (smoke_ppm)",
    "avg by (zone) (smoke_ppm)",
    "sum by (zone) (smoke_ppm)",
    "max(air_temp_c)",
    "min(air_temp_c)",
    "avg(air_temp_c)",
    "sum(air_temp_c * 2)",
    "max by (zone) (max_over_time(smoke_ppm[5m]))",
    "min by (zone) (min_over_time(smoke_ppm[3m]))",
    "avg by (zone) (avg_over_time(air_temp_c[10m]))",
    "sum by (zone) (sum_over_time(co_ppm[7m]))",
    "count by (zone) (count_over_time(smoke_ppm[2m]) > 1)",
    "sum(rate(co_ppm[4m]))",
    "max by (zone) (delta(air_temp_c[6m]))",
    "avg by (zone) (changes(smoke_ppm[8m]))",
    "count by (zone) (absent_for(co_ppm, 9m))",
    "count by (zone) (smoke_ppm > 300 and avg_over_time(air_temp_c[5m]) > 20 or co_ppm < 5)",
    "sum by (zone) (smoke_ppm{source=\"mqtt\"})",
    "max(smoke_ppm{zone!=\"z1\"})",
    "count(smoke_ppm{station!=\"a3\"} > 0)",
    "avg by (zone) (smoke_ppm * 2 - air_temp_c / co_ppm)",
    "max by (zone) (smoke_ppm - avg by (zone) (smoke_ppm))",
    "max by (zone) (smoke_ppm) - min by (zone) (smoke_ppm) > 100",
    "min by (zone) (smoke_ppm - smoke_ppm{station=\"a1\"})",
    "count by (zone) (smoke_ppm > 100 and fire_danger_level >= 3)",
    "max by (zone) (smoke_ppm * 0)", /* ties of 0 and -0 everywhere: which station wins shows */
    "min(air_temp_c * 0)",
};
#define AGG_NEXPR FW_ARRAY_LEN(agg_exprs)

struct agg_world {
    struct fw_config *cfg;
    struct fw_series_store *st;
    size_t *zone_nodes[3];
    size_t zone_nnodes[3];
    struct fw_expr_env env;
    struct fw_expr *ex[AGG_NEXPR];
    struct fw_expr_aggs *aggs[AGG_NEXPR];
    uint64_t rng;
};

static uint32_t agg_rand(struct agg_world *w, uint32_t n)
{
    w->rng = w->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((w->rng >> 33) % n);
}

static double agg_value(struct agg_world *w)
{
    static const double pool[] = {0.0, -0.0,     1,     2.5,    300,     301,      0.1,    0.2,
                                  0.3, 4.9e-324, 1e300, -1e300, 1.5e308, -1.5e308, 1e-300, 7};
    switch (agg_rand(w, 3)) {
    case 0:
        return pool[agg_rand(w, FW_ARRAY_LEN(pool))];
    case 1:
        return (double)agg_rand(w, 1000) - 200;
    default:
        return ldexp((double)agg_rand(w, 1u << 30) - (1 << 29), (int)agg_rand(w, 120) - 80);
    }
}

/* Both evaluations of expression `i` in one context, bit for bit. */
static int agg_same(struct agg_world *w, size_t i, const struct fw_cfg_node *st,
                    const struct fw_cfg_zone *zn, int64_t now)
{
    struct fw_expr_ctx fresh = {.env = &w->env, .now_ms = now, .station = st, .zone = zn};
    struct fw_expr_ctx kept = fresh;
    kept.aggs = w->aggs[i];
    double a = fw_expr_eval(w->ex[i], &fresh, NULL), b = fw_expr_eval(w->ex[i], &kept, NULL);
    if ((isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof(a)) == 0)
        return 1;
    fprintf(stderr, "%s in %s at %+lld ms: recomputed %a, kept %a\n", agg_exprs[i],
            st   ? st->id
            : zn ? zn->id
                 : "(all)",
            (long long)(now - T0), a, b);
    return 0;
}

static int agg_all_same(struct agg_world *w, int64_t now)
{
    for (size_t i = 0; i < AGG_NEXPR; i++) {
        int ok = agg_same(w, i, NULL, NULL, now);
        for (size_t z = 0; z < w->cfg->nzones; z++)
            ok &= agg_same(w, i, NULL, &w->cfg->zones[z], now);
        for (size_t s = 0; s < w->cfg->nnodes; s++)
            ok &= agg_same(w, i, &w->cfg->nodes[s], NULL, now);
        if (!ok)
            return 0;
    }
    return 1;
}

static void agg_world_init(struct agg_world *w, uint64_t seed)
{
    memset(w, 0, sizeof(*w));
    w->rng = seed;
    /* Stations of z1 and z2 interleaved in config order; z3 has none. */
    static const char *const zone_of[AGG_NODES] = {"z1", "z2", "z1", "z1", "z2", "z2",
                                                   "z1", "z2", "z1", "z1", "z2"};
    char nodes[1024] = "", *p = nodes;
    for (int k = 0; k < AGG_NODES; k++)
        p += snprintf(p, sizeof(nodes) - (size_t)(p - nodes), "%s\"a%d\": {\"zone\": \"%s\"}",
                      k ? ", " : "", k, zone_of[k]);
    char *json = fw_xasprintf(
        "{\"gateway\": {\"id\": \"gw\", \"status_broker\": \"b\"},"
        "\"brokers\": {\"b\": {\"host\": \"127.0.0.1\"}},"
        "\"zones\": {\"z1\": {\"name\": \"Zone 1\", \"forest_chief\": {\"name\": \"C1\"}},"
        "\"z2\": {\"name\": \"Zone 2\", \"forest_chief\": {\"name\": \"C2\"}},"
        "\"z3\": {\"name\": \"Zone 3\", \"forest_chief\": {\"name\": \"C3\"}}},"
        "\"nodes\": {%s},"
        "\"routes\": {\"forestry\": {\"broker\": \"b\", \"topic\": \"f\"}}, \"rules\": []}",
        nodes);
    w->cfg = cfg_from_text(json);
    free(json);
    FW_ASSERT(w->cfg && w->cfg->nzones == 3 && w->cfg->nnodes == AGG_NODES);
    int n;
    fw_metric_table(&n);
    struct fw_series_limits *lim = fw_xcalloc((size_t)n, sizeof(*lim));
    for (int i = 0; i < n; i++) /* a small cap: samples are also pushed out by it */
        lim[i] = (struct fw_series_limits){.retain_ms = 30 * MIN, .cap = 12};
    w->st = fw_series_store_new(lim, n);
    free(lim);
    for (size_t z = 0; z < 3; z++) {
        w->zone_nodes[z] = fw_xcalloc(AGG_NODES, sizeof(size_t));
        for (size_t i = 0; i < w->cfg->nnodes; i++)
            if (w->cfg->nodes[i].zone_ref == &w->cfg->zones[z])
                w->zone_nodes[z][w->zone_nnodes[z]++] = i;
    }
    w->env = (struct fw_expr_env){.series = w->st,
                                  .cfg = w->cfg,
                                  .zone_nodes = (const size_t *const *)w->zone_nodes,
                                  .zone_nnodes = w->zone_nnodes,
                                  .lookback_ms = 10 * MIN,
                                  .start_ms = T0};
    for (size_t i = 0; i < AGG_NEXPR; i++) {
        struct fw_expr_error err;
        FW_ASSERT(fw_expr_parse(agg_exprs[i], 0, &w->ex[i], &err) == 0);
        w->aggs[i] = fw_expr_aggs_new(w->ex[i], &w->env);
    }
}

static void agg_world_free(struct agg_world *w)
{
    for (size_t i = 0; i < AGG_NEXPR; i++) {
        fw_expr_aggs_free(w->aggs[i]);
        fw_expr_free(w->ex[i]);
    }
    for (size_t z = 0; z < 3; z++)
        free(w->zone_nodes[z]);
    fw_series_store_free(w->st);
    fw_config_free(w->cfg);
}

FW_TEST(aggregates_kept_match_recomputation)
{
    static const char *const metrics[] = {"smoke_ppm", "air_temp_c", "co_ppm"};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct agg_world w;
        agg_world_init(&w, seed);
        /* Which aggregations are kept: only those over stations' own series. */
        ASSERT_TRUE(w.aggs[0] && w.aggs[24] && w.aggs[25] && w.aggs[26]);
        ASSERT_TRUE(!w.aggs[27] && !w.aggs[28]);
        int64_t now = T0, stale[16];
        int nstale = 0;
        for (int step = 0; step < 700; step++) {
            /* Mostly seconds apart, sometimes minutes: past the lookback and every window. */
            uint32_t gap = agg_rand(&w, 20);
            now += gap < 16 ? 1000 * (int64_t)agg_rand(&w, 30) : MIN * (1 + agg_rand(&w, 14));
            uint32_t what = agg_rand(&w, 10);
            if (what < 7) {
                size_t node = agg_rand(&w, AGG_NODES);
                const struct fw_cfg_node *nd = &w.cfg->nodes[node];
                const char *m = metrics[agg_rand(&w, 3)];
                /* Late by up to 3 minutes, or a second ahead of the gateway's clock. */
                int64_t t = agg_rand(&w, 4) ? now - 1000 * (int64_t)agg_rand(&w, 180) : now + 1000;
                enum fw_source_kind src = agg_rand(&w, 4) ? FW_SOURCE_MQTT_NATIVE : FW_SOURCE_LORA;
                fw_series_add(w.st, fw_metric_find(m), nd->id, nd->zone, src, t, agg_value(&w),
                              now);
                for (size_t i = 0; i < AGG_NEXPR; i++)
                    fw_expr_aggs_touch(w.aggs[i], fw_metric_find(m), node);
                if (nstale < 16) /* the very milliseconds it goes stale and leaves a window */
                    stale[nstale++] = t;
            } else if (what == 7) {
                const char *z = agg_rand(&w, 2) ? "z1" : "z2";
                fw_series_add(w.st, fw_metric_find("fire_danger_level"), z, z, FW_SOURCE_DERIVED,
                              now, (double)agg_rand(&w, 6), now);
            }
            ASSERT_TRUE(agg_all_same(&w, now));
            if (agg_rand(&w, 8) == 0 && nstale) {
                /* At the edges: t + lookback (still fresh), + 1 ms (stale), t + each range. */
                static const int64_t edge[] = {10 * MIN, 10 * MIN + 1, 2 * MIN,
                                               3 * MIN,  5 * MIN,      9 * MIN};
                int64_t t = stale[agg_rand(&w, (uint32_t)nstale)] + edge[agg_rand(&w, 6)];
                if (t > now) {
                    now = t;
                    ASSERT_TRUE(agg_all_same(&w, now));
                }
            }
            if (agg_rand(&w, 50) == 0) /* back in time: the kept values start over */
                ASSERT_TRUE(agg_all_same(&w, now - MIN * agg_rand(&w, 12)));
            if (nstale == 16 && agg_rand(&w, 4) == 0)
                nstale = 0;
        }
        agg_world_free(&w);
    }
}
