/* SPDX-License-Identifier: MIT */
/*
 * The pure part of an active/standby group (include/forestwatch/ha.h): who is active as members
 * come, go and fall silent; the group topics' messages and their bad forms; the set of digests
 * seen delivered; and the settle buffer, which gives the same inputs in the same order whatever
 * order they arrived in.
 */
#include "forestwatch/ha.h"
#include "forestwatch/util.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define DEAD 3000

FW_TEST(active_is_best_fresh_member)
{
    struct fw_ha_group *g = fw_ha_group_new("b", 100, DEAD, 0);
    /* At the start, before a peer can have been heard, nobody is known to be active. */
    ASSERT_TRUE(fw_ha_group_active(g, 0) == NULL);
    ASSERT_TRUE(!fw_ha_group_decided(g, 0));
    ASSERT_TRUE(!fw_ha_group_self_active(g, DEAD - 1));
    /* A better peer heard, not active yet: it is the one to be, also once self's start is past. */
    fw_ha_group_heard(g, "a", 200, 1, 0, 1000);
    ASSERT_TRUE(!fw_ha_group_decided(g, 1000));
    ASSERT_STR_EQ(fw_ha_group_active(g, 1000), "a");
    ASSERT_STR_EQ(fw_ha_group_active(g, DEAD + 500), "a");
    ASSERT_EQ(fw_ha_group_alive(g, DEAD + 500), 1);
    /* It claims it: the group is known. */
    fw_ha_group_heard(g, "a", 200, 1, 1, 1500);
    ASSERT_TRUE(fw_ha_group_decided(g, 1500));
    /* It falls silent: self takes over when it was not heard for DEAD. */
    ASSERT_TRUE(fw_ha_group_self_active(g, 1500 + DEAD));
    fw_ha_group_claim(g, 1);
    /* It comes back, not claiming (a restart): self stays active, whatever the priorities. */
    fw_ha_group_heard(g, "a", 200, 1, 0, 5000);
    ASSERT_STR_EQ(fw_ha_group_active(g, 5001), "b");
    /* Both claim it (after a split): the better one stays, self steps down. */
    fw_ha_group_heard(g, "a", 200, 1, 1, 5100);
    ASSERT_STR_EQ(fw_ha_group_active(g, 5100), "a");
    fw_ha_group_claim(g, 0);
    /* It says it is gone (a clean stop): self at once. */
    fw_ha_group_heard(g, "a", 0, 0, 0, 5200);
    ASSERT_TRUE(fw_ha_group_self_active(g, 5200));
    /* Nobody claims: the same priority goes to the smaller id; self's own heartbeat is not a
     * peer's. */
    fw_ha_group_heard(g, "c", 100, 1, 0, 6000);
    fw_ha_group_heard(g, "b", 999, 1, 1, 6000);
    ASSERT_STR_EQ(fw_ha_group_active(g, 6000), "b");
    fw_ha_group_heard(g, "a", 100, 1, 0, 6100);
    ASSERT_STR_EQ(fw_ha_group_active(g, 6100), "a");
    fw_ha_group_free(g);
}

FW_TEST(heartbeat_messages)
{
    char member[FW_CONFIG_MAX_ID + 1];
    int prio, alive, claims;
    const char *why = NULL;
    char *hb = fw_ha_heartbeat_json("gw-a", 150, 1, 1780286400000LL);
    ASSERT_STR_EQ(hb, "{\"member\":\"gw-a\",\"priority\":150,\"role\":\"active\","
                      "\"time\":\"2026-06-01T04:00:00Z\"}");
    ASSERT_EQ(fw_ha_heartbeat_parse(hb, strlen(hb), member, &prio, &alive, &claims, &why), 0);
    ASSERT_STR_EQ(member, "gw-a");
    ASSERT_EQ(prio, 150);
    ASSERT_EQ(alive, 1);
    ASSERT_EQ(claims, 1);
    free(hb);
    char *gone = fw_ha_gone_json("gw-b");
    ASSERT_EQ(fw_ha_heartbeat_parse(gone, strlen(gone), member, &prio, &alive, &claims, &why), 0);
    ASSERT_STR_EQ(member, "gw-b");
    ASSERT_EQ(alive, 0);
    free(gone);
    static const char *const bad[] = {
        "",
        "[]",
        "{\"priority\": 1}",
        "{\"member\": \"\", \"priority\": 1}",
        "{\"member\": \"a\"}",
        "{\"member\": \"a\", \"priority\": 1.5}",
        "{\"member\": \"a\", \"priority\": 1001}",
        "{\"member\": 7, \"priority\": 1}",
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++) {
        why = NULL;
        ASSERT_EQ(
            fw_ha_heartbeat_parse(bad[i], strlen(bad[i]), member, &prio, &alive, &claims, &why),
            -EINVAL);
        ASSERT_TRUE(why != NULL);
    }
}

