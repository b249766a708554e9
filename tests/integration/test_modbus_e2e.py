#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Modbus end to end through the same engine as the MQTT path: the daemon polls a simulated
# smoke sensor (fw-modbus-sim, fire scenario) over Modbus TCP; its smoke crossing the rule's
# threshold becomes an alert on the bureaus' topics, and when the device falls silent its
# offline state reaches a rule too. Then the faults of a real bus: the simulator is killed with
# a request outstanding (the bus vanishes mid-request) and comes back on the same port, where
# the device is polled again and its offline alert resolves; and a device that answers garbage
# is taken offline again. The daemon stays up throughout.

import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402


def start_sim(env, profiles, port=0):
    """fw-modbus-sim with the smoke sensor as unit 7; returns (process, host, port)."""
    sim = subprocess.Popen([fwtest.binary("fw-modbus-sim"), "--scenario", "fire",
                            "--fire-after", "1", "--speed", "20", "--tcp", "127.0.0.1:%d" % port,
                            "--unit", "7:" + os.path.join(profiles, "example-smoke.json")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    env.processes.append(sim)
    where = None
    while True:
        line = sim.stdout.readline().strip()
        check(line, "fw-modbus-sim exited before it was ready")
        if line == "ready":
            break
        where = line.split(" ", 1)[1]
    host, port = where.rsplit(":", 1)
    return sim, host, int(port)


def test(env):
    profiles = os.path.join(fwtest.source_dir(), "config", "profiles")
    sim, host, port = start_sim(env, profiles)

    cfg = fwtest.load_json_file(env.config_path)
    cfg["profiles_dir"] = profiles
    cfg["buses"] = {"sim": {"kind": "tcp", "host": host, "port": port}}
    cfg["devices"] = {"bs03-mb-smoke": {"bus": "sim", "unit_id": 7, "profile": "example-smoke",
                                        "zone": "bs-03", "interval_ms": 200, "timeout_ms": 300,
                                        "retries": 0}}
    fwtest.write_json_file(env.config_path, cfg)
    fwtest.write_json_file(os.path.join(os.path.dirname(env.config_path), "rules.d",
                                        "devices.json"),
                           {"rules": [{"name": "device_offline", "expr": "device_online == 0",
                                       "severity": "Minor", "category": "Other",
                                       "routes": ["forestry"]}]})
    forestry = env.route_subscriber("forestry")
    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()

    for sub in (forestry, emergency):
        alert = sub.wait_for(lambda m: is_alert("firing", "smoke_high", "bs03-mb-smoke")(m.json),
                             what="smoke_high from the Modbus smoke sensor")
        a = alert.json
        check(a["zone"]["id"] == "bs-03" and a["value"] > 300, "the alert: %s" % a)

    sim.stdin.write("unit 7 silent\n")
    sim.stdin.flush()
    alert = forestry.wait_for(lambda m: is_alert("firing", "device_offline",
                                                 "bs03-mb-smoke")(m.json),
                              what="device_offline for the silent device")
    fwtest.log("offline: %s" % alert.json["headline"]["en-US"])

    # The bus vanishes with a request outstanding (the silent device never answers it), and a
    # new bus comes up on the same port: the device is polled again and is back online.
    sim.send_signal(signal.SIGKILL)
    sim.wait()
    check(daemon.alive(), "the daemon died when the Modbus bus vanished mid-request")
    sim, _, _ = start_sim(env, profiles, port)
    forestry.wait_for(lambda m: is_alert("resolved", "device_offline", "bs03-mb-smoke")(m.json),
                      what="device_offline resolved once the bus is back")

    # A device that answers garbage is as good as gone.
    sim.stdin.write("unit 7 garbage\n")
    sim.stdin.flush()
    forestry.wait_for(lambda m: is_alert("firing", "device_offline", "bs03-mb-smoke")(m.json),
                      what="device_offline for the device answering garbage")
    check(daemon.alive(), "the daemon died on a device answering garbage")
    sim.stdin.write("quit\n")
    sim.stdin.flush()
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
