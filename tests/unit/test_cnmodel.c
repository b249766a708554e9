/* SPDX-License-Identifier: MIT */
/*
 * The national fire weather rating as a zone model (gateway/cn_model.c): a day rated from the
 * stations' extremes and rain as the pure rating rates the same inputs, the dry days counted
 * from day to day, a day without rain reports missing (and the state carried over), the
 * phenology class from the season table and from a reading, the zone's level only on the
 * rating's scale, the state saved and restored mid-day with nothing changed, and a month
 * through the model rated as `forestwatch cnrating` rates the month's days.
 */
#include "forestwatch/cnmodel.h"
#include "forestwatch/cnrating.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"
#include "cfg_test.h"
#include "test.h"

#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)
#define OFF_MIN 480
#define OFF_MS (OFF_MIN * 60000LL)

/* The local midnight that starts local day `day`, in UTC ms. */
static int64_t midnight(int64_t day)
{
    return day * DAY_MS - OFF_MS;
}

static int64_t day0(void)
{
    return fw_time__days_from_civil(2026, 4, 1);
}

static void zone_init(struct fw_cnm_zone *z, const char *id)
{
    fw_cnm_zone_init(z, id);
    z->utc_offset_min = OFF_MIN;
    fw_strlcpy(z->stations[0], "wx1", sizeof(z->stations[0]));
    z->nstations = 1;
    z->zone_level = 1;
}

static struct fw_cnm *model(const struct fw_cnm_zone *z)
{
    struct fw_cnm *m = NULL;
    const char *err = NULL;
    if (fw_cnm_new(z, 1, &m, &err) < 0)
        fprintf(stderr, "fw_cnm_new: %s\n", err);
    return m;
}

static void feed(struct fw_cnm *m, const char *station, const char *metric, double v, int64_t t)
{
    struct fw_reading r = {0};
    r.source = FW_SOURCE_MQTT_NATIVE;
    fw_strlcpy(r.station, station, sizeof(r.station));
    r.metric = fw_metric_find(metric);
    r.value = v;
    r.time_ms = t;
    fw_cnm_feed(m, &r);
}

/* One day's weather: its extremes (reached at 14:00), its rain (reported at 06:00 and 07:00,
 * half each), 0 mm the other hours. */
struct dayw {
    double tmax, rhmin, wmax, rain;
};

static void feed_hour(struct fw_cnm *m, const char *station, int64_t day, int h,
                      const struct dayw *w)
{
    int64_t t = midnight(day) + h * HOUR_MS + 10 * 60000;
    int peak = h == 14;
    feed(m, station, "air_temp_c", peak ? w->tmax : w->tmax - 6.0 - (h % 5), t);
    feed(m, station, "rel_humidity_pct", peak ? w->rhmin : fmin(100.0, w->rhmin + 20 + h % 7), t);
    feed(m, station, "wind_speed_ms", peak ? w->wmax : w->wmax / 2, t);
    feed(m, station, "rain_mm", h == 6 || h == 7 ? w->rain / 2 : 0.0, t);
}

/* Every derived reading of a tick, by name, for one zone. */
struct got {
    double v[16];
    const char *name[16];
    int n;
};

static void collect(const struct fw_cnm_out *o, size_t from, struct got *g)
{
    g->n = 0;
    for (size_t i = from; i < o->n && g->n < 16; i++) {
        g->name[g->n] = o->v[i].metric->name;
        g->v[g->n++] = o->v[i].value;
    }
}

/* The last value of `name` (a tick may close an earlier, unwatched day first). */
static double value_of(const struct got *g, const char *name)
{
    for (int i = g->n - 1; i >= 0; i--)
        if (strcmp(g->name[i], name) == 0)
            return g->v[i];
    return NAN;
}

/* Feed day `day` hour by hour and tick past its close; the day's readings go to `g`. */
static void run_day(struct fw_cnm *m, int64_t day, const struct dayw *w, struct got *g)
{
    struct fw_cnm_out o = {0};
    for (int h = 0; h < 24; h++) {
        feed_hour(m, "wx1", day, h, w);
        fw_cnm_tick(m, midnight(day) + h * HOUR_MS + 20 * 60000, &o);
    }
    size_t from = o.n;
    fw_cnm_tick(m, midnight(day + 1) + 61 * 60000, &o);
    collect(&o, from, g);
    fw_cnm_out_free(&o);
}

