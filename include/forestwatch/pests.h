/* SPDX-License-Identifier: MIT */
/*
 * The per-zone pest model: the state around the pure degree-day function. For each zone it builds
 * the local day's minimum and maximum air temperature from the zone's stations, accumulates each
 * configured pest's degree-days from its biofix (a date, or the first sustained trap catch),
 * announces how many days remain until the pest's next development stage (from the last week's
 * rate, or from forecast days where given), and counts trap catches per day and week and hours of
 * disease weather. The results are derived zone readings (degree_days, pest_days_to_stage,
 * pest_model_missing, trap_count_day, trap_count_week, disease_risk_hours) for the rule engine. A
 * day without enough temperature readings is never computed as zero: it is marked missing and the
 * accumulation pauses. The module does no I/O and never reads the clock; its whole state saves to
 * JSON and restores exactly, so a restart continues the season. docs/pests.md describes the
 * conventions, among them which pest a zone's readings describe when it has several.
 *
 * All calls for one model must come from one thread (the daemon's loop thread).
 */
#ifndef FORESTWATCH_PESTS_H
#define FORESTWATCH_PESTS_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/degday.h"
#include "forestwatch/reading.h"

#define FW_PESTS_MAX_STATIONS 8     /* temperature stations per zone, besides the fallback */
#define FW_PESTS_MAX_PESTS 8        /* pests per zone */
#define FW_PESTS_MAX_STAGES 8       /* stages per pest */
#define FW_PESTS_MAX_TRAPS 8        /* trap nodes per pest */
#define FW_PESTS_MAX_ACTION 256     /* a stage's action text, with its NUL */
#define FW_PESTS_MAX_RUN 7          /* longest trap run a biofix may ask for, in days */
#define FW_PESTS_DAYS_CAP 366       /* pest_days_to_stage when no stage is expected within a year */
#define FW_PESTS_MAX_CATCHUP_DAYS 7 /* days processed at most after a long stop */

/** What starts a pest's accumulation each season. */
enum fw_pests_biofix {
    FW_PESTS_BIOFIX_DATE, /* a local month/day, every year */
    FW_PESTS_BIOFIX_TRAP, /* the first of `trap_days` consecutive days with a catch >= count */
};

/** One development stage: reached when the degree-days since the biofix reach `dd`. */
struct fw_pests_stage {
    char name[FW_READING_MAX_ID];     /* "adult emergence" */
    double dd;                        /* cumulative degree-days since the biofix, > 0 */
    char action[FW_PESTS_MAX_ACTION]; /* what to announce: "hang traps, prepare spraying" */
};

/** One pest of a zone. fw_pests_pest_init() fills the defaults. */
struct fw_pests_pest {
    char id[FW_READING_MAX_ID]; /* "dendrolimus-superans" */
    enum fw_dd_method method;   /* default FW_DD_AVERAGE (how most Chinese constants were fit) */
    enum fw_dd_cutoff cutoff;   /* default FW_DD_HORIZONTAL */
    /* Optional names for texts ({pest}): the name ("落叶松毛虫"; "": the id is used) and the
     * name in English texts ("larch caterpillar"; "": the name is used). */
    char name[FW_READING_MAX_ID];
    char name_en[FW_READING_MAX_ID];
    /* Developmental thresholds in degC. `lower` starts as NaN and must be set: no value is
     * assumed for a pest (SCIENCE.md E). `upper` defaults to FW_DD_NO_UPPER. */
    double lower, upper;
    enum fw_pests_biofix biofix;
    int biofix_month, biofix_day; /* FW_PESTS_BIOFIX_DATE: local date */
    /* FW_PESTS_BIOFIX_TRAP: the catch of `traps` (summed over those that reported) on a local
     * day must reach `trap_count` on `trap_days` consecutive days (1..FW_PESTS_MAX_RUN); the
     * biofix is the first of those days, once per calendar year. */
    char traps[FW_PESTS_MAX_TRAPS][FW_READING_MAX_ID];
    size_t ntraps;
    double trap_count;
    int trap_days;
    struct fw_pests_stage stages[FW_PESTS_MAX_STAGES]; /* ascending dd */
    size_t nstages;                                    /* 1..FW_PESTS_MAX_STAGES */
};

/** Disease weather: hours whose mean humidity and temperature favour an infection. */
struct fw_pests_disease {
    int enabled;             /* 0: no disease_risk_hours for the zone (default) */
    double rh_min;           /* an hour counts when its mean rh >= rh_min (%) ... */
    double temp_lo, temp_hi; /* ... and its mean temperature is in [temp_lo, temp_hi] degC */
};

/** The parameters of one zone. fw_pests_zone_init() fills the defaults. */
struct fw_pests_zone {
    char id[FW_READING_MAX_ID];
    int utc_offset_min; /* local standard time - UTC, a multiple of 15 minutes (+08:00: 480) */
    /* Stations whose air_temp_c readings make the zone's days; the fallback (the meteorology
     * feed's station id, or "") stands in when none of them covers a day. */
    char stations[FW_PESTS_MAX_STATIONS][FW_READING_MAX_ID];
    size_t nstations; /* 1..FW_PESTS_MAX_STATIONS */
    char fallback[FW_READING_MAX_ID];
    /* A station's day counts only with readings in at least this many of the 24 local hours
     * (default 20); the same rule makes an hour window of disease weather known. 1..24. */
    int min_hours;
    /* A day is computed this long after its local midnight, for late readings (default 60). */
    int close_delay_min;
    struct fw_pests_pest pests[FW_PESTS_MAX_PESTS];
    size_t npests; /* 0..FW_PESTS_MAX_PESTS */
    struct fw_pests_disease disease;
};

