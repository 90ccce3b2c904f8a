package diagnose

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"

	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/describe"
	"k8s.io/utils/ptr"
)

// dumpLogLines is how much of each container's log the system-under-test dump shows.
const dumpLogLines = 50

const (
	// Budget bounds gathering the diagnostics of a failed run.
	Budget = 20 * time.Second
	// InterruptedBudget is the same after SIGINT/SIGTERM: with the cleanup, it fits the ~10 s.
	InterruptedBudget = 2 * time.Second
)

// BudgetAfter returns how long the diagnostics of a run that ended with o may take: they read the cluster
// after the end, also after an interrupt, within a budget.
func BudgetAfter(o outcome.Outcome) time.Duration {
	if o.Interrupted() {
		return InterruptedBudget
	}
	return Budget
}

// Diagnosis gathers what a person needs to understand a failed run without running anything again.
type Diagnosis struct {
	Client kubernetes.Interface
	// DumpSelector, when set, adds describe and log tails of the pods it selects (the system under test).
	DumpSelector string
}

// Write writes the describe output of the Job and its pod (with their events, sorted by time, and the
// containers' termination reasons and messages), then the system-under-test dump. Problems reading any part
// are written in its place: a diagnosis never hides the failure it explains.
func (d Diagnosis) Write(ctx context.Context, w io.Writer, namespace, job string, pod *corev1.Pod) {
	settings := describe.DescriberSettings{ShowEvents: true, ChunkSize: 500}
	section(w, "describe job "+job, func() (string, error) {
		return (&describe.JobDescriber{Interface: d.Client}).Describe(namespace, job, settings)
	})
	if pod != nil {
		section(w, "describe pod "+pod.Name, func() (string, error) {
			return (&describe.PodDescriber{Interface: indentedMessages{d.Client}}).Describe(namespace, pod.Name, settings)
		})
	}
	if d.DumpSelector == "" {
		return
	}
	pods, err := d.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: d.DumpSelector})
	if err != nil {
		fmt.Fprintf(w, "--- pods matching %q: %v\n", d.DumpSelector, err)
		return
	}
	if len(pods.Items) == 0 {
		fmt.Fprintf(w, "--- no pod in namespace %q matches --dump-selector %q\n", namespace, d.DumpSelector)
	}
	for _, p := range pods.Items {
		section(w, "describe pod "+p.Name+" (--dump-selector)", func() (string, error) {
			return (&describe.PodDescriber{Interface: indentedMessages{d.Client}}).Describe(namespace, p.Name, settings)
		})
		for _, c := range p.Spec.Containers {
			section(w, fmt.Sprintf("last %d lines of pod %s container %s", dumpLogLines, p.Name, c.Name), func() (string, error) {
				b, err := d.Client.CoreV1().Pods(namespace).GetLogs(p.Name, &corev1.PodLogOptions{
					Container: c.Name, TailLines: ptr.To[int64](dumpLogLines),
				}).DoRaw(ctx)
				return string(b), err
			})
		}
	}
}

// WriteWithin is Write bounded by budget: kubectl's describers take no context, so a slow API server could
// hold them past it. What was gathered by then is written, with a note that the rest is missing.
func (d Diagnosis) WriteWithin(ctx context.Context, w io.Writer, budget time.Duration, namespace, job string, pod *corev1.Pod) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	var buf lockedBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Write(ctx, &buf, namespace, job, pod)
	}()
	select {
	case <-done:
		_, _ = io.WriteString(w, buf.String())
	case <-ctx.Done():
		_, _ = io.WriteString(w, buf.String())
		fmt.Fprintf(w, "--- diagnostics cut short: the API server did not answer within %s\n", budget)
	}
}

// lockedBuffer is written by the diagnosis and read by the caller that stops waiting for it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func section(w io.Writer, title string, body func() (string, error)) {
	fmt.Fprintf(w, "--- %s\n", title)
	text, err := body()
	if err != nil {
		fmt.Fprintf(w, "(could not get it: %v)\n", err)
		return
	}
	fmt.Fprint(w, text)
	if !strings.HasSuffix(text, "\n") {
		fmt.Fprintln(w)
	}
}

// DiagnosticsFile is where, in the local reports directory, a failed run's diagnostics are saved.
const DiagnosticsFile = "testrun-diagnostics.txt"

// SavedDiagnostics is the diagnostics file being written. Pod text in it is escaped as on a terminal: CI logs
// show such files with cat as often as editors open them.
type SavedDiagnostics struct {
	Path string
	f    *os.File
	err  error
}

// DiagnosticsPath is where the diagnostics of run are saved: next to the reports when there are any (dir is
// not empty), else in the system's temporary directory ($TMPDIR), named after the run.
func DiagnosticsPath(dir, run string) string {
	if dir != "" {
		return filepath.Join(dir, DiagnosticsFile)
	}
	return filepath.Join(os.TempDir(), "testrun-"+run+"-diagnostics.txt")
}