/* The evening before day0 with dry reports, so that day0's rain is covered. */
static void prime(struct fw_cnm *m)
{
    struct fw_cnm_out o = {0};
    fw_cnm_tick(m, midnight(day0()) - 5 * HOUR_MS, &o);
    for (int h = 4; h >= 1; h--)
        feed(m, "wx1", "rain_mm", 0.0, midnight(day0()) - h * HOUR_MS);
    fw_cnm_out_free(&o);
}

FW_TEST(day_from_station_extremes)
{
    struct fw_cnm_zone z;
    zone_init(&z, "a");
    struct fw_cnm *m = model(&z);
    ASSERT_TRUE(m);
    prime(m);
    struct got g;
    /* E07's weather, but the rain falls on this very day: C = 0 on a >= 10 mm day. */
    struct dayw w = {22.5, 35, 9.0, 15.0};
    run_day(m, day0(), &w, &g);
    struct fw_cnr_tables t;
    fw_cnr_tables_default(&t);
    struct fw_cnr_day in = {.tmax_c = 22.5,
                            .rh_min_pct = 35,
                            .wind_max_ms = 9.0,
                            .rain_on_record = 1,
                            .last_rain_mm = 15.0,
                            .days_since_rain = 0};
    struct fw_cnr_result want;
    ASSERT_EQ(fw_cnr_rate(&t, &in, &want), 0);
    ASSERT_EQ(value_of(&g, "cn_model_missing"), 0);
    ASSERT_EQ(value_of(&g, "cn_rating_a"), want.a);
    ASSERT_EQ(value_of(&g, "cn_rating_b"), want.b);
    ASSERT_EQ(value_of(&g, "cn_rating_c"), 0);
    ASSERT_EQ(value_of(&g, "cn_rating_d"), want.d);
    ASSERT_EQ(value_of(&g, "cn_rating_e"), 0);
    ASSERT_EQ(value_of(&g, "cn_rating_index"), want.htz);
    ASSERT_EQ(value_of(&g, "cn_rating_level"), want.level);
    ASSERT_EQ(value_of(&g, "fire_danger_level"), want.level);
    /* the readings are timed at the local midnight that ends the day */
    struct fw_cnm_out o = {0};
    fw_cnm_tick(m, midnight(day0() + 2) + 61 * 60000, &o);
    ASSERT_GT(o.n, 0);
    ASSERT_EQ(o.v[0].time_ms, midnight(day0() + 2));
    fw_cnm_out_free(&o);
    fw_cnm_free(m);
}

/* After a rain day, C rises by 5 a dry day; a trace below 0.3 mm is a dry day. */
FW_TEST(dry_days_counted)
{
    struct fw_cnm_zone z;
    zone_init(&z, "a");
    struct fw_cnm *m = model(&z);
    ASSERT_TRUE(m);
    prime(m);
    struct got g;
    struct dayw rain = {15, 60, 2, 1.0}, dry = {15, 60, 2, 0.0}, trace = {15, 60, 2, 0.25};
    run_day(m, day0(), &rain, &g);
    ASSERT_EQ(value_of(&g, "cn_rating_c"), 10); /* 0.3..2 mm, N = 0 */
    run_day(m, day0() + 1, &dry, &g);
    ASSERT_EQ(value_of(&g, "cn_rating_c"), 15);
    run_day(m, day0() + 2, &trace, &g);
    ASSERT_EQ(value_of(&g, "cn_rating_c"), 20);
    struct fw_cnm_zone_state st;
    ASSERT_EQ(fw_cnm_zone_state(m, "a", &st), 0);
    ASSERT_EQ(st.rain.days_since_rain, 2);
    ASSERT_DBL_NEAR(st.rain.last_rain_mm, 1.0, 0);
    fw_cnm_free(m);
}

