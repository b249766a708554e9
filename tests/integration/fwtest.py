#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Integration-test harness for forestwatch (Python 3 standard library only). Each test script
# runs a real mosquitto broker on a free loopback port, a real forestwatchd with a config
# generated from config/ (the broker port changed, everything else as shipped), and observes the
# daemon only from the outside: MQTT topics through mosquitto_sub, its exit code, and its log.
# Ordering is proven with messages rather than sleeps: every wait has a deadline (a hang guard,
# never a timing assertion), and "nothing happened" is shown by the next message on a topic
# being the one caused by a later input. On failure the daemon's and the broker's logs are
# printed. Run as a program, it also generates a demo config (see `mkconfig` at the bottom).

import binascii
import datetime
import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import xml.etree.ElementTree as ET

# Bound of every single wait in the tests; generous because CI machines stall, but finite so a
# broken daemon fails the test instead of hanging it.
HANG_GUARD_S = 10.0
# Valgrind makes the daemon start and stop an order of magnitude slower.
VALGRIND_GUARD_S = 30.0
# Watchdog for the whole script, below the ctest TIMEOUT so our logs still get printed.
SCRIPT_GUARD_S = 55

SYNC_PREFIX = "fwtest/sync"

UNITS = {
    "air_temp_c": "degC",
    "rel_humidity_pct": "%",
    "wind_speed_ms": "m/s",
    "wind_dir_deg": "deg",
    "rain_mm": "mm",
    "smoke_ppm": "ppm",
    "co_ppm": "ppm",
    "battery_v": "V",
    "pressure_hpa": "hPa",
    "trap_count": "count",
    "soil_moisture_pct": "%",
}


class TestFailure(Exception):
    """An assertion about the daemon's behaviour did not hold."""


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def log(msg):
    sys.stderr.write("fwtest: %s\n" % msg)
    sys.stderr.flush()


# ------------------------------------------------------------------------------------------
# Paths, ports, config files
# ------------------------------------------------------------------------------------------

def source_dir():
    d = os.environ.get("FW_SOURCE_DIR")
    if d:
        return d
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def build_dir():
    """The CMake build dir: FW_BUILD_DIR, else the first command-line argument, else build/."""
    d = os.environ.get("FW_BUILD_DIR")
    if not d and len(sys.argv) > 1:
        d = sys.argv[1]
    if not d:
        d = os.path.join(source_dir(), "build")
    return os.path.abspath(d)


def binary(name):
    path = os.path.join(build_dir(), name)
    if not os.access(path, os.X_OK):
        fail("%s not found or not executable (set FW_BUILD_DIR or pass the build dir)" % path)
    return path


def sanitizer_of(path):
    """"address" or "thread" when the binary was built with that sanitizer, else None.
    Valgrind cannot run such binaries, so the valgrind checks skip them."""
    with open(path, "rb") as f:
        data = f.read()
    for name, marker in (("address", b"__asan_init"), ("thread", b"__tsan_init")):
        if marker in data:
            return name
    return None


def free_port():
    """A TCP port free on loopback right now (the kernel picks it; the broker binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def import_debian(name):
    """Import module `name` of a Debian package (python3-prometheus-client, python3-selenium),
    or return None. Debian installs them where its own python3 looks; a python3 of another origin
    first in PATH does not look there, so that folder is tried too."""
    import importlib
    try:
        return importlib.import_module(name)
    except ImportError:
        pass
    debian = "/usr/lib/python3/dist-packages"
    if os.path.isdir(debian) and debian not in sys.path:
        sys.path.append(debian)
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def enable_console(config_path, **keys):
    """Give the config a `console` section on a free loopback port (docs/console.md), with
    `keys` added; returns the console's base URL."""
    cfg = load_json_file(config_path)
    port = free_port()
    cfg["console"] = dict({"port": port}, **keys)
    write_json_file(config_path, cfg)
    return "http://127.0.0.1:%d" % port


