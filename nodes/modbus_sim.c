/* SPDX-License-Identifier: MIT */
/*
 * fw-modbus-sim: a Modbus sensor simulator for the demo and the tests. It serves devices, each a
 * unit id with a device profile (config/profiles/), over Modbus TCP and over RTU on a
 * pseudo-terminal pair, so RTU is tested without hardware. Values follow a scenario: "normal"
 * (diurnal temperature and humidity, wind, rain events) or "fire" (the same, then a smoke and
 * temperature ramp). It misbehaves on command, read as lines on stdin:
 *
 *   unit 3 silent          stop answering
 *   unit 4 slow 800        answer after 800 ms
 *   unit 5 exception 2     answer Modbus exception 2 (illegal data address)
 *   unit 6 garbage         answer frames that fail their checks (bad CRC or transaction id)
 *   unit 3 ok              behave again
 *   quit                   exit
 *
 * A command applies to the unit id on every endpoint. Each command is answered "ok" or
 * "error: ..." on stdout. Requests go through libmodbus's server side (modbus_receive on TCP,
 * modbus_reply and modbus_reply_exception on both); RTU frames are cut by this program, because
 * libmodbus's RTU server only listens to one unit id and a bus carries several.
 */
#define _DEFAULT_SOURCE
#include "forestwatch/profile.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <math.h>
#include <modbus.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define MAX_UNITS 64
#define MAX_ENDPOINTS 64
#define MAX_CLIENTS 16

enum mode { MODE_OK, MODE_SILENT, MODE_SLOW, MODE_EXCEPTION, MODE_GARBAGE };

struct unit {
    int id;
    struct fw_profile *profile;
    modbus_mapping_t *map;
    double *counters; /* cumulative value of each accumulator point */
    enum mode mode;
    int slow_ms, exception;
};

struct endpoint {
    int rtu;
    char *where; /* "host:port", "pty" or a device path */
    int baud;
    struct unit *units[MAX_UNITS];
    int nunits;
    modbus_t *ctx;
    int fd;      /* listening socket (TCP) or the line (RTU) */
    int keep_fd; /* RTU pty: our own handle on the slave side, so the line never hangs up */
    pthread_t thread;
};

static struct endpoint endpoints[MAX_ENDPOINTS];
static int nendpoints;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* units' modes and registers */
static atomic_bool stop;
static int fire;
static double speed = 1, fire_after_s = 10, start_hour = 14;
static double t0, last_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------------------------ */
/* Scenario                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static double scenario(const char *metric, int unit, double t, double *rain_rate)
{
    double h = fmod(start_hour + t / 3600.0, 24.0);
    double day = sin(2 * M_PI * (h - 9) / 24); /* +1 mid-afternoon, -1 before dawn */
    double ramp = fire && t > fire_after_s ? t - fire_after_s : 0; /* seconds of fire */
    *rain_rate = fmod(t, 300) < 60 && !fire ? 0.05 : 0;            /* mm per second */
    if (strcmp(metric, "air_temp_c") == 0)
        return fmin(15 + 8 * day + unit * 0.1 + ramp * 1.5, 69);
    if (strcmp(metric, "rel_humidity_pct") == 0)
        return fmax(60 - 25 * day - ramp * 1.0 - (*rain_rate > 0 ? -20 : 0), 5);
    if (strcmp(metric, "wind_speed_ms") == 0)
        return 3 + 2 * sin(t / 37) + unit * 0.05;
    if (strcmp(metric, "wind_dir_deg") == 0)
        return fmod(200 + 60 * sin(t / 53) + 360, 360);
    if (strcmp(metric, "pressure_hpa") == 0)
        return 1010 + 3 * sin(t / 600);
    if (strcmp(metric, "smoke_ppm") == 0)
        return fmin(2 + sin(t / 11) + ramp * 50, 5000);
    if (strcmp(metric, "co_ppm") == 0)
        return fmin(1 + ramp * 5, 500);
    if (strcmp(metric, "battery_v") == 0)
        return 12.6;
    if (strcmp(metric, "soil_moisture_pct") == 0)
        return 25;
    return 0;
}