/* A day without rain reports is missing, never dry: no level, and the dry days do not move. */
FW_TEST(missing_rain_is_a_missing_day)
{
    struct fw_cnm_zone z;
    zone_init(&z, "a");
    struct fw_cnm *m = model(&z);
    ASSERT_TRUE(m);
    prime(m);
    struct got g;
    struct dayw rain = {15, 60, 2, 4.0}, dry = {15, 60, 2, 0.0};
    run_day(m, day0(), &rain, &g);
    ASSERT_EQ(value_of(&g, "cn_rating_c"), 5);
    /* day 1: temperatures, humidity and wind every hour, but no rain report at all */
    struct fw_cnm_out o = {0};
    for (int h = 0; h < 24; h++) {
        int64_t t = midnight(day0() + 1) + h * HOUR_MS + 10 * 60000;
        feed(m, "wx1", "air_temp_c", 15, t);
        feed(m, "wx1", "rel_humidity_pct", 60, t);
        feed(m, "wx1", "wind_speed_ms", 2, t);
    }
    size_t from = o.n;
    fw_cnm_tick(m, midnight(day0() + 2) + 61 * 60000, &o);
    collect(&o, from, &g);
    fw_cnm_out_free(&o);
    ASSERT_EQ(g.n, 1);
    ASSERT_EQ(value_of(&g, "cn_model_missing"), 1);
    struct fw_cnm_zone_state st;
    ASSERT_EQ(fw_cnm_zone_state(m, "a", &st), 0);
    ASSERT_EQ(st.rain.days_since_rain, 0);
    ASSERT_EQ(st.last_missing, 1);
    /* reports resume 3 h before day 2 begins: day 2 is rated, one dry day after the rain */
    for (int h = 3; h >= 1; h--)
        feed(m, "wx1", "rain_mm", 0.0, midnight(day0() + 2) - h * HOUR_MS + 1);
    run_day(m, day0() + 2, &dry, &g);
    ASSERT_EQ(value_of(&g, "cn_model_missing"), 0);
    ASSERT_EQ(value_of(&g, "cn_rating_c"), 5 + 5);
    fw_cnm_free(m);
}

/* Too few hours of a quantity at the station: the fallback stands in; without one, missing. */
FW_TEST(fallback_stands_in)
{
    struct fw_cnm_zone z;
    zone_init(&z, "a");
    fw_strlcpy(z.fallback, "met", sizeof(z.fallback));
    struct fw_cnm *m = model(&z);
    ASSERT_TRUE(m);
    prime(m);
    struct fw_cnm_out o = {0};
    /* the station's humidity only in the afternoon: the bureau's is taken */
    for (int h = 0; h < 24; h++) {
        int64_t t = midnight(day0()) + h * HOUR_MS + 10 * 60000;
        feed(m, "wx1", "air_temp_c", h == 14 ? 28 : 20, t);
        if (h >= 12)
            feed(m, "wx1", "rel_humidity_pct", h == 14 ? 31 : 50, t);
        feed(m, "wx1", "wind_speed_ms", h == 14 ? 5.4 : 2, t);
        feed(m, "wx1", "rain_mm", 0.0, t);
        feed(m, "met", "rel_humidity_pct", h == 15 ? 45 : 70, t);
    }
    size_t from = o.n;
    fw_cnm_tick(m, midnight(day0() + 1) + 61 * 60000, &o);
    struct got g;
    collect(&o, from, &g);
    ASSERT_EQ(value_of(&g, "cn_model_missing"), 0);
    ASSERT_EQ(value_of(&g, "cn_rating_a"), 20);
    ASSERT_EQ(value_of(&g, "cn_rating_b"), 12); /* the fallback's 45 %, not the station's 31 */
    fw_cnm_out_free(&o);
    fw_cnm_free(m);
}

