#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The daemon as a systemd service (Type=notify, WatchdogSec=): the test plays the service
# manager with a unix datagram socket named by NOTIFY_SOCKET and asserts the daemon says
# READY=1 once it runs, feeds the watchdog (WATCHDOG=1, again and again) at the WATCHDOG_USEC
# it is given, says RELOADING=1 then READY=1 around a SIGHUP reload, and STOPPING=1 at SIGTERM.
# It also checks that written state goes to STATE_DIRECTORY (systemd's StateDirectory=) when
# that is set: the outbox database appears there and not beside the read-only config.

import os
import signal
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import HANG_GUARD_S, check, fail  # noqa: E402


class Manager:
    """The service manager's end of NOTIFY_SOCKET: collects the daemon's notifications."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.seen = []

    def expect(self, key, what):
        """Wait for a datagram with line `key`; returns the datagram's lines."""
        self.sock.settimeout(HANG_GUARD_S)
        while True:
            try:
                data = self.sock.recv(4096).decode("utf-8", errors="replace")
            except socket.timeout:
                fail("service manager: expected %s (%s) within %d s; got: %s"
                     % (key, what, HANG_GUARD_S, self.seen[-10:]))
            lines = data.split("\n")
            self.seen.append(lines)
            if key in lines:
                return lines


def test(env):
    manager = Manager(os.path.join(env.workdir, "notify.sock"))
    state_dir = os.path.join(env.workdir, "state")
    os.mkdir(state_dir)
    os.environ["NOTIFY_SOCKET"] = os.path.join(env.workdir, "notify.sock")
    os.environ["WATCHDOG_USEC"] = "400000"  # fed every 200 ms
    os.environ["STATE_DIRECTORY"] = state_dir
    try:
        daemon = env.start_daemon()
        lines = manager.expect("READY=1", "the daemon running")
        check(any(x.startswith("STATUS=running") for x in lines),
              "READY=1 came without a STATUS=running line: %s" % lines)
        for n in range(3):
            manager.expect("WATCHDOG=1", "watchdog feed %d" % (n + 1))
        check(os.path.exists(os.path.join(state_dir, "forestwatch.db")),
              "the outbox is not in STATE_DIRECTORY")
        check(not os.path.exists(os.path.join(os.path.dirname(env.config_path), "forestwatch.db")),
              "the outbox was written beside the config despite STATE_DIRECTORY")

        daemon.send_signal(signal.SIGHUP)
        manager.expect("RELOADING=1", "the reload starting")
        manager.expect("READY=1", "the reload done")
        manager.expect("WATCHDOG=1", "the watchdog fed after the reload")

        daemon.stop(signal.SIGTERM)
        manager.expect("STOPPING=1", "the shutdown")
    finally:
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "STATE_DIRECTORY"):
            os.environ.pop(k, None)
        manager.sock.close()


if __name__ == "__main__":
    fwtest.run(test)
