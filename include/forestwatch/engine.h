/* SPDX-License-Identifier: MIT */
/*
 * The engine: a deterministic state machine from readings to notifications. It does no I/O and
 * never reads the clock; the caller passes the time. The daemon, the replay tool and the tests
 * drive the very same code, so any behaviour can be replayed.
 *
 * Time: every rule is evaluated in all its contexts at each multiple of the config's
 * engine.eval_interval_ms (an evaluation instant), and the rules that read a metric are
 * evaluated again, in the contexts a new sample can change, when the sample arrives. Both
 * fw_engine_feed and fw_engine_tick first run every instant up to `now` that has not run yet,
 * so the same readings fed at the same times give the same alerts, however often the caller
 * ticks. That is what makes a replay of recorded readings reproduce the live daemon.
 *
 * All calls for one engine must come from one thread (the daemon's loop thread).
 */
#ifndef FORESTWATCH_ENGINE_H
#define FORESTWATCH_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/alerts.h"
#include "forestwatch/config.h"
#include "forestwatch/reading.h"
#include "forestwatch/rules.h"

struct fw_engine;

struct fw_engine_stats {
    uint64_t readings;         /* readings fed */
    uint64_t stale;            /* samples older than any rule looks, dropped */
    uint64_t series_refused;   /* samples that would have started a series past the cap */
    uint64_t evaluations;      /* rule evaluations in one context */
    uint64_t instants;         /* evaluation instants run */
    uint64_t skipped_instants; /* instants skipped after a jump of the clock */
    uint64_t fired;            /* alert episodes started */
    uint64_t resolved;         /* alert episodes ended */
    size_t firing;             /* episodes firing now */
    size_t pending;            /* instances waiting out their `for` */
    size_t instances;          /* (rule, context) pairs tracked */
    size_t series;             /* series held */
    size_t samples;            /* samples held in all series */
};

/**
 * Create an engine for `cfg`, which is borrowed and must outlive the engine (and every
 * notification the engine produced that has not been rendered yet).
 */
struct fw_engine *fw_engine_new(const struct fw_config *cfg);

/** Release an engine. NULL is a no-op. */
void fw_engine_free(struct fw_engine *e);

/**
 * After a reload: run the evaluation instants of `old` (built on the previous config) that are
 * due by `now_ms`, then move its series, clock and rule state into the new engine `e`. Instances of
 * rules whose logic is unchanged keep their state exactly (a pending `for` keeps counting, a firing
 * alert is not announced again). A changed rule's pending instances start over; its firing ones are
 * evaluated at `now_ms` and resolved (cause rule_changed) unless they still hold. A removed rule's
 * firing alerts are resolved, notified to those of its routes that the new config still has. `old`
 * keeps its config but loses its series, and may be freed at once: notifications hold copies and
 * pointers into the configs (the rule, the metric), never into an engine, so it is the old config
 * that must outlive the notifications until they are rendered.
 */
void fw_engine_adopt(struct fw_engine *e, struct fw_engine *old, int64_t now_ms,
                     struct fw_actions *out);

/**
 * Feed one reading at gateway time `now_ms`. Appends to `out` one notification per route for
 * every alert that fires or resolves. Returns the number of notifications appended.
 */
size_t fw_engine_feed(struct fw_engine *e, const struct fw_reading *r, int64_t now_ms,
                      struct fw_actions *out);

/** Run the evaluation instants up to `now_ms`. Returns the number of notifications appended. */
size_t fw_engine_tick(struct fw_engine *e, int64_t now_ms, struct fw_actions *out);

/**
 * A duty officer acknowledged the alert `alert_id` (the "id" of its messages) at `at_ms`: its
 * repeats and escalation stop. Returns 0, -ENOENT when no open episode has that id (it resolved
 * meanwhile, or was never this gateway's), or -EALREADY.
 */
int fw_engine_ack(struct fw_engine *e, const char *alert_id, const char *by, int64_t at_ms);

/** The zone's current fire-danger level at `now_ms` (NaN when unknown or stale). */
double fw_engine_zone_level(const struct fw_engine *e, const char *zone, int64_t now_ms);

/**
 * Visit the open alerts of `zone` (firing and announced), in no particular order. The instance
 * is valid for the call.
 */
void fw_engine_zone_alerts(const struct fw_engine *e, const char *zone,
                           void (*fn)(const struct fw_rule_instance *, void *), void *arg);

/** Counters, for the status log and tests. */
void fw_engine_stats(const struct fw_engine *e, struct fw_engine_stats *out);

/** The instance of `rule` in context `key` (station, zone or ""), or NULL. For tests/status. */
const struct fw_rule_instance *fw_engine_instance(const struct fw_engine *e, const char *rule,
                                                  const char *key);

/** The config the engine was built on. */
const struct fw_config *fw_engine_config(const struct fw_engine *e);

#endif
