/* SPDX-License-Identifier: MIT */
/* The token bucket that budgets each node's messages, the line reader of the tool's
 * tables, the floor division of the models' time arithmetic and the tools' number parser. */
#include "forestwatch/readline.h"
#include "forestwatch/util.h"
#include "test.h"

#include <errno.h>
#include <string.h>

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

/* fw_read_line over a memory stream holding `text` of `n` bytes. */
static FILE *stream_of(const char *text, size_t n)
{
    return fmemopen((void *)text, n, "r");
}

FW_TEST(read_line_crlf_and_last_line)
{
    static const char text[] = "a,b\r\n\r\nlast";
    char buf[16];
    size_t len;
    FILE *f = stream_of(text, sizeof(text) - 1);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(fw_read_line(f, buf, sizeof(buf), &len), 0);
    ASSERT_STR_EQ(buf, "a,b");
    ASSERT_EQ(len, 3);
    ASSERT_EQ(fw_read_line(f, buf, sizeof(buf), &len), 0);
    ASSERT_EQ(len, 0);
    ASSERT_EQ(fw_read_line(f, buf, sizeof(buf), &len), 0); /* no newline at the end */
    ASSERT_STR_EQ(buf, "last");
    ASSERT_EQ(fw_read_line(f, buf, sizeof(buf), &len), -ENODATA);
    fclose(f);
}

FW_TEST(read_line_too_long_is_read_to_its_end)
{
    static const char text[] = "0123456789\nnext\n";
    char buf[8];
    size_t len;
    FILE *f = stream_of(text, sizeof(text) - 1);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(fw_read_line(f, buf, sizeof(buf), &len), -E2BIG);
    ASSERT_STR_EQ(buf, "0123456");
    ASSERT_EQ(fw_read_line(f, buf, sizeof(buf), &len), 0); /* the next line is not lost */
    ASSERT_STR_EQ(buf, "next");
    fclose(f);
}

FW_TEST(read_line_keeps_nul_bytes)
{
    static const char text[] = "ab\0cd\nx\n";
    char buf[16];
    size_t len;
    FILE *f = stream_of(text, sizeof(text) - 1);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(fw_read_line(f, buf, sizeof(buf), &len), 0);
    ASSERT_EQ(len, 5);
    ASSERT_EQ(strlen(buf), 2);
    ASSERT_EQ(memcmp(buf, "ab\0cd", 5), 0);
    ASSERT_EQ(fw_read_line(f, buf, sizeof(buf), &len), 0);
    ASSERT_STR_EQ(buf, "x");
    fclose(f);
}

FW_TEST(floor_div_and_mod_round_down)
{
    ASSERT_EQ(fw_floor_div(7, 2), 3);
    ASSERT_EQ(fw_floor_div(-7, 2), -4);
    ASSERT_EQ(fw_floor_div(-8, 2), -4);
    ASSERT_EQ(fw_floor_div(7, -2), -4);
    ASSERT_EQ(fw_floor_mod(-1, 4), 3);
    ASSERT_EQ(fw_floor_mod(-4, 4), 0);
    ASSERT_EQ(fw_floor_mod(9, 4), 1);
    ASSERT_EQ(fw_floor_mod(9, -4), -3);
}

FW_TEST(parse_decimal_takes_plain_numbers_only)
{
    double v = 0.0;
    ASSERT_EQ(fw_parse_decimal("-12.5e1", &v), 0);
    ASSERT_EQ(v, -125.0);
    ASSERT_EQ(fw_parse_decimal("", &v), -EINVAL);
    ASSERT_EQ(fw_parse_decimal(" 1", &v), -EINVAL);
    ASSERT_EQ(fw_parse_decimal("nan", &v), -EINVAL);
    ASSERT_EQ(fw_parse_decimal("0x10", &v), -EINVAL);
    ASSERT_EQ(fw_parse_decimal("1e999", &v), -EINVAL);
    ASSERT_EQ(fw_parse_decimal("1-", &v), -EINVAL);
}
