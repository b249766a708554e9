/* SPDX-License-Identifier: MIT */
/*
 * Device profiles: the loader (parse, key tables, cross-field checks, the read plan) and the pure
 * decoding of registers into values. The loader follows the config's four stages with key tables
 * of the config's machinery (cfg_keys.c), so that a profile error reads like a config error:
 *
 *   profiles/renke-th.json: $.registers[1].count: int32 spans 2 registers, got 1
 *
 * and every error is collected before returning. Decoding never goes through libmodbus's float
 * helpers, whose word order changed between releases: 32-bit values are rebuilt from the raw
 * registers here, in the order the profile names.
 */
#include "forestwatch/profile.h"

#include "forestwatch/cfg_text.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Names                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static const char *const area_names[] = {"coil", "discrete_input", "input", "holding", NULL};
static const char *const type_names[] = {"bool",   "int16",   "uint16", "int32",
                                         "uint32", "float32", NULL};
/* 32-bit spellings first; "AB" and "BA" are the 16-bit spellings of ABCD and BADC. */
static const char *const order_names[] = {"ABCD", "BADC", "CDAB", "DCBA", "AB", "BA", NULL};

const char *fw_profile_area_str(enum fw_profile_area a)
{
    return (unsigned)a < 4 ? area_names[a] : "?";
}

const char *fw_profile_type_str(enum fw_profile_type t)
{
    return (unsigned)t < 6 ? type_names[t] : "?";
}

const char *fw_profile_order_str(enum fw_profile_order o, int count)
{
    if (count == 1)
        return o == FW_ORDER_ABCD ? "AB" : o == FW_ORDER_BADC ? "BA" : "?";
    return (unsigned)o < 4 ? order_names[o] : "?";
}

int fw_profile_type_count(enum fw_profile_type t)
{
    return t == FW_TYPE_INT32 || t == FW_TYPE_UINT32 || t == FW_TYPE_FLOAT32 ? 2 : 1;
}

static int is_bit_area(enum fw_profile_area a)
{
    return a == FW_AREA_COIL || a == FW_AREA_DISCRETE_INPUT;
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static uint16_t swap16(uint16_t v)
{
    return (uint16_t)((v << 8) | (v >> 8));
}

uint32_t fw_profile_word32(const uint16_t *regs, enum fw_profile_order order)
{
    uint16_t r0 = regs[0], r1 = regs[1];
    switch (order) {
    case FW_ORDER_ABCD:
        break;
    case FW_ORDER_BADC: /* wire: BA DC */
        r0 = swap16(r0);
        r1 = swap16(r1);
        break;
    case FW_ORDER_CDAB: /* wire: CD AB */
        r0 = regs[1];
        r1 = regs[0];
        break;
    case FW_ORDER_DCBA: /* wire: DC BA */
        r0 = swap16(regs[1]);
        r1 = swap16(regs[0]);
        break;
    }
    return (uint32_t)r0 << 16 | r1;
}

/* The 16- or 32-bit word of a point in ABCD (AB) order. */
static uint32_t point_word(const struct fw_profile_point *p, const uint16_t *regs)
{
    if (p->count == 2)
        return fw_profile_word32(regs, p->order);
    return p->order == FW_ORDER_BADC ? swap16(regs[0]) : regs[0];
}

double fw_profile_raw(const struct fw_profile_point *p, const uint16_t *regs)
{
    uint32_t w = point_word(p, regs);
    switch (p->type) {
    case FW_TYPE_BOOL:
        return regs[0] ? 1 : 0;
    case FW_TYPE_INT16:
        return (int16_t)(uint16_t)w;
    case FW_TYPE_UINT16:
        return (uint16_t)w;
    case FW_TYPE_INT32:
        return (int32_t)w;
    case FW_TYPE_UINT32:
        return w;
    case FW_TYPE_FLOAT32: {
        float f;
        memcpy(&f, &w, sizeof(f)); /* the bits, not a conversion */
        return f;
    }
    }
    return NAN;
}

double fw_profile_value(const struct fw_profile_point *p, const uint16_t *regs)
{
    double raw = fw_profile_raw(p, regs);
    /* A float32 carries about 7 significant digits; the rest of its value widened to double
     * (174.57492065429688) is an artefact that an alert would show as precision the sensor
     * does not have. */
    if (p->type == FW_TYPE_FLOAT32 && isfinite(raw)) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%.7g", raw);
        raw = strtod(buf, NULL);
    }
    return raw * p->scale + p->offset;
}

