/* SPDX-License-Identifier: MIT */
/*
 * LoRa uplinks to readings: the servers' documented examples through a registry, the same
 * messages with fields left out, every codec path (forestwatch frame single and batched, Cayenne
 * LPP with an analog channel map, the server's decoded object), deduplication by uplink id and
 * by frame counter, a frame counter going back, unknown devices reported once, malformed
 * payloads counted per node, the time and size limits, registry validation and the state kept
 * across a reload.
 */
#include "forestwatch/lora.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"
#include "test.h"

#include <cJSON.h>

#define CS_FILE FW_TEST_DATA "/lora/chirpstack_v4_uplink.json"
#define TTS_FILE FW_TEST_DATA "/lora/tts_v3_uplink.json"

#define CS_EUI "0101010101010101"
#define TTS_EUI "0004A30B001C0530"

static const struct fw_cfg_limits limits = {
    .max_payload_bytes = 16384,
    .max_readings = 64,
    .max_future_ms = 5 * 60 * 1000,
    .max_age_ms = 7LL * 24 * 3600 * 1000,
};

/* docs/codec.md example 1 (a fire node) and example 2 (a pest trap, a batch of two) */
static const uint8_t fire_frame[] = {0x01, 0x1f, 0x09, 0x6f, 0x47, 0x01,
                                     0x60, 0x00, 0x3d, 0x0f, 0x50};
static const uint8_t trap_frame[] = {0x01, 0x61, 0x02, 0x0e, 0x10, 0x07, 0x3a, 0x00,
                                     0x0c, 0x00, 0x00, 0x08, 0x4d, 0x00, 0x03};

static int64_t t(const char *rfc3339)
{
    int64_t ms = 0;
    fw_time_parse(rfc3339, &ms);
    return ms;
}

static cJSON *load(const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[8192];
    size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f)
        fclose(f);
    return cJSON_ParseWithLength(buf, n);
}

static void b64(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Print a message tree and decode it as received on `topic`; `root` is freed. */
static int decode_on(struct fw_lora *l, enum fw_lns_kind kind, const char *topic, cJSON *root,
                     int64_t now, struct fw_uplink_result *res)
{
    char *s = cJSON_PrintUnformatted(root);
    int rc = fw_lora_decode(l, kind, topic, s, strlen(s), now, &limits, res);
    free(s);
    cJSON_Delete(root);
    return rc;
}

/* The same, for a message that is an uplink. */
static int decode_tree(struct fw_lora *l, enum fw_lns_kind kind, cJSON *root, int64_t now,
                       struct fw_uplink_result *res)
{
    return decode_on(l, kind, NULL, root, now, res);
}

/* The ChirpStack example with another device, uplink id, counter (-1: left out) and payload. */
static cJSON *cs_msg(const char *eui, const char *dedup, long long fcnt, const uint8_t *data,
                     size_t n)
{
    char b[400];
    cJSON *root = load(CS_FILE);
    cJSON *info = cJSON_GetObjectItem(root, "deviceInfo");
    cJSON_ReplaceItemInObject(info, "devEui", cJSON_CreateString(eui));
    if (dedup)
        cJSON_ReplaceItemInObject(root, "deduplicationId", cJSON_CreateString(dedup));
    else
        cJSON_DeleteItemFromObject(root, "deduplicationId");
    if (fcnt >= 0)
        cJSON_AddNumberToObject(root, "fCnt", (double)fcnt);
    b64(data, n, b);
    cJSON_ReplaceItemInObject(root, "data", cJSON_CreateString(b));
    return root;
}

static const struct fw_reading *find(const struct fw_uplink_result *res, const char *metric,
                                     int64_t time_ms)
{
    for (int i = 0; i < res->n; i++)
        if (strcmp(res->readings[i].metric->name, metric) == 0 &&
            res->readings[i].time_ms == time_ms)
            return &res->readings[i];
    return NULL;
}

static struct fw_lora *registry(void)
{
    static const struct fw_codec_lpp_map lpp_map[] = {{4, "smoke_ppm"}, {5, "co_ppm"}};
    const struct fw_lora_device devs[] = {
        {CS_EUI, "Test device", "cs-node", "z1", FW_LORA_CODEC_FORESTWATCH, NULL, 0},
        {TTS_EUI, "dev1", "tts-node", "z2", FW_LORA_CODEC_SERVER, NULL, 0},
        {"00000000000000a1", NULL, "lpp-node", "z1", FW_LORA_CODEC_LPP, lpp_map, 2},
        {"00000000000000c3", NULL, "cs-lpp-node", "z1", FW_LORA_CODEC_SERVER, lpp_map, 2},
        {"00000000000000b2", NULL, "trap-node", "z3", FW_LORA_CODEC_FORESTWATCH, NULL, 0},
        {NULL, "abp-node", "abp-node", "z3", FW_LORA_CODEC_FORESTWATCH, NULL, 0},
    };
    struct fw_lora *l = NULL;
    char why[160] = "";
    if (fw_lora_new(devs, FW_ARRAY_LEN(devs), &l, why, sizeof(why)) != 0)
        fprintf(stderr, "fw_lora_new: %s\n", why);
    return l;
}

static int count_issues(const struct fw_uplink_result *res, enum fw_uplink_error code)
{
    int n = 0;
    for (int i = 0; i < res->nissues; i++)
        n += res->issues[i].code == code;
    return n;
}

/* ---- the documented examples ---- */

FW_TEST(chirpstack_example)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_node_stats st;
    int64_t at = t("2022-07-18T09:34:15.775Z");
    ASSERT_TRUE(l != NULL);

    /* As published: its one byte 0xaa is no forestwatch frame. Rejected with the codec's
     * reason, counted against the node, no readings. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK, load(CS_FILE), at + 1000, &res), -EINVAL);
    ASSERT_EQ(res.error, FW_UPLINK_BAD_PAYLOAD);
    ASSERT_EQ(res.n, 0);
    ASSERT_STR_EQ(res.node, "cs-node");
    ASSERT_EQ(res.nissues, 1);
    ASSERT_STR_EQ(res.issues[0].detail, "fPort 1: forestwatch payload of 1 bytes: byte 0: "
                                        "unsupported version 170 (this gateway reads 1)");
    ASSERT_STR_EQ(fw_uplink_error_str(res.error), "bad_payload");
    ASSERT_EQ(fw_lora_node_stats(l, "cs-node", &st), 0);
    ASSERT_EQ(st.malformed, 1);
    ASSERT_EQ(st.uplinks, 0);
    ASSERT_STR_CONTAINS(st.last_error, "unsupported version 170");

    /* The same uplink carrying the fire node frame of docs/codec.md: five values and the
     * radio's two, at the server's receive time. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "cs-2", 1, fire_frame, sizeof(fire_frame)), at + 1000,
                          &res),
              0);
    ASSERT_EQ(res.error, FW_UPLINK_OK);
    ASSERT_EQ(res.nissues, 0);
    ASSERT_EQ(res.n, 7);
    static const struct {
        const char *metric;
        double value;
    } want[] = {{"air_temp_c", 24.15}, {"rel_humidity_pct", 35.5}, {"smoke_ppm", 352},
                {"co_ppm", 6.1},       {"battery_v", 3.92},        {"lora_rssi_dbm", -36},
                {"lora_snr_db", 10.5}};
    for (size_t i = 0; i < FW_ARRAY_LEN(want); i++) {
        const struct fw_reading *r = &res.readings[i];
        ASSERT_STR_EQ(r->metric->name, want[i].metric);
        ASSERT_DBL_NEAR(r->value, want[i].value, 1e-9);
        ASSERT_EQ(r->time_ms, at);
        ASSERT_STR_EQ(r->station, "cs-node");
        ASSERT_STR_EQ(r->zone, "z1");
        ASSERT_EQ(r->source, FW_SOURCE_LORA);
    }
    ASSERT_STR_EQ(fw_source_str(FW_SOURCE_LORA), "lora");
    ASSERT_EQ(fw_lora_node_stats(l, "cs-node", &st), 0);
    ASSERT_EQ(st.uplinks, 1);
    ASSERT_EQ(st.readings, 7);
    ASSERT_EQ(st.last_fcnt, 1);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

FW_TEST(tts_example)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_node_stats st;
    int64_t at = t("2020-02-12T15:15:46.014Z");

    /* Registered in upper case, sent in upper case: one device. The server's decoded object
     * gives air_temp_c; luminosity has no metric and is skipped, not an error: said once. */
    ASSERT_EQ(decode_tree(l, FW_LNS_TTS, load(TTS_FILE), at + 2000, &res), 0);
    ASSERT_EQ(res.nissues, 1);
    ASSERT_EQ(res.issues[0].code, FW_UPLINK_UNMAPPED);
    ASSERT_STR_EQ(res.issues[0].detail, "decoded object: luminosity: no metric of that name "
                                        "(skipped; values like it are counted, and said once)");
    ASSERT_STR_EQ(res.node, "tts-node");
    ASSERT_EQ(res.n, 3);
    ASSERT_STR_EQ(res.readings[0].metric->name, "air_temp_c");
    ASSERT_DBL_NEAR(res.readings[0].value, 1.0, 0);
    ASSERT_STR_EQ(res.readings[1].metric->name, "lora_rssi_dbm");
    ASSERT_DBL_NEAR(res.readings[1].value, -35, 0);
    ASSERT_STR_EQ(res.readings[2].metric->name, "lora_snr_db");
    ASSERT_DBL_NEAR(res.readings[2].value, 5, 0);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(res.readings[i].time_ms, at);
        ASSERT_STR_EQ(res.readings[i].zone, "z2");
    }
    ASSERT_EQ(fw_lora_node_stats(l, "tts-node", &st), 0);
    ASSERT_EQ(st.skipped, 1);
    ASSERT_EQ(st.skipped_by[FW_CODEC_SKIP_UNKNOWN_NAME], 1);
    ASSERT_EQ(st.last_fcnt, 1);

    /* The next uplink skips luminosity again: counted, not said again. */
    cJSON *root = load(TTS_FILE);
    cJSON_ReplaceItemInObject(root, "correlation_ids",
                              cJSON_CreateStringArray((const char *[]){"as:up:second"}, 1));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "uplink_message"), "f_cnt",
                              cJSON_CreateNumber(2));
    ASSERT_EQ(decode_tree(l, FW_LNS_TTS, root, at + 2000, &res), 0);
    ASSERT_EQ(res.nissues, 0);
    ASSERT_EQ(res.n, 3);
    ASSERT_EQ(fw_lora_node_stats(l, "tts-node", &st), 0);
    ASSERT_EQ(st.skipped_by[FW_CODEC_SKIP_UNKNOWN_NAME], 2);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

