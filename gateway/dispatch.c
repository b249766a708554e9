/* SPDX-License-Identifier: MIT */
/*
 * The alert post-processing (include/forestwatch/dispatch.h): the pest context of an alert's
 * text, the groups of new alerts held for a route's window, the list of alerts announced inside
 * a group message (their later messages reference that message), and rendering per route. It
 * used to live in the daemon; here a unit test and any other driver reach it, and it stays pure:
 * the time is passed in and the log lines go back as actions.
 */
#include "forestwatch/dispatch.h"

#include "forestwatch/cap.h"
#include "forestwatch/engine.h"
#include "forestwatch/log.h"
#include "forestwatch/message.h"
#include "forestwatch/pests.h"
#include "forestwatch/render.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* New alerts of one zone held for a route that groups them (route.group_window_ms). */
struct group {
    size_t route; /* index into the config's routes */
    char zone[FW_READING_MAX_ID];
    int64_t deadline; /* the time of its first alert + the route's window */
    struct fw_alert *alerts;
    size_t n, cap;
    struct group *next;
};

/*
 * An alert whose first message was a group message: its later messages reference that one.
 * (Episodes do not outlive the process, so neither need these.)
 */
struct announced {
    char alert_id[FW_ALERT_MAX_ID];
    char identifier[FW_CAP_IDENTIFIER_MAX];
    int64_t sent_ms;
    struct announced *next;
};

struct fw_dispatch {
    struct group *groups;
    struct announced *announced;
};

/* ------------------------------------------------------------------------------------------ */
/* The output                                                                                  */
/* ------------------------------------------------------------------------------------------ */

void fw_dispatch_out_clear(struct fw_dispatch_out *o)
{
    for (size_t i = 0; i < o->nmsg; i++)
        FW_FREE(o->msg[i].body);
    o->nmsg = 0;
    o->nnote = 0;
}

void fw_dispatch_out_free(struct fw_dispatch_out *o)
{
    fw_dispatch_out_clear(o);
    free(o->msg);
    free(o->note);
    memset(o, 0, sizeof(*o));
}

__attribute__((format(printf, 4, 5))) static void note(struct fw_dispatch_out *o, int level, int rc,
                                                       const char *fmt, ...)
{
    if (o->nnote == o->capnote) {
        o->capnote = o->capnote ? 2 * o->capnote : 8;
        o->note = fw_xrealloc(o->note, o->capnote * sizeof(*o->note));
    }
    struct fw_dispatch_note *n = &o->note[o->nnote++];
    memset(n, 0, sizeof(*n));
    n->level = level;
    n->rc = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->head, sizeof(n->head), fmt, ap);
    va_end(ap);
}

/* The message of alert `a` for `route`; takes ownership of `body`. */
static struct fw_dispatch_msg *msg_add(struct fw_dispatch_out *o, size_t route,
                                       const struct fw_alert *a, char *body)
{
    if (o->nmsg == o->capmsg) {
        o->capmsg = o->capmsg ? 2 * o->capmsg : 8;
        o->msg = fw_xrealloc(o->msg, o->capmsg * sizeof(*o->msg));
    }
    struct fw_dispatch_msg *m = &o->msg[o->nmsg++];
    memset(m, 0, sizeof(*m));
    m->route = route;
    m->priority = (int)a->cfg_rule->severity;
    m->resolved = a->status == FW_ALERT_RESOLVED;
    fw_strlcpy(m->alert_id, a->id, sizeof(m->alert_id));
    fw_strlcpy(m->rule, a->rule, sizeof(m->rule));
    fw_strlcpy(m->zone, a->zone, sizeof(m->zone));
    m->body = body;
    return m;
}

static void log_alert(struct fw_dispatch_out *o, const struct fw_alert *a, const char *route)
{
    note(o, FW_LOG_NOTICE, 0, "alert: %s %s %s zone \"%s\" node \"%s\" value %g -> route \"%s\"",
         fw_alert_kind_str(a->kind), a->id, a->rule, a->zone, a->station, a->value, route);
}

/* ------------------------------------------------------------------------------------------ */
/* Rendering                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/*
 * The message for one route, in the route's format (fw_render_route). An alert announced in a
 * group message names that message in its later messages' <references>.
 */
static void render(const struct fw_dispatch *x, const struct fw_config *cfg, size_t route,
                   const struct fw_alert *a, int64_t now, struct fw_dispatch_out *o)
{
    const struct fw_cfg_route *r = &cfg->routes[route];
    struct fw_cap_ref group_ref;
    const struct fw_cap_ref *first = NULL;
    for (const struct announced *y = x->announced; y; y = y->next)
        if (strcmp(y->alert_id, a->id) == 0) {
            group_ref = (struct fw_cap_ref){y->identifier, y->sent_ms};
            first = &group_ref;
        }
    char *out;
    int rc = fw_render_route(cfg, r, a, first, now, &out);
    /* Never lose the alert over its wrapping: the project's JSON went instead, loudly. */
    if (rc < 0) {
        note(o, FW_LOG_ERR, rc, "alert %s: route \"%s\": CAP rendering failed (", a->id, r->name);
        fw_strlcpy(o->note[o->nnote - 1].tail, "): sent as JSON", sizeof(o->note[0].tail));
    }
    msg_add(o, route, a, out);
}

