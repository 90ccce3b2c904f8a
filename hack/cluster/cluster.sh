#!/usr/bin/env bash
# cluster.sh runs a real single-node Kubernetes cluster on this machine for the project's own tests:
# etcd, containerd, runc and nftables from Debian; kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kube-proxy (nftables mode) and CoreDNS built from the Go module proxy (build.sh); images built
# locally (images.sh). No Docker, no registry. Every component is a process on this machine.
#
# Networking (docs/development.md has the picture): pods sit on the bridge CNI_BRIDGE, the node address
# NODE_IP alone on the bridge NODE_BRIDGE; kube-proxy serves the Service range, CoreDNS answers the cluster
# domain on NODE_IP behind the kube-dns Service and answers every other name NXDOMAIN itself. The nftables
# table GUARD_TABLE keeps every packet of the cluster on this machine: a pod's packet may only be forwarded
# onto the pods' bridge, a packet for an unassigned Service address is rejected at once, and the Service
# range is routed onto the portless NODE_BRIDGE, never along the default route.
#
# Usage: hack/cluster/cluster.sh up | down | status | restart COMPONENT
#   up       start everything (idempotent: starts what is not running); the last line printed is
#            KUBECONFIG=<admin kubeconfig>
#   down     stop exactly what up started, unmount what it mounted, remove its routes, links and nftables
#            tables, restore sysctls, remove all state; then compare the host with what up found and fail
#            loudly, listing the difference, when anything is left
#   status   show each component and the node
#   restart  stop and start one component (apiserver, controller-manager, scheduler, kubelet, kube-proxy,
#            coredns, etcd, containerd): the end-to-end tests use it to prove that runs survive an API
#            server restart
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

STATE=$TESTRUN_CLUSTER_DIR
PKI=$STATE/pki
LOGS=$STATE/logs
PIDS=$STATE/pids
BIN=$(k8s_bin_dir)
KUBECTL=$BIN/kubectl
# Start order; down stops them in reverse. kube-proxy reads its node's addresses from the Node object, so it
# starts after the kubelet has registered the node.
COMPONENTS=(etcd containerd apiserver controller-manager scheduler kubelet kube-proxy coredns)
# What up (or the kubelet, the CNI bridge plugin, kube-proxy) may change; down puts back what up found and
# checks every one of them. up itself turns on IPv4 forwarding (pod to Service to pod crosses the node's IP
# layer; the CNI bridge plugin would do it at the first pod anyway) and makes bridged traffic pass the
# netfilter hooks (so that a Service's reply on the pods' bridge is translated back).
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.ipv4.conf.default.forwarding
  net.ipv6.conf.all.forwarding net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
  net.bridge.bridge-nf-call-ip6tables net.netfilter.nf_conntrack_max
  net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_tcp_timeout_close_wait
  net.netfilter.nf_conntrack_tcp_be_liberal net.netfilter.nf_conntrack_udp_timeout
  net.netfilter.nf_conntrack_udp_timeout_stream)

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
    if [ -n "$san" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else echo "extendedKeyUsage=clientAuth"; fi
  } >"$ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

# kubeconfig NAME CERT: a kubeconfig for the API server on loopback authenticating with CERT. (The API server
# listens on every address so that pods reach it through the kubernetes Service; the guard admits only
# connections that come in over loopback or the cluster's bridges.) Written directly, not with kubectl: it
# needs no built binary, so cmd_up makes it while the components still build.
kubeconfig() {
  local file=$STATE/$1.kubeconfig crt=$2
  [ -f "$file" ] && return 0
  (
    umask 077
    cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: testrun
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$crt.crt")
    client-key-data: $(base64 -w0 "$PKI/$crt.key")
contexts:
- name: testrun
  context: {cluster: testrun, user: $1, namespace: default}
current-context: testrun
EOF
  )
  mv "$file.tmp" "$file"
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
  # kube-proxy's user is bound to the system:node-proxier role by default; CoreDNS's is bound by cluster_objects.
  cert kube-proxy "/CN=system:kube-proxy"
  cert coredns "/CN=kubectl-testrun:coredns"
  kubeconfig admin admin
  kubeconfig kube-proxy kube-proxy
  kubeconfig coredns coredns
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kubelet kubelet
}

