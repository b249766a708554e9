/* SPDX-License-Identifier: MIT */
/*
 * The pure part of an active/standby group (include/forestwatch/ha.h, docs/ha.md): membership and
 * the choice of the active member, the group topics' messages, the set of digests seen delivered,
 * and the settle buffer that orders a member's inputs as every member orders them.
 */
#include "forestwatch/ha.h"

#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Membership                                                                                  */
/* ------------------------------------------------------------------------------------------ */

struct member {
    char id[FW_CONFIG_MAX_ID + 1];
    int priority;
    int alive;       /* not gone by its own word */
    int claims;      /* its last heartbeat said it is active */
    int64_t last_ms; /* when last heard (monotonic) */
};

struct fw_ha_group {
    struct member self;
    int64_t dead_after_ms, started_ms;
    struct member peers[FW_HA_MAX_MEMBERS];
    size_t npeers;
};

struct fw_ha_group *fw_ha_group_new(const char *self, int priority, int64_t dead_after_ms,
                                    int64_t now_ms)
{
    struct fw_ha_group *g = fw_xcalloc(1, sizeof(*g));
    fw_strlcpy(g->self.id, self, sizeof(g->self.id));
    g->self.priority = priority;
    g->self.alive = 1;
    g->dead_after_ms = dead_after_ms;
    g->started_ms = now_ms;
    return g;
}

void fw_ha_group_free(struct fw_ha_group *g)
{
    free(g);
}

static int fresh(const struct fw_ha_group *g, const struct member *m, int64_t now_ms)
{
    return m->alive && now_ms - m->last_ms < g->dead_after_ms;
}

void fw_ha_group_heard(struct fw_ha_group *g, const char *id, int priority, int alive, int claims,
                       int64_t now_ms)
{
    if (strcmp(id, g->self.id) == 0)
        return; /* our own heartbeat, back from the broker */
    struct member *m = NULL;
    for (size_t i = 0; i < g->npeers && !m; i++)
        if (strcmp(g->peers[i].id, id) == 0)
            m = &g->peers[i];
    if (!m) {
        if (g->npeers == FW_HA_MAX_MEMBERS)
            return;
        m = &g->peers[g->npeers++];
        fw_strlcpy(m->id, id, sizeof(m->id));
    }
    m->priority = priority;
    m->alive = alive;
    m->claims = alive && claims;
    m->last_ms = now_ms;
}

void fw_ha_group_claim(struct fw_ha_group *g, int active)
{
    g->self.claims = active;
}

int fw_ha_group_decided(const struct fw_ha_group *g, int64_t now_ms)
{
    if (now_ms - g->started_ms >= g->dead_after_ms)
        return 1;
    for (size_t i = 0; i < g->npeers; i++)
        if (fresh(g, &g->peers[i], now_ms) && g->peers[i].claims)
            return 1;
    return 0;
}

/* Whether a is a better choice than b: a higher priority, or the same and a smaller id. */
static int better(const struct member *a, const struct member *b)
{
    return !b || a->priority > b->priority ||
           (a->priority == b->priority && strcmp(a->id, b->id) < 0);
}

const char *fw_ha_group_active(const struct fw_ha_group *g, int64_t now_ms)
{
    /* An active member stays active while it lives: the best of those that claim it (two claim
     * it only after a split, and then the worse one steps down). */
    const struct member *best = g->self.claims ? &g->self : NULL;
    for (size_t i = 0; i < g->npeers; i++)
        if (fresh(g, &g->peers[i], now_ms) && g->peers[i].claims && better(&g->peers[i], best))
            best = &g->peers[i];
    if (best)
        return best->id;
    /* None does: the best of those alive, self once it had the time to hear the others. */
    if (now_ms - g->started_ms >= g->dead_after_ms)
        best = &g->self;
    for (size_t i = 0; i < g->npeers; i++)
        if (fresh(g, &g->peers[i], now_ms) && better(&g->peers[i], best))
            best = &g->peers[i];
    return best ? best->id : NULL;
}

int fw_ha_group_self_active(const struct fw_ha_group *g, int64_t now_ms)
{
    const char *a = fw_ha_group_active(g, now_ms);
    return a && strcmp(a, g->self.id) == 0;
}

size_t fw_ha_group_alive(const struct fw_ha_group *g, int64_t now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < g->npeers; i++)
        n += fresh(g, &g->peers[i], now_ms);
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Messages                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static char *print_free(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    FW_ASSERT(s);
    return s;
}

char *fw_ha_heartbeat_json(const char *member, int priority, int active, int64_t wall_ms)
{
    char t[FW_TIME_STRLEN];
    fw_time_format(wall_ms, t);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "member", member);
    cJSON_AddNumberToObject(o, "priority", priority);
    cJSON_AddStringToObject(o, "role", active ? "active" : "standby");
    cJSON_AddStringToObject(o, "time", t);
    return print_free(o);
}

char *fw_ha_gone_json(const char *member)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "member", member);
    cJSON_AddBoolToObject(o, "gone", 1);
    return print_free(o);
}

