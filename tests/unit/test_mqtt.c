/* SPDX-License-Identifier: MIT */
/*
 * Tests of the MQTT link (gateway/mqtt.c). The backoff, option and no-broker cases need nothing
 * but loopback. The broker_* cases start a real mosquitto on a free loopback port with a
 * generated config (label "integration"): publish and receive, the retained status and its
 * "offline" on close, and a broker restart on the same port. Each loop test counts what its
 * callbacks saw, finishes by closing every handle, and asserts afterwards; a watchdog timer
 * only guards against hangs, it is not a timing assertion.
 */
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forestwatch/mqtt.h"
#include "forestwatch/util.h"

#define WATCHDOG_MS 8000
#define MAX_RECORDS 8

/* ------------------------------------------------------------------------------------------ */
/* Backoff and options: pure                                                                   */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(backoff_next)
{
    /* First failure: min plus up to 25% jitter. */
    ASSERT_EQ(fw_mqtt__backoff_next(0, 100, 1000, 0), 100);
    ASSERT_GE(fw_mqtt__backoff_next(0, 100, 1000, UINT32_MAX), 100);
    ASSERT_LE(fw_mqtt__backoff_next(0, 100, 1000, UINT32_MAX), 125);
    ASSERT_EQ(fw_mqtt__backoff_next(0, 100, 1000, 0x80000000u), 112);
    /* Doubling, then the cap (jitter goes on top of the capped value). */
    ASSERT_EQ(fw_mqtt__backoff_next(100, 100, 1000, 0), 200);
    ASSERT_EQ(fw_mqtt__backoff_next(300, 100, 1000, 0), 600);
    ASSERT_EQ(fw_mqtt__backoff_next(600, 100, 1000, 0), 1000);
    ASSERT_EQ(fw_mqtt__backoff_next(1000, 100, 1000, 0), 1000);
    ASSERT_LE(fw_mqtt__backoff_next(1250, 100, 1000, UINT32_MAX), 1250);
    /* A jittered previous value keeps doubling from where it was. */
    ASSERT_EQ(fw_mqtt__backoff_next(112, 100, 1000, 0), 224);
    /* Degenerate inputs stay sane. */
    ASSERT_EQ(fw_mqtt__backoff_next(-5, 100, 1000, 0), 100);
    ASSERT_EQ(fw_mqtt__backoff_next(0, 0, 0, 0), 1);
    ASSERT_EQ(fw_mqtt__backoff_next(0, 500, 100, 0), 500);
    ASSERT_GT(fw_mqtt__backoff_next(INT64_MAX / 2, 1, INT64_MAX, UINT32_MAX), 0);

    /* Every jitter stays within [base, base * 1.25] along a whole run of failures. */
    uint32_t rnd = 12345;
    int64_t prev = 0;
    for (int i = 0; i < 40; i++) {
        rnd = rnd * 1664525u + 1013904223u;
        int64_t base = prev <= 0 ? 250 : (prev >= 30000 / 2 ? 30000 : prev * 2);
        int64_t next = fw_mqtt__backoff_next(prev, 250, 30000, rnd);
        ASSERT_GE(next, base);
        ASSERT_LE(next, base + base / 4);
        prev = next;
    }
    ASSERT_LE(prev, 30000 + 30000 / 4);
}

static void on_close_count(struct fw_mqtt_link *link, void *arg)
{
    (void)link;
    (*(int *)arg)++;
}

static struct fw_mqtt_link_opts base_opts(int port)
{
    struct fw_mqtt_link_opts o = {
        .name = "test",
        .host = "127.0.0.1",
        .port = port,
        .client_id = "fw-test",
        .keepalive_s = 10,
        .reconnect_min_ms = 100,
        .reconnect_max_ms = 1000,
    };
    return o;
}

