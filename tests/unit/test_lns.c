/* SPDX-License-Identifier: MIT */
/*
 * Network-server uplinks: the ChirpStack v4 and The Things Stack v3 examples from the servers'
 * documentation (tests/data/lora/), the same messages with the fields left out that the servers
 * leave out (fCnt 0, fPort, object, payload, radio metadata), and the rejections: bad base64,
 * wrong types, oversized payloads and messages. The last cases run a message through to codec
 * values, as the daemon will.
 */
#include "forestwatch/lns.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"
#include "test.h"

#include <cJSON.h>

#define CS_FILE FW_TEST_DATA "/lora/chirpstack_v4_uplink.json"
#define TTS_FILE FW_TEST_DATA "/lora/tts_v3_uplink.json"

static cJSON *load(const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[8192];
    size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f)
        fclose(f);
    return cJSON_ParseWithLength(buf, n);
}

/* Print a (mutated) message and parse it; `root` is freed. */
static int parse_tree(enum fw_lns_kind kind, cJSON *root, struct fw_lns_uplink *up)
{
    char *s = cJSON_PrintUnformatted(root);
    int rc = fw_lns_parse(kind, NULL, s, strlen(s), up);
    free(s);
    cJSON_Delete(root);
    return rc;
}

static int parse_str(enum fw_lns_kind kind, const char *json, struct fw_lns_uplink *up)
{
    return fw_lns_parse(kind, NULL, json, strlen(json), up);
}

static int64_t t(const char *rfc3339)
{
    int64_t ms = 0;
    fw_time_parse(rfc3339, &ms);
    return ms;
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

/* ---- the documented examples ---- */

FW_TEST(chirpstack_example)
{
    struct fw_lns_uplink up = {0};
    cJSON *root = load(CS_FILE);
    ASSERT_TRUE(root != NULL);
    ASSERT_EQ(parse_tree(FW_LNS_CHIRPSTACK, root, &up), 0);
    ASSERT_EQ(up.kind, FW_LNS_CHIRPSTACK);
    ASSERT_STR_EQ(up.dev_eui, "0101010101010101");
    ASSERT_STR_EQ(up.device, "Test device");
    ASSERT_STR_EQ(up.uplink_id, "3ac7e3c4-4401-4b8d-9386-a5c902f9202d");
    ASSERT_EQ(up.f_cnt, 0); /* left out by the server: frame 0 */
    ASSERT_EQ(up.f_port, 1);
    ASSERT_EQ(up.payload_len, 1);
    ASSERT_EQ(up.payload[0], 0xaa);
    ASSERT_EQ(up.time_ms, t("2022-07-18T09:34:15.775Z"));
    ASSERT_TRUE(up.decoded == NULL);
    ASSERT_EQ(up.n_gateways, 1);
    ASSERT_EQ(up.has_rssi, 1);
    ASSERT_EQ(up.rssi_dbm, -36);
    ASSERT_DBL_NEAR(up.snr_db, 10.5, 0);
    ASSERT_STR_EQ(up.gateway_id, "0016c001f153a14c");
    ASSERT_EQ(up.error, FW_UPLINK_OK);

    /* Its payload (one byte, 0xaa) is neither format: the reasons say why, and no values. */
    struct fw_codec_result res;
    ASSERT_EQ(fw_codec_decode(up.payload, up.payload_len, &res), -ENOTSUP);
    ASSERT_STR_EQ(res.error, "byte 0: unsupported version 170 (this gateway reads 1)");
    ASSERT_EQ(fw_codec_lpp_decode(up.payload, up.payload_len, NULL, 0, &res), -EINVAL);
    ASSERT_STR_EQ(res.error, "truncated at byte 1: channel 170 has no type byte");
    ASSERT_EQ(fw_lns_decoded_values(&up, NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 0);
    fw_lns_uplink_free(&up);
}

FW_TEST(tts_example)
{
    struct fw_lns_uplink up = {0};
    cJSON *root = load(TTS_FILE);
    ASSERT_TRUE(root != NULL);
    ASSERT_EQ(parse_tree(FW_LNS_TTS, root, &up), 0);
    ASSERT_EQ(up.kind, FW_LNS_TTS);
    ASSERT_STR_EQ(up.dev_eui, "0004a30b001c0530"); /* normalised from upper case */
    ASSERT_STR_EQ(up.device, "dev1");
    ASSERT_STR_EQ(up.uplink_id, "as:up:01E0WZGT6Y7657CPFPE5WEYDSQ");
    ASSERT_EQ(up.f_cnt, 1);
    ASSERT_EQ(up.f_port, 0); /* the example has no f_port */
    ASSERT_EQ(up.payload_len, 3);
    ASSERT_EQ(memcmp(up.payload, "\x82\x41\xde", 3), 0);
    ASSERT_EQ(up.time_ms, t("2020-02-12T15:15:46.014Z"));
    ASSERT_EQ(up.n_gateways, 1);
    ASSERT_EQ(up.rssi_dbm, -35);
    ASSERT_DBL_NEAR(up.snr_db, 5, 0);
    ASSERT_STR_EQ(up.gateway_id, "gtw1");
    ASSERT_TRUE(cJSON_IsObject(up.decoded));

    /* The server's decoded object gives the readings: temperature; luminosity has no metric. */
    struct fw_codec_result res;
    ASSERT_EQ(fw_lns_decoded_values(&up, NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 1);
    ASSERT_STR_EQ(res.values[0].metric, "air_temp_c");
    ASSERT_DBL_NEAR(res.values[0].value, 1.0, 0);
    ASSERT_EQ(res.skipped, 1);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_UNKNOWN_NAME], "luminosity: no metric of that name");
    fw_lns_uplink_free(&up);
    ASSERT_TRUE(up.decoded == NULL);
}

/* ---- fields left out as the servers leave them out ---- */

FW_TEST(chirpstack_fields_left_out)
{
    struct fw_lns_uplink up = {0};
    cJSON *root = load(CS_FILE);
    /* fPort 0 and no data (a MAC-only uplink), no time, no rxInfo, no name, no dedup id */
    cJSON_DeleteItemFromObject(root, "fPort");
    cJSON_DeleteItemFromObject(root, "data");
    cJSON_DeleteItemFromObject(root, "time");
    cJSON_DeleteItemFromObject(root, "rxInfo");
    cJSON_DeleteItemFromObject(root, "deduplicationId");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(root, "deviceInfo"), "deviceName");
    ASSERT_EQ(parse_tree(FW_LNS_CHIRPSTACK, root, &up), 0);
    ASSERT_STR_EQ(up.dev_eui, "0101010101010101");
    ASSERT_EQ(up.f_port, 0);
    ASSERT_EQ(up.f_cnt, 0);
    ASSERT_EQ(up.payload_len, 0);
    ASSERT_EQ(up.time_ms, 0);
    ASSERT_EQ(up.n_gateways, 0);
    ASSERT_EQ(up.has_rssi, 0);
    ASSERT_STR_EQ(up.device, "");
    ASSERT_STR_EQ(up.uplink_id, "");

    /* With a codec configured: fCnt present, and `object` detached into the result. */
    root = load(CS_FILE);
    cJSON_AddNumberToObject(root, "fCnt", 4294967295.0);
    cJSON *obj = cJSON_AddObjectToObject(root, "object");
    cJSON_AddNumberToObject(obj, "smoke_ppm", 352.5);
    cJSON_AddNumberToObject(obj, "humidity", 18);
    cJSON_AddStringToObject(obj, "status", "ok");
    ASSERT_EQ(parse_tree(FW_LNS_CHIRPSTACK, root, &up), 0);
    ASSERT_EQ(up.f_cnt, 4294967295u);
    struct fw_codec_result res;
    ASSERT_EQ(fw_lns_decoded_values(&up, NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 2);
    ASSERT_STR_EQ(res.values[0].metric, "smoke_ppm");
    ASSERT_DBL_NEAR(res.values[0].value, 352.5, 0);
    ASSERT_STR_EQ(res.values[1].metric, "rel_humidity_pct");
    ASSERT_EQ(res.skipped, 1);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_UNKNOWN_NAME], "status: no metric of that name");
    fw_lns_uplink_free(&up);
}

