/* SPDX-License-Identifier: MIT */
/*
 * What happens to the engine's notifications before they are messages: the alert
 * post-processing. An alert's text gets the pest context of its zone (the {pest...}
 * placeholders); a new alert for a route that groups them (route.group_window_ms) waits for its
 * zone's window and goes out with the others of the window as one group message; an alert first
 * announced inside a group message names that message in its later messages' CAP <references>;
 * everything is rendered in its route's format (fw_render_route).
 *
 * The module is pure: no I/O, no clock. The time `now_ms` of each call (the core's time, which
 * the driver also records) is what messages are rendered with and what group windows run on, so
 * that a replay of the recorded calls releases the same groups at the same times (docs/replay.md).
 * A driver whose clock steps releases the held groups at once (fw_dispatch_flush with INT64_MAX)
 * rather than hold them for the step. Its outputs are actions: the rendered messages in the order
 * they are to be committed, and the lines the driver is to log.
 *
 * All calls for one dispatcher come from one thread (the daemon's loop thread).
 */
#ifndef FORESTWATCH_DISPATCH_H
#define FORESTWATCH_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/alerts.h"
#include "forestwatch/config.h"

struct fw_dispatch;
struct fw_engine;
struct fw_pests;

/** One rendered message for one route. The strings are copies: the alert may be gone. */
struct fw_dispatch_msg {
    size_t route;                   /* index into the config's routes */
    int priority;                   /* the rule's severity; a group's: its highest */
    int resolved;                   /* the alert resolved (else it fires) */
    char alert_id[FW_ALERT_MAX_ID]; /* a group message: its first alert's */
    char rule[FW_CONFIG_MAX_ID + 1];
    char zone[FW_READING_MAX_ID];
    char *body; /* the message, NUL-terminated; owned by the output */
};

/**
 * One line for the log: `head`, then the text of the negative error code `rc` and `tail` when
 * `rc` is nonzero (the driver words the code as it words every other), else `head` alone.
 */
struct fw_dispatch_note {
    int level; /* enum fw_log_level */
    int rc;
    char head[1024], tail[96]; /* as long as a log line (log.c) */
};

/** The actions of one call; zero-initialise, empty with fw_dispatch_out_clear(). */
struct fw_dispatch_out {
    struct fw_dispatch_msg *msg;
    size_t nmsg, capmsg;
    struct fw_dispatch_note *note;
    size_t nnote, capnote;
};

/** Free the messages' bodies and forget everything (keeps the memory for reuse). */
void fw_dispatch_out_clear(struct fw_dispatch_out *o);

/** Release the memory. */
void fw_dispatch_out_free(struct fw_dispatch_out *o);

/** A dispatcher with no group held and no alert announced. */
struct fw_dispatch *fw_dispatch_new(void);

/** Release a dispatcher and what it holds (held groups are dropped: flush them first). */
void fw_dispatch_free(struct fw_dispatch *x);

/**
 * Handle the engine's notifications `a` (of config `cfg`) at time `now_ms`. Each alert first gets
 * its zone's pest context from `pests` (may be NULL), in place. New alerts for a grouping route are
 * held; anything else for a route first releases that route's held groups, so a route's messages
 * keep their order. Appends to `out`.
 */
void fw_dispatch_notifications(struct fw_dispatch *x, const struct fw_config *cfg,
                               const struct fw_pests *pests, struct fw_actions *a, int64_t now_ms,
                               struct fw_dispatch_out *out);

/**
 * Release the held groups whose window closed by `upto_ms` (INT64_MAX: all of them, as before a
 * reload, at shutdown or after a clock step, while `cfg` is still the config they were held
 * under), rendered at time `now_ms`. Appends to `out`.
 */
void fw_dispatch_flush(struct fw_dispatch *x, const struct fw_config *cfg, int64_t upto_ms,
                       int64_t now_ms, struct fw_dispatch_out *out);

/** When the earliest held group's window closes (the calls' time, ms), or 0 when none is held. */
int64_t fw_dispatch_next_deadline(const struct fw_dispatch *x);

/** The pest stage of alert `a`'s zone, for the {pest...} placeholders (docs/pests.md). */
void fw_dispatch_pest_context(const struct fw_pests *pests, struct fw_alert *a);

/**
 * The retained state message of zone `zi` of `cfg` at `now_ms`, from engine `e`:
 * {"zone", "name", "level", "open_alerts": [{"id", "rule", "node", "since", "acknowledged_by"}],
 * "updated"}. `*hash` is a hash of the message without "updated", which changes every time, so
 * that a driver publishes only what changed. Returns the JSON; it belongs to the caller (free()).
 */
char *fw_dispatch_zone_state(const struct fw_config *cfg, const struct fw_engine *e, size_t zi,
                             int64_t now_ms, uint64_t *hash);

#endif
