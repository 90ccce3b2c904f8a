package diagnose

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
)

// The bounds of a failure story: together with its head line, the reason and the file's line they keep it
// under 40 lines however many events, failed cases and lines of output there are.
const (
	// storyEvents is how many distinct warning events a story shows.
	storyEvents = 8
	// storyCases is how many failed test cases a story names.
	storyCases = 10
	// StoryTailLines is how many of the test's last lines of output a story shows, when they were not
	// streamed already.
	StoryTailLines = 10
	// storyLineRunes cuts a line of the story that would wrap many times on a terminal.
	storyLineRunes = 240
	// MaxStoryLines is the most lines a story has.
	MaxStoryLines = 40
)

// noise are warning events that never explain a failure: the kubelet emits them for every pod of a node
// whose DNS configuration is incomplete or long.
var noise = map[string]bool{"MissingClusterDNS": true, "DNSConfigForming": true}

// Warning is one decisive event of a failed run: a warning, the same reason and message counted once.
type Warning struct {
	// Object is the kind and name of what the event is about ("pod/x-abc12").
	Object string
	Reason string
	// Message is the event's text, as the cluster wrote it.
	Message string
	// Count is how often it happened.
	Count int32
	// Last is when it last happened.
	Last time.Time
}

// Failure is what is known of a failed run when it ended: the facts its story tells.
type Failure struct {
	// Run and Namespace name the run.
	Run, Namespace string
	// Outcome is how it ended.
	Outcome outcome.Outcome
	// Pod is its pod's last state, if it had one.
	Pod *corev1.Pod
	// JUnit is the summary of its reports, when they were fetched and held JUnit.
	JUnit *junit.Summary
	// Warnings are its decisive events (see DecisiveWarnings).
	Warnings []Warning
	// Streamed says the test's output was streamed as it ran, so the story need not repeat any of it.
	Streamed bool
	// Tail is the test's last lines of output when they were not streamed already (e.g. wait, or a test that
	// ended before its log could be followed); empty when they were.
	Tail string
	// File is where the full diagnostics are, or FileError why they could not be saved.
	File, FileError string
}

// DecisiveWarnings returns the warning events of events, the noise left out, each reason and message once
// (their counts added up), oldest first.
func DecisiveWarnings(events []corev1.Event) []Warning {
	type key struct{ object, reason, message string }
	seen := map[key]int{}
	var out []Warning
	for _, e := range events {
		if e.Type != corev1.EventTypeWarning || noise[e.Reason] {
			continue
		}
		k := key{strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name, e.Reason, strings.TrimSpace(e.Message)}
		count, last := eventCount(e), eventTime(e)
		if i, ok := seen[k]; ok {
			out[i].Count += count
			if last.After(out[i].Last) {
				out[i].Last = last
			}
			continue
		}
		seen[k] = len(out)
		out = append(out, Warning{Object: k.object, Reason: e.Reason, Message: k.message, Count: count, Last: last})
	}
	slices.SortStableFunc(out, func(a, b Warning) int { return a.Last.Compare(b.Last) })
	return out
}

// eventCount is how often e happened, whichever of the two ways of counting the cluster used.
func eventCount(e corev1.Event) int32 {
	switch {
	case e.Series != nil && e.Series.Count > 0:
		return e.Series.Count
	case e.Count > 0:
		return e.Count
	}
	return 1
}

