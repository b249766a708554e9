/* SPDX-License-Identifier: MIT */
/*
 * The per-zone pest model driven through a season of synthetic hourly readings with a fake clock
 * (zone at +08:00, two stations reporting each hour at their own minute). The oracle is
 * independent of the model's buffers: it recomputes each local day's extremes from the synthetic
 * weather function and sums fw_degday(), the validated reference. Then: a stop in the middle,
 * saved and restored, gives exactly the readings of an uninterrupted run; a day with too few
 * readings pauses the sum and says so; the biofix by date and by a trap event; forecast days
 * announcing a stage ahead; hours of disease weather; and the acceptance through a real engine:
 * the stage alert fires once, on the day the projection first says 5 days, on the forestry
 * route only.
 */
#include "forestwatch/engine.h"
#include "forestwatch/pests.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"
#include "cfg_test.h"
#include "test.h"

#define MIN_MS 60000LL
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define STEP_MS (20 * MIN_MS) /* the fake clock's tick */
#define OFF_MS (8 * HOUR_MS)  /* +08:00 */
#define DELAY_MS HOUR_MS      /* the zones' close_delay_min */
#define SEASON 100            /* days, from 2026-04-01 */

/* The weather: W_SEASON warms from 4 to 24 degC over the season with a 14-degree daily range and
 * a little noise; W_FLAT is 8..16 degC every day (2 degree-days a day over 10, averaged). */
enum weather { W_SEASON, W_FLAT };

static const char *const station_ids[] = {"s1", "s2"};
static const int station_minute[] = {0, 20};

/* The whole run's settings; the cases change a few. */
static struct {
    enum weather wx;
    int drop_st; /* station whose temperatures are withheld (-1 none, 2 both) */
    int64_t drop_from, drop_to;
    int trap_from_day; /* day from which the trap catches 4 a report (-1 never) */
    int trap_lone_day; /* a single day of catches before that (-1 none) */
    int dry_day;       /* a day without humid hours (-1 none) */
} opt;

static void opt_reset(void)
{
    opt.wx = W_SEASON;
    opt.drop_st = -1;
    opt.trap_from_day = -1;
    opt.trap_lone_day = -1;
    opt.dry_day = -1;
}

static int64_t day0(void)
{
    return fw_time__days_from_civil(2026, 4, 1);
}

/* The UTC time of local day `d` (0 = 2026-04-01) at hour `h`. */
static int64_t at(int d, int h)
{
    return (day0() + d) * DAY_MS - OFF_MS + h * HOUR_MS;
}

