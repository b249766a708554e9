/* SPDX-License-Identifier: MIT */
/*
 * What the fire-danger and the pest model share; see include/forestwatch/modelutil.h. The saved
 * state's numbers are written as raw text: %.17g is the shortest format that round-trips every
 * double (cJSON's own printing has changed between versions), and int64 values are exact as
 * integers.
 */
#include "forestwatch/modelutil.h"

#include "forestwatch/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Parameters and output                                                                       */
/* ------------------------------------------------------------------------------------------ */

int fw_modelutil_date_ok(int month, int day)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month >= 1 && month <= 12 && day >= 1 && day <= mdays[month - 1];
}

int fw_modelutil_stations_check(const char (*stations)[FW_READING_MAX_ID], size_t nstations,
                                const char *fallback, const char **err)
{
    for (size_t i = 0; i < nstations; i++) {
        if (stations[i][0] == '\0') {
            *err = "stations: an id is empty";
            return -EINVAL;
        }
        if (strcmp(stations[i], fallback) == 0) {
            *err = "fallback: is also one of the zone's stations";
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(stations[i], stations[j]) == 0) {
                *err = "stations: an id appears twice";
                return -EINVAL;
            }
    }
    return 0;
}

void fw_modelutil_emit(struct fw_reading **v, size_t *n, size_t *cap, const char *zone,
                       const struct fw_metric *metric, double value, int64_t t_ms)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        *v = fw_xrealloc(*v, *cap * sizeof(**v));
    }
    struct fw_reading *r = &(*v)[(*n)++];
    memset(r, 0, sizeof(*r));
    r->source = FW_SOURCE_DERIVED;
    fw_strlcpy(r->zone, zone, sizeof(r->zone));
    r->metric = metric;
    r->value = value;
    r->time_ms = t_ms;
}

/* ------------------------------------------------------------------------------------------ */
/* Saved state                                                                                 */
/* ------------------------------------------------------------------------------------------ */

cJSON *fw_modelutil_saved_new(cJSON **zones)
{
    cJSON *root = cJSON_CreateObject();
    fw_modelutil_add_int(root, "version", 1);
    *zones = cJSON_AddArrayToObject(root, "zones");
    return root;
}

char *fw_modelutil_saved_print(cJSON *root)
{
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    FW_ASSERT(s);
    /* cJSON allocates with its hooks (malloc by default); hand the caller plain malloc memory. */
    char *json = fw_xstrdup(s);
    cJSON_free(s);
    return json;
}

int fw_modelutil_saved_parse(const char *json, size_t max, cJSON **root, const cJSON **zones)
{
    size_t len = strlen(json);
    *root = NULL;
    if (len > max)
        return -E2BIG;
    cJSON *r = cJSON_ParseWithLength(json, len);
    int64_t version;
    *zones = cJSON_GetObjectItemCaseSensitive(r, "zones");
    if (!r ||
        fw_modelutil_get_int(cJSON_GetObjectItemCaseSensitive(r, "version"), 0, 1, 1, &version) <
            0 ||
        !cJSON_IsArray(*zones)) {
        cJSON_Delete(r);
        return -EINVAL;
    }
    *root = r;
    return 0;
}

int fw_modelutil_restore_zones(const char *json, size_t max, const struct fw_modelutil_zones *z)
{
    cJSON *root;
    const cJSON *zones;
    int rc = fw_modelutil_saved_parse(json, max, &root, &zones);
    if (rc < 0)
        return rc;
    char *fresh = fw_xcalloc(z->n ? z->n : 1, z->state_size);
    char *v = z->v;
    rc = -EINVAL;
    for (size_t i = 0; i < z->n; i++)
        z->init(fresh + i * z->state_size);
    const cJSON *o;
    cJSON_ArrayForEach(o, zones)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        if (!cJSON_IsString(id))
            goto fail;
        for (size_t i = 0; i < z->n; i++)
            if (strcmp(v + i * z->size + z->id_off, id->valuestring) == 0 &&
                z->restore(o, v + i * z->size, fresh + i * z->state_size) < 0)
                goto fail;
    }
    /* All or nothing: the live state changes only once the whole text has been accepted. */
    for (size_t i = 0; i < z->n; i++)
        memcpy(v + i * z->size + z->state_off, fresh + i * z->state_size, z->state_size);
    rc = 0;
fail:
    free(fresh);
    cJSON_Delete(root);
    return rc;
}

void fw_modelutil_add_raw(cJSON *o, const char *key, const char *text)
{
    if (key)
        cJSON_AddRawToObject(o, key, text);
    else
        cJSON_AddItemToArray(o, cJSON_CreateRaw(text));
}

void fw_modelutil_add_dbl(cJSON *o, const char *key, double v)
{
    char buf[32];
    if (isfinite(v))
        snprintf(buf, sizeof(buf), "%.17g", v);
    else
        snprintf(buf, sizeof(buf), "null");
    fw_modelutil_add_raw(o, key, buf);
}

void fw_modelutil_add_int(cJSON *o, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    fw_modelutil_add_raw(o, key, buf);
}

void fw_modelutil_add_opt(cJSON *o, const char *key, int64_t v)
{
    if (v == INT64_MIN)
        fw_modelutil_add_raw(o, key, "null");
    else
        fw_modelutil_add_int(o, key, v);
}

int fw_modelutil_get_int(const cJSON *v, int nullable, int64_t lo, int64_t hi, int64_t *out)
{
    if (nullable && cJSON_IsNull(v)) {
        *out = INT64_MIN;
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return -EINVAL;
    double d = v->valuedouble;
    /* 2^53: beyond it a double no longer holds every integer */
    if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != floor(d))
        return -EINVAL;
    if ((int64_t)d < lo || (int64_t)d > hi)
        return -EINVAL;
    *out = (int64_t)d;
    return 0;
}

int fw_modelutil_get_dbl(const cJSON *v, int nullable, double *out)
{
    if (nullable && cJSON_IsNull(v)) {
        *out = NAN;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return -EINVAL;
    *out = v->valuedouble;
    return 0;
}
