/* SPDX-License-Identifier: MIT */
/*
 * The engine: series of samples, rule instances per (rule, context), and the clock discipline
 * that makes evaluation reproducible (see engine.h).
 *
 * Instances live in an array indexed by an open-addressing hash table. One is created only when
 * a condition first holds in a context, and kept for the life of the config, so their number is
 * bounded by rules x contexts (contexts are configured stations and zones).
 *
 * A reading triggers the rules that read its metric, in the contexts it can change (its
 * station, its zone's contexts, or all: fw_expr_reach), so an alert goes out when the sample
 * arrives, not at the next instant. The instants re-evaluate everything, for what changes with
 * time alone: `for`, windows, staleness and absent_for.
 */
#include "forestwatch/engine.h"

#include "forestwatch/expr.h"
#include "forestwatch/series.h"
#include "forestwatch/util.h"

#include <math.h>
#include <string.h>

/* A clock jump (or a replay gap) longer than this many instants runs only the last one. */
#define MAX_CATCH_UP 10000

struct trigger {
    size_t rule;
    enum fw_expr_reach reach;
};

struct fw_engine {
    const struct fw_config *cfg;
    struct fw_series_store *series;
    struct fw_rule_instance *inst;
    size_t ninst, capinst;
    uint32_t *slots;           /* instance index + 1; 0 is empty */
    size_t nslots;             /* a power of two, at least twice ninst */
    struct trigger **triggers; /* per metric: the rules that read it, ended by rule SIZE_MAX */
    int nmetrics;
    size_t **zone_nodes; /* per zone: indexes of its nodes in cfg->nodes */
    size_t *zone_nnodes;
    struct fw_expr_env env;
    const struct fw_metric *level_metric;
    int64_t next_eval_ms; /* the next evaluation instant; 0 before the first call */
    struct fw_engine_stats stats;
};

/* ------------------------------------------------------------------------------------------ */
/* Instances                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static uint64_t inst_hash(const char *rule, const char *key)
{
    return fw_hash64(key, strlen(key), fw_hash64(rule, strlen(rule), 0));
}

static void rehash(struct fw_engine *e, size_t nslots)
{
    free(e->slots);
    e->slots = fw_xcalloc(nslots, sizeof(*e->slots));
    e->nslots = nslots;
    for (size_t i = 0; i < e->ninst; i++) {
        size_t s = inst_hash(e->inst[i].rule, e->inst[i].key) & (nslots - 1);
        while (e->slots[s])
            s = (s + 1) & (nslots - 1);
        e->slots[s] = (uint32_t)(i + 1);
    }
}

static struct fw_rule_instance *inst_find(const struct fw_engine *e, const char *rule,
                                          const char *key)
{
    size_t s = inst_hash(rule, key) & (e->nslots - 1);
    for (; e->slots[s]; s = (s + 1) & (e->nslots - 1)) {
        struct fw_rule_instance *in = &e->inst[e->slots[s] - 1];
        if (strcmp(in->rule, rule) == 0 && strcmp(in->key, key) == 0)
            return in;
    }
    return NULL;
}

static struct fw_rule_instance *inst_add(struct fw_engine *e, const struct fw_rule_instance *from)
{
    if (e->ninst == e->capinst) {
        e->capinst = e->capinst ? e->capinst * 2 : 16;
        e->inst = fw_xrealloc(e->inst, e->capinst * sizeof(*e->inst));
    }
    struct fw_rule_instance *in = &e->inst[e->ninst++];
    *in = *from;
    if (e->ninst * 2 > e->nslots) {
        rehash(e, e->nslots * 2);
    } else {
        size_t s = inst_hash(in->rule, in->key) & (e->nslots - 1);
        while (e->slots[s])
            s = (s + 1) & (e->nslots - 1);
        e->slots[s] = (uint32_t)e->ninst;
    }
    e->stats.instances = e->ninst;
    return in;
}

/* ------------------------------------------------------------------------------------------ */
/* Construction                                                                                */
/* ------------------------------------------------------------------------------------------ */

static int metric_index(const struct fw_metric *m)
{
    int n;
    return (int)(m - fw_metric_table(&n));
}

