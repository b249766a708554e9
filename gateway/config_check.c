/* SPDX-License-Identifier: MIT */
/*
 * Stage 3 of the config loader (config.h): the checks that need more than one section, run once
 * every file is read: a node's zone, a rule's routes and inhibitions, the brokers that uplinks,
 * acks and state name, windows against engine.max_window_ms. Unknown names are listed with the
 * names that exist, so that a typo is easy to spot. Also the notes of a valid config that an
 * operator may not mean (fw_config_notes). Pure.
 */
#include "forestwatch/config.h"

#include "config_int.h"

#include "forestwatch/expr.h"
#include "forestwatch/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Cross-field checks                                                                          */
/* ------------------------------------------------------------------------------------------ */

/* "(routes: "a", "b")" listing what exists, so a typo is easy to spot. */
static void list_names(char *buf, size_t size, const char *what, const char *const *names, size_t n)
{
    size_t used = (size_t)snprintf(buf, size, " (%s: ", what);
    if (n == 0)
        used += (size_t)snprintf(buf + used, size - used, "none defined");
    for (size_t i = 0; i < n && used < size; i++) {
        if (i == 8) {
            snprintf(buf + used, size - used, ", ...");
            used = strlen(buf);
            break;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s\"%s\"", i ? ", " : "", names[i]);
    }
    if (used < size)
        snprintf(buf + used, size - used, ")");
}

#define NAMES_OF(arr, n, member, out)                                                              \
    do {                                                                                           \
        out = fw_xcalloc((n) + 1, sizeof(char *));                                                 \
        for (size_t i_ = 0; i_ < (n); i_++)                                                        \
            out[i_] = (arr)[i_].member;                                                            \
    } while (0)

/* Route names to indexes, reporting each unknown one at path "<c>.routes[k]". */
static size_t *resolve_routes(struct fw_cfg_ctx *c, const struct fw_config *cfg, char **names,
                              size_t n, const char **rnames)
{
    char list[512];
    size_t *idx = fw_xcalloc(n + 1, sizeof(size_t));
    for (size_t k = 0; k < n; k++) {
        size_t found = cfg->nroutes;
        for (size_t q = 0; q < cfg->nroutes; q++)
            if (strcmp(cfg->routes[q].name, names[k]) == 0)
                found = q;
        idx[k] = found;
        if (found == cfg->nroutes) {
            size_t m2 = fw_cfg_path_key(c, "routes");
            fw_cfg_path_index(c, (int)k);
            list_names(list, sizeof(list), "routes", rnames, cfg->nroutes);
            fw_cfg_err(c, "no route named \"%s\"%s", names[k], list);
            fw_cfg_path_pop(c, m2);
        }
    }
    return idx;
}

/*
 * A window holds every sample of its range (up to engine.max_samples) and is scanned at each
 * evaluation: its length is capped where the operator can see and raise the cap. Checked here,
 * after the whole config is read, because the engine section may come after the rules.
 */
static void check_windows(struct fw_cfg_ctx *c, const struct fw_config *cfg,
                          const struct fw_cfg_rule *r)
{
    const struct fw_expr *ex[2] = {r->expr, r->clear};
    static const char *const keys[2] = {"expr", "clear"};
    for (int k = 0; k < 2; k++) {
        int64_t range;
        int pos = ex[k] ? fw_expr_window_over(ex[k], cfg->engine.max_window_ms, &range) : -1;
        if (pos < 0)
            continue;
        char got[32], max[32];
        fw_cfg_format_duration(range, got, sizeof(got));
        fw_cfg_format_duration(cfg->engine.max_window_ms, max, sizeof(max));
        size_t mark = fw_cfg_path_key(c, keys[k]);
        fw_cfg_err(c, "position %d: a window of %s is longer than engine.max_window_ms (%s)",
                   pos + 1, got, max);
        fw_cfg_path_pop(c, mark);
    }
}

/* Each of a zone model's stations (at $.zones.<zone>.<section>.stations) must be a node. */
static void check_stations(struct fw_cfg_ctx *c, const struct fw_config *cfg,
                           const struct fw_cfg_zone *z, const char *section,
                           const char (*stations)[FW_READING_MAX_ID], size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int found = 0;
        for (size_t j = 0; j < cfg->nnodes && !found; j++)
            found = strcmp(cfg->nodes[j].id, stations[k]) == 0;
        if (found)
            continue;
        size_t mark = fw_cfg_path_key(c, "zones");
        fw_cfg_path_key(c, z->id);
        fw_cfg_path_key(c, section);
        fw_cfg_path_key(c, "stations");
        fw_cfg_path_index(c, (int)k);
        fw_cfg_err(c, "no node named \"%s\"", stations[k]);
        fw_cfg_path_pop(c, mark);
    }
}

