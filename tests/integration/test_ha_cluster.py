#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Chaos for active/standby groups (docs/ha.md) on a real broker cluster: three nats-server nodes
# with JetStream and their MQTT listeners on loopback. Two groups run side by side on the same
# field uplinks, each sending to its own bureau topic: a group of two (p, q) and a group of
# three (x, y, z). Every member's brokers list the three nodes.
#
# 2,000 alert episodes (a smoke reading above the threshold, then one below) go in 20 rounds,
# published on node 2, their readings timed as they are published. Meanwhile:
# - the active member of a group is SIGKILLed five times (three times in the group of three,
#   twice in the group of two), and restarted one round later;
# - node 1 is killed and restarted three times (members on it move to another node);
# - z is cut off from its peers (its group topics go through a relay to node 2 that is cut) but
#   not from the bureau: it becomes active too (split brain) until it hears its group again.
# Each bureau's persistent subscriber (on node 3) must receive every alert any member of its group
# computed, firing before resolved: none lost by the gateways. The cluster itself loses a few QoS 1
# readings before any member has them (nats-server 2.9; docs/ha.md): they are counted, as are
# copies: of a message (the same id), or of an episode under another id (a member that got its
# readings too late to compute them as the others did, sent by the rescue).
# The test prints episodes, messages, copies and the takeover time (kill to the new active
# member's word) as p50 and max.

import os
import re
import signal
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
import test_cluster as cluster  # noqa: E402
from fwtest import check  # noqa: E402
from test_broker_flap import CuttingRelay  # noqa: E402

fwtest.SCRIPT_GUARD_S = 400  # below the ctest TIMEOUT (420 s)
GUARD_S = 90
ALERTS = 2000
ROUNDS = 20
PER_ROUND = ALERTS // ROUNDS
NODES = ["bs03-smoke-01", "bs03-smoke-02", "bs07-smoke-01"]
GROUPS = {"g2": [("p", 200), ("q", 100)], "g3": [("x", 300), ("y", 200), ("z", 100)]}
KILLS = {2: "g3", 5: "g2", 8: "g3", 11: "g2", 14: "g3"}  # round -> group whose active dies
NODE_KILLS = (4, 10, 16)  # rounds after which node 1 dies (back one round later)
CUT_ROUND = 7             # z is cut off from its peers during this round


def wait_until(env, what, pred, guard=GUARD_S):
    deadline = time.monotonic() + guard
    while True:
        got = pred()
        if got:
            return got
        env.assert_alive()
        if time.monotonic() > deadline:
            fwtest.fail("timed out waiting for %s" % what)
        time.sleep(0.1)


def member_config(env, nodes, group, name, priority, relay_port=None):
    path = fwtest.make_config(os.path.join(env.workdir, "member-" + name), nodes[0].port)
    fwtest.smoke_to_bureau(path, nodes[2].port, 100, 400)
    cfg = fwtest.load_json_file(path)
    every = [{"host": "127.0.0.1", "port": n.port} for n in nodes]
    cfg["brokers"]["local"] = {"nodes": every, "reconnect_min_ms": 200, "reconnect_max_ms": 1000,
                               "keepalive_s": 10}
    cfg["brokers"]["bureau"] = {"nodes": every, "reconnect_min_ms": 200,
                                "reconnect_max_ms": 1000, "keepalive_s": 10}
    cfg["routes"]["forestry"]["topic"] = "bureau/%s/alerts" % group
    if relay_port:
        # Its group topics (the status broker's) through a relay that the test can cut.
        cfg["brokers"]["group"] = {"host": "127.0.0.1", "port": relay_port,
                                   "reconnect_min_ms": 200, "reconnect_max_ms": 1000,
                                   "keepalive_s": 10}
        cfg["gateway"]["status_broker"] = "group"
    cfg["ha"] = {"group": group, "member": name, "priority": priority, "heartbeat_ms": 300,
                 "dead_after_ms": 3000, "settle_ms": 5000, "rescue_after_ms": 10000}
    fwtest.write_json_file(path, cfg)
    return path


