#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# `forestwatch degday` end to end. Each mode is one ctest:
#   reference BIN DATA  the Esparto 2020 year through every method and cutoff, compared with the
#                       UC IPM calculator (0.01) and the 6-decimal degday output (1e-6)
#   bad_rows BIN        bad rows: every error names its line (a date out of order also after
#                       or in a rejected row), exit 1, nothing on stdout
#   gap BIN             a gap in the dates: a note, and the day before it uses its own minimum
#   usage BIN           bad arguments: exit 2 with the reason; --cutoff defaults to horizontal
#   odd_bytes BIN       a NUL byte and an over-long line: each named by its line, and the lines
#                       after them still read and checked
# Python 3 standard library only.
import csv
import subprocess
import sys

METHODS = ["single-sine", "double-sine", "single-triangle", "double-triangle"]
CUTOFFS = ["horizontal", "vertical", "intermediate"]
UCIPM = {"single-sine": "sngsine", "double-sine": "dblsine", "single-triangle": "sngtri",
         "double-triangle": "dbltri"}
UCIPM_CUT = {"horizontal": "horiz", "vertical": "vert", "intermediate": "intrmd"}
DEGDAY = {"single-sine": "sng_sine", "double-sine": "dbl_sine", "single-triangle": "sng_tri",
          "double-triangle": "dbl_tri"}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def run(binary, args, stdin):
    p = subprocess.run([binary, "degday"] + args, input=stdin, capture_output=True, text=True,
                       timeout=20)
    return p.returncode, p.stdout, p.stderr


def check_rejected(binary, args, text, want):
    """Bad input: exit 1, nothing on stdout, and exactly the `want` lines on stderr."""
    rc, out, err = run(binary, args, text)
    check(rc == 1, f"exit {rc}, expected 1")
    check(out == "", f"stdout not empty: {out!r}")
    check(err.splitlines() == want, "stderr:\n" + err + "expected:\n" + "\n".join(want))


def table(text):
    return list(csv.DictReader(text.splitlines()))


def mode_reference(binary, data):
    with open(data + "/dd_in_espartoA_2020_F.csv") as f:
        weather = f.read()
    with open(data + "/ucipm_espartoA_2020_F_50_70.csv") as f:
        ucipm = table(f.read())
    with open(data + "/dd_out_espartoA_2020_F_50_70.csv") as f:
        degday = table(f.read())
    inputs = table(weather)
    runs = [(m, c, UCIPM[m] + "_" + UCIPM_CUT[c], DEGDAY[m] + "_" + c)
            for m in METHODS for c in CUTOFFS]
    runs.append(("average", "horizontal", None, "simp_avg_m1"))
    compared = 0
    for method, cutoff, ucol, dcol in runs:
        args = ["--method", method, "--cutoff", cutoff, "--lower", "50", "--upper", "70",
                "--units", "F"]
        rc, out, err = run(binary, args, weather)
        name = method + "/" + cutoff
        check(rc == 0, f"{name}: exit {rc}: {err}")
        check(err == "", f"{name}: unexpected stderr: {err}")
        check(out.splitlines()[0] == "date,tmin,tmax,dd,cum_dd", f"{name}: header {out[:40]!r}")
        rows = table(out)
        check(len(rows) == 366, f"{name}: {len(rows)} rows")
        cum, ref_cum = 0.0, 0.0
        for i, r in enumerate(rows):
            day = r["date"]
            check((r["date"], r["tmin"], r["tmax"]) ==
                  (inputs[i]["date"], inputs[i]["tmin"], inputs[i]["tmax"]), f"{name}: row {i}")
            dd = float(r["dd"])
            if ucol:
                want = float(ucipm[i][ucol])
                check(abs(dd - want) <= 0.01 + 1e-9, f"{name} {day}: {dd} vs UC IPM {want}")
                compared += 1
            want = float(degday[i][dcol])
            # both sides are rounded to 6 decimals
            check(abs(dd - want) <= 1e-6 + 1e-12, f"{name} {day}: {dd} vs degday {want}")
            cum += dd
            ref_cum += want
            # cum_dd sums unrounded values; the printed ones differ by up to 5e-7 each
            check(abs(float(r["cum_dd"]) - cum) <= 1e-6 * (i + 2), f"{name} {day}: cum_dd")
            check(abs(float(r["cum_dd"]) - ref_cum) <= 1e-6 * (i + 2), f"{name} {day}: ref cum")
    check(compared == 4392, f"compared {compared} UC IPM values, expected 4392")