void fw_config__check_refs(struct fw_config *cfg, struct fw_cfg_errors *errs)
{
    struct fw_cfg_ctx c = {.file = cfg->path, .errs = errs, .path = "$", .pathlen = 1};
    char list[512];
    const char **bnames, **znames, **rnames;
    NAMES_OF(cfg->brokers, cfg->nbrokers, name, bnames);
    NAMES_OF(cfg->zones, cfg->nzones, id, znames);
    NAMES_OF(cfg->routes, cfg->nroutes, name, rnames);

    if (cfg->status_broker && !fw_config_broker(cfg, cfg->status_broker)) {
        list_names(list, sizeof(list), "brokers", bnames, cfg->nbrokers);
        fw_cfg_errors_add(errs,
                          fw_xasprintf("%s: $.gateway.status_broker: no broker named \"%s\"%s",
                                       cfg->path, cfg->status_broker, list));
    }
    for (size_t i = 0; i < cfg->nuplinks; i++) {
        const char *b = cfg->uplinks[i].broker;
        if (b && !fw_config_broker(cfg, b)) {
            list_names(list, sizeof(list), "brokers", bnames, cfg->nbrokers);
            fw_cfg_errors_add(errs,
                              fw_xasprintf("%s: $.uplinks[%zu].broker: no broker named \"%s\"%s",
                                           cfg->path, i, b, list));
        }
    }
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct fw_cfg_route *r = &cfg->routes[i];
        if (r->broker && !fw_config_broker(cfg, r->broker)) {
            size_t mark = fw_cfg_path_key(&c, "routes");
            fw_cfg_path_key(&c, r->name);
            fw_cfg_path_key(&c, "broker");
            list_names(list, sizeof(list), "brokers", bnames, cfg->nbrokers);
            fw_cfg_err(&c, "no broker named \"%s\"%s", r->broker, list);
            fw_cfg_path_pop(&c, mark);
        }
    }
    for (size_t i = 0; i < cfg->nnodes; i++) {
        struct fw_cfg_node *n = &cfg->nodes[i];
        if (n->zone && !(n->zone_ref = fw_config_zone(cfg, n->zone))) {
            size_t mark = fw_cfg_path_key(&c, "nodes");
            fw_cfg_path_key(&c, n->id);
            fw_cfg_path_key(&c, "zone");
            list_names(list, sizeof(list), "zones", znames, cfg->nzones);
            fw_cfg_err(&c, "no zone named \"%s\"%s", n->zone, list);
            fw_cfg_path_pop(&c, mark);
        }
    }
    /* A fire model's or a rating's stations must be nodes (or Modbus devices): a misspelt one
     * would make every day missing. The fallback may be any station id, such as the meteorology
     * feed's. */
    for (size_t i = 0; i < cfg->nzones; i++) {
        const struct fw_cfg_zone *z = &cfg->zones[i];
        if (z->fire)
            check_stations(&c, cfg, z, "fire", z->fire->stations, z->fire->nstations);
        if (z->cn)
            check_stations(&c, cfg, z, "cn", z->cn->stations, z->cn->nstations);
    }
    /* The same for the pest model's temperature stations and its pests' trap nodes. */
    for (size_t i = 0; i < cfg->nzones; i++) {
        const struct fw_pests_zone *pz = cfg->zones[i].pests;
        for (size_t p = 0; pz && p <= pz->npests; p++) {
            size_t n = p == 0 ? pz->nstations : pz->pests[p - 1].ntraps;
            for (size_t k = 0; k < n; k++) {
                const char *id = p == 0 ? pz->stations[k] : pz->pests[p - 1].traps[k];
                int found = 0;
                for (size_t j = 0; j < cfg->nnodes && !found; j++)
                    found = strcmp(cfg->nodes[j].id, id) == 0;
                if (found)
                    continue;
                size_t mark = fw_cfg_path_key(&c, "zones");
                fw_cfg_path_key(&c, cfg->zones[i].id);
                fw_cfg_path_key(&c, "pests");
                if (p > 0) {
                    fw_cfg_path_key(&c, "pests");
                    fw_cfg_path_index(&c, (int)p - 1);
                    fw_cfg_path_key(&c, "traps");
                } else {
                    fw_cfg_path_key(&c, "stations");
                }
                fw_cfg_path_index(&c, (int)k);
                fw_cfg_err(&c, "no node named \"%s\"", id);
                fw_cfg_path_pop(&c, mark);
            }
        }
    }
    /* Two links with one client id on one broker would take turns kicking each other off. */
    for (size_t i = 0; i < cfg->nbrokers; i++)
        for (size_t j = 0; j < i; j++) {
            const struct fw_cfg_broker *a = &cfg->brokers[i], *b = &cfg->brokers[j];
            if (a->host && b->host && a->client_id && b->client_id &&
                strcmp(a->host, b->host) == 0 && a->port == b->port &&
                strcmp(a->client_id, b->client_id) == 0) {
                size_t mark = fw_cfg_path_key(&c, "brokers");
                fw_cfg_path_key(&c, a->name);
                fw_cfg_path_key(&c, "client_id");
                fw_cfg_err(&c, "same host, port and client id as broker \"%s\"", b->name);
                fw_cfg_path_pop(&c, mark);
            }
        }
    for (size_t i = 0; i < cfg->nrules; i++) {
        struct fw_cfg_rule *r = &cfg->rules[i];
        struct fw_cfg_ctx rc = {.file = r->file, .errs = errs, .path = "$.rules", .pathlen = 7};
        /* Rules are numbered within their own file. */
        int idx = 0;
        for (size_t k = 0; k < i; k++)
            idx += strcmp(cfg->rules[k].file, r->file) == 0;
        size_t mark = fw_cfg_path_index(&rc, idx);
        for (size_t z = 0; z < r->nzones; z++)
            if (!fw_config_zone(cfg, r->zones[z])) {
                size_t m2 = fw_cfg_path_key(&rc, "zones");
                fw_cfg_path_index(&rc, (int)z);
                list_names(list, sizeof(list), "zones", znames, cfg->nzones);
                fw_cfg_err(&rc, "no zone named \"%s\"%s", r->zones[z], list);
                fw_cfg_path_pop(&rc, m2);
            }
        r->route_idx = resolve_routes(&rc, cfg, r->routes, r->nroutes, rnames);
        check_windows(&rc, cfg, r);
        for (size_t k = 0; k < r->ninhibits; k++) {
            const char *name = r->inhibits[k];
            int found = 0;
            for (size_t q = 0; q < cfg->nrules; q++)
                found |= cfg->rules[q].name && strcmp(cfg->rules[q].name, name) == 0;
            size_t m2 = fw_cfg_path_key(&rc, "inhibits");
            fw_cfg_path_index(&rc, (int)k);
            if (!found)
                fw_cfg_err(&rc, "no rule named \"%s\"", name);
            else if (strcmp(name, r->name) == 0)
                fw_cfg_err(&rc, "a rule cannot inhibit itself");
            fw_cfg_path_pop(&rc, m2);
        }
        fw_cfg_path_pop(&rc, mark);
    }
    for (size_t i = 0; i < cfg->nescalations; i++) {
        struct fw_cfg_ctx ec = {
            .file = cfg->path, .errs = errs, .path = "$.escalation", .pathlen = 12};
        fw_cfg_path_index(&ec, (int)i);
        cfg->escalations[i].route_idx = resolve_routes(&ec, cfg, cfg->escalations[i].routes,
                                                       cfg->escalations[i].nroutes, rnames);
    }
    static const char *const side_sections[] = {"acks", "state"};
    const char *side_brokers[] = {cfg->acks.broker, cfg->state.broker};
    const char *side_topics[] = {cfg->acks.topic, cfg->state.topic_prefix};
    for (int k = 0; k < 2; k++) {
        if (side_brokers[k] && !fw_config_broker(cfg, side_brokers[k])) {
            list_names(list, sizeof(list), "brokers", bnames, cfg->nbrokers);
            fw_cfg_errors_add(errs,
                              fw_xasprintf("%s: $.%s.broker: no broker named \"%s\"%s", cfg->path,
                                           side_sections[k], side_brokers[k], list));
        }
        if (side_topics[k] && !fw_config__topic_ok(side_topics[k], 0))
            fw_cfg_errors_add(errs,
                              fw_xasprintf("%s: $.%s.%s: invalid MQTT topic \"%s\" (no wildcards)",
                                           cfg->path, side_sections[k],
                                           k ? "topic_prefix" : "topic", side_topics[k]));
    }
    free(bnames);
    free(znames);
    free(rnames);
}