FW_TEST(new_rejects_bad_opts)
{
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    fw_mqtt_lib_init();
    struct fw_mqtt_link *link = (struct fw_mqtt_link *)&loop; /* must be reset to NULL */
    struct fw_mqtt_link_opts o;

    o = base_opts(0);
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    ASSERT_TRUE(link == NULL);
    /* A cluster's nodes: each needs a host and a port; at most FW_MQTT_MAX_NODES of them. */
    struct fw_mqtt_node nodes[FW_MQTT_MAX_NODES + 1];
    for (size_t i = 0; i < FW_ARRAY_LEN(nodes); i++)
        nodes[i] = (struct fw_mqtt_node){"127.0.0.1", 1883};
    o = base_opts(1883);
    o.nodes = nodes;
    o.nnodes = FW_ARRAY_LEN(nodes);
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    o.nnodes = 2;
    nodes[1].port = 0;
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    nodes[1].port = 1883;
    nodes[1].host = "";
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    nodes[1].host = "127.0.0.1";
    o = base_opts(65536);
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    o = base_opts(1883);
    o.host = "";
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    o = base_opts(1883);
    o.client_id = NULL;
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    o = base_opts(1883);
    o.keepalive_s = 4;
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    o = base_opts(1883);
    o.reconnect_min_ms = 0;
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    o = base_opts(1883);
    o.reconnect_max_ms = 50;
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    o = base_opts(1883);
    o.password = "secret";
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    o = base_opts(1883);
    o.status_topic = "gw/+/status";
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    /* TLS: a client certificate or a server name without a CA, a certificate without key. */
    o = base_opts(8883);
    o.tls_server_name = "mqtt.example";
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    o = base_opts(8883);
    o.tls_ca_file = "ca.pem";
    o.tls_cert_file = "client.pem";
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);
    o = base_opts(8883);
    o.tls_ca_file = "";
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), -EINVAL);

    /* A valid link: filters are checked, and nothing is sent before the loop runs. */
    o = base_opts(1883);
    o.status_topic = "gw/status";
    ASSERT_EQ(fw_mqtt_link_new(&loop, &o, &link), 0);
    ASSERT_STR_EQ(fw_mqtt_link_name(link), "test");
    ASSERT_EQ(fw_mqtt_subscribe(link, "a/#/b", 0), -EINVAL);
    ASSERT_EQ(fw_mqtt_subscribe(link, "a/b", 3), -EINVAL);
    ASSERT_EQ(fw_mqtt_subscribe(link, "", 0), -EINVAL);
    ASSERT_EQ(fw_mqtt_subscribe(link, "a/+/c", 1), 0);
    ASSERT_EQ(fw_mqtt_subscribe(link, "a/+/c", 2), 0); /* same filter: updated, not added */
    ASSERT_EQ(fw_mqtt_link_connected(link), 0);
    ASSERT_EQ(fw_mqtt_publish(link, "a/b", "x", 1, 1, 0, NULL), -ENOTCONN);
    ASSERT_EQ(fw_mqtt_publish(link, "a/b", "x", 1, 3, 0, NULL), -EINVAL);

    /* Closed before the first attempt ran: the close callback still comes, from the loop. */
    int closed = 0;
    fw_mqtt_link_close(link, on_close_count, &closed);
    fw_mqtt_link_close(NULL, on_close_count, &closed);
    ASSERT_EQ(closed, 0);
    ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ASSERT_EQ(closed, 1);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    fw_mqtt_lib_cleanup();
}

/* ------------------------------------------------------------------------------------------ */
/* Loopback helpers: free port, broker process                                                 */
/* ------------------------------------------------------------------------------------------ */

/* A port nothing listens on right now (the kernel's pick for an ephemeral bind). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    int port = -EIO;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* $FW_MOSQUITTO, then $PATH, then the sbin directories PATH often lacks. NULL if none. */
static const char *mosquitto_path(void)
{
    static char buf[PATH_MAX];
    const char *env = getenv("FW_MOSQUITTO");
    if (env && access(env, X_OK) == 0)
        return env;
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/local/sbin", path ? path : "");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(buf, sizeof(buf), "%s/mosquitto", d);
        if (access(buf, X_OK) == 0)
            return buf;
    }
    return NULL;
}

