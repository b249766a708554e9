/* SPDX-License-Identifier: MIT */
/*
 * Device profiles: decoding of every type in every word/byte order from known register values,
 * signed temperatures below zero, the encoder as the decoder's inverse, accumulator deltas with
 * wrap and reset, the read plan, and the loader: the shipped profiles and tests/data/profiles/
 * valid load; every file of tests/data/profiles/invalid fails with exactly the messages of its
 * golden .err file.
 */
#include "test.h"

#include "forestwatch/profile.h"
#include "forestwatch/util.h"

#include <dirent.h>

static struct fw_profile_point pt(enum fw_profile_type t, enum fw_profile_order o)
{
    struct fw_profile_point p = {.area = FW_AREA_HOLDING, .type = t, .order = o, .scale = 1};
    p.count = (uint16_t)fw_profile_type_count(t);
    p.metric = fw_metric_find("air_temp_c");
    p.min = -1e12;
    p.max = 1e12;
    return p;
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* One known value per 32-bit type, as its registers arrive in each of the four orders. */
struct case32 {
    enum fw_profile_type type;
    double want;
    uint16_t regs[4][2]; /* ABCD, BADC, CDAB, DCBA */
};

static const struct case32 cases32[] = {
    {FW_TYPE_UINT32,
     305419896, /* 0x12345678 */
     {{0x1234, 0x5678}, {0x3412, 0x7856}, {0x5678, 0x1234}, {0x7856, 0x3412}}},
    {FW_TYPE_UINT32,
     4294967295.0,
     {{0xFFFF, 0xFFFF}, {0xFFFF, 0xFFFF}, {0xFFFF, 0xFFFF}, {0xFFFF, 0xFFFF}}},
    {FW_TYPE_INT32,
     -123456789, /* 0xF8A432EB */
     {{0xF8A4, 0x32EB}, {0xA4F8, 0xEB32}, {0x32EB, 0xF8A4}, {0xEB32, 0xA4F8}}},
    {FW_TYPE_INT32,
     2147483647, /* 0x7FFFFFFF */
     {{0x7FFF, 0xFFFF}, {0xFF7F, 0xFFFF}, {0xFFFF, 0x7FFF}, {0xFFFF, 0xFF7F}}},
    {FW_TYPE_FLOAT32,
     123.456001281738, /* 0x42F6E979, 123.456f */
     {{0x42F6, 0xE979}, {0xF642, 0x79E9}, {0xE979, 0x42F6}, {0x79E9, 0xF642}}},
    {FW_TYPE_FLOAT32,
     -40.5, /* 0xC2220000 */
     {{0xC222, 0x0000}, {0x22C2, 0x0000}, {0x0000, 0xC222}, {0x0000, 0x22C2}}},
};

FW_TEST(decode_32bit_every_order)
{
    for (size_t i = 0; i < FW_ARRAY_LEN(cases32); i++)
        for (int o = 0; o < 4; o++) {
            struct fw_profile_point p = pt(cases32[i].type, (enum fw_profile_order)o);
            double got = fw_profile_raw(&p, cases32[i].regs[o]);
            if (fabs(got - cases32[i].want) > 1e-9) {
                fprintf(stderr, "case %zu %s %s\n", i, fw_profile_type_str(p.type),
                        fw_profile_order_str(p.order, 2));
                ASSERT_DBL_NEAR(got, cases32[i].want, 1e-9);
            }
            ASSERT_EQ(fw_profile_word32(cases32[i].regs[o], p.order),
                      fw_profile_word32(cases32[i].regs[0], FW_ORDER_ABCD));
        }
}

FW_TEST(decode_16bit_both_orders)
{
    struct fw_profile_point p = pt(FW_TYPE_INT16, FW_ORDER_ABCD);
    uint16_t r = 0xFF9C, rs = 0x9CFF;
    ASSERT_DBL_NEAR(fw_profile_raw(&p, &r), -100, 0);
    p.order = FW_ORDER_BADC;
    ASSERT_DBL_NEAR(fw_profile_raw(&p, &rs), -100, 0);
    p = pt(FW_TYPE_UINT16, FW_ORDER_ABCD);
    ASSERT_DBL_NEAR(fw_profile_raw(&p, &r), 65436, 0);
    p.order = FW_ORDER_BADC;
    ASSERT_DBL_NEAR(fw_profile_raw(&p, &rs), 65436, 0);
    uint16_t max = 0x7FFF, min = 0x8000;
    p = pt(FW_TYPE_INT16, FW_ORDER_ABCD);
    ASSERT_DBL_NEAR(fw_profile_raw(&p, &max), 32767, 0);
    ASSERT_DBL_NEAR(fw_profile_raw(&p, &min), -32768, 0);
    p = pt(FW_TYPE_BOOL, FW_ORDER_ABCD);
    p.area = FW_AREA_COIL;
    uint16_t on = 1, off = 0;
    ASSERT_DBL_NEAR(fw_profile_raw(&p, &on), 1, 0);
    ASSERT_DBL_NEAR(fw_profile_raw(&p, &off), 0, 0);
}

FW_TEST(negative_temperatures)
{
    /* Renke RS-GZWS-N01 register 1: int16 x0.1 degC. Read unsigned, -20.0 would be 6533.6. */
    struct fw_profile_point p = pt(FW_TYPE_INT16, FW_ORDER_ABCD);
    p.scale = 0.1;
    p.min = -40;
    p.max = 80;
    uint16_t regs[] = {0xFF38, 0xFFFF, 0x0000, 0xFE70, 0x00FA};
    double want[] = {-20.0, -0.1, 0.0, -40.0, 25.0};
    for (size_t i = 0; i < FW_ARRAY_LEN(regs); i++) {
        double v = fw_profile_value(&p, &regs[i]);
        ASSERT_DBL_NEAR(v, want[i], 1e-9);
        ASSERT_TRUE(fw_profile_plausible(&p, v));
    }
    p.type = FW_TYPE_UINT16; /* the public decoder's mistake */
    ASSERT_DBL_NEAR(fw_profile_value(&p, &regs[0]), 6533.6, 1e-9);
    ASSERT_TRUE(!fw_profile_plausible(&p, fw_profile_value(&p, &regs[0])));
    /* A 32-bit float below zero with an offset, word-swapped. */
    struct fw_profile_point f = pt(FW_TYPE_FLOAT32, FW_ORDER_CDAB);
    f.offset = -0.5;
    uint16_t fr[] = {0x0000, 0xC222};
    ASSERT_DBL_NEAR(fw_profile_value(&f, fr), -41.0, 1e-9);
}

FW_TEST(plausible)
{
    struct fw_profile_point p = pt(FW_TYPE_FLOAT32, FW_ORDER_ABCD);
    p.min = 0;
    p.max = 100;
    ASSERT_TRUE(fw_profile_plausible(&p, 0));
    ASSERT_TRUE(fw_profile_plausible(&p, 100));
    ASSERT_TRUE(!fw_profile_plausible(&p, 100.01));
    ASSERT_TRUE(!fw_profile_plausible(&p, -0.01));
    ASSERT_TRUE(!fw_profile_plausible(&p, NAN));
    ASSERT_TRUE(!fw_profile_plausible(&p, INFINITY));
    uint16_t nan_regs[] = {0x7FC0, 0x0000};
    ASSERT_TRUE(!fw_profile_plausible(&p, fw_profile_value(&p, nan_regs)));
}

FW_TEST(encode_roundtrip)
{
    const double values[] = {0, 1, -1, 12.3, -40.5, 1013.2, 65.4};
    for (int t = FW_TYPE_INT16; t <= FW_TYPE_FLOAT32; t++)
        for (int o = 0; o < 4; o++) {
            int count = fw_profile_type_count((enum fw_profile_type)t);
            if (count == 1 && o > FW_ORDER_BADC)
                continue;
            struct fw_profile_point p = pt((enum fw_profile_type)t, (enum fw_profile_order)o);
            p.scale = 0.1;
            for (size_t i = 0; i < FW_ARRAY_LEN(values); i++) {
                double v = values[i];
                if ((t == FW_TYPE_UINT16 || t == FW_TYPE_UINT32) && v < 0)
                    v = 0; /* clamped */
                uint16_t regs[2] = {0, 0};
                fw_profile_encode(&p, values[i], regs);
                ASSERT_DBL_NEAR(fw_profile_value(&p, regs), v, 1e-4);
            }
        }
    /* Clamping at the type's range. */
    struct fw_profile_point p = pt(FW_TYPE_INT16, FW_ORDER_ABCD);
    uint16_t r;
    fw_profile_encode(&p, 1e6, &r);
    ASSERT_EQ(r, 0x7FFF);
    fw_profile_encode(&p, -1e6, &r);
    ASSERT_EQ(r, 0x8000);
}

/* ------------------------------------------------------------------------------------------ */
/* Accumulators                                                                                */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(accumulator_uint16)
{
    struct fw_profile_point p = pt(FW_TYPE_UINT16, FW_ORDER_ABCD);
    p.scale = 0.1;
    p.accumulator = true;
    struct fw_accum st = {0};
    double d = -1;
    ASSERT_EQ(fw_profile_accum(&p, &st, 1000, &d), FW_ACCUM_FIRST);
    ASSERT_DBL_NEAR(d, -1, 0); /* untouched */
    ASSERT_EQ(fw_profile_accum(&p, &st, 1000, &d), FW_ACCUM_DELTA);
    ASSERT_DBL_NEAR(d, 0, 1e-12);
    ASSERT_EQ(fw_profile_accum(&p, &st, 1025, &d), FW_ACCUM_DELTA);
    ASSERT_DBL_NEAR(d, 2.5, 1e-9);
    /* Cleared (the CWT-UWD's 0x5A written to 0x6002) and 0.7 mm since. */
    ASSERT_EQ(fw_profile_accum(&p, &st, 7, &d), FW_ACCUM_RESET);
    ASSERT_DBL_NEAR(d, 0.7, 1e-9);
    /* Up to the top of the range and past it: 65530 -> 65535 -> 0 -> 5 is 11 counts. */
    ASSERT_EQ(fw_profile_accum(&p, &st, 65530, &d), FW_ACCUM_DELTA);
    ASSERT_EQ(fw_profile_accum(&p, &st, 5, &d), FW_ACCUM_WRAP);
    ASSERT_DBL_NEAR(d, 1.1, 1e-9);
    /* A drop from the middle of the range is a reset, not a wrap. */
    ASSERT_EQ(fw_profile_accum(&p, &st, 40000, &d), FW_ACCUM_DELTA);
    ASSERT_EQ(fw_profile_accum(&p, &st, 3, &d), FW_ACCUM_RESET);
    ASSERT_DBL_NEAR(d, 0.3, 1e-9);
    /* The boundaries of the rule: prev at 3/4 of the range, cur just under 1/4. */
    ASSERT_EQ(fw_profile_accum(&p, &st, 49152, &d), FW_ACCUM_DELTA);
    ASSERT_EQ(fw_profile_accum(&p, &st, 16383, &d), FW_ACCUM_WRAP);
    ASSERT_DBL_NEAR(d, (65536 - 49152 + 16383) * 0.1, 1e-6);
    ASSERT_EQ(fw_profile_accum(&p, &st, 49151, &d), FW_ACCUM_DELTA);
    ASSERT_EQ(fw_profile_accum(&p, &st, 100, &d), FW_ACCUM_RESET);
    /* Only the low 16 bits of a 16-bit counter count. */
    ASSERT_EQ(fw_profile_accum(&p, &st, 0x10000 + 200, &d), FW_ACCUM_DELTA);
    ASSERT_DBL_NEAR(d, 10.0, 1e-9);
}

FW_TEST(accumulator_uint32)
{
    struct fw_profile_point p = pt(FW_TYPE_UINT32, FW_ORDER_CDAB);
    p.scale = 0.2;
    p.accumulator = true;
    struct fw_accum st = {0};
    double d = 0;
    /* Decoded from registers, as the poller does. */
    uint16_t regs[2];
    fw_profile_encode(&p, 4294967290.0 * 0.2, regs);
    uint32_t raw = (uint32_t)fw_profile_raw(&p, regs);
    ASSERT_EQ(raw, 4294967290u);
    ASSERT_EQ(fw_profile_accum(&p, &st, raw, &d), FW_ACCUM_FIRST);
    ASSERT_EQ(fw_profile_accum(&p, &st, 4, &d), FW_ACCUM_WRAP);
    ASSERT_DBL_NEAR(d, 10 * 0.2, 1e-9);
    ASSERT_EQ(fw_profile_accum(&p, &st, 1000000, &d), FW_ACCUM_DELTA);
    ASSERT_DBL_NEAR(d, (1000000 - 4) * 0.2, 1e-6);
    ASSERT_EQ(fw_profile_accum(&p, &st, 65536, &d), FW_ACCUM_RESET); /* 65535 is no limit here */
    ASSERT_DBL_NEAR(d, 65536 * 0.2, 1e-6);
}

/* ------------------------------------------------------------------------------------------ */
/* Read plan                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static struct fw_profile_point at(enum fw_profile_area a, int addr, enum fw_profile_type t)
{
    struct fw_profile_point p = pt(t, FW_ORDER_ABCD);
    p.area = a;
    p.address = (uint16_t)addr;
    return p;
}

FW_TEST(plan_merges_adjacent)
{
    /* Unsorted on purpose; the CWT-UWD block with its gaps, plus a float and a neighbour. */
    struct fw_profile_point ps[] = {
        at(FW_AREA_HOLDING, 505, FW_TYPE_INT16),  at(FW_AREA_HOLDING, 500, FW_TYPE_UINT16),
        at(FW_AREA_HOLDING, 513, FW_TYPE_UINT16), at(FW_AREA_HOLDING, 503, FW_TYPE_UINT16),
        at(FW_AREA_HOLDING, 504, FW_TYPE_UINT16), at(FW_AREA_HOLDING, 509, FW_TYPE_UINT16),
    };
    struct fw_profile_request r[8];
    /* No gap allowed: 500 | 503..505 | 509 | 513. */
    ASSERT_EQ(fw_profile_plan(ps, 6, 0, 125, r, 8), 4);
    ASSERT_EQ(r[0].address, 500);
    ASSERT_EQ(r[0].count, 1);
    ASSERT_EQ(r[1].address, 503);
    ASSERT_EQ(r[1].count, 3);
    ASSERT_EQ(r[2].address, 509);
    ASSERT_EQ(r[3].address, 513);
    ASSERT_EQ(ps[0].request, 1);
    ASSERT_EQ(ps[0].index, 2);
    /* Gaps of 2 and 3 bridged: one request 500..513. */
    ASSERT_EQ(fw_profile_plan(ps, 6, 3, 125, r, 8), 1);
    ASSERT_EQ(r[0].area, FW_AREA_HOLDING);
    ASSERT_EQ(r[0].address, 500);
    ASSERT_EQ(r[0].count, 14);
    ASSERT_EQ(ps[2].index, 13);
    ASSERT_EQ(ps[5].index, 9);
    /* Gap 2 only: 500..505 | 509 | 513. */
    ASSERT_EQ(fw_profile_plan(ps, 6, 2, 125, r, 8), 3);
    ASSERT_EQ(r[0].count, 6);
    /* Size limit: at most 8 registers per request. */
    ASSERT_EQ(fw_profile_plan(ps, 6, 3, 8, r, 8), 2);
    ASSERT_EQ(r[0].count, 6);
    ASSERT_EQ(r[1].address, 509);
    ASSERT_EQ(r[1].count, 5);
    /* Capacity. */
    ASSERT_EQ(fw_profile_plan(ps, 6, 0, 125, r, 3), -E2BIG);
}

