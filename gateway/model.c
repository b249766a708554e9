/* SPDX-License-Identifier: MIT */
/*
 * The zone-model interface (include/forestwatch/model.h): one row of operations per model, so
 * that a driver runs the fire-danger model, the pest model and the national fire weather rating
 * alike. The rows only adapt: the science and the state stay in gateway/fire_model.c,
 * gateway/pests.c and gateway/cn_model.c, which know nothing of the
 * config; this file takes each model's zones from the config and words the lines an operator
 * reads in the log, exactly as the daemon used to.
 */
#include "forestwatch/model.h"

#include "forestwatch/bureau.h"
#include "forestwatch/cnmodel.h"
#include "forestwatch/config.h"
#include "forestwatch/models.h"
#include "forestwatch/pests.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/uplink.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fw_model {
    const struct model_ops *ops;
    void *impl;
    /* The derived readings of the last tick, in the implementation's own array type. */
    union {
        struct fw_models_out fire;
        struct fw_pests_out pests;
        struct fw_cnm_out cn;
        struct fw_bureau_out bureau;
    } out;
};

struct model_ops {
    enum fw_model_kind kind;
    const char *name, *title, *noun, *state_key;
    int (*build)(const struct fw_config *cfg, void **impl, const char **err); /* *impl NULL: none */
    void (*free)(struct fw_model *m);
    void (*feed)(void *impl, const struct fw_reading *r);
    int (*forecast)(void *impl, const struct fw_meteo_forecast *f, char *note);
    size_t (*tick)(struct fw_model *m, int64_t now_ms, const struct fw_reading **out);
    int (*note)(const struct fw_config *cfg, const struct fw_reading *r, char *line);
    void (*describe)(const void *impl, const struct fw_config *cfg, const char *what,
                     fw_model_note_cb cb, void *arg);
    int (*save)(const void *impl, char **json);
    int (*restore)(void *impl, const char *json);
};

/* ------------------------------------------------------------------------------------------ */
/* The fire-danger model                                                                       */
/* ------------------------------------------------------------------------------------------ */

static int fire_build(const struct fw_config *cfg, void **impl, const char **err)
{
    struct fw_models_zone *zones = fw_xcalloc(cfg->nzones ? cfg->nzones : 1, sizeof(*zones));
    size_t n = 0;
    for (size_t i = 0; i < cfg->nzones; i++)
        if (cfg->zones[i].fire)
            zones[n++] = *cfg->zones[i].fire;
    struct fw_models *m = NULL;
    int rc = n ? fw_models_new(zones, n, &m, err) : 0;
    free(zones);
    *impl = m;
    return rc;
}

static void fire_free(struct fw_model *m)
{
    fw_models_free(m->impl);
    fw_models_out_free(&m->out.fire);
}

static void fire_feed(void *impl, const struct fw_reading *r)
{
    fw_models_feed(impl, r);
}

static int fire_forecast(void *impl, const struct fw_meteo_forecast *f, char *note)
{
    if (!f->has_noon)
        return -ENOENT;
    int rc = fw_models_forecast(impl, f->zone, f->day, f->issued_ms, f->temp_c, f->rh_pct,
                                f->wind_ms, f->rain_mm);
    if (rc == 0) {
        int y, mo, dd;
        fw_time__civil_from_days(f->day, &y, &mo, &dd);
        snprintf(note, FW_MODEL_NOTE_MAX,
                 "meteo: forecast for zone \"%s\" on %04d-%02d-%02d: noon %g degC, %g %%, %g m/s, "
                 "rain %g mm",
                 f->zone, y, mo, dd, f->temp_c, f->rh_pct, f->wind_ms, f->rain_mm);
    }
    return rc;
}

static size_t fire_tick(struct fw_model *m, int64_t now_ms, const struct fw_reading **out)
{
    m->out.fire.n = 0;
    size_t n = fw_models_tick(m->impl, now_ms, &m->out.fire);
    *out = m->out.fire.v;
    return n;
}

