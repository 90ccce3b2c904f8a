package testrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
)

// FetchedFile is where the plugin leaves the FetchRecord for the holder, which turns it into its termination
// message when it is released.
const FetchedFile = ControlDir + "/fetched"

// maxRecordBytes keeps a record within the kubelet's 4096-byte cap on a container's termination message.
const maxRecordBytes = 4000

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

// newFetchRecord records reports fetched at now.
func newFetchRecord(reports *Reports, now time.Time) *FetchRecord {
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

// encode returns the record as one line of JSON of at most maxRecordBytes, leaving out failure messages,
// then failed cases from the end, then the JUnit file names, until it fits.
func (rec *FetchRecord) encode() string {
	b, _ := json.Marshal(rec)
	if len(b) <= maxRecordBytes || rec.JUnit == nil {
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
		case len(b) <= maxRecordBytes:
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
	return fmt.Sprintf("%d file(s), %s, fetched at %s", rec.Files, humanBytes(rec.Bytes), rec.At.UTC().Format(time.RFC3339))
}

// FetchRecordOf returns the record the holder of pod carries out, or nil.
func FetchRecordOf(pod *corev1.Pod) *FetchRecord {
	t := terminated(containerStatus(pod, HolderContainer))
	if t == nil || t.Message == "" {
		return nil
	}
	var rec FetchRecord
	if err := json.Unmarshal([]byte(t.Message), &rec); err != nil || rec.At.IsZero() {
		return nil
	}
	return &rec
}

// releaseHolder tells the holder of pod to exit, so the pod and the Job finish with the test's status;
// with a record of the fetched reports, which the holder carries out (see FetchRecord).
func releaseHolder(ctx context.Context, exec podexec.Executor, namespace, pod string, rec *FetchRecord) error {
	command := []string{"touch", ReleaseFile}
	if rec != nil {
		// The release comes whether or not the record could be written: the test's status matters more.
		command = []string{"sh", "-c", `printf '%s\n' "$1" > "$2"; touch "$3"`, "release", rec.encode(), FetchedFile, ReleaseFile}
	}
	return exec.Exec(ctx, namespace, pod, HolderContainer, command, nil, io.Discard, io.Discard)
}
