/* SPDX-License-Identifier: MIT */
/*
 * FWI System checks against published numbers: the Van Wagner & Pickett (1985) 49-day sample
 * (printed table and full precision, C = 147.2), the cffdrs 1.10.0 test data (default C, with and
 * without the latitude adjustment), GEFF's one-day values, cffdrs hourly FFMC and fireDanger's
 * Nesterov index; then input validation and range properties over many random days. The data
 * files are copies of the published reference data (tests/data/fire), read with csv_test.h, which
 * reports file:line for every problem, so a damaged data file fails loudly.
 */
#include "forestwatch/fwi.h"
#include "csv_test.h"
#include "test.h"

#include <errno.h>
#include <float.h>
#include <stdint.h>

#define FIRE_DATA FW_TEST_DATA "/fire/"

/* ---------------------------------------------------------------------------------------------
 * Loading and running daily series
 * ------------------------------------------------------------------------------------------- */

#define MAX_DAYS 64

struct day {
    char id[32];
    double lat;
    int yr, mon, day;
    struct fw_fwi_weather w;
};

static int num_int(const struct fw_csv *c, int col, int *v)
{
    double d;
    int r = fw_csv_num(c, col, &d);
    if (r < 0)
        return r;
    if (d != (double)(int)d) {
        fprintf(stderr, "%s:%d: column \"%s\": not an integer\n", c->path, c->line, c->cols[col]);
        return -EINVAL;
    }
    *v = (int)d;
    return 0;
}

/* Read an `id,lat,long,yr,mon,day,temp,rh,ws,prec` file. Returns the number of days or <0. */
static int load_days(const char *path, struct day *days, int max)
{
    static const char *names[] = {"id", "lat", "yr", "mon", "day", "temp", "rh", "ws", "prec"};
    int col[9], n = 0, r;
    struct fw_csv c;
    if ((r = fw_csv_open(&c, path)) < 0)
        return r;
    for (int i = 0; i < 9; i++) {
        if ((col[i] = fw_csv_col(&c, names[i])) < 0) {
            r = -EINVAL;
            goto fail;
        }
    }
    while ((r = fw_csv_next(&c)) > 0) {
        if (n == max) {
            fprintf(stderr, "%s:%d: more than %d days\n", path, c.line, max);
            r = -E2BIG;
            goto fail;
        }
        struct day *d = &days[n];
        snprintf(d->id, sizeof(d->id), "%s", fw_csv_str(&c, col[0]));
        if ((r = fw_csv_num(&c, col[1], &d->lat)) < 0 || (r = num_int(&c, col[2], &d->yr)) < 0 ||
            (r = num_int(&c, col[3], &d->mon)) < 0 || (r = num_int(&c, col[4], &d->day)) < 0 ||
            (r = fw_csv_num(&c, col[5], &d->w.temp_c)) < 0 ||
            (r = fw_csv_num(&c, col[6], &d->w.rh_pct)) < 0 ||
            (r = fw_csv_num(&c, col[7], &d->w.wind_kmh)) < 0 ||
            (r = fw_csv_num(&c, col[8], &d->w.rain_mm)) < 0)
            goto fail;
        n++;
    }
    if (r < 0)
        goto fail;
    fw_csv_close(&c);
    return n;
fail:
    fw_csv_close(&c);
    return r;
}

/* Run the days in order, each id a season from the cffdrs start-up values. 0 or <0. */
static int run_days(const struct day *days, int n, double coef, int lat_adjust,
                    struct fw_fwi_codes *out)
{
    struct fw_fwi_codes prev;
    for (int i = 0; i < n; i++) {
        if (i == 0 || strcmp(days[i].id, days[i - 1].id) != 0)
            fw_fwi_codes_startup(&prev);
        struct fw_fwi_opts o;
        fw_fwi_opts_init(&o, days[i].lat, days[i].mon);
        o.ffmc_coef = coef;
        o.lat_adjust = lat_adjust;
        int r = fw_fwi_daily(&prev, &days[i].w, &o, &out[i]);
        if (r < 0) {
            fprintf(stderr, "day %d (%d-%02d-%02d): fw_fwi_daily: %d\n", i + 1, days[i].yr,
                    days[i].mon, days[i].day, r);
            return r;
        }
        prev = out[i];
    }
    return 0;
}

static const char *code_names[7] = {"ffmc", "dmc", "dc", "isi", "bui", "fwi", "dsr"};

static double code_at(const struct fw_fwi_codes *c, int k)
{
    const double v[7] = {c->ffmc, c->dmc, c->dc, c->isi, c->bui, c->fwi, c->dsr};
    return v[k];
}

/*
 * Compare computed codes with an `id,yr,mon,day,lat,ffmc,...,dsr` file. Returns the number of
 * values off by more than `tol` (each printed, up to 10), or <0 for a file problem or a row that
 * does not line up with the input (wrong day or id: the comparison would be meaningless).
 */
