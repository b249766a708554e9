#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A duty officer's acknowledgement on the ack topic reaches the engine: the daemon logs it,
# refuses a second one and an unknown id, ignores garbage, and the alert's resolution carries
# who acknowledged it and when. (Repeats and escalation stopping is shown with a fake clock in
# tests/unit/test_alerts.c.)

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402


def test(env):
    ack_topic = fwtest.load_json_file(env.config_path)["acks"]["topic"]
    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()

    env.send_reading("bs03-smoke-01", "smoke_ppm", 420.0)
    alert = forestry.expect_none_before(is_alert("firing", "smoke_high", "bs03-smoke-01"),
                                        what="smoke_high firing")
    check(alert["kind"] == "new" and alert["seq"] == 1, "first message: %s" % alert)

    off = daemon.log_size()
    env.publish(ack_topic, "not json")
    env.publish(ack_topic, json.dumps({"id": "gw-beishan-01:nope:x:1", "by": "duty-3"}))
    ack = {"id": alert["id"], "by": "北山值班员 3", "time": fwtest.now_rfc3339()}
    env.publish(ack_topic, json.dumps(ack, ensure_ascii=False))
    env.publish(ack_topic, json.dumps(ack, ensure_ascii=False))
    daemon.wait_log(r"ack: rejected: needs", since=off, what="the garbage ack rejected")
    daemon.wait_log(r"ack: alert gw-beishan-01:nope:x:1: no open alert", since=off,
                    what="the unknown id reported")
    daemon.wait_log(r"ack: alert %s acknowledged by" % alert["id"], since=off,
                    what="the acknowledgement applied")
    daemon.wait_log(r"ack: alert %s: already acknowledged" % alert["id"], since=off,
                    what="the second acknowledgement refused")

    env.send_reading("bs03-smoke-01", "smoke_ppm", 15.0)
    res = forestry.expect_none_before(is_alert("resolved", "smoke_high", "bs03-smoke-01"),
                                      what="smoke_high resolved")
    check(res["id"] == alert["id"] and res["seq"] == 2, "resolution of the episode: %s" % res)
    check(res.get("acknowledged", {}).get("by") == "北山值班员 3",
          "the resolution does not say who acknowledged: %s" % res)
    check(res["acknowledged"].get("time") == ack["time"],
          "acknowledgement time: %s vs %s" % (res["acknowledged"], ack["time"]))
    # The duty officers' audit: the store lists the alert as acknowledged, by whom.
    out = subprocess.run([fwtest.binary("forestwatch"), "alerts", "--config", env.config_path,
                          "--recent"], capture_output=True, text=True, timeout=10)
    check(out.returncode == 0, "forestwatch alerts: %s" % out.stderr)
    lines = [l for l in out.stdout.splitlines() if alert["id"] in l]
    firing = [l for l in lines if " firing " in l]
    check(len(lines) == 4 and len(firing) == 2
          and all("acknowledged by 北山值班员 3" in l for l in firing),
          "forestwatch alerts --recent should list the 4 messages (2 routes), the firing ones "
          "acknowledged: %s" % out.stdout)
    out = subprocess.run([fwtest.binary("forestwatch"), "alerts", "--config", env.config_path,
                          "--open"], capture_output=True, text=True, timeout=10)
    check(out.returncode == 0 and alert["id"] not in out.stdout,
          "the resolved alert is not open any more: %s" % out.stdout)
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
