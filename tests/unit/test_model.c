/* SPDX-License-Identifier: MIT */
/*
 * The zone-model interface: both models built from a real config through the same calls, the
 * store keys a saved state lives under, the forecast going only to the model that uses its
 * quantities, the log lines a tick gives, and the life of a model across a reload: a model that
 * adopts a running one's state and goes on gives exactly the derived readings of a model that
 * never stopped, and a zone dropped by the new config is no longer described.
 */
#include "forestwatch/model.h"
#include "forestwatch/models.h"
#include "forestwatch/pests.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/uplink.h"
#include "forestwatch/util.h"
#include "cfg_test.h"
#include "test.h"

#include <errno.h>

#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)

/* Zones "a" and "b", each with both models on station wx1 (b on wx2), at +08:00. */
#define ZONE(id, st)                                                                               \
    "\"" id "\": { \"name\": \"Z\", \"forest_chief\": { \"name\": \"C\" },"                        \
    "  \"fire\": { \"stations\": [\"" st "\"], \"utc_offset_min\": 480, \"lat\": 47 },"            \
    "  \"pests\": { \"stations\": [\"" st "\"], \"utc_offset_min\": 480, \"min_hours\": 18,"       \
    "    \"pests\": [ { \"id\": \"moth\", \"lower\": 8, \"biofix\": \"date\","                     \
    "      \"biofix_date\": \"04-01\", \"stages\": [ { \"name\": \"egg hatch\", \"dd\": 100 } ] "  \
    "} ] },"                                                                                       \
    "  \"cn\": { \"stations\": [\"" st "\"], \"utc_offset_min\": 480 } }"
#define CFG(zones)                                                                                 \
    "{ \"gateway\": { \"id\": \"gw\", \"status_broker\": \"b\" }, \"brokers\": { \"b\": { "        \
    "\"host\": \"127.0.0.1\" } },"                                                                 \
    "  \"zones\": { " zones " },"                                                                  \
    "  \"nodes\": { \"wx1\": { \"zone\": \"a\", \"kind\": \"weather\" },"                          \
    "             \"wx2\": { \"zone\": \"a\", \"kind\": \"weather\" } },"                          \
    "  \"routes\": { \"r\": { \"broker\": \"b\", \"topic\": \"alerts\" } } }"
#define CFG_AB CFG(ZONE("a", "wx1") "," ZONE("b", "wx2"))
#define CFG_A CFG(ZONE("a", "wx1"))

static int64_t t0(void)
{
    return fw_time__days_from_civil(2026, 5, 1) * DAY_MS;
}

/* One hour's weather of a station: a daily cycle, a shower every third day. */
static void feed_hour(struct fw_model *m, const char *station, int64_t t)
{
    static const char *const names[] = {"air_temp_c", "rel_humidity_pct", "wind_speed_ms",
                                        "rain_mm"};
    int h = (int)((t / HOUR_MS) % 24);
    double v[] = {12.0 + (h > 12 ? 24 - h : h), 70.0 - 2 * h, 2.0 + h % 5,
                  (t / DAY_MS) % 3 == 0 && h == 4 ? 3.5 : 0.0};
    for (int q = 0; q < 4; q++) {
        struct fw_reading r = {0};
        r.source = FW_SOURCE_MQTT_NATIVE;
        fw_strlcpy(r.station, station, sizeof(r.station));
        r.metric = fw_metric_find(names[q]);
        r.value = v[q];
        r.time_ms = t;
        fw_model_feed(m, &r);
    }
}

/* The bureau's published levels of the local (+08:00) day of `t` and the next, for both zones
 * (the other models take none of it: a level entry has none of their quantities). */
static void publish_levels(struct fw_model *m, int64_t t)
{
    int64_t day = fw_time__local_day(t, 480);
    for (int64_t d = day; d <= day + 1; d++)
        for (int z = 0; z < 2; z++) {
            struct fw_meteo_forecast f = {.day = d, .issued_ms = t, .level = 1 + (int)(d % 5)};
            fw_strlcpy(f.zone, z ? "b" : "a", sizeof(f.zone));
            char note[FW_MODEL_NOTE_MAX];
            int rc = fw_model_forecast(m, &f, note);
            ASSERT_TRUE(rc == (fw_model_kind(m) == FW_MODEL_BUREAU ? 0 : -ENOENT));
        }
}