# --- configuration files ------------------------------------------------------------------------------

# write_if_changed FILE: write stdin to FILE only when it differs, so that a component watching its file
# (kube-proxy exits when its configuration file changes) is left alone by a repeated up.
write_if_changed() {
  local tmp=$1.tmp.$$
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

write_configs() {
  mkdir -p "$STATE/containerd" "$STATE/cni/net.d" "$STATE/kubelet" "$STATE/pod-logs" "$STATE/kube-proxy" "$STATE/coredns"
  write_if_changed "$STATE/containerd/config.toml" <<EOF
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
  write_if_changed "$STATE/cni/net.d/10-testrun.conflist" <<EOF
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
  write_if_changed "$STATE/kubelet/config.yaml" <<EOF
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
clusterDomain: $CLUSTER_DOMAIN
clusterDNS: [$CLUSTER_DNS_IP]
# Pods with dnsPolicy Default get this file instead of the host's, whose resolver is off this machine.
resolvConf: $STATE/kubelet/resolv.conf
serializeImagePulls: false
# Images are loaded by hand and cannot be pulled again: never garbage-collect them, never evict for disk.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
makeIPTablesUtilChains: false
EOF
  echo "nameserver $NODE_IP" | write_if_changed "$STATE/kubelet/resolv.conf"
  # The conntrack settings are 0: kube-proxy leaves the host's conntrack sysctls as they are. oomScoreAdj 0:
  # root here may not lower it. NodePorts answer on the node address only.
  write_if_changed "$STATE/kube-proxy/config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection: {kubeconfig: $STATE/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
enableProfiling: false
clusterCIDR: $POD_CIDR
detectLocalMode: ClusterCIDR
nodePortAddresses: [$NODE_IP/32]
oomScoreAdj: 0
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s, udpTimeout: 0s, udpStreamTimeout: 0s}
EOF
  # The cluster domain and the reverse zones come from the API; every other name is answered NXDOMAIN here,
  # never forwarded.
  write_if_changed "$STATE/coredns/Corefile" <<EOF
$CLUSTER_DOMAIN:53 in-addr.arpa:53 ip6.arpa:53 {
    bind $NODE_IP
    ready 127.0.0.1:$COREDNS_READY_PORT
    errors
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $STATE/coredns.kubeconfig testrun
        pods insecure
        ttl 5
    }
}
.:53 {
    bind $NODE_IP
    errors
    template ANY ANY {
        rcode NXDOMAIN
    }
}
EOF
}

# cluster_objects: the API objects the components need: CoreDNS's read access, and the kube-dns Service
# (the kubelet's clusterDNS) whose one endpoint is CoreDNS on the node address.
cluster_objects() {
  kubectl_admin apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "kubectl-testrun:coredns"}
rules:
- apiGroups: [""]
  resources: [services, endpoints, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "kubectl-testrun:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "kubectl-testrun:coredns"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "kubectl-testrun:coredns"}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $CLUSTER_DNS_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-node
  namespace: kube-system
  labels:
    kubernetes.io/service-name: kube-dns
    endpointslice.kubernetes.io/managed-by: kubectl-testrun.local-cluster
addressType: IPv4
endpoints:
- addresses: [$NODE_IP]
  conditions: {ready: true}
  nodeName: $NODE_NAME
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
EOF
}

# --- processes ----------------------------------------------------------------------------------------

