/* SPDX-License-Identifier: MIT */
/*
 * Modbus pollers: one worker thread per bus (a serial port or a TCP endpoint) owns that bus's
 * libmodbus context and polls the bus's devices on their intervals, one request at a time, with
 * the inter-frame gap and a configurable pause between requests. Buses run in parallel. A device
 * that did not answer its last poll is polled only in the bus's idle time, so it does not take
 * the slots of devices that answer; after a few failed polls it is offline (a circuit breaker
 * per device) and only probed, with a short timeout and ever less often. A bus whose port or
 * connection is lost is reopened with backoff. Each poll's values, decoded with the device's
 * profile (profile.h), reach the loop thread through uv_async_send as readings, together with
 * health readings (device_online, device_failures, device_out_of_range, device_last_ok_age_s). See
 * docs/modbus.md.
 */
#ifndef FORESTWATCH_MODBUS_H
#define FORESTWATCH_MODBUS_H

#include "forestwatch/profile.h"
#include "forestwatch/reading.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct fw_modbus;

/* Results waiting for the loop beyond this many polls are dropped, oldest first, and counted. */
#define FW_MODBUS_QUEUE_MAX 1024

enum fw_modbus_bus_kind {
    FW_MODBUS_TCP, /* Modbus TCP: host and port */
    FW_MODBUS_RTU, /* Modbus RTU on a serial device (RS-485) */
};

/* One bus, filled by the caller from the config. Strings are copied by fw_modbus_new(). */
struct fw_modbus_bus_cfg {
    const char *name; /* unique, for log lines */
    enum fw_modbus_bus_kind kind;
    /* FW_MODBUS_TCP */
    const char *host; /* address or name */
    int port;         /* 1..65535 (502 is the standard port) */
    /* FW_MODBUS_RTU */
    const char *device; /* "/dev/ttyUSB0" */
    int baud;           /* 1200..921600 */
    char parity;        /* 'N', 'E' or 'O' */
    int data_bits;      /* 7 or 8 */
    int stop_bits;      /* 1 or 2 */
    bool rs485;         /* switch the port to RS-485 mode (TIOCSRS485); fails where unsupported */
    /* Both */
    int64_t pause_ms;      /* pause between two requests, on top of the inter-frame gap; 0..10000 */
    int64_t reopen_min_ms; /* first delay before reopening a lost bus; 0 means 500 */
    int64_t reopen_max_ms; /* cap of the doubling delay; 0 means 30000 */
};

/* One device, filled by the caller from the config. Strings are copied by fw_modbus_new(). */
struct fw_modbus_device_cfg {
    const char *name; /* station id of its readings; 1..63 bytes, unique */
    const char *zone; /* zone id of its readings; 1..63 bytes */
    const char *bus;  /* name of a bus given to fw_modbus_new() */
    int unit_id;      /* 1..247 on RTU; 0..255 on TCP */
    /* Borrowed: must stay valid until the close callback of fw_modbus_close() has run. */
    const struct fw_profile *profile;
    int64_t interval_ms; /* poll period, 100..86400000 */
    /* Response timeout of one request, 10..60000; 0: the default, 300 ms on TCP, on RTU 200 ms
     * plus the line time of the longest request of the profile's read plan and its answer. */
    int64_t timeout_ms;
    /* Further attempts of a failed request within a poll of a device that answered its last
     * poll, 0..10. */
    int retries;
    int breaker_failures;   /* consecutive failed polls that make it offline; 0 means 3 */
    int64_t breaker_max_ms; /* cap of the offline probe delay; 0 means 300000 (5 min) */
};

/**
 * The readings of one poll of one device: its values (those inside the plausible range; the
 * first count of an accumulator gives none) and its health readings. `r[0 .. n-1]` live for the
 * call only. Loop thread.
 */
typedef void (*fw_modbus_readings_cb)(struct fw_modbus *m, const struct fw_reading *r, size_t n,
                                      void *arg);
/** The poller is closed: every thread joined, every handle closed. Loop thread. */
typedef void (*fw_modbus_close_cb)(struct fw_modbus *m, void *arg);

/* Counters of one device, kept by the loop thread from the poll results. */
struct fw_modbus_device_stats {
    uint64_t polls_ok, polls_failed;
    uint64_t timeouts;     /* polls failed because the device did not answer in time */
    uint64_t exceptions;   /* ... because it answered a Modbus exception */
    uint64_t bad_frames;   /* ... because its answer was garbage (CRC, length, wrong unit) */
    uint64_t link_errors;  /* ... because the bus was down or was lost during the poll */
    uint64_t out_of_range; /* values outside the plausible range (flagged, not passed on) */
    int consecutive_failures;
    bool online;
    int64_t last_ok_ms;   /* wall-clock time of the last good poll (UTC ms), 0 if none */
    int64_t last_poll_ms; /* wall-clock time of the last poll result */
    int last_error;       /* negative errno-style code of the last failed poll, 0 if none */
};

/**
 * Start polling: one thread per bus that has devices. Returns 0 and the poller in *out, or
 * -EINVAL (logged: which bus or device and why) for a bad or inconsistent configuration, in which
 * case nothing was started and `cb` never runs. Buses are opened by their threads, so a bus
 * that is down is not an error here. Loop thread.
 */
int fw_modbus_new(uv_loop_t *loop, const struct fw_modbus_bus_cfg *buses, size_t nbuses,
                  const struct fw_modbus_device_cfg *devices, size_t ndevices,
                  fw_modbus_readings_cb cb, void *arg, struct fw_modbus **out);

/**
 * Stop: every worker finishes its current request (at most one response timeout), closes its
 * bus and ends; the loop joins the threads without blocking, closes its handle and then calls
 * `close_cb` (may be NULL), after which the poller is freed. No readings callback runs after
 * this call. May be called from inside the readings callback. Call once; NULL is a no-op.
 * Loop thread.
 */
void fw_modbus_close(struct fw_modbus *m, fw_modbus_close_cb close_cb, void *arg);

/** Counters of device `i` (the index in the `devices` given to fw_modbus_new). Returns 0 or
 * -EINVAL for a bad index. Loop thread. */
int fw_modbus_device_stats(const struct fw_modbus *m, size_t i, struct fw_modbus_device_stats *out);

/** Poll results dropped because the loop did not keep up (queue full). Loop thread. */
uint64_t fw_modbus_dropped(const struct fw_modbus *m);

/**
 * libmodbus's errno after a failed call, as a negative errno-style code: ETIMEDOUT and system
 * errors as they are; exceptions: illegal function -EOPNOTSUPP, illegal data address
 * -EADDRNOTAVAIL, illegal data value -EINVAL, busy or acknowledge -EBUSY, gateway path
 * -ENETUNREACH, gateway target -EHOSTUNREACH, others -EREMOTEIO; a bad frame (CRC, length,
 * unit, unknown exception) -EPROTO. Pure.
 */
int fw_modbus__errno(int modbus_errno);

/**
 * The probe delay of a device with `failures` consecutive failed polls, `threshold` of which
 * make it offline: 0 below the threshold (poll on the interval), then the interval doubled for
 * each further failure, from 2x at the threshold, capped at `max_ms`. Pure.
 */
int64_t fw_modbus__breaker_delay(int failures, int threshold, int64_t interval_ms, int64_t max_ms);

#endif
