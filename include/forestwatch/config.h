/* SPDX-License-Identifier: MIT */
/*
 * The configuration: one JSON file (with // and block comments) plus the rule files in a
 * rules.d/ folder beside it, parsed and validated into the typed structs below before anything
 * is applied. Validation collects every error, each naming the file and the JSON path:
 *
 *   forestwatch.json: $.brokers.field.port: must be an integer 1..65535, got 70000
 *
 * Only the loader reads JSON; every other module reads these structs. A struct fw_config is
 * immutable once loaded; a reload builds a new one and swaps it in.
 */
#ifndef FORESTWATCH_CONFIG_H
#define FORESTWATCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "forestwatch/cfg_keys.h"
#include "forestwatch/cfg_text.h"
#include "forestwatch/cnmodel.h"
#include "forestwatch/codec.h"
#include "forestwatch/models.h"
#include "forestwatch/pests.h"

struct cJSON;
struct fw_metric_set;

/* Hard caps on what a config may make the daemon allocate or parse. */
/* A region's central instance lists 100,000 nodes: about 7 MB of JSON. */
#define FW_CONFIG_MAX_FILE_BYTES (32 * 1024 * 1024)

struct fw_cfg_contact {
    char *name;
    char *name_en; /* optional: the name in English texts (the en-US info of CAP) */
    char *phone;
};

struct fw_cfg_point {
    double lat, lon;
};

/* Which model gives a zone's fire_danger_level (docs/models.md, "Which scale"). */
enum fw_cfg_scale {
    FW_SCALE_FWI,      /* the fire model's level table (FWI by default) */
    FW_SCALE_NESTEROV, /* the fire model on Nesterov's classes */
    FW_SCALE_CN,       /* the national forest fire weather rating */
};

struct fw_cfg_zone {
    char *id;
    char *name;    /* display name, e.g. "北山林场 3 号网格" */
    char *name_en; /* optional English name */
    char *county;  /* the county (administrative division code) it lies in, for the bureau's
                      levels published per county; NULL: none */
    bool has_location;
    struct fw_cfg_point location; /* a representative point (centre or lookout) */
    struct fw_cfg_point *polygon; /* optional outline, first point == last point */
    size_t npolygon;
    struct fw_cfg_contact forest_chief; /* the zone's responsible forest chief (林长) */
    struct fw_cfg_contact duty;         /* the duty contact for alerts */
    struct fw_models_zone *fire;        /* the fire-danger model's parameters; NULL: none */
    struct fw_pests_zone *pests;        /* the pest model's parameters; NULL: none */
    struct fw_cnm_zone *cn;             /* the national rating's parameters; NULL: none */
    int danger_scale;                   /* enum fw_cfg_scale */
    char **pests_disabled;              /* ids of the pests the config lists but disables */
    size_t npests_disabled;
};

struct fw_cfg_node {
    char *id;
    char *zone; /* id of a zone in the config */
    char *kind; /* free text, e.g. "smoke", "weather" */
    char *description;
    const struct fw_cfg_zone *zone_ref; /* resolved by the loader */
    char *dev_eui;                      /* a LoRa node: its device EUI (16 hex digits), else NULL */
    char *lns_name; /* or its name at the network server (TTS device_id, ChirpStack deviceName) */
    int lora_codec; /* enum fw_lora_codec: how its payloads are decoded */
    /* Cayenne LPP analog-input channel -> station metric (names static: the metric table's),
     * for the codecs lpp and server; NULL when none. */
    struct fw_codec_lpp_map *lpp_map;
    size_t nlpp_map;
};

/*
 * TLS towards one broker. The server's certificate is always verified against ca_file, and so is
 * its name (server_name, else the broker's host). Paths are resolved against the config's folder
 * and were readable when the config was loaded; they are read again at every connection attempt.
 */
struct fw_cfg_tls {
    char *ca_file;   /* NULL: plain TCP, no TLS */
    char *cert_file; /* the client certificate (PEM) and its key, both or neither */
    char *key_file;
    char *server_name; /* name the server certificate must carry; NULL: the broker's host */
};

#define FW_CFG_MAX_BROKER_NODES 16 /* nodes of one broker cluster (FW_MQTT_MAX_NODES) */

struct fw_cfg_broker_node {
    char *host;
    int port;
};

