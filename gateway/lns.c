/* SPDX-License-Identifier: MIT */
/*
 * ChirpStack v4 and The Things Stack v3 messages, read into struct fw_lns_uplink. Both are
 * protobuf messages rendered as JSON, which leaves out every field that holds its default: a
 * missing fCnt is frame 0, a missing fPort is port 0, a missing payload is an empty one. So only
 * the device identity is required; everything else is read when present and must then have the
 * right type, because a field of the wrong type means the message is not what we think it is.
 * The size is checked before parsing, the payload and strings have hard caps, and every
 * rejection names the JSON path.
 *
 * Which event a message is comes first: a status event looks much like an uplink (ChirpStack
 * gives it the uplink's deduplicationId and time), so reading every message on a wildcard topic
 * as an uplink takes events for uplinks, and then drops the real uplink as their duplicate.
 */
#include "forestwatch/lns.h"

#include "forestwatch/reading.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(struct fw_lns_uplink *up, enum fw_uplink_error code, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct fw_lns_uplink *up, enum fw_uplink_error code, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(up->detail, sizeof(up->detail), fmt, ap);
    va_end(ap);
    up->error = code;
    return rc;
}

const char *fw_lns_kind_str(enum fw_lns_kind kind)
{
    return kind == FW_LNS_CHIRPSTACK ? "chirpstack" : kind == FW_LNS_TTS ? "tts" : "?";
}

/* ---- events ---- */

/*
 * The events of both servers: the topic's event (ChirpStack's last level; The Things Stack's
 * levels after the device id, as its topic layout v3 writes them) and the member of TTS's
 * ApplicationUp message that carries it (NULL: published by applications, not the server).
 * ChirpStack v4 event types are those of its MQTT integration; "integration" was sent by the
 * integrations of older v4 releases.
 */
static const struct {
    enum fw_lns_event ev;
    enum fw_lns_kind kind;
    const char *topic;
    const char *member;
} events[] = {
    {FW_LNS_EV_UP, FW_LNS_CHIRPSTACK, "up", NULL},
    {FW_LNS_EV_STATUS, FW_LNS_CHIRPSTACK, "status", NULL},
    {FW_LNS_EV_JOIN, FW_LNS_CHIRPSTACK, "join", NULL},
    {FW_LNS_EV_ACK, FW_LNS_CHIRPSTACK, "ack", NULL},
    {FW_LNS_EV_TXACK, FW_LNS_CHIRPSTACK, "txack", NULL},
    {FW_LNS_EV_LOG, FW_LNS_CHIRPSTACK, "log", NULL},
    {FW_LNS_EV_LOCATION, FW_LNS_CHIRPSTACK, "location", NULL},
    {FW_LNS_EV_INTEGRATION, FW_LNS_CHIRPSTACK, "integration", NULL},
    {FW_LNS_EV_UP, FW_LNS_TTS, "up", "uplink_message"},
    {FW_LNS_EV_UP_NORMALIZED, FW_LNS_TTS, "up/normalized", "uplink_normalized"},
    {FW_LNS_EV_JOIN, FW_LNS_TTS, "join", "join_accept"},
    {FW_LNS_EV_DOWN_ACK, FW_LNS_TTS, "down/ack", "downlink_ack"},
    {FW_LNS_EV_DOWN_NACK, FW_LNS_TTS, "down/nack", "downlink_nack"},
    {FW_LNS_EV_DOWN_SENT, FW_LNS_TTS, "down/sent", "downlink_sent"},
    {FW_LNS_EV_DOWN_FAILED, FW_LNS_TTS, "down/failed", "downlink_failed"},
    {FW_LNS_EV_DOWN_QUEUED, FW_LNS_TTS, "down/queued", "downlink_queued"},
    {FW_LNS_EV_DOWN_INVALIDATED, FW_LNS_TTS, "down/invalidated", "downlink_queue_invalidated"},
    {FW_LNS_EV_DOWN_PUSH, FW_LNS_TTS, "down/push", NULL},
    {FW_LNS_EV_DOWN_PUSH, FW_LNS_TTS, "down/replace", NULL},
    {FW_LNS_EV_LOCATION_SOLVED, FW_LNS_TTS, "location/solved", "location_solved"},
    {FW_LNS_EV_SERVICE_DATA, FW_LNS_TTS, "service/data", "service_data"},
};

