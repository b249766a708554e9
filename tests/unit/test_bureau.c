/* SPDX-License-Identifier: MIT */
/*
 * The meteorology bureau's published level as a zone model (gateway/bureau.c): it stands in for
 * the computed level of its day, comes into force at the day's start (or when it is issued), goes
 * back to the computed level when its day ends without a successor, says tomorrow's level, keeps
 * the latest issue of a day, refuses what it cannot use, and saves and restores exactly.
 */
#include "forestwatch/bureau.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"
#include "test.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS 3600000LL
#define OFF 480 /* +08:00 */

static int64_t day0(void)
{
    return fw_time__days_from_civil(2026, 6, 1);
}

/* The UTC time of local hour `h` (may exceed 24) of day0 + `d`. */
static int64_t at(int d, int h)
{
    return fw_time__local_day_start(day0() + d, OFF) + h * HOUR_MS;
}

static struct fw_bureau *build(void)
{
    struct fw_bureau_zone z[] = {{"a", OFF}, {"b", OFF}};
    struct fw_bureau *m = NULL;
    FW_ASSERT(fw_bureau_new(z, 2, &m) == 0);
    return m;
}

/* A computed level of zone `zone` timed `t`, as a zone model hands it over. */
static struct fw_reading computed(const char *zone, double v, int64_t t)
{
    struct fw_reading r = {0};
    r.source = FW_SOURCE_DERIVED;
    fw_strlcpy(r.zone, zone, sizeof(r.zone));
    r.metric = fw_metric_find("fire_danger_level");
    r.value = v;
    r.time_ms = t;
    return r;
}

/* The readings of one tick as "zone metric value @local-hour-of-day0" lines. */
static void tick(struct fw_bureau *m, int64_t now, char *text, size_t size)
{
    struct fw_bureau_out out = {0};
    size_t n = fw_bureau_tick(m, now, &out);
    text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(text);
        snprintf(text + len, size - len, "%s %s %g @%lld\n", out.v[i].zone, out.v[i].metric->name,
                 out.v[i].value, (long long)((out.v[i].time_ms - at(0, 0)) / 60000));
    }
    fw_bureau_out_free(&out);
}

FW_TEST(stands_in)
{
    struct fw_bureau *m = build();
    ASSERT_EQ(fw_bureau_level(m, "a", day0(), at(-1, 17), 2), 0);
    struct fw_reading r = computed("a", 4, at(0, 12)); /* an FWI level at the zone's noon */
    ASSERT_EQ(fw_bureau_stand_in(m, &r), 1);
    ASSERT_DBL_NEAR(r.value, 2, 0);
    r = computed("a", 4, at(1, 0)); /* the next day: none published */
    ASSERT_EQ(fw_bureau_stand_in(m, &r), 0);
    ASSERT_DBL_NEAR(r.value, 4, 0);
    r = computed("b", 5, at(0, 12)); /* another zone */
    ASSERT_EQ(fw_bureau_stand_in(m, &r), 0);
    ASSERT_DBL_NEAR(r.value, 5, 0);
    r = computed("x", 5, at(0, 12));
    ASSERT_EQ(fw_bureau_stand_in(m, &r), 0);
    struct fw_bureau_state st;
    ASSERT_EQ(fw_bureau_zone_state(m, "b", &st), 0);
    ASSERT_DBL_NEAR(st.computed, 5, 0);
    ASSERT_EQ(fw_bureau_zone_state(m, "x", &st), -ENOENT);
    fw_bureau_free(m);
}

/* In force at the day's start when issued before it, at the issue when issued during it; the
 * next day's level as tomorrow's; each said once; back to the computed level after its day. */