def publish_round(node, r):
    """Round r's episodes on `node`, timed from now on, 10 ms apart (QoS 1, again until the
    cluster takes the round: a copy of a reading is the same reading)."""
    t0 = int(time.time() * 1000) - 2 * r * PER_ROUND * 10
    lines = []
    for k in range(PER_ROUND):
        episode = r * PER_ROUND + k
        for i, value in enumerate((400.0 + k % 50, 12.0)):
            lines.append(fwtest.uplink(NODES[episode % len(NODES)], [("smoke_ppm", value)],
                                       fwtest.iso_ms(t0 + (2 * episode + i + 1) * 10)))
    deadline = time.monotonic() + GUARD_S
    while True:
        try:
            # One at a time: nats-server loses pipelined QoS 1 publishes (docs/ha.md).
            fwtest.mqtt_publish_each(node.port, "fw-test-field-%d" % r, "forestwatch/field/chaos/up",
                                     lines)
            return
        except (OSError, ConnectionError) as e:
            if time.monotonic() > deadline:
                fwtest.fail("publish round %d: %s" % (r, e))
            time.sleep(0.5)


def active_of(daemons, group):
    """The member of `group` alive whose log last said it is active."""
    for name, _ in GROUPS[group]:
        d = daemons[name]
        roles = re.findall(r'ha: member "%s" is (ACTIVE|standby)' % name, d.log_text())
        if d.alive() and roles and roles[-1] == "ACTIVE":
            return name
    return None


def computed(env, group):
    """The alert ids the members of `group` computed (every log of every start), each with
    whether its resolution was computed too."""
    ids = {}
    names = [n for n, _ in GROUPS[group]]
    for path in sorted(os.listdir(env.workdir)):
        if not path.startswith("forestwatchd-"):
            continue
        text = fwtest.file_text(os.path.join(env.workdir, path))
        if not re.search(r'ha: member "(%s)" of group' % "|".join(names), text):
            continue
        for kind, i in re.findall(r"alert: (new|resolved) (\S+)", text):
            ids[i] = ids.get(i, False) or kind == "resolved"
    return ids


def summarize(group, sub):
    raw = sub.snapshot()
    msgs = fwtest.cap_xml_alerts(raw)
    firsts, by_id, copies = fwtest.episodes_of(msgs)
    # An episode is its node, its firing reading's value and time: the same readings under two
    # ids (computed late by one member) are one episode sent twice.
    key_of = {m["id"]: (m.get("node"), m.get("value"), m["time"]) for m in firsts
              if m["status"] == "firing"}
    episodes = {}
    for i in by_id:
        episodes.setdefault(key_of.get(i), []).append(i)
    other_id = sum(len(ids) - 1 for ids in episodes.values())
    bad = [i for i, s in by_id.items() if s != ["firing", "resolved"]]
    return raw, msgs, firsts, episodes, copies, other_id, bad, by_id


def test(env):
    if not os.path.exists(cluster.nats_server()):
        print("test_ha_cluster.py: SKIP: nats-server not installed")
        sys.exit(fwtest.SKIP_EXIT)
    ports = [{"client": fwtest.free_port(), "cluster": fwtest.free_port(),
              "mqtt": fwtest.free_port()} for _ in range(3)]
    routes = [p["cluster"] for p in ports]
    nodes = [cluster.NatsNode(env.workdir, "n%d" % (i + 1), ports[i], routes) for i in range(3)]
    relay = None
    try:
        relay = CuttingRelay(nodes[1].port)
        run(env, nodes, relay)
    except BaseException:
        for n in nodes:
            sys.stderr.write("\n===== %s.log (tail) =====\n%s\n" % (n.name, n.log_text()[-3000:]))
        raise
    finally:
        if relay:
            relay.close()
        for n in nodes:
            n.kill()