static const char *const event_names[FW_LNS_EV__COUNT] = {
    [FW_LNS_EV_UP] = "up",
    [FW_LNS_EV_STATUS] = "status",
    [FW_LNS_EV_JOIN] = "join",
    [FW_LNS_EV_ACK] = "ack",
    [FW_LNS_EV_TXACK] = "txack",
    [FW_LNS_EV_LOG] = "log",
    [FW_LNS_EV_LOCATION] = "location",
    [FW_LNS_EV_INTEGRATION] = "integration",
    [FW_LNS_EV_COMMAND] = "command",
    [FW_LNS_EV_UP_NORMALIZED] = "up/normalized",
    [FW_LNS_EV_SIMULATED] = "up (simulated)",
    [FW_LNS_EV_DOWN_ACK] = "down/ack",
    [FW_LNS_EV_DOWN_NACK] = "down/nack",
    [FW_LNS_EV_DOWN_SENT] = "down/sent",
    [FW_LNS_EV_DOWN_FAILED] = "down/failed",
    [FW_LNS_EV_DOWN_QUEUED] = "down/queued",
    [FW_LNS_EV_DOWN_INVALIDATED] = "down/invalidated",
    [FW_LNS_EV_DOWN_PUSH] = "down/push",
    [FW_LNS_EV_LOCATION_SOLVED] = "location/solved",
    [FW_LNS_EV_SERVICE_DATA] = "service/data",
};

const char *fw_lns_event_str(enum fw_lns_event ev)
{
    return (unsigned)ev < FW_LNS_EV__COUNT ? event_names[ev] : "?";
}

static int event_by_topic(enum fw_lns_kind kind, const char *name, enum fw_lns_event *ev)
{
    for (size_t i = 0; i < FW_ARRAY_LEN(events); i++)
        if (events[i].kind == kind && strcmp(events[i].topic, name) == 0) {
            *ev = events[i].ev;
            return 0;
        }
    return -ENOENT;
}

/*
 * ChirpStack's event topic is a template whose default, application/{{application_id}}/device/
 * {{dev_eui}}/event/{{event}}, ends with the event type, and the event is nowhere in the
 * message: the last level is it. Under the same prefix applications publish commands to the
 * server (.../command/down), which a wildcard filter also brings.
 */
static int chirpstack_event(struct fw_lns_uplink *up, const char *topic)
{
    const char *last = strrchr(topic, '/');
    last = last ? last + 1 : topic;
    size_t before = (size_t)(last - topic);
    if (before >= 9 && strncmp(last - 9, "/command/", 9) == 0) {
        up->event = FW_LNS_EV_COMMAND;
        return 0;
    }
    if (event_by_topic(FW_LNS_CHIRPSTACK, last, &up->event) == 0)
        return 0;
    return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL,
                "topic: last level \"%.40s\" is no ChirpStack event (up, status, join, ack, txack, "
                "log, location, integration): the event topic must end with the event type",
                last);
}

/* The Things Stack's topic levels after `devices/<device id>/`, or NULL when the topic does not
 * have that layout. */
static const char *tts_topic_event(const char *topic)
{
    const char *p = topic ? strstr(topic, "/devices/") : NULL;
    if (!p)
        return NULL;
    p = strchr(p + 9, '/');
    return p ? p + 1 : NULL;
}

/*
 * The Things Stack says what a message is twice: by its topic and by the one member of its
 * ApplicationUp that is set. The member is in the message itself, so it decides; a topic that
 * names another event means the message is not what it seems, and is refused. A topic of a
 * non-uplink event whose message has no known member is still that event (an application's
 * down/push, or a member added in a later release).
 */
