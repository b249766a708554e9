/* SPDX-License-Identifier: MIT */
/* The config API: what a valid config turns into (the error table is in tests/data/config). */
#include "forestwatch/config.h"
#include "forestwatch/expr.h"
#include "forestwatch/log.h"
#include "forestwatch/profile.h"
#include "forestwatch/reading.h"
#include "forestwatch/util.h"
#include "cfg_test.h"
#include "config_int.h"
#include "test.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

FW_TEST(shipped_config_loads)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_SOURCE_DIR "/config/forestwatch.json", &cfg, &errs), 0);
    ASSERT_EQ(errs.n, 0);
    ASSERT_STR_EQ(cfg->gateway_id, "gw-beishan-01");
    ASSERT_STR_EQ(cfg->status_topic, "forestwatch/gw-beishan-01/status");
    ASSERT_GE(cfg->nrules, 2);
    ASSERT_EQ(cfg->nroutes, 2);
    /* Nodes are sorted and resolved to their zones. */
    for (size_t i = 1; i < cfg->nnodes; i++)
        ASSERT_LT(strcmp(cfg->nodes[i - 1].id, cfg->nodes[i].id), 0);
    const struct fw_cfg_node *n = fw_config_node(cfg, "bs07-smoke-01");
    ASSERT_TRUE(n && n->zone_ref);
    ASSERT_STR_EQ(n->zone_ref->id, "bs-07");
    ASSERT_TRUE(fw_config_node(cfg, "nope") == NULL);
    const struct fw_cfg_zone *z = fw_config_zone(cfg, "bs-03");
    ASSERT_TRUE(z);
    ASSERT_EQ(z->npolygon, 5);
    ASSERT_STR_EQ(z->forest_chief.name, "王建国");
    fw_config_free(cfg);
}

FW_TEST(defaults_and_case_insensitive_enums)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_TEST_DATA "/config/valid/three_brokers.json", &cfg, &errs), 0);
    const struct fw_cfg_broker *b = fw_config_broker(cfg, "emergency");
    ASSERT_TRUE(b);
    ASSERT_EQ(b->port, 1883);
    ASSERT_EQ(b->keepalive_s, 30);
    ASSERT_EQ(b->clean_session, false); /* a persistent session unless asked otherwise */
    ASSERT_STR_EQ(b->client_id, "forestwatch-gw-3-emergency");
    ASSERT_EQ(cfg->log_level, FW_LOG_DEBUG);
    ASSERT_EQ(cfg->rules[0].severity, FW_SEV_EXTREME);
    ASSERT_EQ(cfg->rules[0].category, FW_CAT_FIRE);
    ASSERT_EQ(cfg->rules[0].op, FW_OP_GE);
    ASSERT_EQ(cfg->rules[0].nroutes, 2);
    ASSERT_STR_EQ(cfg->routes[cfg->rules[0].route_idx[1]].name, "emergency");
    ASSERT_EQ(cfg->limits.max_readings, 64);
    fw_config_free(cfg);
}

FW_TEST(zone_fire_model)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_TEST_DATA "/config/valid/fire.json", &cfg, &errs), 0);
    const struct fw_models_zone *f = fw_config_zone(cfg, "full")->fire;
    ASSERT_TRUE(f);
    ASSERT_STR_EQ(f->id, "full");
    ASSERT_EQ(f->nstations, 2);
    ASSERT_STR_EQ(f->stations[1], "wx2");
    ASSERT_STR_EQ(f->fallback, "meteo-54342");
    ASSERT_EQ(f->utc_offset_min, 480);
    ASSERT_DBL_NEAR(f->lat, 47.5, 0);
    ASSERT_EQ(f->lat_adjust, 0);
    ASSERT_DBL_NEAR(f->ffmc_coef, FW_FWI_FFMC_COEF_1985, 0);
    ASSERT_EQ(f->noon_window_min, 30);
    ASSERT_EQ(f->rain_max_gap_min, 240);
    ASSERT_EQ(f->hourly_ffmc, 0);
    ASSERT_DBL_NEAR(f->startup_ffmc, 80.0, 0);
    ASSERT_DBL_NEAR(f->startup_dmc, 10.0, 0);
    ASSERT_DBL_NEAR(f->startup_dc, 200.0, 0);
    ASSERT_EQ(f->season_start_month * 100 + f->season_start_day, 315);
    ASSERT_EQ(f->season_end_month * 100 + f->season_end_day, 1130);
    ASSERT_EQ(f->levels.index, FW_MODELS_INDEX_ISI);
    ASSERT_DBL_NEAR(f->levels.min[4], 16.0, 0);
    ASSERT_EQ(f->levels.provisional, 1);
    /* The defaults are the model's, and the latitude is the zone's location. */
    struct fw_models_zone want;
    fw_models_zone_init(&want, "defaults");
    f = fw_config_zone(cfg, "defaults")->fire;
    ASSERT_TRUE(f);
    ASSERT_EQ(f->utc_offset_min, -210);
    ASSERT_DBL_NEAR(f->lat, 41.7, 0);
    ASSERT_EQ(f->lat_adjust, want.lat_adjust);
    ASSERT_DBL_NEAR(f->ffmc_coef, want.ffmc_coef, 0);
    ASSERT_EQ(f->noon_window_min, want.noon_window_min);
    ASSERT_EQ(f->rain_max_gap_min, want.rain_max_gap_min);
    ASSERT_EQ(f->hourly_ffmc, want.hourly_ffmc);
    ASSERT_DBL_NEAR(f->startup_dc, want.startup_dc, 0);
    ASSERT_EQ(f->season_start_month, 0);
    ASSERT_EQ(f->levels.index, FW_MODELS_INDEX_FWI);
    ASSERT_DBL_NEAR(f->levels.min[1], want.levels.min[1], 0);
    ASSERT_EQ(f->levels.provisional, 1);
    ASSERT_STR_EQ(f->fallback, "");
    ASSERT_TRUE(fw_config_zone(cfg, "none")->fire == NULL);
    fw_config_free(cfg);
}