/* ---- fields left out as the servers leave them out ---- */

FW_TEST(fields_left_out)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_node_stats st;
    int64_t now = t("2026-06-01T04:00:00Z");

    /* fCnt 0 (left out), no fPort, no data, no time: a MAC-only uplink at the gateway's clock
     * gives the link's health and nothing else. */
    cJSON *root = load(CS_FILE);
    cJSON_DeleteItemFromObject(root, "fPort");
    cJSON_DeleteItemFromObject(root, "data");
    cJSON_DeleteItemFromObject(root, "time");
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK, root, now, &res), 0);
    ASSERT_EQ(res.n, 2);
    ASSERT_STR_EQ(res.readings[0].metric->name, "lora_rssi_dbm");
    ASSERT_EQ(res.readings[0].time_ms, now);
    ASSERT_EQ(fw_lora_node_stats(l, "cs-node", &st), 0);
    ASSERT_EQ(st.has_fcnt, 1);
    ASSERT_EQ(st.last_fcnt, 0);

    /* No radio metadata either: an accepted uplink without readings. */
    root = cs_msg(CS_EUI, "cs-3", 1, fire_frame, 0);
    cJSON_DeleteItemFromObject(root, "rxInfo");
    cJSON_DeleteItemFromObject(root, "time");
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK, root, now, &res), 0);
    ASSERT_EQ(res.n, 0);
    ASSERT_EQ(res.error, FW_UPLINK_OK);

    /* TTS without dev_eui (ABP), f_cnt, f_port, decoded_payload: matched by its device_id, and
     * without data the server codec has nothing to say. */
    root = load(TTS_FILE);
    cJSON *msg = cJSON_GetObjectItem(root, "uplink_message");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(root, "end_device_ids"), "dev_eui");
    cJSON_DeleteItemFromObject(msg, "f_cnt");
    cJSON_DeleteItemFromObject(msg, "decoded_payload");
    cJSON_DeleteItemFromObject(msg, "frm_payload");
    cJSON_DeleteItemFromObject(root, "received_at");
    cJSON_DeleteItemFromObject(msg, "received_at");
    ASSERT_EQ(decode_tree(l, FW_LNS_TTS, root, now, &res), 0);
    ASSERT_STR_EQ(res.node, "tts-node");
    ASSERT_EQ(res.n, 2);

    /* A server-codec device whose data came without a decoded object: the formatter is
     * missing or failed, and the values are lost: malformed. */
    root = load(TTS_FILE);
    msg = cJSON_GetObjectItem(root, "uplink_message");
    cJSON_DeleteItemFromObject(msg, "decoded_payload");
    cJSON_DeleteItemFromObject(root, "correlation_ids"); /* else a copy of the last uplink */
    cJSON_ReplaceItemInObject(msg, "f_cnt", cJSON_CreateNumber(2));
    ASSERT_EQ(decode_tree(l, FW_LNS_TTS, root, t("2020-02-12T15:15:47Z"), &res), -EINVAL);
    ASSERT_EQ(res.error, FW_UPLINK_BAD_PAYLOAD);
    ASSERT_STR_EQ(res.issues[0].detail, "fPort 0: no decoded object from the tts server "
                                        "(payload formatter missing or failed)");

    /* A registry entry without EUI is found by the name the server gives. */
    root = load(TTS_FILE);
    cJSON *ids = cJSON_GetObjectItem(root, "end_device_ids");
    cJSON_ReplaceItemInObject(ids, "device_id", cJSON_CreateString("abp-node"));
    cJSON_DeleteItemFromObject(ids, "dev_eui");
    cJSON_DeleteItemFromObject(root, "correlation_ids");
    char b[64];
    b64(fire_frame, sizeof(fire_frame), b);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "uplink_message"), "frm_payload",
                              cJSON_CreateString(b));
    ASSERT_EQ(decode_tree(l, FW_LNS_TTS, root, t("2020-02-12T15:15:47Z"), &res), 0);
    ASSERT_STR_EQ(res.node, "abp-node");
    ASSERT_EQ(res.n, 7);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

