#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The retained current state per zone: a bureau system that subscribes after an alert fired
# (a late joiner) still learns of it from <state.topic_prefix>/<zone>, and once it resolves the
# retained state lists no open alert.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402


def zone_state(env, topic, pred, what):
    """The retained state a fresh subscriber gets first, waiting until it satisfies pred."""
    sub = env.subscribe(topic, "state")
    try:
        msg = sub.wait_for(lambda m: pred(m.json), what=what)
        return msg
    finally:
        sub.stop()


def test(env):
    prefix = fwtest.load_json_file(env.config_path)["state"]["topic_prefix"]
    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()

    env.send_reading("bs07-smoke-01", "smoke_ppm", 480.0)
    alert = forestry.expect_none_before(is_alert("firing", "smoke_high", "bs07-smoke-01"),
                                        what="smoke_high firing")

    # A late joiner: subscribes now, after the alert went out.
    msg = zone_state(env, prefix + "/bs-07",
                     lambda s: any(a.get("id") == alert["id"] for a in s.get("open_alerts", [])),
                     "bs-07's retained state listing the open alert")
    check(msg.retained, "the zone state is not retained: %s" % msg)
    state = msg.json
    check(state["zone"] == "bs-07" and state["name"], "zone state: %s" % state)
    check(state["level"] is None, "no fire-danger model runs here, level must be null: %s" % state)
    check(state["open_alerts"][0]["node"] == "bs07-smoke-01", "open alert: %s" % state)
    other = zone_state(env, prefix + "/bs-03", lambda s: True, "bs-03's retained state")
    check(other.retained and other.json["open_alerts"] == [],
          "bs-03 has no open alert: %s" % other.json)

    env.send_reading("bs07-smoke-01", "smoke_ppm", 20.0)
    forestry.expect_none_before(is_alert("resolved", "smoke_high", "bs07-smoke-01"),
                                what="smoke_high resolved")
    msg = zone_state(env, prefix + "/bs-07", lambda s: s.get("open_alerts") == [],
                     "bs-07's retained state with no open alert")
    check(msg.retained, "not retained: %s" % msg)
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