/* The day's level (or its absence) and tomorrow's expected level, with the local date it is for. */
static int fire_note(const struct fw_config *cfg, const struct fw_reading *r, char *line)
{
    if (strcmp(r->metric->name, "fire_danger_level_tomorrow") == 0) {
        const struct fw_cfg_zone *z = fw_config_zone(cfg, r->zone);
        int off = z && z->fire ? z->fire->utc_offset_min : 0;
        int y, mo, dd;
        fw_time__civil_from_days(fw_time__local_day(r->time_ms, off) + 1, &y, &mo, &dd);
        snprintf(line, FW_MODEL_NOTE_MAX,
                 "models: fire: zone \"%s\": tomorrow %04d-%02d-%02d: %s %g%s", r->zone, y, mo, dd,
                 r->metric->name, r->value, r->value > 0 ? "" : " (no forecast)");
        return 1;
    }
    if (strcmp(r->metric->name, "fire_danger_level") == 0 ||
        (strcmp(r->metric->name, "fire_model_missing") == 0 && r->value > 0)) {
        char when[FW_TIME_STRLEN];
        fw_time_format(r->time_ms, when);
        snprintf(line, FW_MODEL_NOTE_MAX, "models: fire: zone \"%s\": day %s: %s %g", r->zone, when,
                 r->metric->name, r->value);
        return 1;
    }
    return 0;
}

static void fire_describe(const void *impl, const struct fw_config *cfg, const char *what,
                          fw_model_note_cb cb, void *arg)
{
    for (size_t i = 0; i < cfg->nzones; i++) {
        struct fw_models_zone_state st;
        if (!cfg->zones[i].fire || fw_models_zone_state(impl, cfg->zones[i].id, &st) < 0 ||
            !st.has_codes)
            continue;
        char when[FW_TIME_STRLEN] = "none";
        if (st.last_day_noon_ms)
            fw_time_format(st.last_day_noon_ms, when);
        char line[FW_MODEL_NOTE_MAX];
        snprintf(line, sizeof(line),
                 "models: fire: zone \"%s\": %s: last day %s%s: ffmc %.17g dmc %.17g dc %.17g "
                 "fwi %.17g level %d",
                 cfg->zones[i].id, what, when, st.last_day_missing ? " (missing)" : "",
                 st.codes.ffmc, st.codes.dmc, st.codes.dc, st.codes.fwi, st.level);
        cb(arg, line);
    }
}

static int fire_save(const void *impl, char **json)
{
    return fw_models_save(impl, json);
}

static int fire_restore(void *impl, const char *json)
{
    return fw_models_restore(impl, json);
}

/* ------------------------------------------------------------------------------------------ */
/* The pest model                                                                              */
/* ------------------------------------------------------------------------------------------ */

static int pests_build(const struct fw_config *cfg, void **impl, const char **err)
{
    struct fw_pests_zone *zones = fw_xcalloc(cfg->nzones ? cfg->nzones : 1, sizeof(*zones));
    size_t n = 0;
    for (size_t i = 0; i < cfg->nzones; i++)
        if (cfg->zones[i].pests)
            zones[n++] = *cfg->zones[i].pests;
    struct fw_pests *m = NULL;
    int rc = n ? fw_pests_new(zones, n, &m, err) : 0;
    free(zones);
    *impl = m;
    return rc;
}

static void pests_free(struct fw_model *m)
{
    fw_pests_free(m->impl);
    fw_pests_out_free(&m->out.pests);
}

static void pests_feed(void *impl, const struct fw_reading *r)
{
    fw_pests_feed(impl, r);
}

static int pests_forecast(void *impl, const struct fw_meteo_forecast *f, char *note)
{
    (void)note;
    if (!f->has_minmax)
        return -ENOENT;
    return fw_pests_forecast(impl, f->zone, f->day, f->issued_ms, f->tmin_c, f->tmax_c);
}

