#!/usr/bin/env bash
# Installs alpaca-sony into .venv beside this checkout (PEP 668: never into the system Python):
# Debian's libusb and python3-venv first (with sudo when not root), then this package.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    libusb-1.0-0 python3-venv >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet .
echo "installed: .venv/bin/alpaca-sony"
