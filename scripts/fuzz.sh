#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (AddressSanitizer, UndefinedBehaviorSanitizer, libFuzzer)
# and runs each for SECONDS (default 60) on its seed corpus in tests/fuzz/corpus/NAME; new inputs
# go to build-fuzz/corpus/NAME, findings (crash-*, leak-*, timeout-*) to build-fuzz/findings/NAME.
# Usage: scripts/fuzz.sh [SECONDS]
# Harnesses so far: jinja (chat template parse and render). Needs clang-14 and libutf8proc-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=build-fuzz
mkdir -p "$out"
clang=${CLANGXX:-clang++-14}
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -Iengine)

build_jinja() {
  "$clang" "${flags[@]}" tests/fuzz/jinja_fuzz.cpp engine/data/jinja/*.cpp engine/data/utf8.cpp -lutf8proc -o "$out/jinja_fuzz"
}

status=0
for name in jinja; do
  "build_$name"
  mkdir -p "$out/corpus/$name" "$out/findings/$name"
  echo "== $name: ${seconds}s"
  if ! "$out/${name}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      -artifact_prefix="$out/findings/$name/" "$out/corpus/$name" "tests/fuzz/corpus/$name" 2>&1 | tail -n 3; then
    status=1
  fi
  [ -z "$(ls -A "$out/findings/$name")" ] || status=1
done
exit $status
