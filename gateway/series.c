/* SPDX-License-Identifier: MIT */
/*
 * The series store: an open-addressing hash of series by (metric, key), each a ring buffer that
 * grows by doubling up to its metric's cap. Insertion is from the newest end, so the usual
 * in-order sample costs O(1) and a late one costs the distance it travels back.
 */
#include "forestwatch/series.h"

#include "forestwatch/util.h"

#include <errno.h>
#include <string.h>

struct fw_series_store {
    struct fw_series **slots;
    size_t nslots, n;
    struct fw_series_limits *limits;
    int nlimits;
    size_t max_series; /* 0: no cap */
    uint64_t refused;  /* samples of series the cap kept out */
};

static uint64_t key_hash(int metric_id, const char *key)
{
    return fw_hash64(key, strlen(key), (uint64_t)metric_id * 0x9E3779B97F4A7C15ULL);
}

static void free_series(struct fw_series *s)
{
    free(s->t);
    free(s->v);
    free(s);
}

static void place(struct fw_series **slots, size_t nslots, struct fw_series *s)
{
    size_t i = key_hash(s->metric_id, s->key) & (nslots - 1);
    while (slots[i])
        i = (i + 1) & (nslots - 1);
    slots[i] = s;
}

/* The limits of a metric; a cap of 0 for one the limits do not cover (not in use). */
static struct fw_series_limits limits_of(const struct fw_series_store *st, int metric_id)
{
    return metric_id < st->nlimits ? st->limits[metric_id] : (struct fw_series_limits){0, 0};
}

struct fw_series_store *fw_series_store_new(const struct fw_series_limits *limits, int nlimits)
{
    struct fw_series_store *st = fw_xcalloc(1, sizeof(*st));
    st->nslots = 64;
    st->slots = fw_xcalloc(st->nslots, sizeof(*st->slots));
    fw_series_store_set_limits(st, limits, nlimits);
    return st;
}

void fw_series_store_set_limits(struct fw_series_store *st, const struct fw_series_limits *limits,
                                int nlimits)
{
    free(st->limits);
    st->limits = fw_xmalloc((size_t)nlimits * sizeof(*limits));
    memcpy(st->limits, limits, (size_t)nlimits * sizeof(*limits));
    st->nlimits = nlimits;
    /* Series of metrics no longer in use (a declaration a reload removed) would keep their
     * samples for ever, since only an insertion trims a series: drop them. */
    size_t gone = 0;
    for (size_t i = 0; i < st->nslots; i++)
        if (st->slots[i] && limits_of(st, st->slots[i]->metric_id).cap == 0) {
            free_series(st->slots[i]);
            st->slots[i] = NULL;
            gone++;
        }
    if (!gone)
        return;
    st->n -= gone;
    struct fw_series **slots = fw_xcalloc(st->nslots, sizeof(*slots));
    for (size_t i = 0; i < st->nslots; i++)
        if (st->slots[i])
            place(slots, st->nslots, st->slots[i]);
    free(st->slots);
    st->slots = slots;
}

void fw_series_store_set_max(struct fw_series_store *st, size_t max_series)
{
    st->max_series = max_series;
}

uint64_t fw_series_store_refused(const struct fw_series_store *st)
{
    return st->refused;
}

void fw_series_store_free(struct fw_series_store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nslots; i++)
        if (st->slots[i])
            free_series(st->slots[i]);
    free(st->slots);
    free(st->limits);
    free(st);
}

struct fw_series *fw_series_find(const struct fw_series_store *st, const struct fw_metric *m,
                                 const char *key)
{
    size_t mask = st->nslots - 1;
    int id = fw_metric_id(m);
    for (size_t i = key_hash(id, key) & mask; st->slots[i]; i = (i + 1) & mask)
        if (st->slots[i]->metric_id == id && strcmp(st->slots[i]->key, key) == 0)
            return st->slots[i];
    return NULL;
}

static struct fw_series *create(struct fw_series_store *st, const struct fw_metric *m,
                                const char *key, const char *zone)
{
    if ((st->n + 1) * 2 > st->nslots) {
        size_t nslots = st->nslots * 2;
        struct fw_series **slots = fw_xcalloc(nslots, sizeof(*slots));
        for (size_t i = 0; i < st->nslots; i++)
            if (st->slots[i])
                place(slots, nslots, st->slots[i]);
        free(st->slots);
        st->slots = slots;
        st->nslots = nslots;
    }
    struct fw_series *s = fw_xcalloc(1, sizeof(*s));
    s->metric = m;
    s->metric_id = fw_metric_id(m);
    fw_strlcpy(s->key, key, sizeof(s->key));
    fw_strlcpy(s->zone, zone, sizeof(s->zone));
    place(st->slots, st->nslots, s);
    st->n++;
    return s;
}

