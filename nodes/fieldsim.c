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
 * rejects readings too far from its own clock. With --fire-front a fire passes several nodes in
 * turn: the plume reaches the first listed node, then the next a few rounds later, and so on.
 *
 * With --format chirpstack or tts the nodes are LoRa nodes behind a network server instead: each
 * round's values go into the project's binary frame (fw_codec_encode, docs/codec.md), base64, in
 * the uplink message that ChirpStack v4 or The Things Stack v3 would publish, with the frame
 * counter counting up, fresh uplink ids and the radio metadata of a gateway that hears the node.
 * The frame carries temperature, humidity, smoke, CO and battery, so weather nodes send only
 * temperature, humidity and battery this way. A node's device EUI is derived from its id (the
 * FNV-1a 64-bit hash of the id, as 16 lowercase hex digits), so that a test config can register
 * the nodes without asking; --print-euis prints the mapping. --duplicate-every N publishes every
 * Nth uplink twice, alternately as the same message again (a redelivery) and as heard by a
 * second gateway (new uplink ids, same frame counter and payload): the gateway must drop both.
 *
 * This is a tool, not the daemon: libmosquitto runs its own network thread here
 * (mosquitto_loop_start) and the main thread just paces the rounds.
 */
#include "forestwatch/codec.h"
#include "forestwatch/log.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cJSON.h>
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

enum fw_sim_kind { FW_SIM_SMOKE, FW_SIM_WEATHER, FW_SIM_TRAP, FW_SIM_GENERIC };

enum fw_sim_format { FW_SIM_NATIVE, FW_SIM_CHIRPSTACK, FW_SIM_TTS };

/* Defaults of the network servers' application ids: ChirpStack names applications by UUID. */
#define FW_SIM_CS_APP_ID "5f0c2a5e-8d3b-4c1e-9a7f-3b2d1e0c4f61"
#define FW_SIM_CS_TENANT_ID "52f14cd4-c6f1-4fbd-8f87-4025e1d49242"
#define FW_SIM_CS_PROFILE_ID "14855bf7-d10d-4aee-b618-ebfcb64dc7ad"
#define FW_SIM_TTS_APP_ID "forestwatch"
#define FW_SIM_TTS_TENANT "ttn"
/* The LoRaWAN frame port the nodes send their binary frame on. */
#define FW_SIM_FPORT 1

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
    int front_pos;     /* place in the --fire-front list, -1 when the front misses the node */
    /* LoRa formats only: */
    char dev_eui[17]; /* FNV-1a 64 of the id, lowercase hex */
    uint32_t f_cnt;   /* frame counter of the next uplink */
    double rssi_base; /* how well the nearest gateway hears this site, dBm */
};

/* One round's values of a node, before they are written as JSON or as a frame. */
struct fw_sim_values {
    double smoke, co, temp, rh, wind_speed, wind_dir, pressure, rain, battery, trap;
    int has_rain;
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
    enum fw_sim_format format;
    const char *app_id; /* NULL: the format's default */
    const char *tenant;
    long long duplicate_every; /* 0: never */
    const char *fire_front;    /* node ids in the order the front reaches them, or NULL */
    long long front_after;
    long long front_step;
    int print_euis;
    long long season_day; /* day of the year the trap season is simulated at; -1: today's */
    const char *silent;   /* "NODE@ROUND": that node sends nothing from that round on */
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

/* The device EUI of a node id, documented in the usage text: FNV-1a 64 (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3) of the id's bytes, as 16 lowercase hex digits. */
static void node_eui(const char *id, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)fw_hash64(id, strlen(id), 0));
}

