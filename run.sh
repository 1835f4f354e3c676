#!/usr/bin/env bash
# Installs what is missing, builds (Release) and opens the workbench on your copy of the bundled
# default project (~/hy3-workbench/default, copied on the first start; HY3_WORKBENCH_HOME moves it).
#   ./run.sh                      the workbench (needs a display; on a server: xvfb-run ./run.sh)
#   ./run.sh PROJECT.hy3proj      the workbench on another project
#   ./run.sh --headless ARGS...   the headless CLI instead: hy3 ARGS...
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh
if [ "${1:-}" = "--headless" ]; then
  shift
  HY3_CMAKE_ARGS=${HY3_CMAKE_ARGS:-} ./scripts/build.sh hy3 >&2
  exec build/app/hy3 "$@"
fi

./scripts/build.sh hy3 hy3-workbench
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-}" = "" ]; then
  echo "run.sh: no display found; run 'xvfb-run -a ./run.sh' or use './run.sh --headless ...'" >&2
  exit 1
fi
exec build/app/hy3-workbench "$@"