def http_get(url, timeout=HANG_GUARD_S):
    """GET url: (status, content type, body bytes); an error status is returned, not raised."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def http_json(url):
    status, ctype, body = http_get(url)
    check(status == 200 and ctype.startswith("application/json"),
          "GET %s: %s %s: %r" % (url, status, ctype, body[:300]))
    return json.loads(body)


def strip_json_comments(text):
    """Remove // and /* */ comments outside strings, keeping line breaks (so line numbers in
    error messages stay right) and everything inside strings, escapes included."""
    out = []
    i, n = 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
        elif c == '"':
            in_str = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("".join(ch for ch in text[i:end] if ch == "\n"))
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def load_json_file(path):
    with open(path, encoding="utf-8") as f:
        return json.loads(strip_json_comments(f.read()))


def write_json_file(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")
    # Rename so a daemon reloading at the wrong moment never reads half a file.
    os.replace(tmp, path)


def make_config(out_dir, port, host="127.0.0.1", src_config_dir=None, models=False):
    """Write forestwatch.json (every broker pointed at host:port), the rating's table file and a
    copy of rules.d into out_dir; without `models`, the zones lose their fire, pest and rating
    models (and their danger_scale). Returns the path of
    the main file."""
    src = src_config_dir or os.path.join(source_dir(), "config")
    cfg = load_json_file(os.path.join(src, "forestwatch.json"))
    for broker in cfg.get("brokers", {}).values():
        broker["host"] = host
        broker["port"] = port
    # The zones' models run on the wall clock: a test that ran across a zone's noon or midnight
    # would see a missing day's alert. The tests of the models give their zones a plan of their
    # own (test_fire_model.py, test_pest_model.py, test_meteo.py, test_cn_model.py).
    for zone in cfg.get("zones", {}).values() if not models else ():
        zone.pop("fire", None)
        zone.pop("pests", None)
        zone.pop("cn", None)
        zone.pop("danger_scale", None)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "forestwatch.json")
    write_json_file(path, cfg)
    # The national rating's table file the config names, beside it as in config/.
    tables = cfg.get("cn_rating_tables")
    if tables and not os.path.isabs(tables):
        shutil.copyfile(os.path.join(src, tables), os.path.join(out_dir, tables))
    rules_src = os.path.join(src, "rules.d")
    rules_dst = os.path.join(out_dir, "rules.d")
    if os.path.isdir(rules_src):
        shutil.rmtree(rules_dst, ignore_errors=True)
        shutil.copytree(rules_src, rules_dst)
    return path


def smoke_to_bureau(config_path, port, reconnect_min_ms, reconnect_max_ms):
    """Reshape a generated config for a test of delivery under stress: one rule (smoke_high,
    smoke_ppm > 300) routed to the forestry bureau's topic on a broker "bureau" at `port`, an
    outbox at outbox.db paced at 1,000 a second, no node budget to speak of, no escalation and
    no retained zone states. Returns the outbox's path."""
    cfg = load_json_file(config_path)
    cfg["brokers"]["bureau"] = {"host": "127.0.0.1", "port": port,
                                "reconnect_min_ms": reconnect_min_ms,
                                "reconnect_max_ms": reconnect_max_ms}
    cfg["routes"] = {"forestry": {"broker": "bureau", "topic": "bureau/forestry/alerts"}}
    cfg["store"] = {"path": "outbox.db", "rate_per_route": 1000}
    cfg["limits"] = dict(cfg.get("limits", {}), node_messages_per_s=100000, node_burst=100000)
    for key in ("escalation", "state"):
        cfg.pop(key, None)
    write_json_file(config_path, cfg)
    rules_dir = os.path.join(os.path.dirname(config_path), "rules.d")
    for name in os.listdir(rules_dir):
        os.remove(os.path.join(rules_dir, name))
    write_json_file(os.path.join(rules_dir, "smoke.json"), {"rules": [{
        "name": "smoke_high", "expr": "smoke_ppm > 300", "severity": "Severe",
        "category": "Fire", "routes": ["forestry"]}]})
    return os.path.join(os.path.dirname(config_path), "outbox.db")


def ha_member(env, name, bureau_port, **ha):
    """A member of group "site-1" (docs/ha.md) in a folder of its own (its own outbox), its
    delivery reshaped by smoke_to_bureau and its `ha` section completed by `ha`; the brokers'
    client ids left to their defaults, which name the member. Returns (config path, outbox)."""
    path = make_config(os.path.join(env.workdir, "member-" + name), env.broker.port)
    db = smoke_to_bureau(path, bureau_port, 100, 400)
    cfg = load_json_file(path)
    for broker in cfg["brokers"].values():
        broker.pop("client_id", None)
    cfg["ha"] = dict({"group": "site-1", "member": name}, **ha)
    write_json_file(path, cfg)
    return path, db


def outbox_queued(db):
    """Rows in an outbox beside its running daemon: messages it holds, not yet delivered."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=2)
    try:
        return con.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        con.close()


def outbox_history(db):
    """(committed, delivered, given up): counts of the daemon's alert history at `db`, read
    beside the running daemon; zeros while the file cannot be read yet."""
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=2)
        try:
            return con.execute("SELECT COUNT(*), COUNT(delivered_ms), COUNT(dropped) "
                               "FROM history").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return (0, 0, 0)


def publish_smoke_round(broker_port, topic, nodes, rnd, per_round, t0_ms, guard):
    """Round `rnd` of a stream of smoke episodes: per_round episodes, each a reading above the
    smoke_high threshold then one below it, on the nodes in turn, sample times 10 ms apart from
    t0_ms across all rounds; published in one mosquitto_pub at QoS 1."""
    lines = []
    for k in range(per_round):
        episode = rnd * per_round + k
        for i, value in enumerate((400.0 + k % 50, 12.0)):
            lines.append(json.dumps({"node": nodes[episode % len(nodes)],
                                     "time": iso_ms(t0_ms + (2 * episode + i + 1) * 10),
                                     "readings": [{"metric": "smoke_ppm", "value": value,
                                                   "unit": "ppm"}]}))
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker_port), "-q", "1",
                    "-t", topic, "-l"], input="\n".join(lines) + "\n", text=True, check=True,
                   timeout=guard)


def iso_ms(ms):
    """RFC 3339 UTC with milliseconds, for readings' times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def cap_xml_alerts(raw):
    """(topic, payload) pairs of CAP XML, as flat alerts (cap_flatten)."""
    return [cap_flatten(cap_from_xml(payload.decode())) for _, payload in raw]


def episodes_of(msgs):
    """Flat alerts in arrival order, told apart by (id, seq): the first copy of each message in
    order, the statuses of each alert id in that order, and the number of copies."""
    firsts, seen, episodes, copies = [], set(), {}, 0
    for m in msgs:
        key = (m["id"], m["seq"])
        if key in seen:
            copies += 1
            continue
        seen.add(key)
        firsts.append(m)
        episodes.setdefault(m["id"], []).append(m["status"])
    return firsts, episodes, copies


def edit_rule(config_path, file_name, rule_name, key, value):
    """Set one key of one rule in rules.d/<file_name> of a generated config (comments are
    dropped from that file)."""
    path = os.path.join(os.path.dirname(config_path), "rules.d", file_name)
    doc = load_json_file(path)
    for rule in doc["rules"]:
        if rule["name"] == rule_name:
            rule[key] = value
            write_json_file(path, doc)
            return
    fail("rule %s not found in %s" % (rule_name, path))


def now_rfc3339(offset_s=0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_s))


def uplink(node, readings, when=None, seq=None):
    """A native uplink payload. readings: [(metric, value)] or [(metric, value, unit)]."""
    msg = {"node": node, "time": when or now_rfc3339(), "readings": []}
    if seq is not None:
        msg["seq"] = seq
    for r in readings:
        metric, value = r[0], r[1]
        unit = r[2] if len(r) > 2 else UNITS[metric]
        msg["readings"].append({"metric": metric, "value": value, "unit": unit})
    return json.dumps(msg)


