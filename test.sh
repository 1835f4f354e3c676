#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test with CTest. The last line is
# CTest's summary; the exit status is non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh
# The JavaScript reference implementations the parity tests compare against (pinned versions).
if [ ! -d tests/reference/node_modules ] || [ tests/reference/package-lock.json -nt tests/reference/node_modules ]; then
  npm ci --prefix tests/reference --no-audit --no-fund --loglevel=error
fi
./scripts/build.sh
cd build
exec ctest --output-on-failure -j "${HY3_TEST_JOBS:-2}"
