/* SPDX-License-Identifier: MIT */
/* The token bucket that budgets each node's messages. */
#include "forestwatch/util.h"
#include "test.h"

FW_TEST(tokens_burst_then_rate)
{
    struct fw_tokens t = {0};
    int64_t now = 1000000;
    int taken = 0;
    for (int i = 0; i < 100; i++)
        taken += fw_tokens_take(&t, 2.0, 10.0, now);
    ASSERT_EQ(taken, 10); /* a full bucket at first, then nothing until it refills */
    ASSERT_EQ(fw_tokens_take(&t, 2.0, 10.0, now + 499), 0);
    ASSERT_EQ(fw_tokens_take(&t, 2.0, 10.0, now + 500), 1); /* 2 a second: one per 500 ms */
    ASSERT_EQ(fw_tokens_take(&t, 2.0, 10.0, now + 500), 0);
    /* A long silence refills up to the burst, not beyond. */
    taken = 0;
    for (int i = 0; i < 100; i++)
        taken += fw_tokens_take(&t, 2.0, 10.0, now + 3600000);
    ASSERT_EQ(taken, 10);
}

FW_TEST(tokens_clock_going_back_refills_nothing)
{
    struct fw_tokens t = {0};
    int64_t now = 1000000;
    while (fw_tokens_take(&t, 1.0, 5.0, now))
        ;
    /* The clock jumps back an hour: no tokens appear, and none are owed either. */
    ASSERT_EQ(fw_tokens_take(&t, 1.0, 5.0, now - 3600000), 0);
    ASSERT_EQ(fw_tokens_take(&t, 1.0, 5.0, now - 3600000 + 999), 0);
    ASSERT_EQ(fw_tokens_take(&t, 1.0, 5.0, now - 3600000 + 1000), 1);
}
