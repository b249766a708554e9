/* SPDX-License-Identifier: MIT */
/*
 * fw-fieldsim: a field-node simulator for the demo and the integration tests. It plays a handful
 * of LoRa/MQTT field nodes that publish "native" JSON uplinks on <prefix>/<node>/up, QoS 1, one
 * message per node per round. Smoke nodes report background smoke and CO, air temperature and a
 * slowly draining battery; weather nodes report a diurnal temperature cycle with humidity moving
 * the other way, wind, pressure and the occasional shower. With --spike-after N the node
 * bs03-smoke-01 reports a fire plume from round N on: smoke rises over a few rounds to about
 * 450 ppm and CO to about 80 ppm, holds, then decays back to background. The values depend only
 * on --seed, so a run can be repeated; the timestamps are the wall clock, because the gateway
 * rejects readings too far from its own clock.
 *
 * This is a tool, not the daemon: libmosquitto runs its own network thread here
 * (mosquitto_loop_start) and the main thread just paces the rounds.
 */
#include "forestwatch/log.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <mosquitto.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FW_SIM_MAX_NODES 64
#define FW_SIM_NODE_ID_MAX 64
#define FW_SIM_PAYLOAD_MAX 1024
#define FW_SIM_SPIKE_NODE "bs03-smoke-01"
#define FW_SIM_DEFAULT_NODES "bs03-smoke-01,bs03-smoke-02,bs03-wx-01,bs07-smoke-01,bs07-wx-01"
/* The forest farms are in Liaoning: local solar time is close enough to UTC+8. */
#define FW_SIM_LOCAL_OFFSET_S (8 * 3600)
/* How long to wait for PUBACKs of the last messages before giving up at exit. */
#define FW_SIM_DRAIN_MS 3000

enum fw_sim_kind { FW_SIM_SMOKE, FW_SIM_WEATHER, FW_SIM_GENERIC };

struct fw_sim_node {
    char id[FW_SIM_NODE_ID_MAX];
    char *topic;
    enum fw_sim_kind kind;
    long long seq;
    double battery_v;
    double smoke_bg;   /* this node's background smoke level, ppm */
    double co_bg;      /* background CO, ppm */
    double temp_bias;  /* microclimate offset of the site, degC */
    double wind_dir;   /* random walk, degrees */
    double wind_speed; /* mean-reverting, m/s */
    int rain_left;     /* rounds of the current shower still to come */
};

struct fw_sim_opts {
    const char *host;
    int port;
    const char *nodes;
    long long interval_ms;
    long long count;
    long long spike_after; /* -1: no spike */
    const char *topic_prefix;
    uint64_t seed;
    int seeded;
    int verbose;
};

static volatile sig_atomic_t stop_requested;

/* Written by the mosquitto thread, read by the main thread. */
static pthread_mutex_t ack_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ack_cond = PTHREAD_COND_INITIALIZER;
static long long acks_pending;
static int connected;

/* ------------------------------------------------------------------------------------------ */
/* Deterministic randomness                                                                     */
/* ------------------------------------------------------------------------------------------ */

/*
 * splitmix64: tiny, good enough for simulated noise, and identical on every platform, unlike
 * rand(), so a seed reproduces the same readings anywhere.
 */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(double lo, double hi)
{
    return lo + (hi - lo) * rng_unit();
}

