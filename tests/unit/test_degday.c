/* SPDX-License-Identifier: MIT */
/*
 * Degree-day science against published numbers and against itself. The reference cases compare
 * every method and cutoff with the UC IPM online calculator (a year at Esparto, degF, 50/70), the
 * same year at six decimals (degday R package, with the simple average), and Table 7 of Zalom et
 * al. (1983). The property cases run many thousands of days from a fixed-seed generator through
 * every method and cutoff, and check the closed forms against a brute-force integration of the
 * temperature curve each method assumes.
 */
#include "forestwatch/degday.h"
#include "forestwatch/util.h"
#include "csv_test.h"
#include "test.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define PEST FW_TEST_DATA "/pest/"

static const enum fw_dd_method all_methods[] = {
    FW_DD_AVERAGE,         FW_DD_SINGLE_SINE,     FW_DD_DOUBLE_SINE,
    FW_DD_SINGLE_TRIANGLE, FW_DD_DOUBLE_TRIANGLE,
};
static const enum fw_dd_cutoff all_cutoffs[] = {FW_DD_HORIZONTAL, FW_DD_VERTICAL,
                                                FW_DD_INTERMEDIATE};

/* ------------------------------------------------------------------------------------------ */
/* Reference data                                                                              */
/* ------------------------------------------------------------------------------------------ */

/*
 * Column names of the two Esparto answer files for each (method, cutoff). The UC IPM export and
 * the degday output spell them differently; the four curve methods appear in both.
 */
struct ref_col {
    enum fw_dd_method m;
    enum fw_dd_cutoff c;
    const char *ucipm, *degday;
};
static const struct ref_col ref_cols[] = {
    {FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, "sngsine_horiz", "sng_sine_horizontal"},
    {FW_DD_SINGLE_SINE, FW_DD_VERTICAL, "sngsine_vert", "sng_sine_vertical"},
    {FW_DD_SINGLE_SINE, FW_DD_INTERMEDIATE, "sngsine_intrmd", "sng_sine_intermediate"},
    {FW_DD_DOUBLE_SINE, FW_DD_HORIZONTAL, "dblsine_horiz", "dbl_sine_horizontal"},
    {FW_DD_DOUBLE_SINE, FW_DD_VERTICAL, "dblsine_vert", "dbl_sine_vertical"},
    {FW_DD_DOUBLE_SINE, FW_DD_INTERMEDIATE, "dblsine_intrmd", "dbl_sine_intermediate"},
    {FW_DD_SINGLE_TRIANGLE, FW_DD_HORIZONTAL, "sngtri_horiz", "sng_tri_horizontal"},
    {FW_DD_SINGLE_TRIANGLE, FW_DD_VERTICAL, "sngtri_vert", "sng_tri_vertical"},
    {FW_DD_SINGLE_TRIANGLE, FW_DD_INTERMEDIATE, "sngtri_intrmd", "sng_tri_intermediate"},
    {FW_DD_DOUBLE_TRIANGLE, FW_DD_HORIZONTAL, "dbltri_horiz", "dbl_tri_horizontal"},
    {FW_DD_DOUBLE_TRIANGLE, FW_DD_VERTICAL, "dbltri_vert", "dbl_tri_vertical"},
    {FW_DD_DOUBLE_TRIANGLE, FW_DD_INTERMEDIATE, "dbltri_intrmd", "dbl_tri_intermediate"},
};

/*
 * A whole reference file in memory, since the double methods look one row ahead: every cell's
 * text, and its value as a number (NAN when it is not one, so any comparison with it fails).
 */
#define TABLE_MAX_ROWS 400
#define TABLE_MAX_COLS 20
struct table {
    int nrows, ncols;
    char name[TABLE_MAX_COLS][32];
    char text[TABLE_MAX_ROWS][TABLE_MAX_COLS][24];
    double num[TABLE_MAX_ROWS][TABLE_MAX_COLS];
};

