/* SPDX-License-Identifier: MIT */
/*
 * Log sink and rate limiter. Lines go to stderr with a UTC timestamp and level, or to syslog.
 * The daemon is single-threaded on the loop; worker threads of later modules hand their
 * messages to the loop rather than log from here concurrently, but a line is written with one
 * fprintf so concurrent writers would not interleave within a line.
 */
#include "forestwatch/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

int fw_log__level = FW_LOG_INFO;
static int use_syslog;

static const char *const level_names[] = {
    [FW_LOG_ERR] = "error", [FW_LOG_WARNING] = "warning", [FW_LOG_NOTICE] = "notice",
    [FW_LOG_INFO] = "info", [FW_LOG_DEBUG] = "debug",
};

void fw_log_set_level(int level)
{
    fw_log__level = level;
}

int fw_log_level_parse(const char *name)
{
    for (int i = FW_LOG_ERR; i <= FW_LOG_DEBUG; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -EINVAL;
}

void fw_log_use_syslog(int enable)
{
    if (enable && !use_syslog)
        openlog("forestwatchd", LOG_PID, LOG_DAEMON);
    else if (!enable && use_syslog)
        closelog();
    use_syslog = enable;
}

void fw_log__write(int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (use_syslog) {
        syslog(level, "%s", msg);
        return;
    }
    struct timespec ts;
    struct tm tm;
    char when[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    const char *name = (level >= FW_LOG_ERR && level <= FW_LOG_DEBUG) ? level_names[level] : "?";
    fprintf(stderr, "%s.%03ldZ %s %s\n", when, ts.tv_nsec / 1000000, name, msg);
}
