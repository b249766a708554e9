/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event on stderr (or syslog when the daemon is asked to), in the form
 * `module: object: action: reason`. The level is checked before the arguments are evaluated.
 * A rate limiter keeps a flood of bad input from flooding the log.
 */
#ifndef FORESTWATCH_LOG_H
#define FORESTWATCH_LOG_H

#include <stdint.h>

#include "forestwatch/ratelimit.h"

/* Values are syslog priorities, so they map one to one. */
enum fw_log_level {
    FW_LOG_ERR = 3,
    FW_LOG_WARNING = 4,
    FW_LOG_NOTICE = 5,
    FW_LOG_INFO = 6,
    FW_LOG_DEBUG = 7,
};

extern int fw_log__level;

#define FW_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= fw_log__level)                                                              \
            fw_log__write((level), __VA_ARGS__);                                                   \
    } while (0)

void fw_log__write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Set the threshold: messages above `level` are dropped. Loop thread, before logging starts. */
void fw_log_set_level(int level);
/** Parse "error", "warning", "notice", "info", "debug". Returns the level or -EINVAL. */
int fw_log_level_parse(const char *name);
/** Send log lines to syslog (ident "forestwatchd") instead of stderr. */
void fw_log_use_syslog(int enable);


#endif