struct broker {
    pid_t pid;
    int port;
    char dir[64];
    char conf[128];
    char log[128];
};

/* Start mosquitto on `port` (0: pick a free one) and wait until it accepts. Returns 0 or -1. */
static int broker_start(struct broker *b, int port)
{
    const char *exe = mosquitto_path();
    if (!exe) {
        fprintf(stderr, "mosquitto not found (set FW_MOSQUITTO)\n");
        return -1;
    }
    if (!b->dir[0]) {
        snprintf(b->dir, sizeof(b->dir), "/tmp/fw-test-mqtt-XXXXXX");
        if (!mkdtemp(b->dir)) {
            b->dir[0] = '\0';
            return -1;
        }
        snprintf(b->conf, sizeof(b->conf), "%s/mosquitto.conf", b->dir);
        snprintf(b->log, sizeof(b->log), "%s/broker.log", b->dir);
    }
    b->port = port ? port : free_port();
    if (b->port <= 0)
        return -1;
    FILE *f = fopen(b->conf, "w");
    if (!f)
        return -1;
    fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", b->port);
    if (getenv("FW_TEST_BROKER_LOG"))
        fprintf(f, "log_type all\n");
    /* As root, mosquitto would switch users, which also drops the parent-death signal. */
    if (geteuid() == 0)
        fprintf(f, "user root\n");
    fclose(f);

    int logfd = open(b->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Never outlive the test, even when it crashes or ctest kills it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
        execl(exe, "mosquitto", "-c", b->conf, (char *)NULL);
        _exit(127);
    }
    close(logfd);
    if (pid < 0)
        return -1;
    b->pid = pid;
    for (int i = 0; i < 200; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "mosquitto exited early, see %s\n", b->log);
            b->pid = 0;
            return -1;
        }
        if (port_accepts(b->port))
            return 0;
        usleep(25 * 1000);
    }
    fprintf(stderr, "mosquitto did not listen on %d, see %s\n", b->port, b->log);
    return -1;
}

static void broker_stop(struct broker *b)
{
    if (b->pid <= 0)
        return;
    kill(b->pid, SIGTERM);
    waitpid(b->pid, NULL, 0);
    b->pid = 0;
}

