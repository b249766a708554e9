/* SPDX-License-Identifier: MIT */
/*
 * The Chinese national forest fire weather rating (LY/T 1172-95 variant): table lookups, the
 * sum and the level, the rain state carried from day to day, and the parser of the table file.
 * The numbers live in the tables, never in the lookups, because B, C and E rest on a single
 * transcription and an operator must be able to replace them from the printed standard; the
 * built-in copy below exists so the rating works without the file, and a unit test holds it
 * equal to config/cn_rating_tables.json. See docs/cnrating.md.
 */
#include "forestwatch/cnrating.h"
#include "forestwatch/jsontext.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Built-in tables (CN_FIRE_WEATHER_RATING section 4, TG's edges)
 * ------------------------------------------------------------------------------------------- */

static const struct fw_cnr_tables default_tables = {
    .a_upper_c = {5.0, 10.0, 15.0, 20.0, 25.0},
    .a_value = {0, 4, 8, 12, 16, 20},
    .b_lower_pct = {71, 61, 51, 41, 31},
    .b_value = {0, 4, 8, 12, 16, 20},
    .c_rain_day_mm = 0.3,
    .c_no_rain = 50,
    .c_row_below_mm = {2.0, 5.0, 10.0},
    .c_row_base = {10, 5, 0, 0},
    .c_row_grace_days = {0, 0, 0, 1},
    .c_per_day = 5,
    .c_ceiling = 50,
    .d_upper_ms = {0.2, 1.5, 3.3, 5.4, 7.9, 10.7, 13.8, 17.1},
    .d_value = {0, 5, 10, 15, 20, 25, 30, 35, 40},
    .e_value = {0, 5, 10, 15, 20},
    .level_upper = {25, 50, 72, 90},
    .conf = {FW_CNR_CONF_V2, FW_CNR_CONF_V1, FW_CNR_CONF_V1, FW_CNR_CONF_V2, FW_CNR_CONF_V1,
             FW_CNR_CONF_V2},
};

void fw_cnr_tables_default(struct fw_cnr_tables *t)
{
    *t = default_tables;
}

static const char *const table_names[FW_CNR_TABLE_COUNT + 1] = {"A", "B",      "C", "D",
                                                                "E", "levels", NULL};
static const char *const phen_names[FW_CNR_PHEN_COUNT] = {"NONE", "G20/S10", "G50/S30", "G75/S60",
                                                          "G100/S90"};
static const char *const conf_names[] = {"V2", "V1", "INF", "official"};

const char *fw_cnr_table_name(enum fw_cnr_table_id id)
{
    return (unsigned)id < FW_CNR_TABLE_COUNT ? table_names[id] : NULL;
}

const char *fw_cnr_phenology_name(enum fw_cnr_phenology p)
{
    return (unsigned)p < FW_CNR_PHEN_COUNT ? phen_names[p] : NULL;
}

int fw_cnr_phenology_parse(const char *s, enum fw_cnr_phenology *out)
{
    for (int i = 0; i < FW_CNR_PHEN_COUNT; i++) {
        const char *n = phen_names[i], *slash = strchr(n, '/');
        size_t half = slash ? (size_t)(slash - n) : strlen(n);
        /* The full code, or either half: a station knows whether it is grass or snow season. */
        if (strcmp(s, n) == 0 || (strlen(s) == half && strncmp(s, n, half) == 0) ||
            (slash && strcmp(s, slash + 1) == 0)) {
            *out = (enum fw_cnr_phenology)i;
            return 0;
        }
    }
    return -EINVAL;
}

unsigned fw_cnr_tables_unverified(const struct fw_cnr_tables *t)
{
    unsigned bits = 0;
    for (int i = 0; i < FW_CNR_TABLE_COUNT; i++)
        if (t->conf[i] != FW_CNR_CONF_OFFICIAL)
            bits |= 1u << i;
    return bits;
}

/* ---------------------------------------------------------------------------------------------
 * The rating
 * ------------------------------------------------------------------------------------------- */

/* The first bin whose inclusive upper edge holds v; past the last edge, the last bin. */
static int bin_upper(const double *upper, int nedges, double v)
{
    int i = 0;
    while (i < nedges && v > upper[i])
        i++;
    return i;
}