/* Per metric: keep what the longest window needs (or the lookback for instant reads). */
static void series_limits(const struct fw_config *cfg, struct fw_series_limits *lim, int n)
{
    const struct fw_metric *table = fw_metric_table(&n);
    for (int m = 0; m < n; m++) {
        int64_t need = -1;
        for (size_t r = 0; r < cfg->nrules; r++) {
            const struct fw_expr *ex[2] = {cfg->rules[r].expr, cfg->rules[r].clear};
            for (int k = 0; k < 2; k++) {
                int64_t x = ex[k] ? fw_expr_range_ms(ex[k], &table[m]) : -1;
                need = x > need ? x : need;
            }
        }
        if (need < 0) {
            lim[m] = (struct fw_series_limits){.retain_ms = 0, .cap = 1};
        } else if (need == 0) {
            /* Instant reads need the newest sample; a few more absorb late arrivals. */
            lim[m] = (struct fw_series_limits){.retain_ms = cfg->engine.lookback_ms, .cap = 8};
        } else {
            lim[m] = (struct fw_series_limits){
                .retain_ms = need > cfg->engine.lookback_ms ? need : cfg->engine.lookback_ms,
                .cap = (uint32_t)cfg->engine.max_samples,
            };
        }
    }
}

struct fw_engine *fw_engine_new(const struct fw_config *cfg)
{
    struct fw_engine *e = fw_xcalloc(1, sizeof(*e));
    fw_metric_table(&e->nmetrics);
    e->cfg = cfg;
    rehash(e, 64);

    struct fw_series_limits *lim = fw_xcalloc((size_t)e->nmetrics, sizeof(*lim));
    series_limits(cfg, lim, e->nmetrics);
    e->series = fw_series_store_new(lim, e->nmetrics);
    free(lim);

    const struct fw_metric *table = fw_metric_table(&e->nmetrics);
    e->triggers = fw_xcalloc((size_t)e->nmetrics, sizeof(*e->triggers));
    for (int m = 0; m < e->nmetrics; m++) {
        size_t n = 0;
        struct trigger *list = fw_xmalloc((cfg->nrules + 1) * sizeof(*list));
        for (size_t r = 0; r < cfg->nrules; r++) {
            const struct fw_cfg_rule *rule = &cfg->rules[r];
            enum fw_expr_reach a = fw_expr_reach(rule->expr, &table[m]);
            enum fw_expr_reach b =
                rule->clear ? fw_expr_reach(rule->clear, &table[m]) : FW_REACH_NONE;
            if (a > b ? a != FW_REACH_NONE : b != FW_REACH_NONE)
                list[n++] = (struct trigger){r, a > b ? a : b};
        }
        list[n].rule = SIZE_MAX;
        e->triggers[m] = list;
    }

    e->zone_nodes = fw_xcalloc(cfg->nzones + 1, sizeof(*e->zone_nodes));
    e->zone_nnodes = fw_xcalloc(cfg->nzones + 1, sizeof(*e->zone_nnodes));
    for (size_t z = 0; z < cfg->nzones; z++) {
        e->zone_nodes[z] = fw_xmalloc((cfg->nnodes + 1) * sizeof(size_t));
        for (size_t i = 0; i < cfg->nnodes; i++)
            if (cfg->nodes[i].zone_ref == &cfg->zones[z])
                e->zone_nodes[z][e->zone_nnodes[z]++] = i;
    }
    e->env = (struct fw_expr_env){
        .series = e->series,
        .cfg = cfg,
        .zone_nodes = (const size_t *const *)e->zone_nodes,
        .zone_nnodes = e->zone_nnodes,
        .lookback_ms = cfg->engine.lookback_ms,
    };
    e->level_metric = fw_metric_find("fire_danger_level");
    return e;
}

void fw_engine_free(struct fw_engine *e)
{
    if (!e)
        return;
    for (int m = 0; m < e->nmetrics; m++)
        free(e->triggers[m]);
    free(e->triggers);
    for (size_t z = 0; z < e->cfg->nzones; z++)
        free(e->zone_nodes[z]);
    free(e->zone_nodes);
    free(e->zone_nnodes);
    fw_series_store_free(e->series);
    free(e->inst);
    free(e->slots);
    free(e);
}

