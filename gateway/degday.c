/* SPDX-License-Identifier: MIT */
/*
 * Degree-day methods of Zalom et al. (1983) with the UC IPM cutoffs. A day is cut into pieces,
 * each a monotone temperature curve between a low and a high value with a weight (its share of
 * the day): the single methods have one piece, the double methods two half-days, and the simple
 * average one flat piece at the mean. For every piece we compute three things in closed form:
 * the area between the thresholds (horizontal cutoff), the area above the upper threshold, and the
 * fraction of time above the upper threshold. The cutoffs are then combinations of these sums,
 * exactly as the UC IPM calculator combines them, so one set of formulas serves every method.
 */
#include "forestwatch/degday.h"

#include <errno.h>
#include <math.h>
#include <string.h>

enum shape {
    SHAPE_SINE,
    SHAPE_TRIANGLE, /* also the flat piece of the simple average: tmin == tmax */
};

struct piece {
    double lo, hi; /* the piece's minimum and maximum temperature, lo <= hi */
    double weight; /* its share of the day: 1 or 1/2 */
};

static const char *const method_names[] = {
    [FW_DD_AVERAGE] = "average",
    [FW_DD_SINGLE_SINE] = "single-sine",
    [FW_DD_DOUBLE_SINE] = "double-sine",
    [FW_DD_SINGLE_TRIANGLE] = "single-triangle",
    [FW_DD_DOUBLE_TRIANGLE] = "double-triangle",
};

static const char *const cutoff_names[] = {
    [FW_DD_HORIZONTAL] = "horizontal",
    [FW_DD_VERTICAL] = "vertical",
    [FW_DD_INTERMEDIATE] = "intermediate",
};

#define N_METHODS ((int)(sizeof(method_names) / sizeof(method_names[0])))
#define N_CUTOFFS ((int)(sizeof(cutoff_names) / sizeof(cutoff_names[0])))

/*
 * In the crossing cases the argument lies strictly inside (-1, 1) in exact arithmetic, but the
 * mean and amplitude are rounded separately; clamp so a last-ulp excess cannot give NaN.
 */
static double asin_clamped(double x)
{
    if (x <= -1.0)
        return -M_PI / 2;
    if (x >= 1.0)
        return M_PI / 2;
    return asin(x);
}

/*
 * Degree-days of a whole (full-weight) piece between thresholds tl < tu, with the six cases of
 * Zalom et al. Tables 3-6 in the order of degday's dd_case. `tu` may be +infinity, which leaves
 * only cases 2, 3 and 4. A piece with lo == hi only reaches cases 1-3, so the divisions below
 * never see a zero amplitude: cases 4-6 need lo < tl < hi or lo < tu < hi.
 */
static double piece_between(enum shape s, double lo, double hi, double tl, double tu)
{
    double mean = (hi + lo) / 2, amp = (hi - lo) / 2;

    if (lo >= tu) /* case 1: all above the upper threshold */
        return tu - tl;
    if (hi <= tl) /* case 2: all below the lower threshold */
        return 0.0;
    if (lo >= tl && hi <= tu) /* case 3: all between */
        return mean - tl;

    if (s == SHAPE_TRIANGLE) {
        double span = 2 * (hi - lo);
        if (hi <= tu) /* case 4: crosses the lower threshold only */
            return (hi - tl) * (hi - tl) / span;
        if (lo >= tl) /* case 5: crosses the upper threshold only */
            return mean - tl - (hi - tu) * (hi - tu) / span;
        /* case 6: crosses both */
        return ((hi - tl) * (hi - tl) - (hi - tu) * (hi - tu)) / span;
    }

    if (hi <= tu) { /* case 4 */
        double t1 = asin_clamped((tl - mean) / amp);
        return ((mean - tl) * (M_PI / 2 - t1) + amp * cos(t1)) / M_PI;
    }
    double t2 = asin_clamped((tu - mean) / amp);
    if (lo >= tl) /* case 5 */
        return ((mean - tl) * (M_PI / 2 + t2) + (tu - tl) * (M_PI / 2 - t2) - amp * cos(t2)) / M_PI;
    /* case 6 */
    double t1 = asin_clamped((tl - mean) / amp);
    return ((mean - tl) * (t2 - t1) + amp * (cos(t1) - cos(t2)) + (tu - tl) * (M_PI / 2 - t2)) /
           M_PI;
}

/*
 * Fraction of the piece's time strictly above `tu`. A flat piece exactly at tu is never above
 * it, which keeps the simple average continuous as the mean rises to the upper threshold.
 */
static double piece_frac_above(enum shape s, double lo, double hi, double tu)
{
    if (hi <= tu)
        return 0.0;
    if (lo >= tu)
        return 1.0;
    if (s == SHAPE_TRIANGLE)
        return (hi - tu) / (hi - lo);
    double mean = (hi + lo) / 2, amp = (hi - lo) / 2;
    return (M_PI / 2 - asin_clamped((tu - mean) / amp)) / M_PI;
}

