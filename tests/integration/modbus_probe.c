/* SPDX-License-Identifier: MIT */
/*
 * modbus_probe: drives the Modbus pollers (fw_modbus_*) on a libuv loop for the integration test
 * (test_modbus.py) and prints what it saw, per device: successful and failed polls, whether the
 * device was reported offline and then online again, and the spread of the times between its
 * successful polls. It closes the pollers the way the daemon must (close, run the loop until the
 * close callback, uv_loop_close() == 0) and fails when that does not work.
 *
 *   modbus_probe --seconds S [--breaker-max MS]
 *                --tcp NAME,HOST,PORT | --rtu NAME,DEVICE,BAUD  (one or more)
 *                --device NAME,BUS,UNIT,PROFILE,INTERVAL_MS,TIMEOUT_MS,RETRIES  (one or more)
 *
 * Output, one line a device after the run:
 *   device NAME ok=N failed=N offline_seen=0|1 back_online=0|1 online=0|1 values=N
 *          gap_ms_min=.. gap_ms_mean=.. gap_ms_max=.. gap_ms_sd=..
 */
#include "forestwatch/log.h"
#include "forestwatch/modbus.h"
#include "forestwatch/profile.h"
#include "forestwatch/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 64

struct seen {
    const char *name;
    uint64_t ok, failed, values;
    int offline_seen, back_online, online;
    uint64_t last_ok_ns;
    double gap_sum, gap_sq, gap_min, gap_max;
    uint64_t ngaps;
};

static struct seen seen[MAX_ITEMS];
static size_t nseen;
static struct fw_modbus *poller;
static int closed;

static char *field(char **s)
{
    char *f = *s;
    if (!f)
        return NULL;
    char *c = strchr(f, ',');
    if (c) {
        *c = '\0';
        *s = c + 1;
    } else {
        *s = NULL;
    }
    return f;
}

static long num(const char *s)
{
    long long v;
    if (!s || fw_parse_int(s, 0, 1000000000, &v) < 0) {
        fprintf(stderr, "modbus_probe: bad number \"%s\"\n", s ? s : "");
        exit(2);
    }
    return (long)v;
}

static void on_readings(struct fw_modbus *m, const struct fw_reading *r, size_t n, void *arg)
{
    (void)m;
    (void)arg;
    struct seen *s = NULL;
    for (size_t i = 0; i < nseen; i++)
        if (n && strcmp(seen[i].name, r[0].station) == 0)
            s = &seen[i];
    if (!s)
        return;
    int ok = 0;
    for (size_t i = 0; i < n; i++) {
        const char *metric = r[i].metric->name;
        if (strcmp(metric, "device_out_of_range") == 0) {
            ok = 1; /* reported with every successful poll, and only then */
        } else if (strcmp(metric, "device_online") == 0) {
            int on = r[i].value > 0.5;
            if (!on)
                s->offline_seen = 1;
            else if (s->offline_seen && !s->online)
                s->back_online = 1;
            s->online = on;
        } else if (strncmp(metric, "device_", 7) != 0) {
            s->values++;
        }
    }
    if (!ok) {
        s->failed++;
        return;
    }
    s->ok++;
    uint64_t now = uv_hrtime();
    if (s->last_ok_ns) {
        double gap = (double)(now - s->last_ok_ns) / 1e6;
        s->gap_sum += gap;
        s->gap_sq += gap * gap;
        if (!s->ngaps || gap < s->gap_min)
            s->gap_min = gap;
        if (gap > s->gap_max)
            s->gap_max = gap;
        s->ngaps++;
    }
    s->last_ok_ns = now;
}

static void on_closed(struct fw_modbus *m, void *arg)
{
    (void)m;
    (void)arg;
    closed = 1;
}