/* ------------------------------------------------------------------------------------------ */
/* Evaluation                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static int zone_allowed(const struct fw_cfg_rule *r, const char *zone)
{
    if (!r->zones)
        return 1;
    for (size_t i = 0; i < r->nzones; i++)
        if (strcmp(r->zones[i], zone) == 0)
            return 1;
    return 0;
}

static double zone_level(const struct fw_engine *e, const char *zone, int64_t now)
{
    const struct fw_series *s = zone[0] ? fw_series_find(e->series, e->level_metric, zone) : NULL;
    int64_t t;
    double v;
    if (!s || !fw_series_len(s))
        return NAN;
    fw_series_at(s, fw_series_len(s) - 1, &t, &v);
    return now - t > e->env.lookback_ms ? NAN : v;
}

static void notify(struct fw_engine *e, const struct fw_cfg_rule *rule,
                   const struct fw_rule_instance *in, enum fw_alert_status status,
                   enum fw_alert_cause cause, int64_t now, struct fw_actions *out)
{
    struct fw_alert alert;
    fw_alert_from_instance(&alert, e->cfg->gateway_id, rule, in, status, cause,
                           zone_level(e, in->zone, now));
    fw_actions_notify(out, rule, &alert);
}

/* Evaluate rule `ri` in one context (station and zone may be NULL) at time `now`. */
static void eval_context(struct fw_engine *e, size_t ri, const struct fw_cfg_node *station,
                         const struct fw_cfg_zone *zone, int64_t now, struct fw_actions *out)
{
    const struct fw_cfg_rule *rule = &e->cfg->rules[ri];
    struct fw_expr_ctx ctx = {.env = &e->env, .now_ms = now, .station = station, .zone = zone};
    struct fw_expr_primary p;
    double cond = fw_expr_eval(rule->expr, &ctx, &p);
    const char *key = station ? station->id : zone ? zone->id : "";
    struct fw_rule_instance *in = inst_find(e, rule->name, key);
    e->stats.evaluations++;
    if (!in) {
        if (cond != 1)
            return; /* nothing to remember about a context where nothing holds */
        struct fw_rule_instance fresh = {0};
        fw_strlcpy(fresh.rule, rule->name, sizeof(fresh.rule));
        fw_strlcpy(fresh.key, key, sizeof(fresh.key));
        fw_strlcpy(fresh.station, station ? station->id : "", sizeof(fresh.station));
        fw_strlcpy(fresh.zone, station ? station->zone : zone ? zone->id : "", sizeof(fresh.zone));
        in = inst_add(e, &fresh);
    }
    double clear = rule->clear ? fw_expr_eval(rule->clear, &ctx, NULL) : NAN;
    enum fw_rule_phase before = in->phase;
    in->value = p.value;
    in->value_ms = p.time_ms;
    enum fw_rule_transition t = fw_rule_step(rule, in, cond, clear, now);
    e->stats.pending += (in->phase == FW_RULE_PENDING) - (before == FW_RULE_PENDING);
    if (t == FW_RULE_FIRED) {
        e->stats.fired++;
        e->stats.firing++;
        notify(e, rule, in, FW_ALERT_FIRING, FW_CAUSE_CONDITION, now, out);
    } else if (t == FW_RULE_RESOLVED) {
        e->stats.resolved++;
        e->stats.firing--;
        notify(e, rule, in, FW_ALERT_RESOLVED, FW_CAUSE_RECOVERED, now, out);
    }
}

/* Every context of rule `ri`, or only those in `only_zone` when it is not NULL. */
static void eval_rule(struct fw_engine *e, size_t ri, const struct fw_cfg_zone *only_zone,
                      int64_t now, struct fw_actions *out)
{
    const struct fw_config *cfg = e->cfg;
    const struct fw_cfg_rule *rule = &cfg->rules[ri];
    switch (fw_expr_scope(rule->expr)) {
    case FW_EXPR_STATION:
        if (only_zone) {
            size_t z = (size_t)(only_zone - cfg->zones);
            if (!zone_allowed(rule, only_zone->id))
                return;
            for (size_t k = 0; k < e->zone_nnodes[z]; k++)
                eval_context(e, ri, &cfg->nodes[e->zone_nodes[z][k]], NULL, now, out);
            return;
        }
        for (size_t i = 0; i < cfg->nnodes; i++)
            if (zone_allowed(rule, cfg->nodes[i].zone))
                eval_context(e, ri, &cfg->nodes[i], NULL, now, out);
        return;
    case FW_EXPR_ZONE:
        for (size_t z = 0; z < cfg->nzones; z++)
            if ((!only_zone || only_zone == &cfg->zones[z]) && zone_allowed(rule, cfg->zones[z].id))
                eval_context(e, ri, NULL, &cfg->zones[z], now, out);
        return;
    case FW_EXPR_GLOBAL:
        eval_context(e, ri, NULL, NULL, now, out);
        return;
    }
}

