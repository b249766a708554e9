#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Every event a LoRaWAN network server publishes, through a real broker, on the wildcard
# subscriptions the config reference allows (ChirpStack `application/+/#`, The Things Stack
# `v3/+/devices/+/#`), with messages shaped as the servers' own sources write them
# (ChirpStack's integration.proto events, TTS's ApplicationUp members):
# - a ChirpStack status event published before its uplink, with the uplink's deduplicationId,
#   gives the node's battery and margin and does not eat the uplink: the smoke alert fires;
# - join, ack, txack, log, location, integration, commands, and TTS's join, up/normalized,
#   down/*, location/solved, service/data, down/push and a simulated uplink give no reading and
#   no warning, and are counted per type in the LoRa stats line;
# - payloads decoded by the servers' built-in Cayenne LPP codecs (ChirpStack's object shape and
#   TTS's), and a raw LPP frame, become readings; analog inputs through the node's lpp_map;
#   values without a metric are noted once per node and reason;
# - a frame counter that goes back is a warning that drops nothing.

import base64
import json
import os
import re
import sys
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402

APP = "7d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"  # a ChirpStack application id
TTS_APP = "forestwatch@ttn"

# node -> (dev_eui, codec, lpp_map or None, zone or None for a node of the shipped config)
NODES = {
    "bs03-smoke-01": ("a000000000000001", "forestwatch", None, None),
    "bs03-lpp-01": ("a000000000000002", "server", {"4": "smoke_ppm"}, "bs-03"),
    "bs03-lpp-02": ("a000000000000003", "lpp", {"5": "smoke_ppm"}, "bs-03"),
    "bs07-smoke-01": ("a000000000000004", "forestwatch", None, None),
    "bs07-lpp-01": ("a000000000000005", "server", {"2": "smoke_ppm"}, "bs-07"),
}


def b64(data):
    return base64.b64encode(bytes(data)).decode()


def smoke_frame(ppm):
    """A forestwatch frame (docs/codec.md) with one field: smoke, uint16 ppm."""
    return [0x01, 0x04, ppm >> 8, ppm & 0xff]


def device_info(node):
    return {"tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242", "tenantName": "forest farm",
            "applicationId": APP, "applicationName": "field nodes",
            "deviceProfileId": "0b46400d-6f43-4d6d-9a7d-1cfc8d0aaa8b",
            "deviceProfileName": "fire node", "deviceName": node, "devEui": NODES[node][0],
            "deviceClassEnabled": "CLASS_A", "tags": {}}


def cs_topic(node, event):
    return "application/%s/device/%s/event/%s" % (APP, NODES[node][0], event)


def cs_up(node, dedup, fcnt, data=None, obj=None):
    msg = {"deduplicationId": dedup, "time": fwtest.now_rfc3339(), "deviceInfo": device_info(node),
           "devAddr": "01f2a3b4", "adr": True, "dr": 5, "fCnt": fcnt, "fPort": 1,
           "rxInfo": [{"gatewayId": "0016c001f153a14c", "uplinkId": 4711, "rssi": -97,
                       "snr": 6.5, "context": "EFwMtA==", "metadata": {}}],
           "txInfo": {"frequency": 486300000,
                      "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7,
                                              "codeRate": "CR_4_5"}}}}
    if data is not None:
        msg["data"] = b64(data)
    if obj is not None:
        msg["object"] = obj
    return msg


def tts_topic(node, event):
    return "v3/%s/devices/%s/%s" % (TTS_APP, node, event)


def tts_ids(node):
    return {"device_id": node, "application_ids": {"application_id": "forestwatch"},
            "dev_eui": NODES[node][0].upper(), "join_eui": "0000000000000000",
            "dev_addr": "260B1234"}


def tts_msg(node, member, body, **extra):
    msg = {"end_device_ids": tts_ids(node),
           "correlation_ids": ["as:up:" + uuid.uuid4().hex.upper()[:26]],
           "received_at": fwtest.now_rfc3339(), member: body}
    msg.update(extra)
    return msg


