#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test with CTest. The last line is
# CTest's summary; the exit status is non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh
./scripts/build.sh
cd build
exec ctest --output-on-failure -j "${HY3_TEST_JOBS:-2}"