int fw_profile_plausible(const struct fw_profile_point *p, double v)
{
    return isfinite(v) && v >= p->min && v <= p->max;
}

void fw_profile_encode(const struct fw_profile_point *p, double v, uint16_t *regs)
{
    double raw = (v - p->offset) / p->scale;
    uint32_t w = 0;
    double lo = 0, hi = 0;
    switch (p->type) {
    case FW_TYPE_BOOL:
        regs[0] = raw >= 0.5;
        return;
    case FW_TYPE_INT16:
        lo = INT16_MIN, hi = INT16_MAX;
        break;
    case FW_TYPE_UINT16:
        hi = UINT16_MAX;
        break;
    case FW_TYPE_INT32:
        lo = INT32_MIN, hi = INT32_MAX;
        break;
    case FW_TYPE_UINT32:
        hi = UINT32_MAX;
        break;
    case FW_TYPE_FLOAT32: {
        float f = (float)raw;
        memcpy(&w, &f, sizeof(w));
        goto store;
    }
    }
    raw = round(raw);
    if (!(raw >= lo)) /* NaN too */
        raw = lo;
    if (raw > hi)
        raw = hi;
    if (p->type == FW_TYPE_INT16 || p->type == FW_TYPE_INT32)
        w = (uint32_t)(int32_t)raw;
    else
        w = (uint32_t)raw;
    if (p->count == 1) {
        regs[0] = p->order == FW_ORDER_BADC ? swap16((uint16_t)w) : (uint16_t)w;
        return;
    }
store : {
    uint16_t hi16 = (uint16_t)(w >> 16), lo16 = (uint16_t)w;
    switch (p->order) {
    case FW_ORDER_ABCD:
        regs[0] = hi16, regs[1] = lo16;
        break;
    case FW_ORDER_BADC:
        regs[0] = swap16(hi16), regs[1] = swap16(lo16);
        break;
    case FW_ORDER_CDAB:
        regs[0] = lo16, regs[1] = hi16;
        break;
    case FW_ORDER_DCBA:
        regs[0] = swap16(lo16), regs[1] = swap16(hi16);
        break;
    }
}
}

enum fw_accum_result fw_profile_accum(const struct fw_profile_point *p, struct fw_accum *st,
                                      uint32_t raw, double *delta)
{
    /* The counter's modulus: 2^16 or 2^32. Kept in 64 bits so 2^32 fits. */
    uint64_t mod = p->count == 2 ? (uint64_t)1 << 32 : (uint64_t)1 << 16;
    enum fw_accum_result res;
    uint64_t d;
    if (p->count == 1)
        raw &= 0xFFFF;
    if (!st->has_prev) {
        st->has_prev = true;
        st->prev = raw;
        return FW_ACCUM_FIRST;
    }
    if (raw >= st->prev) {
        d = raw - st->prev;
        res = FW_ACCUM_DELTA;
    } else if (st->prev >= mod / 4 * 3 && raw < mod / 4) {
        /* Near the top before, near zero now: it counted past the maximum. A reset at the top
         * of the range is possible too, but a counter left that long without a reset is far
         * more likely to have wrapped. */
        d = mod - st->prev + raw;
        res = FW_ACCUM_WRAP;
    } else {
        /* Anything else that went down was cleared (the CWT-UWD's rain register is reset by a
         * write, others by a power cycle): what it shows now was counted since then. */
        d = raw;
        res = FW_ACCUM_RESET;
    }
    st->prev = raw;
    *delta = (double)d * p->scale;
    return res;
}

/* ------------------------------------------------------------------------------------------ */
/* The read plan                                                                               */
/* ------------------------------------------------------------------------------------------ */