static int c_index(const struct fw_cnr_tables *t, const struct fw_cnr_day *in)
{
    if (!in->rain_on_record)
        return t->c_no_rain;
    int row = 0;
    while (row < FW_CNR_C_ROWS - 1 && !(in->last_rain_mm < t->c_row_below_mm[row]))
        row++;
    /* In days, not points, so that a long drought cannot overflow before the ceiling. */
    long long days = (long long)in->days_since_rain - t->c_row_grace_days[row];
    if (days < 0)
        days = 0;
    long long c = t->c_row_base[row] + (long long)t->c_per_day * days;
    return c > t->c_ceiling ? t->c_ceiling : (int)c;
}

int fw_cnr_rate(const struct fw_cnr_tables *t, const struct fw_cnr_day *in,
                struct fw_cnr_result *out)
{
    /* The comparisons are written so that a NaN fails them. */
    if (!(in->tmax_c >= FW_CNR_TEMP_MIN && in->tmax_c <= FW_CNR_TEMP_MAX) ||
        !(in->rh_min_pct >= 0.0 && in->rh_min_pct <= 100.0) ||
        !(in->wind_max_ms >= 0.0 && in->wind_max_ms <= FW_CNR_WIND_MAX) ||
        (unsigned)in->phenology >= FW_CNR_PHEN_COUNT)
        return -EINVAL;
    if (in->rain_on_record && (!(in->last_rain_mm >= 0.0 && in->last_rain_mm <= FW_CNR_RAIN_MAX) ||
                               in->days_since_rain < 0 || in->days_since_rain > FW_CNR_DAYS_MAX))
        return -EINVAL;
    struct fw_cnr_result r = {0};
    r.a = t->a_value[bin_upper(t->a_upper_c, FW_CNR_A_BINS - 1, in->tmax_c)];
    /* Station RH is whole percent and the table's bins are whole numbers (61-70), so a decimal
     * value is rounded first; TG's bare `>=` would put 70.5 into 61-70. */
    int rh = (int)lround(in->rh_min_pct), bi = 0;
    while (bi < FW_CNR_B_BINS - 1 && rh < t->b_lower_pct[bi])
        bi++;
    r.b = t->b_value[bi];
    r.c = c_index(t, in);
    r.force = bin_upper(t->d_upper_ms, FW_CNR_D_BINS - 1, in->wind_max_ms);
    r.d = t->d_value[r.force];
    r.e = t->e_value[in->phenology];
    r.htz = r.a + r.b + r.c + r.d - r.e;
    r.level = FW_CNR_LEVELS;
    for (int i = 0; i < FW_CNR_LEVELS - 1; i++) {
        if (r.htz <= t->level_upper[i]) {
            r.level = i + 1;
            break;
        }
    }
    *out = r;
    return 0;
}

void fw_cnr_state_init(struct fw_cnr_state *s)
{
    memset(s, 0, sizeof(*s));
}

int fw_cnr_state_step(struct fw_cnr_state *s, const struct fw_cnr_tables *t, double rain_mm)
{
    if (!(rain_mm >= 0.0 && rain_mm <= FW_CNR_RAIN_MAX))
        return -EINVAL;
    if (rain_mm >= t->c_rain_day_mm) {
        /* The rain day's own amount, not the event total: each rain day of a wet spell starts
         * the count again with its amount (docs/cnrating.md). */
        s->rain_on_record = 1;
        s->last_rain_mm = rain_mm;
        s->days_since_rain = 0;
    } else if (s->rain_on_record && s->days_since_rain < FW_CNR_DAYS_MAX) {
        s->days_since_rain++;
    }
    return 0;
}

void fw_cnr_state_apply(const struct fw_cnr_state *s, struct fw_cnr_day *day)
{
    day->rain_on_record = s->rain_on_record;
    day->last_rain_mm = s->last_rain_mm;
    day->days_since_rain = s->days_since_rain;
}

/* ---------------------------------------------------------------------------------------------
 * Level names (QX/T 77-2007)
 * ------------------------------------------------------------------------------------------- */

static const char *const grade[] = {"一级", "二级", "三级", "四级", "五级"};
static const char *const lname[] = {"低火险", "较低火险", "较高火险", "高火险", "极高火险"};
static const char *const colour[] = {"绿", "蓝", "黄", "橙", "红"};
static const char *const colour_en[] = {"green", "blue", "yellow", "orange", "red"};
static const char *const flag[] = {NULL, NULL, "黄旗", "橙旗", "红旗"};