static int compare_out(const char *path, const struct day *days, const struct fw_fwi_codes *got,
                       int n, double tol, double *max_diff)
{
    struct fw_csv c;
    int r, col[7], cid, cyr, cmon, cday, bad = 0, row = 0;
    if ((r = fw_csv_open(&c, path)) < 0)
        return r;
    r = -EINVAL;
    if ((cid = fw_csv_col(&c, "id")) < 0 || (cyr = fw_csv_col(&c, "yr")) < 0 ||
        (cmon = fw_csv_col(&c, "mon")) < 0 || (cday = fw_csv_col(&c, "day")) < 0)
        goto fail;
    for (int k = 0; k < 7; k++)
        if ((col[k] = fw_csv_col(&c, code_names[k])) < 0)
            goto fail;
    *max_diff = 0.0;
    while ((r = fw_csv_next(&c)) > 0) {
        int yr, mon, day;
        if ((r = num_int(&c, cyr, &yr)) < 0 || (r = num_int(&c, cmon, &mon)) < 0 ||
            (r = num_int(&c, cday, &day)) < 0)
            goto fail;
        if (row >= n || strcmp(fw_csv_str(&c, cid), days[row].id) != 0 || yr != days[row].yr ||
            mon != days[row].mon || day != days[row].day) {
            fprintf(stderr, "%s:%d: row does not match input day %d\n", path, c.line, row + 1);
            r = -EINVAL;
            goto fail;
        }
        for (int k = 0; k < 7; k++) {
            double want, have = code_at(&got[row], k);
            if ((r = fw_csv_num(&c, col[k], &want)) < 0)
                goto fail;
            double diff = fabs(have - want);
            if (diff > *max_diff)
                *max_diff = diff;
            if (!(diff <= tol) && bad++ < 10)
                fprintf(stderr, "%s:%d: %s: got %.9g, want %.9g\n", path, c.line, code_names[k],
                        have, want);
        }
        row++;
    }
    if (r < 0)
        goto fail;
    if (row != n) {
        fprintf(stderr, "%s: %d rows, the input has %d days\n", path, row, n);
        r = -EINVAL;
        goto fail;
    }
    fw_csv_close(&c);
    return bad;
fail:
    fw_csv_close(&c);
    return r;
}

/*
 * Compare with the 1985 printed table (one decimal): each of FFMC, DMC, DC, ISI, BUI and FWI,
 * rounded to one decimal, must equal the printed value. Returns the number of cells that differ
 * (printed when `verbose`), or <0. `*cells` is the number compared.
 */
