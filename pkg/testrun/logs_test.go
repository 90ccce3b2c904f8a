package testrun

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// Each case feeds the follower several streams, as the API server would send them after reconnects with
// SinceTime truncated to the second, and checks what reaches the output: every line once, in order.
func TestLogFollowerResumesWithoutLossOrDuplicates(t *testing.T) {
	const (
		t0 = "2026-11-22T10:00:00.100000000Z"
		t1 = "2026-11-22T10:00:00.200000000Z"
		t2 = "2026-11-22T10:00:00.300000000Z"
		t3 = "2026-11-22T10:00:01.000000000Z"
	)
	tests := []struct {
		name    string
		streams []string
		want    string
	}{{
		name:    "one stream",
		streams: []string{t0 + " a\n" + t1 + " b\n"},
		want:    "a\nb\n",
	}, {
		name: "reconnect replays the same second",
		streams: []string{
			t0 + " a\n" + t1 + " b\n",
			t0 + " a\n" + t1 + " b\n" + t2 + " c\n",
		},
		want: "a\nb\nc\n",
	}, {
		name: "lines sharing a timestamp across the cut",
		streams: []string{
			t0 + " a\n" + t1 + " b1\n",
			t0 + " a\n" + t1 + " b1\n" + t1 + " b2\n" + t3 + " d\n",
		},
		want: "a\nb1\nb2\nd\n",
	}, {
		name: "a stream that brings nothing new",
		streams: []string{
			t0 + " a\n",
			t0 + " a\n",
			t0 + " a\n" + t3 + " z\n",
		},
		want: "a\nz\n",
	}, {
		name:    "stdout and stderr stamped out of order within one stream are all kept",
		streams: []string{t1 + " out\n" + t0 + " err\n" + t2 + " out2\n"},
		want:    "out\nerr\nout2\n",
	}, {
		name:    "a last line without newline",
		streams: []string{t0 + " a\n" + t1 + " no newline"},
		want:    "a\nno newline",
	}, {
		name: "a line cut by the end of a stream comes whole from the next",
		streams: []string{
			t0 + " a\n" + t1 + " li",
			t0 + " a\n" + t1 + " line\n" + t2 + " next\n",
		},
		want: "a\nline\nnext\n",
	}, {
		name: "a cut line sharing the timestamp of the last whole one",
		streams: []string{
			t1 + " b1\n" + t1 + " b",
			t1 + " b1\n" + t1 + " b2\n",
		},
		want: "b1\nb2\n",
	}, {
		name:    "text with spaces, tabs and carriage returns is kept as it was",
		streams: []string{t0 + " a b\tc\r\n"},
		want:    "a b\tc\r\n",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			f := &LogFollower{Out: &out}
			for i, s := range tc.streams {
				if err := f.copy(strings.NewReader(s)); err != nil {
					t.Fatalf("stream %d: %v", i, err)
				}
			}
			if err := f.flushPartial(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A stream that ends in the middle of a line while the container runs (an API server restart: a clean end,
// or a connection error) leaves the line to the next stream, which brings it whole; a log that ends without a
// newline is written as it is.
func TestLogFollowerResumesALineCutByADroppedStream(t *testing.T) {
	const (
		t0 = "2026-11-22T10:00:00.100000000Z"
		t1 = "2026-11-22T10:00:00.200000000Z"
		t2 = "2026-11-22T10:00:00.300000000Z"
	)
	for _, drop := range []error{nil, io.ErrUnexpectedEOF} {
		t.Run(fmt.Sprintf("ended by %v", drop), func(t *testing.T) {
			streams := []string{
				t0 + " a\n" + t1 + " li",                                   // cut mid-line while running
				t0 + " a\n" + t1 + " line\n" + t2 + " the end, no newline", // after the container terminated
			}
			var out strings.Builder
			opens := 0
			f := &LogFollower{
				Out:        &out,
				Retry:      time.Millisecond,
				Terminated: func() bool { return opens > 0 },
				open: func(_ context.Context, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
					if opens > 0 && (opts.SinceTime == nil || !opts.SinceTime.Time.Equal(mustTime(t, t0))) {
						t.Errorf("stream %d resumes at %v, want the time of the last whole line", opens, opts.SinceTime)
					}
					var r io.Reader = strings.NewReader(streams[opens])
					if opens == 0 && drop != nil {
						r = io.MultiReader(r, iotest.ErrReader(drop))
					}
					opens++
					return io.NopCloser(r), nil
				},
			}
			if err := f.Follow(t.Context()); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff("a\nline\nthe end, no newline", out.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
			if opens != 2 {
				t.Errorf("the log was opened %d times, want 2", opens)
			}
		})
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