/* Everything a model derives over [from, to), one line per reading, appended to `log`. */
static void run(struct fw_model *m, int64_t from, int64_t to, char **log, size_t *len)
{
    for (int64_t t = from; t < to; t += HOUR_MS) {
        publish_levels(m, t);
        feed_hour(m, "wx1", t);
        feed_hour(m, "wx2", t + 60000);
        const struct fw_reading *out;
        size_t n = fw_model_tick(m, t + 120000, &out);
        for (size_t i = 0; i < n; i++) {
            char line[200];
            int k = snprintf(line, sizeof(line), "%s %s %lld %.17g\n", out[i].zone,
                             out[i].metric->name, (long long)out[i].time_ms, out[i].value);
            *log = fw_xrealloc(*log, *len + (size_t)k + 1);
            memcpy(*log + *len, line, (size_t)k + 1);
            *len += (size_t)k;
        }
    }
}

static struct fw_model *build(enum fw_model_kind k, const struct fw_config *cfg)
{
    struct fw_model *m = NULL;
    const char *err = NULL;
    if (fw_model_new(k, cfg, &m, &err) < 0)
        fprintf(stderr, "fw_model_new: %s\n", err);
    return m;
}

FW_TEST(none_without_zones)
{
    struct fw_config *cfg =
        cfg_from_text(CFG("\"a\": { \"name\": \"Z\", \"forest_chief\": { \"name\": \"C\" } }"));
    ASSERT_TRUE(cfg);
    for (int k = 0; k < FW_MODEL__COUNT; k++) {
        struct fw_model *m = (struct fw_model *)1;
        const char *err = NULL;
        ASSERT_EQ(fw_model_new(k, cfg, &m, &err), 0);
        ASSERT_TRUE(m == NULL);
        fw_model_free(m);
    }
    fw_config_free(cfg);
}

/* Saved states of earlier versions live under these keys: they must not change. */
FW_TEST(table)
{
    ASSERT_STR_EQ(fw_model_name(FW_MODEL_FIRE), "fire");
    ASSERT_STR_EQ(fw_model_state_key(FW_MODEL_FIRE), "models.fire");
    ASSERT_STR_EQ(fw_model_name(FW_MODEL_PESTS), "pests");
    ASSERT_STR_EQ(fw_model_state_key(FW_MODEL_PESTS), "models.pests");
    ASSERT_STR_EQ(fw_model_name(FW_MODEL_CN), "cn");
    ASSERT_STR_EQ(fw_model_state_key(FW_MODEL_CN), "models.cn");
    ASSERT_STR_EQ(fw_model_name(FW_MODEL_BUREAU), "bureau");
    ASSERT_STR_EQ(fw_model_state_key(FW_MODEL_BUREAU), "models.bureau");
    struct fw_config *cfg = cfg_from_text(CFG_AB);
    ASSERT_TRUE(cfg);
    for (int k = 0; k < FW_MODEL__COUNT; k++) {
        struct fw_model *m = build(k, cfg);
        ASSERT_TRUE(m);
        ASSERT_EQ(fw_model_kind(m), k);
        ASSERT_TRUE(fw_model_impl(m, k) != NULL);
        ASSERT_TRUE(fw_model_impl(m, k == FW_MODEL_FIRE ? FW_MODEL_PESTS : FW_MODEL_FIRE) == NULL);
        fw_model_free(m);
    }
    ASSERT_TRUE(fw_model_impl(NULL, FW_MODEL_FIRE) == NULL);
    fw_config_free(cfg);
}