static size_t pests_tick(struct fw_model *m, int64_t now_ms, const struct fw_reading **out)
{
    m->out.pests.n = 0;
    size_t n = fw_pests_tick(m->impl, now_ms, &m->out.pests);
    *out = m->out.pests.v;
    return n;
}

static int pests_note(const struct fw_config *cfg, const struct fw_reading *r, char *line)
{
    (void)cfg;
    if (strcmp(r->metric->name, "degree_days") != 0 &&
        !(strcmp(r->metric->name, "pest_model_missing") == 0 && r->value > 0))
        return 0;
    char when[FW_TIME_STRLEN];
    fw_time_format(r->time_ms, when);
    snprintf(line, FW_MODEL_NOTE_MAX, "models: pests: zone \"%s\": day ending %s: %s %.17g",
             r->zone, when, r->metric->name, r->value);
    return 1;
}

static void pests_describe(const void *impl, const struct fw_config *cfg, const char *what,
                           fw_model_note_cb cb, void *arg)
{
    for (size_t i = 0; i < cfg->nzones; i++) {
        const struct fw_pests_zone *z = cfg->zones[i].pests;
        for (size_t k = 0; z && k < z->npests; k++) {
            struct fw_pests_pest_state st;
            if (fw_pests_pest_state(impl, z->id, z->pests[k].id, &st) < 0 || !st.has_biofix)
                continue;
            char line[FW_MODEL_NOTE_MAX];
            snprintf(line, sizeof(line),
                     "models: pests: zone \"%s\" pest \"%s\": %s: degree_days %.17g, stages "
                     "reached %zu",
                     z->id, z->pests[k].id, what, st.dd, st.reached);
            cb(arg, line);
        }
    }
}

static int pests_save(const void *impl, char **json)
{
    return fw_pests_save(impl, json);
}

static int pests_restore(void *impl, const char *json)
{
    return fw_pests_restore(impl, json);
}

/* ------------------------------------------------------------------------------------------ */
/* The national forest fire weather rating                                                     */
/* ------------------------------------------------------------------------------------------ */

static int cn_build(const struct fw_config *cfg, void **impl, const char **err)
{
    struct fw_cnm_zone *zones = fw_xcalloc(cfg->nzones ? cfg->nzones : 1, sizeof(*zones));
    size_t n = 0;
    for (size_t i = 0; i < cfg->nzones; i++)
        if (cfg->zones[i].cn)
            zones[n++] = *cfg->zones[i].cn;
    struct fw_cnm *m = NULL;
    int rc = n ? fw_cnm_new(zones, n, &m, err) : 0;
    free(zones);
    *impl = m;
    return rc;
}

static void cn_free(struct fw_model *m)
{
    fw_cnm_free(m->impl);
    fw_cnm_out_free(&m->out.cn);
}

static void cn_feed(void *impl, const struct fw_reading *r)
{
    fw_cnm_feed(impl, r);
}

/* The feed gives no daily minimum humidity or maximum wind: the noon values stand in, and the
 * day's maximum temperature when the entry has one (docs/models.md). */
static int cn_forecast(void *impl, const struct fw_meteo_forecast *f, char *note)
{
    if (!f->has_noon)
        return -ENOENT;
    double tmax = f->has_minmax ? f->tmax_c : f->temp_c;
    int rc = fw_cnm_forecast(impl, f->zone, f->day, f->issued_ms, tmax, f->rh_pct, f->wind_ms,
                             f->rain_mm);
    if (rc == 0) {
        int y, mo, dd;
        fw_time__civil_from_days(f->day, &y, &mo, &dd);
        snprintf(note, FW_MODEL_NOTE_MAX,
                 "meteo: forecast for zone \"%s\" on %04d-%02d-%02d for the national rating: "
                 "max %g degC, %g %%, %g m/s, rain %g mm",
                 f->zone, y, mo, dd, tmax, f->rh_pct, f->wind_ms, f->rain_mm);
    }
    return rc;
}

