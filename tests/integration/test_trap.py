#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A pheromone trap in late spring (fw-fieldsim's catches rise through spring): its catches over a
# day cross the shipped trap rule's action threshold and the alert reaches the forestry bureau
# end to end through the broker. A node told to fall silent sends nothing more. Reports go 1 s
# apart: two samples of one node in the same second replace each other.

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    cfg["record"] = {"dir": "rec"}
    fwtest.write_json_file(env.config_path, cfg)
    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()

    res = subprocess.run([fwtest.binary("fw-fieldsim"), "-p", str(env.broker.port),
                          "-n", "bs07-trap-01,bs07-smoke-01", "-i", "1000", "-c", "7",
                          "--season-day", "150", "--seed", "3", "--silent", "bs07-smoke-01@3"],
                         capture_output=True, text=True, timeout=60)
    check(res.returncode == 0, "fw-fieldsim: %s" % res.stderr)
    alert = forestry.wait_for(lambda m: is_alert("firing", "trap_catch_high", "bs07-trap-01")(
        m.json), what="trap_catch_high for the trap").json
    check(alert["value"] > 50 and alert["zone"]["id"] == "bs-07", "trap alert: %s" % alert)
    daemon.stop()

    counts = {}
    rec = os.path.join(os.path.dirname(env.config_path), "rec")
    for name in os.listdir(rec):
        with open(os.path.join(rec, name)) as f:
            for line in f:
                r = json.loads(line)
                if r.get("metric") == "battery_v":
                    counts[r["station"]] = counts.get(r["station"], 0) + 1
    check(counts.get("bs07-trap-01") == 7 and counts.get("bs07-smoke-01") == 3,
          "7 reports from the trap, and 3 from the node silenced at round 3: %s" % counts)


if __name__ == "__main__":
    fwtest.run(test)