command_for() {
  case $1 in
  etcd)
    echo etcd --name "$NODE_NAME" --data-dir "$STATE/etcd" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "$NODE_NAME=http://127.0.0.1:$ETCD_PEER_PORT"
    ;;
  containerd)
    echo containerd --config "$STATE/containerd/config.toml"
    ;;
  apiserver)
    # Open watches end 2 s after SIGTERM: otherwise the API server waits for them up to its 60 s request
    # timeout, and `restart apiserver` kills it after 10 s, an outage the controllers then back off from.
    echo "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
      --bind-address 0.0.0.0 --secure-port "$APISERVER_PORT" --advertise-address "$NODE_IP" \
      --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" --client-ca-file "$PKI/ca.crt" \
      --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
      --kubelet-preferred-address-types InternalIP \
      --service-cluster-ip-range "$SERVICE_CIDR" \
      --service-account-issuer https://kubernetes.default.svc.cluster.local \
      --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
      --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction --allow-privileged=true \
      --shutdown-watch-termination-grace-period 2s --profiling=false
    ;;
  controller-manager)
    echo "$BIN/kube-controller-manager" --kubeconfig "$STATE/controller-manager.kubeconfig" \
      --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
      --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
      --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
      --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
      --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" --profiling=false
    ;;
  scheduler)
    echo "$BIN/kube-scheduler" --kubeconfig "$STATE/scheduler.kubeconfig" \
      --authentication-kubeconfig "$STATE/scheduler.kubeconfig" --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
      --bind-address 127.0.0.1 --leader-elect=false --profiling=false
    ;;
  kubelet)
    echo "$BIN/kubelet" --config "$STATE/kubelet/config.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
      --root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet/pki" \
      --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"
    ;;
  kube-proxy)
    echo "$BIN/kube-proxy" --config "$STATE/kube-proxy/config.yaml"
    ;;
  coredns)
    echo "$BIN/coredns" -conf "$STATE/coredns/Corefile"
    ;;
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
  kube-proxy) curl -sf "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz" ;;
  coredns) curl -sf "http://127.0.0.1:$COREDNS_READY_PORT/ready" ;;
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
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
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
  guard_up
  # The Service range goes onto the portless node bridge: a packet for it that kube-proxy did not translate
  # (an unassigned address) never takes the default route, even without the guard.
  ip route replace "$SERVICE_CIDR" dev "$NODE_BRIDGE"
  [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || modprobe br_netfilter 2>/dev/null ||
    die "the kernel has no br_netfilter (no /proc/sys/net/bridge): Services cannot answer pods on the same bridge"
  # Forwarding only now that the guard is in place.
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1 >/dev/null
}

# guard_up installs (or atomically replaces) the nftables table that keeps the cluster's packets on this
# machine. Its chains run just before the filter chains (kube-proxy's among them): a packet one of them
# rejects is gone whatever a later chain accepts. By then kube-proxy's DNAT has happened, so a destination
# still in the Service range is an address no Service has.
guard_up() {
  command -v nft >/dev/null || die "nft is not on PATH: install nftables (hack/cluster/deps.sh)"
  nft -f - <<EOF || die "installing the nftables table $GUARD_TABLE failed: see nft's error above"
table inet $GUARD_TABLE
delete table inet $GUARD_TABLE
table inet $GUARD_TABLE {
  comment "kubectl-testrun local cluster: keeps its packets on this machine; removed by cluster.sh down"
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    iifname "$CNI_BRIDGE" oifname != "$CNI_BRIDGE" counter reject with icmpx admin-prohibited comment "a pod's packet is forwarded onto the pods' bridge only"
    ip saddr $POD_CIDR oifname != "$CNI_BRIDGE" counter reject with icmpx admin-prohibited comment "whatever interface it came in on"
    ip daddr $SERVICE_CIDR counter reject with icmpx admin-prohibited comment "unassigned Service address"
    oifname "$CNI_BRIDGE" iifname != "$CNI_BRIDGE" counter drop comment "nothing from elsewhere is forwarded to the pods"
  }
  chain output {
    type filter hook output priority filter - 10; policy accept;
    ip daddr $SERVICE_CIDR counter reject with icmpx admin-prohibited comment "unassigned Service address"
    ip daddr $POD_CIDR oifname != "$CNI_BRIDGE" counter reject with icmpx admin-prohibited comment "pods are on their bridge only"
  }
  chain input {
    type filter hook input priority filter - 10; policy accept;
    tcp dport $APISERVER_PORT iifname != { "lo", "$NODE_BRIDGE", "$CNI_BRIDGE" } counter reject with tcp reset comment "the API server is for this machine and its pods"
  }
}
EOF
}

