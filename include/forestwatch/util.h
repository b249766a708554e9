/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by every module: checked allocation, FW_FREE, FW_ASSERT, container_of,
 * and bounded string copies. Nothing here knows about the daemon.
 */
#ifndef FORESTWATCH_UTIL_H
#define FORESTWATCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Recover the struct that embeds `ptr` as member `member` (libuv handle pattern). */
#define FW_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Free and NULL in one step, so a dangling pointer is never left behind. */
#define FW_FREE(p)                                                                                 \
    do {                                                                                           \
        free(p);                                                                                   \
        (p) = NULL;                                                                                \
    } while (0)

/* Programmer errors: log file:line and abort. Never used for bad input. */
#define FW_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fw_util__assert_fail(#cond, __FILE__, __LINE__);                                       \
    } while (0)

void fw_util__assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

/**
 * Allocation for small internal objects: aborts with the size on failure, so callers need no
 * error path. Memory whose size is driven by external input must be capped by the caller first.
 * Any thread.
 */
void *fw_xmalloc(size_t size);
void *fw_xcalloc(size_t n, size_t size);
void *fw_xrealloc(void *p, size_t size);
/** Duplicate a NUL-terminated string (NULL gives NULL). The result belongs to the caller. */
char *fw_xstrdup(const char *s);
/** Printf into a newly allocated string that belongs to the caller. */
char *fw_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Copy `src` into `dst` of `size` bytes, always NUL-terminated. Returns 0, or -E2BIG when the
 * source did not fit (the copy is then truncated).
 */
int fw_strlcpy(char *dst, const char *src, size_t size);

/**
 * Parse a whole string as a base-10 integer in [lo, hi] (strtoll + end check + range check).
 * Returns 0, -EINVAL for junk, or -ERANGE.
 */
int fw_parse_int(const char *s, long long lo, long long hi, long long *out);

/**
 * Parse a whole string as a finite decimal number: digits, sign, point and exponent only, since
 * strtod alone would also take "nan", "inf", hex floats and leading spaces. Returns 0 or -EINVAL.
 */
int fw_parse_decimal(const char *s, double *out);

/** Levenshtein distance of two short strings (99 when either is over 63 bytes), for the
 * "did you mean" hints of config and rule errors. */
int fw_edit_distance(const char *a, const char *b);

/** a / b rounded towards minus infinity (C's `/` rounds towards zero), for b != 0. Pure. */
int64_t fw_floor_div(int64_t a, int64_t b);

/** a mod b with the sign of b: a - fw_floor_div(a, b) * b, in [0, b) for b > 0. Pure. */
int64_t fw_floor_mod(int64_t a, int64_t b);

/** FNV-1a 64-bit hash of `len` bytes: for hash tables and fingerprints, not for security. */
uint64_t fw_hash64(const void *data, size_t len, uint64_t seed);

/*
 * A token bucket: `burst` tokens at most, refilled at `rate_per_s`. fw_tokens_take returns 1 and
 * takes a token when there is one at `now_ms`, else 0. A zeroed bucket starts full. Pure.
 */
struct fw_tokens {
    double level;
    int64_t last_ms;
    int primed;
};

int fw_tokens_take(struct fw_tokens *t, double rate_per_s, double burst, int64_t now_ms);

#endif
