/* SPDX-License-Identifier: MIT */
/*
 * Checked allocation and the few string and number helpers every module needs. Allocation
 * failure of small internal objects is not recoverable in a useful way, so it aborts loudly with
 * the size; input-driven sizes are capped by callers before they get here.
 */
#include "forestwatch/util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fw_util__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "forestwatch: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

static void oom(size_t size)
{
    fprintf(stderr, "forestwatch: out of memory allocating %zu bytes\n", size);
    abort();
}

void *fw_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *fw_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *fw_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        oom(size);
    return q;
}

char *fw_xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = fw_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

char *fw_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    FW_ASSERT(n >= 0);
    char *s = fw_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

int fw_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size == 0)
        return -E2BIG;
    if (n >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return -E2BIG;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int fw_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || end == s)
        return -EINVAL;
    if (errno == ERANGE || v < lo || v > hi)
        return -ERANGE;
    *out = v;
    return 0;
}

int fw_parse_decimal(const char *s, double *out)
{
    if (*s == '\0' || strspn(s, "0123456789+-.eE") != strlen(s))
        return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return -EINVAL;
    *out = v;
    return 0;
}

int64_t fw_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t fw_floor_mod(int64_t a, int64_t b)
{
    return a - fw_floor_div(a, b) * b;
}

uint64_t fw_hash64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

int fw_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    int d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

int fw_tokens_take(struct fw_tokens *t, double rate_per_s, double burst, int64_t now_ms)
{
    if (!t->primed) {
        t->primed = 1;
        t->level = burst;
        t->last_ms = now_ms;
    }
    if (now_ms > t->last_ms) { /* a clock that went back refills nothing */
        t->level += (double)(now_ms - t->last_ms) * rate_per_s / 1000.0;
        if (t->level > burst)
            t->level = burst;
    }
    t->last_ms = now_ms;
    if (t->level < 1.0)
        return 0;
    t->level -= 1.0;
    return 1;
}
