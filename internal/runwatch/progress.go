package runwatch

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// What a progress report shows at most: the run's latest events and the test's last lines of output.
const (
	ReportEvents = 5
	ReportLines  = 5
)

// Snapshot is where a followed run stands at one moment: what a progress report (SIGUSR1) and a heartbeat
// (--progress-every) show. The follower fills it from what it holds: the Watch's cache, the output it
// streamed, the reports it copied. Only the events, and the output of a run whose log it does not stream,
// are read from the API server for it (Gather).
type Snapshot struct {
	// Run names the followed run; Selector the runs followed when there is no one name.
	Run, Selector, Namespace string
	// Now is when the snapshot was taken, Started when the command began to follow.
	Now, Started time.Time
	// Timeout is the command's --timeout; 0 when it has none.
	Timeout time.Duration
	// Status is what the status line says.
	Status string
	// Job is the run's Job (nil when not known); Pods its pods, oldest first.
	Job  *batchv1.Job
	Pods []*corev1.Pod
	// Events are the latest events of the Job and its pods, oldest first; EventsErr says why they are missing.
	Events    []corev1.Event
	EventsErr error
	// Output holds the test's last lines; LastOutput is when the latest one came (zero: none yet);
	// OutputErr says why they are missing.
	Output     []string
	LastOutput time.Time
	OutputErr  error
	// ReportsTo is the local directory the reports are copied into, "" when none are asked for; Reports is
	// what was copied, nil while nothing was.
	ReportsTo string
	Reports   *outcome.Reports
}

// Report is the progress report printed on SIGUSR1: each pod's phase and container states, the time spent
// against --timeout, what the run waits for, the latest events, the last lines of output and the reports
// copied so far. Text from the cluster in it is not escaped: the reporter does that.
func (s Snapshot) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- progress of %s at %s\n", s.subject(), s.Now.Format(time.TimeOnly))
	fmt.Fprintf(&b, "elapsed:     %s\n", s.elapsed())
	if s.Job != nil {
		created := s.Job.CreationTimestamp.Time
		fmt.Fprintf(&b, "created:     %s, %s ago\n", created.Format(time.TimeOnly), ago(s.Now, created))
	}
	if s.Status != "" {
		fmt.Fprintf(&b, "status:      %s\n", s.Status)
	}
	fmt.Fprintf(&b, "waiting for: %s\n", s.waitingFor())
	if len(s.Pods) == 0 {
		b.WriteString("pods:        none yet\n")
	}
	for _, p := range s.Pods {
		writePod(&b, p, s.Now)
	}
	s.writeEvents(&b)
	s.writeOutput(&b)
	if s.ReportsTo != "" {
		fmt.Fprintf(&b, "reports:     %s\n", s.reports())
	}
	b.WriteString("--- end of progress report\n")
	return b.String()
}

// Heartbeat is the line printed every --progress-every: "still running: 12m of 40m, last output 3m ago,
// pod Running on node n1". A test that printed nothing for silentAfter (the interval: nothing since the
// last heartbeat) has its silence named: "silent for 12m".
func (s Snapshot) Heartbeat(silentAfter time.Duration) string {
	test := s.testStatus()
	state := "still waiting"
	switch {
	case test != nil && test.State.Running != nil:
		state = "still running"
	case test != nil && test.State.Terminated != nil:
		state = "the test has ended, finishing the run"
	case s.Status != "":
		state = "still waiting (" + s.Status + ")"
	}
	parts := []string{s.elapsedShort(), s.outputShort(test, silentAfter), s.podsShort()}
	return state + ": " + strings.Join(parts, ", ")
}

func (s Snapshot) subject() string {
	if s.Run != "" {
		return fmt.Sprintf("run %s in namespace %s", s.Run, s.Namespace)
	}
	return fmt.Sprintf("the runs selected by %q in namespace %s", s.Selector, s.Namespace)
}

func (s Snapshot) elapsed() string {
	spent := s.Now.Sub(s.Started)
	e := human(spent) + ", no --timeout"
	if s.Timeout > 0 {
		e = fmt.Sprintf("%s of --timeout %s, %s left", human(spent), human(s.Timeout), human(max(s.Timeout-spent, 0)))
	}
	return fmt.Sprintf("%s (following since %s)", e, s.Started.Format(time.TimeOnly))
}

func (s Snapshot) elapsedShort() string {
	if s.Timeout > 0 {
		return human(s.Now.Sub(s.Started)) + " of " + human(s.Timeout)
	}
	return human(s.Now.Sub(s.Started))
}

