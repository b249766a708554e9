#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# `forestwatch cap-check` on both renderings of CAP 1.2 (label "tool"):
#
#   cap_check_tool.py BIN DATA
#
# DATA is tests/data/cap: forestwatch-alert.json (a message the gateway rendered in CAP's JSON
# rendering, pretty-printed) and the reference XML examples. Each file is "CAP OK", from a file
# and from stdin; a JSON message that breaks a rule of the CAP text, or the shape of the JSON
# rendering, is named with the reason and exit 1. Python 3 standard library only.
import os
import subprocess
import sys
import tempfile

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def cap_check(binary, args, stdin=None):
    p = subprocess.run([binary, "cap-check"] + args, input=stdin, capture_output=True,
                       text=True, timeout=20)
    return p.returncode, p.stdout, p.stderr


def main(binary, data):
    good_json = os.path.join(data, "forestwatch-alert.json")
    good_xml = os.path.join(data, "forest-fire-alert-valid.xml")
    rc, out, err = cap_check(binary, [good_json, good_xml])
    check(rc == 0, "valid JSON and XML: exit %d: %s%s" % (rc, out, err))
    check(out == "%s: CAP OK\n%s: CAP OK\n" % (good_json, good_xml), "valid: stdout %r" % out)

    with open(good_json, encoding="utf-8") as f:
        text = f.read()
    rc, out, err = cap_check(binary, ["-"], stdin=text)
    check(rc == 0 and out == "-: CAP OK\n", "JSON on stdin: exit %d: %r %r" % (rc, out, err))

    bad = [
        ('"sent": "2026-06-01T04:01:05-00:00"', '"sent": "2026-06-01T04:01:05Z"',
         "sent: \"2026-06-01T04:01:05Z\": 'Z' is not allowed; write a numeric offset "
         "(-00:00 for UTC)"),
        ('"msgType": "Alert"', '"msgType": "Update"',
         "references: required for an Update or Cancel"),
        ('"category": [\n    "Fire"\n   ]', '"category": "Fire"',
         "info[0].category: must be an array (the element may repeat)"),
    ]
    with tempfile.TemporaryDirectory(prefix="fw-cap-check-") as tmp:
        for i, (old, new, why) in enumerate(bad):
            check(old in text, "mutation %d: %r is not in %s" % (i, old, good_json))
            path = os.path.join(tmp, "bad%d.json" % i)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace(old, new, 1))
            rc, out, err = cap_check(binary, [path, good_json])
            check(rc == 1, "mutation %d: exit %d, expected 1" % (i, rc))
            want = "%s: %s\n%s: CAP OK\n" % (path, why, good_json)
            check(out == want, "mutation %d: stdout %r, expected %r" % (i, out, want))

    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
