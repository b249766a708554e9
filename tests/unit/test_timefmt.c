/* SPDX-License-Identifier: MIT */
/* RFC 3339 parsing and printing, independent of the host's time zone. */
#include "forestwatch/timefmt.h"
#include "test.h"

#include <errno.h>

FW_TEST(parse_forms)
{
    int64_t ms;
    ASSERT_EQ(fw_time_parse("1970-01-01T00:00:00Z", &ms), 0);
    ASSERT_EQ(ms, 0);
    ASSERT_EQ(fw_time_parse("2026-06-01T08:00:00Z", &ms), 0);
    ASSERT_EQ(ms, 1780300800000LL);
    ASSERT_EQ(fw_time_parse("2026-06-01T16:00:00+08:00", &ms), 0);
    ASSERT_EQ(ms, 1780300800000LL);
    ASSERT_EQ(fw_time_parse("2026-06-01t02:30:00.5-05:30", &ms), 0);
    ASSERT_EQ(ms, 1780300800500LL);
    ASSERT_EQ(fw_time_parse("2024-02-29 23:59:59.123456Z", &ms), 0);
    ASSERT_EQ(ms, 1709251199123LL);
}

FW_TEST(parse_rejects)
{
    static const char *bad[] = {
        "",
        "2026-06-01",
        "2026-06-01T08:00:00",      /* no offset: ambiguous */
        "2026-06-01T08:00Z",        /* no seconds */
        "2026-13-01T08:00:00Z",     /* month */
        "2025-02-29T08:00:00Z",     /* not a leap year */
        "2026-06-01T24:00:00Z",     /* hour */
        "2026-06-01T08:00:00+0800", /* offset without colon */
        "2026-06-01T08:00:00Zjunk",
        "2026-06-01T08:00:00.Z",
        "1969-12-31T23:59:59Z",
    };
    int64_t ms;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (fw_time_parse(bad[i], &ms) != -EINVAL) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            ASSERT_TRUE(0);
        }
    }
}

FW_TEST(format_round_trip)
{
    char buf[FW_TIME_STRLEN];
    fw_time_format(1780300800000LL, buf);
    ASSERT_STR_EQ(buf, "2026-06-01T08:00:00Z");
    fw_time_format(1709251199123LL, buf);
    ASSERT_STR_EQ(buf, "2024-02-29T23:59:59.123Z");
    /* Every day of several years, including leap days and century rules. */
    for (int64_t day = 10950; day < 10950 + 365 * 4 + 1; day += 1) {
        int64_t ms = day * 86400000LL + 12345678, back;
        fw_time_format(ms, buf);
        ASSERT_EQ(fw_time_parse(buf, &back), 0);
        ASSERT_EQ(back, ms);
    }
    fw_time_format(4102444800000LL, buf); /* 2100 is not a leap year */
    ASSERT_STR_EQ(buf, "2100-01-01T00:00:00Z");
}

/*
 * Local time with its offset, for the texts people read: 16:37 UTC on the 7th is past midnight
 * of the 8th at +08:00, and a text must say the 8th. Whole seconds, floored like CAP's times.
 */
FW_TEST(format_local)
{
    char buf[FW_TIME_STRLEN];
    const int64_t ms = 1796661426789LL; /* 2026-12-07T16:37:06.789Z */
    fw_time_format_local(ms, 480, buf);
    ASSERT_STR_EQ(buf, "2026-12-08T00:37:06+08:00");
    fw_time_format_local(ms, 0, buf);
    ASSERT_STR_EQ(buf, "2026-12-07T16:37:06+00:00");
    fw_time_format_local(ms, -330, buf);
    ASSERT_STR_EQ(buf, "2026-12-07T11:07:06-05:30");
    fw_time_format_local(ms, 345, buf);
    ASSERT_STR_EQ(buf, "2026-12-07T22:22:06+05:45");
    fw_time_format_local(-1, 0, buf); /* floored, not rounded towards zero */
    ASSERT_STR_EQ(buf, "1969-12-31T23:59:59+00:00");
    /* It reads back as the same instant, to the second, whatever the offset. */
    for (int off = -720; off <= 840; off += 15) {
        int64_t back;
        fw_time_format_local(ms, off, buf);
        ASSERT_EQ(fw_time_parse(buf, &back), 0);
        ASSERT_EQ(back, ms - ms % 1000);
    }
}

/* The local midnight that starts a day, the inverse of fw_time__local_day at day boundaries. */
FW_TEST(local_day_start)
{
    const int64_t ms = 1796661426789LL; /* 2026-12-08 00:37 at +08:00 */
    int64_t day = fw_time__local_day(ms, 480);
    int64_t start = fw_time__local_day_start(day, 480);
    char buf[FW_TIME_STRLEN];
    fw_time_format_local(start, 480, buf);
    ASSERT_STR_EQ(buf, "2026-12-08T00:00:00+08:00");
    ASSERT_EQ(fw_time__local_day(start, 480), day);
    ASSERT_EQ(fw_time__local_day(start - 1, 480), day - 1);
    ASSERT_EQ(fw_time__local_day_start(day, -300) - start, 13 * 3600 * 1000LL);
}
