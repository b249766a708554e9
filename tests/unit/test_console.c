/* SPDX-License-Identifier: MIT */
/*
 * The console's routes and JSON, without a server: the real engine on the engine tests' config
 * on a fake clock. Zones with their level, colour, outline or location and open alerts; open
 * alerts most severe first and, among equals, newest first; nodes with their last reading; the
 * gateway's brokers; the events that are sent only when something changed; and the routes:
 * every other path (traversal included) 404, every other method 405.
 */
#include "forestwatch/console.h"
#include "forestwatch/engine.h"
#include "forestwatch/util.h"
#include "cfg_test.h"
#include "test.h"

#include <cJSON.h>

#define T0 1780300800000LL /* 2026-06-01T08:00:00Z */
#define CFG FW_TEST_DATA "/engine/forestwatch.json"

struct rig {
    struct fw_config *cfg;
    struct fw_engine *e;
    struct fw_stats *st;
    struct fw_actions a;
    struct fw_console_view v;
};

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    r->cfg = cfg_from_file(CFG);
    FW_ASSERT(r->cfg);
    r->e = fw_engine_new(r->cfg);
    r->st = fw_stats_new();
    r->v = (struct fw_console_view){r->cfg, r->e, r->st, T0, T0 - 60000, NULL};
}

static void rig_free(struct rig *r)
{
    fw_actions_free(&r->a);
    fw_stats_free(r->st);
    fw_engine_free(r->e);
    fw_config_free(r->cfg);
}

static void feed(struct rig *r, const char *st, const char *zone, const char *metric, double v,
                 int64_t dt)
{
    struct fw_reading rd = {0};
    fw_strlcpy(rd.station, st, sizeof(rd.station));
    fw_strlcpy(rd.zone, zone, sizeof(rd.zone));
    rd.metric = fw_metric_find(metric);
    rd.value = v;
    rd.time_ms = T0 + dt;
    fw_engine_feed(r->e, &rd, T0 + dt, &r->a);
    fw_stats_reading(r->st, &rd, T0 + dt);
    fw_actions_clear(&r->a);
    r->v.now_ms = T0 + dt;
}

static cJSON *parse(char *s)
{
    cJSON *j = cJSON_Parse(s);
    free(s);
    FW_ASSERT(j);
    return j;
}

FW_TEST(zones)
{
    struct rig r;
    rig_init(&r);
    feed(&r, "s1", "z1", "smoke_ppm", 420, 0);
    fw_stats_set(r.st, FW_STAT_ZONE_TOMORROW, "z1", 4); /* set at time 0: long stale */
    cJSON *j = parse(fw_console_zones_json(&r.v));
    ASSERT_EQ(cJSON_GetArraySize(j), 2);
    cJSON *z1 = cJSON_GetArrayItem(j, 0);
    ASSERT_STR_EQ(cJSON_GetObjectItem(z1, "id")->valuestring, "z1");
    ASSERT_STR_EQ(cJSON_GetObjectItem(z1, "name")->valuestring, "一号网格");
    ASSERT_STR_EQ(cJSON_GetObjectItem(z1, "name_en")->valuestring, "Grid 1");
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(z1, "level")));
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(z1, "colour")));
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(z1, "level_tomorrow")));
    ASSERT_EQ(cJSON_GetObjectItem(z1, "open_alerts")->valueint, 1);
    ASSERT_DBL_NEAR(cJSON_GetArrayItem(cJSON_GetObjectItem(z1, "location"), 0)->valuedouble, 41.5,
                    0);
    ASSERT_TRUE(cJSON_GetObjectItem(z1, "polygon") == NULL);
    ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(z1, "duty"), "name")->valuestring,
                  "Duty \"desk\"");
    cJSON_Delete(j);
    /* A fresh tomorrow level, with its colour. */
    struct fw_reading d = {.source = FW_SOURCE_DERIVED, .value = 4, .time_ms = T0};
    fw_strlcpy(d.zone, "z1", sizeof(d.zone));
    d.metric = fw_metric_find("fire_danger_level_tomorrow");
    fw_stats_reading(r.st, &d, T0);
    j = parse(fw_console_zones_json(&r.v));
    z1 = cJSON_GetArrayItem(j, 0);
    ASSERT_DBL_NEAR(cJSON_GetObjectItem(z1, "level_tomorrow")->valuedouble, 4, 0);
    ASSERT_STR_EQ(cJSON_GetObjectItem(z1, "colour_tomorrow")->valuestring, "orange");
    cJSON_Delete(j);
    rig_free(&r);
}

FW_TEST(alerts_order)
{
    struct rig r;
    rig_init(&r);
    feed(&r, "s1", "z1", "smoke_ppm", 420, 0);          /* Severe, oldest */
    feed(&r, "s3", "z2", "rel_humidity_pct", 10, 1000); /* Moderate, newer */
    feed(&r, "s2", "z1", "smoke_ppm", 390, 2000);       /* Severe, newest */
    cJSON *j = parse(fw_console_alerts_json(&r.v));
    ASSERT_EQ(cJSON_GetArraySize(j), 3);
    ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "node")->valuestring, "s2");
    ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "node")->valuestring, "s1");
    cJSON *dry = cJSON_GetArrayItem(j, 2);
    ASSERT_STR_EQ(cJSON_GetObjectItem(dry, "rule")->valuestring, "dry_z2");
    ASSERT_STR_EQ(cJSON_GetObjectItem(dry, "severity")->valuestring, "Moderate");
    cJSON *s1 = cJSON_GetArrayItem(j, 1);
    ASSERT_STR_EQ(cJSON_GetObjectItem(s1, "id")->valuestring, "gw-t:smoke_high:s1:1780300800000");
    ASSERT_STR_EQ(cJSON_GetObjectItem(s1, "since")->valuestring, "2026-06-01T08:00:00Z");
    ASSERT_DBL_NEAR(cJSON_GetObjectItem(s1, "value")->valuedouble, 420, 0);
    ASSERT_DBL_NEAR(cJSON_GetObjectItem(s1, "threshold")->valuedouble, 300, 0);
    ASSERT_STR_EQ(cJSON_GetObjectItem(s1, "op")->valuestring, ">");
    ASSERT_STR_EQ(cJSON_GetObjectItem(s1, "zone_name")->valuestring, "一号网格");
    ASSERT_TRUE(cJSON_GetObjectItem(s1, "acknowledged_by") == NULL);
    cJSON_Delete(j);
    ASSERT_EQ(fw_engine_ack(r.e, "gw-t:smoke_high:s1:1780300800000", "duty", T0 + 3000), 0);
    j = parse(fw_console_alerts_json(&r.v));
    ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "acknowledged_by")->valuestring,
                  "duty");
    cJSON_Delete(j);
    rig_free(&r);
}

