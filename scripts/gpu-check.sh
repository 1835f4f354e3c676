#!/usr/bin/env bash
# The GPU path, proven on a machine with one NVIDIA GPU in one call (about 8 minutes on an H100 or
# H200 with 16 cores). That machine has PyTorch 2.11 (CUDA 13.0), nvcc, a C++ compiler, CMake and
# Ninja, but no Qt, no -dev packages and no network: run scripts/gpu-deps.sh here first, which
# puts the Debian packages, the Python wheels and the fixture into .gpu-deps/ (carried with the
# tree). This script unpacks them with `dpkg -x` into a prefix of its own (never into /) and:
#   1. builds hy3 (engine and CLI, no GUI, no tests) with every core against the machine's PyTorch;
#   2. hy3 info: the GPUs, the driver, NCCL;
#   3. hy3 forward on cuda, fp32 and bf16, against the fixture's expected outputs and against
#      transformers' Hy3 on the same GPU, and the packed row in bf16 (the flash varlen kernel);
#   4. trains the bundled project 200 steps on cuda against the committed CPU curve
#      (tests/reference/default-project-cpu-curve.json, 1e-3 relative at steps 50, 100, 200);
#   5. hy3 launch --nproc-per-node 1: a checkpoint, SIGTERM, and a resume that repeats the
#      uninterrupted run's losses (1e-5 relative: CUDA's atomic adds are not bit-reproducible); one
#      rank forms no process group, so this proves the launcher, signals and resume on a GPU, not NCCL;
#   6. Hy3's real width (Hy3-preview's sizes, bf16, sequence 4096): forward+backward of 1 dense + 4
#      MoE layers, and whole steps with AdamW of 1 dense + 1 MoE layer, in tokens/s and MFU against
#      a bf16 matmul timed in the same run.
# It prints a table last, and writes gpu-check.json and gpu-check.log to $OUT when set (else to
# build-gpu/). Exit status: 0 when every check passed.
# Usage (on the GPU machine, from the repository root): scripts/gpu-check.sh
# A rehearsal of the script's own logic on a machine without a GPU: HY3_CHECK_DEVICE=cpu
# HY3_CHECK_HY3=build/app/hy3 scripts/gpu-check.sh (no build, the same checks on the CPU, no benchmarks).
set -uo pipefail
cd "$(dirname "$0")/.."

root=$PWD
build=${HY3_GPU_BUILD_DIR:-build-gpu}
out=${OUT:-$build}
mkdir -p "$build" "$out"
log=$out/gpu-check.log
report=$out/gpu-check.json
exec > >(tee "$log") 2>&1
started=$(date +%s)
say() { echo "gpu-check [$(( $(date +%s) - started ))s] $*"; }

deps=.gpu-deps
[ -d "$deps" ] || { echo "gpu-check: $deps is missing: run scripts/gpu-deps.sh on the build machine first"; exit 2; }
python=${HY3_PYTHON:-python3}
device=${HY3_CHECK_DEVICE:-cuda}
fixture=$deps/fixtures/hy3-tiny

