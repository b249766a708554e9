#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# SIGTERM and SIGINT stop the daemon cleanly: exit code 0 and a retained "offline" on the status
# topic. Under valgrind (when installed) a run that handled an alert must end with no memory
# errors and no definite or indirect leaks, which also shows that shutdown closes every handle.

import os
import shutil
import signal
import subprocess
import sys

# No __pycache__ in the source tree; the scripts are run from it.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import check, is_alert  # noqa: E402


def feed_alert(env, forestry, node, value):
    env.send_reading(node, "smoke_ppm", value)
    forestry.expect_none_before(is_alert("firing", "smoke_high", node, value),
                                timeout=fwtest.VALGRIND_GUARD_S,
                                what="smoke_high firing for %s" % node)
    env.send_reading(node, "smoke_ppm", 9.0)
    forestry.expect_none_before(is_alert("resolved", "smoke_high", node),
                                timeout=fwtest.VALGRIND_GUARD_S,
                                what="smoke_high resolved for %s" % node)


def test(env):
    forestry = env.route_subscriber("forestry")

    for sig in (signal.SIGTERM, signal.SIGINT):
        daemon = env.start_daemon()
        feed_alert(env, forestry, "bs03-smoke-01", 351.0)
        daemon.stop(sig, expect_code=0)
        status = env.retained_status()
        check(status == "offline", "after %s the retained status is %r, expected \"offline\""
              % (signal.Signals(sig).name, status))

    if not shutil.which("valgrind"):
        print("test_shutdown.py: note: valgrind not installed, leak check skipped")
        return
    san = fwtest.sanitizer_of(fwtest.binary("forestwatchd"))
    if san:
        print("test_shutdown.py: note: forestwatchd is built with the %s sanitizer, which "
              "checks it already; valgrind leak check skipped" % san)
        return
    daemon = env.start_daemon(valgrind=True)
    feed_alert(env, forestry, "bs07-smoke-01", 377.0)
    # Not daemon.stop(): exit code 99 is valgrind's verdict and deserves its own message.
    daemon.expected_exit = True
    daemon.proc.send_signal(signal.SIGTERM)
    try:
        code = daemon.proc.wait(timeout=fwtest.VALGRIND_GUARD_S)
    except subprocess.TimeoutExpired:
        daemon.proc.kill()
        daemon.proc.wait()
        fwtest.fail("daemon under valgrind did not exit within %.0f s of SIGTERM"
                    % fwtest.VALGRIND_GUARD_S)
    check(code != 99, "valgrind found memory errors or leaks (exit 99); see the valgrind log")
    check(code == 0, "daemon under valgrind exited with %d after SIGTERM" % code)
    check(env.retained_status() == "offline", "no retained offline after the valgrind run")


if __name__ == "__main__":
    fwtest.run(test)
