/* SPDX-License-Identifier: MIT */
/*
 * LoRa uplinks to readings: the node registry, deduplication, frame-counter tracking, the payload
 * codecs, the link-health readings and the node's status reports; the servers' other events are
 * only counted. All state is bounded whatever arrives: the registry is
 * the config's, the uplink ids seen are a fixed ring, per device only the last frame counter and
 * a digest of its payload are kept, and the unknown devices are a fixed list. The registry is
 * two sorted index arrays (by EUI, by name) searched with bsearch: it is built once per config
 * and read for every uplink.
 */
#include "forestwatch/lora.h"

#include "forestwatch/reading.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* State                                                                                        */
/* ------------------------------------------------------------------------------------------ */

struct lora_dev {
    char eui[17]; /* lowercase; "" when registered by name only */
    uint64_t eui_num;
    char name[FW_LNS_MAX_STR]; /* "" when none */
    char node[FW_READING_MAX_ID];
    char zone[FW_READING_MAX_ID];
    enum fw_lora_codec codec;
    struct fw_codec_lpp_map *map; /* metric names point into map_names */
    char (*map_names)[FW_READING_MAX_ID];
    size_t nmap;
    /* What the last accepted uplink was, to recognise it when it comes again. */
    uint64_t last_digest;
    unsigned skip_said; /* skip reasons (1 << enum fw_codec_skip) already told to the caller */
    struct fw_lora_node_stats st;
};

struct unknown_slot {
    struct fw_lora_unknown u;
    uint64_t seq; /* order of first sighting, for reporting in that order */
    int reported;
};

struct fw_lora {
    struct lora_dev *devs;
    size_t n;
    struct lora_dev **by_eui; /* the devs with an EUI, sorted by eui_num */
    size_t n_eui;
    struct lora_dev **by_name; /* the devs with a name, sorted by name */
    size_t n_name;
    /* Digests of recent uplink ids; 0 marks an empty slot. */
    uint64_t ids[FW_LORA_DEDUP_IDS];
    size_t ids_next;
    struct unknown_slot unknown[FW_LORA_MAX_UNKNOWN];
    size_t n_unknown;
    uint64_t unknown_seq;
    struct fw_lora_stats st;
    /* Scratch reused between calls: the parsed message and its decoded values. */
    struct fw_lns_uplink up;
    struct fw_codec_result vals;
};

/* ------------------------------------------------------------------------------------------ */
/* Names                                                                                        */
/* ------------------------------------------------------------------------------------------ */

static const char *const codec_names[] = {
    [FW_LORA_CODEC_FORESTWATCH] = "forestwatch",
    [FW_LORA_CODEC_LPP] = "lpp",
    [FW_LORA_CODEC_SERVER] = "server",
};

const char *fw_lora_codec_str(enum fw_lora_codec c)
{
    return (unsigned)c < FW_ARRAY_LEN(codec_names) ? codec_names[c] : "?";
}

int fw_lora_codec_parse(const char *name, enum fw_lora_codec *out)
{
    for (size_t i = 0; i < FW_ARRAY_LEN(codec_names); i++)
        if (strcmp(codec_names[i], name) == 0) {
            *out = (enum fw_lora_codec)i;
            return 0;
        }
    return -EINVAL;
}

/* ------------------------------------------------------------------------------------------ */
/* Registry                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static int say(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *why, size_t cap, const char *fmt, ...)
{
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* 16 hex digits in either case into a number; the number is what the index sorts on, so that
 * case never matters. */
static int parse_eui(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    for (i = 0; s[i]; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0 || i >= 16)
            return -EINVAL;
        v = v << 4 | (uint64_t)d;
    }
    if (i != 16)
        return -EINVAL;
    *out = v;
    return 0;
}

static int id_ok(const char *s)
{
    return s && s[0] && strlen(s) < FW_READING_MAX_ID;
}

