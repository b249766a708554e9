/* SPDX-License-Identifier: MIT */
/*
 * Uplink decoders turn what a field node sent into readings. This one reads the native JSON
 * of MQTT field nodes (docs/uplink.md; LoRa uplinks go through lns.h and codec.h):
 *
 *   {"node": "bs03-smoke-01", "time": "2026-06-01T04:00:00Z",
 *    "readings": [{"metric": "smoke_ppm", "value": 352.5, "unit": "ppm"}]}
 *
 * A message-level fault (too big, not JSON, unknown node, bad time, ...) rejects the whole
 * message; a reading-level fault (unknown metric, wrong unit, value out of range) drops that
 * reading and keeps the others. Decoders never touch sockets and never log: the caller counts
 * and logs, rate-limited, from the result.
 */
#ifndef FORESTWATCH_UPLINK_H
#define FORESTWATCH_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/config.h"
#include "forestwatch/reading.h"

enum fw_uplink_error {
    FW_UPLINK_OK,
    FW_UPLINK_TOO_BIG,      /* payload over limits.max_payload_bytes */
    FW_UPLINK_BAD_JSON,     /* not JSON, or not a JSON object */
    FW_UPLINK_MISSING,      /* a required field is absent */
    FW_UPLINK_BAD_FIELD,    /* a field has the wrong type or form */
    FW_UPLINK_UNKNOWN_NODE, /* node id not in the config */
    FW_UPLINK_BAD_TIME,     /* unparsable, too far in the future, or too old */
    FW_UPLINK_TOO_MANY,     /* more readings than limits.max_readings */
    FW_UPLINK_UNKNOWN_METRIC,
    FW_UPLINK_BAD_UNIT,
    FW_UPLINK_OUT_OF_RANGE, /* outside the metric's physical range */
    /* LoRa uplinks through a network server (include/forestwatch/lora.h): */
    FW_UPLINK_DUPLICATE,   /* an uplink already seen: dropped silently, only counted */
    FW_UPLINK_FCNT_RESET,  /* warning: the frame counter went back (node reset or replay) */
    FW_UPLINK_BAD_PAYLOAD, /* the device's codec rejected the payload */
    FW_UPLINK__COUNT,
};

#define FW_UPLINK_MAX_ISSUES 8

struct fw_uplink_issue {
    enum fw_uplink_error code;
    char detail[160]; /* e.g. `readings[2].unit: "F" is not the unit of air_temp_c ("degC")` */
};

struct fw_uplink_result {
    char node[FW_READING_MAX_ID]; /* node id when it could be read, else "" */
    struct fw_reading *readings;  /* accepted readings (capacity grows, reused across calls) */
    int n;
    int cap;
    enum fw_uplink_error error; /* FW_UPLINK_OK unless the whole message was rejected */
    struct fw_uplink_issue issues[FW_UPLINK_MAX_ISSUES]; /* first issues, message or reading */
    int nissues;
    int rejected_readings;
};

/**
 * Decode one native JSON uplink of `len` bytes (need not be NUL-terminated). `now_ms` is the
 * gateway's clock, for the time window checks. Returns 0 when at least the message was
 * acceptable (res->n readings, possibly with dropped readings listed in res->issues), or a
 * negative code (-E2BIG, -EINVAL, -ENOENT for an unknown node) with res->error set.
 * `res` must be zeroed before first use and released with fw_uplink_result_free.
 */
int fw_uplink_decode_native(const struct fw_config *cfg, const void *payload, size_t len,
                            int64_t now_ms, struct fw_uplink_result *res);

void fw_uplink_result_free(struct fw_uplink_result *res);

/**
 * The checks every decoder applies to one value a node sent: `metric` is a known metric, a
 * station metric (zone metrics are the gateway's own), `unit` is its unit or alias (not checked
 * when NULL: binary payloads carry no units), and `value` is finite and inside the metric's
 * possible range. Returns FW_UPLINK_OK with *out set to the static metric, or the first failed
 * check: FW_UPLINK_UNKNOWN_METRIC (*out NULL when the name is unknown, else the zone metric),
 * FW_UPLINK_BAD_UNIT or FW_UPLINK_OUT_OF_RANGE (*out set). Pure; any thread.
 */
enum fw_uplink_error fw_uplink_check_value(const char *metric, const char *unit, double value,
                                           const struct fw_metric **out);

/** A stable short name for an error code ("bad_json"), for counters and logs. */
const char *fw_uplink_error_str(enum fw_uplink_error e);

#endif
