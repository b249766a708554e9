#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The whole gateway on loopback with a real mosquitto: figures, never pass/fail.

  ingest     native uplinks per second through decode, rules and the outbox, against the rate
             at which the same mosquitto hands the same messages to a plain subscriber (the
             ceiling), measured in the same run, as a ratio;
  latency    from the publish of an over-threshold reading to the alert's arrival at the
             bureau's subscriber: p50, p99 and max, idle and under 50% and 90% of the measured
             ingest rate;
  memory     the daemon's resident set with 1,000, 10,000 and 100,000 nodes (50 per zone),
             each having sent a reading (so each has its series);
  cpu        instructions per uplink (valgrind's callgrind, repeatable on a noisy machine): a
             run with m uplinks against an idle run, divided by m;
  start-up   from exec to "online" on the status topic, and the time a SIGHUP reload of the
             same large config takes (from the daemon's own log timestamps);
  zones      ingest, as above, with 100,000 extra nodes in two zones of 50,000, each node
             sending one reading: what a zone rule (`count by (zone) (...)`) costs at that size.

With --node-red RED_JS (red.js of an npm install of node-red) the same harness measures the
same pipeline built in Node-RED (MQTT in, a threshold rule, MQTT out) in the same run.

usage: bench_gateway.py [--quick] [--json FILE] [--node-red RED_JS] [--zones-only]
(--zones-only: only the two large zones, for forestwatch; --quick makes them 1,000 nodes each)
Needs FW_BUILD_DIR (the build folder) and FW_SOURCE_DIR; scripts/bench.sh sets them.
"""
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import fwtest  # noqa: E402

UPLINK_TOPIC = "forestwatch/field/bench/up"
CEILING_TOPIC = "bench/ceiling/up"


# -- a minimal MQTT 3.1.1 client: QoS 0 publish, QoS 0 subscribe, arrival times ----------------

_str = fwtest.mqtt_str
_packet = fwtest.mqtt_packet


class Client:
    def __init__(self, port, client_id, subscribe=None):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Keep-alive 0 (off): this client sends no PINGREQ, and a slow run (a large zone before
        # it was kept incrementally) leaves it silent for minutes; with 60 s the broker dropped it
        # after 90 s and the batch's alert was never seen.
        self.sock.sendall(_packet(0x10, _str("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 0)
                                  + _str(client_id)))
        self.buf = b""
        self._packet()  # CONNACK
        self.arrivals = []  # (monotonic time, payload)
        self.lock = threading.Lock()
        if subscribe:
            self.sock.sendall(_packet(0x82, struct.pack("!H", 1) + _str(subscribe) + b"\x00"))
            self._packet()  # SUBACK
            threading.Thread(target=self._read, daemon=True).start()

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def _packet(self):
        self._need(2)
        i, mult, length = 1, 1, 0
        while True:
            self._need(i + 1)
            byte = self.buf[i]
            length += (byte & 0x7F) * mult
            mult *= 128
            i += 1
            if not byte & 0x80:
                break
        self._need(i + length)
        head, body = self.buf[0], self.buf[i:i + length]
        self.buf = self.buf[i + length:]
        return head, body

    def _read(self):
        try:
            while True:
                head, body = self._packet()
                now = time.monotonic()
                if head >> 4 == 3:
                    tlen = struct.unpack("!H", body[:2])[0]
                    qos = (head >> 1) & 3
                    payload = body[2 + tlen + (2 if qos else 0):]
                    with self.lock:
                        self.arrivals.append((now, payload))
        except (OSError, ConnectionError):
            pass

    def publish(self, topic, payload):
        self.sock.sendall(_packet(0x30, _str(topic) + payload))

    def count(self):
        with self.lock:
            return len(self.arrivals)

    def close(self):
        try:
            self.sock.sendall(b"\xe0\x00")
        except OSError:
            pass
        self.sock.close()


def wait(pred, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.001)


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def uplink(node, value, ms):
    return json.dumps({"node": node, "time": iso(ms), "readings": [
        {"metric": "smoke_ppm", "value": value, "unit": "ppm"}]}).encode()


# -- the world: a mosquitto, a config with n nodes, the daemon ---------------------------------

class World:
    def __init__(self, nodes=0, per_zone=50):
        self.dir = tempfile.mkdtemp(prefix="fw-bench-")
        self.broker = fwtest.Broker(self.dir)
        with open(self.broker.conf, "a") as f:
            # A burst of 50,000 messages must reach each subscriber whole, however slow it is:
            # mosquitto otherwise drops what exceeds 1,000 queued messages per client.
            f.write("max_queued_messages 0\n")
            # Nagle's delay on the broker's side (up to 40 ms with delayed ACKs) would be
            # measured instead of the gateway; a bureau's broker may want this too.
            f.write("set_tcp_nodelay true\n")
        self.broker.start()
        self.config_path = fwtest.make_config(os.path.join(self.dir, "config"), self.broker.port)
        cfg = fwtest.load_json_file(self.config_path)
        cfg["uplinks"] = [{"broker": "local", "topic": "forestwatch/field/+/up", "qos": 1,
                           "format": "native"}]
        cfg["limits"] = dict(cfg.get("limits", {}), node_messages_per_s=100000,
                             node_burst=1000000)
        cfg.pop("record", None)
        self.nodes = list(cfg["nodes"].keys())
        self.smoke = [n for n in self.nodes if "smoke" in n]
        if nodes:
            # A zone per 50 nodes (a forest chief's grid cell) unless told otherwise, copied from
            # the shipped bs-03 without its fire model: zone rules aggregate over a zone's
            # stations, so how nodes are spread over zones matters as much as how many there are.
            template = {k: v for k, v in cfg["zones"]["bs-03"].items() if k != "fire"}
            for z in range((nodes + per_zone - 1) // per_zone):
                cfg["zones"]["g%05d" % z] = dict(template)
            for i in range(nodes):
                cfg["nodes"]["n%06d" % i] = {"zone": "g%05d" % (i // per_zone), "kind": "smoke"}
            self.nodes = list(cfg["nodes"].keys())
        fwtest.write_json_file(self.config_path, cfg)
        self.forestry_topic = cfg["routes"]["forestry"]["topic"]
        self.status_topic = cfg["gateway"]["status_topic"]
        self.proc = None

    def start_daemon(self, wrapper=()):
        self.log_path = os.path.join(self.dir, "forestwatchd.log")
        t0 = time.monotonic()
        logf = open(self.log_path, "w")
        level = os.environ.get("FW_BENCH_LOG", "notice")
        self.proc = subprocess.Popen(list(wrapper) + [fwtest.binary("forestwatchd"), "-c",
                                                      self.config_path, "-v", level],
                                     stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        # Ready when it says "online": it does so once its subscriptions are in place.
        status = Client(self.broker.port, "bench-status", self.status_topic)
        wait(lambda: any(p == b"online" for _, p in status.arrivals) or self.proc.poll() is not None,
             "the daemon to start")
        if self.proc.poll() is not None:
            raise RuntimeError("the daemon exited at start: " + self.log()[-500:])
        status.close()
        return time.monotonic() - t0

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.broker.stop()
        subprocess.run(["rm", "-rf", self.dir])


# -- the peer: the same pipeline in Node-RED ------------------------------------------------------

# MQTT in (the uplink topic), a function node with the threshold rule, MQTT out (the bureau's
# topic). Like forestwatch it says "firing" when a node's smoke goes over 300 ppm and "resolved"
# when it comes back; unlike forestwatch it keeps nothing on disk, renders no CAP and checks no
# units or ranges, so it does less work per message than the gateway it is compared with.
NODE_RED_RULE = """
let m;
try { m = JSON.parse(msg.payload); } catch (e) { return null; }
const r = (m.readings || []).find(x => x.metric === "smoke_ppm");
if (!r || typeof m.node !== "string") return null;
const state = context.get("over") || {};
const over = r.value > 300;
if (!!state[m.node] === over) return null;
state[m.node] = over;
context.set("over", state);
msg.topic = "%(topic)s";
msg.payload = JSON.stringify({rule: "smoke_high", node: m.node, value: r.value,
                              status: over ? "firing" : "resolved", time: m.time});
return msg;
"""


class NodeRedWorld(World):
    """The same broker and inputs, with Node-RED (red.js of an npm install) in the daemon's place."""

    def __init__(self, red_js, nodes=0):
        World.__init__(self, nodes)
        self.red_js = red_js

    def start_daemon(self, wrapper=()):
        user_dir = os.path.join(self.dir, "node-red")
        os.makedirs(user_dir, exist_ok=True)
        flows = [
            {"id": "tab", "type": "tab", "label": "forestwatch peer"},
            {"id": "broker", "type": "mqtt-broker", "broker": "127.0.0.1",
             "port": str(self.broker.port), "clientid": "node-red-bench", "protocolVersion": "4",
             "keepalive": "60", "cleansession": True, "autoConnect": True},
            {"id": "in", "type": "mqtt in", "z": "tab", "topic": "forestwatch/field/+/up",
             "qos": "1", "datatype": "utf8", "broker": "broker", "wires": [["rule"]]},
            {"id": "rule", "type": "function", "z": "tab", "name": "smoke_high",
             "func": NODE_RED_RULE % {"topic": self.forestry_topic}, "outputs": 1,
             "wires": [["out"]]},
            {"id": "out", "type": "mqtt out", "z": "tab", "qos": "1", "retain": "false",
             "broker": "broker", "wires": []},
        ]
        with open(os.path.join(user_dir, "flows.json"), "w") as f:
            json.dump(flows, f)
        self.log_path = os.path.join(self.dir, "node-red.log")
        t0 = time.monotonic()
        logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(["node", self.red_js, "--userDir", user_dir, "--port",
                                      str(fwtest.free_port()), "flows.json"],
                                     stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        wait(lambda: "Connected to broker" in self.log(), "Node-RED to connect", timeout=120)
        # Its subscription follows the connection: a probe through the flow shows it in place.
        probe = Client(self.broker.port, "bench-probe", self.forestry_topic)
        pub = Client(self.broker.port, "bench-probe-pub")
        node = "probe-%d" % os.getpid()
        deadline = time.monotonic() + 60
        while not probe.count() and time.monotonic() < deadline:
            pub.publish(UPLINK_TOPIC, uplink(node, 999.0, int(time.time() * 1000)))
            time.sleep(0.2)
        pub.publish(UPLINK_TOPIC, uplink(node, 1.0, int(time.time() * 1000)))
        wait(lambda: probe.count() >= 2, "Node-RED's probe alerts")
        probe.close()
        pub.close()
        return time.monotonic() - t0


# -- the measurements ---------------------------------------------------------------------------

def pub_lines(port, lines, topic=UPLINK_TOPIC):
    """mosquitto_pub -l: the same publisher for the ceiling and for the daemon."""
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1",
                    "-t", topic, "-l"], input=b"\n".join(lines) + b"\n", check=True)


def ingest(world, n, timeout=120, quiet=None):
    base = int(time.time() * 1000) - n - 1000  # recent: the rules' lookback must see them
    quiet = quiet or [n_ for n_ in world.nodes if "smoke" not in n_] or world.nodes
    lines = [uplink(quiet[i % len(quiet)], 10.0 + i % 50, base + i) for i in range(n - 1)]
    lines.append(uplink(world.smoke[0], 999.0, base + n))

    # The ceiling: a plain subscriber takes the same n messages, on a topic the daemon does not
    # read (the same broker, publisher and payloads).
    # mosquitto_sub (C, like the daemon) exits after n messages; a marker shows it subscribed.
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(world.broker.port),
                            "-q", "1", "-t", CEILING_TOPIC, "-C", str(n + 1)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while True:
        pub_lines(world.broker.port, [b"marker"], CEILING_TOPIC)
        if sub.stdout.readline().strip() == b"marker":
            break
    t0 = time.monotonic()
    pub_lines(world.broker.port, lines, CEILING_TOPIC)
    sub.stdout.read()
    sub.wait()
    ceiling = n / (time.monotonic() - t0)

    # The daemon: the last message is over threshold; its alert marks the end of the batch.
    bureau = Client(world.broker.port, "bench-bureau", world.forestry_topic)
    t0 = time.monotonic()
    pub_lines(world.broker.port, lines)
    wait(lambda: any(b"999" in p for _, p in bureau.arrivals), "the batch's alert", timeout)
    end = next(t for t, p in bureau.arrivals if b"999" in p)
    rate = n / (end - t0)
    bureau.close()
    return ceiling, rate


def latency(world, samples, load_rate):
    """Alert latency over `samples` readings alternating over and under threshold (each makes a
    firing or a resolved alert), with a background publisher at load_rate messages a second."""
    bureau = Client(world.broker.port, "bench-lat-bureau", world.forestry_topic)
    pub = Client(world.broker.port, "bench-lat-pub")
    stop = threading.Event()
    quiet = [n_ for n_ in world.nodes if "smoke" not in n_] or world.nodes
    achieved = {"sent": 0, "s": 0.0}

    def background():
        bg = Client(world.broker.port, "bench-load")
        i, t_next = 0, time.monotonic()
        started = t_next
        while not stop.is_set():
            bg.publish(UPLINK_TOPIC, uplink(quiet[i % len(quiet)], 20.0,
                                            int(time.time() * 1000)))
            i += 1
            t_next += 1.0 / load_rate
            delay = t_next - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        achieved.update(sent=i, s=time.monotonic() - started)
        bg.close()

    th = None
    if load_rate:
        th = threading.Thread(target=background, daemon=True)
        th.start()
        time.sleep(0.5)
    node = world.smoke[-1]
    out = []
    for k in range(samples):
        value = 800.0 + k if k % 2 == 0 else 5.0
        before = bureau.count()
        t0 = time.monotonic()
        pub.publish(UPLINK_TOPIC, uplink(node, value, int(time.time() * 1000)))
        wait(lambda: bureau.count() > before, "alert %d" % k, timeout=30)
        out.append((bureau.arrivals[before][0] - t0) * 1000)
        # Below the route's publish pacing (store.rate_per_route, 10 a second as shipped), so
        # that the figure is the pipeline's latency and not the pacer's queue.
        time.sleep(max(0.0, t0 + 0.15 - time.monotonic()))
    stop.set()
    if th:
        th.join()
    pub.close()
    bureau.close()
    out.sort()
    return {"p50": statistics.median(out), "p99": out[min(len(out) - 1, int(len(out) * 0.99))],
            "max": out[-1], "n": len(out),
            "load_achieved_per_s": achieved["sent"] / achieved["s"] if achieved["s"] else 0.0}


def memory(make_world, n_nodes, reload=True):
    world = make_world(n_nodes)
    try:
        start_s = world.start_daemon()
        rss0 = world.rss_kib()
        base = int(time.time() * 1000) - len(world.nodes) - 1000
        lines = [uplink(node, 10.0, base + i) for i, node in enumerate(world.nodes)]
        lines.append(uplink(world.smoke[0], 999.0, base + len(lines)))
        bureau = Client(world.broker.port, "bench-mem", world.forestry_topic)
        for i in range(0, len(lines), 20000):
            pub_lines(world.broker.port, lines[i:i + 20000])
        wait(lambda: any(b"999" in p for _, p in bureau.arrivals), "the memory batch's alert",
             timeout=600)
        bureau.close()
        rss = world.rss_kib()
        if not reload:
            return {"nodes": len(world.nodes), "rss_start_kib": rss0, "rss_kib": rss,
                    "start_s": start_s}
        before = len(world.log())
        world.proc.send_signal(signal.SIGHUP)
        wait(lambda: "reload: done" in world.log()[before:], "the reload", timeout=300)
        stamps = [ln.split(" ")[0] for ln in world.log()[before:].splitlines()
                  if "daemon: reload:" in ln]
        t = [fwtest_parse(s) for s in (stamps[0], stamps[-1])]
        return {"nodes": len(world.nodes), "rss_start_kib": rss0, "rss_kib": rss,
                "start_s": start_s, "reload_s": t[1] - t[0]}
    finally:
        world.close()


def instructions(n):
    """Instructions the daemon executes (callgrind, which counts them repeatably) for a run with
    n uplinks, start-up and shutdown included; returns the total."""
    world = World()
    out = os.path.join(world.dir, "callgrind.out")
    try:
        world.start_daemon(("valgrind", "--tool=callgrind", "--callgrind-out-file=" + out))
        if n:
            base = int(time.time() * 1000) - n - 1000
            quiet = [n_ for n_ in world.nodes if "smoke" not in n_]
            lines = [uplink(quiet[i % len(quiet)], 10.0 + i % 50, base + i) for i in range(n - 1)]
            lines.append(uplink(world.smoke[0], 999.0, base + n))
            bureau = Client(world.broker.port, "bench-cg", world.forestry_topic)
            pub_lines(world.broker.port, lines)
            wait(lambda: any(b"999" in p for _, p in bureau.arrivals), "the callgrind batch",
                 timeout=600)
            bureau.close()
        world.proc.send_signal(signal.SIGTERM)
        world.proc.wait(timeout=120)
        with open(out) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
        raise RuntimeError("no totals in " + out)
    finally:
        world.close()


def fwtest_parse(stamp):
    """The daemon's log timestamp (RFC 3339, UTC, ms) in seconds."""
    import datetime
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def large_zones(quick):
    """Ingest of 50,000 uplinks (2,000 with --quick) from distinct nodes of two zones of 50,000
    (1,000), alternately; the shipped zone rule `two_smoke_sensors` (count by (zone)) evaluates
    each in its zone. One burst of more (every node once) is more than the broker queues for one
    publisher: mosquitto drops it as out of memory."""
    per_zone = 1000 if quick else 50000
    world = World(2 * per_zone, per_zone)
    try:
        world.start_daemon()
        n = 2000 if quick else 50000
        quiet = ["n%06d" % (i // 2 + (i % 2) * per_zone) for i in range(n)]
        ceiling, rate = ingest(world, n, timeout=3600, quiet=quiet)
        print("forestwatch: zones: 2 x %d nodes, %d messages: ceiling %.0f/s, %.0f/s, ratio %.2f"
              % (per_zone, n, ceiling, rate, rate / ceiling), flush=True)
        return {"zones": 2, "nodes_per_zone": per_zone, "messages": n, "ceiling_per_s": ceiling,
                "rate_per_s": rate, "ratio": rate / ceiling}
    finally:
        world.close()


def run_pipeline(name, make_world, quick, cpu=True, reload=True):
    """Every measurement of one pipeline; returns its figures."""
    n = 2000 if quick else 50000
    results = {"name": name}
    world = make_world(0)
    try:
        world.start_daemon()
        ceiling, rate = ingest(world, n)
        results["ingest"] = {"messages": n, "ceiling_per_s": ceiling, "rate_per_s": rate,
                             "ratio": rate / ceiling}
        print("%s: ingest: %d messages: ceiling %.0f/s, %.0f/s, ratio %.2f"
              % (name, n, ceiling, rate, rate / ceiling), flush=True)
        samples = 10 if quick else 200
        results["latency"] = {}
        for label, frac in (("idle", 0), ("50%", 0.5), ("90%", 0.9)):
            lat = latency(world, samples, rate * frac)
            lat["load_per_s"] = rate * frac
            results["latency"][label] = lat
            print("%s: latency %-4s (load %6.0f/s asked, %6.0f/s sent): p50 %.2f ms, "
                  "p99 %.2f ms, max %.2f ms (%d)"
                  % (name, label, rate * frac, lat["load_achieved_per_s"], lat["p50"],
                     lat["p99"], lat["max"], lat["n"]), flush=True)
    finally:
        world.close()
    if cpu and shutil.which("valgrind") and not fwtest.sanitizer_of(fwtest.binary("forestwatchd")):
        m = 500 if quick else 5000
        base_ir, run_ir = instructions(0), instructions(m)
        per = (run_ir - base_ir) / m
        results["cpu"] = {"messages": m, "instructions_per_message": per}
        print("%s: cpu: %.0f instructions per uplink (callgrind, %d uplinks against an idle run)"
              % (name, per, m), flush=True)
    results["memory"] = []
    for nodes in ((1000,) if quick else (1000, 10000, 100000)):
        m = memory(make_world, nodes, reload)
        results["memory"].append(m)
        print("%s: memory: %6d nodes: RSS %.1f MiB after start, %.1f MiB with a series each; "
              "start %.2f s, reload %s"
              % (name, m["nodes"], m["rss_start_kib"] / 1024, m["rss_kib"] / 1024, m["start_s"],
                 "%.2f s" % m["reload_s"] if reload else "-"), flush=True)
    return results


def main(argv):
    quick = "--quick" in argv
    if not shutil.which("mosquitto") and os.path.exists("/usr/sbin/mosquitto"):
        os.environ["PATH"] += os.pathsep + "/usr/sbin"
    for tool in ("mosquitto", "mosquitto_sub", "mosquitto_pub"):
        if not shutil.which(tool):
            print("bench_gateway: SKIP: %s not installed" % tool)
            return 77
    out_json = argv[argv.index("--json") + 1] if "--json" in argv else None
    red_js = argv[argv.index("--node-red") + 1] if "--node-red" in argv else None
    if "--zones-only" in argv:
        large_zones(quick)
        return 0
    results = [run_pipeline("forestwatch", World, quick)]
    results[0]["zones"] = large_zones(quick)
    if red_js:
        results.append(run_pipeline("node-red", lambda n: NodeRedWorld(red_js, n), quick,
                                    cpu=False, reload=False))
    print_table(results)
    if out_json:
        with open(out_json, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d", time.gmtime()), "runs": results}, f,
                      indent=1)
    return 0


def print_table(results):
    """The figures of every pipeline side by side."""
    rows = [("ingest, uplinks/s", lambda r: "%.0f" % r["ingest"]["rate_per_s"]),
            ("ingest / broker ceiling", lambda r: "%.2f" % r["ingest"]["ratio"])]
    for label in ("idle", "50%", "90%"):
        rows.append(("latency %s p50/p99/max ms" % label,
                     lambda r, k=label: "%.2f/%.2f/%.2f" % tuple(
                         r["latency"][k][x] for x in ("p50", "p99", "max"))))
    rows.append(("ingest / ceiling, 2 zones x %d" % results[0]["zones"]["nodes_per_zone"],
                 lambda r: "%.2f" % r["zones"]["ratio"] if "zones" in r else "-"))
    rows.append(("instructions per uplink",
                 lambda r: "%.0f" % r["cpu"]["instructions_per_message"] if "cpu" in r else "-"))
    for i, m in enumerate(results[0]["memory"]):
        rows.append(("RSS MiB, %d nodes" % m["nodes"],
                     lambda r, i=i: "%.1f" % (r["memory"][i]["rss_kib"] / 1024)))
    m = results[0]["memory"][-1]
    rows.append(("start-up s, %d nodes" % m["nodes"],
                 lambda r: "%.2f" % r["memory"][-1]["start_s"]))
    rows.append(("reload s, %d nodes" % m["nodes"],
                 lambda r: "%.2f" % r["memory"][-1]["reload_s"]
                 if "reload_s" in r["memory"][-1] else "-"))
    print("\n%-32s" % "" + "".join("%20s" % r["name"] for r in results))
    for label, get in rows:
        print("%-32s" % label + "".join("%20s" % get(r) for r in results))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
