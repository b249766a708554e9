/* SPDX-License-Identifier: MIT */
/*
 * The field-node payload codecs: the forestwatch frame (round trip of every field at its edges,
 * the worked examples of docs/codec.md byte for byte, every truncation and every header fault
 * rejected) and Cayenne LPP (the examples of the Cayenne LPP definition, every type's size and
 * resolution, truncation, unknown types, the analog channel map).
 */
#include "forestwatch/codec.h"
#include "forestwatch/reading.h"
#include "forestwatch/util.h"
#include "test.h"

/* A frame of every field and the edge values of each, in two samples at the offset edges. */
static const struct fw_codec_sample edge_samples[2] = {
    {0, -327.68, 0, 0, 0, 0, 0},
    {65535, 327.67, 127.5, 65535, 6553.5, 65.535, 65535},
};

/* docs/codec.md, example 1: a fire node's single sample. */
static const uint8_t doc_fire[] = {0x01, 0x1f, 0x09, 0x6f, 0x47, 0x01,
                                   0x60, 0x00, 0x3d, 0x0f, 0x50};
/* docs/codec.md, example 2: a pest trap's batch of two samples. */
static const uint8_t doc_trap[] = {0x01, 0x61, 0x02, 0x0e, 0x10, 0x07, 0x3a, 0x00,
                                   0x0c, 0x00, 0x00, 0x08, 0x4d, 0x00, 0x03};

static int find_value(const struct fw_codec_result *res, const char *metric, uint32_t offset,
                      double *v)
{
    for (int i = 0; i < res->n; i++)
        if (strcmp(res->values[i].metric, metric) == 0 && res->values[i].offset_s == offset) {
            *v = res->values[i].value;
            return 1;
        }
    return 0;
}

FW_TEST(round_trip_edge_values)
{
    uint8_t buf[FW_CODEC_MAX_FRAME];
    size_t len = 0;
    struct fw_codec_result res;
    ASSERT_EQ(fw_codec_encode(FW_CODEC_F_FIELDS, edge_samples, 2, buf, sizeof(buf), &len), 0);
    ASSERT_EQ(len, 3 + 2 * 13);
    ASSERT_EQ(fw_codec_decode(buf, len, &res), 0);
    ASSERT_EQ(res.n, 12);
    static const char *const names[] = {"air_temp_c", "rel_humidity_pct", "smoke_ppm",
                                        "co_ppm",     "battery_v",        "trap_count"};
    for (int s = 0; s < 2; s++) {
        const struct fw_codec_sample *in = &edge_samples[s];
        const double want[] = {in->temp_c, in->rh_pct,    in->smoke_ppm,
                               in->co_ppm, in->battery_v, in->trap_count};
        for (int f = 0; f < 6; f++) {
            const struct fw_codec_value *v = &res.values[s * 6 + f];
            ASSERT_STR_EQ(v->metric, names[f]);
            ASSERT_EQ(v->offset_s, in->offset_s);
            ASSERT_DBL_NEAR(v->value, want[f], 1e-9);
        }
    }
}