/* ---- deduplication ---- */

FW_TEST(duplicates)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_node_stats st;
    struct fw_lora_stats tot;
    int64_t now = t("2022-07-18T09:35:00Z");

    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "id-1", 10, fire_frame, sizeof(fire_frame)), now, &res),
              0);
    ASSERT_EQ(res.n, 7);
    /* The same message again (a reconnect, a second integration): dropped, silently. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "id-1", 10, fire_frame, sizeof(fire_frame)), now, &res),
              -EALREADY);
    ASSERT_EQ(res.error, FW_UPLINK_DUPLICATE);
    ASSERT_EQ(res.n, 0);
    ASSERT_EQ(res.nissues, 0);
    ASSERT_STR_EQ(fw_uplink_error_str(res.error), "duplicate");
    /* The same uplink id with other content is still that uplink. */
    ASSERT_EQ(
        decode_tree(l, FW_LNS_CHIRPSTACK, cs_msg(CS_EUI, "id-1", 11, trap_frame, 3), now, &res),
        -EALREADY);
    /* Another id but the same counter and payload (heard again without a shared id, or the
     * id left out): dropped too. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "id-2", 10, fire_frame, sizeof(fire_frame)), now, &res),
              -EALREADY);
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, NULL, 10, fire_frame, sizeof(fire_frame)), now, &res),
              -EALREADY);
    ASSERT_EQ(fw_lora_node_stats(l, "cs-node", &st), 0);
    ASSERT_EQ(st.duplicates, 4);
    ASSERT_EQ(st.uplinks, 1);
    ASSERT_EQ(st.readings, 7);

    /* The same counter with another payload is new data (the node started counting again):
     * accepted, with a warning. */
    uint8_t other[sizeof(fire_frame)];
    memcpy(other, fire_frame, sizeof(other));
    other[5] = 0x02; /* smoke 608 ppm */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK, cs_msg(CS_EUI, "id-3", 10, other, sizeof(other)),
                          now, &res),
              0);
    ASSERT_EQ(res.n, 7);
    ASSERT_EQ(count_issues(&res, FW_UPLINK_FCNT_RESET), 1);
    ASSERT_STR_EQ(res.issues[0].detail,
                  "frame counter 10 repeated with another payload (node reset or replay)");

    /* Two devices may use the same counter and payload at once: per device. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg("00000000000000b2", "id-4", 10, fire_frame, sizeof(fire_frame)),
                          now, &res),
              0);
    fw_lora_stats(l, &tot);
    ASSERT_EQ(tot.messages, 7);
    ASSERT_EQ(tot.uplinks, 3);
    ASSERT_EQ(tot.duplicates, 4);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

FW_TEST(dedup_memory_is_bounded)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    int64_t now = t("2022-07-18T09:35:00Z");
    char id[32];

    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "first", 1, fire_frame, sizeof(fire_frame)), now, &res),
              0);
    /* Push "first" out of the ring with another device's uplinks... */
    for (int i = 0; i < FW_LORA_DEDUP_IDS; i++) {
        uint8_t frame[] = {0x01, 0x20, (uint8_t)(i >> 8), (uint8_t)i}; /* trap count i */
        snprintf(id, sizeof(id), "other-%d", i);
        ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                              cs_msg("00000000000000b2", id, i + 1, frame, sizeof(frame)), now,
                              &res),
                  0);
    }
    /* ...its copy is still caught by the device's frame counter and payload. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "first", 1, fire_frame, sizeof(fire_frame)), now, &res),
              -EALREADY);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

FW_TEST(fcnt_goes_back)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_node_stats st;
    int64_t now = t("2022-07-18T09:35:00Z");

    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "a", 800, fire_frame, sizeof(fire_frame)), now, &res),
              0);
    ASSERT_EQ(res.nissues, 0);
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "b", 812, fire_frame, sizeof(fire_frame)), now, &res),
              0);
    ASSERT_EQ(res.nissues, 0);
    /* Back to 3: accepted (the server authenticated the frame), and reported. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "c", 3, fire_frame, sizeof(fire_frame)), now, &res),
              0);
    ASSERT_EQ(res.n, 7);
    ASSERT_EQ(res.error, FW_UPLINK_OK);
    ASSERT_EQ(res.nissues, 1);
    ASSERT_EQ(res.issues[0].code, FW_UPLINK_FCNT_RESET);
    ASSERT_STR_EQ(res.issues[0].detail, "frame counter went back from 812 to 3 (node reset or "
                                        "replay)");
    ASSERT_STR_EQ(fw_uplink_error_str(FW_UPLINK_FCNT_RESET), "fcnt_reset");
    /* Counting on from there is normal again. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "d", 4, fire_frame, sizeof(fire_frame)), now, &res),
              0);
    ASSERT_EQ(res.nissues, 0);
    ASSERT_EQ(fw_lora_node_stats(l, "cs-node", &st), 0);
    ASSERT_EQ(st.fcnt_resets, 1);
    ASSERT_EQ(st.frames_lost, 11); /* 801..811 */
    ASSERT_EQ(st.last_fcnt, 4);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

