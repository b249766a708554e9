/* SPDX-License-Identifier: MIT */
/*
 * The field-node payload codecs: the forestwatch binary frame (docs/codec.md) and Cayenne LPP.
 * Both are driven by small tables of {size, signedness, scale}, so that the encoder, the decoder
 * and the docs cannot disagree about a field. Every read is preceded by a length check against
 * what is left of the frame, and a short frame is reported at the byte where it ran out. Nothing
 * here allocates or logs, and only the C library is used, so node firmware can build this file
 * alone.
 */
#include "forestwatch/codec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A fixed-point integer field: `size` bytes big-endian, value = raw / scale. */
struct fw_codec_fixed {
    uint8_t size;
    uint8_t is_signed;
    double scale;
};

static int64_t get_be(const uint8_t *p, const struct fw_codec_fixed *f)
{
    uint32_t u = 0;
    for (unsigned i = 0; i < f->size; i++)
        u = u << 8 | p[i];
    if (f->is_signed && (u & (UINT32_C(1) << (8 * f->size - 1))))
        return (int64_t)u - ((int64_t)1 << (8 * f->size));
    return u;
}

static void put_be(uint8_t *p, unsigned size, int64_t raw)
{
    uint32_t u = (uint32_t)raw; /* two's complement; only the low `size` bytes are written */
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(u >> (8 * (size - 1 - i)));
}

/* Scale and round `v` to the field's raw integer. -ERANGE when it does not fit: checked in
 * double before the conversion, since converting an out-of-range double is undefined. */
static int to_raw(double v, const struct fw_codec_fixed *f, int64_t *raw)
{
    double lo = f->is_signed ? -ldexp(1.0, 8 * f->size - 1) : 0.0;
    double hi = f->is_signed ? ldexp(1.0, 8 * f->size - 1) - 1 : ldexp(1.0, 8 * f->size) - 1;
    if (!isfinite(v))
        return -ERANGE;
    double r = round(v * f->scale);
    if (r < lo || r > hi)
        return -ERANGE;
    *raw = (int64_t)r;
    return 0;
}

