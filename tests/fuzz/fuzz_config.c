/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the config loader (gateway/config_load.c): the input is written to
 * forestwatch.json in a private temporary folder (made once per process, without a rules.d, and
 * removed at exit) and loaded with fw_config_load, which parses the JSON, checks every key,
 * compiles the rules and cross-checks the references. The loader must either return a config
 * and no errors, or no config and at least one error naming the file; never crash, read outside
 * its memory (ASan) or leak (LeakSanitizer), whatever the text.
 */
#include "forestwatch/config.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Past FW_CONFIG_MAX_FILE_BYTES the loader refuses the file unread; nothing to learn there. */
#define FUZZ_MAX_INPUT (256 * 1024)

static char dir[64], path[96];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

static int setup(void)
{
    if (path[0])
        return 0;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/fw-fuzz-config.XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/forestwatch.json", dir);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT || setup() != 0)
        return 0;
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    size_t wrote = fwrite(data, 1, size, f);
    if (fclose(f) != 0 || wrote != size)
        return 0;

    struct fw_config *cfg = (struct fw_config *)1;
    struct fw_cfg_errors errs = {0};
    int rc = fw_config_load(path, &cfg, &errs);
    FW_ASSERT(rc == 0 || rc == -EINVAL || rc == -ENOENT || rc == -EIO || rc == -E2BIG);
    if (rc == 0) {
        FW_ASSERT(cfg != NULL && errs.n == 0 && errs.dropped == 0);
        /* A loaded config is complete: every rule compiled, every reference resolved. */
        for (size_t i = 0; i < cfg->nrules; i++) {
            FW_ASSERT(cfg->rules[i].name && cfg->rules[i].expr);
            FW_ASSERT(!cfg->rules[i].clear_src || cfg->rules[i].clear);
            for (size_t k = 0; k < cfg->rules[i].nroutes; k++)
                FW_ASSERT(cfg->rules[i].route_idx[k] < cfg->nroutes);
        }
        for (size_t i = 0; i < cfg->nnodes; i++) {
            FW_ASSERT(cfg->nodes[i].zone_ref != NULL);
            FW_ASSERT(fw_config_node(cfg, cfg->nodes[i].id) == &cfg->nodes[i]);
        }
    } else {
        FW_ASSERT(cfg == NULL && errs.n + errs.dropped > 0);
        FW_ASSERT(errs.n <= FW_CONFIG_MAX_ERRORS);
        /* "file: $.path: what is wrong" (a rules.d file names itself, not the main file). */
        for (size_t i = 0; i < errs.n; i++)
            FW_ASSERT(errs.msgs[i] && strstr(errs.msgs[i], ": ") != NULL);
    }
    fw_cfg_errors_clear(&errs);
    fw_config_free(cfg);
    return 0;
}
