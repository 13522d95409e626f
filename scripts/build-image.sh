#!/usr/bin/env bash
# Builds the aimock image (the Dockerfile at the checkout's root) with whichever builder this
# machine has: docker, podman or buildah (AIMOCK_IMAGE_BUILDERS overrides the list, in order).
#   scripts/build-image.sh TAG [EXTRA_TAG...]
#   scripts/build-image.sh --which      (prints the builder it would use; exit 1 when none)
# The tag is the chart's appVersion (`make image` passes it), so `helm install` finds the image
# under the name its default values give once it is loaded into the cluster (docs/operator.md).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 TAG [EXTRA_TAG...]" >&2; exit 2; }
cd "$(dirname "$0")/.."
builder=""
silent=""  # installed, but not answering (a docker client without its daemon)
for candidate in ${AIMOCK_IMAGE_BUILDERS:-docker podman buildah}; do
  command -v "$candidate" >/dev/null || continue
  if "$candidate" info >/dev/null 2>&1; then builder=$candidate; break; fi
  silent="$silent $candidate"
done
if [ "$1" = "--which" ]; then
  [ -n "$builder" ] && echo "$builder"
  [ -n "$builder" ]; exit
fi
if [ -z "$builder" ]; then
  [ -n "$silent" ] && echo "note:$silent installed but not working ('<builder> info' fails: is its daemon running?)" >&2
  cat >&2 <<MESSAGE
error: no image builder found (looked for: ${AIMOCK_IMAGE_BUILDERS:-docker podman buildah}).
Install one of them, e.g. Docker Engine, or on Debian/Ubuntu: sudo apt-get install podman
(or buildah), then run make image again. The image is what the Helm chart installs: see
docs/operator.md, "The image".
MESSAGE
  exit 1
fi
tags=()
for tag in "$@"; do tags+=(--tag "$tag"); done
echo "building $* with $builder" >&2
case "$builder" in
  buildah) exec buildah bud --layers "${tags[@]}" --file Dockerfile . ;;
  *) exec "$builder" build "${tags[@]}" --file Dockerfile . ;;
esac