static int fail_with(struct fw_codec_result *res, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_with(struct fw_codec_result *res, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
    res->n = 0;
    return rc;
}

static void reset(struct fw_codec_result *res)
{
    res->n = 0;
    res->skipped = 0;
    res->error[0] = '\0';
    for (int i = 0; i < FW_CODEC_SKIP__COUNT; i++) {
        res->skipped_by[i] = 0;
        res->note[i][0] = '\0';
    }
}

static const char *const skip_names[FW_CODEC_SKIP__COUNT] = {
    [FW_CODEC_SKIP_NO_METRIC] = "no_metric",       [FW_CODEC_SKIP_UNMAPPED] = "unmapped_channel",
    [FW_CODEC_SKIP_UNKNOWN_NAME] = "unknown_name", [FW_CODEC_SKIP_BAD_VALUE] = "bad_value",
    [FW_CODEC_SKIP_TOO_MANY] = "too_many",
};

const char *fw_codec_skip_str(enum fw_codec_skip why)
{
    return (unsigned)why < FW_CODEC_SKIP__COUNT ? skip_names[why] : "?";
}

void fw_codec_skip(struct fw_codec_result *res, enum fw_codec_skip why, const char *fmt, ...)
{
    if ((unsigned)why >= FW_CODEC_SKIP__COUNT)
        why = FW_CODEC_SKIP_NO_METRIC;
    res->skipped++;
    if (res->skipped_by[why]++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(res->note[why], sizeof(res->note[why]), fmt, ap);
        va_end(ap);
    }
}

static void push(struct fw_codec_result *res, const char *metric, double value, uint32_t offset)
{
    /* The frame cap bounds the number of values below the array size; see codec.h. */
    if (res->n >= FW_CODEC_MAX_VALUES)
        return;
    res->values[res->n].metric = metric;
    res->values[res->n].value = value;
    res->values[res->n].offset_s = offset;
    res->n++;
}

/* ------------------------------------------------------------------------------------------ */
/* The forestwatch frame                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* Wire order is flag order. The metric names are those of gateway/reading.c; a unit test checks
 * that the gateway knows every one. */
static const struct {
    unsigned flag;
    const char *metric;
    const char *what; /* for error messages */
    struct fw_codec_fixed fx;
} fields[] = {
    {FW_CODEC_F_TEMP, "air_temp_c", "temperature", {2, 1, 100}},
    {FW_CODEC_F_RH, "rel_humidity_pct", "humidity", {1, 0, 2}},
    {FW_CODEC_F_SMOKE, "smoke_ppm", "smoke", {2, 0, 1}},
    {FW_CODEC_F_CO, "co_ppm", "co", {2, 0, 10}},
    {FW_CODEC_F_BATTERY, "battery_v", "battery", {2, 0, 1000}},
    {FW_CODEC_F_TRAP, "trap_count", "trap count", {2, 0, 1}},
};

static const struct fw_codec_fixed offset_fx = {2, 0, 1};

static double sample_field(const struct fw_codec_sample *s, unsigned flag)
{
    switch (flag) {
    case FW_CODEC_F_TEMP:
        return s->temp_c;
    case FW_CODEC_F_RH:
        return s->rh_pct;
    case FW_CODEC_F_SMOKE:
        return s->smoke_ppm;
    case FW_CODEC_F_CO:
        return s->co_ppm;
    case FW_CODEC_F_BATTERY:
        return s->battery_v;
    default:
        return s->trap_count;
    }
}

int fw_codec_encode(unsigned flags, const struct fw_codec_sample *samples, int n, uint8_t *buf,
                    size_t cap, size_t *len)
{
    int rc;
    size_t pos = 0, per_sample = 0;
    int batch;

    if ((flags & ~(unsigned)FW_CODEC_F_FIELDS) || !(flags & FW_CODEC_F_FIELDS) || n < 1 ||
        n > FW_CODEC_MAX_SAMPLES)
        return -EINVAL;
    batch = n > 1 || samples[0].offset_s != 0;
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
        if (flags & fields[f].flag)
            per_sample += fields[f].fx.size;
    /* Sized up front, so that a short buffer leaves nothing half written that looks valid. */
    if (cap < 2 + (batch ? 1 + (size_t)n * (offset_fx.size + per_sample) : per_sample))
        return -ENOBUFS;

    buf[pos++] = FW_CODEC_VERSION;
    buf[pos++] = (uint8_t)(flags | (batch ? FW_CODEC_F_BATCH : 0));
    if (batch)
        buf[pos++] = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        int64_t raw;
        if (batch) {
            if ((rc = to_raw(samples[i].offset_s, &offset_fx, &raw)))
                goto fail;
            put_be(buf + pos, offset_fx.size, raw);
            pos += offset_fx.size;
        }
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            if (!(flags & fields[f].flag))
                continue;
            if ((rc = to_raw(sample_field(&samples[i], fields[f].flag), &fields[f].fx, &raw)))
                goto fail;
            put_be(buf + pos, fields[f].fx.size, raw);
            pos += fields[f].fx.size;
        }
    }
    *len = pos;
    return 0;
fail:
    *len = 0;
    return rc;
}

