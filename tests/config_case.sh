#!/bin/sh
# SPDX-License-Identifier: MIT
# One config test case: run a checker on FILE from DIR and compare with the expectation.
#   config_case.sh DIR FILE GOLDEN CMD...   expects exit 1 and exactly the lines of GOLDEN
#   config_case.sh DIR FILE - CMD...        expects exit 0 and "configuration OK", after
#                                           nothing but "note: " lines
# CMD is the checker with its arguments before the file, e.g. "forestwatch check-config" or
# "forestwatchd -t -c".
dir=$1 file=$2 golden=$3
shift 3
cd "$dir" || exit 2
out=$("$@" "$file" 2>&1)
rc=$?
if [ "$golden" = "-" ]; then
    last=$(printf '%s\n' "$out" | tail -n 1)
    others=$(printf '%s\n' "$out" | sed '$d' | grep -v '^note: ')
    if [ $rc -eq 0 ] && [ "$last" = "configuration OK" ] && [ -z "$others" ]; then
        exit 0
    fi
    echo "expected exit 0 and \"configuration OK\", got exit $rc:"
    printf '%s\n' "$out"
    exit 1
fi
if [ $rc -ne 1 ]; then
    echo "expected exit 1, got $rc:"
    printf '%s\n' "$out"
    exit 1
fi
printf '%s\n' "$out" | diff -u "$golden" - || exit 1