static int tts_event(struct fw_lns_uplink *up, const char *topic, const cJSON *root)
{
    const char *suffix = tts_topic_event(topic);
    enum fw_lns_event by_topic = FW_LNS_EV__COUNT;
    const char *member = NULL;
    if (suffix && event_by_topic(FW_LNS_TTS, suffix, &by_topic))
        by_topic = FW_LNS_EV__COUNT;
    up->event = FW_LNS_EV__COUNT;
    for (size_t i = 0; i < FW_ARRAY_LEN(events) && !member; i++)
        if (events[i].kind == FW_LNS_TTS && events[i].member &&
            cJSON_GetObjectItemCaseSensitive(root, events[i].member)) {
            member = events[i].member;
            up->event = events[i].ev;
        }
    if (member && by_topic != FW_LNS_EV__COUNT && by_topic != up->event)
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL,
                    "topic: ends in \"%.40s\" but the message carries \"%s\"", suffix, member);
    if (!member)
        up->event = by_topic == FW_LNS_EV__COUNT ? FW_LNS_EV_UP : by_topic;
    if (up->event == FW_LNS_EV_UP) {
        const cJSON *sim = cJSON_GetObjectItemCaseSensitive(root, "simulated");
        if (sim && !cJSON_IsBool(sim))
            return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "simulated: must be true or false");
        if (cJSON_IsTrue(sim))
            up->event = FW_LNS_EV_SIMULATED;
    }
    return 0;
}

/* ---- typed field access; `path` is the field's JSON path for messages ---- */

/* A string member into dst. Absent: -ENOENT when optional (dst = ""), an error when required. */
static int get_str(struct fw_lns_uplink *up, const cJSON *obj, const char *key, const char *path,
                   int required, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    dst[0] = '\0';
    if (!v) {
        if (required)
            return fail(up, FW_UPLINK_MISSING, -EINVAL, "missing \"%s\"", path);
        return -ENOENT;
    }
    if (!cJSON_IsString(v))
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s: must be a string", path);
    if (fw_strlcpy(dst, v->valuestring, cap)) {
        dst[0] = '\0';
        return fail(up, FW_UPLINK_BAD_FIELD, -E2BIG, "%s: longer than %zu bytes", path, cap - 1);
    }
    return 0;
}

/* An integer member in 0..max; absent means 0, as protobuf JSON leaves zeros out. */
static int get_uint(struct fw_lns_uplink *up, const cJSON *obj, const char *key, const char *path,
                    double max, uint32_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = 0;
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > max)
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s: must be an integer 0..%.0f", path, max);
    *out = (uint32_t)v->valuedouble;
    return 0;
}

/* An optional object member: NULL when absent, an error when present but not an object. */
static int get_obj(struct fw_lns_uplink *up, const cJSON *obj, const char *key, const char *path,
                   int required, cJSON **out)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v) {
        if (required)
            return fail(up, FW_UPLINK_MISSING, -EINVAL, "missing \"%s\"", path);
        return 0;
    }
    if (!cJSON_IsObject(v))
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s: must be an object", path);
    *out = v;
    return 0;
}

/* A device EUI: 16 hex digits in either case, stored lowercase so that "0004A30B001C0530" from
 * TTS and "0004a30b001c0530" from ChirpStack name the same device in the registry. */
static int get_eui(struct fw_lns_uplink *up, const cJSON *obj, const char *key, const char *path,
                   int required)
{
    char raw[FW_LNS_MAX_STR];
    int rc = get_str(up, obj, key, path, required, raw, sizeof(raw));
    if (rc == -ENOENT)
        return 0;
    if (rc && rc != -E2BIG)
        return rc;
    size_t n = strlen(raw);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!((raw[i] >= '0' && raw[i] <= '9') || (raw[i] >= 'a' && raw[i] <= 'f') ||
              (raw[i] >= 'A' && raw[i] <= 'F')))
            rc = -EINVAL;
    if (rc || n != 16)
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s: must be 16 hex digits", path);
    for (size_t i = 0; i < n; i++)
        up->dev_eui[i] = (char)(raw[i] >= 'A' && raw[i] <= 'F' ? raw[i] - 'A' + 'a' : raw[i]);
    up->dev_eui[n] = '\0';
    return 0;
}

