#!/usr/bin/env bash
# cluster.sh runs a real single-node Kubernetes cluster on this machine for the project's own tests:
# etcd, containerd and runc from Debian, kube-apiserver, kube-controller-manager, kube-scheduler and kubelet
# built from the Go module proxy (build.sh), images built locally (images.sh). No Docker, no registry.
#
# Usage: hack/cluster/cluster.sh up | down | status | restart COMPONENT
#   up       start everything (idempotent); the last line printed is KUBECONFIG=<admin kubeconfig>
#   down     stop exactly what up started, unmount what it mounted, restore sysctls, remove all state
#   status   show each component and the node
#   restart  stop and start one component (apiserver, controller-manager, scheduler, kubelet, etcd,
#            containerd): the end-to-end tests use it to prove that runs survive an API server restart
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

STATE=$TESTRUN_CLUSTER_DIR
PKI=$STATE/pki
LOGS=$STATE/logs
PIDS=$STATE/pids
BIN=$(k8s_bin_dir)
KUBECTL=$BIN/kubectl
# Start order; down stops them in reverse.
COMPONENTS=(etcd containerd apiserver controller-manager scheduler kubelet)
# The kubelet changes these at start; down puts back what up found.
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)

kubectl_admin() { "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

pid_of() { [ -f "$PIDS/$1.pid" ] && cat "$PIDS/$1.pid"; }
alive() {
  local pid
  pid=$(pid_of "$1") || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# wait_for DESCRIPTION SECONDS COMMAND...: retry COMMAND every 0.2 s until it succeeds or time runs out.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
  log "$what: ready"
}

require_root() {
  [ "$(id -u)" -eq 0 ] || die "the local cluster needs root (containerd, kubelet, bridges, mounts): run it with sudo"
}

check_port_free() {
  local port=$1 who=$2
  # No "| grep -q" under pipefail: grep exiting at the first match can kill ss with SIGPIPE.
  if [ -n "$(ss -Hltn "sport = :$port")" ]; then
    die "port $port (for $who) is already in use: stop what listens there (ss -ltnp 'sport = :$port') or set the port variable in hack/cluster/lib.sh"
  fi
}

# --- PKI ----------------------------------------------------------------------------------------------

# cert NAME SUBJECT [SAN]: a key and a certificate signed by the cluster CA.
cert() {
  local name=$1 subj=$2 san=${3:-}
  [ -f "$PKI/$name.crt" ] && return 0
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  local ext=$PKI/$name.ext
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$san"; else echo "extendedKeyUsage=clientAuth"; fi
  } >"$ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

# kubeconfig NAME CERT: a kubeconfig for the API server on loopback authenticating with CERT.
kubeconfig() {
  local file=$STATE/$1.kubeconfig crt=$2
  [ -f "$file" ] && return 0
  KUBECONFIG=$file "$KUBECTL" config set-cluster testrun --server "https://127.0.0.1:$APISERVER_PORT" \
    --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
  KUBECONFIG=$file "$KUBECTL" config set-credentials "$1" --client-certificate "$PKI/$crt.crt" \
    --client-key "$PKI/$crt.key" --embed-certs >/dev/null
  KUBECONFIG=$file "$KUBECTL" config set-context testrun --cluster testrun --user "$1" --namespace default >/dev/null
  KUBECONFIG=$file "$KUBECTL" config use-context testrun >/dev/null
}

make_pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  if [ ! -f "$PKI/ca.crt" ]; then
    log "generating certificates"
    openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=kubectl-testrun-ca" -days 365 -sha256 \
      -out "$PKI/ca.crt" 2>/dev/null
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:$NODE_IP,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert admin "/O=system:masters/CN=kubectl-testrun-admin"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  kubeconfig admin admin
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kubelet kubelet
}

# --- configuration files ------------------------------------------------------------------------------

write_configs() {
  mkdir -p "$STATE/containerd" "$STATE/cni/net.d" "$STATE/kubelet" "$STATE/pod-logs"
  cat >"$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "$CONTAINERD_ADDRESS"
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails writing oom_score_adj.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
EOF
  cat >"$STATE/cni/net.d/10-testrun.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "testrun",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
  cat >"$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$CONTAINERD_ADDRESS
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
podLogsDir: $STATE/pod-logs
clusterDomain: cluster.local
serializeImagePulls: false
# Images are loaded by hand and cannot be pulled again: never garbage-collect them, never evict for disk.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
makeIPTablesUtilChains: false
EOF
}

