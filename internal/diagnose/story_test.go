package diagnose

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func event(kind, name, typ, reason, message string, count int32, at time.Time) corev1.Event {
	return corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s.%d", name, at.UnixNano()), Namespace: "ci"},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: "ci"},
		Type:           typ, Reason: reason, Message: message, Count: count, LastTimestamp: metav1.NewTime(at),
	}
}

// Only warnings explain a failure, the kubelet's DNS noise aside; the same warning counts once, its counts added.
func TestDecisiveWarningsKeepWarningsOnceWithoutNoise(t *testing.T) {
	events := []corev1.Event{
		event("Pod", "run-x-abcde", corev1.EventTypeNormal, "Pulled", "pulled", 1, t0),
		event("Pod", "run-x-abcde", corev1.EventTypeWarning, "MissingClusterDNS", "kubelet does not have ClusterDNS IP configured", 5, t0),
		event("Pod", "run-x-abcde", corev1.EventTypeWarning, "DNSConfigForming", "Nameserver limits were exceeded", 1, t0),
		event("Pod", "run-x-abcde", corev1.EventTypeWarning, "FailedMount", `MountVolume.SetUp failed for volume "creds": secret "creds" not found`, 2, t0.Add(2*time.Second)),
		event("Pod", "run-x-abcde", corev1.EventTypeWarning, "BackOff", "Back-off pulling image \"x\"", 3, t0.Add(3*time.Second)),
		event("Pod", "run-x-abcde", corev1.EventTypeWarning, "FailedMount", `MountVolume.SetUp failed for volume "creds": secret "creds" not found`, 4, t0.Add(5*time.Second)),
		event("Job", "run-x", corev1.EventTypeWarning, "FailedCreate", "quota exceeded", 0, t0.Add(time.Second)),
	}
	want := []Warning{
		{Object: "job/run-x", Reason: "FailedCreate", Message: "quota exceeded", Count: 1, Last: t0.Add(time.Second)},
		{Object: "pod/run-x-abcde", Reason: "BackOff", Message: `Back-off pulling image "x"`, Count: 3, Last: t0.Add(3 * time.Second)},
		{Object: "pod/run-x-abcde", Reason: "FailedMount", Message: `MountVolume.SetUp failed for volume "creds": secret "creds" not found`, Count: 6, Last: t0.Add(5 * time.Second)},
	}
	if diff := cmp.Diff(want, DecisiveWarnings(events)); diff != "" {
		t.Errorf("DecisiveWarnings (-want +got):\n%s", diff)
	}
}

func failedPod(message string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "run-x-abcde", Namespace: "ci"},
		Spec:       corev1.PodSpec{NodeName: "node-1"},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: runspec.TestContainer,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 1, Reason: "Error", Message: message, StartedAt: metav1.NewTime(t0), FinishedAt: metav1.NewTime(t0),
			}},
		}}},
	}
}

