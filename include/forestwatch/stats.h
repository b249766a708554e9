/* SPDX-License-Identifier: MIT */
/*
 * The gateway's counters and gauges, kept by the daemon as things happen and rendered in the
 * Prometheus text exposition format for `/metrics` (docs/console.md). Each family has a fixed
 * name, type, help text and at most one label; its series are created on first use, up to
 * FW_STATS_MAX_SERIES per family (label values come from the config: routes, rules, brokers,
 * nodes, devices), so memory stays bounded whatever arrives. The console's JSON reads the same
 * figures (a node's last reading, tomorrow's level), so the page and the metrics agree.
 *
 * Pure: no I/O, no clock; times are passed in. All calls from one thread (the loop's).
 */
#ifndef FORESTWATCH_STATS_H
#define FORESTWATCH_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/reading.h"

struct fw_stats;

/* The families, in the order /metrics lists them (docs/console.md has each). */
enum fw_stat {
    FW_STAT_UPLINKS,           /* counter: uplink messages received on uplink topics */
    FW_STAT_UPLINK_ISSUES,     /* counter{reason}: rejected messages, dropped readings */
    FW_STAT_READINGS,          /* counter{source}: readings given to the core */
    FW_STAT_ALERTS_FIRED,      /* counter{rule}: alert episodes that started */
    FW_STAT_ALERTS_RESOLVED,   /* counter{rule}: alert episodes that ended */
    FW_STAT_MSG_COMMITTED,     /* counter{route}: messages saved to the outbox */
    FW_STAT_MSG_PUBLISHED,     /* counter{broker}: messages handed to the broker */
    FW_STAT_MSG_ACKED,         /* counter{broker}: messages the broker acknowledged */
    FW_STAT_OUTBOX_DEPTH,      /* gauge: messages in the outbox not acknowledged yet */
    FW_STAT_BROKER_UP,         /* gauge{broker}: 1 connected, 0 not */
    FW_STAT_BROKER_RECONNECTS, /* counter{broker}: connections after the first */
    FW_STAT_MODBUS_POLLS,      /* counter{device}: polls answered */
    FW_STAT_MODBUS_FAILURES,   /* counter{device}: polls failed */
    FW_STAT_NODE_LAST_SEEN,    /* gauge{node}: time of the node's last reading, Unix seconds */
    FW_STAT_ZONE_TOMORROW,     /* gauge{zone}: tomorrow's expected fire-danger level */
    FW_STAT__COUNT,
};

#define FW_STATS_MAX_SERIES 4096

/** A registry with every counter at zero. Aborts when out of memory. */
struct fw_stats *fw_stats_new(void);

/** Release. NULL is a no-op. */
void fw_stats_free(struct fw_stats *s);

/**
 * Add `delta` to the series of family `f` with label value `label` (NULL or "" for a family
 * without a label). A series past FW_STATS_MAX_SERIES is not created; the figure is lost and
 * counted (forestwatch_stats_series_dropped_total).
 */
void fw_stats_add(struct fw_stats *s, enum fw_stat f, const char *label, double delta);

/** Set the series to `v` (a gauge, or a counter kept elsewhere, e.g. a Modbus device's). */
void fw_stats_set(struct fw_stats *s, enum fw_stat f, const char *label, double v);

/**
 * The series' value in *v and the time it was last changed (the `at_ms` of fw_stats_reading, 0
 * otherwise) in *at_ms (either may be NULL). Returns 0, or -ENOENT when the series was never
 * touched.
 */
int fw_stats_get(const struct fw_stats *s, enum fw_stat f, const char *label, double *v,
                 int64_t *at_ms);

/**
 * A reading given to the core at `now_ms` (each of the core's record actions): counted by
 * source; a field reading sets its node's last-seen time; a derived
 * fire_danger_level_tomorrow sets the zone's tomorrow level.
 */
void fw_stats_reading(struct fw_stats *s, const struct fw_reading *r, int64_t now_ms);

/**
 * The Prometheus text format (version 0.0.4) of every family: HELP and TYPE lines, then one
 * line per series, label values escaped. Returns the text, owned by the caller (free()).
 */
char *fw_stats_render(const struct fw_stats *s);

#endif