FW_TEST(devices_and_gateway)
{
    struct rig r;
    rig_init(&r);
    feed(&r, "s1", "z1", "smoke_ppm", 20, 0);
    r.v.now_ms = T0 + 65000;
    fw_stats_set(r.st, FW_STAT_BROKER_UP, r.cfg->brokers[0].name, 1);
    fw_stats_set(r.st, FW_STAT_OUTBOX_DEPTH, NULL, 3);
    cJSON *j = parse(fw_console_devices_json(&r.v));
    cJSON *nodes = cJSON_GetObjectItem(j, "nodes");
    ASSERT_EQ(cJSON_GetArraySize(nodes), (int)r.cfg->nnodes);
    cJSON *s1 = cJSON_GetArrayItem(nodes, 0);
    ASSERT_STR_EQ(cJSON_GetObjectItem(s1, "id")->valuestring, "s1");
    ASSERT_STR_EQ(cJSON_GetObjectItem(s1, "last_seen")->valuestring, "2026-06-01T08:00:00Z");
    ASSERT_EQ(cJSON_GetObjectItem(s1, "age_s")->valueint, 65);
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(nodes, 1), "last_seen")));
    cJSON_Delete(j);
    j = parse(fw_console_gateway_json(&r.v));
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "id")->valuestring, "gw-t");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "config_loaded")->valuestring, "2026-06-01T07:59:00Z");
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(j, "last_reload")));
    ASSERT_EQ(cJSON_GetObjectItem(j, "outbox_depth")->valueint, 3);
    cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "brokers"), 0);
    ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(b, "connected")));
    cJSON_Delete(j);
    rig_free(&r);
}

FW_TEST(events_on_change)
{
    struct rig r;
    rig_init(&r);
    uint64_t h = 0;
    char *ev = fw_console_event(&r.v, &h);
    ASSERT_TRUE(ev != NULL);
    ASSERT_TRUE(strncmp(ev, "event: state\ndata: {", 20) == 0);
    /* one data line, ended by the blank line */
    ASSERT_TRUE(strchr(ev + 20, '\n') == ev + strlen(ev) - 2);
    free(ev);
    r.v.now_ms += 5000; /* only the time moved: nothing to send */
    ASSERT_TRUE(fw_console_event(&r.v, &h) == NULL);
    feed(&r, "s1", "z1", "smoke_ppm", 420, 6000);
    ev = fw_console_event(&r.v, &h);
    ASSERT_TRUE(ev != NULL);
    ASSERT_STR_CONTAINS(ev, "\"rule\":\"smoke_high\"");
    free(ev);
    ASSERT_TRUE(fw_console_event(&r.v, &h) == NULL);
    rig_free(&r);
}

static int route(struct rig *r, const char *method, const char *path, const char *type)
{
    struct fw_console_reply rep;
    fw_console_handle(&r->v, method, path, &rep);
    int status = rep.status;
    if (type && strncmp(rep.type, type, strlen(type)) != 0)
        status = -1;
    fw_console_reply_free(&rep);
    return status;
}

FW_TEST(routes)
{
    struct rig r;
    rig_init(&r);
    ASSERT_EQ(route(&r, "GET", "/", "text/html"), 200);
    ASSERT_EQ(route(&r, "HEAD", "/console.js", "text/javascript"), 200);
    ASSERT_EQ(route(&r, "GET", "/console.css", "text/css"), 200);
    ASSERT_EQ(route(&r, "GET", "/metrics", "text/plain; version=0.0.4"), 200);
    ASSERT_EQ(route(&r, "GET", "/api/zones", "application/json"), 200);
    ASSERT_EQ(route(&r, "GET", "/api/state", "application/json"), 200);
    ASSERT_EQ(route(&r, "GET", "/api/events", "text/event-stream"), 200);
    const char *bad[] = {"/../etc/passwd",
                         "/api/../../etc/passwd",
                         "/console.js/..",
                         "//etc/passwd",
                         "/api/zones/",
                         "/API/zones",
                         "",
                         "/api/zones\n"};
    for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++)
        ASSERT_EQ(route(&r, "GET", bad[i], NULL), 404);
    ASSERT_EQ(route(&r, "POST", "/api/alerts", NULL), 405);
    ASSERT_EQ(route(&r, "DELETE", "/", NULL), 405);
    struct fw_console_reply rep;
    fw_console_handle(&r.v, "GET", "/api/events", &rep);
    ASSERT_TRUE(rep.events);
    ASSERT_TRUE(strncmp(rep.data, "event: state\n", 13) == 0);
    fw_console_reply_free(&rep);
    rig_free(&r);
}
