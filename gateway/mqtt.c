/* SPDX-License-Identifier: MIT */
/*
 * MQTT links driven by the daemon's libuv loop. Each connection attempt gets a fresh libmosquitto
 * client (`struct mosquitto`) and a fresh uv_poll_t on its socket: readable always, writable only
 * while libmosquitto has bytes queued. A per-link timer runs mosquitto_loop_misc() once a second
 * while a client exists (keepalive pings, and the CONNACK timeout, see below) and otherwise waits
 * out the reconnect backoff. libmosquitto's own thread is never started. This file is the only
 * place where MOSQ_ERR_* codes are turned into negative errno values and logged. TLS links hand
 * libmosquitto an OpenSSL context of our own, built for every attempt (see link_tls_context).
 * See docs/mqtt.md for the design note.
 */
#include "forestwatch/mqtt.h"

#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "forestwatch/log.h"
#include "forestwatch/util.h"

#define FW_MQTT_TICK_MS 1000       /* mosquitto_loop_misc() cadence, as libmosquitto advises */
#define FW_MQTT_CLOSE_WAIT_MS 1000 /* how long a close waits for the PUBACK of "offline" */
#define FW_MQTT_TOPIC_MAX 65535    /* MQTT string length limit */
#define FW_MQTT_BACKOFF_CAP_MS (24LL * 3600 * 1000)

static const char status_online[] = "online";
static const char status_offline[] = "offline";

struct fw_mqtt_sub {
    char *topic;
    int qos;
    int mid; /* of the last SUBSCRIBE sent, to name the topic if the broker refuses it */
};

/*
 * One connection attempt: a libmosquitto client and the poll handle on its socket. It is
 * released as a whole (poll closed, then client destroyed in the close callback), so nothing
 * queued inside libmosquitto survives into the next attempt and gets resent behind the
 * caller's back.
 */
struct fw_mqtt_conn {
    struct fw_mqtt_link *link;
    struct mosquitto *mosq;
    uv_poll_t poll;
    int has_poll;    /* poll initialised: release must go through uv_close */
    int poll_events; /* events the poll was last started with, 0 when stopped */
    int depth;       /* nesting of mosquitto_loop_*() calls on this client */
    int acked;       /* CONNACK accepted */
    int gone;        /* released: ignore anything libmosquitto still reports */
    int connack_rc;  /* non-zero CONNACK code, for the log */
    int disc_rc;     /* rc given to on_disconnect, when the loop call itself reported success */
    int status_mid;  /* mid of our own "online", hidden from on_published */
    int offline_mid; /* mid of the "offline" published by a close */
    int offline_acked;
    /*
     * Why a TLS handshake failed. libmosquitto returns only MOSQ_ERR_TLS or errno EPROTO, and
     * clears OpenSSL's error queue on reads; the reason is what our verify callback saw, or the
     * fatal alert the broker sent (how it refuses our certificate), or else the first line
     * libmosquitto logged at error level (it prints OpenSSL's error queue on some paths).
     */
    char tls_verify[96];
    char tls_alert[64];
    char lib_error[160];
    char why[224]; /* the failure text composed from them, for conn_failed */
};

struct fw_mqtt_link {
    uv_loop_t *loop;
    char *name;
    char *client_id;
    char *username;
    char *password;
    char *tls_ca_file; /* NULL: plain TCP */
    char *tls_cert_file;
    char *tls_key_file;
    char *tls_server_name; /* NULL: host */
    char *status_topic;
    int clean_session;
    /* The cluster's nodes (one for a single broker) and the one in use, cur. wheres[i] is
     * `broker "NAME" HOST:PORT` (with "node i/n" for a cluster), the object part of every log
     * line while node i is in use: see link_where. */
    char *hosts[FW_MQTT_MAX_NODES];
    int ports[FW_MQTT_MAX_NODES];
    char *wheres[FW_MQTT_MAX_NODES];
    size_t nnodes, cur;
    int keepalive_s;
    int64_t reconnect_min_ms;
    int64_t reconnect_max_ms;
    fw_mqtt_message_cb on_message;
    fw_mqtt_published_cb on_published;
    fw_mqtt_state_cb on_state;
    void *arg;

    uv_timer_t timer;          /* loop_misc tick while a client exists, else the reconnect delay */
    uv_timer_t kick;           /* zero-delay timer delivering deferred on_published calls */
    struct fw_mqtt_conn *conn; /* current attempt, NULL while waiting to reconnect */
    int connected;             /* CONNACK seen on conn and on_state(1) reported */
    int api_depth;             /* inside fw_mqtt_publish/subscribe's libmosquitto call */

    struct fw_mqtt_sub *subs;
    size_t nsubs;
    size_t subs_cap;

    int *deferred_mids; /* QoS 0 publishes reported by libmosquitto inside fw_mqtt_publish */
    size_t ndeferred;
    size_t deferred_cap;

    int64_t backoff_ms; /* last delay used, 0 after a successful CONNACK */
    unsigned fail_streak;
    char last_reason[256]; /* last failure logged at warning, to log a change again */
    uint32_t rng;

    int closing;       /* fw_mqtt_link_close() was called: no more user callbacks */
    int close_started; /* "offline" sent (or skipped), waiting for its PUBACK */
    int finished;      /* client released, timers closing */
    int open_handles;
    fw_mqtt_close_cb close_cb;
    void *close_arg;
};

/* The object part of a link's log lines: its node in use. */
static const char *link_where(const struct fw_mqtt_link *link)
{
    return link->wheres[link->cur];
}

/* ------------------------------------------------------------------------------------------ */
/* Error translation                                                                           */
/* ------------------------------------------------------------------------------------------ */

/*
 * MOSQ_ERR_* to a negative errno-style code. `err` is errno as it was right after the call,
 * needed for MOSQ_ERR_ERRNO (errno) and MOSQ_ERR_EAI (a getaddrinfo code).
 */
