#!/usr/bin/env bash
# CPU speed of two builds of hy3 side by side, in alternating pairs on the same machine (A, B, A,
# B, ...), so that a slow spell of a shared machine hits both: `bench model` (forward+backward) and
# `bench train` (whole AdamW steps) on the two CPU presets, one thread, fp32, sequence 256. For a
# change of LibTorch, a compiler or a kernel. A benchmark: it prints what it measured (each pair and
# the median ratio B/A of step times), and asserts nothing.
#   scripts/bench-cpu-pairs.sh HY3_A HY3_B [PAIRS]     e.g. old/app/hy3 build/app/hy3 3
set -euo pipefail
a=${1:?usage: bench-cpu-pairs.sh HY3_A HY3_B [PAIRS]}
b=${2:?usage: bench-cpu-pairs.sh HY3_A HY3_B [PAIRS]}
pairs=${3:-3}
python=$(dirname "$0")/../.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() {  # BINARY PRESET KIND -> the step time in ms (forward+backward, or a whole step)
  local hy3=$1 preset=$2 kind=$3
  if [ "$kind" = model ]; then
    "$hy3" bench model --preset "$preset" --seq-len 256 --batch 4 --threads 1 --json > "$work/out.json"
    "$python" -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["forward_backward_ms"], 1))' "$work/out.json"
  else
    "$hy3" bench train --preset "$preset" --seq-len 256 --micro-batch 4 --steps 5 --threads 1 --json > "$work/out.json"
    "$python" -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["step_ms"], 1))' "$work/out.json"
  fi
}

echo "A: $a"
echo "B: $b"
printf '%-16s %-6s %s\n' preset bench "ms per pair (A / B) ... median B/A"
for preset in hy3-cpu-256 hy3-cpu-128x64; do
  for kind in model train; do
    line="" ratios=()
    for _ in $(seq "$pairs"); do
      ta=$(measure "$a" "$preset" "$kind")
      tb=$(measure "$b" "$preset" "$kind")
      line+="$ta / $tb  "
      ratios+=("$("$python" -c "print($tb / $ta)")")
    done
    median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
    printf '%-16s %-6s %s ... %.3f\n' "$preset" "$kind" "$line" "$median"
  done
done
