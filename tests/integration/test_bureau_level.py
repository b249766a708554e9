#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The meteorology bureau's own level through a real broker (docs/models.md, "The bureau's own
# level"): zone bs-03, on the national rating's scale and in county 150781, gets the bureau's
# level 2 for the current local day on the feed, per county; then a day of its station's
# readings that the rating computes as level 5 (as integration.cn_model sets it up). The computed
# 5 does not become the zone's level: danger_red stays quiet, and the shipped rule
# bureau_level_differs tells the forestry bureau that the two differ, its texts and CAP naming
# the bureau's level 2 and the computed 5. A later issue of level 5 for the day is then the
# zone's level: danger_red fires naming the bureau's level, and the disagreement resolves.

import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import assert_alert, check, is_alert  # noqa: E402
import test_cn_model as cn  # noqa: E402  (the day's plan and its weather)

COUNTY = "150781"
TOPIC = "meteo/beishan/levels"


def cap_params(alert, lang):
    """The forestwatch: parameters of the alert's info in `lang`."""
    info = [i for i in alert["_cap"]["info"] if i["language"] == lang][0]
    return {p["valueName"].split(":", 1)[-1]: p["value"] for p in info["parameter"]}


def publish_level(env, date, level):
    env.publish(TOPIC, json.dumps({
        "type": "fire_danger_level", "issued": fwtest.now_rfc3339(),
        "levels": [{"county": COUNTY, "date": date, "level": level}]}))


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    m, c, offset, delay = cn.plan(time.time())
    zone = cfg["zones"][cn.ZONE]
    zone["cn"] = {"stations": [cn.STATION], "utc_offset_min": offset, "close_delay_min": delay,
                  "phenology": [{"from": "01-01", "class": "G50"}]}
    zone["danger_scale"] = "cn"
    zone["county"] = COUNTY
    fwtest.write_json_file(env.config_path, cfg)
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(m + offset * cn.MIN - 1))
    today = time.strftime("%Y-%m-%d", time.gmtime(m + offset * cn.MIN))
    want = cn.tool_row(yesterday)
    check(want["level"] == "5", "the chosen day should be level 5, the tool gives %s" % want)

    forestry = env.route_subscriber("forestry")
    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()
    daemon.wait_log(r"models: cn: no saved state", what="the rating model at start")

    # The bureau's level of the current local day, published for the county.
    publish_level(env, today, 2)
    daemon.wait_log(r"meteo: the bureau's fire weather level for zone \"%s\" on %s: 2"
                    % (cn.ZONE, today), what="the bureau's level kept")
    daemon.wait_log(r'models: bureau: zone "%s": day %s: the bureau\'s level 2 is the zone\'s '
                    r'fire_danger_level' % (cn.ZONE, today), what="the bureau's level in force")

    # The day that just ended, hour by hour: the rating gives it level 5 at the close.
    for h in (27, 26, 25):
        env.send_reading(cn.STATION, "rain_mm", 0.0, when=cn.iso(m - h * cn.HOUR + 600))
    for h in range(24):
        peak = h == 14
        env.publish(fwtest.uplink_topic(cn.STATION),
                    fwtest.uplink(cn.STATION,
                                  [("air_temp_c", cn.TMAX if peak else cn.TMAX - 5 - h % 4),
                                   ("rel_humidity_pct", cn.RHMIN if peak else 60.0),
                                   ("wind_speed_ms", cn.WMAX if peak else 2.0),
                                   ("rain_mm", 0.0)],
                                  when=cn.iso(m - cn.DAY_S + h * cn.HOUR + 600)))
    check(time.time() < c, "the readings took until after the close was due; rerun")

    # At the close: the computed 5 and the bureau's 2 differ by three levels.
    wait = max(c - time.time(), 0) + fwtest.HANG_GUARD_S
    differs = forestry.wait_for(lambda msg: is_alert("firing", "bureau_level_differs")(msg.json),
                                timeout=wait, what="bureau_level_differs firing").json
    daemon.wait_log(r'models: cn: zone "%s": day %s: cn_rating_level 5' % (cn.ZONE, yesterday),
                    what="the computed level")
    assert_alert(differs, rule="bureau_level_differs", level=2.0, zone__id=cn.ZONE)
    zh, en = cap_params(differs, "zh-CN"), cap_params(differs, "en-US")
    check(zh["computed_level"] == "5" and en["computed_level"] == "5",
          "the computed level beside the bureau's: %s" % en)
    check(zh["scale"] == "气象部门发布的森林火险气象等级" and zh["level_name"] == "较低火险"
          and zh["colour"] == "蓝" and "flag" not in zh, "the bureau's level 2 named: %s" % zh)
    check(en["level_name"] == "lower" and en["colour"] == "blue", "in English: %s" % en)
    check("5 级" in differs["headline"]["zh-CN"] and "2 级" in differs["headline"]["zh-CN"],
          "the text names both levels: %s" % differs["headline"]["zh-CN"])
    check("level 2" in differs["description"]["en-US"]
          and "level 5" in differs["description"]["en-US"],
          "the English text names both levels: %s" % differs["description"]["en-US"])

    # A later issue for the day: level 5 is the zone's, danger_red fires naming it, and the
    # first message on the emergency route is that one (the computed 5 fired nothing there).
    publish_level(env, today, 5)
    red = emergency.expect_none_before(is_alert("firing", "danger_red"),
                                       what="danger_red from the bureau's level")
    assert_alert(red, level=5.0, zone__id=cn.ZONE)
    params = cap_params(red, "zh-CN")
    check(params["scale"] == "气象部门发布的森林火险气象等级" and params["flag"] == "红旗"
          and params["level_name"] == "极高火险" and params["computed_level"] == "5",
          "danger_red names the bureau's level: %s" % params)
    forestry.wait_for(lambda msg: is_alert("resolved", "bureau_level_differs")(msg.json),
                      what="the disagreement resolved")
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
