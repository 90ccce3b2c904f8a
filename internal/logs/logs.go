package logs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// LogSource names one container whose log is followed.
type LogSource struct {
	Namespace, Pod, Container string
}

// LogFollower streams one container's log to Out from its first line to its last. A stream that ends early
// (API server restart, dropped connection, kubelet hiccup) is reopened from the last timestamp seen; lines
// already written are skipped, so no line is lost or written twice. Whether the log is complete is decided
// from the container's status (Terminated), never from a stream ending. A stream that ends in the middle of a
// line leaves that line to the next one, which brings it whole.
type LogFollower struct {
	Client kubernetes.Interface
	Source LogSource
	// Out receives the log lines, each with its trailing newline, without the kubelet's timestamps.
	Out io.Writer
	// Terminated reports whether the container has terminated, from the latest pod status seen.
	Terminated func() bool
	// Retry is the pause before reopening a stream that failed; zero means one second.
	Retry time.Duration
	// CleanEndPause is the first pause before reopening a stream that ended cleanly while Terminated still
	// says the container runs; zero means 250 ms (see Follow).
	CleanEndPause time.Duration
	// Timestamps keeps the kubelet's timestamp at the start of each line written.
	Timestamps bool
	// SinceSeconds, when set, starts the log that many seconds back instead of at its beginning.
	SinceSeconds *int64
	// SinceTime, when set, starts the log at that time instead of at its beginning.
	SinceTime *metav1.Time
	// TailLines, when set, starts the log that many lines before its end (at the time of the first stream).
	TailLines *int64
	// Once reads the log as it is now and returns, without following it.
	Once bool
	// Gap, when set, is told when a reopened stream shows that the log lost lines: the kubelet serves only
	// the container's current log file, so once the runtime rotated it (containerLogMaxSize), the lines
	// written after the last one seen and before the rotation are out of reach. from is the last line's
	// timestamp, to the first one the new stream brought (zero when it brought none before the log ended).
	Gap func(from, to time.Time)

	// last is the timestamp of the last line written, and atLast how many lines carried exactly it.
	last   time.Time
	atLast int
	// partial is a line a stream ended in the middle of, held back until a later stream brings it whole.
	partial []byte
	// resumedEmpty says that the last stream resumed after a line written but brought no line at all.
	resumedEmpty bool
	// open opens one stream; nil means the API server (tests replace it).
	open func(ctx context.Context, opts *corev1.PodLogOptions) (io.ReadCloser, error)
}

// Follow streams until the terminated container's whole log has been written, the pod is gone, or ctx ends.
func (f *LogFollower) Follow(ctx context.Context) error {
	retry := f.Retry
	if retry == 0 {
		retry = time.Second
	}
	notFound, quiet := 0, 0
	for {
		// Read before opening: a stream opened after the container terminated holds its whole remaining log.
		final := f.Once || f.Terminated()
		before := f.last
		err := f.stream(ctx, !f.Once)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, errEnded):
			// Cut for the final read (see stream).
			notFound = 0
			continue
		case err == nil && final:
			// The runtime finished the log file before it reported the end: a line still cut is how it ends.
			if f.resumedEmpty {
				f.gap(f.last, time.Time{})
			}
			return f.flushPartial()
		case apierrors.IsNotFound(err):
			// NotFound also comes from a kubelet that restarts and does not know the pod yet: only a pod gone
			// from the API server, or a log refused for longer than a restart takes, ends the log.
			if f.podGone(ctx) {
				return fmt.Errorf("pod %q is gone, its log may be incomplete: %w", f.Source.Pod, err)
			}
			if notFound++; notFound > maxNotFound {
				return fmt.Errorf("the log of pod %q was refused as not found %d times in a row, it may be incomplete: %w", f.Source.Pod, notFound, err)
			}
		case err == nil:
			notFound = 0
			// A clean end while the container still ran, as far as its status says: most often the container
			// has just ended and the kubelet reports it a second later. Reopening at once would spin and use
			// up the client's rate limit (docs/performance.md): reopen as soon as the status says it ended
			// (the final read), or after a pause that grows while the streams bring nothing new.
			if !f.last.Equal(before) {
				quiet = 0
			}
			pause := min(f.cleanEndPause()<<quiet, maxCleanEndPause)
			quiet = min(quiet+1, 8)
			if err := f.awaitEnd(ctx, pause); err != nil {
				return err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retry):
		}
	}
}

// awaitEnd returns once Terminated says the container ended, or after pause.
func (f *LogFollower) awaitEnd(ctx context.Context, pause time.Duration) error {
	deadline := time.NewTimer(pause)
	defer deadline.Stop()
	tick := time.NewTicker(endPoll)
	defer tick.Stop()
	for !f.Terminated() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return nil
		case <-tick.C:
		}
	}
	return nil
}

func (f *LogFollower) cleanEndPause() time.Duration {
	if f.CleanEndPause > 0 {
		return f.CleanEndPause
	}
	return defaultCleanEndPause
}

// How a stream that ended cleanly while the container ran is reopened (see Follow): endPoll is how often the
// status (a local cache) is read meanwhile; the pause starts at defaultCleanEndPause and doubles up to
// maxCleanEndPause while the reopened streams bring no line.
const (
	endPoll              = 20 * time.Millisecond
	defaultCleanEndPause = 250 * time.Millisecond
	maxCleanEndPause     = 2 * time.Second
)