/* Bring a unit's registers up to scenario time `t` (seconds since start, scaled). Locked. */
static void update_unit(struct unit *u, double t, double dt)
{
    const struct fw_profile *p = u->profile;
    for (size_t i = 0; i < p->npoints; i++) {
        const struct fw_profile_point *pt = &p->points[i];
        double rate, v = scenario(pt->metric->name, u->id, t, &rate);
        uint16_t regs[2];
        if (pt->accumulator) {
            u->counters[i] += rate * dt;
            /* A counter wraps at its type's size, as the device's would. */
            double steps = floor(u->counters[i] / pt->scale);
            double mod = pt->count == 2 ? 4294967296.0 : 65536.0;
            v = fmod(steps, mod) * pt->scale;
        }
        fw_profile_encode(pt, v, regs);
        for (int k = 0; k < pt->count; k++) {
            int a = pt->address + k;
            switch (pt->area) {
            case FW_AREA_COIL:
                u->map->tab_bits[a] = (uint8_t)regs[k];
                break;
            case FW_AREA_DISCRETE_INPUT:
                u->map->tab_input_bits[a] = (uint8_t)regs[k];
                break;
            case FW_AREA_INPUT:
                u->map->tab_input_registers[a] = regs[k];
                break;
            case FW_AREA_HOLDING:
                u->map->tab_registers[a] = regs[k];
                break;
            }
        }
    }
}

static void update_all(void)
{
    double t = (now_s() - t0) * speed;
    double dt = t - last_t;
    last_t = t;
    for (int e = 0; e < nendpoints; e++)
        for (int i = 0; i < endpoints[e].nunits; i++)
            update_unit(endpoints[e].units[i], t, dt);
}

static struct unit *new_unit(int id, const char *path)
{
    struct fw_cfg_errors errs = {0};
    struct fw_profile *p = NULL;
    if (fw_profile_load(path, NULL, &p, &errs) < 0) {
        fw_cfg_errors_print(&errs, stderr);
        fw_cfg_errors_clear(&errs);
        return NULL;
    }
    int n[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < p->npoints; i++) {
        int end = p->points[i].address + p->points[i].count;
        if (end > n[p->points[i].area])
            n[p->points[i].area] = end;
    }
    /* Everything from address 0 up to the last mapped register exists (reads of unmapped ones
     * between give 0); beyond it the device answers exception 2, as a real one would. */
    struct unit *u = fw_xcalloc(1, sizeof(*u));
    u->id = id;
    u->profile = p;
    u->map = modbus_mapping_new(n[FW_AREA_COIL], n[FW_AREA_DISCRETE_INPUT], n[FW_AREA_HOLDING],
                                n[FW_AREA_INPUT]);
    u->counters = fw_xcalloc(p->npoints, sizeof(double));
    for (size_t i = 0; i < p->npoints; i++)
        u->counters[i] = 1000 * p->points[i].scale * (id % 7 + 1); /* a count from before */
    return u;
}

/* ------------------------------------------------------------------------------------------ */
/* Answers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static uint16_t crc16(const uint8_t *b, size_t n)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= b[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
    }
    return crc;
}

static struct unit *find_unit(struct endpoint *ep, int id)
{
    for (int i = 0; i < ep->nunits; i++)
        if (ep->units[i]->id == id)
            return ep->units[i];
    return NULL;
}

/* A well-framed answer that fails the client's checks: TCP with a wrong transaction id, RTU
 * with a wrong CRC. Random data, so it also looks like noise. */
static void send_garbage(struct endpoint *ep, int fd, const uint8_t *req)
{
    uint8_t out[64];
    size_t n = 0;
    int h = ep->rtu ? 1 : 7;
    int count = (req[h + 3] << 8 | req[h + 4]) & 0x1F;
    if (!ep->rtu) {
        out[n++] = req[0];
        out[n++] = (uint8_t)(req[1] + 1);
        out[n++] = 0;
        out[n++] = 0;
        out[n++] = 0;
        out[n++] = (uint8_t)(3 + 2 * count);
        out[n++] = req[6];
    } else {
        out[n++] = req[0];
    }
    out[n++] = req[h];
    out[n++] = (uint8_t)(2 * count);
    for (int i = 0; i < 2 * count && n < sizeof(out) - 2; i++)
        out[n++] = (uint8_t)rand();
    if (ep->rtu) {
        uint16_t crc = (uint16_t)~crc16(out, n);
        out[n++] = (uint8_t)(crc >> 8);
        out[n++] = (uint8_t)crc;
    }
    if (write(fd, out, n) < 0) {
        /* the client may be gone; nothing to do */
    }
}

