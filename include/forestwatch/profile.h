/* SPDX-License-Identifier: MIT */
/*
 * Device profiles: the register map of one Modbus sensor model, kept in a JSON file under
 * config/profiles/ (docs/profiles.md) because vendors disagree on register order, register type
 * and signedness, so no map may live in code. This module loads and validates a profile, plans
 * the read requests that cover it (adjacent registers merged), and decodes raw registers into
 * values: type, word and byte order, scale and offset, the plausible range, and the counter
 * deltas of accumulators (rain gauges) with wrap and reset detection.
 *
 * Everything here is pure: no sockets, no clock, no libmodbus. The poller (modbus.h) and the
 * simulator (nodes/modbus_sim.c) are its users.
 */
#ifndef FORESTWATCH_PROFILE_H
#define FORESTWATCH_PROFILE_H

#include "forestwatch/cfg_text.h" /* struct fw_cfg_errors, fw_cfg_read_text */
#include "forestwatch/reading.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FW_PROFILE_MAX_POINTS 256
#define FW_PROFILE_MAX_READ_REGS 125  /* Modbus limit for function codes 03/04 */
#define FW_PROFILE_MAX_READ_BITS 2000 /* Modbus limit for function codes 01/02 */

/* Register areas, by the function code that reads them. */
enum fw_profile_area {
    FW_AREA_COIL,           /* "coil", function code 01, one bit */
    FW_AREA_DISCRETE_INPUT, /* "discrete_input", function code 02, one bit */
    FW_AREA_INPUT,          /* "input", function code 04, 16-bit registers */
    FW_AREA_HOLDING,        /* "holding", function code 03, 16-bit registers */
};

enum fw_profile_type {
    FW_TYPE_BOOL,    /* "bool": coils and discrete inputs only */
    FW_TYPE_INT16,   /* "int16" */
    FW_TYPE_UINT16,  /* "uint16" */
    FW_TYPE_INT32,   /* "int32" */
    FW_TYPE_UINT32,  /* "uint32" */
    FW_TYPE_FLOAT32, /* "float32": IEEE 754 single */
};

/*
 * Byte order on the wire. For a 32-bit value whose bytes are A (most significant) B C D:
 * ABCD sends registers AB, CD (big endian, the Modbus convention); CDAB swaps the words;
 * BADC swaps the bytes within each word; DCBA is little endian. 16-bit values take AB (the
 * default) or BA.
 */
enum fw_profile_order {
    FW_ORDER_ABCD, /* also "AB" for 16-bit values */
    FW_ORDER_BADC, /* also "BA" for 16-bit values */
    FW_ORDER_CDAB,
    FW_ORDER_DCBA,
};

/* One value of a profile: where it is, how to decode it, what it means. */
struct fw_profile_point {
    enum fw_profile_area area;
    uint16_t address; /* 0-based protocol address, as on the wire */
    uint16_t count;   /* registers (or bits) it spans: 1, or 2 for 32-bit types */
    enum fw_profile_type type;
    enum fw_profile_order order;
    double scale, offset;           /* value = raw * scale + offset */
    double min, max;                /* plausible range; outside it a value is flagged */
    const struct fw_metric *metric; /* built-in or declared: valid for the process (reading.h) */
    bool accumulator;               /* a counter: readings are its deltas (docs/profiles.md) */
    char *description;              /* may be NULL */
    /* Filled by the read plan: which request holds it, and where in that request's data. */
    uint16_t request;
    uint16_t index;
};

/* One read request of a plan: `count` registers (or bits) of `area` from `address`. */
struct fw_profile_request {
    enum fw_profile_area area;
    uint16_t address;
    uint16_t count;
};

struct fw_profile {
    char *name;        /* the file's name without ".json": what device configs refer to */
    char *model;       /* free text, may be NULL */
    char *description; /* free text, may be NULL */
    int max_gap;       /* unused registers a request may bridge to merge two neighbours */
    int max_registers; /* registers per request, at most 125 (devices may accept fewer) */
    struct fw_profile_point *points;
    size_t npoints;
    struct fw_profile_request *requests; /* the read plan, built by the loader */
    size_t nrequests;
};