def uplink_topic(node):
    return "forestwatch/field/%s/up" % node


# ------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------

def stop_process(proc, sig=signal.SIGTERM, timeout=HANG_GUARD_S):
    """Signal a process we started and reap it; SIGKILL after the deadline. Returns its code."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Broker:
    """A private mosquitto on loopback. stop() and start() again keep the port, so clients see
    their broker go away and come back, with nothing retained (persistence is off).

    With tls={"cafile", "certfile", "keyfile"} the listener speaks only TLS and requires a client
    certificate from that CA; with password_file (made by mosquitto_passwd) anonymous clients
    are refused. client_args are what mosquitto_sub and mosquitto_pub need on top of host and
    port to get in (their TLS files and credentials); the test sets them."""

    def __init__(self, workdir, port=None, name="mosquitto", persistent=False, tls=None,
                 password_file=None):
        self.workdir = workdir
        self.name = name
        self.port = port or free_port()
        self.proc = None
        self.generation = 0
        self.client_args = []
        self.conf = os.path.join(workdir, name + ".conf")
        self.log_path = os.path.join(workdir, name + ".log")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\n" % self.port)
            if tls:
                f.write("cafile %s\ncertfile %s\nkeyfile %s\n"
                        % (tls["cafile"], tls["certfile"], tls["keyfile"]))
                f.write("require_certificate true\n")
            if password_file:
                f.write("allow_anonymous false\npassword_file %s\n" % password_file)
            else:
                f.write("allow_anonymous true\n")
            if persistent:
                # Sessions and queued QoS 1 messages survive a restart (saved at SIGTERM).
                store = os.path.join(workdir, name + ".store") + "/"
                os.makedirs(store, exist_ok=True)
                f.write("persistence true\npersistence_location %s\n" % store)
                f.write("autosave_interval 1\n")
                if os.geteuid() == 0:
                    f.write("user root\n")  # it could not write the store as another user
            else:
                f.write("persistence false\n")
            f.write("log_dest stderr\n")
            f.write("log_type error\nlog_type warning\nlog_type notice\nlog_type information\n")

    def start(self):
        check(self.proc is None, "broker already running")
        self.generation += 1
        logf = open(self.log_path, "a")
        logf.write("---- broker start #%d ----\n" % self.generation)
        logf.flush()
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=logf, stderr=logf,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        deadline = time.monotonic() + HANG_GUARD_S
        while not port_accepts(self.port) or self.proc.poll() is not None:
            if self.proc.poll() is not None:
                self.proc = None
                fail("mosquitto exited at start (port %d taken?)" % self.port)
            if time.monotonic() > deadline:
                fail("mosquitto did not accept connections on port %d" % self.port)
            time.sleep(0.05)
        # Something else may have been listening still: the port is this broker's only when it
        # did not exit for want of it.
        time.sleep(0.1)
        if self.proc.poll() is not None:
            self.proc = None
            fail("mosquitto exited at start (port %d taken?)" % self.port)

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def log_text(self):
        return file_text(self.log_path)


def file_text(path):
    """A process's log file as text so far ("" while it does not exist)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class Message:
    def __init__(self, topic, payload, retained, qos):
        self.topic = topic
        self.payload = payload
        self.retained = retained
        self.qos = qos  # as delivered: min(publisher's QoS, our subscription's QoS 1)

    @property
    def text(self):
        return self.payload.decode("utf-8", errors="replace")

    @property
    def json(self):
        """The payload as a dict. A CAP 1.2 alert (XML or its JSON rendering) is read into the
        flat form of the project's own alert JSON (cap_flatten), so a test reads an alert the
        same whatever its route's format; the CAP document itself is under "_cap"."""
        text = self.text.lstrip()
        if text.startswith("<"):
            try:
                return cap_flatten(cap_from_xml(text))
            except (ET.ParseError, KeyError, ValueError) as e:
                fail("message on %s is not a readable CAP alert (%s): %r"
                     % (self.topic, e, self.payload[:300]))
        try:
            obj = json.loads(self.payload)
        except ValueError:
            fail("message on %s is not JSON: %r" % (self.topic, self.payload[:200]))
        if isinstance(obj, dict) and "identifier" in obj and "info" in obj:
            return cap_flatten(obj)
        return obj

    def __repr__(self):
        return "<%s%s %s>" % (self.topic, " (retained)" if self.retained else "",
                              self.text[:300])


_sync_ids = itertools.count(1)


