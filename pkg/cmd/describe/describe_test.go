package describe_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/describe"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
)

// started is when the test containers of the seeded runs started: a fixed time, so that the containers'
// timings print the same on every run of the test.
var started = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// fetched is the record the holder of the passed run carried out when its reports were fetched.
var fetched = outcome.FetchRecord{
	At: metav1.NewTime(started.Add(2 * time.Minute)), Files: 3, Bytes: 2048,
	JUnit: &junit.Summary{Files: []string{"junit.xml"}, Tests: 12, Skipped: 1, Time: 4.2},
}

// seed returns, in namespace ci: a run that passed and was released after its reports were fetched, a run
// whose test failed with a termination message, and a run whose pod is not created yet; each created 3 hours
// before now, so that its age prints the same whenever the test runs.
func seed(now time.Time) []runtime.Object {
	created := now.Add(-3 * time.Hour)
	spec := func(name string) runspec.Spec { return runspec.Spec{Name: name, Namespace: "ci", Image: "api-tests:1"} }
	passedJob, passedPod := testkit.RunObjects(runspec.BuildJob(spec("api-pass-a1b2c")), created, corev1.PodSucceeded, map[string]corev1.ContainerState{
		runspec.TestContainer:   testkit.Terminated(0, "Completed", "", started, started.Add(90*time.Second)),
		runspec.HolderContainer: testkit.Terminated(0, "Completed", fetched.Encode(), started, started.Add(125*time.Second)),
	})
	failedJob, failedPod := testkit.RunObjects(runspec.BuildJob(spec("api-fail-d3e4f")), created, corev1.PodFailed, map[string]corev1.ContainerState{
		runspec.TestContainer:   testkit.Terminated(2, "Error", "FAIL: TestCheckout: want 3 items, got 4", started, started.Add(42*time.Second)),
		runspec.HolderContainer: testkit.Terminated(0, "Completed", "", started, started.Add(50*time.Second)),
	})
	pendingJob, _ := testkit.RunObjects(runspec.BuildJob(spec("api-wait-g5h6i")), created, corev1.PodPending, nil)
	event := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: failedPod.Name + ".1", Namespace: "ci"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: failedPod.Name, Namespace: "ci"},
		Type:           corev1.EventTypeWarning, Reason: "NodeNotReady", Message: "Node is not ready", Count: 1,
		FirstTimestamp: metav1.NewTime(started), LastTimestamp: metav1.NewTime(started),
	}
	return append([]runtime.Object{passedJob, passedPod, failedJob, failedPod, pendingJob, event}, shardedRun(created)...)
}

// shardedRun is a run of 3 shards: shard 0 passed and was released after its reports were fetched, shard 1
// failed, shard 2 still runs.
func shardedRun(created time.Time) []runtime.Object {
	s := runspec.Spec{Name: "api-shard-k9l0m", Namespace: "ci", Image: "api-tests:1", Shards: 3}
	states := []map[string]corev1.ContainerState{{
		runspec.TestContainer:   testkit.Terminated(0, "Completed", "", started, started.Add(30*time.Second)),
		runspec.HolderContainer: testkit.Terminated(0, "Completed", fetched.Encode(), started, started.Add(35*time.Second)),
	}, {
		runspec.TestContainer:   testkit.Terminated(2, "Error", "", started, started.Add(40*time.Second)),
		runspec.HolderContainer: testkit.Running(started),
	}, {
		runspec.TestContainer:   testkit.Running(started),
		runspec.HolderContainer: testkit.Running(started),
	}}
	phases := []corev1.PodPhase{corev1.PodSucceeded, corev1.PodRunning, corev1.PodRunning}
	var objs []runtime.Object
	for i, state := range states {
		job, pod := testkit.RunObjects(runspec.BuildJob(s), created, phases[i], state)
		if i == 0 {
			objs = append(objs, job)
		}
		pod.Name = fmt.Sprintf("%s-%d-x9z8w", s.Name, i)
		pod.Labels = maps.Clone(pod.Labels)
		pod.Labels[runspec.LabelShard] = strconv.Itoa(i)
		objs = append(objs, pod)
	}
	return objs
}

func newDescribe(client *fake.Clientset) func(genericiooptions.IOStreams) *cobra.Command {
	return func(streams genericiooptions.IOStreams) *cobra.Command {
		return describe.NewCmdDescribe(cmdkit.NewFakeFactory(client, "ci"), streams)
	}
}