static void announced_forget(struct fw_dispatch *x, const char *alert_id)
{
    for (struct announced **pp = &x->announced; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->alert_id, alert_id) == 0) {
            struct announced *y = *pp;
            *pp = y->next;
            free(y);
            return;
        }
}

/* ------------------------------------------------------------------------------------------ */
/* Groups                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Render one group: a single alert as usual; several as one message naming them all. */
static void group_render(struct fw_dispatch *x, const struct fw_config *cfg, struct group *g,
                         int64_t now, struct fw_dispatch_out *o)
{
    const struct fw_cfg_route *route = &cfg->routes[g->route];
    if (g->n == 1) {
        log_alert(o, &g->alerts[0], route->name);
        render(x, cfg, g->route, &g->alerts[0], now, o);
        return;
    }
    const struct fw_alert **as = fw_xcalloc(g->n, sizeof(*as));
    int severity = 0;
    for (size_t i = 0; i < g->n; i++) {
        as[i] = &g->alerts[i];
        if ((int)as[i]->cfg_rule->severity > severity)
            severity = (int)as[i]->cfg_rule->severity;
        log_alert(o, as[i], route->name);
    }
    char gid[FW_ALERT_MAX_ID + 64], ident[FW_CAP_IDENTIFIER_MAX];
    snprintf(gid, sizeof(gid), "%s:group:%s:%s:%lld", cfg->gateway_id, route->name, g->zone,
             (long long)now);
    fw_cap_identifier(ident, sizeof(ident), cfg->gateway_id, gid, 1);
    char *body = NULL;
    if (route->format == FW_FORMAT_JSON) {
        cJSON *obj = cJSON_CreateObject();
        cJSON_AddStringToObject(obj, "group", gid);
        cJSON_AddStringToObject(obj, "zone", g->zone);
        cJSON *arr = cJSON_AddArrayToObject(obj, "alerts");
        for (size_t i = 0; i < g->n; i++) {
            char *one_json = fw_message_alert_json(cfg, as[i], now);
            cJSON_AddItemToArray(arr, cJSON_Parse(one_json));
            free(one_json);
        }
        body = cJSON_PrintUnformatted(obj);
        cJSON_Delete(obj);
    } else {
        const struct fw_cfg_cap *c = &cfg->cap;
        struct fw_cap_msg msg = {
            .type = FW_CAP_ALERT,
            .identifier = ident,
            .sent_ms = now,
            .utc_offset_min = c->utc_offset_min,
            .status = (enum fw_cap_status)c->status,
            .sender = c->sender,
            .circle_radius_km = c->circle_radius_km,
        };
        int rc = route->format == FW_FORMAT_CAP_XML ? fw_cap_xml_group(cfg, as, g->n, &msg, &body)
                                                    : fw_cap_json_group(cfg, as, g->n, &msg, &body);
        if (rc < 0) {
            /* Never lose alerts over their wrapping: send them one by one instead. */
            note(o, FW_LOG_ERR, rc, "route \"%s\": CAP group rendering failed (", route->name);
            fw_strlcpy(o->note[o->nnote - 1].tail, "): sent one by one", sizeof(o->note[0].tail));
            for (size_t i = 0; i < g->n; i++)
                render(x, cfg, g->route, &g->alerts[i], now, o);
            free(as);
            return;
        }
        /* Later messages of these alerts reference this message. */
        for (size_t i = 0; i < g->n; i++) {
            struct announced *y = fw_xcalloc(1, sizeof(*y));
            fw_strlcpy(y->alert_id, as[i]->id, sizeof(y->alert_id));
            fw_strlcpy(y->identifier, ident, sizeof(y->identifier));
            y->sent_ms = now;
            y->next = x->announced;
            x->announced = y;
        }
    }
    struct fw_dispatch_msg *m = msg_add(o, g->route, as[0], body);
    m->priority = severity;
    free(as);
}

static void group_free(struct group *g)
{
    free(g->alerts);
    free(g);
}

/* Render and remove the groups of `route` (SIZE_MAX: all) due by `upto`. */
static void groups_flush(struct fw_dispatch *x, const struct fw_config *cfg, size_t route,
                         int64_t upto, int64_t now, struct fw_dispatch_out *o)
{
    struct group **pp = &x->groups;
    while (*pp) {
        struct group *g = *pp;
        if ((route == SIZE_MAX || g->route == route) && g->deadline <= upto) {
            *pp = g->next;
            group_render(x, cfg, g, now, o);
            group_free(g);
        } else {
            pp = &g->next;
        }
    }
}

