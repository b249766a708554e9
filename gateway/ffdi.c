/* SPDX-License-Identifier: MIT */
/*
 * McArthur FFDI Mark 5, the metric Keetch-Byram Drought Index and the Griffiths drought factor,
 * written from the equations in Noble et al. 1980 and Finkele et al. 2006 and checked against
 * xclim's hand-calculated test values and GEFF's KBDI example (tests/unit/test_ffdi.c). The
 * event logic of the drought factor follows xclim, because that is the form whose numbers are
 * published; docs/fwi.md lists the choices.
 */
#include "forestwatch/ffdi.h"

#include <errno.h>
#include <math.h>

static int in_range(double v, double lo, double hi)
{
    /* NaN fails both comparisons, infinities fail one of them. */
    return v >= lo && v <= hi;
}

/* ---------------------------------------------------------------------------------------------
 * Keetch-Byram Drought Index
 * ------------------------------------------------------------------------------------------- */

void fw_ffdi_kbdi_opts_init(struct fw_ffdi_kbdi_opts *o, double rain_annual_mm)
{
    o->rain_annual_mm = rain_annual_mm;
    o->rann_coef = FW_FFDI_KBDI_RANN_COEF;
    o->order = FW_FFDI_KBDI_ET_FIRST;
}

void fw_ffdi_kbdi_init(struct fw_ffdi_kbdi *k, double kbdi_mm)
{
    k->kbdi_mm = kbdi_mm;
    k->runoff_left_mm = FW_FFDI_KBDI_RUNOFF_MM;
}

static double kbdi_et(double q, double tmax, const struct fw_ffdi_kbdi_opts *o)
{
    return 1e-3 * (FW_FFDI_KBDI_MAX - q) * (0.968 * exp(0.0875 * tmax + 1.5552) - 8.30) /
           (1.0 + 10.88 * exp(-o->rann_coef * o->rain_annual_mm));
}

static double clamp_kbdi(double q)
{
    if (q < 0.0)
        return 0.0;
    return q > FW_FFDI_KBDI_MAX ? FW_FFDI_KBDI_MAX : q;
}

int fw_ffdi_kbdi_daily(const struct fw_ffdi_kbdi *yesterday, double rain_mm, double tmax_c,
                       const struct fw_ffdi_kbdi_opts *o, struct fw_ffdi_kbdi *today)
{
    if (!in_range(rain_mm, 0.0, 2000.0) || !in_range(tmax_c, -90.0, 60.0) ||
        !in_range(yesterday->kbdi_mm, 0.0, FW_FFDI_KBDI_MAX) ||
        !in_range(yesterday->runoff_left_mm, 0.0, FW_FFDI_KBDI_RUNOFF_MM) ||
        !in_range(o->rain_annual_mm, 0.0, 20000.0) || !in_range(o->rann_coef, 1e-12, 1.0) ||
        (o->order != FW_FFDI_KBDI_ET_FIRST && o->order != FW_FFDI_KBDI_RAIN_FIRST))
        return -EINVAL;

    /* Interception: a dry day restores the full 5 mm; a run of rain days shares one 5 mm. */
    double left = yesterday->runoff_left_mm, peff;
    if (rain_mm <= 0.0) {
        left = FW_FFDI_KBDI_RUNOFF_MM;
        peff = 0.0;
    } else {
        double lost = rain_mm < left ? rain_mm : left;
        left -= lost;
        peff = rain_mm - lost;
    }

    double q = yesterday->kbdi_mm;
    if (o->order == FW_FFDI_KBDI_ET_FIRST) {
        q = clamp_kbdi(q + kbdi_et(q, tmax_c, o) - peff);
    } else {
        q = clamp_kbdi(q - peff);
        q = clamp_kbdi(q + kbdi_et(q, tmax_c, o));
    }
    today->kbdi_mm = q;
    today->runoff_left_mm = left;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Griffiths drought factor
 * ------------------------------------------------------------------------------------------- */

/* x of one rain event: N^1.3 / (N^1.3 + P - 2); P > 2 always, since every event day has > 2 mm. */
static double event_x(int n, double total)
{
    double nn = pow((double)n, 1.3);
    return nn / (nn + total - 2.0);
}

int fw_ffdi_drought_factor(const double rain_mm[FW_FFDI_DF_DAYS], double kbdi_mm,
                           enum fw_ffdi_df_limit limit, double *df)
{
    if (!in_range(kbdi_mm, 0.0, FW_FFDI_KBDI_MAX) ||
        (limit != FW_FFDI_DF_XLIM && limit != FW_FFDI_DF_DISCRETE))
        return -EINVAL;
    for (int i = 0; i < FW_FFDI_DF_DAYS; i++)
        if (!in_range(rain_mm[i], 0.0, 2000.0))
            return -EINVAL;

    double x = 1.0, total = 0.0, peak = 0.0;
    int in_event = 0, age = 0;
    for (int i = 0; i <= FW_FFDI_DF_DAYS; i++) {
        /* One step past the window closes an event that runs up to today. */
        int wet = i < FW_FFDI_DF_DAYS && rain_mm[i] > 2.0;
        if (wet) {
            in_event = 1;
            total += rain_mm[i];
            /* >= : of equal days the most recent one (smallest N) counts, as in xclim. */
            if (rain_mm[i] >= peak) {
                peak = rain_mm[i];
                age = FW_FFDI_DF_DAYS - i;
            }
        } else if (in_event) {
            double xe = event_x(age, total);
            if (xe < x)
                x = xe;
            in_event = 0;
            total = 0.0;
            peak = 0.0;
        }
    }

    if (limit == FW_FFDI_DF_XLIM) {
        /* Eq. 14. The denominator stays positive up to a KBDI of 213.5 mm. */
        double xlim =
            kbdi_mm < 20.0 ? 1.0 / (1.0 + 0.1135 * kbdi_mm) : 75.0 / (270.525 - 1.267 * kbdi_mm);
        if (x > xlim)
            x = xlim;
    }

    double d = 10.5 * (1.0 - exp(-(kbdi_mm + 30.0) / 40.0)) * (41.0 * x * x + x) /
               (40.0 * x * x + x + 1.0);
    if (limit == FW_FFDI_DF_DISCRETE) {
        double cap = kbdi_mm < 25.0    ? 6.0
                     : kbdi_mm < 42.0  ? 7.0
                     : kbdi_mm < 65.0  ? 8.0
                     : kbdi_mm < 100.0 ? 9.0
                                       : 10.0;
        if (d > cap)
            d = cap;
    }
    *df = d > 10.0 ? 10.0 : d;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * FFDI Mark 5
 * ------------------------------------------------------------------------------------------- */

int fw_ffdi_mark5(double drought_factor, double temp_c, double rh_pct, double wind_kmh,
                  double *ffdi)
{
    if (!in_range(drought_factor, 0.0, 10.0) || !in_range(temp_c, -90.0, 60.0) ||
        !in_range(rh_pct, 0.0, 100.0) || !in_range(wind_kmh, 0.0, 400.0))
        return -EINVAL;
    /* 2 e^(-0.45) D^0.987 ... rather than ln D, so a drought factor of 0 gives 0 without
     * passing through log(0). */
    *ffdi = 2.0 * exp(-0.450 + 0.0338 * temp_c - 0.0345 * rh_pct + 0.0234 * wind_kmh) *
            pow(drought_factor, 0.987);
    return 0;
}