FW_TEST(round_trip_every_field_subset)
{
    /* Typical values at a resolution step, and each of the 63 field masks on its own. */
    const struct fw_codec_sample in = {0, -4.15, 35.5, 352, 6.1, 3.92, 12};
    for (unsigned mask = 1; mask <= FW_CODEC_F_FIELDS; mask++) {
        uint8_t buf[FW_CODEC_MAX_FRAME];
        size_t len = 0;
        struct fw_codec_result res;
        double v;
        ASSERT_EQ(fw_codec_encode(mask, &in, 1, buf, sizeof(buf), &len), 0);
        ASSERT_EQ(buf[1], mask); /* one sample at offset 0: no batch header */
        ASSERT_EQ(fw_codec_decode(buf, len, &res), 0);
        ASSERT_EQ(res.n, __builtin_popcount(mask));
        if (mask & FW_CODEC_F_TEMP) {
            ASSERT_TRUE(find_value(&res, "air_temp_c", 0, &v));
            ASSERT_DBL_NEAR(v, -4.15, 1e-9);
        }
        if (mask & FW_CODEC_F_RH) {
            ASSERT_TRUE(find_value(&res, "rel_humidity_pct", 0, &v));
            ASSERT_DBL_NEAR(v, 35.5, 0);
        }
        if (mask & FW_CODEC_F_SMOKE) {
            ASSERT_TRUE(find_value(&res, "smoke_ppm", 0, &v));
            ASSERT_DBL_NEAR(v, 352, 0);
        }
        if (mask & FW_CODEC_F_CO) {
            ASSERT_TRUE(find_value(&res, "co_ppm", 0, &v));
            ASSERT_DBL_NEAR(v, 6.1, 1e-9);
        }
        if (mask & FW_CODEC_F_BATTERY) {
            ASSERT_TRUE(find_value(&res, "battery_v", 0, &v));
            ASSERT_DBL_NEAR(v, 3.92, 1e-9);
        }
        if (mask & FW_CODEC_F_TRAP) {
            ASSERT_TRUE(find_value(&res, "trap_count", 0, &v));
            ASSERT_DBL_NEAR(v, 12, 0);
        }
    }
}

FW_TEST(rounding_to_resolution)
{
    const struct fw_codec_sample in = {0, 21.004, 50.26, 352.5, 0.04, 3.9996, 0};
    uint8_t buf[32];
    size_t len = 0;
    struct fw_codec_result res;
    ASSERT_EQ(fw_codec_encode(FW_CODEC_F_FIELDS, &in, 1, buf, sizeof(buf), &len), 0);
    ASSERT_EQ(fw_codec_decode(buf, len, &res), 0);
    ASSERT_DBL_NEAR(res.values[0].value, 21.00, 1e-9);
    ASSERT_DBL_NEAR(res.values[1].value, 50.5, 0);
    ASSERT_DBL_NEAR(res.values[2].value, 353, 0); /* round half away from zero */
    ASSERT_DBL_NEAR(res.values[3].value, 0.0, 0);
    ASSERT_DBL_NEAR(res.values[4].value, 4.0, 1e-9);
}

FW_TEST(docs_worked_examples)
{
    uint8_t buf[FW_CODEC_MAX_FRAME];
    size_t len = 0;
    struct fw_codec_result res;
    double v;

    const struct fw_codec_sample fire = {0, 24.15, 35.5, 352, 6.1, 3.92, 0};
    ASSERT_EQ(fw_codec_encode(0x1f, &fire, 1, buf, sizeof(buf), &len), 0);
    ASSERT_EQ(len, sizeof(doc_fire));
    ASSERT_EQ(memcmp(buf, doc_fire, len), 0);
    ASSERT_EQ(fw_codec_decode(doc_fire, sizeof(doc_fire), &res), 0);
    ASSERT_EQ(res.n, 5);
    ASSERT_TRUE(find_value(&res, "smoke_ppm", 0, &v));
    ASSERT_DBL_NEAR(v, 352, 0);

    const struct fw_codec_sample trap[2] = {{3600, 18.5, 0, 0, 0, 0, 12},
                                            {0, 21.25, 0, 0, 0, 0, 3}};
    ASSERT_EQ(fw_codec_encode(FW_CODEC_F_TEMP | FW_CODEC_F_TRAP, trap, 2, buf, sizeof(buf), &len),
              0);
    ASSERT_EQ(len, sizeof(doc_trap));
    ASSERT_EQ(memcmp(buf, doc_trap, len), 0);
    ASSERT_EQ(fw_codec_decode(doc_trap, sizeof(doc_trap), &res), 0);
    ASSERT_EQ(res.n, 4);
    ASSERT_TRUE(find_value(&res, "trap_count", 3600, &v));
    ASSERT_DBL_NEAR(v, 12, 0);
    ASSERT_TRUE(find_value(&res, "air_temp_c", 0, &v));
    ASSERT_DBL_NEAR(v, 21.25, 1e-9);

    /* A single sample with a non-zero offset is written as a batch of one. */
    const struct fw_codec_sample late = {90, 0, 0, 0, 0, 0, 7};
    ASSERT_EQ(fw_codec_encode(FW_CODEC_F_TRAP, &late, 1, buf, sizeof(buf), &len), 0);
    const uint8_t want[] = {0x01, 0x60, 0x01, 0x00, 0x5a, 0x00, 0x07};
    ASSERT_EQ(len, sizeof(want));
    ASSERT_EQ(memcmp(buf, want, len), 0);
}