static struct table *table_load(const char *path)
{
    struct fw_csv c;
    if (fw_csv_open(&c, path) < 0)
        return NULL;
    struct table *t = calloc(1, sizeof(*t));
    int r = 0;
    if (c.ncols > TABLE_MAX_COLS)
        goto fail;
    t->ncols = c.ncols;
    for (int k = 0; k < c.ncols; k++)
        snprintf(t->name[k], sizeof(t->name[k]), "%s", c.cols[k]);
    while ((r = fw_csv_next(&c)) == 1) {
        if (t->nrows == TABLE_MAX_ROWS)
            goto fail;
        for (int k = 0; k < c.ncols; k++) {
            const char *s = fw_csv_str(&c, k);
            char *end;
            double v = strtod(s, &end);
            snprintf(t->text[t->nrows][k], sizeof(t->text[0][0]), "%s", s);
            t->num[t->nrows][k] = end != s && *end == '\0' && isfinite(v) ? v : NAN;
        }
        t->nrows++;
    }
    if (r < 0)
        goto fail;
    fw_csv_close(&c);
    return t;
fail:
    fprintf(stderr, "%s: cannot load (row %d)\n", path, t->nrows + 2);
    fw_csv_close(&c);
    free(t);
    return NULL;
}

/* Index of column `name`, or -1. */
static int table_col(const struct table *t, const char *name)
{
    for (int k = 0; k < t->ncols; k++)
        if (strcmp(t->name[k], name) == 0)
            return k;
    return -1;
}

/*
 * Degree-days of row `i` of a file with tmin/tmax columns holding consecutive days, the way both
 * references run a season: the next row's minimum, and on the last row the day's own minimum.
 */
static int ref_day(const struct table *t, int i, enum fw_dd_method m, enum fw_dd_cutoff c,
                   double lower, double upper, double *dd)
{
    int cmin = table_col(t, "tmin"), cmax = table_col(t, "tmax");
    double next = i + 1 < t->nrows ? t->num[i + 1][cmin] : FW_DD_NEXT_UNKNOWN;
    return fw_degday(m, c, t->num[i][cmin], t->num[i][cmax], next, lower, upper, dd);
}

/*
 * Acceptance: all 4,392 answers of the UC IPM calculator (4 methods x 3 cutoffs x 366 days,
 * lower 50 degF, upper 70 degF) within 0.01. The calculator prints 2 decimals and rounds
 * half-cents unevenly, hence 0.01 rather than 0.005.
 */
FW_TEST(ucipm_calculator_4392)
{
    struct table *in = table_load(PEST "dd_in_espartoA_2020_F.csv");
    struct table *uc = table_load(PEST "ucipm_espartoA_2020_F_50_70.csv");
    ASSERT_TRUE(in && uc);
    ASSERT_EQ(in->nrows, 366);
    ASSERT_EQ(uc->nrows, 366);
    int checked = 0;
    double worst = 0;
    for (size_t k = 0; k < FW_ARRAY_LEN(ref_cols); k++) {
        int col = table_col(uc, ref_cols[k].ucipm);
        ASSERT_GE(col, 0);
        for (int i = 0; i < uc->nrows; i++) {
            double dd, want = uc->num[i][col];
            /* the UC IPM export repeats the inputs: make sure we read the same day */
            ASSERT_DBL_NEAR(uc->num[i][table_col(uc, "tmin")], in->num[i][table_col(in, "tmin")],
                            0);
            ASSERT_DBL_NEAR(uc->num[i][table_col(uc, "tmax")], in->num[i][table_col(in, "tmax")],
                            0);
            ASSERT_EQ(ref_day(in, i, ref_cols[k].m, ref_cols[k].c, 50, 70, &dd), 0);
            if (!(fabs(dd - want) <= 0.01 + 1e-9))
                FW_FAIL_("%s %s day %s: %.6f, UC IPM %.2f", fw_dd_method_name(ref_cols[k].m),
                         fw_dd_cutoff_name(ref_cols[k].c), in->text[i][0], dd, want);
            worst = fmax(worst, fabs(dd - want));
            checked++;
        }
    }
    ASSERT_EQ(checked, 4392);
    printf("ucipm: %d values, largest difference %.4f\n", checked, worst);
    free(in);
    free(uc);
}

/*
 * Acceptance: the same year printed at 6 decimals, the 12 curve columns plus the simple average
 * (McMaster & Wilhelm method 1 = our average with a horizontal cutoff), within 1e-6: the file
 * states no tolerance, and 6-decimal rounding is worth at most 5e-7.
 */