// newest returns the newest pod, or nil.
func (s Snapshot) newest() *corev1.Pod {
	if len(s.Pods) == 0 {
		return nil
	}
	return s.Pods[len(s.Pods)-1]
}

// testStatus returns the status of the newest pod's test container (its first container in a pod the
// plugin did not make), or nil.
func (s Snapshot) testStatus() *corev1.ContainerStatus {
	pod := s.newest()
	if pod == nil {
		return nil
	}
	return outcome.ContainerStatus(pod, testContainer(pod))
}

func testContainer(pod *corev1.Pod) string {
	for _, c := range pod.Spec.Containers {
		if c.Name == runspec.TestContainer {
			return c.Name
		}
	}
	if len(pod.Spec.Containers) == 0 {
		return runspec.TestContainer
	}
	return pod.Spec.Containers[0].Name
}

// waitingFor says what the run waits for, from its newest pod.
func (s Snapshot) waitingFor() string {
	pod, test := s.newest(), s.testStatus()
	switch {
	case pod == nil && s.Job != nil:
		return "the Job controller to create the pod"
	case pod == nil:
		return "a pod"
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return "nothing: the pod has finished"
	case pod.Spec.NodeName == "":
		return "a node: the scheduler has not placed the pod yet"
	case test == nil || test.State.Waiting != nil:
		why := ""
		if test != nil && test.State.Waiting.Reason != "" {
			why = " (" + test.State.Waiting.Reason + ")"
		}
		return "the test container to start" + why
	case test.State.Running != nil:
		return "the test to end"
	}
	if s.ReportsTo != "" && s.Reports == nil {
		return "the reports to be copied; the test has ended"
	}
	return "the pod to finish; the test has ended"
}

// writePod writes a pod's phase and node, then one line per container.
func writePod(b *strings.Builder, pod *corev1.Pod, now time.Time) {
	node := pod.Spec.NodeName
	if node == "" {
		node = "(none yet)"
	}
	fmt.Fprintf(b, "pod %s: %s on node %s\n", pod.Name, pod.Status.Phase, node)
	for _, c := range pod.Spec.InitContainers {
		fmt.Fprintf(b, "  %s (init): %s\n", c.Name, containerState(statusOf(pod.Status.InitContainerStatuses, c.Name), now))
	}
	for _, c := range pod.Spec.Containers {
		fmt.Fprintf(b, "  %s: %s\n", c.Name, containerState(statusOf(pod.Status.ContainerStatuses, c.Name), now))
	}
	for _, c := range pod.Spec.EphemeralContainers {
		fmt.Fprintf(b, "  %s (ephemeral): %s\n", c.Name, containerState(statusOf(pod.Status.EphemeralContainerStatuses, c.Name), now))
	}
}

func statusOf(statuses []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range statuses {
		if statuses[i].Name == name {
			return &statuses[i]
		}
	}
	return nil
}

// containerState says in a few words what a container is doing.
func containerState(s *corev1.ContainerStatus, now time.Time) string {
	switch {
	case s == nil:
		return "not created yet"
	case s.State.Running != nil:
		return fmt.Sprintf("running for %s", human(now.Sub(s.State.Running.StartedAt.Time)))
	case s.State.Terminated != nil:
		t := s.State.Terminated
		text := fmt.Sprintf("exited with code %d", t.ExitCode)
		if t.Reason != "" {
			text += " (" + t.Reason + ")"
		}
		if !t.StartedAt.IsZero() && !t.FinishedAt.IsZero() {
			text += fmt.Sprintf(" after %s, %s ago", human(t.FinishedAt.Sub(t.StartedAt.Time)), ago(now, t.FinishedAt.Time))
		}
		return text
	case s.State.Waiting != nil && s.State.Waiting.Message != "":
		return fmt.Sprintf("waiting (%s): %s", s.State.Waiting.Reason, s.State.Waiting.Message)
	case s.State.Waiting != nil:
		return fmt.Sprintf("waiting (%s)", s.State.Waiting.Reason)
	}
	return "unknown"
}