/* The object of a group message, and its "member" copied into `member`. */
static cJSON *parse_object(const void *payload, size_t len, char *member, const char **why)
{
    cJSON *o = cJSON_ParseWithLength(payload, len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "member");
    if (!cJSON_IsObject(o)) {
        *why = "not a JSON object";
    } else if (!cJSON_IsString(m) || !m->valuestring[0] ||
               fw_strlcpy(member, m->valuestring, FW_CONFIG_MAX_ID + 1) < 0) {
        *why = "\"member\" must be a member id";
    } else {
        return o;
    }
    cJSON_Delete(o);
    return NULL;
}

int fw_ha_heartbeat_parse(const void *payload, size_t len, char *member, int *priority, int *alive,
                          int *claims, const char **why)
{
    cJSON *o = parse_object(payload, len, member, why);
    if (!o)
        return -EINVAL;
    const cJSON *gone = cJSON_GetObjectItemCaseSensitive(o, "gone");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "priority");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(o, "role");
    int rc = 0;
    *alive = !cJSON_IsTrue(gone);
    *priority = 0;
    *claims = cJSON_IsString(role) && strcmp(role->valuestring, "active") == 0;
    if (*alive && (!cJSON_IsNumber(p) || p->valuedouble != floor(p->valuedouble) ||
                   p->valuedouble < 0 || p->valuedouble > 1000)) {
        *why = "\"priority\" must be a whole number 0..1000";
        rc = -EINVAL;
    } else if (*alive) {
        *priority = (int)p->valuedouble;
    }
    cJSON_Delete(o);
    return rc;
}

uint64_t fw_ha_digest(const char *route, const void *payload, size_t len)
{
    /* The route's name and its NUL first, so that no two (route, bytes) pairs run together. */
    return fw_hash64(payload, len, fw_hash64(route, strlen(route) + 1, 0x66776861u));
}

char *fw_ha_delivered_json(const char *member, const uint64_t *digests, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "member", member);
    cJSON *a = cJSON_AddArrayToObject(o, "delivered");
    for (size_t i = 0; i < n; i++) {
        char hex[17];
        snprintf(hex, sizeof(hex), "%016" PRIx64, digests[i]);
        cJSON_AddItemToArray(a, cJSON_CreateString(hex));
    }
    return print_free(o);
}

int fw_ha_delivered_parse(const void *payload, size_t len, char *member, uint64_t **out, size_t *n,
                          const char **why)
{
    cJSON *o = parse_object(payload, len, member, why);
    if (!o)
        return -EINVAL;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "delivered");
    if (!cJSON_IsArray(a)) {
        *why = "\"delivered\" must be an array";
        cJSON_Delete(o);
        return -EINVAL;
    }
    size_t k = 0, cap = (size_t)cJSON_GetArraySize(a);
    uint64_t *v = fw_xcalloc(cap + 1, sizeof(*v));
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        char *end = NULL;
        if (!cJSON_IsString(x) || strlen(x->valuestring) != 16 ||
            strspn(x->valuestring, "0123456789abcdef") != 16) {
            *why = "a delivered digest must be 16 lowercase hex digits";
            free(v);
            cJSON_Delete(o);
            return -EINVAL;
        }
        v[k++] = strtoull(x->valuestring, &end, 16);
    }
    cJSON_Delete(o);
    *out = v;
    *n = k;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Digests seen                                                                                */
/* ------------------------------------------------------------------------------------------ */

/* Open addressing with tombstones, and a ring of insertion order to forget the oldest. */
struct slot {
    uint64_t key;
    int64_t value;
    int state; /* 0 empty, 1 used, 2 deleted */
};

struct fw_ha_seen {
    struct slot *slots;
    size_t nslots; /* a power of two, at least twice the capacity */
    size_t used;   /* slots not empty: used or deleted */
    uint64_t *ring;
    size_t cap, head, len;
};

struct fw_ha_seen *fw_ha_seen_new(size_t capacity)
{
    struct fw_ha_seen *s = fw_xcalloc(1, sizeof(*s));
    s->cap = capacity ? capacity : 1;
    s->nslots = 16;
    while (s->nslots < 4 * s->cap)
        s->nslots *= 2;
    s->slots = fw_xcalloc(s->nslots, sizeof(*s->slots));
    s->ring = fw_xcalloc(s->cap, sizeof(*s->ring));
    return s;
}

void fw_ha_seen_free(struct fw_ha_seen *s)
{
    if (!s)
        return;
    free(s->slots);
    free(s->ring);
    free(s);
}

static struct slot *find(const struct fw_ha_seen *s, uint64_t key)
{
    size_t mask = s->nslots - 1;
    for (size_t i = (size_t)(key * 0x9e3779b97f4a7c15ull) & mask, k = 0; k < s->nslots;
         i = (i + 1) & mask, k++) {
        if (s->slots[i].state == 0)
            return NULL;
        if (s->slots[i].state == 1 && s->slots[i].key == key)
            return &s->slots[i];
    }
    return NULL;
}

