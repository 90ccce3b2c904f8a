package wait_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/wait"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// seed returns, in namespace ci: a run whose test passed, one whose test failed with exit code 3, one whose
// test is still running, and the pod of a run whose Job is gone.
func seed(now time.Time) []runtime.Object {
	created := now.Add(-time.Hour)
	start := created.Add(10 * time.Second)
	ended := func(name string, code int32, reason string, phase corev1.PodPhase) []runtime.Object {
		job, pod := testkit.RunObjects(runspec.BuildJob(runspec.Spec{Name: name, Namespace: "ci", Image: "tests:1"}), created, phase, map[string]corev1.ContainerState{
			runspec.TestContainer:   testkit.Terminated(code, reason, "", start, start.Add(time.Minute)),
			runspec.HolderContainer: testkit.Terminated(0, "Completed", "", start, start.Add(time.Minute)),
		})
		return []runtime.Object{job, pod}
	}
	objs := append(ended("pass-a1b2c", 0, "Completed", corev1.PodSucceeded), ended("fail-d3e4f", 3, "Error", corev1.PodFailed)...)
	running, runningPod := testkit.RunObjects(runspec.BuildJob(runspec.Spec{Name: "slow-g5h6i", Namespace: "ci", Image: "tests:1"}), created, corev1.PodRunning, map[string]corev1.ContainerState{
		runspec.TestContainer:   testkit.Running(start),
		runspec.HolderContainer: testkit.Running(start),
	})
	_, orphan := testkit.RunObjects(runspec.BuildJob(runspec.Spec{Name: "orphan-j7k8l", Namespace: "ci", Image: "tests:1"}), created, corev1.PodFailed, map[string]corev1.ContainerState{
		runspec.TestContainer: testkit.Terminated(1, "Error", "", start, start.Add(time.Minute)),
	})
	return append(objs, running, runningPod, orphan)
}

func newWait(client *fake.Clientset) func(genericiooptions.IOStreams) *cobra.Command {
	return func(streams genericiooptions.IOStreams) *cobra.Command {
		return wait.NewCmdWait(cmdkit.NewFakeFactory(client, "ci"), streams)
	}
}

// wait exits like run once the test ended: with the test's own code, and for a failure with the reason and
// the diagnostics on stderr; 124 when --timeout passes (the run goes on).
func TestWaitExitsWithTheTestsCode(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr []string // in this order
		notStderr  string
	}{{
		name:       "passed",
		args:       []string{"pass-a1b2c"},
		wantCode:   0,
		wantStderr: []string{"testrun: test exited with code 0\n", "testrun: passed: run pass-a1b2c\n"},
		notStderr:  "--- describe",
	}, {
		name:     "failed",
		args:     []string{"run/fail-d3e4f"},
		wantCode: 3,
		// The story, with the last lines of output (wait streamed none) and where the describe output is.
		wantStderr: []string{"testrun: test exited with code 3\n", "testrun: run fail-d3e4f failed: the test failed with exit code 3\n",
			"  reason: Error, exit code 3 (pod fail-d3e4f-x9z8w on node node-1)\n", "  the test's last lines of output:\n    fake logs\n",
			"  full diagnostics (describe of the job and pod, every event): ", "testrun: failed with exit code 3: run fail-d3e4f (Error)\n"},
		notStderr: "--- describe",
	}, {
		name:       "full diagnostics",
		args:       []string{"fail-d3e4f", "--diagnostics=full"},
		wantCode:   3,
		wantStderr: []string{"--- describe job fail-d3e4f\n", "--- describe pod fail-d3e4f-x9z8w\n", "testrun: run fail-d3e4f failed: the test failed with exit code 3\n"},
	}, {
		name:     "quiet",
		args:     []string{"fail-d3e4f", "-q"},
		wantCode: 3,
		// Quiet prints no progress, but the failure's story still.
		wantStderr: []string{"testrun: run fail-d3e4f failed: the test failed with exit code 3\n", "testrun: failed with exit code 3: run fail-d3e4f (Error)\n"},
		notStderr:  "test exited with code",
	}, {
		name:       "timed out",
		args:       []string{"slow-g5h6i", "--timeout", "50ms"},
		wantCode:   exitcode.Timeout,
		wantStderr: []string{"testrun: running\n", `run "slow-g5h6i" did not end within --timeout 50ms: the run goes on`},
		notStderr:  "--- describe",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := testkit.Execute(t, newWait(fake.NewClientset(seed(time.Now())...)), tt.args...)
			if code := exitcode.Code(t.Context(), err); code != tt.wantCode {
				t.Errorf("wait %v exit code = %d (error %v), want %d; stderr:\n%s", tt.args, code, err, tt.wantCode, errOut)
			}
			if out != "" {
				t.Errorf("wait %v printed %q on stdout, want nothing: its messages go to stderr", tt.args, out)
			}
			assertInOrder(t, "wait "+strings.Join(tt.args, " ")+" stderr", errOut, tt.wantStderr)
			if tt.notStderr != "" && strings.Contains(errOut, tt.notStderr) {
				t.Errorf("wait %v stderr has %q, want none:\n%s", tt.args, tt.notStderr, errOut)
			}
		})
	}
}

