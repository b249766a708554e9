/* SPDX-License-Identifier: MIT */
/*
 * The per-zone fire-danger model: the state around the pure FWI functions. It takes the stream of
 * station readings, builds each zone's noon (local standard time) temperature, humidity and wind
 * and the 24-hour rain to noon from the stations configured for the zone, runs the daily FWI step
 * once per day and the hourly FFMC every hour, maps the chosen index to the five danger levels,
 * and hands back the results as derived zone readings (ffmc, dmc, dc, isi, bui, fwi,
 * nesterov_index, fire_danger_level, hffmc, fire_model_missing) for the rule engine. A day without
 * usable data is never computed from zeros: it is marked missing and the codes carry over. The
 * module does no I/O and never reads the clock; its whole state can be saved as JSON and restored
 * exactly, so a restart continues the season. docs/models.md describes the conventions.
 *
 * All calls for one model must come from one thread (the daemon's loop thread).
 */
#ifndef FORESTWATCH_MODELS_H
#define FORESTWATCH_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/fwi.h"
#include "forestwatch/reading.h"

#define FW_MODELS_MAX_STATIONS 8 /* stations averaged per zone, besides the fallback */
#define FW_MODELS_LEVELS 5       /* 一级 low .. 五级 extreme */

/* Limits of the zone parameters, checked by fw_models_zone_check(). */
#define FW_MODELS_OFFSET_MIN (-12 * 60) /* local standard time - UTC, minutes */
#define FW_MODELS_OFFSET_MAX (14 * 60)
#define FW_MODELS_NOON_WINDOW_MAX 120 /* minutes either side of noon */
#define FW_MODELS_RAIN_GAP_MAX 360    /* minutes without a rain report */
#define FW_MODELS_MAX_CATCHUP_DAYS 7  /* noons processed at most after a long stop */
#define FW_MODELS_MAX_FORECASTS 8     /* forecast days kept per zone */

/** The index a zone's danger levels are read from. */
enum fw_models_index {
    FW_MODELS_INDEX_FWI, /* the default */
    FW_MODELS_INDEX_ISI,
    FW_MODELS_INDEX_BUI,
    FW_MODELS_INDEX_FFMC,
    FW_MODELS_INDEX_DMC,
    FW_MODELS_INDEX_DC,
    FW_MODELS_INDEX_DSR,
    FW_MODELS_INDEX_NESTEROV, /* the Nesterov ignition index, SCIENCE.md B (grassland) */
    FW_MODELS_INDEX__COUNT,
};

/**
 * Five danger levels on one index: level k (1..5) covers [min[k-1], min[k]), level 5 everything
 * from min[4] up, and a value below min[0] is level 1. `min` must be strictly ascending.
 */
struct fw_models_levels {
    enum fw_models_index index;
    double min[FW_MODELS_LEVELS];
    int provisional; /* nonzero: the table is an interim mapping, not a verified standard */
};

/** The parameters of one zone. fw_models_zone_init() fills the defaults. */
struct fw_models_zone {
    char id[FW_READING_MAX_ID];
    int utc_offset_min; /* local standard time - UTC, a multiple of 15 minutes (+08:00: 480) */
    double lat;         /* degrees, north positive: the FWI day-length tables */
    int lat_adjust;     /* nonzero: day lengths by latitude band (default) */
    double ffmc_coef;   /* FW_FWI_FFMC_COEF_CFFDRS (default) or FW_FWI_FFMC_COEF_1985 */
    /* Stations whose readings are averaged; the fallback (or "") stands in, per quantity, when
     * none of them has a value. The meteorology feed's station id may be the fallback. */
    char stations[FW_MODELS_MAX_STATIONS][FW_READING_MAX_ID];
    size_t nstations; /* 1..FW_MODELS_MAX_STATIONS */
    char fallback[FW_READING_MAX_ID];
    int noon_window_min;  /* a noon value is the reading nearest noon within +-this; 1..120 */
    int rain_max_gap_min; /* rain is known only if no gap between reports exceeds this; 15..360 */
    int hourly_ffmc;      /* nonzero: run and emit the hourly FFMC (default on) */
    /* Start-up codes: the "yesterday" of a season's first day (cffdrs 85, 6, 15). */
    double startup_ffmc, startup_dmc, startup_dc;
    /* Season: month/day in local time, 0/0 for none. Without a start date the season starts at
     * the zone's first daily step and never ends. With one, the codes restart from the start-up
     * values on the first noon on or after it each year, and no day is computed before the
     * first start. With an end date too, days after it (until the next start) are not computed.
     * The end may precede the start (a season across the new year). */
    int season_start_month, season_start_day;
    int season_end_month, season_end_day;
    struct fw_models_levels levels;
    int zone_level; /* nonzero (default): emit fire_danger_level(_tomorrow), the zone's level */
};