/* A forecast goes to the model that uses its quantities; a zone not modelled is not an error. */
FW_TEST(forecast_routes)
{
    struct fw_config *cfg = cfg_from_text(CFG_AB);
    ASSERT_TRUE(cfg);
    struct fw_model *fire = build(FW_MODEL_FIRE, cfg), *pests = build(FW_MODEL_PESTS, cfg);
    struct fw_model *cn = build(FW_MODEL_CN, cfg);
    ASSERT_TRUE(fire && pests && cn);
    struct fw_meteo_forecast f = {.zone = "a", .day = t0() / DAY_MS + 1, .issued_ms = t0()};
    f.has_noon = 1;
    f.temp_c = 25, f.rh_pct = 30, f.wind_ms = 4, f.rain_mm = 0;
    char note[FW_MODEL_NOTE_MAX];
    ASSERT_EQ(fw_model_forecast(pests, &f, note), -ENOENT);
    ASSERT_STR_EQ(note, "");
    ASSERT_EQ(fw_model_forecast(fire, &f, note), 0);
    ASSERT_STR_EQ(note, "meteo: forecast for zone \"a\" on 2026-05-02: noon 25 degC, 30 %, 4 m/s, "
                        "rain 0 mm");
    /* the rating takes the noon group too, the day's maximum from the min/max pair if given */
    ASSERT_EQ(fw_model_forecast(cn, &f, note), 0);
    ASSERT_STR_EQ(note, "meteo: forecast for zone \"a\" on 2026-05-02 for the national rating: "
                        "max 25 degC, 30 %, 4 m/s, rain 0 mm");
    f.has_noon = 0;
    f.has_minmax = 1;
    f.tmin_c = 5, f.tmax_c = 20;
    ASSERT_EQ(fw_model_forecast(fire, &f, note), -ENOENT);
    ASSERT_EQ(fw_model_forecast(pests, &f, note), 0);
    fw_strlcpy(f.zone, "elsewhere", sizeof(f.zone));
    ASSERT_EQ(fw_model_forecast(pests, &f, note), -ENOENT);
    f.has_noon = 1;
    ASSERT_EQ(fw_model_forecast(fire, &f, note), -ENOENT);
    ASSERT_EQ(fw_model_forecast(cn, &f, note), -ENOENT);
    fw_model_free(cn);
    fw_model_free(fire);
    fw_model_free(pests);
    fw_config_free(cfg);
}

struct described {
    char text[4096];
};

static void on_line(void *arg, const char *line)
{
    struct described *d = arg;
    size_t n = strlen(d->text);
    snprintf(d->text + n, sizeof(d->text) - n, "%s\n", line);
}

/* The lines a tick gives the log: the day's level of each zone, the pests' degree-days. */
FW_TEST(notes)
{
    struct fw_config *cfg = cfg_from_text(CFG_AB);
    ASSERT_TRUE(cfg);
    for (int k = 0; k < FW_MODEL__COUNT; k++) {
        struct fw_model *m = build(k, cfg);
        ASSERT_TRUE(m);
        struct described said = {""};
        size_t derived = 0;
        for (int64_t t = t0(); t < t0() + 3 * DAY_MS; t += HOUR_MS) {
            publish_levels(m, t);
            feed_hour(m, "wx1", t);
            feed_hour(m, "wx2", t);
            const struct fw_reading *out;
            size_t n = fw_model_tick(m, t + 60000, &out);
            derived += n;
            for (size_t i = 0; i < n; i++) {
                char line[FW_MODEL_NOTE_MAX];
                if (fw_model_note(m, cfg, &out[i], line))
                    on_line(&said, line);
            }
        }
        ASSERT_GT(derived, 0);
        if (k == FW_MODEL_FIRE) {
            ASSERT_STR_CONTAINS(said.text, "models: fire: zone \"a\": day 2026-05-01T04:00:00Z: "
                                           "fire_model_missing 1\n");
            ASSERT_STR_CONTAINS(said.text, "models: fire: zone \"b\": day 2026-05-02T04:00:00Z: "
                                           "fire_danger_level ");
        } else if (k == FW_MODEL_CN) {
            /* the first local day was watched from 08:00 only: too few hours for extremes */
            ASSERT_STR_CONTAINS(said.text,
                                "models: cn: zone \"a\": day 2026-05-01: cn_model_missing 1\n");
            ASSERT_STR_CONTAINS(said.text, "models: cn: zone \"b\": day 2026-05-02: "
                                           "cn_rating_level ");
        } else if (k == FW_MODEL_BUREAU) {
            ASSERT_STR_CONTAINS(said.text, "models: bureau: zone \"b\": day 2026-05-02: the "
                                           "bureau's level 1 is the zone's fire_danger_level\n");
        } else {
            ASSERT_STR_CONTAINS(said.text, "models: pests: zone \"a\": day ending ");
            ASSERT_STR_CONTAINS(said.text, ": degree_days ");
        }
        /* hourly values and the rest of a day's readings are not worth a line each */
        ASSERT_TRUE(strstr(said.text, "hffmc") == NULL);
        ASSERT_TRUE(strstr(said.text, " dmc ") == NULL);
        fw_model_free(m);
    }
    fw_config_free(cfg);
}

