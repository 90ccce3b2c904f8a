#!/usr/bin/env bash
# suites.sh builds one image per shipped plugin (plugins/*.yaml) holding its small sample suite from
# hack/cluster/suites/<plugin>, and loads it into the local cluster's containerd with load-image, so the
# end-to-end tests run every plugin for real, with no registry:
#   testrun.local/suite-go-test:v1  /bin/gotestsum, /bin/test2json, /bin/testrun-shard (cmd/testrun-shard, the
#                                   launcher of a sharded run), /tests/suite.test (go test -c), /tmp; no shell;
#                                   and /tests/sut.test, the in-cluster suite that calls the Service sut
#                                   (hack/cluster/suites/go-test/sut, docs/in-cluster.md)
#   testrun.local/suite-ginkgo:v1   /bin/ginkgo (the CLI), /bin/testrun-shard, /tests/suite.test (go test -c), /tmp;
#                                   no shell
#   testrun.local/suite-shell:v1    busybox, /tests/*.sh
#   testrun.local/suite-pytest:v1   Debian bookworm (debootstrap --variant=minbase, python3-pytest and
#                                   nodejs), /tests/test_sample.py
#   testrun.local/suite-jest:v1     the same Debian root, /package.json, /node_modules (npm ci: jest,
#                                   jest-junit), /tests/sample.test.js
# Each suite has passing, failing and skipped tests. Go binaries are static (CGO_ENABLED=0). The Debian root
# is made once and cached in $TESTRUN_CACHE_DIR/suites/debian-bookworm, the npm packages in
# $TESTRUN_CACHE_DIR/suites/jest-<lock hash>, so only the first run downloads them. Missing tools (debootstrap,
# npm) are installed with apt-get.
#
# An image containerd already has is skipped unless its sources (its suite directory, this script, the
# packer) are newer than its stamp in $TESTRUN_CACHE_DIR/images, or FORCE=1.
#
# Usage: hack/cluster/suites.sh [PLUGIN...]   (default: every plugin; prints each image's name)
#        hack/cluster/suites.sh --compile [PLUGIN...]   only compile the Go suites (go-test, ginkgo) into the Go
#            build cache: no image, no containerd needed. make demo runs it at low priority while the cluster
#            comes up, so that the image build after it only links.
# Environment: CONTAINERD_ADDRESS, TESTRUN_CACHE_DIR (see lib.sh), FORCE=1, DEBIAN_MIRROR (default: the
# Debian mirror this machine's apt is configured with).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
# The mirror apt already uses here: the first URIs of a deb822 .sources file, else the first deb line.
apt_mirror() {
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  echo "$uri"
}
: "${DEBIAN_MIRROR:=$(apt_mirror)}"
suites=$here/suites
cache=$TESTRUN_CACHE_DIR/suites
stamps=$TESTRUN_CACHE_DIR/images
all=(go-test ginkgo shell pytest jest)

image_of() { echo "testrun.local/suite-$1:v1"; }

compile_only=
if [ "${1:-}" = --compile ]; then
  compile_only=1
  shift
fi
[ $# -gt 0 ] || set -- "${all[@]}"
for p in "$@"; do
  [[ " ${all[*]} " == *" $p "* ]] || die "no sample suite for plugin '$p': choose among ${all[*]}"
done

if [ -z "$compile_only" ]; then
  command -v ctr >/dev/null || die "ctr is not on PATH: install containerd (hack/cluster/deps.sh)"
  [ -S "$CONTAINERD_ADDRESS" ] ||
    die "no containerd socket at $CONTAINERD_ADDRESS: start the cluster with hack/cluster/cluster.sh up (make cluster-up), or set CONTAINERD_ADDRESS to its socket"
  present=$(ctr --address "$CONTAINERD_ADDRESS" -n k8s.io images ls -q 2>&1) ||
    die "containerd is not answering on $CONTAINERD_ADDRESS: start the cluster with hack/cluster/cluster.sh up (ctr said: ${present##*$'\n'})"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/suites.XXXXXX")
trap 'rm -rf "$work"' EXIT

# stamp_of NAME: the file whose time says when NAME was last built.
stamp_of() { echo "$stamps/${1//[\/:]/_}.stamp"; }

# wanted PLUGIN: whether its image must be (re)built.
wanted() {
  local name stamp
  name=$(image_of "$1")
  stamp=$(stamp_of "$name")
  [ "${FORCE:-}" = 1 ] && return 0
  grep -Fxq -- "$name" <<<"$present" || return 0
  [ -e "$stamp" ] || return 0
  local sources=("$suites/$1" "$here/suites.sh" "$here/load-image" "$here/image")
  case $1 in go-test | ginkgo) sources+=("$here/../../cmd/testrun-shard" "$here/../../internal/share") ;; esac
  [ -n "$(find "${sources[@]}" -newer "$stamp" -print -quit)" ]
}

