/* SPDX-License-Identifier: MIT */
/*
 * The reading recorder (record.h, docs/replay.md): one JSON line per reading the engine was fed,
 * written with one write(2) per line into size-capped, numbered files in one folder.
 *
 * Plain file descriptors rather than stdio: after a failed write (a full disk) the file is cut
 * back to the last whole line with ftruncate, which needs to know exactly what reached the file;
 * a stdio buffer would hide that. One system call per line is what fflush per line would cost.
 */
#include "forestwatch/record.h"

#include "forestwatch/timefmt.h"
#include "forestwatch/uplink.h"
#include "forestwatch/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Attempts at a file name taken by someone else before giving up on this line. */
#define OPEN_ATTEMPTS 100

struct fw_record {
    char *dir;
    int64_t max_file_bytes;
    int max_files;
    int fd;                      /* the current file, or -1 */
    char *path;                  /* its path */
    int64_t size;                /* bytes of whole lines in it */
    unsigned long long next_seq; /* 0: not known yet (the folder was not scanned) */
};

/* ------------------------------------------------------------------------------------------ */
/* Names and listing                                                                           */
/* ------------------------------------------------------------------------------------------ */

/* The seq of a recording file name, or 0 when the name is not one of ours. */
static unsigned long long name_seq(const char *name)
{
    size_t plen = strlen(FW_RECORD_PREFIX), slen = strlen(FW_RECORD_SUFFIX), len = strlen(name);
    if (len <= plen + slen || strncmp(name, FW_RECORD_PREFIX, plen) != 0 ||
        strcmp(name + len - slen, FW_RECORD_SUFFIX) != 0)
        return 0;
    /* The seq sits between the last '-' and the suffix. */
    const char *dash = NULL;
    for (const char *p = name + plen; p < name + len - slen; p++)
        if (*p == '-')
            dash = p;
    if (!dash || dash + 1 == name + len - slen)
        return 0;
    unsigned long long seq = 0;
    for (const char *p = dash + 1; p < name + len - slen; p++) {
        if (*p < '0' || *p > '9' || seq > ULLONG_MAX / 10 - 1)
            return 0;
        seq = seq * 10 + (unsigned)(*p - '0');
    }
    return seq;
}

struct entry {
    unsigned long long seq;
    char *path;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Our files in `dir`, sorted by seq, in *out (the caller frees the paths and the array). */
static int list_entries(const char *dir, struct entry **out, size_t *n)
{
    DIR *d = opendir(dir);
    struct entry *v = NULL;
    size_t len = 0, cap = 0;
    if (!d)
        return -errno;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && len < FW_RECORD_MAX_LIST) {
        unsigned long long seq = name_seq(de->d_name);
        if (!seq)
            continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            v = fw_xrealloc(v, cap * sizeof(*v));
        }
        v[len].seq = seq;
        v[len].path = fw_xasprintf("%s/%s", dir, de->d_name);
        len++;
    }
    closedir(d);
    if (len)
        qsort(v, len, sizeof(*v), entry_cmp);
    *out = v;
    *n = len;
    return 0;
}

