#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Record and replay, end to end: the daemon runs with recording on and rules of every kind (a
# threshold, a window, a `for`), readings fire and resolve alerts on several of them, one alert
# flaps; the daemon is stopped with SIGTERM; then `forestwatch replay --json --route forestry`
# runs the recorded file through the same config. It must print exactly the messages the live
# daemon published on the forestry route, in the same order and in the route's format (CAP XML),
# byte for byte, send times included: the core is deterministic, the recording holds all it was
# given (an alert raised by the daemon's one-second tick is recorded with that tick), and replay
# drives the same core.

import glob
import json
import os
import re
import subprocess
import sys

# No __pycache__ in the source tree; the scripts are run from it.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, fail  # noqa: E402

EXTRA_RULES = {
    "rules": [
        {"name": "smoke_rising", "expr": "delta(smoke_ppm[5m]) > 100", "severity": "Moderate",
         "category": "Fire", "routes": ["forestry"]},
        {"name": "co_sustained", "expr": "co_ppm > 50", "for": "2s", "severity": "Severe",
         "category": "Fire", "routes": ["forestry"]},
    ]
}


def key(alert):
    """What live and replay must agree on, read from the CAP message into the project's alert
    fields (values as numbers, times in whole seconds as CAP writes them)."""
    time = re.sub(r"\.\d+Z$", "Z", alert.get("time") or "")
    value = alert.get("value")
    return (alert.get("id"), alert.get("status"), alert.get("rule"),
            alert.get("zone", {}).get("id"), alert.get("node"),
            None if value is None else float(value), time)


def configure(env):
    """Recording on, evaluation every second (so the `for` of 2 s plays out quickly), and the
    extra rules in rules.d/."""
    cfg = fwtest.load_json_file(env.config_path)
    rec_dir = os.path.join(env.workdir, "recordings")
    cfg["record"] = {"dir": rec_dir, "max_file_bytes": 1048576, "max_files": 4}
    cfg["engine"] = {"eval_interval_ms": 1000}
    fwtest.write_json_file(env.config_path, cfg)
    fwtest.write_json_file(os.path.join(os.path.dirname(env.config_path), "rules.d",
                                        "replay.json"), EXTRA_RULES)
    return rec_dir


def test(env):
    rec_dir = configure(env)
    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()
    live = []

    def expect(n, rules, what):
        got = forestry.expect_raw(n)
        check(sorted(m.json.get("rule") for m in got) == sorted(rules),
              "forestry: expected %s (%s), got %s" % (rules, what, got))
        live.extend(got)

    # A threshold and a window fire together, then resolve together. (The window needs two
    # samples of different times: uplink times have whole seconds.)
    env.send_reading("bs03-smoke-01", "smoke_ppm", 40.0, when=fwtest.now_rfc3339(-60))
    env.send_reading("bs03-smoke-01", "smoke_ppm", 352.5)
    expect(2, ["smoke_high", "smoke_rising"], "smoke over 300, rising by 312.5")
    env.send_reading("bs03-smoke-01", "smoke_ppm", 18.0)
    expect(2, ["smoke_high", "smoke_rising"], "smoke back to 18")

    # co_high fires at once; co_sustained only after its `for` of 2 s, from a tick.
    env.send_reading("bs03-smoke-02", "co_ppm", 81.0)
    expect(1, ["co_high"], "co over 50")
    expect(1, ["co_sustained"], "co over 50 for 2 s")
    env.send_reading("bs03-smoke-02", "co_ppm", 10.0)
    expect(2, ["co_high", "co_sustained"], "co back to 10")

    # Another rule, another node; then the smoke alert flaps: it fires again.
    env.send_reading("bs03-wx-01", "rel_humidity_pct", 14.5)
    expect(1, ["humidity_very_low"], "humidity 14.5")
    env.send_reading("bs03-smoke-01", "smoke_ppm", 377.0)
    expect(2, ["smoke_high", "smoke_rising"], "smoke over 300 again")

    daemon.stop()

    files = sorted(glob.glob(os.path.join(rec_dir, "readings-*.jsonl")))
    check(len(files) == 1, "expected one recording file in %s, got %s" % (rec_dir, files))
    with open(files[0]) as f:
        lines = [json.loads(line) for line in f]
    readings = [r for r in lines if "tick" not in r]
    check(len(readings) == 7, "expected 7 recorded readings, got %d: %s" % (len(readings), lines))
    check(lines[-1].get("tick") is True, "the recording must end with a tick: %s" % lines[-1])
    check(all(r["source"] == "mqtt" for r in readings), "recorded sources: %s" % readings)

    res = subprocess.run([fwtest.binary("forestwatch"), "replay", "--json", "--route", "forestry",
                          "--config", env.config_path, "--from", files[0]],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    out = res.stdout.decode("utf-8", errors="replace")
    err = res.stderr.decode("utf-8", errors="replace")
    check(res.returncode == 0, "replay exited %d: %s" % (res.returncode, err))
    # The route carries CAP XML: one document after another, each with its declaration.
    check(out.startswith("<?xml"), "replay --json on a CAP XML route printed: %r" % out[:300])
    replayed = ["<?xml" + doc for doc in out.split("<?xml")[1:]]
    want = [key(m.json) for m in live]
    got = [key(fwtest.cap_flatten(fwtest.cap_from_xml(doc))) for doc in replayed]
    if got != want:
        fail("replay differs from the live alerts on forestry:\nlive:\n  %s\nreplay:\n  %s\n%s"
             % ("\n  ".join(map(str, want)), "\n  ".join(map(str, got)), err))
    for m, doc in zip(live, replayed):
        if m.text != doc:
            fail("replay renders a message differently from the daemon:\nlive:\n%s\nreplay:\n%s"
                 % (m.text, doc))
    check("2 flaps" in err, "replay summary: expected 2 flaps (smoke_high and smoke_rising fired "
          "again): %s" % err)


if __name__ == "__main__":
    fwtest.run(test)