static size_t cn_tick(struct fw_model *m, int64_t now_ms, const struct fw_reading **out)
{
    m->out.cn.n = 0;
    size_t n = fw_cnm_tick(m->impl, now_ms, &m->out.cn);
    *out = m->out.cn.v;
    return n;
}

/* The zone's local date at `t` plus `after` days. */
static void cn_date(const struct fw_config *cfg, const struct fw_reading *r, int64_t t, int after,
                    int *y, int *mo, int *dd)
{
    const struct fw_cfg_zone *z = fw_config_zone(cfg, r->zone);
    int off = z && z->cn ? z->cn->utc_offset_min : 0;
    fw_time__civil_from_days(fw_time__local_day(t, off) + after, y, mo, dd);
}

static int cn_note(const struct fw_config *cfg, const struct fw_reading *r, char *line)
{
    int y, mo, dd;
    if (strcmp(r->metric->name, "cn_rating_level_tomorrow") == 0) {
        cn_date(cfg, r, r->time_ms, 1, &y, &mo, &dd); /* timed when it was derived */
        snprintf(line, FW_MODEL_NOTE_MAX,
                 "models: cn: zone \"%s\": tomorrow %04d-%02d-%02d: %s %g%s", r->zone, y, mo, dd,
                 r->metric->name, r->value, r->value > 0 ? "" : " (no forecast)");
        return 1;
    }
    if (strcmp(r->metric->name, "cn_rating_level") == 0 ||
        (strcmp(r->metric->name, "cn_model_missing") == 0 && r->value > 0)) {
        cn_date(cfg, r, r->time_ms - 1, 0, &y, &mo, &dd); /* timed at the midnight ending it */
        snprintf(line, FW_MODEL_NOTE_MAX, "models: cn: zone \"%s\": day %04d-%02d-%02d: %s %g",
                 r->zone, y, mo, dd, r->metric->name, r->value);
        return 1;
    }
    return 0;
}

static void cn_describe(const void *impl, const struct fw_config *cfg, const char *what,
                        fw_model_note_cb cb, void *arg)
{
    for (size_t i = 0; i < cfg->nzones; i++) {
        struct fw_cnm_zone_state st;
        if (!cfg->zones[i].cn || fw_cnm_zone_state(impl, cfg->zones[i].id, &st) < 0 ||
            st.last_day == INT64_MIN)
            continue;
        int y, mo, dd;
        fw_time__civil_from_days(st.last_day, &y, &mo, &dd);
        char rain[64] = "no rain on record";
        if (st.rain.rain_on_record)
            snprintf(rain, sizeof(rain), "last rain %g mm, %d dry days", st.rain.last_rain_mm,
                     st.rain.days_since_rain);
        char line[FW_MODEL_NOTE_MAX];
        snprintf(line, sizeof(line),
                 "models: cn: zone \"%s\": %s: last day %04d-%02d-%02d%s: htz %d level %d, %s",
                 cfg->zones[i].id, what, y, mo, dd, st.last_missing ? " (missing)" : "",
                 st.result.htz, st.level, rain);
        cb(arg, line);
    }
}

static int cn_save(const void *impl, char **json)
{
    return fw_cnm_save(impl, json);
}

static int cn_restore(void *impl, const char *json)
{
    return fw_cnm_restore(impl, json);
}

/* ------------------------------------------------------------------------------------------ */
/* The meteorology bureau's published level                                                    */
/* ------------------------------------------------------------------------------------------ */

/* The zones that have a level for the bureau's to stand in for: those with a fire model or a
 * national rating. */
