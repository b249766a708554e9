/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the JSON messages the daemon reads off MQTT besides LoRa uplinks: the
 * native field-node uplink (fw_uplink_decode_native, against the test config in
 * tests/data/engine, whose nodes s1..s3 and zones z1, z2 the dictionary names), the meteorology
 * bureau's observations, forecasts and levels (fw_uplink_decode_meteo) and the duty officers'
 * acknowledgements (fw_ack_parse). The first input byte picks the parser ('0' native, '1' ack,
 * '2' meteo); the rest is the message. Each must return 0 with sane results or a negative code with
 * a reason, never crash, read outside the input (ASan) or leak (LeakSanitizer).
 */
#include "forestwatch/alerts.h"
#include "forestwatch/uplink.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1780300800000LL /* 2026-06-01T08:00:00Z, the test data's day */

static struct fw_config *cfg;

static void release(void)
{
    fw_config_free(cfg);
}

static void load_config(void)
{
    if (cfg)
        return;
    struct fw_cfg_errors errs = {0};
    FW_ASSERT(fw_config_load(FW_TEST_DATA "/engine/forestwatch.json", &cfg, &errs) == 0);
    fw_cfg_errors_clear(&errs);
    atexit(release);
}

/* What every decoder's result must satisfy. */
static void check_result(int rc, const struct fw_uplink_result *res)
{
    FW_ASSERT(rc <= 0);
    FW_ASSERT(rc == 0 || res->error != FW_UPLINK_OK);
    if (rc == 0) {
        FW_ASSERT(res->n >= 0 && res->nissues >= 0 && res->nissues <= FW_UPLINK_MAX_ISSUES);
        for (int i = 0; i < res->n; i++) {
            FW_ASSERT(res->readings[i].metric != NULL);
            FW_ASSERT(isfinite(res->readings[i].value));
        }
    }
}

static void fuzz_native(const uint8_t *p, size_t n)
{
    load_config();
    struct fw_uplink_result res = {0};
    check_result(fw_uplink_decode_native(cfg, p, n, NOW, &res), &res);
    fw_uplink_result_free(&res);
}

static void fuzz_meteo(const uint8_t *p, size_t n)
{
    load_config();
    struct fw_uplink_result res = {0};
    struct fw_meteo_forecasts fc = {0};
    int rc = fw_uplink_decode_meteo(cfg, p, n, NOW, &res, &fc);
    check_result(rc, &res);
    FW_ASSERT(rc == 0 || fc.n == 0);
    FW_ASSERT(fc.n == 0 || res.n == 0);
    for (int i = 0; i < fc.n; i++) {
        const struct fw_meteo_forecast *f = &fc.v[i];
        FW_ASSERT(f->zone[0] && (f->has_noon || f->has_minmax || f->level));
        FW_ASSERT(f->level >= 0 && f->level <= 5);
        FW_ASSERT(!f->has_noon || (isfinite(f->temp_c) && f->rh_pct >= 0 && f->rh_pct <= 100 &&
                                   f->wind_ms >= 0 && f->rain_mm >= 0));
        FW_ASSERT(!f->has_minmax || f->tmin_c <= f->tmax_c);
    }
    fw_meteo_forecasts_free(&fc);
    fw_uplink_result_free(&res);
}

static void fuzz_ack(const uint8_t *p, size_t n)
{
    struct fw_ack ack;
    const char *why = NULL;
    int rc = fw_ack_parse(p, n, NOW, &ack, &why);
    FW_ASSERT(rc == 0 ? why == NULL && ack.id[0] && ack.by[0] : rc == -EINVAL && why != NULL);
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
    switch (data[0] % 3) {
    case 0:
        fuzz_native(p, n);
        break;
    case 1:
        fuzz_ack(p, n);
        break;
    default:
        fuzz_meteo(p, n);
    }
    free(p);
    return 0;
}
