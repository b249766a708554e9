/* SPDX-License-Identifier: MIT */
/*
 * The alert manager through the engine with a fake clock: repeats until acknowledged,
 * escalation of an unacknowledged severe alert at its time, updates on a material change,
 * inhibition by a confirmed fire, every later message pointing at the episode's first, the
 * reading of acknowledgement messages, and how long each message is in effect (CAP onset and
 * expires), with an alert said again when its message expires while it still holds.
 */
#include "forestwatch/engine.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"
#include "cfg_test.h"
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define T0 1780300800000LL
#define SEC 1000LL
#define MIN 60000LL
#define ENGINE15 "{\"eval_interval_ms\": 15000, \"lookback_ms\": 3600000}"

struct run {
    struct fw_config *cfg;
    struct fw_engine *e;
    struct fw_actions a;
};

static int run_init(struct run *r, const char *json)
{
    memset(r, 0, sizeof(*r));
    if (!(r->cfg = cfg_from_text(json)))
        return -1;
    r->e = fw_engine_new(r->cfg);
    fw_engine_tick(r->e, T0 - 1, &r->a);
    return 0;
}

static void run_free(struct run *r)
{
    fw_actions_free(&r->a);
    fw_engine_free(r->e);
    fw_config_free(r->cfg);
}

static void feed(struct run *r, const char *station, const char *metric, double v, int64_t t)
{
    struct fw_reading rd = {0};
    const struct fw_cfg_node *n = fw_config_node(r->cfg, station);
    fw_strlcpy(rd.station, n ? station : "", sizeof(rd.station));
    fw_strlcpy(rd.zone, n ? n->zone : station, sizeof(rd.zone));
    rd.metric = fw_metric_find(metric);
    rd.source = n ? FW_SOURCE_MQTT_NATIVE : FW_SOURCE_DERIVED;
    rd.value = v;
    rd.time_ms = t;
    fw_engine_feed(r->e, &rd, t, &r->a);
}

/* The kinds of the notifications on route `route`, as a string like "new,repeat,resolved". */
static const char *kinds(const struct run *r, const char *route)
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

#define RULE(name, body)                                                                           \
    "{\"name\": \"" name "\", \"category\": \"Fire\", \"routes\": [\"forestry\"], " body "}"

