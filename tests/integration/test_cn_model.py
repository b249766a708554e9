#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The national fire weather rating in the daemon (docs/models.md, "The national fire weather
# rating"): a zone on the rating's scale (`"danger_scale": "cn"`) gets a whole local day of
# hourly readings from its weather station through a real broker; at the day's close the daemon
# rates it, the level is the one `forestwatch cnrating` gives for the day's extremes, and the
# zone's fire_danger_level fires the shipped danger_red rule with it. After SIGTERM the rating's
# state is in the store; the restarted daemon restores it (the day, its HTZ and level, the rain
# carried on), and a SIGHUP carries it over to the reloaded config. A month of days through the
# model against the tool is the unit test unit.cnmodel.month_matches_the_tool.
#
# The model runs on the wall clock and a fresh model rates only days still to close, so the
# zone's utc_offset_min and close_delay_min are chosen from the current time: local midnight is
# a quarter hour just past, and the day's close is due at the next whole minute at least 15 s
# away. The readings are timed in the day that just ended, which the uplink limits allow.

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

# The close may be up to 75 s away; the script and its ctest TIMEOUT allow for it.
fwtest.SCRIPT_GUARD_S = 150

ZONE = "bs-03"
STATION = "bs03-wx-01"
MIN = 60
HOUR = 3600

# The day's extremes (reached at 14:00 local), no rain: E11 of the worked examples, level 5 at
# its bottom edge (HTZ 91) with the green-grass class G50.
TMAX, RHMIN, WMAX = 28.0, 31.0, 5.4


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def plan(now):
    """The local midnight M (UTC seconds, on a quarter hour, not after now), the close time
    C = M + delay (a whole minute 15..75 s from now), the zone's offset and delay in minutes."""
    c = (int(now) + 15 + MIN - 1) // MIN * MIN
    m = (c - MIN) // (15 * MIN) * (15 * MIN)
    delay = (c - m) // MIN
    minute_of_day = (m % 86400) // MIN
    offset = (-minute_of_day + 720) % 1440 - 720  # local 00:00 at M, in -720..719
    return m, c, offset, delay


def tool_row(date):
    """`forestwatch cnrating` on the day: {"A": .., ..., "htz": .., "level": ..}."""
    res = subprocess.run([fwtest.binary("forestwatch"), "cnrating"],
                         input="date,tmax_c,rh_min_pct,precip_mm,wind_max_ms,phenology\n"
                         "%s,%r,%r,0,%r,G50/S30\n" % (date, TMAX, RHMIN, WMAX),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                         timeout=fwtest.HANG_GUARD_S)
    check(res.returncode == 0, "forestwatch cnrating failed: %s" % res.stderr)
    head, vals = res.stdout.strip().splitlines()
    return dict(zip(head.split(","), vals.split(",")))


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    m, c, offset, delay = plan(time.time())
    cfg["zones"][ZONE]["cn"] = {"stations": [STATION], "utc_offset_min": offset,
                                "close_delay_min": delay,
                                "phenology": [{"from": "01-01", "class": "G50"}]}
    cfg["zones"][ZONE]["danger_scale"] = "cn"
    fwtest.write_json_file(env.config_path, cfg)
    date = time.strftime("%Y-%m-%d", time.gmtime(m + offset * MIN - 1))
    fwtest.log("local day %s ends at %s (utc_offset_min %d), rated at %s"
               % (date, iso(m), offset, iso(c)))
    want = tool_row(date)
    check(want["level"] == "5" and want["htz"] == "91",
          "the chosen day should be HTZ 91, level 5; forestwatch cnrating gives %s" % want)

    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()
    check(daemon.wait_log(r'models: cn: no saved state under store key "models.cn"'),
          "a first start has no saved state")

    # Dry reports from 27 h before the midnight, so the day's rain is known; then the day's
    # hours, each with its temperature, humidity and wind, the extremes at 14:00.
    for h in (27, 26, 25):
        env.send_reading(STATION, "rain_mm", 0.0, when=iso(m - h * HOUR + 600))
    for h in range(24):
        peak = h == 14
        env.publish(fwtest.uplink_topic(STATION),
                    fwtest.uplink(STATION, [("air_temp_c", TMAX if peak else TMAX - 5 - h % 4),
                                            ("rel_humidity_pct", RHMIN if peak else 60.0),
                                            ("wind_speed_ms", WMAX if peak else 2.0),
                                            ("rain_mm", 0.0)],
                                  when=iso(m - DAY_S + h * HOUR + 600)))
    check(time.time() < c, "the readings took until after the close was due; rerun")

    # The close runs at C; the zone's level (on the rating's scale) reaches danger_red.
    wait = max(c - time.time(), 0) + fwtest.HANG_GUARD_S
    alert = emergency.expect_none_before(is_alert("firing", "danger_red"), timeout=wait,
                                         what="danger_red firing from the rating's level")
    assert_alert(alert, status="firing", rule="danger_red", value=float(want["level"]),
                 zone__id=ZONE)
    daemon.wait_log(r'models: cn: zone "%s": day %s: cn_rating_level %s'
                    % (ZONE, date, want["level"]), what="the day's log line")

    # SIGTERM saves the state; the next start restores it: the day rated above.
    daemon.stop()
    check(re.search(r'models: cn: state saved to store key "models.cn"', daemon.log_text()),
          "no 'state saved' line at shutdown")
    daemon = env.start_daemon()
    daemon.wait_log(r'models: cn: state restored from store key "models.cn"',
                    what="the state restored at start")
    line = daemon.wait_log(r'models: cn: zone "%s": restored: last day ' % ZONE,
                           what="the restored rating of %s" % ZONE)
    expected = "last day %s: htz %s level %s, no rain on record" % (date, want["htz"],
                                                                     want["level"])
    check(expected in line, "restored: expected %r, got %r" % (expected, line))

    # A reload carries the state over to the new model.
    since = daemon.log_size()
    daemon.send_signal(signal.SIGHUP)
    line = daemon.wait_log(r'models: cn: zone "%s": carried over: ' % ZONE, since=since,
                           what="the rating carried over a reload")
    check(expected in line, "carried over: expected %r, got %r" % (expected, line))
    daemon.stop()


DAY_S = 24 * HOUR

if __name__ == "__main__":
    fwtest.run(test)
