/* SPDX-License-Identifier: MIT */
/* The native JSON uplink decoder: accepted readings, and every kind of rejection. */
#include "forestwatch/uplink.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"
#include "test.h"

#define NOW 1780300800000LL /* 2026-06-01T08:00:00Z */

static struct fw_config *cfg_load(void)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    fw_config_load(FW_TEST_DATA "/engine/forestwatch.json", &cfg, &errs);
    fw_cfg_errors_print(&errs, stderr);
    fw_cfg_errors_clear(&errs);
    return cfg;
}

static int decode(struct fw_config *cfg, struct fw_uplink_result *res, const char *json)
{
    return fw_uplink_decode_native(cfg, json, strlen(json), NOW, res);
}

FW_TEST(valid_message)
{
    struct fw_config *cfg = cfg_load();
    struct fw_uplink_result res = {0};
    ASSERT_EQ(decode(cfg, &res,
                     "{\"node\":\"s1\",\"time\":\"2026-06-01T15:59:00+08:00\",\"readings\":["
                     "{\"metric\":\"smoke_ppm\",\"value\":352.5,\"unit\":\"ppm\"},"
                     "{\"metric\":\"air_temp_c\",\"value\":-3,\"unit\":\"°C\"}]}"),
              0);
    ASSERT_EQ(res.n, 2);
    ASSERT_EQ(res.nissues, 0);
    ASSERT_STR_EQ(res.node, "s1");
    ASSERT_STR_EQ(res.readings[0].station, "s1");
    ASSERT_STR_EQ(res.readings[0].zone, "z1");
    ASSERT_STR_EQ(res.readings[0].metric->name, "smoke_ppm");
    ASSERT_DBL_NEAR(res.readings[0].value, 352.5, 0);
    ASSERT_EQ(res.readings[0].time_ms, NOW - 60000);
    ASSERT_DBL_NEAR(res.readings[1].value, -3, 0);
    /* Epoch seconds are accepted too. */
    ASSERT_EQ(decode(cfg, &res,
                     "{\"node\":\"s3\",\"time\":1780300790,\"readings\":["
                     "{\"metric\":\"rel_humidity_pct\",\"value\":18,\"unit\":\"%\"}]}"),
              0);
    ASSERT_EQ(res.readings[0].time_ms, NOW - 10000);
    ASSERT_STR_EQ(res.readings[0].zone, "z2");
    fw_uplink_result_free(&res);
    fw_config_free(cfg);
}

struct reject_case {
    const char *json;
    int rc;
    enum fw_uplink_error code;
    const char *detail;
};

