#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The forestwatch demo, all on loopback: a private mosquitto on a free port, forestwatchd with a
# copy of config/ pointed at it, the field-node simulator with a smoke plume at one node after a
# few rounds, the Modbus sensor simulator (a weather station, and a smoke sensor whose fire starts
# after 15 s), and a "duty officer's screen" that prints one short line for each alert the bureaus
# receive (tests/integration/fwtest.py officer_line). Runs for DEMO_SECONDS (default 40) or until
# Ctrl-C, then stops every process it started. Everything it writes goes to a temp dir, which is
# removed at the end (set DEMO_KEEP=1 to keep it).
#
# Environment: BUILD_DIR (default build), DEMO_SECONDS, DEMO_INTERVAL_MS (default 1000),
# DEMO_SPIKE_AFTER (rounds before the plume, default 5), DEMO_LANG (the screen's language, en-US
# or zh-CN, default en-US), DEMO_KEEP.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$src/build}
seconds=${DEMO_SECONDS:-40}
interval=${DEMO_INTERVAL_MS:-1000}
spike=${DEMO_SPIKE_AFTER:-5}
lang=${DEMO_LANG:-en-US}
case $lang in
en-US | zh-CN) ;;
*)
    printf 'demo: DEMO_LANG must be en-US or zh-CN, got "%s"\n' "$lang" >&2
    exit 2
    ;;
esac
helper="$src/tests/integration/fwtest.py"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# A fresh machine gets its packages first; mosquitto often lives in sbin, which is not on an
# ordinary user's PATH.
sh "$src/scripts/deps.sh"
PATH=$PATH:/usr/sbin:/usr/local/sbin

# Always build: an up-to-date tree costs a second, a stale binary would show old behaviour.
say "building into $build"
cmake -S "$src" -B "$build" >/dev/null
cmake --build "$build" -j2 >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fw-demo.XXXXXX")
pids=""

cleanup() {
    trap - EXIT INT TERM
    # Newest first: the simulator, the daemon (its "offline" and last alerts still reach the
    # broker), the screen, then the broker.
    for pid in $pids; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "${DEMO_KEEP:-}" ]; then
        say "logs kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. Broker.
port=$(python3 "$helper" free-port)
cat >"$tmp/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
EOF
mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
broker=$!
pids="$broker"
n=0
until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.5)" \
        2>/dev/null; do
    n=$((n + 1))
    [ $n -lt 100 ] || die "mosquitto did not start (see $tmp/mosquitto.log)"
    kill -0 "$broker" 2>/dev/null || die "mosquitto exited: $(cat "$tmp/mosquitto.log")"
    sleep 0.1
done
say "mosquitto on 127.0.0.1:$port"

# 2. The duty officers' screen: one line per alert, from both bureaus' topics: the bureau, whether
# it holds (!!) or ended (ok), the reading's local time with its offset, what the message is, the
# headline, the value against its threshold and whom to call.
# A fifo rather than a pipe, so both ends are processes we know by pid and can stop.
mkfifo "$tmp/alerts.fifo"
python3 -u -B -c '
import binascii, sys
sys.path.insert(0, sys.argv[1])
import fwtest  # reads a CAP alert (XML or JSON) as the tests do
for line in sys.stdin:
    topic, _, hexed = line.rstrip("\n").partition(" ")
    payload = binascii.unhexlify(hexed).decode("utf-8", "replace")
    bureau = topic.split("/")[1] if topic.count("/") == 2 else topic
    try:
        print("%-9s %s" % (bureau, fwtest.officer_line(fwtest.Message(topic, payload.encode(),
                                                                      False, 1).json, sys.argv[2])))
    except Exception as e:
        print("%-9s ?? %s (%s)" % (bureau, payload[:200], e))
' "$src/tests/integration" "$lang" <"$tmp/alerts.fifo" &
pids="$! $pids"
mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -t 'bureau/+/alerts' -F '%t %x' >"$tmp/alerts.fifo" &
pids="$! $pids"

# 3. Modbus sensors: a CWT-UWD weather station in grid 3 and an (example) smoke sensor in grid 7
# whose fire scenario starts after 15 s, polled by the gateway over Modbus TCP.
"$build/fw-modbus-sim" --scenario fire --fire-after 15 --tcp 127.0.0.1:0 \
    --unit "1:$src/config/profiles/cwt-uwd.json" \
    --unit "2:$src/config/profiles/example-smoke.json" </dev/null >"$tmp/modbus-sim.out" \
    2>"$tmp/modbus-sim.log" &
