/* SPDX-License-Identifier: MIT */
/*
 * Insect degree-days for one day from its minimum and maximum temperature: the simple average
 * and the single/double sine and single/double triangle methods of Zalom et al. (1983), each
 * with the horizontal, vertical or intermediate upper cutoff as the UC IPM degree-day calculator
 * applies them. Pure functions: no state, no I/O; the per-zone accumulation, biofix and storage
 * live in the models module.
 *
 * Units. The math uses only differences and ratios of temperatures, so it is unit-agnostic: pass
 * tmin, tmax, the next minimum and both thresholds in the same unit (all degC or all degF) and
 * the result is in degree-days of that unit. It is not agnostic in two places: a degree-day
 * total converts between units by the factor 1.8 alone (degF-days = 1.8 x degC-days, no offset),
 * while thresholds convert with the offset (F = 1.8 C + 32); and the same threshold number means
 * different things in each unit, so a threshold from the literature must be used in its unit.
 *
 * Double methods and the next day's minimum. The double sine and double triangle split the day
 * into today's minimum -> maximum and the maximum -> next day's minimum. On the last day of a
 * series, or before a gap, the next minimum is not known: pass FW_DD_NEXT_UNKNOWN and the day's
 * own minimum is used (both halves symmetric, which makes a double method equal to its single
 * method). This is what the UC IPM calculator and the degday R package do on their last day.
 * The caller passes what it has; nothing is interpolated here.
 */
#ifndef FORESTWATCH_DEGDAY_H
#define FORESTWATCH_DEGDAY_H

#include <math.h>

enum fw_dd_method {
    FW_DD_AVERAGE,         /* "average": (tmin + tmax) / 2 held all day */
    FW_DD_SINGLE_SINE,     /* "single-sine" */
    FW_DD_DOUBLE_SINE,     /* "double-sine": uses the next day's minimum */
    FW_DD_SINGLE_TRIANGLE, /* "single-triangle" */
    FW_DD_DOUBLE_TRIANGLE, /* "double-triangle": uses the next day's minimum */
};

enum fw_dd_cutoff {
    FW_DD_HORIZONTAL,   /* "horizontal": above the upper threshold counts as the upper threshold */
    FW_DD_VERTICAL,     /* "vertical": time above the upper threshold counts nothing */
    FW_DD_INTERMEDIATE, /* "intermediate": development falls off above the upper threshold */
};

/* Pass as tmin_next when the next day's minimum is unknown (last day, gap). */
#define FW_DD_NEXT_UNKNOWN ((double)NAN)

/* Pass as `upper` for no upper threshold (the cutoff then makes no difference). */
#define FW_DD_NO_UPPER ((double)INFINITY)

/*
 * Every temperature and threshold must lie within +-FW_DD_TEMP_LIMIT. No air temperature comes
 * near it in either unit; the bound keeps sums and differences far from overflow.
 */
#define FW_DD_TEMP_LIMIT 1e4

/**
 * Degree-days of one day.
 *
 * `tmin` <= `tmax` are the day's extremes. `tmin_next` is the next day's minimum or
 * FW_DD_NEXT_UNKNOWN (any NaN means unknown); only the double methods use it, and it may exceed
 * `tmax` (the second half-day then rises from tmax to it). `lower` < `upper` are the
 * developmental thresholds in the unit of the temperatures; `upper` may be FW_DD_NO_UPPER. On
 * success stores the degree-days, >= 0 and <= upper - lower, in *dd.
 *
 * Returns 0; -EINVAL for an unknown method or cutoff, a non-finite temperature or threshold
 * (other than the two sentinels above), tmin > tmax or lower >= upper; -ERANGE for a value
 * beyond FW_DD_TEMP_LIMIT. *dd is untouched on failure. Pure; any thread.
 */
int fw_degday(enum fw_dd_method m, enum fw_dd_cutoff c, double tmin, double tmax, double tmin_next,
              double lower, double upper, double *dd);

/** 1 for the methods that use the next day's minimum (double sine, double triangle), else 0. */
int fw_dd_method_uses_next(enum fw_dd_method m);

/**
 * Parse a method name ("average", "single-sine", "double-sine", "single-triangle",
 * "double-triangle"; exact, lower case). Returns 0 or -EINVAL.
 */
int fw_dd_method_parse(const char *s, enum fw_dd_method *out);

/** Parse a cutoff name ("horizontal", "vertical", "intermediate"). Returns 0 or -EINVAL. */
int fw_dd_cutoff_parse(const char *s, enum fw_dd_cutoff *out);

/** The name of a method or cutoff as the parsers accept it; a static string, "?" if unknown. */
const char *fw_dd_method_name(enum fw_dd_method m);
const char *fw_dd_cutoff_name(enum fw_dd_cutoff c);

#endif
