/* SPDX-License-Identifier: MIT */
/*
 * A reading is one measured or derived value: {source, station, zone, metric, value, unit, time}.
 * Every source turns what it receives into readings; nothing downstream knows where a reading
 * came from. Metric names carry their unit (`smoke_ppm`), in the Prometheus manner, and the
 * table in reading.c is the one list of metrics the gateway knows.
 */
#ifndef FORESTWATCH_READING_H
#define FORESTWATCH_READING_H

#include <stdint.h>

#define FW_READING_MAX_ID 64 /* node, station and zone ids, metric names */

/* A zone metric is derived at most once a day (the fire model's codes at local noon): its latest
 * value stays current this long for an instant read, whatever engine.lookback_ms says, so that
 * a daily level is not stale an hour after it was computed. A day plus the longest noon window. */
#define FW_METRIC_ZONE_LOOKBACK_MS (26 * 3600 * 1000LL)

/* Where a reading came from; rules can select on it with source="...". */
enum fw_source_kind {
    FW_SOURCE_MQTT_NATIVE, /* "mqtt": a field node's native JSON uplink */
    FW_SOURCE_DERIVED,     /* "derived": computed by the gateway's models */
    FW_SOURCE_MODBUS,      /* "modbus": polled from a Modbus device (docs/modbus.md) */
    FW_SOURCE_LORA,        /* "lora": a LoRa node through a network server (docs/uplink.md) */
    FW_SOURCE_METEO,       /* "meteo": the meteorology bureau's feed (docs/meteo.md) */
    FW_SOURCE__COUNT,
};

/* Who a metric's values belong to: a station (a field node) or a whole zone (derived). */
enum fw_metric_scope { FW_METRIC_STATION, FW_METRIC_ZONE };

struct fw_metric {
    const char *name;  /* "smoke_ppm" */
    const char *unit;  /* canonical unit as written in uplinks: "ppm" */
    const char *alias; /* another accepted spelling of the unit, or NULL ("°C" for "degC") */
    double min, max;   /* physically possible range; outside it a value is rejected */
    const char *help;
    enum fw_metric_scope scope;
};

struct fw_reading {
    enum fw_source_kind source;
    char station[FW_READING_MAX_ID]; /* node or station id */
    char zone[FW_READING_MAX_ID];
    const struct fw_metric *metric; /* points into the static table */
    double value;
    int64_t time_ms; /* when it was measured (UTC ms) */
};

/** Look up a metric by name; NULL when unknown. The result is static. */
const struct fw_metric *fw_metric_find(const char *name);

/** 1 when `unit` is the metric's unit or its accepted alias. */
int fw_metric_unit_ok(const struct fw_metric *m, const char *unit);

/** The name of a source kind ("mqtt"), and back; -EINVAL for an unknown name. */
const char *fw_source_str(enum fw_source_kind k);
int fw_source_parse(const char *name, enum fw_source_kind *out);

/** The whole table, for docs and `forestwatch metrics`; *n receives its length. */
const struct fw_metric *fw_metric_table(int *n);

#endif