struct fw_cfg_broker {
    char *name;
    char *host;
    int port;
    char *client_id;
    char *username;
    char *password_file; /* resolved path of the file holding the password, or NULL */
    char *password_env;  /* name of the environment variable holding it, or NULL */
    char *password;      /* the secret read from either at load; never logged or printed */
    struct fw_cfg_tls tls;
    int keepalive_s;
    int64_t reconnect_min_ms;
    int64_t reconnect_max_ms;
    /*
     * false (the default): a persistent session, so the broker keeps the subscriptions and the
     * QoS 1 messages that arrive for them while the gateway is away (a restart, an outage).
     */
    bool clean_session;
    /* A cluster's nodes, tried in turn (docs/mqtt.md, "Clusters"); NULL for a single broker.
     * With nodes, host and port are the first node's. */
    struct fw_cfg_broker_node *nodes;
    size_t nnodes;
};

enum fw_uplink_format {
    FW_UPLINK_NATIVE = 0, /* the project's own JSON, see docs/uplink.md */
    FW_UPLINK_CHIRPSTACK, /* ChirpStack v4 JSON integration uplinks (LoRa nodes) */
    FW_UPLINK_TTS,        /* The Things Stack v3 uplink messages (LoRa nodes) */
    FW_UPLINK_METEO,      /* the meteorology bureau's observations and forecasts (docs/meteo.md) */
};

struct fw_cfg_uplink {
    char *broker; /* name of a broker */
    char *topic;  /* subscription filter, may contain + and # */
    int qos;
    enum fw_uplink_format format;
};

/* How a route's messages are written: the project's JSON, CAP 1.2 XML, or CAP's JSON rendering. */
enum fw_route_format { FW_FORMAT_JSON, FW_FORMAT_CAP_XML, FW_FORMAT_CAP_JSON };

struct fw_cfg_route {
    char *name;
    char *broker;
    char *topic; /* alerts are published here, QoS given below, never retained */
    int qos;
    enum fw_route_format format;
    int64_t group_window_ms; /* new alerts of one zone within this window go as one message */
};

enum fw_cmp_op { FW_OP_GT, FW_OP_GE, FW_OP_LT, FW_OP_LE, FW_OP_EQ, FW_OP_NE };

/* CAP 1.2 severity values; the order is from least to most severe. */
enum fw_severity {
    FW_SEV_UNKNOWN,
    FW_SEV_MINOR,
    FW_SEV_MODERATE,
    FW_SEV_SEVERE,
    FW_SEV_EXTREME,
};

/* CAP 1.2 category values used by forestwatch. */
enum fw_category { FW_CAT_FIRE, FW_CAT_ENV, FW_CAT_MET, FW_CAT_SAFETY, FW_CAT_OTHER };

/* CAP 1.2 urgency and certainty values. */
enum fw_urgency { FW_URG_IMMEDIATE, FW_URG_EXPECTED, FW_URG_FUTURE, FW_URG_PAST, FW_URG_UNKNOWN };
enum fw_certainty {
    FW_CERT_OBSERVED,
    FW_CERT_LIKELY,
    FW_CERT_POSSIBLE,
    FW_CERT_UNLIKELY,
    FW_CERT_UNKNOWN,
};

struct fw_cfg_label {
    char *key, *value;
};

/* A message template in one language: placeholders such as {zone_name} and {value}. */
struct fw_cfg_template {
    char *headline;
    char *description;
};

struct fw_expr;

struct fw_cfg_rule {
    char *name;
    char *file; /* the file the rule came from, for messages */
    char *description;
    char *expr_src; /* the condition; written out from metric/op/threshold when those are used */
    struct fw_expr *expr; /* compiled by the loader */
    char *clear_src;      /* optional: once firing, the alert resolves only when this holds */
    struct fw_expr *clear;
    int64_t for_ms;             /* how long expr must hold before the alert fires */
    int64_t keep_firing_for_ms; /* how long expr must stay false before the alert resolves */
    char *metric;               /* the threshold form: metric op threshold */
    enum fw_cmp_op op;
    double threshold;
    char **zones; /* NULL: every zone */
    size_t nzones;
    char **kinds; /* per-station rules: only nodes of these kinds; NULL: every node */
    size_t nkinds;
    enum fw_severity severity;
    enum fw_urgency urgency;
    enum fw_certainty certainty;
    enum fw_category category;
    char **routes;
    size_t nroutes;
    size_t *route_idx; /* indexes into fw_config.routes, resolved by the loader */
    struct fw_cfg_label *labels;
    size_t nlabels;
    struct fw_cfg_template zh; /* "zh-CN" */
    struct fw_cfg_template en; /* "en-US" */
    int64_t repeat_every_ms;   /* resend while firing and not acknowledged; 0: never */
    double update_delta;       /* send an update when the value moved this much; 0: never */
    char **inhibits; /* rules whose alerts in the same zone this rule's alerts hold back */
    size_t ninhibits;
};