func (s Snapshot) writeEvents(b *strings.Builder) {
	switch {
	case s.EventsErr != nil:
		fmt.Fprintf(b, "events:      could not be read: %v\n", s.EventsErr)
		return
	case len(s.Events) == 0:
		b.WriteString("events:      none\n")
		return
	}
	b.WriteString("events (the latest, oldest first):\n")
	for i := range s.Events {
		e := &s.Events[i]
		count := ""
		if e.Count > 1 {
			count = fmt.Sprintf(" (x%d)", e.Count)
		}
		object := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
		if e.InvolvedObject.FieldPath != "" {
			object += " " + e.InvolvedObject.FieldPath
		}
		fmt.Fprintf(b, "  %s ago  %s  %s  %s: %s%s\n", ago(s.Now, eventTime(e)), e.Type, e.Reason, object, strings.TrimSpace(e.Message), count)
	}
}

func (s Snapshot) writeOutput(b *strings.Builder) {
	switch {
	case s.OutputErr != nil:
		fmt.Fprintf(b, "output:      could not be read: %v\n", s.OutputErr)
		return
	case len(s.Output) == 0 && s.LastOutput.IsZero():
		b.WriteString("output:      none yet\n")
		return
	}
	fmt.Fprintf(b, "output:      the last line came %s ago; the last %d line(s):\n", ago(s.Now, s.LastOutput), len(s.Output))
	for _, l := range s.Output {
		fmt.Fprintf(b, "  %s\n", l)
	}
}

func (s Snapshot) reports() string {
	switch {
	case s.Reports == nil:
		return fmt.Sprintf("none copied yet: they are copied into %s when the test ends", s.ReportsTo)
	case s.Reports.Error != "":
		return fmt.Sprintf("%d file(s) copied into %s, incomplete: %s", len(s.Reports.Files), s.ReportsTo, s.Reports.Error)
	}
	var n int64
	for _, f := range s.Reports.Files {
		n += f.Size
	}
	return fmt.Sprintf("%d file(s), %s, copied into %s and verified", len(s.Reports.Files), outcome.HumanBytes(n), s.ReportsTo)
}

// outputShort says when the test last printed, naming a silence of silentAfter or more.
func (s Snapshot) outputShort(test *corev1.ContainerStatus, silentAfter time.Duration) string {
	running := test != nil && test.State.Running != nil
	switch {
	case s.OutputErr != nil:
		return "output unknown"
	case s.LastOutput.IsZero() && running:
		return fmt.Sprintf("silent for %s (no output yet)", human(s.Now.Sub(test.State.Running.StartedAt.Time)))
	case s.LastOutput.IsZero():
		return "no output yet"
	}
	quiet := s.Now.Sub(s.LastOutput)
	if running && silentAfter > 0 && quiet >= silentAfter {
		return fmt.Sprintf("silent for %s (the last output at %s)", human(quiet), s.LastOutput.Format(time.TimeOnly))
	}
	return fmt.Sprintf("last output %s ago", human(quiet))
}

// podsShort names the pods' phases and nodes.
func (s Snapshot) podsShort() string {
	describe := func(p *corev1.Pod) string {
		if p.Spec.NodeName == "" {
			return string(p.Status.Phase) + ", not scheduled"
		}
		return fmt.Sprintf("%s on node %s", p.Status.Phase, p.Spec.NodeName)
	}
	switch len(s.Pods) {
	case 0:
		return "no pod yet"
	case 1:
		return "pod " + describe(s.Pods[0])
	}
	each := make([]string, 0, len(s.Pods))
	for _, p := range s.Pods {
		each = append(each, p.Name+" "+describe(p))
	}
	return "pods " + strings.Join(each, "; ")
}

// human writes d the way kubectl writes ages (12m, 2m30s, 5h).
func human(d time.Duration) string {
	return duration.HumanDuration(d)
}

func ago(now, then time.Time) string {
	return human(now.Sub(then))
}

// latestEvents returns the n latest of events, oldest first.
func latestEvents(events []corev1.Event, n int) []corev1.Event {
	events = slices.Clone(events)
	// Events of the same second keep the order they were made in: a recorder names them after the time in
	// nanoseconds.
	slices.SortFunc(events, func(a, b corev1.Event) int {
		if c := eventTime(&a).Compare(eventTime(&b)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if len(events) > n {
		events = events[len(events)-n:]
	}
	return events
}

// Snapshot returns the run as the Watch's cache holds it now; the follower adds what else it knows.
func (w *Watch) Snapshot(now time.Time) Snapshot {
	s := Snapshot{Run: w.name, Namespace: w.namespace, Now: now, Job: w.Job(), Pods: w.Pods()}
	if w.name == "" {
		s.Selector = w.selector.String()
	}
	return s
}