FW_TEST(repeats_until_acknowledged)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_BASE(RULE("smoke", "\"expr\": \"smoke_ppm > 300\", \"severity\": "
                                                  "\"Severe\", \"repeat_every\": \"2m\""),
                                    ENGINE15)),
              0);
    feed(&r, "s1", "smoke_ppm", 400, T0);
    fw_engine_tick(r.e, T0 + 5 * MIN, &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,repeat,repeat");
    const char *id = r.a.items[0].alert.id;
    ASSERT_EQ(fw_engine_ack(r.e, id, "duty-officer-7", T0 + 5 * MIN), 0);
    ASSERT_EQ(fw_engine_ack(r.e, id, "duty-officer-7", T0 + 5 * MIN), -EALREADY);
    fw_engine_tick(r.e, T0 + 20 * MIN, &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,repeat,repeat"); /* no more repeats */
    feed(&r, "s1", "smoke_ppm", 20, T0 + 21 * MIN);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,repeat,repeat,resolved");
    const struct fw_alert *res = &r.a.items[r.a.n - 1].alert;
    ASSERT_TRUE(res->acked);
    ASSERT_STR_EQ(res->acked_by, "duty-officer-7");
    ASSERT_EQ(res->seq, 4);
    /* Every message of the episode points at the first one. */
    for (size_t i = 0; i < r.a.n; i++) {
        ASSERT_STR_EQ(r.a.items[i].alert.id, id);
        ASSERT_EQ(r.a.items[i].alert.first_sent_ms, T0);
        ASSERT_EQ(r.a.items[i].alert.seq, i + 1);
    }
    ASSERT_EQ(r.a.items[1].alert.sent_ms, T0 + 2 * MIN);
    /* The episode is over: acknowledging it now finds nothing. */
    ASSERT_EQ(fw_engine_ack(r.e, id, "x", T0 + 22 * MIN), -ENOENT);
    ASSERT_EQ(fw_engine_ack(r.e, "gw:smoke:s1:1", "x", T0), -ENOENT);
    ASSERT_EQ(fw_engine_ack(r.e, "garbage", "x", T0), -ENOENT);
    run_free(&r);
}

#define ESCALATION                                                                                 \
    ", \"escalation\": [{\"min_severity\": \"Severe\", \"after\": \"10m\", \"routes\": "           \
    "[\"emergency\"]}]"

/* CFG_BASE with more top-level keys (EXTRA: ", \"key\": ...") spliced in after the rules. */
#define CFG_WITH(RULES, EXTRA)                                                                     \
    "{\"gateway\": {\"id\": \"gw\", \"status_broker\": \"b\"},"                                    \
    "\"brokers\": {\"b\": {\"host\": \"127.0.0.1\"}},"                                             \
    "\"zones\": {\"z1\": {\"name\": \"Zone 1\", \"forest_chief\": {\"name\": \"C1\"}},"            \
    "            \"z2\": {\"name\": \"Zone 2\", \"forest_chief\": {\"name\": \"C2\"}}},"           \
    "\"nodes\": {\"s1\": {\"zone\": \"z1\"}, \"s2\": {\"zone\": \"z1\"}, \"s3\": {\"zone\": "      \
    "\"z2\"}},"                                                                                    \
    "\"routes\": {\"forestry\": {\"broker\": \"b\", \"topic\": \"f\"},"                            \
    "             \"emergency\": {\"broker\": \"b\", \"topic\": \"e\"}},"                          \
    "\"engine\": " ENGINE15 ", \"rules\": [" RULES "]" EXTRA "}"

/* CFG_BASE with an escalation policy. */
#define CFG_ESC(RULES) CFG_WITH(RULES, ESCALATION)

FW_TEST(unacknowledged_severe_alert_escalates_at_its_time)
{
    struct run r;
    ASSERT_EQ(
        run_init(&r, CFG_ESC(RULE(
                         "smoke",
                         "\"expr\": \"smoke_ppm > 300\", \"severity\": "
                         "\"Severe\", \"urgency\": \"Expected\"") "," RULE("battery",
                                                                           "\"expr\": \"battery_v "
                                                                           "< 3.3\", \"severity\": "
                                                                           "\"Minor\""))),
        0);
    feed(&r, "s1", "smoke_ppm", 400, T0);
    feed(&r, "s2", "battery_v", 3.1, T0);
    fw_engine_tick(r.e, T0 + 9 * MIN + 59 * SEC, &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,new");
    ASSERT_STR_EQ(kinds(&r, "emergency"), "");
    fw_engine_tick(r.e, T0 + 10 * MIN, &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,new,escalate");
    ASSERT_STR_EQ(kinds(&r, "emergency"), "escalate"); /* the policy's route too */
    const struct fw_alert *x = &r.a.items[r.a.n - 1].alert;
    ASSERT_STR_EQ(x->rule, "smoke");
    ASSERT_EQ(x->urgency, FW_URG_IMMEDIATE); /* raised from Expected */
    ASSERT_EQ(x->sent_ms, T0 + 10 * MIN);
    /* Once: nothing more while it fires; the minor battery alert never escalates. */
    fw_engine_tick(r.e, T0 + 60 * MIN, &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,new,escalate");
    /* After the escalation, the end goes to the emergency route as well. */
    feed(&r, "s1", "smoke_ppm", 10, T0 + 61 * MIN);
    ASSERT_STR_EQ(kinds(&r, "emergency"), "escalate,resolved");
    run_free(&r);
}

FW_TEST(acknowledged_in_time_does_not_escalate)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_ESC(RULE("smoke", "\"expr\": \"smoke_ppm > 300\", \"severity\": "
                                                 "\"Extreme\""))),
              0);
    feed(&r, "s1", "smoke_ppm", 400, T0);
    ASSERT_EQ(fw_engine_ack(r.e, r.a.items[0].alert.id, "duty", T0 + 3 * MIN), 0);
    fw_engine_tick(r.e, T0 + 60 * MIN, &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new");
    ASSERT_STR_EQ(kinds(&r, "emergency"), "");
    run_free(&r);
}

FW_TEST(update_when_the_value_moves_materially)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_BASE(RULE("smoke", "\"expr\": \"smoke_ppm > 300\", \"severity\": "
                                                  "\"Severe\", \"update_delta\": 100"),
                                    ENGINE15)),
              0);
    feed(&r, "s1", "smoke_ppm", 400, T0);
    feed(&r, "s1", "smoke_ppm", 450, T0 + 10 * SEC); /* +50: not material */
    feed(&r, "s1", "smoke_ppm", 520, T0 + 20 * SEC); /* +120 from what was sent */
    feed(&r, "s1", "smoke_ppm", 560, T0 + 30 * SEC); /* +40 from 520 */
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,update");
    ASSERT_DBL_NEAR(r.a.items[1].alert.value, 520, 0);
    ASSERT_EQ(r.a.items[1].alert.seq, 2);
    run_free(&r);
}

