#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The console's HTTP server in the daemon (docs/console.md), against a real broker: /metrics
# parses with the Prometheus client library's own text parser and its counters move as uplinks
# arrive, an alert fires, is committed, published, acknowledged by the broker and resolves; the
# JSON API shows the zone, the open alert and the node; and the server stands up to a client
# that never finishes its request (the alert still goes out meanwhile, and the client is cut off
# by the server's timeout), to path traversal, to oversized and malformed requests and to
# methods it does not serve. Exits 77 without python3-prometheus-client.

import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, http_get, http_json, is_alert  # noqa: E402

prom_parser = fwtest.import_debian("prometheus_client.parser")
if prom_parser is None:
    print("test_console.py: SKIP: python3-prometheus-client not installed")
    sys.exit(fwtest.SKIP_EXIT)


def scrape(base):
    """/metrics as {(sample name, label value or None): value}, through the real parser."""
    status, ctype, body = http_get(base + "/metrics")
    check(status == 200 and ctype.startswith("text/plain; version=0.0.4"),
          "/metrics: %s %s" % (status, ctype))
    out = {}
    for fam in prom_parser.text_string_to_metric_families(body.decode("utf-8")):
        for s in fam.samples:
            label = next(iter(s.labels.values()), None)
            out[(s.name, label)] = s.value
    return out


def raw_request(port, data, read=True):
    """Send raw bytes; return what the server answered before closing (b"" when nothing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=fwtest.HANG_GUARD_S) as c:
        c.sendall(data)
        if not read:
            return b""
        chunks = []
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


def status_of(answer):
    line = answer.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[0].startswith(b"HTTP/") else None


def test(env):
    base = fwtest.enable_console(env.config_path, client_timeout_ms=2000)
    port = int(base.rsplit(":", 1)[1])
    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()
    daemon.wait_log(r"console: listening on http://127\.0\.0\.1:%d/" % port, what="the console")
    before = scrape(base)
    check(before[("forestwatch_broker_connected", "local")] == 1, "broker not connected: %s"
          % before)

    # A client that sends half a request and then nothing.
    slow = socket.create_connection(("127.0.0.1", port), timeout=fwtest.HANG_GUARD_S)
    slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")

    t0 = time.monotonic()
    env.publish(fwtest.uplink_topic("no-such-node"),
                fwtest.uplink("no-such-node", [("smoke_ppm", 10.0)]))
    env.send_reading("bs07-smoke-01", "smoke_ppm", 480.0)
    alert = forestry.expect_none_before(is_alert("firing", "smoke_high", "bs07-smoke-01"),
                                        what="smoke_high firing")
    fwtest.log("alert delivered %.0f ms after its uplink, with a stalled HTTP client connected"
               % ((time.monotonic() - t0) * 1000))

    alerts = http_json(base + "/api/alerts")
    check([a["id"] for a in alerts] == [alert["id"]], "/api/alerts: %s" % alerts)
    check(alerts[0]["zone"] == "bs-07" and alerts[0]["node"] == "bs07-smoke-01"
          and alerts[0]["value"] == 480.0 and alerts[0]["severity"] == "Severe"
          and alerts[0]["forest_chief"]["phone"], "/api/alerts: %s" % alerts)
    zones = {z["id"]: z for z in http_json(base + "/api/zones")}
    check(zones["bs-07"]["open_alerts"] == 1 and zones["bs-03"]["open_alerts"] == 0,
          "/api/zones: %s" % zones)
    check(len(zones["bs-03"]["polygon"]) >= 4 and "polygon" not in zones["bs-07"],
          "/api/zones polygons: %s" % zones)
    nodes = {n["id"]: n for n in http_json(base + "/api/devices")["nodes"]}
    check(nodes["bs07-smoke-01"]["last_seen"] and nodes["bs03-smoke-01"]["last_seen"] is None,
          "/api/devices: %s" % nodes)
    gw = http_json(base + "/api/gateway")
    check(gw["brokers"] == [{"name": "local", "connected": True}] and gw["last_reload"] is None,
          "/api/gateway: %s" % gw)

    env.send_reading("bs07-smoke-01", "smoke_ppm", 20.0)
    forestry.expect_none_before(is_alert("resolved", "smoke_high", "bs07-smoke-01"),
                                what="smoke_high resolved")
    check(http_json(base + "/api/alerts") == [], "an alert is still open")

    # Every message was acknowledged by the broker once the outbox is empty.
    deadline = time.monotonic() + fwtest.HANG_GUARD_S
    while True:
        after = scrape(base)
        if after[("forestwatch_outbox_depth", None)] == 0:
            break
        check(time.monotonic() < deadline, "the outbox did not empty: %s" % after)
        time.sleep(0.1)

    def moved(name, label=None):
        return after.get((name, label), 0) - before.get((name, label), 0)

    check(moved("forestwatch_uplinks_received_total") == 3, "uplinks: %s" % after)
    check(moved("forestwatch_uplink_issues_total", "unknown_node") == 1, "issues: %s" % after)
    check(moved("forestwatch_readings_total", "mqtt") == 2, "readings: %s" % after)
    check(moved("forestwatch_alerts_fired_total", "smoke_high") == 1, "fired: %s" % after)
    check(moved("forestwatch_alerts_resolved_total", "smoke_high") == 1, "resolved: %s" % after)
    for route in ("forestry", "emergency"):
        check(moved("forestwatch_messages_committed_total", route) == 2,
              "committed on %s: %s" % (route, after))
    check(moved("forestwatch_messages_published_total", "local") == 4, "published: %s" % after)
    check(moved("forestwatch_messages_acked_total", "local") == 4, "acked: %s" % after)
    check(after[("forestwatch_broker_reconnects_total", "local")] == 0, "reconnects: %s" % after)
    check(after[("forestwatch_node_last_seen_seconds", "bs07-smoke-01")] > 0, "last seen")

    # Paths are matched whole: no traversal reaches a file.
    for path in (b"/../../../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd",
                 b"/console.js/../../../etc/passwd", b"//etc/passwd", b"/api/../../etc/passwd"):
        answer = raw_request(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
                             b"Connection: close\r\n\r\n")
        check(status_of(answer) == 404 and b"root:" not in answer,
              "GET %s: %r" % (path, answer[:200]))
    # Only GET and HEAD.
    answer = raw_request(port, b"POST /api/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                         b"Connection: close\r\n\r\n{}")
    check(status_of(answer) == 405, "POST: %r" % answer[:200])
    # Headers past the connection's memory limit, and a request that is not HTTP.
    answer = raw_request(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000
                         + b"\r\n\r\n")
    check(status_of(answer) in (400, 413, 414, 431) or answer == b"",
          "oversized request: %r" % answer[:200])
    answer = raw_request(port, b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
    check(status_of(answer) in (400, 505, None) and b"200 OK" not in answer,
          "malformed request: %r" % answer[:200])

    # The server is still serving, and cuts the stalled client off (its idle timeout).
    check(http_get(base + "/metrics")[0] == 200, "the console stopped answering")
    try:
        rest = slow.recv(65536)
    except ConnectionResetError:
        rest = b""
    check(b"200 OK" not in rest, "the slow client's half request was answered: %r" % rest)
    slow.close()
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