/*
 * A reload in the middle of a run: the new model adopts the old one's state and goes on, and
 * derives exactly what a model that never stopped derives. Then a config without zone "b": the
 * adopting model describes zone "a" only.
 */
FW_TEST(adopt_continues)
{
    struct fw_config *cfg = cfg_from_text(CFG_AB), *cfg_a = cfg_from_text(CFG_A);
    ASSERT_TRUE(cfg && cfg_a);
    const int64_t from = t0(), stop = t0() + 2 * DAY_MS + 7 * HOUR_MS, to = t0() + 5 * DAY_MS;
    for (int k = 0; k < FW_MODEL__COUNT; k++) {
        char *whole = NULL, *parts = NULL;
        size_t nwhole = 0, nparts = 0;
        struct fw_model *m = build(k, cfg);
        run(m, from, to, &whole, &nwhole);
        fw_model_free(m);

        struct fw_model *old = build(k, cfg);
        run(old, from, stop, &parts, &nparts);
        struct fw_model *m2 = build(k, cfg);
        ASSERT_EQ(fw_model_adopt(m2, old), 0);
        fw_model_free(old);
        run(m2, stop, to, &parts, &nparts);
        ASSERT_TRUE(nwhole > 0);
        ASSERT_STR_EQ(parts, whole);

        struct described before = {""}, after = {""};
        fw_model_describe(m2, cfg, "carried over", on_line, &before);
        ASSERT_STR_CONTAINS(before.text, "zone \"b\"");
        struct fw_model *m3 = build(k, cfg_a);
        ASSERT_EQ(fw_model_adopt(m3, m2), 0);
        fw_model_describe(m3, cfg_a, "carried over", on_line, &after);
        ASSERT_STR_CONTAINS(after.text, "zone \"a\"");
        ASSERT_STR_CONTAINS(after.text, ": carried over: ");
        ASSERT_TRUE(strstr(after.text, "zone \"b\"") == NULL);
        fw_model_free(m2);
        fw_model_free(m3);
        free(whole);
        free(parts);
    }
    fw_config_free(cfg);
    fw_config_free(cfg_a);
}

/* A restore refuses what is not a saved state and leaves the model as it was. */
FW_TEST(restore_refuses)
{
    struct fw_config *cfg = cfg_from_text(CFG_AB);
    ASSERT_TRUE(cfg);
    for (int k = 0; k < FW_MODEL__COUNT; k++) {
        struct fw_model *m = build(k, cfg);
        char *a = NULL, *b = NULL;
        ASSERT_EQ(fw_model_save(m, &a), 0);
        ASSERT_EQ(fw_model_restore(m, "[1, 2"), -EINVAL);
        ASSERT_EQ(fw_model_save(m, &b), 0);
        ASSERT_STR_EQ(b, a);
        free(a);
        free(b);
        fw_model_free(m);
    }
    fw_config_free(cfg);
}
