#!/usr/bin/env bash
# Builds the oldest kube-apiserver konsumerator supports (testplane/oldest-apiserver), once, into a
# cache outside the work tree keyed by its version, the Go version and the hash of its module
# files. The tests run it on the test plane's etcd to check the CRD's validation rules there.
# Separate from build-testplane.sh so that neither build's cache key depends on the other.
#
#   KONSUMERATOR_CACHE   cache root (default ~/.cache/konsumerator)
#
# Prints the path of the binary on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
K8S_VERSION=v1.34.4
cache_root=${KONSUMERATOR_CACHE:-$HOME/.cache/konsumerator}
go_version=$(go env GOVERSION)
src="$here/testplane/oldest-apiserver"
mod_hash=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)
out="$cache_root/oldest-apiserver-$K8S_VERSION-$go_version-$mod_hash"
mkdir -p "$out/bin"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
# Several test runs (or worktrees) may ask at once: one builds, the others wait for it.
exec 9>"$out/.lock"
flock 9

if [ ! -x "$out/bin/kube-apiserver" ]; then
  echo "building kube-apiserver $K8S_VERSION (the oldest supported) into $out" >&2
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean \
    -X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z"
  start=$(date +%s)
  (cd "$src" && /usr/bin/time -v go build -p 2 -trimpath -ldflags "$ldflags" -o "$out/bin/kube-apiserver.tmp" . ) 2> "$out/build-time.txt" \
    || { tail -40 "$out/build-time.txt" >&2; exit 1; }
  mv "$out/bin/kube-apiserver.tmp" "$out/bin/kube-apiserver"
  echo "kube-apiserver $K8S_VERSION built in $(( $(date +%s) - start ))s" >&2
fi
echo "$out/bin/kube-apiserver"
