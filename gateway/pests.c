/* SPDX-License-Identifier: MIT */
/*
 * The per-zone pest model. Each zone keeps, for every node it names (temperature stations, the
 * fallback, trap nodes), the extremes, the covered hours and the trap catch of the last few local
 * days, and the zone's hourly temperature and humidity sums for disease weather. A daily step at
 * the end of a local day + close_delay turns the day's readings into the zone's minimum and
 * maximum (or marks the day missing), finalizes one day of degree-days per pest with fw_degday()
 * (for the double methods the day before, once this day's minimum is known), moves the biofix and
 * the stages on, and projects the days to the next stage from forecast days or the last week's
 * rate. An hourly step counts the hours of disease weather in the last 24. Everything is
 * fixed-size per zone, so readings can never make the model grow, and the state is plain numbers,
 * so it saves to JSON and restores exactly. The conventions are in docs/pests.md.
 */
#include "forestwatch/pests.h"

#include "forestwatch/modelutil.h"
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
/* An hour of disease weather is computed 30 min after it ends, for late readings. */
#define HOUR_GRACE_MS (30 * MIN_MS)
#define MAX_CATCHUP_HOURS 48
#define MAX_SAVED_BYTES (4u * 1024 * 1024)
/* Days buffered per node: the day being closed (during close_delay), today and one ahead for a
 * node whose clock runs a little fast. */
#define NDAYSLOTS 4
#define NHOURSLOTS 4
/* Finalized degree-days kept per pest: the 7-day rate and a trap biofix up to 7 days back. */
#define NHIST 8
#define NFORECAST 16
#define NWEEK 7
#define MAX_NODES (FW_PESTS_MAX_STATIONS + 1 + FW_PESTS_MAX_PESTS * FW_PESTS_MAX_TRAPS)
#define HOURS_MASK 0xffffffu
#define NONE INT64_MIN /* an unset day or hour; fw_modelutil_get_int() reads a null as it */

enum { ROLE_STATION = 1, ROLE_FALLBACK = 2, ROLE_TRAP = 4 };

struct dayslot {
    int64_t day; /* NONE when empty */
    double tmin, tmax;
    uint32_t hours; /* bit h: a temperature reading in local hour h */
    double trap;
    int has_trap;
};

/* Sums over one local hour; [0] over the stations, [1] the fallback's. */
struct hourslot {
    int64_t hour;
    double sum_t[2], sum_rh[2];
    int n_t[2], n_rh[2];
};

struct hist {
    int64_t day;
    double dd;
    int valid;
};

/* The zone's trap catch of one closed day, for the weekly sum. */
struct weekday {
    int64_t day;
    double count;
    int has;
};

struct fcday {
    int64_t day;
    double tmin, tmax;
    int64_t issued_ms; /* a later issue replaces an earlier one; 0 in states saved without it */
};

struct pest_state {
    int has_biofix;
    int64_t biofix_day;
    double cum;
    int run; /* consecutive days the trap catch reached the threshold, ending at run_last */
    int64_t run_last;
    struct hist hist[NHIST];
    int days;  /* the latest projection, -1 unknown */
    int stage; /* the stage it is about (just reached, or next) */
    /* Not saved: derived from cum (reached) or only alive during one step (just_reached). */
    size_t reached;
    int just_reached;
};

struct zone_state {
    int64_t next_day, next_hour;
    int64_t prev_day; /* the last closed day, NONE before the first */
    double prev_tmin, prev_tmax;
    int prev_valid;
    struct dayslot slots[MAX_NODES][NDAYSLOTS];
    struct hourslot hours[NHOURSLOTS];
    uint32_t risk_bits, known_bits;
    int64_t risk_last;
    struct weekday week[NWEEK];
    struct fcday fc[NFORECAST];
    struct pest_state pests[FW_PESTS_MAX_PESTS];
};

struct node {
    const char *id; /* points into the zone's parameters */
    int roles;
};

struct zone {
    struct fw_pests_zone p;
    struct node nodes[MAX_NODES];
    size_t nnodes, ntrapnodes;
    int64_t off; /* utc offset, ms */
    struct zone_state s;
};

enum out_index { O_DD, O_DAYS, O_MISSING, O_TRAP_DAY, O_TRAP_WEEK, O_DISEASE };
static const char *const out_names[] = {"degree_days",        "pest_days_to_stage",
                                        "pest_model_missing", "trap_count_day",
                                        "trap_count_week",    "disease_risk_hours"};

struct fw_pests {
    struct zone *zones;
    size_t nzones;
    const struct fw_metric *temp, *rh, *trap;
    const struct fw_metric *out_metric[FW_ARRAY_LEN(out_names)];
};

/* ------------------------------------------------------------------------------------------ */
/* Time arithmetic                                                                             */
/* ------------------------------------------------------------------------------------------ */

static int year_of(int64_t day)
{
    int y, m, d;
    fw_time__civil_from_days(day, &y, &m, &d);
    return y;
}