// The story says what failed, the reason, the decisive events, the failed tests, the last lines when they were
// not streamed, and where the rest is; what the user saw already (streamed output) it does not repeat.
func TestStoryTellsWhatFailedAndWhereTheRestIs(t *testing.T) {
	failed := outcome.Outcome{Done: true, TestEnded: true, ExitCode: 1, Reason: "Error", Message: "the test failed with exit code 1"}
	summary := &junit.Summary{Files: []string{"junit.xml"}, Tests: 5, Failures: 1, Time: 1.25,
		Failed: []junit.Case{{Suite: "api", Name: "TestLogin", Message: "expected 200, got 500\nat login_test.go:12"}}}
	tests := []struct {
		name     string
		failure  Failure
		headline string
		want     []string
	}{{
		name: "an assertion failed, its output streamed",
		failure: Failure{Run: "run-x", Namespace: "ci", Outcome: failed, Pod: failedPod("last line\n"), JUnit: summary,
			Streamed: true, File: "/tmp/testrun-run-x-diagnostics.txt"},
		headline: "run run-x failed: the test failed with exit code 1",
		want: []string{
			"  reason: Error, exit code 1 (pod run-x-abcde on node node-1)",
			"  junit: 5 tests, 1 failed in 1.2s (1 file)",
			"    FAIL api/TestLogin: expected 200, got 500",
			"  full diagnostics (describe of the job and pod, every event): /tmp/testrun-run-x-diagnostics.txt",
		},
	}, {
		name: "wait: the output was not streamed",
		failure: Failure{Run: "run-x", Namespace: "ci", Outcome: failed, Pod: failedPod("panic: boom\n"),
			Tail: "line 1\npanic: boom\n", File: "/tmp/d.txt"},
		headline: "run run-x failed: the test failed with exit code 1",
		want: []string{
			"  reason: Error, exit code 1 (pod run-x-abcde on node node-1)",
			"  the test's last lines of output:",
			"    line 1",
			"    panic: boom",
			"  full diagnostics (describe of the job and pod, every event): /tmp/d.txt",
		},
	}, {
		name: "no log to read: the termination message speaks for the test",
		failure: Failure{Run: "run-x", Namespace: "ci", Outcome: failed, Pod: failedPod("panic: boom\ngoroutine 1"),
			FileError: "saving the diagnostics: disk full"},
		headline: "run run-x failed: the test failed with exit code 1",
		want: []string{
			"  reason: Error, exit code 1 (pod run-x-abcde on node node-1): panic: boom",
			"  full diagnostics not saved: saving the diagnostics: disk full",
		},
	}, {
		name: "it could not run: the events say why",
		failure: Failure{Run: "run-x", Namespace: "ci",
			Outcome:  outcome.Outcome{Done: true, ExitCode: 125, Reason: "Unschedulable", Message: "pod \"run-x-abcde\" cannot be scheduled (Unschedulable): check --node-selector"},
			Warnings: []Warning{{Object: "pod/run-x-abcde", Reason: "FailedScheduling", Message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.", Count: 2}},
			Streamed: true, File: "/tmp/d.txt"},
		headline: `run run-x failed: pod "run-x-abcde" cannot be scheduled (Unschedulable): check --node-selector`,
		want: []string{
			"  reason: Unschedulable, exit code 125",
			"  warning events:",
			"    FailedScheduling (x2) pod/run-x-abcde: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
			"  full diagnostics (describe of the job and pod, every event): /tmp/d.txt",
		},
	}, {
		name: "interrupted",
		failure: Failure{Run: "run-x", Namespace: "ci", Streamed: true, File: "/tmp/d.txt",
			Outcome: outcome.Outcome{Done: true, ExitCode: 130, Reason: outcome.ReasonInterrupted, Message: "interrupted (SIGINT)"}},
		headline: "run run-x was stopped: interrupted (SIGINT)",
		want: []string{
			"  reason: Interrupted, exit code 130",
			"  full diagnostics (describe of the job and pod, every event): /tmp/d.txt",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.failure.Headline(); got != tt.headline {
				t.Errorf("Headline() = %q, want %q", got, tt.headline)
			}
			if diff := cmp.Diff(tt.want, tt.failure.Story()); diff != "" {
				t.Errorf("Story() (-want +got):\n%s", diff)
			}
		})
	}
}

// However much went wrong, the story stays within MaxStoryLines lines (with its headline), none of them
// wrapping the terminal many times, and still names the reason and the file.
func TestStoryStaysShort(t *testing.T) {
	long := strings.Repeat("very long ", 100)
	f := Failure{Run: "run-x", Namespace: "ci", Pod: failedPod(long), File: "/tmp/d.txt",
		Outcome: outcome.Outcome{Done: true, TestEnded: true, ExitCode: 1, Reason: "Error", Message: "first\n" + strings.Repeat("more\n", 50)},
		JUnit:   &junit.Summary{Files: []string{"a.xml"}, Tests: 500, Failures: 200},
	}
	for i := range 200 {
		f.JUnit.Failed = append(f.JUnit.Failed, junit.Case{Suite: "s", Name: fmt.Sprintf("case %d %s", i, long), Message: long})
	}
	for i := range 50 {
		f.Warnings = append(f.Warnings, Warning{Object: "pod/run-x-abcde", Reason: fmt.Sprintf("Reason%d", i), Message: long, Count: 1})
	}
	var tail strings.Builder
	for i := range 500 {
		fmt.Fprintf(&tail, "output line %d %s\n", i, long)
	}
	f.Tail = tail.String()

	story := f.Story()
	if n := len(story) + 1; n > MaxStoryLines {
		t.Errorf("the story has %d lines with its headline, want at most %d:\n%s", n, MaxStoryLines, strings.Join(story, "\n"))
	}
	for _, l := range story {
		if n := utf8.RuneCountInString(l); n > storyLineRunes+10 {
			t.Errorf("a line of %d characters, want at most %d: %q", n, storyLineRunes+10, l)
		}
	}
	text := strings.Join(story, "\n")
	for _, want := range []string{"reason: Error, exit code 1", "Reason49", "… 42 earlier ones", "  … and 190 more", "output line 499", "full diagnostics (describe of the job and pod, every event): /tmp/d.txt"} {
		if !strings.Contains(text, want) {
			t.Errorf("the story lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "output line 489 ") {
		t.Errorf("the story shows more than the last %d lines of output:\n%s", StoryTailLines, text)
	}
}

// Explain saves the whole bundle (the story, describe of the Job and pod, the test's last lines) in a file of
// the temporary directory without reports, next to them with, and returns the story's facts.
func TestExplainSavesTheFullDiagnostics(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "run-x", Namespace: "ci"}}
	pod := failedPod("")
	warning := event("Pod", "run-x-abcde", corev1.EventTypeWarning, "FailedMount", "secret \"creds\" not found", 1, t0)
	failed := outcome.Outcome{Done: true, TestEnded: true, ExitCode: 1, Reason: "Error", Message: "the test failed with exit code 1"}

	for _, tt := range []struct {
		name, dir, streamed, wantFile string
	}{
		{name: "without reports, output not streamed", wantFile: filepath.Join(os.TempDir(), "testrun-run-x-diagnostics.txt")},
		{name: "with reports, output streamed", dir: filepath.Join(t.TempDir(), "out"), streamed: "streamed line"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.wantFile
			if tt.dir != "" {
				want = filepath.Join(tt.dir, DiagnosticsFile)
			}
			d := Diagnosis{Client: fake.NewClientset(job, pod, &warning)}
			f, bundle := d.Explain(t.Context(), time.Minute, Failure{Run: "run-x", Namespace: "ci", Outcome: failed, Pod: pod}, tt.dir, tt.streamed)
			if f.File != want || f.FileError != "" {
				t.Fatalf("file = %q (error %q), want %q", f.File, f.FileError, want)
			}
			if len(f.Warnings) != 1 || f.Warnings[0].Reason != "FailedMount" {
				t.Errorf("warnings = %+v, want the FailedMount", f.Warnings)
			}
			wantTail := "fake logs"
			if tt.streamed != "" {
				wantTail = ""
			}
			if f.Tail != wantTail || f.Streamed != (tt.streamed != "") {
				t.Errorf("tail = %q, streamed %v; want %q", f.Tail, f.Streamed, wantTail)
			}
			if !strings.Contains(bundle, "--- describe job run-x\n") || !strings.Contains(bundle, "--- describe pod run-x-abcde\n") {
				t.Errorf("bundle lacks the describe output:\n%s", bundle)
			}
			b, err := os.ReadFile(f.File)
			if err != nil {
				t.Fatal(err)
			}
			saved := string(b)
			lastLines := "fake logs"
			if tt.streamed != "" {
				lastLines = tt.streamed
			}
			for _, part := range []string{"run run-x in namespace ci: Error (exit code 1)", f.Headline(), "  warning events:", "--- describe job run-x", "--- describe pod run-x-abcde", "--- the test's last lines of output (at most 50)\n" + lastLines} {
				if !strings.Contains(saved, part) {
					t.Errorf("saved diagnostics lack %q:\n%s", part, saved)
				}
			}
		})
	}
	// Waiting on the same run again never overwrites the first file.
	d := Diagnosis{Client: fake.NewClientset(job, pod)}
	f, _ := d.Explain(t.Context(), time.Minute, Failure{Run: "run-x", Namespace: "ci", Outcome: failed, Pod: pod}, "", "")
	if first := filepath.Join(os.TempDir(), "testrun-run-x-diagnostics.txt"); f.File == first || filepath.Dir(f.File) != os.TempDir() || !strings.HasPrefix(filepath.Base(f.File), "testrun-run-x-diagnostics-") {
		t.Errorf("a second diagnosis of the run saved in %q, want a new file beside %q", f.File, first)
	}
}