FW_TEST(degday_6_decimals)
{
    struct table *out = table_load(PEST "dd_out_espartoA_2020_F_50_70.csv");
    ASSERT_TRUE(out);
    ASSERT_EQ(out->nrows, 366);
    int checked = 0;
    for (size_t k = 0; k <= FW_ARRAY_LEN(ref_cols); k++) {
        enum fw_dd_method m = k < FW_ARRAY_LEN(ref_cols) ? ref_cols[k].m : FW_DD_AVERAGE;
        enum fw_dd_cutoff c = k < FW_ARRAY_LEN(ref_cols) ? ref_cols[k].c : FW_DD_HORIZONTAL;
        const char *name = k < FW_ARRAY_LEN(ref_cols) ? ref_cols[k].degday : "simp_avg_m1";
        int col = table_col(out, name);
        ASSERT_GE(col, 0);
        for (int i = 0; i < out->nrows; i++) {
            double dd, want = out->num[i][col];
            ASSERT_EQ(ref_day(out, i, m, c, 50, 70, &dd), 0);
            if (!(fabs(dd - want) <= 1e-6))
                FW_FAIL_("%s: day %s: %.9f, reference %.6f", name, out->text[i][0], dd, want);
            checked++;
        }
    }
    ASSERT_EQ(checked, 13 * 366);
    free(out);
}

/*
 * The brute-force integral of one day's horizontal degree-days under the temperature curve a
 * method assumes: minimum at the start of the day, maximum at noon, and (double methods) the
 * next minimum at the end; a half-cosine or a straight line between. Defined here from the
 * curve, not from the case formulas, so it checks them independently.
 */
static double curve_temp(enum fw_dd_method m, double tmin, double tmax, double next, double s)
{
    int sine = m == FW_DD_SINGLE_SINE || m == FW_DD_DOUBLE_SINE;
    int dbl = fw_dd_method_uses_next(m);
    if (m == FW_DD_AVERAGE)
        return (tmin + tmax) / 2;
    double a = tmin, b = tmax, u = 2 * s; /* u: 0..1 over the rising half */
    if (s >= 0.5) {
        a = dbl && !isnan(next) ? next : tmin;
        u = 2 * (1 - s); /* falling half, run backwards from its low end */
    }
    if (sine)
        return (a + b) / 2 - (b - a) / 2 * cos(M_PI * u);
    return a + (b - a) * u;
}

/* Horizontal, vertical and intermediate degree-days of the curve, by the midpoint rule. */
static double curve_dd(enum fw_dd_method m, enum fw_dd_cutoff c, double tmin, double tmax,
                       double next, double tl, double tu, int steps)
{
    double between = 0, vertical = 0, above = 0, frac = 0;
    for (int k = 0; k < steps; k++) {
        double t = curve_temp(m, tmin, tmax, next, (k + 0.5) / steps);
        double in = fmin(fmax(t, tl), tu) - tl;
        between += in;
        vertical += t > tu ? 0 : in; /* the definition: nothing while above the upper */
        above += fmax(t - tu, 0);
        frac += t > tu;
    }
    between /= steps, vertical /= steps, above /= steps, frac /= steps;
    if (c == FW_DD_HORIZONTAL)
        return between;
    if (c == FW_DD_VERTICAL)
        return vertical;
    return fmax(between - fmin(above, (tu - tl) * frac), 0); /* UC IPM's definition */
}

/*
 * Acceptance: Zalom et al. (1983) Table 7, horizontal cutoff. The table does not print its
 * thresholds; they follow from its own rows: case 1 (all above the upper) gives 35 = TU - TL and
 * case 3 (60..80, all between) gives 15 = mean - TL, so TL = 55 degF and TU = 90 degF. Every one
 * of the 48 cells matches within the table's 2 decimals except one.
 *
 * The misprint: case 5, min 60, max 100, next min 75, double triangle, printed 24.88. Both
 * half-days are case 5: (80 - 55 - 10^2/80) / 2 = 11.875 and (87.5 - 55 - 10^2/50) / 2 = 15.25,
 * total 27.125; brute-force integration of the triangle agrees, and the printed value is below
 * the double sine of the same day (26.26), which a triangle above the upper threshold never is.
 * The test asserts the corrected 27.125 and that the file still holds the printed 24.88, so a
 * "fixed" copy of the table is noticed.
 */
