/* SPDX-License-Identifier: MIT */
/*
 * The rate limiter of include/forestwatch/ratelimit.h: a window of `interval_ms` that allows
 * `burst` messages and counts the rest, so the next one allowed can say how many were dropped.
 * A clock that went back starts a new window.
 */
#include "forestwatch/ratelimit.h"

int fw_ratelimit_allow(struct fw_ratelimit *rl, int64_t now_ms, uint64_t *suppressed)
{
    if (now_ms - rl->window_start_ms >= rl->interval_ms || now_ms < rl->window_start_ms) {
        rl->window_start_ms = now_ms;
        rl->used = 0;
    }
    if (rl->used < rl->burst) {
        rl->used++;
        if (suppressed)
            *suppressed = rl->suppressed;
        rl->suppressed = 0;
        return 1;
    }
    rl->suppressed++;
    return 0;
}
