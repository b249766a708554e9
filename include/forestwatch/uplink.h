/* SPDX-License-Identifier: MIT */
/*
 * Uplink decoders turn what a field node sent into readings. This one reads the native JSON
 * of MQTT field nodes (docs/uplink.md; LoRa uplinks go through lns.h and codec.h), and the
 * meteorology bureau's feed (below):
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
    FW_UPLINK_UNMAPPED,    /* note: well-formed values that map to no metric were skipped */
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

/*
 * The meteorology bureau's feed (docs/meteo.md): observations of its automatic weather stations,
 *
 *   {"type": "observation", "station": "54511", "time": "2026-06-01T12:00:00+08:00",
 *    "readings": [{"metric": "air_temp_c", "value": 28.4, "unit": "degC"}]}
 *
 * decoded like a native uplink (the station is a node of the config; readings get the source
 * "meteo"), and forecasts of local days per zone,
 *
 *   {"type": "forecast", "issued": "2026-06-01T17:00:00+08:00",
 *    "forecasts": [{"zone": "bs-03", "date": "2026-06-02", "air_temp_c": 31, ...}]}
 *
 * and the bureau's published fire weather levels of local days per zone or per county,
 *
 *   {"type": "fire_danger_level", "issued": "2026-06-01T16:00:00+08:00",
 *    "levels": [{"county": "150781", "date": "2026-06-02", "level": 3}]}
 *
 * whose entries are checked one by one: a bad entry is dropped (counted in rejected_readings,
 * reported in issues) and the others kept. A level entry becomes one struct fw_meteo_forecast
 * with only `level` set per zone it names (every zone of the config in its county).
 */
#define FW_METEO_MAX_LEAD_DAYS 16 /* a forecast date at most this many days after its issue */

/* One day's forecast for one zone. */
struct fw_meteo_forecast {
    char zone[FW_READING_MAX_ID];
    int64_t day;       /* the zone's local date, days since 1970-01-01 */
    int64_t issued_ms; /* the message's "issued" */
    int has_noon;      /* the noon weather and the 24-hour rain to noon, for the fire model */
    double temp_c, rh_pct, wind_ms, rain_mm;
    int has_minmax; /* the day's minimum and maximum temperature, for the pest model */
    double tmin_c, tmax_c;
    int level; /* the bureau's published fire weather level 1..5 of that day; 0: none */
};

/* A growable array of forecasts; zero it before first use, free with fw_meteo_forecasts_free. */
struct fw_meteo_forecasts {
    struct fw_meteo_forecast *v;
    int n, cap;
};

/**
 * Decode one message of the meteorology feed. An observation fills `res` as
 * fw_uplink_decode_native() does; a forecast or a level message fills `fc` (res->n stays 0) and
 * reports dropped entries in `res`. Returns 0 when the message was acceptable, or a negative code
 * with res->error set (as fw_uplink_decode_native()).
 */
int fw_uplink_decode_meteo(const struct fw_config *cfg, const void *payload, size_t len,
                           int64_t now_ms, struct fw_uplink_result *res,
                           struct fw_meteo_forecasts *fc);
void fw_meteo_forecasts_free(struct fw_meteo_forecasts *fc);

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

/**
 * Record an issue of `code` with a printf-style detail in `res`, for the decoders (this module's
 * and the LoRa one's); past FW_UPLINK_MAX_ISSUES issues it is not recorded. Pure; any thread.
 */
void fw_uplink_add_issue(struct fw_uplink_result *res, enum fw_uplink_error code, const char *fmt,
                         ...) __attribute__((format(printf, 3, 4)));

/** A stable short name for an error code ("bad_json"), for counters and logs. */
const char *fw_uplink_error_str(enum fw_uplink_error e);

#endif