FW_TEST(confirmed_fire_holds_back_danger_level_alerts_of_its_zone)
{
    struct run r;
    ASSERT_EQ(
        run_init(
            &r,
            CFG_BASE(
                RULE("two_smoke",
                     "\"expr\": \"count by (zone) (smoke_ppm > 300) "
                     ">= 2\", \"severity\": \"Extreme\", "
                     "\"inhibits\": [\"danger\"]") "," RULE("danger",
                                                            "\"expr\": \"fire_danger_level >= 4\", "
                                                            "\"severity\": \"Severe\""),
                ENGINE15)),
        0);
    feed(&r, "s1", "smoke_ppm", 400, T0);
    feed(&r, "s2", "smoke_ppm", 400, T0);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new");
    feed(&r, "z1", "fire_danger_level", 4, T0 + SEC); /* held back: a fire is confirmed */
    feed(&r, "z2", "fire_danger_level", 4, T0 + SEC); /* another zone: not held back */
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,new");
    ASSERT_STR_EQ(r.a.items[1].alert.zone, "z2");
    feed(&r, "s1", "smoke_ppm", 10, T0 + MIN); /* the fire alert ends */
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,new,resolved");
    fw_engine_tick(r.e, T0 + 2 * MIN, &r.a); /* the held-back danger alert now goes out */
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,new,resolved,new");
    ASSERT_STR_EQ(r.a.items[3].alert.rule, "danger");
    ASSERT_STR_EQ(r.a.items[3].alert.zone, "z1");
    ASSERT_EQ(r.a.items[3].alert.seq, 1);
    run_free(&r);
}

FW_TEST(held_back_all_along_ends_silently)
{
    struct run r;
    ASSERT_EQ(
        run_init(
            &r,
            CFG_BASE(
                RULE("two_smoke",
                     "\"expr\": \"count by (zone) (smoke_ppm > 300) "
                     ">= 2\", \"severity\": \"Extreme\", "
                     "\"inhibits\": [\"danger\"]") "," RULE("danger",
                                                            "\"expr\": \"fire_danger_level >= 4\", "
                                                            "\"severity\": \"Severe\""),
                ENGINE15)),
        0);
    feed(&r, "s1", "smoke_ppm", 400, T0);
    feed(&r, "s2", "smoke_ppm", 400, T0);
    feed(&r, "z1", "fire_danger_level", 4, T0 + SEC);
    feed(&r, "z1", "fire_danger_level", 2, T0 + 2 * SEC);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new");
    run_free(&r);
}

FW_TEST(ack_messages_are_read_or_refused_with_a_reason)
{
    struct fw_ack ack;
    const char *why;
    const char *ok = "{\"id\":\"gw:r:z:1\",\"by\":\"li\",\"time\":\"2026-06-01T16:00:00+08:00\"}";
    ASSERT_EQ(fw_ack_parse(ok, strlen(ok), 5, &ack, &why), 0);
    ASSERT_STR_EQ(ack.id, "gw:r:z:1");
    ASSERT_STR_EQ(ack.by, "li");
    ASSERT_EQ(ack.at_ms, 1780300800000LL);
    const char *no_time = "{\"id\":\"a\",\"by\":\"li\"}";
    ASSERT_EQ(fw_ack_parse(no_time, strlen(no_time), 5, &ack, &why), 0);
    ASSERT_EQ(ack.at_ms, 5);
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "{\"id\":\"a\"}",
        "{\"id\":1,\"by\":\"li\"}",
        "{\"id\":\"\",\"by\":\"li\"}",
        "{\"id\":\"a\",\"by\":\"li\",\"time\":\"yesterday\"}",
        "{\"id\":\"a\",\"by\":"
        "\"0123456789012345678901234567890123456789012345678901234567890123\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        ASSERT_EQ(fw_ack_parse(bad[i], strlen(bad[i]), 5, &ack, &why), -EINVAL);
        ASSERT_TRUE(why != NULL);
    }
    /* Too big to be an acknowledgement: refused unread. */
    char *big = fw_xcalloc(1, FW_ACK_MAX_BYTES + 2);
    memset(big, ' ', FW_ACK_MAX_BYTES + 1);
    ASSERT_EQ(fw_ack_parse(big, FW_ACK_MAX_BYTES + 1, 5, &ack, &why), -EINVAL);
    free(big);
}

