/* SPDX-License-Identifier: MIT */
/*
 * The reading recorder: the exact content of its lines (what `forestwatch replay` reads back),
 * rotation before a file would pass max_file_bytes, deletion of the oldest files beyond
 * max_files, numbering that continues across restarts, lazy creation of the folder, and errors
 * that are returned without disabling the recorder. Each case works in its own temporary folder.
 */
#include "test.h"

#include "forestwatch/record.h"
#include "forestwatch/uplink.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define T0 1780286400000LL /* 2026-06-01T04:00:00Z */

static char *tmp_dir(void)
{
    char *dir = fw_xstrdup("/tmp/fw-test-record-XXXXXX");
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

static void rm_rf(char *dir)
{
    char *cmd = fw_xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
    free(dir);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = fw_xmalloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static struct fw_reading reading(const char *station, const char *metric, double value,
                                 int64_t time_ms)
{
    struct fw_reading r = {0};
    r.source = FW_SOURCE_MQTT_NATIVE;
    fw_strlcpy(r.station, station, sizeof(r.station));
    fw_strlcpy(r.zone, "bs-03", sizeof(r.zone));
    r.metric = fw_metric_find(metric);
    r.value = value;
    r.time_ms = time_ms;
    return r;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

FW_TEST(content)
{
    char *dir = tmp_dir();
    ASSERT_TRUE(dir);
    struct fw_record *rec = fw_record_new(dir, 1 << 20, 4);
    ASSERT_TRUE(fw_record_path(rec) == NULL);
    struct fw_reading r1 = reading("bs03-smoke-01", "smoke_ppm", 352.5, T0 - 2000);
    struct fw_reading r2 = reading("bs03-wx-01", "air_temp_c", 3.1, T0 + 123);
    ASSERT_EQ(fw_record_tick(rec, T0 - 5000), 0);
    ASSERT_EQ(fw_record_append(rec, &r1, T0 + 7), 0);
    ASSERT_EQ(fw_record_append(rec, &r2, T0 + 1000), 0);
    ASSERT_EQ(fw_record_tick(rec, T0 + 60000), 0);

    /* The file is named after its first line's time, with the first seq of an empty folder. */
    const char *path = fw_record_path(rec);
    ASSERT_TRUE(path);
    char *want = fw_xasprintf("%s/readings-20260601T035955Z-000001.jsonl", dir);
    ASSERT_STR_EQ(path, want);
    free(want);
    char *text = read_file(path);
    ASSERT_TRUE(text);
    ASSERT_STR_EQ(text,
                  "{\"recv\": 1780286395000, \"tick\": true}\n"
                  "{\"recv\": 1780286400007, \"time\": \"2026-06-01T03:59:58Z\", \"station\": "
                  "\"bs03-smoke-01\", \"zone\": \"bs-03\", \"metric\": \"smoke_ppm\", \"value\": "
                  "352.5, \"source\": \"mqtt\"}\n"
                  "{\"recv\": 1780286401000, \"time\": \"2026-06-01T04:00:00.123Z\", "
                  "\"station\": \"bs03-wx-01\", \"zone\": \"bs-03\", \"metric\": \"air_temp_c\", "
                  "\"value\": 3.1, \"source\": \"mqtt\"}\n"
                  "{\"recv\": 1780286460000, \"tick\": true}\n");
    free(text);
    fw_record_free(rec);
    rm_rf(dir);
}

FW_TEST(json_escaping_and_exact_values)
{
    char *dir = tmp_dir();
    ASSERT_TRUE(dir);
    struct fw_record *rec = fw_record_new(dir, 1 << 20, 4);
    /* Ids reach the recorder already checked, but a line must stay JSON whatever they hold. */
    struct fw_reading r = reading("a\"b\\c\nd", "smoke_ppm", 0.1 + 0.2, T0);
    ASSERT_EQ(fw_record_append(rec, &r, T0), 0);
    char *text = read_file(fw_record_path(rec));
    ASSERT_TRUE(text);
    cJSON *o = cJSON_Parse(text);
    free(text);
    ASSERT_TRUE(o);
    ASSERT_STR_EQ(cJSON_GetObjectItem(o, "station")->valuestring, "a\"b\\c\nd");
    /* 0.1 + 0.2 is not 0.3: the recorded digits read back as the very same double. */
    ASSERT_TRUE(cJSON_GetObjectItem(o, "value")->valuedouble == 0.1 + 0.2);
    cJSON_Delete(o);

    char buf[32];
    fw_record_number(352.5, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "352.5");
    fw_record_number(3.1, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "3.1");
    fw_record_number(-1e-300, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "-1e-300");

    /* A value JSON cannot carry is refused and nothing is written. */
    long before = file_size(fw_record_path(rec));
    r.value = NAN;
    ASSERT_EQ(fw_record_append(rec, &r, T0), -EINVAL);
    ASSERT_EQ(file_size(fw_record_path(rec)), before);
    fw_record_free(rec);
    rm_rf(dir);
}

FW_TEST(rotation)
{
    char *dir = tmp_dir();
    ASSERT_TRUE(dir);
    /* A line is about 170 bytes: two fit in 400, the third starts a new file. */
    struct fw_record *rec = fw_record_new(dir, 400, 100);
    for (int i = 0; i < 9; i++) {
        struct fw_reading r = reading("bs03-smoke-01", "smoke_ppm", i, T0 + i * 1000);
        ASSERT_EQ(fw_record_append(rec, &r, T0 + i * 1000), 0);
    }
    char **paths;
    size_t n;
    ASSERT_EQ(fw_record_list(dir, &paths, &n), 0);
    ASSERT_EQ(n, 5);
    /* In seq order, every file within the limit, the lines in the order they were written. */
    int next = 0;
    for (size_t i = 0; i < n; i++) {
        char *want = fw_xasprintf("-%06zu.jsonl", i + 1);
        ASSERT_STR_CONTAINS(paths[i], want);
        free(want);
        ASSERT_LE(file_size(paths[i]), 400);
        char *text = read_file(paths[i]);
        ASSERT_TRUE(text);
        ASSERT_EQ(count_lines(text), i < 4 ? 2 : 1);
        for (char *line = text; *line; line = strchr(line, '\n') + 1) {
            char *want_value = fw_xasprintf("\"value\": %d,", next++);
            ASSERT_STR_CONTAINS(line, want_value);
            free(want_value);
        }
        free(text);
    }
    ASSERT_EQ(next, 9);
    /* Each file is named after the time of its first line. */
    ASSERT_STR_CONTAINS(paths[1], "readings-20260601T040002Z-000002");
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    fw_record_free(rec);
    rm_rf(dir);
}

FW_TEST(max_files)
{
    char *dir = tmp_dir();
    ASSERT_TRUE(dir);
    /* Another file in the folder is none of the recorder's business. */
    char *other = fw_xasprintf("%s/notes.txt", dir);
    FILE *f = fopen(other, "w");
    ASSERT_TRUE(f);
    fclose(f);
    struct fw_record *rec = fw_record_new(dir, 200, 3); /* one line a file */
    for (int i = 0; i < 10; i++) {
        struct fw_reading r = reading("bs03-smoke-01", "smoke_ppm", i, T0 + i * 1000);
        ASSERT_EQ(fw_record_append(rec, &r, T0 + i * 1000), 0);
    }
    char **paths;
    size_t n;
    ASSERT_EQ(fw_record_list(dir, &paths, &n), 0);
    ASSERT_EQ(n, 3);
    /* The newest three remain, the current one among them. */
    ASSERT_STR_CONTAINS(paths[0], "-000008.jsonl");
    ASSERT_STR_CONTAINS(paths[2], "-000010.jsonl");
    ASSERT_STR_EQ(paths[2], fw_record_path(rec));
    char *text = read_file(paths[2]);
    ASSERT_STR_CONTAINS(text, "\"value\": 9,");
    free(text);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    ASSERT_GE(file_size(other), 0);
    free(other);

    /* Fewer files allowed after a reload: the next rotation deletes down to the new limit. */
    fw_record_set_limits(rec, 200, 1);
    struct fw_reading r = reading("bs03-smoke-01", "smoke_ppm", 42, T0 + 20000);
    ASSERT_EQ(fw_record_append(rec, &r, T0 + 20000), 0);
    ASSERT_EQ(fw_record_list(dir, &paths, &n), 0);
    ASSERT_EQ(n, 1);
    ASSERT_STR_CONTAINS(paths[0], "-000011.jsonl");
    free(paths[0]);
    free(paths);
    fw_record_free(rec);
    rm_rf(dir);
}

FW_TEST(restart_continues_numbering)
{
    char *dir = tmp_dir();
    ASSERT_TRUE(dir);
    struct fw_reading r = reading("bs03-smoke-01", "smoke_ppm", 1, T0);
    struct fw_record *rec = fw_record_new(dir, 1 << 20, 10);
    ASSERT_EQ(fw_record_append(rec, &r, T0), 0);
    char *first = fw_xstrdup(fw_record_path(rec));
    fw_record_free(rec);
    /* Same second, same folder: a new file with the next seq, the old one left as it was. */
    rec = fw_record_new(dir, 1 << 20, 10);
    ASSERT_EQ(fw_record_append(rec, &r, T0), 0);
    ASSERT_STR_CONTAINS(fw_record_path(rec), "readings-20260601T040000Z-000002.jsonl");
    char *text = read_file(first);
    ASSERT_EQ(count_lines(text), 1);
    free(text);
    free(first);
    fw_record_free(rec);
    rm_rf(dir);
}

/* The core's other inputs (docs/replay.md): each one line, strings escaped, numbers exact; a
 * forecast with a value that cannot be written is refused whole. */
FW_TEST(other_inputs)
{
    char *dir = tmp_dir();
    ASSERT_TRUE(dir);
    struct fw_record *rec = fw_record_new(dir, 1 << 20, 4);
    ASSERT_EQ(fw_record_flush(rec, T0 + 1, 0), 0);
    ASSERT_EQ(fw_record_flush(rec, T0 + 2, 1), 0);
    ASSERT_EQ(fw_record_ack(rec, T0 + 3, "gw:smoke_high:a:1", "值班员 \"3\"", T0 - 1000), 0);
    struct fw_meteo_forecast f = {.zone = "bs-03",
                                  .day = 20606,
                                  .issued_ms = T0,
                                  .has_noon = 1,
                                  .temp_c = 24.5,
                                  .rh_pct = 30,
                                  .wind_ms = 3.1,
                                  .rain_mm = 0};
    ASSERT_EQ(fw_record_forecast(rec, T0 + 4, &f), 0);
    f = (struct fw_meteo_forecast){.zone = "bs-07",
                                   .day = 20606,
                                   .issued_ms = T0,
                                   .has_minmax = 1,
                                   .tmin_c = -2.5,
                                   .tmax_c = 11};
    ASSERT_EQ(fw_record_forecast(rec, T0 + 5, &f), 0);
    f.tmax_c = NAN;
    ASSERT_EQ(fw_record_forecast(rec, T0 + 6, &f), -EINVAL);
    char *text = read_file(fw_record_path(rec));
    ASSERT_TRUE(text);
    ASSERT_STR_EQ(text,
                  "{\"recv\": 1780286400001, \"flush\": true}\n"
                  "{\"recv\": 1780286400002, \"flush\": \"all\"}\n"
                  "{\"recv\": 1780286400003, \"ack\": \"gw:smoke_high:a:1\", \"by\": "
                  "\"值班员 \\\"3\\\"\", \"at\": \"2026-06-01T03:59:59Z\"}\n"
                  "{\"recv\": 1780286400004, \"forecast\": \"bs-03\", \"day\": \"2026-06-02\", "
                  "\"issued\": \"2026-06-01T04:00:00Z\", \"temp_c\": 24.5, \"rh_pct\": 30, "
                  "\"wind_ms\": 3.1, \"rain_mm\": 0}\n"
                  "{\"recv\": 1780286400005, \"forecast\": \"bs-07\", \"day\": \"2026-06-02\", "
                  "\"issued\": \"2026-06-01T04:00:00Z\", \"tmin_c\": -2.5, \"tmax_c\": 11}\n");
    free(text);
    fw_record_free(rec);
    rm_rf(dir);
}

FW_TEST(creates_folder_lazily)
{
    char *dir = tmp_dir();
    ASSERT_TRUE(dir);
    char *sub = fw_xasprintf("%s/a/b/recordings", dir);
    struct fw_record *rec = fw_record_new(sub, 1 << 20, 10);
    struct stat st;
    ASSERT_TRUE(stat(sub, &st) < 0); /* nothing happens before the first line */
    ASSERT_STR_EQ(fw_record_dir(rec), sub);
    ASSERT_EQ(fw_record_tick(rec, T0), 0);
    ASSERT_TRUE(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
    fw_record_free(rec);
    fw_record_free(NULL);
    free(sub);
    rm_rf(dir);
}

FW_TEST(errors_are_returned_and_retried)
{
    char *dir = tmp_dir();
    ASSERT_TRUE(dir);
    /* The folder's path is taken by a file: every line fails with the reason ... */
    char *sub = fw_xasprintf("%s/rec", dir);
    FILE *f = fopen(sub, "w");
    ASSERT_TRUE(f);
    fclose(f);
    struct fw_record *rec = fw_record_new(sub, 1 << 20, 10);
    struct fw_reading r = reading("bs03-smoke-01", "smoke_ppm", 1, T0);
    ASSERT_EQ(fw_record_append(rec, &r, T0), -ENOTDIR);
    ASSERT_EQ(fw_record_tick(rec, T0 + 1000), -ENOTDIR);
    ASSERT_TRUE(fw_record_path(rec) == NULL);
    /* ... and once the cause is gone, the next line is written: nothing was given up. */
    ASSERT_EQ(unlink(sub), 0);
    ASSERT_EQ(fw_record_append(rec, &r, T0 + 2000), 0);
    char *text = read_file(fw_record_path(rec));
    ASSERT_TRUE(text);
    ASSERT_EQ(count_lines(text), 1);
    free(text);
    free(sub);
    fw_record_free(rec);
    rm_rf(dir);
}

FW_TEST(never_overwrites)
{
    char *dir = tmp_dir();
    ASSERT_TRUE(dir);
    struct fw_record *rec = fw_record_new(dir, 1, 10); /* every line rotates */
    ASSERT_EQ(fw_record_tick(rec, T0), 0);
    /* Someone else's file has the name the next rotation would take: it is left alone and the
     * recorder takes the next seq instead. */
    char *taken = fw_xasprintf("%s/readings-20260601T040001Z-000002.jsonl", dir);
    FILE *f = fopen(taken, "w");
    ASSERT_TRUE(f);
    fputs("theirs\n", f);
    fclose(f);
    ASSERT_EQ(fw_record_tick(rec, T0 + 1000), 0);
    ASSERT_STR_CONTAINS(fw_record_path(rec), "-000003.jsonl");
    char *text = read_file(taken);
    ASSERT_STR_EQ(text, "theirs\n");
    free(text);
    free(taken);
    fw_record_free(rec);
    rm_rf(dir);
}

FW_TEST(failed_write_leaves_whole_lines)
{
    /* A file size limit makes the kernel write part of a line and then fail, as a full disk
     * does: the recorder reports the error and cuts the partial line off again. */
    char *dir = tmp_dir();
    ASSERT_TRUE(dir);
    struct fw_record *rec = fw_record_new(dir, 1 << 20, 10);
    struct fw_reading r = reading("bs03-smoke-01", "smoke_ppm", 1, T0);
    ASSERT_EQ(fw_record_append(rec, &r, T0), 0);
    long one = file_size(fw_record_path(rec));
    ASSERT_GT(one, 100);
    struct rlimit old, lim;
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)one + 50;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = fw_record_append(rec, &r, T0 + 1000);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    ASSERT_EQ(rc, -EFBIG);
    ASSERT_EQ(file_size(fw_record_path(rec)), one);
    /* The limit gone, the next line goes into the same file, after the first whole line. */
    ASSERT_EQ(fw_record_append(rec, &r, T0 + 2000), 0);
    char *text = read_file(fw_record_path(rec));
    ASSERT_EQ(count_lines(text), 2);
    ASSERT_STR_CONTAINS(text, "}\n{\"recv\": 1780286402000,");
    free(text);
    fw_record_free(rec);
    rm_rf(dir);
}