static int mosq_to_errno(int rc, int err)
{
    switch (rc) {
    case MOSQ_ERR_SUCCESS:
        return 0;
    case MOSQ_ERR_NOMEM:
        return -ENOMEM;
    case MOSQ_ERR_INVAL:
    case MOSQ_ERR_MALFORMED_UTF8:
        return -EINVAL;
    case MOSQ_ERR_QOS_NOT_SUPPORTED:
        /* The broker's limit (MQTT 5 maximum QoS), not the message's: another broker, or this
         * one reconfigured, takes it. */
        return -ENOTSUP;
    case MOSQ_ERR_NO_CONN:
    case MOSQ_ERR_CONN_LOST:
        return -ENOTCONN;
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_OVERSIZE_PACKET:
        return -E2BIG;
    case MOSQ_ERR_CONN_REFUSED:
        return -ECONNREFUSED;
    case MOSQ_ERR_KEEPALIVE:
        return -ETIMEDOUT;
    case MOSQ_ERR_PROTOCOL:
    case MOSQ_ERR_MALFORMED_PACKET:
        return -EPROTO;
    case MOSQ_ERR_NOT_SUPPORTED:
        return -ENOTSUP;
    case MOSQ_ERR_ERRNO:
        return err > 0 ? -err : -EIO;
    case MOSQ_ERR_EAI:
        return err == EAI_AGAIN ? UV_EAI_AGAIN : err == EAI_NONAME ? UV_EAI_NONAME : UV_EAI_FAIL;
    default:
        return -EIO;
    }
}

/*
 * Text for a failed connection, for the log. mosquitto_strerror() reads the global errno for
 * MOSQ_ERR_ERRNO and has no text for MOSQ_ERR_KEEPALIVE in 2.0.11, hence the special cases.
 * The loop is single-threaded, so strerror()'s static buffer is not shared.
 */
static const char *conn_reason(int rc, int err, int connack_rc, int acked)
{
    if (connack_rc)
        return mosquitto_connack_string(connack_rc);
    switch (rc) {
    case MOSQ_ERR_ERRNO:
        return strerror(err);
    case MOSQ_ERR_EAI:
        return gai_strerror(err);
    case MOSQ_ERR_KEEPALIVE:
        /* Before CONNACK this is loop_misc giving up on the TCP connect or the CONNACK. */
        return acked ? "Keepalive timeout" : strerror(ETIMEDOUT);
    case MOSQ_ERR_SUCCESS:
        return "Connection closed";
    default:
        return mosquitto_strerror(rc);
    }
}

/*
 * The reason of an OpenSSL error line as libmosquitto logs it, "OpenSSL Error[0]:
 * error:0A000086:SSL routines::certificate verify failed": the text after the last colon. Other
 * lines are kept whole.
 */
static const char *openssl_reason(const char *line)
{
    const char *colon = strrchr(line, ':');
    if (strncmp(line, "OpenSSL Error", 13) != 0 || !colon || !colon[1])
        return line;
    return colon[1] == ' ' ? colon + 2 : colon + 1;
}

/*
 * Text for a failed attempt or a lost connection. On a TLS link the handshake's own reason
 * comes first: what the verify callback saw (the server is not trusted, or not the one named),
 * else a fatal alert from the broker (it refuses our client certificate), else what
 * libmosquitto logged at error level. Otherwise as conn_reason. The text lives in `conn`.
 */
static const char *conn_failure(struct fw_mqtt_conn *conn, int rc, int err)
{
    if (conn->tls_verify[0])
        snprintf(conn->why, sizeof(conn->why), "TLS: certificate verify failed: %s",
                 conn->tls_verify);
    else if (conn->tls_alert[0])
        snprintf(conn->why, sizeof(conn->why), "TLS: alert from the broker: %s", conn->tls_alert);
    else if (conn->lib_error[0] && !conn->connack_rc)
        snprintf(conn->why, sizeof(conn->why), "%s%s", conn->link->tls_ca_file ? "TLS: " : "",
                 openssl_reason(conn->lib_error));
    else
        return conn_reason(rc, err, conn->connack_rc, conn->acked);
    return conn->why;
}

/* ------------------------------------------------------------------------------------------ */
/* Backoff                                                                                     */
/* ------------------------------------------------------------------------------------------ */

int64_t fw_mqtt__backoff_next(int64_t prev_ms, int64_t min_ms, int64_t max_ms, uint32_t rnd)
{
    if (min_ms < 1)
        min_ms = 1;
    if (max_ms > FW_MQTT_BACKOFF_CAP_MS)
        max_ms = FW_MQTT_BACKOFF_CAP_MS;
    if (max_ms < min_ms)
        max_ms = min_ms;
    int64_t base;
    if (prev_ms <= 0)
        base = min_ms;
    else if (prev_ms >= max_ms / 2)
        base = max_ms; /* doubling would reach or pass the cap; also keeps 2*prev from overflow */
    else
        base = prev_ms * 2;
    if (base < min_ms)
        base = min_ms;
    /*
     * Jitter in [0, base/4): floor(q * rnd / 2^32) computed in two halves so q * rnd cannot
     * overflow. Spreading retries keeps a fleet of gateways from reconnecting in lockstep.
     */
    uint64_t q = (uint64_t)base / 4;
    uint64_t jitter = (q >> 32) * rnd + (((q & 0xffffffffu) * rnd) >> 32);
    return base + (int64_t)jitter;
}

static uint32_t link_random(struct fw_mqtt_link *link)
{
    /* xorshift32: only spreads retry times, no need for anything stronger. */
    uint32_t x = link->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    link->rng = x;
    return x;
}

/* ------------------------------------------------------------------------------------------ */
/* Handle bookkeeping                                                                          */
/* ------------------------------------------------------------------------------------------ */

