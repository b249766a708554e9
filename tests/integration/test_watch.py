#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# With gateway.watch_config on, saving a rule file reloads it without SIGHUP: a raised
# threshold takes effect, a broken save is rejected (the old rules stay), and an unchanged rule's
# firing alert is not announced again by the reloads.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import assert_alert, check, is_alert  # noqa: E402


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    cfg["gateway"]["watch_config"] = True
    fwtest.write_json_file(env.config_path, cfg)
    forestry = env.route_subscriber("forestry")
    daemon = env.start_daemon()

    # A CO alert fires and stays firing through the reloads below (co_high is not edited).
    env.send_reading("bs07-smoke-01", "co_ppm", 70.0)
    forestry.expect_none_before(is_alert("firing", "co_high", "bs07-smoke-01"),
                                what="co_high firing before the edits")

    off = daemon.log_size()
    fwtest.edit_rule(env.config_path, "fire.json", "smoke_high", "threshold", 500)
    line = daemon.wait_log(r"daemon: reload: done", since=off,
                           what="a reload after the rule file was saved")
    fwtest.log("reload: %s" % line.strip())

    env.send_reading("bs03-smoke-01", "smoke_ppm", 400.0)
    env.send_reading("bs03-smoke-01", "smoke_ppm", 600.0)
    alert = forestry.expect_none_before(is_alert("firing", "smoke_high", "bs03-smoke-01"),
                                        what="smoke_high at 600 (none at 400, none for co_high)")
    assert_alert(alert, value=600.0, threshold=500)

    # A broken save: the error with its line and path is logged, the running rules stay.
    off = daemon.log_size()
    fwtest.edit_rule(env.config_path, "fire.json", "smoke_high", "threshold", "abc")
    line = daemon.wait_log(r"reload rejected: .*fire\.json:\d+: \$\.rules\[0\]\.threshold",
                           since=off, what="the rejected reload with the line and JSON path")
    fwtest.log("rejected: %s" % line.strip())
    env.send_reading("bs07-smoke-01", "smoke_ppm", 450.0)
    env.send_reading("bs07-smoke-01", "co_ppm", 10.0)
    alert = forestry.expect_none_before(is_alert("resolved", "co_high", "bs07-smoke-01"),
                                        what="co_high resolved (and nothing at 450 smoke)")
    check(alert["cause"] == "recovered", "co_high should end by recovery: %s" % alert)
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
