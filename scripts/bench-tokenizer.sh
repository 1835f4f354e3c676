#!/usr/bin/env bash
# Tokenizer speed against HF's JavaScript tokenizer (@huggingface/tokenizers under Node.js, pinned in
# tests/reference) on the same corpus and passes, one thread each. A benchmark: it prints what it
# measured, and asserts nothing.
#   scripts/bench-tokenizer.sh [TOKENIZER_DIR [CORPUS.jsonl [REPEATS]]]
# Defaults: the Qwen3 tokenizer of the reference package, a generated varied corpus, 3 passes.
set -euo pipefail
cd "$(dirname "$0")/.."
hy3=${HY3_CLI:-build/app/hy3}
reference=tests/reference/reference.mjs
[ -x "$hy3" ] || { echo "bench-tokenizer: $hy3 not built (run ./scripts/build.sh hy3)" >&2; exit 2; }
[ -d tests/reference/node_modules ] || npm ci --prefix tests/reference --no-audit --no-fund --loglevel=error

tokenizer=${1:-$(node "$reference" qwen3-dir)}
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
node "$reference" bench "$tokenizer" "$corpus" "$repeats" > "$work/reference.json"
node -e '
  const engine = JSON.parse(require("fs").readFileSync(process.argv[1])), ref = JSON.parse(require("fs").readFileSync(process.argv[2]));
  console.log(`tokenizer   ${engine.tokenizer}`);
  console.log(`corpus      ${engine.corpus}: ${engine.lines} lines, ${(engine.bytes / 1e6).toFixed(2)} MB, ${engine.repeats} passes`);
  console.log(`engine      ${engine.engine_mb_per_s.toFixed(2)} MB/s (one thread)`);
  console.log(`reference   ${ref.mb_per_s.toFixed(2)} MB/s (@huggingface/tokenizers, Node.js)`);
  console.log(`speed-up    ${(engine.engine_mb_per_s / ref.mb_per_s).toFixed(1)}x`);
' "$work/engine.json" "$work/reference.json"
