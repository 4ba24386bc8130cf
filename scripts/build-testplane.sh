#!/usr/bin/env bash
# Builds the real Kubernetes components the tests and the demo run against, once, into a cache
# outside the work tree keyed by versions and by the hash of the Go module files. Re-running it
# with everything cached only checks that the outputs exist.
#
#   KONSUMERATOR_CACHE   cache root (default ~/.cache/konsumerator)
#
# Prints the bin directory on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/ensure-system-packages.sh"
K8S_VERSION=v1.36.3
KWOK_VERSION=v0.8.0
cache_root=${KONSUMERATOR_CACHE:-$HOME/.cache/konsumerator}
go_version=$(go env GOVERSION)
mod_hash=$(cat "$here/testplane/go/go.mod" "$here/testplane/go/go.sum" "$here/testplane/go/main.go" | sha256sum | cut -c1-12)
out="$cache_root/testplane-$K8S_VERSION-$go_version-$mod_hash"
mkdir -p "$out/bin"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
# Several test runs (or worktrees) may ask at once: one builds, the others wait for it.
exec 9>"$out/.lock"
flock 9

if [ ! -x "$out/bin/testplane" ]; then
  echo "building kube-apiserver/controller-manager/scheduler/etcd $K8S_VERSION into $out (cold: ~30 min on 2 cores)" >&2
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean \
    -X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z"
  start=$(date +%s)
  (cd "$here/testplane/go" && /usr/bin/time -v go build -p 2 -trimpath -ldflags "$ldflags" -o "$out/bin/testplane.tmp" . ) 2> "$out/build-time.txt" \
    || { tail -40 "$out/build-time.txt" >&2; exit 1; }
  mv "$out/bin/testplane.tmp" "$out/bin/testplane"
  echo "testplane built in $(( $(date +%s) - start ))s" >&2
fi
for n in kube-apiserver kube-controller-manager kube-scheduler etcd; do ln -sf testplane "$out/bin/$n"; done

if [ ! -x "$out/bin/kwok" ]; then
  echo "building kwok $KWOK_VERSION" >&2
  GOBIN="$out/bin" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi
if [ ! -s "$out/kwok-stages.yaml" ]; then
  kwok_dir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  for f in stage/node/fast/node-initialize.yaml stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           stage/pod/fast/pod-ready.yaml stage/pod/fast/pod-complete.yaml stage/pod/fast/pod-delete.yaml; do
    cat "$kwok_dir/kustomize/$f"; echo '---'
  done > "$out/kwok-stages.yaml.tmp"
  mv "$out/kwok-stages.yaml.tmp" "$out/kwok-stages.yaml"
fi
echo "$out/bin"
