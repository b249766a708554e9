/* SPDX-License-Identifier: MIT */
/*
 * The uplink formats the gateway takes in, as one table: each format (the project's native
 * JSON, the meteorology bureau's feed, ChirpStack and The Things Stack, the LoRaWAN network
 * servers' integrations) is a row {name, decode}, so that a driver decodes any configured uplink
 * through one call and never switches on formats. A new format is a new row. Also here: which
 * configured uplink a message on a broker's topic belongs to (MQTT topic filter matching).
 *
 * Pure: no I/O, no clock (the time a message arrived is passed in). One thread at a time per
 * LoRa registry, as fw_lora_decode() requires.
 */
#ifndef FORESTWATCH_SOURCES_H
#define FORESTWATCH_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/config.h"
#include "forestwatch/uplink.h"

struct fw_lora;

/** What a decoder may need besides the message. */
struct fw_sources_ctx {
    const struct fw_config *cfg;
    struct fw_lora *lora; /* the LoRa node registry and its deduplication state */
};

/** One uplink format. */
struct fw_sources_type {
    const char *name; /* as in the config's uplinks.*.format */
    /* Decode one message into `res` (readings and issues) and, for a feed that has them,
     * forecasts into `fc`. Returns as the format's decoder does. */
    int (*decode)(const struct fw_sources_ctx *c, const char *topic, const void *payload,
                  size_t len, int64_t now_ms, struct fw_uplink_result *res,
                  struct fw_meteo_forecasts *fc);
};

/** The row of format `f`. */
const struct fw_sources_type *fw_sources_type(enum fw_uplink_format f);

/**
 * Decode one message of an uplink of format `f` received at `now_ms`. `fc` is emptied first, so
 * that only a message that carries forecasts leaves any. Returns 0 when the message was
 * acceptable, or a negative code with res->error set: -EINVAL, -E2BIG, -ENOENT (a node not in
 * the config, or a LoRa device not in the registry: fw_lora_take_unknown() reports it), and for
 * the LoRaWAN servers' formats -EALREADY (a copy heard by another gateway) and -ENOMSG (not an
 * uplink), both counted by the registry and not news (fw_lora_decode()).
 */
int fw_sources_decode(enum fw_uplink_format f, const struct fw_sources_ctx *c, const char *topic,
                      const void *payload, size_t len, int64_t now_ms, struct fw_uplink_result *res,
                      struct fw_meteo_forecasts *fc);

/**
 * MQTT topic filter matching (MQTT 3.1.1 section 4.7), level by level: '+' is one level, '#' the
 * rest, including the parent level itself ("a/#" matches "a"). Returns 1 or 0.
 */
int fw_sources_topic_matches(const char *filter, const char *topic);

/** The first uplink of `cfg` on broker `broker` whose topic filter matches `topic`, or NULL. */
const struct fw_cfg_uplink *fw_sources_find(const struct fw_config *cfg, const char *broker,
                                            const char *topic);

#endif
