/* SPDX-License-Identifier: MIT */
/*
 * RFC 3339 parsing and printing without the C library's time zone state: timegm() and the TZ
 * variable are process-global, and the engine must give the same answer whatever the host's
 * zone is. The civil-date arithmetic is the well-known days-from-civil algorithm.
 */
#include "forestwatch/timefmt.h"

#include "forestwatch/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int64_t fw_time__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t fw_time__local_day(int64_t ms, int offset_min)
{
    return fw_floor_div(ms + (int64_t)offset_min * 60000, 86400000);
}

int64_t fw_time__local_day_start(int64_t day, int offset_min)
{
    return day * 86400000 - (int64_t)offset_min * 60000;
}

void fw_time__civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Read exactly `n` digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c)
        return -EINVAL;
    (*p)++;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

int fw_time_parse(const char *s, int64_t *ms_out)
{
    const char *p = s;
    int y, mo, d, h, mi, sec, ms = 0;
    if (!s || digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) || expect(&p, '-') ||
        digits(&p, 2, &d))
        return -EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -EINVAL;
    p++;
    if (digits(&p, 2, &h) || expect(&p, ':') || digits(&p, 2, &mi) || expect(&p, ':') ||
        digits(&p, 2, &sec))
        return -EINVAL;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                ms = ms * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0 || n > 9)
            return -EINVAL;
        for (; n < 3; n++)
            ms *= 10;
    }
    int off_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om) || oh > 23 || om > 59)
            return -EINVAL;
        off_min = sign * (oh * 60 + om);
    } else {
        return -EINVAL;
    }
    if (*p != '\0')
        return -EINVAL;
    /* Leap seconds (sec == 60) are folded into the next second's start by clamping to 59. */
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60)
        return -EINVAL;
    if (sec == 60)
        sec = 59;
    int64_t days = fw_time__days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off_min * 60;
    *ms_out = secs * 1000 + ms;
    return 0;
}

void fw_time_format(int64_t ms, char buf[FW_TIME_STRLEN])
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int frac = (int)(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    int y, m, d;
    fw_time__civil_from_days(days, &y, &m, &d);
    int h = (int)(rem / 3600), mi = (int)(rem / 60 % 60), s = (int)(rem % 60);
    if (frac)
        snprintf(buf, FW_TIME_STRLEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, h, mi, s,
                 frac);
    else
        snprintf(buf, FW_TIME_STRLEN, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, h, mi, s);
}

void fw_time_format_local(int64_t ms, int offset_min, char buf[FW_TIME_STRLEN])
{
    /* Whole seconds, floored, then shifted: fw_time_format then writes "...ssZ", whose Z becomes
     * the offset. Flooring first keeps a time and its local rendering in the same second. */
    int64_t secs = fw_floor_div(ms, 1000);
    fw_time_format(secs * 1000 + (int64_t)offset_min * 60000, buf);
    size_t len = strlen(buf);
    FW_ASSERT(len > 0 && buf[len - 1] == 'Z');
    int a = offset_min < 0 ? -offset_min : offset_min;
    snprintf(buf + len - 1, FW_TIME_STRLEN - (len - 1), "%c%02d:%02d", offset_min < 0 ? '-' : '+',
             a / 60, a % 60);
}