/** Fill `p` with the defaults (see the struct) for pest `id`; the caller sets the rest. */
void fw_pests_pest_init(struct fw_pests_pest *p, const char *id);

/** Fill `z` with the defaults for zone `id`; the caller adds stations and pests. */
void fw_pests_zone_init(struct fw_pests_zone *z, const char *id);

/**
 * Check one zone's parameters, pests included. Returns 0, or -EINVAL with `*err` (static text)
 * naming the field ("pest lower: must be set; no verified value is assumed"). Usable by the
 * config validator, which adds the JSON path.
 */
int fw_pests_zone_check(const struct fw_pests_zone *z, const char **err);

struct fw_pests;

/**
 * Create a model for `n` zones (copied; `zones` is borrowed for the call). Returns 0 and sets
 * `*out`, or -EINVAL with `*err` (static text) when a zone fails fw_pests_zone_check() or two
 * zones share an id; then `*out` is untouched. Restore the saved state, if any, before the first
 * feed or tick.
 */
int fw_pests_new(const struct fw_pests_zone *zones, size_t n, struct fw_pests **out,
                 const char **err);

/** Release a model. NULL is a no-op. */
void fw_pests_free(struct fw_pests *m);

/**
 * Feed one reading. Used: air_temp_c from a zone's stations and fallback, rel_humidity_pct from
 * the same (disease weather), trap_count from a pest's traps. Derived readings and everything else
 * are ignored, so the daemon may feed every reading. A reading for a day or hour already computed
 * is ignored.
 */
void fw_pests_feed(struct fw_pests *m, const struct fw_reading *r);

/**
 * Give the forecast minimum and maximum (degC), issued at `issued_ms`, of local day `day`
 * (fw_time__days_from_civil()) for `zone`. Forecast days only extend the projection behind
 * pest_days_to_stage; they never enter degree_days, and a day already observed ignores them. For
 * one day the forecast issued last wins, whatever the order of arrival (equal times: the one
 * given last); up to 16 days are kept. Returns 0, -ENOENT for an unknown zone, -EINVAL for a
 * non-finite value, tmin > tmax or a value outside -90..70, or -EALREADY when a forecast issued
 * later is held for that day.
 */
int fw_pests_forecast(struct fw_pests *m, const char *zone, int64_t day, int64_t issued_ms,
                      double tmin, double tmax);

/** A growable array of derived readings; zero-initialise it, free with fw_pests_out_free(). */
struct fw_pests_out {
    struct fw_reading *v;
    size_t n, cap;
};

/** Free the array's storage and zero it. */
void fw_pests_out_free(struct fw_pests_out *o);

/**
 * Run every daily and hourly step due by `now_ms`: local day D at its end + close_delay, hour H
 * at its end + 30 min, in time order, so the results do not depend on how often the caller ticks.
 * Appends the derived readings to `out` and returns the number appended. A daily step, timed at
 * the local midnight ending the day, appends for a zone with pests: pest_model_missing (1 when
 * the day had too few temperature readings), degree_days and pest_days_to_stage of the zone's
 * pest with the soonest next stage (when any pest has a biofix), and trap_count_day and
 * trap_count_week (when a trap reported in the day or the week). An hourly step, timed at the
 * end of the hour, appends disease_risk_hours when enabled and known.
 */
size_t fw_pests_tick(struct fw_pests *m, int64_t now_ms, struct fw_pests_out *out);

/** What one pest of a zone knows now, for status pages, message text and tests. */
struct fw_pests_pest_state {
    int has_biofix;
    int64_t biofix_day;      /* day number of the biofix */
    double dd;               /* degree-days since the biofix, through the last finalized day */
    size_t reached;          /* stages reached so far (0..nstages) */
    int days_to_stage;       /* the latest projection; -1 when unknown or no biofix */
    const char *next_stage;  /* the next (or just reached) stage's name, "" when none; valid as
                              * long as the model */
    const char *next_action; /* that stage's action text, same lifetime */
};

/** Copy the state of pest `pest` of zone `zone` into `st`. Returns 0 or -ENOENT. */
int fw_pests_pest_state(const struct fw_pests *m, const char *zone, const char *pest,
                        struct fw_pests_pest_state *st);

/**
 * The pest zone `zone`'s readings (degree_days, pest_days_to_stage) describe: the one with the
 * soonest next stage, else the first with a biofix. Sets `*pest` to its id (valid as long as the
 * model) and fills `st` as fw_pests_pest_state() does. Returns 0, or -ENOENT for an unknown zone
 * or a zone none of whose pests has a biofix yet. Alert texts name the stage and its action
 * from it.
 */
int fw_pests_zone_pest(const struct fw_pests *m, const char *zone, const char **pest,
                       struct fw_pests_pest_state *st);

/**
 * Serialise the whole state as JSON into `*json`, which belongs to the caller (free()). Doubles
 * are printed with %.17g, so a restore reproduces them bit for bit. Returns 0.
 */
int fw_pests_save(const struct fw_pests *m, char **json);

/**
 * Restore a state saved by fw_pests_save(), right after fw_pests_new() and before the first feed
 * or tick. Zones, stations and pests are matched by id: saved ones no longer configured are
 * dropped, configured ones not saved start fresh. Returns 0, -EINVAL for text that is not a valid
 * saved state (the model is then unchanged), or -E2BIG for text over 4 MiB.
 */
int fw_pests_restore(struct fw_pests *m, const char *json);

#endif