#define LEVEL_PICK(arr, level) ((level) >= 1 && (level) <= FW_CNR_LEVELS ? arr[(level)-1] : NULL)
const char *fw_cnr_level_grade(int level)
{
    return LEVEL_PICK(grade, level);
}
const char *fw_cnr_level_name(int level)
{
    return LEVEL_PICK(lname, level);
}
const char *fw_cnr_level_colour(int level)
{
    return LEVEL_PICK(colour, level);
}
const char *fw_cnr_level_colour_en(int level)
{
    return LEVEL_PICK(colour_en, level);
}
const char *fw_cnr_level_flag(int level)
{
    return LEVEL_PICK(flag, level);
}

/* ---------------------------------------------------------------------------------------------
 * The table file
 * ------------------------------------------------------------------------------------------- */

struct perr {
    const char *file;
    char *buf;
    size_t len, cap;
    int n;
};

static void __attribute__((format(printf, 3, 4)))
perr_add(struct perr *e, const char *path, const char *fmt, ...)
{
    e->n++;
    if (!e->buf || e->len + 1 >= e->cap)
        return;
    int w = snprintf(e->buf + e->len, e->cap - e->len, "%s: %s: ", e->file, path);
    if (w > 0)
        e->len = e->len + (size_t)w < e->cap ? e->len + (size_t)w : e->cap - 1;
    va_list ap;
    va_start(ap, fmt);
    w = vsnprintf(e->buf + e->len, e->cap - e->len, fmt, ap);
    va_end(ap);
    if (w > 0)
        e->len = e->len + (size_t)w < e->cap ? e->len + (size_t)w : e->cap - 1;
    if (e->len + 1 < e->cap) {
        e->buf[e->len++] = '\n';
        e->buf[e->len] = '\0';
    }
}

/* A short rendering of a JSON value for messages. */
static void show(const cJSON *v, char *out, size_t n)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(out, n, "%s", s ? s : "nothing");
    if (strlen(out) == n - 1 && n > 4)
        memcpy(out + n - 4, "...", 4);
    cJSON_free(s);
}

/* Only the members in `known` (NULL-terminated) may appear in object `o`. */
static void only_keys(struct perr *e, const char *path, const cJSON *o, const char *const *known)
{
    for (const cJSON *m = o->child; m; m = m->next) {
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(m->string, *k) == 0;
        if (!ok)
            perr_add(e, path, "unknown key \"%s\"", m->string);
    }
}

static const cJSON *member(struct perr *e, const char *path, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        perr_add(e, path, "missing key \"%s\"", key);
    return v;
}

/* A number array of exactly n elements into d[] (or, when `ints`, integers into i[]) within
 * [lo, hi]; with `order` +1 each element must exceed the one before, -1 be below it. */
static void num_array(struct perr *e, const char *tpath, const cJSON *tab, const char *key, int n,
                      double lo, double hi, int order, double *d, int *iv)
{
    char path[96], got[64];
    snprintf(path, sizeof(path), "%s.%s", tpath, key);
    const cJSON *a = member(e, tpath, tab, key);
    if (!a)
        return;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) {
        show(a, got, sizeof(got));
        perr_add(e, path, "must be an array of %d numbers, got %s", n, got);
        return;
    }
    int k = 0;
    double prev = 0;
    for (const cJSON *x = a->child; x; x = x->next, k++) {
        char ep[112];
        snprintf(ep, sizeof(ep), "%s[%d]", path, k);
        show(x, got, sizeof(got));
        double v = cJSON_IsNumber(x) ? x->valuedouble : NAN;
        if (!(v >= lo && v <= hi) || (iv && v != floor(v))) {
            perr_add(e, ep, "must be %s %g..%g, got %s", iv ? "an integer" : "a number", lo, hi,
                     got);
            continue;
        }
        if (k > 0 && order > 0 && !(v > prev))
            perr_add(e, ep, "must be greater than the edge before it (%g), got %s", prev, got);
        if (k > 0 && order < 0 && !(v < prev))
            perr_add(e, ep, "must be less than the edge before it (%g), got %s", prev, got);
        prev = v;
        if (d)
            d[k] = v;
        if (iv)
            iv[k] = (int)v;
    }
}

