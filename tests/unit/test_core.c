/* SPDX-License-Identifier: MIT */
/*
 * The pure core with a fake clock: a reading is recorded and reaches the engine; a model's
 * derived reading comes back into the engine within the core (a missing fire day fires a rule
 * on fire_model_missing) with its log line, its recording and the model's save, in that order;
 * the notifications render per route; a reload carries the models' states and the engine's
 * alerts over without announcing them again.
 */
#include "forestwatch/core.h"
#include "forestwatch/log.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/uplink.h"
#include "forestwatch/util.h"
#include "cfg_test.h"
#include "test.h"

#include <stdlib.h>

#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)

static const char cfg_text[] =
    "{ \"gateway\": { \"id\": \"gw\", \"status_broker\": \"b\" },"
    "  \"brokers\": { \"b\": { \"host\": \"127.0.0.1\" } },"
    "  \"zones\": { \"a\": { \"name\": \"A\", \"forest_chief\": { \"name\": \"C\" },"
    "    \"fire\": { \"stations\": [\"wx1\"], \"utc_offset_min\": 480, \"lat\": 47 } } },"
    "  \"nodes\": { \"wx1\": { \"zone\": \"a\", \"kind\": \"weather\" } },"
    "  \"routes\": { \"r\": { \"broker\": \"b\", \"topic\": \"alerts\" } },"
    "  \"rules\": ["
    "    { \"name\": \"hot\", \"metric\": \"air_temp_c\", \"op\": \">\", \"threshold\": 40,"
    "      \"severity\": \"Severe\", \"category\": \"Fire\", \"routes\": [\"r\"] },"
    "    { \"name\": \"no_fire_day\", \"metric\": \"fire_model_missing\", \"op\": \">=\","
    "      \"threshold\": 1, \"severity\": \"Minor\", \"category\": \"Fire\", \"routes\": [\"r\"] }"
    "  ] }";

static int64_t t0(void)
{
    return fw_time__days_from_civil(2026, 5, 1) * DAY_MS;
}

/* The index of the first action of `kind` from `from`, or n. */
static size_t find(const struct fw_core_actions *a, size_t from, enum fw_core_action_kind kind)
{
    while (from < a->n && a->v[from].kind != kind)
        from++;
    return from;
}

FW_TEST(feed_records_and_alerts)
{
    struct fw_config *cfg = cfg_from_text(cfg_text);
    ASSERT_TRUE(cfg);
    struct fw_core_actions acts = {0};
    struct fw_core *c = fw_core_new(cfg, &acts);
    ASSERT_EQ(acts.n, 0);
    ASSERT_TRUE(fw_core_model(c, FW_MODEL_FIRE) != NULL);
    ASSERT_TRUE(fw_core_model(c, FW_MODEL_PESTS) == NULL);
    struct fw_reading r = {0};
    fw_strlcpy(r.station, "wx1", sizeof(r.station));
    fw_strlcpy(r.zone, "a", sizeof(r.zone));
    r.metric = fw_metric_find("air_temp_c");
    r.value = 41;
    r.time_ms = t0();
    fw_core_feed(c, &r, 1, t0(), &acts);
    ASSERT_EQ(acts.n, 1);
    ASSERT_EQ(acts.v[0].kind, FW_CORE_RECORD);
    ASSERT_TRUE(acts.v[0].reading.value == 41);
    ASSERT_EQ(fw_core_pending(c)->n, 1);
    struct fw_dispatch_out out = {0};
    fw_core_dispatch(c, t0(), &out);
    ASSERT_EQ(out.nmsg, 1);
    ASSERT_STR_EQ(out.msg[0].rule, "hot");
    ASSERT_STR_CONTAINS(out.msg[0].body, "<identifier>gw.hot:wx1:1777593600000.1</identifier>");
    fw_dispatch_out_free(&out);
    fw_core_actions_free(&acts);
    fw_core_free(c);
    fw_config_free(cfg);
}

