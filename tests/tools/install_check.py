#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# `cmake --install` into a scratch DESTDIR puts every part in its place: the programs, the
# systemd unit with its hardening and Type=notify watchdog, and the default config (rules and
# device profiles included), which the installed daemon accepts. systemd-analyze, when present,
# verifies the unit and must say nothing about it.
# Usage: install_check.py BUILD_DIR

import os
import re
import shutil
import subprocess
import sys
import tempfile


def fail(msg):
    print("install_check: FAIL: %s" % msg)
    sys.exit(1)


def main(build):
    with tempfile.TemporaryDirectory(prefix="fw-install-") as dest:
        env = dict(os.environ, DESTDIR=dest)
        r = subprocess.run(["cmake", "--install", build], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            fail("cmake --install: %s" % r.stderr)
        unit_src = open(os.path.join(build, "forestwatchd.service")).read()
        bindir = re.search(r"^ExecStart=(\S+)/forestwatchd ", unit_src, re.M)
        confdir = re.search(r"-c (\S+)/forestwatch\.json$", unit_src, re.M)
        if not bindir or not confdir:
            fail("the unit has no ExecStart=<bindir>/forestwatchd ... -c <confdir>/forestwatch.json")
        bindir, confdir = bindir.group(1), confdir.group(1)
        root = lambda p: dest + p  # noqa: E731
        units = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs
                 if f == "forestwatchd.service"]
        if len(units) != 1:
            fail("expected one installed forestwatchd.service, found %s" % units)
        for p in (bindir + "/forestwatchd", bindir + "/forestwatch"):
            if not os.access(root(p), os.X_OK):
                fail("%s is not installed (executable)" % p)
        for p in ("forestwatch.json", "rules.d/fire.json", "rules.d/danger.json",
                  "profiles/renke-th.json"):
            if not os.path.isfile(root(confdir + "/" + p)):
                fail("%s/%s is not installed" % (confdir, p))
        unit = open(units[0]).read()
        for line in ("Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict",
                     "DynamicUser=yes", "StateDirectory=forestwatch", "ExecReload=/bin/kill -HUP $MAINPID"):
            if line not in unit.split("\n"):
                fail("the unit lacks %r" % line)
        if not re.search(r"^WatchdogSec=[1-9]", unit, re.M):
            fail("the unit has no watchdog")

        # The installed daemon accepts the installed default config.
        r = subprocess.run([root(bindir + "/forestwatchd"), "-t", "-c",
                            root(confdir + "/forestwatch.json")], capture_output=True, text=True)
        if r.returncode != 0 or "configuration OK" not in r.stdout + r.stderr:
            fail("the installed config is refused: %s%s" % (r.stdout, r.stderr))

        analyze = shutil.which("systemd-analyze")
        if analyze:
            # Point the unit at the installed files, then let systemd read it.
            local = unit.replace(bindir + "/", root(bindir) + "/").replace(confdir + "/",
                                                                         root(confdir) + "/")
            path = os.path.join(dest, "forestwatchd.service")
            with open(path, "w") as f:
                f.write(local)
            r = subprocess.run([analyze, "verify", path], capture_output=True, text=True)
            out = (r.stdout + r.stderr).strip()
            if r.returncode != 0 or out:
                fail("systemd-analyze verify: %s" % out)
            print("install_check: systemd-analyze verify: clean")
        else:
            print("install_check: systemd-analyze not installed: unit syntax not verified")
    print("install_check: PASS")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__ or "usage: install_check.py BUILD_DIR")
        sys.exit(2)
    main(sys.argv[1])