static void broker_cleanup(struct broker *b)
{
    broker_stop(b);
    if (!b->dir[0])
        return;
    /* FW_TEST_BROKER_LOG=1 shows what the broker saw, for debugging a failing case. */
    FILE *f = getenv("FW_TEST_BROKER_LOG") ? fopen(b->log, "r") : NULL;
    if (f) {
        char line[512];
        while (fgets(line, sizeof(line), f))
            fprintf(stderr, "broker: %s", line);
        fclose(f);
    }
    unlink(b->conf);
    unlink(b->log);
    rmdir(b->dir);
    b->dir[0] = '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* Loop scaffolding: peers record their callbacks, a scenario function drives the steps        */
/* ------------------------------------------------------------------------------------------ */

struct tctx;

struct peer {
    struct tctx *t;
    struct fw_mqtt_link *link;
    int close_requested;
    int closed;
    int states[MAX_RECORDS];
    int nstates;
    char msgs[MAX_RECORDS][32];
    int nmsgs;
    int published[MAX_RECORDS];
    int npublished;
};

enum ev { EV_STATE, EV_MESSAGE, EV_PUBLISHED, EV_AUX };

struct tctx {
    uv_loop_t loop;
    uv_timer_t watchdog;
    uv_timer_t aux; /* for steps that must run outside any link callback */
    struct broker broker;
    struct peer peers[3];
    void (*step)(struct tctx *t, struct peer *p, enum ev ev);
    int timed_out;
    int finishing;
    int handles_closed;
    int errors; /* unexpected return codes seen inside callbacks */
    int in_publish;
    int sync_published; /* on_published ran inside fw_mqtt_publish */
    int mid1, mid0, rc_down;
};

static void peer_on_state(struct fw_mqtt_link *link, int connected, void *arg)
{
    struct peer *p = arg;
    if (link != p->link || p->close_requested)
        p->t->errors++;
    if (p->nstates < MAX_RECORDS)
        p->states[p->nstates++] = connected;
    p->t->step(p->t, p, EV_STATE);
}

static void peer_on_message(struct fw_mqtt_link *link, const char *topic, const void *payload,
                            size_t len, void *arg)
{
    (void)topic;
    struct peer *p = arg;
    if (link != p->link || p->close_requested)
        p->t->errors++;
    if (p->nmsgs < MAX_RECORDS)
        snprintf(p->msgs[p->nmsgs++], sizeof(p->msgs[0]), "%.*s", (int)len, (const char *)payload);
    p->t->step(p->t, p, EV_MESSAGE);
}

static void peer_on_published(struct fw_mqtt_link *link, int mid, void *arg)
{
    struct peer *p = arg;
    if (link != p->link || p->close_requested)
        p->t->errors++;
    if (p->t->in_publish)
        p->t->sync_published = 1;
    if (p->npublished < MAX_RECORDS)
        p->published[p->npublished++] = mid;
    p->t->step(p->t, p, EV_PUBLISHED);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct tctx *t = h->data;
    t->handles_closed++;
}

/* Once every started peer is closed, close our own timers so uv_run can return. */
static void maybe_done(struct tctx *t)
{
    if (!t->finishing || uv_is_closing((uv_handle_t *)&t->watchdog))
        return;
    for (size_t i = 0; i < FW_ARRAY_LEN(t->peers); i++)
        if (t->peers[i].link && !t->peers[i].closed)
            return;
    uv_close((uv_handle_t *)&t->watchdog, on_handle_closed);
    uv_close((uv_handle_t *)&t->aux, on_handle_closed);
}

static void peer_on_close(struct fw_mqtt_link *link, void *arg)
{
    struct peer *p = arg;
    if (link != p->link)
        p->t->errors++;
    p->closed = 1;
    maybe_done(p->t);
}

static void peer_close(struct peer *p)
{
    if (!p->link || p->close_requested)
        return;
    p->close_requested = 1;
    fw_mqtt_link_close(p->link, peer_on_close, p);
}

static void finish(struct tctx *t)
{
    t->finishing = 1;
    for (size_t i = 0; i < FW_ARRAY_LEN(t->peers); i++)
        peer_close(&t->peers[i]);
    maybe_done(t);
}

static void on_watchdog(uv_timer_t *timer)
{
    struct tctx *t = timer->data;
    t->timed_out = 1;
    finish(t);
}

static void on_aux(uv_timer_t *timer)
{
    struct tctx *t = timer->data;
    t->step(t, NULL, EV_AUX);
}

static int peer_start(struct tctx *t, struct peer *p, const char *client_id,
                      const char *status_topic, const char *sub)
{
    struct fw_mqtt_link_opts o = base_opts(t->broker.port);
    o.name = client_id;
    o.client_id = client_id;
    o.status_topic = status_topic;
    o.on_message = peer_on_message;
    o.on_published = peer_on_published;
    o.on_state = peer_on_state;
    o.arg = p;
    p->t = t;
    int rc = fw_mqtt_link_new(&t->loop, &o, &p->link);
    if (rc == 0 && sub)
        rc = fw_mqtt_subscribe(p->link, sub, 1);
    if (rc != 0)
        t->errors++;
    return rc;
}

/* Set up loop, timers and (with_broker) a broker. Returns 0 or -1. */
static int tctx_init(struct tctx *t, int with_broker,
                     void (*step)(struct tctx *, struct peer *, enum ev))
{
    memset(t, 0, sizeof(*t));
    t->step = step;
    if (with_broker && broker_start(&t->broker, 0) != 0) {
        broker_cleanup(&t->broker);
        return -1;
    }
    fw_mqtt_lib_init();
    uv_loop_init(&t->loop);
    uv_timer_init(&t->loop, &t->watchdog);
    uv_timer_init(&t->loop, &t->aux);
    t->watchdog.data = t;
    t->aux.data = t;
    uv_timer_start(&t->watchdog, on_watchdog, WATCHDOG_MS, 0);
    return 0;
}

/* Run the loop to the end and close it. Returns uv_loop_close()'s result. */
static int tctx_run(struct tctx *t)
{
    uv_run(&t->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&t->loop);
    fw_mqtt_lib_cleanup();
    broker_cleanup(&t->broker);
    return rc;
}

static int str_list_eq(char (*got)[32], int n, const char *const *want, int nwant)
{
    if (n != nwant)
        return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(got[i], want[i]) != 0)
            return 0;
    return 1;
}

