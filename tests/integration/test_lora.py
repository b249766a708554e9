#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# LoRa end to end through a real broker: fw-fieldsim plays a fire front crossing the smoke nodes
# of grid 3, published as ChirpStack v4 uplinks (every second uplink repeated, as a second
# gateway would hear it), and a node of grid 7 through The Things Stack v3. The daemon decodes
# them with the nodes' codec through its registry: the zone's fire alerts come through the
# rules, once each (duplicates make no second reading), and an unregistered device is reported
# on the operators' topic.

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402

FRONT = ["bs03-smoke-01", "bs03-smoke-02"]


def euis(nodes):
    out = subprocess.run([fwtest.binary("fw-fieldsim"), "--print-euis", "-n", ",".join(nodes)],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split() for line in out.splitlines())


def sim(env, fmt, nodes, count, extra):
    cmd = [fwtest.binary("fw-fieldsim"), "-p", str(env.broker.port), "--format", fmt,
           "-n", ",".join(nodes), "-i", "150", "-c", str(count), "--seed", "7"] + extra
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    check(res.returncode == 0, "fw-fieldsim %s: %s" % (fmt, res.stderr))


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    ids = euis(FRONT + ["bs07-smoke-01"])
    for node, eui in ids.items():
        cfg["nodes"][node]["dev_eui"] = eui  # the registry: this node's radio
    cfg["uplinks"] += [
        {"broker": "local", "topic": "application/+/device/+/event/up", "format": "chirpstack"},
        {"broker": "local", "topic": "v3/+/devices/+/up", "format": "tts"},
    ]
    cfg["unknown_devices_topic"] = "forestwatch/gw-beishan-01/unknown-devices"
    cfg["record"] = {"dir": "rec"}  # every reading fed to the engine, to count them
    fwtest.write_json_file(env.config_path, cfg)
    emergency = env.route_subscriber("emergency")
    unknown = env.subscribe(cfg["unknown_devices_topic"], "unknown devices")
    daemon = env.start_daemon()

    # The front reaches bs03-smoke-01 after 2 rounds and bs03-smoke-02 two rounds later.
    sim(env, "chirpstack", FRONT, 10, ["--fire-front", ",".join(FRONT), "--front-after", "2",
                                       "--front-step", "2", "--duplicate-every", "2"])
    firing = {}
    while len(firing) < 2:
        a = emergency.wait_for(lambda m: is_alert("firing", "smoke_high")(m.json),
                               what="smoke_high for the front's nodes").json
        firing.setdefault(a["node"], a)
    check(sorted(firing) == FRONT, "alerts for the front's nodes: %s" % sorted(firing))
    for a in firing.values():
        check(a["zone"]["id"] == "bs-03" and a["value"] > 300, "front alert: %s" % a)
    # The order of the front: bs03-smoke-01 first.
    check(firing[FRONT[0]]["sent"] <= firing[FRONT[1]]["sent"], "the front went the wrong way")

    off = daemon.log_size()
    sim(env, "tts", ["bs07-smoke-01"], 6, ["--fire-front", "bs07-smoke-01", "--front-after",
                                           "1"])
    a = emergency.wait_for(lambda m: is_alert("firing", "smoke_high", "bs07-smoke-01")(m.json),
                           what="smoke_high from the TTS node").json
    check(a["zone"]["id"] == "bs-07", "TTS alert: %s" % a)

    # A device nobody registered: reported once to the operators, ignored otherwise.
    sim(env, "chirpstack", ["bs07-wx-01"], 3, [])
    msg = unknown.next(what="the unknown device on the operators' topic").json
    check(msg.get("dev_eui") == euis(["bs07-wx-01"])["bs07-wx-01"],
          "unknown device report: %s" % msg)
    daemon.stop()
    log = daemon.log_text(since=off)
    check(log.count("not in the config") == 1, "the unknown device is logged once: %d"
          % log.count("not in the config"))
    # Duplicates made no second reading: each (node, metric, sample time) was fed once, and
    # each node of the front gave one smoke reading per uplink it sent (10), though 5 of its
    # uplinks came twice.
    rec = os.path.join(os.path.dirname(env.config_path), "rec")
    seen, smoke = {}, {n: 0 for n in FRONT}
    for name in sorted(os.listdir(rec)):
        with open(os.path.join(rec, name)) as f:
            for line in f:
                r = json.loads(line)
                if "station" not in r:
                    continue  # a tick line
                key = (r["station"], r["metric"], r["time"])
                seen[key] = seen.get(key, 0) + 1
                if r["metric"] == "smoke_ppm" and r["station"] in smoke:
                    smoke[r["station"]] += 1
    twice = [k for k, n in seen.items() if n > 1]
    check(not twice, "readings fed twice (duplicates not dropped): %s" % twice[:3])
    check(all(n == 10 for n in smoke.values()), "one smoke reading per uplink: %s" % smoke)
    fwtest.log("lora: %d readings fed, none twice; smoke per front node: %s" % (len(seen), smoke))


if __name__ == "__main__":
    fwtest.run(test)
