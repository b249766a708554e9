/* SPDX-License-Identifier: MIT */
/*
 * One MQTT link per configured broker, driven by the daemon's libuv loop: a uv_poll_t on the
 * client socket for reads and writes, and a timer for libmosquitto's housekeeping (keepalive)
 * and for reconnecting. libmosquitto's own thread is never started.
 *
 * A link speaks plain MQTT or MQTT over TLS (server certificate and name always verified, client
 * certificate optional). It reconnects by itself with capped exponential backoff and jitter; a
 * failed TLS handshake is a failed attempt like any other, logged with OpenSSL's reason. It
 * subscribes again to every topic registered with fw_mqtt_subscribe() after each connect, and,
 * when a status topic is set, publishes a retained "online" on connect and leaves a retained
 * "offline" last will.
 * The link does not parse payloads and keeps no queue of its own: the caller decides what to
 * resend after a reconnect (see the published and connected callbacks).
 */
#ifndef FORESTWATCH_MQTT_H
#define FORESTWATCH_MQTT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct fw_mqtt_link;

#define FW_MQTT_MAX_NODES 16 /* nodes of one broker cluster */

/** A message arrived on a subscribed topic. `topic` and `payload` live for the call only. */
typedef void (*fw_mqtt_message_cb)(struct fw_mqtt_link *link, const char *topic,
                                   const void *payload, size_t len, void *arg);
/**
 * The broker acknowledged the QoS 1 publish `mid` (PUBACK; PUBCOMP for QoS 2), or a QoS 0
 * publish was written to the socket. Always called from the loop, never from inside
 * fw_mqtt_publish(), so the caller already holds the mid. Mids restart with every connection:
 * forget outstanding ones when on_state(0) arrives. Not called for the link's own status
 * messages.
 */
typedef void (*fw_mqtt_published_cb)(struct fw_mqtt_link *link, int mid, void *arg);
/**
 * The link's connection state changed: `connected` is 1 after CONNACK (subscriptions and the
 * "online" status are queued ahead of anything published from this callback), 0 when such a
 * connection was lost. Calls alternate 1, 0, 1, ...: attempts that fail before CONNACK
 * (refused, timed out) are logged but not reported. After a loss, every publish that was not
 * acknowledged is forgotten by the link; the caller resends it after the next 1.
 */
typedef void (*fw_mqtt_state_cb)(struct fw_mqtt_link *link, int connected, void *arg);
/** The link was closed by fw_mqtt_link_close() and its memory is about to be released. */
typedef void (*fw_mqtt_close_cb)(struct fw_mqtt_link *link, void *arg);

/** One node of a broker cluster. */
struct fw_mqtt_node {
    const char *host;
    int port; /* 1..65535 */
};

struct fw_mqtt_link_opts {
    const char *name; /* for log lines: the broker's name in the config */
    const char *host; /* name or address of the broker */
    int port;         /* 1..65535 */
    /*
     * A cluster: its nodes, tried in turn. After a failed attempt or a lost connection the next
     * attempt, after the backoff delay, goes to the next node (after the last, the first), so a
     * node that died is left for the others and a persistent session follows the link there.
     * nnodes 0: the one broker at host and port. FW_MQTT_MAX_NODES at most.
     */
    const struct fw_mqtt_node *nodes;
    size_t nnodes;
    const char *client_id; /* must be unique on the broker */
    const char *username;  /* NULL: no authentication */
    const char *password;  /* NULL: none; never written to the log */
    /*
     * TLS, when tls_ca_file is set: the server's certificate must chain to a CA of that file
     * and name tls_server_name (NULL: host) as a DNS name or IP address; neither check can be
     * turned off. The files are read at every connection attempt, so a renewed certificate is
     * picked up at the next reconnect, and a file that cannot be read fails that attempt.
     */
    const char *tls_ca_file;
    const char *tls_cert_file; /* client certificate (PEM chain) and its unencrypted key: */
    const char *tls_key_file;  /* both or neither */
    const char *tls_server_name;
    int keepalive_s;          /* MQTT keepalive, 5..3600 */
    int64_t reconnect_min_ms; /* first retry delay after a failure */
    int64_t reconnect_max_ms; /* cap of the exponential backoff */
    const char *status_topic; /* NULL: no status message and no last will */
    /*
     * 0: a persistent session (MQTT 3.1.1 clean session off): the broker keeps this client id's
     * subscriptions and queues the QoS 1 messages that match them while the link is away, and
     * hands them over after the next CONNACK, along with those it had sent and not had
     * acknowledged (a copy may come twice). 1: every connection starts afresh.
     */
    int clean_session;
    fw_mqtt_message_cb on_message;
    fw_mqtt_published_cb on_published;
    fw_mqtt_state_cb on_state;
    void *arg; /* passed to every callback */
};

