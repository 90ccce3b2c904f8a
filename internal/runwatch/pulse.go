package runwatch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/interrupt"
)

// Heartbeat says how often a follower tells by itself where its run stands (--progress-every), and which
// clock it reads.
type Heartbeat struct {
	// Every is the interval; 0 turns the heartbeat off.
	Every time.Duration
	// Clock replaces the real clock (tests); nil is the real one.
	Clock clock.WithTicker
}

// Pulse tells a follower when to say where its run stands: when a person asks (SIGUSR1: the
// interrupt.InfoRequests its context carries) and every Heartbeat.Every; the follower then calls Print from
// its own loop: nothing is printed from a signal handler, and the run is never stopped for it. A nil *Pulse
// never fires.
type Pulse struct {
	// Watch is the follower's cache of the run; Timeout its --timeout (0: none).
	Watch   *Watch
	Timeout time.Duration
	// Run names the run when Watch follows a selector (logs RUN -f).
	Run string
	// ReportsTo is the local reports directory, "" without --reports.
	ReportsTo string
	// Tail holds the last lines of the output streamed so far, and Seen when the latest came; without them
	// (wait) the output is read from the API server.
	Tail fmt.Stringer
	Seen *OutputSeen

	since  time.Time
	every  time.Duration
	clock  clock.WithTicker
	asked  <-chan struct{}
	stop   func()
	ticker clock.Ticker
}

// Start listens for requests and starts the heartbeat; stop both with Pulse.Stop.
func (h Heartbeat) Start(ctx context.Context) *Pulse {
	p := &Pulse{every: h.Every, clock: h.Clock}
	if p.clock == nil {
		p.clock = clock.RealClock{}
	}
	p.since = p.clock.Now()
	p.asked, p.stop = interrupt.Info(ctx).Listen()
	if p.every > 0 {
		p.ticker = p.clock.NewTicker(p.every)
	}
	return p
}

// Asked receives a value when a person asked for a progress report.
func (p *Pulse) Asked() <-chan struct{} {
	if p == nil {
		return nil
	}
	return p.asked
}

// Beat receives a value when a heartbeat is due; it never does when the heartbeat is off.
func (p *Pulse) Beat() <-chan time.Time {
	if p == nil || p.ticker == nil {
		return nil
	}
	return p.ticker.C()
}

// Now reads the pulse's clock.
func (p *Pulse) Now() time.Time { return p.clock.Now() }

// Stop stops listening and beating.
func (p *Pulse) Stop() {
	if p == nil {
		return
	}
	p.stop()
	if p.ticker != nil {
		p.ticker.Stop()
	}
}

// Print prints where the run stands: the report a person asked for (asked), escaped and even in quiet mode
// since it was asked for, or else a heartbeat line, which --quiet silences like any progress. status is what
// the status line says, got the reports copied so far (nil: none).
func (p *Pulse) Print(ctx context.Context, client kubernetes.Interface, rep reporter.Reporter, status string, got *outcome.Reports, asked bool) {
	s := p.Watch.Snapshot(p.Now())
	s.Started, s.Timeout, s.Status = p.since, p.Timeout, status
	if p.Run != "" {
		s.Run = p.Run
	}
	if s.Status == "" && len(s.Pods) > 0 {
		s.Status = outcome.Classify(s.Job, s.newest()).Status
	}
	s.ReportsTo, s.Reports = p.ReportsTo, got
	switch {
	case p.Tail != nil:
		s.Output = LastLines(p.Tail.String(), ReportLines)
		if p.Seen != nil {
			s.LastOutput = p.Seen.Last()
		}
	case asked:
		GatherOutput(ctx, client, &s, ReportLines)
	default:
		GatherOutput(ctx, client, &s, 1)
	}
	if !asked {
		rep.Printf("%s", s.Heartbeat(p.every))
		return
	}
	GatherEvents(ctx, client, &s)
	_, _ = rep.BlockWriter().Write([]byte(s.Report()))
}

// gatherBudget bounds the requests made for one snapshot, so that a slow API server cannot hold up the
// follower that asked.
const gatherBudget = 3 * time.Second

// maxPodsForEvents bounds the pods whose events one snapshot lists (the newest; logs -l may follow many).
const maxPodsForEvents = 3

// GatherEvents adds the latest events of the run's Job and pods to s (ReportEvents of them), within a
// budget; events are read for a report only, never on a schedule.
func GatherEvents(ctx context.Context, client kubernetes.Interface, s *Snapshot) {
	ctx, cancel := context.WithTimeout(ctx, gatherBudget)
	defer cancel()
	var uids []types.UID
	if s.Job != nil {
		uids = append(uids, s.Job.UID)
	}
	for _, p := range s.Pods[max(len(s.Pods)-maxPodsForEvents, 0):] {
		uids = append(uids, p.UID)
	}
	var all []corev1.Event
	var errs []error
	for _, uid := range uids {
		list, err := client.CoreV1().Events(s.Namespace).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(uid)).String(),
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range list.Items {
			if e.InvolvedObject.UID == uid { // the selector's own answer, checked: an earlier object may share the name
				all = append(all, e)
			}
		}
	}
	s.Events, s.EventsErr = latestEvents(all, ReportEvents), errors.Join(errs...)
}

// GatherOutput adds the last lines the test container of the newest pod printed to s, and when the last
// one came, read from the API server within a budget: for a follower that does not stream the log (wait).
// lines is how many are read; a heartbeat needs one.
func GatherOutput(ctx context.Context, client kubernetes.Interface, s *Snapshot, lines int) {
	pod := s.newest()
	if pod == nil {
		return
	}
	test := outcome.ContainerStatus(pod, testContainer(pod))
	if test == nil || (test.State.Running == nil && test.State.Terminated == nil) {
		return // not started: there is no log to read
	}
	ctx, cancel := context.WithTimeout(ctx, gatherBudget)
	defer cancel()
	raw, err := client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{
		Container: testContainer(pod), TailLines: ptr.To(int64(lines)), Timestamps: true,
	}).DoRaw(ctx)
	if err != nil {
		s.OutputErr = fmt.Errorf("reading the log of pod %q: %w", pod.Name, err)
		return
	}
	s.Output, s.LastOutput = nil, time.Time{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		stamp, line, _ := strings.Cut(sc.Text(), " ")
		if t, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
			s.LastOutput = t
		}
		s.Output = append(s.Output, line)
	}
}

// LastLines returns the last n lines of text.
func LastLines(text string, n int) []string {
	if text == "" {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	return lines[max(len(lines)-n, 0):]
}

// OutputSeen records when a test last printed: a follower that streams the log writes it through this too.
type OutputSeen struct {
	mu   sync.Mutex
	last time.Time
	now  func() time.Time
}

// NewOutputSeen returns an OutputSeen reading the time with now (nil: the real clock).
func NewOutputSeen(now func() time.Time) *OutputSeen {
	if now == nil {
		now = time.Now
	}
	return &OutputSeen{now: now}
}

// Write records that output came.
func (o *OutputSeen) Write(b []byte) (int, error) {
	if len(b) > 0 {
		o.mu.Lock()
		o.last = o.now()
		o.mu.Unlock()
	}
	return len(b), nil
}

// Last returns when output last came; zero when none has.
func (o *OutputSeen) Last() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}