/* ---- unknown devices ---- */

struct seen {
    int n;
    char eui[4][17];
    char device[4][FW_LNS_MAX_STR];
    uint64_t uplinks[4];
};

static void on_unknown(const struct fw_lora_unknown *u, void *arg)
{
    struct seen *s = arg;
    if (s->n < 4) {
        memcpy(s->eui[s->n], u->dev_eui, sizeof(s->eui[0]));
        memcpy(s->device[s->n], u->device, sizeof(s->device[0]));
        s->uplinks[s->n] = u->uplinks;
    }
    s->n++;
}

FW_TEST(unknown_device)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_stats tot;
    struct seen seen = {0};
    int64_t now = t("2022-07-18T09:35:00Z");

    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg("AABBCCDDEEFF0011", "u1", 1, fire_frame, sizeof(fire_frame)), now,
                          &res),
              -ENOENT);
    ASSERT_EQ(res.error, FW_UPLINK_UNKNOWN_NODE);
    ASSERT_EQ(res.n, 0);
    ASSERT_STR_EQ(res.node, "");
    ASSERT_STR_EQ(res.issues[0].detail,
                  "chirpstack device aabbccddeeff0011 (\"Test device\") is not in the LoRa "
                  "registry");
    ASSERT_EQ(fw_lora_take_unknown(l, on_unknown, &seen), 1);
    ASSERT_EQ(seen.n, 1);
    ASSERT_STR_EQ(seen.eui[0], "aabbccddeeff0011");
    ASSERT_STR_EQ(seen.device[0], "Test device");

    /* Seen again: counted, not reported again. A second device is. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg("AABBCCDDEEFF0011", "u2", 2, fire_frame, sizeof(fire_frame)), now,
                          &res),
              -ENOENT);
    /* A device with a registered name but another EUI is another device: unknown too. */
    cJSON *root = load(TTS_FILE);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "end_device_ids"), "dev_eui",
                              cJSON_CreateString("0004A30B001C0531"));
    ASSERT_EQ(decode_tree(l, FW_LNS_TTS, root, t("2020-02-12T15:15:47Z"), &res), -ENOENT);
    ASSERT_EQ(fw_lora_take_unknown(l, on_unknown, &seen), 1);
    ASSERT_EQ(seen.n, 2);
    ASSERT_STR_EQ(seen.eui[1], "0004a30b001c0531");
    ASSERT_STR_EQ(seen.device[1], "dev1");
    ASSERT_EQ(fw_lora_take_unknown(l, on_unknown, &seen), 0);
    fw_lora_stats(l, &tot);
    ASSERT_EQ(tot.unknown, 3);
    ASSERT_EQ(tot.uplinks, 0);

    /* The list is bounded: more devices than it holds replace those already reported. */
    for (int i = 0; i < FW_LORA_MAX_UNKNOWN + 10; i++) {
        char eui[17];
        snprintf(eui, sizeof(eui), "ffff0000%08x", i);
        ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK, cs_msg(eui, NULL, 1, fire_frame, 1), now, &res),
                  -ENOENT);
    }
    seen.n = 0;
    /* The first FW_LORA_MAX_UNKNOWN - 2 fit beside the two reported ones, which make room for
     * two more; the rest are counted as dropped. */
    ASSERT_EQ(fw_lora_take_unknown(l, on_unknown, &seen), FW_LORA_MAX_UNKNOWN);
    fw_lora_stats(l, &tot);
    ASSERT_EQ(tot.unknown_dropped, 10);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

/* ---- codecs ---- */

FW_TEST(batched_samples_times)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    int64_t at = t("2022-07-18T09:34:15.775Z");

    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg("00000000000000B2", "p1", 7, trap_frame, sizeof(trap_frame)),
                          at + 500, &res),
              0);
    ASSERT_EQ(res.n, 6);
    const struct fw_reading *r;
    ASSERT_TRUE((r = find(&res, "air_temp_c", at - 3600 * 1000)) != NULL);
    ASSERT_DBL_NEAR(r->value, 18.5, 1e-9);
    ASSERT_TRUE((r = find(&res, "trap_count", at - 3600 * 1000)) != NULL);
    ASSERT_DBL_NEAR(r->value, 12, 0);
    ASSERT_TRUE((r = find(&res, "air_temp_c", at)) != NULL);
    ASSERT_DBL_NEAR(r->value, 21.25, 1e-9);
    ASSERT_TRUE((r = find(&res, "trap_count", at)) != NULL);
    ASSERT_DBL_NEAR(r->value, 3, 0);
    ASSERT_STR_EQ(r->station, "trap-node");
    ASSERT_STR_EQ(r->zone, "z3");

    /* With max_age_ms of 30 min, the sample of an hour ago is too old: dropped, the rest kept. */
    struct fw_cfg_limits short_age = limits;
    short_age.max_age_ms = 30 * 60 * 1000;
    cJSON *root = cs_msg("00000000000000b2", "p2", 8, trap_frame, sizeof(trap_frame));
    char *s = cJSON_PrintUnformatted(root);
    ASSERT_EQ(fw_lora_decode(l, FW_LNS_CHIRPSTACK, NULL, s, strlen(s), at + 500, &short_age, &res),
              0);
    free(s);
    cJSON_Delete(root);
    ASSERT_EQ(res.n, 4);
    ASSERT_EQ(res.rejected_readings, 2);
    ASSERT_EQ(count_issues(&res, FW_UPLINK_BAD_TIME), 2);
    ASSERT_STR_EQ(res.issues[0].detail, "sample 3600 s before the uplink: air_temp_c is 3600 s "
                                        "old, more than limits.max_age_ms");
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

