#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the browser tests (tests/browser): browser builds are
# not downloaded, the distribution's packages are. Nothing to do when both are installed.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing chromium and chromium-driver (browser tests)" >&2
export DEBIAN_FRONTEND=noninteractive
run apt-get update -q >/dev/null
run apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
