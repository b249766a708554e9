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
 *
 * Aggregations over stations are kept incrementally (fw_expr_aggs, one per rule expression): every
 * sample added to the store is reported to the expressions that read its metric, so a zone rule
 * costs the stations that changed, not the size of the zone.
 */
#include "forestwatch/engine.h"

#include "engine_int.h"
#include "forestwatch/expr.h"
#include "forestwatch/series.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
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
    size_t **inhibitors; /* per rule: the rules that inhibit it, ended by SIZE_MAX */
    size_t **zone_nodes; /* per zone: indexes of its nodes in cfg->nodes */
    size_t *zone_nnodes;
    struct fw_expr_env env;
    struct fw_expr_aggs **aggs; /* per rule: [2r] of its expr, [2r + 1] of its clear; or NULL */
    int recompute;              /* tests: recompute every aggregation, as before they were kept */
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

/*
 * The metrics the config can use: the built-in table, then the ones it declares. Arrays per
 * metric are indexed by fw_metric_id and sized by fw_metric_count, which also covers metrics
 * other configs declared: those have no triggers and keep no samples.
 */
static size_t metrics_in_use(const struct fw_config *cfg)
{
    int n;
    fw_metric_table(&n);
    return (size_t)n + fw_metric_set_len(cfg->metrics);
}

static const struct fw_metric *metric_in_use(const struct fw_config *cfg, size_t i)
{
    int n;
    const struct fw_metric *table = fw_metric_table(&n);
    return i < (size_t)n ? &table[i] : fw_metric_set_at(cfg->metrics, i - (size_t)n);
}

