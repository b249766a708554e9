/* SPDX-License-Identifier: MIT */
/*
 * `forestwatch degday`: degree-days of a daily weather series, for operators who want to check a
 * pest forecast by hand or compare the gateway with another calculator. It reads `date,tmin,tmax`
 * on standard input and writes `date,tmin,tmax,dd,cum_dd`. The whole input is read and checked
 * before anything is written, so a bad row gives every error (each naming its line) and no
 * partial table that could be mistaken for a result. The science is in degday.c; this file only
 * parses, orders the days and finds each day's next minimum.
 */
#include "forestwatch/degday.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/readline.h"
#include "forestwatch/util.h"
#include "tool_cmds.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A century of days is far more than any season; the cap keeps stdin from exhausting memory. */
#define DEGDAY_MAX_ROWS 40000
#define DEGDAY_MAX_LINE 1024
#define DEGDAY_FIELD 32
#define DAY_MS 86400000LL

/*
 * The one place where the unit matters to the tool: what a possible air temperature is. The
 * bounds are a little beyond the world records (-89.2 degC, 56.7 degC), so a degF file read as
 * degC (or the reverse) is caught instead of giving plausible-looking nonsense.
 */
struct units {
    const char *name; /* as given to --units */
    const char *label;
    double min, max;
};
static const struct units units_table[] = {
    {"C", "degC", -90, 60},
    {"F", "degF", -130, 140},
};

struct day {
    int line;
    int64_t day; /* days since 1970-01-01 */
    double tmin, tmax;
    char date[11];
    char tmin_s[DEGDAY_FIELD], tmax_s[DEGDAY_FIELD]; /* echoed as given */
};

struct opts {
    enum fw_dd_method method;
    enum fw_dd_cutoff cutoff;
    double lower, upper;
    const struct units *units;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: forestwatch degday --method M [--cutoff C] --lower L --upper U [--units C|F]\n"
            "\n"
            "Reads date,tmin,tmax (header line required, dates YYYY-MM-DD increasing) on standard\n"
            "input and writes date,tmin,tmax,dd,cum_dd.\n"
            "  --method   average, single-sine, double-sine, single-triangle, double-triangle\n"
            "  --cutoff   horizontal (the default), vertical, intermediate: how time above the\n"
            "             upper threshold counts, for every method\n"
            "  --lower    lower developmental threshold\n"
            "  --upper    upper developmental threshold, or \"none\"\n"
            "  --units    C (default) or F: the unit of temperatures and thresholds alike\n"
            "The double methods use the next day's minimum; the last day, and a day before a gap\n"
            "in the dates, use their own minimum. Exit 0, 1 for bad input, 2 for bad usage.\n");
}

/* Strip spaces and tabs at both ends, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* YYYY-MM-DD as days since the epoch, through the project's one calendar implementation. */
static int parse_date(const char *s, int64_t *day)
{
    char stamp[32];
    int64_t ms;
    if (strlen(s) != 10 || !isdigit((unsigned char)s[0]))
        return -EINVAL;
    snprintf(stamp, sizeof(stamp), "%sT00:00:00Z", s);
    if (fw_time_parse(stamp, &ms) < 0)
        return -EINVAL;
    *day = ms / DAY_MS;
    return 0;
}

/* A temperature column: a number within the possible range of the unit. Prints its error. */
static int parse_temp(FILE *err, const struct opts *o, int line, const char *col, const char *s,
                      double *v)
{
    if (fw_parse_decimal(s, v) < 0 || strlen(s) >= DEGDAY_FIELD) {
        fprintf(err, "stdin:%d: column \"%s\": must be a number, got \"%s\"\n", line, col, s);
        return -EINVAL;
    }
    if (*v < o->units->min || *v > o->units->max) {
        fprintf(err,
                "stdin:%d: column \"%s\": %s %s is outside the possible %g..%g %s (see --units)\n",
                line, col, s, o->units->label, o->units->min, o->units->max, o->units->label);
        return -ERANGE;
    }
    return 0;
}

/*
 * Check one data line and fill *d from it. Returns 0, or <0 after printing why. `last` is the row
 * with the latest date so far (line 0: none), for the date order: dates must increase through
 * the whole input, so a date is compared with every earlier row's, also a rejected row's, and is
 * checked even when another column of its row is wrong, so that every error is reported at once.
 */