class Subscriber:
    """mosquitto_sub on one topic filter (QoS 1), read line by line with deadlines. Each line
    is `retain-flag qos topic hex-payload`, so any payload, newlines or binary, fits on one line.

    The subscription also covers a private sync topic: start() returns only after a marker
    published there came back, so the subscription is known to be active on the broker and a
    message published afterwards cannot be missed."""

    def __init__(self, env, topic, name=None, broker=None):
        self.env = env
        self.broker = broker or env.broker
        self.topic = topic
        self.name = name or topic
        self.sync_topic = "%s/%d/%d" % (SYNC_PREFIX, os.getpid(), next(_sync_ids))
        self.proc = None
        self.buf = b""
        self.queue = []
        self.seen = []  # everything delivered so far, for failure messages
        self.last = None  # the Message behind expect_none_before()'s last result

    def start(self):
        self.proc = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "1",
             "-t", self.topic, "-t", self.sync_topic, "-F", "%r %q %t %x"]
            + self.broker.client_args,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.env.processes.append(self.proc)
        deadline = time.monotonic() + HANG_GUARD_S
        marker = 0
        while True:
            marker += 1
            token = "sync-%d" % marker
            self.env.publish(self.sync_topic, token, qos=0, broker=self.broker)
            if self._wait_sync(token, min(deadline, time.monotonic() + 0.5)):
                return self
            if time.monotonic() > deadline:
                fail("subscriber %s: subscription not active after %.0f s"
                     % (self.name, HANG_GUARD_S))

    def _wait_sync(self, token, deadline):
        while True:
            msg = self._read_one(deadline, sync_ok=True)
            if msg is None:
                return False
            if msg.topic == self.sync_topic:
                if msg.text == token:
                    return True
            else:
                self.queue.append(msg)

    def _read_one(self, deadline, sync_ok=False):
        """The next message (sync markers skipped unless sync_ok), or None at the deadline."""
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1:]
                parts = line.decode("ascii", errors="replace").split(" ", 3)
                if len(parts) != 4:
                    continue
                retained, qos, topic, hexpayload = parts
                msg = Message(topic, binascii.unhexlify(hexpayload.strip()), retained == "1",
                              int(qos))
                if topic.startswith(SYNC_PREFIX + "/"):
                    if sync_ok:
                        return msg
                    continue
                self.seen.append(msg)
                return msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.2))
            self.env.assert_alive()
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    fail("subscriber %s: mosquitto_sub exited (code %s)"
                         % (self.name, self.proc.poll()))
                self.buf += chunk

    def next(self, timeout=HANG_GUARD_S, what="a message"):
        """The next message on the topic; fails if none arrives within timeout."""
        if self.queue:
            return self.queue.pop(0)
        msg = self._read_one(time.monotonic() + timeout)
        if msg is None:
            fail("subscriber %s: expected %s within %.0f s, got nothing (seen so far: %s)"
                 % (self.name, what, timeout, self.seen))
        return msg

    def expect_raw(self, n, timeout=HANG_GUARD_S):
        """The next n messages, as Message objects."""
        return [self.next(timeout, "message %d of %d" % (i + 1, n)) for i in range(n)]

    def expect(self, n, timeout=HANG_GUARD_S):
        """The next n messages, parsed as JSON."""
        return [m.json for m in self.expect_raw(n, timeout)]

    def expect_none_before(self, marker, timeout=HANG_GUARD_S, what="the marker message"):
        """The next message must satisfy marker(json); anything else arriving first fails the
        test. Returns the marker message's JSON. This is how "input X produced nothing" is
        shown: publish X, then an input Y whose output is the marker."""
        msg = self.next(timeout, what)
        data = msg.json
        if not marker(data):
            fail("subscriber %s: expected %s, but first got: %s" % (self.name, what, msg))
        self.last = msg
        return data

    def wait_for(self, pred, timeout=HANG_GUARD_S, what="a matching message"):
        """Skip messages until pred(Message) holds; returns that message."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail("subscriber %s: expected %s within %.0f s (seen: %s)"
                     % (self.name, what, timeout, self.seen[-10:]))
            msg = self.next(left, what)
            if pred(msg):
                return msg

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)


class Daemon:
    """forestwatchd -c CONFIG -v debug, stderr and stdout into a log file in the workdir."""

    def __init__(self, env, config_path, valgrind=False):
        self.env = env
        self.config_path = config_path
        self.valgrind = valgrind
        self.proc = None
        self.log_path = None
        self.vg_log_path = None
        self.expected_exit = False

    def start(self):
        n = len([d for d in self.env.daemons if d.proc is not None]) + 1
        self.log_path = os.path.join(self.env.workdir, "forestwatchd-%d.log" % n)
        cmd = [binary("forestwatchd"), "-c", self.config_path, "-v", "debug"]
        if self.valgrind:
            self.vg_log_path = os.path.join(self.env.workdir, "valgrind-%d.log" % n)
            cmd = ["valgrind", "--leak-check=full", "--error-exitcode=99",
                   "--errors-for-leak-kinds=definite,indirect",
                   "--log-file=" + self.vg_log_path] + cmd
        logf = open(self.log_path, "w")
        env = dict(os.environ, **self.env.daemon_env) if self.env.daemon_env else None
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        logf.close()
        self.env.processes.append(self.proc)
        return self

    @property
    def guard(self):
        return VALGRIND_GUARD_S if self.valgrind else HANG_GUARD_S

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        check(self.alive(), "daemon is not running (exit code %s)"
              % (self.proc.returncode if self.proc else None))
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, expect_code=0):
        """Signal the daemon and wait for it; asserts the exit code."""
        check(self.alive(), "daemon died before it was stopped (exit code %s)"
              % (self.proc.returncode if self.proc else None))
        self.expected_exit = True
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=self.guard)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail("daemon did not exit within %.0f s of %s" % (self.guard, signal.Signals(sig).name))
        check(code == expect_code, "daemon exit code after %s: expected %d, got %d"
              % (signal.Signals(sig).name, expect_code, code))
        return code

    def log_text(self, since=0):
        """The log from byte offset `since` (see log_size()) on."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", errors="replace")
        except (OSError, TypeError):
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def wait_log(self, regex, since=0, timeout=None, what=None):
        """Wait until a log line written after byte offset `since` matches regex; returns the
        line. Used only to learn that the daemon has handled a signal, which it announces
        nowhere else."""
        timeout = timeout or self.guard
        pat = re.compile(regex, re.IGNORECASE)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text(since)
            for line in text.splitlines():
                if pat.search(line):
                    return line
            self.env.assert_alive()
            if time.monotonic() > deadline:
                fail("daemon log: expected %s (/%s/) within %.0f s"
                     % (what or "a line", regex, timeout))
            time.sleep(0.05)