FW_TEST(zalom1983_table7)
{
    static const struct {
        const char *col;
        enum fw_dd_method m;
    } cols[] = {
        {"sng_tri", FW_DD_SINGLE_TRIANGLE},
        {"dbl_tri", FW_DD_DOUBLE_TRIANGLE},
        {"sng_sine", FW_DD_SINGLE_SINE},
        {"dbl_sine", FW_DD_DOUBLE_SINE},
    };
    struct table *t = table_load(PEST "zalom1983_table7.csv");
    ASSERT_TRUE(t);
    ASSERT_EQ(t->nrows, 12);
    int cmin = table_col(t, "temp_min"), cmax = table_col(t, "temp_max");
    int cnext = table_col(t, "temp_nextmin");
    ASSERT_TRUE(cmin >= 0 && cmax >= 0 && cnext >= 0);
    int checked = 0, misprints = 0;
    for (int i = 0; i < t->nrows; i++) {
        double tmin = t->num[i][cmin], tmax = t->num[i][cmax];
        double next = t->num[i][cnext];
        for (size_t k = 0; k < FW_ARRAY_LEN(cols); k++) {
            int col = table_col(t, cols[k].col);
            ASSERT_GE(col, 0);
            double dd, printed = t->num[i][col];
            ASSERT_EQ(fw_degday(cols[k].m, FW_DD_HORIZONTAL, tmin, tmax, next, 55, 90, &dd), 0);
            if (cols[k].m == FW_DD_DOUBLE_TRIANGLE && tmin == 60 && tmax == 100 && next == 75) {
                ASSERT_DBL_NEAR(printed, 24.88, 0);
                ASSERT_DBL_NEAR(dd, 27.125, 1e-12);
                ASSERT_DBL_NEAR(
                    curve_dd(cols[k].m, FW_DD_HORIZONTAL, tmin, tmax, next, 55, 90, 100000), 27.125,
                    1e-4);
                misprints++;
            } else if (!(fabs(dd - printed) <= 0.005 + 1e-9)) {
                FW_FAIL_("row %d %s: %.4f, printed %g", i + 2, cols[k].col, dd, printed);
            }
            checked++;
        }
    }
    ASSERT_EQ(checked, 48);
    ASSERT_EQ(misprints, 1);
    free(t);
}

/* The three copies of the Esparto inputs (station file, degday input, UC IPM export) agree. */
FW_TEST(reference_inputs_agree)
{
    struct table *w = table_load(PEST "espartoA_weather_2020.csv");
    struct table *in = table_load(PEST "dd_in_espartoA_2020_F.csv");
    struct table *out = table_load(PEST "dd_out_espartoA_2020_F_50_70.csv");
    ASSERT_TRUE(w && in && out);
    ASSERT_EQ(w->nrows, in->nrows);
    ASSERT_EQ(out->nrows, in->nrows);
    for (int i = 0; i < in->nrows; i++) {
        for (int k = 0; k < 3; k++) {
            const char *name = k == 0 ? "date" : k == 1 ? "tmin" : "tmax";
            const char *a = in->text[i][table_col(in, name)];
            ASSERT_STR_EQ(w->text[i][table_col(w, name)], a);
            ASSERT_STR_EQ(out->text[i][table_col(out, name)], a);
        }
    }
    free(w);
    free(in);
    free(out);
}

/* ------------------------------------------------------------------------------------------ */
/* Properties over random days                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* splitmix64: a fixed seed gives the same cases on every run and every machine. */
static uint64_t rng_state;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double rng_uniform(double lo, double hi)
{
    return lo + (hi - lo) * (double)(rng_next() >> 11) * 0x1.0p-53;
}

struct rand_day {
    double tmin, tmax, next, lower, upper;
};

/*
 * A random day in degC-like or degF-like ranges. One value in four is snapped to a threshold or
 * to another extreme, because the case boundaries (tmin == lower, tmax == upper, tmin == tmax)
 * are where closed forms divide by zero or switch formulas.
 */
static struct rand_day rand_day(void)
{
    struct rand_day d;
    double scale = rng_next() & 1 ? 1.8 : 1.0;
    d.lower = scale * rng_uniform(-10, 30);
    d.upper = d.lower + scale * rng_uniform(0.5, 30);
    d.tmin = scale * rng_uniform(-30, 45);
    d.tmax = d.tmin + scale * rng_uniform(0, 30);
    d.next = rng_next() % 10 == 0 ? FW_DD_NEXT_UNKNOWN : scale * rng_uniform(-30, 45);
    const double *snap[] = {&d.lower, &d.upper, &d.tmin, &d.tmax};
    switch (rng_next() % 16) {
    case 0:
        d.tmin = *snap[rng_next() % 2];
        break;
    case 1:
        d.tmax = *snap[rng_next() % 2];
        break;
    case 2:
        d.next = *snap[rng_next() % 4];
        break;
    case 3:
        d.tmax = d.tmin;
        break;
    }
    if (d.tmin > d.tmax) {
        double x = d.tmin;
        d.tmin = d.tmax, d.tmax = x;
    }
    return d;
}

