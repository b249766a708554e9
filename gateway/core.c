/* SPDX-License-Identifier: MIT */
/*
 * The pure core (include/forestwatch/core.h): where a reading goes down into the models and
 * their derived readings come back up into the engine, without the daemon in between. The
 * daemon, and any other driver, carries out the actions in the order given; the order is the
 * one the daemon always had (a reading is recorded before the models and the engine see it, a
 * model's state is saved after the step that changed it).
 */
#include "forestwatch/core.h"

#include "forestwatch/bureau.h"
#include "forestwatch/engine.h"
#include "forestwatch/log.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/uplink.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fw_core {
    const struct fw_config *cfg;
    struct fw_engine *engine;
    struct fw_model *models[FW_MODEL__COUNT]; /* NULL when no zone has the model */
    struct fw_dispatch *dispatch;
    struct fw_actions pending;
    const struct fw_metric *level, *computed; /* fire_danger_level and its computed twin */
};

void fw_core_actions_free(struct fw_core_actions *a)
{
    free(a->v);
    memset(a, 0, sizeof(*a));
}

static struct fw_core_action *push(struct fw_core_actions *a, enum fw_core_action_kind kind)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 16;
        a->v = fw_xrealloc(a->v, a->cap * sizeof(*a->v));
    }
    struct fw_core_action *x = &a->v[a->n++];
    x->kind = kind;
    return x;
}

__attribute__((format(printf, 3, 4))) static void note(struct fw_core_actions *a, int level,
                                                       const char *fmt, ...)
{
    struct fw_core_action *x = push(a, FW_CORE_NOTE);
    x->level = level;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->text, sizeof(x->text), fmt, ap);
    va_end(ap);
}

static void on_model_line(void *arg, const char *line)
{
    note(arg, FW_LOG_NOTICE, "%s", line);
}

/* A model of kind `k` for the zones of `cfg` that configure it, or NULL when none does. */
static struct fw_model *model_build(enum fw_model_kind k, const struct fw_config *cfg,
                                    struct fw_core_actions *out)
{
    struct fw_model *m = NULL;
    const char *why = NULL;
    /* The config loader ran the model's zone checks on every zone, and zone ids are unique. */
    if (fw_model_new(k, cfg, &m, &why) < 0)
        note(out, FW_LOG_ERR, "models: %s: %s: the %s does not run", fw_model_name(k), why,
             fw_model_title(k));
    return m;
}

struct fw_core *fw_core_new(const struct fw_config *cfg, struct fw_core_actions *out)
{
    struct fw_core *c = fw_xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    c->engine = fw_engine_new(cfg);
    for (int k = 0; k < FW_MODEL__COUNT; k++)
        c->models[k] = model_build(k, cfg, out);
    c->dispatch = fw_dispatch_new();
    c->level = fw_metric_find("fire_danger_level");
    c->computed = fw_metric_find("fire_danger_level_computed");
    return c;
}

void fw_core_free(struct fw_core *c)
{
    if (!c)
        return;
    for (int k = 0; k < FW_MODEL__COUNT; k++)
        fw_model_free(c->models[k]);
    fw_engine_free(c->engine);
    fw_dispatch_free(c->dispatch);
    fw_actions_free(&c->pending);
    free(c);
}

struct fw_model *fw_core_model(struct fw_core *c, enum fw_model_kind k)
{
    return c->models[k];
}

int fw_core_derives(const struct fw_core *c, const char *zone)
{
    const struct fw_cfg_zone *z = fw_config_zone(c->cfg, zone);
    return z && ((z->fire && c->models[FW_MODEL_FIRE]) || (z->pests && c->models[FW_MODEL_PESTS]) ||
                 (z->cn && c->models[FW_MODEL_CN]));
}

const struct fw_engine *fw_core_engine(const struct fw_core *c)
{
    return c->engine;
}

void fw_core_feed(struct fw_core *c, const struct fw_reading *r, size_t n, int64_t now_ms,
                  struct fw_core_actions *out)
{
    for (size_t i = 0; i < n; i++) {
        push(out, FW_CORE_RECORD)->reading = r[i];
        for (int k = 0; k < FW_MODEL__COUNT; k++)
            if (c->models[k])
                fw_model_feed(c->models[k], &r[i]);
        fw_engine_feed(c->engine, &r[i], now_ms, &c->pending);
    }
}

/* A derived reading to the log, the recorder and the engine. */
static void derived(struct fw_core *c, const struct fw_model *m, const struct fw_reading *r,
                    int64_t now_ms, struct fw_core_actions *out)
{
    struct fw_core_action line = {.kind = FW_CORE_NOTE, .level = FW_LOG_NOTICE};
    if (fw_model_note(m, c->cfg, r, line.text))
        *push(out, FW_CORE_NOTE) = line;
    push(out, FW_CORE_RECORD)->reading = *r;
    fw_engine_feed(c->engine, r, now_ms, &c->pending);
}

