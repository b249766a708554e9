/* SPDX-License-Identifier: MIT */
/*
 * A rate limiter for messages of one kind (log lines, warnings about a flooding node): pure, the
 * clock passed in, so the core uses it as well as the shell's log.
 */
#ifndef FORESTWATCH_RATELIMIT_H
#define FORESTWATCH_RATELIMIT_H

#include <stdint.h>

/*
 * Rate limiter: allows `burst` messages per `interval_ms`, then counts what it suppresses so the
 * next allowed message can say how many were dropped. Embed one per message kind.
 */
struct fw_ratelimit {
    int64_t interval_ms;
    int burst;
    int64_t window_start_ms;
    int used;
    uint64_t suppressed;
};

/**
 * Returns 1 when a message may be logged now (and stores in *suppressed how many were dropped
 * since the last allowed one), 0 when it must be dropped.
 */
int fw_ratelimit_allow(struct fw_ratelimit *rl, int64_t now_ms, uint64_t *suppressed);

#endif