static int cmp_point_ptr(const void *a, const void *b)
{
    const struct fw_profile_point *x = *(const struct fw_profile_point *const *)a;
    const struct fw_profile_point *y = *(const struct fw_profile_point *const *)b;
    if (x->area != y->area)
        return (int)x->area - (int)y->area;
    return (int)x->address - (int)y->address;
}

int fw_profile_plan(struct fw_profile_point *points, size_t n, int max_gap, int max_regs,
                    struct fw_profile_request *reqs, size_t cap)
{
    if (n == 0)
        return 0;
    /* Sort pointers, not the points: the caller's order is the order readings come out in. */
    struct fw_profile_point **order = fw_xcalloc(n, sizeof(*order));
    for (size_t i = 0; i < n; i++)
        order[i] = &points[i];
    qsort(order, n, sizeof(*order), cmp_point_ptr);
    /* Greedy is optimal here: with the points sorted, extending the current request as far as
     * the gap and size limits allow never forces an extra request later. */
    size_t nreq = 0;
    long start = -1, end = -1; /* current request: [start, end) */
    enum fw_profile_area area = FW_AREA_COIL;
    for (size_t i = 0; i < n; i++) {
        struct fw_profile_point *p = order[i];
        long pend = (long)p->address + p->count;
        long limit = is_bit_area(p->area) ? FW_PROFILE_MAX_READ_BITS : max_regs;
        if (start >= 0 && p->area == area && (long)p->address - end <= max_gap &&
            (pend > end ? pend : end) - start <= limit) {
            if (pend > end)
                end = pend;
            reqs[nreq - 1].count = (uint16_t)(end - start);
        } else {
            if (nreq >= cap) {
                free(order);
                return -E2BIG;
            }
            start = p->address;
            end = pend;
            area = p->area;
            reqs[nreq].area = area;
            reqs[nreq].address = p->address;
            reqs[nreq].count = p->count;
            nreq++;
        }
        p->request = (uint16_t)(nreq - 1);
        p->index = (uint16_t)(p->address - start);
    }
    free(order);
    return (int)nreq;
}

/* ------------------------------------------------------------------------------------------ */
/* Loader: sections                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* A register entry as written; -1 (or NAN) marks what was not given. */
struct point_sec {
    char *metric, *unit, *description;
    int area, address, count, type, order;
    double scale, offset;
    bool has_range;
    double range[2];
    bool accumulator;
};

static void parse_range(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    struct point_sec *s = base;
    char got[64];
    fw_cfg_describe(v, got, sizeof(got));
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(v->child) ||
        !cJSON_IsNumber(v->child->next) || !isfinite(v->child->valuedouble) ||
        !isfinite(v->child->next->valuedouble)) {
        fw_cfg_err(c, "must be [min, max], two numbers, got %s", got);
        return;
    }
    s->range[0] = v->child->valuedouble;
    s->range[1] = v->child->next->valuedouble;
    if (!(s->range[0] < s->range[1])) {
        fw_cfg_err(c, "min must be below max, got [%g, %g]", s->range[0], s->range[1]);
        return;
    }
    s->has_range = true;
}

static const struct fw_cfg_key point_keys[] = {
    {"metric", FW_CFG_STR, 1, FW_CFG_FIELD(struct point_sec, metric), 0, FW_READING_MAX_ID - 1},
    {"unit", FW_CFG_STR, 1, FW_CFG_FIELD(struct point_sec, unit), 0, 32},
    {"area", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct point_sec, area), 0, 0, area_names},
    {"address", FW_CFG_INT, 1, FW_CFG_FIELD(struct point_sec, address), 0, 65535},
    {"count", FW_CFG_INT, 0, FW_CFG_FIELD(struct point_sec, count), 1, FW_PROFILE_MAX_READ_REGS},
    {"type", FW_CFG_ENUM, 1, FW_CFG_FIELD(struct point_sec, type), 0, 0, type_names},
    {"order", FW_CFG_ENUM, 0, FW_CFG_FIELD(struct point_sec, order), 0, 0, order_names},
    {"scale", FW_CFG_NUM, 0, FW_CFG_FIELD(struct point_sec, scale), -1e9, 1e9},
    {"offset", FW_CFG_NUM, 0, FW_CFG_FIELD(struct point_sec, offset), -1e9, 1e9},
    {"range", FW_CFG_CUSTOM, 0, 0, 0, 0, NULL, parse_range},
    {"accumulator", FW_CFG_BOOL, 0, FW_CFG_FIELD(struct point_sec, accumulator)},
    {"description", FW_CFG_STR, 0, FW_CFG_FIELD(struct point_sec, description), 0, 1000},
    {NULL},
};

