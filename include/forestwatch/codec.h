/* SPDX-License-Identifier: MIT */
/*
 * Payload codecs shared by the field-node firmware and the gateway. Two formats: the project's own
 * compact binary frame for fire and pest nodes (version byte, field flags, fixed-point big-endian
 * integers, optional batch of samples with time offsets; byte by byte in docs/codec.md), and
 * Cayenne LPP, the common standard that off-the-shelf LoRa sensors speak. Both decoders turn a
 * frame into values {metric, value, offset_s}, where the metric names are those of the gateway's
 * metric table (gateway/reading.c) and offset_s says how many seconds before the uplink time the
 * value was sampled. The decoders never allocate, never log and never read outside the buffer:
 * a malformed frame is rejected whole with a reason that names the byte ("truncated at byte 7:
 * temperature needs 2 bytes"). This file must stay free of gateway headers so that node firmware
 * can compile nodes/codec.c on its own.
 */
#ifndef FORESTWATCH_CODEC_H
#define FORESTWATCH_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* The largest LoRaWAN application payload (FRMPayload) of any region and data rate. Frames are
 * capped here: anything longer did not come off the air. */
#define FW_CODEC_MAX_FRAME 242

/* ---- the forestwatch binary frame (docs/codec.md) ---- */

#define FW_CODEC_VERSION 1

/* Flag bits of byte 1: which fields each sample carries, in this order on the wire. */
#define FW_CODEC_F_TEMP 0x01    /* air_temp_c: int16, 0.01 degC */
#define FW_CODEC_F_RH 0x02      /* rel_humidity_pct: uint8, 0.5 % */
#define FW_CODEC_F_SMOKE 0x04   /* smoke_ppm: uint16, 1 ppm */
#define FW_CODEC_F_CO 0x08      /* co_ppm: uint16, 0.1 ppm */
#define FW_CODEC_F_BATTERY 0x10 /* battery_v: uint16, 1 mV */
#define FW_CODEC_F_TRAP 0x20    /* trap_count: uint16, 1 insect */
#define FW_CODEC_F_FIELDS 0x3f
#define FW_CODEC_F_BATCH 0x40    /* a sample count and per-sample offsets follow */
#define FW_CODEC_F_RESERVED 0x80 /* must be 0 in version 1 */

/* Samples in one batched frame. 16 full samples take 2 + 1 + 16 * 13 = 211 bytes. */
#define FW_CODEC_MAX_SAMPLES 16

/* Values one decode can produce: 16 samples of 6 fields; an LPP frame of 242 bytes has at most
 * 80 items (3 bytes each at least). */
#define FW_CODEC_MAX_VALUES 96

/** One sample for the encoder. Only the fields named in the `fields` mask are read. */
struct fw_codec_sample {
    uint32_t offset_s;   /* seconds before the uplink time, 0..65535 */
    double temp_c;       /* -327.68..327.67 */
    double rh_pct;       /* 0..127.5 */
    double smoke_ppm;    /* 0..65535 */
    double co_ppm;       /* 0..6553.5 */
    double battery_v;    /* 0..65.535 */
    uint32_t trap_count; /* 0..65535 */
};

/** One decoded value. */
struct fw_codec_value {
    const char *metric; /* a static name from the metric table, or (LPP analog input) the
                           caller's map entry, which must outlive the result */
    double value;
    uint32_t offset_s; /* seconds before the uplink time */
};

/* Why a well-formed value gave no reading. Such values are skipped, not errors: the frame or
 * object is still read, and the caller counts them per reason. */
enum fw_codec_skip {
    FW_CODEC_SKIP_NO_METRIC,    /* a kind of value with no metric (an LPP accelerometer, GPS) */
    FW_CODEC_SKIP_UNMAPPED,     /* an LPP analog input on a channel the node's lpp_map lacks */
    FW_CODEC_SKIP_UNKNOWN_NAME, /* a decoded-object member named like nothing the gateway reads */
    FW_CODEC_SKIP_BAD_VALUE,    /* a decoded-object member that is not a finite number */
    FW_CODEC_SKIP_TOO_MANY,     /* past FW_CODEC_MAX_VALUES */
    FW_CODEC_SKIP__COUNT,
};

/** What a decoder produced. No allocation: it can live on the stack and be reused. */
struct fw_codec_result {
    struct fw_codec_value values[FW_CODEC_MAX_VALUES];
    int n;
    int skipped;                          /* well-formed values that gave no reading */
    int skipped_by[FW_CODEC_SKIP__COUNT]; /* the same, per reason */
    char error[160];                      /* why the frame was rejected ("" when it was not) */
    /* The first skipped value of each reason, e.g. "channel 6: accelerometer: no metric";
     * "" for a reason with none. */
    char note[FW_CODEC_SKIP__COUNT][96];
};

/**
 * Encode `n` samples (1..FW_CODEC_MAX_SAMPLES) carrying the fields in `fields` (a non-empty
 * subset of FW_CODEC_F_FIELDS) into `buf` of `cap` bytes; *len receives the frame length. A
 * single sample with offset 0 is written without the batch header. Values are rounded to the
 * field's resolution. Returns 0, -EINVAL for a bad mask or count, -ERANGE for a value that the
 * format cannot carry (NaN, negative smoke, an offset over 65535 s), or -ENOBUFS when `cap` is
 * too small. Pure; any thread.
 */