static void link_free(struct fw_mqtt_link *link)
{
    for (size_t i = 0; i < link->nsubs; i++)
        free(link->subs[i].topic);
    free(link->subs);
    free(link->deferred_mids);
    free(link->name);
    for (size_t i = 0; i < link->nnodes; i++) {
        free(link->hosts[i]);
        free(link->wheres[i]);
    }
    free(link->client_id);
    free(link->username);
    if (link->password)
        explicit_bzero(link->password, strlen(link->password));
    free(link->password);
    free(link->tls_ca_file);
    free(link->tls_cert_file);
    free(link->tls_key_file);
    free(link->tls_server_name);
    free(link->status_topic);
    free(link);
}

/* Every handle close callback ends here; the last one of a closing link completes the close. */
static void link_handle_closed(struct fw_mqtt_link *link)
{
    FW_ASSERT(link->open_handles > 0);
    link->open_handles--;
    if (link->open_handles == 0 && link->finished) {
        if (link->close_cb)
            link->close_cb(link, link->close_arg);
        link_free(link);
    }
}

static void on_timer_close(uv_handle_t *handle)
{
    link_handle_closed(handle->data);
}

static void on_conn_poll_close(uv_handle_t *handle)
{
    struct fw_mqtt_conn *conn = FW_CONTAINER_OF(handle, struct fw_mqtt_conn, poll);
    struct fw_mqtt_link *link = conn->link;
    /*
     * Destroy only now: mosquitto_destroy() closes the socket, and libuv requires the poll
     * handle to be stopped first. We are also certainly outside libmosquitto's callbacks here.
     */
    mosquitto_destroy(conn->mosq);
    free(conn);
    link_handle_closed(link);
}

/*
 * Let go of a connection attempt. The link forgets it at once; its memory and the libmosquitto
 * client go in the poll's close callback, on a later loop iteration, which also makes this
 * safe to call from inside a libmosquitto callback of that very client.
 */
static void conn_release(struct fw_mqtt_conn *conn)
{
    struct fw_mqtt_link *link = conn->link;
    FW_ASSERT(!conn->gone);
    conn->gone = 1;
    if (link->conn == conn) {
        link->conn = NULL;
        link->connected = 0;
    }
    if (!conn->has_poll) {
        FW_ASSERT(conn->depth == 0);
        mosquitto_destroy(conn->mosq);
        free(conn);
        return;
    }
    uv_poll_stop(&conn->poll);
    conn->poll_events = 0;
    uv_close((uv_handle_t *)&conn->poll, on_conn_poll_close);
}

static void on_conn_poll(uv_poll_t *handle, int status, int events);

/* Readable always; writable only while libmosquitto has output queued, or the loop would spin. */
static void conn_update_poll(struct fw_mqtt_conn *conn)
{
    if (conn->gone || !conn->has_poll)
        return;
    int events = UV_READABLE;
    if (mosquitto_want_write(conn->mosq))
        events |= UV_WRITABLE;
    if (events == conn->poll_events)
        return;
    int rc = uv_poll_start(&conn->poll, events, on_conn_poll);
    FW_ASSERT(rc == 0); /* only fails for a closing handle or a bad fd: both are our bugs */
    conn->poll_events = events;
}

/* ------------------------------------------------------------------------------------------ */
/* Deferred on_published                                                                       */
/* ------------------------------------------------------------------------------------------ */

/*
 * libmosquitto reports a QoS 0 publish as done inside mosquitto_publish() when it is written at
 * once. Calling on_published from there would reach the caller before fw_mqtt_publish() has
 * returned the mid, so such mids are delivered from a zero-delay timer instead.
 */
static void deliver_deferred(struct fw_mqtt_link *link)
{
    uv_timer_stop(&link->kick);
    int *mids = link->deferred_mids;
    size_t n = link->ndeferred;
    link->deferred_mids = NULL;
    link->ndeferred = link->deferred_cap = 0;
    /* The callback may publish (refilling the list) or close the link: recheck each time. */
    for (size_t i = 0; i < n && !link->closing; i++)
        if (link->on_published)
            link->on_published(link, mids[i], link->arg);
    free(mids);
}

static void on_kick_timer(uv_timer_t *timer)
{
    struct fw_mqtt_link *link = timer->data;
    if (!link->closing)
        deliver_deferred(link);
}

