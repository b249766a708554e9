#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# `forestwatch help` lists every command the tool has (label "tool"):
#
#   help_check.py BIN TOOL_C
#
# reads the commands `main` in TOOL_C (gateway/tool.c) dispatches on, and expects each to start
# a line of the help ("  NAME ..."), which exits 0; the help also answers to --help and -h, and
# an unknown command gets it on stderr with exit 2. Python 3 standard library only.
import re
import subprocess
import sys


def main(binary, tool_c):
    with open(tool_c, encoding="utf-8") as f:
        source = f.read()
    commands = [c for c in re.findall(r'strcmp\(cmd, "([^"]+)"\) == 0', source)
                if not c.startswith("-")]
    failures = []
    if len(commands) < 5:
        failures.append("found only %s in %s: has the dispatch changed shape?" % (commands,
                                                                                    tool_c))
    p = subprocess.run([binary, "help"], capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        failures.append("help: exit %d" % p.returncode)
    listed = set(re.findall(r"^  ([a-z][a-z-]*)", p.stdout, re.M))
    for c in commands:
        if c not in listed:
            failures.append("help does not list the command %r" % c)
    for flag in ("--help", "-h"):
        q = subprocess.run([binary, flag], capture_output=True, text=True, timeout=20)
        if q.returncode != 0 or q.stdout != p.stdout:
            failures.append("%s: exit %d, or not the help text" % (flag, q.returncode))
    q = subprocess.run([binary, "no-such-command"], capture_output=True, text=True, timeout=20)
    if q.returncode != 2 or 'unknown command "no-such-command"' not in q.stderr:
        failures.append("an unknown command: exit %d, stderr %r" % (q.returncode, q.stderr[:200]))
    for f in failures:
        print("FAIL:", f)
    print("commands: %s" % ", ".join(commands))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
