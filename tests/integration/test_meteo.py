#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The meteorology bureau's feed (docs/meteo.md) through a real broker, end to end. Its automatic
# station's observations are the only weather of zone bs-03's fire model: the day's FWI step runs
# from them at the zone's noon, like from the gateway's own stations. In the afternoon the bureau
# forecasts tomorrow's noon weather; the gateway derives tomorrow's expected danger level from
# today's codes and the forecast, and the shipped danger_tomorrow rule announces it to the
# forestry bureau the day before, with CAP urgency "Expected", its <onset> and <expires> the
# start and the end of tomorrow in the zone's local time. The level is the one
# `forestwatch fwi` gives for the two days (today observed, tomorrow forecast) from the start-up
# codes. Bad feed messages are refused with their reason and change nothing.
#
# As in test_fire_model.py the model runs on the wall clock, so the zone's UTC offset and noon
# window are chosen from the current time: local noon is a quarter hour just past and its step
# is due at the next whole minute at least 15 s away.

import datetime
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import assert_alert, check, is_alert  # noqa: E402
from test_fire_model import plan, iso, level_of  # noqa: E402

fwtest.SCRIPT_GUARD_S = 150

ZONE = "bs-03"
STATION = "A3011"  # the bureau's station, a node of the shipped config
TOPIC = "meteo/beishan/"
MIN = 60
HOUR = 3600
DAY = 86400

# Today, observed: mild. Tomorrow, forecast: hot, dry and windy.
TODAY = (24.0, 35.0, 3.0, 0.0)  # degC, %, m/s, mm in the 24 h to noon
TOMORROW = (36.0, 8.0, 14.0, 0.0)


def observation(metrics, when):
    return json.dumps({"type": "observation", "station": STATION, "time": iso(when),
                       "readings": [{"metric": m, "value": v, "unit": u} for m, v, u in metrics]})


def forecast(date, weather):
    t, rh, ws, rain = weather
    return json.dumps({"type": "forecast", "issued": fwtest.now_rfc3339(),
                       "forecasts": [{"zone": ZONE, "date": date, "air_temp_c": t,
                                      "rel_humidity_pct": rh, "wind_speed_ms": ws,
                                      "rain_mm": rain}]})


