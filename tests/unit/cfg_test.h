/* SPDX-License-Identifier: MIT */
/*
 * Test helper: load a config from JSON text, through the real loader (written to a temporary
 * folder of its own, so no rules.d is picked up by accident).
 */
#ifndef FORESTWATCH_CFG_TEST_H
#define FORESTWATCH_CFG_TEST_H

#include "forestwatch/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline struct fw_config *cfg_from_text(const char *json)
{
    char dir[] = "/tmp/fw-cfgtest-XXXXXX";
    if (!mkdtemp(dir))
        return NULL;
    char path[64];
    snprintf(path, sizeof(path), "%s/forestwatch.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(json, f);
    fclose(f);
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    if (fw_config_load(path, &cfg, &errs) < 0)
        fw_cfg_errors_print(&errs, stderr);
    fw_cfg_errors_clear(&errs);
    unlink(path);
    rmdir(dir);
    return cfg;
}

/* A config file through the real loader; NULL (its errors printed) when it does not load. */
static inline struct fw_config *cfg_from_file(const char *path)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    if (fw_config_load(path, &cfg, &errs) < 0)
        fw_cfg_errors_print(&errs, stderr);
    fw_cfg_errors_clear(&errs);
    return cfg;
}

/* The same, with errors: returns the number of errors and the first one in buf. */
static inline size_t cfg_errors_of(const char *json, char *buf, size_t size)
{
    char dir[] = "/tmp/fw-cfgtest-XXXXXX";
    if (!mkdtemp(dir))
        return 0;
    char path[64];
    snprintf(path, sizeof(path), "%s/forestwatch.json", dir);
    FILE *f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    fw_config_load(path, &cfg, &errs);
    size_t n = errs.n;
    buf[0] = '\0';
    if (n) {
        /* Drop the temporary folder from the message. */
        const char *m = strstr(errs.msgs[0], "forestwatch.json");
        snprintf(buf, size, "%s", m ? m : errs.msgs[0]);
    }
    fw_cfg_errors_clear(&errs);
    fw_config_free(cfg);
    unlink(path);
    rmdir(dir);
    return n;
}

/* Zones z1 (nodes s1, s2) and z2 (node s3), a broker and two routes; RULES is spliced in. */
#define CFG_BASE(RULES, ENGINE)                                                                    \
    "{\"gateway\": {\"id\": \"gw\", \"status_broker\": \"b\"},"                                    \
    "\"brokers\": {\"b\": {\"host\": \"127.0.0.1\"}},"                                             \
    "\"zones\": {\"z1\": {\"name\": \"Zone 1\", \"forest_chief\": {\"name\": \"C1\"}},"            \
    "            \"z2\": {\"name\": \"Zone 2\", \"forest_chief\": {\"name\": \"C2\"}}},"           \
    "\"nodes\": {\"s1\": {\"zone\": \"z1\"}, \"s2\": {\"zone\": \"z1\"}, \"s3\": {\"zone\": "      \
    "\"z2\"}},"                                                                                    \
    "\"routes\": {\"forestry\": {\"broker\": \"b\", \"topic\": \"f\"},"                            \
    "             \"emergency\": {\"broker\": \"b\", \"topic\": \"e\"}},"                          \
    "\"engine\": " ENGINE ","                                                                      \
    "\"rules\": [" RULES "]}"

#endif