/* Answer one request according to the unit's mode. */
static void answer(struct endpoint *ep, int fd, const uint8_t *req, int len)
{
    int h = ep->rtu ? 1 : 7;
    pthread_mutex_lock(&lock);
    struct unit *u = find_unit(ep, req[h - 1]);
    if (!u) {
        pthread_mutex_unlock(&lock);
        return; /* nobody at that address: silence, as on a real bus */
    }
    enum mode mode = u->mode;
    int slow = u->slow_ms, exc = u->exception;
    pthread_mutex_unlock(&lock);
    if (mode == MODE_SILENT)
        return;
    if (mode == MODE_SLOW)
        usleep((useconds_t)slow * 1000);
    modbus_set_socket(ep->ctx, fd);
    if (ep->rtu)
        modbus_set_slave(ep->ctx, u->id);
    if (mode == MODE_EXCEPTION) {
        modbus_reply_exception(ep->ctx, req, (unsigned)exc);
        return;
    }
    if (mode == MODE_GARBAGE) {
        send_garbage(ep, fd, req);
        return;
    }
    pthread_mutex_lock(&lock);
    update_all();
    modbus_reply(ep->ctx, req, len, u->map);
    pthread_mutex_unlock(&lock);
}

/* ------------------------------------------------------------------------------------------ */
/* Endpoints                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static void *tcp_main(void *arg)
{
    struct endpoint *ep = arg;
    int clients[MAX_CLIENTS];
    int nclients = 0;
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
    while (!atomic_load(&stop)) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(ep->fd, &rd);
        int maxfd = ep->fd;
        for (int i = 0; i < nclients; i++) {
            FD_SET(clients[i], &rd);
            if (clients[i] > maxfd)
                maxfd = clients[i];
        }
        struct timeval tv = {0, 200000};
        if (select(maxfd + 1, &rd, NULL, NULL, &tv) <= 0)
            continue;
        if (FD_ISSET(ep->fd, &rd)) {
            int c = accept(ep->fd, NULL, NULL);
            if (c >= 0 && nclients < MAX_CLIENTS)
                clients[nclients++] = c;
            else if (c >= 0)
                close(c);
        }
        for (int i = 0; i < nclients; i++) {
            if (!FD_ISSET(clients[i], &rd))
                continue;
            modbus_set_socket(ep->ctx, clients[i]);
            int rc = modbus_receive(ep->ctx, req);
            if (rc > 0) {
                answer(ep, clients[i], req, rc);
            } else if (rc < 0) {
                close(clients[i]);
                clients[i--] = clients[--nclients];
            }
        }
    }
    for (int i = 0; i < nclients; i++)
        close(clients[i]);
    return NULL;
}

/* RTU: cut frames by length (function codes 1..6 and 15/16) and by silence for anything else. */
static void *rtu_main(void *arg)
{
    struct endpoint *ep = arg;
    uint8_t buf[512];
    size_t n = 0;
    while (!atomic_load(&stop)) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(ep->fd, &rd);
        struct timeval tv = {0, n ? 50000 : 200000};
        int rc = select(ep->fd + 1, &rd, NULL, NULL, &tv);
        if (rc == 0) {
            n = 0; /* silence ends a frame: drop an incomplete one */
            continue;
        }
        if (rc < 0)
            continue;
        ssize_t r = read(ep->fd, buf + n, sizeof(buf) - n);
        if (r <= 0) {
            usleep(10000); /* EIO while nobody has the other side open */
            continue;
        }
        n += (size_t)r;
        for (;;) {
            size_t want = 0;
            if (n >= 2 && buf[1] >= 1 && buf[1] <= 6)
                want = 8;
            else if (n >= 7 && (buf[1] == 15 || buf[1] == 16))
                want = 9 + buf[6];
            if (!want || n < want || want > sizeof(buf))
                break;
            uint16_t crc = crc16(buf, want - 2);
            if (buf[want - 2] == (crc & 0xFF) && buf[want - 1] == (crc >> 8))
                answer(ep, ep->fd, buf, (int)want);
            memmove(buf, buf + want, n - want);
            n -= want;
        }
        if (n == sizeof(buf))
            n = 0;
    }
    return NULL;
}