int fw_lora_device_check(const struct fw_lora_device *dev, char *why, size_t cap)
{
    uint64_t eui;
    int has_eui = dev->dev_eui && dev->dev_eui[0];
    int has_name = dev->lns_name && dev->lns_name[0];

    if (!has_eui && !has_name)
        return say(why, cap, "needs a dev_eui or a device name");
    if (has_eui && parse_eui(dev->dev_eui, &eui))
        return say(why, cap, "dev_eui: must be 16 hex digits, got \"%.40s\"", dev->dev_eui);
    if (has_name && strlen(dev->lns_name) >= FW_LNS_MAX_STR)
        return say(why, cap, "device name: longer than %d bytes", FW_LNS_MAX_STR - 1);
    if (!id_ok(dev->node))
        return say(why, cap, "node: must be a node id of 1..%d bytes", FW_READING_MAX_ID - 1);
    if (!id_ok(dev->zone))
        return say(why, cap, "zone: must be a zone id of 1..%d bytes", FW_READING_MAX_ID - 1);
    if ((unsigned)dev->codec >= FW_ARRAY_LEN(codec_names))
        return say(why, cap, "codec: unknown codec %d", (int)dev->codec);
    if (dev->n_lpp_map && !dev->lpp_map)
        return say(why, cap, "lpp map: %zu entries but no table", dev->n_lpp_map);
    if (dev->n_lpp_map > FW_LORA_MAX_LPP_MAP)
        return say(why, cap, "lpp map: more than %d channels", FW_LORA_MAX_LPP_MAP);
    for (size_t i = 0; i < dev->n_lpp_map; i++) {
        const struct fw_codec_lpp_map *e = &dev->lpp_map[i];
        const struct fw_metric *m = e->metric ? fw_metric_find(e->metric) : NULL;
        if (!m || m->scope != FW_METRIC_STATION)
            return say(why, cap, "lpp map: channel %u: \"%.40s\" is not a station metric",
                       e->channel, e->metric ? e->metric : "(null)");
        for (size_t j = 0; j < i; j++)
            if (dev->lpp_map[j].channel == e->channel)
                return say(why, cap, "lpp map: channel %u mapped twice", e->channel);
    }
    return 0;
}

/* The indexes hold pointers, so that the comparators need no file-scope state. */
static int cmp_eui(const void *a, const void *b)
{
    uint64_t x = (*(struct lora_dev *const *)a)->eui_num,
             y = (*(struct lora_dev *const *)b)->eui_num;
    return x < y ? -1 : x > y;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(struct lora_dev *const *)a)->name, (*(struct lora_dev *const *)b)->name);
}

/* Position of `d` in the registry as the caller gave it, for messages. */
static size_t dev_index(const struct fw_lora *l, const struct lora_dev *d)
{
    return (size_t)(d - l->devs);
}

static void copy_device(struct lora_dev *d, const struct fw_lora_device *src)
{
    memset(d, 0, sizeof(*d));
    if (src->dev_eui && src->dev_eui[0]) {
        parse_eui(src->dev_eui, &d->eui_num);
        snprintf(d->eui, sizeof(d->eui), "%016llx", (unsigned long long)d->eui_num);
    }
    fw_strlcpy(d->name, src->lns_name ? src->lns_name : "", sizeof(d->name));
    fw_strlcpy(d->node, src->node, sizeof(d->node));
    fw_strlcpy(d->zone, src->zone, sizeof(d->zone));
    d->codec = src->codec;
    d->nmap = src->n_lpp_map;
    if (d->nmap) {
        d->map = fw_xcalloc(d->nmap, sizeof(*d->map));
        d->map_names = fw_xcalloc(d->nmap, sizeof(*d->map_names));
        for (size_t i = 0; i < d->nmap; i++) {
            fw_strlcpy(d->map_names[i], src->lpp_map[i].metric, sizeof(d->map_names[i]));
            d->map[i].channel = src->lpp_map[i].channel;
            d->map[i].metric = d->map_names[i];
        }
    }
}

