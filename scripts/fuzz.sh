#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz: clang 14 with AddressSanitizer and
# UndefinedBehaviorSanitizer) and runs each for SECONDS (default 60) on its committed seed corpus
# tests/fuzz/corpus/NAME. Inputs it finds interesting go to OUT/corpus/NAME and are reused by the
# next run; findings (crash-*, leak-*, timeout-*, oom-*) go to OUT/findings/NAME. One summary line
# per harness: seconds, executions, coverage, corpus size, findings. Exit 1 when anything was found.
# Usage: scripts/fuzz.sh [SECONDS [NAME...]]     OUT: $HY3_FUZZ_OUT, default build-fuzz
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
out=${HY3_FUZZ_OUT:-$root/build-fuzz}
clang=${CLANGXX:-clang++-14}
command -v "$clang" >/dev/null || { echo "fuzz: $clang not found (scripts/install-deps.sh installs clang-14)" >&2; exit 2; }

cmake -S "$root/tests/fuzz" -B "$out/build" -G Ninja -DCMAKE_CXX_COMPILER="$clang" >/dev/null
cmake --build "$out/build" -j "${HY3_FUZZ_BUILD_JOBS:-2}" >/dev/null || cmake --build "$out/build" -j 1

if [ $# -gt 0 ]; then
  names=("$@")
else
  read -r -a names <<<"$(sed -n 's/^  *\([a-z_ ]*\))$/\1/p' "$root/tests/fuzz/harnesses.cmake")"
fi

status=0
for name in "${names[@]}"; do
  mkdir -p "$out/corpus/$name" "$out/findings/$name"
  log="$out/$name.log"
  started=$(date +%s)
  # -timeout: one input may take 10 s at most (a hang is a finding; HY3_FUZZ_TIMEOUT on a loaded
  # machine, where the bounded but heavy seeds take longer); -rss_limit_mb: so is 2 GiB.
  "$out/build/${name}_fuzz" -max_total_time="$seconds" -timeout="${HY3_FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$out/findings/$name/" "$out/corpus/$name" "$root/tests/fuzz/corpus/$name" >"$log" 2>&1 || true
  elapsed=$(( $(date +%s) - started ))  # less than SECONDS when a finding stopped it
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)
  corpus=$(find "$out/corpus/$name" -type f | wc -l)
  # slow-unit-* files are the slowest inputs so far, kept for a look; not findings.
  findings=$(find "$out/findings/$name" -type f ! -name 'slow-unit-*' | wc -l)
  echo "fuzz: $name: ${elapsed}s, ${runs:-0} executions, coverage ${cov:-0}, corpus $corpus new inputs, findings $findings"
  if [ "$findings" -gt 0 ] || [ -z "$runs" ]; then
    status=1
    grep -m 3 -E 'ERROR|SUMMARY|terminate|deadly' "$log" || tail -n 5 "$log"
  fi
done
exit $status
