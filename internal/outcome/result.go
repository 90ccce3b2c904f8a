package outcome

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"encoding/json"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
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

// Result is the document `kubectl testrun run -o json|yaml` prints for scripts (docs/run.md, "The result document (-o json)").
type Result struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Metadata is the Job's identity, in the documents of list and describe.
	Metadata *ResultMetadata `json:"metadata,omitempty"`
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
	// StartTime is when the Job was created. CompletionTime is when the run ended: when its test container
	// ended, or, for a run whose test never ended, when the plugin or the Job controller saw the end; absent
	// while the run has not ended (a run started with --detach, a run still running in describe and list).
	StartTime       metav1.Time  `json:"startTime"`
	CompletionTime  *metav1.Time `json:"completionTime,omitempty"`
	DurationSeconds float64      `json:"durationSeconds"`
	Pods            []PodResult  `json:"pods"`
	// Reports are the files brought home with --reports, and their JUnit summary.
	Reports *Reports `json:"reports,omitempty"`
	// Fetched is what the run's pod recorded about the reports fetched from it (describe of a released run).
	Fetched *FetchRecord `json:"fetched,omitempty"`
	// Diagnostics is the file the full diagnostics of a failed run were saved in.
	Diagnostics string `json:"diagnostics,omitempty"`
	// Shards are the shards of a sharded run, by index; absent for a run of one pod. The run's own fields
	// then tell the whole: Pods every shard's pod, Reports the merged JUnit report, ExitCode the first
	// failing shard's code.
	Shards []ShardResult `json:"shards,omitempty"`

	// Interrupted says the run was stopped by a signal; it is not part of the document (Phase says it).
	Interrupted bool `json:"-"`
}

// ShardResult is how one shard of a sharded run ended.
type ShardResult struct {
	// Index is the shard's index, from 0 (TESTRUN_SHARD_INDEX, the pod's completion index).
	Index int `json:"index"`
	// Phase, ExitCode, Reason and Message are as in Result, for this shard alone.
	Phase    string `json:"phase"`
	ExitCode int    `json:"exitCode"`
	Reason   string `json:"reason,omitempty"`
	Message  string `json:"message,omitempty"`
	// Pod is the shard's pod, when it had one.
	Pod string `json:"pod,omitempty"`
	// CompletionTime is when the shard's test ended.
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// Reports are the shard's reports, in a directory of their own.
	Reports *Reports `json:"reports,omitempty"`
	// Diagnostics is the file the full diagnostics of the failed shard were saved in.
	Diagnostics string `json:"diagnostics,omitempty"`
	// Fetched is what the shard's pod recorded about the reports fetched from it (list, describe).
	Fetched *FetchRecord `json:"fetched,omitempty"`
}

// ResultMetadata is a run's Job as Kubernetes names it: with it, the documents of list and describe answer
// kubectl's habits (--sort-by=.metadata.creationTimestamp, --show-labels, -o name,
// custom-columns=SUITE:.metadata.labels.suite).
type ResultMetadata struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	Labels            map[string]string `json:"labels,omitempty"`
	CreationTimestamp metav1.Time       `json:"creationTimestamp"`
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

// NewResult returns the result document of the run of spec, started at started, that ended with o; pod is
// its pod, if any.
func NewResult(spec runspec.Spec, o Outcome, pod *corev1.Pod, started time.Time) *Result {
	now := time.Now()
	r := &Result{
		APIVersion: "testrun.dev/v1alpha1", Kind: "Result",
		Name: spec.Name, Namespace: spec.Namespace,
		ExitCode: o.ExitCode, Reason: o.Reason, Message: o.Message,
		StartTime: metav1.NewTime(started), CompletionTime: TestContainerEnd(pod),
		DurationSeconds: now.Sub(started).Round(time.Millisecond).Seconds(),
		Pods:            []PodResult{},
	}
	r.Phase = PhaseOf(o)
	r.Interrupted = r.Phase == PhaseInterrupted
	if o.TestEnded && o.ExitCode == 0 {
		r.Reason, r.Message = "", ""
	}
	if pod != nil {
		r.Pods = append(r.Pods, podResult(pod))
	}
	if r.CompletionTime == nil {
		r.CompletionTime = &metav1.Time{Time: now}
	}
	return r
}

