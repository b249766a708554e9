/* SPDX-License-Identifier: MIT */
/*
 * The Canadian FWI System equations (Van Wagner & Pickett 1985, FTR-33; Van Wagner 1987,
 * FTR-35), written from the published equations and checked number for number against the
 * cffdrs R package 1.10.0 and the 1985 printed table (tests/unit/test_fwi.c). Where the printed
 * equations and the FORTRAN/cffdrs forms differ numerically (eqs. 12 and 15) the FORTRAN form is
 * used, because only it reproduces the printed table. Every function is pure; validation happens
 * once, in the entry points fw_fwi_daily(), fw_fwi_hourly_ffmc() and fw_fwi_nesterov().
 */
#include "forestwatch/fwi.h"

#include <errno.h>
#include <math.h>

/* ---------------------------------------------------------------------------------------------
 * Day-length tables (Lawson & Armitage 2008, as coded in cffdrs)
 * ------------------------------------------------------------------------------------------- */

/* DMC effective day length L_e, hours, January..December. */
static const double dmc_le_46n[12] = {6.5,  7.5,  9.0, 12.8, 13.9, 13.9,
                                      12.4, 10.9, 9.4, 8.0,  7.0,  6.0};
static const double dmc_le_20n[12] = {7.9, 8.4, 8.9, 9.5, 9.9, 10.2, 10.1, 9.7, 9.1, 8.6, 8.1, 7.8};
static const double dmc_le_20s[12] = {10.1, 9.6, 9.1, 8.5, 8.1, 7.8, 7.9, 8.3, 8.9, 9.4, 9.9, 10.2};
static const double dmc_le_40s[12] = {11.5, 10.5, 9.2, 7.9,  6.8,  6.2,
                                      6.5,  7.4,  8.7, 10.0, 11.2, 11.8};
#define DMC_LE_EQUATOR 9.0

/* DC day-length factor L_f, January..December. The southern table is the northern one shifted
 * by six months. */
static const double dc_lf_north[12] = {-1.6, -1.6, -1.6, 0.9, 3.8,  5.8,
                                       6.4,  5.0,  2.4,  0.4, -1.6, -1.6};
static const double dc_lf_south[12] = {6.4,  5.0,  2.4,  0.4, -1.6, -1.6,
                                       -1.6, -1.6, -1.6, 0.9, 3.8,  5.8};
#define DC_LF_EQUATOR 1.4

static int month_index(int month)
{
    /* The individual equations do not validate (fw_fwi_daily() does); a bad month must still not
     * index out of bounds, so it is folded into range here. */
    if (month < 1)
        return 0;
    if (month > 12)
        return 11;
    return month - 1;
}

double fw_fwi_dmc_day_length(double lat, int month, int lat_adjust)
{
    int i = month_index(month);
    /* Band edges exactly as cffdrs: the upper edge of each band belongs to it, so 30N is in the
     * 20N band and 10S in the 20S band. The DMC and DC edges differ (30/10 vs 20). */
    if (!lat_adjust || lat > 30.0)
        return dmc_le_46n[i];
    if (lat > 10.0)
        return dmc_le_20n[i];
    if (lat > -10.0)
        return DMC_LE_EQUATOR;
    if (lat > -30.0)
        return dmc_le_20s[i];
    return dmc_le_40s[i];
}

double fw_fwi_dc_day_factor(double lat, int month, int lat_adjust)
{
    int i = month_index(month);
    if (!lat_adjust || lat > 20.0)
        return dc_lf_north[i];
    if (lat > -20.0)
        return DC_LF_EQUATOR;
    return dc_lf_south[i];
}

/* ---------------------------------------------------------------------------------------------
 * The codes
 * ------------------------------------------------------------------------------------------- */

/* cffdrs fwi() computes with 99.9999 % instead of 100 % humidity; the daily codes follow it so
 * that a direct caller gets what fw_fwi_daily() gets. */
static double rh_daily(double rh)
{
    return rh >= 100.0 ? 99.9999 : rh;
}

/* Eq. 1: fine-fuel moisture content (%) from an FFMC. */
static double ffmc_to_moisture(double ffmc, double coef)
{
    return coef * (101.0 - ffmc) / (59.5 + ffmc);
}

/* Eqs. 3a/3b: rain phase on moisture `mo` with effective rain `rf` > 0, capped at 250 %. */
static double ffmc_rain(double mo, double rf)
{
    double m = mo + 42.5 * rf * exp(-100.0 / (251.0 - mo)) * (1.0 - exp(-6.93 / rf));
    if (mo > 150.0)
        m += 0.0015 * (mo - 150.0) * (mo - 150.0) * sqrt(rf);
    return m > 250.0 ? 250.0 : m;
}

