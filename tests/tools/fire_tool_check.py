#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run `forestwatch fwi` / `forestwatch hffmc` and check what an operator would see.

  fire_tool_check.py compare TOOL CMD INPUT REFERENCE [TOOL ARGS...]
      run `TOOL CMD [ARGS]` on INPUT and compare every column that REFERENCE shares with the
      output, row by row, numbers within 1e-4 and text exactly; the row counts must agree.
  fire_tool_check.py error TOOL CMD INPUT EXPECTED_STDERR_LINE
      run on INPUT, expect exit 1, nothing on stdout, and the given line on stderr.
  fire_tool_check.py bad-row TOOL CMD INPUT LINE COLUMN VALUE EXPECTED_STDERR_LINE
      copy INPUT, put VALUE into COLUMN of data line LINE (1-based file line), then as `error`.

Standard library only; exit 0 when the check passes, 1 with the reason otherwise.
"""
import csv
import io
import subprocess
import sys

TOL = 1e-4


def run(tool, cmd, data, args):
    p = subprocess.run([tool, cmd] + args, input=data, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def as_number(s):
    try:
        return float(s)
    except ValueError:
        return None


def compare(tool, cmd, inp, ref, args):
    with open(inp, "rb") as f:
        rc, out, err = run(tool, cmd, f.read(), args)
    if rc != 0:
        return f"exit {rc}, stderr:\n{err}"
    got = list(csv.DictReader(io.StringIO(out)))
    with open(ref, newline="") as f:
        want = list(csv.DictReader(f))
    if len(got) != len(want):
        return f"{len(got)} output rows, reference has {len(want)}"
    cols = [c for c in want[0].keys() if c in got[0]]
    if len(cols) < 2:
        return f"output and reference share only {cols}"
    bad, worst = 0, 0.0
    for i, (g, w) in enumerate(zip(got, want)):
        for c in cols:
            gv, wv = as_number(g[c]), as_number(w[c])
            if gv is None or wv is None:
                ok = g[c] == w[c]
            else:
                worst = max(worst, abs(gv - wv))
                ok = abs(gv - wv) <= TOL
            if not ok:
                bad += 1
                if bad <= 10:
                    print(f"row {i + 2}: {c}: got {g[c]}, want {w[c]}")
    print(f"{len(got)} rows, columns {','.join(cols)}, max abs diff {worst:.3g}")
    return f"{bad} values differ" if bad else None


def error(tool, cmd, data, line):
    rc, out, err = run(tool, cmd, data, [])
    sys.stdout.write(err)
    if rc != 1:
        return f"exit {rc}, want 1"
    if out.strip():
        return f"printed output despite the error:\n{out}"
    if line not in err.splitlines():
        return f"stderr lacks the line {line!r}"
    return None


def main(argv):
    mode = argv[1]
    if mode == "compare":
        tool, cmd, inp, ref = argv[2:6]
        msg = compare(tool, cmd, inp, ref, argv[6:])
    elif mode == "error":
        tool, cmd, inp, line = argv[2:6]
        with open(inp, "rb") as f:
            msg = error(tool, cmd, f.read(), line)
    elif mode == "bad-row":
        tool, cmd, inp, lineno, col, value, line = argv[2:9]
        with open(inp, newline="") as f:
            lines = f.read().splitlines()
        header = lines[0].split(",")
        fields = lines[int(lineno) - 1].split(",")
        fields[header.index(col)] = value
        lines[int(lineno) - 1] = ",".join(fields)
        msg = error(tool, cmd, ("\n".join(lines) + "\n").encode(), line)
    else:
        msg = f"unknown mode {mode}"
    if msg:
        print(f"FAIL: {msg}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
