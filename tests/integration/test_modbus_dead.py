#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Dead Modbus devices at default settings (docs/modbus.md, "Bus time"). One Modbus TCP gateway
# and one RTU line (fw-modbus-sim, the line a pty) each carry two healthy devices beside two that
# never answer: unit 3 is silenced before the daemon starts and unit 4 is served by nobody. The
# config sets nothing but the poll interval (1 s); the dead devices come first in it, so each
# round of polls reaches them before their healthy neighbours. Once all four dead devices are
# reported offline, unit 3 answers again. Everything is read afterwards from the daemon's
# recording of readings (one `device_out_of_range` a good poll, one `device_online` a poll) and
# from its log. Asserted, with counts only: each healthy neighbour keeps at least 95 % of its
# scheduled polls; each dead device is reported offline before any healthy neighbour on its bus
# has had REPORT_POLLS good polls; a dead device is probed no more often than its backoff allows;
# the recovered device is polled at its interval again; "offline" and "online again" are logged
# once per device, and never for a healthy one. The figures are printed.

import glob
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check  # noqa: E402

INTERVAL_MS = 1000
BREAKER_FAILURES = 3  # the documented default (docs/modbus.md, "Circuit breaker")
REPORT_POLLS = BREAKER_FAILURES + 2  # "within a few intervals", counted in neighbours' polls
MIN_SHARE = 0.95
# How long the recovered devices are watched, in intervals (a hang guard, not an assertion).
AFTER_RECOVERY = 12

BUSES = ("gw", "line")
DEAD = ("dead-3", "dead-4")
HEALTHY = ("ok-1", "ok-2")