// maxNotFound is how many times in a row a log may be refused as not found while its pod exists: a restarted
// kubelet answers so for a few seconds, until it has listed its pods again.
const maxNotFound = 60

// podGone tells whether the pod no longer exists in the API server.
func (f *LogFollower) podGone(ctx context.Context) bool {
	if f.Client == nil {
		return true
	}
	_, err := f.Client.CoreV1().Pods(f.Source.Namespace).Get(ctx, f.Source.Pod, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

// flushPartial writes the cut last line held back, as it is.
func (f *LogFollower) flushPartial() error {
	if f.partial == nil {
		return nil
	}
	_, text := f.split(f.partial)
	f.partial = nil
	_, err := f.Out.Write(text)
	return err
}

// stream reads one stream of the log, from the last line written on; follow keeps it open while the
// container runs.
func (f *LogFollower) stream(ctx context.Context, follow bool) error {
	opts := &corev1.PodLogOptions{Container: f.Source.Container, Follow: follow, Timestamps: true}
	if f.last.IsZero() {
		opts.SinceSeconds, opts.SinceTime, opts.TailLines = f.SinceSeconds, f.SinceTime, f.TailLines
	} else {
		// SinceTime has whole-second precision: lines of that second already written are skipped below.
		since := metav1.NewTime(f.last)
		opts.SinceTime = &since
	}
	open := f.open
	if open == nil {
		open = func(ctx context.Context, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
			return f.Client.CoreV1().Pods(f.Source.Namespace).GetLogs(f.Source.Pod, opts).Stream(ctx)
		}
	}
	// A follow stream of a running container is cut as soon as the status says the container ended: the
	// kubelet keeps such a stream open until it notices the end itself (about a second), while the final read
	// that follows brings the rest of the log at once (see Follow).
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if follow && f.Terminated != nil && !f.Terminated() {
		go func() {
			tick := time.NewTicker(endPoll)
			defer tick.Stop()
			for {
				select {
				case <-sctx.Done():
					return
				case <-tick.C:
					if f.Terminated() {
						cancel(errEnded)
						return
					}
				}
			}
		}()
	}
	rc, err := open(sctx, opts)
	if err == nil {
		defer rc.Close()
		err = f.copy(rc)
	}
	if errors.Is(context.Cause(sctx), errEnded) && ctx.Err() == nil {
		return errEnded
	}
	return err
}

// errEnded cuts a follow stream whose container the status says has ended.
var errEnded = errors.New("the container ended")

// copy writes the lines of one stream that come after the last line written. Only the start of a reopened
// stream is compared with what was written; after that every line is new, even one whose timestamp runs
// behind its predecessor (stdout and stderr are stamped separately). A last line without its newline is held
// back (partial): the next stream, which resumes from the last whole line, brings it again.
func (f *LogFollower) copy(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64*1024)
	catchingUp, resumeAt, skipEqual := !f.last.IsZero(), f.last, f.atLast
	// first: no line of this resumed stream was read yet.
	first := catchingUp
	f.partial, f.resumedEmpty = nil, catchingUp
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			f.resumedEmpty = false
		}
		if err != nil && len(line) > 0 {
			// Cut by the end of the stream, or by a dropped connection.
			f.partial = line
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if len(line) > 0 {
			ts, text := f.split(line)
			write := true
			if catchingUp && !ts.IsZero() {
				switch {
				case first && ts.After(resumeAt):
					// SinceTime (the second of the last line) would have brought the last line again had the
					// log still held it: the file read now starts after it.
					f.gap(resumeAt, ts)
					catchingUp = false
				case ts.Before(resumeAt):
					write = false
				case ts.Equal(resumeAt) && skipEqual > 0:
					skipEqual--
					write = false
				default:
					catchingUp = false
				}
				first = false
			}
			if write {
				if _, werr := f.Out.Write(text); werr != nil {
					return werr
				}
				f.seen(ts)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// gap reports lines that may be missing after from.
func (f *LogFollower) gap(from, to time.Time) {
	if f.Gap != nil {
		f.Gap(from, to)
	}
}

// GapWarning says which lines of a log may be missing, for a LogFollower's Gap; to is zero when the log
// ended without bringing a line after from.
func GapWarning(from, to time.Time) string {
	when := "after " + from.UTC().Format(time.RFC3339Nano)
	if !to.IsZero() {
		when = "between " + from.UTC().Format(time.RFC3339Nano) + " and " + to.UTC().Format(time.RFC3339Nano)
	}
	return "log lines may be missing " + when + " (container log rotation): the log stream was reopened, and the " +
		"kubelet serves only the current log file, which no longer holds the last line read: raise the kubelet's " +
		"containerLogMaxSize, or have the test write its full output to a report file"
}

// seen records the timestamp of a line written.
func (f *LogFollower) seen(ts time.Time) {
	switch {
	case ts.Equal(f.last):
		f.atLast++
	case ts.After(f.last):
		f.last, f.atLast = ts, 1
	}
}

// split returns the kubelet's timestamp of a raw log line and what is written of it: the line without the
// timestamp, or whole with Timestamps. A line without a timestamp (the kubelet always stamps them) is passed
// through untouched, with a zero time.
func (f *LogFollower) split(line []byte) (time.Time, []byte) {
	stamp, text, ok := bytes.Cut(line, []byte{' '})
	ts, err := time.Parse(time.RFC3339Nano, string(stamp))
	if !ok || err != nil {
		return time.Time{}, line
	}
	if f.Timestamps {
		return ts, line
	}
	return ts, text
}
