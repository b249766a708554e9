/* SPDX-License-Identifier: MIT */
/*
 * Alert messages as JSON, built with cJSON so that every string is escaped correctly whatever
 * an operator put in a zone name. Numbers are printed by cJSON with full precision.
 */
#include "forestwatch/message.h"

#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cJSON.h>

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char buf[FW_TIME_STRLEN];
    fw_time_format(ms, buf);
    cJSON_AddStringToObject(o, key, buf);
}

static void add_contact(cJSON *o, const char *key, const struct fw_cfg_contact *c)
{
    if (!c->name)
        return;
    cJSON *j = cJSON_AddObjectToObject(o, key);
    cJSON_AddStringToObject(j, "name", c->name);
    if (c->phone)
        cJSON_AddStringToObject(j, "phone", c->phone);
}

static void add_zone(cJSON *o, const struct fw_config *cfg, const char *zone_id)
{
    const struct fw_cfg_zone *z = fw_config_zone(cfg, zone_id);
    cJSON *j = cJSON_AddObjectToObject(o, "zone");
    cJSON_AddStringToObject(j, "id", zone_id);
    if (!z)
        return; /* a zone removed by a reload: the id is all that is known */
    cJSON_AddStringToObject(j, "name", z->name);
    if (z->name_en)
        cJSON_AddStringToObject(j, "name_en", z->name_en);
    if (z->has_location) {
        cJSON *loc = cJSON_AddObjectToObject(j, "location");
        cJSON_AddNumberToObject(loc, "lat", z->location.lat);
        cJSON_AddNumberToObject(loc, "lon", z->location.lon);
    }
    add_contact(j, "forest_chief", &z->forest_chief);
    add_contact(j, "duty", &z->duty);
}

char *fw_message_alert_json(const struct fw_config *cfg, const struct fw_alert *a, int64_t sent_ms)
{
    cJSON *o = cJSON_CreateObject();
    FW_ASSERT(o);
    cJSON_AddStringToObject(o, "id", a->id);
    cJSON_AddStringToObject(o, "gateway", cfg->gateway_id);
    cJSON_AddStringToObject(o, "status", fw_alert_status_str(a->status));
    cJSON_AddStringToObject(o, "cause", fw_alert_cause_str(a->cause));
    cJSON_AddStringToObject(o, "rule", a->rule);
    cJSON_AddStringToObject(o, "severity", fw_severity_str(a->severity));
    cJSON_AddStringToObject(o, "category", fw_category_str(a->category));
    add_zone(o, cfg, a->zone);
    cJSON_AddStringToObject(o, "node", a->station);
    cJSON_AddStringToObject(o, "metric", a->metric->name);
    cJSON_AddNumberToObject(o, "value", a->value);
    cJSON_AddStringToObject(o, "unit", a->metric->unit);
    cJSON_AddStringToObject(o, "op", fw_cmp_op_str(a->op));
    cJSON_AddNumberToObject(o, "threshold", a->threshold);
    add_time(o, "time", a->event_ms);
    add_time(o, "started", a->started_ms);
    add_time(o, "sent", sent_ms);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    FW_ASSERT(s);
    return s;
}
