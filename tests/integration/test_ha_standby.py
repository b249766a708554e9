#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# What a standby does with what it holds (docs/ha.md), on a real mosquitto:
# - Rescue: member b is standby beside an active member that never announces a delivery (the
#   test publishes that member's heartbeats, so b hears it alive and active). b commits a smoke
#   alert and holds it; after ha.rescue_after_ms it sends it itself and says so. A delivery that
#   the active member's notices do not confirm is never left to chance.
# - Stop during the start: member c, alone, gets a reading and is stopped (SIGTERM) before it
#   knows its group. Its settle buffer goes to its core and the alert to its outbox; restarted,
#   alone, c becomes active and sends it. The broker had acknowledged the reading: nothing else
#   has it.

import json
import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402

PREFIX = "forestwatch/gw-beishan-01/ha/site-1"


def member(env, name, bureau_port, dead_after_ms=1000):
    return fwtest.ha_member(env, name, bureau_port, priority=100, heartbeat_ms=200,
                            dead_after_ms=dead_after_ms, settle_ms=2000, rescue_after_ms=2000)


def test(env):
    bureau = env.add_broker("bureau")
    sub = env.subscribe("bureau/forestry/alerts", "bureau", broker=bureau)

    # A member "a" that is alive and active, and never delivers anything.
    stop = threading.Event()

    def ghost():
        while not stop.is_set():
            env.publish(PREFIX + "/members/a", json.dumps(
                {"member": "a", "priority": 200, "role": "active", "time": fwtest.now_rfc3339()}),
                qos=0)
            time.sleep(0.2)
    threading.Thread(target=ghost, daemon=True).start()
    path_b, db_b = member(env, "b", bureau.port)
    b = env.daemon(config_path=path_b)
    b.wait_log(r'ha: member "b" is standby \(the active member: a\)', what="b standby beside a")
    env.send_reading("bs03-smoke-01", "smoke_ppm", 420.0)
    deadline = time.monotonic() + fwtest.HANG_GUARD_S
    while fwtest.outbox_queued(db_b) == 0:
        check(time.monotonic() < deadline, "b did not commit the smoke alert")
        time.sleep(0.05)
    committed_at = time.monotonic()
    got = sub.wait_for(lambda m: is_alert("firing", "smoke_high", "bs03-smoke-01")(m.json),
                       what="the alert rescued by the standby")
    held_s = time.monotonic() - committed_at
    line = b.wait_log(r"ha: standby: 1 messages on broker \"bureau\" not announced delivered",
                      what="the rescue said")
    fwtest.log("ha standby: held %.1f s before the rescue (rescue_after_ms 2000): %s"
               % (held_s, line.strip()))
    check(re.search(r'"b" is ACTIVE', b.log_text()) is None, "b became active: %s" % b.log_text())
    env.extra_cap.append(got.text)
    stop.set()
    b.stop()

    # c, alone, stopped before it knows its group: its reading is not lost.
    path_c, db_c = member(env, "c", bureau.port, dead_after_ms=5000)
    c = env.daemon(config_path=path_c)
    c.wait_log(r'ha: member "c" of group', what="c started")
    env.send_reading("bs07-smoke-01", "smoke_ppm", 430.0)
    time.sleep(0.5)  # the broker has it; c gets it within milliseconds
    check(not re.search(r'"c" is ', c.log_text()), "c knew its group too early for this test")
    c.stop()
    check("uplinks 1, " in c.log_text(), "the reading did not reach c before its stop")
    held = fwtest.outbox_queued(db_c)
    check(held == 1, "c's outbox should hold the alert after the stop: %d" % held)
    c = env.daemon(config_path=path_c)
    c.wait_log(r'ha: member "c" is ACTIVE', timeout=15, what="c active, alone")
    got = sub.wait_for(lambda m: is_alert("firing", "smoke_high", "bs07-smoke-01")(m.json),
                       what="c's alert after its restart")
    env.extra_cap.append(got.text)
    c.stop()


if __name__ == "__main__":
    fwtest.run(test)
