#!/usr/bin/env bash
# Installs the Debian packages the workbench needs, and only those that are missing, then the
# project's Python environment (.venv) from requirements.lock.
# Idempotent: a second run installs nothing and does not touch apt's lists or PyPI.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  qt6-base-dev libqcustomplot-dev libgl-dev
  nlohmann-json3-dev libsqlite3-dev libcli11-dev libpcre2-dev libutf8proc-dev libssl-dev
  libgloo-dev  # headers only: LibTorch's ProcessGroupGloo.hpp includes Gloo's; the code is in libtorch_cpu
  unzip        # tests/check_wheel.sh looks inside the wheel
  xvfb xauth imagemagick
  clang-14 libclang-rt-14-dev
  python3-venv
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
else
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Python environment, on Debian's own Python (never into it: into .venv). Reinstalled only when
# requirements.lock changed since the last install (a copy of it is kept in .venv as the stamp).
# The wheels are downloaded once into a wheel cache outside the checkout (~/.cache/hy3/wheels, or
# HY3_WHEEL_CACHE), which pip download reuses file by file (pip's own HTTP cache does not keep them
# here), then installed from there alone. --require-hashes: every file must match the lock's sha256.
venv=.venv
wheels=${HY3_WHEEL_CACHE:-$HOME/.cache/hy3/wheels}
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv "$venv"
fi
if cmp -s requirements.lock "$venv/requirements.lock.installed"; then
  echo "install-deps: .venv matches requirements.lock"
else
  echo "install-deps: downloading what requirements.lock needs into $wheels (the first time about 2.7 GB: torch and its CUDA libraries)"
  mkdir -p "$wheels"
  "$venv/bin/pip" download --disable-pip-version-check --require-hashes --only-binary :all: \
    --progress-bar on --dest "$wheels" -r requirements.lock
  echo "install-deps: installing requirements.lock into .venv from $wheels"
  "$venv/bin/pip" install --disable-pip-version-check --require-hashes --only-binary :all: \
    --no-index --find-links "$wheels" -r requirements.lock
  cp requirements.lock "$venv/requirements.lock.installed"
fi

# NeMo AutoModel's environment (.venv-automodel): the two packages of requirements-automodel.lock,
# without their dependencies, over .venv's packages (a .pth file puts .venv's site-packages after
# its own, so its transformers 5.18.0 shadows .venv's). The reference tests run AutoModel's Hy3 here.
automodel=.venv-automodel
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ ! -x "$automodel/bin/python" ]; then
  /usr/bin/python3 -m venv "$automodel"
fi
if cmp -s requirements-automodel.lock "$automodel/requirements.lock.installed"; then
  echo "install-deps: .venv-automodel matches requirements-automodel.lock"
else
  echo "install-deps: installing requirements-automodel.lock into .venv-automodel"
  "$automodel/bin/pip" download --disable-pip-version-check --require-hashes --no-deps --only-binary :all: \
    --progress-bar on --dest "$wheels" -r requirements-automodel.lock
  "$automodel/bin/pip" install --disable-pip-version-check --require-hashes --no-deps --only-binary :all: \
    --no-index --find-links "$wheels" -r requirements-automodel.lock
  cp requirements-automodel.lock "$automodel/requirements.lock.installed"
fi
echo "$(cd "$site" && pwd)" > "$("$automodel/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/zz_hy3_venv.pth"