FW_TEST(metric_names_are_the_gateways)
{
    struct fw_codec_result res;
    uint8_t buf[FW_CODEC_MAX_FRAME];
    size_t len = 0;
    ASSERT_EQ(fw_codec_encode(FW_CODEC_F_FIELDS, edge_samples, 1, buf, sizeof(buf), &len), 0);
    ASSERT_EQ(fw_codec_decode(buf, len, &res), 0);
    ASSERT_EQ(res.n, 6);
    for (int i = 0; i < res.n; i++)
        ASSERT_TRUE(fw_metric_find(res.values[i].metric) != NULL);
    const uint8_t lpp[] = {1, 0x67, 0, 0, 2, 0x68, 0, 3, 0x73, 0x27, 0x10};
    ASSERT_EQ(fw_codec_lpp_decode(lpp, sizeof(lpp), NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 3);
    for (int i = 0; i < res.n; i++)
        ASSERT_TRUE(fw_metric_find(res.values[i].metric) != NULL);
}

FW_TEST(encode_rejections)
{
    uint8_t buf[FW_CODEC_MAX_FRAME];
    size_t len = 0;
    struct fw_codec_sample s = {0, 20, 50, 1, 1, 3.3, 1};
    struct fw_codec_sample many[FW_CODEC_MAX_SAMPLES + 1];
    memset(many, 0, sizeof(many));

    ASSERT_EQ(fw_codec_encode(0, &s, 1, buf, sizeof(buf), &len), -EINVAL);
    ASSERT_EQ(fw_codec_encode(FW_CODEC_F_BATCH | FW_CODEC_F_TEMP, &s, 1, buf, sizeof(buf), &len),
              -EINVAL);
    ASSERT_EQ(fw_codec_encode(FW_CODEC_F_RESERVED | FW_CODEC_F_TEMP, &s, 1, buf, sizeof(buf), &len),
              -EINVAL);
    ASSERT_EQ(fw_codec_encode(FW_CODEC_F_TEMP, &s, 0, buf, sizeof(buf), &len), -EINVAL);
    ASSERT_EQ(
        fw_codec_encode(FW_CODEC_F_TEMP, many, FW_CODEC_MAX_SAMPLES + 1, buf, sizeof(buf), &len),
        -EINVAL);
    ASSERT_EQ(
        fw_codec_encode(FW_CODEC_F_FIELDS, many, FW_CODEC_MAX_SAMPLES, buf, sizeof(buf), &len), 0);
    ASSERT_EQ(len, 3 + FW_CODEC_MAX_SAMPLES * 13);

    struct {
        unsigned flag;
        double bad;
    } const ranges[] = {
        {FW_CODEC_F_TEMP, 327.68},    {FW_CODEC_F_TEMP, -327.69},   {FW_CODEC_F_TEMP, NAN},
        {FW_CODEC_F_RH, -0.5},        {FW_CODEC_F_RH, 128},         {FW_CODEC_F_SMOKE, -1},
        {FW_CODEC_F_SMOKE, 65536},    {FW_CODEC_F_SMOKE, INFINITY}, {FW_CODEC_F_CO, 6553.6},
        {FW_CODEC_F_BATTERY, 65.536}, {FW_CODEC_F_BATTERY, -0.001},
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(ranges); i++) {
        struct fw_codec_sample b = s;
        switch (ranges[i].flag) {
        case FW_CODEC_F_TEMP:
            b.temp_c = ranges[i].bad;
            break;
        case FW_CODEC_F_RH:
            b.rh_pct = ranges[i].bad;
            break;
        case FW_CODEC_F_SMOKE:
            b.smoke_ppm = ranges[i].bad;
            break;
        case FW_CODEC_F_CO:
            b.co_ppm = ranges[i].bad;
            break;
        default:
            b.battery_v = ranges[i].bad;
        }
        if (fw_codec_encode(FW_CODEC_F_FIELDS, &b, 1, buf, sizeof(buf), &len) != -ERANGE) {
            fprintf(stderr, "range case %zu (%g) was accepted\n", i, ranges[i].bad);
            ASSERT_TRUE(0);
        }
        /* A field that is not in the mask is not read, so its value does not matter. */
        ASSERT_EQ(
            fw_codec_encode(FW_CODEC_F_FIELDS & ~ranges[i].flag, &b, 1, buf, sizeof(buf), &len), 0);
    }
    s.trap_count = 65536;
    ASSERT_EQ(fw_codec_encode(FW_CODEC_F_TRAP, &s, 1, buf, sizeof(buf), &len), -ERANGE);
    s.trap_count = 1;
    s.offset_s = 65536;
    ASSERT_EQ(fw_codec_encode(FW_CODEC_F_TRAP, &s, 1, buf, sizeof(buf), &len), -ERANGE);
    s.offset_s = 0;
    ASSERT_EQ(fw_codec_encode(0x1f, &s, 1, buf, 10, &len), -ENOBUFS);
    ASSERT_EQ(fw_codec_encode(0x1f, &s, 1, buf, 11, &len), 0);
}

/* Every proper prefix of a valid frame is rejected, with a reason and no values. */
static void check_truncations(const uint8_t *frame, size_t len, int lpp)
{
    struct fw_codec_result res;
    for (size_t cut = 0; cut < len; cut++) {
        /* A heap copy of exactly `cut` bytes, so that a read past it shows under ASan. */
        uint8_t *p = fw_xmalloc(cut ? cut : 1);
        memcpy(p, frame, cut);
        res.n = -1;
        int rc = lpp ? fw_codec_lpp_decode(p, cut, NULL, 0, &res) : fw_codec_decode(p, cut, &res);
        free(p);
        if (rc != -EINVAL || res.n != 0 || res.error[0] == '\0') {
            fprintf(stderr, "prefix of %zu/%zu bytes: rc %d n %d error \"%s\"\n", cut, len, rc,
                    res.n, res.error);
            FW_FAIL_("a truncated frame was not rejected");
        }
    }
}

FW_TEST(every_truncation_is_rejected)
{
    uint8_t buf[FW_CODEC_MAX_FRAME];
    size_t len = 0;
    check_truncations(doc_fire, sizeof(doc_fire), 0);
    check_truncations(doc_trap, sizeof(doc_trap), 0);
    ASSERT_EQ(fw_codec_encode(FW_CODEC_F_FIELDS, edge_samples, 2, buf, sizeof(buf), &len), 0);
    check_truncations(buf, len, 0);
    if (fw_test__failed)
        return;

    struct fw_codec_result res;
    const uint8_t t1[] = {0x01, 0x1f, 0x09, 0x6f, 0x47, 0x01, 0x60, 0x00};
    ASSERT_EQ(fw_codec_decode(t1, sizeof(t1), &res), -EINVAL);
    ASSERT_STR_EQ(res.error, "truncated at byte 7: co needs 2 bytes");
    const uint8_t t2[] = {0x01, 0x61, 0x02, 0x0e, 0x10, 0x07, 0x3a, 0x00, 0x0c, 0x00};
    ASSERT_EQ(fw_codec_decode(t2, sizeof(t2), &res), -EINVAL);
    ASSERT_STR_EQ(res.error, "truncated at byte 9: sample 2 offset needs 2 bytes");
    const uint8_t t3[] = {0x01, 0x03, 0x09, 0x6f};
    ASSERT_EQ(fw_codec_decode(t3, sizeof(t3), &res), -EINVAL);
    ASSERT_STR_EQ(res.error, "truncated at byte 4: humidity needs 1 byte");
    const uint8_t t4[] = {0x01, 0x41};
    ASSERT_EQ(fw_codec_decode(t4, sizeof(t4), &res), -EINVAL);
    ASSERT_STR_EQ(res.error, "truncated at byte 2: sample count needs 1 byte");
}

FW_TEST(header_and_trailer_rejections)
{
    struct fw_codec_result res;
    static const struct {
        uint8_t frame[8];
        size_t len;
        int rc;
        const char *error;
    } cases[] = {
        {{0}, 0, -EINVAL, "empty frame"},
        {{0x00, 0x01, 0, 0}, 4, -ENOTSUP, "byte 0: unsupported version 0 (this gateway reads 1)"},
        {{0x02, 0x01, 0, 0}, 4, -ENOTSUP, "byte 0: unsupported version 2 (this gateway reads 1)"},
        {{0xff}, 1, -ENOTSUP, "byte 0: unsupported version 255"},
        {{0x01}, 1, -EINVAL, "truncated at byte 1: flags need 1 byte"},
        {{0x01, 0x81, 0, 0}, 4, -EINVAL, "byte 1: flags 0x81 set the reserved bit 0x80"},
        {{0x01, 0x00}, 2, -EINVAL, "byte 1: flags 0x00 name no field"},
        {{0x01, 0x40, 0x01, 0, 0}, 5, -EINVAL, "byte 1: flags 0x40 name no field"},
        {{0x01, 0x60, 0x00}, 3, -EINVAL, "byte 2: sample count 0, must be 1..16"},
        {{0x01, 0x60, 0x11}, 3, -EINVAL, "byte 2: sample count 17, must be 1..16"},
        {{0x01, 0x20, 0x00, 0x05, 0x00},
         5,
         -EINVAL,
         "1 trailing byte at byte 4 after the last sample"},
        {{0x01, 0x60, 0x01, 0, 0, 0, 5, 0xaa},
         8,
         -EINVAL,
         "1 trailing byte at byte 7 after the last sample"},
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        int rc = fw_codec_decode(cases[i].frame, cases[i].len, &res);
        if (rc != cases[i].rc || res.n != 0 || !strstr(res.error, cases[i].error)) {
            fprintf(stderr, "case %zu: rc %d n %d error \"%s\"\n", i, rc, res.n, res.error);
            ASSERT_TRUE(0);
        }
    }
    uint8_t big[FW_CODEC_MAX_FRAME + 1] = {1, 0x20};
    ASSERT_EQ(fw_codec_decode(big, sizeof(big), &res), -E2BIG);
    ASSERT_STR_EQ(res.error, "frame of 243 bytes exceeds the limit of 242");
    ASSERT_EQ(fw_codec_lpp_decode(big, sizeof(big), NULL, 0, &res), -E2BIG);
}

/* xorshift32: deterministic garbage, so a failure can be replayed. */
static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

FW_TEST(garbage_never_crashes)
{
    uint32_t seed = 0x5eed1234;
    struct fw_codec_result res;
    const struct fw_codec_lpp_map map[] = {{3, "smoke_ppm"}};
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = rnd(&seed) % 64;
        uint8_t *p = fw_xmalloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)rnd(&seed);
        /* Steer half the frames past the version check, and LPP types into the known set. */
        if (len && iter % 2)
            p[0] = FW_CODEC_VERSION;
        if (len > 1 && iter % 3 == 0)
            p[1] = (uint8_t)(p[1] & 0x7f);
        int rc = fw_codec_decode(p, len, &res);
        ASSERT_TRUE(rc == 0 ? res.n > 0 && res.error[0] == '\0' : res.n == 0 && res.error[0]);
        if (len > 1 && iter % 2)
            p[1] = FW_CODEC_LPP_TEMPERATURE;
        rc = fw_codec_lpp_decode(p, len, map, 1, &res);
        ASSERT_TRUE(rc == 0 ? res.error[0] == '\0' : res.n == 0 && res.error[0]);
        free(p);
    }
}

