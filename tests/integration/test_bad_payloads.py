#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Hostile and broken uplinks interleaved with valid ones. Every bad payload names a known node
# and carries a value far over a threshold, so if the daemon accepted any part of it the leak
# would show up as an unexpected alert before the next expected one. Valid readings between
# them must still alert, the daemon must stay up and "online", and its log must say that it
# rejected input.

import json
import os
import sys

# No __pycache__ in the source tree; the scripts are run from it.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert, now_rfc3339, uplink, uplink_topic  # noqa: E402

VICTIM = "bs07-smoke-01"  # the node the bad payloads claim to come from


def reading(metric="smoke_ppm", value=999.0, unit="ppm"):
    return {"metric": metric, "value": value, "unit": unit}


def doc(**overrides):
    d = {"node": VICTIM, "time": now_rfc3339(), "readings": [reading()]}
    for k, v in overrides.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return json.dumps(d)


def bad_payloads():
    """(description, payload) pairs; none may produce an alert."""
    good = doc()
    huge = ('{"node":"%s","time":"%s","readings":[{"metric":"smoke_ppm","value":999,'
            '"unit":"ppm"}],"pad":"%s"}' % (VICTIM, now_rfc3339(), "x" * (10 * 1024 * 1024)))
    return [
        ("malformed JSON", b'{"node": "bs07-smoke-01", "readings": [smoke=999]}'),
        ("truncated JSON", good[: len(good) // 2].encode()),
        ("empty payload", b""),
        ("binary junk", bytes(range(256)) * 4),
        ("JSON array", b"[1, 2, 3]"),
        ("JSON string", b'"smoke_ppm 999"'),
        ("10 MB payload", huge.encode()),
        ("unknown node", uplink("zz-unknown-99", [("smoke_ppm", 999.0)]).encode()),
        ("missing node", doc(node=None).encode()),
        ("missing time", doc(time=None).encode()),
        ("missing readings", doc(readings=None).encode()),
        ("empty readings", doc(readings=[]).encode()),
        ("reading without value", doc(readings=[{"metric": "smoke_ppm", "unit": "ppm"}])
         .encode()),
        ("reading without metric", doc(readings=[{"value": 999.0, "unit": "ppm"}]).encode()),
        ("reading without unit", doc(readings=[{"metric": "smoke_ppm", "value": 999.0}])
         .encode()),
        ("wrong unit", doc(readings=[reading(unit="degC")]).encode()),
        ("unknown metric", doc(readings=[reading(metric="smoke_ppb")]).encode()),
        ("non-numeric value", doc(readings=[reading(value="999")]).encode()),
        ("null value", doc(readings=[reading(value=None)]).encode()),
        ("overflowing value", doc().replace("999.0", "1e999").encode()),
        ("node is a number", doc(node=42).encode()),
        ("time is garbage", doc(time="yesterday at noon").encode()),
        ("time far in the future", doc(time="2099-01-01T00:00:00Z").encode()),
        ("time far in the past", doc(time="2001-01-01T00:00:00Z").encode()),
        ("too many readings", doc(readings=[reading()] * 65).encode()),
        ("humidity with a wrong unit", json.dumps({
            "node": "bs03-wx-01", "time": now_rfc3339(),
            "readings": [reading("rel_humidity_pct", 5.0, "ppm")]}).encode()),
    ]


def test(env):
    forestry = env.route_subscriber("forestry")
    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()
    topic = uplink_topic(VICTIM)
    bad = bad_payloads()
    half = len(bad) // 2

    def send_bad(items):
        for what, payload in items:
            t = topic if what != "unknown node" else uplink_topic("zz-unknown-99")
            if what.startswith("humidity"):
                t = uplink_topic("bs03-wx-01")
            env.publish(t, payload)
            # Keep the daemon honest between payloads: it must still be running.
            check(daemon.alive(), "daemon died after the %s payload" % what)

    # First half of the garbage, then a valid alerting reading from another node.
    send_bad(bad[:half])
    env.send_reading("bs03-smoke-01", "smoke_ppm", 352.5)
    for sub in (forestry, emergency):
        sub.expect_none_before(is_alert("firing", "smoke_high", "bs03-smoke-01", 352.5),
                               what="smoke_high for bs03-smoke-01 after %s"
                               % ", ".join(w for w, _ in bad[:half]))

    # Second half, then resolve that alert, then a valid alert from the victim node itself.
    send_bad(bad[half:])
    env.send_reading("bs03-smoke-01", "smoke_ppm", 11.0)
    env.send_reading(VICTIM, "smoke_ppm", 301.5)
    for sub in (forestry, emergency):
        sub.expect_none_before(is_alert("resolved", "smoke_high", "bs03-smoke-01"),
                               what="smoke_high resolved for bs03-smoke-01 after %s"
                               % ", ".join(w for w, _ in bad[half:]))
        sub.expect_none_before(is_alert("firing", "smoke_high", VICTIM, 301.5),
                               what="smoke_high firing for %s with 301.5 (no bad payload may "
                               "have made it fire already)" % VICTIM)

    check(daemon.alive(), "daemon is not running after the bad payloads")
    env.wait_status("online", retained=True)

    text = daemon.log_text()
    rejections = [ln for ln in text.splitlines()
                  if "uplink" in ln.lower()
                  and any(w in ln.lower() for w in ("reject", "invalid", "drop", "ignor", "bad",
                                                    "malformed", "too ", "unknown", "must",
                                                    "expected", "missing", "parse"))]
    check(len(rejections) >= 3, "daemon log mentions only %d uplink rejections for %d bad "
          "payloads" % (len(rejections), len(bad)))
    fwtest.log("%d rejection lines in the daemon log, e.g. %s" % (len(rejections),
                                                                 rejections[:3]))
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
