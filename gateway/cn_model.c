/* SPDX-License-Identifier: MIT */
/*
 * The national forest fire weather rating as a per-zone daily model (include/forestwatch/
 * cnmodel.h). Each zone keeps, per station (and its fallback), the rain in the shared 15-minute
 * ring (stations.c) and, for the last few local days, each quantity's extreme and the hours that
 * had a reading. At the day's close it takes the stations' extremes that cover at least
 * min_hours hours (a station heard only in the afternoon would give a minimum humidity far too
 * high), averages them with the fallback standing in, steps the rain state with the day's rain,
 * and rates the day with fw_cnr_rate(). Everything is fixed-size, so readings cannot make the
 * model grow, and the state is plain numbers, so it saves to JSON and restores exactly.
 */
#include "forestwatch/cnmodel.h"

#include "forestwatch/modelutil.h"
#include "forestwatch/stations.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

#define MIN_MS 60000LL
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define MAX_SAVED_BYTES (4u * 1024 * 1024)
/* Days buffered per station: the day being closed, today and one ahead for a fast clock. */
#define NDAYSLOTS 4
#define NONE INT64_MIN /* fw_modelutil_get_int() reads a null as it */
#define NPLACES (FW_CNM_MAX_STATIONS + 1)

enum quantity { Q_TMAX, Q_RHMIN, Q_WMAX, Q__COUNT };
static const char *const quantity_metrics[Q__COUNT] = {"air_temp_c", "rel_humidity_pct",
                                                       "wind_speed_ms"};

struct dayslot {
    int64_t day; /* NONE when empty */
    double v[Q__COUNT];
    uint32_t hours[Q__COUNT]; /* bit h: a reading in local hour h */
};

struct place {
    struct fw_stations_rain rain;
    struct dayslot days[NDAYSLOTS];
};

struct forecast {
    int64_t day, issued_ms;
    double tmax, rh, wind, rain;
};

struct zone_state {
    int64_t next_day; /* the next local day to rate; NONE until the first tick */
    struct fw_cnr_state rain;
    int64_t last_day;
    int last_missing;
    struct fw_cnr_result last;
    /* The latest phenology_class reading: its class, local day and time (NONE: none). */
    int phen_class;
    int64_t phen_day, phen_t;
    struct forecast fc[FW_CNM_MAX_FORECASTS];
    size_t nfc;
    int64_t tomorrow_day;
    int tomorrow_level;
    int tomorrow_dirty; /* not saved: set on restore */
    struct place places[NPLACES];
};

struct zone {
    struct fw_cnm_zone p;
    size_t nplaces;
    int64_t off; /* ms */
    struct zone_state s;
};

enum out_index {
    O_INDEX,
    O_A,
    O_B,
    O_C,
    O_D,
    O_E,
    O_LEVEL,
    O_MISSING,
    O_TOMORROW,
    O_ZONE_LEVEL,
    O_ZONE_TOMORROW,
};
static const char *const out_names[] = {"cn_rating_index",
                                        "cn_rating_a",
                                        "cn_rating_b",
                                        "cn_rating_c",
                                        "cn_rating_d",
                                        "cn_rating_e",
                                        "cn_rating_level",
                                        "cn_model_missing",
                                        "cn_rating_level_tomorrow",
                                        "fire_danger_level",
                                        "fire_danger_level_tomorrow"};

struct fw_cnm {
    struct zone *zones;
    size_t nzones;
    const struct fw_metric *quantity[Q__COUNT], *rain, *phen;
    const struct fw_metric *out_metric[FW_ARRAY_LEN(out_names)];
};

/* ------------------------------------------------------------------------------------------ */
/* Parameters                                                                                  */
/* ------------------------------------------------------------------------------------------ */

void fw_cnm_zone_init(struct fw_cnm_zone *z, const char *id)
{
    memset(z, 0, sizeof(*z));
    fw_strlcpy(z->id, id, sizeof(z->id));
    z->min_hours = 20;
    z->close_delay_min = 60;
    z->rain_max_gap_min = 180;
    z->phenology_hold_days = 7;
    fw_cnr_tables_default(&z->tables);
}

