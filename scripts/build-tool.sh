#!/usr/bin/env bash
# Builds one command-line tool the tests, the demo and the docs use, from Go modules, once, into a
# cache outside the work tree keyed by its version, the Go version and the hash of its module
# files (testplane/tools/<tool>/). Re-running it with the tool cached only checks that it exists.
#
#   scripts/build-tool.sh kubectl    kubectl v1.36.3 (k8s.io/kubectl, the test plane's Kubernetes version)
#   scripts/build-tool.sh helm       helm v4.3.1 (helm.sh/helm/v4)
#
#   KONSUMERATOR_CACHE   cache root (default ~/.cache/konsumerator)
#
# Prints the binary's path on its last line. Separate from scripts/build-testplane.sh so that a
# change here never rebuilds the control plane, and so that each tool is built only when asked.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/ensure-system-packages.sh"
tool=${1:?usage: build-tool.sh kubectl|helm}
case "$tool" in
  kubectl)
    version=v1.36.3
    package=.
    minor=${version#v1.}; minor=${minor%%.*}
    ldflags=""
    # kubectl reports its client version from client-go; component-base's is the one in logs.
    for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
      ldflags+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
      ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=2026-01-01T00:00:00Z"
    done
    ;;
  helm)
    version=v4.3.1
    package=helm.sh/helm/v4/cmd/helm
    ldflags="-X helm.sh/helm/v4/internal/version.version=$version"
    ;;
  *) echo "build-tool.sh: unknown tool $tool (kubectl or helm)" >&2; exit 2 ;;
esac
module_dir="$here/testplane/tools/$tool"
cache_root=${KONSUMERATOR_CACHE:-$HOME/.cache/konsumerator}
go_version=$(go env GOVERSION)
mod_hash=$(cat "$module_dir"/go.mod "$module_dir"/go.sum "$module_dir"/*.go | sha256sum | cut -c1-12)
out="$cache_root/$tool-$version-$go_version-$mod_hash"
mkdir -p "$out/bin"
# Several test runs (or worktrees) may ask at once: one builds, the others wait for it.
exec 9>"$out/.lock"
flock 9
if [ ! -x "$out/bin/$tool" ]; then
  echo "building $tool $version into $out (cold: a few minutes on 2 cores, see docs/testplane.md)" >&2
  start=$(date +%s)
  (cd "$module_dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod /usr/bin/time -v \
    go build -p 2 -trimpath -ldflags "-s -w $ldflags" -o "$out/bin/$tool.tmp" "$package") 2> "$out/build-time.txt" \
    || { tail -40 "$out/build-time.txt" >&2; exit 1; }
  mv "$out/bin/$tool.tmp" "$out/bin/$tool"
  echo "$tool built in $(( $(date +%s) - start ))s" >&2
fi
echo "$out/bin/$tool"
