/* SPDX-License-Identifier: MIT */
/*
 * `forestwatch fwi` and `forestwatch hffmc`: the FWI System over a weather table on standard
 * input, for operators who want to check the gateway's fire danger by hand, backfill a season or
 * compare with cffdrs (the column names are cffdrs' batch format). The whole input is read and
 * checked before anything is written, so a bad row gives every error, each naming its line and
 * column, and no partial table that could be mistaken for a result. The FWI System assumes an
 * unbroken daily (or hourly) stream, so a gap in the dates is an error too, never skipped. The
 * science is in fwi.c; this file only parses, sequences and prints.
 */
#include "forestwatch/fwi.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"
#include "tool_cmds.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decades of hourly data for hundreds of stations fit; the cap keeps stdin from exhausting
 * memory. */
#define FIRE_MAX_INPUT (64u * 1024u * 1024u)
#define FIRE_MAX_FIELDS 10
#define DAY_MS 86400000LL

static const char fwi_header[] = "id,lat,long,yr,mon,day,temp,rh,ws,prec";
static const char hffmc_header[] = "yr,mon,day,hr,temp,rh,ws,prec";

struct fire_opts {
    double coef;
    int lat_adjust;
    double init[3]; /* FFMC, DMC, DC */
};

/* One checked data row; the text pointers point into the input buffer and are echoed as given. */
struct fire_row {
    int line;
    int station; /* fwi: index into the station table */
    int month;   /* 1..12 */
    double lat;  /* fwi */
    struct fw_fwi_weather w;
    const char *f[FIRE_MAX_FIELDS];
};

/* A season in progress: one per id (fwi) or the single series (hffmc). */
struct station {
    const char *id;
    int64_t last; /* day (fwi) or hour (hffmc) of the last good row; valid when `seen` */
    int seen;
    struct fw_fwi_codes codes;
};

struct table {
    struct fire_row *rows;
    int nrows, cap;
    struct station *st;
    int nst, stcap;
    int errors;
    FILE *err; /* where every error goes */
};

/* ---------------------------------------------------------------------------------------------
 * Reading and field checks
 * ------------------------------------------------------------------------------------------- */

