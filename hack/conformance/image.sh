#!/usr/bin/env bash
# image.sh builds Kubernetes' end-to-end suite, e2e.test, for the Kubernetes version the local cluster runs
# (the module hack/cluster/k8s pins it), and loads it into the cluster's containerd as the image
#   testrun.local/kubernetes-e2e:<version>   only /usr/local/bin/e2e.test (static) and /tmp
# for the shipped definition kubernetes-e2e (plugins/kubernetes-e2e.yaml). The binary is kept beside the
# cluster's components in the build cache ($TESTRUN_CACHE_DIR/kubernetes/<version>/bin) and built again only
# when the module's go.sum changes; the image is loaded again only when containerd lacks it or FORCE=1.
#
# Usage: hack/conformance/image.sh   (prints the image name on its last line)
# Environment: CONTAINERD_ADDRESS, TESTRUN_CACHE_DIR (see hack/cluster/lib.sh), FORCE=1.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cluster=$(cd "$here/../cluster" && pwd)
# shellcheck source=../cluster/lib.sh
. "$cluster/lib.sh"

version=$(k8s_version)
[ -n "$version" ] || die "hack/cluster/k8s/go.mod requires no k8s.io/kubernetes version: restore its require line"
bin=$(k8s_bin_dir)
e2e=$bin/e2e.test
image=testrun.local/kubernetes-e2e:$version

if [ ! -x "$e2e" ] || [ "$cluster/k8s/go.sum" -nt "$e2e" ] || [ "${FORCE:-}" = 1 ]; then
  command -v go >/dev/null || die "go is not on PATH: install Go 1.26 or newer (https://go.dev/dl) and retry"
  log "building e2e.test $version (go test -c k8s.io/kubernetes/test/e2e; long the first time)"
  start=$SECONDS
  major=${version#v}
  major=${major%%.*}
  minor=${version#v*.}
  minor=${minor%%.*}
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  mkdir -p "$bin"
  # Built in a copy of the pinned module: e2e.test needs a few modules the components do not (their go.sum
  # lines are fetched and checked against the checksum database here), and the cluster's module stays as
  # go mod tidy keeps it. The same flags as hack/cluster/build.sh, so the packages the components share
  # come from the build cache.
  mod=$(mktemp -d "${TMPDIR:-/tmp}/kubernetes-e2e-mod.XXXXXX")
  cp "$cluster/k8s/go.mod" "$cluster/k8s/go.sum" "$mod/"
  (cd "$mod" && GOWORK=off CGO_ENABLED=0 go test -c -mod=mod -vet=off "${GO_BUILD_FLAGS[@]}" \
    -ldflags "$ldflags" -o "$e2e.tmp" k8s.io/kubernetes/test/e2e) ||
    {
      rm -rf "$mod"
      die "building e2e.test failed: see the go output above; check that the Go module proxy is reachable (go env GOPROXY)"
    }
  rm -rf "$mod"
  mv "$e2e.tmp" "$e2e"
  log "e2e.test ready in $((SECONDS - start))s"
fi

: "${CONTAINERD_ADDRESS:=$TESTRUN_CLUSTER_DIR/containerd/containerd.sock}"
export CONTAINERD_ADDRESS
present=$(ctr --address "$CONTAINERD_ADDRESS" -n k8s.io images ls -q 2>&1) ||
  die "containerd is not answering on $CONTAINERD_ADDRESS: start the cluster with hack/cluster/cluster.sh up (ctr said: ${present##*$'\n'})"
if ! grep -Fxq -- "$image" <<<"$present" || [ "${FORCE:-}" = 1 ] || [ "$e2e" -nt "$TESTRUN_CACHE_DIR/images/${image//[\/:]/_}.stamp" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/kubernetes-e2e.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/usr/local/bin" "$work/tmp"
  chmod 1777 "$work/tmp"
  cp "$e2e" "$work/usr/local/bin/e2e.test"
  log "loading image $image ($(du -sh "$work" | cut -f1))"
  "$cluster/load-image" "$work" "$image" -entrypoint /usr/local/bin/e2e.test >/dev/null ||
    die "loading image $image failed: see the error above"
  mkdir -p "$TESTRUN_CACHE_DIR/images"
  touch "$TESTRUN_CACHE_DIR/images/${image//[\/:]/_}.stamp"
fi
echo "$image"
