/* SPDX-License-Identifier: MIT */
/*
 * Rule evaluation benchmark: prints figures, asserts nothing about time (docs/bench.md). For
 * 10, 100 and 1,000 rules of a realistic mix (thresholds, windows, deltas, counts by zone and
 * absent_for) over 20 zones of 10 nodes, it writes a config to a temporary folder, loads it with
 * fw_config_load, and feeds a simulated hour of readings (every node reports smoke, temperature
 * and most of them battery once a minute; one zone has a fire) through fw_engine_feed and
 * fw_engine_tick on a fake clock. Each rule count runs in its own child process, so that its
 * peak RSS is its own. A second part evaluates every rule with fw_expr_eval alone, over a store
 * filled by the same stream, to give the cost per rule kind and to count the allocations made
 * on the evaluation path (there should be none: expr.h promises it). `--quick` runs a tiny
 * version, for the ctest that only checks that the benchmark still runs.
 */
#include "forestwatch/alerts.h"
#include "forestwatch/config.h"
#include "forestwatch/engine.h"
#include "forestwatch/expr.h"
#include "forestwatch/reading.h"
#include "forestwatch/series.h"
#include "forestwatch/util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* Counting allocator                                                                          */
/* ------------------------------------------------------------------------------------------ */

/*
 * The executable defines malloc and friends, so every allocation of the process goes through
 * them, libc's own included; they count while `counting` is set and forward to glibc. Sanitizer
 * builds bring their own allocator, so there nothing is counted.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#endif
#if defined(__GLIBC__) && !defined(SANITIZED)
#define COUNT_ALLOCS 1
#else
#define COUNT_ALLOCS 0
#endif

static int counting;
static uint64_t alloc_calls;

#if COUNT_ALLOCS
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

void *malloc(size_t size)
{
    alloc_calls += counting;
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    alloc_calls += counting;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    alloc_calls += counting;
    return __libc_realloc(p, size);
}

void free(void *p)
{
    __libc_free(p);
}
#endif

/* ------------------------------------------------------------------------------------------ */
/* The scenario                                                                                */
/* ------------------------------------------------------------------------------------------ */

#define T0_MS 1779999960000LL /* 2026-05-28T20:26:00Z: a whole minute, so instants fall evenly */

enum kind { K_THRESHOLD, K_WINDOW, K_DELTA, K_COUNT_BY_ZONE, K_ABSENT, K__N };
static const char *const kind_names[] = {
    "smoke_ppm > N", "avg_over_time(air_temp_c[10m]) > N", "delta(smoke_ppm[5m]) > N",
    "count by (zone) (smoke_ppm > N) >= 2", "absent_for(battery_v, 30m)"};

struct scenario {
    int zones, nodes_per_zone, minutes;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A small deterministic generator, so every run sees the same stream. */
static uint32_t rng_state = 12345;
static double rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (double)(rng_state >> 8) / (double)(1u << 24);
}

static enum kind rule_kind(int i)
{
    /* Mostly station thresholds and windows, as operators write them; a few zone counts. */
    static const enum kind mix[] = {K_THRESHOLD, K_WINDOW,        K_THRESHOLD, K_DELTA,
                                    K_WINDOW,    K_COUNT_BY_ZONE, K_THRESHOLD, K_ABSENT,
                                    K_DELTA,     K_THRESHOLD};
    return mix[i % (int)FW_ARRAY_LEN(mix)];
}

static void rule_expr(int i, char *buf, size_t size)
{
    switch (rule_kind(i)) {
    case K_THRESHOLD:
        snprintf(buf, size, "smoke_ppm > %d", 200 + (i * 7) % 300);
        break;
    case K_WINDOW:
        snprintf(buf, size, "avg_over_time(air_temp_c[10m]) > %d", 25 + i % 15);
        break;
    case K_DELTA:
        snprintf(buf, size, "delta(smoke_ppm[5m]) > %d", 50 + i % 100);
        break;
    case K_COUNT_BY_ZONE:
        snprintf(buf, size, "count by (zone) (smoke_ppm > %d) >= 2", 150 + i % 200);
        break;
    default:
        snprintf(buf, size, "absent_for(battery_v, %dm)", 30 + i % 30);
        break;
    }
}

