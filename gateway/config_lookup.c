/* SPDX-License-Identifier: MIT */
/*
 * What the running code asks of a loaded config: nodes, zones and brokers by name, a zone's UTC
 * offset, which rules apply to which zone and node, whether a reload changed a rule's logic or a
 * broker's connection; and the release of a config. Pure; a struct fw_config is immutable once
 * loaded, so any thread may ask.
 */
#include "forestwatch/config.h"

#include "forestwatch/expr.h"
#include "forestwatch/profile.h"
#include "forestwatch/reading.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static void free_contact(struct fw_cfg_contact *c)
{
    free(c->name);
    free(c->name_en);
    free(c->phone);
}

void fw_config_free(struct fw_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nbrokers; i++) {
        struct fw_cfg_broker *b = &cfg->brokers[i];
        free(b->name);
        free(b->host);
        for (size_t k = 0; k < b->nnodes; k++)
            free(b->nodes[k].host);
        free(b->nodes);
        free(b->client_id);
        free(b->username);
        free(b->password_file);
        free(b->password_env);
        if (b->password)
            explicit_bzero(b->password, strlen(b->password));
        free(b->password);
        free(b->tls.ca_file);
        free(b->tls.cert_file);
        free(b->tls.key_file);
        free(b->tls.server_name);
    }
    for (size_t i = 0; i < cfg->nuplinks; i++) {
        free(cfg->uplinks[i].broker);
        free(cfg->uplinks[i].topic);
    }
    for (size_t i = 0; i < cfg->nzones; i++) {
        struct fw_cfg_zone *z = &cfg->zones[i];
        free(z->id);
        free(z->name);
        free(z->name_en);
        free(z->county);
        free(z->polygon);
        free(z->fire);
        free(z->pests);
        free(z->cn);
        for (size_t k = 0; k < z->npests_disabled; k++)
            free(z->pests_disabled[k]);
        free(z->pests_disabled);
        free_contact(&z->forest_chief);
        free_contact(&z->duty);
    }
    for (size_t i = 0; i < cfg->nnodes; i++) {
        free(cfg->nodes[i].id);
        free(cfg->nodes[i].zone);
        free(cfg->nodes[i].kind);
        free(cfg->nodes[i].description);
        free(cfg->nodes[i].dev_eui);
        free(cfg->nodes[i].lns_name);
        free(cfg->nodes[i].lpp_map);
    }
    for (size_t i = 0; i < cfg->nroutes; i++) {
        free(cfg->routes[i].name);
        free(cfg->routes[i].broker);
        free(cfg->routes[i].topic);
    }
    for (size_t i = 0; i < cfg->nrules; i++) {
        struct fw_cfg_rule *r = &cfg->rules[i];
        free(r->name);
        free(r->file);
        free(r->description);
        free(r->metric);
        free(r->expr_src);
        free(r->clear_src);
        fw_expr_free(r->expr);
        fw_expr_free(r->clear);
        for (size_t k = 0; k < r->nlabels; k++) {
            free(r->labels[k].key);
            free(r->labels[k].value);
        }
        free(r->labels);
        free(r->zh.headline);
        free(r->zh.description);
        free(r->en.headline);
        free(r->en.description);
        fw_cfg_free_string_list(r->zones, r->nzones);
        fw_cfg_free_string_list(r->kinds, r->nkinds);
        fw_cfg_free_string_list(r->routes, r->nroutes);
        free(r->route_idx);
        fw_cfg_free_string_list(r->inhibits, r->ninhibits);
    }
    free(cfg->brokers);
    free(cfg->uplinks);
    free(cfg->zones);
    free(cfg->nodes);
    free(cfg->routes);
    free(cfg->rules);
    for (size_t i = 0; i < cfg->nescalations; i++) {
        fw_cfg_free_string_list(cfg->escalations[i].routes, cfg->escalations[i].nroutes);
        free(cfg->escalations[i].route_idx);
    }
    free(cfg->escalations);
    free(cfg->acks.broker);
    free(cfg->acks.topic);
    free(cfg->state.broker);
    free(cfg->state.topic_prefix);
    free(cfg->cap.sender);
    free(cfg->store.path);
    free(cfg->unknown_devices_topic);
    for (size_t i = 0; i < cfg->nbuses; i++) {
        free(cfg->buses[i].name);
        free(cfg->buses[i].host);
        free(cfg->buses[i].device);
    }
    free(cfg->buses);
    for (size_t i = 0; i < cfg->ndevices; i++) {
        free(cfg->devices[i].id);
        free(cfg->devices[i].bus);
        free(cfg->devices[i].profile);
        free(cfg->devices[i].zone);
    }
    free(cfg->devices);
    for (size_t i = 0; i < cfg->nprofiles; i++)
        fw_profile_free(cfg->profiles[i]);
    free(cfg->profiles);
    free(cfg->profiles_dir);
    free(cfg->cn_tables_file);
    free(cfg->path);
    free(cfg->rules_dir);
    free(cfg->gateway_id);
    free(cfg->gateway_name);
    free(cfg->gateway_name_en);
    free(cfg->status_broker);
    free(cfg->status_topic);
    free(cfg->record.dir);
    free(cfg->ha.group);
    free(cfg->ha.member);
    free(cfg->ha.topic_prefix);
    free(cfg->console.listen);
    fw_metric_set_free(cfg->metrics);
    free(cfg);
}

