#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The fire-danger model in the daemon (docs/models.md): a zone's weather station reports the
# 24 hours of rain before the zone's local noon and the noon weather; the daily FWI step runs on
# the daemon's own clock and its derived fire_danger_level fires the shipped danger_red rule,
# with the level that `forestwatch fwi` gives for the same inputs. After SIGTERM the state is in
# the store; the restarted daemon restores it (the codes are the ones computed before the stop,
# not the start-up codes), and a SIGHUP carries it over to the reloaded config. Zone bs-07, whose
# station is silent and which has no fallback here, has its noon at the same time: its day is
# missing, never computed from zeros, and the shipped danger_unknown rule tells the forestry
# bureau so.
#
# The model runs on the wall clock and a fresh model only computes noons still to come, so the
# zone's utc_offset_min and noon_window_min are chosen from the current time: local noon is a
# quarter hour just past, and its step is due at the next whole minute at least 15 s away. The
# readings are timed in the recent past, which the uplink limits allow (max_age_ms is 7 days).

import os
import re
import signal
import subprocess
import sys
import time

# No __pycache__ in the source tree; the scripts are run from it.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import assert_alert, check, is_alert  # noqa: E402

# The step may be up to 75 s away; the script and its ctest TIMEOUT allow for it.
fwtest.SCRIPT_GUARD_S = 150

ZONE = "bs-03"
STATION = "bs03-wx-01"
SILENT_ZONE, SILENT_STATION = "bs-07", "bs07-wx-01"
MIN = 60
HOUR = 3600

# The noon weather: hot, dry and windy, so that the day is level 5 by the default table.
TEMP_C, RH_PCT, WIND_MS = 35.0, 10.0, 15.0
LEVEL_MIN = [0.0, 5.0, 10.0, 20.0, 30.0]  # docs/models.md, the provisional default


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def plan(now):
    """The noon N (UTC seconds, on a quarter hour, not after now), the step time D = N + window
    (a whole minute 15..75 s from now), the zone's offset and window in minutes."""
    d = (int(now) + 15 + MIN - 1) // MIN * MIN
    n = (d - MIN) // (15 * MIN) * (15 * MIN)
    window = (d - n) // MIN
    minute_of_day = (n % 86400) // MIN
    offset = (720 - minute_of_day + 720) % 1440 - 720  # local 12:00 at N, in -720..719
    return n, d, offset, window


def send_day(env, station, n):
    """Rain reports (0 mm: dry) of `station` every two hours over the window and the gap before
    it, so the 24-hour rain is known; then the noon weather, timed at noon `n`."""
    for h in range(26, 0, -2):
        env.send_reading(station, "rain_mm", 0.0, when=iso(n - h * HOUR))
    env.publish(fwtest.uplink_topic(station),
                fwtest.uplink(station, [("air_temp_c", TEMP_C), ("rel_humidity_pct", RH_PCT),
                                        ("wind_speed_ms", WIND_MS), ("rain_mm", 0.0)],
                              when=iso(n)))


def expected_codes(lat, local_date):
    """`forestwatch fwi` on the same day from the start-up codes: {"ffmc": .., ...}."""
    row = "z,%r,123.45,%d,%d,%d,%r,%r,%r,0\n" % (lat, local_date.tm_year, local_date.tm_mon,
                                                local_date.tm_mday, TEMP_C, RH_PCT,
                                                WIND_MS * 3.6)
    res = subprocess.run([fwtest.binary("forestwatch"), "fwi"],
                         input="id,lat,long,yr,mon,day,temp,rh,ws,prec\n" + row,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                         timeout=fwtest.HANG_GUARD_S)
    check(res.returncode == 0, "forestwatch fwi failed: %s" % res.stderr)
    head, vals = res.stdout.strip().splitlines()
    return {k: float(v) for k, v in zip(head.split(","), vals.split(","))
            if k in ("ffmc", "dmc", "dc", "isi", "bui", "fwi")}


def level_of(value):
    return 1 + sum(1 for k in range(1, 5) if value >= LEVEL_MIN[k])