FW_TEST(tts_fields_left_out)
{
    struct fw_lns_uplink up = {0};
    cJSON *root = load(TTS_FILE);
    cJSON *msg = cJSON_GetObjectItem(root, "uplink_message");
    /* f_cnt 0, no decoded_payload (no formatter), no payload, no ids but the device id */
    cJSON_DeleteItemFromObject(msg, "f_cnt");
    cJSON_DeleteItemFromObject(msg, "decoded_payload");
    cJSON_DeleteItemFromObject(msg, "frm_payload");
    cJSON_DeleteItemFromObject(msg, "rx_metadata");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(root, "end_device_ids"), "dev_eui");
    cJSON_DeleteItemFromObject(root, "correlation_ids");
    cJSON_DeleteItemFromObject(root, "received_at");
    ASSERT_EQ(parse_tree(FW_LNS_TTS, root, &up), 0);
    ASSERT_EQ(up.f_cnt, 0);
    ASSERT_EQ(up.f_port, 0);
    ASSERT_EQ(up.payload_len, 0);
    ASSERT_TRUE(up.decoded == NULL);
    ASSERT_STR_EQ(up.dev_eui, "");
    ASSERT_STR_EQ(up.device, "dev1");
    ASSERT_STR_EQ(up.uplink_id, "");
    ASSERT_EQ(up.n_gateways, 0);
    /* the Network Server's receive time stands in for the Application Server's */
    ASSERT_EQ(up.time_ms, t("2020-02-12T15:15:45.789Z"));

    /* f_port present; rssi left out (0) so channel_rssi is used; snr 0 left out too. */
    root = load(TTS_FILE);
    msg = cJSON_GetObjectItem(root, "uplink_message");
    cJSON_AddNumberToObject(msg, "f_port", 15);
    cJSON *md = cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "rx_metadata"), 0);
    cJSON_DeleteItemFromObject(md, "rssi");
    cJSON_DeleteItemFromObject(md, "snr");
    cJSON_ReplaceItemInObject(md, "channel_rssi", cJSON_CreateNumber(-101));
    cJSON_DeleteItemFromObject(root, "correlation_ids");
    cJSON_AddItemToObject(
        root, "correlation_ids",
        cJSON_CreateStringArray((const char *const[]){"gs:uplink:1", "ns:uplink:01E0WZ"}, 2));
    ASSERT_EQ(parse_tree(FW_LNS_TTS, root, &up), 0);
    ASSERT_EQ(up.f_port, 15);
    ASSERT_EQ(up.rssi_dbm, -101);
    ASSERT_DBL_NEAR(up.snr_db, 0, 0);
    ASSERT_STR_EQ(up.uplink_id, "ns:uplink:01E0WZ");
    fw_lns_uplink_free(&up);
}