static int get_time(struct fw_lns_uplink *up, const cJSON *obj, const char *key, const char *path)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return -ENOENT;
    if (!cJSON_IsString(v) || fw_time_parse(v->valuestring, &up->time_ms))
        return fail(up, FW_UPLINK_BAD_TIME, -EINVAL, "%s: must be an RFC 3339 time with an offset",
                    path);
    return 0;
}

/* ---- base64 ---- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    /* protobuf's JSON mapping accepts the URL-safe alphabet too */
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decode base64 (padding optional, as protobuf JSON allows). The output cap is checked against
 * the input length first, so an oversized string is refused without decoding it. On bad input,
 * *bad_at receives the offending character's index. */
static int b64_decode(const char *s, uint8_t *out, size_t cap, size_t *out_len, size_t *bad_at)
{
    size_t total = strlen(s), n = total, pad = 0, len = 0;
    uint32_t acc = 0;
    int bits = 0;

    while (n > 0 && s[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    /* With padding the length is a multiple of 4; without, 1 left over is never valid. */
    if ((pad && total % 4 != 0) || n % 4 == 1) {
        *bad_at = total - 1;
        return -EINVAL;
    }
    if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
        return -E2BIG;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) {
            *bad_at = i;
            return -EINVAL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = len;
    return 0;
}

static int get_payload(struct fw_lns_uplink *up, const cJSON *obj, const char *key,
                       const char *path)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t bad_at = 0;
    if (!v)
        return 0;
    if (!cJSON_IsString(v))
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s: must be a base64 string", path);
    int rc =
        b64_decode(v->valuestring, up->payload, sizeof(up->payload), &up->payload_len, &bad_at);
    if (rc == -E2BIG)
        return fail(up, FW_UPLINK_TOO_BIG, -E2BIG, "%s: payload over %d bytes", path,
                    FW_CODEC_MAX_FRAME);
    if (rc)
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s: bad base64 at character %zu", path,
                    bad_at);
    return 0;
}

/* ---- radio metadata ---- */

/* Walk the per-gateway array and keep the gateway with the best RSSI (ties: the better SNR).
 * `gw_obj` is NULL when the gateway id is a direct member (ChirpStack), else the name of the
 * object that holds it (TTS gateway_ids). */
static int get_radio(struct fw_lns_uplink *up, const cJSON *obj, const char *key, const char *path,
                     const char *gw_obj, const char *gw_key)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    const cJSON *e;
    int i = 0;
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr))
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s: must be an array", path);
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsObject(e))
            return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s[%d]: must be an object", path, i);
        const cJSON *rssi = cJSON_GetObjectItemCaseSensitive(e, "rssi");
        const cJSON *snr = cJSON_GetObjectItemCaseSensitive(e, "snr");
        const cJSON *ids = gw_obj ? cJSON_GetObjectItemCaseSensitive(e, gw_obj) : e;
        const cJSON *gw =
            cJSON_IsObject(ids) ? cJSON_GetObjectItemCaseSensitive(ids, gw_key) : NULL;
        /* TTS leaves rssi out when it is 0 and reports channel_rssi alongside; take either. */
        if (!rssi)
            rssi = cJSON_GetObjectItemCaseSensitive(e, "channel_rssi");
        if (rssi &&
            (!cJSON_IsNumber(rssi) || !(rssi->valuedouble >= -300) || !(rssi->valuedouble <= 100)))
            return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s[%d].rssi: must be a number -300..100",
                        path, i);
        if (snr && (!cJSON_IsNumber(snr) || !isfinite(snr->valuedouble)))
            return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s[%d].snr: must be a number", path, i);
        if (gw && !cJSON_IsString(gw))
            return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s[%d]: %s must be a string", path, i,
                        gw_key);
        up->n_gateways++;
        i++;
        if (!rssi)
            continue;
        int r = (int)lround(rssi->valuedouble);
        double s = snr ? snr->valuedouble : 0;
        if (up->has_rssi && (r < up->rssi_dbm || (r == up->rssi_dbm && s <= up->snr_db)))
            continue;
        up->has_rssi = 1;
        up->rssi_dbm = r;
        up->snr_db = s;
        /* A gateway id too long for the struct is cut: it is for display, not identity. */
        fw_strlcpy(up->gateway_id, gw ? gw->valuestring : "", sizeof(up->gateway_id));
    }
    return 0;
}