def tts_uplink(fcnt, data=None, decoded=None):
    up = {"session_key_id": "AXA50...", "f_port": 1, "f_cnt": fcnt,
          "rx_metadata": [{"gateway_ids": {"gateway_id": "gw-north"}, "rssi": -101,
                           "channel_rssi": -101, "snr": 4.25}],
          "settings": {"data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 7}},
                       "frequency": "486300000"},
          "received_at": fwtest.now_rfc3339()}
    if data is not None:
        up["frm_payload"] = b64(data)
    if decoded is not None:
        up["decoded_payload"] = decoded
    return up


def pub(env, topic, msg):
    env.publish(topic, json.dumps(msg))


def chirpstack_events(env, smoke):
    """The events of ChirpStack's MQTT integration, in the order a server sends them."""
    dedup = str(uuid.uuid4())
    node = "bs03-smoke-01"
    info = device_info(node)
    now = fwtest.now_rfc3339()
    # The node answered a DevStatusReq in the frame that also carries its smoke reading: the
    # server publishes the status event first, with the uplink's deduplicationId.
    pub(env, cs_topic(node, "status"),
        {"deduplicationId": dedup, "time": now, "deviceInfo": info, "margin": 7,
         "batteryLevel": 87.4})
    pub(env, cs_topic(node, "up"), cs_up(node, dedup, 1, smoke_frame(smoke)))
    pub(env, cs_topic(node, "join"),
        {"deduplicationId": str(uuid.uuid4()), "time": now, "deviceInfo": info,
         "devAddr": "01f2a3b4"})
    pub(env, cs_topic(node, "ack"),
        {"deduplicationId": dedup, "time": now, "deviceInfo": info,
         "queueItemId": str(uuid.uuid4()), "acknowledged": True, "fCntDown": 3})
    pub(env, cs_topic(node, "txack"),
        {"downlinkId": 3041, "time": now, "deviceInfo": info, "queueItemId": str(uuid.uuid4()),
         "fCntDown": 3, "gatewayId": "0016c001f153a14c",
         "txInfo": {"frequency": 506700000, "power": 17}})
    pub(env, cs_topic(node, "log"),
        {"time": now, "deviceInfo": info, "level": "ERROR", "code": "UPLINK_CODEC",
         "description": "codec error", "context": {"deduplication_id": dedup}})
    pub(env, cs_topic(node, "location"),
        {"deduplicationId": dedup, "time": now, "deviceInfo": info,
         "location": {"latitude": 40.41, "longitude": 116.68, "altitude": 612,
                      "source": "GEO_RESOLVER_TDOA", "accuracy": 120}})
    # An integration's own event carries an object; it is not the node's payload.
    lpp_info = device_info("bs03-lpp-01")
    env.publish(cs_topic("bs03-lpp-01", "integration"), json.dumps(
        {"deduplicationId": str(uuid.uuid4()), "time": now, "deviceInfo": lpp_info,
         "integrationName": "loracloud", "eventType": "DM_UPLINK",
         "object": {"smoke_ppm": 999, "analogInput": {"4": 299}}}))
    # What an application sends the server arrives on the same wildcard.
    pub(env, "application/%s/device/%s/command/down" % (APP, NODES[node][0]),
        {"devEui": NODES[node][0], "confirmed": False, "fPort": 10, "data": "AQI="})
    # Later the node reports external power: no battery level.
    pub(env, cs_topic(node, "status"),
        {"deduplicationId": str(uuid.uuid4()), "time": fwtest.now_rfc3339(), "deviceInfo": info,
         "margin": -3, "externalPowerSource": True})


