/* SPDX-License-Identifier: MIT */
/*
 * Time in forestwatch is milliseconds since the Unix epoch (UTC) in an int64_t. These helpers
 * parse and print RFC 3339 timestamps; they never read the clock.
 */
#ifndef FORESTWATCH_TIMEFMT_H
#define FORESTWATCH_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Big enough for "2026-06-01T04:00:00.123+08:00" and a NUL. */
#define FW_TIME_STRLEN 40

/**
 * Parse "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]" (a space may stand for the T). A timestamp
 * without an offset is rejected: a field node's local time is ambiguous. Returns 0 or -EINVAL.
 */
int fw_time_parse(const char *s, int64_t *ms_out);

/** Print `ms` as "YYYY-MM-DDTHH:MM:SSZ" (milliseconds shown only when not zero). */
void fw_time_format(int64_t ms, char buf[FW_TIME_STRLEN]);

/**
 * Print `ms` as the local time `offset_min` minutes east of UTC, in whole seconds (floored), with
 * its numeric offset: "YYYY-MM-DDThh:mm:ss+08:00"; UTC is written "+00:00" (RFC 3339's "-00:00"
 * would mean an unknown local offset). For the texts people read, and the base of CAP's times.
 */
void fw_time_format_local(int64_t ms, int offset_min, char buf[FW_TIME_STRLEN]);

/** Days since 1970-01-01 of a proleptic Gregorian date (the models' day numbers). Pure. */
int64_t fw_time__days_from_civil(int64_t y, unsigned m, unsigned d);

/** The date of day number `days` (days since 1970-01-01), the inverse of the above. Pure. */
void fw_time__civil_from_days(int64_t days, int *y, int *m, int *d);

/** The day number of the local date at `ms` (UTC ms) in a zone `offset_min` east of UTC. Pure. */
int64_t fw_time__local_day(int64_t ms, int offset_min);

/** The UTC ms of local midnight starting day number `day` in a zone `offset_min` east of UTC. */
int64_t fw_time__local_day_start(int64_t day, int offset_min);

#endif
