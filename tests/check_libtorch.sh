#!/usr/bin/env bash
# The LibTorch the build uses, checked on the built binaries:
#  - no binary of the build needs libcuda (the driver): every one starts on a machine without a GPU
#    or driver, as this one is;
#  - hy3-torch loads LibTorch from the project's torch package, and nothing it needs is missing;
#  - `hy3 info` names PyTorch 2.11's LibTorch, its CUDA 13.0 build, no GPU here, and NCCL in c10d.
#   tests/check_libtorch.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir=${1:?usage: check_libtorch.sh BUILD_DIR SOURCE_DIR}
source_dir=${2:?usage: check_libtorch.sh BUILD_DIR SOURCE_DIR}
fail() { echo "libtorch: $*"; exit 1; }

checked=0
while IFS= read -r exe; do
  head -c 4 "$exe" | grep -q $'\x7fELF' || continue
  needed=$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  ! grep -q '^libcuda\.so' <<<"$needed" || fail "$exe needs libcuda: $(grep '^libcuda' <<<"$needed")"
  checked=$((checked + 1))
done < <(find "$build_dir/app" "$build_dir/tests" -maxdepth 1 -type f -perm -u+x)
[ "$checked" -ge 3 ] || fail "found only $checked binaries in $build_dir"

torch_lib=$(realpath "$source_dir/.venv")/lib
loaded=$(ldd "$build_dir/app/hy3-torch")
! grep -q "not found" <<<"$loaded" || fail "hy3-torch misses a library: $(grep 'not found' <<<"$loaded")"
! grep -q "libcuda\.so" <<<"$loaded" || fail "hy3-torch loads libcuda: $(grep 'libcuda' <<<"$loaded")"
for lib in libtorch_cpu libtorch_cuda libc10 libc10_cuda; do
  grep -qE "$lib\.so => $torch_lib/python3\.[0-9]+/site-packages/torch/lib/(\./)?$lib\.so" <<<"$loaded" \
    || fail "hy3-torch does not load $lib from $torch_lib: $loaded"
done

info=$(env -u LD_LIBRARY_PATH "$build_dir/app/hy3" info)
grep -q "^LibTorch     2\.11\.0, CUDA 13\.0 build, no GPU visible$" <<<"$info" || fail "hy3 info said: $info"
grep -q "^c10d         gloo yes, nccl yes (NCCL 2\.28\.9)$" <<<"$info" || fail "hy3 info said: $info"
echo "libtorch: $checked binaries need no libcuda; hy3-torch loads the .venv's LibTorch; hy3 info: $(grep '^LibTorch' <<<"$info" | sed 's/  */ /')"
