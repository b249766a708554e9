#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# An active/standby group of two gateways (docs/ha.md) on a real mosquitto, with the forestry
# bureau's persistent subscriber on a broker of its own. Both members subscribe to the field
# uplinks (persistent sessions of their own) and run the same core; only the active one sends,
# and it announces what was delivered, so the standby forgets it.
#
# 800 alert episodes (each a smoke reading above the threshold, then one below) go in 8 rounds,
# their readings timed as they are published. Member a (priority 200) starts active. After
# round 2 it is SIGKILLed with messages in flight: b takes over and sends what a had not
# delivered. a is restarted after round 4: it joins as standby, because b is active (an active
# member stays active), and drops the backlog its session kept. After round 6 the standby must
# hold nothing: every message it computed was byte for byte one the active member delivered
# (determinism: the same inputs, the same order, the same times). Then b stops cleanly ("gone")
# and a takes over at once for the last rounds.
#
# The bureau must receive every episode, firing before resolved, each by the one id both
# members computed (a message computed differently would come as an extra episode): none lost,
# copies counted. The test prints episodes, messages, copies and the takeover times.

import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check  # noqa: E402

ALERTS = 800
ROUNDS = 8
PER_ROUND = ALERTS // ROUNDS
NODES = ["bs03-smoke-01", "bs03-smoke-02", "bs07-smoke-01"]
GUARD_S = 40
UPLINK_TOPIC = "forestwatch/field/ha/up"

fwtest.SCRIPT_GUARD_S = 240


def wait_until(what, pred, guard=GUARD_S):
    deadline = time.monotonic() + guard
    while not pred():
        if time.monotonic() > deadline:
            fwtest.fail("timed out waiting for %s" % what)
        time.sleep(0.05)


def publish_round(env, r):
    """Round r's episodes, their readings timed from now on, 10 ms apart."""
    t0 = int(time.time() * 1000) - 2 * r * PER_ROUND * 10
    fwtest.publish_smoke_round(env.broker.port, UPLINK_TOPIC, NODES, r, PER_ROUND, t0, GUARD_S)


def distinct(sub):
    return len({(m["id"], m["seq"]) for m in fwtest.cap_xml_alerts(sub.snapshot())})


def test(env):
    bureau = env.add_broker("bureau", persistent=True)
    # The group's settings short, so that the test runs quickly.
    times = {"heartbeat_ms": 200, "dead_after_ms": 1000, "settle_ms": 1000}
    path_a, db_a = fwtest.ha_member(env, "a", bureau.port, priority=200, **times)
    path_b, db_b = fwtest.ha_member(env, "b", bureau.port, priority=100, **times)
    sub = fwtest.MqttSession(bureau.port, "bureau-duty-desk", "bureau/forestry/alerts")
    wait_until("the bureau's subscriber", lambda: sub.connects > 0)

    a = env.daemon(config_path=path_a)
    a.wait_log(r'ha: member "a" is ACTIVE', what="a active, alone")
    b = env.daemon(config_path=path_b)
    b.wait_log(r'ha: member "b" is standby', what="b standby")

    takeovers = []
    for r in range(ROUNDS):
        publish_round(env, r)
        want = 2 * PER_ROUND * (r + 1)
        wait_until("%d messages at the bureau after round %d" % (want, r),
                   lambda: distinct(sub) >= want)
        if r == 2:
            # The active member dies with what it has just sent perhaps unannounced.
            since = b.log_size()
            t_kill = time.monotonic()
            a.stop(signal.SIGKILL, expect_code=-signal.SIGKILL)
            b.wait_log(r'ha: member "b" is ACTIVE', since=since, what="b taking over")
            takeovers.append(time.monotonic() - t_kill)
        elif r == 4:
            a = env.daemon(config_path=path_a)
            a.wait_log(r'ha: member "a" is standby \(the active member: b\)',
                       what="a rejoining as standby")
        elif r == 6:
            # The standby forgot every message the active member delivered: it computed each
            # byte for byte as the active one did.
            wait_until("the standby's outbox empty (%d rows)" % fwtest.outbox_queued(db_a),
                       lambda: fwtest.outbox_queued(db_a) == 0)
            since = a.log_size()
            t_stop = time.monotonic()
            b.stop()
            a.wait_log(r'ha: member "a" is ACTIVE', since=since, what="a taking over")
            takeovers.append(time.monotonic() - t_stop)

    total = 2 * ALERTS
    wait_until("every message at the bureau (%d)" % total, lambda: distinct(sub) >= total,
               guard=60)
    wait_until("the active member's outbox empty", lambda: fwtest.outbox_queued(db_a) == 0)
    raw = sub.snapshot()
    sub.close()
    env.extra_cap.extend(payload.decode() for _, payload in raw)
    msgs = fwtest.cap_xml_alerts(raw)
    firsts, episodes, copies = fwtest.episodes_of(msgs)
    fwtest.log("ha: %d episodes, %d messages received, %d distinct, %d copies; takeover after "
               "SIGKILL %.2f s, after a clean stop %.2f s (detected by the new active member)"
               % (len(episodes), len(msgs), len(firsts), copies, takeovers[0], takeovers[1]))
    check(len(episodes) == ALERTS,
          "expected %d episodes, got %d (an extra one is a message the members computed "
          "differently)" % (ALERTS, len(episodes)))
    bad = [i for i, s in episodes.items() if s != ["firing", "resolved"]]
    check(not bad, "%d episodes not exactly [firing, resolved] in that order, e.g. %s: %s"
          % (len(bad), bad[:1], episodes.get(bad[0]) if bad else None))
    a.stop()


if __name__ == "__main__":
    fwtest.run(test)
