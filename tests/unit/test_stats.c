/* SPDX-License-Identifier: MIT */
/*
 * The gateway's counters and their Prometheus text: every family listed with HELP and TYPE, a
 * family without a label showing 0 before anything happened, label values escaped, the series
 * cap holding with the loss counted, and what a reading sets (its source's count, its node's
 * last-seen time, a zone's tomorrow level).
 */
#include "forestwatch/stats.h"
#include "forestwatch/util.h"
#include "test.h"

FW_TEST(render_text)
{
    struct fw_stats *s = fw_stats_new();
    char *t = fw_stats_render(s);
    ASSERT_STR_CONTAINS(t, "# HELP forestwatch_uplinks_received_total ");
    ASSERT_STR_CONTAINS(t, "# TYPE forestwatch_uplinks_received_total counter\n"
                           "forestwatch_uplinks_received_total 0\n");
    ASSERT_STR_CONTAINS(t, "# TYPE forestwatch_outbox_depth gauge\nforestwatch_outbox_depth 0\n");
    /* a labelled family has no series until one is used */
    ASSERT_TRUE(strstr(t, "forestwatch_alerts_fired_total{") == NULL);
    free(t);
    fw_stats_add(s, FW_STAT_UPLINKS, NULL, 1);
    fw_stats_add(s, FW_STAT_UPLINKS, NULL, 2);
    fw_stats_add(s, FW_STAT_ALERTS_FIRED, "smoke_high", 1);
    fw_stats_add(s, FW_STAT_ALERTS_FIRED, "a\"b\\c\nd", 1);
    fw_stats_set(s, FW_STAT_OUTBOX_DEPTH, NULL, 7);
    fw_stats_set(s, FW_STAT_ZONE_TOMORROW, "z1", 2.5);
    t = fw_stats_render(s);
    ASSERT_STR_CONTAINS(t, "forestwatch_uplinks_received_total 3\n");
    ASSERT_STR_CONTAINS(t, "forestwatch_alerts_fired_total{rule=\"smoke_high\"} 1\n");
    ASSERT_STR_CONTAINS(t, "forestwatch_alerts_fired_total{rule=\"a\\\"b\\\\c\\nd\"} 1\n");
    ASSERT_STR_CONTAINS(t, "forestwatch_outbox_depth 7\n");
    ASSERT_STR_CONTAINS(t, "forestwatch_zone_level_tomorrow{zone=\"z1\"} 2.5\n");
    ASSERT_STR_CONTAINS(t, "forestwatch_stats_series_dropped_total 0\n");
    free(t);
    double v;
    ASSERT_EQ(fw_stats_get(s, FW_STAT_UPLINKS, NULL, &v, NULL), 0);
    ASSERT_DBL_NEAR(v, 3, 0);
    ASSERT_EQ(fw_stats_get(s, FW_STAT_ALERTS_RESOLVED, "smoke_high", &v, NULL), -ENOENT);
    fw_stats_free(s);
    fw_stats_free(NULL);
}

FW_TEST(series_cap)
{
    struct fw_stats *s = fw_stats_new();
    char label[32];
    for (int i = 0; i <= FW_STATS_MAX_SERIES; i++) {
        snprintf(label, sizeof(label), "n%d", i);
        fw_stats_add(s, FW_STAT_READINGS, label, 1);
    }
    snprintf(label, sizeof(label), "n%d", FW_STATS_MAX_SERIES);
    ASSERT_EQ(fw_stats_get(s, FW_STAT_READINGS, label, NULL, NULL), -ENOENT);
    ASSERT_EQ(fw_stats_get(s, FW_STAT_READINGS, "n0", NULL, NULL), 0);
    fw_stats_add(s, FW_STAT_READINGS, "n0", 1); /* an existing series still counts */
    double v;
    fw_stats_get(s, FW_STAT_READINGS, "n0", &v, NULL);
    ASSERT_DBL_NEAR(v, 2, 0);
    char *t = fw_stats_render(s);
    ASSERT_STR_CONTAINS(t, "forestwatch_stats_series_dropped_total 1\n");
    free(t);
    fw_stats_free(s);
}

FW_TEST(reading)
{
    struct fw_stats *s = fw_stats_new();
    struct fw_reading r = {.source = FW_SOURCE_MQTT_NATIVE, .value = 1, .time_ms = 5000};
    fw_strlcpy(r.station, "s1", sizeof(r.station));
    fw_strlcpy(r.zone, "z1", sizeof(r.zone));
    r.metric = fw_metric_find("smoke_ppm");
    fw_stats_reading(s, &r, 1780300800123LL);
    struct fw_reading d = {.source = FW_SOURCE_DERIVED, .value = 4, .time_ms = 1780272000000LL};
    fw_strlcpy(d.zone, "z1", sizeof(d.zone));
    d.metric = fw_metric_find("fire_danger_level_tomorrow");
    ASSERT_TRUE(d.metric != NULL);
    fw_stats_reading(s, &d, 1780300800500LL);
    double v;
    int64_t at;
    ASSERT_EQ(fw_stats_get(s, FW_STAT_NODE_LAST_SEEN, "s1", &v, &at), 0);
    ASSERT_DBL_NEAR(v, 1780300800, 0);
    ASSERT_EQ(at, 1780300800123LL);
    ASSERT_EQ(fw_stats_get(s, FW_STAT_ZONE_TOMORROW, "z1", &v, &at), 0);
    ASSERT_DBL_NEAR(v, 4, 0);
    ASSERT_EQ(at, 1780272000000LL);
    ASSERT_EQ(fw_stats_get(s, FW_STAT_READINGS, "mqtt", &v, NULL), 0);
    ASSERT_DBL_NEAR(v, 1, 0);
    ASSERT_EQ(fw_stats_get(s, FW_STAT_READINGS, "derived", &v, NULL), 0);
    ASSERT_DBL_NEAR(v, 1, 0);
    /* a derived reading names no node */
    ASSERT_EQ(fw_stats_get(s, FW_STAT_NODE_LAST_SEEN, "", NULL, NULL), -ENOENT);
    fw_stats_free(s);
}
