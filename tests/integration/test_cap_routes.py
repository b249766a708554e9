#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Routes that ask for CAP get CAP: the forestry route as CAP 1.2 XML, the emergency route as its
# JSON rendering. Every XML message received is validated against the CAP 1.2 schema (xmllint)
# and by `forestwatch cap-check`; the resolution is an Update that references the Alert.

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check  # noqa: E402

XSD = os.path.join(fwtest.source_dir(), "tests", "data", "cap", "CAP-v1.2.xsd")


def validate(env, xml, name):
    path = os.path.join(env.workdir, name + ".xml")
    with open(path, "w") as f:
        f.write(xml)
    res = subprocess.run(["xmllint", "--noout", "--schema", XSD, path], capture_output=True,
                         text=True)
    check(res.returncode == 0, "%s fails the CAP 1.2 schema: %s" % (name, res.stderr.strip()))
    res = subprocess.run([fwtest.binary("forestwatch"), "cap-check", path], capture_output=True,
                         text=True)
    check(res.returncode == 0, "%s fails cap-check: %s" % (name, res.stdout.strip()))


def tag(xml, name):
    m = re.search(r"<%s>([^<]*)</%s>" % (name, name), xml)
    return m.group(1) if m else None


def test(env):
    if not subprocess.run(["sh", "-c", "command -v xmllint"], capture_output=True).returncode == 0:
        fwtest.fail("xmllint is required (scripts/deps.sh installs libxml2-utils)")
    cfg = fwtest.load_json_file(env.config_path)
    cfg["routes"]["forestry"]["format"] = "cap-xml"
    cfg["routes"]["emergency"]["format"] = "cap-json"
    cfg["cap"] = {"utc_offset_min": 480, "status": "Exercise"}
    fwtest.write_json_file(env.config_path, cfg)
    forestry = env.route_subscriber("forestry")
    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()

    env.send_reading("bs03-smoke-01", "smoke_ppm", 388.0)
    env.send_reading("bs03-smoke-01", "smoke_ppm", 14.0)

    first = forestry.next(what="the Alert in CAP XML").text
    validate(env, first, "alert")
    check(tag(first, "msgType") == "Alert" and tag(first, "status") == "Exercise",
          "first message: %s" % first[:400])
    check(tag(first, "sent").endswith("+08:00"), "sent offset: %s" % tag(first, "sent"))
    check("<language>zh-CN</language>" in first and "<language>en-US</language>" in first,
          "both languages: %s" % first[:400])
    check("北山林场 3 号网格" in first, "zone name in the area: %s" % first[:600])
    second = forestry.next(what="the resolution in CAP XML").text
    validate(env, second, "resolution")
    check(tag(second, "msgType") == "Update", "resolution msgType: %s" % second[:400])
    refs = tag(second, "references")
    check(refs and tag(first, "identifier") in refs and tag(first, "sent") in refs,
          "the resolution must reference the Alert: %s vs %s" % (refs, tag(first, "identifier")))

    alert = emergency.next(what="the Alert as CAP JSON").json["_cap"]
    check(alert.get("msgType") == "Alert" and isinstance(alert.get("info"), list)
          and len(alert["info"]) == 2, "CAP JSON: %s" % alert)
    res = emergency.next(what="the resolution as CAP JSON").json["_cap"]
    check(res.get("msgType") == "Update" and alert["identifier"] in res.get("references", ""),
          "CAP JSON resolution: %s" % res)
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