def tts_events(env, smoke):
    node = "bs07-smoke-01"
    down = {"f_port": 15, "frm_payload": "AQ==", "priority": "NORMAL",
            "correlation_ids": ["as:downlink:01HZX0"]}
    pub(env, tts_topic(node, "join"),
        tts_msg(node, "join_accept", {"session_key_id": "AXA5", "received_at":
                                      fwtest.now_rfc3339()}))
    # A simulated uplink (the console's "simulate uplink") of a fire that is not there.
    pub(env, tts_topic(node, "up"),
        tts_msg(node, "uplink_message", tts_uplink(40, smoke_frame(999)), simulated=True))
    up = tts_msg(node, "uplink_message", tts_uplink(1, smoke_frame(smoke)))
    pub(env, tts_topic(node, "up"), up)
    # The same uplink, normalized, with the same correlation ids.
    pub(env, tts_topic(node, "up/normalized"),
        dict(tts_msg(node, "uplink_normalized",
                     {"f_port": 1, "f_cnt": 1, "frm_payload": b64(smoke_frame(smoke)),
                      "normalized_payload": [{"air": {"temperature": 21.5}}]}),
             correlation_ids=up["correlation_ids"]))
    for event, member in (("down/queued", "downlink_queued"), ("down/sent", "downlink_sent"),
                          ("down/ack", "downlink_ack"), ("down/nack", "downlink_nack")):
        pub(env, tts_topic(node, event), tts_msg(node, member, down))
    pub(env, tts_topic(node, "down/failed"),
        tts_msg(node, "downlink_failed",
                {"downlink": down, "error": {"namespace": "pkg/networkserver",
                                             "name": "application_downlink_too_long"}}))
    pub(env, tts_topic(node, "down/invalidated"),
        tts_msg(node, "downlink_queue_invalidated", {"downlinks": [down], "last_f_cnt_down": 5}))
    pub(env, tts_topic(node, "location/solved"),
        tts_msg(node, "location_solved",
                {"service": "frequency-plan",
                 "location": {"latitude": 40.39, "longitude": 116.71, "source":
                              "SOURCE_REGISTRY"}}))
    pub(env, tts_topic(node, "service/data"),
        tts_msg(node, "service_data", {"service": "lora-cloud", "data": {"smoke_ppm": 999}}))
    pub(env, tts_topic(node, "down/push"), {"downlinks": [{"f_port": 15, "frm_payload": "vu8="}]})


def lpp_uplinks(env):
    # ChirpStack's built-in Cayenne LPP codec: one member per type, channels inside.
    cs_obj = {"analogInput": {"4": 318.4}, "temperatureSensor": {"3": 24.1},
              "accelerometer": {"6": {"x": 0.01, "y": -0.02, "z": 1.0}}}
    for fcnt in (1, 2):  # twice: the accelerometer is noted once
        pub(env, cs_topic("bs03-lpp-01", "up"),
            cs_up("bs03-lpp-01", str(uuid.uuid4()), fcnt, [0x04, 0x02, 0x7c, 0x60], cs_obj))
    # A raw LPP frame: analog input on channel 5, 312.5 (0x7a12 / 100); then the node restarts
    # and counts from 2 again, sending 305.0 (0x7724 / 100).
    pub(env, cs_topic("bs03-lpp-02", "up"),
        cs_up("bs03-lpp-02", str(uuid.uuid4()), 5, [0x05, 0x02, 0x7a, 0x12]))
    pub(env, cs_topic("bs03-lpp-02", "up"),
        cs_up("bs03-lpp-02", str(uuid.uuid4()), 2, [0x05, 0x02, 0x77, 0x24]))
    # The Things Stack's built-in Cayenne LPP formatter: `<type>_<channel>`.
    tts_obj = {"analog_in_2": 305.2, "temperature_1": 22.5, "luminosity_3": 120}
    pub(env, tts_topic("bs07-lpp-01", "up"),
        tts_msg("bs07-lpp-01", "uplink_message",
                tts_uplink(1, [0x02, 0x02, 0x77, 0x38], tts_obj)))


