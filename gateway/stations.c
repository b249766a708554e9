/* SPDX-License-Identifier: MIT */
/*
 * A zone's weather stations as the zone models read them; see include/forestwatch/stations.h.
 * The rain is kept per report time rather than summed on arrival because reports arrive late
 * and out of order, and because the coverage of a window (were reports lost?) can only be judged
 * once the window is over.
 */
#include "forestwatch/stations.h"

#include "forestwatch/modelutil.h"
#include "forestwatch/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>

const char *fw_stations_id(const char (*stations)[FW_READING_MAX_ID], size_t nstations,
                           const char *fallback, size_t k)
{
    return k < nstations ? stations[k] : fallback;
}

double fw_stations_mean(const double *v, size_t nstations, size_t nplaces)
{
    double sum = 0.0;
    int n = 0;
    for (size_t k = 0; k < nstations; k++)
        if (!isnan(v[k])) {
            sum += v[k];
            n++;
        }
    if (n > 0)
        return sum / n;
    if (nplaces > nstations)
        return v[nstations];
    return NAN;
}

void fw_stations_rain_init(struct fw_stations_rain *r)
{
    for (int i = 0; i < FW_STATIONS_NBUCKETS; i++) {
        r->b[i].id = INT64_MIN;
        r->b[i].sum = 0.0;
    }
}

void fw_stations_rain_add(struct fw_stations_rain *r, int64_t t, double mm)
{
    int64_t id = fw_floor_div(t - 1, FW_STATIONS_BUCKET_MS);
    int64_t i = fw_floor_mod(id, FW_STATIONS_NBUCKETS);
    if (r->b[i].id != id) {
        if (r->b[i].id != INT64_MIN && r->b[i].id > id)
            return; /* older than the ring */
        r->b[i].id = id;
        r->b[i].sum = 0.0;
    }
    r->b[i].sum += mm;
}

double fw_stations_rain_sum(const struct fw_stations_rain *r, int64_t from, int64_t to,
                            int max_gap_min)
{
    int64_t gap = max_gap_min * 60000LL / FW_STATIONS_BUCKET_MS;
    int64_t first = (from - max_gap_min * 60000LL) / FW_STATIONS_BUCKET_MS;
    int64_t lo = from / FW_STATIONS_BUCKET_MS, hi = to / FW_STATIONS_BUCKET_MS; /* lo .. hi-1 */
    double sum = 0.0;
    int64_t run = 0;
    for (int64_t id = first; id < hi; id++) {
        int64_t i = fw_floor_mod(id, FW_STATIONS_NBUCKETS);
        if (r->b[i].id != id) {
            if (++run > gap)
                return -1.0;
            continue;
        }
        run = 0;
        if (id >= lo)
            sum += r->b[i].sum;
    }
    return sum;
}

cJSON *fw_stations_rain_save(const struct fw_stations_rain *r)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < FW_STATIONS_NBUCKETS; i++) {
        if (r->b[i].id == INT64_MIN)
            continue;
        cJSON *e = cJSON_CreateArray();
        fw_modelutil_add_int(e, NULL, r->b[i].id);
        fw_modelutil_add_dbl(e, NULL, r->b[i].sum);
        cJSON_AddItemToArray(a, e);
    }
    return a;
}

int fw_stations_rain_restore(const cJSON *a, struct fw_stations_rain *r)
{
    if (!cJSON_IsArray(a))
        return -EINVAL;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        int64_t id;
        double sum;
        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 ||
            fw_modelutil_get_int(cJSON_GetArrayItem(e, 0), 0, INT64_MIN + 1, INT64_MAX, &id) < 0 ||
            fw_modelutil_get_dbl(cJSON_GetArrayItem(e, 1), 0, &sum) < 0 || sum < 0.0)
            return -EINVAL;
        int64_t i = fw_floor_mod(id, FW_STATIONS_NBUCKETS);
        if (r->b[i].id == INT64_MIN || r->b[i].id < id) {
            r->b[i].id = id;
            r->b[i].sum = sum;
        }
    }
    return 0;
}
