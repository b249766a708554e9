/* SPDX-License-Identifier: MIT */
/*
 * The per-zone fire-danger model driven by several days of synthetic station readings through a
 * fake clock, for two zones at +08:00 and +06:00. The oracle is independent of the model's
 * buffers: it recomputes each noon's inputs from the synthetic weather function (nearest report
 * to noon, rain reports in the 24 h to noon) and chains fw_fwi_daily(), the validated reference.
 * Then: a stop in the middle, saved and restored into a new model, must give exactly the readings
 * of an uninterrupted run; missing data must mark the day missing, never count as zero; the rain
 * window's edges; the season start; the level table; parameter and restore checks.
 */
#include "forestwatch/models.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"
#include "test.h"

#define MIN_MS 60000LL
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define STEP_MS (10 * MIN_MS) /* the fake clock's tick */

enum { T_TEMP, T_RH, T_WIND, T_RAIN };
static const char *const metric_names[] = {"air_temp_c", "rel_humidity_pct", "wind_speed_ms",
                                           "rain_mm"};

/* The stations: each reports once an hour at its own minute. */
struct station {
    const char *id;
    int minute;
};
static const struct station stations[] = {{"n1", 0}, {"n2", 10}, {"w1", 0}, {"met", 30}};
#define NSTATIONS ((int)FW_ARRAY_LEN(stations))

/* Readings a case withholds: station `st` (or -1 for none), quantity `q` (-1: all), [from, to). */
static struct {
    int st, q;
    int64_t from, to;
} drop = {-1, -1, 0, 0};

static int64_t t0(void)
{
    return fw_time__days_from_civil(2026, 5, 1) * DAY_MS; /* 2026-05-01T00:00Z */
}

static uint32_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* The synthetic weather a station reports at t: a daily cycle plus noise and showers. Rain is
 * what fell since the station's previous report. */
static double wx(int st, int q, int64_t t)
{
    int64_t h = t / HOUR_MS;
    double phase = 2 * M_PI * (double)((h + 24 * 1000 - 2) % 24) / 24.0;
    uint32_t r = mix((uint32_t)h * 2654435761U ^ (uint32_t)(st + 1) * 40503U ^ (uint32_t)q);
    switch (q) {
    case T_TEMP:
        return 16.0 + 9.0 * sin(phase) + st * 0.7 + (r % 100) / 50.0;
    case T_RH:
        return 55.0 - 25.0 * sin(phase) - st + (r % 100) / 20.0;
    case T_WIND:
        return 1.0 + (r % 70) / 10.0;
    default:
        return r % 9 == 0 ? (r % 97) / 10.0 : 0.0;
    }
}

static int dropped(int st, int q, int64_t t)
{
    return st == drop.st && (drop.q < 0 || drop.q == q) && t >= drop.from && t < drop.to;
}

static void feed_one(struct fw_models *m, int st, int q, int64_t t, double v)
{
    struct fw_reading r = {0};
    r.source = FW_SOURCE_MQTT_NATIVE;
    fw_strlcpy(r.station, stations[st].id, sizeof(r.station));
    r.metric = fw_metric_find(metric_names[q]);
    r.value = v;
    r.time_ms = t;
    fw_models_feed(m, &r);
}