int fw_codec_decode(const uint8_t *buf, size_t len, struct fw_codec_result *res)
{
    size_t pos = 0;
    unsigned flags, count = 1;
    int batch;

    reset(res);
    if (len > FW_CODEC_MAX_FRAME)
        return fail_with(res, -E2BIG, "frame of %zu bytes exceeds the limit of %d", len,
                         FW_CODEC_MAX_FRAME);
    if (len == 0)
        return fail_with(res, -EINVAL, "empty frame");
    if (buf[0] != FW_CODEC_VERSION)
        return fail_with(res, -ENOTSUP, "byte 0: unsupported version %u (this gateway reads %d)",
                         buf[0], FW_CODEC_VERSION);
    if (len < 2)
        return fail_with(res, -EINVAL, "truncated at byte 1: flags need 1 byte");
    flags = buf[1];
    if (flags & FW_CODEC_F_RESERVED)
        return fail_with(res, -EINVAL, "byte 1: flags 0x%02x set the reserved bit 0x80", flags);
    if (!(flags & FW_CODEC_F_FIELDS))
        return fail_with(res, -EINVAL, "byte 1: flags 0x%02x name no field", flags);
    batch = (flags & FW_CODEC_F_BATCH) != 0;
    pos = 2;
    if (batch) {
        if (len < 3)
            return fail_with(res, -EINVAL, "truncated at byte 2: sample count needs 1 byte");
        count = buf[2];
        if (count < 1 || count > FW_CODEC_MAX_SAMPLES)
            return fail_with(res, -EINVAL, "byte 2: sample count %u, must be 1..%d", count,
                             FW_CODEC_MAX_SAMPLES);
        pos = 3;
    }

    for (unsigned i = 0; i < count; i++) {
        uint32_t offset = 0;
        /* "sample 2 " in batches only: a single-sample frame has no sample numbers. */
        char which[24] = "";
        if (batch)
            snprintf(which, sizeof(which), "sample %u ", i + 1);
        if (batch) {
            if (len - pos < offset_fx.size)
                return fail_with(res, -EINVAL, "truncated at byte %zu: %soffset needs %u bytes",
                                 pos, which, offset_fx.size);
            offset = (uint32_t)get_be(buf + pos, &offset_fx);
            pos += offset_fx.size;
        }
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            const struct fw_codec_fixed *fx = &fields[f].fx;
            if (!(flags & fields[f].flag))
                continue;
            if (len - pos < fx->size)
                return fail_with(res, -EINVAL, "truncated at byte %zu: %s%s needs %u byte%s", pos,
                                 which, fields[f].what, fx->size, fx->size == 1 ? "" : "s");
            push(res, fields[f].metric, (double)get_be(buf + pos, fx) / fx->scale, offset);
            pos += fx->size;
        }
    }
    if (pos != len)
        return fail_with(res, -EINVAL, "%zu trailing byte%s at byte %zu after the last sample",
                         len - pos, len - pos == 1 ? "" : "s", pos);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Cayenne LPP                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* Three axes of int16 at one scale: accelerometer and gyrometer. */
/* clang-format off */
#define XYZ16(s) {{2, 1, (s)}, {2, 1, (s)}, {2, 1, (s)}}
/* clang-format on */

/* The LPP types of the Cayenne LPP v1 definition. GPS is three 3-byte components with their own
 * scales; the others are 1 or 3 components of one size. `metric` is NULL where this gateway has
 * no use for the type yet (reported as skipped, not rejected: the frame is well formed). */
static const struct lpp_type {
    uint8_t type;
    const char *name;
    const char *metric;
    uint8_t ncomp;
    struct fw_codec_fixed fx[3];
} lpp_types[] = {
    {FW_CODEC_LPP_DIGITAL_IN, "digital input", NULL, 1, {{1, 0, 1}}},
    {FW_CODEC_LPP_DIGITAL_OUT, "digital output", NULL, 1, {{1, 0, 1}}},
    {FW_CODEC_LPP_ANALOG_IN, "analog input", NULL, 1, {{2, 1, 100}}},
    {FW_CODEC_LPP_ANALOG_OUT, "analog output", NULL, 1, {{2, 1, 100}}},
    {FW_CODEC_LPP_ILLUMINANCE, "illuminance", NULL, 1, {{2, 0, 1}}},
    {FW_CODEC_LPP_PRESENCE, "presence", NULL, 1, {{1, 0, 1}}},
    {FW_CODEC_LPP_TEMPERATURE, "temperature", "air_temp_c", 1, {{2, 1, 10}}},
    {FW_CODEC_LPP_HUMIDITY, "humidity", "rel_humidity_pct", 1, {{1, 0, 2}}},
    {FW_CODEC_LPP_ACCELEROMETER, "accelerometer", NULL, 3, XYZ16(1000)},
    {FW_CODEC_LPP_BAROMETER, "barometer", "pressure_hpa", 1, {{2, 0, 10}}},
    {FW_CODEC_LPP_GYROMETER, "gyrometer", NULL, 3, XYZ16(100)},
    {FW_CODEC_LPP_GPS, "GPS", NULL, 3, {{3, 1, 10000}, {3, 1, 10000}, {3, 1, 100}}},
};

