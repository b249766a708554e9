/* SPDX-License-Identifier: MIT */
/*
 * This gateway as a member of an active/standby group (ha_member.h, docs/ha.md).
 *
 * The group's topics, under ha.topic_prefix on the status broker:
 *   <prefix>/members/<member>  heartbeats, every ha.heartbeat_ms, and "gone" at a clean stop;
 *   <prefix>/delivered         the active member's notices of delivered messages, by digest.
 * A member is gone when it said so or was not heard for ha.dead_after_ms; the active member is
 * the best of those alive (gateway/ha.c). Every member commits every message its core renders;
 * only the active one sends. After each PUBACK the active member announces the message's digest
 * (within 100 ms, in batches); every member forgets a committed row whose digest was announced,
 * also when the notice came before the row. A member that becomes active sends what it still
 * holds: what the old active member had not delivered, or had delivered but not announced yet
 * (copies, never losses).
 */
#include "ha_member.h"

#include "forestwatch/ha.h"
#include "forestwatch/log.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOTICE_DELAY_MS 100  /* acknowledged digests wait this long to share one notice */
#define NOTICE_RETRY_MS 1000 /* a notice the link did not take is tried again */
#define NOTICE_MAX 500       /* digests in one notice */
#define SEEN_CAPACITY 16384  /* digests announced before their row was committed here */
#define ROWS_CAPACITY 16384  /* committed rows remembered by digest; older ones go again */