class Env:
    """One test's world: temp dir, broker, generated config, daemons and helper processes.
    Use through run(); every process is stopped and the logs printed on failure."""

    def __init__(self):
        self.workdir = tempfile.mkdtemp(prefix="fwtest-")
        self.keep = bool(os.environ.get("FW_KEEP_TMP"))
        self.processes = []
        self.daemons = []
        self.daemon_env = {}  # added to the environment of every daemon started
        self.broker = Broker(self.workdir)
        self.extra_brokers = []
        self.subscribers = []
        self.extra_cap = []  # CAP payloads a test received by its own means, to validate too

    def setup(self):
        self.broker.start()
        self.config_path = make_config(os.path.join(self.workdir, "config"), self.broker.port)
        self.gateway = load_json_file(self.config_path)["gateway"]
        self.status_topic = self.gateway["status_topic"]
        self.routes = load_json_file(self.config_path)["routes"]

    # -- processes ----------------------------------------------------------------------

    def assert_alive(self):
        """Fail at once when a daemon dies unexpectedly, rather than at the next deadline."""
        for d in self.daemons:
            if d.proc is not None and not d.expected_exit and d.proc.poll() is not None:
                d.expected_exit = True  # report once
                fail("daemon exited unexpectedly with code %d" % d.proc.returncode)

    def daemon(self, valgrind=False, config_path=None):
        d = Daemon(self, config_path or self.config_path, valgrind)
        self.daemons.append(d)
        return d.start()

    def start_daemon(self, valgrind=False):
        """Start a daemon and wait for its retained "online": connected and subscribed."""
        d = self.daemon(valgrind)
        self.wait_status("online", timeout=d.guard)
        return d

    def subscribe(self, topic, name=None, broker=None):
        sub = Subscriber(self, topic, name, broker).start()
        self.subscribers.append(sub)
        return sub

    def add_broker(self, name, persistent=False, tls=None, password_file=None):
        """Another private broker (the bureaus may each run their own), stopped at close."""
        b = Broker(self.workdir, name=name, persistent=persistent, tls=tls,
                   password_file=password_file)
        self.extra_brokers.append(b)
        b.start()
        return b

    def route_subscriber(self, route):
        return self.subscribe(self.routes[route]["topic"], route)

    def wait_status(self, value, timeout=HANG_GUARD_S, retained=None):
        """Wait for `value` on the status topic through a fresh subscription (so a retained
        message is seen); earlier other values (a stale retained "offline") are skipped."""
        sub = self.subscribe(self.status_topic, "status")
        try:
            msg = sub.wait_for(lambda m: m.text == value, timeout, 'status "%s"' % value)
            if retained is not None:
                check(msg.retained == retained, 'status "%s": expected retained=%s, got %s'
                      % (value, retained, msg.retained))
            return msg
        finally:
            sub.stop()

    def retained_status(self, timeout=HANG_GUARD_S):
        """The retained status message (the first one a new subscriber gets)."""
        sub = self.subscribe(self.status_topic, "status")
        try:
            msg = sub.next(timeout, "the retained status")
            check(msg.retained, "status: expected a retained message first, got live %s" % msg)
            return msg.text
        finally:
            sub.stop()

    # -- MQTT input ---------------------------------------------------------------------

    def publish(self, topic, payload, qos=1, retain=False, broker=None):
        """Publish with mosquitto_pub; with QoS 1 it returns after the broker's PUBACK, so
        the broker has the message before the next publish starts."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        broker = broker or self.broker
        cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", str(qos),
               "-t", topic] + broker.client_args
        if retain:
            cmd.append("-r")
        data = None
        if not payload:
            cmd.append("-n")
        elif len(payload) > 65536:
            path = os.path.join(self.workdir, "payload.bin")
            with open(path, "wb") as f:
                f.write(payload)
            cmd += ["-f", path]
        else:
            cmd.append("-s")
            data = payload
        try:
            res = subprocess.run(cmd, input=data, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            fail("mosquitto_pub to %s timed out" % topic)
        if res.returncode != 0:
            fail("mosquitto_pub to %s failed (%d): %s"
                 % (topic, res.returncode, res.stderr.decode(errors="replace").strip()))

    def send_reading(self, node, metric, value, when=None, unit=None):
        r = (metric, value, unit) if unit else (metric, value)
        payload = uplink(node, [r], when)
        self.publish(uplink_topic(node), payload)
        return json.loads(payload)

    # -- teardown -----------------------------------------------------------------------

    def dump_logs(self):
        for d in self.daemons:
            if d.log_path:
                sys.stderr.write("\n===== %s =====\n%s" % (d.log_path, d.log_text()))
            if d.vg_log_path and os.path.exists(d.vg_log_path):
                with open(d.vg_log_path, errors="replace") as f:
                    sys.stderr.write("\n===== %s =====\n%s" % (d.vg_log_path, f.read()))
        for b in [self.broker] + self.extra_brokers:
            sys.stderr.write("\n===== %s.log =====\n%s\n" % (b.name, b.log_text()))

    def validate_cap(self):
        """Every CAP alert any subscriber of this test received: XML against the CAP 1.2
        schema (xmllint) and the rules the schema cannot check (forestwatch cap-check); the JSON
        rendering against the same rules, in cap_json_problems. Fails the test on any."""
        xml, js = [t for t in self.extra_cap if t.lstrip().startswith("<")], []
        for sub in self.subscribers:
            for m in sub.seen:
                t = m.text.lstrip()
                if t.startswith("<"):
                    xml.append(t)
                elif t.startswith("{") and '"identifier"' in t and '"info"' in t:
                    js.append((m.topic, t))
        for topic, t in js:
            problems = cap_json_problems(json.loads(t))
            check(not problems, "CAP JSON on %s: %s: %s" % (topic, "; ".join(problems), t[:300]))
        if not xml:
            return len(xml), len(js)
        folder = os.path.join(self.workdir, "cap")
        os.makedirs(folder, exist_ok=True)
        paths = []
        for i, t in enumerate(xml):
            paths.append(os.path.join(folder, "alert-%04d.xml" % i))
            with open(paths[-1], "w") as f:
                f.write(t)
        res = subprocess.run(["xmllint", "--noout", "--schema", CAP_XSD] + paths,
                             capture_output=True, text=True)
        check(res.returncode == 0, "CAP XML fails the schema: %s" % res.stderr[-2000:])
        res = subprocess.run([binary("forestwatch"), "cap-check"] + paths, capture_output=True,
                             text=True)
        check(res.returncode == 0, "CAP XML fails cap-check: %s"
              % "\n".join(l for l in res.stdout.splitlines() if "CAP OK" not in l)[:2000])
        return len(xml), len(js)

    def close(self, ok):
        for p in reversed(self.processes):
            if p.poll() is None:
                stop_process(p, timeout=5)
        for b in [self.broker] + self.extra_brokers:
            b.stop()
        if ok and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            log("files kept in %s" % self.workdir)


def assert_alert(alert, **expected):
    """Compare the named fields of an alert (dotted names reach into objects: zone.id)."""
    for key, want in expected.items():
        got = alert
        for part in key.split("__"):
            if not isinstance(got, dict) or part not in got:
                fail("alert has no field %s: %s" % (key.replace("__", "."), json.dumps(alert)))
            got = got[part]
        if isinstance(want, float) or isinstance(got, float):
            ok = isinstance(got, (int, float)) and abs(got - want) < 1e-9
        else:
            ok = got == want
        check(ok, "alert field %s: expected %r, got %r in %s"
              % (key.replace("__", "."), want, got, json.dumps(alert, ensure_ascii=False)))


def is_alert(status, rule, node=None, value=None):
    """Predicate for expect_none_before()."""
    def pred(a):
        return (isinstance(a, dict) and a.get("status") == status and a.get("rule") == rule
                and (node is None or a.get("node") == node)
                and (value is None or a.get("value") == value))
    return pred


# ctest reports this exit code as "skipped" (SKIP_RETURN_CODE), never as passed.
SKIP_EXIT = 77


def run(test):
    """Run test(env) with a fresh Env; print PASS or the failure and all logs; exit 0/1."""
    name = os.path.basename(sys.argv[0])
    for tool in ("mosquitto", "mosquitto_sub", "mosquitto_pub"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            print("%s: SKIP: %s not installed" % (name, tool))
            sys.exit(SKIP_EXIT)
    if not shutil.which("mosquitto") and os.path.exists("/usr/sbin/mosquitto"):
        os.environ["PATH"] += os.pathsep + "/usr/sbin"

    def on_alarm(signum, frame):
        raise TestFailure("script watchdog: the test took longer than %d s" % SCRIPT_GUARD_S)

    def on_term(signum, frame):
        raise TestFailure("stopped by %s" % signal.Signals(signum).name)

    signal.signal(signal.SIGALRM, on_alarm)
    # So that a killed test still stops its broker and daemon.
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.alarm(SCRIPT_GUARD_S)
    env = None
    ok = False
    try:
        env = Env()
        env.setup()
        test(env)
        nxml, njson = env.validate_cap()
        if nxml or njson:
            log("CAP: %d XML alerts valid against the CAP 1.2 schema and cap-check, %d CAP JSON "
                "alerts checked" % (nxml, njson))
        ok = True
    except TestFailure as e:
        print("%s: FAIL: %s" % (name, e))
    except Exception:
        print("%s: ERROR in the test itself:" % name)
        traceback.print_exc(file=sys.stdout)
    finally:
        signal.alarm(0)
        if env is not None:
            try:
                if not ok:
                    env.dump_logs()
            finally:
                # Even when stderr is gone (a closed pipe), no process may outlive the test.
                env.close(ok)
    if ok:
        print("%s: PASS" % name)
    sys.stdout.flush()
    sys.exit(0 if ok else 1)


# ------------------------------------------------------------------------------------------
# Command line: config generation for scripts/demo.sh
# ------------------------------------------------------------------------------------------

def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="forestwatch test helper")
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("mkconfig", help="write a config copy pointed at a broker port, models "
                        "included")
    mk.add_argument("--port", type=int, required=True)
    mk.add_argument("--out", required=True, help="folder for forestwatch.json and rules.d/")
    mk.add_argument("--source", help="config folder to copy (default the project's config/)")
    fp = sub.add_parser("free-port", help="print a free loopback TCP port")
    del fp
    args = ap.parse_args(argv)
    if args.cmd == "mkconfig":
        print(make_config(args.out, args.port, src_config_dir=args.source, models=True))
    elif args.cmd == "free-port":
        print(free_port())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


# -- a small MQTT 3.1.1 client (standard library only) ---------------------------------------

def mqtt_str(s):
    """An MQTT string: length, then UTF-8."""
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def mqtt_packet(kind, body):
    """A packet: first header byte, remaining length (variable-length), body."""
    n, length = len(body), b""
    while True:
        byte = n % 128
        n //= 128
        length += bytes([byte | (0x80 if n else 0)])
        if not n:
            return bytes([kind]) + length + body


def _read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def mqtt_read_packet(sock):
    """One packet from a blocking socket: (first header byte, body)."""
    head = _read_exact(sock, 1)[0]
    mult, length = 1, 0
    while True:
        byte = _read_exact(sock, 1)[0]
        length += (byte & 0x7F) * mult
        mult *= 128
        if not byte & 0x80:
            return head, _read_exact(sock, length)

def mqtt_publish_each(port, client_id, topic, payloads, guard=HANG_GUARD_S):
    """Publish `payloads` at QoS 1 on one connection, each after the previous one's PUBACK (some
    brokers lose pipelined QoS 1 publishes: docs/ha.md)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=guard)
    try:
        sock.sendall(mqtt_packet(0x10, mqtt_str("MQTT") + bytes([4, 0x02]) +
                                 struct.pack("!H", 30) + mqtt_str(client_id)))
        head, body = mqtt_read_packet(sock)
        if head >> 4 != 2 or body[1] != 0:
            raise ConnectionError("connack %r" % body)
        for i, payload in enumerate(payloads):
            pid = i % 65535 + 1
            data = payload.encode() if isinstance(payload, str) else payload
            sock.sendall(mqtt_packet(0x32, mqtt_str(topic) + struct.pack("!H", pid) + data))
            while True:
                head, body = mqtt_read_packet(sock)
                if head >> 4 == 4 and struct.unpack("!H", body[:2])[0] == pid:
                    break
        sock.sendall(b"\xe0\x00")
    finally:
        sock.close()


