#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Replay parity (docs/replay.md): the daemon and `forestwatch replay` drive the same core, so a
# recording replayed through the config that made it prints, on every route and in every route
# format, the very bytes the daemon published, send times included.
#
# The recording holds what makes that hard: a route that groups alerts (forestry, CAP XML: two
# smoke alerts of one zone in one group message, whose later messages name it in
# <references>), a pest alert whose texts take the pest model's placeholders (the pest model's
# day step runs in the daemon on its tick, from a day of station readings and the bureau's
# forecast; the replay runs the model again), an escalation (an alert not acknowledged after
# the policy's minute, raised by a tick) and an acknowledgement (of the other smoke alert, which
# therefore does not escalate, and whose resolution says who acknowledged it). Three routes
# carry three formats: forestry CAP XML, emergency CAP JSON, audit the project's JSON.

import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
import test_pest_model as pest  # noqa: E402
from fwtest import check, fail, is_alert  # noqa: E402

# The pest model's step may be up to 75 s away, and the escalation a minute.
fwtest.SCRIPT_GUARD_S = 170

ROUTES = ("forestry", "emergency", "audit")


def configure(env):
    """Recording on; forestry groups; a third route in the project's JSON; escalation after the
    shortest time the config allows, evaluated every second; the pest of test_pest_model in
    bs-07."""
    m, d, next_day = pest.configure(env)
    cfg = fwtest.load_json_file(env.config_path)
    rec_dir = os.path.join(env.workdir, "recordings")
    cfg["record"] = {"dir": rec_dir, "max_file_bytes": 1048576, "max_files": 4}
    cfg["routes"]["forestry"]["group_window_ms"] = 1500
    cfg["routes"]["audit"] = {"broker": "local", "topic": "bureau/audit/alerts", "qos": 1,
                              "format": "json"}
    cfg["escalation"] = [{"min_severity": "Severe", "after": "1m", "routes": ["emergency"]}]
    cfg["engine"] = {"eval_interval_ms": 1000}  # the escalation a second after its minute
    fwtest.write_json_file(env.config_path, cfg)
    fwtest.edit_rule(env.config_path, "fire.json", "smoke_high", "routes", list(ROUTES))
    fwtest.edit_rule(env.config_path, "pest.json", "pest_stage_approaching", "routes",
                     ["forestry", "audit"])
    return rec_dir, m, d, next_day


def split_messages(route, text):
    """The messages `forestwatch replay --json` printed: CAP XML documents one after another,
    each from its declaration; JSON one object a line."""
    if route == "forestry":
        return ["<?xml" + doc.rstrip("\n") for doc in text.split("<?xml")[1:]]
    return [line for line in text.split("\n") if line]


def until(sub, cond, timeout, what):
    """Read sub's messages until cond(every message seen so far) holds."""
    deadline = time.monotonic() + timeout
    while not cond([x.json for x in sub.seen]):
        sub.next(max(deadline - time.monotonic(), 0.1), what)


def test(env):
    rec_dir, m, d, next_day = configure(env)
    topics = {r: route["topic"] for r, route in
              fwtest.load_json_file(env.config_path)["routes"].items()}
    subs = {r: env.subscribe(topics[r], r) for r in ROUTES}
    daemon = env.start_daemon()
    t0 = time.time()

    pest.send_day(env, m)
    pest.send_forecast(env, next_day)
    # Two smoke alerts in zone bs-03: one group message on forestry, two messages elsewhere.
    env.send_reading("bs03-smoke-01", "smoke_ppm", 420.0)
    env.send_reading("bs03-smoke-02", "smoke_ppm", 390.0)
    first = [subs["audit"].next(what="smoke_high firing on audit").json for _ in range(2)]
    check(all(is_alert("firing", "smoke_high")(a) for a in first), "audit: %s" % first)
    ids = {a["node"]: a["id"] for a in first}
    # The second station's alert is acknowledged; the first one's escalates after a minute.
    ack_topic = fwtest.load_json_file(env.config_path)["acks"]["topic"]
    env.publish(ack_topic, json.dumps({"id": ids["bs03-smoke-02"], "by": "北山值班员 3",
                                       "time": fwtest.now_rfc3339()}, ensure_ascii=False))
    daemon.wait_log(r"ack: alert %s acknowledged by" % ids["bs03-smoke-02"],
                    what="the acknowledgement applied")
    check(time.time() < d, "the readings took until after the pest step was due; rerun")

    wait = max(d, t0 + 60) - time.time() + fwtest.HANG_GUARD_S
    until(subs["audit"], lambda seen: any(is_alert("firing", "pest_stage_approaching")(a)
                                          for a in seen)
          and any(a.get("kind") == "escalate" for a in seen), wait,
          "pest_stage_approaching firing and the unacknowledged smoke alert escalated")
    esc = [a for a in (x.json for x in subs["audit"].seen) if a.get("kind") == "escalate"]
    check([a["id"] for a in esc] == [ids["bs03-smoke-01"]], "escalated: %s" % esc)
    env.send_reading("bs03-smoke-01", "smoke_ppm", 12.0)
    env.send_reading("bs03-smoke-02", "smoke_ppm", 11.0)
    until(subs["audit"], lambda seen: sum(a.get("status") == "resolved" for a in seen) == 2,
          fwtest.HANG_GUARD_S, "both smoke alerts resolved")
    daemon.stop()

    # What each route carried, in order: everything its subscriber received, read until the
    # topic has been quiet for two seconds (a late message makes the comparison fail, never pass).
    live = {}
    for r in ROUTES:
        try:
            while True:
                subs[r].next(timeout=2)
        except fwtest.TestFailure:
            pass
        live[r] = [x.text.rstrip("\n") for x in subs[r].seen]
    check(sum(1 for t in live["forestry"] if t.count("<info>") >= 4) == 1,
          "forestry should carry one group message of two alerts (two infos each): %s"
          % live["forestry"][:2])
    check(any("“adults”" in t and "hang traps" in t for t in live["audit"]),
          "the pest alert's texts should name the stage and action: %s" % live["audit"])

    for r in ROUTES:
        res = subprocess.run([fwtest.binary("forestwatch"), "replay", "--json", "--route", r,
                              "--config", env.config_path, "--from", rec_dir],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = res.stderr.decode("utf-8", errors="replace")
        check(res.returncode == 0, "replay --route %s exited %d: %s" % (r, res.returncode, err))
        got = split_messages(r, res.stdout.decode("utf-8"))
        fwtest.log("route %s: %d messages live, %d replayed" % (r, len(live[r]), len(got)))
        if got != live[r]:
            n = next((i for i, (a, b) in enumerate(zip(live[r], got)) if a != b),
                     min(len(got), len(live[r])))
            fail("route %s: the replay differs from what the daemon published, first at "
                 "message %d of %d live, %d replayed:\nlive:\n%s\nreplay:\n%s\n%s"
                 % (r, n + 1, len(live[r]), len(got), live[r][n] if n < len(live[r]) else "-",
                    got[n] if n < len(got) else "-", err))


if __name__ == "__main__":
    fwtest.run(test)
