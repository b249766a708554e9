#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Fault injection: the forestry bureau's broker accepts the daemon's connection and its
# publishes but never acknowledges one (a broker whose disk is stuck, a proxy that swallows
# PUBACKs). The daemon must stay alive, keep every unacknowledged alert in its outbox, keep the
# emergency route (on another broker) flowing meanwhile, and, once a real broker takes the
# port, deliver every alert to the bureau's duty desk (a persistent session): nothing lost.

import os
import re
import socket
import sqlite3
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402

NODES = ["bs03-smoke-01", "bs03-smoke-02", "bs07-smoke-01"]
GUARD_S = 30
TOPIC = "bureau/forestry/alerts"


class BlackHole:
    """An MQTT 3.1.1 server that says yes to CONNECT, SUBSCRIBE and PINGREQ and never answers a
    PUBLISH: it counts them."""

    def __init__(self, port):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(8)
        self.publishes = []  # payloads, as received
        self.conns = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            while True:
                head, body = fwtest.mqtt_read_packet(conn)
                kind = head >> 4
                if kind == 1:  # CONNECT
                    conn.sendall(b"\x20\x02\x00\x00")
                elif kind == 3:  # PUBLISH: swallowed
                    tlen = struct.unpack("!H", body[:2])[0]
                    qos = (head >> 1) & 3
                    payload = body[2 + tlen + (2 if qos else 0):]
                    with self.lock:
                        self.publishes.append(payload)
                elif kind == 8:  # SUBSCRIBE: granted QoS 1 for each filter
                    pid, rest, n = body[:2], body[2:], 0
                    while rest:
                        flen = struct.unpack("!H", rest[:2])[0]
                        rest = rest[2 + flen + 1:]
                        n += 1
                    conn.sendall(bytes([0x90, 2 + n]) + pid + b"\x01" * n)
                elif kind == 12:  # PINGREQ
                    conn.sendall(b"\xd0\x00")
                elif kind == 14:  # DISCONNECT
                    break
        except (OSError, ConnectionError):
            pass
        finally:
            conn.close()

    def count(self):
        with self.lock:
            return len(self.publishes)

    def close(self):
        """Free the port for good: a listener closed while a thread waits in accept() stays
        bound until that call returns, and would take the real broker's connections."""
        self.stopped.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in the other thread
        except OSError:
            pass
        self.acceptor.join(GUARD_S)
        self.listener.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()


def wait_until(what, pred):
    deadline = time.monotonic() + GUARD_S
    while not pred():
        if time.monotonic() > deadline:
            fwtest.fail("timed out waiting for %s" % what)
        time.sleep(0.05)


def alert_key(payload):
    """(CAP identifier) of a forestry message: the route speaks CAP XML."""
    m = re.search(rb"<identifier>([^<]+)</identifier>", payload)
    check(m is not None, "a forestry message without a CAP identifier: %r" % payload[:200])
    return m.group(1).decode()


def test(env):
    # The bureau's real broker, with persistence, and its duty desk's persistent session,
    # registered once so that the broker keeps what arrives while the desk is away.
    bureau = env.add_broker("bureau", persistent=True)
    desk = fwtest.MqttSession(bureau.port, "forestry-duty-desk", TOPIC)
    wait_until("the duty desk's session", lambda: desk.connects > 0)
    bureau.stop()

    cfg = fwtest.load_json_file(env.config_path)
    cfg["brokers"]["bureau"] = {"host": "127.0.0.1", "port": bureau.port,
                                "reconnect_min_ms": 100, "reconnect_max_ms": 400}
    cfg["routes"]["forestry"]["broker"] = "bureau"
    cfg["routes"]["forestry"]["topic"] = TOPIC
    cfg["routes"]["forestry"]["format"] = "cap-xml"
    fwtest.write_json_file(env.config_path, cfg)
    db = os.path.join(os.path.dirname(env.config_path), "forestwatch.db")

    hole = BlackHole(bureau.port)
    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()

    # Three smoke alerts fire and resolve: twelve forestry messages at least (smoke_high, and
    # the zone rules it triggers), none of them ever acknowledged.
    for value in (450.0, 10.0):
        for node in NODES:
            env.send_reading(node, "smoke_ppm", value)
        if value > 300:
            for node in NODES:
                emergency.wait_for(
                    lambda m: is_alert("firing", "smoke_high", node)(m.json),  # noqa: B023
                    what="smoke_high of %s on emergency while forestry hangs" % node)
    wait_until("the black hole receiving forestry messages", lambda: hole.count() >= 6)
    check(daemon.alive(), "the daemon died while its broker never acknowledged")
    # The emergency route kept flowing: the resolutions arrive too.
    for node in NODES:
        emergency.wait_for(lambda m: is_alert("resolved", "smoke_high", node)(m.json),  # noqa: B023
                           what="smoke_high of %s resolved on emergency" % node)
    check(not re.search(r'broker "bureau": message \d+ acknowledged', daemon.log_text()),
          "the daemon took a message as acknowledged that the broker never acknowledged")

    # What the daemon committed for forestry (its history) is what must arrive.
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=2)
    try:
        cols = [r[1] for r in con.execute("PRAGMA table_info(history)")]
        check("route" in cols, "history has no route column: %s" % cols)
        committed = con.execute("SELECT COUNT(*) FROM history WHERE route = 'forestry'") \
            .fetchone()[0]
    finally:
        con.close()
    check(committed >= 6, "only %d forestry messages committed" % committed)
    swallowed = {alert_key(p) for p in hole.publishes}
    fwtest.log("black hole: %d publishes swallowed (%d distinct), %d committed"
               % (hole.count(), len(swallowed), committed))

    # A real broker takes the port back: every committed message reaches the duty desk.
    hole.close()
    bureau.start()
    wait_until("%d forestry messages at the duty desk" % committed,
               lambda: len({alert_key(p) for _, p in desk.snapshot()}) >= committed)
    got = {alert_key(p) for _, p in desk.snapshot()}
    missing = swallowed - got
    check(not missing, "alerts swallowed by the black hole never arrived: %s" % sorted(missing))
    check(daemon.alive(), "the daemon died")
    daemon.stop()
    desk.close()
    fwtest.log("delivered after the outage: %d distinct messages" % len(got))


if __name__ == "__main__":
    fwtest.run(test)