static void defer_published(struct fw_mqtt_link *link, int mid)
{
    if (link->ndeferred == link->deferred_cap) {
        link->deferred_cap = link->deferred_cap ? link->deferred_cap * 2 : 8;
        link->deferred_mids =
            fw_xrealloc(link->deferred_mids, link->deferred_cap * sizeof(*link->deferred_mids));
    }
    link->deferred_mids[link->ndeferred++] = mid;
    uv_timer_start(&link->kick, on_kick_timer, 0, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Connection lifecycle                                                                        */
/* ------------------------------------------------------------------------------------------ */

static void on_link_timer(uv_timer_t *timer);
static void link_close_step(struct fw_mqtt_link *link, int conn_broken);

/*
 * The current attempt failed or the connection was lost: log (once per outage at warning),
 * release the client, tell the caller if it had been told "connected", and arm the retry.
 */
static void conn_failed(struct fw_mqtt_conn *conn, const char *reason)
{
    struct fw_mqtt_link *link = conn->link;
    int was_connected = link->connected && link->conn == conn;

    if (was_connected) {
        FW_LOG(FW_LOG_WARNING, "mqtt: %s: connection lost: %s", link_where(link), reason);
        link->last_reason[0] = '\0';
        link->fail_streak = 0;
    } else {
        /*
         * While a broker stays down every retry fails the same way: warn on the first failure
         * and when the reason changes, the rest goes to debug.
         */
        link->fail_streak++;
        int level = FW_LOG_DEBUG;
        if (link->fail_streak == 1 || strcmp(link->last_reason, reason) != 0) {
            level = FW_LOG_WARNING;
            fw_strlcpy(link->last_reason, reason, sizeof(link->last_reason));
        }
        FW_LOG(level, "mqtt: %s: connect: %s", link_where(link), reason);
    }

    conn_release(conn);
    /* QoS 0 mids written on this connection are reported before the loss, never after. */
    if (link->ndeferred)
        deliver_deferred(link);
    if (was_connected && !link->closing && link->on_state)
        link->on_state(link, 0, link->arg);
    if (link->closing)
        return; /* closed from a callback above: there was no client left to wait for */

    link->backoff_ms = fw_mqtt__backoff_next(link->backoff_ms, link->reconnect_min_ms,
                                             link->reconnect_max_ms, link_random(link));
    /* The next node of a cluster, so that one that died is left for the others (a single
     * broker is its own next). */
    link->cur = (link->cur + 1) % link->nnodes;
    FW_LOG(FW_LOG_DEBUG, "mqtt: %s: retrying in %lld ms", link_where(link),
           (long long)link->backoff_ms);
    uv_timer_start(&link->timer, on_link_timer, (uint64_t)link->backoff_ms, 0);
}

/*
 * Common tail of every libmosquitto loop call. libmosquitto closes the socket itself when a
 * loop call fails (and when loop_misc gives up on keepalive), so a vanished socket means the
 * connection is over even when rc says success. The poll handle is stopped right away: no other
 * code has run since that close, so the descriptor number cannot have been reused yet.
 */
static void conn_after_loop(struct fw_mqtt_conn *conn, int rc, int err)
{
    struct fw_mqtt_link *link = conn->link;
    if (link->closing) {
        link_close_step(link, rc != MOSQ_ERR_SUCCESS || mosquitto_socket(conn->mosq) < 0);
        return;
    }
    if (conn->gone)
        return;
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(conn->mosq) < 0) {
        if (rc == MOSQ_ERR_SUCCESS)
            rc = conn->disc_rc;
        conn_failed(conn, conn_failure(conn, rc, err));
        return;
    }
    conn_update_poll(conn);
}

static void on_conn_poll(uv_poll_t *handle, int status, int events)
{
    struct fw_mqtt_conn *conn = FW_CONTAINER_OF(handle, struct fw_mqtt_conn, poll);
    if (conn->gone)
        return;
    if (status < 0) {
        /*
         * libuv reports POLLERR as UV_EBADF and stops the handle. It is how a refused
         * non-blocking connect shows up; the real reason is in SO_ERROR.
         */
        conn->poll_events = 0;
        if (conn->link->closing) {
            link_close_step(conn->link, 1);
            return;
        }
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (getsockopt(mosquitto_socket(conn->mosq), SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
            soerr == 0)
            soerr = EIO;
        conn_failed(conn, strerror(soerr));
        return;
    }

    int rc = MOSQ_ERR_SUCCESS, err = 0;
    conn->depth++;
    if (events & UV_READABLE) {
        rc = mosquitto_loop_read(conn->mosq, 1);
        err = errno;
    }
    /* Callbacks run by the read may have closed the link or lost the socket. */
    if (rc == MOSQ_ERR_SUCCESS && (events & UV_WRITABLE) && !conn->link->closing &&
        mosquitto_socket(conn->mosq) >= 0) {
        rc = mosquitto_loop_write(conn->mosq, 1);
        err = errno;
    }
    conn->depth--;
    conn_after_loop(conn, rc, err);
}

static void link_tick(struct fw_mqtt_link *link)
{
    struct fw_mqtt_conn *conn = link->conn;
    /*
     * Besides PINGREQ, loop_misc also closes a client whose CONNACK has not arrived within the
     * keepalive interval (that covers a TCP connect that hangs), so it is our connect timeout.
     */
    conn->depth++;
    int rc = mosquitto_loop_misc(conn->mosq);
    int err = errno;
    conn->depth--;
    conn_after_loop(conn, rc, err);
}

/* libmosquitto callbacks. They run inside mosquitto_loop_*() on the loop thread. */

static void on_mosq_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct fw_mqtt_conn *conn = obj;
    struct fw_mqtt_link *link = conn->link;
    if (conn->gone || link->closing)
        return;
    if (rc != 0) {
        /* loop_read returns MOSQ_ERR_CONN_REFUSED next; keep the broker's reason for the log. */
        conn->connack_rc = rc;
        return;
    }
    conn->acked = 1;
    /*
     * Inside a callback libmosquitto only queues packets; they go out in this order once the
     * read returns and the poll asks for writability: subscriptions, "online", then whatever
     * on_state publishes.
     */
    for (size_t i = 0; i < link->nsubs; i++) {
        struct fw_mqtt_sub *sub = &link->subs[i];
        int src = mosquitto_subscribe(mosq, &sub->mid, sub->topic, sub->qos);
        if (src != MOSQ_ERR_SUCCESS)
            FW_LOG(FW_LOG_WARNING, "mqtt: %s: subscribe \"%s\": %s", link_where(link), sub->topic,
                   mosquitto_strerror(src));
    }
    if (link->status_topic) {
        int src = mosquitto_publish(mosq, &conn->status_mid, link->status_topic,
                                    (int)strlen(status_online), status_online, 1, true);
        if (src != MOSQ_ERR_SUCCESS)
            FW_LOG(FW_LOG_WARNING, "mqtt: %s: publish \"%s\": %s", link_where(link),
                   link->status_topic, mosquitto_strerror(src));
    }
    conn->lib_error[0] = '\0'; /* anything logged before CONNACK is no reason for a later loss */
    FW_LOG(FW_LOG_NOTICE, "mqtt: %s: connected", link_where(link));
    link->connected = 1;
    link->fail_streak = 0;
    link->backoff_ms = 0;
    link->last_reason[0] = '\0';
    if (link->on_state)
        link->on_state(link, 1, link->arg);
}

static void on_mosq_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    struct fw_mqtt_conn *conn = obj;
    /*
     * Only remember why: the loss is handled by conn_after_loop once the loop call returns,
     * where the client may be released without libmosquitto still being on the stack.
     */
    conn->disc_rc = rc;
}

