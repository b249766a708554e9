/* SPDX-License-Identifier: MIT */
/*
 * The metric table, and the metrics a config declares on top of it. A metric's range is what
 * the physical quantity can be, not what is normal: it catches a sensor that answers garbage (a
 * humidity of 6553.5 %) without hiding a real fire (smoke far above any alarm threshold is still
 * inside the range).
 */
#include "forestwatch/reading.h"

#include "forestwatch/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct fw_metric metrics[] = {
    {"air_temp_c", "degC", "°C", -60, 70, "air temperature"},
    {"rel_humidity_pct", "%", "%RH", 0, 100, "relative humidity"},
    {"wind_speed_ms", "m/s", NULL, 0, 80, "wind speed (10 min mean where the node averages)"},
    {"wind_dir_deg", "deg", "°", 0, 360, "direction the wind blows from"},
    {"rain_mm", "mm", NULL, 0, 500, "rain since the node's previous report"},
    {"pressure_hpa", "hPa", NULL, 500, 1100, "air pressure"},
    {"smoke_ppm", "ppm", NULL, 0, 100000, "smoke concentration"},
    {"co_ppm", "ppm", NULL, 0, 10000, "carbon monoxide"},
    {"battery_v", "V", NULL, 0, 60, "battery or supply voltage"},
    {"soil_moisture_pct", "%", NULL, 0, 100, "volumetric soil moisture"},
    {"trap_count", "count", NULL, 0, 1000000, "insects caught since the previous report"},
    {"phenology_class", "class", NULL, 0, 4,
     "green-grass or snow cover class of the national rating: 0 NONE, 1 G20/S10, 2 G50/S30, "
     "3 G75/S60, 4 G100/S90"},
    /* Sensor health, reported by the gateway's Modbus pollers for each device (docs/modbus.md). */
    {"device_online", "bool", NULL, 0, 1, "1 while the device answers, 0 once it is offline"},
    {"device_failures", "count", NULL, 0, 1e9, "consecutive failed polls of the device"},
    {"device_out_of_range", "count", NULL, 0, 1e6,
     "values of the last poll outside the profile's plausible range (not passed on)"},
    {"device_last_ok_age_s", "s", NULL, 0, 1e10, "seconds since the device's last good poll"},
    /* Radio link of LoRa nodes, from the network server's metadata of each uplink: the best
     * gateway's RSSI and its SNR (docs/uplink.md). */
    {"lora_rssi_dbm", "dBm", NULL, -200, 50, "RSSI of the node's last uplink at the best gateway"},
    {"lora_snr_db", "dB", NULL, -50, 50, "SNR of the node's last uplink at the best gateway"},
    /* A LoRa node's own answer to the network server's status request (LoRaWAN DevStatusAns),
     * from ChirpStack's status events (docs/uplink.md). */
    {"lora_margin_db", "dB", NULL, -32, 31,
     "SNR margin at which the node heard the network server's last status request"},
    {"lora_external_power", "bool", NULL, 0, 1,
     "1 when the node reports running on an external power source, 0 on its battery"},
    {"battery_pct", "%", NULL, 0, 100,
     "battery level the node reports, 0 (empty) .. 100 (full); none on external power"},
    /* Derived per zone by the fire-danger models; field nodes may not send them. */
    {"ffmc", "code", NULL, 0, 101, "Fine Fuel Moisture Code (FWI system)", FW_METRIC_ZONE},
    {"dmc", "code", NULL, 0, 10000, "Duff Moisture Code (FWI system)", FW_METRIC_ZONE},
    {"dc", "code", NULL, 0, 10000, "Drought Code (FWI system)", FW_METRIC_ZONE},
    {"isi", "index", NULL, 0, 10000, "Initial Spread Index (FWI system)", FW_METRIC_ZONE},
    {"bui", "index", NULL, 0, 10000, "Buildup Index (FWI system)", FW_METRIC_ZONE},
    {"fwi", "index", NULL, 0, 10000, "Fire Weather Index", FW_METRIC_ZONE},
    {"fire_danger_level", "level", NULL, 1, 5, "fire-danger level 1 (low) .. 5 (extreme)",
     FW_METRIC_ZONE},
    {"fire_danger_level_tomorrow", "level", NULL, 0, 5,
     "tomorrow's expected fire-danger level from the meteorology forecast; 0: no forecast",
     FW_METRIC_ZONE},
    /* The meteorology bureau's published level (docs/meteo.md) and the computed one it stands
     * in for in fire_danger_level (docs/models.md, "The bureau's own level"). */
    {"fire_danger_level_computed", "level", NULL, 1, 5,
     "the fire-danger level the zone's model computed, whether or not the bureau's stands in",
     FW_METRIC_ZONE},
    {"bureau_danger_level", "level", NULL, 1, 5,
     "the meteorology bureau's published forest fire weather level for the zone's day",
     FW_METRIC_ZONE},
    {"bureau_danger_level_tomorrow", "level", NULL, 0, 5,
     "the meteorology bureau's published level for the zone's next day; 0: none published",
     FW_METRIC_ZONE},
    {"fwi_tomorrow", "index", NULL, 0, 10000,
     "tomorrow's expected Fire Weather Index from the meteorology forecast", FW_METRIC_ZONE},
    {"nesterov_index", "index", NULL, 0, 1e7,
     "Nesterov ignition index: the sum of T (T - Td) at noon since the last day of 3 mm of rain",
     FW_METRIC_ZONE},
    {"hffmc", "code", NULL, 0, 101, "hourly Fine Fuel Moisture Code (Van Wagner 1977)",
     FW_METRIC_ZONE},
    {"fire_model_missing", "bool", NULL, 0, 1,
     "1 when today's fire-danger codes could not be computed (no usable noon data)",
     FW_METRIC_ZONE},
    /* Derived per zone by the national fire weather rating (docs/models.md); the tables are
     * data, so the ranges are what a table file may give, not the shipped tables' 0..20. */
    {"cn_rating_index", "index", NULL, -1000, 4000,
     "national forest fire weather rating HTZ = A + B + C + D - E of the day", FW_METRIC_ZONE},
    {"cn_rating_a", "index", NULL, 0, 1000, "rating sub-index A: the day's maximum temperature",
     FW_METRIC_ZONE},
    {"cn_rating_b", "index", NULL, 0, 1000, "rating sub-index B: the day's minimum humidity",
     FW_METRIC_ZONE},
    {"cn_rating_c", "index", NULL, 0, 1000,
     "rating sub-index C: the last rain day's amount and the dry days since", FW_METRIC_ZONE},
    {"cn_rating_d", "index", NULL, 0, 1000, "rating sub-index D: the day's maximum wind force",
     FW_METRIC_ZONE},
    {"cn_rating_e", "index", NULL, 0, 1000,
     "rating sub-index E (subtracted): green-grass or snow cover", FW_METRIC_ZONE},
    {"cn_rating_level", "level", NULL, 1, 5,
     "national forest fire weather level 1 (一级) .. 5 (五级) of the day", FW_METRIC_ZONE},
    {"cn_rating_level_tomorrow", "level", NULL, 0, 5,
     "tomorrow's expected national rating level from the meteorology forecast; 0: no forecast",
     FW_METRIC_ZONE},
    {"cn_model_missing", "bool", NULL, 0, 1,
     "1 when the day could not be rated (no usable extremes or rain)", FW_METRIC_ZONE},
    /* Derived per zone by the pest models: the soonest expected stage of any pest of the zone. */
    {"pest_days_to_stage", "d", NULL, 0, 366,
     "days until the next stage of a pest of the zone is expected (degree-day forecast)",
     FW_METRIC_ZONE},
    /* Also from the pest models (docs/pests.md); degree_days is the same pest's as above. */
    {"degree_days", "dd", NULL, 0, 100000,
     "degree-days since the biofix of the pest of the zone with the soonest next stage",
     FW_METRIC_ZONE},
    {"pest_model_missing", "bool", NULL, 0, 1,
     "1 when yesterday's temperatures were too few for degree-days (accumulation paused)",
     FW_METRIC_ZONE},
    {"trap_count_day", "count", NULL, 0, 1e9, "insects caught in the zone's traps in a local day",
     FW_METRIC_ZONE},
    {"trap_count_week", "count", NULL, 0, 1e9,
     "insects caught in the zone's traps in the last 7 local days", FW_METRIC_ZONE},
    {"disease_risk_hours", "h", NULL, 0, 24,
     "hours of the last 24 with the humidity and temperature of the zone's disease weather",
     FW_METRIC_ZONE},
};

