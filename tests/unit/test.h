/* SPDX-License-Identifier: MIT */
/*
 * A minimal test harness: FW_TEST(name) defines a case that registers itself; the executable runs
 * the case named on its command line (ctest registers one test per case) or, with no argument,
 * every case. Assertions print both values and file:line, and stop the case at the first failure.
 */
#ifndef FORESTWATCH_TEST_H
#define FORESTWATCH_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fw_test_case {
    const char *name;
    void (*fn)(void);
    struct fw_test_case *next;
};

extern struct fw_test_case *fw_test__cases;
extern int fw_test__failed;

#define FW_TEST(name)                                                                              \
    static void test_##name(void);                                                                 \
    static struct fw_test_case case_##name = {#name, test_##name, NULL};                           \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        case_##name.next = fw_test__cases;                                                         \
        fw_test__cases = &case_##name;                                                             \
    }                                                                                              \
    static void test_##name(void)

#define FW_FAIL_(...)                                                                              \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        fw_test__failed = 1;                                                                       \
        return;                                                                                    \
    } while (0)

#define ASSERT_TRUE(c)                                                                             \
    do {                                                                                           \
        if (!(c))                                                                                  \
            FW_FAIL_("assertion failed: %s", #c);                                                  \
    } while (0)

#define ASSERT_INT_OP_(a, op, b)                                                                   \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (!(a_ op b_))                                                                           \
            FW_FAIL_("%s %s %s: %lld vs %lld", #a, #op, #b, a_, b_);                               \
    } while (0)
#define ASSERT_EQ(a, b) ASSERT_INT_OP_(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP_(a, !=, b)
#define ASSERT_GE(a, b) ASSERT_INT_OP_(a, >=, b)
#define ASSERT_GT(a, b) ASSERT_INT_OP_(a, >, b)
#define ASSERT_LE(a, b) ASSERT_INT_OP_(a, <=, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP_(a, <, b)

#define ASSERT_DBL_NEAR(a, b, tol)                                                                 \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol)))                                                             \
            FW_FAIL_("%s ~= %s: %.9g vs %.9g (tol %g)", #a, #b, a_, b_, (double)(tol));            \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            FW_FAIL_("%s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)",                     \
                     b_ ? b_ : "(null)");                                                          \
    } while (0)

#define ASSERT_STR_CONTAINS(hay, needle)                                                           \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_))                                                                \
            FW_FAIL_("%s contains %s: \"%s\" lacks \"%s\"", #hay, #needle, h_ ? h_ : "(null)",     \
                     n_);                                                                          \
    } while (0)

#endif
