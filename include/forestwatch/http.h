/* SPDX-License-Identifier: MIT */
/*
 * The daemon's HTTP server: libmicrohttpd driven by the libuv loop, for the console
 * (console.h). libmicrohttpd parses the requests and enforces the limits (a connection's memory,
 * its idle timeout, the number of connections); this module only joins its epoll descriptor to
 * the loop and carries the console's replies, including the Server-Sent Events streams, which
 * it keeps suspended while they have nothing to send. Nothing here blocks: every socket is
 * non-blocking and served when the loop says it is ready.
 *
 * All calls from the loop's thread.
 */
#ifndef FORESTWATCH_HTTP_H
#define FORESTWATCH_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "forestwatch/console.h"

struct fw_http;

/** A request: fill `r` (fw_console_handle); the server frees it with fw_console_reply_free. */
typedef void (*fw_http_request_cb)(void *arg, const char *method, const char *path,
                                   struct fw_console_reply *r);

struct fw_http_opts {
    const char *listen;           /* a numeric IPv4 or IPv6 address */
    int port;                     /* 1..65535 */
    unsigned timeout_s;           /* an idle (or slow) client's connection is closed after this */
    unsigned max_connections;     /* more are refused */
    size_t memory_per_connection; /* a request's headers must fit in this (else 431/414) */
    size_t max_event_backlog;     /* an events stream further behind than this is closed */
};

/**
 * Listen on `o->listen`:`o->port` and serve each request through `cb` on `loop`. Returns 0 and
 * the server in *out, or a negative errno-style code (-EINVAL: not a numeric address; else why
 * the socket could not be opened), with nothing started.
 */
int fw_http_start(uv_loop_t *loop, const struct fw_http_opts *o, fw_http_request_cb cb, void *arg,
                  struct fw_http **out);

/** Send `ev` (one complete Server-Sent Event) to every open events stream. */
void fw_http_broadcast(struct fw_http *h, const char *ev, size_t len);

/** The number of open events streams. */
size_t fw_http_streams(const struct fw_http *h);

/**
 * Stop: the events streams end, the connections close, and the server is freed once its
 * handles are closed. NULL is a no-op. `cb` is not called afterwards.
 */
void fw_http_close(struct fw_http *h);

#endif
