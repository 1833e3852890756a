#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine (or in CI as root):
# libusb and umockdev with its GObject introspection (for the tests that run the real libusb
# against the simulated camera), chromium and chromium-driver (the setup page's real-browser
# test), then this package with its test extra into .venv beside the checkout (PEP 668: never
# into the system Python).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    libusb-1.0-0 umockdev libumockdev0 gir1.2-umockdev-1.0 python3-gi python3-venv iproute2 \
    util-linux chromium chromium-driver >/dev/null
else
  echo "setup-machine.sh: no apt-get here; install libusb-1.0, umockdev, gir1.2-umockdev-1.0, python3-gi, chromium and chromedriver yourself" >&2
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
