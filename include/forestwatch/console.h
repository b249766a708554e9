/* SPDX-License-Identifier: MIT */
/*
 * The duty room's console, as pure functions: what each route of the daemon's HTTP server
 * answers (docs/console.md), computed from the config, the engine and the gateway's counters
 * (stats.h) at a time passed in. No sockets and no clock: the HTTP glue (http.h) carries the
 * replies, so every route is tested without a server (tests/unit/test_console.c).
 *
 * Routes: "/" (the page), "/console.js", "/console.css" (embedded in the binary), "/metrics"
 * (Prometheus text), "/api/zones", "/api/alerts", "/api/devices", "/api/gateway", "/api/state"
 * (the four in one object) and "/api/events" (Server-Sent Events: a "state" event with
 * /api/state's object whenever it changed). Every other path is 404; methods other than GET and
 * HEAD are 405. Paths are matched whole, never mapped onto files.
 */
#ifndef FORESTWATCH_CONSOLE_H
#define FORESTWATCH_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/config.h"
#include "forestwatch/engine.h"
#include "forestwatch/stats.h"

/* What the console shows, borrowed for one call. */
struct fw_console_view {
    const struct fw_config *cfg;
    const struct fw_engine *engine;
    const struct fw_stats *stats;
    int64_t now_ms;
    int64_t loaded_ms;       /* when the config in force was loaded (UTC ms) */
    const char *last_reload; /* "ok", or why the last reload was rejected; NULL: none yet */
};

struct fw_console_reply {
    int status;       /* HTTP status */
    const char *type; /* Content-Type (static) */
    char *body;       /* owned by the reply (fw_console_reply_free); NULL for a static body */
    const char *data; /* the body: `body`, or static data */
    size_t len;
    int events; /* 1: /api/events; the HTTP glue opens a stream (fw_console_event) */
};

/** Answer `method` `path` (the path without the query) from `v` into `r`. Always fills `r`. */
void fw_console_handle(const struct fw_console_view *v, const char *method, const char *path,
                       struct fw_console_reply *r);

/** Release a reply's body. */
void fw_console_reply_free(struct fw_console_reply *r);

/**
 * /api/state's object as one Server-Sent Event ("event: state", "data: ..." and a blank line).
 * When `*hash` equals the hash of the state (its "now" aside), returns NULL: nothing changed.
 * Otherwise stores the new hash and returns the event (free()).
 */
char *fw_console_event(const struct fw_console_view *v, uint64_t *hash);

/* The JSON documents of the API, each owned by the caller (free()); docs/console.md. */
char *fw_console_zones_json(const struct fw_console_view *v);
char *fw_console_alerts_json(const struct fw_console_view *v);
char *fw_console_devices_json(const struct fw_console_view *v);
char *fw_console_gateway_json(const struct fw_console_view *v);
char *fw_console_state_json(const struct fw_console_view *v);

#endif