FW_TEST(lpp_codec)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_node_stats st;
    int64_t at = t("2022-07-18T09:34:15.775Z");
    const struct fw_codec_lpp_item items[] = {
        {3, FW_CODEC_LPP_TEMPERATURE, {27.2}},
        {4, FW_CODEC_LPP_ANALOG_IN, {120.5}},
        {6, FW_CODEC_LPP_ACCELEROMETER, {0.1, 0.2, 1.0}},
        {9, FW_CODEC_LPP_ANALOG_IN, {7}},  /* no metric mapped */
        {5, FW_CODEC_LPP_ANALOG_IN, {-3}}, /* co_ppm below 0: a sensor fault */
    };
    uint8_t frame[64];
    size_t n;
    ASSERT_EQ(fw_codec_lpp_encode(items, FW_ARRAY_LEN(items), frame, sizeof(frame), &n), 0);
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK, cs_msg("00000000000000a1", "l1", 1, frame, n),
                          at + 500, &res),
              0);
    ASSERT_EQ(res.n, 4);
    ASSERT_STR_EQ(res.readings[0].metric->name, "air_temp_c");
    ASSERT_DBL_NEAR(res.readings[0].value, 27.2, 1e-9);
    ASSERT_STR_EQ(res.readings[1].metric->name, "smoke_ppm");
    ASSERT_DBL_NEAR(res.readings[1].value, 120.5, 1e-9);
    ASSERT_STR_EQ(res.readings[2].metric->name, "lora_rssi_dbm");
    ASSERT_EQ(res.rejected_readings, 1);
    /* The accelerometer and channel 9 are skipped, each reason said once; co_ppm dropped. */
    ASSERT_EQ(res.nissues, 3);
    ASSERT_EQ(res.issues[0].code, FW_UPLINK_UNMAPPED);
    ASSERT_STR_EQ(res.issues[0].detail, "payload: channel 6: accelerometer: no metric (skipped; "
                                        "values like it are counted, and said once)");
    ASSERT_EQ(res.issues[1].code, FW_UPLINK_UNMAPPED);
    ASSERT_STR_EQ(res.issues[1].detail,
                  "payload: channel 9: analog input: no metric mapped to this channel (lpp_map) "
                  "(skipped; values like it are counted, and said once)");
    ASSERT_EQ(res.issues[2].code, FW_UPLINK_OUT_OF_RANGE);
    ASSERT_STR_EQ(res.issues[2].detail,
                  "payload: -3 ppm is outside the possible range 0..10000 of co_ppm");
    ASSERT_EQ(fw_lora_node_stats(l, "lpp-node", &st), 0);
    ASSERT_EQ(st.skipped, 2);
    ASSERT_EQ(st.skipped_by[FW_CODEC_SKIP_NO_METRIC], 1);
    ASSERT_EQ(st.skipped_by[FW_CODEC_SKIP_UNMAPPED], 1);
    ASSERT_EQ(st.rejected_readings, 1);

    /* An unknown LPP type cannot be read past: malformed. */
    uint8_t bad[] = {0x03, 0x67, 0x01, 0x10, 0x05, 0x99, 0x00};
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg("00000000000000a1", "l2", 2, bad, sizeof(bad)), at + 500, &res),
              -EINVAL);
    ASSERT_STR_EQ(res.issues[0].detail,
                  "fPort 1: lpp payload of 7 bytes: unknown LPP type 0x99 at byte 5");
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

FW_TEST(server_codec_checks)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    int64_t at = t("2020-02-12T15:15:46.014Z");

    /* The server's object goes through the same checks as a native uplink: zone metrics are
     * the gateway's own, ranges hold. */
    cJSON *root = load(TTS_FILE);
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddNumberToObject(obj, "smoke_ppm", 410);
    cJSON_AddNumberToObject(obj, "humidity", 130);
    cJSON_AddNumberToObject(obj, "fwi", 40);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "uplink_message"), "decoded_payload", obj);
    ASSERT_EQ(decode_tree(l, FW_LNS_TTS, root, at, &res), 0);
    ASSERT_EQ(res.n, 3);
    ASSERT_STR_EQ(res.readings[0].metric->name, "smoke_ppm");
    ASSERT_EQ(res.rejected_readings, 2);
    ASSERT_EQ(res.issues[0].code, FW_UPLINK_OUT_OF_RANGE);
    ASSERT_STR_EQ(res.issues[0].detail,
                  "decoded object: 130 % is outside the possible range 0..100 of rel_humidity_pct");
    ASSERT_EQ(res.issues[1].code, FW_UPLINK_UNKNOWN_METRIC);
    ASSERT_STR_EQ(res.issues[1].detail,
                  "decoded object: fwi: derived by the gateway, not sent by nodes");
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

/* ---- malformed payloads, limits ---- */

FW_TEST(malformed_counted_per_node)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_node_stats st;
    struct fw_lora_stats tot;
    int64_t now = t("2022-07-18T09:35:00Z");

    /* cs-node: a truncated frame and a bad version; trap-node: trailing bytes. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK, cs_msg(CS_EUI, "m1", 1, fire_frame, 7), now, &res),
              -EINVAL);
    ASSERT_STR_EQ(res.issues[0].detail,
                  "fPort 1: forestwatch payload of 7 bytes: truncated at byte 7: co needs 2 bytes");
    uint8_t v2[] = {0x02, 0x01, 0x00, 0x00};
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK, cs_msg(CS_EUI, "m2", 2, v2, sizeof(v2)), now, &res),
              -EINVAL);
    uint8_t trailing[sizeof(fire_frame) + 1];
    memcpy(trailing, fire_frame, sizeof(fire_frame));
    trailing[sizeof(fire_frame)] = 0;
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg("00000000000000b2", "m3", 1, trailing, sizeof(trailing)), now,
                          &res),
              -EINVAL);
    ASSERT_EQ(res.error, FW_UPLINK_BAD_PAYLOAD);
    /* A malformed uplink sent twice is counted once: the copy is a duplicate. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg("00000000000000b2", "m3", 1, trailing, sizeof(trailing)), now,
                          &res),
              -EALREADY);

    ASSERT_EQ(fw_lora_node_stats(l, "cs-node", &st), 0);
    ASSERT_EQ(st.malformed, 2);
    ASSERT_STR_CONTAINS(st.last_error, "unsupported version 2");
    ASSERT_EQ(fw_lora_node_stats(l, "trap-node", &st), 0);
    ASSERT_EQ(st.malformed, 1);
    ASSERT_EQ(st.duplicates, 1);
    ASSERT_EQ(fw_lora_node_stats(l, "lpp-node", &st), 0);
    ASSERT_EQ(st.malformed, 0);
    ASSERT_EQ(fw_lora_node_stats(l, "no-such-node", &st), -ENOENT);
    fw_lora_stats(l, &tot);
    ASSERT_EQ(tot.rejected, 3);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

FW_TEST(limits)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    int64_t at = t("2022-07-18T09:34:15.775Z");
    struct fw_cfg_limits lim = limits;
    char *s;

    /* Over limits.max_payload_bytes: refused before parsing. */
    cJSON *root = cs_msg(CS_EUI, "x1", 1, fire_frame, sizeof(fire_frame));
    s = cJSON_PrintUnformatted(root);
    lim.max_payload_bytes = 100;
    ASSERT_EQ(fw_lora_decode(l, FW_LNS_CHIRPSTACK, NULL, s, strlen(s), at, &lim, &res), -E2BIG);
    ASSERT_EQ(res.error, FW_UPLINK_TOO_BIG);
    ASSERT_STR_CONTAINS(res.issues[0].detail, "exceeds the limit of 100");
    /* More values than limits.max_readings: the message is refused. */
    lim = limits;
    lim.max_readings = 4;
    ASSERT_EQ(fw_lora_decode(l, FW_LNS_CHIRPSTACK, NULL, s, strlen(s), at, &lim, &res), -E2BIG);
    ASSERT_EQ(res.error, FW_UPLINK_TOO_MANY);
    ASSERT_STR_EQ(res.issues[0].detail, "5 values in the payload, more than the limit of 4");
    free(s);
    cJSON_Delete(root);

    /* Received far ahead of the gateway's clock, or too long ago. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "x2", 2, fire_frame, sizeof(fire_frame)), at - 3600 * 1000,
                          &res),
              -EINVAL);
    ASSERT_EQ(res.error, FW_UPLINK_BAD_TIME);
    ASSERT_STR_EQ(res.issues[0].detail, "time: 3600 s ahead of the gateway clock (server clock?)");
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "x3", 3, fire_frame, sizeof(fire_frame)),
                          at + limits.max_age_ms + 1000, &res),
              -EINVAL);
    ASSERT_EQ(res.error, FW_UPLINK_BAD_TIME);

    /* Not what fw_lns_parse accepts: its reason. */
    ASSERT_EQ(fw_lora_decode(l, FW_LNS_CHIRPSTACK, NULL, "{}", 2, at, &limits, &res), -EINVAL);
    ASSERT_EQ(res.error, FW_UPLINK_MISSING);
    ASSERT_STR_EQ(res.issues[0].detail, "missing \"deviceInfo\"");
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