FW_TEST(delivered_messages)
{
    const uint64_t d[] = {fw_ha_digest("forestry", "abc", 3), fw_ha_digest("emergency", "abc", 3),
                          0, UINT64_MAX};
    /* The route is part of a message's name; so is every byte. */
    ASSERT_TRUE(d[0] != d[1]);
    ASSERT_TRUE(fw_ha_digest("forestry", "abd", 3) != d[0]);
    ASSERT_TRUE(fw_ha_digest("forestr", "yabc", 4) != d[0]);
    char *json = fw_ha_delivered_json("gw-a", d, 4);
    char member[FW_CONFIG_MAX_ID + 1];
    uint64_t *got = NULL;
    size_t n = 0;
    const char *why = NULL;
    ASSERT_EQ(fw_ha_delivered_parse(json, strlen(json), member, &got, &n, &why), 0);
    ASSERT_STR_EQ(member, "gw-a");
    ASSERT_EQ(n, 4);
    for (size_t i = 0; i < 4; i++)
        ASSERT_TRUE(got[i] == d[i]);
    free(got);
    free(json);
    static const char *const bad[] = {"{\"member\": \"a\"}",
                                      "{\"member\": \"a\", \"delivered\": [\"xyz\"]}",
                                      "{\"member\": \"a\", \"delivered\": [\"00000000000000000\"]}",
                                      "{\"member\": \"a\", \"delivered\": [\"ABCDEF0123456789\"]}",
                                      "{\"member\": \"a\", \"delivered\": [1]}",
                                      "not json"};
    for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++)
        ASSERT_EQ(fw_ha_delivered_parse(bad[i], strlen(bad[i]), member, &got, &n, &why), -EINVAL);
}

FW_TEST(seen_set_is_bounded)
{
    struct fw_ha_seen *s = fw_ha_seen_new(100);
    for (uint64_t k = 1; k <= 1000; k++)
        fw_ha_seen_add(s, k * 7919, (int64_t)k);
    int64_t v = 0;
    /* The last 100 are kept, the older ones forgotten. */
    ASSERT_TRUE(fw_ha_seen_has(s, 1000 * 7919, &v) && v == 1000);
    ASSERT_TRUE(fw_ha_seen_has(s, 901 * 7919, &v) && v == 901);
    ASSERT_TRUE(!fw_ha_seen_has(s, 900 * 7919, NULL));
    fw_ha_seen_del(s, 950 * 7919);
    ASSERT_TRUE(!fw_ha_seen_has(s, 950 * 7919, NULL));
    ASSERT_TRUE(fw_ha_seen_has(s, 951 * 7919, NULL));
    fw_ha_seen_free(s);
}

static struct fw_ha_input reading(const char *station, const char *metric, double value, int64_t t)
{
    struct fw_ha_input in = {.kind = FW_HA_READING, .time_ms = t};
    fw_strlcpy(in.r.station, station, sizeof(in.r.station));
    fw_strlcpy(in.r.zone, "z1", sizeof(in.r.zone));
    in.r.metric = fw_metric_find(metric);
    in.r.value = value;
    in.r.time_ms = t;
    return in;
}

