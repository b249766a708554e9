/* SPDX-License-Identifier: MIT */
/*
 * The table of uplink formats (include/forestwatch/sources.h). Each row adapts one decoder to the
 * common call: the native and meteorology decoders are in gateway/uplink.c, the LoRaWAN network
 * servers' messages (ChirpStack, The Things Stack) are parsed in gateway/lns.c and decoded
 * through the node registry in gateway/lora.c.
 */
#include "forestwatch/sources.h"

#include "forestwatch/lns.h"
#include "forestwatch/lora.h"
#include "forestwatch/util.h"

#include <string.h>

static int decode_native(const struct fw_sources_ctx *c, const char *topic, const void *payload,
                         size_t len, int64_t now_ms, struct fw_uplink_result *res,
                         struct fw_meteo_forecasts *fc)
{
    (void)topic;
    (void)fc;
    return fw_uplink_decode_native(c->cfg, payload, len, now_ms, res);
}

static int decode_meteo(const struct fw_sources_ctx *c, const char *topic, const void *payload,
                        size_t len, int64_t now_ms, struct fw_uplink_result *res,
                        struct fw_meteo_forecasts *fc)
{
    (void)topic;
    return fw_uplink_decode_meteo(c->cfg, payload, len, now_ms, res, fc);
}

static int decode_lns(enum fw_lns_kind kind, const struct fw_sources_ctx *c, const char *topic,
                      const void *payload, size_t len, int64_t now_ms, struct fw_uplink_result *res)
{
    return fw_lora_decode(c->lora, kind, topic, payload, len, now_ms, &c->cfg->limits, res);
}

static int decode_chirpstack(const struct fw_sources_ctx *c, const char *topic, const void *payload,
                             size_t len, int64_t now_ms, struct fw_uplink_result *res,
                             struct fw_meteo_forecasts *fc)
{
    (void)fc;
    return decode_lns(FW_LNS_CHIRPSTACK, c, topic, payload, len, now_ms, res);
}

static int decode_tts(const struct fw_sources_ctx *c, const char *topic, const void *payload,
                      size_t len, int64_t now_ms, struct fw_uplink_result *res,
                      struct fw_meteo_forecasts *fc)
{
    (void)fc;
    return decode_lns(FW_LNS_TTS, c, topic, payload, len, now_ms, res);
}

static const struct fw_sources_type sources_types[] = {
    [FW_UPLINK_NATIVE] = {"native", decode_native},
    [FW_UPLINK_CHIRPSTACK] = {"chirpstack", decode_chirpstack},
    [FW_UPLINK_TTS] = {"tts", decode_tts},
    [FW_UPLINK_METEO] = {"meteo", decode_meteo},
};

const struct fw_sources_type *fw_sources_type(enum fw_uplink_format f)
{
    FW_ASSERT((size_t)f < FW_ARRAY_LEN(sources_types) && sources_types[f].decode);
    return &sources_types[f];
}

int fw_sources_decode(enum fw_uplink_format f, const struct fw_sources_ctx *c, const char *topic,
                      const void *payload, size_t len, int64_t now_ms, struct fw_uplink_result *res,
                      struct fw_meteo_forecasts *fc)
{
    fc->n = 0;
    return fw_sources_type(f)->decode(c, topic, payload, len, now_ms, res, fc);
}

int fw_sources_topic_matches(const char *f, const char *t)
{
    for (;;) {
        const char *fe = strchr(f, '/'), *te = strchr(t, '/');
        size_t fl = fe ? (size_t)(fe - f) : strlen(f), tl = te ? (size_t)(te - t) : strlen(t);
        if (fl == 1 && f[0] == '#')
            return 1;
        if (!(fl == 1 && f[0] == '+') && (fl != tl || memcmp(f, t, fl) != 0))
            return 0;
        if (!fe && !te)
            return 1;
        if (!fe)
            return 0;
        if (!te)
            return strcmp(fe + 1, "#") == 0;
        f = fe + 1;
        t = te + 1;
    }
}

const struct fw_cfg_uplink *fw_sources_find(const struct fw_config *cfg, const char *broker,
                                            const char *topic)
{
    for (size_t i = 0; i < cfg->nuplinks; i++)
        if (strcmp(cfg->uplinks[i].broker, broker) == 0 &&
            fw_sources_topic_matches(cfg->uplinks[i].topic, topic))
            return &cfg->uplinks[i];
    return NULL;
}
