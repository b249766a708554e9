/* SPDX-License-Identifier: MIT */
/*
 * The engine keeps one rule instance per (rule, station) in an array indexed by an
 * open-addressing hash table. Instances are created on the first reading a rule applies to and
 * never deleted while the config stands: their number is bounded by rules x configured nodes,
 * because the decoders only let configured nodes through. A reload builds a new engine and
 * carries the instances over by name (fw_engine_adopt).
 *
 * Rules are found per reading through a list per metric, so a reading costs only the rules that
 * watch its metric.
 */
#include "forestwatch/engine.h"

#include "forestwatch/rules.h"
#include "forestwatch/util.h"

#include <string.h>

struct fw_engine {
    const struct fw_config *cfg;
    struct fw_rule_instance *inst;
    size_t ninst, capinst;
    uint32_t *slots;          /* instance index + 1; 0 is empty */
    size_t nslots;            /* a power of two, at least twice ninst */
    size_t **rules_of_metric; /* per metric table index: rule indexes, terminated by SIZE_MAX */
    int nmetrics;
    struct fw_engine_stats stats;
};

static uint64_t inst_hash(const char *rule, const char *station)
{
    return fw_hash64(station, strlen(station), fw_hash64(rule, strlen(rule), 0));
}

static void rehash(struct fw_engine *e, size_t nslots)
{
    free(e->slots);
    e->slots = fw_xcalloc(nslots, sizeof(*e->slots));
    e->nslots = nslots;
    for (size_t i = 0; i < e->ninst; i++) {
        size_t s = inst_hash(e->inst[i].rule, e->inst[i].station) & (nslots - 1);
        while (e->slots[s])
            s = (s + 1) & (nslots - 1);
        e->slots[s] = (uint32_t)(i + 1);
    }
}

static struct fw_rule_instance *inst_find(const struct fw_engine *e, const char *rule,
                                          const char *station)
{
    size_t s = inst_hash(rule, station) & (e->nslots - 1);
    for (; e->slots[s]; s = (s + 1) & (e->nslots - 1)) {
        struct fw_rule_instance *in = &e->inst[e->slots[s] - 1];
        if (strcmp(in->rule, rule) == 0 && strcmp(in->station, station) == 0)
            return in;
    }
    return NULL;
}

/* Find or create; a new instance starts INACTIVE with no readings seen. */
static struct fw_rule_instance *inst_get(struct fw_engine *e, const char *rule, const char *station,
                                         const char *zone)
{
    struct fw_rule_instance *in = inst_find(e, rule, station);
    if (in)
        return in;
    if (e->ninst == e->capinst) {
        e->capinst = e->capinst ? e->capinst * 2 : 16;
        e->inst = fw_xrealloc(e->inst, e->capinst * sizeof(*e->inst));
    }
    in = &e->inst[e->ninst++];
    memset(in, 0, sizeof(*in));
    fw_strlcpy(in->rule, rule, sizeof(in->rule));
    fw_strlcpy(in->station, station, sizeof(in->station));
    fw_strlcpy(in->zone, zone, sizeof(in->zone));
    if (e->ninst * 2 > e->nslots)
        rehash(e, e->nslots * 2);
    else {
        size_t s = inst_hash(rule, station) & (e->nslots - 1);
        while (e->slots[s])
            s = (s + 1) & (e->nslots - 1);
        e->slots[s] = (uint32_t)e->ninst;
    }
    e->stats.instances = e->ninst;
    return in;
}

struct fw_engine *fw_engine_new(const struct fw_config *cfg)
{
    struct fw_engine *e = fw_xcalloc(1, sizeof(*e));
    const struct fw_metric *table = fw_metric_table(&e->nmetrics);
    e->cfg = cfg;
    rehash(e, 64);
    e->rules_of_metric = fw_xcalloc((size_t)e->nmetrics, sizeof(*e->rules_of_metric));
    for (int m = 0; m < e->nmetrics; m++) {
        size_t n = 0;
        size_t *list = fw_xmalloc((cfg->nrules + 1) * sizeof(*list));
        for (size_t r = 0; r < cfg->nrules; r++)
            if (strcmp(cfg->rules[r].metric, table[m].name) == 0)
                list[n++] = r;
        list[n] = SIZE_MAX;
        e->rules_of_metric[m] = list;
    }
    return e;
}

void fw_engine_free(struct fw_engine *e)
{
    if (!e)
        return;
    for (int m = 0; m < e->nmetrics; m++)
        free(e->rules_of_metric[m]);
    free(e->rules_of_metric);
    free(e->inst);
    free(e->slots);
    free(e);
}

static const struct fw_cfg_rule *rule_by_name(const struct fw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nrules; i++)
        if (strcmp(cfg->rules[i].name, name) == 0)
            return &cfg->rules[i];
    return NULL;
}

