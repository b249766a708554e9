#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A node that floods (a stuck firmware loop, a replayed capture) is held to its budget
# (limits.node_messages_per_s and node_burst): its messages beyond the burst are dropped and the
# log names it, while the other nodes' readings still become alerts. Here the flooding node's
# last message would have raised an alert; the budget drops it, so the next alert on the route
# is the other node's. The meteorology feed's forecasts, which name no node, share one budget of
# the same size: a flood of them is held to it and reported too.

import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402

BURST = 20
FLOOD = 500


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    # One message per 100 s after the burst: nothing refills while the test runs.
    cfg["limits"] = dict(cfg.get("limits", {}), node_messages_per_s=0.01, node_burst=BURST)
    cfg["zones"]["bs-03"]["fire"] = {"stations": ["bs03-wx-01"], "utc_offset_min": 480}
    fwtest.write_json_file(env.config_path, cfg)
    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()

    t0 = int(time.time() * 1000) - 60000
    lines = []
    for k in range(FLOOD):
        value = 450.0 if k == FLOOD - 1 else 10.0 + k % 7  # only the last is over threshold
        lines.append(json.dumps({"node": "bs03-smoke-01", "time": iso(t0 + k * 10),
                                 "readings": [{"metric": "smoke_ppm", "value": value,
                                               "unit": "ppm"}]}))
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(env.broker.port), "-q", "1",
                    "-t", fwtest.uplink_topic("bs03-smoke-01"), "-l"],
                   input="\n".join(lines) + "\n", text=True, check=True, timeout=30)
    env.send_reading("bs07-smoke-01", "smoke_ppm", 480.0)
    alert = forestry.expect_none_before(is_alert("firing", "smoke_high", "bs07-smoke-01"),
                                        what="the other node's alert, and none from the flood")
    check(alert["value"] == 480.0, "alert: %s" % alert)
    check(daemon.alive(), "the daemon died under the flood")
    line = daemon.wait_log(r'node "bs03-smoke-01" floods', what="the flood being reported")
    fwtest.log("reported: %s" % line.strip())

    # A flood of forecasts: the first BURST are taken, the rest dropped and reported.
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600 + 86400))
    forecasts = [json.dumps({"type": "forecast", "issued": int(time.time()) - FLOOD + k,
                             "forecasts": [{"zone": "bs-03", "date": tomorrow,
                                            "air_temp_c": 20.0 + k % 10, "rel_humidity_pct": 40,
                                            "wind_speed_ms": 3, "rain_mm": 0}]})
                 for k in range(FLOOD)]
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(env.broker.port), "-q", "1",
                    "-t", "meteo/beishan/forecast", "-l"],
                   input="\n".join(forecasts) + "\n", text=True, check=True, timeout=30)
    daemon.wait_log(r"meteo: forecasts on meteo/beishan/forecast floods",
                    what="the forecast flood being reported")
    taken = len(re.findall(r'meteo: forecast for zone "bs-03"', daemon.log_text()))
    check(taken == BURST, "%d forecasts taken, expected the burst of %d" % (taken, BURST))
    check(daemon.alive(), "the daemon died under the forecast flood")
    daemon.stop()
    stats = [ln for ln in daemon.log_text().splitlines() if "daemon: stats:" in ln]
    check(stats, "no stats line at shutdown")
    dropped = int(stats[-1].split("flood-dropped ")[1].split(",")[0])
    check(dropped == 2 * (FLOOD - BURST),
          "flood-dropped %d, expected %d" % (dropped, 2 * (FLOOD - BURST)))


if __name__ == "__main__":
    fwtest.run(test)
