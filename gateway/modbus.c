/* SPDX-License-Identifier: MIT */
/*
 * Modbus pollers. libmodbus blocks, so each bus gets a worker thread that owns its modbus_t and
 * touches nothing but its own bus and devices; the loop never calls libmodbus. A worker sleeps
 * on a condition variable (CLOCK_MONOTONIC) until its next poll is due, polls the device (every
 * request of its read plan), decodes the registers with the profile and pushes one result into a
 * bounded queue shared with the loop, then wakes the loop with uv_async_send. Devices that
 * answered their last poll are polled in their slots; the others only in the bus's idle time
 * (fw_modbus__pick), so that a dead device never costs its neighbours their cadence.
 * The loop turns results into readings. This file is the only place where libmodbus's -1+errno
 * (EMBX* exception codes included) is turned into negative errno codes and logged.
 * See docs/modbus.md for the design note.
 */
#include "forestwatch/modbus.h"
#include "modbus_int.h"

#include "forestwatch/log.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <modbus.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_REOPEN_MIN_MS 500
#define DEFAULT_REOPEN_MAX_MS 30000
#define DEFAULT_BREAKER_FAILURES 3
#define DEFAULT_BREAKER_MAX_MS 300000

/* ------------------------------------------------------------------------------------------ */
/* Types                                                                                       */
/* ------------------------------------------------------------------------------------------ */

enum fail_kind { FAIL_NONE, FAIL_TIMEOUT, FAIL_EXCEPTION, FAIL_BAD_FRAME, FAIL_LINK };

struct value {
    const struct fw_metric *metric;
    double value;
};

/* One poll's outcome, handed from a worker to the loop. */
struct result {
    size_t dev;
    int rc; /* 0 or the negative errno-style code of the failure */
    enum fail_kind kind;
    int64_t time_ms; /* wall clock at the end of the poll */
    int failures;    /* consecutive failed polls, this one included */
    bool online;
    int64_t last_ok_ms;
    int out_of_range;
    size_t nvalues;
    struct value values[];
};

struct bus;

struct dev {
    /* Set by fw_modbus_new, then read-only: both threads may read them. */
    char *name, *zone;
    int unit;
    const struct fw_profile *profile;
    int64_t interval_ms, timeout_ms, breaker_max_ms;
    int retries, breaker_n;
    size_t index;
    struct bus *bus;
    size_t *req_off; /* offset of each request's data in regs */
    /* Worker only. */
    uint16_t *regs;
    struct fw_accum *accum;
    struct fw_modbus__slot slot; /* its place in the bus's schedule */
    bool answered;               /* its last poll succeeded */
    int failures;
    bool online;
    int64_t last_ok_ms;
    int64_t slowest_us;    /* the slowest answer to one request so far, 0 if none */
    int64_t offline_since; /* monotonic ms of the offline report */
    /* Loop only. */
    struct fw_modbus_device_stats stats;
};

struct bus {
    struct fw_modbus *m;
    /* Set by fw_modbus_new, then read-only. */
    char *name, *host, *device;
    enum fw_modbus_bus_kind kind;
    int port, baud, data_bits, stop_bits;
    char parity;
    bool rs485;
    int64_t pause_ms, reopen_min_ms, reopen_max_ms, gap_us;
    struct dev **devs;
    struct fw_modbus__slot **slots; /* devs[i]'s slot at slots[i] */
    size_t ndevs;
    int64_t round_ms; /* the shortest interval of its devices */
    pthread_t thread;
    bool started;
    /* Worker only. */
    modbus_t *ctx;
    int64_t reopen_delay_ms, reopen_at; /* monotonic ms */
    int64_t last_frame_us;              /* monotonic, end of the last exchange */
    int64_t forced_from;                /* monotonic ms: no forced poll before (fw_modbus__pick) */
    int open_errors;                    /* consecutive failed opens, for the log */
};

struct fw_modbus {
    uv_loop_t *loop;
    uv_async_t async;
    fw_modbus_readings_cb cb;
    void *arg;
    struct bus *buses;
    size_t nbuses;
    struct dev *devs;
    size_t ndevs;
    size_t nthreads;
    /* Shared; guarded by lock. */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* wakes sleeping workers on close */
    atomic_bool stopping;
    struct result *queue[FW_MODBUS_QUEUE_MAX];
    size_t qhead, qlen;
    uint64_t dropped;
    size_t threads_done;
    /* Loop only. */
    bool closing;
    fw_modbus_close_cb close_cb;
    void *close_arg;
    struct fw_reading *batch;
    size_t batch_cap;
};

/* ------------------------------------------------------------------------------------------ */
/* Pure helpers                                                                                */
/* ------------------------------------------------------------------------------------------ */

