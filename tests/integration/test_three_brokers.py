#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Field network, forestry bureau and emergency-management bureau on three separate brokers: the
# daemon keeps one link per broker, reads uplinks from the field broker only, and publishes each
# route's alerts on that route's own broker, and nowhere else.

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import assert_alert, check, is_alert  # noqa: E402


def test(env):
    forestry_broker = env.add_broker("forestry-broker")
    emergency_broker = env.add_broker("emergency-broker")

    # The generated config has one broker, "local" (the field broker); add the bureaus' own.
    cfg = fwtest.load_json_file(env.config_path)
    cfg["brokers"]["forestry"] = {"host": "127.0.0.1", "port": forestry_broker.port}
    cfg["brokers"]["emergency"] = {"host": "127.0.0.1", "port": emergency_broker.port}
    cfg["routes"]["forestry"]["broker"] = "forestry"
    cfg["routes"]["emergency"]["broker"] = "emergency"
    fwtest.write_json_file(env.config_path, cfg)

    forestry = env.subscribe(env.routes["forestry"]["topic"], "forestry", forestry_broker)
    emergency = env.subscribe(env.routes["emergency"]["topic"], "emergency", emergency_broker)
    # The field broker must see no alert at all: both route topics are watched there too.
    field_alerts = env.subscribe("bureau/#", "field broker alerts")
    env.start_daemon()

    sent = env.send_reading("bs07-smoke-01", "smoke_ppm", 512.0)
    for sub in (forestry, emergency):
        alert = sub.expect_none_before(is_alert("firing", "smoke_high", "bs07-smoke-01"),
                                       what="smoke_high firing on the bureau's own broker")
        assert_alert(alert, value=512.0, zone__id="bs-07", time=sent["time"])

    # A forestry-only alert goes to the forestry broker.
    env.send_reading("bs07-wx-01", "rel_humidity_pct", 11.0)
    alert = forestry.expect_none_before(is_alert("firing", "humidity_very_low", "bs07-wx-01"),
                                        what="humidity_very_low on the forestry broker")
    assert_alert(alert, value=11.0)

    # Uplinks published on a bureau's broker are not field uplinks: the daemon does not listen
    # there, so this reading produces nothing (the next message on emergency is the later one).
    env.publish(fwtest.uplink_topic("bs03-smoke-01"),
                fwtest.uplink("bs03-smoke-01", [("smoke_ppm", 999.0)]), broker=emergency_broker)
    env.send_reading("bs03-smoke-02", "smoke_ppm", 333.0)
    alert = emergency.expect_none_before(is_alert("firing", "smoke_high"),
                                         what="the next smoke alert on emergency")
    check(alert["node"] == "bs03-smoke-02",
          "an uplink on the emergency broker was taken as field data: %s" % alert)

    # Nothing reached the field broker's bureau topics: a marker published there now must be
    # the first thing its subscriber sees.
    env.publish("bureau/marker", "marker")
    first = field_alerts.next(what="the marker on the field broker")
    check(first.topic == "bureau/marker",
          "an alert was published on the field broker: %s" % first)


if __name__ == "__main__":
    fwtest.run(test)