static int compare_printed(const struct fw_fwi_codes *got, int n, int verbose, int *cells)
{
    const char *path = FIRE_DATA "vwp1985_printed_table.csv";
    struct fw_csv c;
    int r, col[6], cmth, cday, bad = 0, row = 0;
    if ((r = fw_csv_open(&c, path)) < 0)
        return r;
    r = -EINVAL;
    if ((cmth = fw_csv_col(&c, "mth")) < 0 || (cday = fw_csv_col(&c, "day")) < 0)
        goto fail;
    for (int k = 0; k < 6; k++)
        if ((col[k] = fw_csv_col(&c, code_names[k])) < 0)
            goto fail;
    *cells = 0;
    while ((r = fw_csv_next(&c)) > 0) {
        if (row >= n) {
            fprintf(stderr, "%s:%d: more rows than computed days (%d)\n", path, c.line, n);
            r = -EINVAL;
            goto fail;
        }
        for (int k = 0; k < 6; k++) {
            double want;
            if ((r = fw_csv_num(&c, col[k], &want)) < 0)
                goto fail;
            double have = round(code_at(&got[row], k) * 10.0) / 10.0;
            (*cells)++;
            if (fabs(have - want) > 1e-9) {
                bad++;
                if (verbose)
                    fprintf(stderr, "%s:%d: %s: %.4f rounds to %.1f, printed %.1f\n", path, c.line,
                            code_names[k], code_at(&got[row], k), have, want);
            }
        }
        row++;
    }
    if (r < 0)
        goto fail;
    if (row != n) {
        fprintf(stderr, "%s: %d rows, computed %d days\n", path, row, n);
        r = -EINVAL;
        goto fail;
    }
    fw_csv_close(&c);
    return bad;
fail:
    fw_csv_close(&c);
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * Reference data
 * ------------------------------------------------------------------------------------------- */

/* Acceptance: with C = 147.2 all 294 printed values of the 1985 sample are reproduced. */
FW_TEST(vwp1985_printed_table)
{
    struct day days[MAX_DAYS];
    struct fw_fwi_codes got[MAX_DAYS];
    int n = load_days(FIRE_DATA "fwi_in_vwp1985_49d.csv", days, MAX_DAYS), cells = 0;
    ASSERT_EQ(n, 49);
    ASSERT_EQ(run_days(days, n, FW_FWI_FFMC_COEF_1985, 1, got), 0);
    ASSERT_EQ(compare_printed(got, n, 1, &cells), 0);
    ASSERT_EQ(cells, 294);
}

/* The coefficient matters: the cffdrs C misses the printed table in exactly the 79 cells that
 * SCIENCE.md A.3 counts, all of them FFMC, ISI or FWI. This keeps the test above honest. */
FW_TEST(vwp1985_printed_table_cffdrs_coef_differs)
{
    struct day days[MAX_DAYS];
    struct fw_fwi_codes got[MAX_DAYS];
    int n = load_days(FIRE_DATA "fwi_in_vwp1985_49d.csv", days, MAX_DAYS), cells = 0;
    ASSERT_EQ(n, 49);
    ASSERT_EQ(run_days(days, n, FW_FWI_FFMC_COEF_CFFDRS, 1, got), 0);
    ASSERT_EQ(compare_printed(got, n, 0, &cells), 79);
    ASSERT_EQ(cells, 294);
}

/* Acceptance: the full-precision C = 147.2 run of the same sample, every code within 1e-4. */
FW_TEST(vwp1985_full_precision)
{
    struct day days[MAX_DAYS];
    struct fw_fwi_codes got[MAX_DAYS];
    double max_diff;
    int n = load_days(FIRE_DATA "fwi_in_vwp1985_49d.csv", days, MAX_DAYS);
    ASSERT_EQ(n, 49);
    ASSERT_EQ(run_days(days, n, FW_FWI_FFMC_COEF_1985, 1, got), 0);
    ASSERT_EQ(
        compare_out(FIRE_DATA "fwi_out_vwp1985_49d_coef147.2.csv", days, got, n, 1e-4, &max_diff),
        0);
    printf("max abs diff %.3g\n", max_diff);
}

/* Acceptance: cffdrs 1.10.0 test data, default C, with the latitude adjustment. */
FW_TEST(cffdrs_lat_adjust)
{
    struct day days[MAX_DAYS];
    struct fw_fwi_codes got[MAX_DAYS];
    double max_diff;
    int n = load_days(FIRE_DATA "fwi_in_cffdrs_test_fwi.csv", days, MAX_DAYS);
    ASSERT_EQ(n, 48);
    ASSERT_EQ(run_days(days, n, FW_FWI_FFMC_COEF_CFFDRS, 1, got), 0);
    ASSERT_EQ(compare_out(FIRE_DATA "fwi_out_cffdrs_test_fwi_coefdefault.csv", days, got, n, 1e-4,
                          &max_diff),
              0);
    printf("max abs diff %.3g\n", max_diff);
}

/* Acceptance: the same without the adjustment. (The data sit at 40N, in the standard bands, so
 * both runs agree; the bands themselves are checked in day_length_bands and southern_day.) */
FW_TEST(cffdrs_no_lat_adjust)
{
    struct day days[MAX_DAYS];
    struct fw_fwi_codes got[MAX_DAYS];
    double max_diff;
    int n = load_days(FIRE_DATA "fwi_in_cffdrs_test_fwi.csv", days, MAX_DAYS);
    ASSERT_EQ(n, 48);
    ASSERT_EQ(run_days(days, n, FW_FWI_FFMC_COEF_CFFDRS, 0, got), 0);
    ASSERT_EQ(compare_out(FIRE_DATA "fwi_out_cffdrs_test_fwi_nolatadj.csv", days, got, n, 1e-4,
                          &max_diff),
              0);
    printf("max abs diff %.3g\n", max_diff);
}

/* GEFF's single-step values (src/geff.f90), which cffdrs with C = 147.2 matches to 10 digits,
 * and the cffdrs default for the same day (SCIENCE.md A.3). */
FW_TEST(geff_one_day)
{
    struct fw_fwi_codes y, t;
    struct fw_fwi_weather w = {17.0, 42.0, 25.0, 0.0};
    struct fw_fwi_opts o;
    fw_fwi_codes_startup(&y);
    fw_fwi_opts_init(&o, 46.0, 4);
    o.ffmc_coef = FW_FWI_FFMC_COEF_1985;
    ASSERT_EQ(fw_fwi_daily(&y, &w, &o, &t), 0);
    ASSERT_DBL_NEAR(t.ffmc, 87.692980092774448, 1e-8);
    ASSERT_DBL_NEAR(t.dmc, 8.5450511359999997, 1e-8);
    ASSERT_DBL_NEAR(t.dc, 19.013999999999999, 1e-8);
    ASSERT_DBL_NEAR(t.isi, 10.853661073655068, 1e-8);
    ASSERT_DBL_NEAR(t.bui, 8.4904265358371838, 1e-8);
    ASSERT_DBL_NEAR(t.fwi, 10.096371392382368, 1e-8);

    o.ffmc_coef = FW_FWI_FFMC_COEF_CFFDRS;
    ASSERT_EQ(fw_fwi_daily(&y, &w, &o, &t), 0);
    ASSERT_DBL_NEAR(t.ffmc, 87.6493555, 1e-7);
    ASSERT_DBL_NEAR(t.isi, 10.77623575, 1e-7);
    ASSERT_DBL_NEAR(t.fwi, 10.0361864, 1e-7);
}

/* Acceptance: cffdrs hffmc, 480 one-hour steps from FFMC 85, within 1e-4. */
FW_TEST(hourly_ffmc_cffdrs)
{
    struct fw_csv in, out;
    int r, n = 0, bad = 0;
    int ci[4], co;
    static const char *names[] = {"temp", "rh", "ws", "prec"};
    double ffmc = FW_FWI_STARTUP_FFMC, max_diff = 0.0;
    ASSERT_EQ(fw_csv_open(&in, FIRE_DATA "hffmc_in_cffdrs_test_hffmc.csv"), 0);
    ASSERT_EQ(fw_csv_open(&out, FIRE_DATA "hffmc_out_cffdrs_test_hffmc.csv"), 0);
    for (int i = 0; i < 4; i++)
        ASSERT_GE(ci[i] = fw_csv_col(&in, names[i]), 0);
    ASSERT_GE(co = fw_csv_col(&out, "hffmc"), 0);
    while ((r = fw_csv_next(&in)) > 0) {
        struct fw_fwi_weather w;
        double want;
        ASSERT_EQ(fw_csv_next(&out), 1);
        ASSERT_EQ(fw_csv_num(&in, ci[0], &w.temp_c), 0);
        ASSERT_EQ(fw_csv_num(&in, ci[1], &w.rh_pct), 0);
        ASSERT_EQ(fw_csv_num(&in, ci[2], &w.wind_kmh), 0);
        ASSERT_EQ(fw_csv_num(&in, ci[3], &w.rain_mm), 0);
        ASSERT_EQ(fw_csv_num(&out, co, &want), 0);
        ASSERT_EQ(fw_fwi_hourly_ffmc(ffmc, &w, 1.0, FW_FWI_FFMC_COEF_CFFDRS, &ffmc), 0);
        if (fabs(ffmc - want) > max_diff)
            max_diff = fabs(ffmc - want);
        if (!(fabs(ffmc - want) <= 1e-4) && bad++ < 10)
            fprintf(stderr, "%s:%d: got %.9g, want %.9g\n", out.path, out.line, ffmc, want);
        n++;
    }
    ASSERT_EQ(r, 0);
    ASSERT_EQ(fw_csv_next(&out), 0);
    fw_csv_close(&in);
    fw_csv_close(&out);
    printf("max abs diff %.3g\n", max_diff);
    ASSERT_EQ(n, 480);
    ASSERT_EQ(bad, 0);
}

/* Acceptance: fireDanger's Nesterov index, classic and modified, within 1e-4. The series starts
 * at 0 on its first day (fireDanger's convention); the step function applies from day 2. */
FW_TEST(nesterov_reference)
{
    struct fw_csv in, out;
    int r, n = 0, ct, crh, cp, cni, cmod;
    struct fw_fwi_nesterov ni = {0.0, 0.0};
    ASSERT_EQ(fw_csv_open(&in, FIRE_DATA "nesterov_in_example.csv"), 0);
    ASSERT_EQ(fw_csv_open(&out, FIRE_DATA "nesterov_out_example.csv"), 0);
    ASSERT_GE(ct = fw_csv_col(&in, "temp"), 0);
    ASSERT_GE(crh = fw_csv_col(&in, "rh"), 0);
    ASSERT_GE(cp = fw_csv_col(&in, "prec"), 0);
    ASSERT_GE(cni = fw_csv_col(&out, "ni"), 0);
    ASSERT_GE(cmod = fw_csv_col(&out, "ni_modified"), 0);
    while ((r = fw_csv_next(&in)) > 0) {
        double t, rh, p, want, want_mod;
        ASSERT_EQ(fw_csv_next(&out), 1);
        ASSERT_EQ(fw_csv_num(&in, ct, &t), 0);
        ASSERT_EQ(fw_csv_num(&in, crh, &rh), 0);
        ASSERT_EQ(fw_csv_num(&in, cp, &p), 0);
        ASSERT_EQ(fw_csv_num(&out, cni, &want), 0);
        ASSERT_EQ(fw_csv_num(&out, cmod, &want_mod), 0);
        if (n > 0)
            ASSERT_EQ(fw_fwi_nesterov(ni.ni, t, rh, p, &ni), 0);
        ASSERT_DBL_NEAR(ni.ni, want, 1e-4);
        ASSERT_DBL_NEAR(ni.ni_modified, want_mod, 1e-4);
        n++;
    }
    ASSERT_EQ(r, 0);
    fw_csv_close(&in);
    fw_csv_close(&out);
    ASSERT_EQ(n, 10);
}

/* The modified index's rain classes at their edges (fireDanger: rain under 0.1 mm is none,
 * classes closed above), and the resets: rain >= 3 mm or a sub-zero temperature. At 100 %
 * humidity the day adds nothing, so ni_modified is 100 K(P). */
FW_TEST(nesterov_rain_classes)
{
    static const struct {
        double p, k;
    } c[] = {{0.0, 1.0}, {0.09, 1.0}, {0.1, 0.8}, {0.9, 0.8}, {0.91, 0.6},
             {2.9, 0.6}, {2.95, 0.4}, {3.0, 0.0}, {25.0, 0.0}};
    struct fw_fwi_nesterov ni;
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        ASSERT_EQ(fw_fwi_nesterov(100.0, 20.0, 100.0, c[i].p, &ni), 0);
        ASSERT_DBL_NEAR(ni.ni, c[i].p >= 3.0 ? 0.0 : 100.0, 1e-9);
        ASSERT_DBL_NEAR(ni.ni_modified, 100.0 * c[i].k, 1e-9);
    }
    ASSERT_EQ(fw_fwi_nesterov(100.0, -0.1, 30.0, 0.0, &ni), 0);
    ASSERT_DBL_NEAR(ni.ni, 0.0, 0);
    ASSERT_EQ(fw_fwi_nesterov(100.0, 0.0, 30.0, 0.0, &ni), 0);
    ASSERT_DBL_NEAR(ni.ni, 100.0, 0);
    /* 0 % humidity: the Magnus dew point's limit, -237.7 degC, not a NaN. */
    ASSERT_EQ(fw_fwi_nesterov(0.0, 10.0, 0.0, 0.0, &ni), 0);
    ASSERT_DBL_NEAR(ni.ni, 10.0 * (10.0 + 237.7), 1e-9);
}

