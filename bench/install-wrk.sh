#!/usr/bin/env bash
# wrk, the benchmark's load generator, from the distribution's packages (Debian: wrk), plus
# taskset (util-linux) that pins servers and wrk to their cores. Nothing to do when both are
# installed. AIMock itself is installed from npm by the benchmark (tests/peers.py).
set -euo pipefail
if command -v wrk >/dev/null && command -v taskset >/dev/null; then
  exit 0
fi
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing wrk and util-linux (make bench)" >&2
export DEBIAN_FRONTEND=noninteractive
run apt-get update -q >/dev/null
run apt-get install -y -q --no-install-recommends wrk util-linux >/dev/null