# --- processes ----------------------------------------------------------------------------------------

command_for() {
  case $1 in
  etcd)
    echo etcd --name "$NODE_NAME" --data-dir "$STATE/etcd" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "$NODE_NAME=http://127.0.0.1:$ETCD_PEER_PORT" ;;
  containerd)
    echo containerd --config "$STATE/containerd/config.toml" ;;
  apiserver)
    echo "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
      --bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" --advertise-address "$NODE_IP" \
      --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" --client-ca-file "$PKI/ca.crt" \
      --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
      --kubelet-preferred-address-types InternalIP \
      --service-cluster-ip-range "$SERVICE_CIDR" \
      --service-account-issuer https://kubernetes.default.svc.cluster.local \
      --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
      --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction --allow-privileged=true \
      --profiling=false ;;
  controller-manager)
    echo "$BIN/kube-controller-manager" --kubeconfig "$STATE/controller-manager.kubeconfig" \
      --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
      --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
      --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
      --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
      --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" --profiling=false ;;
  scheduler)
    echo "$BIN/kube-scheduler" --kubeconfig "$STATE/scheduler.kubeconfig" \
      --authentication-kubeconfig "$STATE/scheduler.kubeconfig" --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
      --bind-address 127.0.0.1 --leader-elect=false --profiling=false ;;
  kubelet)
    echo "$BIN/kubelet" --config "$STATE/kubelet/config.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
      --root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet/pki" \
      --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" ;;
  *) die "unknown component $1: one of ${COMPONENTS[*]}" ;;
  esac
}

ready_check() {
  case $1 in
  etcd) curl -sf "http://127.0.0.1:$ETCD_PORT/health" ;;
  containerd) ctr --address "$CONTAINERD_ADDRESS" version ;;
  apiserver) kubectl_admin get --raw /readyz ;;
  controller-manager) curl -sfk https://127.0.0.1:10257/healthz ;;
  scheduler) curl -sfk https://127.0.0.1:10259/healthz ;;
  kubelet) curl -sf http://127.0.0.1:10248/healthz ;;
  esac
}

start() {
  local c=$1
  if alive "$c"; then return 0; fi
  # shellcheck disable=SC2046 # the command is built from paths without spaces
  setsid $(command_for "$c") >>"$LOGS/$c.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$c.pid"
  if ! wait_for "$c" 60 ready_check "$c"; then
    tail -n 20 "$LOGS/$c.log" >&2 || true
    die "$c did not become ready in 60 s: its log is $LOGS/$c.log (last lines above)"
  fi
}

stop() {
  local c=$1 pid
  pid=$(pid_of "$c") || return 0
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PIDS/$c.pid"
}

# --- up -----------------------------------------------------------------------------------------------

network_up() {
  # Idempotent, also when two `up` run at once (parallel test processes).
  ip link add "$NODE_BRIDGE" type bridge 2>/dev/null || ip link show "$NODE_BRIDGE" >/dev/null ||
    die "cannot create bridge $NODE_BRIDGE: is iproute2 installed and are we root?"
  ip addr replace "$NODE_IP/32" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
}

save_host_state() {
  [ -f "$STATE/host-state" ] && return 0
  {
    for s in "${SYSCTLS[@]}"; do echo "sysctl $s=$(sysctl -n "$s")"; done
    for n in /run/netns/*; do [ -e "$n" ] && echo "netns $n"; done
    for d in /sys/fs/cgroup/*/kubepods; do [ -d "$d" ] && echo "cgroup $d"; done
  } >"$STATE/host-state.tmp"
  mv "$STATE/host-state.tmp" "$STATE/host-state"
}

