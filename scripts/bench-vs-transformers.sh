#!/usr/bin/env bash
# hy3's model and training step beside transformers' Hy3 and a plain PyTorch AdamW step, on the same
# config, batch, sequence and threads, in one run on this machine (README "Speed beside
# transformers"). Usage: scripts/bench-vs-transformers.sh [HY3_BINARY] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
hy3=${1:-build/app/hy3}
threads=${2:-1}
python=.venv/bin/python
reference=tests/reference/hf_hy3.py
seq=256 batch=4 iterations=5
field() { "$python" -c 'import json,sys; print("%.1f" % json.loads(sys.stdin.read().strip().splitlines()[-1])[sys.argv[1]])' "$1"; }

printf '%-16s %-42s %12s %10s\n' preset implementation "fwd+bwd ms" "step ms"
for preset in hy3-cpu-256 hy3-cpu-128x64; do
  config=resources/presets/$preset.json
  model=$("$hy3" bench model --preset "$preset" --seq-len $seq --batch $batch --threads "$threads" --iterations $iterations --json)
  train=$("$hy3" bench train --preset "$preset" --seq-len $seq --micro-batch $batch --threads "$threads" --steps $iterations --json)
  printf '%-16s %-42s %12s %10s\n' "$preset" "hy3" "$(echo "$model" | tr -d '\n' | field forward_backward_ms)" \
    "$(echo "$train" | tr -d '\n' | field step_ms)"
  for impl in "eager eager" "sdpa grouped_mm"; do
    set -- $impl
    out=$("$python" "$reference" bench "$config" $seq $batch "$threads" $iterations "$1" "$2" 2>/dev/null)
    printf '%-16s %-42s %12s %10s\n' "$preset" "transformers ($1, $2) + AdamW" "$(echo "$out" | field forward_backward_ms)" \
      "$(echo "$out" | field step_ms)"
  done
done