int fw_lora_new(const struct fw_lora_device *devs, size_t n, struct fw_lora **out, char *why,
                size_t cap)
{
    char reason[160];
    struct fw_lora *l = NULL;
    int rc = 0;

    *out = NULL;
    if (n > FW_LORA_MAX_DEVICES) {
        say(why, cap, "devices: %zu, more than %d", n, FW_LORA_MAX_DEVICES);
        return -E2BIG;
    }
    for (size_t i = 0; i < n; i++)
        if (fw_lora_device_check(&devs[i], reason, sizeof(reason)))
            return say(why, cap, "devices[%zu]: %s", i, reason);

    l = fw_xcalloc(1, sizeof(*l));
    l->n = n;
    l->devs = fw_xcalloc(n ? n : 1, sizeof(*l->devs));
    l->by_eui = fw_xcalloc(n ? n : 1, sizeof(*l->by_eui));
    l->by_name = fw_xcalloc(n ? n : 1, sizeof(*l->by_name));
    for (size_t i = 0; i < n; i++) {
        copy_device(&l->devs[i], &devs[i]);
        if (l->devs[i].eui[0])
            l->by_eui[l->n_eui++] = &l->devs[i];
        if (l->devs[i].name[0])
            l->by_name[l->n_name++] = &l->devs[i];
    }
    qsort(l->by_eui, l->n_eui, sizeof(*l->by_eui), cmp_eui);
    qsort(l->by_name, l->n_name, sizeof(*l->by_name), cmp_name);
    /* Sorted, any two entries with the same key are neighbours. */
    for (size_t i = 1; i < l->n_eui; i++) {
        size_t a = dev_index(l, l->by_eui[i - 1]), b = dev_index(l, l->by_eui[i]);
        if (l->devs[a].eui_num == l->devs[b].eui_num) {
            say(why, cap, "devices[%zu].dev_eui: %s is also devices[%zu]'s", a > b ? a : b,
                l->devs[a].eui, a > b ? b : a);
            rc = -EEXIST;
            goto fail;
        }
    }
    for (size_t i = 1; i < l->n_name; i++) {
        size_t a = dev_index(l, l->by_name[i - 1]), b = dev_index(l, l->by_name[i]);
        if (strcmp(l->devs[a].name, l->devs[b].name) == 0) {
            say(why, cap, "devices[%zu]: device name \"%s\" is also devices[%zu]'s", a > b ? a : b,
                l->devs[a].name, a > b ? b : a);
            rc = -EEXIST;
            goto fail;
        }
    }
    *out = l;
    return 0;
fail:
    fw_lora_free(l);
    return rc;
}

void fw_lora_free(struct fw_lora *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        FW_FREE(l->devs[i].map);
        FW_FREE(l->devs[i].map_names);
    }
    FW_FREE(l->devs);
    FW_FREE(l->by_eui);
    FW_FREE(l->by_name);
    fw_lns_uplink_free(&l->up);
    free(l);
}