/* Per metric: keep what the longest window needs (or the lookback for instant reads). */
static void series_limits(const struct fw_config *cfg, struct fw_series_limits *lim)
{
    for (size_t k = 0; k < metrics_in_use(cfg); k++) {
        const struct fw_metric *metric = metric_in_use(cfg, k);
        int m = fw_metric_id(metric);
        int64_t need = -1;
        for (size_t r = 0; r < cfg->nrules; r++) {
            const struct fw_expr *ex[2] = {cfg->rules[r].expr, cfg->rules[r].clear};
            for (int j = 0; j < 2; j++) {
                int64_t x = ex[j] ? fw_expr_range_ms(ex[j], metric) : -1;
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

/*
 * The series cap: engine.max_series, or by default what the config can use, one series per
 * configured node and station metric and per zone and zone metric. Readings only come from
 * configured nodes in the daemon, so the default never refuses one there; it bounds a replay of
 * a recording full of strangers.
 */
static size_t max_series(const struct fw_config *cfg)
{
    if (cfg->engine.max_series > 0)
        return (size_t)cfg->engine.max_series;
    size_t station = 0, zone = 0;
    for (size_t k = 0; k < metrics_in_use(cfg); k++)
        if (metric_in_use(cfg, k)->scope == FW_METRIC_ZONE)
            zone++;
        else
            station++;
    return (cfg->nnodes + 1) * station + (cfg->nzones + 1) * zone;
}

/* The rules a reading of each metric triggers; none for a metric the config does not use. */
static void build_triggers(struct fw_engine *e, const struct fw_config *cfg)
{
    e->triggers = fw_xcalloc((size_t)e->nmetrics, sizeof(*e->triggers));
    for (size_t k = 0; k < metrics_in_use(cfg); k++) {
        const struct fw_metric *metric = metric_in_use(cfg, k);
        size_t n = 0;
        struct trigger *list = fw_xmalloc((cfg->nrules + 1) * sizeof(*list));
        for (size_t r = 0; r < cfg->nrules; r++) {
            const struct fw_cfg_rule *rule = &cfg->rules[r];
            enum fw_expr_reach a = fw_expr_reach(rule->expr, metric);
            enum fw_expr_reach b = rule->clear ? fw_expr_reach(rule->clear, metric) : FW_REACH_NONE;
            if (a > b ? a != FW_REACH_NONE : b != FW_REACH_NONE)
                list[n++] = (struct trigger){r, a > b ? a : b};
        }
        list[n].rule = SIZE_MAX;
        e->triggers[fw_metric_id(metric)] = list;
    }
    for (int m = 0; m < e->nmetrics; m++)
        if (!e->triggers[m]) {
            e->triggers[m] = fw_xmalloc(sizeof(struct trigger));
            e->triggers[m]->rule = SIZE_MAX;
        }
}

struct fw_engine *fw_engine_new(const struct fw_config *cfg)
{
    struct fw_engine *e = fw_xcalloc(1, sizeof(*e));
    e->nmetrics = fw_metric_count();
    e->cfg = cfg;
    rehash(e, 64);

    struct fw_series_limits *lim = fw_xcalloc((size_t)e->nmetrics, sizeof(*lim));
    series_limits(cfg, lim);
    e->series = fw_series_store_new(lim, e->nmetrics);
    fw_series_store_set_max(e->series, max_series(cfg));
    free(lim);
    build_triggers(e, cfg);

    /* Who inhibits whom, once: it is asked at every evaluation of a firing alert. */
    e->inhibitors = fw_xcalloc(cfg->nrules + 1, sizeof(*e->inhibitors));
    for (size_t r = 0; r < cfg->nrules; r++) {
        size_t n = 0;
        e->inhibitors[r] = fw_xmalloc((cfg->nrules + 1) * sizeof(size_t));
        for (size_t o = 0; o < cfg->nrules; o++)
            for (size_t k = 0; k < cfg->rules[o].ninhibits; k++)
                if (strcmp(cfg->rules[o].inhibits[k], cfg->rules[r].name) == 0) {
                    e->inhibitors[r][n++] = o;
                    break;
                }
        e->inhibitors[r][n] = SIZE_MAX;
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
    e->aggs = fw_xcalloc(2 * cfg->nrules + 1, sizeof(*e->aggs));
    for (size_t r = 0; r < cfg->nrules; r++) {
        e->aggs[2 * r] = fw_expr_aggs_new(cfg->rules[r].expr, &e->env);
        if (cfg->rules[r].clear)
            e->aggs[2 * r + 1] = fw_expr_aggs_new(cfg->rules[r].clear, &e->env);
    }
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
    for (size_t r = 0; r < e->cfg->nrules; r++)
        free(e->inhibitors[r]);
    free(e->inhibitors);
    for (size_t r = 0; r < 2 * e->cfg->nrules; r++)
        fw_expr_aggs_free(e->aggs[r]);
    free(e->aggs);
    for (size_t z = 0; z < e->cfg->nzones; z++)
        free(e->zone_nodes[z]);
    free(e->zone_nodes);
    free(e->zone_nnodes);
    fw_series_store_free(e->series);
    free(e->inst);
    free(e->slots);
    free(e);
}

void fw_engine__recompute_aggregates(struct fw_engine *e, int on)
{
    e->recompute = on;
}

/* ------------------------------------------------------------------------------------------ */
/* Evaluation                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* The kept aggregations of rule `ri`'s expr (`clear` 0) or clear (1), NULL to recompute them. */
static struct fw_expr_aggs *aggs_of(const struct fw_engine *e, size_t ri, int clear)
{
    return e->recompute ? NULL : e->aggs[2 * ri + (size_t)clear];
}

static double zone_level(const struct fw_engine *e, const char *zone, int64_t now)
{
    const struct fw_series *s = zone[0] ? fw_series_find(e->series, e->level_metric, zone) : NULL;
    int64_t t;
    double v;
    if (!s || !fw_series_len(s))
        return NAN;
    fw_series_at(s, fw_series_len(s) - 1, &t, &v);
    int64_t lookback = e->env.lookback_ms > FW_METRIC_ZONE_LOOKBACK_MS
                           ? e->env.lookback_ms
                           : FW_METRIC_ZONE_LOOKBACK_MS; /* the level is a zone metric */
    return now - t > lookback ? NAN : v;
}

/* ------------------------------------------------------------------------------------------ */
/* The alert manager: what each episode says, and when                                         */
/* ------------------------------------------------------------------------------------------ */

/* CAP urgency one step nearer to Immediate. */
static enum fw_urgency raise_urgency(enum fw_urgency u)
{
    switch (u) {
    case FW_URG_FUTURE:
        return FW_URG_EXPECTED;
    case FW_URG_EXPECTED:
    case FW_URG_UNKNOWN:
    case FW_URG_PAST:
        return FW_URG_IMMEDIATE;
    default:
        return u;
    }
}

/* The escalation policy for a rule: the strictest one its severity reaches, or NULL. */
static const struct fw_cfg_escalation *policy_of(const struct fw_config *cfg,
                                                 const struct fw_cfg_rule *rule)
{
    const struct fw_cfg_escalation *best = NULL;
    for (size_t i = 0; i < cfg->nescalations; i++) {
        const struct fw_cfg_escalation *x = &cfg->escalations[i];
        if (rule->severity >= x->min_severity && (!best || x->min_severity > best->min_severity))
            best = x;
    }
    return best;
}

/* Is another rule that inhibits `rule` firing, announced, in the same zone? */
static int inhibited(const struct fw_engine *e, const struct fw_cfg_rule *rule,
                     const struct fw_rule_instance *in)
{
    const struct fw_config *cfg = e->cfg;
    const size_t *who = e->inhibitors[rule - cfg->rules];
    if (*who == SIZE_MAX)
        return 0; /* the usual case: nothing inhibits this rule */
    const struct fw_cfg_zone *z = in->zone[0] ? fw_config_zone(cfg, in->zone) : NULL;
    if (!z)
        return 0;
    size_t zi = (size_t)(z - cfg->zones);
    for (; *who != SIZE_MAX; who++) {
        const struct fw_cfg_rule *other = &cfg->rules[*who];
        /* Its contexts in this zone: the zone itself, or each of the zone's stations. */
        const struct fw_rule_instance *x = inst_find(e, other->name, z->id);
        if (x && x->phase == FW_RULE_FIRING && x->announced)
            return 1;
        for (size_t k = 0; k < e->zone_nnodes[zi]; k++) {
            x = inst_find(e, other->name, cfg->nodes[e->zone_nodes[zi][k]].id);
            if (x && x->phase == FW_RULE_FIRING && x->announced)
                return 1;
        }
    }
    return 0;
}

/*
 * Send one message of the episode: numbered, timed by the engine's clock, to the rule's routes
 * and, once escalated, to the escalation policy's routes too.
 */
static void send(struct fw_engine *e, const struct fw_cfg_rule *rule, struct fw_rule_instance *in,
                 enum fw_alert_kind kind, enum fw_alert_cause cause, int64_t now,
                 struct fw_actions *out)
{
    struct fw_alert alert;
    double level = zone_level(e, in->zone, now);
    in->seq++;
    if (in->seq == 1)
        in->first_sent_ms = now;
    in->last_sent_ms = now;
    in->sent_value = kind == FW_KIND_NEW ? in->trigger_value : in->value;
    in->sent_level = level;
    if (kind == FW_KIND_NEW)
        in->announced = 1;
    if (kind == FW_KIND_ESCALATE)
        in->escalated = 1;
    fw_alert_from_instance(&alert, e->cfg->gateway_id, rule, in,
                           kind == FW_KIND_RESOLVED ? FW_ALERT_RESOLVED : FW_ALERT_FIRING, cause,
                           level);
    alert.kind = kind;
    alert.seq = in->seq;
    alert.sent_ms = now;
    alert.value = in->sent_value;
    int64_t onset;
    fw_alert_validity(e->cfg, &alert, now, &onset, &in->expires_ms);
    const struct fw_cfg_escalation *policy = in->escalated ? policy_of(e->cfg, rule) : NULL;
    if (policy)
        alert.urgency = raise_urgency(rule->urgency);
    fw_actions_notify(out, rule, &alert);
    for (size_t k = 0; policy && k < policy->nroutes; k++) {
        int dup = 0;
        for (size_t q = 0; q < rule->nroutes; q++)
            dup |= rule->route_idx[q] == policy->route_idx[k];
        if (!dup) {
            struct fw_cfg_rule one = *rule;
            one.nroutes = 1;
            one.route_idx = &policy->route_idx[k];
            fw_actions_notify(out, &one, &alert);
        }
    }
}

static void episode_start(struct fw_rule_instance *in)
{
    in->seq = 0;
    in->first_sent_ms = in->last_sent_ms = in->expires_ms = 0;
    in->announced = in->escalated = in->acked = 0;
    in->acked_by[0] = '\0';
    in->acked_ms = 0;
}

/*
 * When a message sent now about a firing alert would expire. A renewal goes out when the latest
 * message has expired and a new one would be in effect: receivers that drop expired messages
 * would otherwise take an alert that still holds for over (a danger level held into its next
 * day, an episode longer than cap.expires_after_ms); acknowledged or not. Tomorrow's expected
 * level whose day has passed is not renewed: a message about it would be expired as it went out,
 * and would go out again at every evaluation.
 */
static int64_t expires_if_sent(const struct fw_engine *e, const struct fw_cfg_rule *rule,
                               const struct fw_rule_instance *in, int64_t now)
{
    struct fw_alert a;
    int64_t onset, expires;
    fw_alert_from_instance(&a, e->cfg->gateway_id, rule, in, FW_ALERT_FIRING, FW_CAUSE_CONDITION,
                           NAN);
    fw_alert_validity(e->cfg, &a, now, &onset, &expires);
    return expires;
}

static int is_forecast_rule(const struct fw_cfg_rule *rule)
{
    double thr;
    int has;
    const char *op;
    return rule->expr &&
           fw_alert_metric_is_forecast(fw_expr_primary_metric(rule->expr, &thr, &has, &op));
}

/* A firing episode between its transitions: held back, updated (or renewed), repeated or
 * escalated. */
static void manage(struct fw_engine *e, const struct fw_cfg_rule *rule, struct fw_rule_instance *in,
                   int64_t now, struct fw_actions *out)
{
    int held = inhibited(e, rule, in);
    if (!in->announced) {
        if (!held)
            send(e, rule, in, FW_KIND_NEW, FW_CAUSE_CONDITION, now, out);
        return;
    }
    if (held)
        return;
    double level = zone_level(e, in->zone, now);
    int moved = rule->update_delta > 0 && !isnan(in->value) && !isnan(in->sent_value) &&
                fabs(in->value - in->sent_value) >= rule->update_delta;
    int relevel = !isnan(level) && !isnan(in->sent_level) && level != in->sent_level;
    /*
     * A forecast is about a day: when the value holding the alert is about another day than the
     * latest message (the model moved on at midnight, or a forecast for a new day came), the
     * new day is announced at once, the evening before, not when the old message expires.
     */
    int forecast = is_forecast_rule(rule);
    int64_t renewed = forecast || now >= in->expires_ms ? expires_if_sent(e, rule, in, now) : 0;
    int new_day = forecast && renewed != in->expires_ms && renewed > now;
    int renew = now >= in->expires_ms && renewed > now;
    if (moved || relevel || new_day || renew) {
        send(e, rule, in, FW_KIND_UPDATE, FW_CAUSE_CONDITION, now, out);
        return;
    }
    if (in->acked)
        return; /* a duty officer has it: no repeats, no escalation */
    const struct fw_cfg_escalation *policy = policy_of(e->cfg, rule);
    if (policy && !in->escalated && now - in->fired_ms >= policy->after_ms) {
        send(e, rule, in, FW_KIND_ESCALATE, FW_CAUSE_CONDITION, now, out);
        return;
    }
    if (rule->repeat_every_ms && now - in->last_sent_ms >= rule->repeat_every_ms)
        send(e, rule, in, FW_KIND_REPEAT, FW_CAUSE_CONDITION, now, out);
}

int fw_engine_ack(struct fw_engine *e, const char *alert_id, const char *by, int64_t at_ms)
{
    /* "<gateway>:<rule>:<context>:<start ms>"; names cannot hold ':' (config ids). */
    char buf[FW_ALERT_MAX_ID], *parts[4];
    int n = 0;
    if (fw_strlcpy(buf, alert_id, sizeof(buf)) < 0)
        return -ENOENT;
    for (char *p = buf, *tok; n < 4 && (tok = strsep(&p, ":"));)
        parts[n++] = tok;
    if (n != 4 || strcmp(parts[0], e->cfg->gateway_id) != 0)
        return -ENOENT;
    const char *key = strcmp(parts[2], "all") == 0 ? "" : parts[2];
    struct fw_rule_instance *in = inst_find(e, parts[1], key);
    char *end;
    long long fired = strtoll(parts[3], &end, 10);
    if (!in || *end || in->phase != FW_RULE_FIRING || in->fired_ms != fired)
        return -ENOENT; /* not an open episode (resolved meanwhile, or never ours) */
    if (in->acked)
        return -EALREADY;
    in->acked = 1;
    fw_strlcpy(in->acked_by, by ? by : "", sizeof(in->acked_by));
    in->acked_ms = at_ms;
    return 0;
}

/* Evaluate rule `ri` in one context (station and zone may be NULL) at time `now`. */
static void eval_context(struct fw_engine *e, size_t ri, const struct fw_cfg_node *station,
                         const struct fw_cfg_zone *zone, int64_t now, struct fw_actions *out)
{
    const struct fw_cfg_rule *rule = &e->cfg->rules[ri];
    struct fw_expr_ctx ctx = {
        .env = &e->env, .now_ms = now, .station = station, .zone = zone, .aggs = aggs_of(e, ri, 0)};
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
    ctx.aggs = aggs_of(e, ri, 1);
    double clear = rule->clear ? fw_expr_eval(rule->clear, &ctx, NULL) : NAN;
    enum fw_rule_phase before = in->phase;
    in->value = p.value;
    in->value_ms = p.time_ms;
    enum fw_rule_transition t = fw_rule_step(rule, in, cond, clear, now);
    e->stats.pending += (in->phase == FW_RULE_PENDING) - (before == FW_RULE_PENDING);
    if (t == FW_RULE_FIRED) {
        e->stats.fired++;
        e->stats.firing++;
        episode_start(in);
        manage(e, rule, in, now, out);
    } else if (t == FW_RULE_RESOLVED) {
        e->stats.resolved++;
        e->stats.firing--;
        /* An episode held back all along by inhibition ends as silently as it began. */
        if (in->announced)
            send(e, rule, in, FW_KIND_RESOLVED, FW_CAUSE_RECOVERED, now, out);
    } else if (in->phase == FW_RULE_FIRING) {
        manage(e, rule, in, now, out);
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
            if (!fw_cfg_rule_in_zone(rule, only_zone->id))
                return;
            for (size_t k = 0; k < e->zone_nnodes[z]; k++)
                if (fw_cfg_rule_covers(rule, &cfg->nodes[e->zone_nodes[z][k]]))
                    eval_context(e, ri, &cfg->nodes[e->zone_nodes[z][k]], NULL, now, out);
            return;
        }
        for (size_t i = 0; i < cfg->nnodes; i++)
            if (fw_cfg_rule_covers(rule, &cfg->nodes[i]))
                eval_context(e, ri, &cfg->nodes[i], NULL, now, out);
        return;
    case FW_EXPR_ZONE:
        for (size_t z = 0; z < cfg->nzones; z++)
            if ((!only_zone || only_zone == &cfg->zones[z]) &&
                fw_cfg_rule_in_zone(rule, cfg->zones[z].id))
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
    static const struct trigger none = {SIZE_MAX, FW_REACH_NONE};
    size_t before = out->n;
    const struct fw_config *cfg = e->cfg;
    int m = fw_metric_id(r->metric);
    catch_up(e, now_ms, out);
    e->stats.readings++;
    const char *key = r->metric->scope == FW_METRIC_ZONE ? r->zone : r->station;
    int rc =
        fw_series_add(e->series, r->metric, key, r->zone, r->source, r->time_ms, r->value, now_ms);
    if (rc == -ENOSPC)
        e->stats.series_refused++;
    else if (rc < 0)
        e->stats.stale++;

    const struct fw_cfg_node *station =
        r->metric->scope == FW_METRIC_STATION ? fw_config_node(cfg, r->station) : NULL;
    const struct fw_cfg_zone *zone = fw_config_zone(cfg, r->zone);
    /* A metric declared after this engine was made is not its config's: no rule reads it. */
    const struct trigger *first = m < e->nmetrics ? e->triggers[m] : &none;
    /* The station's value in the rules' kept aggregations is computed again when next read. */
    for (const struct trigger *t = first; station && t->rule != SIZE_MAX; t++) {
        fw_expr_aggs_touch(e->aggs[2 * t->rule], r->metric, (size_t)(station - cfg->nodes));
        fw_expr_aggs_touch(e->aggs[2 * t->rule + 1], r->metric, (size_t)(station - cfg->nodes));
    }
    for (const struct trigger *t = first; t->rule != SIZE_MAX; t++) {
        const struct fw_cfg_rule *rule = &cfg->rules[t->rule];
        enum fw_expr_scope scope = fw_expr_scope(rule->expr);
        if (t->reach == FW_REACH_ALL || scope == FW_EXPR_GLOBAL || !zone) {
            eval_rule(e, t->rule, NULL, now_ms, out);
        } else if (t->reach == FW_REACH_ZONE || scope == FW_EXPR_ZONE || !station) {
            eval_rule(e, t->rule, zone, now_ms, out);
        } else if (fw_cfg_rule_covers(rule, station)) {
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
    if (!oi->announced)
        return;
    fw_alert_from_instance(&alert, e->cfg->gateway_id, orule, oi, FW_ALERT_RESOLVED, cause,
                           zone_level(e, oi->zone, now));
    alert.kind = FW_KIND_RESOLVED;
    alert.seq = oi->seq + 1;
    alert.sent_ms = now;
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
    series_limits(cfg, lim);
    fw_series_store_set_limits(e->series, lim, e->nmetrics);
    fw_series_store_set_max(e->series, max_series(cfg));
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
                 fw_cfg_rule_covers(nrule, station);
        else if (ok && scope == FW_EXPR_ZONE)
            ok = (zone = fw_config_zone(cfg, oi->key)) != NULL &&
                 fw_cfg_rule_in_zone(nrule, zone->id);
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
        size_t ri = (size_t)(nrule - cfg->rules);
        struct fw_expr_ctx ctx = {.env = &e->env,
                                  .now_ms = now_ms,
                                  .station = station,
                                  .zone = zone,
                                  .aggs = aggs_of(e, ri, 0)};
        struct fw_expr_primary p;
        double cond = fw_expr_eval(nrule->expr, &ctx, &p);
        ctx.aggs = aggs_of(e, ri, 1);
        double clear = nrule->clear ? fw_expr_eval(nrule->clear, &ctx, NULL) : NAN;
        if (cond == 1)
            ni->last_true_ms = now_ms;
        /* As in fw_rule_step: only a definite false (or clear) ends an alert. */
        if (nrule->clear ? clear == 1 : cond == 0) {
            ni->phase = FW_RULE_INACTIVE;
            ni->value = p.value;
            ni->value_ms = p.time_ms;
            if (ni->announced)
                send(e, nrule, ni, FW_KIND_RESOLVED, FW_CAUSE_RULE_CHANGED, now_ms, out);
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

double fw_engine_zone_level(const struct fw_engine *e, const char *zone, int64_t now_ms)
{
    return zone_level(e, zone, now_ms);
}

void fw_engine_zone_alerts(const struct fw_engine *e, const char *zone,
                           void (*fn)(const struct fw_rule_instance *, void *), void *arg)
{
    for (size_t i = 0; i < e->ninst; i++)
        if (e->inst[i].phase == FW_RULE_FIRING && e->inst[i].announced &&
            strcmp(e->inst[i].zone, zone) == 0)
            fn(&e->inst[i], arg);
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
