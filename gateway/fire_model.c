/* SPDX-License-Identifier: MIT */
/*
 * The per-zone fire-danger model. Each zone keeps, for each of its stations (and its fallback),
 * the rain received in 15-minute buckets over the last 40 hours and, per quantity (temperature,
 * humidity, wind), the reading nearest the coming noon and the coming full hour. A daily step at
 * noon + window averages the stations' noon values and 24-hour rains, checks that nothing is
 * missing, and calls fw_fwi_daily() with yesterday's codes; an hourly step does the same with the
 * hour's values and fw_fwi_hourly_ffmc(). Everything is fixed-size per zone, so readings can
 * never make the model grow, and the state is plain numbers, so it saves to JSON and restores
 * exactly. The conventions (why noon + window, what "missing" means, the season rule) are in
 * docs/models.md.
 *
 * Tomorrow's expected level runs the same daily step on a scratch copy of the zone, with the
 * meteorology bureau's forecast noon weather in place of the stations' readings, from the codes
 * of the last computed day through every forecast day up to tomorrow.
 */
#include "forestwatch/models.h"

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
/* An hourly value is the reading nearest the full hour, within +-30 min. */
#define HOUR_WINDOW_MS (30 * MIN_MS)
#define MAX_CATCHUP_HOURS 48
#define MAX_SAVED_BYTES (4u * 1024 * 1024)

enum quantity { Q_TEMP, Q_RH, Q_WIND, Q__COUNT };

static const char *const quantity_metrics[Q__COUNT] = {"air_temp_c", "rel_humidity_pct",
                                                       "wind_speed_ms"};

/* The reading nearest to `target` seen so far. */
struct cand {
    int64_t target; /* the noon or hour it is a candidate for; 0 with !has */
    int64_t t;
    double v;
    int has;
};

struct slot {
    struct fw_stations_rain rain; /* the 24 h window, its gap before and the noon window fit */
    struct cand noon[Q__COUNT];
    struct cand hour[Q__COUNT];
};

/* A forecast of one local day's noon weather (wind in km/h, rain of the 24 h to noon). */
struct forecast {
    int64_t day;       /* local day number (fw_time__days_from_civil) */
    int64_t issued_ms; /* when the bureau issued it: a later issue replaces an earlier one */
    struct fw_fwi_weather w;
};

/* Everything that changes; saved and restored as a whole. */
struct zone_state {
    int64_t next_noon; /* the next noon to compute; 0 until the first tick */
    int64_t next_hour;
    int season_year; /* local year the current season began; 0: none yet */
    int has_codes;
    struct fw_fwi_codes codes;
    int level;
    int64_t last_noon;
    int last_missing;
    struct fw_fwi_weather last_weather;
    double hffmc; /* NaN when there is none */
    int64_t hffmc_ms;
    double nesterov; /* the Nesterov sum after the last computed day (0 at a season's start) */
    /* Forecasts for days not yet computed, ascending by day. */
    struct forecast fc[FW_MODELS_MAX_FORECASTS];
    size_t nfc;
    /* The last tomorrow's level emitted: its day (0: none yet), its level (0: no forecast). */
    int64_t tomorrow_day;
    int tomorrow_level;
    double tomorrow_fwi;
    int tomorrow_dirty; /* a forecast or a daily step since: derive it again (not saved) */
    /* stations[0..nstations-1], then the fallback */
    struct slot slots[FW_MODELS_MAX_STATIONS + 1];
};

struct zone {
    struct fw_models_zone p;
    size_t nslots;                  /* nstations, + 1 with a fallback */
    int64_t noon_phase, hour_phase; /* noon and the full hours, mod a day and an hour (UTC) */
    struct zone_state s;
};

struct fw_models {
    struct zone *zones;
    size_t nzones;
    const struct fw_metric *quantity[Q__COUNT], *rain;
    const struct fw_metric *out_metric[13];
};

/* The order of the derived readings of a computed day. */
enum out_index {
    O_FFMC,
    O_DMC,
    O_DC,
    O_ISI,
    O_BUI,
    O_FWI,
    O_LEVEL,
    O_MISSING,
    O_HFFMC,
    O_TOMORROW_LEVEL,
    O_TOMORROW_FWI,
    O_NESTEROV,
};
static const char *const out_names[] = {"ffmc",
                                        "dmc",
                                        "dc",
                                        "isi",
                                        "bui",
                                        "fwi",
                                        "fire_danger_level",
                                        "fire_model_missing",
                                        "hffmc",
                                        "fire_danger_level_tomorrow",
                                        "fwi_tomorrow",
                                        "nesterov_index"};

static const char *const index_names[FW_MODELS_INDEX__COUNT] = {
    [FW_MODELS_INDEX_FWI] = "fwi", [FW_MODELS_INDEX_ISI] = "isi",
    [FW_MODELS_INDEX_BUI] = "bui", [FW_MODELS_INDEX_FFMC] = "ffmc",
    [FW_MODELS_INDEX_DMC] = "dmc", [FW_MODELS_INDEX_DC] = "dc",
    [FW_MODELS_INDEX_DSR] = "dsr", [FW_MODELS_INDEX_NESTEROV] = "nesterov",
};

/* ------------------------------------------------------------------------------------------ */
/* Time arithmetic                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* The grid point phase + k * period nearest to t (a tie goes to the later one). */
static int64_t grid_nearest(int64_t t, int64_t phase, int64_t period)
{
    return phase + fw_floor_div(t - phase + period / 2, period) * period;
}