static int zone_selected(const struct fw_cfg_rule *r, const char *zone)
{
    if (!r->zones)
        return 1;
    for (size_t i = 0; i < r->nzones; i++)
        if (strcmp(r->zones[i], zone) == 0)
            return 1;
    return 0;
}

void fw_engine_adopt(struct fw_engine *e, const struct fw_engine *old, int64_t now_ms,
                     struct fw_actions *out)
{
    (void)now_ms;
    /* Counters describe the daemon's life, not one config's. */
    e->stats.readings = old->stats.readings;
    e->stats.late_readings = old->stats.late_readings;
    e->stats.fired = old->stats.fired;
    e->stats.resolved = old->stats.resolved;
    for (size_t i = 0; i < old->ninst; i++) {
        const struct fw_rule_instance *oi = &old->inst[i];
        const struct fw_cfg_rule *nr = rule_by_name(e->cfg, oi->rule);
        const struct fw_cfg_rule *orule = rule_by_name(old->cfg, oi->rule);
        const struct fw_metric *metric = fw_metric_find(orule->metric);
        struct fw_alert alert;
        if (!nr) {
            if (oi->phase != FW_RULE_FIRING)
                continue;
            /* The rule is gone: tell its routes, as far as they still exist, it has ended. */
            fw_alert_from_instance(&alert, old->cfg->gateway_id, orule, oi, metric,
                                   FW_ALERT_RESOLVED, FW_CAUSE_RULE_REMOVED);
            for (size_t k = 0; k < orule->nroutes; k++)
                for (size_t q = 0; q < e->cfg->nroutes; q++)
                    if (strcmp(e->cfg->routes[q].name, orule->routes[k]) == 0) {
                        struct fw_cfg_rule one = *orule;
                        one.nroutes = 1;
                        one.route_idx = &q;
                        fw_actions_notify(out, &one, &alert);
                    }
            e->stats.resolved++;
            continue;
        }
        struct fw_rule_instance *ni = inst_get(e, oi->rule, oi->station, oi->zone);
        *ni = *oi;
        if (ni->phase == FW_RULE_FIRING &&
            (strcmp(nr->metric, orule->metric) != 0 || !zone_selected(nr, ni->zone) ||
             !fw_rule_condition(nr, ni->last_value))) {
            ni->phase = FW_RULE_INACTIVE;
            fw_alert_from_instance(&alert, e->cfg->gateway_id, nr, ni, metric, FW_ALERT_RESOLVED,
                                   FW_CAUSE_RULE_CHANGED);
            fw_actions_notify(out, nr, &alert);
            e->stats.resolved++;
        }
        if (ni->phase == FW_RULE_FIRING)
            e->stats.firing++;
    }
}

size_t fw_engine_feed(struct fw_engine *e, const struct fw_reading *r, int64_t now_ms,
                      struct fw_actions *out)
{
    (void)now_ms; /* threshold rules need only the reading's own time */
    size_t before = out->n;
    int m = (int)(r->metric - fw_metric_table(&(int){0}));
    FW_ASSERT(m >= 0 && m < e->nmetrics);
    e->stats.readings++;
    for (const size_t *ri = e->rules_of_metric[m]; *ri != SIZE_MAX; ri++) {
        const struct fw_cfg_rule *rule = &e->cfg->rules[*ri];
        if (!fw_rule_applies(rule, r))
            continue;
        struct fw_rule_instance *in = inst_get(e, rule->name, r->station, r->zone);
        if (in->last_ms && r->time_ms < in->last_ms) {
            e->stats.late_readings++;
            continue;
        }
        enum fw_rule_transition t = fw_rule_step(rule, in, r->value, r->time_ms);
        if (t == FW_RULE_NONE)
            continue;
        struct fw_alert alert;
        if (t == FW_RULE_FIRED) {
            fw_alert_from_instance(&alert, e->cfg->gateway_id, rule, in, r->metric, FW_ALERT_FIRING,
                                   FW_CAUSE_THRESHOLD);
            e->stats.fired++;
            e->stats.firing++;
        } else {
            fw_alert_from_instance(&alert, e->cfg->gateway_id, rule, in, r->metric,
                                   FW_ALERT_RESOLVED, FW_CAUSE_RECOVERED);
            e->stats.resolved++;
            e->stats.firing--;
        }
        fw_actions_notify(out, rule, &alert);
    }
    return out->n - before;
}

void fw_engine_stats(const struct fw_engine *e, struct fw_engine_stats *out)
{
    *out = e->stats;
}

const struct fw_config *fw_engine_config(const struct fw_engine *e)
{
    return e->cfg;
}