static void dump_msgs(const char *who, const struct peer *p)
{
    fprintf(stderr, "%s received %d message(s):", who, p->nmsgs);
    for (int i = 0; i < p->nmsgs; i++)
        fprintf(stderr, " \"%s\"", p->msgs[i]);
    fprintf(stderr, "\n");
}

/* ------------------------------------------------------------------------------------------ */
/* No broker                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static void step_refused(struct tctx *t, struct peer *p, enum ev ev)
{
    (void)p;
    if (ev == EV_AUX)
        finish(t); /* close while retrying: mid-attempt or during the backoff wait */
    else
        t->errors++; /* nothing may be reported for a broker that never answered */
}

FW_TEST(refused_then_close)
{
    struct tctx t;
    ASSERT_EQ(tctx_init(&t, 0, step_refused), 0);
    t.broker.port = free_port();
    ASSERT_GT(t.broker.port, 0);
    struct fw_mqtt_link_opts o = base_opts(t.broker.port);
    o.reconnect_min_ms = 10;
    o.reconnect_max_ms = 40;
    o.on_state = peer_on_state;
    o.on_message = peer_on_message;
    o.on_published = peer_on_published;
    o.arg = &t.peers[0];
    t.peers[0].t = &t;
    ASSERT_EQ(fw_mqtt_link_new(&t.loop, &o, &t.peers[0].link), 0);
    uv_timer_start(&t.aux, on_aux, 300, 0);
    ASSERT_EQ(tctx_run(&t), 0);
    ASSERT_EQ(t.timed_out, 0);
    ASSERT_EQ(t.errors, 0);
    ASSERT_EQ(t.peers[0].closed, 1);
    ASSERT_EQ(t.peers[0].nstates, 0);
    ASSERT_EQ(t.handles_closed, 2);
}

/* ------------------------------------------------------------------------------------------ */
/* (a) publish, receive our own message, PUBACK, deferred QoS 0 report, close from on_message  */
/* ------------------------------------------------------------------------------------------ */

static int has_mid(const struct peer *p, int mid)
{
    for (int i = 0; i < p->npublished; i++)
        if (p->published[i] == mid)
            return 1;
    return 0;
}

static void step_pubsub(struct tctx *t, struct peer *p, enum ev ev)
{
    struct peer *a = &t->peers[0];
    if (ev == EV_STATE && p->nstates == 1 && p->states[0] == 1) {
        /* Inside a libmosquitto callback: queued, sent after the SUBSCRIBE. */
        if (fw_mqtt_publish(a->link, "fw/test/a", "hello", 5, 1, 0, &t->mid1) != 0)
            t->errors++;
        return;
    }
    if (ev == EV_AUX) {
        /* Outside callbacks QoS 0 is written at once; its report must still come later. */
        t->in_publish = 1;
        if (fw_mqtt_publish(a->link, "fw/test/a", "q0", 2, 0, 0, &t->mid0) != 0)
            t->errors++;
        t->in_publish = 0;
        return;
    }
    if (t->mid0 == 0) {
        if (a->nmsgs >= 1 && has_mid(a, t->mid1) && !uv_is_active((uv_handle_t *)&t->aux))
            uv_timer_start(&t->aux, on_aux, 0, 0);
        return;
    }
    /* Close from whichever callback completes the picture; usually on_message, nested in
     * mosquitto_loop_read, which exercises the deferred close. */
    if (a->nmsgs >= 2 && has_mid(a, t->mid0))
        finish(t);
}