static int bureau_build(const struct fw_config *cfg, void **impl, const char **err)
{
    struct fw_bureau_zone *zones = fw_xcalloc(cfg->nzones ? cfg->nzones : 1, sizeof(*zones));
    size_t n = 0;
    for (size_t i = 0; i < cfg->nzones; i++) {
        const struct fw_cfg_zone *z = &cfg->zones[i];
        if (!z->fire && !z->cn)
            continue;
        fw_strlcpy(zones[n].id, z->id, sizeof(zones[n].id));
        zones[n++].utc_offset_min = fw_config_zone_offset_min(cfg, z);
    }
    struct fw_bureau *m = NULL;
    int rc = n ? fw_bureau_new(zones, n, &m) : 0;
    if (rc < 0)
        *err = "id: two zones have the same id";
    free(zones);
    *impl = m;
    return rc;
}

static void bureau_free(struct fw_model *m)
{
    fw_bureau_free(m->impl);
    fw_bureau_out_free(&m->out.bureau);
}

static void bureau_feed(void *impl, const struct fw_reading *r)
{
    (void)impl; /* the computed levels come through fw_bureau_stand_in(), from the core */
    (void)r;
}

static int bureau_forecast(void *impl, const struct fw_meteo_forecast *f, char *note)
{
    if (!f->level)
        return -ENOENT;
    int rc = fw_bureau_level(impl, f->zone, f->day, f->issued_ms, f->level);
    if (rc == 0) {
        int y, mo, dd;
        fw_time__civil_from_days(f->day, &y, &mo, &dd);
        snprintf(note, FW_MODEL_NOTE_MAX,
                 "meteo: the bureau's fire weather level for zone \"%s\" on %04d-%02d-%02d: %d",
                 f->zone, y, mo, dd, f->level);
    }
    return rc;
}

static size_t bureau_tick(struct fw_model *m, int64_t now_ms, const struct fw_reading **out)
{
    m->out.bureau.n = 0;
    size_t n = fw_bureau_tick(m->impl, now_ms, &m->out.bureau);
    *out = m->out.bureau.v;
    return n;
}

static int bureau_note(const struct fw_config *cfg, const struct fw_reading *r, char *line)
{
    if (strcmp(r->metric->name, "bureau_danger_level") != 0)
        return 0;
    const struct fw_cfg_zone *z = fw_config_zone(cfg, r->zone);
    int y, mo, dd;
    fw_time__civil_from_days(fw_time__local_day(r->time_ms, fw_config_zone_offset_min(cfg, z)), &y,
                             &mo, &dd);
    snprintf(line, FW_MODEL_NOTE_MAX,
             "models: bureau: zone \"%s\": day %04d-%02d-%02d: the bureau's level %g is the "
             "zone's fire_danger_level",
             r->zone, y, mo, dd, r->value);
    return 1;
}

static void bureau_describe(const void *impl, const struct fw_config *cfg, const char *what,
                            fw_model_note_cb cb, void *arg)
{
    for (size_t i = 0; i < cfg->nzones; i++) {
        int64_t day[FW_BUREAU_MAX_DAYS];
        int level[FW_BUREAU_MAX_DAYS];
        size_t n = fw_bureau_held(impl, cfg->zones[i].id, day, level, FW_BUREAU_MAX_DAYS);
        if (n == 0)
            continue;
        int y, mo, dd;
        fw_time__civil_from_days(day[0], &y, &mo, &dd);
        char line[FW_MODEL_NOTE_MAX];
        snprintf(line, sizeof(line),
                 "models: bureau: zone \"%s\": %s: %zu published level(s), the first on "
                 "%04d-%02d-%02d: %d",
                 cfg->zones[i].id, what, n, y, mo, dd, level[0]);
        cb(arg, line);
    }
}

static int bureau_save(const void *impl, char **json)
{
    return fw_bureau_save(impl, json);
}

static int bureau_restore(void *impl, const char *json)
{
    return fw_bureau_restore(impl, json);
}

/* ------------------------------------------------------------------------------------------ */
/* The table and the interface                                                                 */
/* ------------------------------------------------------------------------------------------ */