static void node_init(struct fw_sim_node *n, const struct fw_sim_opts *o)
{
    if (strstr(n->id, "smoke"))
        n->kind = FW_SIM_SMOKE;
    else if (strstr(n->id, "wx"))
        n->kind = FW_SIM_WEATHER;
    else if (strstr(n->id, "trap"))
        n->kind = FW_SIM_TRAP;
    else
        n->kind = FW_SIM_GENERIC;
    node_eui(n->id, n->dev_eui);
    if (o->format == FW_SIM_CHIRPSTACK)
        n->topic = fw_xasprintf("application/%s/device/%s/event/up", o->app_id, n->dev_eui);
    else if (o->format == FW_SIM_TTS && o->tenant[0])
        n->topic = fw_xasprintf("v3/%s@%s/devices/%s/up", o->app_id, o->tenant, n->id);
    else if (o->format == FW_SIM_TTS)
        n->topic = fw_xasprintf("v3/%s/devices/%s/up", o->app_id, n->id);
    else
        n->topic = fw_xasprintf("%s/%s/up", o->topic_prefix, n->id);
    /* From the EUI, not the value generator, so that the values stay those of the native
     * format for the same seed: -118..-74 dBm, from the edge of coverage to a near site. */
    n->rssi_base = -118.0 + (double)(fw_hash64(n->id, strlen(n->id), 1) % 45);
    n->f_cnt = 0;
    n->front_pos = -1;
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

/* Extra smoke at node `n` in round `round`: the single spike of --spike-after, and the fire
 * front of --fire-front, which reaches the k-th listed node front_step rounds after the one
 * before it. */
static double plume_at(const struct fw_sim_node *n, long long round, const struct fw_sim_opts *o)
{
    double plume = 0;
    if (o->spike_after >= 0 && strcmp(n->id, FW_SIM_SPIKE_NODE) == 0)
        plume = spike_smoke(round - o->spike_after);
    if (n->front_pos >= 0)
        plume += spike_smoke(round - o->front_after - n->front_pos * o->front_step);
    return plume;
}

/* One round of a node's values. The generator is drawn in the same order whatever the output
 * format, so a seed gives the same values as native JSON and as LoRa frames. */
static void sample_node(struct fw_sim_node *n, long long round, const struct fw_sim_opts *o,
                        time_t now, struct fw_sim_values *v)
{
    memset(v, 0, sizeof(*v));
    double temp = diurnal_temp(now, n->temp_bias) + rng_noise(0.2);
    double plume = plume_at(n, round, o);

    switch (n->kind) {
    case FW_SIM_SMOKE: {
        double smoke = n->smoke_bg + rng_noise(1.5) + plume;
        /* CO follows smoke in a smouldering fire: ~80 ppm when the plume is at ~450 ppm. */
        double co = n->co_bg + rng_noise(0.4) + plume * (76.0 / 450.0);
        v->smoke = clamp(smoke, 0, 5000);
        v->co = clamp(co, 0, 1000);
        /* The fire warms the tower a little, which makes the plume look plausible. */
        v->temp = temp + plume / 100.0;
        break;
    }
    case FW_SIM_WEATHER: {
        double base = diurnal_temp(now, 0);
        /* Relative humidity falls as the air warms (fixed moisture content). */
        double rh = 62.0 - 3.2 * (temp - base - n->temp_bias) - 2.4 * (base - 18.0);
        if (n->rain_left > 0)
            rh += 25;
        /* A passing fire front heats and dries the air at a weather mast. */
        rh -= plume / 20.0;
        rh = clamp(rh + rng_noise(1.5), plume > 0 ? 5.0 : 22.0, 100.0);
        n->wind_speed += 0.3 * (3.0 - n->wind_speed) + rng_noise(0.6);
        n->wind_speed = clamp(n->wind_speed, 0, 25);
        n->wind_dir = fmod(n->wind_dir + rng_noise(12.0) + 360.0, 360.0);
        v->temp = temp + plume / 40.0;
        v->rh = rh;
        v->wind_speed = n->wind_speed;
        v->wind_dir = n->wind_dir;
        v->pressure = 1008.0 + rng_noise(0.8);
        /* Showers are rare and short; rain is reported only while one lasts. */
        if (n->rain_left == 0 && rng_unit() < 0.03)
            n->rain_left = 1 + (int)rng_range(0, 4);
        if (n->rain_left > 0) {
            v->rain = rng_range(0.2, 2.5);
            v->has_rain = 1;
            n->rain_left--;
        }
        break;
    }
    case FW_SIM_TRAP: {
        /* A pheromone trap: catches follow the flight season, rising through spring (a
         * logistic around day 110, late April) and falling after midsummer, with the node's
         * own noise; a report counts the insects since the previous one. */
        struct tm tm;
        gmtime_r(&now, &tm);
        double day = o->season_day >= 0 ? (double)o->season_day : tm.tm_yday;
        double season = 1.0 / (1.0 + exp(-(day - 110.0) / 8.0)) *
                        (1.0 - 1.0 / (1.0 + exp(-(day - 200.0) / 10.0)));
        double mean = 12.0 * season; /* insects per report at the height of the flight */
        v->trap = clamp(floor(mean + rng_noise(sqrt(mean + 0.25)) + 0.5), 0, 65535);
        v->temp = temp;
        break;
    }
    case FW_SIM_GENERIC:
        v->temp = temp;
        break;
    }

    /*
     * A node on a primary cell loses a little per transmission: at the default 2 s interval it
     * takes about eight hours to reach the 3.3 V battery_low threshold, so a long demo shows
     * that rule too without it firing in the first minutes. The noise is the ADC's.
     */
    n->battery_v -= 0.00004 + rng_range(0, 0.00002);
    v->battery = clamp(n->battery_v + rng_noise(0.0015), 2.5, 4.2);
}

/* Whether --silent has stopped this node by this round. */
static int falls_silent(const struct fw_sim_node *n, long long round, const struct fw_sim_opts *o)
{
    if (!o->silent)
        return 0;
    const char *at = strchr(o->silent, '@');
    return (size_t)(at - o->silent) == strlen(n->id) &&
           strncmp(o->silent, n->id, (size_t)(at - o->silent)) == 0 &&
           round >= strtoll(at + 1, NULL, 10);
}

static void build_payload(struct fw_sim_node *n, const struct fw_sim_values *v, time_t now,
                          struct fw_sim_buf *b)
{
    struct tm tm;
    char when[32];
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

    b->len = 0;
    b->readings = 0;
    buf_printf(b, "{\"node\":\"%s\",\"time\":\"%s\",\"seq\":%lld,\"readings\":[", n->id, when,
               n->seq);
    switch (n->kind) {
    case FW_SIM_SMOKE:
        add_reading(b, "smoke_ppm", v->smoke, 1, "ppm");
        add_reading(b, "co_ppm", v->co, 1, "ppm");
        add_reading(b, "air_temp_c", v->temp, 1, "degC");
        break;
    case FW_SIM_WEATHER:
        add_reading(b, "air_temp_c", v->temp, 1, "degC");
        add_reading(b, "rel_humidity_pct", v->rh, 1, "%");
        add_reading(b, "wind_speed_ms", v->wind_speed, 1, "m/s");
        add_reading(b, "wind_dir_deg", v->wind_dir, 0, "deg");
        add_reading(b, "pressure_hpa", v->pressure, 1, "hPa");
        if (v->has_rain)
            add_reading(b, "rain_mm", v->rain, 1, "mm");
        break;
    case FW_SIM_TRAP:
        add_reading(b, "trap_count", v->trap, 0, "count");
        add_reading(b, "air_temp_c", v->temp, 1, "degC");
        break;
    case FW_SIM_GENERIC:
        add_reading(b, "air_temp_c", v->temp, 1, "degC");
        break;
    }
    add_reading(b, "battery_v", v->battery, 3, "V");
    buf_printf(b, "]}");
    n->seq++;
}

/* ------------------------------------------------------------------------------------------ */
/* LoRa network-server messages                                                                 */
/* ------------------------------------------------------------------------------------------ */

/*
 * Uplink ids and radio noise come from a second generator seeded from the clock and pid even
 * under --seed: two runs against one gateway must not repeat uplink ids (the gateway would drop
 * the second run as duplicates), and the values generator must stay untouched by the format.
 */
static uint64_t id_state;

static uint64_t id_next(void)
{
    uint64_t z = (id_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double id_noise(double sigma)
{
    double s = 0;
    for (int i = 0; i < 6; i++)
        s += (double)(id_next() >> 11) * (1.0 / 9007199254740992.0);
    return (s - 3.0) * sigma * 1.4142;
}

/* A random (version 4) UUID, as ChirpStack's deduplicationId. */
static void make_uuid(char out[37])
{
    uint64_t hi = id_next(), lo = id_next();
    hi = (hi & ~0xF000ULL) | 0x4000ULL;
    lo = (lo & ~(3ULL << 62)) | (2ULL << 62);
    snprintf(out, 37, "%08llx-%04llx-%04llx-%04llx-%012llx", (unsigned long long)(hi >> 32),
             (unsigned long long)(hi >> 16 & 0xffff), (unsigned long long)(hi & 0xffff),
             (unsigned long long)(lo >> 48), (unsigned long long)(lo & 0xffffffffffffULL));
}

/* A ULID-like id in Crockford base32, as The Things Stack's correlation ids. */
static void make_ulid(char out[27])
{
    static const char a[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint64_t hi = id_next(), lo = id_next();
    out[0] = '0';
    out[1] = '1';
    for (int i = 2; i < 26; i++) {
        out[i] = a[hi & 31];
        hi = hi >> 5 | (lo & 31) << 59;
        lo >>= 5;
    }
    out[26] = '\0';
}

static void b64_encode(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = '\0';
}

static void random_b64(size_t n, char *out)
{
    uint8_t bytes[32];
    for (size_t i = 0; i < n && i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)id_next();
    b64_encode(bytes, n < sizeof(bytes) ? n : sizeof(bytes), out);
}

/* One uplink as the network server saw it; a duplicate reuses it. */
struct fw_sim_uplink {
    char data[FW_CODEC_MAX_FRAME * 4 / 3 + 4]; /* the frame, base64 */
    size_t frame_len;
    uint32_t f_cnt;
    char time[FW_TIME_STRLEN];
    char dedup_id[37]; /* ChirpStack */
    char ulid[4][27];  /* TTS correlation ids: as:up, gs:uplink, ns:uplink, rpc */
    int gateway;       /* 0 or 1: which of the two gateways heard it best */
    int rssi;
    double snr;
    int channel;        /* 0..7 of the CN470 sub-band */
    uint32_t timestamp; /* the gateway's microsecond counter */
    char context[16];
};

/* The frame of a round: the fields the node kind measures. Returns 0 or fw_codec_encode's
 * error (a value outside the frame's wire range, which the models never produce). */
static int encode_frame(const struct fw_sim_node *n, const struct fw_sim_values *v,
                        struct fw_sim_uplink *u)
{
    struct fw_codec_sample smp = {0};
    unsigned fields = FW_CODEC_F_TEMP | FW_CODEC_F_BATTERY;
    uint8_t frame[FW_CODEC_MAX_FRAME];
    smp.temp_c = v->temp;
    smp.battery_v = v->battery;
    if (n->kind == FW_SIM_SMOKE) {
        fields |= FW_CODEC_F_SMOKE | FW_CODEC_F_CO;
        smp.smoke_ppm = v->smoke;
        smp.co_ppm = v->co;
    } else if (n->kind == FW_SIM_WEATHER) {
        fields |= FW_CODEC_F_RH;
        smp.rh_pct = v->rh;
    } else if (n->kind == FW_SIM_TRAP) {
        fields |= FW_CODEC_F_TRAP;
        smp.trap_count = (uint32_t)v->trap;
    }
    int rc = fw_codec_encode(fields, &smp, 1, frame, sizeof(frame), &u->frame_len);
    if (rc == 0)
        b64_encode(frame, u->frame_len, u->data);
    return rc;
}

/* New uplink ids and the radio of gateway `gw`: a fresh uplink, or the same frame heard by the
 * other gateway (weaker, as it is further away). */
static void radio_and_ids(const struct fw_sim_node *n, int gw, struct fw_sim_uplink *u)
{
    make_uuid(u->dedup_id);
    for (int i = 0; i < 4; i++)
        make_ulid(u->ulid[i]);
    u->gateway = gw;
    double rssi = clamp(n->rssi_base - (gw ? 9.0 : 0.0) + id_noise(2.5), -130, -30);
    u->rssi = (int)lround(rssi);
    /* Below about -110 dBm LoRa works under the noise floor: SNR goes negative. */
    u->snr = round(clamp((rssi + 112.0) * 0.75 + id_noise(1.0), -20, 13.5) * 4) / 4;
    u->channel = (int)(id_next() % 8);
    u->timestamp = (uint32_t)id_next();
    random_b64(4, u->context);
}

static char *chirpstack_json(const struct fw_sim_node *n, const struct fw_sim_opts *o,
                             const struct fw_sim_uplink *u)
{
    char gw[17], addr[9];
    snprintf(gw, sizeof(gw), "a840411f0000000%c", u->gateway ? '2' : '1');
    snprintf(addr, sizeof(addr), "%.8s", n->dev_eui + 8);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "deduplicationId", u->dedup_id);
    cJSON_AddStringToObject(root, "time", u->time);
    cJSON *info = cJSON_AddObjectToObject(root, "deviceInfo");
    cJSON_AddStringToObject(info, "tenantId", FW_SIM_CS_TENANT_ID);
    cJSON_AddStringToObject(info, "tenantName", "ChirpStack");
    cJSON_AddStringToObject(info, "applicationId", o->app_id);
    cJSON_AddStringToObject(info, "applicationName", "forestwatch");
    cJSON_AddStringToObject(info, "deviceProfileId", FW_SIM_CS_PROFILE_ID);
    cJSON_AddStringToObject(info, "deviceProfileName", "forestwatch node v1 (CN470)");
    cJSON_AddStringToObject(info, "deviceName", n->id);
    cJSON_AddStringToObject(info, "devEui", n->dev_eui);
    cJSON_AddStringToObject(info, "deviceClassEnabled", "CLASS_A");
    cJSON_AddObjectToObject(info, "tags");
    cJSON_AddStringToObject(root, "devAddr", addr);
    cJSON_AddBoolToObject(root, "adr", 1);
    cJSON_AddNumberToObject(root, "dr", 3);
    /* Protobuf's JSON leaves zeros out: the first frame has no fCnt. */
    if (u->f_cnt)
        cJSON_AddNumberToObject(root, "fCnt", u->f_cnt);
    cJSON_AddNumberToObject(root, "fPort", FW_SIM_FPORT);
    cJSON_AddStringToObject(root, "data", u->data);
    cJSON *rx = cJSON_CreateObject();
    cJSON_AddStringToObject(rx, "gatewayId", gw);
    cJSON_AddNumberToObject(rx, "uplinkId", u->timestamp >> 1);
    cJSON_AddStringToObject(rx, "nsTime", u->time);
    cJSON_AddNumberToObject(rx, "rssi", u->rssi);
    cJSON_AddNumberToObject(rx, "snr", u->snr);
    cJSON_AddNumberToObject(rx, "channel", u->channel);
    cJSON_AddStringToObject(rx, "context", u->context);
    cJSON *md = cJSON_AddObjectToObject(rx, "metadata");
    cJSON_AddStringToObject(md, "region_config_id", "cn470_10");
    cJSON_AddStringToObject(md, "region_common_name", "CN470");
    cJSON_AddStringToObject(rx, "crcStatus", "CRC_OK");
    cJSON_AddItemToObject(root, "rxInfo", cJSON_CreateArray());
    cJSON_AddItemToArray(cJSON_GetObjectItem(root, "rxInfo"), rx);
    cJSON *tx = cJSON_AddObjectToObject(root, "txInfo");
    cJSON_AddNumberToObject(tx, "frequency", 470300000 + 200000 * u->channel);
    cJSON *lora = cJSON_AddObjectToObject(cJSON_AddObjectToObject(tx, "modulation"), "lora");
    cJSON_AddNumberToObject(lora, "bandwidth", 125000);
    cJSON_AddNumberToObject(lora, "spreadingFactor", 9);
    cJSON_AddStringToObject(lora, "codeRate", "CR_4_5");
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static char *tts_json(const struct fw_sim_node *n, const struct fw_sim_opts *o,
                      const struct fw_sim_uplink *u)
{
    char eui[17], addr[9], gw_id[16], gw_eui[17], ids[4][96], freq[16], key[32], token[48];
    for (int i = 0; i < 16; i++)
        eui[i] = (char)(n->dev_eui[i] >= 'a' ? n->dev_eui[i] - 'a' + 'A' : n->dev_eui[i]);
    eui[16] = '\0';
    snprintf(addr, sizeof(addr), "%.8s", eui + 8);
    snprintf(gw_id, sizeof(gw_id), "fw-gw-0%c", u->gateway ? '2' : '1');
    snprintf(gw_eui, sizeof(gw_eui), "A840411F0000000%c", u->gateway ? '2' : '1');
    snprintf(ids[0], sizeof(ids[0]), "as:up:%s", u->ulid[0]);
    snprintf(ids[1], sizeof(ids[1]), "gs:uplink:%s", u->ulid[1]);
    snprintf(ids[2], sizeof(ids[2]), "ns:uplink:%s", u->ulid[2]);
    snprintf(ids[3], sizeof(ids[3]), "rpc:/ttn.lorawan.v3.GsNs/HandleUplink:%s", u->ulid[3]);
    snprintf(freq, sizeof(freq), "%d", 470300000 + 200000 * u->channel);
    /* The session key id is fixed per device and session; the token differs per uplink. */
    b64_encode((const uint8_t *)n->dev_eui, 12, key);
    random_b64(24, token);

    cJSON *root = cJSON_CreateObject();
    cJSON *dev = cJSON_AddObjectToObject(root, "end_device_ids");
    cJSON_AddStringToObject(dev, "device_id", n->id);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(dev, "application_ids"), "application_id",
                            o->app_id);
    cJSON_AddStringToObject(dev, "dev_eui", eui);
    cJSON_AddStringToObject(dev, "join_eui", "70B3D57ED0000000");
    cJSON_AddStringToObject(dev, "dev_addr", addr);
    cJSON_AddItemToObject(
        root, "correlation_ids",
        cJSON_CreateStringArray((const char *const[]){ids[0], ids[1], ids[2], ids[3]}, 4));
    cJSON_AddStringToObject(root, "received_at", u->time);
    cJSON *msg = cJSON_AddObjectToObject(root, "uplink_message");
    cJSON_AddStringToObject(msg, "session_key_id", key);
    cJSON_AddNumberToObject(msg, "f_port", FW_SIM_FPORT);
    if (u->f_cnt)
        cJSON_AddNumberToObject(msg, "f_cnt", u->f_cnt);
    cJSON_AddStringToObject(msg, "frm_payload", u->data);
    cJSON *md = cJSON_CreateObject();
    cJSON *gwids = cJSON_AddObjectToObject(md, "gateway_ids");
    cJSON_AddStringToObject(gwids, "gateway_id", gw_id);
    cJSON_AddStringToObject(gwids, "eui", gw_eui);
    cJSON_AddStringToObject(md, "time", u->time);
    cJSON_AddNumberToObject(md, "timestamp", u->timestamp);
    cJSON_AddNumberToObject(md, "rssi", u->rssi);
    cJSON_AddNumberToObject(md, "channel_rssi", u->rssi);
    if (u->snr != 0)
        cJSON_AddNumberToObject(md, "snr", u->snr);
    cJSON_AddStringToObject(md, "uplink_token", token);
    cJSON_AddNumberToObject(md, "channel_index", u->channel);
    cJSON_AddStringToObject(md, "received_at", u->time);
    cJSON_AddItemToObject(msg, "rx_metadata", cJSON_CreateArray());
    cJSON_AddItemToArray(cJSON_GetObjectItem(msg, "rx_metadata"), md);
    cJSON *set = cJSON_AddObjectToObject(msg, "settings");
    cJSON *lora = cJSON_AddObjectToObject(cJSON_AddObjectToObject(set, "data_rate"), "lora");
    cJSON_AddNumberToObject(lora, "bandwidth", 125000);
    cJSON_AddNumberToObject(lora, "spreading_factor", 9);
    cJSON_AddStringToObject(lora, "coding_rate", "4/5");
    cJSON_AddStringToObject(set, "frequency", freq);
    cJSON_AddNumberToObject(set, "timestamp", u->timestamp);
    cJSON_AddStringToObject(msg, "received_at", u->time);
    cJSON_AddStringToObject(msg, "consumed_airtime", "0.185344s");
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static char *lora_json(const struct fw_sim_node *n, const struct fw_sim_opts *o,
                       const struct fw_sim_uplink *u)
{
    char *s = o->format == FW_SIM_CHIRPSTACK ? chirpstack_json(n, o, u) : tts_json(n, o, u);
    FW_ASSERT(s != NULL); /* cJSON fails only when out of memory */
    return s;
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
            "                   [--fire-front NODE,NODE,... [--front-after N] [--front-step K]]\n"
            "                   [--format native|chirpstack|tts] [--app-id ID] [--tenant T]\n"
            "                   [--duplicate-every N] [--print-euis] [--seed S] [-v]\n"
            "                   [--silent NODE@ROUND] [--season-day D]\n"
            "\n"
            "  -h, --host HOST        broker host (default 127.0.0.1)\n"
            "  -p, --port PORT        broker port (default 1883)\n"
            "  -n, --nodes LIST       comma-separated node ids (default the shipped config's\n"
            "                         " FW_SIM_DEFAULT_NODES ")\n"
            "  -i, --interval MS      time between rounds (default 2000)\n"
            "  -c, --count N          messages per node, 0 = until interrupted (default 0)\n"
            "      --spike-after N    after N rounds, " FW_SIM_SPIKE_NODE " reports a fire plume\n"
            "      --topic-prefix P   uplink topic prefix of the native format\n"
            "                         (default forestwatch/field)\n"
            "      --fire-front LIST  a fire front passes these nodes in this order: the plume\n"
            "                         reaches the first after --front-after rounds (default 3),\n"
            "                         each next one --front-step rounds later (default 3)\n"
            "      --format F         native: JSON on <prefix>/<node>/up (default);\n"
            "                         chirpstack: ChirpStack v4 uplink events on\n"
            "                         application/<app-id>/device/<dev-eui>/event/up;\n"
            "                         tts: The Things Stack v3 uplinks on\n"
            "                         v3/<app-id>@<tenant>/devices/<node>/up.\n"
            "                         LoRa formats carry the forestwatch binary frame (fPort 1):\n"
            "                         temperature, humidity, smoke, CO and battery only\n"
            "      --app-id ID        application id (default " FW_SIM_CS_APP_ID "\n"
            "                         for chirpstack, " FW_SIM_TTS_APP_ID " for tts)\n"
            "      --tenant T         TTS tenant (default " FW_SIM_TTS_TENANT
            "; \"\" for a single-tenant\n"
            "                         server, whose topics have no @tenant)\n"
            "      --duplicate-every N  LoRa formats: publish every Nth uplink twice, alternately\n"
            "                         the same message again and as heard by a second gateway\n"
            "                         (new uplink ids, same frame counter and payload)\n"
            "      --silent NODE@R    NODE sends nothing from round R on (a dead node)\n"
            "      --season-day D     the day of the year (0..365) trap catches follow; nodes\n"
            "                         named *trap* report catches rising through spring\n"
            "                         (default: today)\n"
            "      --print-euis       print \"<node> <dev-eui>\" for each node and exit; a node's\n"
            "                         EUI is the FNV-1a 64-bit hash of its id, 16 hex digits\n"
            "      --seed S           seed of the simulated values (default: time and pid)\n"
            "  -v, --verbose          print each node's EUI and topic, and each published\n"
            "                         message, on stdout\n"
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
    enum {
        OPT_SPIKE = 256,
        OPT_PREFIX,
        OPT_SEED,
        OPT_HELP,
        OPT_FORMAT,
        OPT_APP,
        OPT_TENANT,
        OPT_DUP,
        OPT_FRONT,
        OPT_FRONT_AFTER,
        OPT_FRONT_STEP,
        OPT_EUIS,
        OPT_SEASON_DAY,
        OPT_SILENT,
    };
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
        {"format", required_argument, NULL, OPT_FORMAT},
        {"app-id", required_argument, NULL, OPT_APP},
        {"tenant", required_argument, NULL, OPT_TENANT},
        {"duplicate-every", required_argument, NULL, OPT_DUP},
        {"fire-front", required_argument, NULL, OPT_FRONT},
        {"front-after", required_argument, NULL, OPT_FRONT_AFTER},
        {"front-step", required_argument, NULL, OPT_FRONT_STEP},
        {"print-euis", no_argument, NULL, OPT_EUIS},
        {"season-day", required_argument, NULL, OPT_SEASON_DAY},
        {"silent", required_argument, NULL, OPT_SILENT},
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
        case OPT_FORMAT:
            if (strcmp(optarg, "native") == 0) {
                o->format = FW_SIM_NATIVE;
            } else if (strcmp(optarg, "chirpstack") == 0) {
                o->format = FW_SIM_CHIRPSTACK;
            } else if (strcmp(optarg, "tts") == 0) {
                o->format = FW_SIM_TTS;
            } else {
                fprintf(stderr, "fw-fieldsim: --format: native, chirpstack or tts, got \"%s\"\n",
                        optarg);
                return -EINVAL;
            }
            break;
        case OPT_APP:
            o->app_id = optarg;
            break;
        case OPT_TENANT:
            o->tenant = optarg;
            break;
        case OPT_DUP:
            if (parse_num("--duplicate-every", optarg, 1, 1000000000, &o->duplicate_every) < 0)
                return -EINVAL;
            break;
        case OPT_FRONT:
            o->fire_front = optarg;
            break;
        case OPT_FRONT_AFTER:
            if (parse_num("--front-after", optarg, 0, 1000000000, &o->front_after) < 0)
                return -EINVAL;
            break;
        case OPT_FRONT_STEP:
            if (parse_num("--front-step", optarg, 0, 1000000, &o->front_step) < 0)
                return -EINVAL;
            break;
        case OPT_SEASON_DAY:
            if (parse_num("--season-day", optarg, 0, 365, &o->season_day) < 0)
                return -EINVAL;
            break;
        case OPT_SILENT:
            if (!strchr(optarg, '@') || strchr(optarg, '@') == optarg) {
                fprintf(stderr, "fw-fieldsim: --silent: NODE@ROUND, got \"%s\"\n", optarg);
                return -EINVAL;
            }
            if (parse_num("--silent", strchr(optarg, '@') + 1, 0, 1000000000, &v) < 0)
                return -EINVAL;
            o->silent = optarg;
            break;
        case OPT_EUIS:
            o->print_euis = 1;
            break;
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
    if (!o->app_id)
        o->app_id = o->format == FW_SIM_CHIRPSTACK ? FW_SIM_CS_APP_ID : FW_SIM_TTS_APP_ID;
    /* Both become topic levels (the tenant after '@'). */
    if (!*o->app_id || strpbrk(o->app_id, "/+#@\"\\ ") || strpbrk(o->tenant, "/+#@\"\\ ")) {
        fprintf(stderr, "fw-fieldsim: --app-id, --tenant: no '/', '+', '#', '@', quotes or "
                        "spaces\n");
        return -EINVAL;
    }
    if (o->duplicate_every && o->format == FW_SIM_NATIVE) {
        fprintf(stderr, "fw-fieldsim: --duplicate-every: needs --format chirpstack or tts (the "
                        "native format has no uplink ids to deduplicate by)\n");
        return -EINVAL;
    }
    return 0;
}

/* Split the comma list into nodes; ids become topic levels, so wildcards and '/' are refused. */
static int parse_nodes(const char *list, const struct fw_sim_opts *o, struct fw_sim_node *nodes,
                       int *n)
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
        node_init(&nodes[count], o);
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

/* Mark the nodes of the --fire-front list with their place on it. */
static int parse_front(const char *list, struct fw_sim_node *nodes, int n)
{
    char *copy = fw_xstrdup(list);
    char *save = NULL;
    int pos = 0, rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int i = 0;
        while (i < n && strcmp(nodes[i].id, tok) != 0)
            i++;
        if (i == n || nodes[i].front_pos >= 0) {
            fprintf(stderr, "fw-fieldsim: --fire-front: \"%s\" is %s\n", tok,
                    i == n ? "not one of --nodes" : "listed twice");
            rc = -EINVAL;
            goto fail;
        }
        nodes[i].front_pos = pos++;
    }
    if (pos == 0) {
        fprintf(stderr, "fw-fieldsim: --fire-front: no node given\n");
        rc = -EINVAL;
    }
fail:
    free(copy);
    return rc;
}

/* Publish one message at QoS 1. While the broker is away libmosquitto refuses new publishes, so
 * a round taken during an outage is lost, as it is for a real node without a retry buffer. Say
 * so once per outage, not once per message. */
static int publish(struct mosquitto *mosq, const struct fw_sim_node *n, const char *data,
                   size_t len, int verbose, int *failing)
{
    pthread_mutex_lock(&ack_lock);
    acks_pending++;
    pthread_mutex_unlock(&ack_lock);
    int rc = mosquitto_publish(mosq, NULL, n->topic, (int)len, data, 1, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        pthread_mutex_lock(&ack_lock);
        acks_pending--;
        pthread_mutex_unlock(&ack_lock);
        if (!*failing)
            FW_LOG(FW_LOG_WARNING,
                   "fieldsim: node \"%s\": publish: dropping readings until the broker is back: "
                   "%s",
                   n->id, mosquitto_strerror(rc));
        *failing = 1;
        return -EIO;
    }
    if (*failing)
        FW_LOG(FW_LOG_NOTICE, "fieldsim: broker: publishing again");
    *failing = 0;
    if (verbose)
        printf("%s %.*s\n", n->topic, (int)len, data);
    return 0;
}

/* One LoRa uplink of node `n`, and its duplicate when --duplicate-every says so. */
static void publish_lora(struct mosquitto *mosq, struct fw_sim_node *n,
                         const struct fw_sim_values *v, const struct fw_sim_opts *o,
                         long long *uplinks, int *failing)
{
    struct fw_sim_uplink u;
    struct timespec ts;
    memset(&u, 0, sizeof(u));
    if (encode_frame(n, v, &u) < 0) {
        FW_LOG(FW_LOG_ERR, "fieldsim: node \"%s\": a value does not fit the frame", n->id);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    fw_time_format((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, u.time);
    u.f_cnt = n->f_cnt++;
    radio_and_ids(n, 0, &u);
    char *msg = lora_json(n, o, &u);
    int rc = publish(mosq, n, msg, strlen(msg), o->verbose, failing);
    (*uplinks)++;
    if (rc == 0 && o->duplicate_every && *uplinks % o->duplicate_every == 0) {
        /* Odd duplicates are the same message again (a redelivery after a reconnect, or a
         * second integration); even ones the same frame through the second gateway. */
        if ((*uplinks / o->duplicate_every) % 2 == 0) {
            free(msg);
            radio_and_ids(n, 1, &u);
            msg = lora_json(n, o, &u);
        }
        publish(mosq, n, msg, strlen(msg), o->verbose, failing);
    }
    free(msg);
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
        .tenant = FW_SIM_TTS_TENANT,
        .front_after = 3,
        .season_day = -1,
        .front_step = 3,
    };
    long long lora_uplinks = 0;
    static struct fw_sim_node nodes[FW_SIM_MAX_NODES];
    int n_nodes = 0;
    struct mosquitto *mosq = NULL;
    int exit_code = 1;
    int publish_failing = 0;
    int rc;

    if (parse_args(argc, argv, &o) < 0)
        return 2;
    rng_state = o.seeded ? o.seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    if (parse_nodes(o.nodes, &o, nodes, &n_nodes) < 0 ||
        (o.fire_front && parse_front(o.fire_front, nodes, n_nodes) < 0)) {
        for (int i = 0; i < n_nodes; i++)
            FW_FREE(nodes[i].topic);
        return 2;
    }
    if (o.print_euis) {
        for (int i = 0; i < n_nodes; i++) {
            printf("%s %s\n", nodes[i].id, nodes[i].dev_eui);
            FW_FREE(nodes[i].topic);
        }
        return 0;
    }
    struct timespec seed_ts;
    clock_gettime(CLOCK_REALTIME, &seed_ts);
    id_state = (uint64_t)seed_ts.tv_sec * 1000000000ULL + (uint64_t)seed_ts.tv_nsec;
    id_state ^= (uint64_t)getpid() << 40;
    /* Lines go to a pipe in the demo; flush each so they appear as the messages go out. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (o.verbose && o.format != FW_SIM_NATIVE)
        for (int i = 0; i < n_nodes; i++)
            printf("# node %s dev_eui %s topic %s\n", nodes[i].id, nodes[i].dev_eui,
                   nodes[i].topic);

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
            struct fw_sim_values v;
            if (falls_silent(&nodes[i], round, &o))
                continue; /* a dead node: a flat battery, a fallen tree, a fire */
            sample_node(&nodes[i], round, &o, now, &v);
            if (o.format != FW_SIM_NATIVE) {
                publish_lora(mosq, &nodes[i], &v, &o, &lora_uplinks, &publish_failing);
                continue;
            }
            struct fw_sim_buf b;
            build_payload(&nodes[i], &v, now, &b);
            publish(mosq, &nodes[i], b.data, b.len, o.verbose, &publish_failing);
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