/* Eqs. 4-9: drying towards E_d or wetting towards E_w. `k_scale` is 0.581 per day (daily) or
 * 0.0579 per hour (Van Wagner 1977) and `steps` the number of those units elapsed. */
static double ffmc_equilibrate(double mo, double t, double h, double w, double k_scale,
                               double steps)
{
    double tail = 0.18 * (21.1 - t) * (1.0 - exp(-0.115 * h));
    double ed = 0.942 * pow(h, 0.679) + 11.0 * exp((h - 100.0) / 10.0) + tail;
    double ew = 0.618 * pow(h, 0.753) + 10.0 * exp((h - 100.0) / 10.0) + tail;
    double sw = sqrt(w);

    if (mo > ed) {
        double hr = h / 100.0;
        double ko = 0.424 * (1.0 - pow(hr, 1.7)) + 0.0694 * sw * (1.0 - pow(hr, 8.0));
        double kd = k_scale * ko * exp(0.0365 * t);
        return ed + (mo - ed) * pow(10.0, -kd * steps);
    }
    if (mo < ew) {
        double hr = (100.0 - h) / 100.0;
        double kl = 0.424 * (1.0 - pow(hr, 1.7)) + 0.0694 * sw * (1.0 - pow(hr, 8.0));
        double kw = k_scale * kl * exp(0.0365 * t);
        return ew - (ew - mo) * pow(10.0, -kw * steps);
    }
    return mo;
}

/* Eq. 10, clamped to 0..101: an extreme E_d can be negative (very hot, very dry air), and with
 * C = 147.2 F(0) is 101.05, so both ends need the clamp cffdrs applies. */
static double moisture_to_ffmc(double m, double coef)
{
    double f = 59.5 * (250.0 - m) / (coef + m);
    if (!(f > 0.0))
        return 0.0;
    return f > 101.0 ? 101.0 : f;
}

double fw_fwi_ffmc(double ffmc_prev, const struct fw_fwi_weather *w, double ffmc_coef)
{
    double h = rh_daily(w->rh_pct);
    double mo = ffmc_to_moisture(ffmc_prev, ffmc_coef);
    /* Eq. 2: the first 0.5 mm is intercepted by the canopy. */
    if (w->rain_mm > 0.5)
        mo = ffmc_rain(mo, w->rain_mm - 0.5);
    double m = ffmc_equilibrate(mo, w->temp_c, h, w->wind_kmh, 0.581, 1.0);
    return moisture_to_ffmc(m, ffmc_coef);
}

double fw_fwi_dmc(double dmc_prev, const struct fw_fwi_weather *w, double day_length)
{
    double t = w->temp_c < -1.1 ? -1.1 : w->temp_c;
    double h = rh_daily(w->rh_pct);
    double pr = dmc_prev;

    if (w->rain_mm > 1.5) {
        double re = 0.92 * w->rain_mm - 1.27;             /* eq. 11 */
        double mo = 20.0 + 280.0 / exp(0.023 * dmc_prev); /* eq. 12, FORTRAN form */
        double b;                                         /* eqs. 13a-c */
        if (dmc_prev <= 33.0)
            b = 100.0 / (0.5 + 0.3 * dmc_prev);
        else if (dmc_prev <= 65.0)
            b = 14.0 - 1.3 * log(dmc_prev);
        else
            b = 6.2 * log(dmc_prev) - 17.2;
        double mr = mo + 1000.0 * re / (48.77 + b * re); /* eq. 14 */
        pr = 43.43 * (5.6348 - log(mr - 20.0));          /* eq. 15, FORTRAN form */
        if (pr < 0.0)
            pr = 0.0;
    }
    /* Eq. 16 times 100 (eq. 17), written as cffdrs does: 1.894 ... 1e-4. Humidity above 100 %
     * cannot reach here, so the drying term is never negative. */
    double dmc = pr + 1.894 * (t + 1.1) * (100.0 - h) * day_length * 1e-4;
    return dmc < 0.0 ? 0.0 : dmc;
}