static const struct model_ops model_types[FW_MODEL__COUNT] = {
    [FW_MODEL_FIRE] = {FW_MODEL_FIRE, "fire", "fire-danger model", "fire model", "models.fire",
                       fire_build, fire_free, fire_feed, fire_forecast, fire_tick, fire_note,
                       fire_describe, fire_save, fire_restore},
    [FW_MODEL_PESTS] = {FW_MODEL_PESTS, "pests", "pest model", "pest model", "models.pests",
                        pests_build, pests_free, pests_feed, pests_forecast, pests_tick, pests_note,
                        pests_describe, pests_save, pests_restore},
    [FW_MODEL_CN] = {FW_MODEL_CN, "cn", "national fire weather rating", "rating model", "models.cn",
                     cn_build, cn_free, cn_feed, cn_forecast, cn_tick, cn_note, cn_describe,
                     cn_save, cn_restore},
    [FW_MODEL_BUREAU] = {FW_MODEL_BUREAU, "bureau", "bureau's fire weather level", "bureau level",
                         "models.bureau", bureau_build, bureau_free, bureau_feed, bureau_forecast,
                         bureau_tick, bureau_note, bureau_describe, bureau_save, bureau_restore},
};

int fw_model_new(enum fw_model_kind kind, const struct fw_config *cfg, struct fw_model **out,
                 const char **err)
{
    FW_ASSERT(kind >= 0 && kind < FW_MODEL__COUNT);
    *out = NULL;
    void *impl = NULL;
    int rc = model_types[kind].build(cfg, &impl, err);
    if (rc < 0 || !impl)
        return rc;
    struct fw_model *m = fw_xcalloc(1, sizeof(*m));
    m->ops = &model_types[kind];
    m->impl = impl;
    *out = m;
    return 0;
}

void fw_model_free(struct fw_model *m)
{
    if (!m)
        return;
    m->ops->free(m);
    free(m);
}

const char *fw_model_name(enum fw_model_kind kind)
{
    return model_types[kind].name;
}

const char *fw_model_title(enum fw_model_kind kind)
{
    return model_types[kind].title;
}

const char *fw_model_noun(enum fw_model_kind kind)
{
    return model_types[kind].noun;
}

const char *fw_model_state_key(enum fw_model_kind kind)
{
    return model_types[kind].state_key;
}

enum fw_model_kind fw_model_kind(const struct fw_model *m)
{
    return m->ops->kind;
}

void fw_model_feed(struct fw_model *m, const struct fw_reading *r)
{
    m->ops->feed(m->impl, r);
}

int fw_model_forecast(struct fw_model *m, const struct fw_meteo_forecast *f, char *note)
{
    note[0] = '\0';
    return m->ops->forecast(m->impl, f, note);
}

size_t fw_model_tick(struct fw_model *m, int64_t now_ms, const struct fw_reading **out)
{
    return m->ops->tick(m, now_ms, out);
}

int fw_model_note(const struct fw_model *m, const struct fw_config *cfg, const struct fw_reading *r,
                  char *line)
{
    line[0] = '\0';
    return m->ops->note(cfg, r, line);
}

void fw_model_describe(const struct fw_model *m, const struct fw_config *cfg, const char *what,
                       fw_model_note_cb cb, void *arg)
{
    m->ops->describe(m->impl, cfg, what, cb, arg);
}

int fw_model_save(const struct fw_model *m, char **json)
{
    return m->ops->save(m->impl, json);
}

int fw_model_restore(struct fw_model *m, const char *json)
{
    return m->ops->restore(m->impl, json);
}

/* The models match saved zones, stations and pests by id, so a save and restore is an adoption. */
int fw_model_adopt(struct fw_model *m, const struct fw_model *old)
{
    FW_ASSERT(m->ops == old->ops);
    char *json = NULL;
    m->ops->save(old->impl, &json);
    int rc = m->ops->restore(m->impl, json);
    free(json);
    return rc;
}

const void *fw_model_impl(const struct fw_model *m, enum fw_model_kind kind)
{
    return m && m->ops->kind == kind ? m->impl : NULL;
}
