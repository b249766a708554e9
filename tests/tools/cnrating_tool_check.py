#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`forestwatch cnrating` with table files and arguments (label "tool"):

  cnrating_tool_check.py MODE TOOL SOURCE_DIR

  tables      the shipped config/cn_rating_tables.json gives the built-in result; a copy with the
              levels table marked "official" drops it from the note on unverified tables, and a
              copy with other edges changes the levels
  bad-tables  a table file with errors: exit 1, every error naming file and JSON path, no output
  usage       an unknown argument: exit 2 and the usage on stderr
  examples-na a bad days_since_rain in --examples: exit 1, the line and column named

Standard library only; exit 0 when the check passes, 1 with the reason otherwise.
"""
import os
import subprocess
import sys
import tempfile


def run(tool, args, data):
    p = subprocess.run([tool, "cnrating"] + args, input=data, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def with_edit(text, old, new):
    assert old in text, old
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8")
    f.write(text.replace(old, new, 1))
    f.close()
    return f.name


def main(mode, tool, src):
    shipped = os.path.join(src, "config", "cn_rating_tables.json")
    data = os.path.join(src, "tests", "data", "fire")
    with open(shipped, encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(data, "cn_rating_examples.csv"), "rb") as f:
        examples = f.read()
    fails = []
    if mode == "tables":
        rc0, out0, err0 = run(tool, ["--examples"], examples)
        rc1, out1, err1 = run(tool, ["--examples", "--tables", shipped], examples)
        if rc0 or rc1 or out0 != out1:
            fails.append("the shipped file and the built-in tables disagree:\n%s\n%s"
                         % (out0, out1))
        if "unverified tables (not checked against the printed standard): A B C D E levels" \
                not in err1:
            fails.append("no note on the unverified tables: %r" % err1)
        official = text.replace('"confidence": "V2",\n      "upper_edges"',
                                '"confidence": "official",\n      "upper_edges"', 1)
        path = with_edit(official, '[25, 50, 72, 90]', '[25, 50, 72, 89]')
        rc2, out2, err2 = run(tool, ["--examples", "--tables", path], examples)
        os.unlink(path)
        if rc2 or ": A B C D E\n" not in err2:
            fails.append("levels marked official still noted: exit %d, %r" % (rc2, err2))
        # E10 and E13 sum to 90: level 5 under an edge of 89, level 4 otherwise.
        changed = [l for l in out2.splitlines() if l not in out0.splitlines()]
        if sorted(c.split(",")[0] for c in changed) != ["E10", "E13"]:
            fails.append("an edited levels table changed %s" % changed)
    elif mode == "bad-tables":
        path = with_edit(text, "[71, 61, 51, 41, 31]", "[71, 61, 61, 41, 31]")
        with open(path, encoding="utf-8") as f:
            broken = f.read().replace('"per_day": 5', '"per_day": "5"', 1)
        with open(path, "w", encoding="utf-8") as f:
            f.write(broken)
        rc, out, err = run(tool, ["--tables", path], examples)
        os.unlink(path)
        sys.stdout.write(err)
        want = ["%s:16: $.tables.B.lower_edges_pct[2]: must be less than the edge before it "
                "(61), got 61" % path,
                '%s:28: $.tables.C.per_day: must be an integer 0..1000, got "5"' % path]
        if rc != 1 or out:
            fails.append("exit %d, output %r" % (rc, out))
        for w in want:
            if w not in err.splitlines():
                fails.append("stderr lacks %r" % w)
        rc, out, err = run(tool, ["--tables", path], examples)
        if rc != 1 or "cannot open" not in err:
            fails.append("a missing table file: exit %d, %r" % (rc, err))
    elif mode == "usage":
        rc, out, err = run(tool, ["--bogus"], b"")
        if rc != 2 or 'unknown argument "--bogus"' not in err or "usage:" not in err:
            fails.append("exit %d, %r" % (rc, err))
        rc, out, err = run(tool, ["--tables"], b"")
        if rc != 2:
            fails.append("--tables without a file: exit %d" % rc)
    elif mode == "examples-na":
        bad = examples.replace(b",NA,5.4,", b",N/A,5.4,", 1)
        rc, out, err = run(tool, ["--examples"], bad)
        sys.stdout.write(err)
        want = 'stdin:12: column "days_since_rain": must be an integer 0..100000 or NA, got "N/A"'
        if rc != 1 or out or want not in err.splitlines():
            fails.append("exit %d, output %r, stderr lacks %r" % (rc, out, want))
    else:
        fails.append("unknown mode %s" % mode)
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