def mode_bad_rows(binary):
    good = "".join(f"2020-05-{d:02d},10,20\n" for d in range(1, 11))  # lines 2..11
    text = ("date,tmin,tmax\n" + good +
            "2020-05-11,10,x\n"        # 12
            "2020-05-12,25,20\n"       # 13
            "2020-02-30,10,20\n"       # 14
            "2020-05-13,10\n"          # 15
            "2020-05-10,10,20\n"       # 16: not after 2020-05-12 (line 13, itself rejected)
            "2020-05-14,10,75\n"       # 17: degC out of range
            "2020-05-15,nan,20\n"      # 18
            "\n"                       # 19
            "2020-05-16,11,21\n")      # 20: good
    want = [
        'stdin:12: column "tmax": must be a number, got "x"',
        "stdin:13: tmin 25 is above tmax 20",
        'stdin:14: column "date": must be a date YYYY-MM-DD, got "2020-02-30"',
        "stdin:15: expected 3 columns (date,tmin,tmax), got 2",
        'stdin:16: column "date": 2020-05-10 does not come after 2020-05-12 (line 13)',
        'stdin:17: column "tmax": 75 degC is outside the possible -90..60 degC (see --units)',
        'stdin:18: column "tmin": must be a number, got "nan"',
        "stdin:19: empty line",
        "stdin: 8 bad lines, nothing computed",
    ]
    args = ["--method", "single-sine", "--cutoff", "horizontal", "--lower", "10", "--upper", "30"]
    check_rejected(binary, args, text, want)

    # Dates increase through the whole input: a date is compared with a rejected row's too,
    # and checked in a row that has another error.
    text = ("date,tmin,tmax\n"
            "2020-05-01,10,20\n"       # 2
            "2020-05-10,25,20\n"       # 3: rejected (tmin above tmax), its date still counts
            "2020-05-05,10,20\n"       # 4: before 2020-05-10
            "2020-05-04,10,x\n"        # 5: before it too, and a bad tmax
            "2020-05-11,10,20\n")      # 6: good
    want = [
        "stdin:3: tmin 25 is above tmax 20",
        'stdin:4: column "date": 2020-05-05 does not come after 2020-05-10 (line 3)',
        'stdin:5: column "date": 2020-05-04 does not come after 2020-05-10 (line 3)',
        'stdin:5: column "tmax": must be a number, got "x"',
        "stdin: 3 bad lines, nothing computed",
    ]
    check_rejected(binary, args, text, want)

    # a single bad row is enough to compute nothing
    rc, out, err = run(binary, args, "date,tmin,tmax\n2020-05-01,10,20\n2020-05-02,x,20\n")
    check(rc == 1 and out == "", f"one bad row: exit {rc}, stdout {out!r}")
    check(err.splitlines()[0] == 'stdin:3: column "tmin": must be a number, got "x"', err)

    # the header is required
    rc, out, err = run(binary, args, "2020-05-01,10,20\n")
    check(rc == 1 and out == "", f"no header: exit {rc}")
    check(err == 'stdin:1: header must be "date,tmin,tmax", got "2020-05-01,10,20"\n', err)
    rc, out, err = run(binary, args, "")
    check(rc == 1 and "empty" in err, f"empty input: exit {rc}: {err}")


def mode_gap(binary):
    text = ("date,tmin,tmax\n"
            "2020-06-01,12,28\n"
            "2020-06-02,14,30\n"
            "2020-06-05,16,32\n"
            "2020-06-06,15,29\n")
    args = ["--cutoff", "horizontal", "--lower", "10", "--upper", "30"]
    rc, out, err = run(binary, ["--method", "double-sine"] + args, text)
    check(rc == 0, f"exit {rc}: {err}")
    check(err == "stdin:4: note: 2 days missing before 2020-06-05; they add nothing to cum_dd "
                 "and 2020-06-02 uses its own minimum as the next\n", err)
    dbl = table(out)
    rc, out, err = run(binary, ["--method", "single-sine"] + args, text)
    sng = table(out)
    check(len(dbl) == 4 and len(sng) == 4, "row count")
    # before the gap and on the last day the double method has no next minimum: equals single
    for i in (1, 3):
        check(abs(float(dbl[i]["dd"]) - float(sng[i]["dd"])) <= 1e-6,
              f"row {i}: double {dbl[i]['dd']} vs single {sng[i]['dd']}")
    # with a next minimum it differs (14 > 12 makes the second half warmer)
    check(float(dbl[0]["dd"]) > float(sng[0]["dd"]), "row 0: the next minimum is used")
    check(abs(float(dbl[3]["cum_dd"]) - sum(float(r["dd"]) for r in dbl)) <= 4e-6, "cum_dd")


