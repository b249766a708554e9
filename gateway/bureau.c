/* SPDX-License-Identifier: MIT */
/*
 * The meteorology bureau's published fire weather level per zone and local day
 * (include/forestwatch/bureau.h). Each zone holds a few dated levels, the latest issue of each
 * day winning, and remembers what it last said, so that a tick emits only what changed: the day's
 * level when the day begins (or when a level for the current day arrives), the computed level
 * again when the bureau's day ends without a successor, and tomorrow's level when it changes.
 * Everything is fixed-size, so the feed cannot make the model grow.
 */
#include "forestwatch/bureau.h"

#include "forestwatch/modelutil.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

#define MAX_SAVED_BYTES (1u * 1024 * 1024)
#define NONE INT64_MIN /* fw_modelutil_get_int() reads a null as it */

struct held {
    int64_t day, issued_ms;
    int level;
};

struct zone_state {
    struct held lv[FW_BUREAU_MAX_DAYS]; /* by day */
    size_t n;
    int64_t today; /* the zone's local day at the last tick; NONE before the first */
    int64_t said_day, said_tomorrow_day;
    int said, said_tomorrow; /* the levels last emitted for those days (0: none) */
    double computed;         /* the last computed fire_danger_level; NAN: none seen */
    int64_t computed_ms;
};

struct zone {
    struct fw_bureau_zone p;
    struct zone_state s;
};

struct fw_bureau {
    struct zone *zones;
    size_t nzones;
    const struct fw_metric *level, *today, *tomorrow;
};

static void state_init(struct zone_state *s)
{
    memset(s, 0, sizeof(*s));
    s->today = s->said_day = s->said_tomorrow_day = s->computed_ms = NONE;
    s->computed = NAN;
}

int fw_bureau_new(const struct fw_bureau_zone *zones, size_t n, struct fw_bureau **out)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(zones[i].id, zones[j].id) == 0)
                return -EINVAL;
    struct fw_bureau *m = fw_xcalloc(1, sizeof(*m));
    m->zones = fw_xcalloc(n ? n : 1, sizeof(*m->zones));
    m->nzones = n;
    for (size_t i = 0; i < n; i++) {
        m->zones[i].p = zones[i];
        state_init(&m->zones[i].s);
    }
    m->level = fw_metric_find("fire_danger_level");
    m->today = fw_metric_find("bureau_danger_level");
    m->tomorrow = fw_metric_find("bureau_danger_level_tomorrow");
    FW_ASSERT(m->level && m->today && m->tomorrow); /* reading.c's table lists them */
    *out = m;
    return 0;
}

void fw_bureau_free(struct fw_bureau *m)
{
    if (!m)
        return;
    free(m->zones);
    free(m);
}

void fw_bureau_out_free(struct fw_bureau_out *o)
{
    free(o->v);
    memset(o, 0, sizeof(*o));
}

static struct zone *zone_find(const struct fw_bureau *m, const char *id)
{
    for (size_t i = 0; i < m->nzones; i++)
        if (strcmp(m->zones[i].p.id, id) == 0)
            return &m->zones[i];
    return NULL;
}

static const struct held *held_on(const struct zone_state *s, int64_t day)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->lv[i].day == day)
            return &s->lv[i];
    return NULL;
}

static int64_t day_start(const struct zone *z, int64_t day)
{
    return fw_time__local_day_start(day, z->p.utc_offset_min);
}

int fw_bureau_level(struct fw_bureau *m, const char *zone, int64_t day, int64_t issued_ms,
                    int level)
{
    struct zone *z = zone_find(m, zone);
    if (!z)
        return -ENOENT;
    if (level < 1 || level > 5)
        return -EINVAL;
    struct zone_state *s = &z->s;
    if (s->today != NONE && day < s->today)
        return -ERANGE;
    struct held h = {day, issued_ms, level};
    size_t i = 0;
    while (i < s->n && s->lv[i].day < day)
        i++;
    if (i < s->n && s->lv[i].day == day) {
        if (s->lv[i].issued_ms > issued_ms)
            return -EALREADY;
        s->lv[i] = h;
        return 0;
    }
    if (i == FW_BUREAU_MAX_DAYS)
        return -ENOSPC;
    /* A nearer day pushes the farthest one out when every place is taken. */
    size_t n = s->n < FW_BUREAU_MAX_DAYS ? s->n : s->n - 1;
    memmove(&s->lv[i + 1], &s->lv[i], (n - i) * sizeof(s->lv[0]));
    s->lv[i] = h;
    s->n = n + 1;
    return 0;
}