FW_TEST(best_of_several_gateways)
{
    struct fw_lns_uplink up = {0};
    ASSERT_EQ(parse_str(FW_LNS_CHIRPSTACK,
                        "{\"deviceInfo\":{\"devEui\":\"AABBCCDDEEFF0011\"},\"rxInfo\":["
                        "{\"gatewayId\":\"g1\",\"rssi\":-110,\"snr\":-7.5},"
                        "{\"gatewayId\":\"g2\",\"rssi\":-95,\"snr\":1},"
                        "{\"gatewayId\":\"g3\",\"rssi\":-95,\"snr\":3.25},"
                        "{\"gatewayId\":\"g4\"}]}",
                        &up),
              0);
    ASSERT_STR_EQ(up.dev_eui, "aabbccddeeff0011");
    ASSERT_EQ(up.n_gateways, 4);
    ASSERT_EQ(up.rssi_dbm, -95);
    ASSERT_DBL_NEAR(up.snr_db, 3.25, 0);
    ASSERT_STR_EQ(up.gateway_id, "g3");
    fw_lns_uplink_free(&up);
}

/* ---- rejections ---- */

struct reject_case {
    enum fw_lns_kind kind;
    const char *json;
    int rc;
    enum fw_uplink_error code;
    const char *detail;
};

#define CS_DEV "\"deviceInfo\":{\"devEui\":\"0101010101010101\"}"
#define TTS_DEV "\"end_device_ids\":{\"device_id\":\"dev1\"}"