// eventTime is when e last happened.
func eventTime(e corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// Headline is the first line of a failed run's story: which run and what happened to it.
func (f Failure) Headline() string {
	msg := f.Outcome.Message
	if msg == "" {
		msg = fmt.Sprintf("it ended with exit code %d", f.Outcome.ExitCode)
	}
	if f.Outcome.Interrupted() {
		return fmt.Sprintf("run %s was stopped: %s", f.Run, firstLine(msg))
	}
	return fmt.Sprintf("run %s failed: %s", f.Run, firstLine(msg))
}

// Story returns the lines that follow the headline, each indented by two spaces: the reason with the
// container's own words, the decisive events, the failed test cases, the last lines of output when they
// were not streamed, and where the full diagnostics are. It has at most MaxStoryLines-1 lines, so that
// with the headline a failure never takes more than MaxStoryLines lines of stderr.
func (f Failure) Story() []string {
	var lines []string
	add := func(indent int, format string, args ...any) {
		text := strings.TrimRight(fmt.Sprintf(format, args...), " \t")
		lines = append(lines, strings.Repeat("  ", indent)+cut(text))
	}
	add(1, "reason: %s", f.reason())
	if rest := restOf(f.Outcome.Message); rest != "" {
		for _, l := range limit(strings.Split(rest, "\n"), 3) {
			add(2, "%s", l)
		}
	}
	if len(f.Warnings) > 0 {
		add(1, "warning events:")
		shown := f.Warnings
		if len(shown) > storyEvents {
			// The latest ones: the run ended on them.
			shown = shown[len(shown)-storyEvents:]
			add(2, "… %d earlier ones in the diagnostics file", len(f.Warnings)-storyEvents)
		}
		for _, w := range shown {
			times := ""
			if w.Count > 1 {
				times = fmt.Sprintf(" (x%d)", w.Count)
			}
			add(2, "%s%s %s: %s", w.Reason, times, w.Object, firstLine(w.Message))
		}
	}
	if s := f.JUnit; s != nil && len(s.Files) > 0 {
		summary := strings.Split(s.Lines(storyCases), "\n")
		add(1, "%s", summary[0])
		for _, l := range summary[1:] {
			add(1, "%s", l)
		}
	}
	if tail := strings.TrimRight(f.Tail, "\n"); tail != "" {
		all := strings.Split(tail, "\n")
		add(1, "the test's last lines of output:")
		for _, l := range all[max(0, len(all)-StoryTailLines):] {
			add(2, "%s", l)
		}
	}
	switch {
	case f.File != "":
		// Never cut: a path is of no use without its end.
		lines = append(lines, "  full diagnostics (describe of the job and pod, every event): "+f.File)
	case f.FileError != "":
		add(1, "full diagnostics not saved: %s", f.FileError)
	}
	return lines
}

// reason is the one-line reason: the outcome's word, the exit code and the container's own words.
func (f Failure) reason() string {
	r := f.Outcome.Reason
	if r == "" {
		r = "Unknown"
	}
	r = fmt.Sprintf("%s, exit code %d", r, f.Outcome.ExitCode)
	if f.Pod == nil {
		return r
	}
	r += fmt.Sprintf(" (pod %s", f.Pod.Name)
	if f.Pod.Spec.NodeName != "" {
		r += " on node " + f.Pod.Spec.NodeName
	}
	r += ")"
	if t := outcome.Terminated(outcome.ContainerStatus(f.Pod, runspec.TestContainer)); t != nil && t.Message != "" && !f.Streamed && f.Tail == "" {
		// The termination message is the log's tail (FallbackToLogsOnError) or the test's own last word: worth
		// its first line when no output is shown otherwise (the log could not be read).
		r += ": " + firstLine(t.Message)
	}
	return r
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

func restOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return ""
}

func limit(lines []string, n int) []string {
	if len(lines) > n {
		return append(lines[:n:n], "…")
	}
	return lines
}

// cut shortens a line that would wrap many times on a terminal, marking the cut.
func cut(s string) string {
	if utf8.RuneCountInString(s) <= storyLineRunes {
		return s
	}
	return string([]rune(s)[:storyLineRunes-1]) + "…"
}

// Warnings returns the decisive warning events of the run's Job and pod (see DecisiveWarnings).
func (d Diagnosis) Warnings(ctx context.Context, namespace, job string, pod *corev1.Pod) ([]Warning, error) {
	names := []string{job}
	if pod != nil {
		names = append(names, pod.Name)
	}
	var events []corev1.Event
	for _, name := range names {
		list, err := d.Client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", name).String(),
		})
		if err != nil {
			return nil, fmt.Errorf("listing the events of %q: %w", name, err)
		}
		events = append(events, list.Items...)
	}
	return DecisiveWarnings(events), nil
}

// LastLines returns the last n lines of the test container's log, "" when it never started or its log
// cannot be read.
func (d Diagnosis) LastLines(ctx context.Context, pod *corev1.Pod, n int) string {
	s := outcome.ContainerStatus(pod, runspec.TestContainer)
	if s == nil || (s.State.Running == nil && (s.State.Terminated == nil || s.State.Terminated.StartedAt.IsZero())) {
		return ""
	}
	b, err := d.Client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{
		Container: runspec.TestContainer, TailLines: ptr.To(int64(n)),
	}).DoRaw(ctx)
	if err != nil {
		return ""
	}
	return string(b)
}