static void one_num(struct perr *e, const char *tpath, const cJSON *tab, const char *key, double lo,
                    double hi, double *d, int *iv)
{
    char path[96], got[64];
    snprintf(path, sizeof(path), "%s.%s", tpath, key);
    const cJSON *x = member(e, tpath, tab, key);
    if (!x)
        return;
    double v = cJSON_IsNumber(x) ? x->valuedouble : NAN;
    if (!(v >= lo && v <= hi) || (iv && v != floor(v))) {
        show(x, got, sizeof(got));
        perr_add(e, path, "must be %s %g..%g, got %s", iv ? "an integer" : "a number", lo, hi, got);
        return;
    }
    if (d)
        *d = v;
    if (iv)
        *iv = (int)v;
}

/* "source" (a non-empty string) and "confidence" of a table. */
static void provenance(struct perr *e, const char *tpath, const cJSON *tab,
                       enum fw_cnr_confidence *conf)
{
    char path[96], got[64];
    const cJSON *s = member(e, tpath, tab, "source");
    if (s && (!cJSON_IsString(s) || !s->valuestring[0])) {
        snprintf(path, sizeof(path), "%s.source", tpath);
        show(s, got, sizeof(got));
        perr_add(e, path, "must be a non-empty string naming where the table comes from, got %s",
                 got);
    }
    const cJSON *c = member(e, tpath, tab, "confidence");
    if (!c)
        return;
    for (unsigned i = 0; i < sizeof(conf_names) / sizeof(conf_names[0]); i++) {
        if (cJSON_IsString(c) && strcmp(c->valuestring, conf_names[i]) == 0) {
            *conf = (enum fw_cnr_confidence)i;
            return;
        }
    }
    snprintf(path, sizeof(path), "%s.confidence", tpath);
    show(c, got, sizeof(got));
    perr_add(e, path, "must be one of \"V2\", \"V1\", \"INF\", \"official\", got %s", got);
}

static const cJSON *table(struct perr *e, const cJSON *tabs, int id, const char *const *keys,
                          char *tpath, size_t n, struct fw_cnr_tables *t)
{
    snprintf(tpath, n, "$.tables.%s", table_names[id]);
    const cJSON *tab = member(e, "$.tables", tabs, table_names[id]);
    if (!tab)
        return NULL;
    if (!cJSON_IsObject(tab)) {
        perr_add(e, tpath, "must be an object");
        return NULL;
    }
    only_keys(e, tpath, tab, keys);
    provenance(e, tpath, tab, &t->conf[id]);
    return tab;
}

#define PROV "source", "confidence", "note"