FW_TEST(zone_pest_model)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_TEST_DATA "/config/valid/pests.json", &cfg, &errs), 0);
    const struct fw_pests_zone *z = fw_config_zone(cfg, "full")->pests;
    ASSERT_TRUE(z);
    ASSERT_STR_EQ(z->id, "full");
    ASSERT_EQ(z->nstations, 2);
    ASSERT_STR_EQ(z->fallback, "meteo-54342");
    ASSERT_EQ(z->utc_offset_min, 480);
    ASSERT_EQ(z->min_hours, 18);
    ASSERT_EQ(z->close_delay_min, 90);
    ASSERT_EQ(z->npests, 2); /* the disabled one is not given to the model */
    ASSERT_EQ(fw_config_zone(cfg, "full")->npests_disabled, 1);
    ASSERT_STR_EQ(fw_config_zone(cfg, "full")->pests_disabled[0], "dendrolimus-superans");
    const struct fw_pests_pest *p = &z->pests[0];
    ASSERT_STR_EQ(p->id, "loxostege-sticticalis");
    ASSERT_EQ(p->method, FW_DD_SINGLE_SINE);
    ASSERT_EQ(p->cutoff, FW_DD_VERTICAL);
    ASSERT_DBL_NEAR(p->lower, 10.5, 0);
    ASSERT_DBL_NEAR(p->upper, 33, 0);
    ASSERT_EQ(p->biofix, FW_PESTS_BIOFIX_TRAP);
    ASSERT_EQ(p->ntraps, 1);
    ASSERT_STR_EQ(p->traps[0], "trap1");
    ASSERT_DBL_NEAR(p->trap_count, 5, 0);
    ASSERT_EQ(p->trap_days, 2);
    ASSERT_EQ(p->nstages, 1);
    ASSERT_STR_EQ(p->stages[0].name, "next generation moths");
    ASSERT_DBL_NEAR(p->stages[0].dd, 531.2, 0);
    ASSERT_STR_EQ(p->stages[0].action, "light traps on");
    p = &z->pests[1];
    ASSERT_EQ(p->method, FW_DD_AVERAGE);
    ASSERT_EQ(p->cutoff, FW_DD_HORIZONTAL);
    ASSERT_TRUE(isinf(p->upper)); /* null: no upper threshold */
    ASSERT_EQ(p->biofix, FW_PESTS_BIOFIX_DATE);
    ASSERT_EQ(p->biofix_month * 100 + p->biofix_day, 401);
    ASSERT_EQ(p->nstages, 2);
    ASSERT_DBL_NEAR(p->stages[1].dd, 400, 0);
    ASSERT_EQ(z->disease.enabled, 1);
    ASSERT_DBL_NEAR(z->disease.rh_min, 90, 0);
    ASSERT_DBL_NEAR(z->disease.temp_hi, 25, 0);
    z = fw_config_zone(cfg, "bare")->pests;
    ASSERT_TRUE(z);
    ASSERT_EQ(z->npests, 0);
    ASSERT_EQ(fw_config_zone(cfg, "bare")->npests_disabled, 0);
    ASSERT_EQ(z->min_hours, 20);
    ASSERT_EQ(z->close_delay_min, 60);
    ASSERT_EQ(z->disease.enabled, 0);
    ASSERT_TRUE(fw_config_zone(cfg, "bare")->fire == NULL);
    fw_config_free(cfg);
}

FW_TEST(missing_file_is_reported)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load("/nonexistent/forestwatch.json", &cfg, &errs), -ENOENT);
    ASSERT_TRUE(cfg == NULL);
    ASSERT_EQ(errs.n, 1);
    ASSERT_STR_CONTAINS(errs.msgs[0], "/nonexistent/forestwatch.json: cannot open");
    fw_cfg_errors_clear(&errs);
    ASSERT_EQ(errs.n, 0);
}

FW_TEST(oversized_file_is_refused_unread)
{
    /* A sparse file one byte over the cap: refused by its size, before anything is read. */
    char path[] = "/tmp/fw-cfg-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(ftruncate(fd, (off_t)FW_CONFIG_MAX_FILE_BYTES + 1), 0);
    close(fd);
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(path, &cfg, &errs), -E2BIG);
    ASSERT_TRUE(cfg == NULL);
    ASSERT_EQ(errs.n, 1);
    ASSERT_STR_CONTAINS(errs.msgs[0], "more than the limit of 33554432");
    fw_cfg_errors_clear(&errs);
    unlink(path);
}

FW_TEST(errors_are_capped)
{
    /* A config with thousands of bad keys reports the first FW_CONFIG_MAX_ERRORS and counts
     * the rest, rather than growing without bound. */
    char path[] = "/tmp/fw-cfg-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"gateway\":{\"id\":\"g\",\"status_broker\":\"b\"");
    for (int i = 0; i < 1000; i++)
        fprintf(f, ",\"k%d\":1", i);
    fprintf(f, "}}");
    fclose(f);
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(path, &cfg, &errs), -EINVAL);
    unlink(path);
    ASSERT_EQ(errs.n, FW_CONFIG_MAX_ERRORS);
    ASSERT_GT(errs.dropped, 0);
    fw_cfg_errors_clear(&errs);
}