/* E by the season table, round the year, and a phenology_class reading for its hold. */
FW_TEST(phenology_season_and_reading)
{
    struct fw_cnm_zone z;
    zone_init(&z, "a");
    z.seasons[0] = (struct fw_cnm_season){3, 1, FW_CNR_PHEN_G20_S10};
    z.seasons[1] = (struct fw_cnm_season){4, 3, FW_CNR_PHEN_G75_S60};
    z.seasons[2] = (struct fw_cnm_season){11, 15, FW_CNR_PHEN_G100_S90};
    z.nseasons = 3;
    z.phenology_hold_days = 2;
    ASSERT_EQ(fw_cnm_season_class(&z, 1, 10), FW_CNR_PHEN_G100_S90); /* from last November */
    ASSERT_EQ(fw_cnm_season_class(&z, 3, 1), FW_CNR_PHEN_G20_S10);
    ASSERT_EQ(fw_cnm_season_class(&z, 12, 31), FW_CNR_PHEN_G100_S90);
    struct fw_cnm *m = model(&z);
    ASSERT_TRUE(m);
    prime(m);
    struct got g;
    struct dayw w = {15, 60, 2, 0.0};
    run_day(m, day0(), &w, &g); /* 04-01 */
    ASSERT_EQ(value_of(&g, "cn_rating_e"), 5);
    run_day(m, day0() + 1, &w, &g);
    ASSERT_EQ(value_of(&g, "cn_rating_e"), 5);
    /* 04-03: the season's G75; a reading of class 0 (no green grass) on 04-03 holds two days */
    feed(m, "wx1", "phenology_class", 0, midnight(day0() + 2) + 8 * HOUR_MS);
    run_day(m, day0() + 2, &w, &g);
    ASSERT_EQ(value_of(&g, "cn_rating_e"), 0);
    run_day(m, day0() + 3, &w, &g);
    ASSERT_EQ(value_of(&g, "cn_rating_e"), 0);
    run_day(m, day0() + 4, &w, &g);
    ASSERT_EQ(value_of(&g, "cn_rating_e"), 15);
    fw_cnm_free(m);
}

/* The zone's fire_danger_level only when the rating is the zone's scale. */
FW_TEST(zone_level_only_on_its_scale)
{
    struct fw_cnm_zone z;
    zone_init(&z, "a");
    z.zone_level = 0;
    struct fw_cnm *m = model(&z);
    ASSERT_TRUE(m);
    prime(m);
    struct got g;
    struct dayw w = {30, 20, 18, 0.0};
    run_day(m, day0(), &w, &g);
    ASSERT_EQ(value_of(&g, "cn_rating_level"), 5);
    ASSERT_TRUE(isnan(value_of(&g, "fire_danger_level")));
    fw_cnm_free(m);
}

/* The scale in the config: the rating's zone level, Nesterov's classes, and the refusals. */
FW_TEST(scale_from_config)
{
#define Z(extra)                                                                                   \
    "{ \"gateway\": { \"id\": \"gw\", \"status_broker\": \"b\" }, \"brokers\": { \"b\": { "        \
    "\"host\": \"127.0.0.1\" } }, \"zones\": { \"a\": { \"name\": \"Z\", \"forest_chief\": { "     \
    "\"name\": \"C\" }, \"location\": { \"lat\": 41, \"lon\": 123 }, "                             \
    "\"fire\": { \"stations\": [\"wx1\"], \"utc_offset_min\": 480 }, " extra " } }, "              \
    "\"nodes\": { \"wx1\": { \"zone\": \"a\" } }, "                                                \
    "\"routes\": { \"r\": { \"broker\": \"b\", \"topic\": \"alerts\" } } }"
    struct fw_config *cfg = cfg_from_text(Z(
        "\"cn\": { \"stations\": [\"wx1\"], \"utc_offset_min\": 480 }, \"danger_scale\": \"cn\""));
    ASSERT_TRUE(cfg);
    ASSERT_EQ(cfg->zones[0].danger_scale, FW_SCALE_CN);
    ASSERT_EQ(cfg->zones[0].cn->zone_level, 1);
    ASSERT_EQ(cfg->zones[0].fire->zone_level, 0);
    fw_config_free(cfg);
    cfg = cfg_from_text(Z("\"cn\": { \"stations\": [\"wx1\"], \"utc_offset_min\": 480 }"));
    ASSERT_TRUE(cfg);
    ASSERT_EQ(cfg->zones[0].danger_scale, FW_SCALE_FWI);
    ASSERT_EQ(cfg->zones[0].cn->zone_level, 0);
    ASSERT_EQ(cfg->zones[0].fire->zone_level, 1);
    fw_config_free(cfg);
    cfg = cfg_from_text(Z("\"danger_scale\": \"nesterov\""));
    ASSERT_TRUE(cfg);
    ASSERT_EQ(cfg->zones[0].fire->levels.index, FW_MODELS_INDEX_NESTEROV);
    ASSERT_DBL_NEAR(cfg->zones[0].fire->levels.min[1], 300.0, 0);
    ASSERT_EQ(cfg->zones[0].fire->levels.provisional, 0);
    fw_config_free(cfg);
#undef Z
}

