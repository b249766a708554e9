#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Modbus pollers against fw-modbus-sim: ten devices on two TCP buses and one RTU bus over a pty.

After two seconds unit 3 (bus A) stops answering and unit 6 (bus B) answers 300 ms late; unit 3
comes back at nine seconds. Asserted: every other device keeps polling (counts of successful
polls only, never a time), the dead device is reported offline and is polled again after it comes
back, and the pollers close cleanly (uv_loop_close() == 0). The spread of the times between
successful polls is printed, not asserted.

usage: test_modbus.py FW_MODBUS_SIM MODBUS_PROBE PROFILES_DIR
"""
import os
import subprocess
import sys
import threading
import time

SECONDS = 14
INTERVAL_MS = 500


def main():
    sim_bin, probe_bin, profiles = sys.argv[1:4]
    p = lambda name: os.path.join(profiles, name + ".json")
    # unit -> (bus, profile)
    layout = {
        1: ("A", "cwt-uwd"), 2: ("A", "renke-th"), 3: ("A", "renke-anemometer"),
        4: ("A", "renke-wind-vane"),
        5: ("B", "cwt-uwd"), 6: ("B", "example-smoke"), 7: ("B", "renke-th"),
        8: ("C", "renke-th"), 9: ("C", "renke-anemometer"), 10: ("C", "example-smoke"),
    }
    args = [sim_bin, "--scenario", "fire", "--fire-after", "5"]
    for bus, kind in (("A", "--tcp"), ("B", "--tcp"), ("C", "--rtu")):
        args += [kind, "127.0.0.1:0" if kind == "--tcp" else "pty"]
        for unit, (b, prof) in layout.items():
            if b == bus:
                args += ["--unit", "%d:%s" % (unit, p(prof))]
    sim = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        where = []
        while True:
            line = sim.stdout.readline()
            if not line:
                print("fw-modbus-sim exited early")
                return 1
            line = line.strip()
            if line == "ready":
                break
            where.append(line.split(" ", 1)[1])
        (host_a, port_a), (host_b, port_b) = (w.rsplit(":", 1) for w in where[:2])
        pty = where[2]
        print("sim: bus A %s, bus B %s, bus C %s" % (where[0], where[1], pty))

        probe = [probe_bin, "--seconds", str(SECONDS), "--breaker-max", "1000",
                 "--tcp", "A,%s,%s" % (host_a, port_a), "--tcp", "B,%s,%s" % (host_b, port_b),
                 "--rtu", "C,%s,9600" % pty]
        for unit, (bus, prof) in layout.items():
            timeout = 1000 if unit == 6 else 200
            probe += ["--device", "d%d,%s,%d,%s,%d,%d,1" % (unit, bus, unit, p(prof),
                                                            INTERVAL_MS, timeout)]
        proc = subprocess.Popen(probe, stdout=subprocess.PIPE, text=True)

        def cmd(at, text):
            time.sleep(at)
            sim.stdin.write(text + "\n")
            sim.stdin.flush()

        def script():
            cmd(2, "unit 3 silent")
            cmd(0, "unit 6 slow 300")
            cmd(7, "unit 3 ok")

        t = threading.Thread(target=script)
        t.start()
        out, _ = proc.communicate(timeout=SECONDS + 20)
        t.join()
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    print(out, end="")
    if proc.returncode != 0:
        print("FAIL: modbus_probe exited %d" % proc.returncode)
        return 1

    devs = {}
    for line in out.splitlines():
        if line.startswith("device "):
            parts = line.split()
            devs[parts[1]] = {k: float(v) for k, v in (x.split("=") for x in parts[2:])}
    expected = SECONDS * 1000 / INTERVAL_MS
    failed = []
    for unit in layout:
        d = devs.get("d%d" % unit)
        if d is None:
            failed.append("d%d: no line" % unit)
            continue
        if unit == 3:
            # Dead for 7 s, then back: reported offline, polled again, online at the end.
            if not d["offline_seen"]:
                failed.append("d3: never reported offline")
            if not d["back_online"] or not d["online"]:
                failed.append("d3: not polled again after it came back")
            if d["ok"] < 0.25 * expected:
                failed.append("d3: only %d good polls" % d["ok"])
            continue
        # Everyone else keeps its cadence: nearly every slot polled, none reported offline.
        if d["ok"] < 0.8 * expected:
            failed.append("d%d: %d good polls of %d expected" % (unit, d["ok"], expected))
        if d["offline_seen"]:
            failed.append("d%d: reported offline" % unit)
    for f in failed:
        print("FAIL: " + f)
    print("gap spread (ms, min/mean/max/sd) per device:")
    for name, d in sorted(devs.items()):
        print("  %-4s %7.1f %7.1f %7.1f %6.1f" % (name, d["gap_ms_min"], d["gap_ms_mean"],
                                                  d["gap_ms_max"], d["gap_ms_sd"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