double fw_fwi_dc(double dc_prev, const struct fw_fwi_weather *w, double day_factor)
{
    double t = w->temp_c < -2.8 ? -2.8 : w->temp_c;
    /* Eq. 22 halved (eq. 23 adds 0.5 V); floored at 0 so a cold month never rewets the code. */
    double pe = (0.36 * (t + 2.8) + day_factor) / 2.0;
    if (pe < 0.0)
        pe = 0.0;
    double dr = dc_prev;

    if (w->rain_mm > 2.8) {
        double rd = 0.83 * w->rain_mm - 1.27;      /* eq. 18 */
        double qo = 800.0 * exp(-dc_prev / 400.0); /* eq. 19 */
        /* Eqs. 20-21 as printed. cffdrs writes D_o - 400 ln(1 + 3.937 r_d / Q_o), which is
         * algebraically identical but divides by Q_o, and Q_o underflows to 0 for a huge DC. */
        dr = 400.0 * log(800.0 / (qo + 3.937 * rd));
        if (dr < 0.0)
            dr = 0.0;
    }
    double dc = dr + pe;
    return dc < 0.0 ? 0.0 : dc;
}

double fw_fwi_isi(double ffmc, double wind_kmh, double ffmc_coef)
{
    double m = ffmc_to_moisture(ffmc, ffmc_coef);
    double fw = exp(0.05039 * wind_kmh);                                     /* eq. 24 */
    double ff = 91.9 * exp(-0.1386 * m) * (1.0 + pow(m, 5.31) / 49300000.0); /* eq. 25 */
    return 0.208 * fw * ff;                                                  /* eq. 26 */
}

double fw_fwi_bui(double dmc, double dc)
{
    if (dmc <= 0.0 && dc <= 0.0)
        return 0.0;
    double u = 0.8 * dmc * dc / (dmc + 0.4 * dc); /* eq. 27a */
    if (u < dmc) {
        /* Eq. 27b where 27a falls below the DMC, the same test as cffdrs (equivalent to
         * P > 0.4 D). */
        double p = (dmc - u) / dmc;
        double cc = 0.92 + pow(0.0114 * dmc, 1.7);
        u = dmc - cc * p;
    }
    return u < 0.0 ? 0.0 : u;
}

double fw_fwi_fwi(double isi, double bui)
{
    double fd;
    if (bui > 80.0)
        fd = 1000.0 / (25.0 + 108.64 * exp(-0.023 * bui)); /* eq. 28b */
    else
        fd = 0.626 * pow(bui, 0.809) + 2.0; /* eq. 28a */
    double b = 0.1 * isi * fd;              /* eq. 29 */
    if (b <= 1.0)
        return b;                                  /* eq. 30b */
    return exp(2.72 * pow(0.434 * log(b), 0.647)); /* eq. 30a */
}

double fw_fwi_dsr(double fwi)
{
    return 0.0272 * pow(fwi, 1.77);
}

/* ---------------------------------------------------------------------------------------------
 * Validated entry points
 * ------------------------------------------------------------------------------------------- */

static int in_range(double v, double lo, double hi)
{
    /* NaN fails both comparisons, infinities fail one of them. */
    return v >= lo && v <= hi;
}

static int finite_nonneg(double v)
{
    return isfinite(v) && v >= 0.0;
}

int fw_fwi_weather_check(const struct fw_fwi_weather *w)
{
    if (!in_range(w->temp_c, FW_FWI_TEMP_MIN, FW_FWI_TEMP_MAX) ||
        !in_range(w->rh_pct, 0.0, 100.0) || !in_range(w->wind_kmh, 0.0, FW_FWI_WIND_MAX) ||
        !in_range(w->rain_mm, 0.0, FW_FWI_RAIN_MAX))
        return -EINVAL;
    return 0;
}

static int coef_check(double coef)
{
    /* Any positive finite C keeps eqs. 1 and 10 defined; values far from 147 are nonsense but
     * harmless, and the tool only offers the two published ones. */
    return in_range(coef, 1e-9, 1e9) ? 0 : -EINVAL;
}

void fw_fwi_opts_init(struct fw_fwi_opts *o, double lat, int month)
{
    o->ffmc_coef = FW_FWI_FFMC_COEF_CFFDRS;
    o->lat_adjust = 1;
    o->lat = lat;
    o->month = month;
}

void fw_fwi_codes_startup(struct fw_fwi_codes *c)
{
    c->ffmc = FW_FWI_STARTUP_FFMC;
    c->dmc = FW_FWI_STARTUP_DMC;
    c->dc = FW_FWI_STARTUP_DC;
    c->bui = fw_fwi_bui(c->dmc, c->dc);
    c->isi = 0.0;
    c->fwi = 0.0;
    c->dsr = 0.0;
}

