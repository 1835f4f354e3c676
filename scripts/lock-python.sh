#!/usr/bin/env bash
# Regenerates requirements.lock from requirements.in (and requirements-automodel.lock from
# requirements-automodel.in): every package pinned to one version with the
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
# AutoModel's environment: exactly the packages listed (their dependencies come from .venv).
"$tools/bin/uv" pip compile --generate-hashes --no-deps --custom-compile-command scripts/lock-python.sh --python-version 3.11 \
  --python-platform x86_64-manylinux_2_28 "$@" requirements-automodel.in -o requirements-automodel.lock
echo "lock-python: requirements.lock and requirements-automodel.lock written; scripts/install-deps.sh installs them"