struct fw_ha_member {
    uv_loop_t *loop;
    struct fw_cfg_ha own; /* a copy: a reload frees the config (the section is read at start) */
    const struct fw_cfg_ha *cfg;
    struct fw_outbox *ob;
    struct fw_ha_member_ops ops;
    void *arg;
    struct fw_ha_group *group;
    char *filter, *hb_topic, *members_prefix, *delivered_topic;
    struct fw_ha_seen *rows;      /* digest -> committed row id, while the row is queued */
    struct fw_ha_seen *announced; /* digests announced before a row of ours had them */
    struct fw_ha_seen *inflight;  /* row id -> digest, while this member sends it */
    uint64_t *notice;             /* acknowledged digests not announced yet */
    size_t nnotice;
    uv_timer_t hb_timer, notice_timer;
    int is_active, role_said, closing, open_handles;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The role, said once the group is known and at every change. */
static void check_role(struct fw_ha_member *m)
{
    int64_t now = (int64_t)uv_now(m->loop);
    int is = fw_ha_group_self_active(m->group, now);
    if (m->closing || (is == m->is_active && (m->role_said || !fw_ha_group_decided(m->group, now))))
        return;
    m->role_said = 1;
    m->is_active = is;
    fw_ha_group_claim(m->group, is);
    m->ops.role(m->arg, is, fw_ha_group_active(m->group, now));
}

/* Announce the acknowledged digests; what the link cannot take now is tried again in a second
 * (a standby that never hears of them sends them after ha.rescue_after_ms: copies). */
static void on_notice_timer(uv_timer_t *t);

static void send_notice(struct fw_ha_member *m)
{
    size_t done = 0;
    while (done < m->nnotice) {
        size_t n = m->nnotice - done < NOTICE_MAX ? m->nnotice - done : NOTICE_MAX;
        char *json = fw_ha_delivered_json(m->cfg->member, m->notice + done, n);
        int rc = m->ops.publish(m->arg, m->delivered_topic, json, strlen(json), 1);
        free(json);
        if (rc < 0) {
            memmove(m->notice, m->notice + done, (m->nnotice - done) * sizeof(*m->notice));
            m->nnotice -= done;
            if (!m->closing)
                uv_timer_start(&m->notice_timer, on_notice_timer, NOTICE_RETRY_MS, 0);
            return;
        }
        done += n;
    }
    m->nnotice = 0;
}

static void on_notice_timer(uv_timer_t *t)
{
    send_notice(FW_CONTAINER_OF(t, struct fw_ha_member, notice_timer));
}

static void heartbeat(struct fw_ha_member *m)
{
    char *json = fw_ha_heartbeat_json(m->cfg->member, m->cfg->priority, m->is_active, wall_ms());
    m->ops.publish(m->arg, m->hb_topic, json, strlen(json), 0);
    free(json);
}

/* A row queued before this start: remembered like one committed now. */
static void on_queued(void *arg, int64_t id, const char *route, const void *payload, size_t len)
{
    struct fw_ha_member *m = arg;
    fw_ha_seen_add(m->rows, fw_ha_digest(route, payload, len), id);
}

static void on_hb_timer(uv_timer_t *t)
{
    struct fw_ha_member *m = FW_CONTAINER_OF(t, struct fw_ha_member, hb_timer);
    check_role(m);
    heartbeat(m);
}

struct fw_ha_member *fw_ha_member_new(uv_loop_t *loop, const struct fw_cfg_ha *cfg,
                                      struct fw_outbox *ob, const struct fw_ha_member_ops *ops,
                                      void *arg)
{
    struct fw_ha_member *m = fw_xcalloc(1, sizeof(*m));
    m->loop = loop;
    m->own = *cfg;
    m->own.group = fw_xstrdup(cfg->group);
    m->own.member = fw_xstrdup(cfg->member);
    m->own.topic_prefix = fw_xstrdup(cfg->topic_prefix);
    m->cfg = &m->own;
    m->ob = ob;
    m->ops = *ops;
    m->arg = arg;
    m->group =
        fw_ha_group_new(cfg->member, cfg->priority, cfg->dead_after_ms, (int64_t)uv_now(loop));
    m->filter = fw_xasprintf("%s/#", cfg->topic_prefix);
    m->members_prefix = fw_xasprintf("%s/members/", cfg->topic_prefix);
    m->hb_topic = fw_xasprintf("%s%s", m->members_prefix, cfg->member);
    m->delivered_topic = fw_xasprintf("%s/delivered", cfg->topic_prefix);
    m->rows = fw_ha_seen_new(ROWS_CAPACITY);
    m->announced = fw_ha_seen_new(SEEN_CAPACITY);
    m->inflight = fw_ha_seen_new(4 * FW_OUTBOX_MAX_INFLIGHT);
    m->notice = fw_xcalloc(NOTICE_MAX, sizeof(*m->notice));
    if (fw_outbox_each_queued(ob, on_queued, m) < 0)
        FW_LOG(FW_LOG_ERR,
               "ha: outbox: queued messages not listed: %s (they go out after the rescue time)",
               fw_outbox_errmsg(ob));
    uv_timer_init(loop, &m->hb_timer);
    uv_timer_init(loop, &m->notice_timer);
    uv_timer_start(&m->hb_timer, on_hb_timer, 0, (uint64_t)cfg->heartbeat_ms);
    FW_LOG(FW_LOG_NOTICE,
           "ha: member \"%s\" of group \"%s\" (priority %d) on %s: standby until the group is "
           "known (%lld ms)",
           cfg->member, cfg->group, cfg->priority, cfg->topic_prefix,
           (long long)cfg->dead_after_ms);
    return m;
}

static void on_closed(uv_handle_t *h)
{
    struct fw_ha_member *m = h->data;
    m->open_handles--;
}

void fw_ha_member_free(struct fw_ha_member *m)
{
    if (!m)
        return;
    FW_ASSERT(m->open_handles == 0);
    free(m->own.group);
    free(m->own.member);
    free(m->own.topic_prefix);
    fw_ha_group_free(m->group);
    fw_ha_seen_free(m->rows);
    fw_ha_seen_free(m->announced);
    fw_ha_seen_free(m->inflight);
    free(m->notice);
    free(m->filter);
    free(m->members_prefix);
    free(m->hb_topic);
    free(m->delivered_topic);
    free(m);
}

void fw_ha_member_close(struct fw_ha_member *m)
{
    if (!m || m->closing)
        return;
    send_notice(m);
    char *json = fw_ha_gone_json(m->cfg->member);
    m->ops.publish(m->arg, m->hb_topic, json, strlen(json), 1);
    free(json);
    m->closing = 1;
    m->open_handles = 2;
    m->hb_timer.data = m->notice_timer.data = m;
    uv_close((uv_handle_t *)&m->hb_timer, on_closed);
    uv_close((uv_handle_t *)&m->notice_timer, on_closed);
}

const char *fw_ha_member_filter(const struct fw_ha_member *m)
{
    return m->filter;
}

int fw_ha_member_active(const struct fw_ha_member *m)
{
    return m->is_active && !m->closing;
}

int fw_ha_member_decided(struct fw_ha_member *m)
{
    check_role(m);
    return fw_ha_group_decided(m->group, (int64_t)uv_now(m->loop));
}

/* A row whose message was delivered by the active member: done here too. */
static void forget_row(struct fw_ha_member *m, int64_t id)
{
    int rc = fw_outbox_ack(m->ob, id, wall_ms());
    if (rc < 0 && rc != -ENOENT)
        FW_LOG(FW_LOG_ERR, "ha: outbox: message %lld delivered by the active member: %s (%s)",
               (long long)id, strerror(-rc), fw_outbox_errmsg(m->ob));
}

static void on_delivered(struct fw_ha_member *m, const void *payload, size_t len)
{
    char member[FW_CONFIG_MAX_ID + 1];
    uint64_t *v = NULL;
    size_t n = 0;
    const char *why = "";
    if (fw_ha_delivered_parse(payload, len, member, &v, &n, &why) < 0) {
        FW_LOG(FW_LOG_WARNING, "ha: %s: ignored: %s", m->delivered_topic, why);
        return;
    }
    if (strcmp(member, m->cfg->member) != 0)
        for (size_t i = 0; i < n; i++) {
            int64_t id;
            if (fw_ha_seen_has(m->rows, v[i], &id)) {
                fw_ha_seen_del(m->rows, v[i]);
                forget_row(m, id);
            } else {
                fw_ha_seen_add(m->announced, v[i], 0);
            }
        }
    free(v);
}

int fw_ha_member_message(struct fw_ha_member *m, const char *topic, const void *payload, size_t len)
{
    size_t plen = strlen(m->cfg->topic_prefix);
    if (strncmp(topic, m->cfg->topic_prefix, plen) != 0 || topic[plen] != '/')
        return 0;
    if (strcmp(topic, m->delivered_topic) == 0) {
        on_delivered(m, payload, len);
        return 1;
    }
    if (strncmp(topic, m->members_prefix, strlen(m->members_prefix)) == 0) {
        char member[FW_CONFIG_MAX_ID + 1];
        int priority, alive, claims;
        const char *why = "";
        if (fw_ha_heartbeat_parse(payload, len, member, &priority, &alive, &claims, &why) < 0) {
            FW_LOG(FW_LOG_WARNING, "ha: %s: ignored: %s", topic, why);
            return 1;
        }
        fw_ha_group_heard(m->group, member, priority, alive, claims, (int64_t)uv_now(m->loop));
        check_role(m);
    }
    return 1;
}

void fw_ha_member_committed(struct fw_ha_member *m, int64_t id, const char *route,
                            const void *payload, size_t len)
{
    uint64_t d = fw_ha_digest(route, payload, len);
    if (fw_ha_seen_has(m->announced, d, NULL)) {
        fw_ha_seen_del(m->announced, d);
        forget_row(m, id);
        return;
    }
    fw_ha_seen_add(m->rows, d, id);
}

void fw_ha_member_sending(struct fw_ha_member *m, int64_t id, const char *route,
                          const void *payload, size_t len)
{
    fw_ha_seen_add(m->inflight, (uint64_t)id, (int64_t)fw_ha_digest(route, payload, len));
}

void fw_ha_member_acked(struct fw_ha_member *m, int64_t id)
{
    int64_t d;
    if (!fw_ha_seen_has(m->inflight, (uint64_t)id, &d))
        return;
    fw_ha_seen_del(m->inflight, (uint64_t)id);
    fw_ha_seen_del(m->rows, (uint64_t)d);
    if (m->nnotice == NOTICE_MAX)
        send_notice(m);
    if (m->nnotice == NOTICE_MAX)
        return; /* the link is down and the notice full: the standby's rescue covers it */
    m->notice[m->nnotice++] = (uint64_t)d;
    if (m->nnotice == NOTICE_MAX)
        send_notice(m);
    else if (!uv_is_active((uv_handle_t *)&m->notice_timer))
        uv_timer_start(&m->notice_timer, on_notice_timer, NOTICE_DELAY_MS, 0);
}