#define PROP_DAYS 20000

/* Acceptance: degree-days are never negative (and never NaN), every method and cutoff. */
FW_TEST(prop_never_negative)
{
    rng_state = 0x5EEDF00DULL;
    long n = 0;
    for (int i = 0; i < PROP_DAYS; i++) {
        struct rand_day d = rand_day();
        for (size_t a = 0; a < FW_ARRAY_LEN(all_methods); a++) {
            for (size_t b = 0; b < FW_ARRAY_LEN(all_cutoffs); b++) {
                double dd = -1;
                ASSERT_EQ(fw_degday(all_methods[a], all_cutoffs[b], d.tmin, d.tmax, d.next, d.lower,
                                    d.upper, &dd),
                          0);
                if (!(dd >= 0))
                    FW_FAIL_("%s %s (%.17g, %.17g, next %.17g, %.17g..%.17g): %.17g",
                             fw_dd_method_name(all_methods[a]), fw_dd_cutoff_name(all_cutoffs[b]),
                             d.tmin, d.tmax, d.next, d.lower, d.upper, dd);
                n++;
            }
        }
    }
    ASSERT_EQ(n, PROP_DAYS * 15L);
}

/*
 * Acceptance: under a horizontal cutoff a day never counts more than (upper - lower). Checked
 * for every cutoff, since vertical and intermediate only subtract; and vertical <=
 * intermediate <= horizontal, the order that defines them.
 */
FW_TEST(prop_bounded_by_band)
{
    rng_state = 0xB0DEDULL;
    for (int i = 0; i < PROP_DAYS; i++) {
        struct rand_day d = rand_day();
        for (size_t a = 0; a < FW_ARRAY_LEN(all_methods); a++) {
            double dd[3];
            for (size_t b = 0; b < 3; b++) {
                ASSERT_EQ(fw_degday(all_methods[a], all_cutoffs[b], d.tmin, d.tmax, d.next, d.lower,
                                    d.upper, &dd[b]),
                          0);
                if (!(dd[b] <= d.upper - d.lower))
                    FW_FAIL_("%s %s (%.17g, %.17g, next %.17g, %.17g..%.17g): %.17g > band",
                             fw_dd_method_name(all_methods[a]), fw_dd_cutoff_name(all_cutoffs[b]),
                             d.tmin, d.tmax, d.next, d.lower, d.upper, dd[b]);
            }
            if (!(dd[FW_DD_VERTICAL] <= dd[FW_DD_INTERMEDIATE] + 1e-12 &&
                  dd[FW_DD_INTERMEDIATE] <= dd[FW_DD_HORIZONTAL] + 1e-12))
                FW_FAIL_("%s (%.17g, %.17g, next %.17g, %.17g..%.17g): v %.17g i %.17g h %.17g",
                         fw_dd_method_name(all_methods[a]), d.tmin, d.tmax, d.next, d.lower,
                         d.upper, dd[0], dd[1], dd[2]);
        }
    }
}

/*
 * Acceptance: a day entirely at or below the lower threshold counts exactly zero. For the double
 * methods the day runs on to the next minimum, so that is below too (or unknown).
 */
FW_TEST(prop_zero_below_lower)
{
    rng_state = 0xC01DULL;
    for (int i = 0; i < PROP_DAYS; i++) {
        double scale = rng_next() & 1 ? 1.8 : 1.0;
        double lower = scale * rng_uniform(-10, 30), upper = lower + scale * rng_uniform(0.5, 30);
        double tmax = rng_next() % 8 == 0 ? lower : lower - scale * rng_uniform(0, 20);
        double tmin = rng_next() % 8 == 0 ? tmax : tmax - scale * rng_uniform(0, 20);
        double next = rng_next() % 8 == 0 ? FW_DD_NEXT_UNKNOWN : lower - scale * rng_uniform(0, 30);
        for (size_t a = 0; a < FW_ARRAY_LEN(all_methods); a++) {
            for (size_t b = 0; b < FW_ARRAY_LEN(all_cutoffs); b++) {
                double dd = -1;
                ASSERT_EQ(
                    fw_degday(all_methods[a], all_cutoffs[b], tmin, tmax, next, lower, upper, &dd),
                    0);
                if (dd != 0.0)
                    FW_FAIL_("%s %s (%.17g, %.17g, next %.17g, %.17g..%.17g): %.17g",
                             fw_dd_method_name(all_methods[a]), fw_dd_cutoff_name(all_cutoffs[b]),
                             tmin, tmax, next, lower, upper, dd);
            }
        }
    }
}