// CreateDiagnostics creates the diagnostics file of run (see DiagnosticsPath). It never replaces a file: when
// the test wrote a file of that name among its reports, or a file of that name is in the temporary directory
// already (wait on the same run twice), the diagnostics go to a new file in the temporary directory. There,
// where other users may look, only the user can read it: describe output shows the test's environment.
func CreateDiagnostics(dir, run string) (*SavedDiagnostics, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("saving the diagnostics: %w", err)
		}
	}
	mode := os.FileMode(0o600)
	if dir != "" {
		mode = 0o644
	}
	path := DiagnosticsPath(dir, run)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		f, err = os.CreateTemp("", "testrun-"+run+"-diagnostics-*.txt")
	}
	if err != nil {
		return nil, fmt.Errorf("saving the diagnostics: %w", err)
	}
	return &SavedDiagnostics{Path: f.Name(), f: f}, nil
}

// Header says which run failed and how, then tells its story, before the describe output.
func (s *SavedDiagnostics) Header(f Failure) {
	fmt.Fprintf(s, "run %s in namespace %s: %s (exit code %d)\n", f.Run, f.Namespace, f.Outcome.Reason, f.Outcome.ExitCode)
	if f.Outcome.Message != "" {
		fmt.Fprintf(s, "%s\n", f.Outcome.Message)
	}
	fmt.Fprintf(s, "\n%s\n", f.Headline())
	for _, l := range f.Story() {
		fmt.Fprintf(s, "%s\n", l)
	}
	fmt.Fprintln(s)
}

// Write never fails, so that a full disk does not cut the rest short; Close reports it.
func (s *SavedDiagnostics) Write(b []byte) (int, error) {
	if s.err == nil {
		_, s.err = io.WriteString(s.f, printers.EscapeTerminal(string(b)))
	}
	return len(b), nil
}

// Close ends the file with the tail of the test's output; a file that could not be written whole is removed.
func (s *SavedDiagnostics) Close(tail string) error {
	if tail != "" {
		section(s, fmt.Sprintf("the test's last lines of output (at most %d)", TailLines), func() (string, error) { return tail, nil })
	}
	err := s.err
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(s.Path)
		return fmt.Errorf("saving the diagnostics in %s: %w", s.Path, err)
	}
	return nil
}

// Explain gathers the diagnostics of the failed run f within budget and saves them (see CreateDiagnostics,
// dir is the reports directory or ""): the story, the describe output of the Job and pod with their events,
// the system under test, and the test's last lines. streamed is the test's output as the plugin streamed it
// (its last lines), "" when it was not; then the last lines are read from the pod's log, and the story shows
// them. It returns f completed with its events, the lines not streamed and the file, and the describe output
// for a caller that prints the full diagnostics.
func (d Diagnosis) Explain(ctx context.Context, budget time.Duration, f Failure, dir, streamed string) (Failure, string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	deadline, _ := ctx.Deadline()
	var notes strings.Builder
	warnings, err := d.Warnings(ctx, f.Namespace, f.Run, f.Pod)
	if err != nil {
		fmt.Fprintf(&notes, "--- warning events: (could not get them: %v)\n", err)
	}
	f.Warnings = warnings
	tail := streamed
	f.Streamed = streamed != ""
	if tail == "" && f.Pod != nil {
		tail = strings.TrimRight(d.LastLines(ctx, f.Pod, TailLines), "\n")
		f.Tail = lastLines(tail, StoryTailLines)
	}
	var bundle strings.Builder
	d.WriteWithin(ctx, &bundle, max(time.Until(deadline), 0), f.Namespace, f.Run, f.Pod)
	bundle.WriteString(notes.String())
	saved, err := CreateDiagnostics(dir, f.Run)
	if err != nil {
		f.FileError = err.Error()
		return f, bundle.String()
	}
	f.File = saved.Path
	saved.Header(f)
	_, _ = io.WriteString(saved, bundle.String())
	if err := saved.Close(tail); err != nil {
		f.File, f.FileError = "", err.Error()
	}
	return f, bundle.String()
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TailLines is how many of the test's last lines a synthesized JUnit report carries.
const TailLines = 50

// TailBuffer passes writes through and keeps the last lines written, for a synthesized report.
type TailBuffer struct {
	mu    sync.Mutex
	lines []string
	part  strings.Builder
	max   int
}

// NewTailBuffer returns a TailBuffer keeping the last lines lines.
func NewTailBuffer(lines int) *TailBuffer { return &TailBuffer{max: lines} }

// Write implements io.Writer.
func (t *TailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range string(b) {
		if c == '\n' {
			t.lines = append(t.lines, t.part.String())
			t.part.Reset()
			if len(t.lines) > t.max {
				t.lines = t.lines[len(t.lines)-t.max:]
			}
			continue
		}
		if t.part.Len() < 4096 {
			t.part.WriteRune(c)
		}
	}
	return len(b), nil
}

// String returns the last lines, oldest first.
func (t *TailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.Join(t.lines, "\n")
	if t.part.Len() > 0 {
		s += "\n" + t.part.String()
	}
	return s
}