static void on_timer_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_stop(uv_timer_t *t)
{
    /* Counters are read before closing: after the close callback the poller is gone. */
    for (size_t i = 0; i < nseen; i++) {
        struct seen *s = &seen[i];
        struct fw_modbus_device_stats st;
        fw_modbus_device_stats(poller, i, &st);
        double mean = s->ngaps ? s->gap_sum / (double)s->ngaps : 0;
        double var = s->ngaps ? s->gap_sq / (double)s->ngaps - mean * mean : 0;
        printf("device %s ok=%llu failed=%llu offline_seen=%d back_online=%d online=%d values=%llu "
               "timeouts=%llu exceptions=%llu bad_frames=%llu link_errors=%llu "
               "gap_ms_min=%.1f gap_ms_mean=%.1f gap_ms_max=%.1f gap_ms_sd=%.1f\n",
               s->name, (unsigned long long)s->ok, (unsigned long long)s->failed, s->offline_seen,
               s->back_online, st.online, (unsigned long long)s->values,
               (unsigned long long)st.timeouts, (unsigned long long)st.exceptions,
               (unsigned long long)st.bad_frames, (unsigned long long)st.link_errors, s->gap_min,
               mean, s->gap_max, var > 0 ? sqrt(var) : 0);
    }
    printf("dropped %llu\n", (unsigned long long)fw_modbus_dropped(poller));
    fw_modbus_close(poller, on_closed, NULL);
    uv_close((uv_handle_t *)t, on_timer_closed);
}

int main(int argc, char **argv)
{
    struct fw_modbus_bus_cfg buses[MAX_ITEMS];
    struct fw_modbus_device_cfg devs[MAX_ITEMS];
    struct fw_profile *profiles[MAX_ITEMS];
    size_t nb = 0, nd = 0;
    long seconds = 5, breaker_max = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    fw_log_set_level(FW_LOG_NOTICE);
    for (int i = 1; i + 1 < argc; i += 2) {
        char *v = argv[i + 1];
        if (strcmp(argv[i], "--seconds") == 0) {
            seconds = num(v);
        } else if (strcmp(argv[i], "--breaker-max") == 0) {
            breaker_max = num(v);
        } else if ((strcmp(argv[i], "--tcp") == 0 || strcmp(argv[i], "--rtu") == 0) &&
                   nb < MAX_ITEMS) {
            struct fw_modbus_bus_cfg *b = &buses[nb++];
            memset(b, 0, sizeof(*b));
            b->name = field(&v);
            if (argv[i][2] == 't') {
                b->kind = FW_MODBUS_TCP;
                b->host = field(&v);
                b->port = (int)num(field(&v));
            } else {
                b->kind = FW_MODBUS_RTU;
                b->device = field(&v);
                b->baud = (int)num(field(&v));
                b->parity = 'N';
                b->data_bits = 8;
                b->stop_bits = 1;
            }
            b->reopen_min_ms = 200;
            b->reopen_max_ms = 2000;
        } else if (strcmp(argv[i], "--device") == 0 && nd < MAX_ITEMS) {
            struct fw_modbus_device_cfg *d = &devs[nd];
            memset(d, 0, sizeof(*d));
            d->name = field(&v);
            d->zone = "probe-zone";
            d->bus = field(&v);
            d->unit_id = (int)num(field(&v));
            const char *path = field(&v);
            struct fw_cfg_errors errs = {0};
            if (!path || fw_profile_load(path, NULL, &profiles[nd], &errs) < 0) {
                fw_cfg_errors_print(&errs, stderr);
                return 2;
            }
            d->profile = profiles[nd];
            d->interval_ms = num(field(&v));
            d->timeout_ms = num(field(&v));
            d->retries = (int)num(field(&v));
            d->breaker_max_ms = breaker_max;
            seen[nd].name = d->name;
            seen[nd].online = 1;
            nd++;
        } else {
            fprintf(stderr, "modbus_probe: bad argument %s\n", argv[i]);
            return 2;
        }
    }
    nseen = nd;
    uv_loop_t loop;
    uv_loop_init(&loop);
    if (fw_modbus_new(&loop, buses, nb, devs, nd, on_readings, NULL, &poller) < 0) {
        fprintf(stderr, "modbus_probe: fw_modbus_new failed\n");
        return 2;
    }
    uv_timer_t stop;
    uv_timer_init(&loop, &stop);
    uv_timer_start(&stop, on_stop, (uint64_t)seconds * 1000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&loop);
    printf("closed %d loop_close %d\n", closed, rc);
    for (size_t i = 0; i < nd; i++)
        fw_profile_free(profiles[i]);
    return closed && rc == 0 ? 0 : 1;
}
