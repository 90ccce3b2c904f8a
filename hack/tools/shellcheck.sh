#!/usr/bin/env bash
# This script runs ShellCheck, pinned to one Debian package version, with the arguments given: make lint
# runs it over every shell script under hack/ and .ci/. ShellCheck is written in Haskell, so it cannot be a
# Go tool in hack/tools/go.mod like the others; Debian's package is installed with apt-get when it is missing
# (as root, as on CI), and a different version is refused, so that every machine reports the same findings.
# Usage: hack/tools/shellcheck.sh FILE...
set -euo pipefail
# Debian 12 (bookworm)'s package; to move, change it here and fix what the new version finds.
want=0.9.0-1

installed() { dpkg-query -W -f='${db:Status-Abbrev} ${Version}' shellcheck 2>/dev/null || true; }
if [ "$(installed)" != "ii  $want" ]; then
  case $(installed) in
  "ii  "*)
    echo "shellcheck.sh: shellcheck $(installed | cut -c5-) is installed, want $want: run apt-get install --allow-downgrades shellcheck=$want" >&2
    exit 1
    ;;
  esac
  [ "$(id -u)" -eq 0 ] || {
    echo "shellcheck.sh: shellcheck is missing: run apt-get install shellcheck=$want as root" >&2
    exit 1
  }
  echo "shellcheck.sh: installing shellcheck $want with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine's package lists may be missing or old: update them once when the install fails.
  if ! apt-get install -y -qq --no-install-recommends "shellcheck=$want" >/dev/null; then
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends "shellcheck=$want" >/dev/null || {
      echo "shellcheck.sh: apt-get install shellcheck=$want failed: see the apt output above" >&2
      exit 1
    }
  fi
fi
exec shellcheck "$@"