/* ---- Cayenne LPP ---- */

FW_TEST(lpp_spec_examples)
{
    struct fw_codec_result res;
    /* "Device with 2 temperature sensors": channel 3 27.2 degC, channel 5 25.5 degC. */
    const uint8_t two_temps[] = {0x03, 0x67, 0x01, 0x10, 0x05, 0x67, 0x00, 0xff};
    ASSERT_EQ(fw_codec_lpp_decode(two_temps, sizeof(two_temps), NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 2);
    ASSERT_STR_EQ(res.values[0].metric, "air_temp_c");
    ASSERT_DBL_NEAR(res.values[0].value, 27.2, 1e-9);
    ASSERT_DBL_NEAR(res.values[1].value, 25.5, 1e-9);
    ASSERT_EQ(res.values[1].offset_s, 0);
    ASSERT_EQ(res.skipped, 0);

    /* "Temperature and accelerometer": -4.1 degC; 1.234, -1.234, 0 G (skipped: no metric). */
    const uint8_t temp_acc[] = {0x01, 0x67, 0xff, 0xd7, 0x06, 0x71,
                                0x04, 0xd2, 0xfb, 0x2e, 0x00, 0x00};
    ASSERT_EQ(fw_codec_lpp_decode(temp_acc, sizeof(temp_acc), NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 1);
    ASSERT_DBL_NEAR(res.values[0].value, -4.1, 1e-9);
    ASSERT_EQ(res.skipped, 1);
    ASSERT_EQ(res.skipped_by[FW_CODEC_SKIP_NO_METRIC], 1);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_NO_METRIC], "channel 6: accelerometer: no metric");

    /* "GPS": 42.3519 N, 87.9094 W, 10 m. */
    const uint8_t gps[] = {0x01, 0x88, 0x06, 0x76, 0x5f, 0xf2, 0x96, 0x0a, 0x00, 0x03, 0xe8};
    ASSERT_EQ(fw_codec_lpp_decode(gps, sizeof(gps), NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 0);
    ASSERT_EQ(res.skipped, 1);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_NO_METRIC], "channel 1: GPS: no metric");

    /* The encoder reproduces all three byte for byte. */
    uint8_t buf[64];
    size_t len = 0;
    const struct fw_codec_lpp_item it1[] = {{3, FW_CODEC_LPP_TEMPERATURE, {27.2}},
                                            {5, FW_CODEC_LPP_TEMPERATURE, {25.5}}};
    ASSERT_EQ(fw_codec_lpp_encode(it1, 2, buf, sizeof(buf), &len), 0);
    ASSERT_EQ(len, sizeof(two_temps));
    ASSERT_EQ(memcmp(buf, two_temps, len), 0);
    const struct fw_codec_lpp_item it2[] = {{1, FW_CODEC_LPP_TEMPERATURE, {-4.1}},
                                            {6, FW_CODEC_LPP_ACCELEROMETER, {1.234, -1.234, 0}}};
    ASSERT_EQ(fw_codec_lpp_encode(it2, 2, buf, sizeof(buf), &len), 0);
    ASSERT_EQ(len, sizeof(temp_acc));
    ASSERT_EQ(memcmp(buf, temp_acc, len), 0);
    const struct fw_codec_lpp_item it3[] = {{1, FW_CODEC_LPP_GPS, {42.3519, -87.9094, 10}}};
    ASSERT_EQ(fw_codec_lpp_encode(it3, 1, buf, sizeof(buf), &len), 0);
    ASSERT_EQ(len, sizeof(gps));
    ASSERT_EQ(memcmp(buf, gps, len), 0);
}