static int translate(int e, enum fail_kind *kind)
{
    *kind = FAIL_EXCEPTION;
    switch (e) {
    case EMBXILFUN:
        return -EOPNOTSUPP;
    case EMBXILADD:
        return -EADDRNOTAVAIL;
    case EMBXILVAL:
        return -EINVAL;
    case EMBXACK:
    case EMBXSBUSY:
        return -EBUSY;
    case EMBXGPATH:
        return -ENETUNREACH;
    case EMBXGTAR:
        return -EHOSTUNREACH;
    case EMBXSFAIL:
    case EMBXNACK:
    case EMBXMEMPAR:
        return -EREMOTEIO;
    case EMBBADCRC:
    case EMBBADDATA:
    case EMBBADEXC:
    case EMBUNKEXC:
    case EMBMDATA:
    case EMBBADSLAVE:
        *kind = FAIL_BAD_FRAME;
        return -EPROTO;
    case ETIMEDOUT:
        *kind = FAIL_TIMEOUT;
        return -ETIMEDOUT;
    }
    *kind = FAIL_LINK;
    return e > 0 && e < MODBUS_ENOBASE ? -e : -EIO;
}

int fw_modbus__errno(int modbus_errno)
{
    enum fail_kind k;
    return translate(modbus_errno, &k);
}

int64_t fw_modbus__breaker_delay(int failures, int threshold, int64_t interval_ms, int64_t max_ms)
{
    if (failures < threshold)
        return 0;
    int shift = failures - threshold + 1;
    int64_t d = interval_ms;
    for (int i = 0; i < shift && d < max_ms; i++)
        d *= 2;
    return d < max_ms ? d : max_ms;
}

int fw_modbus__pick(struct fw_modbus__slot *const *slots, size_t n, int64_t now_ms,
                    int64_t forced_from_ms, int64_t *wake_ms, bool *forced)
{
    int overdue = -1, regular = -1, waiting = -1;
    int64_t next_regular = INT64_MAX, wake = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        const struct fw_modbus__slot *s = slots[i];
        if (s->patience_ms == 0) {
            if (s->due_ms <= now_ms) {
                if (regular < 0 || s->due_ms < slots[regular]->due_ms)
                    regular = (int)i;
            } else if (s->due_ms < next_regular) {
                next_regular = s->due_ms;
            }
        } else if (s->due_ms + s->patience_ms <= now_ms && forced_from_ms <= now_ms) {
            if (overdue < 0 ||
                s->due_ms + s->patience_ms < slots[overdue]->due_ms + slots[overdue]->patience_ms)
                overdue = (int)i;
        }
    }
    /* A waiting poll that found no idle time in a whole period goes first: so a dead device is
     * still probed, once a period, on a bus that is never idle long enough. One at a time, with
     * room for the regular polls between, or a crowd of them would take the bus. */
    *forced = overdue >= 0;
    if (overdue >= 0)
        return overdue;
    if (regular >= 0)
        return regular;
    for (size_t i = 0; i < n; i++) {
        const struct fw_modbus__slot *s = slots[i];
        if (s->patience_ms == 0)
            continue;
        if (s->due_ms > now_ms) {
            wake = s->due_ms < wake ? s->due_ms : wake;
        } else if (next_regular - now_ms >= s->cost_ms) {
            if (waiting < 0 || s->due_ms < slots[waiting]->due_ms)
                waiting = (int)i;
        } else {
            int64_t t = s->due_ms + s->patience_ms;
            t = t > forced_from_ms ? t : forced_from_ms;
            wake = t < wake ? t : wake;
        }
    }
    if (waiting >= 0)
        return waiting;
    *wake_ms = next_regular < wake ? next_regular : wake;
    return -1;
}

int64_t fw_modbus__probe_timeout(int64_t slowest_us, int failed_probes, int64_t timeout_ms)
{
    if (slowest_us <= 0)
        return timeout_ms;
    int64_t t = (2 * slowest_us + 999) / 1000;
    if (t < FW_MODBUS_PROBE_MIN_MS)
        t = FW_MODBUS_PROBE_MIN_MS;
    for (int i = 0; i < failed_probes && t < timeout_ms; i++)
        t *= 2;
    return t < timeout_ms ? t : timeout_ms;
}

/* Milliseconds `bytes` characters of `char_bits` bits take on a line at `baud`, rounded up. */
static int64_t line_ms(int64_t bytes, int64_t char_bits, int baud)
{
    return (bytes * char_bits * 1000 + baud - 1) / baud;
}