/* ---- the registry ---- */

FW_TEST(registry_checks)
{
    static const struct fw_codec_lpp_map bad_map[] = {{4, "fwi"}};
    static const struct fw_codec_lpp_map twice[] = {{4, "smoke_ppm"}, {4, "co_ppm"}};
    static const struct {
        struct fw_lora_device dev;
        const char *why;
    } cases[] = {
        {{NULL, NULL, "n", "z", FW_LORA_CODEC_LPP}, "needs a dev_eui or a device name"},
        {{"01010101", NULL, "n", "z"}, "dev_eui: must be 16 hex digits, got \"01010101\""},
        {{"010101010101010g", NULL, "n", "z"}, "dev_eui: must be 16 hex digits"},
        {{"01010101010101010", NULL, "n", "z"}, "dev_eui: must be 16 hex digits"},
        {{CS_EUI, NULL, "", "z"}, "node: must be a node id"},
        {{CS_EUI, NULL, "n", NULL}, "zone: must be a zone id"},
        {{CS_EUI, NULL, "n", "z", (enum fw_lora_codec)7}, "codec: unknown codec 7"},
        {{CS_EUI, NULL, "n", "z", FW_LORA_CODEC_LPP, bad_map, 1},
         "lpp map: channel 4: \"fwi\" is not a station metric"},
        {{CS_EUI, NULL, "n", "z", FW_LORA_CODEC_LPP, twice, 2}, "lpp map: channel 4 mapped twice"},
    };
    char why[160];
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        why[0] = '\0';
        if (fw_lora_device_check(&cases[i].dev, why, sizeof(why)) != -EINVAL ||
            !strstr(why, cases[i].why)) {
            fprintf(stderr, "case %zu: \"%s\"\n", i, why);
            ASSERT_TRUE(0);
        }
    }

    struct fw_lora *l = (struct fw_lora *)1;
    const struct fw_lora_device dup_eui[] = {
        {CS_EUI, NULL, "a", "z"},
        {"00000000000000b2", NULL, "b", "z"},
        {"0101010101010101", NULL, "c", "z"},
    };
    ASSERT_EQ(fw_lora_new(dup_eui, 3, &l, why, sizeof(why)), -EEXIST);
    ASSERT_TRUE(l == NULL);
    ASSERT_STR_EQ(why, "devices[2].dev_eui: 0101010101010101 is also devices[0]'s");
    const struct fw_lora_device dup_name[] = {
        {NULL, "x", "a", "z"},
        {"00000000000000B2", "x", "b", "z"},
    };
    ASSERT_EQ(fw_lora_new(dup_name, 2, &l, why, sizeof(why)), -EEXIST);
    ASSERT_STR_EQ(why, "devices[1]: device name \"x\" is also devices[0]'s");
    const struct fw_lora_device one_bad[] = {{CS_EUI, NULL, "a", "z"}, {"zz", NULL, "b", "z"}};
    ASSERT_EQ(fw_lora_new(one_bad, 2, &l, why, sizeof(why)), -EINVAL);
    ASSERT_STR_EQ(why, "devices[1]: dev_eui: must be 16 hex digits, got \"zz\"");
    ASSERT_EQ(fw_lora_new(NULL, FW_LORA_MAX_DEVICES + 1, &l, NULL, 0), -E2BIG);

    /* An empty registry is valid: every device is unknown. */
    ASSERT_EQ(fw_lora_new(NULL, 0, &l, NULL, 0), 0);
    struct fw_uplink_result res = {0};
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK, load(CS_FILE), t("2022-07-18T09:34:16Z"), &res),
              -ENOENT);
    fw_lora_free(l);
    fw_lora_free(NULL);

    enum fw_lora_codec c;
    ASSERT_EQ(fw_lora_codec_parse("lpp", &c), 0);
    ASSERT_EQ(c, FW_LORA_CODEC_LPP);
    ASSERT_EQ(fw_lora_codec_parse("cayenne", &c), -EINVAL);
    ASSERT_STR_EQ(fw_lora_codec_str(FW_LORA_CODEC_SERVER), "server");
    fw_uplink_result_free(&res);
}