/* ------------------------------------------------------------------------------------------ */
/* How long a message is in effect (CAP onset and expires), and saying it again               */
/* ------------------------------------------------------------------------------------------ */

/* The UTC ms of an RFC 3339 time (with its offset), for readable expectations. */
static int64_t at(const char *rfc3339)
{
    int64_t ms = -1;
    if (fw_time_parse(rfc3339, &ms) < 0)
        abort();
    return ms;
}

/* An alert of the config's rule `rule` in `zone`, its value measured and the episode begun at
 * `event_ms`. */
static void alert_of(struct fw_alert *a, const struct fw_config *cfg, size_t rule, const char *zone,
                     enum fw_alert_status status, int64_t event_ms)
{
    struct fw_rule_instance in = {0};
    fw_strlcpy(in.rule, cfg->rules[rule].name, sizeof(in.rule));
    fw_strlcpy(in.key, zone, sizeof(in.key));
    fw_strlcpy(in.zone, zone, sizeof(in.zone));
    in.fired_ms = in.value_ms = event_ms;
    in.value = in.trigger_value = 4;
    fw_alert_from_instance(a, cfg->gateway_id, &cfg->rules[rule], &in, status,
                           status == FW_ALERT_FIRING ? FW_CAUSE_CONDITION : FW_CAUSE_RECOVERED,
                           NAN);
}

/*
 * The rule of docs/cap.md "Expiry": a daily value's message ends with the value's local day (or
 * the sending day, when later); tomorrow's expected level is about tomorrow's local day, from
 * its first moment to its last; a resolved alert's for an hour after it is sent; anything else
 * for cap.expires_after_ms. Local days are the zone's: its model's offset (-05:00 for "w"),
 * else the CAP offset (+08:00 for "e").
 */