FW_TEST(lpp_every_type_size_and_resolution)
{
    /* type, value(s), the bytes the Cayenne LPP definition gives for them */
    static const struct {
        struct fw_codec_lpp_item item;
        uint8_t wire[11];
        size_t len;
        const char *metric; /* NULL: skipped */
    } cases[] = {
        {{1, FW_CODEC_LPP_DIGITAL_IN, {1}}, {1, 0x00, 0x01}, 3, NULL},
        {{2, FW_CODEC_LPP_DIGITAL_OUT, {255}}, {2, 0x01, 0xff}, 3, NULL},
        {{3, FW_CODEC_LPP_ANALOG_IN, {-1.5}}, {3, 0x02, 0xff, 0x6a}, 4, NULL},
        {{4, FW_CODEC_LPP_ANALOG_OUT, {327.67}}, {4, 0x03, 0x7f, 0xff}, 4, NULL},
        {{5, FW_CODEC_LPP_ILLUMINANCE, {65535}}, {5, 0x65, 0xff, 0xff}, 4, NULL},
        {{6, FW_CODEC_LPP_PRESENCE, {1}}, {6, 0x66, 0x01}, 3, NULL},
        {{7, FW_CODEC_LPP_TEMPERATURE, {-3276.8}}, {7, 0x67, 0x80, 0x00}, 4, "air_temp_c"},
        {{8, FW_CODEC_LPP_HUMIDITY, {127.5}}, {8, 0x68, 0xff}, 3, "rel_humidity_pct"},
        {{9, FW_CODEC_LPP_ACCELEROMETER, {-0.001, 0, 32.767}},
         {9, 0x71, 0xff, 0xff, 0x00, 0x00, 0x7f, 0xff},
         8,
         NULL},
        {{10, FW_CODEC_LPP_BAROMETER, {1013.2}}, {10, 0x73, 0x27, 0x94}, 4, "pressure_hpa"},
        {{11, FW_CODEC_LPP_GYROMETER, {1.0, -1.0, 0.01}},
         {11, 0x86, 0x00, 0x64, 0xff, 0x9c, 0x00, 0x01},
         8,
         NULL},
        {{12, FW_CODEC_LPP_GPS, {-0.0001, 838.8607, -83886.08}},
         {12, 0x88, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0x80, 0x00, 0x00},
         11,
         NULL},
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        uint8_t buf[16];
        size_t len = 0;
        struct fw_codec_result res;
        ASSERT_EQ(fw_codec_lpp_encode(&cases[i].item, 1, buf, sizeof(buf), &len), 0);
        if (len != cases[i].len || memcmp(buf, cases[i].wire, len) != 0) {
            fprintf(stderr, "case %zu (%s): encoded to %zu bytes, not as specified\n", i,
                    fw_codec_lpp_type_name(cases[i].item.type), len);
            ASSERT_TRUE(0);
        }
        ASSERT_EQ(fw_codec_lpp_decode(buf, len, NULL, 0, &res), 0);
        if (cases[i].metric) {
            ASSERT_EQ(res.n, 1);
            ASSERT_STR_EQ(res.values[0].metric, cases[i].metric);
            ASSERT_DBL_NEAR(res.values[0].value, cases[i].item.v[0], 1e-9);
        } else {
            ASSERT_EQ(res.n, 0);
            ASSERT_EQ(res.skipped, 1);
        }
        check_truncations(buf, len, 1);
        if (fw_test__failed)
            return;
    }
    ASSERT_STR_EQ(fw_codec_lpp_type_name(FW_CODEC_LPP_BAROMETER), "barometer");
    ASSERT_TRUE(fw_codec_lpp_type_name(0x99) == NULL);
}

