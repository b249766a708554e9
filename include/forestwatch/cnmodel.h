/* SPDX-License-Identifier: MIT */
/*
 * The national forest fire weather rating (include/forestwatch/cnrating.h) as a per-zone daily
 * model. For each local day it takes, from the zone's stations (averaged, the fallback standing
 * in, as for the fire model: include/forestwatch/stations.h), the day's maximum temperature,
 * minimum humidity and maximum wind and the day's rain, carries the last rain day and the dry
 * days since from day to day, takes the day's phenology class from the zone's season table or a
 * `phenology_class` reading, and rates the day. It hands back derived zone readings:
 * cn_rating_index (HTZ), cn_rating_a .. cn_rating_e, cn_rating_level and cn_model_missing, and
 * with `zone_level` the zone's fire_danger_level too; from the meteorology bureau's forecasts,
 * cn_rating_level_tomorrow (and fire_danger_level_tomorrow with `zone_level`). A day without
 * usable data is never rated from zeros: it is missing and the rain state carries over. No I/O,
 * no clock; the whole state saves to JSON and restores exactly. docs/models.md, "The national
 * fire weather rating", has the conventions.
 *
 * All calls for one model must come from one thread (the daemon's loop thread).
 */
#ifndef FORESTWATCH_CNMODEL_H
#define FORESTWATCH_CNMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/cnrating.h"
#include "forestwatch/reading.h"

#define FW_CNM_MAX_STATIONS 8 /* as the fire model's */
#define FW_CNM_MAX_SEASONS 12 /* phenology periods per zone */
#define FW_CNM_MAX_CATCHUP_DAYS 7
#define FW_CNM_MAX_FORECASTS 8
#define FW_CNM_CLOSE_DELAY_MAX 360 /* minutes; the rain ring holds 40 h (stations.h) */
#define FW_CNM_HOLD_DAYS_MAX 60

/** From local date `month`/`day` on (until the next period's date, round the year), class `cls`. */
struct fw_cnm_season {
    int month, day;
    enum fw_cnr_phenology cls;
};

/** The parameters of one zone. fw_cnm_zone_init() fills the defaults. */
struct fw_cnm_zone {
    char id[FW_READING_MAX_ID];
    int utc_offset_min; /* local standard time - UTC, a multiple of 15 minutes */
    char stations[FW_CNM_MAX_STATIONS][FW_READING_MAX_ID];
    size_t nstations; /* 1..FW_CNM_MAX_STATIONS */
    char fallback[FW_READING_MAX_ID];
    int min_hours;        /* a station's daily extreme counts with readings in >= this many hours */
    int close_delay_min;  /* a day is rated this long after the local midnight that ends it */
    int rain_max_gap_min; /* a station's day of rain is known only with no longer gap; 15..360 */
    /* The phenology periods, ascending by date; none: NONE all year. */
    struct fw_cnm_season seasons[FW_CNM_MAX_SEASONS];
    size_t nseasons;
    int phenology_hold_days; /* a phenology_class reading holds for its day and this many - 1 */
    int zone_level;          /* nonzero: also emit fire_danger_level(_tomorrow) */
    struct fw_cnr_tables tables;
};

/** Defaults: min_hours 20, close_delay_min 60, rain_max_gap_min 180, no periods, hold 7 days,
 * zone_level off, the built-in tables (fw_cnr_tables_default()). */
void fw_cnm_zone_init(struct fw_cnm_zone *z, const char *id);

/**
 * Check one zone's parameters. Returns 0, or -EINVAL with `*err` (static text) naming the field
 * first ("min_hours: must be 1..24").
 */
int fw_cnm_zone_check(const struct fw_cnm_zone *z, const char **err);

/** The class of local date `month`/`day` by the zone's periods (NONE without any). */
enum fw_cnr_phenology fw_cnm_season_class(const struct fw_cnm_zone *z, int month, int day);

struct fw_cnm;

/** A growable array of derived readings; zero-initialise it, free with fw_cnm_out_free(). */
struct fw_cnm_out {
    struct fw_reading *v;
    size_t n, cap;
};

void fw_cnm_out_free(struct fw_cnm_out *o);

/**
 * Create a model for `n` zones (copied). Returns 0 and sets `*out`, or -EINVAL with `*err`
 * (static) when a zone fails fw_cnm_zone_check() or two zones share an id.
 */
int fw_cnm_new(const struct fw_cnm_zone *zones, size_t n, struct fw_cnm **out, const char **err);

/** Release a model. NULL is a no-op. */
void fw_cnm_free(struct fw_cnm *m);

/**
 * Feed one reading. Used: air_temp_c, rel_humidity_pct, wind_speed_ms, rain_mm and
 * phenology_class from the stations and the fallback a zone names; everything else is ignored.
 * A reading belongs to the local day of its time ([00:00, 24:00)); rain_mm, the rain since the
 * previous report, to the day that ends at or after its time ((00:00, 24:00]). A value for a day
 * already rated is ignored.
 */
void fw_cnm_feed(struct fw_cnm *m, const struct fw_reading *r);

/**
 * The bureau's forecast for local day `day` of `zone`: the day's maximum temperature, the
 * humidity and wind at noon (standing in for the day's minimum and maximum, which the feed does
 * not give) and the rain. For one day the latest issue wins. Returns 0; -ENOENT for an unknown
 * zone; -EINVAL for weather outside the rating's ranges; -ERANGE for a day already rated;
 * -EALREADY when a later issue is held; -ENOSPC when nearer days fill every place.
 */
int fw_cnm_forecast(struct fw_cnm *m, const char *zone, int64_t day, int64_t issued_ms,
                    double tmax_c, double rh_pct, double wind_ms, double rain_mm);

/**
 * Rate every day whose close (the midnight ending it + close_delay_min) is due by `now_ms`, in
 * order, appending the derived readings timed at that midnight; then derive tomorrow's expected
 * level when a forecast arrived, a day was rated or a local day began, and append it, timed
 * `now_ms`, when it changed (0: no forecast for tomorrow). Returns the number appended. A fresh
 * zone starts with the day not yet due; after a long stop at most FW_CNM_MAX_CATCHUP_DAYS days
 * are caught up.
 */
size_t fw_cnm_tick(struct fw_cnm *m, int64_t now_ms, struct fw_cnm_out *out);

/** What a zone knows now, for logs and tests. */
struct fw_cnm_zone_state {
    int64_t last_day;            /* local day last rated or missing; INT64_MIN none */
    int last_missing;            /* that day was missing */
    int level;                   /* the last rated day's level, 0 before any */
    struct fw_cnr_result result; /* and its sub-indices */
    struct fw_cnr_state rain;    /* the rain carried to the next day */
};

/** Copy zone `zone_id`'s state into `st`. Returns 0 or -ENOENT. */
int fw_cnm_zone_state(const struct fw_cnm *m, const char *zone_id, struct fw_cnm_zone_state *st);

/** Serialise the whole state as JSON into `*json` (the caller's, free()). Returns 0. */
int fw_cnm_save(const struct fw_cnm *m, char **json);

/**
 * Restore a state saved by fw_cnm_save(); zones matched by id (a saved zone no longer configured
 * is dropped, a new one starts fresh, buffered data of stations no longer named is dropped).
 * Returns 0, -EINVAL for a text that is not a valid state (the model is then unchanged), -E2BIG
 * for a text over 4 MiB.
 */
int fw_cnm_restore(struct fw_cnm *m, const char *json);

#endif
