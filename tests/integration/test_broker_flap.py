#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# No alert lost when the bureau's broker flaps during a backlog. The gateway reaches the
# forestry bureau's broker through a TCP relay that, many times a second, cuts every connection
# with a reset (as a broker that dies, a firewall that drops state or a flaky uplink does) and
# now and then refuses connections for a moment. Meanwhile the field sends a stream of smoke
# readings that raise and resolve alerts. A write into a connection that has just been cut fails
# as "broken pipe" or "connection reset"; such a message must stay in the outbox, in order, and
# go out on the next connection. At the end the bureau's subscriber must hold every message the
# gateway committed, each alert's firing before its resolution, and the alert history must show
# every message delivered and none given up. The test prints the counts.

import os
import random
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check  # noqa: E402

ALERTS = 1500
ROUNDS = 15
NODES = ["bs03-smoke-01", "bs03-smoke-02", "bs07-smoke-01"]
GUARD_S = 90
fwtest.SCRIPT_GUARD_S = 220  # below the ctest TIMEOUT (240 s): 3,000 messages, slow under ASan


class CuttingRelay:
    """A TCP relay from a loopback port to the broker that cuts its connections on demand with a
    reset (SO_LINGER 0), and refuses new ones (accept, then reset) while `down`."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.down = False
        self.cuts = 0
        self.accepted = 0
        self._lock = threading.Lock()
        self._pairs = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @staticmethod
    def _reset(sock):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    def _accept(self):
        while not self._stop:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                if self._stop:
                    return
                continue  # a connection reset before it was accepted: the relay goes on
            if self.down:
                self._reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
            except OSError:
                self._reset(client)
                continue
            try:
                for s in (client, upstream):
                    s.settimeout(None)
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # the gateway's side was reset already
                self._reset(client)
                self._reset(upstream)
                continue
            with self._lock:
                self._pairs.append((client, upstream))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        self._drop(src, dst)

    def _drop(self, a, b):
        with self._lock:
            self._pairs = [p for p in self._pairs if a not in p and b not in p]
        self._reset(a)
        self._reset(b)

    def cut(self):
        """Reset every open connection, on both sides."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
            if pairs:
                self.cuts += 1
        for client, upstream in pairs:
            self._reset(client)
            self._reset(upstream)

    def close(self):
        self._stop = True
        self.cut()
        self.lsock.close()



def wait_until(env, what, pred, guard=GUARD_S):
    deadline = time.monotonic() + guard
    while not pred():
        env.assert_alive()
        if time.monotonic() > deadline:
            fwtest.fail("timed out waiting for %s" % what)
        time.sleep(0.05)


def test(env):
    bureau = env.add_broker("bureau", persistent=True)
    relay = CuttingRelay(bureau.port)
    db = fwtest.smoke_to_bureau(env.config_path, relay.port, 50, 200)

    sub = fwtest.MqttSession(bureau.port, "bureau-duty-desk", "bureau/forestry/alerts")
    wait_until(env, "the bureau's subscriber", lambda: sub.connects > 0)
    daemon = env.start_daemon()

    # The flapping: a cut every 30 to 200 ms (each connection lives long enough to deliver
    # something, however slow the build), and every tenth time a refusal of 50 to 300 ms.
    stop_flap = threading.Event()
    rng = random.Random(14)

    def flap():
        n = 0
        while not stop_flap.is_set():
            stop_flap.wait(rng.uniform(0.03, 0.2))
            relay.cut()
            n += 1
            if n % 10 == 0:
                relay.down = True
                stop_flap.wait(rng.uniform(0.05, 0.3))
                relay.down = False

    flapper = threading.Thread(target=flap, daemon=True)
    flapper.start()

    t0 = int(time.time() * 1000) - 120000  # sample times, 10 ms apart, all in the past
    per_round = ALERTS // ROUNDS
    for r in range(ROUNDS):
        fwtest.publish_smoke_round(env.broker.port, "forestwatch/field/flap/up", NODES, r,
                                   per_round, t0, GUARD_S)
        want = 2 * per_round * (r + 1)
        wait_until(env, "%d messages committed after round %d" % (want, r),
                   lambda: fwtest.outbox_history(db)[0] >= want)
    # Keep flapping while the backlog drains, then let the last of it through.
    wait_until(env, "half the backlog delivered through the flapping",
               lambda: fwtest.outbox_history(db)[1] >= ALERTS)
    stop_flap.set()
    flapper.join()

    total = 2 * ALERTS
    wait_until(env, "every committed message settled",
               lambda: fwtest.outbox_history(db)[1] + fwtest.outbox_history(db)[2] >= total)
    rows, delivered, given_up = fwtest.outbox_history(db)
    wait_until(env, "every delivered message at the bureau",
               lambda: len({(m["id"], m["seq"])
                            for m in fwtest.cap_xml_alerts(sub.snapshot())}) >= delivered)
    raw = sub.snapshot()
    sub.close()
    env.extra_cap.extend(payload.decode() for _, payload in raw)  # each validated at the end
    msgs = fwtest.cap_xml_alerts(raw)
    log = daemon.log_text()
    daemon.stop()
    relay.close()

    firsts, episodes, copies = fwtest.episodes_of(msgs)
    kept = log.count(": kept, to be sent again")
    fwtest.log("flap: %d alerts, %d messages committed; relay cut %d times (%d connections); "
               "%d publishes failed on a cut connection and were kept; history: %d delivered, "
               "%d given up; bureau received %d messages, %d distinct, %d copies"
               % (ALERTS, rows, relay.cuts, relay.accepted, kept, delivered, given_up,
                  len(msgs), len(firsts), copies))
    check(given_up == 0 and "given up" not in log,
          "%d messages given up: %s" % (given_up, [ln for ln in log.splitlines()
                                                   if "given up" in ln][:3]))
    check(rows == total and delivered == total,
          "history: %d rows, %d delivered, expected %d" % (rows, delivered, total))
    check(len(episodes) == ALERTS, "expected %d alerts at the bureau, got %d"
          % (ALERTS, len(episodes)))
    bad = [i for i, s in episodes.items() if s != ["firing", "resolved"]]
    check(not bad, "%d alerts not received as [firing, resolved] in that order, e.g. %s: %s"
          % (len(bad), bad[:1], episodes.get(bad[0]) if bad else None))



if __name__ == "__main__":
    fwtest.run(test)