FW_TEST(lpp_analog_input_channel_map)
{
    const struct fw_codec_lpp_map map[] = {{2, "smoke_ppm"}, {4, "co_ppm"}};
    const struct fw_codec_lpp_item items[] = {
        {2, FW_CODEC_LPP_ANALOG_IN, {312.55}},
        {3, FW_CODEC_LPP_ANALOG_IN, {1.0}}, /* no metric for channel 3 */
        {4, FW_CODEC_LPP_ANALOG_IN, {12.3}},
        {2, FW_CODEC_LPP_ANALOG_OUT, {5}}, /* outputs are not readings */
        {1, FW_CODEC_LPP_HUMIDITY, {18.5}},
    };
    uint8_t buf[64];
    size_t len = 0;
    struct fw_codec_result res;
    ASSERT_EQ(fw_codec_lpp_encode(items, FW_ARRAY_LEN(items), buf, sizeof(buf), &len), 0);
    ASSERT_EQ(fw_codec_lpp_decode(buf, len, map, FW_ARRAY_LEN(map), &res), 0);
    ASSERT_EQ(res.n, 3);
    ASSERT_STR_EQ(res.values[0].metric, "smoke_ppm");
    ASSERT_DBL_NEAR(res.values[0].value, 312.55, 1e-9);
    ASSERT_STR_EQ(res.values[1].metric, "co_ppm");
    ASSERT_DBL_NEAR(res.values[1].value, 12.3, 1e-9);
    ASSERT_STR_EQ(res.values[2].metric, "rel_humidity_pct");
    ASSERT_DBL_NEAR(res.values[2].value, 18.5, 0);
    /* Skipped, each counted under its reason: the unmapped channel, the output (no metric). */
    ASSERT_EQ(res.skipped, 2);
    ASSERT_EQ(res.skipped_by[FW_CODEC_SKIP_UNMAPPED], 1);
    ASSERT_EQ(res.skipped_by[FW_CODEC_SKIP_NO_METRIC], 1);
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_UNMAPPED],
                  "channel 3: analog input: no metric mapped to this channel (lpp_map)");
    ASSERT_STR_EQ(res.note[FW_CODEC_SKIP_NO_METRIC], "channel 2: analog output: no metric");
    /* Without a map every analog input is skipped. */
    ASSERT_EQ(fw_codec_lpp_decode(buf, len, NULL, 0, &res), 0);
    ASSERT_EQ(res.n, 1);
    ASSERT_EQ(res.skipped, 4);
    ASSERT_EQ(res.skipped_by[FW_CODEC_SKIP_UNMAPPED], 3);
}