FW_TEST(validity_by_kind)
{
    static const char json[] =
        "{\"gateway\": {\"id\": \"gw\", \"status_broker\": \"b\"},"
        " \"brokers\": {\"b\": {\"host\": \"127.0.0.1\"}},"
        " \"cap\": {\"utc_offset_min\": 480, \"expires_after_ms\": 7200000},"
        " \"zones\": {"
        "   \"w\": {\"name\": \"West\", \"forest_chief\": {\"name\": \"C\"},"
        "          \"fire\": {\"stations\": [\"s1\"], \"utc_offset_min\": -300, \"lat\": 41}},"
        "   \"e\": {\"name\": \"East\", \"forest_chief\": {\"name\": \"D\"}}},"
        " \"nodes\": {\"s1\": {\"zone\": \"w\"}},"
        " \"routes\": {\"forestry\": {\"broker\": \"b\", \"topic\": \"f\"}},"
        " \"rules\": ["
        "   {\"name\": \"smoke\", \"expr\": \"smoke_ppm > 300\", \"severity\": \"Severe\","
        "    \"category\": \"Fire\", \"routes\": [\"forestry\"]},"
        "   {\"name\": \"level\", \"expr\": \"fire_danger_level >= 4\", \"severity\": \"Severe\","
        "    \"category\": \"Fire\", \"routes\": [\"forestry\"]},"
        "   {\"name\": \"tomorrow\", \"expr\": \"fire_danger_level_tomorrow >= 4\","
        "    \"severity\": \"Severe\", \"category\": \"Fire\", \"routes\": [\"forestry\"]}]}";
    struct fw_config *cfg = cfg_from_text(json);
    ASSERT_TRUE(cfg);
    struct fw_alert a;
    int64_t onset, expires;
    const int64_t t = at("2026-06-01T08:00:00Z"); /* 03:00 on the 1st at -05:00, 16:00 at +08:00 */

    /* Anything else: cap.expires_after_ms after it is sent. */
    alert_of(&a, cfg, 0, "w", FW_ALERT_FIRING, t);
    fw_alert_validity(cfg, &a, t + 5 * SEC, &onset, &expires);
    ASSERT_EQ(onset, t);
    ASSERT_EQ(expires, t + 5 * SEC + 2 * 60 * MIN);

    /* A danger level: the end of its local day, in the zone's own time. */
    alert_of(&a, cfg, 1, "w", FW_ALERT_FIRING, t);
    fw_alert_validity(cfg, &a, t + 60 * MIN, &onset, &expires);
    ASSERT_EQ(onset, t);
    ASSERT_EQ(expires, at("2026-06-02T00:00:00-05:00"));
    /* Sent on a later day (said again after midnight): the end of that day. */
    fw_alert_validity(cfg, &a, at("2026-06-02T00:00:15-05:00"), &onset, &expires);
    ASSERT_EQ(expires, at("2026-06-03T00:00:00-05:00"));
    alert_of(&a, cfg, 1, "e", FW_ALERT_FIRING, t);
    fw_alert_validity(cfg, &a, t, &onset, &expires);
    ASSERT_EQ(expires, at("2026-06-02T00:00:00+08:00"));

    /* Tomorrow's expected level: all of tomorrow, and only tomorrow. */
    alert_of(&a, cfg, 2, "e", FW_ALERT_FIRING, t);
    fw_alert_validity(cfg, &a, t, &onset, &expires);
    ASSERT_EQ(onset, at("2026-06-02T00:00:00+08:00"));
    ASSERT_EQ(expires, at("2026-06-03T00:00:00+08:00"));
    alert_of(&a, cfg, 2, "w", FW_ALERT_FIRING, t);
    fw_alert_validity(cfg, &a, t, &onset, &expires);
    ASSERT_EQ(onset, at("2026-06-02T00:00:00-05:00"));
    ASSERT_EQ(expires, at("2026-06-03T00:00:00-05:00"));

    /* Resolved, whatever the kind: an hour after it is sent. */
    for (size_t rule = 0; rule < 3; rule++) {
        alert_of(&a, cfg, rule, "e", FW_ALERT_RESOLVED, t);
        fw_alert_validity(cfg, &a, t + 3 * 60 * MIN, &onset, &expires);
        ASSERT_EQ(onset, t);
        ASSERT_EQ(expires, t + 4 * 60 * MIN);
    }
    fw_config_free(cfg);
}

/*
 * An alert that still holds when its message expires is said again (an Update), acknowledged
 * or not: receivers that drop expired messages would otherwise take it for over. Each Update
 * goes out at the first evaluation at or after the expiry of the one before.
 */
