/* SPDX-License-Identifier: MIT */
/*
 * The key-table machinery shared by the config and device profiles (cfg_keys.h): defaults stored
 * from their rows, and each loader's own rules kept apart by the context's flags (enum names in
 * any case or as written; odd keys as ["k y"] or .k y in paths).
 */
#include "test.h"

#include "forestwatch/cfg_keys.h"

#include <cJSON.h>
#include <stdbool.h>

struct sample {
    int n, mode;
    int64_t wait_ms;
    double ratio;
    bool on;
    char *name;
};

static const char *const mode_names[] = {"json", "cap-xml", NULL};

static const struct fw_cfg_key sample_keys[] = {
    {"n", FW_CFG_INT, 0, FW_CFG_FIELD(struct sample, n), 1, 100, .def = "42"},
    {"mode", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct sample, mode), 0, 0, mode_names,
     .def = "\"cap-xml\""},
    {"wait", FW_CFG_DUR, 0, FW_CFG_FIELD(struct sample, wait_ms), 0, 86400000, .def = "\"1h30m\""},
    {"ratio", FW_CFG_NUM, 0, FW_CFG_FIELD(struct sample, ratio), 0, 1, .def = "0.25"},
    {"on", FW_CFG_BOOL, 0, FW_CFG_FIELD(struct sample, on), .def = "true"},
    {"name", FW_CFG_STR, 0, FW_CFG_FIELD(struct sample, name), 1, 10, .def = "\"dflt\""},
    {NULL},
};

/* Apply `json` to a fresh sample with `flags`; the first error (or "") into msg. */
static size_t apply(const char *json, unsigned flags, struct sample *s, char *msg, size_t size)
{
    struct fw_cfg_errors errs = {0};
    struct fw_cfg_ctx c = FW_CFG_CTX("t.json", &errs);
    c.flags = flags;
    cJSON *v = cJSON_Parse(json);
    fw_cfg_apply_keys(&c, v, sample_keys, s);
    cJSON_Delete(v);
    snprintf(msg, size, "%s", errs.n ? errs.msgs[0] : "");
    size_t n = errs.n;
    fw_cfg_errors_clear(&errs);
    return n;
}

FW_TEST(defaults_from_rows)
{
    struct sample s = {0};
    fw_cfg_key_defaults(sample_keys, &s);
    ASSERT_EQ(s.n, 42);
    ASSERT_EQ(s.mode, 1);
    ASSERT_EQ(s.wait_ms, 5400000);
    ASSERT_TRUE(s.ratio == 0.25);
    ASSERT_TRUE(s.on);
    ASSERT_STR_EQ(s.name, "dflt");
    free(s.name);
}

FW_TEST(enum_case_per_loader)
{
    struct sample s = {0};
    char msg[256];
    ASSERT_EQ(apply("{\"mode\": \"CAP-XML\"}", 0, &s, msg, sizeof(msg)), 0);
    ASSERT_EQ(s.mode, 1);
    s.mode = 0;
    ASSERT_EQ(apply("{\"mode\": \"CAP-XML\"}", FW_CFG_EXACT_ENUMS, &s, msg, sizeof(msg)), 1);
    ASSERT_EQ(s.mode, 0);
    ASSERT_STR_EQ(msg, "t.json: $.mode: must be one of \"json\", \"cap-xml\", got "
                       "\"CAP-XML\"");
}

FW_TEST(paths_per_loader)
{
    struct sample s = {0};
    char msg[256];
    ASSERT_EQ(apply("{\"a b\": 1}", 0, &s, msg, sizeof(msg)), 1);
    ASSERT_STR_EQ(msg, "t.json: $[\"a b\"]: unknown key");
    ASSERT_EQ(apply("{\"a b\": 1}", FW_CFG_PLAIN_PATHS, &s, msg, sizeof(msg)), 1);
    ASSERT_STR_EQ(msg, "t.json: $.a b: unknown key");
    ASSERT_EQ(apply("{\"nn\": 1}", 0, &s, msg, sizeof(msg)), 1);
    ASSERT_STR_EQ(msg, "t.json: $.nn: unknown key (did you mean \"n\"?)");
}