def logged_codes(line):
    got = dict(re.findall(r"\b(ffmc|dmc|dc|fwi) (\S+)", line))
    return {k: float(v) for k, v in got.items()}


def check_codes(what, got, want):
    for k in ("ffmc", "dmc", "dc", "fwi"):
        check(k in got and abs(got[k] - want[k]) < 1e-4,
              "%s: %s: expected %.6f (forestwatch fwi), got %s" % (what, k, want[k], got.get(k)))


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    zone = cfg["zones"][ZONE]
    lat = zone["location"]["lat"]
    n, d, offset, window = plan(time.time())
    zone["fire"] = {"stations": [STATION], "utc_offset_min": offset, "noon_window_min": window}
    cfg["zones"][SILENT_ZONE]["fire"] = {"stations": [SILENT_STATION], "utc_offset_min": offset,
                                         "noon_window_min": window}
    fwtest.write_json_file(env.config_path, cfg)
    fwtest.log("noon %s (utc_offset_min %d), step due at %s" % (iso(n), offset, iso(d)))

    want = expected_codes(lat, time.gmtime(n + offset * MIN))
    level = level_of(want["fwi"])
    check(level == 5, "the chosen weather should be level 5, forestwatch fwi gives FWI %.3f"
          % want["fwi"])

    emergency = env.route_subscriber("emergency")
    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()
    check(daemon.wait_log(r'models: fire: no saved state under store key "models.fire"'),
          "a first start has no saved state")

    send_day(env, STATION, n)
    check(time.time() < d, "the readings took until after the step was due; rerun")

    # The step runs at D; its level reaches the danger_red rule (level >= 5, no `for`), the
    # first and only alert on the emergency route.
    wait = max(d - time.time(), 0) + fwtest.HANG_GUARD_S
    alert = emergency.expect_none_before(is_alert("firing", "danger_red"), timeout=wait,
                                         what="danger_red firing from the derived "
                                         "fire_danger_level")
    assert_alert(alert, status="firing", rule="danger_red", value=float(level), zone__id=ZONE)
    daemon.wait_log(r'models: fire: zone "%s": day %s\S*: fire_danger_level %d'
                    % (ZONE, re.escape(iso(n)[:-1]), level),
                    what="the daily step's log line")

    # The silent zone's day is missing: the duty officer is told, for that zone only.
    unknown = forestry.wait_for(lambda m: is_alert("firing", "danger_unknown")(m.json),
                                what="danger_unknown for the silent zone")
    assert_alert(unknown.json, status="firing", rule="danger_unknown", zone__id=SILENT_ZONE)
    daemon.wait_log(r'models: fire: zone "%s": day %s\S*: fire_model_missing 1'
                    % (SILENT_ZONE, re.escape(iso(n)[:-1])), what="the missing day's log line")
    check(not re.search(r'zone "%s": day \S+: fire_danger_level' % SILENT_ZONE,
                        daemon.log_text()), "the silent zone got a level computed from nothing")

    # SIGTERM saves the state; the next start restores it: the codes of the day computed above.
    daemon.stop()
    check(re.search(r'models: fire: state saved to store key "models.fire"', daemon.log_text()),
          "no 'state saved' line at shutdown")
    daemon = env.start_daemon()
    daemon.wait_log(r'models: fire: state restored from store key "models.fire"',
                    what="the state restored at start")
    line = daemon.wait_log(r'models: fire: zone "%s": restored: last day ' % ZONE,
                           what="the restored codes of %s" % ZONE)
    check("starting fresh" not in daemon.log_text(), "the model started fresh after a restart")
    got = logged_codes(line)
    check_codes("restored", got, want)
    check(abs(got["ffmc"] - 85.0) > 1 and abs(got["dc"] - 15.0) > 1,
          "restored codes are the start-up ones: %s" % line)

    # A reload carries the state over to the new model.
    since = daemon.log_size()
    daemon.send_signal(signal.SIGHUP)
    line = daemon.wait_log(r'models: fire: zone "%s": carried over: ' % ZONE, since=since,
                           what="the codes carried over a reload")
    check_codes("carried over", logged_codes(line), want)
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
