/* SPDX-License-Identifier: MIT */
/*
 * libmicrohttpd on the libuv loop (include/forestwatch/http.h). The daemon runs MHD with
 * MHD_USE_EPOLL and no thread of its own: MHD keeps its sockets in an epoll set whose
 * descriptor becomes readable when any of them is ready, so one uv_poll on that descriptor wakes
 * the loop for all of them, and MHD_run() then serves what is ready without blocking. MHD's own
 * deadlines (idle connections) come from MHD_get_timeout() and wait on a uv_timer.
 *
 * Server-Sent Events: a stream's response is a content-reader callback. With nothing to send
 * it suspends its connection (MHD would otherwise call it again at once, spinning); a broadcast
 * appends to each stream's buffer and resumes it. A suspended connection does not time out,
 * which is what a stream that waits for news needs; a stream that cannot keep up (its buffer
 * past max_event_backlog) is ended rather than let grow.
 */
#include "forestwatch/http.h"

#include "forestwatch/log.h"
#include "forestwatch/util.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stream {
    struct fw_http *h;
    struct MHD_Connection *conn;
    char *buf;
    size_t len, off, cap;
    int suspended;
    int overrun; /* fell too far behind: ended */
    struct stream *prev, *next;
};

struct fw_http {
    uv_loop_t *loop;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;
    uv_timer_t timer;
    int closing;
    int open_handles;
    size_t max_backlog;
    fw_http_request_cb cb;
    void *arg;
    struct stream *streams;
    size_t nstreams;
    int in_run; /* inside MHD_run: a resume waits for the run's end */
};

static void run(struct fw_http *h);

static void on_timer(uv_timer_t *t)
{
    run(FW_CONTAINER_OF(t, struct fw_http, timer));
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    run(FW_CONTAINER_OF(p, struct fw_http, poll));
}

/* Serve what is ready, then wait for MHD's next deadline, if it has one. */
static void run(struct fw_http *h)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (h->closing)
        return;
    h->in_run = 1;
    MHD_run(h->mhd);
    h->in_run = 0;
    if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
        uv_timer_start(&h->timer, on_timer, (uint64_t)ms, 0);
    else
        uv_timer_stop(&h->timer);
}

/* ---- Events streams -------------------------------------------------------------------------- */

static ssize_t on_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    (void)pos;
    if (s->overrun)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (s->h->closing)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->off < s->len) {
        size_t n = s->len - s->off < max ? s->len - s->off : max;
        memcpy(buf, s->buf + s->off, n);
        s->off += n;
        if (s->off == s->len)
            s->off = s->len = 0;
        return (ssize_t)n;
    }
    /* Nothing to send: wait, suspended, for fw_http_broadcast(). */
    MHD_suspend_connection(s->conn);
    s->suspended = 1;
    return 0;
}

static void on_stream_free(void *cls)
{
    struct stream *s = cls;
    if (s->prev)
        s->prev->next = s->next;
    else
        s->h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->h->nstreams--;
    free(s->buf);
    free(s);
}