FW_TEST(state_survives_reload)
{
    struct fw_lora *old = registry(), *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_node_stats st;
    int64_t now = t("2022-07-18T09:35:00Z");

    ASSERT_EQ(decode_tree(old, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "r1", 50, fire_frame, sizeof(fire_frame)), now, &res),
              0);
    ASSERT_EQ(decode_tree(old, FW_LNS_CHIRPSTACK, cs_msg("AABBCCDDEEFF0011", "r2", 1, NULL, 0), now,
                          &res),
              -ENOENT);
    ASSERT_EQ(decode_tree(old, FW_LNS_TTS, load(TTS_FILE), t("2020-02-12T15:15:47Z"), &res), 0);
    ASSERT_EQ(count_issues(&res, FW_UPLINK_UNMAPPED), 1);
    fw_lora_adopt_state(l, old);
    fw_lora_free(old);
    /* The copy that arrives after the reload is still a duplicate, the counter still known. */
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "r1", 50, fire_frame, sizeof(fire_frame)), now, &res),
              -EALREADY);
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK,
                          cs_msg(CS_EUI, "r3", 51, fire_frame, sizeof(fire_frame)), now, &res),
              0);
    ASSERT_EQ(res.nissues, 0);
    ASSERT_EQ(fw_lora_node_stats(l, "cs-node", &st), 0);
    ASSERT_EQ(st.uplinks, 2);
    ASSERT_EQ(st.duplicates, 1);
    struct seen seen = {0};
    ASSERT_EQ(fw_lora_take_unknown(l, on_unknown, &seen), 1);
    /* A skipped value said before the reload is not said again. */
    cJSON *tts = load(TTS_FILE);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(tts, "uplink_message"), "f_cnt",
                              cJSON_CreateNumber(2));
    cJSON_DeleteItemFromObject(tts, "correlation_ids");
    ASSERT_EQ(decode_tree(l, FW_LNS_TTS, tts, t("2020-02-12T15:15:47Z"), &res), 0);
    ASSERT_EQ(res.nissues, 0);
    ASSERT_EQ(fw_lora_node_stats(l, "tts-node", &st), 0);
    ASSERT_EQ(st.skipped, 2);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

/* ---- the servers' other events ---- */

#define CS_EVENT(ev) "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/" CS_EUI "/event/" ev

/* A ChirpStack status event of `eui` (integration.proto StatusEvent in JSON) with `extra`
 * members, e.g. "\"margin\":7,\"batteryLevel\":87.4". */
static cJSON *cs_status(const char *eui, const char *dedup, const char *extra)
{
    char json[512];
    snprintf(json, sizeof(json),
             "{\"deduplicationId\":\"%s\",\"time\":\"2022-07-18T09:34:15.775Z\","
             "\"deviceInfo\":{\"devEui\":\"%s\",\"deviceName\":\"Test device\"}%s%s}",
             dedup, eui, extra[0] ? "," : "", extra);
    return cJSON_Parse(json);
}

FW_TEST(status_before_up_with_the_same_id)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_node_stats st;
    int64_t now = t("2022-07-18T09:35:00Z"), at = t("2022-07-18T09:34:15.775Z");

    /* ChirpStack publishes the node's DevStatusAns before the uplink that carried it, with the
     * uplink's deduplicationId: the node's link and power, not an uplink. */
    ASSERT_EQ(decode_on(l, FW_LNS_CHIRPSTACK, CS_EVENT("status"),
                        cs_status(CS_EUI, "id-1", "\"margin\":7,\"batteryLevel\":87.4"), now, &res),
              0);
    ASSERT_EQ(res.nissues, 0);
    ASSERT_STR_EQ(res.node, "cs-node");
    ASSERT_EQ(res.n, 3);
    ASSERT_STR_EQ(res.readings[0].metric->name, "lora_margin_db");
    ASSERT_DBL_NEAR(res.readings[0].value, 7, 0);
    ASSERT_STR_EQ(res.readings[1].metric->name, "lora_external_power");
    ASSERT_DBL_NEAR(res.readings[1].value, 0, 0);
    ASSERT_STR_EQ(res.readings[2].metric->name, "battery_pct");
    ASSERT_DBL_NEAR(res.readings[2].value, 87.4, 1e-9);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(res.readings[i].time_ms, at);
        ASSERT_STR_EQ(res.readings[i].station, "cs-node");
    }
    /* ...so the uplink itself is not its duplicate: its smoke reading is read. */
    ASSERT_EQ(decode_on(l, FW_LNS_CHIRPSTACK, CS_EVENT("up"),
                        cs_msg(CS_EUI, "id-1", 1, fire_frame, sizeof(fire_frame)), now, &res),
              0);
    ASSERT_EQ(res.n, 7);
    ASSERT_TRUE(find(&res, "smoke_ppm", at) != NULL);
    /* Copies of either are still copies. */
    ASSERT_EQ(decode_on(l, FW_LNS_CHIRPSTACK, CS_EVENT("status"),
                        cs_status(CS_EUI, "id-1", "\"margin\":7"), now, &res),
              -EALREADY);
    ASSERT_EQ(decode_on(l, FW_LNS_CHIRPSTACK, CS_EVENT("up"),
                        cs_msg(CS_EUI, "id-1", 1, fire_frame, sizeof(fire_frame)), now, &res),
              -EALREADY);
    ASSERT_EQ(fw_lora_node_stats(l, "cs-node", &st), 0);
    ASSERT_EQ(st.uplinks, 1);
    ASSERT_EQ(st.status, 1);
    ASSERT_EQ(st.duplicates, 2);
    ASSERT_EQ(st.readings, 10);
    /* A status event leaves the frame counter alone. */
    ASSERT_EQ(st.last_fcnt, 1);
    ASSERT_EQ(st.frames_lost, 0);

    /* On external power, or unable to measure: no battery level that nobody measured. */
    ASSERT_EQ(decode_on(l, FW_LNS_CHIRPSTACK, CS_EVENT("status"),
                        cs_status(CS_EUI, "id-2", "\"margin\":-3,\"externalPowerSource\":true"),
                        now, &res),
              0);
    ASSERT_EQ(res.n, 2);
    ASSERT_DBL_NEAR(res.readings[0].value, -3, 0);
    ASSERT_DBL_NEAR(res.readings[1].value, 1, 0);
    ASSERT_EQ(decode_on(l, FW_LNS_CHIRPSTACK, CS_EVENT("status"),
                        cs_status(CS_EUI, "id-3", "\"batteryLevelUnavailable\":true"), now, &res),
              0);
    ASSERT_EQ(res.n, 2);
    ASSERT_STR_EQ(res.readings[0].metric->name, "lora_margin_db");
    ASSERT_DBL_NEAR(res.readings[0].value, 0, 0); /* left out: 0 */
    ASSERT_STR_EQ(res.readings[1].metric->name, "lora_external_power");
    /* A status of a device not in the registry is an unknown device's, as its uplinks are. */
    ASSERT_EQ(decode_on(l, FW_LNS_CHIRPSTACK, CS_EVENT("status"),
                        cs_status("aabbccddeeff0011", "id-4", ""), now, &res),
              -ENOENT);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

