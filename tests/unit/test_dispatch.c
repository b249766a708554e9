/* SPDX-License-Identifier: MIT */
/*
 * The alert post-processing driven by the real engine on the engine tests' config, on a fake
 * clock: new alerts of one zone held for a grouping route until
 * its window closes and sent as one message, a route that does not group getting them at once,
 * any other message for the route releasing its held group first, a later message of a grouped
 * alert referencing the group message, and a lone alert in a window going out as itself.
 */
#include "forestwatch/dispatch.h"
#include "forestwatch/engine.h"
#include "forestwatch/log.h"
#include "forestwatch/render.h"
#include "forestwatch/util.h"
#include "cfg_test.h"
#include "test.h"

#define T0 1780300800000LL /* 2026-06-01T08:00:00Z */
#define WINDOW 1500
#define CFG FW_TEST_DATA "/engine/forestwatch.json"

struct rig {
    struct fw_config *cfg;
    struct fw_engine *e;
    struct fw_dispatch *x;
    struct fw_actions a;
    struct fw_dispatch_out out;
};

/* The engine tests' config, its route "forestry" grouping in `format`. */
static void rig_init(struct rig *r, enum fw_route_format format)
{
    memset(r, 0, sizeof(*r));
    r->cfg = cfg_from_file(CFG);
    FW_ASSERT(r->cfg && strcmp(r->cfg->routes[0].name, "forestry") == 0);
    r->cfg->routes[0].group_window_ms = WINDOW;
    r->cfg->routes[0].format = format;
    r->e = fw_engine_new(r->cfg);
    r->x = fw_dispatch_new();
}

static void rig_free(struct rig *r)
{
    fw_dispatch_out_free(&r->out);
    fw_actions_free(&r->a);
    fw_dispatch_free(r->x);
    fw_engine_free(r->e);
    fw_config_free(r->cfg);
}

/* A smoke reading of station `st` (zone z1) `dt` ms after T0, dispatched at once. */
static void smoke(struct rig *r, const char *st, double ppm, int64_t dt)
{
    struct fw_reading rd = {0};
    fw_strlcpy(rd.station, st, sizeof(rd.station));
    fw_strlcpy(rd.zone, "z1", sizeof(rd.zone));
    rd.metric = fw_metric_find("smoke_ppm");
    rd.value = ppm;
    rd.time_ms = T0 + dt;
    fw_engine_feed(r->e, &rd, T0 + dt, &r->a);
    fw_dispatch_notifications(r->x, r->cfg, NULL, &r->a, T0 + dt, &r->out);
    fw_actions_clear(&r->a);
}

/* Two new alerts in zone z1 100 ms apart, what went out at once forgotten. */
static void burst(struct rig *r, enum fw_route_format format)
{
    rig_init(r, format);
    smoke(r, "s1", 420, 0);
    smoke(r, "s2", 390, 100);
    fw_dispatch_out_clear(&r->out);
}

/* How many messages of the output went to route `k`. */
static size_t on_route(const struct rig *r, size_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < r->out.nmsg; i++)
        n += r->out.msg[i].route == k;
    return n;
}

FW_TEST(group_held_until_window)
{
    struct rig r;
    rig_init(&r, FW_FORMAT_JSON);
    smoke(&r, "s1", 420, 0);
    smoke(&r, "s2", 390, 100);
    /* emergency does not group: both at once; forestry holds them */
    ASSERT_EQ(on_route(&r, 1), 2);
    ASSERT_EQ(on_route(&r, 0), 0);
    ASSERT_EQ(fw_dispatch_next_deadline(r.x), T0 + WINDOW);
    fw_dispatch_out_clear(&r.out);
    fw_dispatch_flush(r.x, r.cfg, T0 + WINDOW - 1, T0 + WINDOW - 1, &r.out);
    ASSERT_EQ(r.out.nmsg, 0);
    fw_dispatch_flush(r.x, r.cfg, T0 + WINDOW, T0 + WINDOW, &r.out);
    ASSERT_EQ(r.out.nmsg, 1);
    ASSERT_EQ(fw_dispatch_next_deadline(r.x), 0);
    const struct fw_dispatch_msg *m = &r.out.msg[0];
    ASSERT_EQ(m->route, 0);
    ASSERT_STR_EQ(m->zone, "z1");
    ASSERT_STR_CONTAINS(m->body, "\"group\":\"gw-t:group:forestry:z1:1780300801500\"");
    ASSERT_STR_CONTAINS(m->body, "\"node\":\"s1\"");
    ASSERT_STR_CONTAINS(m->body, "\"node\":\"s2\"");
    /* one log line per alert of the group */
    ASSERT_EQ(r.out.nnote, 2);
    ASSERT_STR_CONTAINS(r.out.note[0].head, "alert: new ");
    ASSERT_STR_CONTAINS(r.out.note[0].head, "-> route \"forestry\"");
    ASSERT_EQ(r.out.note[0].level, FW_LOG_NOTICE);
    rig_free(&r);
}