/**
 * Create a link and start connecting at once (the first attempt is made from the loop, not in
 * this call). All strings in `opts` are copied. Returns 0 and the link in *out, or a negative
 * errno-style code (nothing is started then): -EINVAL for a missing host or client id, a port,
 * a node without host or port or more than FW_MQTT_MAX_NODES,
 * keepalive or backoff out of range (1 <= min <= max <= 24 h), a password without user name,
 * a status topic with wildcards, or TLS options without a CA file or with only one of the
 * certificate and its key. Loop thread only.
 */
int fw_mqtt_link_new(uv_loop_t *loop, const struct fw_mqtt_link_opts *opts,
                     struct fw_mqtt_link **out);

/**
 * Register a subscription: sent now if connected, and again after every reconnect. `topic` is
 * copied; registering a filter again only updates its qos. Returns 0 or -EINVAL (bad filter,
 * qos not 0..2). Does nothing once the link is closing.
 */
int fw_mqtt_subscribe(struct fw_mqtt_link *link, const char *topic, int qos);

/**
 * Publish now. Returns 0 and the message id in *mid (may be NULL), or a negative code:
 * - -EINVAL (a topic that is not valid UTF-8 or holds wildcards, a bad argument) and -E2BIG (a
 *   payload over MQTT's limit or over the maximum packet size the broker announced): the
 *   message itself can never be published on this link; fw_mqtt_publish_error_permanent() is
 *   true for exactly these;
 * - anything else concerns the connection or the moment, not the message: -ENOTCONN when the
 *   link is not connected or is closing, and what a write into a connection the broker has just
 *   closed gives (-EPIPE; -ENOTCONN when libmosquitto reads the reset as a lost connection),
 *   -ENOMEM, -EPROTO, -ENOTSUP (the broker does not take that QoS). Nothing is queued: the
 *   caller keeps the message and publishes it again later, after the next connect at the latest.
 * 0 means the message was handed to the connection: from inside a link callback it is sent when
 * the callback returns, and beyond 20 unacknowledged QoS 1/2 messages it waits for a PUBACK.
 */
int fw_mqtt_publish(struct fw_mqtt_link *link, const char *topic, const void *payload, size_t len,
                    int qos, int retain, int *mid);

/**
 * 1 when `rc`, an error of fw_mqtt_publish(), says the message can never be published (-EINVAL,
 * -E2BIG), so that keeping it would block everything behind it; 0 for every other code, which
 * says to keep the message for a later attempt.
 */
int fw_mqtt_publish_error_permanent(int rc);

/** 1 when the link has a live, acknowledged connection (CONNACK received), else 0. */
int fw_mqtt_link_connected(const struct fw_mqtt_link *link);

/** The name given in the options, for log lines. Valid while the link lives. */
const char *fw_mqtt_link_name(const struct fw_mqtt_link *link);

/**
 * Close the link: when connected and a status topic is set, publish a retained "offline" first
 * (a clean shutdown does not trigger the will) and wait, without blocking and for at most a
 * second, for its PUBACK; then disconnect and close the timers and the poll handle. `close_cb`
 * (may be NULL) runs from the loop when every handle is closed; the link is freed right after
 * it returns. No other callback runs after this call. May be called from inside any of the
 * link's callbacks. Call it once (a second call is a programmer error); fw_mqtt_link_close(NULL,
 * ...) is a no-op.
 */
void fw_mqtt_link_close(struct fw_mqtt_link *link, fw_mqtt_close_cb close_cb, void *arg);

/** Call once at start-up and once at exit (libmosquitto's global init/cleanup). */
void fw_mqtt_lib_init(void);
void fw_mqtt_lib_cleanup(void);

/**
 * Next backoff delay: `min` when `prev` is 0 (first failure), else `prev` doubled, capped at
 * max; plus a jitter of floor(base / 4 * rnd / 2^32), so the result is in [base, base * 1.25].
 * Pure.
 */
int64_t fw_mqtt__backoff_next(int64_t prev_ms, int64_t min_ms, int64_t max_ms, uint32_t rnd);

#endif