/* An alert of at least `min_severity` not acknowledged `after_ms` after it fired is sent again
 * with its urgency raised one step, to its routes and to these. */
struct fw_cfg_escalation {
    enum fw_severity min_severity;
    int64_t after_ms;
    char **routes;
    size_t nroutes;
    size_t *route_idx;
};

/* Where duty officers' acknowledgements arrive: {"id": "...", "by": "...", "time": "..."}. */
struct fw_cfg_acks {
    char *broker; /* NULL: no acknowledgements */
    char *topic;
};

/* A Modbus bus: a TCP endpoint or a serial port (docs/modbus.md). */
enum fw_cfg_bus_kind { FW_BUS_TCP, FW_BUS_RTU };

struct fw_cfg_bus {
    char *name;
    enum fw_cfg_bus_kind kind;
    char *host; /* tcp */
    int port;
    char *device; /* rtu: the serial device */
    int baud;
    int parity; /* 0 'N', 1 'E', 2 'O' */
    int data_bits;
    int stop_bits;
    bool rs485;
    int64_t pause_ms; /* between two requests, on top of the inter-frame gap */
};

struct fw_profile;

/* A Modbus device; each is also a station (a node of its zone) named by its id. */
struct fw_cfg_device {
    char *id;
    char *bus;
    int unit_id;
    char *profile; /* the name of a file in the profiles folder, without ".json" */
    char *zone;
    int64_t interval_ms;
    int64_t timeout_ms; /* 0: not set, the poller's default */
    int retries;
    const struct fw_profile *profile_ref; /* loaded by the loader, owned by the config */
};

/* The durable outbox and alert history (docs/outbox.md). */
struct fw_cfg_store {
    char *path; /* the SQLite file; relative paths are resolved against the config's folder */
    int rate_per_route;       /* publishes per second per route when a backlog drains */
    int history_days;         /* how long the alert history is kept */
    int max_queued_per_route; /* undelivered messages per route; more are published unsaved */
};

/* How CAP messages are written (docs/cap.md). */
struct fw_cfg_cap {
    int utc_offset_min;       /* local offset of the times written, minutes east of UTC */
    int status;               /* 0 Actual, 1 Exercise, 2 Test (enum fw_cap_status) */
    char *sender;             /* NULL: "forestwatch@<gateway id>" */
    double circle_radius_km;  /* the circle around a zone known only by its location */
    int64_t expires_after_ms; /* how long a firing alert's message is in effect, unless its
                               * value is a daily one (fw_alert_validity) */
};

/* Retained current state per zone (danger level, open alerts) for late-joining systems. */
struct fw_cfg_state {
    char *broker;       /* NULL: not published */
    char *topic_prefix; /* state of zone Z goes to <topic_prefix>/<Z>, retained */
};

struct fw_cfg_engine {
    int64_t eval_interval_ms; /* every rule is evaluated at each multiple of this */
    int64_t lookback_ms;      /* how old a station's latest value may be and still count */
    int max_samples;          /* per series: the cap on what windows can hold */
    int64_t max_window_ms;    /* the longest window a rule may use */
    int max_series;           /* series the engine holds at most; 0: what the config can use */
};

struct fw_cfg_record {
    char *dir;              /* NULL: readings are not recorded */
    int64_t max_file_bytes; /* a file is rotated past this size */
    int max_files;          /* the oldest beyond this many are deleted */
};

/* An active/standby group of gateways (docs/ha.md); group NULL: the gateway is alone. */
struct fw_cfg_ha {
    char *group, *member;    /* the group's id and this member's */
    int priority;            /* the freshest member with the highest priority is active */
    int64_t heartbeat_ms;    /* a heartbeat on the group topic this often */
    int64_t dead_after_ms;   /* a member not heard this long is gone */
    int64_t settle_ms;       /* inputs wait this long, then go to the core in time order */
    int64_t rescue_after_ms; /* a standby sends what was not announced delivered this long */
    char *topic_prefix;      /* the group's topics, on the status broker */
};