/* Ends with `suffix`: resolved paths begin with the test data folder, which varies. */
static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

FW_TEST(broker_tls_and_password_file)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_TEST_DATA "/config/valid/three_brokers.json", &cfg, &errs), 0);
    const struct fw_cfg_broker *b = fw_config_broker(cfg, "forestry");
    ASSERT_TRUE(b);
    /* Files are resolved against the config's folder; the password is the file's first line. */
    ASSERT_TRUE(ends_with(b->tls.ca_file, "/config/valid/tls/bureau-ca.pem"));
    ASSERT_TRUE(b->tls.cert_file == NULL && b->tls.key_file == NULL);
    ASSERT_TRUE(b->tls.server_name == NULL);
    ASSERT_TRUE(ends_with(b->password_file, "/config/valid/forestry.password"));
    ASSERT_STR_EQ(b->password, "s3cret");
    ASSERT_STR_EQ(b->username, "gw3");
    /* Plain brokers stay plain. */
    b = fw_config_broker(cfg, "emergency");
    ASSERT_TRUE(b->tls.ca_file == NULL && b->password == NULL);
    fw_config_free(cfg);
}

/* Write `text` to dir/name. */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

#define SECRETS_CONFIG_HEAD                                                                        \
    "{\"gateway\":{\"id\":\"g\",\"status_broker\":\"f\"},"                                         \
    "\"zones\":{\"z\":{\"name\":\"Z\",\"forest_chief\":{\"name\":\"C\"}}},"                        \
    "\"routes\":{\"r\":{\"broker\":\"f\",\"topic\":\"a\"}},"

FW_TEST(broker_password_sources)
{
    char dir[] = "/tmp/fw-cfgsecret-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/forestwatch.json", dir);
    /* CRLF and a second line: only the first line counts, without its line ending. */
    write_file(dir, "f.password", "pa ss:word\r\nsecond line\n");
    write_file(dir, "ca.pem", "-----BEGIN CERTIFICATE-----\n");
    write_file(dir, "forestwatch.json",
               SECRETS_CONFIG_HEAD
               "\"brokers\":{"
               "\"f\":{\"host\":\"10.0.0.1\",\"username\":\"u\",\"password_file\":\"f.password\","
               "\"tls\":{\"ca_file\":\"ca.pem\",\"cert_file\":\"ca.pem\",\"key_file\":\"ca.pem\","
               "\"server_name\":\"mqtt.example\"}},"
               "\"e\":{\"host\":\"10.0.0.2\",\"username\":\"u\","
               "\"password_env\":\"FW_TEST_CONFIG_PASSWORD\"}}}");
    setenv("FW_TEST_CONFIG_PASSWORD", "from the environment", 1);

    struct fw_cfg_errors errs = {0};
    struct fw_config *a = NULL, *b = NULL;
    ASSERT_EQ(fw_config_load(path, &a, &errs), 0);
    const struct fw_cfg_broker *f = fw_config_broker(a, "f");
    ASSERT_STR_EQ(f->password, "pa ss:word");
    ASSERT_STR_EQ(f->tls.server_name, "mqtt.example");
    ASSERT_STR_EQ(f->tls.ca_file + strlen(dir), "/ca.pem");
    ASSERT_STR_EQ(f->tls.key_file + strlen(dir), "/ca.pem");
    ASSERT_STR_EQ(fw_config_broker(a, "e")->password, "from the environment");

    /* A reload reads the secrets again: a changed password means a different connection. */
    ASSERT_EQ(fw_config_load(path, &b, &errs), 0);
    ASSERT_TRUE(fw_cfg_broker_equal(fw_config_broker(a, "f"), fw_config_broker(b, "f")));
    ASSERT_TRUE(fw_cfg_broker_equal(fw_config_broker(a, "e"), fw_config_broker(b, "e")));
    fw_config_free(b);
    write_file(dir, "f.password", "new password\n");
    setenv("FW_TEST_CONFIG_PASSWORD", "changed", 1);
    ASSERT_EQ(fw_config_load(path, &b, &errs), 0);
    ASSERT_TRUE(!fw_cfg_broker_equal(fw_config_broker(a, "f"), fw_config_broker(b, "f")));
    ASSERT_TRUE(!fw_cfg_broker_equal(fw_config_broker(a, "e"), fw_config_broker(b, "e")));
    fw_config_free(b);

    /* An empty variable and a file without a password are errors that quote neither. */
    setenv("FW_TEST_CONFIG_PASSWORD", "", 1);
    write_file(dir, "f.password", "\nsecret on the second line\n");
    ASSERT_EQ(fw_config_load(path, &b, &errs), -EINVAL);
    ASSERT_TRUE(b == NULL);
    ASSERT_EQ(errs.n, 2);
    ASSERT_STR_CONTAINS(errs.msgs[0], "$.brokers.f.password_file: \"");
    ASSERT_STR_CONTAINS(errs.msgs[0], "/f.password\" holds no password");
    ASSERT_STR_CONTAINS(errs.msgs[1], "$.brokers.e.password_env: environment variable "
                                      "\"FW_TEST_CONFIG_PASSWORD\" is empty");
    for (size_t i = 0; i < errs.n; i++)
        ASSERT_TRUE(strstr(errs.msgs[i], "secret on") == NULL);
    fw_cfg_errors_clear(&errs);

    unsetenv("FW_TEST_CONFIG_PASSWORD");
    fw_config_free(a);
    remove_file(dir, "f.password");
    remove_file(dir, "ca.pem");
    remove_file(dir, "forestwatch.json");
    rmdir(dir);
}

