#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages forestwatch needs to build, test and run its demo, if missing.
# Uses sudo when not run as root. Safe to run again: installed packages are skipped.
set -eu
pkgs="build-essential cmake pkg-config libuv1-dev libmosquitto-dev libcjson-dev mosquitto
mosquitto-clients python3 valgrind libsqlite3-dev libxml2-dev libxml2-utils libmodbus-dev clang
libssl-dev openssl libfaketime nats-server libmicrohttpd-dev python3-prometheus-client chromium
chromium-driver python3-selenium"
missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