static int parse_row(FILE *err, const struct opts *o, int line, char *text, struct day *last,
                     struct day *d)
{
    char *f[4];
    int n = 0;
    for (char *p = text;; n++) {
        char *comma = strchr(p, ',');
        if (n < 4)
            f[n] = p;
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    n++;
    if (n != 3) {
        fprintf(err, "stdin:%d: expected 3 columns (date,tmin,tmax), got %d\n", line, n);
        return -EINVAL;
    }
    const char *date = trim(f[0]), *tmin = trim(f[1]), *tmax = trim(f[2]);
    int bad = 0;
    memset(d, 0, sizeof(*d));
    d->line = line;
    if (parse_date(date, &d->day) < 0) {
        fprintf(err, "stdin:%d: column \"date\": must be a date YYYY-MM-DD, got \"%s\"\n", line,
                date);
        bad = 1;
    } else if (last->line && d->day <= last->day) {
        fprintf(err, "stdin:%d: column \"date\": %s does not come after %s (line %d)\n", line, date,
                last->date, last->line);
        bad = 1;
    } else {
        last->line = line;
        last->day = d->day;
        snprintf(last->date, sizeof(last->date), "%s", date);
    }
    if (parse_temp(err, o, line, "tmin", tmin, &d->tmin) < 0)
        bad = 1;
    if (parse_temp(err, o, line, "tmax", tmax, &d->tmax) < 0)
        bad = 1;
    if (bad)
        return -EINVAL;
    if (d->tmin > d->tmax) {
        fprintf(err, "stdin:%d: tmin %s is above tmax %s\n", line, tmin, tmax);
        return -EINVAL;
    }
    memcpy(d->date, date, sizeof(d->date));
    snprintf(d->tmin_s, sizeof(d->tmin_s), "%s", tmin);
    snprintf(d->tmax_s, sizeof(d->tmax_s), "%s", tmax);
    return 0;
}

/* The header names the columns exactly, in this order; spaces around a name are allowed. */
static int header_ok(const char *text)
{
    static const char *const want[] = {"date", "tmin", "tmax"};
    char copy[DEGDAY_MAX_LINE], *p = copy, *name;
    size_t i = 0;
    snprintf(copy, sizeof(copy), "%s", text);
    while ((name = strsep(&p, ",")) != NULL) {
        if (i == FW_ARRAY_LEN(want) || strcmp(trim(name), want[i]) != 0)
            return 0;
        i++;
    }
    return i == FW_ARRAY_LEN(want);
}

static int parse_args(int argc, char **argv, FILE *err, struct opts *o)
{
    /* The cutoff defaults as the config's pest `cutoff` does; it matters only above an upper
     * threshold, so the simple average with `--upper none` needs none. */
    const char *method = NULL, *cutoff = "horizontal", *lower = NULL, *upper = NULL, *units = "C";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--method") == 0   ? &method
                            : strcmp(a, "--cutoff") == 0 ? &cutoff
                            : strcmp(a, "--lower") == 0  ? &lower
                            : strcmp(a, "--upper") == 0  ? &upper
                            : strcmp(a, "--units") == 0  ? &units
                                                         : NULL;
        if (!slot) {
            fprintf(err, "forestwatch degday: unknown argument \"%s\"\n", a);
            return -EINVAL;
        }
        if (i + 1 == argc) {
            fprintf(err, "forestwatch degday: %s needs a value\n", a);
            return -EINVAL;
        }
        *slot = argv[++i];
    }
    if (!method || !lower || !upper) {
        fprintf(err, "forestwatch degday: --method, --lower and --upper are required\n");
        return -EINVAL;
    }
    if (fw_dd_method_parse(method, &o->method) < 0) {
        fprintf(err,
                "forestwatch degday: --method: unknown method \"%s\" (average, single-sine, "
                "double-sine, single-triangle, double-triangle)\n",
                method);
        return -EINVAL;
    }
    if (fw_dd_cutoff_parse(cutoff, &o->cutoff) < 0) {
        fprintf(err,
                "forestwatch degday: --cutoff: unknown cutoff \"%s\" (horizontal, vertical, "
                "intermediate)\n",
                cutoff);
        return -EINVAL;
    }
    o->units = NULL;
    for (size_t k = 0; k < FW_ARRAY_LEN(units_table); k++)
        if (strcmp(units, units_table[k].name) == 0)
            o->units = &units_table[k];
    if (!o->units) {
        fprintf(err, "forestwatch degday: --units: must be C or F, got \"%s\"\n", units);
        return -EINVAL;
    }
    const struct units *u = o->units;
    if (fw_parse_decimal(lower, &o->lower) < 0 || o->lower < u->min || o->lower > u->max) {
        fprintf(err, "forestwatch degday: --lower: must be a number in %g..%g %s, got \"%s\"\n",
                u->min, u->max, u->label, lower);
        return -EINVAL;
    }
    if (strcmp(upper, "none") == 0) {
        o->upper = FW_DD_NO_UPPER;
    } else if (fw_parse_decimal(upper, &o->upper) < 0 || o->upper < u->min || o->upper > u->max) {
        fprintf(err,
                "forestwatch degday: --upper: must be a number in %g..%g %s or \"none\", got "
                "\"%s\"\n",
                u->min, u->max, u->label, upper);
        return -EINVAL;
    }
    if (o->lower >= o->upper) {
        fprintf(err, "forestwatch degday: --lower %s must be below --upper %s\n", lower, upper);
        return -EINVAL;
    }
    return 0;
}

