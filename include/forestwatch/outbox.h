/* SPDX-License-Identifier: MIT */
/*
 * The durable outbox (docs/outbox.md): every alert message is committed to an SQLite database
 * (WAL, fsync on commit) before any publish is tried, and deleted only when the route's broker
 * acknowledged it (QoS 1 PUBACK). A daemon crash or a power cut leaves it there, to be sent again
 * after the restart; delivery is at least once, and a copy is told from a new alert by its id.
 *
 * The outbox decides what to publish next: within a route strictly by sequence, except that when
 * several messages wait, the oldest message of the highest priority (the rule's severity) goes
 * first; publishes per route are paced (at most `rate` a second, bursts of `rate`), and at most
 * FW_OUTBOX_MAX_INFLIGHT messages per broker are published and not yet acknowledged. What is in
 * flight is known in memory only: after a restart every unacknowledged message goes again.
 *
 * The same database keeps the alert history for the duty officers' audit (every message queued,
 * when its broker acknowledged it, when and by whom the duty officers acknowledged the alert),
 * pruned by age. The module never reads the clock: times are passed in, in Unix milliseconds.
 * Loop thread only (one connection, no locking of its own); another process (the operator's
 * tool) may open the same file at the same time.
 */
#ifndef FORESTWATCH_OUTBOX_H
#define FORESTWATCH_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#define FW_OUTBOX_SCHEMA_VERSION 2  /* PRAGMA user_version of the database this code writes */
#define FW_OUTBOX_MAX_PAYLOAD 65536 /* bytes of one message; an alert renders to about 2 KiB */
#define FW_OUTBOX_MAX_NAME 128      /* bytes of a route, broker, rule, zone or kind, NUL incl. */
#define FW_OUTBOX_MAX_TOPIC 1024    /* bytes of a topic, NUL included */
#define FW_OUTBOX_MAX_KV (4 * 1024 * 1024) /* bytes of one key/value text, NUL excluded */
#define FW_OUTBOX_MAX_ALERT_ID 256         /* bytes of an alert id, NUL included */
#define FW_OUTBOX_MAX_PRIORITY 15      /* priorities are 0..15; the daemon uses enum fw_severity */
#define FW_OUTBOX_MAX_INFLIGHT 20      /* per broker: libmosquitto's own in-flight window */
#define FW_OUTBOX_MAX_RATE 1000        /* publishes per second per route, at most */
#define FW_OUTBOX_DEFAULT_RATE 10      /* publishes per second per route, until set otherwise */
#define FW_OUTBOX_KIND_FIRING "firing" /* the kinds the history views understand */
#define FW_OUTBOX_KIND_RESOLVED "resolved"

struct fw_outbox;

/* One message to queue. Every pointer is borrowed for the call. */
struct fw_outbox_msg {
    const char *route;  /* the route's name in the config */
    const char *broker; /* the broker it publishes to */
    const char *topic;
    const void *payload;
    size_t len; /* 0..FW_OUTBOX_MAX_PAYLOAD */
    int qos;    /* 0..2; the daemon uses 1 */
    /*
     * 0..FW_OUTBOX_MAX_PRIORITY, higher first when a backlog drains: the rule's severity. A
     * message never overtakes an earlier one of the same alert id on its route: its priority is
     * lowered to theirs when it would be higher (a reload that raised a rule's severity must not
     * send "resolved" before "firing").
     */
    int priority;
    int64_t created_ms;
    const char *alert_id; /* the message's alert id (the CAP identifier) */
    const char *kind;     /* FW_OUTBOX_KIND_FIRING, FW_OUTBOX_KIND_RESOLVED, or another word */
    const char *rule;     /* for the audit; "" when none */
    const char *zone;     /* for the audit; "" for a gateway-wide rule */
};

/* A queued message handed out by fw_outbox_next. */
struct fw_outbox_item {
    int64_t id; /* the sequence number: increasing, never reused */
    const char *route;
    const char *broker;
    const char *topic;
    const void *payload;
    size_t len;
    int qos;
    int priority;
    int attempts; /* publishes recorded by fw_outbox_sent so far, in any session */
    int64_t created_ms;
    const char *alert_id;
    const char *kind;
};

