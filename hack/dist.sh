#!/usr/bin/env bash
# dist.sh builds the release into dist/: one archive per platform (the binary, LICENSE and, outside Windows,
# the kubectl_complete-testrun script), checksums.txt, and the krew manifest testrun.yaml rendered from
# .krew.yaml with the archives' real sha256. It then proves what it built: the manifest passes krew's
# validate-krew-manifest, krew itself installs every platform from the local archives, and every binary
# carries the release version.
# Usage: make dist   (which passes VERSION, DATE and LDFLAGS; BASE_URL overrides where the manifest
# says the archives are downloaded from)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${VERSION:?VERSION is not set: run make dist}"
: "${DATE:?DATE is not set: run make dist}"
: "${LDFLAGS:?LDFLAGS is not set: run make dist}"
: "${BASE_URL:=https://github.com/kubectl-testrun/kubectl-testrun/releases/download/$VERSION}"
: "${DIST_DIR:=dist}"
PLUGIN=testrun
PLATFORMS=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
TOOLS=(go tool -modfile=hack/tools/go.mod)

log() { printf 'dist: %s\n' "$*" >&2; }
die() {
  printf 'dist: error: %s\n' "$*" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$DIST_DIR"
mkdir -p "$DIST_DIR"
go build -o "$work/dist" ./hack/dist

archives=()
for platform in "${PLATFORMS[@]}"; do
  os=${platform%/*} arch=${platform#*/}
  exe=kubectl-testrun ext=tar.gz extra=(-exec kubectl_complete-testrun=kubectl_complete-testrun)
  # The completion script is POSIX sh; Windows cannot run it, and kubectl there only looks for
  # kubectl_complete-testrun with a PATHEXT extension (.exe, .cmd), so Windows archives leave it out.
  if [ "$os" = windows ]; then exe=kubectl-testrun.exe ext=zip extra=(); fi
  log "building $os/$arch"
  mkdir -p "$work/$os-$arch"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$LDFLAGS" \
    -o "$work/$os-$arch/$exe" ./cmd/kubectl-testrun
  archive=$DIST_DIR/kubectl-testrun_${VERSION}_${os}_${arch}.$ext
  "$work/dist" archive -o "$archive" -mtime "$DATE" \
    -exec "$exe=$work/$os-$arch/$exe" ${extra[@]+"${extra[@]}"} -file LICENSE=LICENSE
  archives+=("$archive")
done

"$work/dist" checksums -o "$DIST_DIR/checksums.txt" "${archives[@]}"
if command -v sha256sum >/dev/null; then
  (cd "$DIST_DIR" && sha256sum --check --quiet checksums.txt) || die "checksums.txt does not match the archives"
fi
manifest=$DIST_DIR/$PLUGIN.yaml
"$work/dist" krew-manifest -template .krew.yaml -tag "$VERSION" -base-url "$BASE_URL" -dir "$DIST_DIR" -o "$manifest"

log "validating $manifest with validate-krew-manifest"
"${TOOLS[@]}" validate-krew-manifest -manifest "$manifest" -skip-install 2>"$work/validate.log" ||
  {
    cat "$work/validate.log" >&2
    die "$manifest is not a valid krew manifest"
  }

# validate-krew-manifest's own install step downloads the uris, which are not published yet: install each
# platform with krew from the local archive instead (krew checks the sha256 and unpacks only the files
# the manifest lists), then check that LICENSE and the plugin arrived.
"${TOOLS[@]}" -n krew >/dev/null # build it once; the loop below reuses the cached binary
for platform in "${PLATFORMS[@]}"; do
  os=${platform%/*} arch=${platform#*/}
  exe=kubectl-testrun ext=tar.gz
  if [ "$os" = windows ]; then exe=kubectl-testrun.exe ext=zip; fi
  root=$work/krew-$os-$arch
  KREW_ROOT=$root KREW_OS=$os KREW_ARCH=$arch KREW_NO_UPGRADE_CHECK=1 \
    "${TOOLS[@]}" krew install --manifest="$manifest" \
    --archive="$DIST_DIR/kubectl-testrun_${VERSION}_${os}_${arch}.$ext" >"$work/krew.log" 2>&1 ||
    {
      cat "$work/krew.log" >&2
      die "krew cannot install $manifest on $os/$arch"
    }
  store=$root/store/$PLUGIN/$VERSION
  for f in LICENSE "$exe"; do
    [ -f "$store/$f" ] || die "krew install on $os/$arch did not extract $f into $store"
  done
  if [ "$os" != windows ] && [ ! -x "$store/kubectl_complete-testrun" ]; then
    die "krew install on $os/$arch did not extract an executable kubectl_complete-testrun"
  fi
  ls "$root/bin/$exe" >/dev/null 2>&1 || die "krew install on $os/$arch did not put $exe into $root/bin"
  # Every binary is built for its platform (its build information says so) and holds the release version
  # (-trimpath keeps -ldflags out of the build information, so look for the string the linker set).
  info=$(go version -m "$store/$exe")
  if ! { grep -qxF $'\tbuild\tGOOS='"$os" <<<"$info" && grep -qxF $'\tbuild\tGOARCH='"$arch" <<<"$info"; }; then
    die "$os/$arch archive holds a binary built for another platform:"$'\n'"$info"
  fi
  grep -qaF -- "$VERSION" "$store/$exe" || die "$os/$arch binary does not hold version $VERSION"
  if [ "$os/$arch" = "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" ]; then
    # This one runs here: installed through krew, it must report the release version itself.
    got=$("$root/bin/$exe" version -o json)
    grep -qF "\"version\": \"$VERSION\"" <<<"$got" ||
      die "the $os/$arch binary installed by krew reports $got, want version $VERSION"
    log "krew-installed $os/$arch binary reports $VERSION"
  fi
done

log "built ${#archives[@]} archives, checksums.txt and $manifest for $VERSION (date $DATE):"
(cd "$DIST_DIR" && ls -l) >&2