/**
 * The provisional default levels: FWI 0 / 5 / 10 / 20 / 30. These are UNVERIFIED general-
 * knowledge class limits, not GB/T 36743-2018, whose text was not available
 * (reference/SCIENCE.md C); `provisional` is set. Replace them per zone once the standard or a
 * local calibration is at hand.
 */
void fw_models_levels_default(struct fw_models_levels *l);

/** Nesterov's own classes on the Nesterov index: 0 / 300 / 1000 / 4000 / 10000 (SCIENCE.md B),
 * not provisional. */
void fw_models_levels_nesterov(struct fw_models_levels *l);

/** Fill `z` with the defaults (see the struct) for zone `id`; the caller adds the stations. */
void fw_models_zone_init(struct fw_models_zone *z, const char *id);

/**
 * Check one zone's parameters. Returns 0, or -EINVAL with `*err` (static text) naming the field
 * ("utc_offset_min: must be a multiple of 15 in -720..840"). Usable by the config validator.
 */
int fw_models_zone_check(const struct fw_models_zone *z, const char **err);

/** The level (1..5) of `value` in table `l`. Pure. */
int fw_models_level(const struct fw_models_levels *l, double value);

/** "fwi", "isi", ... and back (-EINVAL for an unknown name). */
const char *fw_models_index_str(enum fw_models_index i);
int fw_models_index_parse(const char *name, enum fw_models_index *out);

struct fw_models;

/**
 * Create a model for `n` zones (copied; `zones` is borrowed for the call). Returns 0 and sets
 * `*out`, or -EINVAL with `*err` (static text) when a zone fails fw_models_zone_check() or two
 * zones share an id; then `*out` is untouched. No zone has state yet: each starts from its
 * start-up codes, unless fw_models_restore() is called before the first feed or tick.
 */
int fw_models_new(const struct fw_models_zone *zones, size_t n, struct fw_models **out,
                  const char **err);

/** Release a model. NULL is a no-op. */
void fw_models_free(struct fw_models *m);

/**
 * Feed one reading. Only air_temp_c, rel_humidity_pct, wind_speed_ms and rain_mm from stations
 * named by some zone are used (derived readings never are); everything else is ignored, so the
 * daemon may feed every reading. rain_mm is the rain since the station's previous report and
 * counts at the reading's time. Readings may arrive late or out of order; a value for a noon or
 * hour already computed is ignored.
 */
void fw_models_feed(struct fw_models *m, const struct fw_reading *r);

/** A growable array of derived readings; zero-initialise it, free with fw_models_out_free(). */
struct fw_models_out {
    struct fw_reading *v;
    size_t n, cap;
};

/** Free the array's storage and zero it. */
void fw_models_out_free(struct fw_models_out *o);