static void run_pubsub(struct tctx *t)
{
    struct peer *a = &t->peers[0];
    ASSERT_EQ(peer_start(t, a, "fw-test-a", NULL, "fw/test/a"), 0);
    ASSERT_EQ(fw_mqtt_publish(a->link, "fw/test/a", "early", 5, 1, 0, NULL), -ENOTCONN);
    ASSERT_EQ(tctx_run(t), 0);
    ASSERT_EQ(t->timed_out, 0);
    ASSERT_EQ(t->errors, 0);
    ASSERT_EQ(a->nstates, 1);
    ASSERT_EQ(a->states[0], 1);
    static const char *const want[] = {"hello", "q0"};
    if (!str_list_eq(a->msgs, a->nmsgs, want, 2))
        dump_msgs("a", a);
    ASSERT_TRUE(str_list_eq(a->msgs, a->nmsgs, want, 2));
    ASSERT_GT(t->mid1, 0);
    ASSERT_GT(t->mid0, 0);
    ASSERT_TRUE(has_mid(a, t->mid1));
    ASSERT_TRUE(has_mid(a, t->mid0));
    ASSERT_EQ(t->sync_published, 0);
    ASSERT_EQ(a->closed, 1);
}

FW_TEST(broker_pubsub)
{
    struct tctx t;
    ASSERT_EQ(tctx_init(&t, 1, step_pubsub), 0);
    run_pubsub(&t);
    broker_cleanup(&t.broker);
}

/* ------------------------------------------------------------------------------------------ */
/* (b) retained status: "online" on connect, "offline" on close, both seen by late subscribers */
/* ------------------------------------------------------------------------------------------ */

#define STATUS "fw/test/status"

static void step_status(struct tctx *t, struct peer *p, enum ev ev)
{
    struct peer *a = &t->peers[0], *b = &t->peers[1], *c = &t->peers[2];
    if (ev != EV_MESSAGE)
        return;
    const char *last = p->msgs[p->nmsgs - 1];
    if (p == a && strcmp(last, "online") == 0 && !b->link) {
        /* The broker has handled a's "online": a subscriber arriving now gets it retained. */
        peer_start(t, b, "fw-test-status-b", NULL, STATUS);
    } else if (p == b && strcmp(last, "online") == 0) {
        peer_close(a); /* publishes the retained "offline", then disconnects */
    } else if (p == b && strcmp(last, "offline") == 0 && !c->link) {
        peer_start(t, c, "fw-test-status-c", NULL, STATUS);
    } else if (p == c && strcmp(last, "offline") == 0) {
        finish(t);
    }
}

static void run_status(struct tctx *t)
{
    struct peer *a = &t->peers[0], *b = &t->peers[1], *c = &t->peers[2];
    ASSERT_EQ(peer_start(t, a, "fw-test-status-a", STATUS, STATUS), 0);
    ASSERT_EQ(tctx_run(t), 0);
    ASSERT_EQ(t->timed_out, 0);
    ASSERT_EQ(t->errors, 0);
    static const char *const want_a[] = {"online"};
    static const char *const want_b[] = {"online", "offline"};
    static const char *const want_c[] = {"offline"};
    if (!str_list_eq(b->msgs, b->nmsgs, want_b, 2))
        dump_msgs("b", b);
    /* a sees its own "online" but nothing after its close (the "offline"). */
    ASSERT_TRUE(str_list_eq(a->msgs, a->nmsgs, want_a, 1));
    ASSERT_TRUE(str_list_eq(b->msgs, b->nmsgs, want_b, 2));
    ASSERT_TRUE(str_list_eq(c->msgs, c->nmsgs, want_c, 1));
    ASSERT_EQ(a->nstates, 1);
    ASSERT_EQ(a->npublished, 0); /* our own "online" is not reported */
    ASSERT_TRUE(a->closed && b->closed && c->closed);
}

