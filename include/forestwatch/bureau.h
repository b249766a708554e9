/* SPDX-License-Identifier: MIT */
/*
 * The meteorology bureau's own forest fire weather level per zone and local day, as the feed
 * publishes it (docs/meteo.md, "The bureau's level"), held as a zone model beside the ones that
 * compute a level. It gives the derived readings bureau_danger_level (the level of the zone's
 * current day) and bureau_danger_level_tomorrow, and it stands in for the computed level: while
 * the bureau's level of a day is held, the zone's fire_danger_level of that day is the bureau's,
 * and the computed one stays readable as fire_danger_level_computed (the core does that part,
 * through fw_bureau_stand_in()). When the bureau's day ends without a level for the next one,
 * the zone's level goes back to the last computed one. No I/O, no clock; the whole state saves
 * to JSON and restores exactly. docs/models.md, "The bureau's own level", has the rules.
 *
 * All calls for one model must come from one thread (the daemon's loop thread).
 */
#ifndef FORESTWATCH_BUREAU_H
#define FORESTWATCH_BUREAU_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/reading.h"

#define FW_BUREAU_MAX_DAYS 8 /* levels held per zone: today and the days ahead */

/** One zone whose level the bureau's may stand in for, and its local standard time. */
struct fw_bureau_zone {
    char id[FW_READING_MAX_ID];
    int utc_offset_min;
};

struct fw_bureau;

/** Derived readings of one tick; zero it before first use, free with fw_bureau_out_free(). */
struct fw_bureau_out {
    struct fw_reading *v;
    size_t n, cap;
};
void fw_bureau_out_free(struct fw_bureau_out *o);

/** Build the model for `n` zones (copied). Returns 0, or -EINVAL for two zones of one id. */
int fw_bureau_new(const struct fw_bureau_zone *zones, size_t n, struct fw_bureau **out);
void fw_bureau_free(struct fw_bureau *m);

/**
 * Hold the bureau's `level` (1..5) for local day `day` of `zone`, issued at `issued_ms`.
 * Returns 0 when held, -ENOENT for a zone the model does not have, -EINVAL for a level outside
 * 1..5, -ERANGE for a day before the zone's current one (as of the last tick), -EALREADY when a
 * level issued later is held for that day, -ENOSPC when FW_BUREAU_MAX_DAYS nearer days are held.
 */
int fw_bureau_level(struct fw_bureau *m, const char *zone, int64_t day, int64_t issued_ms,
                    int level);

/**
 * A computed fire_danger_level `r` of a zone model, before it goes to the engine: the model
 * notes it as the zone's computed level and, when the bureau's level is held for the local day
 * of `r`'s time, sets r->value to it. Returns 1 when it did, 0 when `r` keeps its value (a zone
 * the model does not have, or no bureau level for that day).
 */
int fw_bureau_stand_in(struct fw_bureau *m, struct fw_reading *r);

/**
 * Emit what changed by `now_ms`: a day's bureau level once it is the zone's current day (with
 * fire_danger_level, timed when it came into force: the later of its issue and the day's start),
 * the zone's computed level again once the bureau's day has ended without a next one, and
 * bureau_danger_level_tomorrow when the next day's level changes (0 when none). Returns the
 * number of readings appended to `out`.
 */
size_t fw_bureau_tick(struct fw_bureau *m, int64_t now_ms, struct fw_bureau_out *out);

/** What an alert's text names for a zone (fw_bureau_zone_state()). */
struct fw_bureau_state {
    int in_force;    /* the bureau's level of the zone's current day: 1..5, or 0 when none */
    double computed; /* the zone's last computed level, NAN when none was seen */
};

/** The zone's state as of the last tick. Returns 0, or -ENOENT for a zone not modelled. */
int fw_bureau_zone_state(const struct fw_bureau *m, const char *zone, struct fw_bureau_state *st);

/** The held levels of `zone` (for the log): the count, with up to `max` copied to day/level. */
size_t fw_bureau_held(const struct fw_bureau *m, const char *zone, int64_t *day, int *level,
                      size_t max);

/** Serialise the state as JSON into `*json` (the caller's, free()). Returns 0. */
int fw_bureau_save(const struct fw_bureau *m, char **json);

/** Restore a saved state, matching zones by id; all or nothing. 0, -EINVAL or -E2BIG. */
int fw_bureau_restore(struct fw_bureau *m, const char *json);

#endif