# --- the prefix: Debian's -dev packages, the shared libraries they name, pkgconf ------------------
prefix=/tmp/hy3-gpu-deps
rm -rf "$prefix" && mkdir -p "$prefix"
for deb in "$deps"/*.deb; do dpkg -x "$deb" "$prefix"; done
lib=$prefix/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PKG_CONFIG_PATH=$lib/pkgconfig:$prefix/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$prefix  # the .pc files say /usr: read them as $prefix/usr
site=/tmp/hy3-gpu-site
rm -rf "$site"
"$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$deps"/wheels/*.whl \
  || say "the carried wheels did not install; the transformers check will say why"

checks='{}'
record() {  # record NAME JSON; a helper that crashed (no JSON) is recorded as a failure, not lost
  checks=$("$python" -c '
import json, sys
c = json.loads(sys.argv[1])
try: c[sys.argv[2]] = json.loads(sys.argv[3])
except ValueError: c[sys.argv[2]] = {"ok": False, "error": "its comparison printed no result (see the log)"}
print(json.dumps(c))' "$checks" "$1" "$2")
}
finish() {
  "$python" - "$report" "$checks" <<'PY'
import json, subprocess, sys, datetime
def sh(cmd):
    try: return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return ""
report = {"commit": sh("git rev-parse --short HEAD") or "unknown", "date": datetime.date.today().isoformat(),
          "device": sh("nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1") or "unknown",
          "checks": json.loads(sys.argv[2])}
json.dump(report, open(sys.argv[1], "w"), indent=2)
PY
  "$python" scripts/gpu_check.py table "$report"
  # A check skipped for a stated reason (the step benchmark on a GPU too small for it) is no failure.
  "$python" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if all(c.get("ok") or c.get("skipped") for c in r["checks"].values()) else 1)' "$report"
}

# --- 1. build -------------------------------------------------------------------------------------
if [ -n "${HY3_CHECK_HY3:-}" ]; then
  hy3=$(realpath "$HY3_CHECK_HY3")
  say "rehearsal on $device with $hy3 (no build)"
else
say "building hy3 in $build with $(nproc) jobs"
cuda_compiler=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHY3_BUILD_GUI=OFF -DHY3_BUILD_TESTS=OFF \
     -DHY3_PYTHON="$(command -v "$python")" -DCMAKE_CUDA_COMPILER="$cuda_compiler" \
     -DCMAKE_PREFIX_PATH="$prefix/usr" -DOPENSSL_ROOT_DIR="$prefix/usr" \
     -DPKG_CONFIG_EXECUTABLE="$prefix/usr/bin/pkgconf" > "$out/configure.log" 2>&1 &&
   cmake --build "$build" -j "$(nproc)" --target hy3 > "$out/build.log" 2>&1; then
  record build '{"ok": true}'
else
  tail -30 "$out/configure.log" "$out/build.log" 2>/dev/null
  record build '{"ok": false}'
  finish
  exit 1
fi
hy3=$root/$build/app/hy3
[ -x "$hy3" ] || hy3=$(find "$root/$build" -name hy3 -type f -perm -u+x | head -1)
say "built $hy3"
fi

# --- 2. hy3 info ----------------------------------------------------------------------------------
"$hy3" info | tee "$out/info.txt"
if { [ "$device" = cpu ] || grep -q "^GPU 0" "$out/info.txt"; } && grep -q "nccl yes" "$out/info.txt"; then
  record info '{"ok": true}'
else
  record info '{"ok": false}'
fi

# --- 3. forward against the fixture and transformers ---------------------------------------------
for dtype in fp32 bf16; do
  say "hy3 forward --device $device --dtype $dtype"
  if "$hy3" forward --model "$fixture/checkpoint" --input "$fixture/case_batch.safetensors" --output "$build/forward-$dtype.safetensors" \
       --device "$device" --dtype "$dtype"; then
    result=$(PYTHONPATH=$site "$python" scripts/gpu_check.py forward "$build/forward-$dtype.safetensors" "$fixture" "$dtype" --hf "$device") \
      || result='{"ok": false, "error": "the comparison failed"}'
    result=$("$python" -c 'import json,sys; r=json.loads(sys.argv[1]); r["ok"]=bool(r.get("expected_ok")) and bool(r.get("hf_ok")); print(json.dumps(r))' "$result")
    record "forward_$dtype" "$result"
  else
    record "forward_$dtype" '{"ok": false}'
  fi
done

say "hy3 forward --device $device --dtype bf16 on the packed row (the flash varlen kernel)"
if "$hy3" forward --model "$fixture/checkpoint" --input "$fixture/case_packed.safetensors" --output "$build/forward-packed.safetensors" \
     --device "$device" --dtype bf16; then
  result=$("$python" scripts/gpu_check.py packed "$build/forward-packed.safetensors" "$fixture" bf16) || result='{"packed_ok": false}'
  record forward_packed_bf16 "$("$python" -c 'import json,sys; r=json.loads(sys.argv[1]); r["ok"]=r.pop("packed_ok"); print(json.dumps(r))' "$result")"
else
  record forward_packed_bf16 '{"ok": false}'
fi

# --- 4. 200 steps of the bundled project against the CPU curve ------------------------------------
project=resources/projects/default/default.hy3proj
say "hy3 train $project on $device, 200 steps"
rm -rf "$build/train-cuda"
if "$hy3" train "$project" --output "$build/train-cuda" --max-steps 200 --events jsonl --set "training.device=\"$device\"" \
     > "$build/train-cuda.jsonl"; then
  record train_curve "$("$python" scripts/gpu_check.py curve "$build/train-cuda.jsonl" tests/reference/default-project-cpu-curve.json)"
else
  record train_curve '{"ok": false}'
fi

# --- 5. hy3 launch: checkpoint, SIGTERM, resume -------------------------------------------------
say "hy3 launch --nproc-per-node 1: SIGTERM after step 30, then resume"
rm -rf "$build/launch" "$build/launch-whole"
run=(--max-steps 60 --events jsonl --set "training.device=\"$device\"" --set 'training.checkpoint_every=20')
common=(train "$project" --output "$build/launch" "${run[@]}")
release=$build/launch-release
rm -f "$release"
HY3_TEST_HOLD_AFTER_STEP=30:$release "$hy3" launch --nproc-per-node 1 -- "${common[@]}" > "$build/launch-a.jsonl" &
pid=$!
for _ in $(seq 600); do grep -q '"step":30,' "$build/launch-a.jsonl" 2>/dev/null && break; sleep 0.2; done
kill -TERM "$pid"
touch "$release"
wait "$pid"
first=$?
"$hy3" launch --nproc-per-node 1 -- "${common[@]}" --resume latest > "$build/launch-b.jsonl"
second=$?
"$hy3" train "$project" --output "$build/launch-whole" "${run[@]}" > "$build/launch-whole.jsonl"
record launch_resume "$("$python" - "$build" "$first" "$second" <<'PY'
import json, sys
build, first, second = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def steps(name):
    out = {}
    for line in open(f"{build}/{name}"):
        if line.startswith("{"):
            e = json.loads(line)
            if e.get("event") == "step": out[e["step"]] = e["loss"]
            if e.get("event") == "end": out["end"] = e.get("status")
    return out
a, b, whole = steps("launch-a.jsonl"), steps("launch-b.jsonl"), steps("launch-whole.jsonl")
stopped = max([k for k in a if k != "end"], default=0)
joined = {k: v for k, v in a.items() if k != "end"}
joined.update({k: v for k, v in b.items() if k != "end"})
# CUDA's atomic adds (index_add, SDPA's backward) are not bit-reproducible run to run, so the resume
# is held to 1e-5 relative rather than bit equality; the CPU rehearsal gives 0.
steps = [k for k in whole if k != "end"]
complete = len(steps) == 60 and all(k in joined and joined[k] is not None and whole[k] is not None for k in steps)
worst = max((abs(joined[k] - whole[k]) / abs(whole[k]) for k in steps), default=None) if complete else None
print(json.dumps({"ok": first == 0 and second == 0 and a.get("end") == "stopped" and 0 < stopped < 60 and worst is not None and worst <= 1e-5,
                  "stopped_at": stopped, "max_loss_rel_diff_vs_uninterrupted": worst}))
PY
)"

# --- 6. Hy3's real width --------------------------------------------------------------------------
if [ "$device" = cpu ]; then say "rehearsal: no benchmarks"; finish; exit; fi
say "bench model: Hy3-preview sizes, 1 dense + 4 MoE layers, bf16, sequence 4096"
if "$hy3" bench model --preset hy3-preview --layers 5 --device "$device" --dtype bf16 --seq-len 4096 --batch 1 --warmup 2 \
     --iterations 5 --json > "$build/bench-model.json"; then
  record bench_forward_backward "$("$python" -c 'import json,sys; b=json.load(open(sys.argv[1])); print(json.dumps({"ok": True, "tokens_per_s": b["tokens_per_s"], "mfu": b["mfu"], "forward_ms": b["forward_ms"], "forward_backward_ms": b["forward_backward_ms"], "peak_tflops": b["peak_flops_per_s"]/1e12, **{k.replace(" ", "_") + "_ms": v for k, v in b["time_split"]["phases_ms"].items() if v > 0}}))' "$build/bench-model.json")"
else
  record bench_forward_backward '{"ok": false}'
fi
say "bench train: Hy3-preview sizes, 1 dense + 1 MoE layer, bf16, sequence 4096, AdamW"
memory_mib=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -1)
if [ "${memory_mib:-0}" -lt 100000 ]; then
  # 4.8 billion parameters at 18 bytes each (bf16 weights, fp32 gradients, master weights and moments)
  record bench_train_step "{\"ok\": false, \"skipped\": \"needs about 87 GB for weights, gradients and AdamW state; this GPU has ${memory_mib:-?} MiB\"}"
elif "$hy3" bench train --preset hy3-preview --layers 2 --device "$device" --dtype bf16 --seq-len 4096 --micro-batch 1 --warmup 2 \
     --steps 5 --json > "$build/bench-train.json"; then
  record bench_train_step "$("$python" -c 'import json,sys; b=json.load(open(sys.argv[1])); print(json.dumps({"ok": True, "tokens_per_s": b["tokens_per_s"], "mfu": b["mfu"], "step_ms": b["step_ms"], "update_ms": b["update_ms"], "peak_tflops": b["peak_flops_per_s"]/1e12, **{k.replace(" ", "_") + "_ms": v for k, v in b["time_split"]["phases_ms"].items() if v > 0}}))' "$build/bench-train.json")"
else
  record bench_train_step '{"ok": false}'
fi

say "done"
finish