int fw_cnm_zone_check(const struct fw_cnm_zone *z, const char **err)
{
    *err = NULL;
    if (z->id[0] == '\0')
        *err = "id: must not be empty";
    else if (z->utc_offset_min < -720 || z->utc_offset_min > 840 || z->utc_offset_min % 15 != 0)
        *err = "utc_offset_min: must be a multiple of 15 in -720..840";
    else if (z->nstations < 1 || z->nstations > FW_CNM_MAX_STATIONS)
        *err = "stations: must name 1..8 stations";
    else if (z->min_hours < 1 || z->min_hours > 24)
        *err = "min_hours: must be 1..24";
    else if (z->close_delay_min < 0 || z->close_delay_min > FW_CNM_CLOSE_DELAY_MAX)
        *err = "close_delay_min: must be 0..360";
    else if (z->rain_max_gap_min < 15 || z->rain_max_gap_min > 360)
        *err = "rain_max_gap_min: must be 15..360";
    else if (z->phenology_hold_days < 1 || z->phenology_hold_days > FW_CNM_HOLD_DAYS_MAX)
        *err = "phenology_hold_days: must be 1..60";
    else if (z->nseasons > FW_CNM_MAX_SEASONS)
        *err = "phenology: must list 0..12 periods";
    if (*err)
        return -EINVAL;
    for (size_t i = 0; i < z->nseasons; i++) {
        const struct fw_cnm_season *s = &z->seasons[i];
        if (!fw_modelutil_date_ok(s->month, s->day) || (unsigned)s->cls >= FW_CNR_PHEN_COUNT) {
            *err = "phenology: a period has a bad date or class";
            return -EINVAL;
        }
        if (i > 0 &&
            s->month * 100 + s->day <= z->seasons[i - 1].month * 100 + z->seasons[i - 1].day) {
            *err = "phenology: the periods must be in date order, each date once";
            return -EINVAL;
        }
    }
    return fw_modelutil_stations_check(z->stations, z->nstations, z->fallback, err);
}

enum fw_cnr_phenology fw_cnm_season_class(const struct fw_cnm_zone *z, int month, int day)
{
    if (z->nseasons == 0)
        return FW_CNR_PHEN_NONE;
    /* Before the year's first date, the last period (from the year before) still holds. */
    enum fw_cnr_phenology cls = z->seasons[z->nseasons - 1].cls;
    for (size_t i = 0; i < z->nseasons; i++)
        if (month * 100 + day >= z->seasons[i].month * 100 + z->seasons[i].day)
            cls = z->seasons[i].cls;
    return cls;
}

/* ------------------------------------------------------------------------------------------ */
/* Lifecycle                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static void state_init(struct zone_state *s)
{
    memset(s, 0, sizeof(*s));
    s->next_day = NONE;
    s->last_day = NONE;
    s->phen_day = s->phen_t = NONE;
    fw_cnr_state_init(&s->rain);
    for (size_t k = 0; k < NPLACES; k++) {
        fw_stations_rain_init(&s->places[k].rain);
        for (int d = 0; d < NDAYSLOTS; d++)
            s->places[k].days[d].day = NONE;
    }
}

int fw_cnm_new(const struct fw_cnm_zone *zones, size_t n, struct fw_cnm **out, const char **err)
{
    for (size_t i = 0; i < n; i++) {
        if (fw_cnm_zone_check(&zones[i], err) < 0)
            return -EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(zones[i].id, zones[j].id) == 0) {
                *err = "id: two zones have the same id";
                return -EINVAL;
            }
    }
    struct fw_cnm *m = fw_xcalloc(1, sizeof(*m));
    m->zones = fw_xcalloc(n ? n : 1, sizeof(*m->zones));
    m->nzones = n;
    for (size_t i = 0; i < n; i++) {
        struct zone *z = &m->zones[i];
        z->p = zones[i];
        z->nplaces = z->p.nstations + (z->p.fallback[0] != '\0');
        z->off = (int64_t)z->p.utc_offset_min * MIN_MS;
        state_init(&z->s);
    }
    for (int q = 0; q < Q__COUNT; q++)
        m->quantity[q] = fw_metric_find(quantity_metrics[q]);
    m->rain = fw_metric_find("rain_mm");
    m->phen = fw_metric_find("phenology_class");
    for (size_t k = 0; k < FW_ARRAY_LEN(out_names); k++) {
        m->out_metric[k] = fw_metric_find(out_names[k]);
        FW_ASSERT(m->out_metric[k]); /* reading.c's table must list every derived metric */
    }
    *err = NULL;
    *out = m;
    return 0;
}