FW_TEST(plan_areas_and_widths)
{
    struct fw_profile_point ps[] = {
        at(FW_AREA_INPUT, 0, FW_TYPE_FLOAT32),       at(FW_AREA_HOLDING, 0, FW_TYPE_UINT16),
        at(FW_AREA_INPUT, 2, FW_TYPE_INT16),         at(FW_AREA_HOLDING, 1, FW_TYPE_UINT32),
        at(FW_AREA_COIL, 7, FW_TYPE_BOOL),           at(FW_AREA_COIL, 300, FW_TYPE_BOOL),
        at(FW_AREA_DISCRETE_INPUT, 7, FW_TYPE_BOOL),
    };
    struct fw_profile_request r[8];
    /* Bits: 7 and 300 are 292 apart, bridged with a gap of 300 (bits cap at 2000). */
    ASSERT_EQ(fw_profile_plan(ps, FW_ARRAY_LEN(ps), 300, 125, r, 8), 4);
    ASSERT_EQ(r[0].area, FW_AREA_COIL);
    ASSERT_EQ(r[0].address, 7);
    ASSERT_EQ(r[0].count, 294);
    ASSERT_EQ(r[1].area, FW_AREA_DISCRETE_INPUT);
    ASSERT_EQ(r[2].area, FW_AREA_INPUT);
    ASSERT_EQ(r[2].count, 3);
    ASSERT_EQ(r[3].area, FW_AREA_HOLDING);
    ASSERT_EQ(r[3].count, 3);
    ASSERT_EQ(ps[3].request, 3);
    ASSERT_EQ(ps[3].index, 1);
    ASSERT_EQ(ps[5].index, 293);
    /* A 32-bit value is never split: 125 registers hold 0..124, and 124..125 goes on. */
    struct fw_profile_point big[] = {at(FW_AREA_HOLDING, 0, FW_TYPE_UINT16),
                                     at(FW_AREA_HOLDING, 124, FW_TYPE_UINT32)};
    ASSERT_EQ(fw_profile_plan(big, 2, 200, 125, r, 8), 2);
    ASSERT_EQ(r[1].address, 124);
    ASSERT_EQ(r[1].count, 2);
    ASSERT_EQ(fw_profile_plan(big, 0, 0, 125, r, 8), 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Loader                                                                                      */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(load_shipped)
{
    const char *names[] = {"cwt-uwd", "renke-anemometer", "renke-wind-vane", "renke-th",
                           "example-smoke"};
    for (size_t i = 0; i < FW_ARRAY_LEN(names); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/config/profiles/%s.json", FW_SOURCE_DIR, names[i]);
        struct fw_cfg_errors errs = {0};
        struct fw_profile *p = NULL;
        int rc = fw_profile_load(path, NULL, &p, &errs);
        fw_cfg_errors_print(&errs, stderr);
        fw_cfg_errors_clear(&errs);
        ASSERT_EQ(rc, 0);
        ASSERT_STR_EQ(p->name, names[i]);
        ASSERT_EQ(p->nrequests, 1); /* each is one block */
        if (i == 0) {
            ASSERT_EQ(p->requests[0].address, 0x01F4);
            ASSERT_EQ(p->requests[0].count, 14);
            ASSERT_TRUE(p->points[5].accumulator);
        }
        if (i == 4)
            ASSERT_STR_CONTAINS(p->description, "EXAMPLE");
        fw_profile_free(p);
    }
}

FW_TEST(load_valid)
{
    struct fw_cfg_errors errs = {0};
    struct fw_profile *p = NULL;
    int rc =
        fw_profile_load(FW_TEST_DATA "/profiles/valid/all_types.json", "all_types.json", &p, &errs);
    fw_cfg_errors_print(&errs, stderr);
    fw_cfg_errors_clear(&errs);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(p->name, "all_types");
    ASSERT_STR_EQ(p->model, "test device");
    ASSERT_EQ(p->npoints, 8);
    ASSERT_EQ(p->max_registers, 10);
    const struct fw_profile_point *t = &p->points[0];
    ASSERT_EQ(t->order, FW_ORDER_BADC);
    ASSERT_DBL_NEAR(t->min, -60, 0); /* the metric's range by default */
    ASSERT_EQ(p->points[2].order, FW_ORDER_DCBA);
    ASSERT_EQ(p->points[2].count, 2);
    ASSERT_EQ(p->points[3].order, FW_ORDER_BADC);
    ASSERT_EQ(p->points[4].order, FW_ORDER_CDAB);
    ASSERT_DBL_NEAR(p->points[5].scale, 12, 0);
    ASSERT_DBL_NEAR(p->points[7].min, 800, 0);
    ASSERT_DBL_NEAR(p->points[7].offset, 900, 0);
    /* holding 0..5 (gap 0), holding 20; input 0..3; coil 7; discrete 100. */
    ASSERT_EQ(p->nrequests, 5);
    fw_profile_free(p);
    fw_profile_free(NULL);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

FW_TEST(load_invalid_golden)
{
    /* Messages name the file as the daemon would show it: relative to the profiles folder. */
    ASSERT_EQ(chdir(FW_TEST_DATA "/profiles"), 0);
    DIR *d = opendir("invalid");
    ASSERT_TRUE(d != NULL);
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_name);
    ASSERT_GE(n, 6);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char path[256], golden[256];
        snprintf(path, sizeof(path), "invalid/%s", names[i]);
        snprintf(golden, sizeof(golden), "invalid/%.*s.err", (int)strlen(names[i]) - 5, names[i]);
        struct fw_cfg_errors errs = {0};
        struct fw_profile *p = NULL;
        int rc = fw_profile_load(path, NULL, &p, &errs);
        char *want = slurp(golden);
        char got[16384];
        size_t used = 0;
        got[0] = '\0';
        for (size_t k = 0; k < errs.n && used < sizeof(got); k++)
            used += (size_t)snprintf(got + used, sizeof(got) - used, "%s\n", errs.msgs[k]);
        if (rc != -EINVAL || p || !want || strcmp(want, got) != 0) {
            fprintf(stderr, "%s: rc %d, expected (%s):\n%s--- got:\n%s", path, rc, golden,
                    want ? want : "(missing)\n", got);
            bad = 1;
        }
        free(want);
        fw_cfg_errors_clear(&errs);
        fw_profile_free(p);
        free(names[i]);
    }
    ASSERT_EQ(bad, 0);
}

FW_TEST(load_missing_file)
{
    struct fw_cfg_errors errs = {0};
    struct fw_profile *p = NULL;
    ASSERT_EQ(fw_profile_load("/nonexistent/x.json", "profiles/x.json", &p, &errs), -ENOENT);
    ASSERT_EQ(errs.n, 1);
    ASSERT_STR_EQ(errs.msgs[0], "profiles/x.json: cannot open: No such file or directory");
    ASSERT_TRUE(p == NULL);
    fw_cfg_errors_clear(&errs);
}

/* A float32 value carries 7 significant digits, not the 17 of its widening to double. */
FW_TEST(float32_keeps_its_own_precision)
{
    struct fw_profile_point p = pt(FW_TYPE_FLOAT32, FW_ORDER_ABCD);
    uint16_t regs[2];
    float f = 174.5749f; /* as a sensor would send it: 174.57492065429688 widened */
    uint32_t w;
    memcpy(&w, &f, sizeof(w));
    regs[0] = (uint16_t)(w >> 16);
    regs[1] = (uint16_t)w;
    ASSERT_TRUE((double)f != 174.5749); /* the artefact the decoder must not pass on */
    ASSERT_DBL_NEAR(fw_profile_value(&p, regs), 174.5749, 0);
    p.scale = 10; /* scale and offset apply to the rounded value */
    p.offset = 1;
    ASSERT_DBL_NEAR(fw_profile_value(&p, regs), 1746.749, 1e-9);
}