def expected_fwi(lat, days):
    """`forestwatch fwi` over consecutive local days [(struct_time, weather)], the last FWI."""
    rows = "".join("z,%r,123.45,%d,%d,%d,%r,%r,%r,%r\n"
                   % (lat, d.tm_year, d.tm_mon, d.tm_mday, w[0], w[1], w[2] * 3.6, w[3])
                   for d, w in days)
    res = subprocess.run([fwtest.binary("forestwatch"), "fwi"],
                         input="id,lat,long,yr,mon,day,temp,rh,ws,prec\n" + rows,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                         timeout=fwtest.HANG_GUARD_S)
    check(res.returncode == 0, "forestwatch fwi failed: %s" % res.stderr)
    lines = res.stdout.strip().splitlines()
    head = lines[0].split(",")
    return [float(dict(zip(head, ln.split(",")))["fwi"]) for ln in lines[1:]]


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    check(any(u.get("format") == "meteo" for u in cfg["uplinks"]),
          "the shipped config subscribes to the meteorology feed")
    zone = cfg["zones"][ZONE]
    lat = zone["location"]["lat"]
    n, d, offset, window = plan(time.time())
    zone["fire"] = {"stations": [STATION], "utc_offset_min": offset, "noon_window_min": window}
    fwtest.write_json_file(env.config_path, cfg)
    local_today = time.gmtime(n + offset * MIN)
    local_tomorrow = time.gmtime(n + offset * MIN + DAY)
    tomorrow = time.strftime("%Y-%m-%d", local_tomorrow)
    fwtest.log("noon %s (utc_offset_min %d), step due at %s, tomorrow is %s"
               % (iso(n), offset, iso(d), tomorrow))
    fwi_today, fwi_tomorrow = expected_fwi(lat, [(local_today, TODAY),
                                                 (local_tomorrow, TOMORROW)])
    level = level_of(fwi_tomorrow)
    check(level >= 4, "the forecast should give level 4 or 5, forestwatch fwi gives FWI %.3f"
          % fwi_tomorrow)
    check(level_of(fwi_today) < 4, "today should be below level 4 (FWI %.3f)" % fwi_today)

    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()
    daemon.wait_log(r"models: fire: no saved state", what="the fire model at start")

    # The bureau's hourly observations: rain over the window, then the noon weather.
    for h in range(26, 0, -2):
        env.publish(TOPIC + "obs", observation([("rain_mm", 0.0, "mm")], n - h * HOUR))
    t, rh, ws, rain = TODAY
    env.publish(TOPIC + "obs", observation([("air_temp_c", t, "degC"),
                                            ("rel_humidity_pct", rh, "%"),
                                            ("wind_speed_ms", ws, "m/s"),
                                            ("rain_mm", rain, "mm")], n))
    check(time.time() < d, "the observations took until after the step was due; rerun")
    line = daemon.wait_log(r'models: fire: zone "%s": day %s\S*: fire_danger_level (\d)'
                           % (ZONE, re.escape(iso(n)[:-1])),
                           timeout=max(d - time.time(), 0) + fwtest.HANG_GUARD_S,
                           what="today's step, from the bureau's observations")
    check(int(re.search(r"fire_danger_level (\d)", line).group(1)) == level_of(fwi_today),
          "today's level is not forestwatch fwi's: %s" % line)

    # Bad messages on the feed: refused with the reason, nothing derived from them.
    since = daemon.log_size()
    env.publish(TOPIC + "forecast", json.dumps({"type": "forecast", "issued":
                                                fwtest.now_rfc3339(), "forecasts": [
                                                    {"zone": ZONE, "date": tomorrow,
                                                     "air_temp_c": 30}]}))
    daemon.wait_log(r"forecasts\[0\]: needs the noon weather", since=since,
                    what="an incomplete forecast refused with its reason")
    env.publish(TOPIC + "forecast", "{\"type\": \"outlook\"}")
    daemon.wait_log(r'type: must be "observation", "forecast" or "fire_danger_level", got "outlook"', since=since,
                    what="an unknown message type refused")

    # The afternoon forecast for tomorrow: the expected level, announced the day before.
    env.publish(TOPIC + "forecast", forecast(tomorrow, TOMORROW))
    alert = forestry.expect_none_before(is_alert("firing", "danger_tomorrow"),
                                        what="danger_tomorrow from the forecast")
    assert_alert(alert, status="firing", rule="danger_tomorrow", value=float(level),
                 urgency="Expected", zone__id=ZONE)
    # In effect for tomorrow, the zone's local day, and only then (written at the CAP offset).
    zone_tz = datetime.timezone(datetime.timedelta(minutes=offset))
    cap_tz = datetime.timezone(datetime.timedelta(minutes=cfg["cap"]["utc_offset_min"]))
    start = datetime.datetime.strptime(tomorrow, "%Y-%m-%d").replace(tzinfo=zone_tz)
    want = (start.astimezone(cap_tz).isoformat(),
            (start + datetime.timedelta(days=1)).astimezone(cap_tz).isoformat())
    for info in alert["_cap"]["info"]:
        check((info.get("onset"), info.get("expires")) == want,
              "danger_tomorrow %s: onset, expires %s, %s; expected %s, %s"
              % (info.get("language"), info.get("onset"), info.get("expires"), *want))
    daemon.wait_log(r'models: fire: zone "%s": tomorrow %s: fire_danger_level_tomorrow %d$'
                    % (ZONE, tomorrow, level), what="tomorrow's level in the log")
    check("fire_danger_level_tomorrow" not in daemon.log_text(0)[:since],
          "tomorrow's level appeared before the forecast")

    # A milder update for the same day: the expectation falls and the alert resolves.
    env.publish(TOPIC + "forecast", forecast(tomorrow, TODAY))
    forestry.expect_none_before(is_alert("resolved", "danger_tomorrow"),
                                what="danger_tomorrow resolved by a milder forecast")
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