// The text shows the run's status, its containers and its reports; a failed run is followed by the same
// diagnostics run prints (describe of the Job and of the pod, with the pod's termination message and events).
func TestDescribeShowsTheRun(t *testing.T) {
	tests := []struct {
		name            string
		args            []string
		golden          string   // the run's own part, before any diagnostics
		wantDiagnostics []string // in this order; none for a run that did not fail
	}{
		{name: "passed and released after a fetch", args: []string{"api-pass-a1b2c"}, golden: "passed.golden.txt"},
		{name: "failed", args: []string{"run/api-fail-d3e4f"}, golden: "failed.golden.txt", wantDiagnostics: []string{
			"--- describe job api-fail-d3e4f\n", "Name:                        api-fail-d3e4f\n",
			"--- describe pod api-fail-d3e4f-x9z8w\n", "Message:      FAIL: TestCheckout: want 3 items, got 4\n",
			"Warning  NodeNotReady", "Node is not ready",
		}},
		{name: "pending", args: []string{"api-wait-g5h6i"}, golden: "pending.golden.txt"},
		{name: "sharded, a shard still running", args: []string{"api-shard-k9l0m"}, golden: "sharded.golden.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := testkit.Execute(t, newDescribe(fake.NewClientset(seed(time.Now())...)), tt.args...)
			if err != nil || errOut != "" {
				t.Fatalf("describe %v: error %v, stderr %q; want none", tt.args, err, errOut)
			}
			// The diagnostics are kubectl describe's output, tested where they are written; here only
			// that they follow, in order, with what matters in them.
			run, diagnostics, _ := strings.Cut(out, "--- ")
			testkit.Golden(t, filepath.Join("testdata", tt.golden), []byte(run))
			if diagnostics != "" {
				diagnostics = "--- " + diagnostics
			}
			if len(tt.wantDiagnostics) == 0 && diagnostics != "" {
				t.Errorf("describe %v printed diagnostics for a run that did not fail:\n%s", tt.args, diagnostics)
			}
			rest := diagnostics
			for _, want := range tt.wantDiagnostics {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Errorf("describe %v diagnostics lack %q after what came before it:\n%s", tt.args, want, diagnostics)
					break
				}
				rest = rest[i+len(want):]
			}
		})
	}
}

// -o json and -o yaml print the result document run -o json prints: the passed run with the fetch record
// its holder carried out, the failed one with its test's termination message.
func TestDescribePrintsTheResultDocument(t *testing.T) {
	passedTest := outcome.ContainerResult{Name: runspec.TestContainer, Image: "api-tests:1", State: "terminated", ExitCode: ptr.To[int32](0), Reason: "Completed"}
	failedTest := outcome.ContainerResult{Name: runspec.TestContainer, Image: "api-tests:1", State: "terminated", ExitCode: ptr.To[int32](2), Reason: "Error",
		Message: "FAIL: TestCheckout: want 3 items, got 4"}
	holder := outcome.ContainerResult{Name: runspec.HolderContainer, Image: runspec.DefaultHelperImage, State: "terminated", ExitCode: ptr.To[int32](0), Reason: "Completed"}
	tests := []struct {
		name string
		args []string
		want *outcome.Result
	}{{
		name: "passed as json",
		args: []string{"api-pass-a1b2c", "-o", "json"},
		want: &outcome.Result{APIVersion: "testrun.dev/v1alpha1", Kind: "Result", Name: "api-pass-a1b2c", Namespace: "ci",
			Metadata: &outcome.ResultMetadata{Name: "api-pass-a1b2c", Namespace: "ci"},
			Phase:    outcome.PhasePassed, DurationSeconds: 90, Fetched: &fetched,
			Pods: []outcome.PodResult{{Name: "api-pass-a1b2c-x9z8w", Node: "node-1", Phase: corev1.PodSucceeded, Containers: []outcome.ContainerResult{passedTest, holder}}}},
	}, {
		name: "failed as yaml",
		args: []string{"api-fail-d3e4f", "-o", "yaml"},
		want: &outcome.Result{APIVersion: "testrun.dev/v1alpha1", Kind: "Result", Name: "api-fail-d3e4f", Namespace: "ci",
			Metadata: &outcome.ResultMetadata{Name: "api-fail-d3e4f", Namespace: "ci"},
			Phase:    outcome.PhaseFailed, ExitCode: 2, Reason: "Error", Message: "the test failed with exit code 2", DurationSeconds: 42,
			Pods: []outcome.PodResult{{Name: "api-fail-d3e4f-x9z8w", Node: "node-1", Phase: corev1.PodFailed, Containers: []outcome.ContainerResult{failedTest, holder}}}},
	}}
	// The timings are checked by the text form; the start time is the Job's creation, relative to now.
	ignore := cmpopts.IgnoreFields(outcome.ContainerResult{}, "StartedAt", "FinishedAt", "DurationSeconds")
	ignoreStart := cmpopts.IgnoreFields(outcome.Result{}, "StartTime", "CompletionTime")
	// The Job's labels and creation time are the seed's; the list tests show them.
	ignoreMeta := cmpopts.IgnoreFields(outcome.ResultMetadata{}, "Labels", "CreationTimestamp")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := testkit.Execute(t, newDescribe(fake.NewClientset(seed(time.Now())...)), tt.args...)
			if err != nil || errOut != "" {
				t.Fatalf("describe %v: error %v, stderr %q; want none", tt.args, err, errOut)
			}
			var got outcome.Result
			if err := yaml.UnmarshalStrict([]byte(out), &got); err != nil {
				t.Fatalf("describe %v printed what does not parse as a result document: %v\n%s", tt.args, err, out)
			}
			if diff := cmp.Diff(tt.want, &got, ignore, ignoreStart, ignoreMeta); diff != "" {
				t.Errorf("describe %v (-want +got):\n%s", tt.args, diff)
			}
			// An ended run, passed or failed, completed when its test did, as run -o json says.
			if ended := got.Pods[0].Containers[0].FinishedAt; got.CompletionTime == nil || ended == nil || !got.CompletionTime.Equal(ended) {
				t.Errorf("describe %v: completionTime %v, want the test's end %v", tt.args, got.CompletionTime, ended)
			}
		})
	}
}