const struct fw_cfg_node *fw_config_node(const struct fw_config *cfg, const char *id)
{
    size_t lo = 0, hi = cfg->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(id, cfg->nodes[mid].id);
        if (d == 0)
            return &cfg->nodes[mid];
        if (d < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct fw_cfg_zone *fw_config_zone(const struct fw_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nzones; i++)
        if (strcmp(cfg->zones[i].id, id) == 0)
            return &cfg->zones[i];
    return NULL;
}

int fw_config_zone_offset_min(const struct fw_config *cfg, const struct fw_cfg_zone *z)
{
    if (z && z->fire)
        return z->fire->utc_offset_min;
    if (z && z->pests)
        return z->pests->utc_offset_min;
    if (z && z->cn)
        return z->cn->utc_offset_min;
    return cfg->cap.utc_offset_min;
}

const struct fw_cfg_broker *fw_config_broker(const struct fw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nbrokers; i++)
        if (strcmp(cfg->brokers[i].name, name) == 0)
            return &cfg->brokers[i];
    return NULL;
}

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int broker_nodes_equal(const struct fw_cfg_broker *a, const struct fw_cfg_broker *b)
{
    if (a->nnodes != b->nnodes)
        return 0;
    for (size_t i = 0; i < a->nnodes; i++)
        if (!str_eq(a->nodes[i].host, b->nodes[i].host) || a->nodes[i].port != b->nodes[i].port)
            return 0;
    return 1;
}

int fw_config_ha_equal(const struct fw_cfg_ha *a, const struct fw_cfg_ha *b)
{
    return str_eq(a->group, b->group) && str_eq(a->member, b->member) &&
           a->priority == b->priority && a->heartbeat_ms == b->heartbeat_ms &&
           a->dead_after_ms == b->dead_after_ms && a->settle_ms == b->settle_ms &&
           a->rescue_after_ms == b->rescue_after_ms && str_eq(a->topic_prefix, b->topic_prefix);
}

int fw_cfg_broker_equal(const struct fw_cfg_broker *a, const struct fw_cfg_broker *b)
{
    return str_eq(a->host, b->host) && a->port == b->port && str_eq(a->client_id, b->client_id) &&
           str_eq(a->username, b->username) && str_eq(a->password, b->password) &&
           str_eq(a->tls.ca_file, b->tls.ca_file) && str_eq(a->tls.cert_file, b->tls.cert_file) &&
           str_eq(a->tls.key_file, b->tls.key_file) &&
           str_eq(a->tls.server_name, b->tls.server_name) && a->keepalive_s == b->keepalive_s &&
           a->reconnect_min_ms == b->reconnect_min_ms &&
           a->reconnect_max_ms == b->reconnect_max_ms && a->clean_session == b->clean_session &&
           broker_nodes_equal(a, b);
}

int fw_cfg_rule_in_zone(const struct fw_cfg_rule *r, const char *zone)
{
    if (!r->zones)
        return 1;
    for (size_t i = 0; i < r->nzones; i++)
        if (strcmp(r->zones[i], zone) == 0)
            return 1;
    return 0;
}

int fw_cfg_rule_covers(const struct fw_cfg_rule *r, const struct fw_cfg_node *n)
{
    if (!fw_cfg_rule_in_zone(r, n->zone))
        return 0;
    if (!r->kinds)
        return 1;
    for (size_t i = 0; i < r->nkinds; i++)
        if (n->kind && strcmp(r->kinds[i], n->kind) == 0)
            return 1;
    return 0;
}

size_t fw_cfg_rule_nodes(const struct fw_config *cfg, const struct fw_cfg_rule *r)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->nnodes; i++)
        n += fw_cfg_rule_covers(r, &cfg->nodes[i]) != 0;
    return n;
}

int fw_cfg_rule_same_logic(const struct fw_cfg_rule *a, const struct fw_cfg_rule *b)
{
    if (!str_eq(a->expr_src, b->expr_src) || !str_eq(a->clear_src, b->clear_src) ||
        a->for_ms != b->for_ms || a->keep_firing_for_ms != b->keep_firing_for_ms ||
        a->nzones != b->nzones || !a->zones != !b->zones)
        return 0;
    /* The same text may read another metric: a declared one whose unit a reload changed. */
    if ((a->expr && b->expr && !fw_expr_same_metrics(a->expr, b->expr)) ||
        (a->clear && b->clear && !fw_expr_same_metrics(a->clear, b->clear)))
        return 0;
    for (size_t i = 0; i < a->nzones; i++)
        if (strcmp(a->zones[i], b->zones[i]) != 0)
            return 0;
    return 1;
}