FW_TEST(message_rejections)
{
    static const struct reject_case cases[] = {
        {"", -EINVAL, FW_UPLINK_BAD_JSON, "not valid JSON"},
        {"{\"node\":\"s1\",\"time\":", -EINVAL, FW_UPLINK_BAD_JSON, "not valid JSON"},
        {"[1,2]", -EINVAL, FW_UPLINK_BAD_JSON, "not a JSON object"},
        {"{\"time\":\"2026-06-01T08:00:00Z\",\"readings\":[]}", -EINVAL, FW_UPLINK_MISSING,
         "missing \"node\""},
        {"{\"node\":\"s1\",\"readings\":[]}", -EINVAL, FW_UPLINK_MISSING, "missing \"time\""},
        {"{\"node\":\"s1\",\"time\":\"2026-06-01T08:00:00Z\"}", -EINVAL, FW_UPLINK_MISSING,
         "missing \"readings\""},
        {"{\"node\":7,\"time\":\"2026-06-01T08:00:00Z\",\"readings\":[]}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "node: must be a string"},
        {"{\"node\":\"ghost\",\"time\":\"2026-06-01T08:00:00Z\",\"readings\":[]}", -ENOENT,
         FW_UPLINK_UNKNOWN_NODE, "node \"ghost\" is not in the config"},
        {"{\"node\":\"s1\",\"time\":\"2026-06-01 08:00:00\",\"readings\":[]}", -EINVAL,
         FW_UPLINK_BAD_TIME, "time: must be RFC 3339"},
        {"{\"node\":\"s1\",\"time\":\"2026-06-01T08:05:00Z\",\"readings\":[]}", -EINVAL,
         FW_UPLINK_BAD_TIME, "300 s ahead of the gateway clock"},
        {"{\"node\":\"s1\",\"time\":\"2026-05-30T08:00:00Z\",\"readings\":[]}", -EINVAL,
         FW_UPLINK_BAD_TIME, "172800 s old"},
        {"{\"node\":\"s1\",\"time\":12345,\"readings\":[]}", -EINVAL, FW_UPLINK_BAD_TIME,
         "time: must be"},
        {"{\"node\":\"s1\",\"time\":\"2026-06-01T08:00:00Z\",\"readings\":[]}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "readings: empty"},
        {"{\"node\":\"s1\",\"time\":\"2026-06-01T08:00:00Z\",\"readings\":{}}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "readings: must be an array"},
        {"{\"node\":\"s1\",\"time\":\"2026-06-01T08:00:00Z\",\"readings\":[{},{},{},{},{}]}",
         -E2BIG, FW_UPLINK_TOO_MANY, "5 readings, more than the limit of 4"},
    };
    struct fw_config *cfg = cfg_load();
    struct fw_uplink_result res = {0};
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        int rc = decode(cfg, &res, cases[i].json);
        if (rc != cases[i].rc || res.error != cases[i].code || res.n != 0 || res.nissues != 1 ||
            !strstr(res.issues[0].detail, cases[i].detail)) {
            fprintf(stderr, "case %zu (%s): rc %d error %s n %d detail \"%s\"\n", i, cases[i].json,
                    rc, fw_uplink_error_str(res.error), res.n,
                    res.nissues ? res.issues[0].detail : "");
            ASSERT_TRUE(0);
        }
    }
    fw_uplink_result_free(&res);
    fw_config_free(cfg);
}

FW_TEST(oversized_payload_is_not_parsed)
{
    struct fw_config *cfg = cfg_load();
    struct fw_uplink_result res = {0};
    size_t len = 10 * 1024 * 1024;
    char *big = fw_xmalloc(len);
    memset(big, '[', len); /* would nest far past any parser's limit if parsed */
    ASSERT_EQ(fw_uplink_decode_native(cfg, big, len, NOW, &res), -E2BIG);
    ASSERT_EQ(res.error, FW_UPLINK_TOO_BIG);
    ASSERT_STR_CONTAINS(res.issues[0].detail, "10485760 bytes exceeds the limit of 2048");
    free(big);
    /* Under the size limit, deep nesting is refused by the parser, not by a crash. */
    char deep[2001];
    memset(deep, '[', 2000);
    deep[2000] = '\0';
    ASSERT_EQ(fw_uplink_decode_native(cfg, deep, 2000, NOW, &res), -EINVAL);
    fw_uplink_result_free(&res);
    fw_config_free(cfg);
}

FW_TEST(bad_readings_are_dropped_others_kept)
{
    struct fw_config *cfg = cfg_load();
    struct fw_uplink_result res = {0};
    ASSERT_EQ(decode(cfg, &res,
                     "{\"node\":\"s2\",\"time\":\"2026-06-01T08:00:00Z\",\"readings\":["
                     "{\"metric\":\"smoke_ppm\",\"value\":\"high\",\"unit\":\"ppm\"},"
                     "{\"metric\":\"smoke_pmm\",\"value\":1,\"unit\":\"ppm\"},"
                     "{\"metric\":\"air_temp_c\",\"value\":71,\"unit\":\"F\"},"
                     "{\"metric\":\"co_ppm\",\"value\":12,\"unit\":\"ppm\"}]}"),
              0);
    ASSERT_EQ(res.n, 1);
    ASSERT_STR_EQ(res.readings[0].metric->name, "co_ppm");
    ASSERT_EQ(res.rejected_readings, 3);
    ASSERT_EQ(res.nissues, 3);
    ASSERT_EQ(res.issues[0].code, FW_UPLINK_BAD_FIELD);
    ASSERT_EQ(res.issues[1].code, FW_UPLINK_UNKNOWN_METRIC);
    ASSERT_EQ(res.issues[2].code, FW_UPLINK_BAD_UNIT);
    ASSERT_STR_EQ(res.issues[2].detail,
                  "readings[2].unit: \"F\" is not the unit of air_temp_c (\"degC\")");
    ASSERT_EQ(decode(cfg, &res,
                     "{\"node\":\"s2\",\"time\":\"2026-06-01T08:00:00Z\",\"readings\":["
                     "{\"metric\":\"rel_humidity_pct\",\"value\":6553.5,\"unit\":\"%\"}]}"),
              0);
    ASSERT_EQ(res.n, 0);
    ASSERT_EQ(res.issues[0].code, FW_UPLINK_OUT_OF_RANGE);
    fw_uplink_result_free(&res);
    fw_config_free(cfg);
}

/* ---------------------------------------------------------------------------------------------
 * The meteorology bureau's feed
 * ------------------------------------------------------------------------------------------- */

static int decode_meteo(struct fw_config *cfg, struct fw_uplink_result *res,
                        struct fw_meteo_forecasts *fc, const char *json)
{
    return fw_uplink_decode_meteo(cfg, json, strlen(json), NOW, res, fc);
}

/* An observation is a native uplink keyed by "station", with the provenance "meteo". */
FW_TEST(meteo_observation)
{
    struct fw_config *cfg = cfg_load();
    struct fw_uplink_result res = {0};
    struct fw_meteo_forecasts fc = {0};
    ASSERT_EQ(decode_meteo(cfg, &res, &fc,
                           "{\"type\":\"observation\",\"station\":\"s3\",\"time\":\"2026-06-01T"
                           "16:00:00+08:00\",\"readings\":[{\"metric\":\"rel_humidity_pct\","
                           "\"value\":18,\"unit\":\"%\"},{\"metric\":\"fwi\",\"value\":3,"
                           "\"unit\":\"index\"}]}"),
              0);
    ASSERT_EQ(res.n, 1);
    ASSERT_EQ(fc.n, 0);
    ASSERT_EQ(res.readings[0].source, FW_SOURCE_METEO);
    ASSERT_STR_EQ(fw_source_str(res.readings[0].source), "meteo");
    ASSERT_STR_EQ(res.readings[0].station, "s3");
    ASSERT_STR_EQ(res.readings[0].zone, "z2");
    ASSERT_EQ(res.readings[0].time_ms, NOW);
    /* a derived metric is the gateway's own, from the bureau too */
    ASSERT_EQ(res.rejected_readings, 1);
    ASSERT_STR_CONTAINS(res.issues[0].detail, "fwi is derived by the gateway");
    /* the station must be a node of the config, and named as a station */
    ASSERT_EQ(decode_meteo(cfg, &res, &fc,
                           "{\"type\":\"observation\",\"station\":\"54511\",\"time\":"
                           "1780300800,\"readings\":[]}"),
              -ENOENT);
    ASSERT_STR_CONTAINS(res.issues[0].detail, "station \"54511\" is not in the config");
    ASSERT_EQ(decode_meteo(cfg, &res, &fc,
                           "{\"type\":\"observation\",\"node\":\"s3\",\"time\":1780300800,"
                           "\"readings\":[]}"),
              -EINVAL);
    ASSERT_STR_CONTAINS(res.issues[0].detail, "missing \"station\"");
    fw_meteo_forecasts_free(&fc);
    fw_uplink_result_free(&res);
    fw_config_free(cfg);
}

FW_TEST(meteo_forecast)
{
    struct fw_config *cfg = cfg_load();
    struct fw_uplink_result res = {0};
    struct fw_meteo_forecasts fc = {0};
    ASSERT_EQ(decode_meteo(cfg, &res, &fc,
                           "{\"type\":\"forecast\",\"issued\":\"2026-06-01T16:00:00+08:00\","
                           "\"forecasts\":[{\"zone\":\"z1\",\"date\":\"2026-06-02\",\"air_temp_c\":"
                           "31.5,\"rel_humidity_pct\":18,\"wind_speed_ms\":6.2,\"rain_mm\":0},"
                           "{\"zone\":\"z2\",\"date\":\"2026-06-03\",\"air_temp_min_c\":12,"
                           "\"air_temp_max_c\":29.5}]}"),
              0);
    ASSERT_EQ(res.n, 0);
    ASSERT_EQ(res.nissues, 0);
    ASSERT_EQ(fc.n, 2);
    ASSERT_STR_EQ(fc.v[0].zone, "z1");
    ASSERT_EQ(fc.v[0].day, fw_time__days_from_civil(2026, 6, 2));
    ASSERT_TRUE(fc.v[0].has_noon && !fc.v[0].has_minmax);
    ASSERT_DBL_NEAR(fc.v[0].temp_c, 31.5, 0);
    ASSERT_DBL_NEAR(fc.v[0].rh_pct, 18, 0);
    ASSERT_DBL_NEAR(fc.v[0].wind_ms, 6.2, 0);
    ASSERT_DBL_NEAR(fc.v[0].rain_mm, 0, 0);
    ASSERT_TRUE(!fc.v[1].has_noon && fc.v[1].has_minmax);
    ASSERT_DBL_NEAR(fc.v[1].tmin_c, 12, 0);
    ASSERT_DBL_NEAR(fc.v[1].tmax_c, 29.5, 0);
    fw_meteo_forecasts_free(&fc);
    fw_uplink_result_free(&res);
    fw_config_free(cfg);
}

/* A bad entry is dropped with its reason and the others are kept. */
FW_TEST(meteo_forecast_bad_entries)
{
    static const struct {
        const char *entry, *detail;
    } cases[] = {
        {"{\"date\":\"2026-06-02\",\"air_temp_min_c\":1,\"air_temp_max_c\":2}",
         "needs \"zone\" and \"date\""},
        {"{\"zone\":\"z9\",\"date\":\"2026-06-02\",\"air_temp_min_c\":1,\"air_temp_max_c\":2}",
         "zone: \"z9\" is not in the config"},
        {"{\"zone\":\"z1\",\"date\":\"2026-6-2\",\"air_temp_min_c\":1,\"air_temp_max_c\":2}",
         "date: must be a date YYYY-MM-DD"},
        {"{\"zone\":\"z1\",\"date\":\"2026-02-30\",\"air_temp_min_c\":1,\"air_temp_max_c\":2}",
         "date: must be"},
        {"{\"zone\":\"z1\",\"date\":\"2026-07-01\",\"air_temp_min_c\":1,\"air_temp_max_c\":2}",
         "to 16 days after it"},
        {"{\"zone\":\"z1\",\"date\":\"2026-05-30\",\"air_temp_min_c\":1,\"air_temp_max_c\":2}",
         "from the day before"},
        {"{\"zone\":\"z1\",\"date\":\"2026-06-02\",\"air_temp_c\":30,\"rel_humidity_pct\":20}",
         "needs the noon weather"},
        {"{\"zone\":\"z1\",\"date\":\"2026-06-02\"}", "needs the noon weather"},
        {"{\"zone\":\"z1\",\"date\":\"2026-06-02\",\"air_temp_min_c\":1}", "needs the noon"},
        {"{\"zone\":\"z1\",\"date\":\"2026-06-02\",\"air_temp_min_c\":9,\"air_temp_max_c\":2}",
         "air_temp_min_c 9 above air_temp_max_c 2"},
        {"{\"zone\":\"z1\",\"date\":\"2026-06-02\",\"air_temp_min_c\":\"9\",\"air_temp_max_c\":2}",
         "air_temp_min_c: must be a number"},
        {"{\"zone\":\"z1\",\"date\":\"2026-06-02\",\"air_temp_c\":30,\"rel_humidity_pct\":140,"
         "\"wind_speed_ms\":1,\"rain_mm\":0}",
         "rel_humidity_pct: 140 is outside the possible range"},
    };
    struct fw_config *cfg = cfg_load();
    struct fw_uplink_result res = {0};
    struct fw_meteo_forecasts fc = {0};
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        char json[512];
        snprintf(json, sizeof(json),
                 "{\"type\":\"forecast\",\"issued\":\"2026-06-01T08:00:00Z\",\"forecasts\":[%s,"
                 "{\"zone\":\"z2\",\"date\":\"2026-06-02\",\"air_temp_min_c\":1,"
                 "\"air_temp_max_c\":2}]}",
                 cases[i].entry);
        int rc = decode_meteo(cfg, &res, &fc, json);
        if (rc != 0 || fc.n != 1 || res.nissues != 1 || res.rejected_readings != 1 ||
            !strstr(res.issues[0].detail, cases[i].detail)) {
            fprintf(stderr, "case %zu: rc %d n %d detail \"%s\"\n", i, rc, fc.n,
                    res.nissues ? res.issues[0].detail : "");
            ASSERT_TRUE(0);
        }
        ASSERT_STR_EQ(fc.v[0].zone, "z2");
        ASSERT_STR_CONTAINS(res.issues[0].detail, "forecasts[0]");
    }
    fw_meteo_forecasts_free(&fc);
    fw_uplink_result_free(&res);
    fw_config_free(cfg);
}

/* The bureau's published levels: per zone, and per county (every zone of the config in it). */
FW_TEST(meteo_level)
{
    struct fw_config *cfg = cfg_load();
    struct fw_uplink_result res = {0};
    struct fw_meteo_forecasts fc = {0};
    ASSERT_EQ(
        decode_meteo(cfg, &res, &fc,
                     "{\"type\":\"fire_danger_level\",\"issued\":\"2026-06-01T16:00:00+08:00\","
                     "\"levels\":[{\"zone\":\"z1\",\"date\":\"2026-06-01\",\"level\":2},"
                     "{\"county\":\"150781\",\"date\":\"2026-06-02\",\"level\":4},"
                     "{\"county\":\"210000\",\"date\":\"2026-06-02\",\"level\":5}]}"),
        0);
    ASSERT_EQ(res.n, 0);
    ASSERT_EQ(res.nissues, 0);
    ASSERT_EQ(res.rejected_readings, 0);
    ASSERT_EQ(fc.n, 3); /* a county this gateway does not cover names no zone */
    ASSERT_STR_EQ(fc.v[0].zone, "z1");
    ASSERT_EQ(fc.v[0].day, fw_time__days_from_civil(2026, 6, 1));
    ASSERT_EQ(fc.v[0].level, 2);
    ASSERT_EQ(fc.v[0].issued_ms, NOW);
    ASSERT_TRUE(!fc.v[0].has_noon && !fc.v[0].has_minmax);
    ASSERT_STR_EQ(fc.v[1].zone, "z1");
    ASSERT_STR_EQ(fc.v[2].zone, "z2");
    ASSERT_EQ(fc.v[2].day, fw_time__days_from_civil(2026, 6, 2));
    ASSERT_EQ(fc.v[1].level, 4);
    ASSERT_EQ(fc.v[2].level, 4);
    fw_meteo_forecasts_free(&fc);
    fw_uplink_result_free(&res);
    fw_config_free(cfg);
}

/* A bad level entry is dropped with its reason, naming it, and the others are kept. */
FW_TEST(meteo_level_bad_entries)
{
    static const struct {
        const char *entry, *detail;
    } cases[] = {
        {"{\"date\":\"2026-06-02\",\"level\":3}", "levels[0]: needs \"zone\" or \"county\""},
        {"{\"zone\":\"z1\",\"county\":\"150781\",\"date\":\"2026-06-02\",\"level\":3}",
         "levels[0]: needs \"zone\" or \"county\" (one of them)"},
        {"{\"county\":150781,\"date\":\"2026-06-02\",\"level\":3}", "levels[0]: needs"},
        {"{\"zone\":\"z1\",\"level\":3}", "levels[0]: needs"},
        {"{\"zone\":\"z9\",\"date\":\"2026-06-02\",\"level\":3}",
         "levels[0].zone: \"z9\" is not in the config"},
        {"{\"zone\":\"z1\",\"date\":\"2026-06-02\"}", "levels[0].level: must be an integer 1..5"},
        {"{\"zone\":\"z1\",\"date\":\"2026-06-02\",\"level\":6}",
         "levels[0].level: must be an integer 1..5"},
        {"{\"zone\":\"z1\",\"date\":\"2026-06-02\",\"level\":0}", "levels[0].level: must be"},
        {"{\"zone\":\"z1\",\"date\":\"2026-06-02\",\"level\":2.5}", "levels[0].level: must be"},
        {"{\"zone\":\"z1\",\"date\":\"2026-06-02\",\"level\":\"三级\"}",
         "levels[0].level: must be"},
        {"{\"zone\":\"z1\",\"date\":\"2026-6-2\",\"level\":3}",
         "levels[0].date: must be a date YYYY-MM-DD"},
        {"{\"county\":\"150781\",\"date\":\"2026-07-01\",\"level\":3}",
         "levels[0].date: must be a date YYYY-MM-DD from the day before"},
    };
    struct fw_config *cfg = cfg_load();
    struct fw_uplink_result res = {0};
    struct fw_meteo_forecasts fc = {0};
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        char json[512];
        snprintf(json, sizeof(json),
                 "{\"type\":\"fire_danger_level\",\"issued\":\"2026-06-01T08:00:00Z\","
                 "\"levels\":[%s,{\"zone\":\"z2\",\"date\":\"2026-06-02\",\"level\":1}]}",
                 cases[i].entry);
        int rc = decode_meteo(cfg, &res, &fc, json);
        if (rc != 0 || fc.n != 1 || res.nissues != 1 || res.rejected_readings != 1 ||
            !strstr(res.issues[0].detail, cases[i].detail)) {
            fprintf(stderr, "case %zu: rc %d n %d detail \"%s\"\n", i, rc, fc.n,
                    res.nissues ? res.issues[0].detail : "");
            ASSERT_TRUE(0);
        }
        ASSERT_STR_EQ(fc.v[0].zone, "z2");
        ASSERT_EQ(fc.v[0].level, 1);
    }
    /* the message as a whole: its issue time and its list */
    ASSERT_EQ(decode_meteo(cfg, &res, &fc, "{\"type\":\"fire_danger_level\",\"levels\":[]}"),
              -EINVAL);
    ASSERT_STR_CONTAINS(res.issues[0].detail, "missing \"issued\"");
    ASSERT_EQ(decode_meteo(cfg, &res, &fc,
                           "{\"type\":\"fire_danger_level\",\"issued\":\"2026-06-01T08:00:00Z\","
                           "\"levels\":[]}"),
              -EINVAL);
    ASSERT_STR_CONTAINS(res.issues[0].detail, "levels: empty");
    fw_meteo_forecasts_free(&fc);
    fw_uplink_result_free(&res);
    fw_config_free(cfg);
}

