package runwatch

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/interrupt"
)

// t0 is when the follower began, in every snapshot of these tests.
var t0 = time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)

func at(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }

// runningPod is a run's pod whose test started a minute after t0, on node-1.
func runningPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke-x7k2p-abcde", Namespace: "ci", UID: "pod-uid"},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: runspec.TestContainer}, {Name: runspec.HolderContainer}},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "testrun-fetch-q8z2k"}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: runspec.TestContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at(time.Minute)}}},
				{Name: runspec.HolderContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at(time.Minute)}}},
			},
			EphemeralContainerStatuses: []corev1.ContainerStatus{
				{Name: "testrun-fetch-q8z2k", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at(70 * time.Second)}}},
			}},
	}
}

func pendingPod(reason string) *corev1.Pod {
	p := runningPod()
	p.Status.Phase = corev1.PodPending
	p.Status.EphemeralContainerStatuses = nil
	p.Spec.EphemeralContainers = nil
	p.Status.ContainerStatuses = []corev1.ContainerStatus{
		{Name: runspec.TestContainer, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}},
	}
	return p
}

func endedPod() *corev1.Pod {
	p := runningPod()
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: 3, Reason: "Error", StartedAt: at(time.Minute), FinishedAt: at(11 * time.Minute)}}
	return p
}

func event(name, reason, message string, when time.Duration, fieldPath string) corev1.Event {
	return corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: "ci"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "smoke-x7k2p-abcde", UID: "pod-uid", FieldPath: fieldPath},
		Type:           corev1.EventTypeNormal, Reason: reason, Message: message, LastTimestamp: at(when), Count: 1,
	}
}

// A progress report shows each container's state, the time against --timeout, what the run waits for, the
// latest events, the last lines of output and the reports; the golden file shows it whole.
func TestSnapshotReport(t *testing.T) {
	s := Snapshot{
		Run: "smoke-x7k2p", Namespace: "ci", Now: t0.Add(12 * time.Minute), Started: t0, Timeout: 40 * time.Minute,
		Status: "running",
		Job:    &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "smoke-x7k2p", CreationTimestamp: at(0)}},
		Pods:   []*corev1.Pod{runningPod()},
		Events: []corev1.Event{
			event("e1", "Pulled", "Container image \"app-tests:1.2\" already present on machine", 55*time.Second, "spec.containers{test}"),
			event("e2", "Started", "Started container test", time.Minute, "spec.containers{test}"),
		},
		Output:     []string{"=== RUN   TestCheckout", "--- PASS: TestCheckout (2.01s)", "=== RUN   TestPayment"},
		LastOutput: t0.Add(9 * time.Minute),
		ReportsTo:  "./out",
	}
	testkit.Golden(t, filepath.Join("testdata", "progress-report.golden.txt"), []byte(s.Report()))
}

// What a report says about the parts it could not read, or that are not there yet.
func TestSnapshotReportMissingParts(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Snapshot
		want []string
	}{
		{"no pod yet", Snapshot{Run: "r", Namespace: "ci", Job: &batchv1.Job{}},
			[]string{"waiting for: the Job controller to create the pod\n", "pods:        none yet\n", "events:      none\n", "output:      none yet\n", "no --timeout"}},
		{"unscheduled", Snapshot{Run: "r", Pods: []*corev1.Pod{func() *corev1.Pod { p := pendingPod(""); p.Spec.NodeName = ""; return p }()}},
			[]string{"waiting for: a node: the scheduler has not placed the pod yet\n", "on node (none yet)"}},
		{"creating", Snapshot{Run: "r", Pods: []*corev1.Pod{pendingPod("ContainerCreating")}},
			[]string{"waiting for: the test container to start (ContainerCreating)\n", "  test: waiting (ContainerCreating)\n", "  holder: not created yet\n"}},
		{"ended, reports coming", Snapshot{Run: "r", ReportsTo: "out", Pods: []*corev1.Pod{endedPod()}, Now: t0.Add(12 * time.Minute)},
			[]string{"waiting for: the reports to be copied; the test has ended\n", "  test: exited with code 3 (Error) after 10m, 60s ago\n"}},
		{"reports copied", Snapshot{Run: "r", ReportsTo: "out", Pods: []*corev1.Pod{endedPod()},
			Reports: &outcome.Reports{Files: []outcome.ReportFile{{Path: "junit.xml", Size: 2048}}}},
			[]string{"waiting for: the pod to finish; the test has ended\n", "reports:     1 file(s), 2.0 KiB, copied into out and verified\n"}},
		{"unreadable", Snapshot{Run: "r", EventsErr: errors.New("events is forbidden"), OutputErr: errors.New("pods/log is forbidden")},
			[]string{"events:      could not be read: events is forbidden\n", "output:      could not be read: pods/log is forbidden\n"}},
		{"selector", Snapshot{Selector: "suite=api", Namespace: "ci"}, []string{`--- progress of the runs selected by "suite=api" in namespace ci`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.Report()
			for _, want := range tc.want {
				if !strings.Contains(got, want) {
					t.Errorf("report lacks %q:\n%s", want, got)
				}
			}
		})
	}
}

