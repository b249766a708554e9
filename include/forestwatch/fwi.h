/* SPDX-License-Identifier: MIT */
/*
 * The Canadian Forest Fire Weather Index (FWI) System as pure functions: the daily codes FFMC,
 * DMC and DC, the indices ISI, BUI, FWI and DSR (Van Wagner & Pickett 1985; Van Wagner 1987, in
 * the form of the cffdrs R package 1.10.0), the latitude-dependent day-length factors (Lawson &
 * Armitage 2008), the hourly FFMC (Van Wagner 1977) and the Nesterov ignition index. Nothing here
 * keeps state or does I/O: the per-zone model carries yesterday's codes and calls fw_fwi_daily()
 * once a day. Units: degC, % relative humidity, km/h wind at 10 m, mm rain, degrees latitude
 * (north positive). docs/fwi.md says which reference each function follows and how it is checked.
 */
#ifndef FORESTWATCH_FWI_H
#define FORESTWATCH_FWI_H

/* The FFMC moisture coefficient C of eqs. 1 and 10. The cffdrs value makes F(m) and m(F) exact
 * inverses (F(0) = 101); 147.2 is the 1985 report's value, which its printed table follows. */
#define FW_FWI_FFMC_COEF_CFFDRS (250.0 * 59.5 / 101.0)
#define FW_FWI_FFMC_COEF_1985 147.2

/* cffdrs start-up values for the first day of a season ("springtime conditions in Canada"). */
#define FW_FWI_STARTUP_FFMC 85.0
#define FW_FWI_STARTUP_DMC 6.0
#define FW_FWI_STARTUP_DC 15.0

/* Accepted input ranges; fw_fwi_daily() and fw_fwi_hourly_ffmc() return -EINVAL outside them. */
#define FW_FWI_TEMP_MIN -90.0  /* degC; below the coldest surface record */
#define FW_FWI_TEMP_MAX 60.0   /* degC; above the hottest surface record */
#define FW_FWI_WIND_MAX 400.0  /* km/h */
#define FW_FWI_RAIN_MAX 2000.0 /* mm in 24 h; the world record is about 1825 mm */

/** One day's codes and indices. All are dimensionless and non-negative; FFMC is 0..101. */
struct fw_fwi_codes {
    double ffmc, dmc, dc, isi, bui, fwi, dsr;
};

/** Noon local standard time observations (hourly FFMC: the hour's observation). */
struct fw_fwi_weather {
    double temp_c;   /* air temperature, degC, FW_FWI_TEMP_MIN..FW_FWI_TEMP_MAX */
    double rh_pct;   /* relative humidity, 0..100 % */
    double wind_kmh; /* 10-m open wind, 0..FW_FWI_WIND_MAX km/h */
    double rain_mm;  /* rain in the 24 h to noon (hourly: in the step), 0..FW_FWI_RAIN_MAX mm */
};

/** How a day is computed. fw_fwi_opts_init() gives the cffdrs defaults. */
struct fw_fwi_opts {
    double ffmc_coef; /* C of eqs. 1 and 10; finite and > 0 (FW_FWI_FFMC_COEF_*) */
    int lat_adjust;   /* nonzero: day lengths by latitude band (cffdrs lat.adjust = TRUE);
                         zero: the Canadian 46N tables everywhere */
    double lat;       /* degrees, -90..90, north positive (checked even when not adjusting) */
    int month;        /* 1..12, the month of the day being computed */
};

/** Fill `o` with the cffdrs defaults: C = FW_FWI_FFMC_COEF_CFFDRS, latitude adjustment on. */
void fw_fwi_opts_init(struct fw_fwi_opts *o, double lat, int month);

/**
 * The start-up state, the "yesterday" of a season's first day: FFMC, DMC and DC from the
 * FW_FWI_STARTUP_* values, BUI from those, and ISI, FWI and DSR 0 (they need a wind, and
 * fw_fwi_daily() never reads them).
 */
void fw_fwi_codes_startup(struct fw_fwi_codes *c);