/**
 * Open (creating it when missing) the outbox database at `path`, in WAL mode, and create or check
 * its schema. Returns 0 and the outbox in *out, or a negative errno code and, when `err` is not
 * NULL, a message naming the file in *err (the caller frees it): -ENOTSUP for a database written
 * by a newer release (its PRAGMA user_version is above FW_OUTBOX_SCHEMA_VERSION; it is not
 * touched), -EINVAL for a file that is not an SQLite database or holds other tables, -EACCES,
 * -ENOENT (missing folder), -EIO, -ENOSPC. Rows left by an earlier run are pending again, none
 * in flight. Pacing starts at FW_OUTBOX_DEFAULT_RATE. Loop thread.
 */
int fw_outbox_open(const char *path, struct fw_outbox **out, char **err);

/** Close the database (a clean close checkpoints the WAL) and free the outbox. NULL is a no-op. */
void fw_outbox_close(struct fw_outbox *ob);

/**
 * The SQLite message behind the last failed call, for the log line of the caller that decides
 * what to do. Valid until the next call on `ob`.
 */
const char *fw_outbox_errmsg(const struct fw_outbox *ob);

/**
 * Queue `n` messages in one transaction, committed with an fsync of the WAL before this returns:
 * all of them or none. The ids go to ids[0..n-1] (`ids` may be NULL). Returns 0, -EINVAL (a
 * missing field, qos or priority out of range), -E2BIG (a payload, name, topic or id over its
 * cap), -ENOBUFS (a message would take its route past fw_outbox_set_max_queued; the errmsg names
 * the route), -ENOSPC (the disk or database is full: SQLITE_FULL), -EIO (SQLITE_IOERR), -EBUSY.
 * On an error nothing is queued and what was queued before is untouched; the outbox goes on
 * working.
 */
int fw_outbox_push(struct fw_outbox *ob, const struct fw_outbox_msg *msgs, size_t n, int64_t *ids);

/**
 * The next messages to publish on `broker`'s link at `now_ms`: at most `max`, and at most what
 * the broker's in-flight window leaves (FW_OUTBOX_MAX_INFLIGHT minus those in flight), none in
 * flight already, and per route no more than pacing allows now. Order: highest priority first,
 * then lowest id; publish them in this order. *items points to *n items owned by the outbox,
 * valid until the next fw_outbox_next or fw_outbox_close. *wake_ms is the time at which pacing
 * lets more go (arm a timer for it), or 0 when nothing waits for pacing (then a push, a PUBACK
 * or a reconnect is what makes more go). Returns 0, or -EIO/-EBUSY/-ENOMEM from SQLite (*n is
 * 0 then).
 */
int fw_outbox_next(struct fw_outbox *ob, const char *broker, int64_t now_ms, size_t max,
                   const struct fw_outbox_item **items, size_t *n, int64_t *wake_ms);

/**
 * Record that message `id` was handed to the link at `now_ms` with message id `mid`: it is in
 * flight (fw_outbox_next skips it) until fw_outbox_ack, fw_outbox_link_lost or fw_outbox_drop,
 * and counts against its route's pacing. The attempt counter in the database is advisory: when
 * it cannot be written, the message is still in flight and 0 is returned (logged at debug).
 * Returns 0, -ENOENT when `id` is not queued, -EALREADY when it is in flight already.
 */
int fw_outbox_sent(struct fw_outbox *ob, int64_t id, int mid, int64_t now_ms);

/**
 * The broker acknowledged message `id` at `now_ms`: delete it and note the time in the history.
 * Returns 0 or -ENOENT when `id` is not queued. Should the deletion fail (-EIO, -ENOSPC), a
 * message in flight stays in the database but counts as delivered: it is not handed out again
 * in this session, and the deletion is retried by later calls (fw_outbox_next, fw_outbox_ack);
 * only a restart before that success publishes it once more. So the caller only logs a failure.
 */
