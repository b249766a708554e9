/* SPDX-License-Identifier: MIT */
/*
 * bench_modbus_poll: how many devices at 1 Hz one gateway process sustains over Modbus TCP. For
 * each device count it starts fw-modbus-sim with the devices spread over TCP endpoints (50 units
 * an endpoint, one bus each), polls them with fw_modbus for a few seconds and prints the share
 * of the 1 Hz slots that were polled, the poller's CPU time (the gateway's own process: workers
 * and loop) and its peak RSS. The simulator's CPU is not counted. With --dead K, each bus also
 * carries K devices that never answer (unit ids nobody serves), and the figures show what they
 * cost their healthy neighbours and how often they were asked (docs/modbus.md, "Bus time").
 * Every device has the default response timeout and retries. It prints figures; it asserts
 * nothing (ctest runs --quick only to check that it still runs).
 *
 *   bench_modbus_poll --sim PATH --profile PATH [--quick] [--seconds S] [--counts 10,50,...]
 *                     [--dead K]
 */
#include "forestwatch/log.h"
#include "forestwatch/modbus.h"
#include "forestwatch/util.h"

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PER_BUS 50

extern char **environ;

static uint64_t polls_ok, polls_failed, dead_polls;
static struct fw_modbus *poller;

static void on_readings(struct fw_modbus *m, const struct fw_reading *r, size_t n, void *arg)
{
    (void)m;
    (void)arg;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].metric->name, "device_failures") != 0)
            continue;
        if (strncmp(r[i].station, "dead", 4) == 0)
            dead_polls++;
        else
            r[i].value == 0 ? polls_ok++ : polls_failed++;
    }
}