static struct lora_dev *find_eui(const struct fw_lora *l, uint64_t eui)
{
    size_t lo = 0, hi = l->n_eui;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct lora_dev *d = l->by_eui[mid];
        if (d->eui_num == eui)
            return d;
        if (d->eui_num < eui)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static struct lora_dev *find_name(const struct fw_lora *l, const char *name)
{
    size_t lo = 0, hi = l->n_name;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct lora_dev *d = l->by_name[mid];
        int c = strcmp(d->name, name);
        if (c == 0)
            return d;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The EUI is the device's identity. A name identifies a device only where no EUI can: an uplink
 * without one (TTS, ABP), or an entry registered without one. A name match against a different
 * EUI is another device that happens to share the name, and stays unknown. */
static struct lora_dev *lookup(const struct fw_lora *l, const char *eui, const char *name)
{
    uint64_t num;
    struct lora_dev *d = NULL;
    if (eui[0] && parse_eui(eui, &num) == 0 && (d = find_eui(l, num)))
        return d;
    if (name[0] && (d = find_name(l, name)) && (!eui[0] || !d->eui[0]))
        return d;
    return NULL;
}

void fw_lora_adopt_state(struct fw_lora *to, const struct fw_lora *from)
{
    memcpy(to->ids, from->ids, sizeof(to->ids));
    to->ids_next = from->ids_next;
    to->st = from->st;
    for (size_t i = 0; i < to->n; i++) {
        struct lora_dev *d = &to->devs[i];
        const struct lora_dev *old = lookup(from, d->eui, d->name);
        if (old) {
            d->last_digest = old->last_digest;
            d->skip_said = old->skip_said;
            d->st = old->st;
        }
    }
    /* Unknown devices stay unknown only if the new registry does not know them either. */
    for (size_t i = 0; i < from->n_unknown; i++) {
        const struct unknown_slot *s = &from->unknown[i];
        if (!lookup(to, s->u.dev_eui, s->u.device))
            to->unknown[to->n_unknown++] = *s;
    }
    to->unknown_seq = from->unknown_seq;
}

/* ------------------------------------------------------------------------------------------ */
/* Unknown devices                                                                              */
/* ------------------------------------------------------------------------------------------ */

static void remember_unknown(struct fw_lora *l, const struct fw_lns_uplink *up, int64_t now_ms)
{
    struct unknown_slot *s = NULL;
    for (size_t i = 0; i < l->n_unknown && !s; i++)
        if (strcmp(l->unknown[i].u.dev_eui, up->dev_eui) == 0 &&
            (up->dev_eui[0] || strcmp(l->unknown[i].u.device, up->device) == 0))
            s = &l->unknown[i];
    if (s) {
        s->u.uplinks++;
        s->u.last_ms = now_ms;
        return;
    }
    if (l->n_unknown < FW_LORA_MAX_UNKNOWN) {
        s = &l->unknown[l->n_unknown++];
    } else {
        /* Full: forget the least recently seen device that was already reported. One not yet
         * reported is kept, so that the caller hears of every device at least once. */
        for (size_t i = 0; i < l->n_unknown; i++)
            if (l->unknown[i].reported && (!s || l->unknown[i].u.last_ms < s->u.last_ms))
                s = &l->unknown[i];
        if (!s) {
            l->st.unknown_dropped++;
            return;
        }
    }
    memset(s, 0, sizeof(*s));
    s->u.kind = up->kind;
    fw_strlcpy(s->u.dev_eui, up->dev_eui, sizeof(s->u.dev_eui));
    fw_strlcpy(s->u.device, up->device, sizeof(s->u.device));
    s->u.uplinks = 1;
    s->u.first_ms = s->u.last_ms = now_ms;
    s->seq = l->unknown_seq++;
}

size_t fw_lora_take_unknown(struct fw_lora *l, fw_lora_unknown_cb cb, void *arg)
{
    size_t count = 0;
    for (;;) {
        struct unknown_slot *next = NULL;
        for (size_t i = 0; i < l->n_unknown; i++)
            if (!l->unknown[i].reported && (!next || l->unknown[i].seq < next->seq))
                next = &l->unknown[i];
        if (!next)
            return count;
        next->reported = 1;
        cb(&next->u, arg);
        count++;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Statistics                                                                                   */
/* ------------------------------------------------------------------------------------------ */

int fw_lora_node_stats(const struct fw_lora *l, const char *node, struct fw_lora_node_stats *out)
{
    int found = 0;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < l->n; i++) {
        const struct fw_lora_node_stats *s = &l->devs[i].st;
        if (strcmp(l->devs[i].node, node) != 0)
            continue;
        found = 1;
        out->uplinks += s->uplinks;
        out->duplicates += s->duplicates;
        out->malformed += s->malformed;
        out->fcnt_resets += s->fcnt_resets;
        out->frames_lost += s->frames_lost;
        out->status += s->status;
        out->readings += s->readings;
        out->rejected_readings += s->rejected_readings;
        out->skipped += s->skipped;
        for (int r = 0; r < FW_CODEC_SKIP__COUNT; r++)
            out->skipped_by[r] += s->skipped_by[r];
        /* The frame counter and last error are those of the entry heard from last. */
        if (s->has_fcnt && (!out->has_fcnt || s->last_ms >= out->last_ms)) {
            out->has_fcnt = 1;
            out->last_fcnt = s->last_fcnt;
            out->last_ms = s->last_ms;
        }
        if (s->last_error[0])
            memcpy(out->last_error, s->last_error, sizeof(out->last_error));
    }
    return found ? 0 : -ENOENT;
}

void fw_lora_stats(const struct fw_lora *l, struct fw_lora_stats *out)
{
    *out = l->st;
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static int reject(struct fw_lora *l, struct fw_uplink_result *res, enum fw_uplink_error code,
                  int rc)
{
    res->error = code;
    res->n = 0;
    res->rejected_readings = 0;
    l->st.rejected++;
    return rc;
}

static int seen_id(const struct fw_lora *l, uint64_t h)
{
    /* A linear scan of 2,048 integers costs about a microsecond, far less than the JSON parse
     * before it, and needs no index to keep in step with the ring. */
    for (size_t i = 0; i < FW_LORA_DEDUP_IDS; i++)
        if (l->ids[i] == h)
            return 1;
    return 0;
}

/* Append one reading after the checks every decoder applies. `where` names the value in an
 * issue: "payload", "sample 3600 s before the uplink", "decoded object", "radio". */
static void add_value(struct lora_dev *d, struct fw_uplink_result *res, const char *metric,
                      double value, int64_t t_ms, int64_t now_ms, int64_t max_age_ms,
                      const char *where)
{
    const struct fw_metric *m;
    enum fw_uplink_error bad = fw_uplink_check_value(metric, NULL, value, &m);
    res->rejected_readings++; /* undone below when the value is accepted */
    d->st.rejected_readings++;
    if (bad == FW_UPLINK_UNKNOWN_METRIC) {
        fw_uplink_add_issue(res, bad, "%s: %.60s: %s", where, metric,
                            m ? "derived by the gateway, not sent by nodes" : "unknown metric");
        return;
    }
    if (bad == FW_UPLINK_OUT_OF_RANGE) {
        fw_uplink_add_issue(res, bad, "%s: %g %s is outside the possible range %g..%g of %s", where,
                            value, m->unit, m->min, m->max, m->name);
        return;
    }
    if (t_ms < now_ms - max_age_ms) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_TIME,
                            "%s: %s is %lld s old, more than limits.max_age_ms", where, m->name,
                            (long long)((now_ms - t_ms) / 1000));
        return;
    }
    struct fw_reading *r = &res->readings[res->n++];
    memset(r, 0, sizeof(*r));
    r->source = FW_SOURCE_LORA;
    fw_strlcpy(r->station, d->node, sizeof(r->station));
    fw_strlcpy(r->zone, d->zone, sizeof(r->zone));
    r->metric = m;
    r->value = value;
    r->time_ms = t_ms;
    res->rejected_readings--;
    d->st.rejected_readings--;
    d->st.readings++;
}

/* The payload through the device's codec into l->vals. Returns 0, or -EINVAL with the reason in
 * `why` when the payload cannot be read. No application data gives no values: a MAC-only
 * uplink (fPort 0) still tells that the node is alive and how well it is heard. */
static int payload_values(struct fw_lora *l, const struct lora_dev *d, char *why, size_t cap)
{
    const struct fw_lns_uplink *up = &l->up;
    struct fw_codec_result *v = &l->vals;
    int rc = 0;

    /* The codecs reset the result themselves; a frame without data reaches none of them. */
    memset(v->skipped_by, 0, sizeof(v->skipped_by));
    memset(v->note, 0, sizeof(v->note));
    v->n = 0;
    v->skipped = 0;
    v->error[0] = '\0';
    switch (d->codec) {
    case FW_LORA_CODEC_FORESTWATCH:
        if (up->payload_len)
            rc = fw_codec_decode(up->payload, up->payload_len, v);
        break;
    case FW_LORA_CODEC_LPP:
        if (up->payload_len)
            rc = fw_codec_lpp_decode(up->payload, up->payload_len, d->map, d->nmap, v);
        break;
    case FW_LORA_CODEC_SERVER:
        /* With data but no object, the server's formatter is missing or failed on it: the
         * values are lost just as with a malformed frame. */
        if (!up->decoded && up->payload_len) {
            snprintf(why, cap,
                     "fPort %d: no decoded object from the %s server (payload "
                     "formatter missing or failed)",
                     up->f_port, fw_lns_kind_str(up->kind));
            return -EINVAL;
        }
        rc = fw_lns_decoded_values(up, d->map, d->nmap, v);
        break;
    }
    if (rc) {
        snprintf(why, cap, "fPort %d: %s payload of %zu bytes: %.110s", up->f_port,
                 fw_lora_codec_str(d->codec), up->payload_len, v->error);
        return -EINVAL;
    }
    return 0;
}

/* Room for `need` readings in `res`. */
static void reserve(struct fw_uplink_result *res, int need)
{
    if (res->cap < need) {
        res->readings = fw_xrealloc(res->readings, (size_t)need * sizeof(*res->readings));
        res->cap = need;
    }
}

/*
 * A ChirpStack status event: the node's own report, in answer to the server's DevStatusReq, of
 * how well it hears the network (the margin) and of its power. A node on external power has no
 * battery to watch; one that cannot measure it says so. Neither gives a battery_pct, so that a
 * rule on the battery never sees a 0 % that nobody measured.
 */
static void status_readings(struct lora_dev *d, struct fw_uplink_result *res,
                            const struct fw_lns_status *st, int64_t t_ms, int64_t now_ms,
                            int64_t max_age_ms)
{
    reserve(res, 3);
    add_value(d, res, "lora_margin_db", st->margin_db, t_ms, now_ms, max_age_ms, "status");
    add_value(d, res, "lora_external_power", st->external_power ? 1 : 0, t_ms, now_ms, max_age_ms,
              "status");
    if (!st->external_power && !st->battery_unavailable)
        add_value(d, res, "battery_pct", st->battery_pct, t_ms, now_ms, max_age_ms, "status");
    d->st.status++;
}

/*
 * Count what the codec skipped, per reason, and tell each reason once per device: a node whose
 * LPP frames carry an accelerometer sends it every time, and the operator needs to hear it once
 * (to map a channel, or to know why a value never shows), not at every uplink.
 */
static void count_skipped(struct fw_lora *l, struct lora_dev *d, struct fw_uplink_result *res)
{
    const struct fw_codec_result *v = &l->vals;
    d->st.skipped += (uint64_t)v->skipped;
    l->st.skipped += (uint64_t)v->skipped;
    for (int r = 0; r < FW_CODEC_SKIP__COUNT; r++) {
        if (!v->skipped_by[r])
            continue;
        d->st.skipped_by[r] += (uint64_t)v->skipped_by[r];
        if (d->skip_said & 1u << r)
            continue;
        d->skip_said |= 1u << r;
        fw_uplink_add_issue(
            res, FW_UPLINK_UNMAPPED, "%s: %s (skipped; values like it are counted, and said once)",
            d->codec == FW_LORA_CODEC_SERVER ? "decoded object" : "payload", v->note[r]);
    }
}

int fw_lora_decode(struct fw_lora *l, enum fw_lns_kind kind, const char *topic, const void *payload,
                   size_t len, int64_t now_ms, const struct fw_cfg_limits *limits,
                   struct fw_uplink_result *res)
{
    struct fw_lns_uplink *up = &l->up;
    size_t max_len =
        limits->max_payload_bytes < FW_LNS_MAX_JSON ? limits->max_payload_bytes : FW_LNS_MAX_JSON;
    char why[160];
    int rc;

    res->node[0] = '\0';
    res->n = 0;
    res->error = FW_UPLINK_OK;
    res->nissues = 0;
    res->rejected_readings = 0;
    l->st.messages++;

    if (len > max_len) {
        fw_uplink_add_issue(res, FW_UPLINK_TOO_BIG, "message of %zu bytes exceeds the limit of %zu",
                            len, max_len);
        return reject(l, res, FW_UPLINK_TOO_BIG, -E2BIG);
    }
    if ((rc = fw_lns_parse(kind, topic, payload, len, up))) {
        fw_uplink_add_issue(res, up->error, "%s", up->detail);
        return reject(l, res, up->error, rc);
    }
    l->st.events[up->event]++;
    /* A join, a downlink's fate, a log line, a simulated uplink: nothing measured in the field. A
     * simulated uplink is typed into the server's console or API, and must not page a duty
     * officer as if a sensor had sent it. */
    if (up->event != FW_LNS_EV_UP && up->event != FW_LNS_EV_STATUS)
        return -ENOMSG;

    struct lora_dev *d = lookup(l, up->dev_eui, up->device);
    if (!d) {
        remember_unknown(l, up, now_ms);
        fw_uplink_add_issue(
            res, FW_UPLINK_UNKNOWN_NODE, "%s device %s (\"%s\") is not in the LoRa registry",
            fw_lns_kind_str(kind), up->dev_eui[0] ? up->dev_eui : "without EUI", up->device);
        res->error = FW_UPLINK_UNKNOWN_NODE;
        l->st.unknown++;
        return -ENOENT;
    }
    fw_strlcpy(res->node, d->node, sizeof(res->node));

    int64_t t_ms = up->time_ms ? up->time_ms : now_ms;
    if (t_ms > now_ms + limits->max_future_ms) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_TIME,
                            "time: %lld s ahead of the gateway clock (server clock?)",
                            (long long)((t_ms - now_ms) / 1000));
        return reject(l, res, FW_UPLINK_BAD_TIME, -EINVAL);
    }
    if (t_ms < now_ms - limits->max_age_ms) {
        fw_uplink_add_issue(res, FW_UPLINK_BAD_TIME,
                            "time: %lld s old, more than limits.max_age_ms",
                            (long long)((now_ms - t_ms) / 1000));
        return reject(l, res, FW_UPLINK_BAD_TIME, -EINVAL);
    }

