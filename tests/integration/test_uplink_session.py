#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Readings published while the gateway is away are not lost. By default the gateway's uplink
# subscriptions live in a persistent session (stable client id, clean session off, QoS 1), so
# the broker keeps the QoS 1 readings that arrive while the daemon restarts, is stopped, or was
# killed, and hands them over when it comes back; their alerts fire then. A copy that the broker
# hands over again (a message delivered before a kill whose acknowledgement was lost) changes
# nothing. With "clean_session": true the config asks for the opposite, and gets it.

import json
import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import is_alert  # noqa: E402


def expect_new(sub, pred, seen, what):
    """The next message on the route that is not a copy of one already received must satisfy
    pred: after a kill the outbox sends again what its broker had not acknowledged, as it
    should (at least once), and a copy carries the same id and seq."""
    while True:
        msg = sub.next(what=what)
        a = msg.json
        key = (a.get("id"), a.get("seq"), a.get("status"))
        if key in seen:
            continue
        seen.add(key)
        if not pred(a):
            fwtest.fail("expected %s, but first got: %s" % (what, msg))
        return a


def test(env):
    forestry = env.route_subscriber("forestry")
    seen = set()
    daemon = env.start_daemon()

    # 1. Stopped cleanly: a smoke reading published meanwhile fires when the daemon is back.
    daemon.stop()
    # Times a second apart and in the past: a reading with the time of one already held
    # replaces it, so each sample here has its own.
    sent = env.send_reading("bs07-smoke-01", "smoke_ppm", 480.0, when=fwtest.now_rfc3339(-9))
    daemon = env.start_daemon()
    expect_new(forestry, is_alert("firing", "smoke_high", "bs07-smoke-01", 480.0), seen,
               "smoke_high firing for the reading sent while stopped")

    # The same message handed over again is the same reading, even after the alert it raised
    # has resolved: a copy of the old smoke reading raises nothing new. The next message on
    # the route after the copy must be the one the fresh reading brings.
    env.send_reading("bs07-smoke-01", "smoke_ppm", 20.0, when=fwtest.now_rfc3339(-8))
    expect_new(forestry, is_alert("resolved", "smoke_high", "bs07-smoke-01"), seen,
               "smoke_high resolved")
    env.publish(fwtest.uplink_topic("bs07-smoke-01"), json.dumps(sent))
    env.send_reading("bs07-smoke-01", "smoke_ppm", 490.0, when=fwtest.now_rfc3339(-7))
    expect_new(forestry, is_alert("firing", "smoke_high", "bs07-smoke-01", 490.0), seen,
               "the fresh reading's alert, with nothing raised by the copy before it")
    env.send_reading("bs07-smoke-01", "smoke_ppm", 20.0, when=fwtest.now_rfc3339(-6))
    expect_new(forestry, is_alert("resolved", "smoke_high", "bs07-smoke-01"), seen,
               "smoke_high resolved again")

    # 2. Killed: readings published while it is dead arrive after the restart, in order.
    daemon.stop(signal.SIGKILL, expect_code=-signal.SIGKILL)
    env.send_reading("bs07-smoke-01", "smoke_ppm", 510.0, when=fwtest.now_rfc3339(-2))
    env.send_reading("bs07-smoke-01", "smoke_ppm", 15.0, when=fwtest.now_rfc3339(-1))
    daemon = env.start_daemon()
    expect_new(forestry, is_alert("firing", "smoke_high", "bs07-smoke-01", 510.0), seen,
               "smoke_high firing for a reading sent while killed")
    expect_new(forestry, is_alert("resolved", "smoke_high", "bs07-smoke-01"), seen,
               "its resolution, sent while killed too")

    # 3. "clean_session": true: the broker forgets the session, so what is published while
    # the daemon is away is gone (the documented price of that setting).
    daemon.stop()
    cfg = fwtest.load_json_file(env.config_path)
    cfg["brokers"]["local"]["clean_session"] = True
    fwtest.write_json_file(env.config_path, cfg)
    daemon = env.start_daemon()  # its clean connection ends the persistent session
    daemon.stop()
    env.send_reading("bs03-smoke-01", "smoke_ppm", 470.0)
    daemon = env.start_daemon()
    env.send_reading("bs07-smoke-01", "smoke_ppm", 530.0)
    expect_new(forestry, is_alert("firing", "smoke_high", "bs07-smoke-01", 530.0), seen,
               "only the reading sent after the restart, with a clean session")
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