void fw_cnm_free(struct fw_cnm *m)
{
    if (!m)
        return;
    free(m->zones);
    free(m);
}

void fw_cnm_out_free(struct fw_cnm_out *o)
{
    free(o->v);
    memset(o, 0, sizeof(*o));
}

static struct zone *zone_find(const struct fw_cnm *m, const char *id)
{
    for (size_t i = 0; i < m->nzones; i++)
        if (strcmp(m->zones[i].p.id, id) == 0)
            return &m->zones[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Feeding                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* The slot of `day`, claimed if it holds an older day; NULL for a day older than the slot's. */
static struct dayslot *day_slot(struct place *pl, int64_t day)
{
    struct dayslot *d = &pl->days[fw_floor_mod(day, NDAYSLOTS)];
    if (d->day == day)
        return d;
    if (d->day != NONE && d->day > day)
        return NULL;
    memset(d, 0, sizeof(*d));
    d->day = day;
    return d;
}

static void place_feed(const struct fw_cnm *m, struct zone *z, struct place *pl,
                       const struct fw_reading *r)
{
    struct zone_state *s = &z->s;
    if (r->metric == m->rain) {
        if (r->value >= 0.0)
            fw_stations_rain_add(&pl->rain, r->time_ms, r->value);
        return;
    }
    int64_t local = r->time_ms + z->off;
    int64_t day = fw_floor_div(local, DAY_MS);
    if (r->metric == m->phen) {
        /* A class code 0..4 (the metric's range); the latest reading wins. */
        if (r->value == floor(r->value) && (s->phen_t == NONE || r->time_ms >= s->phen_t)) {
            s->phen_class = (int)r->value;
            s->phen_day = day;
            s->phen_t = r->time_ms;
            s->tomorrow_dirty = 1;
        }
        return;
    }
    if (s->next_day != NONE && day < s->next_day)
        return; /* that day is rated already */
    for (int q = 0; q < Q__COUNT; q++) {
        if (r->metric != m->quantity[q])
            continue;
        struct dayslot *d = day_slot(pl, day);
        if (!d)
            return;
        int has = d->hours[q] != 0;
        double v = r->value;
        if (has && (q == Q_RHMIN ? d->v[q] <= v : d->v[q] >= v))
            v = d->v[q];
        d->v[q] = v;
        d->hours[q] |= 1u << fw_floor_mod(fw_floor_div(local, HOUR_MS), 24);
    }
}

void fw_cnm_feed(struct fw_cnm *m, const struct fw_reading *r)
{
    if (r->source == FW_SOURCE_DERIVED || !r->metric || !isfinite(r->value))
        return;
    for (size_t i = 0; i < m->nzones; i++) {
        struct zone *z = &m->zones[i];
        for (size_t k = 0; k < z->nplaces; k++)
            if (strcmp(fw_stations_id(z->p.stations, z->p.nstations, z->p.fallback, k),
                       r->station) == 0)
                place_feed(m, z, &z->s.places[k], r);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Rating a day                                                                                */
/* ------------------------------------------------------------------------------------------ */

static void emit(struct fw_cnm *m, const struct zone *z, enum out_index k, double v, int64_t t,
                 struct fw_cnm_out *out)
{
    fw_modelutil_emit(&out->v, &out->n, &out->cap, z->p.id, m->out_metric[k], v, t);
}

static int popcount24(uint32_t v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

/* The phenology class of local day `day`: a reading's within its hold, else the season's. */
static enum fw_cnr_phenology phenology_of(const struct zone *z, int64_t day)
{
    const struct zone_state *s = &z->s;
    if (s->phen_t != NONE && day >= s->phen_day && day < s->phen_day + z->p.phenology_hold_days)
        return (enum fw_cnr_phenology)s->phen_class;
    int y, mo, d;
    fw_time__civil_from_days(day, &y, &mo, &d);
    return fw_cnm_season_class(&z->p, mo, d);
}

/* The zone's weather of local day `day` from the stations. Returns 0 with *rain set (-1 when
 * unknown) and the extremes in `in`, -ENODATA when an extreme is unknown (*rain still set). */
static int gather(const struct zone *z, int64_t day, struct fw_cnr_day *in, double *rain)
{
    double v[NPLACES], q[Q__COUNT];
    int64_t end = (day + 1) * DAY_MS - z->off;
    for (size_t k = 0; k < z->nplaces; k++) {
        double r =
            fw_stations_rain_sum(&z->s.places[k].rain, end - DAY_MS, end, z->p.rain_max_gap_min);
        v[k] = r < 0.0 ? NAN : r;
    }
    double zr = fw_stations_mean(v, z->p.nstations, z->nplaces);
    *rain = isnan(zr) ? -1.0 : zr;
    for (int i = 0; i < Q__COUNT; i++) {
        for (size_t k = 0; k < z->nplaces; k++) {
            const struct dayslot *d = &z->s.places[k].days[fw_floor_mod(day, NDAYSLOTS)];
            v[k] = d->day == day && popcount24(d->hours[i]) >= z->p.min_hours ? d->v[i] : NAN;
        }
        q[i] = fw_stations_mean(v, z->p.nstations, z->nplaces);
        if (isnan(q[i]))
            return -ENODATA;
    }
    in->tmax_c = q[Q_TMAX];
    in->rh_min_pct = q[Q_RHMIN];
    in->wind_max_ms = q[Q_WMAX];
    return 0;
}

/*
 * Rate local day `day` of `z` from `in` (extremes) and the day's rain (-1: unknown): step the
 * rain state, then rate. A day whose rain is known steps the state even when an extreme is
 * missing, so that the dry days stay counted. Returns 0 with *res, or -ENODATA for a missing day.
 */
static int rate_day(const struct zone *z, struct zone_state *s, int64_t day, int have_extremes,
                    struct fw_cnr_day *in, double rain, struct fw_cnr_result *res)
{
    if (rain < 0.0 || fw_cnr_state_step(&s->rain, &z->p.tables, rain) < 0)
        return -ENODATA;
    if (!have_extremes)
        return -ENODATA;
    fw_cnr_state_apply(&s->rain, in);
    in->phenology = phenology_of(z, day);
    return fw_cnr_rate(&z->p.tables, in, res) < 0 ? -ENODATA : 0;
}

static void daily_step(struct fw_cnm *m, struct zone *z, int64_t day, struct fw_cnm_out *out)
{
    struct zone_state *s = &z->s;
    int64_t t = (day + 1) * DAY_MS - z->off;
    struct fw_cnr_day in = {0};
    struct fw_cnr_result res;
    double rain;
    int have = gather(z, day, &in, &rain) == 0;
    s->last_day = day;
    s->tomorrow_dirty = 1;
    if (rate_day(z, s, day, have, &in, rain, &res) < 0) {
        s->last_missing = 1;
        emit(m, z, O_MISSING, 1.0, t, out);
        return;
    }
    s->last_missing = 0;
    s->last = res;
    emit(m, z, O_INDEX, res.htz, t, out);
    emit(m, z, O_A, res.a, t, out);
    emit(m, z, O_B, res.b, t, out);
    emit(m, z, O_C, res.c, t, out);
    emit(m, z, O_D, res.d, t, out);
    emit(m, z, O_E, res.e, t, out);
    emit(m, z, O_LEVEL, res.level, t, out);
    if (z->p.zone_level)
        emit(m, z, O_ZONE_LEVEL, res.level, t, out);
    emit(m, z, O_MISSING, 0.0, t, out);
}

/* ------------------------------------------------------------------------------------------ */
/* Tomorrow's expected level                                                                   */
/* ------------------------------------------------------------------------------------------ */

int fw_cnm_forecast(struct fw_cnm *m, const char *zone, int64_t day, int64_t issued_ms,
                    double tmax_c, double rh_pct, double wind_ms, double rain_mm)
{
    struct zone *z = zone_find(m, zone);
    if (!z)
        return -ENOENT;
    struct fw_cnr_day probe = {.tmax_c = tmax_c, .rh_min_pct = rh_pct, .wind_max_ms = wind_ms};
    struct fw_cnr_result r;
    if (!(rain_mm >= 0.0 && rain_mm <= FW_CNR_RAIN_MAX) ||
        fw_cnr_rate(&z->p.tables, &probe, &r) < 0)
        return -EINVAL;
    struct zone_state *s = &z->s;
    if (s->next_day != NONE && day < s->next_day)
        return -ERANGE;
    struct forecast f = {day, issued_ms, tmax_c, rh_pct, wind_ms, rain_mm};
    size_t i = 0;
    while (i < s->nfc && s->fc[i].day < day)
        i++;
    if (i < s->nfc && s->fc[i].day == day) {
        if (s->fc[i].issued_ms > issued_ms)
            return -EALREADY;
        s->fc[i] = f;
    } else {
        if (i == FW_CNM_MAX_FORECASTS)
            return -ENOSPC;
        size_t n = s->nfc < FW_CNM_MAX_FORECASTS ? s->nfc : s->nfc - 1;
        memmove(&s->fc[i + 1], &s->fc[i], (n - i) * sizeof(s->fc[0]));
        s->fc[i] = f;
        s->nfc = n + 1;
    }
    s->tomorrow_dirty = 1;
    return 0;
}

/* Tomorrow's level: every day from the next one to rate up to tomorrow, each from its forecast,
 * on a copy of the rain state. Returns the level, or 0 when a day on the way has no forecast. */
static int tomorrow_expected(const struct zone *z, int64_t tomorrow)
{
    const struct zone_state *s = &z->s;
    if (s->next_day == NONE || s->next_day > tomorrow)
        return 0;
    struct zone_state *tmp = fw_xmalloc(sizeof(*tmp));
    *tmp = *s;
    int level = 0;
    for (int64_t day = s->next_day; day <= tomorrow; day++) {
        const struct forecast *f = NULL;
        for (size_t i = 0; i < s->nfc && !f; i++)
            if (s->fc[i].day == day)
                f = &s->fc[i];
        struct fw_cnr_day in = {.tmax_c = f ? f->tmax : 0.0,
                                .rh_min_pct = f ? f->rh : 0.0,
                                .wind_max_ms = f ? f->wind : 0.0};
        struct fw_cnr_result res;
        if (!f || rate_day(z, tmp, day, 1, &in, f->rain, &res) < 0) {
            level = 0;
            break;
        }
        level = res.level;
    }
    free(tmp);
    return level;
}

static void tomorrow_step(struct fw_cnm *m, struct zone *z, int64_t now, struct fw_cnm_out *out)
{
    struct zone_state *s = &z->s;
    int64_t tomorrow = fw_floor_div(now + z->off, DAY_MS) + 1;
    size_t keep = 0;
    for (size_t i = 0; i < s->nfc; i++)
        if (s->fc[i].day >= s->next_day)
            s->fc[keep++] = s->fc[i];
    s->nfc = keep;
    if (!s->tomorrow_dirty && s->tomorrow_day == tomorrow)
        return;
    s->tomorrow_dirty = 0;
    int level = tomorrow_expected(z, tomorrow);
    int said = s->tomorrow_level;
    int64_t said_day = s->tomorrow_day;
    s->tomorrow_day = tomorrow;
    s->tomorrow_level = level;
    if (level == said && (said_day == tomorrow || level == 0))
        return; /* unchanged, or still nothing to say */
    emit(m, z, O_TOMORROW, level, now, out);
    if (z->p.zone_level)
        emit(m, z, O_ZONE_TOMORROW, level, now, out);
}

size_t fw_cnm_tick(struct fw_cnm *m, int64_t now_ms, struct fw_cnm_out *out)
{
    size_t before = out->n;
    for (size_t i = 0; i < m->nzones; i++) {
        struct zone *z = &m->zones[i];
        struct zone_state *s = &z->s;
        int64_t delay = z->p.close_delay_min * MIN_MS;
        /* A fresh zone starts with the first day not yet due: earlier ones were not watched. */
        int64_t first = fw_floor_div(now_ms - delay + z->off, DAY_MS);
        if (s->next_day == NONE)
            s->next_day = first;
        if (s->next_day < first - FW_CNM_MAX_CATCHUP_DAYS)
            s->next_day = first - FW_CNM_MAX_CATCHUP_DAYS;
        while ((s->next_day + 1) * DAY_MS - z->off + delay <= now_ms)
            daily_step(m, z, s->next_day++, out);
        tomorrow_step(m, z, now_ms, out);
    }
    return out->n - before;
}

int fw_cnm_zone_state(const struct fw_cnm *m, const char *zone_id, struct fw_cnm_zone_state *st)
{
    const struct zone *z = zone_find(m, zone_id);
    if (!z)
        return -ENOENT;
    memset(st, 0, sizeof(*st));
    st->last_day = z->s.last_day;
    st->last_missing = z->s.last_missing;
    st->level = z->s.last.level;
    st->result = z->s.last;
    st->rain = z->s.rain;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Save and restore                                                                            */
/* ------------------------------------------------------------------------------------------ */

static cJSON *save_zone(const struct zone *z)
{
    const struct zone_state *s = &z->s;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", z->p.id);
    fw_modelutil_add_opt(o, "next_day", s->next_day);
    cJSON *rain = cJSON_AddArrayToObject(o, "rain");
    fw_modelutil_add_int(rain, NULL, s->rain.rain_on_record);
    fw_modelutil_add_dbl(rain, NULL, s->rain.last_rain_mm);
    fw_modelutil_add_int(rain, NULL, s->rain.days_since_rain);
    fw_modelutil_add_opt(o, "last_day", s->last_day);
    fw_modelutil_add_int(o, "last_missing", s->last_missing);
    cJSON *last = cJSON_AddArrayToObject(o, "last");
    const int lv[] = {s->last.a, s->last.b,   s->last.c,     s->last.d,
                      s->last.e, s->last.htz, s->last.force, s->last.level};
    for (size_t k = 0; k < FW_ARRAY_LEN(lv); k++)
        fw_modelutil_add_int(last, NULL, lv[k]);
    cJSON *phen = cJSON_AddArrayToObject(o, "phenology");
    fw_modelutil_add_int(phen, NULL, s->phen_class);
    fw_modelutil_add_opt(phen, NULL, s->phen_day);
    fw_modelutil_add_opt(phen, NULL, s->phen_t);
    cJSON *fc = cJSON_AddArrayToObject(o, "forecasts");
    for (size_t k = 0; k < s->nfc; k++) {
        cJSON *e = cJSON_CreateArray();
        fw_modelutil_add_int(e, NULL, s->fc[k].day);
        fw_modelutil_add_int(e, NULL, s->fc[k].issued_ms);
        fw_modelutil_add_dbl(e, NULL, s->fc[k].tmax);
        fw_modelutil_add_dbl(e, NULL, s->fc[k].rh);
        fw_modelutil_add_dbl(e, NULL, s->fc[k].wind);
        fw_modelutil_add_dbl(e, NULL, s->fc[k].rain);
        cJSON_AddItemToArray(fc, e);
    }
    fw_modelutil_add_int(o, "tomorrow_day", s->tomorrow_day);
    fw_modelutil_add_int(o, "tomorrow_level", s->tomorrow_level);
    cJSON *st = cJSON_AddArrayToObject(o, "stations");
    for (size_t k = 0; k < z->nplaces; k++) {
        const struct place *pl = &s->places[k];
        cJSON *so = cJSON_CreateObject();
        cJSON_AddStringToObject(so, "id",
                                fw_stations_id(z->p.stations, z->p.nstations, z->p.fallback, k));
        cJSON_AddItemToObject(so, "rain", fw_stations_rain_save(&pl->rain));
        cJSON *days = cJSON_AddArrayToObject(so, "days");
        for (int d = 0; d < NDAYSLOTS; d++) {
            const struct dayslot *ds = &pl->days[d];
            if (ds->day == NONE)
                continue;
            cJSON *e = cJSON_CreateArray();
            fw_modelutil_add_int(e, NULL, ds->day);
            for (int q = 0; q < Q__COUNT; q++) {
                fw_modelutil_add_dbl(e, NULL, ds->hours[q] ? ds->v[q] : 0.0);
                fw_modelutil_add_int(e, NULL, ds->hours[q]);
            }
            cJSON_AddItemToArray(days, e);
        }
        cJSON_AddItemToArray(st, so);
    }
    return o;
}

int fw_cnm_save(const struct fw_cnm *m, char **json)
{
    cJSON *zones;
    cJSON *root = fw_modelutil_saved_new(&zones);
    for (size_t i = 0; i < m->nzones; i++)
        cJSON_AddItemToArray(zones, save_zone(&m->zones[i]));
    *json = fw_modelutil_saved_print(root);
    return 0;
}

static const cJSON *item(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int get_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
    return fw_modelutil_get_int(v, 0, lo, hi, out);
}

/* Array `a` of exactly n elements. */
static int is_tuple(const cJSON *a, int n)
{
    return cJSON_IsArray(a) && cJSON_GetArraySize(a) == n;
}

static int restore_place(const cJSON *so, struct place *pl)
{
    const cJSON *days = item(so, "days");
    if (fw_stations_rain_restore(item(so, "rain"), &pl->rain) < 0 || !cJSON_IsArray(days))
        return -EINVAL;
    const cJSON *e;
    cJSON_ArrayForEach(e, days)
    {
        int64_t day, h[Q__COUNT];
        double v[Q__COUNT];
        if (!is_tuple(e, 1 + 2 * Q__COUNT) ||
            get_int(cJSON_GetArrayItem(e, 0), INT32_MIN, INT32_MAX, &day) < 0)
            return -EINVAL;
        for (int q = 0; q < Q__COUNT; q++)
            if (fw_modelutil_get_dbl(cJSON_GetArrayItem(e, 1 + 2 * q), 0, &v[q]) < 0 ||
                get_int(cJSON_GetArrayItem(e, 2 + 2 * q), 0, 0xffffff, &h[q]) < 0)
                return -EINVAL;
        struct dayslot *d = day_slot(pl, day);
        for (int q = 0; d && q < Q__COUNT; q++) {
            d->v[q] = v[q];
            d->hours[q] = (uint32_t)h[q];
        }
    }
    return 0;
}

static int restore_forecasts(const cJSON *fc, struct zone_state *s)
{
    if (!cJSON_IsArray(fc) || cJSON_GetArraySize(fc) > FW_CNM_MAX_FORECASTS)
        return -EINVAL;
    s->nfc = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, fc)
    {
        struct forecast f;
        if (!is_tuple(e, 6) ||
            get_int(cJSON_GetArrayItem(e, 0), INT32_MIN, INT32_MAX, &f.day) < 0 ||
            get_int(cJSON_GetArrayItem(e, 1), INT64_MIN + 1, INT64_MAX, &f.issued_ms) < 0 ||
            fw_modelutil_get_dbl(cJSON_GetArrayItem(e, 2), 0, &f.tmax) < 0 ||
            fw_modelutil_get_dbl(cJSON_GetArrayItem(e, 3), 0, &f.rh) < 0 ||
            fw_modelutil_get_dbl(cJSON_GetArrayItem(e, 4), 0, &f.wind) < 0 ||
            fw_modelutil_get_dbl(cJSON_GetArrayItem(e, 5), 0, &f.rain) < 0 ||
            (s->nfc && f.day <= s->fc[s->nfc - 1].day))
            return -EINVAL;
        s->fc[s->nfc++] = f;
    }
    return 0;
}

static int restore_zone(const cJSON *o, const struct zone *z, struct zone_state *s)
{
    int64_t next, on, days, last_day, missing, lv[8], ph[3], tday, tlevel;
    double last_mm;
    const cJSON *rain = item(o, "rain"), *last = item(o, "last"), *phen = item(o, "phenology");
    const cJSON *st = item(o, "stations");
    if (fw_modelutil_get_int(item(o, "next_day"), 1, INT32_MIN, INT32_MAX, &next) < 0 ||
        !is_tuple(rain, 3) || get_int(cJSON_GetArrayItem(rain, 0), 0, 1, &on) < 0 ||
        fw_modelutil_get_dbl(cJSON_GetArrayItem(rain, 1), 0, &last_mm) < 0 ||
        !(last_mm >= 0.0 && last_mm <= FW_CNR_RAIN_MAX) ||
        get_int(cJSON_GetArrayItem(rain, 2), 0, FW_CNR_DAYS_MAX, &days) < 0 ||
        fw_modelutil_get_int(item(o, "last_day"), 1, INT32_MIN, INT32_MAX, &last_day) < 0 ||
        get_int(item(o, "last_missing"), 0, 1, &missing) < 0 || !is_tuple(last, 8) ||
        !is_tuple(phen, 3) ||
        get_int(cJSON_GetArrayItem(phen, 0), 0, FW_CNR_PHEN_COUNT - 1, &ph[0]) < 0 ||
        fw_modelutil_get_int(cJSON_GetArrayItem(phen, 1), 1, INT32_MIN, INT32_MAX, &ph[1]) < 0 ||
        fw_modelutil_get_int(cJSON_GetArrayItem(phen, 2), 1, INT64_MIN, INT64_MAX, &ph[2]) < 0 ||
        restore_forecasts(item(o, "forecasts"), s) < 0 ||
        get_int(item(o, "tomorrow_day"), 0, INT32_MAX, &tday) < 0 ||
        get_int(item(o, "tomorrow_level"), 0, FW_CNR_LEVELS, &tlevel) < 0 || !cJSON_IsArray(st))
        return -EINVAL;
    for (int k = 0; k < 8; k++)
        if (get_int(cJSON_GetArrayItem(last, k), -1000, 10000, &lv[k]) < 0)
            return -EINVAL;
    s->next_day = next;
    s->rain = (struct fw_cnr_state){(int)on, last_mm, (int)days};
    s->last_day = last_day;
    s->last_missing = (int)missing;
    s->last = (struct fw_cnr_result){(int)lv[0], (int)lv[1], (int)lv[2], (int)lv[3],
                                     (int)lv[4], (int)lv[5], (int)lv[6], (int)lv[7]};
    s->phen_class = (int)ph[0];
    s->phen_day = ph[1];
    s->phen_t = ph[2];
    s->tomorrow_day = tday;
    s->tomorrow_level = (int)tlevel;
    /* Derive tomorrow's level again: the zone's tables or periods may have changed. */
    s->tomorrow_dirty = 1;
    const cJSON *so;
    cJSON_ArrayForEach(so, st)
    {
        const cJSON *id = item(so, "id");
        if (!cJSON_IsString(id))
            return -EINVAL;
        for (size_t k = 0; k < z->nplaces; k++)
            if (strcmp(fw_stations_id(z->p.stations, z->p.nstations, z->p.fallback, k),
                       id->valuestring) == 0 &&
                restore_place(so, &s->places[k]) < 0)
                return -EINVAL;
    }
    return 0;
}

static void init_cb(void *state)
{
    state_init(state);
}

static int restore_cb(const cJSON *o, const void *zone, void *state)
{
    return restore_zone(o, zone, state);
}

int fw_cnm_restore(struct fw_cnm *m, const char *json)
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
