/* SPDX-License-Identifier: MIT */
/*
 * Modbus poller internals for the unit tests: the pure pieces of a bus's schedule (which device
 * a worker polls next, how long a probe of an offline device waits for its answer, the default
 * response timeout of a device). The worker threads in gateway/modbus.c are built on them; the
 * rules they implement are described in docs/modbus.md, "Bus time".
 */
#ifndef FORESTWATCH_MODBUS_INT_H
#define FORESTWATCH_MODBUS_INT_H

#include "forestwatch/modbus.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A probe's response timeout never starts below this, however fast the device answered. */
#define FW_MODBUS_PROBE_MIN_MS 100
/* Default response timeout on TCP, and the device's share of it on RTU (docs/modbus.md). */
#define FW_MODBUS_TCP_TIMEOUT_MS 300
#define FW_MODBUS_RTU_TURNAROUND_MS 200

/* What the schedule of a bus knows of one of its devices. */
struct fw_modbus__slot {
    int64_t due_ms; /* its next poll (monotonic ms) */
    /* 0: the device answered its last poll: its poll is taken in its slot. > 0: it has not
     * answered yet, or not its last poll: its poll waits for idle time, at most this long after
     * due_ms. */
    int64_t patience_ms;
    int64_t cost_ms; /* bus time a waiting poll takes when the device stays silent */
};

/**
 * The device a bus polls at `now_ms`, as an index into `slots[0 .. n-1]`: first a waiting poll
 * that has waited out its patience (the earliest; only from `forced_from_ms` on, and then
 * *forced is true), else the regular poll due first, else the waiting poll due first whose cost
 * ends before the next regular poll is due. Ties go to the lower index. Returns -1 when nothing
 * is to be polled now, with *wake_ms the time to ask again (INT64_MAX when never). Pure.
 */
int fw_modbus__pick(struct fw_modbus__slot *const *slots, size_t n, int64_t now_ms,
                    int64_t forced_from_ms, int64_t *wake_ms, bool *forced);

/**
 * The response timeout of a probe of an offline device: twice its slowest answer so far, at
 * least FW_MODBUS_PROBE_MIN_MS, doubled for each of its `failed_probes`, at most `timeout_ms`;
 * `timeout_ms` for a device never heard (`slowest_us` 0). Pure.
 */
int64_t fw_modbus__probe_timeout(int64_t slowest_us, int failed_probes, int64_t timeout_ms);

/**
 * The default response timeout of a device with profile `p` on bus `b`: on RTU
 * FW_MODBUS_RTU_TURNAROUND_MS plus the time the longest request of its read plan and the answer
 * to it take on the line (baud, parity, stop bits); on TCP the same on a 9600 baud 8N1 line (a
 * TCP gateway in front of RS-485), at least FW_MODBUS_TCP_TIMEOUT_MS. Pure.
 */
int64_t fw_modbus__default_timeout(const struct fw_modbus_bus_cfg *b, const struct fw_profile *p);

#endif