def start_sim(env, profiles):
    """The TCP gateway and the RTU line, units 1..3 on each; returns (process, host, port, pty)."""
    units = ["--unit", "1:" + os.path.join(profiles, "renke-th.json"),
             "--unit", "2:" + os.path.join(profiles, "cwt-uwd.json"),
             "--unit", "3:" + os.path.join(profiles, "renke-th.json")]
    sim = subprocess.Popen([fwtest.binary("fw-modbus-sim"), "--tcp", "127.0.0.1:0"] + units
                           + ["--rtu", "pty"] + units,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    env.processes.append(sim)
    where = {}
    while True:
        line = sim.stdout.readline().strip()
        check(line, "fw-modbus-sim exited before it was ready")
        if line == "ready":
            break
        kind, place = line.split(" ", 1)
        where[kind] = place
    host, port = where["tcp"].rsplit(":", 1)
    return sim, host, int(port), where["rtu"]


def sim_command(sim, text):
    sim.stdin.write(text + "\n")
    sim.stdin.flush()
    answer = sim.stdout.readline().strip()
    check(answer == "ok", "fw-modbus-sim: %s: %s" % (text, answer))


def wait_log_all(daemon, patterns, deadline):
    """Wait until every regex has matched a log line; returns the ones still missing."""
    while True:
        text = daemon.log_text()
        missing = [p for p in patterns if not re.search(p, text)]
        if not missing or time.monotonic() > deadline:
            return missing
        daemon.env.assert_alive()
        time.sleep(0.1)


def read_recording(folder):
    """Per station: [(recv ms, metric, value)] in recording order."""
    by_station = {}
    for path in sorted(glob.glob(os.path.join(folder, "readings-*.jsonl"))):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if "station" in r:
                    by_station.setdefault(r["station"], []).append(
                        (r["recv"], r["metric"], r["value"]))
    return by_station


def kept_share(polls, start, end):
    """Good polls and slots lost between `start` and `end` (ms): a gap of g intervals between
    two good polls (or before the end) lost round(g) - 1 slots. Returns (good, lost)."""
    times = [t for t in polls if start <= t <= end]
    lost = 0
    for a, b in zip(times, times[1:]):
        lost += max(0, round((b - a) / INTERVAL_MS) - 1)
    if times:
        lost += max(0, int((end - times[-1]) / INTERVAL_MS - 0.5))
    return len(times), lost


def test(env):
    profiles = os.path.join(fwtest.source_dir(), "config", "profiles")
    sim, host, port, pty = start_sim(env, profiles)
    sim_command(sim, "unit 3 silent")

    cfg = fwtest.load_json_file(env.config_path)
    cfg["profiles_dir"] = profiles
    cfg["buses"] = {"gw": {"kind": "tcp", "host": host, "port": port},
                    "line": {"kind": "rtu", "device": pty}}
    # Only the interval is set: timeouts, retries and the breaker are the defaults.
    cfg["devices"] = {}
    for bus in BUSES:
        for name in DEAD + HEALTHY:
            cfg["devices"]["%s-%s" % (bus, name)] = {
                "bus": bus, "unit_id": int(name[-1]),
                "profile": "cwt-uwd" if name == "ok-2" else "renke-th", "zone": "bs-03",
                "interval_ms": INTERVAL_MS}
    rec = os.path.join(env.workdir, "rec")
    cfg["record"] = {"dir": rec}
    fwtest.write_json_file(env.config_path, cfg)
    daemon = env.start_daemon()

    dead = ["%s-%s" % (b, n) for b in BUSES for n in DEAD]
    back = ["%s-dead-3" % b for b in BUSES]
    missing = wait_log_all(daemon, [r'device "%s" .*offline after' % d for d in dead],
                           time.monotonic() + 30)
    sim_command(sim, "unit 3 ok")
    if not missing:
        missing = wait_log_all(daemon, [r'device "%s" .*online again' % d for d in back],
                               time.monotonic() + 20)
    if not missing:
        time.sleep(AFTER_RECOVERY * INTERVAL_MS / 1000)
    daemon.stop()
    log = daemon.log_text()

    st = read_recording(rec)
    first = min(t for rows in st.values() for t, _, _ in rows)
    end = max(t for rows in st.values() for t, _, _ in rows)
    failed = ["not logged within the hang guard: /%s/" % m for m in missing]

    def good_polls(name):
        return [t for t, m, _ in st.get(name, []) if m == "device_out_of_range"]

    def online(name):
        return [(t, v) for t, m, v in st.get(name, []) if m == "device_online"]

    print("bus   device        good  lost  share  offline at  (neighbours' polls)  failed polls")
    for bus in BUSES:
        healthy = ["%s-%s" % (bus, n) for n in HEALTHY]
        for name in healthy:
            polls = good_polls(name)
            good, lost = kept_share(polls, polls[0] if polls else end, end)
            share = good / (good + lost) if good + lost else 0.0
            print("%-5s %-13s %4d  %4d  %5.3f" % (bus, name, good, lost, share))
            if share < MIN_SHARE:
                failed.append("%s: %d good polls, %d slots lost: share %.3f < %.2f"
                              % (name, good, lost, share, MIN_SHARE))
            if any(v == 0 for _, v in online(name)):
                failed.append("%s: healthy, but reported offline" % name)
            if re.search(r'device "%s" .*offline after' % name, log):
                failed.append("%s: healthy, but logged offline" % name)
        for n in DEAD:
            name = "%s-%s" % (bus, n)
            off = [t for t, v in online(name) if v == 0]
            if not off:
                failed.append("%s: never reported offline" % name)
                continue
            seen = [len([t for t in good_polls(h) if t <= off[0]]) for h in healthy]
            probes = len([1 for t, m, v in st[name] if m == "device_failures" and v > 0])
            # The backoff: after the breaker opens, probes 2, 4, 8... intervals apart.
            allowed, at, step = BREAKER_FAILURES, off[0], 2 * INTERVAL_MS
            while at + step <= end:
                allowed, at, step = allowed + 1, at + step, step * 2
            print("%-5s %-13s %4d  %4s  %5s  %8.1f s  %s  %6d (at most %d)"
                  % (bus, name, len(good_polls(name)), "", "", (off[0] - first) / 1000,
                     "%-19s" % seen, probes, allowed))
            if max(seen) >= REPORT_POLLS:
                failed.append("%s: reported offline only after its neighbours' polls %s "
                              "(expected fewer than %d each)" % (name, seen, REPORT_POLLS))
            if probes > allowed + 1:
                failed.append("%s: %d failed polls, more than the backoff allows (%d)"
                              % (name, probes, allowed))
            if len(re.findall(r'device "%s" .*offline after' % name, log)) != 1:
                failed.append("%s: not logged offline exactly once" % name)
            if n == "dead-4":
                if good_polls(name) or re.search(r'device "%s" .*online again' % name, log):
                    failed.append("%s: answers nobody, but was reported online" % name)
                continue
            # Unit 3 answered again: back online once, then polled at its interval.
            ons = [t for t, v in online(name) if v == 1 and t > off[-1]]
            if not ons:
                failed.append("%s: not back online after it answered again" % name)
                continue
            good, lost = kept_share(good_polls(name), ons[0], end)
            share = good / (good + lost) if good + lost else 0.0
            print("%-5s %-13s back online %.1f s after the offline report; then %d good polls, "
                  "%d slots lost: share %.3f" % (bus, name, (ons[0] - off[0]) / 1000, good, lost,
                                                 share))
            if share < MIN_SHARE:
                failed.append("%s: after recovery %d good polls, %d slots lost: share %.3f"
                              % (name, good, lost, share))
            if len(re.findall(r'device "%s" .*online again' % name, log)) != 1:
                failed.append("%s: not logged online again exactly once" % name)
    for line in log.splitlines():
        if re.search(r"modbus: device .*(offline after|online again)", line):
            fwtest.log(line)
    check(not failed, "; ".join(failed))


if __name__ == "__main__":
    fwtest.run(test)