/* The console's HTTP server (docs/console.md); off unless the config has the section. */
struct fw_cfg_console {
    bool enabled;
    char *listen; /* a numeric IPv4 or IPv6 address */
    int port;
    int64_t client_timeout_ms; /* an idle or slow client is cut off after this */
    int max_connections;
};

struct fw_cfg_limits {
    size_t max_payload_bytes; /* larger uplinks are rejected unparsed */
    int max_readings;         /* per uplink message */
    int64_t max_future_ms;    /* a reading further ahead of the gateway clock is rejected */
    int64_t max_age_ms;       /* an older reading is rejected */
    /* Per node, a token bucket: messages beyond it are dropped and reported (a flooding node). */
    double node_messages_per_s;
    double node_burst;
};

struct fw_config {
    char *path;       /* the main file, as given */
    char *rules_dir;  /* resolved rules.d path, or NULL when absent */
    char *gateway_id; /* in alert ids and the status topic */
    char *gateway_name;
    char *gateway_name_en; /* optional: the name in English texts */
    char *status_broker;   /* broker that carries the retained online/offline status */
    char *status_topic;
    int log_level;
    bool watch_config; /* reload when the main file or a rule file changes, as on SIGHUP */
    struct fw_cfg_limits limits;
    struct fw_cfg_engine engine;
    struct fw_cfg_record record;
    struct fw_cfg_ha ha;
    struct fw_cfg_console console;

    struct fw_cfg_broker *brokers;
    size_t nbrokers;
    struct fw_cfg_uplink *uplinks;
    size_t nuplinks;
    struct fw_cfg_zone *zones;
    size_t nzones;
    struct fw_cfg_node *nodes; /* sorted by id */
    size_t nnodes;
    struct fw_cfg_route *routes;
    size_t nroutes;
    struct fw_cfg_rule *rules;
    size_t nrules;
    struct fw_cfg_escalation *escalations;
    size_t nescalations;
    struct fw_cfg_acks acks;
    struct fw_cfg_state state;
    struct fw_cfg_cap cap;
    struct fw_cfg_store store;
    char *unknown_devices_topic; /* on the status broker: LoRa devices not in the config */
    struct fw_cfg_bus *buses;
    size_t nbuses;
    struct fw_cfg_device *devices;
    size_t ndevices;
    char *profiles_dir; /* resolved; NULL: no profiles folder */
    /* The national rating's table file as resolved, NULL: the built-in tables; its tables are
     * copied into every zone's `cn` parameters. */
    char *cn_tables_file;
    struct fw_cnr_tables cn_tables;
    struct fw_profile **profiles; /* the profiles the devices use, each loaded once */
    size_t nprofiles;
    /* The metrics the config declares (`metrics`), never NULL. Its rules, profiles and nodes
     * may use them; readings find them by name once the caller puts the set in effect with
     * fw_metric_use (reading.h), which it must undo before freeing the config. */
    struct fw_metric_set *metrics;
};

/**
 * Load and validate `path` and the rules.d folder beside it. Returns 0 and a new config in *out
 * (owned by the caller, release with fw_config_free), or -EINVAL with every error in *errs (the
 * caller releases them with fw_cfg_errors_clear), or -ENOENT/-EIO/-E2BIG when the file cannot be
 * read (also described in *errs). Touches no live state: metric names resolve against the
 * built-in table and the file's own `metrics` only, whatever set is in effect. Any thread.
 */
int fw_config_load(const char *path, struct fw_config **out, struct fw_cfg_errors *errs);

/*
 * What the config loader asks of the world, so that loading itself is pure: fw_config_load
 * passes files and the environment (config_files.c); a test, or a standby given its active
 * peer's files, passes its own. `arg` is handed back to each. Paths are as the loader builds them
 * (the config's folder joined with what the config names).
 */