/* Writes the config of `nrules` rules into `dir`/forestwatch.json; returns its path. */
static char *write_config(const char *dir, const struct scenario *sc, int nrules)
{
    char *path = fw_xasprintf("%s/forestwatch.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fprintf(f, "{\n \"gateway\": {\"id\": \"gw-bench\", \"status_broker\": \"b\"},\n"
               " \"brokers\": {\"b\": {\"host\": \"127.0.0.1\"}},\n"
               " \"engine\": {\"eval_interval_ms\": 15000, \"lookback_ms\": 600000},\n"
               " \"routes\": {\"forestry\": {\"broker\": \"b\", \"topic\": \"alerts\"}},\n"
               " \"zones\": {");
    for (int z = 0; z < sc->zones; z++)
        fprintf(f, "%s\n  \"z%02d\": {\"name\": \"Zone %d\", \"forest_chief\": {\"name\": \"C\"}}",
                z ? "," : "", z, z);
    fprintf(f, "},\n \"nodes\": {");
    for (int z = 0; z < sc->zones; z++)
        for (int k = 0; k < sc->nodes_per_zone; k++)
            fprintf(f, "%s\n  \"z%02d-n%02d\": {\"zone\": \"z%02d\"}", z || k ? "," : "", z, k, z);
    fprintf(f, "},\n \"rules\": [");
    for (int i = 0; i < nrules; i++) {
        char expr[128];
        rule_expr(i, expr, sizeof(expr));
        fprintf(f,
                "%s\n  {\"name\": \"r%04d\", \"expr\": \"%s\", \"severity\": \"Severe\", "
                "\"category\": \"Fire\", \"routes\": [\"forestry\"]}",
                i ? "," : "", i, expr);
    }
    fprintf(f, "]\n}\n");
    if (fclose(f) != 0) {
        perror(path);
        exit(2);
    }
    return path;
}

static struct fw_config *load_config(const char *dir, const struct scenario *sc, int nrules)
{
    char *path = write_config(dir, sc, nrules);
    struct fw_config *cfg = NULL;
    struct fw_cfg_errors errs = {0};
    if (fw_config_load(path, &cfg, &errs) != 0) {
        fw_cfg_errors_print(&errs, stderr);
        exit(2);
    }
    fw_cfg_errors_clear(&errs);
    unlink(path);
    free(path);
    return cfg;
}

/*
 * One minute of readings, in time order: node k of the whole network reports at k/N of the
 * minute. Zone 3 burns from minute 20 to 35; one node in ten has no battery sensor.
 */
typedef void (*reading_fn)(const struct fw_reading *r, int64_t now_ms, void *arg);

static void stream_minute(const struct fw_config *cfg, int minute, reading_fn fn, void *arg)
{
    static const struct fw_metric *smoke, *temp, *batt;
    if (!smoke) {
        smoke = fw_metric_find("smoke_ppm");
        temp = fw_metric_find("air_temp_c");
        batt = fw_metric_find("battery_v");
    }
    for (size_t k = 0; k < cfg->nnodes; k++) {
        const struct fw_cfg_node *nd = &cfg->nodes[k];
        int64_t t = T0_MS + (int64_t)minute * 60000 + (int64_t)(k * 60000 / cfg->nnodes);
        int burning = strcmp(nd->zone, "z03") == 0 && minute >= 20 && minute < 35;
        struct fw_reading r = {.source = FW_SOURCE_MQTT_NATIVE, .time_ms = t};
        fw_strlcpy(r.station, nd->id, sizeof(r.station));
        fw_strlcpy(r.zone, nd->zone, sizeof(r.zone));
        r.metric = smoke;
        r.value = burning ? 150 + 40.0 * (minute - 20) + 50 * rnd() : 5 + 15 * rnd();
        fn(&r, t, arg);
        r.metric = temp;
        r.value = 22 + 8 * sin(minute / 60.0 * M_PI) + (burning ? 10 : 0) + rnd();
        fn(&r, t, arg);
        if (k % 10 != 9) {
            r.metric = batt;
            r.value = 3.9 - minute * 0.001;
            fn(&r, t, arg);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Part 1: the engine                                                                          */
/* ------------------------------------------------------------------------------------------ */

struct feed {
    struct fw_engine *engine;
    struct fw_actions out;
    uint64_t notifications;
};

static void on_reading_feed(const struct fw_reading *r, int64_t now_ms, void *arg)
{
    struct feed *fd = arg;
    fd->notifications += fw_engine_feed(fd->engine, r, now_ms, &fd->out);
    fw_actions_clear(&fd->out);
}

static void run_engine(const char *dir, const struct scenario *sc, int nrules)
{
    struct fw_config *cfg = load_config(dir, sc, nrules);
    struct feed fd = {.engine = fw_engine_new(cfg)};
    /* The first half warms up (series grow, instances appear); the second half is measured. */
    int warm = sc->minutes / 2;
    for (int m = 0; m < warm; m++) {
        stream_minute(cfg, m, on_reading_feed, &fd);
        fd.notifications += fw_engine_tick(fd.engine, T0_MS + (int64_t)(m + 1) * 60000, &fd.out);
        fw_actions_clear(&fd.out);
    }
    struct fw_engine_stats before, after;
    fw_engine_stats(fd.engine, &before);
    uint64_t allocs_before = alloc_calls;
    counting = 1;
    double t0 = now_s();
    for (int m = warm; m < sc->minutes; m++) {
        stream_minute(cfg, m, on_reading_feed, &fd);
        fd.notifications += fw_engine_tick(fd.engine, T0_MS + (int64_t)(m + 1) * 60000, &fd.out);
        fw_actions_clear(&fd.out);
    }
    double dt = now_s() - t0;
    counting = 0;
    fw_engine_stats(fd.engine, &after);
    uint64_t readings = after.readings - before.readings;
    uint64_t evals = after.evaluations - before.evaluations;
    printf("%6d %10.0f %9.0f %8.1f %9llu %8llu %8llu %7zu %7zu %7zu %8zu %9ld", nrules,
           (double)readings / dt, dt * 1e9 / (double)readings, dt * 1e9 / (double)evals,
           (unsigned long long)(evals / readings),
           (unsigned long long)(after.instants - before.instants), (unsigned long long)after.fired,
           after.firing, after.instances, after.series, after.samples, peak_rss_kb());
    if (COUNT_ALLOCS)
        printf(" %7llu\n", (unsigned long long)(alloc_calls - allocs_before));
    else
        printf(" %7s\n", "-");
    fw_actions_free(&fd.out);
    fw_engine_free(fd.engine);
    fw_config_free(cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* Part 2: fw_expr_eval alone                                                                  */
/* ------------------------------------------------------------------------------------------ */

struct store_fill {
    struct fw_series_store *st;
};

static void on_reading_store(const struct fw_reading *r, int64_t now_ms, void *arg)
{
    struct store_fill *sf = arg;
    fw_series_add(sf->st, r->metric, r->station, r->zone, r->source, r->time_ms, r->value, now_ms);
}

static void run_eval(const char *dir, const struct scenario *sc, int nrules, int rounds)
{
    struct fw_config *cfg = load_config(dir, sc, nrules);
    int nm;
    fw_metric_table(&nm);
    struct fw_series_limits *lim = fw_xcalloc((size_t)nm, sizeof(*lim));
    for (int i = 0; i < nm; i++)
        lim[i] = (struct fw_series_limits){.retain_ms = 3600000, .cap = 4096};
    struct store_fill sf = {.st = fw_series_store_new(lim, nm)};
    free(lim);
    for (int m = 0; m < sc->minutes; m++)
        stream_minute(cfg, m, on_reading_store, &sf);

    size_t **zn = fw_xcalloc(cfg->nzones, sizeof(*zn));
    size_t *znn = fw_xcalloc(cfg->nzones, sizeof(*znn));
    for (size_t z = 0; z < cfg->nzones; z++) {
        zn[z] = fw_xcalloc(cfg->nnodes, sizeof(**zn));
        for (size_t i = 0; i < cfg->nnodes; i++)
            if (cfg->nodes[i].zone_ref == &cfg->zones[z])
                zn[z][znn[z]++] = i;
    }
    struct fw_expr_env env = {
        .series = sf.st,
        .cfg = cfg,
        .zone_nodes = (const size_t *const *)zn,
        .zone_nnodes = znn,
        .lookback_ms = cfg->engine.lookback_ms,
        .start_ms = T0_MS,
    };
    int64_t now = T0_MS + (int64_t)sc->minutes * 60000;

    /* The counter must see the library's allocations, or a 0 below would mean nothing. */
    uint64_t probe = alloc_calls;
    counting = 1;
    free(fw_xmalloc(16));
    counting = 0;
    if (COUNT_ALLOCS && alloc_calls != probe + 1) {
        fprintf(stderr, "bench_rules: the allocation counter does not see fwcore's malloc\n");
        exit(1);
    }

    double ns[K__N] = {0};
    uint64_t evals[K__N] = {0}, allocs = 0, total = 0;
    volatile double sink = 0;
    for (size_t r = 0; r < cfg->nrules; r++) {
        const struct fw_expr *ex = cfg->rules[r].expr;
        enum kind kd = rule_kind((int)r);
        enum fw_expr_scope scope = fw_expr_scope(ex);
        size_t nctx = scope == FW_EXPR_STATION ? cfg->nnodes
                      : scope == FW_EXPR_ZONE  ? cfg->nzones
                                               : 1;
        uint64_t a0 = alloc_calls;
        counting = 1;
        double t0 = now_s();
        for (int round = 0; round < rounds; round++)
            for (size_t c = 0; c < nctx; c++) {
                struct fw_expr_ctx ctx = {.env = &env, .now_ms = now};
                if (scope == FW_EXPR_STATION)
                    ctx.station = &cfg->nodes[c];
                else if (scope == FW_EXPR_ZONE)
                    ctx.zone = &cfg->zones[c];
                struct fw_expr_primary p;
                sink += fw_expr_eval(ex, &ctx, &p);
            }
        ns[kd] += (now_s() - t0) * 1e9;
        counting = 0;
        allocs += alloc_calls - a0;
        evals[kd] += (uint64_t)rounds * nctx;
        total += (uint64_t)rounds * nctx;
    }
    (void)sink;
    printf("\nfw_expr_eval alone, %d rules, every context, %d rounds (%llu evaluations):\n", nrules,
           rounds, (unsigned long long)total);
    printf("  %-40s %12s %10s\n", "rule kind", "evaluations", "ns/eval");
    for (int k = 0; k < K__N; k++)
        if (evals[k])
            printf("  %-40s %12llu %10.1f\n", kind_names[k], (unsigned long long)evals[k],
                   ns[k] / (double)evals[k]);
    if (COUNT_ALLOCS)
        printf("  allocations during fw_expr_eval: %llu (malloc+calloc+realloc calls)\n",
               (unsigned long long)allocs);
    else
        printf("  allocations during fw_expr_eval: not counted (sanitizer build)\n");

    for (size_t z = 0; z < cfg->nzones; z++)
        free(zn[z]);
    free(zn);
    free(znn);
    fw_series_store_free(sf.st);
    fw_config_free(cfg);
    if (COUNT_ALLOCS && allocs != 0) {
        fprintf(stderr,
                "bench_rules: fw_expr_eval allocated %llu times; expr.h says it never "
                "allocates\n",
                (unsigned long long)allocs);
        exit(1);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Driver                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Each part in its own process, so that peak RSS and the allocator's state are its own. */
static void in_child(void (*fn)(const char *, const struct scenario *, int, int), const char *dir,
                     const struct scenario *sc, int nrules, int rounds)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        fn(dir, sc, nrules, rounds);
        fflush(stdout);
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_rules: the run with %d rules failed\n", nrules);
        exit(1);
    }
}

static void engine_part(const char *dir, const struct scenario *sc, int nrules, int rounds)
{
    (void)rounds;
    run_engine(dir, sc, nrules);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (argc > 2 || (argc == 2 && !quick)) {
        fprintf(stderr, "usage: bench_rules [--quick]\n");
        return 2;
    }
    static const int full_counts[] = {10, 100, 1000}, quick_counts[] = {10, 100};
    const int *counts = quick ? quick_counts : full_counts;
    int ncounts = quick ? 2 : 3;
    struct scenario sc = quick ? (struct scenario){4, 5, 4} : (struct scenario){20, 10, 60};

    const char *tmp = getenv("TMPDIR");
    char *dir = fw_xasprintf("%s/fw-bench.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 2;
    }

    printf("bench_rules: %d zones x %d nodes, %d simulated minutes (the second half measured), "
           "eval every 15 s%s\n\n",
           sc.zones, sc.nodes_per_zone, sc.minutes, quick ? " (--quick)" : "");
    printf("%6s %10s %9s %8s %9s %8s %8s %7s %7s %7s %8s %9s %7s\n", "rules", "readings/s",
           "ns/read", "ns/eval", "evals/rd", "instants", "fired", "firing", "insts", "series",
           "samples", "maxrss_kb", "allocs");
    for (int i = 0; i < ncounts; i++)
        in_child(engine_part, dir, &sc, counts[i], 0);
    in_child(run_eval, dir, &sc, quick ? 10 : 100, quick ? 2 : 50);

    rmdir(dir);
    free(dir);
    return 0;
}