def run(env, nodes, relay):
    for n in nodes:
        n.start()
    for n in nodes:
        cluster.publish(n, "fwtest/ready", "ready")
    subs = {g: fwtest.MqttSession(nodes[2].port, "bureau-" + g, "bureau/%s/alerts" % g)
            for g in GROUPS}
    for g, sub in subs.items():
        wait_until(env, "the bureau's subscriber of " + g, lambda s=sub: s.connects > 0)
    paths, daemons = {}, {}
    for g, members in GROUPS.items():
        for name, prio in members:
            paths[name] = member_config(env, nodes, g, name, prio,
                                        relay.port if name == "z" else None)
            daemons[name] = env.daemon(config_path=paths[name])
    for g, members in GROUPS.items():
        best = members[0][0]
        daemons[best].wait_log(r'ha: member "%s" is ACTIVE' % best, timeout=GUARD_S,
                               what="%s active in %s" % (best, g))

    takeovers, restart_next, node_down = [], [], False
    for r in range(ROUNDS):
        publish_round(nodes[1], r)
        # The chaos of a round comes after most of its messages reached the bureaus (the cluster
        # loses a few readings before any member has them: counted at the end).
        want = 2 * PER_ROUND * (r + 1) * 98 // 100
        wait_until(env, "round %d's messages at the bureaus" % r,
                   lambda: all(len(sub.snapshot()) >= want for sub in subs.values()))
        for name in restart_next:
            daemons[name] = env.daemon(config_path=paths[name])
        restart_next = []
        if node_down:
            nodes[0].start()
            node_down = False
        if r in KILLS:
            g = KILLS[r]
            victim = active_of(daemons, g)
            check(victim, "no active member in %s before round %d's kill" % (g, r))
            t_kill = time.monotonic()
            daemons[victim].stop(signal.SIGKILL, expect_code=-signal.SIGKILL)
            # Another member is active: it takes over, or it was already (a split while the
            # cluster moved them).
            wait_until(env, "a member of %s taking over from %s" % (g, victim),
                       lambda: active_of(daemons, g))
            takeovers.append(time.monotonic() - t_kill)
            restart_next.append(victim)
        if r in NODE_KILLS:
            nodes[0].kill()
            node_down = True
        if r == CUT_ROUND:
            since = daemons["z"].log_size()
            relay.down = True
            relay.cut()
            daemons["z"].wait_log(r'ha: member "z" is ACTIVE', since=since, timeout=GUARD_S,
                                  what="z, cut off from its peers, active too")
            relay.down = False
            daemons["z"].wait_log(r'ha: member "z" is standby', since=since, timeout=GUARD_S,
                                  what="z back in its group, standby again")
    for name in restart_next:
        daemons[name] = env.daemon(config_path=paths[name])
    if node_down:
        nodes[0].start()

    # Every alert any member of a group computed reaches its bureau, firing then resolved; an
    # episode no member computed was lost by the cluster before the gateways had it.
    deadline = time.monotonic() + 120
    for g, sub in subs.items():
        while True:
            got = summarize(g, sub)
            want = computed(env, g)
            missing = [i for i in want if i not in got[7] or (want[i] and len(got[7][i]) < 2)]
            if not missing:
                break
            env.assert_alive()
            if time.monotonic() > deadline:
                fwtest.fail("%s: %d alerts computed by its members never reached the bureau "
                            "(or not resolved there), e.g. %s" % (g, len(missing), missing[:3]))
            time.sleep(1)
    for g, sub in subs.items():
        raw, msgs, firsts, episodes, copies, other_id, bad, by_id = summarize(g, sub)
        sub.close()
        env.extra_cap.extend(payload.decode() for _, payload in raw)
        fwtest.log("ha cluster %s (%d members): %d episodes published, %d computed by a member "
                   "(the cluster lost the rest before), %d at the bureau; %d messages received, "
                   "%d copies of a message, %d episodes also under another id"
                   % (g, len(GROUPS[g]), ALERTS, len({i for i in computed(env, g)}), len(episodes),
                      len(msgs), copies, other_id))
        # An alert whose resolving reading no member got stays open; the others are exactly
        # [firing, resolved] in that order.
        resolved = computed(env, g)
        bad = [i for i in bad if resolved.get(i, True)]
        check(not bad, "%s: %d alerts not exactly [firing, resolved], e.g. %s: %s"
              % (g, len(bad), bad[:1], by_id.get(bad[0]) if bad else None))
    fwtest.log("ha cluster: %d kills of the active member, node 1 killed %d times, z cut off "
               "once; takeover (kill to the new active member's word): p50 %.2f s, max %.2f s"
               % (len(takeovers), len(NODE_KILLS), statistics.median(takeovers),
                  max(takeovers)))
    for name, d in daemons.items():
        if d.alive():
            d.stop()


if __name__ == "__main__":
    fwtest.run(test)
