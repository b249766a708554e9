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
#include "forestwatch/cfg_keys.h"
#include "forestwatch/cfg_text.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
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

int fw_cnr_tables_unverified_list(const struct fw_cnr_tables *t, char *buf, size_t size)
{
    unsigned bits = fw_cnr_tables_unverified(t);
    int n = 0;
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < FW_CNR_TABLE_COUNT; i++)
        if (bits & (1u << i)) {
            int k = snprintf(buf + len, size - len, "%s%s", n++ ? " " : "",
                             fw_cnr_table_name((enum fw_cnr_table_id)i));
            if (k > 0 && (size_t)k < size - len)
                len += (size_t)k;
        }
    return n;
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
static const char *const lname_en[] = {"low", "lower", "higher", "high", "extreme"};
static const char *const flag_en[] = {NULL, NULL, "yellow flag", "orange flag", "red flag"};

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
const char *fw_cnr_level_name_en(int level)
{
    return LEVEL_PICK(lname_en, level);
}
const char *fw_cnr_level_flag_en(int level)
{
    return LEVEL_PICK(flag_en, level);
}

/* ---------------------------------------------------------------------------------------------
 * The table file, through the loaders' shared key tables (cfg_keys.h), so that its messages read
 * like the config's and a bound cannot be checked two ways.
 * ------------------------------------------------------------------------------------------- */

#define CNR_OFF(m) FW_CFG_FIELD(struct fw_cnr_tables, m)

static const char *const conf_names[] = {"V2", "V1", "INF", "official", NULL};

static void check_source(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    (void)base;
    if (!cJSON_IsString(v) || !v->valuestring[0]) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be a non-empty string naming where the table comes from, got %s", got);
    }
}

static void check_note(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    (void)base;
    if (!cJSON_IsString(v)) {
        char got[64];
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be a string, got %s", got);
    }
}

/* An array of exactly n numbers into d[] (or, when iv, integers into iv[]) within [lo, hi];
 * with `order` +1 each element must exceed the one before it, -1 be below it. */
static void num_array(struct fw_cfg_ctx *c, const cJSON *a, int n, double lo, double hi, int order,
                      double *d, int *iv)
{
    char got[64];
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) {
        fw_cfg_describe(a, got, sizeof(got));
        fw_cfg_err(c, "must be an array of %d %s, got %s", n, iv ? "integers" : "numbers", got);
        return;
    }
    int k = 0;
    double prev = 0;
    for (const cJSON *x = a->child; x; x = x->next, k++) {
        size_t mark = fw_cfg_path_index(c, k);
        double v = cJSON_IsNumber(x) ? x->valuedouble : NAN;
        fw_cfg_describe(x, got, sizeof(got));
        if (!(v >= lo && v <= hi) || (iv && v != floor(v))) {
            fw_cfg_err(c, "must be %s %g..%g, got %s", iv ? "an integer" : "a number", lo, hi, got);
        } else {
            if (k > 0 && order > 0 && !(v > prev))
                fw_cfg_err(c, "must be greater than the edge before it (%g), got %s", prev, got);
            if (k > 0 && order < 0 && !(v < prev))
                fw_cfg_err(c, "must be less than the edge before it (%g), got %s", prev, got);
            prev = v;
            if (d)
                d[k] = v;
            else
                iv[k] = (int)v;
        }
        fw_cfg_path_pop(c, mark);
    }
}

/* One parse function per array: the key table's parse hook has no room for the bounds. */
#define EDGES(fn, field, n, lo, hi, order)                                                         \
    static void fn(struct fw_cfg_ctx *c, const cJSON *v, void *base)                               \
    {                                                                                              \
        num_array(c, v, n, lo, hi, order, ((struct fw_cnr_tables *)base)->field, NULL);            \
    }
#define INTS(fn, field, n, lo, hi, order)                                                          \
    static void fn(struct fw_cfg_ctx *c, const cJSON *v, void *base)                               \
    {                                                                                              \
        num_array(c, v, n, lo, hi, order, NULL, ((struct fw_cnr_tables *)base)->field);            \
    }
EDGES(a_edges, a_upper_c, FW_CNR_A_BINS - 1, FW_CNR_TEMP_MIN, FW_CNR_TEMP_MAX, 1)
INTS(a_values, a_value, FW_CNR_A_BINS, 0, 1000, 0)
INTS(b_edges, b_lower_pct, FW_CNR_B_BINS - 1, 0, 100, -1)
INTS(b_values, b_value, FW_CNR_B_BINS, 0, 1000, 0)
EDGES(c_rows, c_row_below_mm, FW_CNR_C_ROWS - 1, 0, FW_CNR_RAIN_MAX, 1)
INTS(c_base, c_row_base, FW_CNR_C_ROWS, 0, 1000, 0)
INTS(c_grace, c_row_grace_days, FW_CNR_C_ROWS, 0, 366, 0)
EDGES(d_edges, d_upper_ms, FW_CNR_D_BINS - 1, 0, FW_CNR_WIND_MAX, 1)
INTS(d_values, d_value, FW_CNR_D_BINS, 0, 1000, 0)
INTS(level_edges, level_upper, FW_CNR_LEVELS - 1, -1000, 1000, 1)