// A Job deleted while wait watches it ends the wait with 125, saying so.
func TestWaitOnAJobDeletedMeanwhileExits125(t *testing.T) {
	client := fake.NewClientset(seed(time.Now())...)
	// Delete the Job once wait watches Jobs: registering the watch here, before saying so, makes sure the
	// deletion reaches it.
	watching := make(chan struct{})
	var once sync.Once
	client.PrependWatchReactor("jobs", func(action k8stesting.Action) (bool, watch.Interface, error) {
		opts := action.(k8stesting.WatchActionImpl).ListOptions
		w, err := client.Tracker().Watch(action.GetResource(), action.GetNamespace(), opts)
		once.Do(func() { close(watching) })
		return true, w, err
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-watching:
		case <-t.Context().Done():
			return
		}
		if err := client.BatchV1().Jobs("ci").Delete(t.Context(), "slow-g5h6i", metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting the Job of the run: %v", err)
		}
	}()
	_, errOut, err := testkit.Execute(t, newWait(client), "slow-g5h6i", "--timeout", "30s")
	<-done
	if code := exitcode.Code(t.Context(), err); code != exitcode.CannotRun {
		t.Errorf("wait on a run whose Job was deleted: exit code = %d (error %v), want %d; stderr:\n%s", code, err, exitcode.CannotRun, errOut)
	}
	assertInOrder(t, "wait stderr", errOut, []string{`testrun: run slow-g5h6i failed: job "slow-g5h6i" was deleted before its test ended`})
}

// Bad input, a run that does not exist (its pod without its Job is no run) and an API error exit 125.
func TestWaitFailuresExit125(t *testing.T) {
	forbidden := func(c *fake.Clientset) { testkit.Forbid(c, "list", "jobs") }
	tests := []struct {
		name    string
		args    []string
		react   func(*fake.Clientset)
		wantErr []string
	}{
		{name: "negative timeout", args: []string{"pass-a1b2c", "--timeout", "-1s"}, wantErr: []string{"--timeout -1s is negative"}},
		{name: "negative schedule timeout", args: []string{"pass-a1b2c", "--schedule-timeout", "-1m"}, wantErr: []string{"--schedule-timeout -1m0s is negative"}},
		{name: "unknown colour", args: []string{"pass-a1b2c", "--color", "sometimes"}, wantErr: []string{`--color "sometimes" is not supported`, "auto, always or never"}},
		{name: "no such run", args: []string{"gone-z9y8x"}, wantErr: []string{`run "gone-z9y8x" not found in namespace "ci"`}},
		{name: "a pod whose Job is missing", args: []string{"orphan-j7k8l"}, wantErr: []string{`run "orphan-j7k8l" not found in namespace "ci"`}},
		{name: "forbidden", args: []string{"pass-a1b2c"}, react: forbidden, wantErr: []string{"listing runs", "forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(seed(time.Now())...)
			if tt.react != nil {
				tt.react(client)
			}
			_, _, err := testkit.Execute(t, newWait(client), tt.args...)
			testkit.WantBadInput(t, fmt.Sprintf("wait %v", tt.args), err, tt.wantErr...)
		})
	}
}

// assertInOrder checks that got holds each of want, in this order.
func assertInOrder(t *testing.T, what, got string, want []string) {
	t.Helper()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("%s lacks %q (after what came before it):\n%s", what, w, got)
			return
		}
		rest = rest[i+len(w):]
	}
}