FW_TEST(rejections)
{
    static const struct reject_case cases[] = {
        {FW_LNS_CHIRPSTACK, "", -EINVAL, FW_UPLINK_BAD_JSON, "not valid JSON"},
        {FW_LNS_CHIRPSTACK, "[1]", -EINVAL, FW_UPLINK_BAD_JSON, "not a JSON object"},
        {FW_LNS_CHIRPSTACK, "{}", -EINVAL, FW_UPLINK_MISSING, "missing \"deviceInfo\""},
        {FW_LNS_CHIRPSTACK, "{\"deviceInfo\":\"x\"}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "deviceInfo: must be an object"},
        {FW_LNS_CHIRPSTACK, "{\"deviceInfo\":{}}", -EINVAL, FW_UPLINK_MISSING,
         "missing \"deviceInfo.devEui\""},
        {FW_LNS_CHIRPSTACK, "{\"deviceInfo\":{\"devEui\":\"01010101\"}}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "deviceInfo.devEui: must be 16 hex digits"},
        {FW_LNS_CHIRPSTACK, "{\"deviceInfo\":{\"devEui\":\"010101010101010g\"}}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "deviceInfo.devEui: must be 16 hex digits"},
        {FW_LNS_CHIRPSTACK, "{\"deviceInfo\":{\"devEui\":257}}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "deviceInfo.devEui: must be a string"},
        {FW_LNS_CHIRPSTACK,
         "{\"deviceInfo\":{\"devEui\":\"0101010101010101\",\"deviceName\":\"0123456789012345678901"
         "2345678901234567890123456789012345678901234\"}}",
         -E2BIG, FW_UPLINK_BAD_FIELD, "deviceInfo.deviceName: longer than 63 bytes"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"fCnt\":\"1\"}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "fCnt: must be an integer 0..4294967295"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"fCnt\":4294967296}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "fCnt: must be an integer"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"fPort\":256}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "fPort: must be an integer 0..255"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"fPort\":-1}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "fPort: must be an integer 0..255"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"fPort\":1.5}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "fPort: must be an integer 0..255"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"data\":170}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "data: must be a base64 string"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"data\":\"q!==\"}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "data: bad base64 at character 1"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"data\":\"qg=\"}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "data: bad base64 at character 2"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"data\":\"qgq\"}", 0, FW_UPLINK_OK, ""},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"data\":\"q\"}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "data: bad base64 at character 0"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"data\":\"qg==qg==\"}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "data: bad base64 at character 2"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"data\":\"qg===\"}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "data: bad base64"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"data\":\"qg =\"}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "data: bad base64 at character 2"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"time\":\"2022-07-18T09:34:15\"}", -EINVAL,
         FW_UPLINK_BAD_TIME, "time: must be an RFC 3339 time with an offset"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"time\":1658136855}", -EINVAL, FW_UPLINK_BAD_TIME,
         "time: must be"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"object\":[1]}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "object: must be an object"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"rxInfo\":{}}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "rxInfo: must be an array"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"rxInfo\":[{\"rssi\":\"-36\"}]}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "rxInfo[0].rssi: must be a number -300..100"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"rxInfo\":[{},7]}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "rxInfo[1]: must be an object"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"rxInfo\":[{\"gatewayId\":1}]}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "rxInfo[0]: gatewayId must be a string"},
        {FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"rxInfo\":[{\"snr\":null}]}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "rxInfo[0].snr: must be a number"},
        {FW_LNS_TTS, "{}", -EINVAL, FW_UPLINK_MISSING, "missing \"end_device_ids\""},
        {FW_LNS_TTS, "{\"end_device_ids\":{}}", -EINVAL, FW_UPLINK_MISSING,
         "missing \"end_device_ids.device_id\""},
        {FW_LNS_TTS, "{" TTS_DEV "}", -EINVAL, FW_UPLINK_MISSING, "missing \"uplink_message\""},
        {FW_LNS_TTS, "{" TTS_DEV ",\"uplink_message\":[]}", -EINVAL, FW_UPLINK_BAD_FIELD,
         "uplink_message: must be an object"},
        {FW_LNS_TTS, "{\"end_device_ids\":{\"device_id\":\"dev1\",\"dev_eui\":\"0004A30B\"}}",
         -EINVAL, FW_UPLINK_BAD_FIELD, "end_device_ids.dev_eui: must be 16 hex digits"},
        {FW_LNS_TTS, "{" TTS_DEV ",\"correlation_ids\":\"as:up:1\",\"uplink_message\":{}}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "correlation_ids: must be an array"},
        {FW_LNS_TTS, "{" TTS_DEV ",\"correlation_ids\":[1],\"uplink_message\":{}}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "correlation_ids: must be an array of strings"},
        {FW_LNS_TTS, "{" TTS_DEV ",\"uplink_message\":{\"f_cnt\":-1}}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "uplink_message.f_cnt: must be an integer"},
        {FW_LNS_TTS, "{" TTS_DEV ",\"uplink_message\":{\"f_port\":\"1\"}}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "uplink_message.f_port: must be an integer 0..255"},
        {FW_LNS_TTS, "{" TTS_DEV ",\"uplink_message\":{\"frm_payload\":\"gkH*\"}}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "uplink_message.frm_payload: bad base64 at character 3"},
        {FW_LNS_TTS, "{" TTS_DEV ",\"uplink_message\":{\"decoded_payload\":\"x\"}}", -EINVAL,
         FW_UPLINK_BAD_FIELD, "uplink_message.decoded_payload: must be an object"},
        {FW_LNS_TTS, "{" TTS_DEV ",\"received_at\":\"now\",\"uplink_message\":{}}", -EINVAL,
         FW_UPLINK_BAD_TIME, "received_at: must be an RFC 3339 time"},
        {FW_LNS_TTS, "{" TTS_DEV ",\"uplink_message\":{\"rx_metadata\":[{\"rssi\":1e999}]}}",
         -EINVAL, FW_UPLINK_BAD_FIELD, "uplink_message.rx_metadata[0].rssi: must be a number"},
        {FW_LNS_TTS,
         "{" TTS_DEV ",\"uplink_message\":{\"rx_metadata\":[{\"gateway_ids\":{\"gateway_id\":"
         "false}}]}}",
         -EINVAL, FW_UPLINK_BAD_FIELD,
         "uplink_message.rx_metadata[0]: gateway_id must be a string"},
    };
    struct fw_lns_uplink up = {0};
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        int rc = parse_str(cases[i].kind, cases[i].json, &up);
        if (rc != cases[i].rc || up.error != cases[i].code || !strstr(up.detail, cases[i].detail) ||
            (rc && up.decoded)) {
            fprintf(stderr, "case %zu (%s): rc %d error %d detail \"%s\"\n", i, cases[i].json, rc,
                    (int)up.error, up.detail);
            ASSERT_TRUE(0);
        }
    }
    fw_lns_uplink_free(&up);
}

FW_TEST(size_caps)
{
    struct fw_lns_uplink up = {0};
    uint8_t bytes[FW_CODEC_MAX_FRAME + 2];
    char b[400], json[600];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)(i * 7);

    /* The largest payload a LoRaWAN frame can carry is accepted whole... */
    b64(bytes, FW_CODEC_MAX_FRAME, b);
    snprintf(json, sizeof(json), "{" CS_DEV ",\"data\":\"%s\"}", b);
    ASSERT_EQ(parse_str(FW_LNS_CHIRPSTACK, json, &up), 0);
    ASSERT_EQ(up.payload_len, FW_CODEC_MAX_FRAME);
    ASSERT_EQ(memcmp(up.payload, bytes, FW_CODEC_MAX_FRAME), 0);
    /* ...one byte more is refused, with and without padding. */
    b64(bytes, FW_CODEC_MAX_FRAME + 1, b);
    snprintf(json, sizeof(json), "{" CS_DEV ",\"data\":\"%s\"}", b);
    ASSERT_EQ(parse_str(FW_LNS_CHIRPSTACK, json, &up), -E2BIG);
    ASSERT_EQ(up.error, FW_UPLINK_TOO_BIG);
    ASSERT_STR_EQ(up.detail, "data: payload over 242 bytes");
    b64(bytes, FW_CODEC_MAX_FRAME + 2, b);
    b[strlen(b) - 2] = '\0'; /* 244 bytes, "==" padding left out */
    snprintf(json, sizeof(json), "{" TTS_DEV ",\"uplink_message\":{\"frm_payload\":\"%s\"}}", b);
    ASSERT_EQ(parse_str(FW_LNS_TTS, json, &up), -E2BIG);

    /* URL-safe base64 and missing padding are accepted, as protobuf's JSON mapping allows. */
    ASSERT_EQ(parse_str(FW_LNS_CHIRPSTACK, "{" CS_DEV ",\"data\":\"-_8\"}", &up), 0);
    ASSERT_EQ(up.payload_len, 2);
    ASSERT_EQ(up.payload[0], 0xfb);
    ASSERT_EQ(up.payload[1], 0xff);

    /* A message over the cap is refused before parsing. */
    size_t len = FW_LNS_MAX_JSON + 1;
    char *big = fw_xmalloc(len);
    memset(big, '[', len);
    ASSERT_EQ(fw_lns_parse(FW_LNS_TTS, NULL, big, len, &up), -E2BIG);
    ASSERT_EQ(up.error, FW_UPLINK_TOO_BIG);
    ASSERT_STR_EQ(up.detail, "message of 65537 bytes exceeds the limit of 65536");
    free(big);
    fw_lns_uplink_free(&up);
}

FW_TEST(reuse_frees_previous_decoded_object)
{
    /* Under ASan a leak of the first decoded object would fail this case. */
    struct fw_lns_uplink up = {0};
    ASSERT_EQ(parse_tree(FW_LNS_TTS, load(TTS_FILE), &up), 0);
    ASSERT_TRUE(up.decoded != NULL);
    ASSERT_EQ(parse_tree(FW_LNS_TTS, load(TTS_FILE), &up), 0);
    ASSERT_EQ(parse_str(FW_LNS_TTS, "{}", &up), -EINVAL);
    ASSERT_TRUE(up.decoded == NULL);
    ASSERT_EQ(parse_tree(FW_LNS_TTS, load(TTS_FILE), &up), 0);
    fw_lns_uplink_free(&up);
    fw_lns_uplink_free(&up); /* twice is harmless */
}

/* ---- through to readings, as the daemon will run them ---- */

FW_TEST(examples_carrying_forestwatch_and_lpp_frames)
{
    struct fw_lns_uplink up = {0};
    struct fw_codec_result res;
    uint8_t frame[FW_CODEC_MAX_FRAME];
    size_t len = 0;
    char b[400];

    /* ChirpStack example with a fire node's frame as `data`, fPort and fCnt left out. */
    const struct fw_codec_sample s = {0, 24.15, 35.5, 352, 6.1, 3.92, 0};
    ASSERT_EQ(fw_codec_encode(0x1f, &s, 1, frame, sizeof(frame), &len), 0);
    b64(frame, len, b);
    cJSON *root = load(CS_FILE);
    cJSON_DeleteItemFromObject(root, "fPort");
    cJSON_ReplaceItemInObject(root, "data", cJSON_CreateString(b));
    ASSERT_EQ(parse_tree(FW_LNS_CHIRPSTACK, root, &up), 0);
    ASSERT_EQ(up.f_port, 0);
    ASSERT_EQ(fw_codec_decode(up.payload, up.payload_len, &res), 0);
    ASSERT_EQ(res.n, 5);
    ASSERT_STR_EQ(res.values[2].metric, "smoke_ppm");
    ASSERT_DBL_NEAR(res.values[2].value, 352, 0);

    /* TTS example with an LPP frame and no decoded_payload. */
    const struct fw_codec_lpp_item items[] = {{1, FW_CODEC_LPP_TEMPERATURE, {27.2}},
                                              {2, FW_CODEC_LPP_HUMIDITY, {21}}};
    ASSERT_EQ(fw_codec_lpp_encode(items, 2, frame, sizeof(frame), &len), 0);
    b64(frame, len, b);
    root = load(TTS_FILE);
    cJSON *msg = cJSON_GetObjectItem(root, "uplink_message");
    cJSON_DeleteItemFromObject(msg, "decoded_payload");
    cJSON_ReplaceItemInObject(msg, "frm_payload", cJSON_CreateString(b));
    ASSERT_EQ(parse_tree(FW_LNS_TTS, root, &up), 0);
    ASSERT_EQ(fw_codec_lpp_decode(up.payload, up.payload_len, NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 2);
    ASSERT_DBL_NEAR(res.values[0].value, 27.2, 1e-9);
    ASSERT_DBL_NEAR(res.values[1].value, 21, 0);
    ASSERT_EQ(fw_lns_decoded_values(&up, NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 0);
    fw_lns_uplink_free(&up);
}

/* ---- events: what a message is, by topic (ChirpStack) or by topic and member (TTS) ---- */

#define CS_TOPIC(ev) "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/" ev
#define TTS_TOPIC(ev) "v3/app1@ttn/devices/dev1/" ev

FW_TEST(chirpstack_event_from_topic)
{
    static const struct {
        const char *topic;
        enum fw_lns_event ev;
    } cases[] = {
        {CS_TOPIC("event/up"), FW_LNS_EV_UP},
        {CS_TOPIC("event/status"), FW_LNS_EV_STATUS},
        {CS_TOPIC("event/join"), FW_LNS_EV_JOIN},
        {CS_TOPIC("event/ack"), FW_LNS_EV_ACK},
        {CS_TOPIC("event/txack"), FW_LNS_EV_TXACK},
        {CS_TOPIC("event/log"), FW_LNS_EV_LOG},
        {CS_TOPIC("event/location"), FW_LNS_EV_LOCATION},
        {CS_TOPIC("event/integration"), FW_LNS_EV_INTEGRATION},
        {CS_TOPIC("command/down"), FW_LNS_EV_COMMAND},
        {CS_TOPIC("command/flush"), FW_LNS_EV_COMMAND},
        {"up", FW_LNS_EV_UP},
    };
    struct fw_lns_uplink up = {0};
    char *example = NULL;
    cJSON *root = load(CS_FILE);
    example = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        /* The uplink example's body on every topic: the topic alone says what it is. */
        ASSERT_EQ(fw_lns_parse(FW_LNS_CHIRPSTACK, cases[i].topic, example, strlen(example), &up),
                  0);
        ASSERT_EQ(up.event, cases[i].ev);
        /* Only uplinks and status events are read; the others not even parsed. */
        ASSERT_STR_EQ(up.dev_eui, cases[i].ev <= FW_LNS_EV_STATUS ? "0101010101010101" : "");
        ASSERT_EQ(up.payload_len, cases[i].ev == FW_LNS_EV_UP ? 1u : 0u);
        ASSERT_EQ(fw_lns_parse(FW_LNS_CHIRPSTACK, cases[i].topic, "not json", 8, &up),
                  cases[i].ev <= FW_LNS_EV_STATUS ? -EINVAL : 0);
    }
    free(example);
    ASSERT_STR_EQ(fw_lns_event_str(FW_LNS_EV_TXACK), "txack");
    ASSERT_STR_EQ(fw_lns_event_str(FW_LNS_EV_DOWN_INVALIDATED), "down/invalidated");

    /* A topic that does not end in an event type: a template the gateway cannot read. */
    ASSERT_EQ(fw_lns_parse(FW_LNS_CHIRPSTACK, CS_TOPIC("event/up/extra"), "{}", 2, &up), -EINVAL);
    ASSERT_EQ(up.error, FW_UPLINK_BAD_FIELD);
    ASSERT_STR_EQ(up.detail,
                  "topic: last level \"extra\" is no ChirpStack event (up, status, join, "
                  "ack, txack, log, location, integration): the event topic must end "
                  "with the event type");
    fw_lns_uplink_free(&up);
}

FW_TEST(chirpstack_status_event)
{
    struct fw_lns_uplink up = {0};
    /* integration.proto StatusEvent as the MQTT integration renders it: the uplink's id. */
    const char *status = "{\"deduplicationId\":\"3ac7e3c4-4401-4b8d-9386-a5c902f9202d\","
                         "\"time\":\"2022-07-18T09:34:15.775023242+00:00\"," CS_DEV
                         ",\"margin\":-7,\"batteryLevel\":87.4}";
    ASSERT_EQ(
        fw_lns_parse(FW_LNS_CHIRPSTACK, CS_TOPIC("event/status"), status, strlen(status), &up), 0);
    ASSERT_EQ(up.event, FW_LNS_EV_STATUS);
    ASSERT_STR_EQ(up.dev_eui, "0101010101010101");
    ASSERT_STR_EQ(up.uplink_id, "3ac7e3c4-4401-4b8d-9386-a5c902f9202d");
    ASSERT_EQ(up.time_ms, t("2022-07-18T09:34:15.775Z"));
    ASSERT_EQ(up.status.margin_db, -7);
    ASSERT_DBL_NEAR(up.status.battery_pct, 87.4, 1e-9);
    ASSERT_EQ(up.status.external_power, 0);
    ASSERT_EQ(up.status.battery_unavailable, 0);
    ASSERT_EQ(up.payload_len, 0);
    ASSERT_EQ(up.has_rssi, 0);

    /* Defaults left out: margin 0; the two flags. */
    const char *ext = "{" CS_DEV ",\"externalPowerSource\":true,\"batteryLevelUnavailable\":true}";
    ASSERT_EQ(fw_lns_parse(FW_LNS_CHIRPSTACK, CS_TOPIC("event/status"), ext, strlen(ext), &up), 0);
    ASSERT_EQ(up.status.margin_db, 0);
    ASSERT_EQ(up.status.external_power, 1);
    ASSERT_EQ(up.status.battery_unavailable, 1);

    static const struct {
        const char *body, *detail;
    } bad[] = {
        {"{" CS_DEV ",\"margin\":32}", "margin: must be an integer -32..31"},
        {"{" CS_DEV ",\"margin\":1.5}", "margin: must be an integer -32..31"},
        {"{" CS_DEV ",\"batteryLevel\":101}", "batteryLevel: must be a number 0..100"},
        {"{" CS_DEV ",\"batteryLevel\":\"87\"}", "batteryLevel: must be a number 0..100"},
        {"{" CS_DEV ",\"externalPowerSource\":1}", "externalPowerSource: must be true or false"},
        {"{\"margin\":3}", "missing \"deviceInfo\""},
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++) {
        ASSERT_EQ(fw_lns_parse(FW_LNS_CHIRPSTACK, CS_TOPIC("event/status"), bad[i].body,
                               strlen(bad[i].body), &up),
                  -EINVAL);
        ASSERT_STR_EQ(up.detail, bad[i].detail);
    }
    fw_lns_uplink_free(&up);
}

FW_TEST(tts_event_by_member_and_topic)
{
    static const struct {
        const char *topic, *member;
        enum fw_lns_event ev;
    } cases[] = {
        {TTS_TOPIC("up/normalized"), "uplink_normalized", FW_LNS_EV_UP_NORMALIZED},
        {TTS_TOPIC("join"), "join_accept", FW_LNS_EV_JOIN},
        {TTS_TOPIC("down/ack"), "downlink_ack", FW_LNS_EV_DOWN_ACK},
        {TTS_TOPIC("down/nack"), "downlink_nack", FW_LNS_EV_DOWN_NACK},
        {TTS_TOPIC("down/sent"), "downlink_sent", FW_LNS_EV_DOWN_SENT},
        {TTS_TOPIC("down/failed"), "downlink_failed", FW_LNS_EV_DOWN_FAILED},
        {TTS_TOPIC("down/queued"), "downlink_queued", FW_LNS_EV_DOWN_QUEUED},
        {TTS_TOPIC("down/invalidated"), "downlink_queue_invalidated", FW_LNS_EV_DOWN_INVALIDATED},
        {TTS_TOPIC("location/solved"), "location_solved", FW_LNS_EV_LOCATION_SOLVED},
        {TTS_TOPIC("service/data"), "service_data", FW_LNS_EV_SERVICE_DATA},
        /* The member decides where the topic says nothing. */
        {"bridge/tts", "join_accept", FW_LNS_EV_JOIN},
        {NULL, "downlink_sent", FW_LNS_EV_DOWN_SENT},
    };
    struct fw_lns_uplink up = {0};
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        cJSON *root = load(TTS_FILE);
        cJSON_DeleteItemFromObject(root, "uplink_message");
        cJSON_AddItemToObject(root, cases[i].member, cJSON_CreateObject());
        char *s = cJSON_PrintUnformatted(root);
        ASSERT_EQ(fw_lns_parse(FW_LNS_TTS, cases[i].topic, s, strlen(s), &up), 0);
        ASSERT_EQ(up.event, cases[i].ev);
        /* On the uplink topic, another event is what the message says it is: an error. */
        ASSERT_EQ(fw_lns_parse(FW_LNS_TTS, TTS_TOPIC("up"), s, strlen(s), &up), -EINVAL);
        ASSERT_EQ(up.error, FW_UPLINK_BAD_FIELD);
        free(s);
        cJSON_Delete(root);
    }
    ASSERT_STR_EQ(up.detail, "topic: ends in \"up\" but the message carries \"downlink_sent\"");

    /* What applications publish on the same tree: no ApplicationUp member, not an error. */
    const char *push = "{\"downlinks\":[{\"f_port\":15,\"frm_payload\":\"vu8=\"}]}";
    ASSERT_EQ(fw_lns_parse(FW_LNS_TTS, TTS_TOPIC("down/push"), push, strlen(push), &up), 0);
    ASSERT_EQ(up.event, FW_LNS_EV_DOWN_PUSH);
    ASSERT_EQ(fw_lns_parse(FW_LNS_TTS, TTS_TOPIC("down/replace"), push, strlen(push), &up), 0);
    ASSERT_EQ(up.event, FW_LNS_EV_DOWN_PUSH);
    /* Without a member, on the uplink topic: the uplink is missing. */
    ASSERT_EQ(fw_lns_parse(FW_LNS_TTS, TTS_TOPIC("up"), push, strlen(push), &up), -EINVAL);
    ASSERT_STR_EQ(up.detail, "missing \"end_device_ids\"");

    /* A simulated uplink: typed into the console, not heard from the node. */
    cJSON *root = load(TTS_FILE);
    cJSON_AddTrueToObject(root, "simulated");
    char *s = cJSON_PrintUnformatted(root);
    ASSERT_EQ(fw_lns_parse(FW_LNS_TTS, TTS_TOPIC("up"), s, strlen(s), &up), 0);
    ASSERT_EQ(up.event, FW_LNS_EV_SIMULATED);
    ASSERT_TRUE(up.decoded == NULL);
    free(s);
    cJSON_ReplaceItemInObject(root, "simulated", cJSON_CreateFalse());
    ASSERT_EQ(parse_tree(FW_LNS_TTS, root, &up), 0);
    ASSERT_EQ(up.event, FW_LNS_EV_UP);
    ASSERT_EQ(up.payload_len, 3);
    fw_lns_uplink_free(&up);
}

/* ---- the servers' built-in Cayenne LPP codecs ---- */

static const struct fw_codec_value *value_of(const struct fw_codec_result *res, const char *metric,
                                             int nth)
{
    for (int i = 0; i < res->n; i++)
        if (strcmp(res->values[i].metric, metric) == 0 && nth-- == 0)
            return &res->values[i];
    return NULL;
}

FW_TEST(cayenne_lpp_chirpstack_object)
{
    /* The object of ChirpStack's codec test (chirpstack/src/codec/cayenne_lpp.rs, test_lpp),
     * its types as it names them: each type an object of channels. */
    const char *obj =
        "{\"digitalInput\":{\"3\":100,\"5\":210},\"analogInput\":{\"3\":0.1,\"5\":10},"
        "\"analogOutput\":{\"3\":0.1},\"illuminanceSensor\":{\"3\":10},"
        "\"temperatureSensor\":{\"3\":27.2,\"5\":25.5},\"humiditySensor\":{\"3\":20.5},"
        "\"accelerometer\":{\"3\":{\"x\":0.001,\"y\":0.002,\"z\":0.003}},"
        "\"barometer\":{\"3\":105.5},\"voltage\":{\"3\":0.01},\"concentration\":{\"3\":7},"
        "\"gpsLocation\":{\"1\":{\"latitude\":42.3519,\"longitude\":-87.9094,\"altitude\":10}},"
        "\"unix_time\":{\"3\":13}}";
    const struct fw_codec_lpp_map map[] = {{5, "smoke_ppm"}};
    struct fw_lns_uplink up = {0};
    struct fw_codec_result res;
    up.decoded = cJSON_Parse(obj);
    ASSERT_TRUE(up.decoded != NULL);
    ASSERT_EQ(fw_lns_decoded_values(&up, map, FW_ARRAY_LEN(map), &res), 0);
    ASSERT_EQ(res.n, 5);
    ASSERT_DBL_NEAR(value_of(&res, "smoke_ppm", 0)->value, 10, 0); /* analog input 5 */
    ASSERT_DBL_NEAR(value_of(&res, "air_temp_c", 0)->value, 27.2, 0);
    ASSERT_DBL_NEAR(value_of(&res, "air_temp_c", 1)->value, 25.5, 0);
    ASSERT_DBL_NEAR(value_of(&res, "rel_humidity_pct", 0)->value, 20.5, 0);
    ASSERT_DBL_NEAR(value_of(&res, "pressure_hpa", 0)->value, 105.5, 0);
    /* The rest is counted, per reason. */
    ASSERT_EQ(res.skipped_by[FW_CODEC_SKIP_UNMAPPED], 1);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_UNMAPPED],
                  "analogInput.3: no metric mapped to analog input channel 3 (lpp_map)");
    ASSERT_EQ(res.skipped_by[FW_CODEC_SKIP_NO_METRIC], 9);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_NO_METRIC],
                  "digitalInput.3: Cayenne LPP item without a metric");
    ASSERT_EQ(res.skipped, 10);

    /* A channel that is no channel, a value that is no number. */
    cJSON_Delete(up.decoded);
    up.decoded = cJSON_Parse("{\"temperatureSensor\":{\"x\":1,\"256\":2,\"4\":\"warm\"}}");
    ASSERT_EQ(fw_lns_decoded_values(&up, NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 0);
    ASSERT_EQ(res.skipped_by[FW_CODEC_SKIP_UNKNOWN_NAME], 2);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_UNKNOWN_NAME],
                  "temperatureSensor.x: not a channel 0..255");
    ASSERT_EQ(res.skipped_by[FW_CODEC_SKIP_BAD_VALUE], 1);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_BAD_VALUE], "temperatureSensor.4: not a finite number");
    fw_lns_uplink_free(&up);
}

FW_TEST(cayenne_lpp_tts_object)
{
    /* The object of The Things Stack's formatter test (pkg/messageprocessors/cayennelpp,
     * cayennelpp_test.go): one member per item, `<type>_<channel>`. */
    const char *obj = "{\"digital_in_1\":255,\"digital_out_2\":100,\"analog_in_3\":54.5,"
                      "\"analog_out_4\":-54.5,\"luminosity_5\":500,\"presence_6\":50,"
                      "\"temperature_7\":-15.6,\"relative_humidity_8\":49.5,"
                      "\"accelerometer_9\":{\"x\":-0.424,\"y\":0.015,\"z\":1.666},"
                      "\"barometric_pressure_10\":1073.5,"
                      "\"gyrometer_11\":{\"x\":3.55,\"y\":5.61,\"z\":-4.1},"
                      "\"gps_12\":{\"latitude\":52.3655,\"longitude\":4.8885,\"altitude\":21.54}}";
    const struct fw_codec_lpp_map map[] = {{3, "co_ppm"}};
    struct fw_lns_uplink up = {0};
    struct fw_codec_result res;
    up.decoded = cJSON_Parse(obj);
    ASSERT_EQ(fw_lns_decoded_values(&up, map, FW_ARRAY_LEN(map), &res), 0);
    ASSERT_EQ(res.n, 4);
    ASSERT_DBL_NEAR(value_of(&res, "co_ppm", 0)->value, 54.5, 0);
    ASSERT_DBL_NEAR(value_of(&res, "air_temp_c", 0)->value, -15.6, 0);
    ASSERT_DBL_NEAR(value_of(&res, "rel_humidity_pct", 0)->value, 49.5, 0);
    ASSERT_DBL_NEAR(value_of(&res, "pressure_hpa", 0)->value, 1073.5, 0);
    ASSERT_EQ(res.skipped, 8);
    ASSERT_EQ(res.skipped_by[FW_CODEC_SKIP_NO_METRIC], 8);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_NO_METRIC],
                  "digital_in_1: Cayenne LPP item without a metric");

    /* Without the map the analog input is unmapped; names like LPP's that are not. */
    cJSON_Delete(up.decoded);
    up.decoded =
        cJSON_Parse("{\"analog_in_3\":54.5,\"temperature_x\":1,\"temperature_256\":2,\"_7\":3}");
    ASSERT_EQ(fw_lns_decoded_values(&up, NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 0);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_UNMAPPED],
                  "analog_in_3: no metric mapped to analog input channel 3 (lpp_map)");
    ASSERT_EQ(res.skipped_by[FW_CODEC_SKIP_UNKNOWN_NAME], 3);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_UNKNOWN_NAME], "temperature_x: no metric of that name");
    fw_lns_uplink_free(&up);
}