// The heartbeat is one line: the state, the time against --timeout, when the test last printed (its silence
// named once it lasts an interval) and where the pod is.
func TestSnapshotHeartbeat(t *testing.T) {
	every := 5 * time.Minute
	base := Snapshot{Run: "smoke-x7k2p", Namespace: "ci", Now: t0.Add(12 * time.Minute), Started: t0, Timeout: 40 * time.Minute, Status: "running"}
	for _, tc := range []struct {
		name string
		edit func(*Snapshot)
		want string
	}{
		{"recent output", func(s *Snapshot) { s.Pods, s.LastOutput = []*corev1.Pod{runningPod()}, t0.Add(9*time.Minute) },
			"still running: 12m of 40m, last output 3m ago, pod Running on node node-1"},
		{"silent for an interval", func(s *Snapshot) { s.Pods, s.LastOutput = []*corev1.Pod{runningPod()}, t0.Add(2*time.Minute) },
			"still running: 12m of 40m, silent for 10m (the last output at 19:02:00), pod Running on node node-1"},
		{"silent from the start", func(s *Snapshot) { s.Pods = []*corev1.Pod{runningPod()} },
			"still running: 12m of 40m, silent for 11m (no output yet), pod Running on node node-1"},
		{"no timeout", func(s *Snapshot) {
			s.Pods, s.Timeout, s.LastOutput = []*corev1.Pod{runningPod()}, 0, t0.Add(11*time.Minute)
		},
			"still running: 12m, last output 60s ago, pod Running on node node-1"},
		{"pulling", func(s *Snapshot) {
			s.Pods, s.Status = []*corev1.Pod{pendingPod("ContainerCreating")}, `pulling image "app-tests:1.2"`
		},
			`still waiting (pulling image "app-tests:1.2"): 12m of 40m, no output yet, pod Pending on node node-1`},
		{"no pod", func(s *Snapshot) { s.Status = "waiting for the pod" },
			"still waiting (waiting for the pod): 12m of 40m, no output yet, no pod yet"},
		{"unscheduled", func(s *Snapshot) {
			p := pendingPod("")
			p.Spec.NodeName, p.Status.ContainerStatuses = "", nil
			s.Pods, s.Status = []*corev1.Pod{p}, "waiting to be scheduled"
		}, "still waiting (waiting to be scheduled): 12m of 40m, no output yet, pod Pending, not scheduled"},
		{"test ended", func(s *Snapshot) { s.Pods, s.LastOutput = []*corev1.Pod{endedPod()}, t0.Add(11*time.Minute) },
			"the test has ended, finishing the run: 12m of 40m, last output 60s ago, pod Running on node node-1"},
		{"several pods", func(s *Snapshot) {
			other := runningPod()
			other.Name = "smoke-x7k2p-fghij"
			s.Pods, s.LastOutput = []*corev1.Pod{runningPod(), other}, t0.Add(11*time.Minute)
		}, "still running: 12m of 40m, last output 60s ago, pods smoke-x7k2p-abcde Running on node node-1; smoke-x7k2p-fghij Running on node node-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.edit(&s)
			if diff := cmp.Diff(tc.want, s.Heartbeat(every)); diff != "" {
				t.Errorf("heartbeat (-want +got):\n%s", diff)
			}
		})
	}
}

// The events a report shows are the latest of the Job's and the pods', oldest first; events of the same
// second keep the order their recorder named them in.
func TestLatestEvents(t *testing.T) {
	var events []corev1.Event
	for i, name := range []string{"p.0009", "p.0003", "p.0007", "p.0001", "p.0005", "p.0002", "p.0008"} {
		events = append(events, event(name, "R", "", time.Duration(i%2)*time.Second, ""))
	}
	var got []string
	for _, e := range latestEvents(events, 5) {
		got = append(got, e.Name)
	}
	// At 0s: p.0005 p.0007 p.0008 p.0009; at 1s: p.0001 p.0002 p.0003.
	want := []string{"p.0008", "p.0009", "p.0001", "p.0002", "p.0003"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("latest events (-want +got):\n%s", diff)
	}
}

