#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The gateway on a real broker cluster: three nats-server nodes with JetStream and their MQTT
# listeners on loopback, started here. The gateway's broker lists the three nodes. A field
# reading published on node 2 raises an alert that the bureau's subscriber on node 3 receives.
# Then the node the gateway is on is killed (SIGKILL) and, while the gateway moves, smoke
# readings are published on node 2: the gateway reconnects to another node (its log names
# which), its persistent session hands over the readings queued meanwhile, and their alerts
# reach the bureau. The test prints the nodes and how long the move took.

import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check  # noqa: E402

fwtest.SCRIPT_GUARD_S = 170  # below the ctest TIMEOUT (180 s): a JetStream leader takes seconds
GUARD_S = 60


class NatsNode:
    """One nats-server of the cluster; `port` is its MQTT port (what the gateway uses)."""

    def __init__(self, workdir, name, ports, routes):
        self.name = name
        self.port = ports["mqtt"]
        self.client_args = []  # what mosquitto_pub/sub need besides host and port: nothing
        self.proc = None
        self.conf = os.path.join(workdir, name + ".conf")
        self.log_path = os.path.join(workdir, name + ".log")
        store = os.path.join(workdir, name + "-js")
        with open(self.conf, "w") as f:
            f.write("server_name: %s\nlisten: 127.0.0.1:%d\n" % (name, ports["client"]))
            f.write('jetstream { store_dir: "%s" }\n' % store)
            f.write("cluster {\n  name: fw\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n"
                    % (ports["cluster"], ", ".join('"nats://127.0.0.1:%d"' % r for r in routes)))
            f.write("mqtt { listen: 127.0.0.1:%d }\n" % self.port)

    def start(self):
        logf = open(self.log_path, "a")
        self.proc = subprocess.Popen([nats_server(), "-c", self.conf], stdout=logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def log_text(self):
        return fwtest.file_text(self.log_path)


def nats_server():
    return shutil.which("nats-server") or "/usr/sbin/nats-server"


def publish(node, topic, payload, guard=GUARD_S):
    """QoS 1 publish on `node`, again until the cluster acknowledges it: right after a start or a
    node's death the cluster refuses or holds QoS 1 for seconds (a copy is possible then, and
    harmless: the same reading)."""
    deadline = time.monotonic() + guard
    while True:
        res = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(node.port), "-q", "1",
                              "-i", "fw-test-field", "-t", topic, "-s"], input=payload.encode(),
                             capture_output=True, timeout=30)
        if res.returncode == 0:
            return
        if time.monotonic() > deadline:
            fwtest.fail("publish on %s: %s" % (node.name, res.stderr.decode(errors="replace")))
        time.sleep(0.5)


def wait_for(what, pred, guard=GUARD_S, env=None):
    deadline = time.monotonic() + guard
    while True:
        got = pred()
        if got:
            return got
        if env:
            env.assert_alive()
        if time.monotonic() > deadline:
            fwtest.fail("timed out waiting for %s" % what)
        time.sleep(0.1)


def connected_nodes(daemon):
    """The nodes ("1/3", ...) the daemon's link said it connected to, in order."""
    return re.findall(r'mqtt: broker "local" node (\d)/3 [^:]+:\d+: connected', daemon.log_text())


def alerts(sub):
    return [fwtest.Message(t, p, False, 1).json for t, p in sub.snapshot()]


def test(env):
    if not os.path.exists(nats_server()):
        print("test_cluster.py: SKIP: nats-server not installed")
        sys.exit(fwtest.SKIP_EXIT)
    ports = [{"client": fwtest.free_port(), "cluster": fwtest.free_port(),
              "mqtt": fwtest.free_port()} for _ in range(3)]
    routes = [p["cluster"] for p in ports]
    nodes = [NatsNode(env.workdir, "n%d" % (i + 1), ports[i], routes) for i in range(3)]
    try:
        run(env, nodes)
    except BaseException:
        for n in nodes:
            sys.stderr.write("\n===== %s.log (tail) =====\n%s\n" % (n.name, n.log_text()[-3000:]))
        raise
    finally:
        for n in nodes:
            n.kill()


def run(env, nodes):
    for n in nodes:
        n.start()
    # The cluster is ready when QoS 1 goes through it: a JetStream leader has been elected.
    t0 = time.monotonic()
    for n in nodes:
        publish(n, "fwtest/ready", "ready")
    fwtest.log("cluster: QoS 1 through all three nodes %.1f s after start" % (time.monotonic() - t0))

    cfg = fwtest.load_json_file(env.config_path)
    cfg["brokers"]["local"] = {"nodes": [{"host": "127.0.0.1", "port": n.port} for n in nodes],
                               "reconnect_min_ms": 200, "reconnect_max_ms": 1000,
                               "keepalive_s": 10}
    fwtest.write_json_file(env.config_path, cfg)

    bureau = fwtest.MqttSession(nodes[2].port, "bureau-duty-desk", "bureau/forestry/alerts")
    wait_for("the bureau's subscriber on node 3", lambda: bureau.connects > 0)
    daemon = env.daemon()
    wait_for("the gateway connected", lambda: connected_nodes(daemon), env=env)
    first = connected_nodes(daemon)[-1]
    check(first == "1", "the gateway should start on the first node, got node %s" % first)
    # Across nodes: a reading published on node 2, its alert received on node 3. The gateway
    # subscribes on CONNACK and a QoS 1 SUBSCRIBE takes the cluster up to a second: until its
    # alert is seen the same reading is sent again (a copy of a reading is the same reading).
    first_reading = fwtest.uplink("bs07-smoke-01", [("smoke_ppm", 480.0)], fwtest.now_rfc3339(-30))

    def first_alert():
        if any(a.get("status") == "firing" and a.get("node") == "bs07-smoke-01"
               for a in alerts(bureau)):
            return True
        publish(nodes[1], fwtest.uplink_topic("bs07-smoke-01"), first_reading)
        time.sleep(1)
        return False

    wait_for("the alert of the reading sent on node 2, at the bureau on node 3", first_alert,
             env=env)

    # The gateway's node dies; readings are published while the gateway moves.
    killed_at = time.monotonic()
    nodes[0].kill()
    sent = ["bs03-smoke-01", "bs03-smoke-02"]
    for i, node in enumerate(sent):
        publish(nodes[1], fwtest.uplink_topic(node),
                fwtest.uplink(node, [("smoke_ppm", 470.0 + i)], fwtest.now_rfc3339(-20 + i)))
    moved = wait_for("the gateway on another node",
                     lambda: [k for k in connected_nodes(daemon)[1:] if k != "1"], env=env)
    moved_s = time.monotonic() - killed_at
    wait_for("the alerts of the readings sent while the gateway moved",
             lambda: all(any(a.get("status") == "firing" and a.get("node") == node
                             for a in alerts(bureau)) for node in sent), env=env)
    got = alerts(bureau)
    fwtest.log("cluster: gateway on node %s, then on node %s after its node was killed "
               "(%.1f s from the kill to the reconnect); the bureau on node 3 received %d "
               "messages" % (first, moved[-1], moved_s, len(got)))
    bureau.close()
    for t, p in bureau.snapshot():
        env.extra_cap.append(p.decode())
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