/*
 * The closed forms equal the integral of the curve each method assumes, for every cutoff,
 * including a next minimum above the maximum (the second half then rises). The midpoint rule
 * misjudges at most one step per threshold crossing, so the tolerance is a few steps' worth.
 */
FW_TEST(prop_matches_integration)
{
    enum { STEPS = 20000, DAYS = 300 };
    rng_state = 0x1A7E6ULL;
    for (int i = 0; i < DAYS; i++) {
        struct rand_day d = rand_day();
        for (size_t a = 0; a < FW_ARRAY_LEN(all_methods); a++) {
            for (size_t b = 0; b < FW_ARRAY_LEN(all_cutoffs); b++) {
                enum fw_dd_method m = all_methods[a];
                enum fw_dd_cutoff c = all_cutoffs[b];
                double dd, want = curve_dd(m, c, d.tmin, d.tmax, d.next, d.lower, d.upper, STEPS);
                ASSERT_EQ(fw_degday(m, c, d.tmin, d.tmax, d.next, d.lower, d.upper, &dd), 0);
                double tol = 6.0 * (d.upper - d.lower) / STEPS + 1e-9;
                if (!(fabs(dd - want) <= tol))
                    FW_FAIL_("%s %s (%.17g, %.17g, next %.17g, %.17g..%.17g): %.9f, integral %.9f",
                             fw_dd_method_name(m), fw_dd_cutoff_name(c), d.tmin, d.tmax, d.next,
                             d.lower, d.upper, dd, want);
            }
        }
    }
}

/*
 * The simple average under the cutoffs: the mean is held all day, so above the upper threshold
 * the vertical cutoff counts nothing and the intermediate one subtracts the excess.
 */
FW_TEST(average_cutoffs)
{
    double dd;
    ASSERT_EQ(fw_degday(FW_DD_AVERAGE, FW_DD_HORIZONTAL, 10, 20, 0, 10, 30, &dd), 0);
    ASSERT_DBL_NEAR(dd, 5, 0);
    ASSERT_EQ(fw_degday(FW_DD_AVERAGE, FW_DD_HORIZONTAL, 30, 40, 0, 10, 30, &dd), 0);
    ASSERT_DBL_NEAR(dd, 20, 0);
    ASSERT_EQ(fw_degday(FW_DD_AVERAGE, FW_DD_VERTICAL, 30, 40, 0, 10, 30, &dd), 0);
    ASSERT_DBL_NEAR(dd, 0, 0);
    ASSERT_EQ(fw_degday(FW_DD_AVERAGE, FW_DD_INTERMEDIATE, 30, 40, 0, 10, 30, &dd), 0);
    ASSERT_DBL_NEAR(dd, 15, 1e-12);
    /* mean exactly at the upper threshold: never above it, so every cutoff gives the band */
    for (size_t b = 0; b < FW_ARRAY_LEN(all_cutoffs); b++) {
        ASSERT_EQ(fw_degday(FW_DD_AVERAGE, all_cutoffs[b], 20, 40, 0, 10, 30, &dd), 0);
        ASSERT_DBL_NEAR(dd, 20, 0);
    }
}