// GatherEvents reads the events of the Job and the pods of the snapshot, and only theirs.
func TestGatherEvents(t *testing.T) {
	mine := event("p.1", "Started", "Started container test", time.Minute, "")
	other := event("q.1", "Started", "another pod's", time.Minute, "")
	other.InvolvedObject.UID, other.InvolvedObject.Name = "other-uid", "other"
	jobEvent := event("j.1", "SuccessfulCreate", "Created pod: smoke-x7k2p-abcde", 0, "")
	jobEvent.InvolvedObject = corev1.ObjectReference{Kind: "Job", Name: "smoke-x7k2p", UID: "job-uid"}
	client := fake.NewClientset(&mine, &other, &jobEvent)
	s := Snapshot{Namespace: "ci", Job: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{UID: "job-uid"}}, Pods: []*corev1.Pod{runningPod()}}
	GatherEvents(t.Context(), client, &s)
	if s.EventsErr != nil {
		t.Fatal(s.EventsErr)
	}
	var got []string
	for _, e := range s.Events {
		got = append(got, e.Name)
	}
	if diff := cmp.Diff([]string{"j.1", "p.1"}, got); diff != "" {
		t.Errorf("events gathered (-want +got):\n%s", diff)
	}
}

// The pulse fires a heartbeat every interval of its clock, and never when the interval is 0; a request
// (SIGUSR1) reaches every follower listening, each once however many came meanwhile.
func TestPulseSchedulesHeartbeatsAndHearsRequests(t *testing.T) {
	clock := testingclock.NewFakeClock(t0)
	requests := &interrupt.InfoRequests{}
	ctx := interrupt.WithInfo(t.Context(), requests)
	p := Heartbeat{Every: 5 * time.Minute, Clock: clock}.Start(ctx)
	defer p.Stop()
	other := Heartbeat{Clock: clock}.Start(ctx)
	defer other.Stop()

	if p.Now() != t0 {
		t.Errorf("pulse time = %s, want its clock's %s", p.Now(), t0)
	}
	clock.Step(4 * time.Minute)
	select {
	case <-p.Beat():
		t.Fatal("a heartbeat came after 4m, want it every 5m")
	default:
	}
	clock.Step(time.Minute)
	select {
	case at := <-p.Beat():
		if !at.Equal(t0.Add(5 * time.Minute)) {
			t.Errorf("heartbeat at %s, want %s", at, t0.Add(5*time.Minute))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no heartbeat after 5m")
	}
	if other.Beat() != nil {
		t.Error("a pulse with no interval has a heartbeat channel, want none")
	}

	requests.Ask()
	requests.Ask()
	for name, pulse := range map[string]*Pulse{"with heartbeat": p, "without": other} {
		select {
		case <-pulse.Asked():
		default:
			t.Errorf("the follower %s did not hear the request", name)
		}
		select {
		case <-pulse.Asked():
			t.Errorf("the follower %s heard two requests made while one was pending, want one report", name)
		default:
		}
	}
	var none *Pulse
	if none.Asked() != nil || none.Beat() != nil {
		t.Error("a nil pulse fires")
	}
	none.Stop()
}

// Print makes a report of what the follower holds when asked, a heartbeat line otherwise; a heartbeat is
// progress (quiet mode silences it), a report goes out as a block (it was asked for).
func TestPulsePrint(t *testing.T) {
	clock := testingclock.NewFakeClock(t0)
	client := fake.NewClientset(runningPod())
	w, err := WatchSelector(t.Context(), client, "ci", labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	p := Heartbeat{Every: 5 * time.Minute, Clock: clock}.Start(t.Context())
	defer p.Stop()
	tail := &strings.Builder{}
	tail.WriteString("line 1\nline 2\n")
	p.Watch, p.Run, p.Timeout, p.Tail, p.Seen = w, "smoke-x7k2p", 40*time.Minute, tail, NewOutputSeen(clock.Now)
	_, _ = p.Seen.Write([]byte("line 2\n"))
	clock.Step(3 * time.Minute)

	var out strings.Builder
	rep := &reporter.Lines{W: &out}
	p.Print(t.Context(), client, rep, "running", nil, false)
	if want := "testrun: still running: 3m of 40m, last output 3m ago, pod Running on node node-1\n"; out.String() != want {
		t.Errorf("heartbeat printed %q, want %q", out.String(), want)
	}
	out.Reset()
	p.Print(t.Context(), client, rep, "running", nil, true)
	for _, want := range []string{"--- progress of run smoke-x7k2p in namespace ci", "elapsed:     3m of --timeout 40m", "pod smoke-x7k2p-abcde: Running on node node-1", "output:      the last line came 3m ago; the last 2 line(s):\n  line 1\n  line 2\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