/*
 * Saved mid-day and restored into a new model, the rating goes on exactly as without the stop:
 * the dry days, the last rain and the buffered hours of the day in progress all come back.
 */
FW_TEST(restart_continues_exactly)
{
    struct fw_cnm_zone z;
    zone_init(&z, "a");
    struct dayw days[4] = {{18, 40, 4, 3.0}, {21, 33, 6, 0.0}, {24, 28, 9, 0.0}, {19, 50, 3, 0.5}};
    char *whole = NULL, *parts = NULL;
    for (int pass = 0; pass < 2; pass++) {
        struct fw_cnm *m = model(&z);
        ASSERT_TRUE(m);
        prime(m);
        struct fw_cnm_out o = {0};
        for (int d = 0; d < 4; d++)
            for (int h = 0; h < 24; h++) {
                feed_hour(m, "wx1", day0() + d, h, &days[d]);
                fw_cnm_tick(m, midnight(day0() + d) + h * HOUR_MS + 20 * 60000, &o);
                if (pass == 1 && d == 2 && h == 9) {
                    char *json = NULL;
                    ASSERT_EQ(fw_cnm_save(m, &json), 0);
                    fw_cnm_free(m);
                    m = model(&z);
                    ASSERT_EQ(fw_cnm_restore(m, json), 0);
                    free(json);
                }
            }
        fw_cnm_tick(m, midnight(day0() + 4) + 61 * 60000, &o);
        char *text = fw_xcalloc(o.n + 1, 64);
        for (size_t i = 0; i < o.n; i++)
            snprintf(text + strlen(text), 64, "%s %lld %g\n", o.v[i].metric->name,
                     (long long)o.v[i].time_ms, o.v[i].value);
        *(pass ? &parts : &whole) = text;
        fw_cnm_out_free(&o);
        fw_cnm_free(m);
    }
    ASSERT_STR_CONTAINS(whole, "cn_rating_c");
    ASSERT_STR_EQ(parts, whole);
    free(whole);
    free(parts);
}

/* A text that is not a saved state is refused whole; the model is unchanged. */
FW_TEST(restore_refuses)
{
    struct fw_cnm_zone z;
    zone_init(&z, "a");
    struct fw_cnm *m = model(&z);
    ASSERT_TRUE(m);
    ASSERT_EQ(fw_cnm_restore(m, "{\"version\":1,\"zones\":[{\"id\":\"a\",\"next_day\":\"x\"}]}"),
              -EINVAL);
    ASSERT_EQ(fw_cnm_restore(m, "{\"version\":1,\"zones\":[]}"), 0);
    fw_cnm_free(m);
}

/* Tomorrow's level from the bureau's forecast, on the zone's scale. */
FW_TEST(tomorrow_from_forecast)
{
    struct fw_cnm_zone z;
    zone_init(&z, "a");
    struct fw_cnm *m = model(&z);
    ASSERT_TRUE(m);
    prime(m);
    struct got g;
    struct dayw w = {15, 60, 2, 0.0};
    run_day(m, day0(), &w, &g);
    int64_t now = midnight(day0() + 1) + 10 * HOUR_MS;
    ASSERT_EQ(fw_cnm_forecast(m, "a", day0() + 1, now, 20, 50, 5, 0), 0);
    ASSERT_EQ(fw_cnm_forecast(m, "a", day0() + 2, now, 30, 20, 18, 0), 0);
    ASSERT_EQ(fw_cnm_forecast(m, "a", day0(), now, 30, 20, 18, 0), -ERANGE);
    ASSERT_EQ(fw_cnm_forecast(m, "b", day0() + 2, now, 30, 20, 18, 0), -ENOENT);
    ASSERT_EQ(fw_cnm_forecast(m, "a", day0() + 2, now, 30, 120, 18, 0), -EINVAL);
    struct fw_cnm_out o = {0};
    fw_cnm_tick(m, now, &o);
    collect(&o, 0, &g);
    /* today (day 1) from its forecast, then tomorrow: 20 + 20 + 50 + 40 - 0 = 130, level 5 */
    ASSERT_EQ(value_of(&g, "cn_rating_level_tomorrow"), 5);
    ASSERT_EQ(value_of(&g, "fire_danger_level_tomorrow"), 5);
    fw_cnm_out_free(&o);
    fw_cnm_free(m);
}