void fw_core_tick(struct fw_core *c, int64_t now_ms, struct fw_core_actions *out)
{
    struct fw_model *bm = c->models[FW_MODEL_BUREAU];
    struct fw_bureau *bureau = (struct fw_bureau *)fw_model_impl(bm, FW_MODEL_BUREAU);
    int bureau_saw = 0;
    for (int k = 0; k < FW_MODEL__COUNT; k++) {
        if (!c->models[k])
            continue;
        const struct fw_reading *d;
        size_t n = fw_model_tick(c->models[k], now_ms, &d);
        for (size_t i = 0; i < n; i++) {
            struct fw_reading r = d[i];
            if (bureau && k != FW_MODEL_BUREAU && r.metric == c->level) {
                /* The computed level stays readable under its own name; the zone's level is the
                 * bureau's where it published one for that day, before any rule sees it. */
                struct fw_reading computed = r;
                computed.metric = c->computed;
                push(out, FW_CORE_RECORD)->reading = computed;
                fw_engine_feed(c->engine, &computed, now_ms, &c->pending);
                fw_bureau_stand_in(bureau, &r);
                bureau_saw = 1;
            }
            derived(c, c->models[k], &r, now_ms, out);
        }
        if (n || (k == FW_MODEL_BUREAU && bureau_saw))
            push(out, FW_CORE_SAVE)->model = (enum fw_model_kind)k;
    }
    fw_engine_tick(c->engine, now_ms, &c->pending);
}

/* Why a model did not keep a forecast day, for the log. */
static const char *forecast_refused(int k, int rc)
{
    switch (rc) {
    case -ERANGE:
        return k == FW_MODEL_BUREAU ? "that day is past" : "that day's noon step is past";
    case -EALREADY:
        return "a forecast issued later is held for that day";
    case -ENOSPC:
        return "the nearer days fill every place";
    default:
        return "weather outside the model's ranges";
    }
}

void fw_core_forecasts(struct fw_core *c, const struct fw_meteo_forecast *v, size_t n,
                       struct fw_core_actions *out)
{
    int kept[FW_MODEL__COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        const struct fw_meteo_forecast *f = &v[i];
        int y, mo, dd;
        fw_time__civil_from_days(f->day, &y, &mo, &dd);
        for (int k = 0; k < FW_MODEL__COUNT; k++) {
            struct fw_core_action line = {.kind = FW_CORE_NOTE, .level = FW_LOG_INFO};
            int rc = c->models[k] ? fw_model_forecast(c->models[k], f, line.text) : -ENOENT;
            kept[k] += rc == 0;
            if (rc == 0 && line.text[0])
                *push(out, FW_CORE_NOTE) = line;
            if (rc != 0 && rc != -ENOENT) {
                struct fw_core_action *x = push(out, FW_CORE_NOTE_LIMITED);
                x->level = FW_LOG_WARNING;
                snprintf(x->text, sizeof(x->text),
                         "meteo: forecast for zone \"%s\" on %04d-%02d-%02d not kept by the %s: %s",
                         f->zone, y, mo, dd, fw_model_noun(k), forecast_refused(k, rc));
            }
        }
    }
    for (int k = 0; k < FW_MODEL__COUNT; k++)
        if (kept[k])
            push(out, FW_CORE_SAVE)->model = (enum fw_model_kind)k;
}

int fw_core_ack(struct fw_core *c, const char *alert_id, const char *by, int64_t at_ms)
{
    return fw_engine_ack(c->engine, alert_id, by, at_ms);
}

void fw_core_reload(struct fw_core *c, const struct fw_config *cfg, int64_t now_ms,
                    struct fw_core_actions *out)
{
    struct fw_engine *engine = fw_engine_new(cfg);
    fw_engine_adopt(engine, c->engine, now_ms, &c->pending);
    fw_engine_free(c->engine);
    c->engine = engine;
    c->cfg = cfg;
    for (int k = 0; k < FW_MODEL__COUNT; k++) {
        struct fw_model *m = model_build(k, cfg, out);
        int rc = m && c->models[k] ? fw_model_adopt(m, c->models[k]) : 0;
        /* The restore's only refusals, worded as the daemon words error codes. */
        if (rc < 0)
            note(out, FW_LOG_WARNING,
                 "models: %s: reload: carry the state over: %s: starting fresh", fw_model_name(k),
                 rc == -E2BIG ? "argument list too long" : "invalid argument");
        fw_model_free(c->models[k]);
        c->models[k] = m;
        if (m)
            fw_model_describe(m, cfg, "carried over", on_model_line, out);
    }
}

struct fw_actions *fw_core_pending(struct fw_core *c)
{
    return &c->pending;
}

/* What the bureau's level means for each pending alert's texts: whether it is the level named,
 * and the computed one beside it (docs/rules.md, {computed_level}). */
static void bureau_context(const struct fw_core *c, struct fw_actions *a)
{
    const struct fw_bureau *b = fw_model_impl(c->models[FW_MODEL_BUREAU], FW_MODEL_BUREAU);
    for (size_t i = 0; b && i < a->n; i++) {
        struct fw_alert *al = &a->items[i].alert;
        struct fw_bureau_state st;
        if (al->zone[0] && fw_bureau_zone_state(b, al->zone, &st) == 0) {
            al->level_bureau = st.in_force > 0 && !isnan(al->level) && al->level == st.in_force;
            al->computed_level = st.computed;
        }
    }
}

void fw_core_dispatch(struct fw_core *c, int64_t now_ms, struct fw_dispatch_out *out)
{
    bureau_context(c, &c->pending);
    fw_dispatch_notifications(c->dispatch, c->cfg,
                              fw_model_impl(c->models[FW_MODEL_PESTS], FW_MODEL_PESTS), &c->pending,
                              now_ms, out);
}

void fw_core_flush(struct fw_core *c, int64_t upto_ms, int64_t now_ms, struct fw_dispatch_out *out)
{
    fw_dispatch_flush(c->dispatch, c->cfg, upto_ms, now_ms, out);
}

int64_t fw_core_next_deadline(const struct fw_core *c)
{
    return fw_dispatch_next_deadline(c->dispatch);
}