int64_t fw_modbus__default_timeout(const struct fw_modbus_bus_cfg *b, const struct fw_profile *p)
{
    /* A read request is 8 bytes on the line; its answer 5 bytes around the data. */
    int64_t longest = 0;
    for (size_t r = 0; r < p->nrequests; r++) {
        const struct fw_profile_request *q = &p->requests[r];
        int data = q->area == FW_AREA_COIL || q->area == FW_AREA_DISCRETE_INPUT ? (q->count + 7) / 8
                                                                                : 2 * q->count;
        if (8 + 5 + data > longest)
            longest = 8 + 5 + data;
    }
    if (b->kind != FW_MODBUS_RTU) {
        /*
         * Many "Modbus TCP" devices are a TCP gateway in front of an RS-485 line: allow for the
         * slow line that is common there, 9600 baud 8N1 (10 bits a character), as on RTU.
         */
        int64_t t = FW_MODBUS_RTU_TURNAROUND_MS + line_ms(longest, 10, 9600);
        return t > FW_MODBUS_TCP_TIMEOUT_MS ? t : FW_MODBUS_TCP_TIMEOUT_MS;
    }
    int64_t char_bits = 1 + b->data_bits + (b->parity != 'N') + b->stop_bits;
    return FW_MODBUS_RTU_TURNAROUND_MS + line_ms(longest, char_bits, b->baud);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------------------------------ */
/* Worker: the bus                                                                             */
/* ------------------------------------------------------------------------------------------ */

static void bus_close(struct bus *b)
{
    if (!b->ctx)
        return;
    modbus_close(b->ctx);
    modbus_free(b->ctx);
    b->ctx = NULL;
}

static int bus_open(struct bus *b)
{
    enum fail_kind k;
    int rc;
    if (b->kind == FW_MODBUS_TCP) {
        char port[16];
        snprintf(port, sizeof(port), "%d", b->port);
        b->ctx = modbus_new_tcp_pi(b->host, port);
    } else {
        b->ctx = modbus_new_rtu(b->device, b->baud, b->parity, b->data_bits, b->stop_bits);
    }
    if (!b->ctx)
        return translate(errno, &k);
    /* The connect of libmodbus's TCP backend waits for the response timeout. */
    modbus_set_response_timeout(b->ctx, 2, 0);
    if (modbus_connect(b->ctx) < 0)
        goto fail;
    if (b->kind == FW_MODBUS_RTU && b->rs485 &&
        modbus_rtu_set_serial_mode(b->ctx, MODBUS_RTU_RS485) < 0)
        goto fail;
    return 0;
fail:
    rc = translate(errno, &k);
    bus_close(b);
    return rc;
}

/* Wait out the inter-frame gap and the bus's pause since the last exchange. */
static void bus_gap(struct bus *b)
{
    int64_t ready = b->last_frame_us + b->gap_us + b->pause_ms * 1000;
    sleep_us(ready - mono_us());
}

/* One request of a device's read plan, into `out`, waiting `timeout_ms` for the answer.
 * Returns 0 or a negative code. */
static int read_request(struct bus *b, struct dev *d, const struct fw_profile_request *r,
                        uint16_t *out, int64_t timeout_ms, enum fail_kind *kind)
{
    uint8_t bits[FW_PROFILE_MAX_READ_BITS];
    int rc;
    modbus_set_slave(b->ctx, d->unit);
    modbus_set_response_timeout(b->ctx, (uint32_t)(timeout_ms / 1000),
                                (uint32_t)(timeout_ms % 1000) * 1000);
    bus_gap(b);
    int64_t sent_us = mono_us();
    switch (r->area) {
    case FW_AREA_COIL:
        rc = modbus_read_bits(b->ctx, r->address, r->count, bits);
        break;
    case FW_AREA_DISCRETE_INPUT:
        rc = modbus_read_input_bits(b->ctx, r->address, r->count, bits);
        break;
    case FW_AREA_INPUT:
        rc = modbus_read_input_registers(b->ctx, r->address, r->count, out);
        break;
    default:
        rc = modbus_read_registers(b->ctx, r->address, r->count, out);
        break;
    }
    int e = errno;
    b->last_frame_us = mono_us();
    if (rc < 0)
        return translate(e, kind);
    if (rc != r->count) {
        *kind = FAIL_BAD_FRAME;
        return -EPROTO;
    }
    /* What a probe of this device may wait for once it is offline (fw_modbus__probe_timeout). */
    if (b->last_frame_us - sent_us > d->slowest_us)
        d->slowest_us = b->last_frame_us - sent_us;
    if (r->area == FW_AREA_COIL || r->area == FW_AREA_DISCRETE_INPUT)
        for (int i = 0; i < r->count; i++)
            out[i] = bits[i] != 0;
    *kind = FAIL_NONE;
    return 0;
}

static void push_result(struct fw_modbus *m, struct result *res)
{
    pthread_mutex_lock(&m->lock);
    if (m->qlen == FW_MODBUS_QUEUE_MAX) {
        /* The loop is behind: the oldest result is the least useful one. Never block. */
        free(m->queue[m->qhead]);
        m->qhead = (m->qhead + 1) % FW_MODBUS_QUEUE_MAX;
        m->qlen--;
        m->dropped++;
    }
    m->queue[(m->qhead + m->qlen) % FW_MODBUS_QUEUE_MAX] = res;
    m->qlen++;
    pthread_mutex_unlock(&m->lock);
    uv_async_send(&m->async);
}

/* Keep the cadence: the next slot on the device's grid, skipping slots already missed. */
static void next_slot(struct dev *d, int64_t now_us)
{
    d->slot.due_ms += d->interval_ms;
    if (d->slot.due_ms * 1000 <= now_us)
        d->slot.due_ms = now_us / 1000 + d->interval_ms;
}

/* The response timeout of the first request of the device's next poll. */
static int64_t first_timeout(const struct dev *d)
{
    if (d->failures < d->breaker_n)
        return d->timeout_ms;
    return fw_modbus__probe_timeout(d->slowest_us, d->failures - d->breaker_n, d->timeout_ms);
}

/* Until the device answers, its polls wait for idle time, each at most `patience_ms` (its
 * interval, or its probe delay once offline), so it takes no slot of a device that answers
 * unless the bus had no time to spare for that long. */
static void wait_for_idle(const struct bus *b, struct dev *d, int64_t patience_ms)
{
    d->slot.patience_ms = patience_ms;
    d->slot.cost_ms = first_timeout(d) + (b->gap_us + 999) / 1000 + b->pause_ms;
}

/*
 * Poll one device: every request of its plan. A poll succeeds only as a whole, so a reading
 * never mixes registers of two different moments with a gap. A device that answered its last
 * poll gets 1 + retries attempts a request; one that did not gets one, as the poll is itself
 * the retry; an offline device's poll (a probe) waits a shorter time for its first answer.
 */
static void poll_device(struct bus *b, struct dev *d)
{
    const struct fw_profile *p = d->profile;
    struct result *res = fw_xcalloc(1, sizeof(*res) + p->npoints * sizeof(struct value));
    enum fail_kind kind = FAIL_NONE;
    int rc = 0;
    int attempts = d->answered ? 1 + d->retries : 1;
    int64_t timeout_ms = first_timeout(d);
    res->dev = d->index;
    for (size_t r = 0; r < p->nrequests && rc == 0; r++) {
        for (int attempt = 0; attempt < attempts; attempt++) {
            if (!b->ctx) {
                rc = -ENOTCONN;
                kind = FAIL_LINK;
                break;
            }
            rc = read_request(b, d, &p->requests[r], d->regs + d->req_off[r], timeout_ms, &kind);
            if (rc == 0)
                break;
            FW_LOG(FW_LOG_DEBUG, "modbus: bus \"%s\" device \"%s\" unit %d: read %s %u+%u: %s",
                   b->name, d->name, d->unit, fw_profile_area_str(p->requests[r].area),
                   p->requests[r].address, p->requests[r].count, modbus_strerror(-rc));
            if (kind == FAIL_LINK) {
                /* The port or connection is gone: the next due device reopens it. */
                bus_close(b);
                b->reopen_at = 0;
                break;
            }
            if (kind == FAIL_TIMEOUT || kind == FAIL_BAD_FRAME) {
                /* A late or broken answer must not be taken for the answer to the next request:
                 * RTU drops what is in the line; TCP starts a new connection, as a late answer
                 * may still be on its way. */
                if (b->kind == FW_MODBUS_TCP) {
                    bus_close(b);
                    if (bus_open(b) < 0)
                        b->reopen_at = 0;
                } else {
                    modbus_flush(b->ctx);
                }
            }
            if (kind == FAIL_EXCEPTION && rc != -EBUSY)
                break; /* the device answered; asking again gives the same answer */
            if (atomic_load(&b->m->stopping))
                break;
        }
        /* A device that answered one request is there: the rest get its usual timeout. */
        timeout_ms = d->timeout_ms;
    }
    int64_t now_us = mono_us();
    res->time_ms = wall_ms();
    res->rc = rc;
    res->kind = kind;
    if (rc == 0) {
        for (size_t i = 0; i < p->npoints; i++) {
            const struct fw_profile_point *pt = &p->points[i];
            const uint16_t *regs = d->regs + d->req_off[pt->request] + pt->index;
            double v;
            if (pt->accumulator) {
                uint32_t raw = (uint32_t)fw_profile_raw(pt, regs);
                if (fw_profile_accum(pt, &d->accum[i], raw, &v) == FW_ACCUM_FIRST)
                    continue;
            } else {
                v = fw_profile_value(pt, regs);
            }
            if (!fw_profile_plausible(pt, v)) {
                res->out_of_range++;
                continue;
            }
            res->values[res->nvalues].metric = pt->metric;
            res->values[res->nvalues].value = v;
            res->nvalues++;
        }
        if (!d->online && d->failures >= d->breaker_n)
            FW_LOG(FW_LOG_NOTICE,
                   "modbus: device \"%s\" unit %d on \"%s\": online again after %lld s offline; "
                   "polled every %lld ms",
                   d->name, d->unit, b->name,
                   (long long)((now_us / 1000 - d->offline_since + 500) / 1000),
                   (long long)d->interval_ms);
        d->answered = true;
        d->failures = 0;
        d->online = true;
        d->last_ok_ms = res->time_ms;
        next_slot(d, now_us);
        d->slot.patience_ms = 0;
    } else {
        d->answered = false;
        d->failures++;
        if (d->failures == d->breaker_n && d->online) {
            FW_LOG(FW_LOG_WARNING,
                   "modbus: device \"%s\" unit %d on \"%s\": offline after %d failed polls: %s; "
                   "probed in the bus's idle time from now on",
                   d->name, d->unit, b->name, d->failures, modbus_strerror(-rc));
            d->offline_since = now_us / 1000;
        }
        if (d->failures >= d->breaker_n)
            d->online = false;
        int64_t delay =
            fw_modbus__breaker_delay(d->failures, d->breaker_n, d->interval_ms, d->breaker_max_ms);
        /* A bus that is down is not the device's fault: keep the cadence, the bus reopens with
         * its own backoff. Otherwise an offline device is only probed, ever less often. */
        if (kind == FAIL_LINK || delay == 0)
            next_slot(d, now_us);
        else
            d->slot.due_ms = now_us / 1000 + delay;
        wait_for_idle(b, d, delay ? delay : d->interval_ms);
    }
    res->failures = d->failures;
    res->online = d->online;
    res->last_ok_ms = d->last_ok_ms;
    push_result(b->m, res);
}

static void *bus_main(void *arg)
{
    struct bus *b = arg;
    struct fw_modbus *m = b->m;
    int64_t start = mono_us() / 1000;
    /* Nothing has answered yet: every device is asked once, in idle time, before any is presumed
     * to be there. */
    for (size_t i = 0; i < b->ndevs; i++) {
        b->devs[i]->slot.due_ms = start;
        wait_for_idle(b, b->devs[i], b->devs[i]->interval_ms);
    }
    pthread_mutex_lock(&m->lock);
    while (!atomic_load(&m->stopping)) {
        int64_t now = mono_us() / 1000, wake;
        bool forced;
        int i = fw_modbus__pick(b->slots, b->ndevs, now, b->forced_from, &wake, &forced);
        if (i < 0) {
            /* Nothing is ever that far off; the cap keeps the sum below from overflowing. */
            if (wake - now > 86400000)
                wake = now + 86400000;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = ts.tv_nsec + (wake - now) * 1000000;
            ts.tv_sec += (time_t)(ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            pthread_cond_timedwait(&m->cond, &m->lock, &ts);
            continue;
        }
        struct dev *d = b->devs[i];
        pthread_mutex_unlock(&m->lock);
        if (!b->ctx && now >= b->reopen_at) {
            int rc = bus_open(b);
            if (rc < 0) {
                /* Log the first failure and the recovery, not every retry. */
                if (b->open_errors++ == 0)
                    FW_LOG(FW_LOG_WARNING, "modbus: bus \"%s\": open: %s (retrying with backoff)",
                           b->name, modbus_strerror(-rc));
                b->reopen_delay_ms = b->reopen_delay_ms ? b->reopen_delay_ms * 2 : b->reopen_min_ms;
                if (b->reopen_delay_ms > b->reopen_max_ms)
                    b->reopen_delay_ms = b->reopen_max_ms;
                b->reopen_at = now + b->reopen_delay_ms;
            } else {
                if (b->open_errors)
                    FW_LOG(FW_LOG_NOTICE, "modbus: bus \"%s\": open again", b->name);
                b->open_errors = 0;
                b->reopen_delay_ms = 0;
            }
        }
        poll_device(b, d);
        /* One forced poll a round: the regular polls of the next one go first. */
        if (forced)
            b->forced_from = mono_us() / 1000 + b->round_ms;
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    bus_close(b);
    pthread_mutex_lock(&m->lock);
    m->threads_done++;
    pthread_mutex_unlock(&m->lock);
    uv_async_send(&m->async);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Loop side                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static void free_all(struct fw_modbus *m)
{
    for (size_t i = 0; i < m->qlen; i++)
        free(m->queue[(m->qhead + i) % FW_MODBUS_QUEUE_MAX]);
    for (size_t i = 0; i < m->nbuses; i++) {
        free(m->buses[i].name);
        free(m->buses[i].host);
        free(m->buses[i].device);
        free(m->buses[i].devs);
        free(m->buses[i].slots);
    }
    for (size_t i = 0; i < m->ndevs; i++) {
        free(m->devs[i].name);
        free(m->devs[i].zone);
        free(m->devs[i].regs);
        free(m->devs[i].req_off);
        free(m->devs[i].accum);
    }
    free(m->buses);
    free(m->devs);
    free(m->batch);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m);
}

static void on_async_close(uv_handle_t *h)
{
    struct fw_modbus *m = FW_CONTAINER_OF(h, struct fw_modbus, async);
    fw_modbus_close_cb cb = m->close_cb;
    void *arg = m->close_arg;
    if (cb)
        cb(m, arg);
    free_all(m);
}

static void add_reading(struct fw_modbus *m, size_t *n, const struct dev *d, const char *metric,
                        const struct fw_metric *mt, double v, int64_t t)
{
    if (*n == m->batch_cap) {
        m->batch_cap = m->batch_cap ? m->batch_cap * 2 : 16;
        m->batch = fw_xrealloc(m->batch, m->batch_cap * sizeof(*m->batch));
    }
    struct fw_reading *r = &m->batch[(*n)++];
    memset(r, 0, sizeof(*r));
    r->source = FW_SOURCE_MODBUS;
    fw_strlcpy(r->station, d->name, sizeof(r->station));
    fw_strlcpy(r->zone, d->zone, sizeof(r->zone));
    r->metric = mt ? mt : fw_metric_find(metric);
    FW_ASSERT(r->metric != NULL);
    r->value = v;
    r->time_ms = t;
}

static void deliver(struct fw_modbus *m, struct result *res)
{
    struct dev *d = &m->devs[res->dev];
    struct fw_modbus_device_stats *s = &d->stats;
    size_t n = 0;
    s->last_poll_ms = res->time_ms;
    s->consecutive_failures = res->failures;
    s->online = res->online;
    s->last_ok_ms = res->last_ok_ms;
    s->out_of_range += (uint64_t)res->out_of_range;
    if (res->rc == 0) {
        s->polls_ok++;
        for (size_t i = 0; i < res->nvalues; i++)
            add_reading(m, &n, d, NULL, res->values[i].metric, res->values[i].value, res->time_ms);
        add_reading(m, &n, d, "device_out_of_range", NULL, res->out_of_range, res->time_ms);
    } else {
        s->polls_failed++;
        s->last_error = res->rc;
        s->timeouts += res->kind == FAIL_TIMEOUT;
        s->exceptions += res->kind == FAIL_EXCEPTION;
        s->bad_frames += res->kind == FAIL_BAD_FRAME;
        s->link_errors += res->kind == FAIL_LINK;
    }
    add_reading(m, &n, d, "device_online", NULL, res->online ? 1 : 0, res->time_ms);
    add_reading(m, &n, d, "device_failures", NULL, res->failures, res->time_ms);
    if (res->last_ok_ms)
        add_reading(m, &n, d, "device_last_ok_age_s", NULL,
                    (double)(res->time_ms - res->last_ok_ms) / 1000.0, res->time_ms);
    m->cb(m, m->batch, n, m->arg);
}

static void on_async(uv_async_t *h)
{
    struct fw_modbus *m = FW_CONTAINER_OF(h, struct fw_modbus, async);
    struct result *take[64];
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&m->lock);
        while (n < FW_ARRAY_LEN(take) && m->qlen) {
            take[n++] = m->queue[m->qhead];
            m->qhead = (m->qhead + 1) % FW_MODBUS_QUEUE_MAX;
            m->qlen--;
        }
        pthread_mutex_unlock(&m->lock);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            if (!m->closing)
                deliver(m, take[i]);
            free(take[i]);
        }
    }
    if (!m->closing)
        return;
    pthread_mutex_lock(&m->lock);
    size_t done = m->threads_done;
    pthread_mutex_unlock(&m->lock);
    if (done < m->nthreads || uv_is_closing((uv_handle_t *)&m->async))
        return;
    /* Every worker has left its loop: these joins return at once. */
    for (size_t i = 0; i < m->nbuses; i++)
        if (m->buses[i].started)
            pthread_join(m->buses[i].thread, NULL);
    uv_close((uv_handle_t *)&m->async, on_async_close);
}