int fw_outbox_ack(struct fw_outbox *ob, int64_t id, int64_t now_ms);

/**
 * As fw_outbox_ack, for the message in flight on `broker` with message id `mid`; its id goes to
 * *id (may be NULL). -ENOENT when no such message is in flight (a stale mid).
 */
int fw_outbox_ack_mid(struct fw_outbox *ob, const char *broker, int mid, int64_t now_ms,
                      int64_t *id);

/** `broker`'s connection was lost or closed: its messages in flight are pending again. */
void fw_outbox_link_lost(struct fw_outbox *ob, const char *broker);

/**
 * Give message `id` up for good (a publish failed for a reason a retry cannot fix: too big,
 * a bad topic): delete it and note `reason` in the history. Returns 0, -ENOENT, or as push.
 */
int fw_outbox_drop(struct fw_outbox *ob, int64_t id, int64_t now_ms, const char *reason);

/**
 * Give up every message for `broker` (removed by a reload), as fw_outbox_drop; their number
 * goes to *n (may be NULL). Returns 0 or as push.
 */
int fw_outbox_drop_broker(struct fw_outbox *ob, const char *broker, int64_t now_ms,
                          const char *reason, size_t *n);

/**
 * Give up, as fw_outbox_drop_broker, the messages of every broker not among brokers[0..n-1]
 * (the config's brokers: at start-up, for rows left by a run with another config, and after a
 * reload); their number goes to *n_dropped (may be NULL). Returns 0 or as push.
 */
int fw_outbox_keep_brokers(struct fw_outbox *ob, const char *const *brokers, size_t n,
                           int64_t now_ms, const char *reason, size_t *n_dropped);

/** Messages queued and not yet acknowledged (in flight or not) in *count. Returns 0 or -EIO. */
int fw_outbox_pending(struct fw_outbox *ob, size_t *count);

/** Call `cb` for every queued message, oldest first, with its id, route and payload (valid
 * during the call). Returns 0 or a negative errno code from SQLite. */
int fw_outbox_each_queued(struct fw_outbox *ob,
                          void (*cb)(void *arg, int64_t id, const char *route, const void *payload,
                                     size_t len),
                          void *arg);

/** Messages in flight on `broker`, or on every broker when `broker` is NULL. */
size_t fw_outbox_inflight(const struct fw_outbox *ob, const char *broker);

/**
 * Cap each route's queue at `per_route` undelivered messages (0, the default: no cap); a push
 * that would go past it fails with -ENOBUFS. Only rows not yet acknowledged count: a row whose
 * acknowledgement could not be written yet is deleted (retried) before a push is refused. A
 * lower cap after a reload keeps what is queued; it only refuses new messages until the route
 * drains below it. Nothing queued is ever given up for the cap.
 */
void fw_outbox_set_max_queued(struct fw_outbox *ob, size_t per_route);

/**
 * Set the pacing: at most `per_second` publishes per route in any second on average, in bursts
 * of at most `per_second` (0: unpaced). Returns 0 or -EINVAL outside 0..FW_OUTBOX_MAX_RATE.
 */
int fw_outbox_set_rate(struct fw_outbox *ob, int per_second);

/* ------------------------------------------------------------------------------------------ */
/* Alert history (the duty officers' audit)                                                    */
/* ------------------------------------------------------------------------------------------ */

/**
 * The duty officers acknowledged alert `alert_id` (`who`, at `when_ms`): noted on every message
 * of that alert. Returns 0, -ENOENT when the history has no message of that alert, -EALREADY
 * when it was acknowledged before (the first acknowledgement is kept), -E2BIG, or as push.
 */
int fw_outbox_set_acked(struct fw_outbox *ob, const char *alert_id, const char *who,
                        int64_t when_ms);

/**
 * Delete history older than `retention_days` (1..36500) before `now_ms`, except messages still
 * queued and the messages of alerts still open (fired, not resolved). The count goes to *removed
 * (may be NULL). Returns 0, -EINVAL, or as push.
 */
