/* SPDX-License-Identifier: MIT */
/*
 * `forestwatch cnrating`: the national forest fire weather rating (cnrating.c) over a CSV of one
 * station's daily weather on standard input, for operators checking a season by hand against the
 * bureau's published levels. The rain state (the last rain day and the dry days since) runs from
 * row to row, so the dates must follow each other without a gap; `--examples` instead rates
 * independent rows that give the last rain and the dry days directly (the worked examples'
 * format). As with `forestwatch fwi`, the whole input is checked before anything is written:
 * a bad row gives every error, each naming its line and column, and no partial table.
 */
#include "forestwatch/cfg_keys.h"
#include "forestwatch/cfg_text.h"
#include "forestwatch/cnrating.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/readline.h"
#include "forestwatch/util.h"
#include "tool_cmds.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CNR_MAX_LINE 1024
#define CNR_MAX_FIELDS 32
#define CNR_MAX_ROWS 1000000 /* some thousand years of days; keeps stdin from exhausting memory */
#define CNR_MAX_TABLES (1u << 20)
#define DAY_MS 86400000LL

enum col { C_KEY, C_TMAX, C_RH, C_RAIN, C_DAYS, C_WIND, C_PHEN, C_COUNT };

/* Column names per mode; C_DAYS is only in the examples' format. */
static const char *const daily_cols[C_COUNT] = {"date", "tmax_c",      "rh_min_pct", "precip_mm",
                                                NULL,   "wind_max_ms", "phenology"};
static const char *const example_cols[C_COUNT] = {
    "id",          "tmax_c",         "rh_min_pct", "last_rain_mm", "days_since_rain",
    "wind_max_ms", "phenology_class"};

struct out_row {
    char key[64];
    struct fw_cnr_day day;
    struct fw_cnr_result r;
};

struct run {
    const char *const *cols;
    int examples;
    int idx[C_COUNT]; /* field index of each column */
    struct fw_cnr_tables tables;
    struct fw_cnr_state state;
    int64_t last_day;
    int seen;
    struct out_row *rows;
    int nrows, cap, errors;
    FILE *err;
};

static int num(struct run *u, int line, enum col c, const char *s, double lo, double hi, double *v)
{
    if (fw_parse_decimal(s, v) < 0 || *v < lo || *v > hi) {
        fprintf(u->err, "stdin:%d: column \"%s\": must be a number %g..%g, got \"%s\"\n", line,
                u->cols[c], lo, hi, s);
        return -EINVAL;
    }
    return 0;
}

/* The date column: YYYY-MM-DD, exactly one day after the previous good row. */
static int date_col(struct run *u, int line, const char *s)
{
    char stamp[40];
    int64_t ms;
    if (strlen(s) != 10 || snprintf(stamp, sizeof(stamp), "%sT00:00:00Z", s) < 0 ||
        fw_time_parse(stamp, &ms) < 0) {
        fprintf(u->err,
                "stdin:%d: column \"date\": must be a date YYYY-MM-DD from 1970 on, got "
                "\"%s\"\n",
                line, s);
        u->seen = 0; /* the place in time is lost: do not report the next row as a gap too */
        return -EINVAL;
    }
    int64_t day = ms / DAY_MS;
    int ok = !u->seen || day == u->last_day + 1;
    if (!ok)
        fprintf(u->err,
                "stdin:%d: column \"date\": not the day after the previous row (%+lld days); the "
                "rating carries the rain from day to day, fill the gap\n",
                line, (long long)(day - u->last_day));
    u->seen = 1;
    u->last_day = day;
    return ok ? 0 : -EINVAL;
}