void fw_config_notes(const struct fw_config *cfg, void (*say)(void *arg, const char *note),
                     void *arg)
{
    char note[256];
    for (size_t i = 0; i < cfg->nzones; i++)
        for (size_t k = 0; k < cfg->zones[i].npests_disabled; k++) {
            snprintf(note, sizeof(note),
                     "zone \"%s\": pest \"%s\" is disabled (\"enabled\": false): not modelled",
                     cfg->zones[i].id, cfg->zones[i].pests_disabled[k]);
            say(arg, note);
        }
    /* A level an officer acts on rests on these tables: say which are transcriptions still. */
    int rated = 0;
    for (size_t i = 0; i < cfg->nzones; i++)
        rated |= cfg->zones[i].cn != NULL;
    char unv[64];
    if (rated && fw_cnr_tables_unverified_list(&cfg->cn_tables, unv, sizeof(unv))) {
        snprintf(note, sizeof(note),
                 "cn_rating_tables: the national rating's tables %s are %s (not checked against "
                 "the printed standard; docs/cnrating.md)",
                 unv,
                 cfg->cn_tables_file ? "not marked \"official\"" : "the built-in transcription");
        say(arg, note);
    }
    for (size_t i = 0; i < cfg->nrules; i++)
        if (cfg->rules[i].kinds && fw_cfg_rule_nodes(cfg, &cfg->rules[i]) == 0) {
            snprintf(note, sizeof(note), "rule \"%s\": its kinds match no node: it watches nothing",
                     cfg->rules[i].name);
            say(arg, note);
        }
}