static int open_endpoint(struct endpoint *ep)
{
    if (!ep->rtu) {
        char host[256];
        const char *colon = strrchr(ep->where, ':');
        if (!colon || (size_t)(colon - ep->where) >= sizeof(host)) {
            fprintf(stderr, "fw-modbus-sim: --tcp wants HOST:PORT, got \"%s\"\n", ep->where);
            return -1;
        }
        memcpy(host, ep->where, (size_t)(colon - ep->where));
        host[colon - ep->where] = '\0';
        ep->ctx = modbus_new_tcp_pi(host, colon + 1);
        if (!ep->ctx || (ep->fd = modbus_tcp_pi_listen(ep->ctx, 8)) < 0) {
            fprintf(stderr, "fw-modbus-sim: listen on %s: %s\n", ep->where, modbus_strerror(errno));
            return -1;
        }
        struct sockaddr_storage sa;
        socklen_t sl = sizeof(sa);
        getsockname(ep->fd, (struct sockaddr *)&sa, &sl);
        int port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&sa)->sin_port);
        printf("tcp %s:%d\n", host, port);
        return 0;
    }
    if (strcmp(ep->where, "pty") == 0) {
        int master, slave;
        char name[256];
        struct termios tio;
        if (openpty(&master, &slave, name, NULL, NULL) < 0) {
            perror("fw-modbus-sim: openpty");
            return -1;
        }
        tcgetattr(slave, &tio);
        cfmakeraw(&tio);
        tcsetattr(slave, TCSANOW, &tio);
        tcgetattr(master, &tio);
        cfmakeraw(&tio);
        tcsetattr(master, TCSANOW, &tio);
        ep->fd = master;
        ep->keep_fd = slave;
        printf("rtu %s\n", name);
    } else {
        struct termios tio;
        ep->fd = open(ep->where, O_RDWR | O_NOCTTY);
        if (ep->fd < 0 || tcgetattr(ep->fd, &tio) < 0) {
            fprintf(stderr, "fw-modbus-sim: %s: %s\n", ep->where, strerror(errno));
            return -1;
        }
        cfmakeraw(&tio);
        speed_t sp = ep->baud == 4800 ? B4800 : ep->baud == 19200 ? B19200 : B9600;
        cfsetispeed(&tio, sp);
        cfsetospeed(&tio, sp);
        tcsetattr(ep->fd, TCSANOW, &tio);
        ep->keep_fd = -1;
        printf("rtu %s\n", ep->where);
    }
    /* Only the framing and reply half of the RTU context is used, on our own descriptor. */
    ep->ctx = modbus_new_rtu("/dev/null", ep->baud, 'N', 8, 1);
    return ep->ctx ? 0 : -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Commands and main                                                                           */
/* ------------------------------------------------------------------------------------------ */

