#!/usr/bin/env bash
# Debian packages a make target needs, installed only when a command they provide is missing:
#   scripts/debian-packages.sh "COMMAND..." PACKAGE...
# e.g. Chromium and ChromeDriver for tests/browser (browser builds are never downloaded; the
# distribution's are used), wrk and taskset for the benchmark.
set -euo pipefail
commands=$1
shift
missing=0
for command in $commands; do
  command -v "$command" >/dev/null || missing=1
done
[ "$missing" = 0 ] && exit 0
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing $* (for: $commands)" >&2
export DEBIAN_FRONTEND=noninteractive
run apt-get update -q >/dev/null
run apt-get install -y -q --no-install-recommends "$@" >/dev/null
