//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// printNetwork is a test that prints its hostname, then the IPv4 addresses of its network namespace.
const printNetwork = "hostname; ip -4 -o addr"

// nodeInternalIP returns the InternalIP of the cluster's node.
func nodeInternalIP(t *testing.T) string {
	t.Helper()
	nodes, err := client.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("listing the nodes: %v (%d nodes)", err, len(nodes.Items))
	}
	for _, a := range nodes.Items[0].Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	t.Fatalf("node %q has no InternalIP: %v", nodes.Items[0].Name, nodes.Items[0].Status.Addresses)
	return ""
}

// 1. --overrides patches the pod the way kubectl run --overrides does: a run with hostNetwork: true (what
// Kubernetes' conformance suite needs for some specs) sees the node's network, hostname and addresses,
// where the same run without it sees the pod's own.
func TestOverridesRunTheTestOnTheHostNetwork(t *testing.T) {
	ns := namespace(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	nodeIP := nodeInternalIP(t)

	r := testrun(t, "run", "hostnet", "-n", ns, "--image", busybox, "--overrides", `{"spec":{"hostNetwork":true}}`, "--", "sh", "-c", printNetwork)
	wantCode(t, r, 0)
	out := lines(r.stdout)
	if len(out) == 0 || out[0] != host {
		t.Errorf("the test's hostname is not the node's %q:\n%s", host, r)
	}
	if !strings.Contains(r.stdout, " "+nodeIP+"/") {
		t.Errorf("the test does not see the node's address %s among its own:\n%s", nodeIP, r)
	}

	r = testrun(t, "run", "podnet", "-n", ns, "--image", busybox, "--", "sh", "-c", printNetwork)
	wantCode(t, r, 0)
	if out := lines(r.stdout); len(out) == 0 || out[0] == host || strings.Contains(r.stdout, " "+nodeIP+"/") {
		t.Errorf("without --overrides the test should see the pod's network, not the node's %q, %s:\n%s", host, nodeIP, r)
	}
	assertNothingLeft(t, ns)
}

// sidecarDefinition adds a native sidecar (an init container that keeps running) through spec.podTemplatePatch:
// it writes a line into a volume the patch adds and mounts in the test container too, and keeps running. The
// test waits for the line, prints it and writes a report.
const sidecarDefinition = `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: with-sidecar
spec:
  image: docker.io/library/busybox:1.37
  command:
  - sh
  - -c
  - |
    for i in $(seq 100); do [ -s /shared/greeting ] && break; sleep 0.1; done
    cat /shared/greeting
    echo ok > "$TESTRUN_REPORT_DIR/result.txt"
  podTemplatePatch:
    spec:
      volumes:
      - name: shared
        emptyDir: {}
      initContainers:
      - name: sidecar
        image: docker.io/library/busybox:1.37
        restartPolicy: Always
        command: ["sh", "-c", "echo hello from the sidecar > /shared/greeting; exec sleep 3600"]
        volumeMounts:
        - name: shared
          mountPath: /shared
      containers:
      - name: test
        volumeMounts:
        - name: shared
          mountPath: /shared
`

// 2. A definition's podTemplatePatch adds a sidecar: the test sees what the sidecar wrote, the run ends when
// the test ends (the sidecar, still running, does not keep it), and the reports come home.
func TestDefinitionPatchAddsASidecarWhoseOutputIsVisible(t *testing.T) {
	ns := namespace(t)
	file := filepath.Join(t.TempDir(), "with-sidecar.yaml")
	if err := os.WriteFile(file, []byte(sidecarDefinition), 0o600); err != nil {
		t.Fatal(err)
	}
	reports := filepath.Join(t.TempDir(), "reports")
	r := testrun(t, "run", "-f", file, "-n", ns, "--reports", reports)
	wantCode(t, r, 0)
	if r.stdout != "hello from the sidecar\n" {
		t.Errorf("stdout = %q, want the sidecar's line\n%s", r.stdout, r)
	}
	got, err := os.ReadFile(filepath.Join(reports, "result.txt"))
	if err != nil || string(got) != "ok\n" {
		t.Errorf("the report did not come home: %q, %v\n%s", got, err, r)
	}
	assertNothingLeft(t, ns)
}

// jobManifest is a Job as `kubectl create job --dry-run=client -o yaml` writes it, with a label, env from a
// literal and from the downward API, a deadline, backoffLimit and a test that writes a report.
const jobManifest = `apiVersion: batch/v1
kind: Job
metadata:
  creationTimestamp: null
  name: from-manifest
  labels:
    suite: manifest
spec:
  backoffLimit: 4
  activeDeadlineSeconds: 600
  template:
    metadata:
      creationTimestamp: null
      annotations:
        example.com/owner: qa
    spec:
      containers:
      - name: suite
        image: docker.io/library/busybox:1.37
        command:
        - sh
        - -c
        - echo "$GREETING from $POD_NAME"; printf '<testsuite tests="1" failures="0"><testcase name="a"/></testsuite>' > "$TESTRUN_REPORT_DIR/junit.xml"
        env:
        - name: GREETING
          value: hello
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        resources: {}
      restartPolicy: Never
status: {}
`

// 3. run -f takes a batch/v1 Job manifest and makes it a run: the manifest's container is the test (its env,
// literal and from the downward API, reaches it), the plugin's holder and report volume are added, the
// manifest's labels are on the Job, and the report comes home.
func TestRunJobManifestBringsItsReportHome(t *testing.T) {
	ns := namespace(t)
	file := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(file, []byte(jobManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	reports := filepath.Join(t.TempDir(), "reports")
	r := testrun(t, "run", "-f", file, "-n", ns, "--reports", reports, "--keep")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "hello from from-manifest-") {
		t.Errorf("stdout = %q, want the test's greeting with its pod's name\n%s", r.stdout, r)
	}
	wantStderr(t, r, "junit: 1 test, 0 failed")
	if got, err := os.ReadFile(filepath.Join(reports, "junit.xml")); err != nil || !strings.Contains(string(got), `<testcase name="a"/>`) {
		t.Errorf("the report did not come home: %q, %v", got, err)
	}
	jobs, err := client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "suite=manifest," + managedBy})
	if err != nil || len(jobs.Items) != 1 {
		t.Fatalf("want the kept Job with the manifest's label and the plugin's, got %v (%v)", jobs, err)
	}
	job := jobs.Items[0]
	pod := job.Spec.Template
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "test,holder" || pod.Annotations["example.com/owner"] != "qa" || *job.Spec.BackoffLimit != 0 {
		t.Errorf("the Job is not the manifest made a run: containers %v, pod annotations %v, backoffLimit %d", names, pod.Annotations, *job.Spec.BackoffLimit)
	}
	wantCode(t, testrun(t, "delete", job.Name, "-n", ns), 0)
	// delete returns once the Job is deleted; its pod goes with the garbage collector's next pass.
	waitRunPodsGone(t, ns, 30*time.Second, "the deleted run's pod to go")
	assertNothingLeft(t, ns)
}