const struct fw_metric *fw_metric_builtin(const char *name)
{
    for (size_t i = 0; i < FW_ARRAY_LEN(metrics); i++)
        if (strcmp(metrics[i].name, name) == 0)
            return &metrics[i];
    return NULL;
}

int fw_metric_unit_ok(const struct fw_metric *m, const char *unit)
{
    return strcmp(m->unit, unit) == 0 || (m->alias && strcmp(m->alias, unit) == 0);
}

const struct fw_metric *fw_metric_table(int *n)
{
    *n = (int)FW_ARRAY_LEN(metrics);
    return metrics;
}

/* ------------------------------------------------------------------------------------------ */
/* Declared metrics                                                                            */
/* ------------------------------------------------------------------------------------------ */

/*
 * Every distinct declaration the process took in, never freed: readings, series, alerts and
 * Modbus workers hold plain pointers to metrics, and a reload must not pull one from under
 * them. Interning makes a declaration that a reload leaves as it was the same pointer, so
 * nothing downstream sees a change. A fixed array, so a reader never meets a moved one.
 */
struct declared {
    struct fw_metric m; /* first: what is handed out */
    int id;
    char name[FW_READING_MAX_ID];
    char unit[FW_METRIC_MAX_UNIT + 1];
    char alias[FW_METRIC_MAX_UNIT + 1];
    char *help, *help_zh;
};

