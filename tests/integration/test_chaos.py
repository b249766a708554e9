#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# No alert lost: 1,000 alerts are raised (each firing, then resolved) while the forestry bureau's
# broker is stopped and started five times and the daemon is killed with SIGKILL twice. The
# bureau's subscriber (a persistent session on a broker with persistence, as a bureau's system
# would have) must receive every message at least once, each episode's firing before its
# resolution, in the order the daemon produced them; copies are told apart by their id and seq.
# The test prints the counts.

import datetime
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check  # noqa: E402

ALERTS = 1000
ROUNDS = 10            # the readings go in 10 rounds of 100 alerts
NODES = ["bs03-smoke-01", "bs03-smoke-02", "bs07-smoke-01"]
GUARD_S = 40



def wait_until(what, pred, guard=GUARD_S):
    deadline = time.monotonic() + guard
    while not pred():
        if time.monotonic() > deadline:
            fwtest.fail("timed out waiting for %s" % what)
        time.sleep(0.05)


def test(env):
    bureau = env.add_broker("bureau", persistent=True)
    db = fwtest.smoke_to_bureau(env.config_path, bureau.port, 100, 400)

    sub = fwtest.MqttSession(bureau.port, "bureau-duty-desk", "bureau/forestry/alerts")
    wait_until("the bureau's subscriber", lambda: sub.connects > 0)
    daemon = env.start_daemon()

    t0 = int(time.time() * 1000) - 60000  # sample times, 10 ms apart, all in the past
    per_round = ALERTS // ROUNDS
    kills = restarts = 0
    for r in range(ROUNDS):
        # Chaos around this round: the bureau's broker goes down in rounds 1, 3, 5, 7 and 9 and
        # comes back one round later; the daemon is SIGKILLed, with messages unsent, in rounds
        # 3 and 7.
        if r % 2 == 1:
            bureau.stop()
        fwtest.publish_smoke_round(env.broker.port, "forestwatch/field/chaos/up", NODES, r,
                                   per_round, t0, GUARD_S)
        want = 2 * per_round * (r + 1)
        wait_until("%d messages committed after round %d" % (want, r),
                   lambda: fwtest.outbox_history(db)[0] >= want)
        if r in (3, 7):
            daemon.stop(signal.SIGKILL, expect_code=-signal.SIGKILL)
            kills += 1
            daemon = env.daemon()  # not waiting for "online": its broker may be down
        if r % 2 == 1:
            bureau.start()
            restarts += 1

    total = 2 * ALERTS
    wait_until("every message at the bureau (%d)" % total,
               lambda: len({(m["id"], m["seq"])
                            for m in fwtest.cap_xml_alerts(sub.snapshot())}) >= total,
               guard=60)
    raw = sub.snapshot()
    sub.close()
    env.extra_cap.extend(payload.decode() for _, payload in raw)  # each validated at the end
    msgs = fwtest.cap_xml_alerts(raw)

    firsts, episodes, copies = fwtest.episodes_of(msgs)
    fired = sum(1 for s in episodes.values() if s and s[0] == "firing")
    fwtest.log("chaos: %d alerts raised, %d messages expected; bureau broker restarted %d times, "
               "daemon killed %d times; received %d messages, %d distinct, %d copies, "
               "%d episodes" % (ALERTS, total, restarts, kills, len(msgs), len(firsts), copies,
                                len(episodes)))
    check(restarts == 5 and kills == 2, "chaos not as planned")
    check(len(episodes) == ALERTS and fired == ALERTS,
          "expected %d alerts, got %d episodes (%d starting with firing)"
          % (ALERTS, len(episodes), fired))
    bad = [i for i, s in episodes.items() if s != ["firing", "resolved"]]
    check(not bad, "%d episodes not exactly [firing, resolved] in that order, e.g. %s: %s"
          % (len(bad), bad[:1], episodes.get(bad[0]) if bad else None))
    # In order per route: the first copies arrive in the order the engine produced them.
    order = [parse_time(m["sent"]) for m in firsts]
    out_of_order = sum(1 for a, b in zip(order, order[1:]) if b < a)
    check(out_of_order == 0, "%d messages arrived before one produced earlier" % out_of_order)
    daemon.stop()


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))



if __name__ == "__main__":
    fwtest.run(test)