/* ---- the two servers ---- */

/* An optional boolean member; absent is false, as protobuf JSON leaves false out. */
static int get_bool(struct fw_lns_uplink *up, const cJSON *obj, const char *key, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = 0;
    if (!v)
        return 0;
    if (!cJSON_IsBool(v))
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "%s: must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

/*
 * The node's answer to the server's DevStatusReq (LoRaWAN DevStatusAns), as ChirpStack's
 * StatusEvent gives it: the margin is the SNR at which the node heard the request, a 6-bit
 * signed integer; the battery byte becomes externalPowerSource (0), batteryLevelUnavailable
 * (255) or batteryLevel in percent (1..254 scaled to 100).
 */
static int parse_status(struct fw_lns_uplink *up, const cJSON *root)
{
    struct fw_lns_status *st = &up->status;
    const cJSON *margin = cJSON_GetObjectItemCaseSensitive(root, "margin");
    const cJSON *level = cJSON_GetObjectItemCaseSensitive(root, "batteryLevel");
    int rc;
    if (margin && (!cJSON_IsNumber(margin) || margin->valuedouble != floor(margin->valuedouble) ||
                   margin->valuedouble < -32 || margin->valuedouble > 31))
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "margin: must be an integer -32..31");
    st->margin_db = margin ? (int)margin->valuedouble : 0;
    if (level &&
        (!cJSON_IsNumber(level) || !(level->valuedouble >= 0) || !(level->valuedouble <= 100)))
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "batteryLevel: must be a number 0..100");
    st->battery_pct = level ? level->valuedouble : 0;
    if ((rc = get_bool(up, root, "externalPowerSource", &st->external_power)) ||
        (rc = get_bool(up, root, "batteryLevelUnavailable", &st->battery_unavailable)))
        return rc;
    return 0;
}

static int parse_chirpstack(struct fw_lns_uplink *up, cJSON *root)
{
    int rc;
    uint32_t port;
    cJSON *info, *object;

    if ((rc = get_obj(up, root, "deviceInfo", "deviceInfo", 1, &info)) ||
        (rc = get_eui(up, info, "devEui", "deviceInfo.devEui", 1)))
        return rc;
    if ((rc = get_str(up, info, "deviceName", "deviceInfo.deviceName", 0, up->device,
                      sizeof(up->device))) != -ENOENT &&
        rc)
        return rc;
    if ((rc = get_str(up, root, "deduplicationId", "deduplicationId", 0, up->uplink_id,
                      sizeof(up->uplink_id))) != -ENOENT &&
        rc)
        return rc;
    if ((rc = get_time(up, root, "time", "time")) != -ENOENT && rc)
        return rc;
    if (up->event == FW_LNS_EV_STATUS)
        return parse_status(up, root);
    if ((rc = get_uint(up, root, "fCnt", "fCnt", 4294967295.0, &up->f_cnt)) ||
        (rc = get_uint(up, root, "fPort", "fPort", 255, &port)))
        return rc;
    up->f_port = (int)port;
    if ((rc = get_payload(up, root, "data", "data")) ||
        (rc = get_obj(up, root, "object", "object", 0, &object)) ||
        (rc = get_radio(up, root, "rxInfo", "rxInfo", NULL, "gatewayId")))
        return rc;
    if (object)
        up->decoded = cJSON_DetachItemViaPointer(root, object);
    return 0;
}

/* TTS lists correlation ids for every component that handled the uplink; the Application
 * Server's "as:up:" id names this uplink message, the Network Server's "ns:uplink:" id the
 * radio uplink. Either serves for deduplication. */