int fw_record_list(const char *dir, char ***paths, size_t *n)
{
    struct entry *v;
    size_t len;
    int rc = list_entries(dir, &v, &len);
    if (rc < 0)
        return rc;
    char **p = fw_xcalloc(len + 1, sizeof(*p));
    for (size_t i = 0; i < len; i++)
        p[i] = v[i].path;
    free(v);
    *paths = p;
    *n = len;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Files                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* mkdir -p: the recording folder may be a new subfolder of a new mount point. */
static int make_dirs(const char *dir)
{
    char path[PATH_MAX];
    if (fw_strlcpy(path, dir, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = c;
        if (!c)
            break;
    }
    struct stat st;
    if (stat(dir, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Delete the oldest files beyond max_files (the current one counts). Best effort: a file that
 * cannot be deleted now is tried again at the next rotation. */
static void prune(struct fw_record *rec)
{
    struct entry *v;
    size_t n;
    if (list_entries(rec->dir, &v, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (n - i > (size_t)rec->max_files && (!rec->path || strcmp(v[i].path, rec->path) != 0))
            unlink(v[i].path);
        free(v[i].path);
    }
    free(v);
}

static void close_file(struct fw_record *rec)
{
    if (rec->fd >= 0)
        close(rec->fd);
    rec->fd = -1;
    rec->size = 0;
}

/* Open a new file named after the time of its first line. */
static int open_file(struct fw_record *rec, int64_t now_ms)
{
    int rc = make_dirs(rec->dir);
    if (rc < 0)
        return rc;
    if (!rec->next_seq) {
        /* Continue the numbering of the files already there, so that a restarted daemon never
         * reuses a name and the oldest file is always the one with the lowest seq. */
        struct entry *v;
        size_t n;
        rc = list_entries(rec->dir, &v, &n);
        if (rc < 0)
            return rc;
        rec->next_seq = n ? v[n - 1].seq + 1 : 1;
        for (size_t i = 0; i < n; i++)
            free(v[i].path);
        free(v);
    }
    char stamp[FW_TIME_STRLEN], compact[FW_TIME_STRLEN];
    fw_time_format(now_ms - now_ms % 1000, stamp);
    /* "2026-06-01T04:00:00Z" -> "20260601T040000Z" */
    size_t k = 0;
    for (const char *p = stamp; *p && k + 1 < sizeof(compact); p++)
        if (*p != '-' && *p != ':')
            compact[k++] = *p;
    compact[k] = '\0';
    for (int attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
        char *path = fw_xasprintf("%s/%s%s-%06llu%s", rec->dir, FW_RECORD_PREFIX, compact,
                                  rec->next_seq++, FW_RECORD_SUFFIX);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            free(rec->path);
            rec->path = path;
            rec->fd = fd;
            rec->size = 0;
            prune(rec);
            return 0;
        }
        rc = -errno;
        free(path);
        if (rc != -EEXIST)
            return rc;
    }
    return -EEXIST;
}

/* Write one whole line, rotating first when it would take the file past its limit. */
static int write_line(struct fw_record *rec, const char *line, size_t len, int64_t now_ms)
{
    if (rec->fd >= 0 && rec->size > 0 && rec->size + (int64_t)len > rec->max_file_bytes)
        close_file(rec);
    if (rec->fd < 0) {
        int rc = open_file(rec, now_ms);
        if (rc < 0)
            return rc;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(rec->fd, line + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int rc = w < 0 ? -errno : -EIO;
            /* Cut the partial line off, so the file stays whole lines; if even that fails,
             * leave this file and start a new one at the next line. */
            if (done && ftruncate(rec->fd, (off_t)rec->size) < 0)
                close_file(rec);
            return rc;
        }
        done += (size_t)w;
    }
    rec->size += (int64_t)len;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Lines                                                                                       */
/* ------------------------------------------------------------------------------------------ */

void fw_record_number(double v, char *buf, size_t size)
{
    /* The shortest of %.15g..%.17g that reads back exactly: 352.5 stays "352.5", and 3.1 is
     * "3.1" rather than "3.1000000000000001", yet a replay sees the very same double. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* Append `s` as a JSON string. Ids are plain names, but a recording must stay valid JSON
 * whatever reaches it. */
static void put_str(char *buf, size_t size, size_t *n, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (*n + 2 >= size)
        return;
    buf[(*n)++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && *n + 8 < size; p++) {
        if (*p == '"' || *p == '\\') {
            buf[(*n)++] = '\\';
            buf[(*n)++] = (char)*p;
        } else if (*p < 0x20) {
            *n += (size_t)snprintf(buf + *n, size - *n, "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
        } else {
            buf[(*n)++] = (char)*p;
        }
    }
    buf[(*n)++] = '"';
    buf[*n] = '\0';
}

static void put_raw(char *buf, size_t size, size_t *n, const char *s)
{
    int w = snprintf(buf + *n, size - *n, "%s", s);
    if (w > 0)
        *n += (size_t)w < size - *n ? (size_t)w : size - *n - 1;
}

/* `{"recv": <recv_ms>, ` */
static void put_head(char *buf, size_t size, size_t *n, int64_t recv_ms)
{
    char head[48];
    snprintf(head, sizeof(head), "{\"recv\": %lld, ", (long long)recv_ms);
    put_raw(buf, size, n, head);
}

int fw_record_append(struct fw_record *rec, const struct fw_reading *r, int64_t recv_ms)
{
    char line[FW_RECORD_MAX_LINE], num[32], t[FW_TIME_STRLEN];
    size_t n = 0;
    if (!isfinite(r->value))
        return -EINVAL;
    fw_time_format(r->time_ms, t);
    fw_record_number(r->value, num, sizeof(num));
    put_head(line, sizeof(line), &n, recv_ms);
    put_raw(line, sizeof(line), &n, "\"time\": ");
    put_str(line, sizeof(line), &n, t);
    put_raw(line, sizeof(line), &n, ", \"station\": ");
    put_str(line, sizeof(line), &n, r->station);
    put_raw(line, sizeof(line), &n, ", \"zone\": ");
    put_str(line, sizeof(line), &n, r->zone);
    put_raw(line, sizeof(line), &n, ", \"metric\": ");
    put_str(line, sizeof(line), &n, r->metric->name);
    put_raw(line, sizeof(line), &n, ", \"value\": ");
    put_raw(line, sizeof(line), &n, num);
    put_raw(line, sizeof(line), &n, ", \"source\": ");
    put_str(line, sizeof(line), &n, fw_source_str(r->source));
    put_raw(line, sizeof(line), &n, "}\n");
    /* Every part is bounded (ids < 64 bytes, escaped at most 6x), so this always fits. */
    FW_ASSERT(n > 0 && line[n - 1] == '\n');
    return write_line(rec, line, n, recv_ms);
}

int fw_record_tick(struct fw_record *rec, int64_t recv_ms)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "{\"recv\": %lld, \"tick\": true}\n", (long long)recv_ms);
    return write_line(rec, line, (size_t)n, recv_ms);
}

int fw_record_flush(struct fw_record *rec, int64_t recv_ms, int all)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "{\"recv\": %lld, \"flush\": %s}\n", (long long)recv_ms,
                     all ? "\"all\"" : "true");
    return write_line(rec, line, (size_t)n, recv_ms);
}

/* `, "<key>": <v>` with v printed as fw_record_number() prints it */
static void put_number(char *buf, size_t size, size_t *n, const char *key, double v)
{
    char num[32];
    fw_record_number(v, num, sizeof(num));
    put_raw(buf, size, n, ", \"");
    put_raw(buf, size, n, key);
    put_raw(buf, size, n, "\": ");
    put_raw(buf, size, n, num);
}

int fw_record_ack(struct fw_record *rec, int64_t recv_ms, const char *id, const char *by,
                  int64_t at_ms)
{
    char line[FW_RECORD_MAX_LINE], t[FW_TIME_STRLEN];
    size_t n = 0;
    fw_time_format(at_ms, t);
    put_head(line, sizeof(line), &n, recv_ms);
    put_raw(line, sizeof(line), &n, "\"ack\": ");
    put_str(line, sizeof(line), &n, id);
    put_raw(line, sizeof(line), &n, ", \"by\": ");
    put_str(line, sizeof(line), &n, by);
    put_raw(line, sizeof(line), &n, ", \"at\": ");
    put_str(line, sizeof(line), &n, t);
    put_raw(line, sizeof(line), &n, "}\n");
    FW_ASSERT(n > 0 && line[n - 1] == '\n');
    return write_line(rec, line, n, recv_ms);
}

int fw_record_forecast(struct fw_record *rec, int64_t recv_ms, const struct fw_meteo_forecast *f)
{
    char line[FW_RECORD_MAX_LINE], t[FW_TIME_STRLEN], day[16];
    size_t n = 0;
    const double v[] = {f->temp_c, f->rh_pct, f->wind_ms, f->rain_mm, f->tmin_c, f->tmax_c};
    for (size_t i = 0; i < FW_ARRAY_LEN(v); i++)
        if (!isfinite(v[i]) && (i < 4 ? f->has_noon : f->has_minmax))
            return -EINVAL;
    int y, mo, d;
    fw_time__civil_from_days(f->day, &y, &mo, &d);
    snprintf(day, sizeof(day), "%04d-%02d-%02d", y, mo, d);
    fw_time_format(f->issued_ms, t);
    put_head(line, sizeof(line), &n, recv_ms);
    put_raw(line, sizeof(line), &n, "\"forecast\": ");
    put_str(line, sizeof(line), &n, f->zone);
    put_raw(line, sizeof(line), &n, ", \"day\": ");
    put_str(line, sizeof(line), &n, day);
    put_raw(line, sizeof(line), &n, ", \"issued\": ");
    put_str(line, sizeof(line), &n, t);
    if (f->has_noon) {
        put_number(line, sizeof(line), &n, "temp_c", f->temp_c);
        put_number(line, sizeof(line), &n, "rh_pct", f->rh_pct);
        put_number(line, sizeof(line), &n, "wind_ms", f->wind_ms);
        put_number(line, sizeof(line), &n, "rain_mm", f->rain_mm);
    }
    if (f->has_minmax) {
        put_number(line, sizeof(line), &n, "tmin_c", f->tmin_c);
        put_number(line, sizeof(line), &n, "tmax_c", f->tmax_c);
    }
    if (f->level)
        put_number(line, sizeof(line), &n, "level", f->level);
    put_raw(line, sizeof(line), &n, "}\n");
    FW_ASSERT(n > 0 && line[n - 1] == '\n');
    return write_line(rec, line, n, recv_ms);
}

/* ------------------------------------------------------------------------------------------ */
/* Life cycle                                                                                  */
/* ------------------------------------------------------------------------------------------ */

struct fw_record *fw_record_new(const char *dir, int64_t max_file_bytes, int max_files)
{
    struct fw_record *rec = fw_xcalloc(1, sizeof(*rec));
    rec->dir = fw_xstrdup(dir);
    rec->fd = -1;
    fw_record_set_limits(rec, max_file_bytes, max_files);
    return rec;
}

void fw_record_set_limits(struct fw_record *rec, int64_t max_file_bytes, int max_files)
{
    rec->max_file_bytes = max_file_bytes > 0 ? max_file_bytes : 1;
    rec->max_files = max_files > 0 ? max_files : 1;
}

void fw_record_free(struct fw_record *rec)
{
    if (!rec)
        return;
    close_file(rec);
    free(rec->path);
    free(rec->dir);
    free(rec);
}

const char *fw_record_dir(const struct fw_record *rec)
{
    return rec->dir;
}

const char *fw_record_path(const struct fw_record *rec)
{
    return rec->path;
}
