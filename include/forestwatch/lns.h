/* SPDX-License-Identifier: MIT */
/*
 * LoRaWAN network-server uplinks. LoRa field nodes reach the gateway through a network server
 * (ChirpStack v4 or The Things Stack v3), which publishes each uplink as JSON on MQTT. This module
 * reads those messages into one intermediate struct that does not depend on the config: who sent
 * it (device EUI, name), which uplink it is (deduplication id, frame counter), the application
 * payload bytes and port, when it was received, the server's own decoded object if it has one,
 * and the radio metadata. Turning that into readings (node registry, payload codec per device)
 * is the caller's business. Like the native decoder, the parsers never log and report every
 * rejection with a precise reason; both servers leave out fields that hold their default (fCnt 0,
 * fPort, object), and those absences are not errors. See docs/uplink.md.
 */
#ifndef FORESTWATCH_LNS_H
#define FORESTWATCH_LNS_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/codec.h"
#include "forestwatch/uplink.h"

struct cJSON;

/* A network server's message is a few hundred bytes per gateway that heard the uplink; this is
 * far above any real one and is checked before parsing. */
#define FW_LNS_MAX_JSON (64 * 1024)
/* Device names, ids and uplink ids: TTS ids are at most 36 bytes, ChirpStack UUIDs 36. */
#define FW_LNS_MAX_STR 64

enum fw_lns_kind {
    FW_LNS_CHIRPSTACK, /* ChirpStack v4, JSON integration events */
    FW_LNS_TTS,        /* The Things Stack v3, application-up messages */
};

/*
 * What a network server's message is. Both servers publish more than uplinks on the topics an
 * application subscribes to (a wildcard filter gets them all): only FW_LNS_EV_UP carries sensor
 * data, FW_LNS_EV_STATUS the node's own report of its battery and link margin; the others are
 * counted and ignored. The names are those of the topics (docs/uplink.md).
 */
enum fw_lns_event {
    FW_LNS_EV_UP,               /* an uplink: "up" (both servers) */
    FW_LNS_EV_STATUS,           /* ChirpStack "status": the node's DevStatusAns (battery, margin) */
    FW_LNS_EV_JOIN,             /* "join" (both) */
    FW_LNS_EV_ACK,              /* ChirpStack "ack": a confirmed downlink acknowledged or not */
    FW_LNS_EV_TXACK,            /* ChirpStack "txack": a gateway took a downlink */
    FW_LNS_EV_LOG,              /* ChirpStack "log" */
    FW_LNS_EV_LOCATION,         /* ChirpStack "location" */
    FW_LNS_EV_INTEGRATION,      /* ChirpStack "integration" (an integration's own event) */
    FW_LNS_EV_COMMAND,          /* ChirpStack "command/...": what applications send the server */
    FW_LNS_EV_UP_NORMALIZED,    /* TTS "up/normalized": the same uplink, normalized payload */
    FW_LNS_EV_SIMULATED,        /* TTS "up" with "simulated": true, from the console or API */
    FW_LNS_EV_DOWN_ACK,         /* TTS "down/ack" */
    FW_LNS_EV_DOWN_NACK,        /* TTS "down/nack" */
    FW_LNS_EV_DOWN_SENT,        /* TTS "down/sent" */
    FW_LNS_EV_DOWN_FAILED,      /* TTS "down/failed" */
    FW_LNS_EV_DOWN_QUEUED,      /* TTS "down/queued" */
    FW_LNS_EV_DOWN_INVALIDATED, /* TTS "down/invalidated" */
    FW_LNS_EV_DOWN_PUSH,        /* TTS "down/push", "down/replace": what applications send */
    FW_LNS_EV_LOCATION_SOLVED,  /* TTS "location/solved" */
    FW_LNS_EV_SERVICE_DATA,     /* TTS "service/data" */
    FW_LNS_EV__COUNT,
};

/* A ChirpStack status event: what the node answered to the server's DevStatusReq. */
struct fw_lns_status {
    int margin_db;           /* SNR margin of the request at the node, -32..31 dB */
    int external_power;      /* 1: the node runs on an external power source */
    int battery_unavailable; /* 1: the node cannot measure its battery */
    double battery_pct;      /* 0..100, meaningful when neither of the two above */
};