static void on_mosq_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    (void)mosq;
    struct fw_mqtt_conn *conn = obj;
    struct fw_mqtt_link *link = conn->link;
    if (conn->gone || link->closing || !conn->acked || !link->on_message)
        return;
    link->on_message(link, m->topic, m->payload, (size_t)(m->payloadlen > 0 ? m->payloadlen : 0),
                     link->arg);
}

static void on_mosq_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    struct fw_mqtt_conn *conn = obj;
    struct fw_mqtt_link *link = conn->link;
    if (link->closing && conn->offline_mid && mid == conn->offline_mid)
        conn->offline_acked = 1; /* conn_after_loop completes the close */
    if (conn->gone || link->closing || !link->on_published)
        return;
    if (conn->status_mid && mid == conn->status_mid)
        return; /* our own "online" */
    if (link->api_depth > 0)
        defer_published(link, mid);
    else
        link->on_published(link, mid, link->arg);
}

static void on_mosq_subscribe(struct mosquitto *mosq, void *obj, int mid, int count,
                              const int *granted)
{
    (void)mosq;
    struct fw_mqtt_conn *conn = obj;
    struct fw_mqtt_link *link = conn->link;
    if (conn->gone || link->closing)
        return;
    for (int i = 0; i < count; i++) {
        if (granted[i] < 0x80)
            continue;
        /* MQTT 3.1.1 SUBACK 0x80: the broker refused the filter (usually an ACL). */
        const char *topic = "?";
        for (size_t j = 0; j < link->nsubs; j++)
            if (link->subs[j].mid == mid)
                topic = link->subs[j].topic;
        FW_LOG(FW_LOG_WARNING, "mqtt: %s: subscribe \"%s\": refused by broker", link_where(link),
               topic);
    }
}

/*
 * libmosquitto's log. Only error lines matter: they carry OpenSSL's reasons, which the loop
 * calls do not return. They go to the debug log as they come; the first one of an attempt
 * becomes part of its failure message (conn_failure).
 */
static void on_mosq_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
    (void)mosq;
    struct fw_mqtt_conn *conn = obj;
    if (level != MOSQ_LOG_ERR || !str || conn->gone)
        return;
    FW_LOG(FW_LOG_DEBUG, "mqtt: %s: libmosquitto: %s", link_where(conn->link), str);
    if (!conn->lib_error[0])
        fw_strlcpy(conn->lib_error, str, sizeof(conn->lib_error));
}

/* ------------------------------------------------------------------------------------------ */
/* TLS                                                                                         */
/* ------------------------------------------------------------------------------------------ */

/*
 * Records why OpenSSL rejected the server's certificate. The context belongs to one attempt, so
 * its app data leads back to that attempt.
 */
static int on_tls_verify(int ok, X509_STORE_CTX *store)
{
    if (ok)
        return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct fw_mqtt_conn *conn = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
    if (conn && !conn->tls_verify[0])
        fw_strlcpy(conn->tls_verify, X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)),
                   sizeof(conn->tls_verify));
    return ok;
}

/*
 * Records the first fatal alert the broker sends. With TLS 1.3 the client's side of the
 * handshake is over before the broker has checked our certificate, so a refusal ("certificate
 * required", "unknown CA") arrives as an alert on a later read, which libmosquitto reports
 * only as EPROTO.
 */
static void on_tls_info(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_READ_ALERT) || strcmp(SSL_alert_type_string(ret), "F") != 0)
        return;
    struct fw_mqtt_conn *conn = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    if (conn && !conn->tls_alert[0])
        fw_strlcpy(conn->tls_alert, SSL_alert_desc_string_long(ret), sizeof(conn->tls_alert));
}

/* An encrypted key would make OpenSSL prompt on the terminal: refuse it instead. */
static int on_tls_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return -1;
}

/*
 * `TLS: ca_file "/etc/x.pem": no certificate or crl found` into conn->why, with the reason
 * from OpenSSL's error queue; `file` may be NULL.
 */
static const char *tls_error(struct fw_mqtt_conn *conn, const char *what, const char *file)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    if (!reason)
        reason = "failed";
    if (file)
        snprintf(conn->why, sizeof(conn->why), "TLS: %s \"%s\": %s", what, file, reason);
    else
        snprintf(conn->why, sizeof(conn->why), "TLS: %s: %s", what, reason);
    ERR_clear_error();
    return conn->why;
}

/*
 * Build the OpenSSL context of one attempt: TLS 1.2 or later, the server verified against the
 * CA file and its certificate required to name tls_server_name (or host) as a DNS name or an IP
 * address, and our client certificate if configured. mosquitto_tls_set() would verify the name
 * against the host connected to, with no way to name another one; libmosquitto uses a context
 * given as MOSQ_OPT_SSL_CTX as it is (taking its own reference). Built anew for every attempt,
 * so renewed files are read at the next reconnect. Returns NULL, or the reason in conn->why.
 */
