/* SPDX-License-Identifier: MIT */
/*
 * LoRa field nodes: from a network server's message (ChirpStack v4, The Things Stack v3) to
 * readings. The module tells uplinks from the servers' other events (by topic and member; only
 * uplinks and ChirpStack's status events give readings, the others are counted), holds the node
 * registry (which device EUI is which node of which zone, and which payload codec it speaks),
 * drops the uplinks it has already seen (the same event type and uplink id, or the same frame
 * counter and payload again), notices a frame counter that goes back, decodes the payload with
 * the device's codec or takes the server's decoded object, applies the same metric, range and
 * time checks as the native JSON decoder, and adds the radio link's health as two station
 * metrics (lora_rssi_dbm, lora_snr_db). It fills the same struct fw_uplink_result as
 * fw_uplink_decode_native, so the daemon feeds and logs both alike. Pure: no sockets, no clock
 * (the caller passes `now`), no logging; devices it does not know are collected for the caller
 * to report once each. See docs/uplink.md.
 */
#ifndef FORESTWATCH_LORA_H
#define FORESTWATCH_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/codec.h"
#include "forestwatch/config.h"
#include "forestwatch/lns.h"
#include "forestwatch/uplink.h"

/* Registry entries: far above any one gateway's nodes; the config is capped anyway. */
#define FW_LORA_MAX_DEVICES 10000
/* LPP analog-input channels a device may map (LPP channels are one byte). */
#define FW_LORA_MAX_LPP_MAP 256
/* Uplink ids remembered for deduplication, across all devices, oldest forgotten first. Both
 * servers re-deliver within seconds to minutes (reconnect, second integration); at one uplink
 * every ten seconds from 1,000 nodes this still covers the last 20 s or more, and the frame
 * counter check catches what falls out of it. */
#define FW_LORA_DEDUP_IDS 2048
/* Distinct unknown devices remembered until the caller takes them. */
#define FW_LORA_MAX_UNKNOWN 64

/* How a device's application payload becomes values (docs/codec.md). */
enum fw_lora_codec {
    FW_LORA_CODEC_FORESTWATCH, /* the project's binary frame, batches included */
    FW_LORA_CODEC_LPP,         /* Cayenne LPP, analog inputs through lpp_map */
    FW_LORA_CODEC_SERVER,      /* the server's decoded object (object / decoded_payload) */
};

/** One registry entry, filled by the caller from its config; borrowed by fw_lora_new. */
struct fw_lora_device {
    const char *dev_eui;  /* 16 hex digits, either case; NULL or "" to match by lns_name only */
    const char *lns_name; /* TTS device_id / ChirpStack deviceName; NULL or "" for none */
    const char *node;     /* the node id readings carry as their station */
    const char *zone;     /* the node's zone */
    enum fw_lora_codec codec;
    const struct fw_codec_lpp_map *lpp_map; /* LPP analog channel -> metric; may be NULL */
    size_t n_lpp_map;
};

/** Counters of one registry entry (or, from fw_lora_node_stats, the sum over a node's). */
struct fw_lora_node_stats {
    uint64_t uplinks;           /* uplinks accepted (duplicates not included) */
    uint64_t duplicates;        /* dropped: an uplink id or frame counter already seen */
    uint64_t malformed;         /* payloads the device's codec rejected */
    uint64_t fcnt_resets;       /* the frame counter went back (or repeated with new data) */
    uint64_t frames_lost;       /* gaps in the frame counter: uplinks nobody heard */
    uint64_t status;            /* ChirpStack status events accepted (battery, margin) */
    uint64_t readings;          /* readings produced, link health included */
    uint64_t rejected_readings; /* values dropped (out of range, too old, no such metric) */
    uint64_t skipped;           /* well-formed values with no metric (an LPP accelerometer) */
    uint64_t skipped_by[FW_CODEC_SKIP__COUNT]; /* the same, per reason */
    int has_fcnt;                              /* 1 once an uplink was accepted; then: */
    uint32_t last_fcnt;
    int64_t last_ms;      /* that uplink's time (UTC ms) */
    char last_error[160]; /* the last malformed payload's reason, "" if none */
};

/** Totals over the whole module. */
struct fw_lora_stats {
    uint64_t messages;        /* calls of fw_lora_decode */
    uint64_t uplinks;         /* accepted (status events included) */
    uint64_t duplicates;      /* dropped as duplicates */
    uint64_t unknown;         /* from devices not in the registry */
    uint64_t rejected;        /* rejected otherwise (not JSON, bad time, malformed payload, ...) */
    uint64_t unknown_dropped; /* unknown devices not remembered: the list was full */
    uint64_t skipped;         /* well-formed values with no metric, over all devices */
    uint64_t events[FW_LNS_EV__COUNT]; /* messages by event type, as fw_lns_parse told them */
};

/** A device that sent uplinks but is not in the registry, as fw_lora_take_unknown reports it. */
struct fw_lora_unknown {
    enum fw_lns_kind kind;
    char dev_eui[17];            /* lowercase hex; "" when the server sent none (TTS ABP) */
    char device[FW_LNS_MAX_STR]; /* the server's name for it ("" if none) */
    uint64_t uplinks;            /* its uplinks seen so far */
    int64_t first_ms, last_ms;   /* the gateway clock (`now_ms`) of its first and last uplink */
};

/** Called once for each unknown device not reported before; `u` is valid during the call. */
typedef void (*fw_lora_unknown_cb)(const struct fw_lora_unknown *u, void *arg);