static void stream_append(struct stream *s, const char *data, size_t len, size_t max)
{
    if (s->len - s->off + len > max) {
        s->overrun = 1;
        return;
    }
    if (s->off) { /* keep the unsent part at the start */
        memmove(s->buf, s->buf + s->off, s->len - s->off);
        s->len -= s->off;
        s->off = 0;
    }
    if (s->len + len > s->cap) {
        s->cap = s->len + len;
        s->buf = fw_xrealloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
}

static void resume_all(struct fw_http *h)
{
    for (struct stream *s = h->streams; s; s = s->next)
        if (s->suspended) {
            s->suspended = 0;
            MHD_resume_connection(s->conn);
        }
}

void fw_http_broadcast(struct fw_http *h, const char *ev, size_t len)
{
    if (!h || h->closing)
        return;
    for (struct stream *s = h->streams; s; s = s->next)
        stream_append(s, ev, len, h->max_backlog);
    resume_all(h);
    if (!h->in_run)
        run(h);
}

size_t fw_http_streams(const struct fw_http *h)
{
    return h ? h->nstreams : 0;
}

/* ---- Requests -------------------------------------------------------------------------------- */

static enum MHD_Result queue(struct MHD_Connection *conn, struct MHD_Response *resp, int status,
                             const char *type)
{
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    /* The page and its data are the gateway's own: no framing by other sites, no guessing of
     * types, no caching of live figures. */
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; style-src 'self'");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct fw_http *h = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    /* Answered at the first call, once the headers are in: the console takes no request body,
     * so a body is never read (MHD closes the connection after the reply). */
    struct fw_console_reply r;
    h->cb(h->arg, method, url, &r);
    struct MHD_Response *resp;
    if (r.events) {
        struct stream *s = fw_xcalloc(1, sizeof(*s));
        s->h = h;
        s->conn = conn;
        stream_append(s, r.data, r.len, h->max_backlog);
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, on_stream_read, s,
                                                 on_stream_free);
        if (!resp) {
            free(s->buf);
            free(s);
            fw_console_reply_free(&r);
            return MHD_NO;
        }
        s->next = h->streams;
        if (h->streams)
            h->streams->prev = s;
        h->streams = s;
        h->nstreams++;
    } else {
        resp = MHD_create_response_from_buffer(r.len, (void *)r.data, MHD_RESPMEM_MUST_COPY);
    }
    enum MHD_Result ret = queue(conn, resp, r.status, r.type);
    fw_console_reply_free(&r);
    return ret;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    FW_LOG(FW_LOG_INFO, "console: http: %s", line);
}

/* ---- Start and stop -------------------------------------------------------------------------- */

int fw_http_start(uv_loop_t *loop, const struct fw_http_opts *o, fw_http_request_cb cb, void *arg,
                  struct fw_http **out)
{
    struct sockaddr_storage sa;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (uv_ip4_addr(o->listen, o->port, (struct sockaddr_in *)&sa) != 0) {
        if (uv_ip6_addr(o->listen, o->port, (struct sockaddr_in6 *)&sa) != 0)
            return -EINVAL;
        flags |= MHD_USE_IPv6;
    }
    struct fw_http *h = fw_xcalloc(1, sizeof(*h));
    h->loop = loop;
    h->cb = cb;
    h->arg = arg;
    h->max_backlog = o->max_event_backlog;
    errno = 0;
    h->mhd = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, o->max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        o->memory_per_connection, MHD_OPTION_END);
    if (!h->mhd) {
        int rc = errno ? -errno : -EIO;
        free(h);
        return rc;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    int rc = info ? uv_poll_init(loop, &h->poll, info->epoll_fd) : -EIO;
    if (rc < 0) {
        MHD_stop_daemon(h->mhd);
        free(h);
        return rc;
    }
    uv_timer_init(loop, &h->timer);
    h->open_handles = 2;
    uv_poll_start(&h->poll, UV_READABLE, on_poll);
    run(h); /* MHD may have work already (none, today) and sets its first deadline */
    *out = h;
    return 0;
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct fw_http *h = handle->data;
    if (--h->open_handles > 0)
        return;
    /* The poll handle no longer watches MHD's epoll descriptor: MHD may close it now. */
    MHD_stop_daemon(h->mhd);
    free(h);
}

void fw_http_close(struct fw_http *h)
{
    if (!h)
        return;
    /* MHD must not be stopped with suspended connections: resume them, and let one last run
     * end the streams (their readers see `closing` and end). */
    h->closing = 1;
    resume_all(h);
    MHD_run(h->mhd);
    uv_poll_stop(&h->poll);
    uv_timer_stop(&h->timer);
    h->poll.data = h->timer.data = h;
    uv_close((uv_handle_t *)&h->poll, on_handle_closed);
    uv_close((uv_handle_t *)&h->timer, on_handle_closed);
}