int fw_bureau_stand_in(struct fw_bureau *m, struct fw_reading *r)
{
    struct zone *z = zone_find(m, r->zone);
    if (!z)
        return 0;
    z->s.computed = r->value;
    z->s.computed_ms = r->time_ms;
    const struct held *h = held_on(&z->s, fw_time__local_day(r->time_ms, z->p.utc_offset_min));
    if (!h)
        return 0;
    r->value = h->level;
    return 1;
}

static void emit(struct fw_bureau_out *out, const struct zone *z, const struct fw_metric *metric,
                 double v, int64_t t)
{
    fw_modelutil_emit(&out->v, &out->n, &out->cap, z->p.id, metric, v, t);
}

static void zone_tick(struct fw_bureau *m, struct zone *z, int64_t now, struct fw_bureau_out *out)
{
    struct zone_state *s = &z->s;
    int64_t today = fw_time__local_day(now, z->p.utc_offset_min);
    s->today = today;
    size_t keep = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->lv[i].day >= today)
            s->lv[keep++] = s->lv[i];
    s->n = keep;

    const struct held *h = held_on(s, today);
    if (h && (s->said_day != today || s->said != h->level)) {
        int64_t t = h->issued_ms > day_start(z, today) ? h->issued_ms : day_start(z, today);
        emit(out, z, m->today, h->level, t);
        emit(out, z, m->level, h->level, t);
        s->said_day = today;
        s->said = h->level;
    } else if (!h && s->said && s->said_day != today) {
        /* The bureau's day is over and it published none for this one: the computed level is
         * the zone's again, if the engine would still read it. */
        int64_t t = day_start(z, today);
        if (!isnan(s->computed) && s->computed_ms > t - FW_METRIC_ZONE_LOOKBACK_MS)
            emit(out, z, m->level, s->computed, t);
        s->said = 0;
        s->said_day = today;
    }

    const struct held *next = held_on(s, today + 1);
    int level = next ? next->level : 0;
    if (level == s->said_tomorrow && (s->said_tomorrow_day == today + 1 || level == 0))
        return; /* unchanged, or still nothing to say */
    emit(out, z, m->tomorrow, level, now);
    s->said_tomorrow = level;
    s->said_tomorrow_day = today + 1;
}

size_t fw_bureau_tick(struct fw_bureau *m, int64_t now_ms, struct fw_bureau_out *out)
{
    size_t before = out->n;
    for (size_t i = 0; i < m->nzones; i++)
        zone_tick(m, &m->zones[i], now_ms, out);
    return out->n - before;
}

int fw_bureau_zone_state(const struct fw_bureau *m, const char *zone, struct fw_bureau_state *st)
{
    const struct zone *z = zone_find(m, zone);
    if (!z)
        return -ENOENT;
    st->in_force = z->s.said_day == z->s.today ? z->s.said : 0;
    st->computed = z->s.computed;
    return 0;
}

size_t fw_bureau_held(const struct fw_bureau *m, const char *zone, int64_t *day, int *level,
                      size_t max)
{
    const struct zone *z = zone_find(m, zone);
    if (!z)
        return 0;
    for (size_t i = 0; i < z->s.n && i < max; i++) {
        day[i] = z->s.lv[i].day;
        level[i] = z->s.lv[i].level;
    }
    return z->s.n;
}

/* ------------------------------------------------------------------------------------------ */
/* Save and restore                                                                            */
/* ------------------------------------------------------------------------------------------ */

