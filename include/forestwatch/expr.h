/* SPDX-License-Identifier: MIT */
/*
 * The rule expression language (grammar and semantics in docs/rules.md). An expression is
 * compiled once, at config load, into a flat tree; evaluating it allocates nothing.
 *
 * Evaluation is per context: a station (a field node), a zone, or the whole gateway. The
 * compiler infers a rule's scope from what the expression reads: a station metric outside any
 * aggregation makes it per station; otherwise a zone metric or an aggregation `by (zone)` makes
 * it per zone; otherwise it is global. A metric reference with an explicit `station=` or
 * `node=` matcher is pinned to that station in every context.
 *
 * Values are doubles. Conditions are three-valued: 1 (true), 0 (false) and NaN (unknown, when
 * data is missing), combined with Kleene logic, so `not (smoke_ppm > 300)` is not true for a
 * station that has no smoke sensor.
 */
#ifndef FORESTWATCH_EXPR_H
#define FORESTWATCH_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/reading.h"
#include "forestwatch/series.h"

struct fw_config;
struct fw_cfg_node;
struct fw_cfg_zone;

#define FW_EXPR_MAX_LEN 4096 /* bytes of source text */
#define FW_EXPR_MAX_NODES 512
#define FW_EXPR_MAX_RANGE_MS (31LL * 24 * 3600 * 1000) /* the longest window: 31 days */

enum fw_expr_scope { FW_EXPR_GLOBAL, FW_EXPR_ZONE, FW_EXPR_STATION };

struct fw_expr;

struct fw_expr_error {
    int pos;       /* byte offset into the source where the problem is (0-based) */
    char msg[192]; /* "expected ')' after the function's argument, got ']'" */
};

/**
 * Compile `src`. Returns 0 and the expression in *out (free with fw_expr_free), or -EINVAL with
 * the position and a message saying what was expected in *err. `want_condition`: the result
 * must be a condition (true/false), as a rule's expr and clear are.
 */
int fw_expr_parse(const char *src, int want_condition, struct fw_expr **out,
                  struct fw_expr_error *err);

void fw_expr_free(struct fw_expr *e);

enum fw_expr_scope fw_expr_scope(const struct fw_expr *e);
const char *fw_expr_scope_str(enum fw_expr_scope s);

/** The source text the expression was compiled from. */
const char *fw_expr_source(const struct fw_expr *e);

/**
 * The longest time back the expression reads for metric `m` (window ranges and absent_for
 * durations), or -1 when it does not read `m` at all; 0 for instant reads only.
 */
int64_t fw_expr_range_ms(const struct fw_expr *e, const struct fw_metric *m);

/**
 * The first window (a range `[..]`, not absent_for's duration) longer than `max_ms`: its byte
 * offset in the source (0-based) and its range in *range_ms; -1 when every window fits.
 */
int fw_expr_window_over(const struct fw_expr *e, int64_t max_ms, int64_t *range_ms);

/*
 * Which contexts a new sample of a metric can change: its own (the station or zone it belongs
 * to), every context in its zone (it is read through an aggregation by zone, or it is a zone
 * metric read by a per-station rule), or every context (a pinned read, or an aggregation over
 * everything).
 */
enum fw_expr_reach { FW_REACH_NONE = -1, FW_REACH_SELF, FW_REACH_ZONE, FW_REACH_ALL };

/** How far a new sample of `m` reaches in this expression (FW_REACH_NONE: not read). */
enum fw_expr_reach fw_expr_reach(const struct fw_expr *e, const struct fw_metric *m);

/** 1 when the result can change with time alone, without a new sample (windows, absent_for). */
int fw_expr_time_dependent(const struct fw_expr *e);

/**
 * 1 when `a` and `b`, compiled from the same text, read the same metrics (by fw_metric_id): not
 * so when a reload changed the unit of a declared metric they read, which makes it another one.
 */
int fw_expr_same_metrics(const struct fw_expr *a, const struct fw_expr *b);

/**
 * The metric of the expression's primary value (the left side of its first comparison, when it
 * is a plain metric reference), or NULL; and the constant on the comparison's right side, if
 * any (*has_threshold 0 otherwise). For the alert message.
 */