/* The end of local day d, when its readings are timed, and the tick that emits them. */
static int64_t day_end(int d)
{
    return at(d + 1, 0);
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

static double temp_at(int st, int64_t t)
{
    int64_t local = t + OFF_MS;
    double d = (double)(local / DAY_MS - day0());
    int h = (int)((local % DAY_MS) / HOUR_MS);
    if (opt.wx == W_FLAT)
        return 12.0 - 4.0 * cos(2 * M_PI * h / 24.0);
    uint32_t r = mix((uint32_t)(t / MIN_MS) * 2654435761U ^ (uint32_t)(st + 1));
    return 4.0 + 0.2 * d + 7.0 * sin(2 * M_PI * (h - 9) / 24.0) + 0.5 * st + (r % 100) / 100.0;
}

static double rh_at(int64_t t)
{
    int64_t local = t + OFF_MS;
    int d = (int)(local / DAY_MS - day0());
    int h = (int)((local % DAY_MS) / HOUR_MS);
    return h < 8 && d != opt.dry_day ? 95.0 : 60.0;
}

/* Disease weather: humid 00..07, at 18 degC 00..05 and 30 degC 06..07 (outside the band). */
static double disease_temp_at(int64_t t)
{
    int h = (int)(((t + OFF_MS) % DAY_MS) / HOUR_MS);
    return h < 6 ? 18.0 : h < 8 ? 30.0 : 20.0;
}

static int temp_dropped(int st, int64_t t)
{
    return (opt.drop_st == st || opt.drop_st == 2) && t >= opt.drop_from && t < opt.drop_to;
}

static void feed(struct fw_pests *m, const char *station, const char *metric, double v, int64_t t)
{
    struct fw_reading r = {0};
    r.source = FW_SOURCE_MQTT_NATIVE;
    fw_strlcpy(r.station, station, sizeof(r.station));
    r.metric = fw_metric_find(metric);
    r.value = v;
    r.time_ms = t;
    fw_pests_feed(m, &r);
}

typedef void (*after_tick_fn)(const struct fw_pests_out *out, size_t from, int64_t now, void *arg);

/* Drive the clock over [from, to): the reports due at each tick, then the tick. `disease`
 * switches the stations to the disease weather. */
static void run(struct fw_pests *m, int64_t from, int64_t to, int disease, struct fw_pests_out *out,
                after_tick_fn fn, void *arg)
{
    for (int64_t t = from; t < to; t += STEP_MS) {
        for (int st = 0; st < 2; st++) {
            if (t % HOUR_MS != station_minute[st] * MIN_MS)
                continue;
            if (!temp_dropped(st, t))
                feed(m, station_ids[st], "air_temp_c",
                     disease ? disease_temp_at(t) : temp_at(st, t), t);
            if (disease)
                feed(m, station_ids[st], "rel_humidity_pct", rh_at(t), t);
        }
        if (t % (6 * HOUR_MS) == 0 && opt.trap_from_day >= 0) {
            int d = (int)((t + OFF_MS) / DAY_MS - day0());
            int catching = d >= opt.trap_from_day || d == opt.trap_lone_day;
            feed(m, "t1", "trap_count", catching ? 4.0 : 0.0, t);
        }
        size_t n = out->n;
        fw_pests_tick(m, t, out);
        if (fn)
            fn(out, n, t, arg);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The oracle
 * ------------------------------------------------------------------------------------------- */

/* The zone's extremes of local day d from the stations' hourly reports, as the model must make
 * them: the mean of the station minima and maxima; 0 for a missing day (< 20 hours covered). */
static int oracle_day(int d, double *tmin, double *tmax)
{
    double lo = 0.0, hi = 0.0;
    int n = 0;
    for (int st = 0; st < 2; st++) {
        double smin = INFINITY, smax = -INFINITY;
        int hours = 0;
        for (int h = 0; h < 24; h++) {
            int64_t t = at(d, h) + station_minute[st] * MIN_MS;
            if (temp_dropped(st, t))
                continue;
            hours++;
            smin = fmin(smin, temp_at(st, t));
            smax = fmax(smax, temp_at(st, t));
        }
        if (hours >= 20) {
            lo += smin;
            hi += smax;
            n++;
        }
    }
    if (!n)
        return 0;
    *tmin = lo / n;
    *tmax = hi / n;
    return 1;
}

/* The degree-days of day d (0 when missing); a double method uses the next day's minimum. */
static double oracle_dd(const struct fw_pests_pest *p, int d)
{
    double lo, hi, nlo, nhi, dd = 0.0;
    if (!oracle_day(d, &lo, &hi))
        return 0.0;
    double next = oracle_day(d + 1, &nlo, &nhi) ? nlo : FW_DD_NEXT_UNKNOWN;
    fw_degday(p->method, p->cutoff, lo, hi, next, p->lower, p->upper, &dd);
    return dd;
}

/* ---------------------------------------------------------------------------------------------
 * Zones and output helpers
 * ------------------------------------------------------------------------------------------- */

static void pest_init(struct fw_pests_pest *p, const char *id, enum fw_dd_method method)
{
    fw_pests_pest_init(p, id);
    p->method = method;
    p->lower = 10.0;
    p->upper = 30.0;
    p->biofix_month = 4;
    p->biofix_day = 10;
    p->nstages = 2;
    fw_strlcpy(p->stages[0].name, "adult emergence", sizeof(p->stages[0].name));
    p->stages[0].dd = 150.0;
    fw_strlcpy(p->stages[0].action, "hang pheromone traps; prepare spraying",
               sizeof(p->stages[0].action));
    fw_strlcpy(p->stages[1].name, "second generation", sizeof(p->stages[1].name));
    p->stages[1].dd = 5000.0;
}

static void zone_init(struct fw_pests_zone *z, const char *id, enum fw_dd_method method)
{
    fw_pests_zone_init(z, id);
    z->utc_offset_min = 480;
    fw_strlcpy(z->stations[0], "s1", FW_READING_MAX_ID);
    fw_strlcpy(z->stations[1], "s2", FW_READING_MAX_ID);
    z->nstations = 2;
    z->npests = 1;
    pest_init(&z->pests[0], "larch-caterpillar", method);
}

static struct fw_pests *new_model(const struct fw_pests_zone *z, size_t n)
{
    struct fw_pests *m = NULL;
    const char *err;
    if (fw_pests_new(z, n, &m, &err) < 0)
        fprintf(stderr, "fw_pests_new: %s\n", err);
    return m;
}

/* The value of `metric` for `zone` at `t` in `out`, or NAN; *count gets how many there are. */
static double find(const struct fw_pests_out *out, const char *zone, const char *metric, int64_t t,
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

static double day_value(const struct fw_pests_out *out, const char *zone, const char *metric, int d)
{
    return find(out, zone, metric, day_end(d), NULL);
}

/* The biofix (2026-04-10) is day 9. */
#define BIOFIX 9

/* ---------------------------------------------------------------------------------------------
 * Cases
 * ------------------------------------------------------------------------------------------- */

/* A season with the double sine: each day's degree_days is the oracle's sum from the biofix of
 * the finalized days (the double method's day d waits for day d + 1's minimum), the stage is
 * announced with 0 on the day it is reached, and the days to it count down before. */
FW_TEST(season_double_sine)
{
    opt_reset();
    struct fw_pests_zone z;
    zone_init(&z, "z1", FW_DD_DOUBLE_SINE);
    struct fw_pests *m = new_model(&z, 1);
    struct fw_pests_out out = {0};
    ASSERT_TRUE(m);
    run(m, at(0, 0) - 2 * HOUR_MS, day_end(SEASON) + DELAY_MS + 1, 0, &out, NULL, NULL);
    const struct fw_pests_pest *p = &z.pests[0];
    /* nothing before the biofix: no pest has one */
    ASSERT_TRUE(isnan(day_value(&out, "z1", "degree_days", BIOFIX - 1)));
    double cum = 0.0;
    int stage_day = -1;
    for (int d = BIOFIX; d < SEASON; d++) {
        int cnt;
        double got = find(&out, "z1", "degree_days", day_end(d), &cnt);
        ASSERT_EQ(cnt, 1);
        ASSERT_DBL_NEAR(got, cum, 1e-9); /* through day d - 1 */
        ASSERT_DBL_NEAR(day_value(&out, "z1", "pest_model_missing", d), 0.0, 0);
        double lo, hi, prov = 0.0;
        ASSERT_TRUE(oracle_day(d, &lo, &hi));
        fw_degday(p->method, p->cutoff, lo, hi, FW_DD_NEXT_UNKNOWN, p->lower, p->upper, &prov);
        double days = day_value(&out, "z1", "pest_days_to_stage", d);
        if (stage_day < 0 && cum + prov >= p->stages[0].dd) {
            stage_day = d;
            ASSERT_DBL_NEAR(days, 0.0, 0);
        } else if (stage_day < 0) {
            ASSERT_GT(days, 0.0);
        }
        cum += oracle_dd(p, d);
    }
    ASSERT_GT(stage_day, BIOFIX + 20);
    ASSERT_LT(stage_day, SEASON - 10);
    /* The countdown: within a day of the truth over the last five days, never rising. */
    for (int k = 1; k <= 5; k++) {
        double days = day_value(&out, "z1", "pest_days_to_stage", stage_day - k);
        ASSERT_TRUE(fabs(days - k) <= 1.0);
        ASSERT_TRUE(days <= day_value(&out, "z1", "pest_days_to_stage", stage_day - k - 1));
    }
    /* After the stage the next one is far off. */
    ASSERT_GT(day_value(&out, "z1", "pest_days_to_stage", stage_day + 2), 30.0);
    struct fw_pests_pest_state st;
    ASSERT_EQ(fw_pests_pest_state(m, "z1", "larch-caterpillar", &st), 0);
    ASSERT_EQ(st.reached, 1);
    ASSERT_STR_EQ(st.next_stage, "second generation");
    ASSERT_EQ(st.biofix_day, day0() + BIOFIX);
    ASSERT_EQ(fw_pests_pest_state(m, "z1", "nothing", &st), -ENOENT);
    /* Every output is a derived zone reading timed at a local midnight. */
    for (size_t i = 0; i < out.n; i++) {
        ASSERT_EQ(out.v[i].source, FW_SOURCE_DERIVED);
        ASSERT_EQ(out.v[i].metric->scope, FW_METRIC_ZONE);
        ASSERT_EQ((out.v[i].time_ms + OFF_MS) % DAY_MS, 0);
    }
    fw_pests_out_free(&out);
    fw_pests_free(m);
}

/*
 * The projection of the simple average, exactly: with no forecast, the days to the stage are
 * the days the mean of the last 7 days' degree-days takes to cover what is left. Returns the
 * first day the projection is <= 5 (the day the rule `pest_days_to_stage <= 5` must fire), and
 * checks every day up to the stage against the model's readings when `out` is given.
 */
static int oracle_projection(const struct fw_pests_pest *p, const struct fw_pests_out *out,
                             int *stage_day)
{
    double cum = 0.0;
    int first5 = -1;
    *stage_day = -1;
    for (int d = BIOFIX; d < SEASON; d++) {
        cum += oracle_dd(p, d);
        int want;
        if (cum >= p->stages[0].dd) {
            *stage_day = d;
            want = 0;
        } else {
            double rate = 0.0, c = cum;
            for (int k = d - 6; k <= d; k++)
                rate += oracle_dd(p, k);
            rate /= 7;
            want = 0;
            while (c < p->stages[0].dd && want < FW_PESTS_DAYS_CAP) {
                c += rate;
                want++;
            }
        }
        if (out) {
            double got = day_value(out, "z1", "pest_days_to_stage", d);
            if (got != want) {
                fprintf(stderr, "day %d: pest_days_to_stage %g, want %d\n", d, got, want);
                return -2;
            }
            if (fabs(day_value(out, "z1", "degree_days", d) - cum) > 1e-9)
                return -2;
        }
        if (first5 < 0 && want <= 5)
            first5 = d;
        if (*stage_day >= 0)
            break;
    }
    return first5;
}

FW_TEST(season_average_exact_projection)
{
    opt_reset();
    struct fw_pests_zone z;
    zone_init(&z, "z1", FW_DD_AVERAGE);
    z.pests[0].upper = FW_DD_NO_UPPER;
    struct fw_pests *m = new_model(&z, 1);
    struct fw_pests_out out = {0};
    run(m, at(0, 0) - 2 * HOUR_MS, day_end(SEASON) + DELAY_MS + 1, 0, &out, NULL, NULL);
    int stage_day;
    int first5 = oracle_projection(&z.pests[0], &out, &stage_day);
    ASSERT_GE(first5, 0);
    ASSERT_TRUE(first5 >= stage_day - 6 && first5 <= stage_day - 4);
    fw_pests_out_free(&out);
    fw_pests_free(m);
}

static int outs_identical(const struct fw_pests_out *a, const struct fw_pests_out *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct fw_reading *x = &a->v[i], *y = &b->v[i];
        if (x->time_ms != y->time_ms || x->metric != y->metric || strcmp(x->zone, y->zone) != 0 ||
            memcmp(&x->value, &y->value, sizeof(double)) != 0)
            return 0;
    }
    return 1;
}

/* Two zones on the same stations (double sine; average with a trap biofix and disease weather)
 * with forecasts: everything the model keeps is exercised by a restart. */
static void restart_zones(struct fw_pests_zone z[2])
{
    zone_init(&z[0], "z1", FW_DD_DOUBLE_SINE);
    zone_init(&z[1], "z2", FW_DD_AVERAGE);
    struct fw_pests_pest *p = &z[1].pests[0];
    p->biofix = FW_PESTS_BIOFIX_TRAP;
    fw_strlcpy(p->traps[0], "t1", FW_READING_MAX_ID);
    p->ntraps = 1;
    p->trap_count = 10;
    p->trap_days = 3;
    z[1].disease = (struct fw_pests_disease){1, 90.0, 15.0, 25.0};
}

/* The acceptance's persistence half: stop anywhere (mid-day, just before a daily step, just
 * after), persist, start a new model from the saved state, and every reading is exactly the
 * uninterrupted run's. */
FW_TEST(restart_continues_exactly)
{
    opt_reset();
    opt.trap_from_day = 30;
    struct fw_pests_zone z[2];
    restart_zones(z);
    const int64_t from = at(0, 0) - 2 * HOUR_MS, end = day_end(60) + DELAY_MS + 1;
    const int64_t stops[] = {at(40, 14) + 40 * MIN_MS, day_end(31) + DELAY_MS - STEP_MS,
                             day_end(31) + DELAY_MS, at(1, 3)};
    struct fw_pests *a = new_model(z, 2);
    ASSERT_EQ(fw_pests_forecast(a, "z1", day0() + 45, 0, 20.0, 30.0), 0);
    struct fw_pests_out oa = {0};
    run(a, from, end, 0, &oa, NULL, NULL);
    ASSERT_GT(oa.n, 200);
    char *ja;
    ASSERT_EQ(fw_pests_save(a, &ja), 0);

    for (size_t k = 0; k < FW_ARRAY_LEN(stops); k++) {
        struct fw_pests *b = new_model(z, 2);
        ASSERT_EQ(fw_pests_forecast(b, "z1", day0() + 45, 0, 20.0, 30.0), 0);
        struct fw_pests_out ob = {0};
        run(b, from, stops[k], 0, &ob, NULL, NULL);
        char *saved;
        ASSERT_EQ(fw_pests_save(b, &saved), 0);
        fw_pests_free(b);

        struct fw_pests *c = new_model(z, 2);
        ASSERT_EQ(fw_pests_restore(c, saved), 0);
        char *again;
        ASSERT_EQ(fw_pests_save(c, &again), 0);
        ASSERT_STR_EQ(again, saved);
        run(c, stops[k], end, 0, &ob, NULL, NULL);
        ASSERT_TRUE(outs_identical(&oa, &ob));
        char *jc;
        ASSERT_EQ(fw_pests_save(c, &jc), 0);
        ASSERT_STR_EQ(jc, ja);
        free(jc);
        free(again);
        free(saved);
        fw_pests_out_free(&ob);
        fw_pests_free(c);
    }
    /* A bad text is refused as a whole and changes nothing. */
    struct fw_pests *d = new_model(z, 2);
    ASSERT_EQ(fw_pests_restore(d, "{\"version\": 1, \"zones\": [{\"id\": \"z1\"}]}"), -EINVAL);
    ASSERT_EQ(fw_pests_restore(d, "not json"), -EINVAL);
    ASSERT_EQ(fw_pests_restore(d, "{\"version\": 2, \"zones\": []}"), -EINVAL);
    char *jd;
    ASSERT_EQ(fw_pests_save(d, &jd), 0);
    ASSERT_STR_CONTAINS(jd, "\"next_day\":null");
    free(jd);
    fw_pests_free(d);
    free(ja);
    fw_pests_out_free(&oa);
    fw_pests_free(a);
}

/* Day 20 loses 8 hours of both stations: it is missing (pest_model_missing = 1), and the sum
 * pauses, for the average (z1) and for the double sine (z2, whose day 19 then uses its own
 * minimum). Day 30 loses one station only: the other one makes the day. */
FW_TEST(missing_day_pauses)
{
    opt_reset();
    opt.drop_st = 2;
    opt.drop_from = at(20, 2);
    opt.drop_to = at(20, 10);
    struct fw_pests_zone z[2];
    zone_init(&z[0], "z1", FW_DD_AVERAGE);
    zone_init(&z[1], "z2", FW_DD_DOUBLE_SINE);
    struct fw_pests *m = new_model(z, 2);
    struct fw_pests_out out = {0};
    run(m, at(0, 0) - 2 * HOUR_MS, day_end(30) + DELAY_MS + 1, 0, &out, NULL, NULL);
    double lo, hi;
    ASSERT_TRUE(!oracle_day(20, &lo, &hi));
    ASSERT_DBL_NEAR(day_value(&out, "z1", "pest_model_missing", 20), 1.0, 0);
    ASSERT_DBL_NEAR(day_value(&out, "z2", "pest_model_missing", 20), 1.0, 0);
    ASSERT_DBL_NEAR(day_value(&out, "z1", "pest_model_missing", 21), 0.0, 0);
    /* average: day 20 adds nothing */
    const struct fw_pests_pest *pa = &z[0].pests[0], *pd = &z[1].pests[0];
    double c19 = day_value(&out, "z1", "degree_days", 19);
    ASSERT_DBL_NEAR(day_value(&out, "z1", "degree_days", 20), c19, 0);
    ASSERT_DBL_NEAR(day_value(&out, "z1", "degree_days", 21), c19 + oracle_dd(pa, 21), 1e-9);
    /* double sine: day 19 (final at day 20) used its own minimum, day 20 adds nothing */
    double d18 = day_value(&out, "z2", "degree_days", 19); /* through day 18 */
    double want19;
    ASSERT_TRUE(oracle_day(19, &lo, &hi));
    fw_degday(pd->method, pd->cutoff, lo, hi, FW_DD_NEXT_UNKNOWN, pd->lower, pd->upper, &want19);
    ASSERT_DBL_NEAR(oracle_dd(pd, 19), want19, 0); /* the oracle agrees */
    ASSERT_DBL_NEAR(day_value(&out, "z2", "degree_days", 20), d18 + want19, 1e-9);
    ASSERT_DBL_NEAR(day_value(&out, "z2", "degree_days", 21), d18 + want19, 1e-9);
    ASSERT_DBL_NEAR(day_value(&out, "z2", "degree_days", 22), d18 + want19 + oracle_dd(pd, 21),
                    1e-9);
    /* the zone's readings still come: the projection continues from the week's rate */
    ASSERT_TRUE(!isnan(day_value(&out, "z1", "pest_days_to_stage", 20)));
    fw_pests_out_free(&out);
    fw_pests_free(m);

    /* One station silent all day 25: the other makes the day alone. */
    opt.drop_st = 0;
    opt.drop_from = at(25, 0);
    opt.drop_to = at(26, 0);
    m = new_model(z, 1);
    run(m, at(0, 0) - 2 * HOUR_MS, day_end(26) + DELAY_MS + 1, 0, &out, NULL, NULL);
    ASSERT_DBL_NEAR(day_value(&out, "z1", "pest_model_missing", 25), 0.0, 0);
    double c24 = day_value(&out, "z1", "degree_days", 24);
    ASSERT_TRUE(oracle_day(25, &lo, &hi));
    double dd25;
    fw_degday(FW_DD_AVERAGE, FW_DD_HORIZONTAL, lo, hi, FW_DD_NEXT_UNKNOWN, 10.0, 30.0, &dd25);
    ASSERT_DBL_NEAR(day_value(&out, "z1", "degree_days", 25), c24 + dd25, 1e-9);
    fw_pests_out_free(&out);
    fw_pests_free(m);
}

/* The biofix by trap: a lone day of catches does nothing; from day 30 the trap catches 16 a day,
 * the third such day (32) sets the biofix to day 30, and degree_days then holds days 30..32. The
 * trap aggregates count per local day and per 7 days. */
FW_TEST(biofix_by_trap_event)
{
    opt_reset();
    opt.trap_from_day = 30;
    opt.trap_lone_day = 20;
    struct fw_pests_zone z[2];
    restart_zones(z);
    struct fw_pests *m = new_model(&z[1], 1);
    struct fw_pests_out out = {0};
    run(m, at(0, 0) - 2 * HOUR_MS, day_end(45) + DELAY_MS + 1, 0, &out, NULL, NULL);
    const struct fw_pests_pest *p = &z[1].pests[0];
    for (int d = 0; d < 32; d++)
        ASSERT_TRUE(isnan(day_value(&out, "z2", "degree_days", d)));
    double want = oracle_dd(p, 30) + oracle_dd(p, 31) + oracle_dd(p, 32);
    ASSERT_DBL_NEAR(day_value(&out, "z2", "degree_days", 32), want, 1e-9);
    ASSERT_DBL_NEAR(day_value(&out, "z2", "degree_days", 33), want + oracle_dd(p, 33), 1e-9);
    struct fw_pests_pest_state st;
    ASSERT_EQ(fw_pests_pest_state(m, "z2", "larch-caterpillar", &st), 0);
    ASSERT_EQ(st.biofix_day, day0() + 30);
    ASSERT_DBL_NEAR(day_value(&out, "z2", "trap_count_day", 19), 0.0, 0);
    ASSERT_DBL_NEAR(day_value(&out, "z2", "trap_count_day", 20), 16.0, 0);
    ASSERT_DBL_NEAR(day_value(&out, "z2", "trap_count_week", 26), 16.0, 0);
    ASSERT_DBL_NEAR(day_value(&out, "z2", "trap_count_week", 27), 0.0, 0);
    ASSERT_DBL_NEAR(day_value(&out, "z2", "trap_count_week", 33), 64.0, 0);
    ASSERT_DBL_NEAR(day_value(&out, "z2", "trap_count_week", 40), 112.0, 0);
    fw_pests_out_free(&out);
    fw_pests_free(m);
}

/* Forecast days announce a stage ahead. Flat weather gives 2 degree-days a day from 1 April, so
 * after day 17 the stage at 100 is 32 days off. Then the forecast says days 20..23 will be 20..30
 * degC (15 a day): on day 18 the stage is expected on day 23, in 5 days, on day 19 in 4; the
 * forecast never enters degree_days. */
FW_TEST(forecast_announces_stage_ahead)
{
    opt_reset();
    opt.wx = W_FLAT;
    struct fw_pests_zone z;
    zone_init(&z, "z1", FW_DD_AVERAGE);
    struct fw_pests_pest *p = &z.pests[0];
    p->upper = FW_DD_NO_UPPER;
    p->biofix_day = 1;
    p->nstages = 1;
    p->stages[0].dd = 99.0;
    struct fw_pests *m = new_model(&z, 1);
    struct fw_pests_out out = {0};
    const int64_t from = at(0, 0) - 2 * HOUR_MS;
    const int64_t mid = day_end(17) + DELAY_MS + STEP_MS; /* right after day 17's step */
    run(m, from, mid, 0, &out, NULL, NULL);
    ASSERT_DBL_NEAR(day_value(&out, "z1", "degree_days", 17), 36.0, 1e-12);
    ASSERT_DBL_NEAR(day_value(&out, "z1", "pest_days_to_stage", 17), 32.0, 0);
    for (int d = 20; d <= 23; d++)
        ASSERT_EQ(fw_pests_forecast(m, "z1", day0() + d, 0, 20.0, 30.0), 0);
    ASSERT_EQ(fw_pests_forecast(m, "nowhere", day0() + 20, 0, 20.0, 30.0), -ENOENT);
    ASSERT_EQ(fw_pests_forecast(m, "z1", day0() + 20, 0, 30.0, 20.0), -EINVAL);
    ASSERT_EQ(fw_pests_forecast(m, "z1", day0() + 20, 0, NAN, 20.0), -EINVAL);
    /* of two forecasts for a day the later issue wins, whatever their order */
    ASSERT_EQ(fw_pests_forecast(m, "z1", day0() + 21, 5, 20.0, 30.0), 0);
    ASSERT_EQ(fw_pests_forecast(m, "z1", day0() + 21, 3, -5.0, 0.0), -EALREADY);
    /* the issue is saved; a state saved without it still restores */
    char *saved, tuple[64];
    ASSERT_EQ(fw_pests_save(m, &saved), 0);
    snprintf(tuple, sizeof(tuple), "[%lld,20,30,5]", (long long)(day0() + 21));
    char *t = strstr(saved, tuple);
    ASSERT_TRUE(t != NULL);
    memmove(t + strlen(tuple) - 3, t + strlen(tuple) - 1, strlen(t + strlen(tuple) - 1) + 1);
    struct fw_pests *old = new_model(&z, 1);
    ASSERT_EQ(fw_pests_restore(old, saved), 0);
    fw_pests_free(old);
    free(saved);
    run(m, mid, day_end(19) + DELAY_MS + 1, 0, &out, NULL, NULL);
    ASSERT_DBL_NEAR(day_value(&out, "z1", "pest_days_to_stage", 18), 5.0, 0);
    ASSERT_DBL_NEAR(day_value(&out, "z1", "pest_days_to_stage", 19), 4.0, 0);
    ASSERT_DBL_NEAR(day_value(&out, "z1", "degree_days", 19), 40.0, 1e-12);
    struct fw_pests_pest_state st;
    ASSERT_EQ(fw_pests_pest_state(m, "z1", "larch-caterpillar", &st), 0);
    ASSERT_EQ(st.days_to_stage, 4);
    ASSERT_STR_EQ(st.next_stage, "adult emergence");
    ASSERT_STR_EQ(st.next_action, "hang pheromone traps; prepare spraying");
    fw_pests_out_free(&out);
    fw_pests_free(m);
}

/* Disease weather: humid (95 %) 00..07 local, at 18 degC until 06 and 30 degC after (outside
 * the 15..25 band): 6 hours in any 24. Day 3 is dry: at 04:00 on day 3 only 04..05 of day 2
 * remain. No value before 20 of the last 24 hours are known. */
FW_TEST(disease_risk_hours)
{
    opt_reset();
    opt.dry_day = 3;
    struct fw_pests_zone z[2];
    restart_zones(z);
    struct fw_pests *m = new_model(&z[1], 1);
    struct fw_pests_out out = {0};
    run(m, at(0, 0), day_end(4) + 2 * HOUR_MS, 1, &out, NULL, NULL);
    int cnt;
    find(&out, "z2", "disease_risk_hours", at(0, 19), &cnt);
    ASSERT_EQ(cnt, 0);
    ASSERT_DBL_NEAR(find(&out, "z2", "disease_risk_hours", at(0, 20), &cnt), 6.0, 0);
    ASSERT_EQ(cnt, 1);
    for (int h = 0; h < 24; h++)
        ASSERT_DBL_NEAR(find(&out, "z2", "disease_risk_hours", at(2, h), NULL), 6.0, 0);
    ASSERT_DBL_NEAR(find(&out, "z2", "disease_risk_hours", at(3, 4), NULL), 2.0, 0);
    ASSERT_DBL_NEAR(find(&out, "z2", "disease_risk_hours", at(4, 0), NULL), 0.0, 0);
    ASSERT_DBL_NEAR(find(&out, "z2", "disease_risk_hours", at(4, 6), NULL), 6.0, 0);
    fw_pests_out_free(&out);
    fw_pests_free(m);
}

FW_TEST(parameters_checked)
{
    struct fw_pests_zone z;
    const char *err;
    zone_init(&z, "z1", FW_DD_AVERAGE);
    ASSERT_EQ(fw_pests_zone_check(&z, &err), 0);
    z.pests[0].lower = NAN;
    ASSERT_EQ(fw_pests_zone_check(&z, &err), -EINVAL);
    ASSERT_STR_CONTAINS(err, "must be set");
    zone_init(&z, "z1", FW_DD_AVERAGE);
    z.pests[0].stages[1].dd = 100.0;
    ASSERT_EQ(fw_pests_zone_check(&z, &err), -EINVAL);
    ASSERT_STR_CONTAINS(err, "ascending");
    zone_init(&z, "z1", FW_DD_AVERAGE);
    z.pests[0].biofix = FW_PESTS_BIOFIX_TRAP;
    ASSERT_EQ(fw_pests_zone_check(&z, &err), -EINVAL);
    ASSERT_STR_CONTAINS(err, "traps");
    zone_init(&z, "z1", FW_DD_AVERAGE);
    z.min_hours = 25;
    ASSERT_EQ(fw_pests_zone_check(&z, &err), -EINVAL);
    zone_init(&z, "z1", FW_DD_AVERAGE);
    z.disease.enabled = 1;
    ASSERT_EQ(fw_pests_zone_check(&z, &err), -EINVAL);
    ASSERT_STR_CONTAINS(err, "disease");
    struct fw_pests_zone two[2];
    zone_init(&two[0], "z1", FW_DD_AVERAGE);
    zone_init(&two[1], "z1", FW_DD_AVERAGE);
    struct fw_pests *m = NULL;
    ASSERT_EQ(fw_pests_new(two, 2, &m, &err), -EINVAL);
    ASSERT_TRUE(m == NULL);
    fw_pests_free(NULL);
    ASSERT_EQ(fw_time__days_from_civil(1970, 1, 1), 0);
    ASSERT_EQ(fw_time__days_from_civil(2026, 4, 1), 20544);
}

/* ---------------------------------------------------------------------------------------------
 * The acceptance through the engine
 * ------------------------------------------------------------------------------------------- */

#define PEST_RULE                                                                                  \
    "{\"name\": \"pest_stage\", \"category\": \"Env\", \"severity\": \"Moderate\","                \
    " \"expr\": \"pest_days_to_stage <= 5\", \"routes\": [\"forestry\"]}"
#define ENGINE_DAYS "{\"eval_interval_ms\": 3600000, \"lookback_ms\": 172800000}"

struct engine_run {
    struct fw_config *cfg;
    struct fw_engine *e;
    struct fw_actions a;
    int64_t first5_ms; /* the tick that fed the first pest_days_to_stage <= 5 */
};

static void on_tick_feed_engine(const struct fw_pests_out *out, size_t from, int64_t now, void *arg)
{
    struct engine_run *r = arg;
    for (size_t i = from; i < out->n; i++) {
        const struct fw_reading *rd = &out->v[i];
        if (r->first5_ms == 0 && strcmp(rd->metric->name, "pest_days_to_stage") == 0 &&
            rd->value <= 5)
            r->first5_ms = now;
        fw_engine_feed(r->e, rd, now, &r->a);
    }
    fw_engine_tick(r->e, now, &r->a);
}

static const char *kinds(const struct engine_run *r, const char *route)
{
    static char buf[512];
    buf[0] = '\0';
    for (size_t i = 0; i < r->a.n; i++) {
        if (strcmp(r->cfg->routes[r->a.items[i].route].name, route) != 0)
            continue;
        if (buf[0])
            strcat(buf, ",");
        strcat(buf, fw_alert_kind_str(r->a.items[i].alert.kind));
    }
    return buf;
}

/* A season through the pest model into a real engine, once uninterrupted and once with the
 * model restarted from its saved state in the middle: the stage alert fires once, on the day the
 * oracle's projection first says 5 days, for zone z1, on the forestry route only, is said again
 * each day it holds, and resolves when the stage has passed; both runs notify exactly the same. */
FW_TEST(engine_stage_alert_fires_once_forestry_only)
{
    opt_reset();
    struct fw_pests_zone z;
    zone_init(&z, "z1", FW_DD_AVERAGE);
    z.pests[0].upper = FW_DD_NO_UPPER;
    int stage_day;
    int first5 = oracle_projection(&z.pests[0], NULL, &stage_day);
    ASSERT_GT(first5, BIOFIX + 10);
    const int64_t from = at(0, 0) - 2 * HOUR_MS, end = day_end(SEASON) + DELAY_MS + 1;
    const int64_t stop = day_end(first5 - 2) + 5 * HOUR_MS;
    struct engine_run runs[2];
    for (int k = 0; k < 2; k++) {
        struct engine_run *r = &runs[k];
        memset(r, 0, sizeof(*r));
        r->cfg = cfg_from_text(CFG_BASE(PEST_RULE, ENGINE_DAYS));
        ASSERT_TRUE(r->cfg);
        r->e = fw_engine_new(r->cfg);
        struct fw_pests *m = new_model(&z, 1);
        struct fw_pests_out out = {0};
        if (k == 0) {
            run(m, from, end, 0, &out, on_tick_feed_engine, r);
        } else {
            run(m, from, stop, 0, &out, on_tick_feed_engine, r);
            char *saved;
            ASSERT_EQ(fw_pests_save(m, &saved), 0);
            fw_pests_free(m);
            m = new_model(&z, 1);
            ASSERT_EQ(fw_pests_restore(m, saved), 0);
            free(saved);
            run(m, stop, end, 0, &out, on_tick_feed_engine, r);
        }
        fw_pests_out_free(&out);
        fw_pests_free(m);

        /* One Alert, then an Update at each local midnight while it holds (a daily value's
         * message expires with its day: fw_alert_validity), then the resolution. */
        ASSERT_STR_EQ(kinds(r, "emergency"), "");
        ASSERT_GE(r->a.n, 2);
        const size_t last = r->a.n - 1;
        const int off = fw_config_zone_offset_min(r->cfg, fw_config_zone(r->cfg, "z1"));
        const int64_t day0 = fw_time__local_day(r->a.items[0].alert.sent_ms, off);
        ASSERT_EQ(r->a.items[0].alert.kind, FW_KIND_NEW);
        ASSERT_EQ(r->a.items[last].alert.kind, FW_KIND_RESOLVED);
        ASSERT_EQ(last - 1, fw_time__local_day(r->a.items[last].alert.sent_ms, off) - day0);
        for (size_t i = 1; i < last; i++) {
            ASSERT_EQ(r->a.items[i].alert.kind, FW_KIND_UPDATE);
            ASSERT_EQ(r->a.items[i].alert.sent_ms, fw_time__local_day_start(day0 + i, off));
        }
        const struct fw_alert *al = &r->a.items[0].alert;
        ASSERT_STR_EQ(al->zone, "z1");
        ASSERT_STR_EQ(al->rule, "pest_stage");
        ASSERT_EQ(r->first5_ms, day_end(first5) + DELAY_MS);
        ASSERT_EQ(al->sent_ms, r->first5_ms);
        ASSERT_DBL_NEAR(al->value, 5.0, 1.0);
        /* resolved the day after the stage, when the next one is far */
        ASSERT_EQ(r->a.items[last].alert.sent_ms, day_end(stage_day + 1) + DELAY_MS);
    }
    ASSERT_EQ(runs[0].a.n, runs[1].a.n);
    for (size_t i = 0; i < runs[0].a.n; i++) {
        ASSERT_EQ(runs[0].a.items[i].alert.sent_ms, runs[1].a.items[i].alert.sent_ms);
        ASSERT_EQ(runs[0].a.items[i].alert.kind, runs[1].a.items[i].alert.kind);
        ASSERT_TRUE(runs[0].a.items[i].alert.value == runs[1].a.items[i].alert.value);
    }
    for (int k = 0; k < 2; k++) {
        fw_actions_free(&runs[k].a);
        fw_engine_free(runs[k].e);
        fw_config_free(runs[k].cfg);
    }
}