/* A day without readings: the fire model's missing day goes into the engine inside the core. */
FW_TEST(tick_derived_into_engine)
{
    struct fw_config *cfg = cfg_from_text(cfg_text);
    ASSERT_TRUE(cfg);
    struct fw_core_actions acts = {0};
    struct fw_core *c = fw_core_new(cfg, &acts);
    for (int64_t t = t0(); t < t0() + DAY_MS && !fw_core_pending(c)->n; t += 60000)
        fw_core_tick(c, t, &acts);
    ASSERT_EQ(fw_core_pending(c)->n, 1);
    ASSERT_STR_EQ(fw_core_pending(c)->items[0].alert.rule, "no_fire_day");
    /* the line, then the recording of the derived reading, then the model's save */
    size_t note = find(&acts, 0, FW_CORE_NOTE);
    ASSERT_LT(note, acts.n);
    ASSERT_STR_CONTAINS(acts.v[note].text, "models: fire: zone \"a\": day ");
    ASSERT_STR_CONTAINS(acts.v[note].text, "fire_model_missing 1");
    ASSERT_EQ(acts.v[note].level, FW_LOG_NOTICE);
    size_t rec = find(&acts, note, FW_CORE_RECORD);
    ASSERT_LT(rec, acts.n);
    ASSERT_STR_EQ(acts.v[rec].reading.metric->name, "fire_model_missing");
    size_t save = find(&acts, rec, FW_CORE_SAVE);
    ASSERT_LT(save, acts.n);
    ASSERT_EQ(acts.v[save].model, FW_MODEL_FIRE);
    fw_core_actions_free(&acts);
    fw_core_free(c);
    fw_config_free(cfg);
}

/* A reload: the firing alert stays firing, unannounced; the model says what it carried over. */
FW_TEST(reload_carries_over)
{
    struct fw_config *cfg = cfg_from_text(cfg_text), *cfg2 = cfg_from_text(cfg_text);
    ASSERT_TRUE(cfg && cfg2);
    struct fw_core_actions acts = {0};
    struct fw_core *c = fw_core_new(cfg, &acts);
    int64_t t = t0();
    for (; !fw_core_pending(c)->n; t += 60000)
        fw_core_tick(c, t, &acts);
    fw_actions_clear(fw_core_pending(c));
    char *before = NULL, *after = NULL;
    ASSERT_EQ(fw_model_save(fw_core_model(c, FW_MODEL_FIRE), &before), 0);
    acts.n = 0;
    fw_core_reload(c, cfg2, t, &acts);
    ASSERT_EQ(fw_core_pending(c)->n, 0);
    ASSERT_EQ(fw_model_save(fw_core_model(c, FW_MODEL_FIRE), &after), 0);
    ASSERT_STR_EQ(after, before);
    fw_core_tick(c, t + 60000, &acts);
    ASSERT_EQ(fw_core_pending(c)->n, 0);
    free(before);
    free(after);
    fw_core_actions_free(&acts);
    fw_core_free(c);
    fw_config_free(cfg);
    fw_config_free(cfg2);
}

/* Forecasts go to the models through the core: a kept one is said and saved, a refused one is a
 * limited warning naming why, a zone no model has is skipped quietly. */
FW_TEST(forecasts)
{
    struct fw_config *cfg = cfg_from_text(cfg_text);
    ASSERT_TRUE(cfg);
    struct fw_core_actions acts = {0};
    struct fw_core *c = fw_core_new(cfg, &acts);
    struct fw_meteo_forecast f[3] = {
        {.zone = "a",
         .day = t0() / DAY_MS + 1,
         .issued_ms = t0(),
         .has_noon = 1,
         .temp_c = 25,
         .rh_pct = 30,
         .wind_ms = 4,
         .rain_mm = 0},
        {.zone = "a",
         .day = t0() / DAY_MS + 2,
         .issued_ms = t0(),
         .has_noon = 1,
         .temp_c = 25,
         .rh_pct = 300,
         .wind_ms = 4,
         .rain_mm = 0},
        {.zone = "elsewhere", .day = t0() / DAY_MS + 1, .issued_ms = t0(), .has_noon = 1},
    };
    fw_core_forecasts(c, f, 3, &acts);
    ASSERT_EQ(acts.n, 3);
    ASSERT_EQ(acts.v[0].kind, FW_CORE_NOTE);
    ASSERT_EQ(acts.v[0].level, FW_LOG_INFO);
    ASSERT_STR_CONTAINS(acts.v[0].text,
                        "meteo: forecast for zone \"a\" on 2026-05-02: noon 25 degC");
    ASSERT_EQ(acts.v[1].kind, FW_CORE_NOTE_LIMITED);
    ASSERT_EQ(acts.v[1].level, FW_LOG_WARNING);
    ASSERT_STR_EQ(acts.v[1].text,
                  "meteo: forecast for zone \"a\" on 2026-05-03 not kept by the fire "
                  "model: weather outside the model's ranges");
    ASSERT_EQ(acts.v[2].kind, FW_CORE_SAVE);
    ASSERT_EQ(acts.v[2].model, FW_MODEL_FIRE);
    fw_core_actions_free(&acts);
    fw_core_free(c);
    fw_config_free(cfg);
}