int fw_tool_degday(int argc, char **argv, const struct fw_tool_io *io)
{
    FILE *in = io->in, *err = io->err;
    struct opts o;
    struct day *days = NULL, last = {0};
    int ndays = 0, cap = 0, errors = 0, line = 0, rc = 1;
    char buf[DEGDAY_MAX_LINE];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(io->out);
            return 0;
        }
    }
    if (parse_args(argc, argv, err, &o) < 0) {
        usage(err);
        return 2;
    }
    size_t n;
    int got;
    while ((got = fw_read_line(in, buf, DEGDAY_MAX_LINE - 1, &n)) != -ENODATA) {
        line++;
        if (got == -E2BIG || strlen(buf) != n) {
            if (got == -E2BIG)
                fprintf(err, "stdin:%d: line longer than %d bytes\n", line, DEGDAY_MAX_LINE - 2);
            else
                fprintf(err, "stdin:%d: a NUL byte at column %zu; not a text line\n", line,
                        strlen(buf) + 1);
            errors++;
            if (line == 1) /* without the header the columns are unknown */
                goto fail;
            continue;
        }
        char *text = buf;
        if (line == 1) {
            /* Spreadsheets put a byte-order mark before the header; it is not part of "date". */
            if (strncmp(text, "\xEF\xBB\xBF", 3) == 0)
                text += 3;
            if (!header_ok(text)) {
                fprintf(err, "stdin:1: header must be \"date,tmin,tmax\", got \"%s\"\n", text);
                goto fail;
            }
            continue;
        }
        if (*trim(text) == '\0') {
            fprintf(err, "stdin:%d: empty line\n", line);
            errors++;
            continue;
        }
        if (ndays == cap) {
            if (cap == DEGDAY_MAX_ROWS) {
                fprintf(err, "stdin:%d: more than %d days\n", line, DEGDAY_MAX_ROWS);
                goto fail;
            }
            cap = cap ? 2 * cap : 512;
            cap = cap < DEGDAY_MAX_ROWS ? cap : DEGDAY_MAX_ROWS;
            days = fw_xrealloc(days, sizeof(*days) * (size_t)cap);
        }
        if (parse_row(err, &o, line, text, &last, &days[ndays]) < 0)
            errors++;
        else
            ndays++;
    }
    if (ferror(in)) {
        fprintf(err, "stdin: read error\n");
        goto fail;
    }
    if (line == 0) {
        fprintf(err, "stdin: empty, expected the header \"date,tmin,tmax\"\n");
        goto fail;
    }
    if (errors) {
        fprintf(err, "stdin: %d bad line%s, nothing computed\n", errors, errors == 1 ? "" : "s");
        goto fail;
    }

    fprintf(io->out, "date,tmin,tmax,dd,cum_dd\n");
    double cum = 0;
    for (int i = 0; i < ndays; i++) {
        const struct day *d = &days[i];
        /*
         * Not an error: the caller has what it has. Said here rather than while parsing, so a
         * skipped bad row is not also reported as a gap.
         */
        if (i > 0 && d->day > days[i - 1].day + 1)
            fprintf(err,
                    "stdin:%d: note: %lld day%s missing before %s; they add nothing to cum_dd "
                    "and %s uses its own minimum as the next\n",
                    d->line, (long long)(d->day - days[i - 1].day - 1),
                    d->day - days[i - 1].day == 2 ? "" : "s", d->date, days[i - 1].date);
        /* Only a row for the very next date gives a next minimum; a gap is "unknown". */
        double next =
            i + 1 < ndays && days[i + 1].day == d->day + 1 ? days[i + 1].tmin : FW_DD_NEXT_UNKNOWN;
        double dd;
        int r = fw_degday(o.method, o.cutoff, d->tmin, d->tmax, next, o.lower, o.upper, &dd);
        if (r < 0) {
            fprintf(err, "stdin:%d: %s\n", d->line, strerror(-r));
            goto fail;
        }
        cum += dd;
        fprintf(io->out, "%s,%s,%s,%.6f,%.6f\n", d->date, d->tmin_s, d->tmax_s, dd, cum);
    }
    if (fflush(io->out) != 0 || ferror(io->out)) {
        fprintf(err, "forestwatch degday: stdout: %s\n", strerror(errno));
        goto fail;
    }
    rc = 0;
fail:
    free(days);
    return rc;
}
