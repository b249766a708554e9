#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# End to end through a real broker: a field uplink over a rule's threshold becomes exactly one
# alert on every route the rule lists, carrying the zone, rule, value and reading time; a reading
# under the threshold and a repeated reading over it produce nothing; a reading back on the safe
# side resolves the alert; and a forestry-only rule reaches forestry but not emergency.

import os
import sys

# No __pycache__ in the source tree; the scripts are run from it.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import assert_alert, check, is_alert  # noqa: E402


def test(env):
    forestry = env.route_subscriber("forestry")
    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()

    # Under, then over the threshold. If the low reading had produced anything, it would be
    # the first message on the routes instead of the firing alert.
    env.send_reading("bs03-smoke-01", "smoke_ppm", 42.0)
    sent = env.send_reading("bs03-smoke-01", "smoke_ppm", 352.5)
    for sub in (forestry, emergency):
        alert = sub.expect_none_before(is_alert("firing", "smoke_high"),
                                       what="smoke_high firing for 352.5")
        assert_alert(alert, status="firing", rule="smoke_high", node="bs03-smoke-01",
                     metric="smoke_ppm", value=352.5, unit="ppm", op=">", threshold=300,
                     severity="Severe", category="Fire", time=sent["time"],
                     gateway=env.gateway["id"], zone__id="bs-03")
        check(sub.last.qos == 1, "%s: alert delivered with QoS %d, expected 1 (the route's QoS)"
              % (sub.name, sub.last.qos))
        check(not sub.last.retained, "%s: alert was retained" % sub.name)
        check(isinstance(alert.get("id"), str) and alert["id"], "alert id missing: %s" % alert)
        check(isinstance(alert["zone"].get("name"), str), "zone name missing: %s" % alert)
        check(isinstance(alert["zone"].get("forest_chief"), dict),
              "zone forest_chief missing: %s" % alert)
        sub.firing_id = alert["id"]

    # Still over: the rule is already firing, so nothing. Back under: resolved. The sequence on
    # each route is therefore exactly [firing(352.5), resolved].
    env.send_reading("bs03-smoke-01", "smoke_ppm", 410.0)
    env.send_reading("bs03-smoke-01", "smoke_ppm", 18.0)
    for sub in (forestry, emergency):
        alert = sub.expect_none_before(is_alert("resolved", "smoke_high", "bs03-smoke-01"),
                                       what="smoke_high resolved (not a second firing)")
        assert_alert(alert, rule="smoke_high", node="bs03-smoke-01", zone__id="bs-03")

    # A forestry-only rule: humidity. Then a smoke alert from another zone; emergency's next
    # message must be that smoke alert, so the humidity alert never went to emergency.
    sent = env.send_reading("bs03-wx-01", "rel_humidity_pct", 14.5)
    alert = forestry.expect_none_before(is_alert("firing", "humidity_very_low", "bs03-wx-01"),
                                        what="humidity_very_low firing")
    assert_alert(alert, value=14.5, op="<", threshold=20, zone__id="bs-03", time=sent["time"],
                 metric="rel_humidity_pct", unit="%")
    env.send_reading("bs07-smoke-01", "smoke_ppm", 377.0)
    for sub in (emergency, forestry):
        alert = sub.expect_none_before(is_alert("firing", "smoke_high", "bs07-smoke-01"),
                                       what="smoke_high firing for bs07-smoke-01")
        assert_alert(alert, value=377.0, zone__id="bs-07")

    # One uplink carrying two readings over two rules gives one alert per rule and route.
    env.publish(fwtest.uplink_topic("bs03-smoke-02"),
                fwtest.uplink("bs03-smoke-02", [("co_ppm", 81.0), ("battery_v", 3.1)]))
    got = forestry.expect(2)
    check(sorted(a.get("rule") for a in got) == ["battery_low", "co_high"],
          "forestry: expected co_high and battery_low for bs03-smoke-02, got %s" % got)
    alert = emergency.expect_none_before(is_alert("firing", "co_high", "bs03-smoke-02"),
                                         what="co_high firing (battery_low is forestry-only)")

    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
