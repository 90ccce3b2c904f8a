#!/usr/bin/env bash
# build.sh builds the pinned Kubernetes components (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kubectl) from the Go module proxy into a cache directory keyed by version, so that later runs are warm.
# Usage: hack/cluster/build.sh   (prints the bin directory on its last line)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

version=$(k8s_version)
bin=$(k8s_bin_dir)
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

missing=()
for c in "${components[@]}"; do
  [ -x "$bin/$c" ] || missing+=("$c")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || die "go is not on PATH: install Go 1.26 or newer (https://go.dev/dl) and retry"
mkdir -p "$bin"
major=${version#v}; major=${major%%.*}
minor=${version#v*.}; minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
for c in "${missing[@]}"; do
  log "building $c $version (cold builds take a few minutes each)"
  # Build into a temporary name so an interrupted build never leaves a half-written binary in the cache.
  (cd "$here/k8s" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/.$c.tmp" "k8s.io/kubernetes/cmd/$c") ||
    die "building $c failed: see the go output above; check that the Go module proxy is reachable (go env GOPROXY)"
  mv "$bin/.$c.tmp" "$bin/$c"
done
echo "$bin"