/*
 * A month through the model and through `forestwatch cnrating`: the same days give the same
 * sub-indices, sums and levels; a stop in the middle (saved and restored) changes nothing.
 */
FW_TEST(month_matches_the_tool)
{
    enum { NDAYS = 31 };
    struct fw_cnm_zone z;
    zone_init(&z, "a");
    z.seasons[0] = (struct fw_cnm_season){1, 1, FW_CNR_PHEN_NONE};
    z.seasons[1] = (struct fw_cnm_season){4, 16, FW_CNR_PHEN_G100_S90};
    z.nseasons = 2;
    struct fw_cnm *m = model(&z);
    ASSERT_TRUE(m);
    prime(m);
    char csv[] = "/tmp/fw-cnmonth-XXXXXX";
    int fd = mkstemp(csv);
    ASSERT_TRUE(fd >= 0);
    FILE *in = fdopen(fd, "w");
    fprintf(in, "date,tmax_c,rh_min_pct,precip_mm,wind_max_ms,phenology\n");
    static const double rains[] = {0, 0, 1.5, 0, 0.25, 0, 0, 12, 15, 0, 0, 0, 4, 0, 20, 0};
    int level[NDAYS], htz[NDAYS], sub[NDAYS][5];
    struct fw_cnm_out o = {0};
    for (int d = 0; d < NDAYS; d++) {
        struct dayw w = {4.0 + (d * 7) % 27 + 0.5 * (d % 2), 15.0 + (d * 13) % 70,
                         (d * 3) % 19 + 0.25 * (d % 3), rains[d % 16]};
        int y, mo, dd;
        fw_time__civil_from_days(day0() + d, &y, &mo, &dd);
        fprintf(in, "%04d-%02d-%02d,%g,%g,%g,%g,%s\n", y, mo, dd, w.tmax, w.rhmin, w.rain, w.wmax,
                fw_cnr_phenology_name(fw_cnm_season_class(&z, mo, dd)));
        for (int h = 0; h < 24; h++) {
            feed_hour(m, "wx1", day0() + d, h, &w);
            size_t from = o.n;
            fw_cnm_tick(m, midnight(day0() + d) + h * HOUR_MS + 20 * 60000, &o);
            for (size_t i = from; i < o.n; i++) {
                int k = (int)fw_floor_div(o.v[i].time_ms + OFF_MS - 1, DAY_MS) - (int)day0();
                const char *n = o.v[i].metric->name;
                if (k < 0 || k >= NDAYS)
                    continue;
                if (strcmp(n, "cn_rating_level") == 0)
                    level[k] = (int)o.v[i].value;
                else if (strcmp(n, "cn_rating_index") == 0)
                    htz[k] = (int)o.v[i].value;
                else if (strncmp(n, "cn_rating_", 10) == 0 && n[11] == '\0')
                    sub[k][n[10] - 'a'] = (int)o.v[i].value;
            }
            if (d == 15 && h == 12) {
                char *json = NULL;
                ASSERT_EQ(fw_cnm_save(m, &json), 0);
                fw_cnm_free(m);
                m = model(&z);
                ASSERT_EQ(fw_cnm_restore(m, json), 0);
                free(json);
            }
        }
        o.n = 0;
    }
    fw_cnm_tick(m, midnight(day0() + NDAYS) + 61 * 60000, &o);
    ASSERT_EQ(strcmp(o.v[6].metric->name, "cn_rating_level"), 0);
    level[NDAYS - 1] = (int)o.v[6].value;
    htz[NDAYS - 1] = (int)o.v[0].value;
    for (int k = 0; k < 5; k++)
        sub[NDAYS - 1][k] = (int)o.v[1 + k].value;
    fclose(in);
    fw_cnm_out_free(&o);
    fw_cnm_free(m);

    char cmd[512];
    snprintf(cmd, sizeof(cmd), "'%s' cnrating < '%s'", FW_TOOL, csv);
    FILE *tool = popen(cmd, "r");
    ASSERT_TRUE(tool);
    char line[256];
    int row = -1, levels_seen[6] = {0};
    while (fgets(line, sizeof(line), tool)) {
        if (row++ < 0)
            continue; /* the header */
        int a, b, c, dd, e, h, l;
        char *p = line;
        for (int comma = 0; comma < 3; comma++)
            p = strchr(p, ',') + 1;
        ASSERT_EQ(sscanf(p, "%d,%d,%d,%d,%d,%d,%d", &a, &b, &c, &dd, &e, &h, &l), 7);
        ASSERT_LT(row - 1, NDAYS);
        const int k = row - 1;
        if (sub[k][0] != a || sub[k][1] != b || sub[k][2] != c || sub[k][3] != dd ||
            sub[k][4] != e || htz[k] != h || level[k] != l)
            FW_FAIL_("day %d: the model gives %d %d %d %d %d = %d, level %d; the tool: %s", k,
                     sub[k][0], sub[k][1], sub[k][2], sub[k][3], sub[k][4], htz[k], level[k], line);
        levels_seen[l]++;
    }
    ASSERT_EQ(pclose(tool), 0);
    unlink(csv);
    ASSERT_EQ(row, NDAYS);
    /* the month covers every level, so agreeing says something */
    for (int l = 1; l <= 5; l++)
        ASSERT_GT(levels_seen[l], 0);
}