static const struct lpp_type *lpp_find(uint8_t type)
{
    for (size_t i = 0; i < sizeof(lpp_types) / sizeof(lpp_types[0]); i++)
        if (lpp_types[i].type == type)
            return &lpp_types[i];
    return NULL;
}

static unsigned lpp_size(const struct lpp_type *t)
{
    unsigned n = 0;
    for (unsigned c = 0; c < t->ncomp; c++)
        n += t->fx[c].size;
    return n;
}

const char *fw_codec_lpp_type_name(uint8_t type)
{
    const struct lpp_type *t = lpp_find(type);
    return t ? t->name : NULL;
}

const char *fw_codec_lpp_metric(uint8_t type, uint8_t channel, const struct fw_codec_lpp_map *map,
                                size_t n_map)
{
    const struct lpp_type *t = lpp_find(type);
    if (t && t->type == FW_CODEC_LPP_ANALOG_IN)
        for (size_t i = 0; map && i < n_map; i++)
            if (map[i].channel == channel && map[i].metric)
                return map[i].metric;
    return t ? t->metric : NULL;
}

int fw_codec_lpp_decode(const uint8_t *buf, size_t len, const struct fw_codec_lpp_map *map,
                        size_t n_map, struct fw_codec_result *res)
{
    size_t pos = 0;

    reset(res);
    if (len > FW_CODEC_MAX_FRAME)
        return fail_with(res, -E2BIG, "frame of %zu bytes exceeds the limit of %d", len,
                         FW_CODEC_MAX_FRAME);
    if (len == 0)
        return fail_with(res, -EINVAL, "empty frame");
    while (pos < len) {
        unsigned channel = buf[pos];
        if (len - pos < 2)
            return fail_with(res, -EINVAL, "truncated at byte %zu: channel %u has no type byte",
                             pos + 1, channel);
        const struct lpp_type *t = lpp_find(buf[pos + 1]);
        if (!t)
            return fail_with(res, -EINVAL, "unknown LPP type 0x%02x at byte %zu", buf[pos + 1],
                             pos + 1);
        pos += 2;
        unsigned size = lpp_size(t);
        if (len - pos < size)
            return fail_with(res, -EINVAL, "truncated at byte %zu: %s needs %u byte%s", pos,
                             t->name, size, size == 1 ? "" : "s");
        const char *metric = fw_codec_lpp_metric(t->type, (uint8_t)channel, map, n_map);
        if (!metric && t->type == FW_CODEC_LPP_ANALOG_IN)
            fw_codec_skip(res, FW_CODEC_SKIP_UNMAPPED,
                          "channel %u: %s: no metric mapped to this channel (lpp_map)", channel,
                          t->name);
        else if (!metric)
            fw_codec_skip(res, FW_CODEC_SKIP_NO_METRIC, "channel %u: %s: no metric", channel,
                          t->name);
        if (metric)
            push(res, metric, (double)get_be(buf + pos, &t->fx[0]) / t->fx[0].scale, 0);
        pos += size;
    }
    return 0;
}

int fw_codec_lpp_encode(const struct fw_codec_lpp_item *items, size_t n, uint8_t *buf, size_t cap,
                        size_t *len)
{
    int rc;
    size_t pos = 0;

    for (size_t i = 0; i < n; i++) {
        const struct lpp_type *t = lpp_find(items[i].type);
        if (!t) {
            rc = -EINVAL;
            goto fail;
        }
        if (cap - pos < 2 + lpp_size(t)) {
            rc = -ENOBUFS;
            goto fail;
        }
        buf[pos++] = items[i].channel;
        buf[pos++] = items[i].type;
        for (unsigned c = 0; c < t->ncomp; c++) {
            int64_t raw;
            if ((rc = to_raw(items[i].v[c], &t->fx[c], &raw)))
                goto fail;
            put_be(buf + pos, t->fx[c].size, raw);
            pos += t->fx[c].size;
        }
    }
    *len = pos;
    return 0;
fail:
    *len = 0;
    return rc;
}
