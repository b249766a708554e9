/* SPDX-License-Identifier: MIT */
/*
 * The table of uplink formats: MQTT topic filters matched level by level, the uplink a message
 * on a broker's topic belongs to, every configured format's row, and a decode through the table
 * leaving forecasts only when the message carried some.
 */
#include "forestwatch/sources.h"
#include "forestwatch/util.h"
#include "cfg_test.h"
#include "test.h"

#define NOW 1780300800000LL /* 2026-06-01T08:00:00Z */

FW_TEST(topic_filters)
{
    static const struct {
        const char *filter, *topic;
        int match;
    } cases[] = {
        {"a/b", "a/b", 1},
        {"a/b", "a/c", 0},
        {"a/b", "a/b/c", 0},
        {"a/b/c", "a/b", 0},
        {"a/+", "a/b", 1},
        {"a/+", "a/b/c", 0},
        {"a/+/c", "a/x/c", 1},
        {"+/+", "a/b", 1},
        {"+", "a", 1},
        {"+", "a/b", 0},
        {"a/#", "a", 1},
        {"a/#", "a/b/c", 1},
        {"a/#", "ab", 0},
        {"#", "a/b", 1},
        {"a/b/", "a/b/", 1},
        {"a/+", "a/", 1},
        {"a/b", "a/b/", 0},
        {"ab/+", "a/b", 0},
        {"application/+/#", "application/12/device/x/event/up", 1},
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        int got = fw_sources_topic_matches(cases[i].filter, cases[i].topic);
        if (got != cases[i].match)
            fprintf(stderr, "filter \"%s\" topic \"%s\"\n", cases[i].filter, cases[i].topic);
        ASSERT_EQ(got, cases[i].match);
    }
}

FW_TEST(find_by_broker_and_topic)
{
    struct fw_config *cfg = cfg_from_file(FW_TEST_DATA "/config/valid/lora_nodes.json");
    ASSERT_TRUE(cfg);
    const struct fw_cfg_uplink *up = fw_sources_find(cfg, "b", "application/7/device/x/event/up");
    ASSERT_TRUE(up != NULL);
    ASSERT_EQ(up->format, FW_UPLINK_CHIRPSTACK);
    up = fw_sources_find(cfg, "b", "v3/app@tenant/devices/d1/up");
    ASSERT_TRUE(up != NULL);
    ASSERT_EQ(up->format, FW_UPLINK_TTS);
    ASSERT_TRUE(fw_sources_find(cfg, "other", "application/7/device/x/event/up") == NULL);
    ASSERT_TRUE(fw_sources_find(cfg, "b", "gateway/up") == NULL);
    fw_config_free(cfg);
}

/* Every format the config accepts has a row, named as in the config. */
FW_TEST(table_rows)
{
    ASSERT_STR_EQ(fw_sources_type(FW_UPLINK_NATIVE)->name, "native");
    ASSERT_STR_EQ(fw_sources_type(FW_UPLINK_CHIRPSTACK)->name, "chirpstack");
    ASSERT_STR_EQ(fw_sources_type(FW_UPLINK_TTS)->name, "tts");
    ASSERT_STR_EQ(fw_sources_type(FW_UPLINK_METEO)->name, "meteo");
}

/* A native message through the table gives its readings, and no stale forecasts of an earlier
 * meteorology message; a forecast message gives forecasts. */
FW_TEST(decode_through_table)
{
    struct fw_config *cfg = cfg_from_file(FW_TEST_DATA "/engine/forestwatch.json");
    ASSERT_TRUE(cfg);
    const struct fw_sources_ctx ctx = {cfg, NULL};
    struct fw_uplink_result res = {0};
    struct fw_meteo_forecasts fc = {0};
    const char *fcmsg = "{\"type\":\"forecast\",\"issued\":\"2026-06-01T08:00:00Z\",\"forecasts\":"
                        "[{\"zone\":\"z1\",\"date\":\"2026-06-02\",\"air_temp_min_c\":8,"
                        "\"air_temp_max_c\":21}]}";
    ASSERT_EQ(
        fw_sources_decode(FW_UPLINK_METEO, &ctx, "meteo/fc", fcmsg, strlen(fcmsg), NOW, &res, &fc),
        0);
    ASSERT_EQ(fc.n, 1);
    ASSERT_EQ(res.n, 0);
    const char *native = "{\"node\":\"s1\",\"time\":\"2026-06-01T07:59:00Z\",\"readings\":["
                         "{\"metric\":\"smoke_ppm\",\"value\":352.5,\"unit\":\"ppm\"}]}";
    ASSERT_EQ(
        fw_sources_decode(FW_UPLINK_NATIVE, &ctx, "up/s1", native, strlen(native), NOW, &res, &fc),
        0);
    ASSERT_EQ(fc.n, 0);
    ASSERT_EQ(res.n, 1);
    ASSERT_STR_EQ(res.readings[0].station, "s1");
    fw_uplink_result_free(&res);
    fw_meteo_forecasts_free(&fc);
    fw_config_free(cfg);
}