struct profile_sec {
    char *model, *description;
    int max_gap, max_registers;
    const cJSON *registers;
};

static void keep_registers(struct fw_cfg_ctx *c, const cJSON *v, void *base)
{
    char got[64];
    fw_cfg_describe(v, got, sizeof(got));
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 ||
        cJSON_GetArraySize(v) > FW_PROFILE_MAX_POINTS) {
        fw_cfg_err(c, "must be an array of 1..%d register entries, got %s", FW_PROFILE_MAX_POINTS,
                   got);
        return;
    }
    ((struct profile_sec *)base)->registers = v;
}

static const struct fw_cfg_key profile_keys[] = {
    {"model", FW_CFG_STR, 0, FW_CFG_FIELD(struct profile_sec, model), 0, 200},
    {"description", FW_CFG_STR, 0, FW_CFG_FIELD(struct profile_sec, description), 0, 4000},
    {"max_gap", FW_CFG_INT, 0, FW_CFG_FIELD(struct profile_sec, max_gap), 0,
     FW_PROFILE_MAX_READ_REGS - 1},
    {"max_registers", FW_CFG_INT, 0, FW_CFG_FIELD(struct profile_sec, max_registers), 1,
     FW_PROFILE_MAX_READ_REGS},
    {"registers", FW_CFG_CUSTOM, 1, 0, 0, 0, NULL, keep_registers},
    {NULL},
};

/*
 * Stage 2 and the per-entry part of stage 3 for one register entry. Returns 1 and fills *p when
 * the entry is valid on its own.
 */
