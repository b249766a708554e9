#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# MQTT over TLS with credentials kept out of the config, against a real mosquitto whose TLS
# listener requires a client certificate and a user name and password (docs/mqtt.md, "TLS and
# credentials"). The test makes its own CA, a server certificate for 127.0.0.1 and localhost, a
# client certificate, and a second, unrelated CA, with the openssl command line. The field
# broker stays plain; the two bureau routes go to the TLS broker through two brokers of the
# config: one with its password in a file and the server checked by address, one with its
# password in an environment variable and the server checked by name (server_name). An alert
# must arrive on both. Two more brokers point at the same listener and must never get in: one
# trusts the unrelated CA, one expects another server name. The daemon stays up, keeps
# retrying them, and says why. No password appears in the daemon's log or in check-config's
# output.

import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from fwtest import assert_alert, check, fail, is_alert  # noqa: E402

FORESTRY_PASSWORD = "forestry-pw-7f3a9c1e"
EMERGENCY_PASSWORD = "emergency-pw-52d8b0aa"
WATCHER_PASSWORD = "watcher-pw-0c6e44d1"
PASSWORD_VAR = "FW_TEST_EMERGENCY_PASSWORD"


def openssl(workdir, *args):
    res = subprocess.run(["openssl"] + list(args), cwd=workdir, capture_output=True, text=True,
                         timeout=fwtest.HANG_GUARD_S)
    if res.returncode != 0:
        fail("openssl %s failed: %s" % (" ".join(args), res.stderr.strip()[-800:]))