class MqttSession:
    """A subscriber with a persistent session (clean session off, QoS 1) that reconnects by
    itself, so a broker with persistence keeps what arrives while the broker or this client is
    away. Messages are appended to .messages as (topic, payload bytes), in arrival order."""

    def __init__(self, port, client_id, topic):
        self.port, self.client_id, self.topic = port, client_id, topic
        self.messages = []
        self.connects = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _session(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        try:
            body = mqtt_str("MQTT") + bytes([4, 0x00]) + struct.pack("!H", 30) + \
                mqtt_str(self.client_id)  # flags 0: clean session off
            sock.sendall(mqtt_packet(0x10, body))
            head, body = mqtt_read_packet(sock)
            if head >> 4 != 2 or body[1] != 0:
                raise ConnectionError("connack %r" % body)
            sock.sendall(mqtt_packet(0x82, struct.pack("!H", 1) + mqtt_str(self.topic) + b"\x01"))
            self.connects += 1
            sock.settimeout(0.5)
            last_ping = time.monotonic()
            while not self._stop.is_set():
                if time.monotonic() - last_ping > 10:
                    sock.sendall(b"\xc0\x00")
                    last_ping = time.monotonic()
                try:
                    head, body = mqtt_read_packet(sock)
                except socket.timeout:
                    continue
                if head >> 4 == 3:  # PUBLISH
                    qos = (head >> 1) & 3
                    tlen = struct.unpack("!H", body[:2])[0]
                    topic = body[2:2 + tlen].decode()
                    rest = body[2 + tlen:]
                    if qos:
                        pid, payload = rest[:2], rest[2:]
                    else:
                        pid, payload = None, rest
                    with self._lock:
                        self.messages.append((topic, payload))
                    if qos == 1:
                        sock.sendall(b"\x40\x02" + pid)
        finally:
            sock.close()

    def _run(self):
        while not self._stop.is_set():
            try:
                self._session()
            except (OSError, ConnectionError):
                self._stop.wait(0.1)

    def count(self):
        with self._lock:
            return len(self.messages)

    def snapshot(self):
        with self._lock:
            return list(self.messages)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)