/* All of `in`, NUL-terminated, in one buffer that belongs to the caller. */
static int read_all(FILE *in, FILE *err, char **out, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = fw_xmalloc(cap);
    for (;;) {
        if (n + 1 == cap) {
            if (cap >= FIRE_MAX_INPUT)
                goto fail;
            cap *= 2;
            buf = fw_xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, in);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(in)) {
        fprintf(err, "stdin: read error\n");
        free(buf);
        return -EIO;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
fail:
    fprintf(err, "stdin: input larger than %u MiB; split it by station or season\n",
            FIRE_MAX_INPUT / (1024u * 1024u));
    free(buf);
    return -E2BIG;
}

/* A number column within [lo, hi]; prints the error, naming line and column. */
static int num_field(FILE *err, int line, const char *col, const char *s, double lo, double hi,
                     double *v)
{
    if (fw_parse_decimal(s, v) < 0 || *v < lo || *v > hi) {
        fprintf(err, "stdin:%d: column \"%s\": must be a number %g..%g, got \"%s\"\n", line, col,
                lo, hi, s);
        return -EINVAL;
    }
    return 0;
}

/* An integer column within [lo, hi]; prints the error. */
static int int_field(FILE *err, int line, const char *col, const char *s, int lo, int hi, int *v)
{
    long long x;
    if (fw_parse_int(s, lo, hi, &x) < 0) {
        fprintf(err, "stdin:%d: column \"%s\": must be an integer %d..%d, got \"%s\"\n", line, col,
                lo, hi, s);
        return -EINVAL;
    }
    *v = (int)x;
    return 0;
}

/* yr/mon/day as days since the epoch, through the project's one calendar implementation. */
static int date_field(FILE *err, int line, int yr, int mon, int day, int64_t *days)
{
    char stamp[40];
    int64_t ms;
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT00:00:00Z", yr, mon, day);
    if (yr < 1970 || fw_time_parse(stamp, &ms) < 0) {
        fprintf(err, "stdin:%d: column \"day\": %04d-%02d-%02d is not a date from 1970 on\n", line,
                yr, mon, day);
        return -EINVAL;
    }
    *days = ms / DAY_MS;
    return 0;
}

/* The four weather columns starting at f[0]; prints every error (no short-circuit). */
static int weather_fields(FILE *err, int line, char **f, struct fw_fwi_weather *w)
{
    int bad = 0;
    bad |= num_field(err, line, "temp", f[0], FW_FWI_TEMP_MIN, FW_FWI_TEMP_MAX, &w->temp_c) < 0;
    bad |= num_field(err, line, "rh", f[1], 0.0, 100.0, &w->rh_pct) < 0;
    bad |= num_field(err, line, "ws", f[2], 0.0, FW_FWI_WIND_MAX, &w->wind_kmh) < 0;
    bad |= num_field(err, line, "prec", f[3], 0.0, FW_FWI_RAIN_MAX, &w->rain_mm) < 0;
    return bad ? -EINVAL : 0;
}

/* yr/mon/day columns starting at f[0] as days since the epoch; prints every error. */
static int date_fields(FILE *err, int line, char **f, int *mon, int64_t *days)
{
    int yr = 0, day = 0, bad = 0;
    bad |= int_field(err, line, "yr", f[0], 1970, 9999, &yr) < 0;
    bad |= int_field(err, line, "mon", f[1], 1, 12, mon) < 0;
    bad |= int_field(err, line, "day", f[2], 1, 31, &day) < 0;
    if (bad || date_field(err, line, yr, *mon, day, days) < 0)
        return -EINVAL;
    return 0;
}

int fw_tool__split(char *s, char **f, int max)
{
    int n = 0;
    for (char *p = s;; n++) {
        char *comma = strchr(p, ',');
        if (n < max)
            f[n] = p;
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n + 1;
}

static int station_find(struct table *t, const char *id)
{
    /* Rows usually come grouped by id, so the most recent station is tried first. */
    if (t->nst > 0 && strcmp(t->st[t->nst - 1].id, id) == 0)
        return t->nst - 1;
    for (int i = 0; i < t->nst; i++)
        if (strcmp(t->st[i].id, id) == 0)
            return i;
    if (t->nst == t->stcap) {
        t->stcap = t->stcap ? 2 * t->stcap : 16;
        t->st = fw_xrealloc(t->st, (size_t)t->stcap * sizeof(*t->st));
    }
    memset(&t->st[t->nst], 0, sizeof(t->st[0]));
    t->st[t->nst].id = id;
    return t->nst++;
}

/* The sequence check: `now` must be exactly one step after the station's last good row. */
static int sequence_check(FILE *err, int line, struct station *s, int64_t now, const char *unit)
{
    int ok = !s->seen || now == s->last + 1;
    if (!ok) {
        if (s->id)
            fprintf(err,
                    "stdin:%d: column \"day\": id \"%s\": not the %s after the previous row of "
                    "this id (%+lld %ss); the FWI System needs an unbroken series, fill the gap\n",
                    line, s->id, unit, (long long)(now - s->last), unit);
        else
            fprintf(err,
                    "stdin:%d: column \"hr\": not the %s after the previous row (%+lld %ss); "
                    "hourly FFMC needs an unbroken series, fill the gap\n",
                    line, unit, (long long)(now - s->last), unit);
    }
    s->seen = 1;
    s->last = now;
    return ok ? 0 : -EINVAL;
}

/*
 * One fwi data row: `id,lat,long,yr,mon,day,temp,rh,ws,prec`. Prints every error. A row whose id
 * and date are good counts for the sequence even if other columns are bad, so one bad value does
 * not also report the next row as a gap.
 */
static int fwi_row(struct table *t, int line, char **f, struct fire_row *row)
{
    FILE *err = t->err;
    int bad = 0;
    double lon;
    int64_t days = 0;
    if (*f[0] == '\0') {
        fprintf(err, "stdin:%d: column \"id\": must not be empty\n", line);
        bad = 1;
    }
    bad |= num_field(err, line, "lat", f[1], -90.0, 90.0, &row->lat) < 0;
    bad |= num_field(err, line, "long", f[2], -180.0, 360.0, &lon) < 0;
    if (date_fields(err, line, f + 3, &row->month, &days) < 0) {
        /* The id's place in time is lost: restart its sequence rather than report the next
         * row as a gap as well. station_find() may grow t->st, so it runs before t->st is
         * read (in one expression the order is unspecified: a crash on an id's first row). */
        if (*f[0] != '\0') {
            int i = station_find(t, f[0]);
            t->st[i].seen = 0;
        }
        bad = 1;
    } else if (*f[0] != '\0') {
        row->station = station_find(t, f[0]);
        bad |= sequence_check(err, line, &t->st[row->station], days, "day") < 0;
    }
    bad |= weather_fields(err, line, f + 6, &row->w) < 0;
    return bad ? -EINVAL : 0;
}

/* One hffmc data row: `yr,mon,day,hr,temp,rh,ws,prec`. Prints every error. */
static int hffmc_row(struct table *t, int line, char **f, struct fire_row *row)
{
    FILE *err = t->err;
    int bad = 0, hr = 0;
    int64_t days = 0;
    bad |= date_fields(err, line, f, &row->month, &days) < 0;
    bad |= int_field(err, line, "hr", f[3], 0, 23, &hr) < 0;
    if (!bad) {
        if (t->nst == 0) {
            station_find(t, "");
            t->st[0].id = NULL; /* one unnamed series: sequence errors name the hour */
        }
        bad |= sequence_check(err, line, &t->st[0], days * 24 + hr, "hour") < 0;
    }
    bad |= weather_fields(err, line, f + 4, &row->w) < 0;
    row->station = 0;
    return bad ? -EINVAL : 0;
}

typedef int (*row_fn)(struct table *t, int line, char **f, struct fire_row *row);

/*
 * Read and check the whole input against `header`, filling `t` with the good rows. Every error is
 * printed; returns 0 only when there were none. `buf` must outlive `t` (rows point into it).
 */
static int load(char *buf, size_t len, const char *header, int nfields, row_fn parse,
                struct table *t)
{
    FILE *err = t->err;
    int line = 0;
    char *p = buf, *end = buf + len;

    /* Spreadsheets put a byte-order mark before the header; it is not part of "id". */
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    if (memchr(buf, '\0', len)) {
        fprintf(err, "stdin: contains a NUL byte; not a text table\n");
        return -EINVAL;
    }
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *s = p;
        p = nl ? nl + 1 : end;
        if (nl)
            *nl = '\0';
        line++;
        size_t n = strlen(s);
        if (n > 0 && s[n - 1] == '\r')
            s[--n] = '\0';
        if (line == 1) {
            if (strcmp(s, header) != 0) {
                fprintf(err, "stdin:1: the header must be \"%s\", got \"%s\"\n", header, s);
                return -EINVAL;
            }
            continue;
        }
        if (n == 0) {
            fprintf(err, "stdin:%d: empty line\n", line);
            t->errors++;
            continue;
        }
        char *f[FIRE_MAX_FIELDS];
        int nf = fw_tool__split(s, f, FIRE_MAX_FIELDS);
        if (nf != nfields) {
            fprintf(err, "stdin:%d: %d columns, the header has %d\n", line, nf, nfields);
            t->errors++;
            continue;
        }
        if (t->nrows == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 256;
            t->rows = fw_xrealloc(t->rows, (size_t)t->cap * sizeof(*t->rows));
        }
        struct fire_row *row = &t->rows[t->nrows];
        memset(row, 0, sizeof(*row));
        row->line = line;
        for (int i = 0; i < nfields; i++)
            row->f[i] = f[i];
        if (parse(t, line, f, row) < 0)
            t->errors++;
        else
            t->nrows++;
    }
    if (line == 0) {
        fprintf(err, "stdin:1: empty input, expected the header \"%s\"\n", header);
        return -EINVAL;
    }
    return t->errors ? -EINVAL : 0;
}

static void table_free(struct table *t)
{
    FW_FREE(t->rows);
    FW_FREE(t->st);
}

/* ---------------------------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------------------------- */

static void fwi_usage(FILE *f)
{
    fprintf(f,
            "usage: forestwatch fwi [--ffmc-coef 147.2|cffdrs] [--no-lat-adjust] "
            "[--init FFMC,DMC,DC]\n"
            "\n"
            "Reads %s on standard input\n"
            "(noon LST: degC, %%, km/h at 10 m, 24-h rain mm) and writes\n"
            "id,yr,mon,day,lat,ffmc,dmc,dc,isi,bui,fwi,dsr. Each id is its own season of\n"
            "consecutive days from the start-up values (default 85,6,15).\n"
            "  --ffmc-coef     the FFMC coefficient: cffdrs (250*59.5/101, default) or 147.2\n"
            "                  (Van Wagner & Pickett 1985, xclim, GEFF)\n"
            "  --no-lat-adjust use the 46N day lengths at every latitude\n"
            "Exit 0, 1 for bad input (every error printed), 2 for bad usage.\n",
            fwi_header);
}

static void hffmc_usage(FILE *f)
{
    fprintf(f,
            "usage: forestwatch hffmc [--ffmc-coef 147.2|cffdrs] [--init FFMC]\n"
            "\n"
            "Reads %s on standard input\n"
            "(one row per hour, no gaps; degC, %%, km/h at 10 m, the hour's rain in mm) and\n"
            "writes the same columns plus hffmc, the hourly FFMC (Van Wagner 1977, as cffdrs\n"
            "hffmc) from the start value (default 85).\n"
            "Exit 0, 1 for bad input (every error printed), 2 for bad usage.\n",
            hffmc_header);
}

/* "--name VALUE" or "--name=VALUE": the value, advancing *i, or NULL if `arg` is not --name. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

/* --init: `ninit` comma-separated numbers (FFMC 0..101, DMC and DC 0..10000). */
static int parse_init(FILE *err, const char *s, int ninit, double *init)
{
    static const char *names[3] = {"FFMC", "DMC", "DC"};
    static const double hi[3] = {101.0, 10000.0, 10000.0};
    char buf[128];
    char *f[FIRE_MAX_FIELDS];
    if (fw_strlcpy(buf, s, sizeof(buf)) < 0 || fw_tool__split(buf, f, FIRE_MAX_FIELDS) != ninit)
        goto fail;
    for (int i = 0; i < ninit; i++) {
        if (fw_parse_decimal(f[i], &init[i]) < 0 || init[i] < 0.0 || init[i] > hi[i]) {
            fprintf(err, "forestwatch: --init: %s must be a number 0..%g, got \"%s\"\n", names[i],
                    hi[i], f[i]);
            return -EINVAL;
        }
    }
    return 0;
fail:
    fprintf(err, "forestwatch: --init: expected %s, got \"%s\"\n",
            ninit == 3 ? "FFMC,DMC,DC" : "FFMC", s);
    return -EINVAL;
}

/* Parse the options of fwi (ninit 3, lat option) or hffmc (ninit 1). 0, 1 (help) or <0. */
static int parse_opts(int argc, char **argv, const struct fw_tool_io *io, int ninit,
                      struct fire_opts *o, void (*usage)(FILE *))
{
    o->coef = FW_FWI_FFMC_COEF_CFFDRS;
    o->lat_adjust = 1;
    o->init[0] = FW_FWI_STARTUP_FFMC;
    o->init[1] = FW_FWI_STARTUP_DMC;
    o->init[2] = FW_FWI_STARTUP_DC;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(io->out);
            return 1;
        }
        if ((v = opt_value(argc, argv, &i, "--ffmc-coef", &missing))) {
            if (strcmp(v, "cffdrs") == 0) {
                o->coef = FW_FWI_FFMC_COEF_CFFDRS;
            } else if (strcmp(v, "147.2") == 0) {
                o->coef = FW_FWI_FFMC_COEF_1985;
            } else {
                fprintf(io->err, "forestwatch: --ffmc-coef: must be 147.2 or cffdrs, got \"%s\"\n",
                        v);
                return -EINVAL;
            }
        } else if ((v = opt_value(argc, argv, &i, "--init", &missing))) {
            if (parse_init(io->err, v, ninit, o->init) < 0)
                return -EINVAL;
        } else if (ninit == 3 && strcmp(argv[i], "--no-lat-adjust") == 0) {
            o->lat_adjust = 0;
        } else {
            if (missing)
                fprintf(io->err, "forestwatch: %s needs a value\n", argv[i]);
            else
                fprintf(io->err, "forestwatch: %s: unknown argument \"%s\"\n", argv[0], argv[i]);
            usage(io->err);
            return -EINVAL;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The commands
 * ------------------------------------------------------------------------------------------- */

static int finish_output(const struct fw_tool_io *io)
{
    if (fflush(io->out) != 0 || ferror(io->out)) {
        fprintf(io->err, "forestwatch: stdout: write error\n");
        return 1;
    }
    return 0;
}

int fw_tool_fwi(int argc, char **argv, const struct fw_tool_io *io)
{
    struct fire_opts o;
    struct table t = {.err = io->err};
    char *buf = NULL;
    size_t len;
    int rc = 1, r = parse_opts(argc, argv, io, 3, &o, fwi_usage);
    if (r != 0)
        return r > 0 ? 0 : 2;
    if (read_all(io->in, io->err, &buf, &len) < 0)
        goto fail;
    if (load(buf, len, fwi_header, 10, fwi_row, &t) < 0) {
        if (t.errors)
            fprintf(io->err, "stdin: %d bad row%s, nothing computed\n", t.errors,
                    t.errors == 1 ? "" : "s");
        goto fail;
    }
    for (int i = 0; i < t.nst; i++) {
        struct fw_fwi_codes *c = &t.st[i].codes;
        fw_fwi_codes_startup(c);
        c->ffmc = o.init[0];
        c->dmc = o.init[1];
        c->dc = o.init[2];
    }
    fprintf(io->out, "id,yr,mon,day,lat,ffmc,dmc,dc,isi,bui,fwi,dsr\n");
    for (int i = 0; i < t.nrows; i++) {
        const struct fire_row *row = &t.rows[i];
        struct fw_fwi_codes *c = &t.st[row->station].codes;
        struct fw_fwi_opts fo;
        fw_fwi_opts_init(&fo, row->lat, row->month);
        fo.ffmc_coef = o.coef;
        fo.lat_adjust = o.lat_adjust;
        /* Every input was range-checked above with the limits fw_fwi_daily() applies. */
        if (fw_fwi_daily(c, &row->w, &fo, c) < 0) {
            fprintf(io->err, "stdin:%d: internal error: fw_fwi_daily rejected a checked row\n",
                    row->line);
            goto fail;
        }
        fprintf(io->out, "%s,%s,%s,%s,%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", row->f[0],
                row->f[3], row->f[4], row->f[5], row->f[1], c->ffmc, c->dmc, c->dc, c->isi, c->bui,
                c->fwi, c->dsr);
    }
    rc = finish_output(io);
fail:
    table_free(&t);
    free(buf);
    return rc;
}

int fw_tool_hffmc(int argc, char **argv, const struct fw_tool_io *io)
{
    struct fire_opts o;
    struct table t = {.err = io->err};
    char *buf = NULL;
    size_t len;
    int rc = 1, r = parse_opts(argc, argv, io, 1, &o, hffmc_usage);
    if (r != 0)
        return r > 0 ? 0 : 2;
    if (read_all(io->in, io->err, &buf, &len) < 0)
        goto fail;
    if (load(buf, len, hffmc_header, 8, hffmc_row, &t) < 0) {
        if (t.errors)
            fprintf(io->err, "stdin: %d bad row%s, nothing computed\n", t.errors,
                    t.errors == 1 ? "" : "s");
        goto fail;
    }
    double ffmc = o.init[0];
    fprintf(io->out, "%s,hffmc\n", hffmc_header);
    for (int i = 0; i < t.nrows; i++) {
        const struct fire_row *row = &t.rows[i];
        if (fw_fwi_hourly_ffmc(ffmc, &row->w, 1.0, o.coef, &ffmc) < 0) {
            fprintf(io->err,
                    "stdin:%d: internal error: fw_fwi_hourly_ffmc rejected a checked row\n",
                    row->line);
            goto fail;
        }
        fprintf(io->out, "%s,%s,%s,%s,%s,%s,%s,%s,%.6f\n", row->f[0], row->f[1], row->f[2],
                row->f[3], row->f[4], row->f[5], row->f[6], row->f[7], ffmc);
    }
    rc = finish_output(io);
fail:
    table_free(&t);
    free(buf);
    return rc;
}