def make_ca(workdir, name):
    """A self-signed CA: NAME.pem and NAME.key in workdir."""
    openssl(workdir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
            "-subj", "/O=forestwatch tests/CN=%s" % name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def make_cert(workdir, ca, name, serial, extensions):
    """NAME.pem and NAME.key, issued by CA, with the given X.509v3 extension lines."""
    ext = os.path.join(workdir, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n" + "".join(e + "\n" for e in extensions))
    openssl(workdir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/O=forestwatch tests/CN=%s" % name)
    openssl(workdir, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey",
            ca + ".key", "-set_serial", str(serial), "-days", "2", "-out", name + ".pem",
            "-extfile", ext)


def make_passwords(workdir, users):
    """A mosquitto password file for users {name: password}, or None without mosquitto_passwd
    (the broker then takes anonymous clients and only the TLS side is tested)."""
    tool = shutil.which("mosquitto_passwd")
    if not tool and os.path.exists("/usr/bin/mosquitto_passwd"):
        tool = "/usr/bin/mosquitto_passwd"
    if not tool:
        fwtest.log("mosquitto_passwd not installed: the TLS broker takes anonymous clients")
        return None
    path = os.path.join(workdir, "mosquitto.passwd")
    first = True
    for user, password in users.items():
        res = subprocess.run([tool, "-b"] + (["-c"] if first else []) + [path, user, password],
                             capture_output=True, text=True, timeout=fwtest.HANG_GUARD_S)
        check(res.returncode == 0, "mosquitto_passwd failed: %s" % res.stderr.strip())
        first = False
    # The broker may drop to its own user before reading this file.
    os.chmod(path, 0o644)
    return path


def count_lines(daemon, regex):
    pat = re.compile(regex)
    return sum(1 for line in daemon.log_text().splitlines() if pat.search(line))


def wait_lines(env, daemon, regex, n, what):
    """Wait until at least n log lines match regex (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + daemon.guard
    while count_lines(daemon, regex) < n:
        env.assert_alive()
        if time.monotonic() > deadline:
            fail("daemon log: expected %d lines of %s (/%s/) within %.0f s"
                 % (n, what, regex, daemon.guard))
        time.sleep(0.05)


def test(env):
    # The broker's files live outside the daemon's config folder; the daemon's own copies are
    # placed beside its config and named by relative paths, which resolve against that folder.
    pki = os.path.join(env.workdir, "pki")
    os.makedirs(pki)
    make_ca(pki, "ca")
    make_ca(pki, "other-ca")
    make_cert(pki, "ca", "server", 1, ["subjectAltName=IP:127.0.0.1,DNS:localhost",
                                       "extendedKeyUsage=serverAuth"])
    make_cert(pki, "ca", "client", 2, ["extendedKeyUsage=clientAuth"])
    passwd = make_passwords(env.workdir, {"forestry": FORESTRY_PASSWORD,
                                          "emergency": EMERGENCY_PASSWORD,
                                          "watcher": WATCHER_PASSWORD})
    for name in os.listdir(pki):
        os.chmod(os.path.join(pki, name), 0o644)  # readable by the broker's user too
    os.chmod(pki, 0o755)
    os.chmod(env.workdir, 0o755)

    bureau = env.add_broker("tls-broker", tls={
        "cafile": os.path.join(pki, "ca.pem"), "certfile": os.path.join(pki, "server.pem"),
        "keyfile": os.path.join(pki, "server.key")}, password_file=passwd)
    bureau.client_args = ["--cafile", os.path.join(pki, "ca.pem"),
                          "--cert", os.path.join(pki, "client.pem"),
                          "--key", os.path.join(pki, "client.key"),
                          "-u", "watcher", "-P", WATCHER_PASSWORD]

    config_dir = os.path.dirname(env.config_path)
    tls_dir = os.path.join(config_dir, "tls")
    os.makedirs(tls_dir)
    for name in ("ca.pem", "other-ca.pem", "client.pem", "client.key"):
        shutil.copy(os.path.join(pki, name), tls_dir)
    os.makedirs(os.path.join(config_dir, "secrets"))
    with open(os.path.join(config_dir, "secrets", "forestry.password"), "w") as f:
        f.write(FORESTRY_PASSWORD + "\n")
    os.environ[PASSWORD_VAR] = EMERGENCY_PASSWORD

    client = {"cert_file": "tls/client.pem", "key_file": "tls/client.key"}
    cfg = fwtest.load_json_file(env.config_path)
    cfg["brokers"]["forestry"] = {
        "host": "127.0.0.1", "port": bureau.port, "username": "forestry",
        "password_file": "secrets/forestry.password",
        "tls": dict(client, ca_file="tls/ca.pem")}
    cfg["brokers"]["emergency"] = {
        "host": "127.0.0.1", "port": bureau.port, "username": "emergency",
        "password_env": PASSWORD_VAR,
        "tls": dict(client, ca_file="tls/ca.pem", server_name="localhost")}
    # Never connect: the server's certificate is not from the CA they trust, or does not name
    # the server they expect. Short delays, so they retry a few times within the test.
    for name, tls in (("untrusted", dict(client, ca_file="tls/other-ca.pem")),
                      ("misnamed", dict(client, ca_file="tls/ca.pem",
                                        server_name="bureau.example"))):
        cfg["brokers"][name] = {
            "host": "127.0.0.1", "port": bureau.port, "username": "forestry",
            "password_file": "secrets/forestry.password", "tls": tls,
            "reconnect_min_ms": 100, "reconnect_max_ms": 400}
    cfg["routes"]["forestry"]["broker"] = "forestry"
    cfg["routes"]["emergency"]["broker"] = "emergency"
    fwtest.write_json_file(env.config_path, cfg)

    # check-config resolves the files and reads both passwords, and prints none of them.
    res = subprocess.run([fwtest.binary("forestwatch"), "check-config", env.config_path],
                         capture_output=True, text=True, timeout=fwtest.HANG_GUARD_S)
    out = res.stdout + res.stderr
    notes = [ln for ln in res.stderr.splitlines() if not ln.startswith("note: ")]
    check(res.returncode == 0 and res.stdout.strip() == "configuration OK" and not notes,
          "check-config: expected \"configuration OK\", got %d: %s" % (res.returncode, out))

    forestry = env.subscribe(env.routes["forestry"]["topic"], "forestry", bureau)
    emergency = env.subscribe(env.routes["emergency"]["topic"], "emergency", bureau)
    daemon = env.start_daemon()

    # (a) and (b): both TLS links connect, with the password from the file and from the
    # environment, and an alert reaches the bureau topics through them.
    sent = env.send_reading("bs07-smoke-01", "smoke_ppm", 488.0)
    for sub in (forestry, emergency):
        alert = sub.expect_none_before(is_alert("firing", "smoke_high", "bs07-smoke-01"),
                                       what="smoke_high firing over TLS")
        assert_alert(alert, value=488.0, zone__id="bs-07", time=sent["time"])
    for name in ("forestry", "emergency"):
        check(count_lines(daemon, r'mqtt: broker "%s" .*: connected' % name) >= 1,
              "no \"connected\" line for broker %s" % name)
        # The broker let each in under its own user name (when it checks passwords at all).
        client_id = "forestwatch-%s-%s" % (env.gateway["id"], name)
        check(re.search(r"New client connected .* as %s \(.*u'%s'\)" % (re.escape(client_id), name),
                        bureau.log_text()) or not passwd,
              "the broker did not log %s connecting as user %s" % (client_id, name))

    # (c): the untrusted and misnamed links fail the handshake, say why, and keep retrying
    # with their backoff; the daemon stays up.
    wait_lines(env, daemon, r'mqtt: broker "untrusted" .*: connect: .*certificate verify failed',
               3, "untrusted's failed handshakes")
    wait_lines(env, daemon, r'mqtt: broker "misnamed" .*: connect: .*certificate verify failed'
               r'.*hostname mismatch', 3, "misnamed's failed handshakes")
    check(count_lines(daemon, r'mqtt: broker "untrusted" .*: retrying in') >= 2,
          "untrusted: no retries logged")
    env.assert_alive()
    for name in ("untrusted", "misnamed"):
        check(count_lines(daemon, r'mqtt: broker "%s" .*: connected' % name) == 0,
              "broker %s connected with a certificate it must not trust" % name)
        client_id = "forestwatch-%s-%s" % (env.gateway["id"], name)
        check(client_id not in bureau.log_text(),
              "the broker saw a client %s, which must not get past TLS" % client_id)
    # The reason is logged once at warning, the repeats at debug.
    check(count_lines(daemon, r'Z warning mqtt: broker "untrusted" .*: connect:') == 1,
          "untrusted: expected one warning for repeated identical failures:\n%s"
          % "\n".join(line for line in daemon.log_text().splitlines() if '"untrusted"' in line))

    # The alerts still flow on the good links while the bad ones keep failing.
    env.send_reading("bs03-smoke-01", "smoke_ppm", 377.0)
    for sub in (forestry, emergency):
        sub.expect_none_before(is_alert("firing", "smoke_high", "bs03-smoke-01"),
                               what="a second alert over TLS")

    daemon.stop()

    # (d): no password in the daemon's log (at debug level) or in check-config's output.
    text = daemon.log_text()
    for secret in (FORESTRY_PASSWORD, EMERGENCY_PASSWORD):
        check(secret not in text, "a password appears in the daemon's log")
        check(secret not in out, "a password appears in check-config's output")


if __name__ == "__main__":
    if not shutil.which("openssl"):
        print("%s: SKIP: openssl not installed" % os.path.basename(sys.argv[0]))
        sys.exit(fwtest.SKIP_EXIT)
    fwtest.run(test)
