#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# What the duty officers read, as the bureaus receive it through a real broker (the forestry
# route in CAP 1.2 XML, the emergency route in its JSON rendering, as shipped): the headline and
# description name the reading's time in the zone's local time with its offset (+08:00 in the
# shipped config), never UTC, while the machine fields keep their CAP form; the en-US info names
# the gateway, the forest chief and the duty contact by their English names; and every <info>
# says until when it is in effect (<expires>: 24 hours after it was sent for an observed smoke
# alert, an hour after the resolution for the all-clear). The duty officer's screen of the demo
# (fwtest.officer_line, scripts/demo.sh) makes of each a single line with the headline, the local
# time, the value against its threshold and whom to call. Every CAP message is also validated
# against the schema and cap-check by the harness.

import datetime
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402

CST = datetime.timezone(datetime.timedelta(hours=8))


def local_text_time(rfc3339):
    """A reading's time as the texts must name it: local date and time at +08:00."""
    t = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    return t.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S+08:00")


def check_expires(name, cap, after_sent):
    """Every info of a CAP alert has <expires>, `after_sent` after <sent>, at the CAP offset."""
    want = datetime.datetime.fromisoformat(cap["sent"]) + after_sent
    for info in cap["info"]:
        got = info.get("expires")
        check(got is not None, "%s: %s info without <expires>" % (name, info.get("language")))
        check(got == want.isoformat(), "%s: %s expires %s, expected %s (sent %s)"
              % (name, info.get("language"), got, want.isoformat(), cap["sent"]))
    fwtest.log("%s: %s sent %s, expires %s" % (name, cap["msgType"], cap["sent"], got))


def short_local(rfc3339):
    """The reading's time as the screen shows it: "MM-DD hh:mm:ss+08:00"."""
    t = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    return t.astimezone(CST).strftime("%m-%d %H:%M:%S+08:00")


def check_screen(name, alert, cfg, sent, value):
    """The demo's line for `alert`, in both languages: one line, with what the officer needs
    (the project's JSON has UTC times: the line shows them at the CAP offset, as for CAP)."""
    zone = cfg["zones"]["bs-03"]
    chief, duty = zone["forest_chief"], zone["duty"]
    firing = alert["status"] == "firing"
    for lang, key in (("en-US", "name_en"), ("zh-CN", "name")):
        line = fwtest.officer_line(alert, lang, cfg["cap"]["utc_offset_min"])
        fwtest.log("screen %s %s: %s" % (name, lang, line))
        need = [alert["headline"][lang], short_local(sent["time"]),
                "%s %s" % (chief[key], chief["phone"]), duty["phone"]]
        need.append("%g ppm > 300" % value if firing else "%g ppm (" % value)
        for part in need:
            check(part in line, "%s %s screen line: %r missing in %r" % (name, lang, part, line))
        check("\n" not in line and line.startswith("!!" if firing else "ok"),
              "%s %s screen line: %r" % (name, lang, line))


def check_names(name, alert, cfg):
    """The zh-CN info names people in Chinese, the en-US info in English (name_en)."""
    zone = cfg["zones"]["bs-03"]
    chief, duty = zone["forest_chief"], zone["duty"]
    infos = {i["language"]: i for i in alert["_cap"]["info"]}
    for lang, key in (("zh-CN", "name"), ("en-US", "name_en")):
        info = infos[lang]
        check(chief[key] in info["description"] and duty[key] in info["description"],
              "%s %s description: expected %s and %s in %r"
              % (name, lang, chief[key], duty[key], info["description"]))
        check(info.get("contact") == "%s %s" % (duty[key], duty["phone"]),
              "%s %s contact: %r" % (name, lang, info.get("contact")))
        check(info.get("senderName") == cfg["gateway"][key],
              "%s %s senderName: %r" % (name, lang, info.get("senderName")))
    check(chief["name"] not in infos["en-US"]["description"],
          "%s: the en-US description names the chief in Chinese: %r"
          % (name, infos["en-US"]["description"]))


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    check(cfg["cap"]["utc_offset_min"] == 480, "the shipped config writes China Standard Time")
    # A third route in the project's own JSON, for the screen's reading of it.
    cfg["routes"]["plain"] = {"broker": "local", "topic": "bureau/plain/alerts", "qos": 1,
                              "format": "json"}
    fwtest.write_json_file(env.config_path, cfg)
    fwtest.edit_rule(env.config_path, "fire.json", "smoke_high", "routes",
                     ["forestry", "emergency", "plain"])
    forestry = env.route_subscriber("forestry")
    emergency = env.route_subscriber("emergency")
    plain = env.subscribe("bureau/plain/alerts", "plain")
    daemon = env.start_daemon()

    sent = env.send_reading("bs03-smoke-01", "smoke_ppm", 352.5)
    local = local_text_time(sent["time"])
    for sub in (forestry, emergency):
        alert = sub.expect_none_before(is_alert("firing", "smoke_high"),
                                       what="smoke_high firing on %s" % sub.name)
        for lang in ("zh-CN", "en-US"):
            text = alert["description"][lang]
            fwtest.log("%s %s: %s" % (sub.name, lang, text))
            check(local in text, "%s %s description: expected the local time %s in %r"
                  % (sub.name, lang, local, text))
            check(sent["time"] not in text,
                  "%s %s description names the UTC time: %r" % (sub.name, lang, text))
        check_names(sub.name, alert, cfg)
        # The machine fields stay CAP times: the parameter, like sent, at the CAP offset.
        check(alert["time"] == sent["time"], "forestwatch:time: %s vs %s"
              % (alert["time"], sent["time"]))
        check_expires(sub.name, alert["_cap"], datetime.timedelta(hours=24))
        check_screen(sub.name, alert, cfg, sent, 352.5)
    alert = plain.expect_none_before(is_alert("firing", "smoke_high"), what="smoke_high as JSON")
    check_screen("plain", alert, cfg, sent, 352.5)

    sent = env.send_reading("bs03-smoke-01", "smoke_ppm", 12.0)
    for sub in (forestry, emergency):
        alert = sub.expect_none_before(is_alert("resolved", "smoke_high"),
                                       what="smoke_high resolved on %s" % sub.name)
        check_expires(sub.name, alert["_cap"], datetime.timedelta(hours=1))
        check_screen(sub.name, alert, cfg, sent, 12.0)
    alert = plain.expect_none_before(is_alert("resolved", "smoke_high"), what="resolved as JSON")
    check_screen("plain", alert, cfg, sent, 12.0)
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
