#!/usr/bin/env bash
# build.sh builds the local cluster's components from the Go module proxy into a cache directory keyed by
# version, so that later runs are warm: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
# kube-proxy as ONE multi-call binary (hack/cluster/k8s/node, linked under each component's name), kubectl
# from the pinned Kubernetes module (hack/cluster/k8s/go.mod), and coredns (hack/cluster/k8s/coredns) from
# the CoreDNS release pinned in the same module.
# The three are built by ONE `go build` invocation: the packages they share (client-go, apimachinery, ...)
# are compiled once and the compiler keeps both cores busy until the last link; the five Kubernetes
# components are one link instead of five. The compile flags are the ones of `make build` and of the image
# builds (GO_BUILD_FLAGS in lib.sh), so packages the plugin compiled are not compiled again.
# Usage: hack/cluster/build.sh   (prints the bin directory on its last line)
#        hack/cluster/build.sh --download   only fetch the modules the build needs (make demo runs it while
#                                           the plugin compiles: on a fresh machine the two overlap)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

version=$(k8s_version)
[ -n "$version" ] || die "hack/cluster/k8s/go.mod requires no k8s.io/kubernetes version: restore its require line"
bin=$(k8s_bin_dir)
# The binaries and the names under which cluster.sh runs them.
node_names=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
names=("${node_names[@]}" kubectl coredns)

major=${version#v}
major=${major%%.*}
minor=${version#v*.}
minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"

# The cache is keyed by version (the directory) and by everything else that makes the binaries: the module's
# requirements, the two main packages and the flags. A cache made another way is rebuilt (with a warm Go build
# cache that is only the links).
sources=$(cat "$here/k8s/go.mod" "$here/k8s/go.sum" "$here/k8s/node/main.go" "$here/k8s/coredns/main.go" | sha256sum)
key=$(echo "$sources ${GO_BUILD_FLAGS[*]} $ldflags ${names[*]}" | sha256sum | cut -c1-16)
stamp=$bin/.build
current=1
[ "$(cat "$stamp" 2>/dev/null)" = "$key" ] || current=
for c in "${names[@]}"; do [ -x "$bin/$c" ] || current=; done
if [ -n "$current" ]; then
  [ "${1:-}" = --download ] || echo "$bin"
  exit 0
fi

command -v go >/dev/null || die "go is not on PATH: install Go 1.26 or newer (https://go.dev/dl) and retry"
mains=(./node k8s.io/kubernetes/cmd/kubectl ./coredns)
if [ "${1:-}" = --download ]; then
  # Loading the packages fetches exactly the modules that provide them (go mod download would fetch more).
  (cd "$here/k8s" && GOWORK=off CGO_ENABLED=0 go list -deps "${mains[@]}" >/dev/null) ||
    die "fetching the modules of ${names[*]} failed: see the go output above; check that the Go module proxy is reachable (go env GOPROXY)"
  exit 0
fi
mkdir -p "$bin"
log "building ${names[*]} ($version; a cold build takes several minutes)"
# Build into a temporary directory so an interrupted build never leaves a half-written binary in the cache.
tmp=$(mktemp -d "$bin/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
(cd "$here/k8s" && env GOWORK=off "${BUILD_ENV[@]}" \
  go build "${GO_BUILD_FLAGS[@]}" -ldflags "$ldflags" -o "$tmp/" "${mains[@]}") ||
  die "building ${names[*]} failed: see the go output above; check that the Go module proxy is reachable (go env GOPROXY)"
for c in node kubectl coredns; do
  [ -x "$tmp/$c" ] || die "go build made no binary $c in $tmp: check the package list in hack/cluster/build.sh"
done
for c in "${node_names[@]}"; do ln "$tmp/node" "$tmp/$c"; done
rm -f "$stamp"
for c in "${names[@]}"; do mv -f "$tmp/$c" "$bin/$c"; done
rm -f "$bin/.coredns.sum"
echo "$key" >"$stamp"
log "built ${names[*]} in $((SECONDS - start))s"
echo "$bin"