    /* Deduplication. The uplink id names one uplink across gateways and integrations; the frame
     * counter with the payload catches a copy without an id or whose id fell out of the ring.
     * The same counter with another payload is new data from a node that started counting
     * again, and is accepted. The port is part of the digest: the same bytes on another port
     * are another message. The event type is part of the id's digest: ChirpStack sends a status
     * event with the deduplicationId of the uplink that carried it, before that uplink. */
    uint64_t id_digest = 0;
    if (up->uplink_id[0]) {
        id_digest = fw_hash64(up->uplink_id, strlen(up->uplink_id),
                              ((uint64_t)up->event << 8 | (uint64_t)kind) + 1);
        id_digest += !id_digest; /* 0 marks an empty slot */
    }
    int is_up = up->event == FW_LNS_EV_UP;
    uint64_t digest = fw_hash64(up->payload, up->payload_len, (uint64_t)up->f_port + 1);
    if ((id_digest && seen_id(l, id_digest)) ||
        (is_up && d->st.has_fcnt && up->f_cnt == d->st.last_fcnt && digest == d->last_digest)) {
        d->st.duplicates++;
        l->st.duplicates++;
        res->error = FW_UPLINK_DUPLICATE;
        return -EALREADY;
    }
    if (id_digest) {
        l->ids[l->ids_next] = id_digest;
        l->ids_next = (l->ids_next + 1) % FW_LORA_DEDUP_IDS;
    }
    if (!is_up) {
        status_readings(d, res, &up->status, t_ms, now_ms, limits->max_age_ms);
        l->st.uplinks++;
        return 0;
    }
    /* Frame counters only go up within a session; back means the node rejoined or restarted
     * (OTAA resets the counter), or someone replays old frames. Either way the data is taken:
     * the network server has authenticated the frame, and the operator is told. */
    if (d->st.has_fcnt) {
        if (up->f_cnt < d->st.last_fcnt) {
            fw_uplink_add_issue(res, FW_UPLINK_FCNT_RESET,
                                "frame counter went back from %" PRIu32 " to %" PRIu32
                                " (node reset or replay)",
                                d->st.last_fcnt, up->f_cnt);
            d->st.fcnt_resets++;
        } else if (up->f_cnt == d->st.last_fcnt) {
            fw_uplink_add_issue(res, FW_UPLINK_FCNT_RESET,
                                "frame counter %" PRIu32
                                " repeated with another payload (node reset or replay)",
                                up->f_cnt);
            d->st.fcnt_resets++;
        } else {
            d->st.frames_lost += up->f_cnt - d->st.last_fcnt - 1;
        }
    }
    d->st.has_fcnt = 1;
    d->st.last_fcnt = up->f_cnt;
    d->st.last_ms = t_ms;
    d->last_digest = digest;