/* A resolution for the route releases the route's held group first: messages keep their order. */
FW_TEST(other_message_releases_group)
{
    struct rig r;
    burst(&r, FW_FORMAT_JSON);
    smoke(&r, "s1", 10, 200); /* s1 resolves, inside the window */
    ASSERT_EQ(on_route(&r, 0), 2);
    ASSERT_STR_CONTAINS(r.out.msg[0].body, "\"group\":");
    ASSERT_EQ(r.out.msg[0].resolved, 0);
    ASSERT_EQ(r.out.msg[0].route, 0);
    size_t last = r.out.nmsg - 1;
    ASSERT_EQ(r.out.msg[last].route, 1); /* emergency's resolution comes after */
    size_t k = r.out.msg[1].route == 0 ? 1 : 2;
    ASSERT_EQ(r.out.msg[k].resolved, 1);
    ASSERT_TRUE(strstr(r.out.msg[k].body, "\"group\":") == NULL);
    ASSERT_EQ(fw_dispatch_next_deadline(r.x), 0);
    rig_free(&r);
}

/* A later message of an alert first announced in a group message references that message. */
FW_TEST(cap_references_group)
{
    struct rig r;
    burst(&r, FW_FORMAT_CAP_XML);
    fw_dispatch_flush(r.x, r.cfg, T0 + WINDOW, T0 + WINDOW, &r.out);
    ASSERT_EQ(r.out.nmsg, 1);
    const char *body = r.out.msg[0].body, *id = strstr(body, "<identifier>");
    ASSERT_TRUE(id != NULL);
    char ident[FW_CAP_IDENTIFIER_MAX];
    fw_strlcpy(ident, id + strlen("<identifier>"), sizeof(ident));
    *strchr(ident, '<') = '\0';
    ASSERT_STR_CONTAINS(body, "<incidents>");
    fw_dispatch_out_clear(&r.out);
    smoke(&r, "s1", 10, 5000);
    ASSERT_EQ(on_route(&r, 0), 1);
    const char *res = r.out.msg[0].route == 0 ? r.out.msg[0].body : r.out.msg[1].body;
    ASSERT_STR_CONTAINS(res, "<msgType>Update</msgType>");
    ASSERT_STR_CONTAINS(res, ident);
    rig_free(&r);
}

/* A window with one alert: the message is the alert's own, as on a route that does not group. */
FW_TEST(lone_alert_as_itself)
{
    struct rig r;
    rig_init(&r, FW_FORMAT_JSON);
    smoke(&r, "s1", 420, 0);
    ASSERT_EQ(on_route(&r, 0), 0);
    fw_dispatch_out_clear(&r.out);
    fw_dispatch_flush(r.x, r.cfg, INT64_MAX, T0 + WINDOW, &r.out);
    ASSERT_EQ(r.out.nmsg, 1);
    ASSERT_TRUE(strstr(r.out.msg[0].body, "\"group\":") == NULL);
    ASSERT_STR_CONTAINS(r.out.msg[0].body, "\"node\":\"s1\"");
    ASSERT_STR_EQ(r.out.msg[0].rule, "smoke_high");
    ASSERT_EQ(r.out.msg[0].priority, (int)r.cfg->rules[0].severity);
    rig_free(&r);
}

/* The retained state of a zone: its open alerts; the hash ignores the time, not a change. */
FW_TEST(zone_state)
{
    struct rig r;
    rig_init(&r, FW_FORMAT_JSON);
    uint64_t h0, h1, h2, h3;
    char *s = fw_dispatch_zone_state(r.cfg, r.e, 0, T0, &h0);
    ASSERT_STR_CONTAINS(s,
                        "\"zone\":\"z1\",\"name\":\"一号网格\",\"level\":null,\"open_alerts\":[]");
    free(s);
    smoke(&r, "s1", 420, 0);
    s = fw_dispatch_zone_state(r.cfg, r.e, 0, T0 + 1000, &h1);
    ASSERT_STR_CONTAINS(s, "\"open_alerts\":[{\"id\":\"gw-t:smoke_high:s1:1780300800000\","
                           "\"rule\":\"smoke_high\",\"node\":\"s1\","
                           "\"since\":\"2026-06-01T08:00:00Z\"}]");
    ASSERT_STR_CONTAINS(s, "\"updated\":\"2026-06-01T08:00:01Z\"");
    free(s);
    ASSERT_NE(h1, h0);
    s = fw_dispatch_zone_state(r.cfg, r.e, 0, T0 + 2000, &h2);
    free(s);
    ASSERT_EQ(h2, h1);
    ASSERT_EQ(fw_engine_ack(r.e, "gw-t:smoke_high:s1:1780300800000", "duty", T0 + 3000), 0);
    s = fw_dispatch_zone_state(r.cfg, r.e, 0, T0 + 3000, &h3);
    ASSERT_STR_CONTAINS(s, "\"acknowledged_by\":\"duty\"");
    free(s);
    ASSERT_NE(h3, h2);
    rig_free(&r);
}