int fw_codec_encode(unsigned fields, const struct fw_codec_sample *samples, int n, uint8_t *buf,
                    size_t cap, size_t *len);

/**
 * Decode a forestwatch frame of `len` bytes. Returns 0 with res->n values (sample by sample, in
 * wire order), or a negative code with res->n == 0 and res->error set: -E2BIG over
 * FW_CODEC_MAX_FRAME, -ENOTSUP for a version other than FW_CODEC_VERSION, -EINVAL for anything
 * else malformed (reserved flag bit, no fields, bad sample count, truncation, trailing bytes).
 * Pure; any thread.
 */
int fw_codec_decode(const uint8_t *buf, size_t len, struct fw_codec_result *res);

/* ---- Cayenne LPP ---- */

/* LPP data types (IPSO object id - 3200); sizes and resolutions are in codec.c's table. */
#define FW_CODEC_LPP_DIGITAL_IN 0x00
#define FW_CODEC_LPP_DIGITAL_OUT 0x01
#define FW_CODEC_LPP_ANALOG_IN 0x02
#define FW_CODEC_LPP_ANALOG_OUT 0x03
#define FW_CODEC_LPP_ILLUMINANCE 0x65
#define FW_CODEC_LPP_PRESENCE 0x66
#define FW_CODEC_LPP_TEMPERATURE 0x67
#define FW_CODEC_LPP_HUMIDITY 0x68
#define FW_CODEC_LPP_ACCELEROMETER 0x71
#define FW_CODEC_LPP_BAROMETER 0x73
#define FW_CODEC_LPP_GYROMETER 0x86
#define FW_CODEC_LPP_GPS 0x88

/** Analog input channel -> metric, supplied by the caller (from the node registry). */
struct fw_codec_lpp_map {
    uint8_t channel;
    const char *metric; /* e.g. "smoke_ppm"; borrowed, must outlive the results */
};

/** One LPP item for the encoder: v[0] for scalars; x, y, z; or latitude, longitude, altitude. */
struct fw_codec_lpp_item {
    uint8_t channel;
    uint8_t type; /* FW_CODEC_LPP_* */
    double v[3];
};

/**
 * Decode a Cayenne LPP frame. Temperature gives air_temp_c, humidity rel_humidity_pct,
 * barometer pressure_hpa, and analog input the metric that `map` (n_map entries, may be NULL)
 * names for its channel (fw_codec_lpp_metric); every other known type is skipped as
 * FW_CODEC_SKIP_NO_METRIC and analog input on an unmapped channel as FW_CODEC_SKIP_UNMAPPED,
 * counted in res->skipped and res->skipped_by (the first of each described in res->note). All
 * values have
 * offset 0. Returns 0, or a negative code with res->n == 0 and res->error set: -E2BIG over
 * FW_CODEC_MAX_FRAME, -EINVAL for an empty frame, an unknown type or a truncated item (LPP has no
 * item lengths, so nothing after an unknown type can be read). Pure; any thread.
 */
int fw_codec_lpp_decode(const uint8_t *buf, size_t len, const struct fw_codec_lpp_map *map,
                        size_t n_map, struct fw_codec_result *res);

/**
 * Encode `n` LPP items into `buf` of `cap` bytes; *len receives the length. Values are rounded to
 * the type's resolution. Returns 0, -EINVAL for an unknown type, -ERANGE for a value the type
 * cannot carry, -ENOBUFS when `cap` is too small. For tests and the simulator. Pure; any thread.
 */
int fw_codec_lpp_encode(const struct fw_codec_lpp_item *items, size_t n, uint8_t *buf, size_t cap,
                        size_t *len);

/** The LPP type's name ("temperature"), or NULL for a type this codec does not know. Static. */
const char *fw_codec_lpp_type_name(uint8_t type);

/**
 * The metric an LPP item of `type` on `channel` gives: the type's own (temperature ->
 * air_temp_c, humidity -> rel_humidity_pct, barometer -> pressure_hpa), for an analog input the
 * metric `map` (n_map entries, may be NULL) names for the channel; NULL when there is none (also
 * for a type this codec does not know). The decoder of LPP frames and the reader of a network
 * server's LPP-decoded object both map through it, so the two agree. Pure; any thread.
 */
const char *fw_codec_lpp_metric(uint8_t type, uint8_t channel, const struct fw_codec_lpp_map *map,
                                size_t n_map);

/**
 * Count a skipped value in `res` under `why`, keeping a note of the first one of each reason
 * (printf-style). For the decoders here and the gateway's reader of decoded objects. Pure.
 */
void fw_codec_skip(struct fw_codec_result *res, enum fw_codec_skip why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** A stable short name of a skip reason ("no_metric"), for counters and logs. Static. */
const char *fw_codec_skip_str(enum fw_codec_skip why);

#endif
