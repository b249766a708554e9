/* SPDX-License-Identifier: MIT */
/*
 * What the per-zone models (fire_model.c: fire danger, pests.c: pest development) share: the checks
 * of a zone's station list, the array of derived readings they append to, and the JSON of their
 * saved state, where every number is written as raw text so that a restore gets back exactly what
 * was saved. Internal to the core library: only the two models use it. Pure, no I/O.
 */
#ifndef FORESTWATCH_MODELUTIL_H
#define FORESTWATCH_MODELUTIL_H

#include "forestwatch/reading.h"

#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* ------------------------------------------------------------------------------------------ */
/* Parameters and output                                                                       */
/* ------------------------------------------------------------------------------------------ */

/** Whether `month` and `day` name a day of some year (29 February included). */
int fw_modelutil_date_ok(int month, int day);

/**
 * Check a zone's station list: no id empty, none the same as `fallback`, none twice. Returns 0,
 * or -EINVAL with *err set to the message (static).
 */
int fw_modelutil_stations_check(const char (*stations)[FW_READING_MAX_ID], size_t nstations,
                                const char *fallback, const char **err);

/**
 * Append a derived reading of zone `zone` (metric, value, time) to the growable array `*v` of
 * `*n` readings and room for `*cap`, growing it as needed.
 */
void fw_modelutil_emit(struct fw_reading **v, size_t *n, size_t *cap, const char *zone,
                       const struct fw_metric *metric, double value, int64_t t_ms);

/* ------------------------------------------------------------------------------------------ */
/* Saved state                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/**
 * Start a saved state: an object {"version":1,"zones":[]}; *zones is its array, for the caller's
 * zone objects. Finish it with fw_modelutil_saved_print().
 */
struct cJSON *fw_modelutil_saved_new(struct cJSON **zones);

/** Print a saved state unformatted and free it (takes ownership of `root`). Returns malloc memory
 * that the caller frees. */
char *fw_modelutil_saved_print(struct cJSON *root);

/**
 * Parse a saved state of at most `max` bytes: an object with "version" 1 and an array "zones".
 * On success *root holds the parse (free it with cJSON_Delete()) and *zones its array. Returns 0,
 * -E2BIG for a longer text, or -EINVAL (then *root is NULL).
 */
int fw_modelutil_saved_parse(const char *json, size_t max, struct cJSON **root,
                             const struct cJSON **zones);

/** What fw_modelutil_restore_zones needs to know of a model's zones. */
struct fw_modelutil_zones {
    void *v; /* the zones: an array of n elements of `size` bytes */
    size_t n, size;
    size_t id_off;                /* where a zone's id (a NUL-terminated char array) sits */
    size_t state_off, state_size; /* where its state sits, and the state's size */
    void (*init)(void *state);    /* a state with nothing yet */
    /* Read saved zone `o` of `zone` into `state`: 0, or -EINVAL */
    int (*restore)(const struct cJSON *o, const void *zone, void *state);
};

/**
 * Restore a model's zone states from `json` (at most `max` bytes, fw_modelutil_saved_parse):
 * each saved zone whose id is a zone's goes through `restore` into a fresh state, the others are
 * skipped; all or nothing, the zones' states change only when every saved zone was accepted.
 * Returns 0, or the parse's error, or -EINVAL.
 */
int fw_modelutil_restore_zones(const char *json, size_t max, const struct fw_modelutil_zones *z);

/** Add raw JSON `text` to object `o` as `key`, or with a NULL key to array `o`. */
void fw_modelutil_add_raw(struct cJSON *o, const char *key, const char *text);

/** Add a double as %.17g (it round-trips), or null when not finite; `key` as above. */
void fw_modelutil_add_dbl(struct cJSON *o, const char *key, double v);

/** Add an integer, exact; `key` as above. */
void fw_modelutil_add_int(struct cJSON *o, const char *key, int64_t v);

/** Add an integer, or null for INT64_MIN (an unset day or time, read back by
 * fw_modelutil_get_int() with `nullable`); `key` as above. */
void fw_modelutil_add_opt(struct cJSON *o, const char *key, int64_t v);

/**
 * Read `v`, which must be an integer in [lo, hi] (and within +-2^53, where doubles hold every
 * integer), or with `nullable` a null, read as INT64_MIN. Returns 0 or -EINVAL.
 */
int fw_modelutil_get_int(const struct cJSON *v, int nullable, int64_t lo, int64_t hi, int64_t *out);

/** Read `v`, which must be a finite number, or with `nullable` a null, read as NAN. Returns 0 or
 * -EINVAL. */
int fw_modelutil_get_dbl(const struct cJSON *v, int nullable, double *out);

#endif