static struct declared *registry[FW_METRIC_MAX_VERSIONS];
static size_t nregistry; /* under registry_lock */
static atomic_int ndeclared_ids;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

struct fw_metric_set {
    const struct fw_metric **m;
    size_t n, cap;
};

/* The process's set, and the thread's own while a config is being validated. */
static _Atomic(const struct fw_metric_set *) process_set;
static _Thread_local const struct fw_metric_set *thread_set;

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* `help` is what the declaration's help becomes: its English text, else its Chinese one. */
static int same_declaration(const struct declared *d, const struct fw_metric *m, const char *help)
{
    return strcmp(d->name, m->name) == 0 && strcmp(d->unit, m->unit) == 0 &&
           str_eq(d->m.alias, m->alias) && d->m.min == m->min && d->m.max == m->max &&
           strcmp(d->help, help) == 0 && str_eq(d->help_zh, m->help_zh);
}

/* The interned copy of `m`, made when new; NULL when the registry is full. */
static const struct fw_metric *intern(const struct fw_metric *m)
{
    const char *help = m->help ? m->help : m->help_zh ? m->help_zh : "";
    const struct fw_metric *out = NULL;
    int id = -1;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < nregistry && !out; i++) {
        const struct declared *d = registry[i];
        if (same_declaration(d, m, help))
            out = &d->m;
        else if (strcmp(d->name, m->name) == 0 && strcmp(d->unit, m->unit) == 0)
            id = d->id; /* the same quantity, described anew: its samples carry over */
    }
    if (!out && nregistry < FW_METRIC_MAX_VERSIONS) {
        struct declared *d = fw_xcalloc(1, sizeof(*d));
        fw_strlcpy(d->name, m->name, sizeof(d->name));
        fw_strlcpy(d->unit, m->unit, sizeof(d->unit));
        if (m->alias)
            fw_strlcpy(d->alias, m->alias, sizeof(d->alias));
        d->help = fw_xstrdup(help);
        d->help_zh = m->help_zh ? fw_xstrdup(m->help_zh) : NULL;
        d->m = (struct fw_metric){
            .name = d->name,
            .unit = d->unit,
            .alias = m->alias ? d->alias : NULL,
            .min = m->min,
            .max = m->max,
            .help = d->help,
            .scope = FW_METRIC_STATION,
            .help_zh = d->help_zh,
        };
        d->id = id >= 0 ? id : (int)FW_ARRAY_LEN(metrics) + atomic_fetch_add(&ndeclared_ids, 1);
        registry[nregistry++] = d;
        out = &d->m;
    }
    pthread_mutex_unlock(&registry_lock);
    return out;
}