/* Run every evaluation instant up to `now`. The first call only starts the clock. */
static void catch_up(struct fw_engine *e, int64_t now, struct fw_actions *out)
{
    int64_t step = e->cfg->engine.eval_interval_ms;
    if (!e->next_eval_ms) {
        e->env.start_ms = now;
        e->next_eval_ms = (now / step + 1) * step;
        return;
    }
    if (now - e->next_eval_ms > MAX_CATCH_UP * step) {
        int64_t last = now / step * step;
        e->stats.skipped_instants += (uint64_t)((last - e->next_eval_ms) / step);
        e->next_eval_ms = last;
    }
    while (e->next_eval_ms <= now) {
        int64_t t = e->next_eval_ms;
        for (size_t r = 0; r < e->cfg->nrules; r++)
            eval_rule(e, r, NULL, t, out);
        e->stats.instants++;
        e->next_eval_ms += step;
    }
}

size_t fw_engine_tick(struct fw_engine *e, int64_t now_ms, struct fw_actions *out)
{
    size_t before = out->n;
    catch_up(e, now_ms, out);
    return out->n - before;
}

size_t fw_engine_feed(struct fw_engine *e, const struct fw_reading *r, int64_t now_ms,
                      struct fw_actions *out)
{
    size_t before = out->n;
    const struct fw_config *cfg = e->cfg;
    int m = metric_index(r->metric);
    FW_ASSERT(m >= 0 && m < e->nmetrics);
    catch_up(e, now_ms, out);
    e->stats.readings++;
    const char *key = r->metric->scope == FW_METRIC_ZONE ? r->zone : r->station;
    if (fw_series_add(e->series, r->metric, key, r->zone, r->source, r->time_ms, r->value, now_ms) <
        0)
        e->stats.stale++;

    const struct fw_cfg_node *station =
        r->metric->scope == FW_METRIC_STATION ? fw_config_node(cfg, r->station) : NULL;
    const struct fw_cfg_zone *zone = fw_config_zone(cfg, r->zone);
    for (const struct trigger *t = e->triggers[m]; t->rule != SIZE_MAX; t++) {
        const struct fw_cfg_rule *rule = &cfg->rules[t->rule];
        enum fw_expr_scope scope = fw_expr_scope(rule->expr);
        if (t->reach == FW_REACH_ALL || scope == FW_EXPR_GLOBAL || !zone) {
            eval_rule(e, t->rule, NULL, now_ms, out);
        } else if (t->reach == FW_REACH_ZONE || scope == FW_EXPR_ZONE || !station) {
            eval_rule(e, t->rule, zone, now_ms, out);
        } else if (zone_allowed(rule, station->zone)) {
            eval_context(e, t->rule, station, NULL, now_ms, out);
        }
    }
    return out->n - before;
}

/* ------------------------------------------------------------------------------------------ */
/* Reload                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static const struct fw_cfg_rule *rule_by_name(const struct fw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nrules; i++)
        if (strcmp(cfg->rules[i].name, name) == 0)
            return &cfg->rules[i];
    return NULL;
}

/* Notify a resolve of a rule of the old config to the new config's routes of the same names. */
static void notify_old_rule(struct fw_engine *e, const struct fw_cfg_rule *orule,
                            const struct fw_rule_instance *oi, enum fw_alert_cause cause,
                            int64_t now, struct fw_actions *out)
{
    struct fw_alert alert;
    fw_alert_from_instance(&alert, e->cfg->gateway_id, orule, oi, FW_ALERT_RESOLVED, cause,
                           zone_level(e, oi->zone, now));
    for (size_t k = 0; k < orule->nroutes; k++)
        for (size_t q = 0; q < e->cfg->nroutes; q++)
            if (strcmp(e->cfg->routes[q].name, orule->routes[k]) == 0) {
                struct fw_cfg_rule one = *orule;
                one.nroutes = 1;
                one.route_idx = &q;
                fw_actions_notify(out, &one, &alert);
            }
}