// 4. A patch that removes what the plugin needs of the pod is refused before anything is created, with exit
// code 125 and the reason, from the flag and from a definition.
func TestPatchRemovingTheHolderIsRefusedBeforeAnythingIsCreated(t *testing.T) {
	ns := namespace(t)
	definition := filepath.Join(t.TempDir(), "no-holder.yaml")
	if err := os.WriteFile(definition, []byte(`apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: no-holder
spec:
  image: docker.io/library/busybox:1.37
  podTemplatePatch:
    spec:
      containers:
      - name: holder
        $patch: delete
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"json patch", []string{"run", "nohold", "--image", busybox, "--override-type", "json", "--overrides", `[{"op":"remove","path":"/spec/containers/1"}]`},
			[]string{`--overrides: the patch removes the holder container "holder"`}},
		{"strategic patch", []string{"run", "nohold", "--image", busybox, "--overrides", `{"spec":{"shareProcessNamespace":false}}`},
			[]string{"--overrides: the patch turns off shareProcessNamespace"}},
		{"definition", []string{"run", "-f", definition},
			[]string{`no-holder.yaml": line 7: spec.podTemplatePatch: the patch removes the holder container "holder"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testrun(t, append(tt.args, "-n", ns)...)
			wantCode(t, r, 125)
			wantStderr(t, r, tt.want...)
		})
	}
	jobs, err := client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(jobs.Items) != 0 {
		t.Errorf("refused runs created Jobs: %v (%v)", jobs.Items, err)
	}
}