/* One data row; prints every error. On success the row is rated and stored. */
static int row(struct run *u, int line, char **f)
{
    struct out_row o = {{0}};
    struct fw_cnr_day *d = &o.day;
    int bad = 0;
    double rain = 0;
    const char *key = f[u->idx[C_KEY]];
    if (u->examples ? *key == '\0' : date_col(u, line, key) < 0) {
        if (u->examples)
            fprintf(u->err, "stdin:%d: column \"id\": must not be empty\n", line);
        bad = 1;
    }
    if (fw_strlcpy(o.key, key, sizeof(o.key)) < 0) {
        fprintf(u->err, "stdin:%d: column \"%s\": longer than %zu characters\n", line,
                u->cols[C_KEY], sizeof(o.key) - 1);
        bad = 1;
    }
    bad |=
        num(u, line, C_TMAX, f[u->idx[C_TMAX]], FW_CNR_TEMP_MIN, FW_CNR_TEMP_MAX, &d->tmax_c) < 0;
    bad |= num(u, line, C_RH, f[u->idx[C_RH]], 0, 100, &d->rh_min_pct) < 0;
    bad |= num(u, line, C_RAIN, f[u->idx[C_RAIN]], 0, FW_CNR_RAIN_MAX, &rain) < 0;
    bad |= num(u, line, C_WIND, f[u->idx[C_WIND]], 0, FW_CNR_WIND_MAX, &d->wind_max_ms) < 0;
    if (u->examples) {
        /* "NA" days: no rain day on record, whatever the amount says. */
        const char *s = f[u->idx[C_DAYS]];
        if (strcmp(s, "NA") != 0) {
            long long n = 0;
            if (fw_parse_int(s, 0, FW_CNR_DAYS_MAX, &n) < 0) {
                fprintf(u->err,
                        "stdin:%d: column \"days_since_rain\": must be an integer 0..%d or NA, "
                        "got \"%s\"\n",
                        line, FW_CNR_DAYS_MAX, s);
                bad = 1;
            }
            d->rain_on_record = 1;
            d->last_rain_mm = rain;
            d->days_since_rain = (int)n;
        }
    }
    enum fw_cnr_phenology p = FW_CNR_PHEN_NONE;
    if (fw_cnr_phenology_parse(f[u->idx[C_PHEN]], &p) < 0) {
        fprintf(u->err,
                "stdin:%d: column \"%s\": must be NONE, G20/S10, G50/S30, G75/S60 or G100/S90 "
                "(or either half, as G75 or S60), got \"%s\"\n",
                line, u->cols[C_PHEN], f[u->idx[C_PHEN]]);
        bad = 1;
    }
    d->phenology = p;
    if (bad)
        return -EINVAL;
    if (!u->examples) {
        /* Today's rain counts before today is rated: N is 0 on the rain day. */
        fw_cnr_state_step(&u->state, &u->tables, rain);
        fw_cnr_state_apply(&u->state, d);
    }
    if (fw_cnr_rate(&u->tables, d, &o.r) < 0) {
        fprintf(u->err, "stdin:%d: internal error: the rating rejected a checked row\n", line);
        return -EINVAL;
    }
    if (u->nrows == CNR_MAX_ROWS) {
        fprintf(u->err, "stdin:%d: more than %d rows; split the input\n", line, CNR_MAX_ROWS);
        return -E2BIG;
    }
    if (u->nrows == u->cap) {
        u->cap = u->cap ? 2 * u->cap : 256;
        u->rows = fw_xrealloc(u->rows, (size_t)u->cap * sizeof(*u->rows));
    }
    u->rows[u->nrows++] = o;
    return 0;
}

/* The header names the columns; the ones the mode needs must be there, others are ignored. */
static int header(struct run *u, char *s, int *nf)
{
    char *f[CNR_MAX_FIELDS];
    int bad = 0;
    if (strncmp(s, "\xEF\xBB\xBF", 3) == 0) /* a spreadsheet's byte-order mark */
        s += 3;
    *nf = fw_tool__split(s, f, CNR_MAX_FIELDS);
    if (*nf > CNR_MAX_FIELDS) {
        fprintf(u->err, "stdin:1: more than %d columns\n", CNR_MAX_FIELDS);
        return -EINVAL;
    }
    for (int c = 0; c < C_COUNT; c++) {
        u->idx[c] = -1;
        if (!u->cols[c]) {
            u->idx[c] = 0;
            continue;
        }
        for (int i = 0; i < *nf && u->idx[c] < 0; i++)
            if (strcmp(f[i], u->cols[c]) == 0)
                u->idx[c] = i;
        if (u->idx[c] < 0) {
            fprintf(u->err, "stdin:1: the header lacks the column \"%s\"\n", u->cols[c]);
            bad = 1;
        }
    }
    return bad ? -EINVAL : 0;
}

static int load(struct run *u, FILE *in)
{
    char buf[CNR_MAX_LINE];
    size_t len;
    int line = 0, nf = 0, r;
    while ((r = fw_read_line(in, buf, sizeof(buf), &len)) != -ENODATA) {
        line++;
        if (r == -E2BIG || len != strlen(buf)) {
            fprintf(u->err, "stdin:%d: %s\n", line,
                    r == -E2BIG ? "line too long" : "contains a NUL byte; not a text table");
            if (line == 1)
                return -EINVAL;
            u->errors++;
            continue;
        }
        if (line == 1) {
            if (header(u, buf, &nf) < 0)
                return -EINVAL;
            continue;
        }
        char *f[CNR_MAX_FIELDS];
        int n = len ? fw_tool__split(buf, f, CNR_MAX_FIELDS) : 0;
        if (n != nf) {
            fprintf(u->err, "stdin:%d: %d columns, the header has %d\n", line, n, nf);
            u->errors++;
            continue;
        }
        r = row(u, line, f);
        if (r == -E2BIG)
            return r;
        if (r < 0)
            u->errors++;
    }
    if (ferror(in)) {
        fprintf(u->err, "stdin: read error\n");
        return -EIO;
    }
    if (line == 0) {
        fprintf(u->err, "stdin:1: empty input, expected a header\n");
        return -EINVAL;
    }
    return u->errors ? -EINVAL : 0;
}

