#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Fault injection: the gateway's wall clock steps back an hour while it runs (an NTP correction
# after a boot with a wrong clock, a reset battery-backed clock), then forward again. libfaketime
# moves the daemon's CLOCK_REALTIME only, from a file it reads at every call; the monotonic clock
# (libuv's timers) goes on. As the engine's unit test clock_jumping_back_loses_no_alert says of
# one module, the daemon as a whole must:
# - stay alive, take the step (a reading stamped with the true time is now "ahead of the gateway
#   clock" and refused with that reason) and say so in its log;
# - neither resolve nor repeat the alert that was firing before the step;
# - fire and deliver at once an alert on a reading stamped with its new, earlier time, and
#   resolve it, on a route that sends at once and on one that groups a zone's new alerts for a
#   second (the outbox's pacing waits on durations; the group window runs on the wall clock,
#   and the daemon releases held groups when the clock steps);
# - once the clock is right again, resolve the first alert: every firing has its resolved.
# The daemon exits cleanly (exit code 0; under the sanitizer build, with no report).

import glob
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import assert_alert, check, is_alert  # noqa: E402

A, B = "bs03-smoke-01", "bs07-smoke-01"
STEP_S = 3600


def libfaketime():
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") +
                   glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    return found[0] if found else None


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def test(env):
    lib = libfaketime()
    if not lib:
        print("test_clock_jump.py: SKIP: libfaketime not installed (scripts/deps.sh)")
        sys.exit(fwtest.SKIP_EXIT)
    offset_file = os.path.join(env.workdir, "clock-offset")

    def set_offset(text):
        with open(offset_file + ".new", "w") as f:
            f.write(text + "\n")
        os.replace(offset_file + ".new", offset_file)  # never read half written

    set_offset("+0")
    asan = os.environ.get("ASAN_OPTIONS", "")
    env.daemon_env = {
        "LD_PRELOAD": lib,
        "FAKETIME_TIMESTAMP_FILE": offset_file,
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        # libfaketime comes before the sanitizer's runtime in the sanitizer build
        "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0",
    }
    cfg = fwtest.load_json_file(env.config_path)
    cfg["routes"]["emergency"]["group_window_ms"] = 1000
    fwtest.write_json_file(env.config_path, cfg)
    forestry = env.route_subscriber("forestry")
    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()

    env.send_reading(A, "smoke_ppm", 420.0)
    first = forestry.wait_for(lambda m: is_alert("firing", "smoke_high", node=A)(m.json),
                              what="A's smoke alert before the step").json

    # The step back. A reading with the true time is now an hour ahead of the daemon's clock.
    set_offset("-%d" % STEP_S)
    since = daemon.log_size()
    env.send_reading(B, "smoke_ppm", 430.0, when=iso(time.time()))
    daemon.wait_log(r"node \"%s\".*ahead of the gateway clock" % B, since=since,
                    what="a reading with the true time refused as ahead of the stepped clock")
    daemon.wait_log(r"clock: the wall clock stepped back by 3\d{3} s", since=since,
                    what="the step reported to the operator")

    # A reading stamped with the daemon's new time fires at once; A's alert neither resolved
    # nor repeated before it (the subscriber reads in order).
    env.send_reading(B, "smoke_ppm", 430.0, when=iso(time.time() - STEP_S))
    b = forestry.expect_none_before(is_alert("firing", "smoke_high", node=B),
                                    what="B's alert after the step")
    earlier = [m.json for m in forestry.seen if m.json.get("node") == A]
    check(len(earlier) == 1, "A's alert was repeated or resolved by the step: %s" % earlier)
    assert_alert(b, status="firing", rule="smoke_high", node=B)
    emergency.wait_for(lambda m: is_alert("firing", "smoke_high", node=B)(m.json),
                       what="B's alert on the grouping route after the step")
    env.send_reading(B, "smoke_ppm", 5.0, when=iso(time.time() - STEP_S + 1))
    forestry.wait_for(lambda m: is_alert("resolved", "smoke_high", node=B)(m.json),
                      what="B's alert resolved on the stepped clock")

    # The clock is right again: A's clear reading resolves the first alert.
    since = daemon.log_size()
    set_offset("+0")
    daemon.wait_log(r"clock: the wall clock stepped forward by 3\d{3} s", since=since,
                    what="the step forward reported")
    env.send_reading(A, "smoke_ppm", 5.0)
    resolved = forestry.wait_for(lambda m: is_alert("resolved", "smoke_high", node=A)(m.json),
                                 what="A's alert resolved once the clock is right").json
    check(resolved["id"] == first["id"], "A's resolved names another alert: %s vs %s"
          % (resolved["id"], first["id"]))
    env.assert_alive()
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