static const char *link_tls_context(struct fw_mqtt_conn *conn)
{
    struct fw_mqtt_link *link = conn->link;
    const char *name = link->tls_server_name ? link->tls_server_name : link->hosts[link->cur];
    const char *why = NULL;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return tls_error(conn, "new context", NULL);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_default_passwd_cb(ctx, on_tls_passphrase);
    if (SSL_CTX_load_verify_locations(ctx, link->tls_ca_file, NULL) != 1) {
        why = tls_error(conn, "ca_file", link->tls_ca_file);
        goto fail;
    }
    if (link->tls_cert_file) {
        if (SSL_CTX_use_certificate_chain_file(ctx, link->tls_cert_file) != 1) {
            why = tls_error(conn, "cert_file", link->tls_cert_file);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, link->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            why = tls_error(conn, "key_file", link->tls_key_file);
            goto fail;
        }
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_tls_verify);
    SSL_CTX_set_info_callback(ctx, on_tls_info);
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    /* An address must be in the certificate as an IP address, a name as a DNS name. */
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1 &&
        X509_VERIFY_PARAM_set1_host(param, name, 0) != 1) {
        why = tls_error(conn, "server name", name);
        goto fail;
    }
    SSL_CTX_set_app_data(ctx, conn);
    /*
     * Without its defaults: 2.0.11 starts with them on, and would then want mosquitto_tls_set()
     * and install its own verify callback, which checks the name against the host.
     */
    int rc = mosquitto_int_option(conn->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_void_option(conn->mosq, MOSQ_OPT_SSL_CTX, ctx);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(conn->why, sizeof(conn->why), "TLS: %s", mosquitto_strerror(rc));
        why = conn->why;
    }
fail:
    SSL_CTX_free(ctx); /* libmosquitto holds its own reference */
    ERR_clear_error();
    return why;
}

/* Start one connection attempt with a fresh client. Failures are reported via conn_failed. */
static void link_connect(struct fw_mqtt_link *link)
{
    struct fw_mqtt_conn *conn = fw_xcalloc(1, sizeof(*conn));
    conn->link = link;
    /*
     * A fresh client each attempt: whatever libmosquitto held of the last connection is gone, and
     * the caller resends from its own queue. With a persistent session the broker still holds
     * ours, so readings queued for it while we were away arrive after the CONNACK.
     */
    conn->mosq = mosquitto_new(link->client_id, link->clean_session != 0, conn);
    if (!conn->mosq) {
        /* Only ENOMEM is possible here: the id was validated in fw_mqtt_link_new. */
        FW_LOG(FW_LOG_ERR, "mqtt: %s: create client: %s", link_where(link), strerror(errno));
        free(conn);
        link->backoff_ms = fw_mqtt__backoff_next(link->backoff_ms, link->reconnect_min_ms,
                                                 link->reconnect_max_ms, link_random(link));
        uv_timer_start(&link->timer, on_link_timer, (uint64_t)link->backoff_ms, 0);
        return;
    }
    link->conn = conn;
    struct mosquitto *mosq = conn->mosq;
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    /* Telemetry is many small packets; Nagle would only delay them. */
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(mosq, on_mosq_connect);
    mosquitto_disconnect_callback_set(mosq, on_mosq_disconnect);
    mosquitto_message_callback_set(mosq, on_mosq_message);
    mosquitto_publish_callback_set(mosq, on_mosq_publish);
    mosquitto_subscribe_callback_set(mosq, on_mosq_subscribe);
    mosquitto_log_callback_set(mosq, on_mosq_log);

    if (link->tls_ca_file) {
        const char *why = link_tls_context(conn);
        if (why) {
            conn_failed(conn, why);
            return;
        }
    }

    int rc = MOSQ_ERR_SUCCESS;
    if (link->username)
        rc = mosquitto_username_pw_set(mosq, link->username, link->password);
    /* The will is part of CONNECT, so it is set on every fresh client. */
    if (rc == MOSQ_ERR_SUCCESS && link->status_topic)
        rc = mosquitto_will_set(mosq, link->status_topic, (int)strlen(status_offline),
                                status_offline, 1, true);
    if (rc != MOSQ_ERR_SUCCESS) {
        conn_failed(conn, mosquitto_strerror(rc));
        return;
    }

    /*
     * connect_async starts a non-blocking TCP connect and queues CONNECT, so want_write stays
     * true until the handshake completes and the writable poll flushes it. libmosquitto's docs
     * say connect_async needs loop_start; with 2.0.11 that is not so for loop_read/loop_write
     * (checked against a real broker, including a connect left pending by a full backlog).
     * Name resolution inside it is still a blocking getaddrinfo(): use addresses or a local
     * resolver for brokers that must never stall the loop.
     */
    errno = 0;
    rc = mosquitto_connect_async(mosq, link->hosts[link->cur], link->ports[link->cur],
                                 link->keepalive_s);
    int err = errno;
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq) < 0) {
        conn_failed(conn, conn_failure(conn, rc, err));
        return;
    }
    int urc = uv_poll_init_socket(link->loop, &conn->poll, mosquitto_socket(mosq));
    if (urc != 0) {
        conn_failed(conn, uv_strerror(urc));
        return;
    }
    conn->poll.data = conn;
    conn->has_poll = 1;
    link->open_handles++;
    conn_update_poll(conn);
    uv_timer_start(&link->timer, on_link_timer, FW_MQTT_TICK_MS, FW_MQTT_TICK_MS);
}

static void on_link_timer(uv_timer_t *timer)
{
    struct fw_mqtt_link *link = timer->data;
    if (link->closing) {
        /* The PUBACK of "offline" did not come in time: disconnect anyway. */
        FW_LOG(FW_LOG_DEBUG, "mqtt: %s: close: no PUBACK for \"offline\"", link_where(link));
        link_close_step(link, 1);
        return;
    }
    if (link->conn)
        link_tick(link);
    else
        link_connect(link);
}

/* ------------------------------------------------------------------------------------------ */
/* Public API                                                                                  */
/* ------------------------------------------------------------------------------------------ */

void fw_mqtt_lib_init(void)
{
    mosquitto_lib_init();
}

void fw_mqtt_lib_cleanup(void)
{
    mosquitto_lib_cleanup();
}

static int valid_string(const char *s)
{
    return s && *s && strlen(s) <= FW_MQTT_TOPIC_MAX &&
           mosquitto_validate_utf8(s, (int)strlen(s)) == MOSQ_ERR_SUCCESS;
}