int fw_outbox_prune(struct fw_outbox *ob, int64_t now_ms, int retention_days, size_t *removed);

enum fw_outbox_view {
    FW_OUTBOX_RECENT,  /* every message since `since_ms`, newest first */
    FW_OUTBOX_OPEN,    /* alerts fired and not resolved: highest priority, then newest first */
    FW_OUTBOX_UNACKED, /* alerts fired since `since_ms` and not acknowledged by the duty officers,
                          open or resolved, newest first */
};

/* One history row. Strings live for the callback only. */
struct fw_outbox_entry {
    int64_t id; /* the message's sequence number */
    int64_t created_ms;
    const char *route;
    const char *broker;
    const char *topic;
    const char *alert_id;
    const char *rule;
    const char *zone;
    const char *kind;
    int priority;
    int attempts;         /* publishes, once delivered or given up; 0 while queued */
    int64_t delivered_ms; /* the broker's PUBACK; 0 while queued or when dropped */
    const char *dropped;  /* why it was given up, or NULL */
    int64_t acked_ms;     /* the duty officers' acknowledgement of the alert, 0: none */
    const char *acked_by; /* who acknowledged, or NULL */
};

/** Return non-zero to stop the listing; fw_outbox_history then returns that value. */
typedef int (*fw_outbox_entry_cb)(const struct fw_outbox_entry *e, void *arg);

/**
 * List history rows of `view` (for FW_OUTBOX_OPEN and FW_OUTBOX_UNACKED one row per alert: its
 * first "firing" message) created at or after `since_ms`, at most `limit` (0: no limit), through
 * `cb`. Returns 0, what `cb` returned to stop, or a negative errno code (-EINVAL for an unknown
 * view, -EIO, -EBUSY).
 */
int fw_outbox_history(struct fw_outbox *ob, enum fw_outbox_view view, int64_t since_ms,
                      size_t limit, fw_outbox_entry_cb cb, void *arg);

/* ------------------------------------------------------------------------------------------ */
/* Key/value texts: state that must survive a restart                                          */
/* ------------------------------------------------------------------------------------------ */

/**
 * Store `text` under `key` (replacing what was there) in one transaction. The commit does not
 * wait for an fsync (PRAGMA synchronous NORMAL): a power cut may lose the latest put, never leave
 * half of one. Returns 0, -EINVAL (an empty key), -E2BIG (a key of FW_OUTBOX_MAX_NAME bytes or
 * more, a text over FW_OUTBOX_MAX_KV), -ENOSPC, -EIO or -EBUSY. Loop thread.
 */
int fw_outbox_kv_put(struct fw_outbox *ob, const char *key, const char *text);

/**
 * Read the text stored under `key` into `*text` (the caller frees it), in one transaction.
 * Returns 0, -ENOENT when nothing is stored under `key` (`*text` is NULL then), -E2BIG (a key too
 * long), -EIO or -EBUSY. Loop thread.
 */
int fw_outbox_kv_get(struct fw_outbox *ob, const char *key, char **text);

/* ------------------------------------------------------------------------------------------ */
/* Pacing: pure functions, so that a fake clock can test them                                  */
/* ------------------------------------------------------------------------------------------ */

/*
 * One route's pacing state: the generic cell rate algorithm. A publish is allowed at `now` when
 * now >= tat - (rate - 1) * T, with T = 1 s / rate; each publish moves tat to max(tat, now) + T.
 * So a route idle for a second may send `rate` messages at once, and a backlog drains at one
 * message every T. Zero-initialised: no publish yet.
 */
struct fw_outbox_pacer {
    int64_t tat_us; /* theoretical arrival time of the next publish, microseconds */
};

/** The earliest time (ms, >= now_ms) at which the route may publish once more. Pure. */
int64_t fw_outbox_pace_when(const struct fw_outbox_pacer *p, int rate, int64_t now_ms);

/** Account for a publish at `now_ms`. `rate` 0 (unpaced) leaves the pacer unchanged. */
void fw_outbox_pace_sent(struct fw_outbox_pacer *p, int rate, int64_t now_ms);

#endif