/* The unit-agnostic claim: the same day in degF with converted thresholds is 1.8x the degC. */
FW_TEST(units_scale_by_1_8)
{
    rng_state = 0xF00CULL;
    for (int i = 0; i < 5000; i++) {
        double lower = rng_uniform(-5, 20), upper = lower + rng_uniform(1, 25);
        double tmin = rng_uniform(-20, 35), tmax = tmin + rng_uniform(0.1, 25);
        double next = rng_uniform(-20, 35);
#define TO_F(x) ((x)*1.8 + 32)
        for (size_t a = 0; a < FW_ARRAY_LEN(all_methods); a++) {
            for (size_t b = 0; b < FW_ARRAY_LEN(all_cutoffs); b++) {
                double c, f;
                ASSERT_EQ(
                    fw_degday(all_methods[a], all_cutoffs[b], tmin, tmax, next, lower, upper, &c),
                    0);
                ASSERT_EQ(fw_degday(all_methods[a], all_cutoffs[b], TO_F(tmin), TO_F(tmax),
                                    TO_F(next), TO_F(lower), TO_F(upper), &f),
                          0);
                ASSERT_DBL_NEAR(f, 1.8 * c, 1e-9 * (1 + f));
            }
        }
#undef TO_F
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Edges of the contract                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* Last day or gap: an unknown next minimum means the day's own, so double == single. */
FW_TEST(next_unknown_is_own_minimum)
{
    static const enum fw_dd_method pairs[][2] = {
        {FW_DD_DOUBLE_SINE, FW_DD_SINGLE_SINE},
        {FW_DD_DOUBLE_TRIANGLE, FW_DD_SINGLE_TRIANGLE},
    };
    for (size_t p = 0; p < 2; p++) {
        for (size_t b = 0; b < FW_ARRAY_LEN(all_cutoffs); b++) {
            double dbl, own, sng;
            ASSERT_EQ(
                fw_degday(pairs[p][0], all_cutoffs[b], 8, 31, FW_DD_NEXT_UNKNOWN, 10, 28, &dbl), 0);
            ASSERT_EQ(fw_degday(pairs[p][0], all_cutoffs[b], 8, 31, 8, 10, 28, &own), 0);
            ASSERT_EQ(fw_degday(pairs[p][1], all_cutoffs[b], 8, 31, 0, 10, 28, &sng), 0);
            ASSERT_DBL_NEAR(dbl, own, 0);
            ASSERT_DBL_NEAR(dbl, sng, 1e-12);
        }
    }
    /* the single methods and the average ignore the next minimum altogether */
    double a, b;
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_VERTICAL, 8, 31, -40, 10, 28, &a), 0);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_VERTICAL, 8, 31, 40, 10, 28, &b), 0);
    ASSERT_DBL_NEAR(a, b, 0);
}

/*
 * A next minimum above today's maximum (a warm front): the second half-day rises from the
 * maximum to it, i.e. it counts like half a single-method day from tmax to the next minimum.
 */
FW_TEST(next_minimum_above_maximum)
{
    static const enum fw_dd_method pairs[][2] = {
        {FW_DD_DOUBLE_SINE, FW_DD_SINGLE_SINE},
        {FW_DD_DOUBLE_TRIANGLE, FW_DD_SINGLE_TRIANGLE},
    };
    /*
     * Horizontal and vertical are sums over the half-days; intermediate is not (it takes a
     * minimum of day totals), so it is covered by prop_matches_integration instead.
     */
    static const enum fw_dd_cutoff cuts[] = {FW_DD_HORIZONTAL, FW_DD_VERTICAL};
    for (size_t p = 0; p < 2; p++) {
        for (size_t b = 0; b < FW_ARRAY_LEN(cuts); b++) {
            double dbl, first, second;
            ASSERT_EQ(fw_degday(pairs[p][0], cuts[b], 5, 16, 18, 10, 17, &dbl), 0);
            ASSERT_EQ(fw_degday(pairs[p][1], cuts[b], 5, 16, 0, 10, 17, &first), 0);
            ASSERT_EQ(fw_degday(pairs[p][1], cuts[b], 16, 18, 0, 10, 17, &second), 0);
            ASSERT_DBL_NEAR(dbl, (first + second) / 2, 1e-12);
            ASSERT_TRUE(dbl > first / 2); /* the warm night counts */
        }
    }
}

/* No upper threshold: every cutoff is the horizontal one and the band is unbounded. */
FW_TEST(no_upper_threshold)
{
    for (size_t a = 0; a < FW_ARRAY_LEN(all_methods); a++) {
        double dd[3];
        for (size_t b = 0; b < 3; b++)
            ASSERT_EQ(
                fw_degday(all_methods[a], all_cutoffs[b], 20, 60, 25, 10, FW_DD_NO_UPPER, &dd[b]),
                0);
        ASSERT_DBL_NEAR(dd[0], dd[1], 0);
        ASSERT_DBL_NEAR(dd[0], dd[2], 0);
        /* all above the lower threshold: the mean minus the threshold, whatever the curve */
        if (!fw_dd_method_uses_next(all_methods[a]))
            ASSERT_DBL_NEAR(dd[0], 30, 1e-12);
    }
    double dd;
    ASSERT_EQ(fw_degday(FW_DD_AVERAGE, FW_DD_HORIZONTAL, 5, 12, 0, 10.5, FW_DD_NO_UPPER, &dd), 0);
    ASSERT_DBL_NEAR(dd, 0, 0);
}