# -- CAP 1.2 ---------------------------------------------------------------------------------

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_XSD = os.path.join(source_dir(), "tests", "data", "cap", "CAP-v1.2.xsd")
CAP_REPEATING = ("info", "parameter", "area", "polygon", "circle", "geocode", "category",
                 "responseType", "eventCode", "resource", "code")
CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
CAP_ID = re.compile(r"^[^ ,<&]+$")


def _cap_element(el):
    """An element of the CAP XML as the JSON rendering writes it (docs/cap.md)."""
    children = list(el)
    if not children:
        return el.text or ""
    out = {}
    for c in children:
        name = c.tag.split("}", 1)[-1]
        value = _cap_element(c)
        if name in CAP_REPEATING:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def cap_from_xml(text):
    root = ET.fromstring(text)
    if root.tag != "{%s}alert" % CAP_NS:
        raise ValueError("not a CAP 1.2 alert: %s" % root.tag)
    return _cap_element(root)


def _utc(cap_time):
    """A CAP time (numeric offset) as the project's UTC form, whole seconds."""
    d = datetime.datetime.fromisoformat(cap_time)
    return d.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _contact(text):
    name, _, phone = text.rpartition(" ") if " " in text else (text, "", "")
    return {"name": name, "phone": phone} if phone else {"name": text}


def cap_flatten(cap):
    """A CAP alert read into the fields of the project's alert JSON (docs/alerts.md)."""
    infos = cap["info"]
    by_lang = {i.get("language"): i for i in infos}
    en = by_lang.get("en-US", infos[0])
    zh = by_lang.get("zh-CN", infos[0])
    params = {p["valueName"].split(":", 1)[-1]: p["value"] for p in en.get("parameter", [])}
    flat = {
        "id": params["alert_id"], "gateway": params.get("gateway"),
        "status": params["status"], "kind": params.get("kind"),
        "seq": int(params["seq"]) if "seq" in params else None, "cause": params.get("cause"),
        "rule": params["rule"], "severity": en["severity"], "urgency": en["urgency"],
        "certainty": en["certainty"], "category": en["category"][0],
        "time": _utc(params["time"]), "sent": _utc(cap["sent"]),
        "headline": {"zh-CN": zh.get("headline"), "en-US": en.get("headline")},
        "description": {"zh-CN": zh.get("description"), "en-US": en.get("description")},
        "_cap": cap,
    }
    for key in ("node", "metric", "unit", "op"):
        if key in params:
            flat[key] = params[key]
    for key in ("value", "threshold", "level"):
        if key in params:
            flat[key] = float(params[key])
    areas = en.get("area", [])
    if areas:
        geo = {g["valueName"].split(":", 1)[-1]: g["value"] for g in areas[0].get("geocode", [])}
        zone = {"id": geo.get("zone"), "name": zh.get("area", [{}])[0].get("areaDesc")}
        # The flat JSON's contact name is the config's name, the one the zh-CN info gives.
        zh_params = {p["valueName"].split(":", 1)[-1]: p["value"]
                     for p in zh.get("parameter", [])}
        if "forest_chief" in zh_params:
            zone["forest_chief"] = _contact(zh_params["forest_chief"])
        flat["zone"] = zone
    if "acknowledged_by" in params:
        flat["acknowledged"] = {"by": params["acknowledged_by"],
                                "time": _utc(params["acknowledged_time"])}
    return flat


