#!/usr/bin/env bash
# images.sh builds the local cluster's images without any registry and loads them into its containerd
# (namespace k8s.io) with hack/cluster/load-image:
#   $PAUSE_IMAGE (lib.sh; registry.k8s.io/pause:3.10) the pod sandbox, /pause built from hack/cluster/images/pause
#   docker.io/library/busybox:1.37  Debian's static /bin/busybox with a symlink per applet, CMD ["sh"]
#   testrun.local/testee:v1         only /testee (hack/cluster/images/testee), /reports and /tmp
#   testrun.local/testee-nonroot:v1 the same, running as 65532:65532
#   testrun.local/sut:v1            only /sut (hack/cluster/images/sut), the HTTP system under test of the
#                                   in-cluster story, running as 65532:65532
# An image containerd already has is skipped unless FORCE=1; the images built from Go source here (pause,
# testee, sut) are rebuilt when that source is newer than their stamp in $TESTRUN_CACHE_DIR/images.
#
# Usage: hack/cluster/images.sh   (or source it and call load_cluster_images)
# Environment: CONTAINERD_ADDRESS, TESTRUN_CACHE_DIR (see lib.sh), FORCE=1 to rebuild every image.

_images_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Image names, for scripts that source this file.
TESTRUN_BUSYBOX_IMAGE=docker.io/library/busybox:1.37
TESTRUN_TESTEE_IMAGE=testrun.local/testee:v1
TESTRUN_TESTEE_NONROOT_IMAGE=testrun.local/testee-nonroot:v1
TESTRUN_SUT_IMAGE=testrun.local/sut:v1

