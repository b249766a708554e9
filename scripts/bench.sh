#!/bin/sh
# SPDX-License-Identifier: MIT
# Every benchmark, in one run, printing figures (never pass/fail): builds a plain optimised
# build in build-bench/ (no sanitizers), then runs the rule engine, outbox and Modbus poll
# benchmarks and the whole-gateway benchmark on loopback with a real mosquitto. The figures and
# the method are in docs/BENCHMARKS.md and docs/bench.md. BENCH_JSON=file also writes the
# gateway figures as JSON, and BENCH_PLOT=file.png plots latency against load from them
# (python3-matplotlib). BENCH_NO_PEER=1 skips Node-RED.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
build=build-bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); $(date -u +%Y-%m-%d)"
echo "== rule engine (docs/bench.md)"
"$build/tests/bench/bench_rules"
echo "== outbox"
"$build/tests/bench/bench_outbox"
echo "== Modbus polling"
"$build/tests/bench/bench_modbus_poll" --sim "$build/fw-modbus-sim" \
    --profile config/profiles/renke-th.json
# The peer: Node-RED from the npm registry, installed once into build-bench/node-red.
red=""
if [ "${BENCH_NO_PEER:-0}" != 1 ]; then
    command -v npm >/dev/null 2>&1 || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo;
        $sudo apt-get install -y -qq --no-install-recommends nodejs npm; }
    if [ ! -f "$build/node-red/node_modules/node-red/red.js" ]; then
        mkdir -p "$build/node-red"
        (cd "$build/node-red" && npm install --no-audit --no-fund --silent node-red@4)
    fi
    red="$build/node-red/node_modules/node-red/red.js"
fi
echo "== the whole gateway, and the same pipeline in Node-RED (docs/BENCHMARKS.md)"
FW_BUILD_DIR=$build FW_SOURCE_DIR=. python3 tests/bench/bench_gateway.py \
    ${BENCH_JSON:+--json "$BENCH_JSON"} ${red:+--node-red "$red"}
if [ -n "${BENCH_JSON:-}" ] && [ -n "${BENCH_PLOT:-}" ]; then
    /usr/bin/python3 tests/bench/plot_latency.py "$BENCH_JSON" "$BENCH_PLOT"
fi
