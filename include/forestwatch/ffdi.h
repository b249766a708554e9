/* SPDX-License-Identifier: MIT */
/*
 * The McArthur Forest Fire Danger Index Mark 5 (Noble, Bary & Gill 1980) with its inputs: the
 * Keetch-Byram Drought Index in metric form (Keetch & Byram 1968; Crane 1982; Finkele et al.
 * 2006) and the Griffiths (1999) drought factor in the form of Finkele et al. 2006 eqs. 12-14,
 * as implemented by xclim. Pure functions: the per-zone model keeps yesterday's KBDI state and
 * the last 20 days of rain, and calls these once a day. Units: degC, %, km/h at 10 m, mm.
 * docs/fwi.md describes the conventions chosen and how they are checked.
 */
#ifndef FORESTWATCH_FFDI_H
#define FORESTWATCH_FFDI_H

/* KBDI upper bound: 8 inches of soil water, in mm (Finkele et al. use 200). */
#define FW_FFDI_KBDI_MAX 203.2
/* The first 5 mm (K&B: 0.20 inch) of each run of consecutive rain days is intercepted. */
#define FW_FFDI_KBDI_RUNOFF_MM 5.0
/* Coefficient of the annual rainfall in the ET denominator: 0.001736 (Crane 1982; Finkele et al.
 * 2006), or xclim's 0.00173, which its published test values need. */
#define FW_FFDI_KBDI_RANN_COEF 0.001736
#define FW_FFDI_KBDI_RANN_COEF_XCLIM 0.00173
/* The drought factor looks at this many days of rain, today included. */
#define FW_FFDI_DF_DAYS 20

/** Order of the KBDI daily update. */
enum fw_ffdi_kbdi_order {
    FW_FFDI_KBDI_ET_FIRST = 0, /* ET from yesterday's KBDI, then rain (xclim; the default) */
    FW_FFDI_KBDI_RAIN_FIRST,   /* net rain first, ET from the reduced KBDI (GEFF) */
};

/** Parameters of the KBDI update; fw_ffdi_kbdi_opts_init() gives the defaults. */
struct fw_ffdi_kbdi_opts {
    double rain_annual_mm; /* the site's mean annual rainfall, 0..20000 mm */
    double rann_coef;      /* FW_FFDI_KBDI_RANN_COEF(_XCLIM); finite, > 0 */
    enum fw_ffdi_kbdi_order order;
};

/** KBDI state carried from day to day. */
struct fw_ffdi_kbdi {
    double kbdi_mm;        /* soil moisture deficit, 0..FW_FFDI_KBDI_MAX mm */
    double runoff_left_mm; /* what the current rain run may still intercept, 0..5 mm */
};

/** Defaults: the given annual rainfall, FW_FFDI_KBDI_RANN_COEF, FW_FFDI_KBDI_ET_FIRST. */
void fw_ffdi_kbdi_opts_init(struct fw_ffdi_kbdi_opts *o, double rain_annual_mm);

/** Start a KBDI series at `kbdi_mm` after a dry day (the full 5 mm interception available). */
void fw_ffdi_kbdi_init(struct fw_ffdi_kbdi *k, double kbdi_mm);

/**
 * One day of KBDI: Q = Q' - P_eff + ET, clamped to 0..FW_FFDI_KBDI_MAX, where
 * ET = 1e-3 (203.2 - Q') (0.968 e^(0.0875 T + 1.5552) - 8.30) / (1 + 10.88 e^(-c R_ann)) and Q' is
 * yesterday's KBDI (ET first) or yesterday's minus today's net rain (rain first). ET is not
 * floored at 0 (it is negative below about 6.8 degC), as in xclim and GEFF's active code.
 * `tmax_c` is the day's maximum temperature and `rain_mm` its 24-h rain. `today` may alias
 * `yesterday`. Returns 0, or -EINVAL (today untouched) for non-finite or out-of-range inputs:
 * tmax outside -90..60, rain outside 0..2000, a state outside its ranges, bad options.
 */
int fw_ffdi_kbdi_daily(const struct fw_ffdi_kbdi *yesterday, double rain_mm, double tmax_c,
                       const struct fw_ffdi_kbdi_opts *o, struct fw_ffdi_kbdi *today);

/** How the Griffiths drought factor is limited (Finkele et al. 2006). */
enum fw_ffdi_df_limit {
    FW_FFDI_DF_XLIM = 0, /* eq. 14: x limited by the KBDI (the default) */
    FW_FFDI_DF_DISCRETE, /* eq. 13: DF <= 6/7/8/9/10 by KBDI class */
};

/**
 * Griffiths drought factor, 0..10. `rain_mm` holds the 24-h rain of the last FW_FFDI_DF_DAYS
 * days, oldest first, today last. Rain events are runs of days with more than 2 mm; each gives
 * x = N^1.3 / (N^1.3 + P - 2) with P the event's total and N the age in days of its largest day
 * (1 = today; of equal days the most recent), x is the smallest of them (1 without an event).
 * Returns 0, or -EINVAL for a rain value outside 0..2000, a KBDI outside 0..FW_FFDI_KBDI_MAX or an
 * unknown limiter.
 */
int fw_ffdi_drought_factor(const double rain_mm[FW_FFDI_DF_DAYS], double kbdi_mm,
                           enum fw_ffdi_df_limit limit, double *df);

/**
 * FFDI Mark 5: 2 exp(-0.450 + 0.987 ln D - 0.0345 H + 0.0338 T + 0.0234 V), uncapped, no rain or
 * snow rule. The function does not decide which observations feed it; the gateway passes the
 * day's maximum temperature with the 15:00 local humidity and 10-m wind (see docs/fwi.md).
 * Returns 0, or -EINVAL for D outside 0..10, T outside -90..60, H outside 0..100 or V outside
 * 0..400 km/h.
 */
int fw_ffdi_mark5(double drought_factor, double temp_c, double rh_pct, double wind_kmh,
                  double *ffdi);

#endif