/* ---------------------------------------------------------------------------------------------
 * Conventions
 * ------------------------------------------------------------------------------------------- */

/* Band edges as cffdrs: the upper edge belongs to the band (30N is "20N", 10S is "20S"). */
FW_TEST(day_length_bands)
{
    /* DMC, May: 46N 13.9, 20N 9.9, equator 9.0, 20S 8.1, 40S 6.8. */
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(90.0, 5, 1), 13.9, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(30.0001, 5, 1), 13.9, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(30.0, 5, 1), 9.9, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(10.0001, 5, 1), 9.9, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(10.0, 5, 1), 9.0, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(-9.9999, 5, 1), 9.0, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(-10.0, 5, 1), 8.1, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(-29.9999, 5, 1), 8.1, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(-30.0, 5, 1), 6.8, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(-90.0, 5, 1), 6.8, 0);
    /* Without the adjustment the 46N table applies everywhere. */
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(-45.0, 5, 0), 13.9, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(0.0, 1, 0), 6.5, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(0.0, 12, 1), 9.0, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(-45.0, 1, 1), 11.5, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(-20.0, 12, 1), 10.2, 0);
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(20.0, 12, 1), 7.8, 0);

    /* DC, July: north 6.4, tropics 1.4, south -1.6; edges at 20 and -20. */
    ASSERT_DBL_NEAR(fw_fwi_dc_day_factor(20.0001, 7, 1), 6.4, 0);
    ASSERT_DBL_NEAR(fw_fwi_dc_day_factor(20.0, 7, 1), 1.4, 0);
    ASSERT_DBL_NEAR(fw_fwi_dc_day_factor(-19.9999, 7, 1), 1.4, 0);
    ASSERT_DBL_NEAR(fw_fwi_dc_day_factor(-20.0, 7, 1), -1.6, 0);
    ASSERT_DBL_NEAR(fw_fwi_dc_day_factor(-45.0, 1, 1), 6.4, 0);
    ASSERT_DBL_NEAR(fw_fwi_dc_day_factor(-45.0, 1, 0), -1.6, 0);
    /* 25N: DMC in the 20N band, DC in the northern one (the edges differ). */
    ASSERT_DBL_NEAR(fw_fwi_dmc_day_length(25.0, 7, 1), 10.1, 0);
    ASSERT_DBL_NEAR(fw_fwi_dc_day_factor(25.0, 7, 1), 6.4, 0);
}