FW_TEST(rejects_bad_input)
{
    double dd = 123;
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, 20, 10, 0, 10, 30, &dd), -EINVAL);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, 5, 20, 0, 30, 30, &dd), -EINVAL);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, 5, 20, 0, 31, 30, &dd), -EINVAL);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, NAN, 20, 0, 10, 30, &dd), -EINVAL);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, 5, INFINITY, 0, 10, 30, &dd), -EINVAL);
    ASSERT_EQ(fw_degday(FW_DD_DOUBLE_SINE, FW_DD_HORIZONTAL, 5, 20, -INFINITY, 10, 30, &dd),
              -EINVAL);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, 5, 20, 0, NAN, 30, &dd), -EINVAL);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, 5, 20, 0, 10, NAN, &dd), -EINVAL);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, 5, 20, 0, 10, -INFINITY, &dd),
              -EINVAL);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, 5, 20, 0, -INFINITY, 30, &dd),
              -EINVAL);
    ASSERT_EQ(fw_degday((enum fw_dd_method)99, FW_DD_HORIZONTAL, 5, 20, 0, 10, 30, &dd), -EINVAL);
    ASSERT_EQ(fw_degday(FW_DD_AVERAGE, (enum fw_dd_cutoff) - 1, 5, 20, 0, 10, 30, &dd), -EINVAL);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, 5, 2e4, 0, 10, 30, &dd), -ERANGE);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, 5, 20, 0, 10, 1e300, &dd), -ERANGE);
    ASSERT_EQ(fw_degday(FW_DD_DOUBLE_SINE, FW_DD_HORIZONTAL, 5, 20, -1e5, 10, 30, &dd), -ERANGE);
    ASSERT_DBL_NEAR(dd, 123, 0); /* untouched on failure */
    /* the edges that are allowed: a flat day, a day at the limit */
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_SINE, FW_DD_HORIZONTAL, 15, 15, 0, 10, 30, &dd), 0);
    ASSERT_DBL_NEAR(dd, 5, 0);
    ASSERT_EQ(fw_degday(FW_DD_SINGLE_TRIANGLE, FW_DD_VERTICAL, -FW_DD_TEMP_LIMIT, FW_DD_TEMP_LIMIT,
                        FW_DD_TEMP_LIMIT, -FW_DD_TEMP_LIMIT, FW_DD_TEMP_LIMIT, &dd),
              0);
    ASSERT_DBL_NEAR(dd, FW_DD_TEMP_LIMIT, 1e-9);
}

FW_TEST(names_round_trip)
{
    for (size_t a = 0; a < FW_ARRAY_LEN(all_methods); a++) {
        enum fw_dd_method m;
        ASSERT_EQ(fw_dd_method_parse(fw_dd_method_name(all_methods[a]), &m), 0);
        ASSERT_EQ(m, all_methods[a]);
    }
    for (size_t b = 0; b < FW_ARRAY_LEN(all_cutoffs); b++) {
        enum fw_dd_cutoff c;
        ASSERT_EQ(fw_dd_cutoff_parse(fw_dd_cutoff_name(all_cutoffs[b]), &c), 0);
        ASSERT_EQ(c, all_cutoffs[b]);
    }
    enum fw_dd_method m;
    enum fw_dd_cutoff c;
    ASSERT_EQ(fw_dd_method_parse("single-sine", &m), 0);
    ASSERT_EQ(m, FW_DD_SINGLE_SINE);
    ASSERT_EQ(fw_dd_method_parse("double-triangle", &m), 0);
    ASSERT_EQ(m, FW_DD_DOUBLE_TRIANGLE);
    ASSERT_EQ(fw_dd_method_parse("Single-Sine", &m), -EINVAL);
    ASSERT_EQ(fw_dd_method_parse("single_sine", &m), -EINVAL);
    ASSERT_EQ(fw_dd_method_parse("", &m), -EINVAL);
    ASSERT_EQ(fw_dd_method_parse(NULL, &m), -EINVAL);
    ASSERT_EQ(fw_dd_cutoff_parse("intermediate", &c), 0);
    ASSERT_EQ(c, FW_DD_INTERMEDIATE);
    ASSERT_EQ(fw_dd_cutoff_parse("horiz", &c), -EINVAL);
    ASSERT_STR_EQ(fw_dd_method_name((enum fw_dd_method)42), "?");
    ASSERT_STR_EQ(fw_dd_cutoff_name((enum fw_dd_cutoff)42), "?");
    ASSERT_EQ(fw_dd_method_uses_next(FW_DD_DOUBLE_SINE), 1);
    ASSERT_EQ(fw_dd_method_uses_next(FW_DD_AVERAGE), 0);
}
