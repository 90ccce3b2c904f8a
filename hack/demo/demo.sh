#!/usr/bin/env bash
# demo.sh shows the in-cluster story on the local cluster (docs/in-cluster.md): it brings the cluster up
# (hack/cluster/cluster.sh up; a no-op when it runs), builds the go-test plugin's sample image
# (hack/cluster/suites.sh go-test), deploys the system under test (hack/demo/sut.yaml) in the namespace
# $DEMO_NAMESPACE, runs the go-test plugin's in-cluster suite against it with kubectl testrun and brings
# the JUnit report home to $DEMO_REPORTS. The namespace is deleted at the end.
#
# Usage: hack/demo/demo.sh   (make demo builds the plugin into bin/ first and puts it on PATH)
# Environment: DEMO_NAMESPACE (default testrun-demo), DEMO_REPORTS (default: a new temporary directory).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
ns=${DEMO_NAMESPACE:-testrun-demo}
reports=${DEMO_REPORTS:-$(mktemp -d "${TMPDIR:-/tmp}/testrun-demo.XXXXXX")/reports}

say() { printf '\n== %s\n' "$*" >&2; }

command -v kubectl-testrun >/dev/null || {
  echo "demo: kubectl-testrun is not on PATH: run make demo (it builds bin/kubectl-testrun)" >&2
  exit 1
}
# The sample suite compiles at low priority while the cluster comes up: on a fresh machine it takes the CPU
# the cluster's build and start leave idle, and the image build below only links. Its errors, if any, show
# again in that build.
nice -n 10 "$root/hack/cluster/suites.sh" --compile go-test >/dev/null 2>&1 &
compile=$!
say "the local cluster (hack/cluster/cluster.sh up)"
eval "$("$root/hack/cluster/cluster.sh" up | tail -n 1)"
export KUBECONFIG
kubectl=$("$root/hack/cluster/build.sh" | tail -n 1)/kubectl
say "the go-test plugin's sample image (hack/cluster/suites.sh go-test)"
wait "$compile" || true
image=$("$root/hack/cluster/suites.sh" go-test | tail -n 1)

say "the system under test: Deployment and Service sut in namespace $ns"
"$kubectl" create namespace "$ns" --dry-run=client -o yaml | "$kubectl" apply -f - >/dev/null
trap '"$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT
"$kubectl" -n "$ns" apply -f "$here/sut.yaml"
"$kubectl" -n "$ns" rollout status deployment/sut --timeout 120s

say "the suite against it, by its Service name, with its JUnit report brought home"
set -x
kubectl-testrun run sut-tests --plugin go-test --image "$image" -n "$ns" --reports "$reports" \
  --env GO_TEST_BINARY=/tests/sut.test --env GO_TEST_PACKAGE=sut
{ set +x; } 2>/dev/null
say "reports in $reports: $(cd "$reports" && printf '%s ' *)"