/* Drive the clock over [from, to): at each tick, the reports due, then the tick. */
static void run(struct fw_models *m, int64_t from, int64_t to, struct fw_models_out *out)
{
    for (int64_t t = from; t < to; t += STEP_MS) {
        for (int st = 0; st < NSTATIONS; st++) {
            if (t % HOUR_MS != stations[st].minute * MIN_MS)
                continue;
            for (int q = T_TEMP; q <= T_RAIN; q++)
                if (!dropped(st, q, t))
                    feed_one(m, st, q, t, wx(st, q, t));
        }
        fw_models_tick(m, t, out);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The oracle
 * ------------------------------------------------------------------------------------------- */

/* The station's report nearest `noon` within +-60 min (the earlier of two equally near). */
static double oracle_noon(int st, int q, int64_t noon)
{
    double v = NAN;
    int64_t best = INT64_MAX;
    for (int64_t t = noon - HOUR_MS; t <= noon + HOUR_MS; t += MIN_MS) {
        if (t % HOUR_MS != stations[st].minute * MIN_MS || dropped(st, q, t))
            continue;
        if (llabs(t - noon) < best) {
            best = llabs(t - noon);
            v = wx(st, q, t);
        }
    }
    return v;
}

/* The station's rain reports in (from, to], in time order. */
static double oracle_rain(int st, int64_t from, int64_t to)
{
    double sum = 0.0;
    for (int64_t t = from + MIN_MS; t <= to; t += MIN_MS)
        if (t % HOUR_MS == stations[st].minute * MIN_MS && !dropped(st, T_RAIN, t))
            sum += wx(st, T_RAIN, t);
    return sum;
}

/* A zone's noon weather from stations sts[0..n-1] (the model's means, in the same order). */
static struct fw_fwi_weather oracle_weather(const int *sts, int n, int64_t noon)
{
    double q[3], rain = 0.0;
    for (int k = 0; k < 3; k++) {
        q[k] = 0.0;
        for (int i = 0; i < n; i++)
            q[k] += oracle_noon(sts[i], k, noon);
        q[k] /= n;
    }
    for (int i = 0; i < n; i++)
        rain += oracle_rain(sts[i], noon - DAY_MS, noon);
    return (struct fw_fwi_weather){q[T_TEMP], q[T_RH], q[T_WIND] * 3.6, rain / n};
}

/* ---------------------------------------------------------------------------------------------
 * Zones and output helpers
 * ------------------------------------------------------------------------------------------- */

static void zones_init(struct fw_models_zone z[2], int west_fallback)
{
    fw_models_zone_init(&z[0], "north");
    z[0].utc_offset_min = 480; /* noon is 04:00Z */
    z[0].lat = 45.0;
    fw_strlcpy(z[0].stations[0], "n1", FW_READING_MAX_ID);
    fw_strlcpy(z[0].stations[1], "n2", FW_READING_MAX_ID);
    z[0].nstations = 2;
    fw_models_zone_init(&z[1], "west");
    z[1].utc_offset_min = 360; /* noon is 06:00Z */
    z[1].lat = 40.0;
    fw_strlcpy(z[1].stations[0], "w1", FW_READING_MAX_ID);
    z[1].nstations = 1;
    if (west_fallback)
        fw_strlcpy(z[1].fallback, "met", FW_READING_MAX_ID);
}

static struct fw_models *new_models(int west_fallback)
{
    struct fw_models_zone z[2];
    struct fw_models *m = NULL;
    const char *err;
    zones_init(z, west_fallback);
    if (fw_models_new(z, 2, &m, &err) < 0)
        fprintf(stderr, "fw_models_new: %s\n", err);
    return m;
}

/* The value of `metric` for `zone` at `t` in `out`, or NAN; *count gets how many there are. */
static double find(const struct fw_models_out *out, const char *zone, const char *metric, int64_t t,
                   int *count)
{
    double v = NAN;
    int n = 0;
    for (size_t i = 0; i < out->n; i++)
        if (out->v[i].time_ms == t && strcmp(out->v[i].zone, zone) == 0 &&
            strcmp(out->v[i].metric->name, metric) == 0) {
            v = out->v[i].value;
            n++;
        }
    if (count)
        *count = n;
    return v;
}

static size_t count_metric(const struct fw_models_out *out, const char *zone, const char *metric)
{
    size_t n = 0;
    for (size_t i = 0; i < out->n; i++)
        n += strcmp(out->v[i].zone, zone) == 0 && strcmp(out->v[i].metric->name, metric) == 0;
    return n;
}

static const char *const daily_metrics[] = {"ffmc", "dmc", "dc", "isi", "bui", "fwi"};

/* Check the daily readings of `zone` on days first..last (day 0 = 2026-05-01) against the oracle
 * chain from the start-up codes; `missing` (a day number or -1) is expected missing. */
static void check_days(const struct fw_models_out *out, const char *zone, int64_t noon0,
                       const int *sts, int n, double lat, int first, int last, int missing)
{
    struct fw_fwi_codes c;
    struct fw_fwi_opts o;
    struct fw_fwi_nesterov ni = {0.0, 0.0};
    fw_fwi_codes_startup(&c);
    fw_fwi_opts_init(&o, lat, 5);
    for (int d = first; d <= last; d++) {
        int64_t noon = noon0 + d * DAY_MS;
        int cnt;
        if (d == missing) {
            ASSERT_DBL_NEAR(find(out, zone, "fire_model_missing", noon, &cnt), 1.0, 0);
            ASSERT_EQ(cnt, 1);
            find(out, zone, "ffmc", noon, &cnt);
            ASSERT_EQ(cnt, 0);
            continue;
        }
        struct fw_fwi_weather w = oracle_weather(sts, n, noon);
        ASSERT_EQ(fw_fwi_daily(&c, &w, &o, &c), 0);
        ASSERT_EQ(fw_fwi_nesterov(ni.ni, w.temp_c, w.rh_pct, w.rain_mm, &ni), 0);
        ASSERT_DBL_NEAR(find(out, zone, "nesterov_index", noon, &cnt), ni.ni, 1e-9);
        ASSERT_EQ(cnt, 1);
        const double want[] = {c.ffmc, c.dmc, c.dc, c.isi, c.bui, c.fwi};
        for (size_t k = 0; k < FW_ARRAY_LEN(daily_metrics); k++) {
            double got = find(out, zone, daily_metrics[k], noon, &cnt);
            ASSERT_EQ(cnt, 1);
            ASSERT_DBL_NEAR(got, want[k], 1e-9);
        }
        struct fw_models_levels l;
        fw_models_levels_default(&l);
        ASSERT_DBL_NEAR(find(out, zone, "fire_danger_level", noon, &cnt),
                        fw_models_level(&l, c.fwi), 0);
        ASSERT_DBL_NEAR(find(out, zone, "fire_model_missing", noon, &cnt), 0.0, 0);
        ASSERT_EQ(cnt, 1);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Cases
 * ------------------------------------------------------------------------------------------- */

/* Six days for both zones: one daily step per local day, timed at local noon, with the oracle's
 * inputs. Day 0 is missing: the model started at 00:00Z and has not seen the 24 h to noon. */
FW_TEST(daily_at_local_noon)
{
    struct fw_models *m = new_models(0);
    struct fw_models_out out = {0};
    ASSERT_TRUE(m);
    run(m, t0(), t0() + 6 * DAY_MS, &out);
    static const int north[] = {0, 1}, west[] = {2};
    check_days(&out, "north", t0() + 4 * HOUR_MS, north, 2, 45.0, 0, 5, 0);
    check_days(&out, "west", t0() + 6 * HOUR_MS, west, 1, 40.0, 0, 5, 0);
    ASSERT_EQ(count_metric(&out, "north", "fire_model_missing"), 6);
    ASSERT_EQ(count_metric(&out, "west", "fwi"), 5);
    /* Every derived reading is a zone reading from the model, at the zone's noon or a full hour. */
    for (size_t i = 0; i < out.n; i++) {
        const struct fw_reading *r = &out.v[i];
        ASSERT_EQ(r->source, FW_SOURCE_DERIVED);
        ASSERT_EQ(r->metric->scope, FW_METRIC_ZONE);
        ASSERT_STR_EQ(r->station, "");
        ASSERT_EQ(r->time_ms % HOUR_MS, 0);
        if (strcmp(r->metric->name, "hffmc") != 0)
            ASSERT_EQ(r->time_ms % DAY_MS,
                      strcmp(r->zone, "north") == 0 ? 4 * HOUR_MS : 6 * HOUR_MS);
    }
    fw_models_out_free(&out);
    fw_models_free(m);
}

/* The step for noon N runs once N + window has passed, and ticking again changes nothing. */
FW_TEST(decision_time)
{
    struct fw_models *m = new_models(0);
    struct fw_models_out out = {0};
    int64_t noon = t0() + DAY_MS + 4 * HOUR_MS; /* day 1, north */
    run(m, t0(), noon + 50 * MIN_MS, &out);
    ASSERT_EQ(count_metric(&out, "north", "ffmc"), 0);
    fw_models_tick(m, noon + 59 * MIN_MS, &out);
    ASSERT_EQ(count_metric(&out, "north", "ffmc"), 0);
    fw_models_tick(m, noon + 60 * MIN_MS, &out);
    ASSERT_EQ(count_metric(&out, "north", "ffmc"), 1);
    fw_models_tick(m, noon + 60 * MIN_MS, &out);
    fw_models_tick(m, noon + 61 * MIN_MS, &out);
    ASSERT_EQ(count_metric(&out, "north", "ffmc"), 1);
    struct fw_models_zone_state st;
    ASSERT_EQ(fw_models_zone_state(m, "north", &st), 0);
    ASSERT_EQ(st.last_day_noon_ms, noon);
    ASSERT_EQ(st.last_day_missing, 0);
    ASSERT_EQ(fw_models_zone_state(m, "nowhere", &st), -ENOENT);
    fw_models_out_free(&out);
    fw_models_free(m);
}

static int outs_identical(const struct fw_models_out *a, const struct fw_models_out *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct fw_reading *x = &a->v[i], *y = &b->v[i];
        /* bit for bit: the codes must continue exactly */
        if (x->time_ms != y->time_ms || x->metric != y->metric || strcmp(x->zone, y->zone) != 0 ||
            memcmp(&x->value, &y->value, sizeof(double)) != 0)
            return 0;
    }
    return 1;
}

/* The acceptance line: stop in the middle of a day, persist, start a new model from the saved
 * state, and every derived reading (daily and hourly) is exactly the uninterrupted run's. */
FW_TEST(restart_continues_exactly)
{
    const int64_t end = t0() + 7 * DAY_MS;
    const int64_t stops[] = {t0() + 3 * DAY_MS + 18 * HOUR_MS + 30 * MIN_MS, /* mid-afternoon */
                             t0() + 2 * DAY_MS + 4 * HOUR_MS + 30 * MIN_MS}; /* before a step */
    struct fw_models *a = new_models(1);
    struct fw_models_out oa = {0};
    run(a, t0(), end, &oa);
    ASSERT_GT(count_metric(&oa, "north", "fwi"), 5);
    ASSERT_GT(count_metric(&oa, "west", "hffmc"), 100);
    char *ja;
    ASSERT_EQ(fw_models_save(a, &ja), 0);

    for (size_t k = 0; k < FW_ARRAY_LEN(stops); k++) {
        struct fw_models *b = new_models(1);
        struct fw_models_out ob = {0};
        run(b, t0(), stops[k], &ob);
        char *saved;
        ASSERT_EQ(fw_models_save(b, &saved), 0);
        fw_models_free(b);

        struct fw_models *c = new_models(1);
        ASSERT_EQ(fw_models_restore(c, saved), 0);
        /* the restored model saves to the very same text */
        char *again;
        ASSERT_EQ(fw_models_save(c, &again), 0);
        ASSERT_STR_EQ(again, saved);
        run(c, stops[k], end, &ob);
        ASSERT_TRUE(outs_identical(&oa, &ob));
        char *jc;
        ASSERT_EQ(fw_models_save(c, &jc), 0);
        ASSERT_STR_EQ(jc, ja);
        free(jc);
        free(again);
        free(saved);
        fw_models_out_free(&ob);
        fw_models_free(c);
    }
    free(ja);
    fw_models_out_free(&oa);
    fw_models_free(a);
}

/* No temperature near day 3's noon and no fallback: day 3 is missing (only
 * fire_model_missing = 1), and day 4 continues from day 2's codes, as if day 3 had not been. */
FW_TEST(missing_day_carries_codes)
{
    int64_t noon3 = t0() + 3 * DAY_MS + 6 * HOUR_MS;
    drop.st = 2;
    drop.q = T_TEMP;
    drop.from = noon3 - 2 * HOUR_MS;
    drop.to = noon3 + 2 * HOUR_MS;
    struct fw_models *m = new_models(0);
    struct fw_models_out out = {0};
    run(m, t0(), t0() + 6 * DAY_MS, &out);
    static const int west[] = {2};
    check_days(&out, "west", t0() + 6 * HOUR_MS, west, 1, 40.0, 1, 5, 3);
    struct fw_models_zone_state st;
    ASSERT_EQ(fw_models_zone_state(m, "west", &st), 0);
    ASSERT_EQ(st.last_day_missing, 0);
    fw_models_out_free(&out);
    fw_models_free(m);
    drop.st = -1;
}

/* The same gap with a fallback station: the day is computed with the fallback's temperature
 * and the zone's own humidity, wind and rain. */
FW_TEST(missing_temperature_uses_fallback)
{
    int64_t noon3 = t0() + 3 * DAY_MS + 6 * HOUR_MS;
    drop.st = 2;
    drop.q = T_TEMP;
    drop.from = noon3 - 2 * HOUR_MS;
    drop.to = noon3 + 2 * HOUR_MS;
    struct fw_models *m = new_models(1);
    struct fw_models_out out = {0};
    run(m, t0(), noon3 + 2 * HOUR_MS, &out);
    struct fw_models_zone_state st;
    ASSERT_EQ(fw_models_zone_state(m, "west", &st), 0);
    ASSERT_EQ(st.last_day_noon_ms, noon3);
    ASSERT_EQ(st.last_day_missing, 0);
    /* met reports at :30; of 05:30 and 06:30, equally near noon, the earlier one counts */
    ASSERT_DBL_NEAR(st.noon.temp_c, wx(3, T_TEMP, noon3 - 30 * MIN_MS), 0);
    ASSERT_DBL_NEAR(st.noon.rh_pct, wx(2, T_RH, noon3), 0);
    ASSERT_DBL_NEAR(st.noon.rain_mm, oracle_rain(2, noon3 - DAY_MS, noon3), 1e-12);
    fw_models_out_free(&out);
    fw_models_free(m);
    drop.st = -1;
}

/* Rain reports lost for 4 h (more than the allowed 3 h gap): the rain of the day is unknown, so
 * the day is missing rather than computed as dry; with a fallback, the fallback's rain counts. */
FW_TEST(rain_gap_is_missing_not_zero)
{
    int64_t noon4 = t0() + 4 * DAY_MS + 6 * HOUR_MS;
    drop.st = 2;
    drop.q = T_RAIN;
    drop.from = noon4 - 10 * HOUR_MS;
    drop.to = noon4 - 6 * HOUR_MS + 1;
    struct fw_models *m = new_models(0);
    struct fw_models_out out = {0};
    run(m, t0(), noon4 + 2 * HOUR_MS, &out);
    int cnt;
    ASSERT_DBL_NEAR(find(&out, "west", "fire_model_missing", noon4, &cnt), 1.0, 0);
    find(&out, "west", "ffmc", noon4, &cnt);
    ASSERT_EQ(cnt, 0);
    fw_models_out_free(&out);
    fw_models_free(m);

    m = new_models(1);
    run(m, t0(), noon4 + 2 * HOUR_MS, &out);
    struct fw_models_zone_state st;
    ASSERT_EQ(fw_models_zone_state(m, "west", &st), 0);
    ASSERT_EQ(st.last_day_missing, 0);
    ASSERT_DBL_NEAR(st.noon.rain_mm, oracle_rain(3, noon4 - DAY_MS, noon4), 1e-12);
    ASSERT_DBL_NEAR(st.noon.temp_c, wx(2, T_TEMP, noon4), 0);
    fw_models_out_free(&out);
    fw_models_free(m);
    drop.st = -1;
}

/* A zone at UTC+0 with one station, fed by hand: constant weather, hourly reports of 0 mm. */
static struct fw_models *edge_model(int start_month, int start_day)
{
    struct fw_models_zone z;
    struct fw_models *m = NULL;
    const char *err;
    fw_models_zone_init(&z, "edge");
    z.lat = 50.0;
    z.hourly_ffmc = 0;
    z.season_start_month = start_month;
    z.season_start_day = start_day;
    fw_strlcpy(z.stations[0], "n1", FW_READING_MAX_ID);
    z.nstations = 1;
    fw_models_new(&z, 1, &m, &err);
    return m;
}

static void edge_hour(struct fw_models *m, int64_t t, double rain)
{
    feed_one(m, 0, T_TEMP, t, 20.0);
    feed_one(m, 0, T_RH, t, 40.0);
    feed_one(m, 0, T_WIND, t, 2.0);
    feed_one(m, 0, T_RAIN, t, rain);
}

/* The rain window is (noon - 24 h, noon]: a report at noon exactly belongs to that day, one a
 * millisecond later to the next; the report at the previous noon is not counted again. */
FW_TEST(rain_window_edges)
{
    struct fw_models *m = edge_model(0, 0);
    struct fw_models_out out = {0};
    struct fw_models_zone_state st;
    int64_t noon1 = t0() + DAY_MS + 12 * HOUR_MS, noon2 = noon1 + DAY_MS;
    for (int64_t t = t0(); t <= noon2 + HOUR_MS; t += HOUR_MS) {
        edge_hour(m, t, t == noon1 ? 5.0 : t == noon1 - HOUR_MS ? 0.25 : 0.0);
        if (t == noon1)
            feed_one(m, 0, T_RAIN, noon1 + 1, 7.0);
        fw_models_tick(m, t, &out);
        if (t == noon1 + HOUR_MS) {
            ASSERT_EQ(fw_models_zone_state(m, "edge", &st), 0);
            ASSERT_EQ(st.last_day_noon_ms, noon1);
            ASSERT_DBL_NEAR(st.noon.rain_mm, 5.25, 0);
        }
    }
    ASSERT_EQ(fw_models_zone_state(m, "edge", &st), 0);
    ASSERT_EQ(st.last_day_noon_ms, noon2);
    ASSERT_DBL_NEAR(st.noon.rain_mm, 7.0, 0);
    ASSERT_DBL_NEAR(st.noon.wind_kmh, 7.2, 1e-12);
    fw_models_out_free(&out);
    fw_models_free(m);
}

/* With a season start of 3 May, nothing is computed (or reported missing) before it, and 3 May
 * is computed from the start-up codes. */
FW_TEST(season_start_date)
{
    struct fw_models *m = edge_model(5, 3);
    struct fw_models_out out = {0};
    int64_t noon = t0() + 2 * DAY_MS + 12 * HOUR_MS; /* 2026-05-03 */
    for (int64_t t = t0(); t <= noon + HOUR_MS; t += HOUR_MS) {
        edge_hour(m, t, 0.0);
        fw_models_tick(m, t, &out);
        if (t < noon + HOUR_MS)
            ASSERT_EQ(out.n, 0);
    }
    struct fw_fwi_codes c;
    struct fw_fwi_opts o;
    struct fw_fwi_weather w = {20.0, 40.0, 2.0 * 3.6, 0.0};
    fw_fwi_codes_startup(&c);
    fw_fwi_opts_init(&o, 50.0, 5);
    ASSERT_EQ(fw_fwi_daily(&c, &w, &o, &c), 0);
    int cnt;
    ASSERT_DBL_NEAR(find(&out, "edge", "ffmc", noon, &cnt), c.ffmc, 0);
    ASSERT_DBL_NEAR(find(&out, "edge", "dc", noon, &cnt), c.dc, 0);
    struct fw_fwi_nesterov ni;
    ASSERT_EQ(fw_fwi_nesterov(0.0, 20.0, 40.0, 0.0, &ni), 0);
    ASSERT_DBL_NEAR(find(&out, "edge", "nesterov_index", noon, &cnt), ni.ni, 0);
    ASSERT_EQ(out.n, 9);
    fw_models_out_free(&out);
    fw_models_free(m);
}

/* Hourly FFMC of the one-station zone: from the start-up FFMC after the first daily step (the
 * season's start), then chained hour by hour with the hour's report and rain. */
FW_TEST(hourly_ffmc_chain)
{
    struct fw_models *m = new_models(0);
    struct fw_models_out out = {0};
    int64_t end = t0() + 3 * DAY_MS;
    run(m, t0(), end, &out);
    int64_t first = t0() + 7 * HOUR_MS; /* the hour after the first noon (06:00Z) */
    int cnt;
    find(&out, "west", "hffmc", first - HOUR_MS, &cnt);
    ASSERT_EQ(cnt, 0);
    double f = FW_FWI_STARTUP_FFMC;
    size_t n = 0;
    for (int64_t h = first; h + 30 * MIN_MS < end; h += HOUR_MS, n++) {
        struct fw_fwi_weather w = {wx(2, T_TEMP, h), wx(2, T_RH, h), wx(2, T_WIND, h) * 3.6,
                                   wx(2, T_RAIN, h)};
        ASSERT_EQ(fw_fwi_hourly_ffmc(f, &w, 1.0, FW_FWI_FFMC_COEF_CFFDRS, &f), 0);
        ASSERT_DBL_NEAR(find(&out, "west", "hffmc", h, &cnt), f, 1e-12);
        ASSERT_EQ(cnt, 1);
    }
    ASSERT_EQ(count_metric(&out, "west", "hffmc"), n);
    fw_models_out_free(&out);
    fw_models_free(m);
}

FW_TEST(levels_table)
{
    struct fw_models_levels l;
    fw_models_levels_default(&l);
    ASSERT_EQ(l.index, FW_MODELS_INDEX_FWI);
    ASSERT_TRUE(l.provisional);
    ASSERT_EQ(fw_models_level(&l, -1.0), 1);
    ASSERT_EQ(fw_models_level(&l, 0.0), 1);
    ASSERT_EQ(fw_models_level(&l, 4.999), 1);
    ASSERT_EQ(fw_models_level(&l, 5.0), 2);
    ASSERT_EQ(fw_models_level(&l, 19.9), 3);
    ASSERT_EQ(fw_models_level(&l, 20.0), 4);
    ASSERT_EQ(fw_models_level(&l, 30.0), 5);
    ASSERT_EQ(fw_models_level(&l, 1e6), 5);
    enum fw_models_index i;
    ASSERT_EQ(fw_models_index_parse("isi", &i), 0);
    ASSERT_EQ(i, FW_MODELS_INDEX_ISI);
    ASSERT_STR_EQ(fw_models_index_str(i), "isi");
    ASSERT_EQ(fw_models_index_parse("ffdi", &i), -EINVAL);

    /* A zone whose levels are read from the ISI: the emitted level follows the ISI. */
    struct fw_models_zone z[2];
    struct fw_models *m = NULL;
    const char *err;
    zones_init(z, 0);
    z[0].levels = (struct fw_models_levels){FW_MODELS_INDEX_ISI, {0, 1, 2, 4, 8}, 0};
    ASSERT_EQ(fw_models_new(z, 2, &m, &err), 0);
    struct fw_models_out out = {0};
    run(m, t0(), t0() + 4 * DAY_MS, &out);
    int days = 0;
    for (size_t k = 0; k < out.n; k++) {
        if (strcmp(out.v[k].zone, "north") != 0 || strcmp(out.v[k].metric->name, "isi") != 0)
            continue;
        int cnt;
        double lv = find(&out, "north", "fire_danger_level", out.v[k].time_ms, &cnt);
        ASSERT_DBL_NEAR(lv, fw_models_level(&z[0].levels, out.v[k].value), 0);
        days++;
    }
    ASSERT_EQ(days, 3);
    fw_models_out_free(&out);
    fw_models_free(m);
}

FW_TEST(zone_check)
{
    struct fw_models_zone z[2];
    struct fw_models *m = NULL;
    const char *err;
    zones_init(z, 1);
    ASSERT_EQ(fw_models_zone_check(&z[0], &err), 0);
    z[0].utc_offset_min = 487;
    ASSERT_EQ(fw_models_zone_check(&z[0], &err), -EINVAL);
    ASSERT_STR_CONTAINS(err, "utc_offset_min");
    zones_init(z, 1);
    z[1].nstations = 0;
    ASSERT_EQ(fw_models_new(z, 2, &m, &err), -EINVAL);
    ASSERT_STR_CONTAINS(err, "stations");
    ASSERT_TRUE(m == NULL);
    zones_init(z, 1);
    fw_strlcpy(z[1].fallback, "w1", FW_READING_MAX_ID);
    ASSERT_EQ(fw_models_zone_check(&z[1], &err), -EINVAL);
    zones_init(z, 1);
    z[0].levels.min[3] = z[0].levels.min[2];
    ASSERT_EQ(fw_models_zone_check(&z[0], &err), -EINVAL);
    ASSERT_STR_CONTAINS(err, "levels");
    zones_init(z, 1);
    z[0].season_start_month = 2;
    z[0].season_start_day = 30;
    ASSERT_EQ(fw_models_zone_check(&z[0], &err), -EINVAL);
    zones_init(z, 1);
    z[0].season_end_month = 10;
    z[0].season_end_day = 1;
    ASSERT_EQ(fw_models_zone_check(&z[0], &err), -EINVAL);
    zones_init(z, 1);
    z[0].startup_ffmc = 102;
    ASSERT_EQ(fw_models_zone_check(&z[0], &err), -EINVAL);
    zones_init(z, 1);
    fw_strlcpy(z[1].id, "north", FW_READING_MAX_ID);
    ASSERT_EQ(fw_models_new(z, 2, &m, &err), -EINVAL);
    ASSERT_STR_CONTAINS(err, "same id");
}

/* A bad saved state is refused as a whole and leaves the model as it was; zones that are no
 * longer configured are dropped, new ones start fresh. */
FW_TEST(restore_checks)
{
    struct fw_models *m = new_models(0);
    struct fw_models_out out = {0};
    run(m, t0(), t0() + 3 * DAY_MS, &out);
    char *before, *after;
    ASSERT_EQ(fw_models_save(m, &before), 0);
    static const char *const bad[] = {
        "",
        "[]",
        "{\"version\":2,\"zones\":[]}",
        "{\"version\":1,\"zones\":[{\"id\":\"north\"}]}",
        "{\"version\":1,\"zones\":[{\"id\":\"west\",\"next_noon\":0,\"next_hour\":0,"
        "\"season_year\":0,\"has_codes\":1,\"codes\":[120,6,15,0,0,0,0],\"level\":0,"
        "\"last_noon\":0,\"last_missing\":0,\"last_weather\":[0,0,0,0],\"hffmc\":null,"
        "\"hffmc_ms\":0,\"stations\":[]}]}",
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++)
        ASSERT_EQ(fw_models_restore(m, bad[i]), -EINVAL);
    ASSERT_EQ(fw_models_save(m, &after), 0);
    ASSERT_STR_EQ(after, before);
    free(after);

    /* only "west" is configured in the new model: north's saved state is ignored */
    struct fw_models_zone z[2];
    struct fw_models *w = NULL;
    const char *err;
    zones_init(z, 0);
    ASSERT_EQ(fw_models_new(&z[1], 1, &w, &err), 0);
    ASSERT_EQ(fw_models_restore(w, before), 0);
    struct fw_models_zone_state a, b;
    ASSERT_EQ(fw_models_zone_state(w, "west", &a), 0);
    ASSERT_EQ(fw_models_zone_state(m, "west", &b), 0);
    ASSERT_EQ(memcmp(&a.codes, &b.codes, sizeof(a.codes)), 0);
    ASSERT_EQ(fw_models_zone_state(w, "north", &a), -ENOENT);
    free(before);
    fw_models_free(w);
    fw_models_out_free(&out);
    fw_models_free(m);
}

/* ---------------------------------------------------------------------------------------------
 * Tomorrow's expected level from the meteorology bureau's forecasts
 * ------------------------------------------------------------------------------------------- */

/* Local day d of the north zone (day 0 = 2026-05-01), its noon and its local midnight. */
static int64_t north_day(int d)
{
    return fw_time__days_from_civil(2026, 5, 1) + d;
}
static int64_t north_noon(int d)
{
    return t0() + d * DAY_MS + 4 * HOUR_MS;
}
static int64_t north_midnight(int d)
{
    return t0() + d * DAY_MS - 8 * HOUR_MS;
}

/* The oracle: one daily step from `codes` with the forecast weather (wind in m/s). */
static void oracle_forecast(struct fw_fwi_codes *codes, double temp, double rh, double wind,
                            double rain)
{
    struct fw_fwi_opts o;
    fw_fwi_opts_init(&o, 45.0, 5);
    struct fw_fwi_weather w = {temp, rh, wind * 3.6, rain};
    ASSERT_EQ(fw_fwi_daily(codes, &w, &o, codes), 0);
}

static int default_level(double fwi)
{
    struct fw_models_levels l;
    fw_models_levels_default(&l);
    return fw_models_level(&l, fwi);
}

/* The acceptance line at model level: an evening forecast for tomorrow's noon gives tomorrow's
 * level (and FWI) from today's codes, once; a new forecast for the same day replaces it; at
 * local midnight, with no forecast for the new tomorrow, the level goes to 0 ("none"). */
FW_TEST(forecast_gives_tomorrows_level)
{
    struct fw_models *m = new_models(0);
    struct fw_models_out out = {0};
    int64_t evening = north_noon(2) + 6 * HOUR_MS; /* 18:00 local, day 2 computed */
    run(m, t0(), evening, &out);
    ASSERT_EQ(count_metric(&out, "north", "fire_danger_level_tomorrow"), 0);
    struct fw_models_zone_state st;
    ASSERT_EQ(fw_models_zone_state(m, "north", &st), 0);
    ASSERT_EQ(st.last_day_noon_ms, north_noon(2));

    ASSERT_EQ(fw_models_forecast(m, "north", north_day(3), 0, 24.0, 40.0, 3.0, 0.0), 0);
    out.n = 0;
    fw_models_tick(m, evening, &out);
    struct fw_fwi_codes c = st.codes;
    oracle_forecast(&c, 24.0, 40.0, 3.0, 0.0);
    int cnt;
    ASSERT_DBL_NEAR(find(&out, "north", "fwi_tomorrow", evening, &cnt), c.fwi, 1e-9);
    ASSERT_EQ(cnt, 1);
    ASSERT_DBL_NEAR(find(&out, "north", "fire_danger_level_tomorrow", evening, &cnt),
                    default_level(c.fwi), 0);
    ASSERT_EQ(cnt, 1);
    ASSERT_EQ(count_metric(&out, "west", "fire_danger_level_tomorrow"), 0);
    /* ticking again says nothing new */
    out.n = 0;
    fw_models_tick(m, evening + MIN_MS, &out);
    ASSERT_EQ(out.n, 0);

    /* a hot, dry, windy update for the same day: level 5 here (the oracle agrees) */
    ASSERT_EQ(fw_models_forecast(m, "north", north_day(3), 0, 36.0, 8.0, 14.0, 0.0), 0);
    fw_models_tick(m, evening + 2 * MIN_MS, &out);
    c = st.codes;
    oracle_forecast(&c, 36.0, 8.0, 14.0, 0.0);
    ASSERT_EQ(default_level(c.fwi), 5);
    ASSERT_DBL_NEAR(find(&out, "north", "fire_danger_level_tomorrow", evening + 2 * MIN_MS, &cnt),
                    5, 0);

    /* a restart between the forecast and midnight changes nothing */
    char *saved;
    ASSERT_EQ(fw_models_save(m, &saved), 0);
    struct fw_models *r = new_models(0);
    ASSERT_EQ(fw_models_restore(r, saved), 0);
    struct fw_models_out ra = {0}, rb = {0};
    run(m, evening + 10 * MIN_MS, north_noon(4), &ra);
    run(r, evening + 10 * MIN_MS, north_noon(4), &rb);
    ASSERT_TRUE(outs_identical(&ra, &rb));

    /* midnight: tomorrow is day 4, for which nothing is forecast */
    int64_t midnight = north_midnight(3);
    ASSERT_DBL_NEAR(find(&ra, "north", "fire_danger_level_tomorrow", midnight, &cnt), 0, 0);
    ASSERT_EQ(cnt, 1);
    ASSERT_EQ(count_metric(&ra, "north", "fire_danger_level_tomorrow"), 1);
    ASSERT_EQ(count_metric(&ra, "north", "fwi_tomorrow"), 0);
    /* the forecast never entered the day's codes: day 3 is what a run without forecasts has */
    struct fw_models *plain = new_models(0);
    struct fw_models_out po = {0};
    run(plain, t0(), north_noon(4), &po);
    ASSERT_EQ(count_metric(&po, "north", "fire_danger_level_tomorrow"), 0);
    for (size_t k = 0; k < FW_ARRAY_LEN(daily_metrics); k++)
        ASSERT_DBL_NEAR(find(&ra, "north", daily_metrics[k], north_noon(3), NULL),
                        find(&po, "north", daily_metrics[k], north_noon(3), NULL), 0);
    fw_models_out_free(&po);
    fw_models_free(plain);
    free(saved);
    fw_models_out_free(&ra);
    fw_models_out_free(&rb);
    fw_models_free(r);
    fw_models_out_free(&out);
    fw_models_free(m);
}

/* In the morning today's noon is not computed yet: tomorrow's level needs today's forecast too,
 * and chains through it; with only tomorrow's it waits for today's daily step. */
FW_TEST(forecast_chains_through_today)
{
    int64_t morning = north_noon(3) - 4 * HOUR_MS; /* 08:00 local, day 3 */
    struct fw_models *a = new_models(0), *b = new_models(0);
    struct fw_models_out oa = {0}, ob = {0};
    run(a, t0(), morning, &oa);
    run(b, t0(), morning, &ob);
    struct fw_models_zone_state st;
    ASSERT_EQ(fw_models_zone_state(a, "north", &st), 0);
    ASSERT_EQ(st.last_day_noon_ms, north_noon(2));

    ASSERT_EQ(fw_models_forecast(a, "north", north_day(3), 0, 30.0, 20.0, 6.0, 0.0), 0);
    ASSERT_EQ(fw_models_forecast(a, "north", north_day(4), 0, 33.0, 15.0, 8.0, 0.0), 0);
    oa.n = 0;
    fw_models_tick(a, morning, &oa);
    struct fw_fwi_codes c = st.codes;
    oracle_forecast(&c, 30.0, 20.0, 6.0, 0.0);
    oracle_forecast(&c, 33.0, 15.0, 8.0, 0.0);
    int cnt;
    ASSERT_DBL_NEAR(find(&oa, "north", "fwi_tomorrow", morning, &cnt), c.fwi, 1e-9);
    ASSERT_EQ(cnt, 1);

    ASSERT_EQ(fw_models_forecast(b, "north", north_day(4), 0, 33.0, 15.0, 8.0, 0.0), 0);
    ob.n = 0;
    run(b, morning, north_noon(3), &ob);
    ASSERT_EQ(count_metric(&ob, "north", "fire_danger_level_tomorrow"), 0);
    /* today's step runs at noon + the window; tomorrow's level follows in the same tick */
    run(b, north_noon(3), north_noon(3) + 2 * HOUR_MS, &ob);
    ASSERT_EQ(fw_models_zone_state(b, "north", &st), 0);
    ASSERT_EQ(st.last_day_noon_ms, north_noon(3));
    c = st.codes;
    oracle_forecast(&c, 33.0, 15.0, 8.0, 0.0);
    ASSERT_EQ(count_metric(&ob, "north", "fwi_tomorrow"), 1);
    ASSERT_DBL_NEAR(find(&ob, "north", "fwi_tomorrow", north_noon(3) + HOUR_MS, &cnt), c.fwi,
                    1e-9);
    fw_models_out_free(&oa);
    fw_models_out_free(&ob);
    fw_models_free(a);
    fw_models_free(b);
}

FW_TEST(forecast_checks)
{
    struct fw_models *m = new_models(0);
    struct fw_models_out out = {0};
    run(m, t0(), north_noon(2) + 2 * HOUR_MS, &out);
    ASSERT_EQ(fw_models_forecast(m, "nowhere", north_day(3), 0, 20, 50, 2, 0), -ENOENT);
    ASSERT_EQ(fw_models_forecast(m, "north", north_day(3), 0, 20, 150, 2, 0), -EINVAL);
    ASSERT_EQ(fw_models_forecast(m, "north", north_day(3), 0, 20, 50, NAN, 0), -EINVAL);
    ASSERT_EQ(fw_models_forecast(m, "north", north_day(3), 0, 20, 50, 2, -1), -EINVAL);
    ASSERT_EQ(fw_models_forecast(m, "north", north_day(2), 0, 20, 50, 2, 0), -ERANGE);
    /* the nearest FW_MODELS_MAX_FORECASTS days are kept: the farthest gives way */
    for (int d = 12; d >= 3; d--)
        ASSERT_EQ(fw_models_forecast(m, "north", north_day(d), 0, 20, 50, 2, 0), 0);
    char *json;
    ASSERT_EQ(fw_models_save(m, &json), 0);
    char day[32];
    snprintf(day, sizeof(day), "[%lld,", (long long)north_day(3 + FW_MODELS_MAX_FORECASTS - 1));
    ASSERT_STR_CONTAINS(json, day);
    snprintf(day, sizeof(day), "[%lld,", (long long)north_day(3 + FW_MODELS_MAX_FORECASTS));
    ASSERT_TRUE(strstr(json, day) == NULL);
    /* a saved state with forecasts out of order is refused */
    const char *fc = strstr(json, "\"forecasts\":[[");
    ASSERT_TRUE(fc != NULL);
    struct fw_models *r = new_models(0);
    ASSERT_EQ(fw_models_restore(r, json), 0);
    char *again;
    ASSERT_EQ(fw_models_save(r, &again), 0);
    ASSERT_STR_EQ(again, json);
    char *swapped = fw_xstrdup(json);
    char *second = strstr(swapped + (fc - json) + 14, "],[");
    ASSERT_TRUE(second != NULL);
    /* make the second entry's day equal to the first's */
    memcpy(second + 3, fc + 14, 5);
    ASSERT_EQ(fw_models_restore(r, swapped), -EINVAL);
    free(swapped);
    free(again);
    free(json);
    fw_models_free(r);
    fw_models_out_free(&out);
    fw_models_free(m);
}

/* A zone that has computed no day yet: forecasts for today and tomorrow give tomorrow's level
 * from the start-up codes, as the real steps would if the forecasts came true. */
FW_TEST(forecast_on_a_fresh_zone)
{
    struct fw_models *m = new_models(0);
    struct fw_models_out out = {0};
    int64_t morning = north_noon(0) - 3 * HOUR_MS; /* 09:00 local on day 0 */
    fw_models_tick(m, morning, &out);
    ASSERT_EQ(out.n, 0);
    ASSERT_EQ(fw_models_forecast(m, "north", north_day(1), 0, 33.0, 15.0, 8.0, 0.0), 0);
    fw_models_tick(m, morning + MIN_MS, &out);
    ASSERT_EQ(out.n, 0); /* today has no forecast: tomorrow cannot be chained */
    ASSERT_EQ(fw_models_forecast(m, "north", north_day(0), 0, 30.0, 20.0, 6.0, 0.0), 0);
    fw_models_tick(m, morning + 2 * MIN_MS, &out);
    struct fw_fwi_codes c;
    fw_fwi_codes_startup(&c);
    oracle_forecast(&c, 30.0, 20.0, 6.0, 0.0);
    oracle_forecast(&c, 33.0, 15.0, 8.0, 0.0);
    int cnt;
    ASSERT_DBL_NEAR(find(&out, "north", "fwi_tomorrow", morning + 2 * MIN_MS, &cnt), c.fwi, 1e-9);
    ASSERT_EQ(cnt, 1);
    /* the real model has still computed nothing */
    struct fw_models_zone_state st;
    ASSERT_EQ(fw_models_zone_state(m, "north", &st), 0);
    ASSERT_EQ(st.has_codes, 0);
    fw_models_out_free(&out);
    fw_models_free(m);
}

/* A restart between a forecast and the next tick still derives tomorrow's level, once; a reload
 * that changes the level table derives it again; of two forecasts for a day the later issue
 * wins whatever their order; a saved text naming a zone twice is read without harm. */
FW_TEST(forecast_restore_issue_order)
{
    struct fw_models *m = new_models(0);
    struct fw_models_out out = {0};
    int64_t evening = north_noon(2) + 6 * HOUR_MS;
    run(m, t0(), evening, &out);
    ASSERT_EQ(fw_models_forecast(m, "north", north_day(3), 2000, 36.0, 8.0, 14.0, 0.0), 0);
    /* an older issue, arriving late, is not taken */
    ASSERT_EQ(fw_models_forecast(m, "north", north_day(3), 1000, 10.0, 90.0, 0.0, 20.0),
              -EALREADY);
    char *saved;
    ASSERT_EQ(fw_models_save(m, &saved), 0); /* before any tick saw the forecast */

    struct fw_models *r = new_models(0);
    ASSERT_EQ(fw_models_restore(r, saved), 0);
    out.n = 0;
    fw_models_tick(r, evening + MIN_MS, &out);
    ASSERT_DBL_NEAR(find(&out, "north", "fire_danger_level_tomorrow", evening + MIN_MS, NULL), 5,
                    0);
    /* the following days too, up to every place: a restore must not outgrow them */
    for (int d = 4; d < 3 + FW_MODELS_MAX_FORECASTS; d++)
        ASSERT_EQ(fw_models_forecast(r, "north", north_day(d), 0, 20, 50, 2, 0), 0);
    out.n = 0;
    fw_models_tick(r, evening + MIN_MS, &out);
    ASSERT_EQ(out.n, 0); /* tomorrow's forecast did not change */
    char *again;
    ASSERT_EQ(fw_models_save(r, &again), 0);
    /* restored after the level was given, with the same table: nothing new */
    struct fw_models *same = new_models(0);
    ASSERT_EQ(fw_models_restore(same, again), 0);
    out.n = 0;
    fw_models_tick(same, evening + 2 * MIN_MS, &out);
    ASSERT_EQ(count_metric(&out, "north", "fire_danger_level_tomorrow"), 0);
    /* a reload whose table puts that FWI lower: the new level at the next tick */
    struct fw_models_zone z[2];
    zones_init(z, 0);
    for (int k = 0; k < FW_MODELS_LEVELS; k++)
        z[0].levels.min[k] = 1000.0 * (k + 1);
    struct fw_models *re = NULL;
    const char *err;
    ASSERT_EQ(fw_models_new(z, 2, &re, &err), 0);
    ASSERT_EQ(fw_models_restore(re, again), 0);
    out.n = 0;
    fw_models_tick(re, evening + 3 * MIN_MS, &out);
    ASSERT_DBL_NEAR(find(&out, "north", "fire_danger_level_tomorrow", evening + 3 * MIN_MS, NULL),
                    1, 0);

    /* the zone named twice in a saved text */
    const char *zones = strstr(again, "\"zones\":[");
    ASSERT_TRUE(zones != NULL);
    const char *west = strstr(zones, ",{\"id\":\"west\"");
    ASSERT_TRUE(west != NULL);
    size_t head = (size_t)(west - again), north_len = (size_t)(west - (zones + 9));
    char *twice = fw_xmalloc(strlen(again) + north_len + 2);
    memcpy(twice, again, head);
    twice[head] = ',';
    memcpy(twice + head + 1, zones + 9, north_len);
    strcpy(twice + head + 1 + north_len, west);
    struct fw_models *tw = new_models(0);
    ASSERT_EQ(fw_models_restore(tw, twice), 0);
    char *tw_saved;
    ASSERT_EQ(fw_models_save(tw, &tw_saved), 0);
    ASSERT_STR_EQ(tw_saved, again);

    /* a state saved before forecasts kept their issue time (five numbers each) still restores */
    char *old = fw_xstrdup(again), *w = old;
    const char *fc = strstr(again, "\"forecasts\":[");
    ASSERT_TRUE(fc != NULL);
    for (const char *p = again; *p; p++) {
        if (p > fc && p < strstr(fc, "]]") + 1 && *p == ',' && strchr(p + 1, ']') &&
            !memchr(p + 1, ',', (size_t)(strchr(p + 1, ']') - p - 1)) &&
            !memchr(p + 1, '[', (size_t)(strchr(p + 1, ']') - p - 1))) {
            p = strchr(p + 1, ']') - 1; /* drop ",<issue>" */
            continue;
        }
        *w++ = *p;
    }
    *w = '\0';
    ASSERT_TRUE(strlen(old) < strlen(again));
    struct fw_models *from_old = new_models(0);
    ASSERT_EQ(fw_models_restore(from_old, old), 0);
    fw_models_free(from_old);
    free(old);

    /* more days than places: the farthest is not kept, and says so */
    ASSERT_EQ(fw_models_forecast(r, "north", north_day(3 + FW_MODELS_MAX_FORECASTS), 0, 20, 50,
                                 2, 0),
              -ENOSPC);
    free(tw_saved);
    free(twice);
    free(again);
    free(saved);
    fw_models_free(tw);
    fw_models_free(re);
    fw_models_free(same);
    fw_models_free(r);
    fw_models_out_free(&out);
    fw_models_free(m);
}

/* A grassland zone reads its five levels off the Nesterov index, with Nesterov's own classes
 * (SCIENCE.md B: 300, 1000, 4000, 10000): each day's level is the class of that day's sum, and
 * dry days climb the classes (20 degC at 40 %: about 280 a day). */
FW_TEST(levels_on_the_nesterov_index)
{
    struct fw_models_zone z;
    fw_models_zone_init(&z, "steppe");
    z.lat = 45.0;
    z.hourly_ffmc = 0;
    fw_strlcpy(z.stations[0], "n1", FW_READING_MAX_ID);
    z.nstations = 1;
    z.levels.index = FW_MODELS_INDEX_NESTEROV;
    const double classes[FW_MODELS_LEVELS] = {0, 300, 1000, 4000, 10000};
    memcpy(z.levels.min, classes, sizeof(classes));
    z.levels.provisional = 0;
    struct fw_models *m = NULL;
    const char *err;
    ASSERT_EQ(fw_models_new(&z, 1, &m, &err), 0);
    struct fw_models_out out = {0};
    for (int64_t t = t0(); t <= t0() + 8 * DAY_MS; t += HOUR_MS) {
        edge_hour(m, t, 0.0);
        fw_models_tick(m, t, &out);
    }
    double prev = 0.0;
    int top = 0;
    for (int d = 1; d <= 7; d++) {
        int64_t noon = t0() + d * DAY_MS + 12 * HOUR_MS;
        int cnt;
        double ni = find(&out, "steppe", "nesterov_index", noon, &cnt);
        ASSERT_EQ(cnt, 1);
        ASSERT_GT(ni, prev); /* dry: the sum grows */
        prev = ni;
        int want = 1;
        for (int k = 1; k < FW_MODELS_LEVELS; k++)
            want += ni >= classes[k];
        ASSERT_DBL_NEAR(find(&out, "steppe", "fire_danger_level", noon, NULL), want, 0);
        top = want;
    }
    ASSERT_EQ(top, 3); /* a week of such days: about 1,900, class III */
    fw_models_out_free(&out);
    fw_models_free(m);
}
