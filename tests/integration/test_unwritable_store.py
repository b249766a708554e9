#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Fault injection: the SQLite store stops taking writes while the daemon runs (a full disk, a
# quota, a read-only remount). The daemon must stay alive, still publish every alert to both
# bureaus' topics (without the outbox's guarantee, and say so in its log), and once the store
# takes writes again, send later alerts through the outbox as usual.
#
# How the store is made unwritable: a file-size limit of 0 bytes (RLIMIT_FSIZE) is put on the
# running daemon with prlimit(2), so that its every write to a regular file fails (EFBIG), and
# lifted again later. File permissions would not do: SQLite writes through descriptors opened at
# start, and root ignores them anyway; the size limit binds root as well. Its signal, SIGXFSZ,
# is ignored in the daemon (set before exec, inherited), so a refused write is an error code,
# as on a full disk. The daemon's log goes through a pipe, which the limit does not cover, so
# the log still tells what happened.

import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402

UNSAVED = re.compile(r'outbox: alert (\S+): route "(\w+)": NOT SAVED; published without a '
                     r'guarantee: sent')


class PipedDaemon(fwtest.Daemon):
    """forestwatchd with SIGXFSZ ignored and its output copied to the log file through a pipe,
    so that a file-size limit on the daemon stops its store, not its log."""

    def start(self):
        n = len([d for d in self.env.daemons if d.proc is not None]) + 1
        self.log_path = os.path.join(self.env.workdir, "forestwatchd-%d.log" % n)
        cmd = [fwtest.binary("forestwatchd"), "-c", self.config_path, "-v", "debug"]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN))
        self.env.processes.append(self.proc)
        self.copier = threading.Thread(target=self._copy_log, daemon=True)
        self.copier.start()
        return self

    def _copy_log(self):
        with open(self.log_path, "ab", buffering=0) as log:
            for line in self.proc.stdout:
                log.write(line)

    def stop_and_read_log(self):
        """Stop the daemon; its whole log, once every line of it is in the file."""
        self.stop()
        self.copier.join(timeout=self.guard)
        check(not self.copier.is_alive(), "the daemon's output did not end after it exited")
        return self.log_text()

    def set_file_limit(self, limit):
        """Set the daemon's file-size limit (its hard limit stays: lowering the soft limit and
        raising it back needs no privilege)."""
        _, hard = resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE)
        if hard != resource.RLIM_INFINITY and (limit == resource.RLIM_INFINITY or limit > hard):
            limit = hard
        resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (limit, hard))


def history_rows(db, alert_id):
    """How many messages of an alert the daemon committed to its outbox (the history table)."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=2)
    try:
        return con.execute("SELECT COUNT(*) FROM history WHERE alert_id = ?",
                           (alert_id,)).fetchone()[0]
    finally:
        con.close()


def fire(env, subs, node, value, status):
    """Send a smoke reading and wait for its smoke_high alert on every route; returns the
    alert id (the same on all routes)."""
    env.send_reading(node, "smoke_ppm", value)
    ids = set()
    for route, sub in subs.items():
        msg = sub.wait_for(lambda m: is_alert(status, "smoke_high", node)(m.json),
                           what="smoke_high %s of %s on %s" % (status, node, route))
        ids.add(msg.json["id"])
    check(len(ids) == 1, "one alert, one id on every route: %s" % ids)
    return ids.pop()


def test(env):
    db = os.path.join(os.path.dirname(env.config_path), "forestwatch.db")
    subs = {route: env.route_subscriber(route) for route in env.routes}
    daemon = PipedDaemon(env, env.config_path)
    env.daemons.append(daemon)
    daemon.start()
    env.wait_status("online", timeout=daemon.guard)

    routes = len(env.routes)

    # The store works: an alert goes through the outbox, one message per route.
    saved = fire(env, subs, "bs07-smoke-01", 480.0, "firing")
    check(history_rows(db, saved) == routes, "alert %s: %d messages in the outbox's history"
          % (saved, history_rows(db, saved)))

    # The store stops taking writes. Two alerts fire, and one of them resolves, meanwhile.
    daemon.set_file_limit(0)
    during = [fire(env, subs, "bs03-smoke-01", 450.0, "firing"),
              fire(env, subs, "bs03-smoke-02", 460.0, "firing")]
    check(fire(env, subs, "bs03-smoke-01", 15.0, "resolved") == during[0], "the resolve's id")
    check(daemon.alive(), "the daemon died when its store stopped taking writes")
    for alert_id in during:
        check(history_rows(db, alert_id) == 0,
              "alert %s is in the history, yet the store refused it" % alert_id)

    # The store takes writes again: the next message goes through the outbox.
    daemon.set_file_limit(resource.RLIM_INFINITY)  # as at the start
    check(fire(env, subs, "bs07-smoke-01", 12.0, "resolved") == saved, "the resolve's id")
    check(history_rows(db, saved) == 2 * routes, "alert %s resolved: %d messages in the history"
          % (saved, history_rows(db, saved)))
    check(daemon.alive(), "the daemon died")

    # The log, read whole once the daemon is gone: each unsaved message is named, and the
    # reason; the alerts before and after the fault were not published unsaved.
    log = daemon.stop_and_read_log()
    unsaved = {(m.group(1), m.group(2)) for m in UNSAVED.finditer(log)}
    for alert_id in during:
        for route in env.routes:
            check((alert_id, route) in unsaved,
                  "alert %s on %s: no NOT SAVED line in the log:\n%s" % (alert_id, route, log))
    check(re.search(r"outbox: cannot save \d+ alert messages: ", log),
          "the log does not say that the store refused the alerts:\n%s" % log)
    check(saved not in {alert_id for alert_id, _ in unsaved},
          "alert %s went out unsaved while the store was writable:\n%s" % (saved, log))


if __name__ == "__main__":
    fwtest.run(test)
