/* SPDX-License-Identifier: MIT */
/*
 * forestwatchd: the libuv shell around the pure core (gateway/core.c: the zone models, the
 * engine, the alert post-processing). It owns the loop, one MQTT link per configured broker, the
 * Modbus pollers, the signal handlers, the timers, the recording and the outbox, and holds no
 * alert or model logic of its own: a message goes through its uplink's decoder
 * (gateway/sources.c) and its node's budget (gateway/flood.c) into the core, and the daemon
 * carries out what the core returns (lines to log, readings to record, model states to save,
 * rendered messages to commit and publish).
 *
 * The outbox is durable (gateway/outbox.c, SQLite): a message is committed before any publish
 * is tried and removed only when the broker acknowledged it (PUBACK); after a lost connection or
 * a restart, everything not acknowledged is sent again, in order per route.
 *
 * The zone models' states (include/forestwatch/model.h: fire danger, pests) are kept in the
 * outbox database under each model's state key: saved when the core says a step changed them
 * and at shutdown, restored at start.
 *
 * Signals: SIGTERM and SIGINT shut down cleanly (waiting a moment for outstanding
 * acknowledgements), SIGHUP reloads the config, keeping the old one if the new one is invalid.
 */
#include "forestwatch/config.h"
#include "forestwatch/core.h"
#include "forestwatch/dispatch.h"
#include "forestwatch/engine.h"
#include "forestwatch/flood.h"
#include "forestwatch/ha.h"
#include "forestwatch/http.h"
#include "forestwatch/log.h"
#include "forestwatch/lora.h"
#include "forestwatch/modbus.h"
#include "forestwatch/model.h"
#include "forestwatch/mqtt.h"
#include "forestwatch/notify.h"
#include "forestwatch/outbox.h"
#include "forestwatch/reading.h"
#include "forestwatch/sources.h"
#include "forestwatch/stats.h"
#include "forestwatch/record.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/uplink.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "ha_member.h"

#define DRAIN_MS 3000 /* at shutdown, how long to wait for acknowledgements */
#define STATS_INTERVAL_MS (10 * 60 * 1000)
#define TICK_MS 1000   /* how often the engine is given the time; its instants are its own */
#define HA_TICK_MS 100 /* in a group: how often the group clock is looked at (docs/ha.md) */

struct daemon;

struct link_slot {
    struct daemon *d;
    char *broker; /* the broker's name in the config */
    struct fw_mqtt_link *link;
    struct link_slot *next;
};

struct watch {
    uv_fs_event_t ev;
    struct daemon *d;
    struct watch *next;
};

/* The retained state last published per zone, by hash, to publish only what changed. */
struct zone_mark {
    char zone[FW_CONFIG_MAX_ID + 1];
    uint64_t hash;
};

struct daemon {
    uv_loop_t *loop;
    const char *config_path;
    int log_override; /* -v given: the config's log_level does not apply */
    struct fw_config *cfg;
    struct fw_core *core;        /* the models, the engine, the post-processing */
    struct fw_core_actions acts; /* its actions of one call */
    struct link_slot *links;

    struct fw_outbox *ob;
    struct fw_modbus *modbus;   /* the Modbus pollers, NULL when no device is configured */
    struct fw_lora *lora;       /* the LoRa node registry and its deduplication state */
    struct fw_dispatch_out out; /* its actions of one call */
    uv_timer_t group_timer;     /* fires at the earliest held group's deadline */
    uv_timer_t pace_timer;      /* when pacing holds messages back, the time they may go */
    int64_t pace_at;            /* when pace_timer fires, 0: not armed */
    int64_t clock_offset;       /* wall - monotonic at the last tick, INT64_MIN: none yet */
    uint64_t out_published, out_acked, out_dropped, out_unsaved;
    uint64_t out_full; /* of out_unsaved: refused by a route at its queue cap */
    struct fw_ratelimit out_rl;

    uv_signal_t sig_term, sig_int, sig_hup;
    struct watch *watches;   /* config and rules folders, when gateway.watch_config is on */
    uv_timer_t watch_timer;  /* lets a burst of file events settle into one reload */
    uv_timer_t wd_timer;     /* feeds the service manager's watchdog, when it has one */
    struct zone_mark *marks; /* per zone of the config, when the state section is on */
    size_t nmarks;
    unsigned ticks;
    uv_timer_t stats_timer, drain_timer, tick_timer;
    int stopping;
    int64_t drain_deadline;

    struct fw_uplink_result res;
    struct fw_meteo_forecasts forecasts; /* of the meteorology feed's last forecast message */
    struct fw_flood *flood;              /* the message budgets of the nodes and of the forecasts */
    uint64_t uplinks, rejected[FW_UPLINK__COUNT];
    struct fw_ratelimit reject_rl[FW_UPLINK__COUNT];

    /* Recording of what the engine is fed (docs/replay.md); rec is NULL when it is off. */
    struct fw_record *rec;
    struct fw_ratelimit rec_rl;
    int64_t rec_now;     /* the last time given to the engine */
    int64_t rec_line_ms; /* when the last line was recorded; 0: none yet */
    int rec_ticked;      /* a tick was recorded into this recording */

    /* A member of an active/standby group (docs/ha.md); ha is NULL when the gateway is alone. */
    struct fw_ha_member *ha;
    struct fw_ha_settle *settle; /* inputs waiting for the group clock */
    int64_t ha_started_ms;       /* wall clock when the member started */
    int64_t group_clock;         /* the last whole second the core was given, 0: none yet */

