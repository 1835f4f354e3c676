#!/usr/bin/env bash
# The wheel as a user installs it: built from BUILD_DIR (packaging/wheel/build-wheel.sh), installed
# by pip into a fresh virtual environment (pip brings torch==2.11.* and its CUDA libraries, here
# from the wheel cache of scripts/install-deps.sh), then the installed `hy3` runs `info` and a
# 20-step `train` of the bundled project, with no LD_LIBRARY_PATH and no HY3_RESOURCES.
#   tests/check_wheel.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir=$(realpath "${1:?usage: check_wheel.sh BUILD_DIR SOURCE_DIR}")
source_dir=$(realpath "${2:?usage: check_wheel.sh BUILD_DIR SOURCE_DIR}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "wheel: $*"; exit 1; }

wheel=$("$source_dir/packaging/wheel/build-wheel.sh" "$build_dir" "$work/dist" | tail -1)
contents=$(unzip -Z1 "$wheel")
for f in hy3_workbench/bin/hy3 hy3_workbench/bin/hy3-torch hy3_workbench/bin/hy3-workbench \
         hy3_workbench/share/hy3/resources/presets/hy3-preview.json \
         hy3_workbench/share/hy3/resources/projects/default/default.hy3proj \
         hy3_workbench/share/applications/hy3-workbench.desktop hy3_workbench/share/man/man1/hy3.1; do
  grep -qx "$f" <<<"$contents" || fail "missing $f"
done
unzip -p "$wheel" '*.dist-info/METADATA' | grep -qx 'Requires-Dist: torch==2.11.\*' || fail "METADATA does not require torch==2.11.*"

/usr/bin/python3 -m venv "$work/venv"
# torch and its CUDA libraries come from the wheel cache scripts/install-deps.sh filled: no network.
wheels=${HY3_WHEEL_CACHE:-$HOME/.cache/hy3/wheels}
"$work/venv/bin/pip" install --disable-pip-version-check --quiet --no-index --find-links "$wheels" "$wheel"
hy3=$work/venv/bin/hy3
run() { env -u LD_LIBRARY_PATH -u HY3_RESOURCES -u HY3_CLI "$@"; }

info=$(run "$hy3" info)
grep -q "^LibTorch     2.11.0, CUDA 13.0 build, no GPU visible" <<<"$info" || fail "hy3 info said: $info"
# Every LibTorch library hy3-torch loads is the fresh environment's own.
package=$(echo "$work"/venv/lib/python3*/site-packages/hy3_workbench)
loaded=$(run ldd "$package/bin/hy3-torch")
torch_cpu=$(awk '$1 == "libtorch_cpu.so" {print $3}' <<<"$loaded")
[[ $(realpath "$torch_cpu") == "$work"/venv/lib/python3*/site-packages/torch/lib/libtorch_cpu.so ]] \
  || fail "hy3-torch does not load the environment's LibTorch: $loaded"
! grep -q "not found" <<<"$loaded" || fail "hy3-torch misses a library: $(grep 'not found' <<<"$loaded")"

# The bundled project, copied out of the installed package, trains 20 steps.
cp -r "$package/share/hy3/resources/projects/default" "$work/project"
events=$(cd "$work" && run "$hy3" train project/default.hy3proj --max-steps 20 --output "$work/runs" --events jsonl \
         --set training.eval_every=0 --set training.checkpoint_every=20)
last=$(tail -1 <<<"$events")
grep -q '"event":"end"' <<<"$last" && grep -q '"status":"finished"' <<<"$last" && grep -q '"step":20' <<<"$last" \
  || fail "the 20-step train ended with: $last"
echo "wheel: ok ($(basename "$wheel"), $(wc -l <<<"$contents") files; hy3 info and a 20-step train from a fresh environment)"
