#!/usr/bin/env bash
# Builds the hy3-workbench wheel from a finished build: `cmake --install` lays the executables,
# resources and desktop files out as the wheel's hy3_workbench package wants them (each executable's
# RPATH: $ORIGIN/../lib, and for those that use LibTorch $ORIGIN/../../torch/lib, the torch package
# beside it in site-packages), the shared libraries they need beyond glibc, libstdc++, LibTorch and
# Qt are copied into lib/, and make_wheel.py zips it with its RECORD.
#   packaging/wheel/build-wheel.sh [BUILD_DIR [OUT_DIR]]     (defaults: build, dist)
# Prints the wheel's path last.
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir=${1:-build}
out_dir=${2:-dist}
python=${HY3_PYTHON:-.venv/bin/python}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cmake --install "$build_dir" --prefix "$stage" --strip >/dev/null

# The direct dependencies of the executables that a user's machine may lack: everything but glibc,
# the compiler's runtime, LibTorch (the torch package) and Qt with its graphics stack (the system's).
keep_system='^(libc|libm|libdl|librt|libpthread|ld-linux-x86-64|libstdc\+\+|libgcc_s|libgomp|libtorch[a-z_]*|libc10[a-z_]*|libQt6[A-Za-z]*|libGL[A-Za-z]*|libOpenGL|libEGL)\.so'
mkdir -p "$stage/lib"
known=$(ldconfig -p)
for exe in "$stage"/bin/*; do
  readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r lib; do
    [[ $lib =~ $keep_system ]] && continue
    [ -e "$stage/lib/$lib" ] && continue
    path=$(awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}' <<<"$known")
    [ -n "$path" ] || { echo "build-wheel: $exe needs $lib, which ldconfig does not know" >&2; exit 1; }
    cp -L "$path" "$stage/lib/$lib"
  done
done

version=$(sed -n 's/^project(hy3 VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
torch=$(sed -n 's/^torch==\([0-9]*\.[0-9]*\)\..*/torch==\1.*/p' requirements.in)
"$python" packaging/wheel/make_wheel.py "$stage" "$out_dir" "$version" "${torch:?requirements.in pins no torch}"