struct fw_lns_uplink {
    enum fw_lns_kind kind;
    /* What the message is. The fields below are read for UP and STATUS only (STATUS: the
     * device, the uplink id, the time and `status`). */
    enum fw_lns_event event;
    char dev_eui[17];                    /* 16 lowercase hex digits; "" when TTS sent none (ABP) */
    char device[FW_LNS_MAX_STR];         /* ChirpStack deviceName ("" if absent), TTS device_id */
    char uplink_id[FW_LNS_MAX_STR];      /* ChirpStack deduplicationId, TTS "as:up:" correlation id
                                            (else "ns:uplink:"), or "" */
    uint32_t f_cnt;                      /* 0 when left out */
    int f_port;                          /* 0..255; 0 when left out */
    uint8_t payload[FW_CODEC_MAX_FRAME]; /* decoded FRMPayload */
    size_t payload_len;                  /* 0 when the message carries no payload */
    int64_t time_ms;                     /* when the network received it (UTC ms); 0 if unknown */
    /* The server's decoded object (ChirpStack `object`, TTS `decoded_payload`), detached from
     * the message and owned by this struct; NULL when the server has no payload formatter. */
    struct cJSON *decoded;
    int n_gateways;                  /* entries in rxInfo / rx_metadata */
    int has_rssi;                    /* 1 when some gateway reported an RSSI; then: */
    int rssi_dbm;                    /* the best (highest) RSSI */
    double snr_db;                   /* SNR at the gateway with the best RSSI (0 if not reported) */
    char gateway_id[FW_LNS_MAX_STR]; /* that gateway's id ("" if not reported) */
    struct fw_lns_status status;     /* FW_LNS_EV_STATUS only */

    enum fw_uplink_error error; /* FW_UPLINK_OK, TOO_BIG, BAD_JSON, MISSING, BAD_FIELD, BAD_TIME */
    char detail[160];           /* the reason, e.g. "deviceInfo.devEui: must be 16 hex digits" */
};

/**
 * Parse one network-server message of `len` bytes (need not be NUL-terminated) of the given kind,
 * received on `topic`, into `up`, which must be zeroed before first use and released with
 * fw_lns_uplink_free (it may be reused between calls; the previous decoded object is freed).
 *
 * up->event says what the message is. ChirpStack names it only in the topic, whose last level
 * is the event type (`application/<app>/device/<eui>/event/status`); a `command/...` topic is
 * FW_LNS_EV_COMMAND. The Things Stack names it in the topic (`.../devices/<id>/down/ack`) and by
 * the message's member (`downlink_ack`); the member decides, and a topic that names another
 * event is an error; an uplink with "simulated": true is FW_LNS_EV_SIMULATED. Only UP and
 * STATUS messages are read further (a ChirpStack event of another type is not even parsed). A
 * NULL topic is taken as an uplink's, for callers that know that it is one.
 *
 * Returns 0, or a negative code with up->error and up->detail set: -E2BIG (message over
 * FW_LNS_MAX_JSON, payload over FW_CODEC_MAX_FRAME, a string over FW_LNS_MAX_STR - 1 bytes) or
 * -EINVAL (not JSON, a ChirpStack topic whose last level is no event type, a TTS topic that
 * names another event than the message, a required field missing, a field of the wrong type or
 * form, bad base64, a bad time). Any thread; no I/O.
 */
int fw_lns_parse(enum fw_lns_kind kind, const char *topic, const void *json, size_t len,
                 struct fw_lns_uplink *up);

/** Free what `up` owns (the decoded object). `up` may then be reused or dropped. */
void fw_lns_uplink_free(struct fw_lns_uplink *up);

/**
 * Read the server's decoded object, when it has one, as codec values (offset 0):
 * - a member whose name is a metric of the gateway's table ("smoke_ppm") or one of the usual
 *   formatter names ("temperature" -> air_temp_c, "humidity" and "relative_humidity" ->
 *   rel_humidity_pct, "pressure" -> pressure_hpa, "battery" -> battery_v), with a number;
 * - the object of a server's built-in Cayenne LPP codec, in either shape: ChirpStack's, one
 *   member per LPP type holding the channels (`"temperatureSensor": {"3": 27.2}`), and The
 *   Things Stack's, one member per item named type and channel (`"temperature_3": 27.2`). Each
 *   item maps as in an LPP frame (fw_codec_lpp_metric): analog inputs through `map`.
 * Everything else is skipped and counted per reason in `res` (fw_codec_skip): an LPP type
 * without a metric, an unmapped analog channel, an unknown name, a value that is not a finite
 * number. Returns 0 (res->n may be 0, also when up->decoded is NULL). The metric names are
 * static or `map`'s.
 */
int fw_lns_decoded_values(const struct fw_lns_uplink *up, const struct fw_codec_lpp_map *map,
                          size_t n_map, struct fw_codec_result *res);

/** "chirpstack" or "tts": for logs. */
const char *fw_lns_kind_str(enum fw_lns_kind kind);

/** The event's name as its topic gives it ("up", "status", "down/ack"): for counters, logs. */
const char *fw_lns_event_str(enum fw_lns_event ev);

#endif