struct fw_lora;

/**
 * Check one registry entry: an EUI of 16 hex digits or a name (at least one), a node and zone id
 * of 1..63 bytes, a known codec, LPP channels mapped at most once each to station metrics.
 * Returns 0, or -EINVAL with the reason in `why` (`cap` bytes, may be NULL), for example
 * `dev_eui: must be 16 hex digits, got "01010101"`. For the config loader, which prefixes the
 * JSON path. Pure.
 */
int fw_lora_device_check(const struct fw_lora_device *dev, char *why, size_t cap);

/**
 * Build a registry of `n` devices (0..FW_LORA_MAX_DEVICES). Everything is copied: `devs` and
 * the strings and maps it points to may be released after the call. Uplinks are matched by
 * device EUI; an entry's lns_name matches an uplink only when the uplink carries no EUI (TTS
 * with ABP devices) or the entry has none, so that a name reused by another device elsewhere
 * never borrows a registered node's identity. Returns 0 with *out (release with fw_lora_free),
 * -E2BIG over the cap, -EINVAL when an entry fails fw_lora_device_check, or -EEXIST when two
 * entries have the same EUI or the same lns_name; then `why` (`cap` bytes, may be NULL) reads
 * `devices[2].dev_eui: ...` and *out is NULL.
 */
int fw_lora_new(const struct fw_lora_device *devs, size_t n, struct fw_lora **out, char *why,
                size_t cap);

/** Release a registry. NULL is a no-op. */
void fw_lora_free(struct fw_lora *l);

/**
 * Carry the dedup state, frame counters and per-node counters of `from` over to `to`, for the
 * devices both know (by EUI, else by name): a config reload must not let the next uplink's
 * duplicate through, nor report a frame counter reset that did not happen. `from` is unchanged.
 */
void fw_lora_adopt_state(struct fw_lora *to, const struct fw_lora *from);

/**
 * Decode one network-server message of `len` bytes (need not be NUL-terminated) of the given
 * kind, received on `topic` (which names its event: fw_lns_parse), into readings, as
 * fw_uplink_decode_native does for native JSON: station = the device's node, its zone, source
 * FW_SOURCE_LORA. `now_ms` is the gateway's clock; `limits` gives the message size cap
 * (limits->max_payload_bytes, and never more than FW_LNS_MAX_JSON), the cap on values in one
 * payload (max_readings) and the time window (max_future_ms, max_age_ms). The uplink's time is
 * the server's receive time (`now_ms` when it sent none); a batched sample's time is that minus
 * its offset. With a radio report the readings end with lora_rssi_dbm and lora_snr_db at the
 * uplink time, also for an uplink without application data. A ChirpStack status event gives
 * lora_margin_db, lora_external_power and (on battery, when measured) battery_pct at its time.
 *
 * Returns:
 * - 0: accepted; res->n readings (possibly 0), res->issues lists dropped values and warnings
 *   (FW_UPLINK_FCNT_RESET: "frame counter went back from 812 to 3 (node reset or replay)"), and
 *   once per node and skip reason a value that maps to no metric (FW_UPLINK_UNMAPPED);
 * - -ENOMSG: a message of another event than an uplink or a status (a join, a downlink's ack, a
 *   simulated uplink, ...): counted by type in fw_lora_stats, no readings, no issue;
 * - -EALREADY: a duplicate (res->error FW_UPLINK_DUPLICATE, no issue, no readings): count it,
 *   do not log it;
 * - -ENOENT: a device not in the registry (FW_UPLINK_UNKNOWN_NODE, the EUI in the detail); it is
 *   also remembered for fw_lora_take_unknown;
 * - -E2BIG / -EINVAL: rejected whole, res->error and res->issues[0] say why: the message (too
 *   big, not JSON, a field of the wrong type: fw_lns_parse's reasons), its time
 *   (FW_UPLINK_BAD_TIME), too many values (FW_UPLINK_TOO_MANY), or a payload its codec rejected
 *   (FW_UPLINK_BAD_PAYLOAD, also counted in the node's `malformed`).
 * res->node is the node id once the device is known. `res` must be zeroed before first use and
 * released with fw_uplink_result_free. Any thread, one at a time per `l`.
 */
int fw_lora_decode(struct fw_lora *l, enum fw_lns_kind kind, const char *topic, const void *payload,
                   size_t len, int64_t now_ms, const struct fw_cfg_limits *limits,
                   struct fw_uplink_result *res);

/**
 * Report the unknown devices seen since the last call, each once, in the order first seen;
 * returns how many were reported. A device reported before is not reported again while it stays
 * in the list (FW_LORA_MAX_UNKNOWN entries, the least recently seen forgotten first).
 */
size_t fw_lora_take_unknown(struct fw_lora *l, fw_lora_unknown_cb cb, void *arg);

/** The counters of `node`, summed over its registry entries. 0, or -ENOENT for no such node. */
int fw_lora_node_stats(const struct fw_lora *l, const char *node, struct fw_lora_node_stats *out);

/** The module's totals. */
void fw_lora_stats(const struct fw_lora *l, struct fw_lora_stats *out);

/** "forestwatch", "lpp" or "server", and back (-EINVAL for another name): for the config. */
const char *fw_lora_codec_str(enum fw_lora_codec c);
int fw_lora_codec_parse(const char *name, enum fw_lora_codec *out);

#endif