FW_TEST(broker_password_in_config_is_refused)
{
    char msg[512];
    size_t n = cfg_errors_of(SECRETS_CONFIG_HEAD "\"brokers\":{\"f\":{\"host\":\"h\",\"username\":"
                                                 "\"u\",\"password\":\"hunter2\"}}}",
                             msg, sizeof(msg));
    ASSERT_EQ(n, 1);
    ASSERT_STR_CONTAINS(msg, "$.brokers.f.password: passwords are not kept in the config");
    ASSERT_STR_CONTAINS(msg, "\"password_file\"");
    ASSERT_STR_CONTAINS(msg, "\"password_env\"");
    ASSERT_TRUE(strstr(msg, "hunter2") == NULL);
}

FW_TEST(lora_node_lpp_map)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_TEST_DATA "/config/valid/lora_nodes.json", &cfg, &errs), 0);
    const struct fw_cfg_node *n = fw_config_node(cfg, "smoke-lpp");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ(n->lora_codec, 1); /* lpp */
    ASSERT_EQ(n->nlpp_map, 2);
    ASSERT_EQ(n->lpp_map[0].channel, 4);
    ASSERT_STR_EQ(n->lpp_map[0].metric, "smoke_ppm");
    ASSERT_EQ(n->lpp_map[1].channel, 5);
    ASSERT_STR_EQ(n->lpp_map[1].metric, "co_ppm");
    n = fw_config_node(cfg, "smoke-srv");
    ASSERT_EQ(n->lora_codec, 2); /* server */
    ASSERT_EQ(n->nlpp_map, 2);
    ASSERT_EQ(n->lpp_map[1].channel, 255);
    ASSERT_STR_EQ(n->lpp_map[1].metric, "soil_moisture_pct");
    n = fw_config_node(cfg, "fire-01");
    ASSERT_TRUE(n->lpp_map == NULL);
    ASSERT_EQ(n->nlpp_map, 0);
    fw_config_free(cfg);
}

/* ---- Declared metrics -------------------------------------------------------------------- */

#define METRICS_CONFIG FW_TEST_DATA "/config/valid/metrics.json"

FW_TEST(declared_metrics_load)
{
    struct fw_config *cfg = cfg_from_file(METRICS_CONFIG);
    ASSERT_TRUE(cfg);
    ASSERT_EQ(fw_metric_set_len(cfg->metrics), 5);
    const struct fw_metric *pm = fw_metric_set_at(cfg->metrics, 0);
    ASSERT_STR_EQ(pm->name, "pm25_ugm3");
    ASSERT_STR_EQ(pm->unit, "ug/m3");
    ASSERT_TRUE(fw_metric_unit_ok(pm, "µg/m³"));
    ASSERT_DBL_NEAR(pm->min, 0, 0);
    ASSERT_DBL_NEAR(pm->max, 1000, 0);
    ASSERT_STR_EQ(pm->help, "PM2.5 mass concentration");
    ASSERT_STR_EQ(pm->help_zh, "细颗粒物 PM2.5 浓度");
    ASSERT_EQ(pm->scope, FW_METRIC_STATION);
    /* Only a Chinese meaning: it is the help too. */
    const struct fw_metric *snow = fw_metric_set_at(cfg->metrics, 3);
    ASSERT_STR_EQ(snow->help, "积雪深度");
    /* The rules read them (their ids are past the built-in table's), the profile reports one. */
    int nbuiltin;
    fw_metric_table(&nbuiltin);
    ASSERT_GE(fw_metric_id(pm), nbuiltin);
    ASSERT_LT(fw_metric_id(pm), fw_metric_count());
    ASSERT_EQ(fw_expr_range_ms(cfg->rules[0].expr, pm), 0);
    ASSERT_EQ(fw_expr_scope(cfg->rules[3].expr), FW_EXPR_ZONE);
    ASSERT_EQ(cfg->nprofiles, 1);
    ASSERT_TRUE(cfg->profiles[0]->points[0].metric == pm);
    ASSERT_DBL_NEAR(cfg->profiles[0]->points[0].max, 999, 0);
    const struct fw_cfg_node *lpp = fw_config_node(cfg, "aq-lpp");
    ASSERT_TRUE(lpp && lpp->nlpp_map == 2);
    ASSERT_TRUE(lpp->lpp_map[0].metric == pm->name);
    /* Loading put nothing in effect: the running config's names are what uplinks see. */
    ASSERT_TRUE(fw_metric_declared() == NULL);
    ASSERT_TRUE(fw_metric_find("pm25_ugm3") == NULL);
    fw_metric_use(cfg->metrics);
    ASSERT_TRUE(fw_metric_find("pm25_ugm3") == pm);
    ASSERT_TRUE(fw_metric_nearest("pm25_ugm") == pm);
    fw_metric_use(NULL);
    fw_config_free(cfg);
}

/* A config is checked against its own declarations, never against the running config's. */
FW_TEST(declared_metrics_are_the_configs_own)
{
    struct fw_config *running = cfg_from_file(METRICS_CONFIG);
    ASSERT_TRUE(running);
    fw_metric_use(running->metrics);
    char msg[512];
    size_t n = cfg_errors_of(CFG_BASE("{\"name\": \"pm\", \"expr\": \"pm25_ugm3 > 75\", "
                                      "\"severity\": \"Minor\", \"category\": \"Env\", "
                                      "\"routes\": [\"forestry\"]}",
                                      "{}"),
                             msg, sizeof(msg));
    ASSERT_EQ(n, 1);
    ASSERT_STR_CONTAINS(msg, "$.rules[0].expr: position 1: unknown metric 'pm25_ugm3'");
    ASSERT_TRUE(fw_metric_declared() == running->metrics);
    fw_metric_use(NULL);
    fw_config_free(running);
}