static int parse_point(struct fw_cfg_ctx *c, const cJSON *v, struct fw_profile_point *p)
{
    struct point_sec s = {
        .area = FW_AREA_HOLDING, .count = -1, .type = -1, .order = -1, .scale = 1, .address = -1};
    size_t before = c->errs->n + c->errs->dropped;
    fw_cfg_apply_keys(c, v, point_keys, &s);
    int ok = c->errs->n + c->errs->dropped == before && s.type >= 0 && s.address >= 0;
    const struct fw_metric *m = NULL;
    size_t mark;
    if (!ok)
        goto fail;
    if (!(m = fw_metric_find(s.metric))) {
        mark = fw_cfg_path_key(c, "metric");
        fw_cfg_err(c, "unknown metric \"%s\" (see `forestwatch metrics`)", s.metric);
        fw_cfg_path_pop(c, mark);
        ok = 0;
    } else if (m->scope != FW_METRIC_STATION) {
        mark = fw_cfg_path_key(c, "metric");
        fw_cfg_err(c, "\"%s\" is derived per zone by the gateway; a device cannot report it",
                   s.metric);
        fw_cfg_path_pop(c, mark);
        ok = 0;
    } else if (!fw_metric_unit_ok(m, s.unit)) {
        mark = fw_cfg_path_key(c, "unit");
        fw_cfg_err(c, "%s is measured in \"%s\", got \"%s\"", m->name, m->unit, s.unit);
        fw_cfg_path_pop(c, mark);
        ok = 0;
    }
    int bits = is_bit_area((enum fw_profile_area)s.area);
    if (bits != (s.type == FW_TYPE_BOOL)) {
        mark = fw_cfg_path_key(c, "type");
        if (bits)
            fw_cfg_err(c, "%s is read bit by bit: the type must be \"bool\", got \"%s\"",
                       area_names[s.area], type_names[s.type]);
        else
            fw_cfg_err(c, "\"bool\" is for coils and discrete inputs, not %s registers",
                       area_names[s.area]);
        fw_cfg_path_pop(c, mark);
        ok = 0;
    }
    int width = fw_profile_type_count((enum fw_profile_type)s.type);
    if (s.count >= 0 && s.count != width) {
        mark = fw_cfg_path_key(c, "count");
        fw_cfg_err(c, "%s spans %d %s, got %d", type_names[s.type], width,
                   bits         ? "bit"
                   : width == 1 ? "register"
                                : "registers",
                   s.count);
        fw_cfg_path_pop(c, mark);
        ok = 0;
    }
    if (s.address + width - 1 > 65535) {
        mark = fw_cfg_path_key(c, "address");
        fw_cfg_err(c, "%d + %d registers runs past the last address 65535", s.address, width);
        fw_cfg_path_pop(c, mark);
        ok = 0;
    }
    if (s.order >= 0) {
        /* "AB"/"BA" are the 16-bit names of ABCD/BADC; the 4-letter names need 32 bits. */
        int o16 = s.order >= 4;
        if (width == 2 && o16) {
            mark = fw_cfg_path_key(c, "order");
            fw_cfg_err(
                c, "%s needs a 32-bit order: \"ABCD\", \"BADC\", \"CDAB\" or \"DCBA\", got \"%s\"",
                type_names[s.type], order_names[s.order]);
            fw_cfg_path_pop(c, mark);
            ok = 0;
        } else if (width == 1 && !o16) {
            mark = fw_cfg_path_key(c, "order");
            fw_cfg_err(c, "%s is one register: the order must be \"AB\" or \"BA\", got \"%s\"",
                       type_names[s.type], order_names[s.order]);
            fw_cfg_path_pop(c, mark);
            ok = 0;
        }
    }
    if (s.scale == 0) {
        mark = fw_cfg_path_key(c, "scale");
        fw_cfg_err(c, "must not be 0");
        fw_cfg_path_pop(c, mark);
        ok = 0;
    }
    if (s.accumulator && s.type != FW_TYPE_UINT16 && s.type != FW_TYPE_UINT32) {
        mark = fw_cfg_path_key(c, "accumulator");
        fw_cfg_err(
            c,
            "an accumulator is an unsigned counter: the type must be \"uint16\" or \"uint32\", "
            "got \"%s\"",
            type_names[s.type]);
        fw_cfg_path_pop(c, mark);
        ok = 0;
    }
    if (m && s.has_range && (s.range[0] < m->min || s.range[1] > m->max)) {
        mark = fw_cfg_path_key(c, "range");
        fw_cfg_err(c, "[%g, %g] is not inside what %s can physically be, [%g, %g]", s.range[0],
                   s.range[1], m->name, m->min, m->max);
        fw_cfg_path_pop(c, mark);
        ok = 0;
    }
    if (!ok)
        goto fail;
    p->area = (enum fw_profile_area)s.area;
    p->address = (uint16_t)s.address;
    p->count = (uint16_t)width;
    p->type = (enum fw_profile_type)s.type;
    p->order = s.order < 0 ? FW_ORDER_ABCD : (enum fw_profile_order)(s.order % 4);
    p->scale = s.scale;
    p->offset = s.offset;
    p->min = s.has_range ? s.range[0] : m->min;
    p->max = s.has_range ? s.range[1] : m->max;
    p->metric = m;
    p->accumulator = s.accumulator;
    p->description = s.description;
    s.description = NULL;
fail:
    free(s.metric);
    free(s.unit);
    free(s.description);
    return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* Loader: the file                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* Read and parse one profile; NULL after reporting the reason as an error of `c`. The text goes
 * to *text (free()), for the lines of the errors found in the tree. */
static char *name_of_file(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0)
        n -= 5;
    char *name = fw_xmalloc(n + 1);
    memcpy(name, base, n);
    name[n] = '\0';
    return name;
}

/* "holding register 11" or "holding registers 10..11", for overlap messages. */
static void span_str(const struct fw_profile_point *p, char *buf, size_t size)
{
    const char *what = is_bit_area(p->area) ? "" : p->count > 1 ? " registers" : " register";
    if (p->count > 1)
        snprintf(buf, size, "%s%s %d..%d", area_names[p->area], what, p->address,
                 p->address + p->count - 1);
    else
        snprintf(buf, size, "%s%s %d", area_names[p->area], what, p->address);
}