/* Re-lay the ring into arrays of `cap` (>= len), oldest first. */
static void relayout(struct fw_series *s, uint32_t cap)
{
    int64_t *t = fw_xmalloc(cap * sizeof(*t));
    double *v = fw_xmalloc(cap * sizeof(*v));
    for (uint32_t i = 0; i < s->len; i++)
        fw_series_at(s, i, &t[i], &v[i]);
    free(s->t);
    free(s->v);
    s->t = t;
    s->v = v;
    s->cap = cap;
    s->head = 0;
}

static void drop_oldest(struct fw_series *s, uint32_t n)
{
    s->head = (s->head + n) % s->cap;
    s->len -= n;
}

uint32_t fw_series_lower_bound(const struct fw_series *s, int64_t t_ms)
{
    uint32_t lo = 0, hi = fw_series_len(s);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t t;
        double v;
        fw_series_at(s, mid, &t, &v);
        if (t < t_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int fw_series_add(struct fw_series_store *st, const struct fw_metric *m, const char *key,
                  const char *zone, enum fw_source_kind source, int64_t t_ms, double value,
                  int64_t now_ms)
{
    const struct fw_series_limits lim = limits_of(st, fw_metric_id(m));
    uint32_t cap = lim.cap;
    if (cap == 0)
        return -ENOENT;
    struct fw_series *s = fw_series_find(st, m, key);
    if (!s && st->max_series && st->n >= st->max_series) {
        st->refused++;
        return -ENOSPC;
    }
    if (!s)
        s = create(st, m, key, zone);
    s->metric = m; /* a reload may have described the metric anew */
    int64_t horizon = now_ms - lim.retain_ms;

    /* Older than what any rule can look at, and not the newest: of no use to anyone. */
    if (s->len && t_ms < horizon) {
        int64_t newest;
        double nv;
        fw_series_at(s, s->len - 1, &newest, &nv);
        if (t_ms < newest) {
            s->dropped++;
            return -ESTALE;
        }
    }
    /* Expire from the old end, always keeping the newest sample (the current value). */
    uint32_t expired = 0;
    while (expired + 1 < s->len) {
        int64_t t;
        double v;
        fw_series_at(s, expired, &t, &v);
        if (t >= horizon)
            break;
        expired++;
    }
    if (expired)
        drop_oldest(s, expired);
    /* The cap shrank after a reload: give up the oldest samples and the memory. */
    while (s->len > cap) {
        drop_oldest(s, 1);
        s->dropped++;
    }
    if (s->cap > cap)
        relayout(s, cap);

    uint32_t pos = fw_series_lower_bound(s, t_ms);
    if (pos < s->len) {
        int64_t t;
        double v;
        fw_series_at(s, pos, &t, &v);
        if (t == t_ms) {
            s->v[(s->head + pos) % s->cap] = value;
            if (pos == s->len - 1)
                s->source = source;
            return 0;
        }
    }
    if (s->len == cap) {
        if (pos == 0) {
            s->dropped++; /* the oldest of a full series: it would be pushed out at once */
            return -ESTALE;
        }
        drop_oldest(s, 1);
        pos--;
        s->dropped++;
    } else if (s->len == s->cap) {
        uint32_t grow = s->cap ? s->cap * 2 : 4;
        relayout(s, grow < cap ? grow : cap);
    }
    /* Shift the newer samples up by one and put the new one in its place. */
    for (uint32_t i = s->len; i > pos; i--) {
        uint32_t to = (s->head + i) % s->cap, from = (s->head + i - 1) % s->cap;
        s->t[to] = s->t[from];
        s->v[to] = s->v[from];
    }
    uint32_t k = (s->head + pos) % s->cap;
    s->t[k] = t_ms;
    s->v[k] = value;
    s->len++;
    if (pos == s->len - 1)
        s->source = source;
    return 0;
}

void fw_series_store_stats(const struct fw_series_store *st, size_t *nseries, size_t *nsamples,
                           uint64_t *dropped)
{
    *nseries = st->n;
    *nsamples = 0;
    *dropped = 0;
    for (size_t i = 0; i < st->nslots; i++)
        if (st->slots[i]) {
            *nsamples += st->slots[i]->len;
            *dropped += st->slots[i]->dropped;
        }
}

void fw_series_store_each(struct fw_series_store *st, void (*fn)(struct fw_series *, void *),
                          void *arg)
{
    for (size_t i = 0; i < st->nslots; i++)
        if (st->slots[i])
            fn(st->slots[i], arg);
}
