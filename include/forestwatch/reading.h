/* SPDX-License-Identifier: MIT */
/*
 * A reading is one measured or derived value: {source, station, zone, metric, value, unit, time}.
 * Every source turns what it receives into readings; nothing downstream knows where a reading
 * came from. Metric names carry their unit (`smoke_ppm`), in the Prometheus manner. The gateway
 * knows the metrics of the built-in table in reading.c and those the running config declares
 * (a metric set, below); both are looked up, checked and stored alike.
 */
#ifndef FORESTWATCH_READING_H
#define FORESTWATCH_READING_H

#include <stddef.h>
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

/*
 * A metric. Built-in ones are static; declared ones (fw_metric_set_add) live as long as the
 * process, so a pointer to any metric stays valid wherever it was copied to.
 */
struct fw_metric {
    const char *name;  /* "smoke_ppm" */
    const char *unit;  /* canonical unit as written in uplinks: "ppm"; "bool" and "count" too */
    const char *alias; /* another accepted spelling of the unit, or NULL ("°C" for "degC") */
    double min, max;   /* physically possible range; outside it a value is rejected */
    const char *help;  /* what it means, in English where known; never NULL */
    enum fw_metric_scope scope;
    const char *help_zh; /* what it means in Chinese, or NULL (built-in metrics have none) */
};

struct fw_reading {
    enum fw_source_kind source;
    char station[FW_READING_MAX_ID]; /* node or station id */
    char zone[FW_READING_MAX_ID];
    const struct fw_metric *metric; /* points into the static table */
    double value;
    int64_t time_ms; /* when it was measured (UTC ms) */
};

/**
 * Look up a metric by name: a built-in one, or one of the declared metrics in effect on this
 * thread (fw_metric_declared). NULL when unknown. The result lives as long as the process.
 * Any thread.
 */
const struct fw_metric *fw_metric_find(const char *name);

/** The built-in metric named `name`, or NULL: never a declared one. Pure. */
const struct fw_metric *fw_metric_builtin(const char *name);

/**
 * The known metric (as fw_metric_find) whose name is nearest to `name`, at most two edits away,
 * for a "did you mean" in a message; NULL when none is that near.
 */
const struct fw_metric *fw_metric_nearest(const char *name);

/** 1 when `unit` is the metric's unit or its accepted alias. */
int fw_metric_unit_ok(const struct fw_metric *m, const char *unit);

/** The name of a source kind ("mqtt"), and back; -EINVAL for an unknown name. */
const char *fw_source_str(enum fw_source_kind k);
int fw_source_parse(const char *name, enum fw_source_kind *out);

/** The built-in table, for docs and `forestwatch metrics`; *n receives its length. */
const struct fw_metric *fw_metric_table(int *n);

/*
 * Declared metrics: quantities the built-in table lacks (leaf wetness, PM2.5, snow depth), which
 * an operator declares in the config (docs/config.md, `metrics`). A metric set holds one
 * config's declarations; it is built by the config loader and immutable afterwards.
 *
 * Every metric has an id, dense from 0: the built-in ones in table order, then one per declared
 * (name, unit) in the order first seen. Ids are never reused, so the engine can keep arrays per
 * metric and a series store can outlive the config that declared a metric. A declaration seen
 * again unchanged (a reload) gives the very same struct; a changed range or meaning gives a new
 * struct with the same id, so samples carry over; a changed unit is another metric.
 *
 * Threads: declared structs are never freed or changed, so a thread that holds a pointer (a
 * Modbus worker, through its profile) may read it at any time. Lookups by name go through the
 * set in effect: the thread's own (fw_metric_scope), else the process's (fw_metric_use).
 */
struct fw_metric_set;

#define FW_METRIC_MAX_DECLARED 256  /* metrics one config may declare */
#define FW_METRIC_MAX_VERSIONS 4096 /* distinct declarations one process takes in */
#define FW_METRIC_MAX_UNIT 16       /* bytes of a declared metric's unit or unit alias */
#define FW_METRIC_MAX_HELP 200      /* bytes of a declared metric's meaning */

/** An empty set. Never fails. */
struct fw_metric_set *fw_metric_set_new(void);

/** Release a set; the metrics it held stay valid. It must not be in effect. NULL is a no-op. */
void fw_metric_set_free(struct fw_metric_set *s);

/**
 * Declare `decl` (a station metric: its scope is ignored) in `s`. Its strings are copied; the
 * caller has checked them (the config loader says what is wrong, where). Returns 0 and the
 * declared metric in *out, or -EEXIST when `s` or the built-in table has the name, -ENOSPC when
 * `s` holds FW_METRIC_MAX_DECLARED, or -EOVERFLOW when the process took in
 * FW_METRIC_MAX_VERSIONS distinct declarations (a restart starts over). Any thread.
 */
int fw_metric_set_add(struct fw_metric_set *s, const struct fw_metric *decl,
                      const struct fw_metric **out);

/** The number of metrics in `s` (NULL: 0), and metric i of them, in the order declared. */
size_t fw_metric_set_len(const struct fw_metric_set *s);
const struct fw_metric *fw_metric_set_at(const struct fw_metric_set *s, size_t i);

/**
 * Put `s` (NULL: none) in effect for the whole process: the running config's set, which the
 * daemon changes on the loop thread when a config goes live. `s` must stay valid until it is
 * replaced, and no other thread may be looking a name up at the time (in the daemon only the
 * loop thread looks metrics up by name). Returns the set it replaced.
 */
const struct fw_metric_set *fw_metric_use(const struct fw_metric_set *s);

/**
 * Put `s` in effect for the calling thread only, in place of the process's (NULL: back to the
 * process's). The config loader validates a config against its own declarations this way,
 * without touching what the running config sees. Returns the thread's previous one.
 */
const struct fw_metric_set *fw_metric_scope(const struct fw_metric_set *s);

/** The set fw_metric_find consults on this thread besides the built-in table, or NULL. */
const struct fw_metric_set *fw_metric_declared(void);

/** The id of `m` (see above). Cheap: the hot path asks it per reading. */
int fw_metric_id(const struct fw_metric *m);

/** One more than the highest id handed out so far (a bound for arrays indexed by id). */
int fw_metric_count(void);

#endif