FW_TEST(meteo_message_rejections)
{
    static const struct reject_case cases[] = {
        {"{\"station\":\"s1\"}", -EINVAL, FW_UPLINK_MISSING, "type: must be"},
        {"{\"type\":\"warning\"}", -EINVAL, FW_UPLINK_BAD_FIELD, "got \"warning\""},
        {"{\"type\":7}", -EINVAL, FW_UPLINK_BAD_FIELD, "type: must be"},
        {"{\"type\":\"forecast\",\"forecasts\":[]}", -EINVAL, FW_UPLINK_MISSING,
         "missing \"issued\""},
        {"{\"type\":\"forecast\",\"issued\":1780300800}", -EINVAL, FW_UPLINK_MISSING,
         "missing \"forecasts\""},
        {"{\"type\":\"forecast\",\"issued\":\"2026-06-03T08:00:00Z\",\"forecasts\":[{}]}", -EINVAL,
         FW_UPLINK_BAD_TIME, "issued: 172800 s ahead"},
        {"{\"type\":\"forecast\",\"issued\":1780300800,\"forecasts\":[]}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "forecasts: empty"},
        {"{\"type\":\"forecast\",\"issued\":1780300800,\"forecasts\":{}}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "forecasts: must be an array"},
        {"{\"type\":\"forecast\",\"issued\":1780300800,\"forecasts\":[1,2,3,4,5]}", -E2BIG,
         FW_UPLINK_TOO_MANY, "5 forecasts, more than the limit of 4"},
        {"[]", -EINVAL, FW_UPLINK_BAD_JSON, "not a JSON object"},
    };
    struct fw_config *cfg = cfg_load();
    struct fw_uplink_result res = {0};
    struct fw_meteo_forecasts fc = {0};
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        int rc = decode_meteo(cfg, &res, &fc, cases[i].json);
        if (rc != cases[i].rc || res.error != cases[i].code || fc.n != 0 || res.nissues != 1 ||
            !strstr(res.issues[0].detail, cases[i].detail)) {
            fprintf(stderr, "case %zu (%s): rc %d error %s detail \"%s\"\n", i, cases[i].json, rc,
                    fw_uplink_error_str(res.error), res.nissues ? res.issues[0].detail : "");
            ASSERT_TRUE(0);
        }
    }
    /* too big: not parsed */
    char *big = fw_xcalloc(1, 4096);
    memset(big, ' ', 4095);
    ASSERT_EQ(fw_uplink_decode_meteo(cfg, big, 4095, NOW, &res, &fc), -E2BIG);
    free(big);
    fw_meteo_forecasts_free(&fc);
    fw_uplink_result_free(&res);
    fw_config_free(cfg);
}

/* ---------------------------------------------------------------------------------------------
 * Metrics the config declares
 * ------------------------------------------------------------------------------------------- */

/* Native uplinks and meteorology observations carry them like built-in metrics, checked alike,
 * once the config that declares them is in effect. */
FW_TEST(declared_metrics)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_TEST_DATA "/config/valid/metrics.json", &cfg, &errs), 0);
    struct fw_uplink_result res = {0};
    struct fw_meteo_forecasts fc = {0};
    const char *msg = "{\"node\":\"aq-01\",\"time\":\"2026-06-01T08:00:00Z\",\"readings\":["
                      "{\"metric\":\"pm25_ugm3\",\"value\":80,\"unit\":\"ug/m3\"},"
                      "{\"metric\":\"pm25_ugm3\",\"value\":81,\"unit\":\"µg/m³\"},"
                      "{\"metric\":\"flame_detected\",\"value\":1,\"unit\":\"bool\"},"
                      "{\"metric\":\"pm25_ugm3\",\"value\":1500,\"unit\":\"ug/m3\"},"
                      "{\"metric\":\"snow_depth_cm\",\"value\":12,\"unit\":\"m\"}]}";

    /* Not yet in effect: unknown, as any metric of no config. */
    ASSERT_EQ(decode(cfg, &res, msg), 0);
    ASSERT_EQ(res.n, 0);
    ASSERT_EQ(res.issues[0].code, FW_UPLINK_UNKNOWN_METRIC);

    fw_metric_use(cfg->metrics);
    ASSERT_EQ(decode(cfg, &res, msg), 0);
    ASSERT_EQ(res.n, 3);
    ASSERT_TRUE(res.readings[0].metric == fw_metric_set_at(cfg->metrics, 0));
    ASSERT_DBL_NEAR(res.readings[1].value, 81, 0); /* through the unit's alias */
    ASSERT_STR_EQ(res.readings[2].metric->name, "flame_detected");
    ASSERT_STR_EQ(res.readings[2].zone, "z1");
    ASSERT_EQ(res.nissues, 2);
    ASSERT_EQ(res.issues[0].code, FW_UPLINK_OUT_OF_RANGE);
    ASSERT_STR_EQ(res.issues[0].detail, "readings[3].value: 1500 ug/m3 is outside the possible "
                                        "range 0..1000 of pm25_ugm3");
    ASSERT_EQ(res.issues[1].code, FW_UPLINK_BAD_UNIT);
    ASSERT_STR_EQ(res.issues[1].detail,
                  "readings[4].unit: \"m\" is not the unit of snow_depth_cm (\"cm\")");

    ASSERT_EQ(decode_meteo(cfg, &res, &fc,
                           "{\"type\":\"observation\",\"station\":\"aq-01\",\"time\":1780300800,"
                           "\"readings\":[{\"metric\":\"solar_radiation_wm2\",\"value\":640,"
                           "\"unit\":\"W/m2\"}]}"),
              0);
    ASSERT_EQ(res.n, 1);
    ASSERT_EQ(res.readings[0].source, FW_SOURCE_METEO);
    ASSERT_STR_EQ(res.readings[0].metric->name, "solar_radiation_wm2");
    fw_metric_use(NULL);
    fw_meteo_forecasts_free(&fc);
    fw_uplink_result_free(&res);
    fw_config_free(cfg);
}