FW_TEST(still_firing_is_said_again_when_its_message_expires)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_WITH(RULE("smoke", "\"expr\": \"smoke_ppm > 300\", \"severity\": "
                                                  "\"Severe\""),
                                    ", \"cap\": {\"expires_after_ms\": 7200000}")),
              0);
    feed(&r, "s1", "smoke_ppm", 400, T0);
    ASSERT_EQ(fw_engine_ack(r.e, r.a.items[0].alert.id, "duty", T0 + MIN), 0);
    fw_engine_tick(r.e, T0 + 2 * 60 * MIN - SEC, &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new");
    fw_engine_tick(r.e, T0 + 5 * 60 * MIN, &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,update,update");
    ASSERT_EQ(r.a.items[1].alert.sent_ms, T0 + 2 * 60 * MIN);
    ASSERT_EQ(r.a.items[2].alert.sent_ms, T0 + 4 * 60 * MIN);
    ASSERT_EQ(r.a.items[2].alert.seq, 3);
    ASSERT_TRUE(r.a.items[2].alert.acked);
    ASSERT_EQ(r.a.items[2].alert.cause, FW_CAUSE_CONDITION);
    feed(&r, "s1", "smoke_ppm", 20, T0 + 5 * 60 * MIN + SEC);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,update,update,resolved");
    run_free(&r);
}

/*
 * A danger level held into its next day is said again at the local midnight, once a day,
 * however often the engine evaluates; the same level computed again at noon says nothing new.
 */
FW_TEST(danger_level_is_said_again_each_local_day)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_WITH(RULE("danger", "\"expr\": \"fire_danger_level >= 4\", "
                                                   "\"severity\": \"Severe\""),
                                    ", \"cap\": {\"utc_offset_min\": 480}")),
              0);
    feed(&r, "z1", "fire_danger_level", 4, at("2026-06-01T12:00:00+08:00"));
    fw_engine_tick(r.e, at("2026-06-01T23:59:59+08:00"), &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new");
    fw_engine_tick(r.e, at("2026-06-02T11:00:00+08:00"), &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,update");
    ASSERT_EQ(r.a.items[1].alert.sent_ms, at("2026-06-02T00:00:00+08:00"));
    feed(&r, "z1", "fire_danger_level", 4, at("2026-06-02T12:00:00+08:00"));
    fw_engine_tick(r.e, at("2026-06-03T11:00:00+08:00"), &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,update,update");
    ASSERT_EQ(r.a.items[2].alert.sent_ms, at("2026-06-03T00:00:00+08:00"));
    run_free(&r);
}

/*
 * A forecast is about a day. When the model moves on at midnight and the next day is expected at
 * the same level, that day is announced at once (an update about it), not when the message about
 * the day before expires. When the next day is milder, the all-clear takes effect only when the
 * day just begun ends: that day keeps what was announced for it. A forecast made milder for the
 * same day clears at once.
 */
FW_TEST(forecast_for_a_new_day_is_announced_at_once)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_WITH(RULE("tomorrow", "\"expr\": \"fire_danger_level_tomorrow >= "
                                                     "4\", \"severity\": \"Severe\""),
                                    ", \"cap\": {\"utc_offset_min\": 480}")),
              0);
    int64_t onset, expires;
    feed(&r, "z1", "fire_danger_level_tomorrow", 4, at("2026-06-01T18:00:00+08:00"));
    feed(&r, "z1", "fire_danger_level_tomorrow", 4, at("2026-06-02T00:00:00.500+08:00"));
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,update");
    fw_alert_validity(r.cfg, &r.a.items[1].alert, r.a.items[1].alert.sent_ms, &onset, &expires);
    ASSERT_EQ(r.a.items[1].alert.sent_ms, at("2026-06-02T00:00:00.500+08:00"));
    ASSERT_EQ(onset, at("2026-06-03T00:00:00+08:00"));
    ASSERT_EQ(expires, at("2026-06-04T00:00:00+08:00"));
    /* Nothing more on the same day. */
    fw_engine_tick(r.e, at("2026-06-02T20:00:00+08:00"), &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,update");
    /* The day after is milder: the all-clear begins when 06-03, announced at level 4, ends. */
    feed(&r, "z1", "fire_danger_level_tomorrow", 1, at("2026-06-03T00:00:00.500+08:00"));
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,update,resolved");
    fw_alert_validity(r.cfg, &r.a.items[2].alert, r.a.items[2].alert.sent_ms, &onset, &expires);
    ASSERT_EQ(onset, at("2026-06-04T00:00:00+08:00"));
    ASSERT_EQ(expires, at("2026-06-04T01:00:00+08:00"));
    /* A forecast for the same day made milder clears at once. */
    feed(&r, "z1", "fire_danger_level_tomorrow", 5, at("2026-06-05T17:00:00+08:00"));
    feed(&r, "z1", "fire_danger_level_tomorrow", 2, at("2026-06-05T19:00:00+08:00"));
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new,update,resolved,new,resolved");
    fw_alert_validity(r.cfg, &r.a.items[4].alert, r.a.items[4].alert.sent_ms, &onset, &expires);
    ASSERT_LE(onset, r.a.items[4].alert.sent_ms);
    ASSERT_EQ(expires, at("2026-06-05T20:00:00+08:00"));
    run_free(&r);
}

/*
 * Tomorrow's expected level is not said again once its day is over: such a message would be
 * expired when sent, and would go out at every evaluation. (The fire model replaces the value
 * at midnight, which normally ends the alert first.)
 */
FW_TEST(tomorrow_is_not_said_again_after_its_day)
{
    struct run r;
    ASSERT_EQ(run_init(&r, CFG_WITH(RULE("tomorrow", "\"expr\": \"fire_danger_level_tomorrow >= "
                                                     "4\", \"severity\": \"Severe\""),
                                    ", \"cap\": {\"utc_offset_min\": 480}")),
              0);
    feed(&r, "z1", "fire_danger_level_tomorrow", 4, at("2026-06-01T18:00:00+08:00"));
    fw_engine_tick(r.e, at("2026-06-05T00:00:00+08:00"), &r.a);
    ASSERT_STR_EQ(kinds(&r, "forestry"), "new");
    run_free(&r);
}
