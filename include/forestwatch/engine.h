/* SPDX-License-Identifier: MIT */
/*
 * The engine: a deterministic state machine from readings to notifications. It does no I/O and
 * never reads the clock; the caller passes the time. The daemon, the replay tool and the tests
 * drive the very same code, so any behaviour can be replayed.
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

struct fw_engine;

struct fw_engine_stats {
    uint64_t readings;      /* readings fed */
    uint64_t late_readings; /* ignored by a rule instance because a newer one was seen */
    uint64_t fired;         /* alert episodes started */
    uint64_t resolved;      /* alert episodes ended */
    size_t firing;          /* episodes firing now */
    size_t instances;       /* (rule, station) pairs tracked */
};

/**
 * Create an engine for `cfg`, which is borrowed and must outlive the engine (and every
 * notification the engine produced that has not been rendered yet).
 */
struct fw_engine *fw_engine_new(const struct fw_config *cfg);

/** Release an engine. NULL is a no-op. */
void fw_engine_free(struct fw_engine *e);

/**
 * Carry the rule state of `old` (built on the previous config) into the new engine `e`, after a
 * reload: instances of rules that still exist keep their state (a firing alert stays firing and
 * is not announced again); a firing instance whose rule was removed, or whose changed rule no
 * longer matches its last value, is resolved, with notifications appended to `out` for the
 * routes of the new config. `old` is only read; the caller frees it afterwards.
 */
void fw_engine_adopt(struct fw_engine *e, const struct fw_engine *old, int64_t now_ms,
                     struct fw_actions *out);

/**
 * Feed one reading at gateway time `now_ms`. Appends to `out` one notification per route for
 * every alert that fires or resolves. Returns the number of notifications appended.
 */
size_t fw_engine_feed(struct fw_engine *e, const struct fw_reading *r, int64_t now_ms,
                      struct fw_actions *out);

/** Counters, for the status topic and tests. */
void fw_engine_stats(const struct fw_engine *e, struct fw_engine_stats *out);

/** The config the engine was built on. */
const struct fw_config *fw_engine_config(const struct fw_engine *e);

#endif