def recorded(env):
    """(station, metric) -> list of values fed to the engine, from the recording."""
    rec = os.path.join(os.path.dirname(env.config_path), "rec")
    out = {}
    for name in sorted(os.listdir(rec)):
        with open(os.path.join(rec, name)) as f:
            for line in f:
                r = json.loads(line)
                if "station" in r:
                    out.setdefault((r["station"], r["metric"]), []).append(r["value"])
    return out


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    for node, (eui, codec, lpp_map, zone) in NODES.items():
        n = cfg["nodes"].setdefault(node, {"zone": zone, "kind": "smoke"})
        n["dev_eui"] = eui
        n["codec"] = codec
        if lpp_map:
            n["lpp_map"] = lpp_map
    cfg["uplinks"] += [
        {"broker": "local", "topic": "application/+/#", "format": "chirpstack"},
        {"broker": "local", "topic": "v3/+/devices/+/#", "format": "tts"},
    ]
    cfg["record"] = {"dir": "rec"}
    fwtest.write_json_file(env.config_path, cfg)
    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()

    chirpstack_events(env, 450)
    tts_events(env, 460)
    lpp_uplinks(env)
    want = {"bs03-smoke-01": 450, "bs07-smoke-01": 460, "bs03-lpp-01": 318.4,
            "bs03-lpp-02": 312.5, "bs07-lpp-01": 305.2}
    firing = {}
    while len(firing) < len(want):
        a = emergency.wait_for(lambda m: is_alert("firing", "smoke_high")(m.json),
                               what="smoke_high for %s" % sorted(set(want) - set(firing))).json
        firing[a["node"]] = a["value"]
    check(firing == want, "smoke alerts by node: %s, expected %s" % (firing, want))

    daemon.stop()
    log = daemon.log_text()
    # The node that restarted: a warning that says so, and drops nothing.
    fcnt = [ln for ln in log.splitlines() if "fcnt_reset" in ln]
    check(len(fcnt) == 1 and 'node "bs03-lpp-02"' in fcnt[0]
          and ": warning: fcnt_reset: frame counter went back from 5 to 2" in fcnt[0],
          "the frame counter warning: %s" % fcnt)
    warnings = [ln for ln in log.splitlines()
                if re.search(r" (warning|error) (uplink|lora):", ln) and ln not in fcnt]
    check(not warnings, "LoRa events made warnings: %s" % warnings[:3])

    rec = recorded(env)

    def values(node, metric):
        return rec.get((node, metric), [])
    check(values("bs03-smoke-01", "smoke_ppm") == [450],
          "the uplink after its status event: smoke %s" % values("bs03-smoke-01", "smoke_ppm"))
    check(values("bs03-smoke-01", "battery_pct") == [87.4],
          "status: battery_pct %s" % values("bs03-smoke-01", "battery_pct"))
    check(values("bs03-smoke-01", "lora_margin_db") == [7, -3],
          "status: lora_margin_db %s" % values("bs03-smoke-01", "lora_margin_db"))
    check(values("bs03-smoke-01", "lora_external_power") == [0, 1],
          "status: lora_external_power %s" % values("bs03-smoke-01", "lora_external_power"))
    check(values("bs07-smoke-01", "smoke_ppm") == [460],
          "TTS: only the real uplink: smoke %s" % values("bs07-smoke-01", "smoke_ppm"))
    check(values("bs03-lpp-01", "smoke_ppm") == [318.4, 318.4]
          and values("bs03-lpp-01", "air_temp_c") == [24.1, 24.1],
          "ChirpStack LPP object: %s" % {k: v for k, v in rec.items() if k[0] == "bs03-lpp-01"})
    check(values("bs03-lpp-02", "smoke_ppm") == [312.5, 305.0],
          "LPP frame: smoke %s" % values("bs03-lpp-02", "smoke_ppm"))
    check(values("bs07-lpp-01", "smoke_ppm") == [305.2]
          and values("bs07-lpp-01", "air_temp_c") == [22.5],
          "TTS LPP object: %s" % {k: v for k, v in rec.items() if k[0] == "bs07-lpp-01"})

    # Skipped values: said once per node and reason (as notes), counted in the stats line.
    notes = [ln for ln in log.splitlines() if "value skipped: unmapped" in ln]
    check(len(notes) == 2 and "accelerometer.6" in notes[0] and "luminosity_3" in notes[1]
          and all(" notice " in ln for ln in notes), "notes of skipped values: %s" % notes)
    stats = [ln for ln in log.splitlines() if "lora: stats:" in ln][-1]
    counts = dict((k, int(v)) for k, v in re.findall(r"([a-z/]+(?: \(simulated\))?) (\d+)",
                                                     stats.split("by event:")[1]))
    expected = {"up": 7, "status": 2, "join": 2, "ack": 1, "txack": 1, "log": 1, "location": 1,
                "integration": 1, "command": 1, "up (simulated)": 1, "up/normalized": 1,
                "down/queued": 1, "down/sent": 1, "down/ack": 1, "down/nack": 1,
                "down/failed": 1, "down/invalidated": 1, "location/solved": 1,
                "service/data": 1, "down/push": 1}
    check(counts == expected, "events by type: %s, expected %s" % (counts, expected))
    check("values skipped 3" in stats, "skipped values counted: %s" % stats)
    fwtest.log(stats.split(" info ", 1)[-1])


if __name__ == "__main__":
    fwtest.run(test)