/* The table is rebuilt without its tombstones when they fill it. */
static void rebuild(struct fw_ha_seen *s)
{
    struct slot *old = s->slots;
    size_t n = s->nslots;
    s->slots = fw_xcalloc(n, sizeof(*s->slots));
    s->used = 0;
    for (size_t i = 0; i < n; i++)
        if (old[i].state == 1) {
            s->used++;
            size_t mask = n - 1, j = (size_t)(old[i].key * 0x9e3779b97f4a7c15ull) & mask;
            while (s->slots[j].state)
                j = (j + 1) & mask;
            s->slots[j] = old[i];
        }
    free(old);
}

void fw_ha_seen_del(struct fw_ha_seen *s, uint64_t digest)
{
    struct slot *x = find(s, digest);
    if (x)
        x->state = 2;
}

void fw_ha_seen_add(struct fw_ha_seen *s, uint64_t digest, int64_t value)
{
    struct slot *x = find(s, digest);
    if (x) {
        x->value = value;
        return;
    }
    if (s->len == s->cap) {
        fw_ha_seen_del(s, s->ring[s->head]);
        s->head = (s->head + 1) % s->cap;
        s->len--;
    }
    s->ring[(s->head + s->len) % s->cap] = digest;
    s->len++;
    if (2 * (s->used + 1) > s->nslots)
        rebuild(s);
    size_t mask = s->nslots - 1, j = (size_t)(digest * 0x9e3779b97f4a7c15ull) & mask;
    while (s->slots[j].state == 1)
        j = (j + 1) & mask;
    s->used += s->slots[j].state == 0;
    s->slots[j] = (struct slot){digest, value, 1};
}

int fw_ha_seen_has(const struct fw_ha_seen *s, uint64_t digest, int64_t *value)
{
    const struct slot *x = find(s, digest);
    if (x && value)
        *value = x->value;
    return x != NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* The settle buffer                                                                           */
/* ------------------------------------------------------------------------------------------ */

struct fw_ha_settle {
    struct fw_ha_input *v;
    size_t n, cap;
    struct fw_ha_input *out; /* what the last fw_ha_settle_due gave */
    size_t nout, capout;
};

struct fw_ha_settle *fw_ha_settle_new(void)
{
    return fw_xcalloc(1, sizeof(struct fw_ha_settle));
}

void fw_ha_settle_free(struct fw_ha_settle *s)
{
    if (!s)
        return;
    free(s->v);
    free(s->out);
    free(s);
}

void fw_ha_settle_push(struct fw_ha_settle *s, const struct fw_ha_input *in)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = fw_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = *in;
}

static int cmp_num(double a, double b)
{
    return (a > b) - (a < b);
}

/* The group's order: a total order on everything a member's core is handed. */
static int input_cmp(const void *pa, const void *pb)
{
    const struct fw_ha_input *a = pa, *b = pb;
    int c = cmp_num((double)a->time_ms, (double)b->time_ms);
    if (!c)
        c = (int)a->kind - (int)b->kind;
    if (c)
        return c;
    /* Inputs that came late share their evaluation time: they keep the order of their own. */
    if (a->kind == FW_HA_ACK) {
        if ((c = cmp_num((double)a->ack.at_ms, (double)b->ack.at_ms)))
            return c;
        return (c = strcmp(a->ack.id, b->ack.id)) ? c : strcmp(a->ack.by, b->ack.by);
    }
    if ((c = cmp_num((double)a->r.time_ms, (double)b->r.time_ms)) ||
        (c = strcmp(a->r.station, b->r.station)) || (c = strcmp(a->r.zone, b->r.zone)) ||
        (c = strcmp(a->r.metric->name, b->r.metric->name)) || (c = cmp_num(a->r.value, b->r.value)))
        return c;
    return (int)a->r.source - (int)b->r.source;
}

void fw_ha_settle_due(struct fw_ha_settle *s, int64_t upto_ms, const struct fw_ha_input **out,
                      size_t *n)
{
    s->nout = 0;
    size_t keep = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].time_ms > upto_ms) {
            s->v[keep++] = s->v[i];
            continue;
        }
        if (s->nout == s->capout) {
            s->capout = s->capout ? 2 * s->capout : 64;
            s->out = fw_xrealloc(s->out, s->capout * sizeof(*s->out));
        }
        s->out[s->nout++] = s->v[i];
    }
    s->n = keep;
    if (s->nout > 1)
        qsort(s->out, s->nout, sizeof(*s->out), input_cmp);
    *out = s->out;
    *n = s->nout;
}

size_t fw_ha_settle_drop(struct fw_ha_settle *s, int64_t before_ms)
{
    size_t keep = 0, n = s->n;
    for (size_t i = 0; i < n; i++)
        if (s->v[i].time_ms >= before_ms)
            s->v[keep++] = s->v[i];
    s->n = keep;
    return n - keep;
}

size_t fw_ha_settle_len(const struct fw_ha_settle *s)
{
    return s->n;
}
