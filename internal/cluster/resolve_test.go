package cluster

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

func TestResolveRunFindsARunTheWayAUserNamesIt(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	var objs []runtime.Object
	for i, name := range []string{"smoke-x7k2p", "smoke-b4c5d", "smoke-tests-q9r8s", "nightly-z2z2z"} {
		j, p := runObjects(name, "ci", t0.Add(time.Duration(i)*time.Minute), runningState())
		objs = append(objs, j, p)
	}
	objs = append(objs, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "foreign", Namespace: "ci"}})
	client := fake.NewClientset(objs...)

	tests := []struct {
		ref, want, note, err string
	}{
		{ref: "smoke-x7k2p", want: "smoke-x7k2p"},
		{ref: "run/smoke-x7k2p", want: "smoke-x7k2p"},
		{ref: "job/smoke-x7k2p", want: "smoke-x7k2p"},
		{ref: "jobs.batch/nightly-z2z2z", want: "nightly-z2z2z"},
		{ref: "nightly", want: "nightly-z2z2z"},
		// smoke-tests-q9r8s was started as smoke-tests, not as smoke.
		{ref: "smoke", want: "smoke-b4c5d", note: `2 runs were started as "smoke": taking the newest, smoke-b4c5d (the others: smoke-x7k2p)`},
		{ref: "smoke-tests", want: "smoke-tests-q9r8s"},
		{ref: "smok", err: `run "smok" not found in namespace "ci": did you mean smoke-tests-q9r8s, smoke-b4c5d, smoke-x7k2p? (list the runs with kubectl testrun list -n ci)`},
		{ref: "nightli-z2z2z", err: `run "nightli-z2z2z" not found in namespace "ci": did you mean nightly-z2z2z? (list the runs with kubectl testrun list -n ci)`},
		{ref: "unrelated", err: `run "unrelated" not found in namespace "ci": list the runs with kubectl testrun list -n ci`},
		{ref: "job/nope", err: `run "job/nope" not found in namespace "ci": list the runs with kubectl testrun list -n ci`},
		{ref: "job/foreign", err: `job "foreign" in namespace "ci" is not a test run: it lacks the labels app.kubernetes.io/managed-by=kubectl-testrun and testrun.dev/name that kubectl testrun run puts on its Jobs`},
		{ref: "pod/x", err: `run "pod/x" not found in namespace "ci": list the runs with kubectl testrun list -n ci`},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := ResolveRun(t.Context(), client, "ci", tt.ref)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("ResolveRun(%q) error = %v, want %q", tt.ref, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveRun(%q): %v", tt.ref, err)
			}
			if diff := cmp.Diff([]string{tt.want, tt.note}, []string{got.Run.Name(), got.Note}); diff != "" {
				t.Errorf("ResolveRun(%q) run and note (-want +got):\n%s", tt.ref, diff)
			}
		})
	}
}

func TestResolveRunInAnEmptyNamespaceSaysSo(t *testing.T) {
	_, err := ResolveRun(t.Context(), fake.NewClientset(), "empty", "smoke")
	var nf *NotFoundError
	if !errors.As(err, &nf) || err.Error() != `run "smoke" not found in namespace "empty", which holds no runs: start one with kubectl testrun run, or name the namespace with -n` {
		t.Errorf("ResolveRun in an empty namespace = %v, want a NotFoundError saying it holds no runs", err)
	}
}

func TestBaseNameStripsOnlyTheRandomSuffix(t *testing.T) {
	for name, want := range map[string]string{
		"smoke-x7k2p":           "smoke",
		"smoke-tests-q9r8s":     "smoke-tests",
		runspec.NewRunName("a"): "a",
		"smoke-aeiou":           "", // vowels are never in the suffix
		"smoke-x7k2":            "",
		"-x7k2p":                "",
		"smoke":                 "",
	} {
		got, ok := runspec.BaseName(name)
		if got != want || ok != (want != "") {
			t.Errorf("BaseName(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

func runningState() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
}