    if (payload_values(l, d, why, sizeof(why))) {
        d->st.malformed++;
        memcpy(d->st.last_error, why, sizeof(d->st.last_error));
        /* The counter warning, if any, stays listed before the rejection. */
        fw_uplink_add_issue(res, FW_UPLINK_BAD_PAYLOAD, "%s", why);
        return reject(l, res, FW_UPLINK_BAD_PAYLOAD, -EINVAL);
    }
    if (l->vals.n > limits->max_readings) {
        fw_uplink_add_issue(res, FW_UPLINK_TOO_MANY,
                            "%d values in the payload, more than the limit of %d", l->vals.n,
                            limits->max_readings);
        return reject(l, res, FW_UPLINK_TOO_MANY, -E2BIG);
    }
    count_skipped(l, d, res);
    reserve(res, l->vals.n + 2);
    for (int i = 0; i < l->vals.n; i++) {
        const struct fw_codec_value *v = &l->vals.values[i];
        char where[48];
        if (d->codec == FW_LORA_CODEC_SERVER)
            snprintf(where, sizeof(where), "decoded object");
        else if (v->offset_s)
            snprintf(where, sizeof(where), "sample %" PRIu32 " s before the uplink", v->offset_s);
        else
            snprintf(where, sizeof(where), "payload");
        add_value(d, res, v->metric, v->value, t_ms - (int64_t)v->offset_s * 1000, now_ms,
                  limits->max_age_ms, where);
    }
    if (up->has_rssi) {
        add_value(d, res, "lora_rssi_dbm", up->rssi_dbm, t_ms, now_ms, limits->max_age_ms, "radio");
        add_value(d, res, "lora_snr_db", up->snr_db, t_ms, now_ms, limits->max_age_ms, "radio");
    }
    d->st.uplinks++;
    l->st.uplinks++;
    return 0;
}