static void parse_tables(struct perr *e, const cJSON *tabs, struct fw_cnr_tables *t)
{
    char p[64];
    static const char *const ka[] = {PROV, "upper_edges_c", "values", NULL};
    static const char *const kb[] = {PROV, "lower_edges_pct", "values", NULL};
    static const char *const kc[] = {PROV,           "rain_day_mm", "no_rain",
                                     "row_below_mm", "row_base",    "row_grace_days",
                                     "per_day",      "ceiling",     NULL};
    static const char *const kd[] = {PROV, "upper_edges_ms", "values", NULL};
    static const char *const ke[] = {PROV, "values", NULL};
    static const char *const kl[] = {PROV, "upper_edges", NULL};
    const cJSON *x;
    if ((x = table(e, tabs, FW_CNR_TABLE_A, ka, p, sizeof(p), t))) {
        num_array(e, p, x, "upper_edges_c", FW_CNR_A_BINS - 1, FW_CNR_TEMP_MIN, FW_CNR_TEMP_MAX, 1,
                  t->a_upper_c, NULL);
        num_array(e, p, x, "values", FW_CNR_A_BINS, 0, 1000, 0, NULL, t->a_value);
    }
    if ((x = table(e, tabs, FW_CNR_TABLE_B, kb, p, sizeof(p), t))) {
        num_array(e, p, x, "lower_edges_pct", FW_CNR_B_BINS - 1, 0, 100, -1, NULL, t->b_lower_pct);
        num_array(e, p, x, "values", FW_CNR_B_BINS, 0, 1000, 0, NULL, t->b_value);
    }
    if ((x = table(e, tabs, FW_CNR_TABLE_C, kc, p, sizeof(p), t))) {
        one_num(e, p, x, "rain_day_mm", 0.01, 100, &t->c_rain_day_mm, NULL);
        one_num(e, p, x, "no_rain", 0, 1000, NULL, &t->c_no_rain);
        num_array(e, p, x, "row_below_mm", FW_CNR_C_ROWS - 1, 0, FW_CNR_RAIN_MAX, 1,
                  t->c_row_below_mm, NULL);
        num_array(e, p, x, "row_base", FW_CNR_C_ROWS, 0, 1000, 0, NULL, t->c_row_base);
        num_array(e, p, x, "row_grace_days", FW_CNR_C_ROWS, 0, 366, 0, NULL, t->c_row_grace_days);
        one_num(e, p, x, "per_day", 0, 1000, NULL, &t->c_per_day);
        one_num(e, p, x, "ceiling", 0, 1000, NULL, &t->c_ceiling);
    }
    if ((x = table(e, tabs, FW_CNR_TABLE_D, kd, p, sizeof(p), t))) {
        num_array(e, p, x, "upper_edges_ms", FW_CNR_D_BINS - 1, 0, FW_CNR_WIND_MAX, 1,
                  t->d_upper_ms, NULL);
        num_array(e, p, x, "values", FW_CNR_D_BINS, 0, 1000, 0, NULL, t->d_value);
    }
    if ((x = table(e, tabs, FW_CNR_TABLE_E, ke, p, sizeof(p), t))) {
        const cJSON *v = member(e, p, x, "values");
        char vp[80];
        snprintf(vp, sizeof(vp), "%s.values", p);
        if (v && !cJSON_IsObject(v)) {
            perr_add(e, vp,
                     "must be an object of the classes NONE, G20/S10, G50/S30, G75/S60, "
                     "G100/S90");
        } else if (v) {
            static const char *const kv[] = {"NONE",    "G20/S10",  "G50/S30",
                                             "G75/S60", "G100/S90", NULL};
            only_keys(e, vp, v, kv);
            for (int i = 0; i < FW_CNR_PHEN_COUNT; i++) {
                char cp[96];
                snprintf(cp, sizeof(cp), "%s[\"%s\"]", vp, phen_names[i]);
                const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, phen_names[i]);
                if (!c) {
                    perr_add(e, vp, "missing key \"%s\"", phen_names[i]);
                    continue;
                }
                double d = cJSON_IsNumber(c) ? c->valuedouble : NAN;
                if (!(d >= 0 && d <= 1000 && d == floor(d))) {
                    char got[64];
                    show(c, got, sizeof(got));
                    perr_add(e, cp, "must be an integer 0..1000, got %s", got);
                    continue;
                }
                t->e_value[i] = (int)d;
            }
        }
    }
    if ((x = table(e, tabs, FW_CNR_TABLE_LEVELS, kl, p, sizeof(p), t)))
        num_array(e, p, x, "upper_edges", FW_CNR_LEVELS - 1, -1000, 1000, 1, NULL, t->level_upper);
}

int fw_cnr_tables_parse(const char *text, const char *file, struct fw_cnr_tables *out, char *err,
                        size_t errlen)
{
    struct perr e = {file, err, 0, errlen, 0};
    struct fw_cnr_tables t = default_tables;
    if (err && errlen)
        err[0] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        char why[160];
        long off = fw_jsontext_syntax(text, strlen(text), why, sizeof(why));
        int line, col;
        size_t at = off >= 0 ? (size_t)off : end ? (size_t)(end - text) : 0;
        fw_jsontext_line_col(text, at, &line, &col);
        e.n++;
        if (err && errlen)
            snprintf(err, errlen, "%s:%d:%d: %s\n", file, line, col,
                     off < 0 ? "not valid JSON" : why);
        return -EINVAL;
    }
    static const char *const top[] = {"scheme", "note", "tables", NULL};
    if (!cJSON_IsObject(root)) {
        perr_add(&e, "$", "must be an object with \"tables\"");
        goto fail;
    }
    only_keys(&e, "$", root, top);
    const cJSON *tabs = member(&e, "$", root, "tables");
    if (tabs && !cJSON_IsObject(tabs)) {
        perr_add(&e, "$.tables", "must be an object of the tables A, B, C, D, E, levels");
    } else if (tabs) {
        only_keys(&e, "$.tables", tabs, table_names);
        parse_tables(&e, tabs, &t);
    }
fail:
    cJSON_Delete(root);
    if (e.n)
        return -EINVAL;
    *out = t;
    return 0;
}
