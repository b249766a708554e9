#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A route that groups: a burst of new alerts for one zone within the route's window goes out as
# one CAP message (an info pair per alert, every alert in <incidents>), while a route that does
# not group gets them one by one; a later message of a grouped alert references the group
# message. Every CAP message is validated against the schema by the harness.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    cfg["routes"]["forestry"]["group_window_ms"] = 1500
    fwtest.write_json_file(env.config_path, cfg)
    forestry = env.route_subscriber("forestry")
    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()

    # A burst in grid 3: two smoke sensors over 300 (smoke_high twice, and two_smoke_sensors).
    env.send_reading("bs03-smoke-01", "smoke_ppm", 420.0)
    env.send_reading("bs03-smoke-02", "smoke_ppm", 390.0)
    group = forestry.next(what="one grouped message on forestry").json["_cap"]
    rules = sorted(p["value"] for i in group["info"] if i["language"] == "en-US"
                   for p in i["parameter"] if p["valueName"] == "forestwatch:rule")
    check(rules == ["smoke_high", "smoke_high", "two_smoke_sensors"],
          "the group should carry the burst's three alerts: %s" % rules)
    check(len(group["info"]) == 6 and group["msgType"] == "Alert",
          "three alerts in zh-CN and en-US: %d info blocks, %s" % (len(group["info"]),
                                                                  group["msgType"]))
    ids = group["incidents"].split()
    check(len(ids) == 3, "every alert in <incidents>: %s" % group["incidents"])

    # The emergency route does not group: the three one by one.
    seen = sorted(emergency.next(what="alert %d on emergency" % k).json["rule"] for k in range(3))
    check(seen == ["smoke_high", "smoke_high", "two_smoke_sensors"],
          "emergency gets each alert alone: %s" % seen)

    # The end of one of them, alone, referencing the group message.
    env.send_reading("bs03-smoke-01", "smoke_ppm", 10.0)
    res = forestry.next(what="a resolution on forestry").json
    cap = res["_cap"]
    check(res["status"] == "resolved" and cap["msgType"] == "Update", "resolution: %s" % res)
    check(group["identifier"] in cap.get("references", ""),
          "the resolution should reference the group message %s: %s"
          % (group["identifier"], cap.get("references")))
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