/* fw_fwi_daily uses the band of opts.lat: a southern summer day dries the DMC and DC with the
 * southern tables, and with the 46N ones when the adjustment is off. */
FW_TEST(southern_day)
{
    struct fw_fwi_codes y, t;
    struct fw_fwi_weather w = {28.0, 30.0, 15.0, 0.0};
    struct fw_fwi_opts o;
    fw_fwi_codes_startup(&y);
    fw_fwi_opts_init(&o, -35.0, 1);
    ASSERT_EQ(fw_fwi_daily(&y, &w, &o, &t), 0);
    /* By hand: DMC = 6 + 1.894 (28 + 1.1)(100 - 30) 11.5 1e-4; DC = 15 + (0.36 (28 + 2.8) + 6.4)/2.
     */
    ASSERT_DBL_NEAR(t.dmc, 6.0 + 1.894 * 29.1 * 70.0 * 11.5e-4, 1e-12);
    ASSERT_DBL_NEAR(t.dc, 15.0 + (0.36 * 30.8 + 6.4) / 2.0, 1e-12);
    o.lat_adjust = 0;
    ASSERT_EQ(fw_fwi_daily(&y, &w, &o, &t), 0);
    ASSERT_DBL_NEAR(t.dmc, 6.0 + 1.894 * 29.1 * 70.0 * 6.5e-4, 1e-12);
    ASSERT_DBL_NEAR(t.dc, 15.0 + (0.36 * 30.8 - 1.6) / 2.0, 1e-12);
}