/*
 * Cut the day into pieces. A half-day is the same curve as a whole day with the same extremes,
 * run over half the time, so its degree-days are the whole-day value times 1/2: this is where the
 * /24 and /(2 pi) of the double methods come from. The curve from tmax down to the next minimum
 * has the same area whichever way it runs, so a next minimum above tmax (a warm night after a
 * cool day) is the piece from tmax up to it.
 */
static int day_pieces(enum fw_dd_method m, double tmin, double tmax, double tmin_next,
                      struct piece p[2])
{
    switch (m) {
    case FW_DD_AVERAGE: {
        double mean = (tmin + tmax) / 2;
        p[0] = (struct piece){mean, mean, 1.0};
        return 1;
    }
    case FW_DD_SINGLE_SINE:
    case FW_DD_SINGLE_TRIANGLE:
        p[0] = (struct piece){tmin, tmax, 1.0};
        return 1;
    case FW_DD_DOUBLE_SINE:
    case FW_DD_DOUBLE_TRIANGLE:
        if (isnan(tmin_next))
            tmin_next = tmin; /* last day or gap: the UC IPM rule */
        p[0] = (struct piece){tmin, tmax, 0.5};
        p[1] = (struct piece){fmin(tmin_next, tmax), fmax(tmin_next, tmax), 0.5};
        return 2;
    }
    return 0;
}

static int check_temp(double t)
{
    if (!isfinite(t))
        return -EINVAL;
    if (fabs(t) > FW_DD_TEMP_LIMIT)
        return -ERANGE;
    return 0;
}

int fw_degday(enum fw_dd_method m, enum fw_dd_cutoff c, double tmin, double tmax, double tmin_next,
              double lower, double upper, double *dd)
{
    int rc;
    if ((int)m < 0 || (int)m >= N_METHODS || (int)c < 0 || (int)c >= N_CUTOFFS)
        return -EINVAL;
    if ((rc = check_temp(tmin)) < 0 || (rc = check_temp(tmax)) < 0 || (rc = check_temp(lower)) < 0)
        return rc;
    if (!isnan(tmin_next) && (rc = check_temp(tmin_next)) < 0)
        return rc;
    if (upper != FW_DD_NO_UPPER && (rc = check_temp(upper)) < 0)
        return rc;
    if (tmin > tmax || lower >= upper)
        return -EINVAL;

    enum shape s = (m == FW_DD_SINGLE_SINE || m == FW_DD_DOUBLE_SINE) ? SHAPE_SINE : SHAPE_TRIANGLE;
    struct piece p[2];
    int n = day_pieces(m, tmin, tmax, tmin_next, p);
    double between = 0, above = 0, frac = 0;
    for (int i = 0; i < n; i++) {
        between += p[i].weight * piece_between(s, p[i].lo, p[i].hi, lower, upper);
        frac += p[i].weight * piece_frac_above(s, p[i].lo, p[i].hi, upper);
        if (c == FW_DD_INTERMEDIATE && upper != FW_DD_NO_UPPER)
            above += p[i].weight * piece_between(s, p[i].lo, p[i].hi, upper, FW_DD_NO_UPPER);
    }

    /*
     * With no upper threshold nothing is ever above it, so the cutoff changes nothing; skipping
     * it also keeps the infinite (upper - lower) out of the products, where 0 * inf is NaN.
     */
    double r = between;
    if (upper != FW_DD_NO_UPPER) {
        double band = upper - lower;
        if (c == FW_DD_VERTICAL) /* time above the upper threshold counts nothing */
            r = between - band * frac;
        else if (c == FW_DD_INTERMEDIATE) /* subtract the excess, at most down to vertical */
            r = between - fmin(above, band * frac);
    }
    /*
     * In exact arithmetic nothing here is negative: the vertical value is an integral of a
     * non-negative quantity and the intermediate one is never below it. Subtracting two nearly
     * equal sums can still round to -1e-16, and UC IPM floors at zero too.
     */
    *dd = r > 0 ? r : 0.0;
    return 0;
}

int fw_dd_method_uses_next(enum fw_dd_method m)
{
    return m == FW_DD_DOUBLE_SINE || m == FW_DD_DOUBLE_TRIANGLE;
}

int fw_dd_method_parse(const char *s, enum fw_dd_method *out)
{
    for (int i = 0; s && i < N_METHODS; i++) {
        if (strcmp(s, method_names[i]) == 0) {
            *out = (enum fw_dd_method)i;
            return 0;
        }
    }
    return -EINVAL;
}

int fw_dd_cutoff_parse(const char *s, enum fw_dd_cutoff *out)
{
    for (int i = 0; s && i < N_CUTOFFS; i++) {
        if (strcmp(s, cutoff_names[i]) == 0) {
            *out = (enum fw_dd_cutoff)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *fw_dd_method_name(enum fw_dd_method m)
{
    return (int)m >= 0 && (int)m < N_METHODS ? method_names[m] : "?";
}

const char *fw_dd_cutoff_name(enum fw_dd_cutoff c)
{
    return (int)c >= 0 && (int)c < N_CUTOFFS ? cutoff_names[c] : "?";
}