/* ------------------------------------------------------------------------------------------ */
/* Public API                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static int bad_cfg(const char *what, const char *name, const char *why)
{
    FW_LOG(FW_LOG_ERR, "modbus: %s \"%s\": %s", what, name ? name : "(null)", why);
    return -EINVAL;
}

static int check_bus(const struct fw_modbus_bus_cfg *c)
{
    if (!c->name || !*c->name)
        return bad_cfg("bus", c->name, "no name");
    if (c->pause_ms < 0 || c->pause_ms > 10000)
        return bad_cfg("bus", c->name, "pause_ms must be 0..10000");
    if (c->reopen_min_ms < 0 || c->reopen_max_ms < 0 ||
        (c->reopen_max_ms && c->reopen_min_ms > c->reopen_max_ms))
        return bad_cfg("bus", c->name, "reopen delays must be 0 <= min <= max");
    if (c->kind == FW_MODBUS_TCP) {
        if (!c->host || !*c->host || c->port < 1 || c->port > 65535)
            return bad_cfg("bus", c->name, "TCP needs a host and a port 1..65535");
    } else if (c->kind == FW_MODBUS_RTU) {
        if (!c->device || !*c->device || c->baud < 1200 || c->baud > 921600 ||
            (c->parity != 'N' && c->parity != 'E' && c->parity != 'O') ||
            (c->data_bits != 7 && c->data_bits != 8) || (c->stop_bits != 1 && c->stop_bits != 2))
            return bad_cfg("bus", c->name,
                           "RTU needs a device, baud 1200..921600, parity N/E/O, 7 or 8 data "
                           "bits, 1 or 2 stop bits");
    } else {
        return bad_cfg("bus", c->name, "unknown kind");
    }
    return 0;
}

static int check_device(const struct fw_modbus_device_cfg *c, const struct fw_modbus_bus_cfg *b)
{
    if (!c->name || !*c->name || strlen(c->name) >= FW_READING_MAX_ID)
        return bad_cfg("device", c->name, "name must be 1..63 bytes");
    if (!c->zone || !*c->zone || strlen(c->zone) >= FW_READING_MAX_ID)
        return bad_cfg("device", c->name, "zone must be 1..63 bytes");
    if (!b)
        return bad_cfg("device", c->name, "no such bus");
    if (b->kind == FW_MODBUS_RTU ? c->unit_id < 1 || c->unit_id > 247
                                 : c->unit_id < 0 || c->unit_id > 255)
        return bad_cfg("device", c->name, "unit id must be 1..247 (RTU) or 0..255 (TCP)");
    if (!c->profile || c->profile->nrequests == 0)
        return bad_cfg("device", c->name, "no profile");
    if (c->interval_ms < 100 || c->interval_ms > 86400000)
        return bad_cfg("device", c->name, "interval_ms must be 100..86400000");
    if (c->timeout_ms != 0 && (c->timeout_ms < 10 || c->timeout_ms > 60000))
        return bad_cfg("device", c->name, "timeout_ms must be 10..60000 (or 0: the default)");
    if (c->retries < 0 || c->retries > 10)
        return bad_cfg("device", c->name, "retries must be 0..10");
    if (c->breaker_failures < 0 || c->breaker_failures > 1000 || c->breaker_max_ms < 0)
        return bad_cfg("device", c->name, "breaker_failures must be 0..1000, breaker_max_ms >= 0");
    return 0;
}

/* The 3.5-character silence that ends an RTU frame; fixed at 1750 us above 19200 baud, as the
 * Modbus serial line specification says. */