static int popcount24(uint32_t v)
{
    int n = 0;
    for (v &= HOURS_MASK; v; v &= v - 1)
        n++;
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Parameters                                                                                  */
/* ------------------------------------------------------------------------------------------ */

void fw_pests_pest_init(struct fw_pests_pest *p, const char *id)
{
    memset(p, 0, sizeof(*p));
    fw_strlcpy(p->id, id, sizeof(p->id));
    p->method = FW_DD_AVERAGE;
    p->cutoff = FW_DD_HORIZONTAL;
    /* No default: SCIENCE.md E could not verify a threshold for most pests of the region. */
    p->lower = NAN;
    p->upper = FW_DD_NO_UPPER;
    p->biofix = FW_PESTS_BIOFIX_DATE;
    p->trap_days = 3;
}

void fw_pests_zone_init(struct fw_pests_zone *z, const char *id)
{
    memset(z, 0, sizeof(*z));
    fw_strlcpy(z->id, id, sizeof(z->id));
    z->min_hours = 20;
    z->close_delay_min = 60;
    z->disease.rh_min = NAN;
    z->disease.temp_lo = NAN;
    z->disease.temp_hi = NAN;
}

static int temp_ok(double t)
{
    return t >= -90.0 && t <= 70.0;
}

static int pest_check(const struct fw_pests_pest *p, const char **err)
{
    double dd;
    if (p->id[0] == '\0')
        *err = "pest id: must not be empty";
    else if (fw_dd_method_name(p->method)[0] == '?')
        *err = "pest method: unknown method";
    else if (fw_dd_cutoff_name(p->cutoff)[0] == '?')
        *err = "pest cutoff: unknown cutoff";
    else if (isnan(p->lower))
        *err = "pest lower: must be set; no verified value is assumed";
    else if (!temp_ok(p->lower))
        *err = "pest lower: must be -90..70 degC";
    else if (p->upper != FW_DD_NO_UPPER && !(temp_ok(p->upper) && p->upper > p->lower))
        *err = "pest upper: must be above lower and at most 70 degC, or none";
    else if (fw_degday(p->method, p->cutoff, 0.0, 1.0, FW_DD_NEXT_UNKNOWN, p->lower, p->upper,
                       &dd) < 0)
        *err = "pest: the thresholds are not accepted by the degree-day method";
    else if (p->biofix == FW_PESTS_BIOFIX_DATE &&
             !fw_modelutil_date_ok(p->biofix_month, p->biofix_day))
        *err = "pest biofix: not a valid month and day";
    else if (p->biofix != FW_PESTS_BIOFIX_DATE && p->biofix != FW_PESTS_BIOFIX_TRAP)
        *err = "pest biofix: must be a date or a trap event";
    else if (p->biofix == FW_PESTS_BIOFIX_TRAP && (p->ntraps < 1 || p->ntraps > FW_PESTS_MAX_TRAPS))
        *err = "pest traps: a trap biofix needs 1..8 trap nodes";
    else if (p->biofix == FW_PESTS_BIOFIX_TRAP && !(p->trap_count > 0.0 && p->trap_count <= 1e6))
        *err = "pest trap_count: must be above 0 and at most 1000000";
    else if (p->biofix == FW_PESTS_BIOFIX_TRAP &&
             (p->trap_days < 1 || p->trap_days > FW_PESTS_MAX_RUN))
        *err = "pest trap_days: must be 1..7";
    else if (p->ntraps > FW_PESTS_MAX_TRAPS)
        *err = "pest traps: at most 8 trap nodes";
    else if (p->nstages < 1 || p->nstages > FW_PESTS_MAX_STAGES)
        *err = "pest stages: must list 1..8 stages";
    if (*err)
        return -EINVAL;
    for (size_t i = 0; i < p->ntraps; i++)
        if (p->traps[i][0] == '\0') {
            *err = "pest traps: an id is empty";
            return -EINVAL;
        }
    for (size_t k = 0; k < p->nstages; k++) {
        const struct fw_pests_stage *st = &p->stages[k];
        if (st->name[0] == '\0') {
            *err = "pest stage name: must not be empty";
            return -EINVAL;
        }
        if (!(st->dd > 0.0 && st->dd <= 1e5) || (k > 0 && !(st->dd > p->stages[k - 1].dd))) {
            *err = "pest stage dd: must be ascending numbers in (0, 100000]";
            return -EINVAL;
        }
    }
    return 0;
}

int fw_pests_zone_check(const struct fw_pests_zone *z, const char **err)
{
    *err = NULL;
    if (z->id[0] == '\0')
        *err = "id: must not be empty";
    else if (z->utc_offset_min < -720 || z->utc_offset_min > 840 || z->utc_offset_min % 15 != 0)
        *err = "utc_offset_min: must be a multiple of 15 in -720..840";
    else if (z->nstations < 1 || z->nstations > FW_PESTS_MAX_STATIONS)
        *err = "stations: must name 1..8 stations";
    else if (z->min_hours < 1 || z->min_hours > 24)
        *err = "min_hours: must be 1..24";
    else if (z->close_delay_min < 0 || z->close_delay_min > 360)
        *err = "close_delay_min: must be 0..360";
    else if (z->npests > FW_PESTS_MAX_PESTS)
        *err = "pests: at most 8 per zone";
    else if (z->disease.enabled && !(z->disease.rh_min >= 0.0 && z->disease.rh_min <= 100.0 &&
                                     temp_ok(z->disease.temp_lo) && temp_ok(z->disease.temp_hi) &&
                                     z->disease.temp_lo <= z->disease.temp_hi))
        *err = "disease: rh_min must be 0..100 and temp_lo <= temp_hi within -90..70 degC";
    if (*err)
        return -EINVAL;
    if (fw_modelutil_stations_check(z->stations, z->nstations, z->fallback, err) < 0)
        return -EINVAL;
    for (size_t i = 0; i < z->npests; i++) {
        if (pest_check(&z->pests[i], err) < 0)
            return -EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(z->pests[i].id, z->pests[j].id) == 0) {
                *err = "pest id: two pests of the zone have the same id";
                return -EINVAL;
            }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Lifecycle                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static void state_init(struct zone_state *s)
{
    memset(s, 0, sizeof(*s));
    s->next_day = s->next_hour = s->prev_day = s->risk_last = NONE;
    for (size_t k = 0; k < MAX_NODES; k++)
        for (int d = 0; d < NDAYSLOTS; d++)
            s->slots[k][d].day = NONE;
    for (int h = 0; h < NHOURSLOTS; h++)
        s->hours[h].hour = NONE;
    for (int d = 0; d < NWEEK; d++)
        s->week[d].day = NONE;
    for (int d = 0; d < NFORECAST; d++)
        s->fc[d].day = NONE;
    for (size_t i = 0; i < FW_PESTS_MAX_PESTS; i++) {
        struct pest_state *ps = &s->pests[i];
        ps->run_last = NONE;
        ps->days = -1;
        for (int k = 0; k < NHIST; k++)
            ps->hist[k].day = NONE;
    }
}

static void node_add(struct zone *z, const char *id, int role)
{
    for (size_t k = 0; k < z->nnodes; k++)
        if (strcmp(z->nodes[k].id, id) == 0) {
            if (role == ROLE_TRAP && !(z->nodes[k].roles & ROLE_TRAP))
                z->ntrapnodes++;
            z->nodes[k].roles |= role;
            return;
        }
    FW_ASSERT(z->nnodes < MAX_NODES);
    z->nodes[z->nnodes++] = (struct node){id, role};
    if (role == ROLE_TRAP)
        z->ntrapnodes++;
}

int fw_pests_new(const struct fw_pests_zone *zones, size_t n, struct fw_pests **out,
                 const char **err)
{
    for (size_t i = 0; i < n; i++) {
        if (fw_pests_zone_check(&zones[i], err) < 0)
            return -EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(zones[i].id, zones[j].id) == 0) {
                *err = "id: two zones have the same id";
                return -EINVAL;
            }
    }
    struct fw_pests *m = fw_xcalloc(1, sizeof(*m));
    m->zones = fw_xcalloc(n ? n : 1, sizeof(*m->zones));
    m->nzones = n;
    for (size_t i = 0; i < n; i++) {
        struct zone *z = &m->zones[i];
        z->p = zones[i];
        z->off = (int64_t)z->p.utc_offset_min * MIN_MS;
        for (size_t k = 0; k < z->p.nstations; k++)
            node_add(z, z->p.stations[k], ROLE_STATION);
        if (z->p.fallback[0])
            node_add(z, z->p.fallback, ROLE_FALLBACK);
        for (size_t p = 0; p < z->p.npests; p++)
            for (size_t k = 0; k < z->p.pests[p].ntraps; k++)
                node_add(z, z->p.pests[p].traps[k], ROLE_TRAP);
        state_init(&z->s);
    }
    m->temp = fw_metric_find("air_temp_c");
    m->rh = fw_metric_find("rel_humidity_pct");
    m->trap = fw_metric_find("trap_count");
    for (size_t k = 0; k < FW_ARRAY_LEN(out_names); k++) {
        m->out_metric[k] = fw_metric_find(out_names[k]);
        FW_ASSERT(m->out_metric[k]); /* reading.c's table must list every derived metric */
    }
    *err = NULL;
    *out = m;
    return 0;
}

void fw_pests_free(struct fw_pests *m)
{
    if (!m)
        return;
    free(m->zones);
    free(m);
}

void fw_pests_out_free(struct fw_pests_out *o)
{
    free(o->v);
    memset(o, 0, sizeof(*o));
}

static struct zone *zone_find(const struct fw_pests *m, const char *id)
{
    for (size_t i = 0; i < m->nzones; i++)
        if (strcmp(m->zones[i].p.id, id) == 0)
            return &m->zones[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Feeding                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* The slot of `day`, claimed if it holds an older day; NULL for a day older than the slot's. A
 * newer day evicts an older one only after a long stop, when that day is past catching up. */
static struct dayslot *day_slot(struct dayslot *slots, int64_t day)
{
    struct dayslot *s = &slots[fw_floor_mod(day, NDAYSLOTS)];
    if (s->day == day)
        return s;
    if (s->day != NONE && s->day > day)
        return NULL;
    *s = (struct dayslot){.day = day, .tmin = NAN, .tmax = NAN};
    return s;
}

static struct hourslot *hour_slot(struct hourslot *slots, int64_t hour)
{
    struct hourslot *s = &slots[fw_floor_mod(hour, NHOURSLOTS)];
    if (s->hour == hour)
        return s;
    if (s->hour != NONE && s->hour > hour)
        return NULL;
    *s = (struct hourslot){.hour = hour};
    return s;
}

static void node_feed(const struct fw_pests *m, struct zone *z, size_t k,
                      const struct fw_reading *r)
{
    struct zone_state *s = &z->s;
    int roles = z->nodes[k].roles;
    int64_t local = r->time_ms + z->off;
    int64_t day = fw_floor_div(local, DAY_MS), hour = fw_floor_div(local, HOUR_MS);
    int temp_role = roles & (ROLE_STATION | ROLE_FALLBACK);
    if (r->metric == m->trap ? (roles & ROLE_TRAP) : (temp_role && r->metric == m->temp)) {
        struct dayslot *d =
            (s->next_day == NONE || day >= s->next_day) ? day_slot(s->slots[k], day) : NULL;
        if (d && r->metric == m->trap) {
            if (r->value >= 0.0) {
                d->trap += r->value;
                d->has_trap = 1;
            }
        } else if (d) {
            d->tmin = d->hours && d->tmin <= r->value ? d->tmin : r->value;
            d->tmax = d->hours && d->tmax >= r->value ? d->tmax : r->value;
            d->hours |= 1u << fw_floor_mod(hour, 24);
        }
    }
    if (temp_role && z->p.disease.enabled && (r->metric == m->temp || r->metric == m->rh) &&
        (s->next_hour == NONE || hour >= s->next_hour)) {
        struct hourslot *h = hour_slot(s->hours, hour);
        int f = (roles & ROLE_STATION) ? 0 : 1;
        if (h && r->metric == m->temp) {
            h->sum_t[f] += r->value;
            h->n_t[f]++;
        } else if (h) {
            h->sum_rh[f] += r->value;
            h->n_rh[f]++;
        }
    }
}

void fw_pests_feed(struct fw_pests *m, const struct fw_reading *r)
{
    if (r->source == FW_SOURCE_DERIVED || !r->metric || !isfinite(r->value))
        return;
    if (r->metric != m->temp && r->metric != m->rh && r->metric != m->trap)
        return;
    for (size_t i = 0; i < m->nzones; i++) {
        struct zone *z = &m->zones[i];
        for (size_t k = 0; k < z->nnodes; k++)
            if (strcmp(z->nodes[k].id, r->station) == 0)
                node_feed(m, z, k, r);
    }
}

int fw_pests_forecast(struct fw_pests *m, const char *zone, int64_t day, int64_t issued_ms,
                      double tmin, double tmax)
{
    struct zone *z = zone_find(m, zone);
    if (!z)
        return -ENOENT;
    if (!temp_ok(tmin) || !temp_ok(tmax) || tmin > tmax)
        return -EINVAL;
    struct fcday *f = &z->s.fc[fw_floor_mod(day, NFORECAST)];
    /* The slot is taken by the newest day: an older forecast day is of no use any more. */
    if (f->day != NONE && f->day > day)
        return 0;
    if (f->day == day && f->issued_ms > issued_ms)
        return -EALREADY;
    *f = (struct fcday){.day = day, .tmin = tmin, .tmax = tmax, .issued_ms = issued_ms};
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Steps                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void emit(struct fw_pests *m, const struct zone *z, enum out_index k, double v, int64_t t,
                 struct fw_pests_out *out)
{
    fw_modelutil_emit(&out->v, &out->n, &out->cap, z->p.id, m->out_metric[k], v, t);
}

/*
 * The zone's extremes of local day `day`: the means of the minima and maxima of the stations
 * whose readings cover at least min_hours of its hours, or the fallback's when none does. A
 * station that reported only in the afternoon would give a minimum far too high, which is why
 * coverage and not a count of readings decides. Returns 0, or -ENODATA for a missing day.
 */
static int day_extremes(const struct zone *z, int64_t day, double *tmin, double *tmax)
{
    for (int role = ROLE_STATION; role <= ROLE_FALLBACK; role <<= 1) {
        double lo = 0.0, hi = 0.0;
        int n = 0;
        for (size_t k = 0; k < z->nnodes; k++) {
            const struct dayslot *d = &z->s.slots[k][fw_floor_mod(day, NDAYSLOTS)];
            if (!(z->nodes[k].roles & role) || d->day != day ||
                popcount24(d->hours) < z->p.min_hours)
                continue;
            lo += d->tmin;
            hi += d->tmax;
            n++;
        }
        if (n > 0) {
            *tmin = lo / n;
            *tmax = hi / n;
            /* the mean of the minima can exceed the mean of the maxima only by rounding */
            if (*tmin > *tmax)
                *tmin = *tmax;
            return 0;
        }
    }
    return -ENODATA;
}

/* The catch of local day `day` summed over `traps` (or every trap node of the zone when NULL),
 * over the traps that reported; *has is 0 when none did. */
static double trap_total(const struct zone *z, int64_t day, const struct fw_pests_pest *p, int *has)
{
    double sum = 0.0;
    *has = 0;
    for (size_t k = 0; k < z->nnodes; k++) {
        const struct dayslot *d = &z->s.slots[k][fw_floor_mod(day, NDAYSLOTS)];
        if (!(z->nodes[k].roles & ROLE_TRAP) || d->day != day || !d->has_trap)
            continue;
        int mine = !p;
        for (size_t t = 0; p && t < p->ntraps; t++)
            mine |= strcmp(p->traps[t], z->nodes[k].id) == 0;
        if (mine) {
            sum += d->trap;
            *has = 1;
        }
    }
    return sum;
}

static void stages_advance(const struct fw_pests_pest *p, struct pest_state *ps)
{
    while (ps->reached < p->nstages && ps->cum >= p->stages[ps->reached].dd) {
        ps->reached++;
        ps->just_reached = 1;
    }
}

static size_t stages_reached(const struct fw_pests_pest *p, double cum)
{
    size_t k = 0;
    while (k < p->nstages && cum >= p->stages[k].dd)
        k++;
    return k;
}

/*
 * Start a season at `day`. The sum takes the finalized days from `day` on that are still in the
 * history: none for a biofix on its own date, the days of the run for a trap biofix, and up to a
 * week for a model started a little after the biofix date.
 */
static void biofix_set(const struct fw_pests_pest *p, struct pest_state *ps, int64_t day)
{
    ps->has_biofix = 1;
    ps->biofix_day = day;
    ps->cum = 0.0;
    ps->reached = 0;
    for (int k = 0; k < NHIST; k++)
        if (ps->hist[k].day != NONE && ps->hist[k].day >= day && ps->hist[k].valid)
            ps->cum += ps->hist[k].dd;
    stages_advance(p, ps);
}

/*
 * The biofix, decided on closed day `x` before any day is finalized in the step, so that the
 * double methods (which finalize the day before) and the single ones start on the same day. A
 * date starts a season on the first day on or after it, once a year; a trap run starts one on the
 * run's first day, once per calendar year, and a trap biofix ends with its year.
 */
static void biofix_update(const struct zone *z, const struct fw_pests_pest *p,
                          struct pest_state *ps, int64_t x)
{
    int y, mo, d;
    fw_time__civil_from_days(x, &y, &mo, &d);
    if (p->biofix == FW_PESTS_BIOFIX_DATE) {
        if (mo * 100 + d >= p->biofix_month * 100 + p->biofix_day &&
            (!ps->has_biofix || year_of(ps->biofix_day) < y))
            biofix_set(
                p, ps,
                fw_time__days_from_civil(y, (unsigned)p->biofix_month, (unsigned)p->biofix_day));
        return;
    }
    if (ps->has_biofix && year_of(ps->biofix_day) < y) {
        ps->has_biofix = 0;
        ps->cum = 0.0;
        ps->reached = 0;
    }
    int has;
    double total = trap_total(z, x, p, &has);
    if (has && total >= p->trap_count)
        ps->run = (ps->run_last != NONE && ps->run_last == x - 1) ? ps->run + 1 : 1;
    else
        ps->run = 0; /* a day without a report breaks the run: the catch is unknown */
    ps->run_last = x;
    if (ps->run >= p->trap_days && !ps->has_biofix)
        biofix_set(p, ps, x - p->trap_days + 1);
}

/* One pest's degree-days of day `f`, now final: the history, the sum, the stages. */
static void finalize(const struct fw_pests_pest *p, struct pest_state *ps, int64_t f, int valid,
                     double tmin, double tmax, double tmin_next)
{
    double dd = 0.0;
    if (valid &&
        fw_degday(p->method, p->cutoff, tmin, tmax, tmin_next, p->lower, p->upper, &dd) < 0)
        valid = 0;
    ps->hist[fw_floor_mod(f, NHIST)] = (struct hist){f, dd, valid};
    if (ps->has_biofix && f >= ps->biofix_day && valid) {
        ps->cum += dd;
        stages_advance(p, ps);
    }
}

static int fc_get(const struct zone_state *s, int64_t day, double *tmin, double *tmax)
{
    const struct fcday *f = &s->fc[fw_floor_mod(day, NFORECAST)];
    if (f->day != day)
        return -ENOENT;
    *tmin = f->tmin;
    *tmax = f->tmax;
    return 0;
}

/*
 * The pest the zone's readings describe: the one with the soonest next stage (docs/pests.md),
 * else the first with a biofix; -1 for none. The zone metrics carry no pest label, and the
 * soonest stage is the one to act on.
 */
static int zone_pest(const struct zone *z)
{
    const struct zone_state *s = &z->s;
    int best = -1;
    for (size_t i = 0; i < z->p.npests; i++) {
        const struct pest_state *ps = &s->pests[i];
        if (ps->days >= 0 && (best < 0 || ps->days < s->pests[best].days))
            best = (int)i;
    }
    for (size_t i = 0; best < 0 && i < z->p.npests; i++)
        if (s->pests[i].has_biofix)
            best = (int)i;
    return best;
}

/*
 * Days from closed day `x` until the pest's next stage: walk the days after the last finalized
 * one, adding observed degree-days (the double methods' day x, provisional with its own or the
 * forecast next minimum), forecast ones where a forecast day exists, and otherwise the mean of
 * the finalized days of the last week. The stage is expected on the first day the walk reaches
 * it; the answer is that day minus x, capped at FW_PESTS_DAYS_CAP. -1 when it cannot be told.
 */
static int project(const struct zone *z, const struct fw_pests_pest *p, const struct pest_state *ps,
                   int64_t x, int valid_x, double tmin_x, double tmax_x)
{
    if (!ps->has_biofix)
        return -1;
    if (ps->just_reached)
        return 0;
    if (ps->reached >= p->nstages)
        return FW_PESTS_DAYS_CAP;
    int dbl = fw_dd_method_uses_next(p->method);
    int64_t last = dbl ? x - 1 : x; /* the last finalized day */
    double rate = 0.0;
    int nrate = 0;
    for (int k = 0; k < NHIST; k++)
        if (ps->hist[k].valid && ps->hist[k].day > last - 7 && ps->hist[k].day <= last) {
            rate += ps->hist[k].dd;
            nrate++;
        }
    if (nrate)
        rate /= nrate;
    double target = p->stages[ps->reached].dd, cum = ps->cum;
    for (int64_t d = last + 1; d <= x + FW_PESTS_DAYS_CAP; d++) {
        double lo, hi, next_lo, next_hi, dd;
        double next =
            dbl && fc_get(&z->s, d + 1, &next_lo, &next_hi) == 0 ? next_lo : FW_DD_NEXT_UNKNOWN;
        if (d == x && valid_x &&
            fw_degday(p->method, p->cutoff, tmin_x, tmax_x, next, p->lower, p->upper, &dd) == 0) {
            /* day x of a double method: observed, only its next minimum is not */
        } else if (d > x && fc_get(&z->s, d, &lo, &hi) == 0 &&
                   fw_degday(p->method, p->cutoff, lo, hi, next, p->lower, p->upper, &dd) == 0) {
            /* a forecast day */
        } else if (nrate) {
            dd = rate;
        } else {
            return -1;
        }
        cum += dd;
        if (cum >= target)
            return (int)(d - x);
    }
    return FW_PESTS_DAYS_CAP;
}

static void daily_step(struct fw_pests *m, struct zone *z, int64_t x, struct fw_pests_out *out)
{
    struct zone_state *s = &z->s;
    int64_t t = (x + 1) * DAY_MS - z->off; /* the local midnight that ends day x */
    double tmin = NAN, tmax = NAN;
    int valid = day_extremes(z, x, &tmin, &tmax) == 0;
    if (z->p.npests)
        emit(m, z, O_MISSING, valid ? 0.0 : 1.0, t, out);

    if (z->ntrapnodes) {
        int has;
        double total = trap_total(z, x, NULL, &has);
        int w = (int)fw_floor_mod(x, NWEEK);
        s->week[w].day = x;
        s->week[w].count = total;
        s->week[w].has = has;
        if (has)
            emit(m, z, O_TRAP_DAY, total, t, out);
        double week = 0.0;
        int any = 0;
        for (int k = 0; k < NWEEK; k++)
            if (s->week[k].day != NONE && s->week[k].day > x - NWEEK && s->week[k].has) {
                week += s->week[k].count;
                any = 1;
            }
        if (any)
            emit(m, z, O_TRAP_WEEK, week, t, out);
    }

    for (size_t i = 0; i < z->p.npests; i++) {
        const struct fw_pests_pest *p = &z->p.pests[i];
        struct pest_state *ps = &s->pests[i];
        ps->just_reached = 0;
        biofix_update(z, p, ps, x);
        if (!fw_dd_method_uses_next(p->method))
            finalize(p, ps, x, valid, tmin, tmax, FW_DD_NEXT_UNKNOWN);
        else if (s->prev_day != NONE && s->prev_day == x - 1)
            /* yesterday is final now that today's minimum is known, or known to be missing */
            finalize(p, ps, x - 1, s->prev_valid, s->prev_tmin, s->prev_tmax,
                     valid ? tmin : FW_DD_NEXT_UNKNOWN);
        ps->days = project(z, p, ps, x, valid, tmin, tmax);
        ps->stage = ps->just_reached ? (int)ps->reached - 1 : (int)ps->reached;
    }
    s->prev_day = x;
    s->prev_valid = valid;
    s->prev_tmin = valid ? tmin : 0.0;
    s->prev_tmax = valid ? tmax : 0.0;

    int best = zone_pest(z);
    if (best < 0)
        return;
    emit(m, z, O_DD, s->pests[best].cum, t, out);
    if (s->pests[best].days >= 0)
        emit(m, z, O_DAYS, s->pests[best].days, t, out);
}

/* Disease weather for local hour `h`: whether its mean humidity and temperature favour the
 * disease, and the count of such hours in the last 24 once enough of them are known. */
static void hourly_step(struct fw_pests *m, struct zone *z, int64_t h, struct fw_pests_out *out)
{
    struct zone_state *s = &z->s;
    const struct hourslot *hs = &s->hours[fw_floor_mod(h, NHOURSLOTS)];
    int known = 0, risk = 0;
    if (hs->hour == h) {
        int f = hs->n_t[0] && hs->n_rh[0] ? 0 : 1;
        if (hs->n_t[f] && hs->n_rh[f]) {
            double temp = hs->sum_t[f] / hs->n_t[f], rh = hs->sum_rh[f] / hs->n_rh[f];
            known = 1;
            risk = rh >= z->p.disease.rh_min && temp >= z->p.disease.temp_lo &&
                   temp <= z->p.disease.temp_hi;
        }
    }
    int64_t shift = s->risk_last == NONE ? 24 : h - s->risk_last;
    if (shift >= 24) {
        s->risk_bits = s->known_bits = 0;
    } else {
        s->risk_bits <<= shift;
        s->known_bits <<= shift;
    }
    s->risk_bits = (s->risk_bits | (uint32_t)risk) & HOURS_MASK;
    s->known_bits = (s->known_bits | (uint32_t)known) & HOURS_MASK;
    s->risk_last = h;
    if (popcount24(s->known_bits) >= z->p.min_hours)
        emit(m, z, O_DISEASE, popcount24(s->risk_bits), (h + 1) * HOUR_MS - z->off, out);
}

size_t fw_pests_tick(struct fw_pests *m, int64_t now_ms, struct fw_pests_out *out)
{
    size_t before = out->n;
    for (size_t i = 0; i < m->nzones; i++) {
        struct zone *z = &m->zones[i];
        struct zone_state *s = &z->s;
        int64_t delay = z->p.close_delay_min * MIN_MS;
        /* A fresh zone starts with the first day and hour not yet due: earlier ones were not
         * watched and would only be "missing" for that reason. */
        int64_t first_day = fw_floor_div(now_ms - delay + z->off, DAY_MS);
        int64_t first_hour = fw_floor_div(now_ms - HOUR_GRACE_MS + z->off, HOUR_MS);
        if (s->next_day == NONE)
            s->next_day = first_day;
        if (s->next_hour == NONE)
            s->next_hour = first_hour;
        if (s->next_day < first_day - FW_PESTS_MAX_CATCHUP_DAYS)
            s->next_day = first_day - FW_PESTS_MAX_CATCHUP_DAYS;
        if (s->next_hour < first_hour - MAX_CATCHUP_HOURS)
            s->next_hour = first_hour - MAX_CATCHUP_HOURS;
        /* Both kinds of step in the order of their decision times (the daily one first on a
         * tie), so the output is the same however often the caller ticks. */
        for (;;) {
            int64_t dn = (s->next_day + 1) * DAY_MS - z->off + delay;
            int64_t dh = z->p.disease.enabled
                             ? (s->next_hour + 1) * HOUR_MS - z->off + HOUR_GRACE_MS
                             : INT64_MAX;
            if (dn > now_ms && dh > now_ms)
                break;
            if (dn <= dh)
                daily_step(m, z, s->next_day++, out);
            else
                hourly_step(m, z, s->next_hour++, out);
        }
    }
    return out->n - before;
}

int fw_pests_zone_pest(const struct fw_pests *m, const char *zone, const char **pest,
                       struct fw_pests_pest_state *st)
{
    const struct zone *z = zone_find(m, zone);
    int best = z ? zone_pest(z) : -1;
    if (best < 0)
        return -ENOENT;
    *pest = z->p.pests[best].id;
    return fw_pests_pest_state(m, zone, *pest, st);
}

int fw_pests_pest_state(const struct fw_pests *m, const char *zone, const char *pest,
                        struct fw_pests_pest_state *st)
{
    const struct zone *z = zone_find(m, zone);
    for (size_t i = 0; z && i < z->p.npests; i++) {
        const struct fw_pests_pest *p = &z->p.pests[i];
        const struct pest_state *ps = &z->s.pests[i];
        if (strcmp(p->id, pest) != 0)
            continue;
        memset(st, 0, sizeof(*st));
        st->has_biofix = ps->has_biofix;
        st->biofix_day = ps->biofix_day;
        st->dd = ps->cum;
        st->reached = ps->reached;
        st->days_to_stage = ps->days;
        size_t k = (size_t)ps->stage;
        st->next_stage = k < p->nstages ? p->stages[k].name : "";
        st->next_action = k < p->nstages ? p->stages[k].action : "";
        return 0;
    }
    return -ENOENT;
}

/* ------------------------------------------------------------------------------------------ */
/* Save and restore                                                                            */
/* ------------------------------------------------------------------------------------------ */

static cJSON *save_pest(const struct fw_pests_pest *p, const struct pest_state *ps)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", p->id);
    fw_modelutil_add_opt(o, "biofix", ps->has_biofix ? ps->biofix_day : NONE);
    fw_modelutil_add_dbl(o, "dd", ps->cum);
    fw_modelutil_add_opt(o, "run", ps->run);
    fw_modelutil_add_opt(o, "run_last", ps->run_last);
    fw_modelutil_add_opt(o, "days", ps->days);
    fw_modelutil_add_opt(o, "stage", ps->stage);
    cJSON *h = cJSON_AddArrayToObject(o, "hist");
    for (int k = 0; k < NHIST; k++) {
        if (ps->hist[k].day == NONE)
            continue;
        cJSON *e = cJSON_CreateArray();
        fw_modelutil_add_opt(e, NULL, ps->hist[k].day);
        fw_modelutil_add_dbl(e, NULL, ps->hist[k].dd);
        fw_modelutil_add_opt(e, NULL, ps->hist[k].valid);
        cJSON_AddItemToArray(h, e);
    }
    return o;
}

static cJSON *save_zone(const struct zone *z)
{
    const struct zone_state *s = &z->s;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", z->p.id);
    fw_modelutil_add_opt(o, "next_day", s->next_day);
    fw_modelutil_add_opt(o, "next_hour", s->next_hour);
    cJSON *prev = cJSON_AddArrayToObject(o, "prev");
    fw_modelutil_add_opt(prev, NULL, s->prev_day);
    fw_modelutil_add_opt(prev, NULL, s->prev_valid);
    fw_modelutil_add_dbl(prev, NULL, s->prev_tmin);
    fw_modelutil_add_dbl(prev, NULL, s->prev_tmax);
    cJSON *nodes = cJSON_AddArrayToObject(o, "nodes");
    for (size_t k = 0; k < z->nnodes; k++) {
        cJSON *no = cJSON_CreateObject();
        cJSON_AddStringToObject(no, "id", z->nodes[k].id);
        cJSON *days = cJSON_AddArrayToObject(no, "days");
        for (int d = 0; d < NDAYSLOTS; d++) {
            const struct dayslot *ds = &s->slots[k][d];
            if (ds->day == NONE)
                continue;
            cJSON *e = cJSON_CreateArray();
            fw_modelutil_add_opt(e, NULL, ds->day);
            fw_modelutil_add_dbl(e, NULL, ds->tmin);
            fw_modelutil_add_dbl(e, NULL, ds->tmax);
            fw_modelutil_add_opt(e, NULL, ds->hours);
            fw_modelutil_add_dbl(e, NULL, ds->trap);
            fw_modelutil_add_opt(e, NULL, ds->has_trap);
            cJSON_AddItemToArray(days, e);
        }
        cJSON_AddItemToArray(nodes, no);
    }
    cJSON *hours = cJSON_AddArrayToObject(o, "hours");
    for (int h = 0; h < NHOURSLOTS; h++) {
        const struct hourslot *hs = &s->hours[h];
        if (hs->hour == NONE)
            continue;
        cJSON *e = cJSON_CreateArray();
        fw_modelutil_add_opt(e, NULL, hs->hour);
        for (int f = 0; f < 2; f++) {
            fw_modelutil_add_dbl(e, NULL, hs->sum_t[f]);
            fw_modelutil_add_opt(e, NULL, hs->n_t[f]);
            fw_modelutil_add_dbl(e, NULL, hs->sum_rh[f]);
            fw_modelutil_add_opt(e, NULL, hs->n_rh[f]);
        }
        cJSON_AddItemToArray(hours, e);
    }
    cJSON *risk = cJSON_AddArrayToObject(o, "risk");
    fw_modelutil_add_opt(risk, NULL, s->risk_bits);
    fw_modelutil_add_opt(risk, NULL, s->known_bits);
    fw_modelutil_add_opt(risk, NULL, s->risk_last);
    cJSON *week = cJSON_AddArrayToObject(o, "week");
    for (int d = 0; d < NWEEK; d++) {
        if (s->week[d].day == NONE)
            continue;
        cJSON *e = cJSON_CreateArray();
        fw_modelutil_add_opt(e, NULL, s->week[d].day);
        fw_modelutil_add_dbl(e, NULL, s->week[d].count);
        fw_modelutil_add_opt(e, NULL, s->week[d].has);
        cJSON_AddItemToArray(week, e);
    }
    cJSON *fc = cJSON_AddArrayToObject(o, "forecast");
    for (int d = 0; d < NFORECAST; d++) {
        if (s->fc[d].day == NONE)
            continue;
        cJSON *e = cJSON_CreateArray();
        fw_modelutil_add_opt(e, NULL, s->fc[d].day);
        fw_modelutil_add_dbl(e, NULL, s->fc[d].tmin);
        fw_modelutil_add_dbl(e, NULL, s->fc[d].tmax);
        fw_modelutil_add_opt(e, NULL, s->fc[d].issued_ms);
        cJSON_AddItemToArray(fc, e);
    }
    cJSON *pests = cJSON_AddArrayToObject(o, "pests");
    for (size_t i = 0; i < z->p.npests; i++)
        cJSON_AddItemToArray(pests, save_pest(&z->p.pests[i], &s->pests[i]));
    return o;
}

int fw_pests_save(const struct fw_pests *m, char **json)
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

/* Day numbers and hour numbers a saved state may hold: years 0..9999 or so, either way. */
#define DAY_LIM 4000000LL
#define HOUR_LIM (24 * DAY_LIM)

/* Array `a` of arrays of exactly `n` elements; each element array is passed to `fn`. */
/* Call fn on each element of array `a`, each an array of lo..hi numbers. */
static int each_tuple_of(const cJSON *a, int lo, int hi, int (*fn)(const cJSON *e, void *arg),
                         void *arg)
{
    if (!cJSON_IsArray(a))
        return -EINVAL;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        int n = cJSON_IsArray(e) ? cJSON_GetArraySize(e) : -1;
        if (n < lo || n > hi || fn(e, arg) < 0)
            return -EINVAL;
    }
    return 0;
}

static int each_tuple(const cJSON *a, int n, int (*fn)(const cJSON *e, void *arg), void *arg)
{
    return each_tuple_of(a, n, n, fn, arg);
}

static const cJSON *at(const cJSON *e, int k)
{
    return cJSON_GetArrayItem(e, k);
}

static int restore_dayslot(const cJSON *e, void *arg)
{
    struct dayslot *slots = arg, d;
    int64_t hours, has;
    if (fw_modelutil_get_int(at(e, 0), 0, -DAY_LIM, DAY_LIM, &d.day) < 0 ||
        fw_modelutil_get_dbl(at(e, 1), 1, &d.tmin) < 0 ||
        fw_modelutil_get_dbl(at(e, 2), 1, &d.tmax) < 0 ||
        fw_modelutil_get_int(at(e, 3), 0, 0, HOURS_MASK, &hours) < 0 ||
        fw_modelutil_get_dbl(at(e, 4), 0, &d.trap) < 0 ||
        fw_modelutil_get_int(at(e, 5), 0, 0, 1, &has) < 0 ||
        (hours && (isnan(d.tmin) || isnan(d.tmax) || d.tmin > d.tmax)))
        return -EINVAL;
    d.hours = (uint32_t)hours;
    d.has_trap = (int)has;
    slots[fw_floor_mod(d.day, NDAYSLOTS)] = d;
    return 0;
}

static int restore_hourslot(const cJSON *e, void *arg)
{
    struct hourslot *slots = arg, h;
    if (fw_modelutil_get_int(at(e, 0), 0, -HOUR_LIM, HOUR_LIM, &h.hour) < 0)
        return -EINVAL;
    for (int f = 0; f < 2; f++) {
        int64_t nt, nrh;
        if (fw_modelutil_get_dbl(at(e, 1 + 4 * f), 0, &h.sum_t[f]) < 0 ||
            fw_modelutil_get_int(at(e, 2 + 4 * f), 0, 0, 1000000, &nt) < 0 ||
            fw_modelutil_get_dbl(at(e, 3 + 4 * f), 0, &h.sum_rh[f]) < 0 ||
            fw_modelutil_get_int(at(e, 4 + 4 * f), 0, 0, 1000000, &nrh) < 0)
            return -EINVAL;
        h.n_t[f] = (int)nt;
        h.n_rh[f] = (int)nrh;
    }
    slots[fw_floor_mod(h.hour, NHOURSLOTS)] = h;
    return 0;
}

static int restore_week(const cJSON *e, void *arg)
{
    struct weekday *week = arg, w;
    int64_t has;
    if (fw_modelutil_get_int(at(e, 0), 0, -DAY_LIM, DAY_LIM, &w.day) < 0 ||
        fw_modelutil_get_dbl(at(e, 1), 0, &w.count) < 0 ||
        fw_modelutil_get_int(at(e, 2), 0, 0, 1, &has) < 0)
        return -EINVAL;
    w.has = (int)has;
    week[fw_floor_mod(w.day, NWEEK)] = w;
    return 0;
}

static int restore_fc(const cJSON *e, void *arg)
{
    struct fcday *fc = arg, f = {0};
    if (fw_modelutil_get_int(at(e, 0), 0, -DAY_LIM, DAY_LIM, &f.day) < 0 ||
        fw_modelutil_get_dbl(at(e, 1), 0, &f.tmin) < 0 ||
        fw_modelutil_get_dbl(at(e, 2), 0, &f.tmax) < 0 || !temp_ok(f.tmin) || !temp_ok(f.tmax) ||
        f.tmin > f.tmax)
        return -EINVAL;
    /* The issue time, absent from states saved before it was kept. */
    if (at(e, 3) && fw_modelutil_get_int(at(e, 3), 0, INT64_MIN, INT64_MAX, &f.issued_ms) < 0)
        return -EINVAL;
    fc[fw_floor_mod(f.day, NFORECAST)] = f;
    return 0;
}

static int restore_hist(const cJSON *e, void *arg)
{
    struct hist *hist = arg, h;
    int64_t valid;
    if (fw_modelutil_get_int(at(e, 0), 0, -DAY_LIM, DAY_LIM, &h.day) < 0 ||
        fw_modelutil_get_dbl(at(e, 1), 0, &h.dd) < 0 || h.dd < 0.0 ||
        fw_modelutil_get_int(at(e, 2), 0, 0, 1, &valid) < 0)
        return -EINVAL;
    h.valid = (int)valid;
    hist[fw_floor_mod(h.day, NHIST)] = h;
    return 0;
}

static int restore_pest(const cJSON *o, const struct fw_pests_pest *p, struct pest_state *ps)
{
    int64_t biofix, run, run_last, days, stage;
    if (fw_modelutil_get_int(item(o, "biofix"), 1, -DAY_LIM, DAY_LIM, &biofix) < 0 ||
        fw_modelutil_get_dbl(item(o, "dd"), 0, &ps->cum) < 0 || ps->cum < 0.0 ||
        fw_modelutil_get_int(item(o, "run"), 0, 0, 1000000, &run) < 0 ||
        fw_modelutil_get_int(item(o, "run_last"), 1, -DAY_LIM, DAY_LIM, &run_last) < 0 ||
        fw_modelutil_get_int(item(o, "days"), 0, -1, FW_PESTS_DAYS_CAP, &days) < 0 ||
        fw_modelutil_get_int(item(o, "stage"), 0, 0, FW_PESTS_MAX_STAGES, &stage) < 0 ||
        each_tuple(item(o, "hist"), 3, restore_hist, ps->hist) < 0)
        return -EINVAL;
    ps->has_biofix = biofix != NONE;
    ps->biofix_day = ps->has_biofix ? biofix : 0;
    ps->run = (int)run;
    ps->run_last = run_last;
    ps->days = (int)days;
    /* The stages may have changed in the config: what is reached follows from the sum. */
    ps->reached = stages_reached(p, ps->cum);
    ps->stage = stage < (int64_t)p->nstages ? (int)stage : (int)p->nstages;
    return 0;
}

static int restore_zone(const cJSON *o, struct zone *z, struct zone_state *s)
{
    int64_t v[6];
    const cJSON *prev = item(o, "prev"), *risk = item(o, "risk");
    if (fw_modelutil_get_int(item(o, "next_day"), 1, -DAY_LIM, DAY_LIM, &s->next_day) < 0 ||
        fw_modelutil_get_int(item(o, "next_hour"), 1, -HOUR_LIM, HOUR_LIM, &s->next_hour) < 0 ||
        !cJSON_IsArray(prev) || cJSON_GetArraySize(prev) != 4 ||
        fw_modelutil_get_int(at(prev, 0), 1, -DAY_LIM, DAY_LIM, &v[0]) < 0 ||
        fw_modelutil_get_int(at(prev, 1), 0, 0, 1, &v[1]) < 0 ||
        fw_modelutil_get_dbl(at(prev, 2), 0, &s->prev_tmin) < 0 ||
        fw_modelutil_get_dbl(at(prev, 3), 0, &s->prev_tmax) < 0 || !cJSON_IsArray(risk) ||
        cJSON_GetArraySize(risk) != 3 ||
        fw_modelutil_get_int(at(risk, 0), 0, 0, HOURS_MASK, &v[2]) < 0 ||
        fw_modelutil_get_int(at(risk, 1), 0, 0, HOURS_MASK, &v[3]) < 0 ||
        fw_modelutil_get_int(at(risk, 2), 1, -HOUR_LIM, HOUR_LIM, &v[4]) < 0 ||
        each_tuple(item(o, "hours"), 9, restore_hourslot, s->hours) < 0 ||
        each_tuple(item(o, "week"), 3, restore_week, s->week) < 0 ||
        each_tuple_of(item(o, "forecast"), 3, 4, restore_fc, s->fc) < 0)
        return -EINVAL;
    s->prev_day = v[0];
    s->prev_valid = (int)v[1];
    s->risk_bits = (uint32_t)v[2];
    s->known_bits = (uint32_t)v[3];
    s->risk_last = v[4];
    const cJSON *nodes = item(o, "nodes"), *pests = item(o, "pests"), *e;
    if (!cJSON_IsArray(nodes) || !cJSON_IsArray(pests))
        return -EINVAL;
    cJSON_ArrayForEach(e, nodes)
    {
        const cJSON *id = item(e, "id");
        if (!cJSON_IsString(id))
            return -EINVAL;
        for (size_t k = 0; k < z->nnodes; k++)
            if (strcmp(z->nodes[k].id, id->valuestring) == 0 &&
                each_tuple(item(e, "days"), 6, restore_dayslot, s->slots[k]) < 0)
                return -EINVAL;
    }
    cJSON_ArrayForEach(e, pests)
    {
        const cJSON *id = item(e, "id");
        if (!cJSON_IsString(id))
            return -EINVAL;
        for (size_t i = 0; i < z->p.npests; i++)
            if (strcmp(z->p.pests[i].id, id->valuestring) == 0 &&
                restore_pest(e, &z->p.pests[i], &s->pests[i]) < 0)
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
    return restore_zone(o, (struct zone *)zone, state);
}

int fw_pests_restore(struct fw_pests *m, const char *json)
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