#define CUSTOM(name_, req, fn)                                                                     \
    {                                                                                              \
        .name = name_, .type = FW_CFG_CUSTOM, .required = req, .parse = fn                         \
    }
#define INT(name_, field, hi_)                                                                     \
    {                                                                                              \
        .name = name_, .type = FW_CFG_INT, .required = 1, .off = CNR_OFF(field), .hi = hi_         \
    }
#define PROVENANCE(id)                                                                             \
    CUSTOM("source", 1, check_source),                                                             \
        {.name = "confidence",                                                                     \
         .type = FW_CFG_ENUM,                                                                      \
         .required = 1,                                                                            \
         .off = CNR_OFF(conf[id]),                                                                 \
         .names = conf_names},                                                                     \
        CUSTOM("note", 0, check_note)

static const struct fw_cfg_key keys_a[] = {PROVENANCE(FW_CNR_TABLE_A),
                                           CUSTOM("upper_edges_c", 1, a_edges),
                                           CUSTOM("values", 1, a_values),
                                           {NULL}};
static const struct fw_cfg_key keys_b[] = {PROVENANCE(FW_CNR_TABLE_B),
                                           CUSTOM("lower_edges_pct", 1, b_edges),
                                           CUSTOM("values", 1, b_values),
                                           {NULL}};
static const struct fw_cfg_key keys_c[] = {PROVENANCE(FW_CNR_TABLE_C),
                                           {.name = "rain_day_mm",
                                            .type = FW_CFG_NUM,
                                            .required = 1,
                                            .off = CNR_OFF(c_rain_day_mm),
                                            .lo = 0.01,
                                            .hi = 100},
                                           INT("no_rain", c_no_rain, 1000),
                                           CUSTOM("row_below_mm", 1, c_rows),
                                           CUSTOM("row_base", 1, c_base),
                                           CUSTOM("row_grace_days", 1, c_grace),
                                           INT("per_day", c_per_day, 1000),
                                           INT("ceiling", c_ceiling, 1000),
                                           {NULL}};
static const struct fw_cfg_key keys_d[] = {PROVENANCE(FW_CNR_TABLE_D),
                                           CUSTOM("upper_edges_ms", 1, d_edges),
                                           CUSTOM("values", 1, d_values),
                                           {NULL}};
static const struct fw_cfg_key keys_e_values[] = {
    INT("NONE", e_value[FW_CNR_PHEN_NONE], 1000),
    INT("G20/S10", e_value[FW_CNR_PHEN_G20_S10], 1000),
    INT("G50/S30", e_value[FW_CNR_PHEN_G50_S30], 1000),
    INT("G75/S60", e_value[FW_CNR_PHEN_G75_S60], 1000),
    INT("G100/S90", e_value[FW_CNR_PHEN_G100_S90], 1000),
    {NULL}};

static void e_values(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_apply_keys(c, v, keys_e_values, base);
}

static const struct fw_cfg_key keys_e[] = {
    PROVENANCE(FW_CNR_TABLE_E), CUSTOM("values", 1, e_values), {NULL}};
static const struct fw_cfg_key keys_levels[] = {
    PROVENANCE(FW_CNR_TABLE_LEVELS), CUSTOM("upper_edges", 1, level_edges), {NULL}};

#define TABLE(fn, keys)                                                                            \
    static void fn(struct fw_cfg_ctx *c, const cJSON *v, void *base)                               \
    {                                                                                              \
        fw_cfg_apply_keys(c, v, keys, base);                                                       \
    }
TABLE(table_a, keys_a)
TABLE(table_b, keys_b)
TABLE(table_c, keys_c)
TABLE(table_d, keys_d)
TABLE(table_e, keys_e)
TABLE(table_levels, keys_levels)

/* In the order of enum fw_cnr_table_id. */
static const struct fw_cfg_key keys_tables[] = {CUSTOM("A", 1, table_a),
                                                CUSTOM("B", 1, table_b),
                                                CUSTOM("C", 1, table_c),
                                                CUSTOM("D", 1, table_d),
                                                CUSTOM("E", 1, table_e),
                                                CUSTOM("levels", 1, table_levels),
                                                {NULL}};

static void tables(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    fw_cfg_apply_keys(c, v, keys_tables, base);
}

static const struct fw_cfg_key keys_top[] = {CUSTOM("scheme", 0, check_note),
                                             CUSTOM("note", 0, check_note),
                                             CUSTOM("tables", 1, tables),
                                             {NULL}};

int fw_cnr_tables_parse(const char *text, size_t len, const char *file, struct fw_cnr_tables *out,
                        struct fw_cfg_errors *errs)
{
    struct fw_cnr_tables t = default_tables;
    size_t before = errs->n + errs->dropped;
    cJSON *root = fw_cfg_parse(text, len, file, errs);
    if (!root)
        return -EINVAL;
    struct fw_cfg_ctx c = FW_CFG_CTX(file, errs);
    c.flags = FW_CFG_EXACT_ENUMS;
    fw_cfg_apply_keys(&c, root, keys_top, &t);
    cJSON_Delete(root);
    if (errs->n + errs->dropped != before)
        return -EINVAL;
    *out = t;
    return 0;
}
