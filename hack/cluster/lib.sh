# shellcheck shell=bash
# lib.sh: shared settings and helpers for the hack/cluster scripts. Source it; do not run it.
# Every setting can be overridden from the environment.

_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The Kubernetes release the local cluster runs: the version in hack/cluster/k8s/go.mod.
k8s_version() {
  awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3; exit} $1 == "k8s.io/kubernetes" {print $2; exit}' "$_lib_dir/k8s/go.mod"
}

# Binaries are cached by version outside the repository; all cluster state lives in one directory.
: "${TESTRUN_CACHE_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-testrun}"
: "${TESTRUN_CLUSTER_DIR:=/var/lib/kubectl-testrun-cluster}"
k8s_bin_dir() { echo "$TESTRUN_CACHE_DIR/kubernetes/$(k8s_version)/bin"; }

# Every Go build of the harness (build.sh, images.sh, suites.sh) uses the compile flags of `make build`, so a
# package one of them compiled is in the Go build cache for the others (different flags are different cache
# entries: the standard library alone would be compiled twice). -dwarf=false: the binaries are linked with -w,
# which throws DWARF away, so the compiler need not make it (10-20 % of the compile time of the big generated
# packages). -c=1: one backend thread per compile. go build already runs one compile per core and gives each
# a second backend thread on two cores (-c=2), which costs CPU while both cores are busy anyway (a cold
# client-go took a few per cent less CPU with -c=1, about as much as one run differs from the next).
# BUILD_ENV is their environment: static binaries, and the compiler and linker with GOGC=400, about a fifth
# less CPU spent on garbage collection, for a larger heap that GOMEMLIMIT bounds (not part of the build
# cache's key: it does not change what is built). docs/development.md has the measurements.
# shellcheck disable=SC2034 # used by the scripts that source this file
GO_BUILD_FLAGS=(-trimpath "-gcflags=all=-dwarf=false -c=1")
: "${BUILD_GOGC:=400}"
: "${BUILD_GOMEMLIMIT:=4GiB}"
# shellcheck disable=SC2034 # used by the scripts that source this file
BUILD_ENV=(CGO_ENABLED=0 GOGC="$BUILD_GOGC" GOMEMLIMIT="$BUILD_GOMEMLIMIT")

# Network: the node's address sits alone on a bridge with no ports, so it is reachable from this machine only.
: "${NODE_NAME:=testrun-node}"
: "${NODE_BRIDGE:=ktr-node0}"
: "${NODE_IP:=10.201.0.1}"
: "${CNI_BRIDGE:=ktr-cni0}"
: "${POD_CIDR:=10.202.0.0/24}"
: "${SERVICE_CIDR:=10.203.0.0/24}"
: "${SERVICE_IP:=10.203.0.1}"
# Cluster DNS: the kube-dns Service's ClusterIP (the kubelet's clusterDNS); CoreDNS itself listens on NODE_IP.
: "${CLUSTER_DNS_IP:=10.203.0.10}"
: "${CLUSTER_DOMAIN:=cluster.local}"
: "${COREDNS_READY_PORT:=18181}"
: "${KUBE_PROXY_HEALTHZ_PORT:=10256}"
: "${KUBE_PROXY_METRICS_PORT:=10249}"
# The nftables table of the guard that keeps every packet of the cluster on this machine (cluster.sh).
: "${GUARD_TABLE:=kubectl_testrun_guard}"
: "${APISERVER_PORT:=6443}"
: "${ETCD_PORT:=12379}"
: "${ETCD_PEER_PORT:=12380}"
: "${PAUSE_IMAGE:=registry.k8s.io/pause:3.10}"
: "${CONTAINERD_ADDRESS:=$TESTRUN_CLUSTER_DIR/containerd/containerd.sock}"
export TESTRUN_CACHE_DIR TESTRUN_CLUSTER_DIR CONTAINERD_ADDRESS PAUSE_IMAGE

# shellcheck disable=SC2034 # used by the scripts that source this file
ADMIN_KUBECONFIG=$TESTRUN_CLUSTER_DIR/admin.kubeconfig

log() { printf 'cluster: %s\n' "$*" >&2; }
die() {
  printf 'cluster: error: %s\n' "$*" >&2
  exit 1
}