# host_snapshot prints what the cluster may change on the host: links, routes, policy rules, the whole
# nftables ruleset (iptables-nft included), the sysctls of SYSCTLS, network namespaces, kubepods cgroups,
# mounts of the cluster and processes of the cluster. up saves it before it changes anything; down compares.
host_snapshot() {
  echo "# links"
  ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort
  echo "# IPv4 routes"
  ip -4 route show table all | sort
  echo "# IPv6 routes (without expiry times)"
  ip -6 route show table all | sed -E 's/ expires [0-9]+sec//' | sort
  echo "# policy rules"
  ip -4 rule show
  ip -6 rule show
  echo "# nftables (without counters)"
  if command -v nft >/dev/null; then nft -s list ruleset; else echo "nft not installed"; fi
  echo "# sysctls"
  local s
  for s in "${SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s" 2>/dev/null || echo absent)"; done
  echo "# network namespaces"
  find /run/netns -mindepth 1 -maxdepth 1 2>/dev/null | sort
  echo "# kubepods cgroups"
  find /sys/fs/cgroup -maxdepth 2 -name 'kubepods*' 2>/dev/null | sort
  echo "# mounts of the cluster"
  awk -v s="$STATE/" 'index($2, s) == 1 || $2 ~ /^\/run\/netns\// || $2 ~ /kubepods/ {print $2}' /proc/self/mounts | sort
  echo "# processes of the cluster"
  pgrep -af -- "$STATE" | sort -k2 || true
}