/* --tables FILE: read and parse as the config loader reads its files; prints the errors. */
static int load_tables(FILE *err, const char *path, struct fw_cnr_tables *t)
{
    struct fw_cfg_errors errs = {0};
    size_t len = 0;
    int rc = 0;
    char *text = fw_cfg_read_text(path, path, CNR_MAX_TABLES, &len, &errs, &rc);
    if (text && (rc = fw_cnr_tables_parse(text, len, path, t, &errs)) < 0)
        fw_cfg_errors_locate(&errs, 0, path, text);
    fw_cfg_errors_print(&errs, err);
    fw_cfg_errors_clear(&errs);
    free(text);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: forestwatch cnrating [--tables FILE] [--examples]\n"
            "\n"
            "Reads one station's days on standard input, with the columns\n"
            "date,tmax_c,rh_min_pct,precip_mm,wind_max_ms,phenology (consecutive dates\n"
            "YYYY-MM-DD; degC, %%, mm, m/s, class NONE, G20/S10, G50/S30, G75/S60, G100/S90)\n"
            "and writes date,last_rain_mm,days_since_rain,A,B,C,D,E,htz,level: the national\n"
            "forest fire weather rating (LY/T 1172-95 variant), no rain on record at the start.\n"
            "  --tables FILE  the rating's tables (default: the built-in transcription,\n"
            "                 the same as config/cn_rating_tables.json)\n"
            "  --examples     rate independent rows of id,tmax_c,rh_min_pct,last_rain_mm,\n"
            "                 days_since_rain (NA: no rain on record),wind_max_ms,\n"
            "                 phenology_class; writes id,A,B,C,D,E,htz,level\n"
            "Other columns are ignored. Exit 0, 1 for bad input (every error printed), 2 for\n"
            "bad usage.\n");
}

int fw_tool_cnrating(int argc, char **argv, const struct fw_tool_io *io)
{
    struct run u = {.cols = daily_cols, .err = io->err};
    const char *tables = NULL;
    int rc = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(io->out);
            return 0;
        } else if (strcmp(argv[i], "--examples") == 0) {
            u.examples = 1;
            u.cols = example_cols;
        } else if (strcmp(argv[i], "--tables") == 0 && i + 1 < argc) {
            tables = argv[++i];
        } else if (strncmp(argv[i], "--tables=", 9) == 0) {
            tables = argv[i] + 9;
        } else {
            fprintf(io->err, "forestwatch: cnrating: unknown argument \"%s\"\n", argv[i]);
            usage(io->err);
            return 2;
        }
    }
    fw_cnr_tables_default(&u.tables);
    fw_cnr_state_init(&u.state);
    if (tables && load_tables(io->err, tables, &u.tables) < 0)
        return 1;
    if (load(&u, io->in) < 0) {
        if (u.errors)
            fprintf(io->err, "stdin: %d bad row%s, nothing rated\n", u.errors,
                    u.errors == 1 ? "" : "s");
        goto fail;
    }
    fprintf(io->out, u.examples ? "id,A,B,C,D,E,htz,level\n"
                                : "date,last_rain_mm,days_since_rain,A,B,C,D,E,htz,level\n");
    for (int i = 0; i < u.nrows; i++) {
        const struct out_row *o = &u.rows[i];
        fprintf(io->out, "%s,", o->key);
        if (!u.examples && o->day.rain_on_record)
            fprintf(io->out, "%g,%d,", o->day.last_rain_mm, o->day.days_since_rain);
        else if (!u.examples)
            fprintf(io->out, "NA,NA,");
        fprintf(io->out, "%d,%d,%d,%d,%d,%d,%d\n", o->r.a, o->r.b, o->r.c, o->r.d, o->r.e, o->r.htz,
                o->r.level);
    }
    /* The operator must know the level rests on transcribed tables until they are checked. */
    char unv[64];
    if (fw_cnr_tables_unverified_list(&u.tables, unv, sizeof(unv)))
        fprintf(io->err,
                "forestwatch: cnrating: note: unverified tables (not checked against the printed "
                "standard): %s\n",
                unv);
    if (fflush(io->out) != 0 || ferror(io->out)) {
        fprintf(io->err, "forestwatch: stdout: write error\n");
        goto fail;
    }
    rc = 0;
fail:
    FW_FREE(u.rows);
    return rc;
}
