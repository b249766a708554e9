#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A metric the built-in table lacks, declared in the config (`metrics`), through a real broker:
# a native uplink's PM2.5 reading fires a rule on it, a value outside the declared range is
# refused, LoRa nodes carry it (a network server's decoded object, by name; a Cayenne LPP frame,
# through the node's lpp_map), and a reload that widens the range and adds a unit alias applies
# at once without touching the alerts that are firing. `forestwatch metrics -c` lists it.

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402

LORA_EUI = "a84041000181f2b7"  # codec "server": the server decodes the payload
LPP_EUI = "a84041000181f2b8"  # codec "lpp", analog input channel 6 is PM2.5


def declare(cfg, maximum, alias=None):
    pm = {"unit": "ug/m3", "min": 0, "max": maximum,
          "description": "PM2.5 mass concentration", "description_zh": "细颗粒物 PM2.5 浓度"}
    if alias:
        pm["unit_alias"] = alias
    cfg["metrics"] = {"pm25_ugm3": pm}


def pm_reading(env, node, value, unit="ug/m3"):
    env.publish(fwtest.uplink_topic(node),
                fwtest.uplink(node, [("pm25_ugm3", value, unit)]))


def chirpstack_up(env, eui, data, obj=None):
    """A ChirpStack v4 up event of device `eui` with payload `data` (bytes) and the object the
    server decoded, if any."""
    msg = {"deduplicationId": str(uuid.uuid4()),
           "time": fwtest.now_rfc3339(),
           "deviceInfo": {"applicationId": "aq", "devEui": eui},
           "fCnt": 7, "fPort": 2, "data": base64.b64encode(data).decode()}
    if obj is not None:
        msg["object"] = obj
    env.publish("application/aq/device/%s/event/up" % eui, json.dumps(msg))


def pm_alert(status, node, value=None):
    return is_alert(status, "pm25_high", node, value)


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    declare(cfg, 500)
    cfg["nodes"]["bs07-aq-01"] = {"zone": "bs-07", "kind": "air", "dev_eui": LORA_EUI,
                                  "codec": "server"}
    cfg["nodes"]["bs03-aq-02"] = {"zone": "bs-03", "kind": "air", "dev_eui": LPP_EUI,
                                  "codec": "lpp", "lpp_map": {"6": "pm25_ugm3"}}
    cfg["uplinks"].append({"broker": "local", "topic": "application/+/device/+/event/up",
                           "format": "chirpstack"})
    fwtest.write_json_file(env.config_path, cfg)
    rules = os.path.join(os.path.dirname(env.config_path), "rules.d", "air.json")
    fwtest.write_json_file(rules, {"rules": [{
        "name": "pm25_high", "expr": "pm25_ugm3 > 75", "clear": "pm25_ugm3 < 50",
        "severity": "Moderate", "category": "Env", "routes": ["forestry"]}]})

    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()

    # Below the threshold nothing; above it the rule fires, like one on a built-in metric.
    pm_reading(env, "bs03-smoke-01", 40)
    pm_reading(env, "bs03-smoke-01", 120)
    a = forestry.expect_none_before(pm_alert("firing", "bs03-smoke-01", 120.0),
                                    what="pm25_high at 120 (and none at 40)")
    check(a["zone"]["id"] == "bs-03", "pm25_high zone: %s" % a)

    # Outside the declared range: a sensor fault, dropped and reported, as for any metric.
    off = daemon.log_size()
    pm_reading(env, "bs03-smoke-02", 800)
    daemon.wait_log(r"out_of_range.*800 ug/m3 is outside the possible range 0\.\.500 of "
                    r"pm25_ugm3", since=off, what="the out-of-range PM2.5 reading reported")
    pm_reading(env, "bs03-smoke-02", 130)
    forestry.expect_none_before(pm_alert("firing", "bs03-smoke-02", 130.0),
                                what="pm25_high at 130 (and none at 800)")

    # A LoRa node whose network server decodes the payload: the member named like the metric.
    chirpstack_up(env, LORA_EUI, b"\x00\x78", {"pm25_ugm3": 150})
    forestry.expect_none_before(pm_alert("firing", "bs07-aq-01", 150.0),
                                what="pm25_high from the server-decoded object")
    # A Cayenne LPP node: analog input (type 2, 0.01 a step) on channel 6, 140.00.
    chirpstack_up(env, LPP_EUI, bytes([6, 2, 0x36, 0xB0]))
    forestry.expect_none_before(pm_alert("firing", "bs03-aq-02", 140.0),
                                what="pm25_high from the LPP channel mapped to pm25_ugm3")

    # Reload with the range widened and a unit alias: in force at once; the alerts that are
    # firing stay as they are (no message for them before the next one).
    declare(cfg, 1000, alias="µg/m³")
    fwtest.write_json_file(env.config_path, cfg)
    off = daemon.log_size()
    daemon.send_signal(signal.SIGHUP)
    daemon.wait_log(r"reload: done", since=off, what="the reload being applied")
    pm_reading(env, "bs07-smoke-01", 800, unit="µg/m³")
    forestry.expect_none_before(pm_alert("firing", "bs07-smoke-01", 800.0),
                                what="pm25_high at 800 under the widened range, and nothing "
                                "for the alerts already firing")
    # The alerts of before the reload resolve on the rule's clear, as ever.
    pm_reading(env, "bs03-smoke-01", 20)
    forestry.expect_none_before(pm_alert("resolved", "bs03-smoke-01"),
                                what="pm25_high of bs03-smoke-01 resolved")
    env.wait_status("online", retained=True)
    daemon.stop()

    out = subprocess.run([fwtest.binary("forestwatch"), "metrics", "-c", env.config_path],
                         capture_output=True, text=True, timeout=fwtest.HANG_GUARD_S)
    check(out.returncode == 0, "forestwatch metrics -c: exit %d: %s"
          % (out.returncode, out.stderr))
    rows = [line.split() for line in out.stdout.splitlines()]
    pm = [r for r in rows if r and r[0] == "pm25_ugm3"]
    check(len(pm) == 1 and pm[0][1] == "ug/m3" and pm[0][2] == "0..1000",
          "forestwatch metrics -c lists pm25_ugm3: %s" % out.stdout)
    check("细颗粒物" in out.stdout, "the Chinese meaning is listed: %s" % out.stdout)
    fwtest.log("metrics -c: %s" % " ".join(pm[0]))


if __name__ == "__main__":
    fwtest.run(test)