# apt_install PACKAGE...: install Debian packages this script needs, once.
apt_install() {
  log "installing $* with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >"$work/apt.log" 2>&1; then
    apt-get update >>"$work/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >>"$work/apt.log" 2>&1 ||
      die "apt-get install $* failed (see below); check that the Debian mirror is reachable$(printf '\n' && tail -n 5 "$work/apt.log")"
  fi
}

# gobuild DIR OUT ARGS...: a static linux binary built in the suite module DIR.
gobuild() {
  local dir=$1 out=$2
  shift 2
  command -v go >/dev/null || die "go is not on PATH: install Go 1.26 or newer (https://go.dev/dl)"
  (cd "$dir" && env GOWORK=off GOOS=linux "${BUILD_ENV[@]}" \
    go build "${GO_BUILD_FLAGS[@]}" -ldflags=-s -o "$out" "$@") ||
    die "building $* in $dir failed: see the go output above; check that the Go module proxy is reachable (go env GOPROXY)"
}

# shard_launcher OUT: testrun-shard (cmd/testrun-shard of this repository), which the go-test and ginkgo
# definitions run in a sharded run.
shard_launcher() {
  gobuild "$here/../.." "$1" ./cmd/testrun-shard
}

# gotest_c DIR OUT [PKG]: the test binary of the package PKG (default .) of the suite module DIR, as
# go test -c makes it.
gotest_c() {
  (cd "$1" && env GOWORK=off GOOS=linux "${BUILD_ENV[@]}" \
    go test -c "${GO_BUILD_FLAGS[@]}" -ldflags=-s -o "$2" "${3:-.}") ||
    die "compiling the tests of $1/${3:-.} failed: see the go output above"
}

# load DIR PLUGIN [pack flags...]: pack DIR as the plugin's image and note that it is current.
load() {
  local dir=$1 name
  name=$(image_of "$2")
  shift 2
  log "loading image $name ($(du -sh "$dir" | cut -f1))"
  "$here/load-image" "$dir" "$name" "$@" >/dev/null || die "loading image $name failed: see the error above"
  mkdir -p "$stamps"
  touch -r "$work/start" "$(stamp_of "$name")"
}