static int get_correlation(struct fw_lns_uplink *up, const cJSON *root)
{
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(root, "correlation_ids");
    const cJSON *e;
    const char *best = NULL;
    if (!ids)
        return 0;
    if (!cJSON_IsArray(ids))
        return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL, "correlation_ids: must be an array");
    cJSON_ArrayForEach(e, ids)
    {
        if (!cJSON_IsString(e))
            return fail(up, FW_UPLINK_BAD_FIELD, -EINVAL,
                        "correlation_ids: must be an array of strings");
        if (strncmp(e->valuestring, "as:up:", 6) == 0)
            best = e->valuestring;
        else if (!best && strncmp(e->valuestring, "ns:uplink:", 10) == 0)
            best = e->valuestring;
    }
    if (best && fw_strlcpy(up->uplink_id, best, sizeof(up->uplink_id))) {
        up->uplink_id[0] = '\0';
        return fail(up, FW_UPLINK_BAD_FIELD, -E2BIG,
                    "correlation_ids: \"%.20s...\" longer than %d bytes", best, FW_LNS_MAX_STR - 1);
    }
    return 0;
}

static int parse_tts(struct fw_lns_uplink *up, const char *topic, cJSON *root)
{
    int rc;
    uint32_t port;
    cJSON *ids, *msg, *decoded;

    if ((rc = tts_event(up, topic, root)) || up->event != FW_LNS_EV_UP)
        return rc;
    if ((rc = get_obj(up, root, "end_device_ids", "end_device_ids", 1, &ids)) ||
        (rc = get_str(up, ids, "device_id", "end_device_ids.device_id", 1, up->device,
                      sizeof(up->device))) ||
        (rc = get_eui(up, ids, "dev_eui", "end_device_ids.dev_eui", 0)) ||
        (rc = get_correlation(up, root)))
        return rc;
    if ((rc = get_obj(up, root, "uplink_message", "uplink_message", 1, &msg)))
        return rc;
    /* The Application Server's receive time, else the Network Server's. */
    if ((rc = get_time(up, root, "received_at", "received_at")) == -ENOENT)
        rc = get_time(up, msg, "received_at", "uplink_message.received_at");
    if (rc != -ENOENT && rc)
        return rc;
    if ((rc = get_uint(up, msg, "f_cnt", "uplink_message.f_cnt", 4294967295.0, &up->f_cnt)) ||
        (rc = get_uint(up, msg, "f_port", "uplink_message.f_port", 255, &port)))
        return rc;
    up->f_port = (int)port;
    if ((rc = get_payload(up, msg, "frm_payload", "uplink_message.frm_payload")) ||
        (rc = get_obj(up, msg, "decoded_payload", "uplink_message.decoded_payload", 0, &decoded)) ||
        (rc = get_radio(up, msg, "rx_metadata", "uplink_message.rx_metadata", "gateway_ids",
                        "gateway_id")))
        return rc;
    if (decoded)
        up->decoded = cJSON_DetachItemViaPointer(msg, decoded);
    return 0;
}

int fw_lns_parse(enum fw_lns_kind kind, const char *topic, const void *json, size_t len,
                 struct fw_lns_uplink *up)
{
    int rc;
    cJSON *root = NULL;

    fw_lns_uplink_free(up);
    memset(up, 0, sizeof(*up));
    up->kind = kind;
    up->event = FW_LNS_EV_UP;
    if (len > FW_LNS_MAX_JSON) {
        rc = fail(up, FW_UPLINK_TOO_BIG, -E2BIG, "message of %zu bytes exceeds the limit of %d",
                  len, FW_LNS_MAX_JSON);
        goto fail;
    }
    /* A ChirpStack event other than these carries nothing the gateway reads: not parsed. */
    if (kind == FW_LNS_CHIRPSTACK && topic && (rc = chirpstack_event(up, topic)))
        goto fail;
    if (up->event != FW_LNS_EV_UP && up->event != FW_LNS_EV_STATUS)
        return 0;
    root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        rc = fail(up, FW_UPLINK_BAD_JSON, -EINVAL, "%s",
                  root ? "not a JSON object" : "not valid JSON");
        goto fail;
    }
    rc = kind == FW_LNS_CHIRPSTACK ? parse_chirpstack(up, root) : parse_tts(up, topic, root);
    if (rc)
        goto fail;
    cJSON_Delete(root);
    return 0;