int fw_fwi_daily(const struct fw_fwi_codes *yesterday, const struct fw_fwi_weather *noon,
                 const struct fw_fwi_opts *o, struct fw_fwi_codes *today)
{
    if (fw_fwi_weather_check(noon) < 0 || coef_check(o->ffmc_coef) < 0 ||
        !in_range(o->lat, -90.0, 90.0) || o->month < 1 || o->month > 12 ||
        !in_range(yesterday->ffmc, 0.0, 101.0) || !finite_nonneg(yesterday->dmc) ||
        !finite_nonneg(yesterday->dc))
        return -EINVAL;

    /* Computed into a local first, so `today` may alias `yesterday`. */
    struct fw_fwi_codes c;
    c.ffmc = fw_fwi_ffmc(yesterday->ffmc, noon, o->ffmc_coef);
    c.dmc =
        fw_fwi_dmc(yesterday->dmc, noon, fw_fwi_dmc_day_length(o->lat, o->month, o->lat_adjust));
    c.dc = fw_fwi_dc(yesterday->dc, noon, fw_fwi_dc_day_factor(o->lat, o->month, o->lat_adjust));
    c.isi = fw_fwi_isi(c.ffmc, noon->wind_kmh, o->ffmc_coef);
    c.bui = fw_fwi_bui(c.dmc, c.dc);
    c.fwi = fw_fwi_fwi(c.isi, c.bui);
    c.dsr = fw_fwi_dsr(c.fwi);
    *today = c;
    return 0;
}

int fw_fwi_hourly_ffmc(double ffmc_prev, const struct fw_fwi_weather *w, double hours,
                       double ffmc_coef, double *ffmc)
{
    if (fw_fwi_weather_check(w) < 0 || coef_check(ffmc_coef) < 0 ||
        !in_range(ffmc_prev, 0.0, 101.0) || !(hours > 0.0 && hours <= 24.0))
        return -EINVAL;

    double mo = ffmc_to_moisture(ffmc_prev, ffmc_coef);
    /* Van Wagner 1977 has no canopy interception: every drop of the hour's rain counts. */
    if (w->rain_mm > 0.0)
        mo = ffmc_rain(mo, w->rain_mm);
    double m = ffmc_equilibrate(mo, w->temp_c, w->rh_pct, w->wind_kmh, 0.0579, hours);
    *ffmc = moisture_to_ffmc(m, ffmc_coef);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Nesterov ignition index
 * ------------------------------------------------------------------------------------------- */

/* Magnus dew point with the constants fireDanger uses. At 0 % humidity ln(0) diverges and the
 * dew point tends to -b, which is returned directly rather than computing inf/inf. */
static double dew_point(double t, double rh)
{
    const double a = 17.271, b = 237.7;
    if (rh <= 0.0)
        return -b;
    double g = a * t / (b + t) + log(rh / 100.0);
    return b * g / (a - g);
}

/* Rain factor K(P) of the modified index (Groisman et al. 2007, as fireDanger). */
static double nesterov_rain_factor(double p)
{
    if (p < 0.1)
        return 1.0;
    if (p <= 0.9)
        return 0.8;
    if (p <= 2.9)
        return 0.6;
    if (p <= 5.9)
        return 0.4;
    if (p <= 14.9)
        return 0.2;
    if (p <= 19.0)
        return 0.1;
    return 0.0;
}

int fw_fwi_nesterov(double ni_prev, double temp_c, double rh_pct, double rain_mm,
                    struct fw_fwi_nesterov *out)
{
    if (!in_range(temp_c, FW_FWI_TEMP_MIN, FW_FWI_TEMP_MAX) || !in_range(rh_pct, 0.0, 100.0) ||
        !in_range(rain_mm, 0.0, FW_FWI_RAIN_MAX) || !finite_nonneg(ni_prev))
        return -EINVAL;

    if (rain_mm >= FW_FWI_NESTEROV_RESET_MM || temp_c < 0.0) {
        out->ni = 0.0;
        out->ni_modified = 0.0;
        return 0;
    }
    /* T >= 0 and Td <= T, so the daily term is >= 0 in exact arithmetic; at 100 % humidity
     * Td = T up to rounding, and a -1e-9 must not make the index negative. */
    double term = temp_c * (temp_c - dew_point(temp_c, rh_pct));
    out->ni = ni_prev + (term > 0.0 ? term : 0.0);
    out->ni_modified = out->ni * nesterov_rain_factor(rain_mm);
    return 0;
}