# busybox_root DIR: Debian's static busybox with a link per applet, /etc/passwd and /tmp.
busybox_root() {
  local d=$1 applet
  if ! { [ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1; }; then apt_install busybox-static; fi
  mkdir -p "$d/bin" "$d/etc" "$d/tmp"
  chmod 1777 "$d/tmp"
  cp /bin/busybox "$d/bin/busybox"
  while read -r applet; do
    [ -n "$applet" ] && [ "$applet" != busybox ] && ln -sf busybox "$d/bin/$applet"
  done < <(/bin/busybox --list)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$d/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/etc/group"
}

# debian_root: the cached Debian bookworm root with python3-pytest and nodejs, made once with debootstrap.
debian_root() {
  local dir=$cache/debian-bookworm start
  if [ -e "$dir/.complete" ]; then
    echo "$dir"
    return
  fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  start=$SECONDS
  [ -n "$DEBIAN_MIRROR" ] || die "no Debian mirror found in /etc/apt/sources.list(.d): set DEBIAN_MIRROR"
  log "making the Debian bookworm root with debootstrap from $DEBIAN_MIRROR (once; cached in $dir)"
  rm -rf "$dir.tmp"
  mkdir -p "$cache"
  debootstrap --variant=minbase --include=python3-pytest,nodejs bookworm "$dir.tmp" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 ||
    die "debootstrap failed: check that $DEBIAN_MIRROR is reachable or set DEBIAN_MIRROR$(printf '\n' && tail -n 5 "$work/debootstrap.log")"
  touch "$dir.tmp/.complete"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  log "Debian root ready in $((SECONDS - start))s"
  echo "$dir"
}

# debian_image DIR: a copy of the Debian root in DIR without what an image does not need: device nodes
# (the runtime makes /dev), apt's package cache and lists, documentation and translations.
debian_image() {
  local src d=$1
  src=$(debian_root)
  mkdir -p "$d"
  tar -C "$src" --exclude=./.complete --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    --exclude='./var/cache/apt/*' --exclude='./var/lib/apt/lists/*' --exclude='./usr/share/doc/*' \
    --exclude='./usr/share/man/*' --exclude='./usr/share/info/*' --exclude='./usr/share/locale/*' -cf - . |
    tar -C "$d" -xf -
  # The packer takes only directories, regular files and links.
  find "$d" ! -type f ! -type d ! -type l -delete
}

# jest_modules: node_modules of the jest suite, installed once per package-lock.json with npm ci.
jest_modules() {
  local lock dir
  lock=$(sha256sum "$suites/jest/package-lock.json" | cut -c1-16)
  dir=$cache/jest-$lock
  if [ ! -e "$dir/.complete" ]; then
    command -v npm >/dev/null || apt_install npm
    log "installing jest and jest-junit with npm ci (once; cached in $dir)"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$suites/jest/package.json" "$suites/jest/package-lock.json" "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1) ||
      die "npm ci failed: check that the npm registry is reachable$(printf '\n' && tail -n 5 "$work/npm.log")"
    touch "$dir/.complete"
  fi
  echo "$dir/node_modules"
}

# go_binaries PLUGIN DIR: the Go binaries of the plugin's image (go-test, ginkgo) in DIR/bin and DIR/tests.
go_binaries() {
  local d=$2
  mkdir -p "$d/bin" "$d/tests"
  case $1 in
  go-test)
    gotest_c "$suites/go-test" "$d/tests/suite.test"
    gotest_c "$suites/go-test" "$d/tests/sut.test" ./sut
    gobuild "$suites/go-test" "$d/bin/gotestsum" gotest.tools/gotestsum
    gobuild "$suites/go-test" "$d/bin/test2json" cmd/test2json
    shard_launcher "$d/bin/testrun-shard"
    ;;
  ginkgo)
    gotest_c "$suites/ginkgo" "$d/tests/suite.test"
    gobuild "$suites/ginkgo" "$d/bin/ginkgo" github.com/onsi/ginkgo/v2/ginkgo
    shard_launcher "$d/bin/testrun-shard"
    ;;
  esac
}

build() {
  local p=$1 d=$work/$1 start=$SECONDS modules
  touch "$work/start"
  mkdir -p "$d"
  case $p in
  go-test)
    mkdir -p "$d/tmp"
    chmod 1777 "$d/tmp"
    go_binaries go-test "$d"
    load "$d" go-test -env "GOVERSION=$(go env GOVERSION)"
    ;;
  ginkgo)
    mkdir -p "$d/tmp"
    chmod 1777 "$d/tmp"
    go_binaries ginkgo "$d"
    load "$d" ginkgo
    ;;
  shell)
    busybox_root "$d"
    mkdir -p "$d/tests"
    cp "$suites/shell/tests/"*.sh "$d/tests/"
    chmod 0755 "$d/tests/"*.sh
    load "$d" shell
    ;;
  pytest)
    debian_image "$d"
    cp -r "$suites/pytest/tests" "$d/tests"
    load "$d" pytest
    ;;
  jest)
    debian_image "$d"
    cp "$suites/jest/package.json" "$d/"
    cp -r "$suites/jest/tests" "$d/tests"
    modules=$(jest_modules)
    cp -a "$modules" "$d/node_modules"
    load "$d" jest
    ;;
  esac
  rm -rf "$d"
  log "image $(image_of "$p") ready in $((SECONDS - start))s"
}

if [ -n "$compile_only" ]; then
  for p in "$@"; do go_binaries "$p" "$work/$p"; done
  exit 0
fi
for p in "$@"; do
  if wanted "$p"; then
    build "$p"
  fi
  image_of "$p"
done
