#!/usr/bin/env bash
# kubelet-config.sh reconfigures the local cluster's kubelet for a test, and puts its configuration back.
#
# Usage: hack/cluster/kubelet-config.sh set FIELD=VALUE... | restore
#   set      keep a copy of the kubelet's config.yaml (once), write it with the KubeletConfiguration fields
#            given (e.g. containerLogMaxSize=1Mi), restart the kubelet and wait until the node is Ready
#   restore  put the copy back, restart the kubelet and wait until the node is Ready; a no-op without a copy
#
# The end-to-end tests that need a reconfigured kubelet call set once and restore in their cleanup. Other
# tests may run meanwhile: their pods keep running across the kubelet's restart, only their log streams and
# execs are cut once, which the plugin survives.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

CONFIG=$TESTRUN_CLUSTER_DIR/kubelet/config.yaml
ORIGINAL=$CONFIG.testrun-original
KUBECTL=$(k8s_bin_dir)/kubectl

restart_and_wait() {
  "$here/cluster.sh" restart kubelet
  local deadline=$((SECONDS + 120)) ready=
  # The node reports Ready again once the restarted kubelet posts its status.
  sleep 1
  until [ "$ready" = True ]; do
    [ $SECONDS -lt $deadline ] || die "node $NODE_NAME is not Ready 120 s after the kubelet restarted: see $TESTRUN_CLUSTER_DIR/logs/kubelet.log"
    sleep 0.5
    ready=$("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" get node "$NODE_NAME" \
      -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
  done
  log "kubelet restarted, node $NODE_NAME Ready"
}

cmd_set() {
  [ $# -gt 0 ] || die "set needs at least one FIELD=VALUE"
  [ -f "$CONFIG" ] || die "$CONFIG does not exist: start the cluster with 'make cluster-up'"
  [ -f "$ORIGINAL" ] || cp -p "$CONFIG" "$ORIGINAL"
  local tmp=$CONFIG.tmp kv field
  cp -p "$ORIGINAL" "$tmp"
  for kv in "$@"; do
    field=${kv%%=*}
    [[ $kv == *=* && $field =~ ^[A-Za-z]+$ ]] || die "not a FIELD=VALUE of the KubeletConfiguration: $kv"
    # A field set again replaces the original's line.
    sed -i "/^$field:/d" "$tmp"
    printf '%s: %s\n' "$field" "${kv#*=}" >>"$tmp"
  done
  mv "$tmp" "$CONFIG"
  log "kubelet configuration: $*"
  restart_and_wait
}

cmd_restore() {
  [ -f "$ORIGINAL" ] || {
    log "nothing to restore: the kubelet runs its original configuration"
    return 0
  }
  mv "$ORIGINAL" "$CONFIG"
  log "kubelet configuration restored"
  restart_and_wait
}

case ${1:-} in
set)
  shift
  cmd_set "$@"
  ;;
restore) cmd_restore ;;
*) die "usage: $0 set FIELD=VALUE... | restore" ;;
esac
