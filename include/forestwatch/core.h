/* SPDX-License-Identifier: MIT */
/*
 * The pure core every driver shares: the zone models (model.h), the rule engine (engine.h) and
 * the alert post-processing (dispatch.h), joined. A driver hands it decoded readings, the time,
 * acknowledgements and new configs; the core passes each reading to every model and to the
 * engine, runs the models' due steps and feeds what they derive to the engine, and renders the
 * engine's notifications per route. What the driver must do comes back as actions, in order:
 * readings to record, lines to log, model states to save, and rendered messages to commit.
 *
 * No I/O, no clock: every time is passed in. All calls for one core come from one thread.
 */
#ifndef FORESTWATCH_CORE_H
#define FORESTWATCH_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/alerts.h"
#include "forestwatch/config.h"
#include "forestwatch/dispatch.h"
#include "forestwatch/model.h"
#include "forestwatch/reading.h"

struct fw_core;
struct fw_engine;

enum fw_core_action_kind {
    FW_CORE_RECORD,       /* record `reading`, given to the engine at the call's time */
    FW_CORE_NOTE,         /* log `text` at `level` */
    FW_CORE_SAVE,         /* store the state of model `model` (fw_model_save) */
    FW_CORE_NOTE_LIMITED, /* log `text` at `level`, at most a few such lines a minute */
};

struct fw_core_action {
    enum fw_core_action_kind kind;
    struct fw_reading reading;
    int level; /* enum fw_log_level */
    char text[FW_MODEL_NOTE_MAX];
    enum fw_model_kind model;
};

/** The actions of one call, in the order to carry them out; zero-initialise, reuse. */
struct fw_core_actions {
    struct fw_core_action *v;
    size_t n, cap;
};

/** Release the actions' memory. */
void fw_core_actions_free(struct fw_core_actions *a);

/**
 * A core for `cfg` (borrowed: it must outlive the core, or the next fw_core_reload()). Models
 * the config's zones do not use are not built; a model that refuses its zones is left out with
 * an error line in `out`.
 */
struct fw_core *fw_core_new(const struct fw_config *cfg, struct fw_core_actions *out);

/** Release a core. NULL is a no-op. Held groups are dropped: fw_core_flush() them first. */
void fw_core_free(struct fw_core *c);

/** The model of kind `k`, NULL when no zone has it (to restore or save its state). */
struct fw_model *fw_core_model(struct fw_core *c, enum fw_model_kind k);

/**
 * Whether a model of the core derives readings for zone `zone` (a zone of the config with a fire,
 * pest or national rating model that runs): a driver that replays recorded derived readings of such
 * a zone skips them, since the core derives them again.
 */
int fw_core_derives(const struct fw_core *c, const char *zone);

/** The engine, for status (zone levels, open alerts, counters). */
const struct fw_engine *fw_core_engine(const struct fw_core *c);

/**
 * Readings of any source, given at `now_ms`: each is recorded (an action), then goes to every
 * model and to the engine. Notifications wait in fw_core_pending().
 */
void fw_core_feed(struct fw_core *c, const struct fw_reading *r, size_t n, int64_t now_ms,
                  struct fw_core_actions *out);

/**
 * The time goes on to `now_ms`: each model runs its due steps, and each derived reading is
 * logged when worth a line, recorded and fed to the engine; a model that derived anything has
 * its state saved; then the engine runs its evaluation instants.
 */
void fw_core_tick(struct fw_core *c, int64_t now_ms, struct fw_core_actions *out);

/**
 * The meteorology feed's forecasts `v[0..n)`: each to every model that uses it (the noon weather
 * to the fire model, the day's extremes to the pest model; a zone a model does not have is
 * skipped quietly). A kept forecast may give a line (INFO); one a model refuses gives a limited
 * warning naming why; a model that kept any has its state saved.
 */
void fw_core_forecasts(struct fw_core *c, const struct fw_meteo_forecast *v, size_t n,
                       struct fw_core_actions *out);

/** A duty officer acknowledged alert `alert_id` at `at_ms`: as fw_engine_ack(). */
int fw_core_ack(struct fw_core *c, const char *alert_id, const char *by, int64_t at_ms);

/**
 * A new config `cfg` (borrowed, as for fw_core_new) at `now_ms`: a new engine adopts the old
 * one's instances (resolutions of removed rules wait in fw_core_pending(), pointing into the old
 * config, which must live until they are dispatched), and new models adopt the old ones' states,
 * each saying what it carried over. Release the held groups before: they point into the old
 * config.
 */
void fw_core_reload(struct fw_core *c, const struct fw_config *cfg, int64_t now_ms,
                    struct fw_core_actions *out);

/** The engine's notifications not dispatched yet. The driver clears them after dispatching. */
struct fw_actions *fw_core_pending(struct fw_core *c);

/**
 * Render the pending notifications (fw_dispatch_notifications, with the pest model's context)
 * at `now_ms` into `out`. They stay pending.
 */
void fw_core_dispatch(struct fw_core *c, int64_t now_ms, struct fw_dispatch_out *out);

/** Release the held groups due by `upto_ms` (INT64_MAX: all) at `now_ms`, as fw_dispatch_flush().
 */
void fw_core_flush(struct fw_core *c, int64_t upto_ms, int64_t now_ms, struct fw_dispatch_out *out);

/** When the earliest held group is due (ms, on the calls' time), 0 when none is held. */
int64_t fw_core_next_deadline(const struct fw_core *c);

#endif
