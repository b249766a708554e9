#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The pest model in the daemon (docs/pests.md): a zone's station reports the temperatures of a
# local day; the day's step runs on the daemon's own clock, starts the pest's season (a date
# biofix on that day), adds the day's degree-days and projects the next stage, and the shipped
# pest_stage_approaching rule fires with the days computed here by hand. The projection takes the
# meteorology bureau's forecast of the next day's extremes, published on its feed
# (docs/meteo.md), which brings the stage a day nearer than the day's own rate would. After SIGTERM the state
# is in the store; the restarted daemon restores the pest's sum, and a SIGHUP carries it over.
#
# As in test_fire_model.py, the zone's utc_offset_min and close_delay_min are chosen from the
# current time: the local midnight ending the day is a quarter hour just past, and the day's step
# is due at the next whole minute at least 15 s away. The readings are timed in the recent past.

import json
import os
import re
import signal
import sys
import time

# No __pycache__ in the source tree; the scripts are run from it.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import assert_alert, check, is_alert  # noqa: E402

# The step may be up to 75 s away; the script and its ctest TIMEOUT allow for it.
fwtest.SCRIPT_GUARD_S = 150

ZONE = "bs-07"
STATION = "bs07-wx-01"
PEST = "test-moth"
PEST_ZH, PEST_EN = "试验蛾", "trial moth"  # its names in texts
MIN = 60
HOUR = 3600

TMIN, TMAX = 8.0, 28.0  # the day's extremes
LOWER = 10.0            # the pest's lower threshold
STAGE_DD = 20.0         # its one stage
FC_TMIN, FC_TMAX = 20.0, 30.0  # the bureau's forecast for the next day


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def plan(now):
    """The local midnight M ending the day (UTC seconds, on a quarter hour, not after now), the
    step time D = M + delay (a whole minute 15..75 s from now), the offset and delay in minutes."""
    d = (int(now) + 15 + MIN - 1) // MIN * MIN
    m = (d - MIN) // (15 * MIN) * (15 * MIN)
    delay = (d - m) // MIN
    minute_of_day = (m % 86400) // MIN
    offset = (-minute_of_day + 720) % 1440 - 720  # local 00:00 at M, in -720..719
    return m, d, offset, delay


def configure(env):
    """Give ZONE the trial pest, its day ending a moment ago and its step due soon; returns
    plan()'s times and the local date of the next day (the forecast's)."""
    cfg = fwtest.load_json_file(env.config_path)
    m, d, offset, delay = plan(time.time())
    day = time.gmtime(m - 1 + offset * MIN)  # the local day that ends at M
    cfg["zones"][ZONE]["pests"] = {
        "stations": [STATION], "utc_offset_min": offset, "min_hours": 2,
        "close_delay_min": delay,
        "pests": [{"id": PEST, "name": PEST_ZH, "name_en": PEST_EN, "lower": LOWER,
                   "biofix": "date",
                   "biofix_date": "%02d-%02d" % (day.tm_mon, day.tm_mday),
                   "stages": [{"name": "adults", "dd": STAGE_DD, "action": "hang traps"}]}],
    }
    fwtest.write_json_file(env.config_path, cfg)
    fwtest.log("day ends %s (utc_offset_min %d), step due at %s" % (iso(m), offset, iso(d)))
    return m, d, time.strftime("%Y-%m-%d", time.gmtime(m + offset * MIN))


def send_day(env, m):
    """Two readings in two hours of the day ending at m: its minimum early, its maximum in the
    afternoon; and the bureau's forecast of the next day's extremes."""
    env.send_reading(STATION, "air_temp_c", TMIN, when=iso(m - 20 * HOUR))
    env.send_reading(STATION, "air_temp_c", TMAX, when=iso(m - 9 * HOUR))


def send_forecast(env, next_day):
    env.publish("meteo/beishan/forecast", json.dumps({
        "type": "forecast", "issued": fwtest.now_rfc3339(),
        "forecasts": [{"zone": ZONE, "date": next_day, "air_temp_min_c": FC_TMIN,
                       "air_temp_max_c": FC_TMAX}]}))


def test(env):
    m, d, next_day = configure(env)

    # By hand: the simple average method; the projection takes the forecast day's degree-days,
    # then the day's own rate.
    dd = (TMIN + TMAX) / 2 - LOWER
    fc_dd = (FC_TMIN + FC_TMAX) / 2 - LOWER

    def projection(first):
        cum, n = dd, 0
        while cum < STAGE_DD:
            n += 1
            cum += first if n == 1 else dd
        return n
    days = projection(fc_dd)
    check(1 <= days <= 5 and days != projection(dd),
          "the chosen days should put the stage 1..5 days ahead, and the forecast should move "
          "it: %d, without the forecast %d" % (days, projection(dd)))

    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()
    daemon.wait_log(r'models: pests: no saved state under store key "models.pests"',
                    what="a first start without saved state")

    send_day(env, m)
    send_forecast(env, next_day)
    check(time.time() < d, "the readings took until after the step was due; rerun")

    wait = max(d - time.time(), 0) + fwtest.HANG_GUARD_S
    msg = forestry.wait_for(lambda m_: is_alert("firing", "pest_stage_approaching")(m_.json),
                            timeout=wait, what="pest_stage_approaching firing")
    assert_alert(msg.json, status="firing", rule="pest_stage_approaching", value=float(days),
                 zone__id=ZONE)
    # The text names the pest (by its names: English in the en-US text), its coming stage and
    # the action configured for it.
    text = msg.json["description"]["en-US"]
    check('%s of' % PEST_EN in text and '"adults"' in text and text.endswith("hang traps"),
          "the description should name the pest, the stage and its action: %r" % text)
    check(PEST not in text, "the en-US description names the pest by its id: %r" % text)
    check("%s约" % PEST_ZH in msg.json["headline"]["zh-CN"]
          and "“adults”" in msg.json["headline"]["zh-CN"], "zh-CN headline: %r"
          % msg.json["headline"]["zh-CN"])
    line = daemon.wait_log(r'models: pests: zone "%s": day ending \S+: degree_days ' % ZONE,
                           what="the day's degree_days")
    check(abs(float(line.split()[-1]) - dd) < 1e-9, "degree_days: expected %g: %s" % (dd, line))

    daemon.stop()
    check(re.search(r'models: pests: state saved to store key "models.pests"',
                    daemon.log_text()), "no 'state saved' line at shutdown")
    daemon = env.start_daemon()
    line = daemon.wait_log(r'models: pests: zone "%s" pest "%s": restored: ' % (ZONE, PEST),
                           what="the restored sum")
    check("starting fresh" not in daemon.log_text(), "the model started fresh after a restart")
    got = float(re.search(r"degree_days (\S+),", line).group(1))
    check(abs(got - dd) < 1e-9, "restored degree_days: expected %g, got %g" % (dd, got))

    since = daemon.log_size()
    daemon.send_signal(signal.SIGHUP)
    line = daemon.wait_log(r'models: pests: zone "%s" pest "%s": carried over: ' % (ZONE, PEST),
                           since=since, what="the sum carried over a reload")
    got = float(re.search(r"degree_days (\S+),", line).group(1))
    check(abs(got - dd) < 1e-9, "carried-over degree_days: expected %g, got %g" % (dd, got))
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