fail:
    cJSON_Delete(root);
    fw_lns_uplink_free(up);
    return rc;
}

void fw_lns_uplink_free(struct fw_lns_uplink *up)
{
    cJSON_Delete(up->decoded);
    up->decoded = NULL;
}

/* ---- the server's decoded object as values ---- */

/* Names that payload formatters commonly give (the TTS and ChirpStack codec examples), for
 * nodes whose server decodes the payload. Exact metric names are accepted as they are. */
static const struct {
    const char *key;
    const char *metric;
} decoded_aliases[] = {
    {"temperature", "air_temp_c"},
    {"humidity", "rel_humidity_pct"},
    {"relative_humidity", "rel_humidity_pct"},
    {"pressure", "pressure_hpa"},
    {"battery", "battery_v"},
};

/*
 * The member names of the servers' built-in Cayenne LPP codecs, per LPP type: ChirpStack's
 * (chirpstack/src/codec/cayenne_lpp.rs: one member per type, an object of channels) and The
 * Things Stack's (pkg/messageprocessors/cayennelpp: `<name>_<channel>`; NULL for types its
 * codec does not decode). ChirpStack reads more types than the LPP v1 set; none of those has a
 * metric here.
 */
static const struct {
    uint8_t type;
    const char *chirpstack;
    const char *tts;
} lpp_members[] = {
    {FW_CODEC_LPP_DIGITAL_IN, "digitalInput", "digital_in"},
    {FW_CODEC_LPP_DIGITAL_OUT, "digitalOutput", "digital_out"},
    {FW_CODEC_LPP_ANALOG_IN, "analogInput", "analog_in"},
    {FW_CODEC_LPP_ANALOG_OUT, "analogOutput", "analog_out"},
    {100, "genericSensor", NULL},
    {FW_CODEC_LPP_ILLUMINANCE, "illuminanceSensor", "luminosity"},
    {FW_CODEC_LPP_PRESENCE, "presenceSensor", "presence"},
    {FW_CODEC_LPP_TEMPERATURE, "temperatureSensor", "temperature"},
    {FW_CODEC_LPP_HUMIDITY, "humiditySensor", "relative_humidity"},
    {FW_CODEC_LPP_ACCELEROMETER, "accelerometer", "accelerometer"},
    {FW_CODEC_LPP_BAROMETER, "barometer", "barometric_pressure"},
    {116, "voltage", NULL},
    {117, "current", NULL},
    {118, "frequency", NULL},
    {120, "percentage", NULL},
    {121, "altitude", NULL},
    {125, "concentration", NULL},
    {128, "power", NULL},
    {130, "distance", NULL},
    {131, "energy", NULL},
    {132, "direction", NULL},
    {133, "unix_time", NULL},
    {FW_CODEC_LPP_GYROMETER, "gyrometer", "gyrometer"},
    {135, "color", NULL},
    {FW_CODEC_LPP_GPS, "gpsLocation", "gps"},
    {142, "switch", NULL},
};

/* A channel number as the servers write it: decimal 0..255. */
static int parse_channel(const char *s, size_t n, uint8_t *out)
{
    unsigned v = 0;
    if (n == 0 || n > 3)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 255)
        return -EINVAL;
    *out = (uint8_t)v;
    return 0;
}

static void push_value(struct fw_codec_result *res, const char *metric, double v, const char *name)
{
    if (res->n >= FW_CODEC_MAX_VALUES) {
        fw_codec_skip(res, FW_CODEC_SKIP_TOO_MANY, "%.60s: too many values", name);
        return;
    }
    res->values[res->n].metric = metric;
    res->values[res->n].value = v;
    res->values[res->n].offset_s = 0;
    res->n++;
}

