#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The broker goes away and a new one comes up on the same port, with no retained messages and no
# sessions. The daemon must reconnect by itself, subscribe again (it announces "online" only
# after that) and turn the next over-threshold uplink into alerts on both routes.

import os
import sys

# No __pycache__ in the source tree; the scripts are run from it.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import assert_alert, check, is_alert  # noqa: E402


def test(env):
    daemon = env.start_daemon()
    forestry = env.route_subscriber("forestry")

    # The pipeline works before the outage.
    env.send_reading("bs03-smoke-01", "smoke_ppm", 333.0)
    forestry.expect_none_before(is_alert("firing", "smoke_high", "bs03-smoke-01"),
                                what="smoke_high firing before the restart")

    for round_no in (1, 2):
        env.broker.restart()
        check(daemon.alive(), "daemon exited when the broker went away")
        # The new broker starts empty, so this "online" can only come from a reconnect.
        env.wait_status("online", timeout=fwtest.HANG_GUARD_S + 5)

        forestry = env.route_subscriber("forestry")
        emergency = env.route_subscriber("emergency")
        node = "bs07-smoke-01" if round_no == 1 else "bs03-smoke-02"
        sent = env.send_reading(node, "smoke_ppm", 420.0 + round_no)
        for sub in (forestry, emergency):
            alert = sub.expect_none_before(is_alert("firing", "smoke_high", node),
                                           what="smoke_high firing after restart %d" % round_no)
            assert_alert(alert, value=420.0 + round_no, time=sent["time"])

    daemon.stop()
    check(env.retained_status() == "offline", "status after SIGTERM is not retained offline")


if __name__ == "__main__":
    fwtest.run(test)