/* With the cffdrs C the FFMC <-> moisture round trip is exact: FFMC 101 is zero moisture, so a
 * bone-dry day keeps 101, and ISI from FFMC 0 (saturated) is tiny but not negative. */
FW_TEST(ffmc_bounds)
{
    struct fw_fwi_weather hot = {60.0, 0.0, 0.0, 0.0};
    ASSERT_DBL_NEAR(fw_fwi_ffmc(101.0, &hot, FW_FWI_FFMC_COEF_CFFDRS), 101.0, 0);
    ASSERT_DBL_NEAR(fw_fwi_ffmc(101.0, &hot, FW_FWI_FFMC_COEF_1985), 101.0, 0);
    struct fw_fwi_weather flood = {5.0, 100.0, 0.0, 500.0};
    double f = fw_fwi_ffmc(90.0, &flood, FW_FWI_FFMC_COEF_CFFDRS);
    ASSERT_TRUE(f >= 0.0 && f < 10.0);
    ASSERT_TRUE(fw_fwi_isi(0.0, 0.0, FW_FWI_FFMC_COEF_CFFDRS) >= 0.0);
    ASSERT_DBL_NEAR(fw_fwi_bui(0.0, 0.0), 0.0, 0);
    ASSERT_DBL_NEAR(fw_fwi_bui(0.0, 100.0), 0.0, 0);
    ASSERT_DBL_NEAR(fw_fwi_fwi(0.0, 50.0), 0.0, 0);
    ASSERT_DBL_NEAR(fw_fwi_dsr(0.0), 0.0, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Validation
 * ------------------------------------------------------------------------------------------- */

FW_TEST(daily_rejects_bad_input)
{
    const struct fw_fwi_weather good = {20.0, 40.0, 10.0, 0.0};
    const struct fw_fwi_weather bad[] = {
        {NAN, 40.0, 10.0, 0.0},       {INFINITY, 40.0, 10.0, 0.0}, {-90.5, 40.0, 10.0, 0.0},
        {60.5, 40.0, 10.0, 0.0},      {20.0, -0.1, 10.0, 0.0},     {20.0, 100.1, 10.0, 0.0},
        {20.0, NAN, 10.0, 0.0},       {20.0, 40.0, -1.0, 0.0},     {20.0, 40.0, 401.0, 0.0},
        {20.0, 40.0, NAN, 0.0},       {20.0, 40.0, 10.0, -0.1},    {20.0, 40.0, 10.0, 2001.0},
        {20.0, 40.0, 10.0, INFINITY},
    };
    struct fw_fwi_codes y, t, sentinel;
    struct fw_fwi_opts o;
    fw_fwi_codes_startup(&y);
    fw_fwi_opts_init(&o, 45.0, 6);
    memset(&sentinel, 0x5a, sizeof(sentinel));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = sentinel;
        if (fw_fwi_daily(&y, &bad[i], &o, &t) != -EINVAL) {
            fprintf(stderr, "accepted weather #%zu\n", i);
            ASSERT_TRUE(0);
        }
        ASSERT_TRUE(memcmp(&t, &sentinel, sizeof(t)) == 0);
        ASSERT_EQ(fw_fwi_weather_check(&bad[i]), -EINVAL);
    }
    ASSERT_EQ(fw_fwi_daily(&y, &good, &o, &t), 0);

    struct fw_fwi_opts bo = o;
    bo.month = 0;
    ASSERT_EQ(fw_fwi_daily(&y, &good, &bo, &t), -EINVAL);
    bo.month = 13;
    ASSERT_EQ(fw_fwi_daily(&y, &good, &bo, &t), -EINVAL);
    bo = o;
    bo.lat = 90.5;
    ASSERT_EQ(fw_fwi_daily(&y, &good, &bo, &t), -EINVAL);
    bo.lat = NAN;
    ASSERT_EQ(fw_fwi_daily(&y, &good, &bo, &t), -EINVAL);
    bo = o;
    bo.ffmc_coef = 0.0;
    ASSERT_EQ(fw_fwi_daily(&y, &good, &bo, &t), -EINVAL);
    bo.ffmc_coef = NAN;
    ASSERT_EQ(fw_fwi_daily(&y, &good, &bo, &t), -EINVAL);

    struct fw_fwi_codes by = y;
    by.ffmc = 101.01;
    ASSERT_EQ(fw_fwi_daily(&by, &good, &o, &t), -EINVAL);
    by = y;
    by.ffmc = -0.01;
    ASSERT_EQ(fw_fwi_daily(&by, &good, &o, &t), -EINVAL);
    by = y;
    by.dmc = -1.0;
    ASSERT_EQ(fw_fwi_daily(&by, &good, &o, &t), -EINVAL);
    by = y;
    by.dc = NAN;
    ASSERT_EQ(fw_fwi_daily(&by, &good, &o, &t), -EINVAL);
    by = y;
    by.dmc = INFINITY;
    ASSERT_EQ(fw_fwi_daily(&by, &good, &o, &t), -EINVAL);

    double f;
    ASSERT_EQ(fw_fwi_hourly_ffmc(85.0, &good, 0.0, FW_FWI_FFMC_COEF_CFFDRS, &f), -EINVAL);
    ASSERT_EQ(fw_fwi_hourly_ffmc(85.0, &good, 25.0, FW_FWI_FFMC_COEF_CFFDRS, &f), -EINVAL);
    ASSERT_EQ(fw_fwi_hourly_ffmc(102.0, &good, 1.0, FW_FWI_FFMC_COEF_CFFDRS, &f), -EINVAL);
    ASSERT_EQ(fw_fwi_hourly_ffmc(85.0, &bad[5], 1.0, FW_FWI_FFMC_COEF_CFFDRS, &f), -EINVAL);
    struct fw_fwi_nesterov ni;
    ASSERT_EQ(fw_fwi_nesterov(-1.0, 20.0, 40.0, 0.0, &ni), -EINVAL);
    ASSERT_EQ(fw_fwi_nesterov(0.0, 20.0, 101.0, 0.0, &ni), -EINVAL);
    ASSERT_EQ(fw_fwi_nesterov(0.0, NAN, 40.0, 0.0, &ni), -EINVAL);
}

/* The edges of the ranges are accepted; 100 % humidity is computed as 99.9999 % (cffdrs). */
FW_TEST(daily_accepts_edges)
{
    struct fw_fwi_codes y, t, t2;
    struct fw_fwi_opts o;
    fw_fwi_codes_startup(&y);
    fw_fwi_opts_init(&o, -90.0, 12);
    struct fw_fwi_weather w = {FW_FWI_TEMP_MIN, 0.0, 0.0, 0.0};
    ASSERT_EQ(fw_fwi_daily(&y, &w, &o, &t), 0);
    w = (struct fw_fwi_weather){FW_FWI_TEMP_MAX, 100.0, FW_FWI_WIND_MAX, FW_FWI_RAIN_MAX};
    o.lat = 90.0;
    ASSERT_EQ(fw_fwi_daily(&y, &w, &o, &t), 0);
    w = (struct fw_fwi_weather){15.0, 100.0, 10.0, 0.0};
    ASSERT_EQ(fw_fwi_daily(&y, &w, &o, &t), 0);
    w.rh_pct = 99.9999;
    ASSERT_EQ(fw_fwi_daily(&y, &w, &o, &t2), 0);
    ASSERT_TRUE(memcmp(&t, &t2, sizeof(t)) == 0);
}

/* `today` may be `yesterday`: the model module updates its state in place. */
FW_TEST(daily_in_place)
{
    struct fw_fwi_codes c, t;
    struct fw_fwi_weather w = {25.0, 20.0, 30.0, 3.0};
    struct fw_fwi_opts o;
    fw_fwi_codes_startup(&c);
    fw_fwi_opts_init(&o, 50.0, 7);
    ASSERT_EQ(fw_fwi_daily(&c, &w, &o, &t), 0);
    ASSERT_EQ(fw_fwi_daily(&c, &w, &o, &c), 0);
    ASSERT_TRUE(memcmp(&c, &t, sizeof(c)) == 0);
}

/* ---------------------------------------------------------------------------------------------
 * Properties over random weather
 * ------------------------------------------------------------------------------------------- */

/* splitmix64: a fixed seed gives the same "random" days on every run and platform. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(double lo, double hi)
{
    return lo + (hi - lo) * rng_unit();
}

/* Weather that visits the corners: saturated and bone-dry air, calm and gales, deluges, frost,
 * the extremes of the accepted ranges, and ordinary days in between. */
static void random_weather(struct fw_fwi_weather *w)
{
    double u = rng_unit();
    w->temp_c = u < 0.05   ? FW_FWI_TEMP_MIN
                : u < 0.10 ? FW_FWI_TEMP_MAX
                : u < 0.30 ? rng_range(-40.0, 0.0)
                           : rng_range(0.0, 45.0);
    u = rng_unit();
    w->rh_pct = u < 0.10 ? 100.0 : u < 0.15 ? 0.0 : rng_range(0.0, 100.0);
    u = rng_unit();
    w->wind_kmh = u < 0.15 ? 0.0 : u < 0.18 ? FW_FWI_WIND_MAX : rng_range(0.0, 80.0);
    u = rng_unit();
    w->rain_mm = u < 0.55   ? 0.0
                 : u < 0.80 ? rng_range(0.0, 5.0)
                 : u < 0.95 ? rng_range(5.0, 100.0)
                 : u < 0.98 ? rng_range(100.0, FW_FWI_RAIN_MAX)
                            : FW_FWI_RAIN_MAX;
}

static int codes_in_range(const struct fw_fwi_codes *c)
{
    return c->ffmc >= 0.0 && c->ffmc <= 101.0 && c->dmc >= 0.0 && isfinite(c->dmc) &&
           c->dc >= 0.0 && isfinite(c->dc) && c->isi >= 0.0 && isfinite(c->isi) && c->bui >= 0.0 &&
           isfinite(c->bui) && c->fwi >= 0.0 && isfinite(c->fwi) && c->dsr >= 0.0 &&
           isfinite(c->dsr);
}

/* Acceptance: 200,000 random days (400 seasons of 500 days, at random latitudes, both
 * coefficients, with and without adjustment) keep every code in its range. */
FW_TEST(property_daily_ranges)
{
    rng_state = 20240601;
    int days = 0;
    for (int season = 0; season < 400; season++) {
        struct fw_fwi_codes c;
        struct fw_fwi_opts o;
        fw_fwi_codes_startup(&c);
        fw_fwi_opts_init(&o, rng_range(-90.0, 90.0), 1);
        o.lat_adjust = season % 3 != 0;
        o.ffmc_coef = season % 2 ? FW_FWI_FFMC_COEF_1985 : FW_FWI_FFMC_COEF_CFFDRS;
        for (int d = 0; d < 500; d++, days++) {
            struct fw_fwi_weather w;
            random_weather(&w);
            o.month = 1 + (d / 30) % 12;
            int r = fw_fwi_daily(&c, &w, &o, &c);
            if (r != 0 || !codes_in_range(&c)) {
                fprintf(stderr,
                        "season %d day %d: T %g H %g W %g P %g lat %g: r %d, FFMC %g DMC %g "
                        "DC %g ISI %g BUI %g FWI %g DSR %g\n",
                        season, d, w.temp_c, w.rh_pct, w.wind_kmh, w.rain_mm, o.lat, r, c.ffmc,
                        c.dmc, c.dc, c.isi, c.bui, c.fwi, c.dsr);
                ASSERT_TRUE(0);
            }
        }
    }
    ASSERT_EQ(days, 200000);
}

/* The same for the hourly FFMC (100,000 random hours) and the Nesterov index. */
FW_TEST(property_hourly_and_nesterov)
{
    rng_state = 77;
    double f = FW_FWI_STARTUP_FFMC;
    struct fw_fwi_nesterov ni = {0.0, 0.0};
    for (int h = 0; h < 100000; h++) {
        struct fw_fwi_weather w;
        random_weather(&w);
        double coef = h % 2 ? FW_FWI_FFMC_COEF_1985 : FW_FWI_FFMC_COEF_CFFDRS;
        ASSERT_EQ(fw_fwi_hourly_ffmc(f, &w, 1.0 + (h % 3), coef, &f), 0);
        ASSERT_TRUE(f >= 0.0 && f <= 101.0);
        ASSERT_EQ(fw_fwi_nesterov(ni.ni, w.temp_c, w.rh_pct, w.rain_mm, &ni), 0);
        ASSERT_TRUE(ni.ni >= 0.0 && isfinite(ni.ni));
        ASSERT_TRUE(ni.ni_modified >= 0.0 && ni.ni_modified <= ni.ni);
    }
}

/* Monotonicity that the equations promise and a sign slip would break: more rain never gives a
 * higher FFMC, DMC or DC, and more wind never a lower ISI. */
FW_TEST(property_monotone)
{
    rng_state = 4242;
    for (int i = 0; i < 20000; i++) {
        struct fw_fwi_weather w;
        random_weather(&w);
        struct fw_fwi_weather wet = w, windy = w;
        wet.rain_mm = w.rain_mm + rng_range(0.0, 50.0);
        windy.wind_kmh = w.wind_kmh + rng_range(0.0, 400.0 - w.wind_kmh);
        double f0 = rng_range(0.0, 101.0), p0 = rng_range(0.0, 300.0), d0 = rng_range(0, 800);
        int m = 1 + i % 12;
        ASSERT_TRUE(fw_fwi_ffmc(f0, &wet, FW_FWI_FFMC_COEF_CFFDRS) <=
                    fw_fwi_ffmc(f0, &w, FW_FWI_FFMC_COEF_CFFDRS) + 1e-9);
        /* DMC: at the 1.5 mm threshold eqs. 12-15 with r_e -> 0 give 0.99889 P + 0.0004, a
         * hair above P for a DMC under 0.4: that step is in the equations, not a bug. */
        ASSERT_TRUE(fw_fwi_dmc(p0, &wet, fw_fwi_dmc_day_length(45.0, m, 1)) <=
                    fw_fwi_dmc(p0, &w, fw_fwi_dmc_day_length(45.0, m, 1)) + 1e-3);
        ASSERT_TRUE(fw_fwi_dc(d0, &wet, fw_fwi_dc_day_factor(45.0, m, 1)) <=
                    fw_fwi_dc(d0, &w, fw_fwi_dc_day_factor(45.0, m, 1)) + 1e-9);
        ASSERT_TRUE(fw_fwi_isi(f0, windy.wind_kmh, FW_FWI_FFMC_COEF_CFFDRS) >=
                    fw_fwi_isi(f0, w.wind_kmh, FW_FWI_FFMC_COEF_CFFDRS));
    }
}
