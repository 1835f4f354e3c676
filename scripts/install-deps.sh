#!/usr/bin/env bash
# Installs the Debian packages the workbench needs, and only those that are missing.
# Idempotent: a second run installs nothing and does not touch apt's lists.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  qt6-base-dev libqcustomplot-dev libgl-dev
  libtorch-dev libopenblas0-openmp libgloo-dev
  nlohmann-json3-dev libsqlite3-dev libcli11-dev libpcre2-dev libutf8proc-dev libssl-dev
  xvfb xauth imagemagick
  clang-14 libclang-rt-14-dev
  nodejs npm
)

missing=()
for p in "${packages[@]}"; do
  # nodejs from another source provides npm itself; do not ask apt for npm then.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
