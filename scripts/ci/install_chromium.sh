#!/usr/bin/env bash
# Install headless Chromium (Debian package `chromium`) for tests/test_browser.py, which renders the
# HTML report to a PNG. Safe to run again: it does nothing when chromium is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    echo "install_chromium: $(chromium --version 2>/dev/null | head -1) already installed"
    exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
echo "install_chromium: $(chromium --version 2>/dev/null | head -1)"
