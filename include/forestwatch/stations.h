/* SPDX-License-Identifier: MIT */
/*
 * A zone's weather stations, as the zone models read them (the fire-danger model in
 * gateway/fire_model.c, the national fire weather rating in gateway/cn_model.c): which station
 * stands behind a place of the zone (its stations, then its fallback), the zone's value of a
 * quantity (the mean over the stations that have one, else the fallback's, else none), and the
 * rain a station reported, kept in 15-minute buckets over 40 hours so that a window's sum is
 * known only when the reports cover it. Internal to the core library; pure, no I/O, no clock.
 * docs/models.md states the rules ("Missing data: never zero").
 */
#ifndef FORESTWATCH_STATIONS_H
#define FORESTWATCH_STATIONS_H

#include "forestwatch/reading.h"

#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* Rain bucket width. Every real UTC offset is a multiple of 15 minutes, so noon, midnight and
 * the full hours always fall on a bucket edge and a window is a whole number of buckets. */
#define FW_STATIONS_BUCKET_MS (15 * 60000LL)
/* 40 hours: a 24-hour window, the longest allowed gap before it (6 h), and room after it for
 * the step's delay and readings that arrive a few hours late. */
#define FW_STATIONS_NBUCKETS 160

/** The rain one station reported, by bucket; a plain value (copy it freely). */
struct fw_stations_rain {
    struct {
        int64_t id; /* covers (id * BUCKET_MS, (id + 1) * BUCKET_MS]; INT64_MIN when empty */
        double sum;
    } b[FW_STATIONS_NBUCKETS];
};

/**
 * The id behind place `k` of a zone: stations[k] for k < nstations, else the fallback. The
 * string is the caller's.
 */
const char *fw_stations_id(const char (*stations)[FW_READING_MAX_ID], size_t nstations,
                           const char *fallback, size_t k);

/**
 * The zone's value from one value per place (`v[0..nstations-1]` the stations', then the
 * fallback's when `nplaces` > nstations; NAN where a place has none): the mean over the
 * stations that have one, or else the fallback's, or else NAN.
 */
double fw_stations_mean(const double *v, size_t nstations, size_t nplaces);

/** Empty every bucket. */
void fw_stations_rain_init(struct fw_stations_rain *r);

/** Add `mm` reported at `t` (the rain since the station's previous report, counted at t). A
 * report older than the ring is dropped: no window still to come can include it. */
void fw_stations_rain_add(struct fw_stations_rain *r, int64_t t, double mm);

/**
 * The rain in (from, to], or -1 when the reports do not cover it: a run of empty buckets longer
 * than `max_gap_min` anywhere from that long before the window to its end means reports were
 * lost (radio, an outage, a fresh start), and the sum would undercount. Stations report 0 when
 * it is dry, so an empty bucket is not "no rain".
 */
double fw_stations_rain_sum(const struct fw_stations_rain *r, int64_t from, int64_t to,
                            int max_gap_min);

/** The filled buckets as a JSON array of [id, sum] (the caller's, cJSON_Delete()). */
struct cJSON *fw_stations_rain_save(const struct fw_stations_rain *r);

/** Restore buckets saved by fw_stations_rain_save() into `r` (initialised). Returns 0 or
 * -EINVAL (then `r` may hold part of the text). */
int fw_stations_rain_restore(const struct cJSON *a, struct fw_stations_rain *r);

#endif
