/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for everything that reads a LoRa uplink: the forestwatch frame and Cayenne
 * LPP decoders, and the ChirpStack and TTS message parsers. The first input byte picks the
 * decoder, so one corpus covers all four; the rest is the input. Every decoder must return
 * either 0 or a negative code with a reason, never read outside the input (ASan) and never leak
 * (LeakSanitizer). A frame that decodes is encoded again where the format allows it and must
 * decode to the same values, which catches encoder/decoder drift.
 */
#include "forestwatch/codec.h"
#include "forestwatch/lns.h"
#include "forestwatch/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(int rc, const struct fw_codec_result *res)
{
    FW_ASSERT(rc <= 0);
    FW_ASSERT(rc == 0 ? res->error[0] == '\0' : res->n == 0 && res->error[0] != '\0');
    FW_ASSERT(res->n >= 0 && res->n <= FW_CODEC_MAX_VALUES);
}

static void fuzz_frame(const uint8_t *p, size_t n)
{
    struct fw_codec_result res, again;
    int rc = fw_codec_decode(p, n, &res);
    check_result(rc, &res);
    if (rc)
        return;
    /* A valid frame is canonical: there is one encoding of its values, and it is this one. */
    struct fw_codec_sample samples[FW_CODEC_MAX_SAMPLES];
    unsigned fields = p[1] & FW_CODEC_F_FIELDS;
    int nfields = __builtin_popcount(fields), ns = res.n / nfields;
    memset(samples, 0, sizeof(samples));
    for (int i = 0; i < res.n; i++) {
        struct fw_codec_sample *s = &samples[i / nfields];
        const struct fw_codec_value *v = &res.values[i];
        s->offset_s = v->offset_s;
        if (strcmp(v->metric, "air_temp_c") == 0)
            s->temp_c = v->value;
        else if (strcmp(v->metric, "rel_humidity_pct") == 0)
            s->rh_pct = v->value;
        else if (strcmp(v->metric, "smoke_ppm") == 0)
            s->smoke_ppm = v->value;
        else if (strcmp(v->metric, "co_ppm") == 0)
            s->co_ppm = v->value;
        else if (strcmp(v->metric, "battery_v") == 0)
            s->battery_v = v->value;
        else
            s->trap_count = (uint32_t)v->value;
    }
    uint8_t buf[FW_CODEC_MAX_FRAME];
    size_t len = 0;
    FW_ASSERT(fw_codec_encode(fields, samples, ns, buf, sizeof(buf), &len) == 0);
    FW_ASSERT(fw_codec_decode(buf, len, &again) == 0 && again.n == res.n);
    for (int i = 0; i < res.n; i++)
        FW_ASSERT(again.values[i].value == res.values[i].value &&
                  again.values[i].offset_s == res.values[i].offset_s);
    /* A batch of one at offset 0 is written without the batch header: shorter, same values. */
    FW_ASSERT(len == n || (ns == 1 && samples[0].offset_s == 0 && len == n - 3));
}

static void fuzz_lpp(const uint8_t *p, size_t n)
{
    static const struct fw_codec_lpp_map map[] = {{1, "smoke_ppm"}, {2, "co_ppm"}};
    struct fw_codec_result res;
    check_result(fw_codec_lpp_decode(p, n, map, 2, &res), &res);
}

static void fuzz_lns(enum fw_lns_kind kind, const char *topic, const uint8_t *p, size_t n)
{
    struct fw_lns_uplink up = {0};
    struct fw_codec_result res;
    int rc = fw_lns_parse(kind, topic, p, n, &up);
    FW_ASSERT(rc <= 0);
    FW_ASSERT(rc == 0 ? up.error == FW_UPLINK_OK : up.error != FW_UPLINK_OK && !up.decoded);
    if (rc == 0) {
        FW_ASSERT(up.payload_len <= sizeof(up.payload));
        FW_ASSERT(up.f_port >= 0 && up.f_port <= 255);
        FW_ASSERT(up.dev_eui[0] == '\0' || strlen(up.dev_eui) == 16);
        static const struct fw_codec_lpp_map map[] = {{1, "smoke_ppm"}};
        fw_lns_decoded_values(&up, map, 1, &res);
        check_result(0, &res);
        /* What the daemon will do next with the payload. */
        fuzz_frame(up.payload, up.payload_len);
        fuzz_lpp(up.payload, up.payload_len);
    }
    fw_lns_uplink_free(&up);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* Copy into a buffer of exactly the input's size, so that ASan sees any overread. */
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return 0;
    memcpy(p, data + 1, n);
    /* The topic names the event: an uplink's (NULL: taken as one), a status event's, and a TTS
     * topic that may or may not agree with the message's member. */
    static const char *const topics[] = {NULL, "application/1/device/0101010101010101/event/status",
                                         "v3/app@ttn/devices/dev1/up",
                                         "v3/app@ttn/devices/dev1/join"};
    const char *topic = topics[data[0] / 4 % FW_ARRAY_LEN(topics)];
    switch (data[0] % 4) {
    case 0:
        fuzz_frame(p, n);
        break;
    case 1:
        fuzz_lpp(p, n);
        break;
    case 2:
        fuzz_lns(FW_LNS_CHIRPSTACK, topic, p, n);
        break;
    default:
        fuzz_lns(FW_LNS_TTS, topic, p, n);
    }
    free(p);
    return 0;
}