/* Approximately normal (sum of uniforms): cheap and bounded, which suits sensor noise. */
static double rng_noise(double sigma)
{
    double s = 0;
    for (int i = 0; i < 6; i++)
        s += rng_unit();
    return (s - 3.0) * sigma * 1.4142;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ------------------------------------------------------------------------------------------ */
/* Node models                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static void node_init(struct fw_sim_node *n, const char *prefix)
{
    if (strstr(n->id, "smoke"))
        n->kind = FW_SIM_SMOKE;
    else if (strstr(n->id, "wx"))
        n->kind = FW_SIM_WEATHER;
    else
        n->kind = FW_SIM_GENERIC;
    n->topic = fw_xasprintf("%s/%s/up", prefix, n->id);
    n->seq = 0;
    n->battery_v = rng_range(4.02, 4.14);
    n->smoke_bg = rng_range(6.0, 16.0);
    n->co_bg = rng_range(1.5, 4.0);
    n->temp_bias = rng_range(-1.5, 1.5);
    n->wind_dir = rng_range(0, 360);
    n->wind_speed = rng_range(1.5, 4.5);
    n->rain_left = 0;
}

/*
 * Air temperature of a June day in the hills: minimum near 05:00 local, maximum near 14:00.
 * A shifted cosine is the usual first approximation of the diurnal cycle.
 */
static double diurnal_temp(time_t now, double bias)
{
    double hour = fmod((double)((now + FW_SIM_LOCAL_OFFSET_S) % 86400) / 3600.0, 24.0);
    return 18.0 + bias - 7.0 * cos((hour - 2.0) * 2.0 * M_PI / 24.0);
}

/*
 * Extra smoke of the plume `k` rounds after the spike started: a ramp over five rounds, a hold
 * of two, then exponential decay. The rules engine must see one crossing up and, later, one back
 * down; the ramp's intermediate values exercise readings below the threshold before it.
 */
static double spike_smoke(long long k)
{
    static const double ramp[] = {60, 150, 260, 370, 450, 455, 448};
    if (k < 0)
        return 0;
    if (k < (long long)FW_ARRAY_LEN(ramp))
        return ramp[k];
    return 448.0 * pow(0.55, (double)(k - (long long)FW_ARRAY_LEN(ramp) + 1));
}

struct fw_sim_buf {
    char data[FW_SIM_PAYLOAD_MAX];
    size_t len;
    int readings;
};

static void buf_printf(struct fw_sim_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void buf_printf(struct fw_sim_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, sizeof(b->data) - b->len, fmt, ap);
    va_end(ap);
    /* The payloads are built from a fixed set of metrics and node ids of bounded length. */
    FW_ASSERT(n >= 0 && (size_t)n < sizeof(b->data) - b->len);
    b->len += (size_t)n;
}

static void add_reading(struct fw_sim_buf *b, const char *metric, double value, int decimals,
                        const char *unit)
{
    buf_printf(b, "%s{\"metric\":\"%s\",\"value\":%.*f,\"unit\":\"%s\"}", b->readings ? "," : "",
               metric, decimals, value, unit);
    b->readings++;
}

static void build_payload(struct fw_sim_node *n, long long round, const struct fw_sim_opts *o,
                          time_t now, struct fw_sim_buf *b)
{
    struct tm tm;
    char when[32];
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

    b->len = 0;
    b->readings = 0;
    buf_printf(b, "{\"node\":\"%s\",\"time\":\"%s\",\"seq\":%lld,\"readings\":[", n->id, when,
               n->seq);

    double temp = diurnal_temp(now, n->temp_bias) + rng_noise(0.2);

    switch (n->kind) {
    case FW_SIM_SMOKE: {
        double plume = 0;
        if (o->spike_after >= 0 && strcmp(n->id, FW_SIM_SPIKE_NODE) == 0)
            plume = spike_smoke(round - o->spike_after);
        double smoke = n->smoke_bg + rng_noise(1.5) + plume;
        /* CO follows smoke in a smouldering fire: ~80 ppm when the plume is at ~450 ppm. */
        double co = n->co_bg + rng_noise(0.4) + plume * (76.0 / 450.0);
        add_reading(b, "smoke_ppm", clamp(smoke, 0, 5000), 1, "ppm");
        add_reading(b, "co_ppm", clamp(co, 0, 1000), 1, "ppm");
        /* The fire warms the tower a little, which makes the plume look plausible. */
        add_reading(b, "air_temp_c", temp + plume / 100.0, 1, "degC");
        break;
    }
    case FW_SIM_WEATHER: {
        double base = diurnal_temp(now, 0);
        /* Relative humidity falls as the air warms (fixed moisture content). */
        double rh = 62.0 - 3.2 * (temp - base - n->temp_bias) - 2.4 * (base - 18.0);
        if (n->rain_left > 0)
            rh += 25;
        rh = clamp(rh + rng_noise(1.5), 22.0, 100.0);
        n->wind_speed += 0.3 * (3.0 - n->wind_speed) + rng_noise(0.6);
        n->wind_speed = clamp(n->wind_speed, 0, 25);
        n->wind_dir = fmod(n->wind_dir + rng_noise(12.0) + 360.0, 360.0);
        add_reading(b, "air_temp_c", temp, 1, "degC");
        add_reading(b, "rel_humidity_pct", rh, 1, "%");
        add_reading(b, "wind_speed_ms", n->wind_speed, 1, "m/s");
        add_reading(b, "wind_dir_deg", n->wind_dir, 0, "deg");
        add_reading(b, "pressure_hpa", 1008.0 + rng_noise(0.8), 1, "hPa");
        /* Showers are rare and short; rain is reported only while one lasts. */
        if (n->rain_left == 0 && rng_unit() < 0.03)
            n->rain_left = 1 + (int)rng_range(0, 4);
        if (n->rain_left > 0) {
            add_reading(b, "rain_mm", rng_range(0.2, 2.5), 1, "mm");
            n->rain_left--;
        }
        break;
    }
    case FW_SIM_GENERIC:
        add_reading(b, "air_temp_c", temp, 1, "degC");
        break;
    }

    /*
     * A node on a primary cell loses a little per transmission: at the default 2 s interval it
     * takes about eight hours to reach the 3.3 V battery_low threshold, so a long demo shows
     * that rule too without it firing in the first minutes. The noise is the ADC's.
     */
    n->battery_v -= 0.00004 + rng_range(0, 0.00002);
    add_reading(b, "battery_v", clamp(n->battery_v + rng_noise(0.0015), 2.5, 4.2), 3, "V");

    buf_printf(b, "]}");
    n->seq++;
}

/* ------------------------------------------------------------------------------------------ */
/* MQTT                                                                                         */
/* ------------------------------------------------------------------------------------------ */

static void on_mqtt_connect(struct mosquitto *mosq, void *arg, int rc)
{
    (void)mosq;
    (void)arg;
    pthread_mutex_lock(&ack_lock);
    connected = (rc == 0);
    pthread_cond_broadcast(&ack_cond);
    pthread_mutex_unlock(&ack_lock);
    if (rc != 0)
        FW_LOG(FW_LOG_WARNING, "fieldsim: broker: connect refused: %s",
               mosquitto_connack_string(rc));
}

static void on_mqtt_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
    (void)mosq;
    (void)arg;
    pthread_mutex_lock(&ack_lock);
    connected = 0;
    pthread_mutex_unlock(&ack_lock);
    if (rc != 0)
        FW_LOG(FW_LOG_WARNING, "fieldsim: broker: connection lost, retrying: %s",
               mosquitto_strerror(rc));
}