FW_TEST(days)
{
    struct fw_bureau *m = build();
    char text[1024];
    ASSERT_EQ(fw_bureau_level(m, "a", day0(), at(-1, 17), 3), 0);
    ASSERT_EQ(fw_bureau_level(m, "a", day0() + 1, at(-1, 17), 4), 0);
    tick(m, at(0, 0) + 30000, text, sizeof(text));
    ASSERT_STR_EQ(text, "a bureau_danger_level 3 @0\n"
                        "a fire_danger_level 3 @0\n"
                        "a bureau_danger_level_tomorrow 4 @0\n");
    struct fw_bureau_state st;
    ASSERT_EQ(fw_bureau_zone_state(m, "a", &st), 0);
    ASSERT_EQ(st.in_force, 3);
    ASSERT_TRUE(isnan(st.computed));
    tick(m, at(0, 1), text, sizeof(text));
    ASSERT_STR_EQ(text, "");
    /* the zone's model computes 5 for the day: it is noted, the bureau's level stays */
    struct fw_reading r = computed("a", 5, at(0, 1));
    ASSERT_EQ(fw_bureau_stand_in(m, &r), 1);
    ASSERT_DBL_NEAR(r.value, 3, 0);
    /* a revision of today's level during the day, in force from its issue */
    ASSERT_EQ(fw_bureau_level(m, "a", day0(), at(0, 9), 2), 0);
    tick(m, at(0, 9) + 1000, text, sizeof(text));
    ASSERT_STR_EQ(text, "a bureau_danger_level 2 @540\n"
                        "a fire_danger_level 2 @540\n");
    /* the next day: tomorrow's level is today's, and nothing is published after it */
    tick(m, at(1, 0) + 1000, text, sizeof(text));
    ASSERT_STR_EQ(text, "a bureau_danger_level 4 @1440\n"
                        "a fire_danger_level 4 @1440\n"
                        "a bureau_danger_level_tomorrow 0 @1440\n");
    /* the zone's noon level of that day is the bureau's too */
    r = computed("a", 5, at(1, 12));
    ASSERT_EQ(fw_bureau_stand_in(m, &r), 1);
    ASSERT_DBL_NEAR(r.value, 4, 0);
    /* the day after: the bureau's day is over, the computed level is the zone's again */
    tick(m, at(2, 0) + 1000, text, sizeof(text));
    ASSERT_STR_EQ(text, "a fire_danger_level 5 @2880\n");
    ASSERT_EQ(fw_bureau_zone_state(m, "a", &st), 0);
    ASSERT_EQ(st.in_force, 0);
    ASSERT_DBL_NEAR(st.computed, 5, 0);
    tick(m, at(3, 0) + 1000, text, sizeof(text));
    ASSERT_STR_EQ(text, "");
    fw_bureau_free(m);
}

FW_TEST(refusals)
{
    struct fw_bureau *m = build();
    char text[1024];
    ASSERT_EQ(fw_bureau_level(m, "x", day0(), at(0, 0), 3), -ENOENT);
    ASSERT_EQ(fw_bureau_level(m, "a", day0(), at(0, 0), 0), -EINVAL);
    ASSERT_EQ(fw_bureau_level(m, "a", day0(), at(0, 0), 6), -EINVAL);
    ASSERT_EQ(fw_bureau_level(m, "a", day0(), at(0, 8), 3), 0);
    /* an older issue for the same day does not replace a later one */
    ASSERT_EQ(fw_bureau_level(m, "a", day0(), at(0, 7), 1), -EALREADY);
    tick(m, at(0, 9), text, sizeof(text));
    ASSERT_STR_CONTAINS(text, "a bureau_danger_level 3 @480\n");
    /* once the zone's day is known, an earlier day is past */
    ASSERT_EQ(fw_bureau_level(m, "a", day0() - 1, at(0, 9), 3), -ERANGE);
    for (int d = 1; d < FW_BUREAU_MAX_DAYS; d++)
        ASSERT_EQ(fw_bureau_level(m, "a", day0() + d, at(0, 9), 1), 0);
    ASSERT_EQ(fw_bureau_level(m, "a", day0() + 9, at(0, 9), 1), -ENOSPC);
    fw_bureau_free(m);
}

/* A restored model says what the one that never stopped says. */
FW_TEST(save_restore)
{
    struct fw_bureau *m = build(), *m2 = build();
    char a[1024], b[1024];
    ASSERT_EQ(fw_bureau_level(m, "a", day0(), at(-1, 17), 3), 0);
    ASSERT_EQ(fw_bureau_level(m, "b", day0() + 1, at(-1, 17), 5), 0);
    tick(m, at(0, 0) + 1000, a, sizeof(a));
    struct fw_reading r = computed("a", 1, at(0, 1));
    fw_bureau_stand_in(m, &r);
    char *json = NULL;
    ASSERT_EQ(fw_bureau_save(m, &json), 0);
    ASSERT_EQ(fw_bureau_restore(m2, json), 0);
    free(json);
    tick(m, at(1, 0) + 1000, a, sizeof(a));
    tick(m2, at(1, 0) + 1000, b, sizeof(b));
    ASSERT_STR_EQ(b, a);
    ASSERT_STR_CONTAINS(a, "a fire_danger_level 1 @1440\n");
    ASSERT_STR_CONTAINS(a, "b fire_danger_level 5 @1440\n");
    /* a broken text changes nothing */
    ASSERT_EQ(fw_bureau_restore(m2, "{\"version\":1,\"zones\":[{\"id\":\"a\",\"levels\":7}]}"),
              -EINVAL);
    ASSERT_EQ(fw_bureau_restore(m2, "{\"version\":1,\"zones\":[{\"id\":\"a\",\"levels\":"
                                    "[[1,2,9]],\"today\":null,\"said\":[null,0,null,0],"
                                    "\"computed\":[null,null]}]}"),
              -EINVAL);
    fw_bureau_free(m);
    fw_bureau_free(m2);
}