/**
 * Load and validate the profile at `path`. `shown` is the name used in messages (such as
 * "profiles/cwt-uwd.json"); NULL shows `path`. Comments (// and block) are allowed. Returns 0
 * and a new profile in *out (owned by the caller, release with fw_profile_free), or -EINVAL with
 * every error appended to *errs, each as `shown: $.json.path: message` (release them with
 * fw_cfg_errors_clear), or -ENOENT/-EIO/-E2BIG when the file cannot be read (also described in
 * *errs). A register's metric is found with fw_metric_find: a built-in one, or one the config
 * being loaded declares (fw_config_load puts its set in effect on the thread). Any thread.
 */
int fw_profile_load(const char *path, const char *shown, struct fw_profile **out,
                    struct fw_cfg_errors *errs);

/* The largest profile file fw_profile_load reads. */
#define FW_PROFILE_MAX_FILE_BYTES (256 * 1024)

/**
 * What fw_profile_load does once it has read the file: the same checks and results, on `text`
 * (`len` bytes, as fw_cfg_read_text returns it: comments blanked) of the file `path` (whose name
 * names the profile). Pure; -EINVAL with the errors in *errs.
 */
int fw_profile_parse(const char *text, size_t len, const char *path, const char *shown,
                     struct fw_profile **out, struct fw_cfg_errors *errs);

/** Release a profile. NULL is a no-op. */
void fw_profile_free(struct fw_profile *p);

/**
 * The read plan: cover the points (any order) with as few requests as possible. Points of one
 * area are sorted by address and merged while the unused registers between two neighbours are
 * at most `max_gap` and the request stays within `max_regs` registers (FW_PROFILE_MAX_READ_BITS
 * for bit areas). Writes at most `cap` requests to `reqs` and sets each point's `request` and
 * `index`. Returns the number of requests, or -E2BIG when more than `cap` are needed. Pure.
 */
int fw_profile_plan(struct fw_profile_point *points, size_t n, int max_gap, int max_regs,
                    struct fw_profile_request *reqs, size_t cap);

/** The 32-bit word in `regs[0..1]` put back into ABCD order. Pure. */
uint32_t fw_profile_word32(const uint16_t *regs, enum fw_profile_order order);

/**
 * The raw value of `p` from its registers `regs[0 .. p->count - 1]` (bits as 0/1), before scale
 * and offset: signed types are sign-extended, float32 may be NaN or infinite. Pure.
 */
double fw_profile_raw(const struct fw_profile_point *p, const uint16_t *regs);

/** fw_profile_raw() * scale + offset. Pure. */
double fw_profile_value(const struct fw_profile_point *p, const uint16_t *regs);

/** 1 when `v` is finite and inside the point's plausible range, else 0. Pure. */
int fw_profile_plausible(const struct fw_profile_point *p, double v);

/**
 * The inverse of fw_profile_value(), for the simulator and the tests: encode `v` into
 * `regs[0 .. p->count - 1]`, rounded to the nearest raw step and clamped to the type's range.
 * Pure.
 */
void fw_profile_encode(const struct fw_profile_point *p, double v, uint16_t *regs);

/* Accumulators: the counter state of one point of one device. Zero it to start. */
struct fw_accum {
    bool has_prev;
    uint32_t prev;
};

enum fw_accum_result {
    FW_ACCUM_FIRST, /* no previous count: this one becomes the baseline, no delta */
    FW_ACCUM_DELTA, /* the counter rose (or stood still): delta = cur - prev */
    FW_ACCUM_WRAP,  /* it passed the type's maximum: delta = 2^bits - prev + cur */
    FW_ACCUM_RESET, /* it was cleared or the device restarted: delta = cur */
};

/**
 * Feed the counter `raw` (an unsigned 16- or 32-bit count, as read) of accumulator point `p`.
 * Stores the delta, scaled (offset is not applied to deltas), in *delta unless the result is
 * FW_ACCUM_FIRST. The rule for a count below the previous one: a wrap when the previous count
 * was in the top quarter of the type's range and the new one is in the bottom quarter, a reset
 * otherwise (see docs/profiles.md). Pure.
 */
enum fw_accum_result fw_profile_accum(const struct fw_profile_point *p, struct fw_accum *st,
                                      uint32_t raw, double *delta);

/** Names as written in profiles ("holding", "float32", "CDAB"). */
const char *fw_profile_area_str(enum fw_profile_area a);
const char *fw_profile_type_str(enum fw_profile_type t);
const char *fw_profile_order_str(enum fw_profile_order o, int count);

/** Registers (or bits) a value of type `t` spans: 1 or 2. Pure. */
int fw_profile_type_count(enum fw_profile_type t);

#endif