FW_TEST(broker_status)
{
    struct tctx t;
    ASSERT_EQ(tctx_init(&t, 1, step_status), 0);
    run_status(&t);
    broker_cleanup(&t.broker);
}

/* ------------------------------------------------------------------------------------------ */
/* (c) broker restart on the same port: state 1, 0, 1, resubscribed                            */
/* ------------------------------------------------------------------------------------------ */

#define RESTART_TOPIC "fw/test/restart"

static void step_restart(struct tctx *t, struct peer *p, enum ev ev)
{
    struct peer *a = &t->peers[0], *b = &t->peers[1];
    if (p == a && ev == EV_STATE) {
        if (a->nstates == 1 && a->states[0] == 1) {
            broker_stop(&t->broker); /* the link sees EOF on its socket */
        } else if (a->nstates == 2 && a->states[1] == 0) {
            t->rc_down = fw_mqtt_publish(a->link, RESTART_TOPIC, "x", 1, 1, 0, NULL);
            if (fw_mqtt_link_connected(a->link))
                t->errors++;
            /* Blocks the loop until the new broker listens: fine in a test. */
            if (broker_start(&t->broker, t->broker.port) != 0)
                t->errors++;
        } else if (a->nstates == 3 && a->states[2] == 1) {
            peer_start(t, b, "fw-test-restart-b", NULL, NULL);
        }
    } else if (p == b && ev == EV_STATE && b->nstates == 1) {
        /* Retained, so it reaches a whether a's SUBSCRIBE is handled before or after it. */
        if (fw_mqtt_publish(b->link, RESTART_TOPIC, "after-restart", 13, 1, 1, NULL) != 0)
            t->errors++;
    } else if (p == a && ev == EV_MESSAGE) {
        finish(t);
    }
}

static void run_restart(struct tctx *t)
{
    struct peer *a = &t->peers[0];
    ASSERT_EQ(peer_start(t, a, "fw-test-restart-a", NULL, RESTART_TOPIC), 0);
    ASSERT_EQ(tctx_run(t), 0);
    ASSERT_EQ(t->timed_out, 0);
    ASSERT_EQ(t->errors, 0);
    ASSERT_EQ(a->nstates, 3);
    ASSERT_EQ(a->states[0], 1);
    ASSERT_EQ(a->states[1], 0);
    ASSERT_EQ(a->states[2], 1);
    ASSERT_EQ(t->rc_down, -ENOTCONN);
    static const char *const want[] = {"after-restart"};
    if (!str_list_eq(a->msgs, a->nmsgs, want, 1))
        dump_msgs("a", a);
    ASSERT_TRUE(str_list_eq(a->msgs, a->nmsgs, want, 1));
}

FW_TEST(broker_restart)
{
    struct tctx t;
    ASSERT_EQ(tctx_init(&t, 1, step_restart), 0);
    run_restart(&t);
    broker_cleanup(&t.broker);
}

/* ------------------------------------------------------------------------------------------ */
/* Close from inside on_state(1), which runs nested in mosquitto_loop_read                     */
/* ------------------------------------------------------------------------------------------ */

#define NESTED_STATUS "fw/test/nested/status"

static void step_nested_close(struct tctx *t, struct peer *p, enum ev ev)
{
    struct peer *a = &t->peers[0], *b = &t->peers[1];
    if (p == b && ev == EV_STATE && b->nstates == 1) {
        /* The observer is subscribed (SUBACK precedes any message): now bring a up. */
        peer_start(t, a, "fw-test-nested-a", NESTED_STATUS, NULL);
    } else if (p == a && ev == EV_STATE) {
        /* Queued behind "online"; the close must still publish "offline" and finish. */
        if (fw_mqtt_publish(a->link, "fw/test/nested/data", "x", 1, 1, 0, &t->mid1) != 0)
            t->errors++;
        peer_close(a);
        t->rc_down = fw_mqtt_publish(a->link, "fw/test/nested/data", "y", 1, 1, 0, NULL);
    } else if (p == b && ev == EV_MESSAGE && strcmp(b->msgs[b->nmsgs - 1], "offline") == 0) {
        finish(t);
    }
}

