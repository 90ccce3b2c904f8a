#!/usr/bin/env bash
# build.sh builds the local cluster's binaries from the Go module proxy into a cache directory keyed by
# version, so that later runs are warm. Two sets, each one `go build` invocation with its own cache stamp:
#   server   kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kube-proxy as ONE
#            multi-call binary (hack/cluster/k8s/node, linked under each component's name), and coredns
#            (hack/cluster/k8s/coredns) from the CoreDNS release pinned in the same module
#            (hack/cluster/k8s/go.mod): the packages they share (client-go, apimachinery, ...) are compiled
#            once, and the five Kubernetes components are one link instead of five;
#   kubectl  kubectl from the pinned Kubernetes module. It is its own set so that `cluster.sh up` can start
#            the cluster while it builds (nearly all of its packages are the server's: what is left is about
#            40 s of CPU), instead of waiting for it.
# The compile flags are the ones of `make build` and of the image builds (GO_BUILD_FLAGS in lib.sh), so
# packages the plugin compiled are not compiled again.
# Usage: hack/cluster/build.sh             both sets (prints the bin directory on its last line)
#        hack/cluster/build.sh server      only the server set (prints the bin directory)
#        hack/cluster/build.sh kubectl     only kubectl (prints the bin directory)
#        hack/cluster/build.sh --download  only fetch the modules both sets need (make demo runs it while the
#                                          plugin compiles: on a fresh machine the two overlap)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

version=$(k8s_version)
[ -n "$version" ] || die "hack/cluster/k8s/go.mod requires no k8s.io/kubernetes version: restore its require line"
bin=$(k8s_bin_dir)
# The binaries and the names under which cluster.sh runs them.
node_names=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
kubectl_main=k8s.io/kubernetes/cmd/kubectl

major=${version#v}
major=${major%%.*}
minor=${version#v*.}
minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"

# build_set SET MAIN... : builds the set's main packages into the cache unless its stamp is current. A set's
# stamp ($bin/.build-SET) holds a key of everything that makes its binaries: the module's requirements, the
# main packages' source, the flags and the names. A set made another way is rebuilt (with a warm Go build
# cache that is only its link).
build_set() {
  local set=$1
  shift
  local mains=("$@") outs=() names=() c
  for c in "${mains[@]}"; do outs+=("${c##*/}"); done
  names=("${outs[@]}")
  [ "$set" = server ] && names=("${node_names[@]}" coredns)
  local sources key stamp=$bin/.build-$set current=1
  sources=$(cat "$here/k8s/go.mod" "$here/k8s/go.sum" "$here/k8s/node/main.go" "$here/k8s/coredns/main.go" | sha256sum)
  key=$(echo "$set $sources ${GO_BUILD_FLAGS[*]} $ldflags ${mains[*]} ${names[*]}" | sha256sum | cut -c1-16)
  [ "$(cat "$stamp" 2>/dev/null)" = "$key" ] || current=
  for c in "${names[@]}"; do [ -x "$bin/$c" ] || current=; done
  [ -n "$current" ] && return 0

  command -v go >/dev/null || die "go is not on PATH: install Go 1.26 or newer (https://go.dev/dl) and retry"
  mkdir -p "$bin"
  log "building ${names[*]} ($version; a cold build takes several minutes)"
  # Build into a temporary directory so an interrupted build never leaves a half-written binary in the cache.
  local tmp start=$SECONDS
  tmp=$(mktemp -d "$bin/.build.XXXXXX")
  # shellcheck disable=SC2064 # the directory is known now
  trap "rm -rf '$tmp'" EXIT
  (cd "$here/k8s" && env GOWORK=off "${BUILD_ENV[@]}" \
    go build "${GO_BUILD_FLAGS[@]}" -ldflags "$ldflags" -o "$tmp/" "${mains[@]}") ||
    die "building ${names[*]} failed: see the go output above; check that the Go module proxy is reachable (go env GOPROXY)"
  for c in "${outs[@]}"; do
    [ -x "$tmp/$c" ] || die "go build made no binary $c in $tmp: check the package list in hack/cluster/build.sh"
  done
  if [ "$set" = server ]; then
    for c in "${node_names[@]}"; do ln "$tmp/node" "$tmp/$c"; done
    rm -f "$tmp/node"
  fi
  rm -f "$stamp"
  for c in "${names[@]}"; do mv -f "$tmp/$c" "$bin/$c"; done
  [ "$set" = server ] && rm -f "$bin/.coredns.sum"
  echo "$key" >"$stamp"
  rm -rf "$tmp"
  trap - EXIT
  log "built ${names[*]} in $((SECONDS - start))s"
}

case ${1:-all} in
--download)
  # Loading the packages fetches exactly the modules that provide them (go mod download would fetch more).
  (cd "$here/k8s" && GOWORK=off CGO_ENABLED=0 go list -deps ./node ./coredns "$kubectl_main" >/dev/null) ||
    die "fetching the modules of the cluster's binaries failed: see the go output above; check that the Go module proxy is reachable (go env GOPROXY)"
  exit 0
  ;;
server) build_set server ./node ./coredns ;;
kubectl) build_set kubectl "$kubectl_main" ;;
all)
  build_set server ./node ./coredns
  build_set kubectl "$kubectl_main"
  ;;
*) die "unknown argument $1: usage: hack/cluster/build.sh [server|kubectl|--download]" ;;
esac
echo "$bin"