struct fw_metric_set *fw_metric_set_new(void)
{
    return fw_xcalloc(1, sizeof(struct fw_metric_set));
}

void fw_metric_set_free(struct fw_metric_set *s)
{
    if (!s)
        return;
    FW_ASSERT(s != atomic_load(&process_set) && s != thread_set);
    free(s->m);
    free(s);
}

static const struct fw_metric *set_find(const struct fw_metric_set *s, const char *name)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->m[i]->name, name) == 0)
            return s->m[i];
    return NULL;
}

int fw_metric_set_add(struct fw_metric_set *s, const struct fw_metric *decl,
                      const struct fw_metric **out)
{
    *out = NULL;
    if (fw_metric_builtin(decl->name) || set_find(s, decl->name))
        return -EEXIST;
    if (s->n >= FW_METRIC_MAX_DECLARED)
        return -ENOSPC;
    const struct fw_metric *m = intern(decl);
    if (!m)
        return -EOVERFLOW;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->m = fw_xrealloc(s->m, s->cap * sizeof(*s->m));
    }
    s->m[s->n++] = *out = m;
    return 0;
}

size_t fw_metric_set_len(const struct fw_metric_set *s)
{
    return s ? s->n : 0;
}

const struct fw_metric *fw_metric_set_at(const struct fw_metric_set *s, size_t i)
{
    FW_ASSERT(s && i < s->n);
    return s->m[i];
}

const struct fw_metric_set *fw_metric_use(const struct fw_metric_set *s)
{
    return atomic_exchange(&process_set, s);
}

const struct fw_metric_set *fw_metric_scope(const struct fw_metric_set *s)
{
    const struct fw_metric_set *prev = thread_set;
    thread_set = s;
    return prev;
}

const struct fw_metric_set *fw_metric_declared(void)
{
    return thread_set ? thread_set : atomic_load_explicit(&process_set, memory_order_acquire);
}

const struct fw_metric *fw_metric_find(const char *name)
{
    const struct fw_metric *m = fw_metric_builtin(name);
    return m ? m : set_find(fw_metric_declared(), name);
}

const struct fw_metric *fw_metric_nearest(const char *name)
{
    const struct fw_metric_set *s = fw_metric_declared();
    const struct fw_metric *best = NULL;
    int bestd = 3;
    for (size_t i = 0; i < FW_ARRAY_LEN(metrics) + fw_metric_set_len(s); i++) {
        const struct fw_metric *m =
            i < FW_ARRAY_LEN(metrics) ? &metrics[i] : s->m[i - FW_ARRAY_LEN(metrics)];
        int d = fw_edit_distance(name, m->name);
        if (d < bestd) {
            bestd = d;
            best = m;
        }
    }
    return best;
}

int fw_metric_id(const struct fw_metric *m)
{
    /* Addresses compared as integers: a pointer into the table, or a declared struct. */
    uintptr_t p = (uintptr_t)m, base = (uintptr_t)metrics;
    if (p >= base && p < base + sizeof(metrics))
        return (int)((p - base) / sizeof(metrics[0]));
    return FW_CONTAINER_OF(m, const struct declared, m)->id;
}

int fw_metric_count(void)
{
    return (int)FW_ARRAY_LEN(metrics) + atomic_load(&ndeclared_ids);
}

/* ------------------------------------------------------------------------------------------ */
/* Sources                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static const char *const source_names[FW_SOURCE__COUNT] = {
    [FW_SOURCE_MQTT_NATIVE] = "mqtt", [FW_SOURCE_DERIVED] = "derived",
    [FW_SOURCE_MODBUS] = "modbus",    [FW_SOURCE_LORA] = "lora",
    [FW_SOURCE_METEO] = "meteo",
};

const char *fw_source_str(enum fw_source_kind k)
{
    return (unsigned)k < FW_SOURCE__COUNT ? source_names[k] : "?";
}

int fw_source_parse(const char *name, enum fw_source_kind *out)
{
    for (int i = 0; i < FW_SOURCE__COUNT; i++)
        if (strcmp(source_names[i], name) == 0) {
            *out = (enum fw_source_kind)i;
            return 0;
        }
    return -EINVAL;
}
