/* SPDX-License-Identifier: MIT */
/*
 * A small CSV reader for tests that compare against reference tables (tests/data/fire, pest).
 * Plain comma-separated fields with a header line; a field may be wholly in double quotes (R's
 * write.csv), any other quote is reported rather than misread. Every problem is printed as
 * `file:line: what` and returned as a negative errno, so a broken data file fails the test with a
 * pointer to the line instead of comparing garbage. Functions are static inline so a test that
 * uses some of them does not warn about the rest.
 */
#ifndef FORESTWATCH_CSV_TEST_H
#define FORESTWATCH_CSV_TEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_CSV_MAX_LINE 1024
#define FW_CSV_MAX_FIELDS 32

struct fw_csv {
    const char *path;
    FILE *f;
    int line; /* number of the line last read, 1 = the header */
    int ncols;
    char head[FW_CSV_MAX_LINE];
    char *cols[FW_CSV_MAX_FIELDS];
    char row[FW_CSV_MAX_LINE];
    char *fields[FW_CSV_MAX_FIELDS];
};

/* Read one line into buf, without its CR/LF. 1 = a line, 0 = end of file, <0 = error. */
static inline int fw_csv__getline(struct fw_csv *c, char *buf)
{
    if (!fgets(buf, FW_CSV_MAX_LINE, c->f))
        return ferror(c->f) ? -EIO : 0;
    c->line++;
    size_t n = strlen(buf);
    if (n == FW_CSV_MAX_LINE - 1 && buf[n - 1] != '\n' && !feof(c->f)) {
        fprintf(stderr, "%s:%d: line longer than %d bytes\n", c->path, c->line,
                FW_CSV_MAX_LINE - 2);
        return -E2BIG;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 1;
}

/*
 * A field wholly inside double quotes is unquoted: R's write.csv quotes strings and headers
 * (tests/data/pest). Any other quote, such as a comma or a quote inside quotes, is reported
 * rather than misread.
 */
static inline int fw_csv__unquote(struct fw_csv *c, char **field)
{
    char *f = *field;
    size_t n = strlen(f);
    if (!strchr(f, '"'))
        return 0;
    if (n >= 2 && f[0] == '"' && f[n - 1] == '"' && !memchr(f + 1, '"', n - 2)) {
        f[n - 1] = '\0';
        *field = f + 1;
        return 0;
    }
    fprintf(stderr, "%s:%d: quotes or commas inside a quoted field are not supported\n", c->path,
            c->line);
    return -EINVAL;
}

/* Split buf in place at commas. Returns the number of fields or <0. */
static inline int fw_csv__split(struct fw_csv *c, char *buf, char **out)
{
    int n = 0;
    for (char *p = buf;;) {
        if (n == FW_CSV_MAX_FIELDS) {
            fprintf(stderr, "%s:%d: more than %d fields\n", c->path, c->line, FW_CSV_MAX_FIELDS);
            return -E2BIG;
        }
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        out[n] = p;
        if (fw_csv__unquote(c, &out[n]) < 0)
            return -EINVAL;
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

static inline void fw_csv_close(struct fw_csv *c)
{
    if (c->f)
        fclose(c->f);
    c->f = NULL;
}

/** Open `path` and read its header. 0 or <0 (message printed). */
static inline int fw_csv_open(struct fw_csv *c, const char *path)
{
    memset(c, 0, sizeof(*c));
    c->path = path;
    c->f = fopen(path, "r");
    if (!c->f) {
        int e = errno;
        fprintf(stderr, "%s: %s\n", path, strerror(e));
        return -e;
    }
    int r = fw_csv__getline(c, c->head);
    if (r == 0) {
        fprintf(stderr, "%s:1: empty file, expected a header\n", path);
        r = -EINVAL;
    }
    if (r < 0)
        goto fail;
    r = fw_csv__split(c, c->head, c->cols);
    if (r < 0)
        goto fail;
    c->ncols = r;
    return 0;
fail:
    fw_csv_close(c);
    return r;
}

/** Index of the header column `name`, or -1 (message printed). */
static inline int fw_csv_col(const struct fw_csv *c, const char *name)
{
    for (int i = 0; i < c->ncols; i++)
        if (strcmp(c->cols[i], name) == 0)
            return i;
    fprintf(stderr, "%s:1: no column \"%s\"\n", c->path, name);
    return -1;
}

/** Read the next row: 1 = a row, 0 = end of file, <0 = error (message printed). */
static inline int fw_csv_next(struct fw_csv *c)
{
    int r = fw_csv__getline(c, c->row);
    if (r <= 0)
        return r;
    r = fw_csv__split(c, c->row, c->fields);
    if (r < 0)
        return r;
    if (r != c->ncols) {
        fprintf(stderr, "%s:%d: %d fields, the header has %d\n", c->path, c->line, r, c->ncols);
        return -EINVAL;
    }
    return 1;
}

/** The text of column `col` of the current row. */
static inline const char *fw_csv_str(const struct fw_csv *c, int col)
{
    return c->fields[col];
}

/** Column `col` of the current row as a whole finite number: 0 or -EINVAL (message printed). */
static inline int fw_csv_num(const struct fw_csv *c, int col, double *v)
{
    const char *s = c->fields[col];
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || *v != *v) {
        fprintf(stderr, "%s:%d: column \"%s\": not a number: \"%s\"\n", c->path, c->line,
                c->cols[col], s);
        return -EINVAL;
    }
    return 0;
}

#endif