/**
 * Give the meteorology bureau's forecast, issued at `issued_ms`, for local day `day` (days since
 * 1970-01-01, fw_time__days_from_civil(), in the zone's local standard time) of zone `zone`:
 * noon temperature (degC), relative humidity (%) and wind (m/s), and the rain (mm) of the 24
 * hours to that noon. It never enters the day's codes, which are computed from observations; the
 * next fw_models_tick() derives tomorrow's expected level from it. For one day, the forecast
 * issued last wins, whatever the order of arrival (equal times: the one given last). Up to
 * FW_MODELS_MAX_FORECASTS days are kept, the nearest first. Returns 0; -ENOENT for an unknown
 * zone; -EINVAL for weather outside the fw_fwi_daily() ranges; -ERANGE for a day whose noon step
 * is past (computed, or missing); -EALREADY when a forecast issued later is held for that day;
 * -ENOSPC when the nearer days fill every place (the forecast is not kept).
 */
int fw_models_forecast(struct fw_models *m, const char *zone, int64_t day, int64_t issued_ms,
                       double temp_c, double rh_pct, double wind_ms, double rain_mm);

/**
 * Run every daily step and hourly FFMC step that is due by `now_ms`: a zone's noon N is computed
 * at N + noon_window (when the nearest reading can no longer change) and an hour H at H + 30 min.
 * Steps run in time order, so the results do not depend on how often the caller ticks. Appends
 * the derived readings, timed at N or H, to `out` and returns the number appended. A daily step
 * appends ffmc, dmc, dc, isi, bui, fwi, nesterov_index, fire_danger_level and
 * fire_model_missing = 0, or, for a missing day, only fire_model_missing = 1. After a stop longer
 * than FW_MODELS_MAX_CATCHUP_DAYS the older noons are skipped silently (their codes carry over).
 *
 * Then, when a forecast arrived, a daily step ran or a new local day began, tomorrow's expected
 * level is derived: the daily step of each day from the next noon to tomorrow's, each from its
 * forecast, starting from the current codes. When it changed it is appended, timed `now_ms`:
 * fwi_tomorrow and fire_danger_level_tomorrow (1..5), or only fire_danger_level_tomorrow = 0 once
 * tomorrow has no forecast (or a day before it has none) after a level was given.
 */
size_t fw_models_tick(struct fw_models *m, int64_t now_ms, struct fw_models_out *out);

/** What a zone knows now, for status pages and tests. */
struct fw_models_zone_state {
    int has_codes;              /* a season has begun */
    struct fw_fwi_codes codes;  /* the latest day's (start-up values before the first day) */
    int level;                  /* 1..5, 0 before the first computed day */
    int64_t last_day_noon_ms;   /* noon of the latest daily step, computed or missing; 0 none */
    int last_day_missing;       /* that day was missing */
    struct fw_fwi_weather noon; /* the latest computed day's inputs (wind in km/h) */
    double hffmc;               /* the latest hourly FFMC, NaN when none */
    double nesterov;            /* the Nesterov sum after the latest computed day */
};

/** Copy zone `zone_id`'s state into `st`. Returns 0 or -ENOENT. */
int fw_models_zone_state(const struct fw_models *m, const char *zone_id,
                         struct fw_models_zone_state *st);

/**
 * Serialise the whole state (codes, season, the next noon and hour, buffered rain and noon
 * candidates) as JSON into `*json`, which belongs to the caller (free()). Doubles are printed with
 * %.17g, so a restore reproduces them bit for bit. Returns 0.
 */
int fw_models_save(const struct fw_models *m, char **json);

/**
 * Restore a state saved by fw_models_save(), normally from the store right after
 * fw_models_new() and before the first feed or tick. Zones are matched by id: a saved zone that
 * is no longer configured is dropped, a configured zone that was not saved starts fresh, and the
 * buffered data of stations no longer in a zone is dropped. Returns 0, -EINVAL for text that is
 * not a valid saved state (the model is then unchanged), or -E2BIG for text over 4 MiB.
 */
int fw_models_restore(struct fw_models *m, const char *json);

#endif