int fw_mqtt_link_new(uv_loop_t *loop, const struct fw_mqtt_link_opts *opts,
                     struct fw_mqtt_link **out)
{
    FW_ASSERT(loop && opts && out);
    *out = NULL;
    if (!opts->name || !valid_string(opts->client_id) || opts->nnodes > FW_MQTT_MAX_NODES ||
        (opts->nnodes && !opts->nodes))
        return -EINVAL;
    for (size_t i = 0; i < (opts->nnodes ? opts->nnodes : 1); i++) {
        const char *host = opts->nnodes ? opts->nodes[i].host : opts->host;
        int port = opts->nnodes ? opts->nodes[i].port : opts->port;
        if (!valid_string(host) || port < 1 || port > 65535)
            return -EINVAL;
    }
    if (opts->keepalive_s < 5 || opts->keepalive_s > 3600)
        return -EINVAL;
    if (opts->reconnect_min_ms < 1 || opts->reconnect_max_ms < opts->reconnect_min_ms ||
        opts->reconnect_max_ms > FW_MQTT_BACKOFF_CAP_MS)
        return -EINVAL;
    if (opts->username ? !valid_string(opts->username) : opts->password != NULL)
        return -EINVAL; /* MQTT 3.1.1 forbids a password without a user name */
    if (opts->status_topic && (!valid_string(opts->status_topic) ||
                               mosquitto_pub_topic_check(opts->status_topic) != MOSQ_ERR_SUCCESS))
        return -EINVAL;
    if (!opts->tls_ca_file && (opts->tls_cert_file || opts->tls_key_file || opts->tls_server_name))
        return -EINVAL;
    if (opts->tls_ca_file && (!*opts->tls_ca_file || !opts->tls_cert_file != !opts->tls_key_file ||
                              (opts->tls_server_name && !valid_string(opts->tls_server_name))))
        return -EINVAL;

    struct fw_mqtt_link *link = fw_xcalloc(1, sizeof(*link));
    link->loop = loop;
    link->name = fw_xstrdup(opts->name);
    link->client_id = fw_xstrdup(opts->client_id);
    link->username = fw_xstrdup(opts->username);
    link->password = fw_xstrdup(opts->password);
    link->tls_ca_file = fw_xstrdup(opts->tls_ca_file);
    link->tls_cert_file = fw_xstrdup(opts->tls_cert_file);
    link->tls_key_file = fw_xstrdup(opts->tls_key_file);
    link->tls_server_name = fw_xstrdup(opts->tls_server_name);
    link->status_topic = fw_xstrdup(opts->status_topic);
    link->nnodes = opts->nnodes ? opts->nnodes : 1;
    for (size_t i = 0; i < link->nnodes; i++) {
        const char *host = opts->nnodes ? opts->nodes[i].host : opts->host;
        int port = opts->nnodes ? opts->nodes[i].port : opts->port;
        link->hosts[i] = fw_xstrdup(host);
        link->ports[i] = port;
        /* Bracket IPv6 literals so the port stays readable in log lines; a cluster's node
         * says which of them it is. */
        char node[48] = ""; /* room for any two size_t: no truncation to reason about */
        if (link->nnodes > 1)
            snprintf(node, sizeof(node), " node %zu/%zu", i + 1, link->nnodes);
        link->wheres[i] =
            fw_xasprintf(strchr(host, ':') ? "broker \"%s\"%s [%s]:%d" : "broker \"%s\"%s %s:%d",
                         opts->name, node, host, port);
    }
    link->cur = 0;
    link->keepalive_s = opts->keepalive_s;
    link->clean_session = opts->clean_session != 0;
    link->reconnect_min_ms = opts->reconnect_min_ms;
    link->reconnect_max_ms = opts->reconnect_max_ms;
    link->on_message = opts->on_message;
    link->on_published = opts->on_published;
    link->on_state = opts->on_state;
    link->arg = opts->arg;
    link->rng = (uint32_t)(uv_hrtime() ^ fw_hash64(opts->client_id, strlen(opts->client_id), 0));
    if (link->rng == 0)
        link->rng = 0x9e3779b9u; /* xorshift must not start at zero */

    /* uv_timer_init cannot fail on Unix: it only fills in the struct. */
    int rc = uv_timer_init(loop, &link->timer);
    FW_ASSERT(rc == 0);
    rc = uv_timer_init(loop, &link->kick);
    FW_ASSERT(rc == 0);
    link->timer.data = link;
    link->kick.data = link;
    link->open_handles = 2;

    /* First attempt from the loop, so the caller can subscribe before anything is sent. */
    uv_timer_start(&link->timer, on_link_timer, 0, 0);
    *out = link;
    return 0;
}

int fw_mqtt_subscribe(struct fw_mqtt_link *link, const char *topic, int qos)
{
    FW_ASSERT(link);
    if (!valid_string(topic) || qos < 0 || qos > 2 ||
        mosquitto_sub_topic_check(topic) != MOSQ_ERR_SUCCESS)
        return -EINVAL;
    if (link->closing)
        return 0;

    struct fw_mqtt_sub *sub = NULL;
    for (size_t i = 0; i < link->nsubs; i++)
        if (strcmp(link->subs[i].topic, topic) == 0)
            sub = &link->subs[i];
    if (!sub) {
        if (link->nsubs == link->subs_cap) {
            link->subs_cap = link->subs_cap ? link->subs_cap * 2 : 4;
            link->subs = fw_xrealloc(link->subs, link->subs_cap * sizeof(*link->subs));
        }
        sub = &link->subs[link->nsubs++];
        sub->topic = fw_xstrdup(topic);
        sub->mid = 0;
    }
    sub->qos = qos;

    struct fw_mqtt_conn *conn = link->conn;
    if (!link->connected || !conn)
        return 0; /* sent on the next CONNACK */
    link->api_depth++;
    int rc = mosquitto_subscribe(conn->mosq, &sub->mid, sub->topic, qos);
    link->api_depth--;
    if (rc != MOSQ_ERR_SUCCESS)
        /* The connection is failing; the loop notices, and the next CONNACK resubscribes. */
        FW_LOG(FW_LOG_DEBUG, "mqtt: %s: subscribe \"%s\": %s", link_where(link), topic,
               mosquitto_strerror(rc));
    if (conn->depth == 0)
        conn_update_poll(conn);
    return 0;
}

