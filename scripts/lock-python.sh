#!/usr/bin/env bash
# Regenerates requirements.lock from requirements.in: every package pinned to one version with the
# sha256 of each file PyPI serves for it, for CPython 3.11 on x86_64 Linux (Debian 12's Python).
# Uses uv from a throwaway environment; the project's .venv is left alone (install-deps.sh installs
# the new lock). Usage: scripts/lock-python.sh [--upgrade]
set -euo pipefail
cd "$(dirname "$0")/.."

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install --quiet --disable-pip-version-check uv
"$tools/bin/uv" pip compile --generate-hashes --custom-compile-command scripts/lock-python.sh --python-version 3.11 \
  --python-platform x86_64-manylinux_2_28 "$@" requirements.in -o requirements.lock
echo "lock-python: requirements.lock written; scripts/install-deps.sh installs it into .venv"