static void on_mqtt_publish(struct mosquitto *mosq, void *arg, int mid)
{
    (void)mosq;
    (void)arg;
    (void)mid;
    pthread_mutex_lock(&ack_lock);
    if (acks_pending > 0)
        acks_pending--;
    pthread_cond_broadcast(&ack_cond);
    pthread_mutex_unlock(&ack_lock);
}

static void deadline_after(struct timespec *ts, long long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Wait for the first CONNACK so the first round is not lost to a connection still opening. */
static int wait_connected(long long ms)
{
    struct timespec until;
    deadline_after(&until, ms);
    pthread_mutex_lock(&ack_lock);
    while (!connected && !stop_requested)
        if (pthread_cond_timedwait(&ack_cond, &ack_lock, &until) == ETIMEDOUT)
            break;
    int ok = connected;
    pthread_mutex_unlock(&ack_lock);
    return ok ? 0 : -ETIMEDOUT;
}

/* At exit, give the broker a moment to acknowledge the last round so it is not lost. */
static void drain_acks(long long ms)
{
    struct timespec until;
    deadline_after(&until, ms);
    pthread_mutex_lock(&ack_lock);
    while (acks_pending > 0)
        if (pthread_cond_timedwait(&ack_cond, &ack_lock, &until) == ETIMEDOUT)
            break;
    if (acks_pending > 0)
        FW_LOG(FW_LOG_WARNING, "fieldsim: broker: %lld publishes not acknowledged at exit",
               acks_pending);
    pthread_mutex_unlock(&ack_lock);
}

/* ------------------------------------------------------------------------------------------ */
/* Main                                                                                         */
/* ------------------------------------------------------------------------------------------ */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Sleep in short slices so a signal that lands on the mosquitto thread still stops us quickly. */
static void sleep_ms(long long ms)
{
    while (ms > 0 && !stop_requested) {
        long long slice = ms < 100 ? ms : 100;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fw-fieldsim [-h HOST] [-p PORT] [-n NODE,NODE,...] [-i INTERVAL_MS]\n"
            "                   [-c COUNT] [--spike-after N] [--topic-prefix PREFIX]\n"
            "                   [--seed S] [-v]\n"
            "\n"
            "  -h, --host HOST        broker host (default 127.0.0.1)\n"
            "  -p, --port PORT        broker port (default 1883)\n"
            "  -n, --nodes LIST       comma-separated node ids (default the shipped config's\n"
            "                         " FW_SIM_DEFAULT_NODES ")\n"
            "  -i, --interval MS      time between rounds (default 2000)\n"
            "  -c, --count N          messages per node, 0 = until interrupted (default 0)\n"
            "      --spike-after N    after N rounds, " FW_SIM_SPIKE_NODE " reports a fire plume\n"
            "      --topic-prefix P   uplink topic prefix (default forestwatch/field)\n"
            "      --seed S           seed of the simulated values (default: time and pid)\n"
            "  -v, --verbose          print each published message on stdout\n"
            "      --help             this text\n");
}

static int parse_num(const char *name, const char *s, long long lo, long long hi, long long *out)
{
    int rc = fw_parse_int(s, lo, hi, out);
    if (rc < 0)
        fprintf(stderr, "fw-fieldsim: %s: must be an integer %lld..%lld, got \"%s\"\n", name, lo,
                hi, s);
    return rc;
}

static int parse_args(int argc, char **argv, struct fw_sim_opts *o)
{
    enum { OPT_SPIKE = 256, OPT_PREFIX, OPT_SEED, OPT_HELP };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"nodes", required_argument, NULL, 'n'},
        {"interval", required_argument, NULL, 'i'},
        {"count", required_argument, NULL, 'c'},
        {"verbose", no_argument, NULL, 'v'},
        {"spike-after", required_argument, NULL, OPT_SPIKE},
        {"topic-prefix", required_argument, NULL, OPT_PREFIX},
        {"seed", required_argument, NULL, OPT_SEED},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    long long v;
    int c;
    while ((c = getopt_long(argc, argv, "h:p:n:i:c:v", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            o->host = optarg;
            break;
        case 'p':
            if (parse_num("--port", optarg, 1, 65535, &v) < 0)
                return -EINVAL;
            o->port = (int)v;
            break;
        case 'n':
            o->nodes = optarg;
            break;
        case 'i':
            if (parse_num("--interval", optarg, 0, 86400000, &o->interval_ms) < 0)
                return -EINVAL;
            break;
        case 'c':
            if (parse_num("--count", optarg, 0, 1000000000, &o->count) < 0)
                return -EINVAL;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case OPT_SPIKE:
            if (parse_num("--spike-after", optarg, 0, 1000000000, &o->spike_after) < 0)
                return -EINVAL;
            break;
        case OPT_PREFIX:
            o->topic_prefix = optarg;
            break;
        case OPT_SEED:
            /* Any 64-bit pattern is a fine seed; negative ones are just other patterns. */
            if (parse_num("--seed", optarg, INT64_MIN, INT64_MAX, &v) < 0)
                return -EINVAL;
            o->seed = (uint64_t)v;
            o->seeded = 1;
            break;
        case OPT_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "fw-fieldsim: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return -EINVAL;
    }
    if (!*o->topic_prefix || strpbrk(o->topic_prefix, "+#")) {
        fprintf(stderr, "fw-fieldsim: --topic-prefix: must be a non-empty topic without "
                        "wildcards\n");
        return -EINVAL;
    }
    return 0;
}

/* Split the comma list into nodes; ids become topic levels, so wildcards and '/' are refused. */
static int parse_nodes(const char *list, const char *prefix, struct fw_sim_node *nodes, int *n)
{
    char *copy = fw_xstrdup(list);
    char *save = NULL;
    int count = 0;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (count == FW_SIM_MAX_NODES) {
            fprintf(stderr, "fw-fieldsim: --nodes: at most %d nodes\n", FW_SIM_MAX_NODES);
            rc = -E2BIG;
            goto fail;
        }
        if (strpbrk(tok, "/+#\"\\ ") || fw_strlcpy(nodes[count].id, tok, FW_SIM_NODE_ID_MAX) < 0) {
            fprintf(stderr, "fw-fieldsim: --nodes: bad node id \"%s\"\n", tok);
            rc = -EINVAL;
            goto fail;
        }
        node_init(&nodes[count], prefix);
        count++;
    }
    if (count == 0) {
        fprintf(stderr, "fw-fieldsim: --nodes: no node given\n");
        rc = -EINVAL;
    }
fail:
    free(copy);
    *n = count;
    return rc;
}

int main(int argc, char **argv)
{
    struct fw_sim_opts o = {
        .host = "127.0.0.1",
        .port = 1883,
        .nodes = FW_SIM_DEFAULT_NODES,
        .interval_ms = 2000,
        .count = 0,
        .spike_after = -1,
        .topic_prefix = "forestwatch/field",
    };
    static struct fw_sim_node nodes[FW_SIM_MAX_NODES];
    int n_nodes = 0;
    struct mosquitto *mosq = NULL;
    int exit_code = 1;
    int publish_failing = 0;
    int rc;

    if (parse_args(argc, argv, &o) < 0)
        return 2;
    rng_state = o.seeded ? o.seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    if (parse_nodes(o.nodes, o.topic_prefix, nodes, &n_nodes) < 0) {
        for (int i = 0; i < n_nodes; i++)
            FW_FREE(nodes[i].topic);
        return 2;
    }
    /* Lines go to a pipe in the demo; flush each so they appear as the messages go out. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    mosquitto_lib_init();
    char client_id[64];
    snprintf(client_id, sizeof(client_id), "fw-fieldsim-%ld", (long)getpid());
    mosq = mosquitto_new(client_id, true, NULL);
    if (!mosq) {
        FW_LOG(FW_LOG_ERR, "fieldsim: mosquitto_new: %s", strerror(errno));
        goto fail;
    }
    mosquitto_connect_callback_set(mosq, on_mqtt_connect);
    mosquitto_disconnect_callback_set(mosq, on_mqtt_disconnect);
    mosquitto_publish_callback_set(mosq, on_mqtt_publish);
    /* A steady 1 s retry: the simulator serves tests that restart the broker on purpose. */
    mosquitto_reconnect_delay_set(mosq, 1, 1, false);

    rc = mosquitto_connect(mosq, o.host, o.port, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
        FW_LOG(FW_LOG_ERR, "fieldsim: broker %s:%d: connect: %s", o.host, o.port,
               rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        goto fail;
    }
    /* The network thread must not take SIGINT/SIGTERM: the main thread owns shutdown. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    rc = mosquitto_loop_start(mosq);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        FW_LOG(FW_LOG_ERR, "fieldsim: mosquitto_loop_start: %s", mosquitto_strerror(rc));
        goto fail;
    }
    if (wait_connected(10000) < 0 && !stop_requested) {
        FW_LOG(FW_LOG_ERR, "fieldsim: broker %s:%d: no CONNACK within 10 s", o.host, o.port);
        goto stop;
    }

    for (long long round = 0; !stop_requested && (o.count == 0 || round < o.count); round++) {
        if (round > 0)
            sleep_ms(o.interval_ms);
        if (stop_requested)
            break;
        time_t now = time(NULL);
        for (int i = 0; i < n_nodes && !stop_requested; i++) {
            struct fw_sim_buf b;
            build_payload(&nodes[i], round, &o, now, &b);
            pthread_mutex_lock(&ack_lock);
            acks_pending++;
            pthread_mutex_unlock(&ack_lock);
            /*
             * While the broker is away libmosquitto refuses new publishes, so a round taken
             * during an outage is lost, as it is for a real node without a retry buffer. Say so
             * once per outage, not once per message.
             */
            rc = mosquitto_publish(mosq, NULL, nodes[i].topic, (int)b.len, b.data, 1, false);
            if (rc != MOSQ_ERR_SUCCESS) {
                pthread_mutex_lock(&ack_lock);
                acks_pending--;
                pthread_mutex_unlock(&ack_lock);
                if (!publish_failing)
                    FW_LOG(FW_LOG_WARNING,
                           "fieldsim: node \"%s\": publish: dropping readings "
                           "until the broker is back: %s",
                           nodes[i].id, mosquitto_strerror(rc));
                publish_failing = 1;
                continue;
            }
            if (publish_failing)
                FW_LOG(FW_LOG_NOTICE, "fieldsim: broker: publishing again");
            publish_failing = 0;
            if (o.verbose)
                printf("%s %.*s\n", nodes[i].topic, (int)b.len, b.data);
        }
    }
    drain_acks(FW_SIM_DRAIN_MS);
    exit_code = 0;

stop:
    mosquitto_disconnect(mosq);
    mosquitto_loop_stop(mosq, false);
fail:
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    for (int i = 0; i < n_nodes; i++)
        FW_FREE(nodes[i].topic);
    return exit_code;
}