/* The first grid point at or after t. */
static int64_t grid_ceil(int64_t t, int64_t phase, int64_t period)
{
    return phase - fw_floor_div(phase - t, period) * period;
}

/* ------------------------------------------------------------------------------------------ */
/* Parameters                                                                                  */
/* ------------------------------------------------------------------------------------------ */

void fw_models_levels_default(struct fw_models_levels *l)
{
    /* PROVISIONAL: FWI class limits as commonly quoted for Canada, from general knowledge and
     * not checked against a primary source; agencies use other limits (SCIENCE.md C says the
     * Chinese GB/T 36743-2018 mapping is unverified, so it is not used). docs/models.md. */
    static const double min[FW_MODELS_LEVELS] = {0.0, 5.0, 10.0, 20.0, 30.0};
    l->index = FW_MODELS_INDEX_FWI;
    memcpy(l->min, min, sizeof(min));
    l->provisional = 1;
}

void fw_models_levels_nesterov(struct fw_models_levels *l)
{
    static const double min[FW_MODELS_LEVELS] = {0.0, 300.0, 1000.0, 4000.0, 10000.0};
    l->index = FW_MODELS_INDEX_NESTEROV;
    memcpy(l->min, min, sizeof(min));
    l->provisional = 0;
}

void fw_models_zone_init(struct fw_models_zone *z, const char *id)
{
    memset(z, 0, sizeof(*z));
    fw_strlcpy(z->id, id, sizeof(z->id));
    z->lat = 55.0; /* cffdrs' default latitude; the caller should always set the zone's */
    z->lat_adjust = 1;
    z->ffmc_coef = FW_FWI_FFMC_COEF_CFFDRS;
    z->noon_window_min = 60;
    z->rain_max_gap_min = 180;
    z->hourly_ffmc = 1;
    z->startup_ffmc = FW_FWI_STARTUP_FFMC;
    z->startup_dmc = FW_FWI_STARTUP_DMC;
    z->startup_dc = FW_FWI_STARTUP_DC;
    fw_models_levels_default(&z->levels);
    z->zone_level = 1;
}

int fw_models_zone_check(const struct fw_models_zone *z, const char **err)
{
    *err = NULL;
    if (z->id[0] == '\0')
        *err = "id: must not be empty";
    else if (z->utc_offset_min < FW_MODELS_OFFSET_MIN || z->utc_offset_min > FW_MODELS_OFFSET_MAX ||
             z->utc_offset_min % 15 != 0)
        *err = "utc_offset_min: must be a multiple of 15 in -720..840";
    else if (!(z->lat >= -90.0 && z->lat <= 90.0))
        *err = "lat: must be -90..90";
    else if (!(isfinite(z->ffmc_coef) && z->ffmc_coef > 0.0))
        *err = "ffmc_coef: must be a positive number";
    else if (z->nstations < 1 || z->nstations > FW_MODELS_MAX_STATIONS)
        *err = "stations: must name 1..8 stations";
    else if (z->noon_window_min < 1 || z->noon_window_min > FW_MODELS_NOON_WINDOW_MAX)
        *err = "noon_window_min: must be 1..120";
    else if (z->rain_max_gap_min < 15 || z->rain_max_gap_min > FW_MODELS_RAIN_GAP_MAX)
        *err = "rain_max_gap_min: must be 15..360";
    else if (!(z->startup_ffmc >= 0.0 && z->startup_ffmc <= 101.0))
        *err = "startup_ffmc: must be 0..101";
    else if (!(z->startup_dmc >= 0.0 && isfinite(z->startup_dmc)))
        *err = "startup_dmc: must be a number >= 0";
    else if (!(z->startup_dc >= 0.0 && isfinite(z->startup_dc)))
        *err = "startup_dc: must be a number >= 0";
    else if ((z->season_start_month || z->season_start_day) &&
             !fw_modelutil_date_ok(z->season_start_month, z->season_start_day))
        *err = "season_start: not a valid month and day";
    else if ((z->season_end_month || z->season_end_day) &&
             !fw_modelutil_date_ok(z->season_end_month, z->season_end_day))
        *err = "season_end: not a valid month and day";
    else if (z->season_end_month && !z->season_start_month)
        *err = "season_end: needs a season_start";
    else if ((unsigned)z->levels.index >= FW_MODELS_INDEX__COUNT)
        *err = "levels.index: unknown index";
    if (*err)
        return -EINVAL;
    for (int k = 0; k < FW_MODELS_LEVELS; k++)
        if (!isfinite(z->levels.min[k]) || (k > 0 && !(z->levels.min[k] > z->levels.min[k - 1]))) {
            *err = "levels.min: must be 5 finite numbers in ascending order";
            return -EINVAL;
        }
    if (fw_modelutil_stations_check(z->stations, z->nstations, z->fallback, err) < 0)
        return -EINVAL;
    return 0;
}

int fw_models_level(const struct fw_models_levels *l, double value)
{
    int level = 1;
    for (int k = 1; k < FW_MODELS_LEVELS; k++)
        if (value >= l->min[k])
            level = k + 1;
    return level;
}

const char *fw_models_index_str(enum fw_models_index i)
{
    return (unsigned)i < FW_MODELS_INDEX__COUNT ? index_names[i] : "?";
}

