#!/bin/sh
# SPDX-License-Identifier: MIT
# The whole test suite: install what is missing, then
#   1. build with warnings as errors (build/) and run ctest;
#   2. build with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/) and run ctest again;
#   3. fuzz each libFuzzer target briefly (FUZZ_SECONDS each, default 15) and print its run count.
# Extra arguments go to both ctest runs (for example: -L unit, -R integration.e2e).
# FW_TEST_QUICK=1 runs step 1 only, for a quick check while editing.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
jobs=$(nproc)

echo "test.sh: build/ (-Werror)"
cmake -S . -B build -DFW_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs" "$@"
[ "${FW_TEST_QUICK:-0}" = 1 ] && exit 0

echo "test.sh: build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-asan -DFW_WERROR=ON -DFW_SANITIZE="address;undefined" >/dev/null
cmake --build build-asan -j "$jobs" >/dev/null
# detect_leaks: the daemon's clean exit is leak-checked here as well as under valgrind.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" "$@"

echo "test.sh: fuzzing each target for ${FUZZ_SECONDS:-15}s"
FUZZ_SECONDS=${FUZZ_SECONDS:-15} sh scripts/fuzz.sh