pids="$! $pids"
n=0
until grep -q ready "$tmp/modbus-sim.out" 2>/dev/null; do
    n=$((n + 1))
    [ $n -lt 100 ] || die "fw-modbus-sim did not start (see $tmp/modbus-sim.log)"
    sleep 0.1
done
modbus_port=$(sed -n 's/^tcp .*:\([0-9]*\)$/\1/p' "$tmp/modbus-sim.out")
say "Modbus sensors on 127.0.0.1:$modbus_port (weather station in grid 3, smoke sensor in grid 7)"

# 4. The gateway.
python3 "$helper" mkconfig --port "$port" --out "$tmp/config" >/dev/null
console_port=$(python3 "$helper" free-port)
python3 -B - "$tmp/config/forestwatch.json" "$modbus_port" "$src/config/profiles" "$console_port" <<'PY'
import json, sys
path, port, profiles = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cfg = json.load(open(path))
cfg["profiles_dir"] = profiles
cfg["console"] = {"port": int(sys.argv[4])}  # on loopback (docs/console.md)
cfg["buses"] = {"sim": {"kind": "tcp", "host": "127.0.0.1", "port": port}}
cfg["devices"] = {
    "bs03-wx-modbus": {"bus": "sim", "unit_id": 1, "profile": "cwt-uwd", "zone": "bs-03",
                       "interval_ms": 2000},
    "bs07-smoke-modbus": {"bus": "sim", "unit_id": 2, "profile": "example-smoke",
                          "zone": "bs-07", "interval_ms": 1000},
}
json.dump(cfg, open(path, "w"), ensure_ascii=False, indent=1)
PY
"$build/forestwatchd" -c "$tmp/config/forestwatch.json" -v info 2>"$tmp/forestwatchd.log" &
daemon=$!
pids="$daemon $pids"
status_topic=$(python3 -B -c "
import sys; sys.path.insert(0, sys.argv[1]); import fwtest
print(fwtest.load_json_file(sys.argv[2])['gateway']['status_topic'])
" "$src/tests/integration" "$tmp/config/forestwatch.json")
if ! mosquitto_sub -h 127.0.0.1 -p "$port" -t "$status_topic" -C 1 -W 10 2>/dev/null |
        grep -q online; then
    cat "$tmp/forestwatchd.log" >&2
    die "forestwatchd did not come online"
fi
say "forestwatchd online (log: $tmp/forestwatchd.log)"
say "console: http://127.0.0.1:$console_port/ (metrics: http://127.0.0.1:$console_port/metrics)"

# 5. The meteorology bureau's forecast for grid 3: hot, dry and windy today and tomorrow (local
#    dates at +08:00, the zone's standard time). The gateway derives tomorrow's expected
#    fire-danger level from it: the danger_tomorrow alert, urgency Expected.
today=$(date -u -d '+8 hours' +%F)
tomorrow=$(date -u -d '+32 hours' +%F)
forecast() {
    printf '{"zone": "bs-03", "date": "%s", "air_temp_c": %s, "rel_humidity_pct": %s, ' "$1" "$2" "$3"
    printf '"wind_speed_ms": %s, "rain_mm": 0}' "$4"
}
mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t meteo/beishan/forecast -m \
    "{\"type\": \"forecast\", \"issued\": $(date +%s), \"forecasts\": [$(forecast "$today" 31 18 9), $(forecast "$tomorrow" 34 12 12)]}"
say "meteorology bureau: forecast for grid 3 ($today, $tomorrow): hot, dry, windy"

# 6. The field nodes, with a smoke plume at bs03-smoke-01 after $spike rounds.
say "field nodes reporting every ${interval} ms; smoke plume at bs03-smoke-01 after $spike rounds"
say "running for $seconds s (Ctrl-C to stop)"
"$build/fw-fieldsim" -h 127.0.0.1 -p "$port" -i "$interval" --spike-after "$spike" \
    >"$tmp/fieldsim.log" 2>&1 &
pids="$! $pids"

# Sleep in short steps so Ctrl-C is handled at once and a dead daemon ends the demo.
end=$(($(date +%s) + seconds))
while [ "$(date +%s)" -lt "$end" ]; do
    if ! kill -0 "$daemon" 2>/dev/null; then
        tail -n 20 "$tmp/forestwatchd.log" >&2
        die "forestwatchd exited"
    fi
    sleep 1
done
say "demo over"