/*
 * The bureau's level stands in for the computed one inside the core: the model's level is
 * recorded as fire_danger_level_computed, then as fire_danger_level with the bureau's value,
 * and an alert's texts name both.
 */
FW_TEST(bureau_stands_in)
{
    struct fw_config *cfg = cfg_from_text(cfg_text);
    ASSERT_TRUE(cfg);
    struct fw_cfg_rule *hot = &cfg->rules[0];
    free(hot->en.headline);
    hot->en.headline = fw_xstrdup("level {level} ({scale}), computed {computed_level}");
    struct fw_core_actions acts = {0};
    struct fw_core *c = fw_core_new(cfg, &acts);
    ASSERT_TRUE(fw_core_model(c, FW_MODEL_BUREAU) != NULL);
    int64_t day = fw_time__local_day(t0(), 480);
    struct fw_meteo_forecast lv[3] = {0};
    for (int i = 0; i < 3; i++) {
        fw_strlcpy(lv[i].zone, "a", sizeof(lv[i].zone));
        lv[i].day = day + i;
        lv[i].issued_ms = t0();
        lv[i].level = 1;
    }
    fw_core_forecasts(c, lv, 3, &acts);
    ASSERT_EQ(acts.v[acts.n - 1].kind, FW_CORE_SAVE);
    ASSERT_EQ(acts.v[acts.n - 1].model, FW_MODEL_BUREAU);
    /* two days of hot, dry, windy hours: the fire model computes a level above 1 */
    for (int64_t t = t0(); t < t0() + 2 * DAY_MS; t += HOUR_MS) {
        static const char *const names[] = {"air_temp_c", "rel_humidity_pct", "wind_speed_ms",
                                            "rain_mm"};
        const double v[] = {34, 12, 9, 0};
        for (int q = 0; q < 4; q++) {
            struct fw_reading r = {0};
            fw_strlcpy(r.station, "wx1", sizeof(r.station));
            fw_strlcpy(r.zone, "a", sizeof(r.zone));
            r.metric = fw_metric_find(names[q]);
            r.value = v[q];
            r.time_ms = t;
            fw_core_feed(c, &r, 1, t, &acts);
        }
        fw_core_tick(c, t + 60000, &acts);
    }
    size_t computed = 0;
    while ((computed = find(&acts, computed, FW_CORE_RECORD)) < acts.n &&
           strcmp(acts.v[computed].reading.metric->name, "fire_danger_level_computed") != 0)
        computed++;
    ASSERT_LT(computed, acts.n);
    ASSERT_GE(acts.v[computed].reading.value, 2);
    size_t level = find(&acts, computed + 1, FW_CORE_RECORD);
    ASSERT_LT(level, acts.n);
    ASSERT_STR_EQ(acts.v[level].reading.metric->name, "fire_danger_level");
    ASSERT_EQ(acts.v[level].reading.time_ms, acts.v[computed].reading.time_ms);
    ASSERT_TRUE(acts.v[level].reading.value == 1);
    const double computed_level = acts.v[computed].reading.value;
    /* the engine reads the bureau's level; the alert's texts name the computed one beside it */
    fw_core_actions_free(&acts);
    struct fw_reading r = {0};
    fw_strlcpy(r.station, "wx1", sizeof(r.station));
    fw_strlcpy(r.zone, "a", sizeof(r.zone));
    r.metric = fw_metric_find("air_temp_c");
    r.value = 41;
    r.time_ms = t0() + 2 * DAY_MS;
    fw_core_pending(c)->n = 0;
    fw_core_feed(c, &r, 1, r.time_ms, &acts);
    struct fw_dispatch_out out = {0};
    fw_core_dispatch(c, r.time_ms, &out);
    ASSERT_GE(out.nmsg, 1);
    char want[128];
    snprintf(want, sizeof(want), "fire weather level), computed %.0f</headline>", computed_level);
    ASSERT_STR_CONTAINS(out.msg[0].body, want);
    ASSERT_STR_CONTAINS(out.msg[0].body, "<headline>level 1 (meteorology bureau");
    ASSERT_STR_CONTAINS(out.msg[0].body, "<valueName>forestwatch:computed_level</valueName>");
    fw_dispatch_out_free(&out);
    fw_core_actions_free(&acts);
    fw_core_free(c);
    fw_config_free(cfg);
}