def cap_json_problems(cap):
    """What the CAP JSON rendering breaks of the CAP 1.2 rules (the schema's and the text's)."""
    p = []
    for key in ("identifier", "sender", "sent", "status", "msgType", "scope", "info"):
        if key not in cap:
            p.append("missing %s" % key)
    if p:
        return p
    for key in ("identifier", "sender"):
        if not CAP_ID.match(cap[key]):
            p.append("%s %r has a space, comma, < or &" % (key, cap[key]))
    if not CAP_TIME.match(cap["sent"]) or cap["sent"].endswith("+00:00"):
        p.append("sent %r: not a CAP time (numeric offset, -00:00 for UTC)" % cap["sent"])
    if cap["status"] not in ("Actual", "Exercise", "System", "Test", "Draft"):
        p.append("status %r" % cap["status"])
    if cap["msgType"] not in ("Alert", "Update", "Cancel", "Ack", "Error"):
        p.append("msgType %r" % cap["msgType"])
    if cap["msgType"] in ("Update", "Cancel") and not cap.get("references"):
        p.append("an %s without references" % cap["msgType"])
    for info in cap["info"]:
        for key in ("category", "event", "urgency", "severity", "certainty"):
            if key not in info:
                p.append("info without %s" % key)
        for key in ("effective", "onset", "expires"):
            if key in info and (not CAP_TIME.match(info[key]) or info[key].endswith("+00:00")):
                p.append("info %s %r: not a CAP time" % (key, info[key]))
        for area in info.get("area", []):
            for poly in area.get("polygon", []):
                pairs = poly.split()
                if len(pairs) < 4 or pairs[0] != pairs[-1]:
                    p.append("polygon %r: at least 4 pairs, first equal to last" % poly)
    return p


# -- The duty officer's screen (scripts/demo.sh) --------------------------------------------

_SCREEN_WORDS = {
    "en-US": {"new": "NEW", "update": "UPDATE", "repeat": "AGAIN", "escalate": "ESCALATED",
              "resolved": "ENDED", "call": "call", "duty": "duty", "threshold": "threshold %s",
              "level": "level %s", "index": "index %s", "code": "code %s"},
    "zh-CN": {"new": "新警报", "update": "更新", "repeat": "重复", "escalate": "升级",
              "resolved": "解除", "call": "联系", "duty": "值班", "threshold": "阈值 %s",
              "level": "%s 级", "index": "指数 %s", "code": "代码 %s"},
}


def _short_local(cap_time):
    """A CAP time (local, with its offset) as "MM-DD hh:mm:ss+hh:mm"; "-00:00" reads "+00:00"."""
    t = datetime.datetime.fromisoformat(cap_time)
    return t.strftime("%m-%d %H:%M:%S") + t.isoformat()[19:].replace("-00:00", "+00:00")


def _num(v):
    return "%g" % v if isinstance(v, (int, float)) else str(v)


def _amount(value, unit, words):
    """A value with its unit as people say it: "352.5 ppm", "level 5", and a bare count."""
    if unit in ("level", "index", "code"):
        return words[unit] % _num(value)
    if unit in ("count", "bool", ""):
        return _num(value)
    return "%s %s" % (_num(value), unit)


def officer_line(alert, lang="en-US", offset_min=0):
    """One short line for a duty officer's screen, from Message.json of an alert (CAP XML, CAP
    JSON or the project's JSON): whether it holds (!!) or ended (ok) and what the message is,
    when (the reading's time in the zone's local time with its offset), where and what (the
    headline, and the zone when the headline does not name it), how bad (the value against its
    threshold; once ended, the value and the threshold) and whom to call (the forest chief and
    the duty phone), in `lang`. The project's
    JSON carries UTC times: `offset_min` gives the local time to show."""
    words = _SCREEN_WORDS[lang]
    firing = alert.get("status") == "firing"
    cap = alert.get("_cap")
    if cap:
        info = next((i for i in cap["info"] if i.get("language") == lang), cap["info"][0])
        params = {p["valueName"].split(":", 1)[-1]: p["value"] for p in info.get("parameter", [])}
        zone = (info.get("area") or [{}])[0].get("areaDesc", "")
        when = _short_local(params["time"])
        chief = params.get("forest_chief", "")
        duty = info.get("contact", "")
    else:
        en = lang == "en-US"
        z = alert.get("zone") or {}
        zone = (en and z.get("name_en")) or z.get("name") or z.get("id", "")
        tz = datetime.timezone(datetime.timedelta(minutes=offset_min))
        t = datetime.datetime.fromisoformat(alert["time"].replace("Z", "+00:00"))
        when = _short_local(t.astimezone(tz).replace(microsecond=0).isoformat())
        c, d = z.get("forest_chief") or {}, z.get("duty") or {}
        chief = " ".join(x for x in ((en and c.get("name_en")) or c.get("name"),
                                     c.get("phone")) if x)
        duty = " ".join(x for x in ((en and d.get("name_en")) or d.get("name"),
                                    d.get("phone")) if x)
    headline = (alert.get("headline") or {}).get(lang) or alert.get("rule", "")
    what = headline if zone in headline else "%s: %s" % (zone, headline)
    value = ""
    if "value" in alert:
        value = _amount(alert["value"], alert.get("unit", ""), words)
        if "op" in alert and "threshold" in alert and firing:
            value += " %s %s" % (alert["op"], _num(alert["threshold"]))
        elif "threshold" in alert:  # it no longer holds: not "12 ppm > 300"
            value += " (%s)" % (words["threshold"] % _num(alert["threshold"]))
    # The duty desk's phone when its contact ends with one; else the whole contact.
    last = duty.rsplit(" ", 1)[-1] if duty else ""
    duty_phone = last if any(ch.isdigit() for ch in last) else duty
    call = "%s %s" % (words["call"], chief or duty) if chief or duty else ""
    if chief and duty_phone:
        call += " (%s %s)" % (words["duty"], duty_phone)
    kind = words.get(alert.get("kind") or ("new" if firing else "resolved"), "")
    parts = [p for p in (what, value, call) if p]
    return "%s %s %s  %s" % ("!!" if firing else "ok", when, kind, " | ".join(parts))