/* One LPP item of the decoded object: `name` is how the object names it, for notes. */
static void lpp_item(struct fw_codec_result *res, uint8_t type, uint8_t channel, const cJSON *v,
                     const char *name, const struct fw_codec_lpp_map *map, size_t n_map)
{
    const char *metric = fw_codec_lpp_metric(type, channel, map, n_map);
    if (!metric && type == FW_CODEC_LPP_ANALOG_IN)
        fw_codec_skip(res, FW_CODEC_SKIP_UNMAPPED,
                      "%.60s: no metric mapped to analog input channel %u (lpp_map)", name,
                      channel);
    else if (!metric)
        fw_codec_skip(res, FW_CODEC_SKIP_NO_METRIC, "%.60s: Cayenne LPP item without a metric",
                      name);
    else if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        fw_codec_skip(res, FW_CODEC_SKIP_BAD_VALUE, "%.60s: not a finite number", name);
    else
        push_value(res, metric, v->valuedouble, name);
}

/* ChirpStack's shape: {"temperatureSensor": {"3": 27.2, "5": 25.5}}. Returns 0 when `e` is an
 * LPP type's member (its items read), -ENOENT when it is not. */
static int chirpstack_lpp(struct fw_codec_result *res, const cJSON *e,
                          const struct fw_codec_lpp_map *map, size_t n_map)
{
    const cJSON *c;
    for (size_t i = 0; i < FW_ARRAY_LEN(lpp_members); i++) {
        if (strcmp(e->string, lpp_members[i].chirpstack) != 0 || !cJSON_IsObject(e))
            continue;
        cJSON_ArrayForEach(c, e)
        {
            char name[80];
            uint8_t ch;
            snprintf(name, sizeof(name), "%.40s.%.20s", e->string, c->string);
            if (parse_channel(c->string, strlen(c->string), &ch))
                fw_codec_skip(res, FW_CODEC_SKIP_UNKNOWN_NAME, "%.60s: not a channel 0..255", name);
            else
                lpp_item(res, lpp_members[i].type, ch, c, name, map, n_map);
        }
        return 0;
    }
    return -ENOENT;
}

/* The Things Stack's shape: {"temperature_3": 27.2}. 0 when `e` is an LPP item, else -ENOENT. */
static int tts_lpp(struct fw_codec_result *res, const cJSON *e, const struct fw_codec_lpp_map *map,
                   size_t n_map)
{
    const char *us = strrchr(e->string, '_');
    uint8_t ch;
    if (!us || parse_channel(us + 1, strlen(us + 1), &ch))
        return -ENOENT;
    size_t n = (size_t)(us - e->string);
    for (size_t i = 0; i < FW_ARRAY_LEN(lpp_members); i++)
        if (lpp_members[i].tts && strlen(lpp_members[i].tts) == n &&
            strncmp(e->string, lpp_members[i].tts, n) == 0) {
            lpp_item(res, lpp_members[i].type, ch, e, e->string, map, n_map);
            return 0;
        }
    return -ENOENT;
}

int fw_lns_decoded_values(const struct fw_lns_uplink *up, const struct fw_codec_lpp_map *map,
                          size_t n_map, struct fw_codec_result *res)
{
    const cJSON *e;

    memset(res->skipped_by, 0, sizeof(res->skipped_by));
    memset(res->note, 0, sizeof(res->note));
    res->n = 0;
    res->skipped = 0;
    res->error[0] = '\0';
    if (!up->decoded)
        return 0;
    cJSON_ArrayForEach(e, up->decoded)
    {
        const char *name = e->string ? e->string : "?";
        const struct fw_metric *m = e->string ? fw_metric_find(e->string) : NULL;
        for (size_t i = 0; !m && e->string && i < FW_ARRAY_LEN(decoded_aliases); i++)
            if (strcmp(e->string, decoded_aliases[i].key) == 0)
                m = fw_metric_find(decoded_aliases[i].metric);
        if (m && cJSON_IsNumber(e) && isfinite(e->valuedouble))
            push_value(res, m->name, e->valuedouble, name);
        else if (m)
            fw_codec_skip(res, FW_CODEC_SKIP_BAD_VALUE, "%.60s: not a finite number", name);
        else if (!e->string || (chirpstack_lpp(res, e, map, n_map) && tts_lpp(res, e, map, n_map)))
            fw_codec_skip(res, FW_CODEC_SKIP_UNKNOWN_NAME, "%.60s: no metric of that name", name);
    }
    return 0;
}
