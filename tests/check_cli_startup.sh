#!/usr/bin/env bash
# hy3 runs its torch-free commands without loading LibTorch and hands every other command to
# hy3-torch in the same process: checks the libraries hy3 needs, that a torch-free command runs,
# and that a handed-over command keeps its arguments, output and exit status.
set -euo pipefail
bin=${1:?usage: check_cli_startup.sh BUILD_APP_DIR}
fail() { echo "check_cli_startup: $*"; exit 1; }

needed=$(readelf -d "$bin/hy3" | grep NEEDED || true)
grep -qE "libtorch|libc10" <<<"$needed" && fail "hy3 links LibTorch: $needed"

ids=$("$bin/hy3" tokenize --tokenizer "$(dirname "$0")/../resources/tokenizers/hy3-byte" --text "hi")
[ -n "$ids" ] || fail "hy3 tokenize printed nothing"

# A torch command through hy3: its own usage error and status 2.
set +e
out=$("$bin/hy3" forward --input x.safetensors 2>&1); status=$?
set -e
[ "$status" = 2 ] || fail "hy3 forward without --model exited $status (expected 2): $out"
grep -q -- "--model" <<<"$out" || fail "hy3 forward's error does not name --model: $out"
# The full help lists the torch commands too.
"$bin/hy3" --help | grep -q "forward" || fail "hy3 --help does not list forward"
echo "check_cli_startup: ok"
