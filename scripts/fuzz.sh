#!/bin/sh
# SPDX-License-Identifier: MIT
# Fuzz every libFuzzer target (tests/fuzz/fuzz_<name>.c) for FUZZ_SECONDS each (default 60),
# starting from its committed corpus and dictionary, and fail if any target crashes, leaks or
# times out. Builds with clang, -DFW_BUILD_FUZZERS=ON and ASan+UBSan in FUZZ_BUILD_DIR (default
# build-fuzz). New inputs go to a scratch folder, not to the committed corpus; a crasher is kept
# in FUZZ_OUT (default $FUZZ_BUILD_DIR/fuzz-out) with the command that minimises it. Too slow for
# every commit: CI runs it on a schedule. Arguments: target names (default: all), e.g. `rules`.
set -eu
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD_DIR:-build-fuzz}
out=${FUZZ_OUT:-$build/fuzz-out}

cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DFW_BUILD_FUZZERS=ON \
    -DFW_SANITIZE="address;undefined" >/dev/null
if [ $# -eq 0 ]; then
    set -- $(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||')
fi
for name in "$@"; do
    cmake --build "$build" -j "$(nproc)" --target "fuzz_$name" >/dev/null
done

failed=""
for name in "$@"; do
    corpus=tests/fuzz/corpus/$name
    work=$out/$name/new
    arts=$out/$name/artifacts
    rm -rf "$work"
    mkdir -p "$work" "$arts"
    dict=""
    [ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
    echo "fuzz.sh: fuzz_$name for ${seconds}s over $corpus"
    # -max_len lets inputs grow to the targets' caps (8 KiB of rule text, large configs).
    if "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -max_len=16384 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$arts/" $dict \
        "$work" "$corpus" >"$out/$name/log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^Done' "$out/$name/log" || true
    else
        echo "fuzz.sh: fuzz_$name FAILED; the last lines of $out/$name/log:"
        tail -n 40 "$out/$name/log"
        for a in "$arts"/*; do
            [ -e "$a" ] || continue
            echo "fuzz.sh: crasher $a; minimise with:"
            echo "  $build/tests/fuzz/fuzz_$name -minimize_crash=1 -runs=100000 $a"
        done
        failed="$failed $name"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz.sh: crashes in:$failed"
    exit 1
fi
echo "fuzz.sh: no crash in $seconds s per target"