/**
 * Compute today's codes from yesterday's and today's noon weather. `yesterday` and `today` may
 * be the same object. Only the ffmc, dmc and dc fields of `yesterday` are read.
 *
 * Returns 0, or -EINVAL (and leaves `today` untouched) when any input is not finite or out of
 * range: weather outside the fw_fwi_weather ranges, yesterday's FFMC outside 0..101, DMC or DC
 * negative, month outside 1..12, latitude outside -90..90, coefficient <= 0. As in cffdrs fwi(),
 * a humidity of exactly 100 % is computed as 99.9999 %. Any thread; no I/O.
 */
int fw_fwi_daily(const struct fw_fwi_codes *yesterday, const struct fw_fwi_weather *noon,
                 const struct fw_fwi_opts *o, struct fw_fwi_codes *today);

/** Check `w` against the ranges fw_fwi_daily() accepts: 0 or -EINVAL. */
int fw_fwi_weather_check(const struct fw_fwi_weather *w);

/*
 * The individual equations. They do not validate: their inputs must be in the ranges that
 * fw_fwi_daily() checks, or the result is meaningless (never undefined behaviour).
 */

/** Day length L_e (hours) for the DMC, by the cffdrs latitude bands (46N table if !adjust). */
double fw_fwi_dmc_day_length(double lat, int month, int lat_adjust);
/** Day-length factor L_f for the DC, by the cffdrs latitude bands (46N table if !adjust). */
double fw_fwi_dc_day_factor(double lat, int month, int lat_adjust);

/** FFMC, eqs. 1-10, clamped to 0..101. */
double fw_fwi_ffmc(double ffmc_prev, const struct fw_fwi_weather *w, double ffmc_coef);
/** DMC, eqs. 11-17, >= 0; `day_length` from fw_fwi_dmc_day_length(). */
double fw_fwi_dmc(double dmc_prev, const struct fw_fwi_weather *w, double day_length);
/** DC, eqs. 18-23, >= 0; `day_factor` from fw_fwi_dc_day_factor(). */
double fw_fwi_dc(double dc_prev, const struct fw_fwi_weather *w, double day_factor);
/** ISI, eqs. 24-26, from today's FFMC and wind (km/h), with the same coefficient. */
double fw_fwi_isi(double ffmc, double wind_kmh, double ffmc_coef);
/** BUI, eqs. 27a/27b, >= 0 (0 when DMC = DC = 0). */
double fw_fwi_bui(double dmc, double dc);
/** FWI, eqs. 28-30. */
double fw_fwi_fwi(double isi, double bui);
/** Daily severity rating, eq. 31. */
double fw_fwi_dsr(double fwi);

/**
 * Hourly FFMC (Van Wagner 1977, as cffdrs hffmc): advance `ffmc_prev` by `hours` (0 < hours <= 24;
 * 1 for hourly data) under weather `w`, where `w->rain_mm` is the rain in that step (no 0.5 mm
 * canopy interception). The result is clamped to 0..101. Returns 0, or -EINVAL for inputs out of
 * the fw_fwi_daily() ranges or a bad step or coefficient. Any thread.
 */
int fw_fwi_hourly_ffmc(double ffmc_prev, const struct fw_fwi_weather *w, double hours,
                       double ffmc_coef, double *ffmc);

/* Nesterov: a day with this much rain (mm) or more, or a sub-zero temperature, resets the sum. */
#define FW_FWI_NESTEROV_RESET_MM 3.0

/** The Nesterov ignition index of one day. */
struct fw_fwi_nesterov {
    double ni;          /* classic: sum of T (T - Td) since the last reset */
    double ni_modified; /* ni times the rain factor K(P) of Groisman et al. 2007 */
};

/**
 * Advance the Nesterov index by one day, as fireDanger nesterovIndex(): `ni_prev` is yesterday's
 * classic value (0 on the first day of a series, which fireDanger reports as 0 itself), `temp_c`
 * the midday temperature, `rh_pct` the midday humidity (dew point by Magnus 17.271/237.7) and
 * `rain_mm` the day's rain. Rain >= FW_FWI_NESTEROV_RESET_MM or temp < 0 gives 0; rain < 0.1 mm
 * counts as none. Returns 0, or -EINVAL for inputs outside the fw_fwi_daily() ranges or a
 * negative `ni_prev`. Any thread.
 */
int fw_fwi_nesterov(double ni_prev, double temp_c, double rh_pct, double rain_mm,
                    struct fw_fwi_nesterov *out);

#endif