static void on_note(void *arg, const char *note)
{
    char *all = arg;
    snprintf(all + strlen(all), 2048 - strlen(all), "%s\n", note);
}

/* check-config notes which tables are still transcriptions, until each is marked official. */
FW_TEST(notes_unverified_tables)
{
#define CFG(top)                                                                                   \
    "{ \"gateway\": { \"id\": \"gw\", \"status_broker\": \"b\" }, \"brokers\": { \"b\": { "        \
    "\"host\": \"127.0.0.1\" } }, " top " \"zones\": { \"a\": { \"name\": \"Z\", "                 \
    "\"forest_chief\": { \"name\": \"C\" }, "                                                      \
    "\"cn\": { \"stations\": [\"wx1\"], \"utc_offset_min\": 480 } } }, "                           \
    "\"nodes\": { \"wx1\": { \"zone\": \"a\" } }, "                                                \
    "\"routes\": { \"r\": { \"broker\": \"b\", \"topic\": \"alerts\" } } }"
    char all[2048] = "";
    struct fw_config *cfg = cfg_from_text(CFG(""));
    ASSERT_TRUE(cfg);
    fw_config_notes(cfg, on_note, all);
    ASSERT_STR_CONTAINS(all, "cn_rating_tables: the national rating's tables A B C D E levels "
                             "are the built-in transcription");
    fw_config_free(cfg);
    /* the shipped table file with every table marked official: no note */
    FILE *f = fopen(FW_SOURCE_DIR "/config/cn_rating_tables.json", "r");
    ASSERT_TRUE(f);
    char text[16384];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char official[16384] = "";
    for (char *p = text, *q; *p; p = q + 1) {
        q = strstr(p, "\"confidence\": \"");
        if (!q) {
            strcat(official, p);
            break;
        }
        strncat(official, p, (size_t)(q - p));
        strcat(official, "\"confidence\": \"official\"");
        q = strchr(q + 15, '"');
    }
    char path[] = "/tmp/fw-cntables-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(write(fd, official, strlen(official)), (long long)strlen(official));
    close(fd);
    char top[128];
    snprintf(top, sizeof(top), "\"cn_rating_tables\": \"%s\",", path);
    char json[2048];
    snprintf(json, sizeof(json), CFG("%s"), top);
    cfg = cfg_from_text(json);
    unlink(path);
    ASSERT_TRUE(cfg);
    all[0] = '\0';
    fw_config_notes(cfg, on_note, all);
    ASSERT_TRUE(strstr(all, "cn_rating_tables") == NULL);
    fw_config_free(cfg);
#undef CFG
}