/* A declaration loaded again is the same metric; a new description keeps its id (and so its
 * samples); a new unit makes it another metric. */
FW_TEST(declared_metrics_across_reloads)
{
#define PM_CONFIG(UNIT, MAX)                                                                       \
    "{\"gateway\": {\"id\": \"gw\", \"status_broker\": \"b\"},"                                    \
    "\"brokers\": {\"b\": {\"host\": \"127.0.0.1\"}},"                                             \
    "\"zones\": {\"z1\": {\"name\": \"Zone 1\", \"forest_chief\": {\"name\": \"C1\"}}},"           \
    "\"routes\": {\"r\": {\"broker\": \"b\", \"topic\": \"f\"}},"                                  \
    "\"metrics\": {\"pm25_ugm3\": {\"unit\": \"" UNIT "\", \"min\": 0, \"max\": " MAX ","          \
    "                             \"description\": \"PM2.5\"}}}"
    struct fw_config *a = cfg_from_text(PM_CONFIG("ug/m3", "500"));
    struct fw_config *b = cfg_from_text(PM_CONFIG("ug/m3", "500"));
    struct fw_config *c = cfg_from_text(PM_CONFIG("ug/m3", "1000"));
    struct fw_config *d = cfg_from_text(PM_CONFIG("mg/m3", "1"));
    ASSERT_TRUE(a && b && c && d);
    const struct fw_metric *ma = fw_metric_set_at(a->metrics, 0);
    const struct fw_metric *mc = fw_metric_set_at(c->metrics, 0);
    const struct fw_metric *md = fw_metric_set_at(d->metrics, 0);
    ASSERT_TRUE(fw_metric_set_at(b->metrics, 0) == ma);
    ASSERT_TRUE(mc != ma);
    ASSERT_DBL_NEAR(mc->max, 1000, 0);
    ASSERT_DBL_NEAR(ma->max, 500, 0);
    ASSERT_EQ(fw_metric_id(mc), fw_metric_id(ma));
    ASSERT_NE(fw_metric_id(md), fw_metric_id(ma));
    ASSERT_STR_EQ(md->unit, "mg/m3");
    fw_config_free(a);
    fw_config_free(b);
    fw_config_free(c);
    fw_config_free(d);
#undef PM_CONFIG
}

FW_TEST(declared_metrics_not_an_object)
{
    char msg[512];
    size_t n = cfg_errors_of("{\"gateway\": {\"id\": \"gw\", \"status_broker\": \"b\"},"
                             "\"brokers\": {\"b\": {\"host\": \"h\"}},"
                             "\"zones\": {\"z\": {\"name\": \"Z\", \"forest_chief\": "
                             "{\"name\": \"C\"}}},"
                             "\"routes\": {\"r\": {\"broker\": \"b\", \"topic\": \"f\"}},"
                             "\"metrics\": [\"pm25_ugm3\"]}",
                             msg, sizeof(msg));
    ASSERT_EQ(n, 1);
    ASSERT_STR_CONTAINS(msg, "$.metrics: must be an object of metrics by name, got an array");
}

/* ------------------------------------------------------------------------------------------ */
/* docs/config.md and the key tables                                                           */
/* ------------------------------------------------------------------------------------------ */

/* One table row of docs/config.md: its section, its key cell, the whole line, its default. */
struct doc_row {
    char section[128];
    char keys[256];  /* the first cell */
    char line[2048]; /* the whole row, for the keys of objects described inline */
    char def[256];   /* the cell under "default", or "" */
    char type[512];  /* the cell under "type" */
    int used;
};

/* The section a heading or a sub-table's lead line opens, or NULL when the line opens none. */
static const char *doc_section(const char *line, char *buf, size_t size)
{
    if (strncmp(line, "A pest (`pests[]`)", 18) == 0)
        return "zones.<name>.pests.pests[]";
    if (strncmp(line, "## ", 3) != 0 && strncmp(line, "### ", 4) != 0)
        return NULL;
    if (strstr(line, "Top level"))
        return "";
    if (strncmp(line, "## Rules", 8) == 0)
        return "rules[]";
    const char *a = strchr(line, '`'), *b = a ? strchr(a + 1, '`') : NULL;
    if (!b)
        return "(prose)";
    snprintf(buf, size, "%.*s", (int)(b - a - 1), a + 1);
    return buf;
}

/* The text of cell `i` (0-based) of a table row "| a | b | c |", or "". */
static void doc_cell(const char *line, int i, char *buf, size_t size)
{
    const char *p = line;
    for (int k = 0; k <= i; k++) {
        p = strstr(p, k ? " | " : "| ");
        if (!p)
            break;
        p += k ? 3 : 2;
    }
    buf[0] = '\0';
    if (!p)
        return;
    const char *end = strstr(p, " |");
    snprintf(buf, size, "%.*s", (int)(end ? end - p : (ptrdiff_t)strlen(p)), p);
}