static void on_stop(uv_timer_t *t)
{
    fw_modbus_close(poller, NULL, NULL);
    uv_close((uv_handle_t *)t, NULL);
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int run(const char *sim, const char *profile_path, int ndev, int ndead, int seconds)
{
    int nbus = (ndev + PER_BUS - 1) / PER_BUS;
    /* The simulator: one endpoint a bus, on free ports it prints back. */
    char **argv = fw_xcalloc((size_t)(ndev * 2 + nbus * 2 + 2), sizeof(char *));
    int a = 0;
    argv[a++] = (char *)sim;
    for (int b = 0; b < nbus; b++) {
        argv[a++] = "--tcp";
        argv[a++] = "127.0.0.1:0";
        for (int u = 1; u <= PER_BUS && b * PER_BUS + u <= ndev; u++) {
            argv[a++] = "--unit";
            argv[a++] = fw_xasprintf("%d:%s", u, profile_path);
        }
    }
    int out[2], in[2];
    if (pipe(out) < 0 || pipe(in) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    pid_t pid;
    if (posix_spawn(&pid, sim, &fa, NULL, argv, environ) != 0) {
        perror("bench_modbus_poll: spawn fw-modbus-sim");
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(in[0]);
    FILE *f = fdopen(out[0], "r");
    char line[256];
    int *ports = fw_xcalloc((size_t)nbus, sizeof(int));
    int np = 0;
    while (fgets(line, sizeof(line), f) && strncmp(line, "ready", 5) != 0) {
        char *c = strrchr(line, ':');
        long long port;
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "tcp ", 4) == 0 && c && np < nbus &&
            fw_parse_int(c + 1, 1, 65535, &port) == 0)
            ports[np++] = (int)port;
    }

    struct fw_cfg_errors errs = {0};
    struct fw_profile *prof = NULL;
    if (fw_profile_load(profile_path, NULL, &prof, &errs) < 0) {
        fw_cfg_errors_print(&errs, stderr);
        return -1;
    }
    struct fw_modbus_bus_cfg *buses = fw_xcalloc((size_t)nbus, sizeof(*buses));
    int nall = ndev + nbus * ndead;
    struct fw_modbus_device_cfg *devs = fw_xcalloc((size_t)nall, sizeof(*devs));
    for (int b = 0; b < nbus; b++) {
        buses[b].name = fw_xasprintf("bus%d", b);
        buses[b].kind = FW_MODBUS_TCP;
        buses[b].host = "127.0.0.1";
        buses[b].port = ports[b];
    }
    for (int i = 0; i < ndev; i++) {
        devs[i].name = fw_xasprintf("dev%d", i);
        devs[i].zone = "bench";
        devs[i].bus = buses[i / PER_BUS].name;
        devs[i].unit_id = i % PER_BUS + 1;
        devs[i].profile = prof;
        devs[i].interval_ms = 1000;
    }
    /* Listed after the healthy devices, unit ids above any simulated one: nobody answers. */
    for (int i = ndev; i < nall; i++) {
        int k = i - ndev;
        devs[i].name = fw_xasprintf("dead%d", k);
        devs[i].zone = "bench";
        devs[i].bus = buses[k / ndead].name;
        devs[i].unit_id = PER_BUS + 1 + k % ndead;
        devs[i].profile = prof;
        devs[i].interval_ms = 1000;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    polls_ok = polls_failed = dead_polls = 0;
    struct rusage ru;
    double cpu0 = cpu_s();
    if (fw_modbus_new(&loop, buses, (size_t)nbus, devs, (size_t)nall, on_readings, NULL, &poller) <
        0)
        return -1;
    uv_timer_t stop;
    uv_timer_init(&loop, &stop);
    uv_timer_start(&stop, on_stop, (uint64_t)seconds * 1000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    double cpu = cpu_s() - cpu0;
    getrusage(RUSAGE_SELF, &ru);
    uv_loop_close(&loop);
    double slots = (double)ndev * seconds;
    printf("%6d devices %3d buses: %6.1f%% of 1 Hz slots polled (%llu ok, %llu failed), "
           "CPU %.2f s in %d s (%.1f%% of one core), peak RSS %ld KiB\n",
           ndev, nbus, 100.0 * (double)polls_ok / slots, (unsigned long long)polls_ok,
           (unsigned long long)polls_failed, cpu, seconds, 100.0 * cpu / seconds, ru.ru_maxrss);
    if (ndead)
        printf("%6d dead devices beside them (%d a bus): asked %.2f times each in %d s\n",
               nbus * ndead, ndead, (double)dead_polls / (nbus * ndead), seconds);

    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    fclose(f);
    close(in[1]);
    for (int b = 0; b < nbus; b++)
        free((char *)buses[b].name);
    for (int i = 0; i < nall; i++)
        free((char *)devs[i].name);
    for (int i = 1; i < a; i++)
        if (strncmp(argv[i], "--", 2) != 0 && strcmp(argv[i], "127.0.0.1:0") != 0)
            free(argv[i]);
    free(argv);
    free(ports);
    free(buses);
    free(devs);
    fw_profile_free(prof);
    return 0;
}

int main(int argc, char **argv)
{
    const char *sim = NULL, *profile = NULL, *counts = "10,50,100,250,500";
    int seconds = 5, dead = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            counts = "10";
            seconds = 2;
        } else if (i + 1 < argc && strcmp(argv[i], "--sim") == 0) {
            sim = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--profile") == 0) {
            profile = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--counts") == 0) {
            counts = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0) {
            long long s;
            if (fw_parse_int(argv[++i], 1, 3600, &s) < 0)
                return 2;
            seconds = (int)s;
        } else if (i + 1 < argc && strcmp(argv[i], "--dead") == 0) {
            long long k;
            if (fw_parse_int(argv[++i], 0, PER_BUS, &k) < 0)
                return 2;
            dead = (int)k;
        } else {
            fprintf(stderr, "usage: bench_modbus_poll --sim PATH --profile PATH [--quick] "
                            "[--seconds S] [--counts N,N,...] [--dead K]\n");
            return 2;
        }
    }
    if (!sim || !profile)
        return 2;
    fw_log_set_level(FW_LOG_WARNING);
    signal(SIGPIPE, SIG_IGN);
    char *list = fw_xstrdup(counts), *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long long n;
        if (fw_parse_int(t, 1, 12000, &n) < 0 || run(sim, profile, (int)n, dead, seconds) < 0) {
            free(list);
            return 1;
        }
    }
    free(list);
    return 0;
}
