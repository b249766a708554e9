#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The outbox's queue cap (store.max_queued_per_route): the forestry bureau's broker takes
# publishes and never acknowledges them, so the forestry route's queue fills up to its cap of
# two. Every later forestry message is not queued but published at once, "NOT SAVED", with an
# error naming the route and the limit; the queue never holds more than the cap; nothing is
# silently lost (each message reaches the broker, saved or not); the emergency route, on another
# broker, still delivers every alert; the daemon stays up.

import os
import re
import sqlite3
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402
from test_noack import NODES, BlackHole, wait_until  # noqa: E402

CAP = 2
UNSAVED = re.compile(r'route "forestry": NOT SAVED \(queue full: route "forestry" \(broker '
                     r'"bureau"\): %d messages wait, the limit is %d '
                     r'\(store.max_queued_per_route\)\); published without a guarantee: sent'
                     % (CAP, CAP))


def test(env):
    port = fwtest.free_port()
    cfg = fwtest.load_json_file(env.config_path)
    cfg["brokers"]["bureau"] = {"host": "127.0.0.1", "port": port}
    cfg["routes"]["forestry"]["broker"] = "bureau"
    cfg["store"] = dict(cfg.get("store", {}), max_queued_per_route=CAP)
    fwtest.write_json_file(env.config_path, cfg)
    db = os.path.join(os.path.dirname(env.config_path), "forestwatch.db")

    hole = BlackHole(port)
    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()
    for node in NODES:
        env.send_reading(node, "smoke_ppm", 450.0)
    for node in NODES:
        emergency.wait_for(lambda m: is_alert("firing", "smoke_high", node)(m.json),  # noqa: B023
                           what="smoke_high of %s on emergency while forestry is full" % node)
    daemon.wait_log(UNSAVED.pattern, what="a forestry alert published unsaved, queue full")
    check(daemon.alive(), "the daemon died with a full queue")

    # The queue holds the cap, and everything else went to the broker at once: the black hole
    # has the queued messages (in flight) and every unsaved one.
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=2)
    try:
        queued = con.execute("SELECT COUNT(*) FROM outbox WHERE route = 'forestry'").fetchone()[0]
    finally:
        con.close()
    check(queued == CAP, "%d forestry messages queued, the cap is %d" % (queued, CAP))
    daemon.stop()
    log = daemon.log_text()
    unsaved = len(UNSAVED.findall(log))
    refused = log.count("NOT SAVED (queue full:")  # both routes: the emergency one may fill too
    wait_until("%d forestry publishes at the broker" % (CAP + unsaved),
               lambda: hole.count() >= CAP + unsaved)
    stats = [ln for ln in log.splitlines() if "daemon: stats:" in ln]
    check(stats, "no stats line at shutdown")
    full = int(stats[-1].split("queue full ")[1].split(")")[0])
    check(full == refused, "stats count %d refused by the cap, the log %d" % (full, refused))
    fwtest.log("queued %d, published unsaved %d, at the broker %d"
               % (queued, unsaved, hole.count()))
    hole.close()


if __name__ == "__main__":
    fwtest.run(test)