static size_t doc_rows(struct doc_row **out)
{
    FILE *f = fopen(FW_SOURCE_DIR "/docs/config.md", "r");
    char line[2048], headbuf[128], section[128] = "(prose)";
    int def_col = -1;
    size_t n = 0;
    struct doc_row *rows = NULL;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        const char *s = doc_section(line, headbuf, sizeof(headbuf));
        if (s) {
            snprintf(section, sizeof(section), "%s", s);
            def_col = -1;
            continue;
        }
        if (strncmp(line, "| key |", 7) == 0) {
            char cell[64];
            def_col = -1;
            for (int i = 1; i < 6; i++) {
                doc_cell(line, i, cell, sizeof(cell));
                if (strcmp(cell, "default") == 0)
                    def_col = i;
            }
            continue;
        }
        if (strncmp(line, "| `", 3) != 0)
            continue;
        rows = realloc(rows, (n + 1) * sizeof(*rows));
        struct doc_row *r = &rows[n++];
        memset(r, 0, sizeof(*r));
        snprintf(r->section, sizeof(r->section), "%s", section);
        snprintf(r->line, sizeof(r->line), "%s", line);
        doc_cell(line, 0, r->keys, sizeof(r->keys));
        doc_cell(line, 1, r->type, sizeof(r->type));
        if (def_col > 0)
            doc_cell(line, def_col, r->def, sizeof(r->def));
    }
    fclose(f);
    *out = rows;
    return n;
}

/* 1 when the key cell names `key` in backquotes (a cell may name several: `a`, `b`). */
static int cell_names(const char *cell, const char *key)
{
    char want[80];
    snprintf(want, sizeof(want), "`%s`", key);
    return strstr(cell, want) != NULL;
}

/* 1 when `text` holds `word` as a whole token (between characters that cannot be in it). */
static int has_token(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        int before = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '.');
        int after = !(isalnum((unsigned char)p[n]) || p[n] == '.');
        if (before && after)
            return 1;
    }
    return 0;
}

/* The first "lo..hi" range of a type cell; 0 when there is none. */
static int first_range(const char *cell, double *lo, double *hi)
{
    for (const char *p = strstr(cell, ".."); p; p = strstr(p + 2, "..")) {
        const char *a = p;
        while (a > cell && strchr("0123456789.-+e", a[-1]))
            a--;
        char num[32], *end;
        snprintf(num, sizeof(num), "%.*s", (int)(p - a), a); /* strtod would take "1." */
        double x = strtod(num, &end), y;
        if (end == num || *end)
            continue;
        y = strtod(p + 2, &end);
        if (end == p + 2)
            continue;
        *lo = x;
        *hi = y;
        return 1;
    }
    return 0;
}

/* The place of `key` among the keys a cell names (`a`, `b`, `c`), or -1. */
static int key_place(const char *cell, const char *key)
{
    int i = 0;
    for (const char *p = strchr(cell, '`'); p; i++) {
        const char *e = strchr(p + 1, '`');
        if (!e)
            break;
        if ((size_t)(e - p - 1) == strlen(key) && strncmp(p + 1, key, strlen(key)) == 0)
            return i;
        p = strchr(e + 1, '`');
    }
    return -1;
}

/*
 * A numeric key's bounds, when the docs' type cell gives them as "lo..hi": the range in the
 * key's place, for a row of several keys with a range each, else the one range. 1 when they
 * differ from the row's.
 */
static int bounds_differ(const struct doc_row *r, const struct fw_cfg_key *k)
{
    double lo, hi;
    if (k->type != FW_CFG_INT && k->type != FW_CFG_MS && k->type != FW_CFG_SIZE &&
        k->type != FW_CFG_NUM && k->type != FW_CFG_NUMN)
        return 0;
    /* A row of n keys with n types, split by ';' (or ','): the key's own part. */
    char part[512];
    int place = key_place(r->keys, k->name), nkeys = 0, nparts = 1;
    const char *sep = strchr(r->type, ';') ? ";" : ",";
    for (const char *p = r->keys; (p = strchr(p, '`')) && (p = strchr(p + 1, '`')); p++)
        nkeys++;
    for (const char *p = r->type; (p = strstr(p, sep)); p++)
        nparts++;
    snprintf(part, sizeof(part), "%s", r->type);
    if (nkeys > 1 && nparts == nkeys) {
        const char *p = r->type;
        for (int i = 0; i < place; i++)
            p = strstr(p, sep) + 1;
        snprintf(part, sizeof(part), "%.*s", (int)strcspn(p, sep), p);
    }
    if (!first_range(part, &lo, &hi))
        return 0;
    return lo != k->lo || hi != k->hi;
}

/*
 * Every key of every config table is documented in its section of docs/config.md (or, for an
 * object described inside one row, as "key" in that row), every key the docs' tables name is one
 * of the code's, and a default or "lo..hi" bounds the table has are the ones the docs give.
 */