/* Hold a new alert for its route's group of its zone, opening the group if needed. */
static void group_add(struct fw_dispatch *x, const struct fw_config *cfg,
                      const struct fw_notification *n, int64_t now)
{
    struct group *g = x->groups;
    while (g && !(g->route == n->route && strcmp(g->zone, n->alert.zone) == 0))
        g = g->next;
    if (!g) {
        g = fw_xcalloc(1, sizeof(*g));
        g->route = n->route;
        fw_strlcpy(g->zone, n->alert.zone, sizeof(g->zone));
        g->deadline = now + cfg->routes[n->route].group_window_ms;
        g->next = x->groups;
        x->groups = g;
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 4;
        g->alerts = fw_xrealloc(g->alerts, g->cap * sizeof(*g->alerts));
    }
    g->alerts[g->n++] = n->alert;
}

/* ------------------------------------------------------------------------------------------ */
/* The interface                                                                               */
/* ------------------------------------------------------------------------------------------ */

struct fw_dispatch *fw_dispatch_new(void)
{
    return fw_xcalloc(1, sizeof(struct fw_dispatch));
}

void fw_dispatch_free(struct fw_dispatch *x)
{
    if (!x)
        return;
    while (x->groups) {
        struct group *g = x->groups;
        x->groups = g->next;
        group_free(g);
    }
    while (x->announced) {
        struct announced *y = x->announced;
        x->announced = y->next;
        free(y);
    }
    free(x);
}

void fw_dispatch_pest_context(const struct fw_pests *pests, struct fw_alert *a)
{
    const char *pest;
    struct fw_pests_pest_state st;
    if (!pests || !a->zone[0] || fw_pests_zone_pest(pests, a->zone, &pest, &st) < 0)
        return;
    fw_strlcpy(a->pest, pest, sizeof(a->pest));
    fw_strlcpy(a->pest_stage, st.next_stage, sizeof(a->pest_stage));
    fw_strlcpy(a->pest_action, st.next_action, sizeof(a->pest_action));
}

void fw_dispatch_notifications(struct fw_dispatch *x, const struct fw_config *cfg,
                               const struct fw_pests *pests, struct fw_actions *a, int64_t now_ms,
                               struct fw_dispatch_out *out)
{
    for (size_t i = 0; i < a->n; i++) {
        fw_dispatch_pest_context(pests, &a->items[i].alert);
        const struct fw_notification *n = &a->items[i];
        const struct fw_cfg_route *route = &cfg->routes[n->route];
        if (route->group_window_ms > 0 && n->alert.zone[0] && n->alert.kind == FW_KIND_NEW) {
            group_add(x, cfg, n, now_ms);
            continue;
        }
        groups_flush(x, cfg, n->route, INT64_MAX, now_ms, out);
        log_alert(out, &n->alert, route->name);
        render(x, cfg, n->route, &n->alert, now_ms, out);
        if (n->alert.kind == FW_KIND_RESOLVED)
            announced_forget(x, n->alert.id);
    }
}

void fw_dispatch_flush(struct fw_dispatch *x, const struct fw_config *cfg, int64_t upto_ms,
                       int64_t now_ms, struct fw_dispatch_out *out)
{
    groups_flush(x, cfg, SIZE_MAX, upto_ms, now_ms, out);
}

int64_t fw_dispatch_next_deadline(const struct fw_dispatch *x)
{
    int64_t first = 0;
    for (const struct group *g = x->groups; g; g = g->next)
        if (!first || g->deadline < first)
            first = g->deadline;
    return first;
}

/* ------------------------------------------------------------------------------------------ */
/* The retained state of a zone                                                                */
/* ------------------------------------------------------------------------------------------ */

struct open_alerts {
    cJSON *arr;
    const char *gateway_id;
};

static void add_open_alert(const struct fw_rule_instance *in, void *arg)
{
    struct open_alerts *oa = arg;
    cJSON *o = cJSON_CreateObject();
    char id[FW_ALERT_MAX_ID], since[FW_TIME_STRLEN];
    fw_alert_instance_id(id, sizeof(id), oa->gateway_id, in); /* as the alert's messages */
    fw_time_format(in->fired_ms, since);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "rule", in->rule);
    if (in->station[0])
        cJSON_AddStringToObject(o, "node", in->station);
    cJSON_AddStringToObject(o, "since", since);
    if (in->acked)
        cJSON_AddStringToObject(o, "acknowledged_by", in->acked_by);
    cJSON_AddItemToArray(oa->arr, o);
}

char *fw_dispatch_zone_state(const struct fw_config *cfg, const struct fw_engine *e, size_t zi,
                             int64_t now_ms, uint64_t *hash)
{
    const struct fw_cfg_zone *z = &cfg->zones[zi];
    double level = fw_engine_zone_level(e, z->id, now_ms);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "zone", z->id);
    cJSON_AddStringToObject(o, "name", z->name);
    if (isnan(level))
        cJSON_AddNullToObject(o, "level");
    else
        cJSON_AddNumberToObject(o, "level", level);
    struct open_alerts oa = {cJSON_AddArrayToObject(o, "open_alerts"), cfg->gateway_id};
    fw_engine_zone_alerts(e, z->id, add_open_alert, &oa);
    char *body = cJSON_PrintUnformatted(o); /* without the time: it would change every time */
    *hash = fw_hash64(body, strlen(body), 0);
    free(body);
    char when[FW_TIME_STRLEN];
    fw_time_format(now_ms, when);
    cJSON_AddStringToObject(o, "updated", when);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}