const struct fw_metric *fw_expr_primary_metric(const struct fw_expr *e, double *threshold,
                                               int *has_threshold, const char **op);

/* What an evaluation reads: the series, the config (stations of a zone), the clock. */
struct fw_expr_env {
    const struct fw_series_store *series;
    const struct fw_config *cfg;
    /* Station indexes (into cfg->nodes) per zone index (into cfg->zones). */
    const size_t *const *zone_nodes;
    const size_t *zone_nnodes;
    int64_t lookback_ms; /* how old the latest sample may be for an instant read */
    int64_t start_ms;    /* when the gateway started watching: absent_for counts from here */
};

/*
 * Incremental aggregations. An aggregation over stations (`count by (zone) (smoke_ppm > 300)`)
 * recomputed at every evaluation costs the size of its group; with this state it costs only the
 * stations whose value changed since the last evaluation: it keeps, per aggregation and group (a
 * zone, or every station), each station's value of the inner expression, the time at which that
 * value may change with time alone (a sample ageing past the lookback or out of a window), and
 * the aggregate itself: a count, an exact sum (so avg and sum agree bit for bit with a sum taken
 * afresh) or a heap for min and max. Aggregations whose inner expression reads anything but the
 * element station's own series (a zone metric, a pinned station, another aggregation) are
 * recomputed at each evaluation. docs/engine.md has the memory cost.
 *
 * The caller must report every sample it adds to the store with fw_expr_aggs_touch, or the kept
 * values go stale; with no state (ctx->aggs NULL) the evaluator recomputes, and the results are
 * identical either way.
 */
struct fw_expr_aggs;

/**
 * State for the aggregations of `e` that can be kept incrementally, over the stations of
 * env->cfg. `e` and `env` are borrowed and must outlive the state; the series store may be
 * replaced in env (the state then starts over). Returns NULL when `e` has no such aggregation.
 * Allocates everything it will need: evaluating with it allocates nothing.
 */
struct fw_expr_aggs *fw_expr_aggs_new(const struct fw_expr *e, const struct fw_expr_env *env);

/** Release the state. NULL is a no-op. */
void fw_expr_aggs_free(struct fw_expr_aggs *a);

/**
 * A sample of `m` was added to the series of station `node` (an index into env->cfg->nodes):
 * its value is computed again at the next evaluation. NULL `a` is a no-op.
 */
void fw_expr_aggs_touch(struct fw_expr_aggs *a, const struct fw_metric *m, size_t node);

/** Bytes the state holds, for the memory figures. */
size_t fw_expr_aggs_bytes(const struct fw_expr_aggs *a);

struct fw_expr_ctx {
    const struct fw_expr_env *env;
    int64_t now_ms;
    const struct fw_cfg_node *station; /* the context station, or NULL */
    const struct fw_cfg_zone *zone;    /* the context zone, or NULL */
    /* The expression's incremental aggregations (fw_expr_aggs_new for this very expression),
     * or NULL to recompute them. Time must not go backwards between evaluations that share it
     * more than it costs: an earlier now_ms recomputes the whole group once. */
    struct fw_expr_aggs *aggs;
};

/* The primary value of an evaluation: what the alert reports. */
struct fw_expr_primary {
    double value;    /* NaN when not reached or unknown */
    int64_t time_ms; /* the sample's time for an instant read, else the evaluation time */
};

/**
 * Evaluate in `ctx`. Returns the value (1/0/NaN for a condition). `primary` (may be NULL)
 * receives the primary value. Allocates nothing.
 */
double fw_expr_eval(const struct fw_expr *e, const struct fw_expr_ctx *ctx,
                    struct fw_expr_primary *primary);

/**
 * 1 when `word` is a word of the language (a function, an aggregation, `and`, `or`, `not`, `by`,
 * a label) and so cannot name a metric without confusing the rules that use it. Pure.
 */
int fw_expr_reserved(const char *word);

/** Parse a duration such as "90s", "10m", "1h30m", "500ms", "2d". Returns 0 or -EINVAL. */
int fw_duration_parse(const char *s, int64_t *ms);

#endif
