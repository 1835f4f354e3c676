#!/usr/bin/env bash
# Configures (once) and builds the project in build/ with Ninja, ccache and the precompiled engine
# header. Usage: scripts/build.sh [TARGET...]   (no target: everything, tests included)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${HY3_BUILD_DIR:-build}
jobs=${HY3_JOBS:-$(nproc)}
# ccache must ignore the PCH's timestamps to hit on a fresh clone of the same sources, and see paths
# relative to the checkout (its .venv's LibTorch headers included) to hit from a clone elsewhere.
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${HY3_CMAKE_ARGS:-}
fi
if [ $# -gt 0 ]; then
  targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
else
  cmake --build "$build_dir" -j "$jobs"
fi
