/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the JSON messages the daemon reads off MQTT besides LoRa uplinks: the
 * native field-node uplink (fw_uplink_decode_native, against the test config in
 * tests/data/engine, whose nodes s1..s3 the dictionary names) and the duty officers'
 * acknowledgements (fw_ack_parse). The first input byte picks the parser; the rest is the
 * message. Each must return 0 with sane results or a negative code with a reason, never crash,
 * read outside the input (ASan) or leak (LeakSanitizer).
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

static void fuzz_native(const uint8_t *p, size_t n)
{
    if (!cfg) {
        struct fw_cfg_errors errs = {0};
        FW_ASSERT(fw_config_load(FW_TEST_DATA "/engine/forestwatch.json", &cfg, &errs) == 0);
        fw_cfg_errors_clear(&errs);
        atexit(release);
    }
    struct fw_uplink_result res = {0};
    int rc = fw_uplink_decode_native(cfg, p, n, NOW, &res);
    FW_ASSERT(rc <= 0);
    FW_ASSERT(rc == 0 || res.error != FW_UPLINK_OK);
    if (rc == 0) {
        FW_ASSERT(res.n >= 0 && res.nissues >= 0 && res.nissues <= FW_UPLINK_MAX_ISSUES);
        for (int i = 0; i < res.n; i++) {
            FW_ASSERT(res.readings[i].metric != NULL);
            FW_ASSERT(isfinite(res.readings[i].value));
        }
    }
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
    if (data[0] % 2)
        fuzz_ack(p, n);
    else
        fuzz_native(p, n);
    free(p);
    return 0;
}