int fw_bureau_save(const struct fw_bureau *m, char **json)
{
    cJSON *zones;
    cJSON *root = fw_modelutil_saved_new(&zones);
    for (size_t i = 0; i < m->nzones; i++) {
        const struct zone *z = &m->zones[i];
        const struct zone_state *s = &z->s;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", z->p.id);
        cJSON *lv = cJSON_AddArrayToObject(o, "levels");
        for (size_t k = 0; k < s->n; k++) {
            cJSON *e = cJSON_CreateArray();
            fw_modelutil_add_int(e, NULL, s->lv[k].day);
            fw_modelutil_add_int(e, NULL, s->lv[k].issued_ms);
            fw_modelutil_add_int(e, NULL, s->lv[k].level);
            cJSON_AddItemToArray(lv, e);
        }
        fw_modelutil_add_opt(o, "today", s->today);
        cJSON *said = cJSON_AddArrayToObject(o, "said");
        fw_modelutil_add_opt(said, NULL, s->said_day);
        fw_modelutil_add_int(said, NULL, s->said);
        fw_modelutil_add_opt(said, NULL, s->said_tomorrow_day);
        fw_modelutil_add_int(said, NULL, s->said_tomorrow);
        cJSON *computed = cJSON_AddArrayToObject(o, "computed");
        fw_modelutil_add_dbl(computed, NULL, s->computed);
        fw_modelutil_add_opt(computed, NULL, s->computed_ms);
        cJSON_AddItemToArray(zones, o);
    }
    *json = fw_modelutil_saved_print(root);
    return 0;
}

static int is_tuple(const cJSON *a, int n)
{
    return cJSON_IsArray(a) && cJSON_GetArraySize(a) == n;
}

static int get_opt(const cJSON *a, int i, int64_t *out)
{
    return fw_modelutil_get_int(cJSON_GetArrayItem(a, i), 1, INT64_MIN + 1, INT64_MAX, out);
}

static int restore_zone(const cJSON *o, struct zone_state *s)
{
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(o, "levels");
    const cJSON *said = cJSON_GetObjectItemCaseSensitive(o, "said");
    const cJSON *computed = cJSON_GetObjectItemCaseSensitive(o, "computed");
    int64_t level, tlevel;
    if (!cJSON_IsArray(lv) || cJSON_GetArraySize(lv) > FW_BUREAU_MAX_DAYS ||
        fw_modelutil_get_int(cJSON_GetObjectItemCaseSensitive(o, "today"), 1, INT32_MIN, INT32_MAX,
                             &s->today) < 0 ||
        !is_tuple(said, 4) || get_opt(said, 0, &s->said_day) < 0 ||
        fw_modelutil_get_int(cJSON_GetArrayItem(said, 1), 0, 0, 5, &level) < 0 ||
        get_opt(said, 2, &s->said_tomorrow_day) < 0 ||
        fw_modelutil_get_int(cJSON_GetArrayItem(said, 3), 0, 0, 5, &tlevel) < 0 ||
        !is_tuple(computed, 2) ||
        fw_modelutil_get_dbl(cJSON_GetArrayItem(computed, 0), 1, &s->computed) < 0 ||
        get_opt(computed, 1, &s->computed_ms) < 0)
        return -EINVAL;
    s->said = (int)level;
    s->said_tomorrow = (int)tlevel;
    s->n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, lv)
    {
        struct held h;
        int64_t l;
        if (!is_tuple(e, 3) ||
            fw_modelutil_get_int(cJSON_GetArrayItem(e, 0), 0, INT32_MIN, INT32_MAX, &h.day) < 0 ||
            fw_modelutil_get_int(cJSON_GetArrayItem(e, 1), 0, INT64_MIN + 1, INT64_MAX,
                                 &h.issued_ms) < 0 ||
            fw_modelutil_get_int(cJSON_GetArrayItem(e, 2), 0, 1, 5, &l) < 0 ||
            (s->n && h.day <= s->lv[s->n - 1].day))
            return -EINVAL;
        h.level = (int)l;
        s->lv[s->n++] = h;
    }
    return 0;
}

static void init_cb(void *state)
{
    state_init(state);
}

static int restore_cb(const cJSON *o, const void *zone, void *state)
{
    (void)zone;
    return restore_zone(o, state);
}

int fw_bureau_restore(struct fw_bureau *m, const char *json)
{
    const struct fw_modelutil_zones z = {
        .v = m->zones,
        .n = m->nzones,
        .size = sizeof(*m->zones),
        .id_off = offsetof(struct zone, p.id),
        .state_off = offsetof(struct zone, s),
        .state_size = sizeof(struct zone_state),
        .init = init_cb,
        .restore = restore_cb,
    };
    return fw_modelutil_restore_zones(json, MAX_SAVED_BYTES, &z);
}
