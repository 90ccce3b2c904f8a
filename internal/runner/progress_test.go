package runner

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runwatch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/interrupt"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
)

// syncBuffer is a stderr that a test reads while the run writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testRunning puts the test and the holder in the Running state on node-1.
func testRunning(p *corev1.Pod) {
	p.Spec.NodeName = "node-1"
	p.Status.Phase = corev1.PodRunning
	now := metav1.Now()
	p.Status.ContainerStatuses = []corev1.ContainerStatus{
		{Name: runspec.TestContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}},
		{Name: runspec.HolderContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}},
	}
}

// after holds the kubelet's next status until proceed is closed.
func after(proceed <-chan struct{}, set func(*corev1.Pod)) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		<-proceed
		set(p)
	}
}

// until waits for cond, calling poke meanwhile; the test fails naming what it waited for.
func until(t *testing.T, what string, cond func() bool, poke func()) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		poke()
	}
}

// A request (SIGUSR1) while the test runs prints a progress report through the reporter, naming the pod and
// the time against --timeout; the run goes on and ends with the test's code.
func TestRunnerReportsProgressWhenAsked(t *testing.T) {
	client := fake.NewClientset()
	r, _ := newRunner(client, &podexec.Recorder{})
	stderr := &syncBuffer{}
	r.Progress = &reporter.Lines{W: stderr}
	requests := &interrupt.InfoRequests{}
	ctx := interrupt.WithInfo(t.Context(), requests)
	proceed := make(chan struct{})
	kubelet(t, client, testRunning, after(proceed, testExited(3, corev1.PodRunning)), testExited(3, corev1.PodFailed))

	go func() {
		defer close(proceed)
		until(t, "the run to follow a running test", func() bool { return strings.Contains(stderr.String(), "testrun: running\n") }, func() {})
		until(t, "a progress report", func() bool { return strings.Contains(stderr.String(), "--- end of progress report") }, requests.Ask)
	}()
	res, err := r.Run(ctx, runspec.Spec{Name: "unit-a1b2c", Namespace: "ci", Image: "tests:1", Timeout: 40 * time.Minute})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 3 {
		t.Errorf("exit code after a progress report = %d, want the test's 3", res.ExitCode)
	}
	for _, want := range []string{
		"--- progress of run unit-a1b2c in namespace ci", "elapsed:     0s of --timeout 40m", "status:      running",
		"waiting for: the test to end", "pod unit-a1b2c-abcde: Running on node node-1", "  test: running for ", "output:      none yet",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the progress report lacks %q:\n%s", want, stderr)
		}
	}
}

// With a heartbeat, the run prints a heartbeat line every interval of its clock while the test runs.
func TestRunnerHeartbeat(t *testing.T) {
	client := fake.NewClientset()
	r, _ := newRunner(client, &podexec.Recorder{})
	stderr := &syncBuffer{}
	r.Progress = &reporter.Lines{W: stderr}
	clock := testingclock.NewFakeClock(time.Now())
	r.Heartbeat = runwatch.Heartbeat{Every: 5 * time.Minute, Clock: clock}
	proceed := make(chan struct{})
	kubelet(t, client, testRunning, after(proceed, testExited(0, corev1.PodRunning)), testExited(0, corev1.PodSucceeded))

	go func() {
		defer close(proceed)
		until(t, "the run to follow a running test", func() bool { return strings.Contains(stderr.String(), "testrun: running\n") }, func() {})
		clock.Step(5 * time.Minute)
		until(t, "a heartbeat", func() bool { return strings.Contains(stderr.String(), "testrun: still running") }, func() {})
	}()
	res, err := r.Run(context.WithoutCancel(t.Context()), runspec.Spec{Name: "unit-a1b2c", Namespace: "ci", Image: "tests:1", Timeout: 40 * time.Minute})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v; want a pass", res, err)
	}
	// The fake clock began before the kubelet started the container: the silence is a little under 5m.
	beat := regexp.MustCompile(`(?m)^testrun: still running: 5m of 40m, silent for (4m59s|5m) \(no output yet\), pod Running on node node-1$`)
	if !beat.MatchString(stderr.String()) {
		t.Errorf("stderr lacks the heartbeat %s:\n%s", beat, stderr)
	}
}
