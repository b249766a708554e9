/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the pure pieces of the Modbus pollers' schedule (gateway/modbus_int.h,
 * docs/modbus.md "Bus time"): which device a bus polls next, the response timeout of a probe of
 * an offline device, the default response timeout, and the breaker's probe delays. The pollers
 * themselves run against fw-modbus-sim in the integration tests (test_modbus.py,
 * test_modbus_dead.py).
 */
#include "test.h"

#include "modbus_int.h"

#include <stdint.h>

#define NOW 100000

/* A bus's schedule of up to 8 devices, as the worker hands it to fw_modbus__pick. */
struct sched {
    struct fw_modbus__slot s[8];
    struct fw_modbus__slot *p[8];
    size_t n;
};

static void add(struct sched *b, int64_t due, int64_t patience, int64_t cost)
{
    b->s[b->n] = (struct fw_modbus__slot){due, patience, cost};
    b->p[b->n] = &b->s[b->n];
    b->n++;
}

static int pick_from(struct sched *b, int64_t forced_from, int64_t *wake, bool *forced)
{
    *wake = -1;
    *forced = true;
    return fw_modbus__pick(b->p, b->n, NOW, forced_from, wake, forced);
}

static int pick(struct sched *b, int64_t *wake)
{
    bool forced;
    int i = pick_from(b, 0, wake, &forced);
    return forced ? -100 - i : i; /* a forced poll is told apart */
}

/* A device that answered goes before one that did not, whatever their due times. */
FW_TEST(pick_regular_before_waiting)
{
    struct sched b = {0};
    int64_t wake;
    add(&b, NOW - 500, 1000, 300); /* did not answer, due for a while */
    add(&b, NOW, 0, 0);            /* answered, due now */
    ASSERT_EQ(pick(&b, &wake), 1);
}

/* Of the regular polls due, the earliest; ties go to the device listed first. */
FW_TEST(pick_earliest_regular)
{
    struct sched b = {0};
    int64_t wake;
    add(&b, NOW - 10, 0, 0);
    add(&b, NOW - 20, 0, 0);
    add(&b, NOW - 20, 0, 0);
    ASSERT_EQ(pick(&b, &wake), 1);
}

/* A waiting poll runs when its cost ends before the next regular poll is due... */
FW_TEST(pick_waiting_in_idle_time)
{
    struct sched b = {0};
    int64_t wake;
    add(&b, NOW + 300, 0, 0);
    add(&b, NOW - 5, 1000, 300);
    ASSERT_EQ(pick(&b, &wake), 1);
}

/* ...and waits when it would not: until that regular poll, or until its patience is out. */
FW_TEST(pick_waiting_not_in_short_idle_time)
{
    struct sched b = {0};
    int64_t wake;
    add(&b, NOW + 299, 0, 0);
    add(&b, NOW - 5, 1000, 300);
    ASSERT_EQ(pick(&b, &wake), -1);
    ASSERT_EQ(wake, NOW + 299);

    struct sched c = {0};
    add(&c, NOW + 900, 0, 0);
    add(&c, NOW - 800, 1000, 950);
    ASSERT_EQ(pick(&c, &wake), -1);
    ASSERT_EQ(wake, NOW + 200);
}

/* A waiting poll that found no idle time for a whole period goes before regular ones. */
FW_TEST(pick_overdue_first)
{
    struct sched b = {0};
    int64_t wake;
    add(&b, NOW - 100, 0, 0);
    add(&b, NOW - 2000, 2000, 300); /* waited its period out just now */
    add(&b, NOW - 3000, 2500, 300); /* out 500 ms ago: first */
    ASSERT_EQ(pick(&b, &wake), -100 - 2);
}

/* Only one forced poll a round: until `forced_from` the others wait like any waiting poll. */
FW_TEST(pick_overdue_one_a_round)
{
    struct sched b = {0};
    int64_t wake;
    bool forced;
    add(&b, NOW - 100, 0, 0);
    add(&b, NOW - 3000, 2500, 300);
    ASSERT_EQ(pick_from(&b, NOW + 1, &wake, &forced), 0);
    ASSERT_TRUE(!forced);

    struct sched c = {0};
    add(&c, NOW + 200, 0, 0); /* too little idle time for the waiting poll */
    add(&c, NOW - 3000, 2500, 300);
    ASSERT_EQ(pick_from(&c, NOW + 100, &wake, &forced), -1);
    ASSERT_EQ(wake, NOW + 100);
    ASSERT_EQ(pick_from(&c, NOW, &wake, &forced), 1);
    ASSERT_TRUE(forced);

    /* Idle time is idle time: a waiting poll that fits needs no turn. */
    struct sched d = {0};
    add(&d, NOW + 900, 0, 0);
    add(&d, NOW - 3000, 2500, 300);
    ASSERT_EQ(pick_from(&d, NOW + 500, &wake, &forced), 1);
    ASSERT_TRUE(!forced);
}

/* Of the waiting polls that fit, the one due first; with no regular device, all fit. */
FW_TEST(pick_waiting_earliest)
{
    struct sched b = {0};
    int64_t wake;
    add(&b, NOW - 100, 1000, 60000);
    add(&b, NOW - 200, 4000, 60000);
    ASSERT_EQ(pick(&b, &wake), 1);
}

