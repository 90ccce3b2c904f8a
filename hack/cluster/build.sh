#!/usr/bin/env bash
# build.sh builds the local cluster's components from the Go module proxy into a cache directory keyed by
# version, so that later runs are warm: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
# kube-proxy and kubectl from the pinned Kubernetes module (hack/cluster/k8s/go.mod), and coredns
# (hack/cluster/k8s/coredns) from the CoreDNS release pinned in the same module.
# Every missing component is built by ONE `go build` invocation: the packages they share (client-go,
# apimachinery, ...) are compiled once and the compiler keeps both cores busy until the last link.
# Usage: hack/cluster/build.sh   (prints the bin directory on its last line)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

version=$(k8s_version)
[ -n "$version" ] || die "hack/cluster/k8s/go.mod requires no k8s.io/kubernetes version: restore its require line"
bin=$(k8s_bin_dir)
# binary name -> package (go build names each binary after the last element of its package path)
declare -A packages=(
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
  [kubelet]=k8s.io/kubernetes/cmd/kubelet
  [kube-proxy]=k8s.io/kubernetes/cmd/kube-proxy
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [coredns]=./coredns
)

# The CoreDNS binary is also keyed by the module's go.sum: a new CoreDNS pin is a new binary.
stamp=$bin/.coredns.sum
missing=()
for c in "${!packages[@]}"; do
  if [ "$c" = coredns ] && ! cmp -s "$here/k8s/go.sum" "$stamp" 2>/dev/null; then
    missing+=("$c")
    continue
  fi
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
pkgs=()
for c in "${missing[@]}"; do pkgs+=("${packages[$c]}"); done
log "building ${missing[*]} ($version; a cold build takes several minutes)"
# Build into a temporary directory so an interrupted build never leaves a half-written binary in the cache.
tmp=$(mktemp -d "$bin/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
# -ldflags -w leaves DWARF out of the binaries, so the compiler need not make it (-dwarf=false): that alone
# is 10-20 % of the compile time of the big generated packages.
(cd "$here/k8s" && GOWORK=off CGO_ENABLED=0 go build -trimpath -gcflags=all=-dwarf=false -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}") ||
  die "building ${missing[*]} failed: see the go output above; check that the Go module proxy is reachable (go env GOPROXY)"
for c in "${missing[@]}"; do
  [ -x "$tmp/$c" ] || die "go build made no binary $c in $tmp: check the package list in hack/cluster/build.sh"
  mv "$tmp/$c" "$bin/$c"
done
cp "$here/k8s/go.sum" "$stamp"
log "built ${missing[*]} in $((SECONDS - start))s"
echo "$bin"