FW_TEST(other_events_counted_not_read)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_stats tot;
    struct fw_lora_node_stats st;
    int64_t now = t("2022-07-18T09:35:00Z");
    static const char *const cs_events[] = {"join", "ack",      "txack",
                                            "log",  "location", "integration"};

    /* Each event carries the body of an uplink with smoke and a decoded object, and the
     * uplink's id: none of it is read, none of it is a duplicate of anything. */
    for (size_t i = 0; i < FW_ARRAY_LEN(cs_events); i++) {
        char topic[160];
        snprintf(topic, sizeof(topic), "application/1/device/%s/event/%s", CS_EUI, cs_events[i]);
        cJSON *root = cs_msg(CS_EUI, "id-1", 1, fire_frame, sizeof(fire_frame));
        cJSON_AddItemToObject(root, "object", cJSON_Parse("{\"smoke_ppm\":999}"));
        ASSERT_EQ(decode_on(l, FW_LNS_CHIRPSTACK, topic, root, now, &res), -ENOMSG);
        ASSERT_EQ(res.n, 0);
        ASSERT_EQ(res.nissues, 0);
        ASSERT_EQ(res.error, FW_UPLINK_OK);
    }
    ASSERT_EQ(decode_on(l, FW_LNS_CHIRPSTACK, "application/1/device/" CS_EUI "/command/down",
                        cJSON_Parse("{\"devEui\":\"" CS_EUI "\",\"fPort\":10}"), now, &res),
              -ENOMSG);
    /* TTS: a simulated uplink of a fire, and the same uplink normalized. */
    cJSON *sim = load(TTS_FILE);
    cJSON_AddTrueToObject(sim, "simulated");
    ASSERT_EQ(decode_on(l, FW_LNS_TTS, "v3/app1@ttn/devices/dev1/up", sim, now, &res), -ENOMSG);
    ASSERT_EQ(res.n, 0);
    cJSON *norm = load(TTS_FILE);
    cJSON_AddItemToObject(norm, "uplink_normalized",
                          cJSON_DetachItemFromObject(norm, "uplink_message"));
    ASSERT_EQ(decode_on(l, FW_LNS_TTS, "v3/app1@ttn/devices/dev1/up/normalized", norm, now, &res),
              -ENOMSG);

    fw_lora_stats(l, &tot);
    ASSERT_EQ(tot.messages, 9);
    ASSERT_EQ(tot.uplinks, 0);
    ASSERT_EQ(tot.rejected, 0);
    ASSERT_EQ(tot.events[FW_LNS_EV_JOIN], 1);
    ASSERT_EQ(tot.events[FW_LNS_EV_INTEGRATION], 1);
    ASSERT_EQ(tot.events[FW_LNS_EV_COMMAND], 1);
    ASSERT_EQ(tot.events[FW_LNS_EV_SIMULATED], 1);
    ASSERT_EQ(tot.events[FW_LNS_EV_UP_NORMALIZED], 1);
    ASSERT_EQ(tot.events[FW_LNS_EV_UP], 0);
    /* The node's state is untouched: its real uplinks come next, with their ids and counters. */
    ASSERT_EQ(fw_lora_node_stats(l, "cs-node", &st), 0);
    ASSERT_EQ(st.has_fcnt, 0);
    ASSERT_EQ(decode_on(l, FW_LNS_CHIRPSTACK, CS_EVENT("up"),
                        cs_msg(CS_EUI, "id-1", 1, fire_frame, sizeof(fire_frame)), now, &res),
              0);
    ASSERT_EQ(decode_on(l, FW_LNS_TTS, "v3/app1@ttn/devices/dev1/up", load(TTS_FILE),
                        t("2020-02-12T15:15:47Z"), &res),
              0);
    ASSERT_EQ(res.nissues, 1); /* luminosity: said once, no counter warning */
    ASSERT_EQ(res.issues[0].code, FW_UPLINK_UNMAPPED);
    fw_lora_stats(l, &tot);
    ASSERT_EQ(tot.events[FW_LNS_EV_UP], 2);
    ASSERT_EQ(tot.uplinks, 2);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}

FW_TEST(lpp_map_through_server_codec)
{
    struct fw_lora *l = registry();
    struct fw_uplink_result res = {0};
    struct fw_lora_node_stats st;
    int64_t now = t("2022-07-18T09:35:00Z"), at = t("2022-07-18T09:34:15.775Z");

    /* ChirpStack's Cayenne LPP object: analog input 4 is the node's smoke sensor (lpp_map). */
    cJSON *root = cs_msg("00000000000000c3", "s1", 1, fire_frame, 2);
    cJSON_AddItemToObject(root, "object",
                          cJSON_Parse("{\"analogInput\":{\"4\":318.4,\"7\":1.5},"
                                      "\"temperatureSensor\":{\"3\":24.1}}"));
    ASSERT_EQ(decode_tree(l, FW_LNS_CHIRPSTACK, root, now, &res), 0);
    ASSERT_STR_EQ(res.node, "cs-lpp-node");
    ASSERT_DBL_NEAR(find(&res, "smoke_ppm", at)->value, 318.4, 0);
    ASSERT_DBL_NEAR(find(&res, "air_temp_c", at)->value, 24.1, 0);
    ASSERT_EQ(res.nissues, 1);
    ASSERT_STR_EQ(res.issues[0].detail,
                  "decoded object: analogInput.7: no metric mapped to analog input channel 7 "
                  "(lpp_map) (skipped; values like it are counted, and said once)");

    /* The Things Stack's formatter shape for the same node, through the same map. */
    cJSON *tts = load(TTS_FILE);
    cJSON *ids = cJSON_GetObjectItem(tts, "end_device_ids");
    cJSON_ReplaceItemInObject(ids, "dev_eui", cJSON_CreateString("00000000000000C3"));
    cJSON *msg = cJSON_GetObjectItem(tts, "uplink_message");
    cJSON_ReplaceItemInObject(msg, "f_cnt", cJSON_CreateNumber(2));
    cJSON_ReplaceItemInObject(msg, "decoded_payload",
                              cJSON_Parse("{\"analog_in_5\":4.5,\"analog_in_7\":1.5}"));
    ASSERT_EQ(decode_tree(l, FW_LNS_TTS, tts, t("2020-02-12T15:15:47Z"), &res), 0);
    ASSERT_DBL_NEAR(find(&res, "co_ppm", t("2020-02-12T15:15:46.014Z"))->value, 4.5, 0);
    ASSERT_EQ(res.nissues, 0); /* channel 7 again: counted, said before */
    ASSERT_EQ(fw_lora_node_stats(l, "cs-lpp-node", &st), 0);
    ASSERT_EQ(st.skipped_by[FW_CODEC_SKIP_UNMAPPED], 2);
    fw_uplink_result_free(&res);
    fw_lora_free(l);
}