/* Nothing due: wake at the earliest due time of any device. */
FW_TEST(pick_wake)
{
    struct sched b = {0};
    int64_t wake;
    add(&b, NOW + 700, 0, 0);
    add(&b, NOW + 400, 8000, 300);
    add(&b, NOW + 900, 0, 0);
    ASSERT_EQ(pick(&b, &wake), -1);
    ASSERT_EQ(wake, NOW + 400);
}

/* A device never heard is probed with its full timeout: nothing says it would answer sooner. */
FW_TEST(probe_timeout_never_heard)
{
    ASSERT_EQ(fw_modbus__probe_timeout(0, 0, 300), 300);
    ASSERT_EQ(fw_modbus__probe_timeout(0, 5, 1000), 1000);
}

/* Twice the slowest answer, at least the floor, doubling per failed probe, at most timeout. */
FW_TEST(probe_timeout_learned)
{
    ASSERT_EQ(fw_modbus__probe_timeout(2000, 0, 1000), FW_MODBUS_PROBE_MIN_MS);
    ASSERT_EQ(fw_modbus__probe_timeout(120000, 0, 1000), 240);
    ASSERT_EQ(fw_modbus__probe_timeout(120001, 0, 1000), 241);
    ASSERT_EQ(fw_modbus__probe_timeout(120000, 1, 1000), 480);
    ASSERT_EQ(fw_modbus__probe_timeout(120000, 2, 1000), 960);
    ASSERT_EQ(fw_modbus__probe_timeout(120000, 3, 1000), 1000);
    ASSERT_EQ(fw_modbus__probe_timeout(120000, 1000, 1000), 1000);
    ASSERT_EQ(fw_modbus__probe_timeout(900000, 0, 1000), 1000);
}

/* RTU: the device's turnaround plus the longest exchange on the line. TCP: the same on a 9600
 * baud line (a gateway in front of RS-485), at least FW_MODBUS_TCP_TIMEOUT_MS. */
FW_TEST(default_timeout)
{
    struct fw_profile_request reqs[] = {
        {FW_AREA_HOLDING, 0, 2},
        {FW_AREA_INPUT, 100, 14},
        {FW_AREA_COIL, 0, 16},
    };
    struct fw_profile p = {.requests = reqs, .nrequests = 3};
    struct fw_modbus_bus_cfg tcp = {.kind = FW_MODBUS_TCP};
    ASSERT_EQ(fw_modbus__default_timeout(&tcp, &p), FW_MODBUS_TCP_TIMEOUT_MS);
    /* 125 registers behind a TCP gateway: 8 + 5 + 250 bytes at 9600 8N1 is 274 ms on the line. */
    struct fw_profile_request big = {FW_AREA_HOLDING, 0, 125};
    struct fw_profile wide = {.requests = &big, .nrequests = 1};
    ASSERT_EQ(fw_modbus__default_timeout(&tcp, &wide), FW_MODBUS_RTU_TURNAROUND_MS + 274);
    /* 14 registers: 8 request bytes, 5 + 28 answer bytes; 10 bits a character at 8N1. */
    struct fw_modbus_bus_cfg rtu = {
        .kind = FW_MODBUS_RTU, .baud = 9600, .parity = 'N', .data_bits = 8, .stop_bits = 1};
    ASSERT_EQ(fw_modbus__default_timeout(&rtu, &p), 243);
    /* 11 bits at 8E1, 1200 baud: 41 * 11 / 1200 s = 375.8 ms, rounded up. */
    rtu.baud = 1200;
    rtu.parity = 'E';
    ASSERT_EQ(fw_modbus__default_timeout(&rtu, &p), FW_MODBUS_RTU_TURNAROUND_MS + 376);
    /* 2 registers (renke-th's read plan): 17 bytes, 218 ms in all, as docs/modbus.md says (and
     * 243 ms for cwt-uwd's 14, above). */
    struct fw_profile two = {.requests = &reqs[0], .nrequests = 1};
    rtu.baud = 9600;
    rtu.parity = 'N';
    ASSERT_EQ(fw_modbus__default_timeout(&rtu, &two), 218);
    /* Bits are packed: 16 coils are 2 data bytes. */
    struct fw_profile coils = {.requests = &reqs[2], .nrequests = 1};
    ASSERT_EQ(fw_modbus__default_timeout(&rtu, &coils), FW_MODBUS_RTU_TURNAROUND_MS + 16);
}

/* The breaker: on the interval below the threshold, then 2x, 4x, ... the interval, capped. */
FW_TEST(breaker_delay)
{
    ASSERT_EQ(fw_modbus__breaker_delay(0, 3, 1000, 300000), 0);
    ASSERT_EQ(fw_modbus__breaker_delay(2, 3, 1000, 300000), 0);
    ASSERT_EQ(fw_modbus__breaker_delay(3, 3, 1000, 300000), 2000);
    ASSERT_EQ(fw_modbus__breaker_delay(4, 3, 1000, 300000), 4000);
    ASSERT_EQ(fw_modbus__breaker_delay(10, 3, 1000, 300000), 256000);
    ASSERT_EQ(fw_modbus__breaker_delay(11, 3, 1000, 300000), 300000);
    ASSERT_EQ(fw_modbus__breaker_delay(1000, 3, 1000, 300000), 300000);
}
