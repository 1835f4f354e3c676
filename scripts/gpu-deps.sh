#!/usr/bin/env bash
# Gathers, here, what scripts/gpu-check.sh needs on a GPU machine and that machine lacks (it has
# PyTorch 2.11 with CUDA 13.0 and Python 3.12, nvcc, a C++ compiler, CMake and Ninja, but no -dev
# packages and no network) into .gpu-deps/ (ignored by git, carried with the tree, about 35 MB):
#   *.deb      the Debian packages the build needs; gpu-check unpacks them with `dpkg -x` into a
#              prefix of its own, never into /
#   wheels/    transformers 5.25 and what it needs beyond the machine's packages, for Python 3.12
#              (the machine's transformers may predate Hy3), as in requirements.lock
#   fixtures/  ../shared/fixtures/hy3-tiny (../shared does not travel with the tree)
# Usage: scripts/gpu-deps.sh        (again: fetches only what is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

# Headers and CMake/pkg-config files (-dev), the shared libraries they point to, and pkgconf.
# No Qt: the GPU build is the engine and the CLI (HY3_BUILD_GUI=OFF, HY3_BUILD_TESTS=OFF).
packages=(
  nlohmann-json3-dev libcli11-dev libgloo-dev
  libsqlite3-dev libsqlite3-0
  libssl-dev libssl3
  libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3
  libutf8proc-dev libutf8proc2
  pkgconf pkgconf-bin libpkgconf3
)

dir=.gpu-deps
mkdir -p "$dir/wheels" "$dir/fixtures"
if [ ! -d "$dir/fixtures/hy3-tiny" ]; then
  cp -r ../shared/fixtures/hy3-tiny "$dir/fixtures/"
fi

# The versions requirements.lock pins; --no-deps: the machine has the rest (KINDS.md's list).
wheels=(transformers huggingface-hub tokenizers hf-xet httpx2 httpcore2 truststore regex kernels tomlkit)
for w in "${wheels[@]}"; do
  pin=$(grep -iE "^${w}==" requirements.lock | cut -d' ' -f1)
  [ -n "$pin" ] || { echo "gpu-deps: $w is not in requirements.lock"; exit 1; }
  file=$(echo "${pin%%==*}" | tr '-' '_')
  compgen -G "$dir/wheels/${file}-${pin##*==}-*.whl" > /dev/null && continue
  .venv/bin/pip download --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -q -d "$dir/wheels" "$pin"
done

missing=()
for p in "${packages[@]}"; do
  compgen -G "$dir/${p}_*.deb" > /dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "gpu-deps: downloading ${missing[*]}"
  (cd "$dir" && apt-get download "${missing[@]}")
fi
echo "gpu-deps: $(ls "$dir"/*.deb | wc -l) packages, $(ls "$dir"/wheels | wc -l) wheels, the fixture; $(du -sh "$dir" | cut -f1) in $dir"