int fw_mqtt_publish(struct fw_mqtt_link *link, const char *topic, const void *payload, size_t len,
                    int qos, int retain, int *mid)
{
    FW_ASSERT(link);
    if (!topic || qos < 0 || qos > 2 || (len > 0 && !payload))
        return -EINVAL;
    if (len > INT_MAX)
        return -E2BIG;
    struct fw_mqtt_conn *conn = link->conn;
    if (link->closing || !link->connected || !conn)
        return -ENOTCONN;

    int m = 0;
    link->api_depth++;
    errno = 0;
    int rc = mosquitto_publish(conn->mosq, &m, topic, (int)len, payload, qos, retain != 0);
    int err = errno;
    link->api_depth--;
    /*
     * Outside callbacks libmosquitto writes at once but may leave a tail queued; inside them it
     * only queues, and the loop call we are nested in updates the poll when it returns.
     */
    if (conn->depth == 0)
        conn_update_poll(conn);
    if (rc != MOSQ_ERR_SUCCESS)
        return mosq_to_errno(rc, err);
    if (mid)
        *mid = m;
    return 0;
}

int fw_mqtt_publish_error_permanent(int rc)
{
    /*
     * Decided from what libmosquitto can return: bad UTF-8, a wildcard or an oversize payload is
     * refused before anything is written, whatever the connection. Everything else a write
     * into a socket the broker has just closed gives (EPIPE, ECONNRESET), a lost or missing
     * connection, memory, a protocol error, and a QoS this broker does not offer, are about the
     * connection or the moment, and the same message goes through later.
     */
    return rc == -EINVAL || rc == -E2BIG;
}

int fw_mqtt_link_connected(const struct fw_mqtt_link *link)
{
    return link && link->connected && !link->closing;
}

const char *fw_mqtt_link_name(const struct fw_mqtt_link *link)
{
    return link->name;
}

/*
 * Last part of a close, run where no libmosquitto call is on the stack: disconnect, release the
 * client, close the timers. Runs once.
 */
static void link_close_finish(struct fw_mqtt_link *link)
{
    if (link->finished)
        return;
    link->finished = 1;
    struct fw_mqtt_conn *conn = link->conn;
    if (conn) {
        /*
         * Stop polling before libmosquitto writes DISCONNECT: it closes the socket right after
         * writing it, and libuv must not poll a closed descriptor.
         */
        if (conn->has_poll) {
            uv_poll_stop(&conn->poll);
            conn->poll_events = 0;
        }
        if (conn->acked && mosquitto_socket(conn->mosq) >= 0) {
            mosquitto_disconnect(conn->mosq);
            /*
             * Written at once unless the socket buffer is full. Give a stuck tail two
             * non-blocking chances; if it still does not go, the broker sees the socket close
             * without DISCONNECT and publishes the will, which is "offline" too.
             */
            for (int i = 0;
                 i < 2 && mosquitto_socket(conn->mosq) >= 0 && mosquitto_want_write(conn->mosq);
                 i++)
                mosquitto_loop_write(conn->mosq, 1);
        }
        conn_release(conn);
    }
    link->connected = 0;
    FW_FREE(link->deferred_mids);
    link->ndeferred = link->deferred_cap = 0;
    uv_timer_stop(&link->timer);
    uv_timer_stop(&link->kick);
    uv_close((uv_handle_t *)&link->timer, on_timer_close);
    uv_close((uv_handle_t *)&link->kick, on_timer_close);
}

/*
 * Advance a close; called when it is requested and after every loop call while it waits.
 *
 * A clean DISCONNECT suppresses the will, so a connected link publishes "offline" itself, and
 * waits (at most FW_MQTT_CLOSE_WAIT_MS, without blocking) for its PUBACK before disconnecting.
 * Sending DISCONNECT and closing right behind the PUBLISH is not enough: mosquitto 2.0.11,
 * writing its PUBACK (or a message for our own subscriptions) to the already-closed socket,
 * fails and drops the client before reading DISCONNECT, so the will fires as a second
 * "offline". Waiting for the PUBACK means the broker has stored "offline" and has nothing
 * further to write to us.
 */
static void link_close_step(struct fw_mqtt_link *link, int conn_broken)
{
    if (link->finished)
        return;
    struct fw_mqtt_conn *conn = link->conn;
    if (!link->close_started) {
        link->close_started = 1;
        if (conn && conn->acked && !conn_broken && link->status_topic &&
            mosquitto_publish(conn->mosq, &conn->offline_mid, link->status_topic,
                              (int)strlen(status_offline), status_offline, 1,
                              true) == MOSQ_ERR_SUCCESS) {
            conn_update_poll(conn);
            uv_timer_start(&link->timer, on_link_timer, FW_MQTT_CLOSE_WAIT_MS, 0);
            return;
        }
        link_close_finish(link);
        return;
    }
    if (!conn || conn_broken || conn->offline_acked)
        link_close_finish(link);
    else
        conn_update_poll(conn);
}

void fw_mqtt_link_close(struct fw_mqtt_link *link, fw_mqtt_close_cb close_cb, void *arg)
{
    if (!link)
        return;
    FW_ASSERT(!link->closing); /* a second close would never run its close_cb */
    link->closing = 1;
    link->close_cb = close_cb;
    link->close_arg = arg;
    FW_LOG(FW_LOG_INFO, "mqtt: %s: closing", link_where(link));
    /*
     * Called from a callback nested in mosquitto_loop_*(): the client must not be driven or
     * released under libmosquitto's feet; conn_after_loop advances the close on the way out.
     */
    if (link->conn && link->conn->depth > 0)
        return;
    link_close_step(link, 0);
}