cmd_up() {
  require_root
  "$here/deps.sh"
  BIN=$("$here/build.sh" | tail -n 1)
  mkdir -p "$STATE" "$LOGS" "$PIDS"
  local any_alive=
  for c in "${COMPONENTS[@]}"; do alive "$c" && any_alive=1; done
  if [ -z "$any_alive" ]; then
    check_port_free "$APISERVER_PORT" kube-apiserver
    check_port_free "$ETCD_PORT" etcd
    check_port_free "$ETCD_PEER_PORT" etcd
    for p in 10257 10259 10248 10250; do check_port_free $p "a Kubernetes component"; done
  fi
  save_host_state
  make_pki
  write_configs
  network_up
  start etcd
  start containerd
  "$here/images.sh" >&2 || die "loading the local images failed: see the output above"
  start apiserver
  start controller-manager
  start scheduler
  start kubelet
  wait_for "node $NODE_NAME" 120 node_ready ||
    die "node $NODE_NAME is not Ready after 120 s: see $LOGS/kubelet.log and 'kubectl describe node $NODE_NAME'"
  wait_for "default service account" 60 kubectl_admin -n default get serviceaccount default ||
    die "the default service account was not created: see $LOGS/controller-manager.log"
  echo "KUBECONFIG=$ADMIN_KUBECONFIG"
}

node_ready() {
  [ "$(kubectl_admin get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# --- down ---------------------------------------------------------------------------------------------

cmd_down() {
  require_root
  [ -d "$STATE" ] || { log "nothing to do: $STATE does not exist"; return 0; }
  if alive apiserver && alive kubelet && alive containerd; then
    # Let the kubelet tear pods down properly, so that CNI releases their network namespaces.
    kubectl_admin delete jobs --all --all-namespaces --wait=false >/dev/null 2>&1 || true
    kubectl_admin delete pods --all --all-namespaces --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
    wait_for "pods stopped" 60 no_tasks || log "some containers are still running: killing them"
  fi
  stop kubelet
  if alive containerd; then
    local t
    for t in $(ctr --address "$CONTAINERD_ADDRESS" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$CONTAINERD_ADDRESS" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
      ctr --address "$CONTAINERD_ADDRESS" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
    done
  fi
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop "${COMPONENTS[$i]}"; done
  # Shims are containerd's children that outlive it: end the ones serving this cluster's socket.
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $CONTAINERD_ADDRESS" 2>/dev/null || true
  # Unmount everything under the state directory, deepest first.
  awk -v s="$STATE/" 'index($2, s) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  restore_host_state
  ip link del "$CNI_BRIDGE" 2>/dev/null || true
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  rm -rf "$STATE"
  log "down: no process, mount, bridge or state left"
}

no_tasks() { [ -z "$(ctr --address "$CONTAINERD_ADDRESS" -n k8s.io tasks ls -q 2>/dev/null)" ]; }

restore_host_state() {
  [ -f "$STATE/host-state" ] || return 0
  local kind value
  while read -r kind value; do
    [ "$kind" = sysctl ] && sysctl -qw "$value" >/dev/null
  done <"$STATE/host-state"
  # Network namespaces and cgroups the cluster created, that is: those that were not there before.
  local n
  for n in /run/netns/cni-*; do
    [ -e "$n" ] || continue
    grep -qxF "netns $n" "$STATE/host-state" && continue
    ip netns delete "$(basename "$n")" 2>/dev/null || { umount "$n" 2>/dev/null; rm -f "$n"; }
  done
  local d
  for d in /sys/fs/cgroup/*/kubepods; do
    [ -d "$d" ] || continue
    grep -qxF "cgroup $d" "$STATE/host-state" && continue
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

# --- status and restart -------------------------------------------------------------------------------

cmd_status() {
  local c rc=0
  for c in "${COMPONENTS[@]}"; do
    if alive "$c"; then printf '%-19s running (pid %s), log %s\n' "$c" "$(pid_of "$c")" "$LOGS/$c.log"
    else printf '%-19s stopped\n' "$c"; rc=1; fi
  done
  if alive apiserver; then kubectl_admin get nodes -o wide || rc=1; fi
  [ $rc -eq 0 ] && echo "KUBECONFIG=$ADMIN_KUBECONFIG"
  return $rc
}

cmd_restart() {
  require_root
  local c=${1:?restart needs a component: one of ${COMPONENTS[*]}}
  command_for "$c" >/dev/null
  alive "$c" || die "$c is not running: start the cluster with 'make cluster-up'"
  stop "$c"
  start "$c"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
restart) shift; cmd_restart "$@" ;;
*) die "usage: $0 up|down|status|restart COMPONENT" ;;
esac