/* What a member's core is handed, one line per input, for inputs pushed in `order`. */
static char *settle_run(const struct fw_ha_input *v, const size_t *order, size_t n)
{
    struct fw_ha_settle *s = fw_ha_settle_new();
    for (size_t i = 0; i < n; i++)
        fw_ha_settle_push(s, &v[order[i]]);
    char *text = fw_xstrdup("");
    for (int64_t upto = 1000; upto <= 4000; upto += 1000) {
        const struct fw_ha_input *out;
        size_t k;
        fw_ha_settle_due(s, upto, &out, &k);
        for (size_t i = 0; i < k; i++) {
            char *t = fw_xasprintf("%s%lld@%lld %s %s %g\n", text, (long long)upto,
                                   (long long)out[i].time_ms,
                                   out[i].kind == FW_HA_ACK ? "ack" : out[i].r.station,
                                   out[i].kind == FW_HA_ACK ? out[i].ack.id : out[i].r.metric->name,
                                   out[i].kind == FW_HA_ACK ? 0.0 : out[i].r.value);
            free(text);
            text = t;
        }
    }
    FW_ASSERT(fw_ha_settle_len(s) == 0);
    fw_ha_settle_free(s);
    return text;
}

FW_TEST(settle_gives_one_order)
{
    struct fw_ha_input v[7] = {
        reading("s2", "smoke_ppm", 400, 1500), reading("s1", "smoke_ppm", 400, 1500),
        reading("s1", "co_ppm", 60, 1500),     reading("s1", "smoke_ppm", 20, 2500),
        reading("s1", "smoke_ppm", 10, 900),   reading("s1", "smoke_ppm", 9, 1500),
    };
    v[6] = (struct fw_ha_input){.kind = FW_HA_ACK, .time_ms = 1500};
    fw_strlcpy(v[6].ack.id, "gw:smoke_high:s1:1500", sizeof(v[6].ack.id));
    const size_t a[] = {0, 1, 2, 3, 4, 5, 6}, b[] = {6, 5, 4, 3, 2, 1, 0},
                 c[] = {3, 6, 1, 4, 0, 5, 2};
    char *x = settle_run(v, a, 7), *y = settle_run(v, b, 7), *z = settle_run(v, c, 7);
    ASSERT_STR_EQ(x, "1000@900 s1 smoke_ppm 10\n"
                     "2000@1500 s1 co_ppm 60\n"
                     "2000@1500 s1 smoke_ppm 9\n"
                     "2000@1500 s1 smoke_ppm 400\n"
                     "2000@1500 s2 smoke_ppm 400\n"
                     "2000@1500 ack gw:smoke_high:s1:1500 0\n"
                     "3000@2500 s1 smoke_ppm 20\n");
    ASSERT_STR_EQ(y, x);
    ASSERT_STR_EQ(z, x);
    free(x);
    free(y);
    free(z);
}

/* A joining member forgets its backlog: what is older than a time, nothing newer. */
FW_TEST(settle_drops_backlog)
{
    struct fw_ha_settle *s = fw_ha_settle_new();
    ASSERT_EQ(fw_ha_settle_drop(s, 5000), 0);
    const int64_t t[] = {3000, 4999, 5000, 7000};
    for (size_t i = 0; i < 4; i++) {
        struct fw_ha_input in = reading("s1", "smoke_ppm", 100 + (double)i, t[i]);
        fw_ha_settle_push(s, &in);
    }
    ASSERT_EQ(fw_ha_settle_drop(s, 5000), 2);
    ASSERT_EQ(fw_ha_settle_len(s), 2);
    const struct fw_ha_input *out;
    size_t n;
    fw_ha_settle_due(s, INT64_MAX, &out, &n);
    ASSERT_EQ(n, 2);
    ASSERT_TRUE(out[0].time_ms == 5000 && out[1].time_ms == 7000);
    fw_ha_settle_free(s);
}

/* Inputs that came late share their evaluation time: they keep the order of their own times, so
 * a smoke episode (above, then below) stays one, whatever order they arrived in. */
FW_TEST(late_inputs_keep_their_order)
{
    struct fw_ha_input v[2] = {reading("s1", "smoke_ppm", 12, 4200),
                               reading("s1", "smoke_ppm", 400, 4100)};
    v[0].time_ms = v[1].time_ms = 5001; /* both after a group clock at 5000 */
    for (int k = 0; k < 2; k++) {
        struct fw_ha_settle *s = fw_ha_settle_new();
        fw_ha_settle_push(s, &v[k]);
        fw_ha_settle_push(s, &v[1 - k]);
        const struct fw_ha_input *out;
        size_t n;
        fw_ha_settle_due(s, 6000, &out, &n);
        ASSERT_EQ(n, 2);
        ASSERT_TRUE(out[0].r.value == 400 && out[1].r.value == 12);
        fw_ha_settle_free(s);
    }
}