static void command(char *line)
{
    int id, arg = 0;
    char what[32];
    line[strcspn(line, "\r")] = '\0';
    if (strcmp(line, "quit") == 0) {
        atomic_store(&stop, true);
        printf("ok\n");
        return;
    }
    int n = sscanf(line, "unit %d %31s %d", &id, what, &arg);
    enum mode mode;
    if (n >= 2 && strcmp(what, "ok") == 0)
        mode = MODE_OK;
    else if (n >= 2 && strcmp(what, "silent") == 0)
        mode = MODE_SILENT;
    else if (n >= 2 && strcmp(what, "garbage") == 0)
        mode = MODE_GARBAGE;
    else if (n == 3 && strcmp(what, "slow") == 0 && arg >= 0 && arg <= 60000)
        mode = MODE_SLOW;
    else if (n == 3 && strcmp(what, "exception") == 0 && arg >= 1 && arg <= 11)
        mode = MODE_EXCEPTION;
    else {
        printf("error: unknown command \"%s\"\n", line);
        return;
    }
    int found = 0;
    pthread_mutex_lock(&lock);
    for (int e = 0; e < nendpoints; e++) {
        struct unit *u = find_unit(&endpoints[e], id);
        if (u) {
            u->mode = mode;
            u->slow_ms = arg;
            u->exception = arg;
            found = 1;
        }
    }
    pthread_mutex_unlock(&lock);
    printf(found ? "ok\n" : "error: no unit %d\n", id);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fw-modbus-sim [--scenario normal|fire] [--speed X] [--fire-after S]\n"
            "                     [--hour H] (--tcp HOST:PORT | --rtu pty|DEVICE [--baud N])\n"
            "                     --unit ID:PROFILE... [(--tcp|--rtu) ... --unit ...]...\n"
            "Each --unit belongs to the --tcp or --rtu before it. Port 0 picks a free port.\n"
            "Prints \"tcp HOST:PORT\" or \"rtu PATH\" per endpoint, then \"ready\".\n"
            "Commands on stdin: unit N silent|ok|garbage, unit N slow MS,\n"
            "unit N exception CODE, quit.\n");
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop, true);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--scenario") == 0 && (!strcmp(v, "normal") || !strcmp(v, "fire"))) {
            fire = strcmp(v, "fire") == 0;
        } else if (strcmp(a, "--speed") == 0) {
            char *end;
            speed = strtod(v, &end);
            if (*end || !(speed > 0 && speed <= 1e6)) {
                usage();
                return 2;
            }
        } else if (strcmp(a, "--fire-after") == 0) {
            fire_after_s = strtod(v, NULL);
        } else if (strcmp(a, "--hour") == 0) {
            start_hour = strtod(v, NULL);
        } else if ((strcmp(a, "--tcp") == 0 || strcmp(a, "--rtu") == 0) &&
                   nendpoints < MAX_ENDPOINTS) {
            struct endpoint *ep = &endpoints[nendpoints++];
            ep->rtu = a[2] == 'r';
            ep->where = (char *)v;
            ep->baud = 9600;
            ep->fd = ep->keep_fd = -1;
        } else if (strcmp(a, "--baud") == 0 && nendpoints) {
            long long b;
            if (fw_parse_int(v, 1200, 921600, &b) < 0) {
                usage();
                return 2;
            }
            endpoints[nendpoints - 1].baud = (int)b;
        } else if (strcmp(a, "--unit") == 0 && nendpoints) {
            struct endpoint *ep = &endpoints[nendpoints - 1];
            char idbuf[8];
            const char *colon = strchr(v, ':');
            long long id;
            if (!colon || colon - v >= (long)sizeof(idbuf) || ep->nunits >= MAX_UNITS) {
                usage();
                return 2;
            }
            memcpy(idbuf, v, (size_t)(colon - v));
            idbuf[colon - v] = '\0';
            if (fw_parse_int(idbuf, 0, 255, &id) < 0) {
                usage();
                return 2;
            }
            struct unit *u = new_unit((int)id, colon + 1);
            if (!u)
                return 1;
            ep->units[ep->nunits++] = u;
        } else {
            usage();
            return 2;
        }
    }
    if (nendpoints == 0) {
        usage();
        return 2;
    }
    t0 = now_s();
    pthread_mutex_lock(&lock);
    update_all();
    pthread_mutex_unlock(&lock);
    for (int e = 0; e < nendpoints; e++)
        if (open_endpoint(&endpoints[e]) < 0)
            return 1;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    for (int e = 0; e < nendpoints; e++)
        pthread_create(&endpoints[e].thread, NULL, endpoints[e].rtu ? rtu_main : tcp_main,
                       &endpoints[e]);
    printf("ready\n");
    /* Commands: read(2) rather than stdio, so select() sees every line that arrived. */
    char line[256];
    size_t used = 0;
    int eof = 0;
    while (!atomic_load(&stop)) {
        fd_set rd;
        FD_ZERO(&rd);
        if (!eof)
            FD_SET(0, &rd);
        struct timeval tv = {0, 200000};
        if (select(eof ? 0 : 1, &rd, NULL, NULL, &tv) <= 0)
            continue;
        ssize_t r = read(0, line + used, sizeof(line) - 1 - used);
        if (r <= 0) {
            eof = 1; /* no more commands; keep serving until a signal */
            continue;
        }
        used += (size_t)r;
        char *nl;
        while ((nl = memchr(line, '\n', used))) {
            *nl = '\0';
            command(line);
            used -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, used);
        }
        if (used == sizeof(line) - 1)
            used = 0; /* an overlong line: drop it */
    }
    for (int e = 0; e < nendpoints; e++) {
        struct endpoint *ep = &endpoints[e];
        pthread_join(ep->thread, NULL);
        if (ep->fd >= 0)
            close(ep->fd);
        if (ep->keep_fd >= 0)
            close(ep->keep_fd);
        modbus_free(ep->ctx);
        for (int i = 0; i < ep->nunits; i++) {
            modbus_mapping_free(ep->units[i]->map);
            fw_profile_free(ep->units[i]->profile);
            free(ep->units[i]->counters);
            free(ep->units[i]);
        }
    }
    return 0;
}