// PhaseOf is the phase of a run that ended with o.
func PhaseOf(o Outcome) string {
	switch {
	case o.Reason == ReasonInterrupted:
		return PhaseInterrupted
	case o.ExitCode == exitcode.Timeout && !o.TestEnded:
		return PhaseTimedOut
	case o.TestEnded && o.ExitCode == 0:
		return PhasePassed
	case o.TestEnded:
		return PhaseFailed
	}
	return PhaseError
}

// TestContainerEnd returns when the test container of pod terminated; nil when it has not (or pod is nil).
func TestContainerEnd(pod *corev1.Pod) *metav1.Time {
	if pod == nil {
		return nil
	}
	s := ContainerStatus(pod, runspec.TestContainer)
	if s == nil || s.State.Terminated == nil || s.State.Terminated.FinishedAt.IsZero() {
		return nil
	}
	t := s.State.Terminated.FinishedAt
	return &t
}

// EndTime returns when a run found in the cluster ended: its test container's end, else when the Job
// controller marked the Job complete or failed; nil while it has not ended.
func EndTime(job *batchv1.Job, pod *corev1.Pod) *metav1.Time {
	if t := TestContainerEnd(pod); t != nil {
		return t
	}
	if job == nil {
		return nil
	}
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			t := c.LastTransitionTime
			return &t
		}
	}
	return job.Status.CompletionTime
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
			if c.Name == runspec.HolderContainer && FetchRecordOf(pod) != nil {
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

// Reports describes the report files brought home from a run.
type Reports struct {
	// Dir is the local directory they were written to.
	Dir string `json:"dir"`
	// Files are every file written, with size and sha256, verified against the manifest made in the pod.
	Files []ReportFile `json:"files"`
	// JUnit totals the JUnit files among them; nil when there were none.
	JUnit *junit.Summary `json:"junit,omitempty"`
	// Synthesized names the JUnit file the plugin wrote because the test left none.
	Synthesized string `json:"synthesized,omitempty"`
	// Diagnostics names the file the plugin saved the diagnostics of a failed run in.
	Diagnostics string `json:"diagnostics,omitempty"`
	// Error says why the reports are missing or incomplete.
	Error string `json:"error,omitempty"`
}

// ReportFile is one file brought home.
type ReportFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// HumanBytes writes n bytes the way people read them (1.5 MiB).
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// MaxRecordBytes keeps a record within the kubelet's 4096-byte cap on a container's termination message.
const MaxRecordBytes = 4000

// FetchRecord is what a run's pod keeps about the reports fetched from it. Nothing can be read from the pod
// once it is released, and the minimal Role may not annotate anything, so the holder carries the record
// out as its termination message, in the pod's status: describe shows it for as long as the pod exists.
type FetchRecord struct {
	// At is when the reports were fetched.
	At metav1.Time `json:"at"`
	// Files and Bytes count the report files.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// JUnit totals the JUnit files among them.
	JUnit *junit.Summary `json:"junit,omitempty"`
	// Truncated says that failed cases (or their messages) were left out to fit the termination message.
	Truncated bool `json:"truncated,omitempty"`
}

// NewFetchRecord records reports fetched at now.
func NewFetchRecord(reports *Reports, now time.Time) *FetchRecord {
	rec := &FetchRecord{At: metav1.NewTime(now.UTC().Truncate(time.Second)), Files: len(reports.Files)}
	for _, f := range reports.Files {
		rec.Bytes += f.Size
	}
	if reports.JUnit != nil {
		s := *reports.JUnit
		s.Failed = append([]junit.Case(nil), s.Failed...)
		rec.JUnit = &s
	}
	return rec
}

// Encode returns the record as one line of JSON of at most maxRecordBytes, leaving out failure messages,
// then failed cases from the end, then the JUnit file names, until it fits.
func (rec *FetchRecord) Encode() string {
	b, _ := json.Marshal(rec)
	if len(b) <= MaxRecordBytes || rec.JUnit == nil {
		return string(b)
	}
	r, s := *rec, *rec.JUnit
	r.JUnit, r.Truncated = &s, true
	s.Failed = append([]junit.Case(nil), s.Failed...)
	for i := range s.Failed {
		s.Failed[i].Message = ""
	}
	for {
		b, _ = json.Marshal(r)
		switch {
		case len(b) <= MaxRecordBytes:
			return string(b)
		case len(s.Failed) > 0:
			s.Failed = s.Failed[:len(s.Failed)-1]
		case len(s.Files) > 0:
			s.Files = nil
		default:
			r.JUnit = nil
		}
	}
}

// Line says what was fetched and when, for describe.
func (rec *FetchRecord) Line() string {
	return fmt.Sprintf("%d file(s), %s, fetched at %s", rec.Files, HumanBytes(rec.Bytes), rec.At.UTC().Format(time.RFC3339))
}

// FetchRecordOf returns the record the holder of pod carries out, or nil.
func FetchRecordOf(pod *corev1.Pod) *FetchRecord {
	t := Terminated(ContainerStatus(pod, runspec.HolderContainer))
	if t == nil || t.Message == "" {
		return nil
	}
	var rec FetchRecord
	if err := json.Unmarshal([]byte(t.Message), &rec); err != nil || rec.At.IsZero() {
		return nil
	}
	return &rec
}

// Verdict is the last line a run prints, on success and on failure, such as
//
//	passed: run smoke-x7k2p, 4 tests, 12.3s
//	failed with exit code 3: run smoke-x7k2p (Error), 1 of 4 tests failed, 12.3s
//
// The JUnit count is there when the reports held JUnit; the duration when the run was followed from its
// start.
func (r *Result) Verdict() string {
	var b strings.Builder
	switch {
	case r.ExitCode == exitcode.OK:
		b.WriteString("passed")
	case r.Phase == PhaseInterrupted:
		fmt.Fprintf(&b, "interrupted with exit code %d", r.ExitCode)
	case r.Phase == PhaseTimedOut:
		fmt.Fprintf(&b, "timed out with exit code %d", r.ExitCode)
	default:
		fmt.Fprintf(&b, "failed with exit code %d", r.ExitCode)
	}
	if r.ExitCode == exitcode.OK {
		fmt.Fprintf(&b, ": run %s", r.Name)
	} else {
		fmt.Fprintf(&b, ": run %s (%s)", r.Name, r.Reason)
	}
	if r.Reports != nil && r.Reports.JUnit != nil && len(r.Reports.JUnit.Files) > 0 {
		j := r.Reports.JUnit
		if failed := j.Failures + j.Errors; failed > 0 {
			fmt.Fprintf(&b, ", %d of %d tests failed", failed, j.Tests)
		} else {
			fmt.Fprintf(&b, ", %d tests", j.Tests)
		}
	}
	if r.DurationSeconds > 0 {
		fmt.Fprintf(&b, ", %s", (time.Duration(r.DurationSeconds * float64(time.Second))).Round(100*time.Millisecond))
	}
	return b.String()
}

// ReasonReportsIncomplete is the Result reason of a run whose test passed but whose reports did not all
// come home whole.
const ReasonReportsIncomplete = "ReportsIncomplete"

// FailIfReportsLost makes a run whose test passed, but whose reports did not all come home whole, end with
// 125 instead of 0, so that CI never loses its reports silently; it reports whether it did. A test that
// failed keeps its own code: the reports' problem is then said on stderr and in the result document.
func (r *Result) FailIfReportsLost() bool {
	if r.Reports == nil || r.Reports.Error == "" || r.ExitCode != exitcode.OK {
		return false
	}
	r.ExitCode, r.Reason = exitcode.CannotRun, ReasonReportsIncomplete
	r.Message = fmt.Sprintf("the test passed, but its reports did not all come home whole, so the run exits %d: %s", exitcode.CannotRun, r.Reports.Error)
	return true
}
