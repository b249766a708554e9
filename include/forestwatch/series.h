/* SPDX-License-Identifier: MIT */
/*
 * Time series of readings for the rules: one series per (metric, station) for measured metrics
 * and per (metric, zone) for derived zone metrics, each a ring of (time, value) samples kept in
 * time order. A series keeps only what the rules need: samples newer than its metric's retention
 * (the longest window over that metric in any rule, plus the lookback), and at most its
 * metric's sample cap; the newest sample is always kept. So memory is bounded by
 * series x cap whatever the input does (docs/rules.md gives the figures).
 *
 * Samples may arrive out of order: a late sample is inserted in its place; a sample older than
 * the retention is dropped and counted; a second sample with the same time replaces the first.
 */
#ifndef FORESTWATCH_SERIES_H
#define FORESTWATCH_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/reading.h"

struct fw_series {
    const struct fw_metric *metric; /* as the newest sample's reading described it */
    int metric_id;                  /* fw_metric_id: what the series is keyed by */
    char key[FW_READING_MAX_ID];    /* station id, or zone id for a zone metric */
    char zone[FW_READING_MAX_ID];   /* the zone the series belongs to */
    enum fw_source_kind source;     /* the source of the newest sample */
    int64_t *t;
    double *v;
    uint32_t cap, head, len; /* ring: the oldest sample is at head */
    uint64_t dropped;        /* samples refused as too old, or pushed out by the cap */
};

struct fw_series_store;

/**
 * Per-metric limits: keep samples newer than now - retain_ms, at most `cap` of them. A cap of 0
 * marks a metric not in use (a declared metric the config no longer declares): its samples are
 * refused and its series dropped.
 */
struct fw_series_limits {
    int64_t retain_ms;
    uint32_t cap;
};

/**
 * A store with `limits[i]` for the metric of id i (fw_metric_id), i < nlimits; the array is
 * copied. Metrics of higher ids are not in use.
 */
struct fw_series_store *fw_series_store_new(const struct fw_series_limits *limits, int nlimits);
void fw_series_store_free(struct fw_series_store *st);

/**
 * Hold at most `max_series` series (0: no cap). Once there are that many, a sample that would
 * start another series is refused (-ENOSPC) and counted; the series held keep taking samples.
 * So readings with ever new station ids cannot grow the store without bound.
 */
void fw_series_store_set_max(struct fw_series_store *st, size_t max_series);

/** Samples refused because they would have started a series past the cap. */
uint64_t fw_series_store_refused(const struct fw_series_store *st);

/** Change the limits (after a reload): series shrink on their next insertion; those of metrics
 * no longer in use are dropped at once. */
void fw_series_store_set_limits(struct fw_series_store *st, const struct fw_series_limits *limits,
                                int nlimits);

/** The series of (metric, key), or NULL when none has been seen. */
struct fw_series *fw_series_find(const struct fw_series_store *st, const struct fw_metric *m,
                                 const char *key);

/**
 * Add a sample to the series of (metric, key), creating it. `now_ms` is the gateway time, for
 * the retention. Returns 0, -ESTALE when the sample was older than the retention and dropped,
 * -ENOSPC when it would start a series past the cap, or -ENOENT when the metric is not in use
 * (nothing changed in these cases).
 */
int fw_series_add(struct fw_series_store *st, const struct fw_metric *m, const char *key,
                  const char *zone, enum fw_source_kind source, int64_t t_ms, double value,
                  int64_t now_ms);

/** Number of samples. */
static inline uint32_t fw_series_len(const struct fw_series *s)
{
    return s ? s->len : 0;
}

/** Sample i in time order (0 is the oldest). i < len. */
static inline void fw_series_at(const struct fw_series *s, uint32_t i, int64_t *t, double *v)
{
    uint32_t k = (s->head + i) % s->cap;
    *t = s->t[k];
    *v = s->v[k];
}

/** Index of the first sample with time >= t_ms (len when none), by binary search. */
uint32_t fw_series_lower_bound(const struct fw_series *s, int64_t t_ms);

/** Totals over the store, for stats and the memory figures. */
void fw_series_store_stats(const struct fw_series_store *st, size_t *nseries, size_t *nsamples,
                           uint64_t *dropped);

/** Visit every series (order unspecified). */
void fw_series_store_each(struct fw_series_store *st, void (*fn)(struct fw_series *, void *),
                          void *arg);

#endif