void fw_engine_adopt(struct fw_engine *e, struct fw_engine *old, int64_t now_ms,
                     struct fw_actions *out)
{
    const struct fw_config *cfg = e->cfg;
    /* Everything up to now is judged by the old rules: run its instants that are due. */
    catch_up(old, now_ms, out);
    /* The samples and the clock belong to the gateway, not to one config. */
    fw_series_store_free(e->series);
    e->series = old->series;
    e->env.series = e->series;
    old->series = NULL;
    old->env.series = NULL;
    struct fw_series_limits *lim = fw_xcalloc((size_t)e->nmetrics, sizeof(*lim));
    series_limits(cfg, lim, e->nmetrics);
    fw_series_store_set_limits(e->series, lim, e->nmetrics);
    free(lim);
    e->env.start_ms = old->env.start_ms;
    if (old->next_eval_ms) {
        int64_t step = cfg->engine.eval_interval_ms;
        e->next_eval_ms = ((old->next_eval_ms - 1) / step + 1) * step;
    }
    e->stats = old->stats;
    e->stats.firing = e->stats.pending = e->stats.instances = 0;

    for (size_t i = 0; i < old->ninst; i++) {
        const struct fw_rule_instance *oi = &old->inst[i];
        const struct fw_cfg_rule *orule = rule_by_name(old->cfg, oi->rule);
        const struct fw_cfg_rule *nrule = rule_by_name(cfg, oi->rule);
        int firing = oi->phase == FW_RULE_FIRING;
        if (oi->phase == FW_RULE_INACTIVE)
            continue;
        if (!nrule) {
            if (firing) {
                notify_old_rule(e, orule, oi, FW_CAUSE_RULE_REMOVED, now_ms, out);
                e->stats.resolved++;
            }
            continue;
        }
        /* The context must still exist, at the same scope. */
        enum fw_expr_scope scope = fw_expr_scope(nrule->expr);
        const struct fw_cfg_node *station = NULL;
        const struct fw_cfg_zone *zone = NULL;
        int ok = scope == fw_expr_scope(orule->expr);
        if (ok && scope == FW_EXPR_STATION)
            ok = (station = fw_config_node(cfg, oi->key)) != NULL &&
                 zone_allowed(nrule, station->zone);
        else if (ok && scope == FW_EXPR_ZONE)
            ok = (zone = fw_config_zone(cfg, oi->key)) != NULL && zone_allowed(nrule, zone->id);
        if (!ok) {
            if (firing) {
                notify_old_rule(e, orule, oi, FW_CAUSE_CONTEXT_GONE, now_ms, out);
                e->stats.resolved++;
            }
            continue;
        }
        if (fw_cfg_rule_same_logic(orule, nrule)) {
            inst_add(e, oi);
            e->stats.firing += firing;
            e->stats.pending += oi->phase == FW_RULE_PENDING;
            continue;
        }
        if (!firing)
            continue; /* a changed rule's `for` starts over */
        struct fw_rule_instance *ni = inst_add(e, oi);
        struct fw_expr_ctx ctx = {
            .env = &e->env, .now_ms = now_ms, .station = station, .zone = zone};
        struct fw_expr_primary p;
        double cond = fw_expr_eval(nrule->expr, &ctx, &p);
        double clear = nrule->clear ? fw_expr_eval(nrule->clear, &ctx, NULL) : NAN;
        if (cond == 1)
            ni->last_true_ms = now_ms;
        /* As in fw_rule_step: only a definite false (or clear) ends an alert. */
        if (nrule->clear ? clear == 1 : cond == 0) {
            ni->phase = FW_RULE_INACTIVE;
            ni->value = p.value;
            ni->value_ms = p.time_ms;
            notify(e, nrule, ni, FW_ALERT_RESOLVED, FW_CAUSE_RULE_CHANGED, now_ms, out);
            e->stats.resolved++;
        } else {
            e->stats.firing++;
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Inspection                                                                                  */
/* ------------------------------------------------------------------------------------------ */

void fw_engine_stats(const struct fw_engine *e, struct fw_engine_stats *out)
{
    uint64_t dropped;
    *out = e->stats;
    if (e->series)
        fw_series_store_stats(e->series, &out->series, &out->samples, &dropped);
}

const struct fw_rule_instance *fw_engine_instance(const struct fw_engine *e, const char *rule,
                                                  const char *key)
{
    return inst_find(e, rule, key);
}

const struct fw_config *fw_engine_config(const struct fw_engine *e)
{
    return e->cfg;
}
