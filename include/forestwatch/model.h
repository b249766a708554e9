/* SPDX-License-Identifier: MIT */
/*
 * One interface for the zone models that turn station readings into derived zone readings: the
 * fire-danger model (gateway/fire_model.c), the pest model (gateway/pests.c) and the national
 * fire weather rating (gateway/cn_model.c) are its implementations, rows of model_types[]. A driver
 * (the daemon, a test) runs every model the same way, without naming one: build from the config,
 * feed each accepted reading, hand over the meteorology feed's forecasts, tick with the time, save
 * and restore the state as JSON, and on reload let the new model adopt the old one's state. What a
 * model derives goes back to the driver, which feeds it to the engine like any reading.
 *
 * Like the models themselves this module does no I/O and never reads the clock. What an operator
 * should see (a day's level, the codes a zone continues from) comes back as lines of text that
 * the driver logs; the interface never logs.
 *
 * All calls for one model must come from one thread (the daemon's loop thread).
 */
#ifndef FORESTWATCH_MODEL_H
#define FORESTWATCH_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/reading.h"

struct fw_config;
struct fw_meteo_forecast;
struct fw_model;

#define FW_MODEL_NOTE_MAX 512 /* one log line, with its terminating NUL */

/** The kinds of model, in the order a driver runs them (and logs what they say). */
enum fw_model_kind {
    FW_MODEL_FIRE,
    FW_MODEL_PESTS,
    FW_MODEL_CN, /* the national forest fire weather rating (gateway/cn_model.c) */
    /* The meteorology bureau's published level (gateway/bureau.c); last, so that it sees the
     * computed levels of the models above in the same tick. */
    FW_MODEL_BUREAU,
    FW_MODEL__COUNT,
};

/** Receives one whole line of text for the log (INFO level and up is the driver's choice). */
typedef void (*fw_model_note_cb)(void *arg, const char *line);

/**
 * Build model `kind` for the zones of `cfg` that configure it. Returns 0 and sets `*out`; `*out`
 * is NULL when no zone has that model (nothing to run). Returns -EINVAL with `*err` (static text)
 * when the model refuses the zones, which the config loader's checks rule out. No zone has state
 * yet; fw_model_restore() or fw_model_adopt() before the first feed or tick continues one.
 */
int fw_model_new(enum fw_model_kind kind, const struct fw_config *cfg, struct fw_model **out,
                 const char **err);

/** Release a model. NULL is a no-op. */
void fw_model_free(struct fw_model *m);

/** "fire", "pests", "cn" or "bureau": the name in log lines. Static text. */
const char *fw_model_name(enum fw_model_kind kind);

/** The model's title in sentences ("fire-danger model", "pest model"). Static text. */
const char *fw_model_title(enum fw_model_kind kind);

/** Its short name in sentences ("fire model", "pest model"). Static text. */
const char *fw_model_noun(enum fw_model_kind kind);

/** The key under which the driver stores the model's state ("models.fire"). Static text. */
const char *fw_model_state_key(enum fw_model_kind kind);

/** The kind `m` was built as. */
enum fw_model_kind fw_model_kind(const struct fw_model *m);

/** Feed one accepted reading; the model takes what it uses and ignores the rest. */
void fw_model_feed(struct fw_model *m, const struct fw_reading *r);

/**
 * Hand over one day's forecast of the meteorology feed. Returns 0 when the model keeps it,
 * -ENOENT when it is not for this model (a zone it does not model, or a forecast without the
 * quantities it uses: a bureau's feed covers more than a gateway models), or the model's own
 * refusal (-EINVAL, -ERANGE, -EALREADY, -ENOSPC; see fw_models_forecast()). When kept and the
 * model has something to say, `note` (FW_MODEL_NOTE_MAX bytes) receives it, else "".
 */
int fw_model_forecast(struct fw_model *m, const struct fw_meteo_forecast *f, char *note);

/**
 * Run the steps due by `now_ms`. Returns the number of derived readings and points `*out` at
 * them; they belong to the model and stay valid until its next tick or free.
 */
size_t fw_model_tick(struct fw_model *m, int64_t now_ms, const struct fw_reading **out);

/**
 * The log line for derived reading `r` of this model's last tick, written into `line`
 * (FW_MODEL_NOTE_MAX bytes). Returns 1 when there is one, 0 for a reading not worth a line.
 * `cfg` is the config the model was built from (for the zone's local time).
 */
int fw_model_note(const struct fw_model *m, const struct fw_config *cfg, const struct fw_reading *r,
                  char *line);

/**
 * Say, zone by zone, what the model continues from (codes, degree-days), each line prefixed with
 * `what` ("restored", "carried over"). `cfg` is the config the model was built from.
 */
void fw_model_describe(const struct fw_model *m, const struct fw_config *cfg, const char *what,
                       fw_model_note_cb cb, void *arg);

/** Serialise the whole state as JSON into `*json` (the caller's, free()). Returns 0. */
int fw_model_save(const struct fw_model *m, char **json);

/**
 * Restore a state saved by fw_model_save() of the same kind. Returns 0; -EINVAL for text that
 * is not a valid saved state (the model is then unchanged); -E2BIG for text over 4 MiB.
 */
int fw_model_restore(struct fw_model *m, const char *json);

/**
 * On reload: the new model `m` takes the state of the old one `old` (same kind), zone by zone,
 * matched by id: a zone whose parameters changed keeps its state and its buffered readings of
 * stations it still has, and the new parameters apply from its next step; removed zones are
 * dropped, new ones start fresh. Returns 0 or the restore's error (`m` then starts fresh).
 */
int fw_model_adopt(struct fw_model *m, const struct fw_model *old);

/**
 * The implementation behind `m` when it is of kind `kind`, else NULL: struct fw_models * for
 * FW_MODEL_FIRE, struct fw_pests * for FW_MODEL_PESTS, struct fw_cnm * for FW_MODEL_CN, struct
 * fw_bureau * for FW_MODEL_BUREAU. For
 * questions only one model answers (a pest's state in an alert's text).
 */
const void *fw_model_impl(const struct fw_model *m, enum fw_model_kind kind);

#endif