def mode_odd_bytes(binary):
    text = ("date,tmin,tmax\n"
            "2020-05-01,10,20\n"               # 2
            "2020-05-02,10\0junk,20\n"         # 3: a NUL byte in "tmin"
            "2020-05-03,x,20\n"                # 4: must still be read, and reported
            "2020-05-04,10," + "2" * 1100 + "\n"  # 5
            "2020-05-05,10,20\n")              # 6: good
    want = [
        "stdin:3: a NUL byte at column 14; not a text line",
        'stdin:4: column "tmin": must be a number, got "x"',
        "stdin:5: line longer than 1022 bytes",
        "stdin: 3 bad lines, nothing computed",
    ]
    args = ["--method", "average", "--cutoff", "horizontal", "--lower", "10", "--upper", "30"]
    check_rejected(binary, args, text, want)


def mode_usage(binary):
    cases = [
        ([], "are required"),
        (["--method", "sine", "--cutoff", "horizontal", "--lower", "10", "--upper", "30"],
         'unknown method "sine"'),
        (["--method", "average", "--cutoff", "flat", "--lower", "10", "--upper", "30"],
         'unknown cutoff "flat"'),
        (["--method", "average", "--cutoff", "vertical", "--lower", "30", "--upper", "10"],
         "must be below --upper"),
        (["--method", "average", "--cutoff", "vertical", "--lower", "1O", "--upper", "30"],
         '--lower: must be a number'),
        (["--method", "average", "--cutoff", "vertical", "--lower", "10", "--upper", "30",
          "--units", "K"], "--units: must be C or F"),
        (["--method", "average", "--cutoff", "vertical", "--lower", "10", "--upper"],
         "--upper needs a value"),
        (["--method", "average", "--bogus", "1"], 'unknown argument "--bogus"'),
    ]
    for args, msg in cases:
        rc, out, err = run(binary, args, "date,tmin,tmax\n")
        check(rc == 2, f"{args}: exit {rc}, expected 2")
        check(msg in err, f"{args}: stderr lacks {msg!r}: {err}")
    # The cutoff defaults to horizontal, as in the config: the simple average needs none.
    day = "date,tmin,tmax\n2020-07-01,20,44\n"
    outs = {}
    for cut in ([], ["--cutoff", "horizontal"], ["--cutoff", "vertical"]):
        rc, out, err = run(binary, ["--method", "average", "--lower", "10", "--upper", "30"] + cut,
                           day)
        check(rc == 0 and err == "", f"average {cut}: exit {rc}: {err}")
        outs[" ".join(cut)] = out
    check(outs[""] == outs["--cutoff horizontal"] and ",20.000000," in outs[""],
          f"average without --cutoff: {outs}")
    # above the upper threshold all day, the vertical cutoff counts nothing: the cutoff matters
    check(",0.000000," in outs["--cutoff vertical"], f"average, vertical: {outs}")
    rc, out, err = run(binary, ["--help"], "")
    check(rc == 0 and out.startswith("usage: forestwatch degday"), "--help")
    # no upper threshold is allowed and means every cutoff is the same
    outs = []
    for c in CUTOFFS:
        rc, out, err = run(binary, ["--method", "single-triangle", "--cutoff", c, "--lower", "10",
                                    "--upper", "none"], "date,tmin,tmax\n2020-07-01,20,40\n")
        check(rc == 0, f"--upper none: exit {rc}: {err}")
        outs.append(out)
    check(outs[0] == outs[1] == outs[2] and ",20.000000," in outs[0], f"--upper none: {outs}")


def main():
    mode, binary = sys.argv[1], sys.argv[2]
    if mode == "reference":
        mode_reference(binary, sys.argv[3])
    elif mode == "bad_rows":
        mode_bad_rows(binary)
    elif mode == "gap":
        mode_gap(binary)
    elif mode == "usage":
        mode_usage(binary)
    elif mode == "odd_bytes":
        mode_odd_bytes(binary)
    else:
        sys.exit(f"unknown mode {mode}")
    for f in failures[:30]:
        print("FAIL:", f)
    if failures:
        print(f"{len(failures)} failures")
        sys.exit(1)
    print("ok", mode)


if __name__ == "__main__":
    main()
