#!/bin/sh
# SPDX-License-Identifier: MIT
# The whole test suite: install what is missing, build with warnings as errors, run ctest.
# Extra arguments go to ctest (for example: -L unit, -R integration.e2e).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
cmake -S . -B build -DFW_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