static void run_nested_close(struct tctx *t)
{
    struct peer *a = &t->peers[0], *b = &t->peers[1];
    ASSERT_EQ(peer_start(t, b, "fw-test-nested-b", NULL, NESTED_STATUS), 0);
    ASSERT_EQ(tctx_run(t), 0);
    ASSERT_EQ(t->timed_out, 0);
    ASSERT_EQ(t->errors, 0);
    ASSERT_EQ(t->rc_down, -ENOTCONN); /* publish after close is refused */
    ASSERT_EQ(a->nstates, 1);
    ASSERT_EQ(a->npublished, 0); /* the PUBACK came after close: not reported */
    ASSERT_TRUE(a->closed);
    static const char *const want[] = {"online", "offline"};
    if (!str_list_eq(b->msgs, b->nmsgs, want, 2))
        dump_msgs("b", b);
    ASSERT_TRUE(str_list_eq(b->msgs, b->nmsgs, want, 2));
}

FW_TEST(broker_close_in_callback)
{
    struct tctx t;
    ASSERT_EQ(tctx_init(&t, 1, step_nested_close), 0);
    run_nested_close(&t);
    broker_cleanup(&t.broker);
}

/* ------------------------------------------------------------------------------------------ */
/* Publish errors: which say the message can never go, which only that the connection went    */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(publish_error_permanent)
{
    ASSERT_EQ(fw_mqtt_publish_error_permanent(-E2BIG), 1);
    ASSERT_EQ(fw_mqtt_publish_error_permanent(-EINVAL), 1);
    ASSERT_EQ(fw_mqtt_publish_error_permanent(-ENOTCONN), 0);
    ASSERT_EQ(fw_mqtt_publish_error_permanent(-EPIPE), 0);
    ASSERT_EQ(fw_mqtt_publish_error_permanent(-ECONNRESET), 0);
    ASSERT_EQ(fw_mqtt_publish_error_permanent(-ENOMEM), 0);
    ASSERT_EQ(fw_mqtt_publish_error_permanent(-EPROTO), 0);
    ASSERT_EQ(fw_mqtt_publish_error_permanent(-ENOTSUP), 0);
}

#define GONE_TOPIC "fw/test/gone"

/*
 * The broker dies while the link still counts as connected: publishing from a timer, before
 * the loop has read the close, writes into a socket whose peer is gone. The error that comes
 * back must say "the connection", never "the message".
 */
static void step_gone(struct tctx *t, struct peer *p, enum ev ev)
{
    struct peer *a = &t->peers[0];
    if (p == a && ev == EV_STATE && a->nstates == 1 && a->states[0] == 1) {
        uv_timer_start(&t->aux, on_aux, 0, 0); /* outside libmosquitto's callbacks */
    } else if (ev == EV_AUX) {
        kill(t->broker.pid, SIGKILL);
        waitpid(t->broker.pid, NULL, 0);
        t->broker.pid = 0;
        /* The first write after the peer's close goes out and draws a reset; a later one fails. */
        for (int i = 0; i < 64 && t->rc_down == 0; i++)
            t->rc_down = fw_mqtt_publish(a->link, GONE_TOPIC, "x", 1, 0, 0, NULL);
        finish(t);
    }
}

FW_TEST(broker_gone_mid_publish)
{
    struct tctx t;
    ASSERT_EQ(tctx_init(&t, 1, step_gone), 0);
    ASSERT_EQ(peer_start(&t, &t.peers[0], "fw-test-gone-a", NULL, NULL), 0);
    ASSERT_EQ(tctx_run(&t), 0);
    ASSERT_EQ(t.timed_out, 0);
    ASSERT_EQ(t.errors, 0);
    fprintf(stderr, "publish into a dead connection: %s\n", uv_strerror(t.rc_down));
    ASSERT_LT(t.rc_down, 0);
    ASSERT_EQ(fw_mqtt_publish_error_permanent(t.rc_down), 0);
    broker_cleanup(&t.broker);
}
