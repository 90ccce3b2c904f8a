package testrun

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// Result phases: how a run ended, in one word.
const (
	PhasePassed      = "Passed"
	PhaseFailed      = "Failed"
	PhaseError       = "Error"
	PhaseTimedOut    = "TimedOut"
	PhaseInterrupted = "Interrupted"
	// PhaseStarted is the phase of a run started with --detach: it was created and is not followed.
	PhaseStarted = "Started"
)

// Result is the document `kubectl testrun run -o json|yaml` prints for scripts (docs/result.md).
type Result struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Name is the run name, which is also the Job's name.
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Phase is Passed or Failed when the test ran, Error when it could not, TimedOut or Interrupted, or
	// Started for a run started with --detach.
	Phase string `json:"phase"`
	// ExitCode is the code the plugin exits with (docs/exit-codes.md).
	ExitCode int `json:"exitCode"`
	// Reason and Message say why, when the run did not pass.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// StartTime is when the plugin created the Job, CompletionTime when it saw the end.
	StartTime       metav1.Time `json:"startTime"`
	CompletionTime  metav1.Time `json:"completionTime"`
	DurationSeconds float64     `json:"durationSeconds"`
	Pods            []PodResult `json:"pods"`
	// Reports are the files brought home with --reports, and their JUnit summary.
	Reports *Reports `json:"reports,omitempty"`
	// Fetched is what the run's pod recorded about the reports fetched from it (describe of a released run).
	Fetched *FetchRecord `json:"fetched,omitempty"`

	interrupted bool
}

// PodResult is one pod of a run.
type PodResult struct {
	Name       string            `json:"name"`
	Node       string            `json:"node,omitempty"`
	Phase      corev1.PodPhase   `json:"phase"`
	Containers []ContainerResult `json:"containers"`
}

// ContainerResult is one container of a pod: its state, exit code, reason and timings.
type ContainerResult struct {
	Name            string       `json:"name"`
	Image           string       `json:"image"`
	State           string       `json:"state"`
	ExitCode        *int32       `json:"exitCode,omitempty"`
	Reason          string       `json:"reason,omitempty"`
	Message         string       `json:"message,omitempty"`
	StartedAt       *metav1.Time `json:"startedAt,omitempty"`
	FinishedAt      *metav1.Time `json:"finishedAt,omitempty"`
	DurationSeconds *float64     `json:"durationSeconds,omitempty"`
}

func newResult(spec Spec, o Outcome, pod *corev1.Pod, started time.Time) *Result {
	now := time.Now()
	r := &Result{
		APIVersion: "testrun.dev/v1alpha1", Kind: "Result",
		Name: spec.Name, Namespace: spec.Namespace,
		ExitCode: o.ExitCode, Reason: o.Reason, Message: o.Message,
		StartTime: metav1.NewTime(started), CompletionTime: metav1.NewTime(now),
		DurationSeconds: now.Sub(started).Round(time.Millisecond).Seconds(),
		Pods:            []PodResult{},
	}
	switch {
	case o.Reason == reasonInterrupted:
		r.Phase, r.interrupted = PhaseInterrupted, true
	case o.ExitCode == exitcode.Timeout && !o.TestEnded:
		r.Phase = PhaseTimedOut
	case o.TestEnded && o.ExitCode == 0:
		r.Phase = PhasePassed
	case o.TestEnded:
		r.Phase = PhaseFailed
	default:
		r.Phase = PhaseError
	}
	if o.TestEnded && o.ExitCode == 0 {
		r.Reason, r.Message = "", ""
	}
	if pod != nil {
		r.Pods = append(r.Pods, podResult(pod))
	}
	return r
}

func podResult(pod *corev1.Pod) PodResult {
	p := PodResult{Name: pod.Name, Node: pod.Spec.NodeName, Phase: pod.Status.Phase, Containers: []ContainerResult{}}
	statuses := map[string]corev1.ContainerStatus{}
	for _, s := range pod.Status.ContainerStatuses {
		statuses[s.Name] = s
	}
	for _, c := range pod.Spec.Containers {
		cr := ContainerResult{Name: c.Name, Image: c.Image, State: "waiting"}
		s := statuses[c.Name]
		switch {
		case s.State.Terminated != nil:
			t := s.State.Terminated
			cr.State, cr.ExitCode, cr.Reason, cr.Message = "terminated", &t.ExitCode, t.Reason, t.Message
			if c.Name == HolderContainer && FetchRecordOf(pod) != nil {
				cr.Message = "" // the fetch record: the result document has it as Fetched
			}
			if !t.StartedAt.IsZero() {
				cr.StartedAt, cr.FinishedAt = &t.StartedAt, &t.FinishedAt
				d := t.FinishedAt.Sub(t.StartedAt.Time).Seconds()
				cr.DurationSeconds = &d
			}
		case s.State.Running != nil:
			cr.State, cr.StartedAt = "running", &s.State.Running.StartedAt
		case s.State.Waiting != nil:
			cr.Reason, cr.Message = s.State.Waiting.Reason, s.State.Waiting.Message
		}
		p.Containers = append(p.Containers, cr)
	}
	return p
}
