#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# One `forestwatch replay` case against golden files (label "tool"):
#
#   replay_case.py BIN DATA RC OUT ERR [--long-line FILE] -- ARGS...
#
# copies the folder DATA (tests/data/replay) into a temporary folder, runs `BIN replay ARGS...`
# there (so file names in messages are as written in ARGS), and expects exit code RC, stdout
# equal to DATA/OUT and stderr equal to DATA/ERR ("-": stderr must be empty). --long-line FILE
# first appends to the copy of FILE a line longer than the tool's 64 KiB cap, then a good line
# (the replay must go on after it). Python 3 standard library only.
import difflib
import os
import shutil
import subprocess
import sys
import tempfile

LONG_LINE_BYTES = 70000
GOOD_LINE = ('{"recv": 1780286900000, "time": "2026-06-01T04:08:18Z", "station": "bs07-smoke-01", '
             '"zone": "bs-07", "metric": "smoke_ppm", "value": 410, "source": "mqtt"}\n')


def compare(what, want, got):
    if want == got:
        return True
    sys.stdout.write("%s differs from the golden file:\n" % what)
    sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                               "expected", "got"))
    return False


def main(argv):
    if "--" not in argv or len(argv[:argv.index("--")]) < 5:
        sys.stderr.write(__doc__ or "usage: replay_case.py BIN DATA RC OUT ERR -- ARGS...\n")
        return 2
    sep = argv.index("--")
    head, args = argv[:sep], argv[sep + 1:]
    binary, data, rc, out, err = head[0], head[1], int(head[2]), head[3], head[4]
    long_line = None
    if len(head) == 7 and head[5] == "--long-line":
        long_line = head[6]
    with tempfile.TemporaryDirectory(prefix="fw-replay-") as tmp:
        work = os.path.join(tmp, "data")
        shutil.copytree(data, work)
        if long_line:
            with open(os.path.join(work, long_line), "a") as f:
                f.write('{"recv": 1, "pad": "' + "x" * LONG_LINE_BYTES + '"}\n')
                f.write(GOOD_LINE)
        p = subprocess.run([binary, "replay"] + args, cwd=work, capture_output=True, text=True,
                           timeout=30)
    ok = True
    if p.returncode != rc:
        print("expected exit %d, got %d" % (rc, p.returncode))
        ok = False
    with open(os.path.join(data, out), encoding="utf-8") as f:
        ok &= compare("stdout", f.read(), p.stdout)
    want_err = ""
    if err != "-":
        with open(os.path.join(data, err), encoding="utf-8") as f:
            want_err = f.read()
    ok &= compare("stderr", want_err, p.stderr)
    if not ok:
        print("command: %s replay %s" % (binary, " ".join(args)))
        print("stderr was:\n" + p.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