// Bad input, a run that does not exist and an API error exit 125, naming what to fix.
func TestDescribeFailuresExit125(t *testing.T) {
	forbidden := func(c *fake.Clientset) { testkit.Forbid(c, "list", "jobs") }
	tests := []struct {
		name    string
		args    []string
		react   func(*fake.Clientset)
		wantErr []string
	}{
		{name: "unknown format", args: []string{"api-pass-a1b2c", "-o", "wide"}, wantErr: []string{`--output "wide" is not supported`, "json or yaml"}},
		{name: "no such run", args: []string{"gone-z9y8x"}, wantErr: []string{`run "gone-z9y8x" not found in namespace "ci"`, "kubectl testrun list -n ci"}},
		{name: "a Job that is not a run", args: []string{"foreign"}, wantErr: []string{`run "foreign" not found`}},
		{name: "forbidden", args: []string{"api-pass-a1b2c"}, react: forbidden, wantErr: []string{"listing runs", "forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			foreign, _ := testkit.RunObjects(runspec.BuildJob(runspec.Spec{Name: "foreign", Namespace: "ci", Image: "x"}), time.Now(), corev1.PodPending, nil)
			foreign.Labels = map[string]string{runspec.LabelRun: "foreign"} // not managed by the plugin
			client := fake.NewClientset(append(seed(time.Now()), foreign)...)
			if tt.react != nil {
				tt.react(client)
			}
			out, _, err := testkit.Execute(t, newDescribe(client), tt.args...)
			testkit.WantBadInput(t, fmt.Sprintf("describe %v", tt.args), err, tt.wantErr...)
			if out != "" {
				t.Errorf("describe %v printed %q on stdout, want nothing after a failure", tt.args, out)
			}
		})
	}
}

// A multi-line termination message (a test's last lines) keeps the value column of describe's container
// fields, each line under the first, as kubectl's describe lays out multi-line labels; the fields after it
// stay aligned.
func TestDescribeIndentsAMultiLineTerminationMessage(t *testing.T) {
	job, pod := testkit.RunObjects(runspec.BuildJob(runspec.Spec{Name: "api-lines-j7k8l", Namespace: "ci", Image: "api-tests:1"}), time.Now().Add(-time.Hour), corev1.PodFailed, map[string]corev1.ContainerState{
		runspec.TestContainer:   testkit.Terminated(1, "Error", "--- FAIL: TestCheckout\n    checkout_test.go:42: want 3 items, got 4\nFAIL\n", started, started.Add(42*time.Second)),
		runspec.HolderContainer: testkit.Terminated(0, "Completed", "", started, started.Add(50*time.Second)),
	})
	out, errOut, err := testkit.Execute(t, newDescribe(fake.NewClientset(job, pod)), "api-lines-j7k8l")
	if err != nil || errOut != "" {
		t.Fatalf("describe: error %v, stderr %q; want none", err, errOut)
	}
	// The test container's state in describe of the pod, from its state to its start (printed in the
	// machine's time zone).
	_, podPart, _ := strings.Cut(out, "--- describe pod ")
	_, state, _ := strings.Cut(podPart, "    State:")
	state, _, found := strings.Cut(state, "      Started:")
	if !found {
		t.Fatalf("describe printed no test container state in describe of the pod:\n%s", out)
	}
	testkit.Golden(t, filepath.Join("testdata", "multiline-message.golden.txt"), []byte("    State:"+state))
}