save_host_state() {
  [ -f "$STATE/host-state" ] && return 0
  {
    for s in "${SYSCTLS[@]}"; do echo "sysctl $s=$(sysctl -n "$s" 2>/dev/null || echo absent)"; done
    for n in /run/netns/*; do [ -e "$n" ] && echo "netns $n"; done
    for d in /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods; do [ -d "$d" ] && echo "cgroup $d"; done
  } >"$STATE/host-state.$$"
  host_snapshot >"$STATE/host-snapshot.$$"
  mv "$STATE/host-snapshot.$$" "$STATE/host-snapshot"
  mv "$STATE/host-state.$$" "$STATE/host-state"
}

cmd_up() {
  require_root
  # The build needs only Go and the module proxy: on a fresh machine it runs while apt installs the packages.
  local built
  built=$(mktemp "${TMPDIR:-/tmp}/cluster-build.XXXXXX")
  "$here/build.sh" >"$built" &
  local build_pid=$!
  if ! "$here/deps.sh"; then
    kill "$build_pid" 2>/dev/null || true
    wait "$build_pid" 2>/dev/null || true
    rm -f "$built"
    die "installing the Debian packages failed: see the output above"
  fi
  # The certificates and kubeconfigs need no built binary: made while the components build.
  mkdir -p "$STATE" "$LOGS" "$PIDS"
  make_pki
  wait "$build_pid" || {
    rm -f "$built"
    die "building the components failed: see the output above"
  }
  BIN=$(tail -n 1 "$built")
  rm -f "$built"
  local any_alive=
  for c in "${COMPONENTS[@]}"; do alive "$c" && any_alive=1; done
  if [ -z "$any_alive" ]; then
    check_port_free "$APISERVER_PORT" kube-apiserver
    check_port_free "$ETCD_PORT" etcd
    check_port_free "$ETCD_PEER_PORT" etcd
    for p in 10257 10259 10248 10250; do check_port_free $p "a Kubernetes component"; done
    check_port_free "$KUBE_PROXY_HEALTHZ_PORT" kube-proxy
    check_port_free "$KUBE_PROXY_METRICS_PORT" kube-proxy
    check_port_free "$COREDNS_READY_PORT" coredns
  fi
  save_host_state
  write_configs
  network_up
  start etcd
  start containerd
  "$here/images.sh" >&2 || die "loading the local images failed: see the output above"
  start apiserver
  cluster_objects || die "creating CoreDNS's role and the kube-dns Service failed: see kubectl's error above"
  start controller-manager
  start scheduler
  start kubelet
  start kube-proxy
  start coredns
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
  [ -d "$STATE" ] || {
    log "nothing to do: $STATE does not exist"
    return 0
  }
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
  network_down
  restore_host_state
  ip link del "$CNI_BRIDGE" 2>/dev/null || true
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  verify_down
  rm -rf "$STATE"
  log "down: no process, mount, link, route, rule, nftables table, sysctl change or state left"
}

# network_down removes kube-proxy's nftables tables, the guard and the Service route.
network_down() {
  if command -v nft >/dev/null; then
    local family table
    while read -r _ family table; do
      case $table in kube-proxy | "$GUARD_TABLE") nft delete table "$family" "$table" || true ;; esac
    done < <(nft list tables 2>/dev/null)
  fi
  ip route del "$SERVICE_CIDR" dev "$NODE_BRIDGE" 2>/dev/null || true
}

# verify_down compares the host with the snapshot up took before it changed anything, and fails listing
# every difference. The state directory then keeps only what a second down needs.
verify_down() {
  local before=$STATE/host-snapshot after
  if [ ! -f "$before" ]; then
    log "warning: no snapshot from up in $STATE (a cluster brought up by an older cluster.sh): down cannot verify that nothing is left"
    return 0
  fi
  after=$(host_snapshot)
  if ! diff -u --label "before up" --label "after down" "$before" - <<<"$after" >&2; then
    find "$STATE" -mindepth 1 -maxdepth 1 ! -name host-snapshot ! -name host-state -exec rm -rf {} + 2>/dev/null || true
    die "down left the differences above on this machine (- before up, + after down): remove them by hand or run down again"
  fi
}

no_tasks() { [ -z "$(ctr --address "$CONTAINERD_ADDRESS" -n k8s.io tasks ls -q 2>/dev/null)" ]; }

restore_host_state() {
  [ -f "$STATE/host-state" ] || return 0
  local kind value
  while read -r kind value; do
    [ "$kind" = sysctl ] && [ "${value#*=}" != absent ] && { sysctl -qw "$value" >/dev/null || log "could not restore sysctl $value"; }
  done <"$STATE/host-state"
  # Network namespaces and cgroups the cluster created, that is: those that were not there before.
  local n
  for n in /run/netns/cni-*; do
    [ -e "$n" ] || continue
    grep -qxF "netns $n" "$STATE/host-state" && continue
    ip netns delete "$(basename "$n")" 2>/dev/null || {
      umount "$n" 2>/dev/null
      rm -f "$n"
    }
  done
  local d
  for d in /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods; do
    [ -d "$d" ] || continue
    grep -qxF "cgroup $d" "$STATE/host-state" && continue
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

# --- status and restart -------------------------------------------------------------------------------

cmd_status() {
  local c rc=0
  for c in "${COMPONENTS[@]}"; do
    if alive "$c"; then
      printf '%-19s running (pid %s), log %s\n' "$c" "$(pid_of "$c")" "$LOGS/$c.log"
    else
      printf '%-19s stopped\n' "$c"
      rc=1
    fi
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
restart)
  shift
  cmd_restart "$@"
  ;;
*) die "usage: $0 up|down|status|restart COMPONENT" ;;
esac