int fw_models_index_parse(const char *name, enum fw_models_index *out)
{
    for (int i = 0; i < FW_MODELS_INDEX__COUNT; i++)
        if (strcmp(index_names[i], name) == 0) {
            *out = (enum fw_models_index)i;
            return 0;
        }
    return -EINVAL;
}

static double index_value(enum fw_models_index i, const struct fw_fwi_codes *c, double ni)
{
    switch (i) {
    case FW_MODELS_INDEX_NESTEROV:
        return ni;
    case FW_MODELS_INDEX_ISI:
        return c->isi;
    case FW_MODELS_INDEX_BUI:
        return c->bui;
    case FW_MODELS_INDEX_FFMC:
        return c->ffmc;
    case FW_MODELS_INDEX_DMC:
        return c->dmc;
    case FW_MODELS_INDEX_DC:
        return c->dc;
    case FW_MODELS_INDEX_DSR:
        return c->dsr;
    default:
        return c->fwi;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Lifecycle                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static void state_init(struct zone_state *s)
{
    memset(s, 0, sizeof(*s));
    s->hffmc = NAN;
    for (size_t i = 0; i < FW_ARRAY_LEN(s->slots); i++)
        fw_stations_rain_init(&s->slots[i].rain);
}

int fw_models_new(const struct fw_models_zone *zones, size_t n, struct fw_models **out,
                  const char **err)
{
    for (size_t i = 0; i < n; i++) {
        if (fw_models_zone_check(&zones[i], err) < 0)
            return -EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(zones[i].id, zones[j].id) == 0) {
                *err = "id: two zones have the same id";
                return -EINVAL;
            }
    }
    struct fw_models *m = fw_xcalloc(1, sizeof(*m));
    m->zones = fw_xcalloc(n ? n : 1, sizeof(*m->zones));
    m->nzones = n;
    for (size_t i = 0; i < n; i++) {
        struct zone *z = &m->zones[i];
        z->p = zones[i];
        z->nslots = z->p.nstations + (z->p.fallback[0] != '\0');
        int64_t off = (int64_t)z->p.utc_offset_min * MIN_MS;
        z->noon_phase = fw_floor_mod(12 * HOUR_MS - off, DAY_MS);
        z->hour_phase = fw_floor_mod(-off, HOUR_MS);
        state_init(&z->s);
    }
    for (int q = 0; q < Q__COUNT; q++)
        m->quantity[q] = fw_metric_find(quantity_metrics[q]);
    m->rain = fw_metric_find("rain_mm");
    for (size_t k = 0; k < FW_ARRAY_LEN(out_names); k++) {
        m->out_metric[k] = fw_metric_find(out_names[k]);
        FW_ASSERT(m->out_metric[k]); /* reading.c's table must list every derived metric */
    }
    *err = NULL;
    *out = m;
    return 0;
}

void fw_models_free(struct fw_models *m)
{
    if (!m)
        return;
    free(m->zones);
    free(m);
}

void fw_models_out_free(struct fw_models_out *o)
{
    free(o->v);
    memset(o, 0, sizeof(*o));
}

/* ------------------------------------------------------------------------------------------ */
/* Feeding                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Keep the reading nearest the target; of two equally near, the earlier; of two at the same
 * time, the later fed (a corrected value). A candidate for an earlier target is replaced. */
static void cand_offer(struct cand *c, int64_t target, int64_t t, double v)
{
    if (c->has && c->target > target)
        return;
    if (c->has && c->target == target) {
        int64_t dn = llabs(t - target), dc = llabs(c->t - target);
        if (dn > dc || (dn == dc && t > c->t))
            return;
    }
    c->target = target;
    c->t = t;
    c->v = v;
    c->has = 1;
}

static void slot_feed(const struct fw_models *m, struct zone *z, struct slot *sl,
                      const struct fw_reading *r)
{
    if (r->metric == m->rain) {
        if (r->value >= 0.0)
            fw_stations_rain_add(&sl->rain, r->time_ms, r->value);
        return;
    }
    for (int q = 0; q < Q__COUNT; q++) {
        if (r->metric != m->quantity[q])
            continue;
        int64_t noon = grid_nearest(r->time_ms, z->noon_phase, DAY_MS);
        if (llabs(r->time_ms - noon) <= z->p.noon_window_min * MIN_MS)
            cand_offer(&sl->noon[q], noon, r->time_ms, r->value);
        int64_t hour = grid_nearest(r->time_ms, z->hour_phase, HOUR_MS);
        if (llabs(r->time_ms - hour) <= HOUR_WINDOW_MS)
            cand_offer(&sl->hour[q], hour, r->time_ms, r->value);
    }
}

void fw_models_feed(struct fw_models *m, const struct fw_reading *r)
{
    if (r->source == FW_SOURCE_DERIVED || !r->metric || !isfinite(r->value))
        return;
    for (size_t i = 0; i < m->nzones; i++) {
        struct zone *z = &m->zones[i];
        for (size_t k = 0; k < z->nslots; k++) {
            const char *id = fw_stations_id(z->p.stations, z->p.nstations, z->p.fallback, k);
            if (strcmp(id, r->station) == 0)
                slot_feed(m, z, &z->s.slots[k], r);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Gathering a step's inputs                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* The step's weather at `target`, with the rain in (from, to]. Returns 0, or -ENODATA. */
static int gather(const struct zone *z, int hourly, int64_t target, int64_t from, int64_t to,
                  struct fw_fwi_weather *w)
{
    double v[FW_MODELS_MAX_STATIONS + 1], q[Q__COUNT];
    for (int i = 0; i < Q__COUNT; i++) {
        for (size_t k = 0; k < z->nslots; k++) {
            const struct cand *c = hourly ? &z->s.slots[k].hour[i] : &z->s.slots[k].noon[i];
            v[k] = c->has && c->target == target ? c->v : NAN;
        }
        q[i] = fw_stations_mean(v, z->p.nstations, z->nslots);
        if (isnan(q[i]))
            return -ENODATA;
    }
    for (size_t k = 0; k < z->nslots; k++) {
        double r = fw_stations_rain_sum(&z->s.slots[k].rain, from, to, z->p.rain_max_gap_min);
        v[k] = r < 0.0 ? NAN : r;
    }
    double rain = fw_stations_mean(v, z->p.nstations, z->nslots);
    if (isnan(rain))
        return -ENODATA;
    w->temp_c = q[Q_TEMP];
    w->rh_pct = q[Q_RH];
    w->wind_kmh = q[Q_WIND] * 3.6; /* readings are m/s, the FWI System wants km/h */
    w->rain_mm = rain;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Steps                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void emit(struct fw_models *m, const struct zone *z, enum out_index k, double v, int64_t t,
                 struct fw_models_out *out)
{
    fw_modelutil_emit(&out->v, &out->n, &out->cap, z->p.id, m->out_metric[k], v, t);
}

static int month_day(int month, int day)
{
    return month * 100 + day;
}

/* Whether local date (y, md) lies in the zone's current season (see the header). */
static int in_season(const struct zone *z, int y, int md)
{
    const struct fw_models_zone *p = &z->p;
    const struct zone_state *s = &z->s;
    if (!p->season_start_month)
        return s->has_codes;
    if (s->season_year == 0)
        return 0;
    if (!p->season_end_month)
        return 1;
    int start = month_day(p->season_start_month, p->season_start_day);
    int end = month_day(p->season_end_month, p->season_end_day);
    if (end >= start)
        return s->season_year == y && md <= end;
    return s->season_year == y || (s->season_year == y - 1 && md <= end);
}

static void season_begin(struct zone *z, int y)
{
    struct zone_state *s = &z->s;
    fw_fwi_codes_startup(&s->codes);
    s->codes.ffmc = z->p.startup_ffmc;
    s->codes.dmc = z->p.startup_dmc;
    s->codes.dc = z->p.startup_dc;
    s->codes.bui = fw_fwi_bui(s->codes.dmc, s->codes.dc);
    s->has_codes = 1;
    s->season_year = y;
    s->hffmc = NAN; /* the hourly code restarts from the new start-up FFMC */
    s->nesterov = 0.0;
}

static int64_t local_day(const struct zone *z, int64_t t)
{
    return fw_time__local_day(t, z->p.utc_offset_min);
}

static void local_date(const struct zone *z, int64_t t, int *y, int *mo, int *d)
{
    fw_time__civil_from_days(local_day(z, t), y, mo, d);
}

/*
 * The daily step of the noon `noon`, from the stations' readings, or with `forecast` from that
 * weather instead (the scratch runs of tomorrow's expected level).
 */
static void daily_step(struct fw_models *m, struct zone *z, int64_t noon,
                       const struct fw_fwi_weather *forecast, struct fw_models_out *out)
{
    struct zone_state *s = &z->s;
    int y, mo, d;
    local_date(z, noon, &y, &mo, &d);
    int md = month_day(mo, d);
    if (!z->p.season_start_month) {
        if (!s->has_codes)
            season_begin(z, y);
    } else if (md >= month_day(z->p.season_start_month, z->p.season_start_day) &&
               s->season_year < y) {
        season_begin(z, y);
    }
    if (!in_season(z, y, md))
        return; /* out of season: nothing is computed and nothing is missing */

    struct fw_fwi_weather w;
    struct fw_fwi_codes today;
    struct fw_fwi_opts o;
    fw_fwi_opts_init(&o, z->p.lat, mo);
    o.ffmc_coef = z->p.ffmc_coef;
    o.lat_adjust = z->p.lat_adjust;
    s->last_noon = noon;
    s->tomorrow_dirty = 1;
    if (forecast)
        w = *forecast;
    /* A range error (a 65 degC sensor) is as unusable as no reading: the day is missing too. */
    if ((!forecast && gather(z, 0, noon, noon - DAY_MS, noon, &w) < 0) ||
        fw_fwi_daily(&s->codes, &w, &o, &today) < 0) {
        s->last_missing = 1;
        emit(m, z, O_MISSING, 1.0, noon, out);
        return;
    }
    /* The Nesterov sum takes the same noon weather and the 24 hours of rain to noon as its day:
     * a day that ends at noon (docs/models.md). Within the checked ranges it cannot fail. */
    struct fw_fwi_nesterov ni = {s->nesterov, 0.0};
    fw_fwi_nesterov(s->nesterov, w.temp_c, w.rh_pct, w.rain_mm, &ni);
    s->nesterov = ni.ni;
    s->codes = today;
    s->last_missing = 0;
    s->last_weather = w;
    s->level = fw_models_level(&z->p.levels, index_value(z->p.levels.index, &today, s->nesterov));
    emit(m, z, O_FFMC, today.ffmc, noon, out);
    emit(m, z, O_DMC, today.dmc, noon, out);
    emit(m, z, O_DC, today.dc, noon, out);
    emit(m, z, O_ISI, today.isi, noon, out);
    emit(m, z, O_BUI, today.bui, noon, out);
    emit(m, z, O_FWI, today.fwi, noon, out);
    emit(m, z, O_NESTEROV, s->nesterov, noon, out);
    if (z->p.zone_level)
        emit(m, z, O_LEVEL, s->level, noon, out);
    emit(m, z, O_MISSING, 0.0, noon, out);
}

/*
 * Advance the hourly FFMC to `hour`. Hours without data are skipped and the next computed hour
 * spans them (the step may be up to 24 h); after longer it restarts from the daily FFMC.
 */
static void hourly_step(struct fw_models *m, struct zone *z, int64_t hour,
                        struct fw_models_out *out)
{
    struct zone_state *s = &z->s;
    int y, mo, d;
    local_date(z, hour, &y, &mo, &d);
    if (!in_season(z, y, month_day(mo, d)))
        return;
    double prev = s->hffmc;
    int64_t from = s->hffmc_ms;
    if (isnan(prev) || hour - from > DAY_MS) {
        prev = s->codes.ffmc;
        from = hour - HOUR_MS;
    }
    struct fw_fwi_weather w;
    double f;
    if (gather(z, 1, hour, from, hour, &w) < 0 ||
        fw_fwi_hourly_ffmc(prev, &w, (double)(hour - from) / HOUR_MS, z->p.ffmc_coef, &f) < 0)
        return;
    s->hffmc = f;
    s->hffmc_ms = hour;
    emit(m, z, O_HFFMC, f, hour, out);
}

/* ------------------------------------------------------------------------------------------ */
/* Tomorrow's expected level                                                                   */
/* ------------------------------------------------------------------------------------------ */

static const struct forecast *forecast_of(const struct zone_state *s, int64_t day)
{
    for (size_t i = 0; i < s->nfc; i++)
        if (s->fc[i].day == day)
            return &s->fc[i];
    return NULL;
}

int fw_models_forecast(struct fw_models *m, const char *zone, int64_t day, int64_t issued_ms,
                       double temp_c, double rh_pct, double wind_ms, double rain_mm)
{
    struct zone *z = NULL;
    for (size_t i = 0; i < m->nzones && !z; i++)
        if (strcmp(m->zones[i].p.id, zone) == 0)
            z = &m->zones[i];
    if (!z)
        return -ENOENT;
    struct forecast f = {
        .day = day, .issued_ms = issued_ms, .w = {temp_c, rh_pct, wind_ms * 3.6, rain_mm}};
    if (!isfinite(wind_ms) || fw_fwi_weather_check(&f.w) < 0)
        return -EINVAL;
    struct zone_state *s = &z->s;
    if (s->next_noon && day < local_day(z, s->next_noon))
        return -ERANGE; /* that day is computed from observations already */
    size_t i = 0;
    while (i < s->nfc && s->fc[i].day < day)
        i++;
    if (i < s->nfc && s->fc[i].day == day) {
        if (s->fc[i].issued_ms > issued_ms)
            return -EALREADY; /* a later issue for that day is held */
        s->fc[i] = f;
    } else {
        /* Full: the farthest day gives way, the nearer days matter first. */
        if (i == FW_MODELS_MAX_FORECASTS)
            return -ENOSPC;
        size_t n = s->nfc < FW_MODELS_MAX_FORECASTS ? s->nfc : s->nfc - 1;
        memmove(&s->fc[i + 1], &s->fc[i], (n - i) * sizeof(s->fc[0]));
        s->fc[i] = f;
        s->nfc = n + 1;
    }
    s->tomorrow_dirty = 1;
    return 0;
}

/*
 * Tomorrow's level from the last computed day's codes and the forecasts: the daily step of every
 * day from the next noon to tomorrow's, each with its forecast, on a scratch copy of the zone.
 * The scratch step follows the real one, so a zone that has computed no day yet starts its
 * season from the start-up codes there as it would here. Returns 1 with *level and *fwi, or 0
 * when a day on the way has no forecast or is out of season.
 */
static int tomorrow_expected(struct fw_models *m, const struct zone *z, int64_t tomorrow,
                             int *level, double *fwi)
{
    if (local_day(z, z->s.next_noon) > tomorrow)
        return 0;
    struct zone *tmp = fw_xmalloc(sizeof(*tmp));
    *tmp = *z;
    struct fw_models_out scratch = {0};
    int ok = 1;
    int64_t noon = z->s.next_noon;
    for (int64_t day = local_day(z, noon); ok && day <= tomorrow; day++, noon += DAY_MS) {
        const struct forecast *f = forecast_of(&z->s, day);
        if (!f) {
            ok = 0;
            break;
        }
        tmp->s.last_noon = 0;
        daily_step(m, tmp, noon, &f->w, &scratch);
        ok = tmp->s.last_noon == noon && !tmp->s.last_missing;
    }
    if (ok) {
        *level = tmp->s.level;
        *fwi = tmp->s.codes.fwi;
    }
    fw_models_out_free(&scratch);
    free(tmp);
    return ok;
}

/*
 * Derive tomorrow's expected level after a forecast, a daily step or midnight, and emit it when it
 * changed: fire_danger_level_tomorrow with fwi_tomorrow, or fire_danger_level_tomorrow = 0 once
 * there is no forecast for the new tomorrow (so that yesterday's expectation does not linger).
 */
static void tomorrow_step(struct fw_models *m, struct zone *z, int64_t now,
                          struct fw_models_out *out)
{
    struct zone_state *s = &z->s;
    int64_t tomorrow = local_day(z, now) + 1;
    int64_t first = local_day(z, s->next_noon);
    size_t keep = 0;
    for (size_t i = 0; i < s->nfc; i++)
        if (s->fc[i].day >= first)
            s->fc[keep++] = s->fc[i];
    s->nfc = keep;
    if (!s->tomorrow_dirty && s->tomorrow_day == tomorrow)
        return;
    s->tomorrow_dirty = 0;
    int level = 0;
    double fwi = 0.0;
    int has = tomorrow_expected(m, z, tomorrow, &level, &fwi);
    int same = s->tomorrow_level == level && (!has || s->tomorrow_fwi == fwi);
    if (!has && s->tomorrow_level == 0) {
        s->tomorrow_day = tomorrow;
        return; /* nothing expected, nothing said before */
    }
    if (same && s->tomorrow_day == tomorrow)
        return;
    s->tomorrow_day = tomorrow;
    s->tomorrow_level = level;
    s->tomorrow_fwi = has ? fwi : 0.0;
    if (has)
        emit(m, z, O_TOMORROW_FWI, fwi, now, out);
    if (z->p.zone_level)
        emit(m, z, O_TOMORROW_LEVEL, level, now, out);
}

size_t fw_models_tick(struct fw_models *m, int64_t now_ms, struct fw_models_out *out)
{
    size_t before = out->n;
    for (size_t i = 0; i < m->nzones; i++) {
        struct zone *z = &m->zones[i];
        struct zone_state *s = &z->s;
        int64_t nwin = z->p.noon_window_min * MIN_MS;
        /* A fresh zone starts with the first noon and hour whose decision is not yet past:
         * earlier ones were not watched and would only be "missing" for that reason. */
        int64_t first_noon = grid_ceil(now_ms - nwin, z->noon_phase, DAY_MS);
        int64_t first_hour = grid_ceil(now_ms - HOUR_WINDOW_MS, z->hour_phase, HOUR_MS);
        if (s->next_noon == 0)
            s->next_noon = first_noon;
        if (s->next_hour == 0)
            s->next_hour = first_hour;
        int64_t oldest = first_noon - (FW_MODELS_MAX_CATCHUP_DAYS - 1) * DAY_MS;
        if (s->next_noon < oldest)
            s->next_noon = oldest;
        if (s->next_hour < first_hour - (MAX_CATCHUP_HOURS - 1) * HOUR_MS)
            s->next_hour = first_hour - (MAX_CATCHUP_HOURS - 1) * HOUR_MS;
        /* Both kinds of step in the order of their decision times (the daily one first on a
         * tie), so the hourly code sees the same daily codes however the caller ticks. */
        for (;;) {
            int64_t dn = s->next_noon + nwin;
            int64_t dh = z->p.hourly_ffmc ? s->next_hour + HOUR_WINDOW_MS : INT64_MAX;
            if (dn > now_ms && dh > now_ms)
                break;
            if (dn <= dh) {
                daily_step(m, z, s->next_noon, NULL, out);
                s->next_noon += DAY_MS;
            } else {
                hourly_step(m, z, s->next_hour, out);
                s->next_hour += HOUR_MS;
            }
        }
        tomorrow_step(m, z, now_ms, out);
    }
    return out->n - before;
}

int fw_models_zone_state(const struct fw_models *m, const char *zone_id,
                         struct fw_models_zone_state *st)
{
    for (size_t i = 0; i < m->nzones; i++) {
        const struct zone *z = &m->zones[i];
        if (strcmp(z->p.id, zone_id) != 0)
            continue;
        memset(st, 0, sizeof(*st));
        st->has_codes = z->s.has_codes;
        st->codes = z->s.codes;
        st->level = z->s.level;
        st->last_day_noon_ms = z->s.last_noon;
        st->last_day_missing = z->s.last_missing;
        st->noon = z->s.last_weather;
        st->hffmc = z->s.hffmc;
        st->nesterov = z->s.nesterov;
        return 0;
    }
    return -ENOENT;
}

/* ------------------------------------------------------------------------------------------ */
/* Save and restore                                                                            */
/* ------------------------------------------------------------------------------------------ */

static cJSON *save_cands(const struct cand *c)
{
    cJSON *a = cJSON_CreateArray();
    for (int q = 0; q < Q__COUNT; q++) {
        if (!c[q].has)
            continue;
        cJSON *e = cJSON_CreateArray();
        fw_modelutil_add_int(e, NULL, q);
        fw_modelutil_add_int(e, NULL, c[q].target);
        fw_modelutil_add_int(e, NULL, c[q].t);
        fw_modelutil_add_dbl(e, NULL, c[q].v);
        cJSON_AddItemToArray(a, e);
    }
    return a;
}

static cJSON *save_zone(const struct zone *z)
{
    const struct zone_state *s = &z->s;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", z->p.id);
    fw_modelutil_add_int(o, "next_noon", s->next_noon);
    fw_modelutil_add_int(o, "next_hour", s->next_hour);
    fw_modelutil_add_int(o, "season_year", s->season_year);
    fw_modelutil_add_int(o, "has_codes", s->has_codes);
    cJSON *c = cJSON_AddArrayToObject(o, "codes");
    const double codes[] = {s->codes.ffmc, s->codes.dmc, s->codes.dc, s->codes.isi,
                            s->codes.bui,  s->codes.fwi, s->codes.dsr};
    for (size_t k = 0; k < FW_ARRAY_LEN(codes); k++)
        fw_modelutil_add_dbl(c, NULL, codes[k]);
    fw_modelutil_add_int(o, "level", s->level);
    fw_modelutil_add_int(o, "last_noon", s->last_noon);
    fw_modelutil_add_int(o, "last_missing", s->last_missing);
    cJSON *w = cJSON_AddArrayToObject(o, "last_weather");
    fw_modelutil_add_dbl(w, NULL, s->last_weather.temp_c);
    fw_modelutil_add_dbl(w, NULL, s->last_weather.rh_pct);
    fw_modelutil_add_dbl(w, NULL, s->last_weather.wind_kmh);
    fw_modelutil_add_dbl(w, NULL, s->last_weather.rain_mm);
    fw_modelutil_add_dbl(o, "hffmc", s->hffmc);
    fw_modelutil_add_int(o, "hffmc_ms", s->hffmc_ms);
    fw_modelutil_add_dbl(o, "nesterov", s->nesterov);
    cJSON *fc = cJSON_AddArrayToObject(o, "forecasts");
    for (size_t k = 0; k < s->nfc; k++) {
        cJSON *e = cJSON_CreateArray();
        fw_modelutil_add_int(e, NULL, s->fc[k].day);
        fw_modelutil_add_dbl(e, NULL, s->fc[k].w.temp_c);
        fw_modelutil_add_dbl(e, NULL, s->fc[k].w.rh_pct);
        fw_modelutil_add_dbl(e, NULL, s->fc[k].w.wind_kmh);
        fw_modelutil_add_dbl(e, NULL, s->fc[k].w.rain_mm);
        fw_modelutil_add_int(e, NULL, s->fc[k].issued_ms);
        cJSON_AddItemToArray(fc, e);
    }
    fw_modelutil_add_int(o, "tomorrow_day", s->tomorrow_day);
    fw_modelutil_add_int(o, "tomorrow_level", s->tomorrow_level);
    fw_modelutil_add_dbl(o, "tomorrow_fwi", s->tomorrow_fwi);
    cJSON *st = cJSON_AddArrayToObject(o, "stations");
    for (size_t k = 0; k < z->nslots; k++) {
        const struct slot *sl = &s->slots[k];
        cJSON *so = cJSON_CreateObject();
        cJSON_AddStringToObject(so, "id",
                                fw_stations_id(z->p.stations, z->p.nstations, z->p.fallback, k));
        cJSON_AddItemToObject(so, "rain", fw_stations_rain_save(&sl->rain));
        cJSON_AddItemToObject(so, "noon", save_cands(sl->noon));
        cJSON_AddItemToObject(so, "hour", save_cands(sl->hour));
        cJSON_AddItemToArray(st, so);
    }
    return o;
}

int fw_models_save(const struct fw_models *m, char **json)
{
    cJSON *zones;
    cJSON *root = fw_modelutil_saved_new(&zones);
    for (size_t i = 0; i < m->nzones; i++)
        cJSON_AddItemToArray(zones, save_zone(&m->zones[i]));
    *json = fw_modelutil_saved_print(root);
    return 0;
}

/* Member `key` of object `o`, an integer in [lo, hi]. */
static int get_member_int(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    return fw_modelutil_get_int(cJSON_GetObjectItemCaseSensitive(o, key), 0, lo, hi, out);
}

static int get_dbls(const cJSON *a, double *out, int n)
{
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return -EINVAL;
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (fw_modelutil_get_dbl(e, 0, &out[k++]) < 0)
            return -EINVAL;
    }
    return 0;
}

static int restore_cands(const cJSON *a, struct cand *c)
{
    if (!cJSON_IsArray(a))
        return -EINVAL;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        int64_t q, target, t;
        double v;
        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 4 ||
            fw_modelutil_get_int(cJSON_GetArrayItem(e, 0), 0, 0, Q__COUNT - 1, &q) < 0 ||
            fw_modelutil_get_int(cJSON_GetArrayItem(e, 1), 0, INT64_MIN, INT64_MAX, &target) < 0 ||
            fw_modelutil_get_int(cJSON_GetArrayItem(e, 2), 0, INT64_MIN, INT64_MAX, &t) < 0 ||
            fw_modelutil_get_dbl(cJSON_GetArrayItem(e, 3), 0, &v) < 0)
            return -EINVAL;
        c[q] = (struct cand){.target = target, .t = t, .v = v, .has = 1};
    }
    return 0;
}

static int restore_slot(const cJSON *so, struct slot *sl)
{
    if (fw_stations_rain_restore(cJSON_GetObjectItemCaseSensitive(so, "rain"), &sl->rain) < 0 ||
        restore_cands(cJSON_GetObjectItemCaseSensitive(so, "noon"), sl->noon) < 0 ||
        restore_cands(cJSON_GetObjectItemCaseSensitive(so, "hour"), sl->hour) < 0)
        return -EINVAL;
    return 0;
}

/* The forecasts and the last tomorrow's level; absent in a state saved before forecasts existed. */
static int restore_forecasts(const cJSON *o, struct zone_state *s)
{
    const cJSON *fc = cJSON_GetObjectItemCaseSensitive(o, "forecasts");
    if (!fc)
        return 0;
    int64_t day, level;
    if (!cJSON_IsArray(fc) || cJSON_GetArraySize(fc) > FW_MODELS_MAX_FORECASTS ||
        get_member_int(o, "tomorrow_day", 0, INT32_MAX, &day) < 0 ||
        get_member_int(o, "tomorrow_level", 0, FW_MODELS_LEVELS, &level) < 0 ||
        fw_modelutil_get_dbl(cJSON_GetObjectItemCaseSensitive(o, "tomorrow_fwi"), 0,
                             &s->tomorrow_fwi) < 0)
        return -EINVAL;
    s->tomorrow_day = day;
    s->tomorrow_level = (int)level;
    s->nfc = 0; /* a text naming the zone twice restores it twice */
    const cJSON *e;
    cJSON_ArrayForEach(e, fc)
    {
        /* Day and weather, then the issue time, absent from states saved before it was kept. */
        double v[6] = {0};
        int n = cJSON_IsArray(e) ? cJSON_GetArraySize(e) : 0;
        if (s->nfc == FW_MODELS_MAX_FORECASTS || (n != 5 && n != 6) || get_dbls(e, v, n) < 0 ||
            v[0] != floor(v[0]) || fabs(v[0]) > INT32_MAX || v[5] != floor(v[5]) ||
            fabs(v[5]) > 9007199254740992.0)
            return -EINVAL;
        struct forecast *f = &s->fc[s->nfc];
        *f = (struct forecast){
            .day = (int64_t)v[0], .issued_ms = (int64_t)v[5], .w = {v[1], v[2], v[3], v[4]}};
        if (fw_fwi_weather_check(&f->w) < 0 || (s->nfc && f->day <= s->fc[s->nfc - 1].day))
            return -EINVAL;
        s->nfc++;
    }
    return 0;
}

static int restore_zone(const cJSON *o, struct zone *z, struct zone_state *s)
{
    int64_t v[8];
    double codes[7], w[4];
    const cJSON *hffmc = cJSON_GetObjectItemCaseSensitive(o, "hffmc");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "stations");
    if (get_member_int(o, "next_noon", 0, INT64_MAX, &v[0]) < 0 ||
        get_member_int(o, "next_hour", 0, INT64_MAX, &v[1]) < 0 ||
        get_member_int(o, "season_year", 0, 1000000, &v[2]) < 0 ||
        get_member_int(o, "has_codes", 0, 1, &v[3]) < 0 ||
        get_member_int(o, "level", 0, 5, &v[4]) < 0 ||
        get_member_int(o, "last_noon", INT64_MIN, INT64_MAX, &v[5]) < 0 ||
        get_member_int(o, "last_missing", 0, 1, &v[6]) < 0 ||
        get_member_int(o, "hffmc_ms", INT64_MIN, INT64_MAX, &v[7]) < 0 ||
        get_dbls(cJSON_GetObjectItemCaseSensitive(o, "codes"), codes, 7) < 0 ||
        get_dbls(cJSON_GetObjectItemCaseSensitive(o, "last_weather"), w, 4) < 0 ||
        fw_modelutil_get_dbl(hffmc, 1, &s->hffmc) < 0 || !cJSON_IsArray(st))
        return -EINVAL;
    /* Codes that fw_fwi_daily() would reject would only make every later day "missing". */
    if (!(codes[0] >= 0.0 && codes[0] <= 101.0) || codes[1] < 0.0 || codes[2] < 0.0)
        return -EINVAL;
    /* The Nesterov sum: absent from states saved before it was kept, which start it at 0. */
    const cJSON *ni = cJSON_GetObjectItemCaseSensitive(o, "nesterov");
    s->nesterov = 0.0;
    if (ni && (fw_modelutil_get_dbl(ni, 0, &s->nesterov) < 0 || s->nesterov < 0.0))
        return -EINVAL;
    /* After a change of the zone's UTC offset the saved times are off the new grid: move on to
     * the next grid point rather than compute at a time that is no longer noon. */
    s->next_noon = v[0] ? grid_ceil(v[0], z->noon_phase, DAY_MS) : 0;
    s->next_hour = v[1] ? grid_ceil(v[1], z->hour_phase, HOUR_MS) : 0;
    s->season_year = (int)v[2];
    s->has_codes = (int)v[3];
    s->level = (int)v[4];
    s->last_noon = v[5];
    s->last_missing = (int)v[6];
    s->hffmc_ms = v[7];
    s->codes =
        (struct fw_fwi_codes){codes[0], codes[1], codes[2], codes[3], codes[4], codes[5], codes[6]};
    s->last_weather = (struct fw_fwi_weather){w[0], w[1], w[2], w[3]};
    if (restore_forecasts(o, s) < 0)
        return -EINVAL;
    /* Derive tomorrow's level again at the next tick: a forecast may have come after the last
     * derivation, or the zone's levels or season may have changed on a reload. The level is
     * emitted again only if it differs from the restored one. */
    s->tomorrow_dirty = 1;
    const cJSON *so;
    cJSON_ArrayForEach(so, st)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(so, "id");
        if (!cJSON_IsString(id))
            return -EINVAL;
        for (size_t k = 0; k < z->nslots; k++) {
            const char *sid = fw_stations_id(z->p.stations, z->p.nstations, z->p.fallback, k);
            if (strcmp(sid, id->valuestring) == 0 && restore_slot(so, &s->slots[k]) < 0)
                return -EINVAL;
        }
    }
    return 0;
}

static void init_cb(void *state)
{
    state_init(state);
}

static int restore_cb(const cJSON *o, const void *zone, void *state)
{
    return restore_zone(o, (struct zone *)zone, state);
}

int fw_models_restore(struct fw_models *m, const char *json)
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
