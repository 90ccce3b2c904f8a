package reports

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
)

// holderTerminated is a pod whose holder exited with message as its termination message.
func holderTerminated(message string) *corev1.Pod {
	return &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
		{Name: runspec.HolderContainer, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", Message: message}}},
	}}}
}

func TestFetchRecordRoundTripsThroughTheHoldersTerminationMessage(t *testing.T) {
	reports := &outcome.Reports{
		Files: []outcome.ReportFile{{Path: "junit.xml", Size: 1200}, {Path: "big.bin", Size: 50 << 20}},
		JUnit: &junit.Summary{Files: []string{"junit.xml"}, Tests: 8, Failures: 1, Skipped: 2, Time: 0.4,
			Failed: []junit.Case{{Suite: "testee", Name: "test_failed_1", Message: "expected true, got false"}}},
	}
	at := time.Date(2026, 11, 22, 4, 30, 44, 500, time.UTC)
	rec := outcome.NewFetchRecord(reports, at)
	got := outcome.FetchRecordOf(holderTerminated(rec.Encode()))
	if got == nil {
		t.Fatalf("FetchRecordOf(%q) = nil, want the record", rec.Encode())
	}
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("record after the round trip (-want +got):\n%s", diff)
	}
	if got.Files != 2 || got.Bytes != 1200+50<<20 || !got.At.Time.Equal(at.Truncate(time.Second)) || got.Truncated {
		t.Errorf("record = %+v, want 2 files, their bytes, the time to the second and nothing left out", got)
	}
	reports.JUnit.Failed[0].Name = "changed"
	if rec.JUnit.Failed[0].Name != "test_failed_1" {
		t.Error("the record shares its failed cases with the reports it was made from")
	}
}

func TestFetchRecordFitsTheTerminationMessage(t *testing.T) {
	s := &junit.Summary{Files: []string{"a.xml", "b.xml"}, Tests: 5000, Failures: 400}
	for i := range 400 {
		s.Failed = append(s.Failed, junit.Case{Suite: "suite", Name: fmt.Sprintf("test_%03d_with_a_long_descriptive_name", i), Message: strings.Repeat("x", 300)})
	}
	rec := outcome.NewFetchRecord(&outcome.Reports{JUnit: s}, time.Now())
	line := rec.Encode()
	if len(line) > outcome.MaxRecordBytes || strings.Contains(line, "\n") {
		t.Fatalf("encoded record is %d bytes (max %d) or has a newline", len(line), outcome.MaxRecordBytes)
	}
	got := outcome.FetchRecordOf(holderTerminated(line))
	if got == nil || !got.Truncated || got.JUnit == nil || got.JUnit.Tests != 5000 || got.JUnit.Failures != 400 {
		t.Fatalf("record = %+v, want the totals kept and Truncated set", got)
	}
	if n := len(got.JUnit.Failed); n == 0 || n == 400 || got.JUnit.Failed[0].Name != "test_000_with_a_long_descriptive_name" || got.JUnit.Failed[0].Message != "" {
		t.Errorf("kept %d failed cases, first %+v; want the first ones, without their messages", n, got.JUnit.Failed[0])
	}
	if len(rec.JUnit.Failed) != 400 || rec.JUnit.Failed[0].Message == "" {
		t.Error("encode changed the record it encodes")
	}
}

func TestFetchRecordOfIgnoresOtherMessages(t *testing.T) {
	for _, message := range []string{"", "Completed", `{"files":3}`, "{not json"} {
		if rec := outcome.FetchRecordOf(holderTerminated(message)); rec != nil {
			t.Errorf("FetchRecordOf(%q) = %+v, want nil: only a record with its time counts", message, rec)
		}
	}
	running := &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
		{Name: runspec.HolderContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
	}}}
	if rec := outcome.FetchRecordOf(running); rec != nil {
		t.Errorf("FetchRecordOf(a running holder) = %+v, want nil", rec)
	}
}

func TestReleaseHolderLeavesTheRecordFirst(t *testing.T) {
	exec := &podexec.Recorder{}
	if err := ReleaseHolder(t.Context(), exec, "ci", "p", nil); err != nil {
		t.Fatal(err)
	}
	rec := &outcome.FetchRecord{Files: 1}
	if err := ReleaseHolder(t.Context(), exec, "ci", "p", rec); err != nil {
		t.Fatal(err)
	}
	script := `[ -z "$3" ] || printf '%s\n' "$3" > "$4"; touch "$1"; [ -p "$2" ] && printf '\n\n\n' 1<> "$2"; true`
	files := runspec.ReleaseFile + " " + runspec.WakeFile + " "
	want := []string{
		"ci/p/holder: sh -c " + script + " release " + files + " " + runspec.FetchedFile,
		"ci/p/holder: sh -c " + script + " release " + files + rec.Encode() + " " + runspec.FetchedFile,
	}
	if diff := cmp.Diff(want, exec.Calls()); diff != "" {
		t.Errorf("exec calls (-want +got):\n%s", diff)
	}
	var back outcome.FetchRecord
	if err := json.Unmarshal([]byte(rec.Encode()), &back); err != nil || back.Files != 1 {
		t.Errorf("the record passed to the holder does not decode: %v", err)
	}
}