    /* The console (docs/console.md): the counters, its HTTP server (NULL: off) and what the
     * events streams were last sent. */
    struct fw_stats *stats;
    struct fw_http *http;
    uint64_t console_hash;
    int64_t loaded_ms;
    char last_reload[200];
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct link_slot *slot_by_broker(struct daemon *d, const char *broker)
{
    for (struct link_slot *s = d->links; s; s = s->next)
        if (strcmp(s->broker, broker) == 0)
            return s;
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Outbox                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------------------------ */
/* The console (docs/console.md): its counters, HTTP server and events                        */
/* ------------------------------------------------------------------------------------------ */

#define CONSOLE_MEMORY_PER_CONNECTION (32 * 1024) /* a request's headers must fit in this */
#define CONSOLE_MAX_EVENT_BACKLOG (1024 * 1024)   /* an events stream further behind is ended */

static void console_link_state(struct daemon *d, const char *broker, int connected)
{
    /* The first connection creates the series at 0; every later one is a reconnect. */
    if (connected)
        fw_stats_add(d->stats, FW_STAT_BROKER_RECONNECTS, broker,
                     fw_stats_get(d->stats, FW_STAT_BROKER_RECONNECTS, broker, NULL, NULL) == 0);
    fw_stats_set(d->stats, FW_STAT_BROKER_UP, broker, connected ? 1 : 0);
}

/* An alert's notifications come once per route: count each alert once per batch. */
static void console_count_alerts(struct daemon *d, const struct fw_actions *a)
{
    for (size_t i = 0; i < a->n; i++) {
        const struct fw_alert *x = &a->items[i].alert;
        size_t j = 0;
        while (j < i &&
               !(a->items[j].alert.kind == x->kind && !strcmp(a->items[j].alert.id, x->id)))
            j++;
        if (j < i)
            continue;
        if (x->kind == FW_KIND_NEW)
            fw_stats_add(d->stats, FW_STAT_ALERTS_FIRED, x->rule, 1);
        else if (x->kind == FW_KIND_RESOLVED)
            fw_stats_add(d->stats, FW_STAT_ALERTS_RESOLVED, x->rule, 1);
    }
}

/* The figures read when asked rather than counted as they happen. */
static void console_refresh(struct daemon *d)
{
    size_t pending = 0;
    if (fw_outbox_pending(d->ob, &pending) == 0)
        fw_stats_set(d->stats, FW_STAT_OUTBOX_DEPTH, NULL, (double)pending);
    struct fw_modbus_device_stats ms;
    for (size_t i = 0; d->modbus && i < d->cfg->ndevices; i++)
        if (fw_modbus_device_stats(d->modbus, i, &ms) == 0) {
            fw_stats_set(d->stats, FW_STAT_MODBUS_POLLS, d->cfg->devices[i].id,
                         (double)ms.polls_ok);
            fw_stats_set(d->stats, FW_STAT_MODBUS_FAILURES, d->cfg->devices[i].id,
                         (double)ms.polls_failed);
        }
}

static struct fw_console_view console_view(struct daemon *d)
{
    return (struct fw_console_view){d->cfg,       fw_core_engine(d->core),
                                    d->stats,     wall_ms(),
                                    d->loaded_ms, d->last_reload[0] ? d->last_reload : NULL};
}

static void on_console_request(void *arg, const char *method, const char *path,
                               struct fw_console_reply *r)
{
    struct daemon *d = arg;
    console_refresh(d);
    struct fw_console_view v = console_view(d);
    fw_console_handle(&v, method, path, r);
}

/* Tell the events streams, when what they show changed. */
static void console_push(struct daemon *d)
{
    if (!fw_http_streams(d->http))
        return;
    console_refresh(d);
    struct fw_console_view v = console_view(d);
    char *ev = fw_console_event(&v, &d->console_hash);
    if (ev)
        fw_http_broadcast(d->http, ev, strlen(ev));
    free(ev);
}

/* Start, restart or stop the server as the config in force says. Returns 0 or why it failed. */
static int console_apply(struct daemon *d, const struct fw_config *old)
{
    const struct fw_cfg_console *c = &d->cfg->console, *o = old ? &old->console : NULL;
    if (d->http && o && c->enabled && o->enabled && !strcmp(c->listen, o->listen) &&
        c->port == o->port && c->client_timeout_ms == o->client_timeout_ms &&
        c->max_connections == o->max_connections)
        return 0;
    fw_http_close(d->http);
    d->http = NULL;
    if (!c->enabled)
        return 0;
    const struct fw_http_opts opts = {
        .listen = c->listen,
        .port = c->port,
        .timeout_s = (unsigned)((c->client_timeout_ms + 999) / 1000),
        .max_connections = (unsigned)c->max_connections,
        .memory_per_connection = CONSOLE_MEMORY_PER_CONNECTION,
        .max_event_backlog = CONSOLE_MAX_EVENT_BACKLOG,
    };
    int rc = fw_http_start(d->loop, &opts, on_console_request, d, &d->http);
    if (rc < 0)
        FW_LOG(FW_LOG_ERR, "console: listen %s port %d: %s", c->listen, c->port, uv_strerror(rc));
    else
        FW_LOG(FW_LOG_NOTICE, "console: listening on http://%s%s%s:%d/",
               strchr(c->listen, ':') ? "[" : "", c->listen, strchr(c->listen, ':') ? "]" : "",
               c->port);
    return rc;
}

static void on_pace_timer(uv_timer_t *t);

/* After a publish that failed for a reason of the moment on a link that still looks up. */
#define FW_DAEMON_PUBLISH_RETRY_MS 1000

/* Publish what the outbox lets go now on this broker's link, in its order. */
static void outbox_flush_slot(struct daemon *d, struct link_slot *s)
{
    /* In a group the active member sends; the others keep what they commit and send only what
     * the active member did not announce delivered within ha.rescue_after_ms (docs/ha.md). */
    int standby = d->ha && !fw_ha_member_active(d->ha);
    if (!fw_mqtt_link_connected(s->link))
        return;
    int64_t now = wall_ms(), wake = 0;
    size_t rescued = 0;
    const struct fw_outbox_item *items;
    size_t n;
    int rc = fw_outbox_next(d->ob, s->broker, now, FW_OUTBOX_MAX_INFLIGHT, &items, &n, &wake);
    if (rc < 0) {
        if (fw_ratelimit_allow(&d->out_rl, now, NULL))
            FW_LOG(FW_LOG_ERR, "outbox: broker \"%s\": read: %s (%s)", s->broker, uv_strerror(rc),
                   fw_outbox_errmsg(d->ob));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct fw_outbox_item *it = &items[i];
        int mid = 0;
        if (standby && it->created_ms > now - d->cfg->ha.rescue_after_ms)
            continue;
        rescued += standby;
        rc = fw_mqtt_publish(s->link, it->topic, it->payload, it->len, it->qos, 0, &mid);
        if (rc < 0 && !fw_mqtt_publish_error_permanent(rc)) {
            /*
             * The connection, not the message: a write into a socket the broker has just closed
             * fails as "broken pipe" or "connection reset" before the loop has read the close.
             * The message stays, and everything behind it, in order. A lost connection brings
             * a reconnect and a flush; a link that stays up is tried again shortly.
             */
            if (rc != -ENOTCONN || fw_mqtt_link_connected(s->link)) {
                if (fw_ratelimit_allow(&d->out_rl, now, NULL))
                    FW_LOG(FW_LOG_WARNING,
                           "outbox: route \"%s\" topic %s: alert %s: publish: %s: kept, to be "
                           "sent again",
                           it->route, it->topic, it->alert_id, uv_strerror(rc));
                int64_t retry = now + FW_DAEMON_PUBLISH_RETRY_MS;
                if (wake == 0 || retry < wake)
                    wake = retry;
            }
            break;
        }
        if (rc < 0) {
            /* The message itself (too big for the broker, a topic it can never take): retrying
             * would block the route for ever, so it is given up, loudly, and kept in the
             * history. */
            FW_LOG(FW_LOG_ERR, "outbox: route \"%s\" topic %s: alert %s: publish: %s: given up",
                   it->route, it->topic, it->alert_id, uv_strerror(rc));
            fw_outbox_drop(d->ob, it->id, now, uv_strerror(rc));
            d->out_dropped++;
            continue;
        }
        fw_outbox_sent(d->ob, it->id, mid, now);
        if (d->ha)
            fw_ha_member_sending(d->ha, it->id, it->route, it->payload, it->len);
        d->out_published++;
        fw_stats_add(d->stats, FW_STAT_MSG_PUBLISHED, s->broker, 1);
    }
    if (rescued)
        FW_LOG(FW_LOG_WARNING,
               "ha: standby: %zu messages on broker \"%s\" not announced delivered within %lld ms: "
               "sent by this member (copies, if the active member delivered them)",
               rescued, s->broker, (long long)d->cfg->ha.rescue_after_ms);
    /* Pacing holds the rest back until `wake`: one timer for all brokers, set to the earliest. */
    if (wake > 0 && (d->pace_at == 0 || wake < d->pace_at) && !d->stopping) {
        d->pace_at = wake;
        uv_timer_start(&d->pace_timer, on_pace_timer, (uint64_t)(wake > now ? wake - now : 0), 0);
    }
}

static void outbox_flush(struct daemon *d)
{
    for (struct link_slot *s = d->links; s; s = s->next)
        outbox_flush_slot(d, s);
}

static void on_pace_timer(uv_timer_t *t)
{
    struct daemon *d = FW_CONTAINER_OF(t, struct daemon, pace_timer);
    d->pace_at = 0;
    outbox_flush(d);
}

static void on_link_published(struct fw_mqtt_link *link, int mid, void *arg)
{
    struct link_slot *s = arg;
    struct daemon *d = s->d;
    int64_t id;
    (void)link;
    int rc = fw_outbox_ack_mid(d->ob, s->broker, mid, wall_ms(), &id);
    if (rc == 0) {
        FW_LOG(FW_LOG_DEBUG, "outbox: broker \"%s\": message %lld acknowledged (mid %d)", s->broker,
               (long long)id, mid);
        d->out_acked++;
        if (d->ha)
            fw_ha_member_acked(d->ha, id);
        fw_stats_add(d->stats, FW_STAT_MSG_ACKED, s->broker, 1);
    } else if (rc != -ENOENT) { /* ENOENT: the status or a zone state, not an outbox message */
        FW_LOG(FW_LOG_ERR, "outbox: broker \"%s\": acknowledged mid %d: %s (%s); retried later",
               s->broker, mid, uv_strerror(rc), fw_outbox_errmsg(d->ob));
    }
    outbox_flush_slot(d, s);
}

/* A lost link forgets its in-flight messages: they go again, in order, after reconnecting. */
static void outbox_requeue_link(struct daemon *d, struct link_slot *s)
{
    fw_outbox_link_lost(d->ob, s->broker);
}

/* ------------------------------------------------------------------------------------------ */
/* Retained current state per zone                                                             */
/* ------------------------------------------------------------------------------------------ */

/*
 * Publish the zone's level and open alerts (fw_dispatch_zone_state), retained, when they changed
 * since the last time (`force`: whatever it was, after a reconnect). A system that connects late
 * reads the present.
 */
static void publish_zone_state(struct daemon *d, size_t zi, int force)
{
    const struct fw_config *cfg = d->cfg;
    const struct fw_cfg_zone *z = &cfg->zones[zi];
    struct link_slot *s = cfg->state.broker ? slot_by_broker(d, cfg->state.broker) : NULL;
    /* In a group the active member's states are the group's. */
    if (!s || !fw_mqtt_link_connected(s->link) || zi >= d->nmarks ||
        (d->ha && !fw_ha_member_active(d->ha)))
        return;
    uint64_t h;
    char *json = fw_dispatch_zone_state(cfg, fw_core_engine(d->core), zi, wall_ms(), &h);
    if (!force && d->marks[zi].hash == h) {
        free(json);
        return;
    }
    char *topic = fw_xasprintf("%s/%s", cfg->state.topic_prefix, z->id);
    int rc = fw_mqtt_publish(s->link, topic, json, strlen(json), 1, 1, NULL);
    if (rc == 0)
        d->marks[zi].hash = h;
    else
        FW_LOG(FW_LOG_WARNING, "state: zone \"%s\": publish %s: %s", z->id, topic, uv_strerror(rc));
    free(topic);
    free(json);
}

static void publish_all_state(struct daemon *d, int force)
{
    for (size_t z = 0; z < d->cfg->nzones; z++)
        publish_zone_state(d, z, force);
}

/* After a (re)load: one mark per zone of the config, all to be published again. */
/*
 * Whether a message (node `node` of the config, or FW_FLOOD_FORECASTS) is within its budget
 * (gateway/flood.c); a flood's excess is dropped with a warning a minute naming `who`.
 */
static int budget_allows(struct daemon *d, size_t node, const char *who, int64_t now)
{
    uint64_t warn;
    if (fw_flood_take(d->flood, &d->cfg->limits, node, now, &warn))
        return 1;
    if (warn)
        FW_LOG(FW_LOG_WARNING,
               "%s floods: more than %g messages a second (burst %g); its excess is dropped "
               "(%llu so far)",
               who, d->cfg->limits.node_messages_per_s, d->cfg->limits.node_burst,
               (unsigned long long)warn);
    return 0;
}

/* Whether the message just decoded, from node d->res.node, is within its node's budget. */
static int flood_allows(struct daemon *d, int64_t now)
{
    const struct fw_cfg_node *node = d->res.node[0] ? fw_config_node(d->cfg, d->res.node) : NULL;
    if (!node)
        return 1;
    char who[FW_READING_MAX_ID + 16];
    snprintf(who, sizeof(who), "uplink: node \"%s\"", node->id);
    return budget_allows(d, (size_t)(node - d->cfg->nodes), who, now);
}

static void marks_reset(struct daemon *d)
{
    free(d->marks);
    d->nmarks = d->cfg->nzones;
    d->marks = fw_xcalloc(d->nmarks + 1, sizeof(*d->marks));
    for (size_t z = 0; z < d->nmarks; z++)
        fw_strlcpy(d->marks[z].zone, d->cfg->zones[z].id, sizeof(d->marks[z].zone));
}

/*
 * The database refused the messages (a full disk): they cannot be kept, so they are published
 * at once, once, without the outbox's promise. Better an alert that may be lost than one that
 * surely is.
 */
static void publish_unsaved(struct daemon *d, const struct fw_outbox_msg *m, const char *why)
{
    struct link_slot *s = slot_by_broker(d, m->broker);
    /* A standby leaves it to the active member, which computed the same message. */
    int rc = d->ha && !fw_ha_member_active(d->ha) ? -EAGAIN
             : s ? fw_mqtt_publish(s->link, m->topic, m->payload, m->len, m->qos, 0, NULL)
                 : -ENOENT;
    FW_LOG(FW_LOG_ERR,
           "outbox: alert %s: route \"%s\": NOT SAVED%s%s%s; published without a "
           "guarantee: %s",
           m->alert_id, m->route, why ? " (" : "", why ? why : "", why ? ")" : "",
           rc == 0 ? "sent" : uv_strerror(rc));
    d->out_unsaved++;
}

/*
 * Commit the messages in one transaction (one fsync for every route), or publish them unsaved. A
 * route whose queue is at store.max_queued_per_route refuses the batch: then each message is
 * committed on its own, so the other routes keep their guarantee, and only what the full route
 * refuses is published unsaved. What it already holds is never given up for a new message: the
 * oldest alerts are the ones its broker has not had yet.
 */
/* A group member remembers each committed row by its digest (docs/ha.md). */
static void committed(struct daemon *d, const struct fw_outbox_msg *m, size_t n, const int64_t *ids)
{
    for (size_t i = 0; i < n; i++)
        fw_stats_add(d->stats, FW_STAT_MSG_COMMITTED, m[i].route, 1);
    for (size_t i = 0; d->ha && i < n; i++)
        fw_ha_member_committed(d->ha, ids[i], m[i].route, m[i].payload, m[i].len);
}

static void batch_commit(struct daemon *d, struct fw_outbox_msg *m, size_t n)
{
    int64_t *ids = fw_xcalloc(n + 1, sizeof(*ids));
    int rc = n ? fw_outbox_push(d->ob, m, n, ids) : 0;
    if (rc == 0)
        committed(d, m, n, ids);
    if (rc == -ENOBUFS) {
        for (size_t i = 0; i < n; i++) {
            rc = fw_outbox_push(d->ob, &m[i], 1, ids);
            if (rc == 0) {
                committed(d, &m[i], 1, ids);
                continue;
            }
            char why[640];
            if (rc == -ENOBUFS)
                snprintf(why, sizeof(why), "queue full: %s (store.max_queued_per_route)",
                         fw_outbox_errmsg(d->ob));
            else
                snprintf(why, sizeof(why), "%s: %s", uv_strerror(rc), fw_outbox_errmsg(d->ob));
            d->out_full += rc == -ENOBUFS;
            publish_unsaved(d, &m[i], why);
        }
    } else if (rc < 0) {
        FW_LOG(FW_LOG_ERR, "outbox: cannot save %zu alert messages: %s (%s)%s", n, uv_strerror(rc),
               fw_outbox_errmsg(d->ob),
               rc == -ENOSPC ? ": THE DISK IS FULL; alerts already saved are kept" : "");
        for (size_t i = 0; i < n; i++)
            publish_unsaved(d, &m[i], NULL);
    }
    free(ids);
}

static void on_group_timer(uv_timer_t *t);

/* Carry out the dispatcher's actions of `cfg`, rendered at `now`: log its lines, commit its
 * messages, forget them; then wait for the earliest group still held. */
static void carry_out(struct daemon *d, const struct fw_config *cfg, int64_t now)
{
    struct fw_dispatch_out *o = &d->out;
    for (size_t i = 0; i < o->nnote; i++) {
        const struct fw_dispatch_note *n = &o->note[i];
        if (n->rc)
            FW_LOG(n->level, "%s%s%s", n->head, uv_strerror(n->rc), n->tail);
        else
            FW_LOG(n->level, "%s", n->head);
    }
    struct fw_outbox_msg *m = fw_xcalloc(o->nmsg + 1, sizeof(*m));
    for (size_t i = 0; i < o->nmsg; i++) {
        const struct fw_dispatch_msg *x = &o->msg[i];
        const struct fw_cfg_route *route = &cfg->routes[x->route];
        m[i] = (struct fw_outbox_msg){
            .route = route->name,
            .broker = route->broker,
            .topic = route->topic,
            .qos = route->qos,
            .priority = x->priority,
            .created_ms = d->ha ? wall_ms() : now, /* a group's core time lags the wall */
            .alert_id = x->alert_id,
            .kind = x->resolved ? FW_OUTBOX_KIND_RESOLVED : FW_OUTBOX_KIND_FIRING,
            .rule = x->rule,
            .zone = x->zone,
            .payload = x->body,
            .len = strlen(x->body),
        };
    }
    batch_commit(d, m, o->nmsg);
    free(m);
    fw_dispatch_out_clear(o);
    /* Group windows run on the core's time, the wall clock (core.h); a step of it releases the
     * groups at once (clock_watch), so this never waits for a step. */
    int64_t wall = wall_ms(), first = fw_core_next_deadline(d->core);
    if (first && !d->stopping && !d->ha) /* a group releases them on its clock (ha_step) */
        uv_timer_start(&d->group_timer, on_group_timer, (uint64_t)(first > wall ? first - wall : 0),
                       0);
}

static void record_flush(struct daemon *d, int64_t now, int all);

/*
 * Release the held groups due by `upto` (INT64_MAX: all, as before a reload, at shutdown or after
 * a clock step, while d->cfg is theirs) at `now`, and record that it happened, so that a replay
 * releases the same groups at the same time.
 */
static void groups_release(struct daemon *d, int64_t upto, int64_t now)
{
    fw_core_flush(d->core, upto, now, &d->out);
    if (d->out.nmsg)
        record_flush(d, now, upto == INT64_MAX);
    carry_out(d, d->cfg, now);
    outbox_flush(d);
}

static void groups_flush_all(struct daemon *d)
{
    groups_release(d, INT64_MAX, wall_ms());
}

/*
 * Render the engine's notifications (gateway/dispatch.c) at the core's time `now` (of the call
 * that raised them) and commit them to the outbox in one transaction, then send; publish the state
 * of the zones whose open alerts changed.
 */
static void dispatch(struct daemon *d, int64_t now)
{
    struct fw_actions *a = fw_core_pending(d->core);
    fw_core_dispatch(d->core, now, &d->out);
    console_count_alerts(d, a);
    carry_out(d, d->cfg, now);
    for (size_t z = 0; d->cfg->state.broker && z < d->cfg->nzones; z++)
        for (size_t i = 0; i < a->n; i++)
            if (strcmp(a->items[i].alert.zone, d->cfg->zones[z].id) == 0) {
                publish_zone_state(d, z, 0);
                break;
            }
    fw_actions_clear(a);
    outbox_flush(d);
    console_push(d);
}

/* ------------------------------------------------------------------------------------------ */
/* Uplinks                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* What an issue did to the message, for the log: a warning about the frame counter and a note
 * about skipped values drop nothing. */
static const char *issue_effect(const struct fw_uplink_result *res, enum fw_uplink_error code)
{
    if (code == FW_UPLINK_FCNT_RESET)
        return "warning";
    if (code == FW_UPLINK_UNMAPPED)
        return "value skipped";
    if (res->error)
        return "message rejected";
    return res->node[0] ? "reading dropped" : "entry dropped";
}

static void log_rejection(struct daemon *d, const char *topic)
{
    struct fw_uplink_result *res = &d->res;
    for (int i = 0; i < res->nissues; i++) {
        enum fw_uplink_error code = res->issues[i].code;
        uint64_t suppressed = 0;
        d->rejected[code]++;
        fw_stats_add(d->stats, FW_STAT_UPLINK_ISSUES, fw_uplink_error_str(code), 1);
        if (!fw_ratelimit_allow(&d->reject_rl[code], (int64_t)uv_now(d->loop), &suppressed))
            continue;
        char more[64] = "", who[FW_READING_MAX_ID + 16] = "message";
        if (suppressed)
            snprintf(more, sizeof(more), " (%llu similar suppressed)",
                     (unsigned long long)suppressed);
        /* A forecast of the meteorology feed names no node: its entries are dropped, not its
         * readings. */
        if (res->node[0])
            snprintf(who, sizeof(who), "node \"%s\"", res->node);
        /* A value that maps to no metric is a note: the node is fine, the rest was read. */
        FW_LOG(code == FW_UPLINK_UNMAPPED ? FW_LOG_NOTICE : FW_LOG_WARNING,
               "uplink: %s on %s: %s: %s: %s%s", who, topic, issue_effect(res, code),
               fw_uplink_error_str(code), res->issues[i].detail, more);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Recording                                                                                   */
/* ------------------------------------------------------------------------------------------ */

#define RECORD_TICK_MS 60000 /* a tick line is recorded when no line was for this long */

/* A recording failure (a full disk) must never stop alerts: it is logged, rate-limited, and
 * the next line tries again. */
static void record_failed(struct daemon *d, const char *what, int rc)
{
    uint64_t suppressed = 0;
    if (!fw_ratelimit_allow(&d->rec_rl, (int64_t)uv_now(d->loop), &suppressed))
        return;
    const char *path = fw_record_path(d->rec);
    FW_LOG(FW_LOG_ERR, "record: %s: %s: %s (alerts are not affected; %llu similar suppressed)",
           path ? path : fw_record_dir(d->rec), what, uv_strerror(rc),
           (unsigned long long)suppressed);
}

/* After writing a line at `now`: its failure logged, or the time of the last line kept. */
static void record_done(struct daemon *d, const char *what, int rc, int64_t now)
{
    if (rc < 0)
        record_failed(d, what, rc);
    else
        d->rec_line_ms = now;
}

static void record_reading(struct daemon *d, const struct fw_reading *r, int64_t now)
{
    d->rec_now = now;
    if (d->rec)
        record_done(d, "append reading", fw_record_append(d->rec, r, now), now);
}

/*
 * After a core tick: the first one (a zone model's first tick sets where its days and hours
 * start, so a replay must run it when the daemon did; before any reading, it also starts the
 * engine's clock where the daemon did), one that `force`s it, and one whenever no line was
 * written for a minute (so a replay never has to jump the clock further than that, and knows
 * how far live time went).
 */
static void record_tick(struct daemon *d, int64_t now, int force)
{
    d->rec_now = now;
    if (!d->rec || (!force && d->rec_ticked && now - d->rec_line_ms < RECORD_TICK_MS))
        return;
    d->rec_ticked = 1;
    record_done(d, "append tick", fw_record_tick(d->rec, now), now);
}

/* The core's other inputs, recorded so that a replay hands them over too (docs/replay.md). */
static void record_flush(struct daemon *d, int64_t now, int all)
{
    if (d->rec)
        record_done(d, "append flush", fw_record_flush(d->rec, now, all), now);
}

static void record_ack(struct daemon *d, const struct fw_ack *ack, int64_t now)
{
    if (d->rec)
        record_done(d, "append acknowledgement",
                    fw_record_ack(d->rec, now, ack->id, ack->by, ack->at_ms), now);
}

static void record_forecasts(struct daemon *d, int64_t now)
{
    for (int i = 0; d->rec && i < d->forecasts.n; i++)
        record_done(d, "append forecast", fw_record_forecast(d->rec, now, &d->forecasts.v[i]), now);
}

/* Close the recording with a tick at the last time the engine was given. */
static void record_stop(struct daemon *d)
{
    if (!d->rec)
        return;
    if (d->rec_now)
        record_tick(d, d->rec_now, 1);
    fw_record_free(d->rec);
    d->rec = NULL;
}

/* At start and after a reload: a new recorder when the folder changed, else new limits. */
static void record_apply(struct daemon *d)
{
    const struct fw_cfg_record *rc = &d->cfg->record;
    if (d->rec && rc->dir && strcmp(fw_record_dir(d->rec), rc->dir) == 0) {
        fw_record_set_limits(d->rec, rc->max_file_bytes, rc->max_files);
        return;
    }
    record_stop(d);
    if (!rc->dir)
        return;
    d->rec = fw_record_new(rc->dir, rc->max_file_bytes, rc->max_files);
    d->rec_line_ms = 0;
    d->rec_ticked = 0;
    FW_LOG(FW_LOG_NOTICE, "record: recording readings into %s", rc->dir);
}

/*
 * A duty officer's acknowledgement (fw_ack_parse has its form). It stops the alert's repeats and
 * escalation. Bad ones are logged, rate-limited.
 */
/* ------------------------------------------------------------------------------------------ */
/* The zone models (include/forestwatch/model.h): their states in the store, their log lines  */
/* ------------------------------------------------------------------------------------------ */

static void on_model_note(void *arg, const char *line)
{
    (void)arg;
    FW_LOG(FW_LOG_NOTICE, "%s", line);
}

/* Store a model's state. A failure is logged and the state is saved again after the next step:
 * what is lost is at most the readings since the last save (docs/models.md). */
static int model_save(struct daemon *d, enum fw_model_kind k)
{
    const struct fw_model *m = fw_core_model(d->core, k);
    if (!m)
        return 0;
    char *json = NULL;
    fw_model_save(m, &json);
    int rc = fw_outbox_kv_put(d->ob, fw_model_state_key(k), json);
    if (rc < 0)
        FW_LOG(FW_LOG_WARNING, "models: %s: save state to store key \"%s\": %s: %s",
               fw_model_name(k), fw_model_state_key(k), uv_strerror(rc), fw_outbox_errmsg(d->ob));
    free(json);
    return rc;
}

/* At start: the state saved by the previous run, or a fresh start (never a refusal to run). Then
 * what each zone continues from, so that an operator (and a test) can see the codes. */
static void model_restore(struct daemon *d, enum fw_model_kind k)
{
    struct fw_model *m = fw_core_model(d->core, k);
    if (!m)
        return;
    const char *name = fw_model_name(k), *key = fw_model_state_key(k);
    char *json = NULL;
    int rc = fw_outbox_kv_get(d->ob, key, &json);
    if (rc == -ENOENT) {
        FW_LOG(FW_LOG_NOTICE, "models: %s: no saved state under store key \"%s\": starting fresh",
               name, key);
        return;
    }
    if (rc == 0)
        rc = fw_model_restore(m, json);
    free(json);
    if (rc < 0) {
        FW_LOG(FW_LOG_WARNING,
               "models: %s: restore state from store key \"%s\": %s: starting fresh", name, key,
               uv_strerror(rc));
        return;
    }
    FW_LOG(FW_LOG_NOTICE, "models: %s: state restored from store key \"%s\"", name, key);
    fw_model_describe(m, d->cfg, "restored", on_model_note, NULL);
}

/* Carry out the core's actions of a call at `now`, in their order. */
static void run_actions(struct daemon *d, int64_t now)
{
    static struct fw_ratelimit rl = {.interval_ms = 60000, .burst = 5};
    for (size_t i = 0; i < d->acts.n; i++) {
        const struct fw_core_action *x = &d->acts.v[i];
        uint64_t quiet = 0;
        if (x->kind == FW_CORE_RECORD) {
            record_reading(d, &x->reading, now);
            fw_stats_reading(d->stats, &x->reading, now);
        } else if (x->kind == FW_CORE_NOTE)
            FW_LOG(x->level, "%s", x->text);
        else if (x->kind == FW_CORE_SAVE)
            model_save(d, x->model);
        else if (fw_ratelimit_allow(&rl, (int64_t)uv_now(d->loop), &quiet))
            FW_LOG(x->level, "%s%s", x->text, quiet ? " (more suppressed)" : "");
    }
    d->acts.n = 0;
}

/*
 * Hand the meteorology feed's forecasts to the models through the core: the noon weather to the
 * fire model (its next tick derives tomorrow's expected level), the day's extremes to the pest
 * model.
 */
static void apply_forecasts(struct daemon *d, int64_t now)
{
    record_forecasts(d, now);
    fw_core_forecasts(d->core, d->forecasts.v, (size_t)d->forecasts.n, &d->acts);
    run_actions(d, now);
}

static void settle_input(struct daemon *d, struct fw_ha_input *in, int64_t now);

/* An acknowledgement handed to the core at `now`. */
static void ack_apply(struct daemon *d, const struct fw_ack *ack, int64_t now)
{
    record_ack(d, ack, now);
    int rc = fw_core_ack(d->core, ack->id, ack->by, ack->at_ms);
    if (rc == 0)
        FW_LOG(FW_LOG_NOTICE, "ack: alert %s acknowledged by %s", ack->id, ack->by);
    else
        FW_LOG(FW_LOG_INFO, "ack: alert %s: %s", ack->id,
               rc == -EALREADY ? "already acknowledged" : "no open alert with this id");
}

static void handle_ack(struct daemon *d, const void *payload, size_t len)
{
    static struct fw_ratelimit rl = {.interval_ms = 60000, .burst = 5};
    int64_t now = wall_ms();
    struct fw_ack ack;
    const char *why;
    if (fw_ack_parse(payload, len, now, &ack, &why) < 0) {
        if (fw_ratelimit_allow(&rl, now, NULL))
            FW_LOG(FW_LOG_WARNING, "ack: rejected: %s", why);
        return;
    }
    /* The audit keeps every acknowledgement, also of an alert that ended meanwhile. */
    int arc = fw_outbox_set_acked(d->ob, ack.id, ack.by, ack.at_ms);
    if (arc < 0 && arc != -ENOENT && arc != -EALREADY)
        FW_LOG(FW_LOG_ERR, "ack: alert %s: history: %s", ack.id, fw_outbox_errmsg(d->ob));
    if (d->ha) {
        /* In a group at its own time, as every member hands it over (docs/ha.md). */
        struct fw_ha_input in = {
            .kind = FW_HA_ACK, .time_ms = ack.at_ms < now ? ack.at_ms : now, .ack = ack};
        settle_input(d, &in, now);
        return;
    }
    ack_apply(d, &ack, now);
}

/* A LoRa device not in the config: said once, and offered to the operators for registration. */
static void on_unknown_device(const struct fw_lora_unknown *u, void *arg)
{
    struct daemon *d = arg;
    FW_LOG(FW_LOG_WARNING,
           "lora: device %s (\"%s\"): not in the config: its uplinks are ignored until a node "
           "with this dev_eui is added",
           u->dev_eui[0] ? u->dev_eui : "-", u->device);
    struct link_slot *s = d->cfg->unknown_devices_topic && d->cfg->status_broker
                              ? slot_by_broker(d, d->cfg->status_broker)
                              : NULL;
    if (!s)
        return;
    cJSON *o = cJSON_CreateObject();
    char first[FW_TIME_STRLEN];
    fw_time_format(u->first_ms, first);
    cJSON_AddStringToObject(o, "server", u->kind == FW_LNS_TTS ? "tts" : "chirpstack");
    cJSON_AddStringToObject(o, "dev_eui", u->dev_eui);
    cJSON_AddStringToObject(o, "device", u->device);
    cJSON_AddStringToObject(o, "first_seen", first);
    char *json = cJSON_PrintUnformatted(o);
    fw_mqtt_publish(s->link, d->cfg->unknown_devices_topic, json, strlen(json), 1, 0, NULL);
    free(json);
    cJSON_Delete(o);
}

/* The LoRa registry from the config's nodes that have a device EUI or a server name. */
static int lora_build(struct daemon *d)
{
    const struct fw_config *cfg = d->cfg;
    struct fw_lora_device *devs = fw_xcalloc(cfg->nnodes + 1, sizeof(*devs));
    size_t n = 0;
    for (size_t i = 0; i < cfg->nnodes; i++) {
        const struct fw_cfg_node *nd = &cfg->nodes[i];
        if (!nd->dev_eui && !nd->lns_name)
            continue;
        devs[n++] = (struct fw_lora_device){
            .dev_eui = nd->dev_eui,
            .lns_name = nd->lns_name,
            .node = nd->id,
            .zone = nd->zone,
            .codec = (enum fw_lora_codec)nd->lora_codec,
            .lpp_map = nd->lpp_map,
            .n_lpp_map = nd->nlpp_map,
        };
    }
    struct fw_lora *l = NULL;
    char why[256] = "";
    int rc = fw_lora_new(devs, n, &l, why, sizeof(why));
    free(devs);
    if (rc < 0) {
        FW_LOG(FW_LOG_ERR, "lora: registry: %s", why);
        return rc;
    }
    if (d->lora)
        fw_lora_adopt_state(l, d->lora); /* deduplication survives a reload */
    fw_lora_free(d->lora);
    d->lora = l;
    return 0;
}

/* The config's notes (fw_config_notes), logged at every start and reload. */
static void log_note(void *arg, const char *note)
{
    (void)arg;
    FW_LOG(FW_LOG_WARNING, "config: %s", note);
}

/*
 * Forecast messages name no node, so the node budget cannot hold them: the whole feed's
 * forecasts share one of the same size (limits.node_messages_per_s, node_burst). Each one
 * applied is a store write; a flood of them must not become a flood of those.
 */
static int forecasts_allowed(struct daemon *d, const char *topic, int64_t now)
{
    char who[300];
    snprintf(who, sizeof(who), "meteo: forecasts on %.256s", topic);
    return budget_allows(d, FW_FLOOD_FORECASTS, who, now);
}

/* Readings handed to the core at `now`: the recording, the models, the engine, the routes. */
static void core_feed(struct daemon *d, const struct fw_reading *r, size_t n, int64_t now)
{
    fw_core_feed(d->core, r, n, now, &d->acts);
    run_actions(d, now);
    if (fw_core_pending(d->core)->n)
        dispatch(d, now);
}

/* Readings of any source, on their one way; in a group through the settle buffer. */
static void feed_readings(struct daemon *d, const struct fw_reading *r, size_t n, int64_t now)
{
    if (!d->ha) {
        core_feed(d, r, n, now);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct fw_ha_input in = {.kind = FW_HA_READING, .time_ms = r[i].time_ms, .r = r[i]};
        settle_input(d, &in, now);
    }
}

static void on_link_message(struct fw_mqtt_link *link, const char *topic, const void *payload,
                            size_t len, void *arg)
{
    struct link_slot *s = arg;
    struct daemon *d = s->d;
    (void)link;
    if (d->stopping)
        return;
    if (d->ha && strcmp(s->broker, d->cfg->status_broker) == 0 &&
        fw_ha_member_message(d->ha, topic, payload, len))
        return;
    const struct fw_cfg_uplink *up = fw_sources_find(d->cfg, s->broker, topic);
    if (!up) {
        if (d->cfg->acks.broker && strcmp(d->cfg->acks.broker, s->broker) == 0 &&
            strcmp(d->cfg->acks.topic, topic) == 0)
            handle_ack(d, payload, len);
        return; /* otherwise the status topic, or a subscription of a previous config */
    }
    d->uplinks++;
    fw_stats_add(d->stats, FW_STAT_UPLINKS, NULL, 1);
    int64_t now = wall_ms();
    const struct fw_sources_ctx ctx = {d->cfg, d->lora};
    int rc = fw_sources_decode(up->format, &ctx, topic, payload, len, now, &d->res, &d->forecasts);
    if (d->forecasts.n > 0 && forecasts_allowed(d, topic, now))
        apply_forecasts(d, now);
    if (rc == -EALREADY || rc == -ENOMSG)
        return;        /* a copy heard by another gateway, or not an uplink: counted, not news */
    if (rc == -ENOENT) /* LoRa devices not in the registry; a native node's is only an issue */
        fw_lora_take_unknown(d->lora, on_unknown_device, d);
    if (d->res.nissues)
        log_rejection(d, topic);
    if (d->res.n > 0 && !flood_allows(d, now))
        return;
    feed_readings(d, d->res.readings, (size_t)d->res.n, now);
}

static void on_link_state(struct fw_mqtt_link *link, int connected, void *arg)
{
    struct link_slot *s = arg;
    (void)link;
    console_link_state(s->d, s->broker, connected);
    if (connected) {
        outbox_flush(s->d);
        if (s->d->cfg->state.broker && strcmp(s->d->cfg->state.broker, s->broker) == 0)
            publish_all_state(s->d, 1); /* the broker may have lost what it retained */
    } else {
        outbox_requeue_link(s->d, s);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Modbus devices                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* A poll's readings: the same path into the engine as an uplink's. */
static void on_modbus_readings(struct fw_modbus *m, const struct fw_reading *r, size_t n, void *arg)
{
    struct daemon *d = arg;
    (void)m;
    if (d->stopping)
        return;
    feed_readings(d, r, n, wall_ms());
}

/* The pollers borrow the profiles of the config they were built on: free it only now. */
static void on_modbus_closed(struct fw_modbus *m, void *arg)
{
    (void)m;
    fw_config_free(arg);
}

/*
 * Start pollers for the config's devices. Returns 0, or a negative code (logged) when the
 * pollers cannot start: the rest of the gateway runs on.
 */
static int modbus_start(struct daemon *d)
{
    const struct fw_config *cfg = d->cfg;
    if (!cfg->ndevices)
        return 0;
    struct fw_modbus_bus_cfg *buses = fw_xcalloc(cfg->nbuses + 1, sizeof(*buses));
    struct fw_modbus_device_cfg *devs = fw_xcalloc(cfg->ndevices + 1, sizeof(*devs));
    static const char parity[] = {'N', 'E', 'O'};
    for (size_t i = 0; i < cfg->nbuses; i++) {
        const struct fw_cfg_bus *b = &cfg->buses[i];
        buses[i] = (struct fw_modbus_bus_cfg){
            .name = b->name,
            .kind = b->kind == FW_BUS_TCP ? FW_MODBUS_TCP : FW_MODBUS_RTU,
            .host = b->host,
            .port = b->port,
            .device = b->device,
            .baud = b->baud,
            .parity = parity[b->parity],
            .data_bits = b->data_bits,
            .stop_bits = b->stop_bits,
            .rs485 = b->rs485,
            .pause_ms = b->pause_ms,
        };
    }
    for (size_t i = 0; i < cfg->ndevices; i++) {
        const struct fw_cfg_device *v = &cfg->devices[i];
        devs[i] = (struct fw_modbus_device_cfg){
            .name = v->id,
            .zone = v->zone,
            .bus = v->bus,
            .unit_id = v->unit_id,
            .profile = v->profile_ref,
            .interval_ms = v->interval_ms,
            .timeout_ms = v->timeout_ms,
            .retries = v->retries,
        };
    }
    int rc = fw_modbus_new(d->loop, buses, cfg->nbuses, devs, cfg->ndevices, on_modbus_readings, d,
                           &d->modbus);
    if (rc < 0)
        FW_LOG(FW_LOG_ERR, "modbus: cannot start the pollers: %s", uv_strerror(rc));
    else
        FW_LOG(FW_LOG_NOTICE, "modbus: polling %zu devices on %zu buses", cfg->ndevices,
               cfg->nbuses);
    free(buses);
    free(devs);
    return rc;
}

/*
 * Stop the pollers; `cfg` (their config, or NULL) is freed once they are closed. Returns 1 when
 * it took `cfg` over.
 */
static int modbus_stop(struct daemon *d, struct fw_config *cfg)
{
    if (!d->modbus)
        return 0;
    fw_modbus_close(d->modbus, on_modbus_closed, cfg);
    d->modbus = NULL;
    return cfg != NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Links                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static int link_open(struct daemon *d, const struct fw_config *cfg, const struct fw_cfg_broker *b,
                     struct link_slot **out)
{
    struct link_slot *s = fw_xcalloc(1, sizeof(*s));
    s->d = d;
    s->broker = fw_xstrdup(b->name);
    struct fw_mqtt_node nodes[FW_CFG_MAX_BROKER_NODES];
    for (size_t i = 0; i < b->nnodes && i < FW_CFG_MAX_BROKER_NODES; i++)
        nodes[i] = (struct fw_mqtt_node){b->nodes[i].host, b->nodes[i].port};
    struct fw_mqtt_link_opts o = {
        .name = b->name,
        .host = b->host,
        .port = b->port,
        .nodes = nodes,
        .nnodes = b->nnodes,
        .client_id = b->client_id,
        .username = b->username,
        .password = b->password,
        .tls_ca_file = b->tls.ca_file,
        .tls_cert_file = b->tls.cert_file,
        .tls_key_file = b->tls.key_file,
        .tls_server_name = b->tls.server_name,
        .keepalive_s = b->keepalive_s,
        .reconnect_min_ms = b->reconnect_min_ms,
        .reconnect_max_ms = b->reconnect_max_ms,
        .clean_session = b->clean_session,
        .status_topic = strcmp(cfg->status_broker, b->name) == 0 ? cfg->status_topic : NULL,
        .on_message = on_link_message,
        .on_published = on_link_published,
        .on_state = on_link_state,
        .arg = s,
    };
    int rc = fw_mqtt_link_new(d->loop, &o, &s->link);
    if (rc < 0)
        goto fail;
    for (size_t i = 0; i < cfg->nuplinks; i++)
        if (strcmp(cfg->uplinks[i].broker, b->name) == 0) {
            rc = fw_mqtt_subscribe(s->link, cfg->uplinks[i].topic, cfg->uplinks[i].qos);
            if (rc < 0) {
                FW_LOG(FW_LOG_ERR, "daemon: broker \"%s\": subscribe %s: %s", b->name,
                       cfg->uplinks[i].topic, uv_strerror(rc));
                fw_mqtt_link_close(s->link, NULL, NULL);
                s->link = NULL;
                goto fail;
            }
        }
    if (cfg->ha.group && strcmp(cfg->status_broker, b->name) == 0) {
        char *filter = fw_xasprintf("%s/#", cfg->ha.topic_prefix);
        rc = fw_mqtt_subscribe(s->link, filter, 1);
        free(filter);
        if (rc < 0) {
            FW_LOG(FW_LOG_ERR, "daemon: broker \"%s\": subscribe %s/#: %s", b->name,
                   cfg->ha.topic_prefix, uv_strerror(rc));
            fw_mqtt_link_close(s->link, NULL, NULL);
            s->link = NULL;
            goto fail;
        }
    }
    if (cfg->acks.broker && strcmp(cfg->acks.broker, b->name) == 0 &&
        (rc = fw_mqtt_subscribe(s->link, cfg->acks.topic, 1)) < 0) {
        FW_LOG(FW_LOG_ERR, "daemon: broker \"%s\": subscribe %s: %s", b->name, cfg->acks.topic,
               uv_strerror(rc));
        fw_mqtt_link_close(s->link, NULL, NULL);
        s->link = NULL;
        goto fail;
    }
    *out = s;
    return 0;
fail:
    free(s->broker);
    free(s);
    return rc;
}

static void on_link_closed(struct fw_mqtt_link *link, void *arg)
{
    struct link_slot *s = arg;
    (void)link;
    free(s->broker);
    free(s);
}

static void link_close(struct daemon *d, struct link_slot *s)
{
    outbox_requeue_link(d, s);
    fw_mqtt_link_close(s->link, on_link_closed, s);
}

/*
 * Whether a link can be kept across a reload: same connection, same status role, same
 * subscriptions. Otherwise it is closed and opened anew.
 */
static int link_unchanged(const struct fw_config *a, const struct fw_config *b, const char *name)
{
    const struct fw_cfg_broker *x = fw_config_broker(a, name), *y = fw_config_broker(b, name);
    if (!x || !y || !fw_cfg_broker_equal(x, y))
        return 0;
    int sa = strcmp(a->status_broker, name) == 0, sb = strcmp(b->status_broker, name) == 0;
    if (sa != sb || (sa && strcmp(a->status_topic, b->status_topic) != 0))
        return 0;
    int ka = a->acks.broker && strcmp(a->acks.broker, name) == 0;
    int kb = b->acks.broker && strcmp(b->acks.broker, name) == 0;
    if (ka != kb || (ka && strcmp(a->acks.topic, b->acks.topic) != 0))
        return 0;
    size_t ia = 0, ib = 0;
    for (;;) {
        while (ia < a->nuplinks && strcmp(a->uplinks[ia].broker, name) != 0)
            ia++;
        while (ib < b->nuplinks && strcmp(b->uplinks[ib].broker, name) != 0)
            ib++;
        if (ia == a->nuplinks || ib == b->nuplinks)
            return ia == a->nuplinks && ib == b->nuplinks;
        if (strcmp(a->uplinks[ia].topic, b->uplinks[ib].topic) != 0 ||
            a->uplinks[ia].qos != b->uplinks[ib].qos)
            return 0;
        ia++;
        ib++;
    }
}

/* Bring the set of links in line with `cfg`, keeping the unchanged ones. */
static int links_apply(struct daemon *d, const struct fw_config *old, const struct fw_config *cfg)
{
    struct link_slot **pp = &d->links;
    while (*pp) {
        struct link_slot *s = *pp;
        if (old && link_unchanged(old, cfg, s->broker)) {
            pp = &s->next;
            continue;
        }
        *pp = s->next;
        link_close(d, s);
    }
    for (size_t i = 0; i < cfg->nbrokers; i++) {
        if (slot_by_broker(d, cfg->brokers[i].name))
            continue;
        struct link_slot *s;
        int rc = link_open(d, cfg, &cfg->brokers[i], &s);
        if (rc < 0) {
            FW_LOG(FW_LOG_ERR, "daemon: broker \"%s\": cannot create link: %s",
                   cfg->brokers[i].name, uv_strerror(rc));
            return rc;
        }
        s->next = d->links;
        d->links = s;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Reload, stats, shutdown                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Messages for brokers a reload removed can never be delivered: give them up, loudly. */
static void outbox_keep_configured(struct daemon *d)
{
    const char **names = fw_xcalloc(d->cfg->nbrokers + 1, sizeof(*names));
    size_t dropped = 0;
    for (size_t i = 0; i < d->cfg->nbrokers; i++)
        names[i] = d->cfg->brokers[i].name;
    int rc = fw_outbox_keep_brokers(d->ob, names, d->cfg->nbrokers, wall_ms(),
                                    "broker no longer configured", &dropped);
    if (rc < 0)
        FW_LOG(FW_LOG_ERR, "outbox: %s (%s)", uv_strerror(rc), fw_outbox_errmsg(d->ob));
    else if (dropped)
        FW_LOG(FW_LOG_ERR, "outbox: %zu alert messages for brokers no longer configured: given up",
               dropped);
    d->out_dropped += dropped;
    free(names);
}

/* ------------------------------------------------------------------------------------------ */
/* Watching the config files                                                                   */
/* ------------------------------------------------------------------------------------------ */

#define WATCH_SETTLE_MS 500 /* an editor's save is several events: reload once they stop */

static void reload(struct daemon *d);

static void on_watch_closed(uv_handle_t *h)
{
    free(FW_CONTAINER_OF((uv_fs_event_t *)h, struct watch, ev));
}

static void on_watch_settled(uv_timer_t *t)
{
    struct daemon *d = FW_CONTAINER_OF(t, struct daemon, watch_timer);
    if (!d->stopping)
        reload(d);
}

static void on_watch_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct watch *w = FW_CONTAINER_OF(h, struct watch, ev);
    size_t n = filename ? strlen(filename) : 0;
    (void)events;
    if (status < 0) {
        FW_LOG(FW_LOG_WARNING, "daemon: watch: %s", uv_strerror(status));
        return;
    }
    /* Only config and rule files matter: not recordings (.jsonl), databases or editor swaps. */
    if (filename && (n < 5 || strcmp(filename + n - 5, ".json") != 0))
        return;
    FW_LOG(FW_LOG_INFO, "daemon: watch: %s changed", filename ? filename : "a config file");
    uv_timer_start(&w->d->watch_timer, on_watch_settled, WATCH_SETTLE_MS, 0);
}

static void watches_close(struct daemon *d)
{
    while (d->watches) {
        struct watch *w = d->watches;
        d->watches = w->next;
        uv_fs_event_stop(&w->ev);
        uv_close((uv_handle_t *)&w->ev, on_watch_closed);
    }
}

static void watch_dir(struct daemon *d, const char *dir)
{
    struct watch *w = fw_xcalloc(1, sizeof(*w));
    w->d = d;
    uv_fs_event_init(d->loop, &w->ev);
    int rc = uv_fs_event_start(&w->ev, on_watch_event, dir, 0);
    if (rc < 0) {
        FW_LOG(FW_LOG_WARNING, "daemon: watch: folder \"%s\": %s: changes need SIGHUP", dir,
               uv_strerror(rc));
        uv_close((uv_handle_t *)&w->ev, on_watch_closed);
        return;
    }
    w->next = d->watches;
    d->watches = w;
}

/* Watch the main file's folder and the rules folder, as the config asks. */
static void watches_apply(struct daemon *d)
{
    watches_close(d);
    if (!d->cfg->watch_config)
        return;
    const char *slash = strrchr(d->config_path, '/');
    char *dir = slash ? fw_xasprintf("%.*s", (int)(slash - d->config_path), d->config_path)
                      : fw_xstrdup(".");
    watch_dir(d, dir[0] ? dir : "/");
    if (d->cfg->rules_dir && access(d->cfg->rules_dir, F_OK) == 0)
        watch_dir(d, d->cfg->rules_dir);
    free(dir);
}

static void reload(struct daemon *d)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    FW_LOG(FW_LOG_NOTICE, "daemon: reload: reading %s", d->config_path);
    fw_notify("RELOADING=1");
    if (fw_config_load(d->config_path, &cfg, &errs) < 0) {
        for (size_t i = 0; i < errs.n; i++)
            FW_LOG(FW_LOG_ERR, "config: reload rejected: %s", errs.msgs[i]);
        if (errs.dropped)
            FW_LOG(FW_LOG_ERR, "config: reload rejected: ... and %zu more errors", errs.dropped);
        FW_LOG(FW_LOG_ERR, "daemon: reload: the running configuration stays in force");
        snprintf(d->last_reload, sizeof(d->last_reload), "rejected: %s",
                 errs.n ? errs.msgs[0] : "unreadable");
        fw_cfg_errors_clear(&errs);
        fw_notify("READY=1\nSTATUS=reload rejected: the previous configuration stays in force");
        return;
    }
    if (d->ha && !fw_config_ha_equal(&d->cfg->ha, &cfg->ha)) {
        FW_LOG(FW_LOG_ERR, "config: reload rejected: the ha section changed: restart the member "
                           "to apply it (docs/ha.md)");
        snprintf(d->last_reload, sizeof(d->last_reload), "rejected: the ha section changed");
        fw_config_free(cfg);
        fw_notify("READY=1\nSTATUS=reload rejected: the previous configuration stays in force");
        return;
    }
    /* Held groups point into the old config's rules: send them before it goes. */
    groups_flush_all(d);
    struct fw_config *old = d->cfg;
    d->cfg = cfg;
    /* From here on names find the new declarations (lora_build below already needs them); the
     * old ones stay valid for whatever still holds them (reading.h). */
    fw_metric_use(cfg->metrics);
    /* A new engine adopts the old one's alerts, new models the old ones' states. */
    int64_t now = wall_ms();
    fw_core_reload(d->core, cfg, now, &d->acts);
    run_actions(d, now);
    lora_build(d); /* on failure (logged) the previous registry stays */
    record_apply(d);
    if (!d->log_override)
        fw_log_set_level(cfg->log_level);
    /* Messages for brokers that no longer exist can never be delivered. */
    outbox_keep_configured(d);
    fw_outbox_set_rate(d->ob, cfg->store.rate_per_route);
    fw_outbox_set_max_queued(d->ob, (size_t)cfg->store.max_queued_per_route);
    links_apply(d, old, cfg);
    d->loaded_ms = now;
    snprintf(d->last_reload, sizeof(d->last_reload), "ok");
    console_apply(d, old);
    marks_reset(d);
    fw_flood_reset(d->flood, cfg);
    /* Resolutions of removed rules point into the old config: render them before freeing it. */
    dispatch(d, now);
    publish_all_state(d, 0);
    /* Pollers restart on the new devices; the old ones keep the old config until closed. */
    int kept = modbus_stop(d, old);
    modbus_start(d);
    if (!kept)
        fw_config_free(old);
    watches_apply(d);
    FW_LOG(FW_LOG_NOTICE, "daemon: reload: done: %zu rules, %zu nodes, %zu zones", cfg->nrules,
           cfg->nnodes, cfg->nzones);
    fw_config_notes(cfg, log_note, NULL);
    fw_notify("READY=1\nSTATUS=running (configuration reloaded)");
}

/* The LoRa side's counters, with the network servers' messages by event type: only uplinks
 * and status events give readings, and the others must show that they arrived. */
static void log_lora_stats(struct daemon *d)
{
    struct fw_lora_stats st;
    char events[512] = "";
    size_t used = 0;
    if (!d->lora)
        return;
    fw_lora_stats(d->lora, &st);
    if (!st.messages)
        return;
    for (int e = 0; e < FW_LNS_EV__COUNT && used < sizeof(events); e++)
        if (st.events[e]) {
            int n =
                snprintf(events + used, sizeof(events) - used, "%s%s %llu", used ? ", " : "",
                         fw_lns_event_str((enum fw_lns_event)e), (unsigned long long)st.events[e]);
            used += n > 0 ? (size_t)n : 0;
        }
    FW_LOG(FW_LOG_INFO,
           "lora: stats: messages %llu, accepted %llu, duplicates %llu, unknown device %llu, "
           "rejected %llu, values skipped %llu; by event: %s",
           (unsigned long long)st.messages, (unsigned long long)st.uplinks,
           (unsigned long long)st.duplicates, (unsigned long long)st.unknown,
           (unsigned long long)st.rejected, (unsigned long long)st.skipped,
           events[0] ? events : "none");
}

static void log_stats(struct daemon *d)
{
    struct fw_engine_stats st;
    fw_engine_stats(fw_core_engine(d->core), &st);
    uint64_t rejected = 0;
    for (int i = 0; i < FW_UPLINK__COUNT; i++)
        rejected += d->rejected[i];
    size_t pending = 0;
    fw_outbox_pending(d->ob, &pending);
    FW_LOG(FW_LOG_INFO,
           "daemon: stats: uplinks %llu, issues %llu, flood-dropped %llu, readings %llu, fired "
           "%llu, resolved %llu, firing %zu, outbox %zu (in flight %zu), published %llu, acked "
           "%llu, given up %llu, not saved %llu (queue full %llu), series %zu (refused %llu)",
           (unsigned long long)d->uplinks, (unsigned long long)rejected,
           (unsigned long long)fw_flood_dropped(d->flood), (unsigned long long)st.readings,
           (unsigned long long)st.fired, (unsigned long long)st.resolved, st.firing, pending,
           fw_outbox_inflight(d->ob, NULL), (unsigned long long)d->out_published,
           (unsigned long long)d->out_acked, (unsigned long long)d->out_dropped,
           (unsigned long long)d->out_unsaved, (unsigned long long)d->out_full, st.series,
           (unsigned long long)st.series_refused);
    log_lora_stats(d);
}

static void on_group_timer(uv_timer_t *t)
{
    struct daemon *d = FW_CONTAINER_OF(t, struct daemon, group_timer);
    uv_update_time(d->loop);
    int64_t now = wall_ms();
    groups_release(d, now, now);
}

/*
 * Say when the wall clock steps (an NTP correction, a reset clock): the difference between the
 * wall clock and the loop's monotonic one changes. Readings stamped on the old clock are then
 * refused as too far ahead or too old, and what waits on wall time (an escalation, a model's
 * step) comes later or sooner by the step; the operator must know why.
 */
#define CLOCK_STEP_MS 2000

static void clock_watch(struct daemon *d, int64_t wall)
{
    uv_update_time(d->loop);
    int64_t offset = wall - (int64_t)uv_now(d->loop);
    int64_t step = d->clock_offset == INT64_MIN ? 0 : offset - d->clock_offset;
    if (llabs(step) >= CLOCK_STEP_MS) {
        FW_LOG(FW_LOG_WARNING,
               "clock: the wall clock stepped %s by %lld s: readings stamped on the old clock "
               "are refused when that puts them past limits.max_future_ms or limits.max_age_ms, "
               "timed escalations and model steps move by the step, and alerts held for a "
               "group message go out now",
               step < 0 ? "back" : "forward", (long long)(llabs(step) / 1000));
        /* Group windows run on the wall clock: a step back would hold them for the step. */
        groups_flush_all(d);
    }
    d->clock_offset = offset;
}

/* The core's clock goes on to `now`. */
static void core_tick(struct daemon *d, int64_t now)
{
    fw_core_tick(d->core, now, &d->acts);
    /* A tick that derived readings or raised alerts is recorded, so that a replay runs the
     * models' steps and sends the alerts at this very time. */
    int recorded = fw_core_pending(d->core)->n > 0;
    for (size_t i = 0; i < d->acts.n; i++)
        recorded |= d->acts.v[i].kind == FW_CORE_RECORD;
    run_actions(d, now);
    record_tick(d, now, recorded);
    if (fw_core_pending(d->core)->n)
        dispatch(d, now);
}

/* ------------------------------------------------------------------------------------------ */
/* The group clock (docs/ha.md)                                                                */
/* ------------------------------------------------------------------------------------------ */

/*
 * Hold an input until the group clock passes its time. One that comes after the clock passed
 * it (later than ha.settle_ms) goes in the next second, just after the clock: what every member
 * does that got it as late.
 */
static void settle_input(struct daemon *d, struct fw_ha_input *in, int64_t now)
{
    (void)now; /* a time ahead waits for the group clock: docs/ha.md, limits.max_future_ms */
    if (d->group_clock && in->time_ms <= d->group_clock)
        in->time_ms = d->group_clock + 1;
    fw_ha_settle_push(d->settle, in);
}

/* One second of the group clock: the inputs up to `t`, in the group's order, each at its own
 * time; then the tick and the groups due at `t`. */
static void ha_step(struct daemon *d, int64_t t)
{
    const struct fw_ha_input *v;
    size_t n;
    fw_ha_settle_due(d->settle, t, &v, &n);
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind == FW_HA_READING)
            core_feed(d, &v[i].r, 1, v[i].time_ms);
        else
            ack_apply(d, &v[i].ack, v[i].time_ms);
    }
    core_tick(d, t);
    groups_release(d, t, t);
    d->group_clock = t;
    if (!fw_ha_member_active(d->ha))
        outbox_flush(d); /* what the active member left undelivered too long (rescue_after_ms) */
}

/* The group clock follows the wall clock ha.settle_ms behind, in whole seconds. */
#define HA_MAX_STEPS 3600 /* seconds caught up one by one; a longer gap is jumped */

static void ha_clock(struct daemon *d, int64_t wall)
{
    int64_t target = fw_floor_div(wall - d->cfg->ha.settle_ms, 1000) * 1000;
    if (!d->group_clock) {
        /*
         * The clock starts once the group is known. Joining an active member, this member
         * starts where it is and drops what is older (a persistent session's backlog from its
         * downtime: the active member has handled it). Active itself, it hands its core the
         * backlog first, each input at its own time.
         */
        if (!fw_ha_member_decided(d->ha))
            return;
        if (!fw_ha_member_active(d->ha)) {
            /* The backlog: what was measured before this member could hear it live (its start,
             * less what any input may wait). */
            size_t n = fw_ha_settle_drop(d->settle, d->ha_started_ms - d->cfg->ha.settle_ms);
            if (n)
                FW_LOG(FW_LOG_NOTICE,
                       "ha: joining the group: %zu readings and acknowledgements measured before "
                       "this member started dropped (the active member has handled them)",
                       n);
        }
    } else if (target < d->group_clock - 2000) {
        /* The wall clock stepped back: the group clock goes on from the new time. */
        d->group_clock = target - 1000;
    }
    if (!d->group_clock || target - d->group_clock > HA_MAX_STEPS * 1000 ||
        target < d->group_clock - HA_MAX_STEPS * 1000)
        d->group_clock = target - 1000;
    while (d->group_clock < target)
        ha_step(d, d->group_clock + 1000);
}

/*
 * At a clean stop: what waits in the settle buffer goes to the core, second by second up to the
 * wall clock (the clock is started if it was not yet); what is left (later than the wall clock)
 * at the last second.
 */
static void ha_drain(struct daemon *d)
{
    if (!d->ha)
        return;
    int64_t wall = wall_ms(), last = fw_floor_div(wall, 1000) * 1000;
    if (!d->group_clock)
        d->group_clock = fw_floor_div(wall - d->cfg->ha.settle_ms, 1000) * 1000 - 1000;
    while (d->group_clock < last)
        ha_step(d, d->group_clock + 1000);
    const struct fw_ha_input *v;
    size_t n;
    fw_ha_settle_due(d->settle, INT64_MAX, &v, &n);
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind == FW_HA_READING)
            core_feed(d, &v[i].r, 1, d->group_clock);
        else
            ack_apply(d, &v[i].ack, d->group_clock);
    }
}

/* The member's messages on the group's topics go through the status broker's link. */
static int ha_publish(void *arg, const char *topic, const void *payload, size_t len, int qos)
{
    struct daemon *d = arg;
    struct link_slot *s = slot_by_broker(d, d->cfg->status_broker);
    return s ? fw_mqtt_publish(s->link, topic, payload, len, qos, 0, NULL) : -ENOTCONN;
}

/* Only the active member sends: one that becomes active sends what it holds. */
static void ha_role(void *arg, int is_active, const char *active)
{
    struct daemon *d = arg;
    FW_LOG(FW_LOG_NOTICE, "ha: member \"%s\" is %s (the active member: %s)", d->cfg->ha.member,
           is_active ? "ACTIVE: it sends the group's messages" : "standby",
           active ? active : "none yet");
    if (is_active)
        outbox_flush(d);
}

/* The engine runs its evaluation instants itself; the timer only gives it the time often. */
static void on_tick_timer(uv_timer_t *t)
{
    struct daemon *d = FW_CONTAINER_OF(t, struct daemon, tick_timer);
    if (d->stopping)
        return;
    int64_t now = wall_ms();
    clock_watch(d, now);
    if (d->ha)
        ha_clock(d, now);
    else
        core_tick(d, now);
    /* A level can change, or go stale, without any alert: look about once a minute. */
    if (++d->ticks % (d->ha ? 60 * (1000 / HA_TICK_MS) : 60) == 0)
        publish_all_state(d, 0);
    console_push(d); /* a level or a node's last reading may have changed */
}

static void on_stats_timer(uv_timer_t *t)
{
    struct daemon *d = FW_CONTAINER_OF(t, struct daemon, stats_timer);
    size_t removed = 0;
    log_stats(d);
    /* The alert history is kept for the configured days, then pruned. */
    if (fw_outbox_prune(d->ob, wall_ms(), d->cfg->store.history_days, &removed) < 0)
        FW_LOG(FW_LOG_ERR, "outbox: prune: %s", fw_outbox_errmsg(d->ob));
    else if (removed)
        FW_LOG(FW_LOG_INFO, "outbox: %zu history rows past %d days pruned", removed,
               d->cfg->store.history_days);
}

static void close_all(struct daemon *d)
{
    size_t pending = 0;
    log_stats(d);
    if (fw_outbox_pending(d->ob, &pending) == 0 && pending)
        FW_LOG(FW_LOG_NOTICE,
               "outbox: %zu alert messages wait for their broker: they are kept "
               "and go out after the next start",
               pending);
    record_stop(d);
    fw_ha_member_close(d->ha); /* says "gone" while the links are up; sends no more */
    uv_timer_stop(&d->stats_timer);
    uv_timer_stop(&d->drain_timer);
    uv_timer_stop(&d->pace_timer);
    uv_close((uv_handle_t *)&d->pace_timer, NULL);
    uv_timer_stop(&d->group_timer);
    uv_close((uv_handle_t *)&d->group_timer, NULL);
    uv_timer_stop(&d->tick_timer);
    uv_close((uv_handle_t *)&d->tick_timer, NULL);
    uv_timer_stop(&d->watch_timer);
    uv_close((uv_handle_t *)&d->watch_timer, NULL);
    uv_timer_stop(&d->wd_timer);
    uv_close((uv_handle_t *)&d->wd_timer, NULL);
    watches_close(d);
    fw_http_close(d->http);
    d->http = NULL;
    uv_close((uv_handle_t *)&d->stats_timer, NULL);
    uv_close((uv_handle_t *)&d->drain_timer, NULL);
    uv_close((uv_handle_t *)&d->sig_term, NULL);
    uv_close((uv_handle_t *)&d->sig_int, NULL);
    uv_close((uv_handle_t *)&d->sig_hup, NULL);
    modbus_stop(d, NULL);
    while (d->links) {
        struct link_slot *s = d->links;
        d->links = s->next;
        link_close(d, s);
    }
}

static void on_drain_timer(uv_timer_t *t)
{
    struct daemon *d = FW_CONTAINER_OF(t, struct daemon, drain_timer);
    if (fw_outbox_inflight(d->ob, NULL) == 0 || (int64_t)uv_now(d->loop) >= d->drain_deadline)
        close_all(d);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    if (signum == SIGHUP) {
        if (!d->stopping)
            reload(d);
        return;
    }
    if (d->stopping)
        return;
    ha_drain(d);         /* in a group: the inputs still settling */
    groups_flush_all(d); /* held alerts are committed, and sent if there is time */
    d->stopping = 1;
    FW_LOG(FW_LOG_NOTICE, "daemon: %s: shutting down", strsignal(signum));
    fw_notify("STOPPING=1");
    /* Give alerts already published a moment to be acknowledged before closing the links. */
    d->drain_deadline = (int64_t)uv_now(d->loop) + DRAIN_MS;
    uv_timer_start(&d->drain_timer, on_drain_timer, 0, 50);
}

/* ------------------------------------------------------------------------------------------ */
/* main                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* The watchdog is fed from the loop itself: if the loop stalls, the feeding stops. */
static void on_wd_timer(uv_timer_t *t)
{
    (void)t;
    fw_notify("WATCHDOG=1");
}

/* Tell the service manager (systemd Type=notify) that the daemon is up, and feed its watchdog. */
static void service_ready(struct daemon *d)
{
    char status[160];
    snprintf(status, sizeof(status), "READY=1\nSTATUS=running: gateway %s, %zu rules, %zu nodes",
             d->cfg->gateway_id, d->cfg->nrules, d->cfg->nnodes);
    int rc = fw_notify(status);
    if (rc < 0)
        FW_LOG(FW_LOG_WARNING, "daemon: NOTIFY_SOCKET: cannot tell the service manager: %s",
               uv_strerror(rc));
    int64_t every = fw_notify_watchdog_ms();
    if (every > 0) {
        uv_timer_start(&d->wd_timer, on_wd_timer, 0, (uint64_t)every);
        FW_LOG(FW_LOG_INFO, "daemon: watchdog: fed every %lld ms", (long long)every);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: forestwatchd -c FILE [-t] [-v LEVEL] [-s]\n"
               "  -c FILE   configuration file (rules.d/ beside it is read too)\n"
               "  -t        check the configuration, print \"configuration OK\" or the errors, "
               "exit 0 or 1\n"
               "  -v LEVEL  log level: error, warning, notice, info, debug (overrides the "
               "config)\n"
               "  -s        log to syslog instead of stderr\n");
}

int main(int argc, char **argv)
{
    struct daemon d = {0};
    const char *level = NULL;
    int test = 0, opt;
    while ((opt = getopt(argc, argv, "c:tv:sh")) != -1) {
        switch (opt) {
        case 'c':
            d.config_path = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 'v':
            level = optarg;
            break;
        case 's':
            fw_log_use_syslog(1);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!d.config_path || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (test)
        return fw_config_check(d.config_path, stdout, stderr);
    if (level) {
        int l = fw_log_level_parse(level);
        if (l < 0) {
            fprintf(stderr, "forestwatchd: -v: unknown log level \"%s\"\n", level);
            return 2;
        }
        fw_log_set_level(l);
        d.log_override = 1;
    }

    struct fw_cfg_errors errs = {0};
    if (fw_config_load(d.config_path, &d.cfg, &errs) < 0) {
        fw_cfg_errors_print(&errs, stderr);
        fw_cfg_errors_clear(&errs);
        return 1;
    }
    if (!d.log_override)
        fw_log_set_level(d.cfg->log_level);
    signal(SIGPIPE, SIG_IGN);
    fw_mqtt_lib_init();

    d.loop = uv_default_loop();
    d.stats = fw_stats_new();
    d.loaded_ms = wall_ms();
    for (int i = 0; i < FW_UPLINK__COUNT; i++)
        d.reject_rl[i] = (struct fw_ratelimit){.interval_ms = 60000, .burst = 5};
    char *oberr = NULL;
    int obrc = fw_outbox_open(d.cfg->store.path, &d.ob, &oberr);
    if (obrc < 0) {
        fprintf(stderr, "forestwatchd: outbox %s: %s\n", d.cfg->store.path,
                oberr ? oberr : uv_strerror(obrc));
        free(oberr);
        fw_stats_free(d.stats);
        fw_config_free(d.cfg);
        fw_mqtt_lib_cleanup();
        return 1;
    }
    fw_outbox_set_rate(d.ob, d.cfg->store.rate_per_route);
    fw_outbox_set_max_queued(d.ob, (size_t)d.cfg->store.max_queued_per_route);
    outbox_keep_configured(&d);
    size_t left = 0;
    if (fw_outbox_pending(d.ob, &left) == 0 && left)
        FW_LOG(FW_LOG_NOTICE,
               "outbox: %zu alert messages from before the restart wait for "
               "their brokers",
               left);
    d.out_rl = (struct fw_ratelimit){.interval_ms = 60000, .burst = 5};
    /* Uplinks, LoRa codecs and the meteorology feed find the config's declared metrics by name. */
    fw_metric_use(d.cfg->metrics);
    d.core = fw_core_new(d.cfg, &d.acts);
    run_actions(&d, wall_ms());
    for (int k = 0; k < FW_MODEL__COUNT; k++)
        model_restore(&d, k);
    if (lora_build(&d) < 0) {
        fw_stats_free(d.stats);
        fw_core_free(d.core);
        fw_core_actions_free(&d.acts);
        fw_outbox_close(d.ob);
        fw_metric_use(NULL);
        fw_config_free(d.cfg);
        fw_mqtt_lib_cleanup();
        return 1;
    }
    d.rec_rl = (struct fw_ratelimit){.interval_ms = 60000, .burst = 1};
    record_apply(&d);
    uv_timer_init(d.loop, &d.stats_timer);
    uv_timer_init(d.loop, &d.drain_timer);
    uv_timer_init(d.loop, &d.pace_timer);
    d.clock_offset = INT64_MIN;
    clock_watch(&d, wall_ms()); /* from the start: a step before the first tick counts too */
    uv_timer_init(d.loop, &d.group_timer);
    uv_timer_init(d.loop, &d.tick_timer);
    uv_timer_init(d.loop, &d.watch_timer);
    uv_timer_init(d.loop, &d.wd_timer);
    uv_signal_init(d.loop, &d.sig_term);
    uv_signal_init(d.loop, &d.sig_int);
    uv_signal_init(d.loop, &d.sig_hup);
    d.sig_term.data = d.sig_int.data = d.sig_hup.data = &d;
    uv_signal_start(&d.sig_term, on_signal, SIGTERM);
    uv_signal_start(&d.sig_int, on_signal, SIGINT);
    uv_signal_start(&d.sig_hup, on_signal, SIGHUP);
    uv_timer_start(&d.stats_timer, on_stats_timer, STATS_INTERVAL_MS, STATS_INTERVAL_MS);
    if (d.cfg->ha.group) {
        static const struct fw_ha_member_ops ops = {ha_publish, ha_role};
        d.settle = fw_ha_settle_new();
        d.ha_started_ms = wall_ms();
        d.ha = fw_ha_member_new(d.loop, &d.cfg->ha, d.ob, &ops, &d);
    }
    uv_timer_start(&d.tick_timer, on_tick_timer, d.ha ? HA_TICK_MS : TICK_MS,
                   d.ha ? HA_TICK_MS : TICK_MS);

    watches_apply(&d);
    marks_reset(&d);
    d.flood = fw_flood_new(d.cfg);
    int rc = links_apply(&d, NULL, d.cfg);
    if (rc < 0) {
        d.stopping = 1;
        close_all(&d);
    } else {
        modbus_start(&d);
        console_apply(&d, NULL);
        FW_LOG(FW_LOG_NOTICE, "daemon: started: gateway \"%s\", %zu brokers, %zu rules, %zu nodes",
               d.cfg->gateway_id, d.cfg->nbrokers, d.cfg->nrules, d.cfg->nnodes);
        fw_config_notes(d.cfg, log_note, NULL);
        service_ready(&d);
    }
    uv_run(d.loop, UV_RUN_DEFAULT);

    int close_rc = uv_loop_close(d.loop);
    if (close_rc != 0)
        FW_LOG(FW_LOG_ERR, "daemon: loop close: %s", uv_strerror(close_rc));
    /* No reading was taken since the shutdown began: this is the state at the signal. */
    for (int k = 0; k < FW_MODEL__COUNT; k++)
        if (fw_core_model(d.core, k) && model_save(&d, k) == 0)
            FW_LOG(FW_LOG_NOTICE, "models: %s: state saved to store key \"%s\"", fw_model_name(k),
                   fw_model_state_key(k));
    fw_ha_member_free(d.ha);
    fw_ha_settle_free(d.settle);
    fw_outbox_close(d.ob);
    fw_dispatch_out_free(&d.out);
    record_stop(&d);
    fw_core_free(d.core);
    fw_core_actions_free(&d.acts);
    fw_lora_free(d.lora);
    fw_metric_use(NULL);
    fw_config_free(d.cfg);
    free(d.marks);
    fw_flood_free(d.flood);
    fw_stats_free(d.stats);
    fw_uplink_result_free(&d.res);
    fw_meteo_forecasts_free(&d.forecasts);
    fw_mqtt_lib_cleanup();
    FW_LOG(FW_LOG_NOTICE, "daemon: stopped");
    return rc < 0 || close_rc != 0 ? 1 : 0;
}