void fw_profile_free(struct fw_profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->npoints; i++)
        free(p->points[i].description);
    free(p->points);
    free(p->requests);
    free(p->name);
    free(p->model);
    free(p->description);
    free(p);
}

int fw_profile_parse(const char *text, size_t len, const char *path, const char *shown,
                     struct fw_profile **out, struct fw_cfg_errors *errs)
{
    /* The key tables of cfg_keys.c, with the profile's own rules: enum names as written, and
     * plain .key paths. */
    struct fw_cfg_ctx c = FW_CFG_CTX(shown ? shown : path, errs);
    c.flags = FW_CFG_EXACT_ENUMS | FW_CFG_PLAIN_PATHS;
    struct profile_sec s = {.max_gap = 0, .max_registers = FW_PROFILE_MAX_READ_REGS};
    struct fw_profile *p = NULL;
    size_t before = errs->n + errs->dropped, first_err = errs->n;
    int rc = 0;
    *out = NULL;
    cJSON *root = fw_cfg_parse(text, len, c.file, errs);
    if (!root)
        return -EINVAL;
    fw_cfg_apply_keys(&c, root, profile_keys, &s);
    p = fw_xcalloc(1, sizeof(*p));
    p->name = name_of_file(path);
    p->model = s.model;
    p->description = s.description;
    p->max_gap = s.max_gap;
    p->max_registers = s.max_registers;
    if (s.registers) {
        int n = cJSON_GetArraySize(s.registers);
        p->points = fw_xcalloc((size_t)n, sizeof(*p->points));
        /* Index in the JSON array of each kept point, for cross-field messages. */
        int *at = fw_xcalloc((size_t)n, sizeof(*at));
        int i = 0;
        for (const cJSON *e = s.registers->child; e; e = e->next, i++) {
            size_t mark = fw_cfg_path_key(&c, "registers");
            fw_cfg_path_index(&c, i);
            if (parse_point(&c, e, &p->points[p->npoints]))
                at[p->npoints++] = i;
            fw_cfg_path_pop(&c, mark);
        }
        /* Stage 3: entries against each other. */
        for (size_t a = 0; a < p->npoints; a++) {
            const struct fw_profile_point *x = &p->points[a];
            for (size_t b = 0; b < a; b++) {
                const struct fw_profile_point *y = &p->points[b];
                size_t mark = fw_cfg_path_key(&c, "registers");
                fw_cfg_path_index(&c, at[a]);
                if (x->area == y->area && x->address < y->address + y->count &&
                    y->address < x->address + x->count) {
                    char xs[32], ys[32];
                    span_str(x, xs, sizeof(xs));
                    span_str(y, ys, sizeof(ys));
                    size_t m2 = fw_cfg_path_key(&c, "address");
                    fw_cfg_err(&c, "%s and $.registers[%d] (%s) overlap", xs, at[b], ys);
                    fw_cfg_path_pop(&c, m2);
                } else if (x->metric == y->metric) {
                    size_t m2 = fw_cfg_path_key(&c, "metric");
                    fw_cfg_err(&c, "\"%s\" is already read by $.registers[%d]", x->metric->name,
                               at[b]);
                    fw_cfg_path_pop(&c, m2);
                }
                fw_cfg_path_pop(&c, mark);
            }
        }
        free(at);
    }
    fw_cfg_errors_locate(errs, first_err, c.file, text);
    if (errs->n + errs->dropped != before) {
        rc = -EINVAL;
        goto fail;
    }
    p->requests = fw_xcalloc(p->npoints, sizeof(*p->requests));
    int nreq = fw_profile_plan(p->points, p->npoints, p->max_gap, p->max_registers, p->requests,
                               p->npoints);
    FW_ASSERT(nreq > 0); /* at most one request per point, and there is at least one point */
    p->nrequests = (size_t)nreq;
    cJSON_Delete(root);
    *out = p;
    return 0;
fail:
    cJSON_Delete(root);
    fw_profile_free(p);
    return rc;
}