FW_TEST(lpp_rejections)
{
    struct fw_codec_result res;
    static const struct {
        uint8_t frame[12];
        size_t len;
        const char *error;
    } cases[] = {
        {{0}, 0, "empty frame"},
        {{0x03}, 1, "truncated at byte 1: channel 3 has no type byte"},
        {{0x03, 0x67, 0x01, 0x10, 0x05, 0x99, 0, 0}, 8, "unknown LPP type 0x99 at byte 5"},
        {{0x01, 0x99, 0x00}, 3, "unknown LPP type 0x99 at byte 1"},
        {{0x03, 0x67, 0x01, 0x10, 0x05, 0x67, 0x00},
         7,
         "truncated at byte 6: temperature needs 2 bytes"},
        {{0x03, 0x67, 0x01, 0x10, 0x05, 0x67}, 6, "truncated at byte 6: temperature needs 2 bytes"},
        {{0x01, 0x88, 0x06, 0x76, 0x5f, 0xf2, 0x96, 0x0a, 0x00, 0x03},
         10,
         "truncated at byte 2: GPS needs 9 bytes"},
        {{0x01, 0x68}, 2, "truncated at byte 2: humidity needs 1 byte"},
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        int rc = fw_codec_lpp_decode(cases[i].frame, cases[i].len, NULL, 0, &res);
        if (rc != -EINVAL || res.n != 0 || strcmp(res.error, cases[i].error) != 0) {
            fprintf(stderr, "case %zu: rc %d n %d error \"%s\"\n", i, rc, res.n, res.error);
            ASSERT_TRUE(0);
        }
    }

    uint8_t buf[8];
    size_t len = 0;
    const struct fw_codec_lpp_item bad_type = {1, 0x99, {0}};
    ASSERT_EQ(fw_codec_lpp_encode(&bad_type, 1, buf, sizeof(buf), &len), -EINVAL);
    const struct fw_codec_lpp_item too_hot = {1, FW_CODEC_LPP_TEMPERATURE, {3276.8}};
    ASSERT_EQ(fw_codec_lpp_encode(&too_hot, 1, buf, sizeof(buf), &len), -ERANGE);
    const struct fw_codec_lpp_item wet = {1, FW_CODEC_LPP_HUMIDITY, {-0.5}};
    ASSERT_EQ(fw_codec_lpp_encode(&wet, 1, buf, sizeof(buf), &len), -ERANGE);
    const struct fw_codec_lpp_item nan = {1, FW_CODEC_LPP_BAROMETER, {NAN}};
    ASSERT_EQ(fw_codec_lpp_encode(&nan, 1, buf, sizeof(buf), &len), -ERANGE);
    const struct fw_codec_lpp_item gps = {1, FW_CODEC_LPP_GPS, {1, 2, 3}};
    ASSERT_EQ(fw_codec_lpp_encode(&gps, 1, buf, sizeof(buf), &len), -ENOBUFS);
    ASSERT_EQ(len, 0);
}
