package testrun

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
// from the container's status (Terminated), never from a stream ending.
type LogFollower struct {
	Client kubernetes.Interface
	Source LogSource
	// Out receives the log lines, each with its trailing newline, without the kubelet's timestamps.
	Out io.Writer
	// Terminated reports whether the container has terminated, from the latest pod status seen.
	Terminated func() bool
	// Retry is the pause before reopening a stream that failed; zero means one second.
	Retry time.Duration
	// Timestamps keeps the kubelet's timestamp at the start of each line written.
	Timestamps bool
	// SinceSeconds, when set, starts the log that many seconds back instead of at its beginning.
	SinceSeconds *int64
	// Once reads the log as it is now and returns, without following it.
	Once bool

	// last is the timestamp of the last line written, and atLast how many lines carried exactly it.
	last   time.Time
	atLast int
}

// Follow streams until the terminated container's whole log has been written, the pod is gone, or ctx ends.
func (f *LogFollower) Follow(ctx context.Context) error {
	retry := f.Retry
	if retry == 0 {
		retry = time.Second
	}
	for {
		// Read before opening: a stream opened after the container terminated holds its whole remaining log.
		final := f.Once || f.Terminated()
		err := f.stream(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil && final:
			return nil
		case apierrors.IsNotFound(err):
			return fmt.Errorf("pod %q is gone, its log may be incomplete: %w", f.Source.Pod, err)
		case err == nil:
			// A clean end while the container still ran: reconnect at once from the last line.
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retry):
		}
	}
}

func (f *LogFollower) stream(ctx context.Context) error {
	opts := &corev1.PodLogOptions{Container: f.Source.Container, Follow: !f.Once, Timestamps: true}
	if f.last.IsZero() {
		opts.SinceSeconds = f.SinceSeconds
	} else {
		// SinceTime has whole-second precision: lines of that second already written are skipped below.
		since := metav1.NewTime(f.last)
		opts.SinceTime = &since
	}
	rc, err := f.Client.CoreV1().Pods(f.Source.Namespace).GetLogs(f.Source.Pod, opts).Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	return f.copy(rc)
}

// copy writes the lines of one stream that come after the last line written. Only the start of a reopened
// stream is compared with what was written; after that every line is new, even one whose timestamp runs
// behind its predecessor (stdout and stderr are stamped separately).
func (f *LogFollower) copy(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64*1024)
	catchingUp, resumeAt, skipEqual := !f.last.IsZero(), f.last, f.atLast
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			stamp, text, ok := bytes.Cut(line, []byte{' '})
			ts, perr := time.Parse(time.RFC3339Nano, string(stamp))
			if !ok || perr != nil {
				// Not a timestamped line (the kubelet always stamps them): pass it through untouched.
				text, ts = line, time.Time{}
			}
			write := true
			if catchingUp && !ts.IsZero() {
				switch {
				case ts.Before(resumeAt):
					write = false
				case ts.Equal(resumeAt) && skipEqual > 0:
					skipEqual--
					write = false
				default:
					catchingUp = false
				}
			}
			if write {
				if f.Timestamps {
					text = line
				}
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

// seen records the timestamp of a line written.
func (f *LogFollower) seen(ts time.Time) {
	switch {
	case ts.Equal(f.last):
		f.atLast++
	case ts.After(f.last):
		f.last, f.atLast = ts, 1
	}
}