# load_cluster_images builds and loads every image that containerd lacks or that is out of date.
# It runs in a subshell, so sourcing this file never changes the caller's shell options or traps.
load_cluster_images() (
  set -euo pipefail
  here=$_images_here
  root=$(cd "$here/../.." && pwd)
  . "$here/lib.sh"
  : "${CONTAINERD_ADDRESS:=$TESTRUN_CLUSTER_DIR/containerd/containerd.sock}"
  export CONTAINERD_ADDRESS TESTRUN_CACHE_DIR
  pause_image=${PAUSE_IMAGE:-registry.k8s.io/pause:3.10}
  stamps=$TESTRUN_CACHE_DIR/images

  command -v ctr >/dev/null || die "ctr is not on PATH: install containerd (hack/cluster/deps.sh)"
  [ -S "$CONTAINERD_ADDRESS" ] ||
    die "no containerd socket at $CONTAINERD_ADDRESS: start the cluster with hack/cluster/cluster.sh up (make cluster-up), or set CONTAINERD_ADDRESS to its socket"
  present=$(ctr --address "$CONTAINERD_ADDRESS" -n k8s.io images ls -q 2>&1) ||
    die "containerd is not answering on $CONTAINERD_ADDRESS: start the cluster with hack/cluster/cluster.sh up (make cluster-up) or set CONTAINERD_ADDRESS (ctr said: ${present##*$'\n'})"

  work=$(mktemp -d "${TMPDIR:-/tmp}/cluster-images.XXXXXX")
  trap 'rm -rf "$work"' EXIT

  # wanted NAME [SOURCE...]: whether NAME must be (re)built: FORCE=1, containerd lacks it, or a SOURCE
  # (file or directory) is newer than its stamp.
  wanted() {
    local name=$1 stamp
    shift
    [ "${FORCE:-}" = 1 ] && return 0
    grep -Fxq -- "$name" <<<"$present" || return 0
    [ $# -eq 0 ] && return 1
    stamp=$stamps/${name//[\/:]/_}.stamp
    [ -e "$stamp" ] || return 0
    [ -n "$(find "$@" -newer "$stamp" -print -quit)" ]
  }
  # loaded NAME: note that NAME was built from its current source.
  loaded() { mkdir -p "$stamps" && touch "$stamps/${1//[\/:]/_}.stamp"; }
  # load DIR NAME [pack flags...]
  load() {
    log "loading image $2"
    "$here/load-image" "$@" >/dev/null || die "loading image $2 failed: see the error above"
  }
  # gobuild PKG OUT: a static linux binary.
  gobuild() {
    command -v go >/dev/null || die "go is not on PATH: install Go 1.26 or newer (https://go.dev/dl)"
    (cd "$root" && env GOOS=linux "${BUILD_ENV[@]}" \
      go build "${GO_BUILD_FLAGS[@]}" -ldflags=-s -o "$2" "$1") ||
      die "building $1 failed: see the go output above"
  }
  # Shared sources of every image: the packer and this script. A stamp file is touched before the build
  # starts, so a source edited during the build still counts as newer.
  common=("$here/image" "$here/load-image" "$here/images.sh")

  src=("$root/hack/cluster/images/pause" "${common[@]}")
  if wanted "$pause_image" "${src[@]}"; then
    d=$work/pause
    mkdir -p "$d"
    touch "$work/pause.start"
    gobuild ./hack/cluster/images/pause "$d/pause"
    load "$d" "$pause_image" -entrypoint /pause
    loaded "$pause_image"
    touch -r "$work/pause.start" "$stamps/${pause_image//[\/:]/_}.stamp"
  fi

  if wanted "$TESTRUN_BUSYBOX_IMAGE"; then
    [ -x /bin/busybox ] || die "/bin/busybox is missing: install busybox-static (hack/cluster/deps.sh)"
    /bin/busybox --list >/dev/null 2>&1 ||
      die "/bin/busybox cannot list its applets: install Debian's busybox-static (not busybox)"
    d=$work/busybox
    mkdir -p "$d/bin" "$d/etc" "$d/tmp" "$d/root"
    chmod 1777 "$d/tmp"
    chmod 0700 "$d/root"
    cp /bin/busybox "$d/bin/busybox"
    chmod 0755 "$d/bin/busybox"
    while read -r applet; do
      if [ -n "$applet" ] && [ "$applet" != busybox ]; then
        ln -s busybox "$d/bin/$applet" || die "making the busybox applet link bin/$applet failed"
      fi
    done < <(/bin/busybox --list)
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$d/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/etc/group"
    chmod 0644 "$d/etc/passwd" "$d/etc/group"
    load "$d" "$TESTRUN_BUSYBOX_IMAGE" -cmd sh
  fi

  src=("$root/hack/cluster/images/testee" "${common[@]}")
  if wanted "$TESTRUN_TESTEE_IMAGE" "${src[@]}" || wanted "$TESTRUN_TESTEE_NONROOT_IMAGE" "${src[@]}"; then
    touch "$work/testee.start"
    d=$work/testee
    mkdir -p "$d/reports" "$d/tmp"
    # /reports is writable by anyone (files are owned by root in the image), so the non-root variant can
    # write its reports there too.
    chmod 0777 "$d/reports"
    chmod 1777 "$d/tmp"
    gobuild ./hack/cluster/images/testee "$d/testee"
    load "$d" "$TESTRUN_TESTEE_IMAGE" -entrypoint /testee
    loaded "$TESTRUN_TESTEE_IMAGE"
    load "$d" "$TESTRUN_TESTEE_NONROOT_IMAGE" -entrypoint /testee -user 65532:65532
    loaded "$TESTRUN_TESTEE_NONROOT_IMAGE"
    touch -r "$work/testee.start" "$stamps/${TESTRUN_TESTEE_IMAGE//[\/:]/_}.stamp" \
      "$stamps/${TESTRUN_TESTEE_NONROOT_IMAGE//[\/:]/_}.stamp"
  fi

  src=("$root/hack/cluster/images/sut" "${common[@]}")
  if wanted "$TESTRUN_SUT_IMAGE" "${src[@]}"; then
    touch "$work/sut.start"
    d=$work/sut
    mkdir -p "$d"
    gobuild ./hack/cluster/images/sut "$d/sut"
    load "$d" "$TESTRUN_SUT_IMAGE" -entrypoint /sut -user 65532:65532
    loaded "$TESTRUN_SUT_IMAGE"
    touch -r "$work/sut.start" "$stamps/${TESTRUN_SUT_IMAGE//[\/:]/_}.stamp"
  fi
  log "images ready: $pause_image $TESTRUN_BUSYBOX_IMAGE $TESTRUN_TESTEE_IMAGE $TESTRUN_TESTEE_NONROOT_IMAGE $TESTRUN_SUT_IMAGE"
)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  load_cluster_images
fi
