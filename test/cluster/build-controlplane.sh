#!/usr/bin/env bash
# Builds the test control plane binary (kube-apiserver, kube-controller-manager,
# kube-scheduler and an embedded etcd in one executable) from the Go module proxy.
# The binary is cached by Kubernetes version outside the repository:
#   ${VAN_CACHE_DIR:-~/.cache/vscode-skupper}/controlplane-<version>/vancp
# Idempotent: does nothing when the binary is already there (--force rebuilds). Prints its path last.
# Measured on 2 cores: ~7 min with an empty Go build cache (about 10.5 CPU-minutes).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
moddir="$here/go"
export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "build-controlplane: go not found (expected /usr/local/go/bin/go)" >&2; exit 1; }
version="$(awk '$1=="k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$moddir/go.mod")"
[ -n "$version" ] || { echo "build-controlplane: no k8s.io/kubernetes version in go.mod" >&2; exit 1; }
cache="${VAN_CACHE_DIR:-$HOME/.cache/vscode-skupper}"
out="$cache/controlplane-$version/vancp"
if [ -x "$out" ] && [ "${1:-}" != "--force" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$(dirname "$out")"
echo "build-controlplane: building Kubernetes $version control plane (the first build takes about 7-20 minutes)" >&2
start=$(date +%s)
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
minor="$(echo "$version" | cut -d. -f2)"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
# go.mod and go.sum are committed and tidy: -mod=readonly builds exactly what they pin. Go's build
# cache (go env GOCACHE) is kept, so a rebuild after a change here takes seconds.
# A progress line every 20 s, so a long first build never looks hung.
( while sleep 20; do
    echo "build-controlplane: still building ($(( $(date +%s) - start )) s so far; expect 7-20 min on 2 cores the first time)" >&2
  done ) &
ticker=$!
trap 'rm -f "$tmp"; kill "$ticker" 2>/dev/null || true' EXIT
( cd "$moddir" && go build -mod=readonly -trimpath -ldflags="$ldflags" -o "$tmp" . )
kill "$ticker" 2>/dev/null || true
mv -f "$tmp" "$out"
end=$(date +%s)
echo "build-controlplane: built $out in $((end - start)) s ($(du -h "$out" | cut -f1))" >&2
echo "$out"