struct fw_cfg_io {
    void *arg;
    /* As fw_cfg_read_text: the text of `path` (free()) with its comments blanked, or NULL with
     * the reason added to `errs` and *rc set. */
    char *(*read_text)(void *arg, const char *path, const char *shown, size_t max_bytes,
                       size_t *len, struct fw_cfg_errors *errs, int *rc);
    /* The names of the entries of folder `dir`, in any order (an array of strings, each and the
     * array to free()), or a negative errno (-ENOENT: no such folder). */
    int (*list_dir)(void *arg, const char *dir, char ***names, size_t *n);
    /* 1 when `path` does not exist. */
    int (*missing)(void *arg, const char *path);
    /* 0 when `path` is a regular file that can be read; else -1 after reporting why at c's
     * path, naming the file `shown`. */
    int (*check_file)(void *arg, struct fw_cfg_ctx *c, const char *path, const char *shown);
    /* Read the start of `path` into buf, at most size - 1 bytes (*n; not NUL-terminated), at
     * least through its first newline when it has one (a password file: the password is the
     * first line); 0, or -1 after reporting why not as check_file does. */
    int (*read_head)(void *arg, struct fw_cfg_ctx *c, const char *path, const char *shown,
                     char *buf, size_t size, size_t *n);
    /* The value of environment variable `name`, or NULL when it is not set. */
    const char *(*getenv)(void *arg, const char *name);
};

/** fw_config_load with every file and variable taken from `io`. Pure but for what io does. */
int fw_config_load_io(const char *path, const struct fw_cfg_io *io, struct fw_config **out,
                      struct fw_cfg_errors *errs);

/** Release a config. NULL is a no-op. */
void fw_config_free(struct fw_config *cfg);

/**
 * What `forestwatchd -t` and `forestwatch check-config` do: load `path`, print
 * "configuration OK" to `out` or the errors to `err`. Returns 0 when valid, 1 otherwise.
 */
int fw_config_check(const char *path, FILE *out, FILE *err);

/** Look-ups by id (binary search or linear scan); NULL when absent. */
const struct fw_cfg_node *fw_config_node(const struct fw_config *cfg, const char *id);
const struct fw_cfg_zone *fw_config_zone(const struct fw_config *cfg, const char *id);
const struct fw_cfg_broker *fw_config_broker(const struct fw_config *cfg, const char *name);

/**
 * A zone's local standard time, minutes east of UTC, for its dates and the times its texts name:
 * its fire model's offset, else its pest model's, else the one CAP times are written in
 * (`cap.utc_offset_min`), which is also the answer for z == NULL (no zone, or a removed one).
 */
int fw_config_zone_offset_min(const struct fw_config *cfg, const struct fw_cfg_zone *z);

/** Names for enum values, as written in the config ("gt" is ">", etc.). */
const char *fw_cmp_op_str(enum fw_cmp_op op);
const char *fw_severity_str(enum fw_severity s);
const char *fw_category_str(enum fw_category c);
const char *fw_urgency_str(enum fw_urgency u);
const char *fw_certainty_str(enum fw_certainty c);

/**
 * What a valid config does that an operator may not mean: a pest listed but disabled, a rule
 * whose kinds match no node. Calls `say` with each note (one line, no prefix); check-config
 * prints them and the daemon logs them at every start and reload.
 */
void fw_config_notes(const struct fw_config *cfg, void (*say)(void *arg, const char *note),
                     void *arg);

/** 1 when rule `r` applies in zone `zone`: it lists no zones, or lists this one. Pure. */
int fw_cfg_rule_in_zone(const struct fw_cfg_rule *r, const char *zone);

/**
 * 1 when node `n` is a context of per-station rule `r`: in one of its zones and of one of its
 * kinds, when it lists them (a node without a kind is of none). Pure.
 */
int fw_cfg_rule_covers(const struct fw_cfg_rule *r, const struct fw_cfg_node *n);

/** The number of configured nodes rule `r` covers (fw_cfg_rule_covers). */
size_t fw_cfg_rule_nodes(const struct fw_config *cfg, const struct fw_cfg_rule *r);

/**
 * 1 when two rules would behave the same (condition, clear, for, keep_firing_for, zones), so
 * that a reload keeps their state as it is. Kinds are not compared: the engine checks each kept
 * context against the new rule's zones and kinds itself.
 */
int fw_cfg_rule_same_logic(const struct fw_cfg_rule *a, const struct fw_cfg_rule *b);

/* Placeholders that templates may use, NULL-terminated. */
extern const char *const fw_template_placeholders[];

/** 1 when two broker definitions would make the same connection. */
int fw_cfg_broker_equal(const struct fw_cfg_broker *a, const struct fw_cfg_broker *b);

/** Whether two ha sections are the same (a member's reload may not change it). */
int fw_config_ha_equal(const struct fw_cfg_ha *a, const struct fw_cfg_ha *b);

#endif
