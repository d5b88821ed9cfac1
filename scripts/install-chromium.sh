#!/usr/bin/env bash
# Installs Debian's chromium package for the web chat browser test (playwright-core drives it;
# no browser download from Playwright's CDN). Prints the executable's path.
set -euo pipefail
find_chromium() { command -v chromium || command -v chromium-browser || true; }
BIN=$(find_chromium)
if [ -z "$BIN" ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-core fonts-noto-color-emoji >&2
  BIN=$(find_chromium)
fi
[ -n "$BIN" ] || { echo "chromium could not be installed" >&2; exit 1; }
echo "$BIN"