FW_TEST(docs_key_tables)
{
    struct doc_row *rows = NULL;
    size_t nrows = doc_rows(&rows);
    int bad = 0;
    ASSERT_GT(nrows, 100);
    for (const struct fw_config_key_table *t = fw_config__key_tables; t->section; t++) {
        for (const struct fw_cfg_key *k = t->keys; k->name; k++) {
            int found = 0;
            for (size_t i = 0; i < nrows; i++) {
                struct doc_row *r = &rows[i];
                if (strcmp(r->section, t->section) != 0)
                    continue;
                if (t->row) {
                    char quoted[80];
                    snprintf(quoted, sizeof(quoted), "\"%s\"", k->name);
                    if (cell_names(r->keys, t->row) && strstr(r->line, quoted))
                        found = 1;
                    continue;
                }
                if (!cell_names(r->keys, k->name))
                    continue;
                found = r->used = 1;
                if (bounds_differ(r, k)) {
                    fprintf(stderr,
                            "docs/config.md: %s: `%s`: the bounds are %g..%g, the docs "
                            "say \"%s\"\n",
                            t->section[0] ? t->section : "top level", k->name, k->lo, k->hi,
                            r->type);
                    bad++;
                }
                if (k->def) {
                    char def[64];
                    snprintf(def, sizeof(def), "%s", k->def[0] == '"' ? k->def + 1 : k->def);
                    def[strcspn(def, "\"")] = '\0';
                    if (!has_token(r->def, def)) {
                        fprintf(stderr,
                                "docs/config.md: %s: `%s`: the default is %s, the docs say "
                                "\"%s\"\n",
                                t->section[0] ? t->section : "top level", k->name, k->def, r->def);
                        bad++;
                    }
                }
            }
            if (!found) {
                fprintf(stderr, "docs/config.md: %s%s%s: key `%s` is not documented\n",
                        t->section[0] ? t->section : "top level", t->row ? ", row " : "",
                        t->row ? t->row : "", k->name);
                bad++;
            }
        }
    }
    /* Rows of the tables' sections that name no key of the code. */
    for (size_t i = 0; i < nrows; i++) {
        struct doc_row *r = &rows[i];
        int tabled = 0;
        for (const struct fw_config_key_table *t = fw_config__key_tables; t->section; t++)
            if (!t->row && strcmp(r->section, t->section) == 0)
                tabled = 1;
        if (!tabled || r->used)
            continue;
        /* A row of several keys is used when any of them is; name the unknown ones. */
        for (const char *p = strchr(r->keys, '`'); p; p = strchr(p, '`')) {
            const char *e = strchr(p + 1, '`');
            if (!e)
                break;
            char key[80];
            snprintf(key, sizeof(key), "%.*s", (int)(e - p - 1), p + 1);
            int real = 0;
            for (const struct fw_config_key_table *t = fw_config__key_tables; t->section; t++)
                for (const struct fw_cfg_key *k = t->keys; !t->row && k->name; k++)
                    if (strcmp(r->section, t->section) == 0 && strcmp(k->name, key) == 0)
                        real = 1;
            if (!real) {
                fprintf(stderr, "docs/config.md: %s: `%s` is documented but no such key exists\n",
                        r->section[0] ? r->section : "top level", key);
                bad++;
            }
            p = e + 1;
        }
    }
    free(rows);
    ASSERT_EQ(bad, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* The loader given its files (fw_config_load_io)                                              */
/* ------------------------------------------------------------------------------------------ */

/* Files and variables from memory; what the loader asked for, counted. */
struct mem_io {
    const char *const *files; /* path, text, path, text, ..., NULL */
    const char *const *env;   /* name, value, ..., NULL */
    int listed, checked;
};

static const char *mem_find(const char *const *kv, const char *key)
{
    for (size_t i = 0; kv && kv[i]; i += 2)
        if (strcmp(kv[i], key) == 0)
            return kv[i + 1];
    return NULL;
}

static char *mem_read_text(void *arg, const char *path, const char *shown, size_t max_bytes,
                           size_t *len, struct fw_cfg_errors *errs, int *rc)
{
    const char *t = mem_find(((struct mem_io *)arg)->files, path);
    if (!t || strlen(t) > max_bytes) {
        *rc = t ? -E2BIG : -ENOENT;
        fw_cfg_errors_add(errs, fw_xasprintf("%s: cannot open: not in memory", shown));
        return NULL;
    }
    char *text = fw_xstrdup(t);
    *len = strlen(text);
    if ((*rc = fw_cfg_text_prepare(text, *len, shown, errs)) < 0)
        FW_FREE(text);
    return text;
}

/* The files under `dir`/, by their names. */
static int mem_list_dir(void *arg, const char *dir, char ***names, size_t *n)
{
    struct mem_io *m = arg;
    size_t dl = strlen(dir);
    m->listed++;
    *names = NULL;
    *n = 0;
    for (size_t i = 0; m->files[i]; i += 2)
        if (strncmp(m->files[i], dir, dl) == 0 && m->files[i][dl] == '/') {
            *names = fw_xrealloc(*names, (*n + 1) * sizeof(**names));
            (*names)[(*n)++] = fw_xstrdup(m->files[i] + dl + 1);
        }
    return *n ? 0 : -ENOENT;
}

static int mem_missing(void *arg, const char *path)
{
    return mem_find(((struct mem_io *)arg)->files, path) == NULL;
}

static int mem_check_file(void *arg, struct fw_cfg_ctx *c, const char *path, const char *shown)
{
    ((struct mem_io *)arg)->checked++;
    if (mem_find(((struct mem_io *)arg)->files, path))
        return 0;
    fw_cfg_err(c, "cannot read \"%s\": not in memory", shown);
    return -1;
}

static int mem_read_head(void *arg, struct fw_cfg_ctx *c, const char *path, const char *shown,
                         char *buf, size_t size, size_t *n)
{
    if (mem_check_file(arg, c, path, shown) < 0)
        return -1;
    const char *t = mem_find(((struct mem_io *)arg)->files, path);
    *n = strlen(t) < size - 1 ? strlen(t) : size - 1;
    memcpy(buf, t, *n);
    return 0;
}

static const char *mem_getenv(void *arg, const char *name)
{
    return mem_find(((struct mem_io *)arg)->env, name);
}

static int mem_load(struct mem_io *m, struct fw_config **cfg, struct fw_cfg_errors *errs)
{
    const struct fw_cfg_io io = {
        m, mem_read_text, mem_list_dir, mem_missing, mem_check_file, mem_read_head, mem_getenv};
    return fw_config_load_io("mem/forestwatch.json", &io, cfg, errs);
}

/* A whole config with its rules.d, a TLS file, passwords and STATE_DIRECTORY, from memory. */
FW_TEST(load_from_memory)
{
    static const char *const files[] = {
        "mem/forestwatch.json",
        "// a comment\n{\n"
        "  \"gateway\": {\"id\": \"gw-m\", \"status_broker\": \"b\"},\n"
        "  \"brokers\": {\"b\": {\"host\": \"h\", \"username\": \"u\", \"password_env\": \"PW\"},\n"
        "              \"c\": {\"host\": \"h2\", \"username\": \"u\", \"password_file\": \"pw\",\n"
        "                     \"tls\": {\"ca_file\": \"ca.pem\"}}},\n"
        "  \"zones\": {\"z1\": {\"name\": \"Z\", \"forest_chief\": {\"name\": \"C\"}}},\n"
        "  \"routes\": {\"r\": {\"broker\": \"b\", \"topic\": \"alerts\"}}\n}\n",
        "mem/rules.d/smoke.json",
        "{\"rules\": [{\"name\": \"smoke\", \"expr\": \"smoke_ppm > 300\", \"severity\": "
        "\"Severe\", \"category\": \"Fire\", \"routes\": [\"r\"]}]}",
        "mem/rules.d/notes.txt",
        "not a rule file",
        "mem/pw",
        "s3cret\r\nsecond line\n",
        "mem/ca.pem",
        "-----BEGIN CERTIFICATE-----\n",
        NULL,
    };
    static const char *const env[] = {"PW", "from-env", "STATE_DIRECTORY", "/var/lib/fw", NULL};
    struct mem_io m = {files, env, 0, 0};
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    int rc = mem_load(&m, &cfg, &errs);
    if (rc != 0)
        fw_cfg_errors_print(&errs, stderr);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(m.listed, 1);
    ASSERT_EQ(m.checked, 2); /* the CA file and the password file */
    ASSERT_EQ(cfg->nrules, 1);
    ASSERT_STR_EQ(cfg->rules[0].name, "smoke");
    ASSERT_STR_EQ(fw_config_broker(cfg, "b")->password, "from-env");
    ASSERT_STR_EQ(fw_config_broker(cfg, "c")->password, "s3cret");
    ASSERT_STR_EQ(fw_config_broker(cfg, "c")->tls.ca_file, "mem/ca.pem");
    ASSERT_STR_EQ(cfg->store.path, "/var/lib/fw/forestwatch.db");
    fw_config_free(cfg);
    fw_cfg_errors_clear(&errs);
}

/* What the loader cannot get is an error at the key that named it, with the file's line. */
FW_TEST(load_from_memory_missing)
{
    static const char *const files[] = {
        "mem/forestwatch.json",
        "{\n"
        "  \"gateway\": {\"id\": \"gw-m\", \"status_broker\": \"b\"},\n"
        "  \"brokers\": {\"b\": {\"host\": \"h\", \"username\": \"u\", \"password_env\": "
        "\"PW\"}},\n"
        "  \"zones\": {\"z1\": {\"name\": \"Z\", \"forest_chief\": {\"name\": \"C\"}}},\n"
        "  \"rules_dir\": \"rules\",\n"
        "  \"routes\": {\"r\": {\"broker\": \"b\", \"topic\": \"alerts\"}}\n}\n",
        NULL,
    };
    struct mem_io m = {files, NULL, 0, 0};
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(mem_load(&m, &cfg, &errs), -EINVAL);
    ASSERT_TRUE(cfg == NULL);
    ASSERT_EQ(errs.n, 2);
    ASSERT_STR_EQ(errs.msgs[0], "mem/forestwatch.json:5: $.rules_dir: cannot open folder "
                                "\"mem/rules\": No such file or directory");
    ASSERT_STR_EQ(errs.msgs[1], "mem/forestwatch.json:3: $.brokers.b.password_env: environment "
                                "variable \"PW\" is not set");
    fw_cfg_errors_clear(&errs);
}

/*
 * A FIFO where a rule file, the main file or a profile is expected is refused at once, naming
 * it: opening it to read would wait for a writer, and hang check-config or a reload.
 */
FW_TEST(fifo_is_refused_not_waited_for)
{
    char dir[] = "/tmp/fw-cfgfifo-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    char path[256], rules[256], fifo[300];
    snprintf(path, sizeof(path), "%s/forestwatch.json", dir);
    snprintf(rules, sizeof(rules), "%s/rules.d", dir);
    ASSERT_EQ(mkdir(rules, 0700), 0);
    snprintf(fifo, sizeof(fifo), "%s/zz.json", rules);
    ASSERT_EQ(mkfifo(fifo, 0600), 0);
    write_file(dir, "forestwatch.json",
               SECRETS_CONFIG_HEAD "\"brokers\":{\"f\":{\"host\":\"10.0.0.1\"}}}");
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_LT(fw_config_load(path, &cfg, &errs), 0);
    ASSERT_EQ(errs.n, 1);
    ASSERT_TRUE(strstr(errs.msgs[0], "zz.json") && strstr(errs.msgs[0], "not a regular file"));
    fw_cfg_errors_clear(&errs);
    /* The main file itself. */
    ASSERT_LT(fw_config_load(fifo, &cfg, &errs), 0);
    ASSERT_TRUE(errs.n >= 1 && strstr(errs.msgs[0], "not a regular file"));
    fw_cfg_errors_clear(&errs);
    unlink(fifo);
    rmdir(rules);
    remove_file(dir, "forestwatch.json");
    rmdir(dir);
}
