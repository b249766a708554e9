#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# SIGHUP reloads the config: a raised threshold takes effect (400 no longer alerts, 600 does),
# and an invalid config is rejected with its file and JSON path in the log while the running
# config, threshold 500, stays in force.

import os
import signal
import sys

# No __pycache__ in the source tree; the scripts are run from it.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import assert_alert, check, is_alert  # noqa: E402


def test(env):
    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()

    # Before the reload the shipped threshold of 300 applies.
    env.send_reading("bs03-smoke-02", "smoke_ppm", 400.0)
    alert = forestry.expect_none_before(is_alert("firing", "smoke_high", "bs03-smoke-02", 400.0),
                                        what="smoke_high at 400 under the shipped threshold")
    assert_alert(alert, threshold=300)
    # Resolve it again, so the reload below meets no firing alert: what a reload does to alerts
    # that are firing is not what this test is about.
    env.send_reading("bs03-smoke-02", "smoke_ppm", 12.0)
    forestry.expect_none_before(is_alert("resolved", "smoke_high", "bs03-smoke-02"),
                                what="smoke_high resolved at 12")

    fwtest.edit_rule(env.config_path, "fire.json", "smoke_high", "threshold", 500)
    off = daemon.log_size()
    daemon.send_signal(signal.SIGHUP)
    # A signal races with MQTT input, so learn from the log that the reload was applied before
    # sending readings that depend on it.
    line = daemon.wait_log(r"reload(ed)?\b.*\b(done|applied|complete|ok)\b|reloaded", since=off,
                           what="the reload being applied")
    fwtest.log("reload: %s" % line.strip())
    check(not any(w in line.lower() for w in ("fail", "error", "reject", "keep")),
          "the valid reload was not applied: %s" % line)

    env.send_reading("bs03-smoke-01", "smoke_ppm", 400.0)
    env.send_reading("bs03-smoke-01", "smoke_ppm", 600.0)
    alert = forestry.expect_none_before(is_alert("firing", "smoke_high", "bs03-smoke-01"),
                                        what="smoke_high at 600 (and none at 400)")
    assert_alert(alert, value=600.0, threshold=500)

    # An invalid config: the daemon must say where the error is and keep the old config.
    fwtest.edit_rule(env.config_path, "fire.json", "smoke_high", "threshold", "abc")
    off = daemon.log_size()
    daemon.send_signal(signal.SIGHUP)
    line = daemon.wait_log(r"rules\[0\]\.threshold", since=off,
                           what="the config error with its JSON path")
    fwtest.log("reload error: %s" % line.strip())
    check("fire.json" in line, "the config error does not name fire.json: %s" % line)
    check("$.rules[0].threshold" in line, "the config error does not give the JSON path "
          "$.rules[0].threshold: %s" % line)
    # The error is logged from the loop callback that handles the signal, so readings that the
    # broker delivers from now on are judged by whatever config that callback left in force.
    check(daemon.alive(), "daemon exited on an invalid config")

    env.send_reading("bs07-smoke-01", "smoke_ppm", 450.0)
    env.send_reading("bs07-smoke-01", "smoke_ppm", 550.0)
    alert = forestry.expect_none_before(is_alert("firing", "smoke_high", "bs07-smoke-01"),
                                        what="smoke_high at 550 (and none at 450: the "
                                        "threshold is still 500)")
    assert_alert(alert, value=550.0, threshold=500)

    env.wait_status("online", retained=True)
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
