#!/usr/bin/env bash
# deps.sh installs the Debian packages the local cluster needs, only when one is missing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

# command -> Debian package that provides it
declare -A need=(
  ["etcd"]=etcd-server
  ["containerd"]=containerd
  ["runc"]=runc
  ["/usr/lib/cni/bridge"]=containernetworking-plugins
  ["iptables"]=iptables
  ["nft"]=nftables
  ["conntrack"]=conntrack
  ["openssl"]=openssl
  ["/bin/busybox"]=busybox-static
  ["ip"]=iproute2
  ["mount"]=mount
)
pkgs=()
for cmd in "${!need[@]}"; do
  if [[ $cmd == /* ]]; then [ -e "$cmd" ] && continue; else command -v "$cmd" >/dev/null && continue; fi
  pkgs+=("${need[$cmd]}")
done
[ ${#pkgs[@]} -eq 0 ] && exit 0
[ "$(id -u)" -eq 0 ] || die "missing packages ${pkgs[*]}: run as root (sudo make cluster-up) or install them with apt-get"
log "installing ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
# Never let a package's maintainer script start its own daemon: the cluster scripts start theirs.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e $policy ]; then
  printf '#!/bin/sh\nexit 101\n' >$policy
  chmod +x $policy
  made_policy=1
fi
trap '[ -n "$made_policy" ] && rm -f $policy' EXIT
apt-get update -qq || die "apt-get update failed: check the network and /etc/apt/sources.list"
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
  die "apt-get install ${pkgs[*]} failed: see the apt output above"