static int64_t rtu_gap_us(int baud, char parity, int stop_bits)
{
    if (baud > 19200)
        return 1750;
    int bits = 1 + 8 + (parity != 'N') + stop_bits;
    return (int64_t)(3.5 * bits * 1e6 / baud) + 1;
}

int fw_modbus_new(uv_loop_t *loop, const struct fw_modbus_bus_cfg *buses, size_t nbuses,
                  const struct fw_modbus_device_cfg *devices, size_t ndevices,
                  fw_modbus_readings_cb cb, void *arg, struct fw_modbus **out)
{
    struct fw_modbus *m = NULL;
    int rc = -EINVAL;
    size_t *bus_of = NULL;
    *out = NULL;
    if (!cb)
        return -EINVAL;
    bus_of = fw_xcalloc(ndevices + 1, sizeof(*bus_of));
    for (size_t i = 0; i < nbuses; i++) {
        if ((rc = check_bus(&buses[i])) < 0)
            goto fail;
        for (size_t j = 0; j < i; j++)
            if (strcmp(buses[i].name, buses[j].name) == 0) {
                rc = bad_cfg("bus", buses[i].name, "defined twice");
                goto fail;
            }
    }
    for (size_t i = 0; i < ndevices; i++) {
        const struct fw_modbus_bus_cfg *b = NULL;
        for (size_t j = 0; j < nbuses && devices[i].bus; j++)
            if (strcmp(buses[j].name, devices[i].bus) == 0) {
                b = &buses[j];
                bus_of[i] = j;
            }
        if ((rc = check_device(&devices[i], b)) < 0)
            goto fail;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(devices[i].name, devices[j].name) == 0) {
                rc = bad_cfg("device", devices[i].name, "defined twice");
                goto fail;
            }
            if (bus_of[i] == bus_of[j] && devices[i].unit_id == devices[j].unit_id) {
                rc = bad_cfg("device", devices[i].name, "shares its bus and unit id with another");
                goto fail;
            }
        }
    }

    m = fw_xcalloc(1, sizeof(*m));
    m->loop = loop;
    m->cb = cb;
    m->arg = arg;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&m->stopping, false);
    m->buses = fw_xcalloc(nbuses + 1, sizeof(*m->buses));
    m->nbuses = nbuses;
    m->devs = fw_xcalloc(ndevices + 1, sizeof(*m->devs));
    m->ndevs = ndevices;
    for (size_t i = 0; i < nbuses; i++) {
        const struct fw_modbus_bus_cfg *c = &buses[i];
        struct bus *b = &m->buses[i];
        b->m = m;
        b->name = fw_xstrdup(c->name);
        b->kind = c->kind;
        b->host = fw_xstrdup(c->host);
        b->port = c->port;
        b->device = fw_xstrdup(c->device);
        b->baud = c->baud;
        b->parity = c->parity;
        b->data_bits = c->data_bits;
        b->stop_bits = c->stop_bits;
        b->rs485 = c->rs485;
        b->pause_ms = c->pause_ms;
        b->reopen_min_ms = c->reopen_min_ms ? c->reopen_min_ms : DEFAULT_REOPEN_MIN_MS;
        b->reopen_max_ms = c->reopen_max_ms ? c->reopen_max_ms : DEFAULT_REOPEN_MAX_MS;
        if (b->reopen_max_ms < b->reopen_min_ms)
            b->reopen_max_ms = b->reopen_min_ms;
        b->gap_us = c->kind == FW_MODBUS_RTU ? rtu_gap_us(c->baud, c->parity, c->stop_bits) : 0;
        b->devs = fw_xcalloc(ndevices + 1, sizeof(*b->devs));
        b->slots = fw_xcalloc(ndevices + 1, sizeof(*b->slots));
    }
    for (size_t i = 0; i < ndevices; i++) {
        const struct fw_modbus_device_cfg *c = &devices[i];
        struct dev *d = &m->devs[i];
        const struct fw_profile *p = c->profile;
        d->name = fw_xstrdup(c->name);
        d->zone = fw_xstrdup(c->zone);
        d->unit = c->unit_id;
        d->profile = p;
        d->interval_ms = c->interval_ms;
        d->timeout_ms =
            c->timeout_ms ? c->timeout_ms : fw_modbus__default_timeout(&buses[bus_of[i]], p);
        d->retries = c->retries;
        d->breaker_n = c->breaker_failures ? c->breaker_failures : DEFAULT_BREAKER_FAILURES;
        d->breaker_max_ms = c->breaker_max_ms ? c->breaker_max_ms : DEFAULT_BREAKER_MAX_MS;
        if (d->breaker_max_ms < d->interval_ms)
            d->breaker_max_ms = d->interval_ms;
        d->index = i;
        d->bus = &m->buses[bus_of[i]];
        d->req_off = fw_xcalloc(p->nrequests, sizeof(*d->req_off));
        size_t total = 0;
        for (size_t r = 0; r < p->nrequests; r++) {
            d->req_off[r] = total;
            total += p->requests[r].count;
        }
        d->regs = fw_xcalloc(total, sizeof(*d->regs));
        d->accum = fw_xcalloc(p->npoints, sizeof(*d->accum));
        d->online = true; /* until proven otherwise: no "offline" flap at start-up */
        d->stats.online = true;
        d->bus->slots[d->bus->ndevs] = &d->slot;
        if (d->bus->ndevs == 0 || d->interval_ms < d->bus->round_ms)
            d->bus->round_ms = d->interval_ms;
        d->bus->devs[d->bus->ndevs++] = d;
    }
    rc = uv_async_init(loop, &m->async, on_async);
    if (rc < 0) {
        /* Nothing was started; the handle was not initialised, so no uv_close. */
        free_all(m);
        m = NULL;
        goto fail;
    }
    for (size_t i = 0; i < nbuses; i++) {
        struct bus *b = &m->buses[i];
        if (b->ndevs == 0)
            continue;
        int prc = pthread_create(&b->thread, NULL, bus_main, b);
        if (prc != 0) {
            FW_LOG(FW_LOG_ERR, "modbus: bus \"%s\": cannot start its thread: %s", b->name,
                   strerror(prc));
            /* Stop what was started; the close callback frees m. The caller sees a failure,
             * so its callbacks must not run: closing suppresses them. */
            fw_modbus_close(m, NULL, NULL);
            rc = -prc;
            m = NULL;
            goto fail;
        }
        b->started = true;
        m->nthreads++;
    }
    free(bus_of);
    *out = m;
    return 0;
fail:
    free(bus_of);
    return rc;
}

void fw_modbus_close(struct fw_modbus *m, fw_modbus_close_cb close_cb, void *arg)
{
    if (!m)
        return;
    FW_ASSERT(!m->closing);
    m->closing = true;
    m->close_cb = close_cb;
    m->close_arg = arg;
    pthread_mutex_lock(&m->lock);
    atomic_store(&m->stopping, true);
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    /* on_async finishes the close once every worker has said it is done (each sends one). */
    uv_async_send(&m->async);
}

int fw_modbus_device_stats(const struct fw_modbus *m, size_t i, struct fw_modbus_device_stats *out)
{
    if (!m || i >= m->ndevs)
        return -EINVAL;
    *out = m->devs[i].stats;
    return 0;
}

uint64_t fw_modbus_dropped(const struct fw_modbus *m)
{
    pthread_mutex_lock((pthread_mutex_t *)&m->lock);
    uint64_t n = m->dropped;
    pthread_mutex_unlock((pthread_mutex_t *)&m->lock);
    return n;
}
