# lib.sh: shared settings and helpers for the hack/cluster scripts. Source it; do not run it.
# Every setting can be overridden from the environment.

# The Kubernetes release the local cluster runs: the version in hack/cluster/k8s/go.mod.
k8s_version() {
  awk '/^require k8s.io\/kubernetes /{print $3}' "$(dirname "${BASH_SOURCE[0]}")/k8s/go.mod"
}

: "${TESTRUN_CACHE_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-testrun}"
: "${TESTRUN_CLUSTER_DIR:=/var/lib/kubectl-testrun-cluster}"

k8s_bin_dir() { echo "$TESTRUN_CACHE_DIR/kubernetes/$(k8s_version)/bin"; }

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }
