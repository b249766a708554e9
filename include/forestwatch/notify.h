/* SPDX-License-Identifier: MIT */
/*
 * The service manager's notification protocol (systemd's sd_notify(3), spoken directly: one
 * datagram of "KEY=value" lines to the unix socket named by NOTIFY_SOCKET), so that a unit with
 * Type=notify knows when the daemon is ready, reloading or stopping, and its watchdog knows the
 * event loop still turns. Without NOTIFY_SOCKET every call does nothing.
 */
#ifndef FORESTWATCH_NOTIFY_H
#define FORESTWATCH_NOTIFY_H

#include <stdint.h>

/**
 * Send `state` (for example "READY=1\nSTATUS=running") to the service manager. Returns 1 when
 * sent, 0 when there is no service manager to tell, or a negative errno code.
 */
int fw_notify(const char *state);

/**
 * How often to send "WATCHDOG=1": half the WATCHDOG_USEC the service manager set for this
 * process (WATCHDOG_PID, when set, must be ours), in milliseconds; 0 when there is no watchdog.
 */
int64_t fw_notify_watchdog_ms(void);

#endif
