package logs

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
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
			var opens atomic.Int32
			f := &LogFollower{
				Out:        &out,
				Retry:      time.Millisecond,
				Terminated: func() bool { return opens.Load() > 0 },
				open: func(_ context.Context, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
					n := opens.Load()
					if n > 0 && (opts.SinceTime == nil || !opts.SinceTime.Time.Equal(mustTime(t, t0))) {
						t.Errorf("stream %d resumes at %v, want the time of the last whole line", n, opts.SinceTime)
					}
					var r io.Reader = strings.NewReader(streams[n])
					if n == 0 && drop != nil {
						r = io.MultiReader(r, iotest.ErrReader(drop))
					}
					opens.Add(1)
					return io.NopCloser(r), nil
				},
			}
			if err := f.Follow(t.Context()); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff("a\nline\nthe end, no newline", out.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
			if n := opens.Load(); n != 2 {
				t.Errorf("the log was opened %d times, want 2", n)
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

// A reopened stream must bring the last line written again (SinceTime is its second): when it starts after
// it instead, or brings nothing before the log ends, the kubelet's file was rotated in between and the lines
// written meanwhile may be lost, which the follower reports (from, to) instead of hiding.
func TestLogFollowerReportsTheGapOfARotatedLog(t *testing.T) {
	const (
		t0 = "2026-11-22T10:00:00.100000000Z"
		t1 = "2026-11-22T10:00:00.200000000Z"
		t2 = "2026-11-22T10:00:03.000000000Z"
	)
	tests := []struct {
		name     string
		streams  []string
		wantOut  string
		wantGaps []string
	}{{
		name:    "resumed with the last line: no gap",
		streams: []string{t0 + " a\n" + t1 + " b\n", t1 + " b\n" + t2 + " c\n"},
		wantOut: "a\nb\nc\n",
	}, {
		name:    "resumed with an older line of the same second: no gap",
		streams: []string{t0 + " a\n" + t1 + " b\n", t0 + " a\n" + t1 + " b\n" + t2 + " c\n"},
		wantOut: "a\nb\nc\n",
	}, {
		name:     "resumed after the last line: the rotated file held what came between",
		streams:  []string{t0 + " a\n" + t1 + " b\n", t2 + " z\n"},
		wantOut:  "a\nb\nz\n",
		wantGaps: []string{t1 + " " + t2},
	}, {
		name:     "the final stream brings nothing at all",
		streams:  []string{t0 + " a\n" + t1 + " b\n", ""},
		wantOut:  "a\nb\n",
		wantGaps: []string{t1 + " -"},
	}, {
		name:    "the first stream is not a resume",
		streams: []string{t2 + " z\n"},
		wantOut: "z\n",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			var gaps []string
			var opens atomic.Int32
			f := &LogFollower{
				Out:        &out,
				Retry:      time.Millisecond,
				Terminated: func() bool { return int(opens.Load()) == len(tc.streams)-1 },
				Gap: func(from, to time.Time) {
					end := "-"
					if !to.IsZero() {
						end = to.Format(stampLayout)
					}
					gaps = append(gaps, from.Format(stampLayout)+" "+end)
				},
				open: func(context.Context, *corev1.PodLogOptions) (io.ReadCloser, error) {
					return io.NopCloser(strings.NewReader(tc.streams[opens.Add(1)-1])), nil
				},
			}
			if err := f.Follow(t.Context()); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantOut, out.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantGaps, gaps, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("gaps reported (-want +got):\n%s", diff)
			}
		})
	}
}

// stampLayout formats times as the kubelet stamps log lines, with all nine digits.
const stampLayout = "2006-01-02T15:04:05.000000000Z07:00"

func TestGapWarningNamesTheWindowAndTheCause(t *testing.T) {
	from := time.Date(2026, 11, 22, 10, 0, 0, 200_000_000, time.UTC)
	to := from.Add(3 * time.Second)
	for _, tc := range []struct {
		to   time.Time
		want string
	}{
		{to, "log lines may be missing between 2026-11-22T10:00:00.2Z and 2026-11-22T10:00:03.2Z (container log rotation): "},
		{time.Time{}, "log lines may be missing after 2026-11-22T10:00:00.2Z (container log rotation): "},
	} {
		if got := GapWarning(from, tc.to); !strings.HasPrefix(got, tc.want) {
			t.Errorf("GapWarning(%s, %s) = %q, want it to start with %q", from, tc.to, got, tc.want)
		}
	}
}

// A restarting kubelet answers NotFound for the log of a pod it does not know yet: while the pod exists the
// follower tries again, and every line arrives; a pod gone from the API server ends the log at once.
func TestLogFollowerWaitsOutAKubeletThatDoesNotKnowThePodYet(t *testing.T) {
	const (
		t0 = "2026-11-22T10:00:00.100000000Z"
		t1 = "2026-11-22T10:00:05.000000000Z"
	)
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "pods/log"}, "p")
	for _, tc := range []struct {
		name    string
		pods    []runtime.Object
		want    string
		wantErr string
	}{
		{name: "the pod exists", pods: []runtime.Object{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ci"}}}, want: "a\nb\n"},
		{name: "the pod is gone", want: "a\n", wantErr: `pod "p" is gone`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			streams := []func() (io.ReadCloser, error){
				func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(t0 + " a\n")), nil },
				func() (io.ReadCloser, error) { return nil, notFound },
				func() (io.ReadCloser, error) { return nil, notFound },
				func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(t0 + " a\n" + t1 + " b\n")), nil },
			}
			var out strings.Builder
			var opens atomic.Int32
			f := &LogFollower{
				Client: fake.NewClientset(tc.pods...), Source: LogSource{Namespace: "ci", Pod: "p", Container: "test"},
				Out: &out, Retry: time.Millisecond,
				Terminated: func() bool { return int(opens.Load()) == len(streams)-1 },
				open: func(context.Context, *corev1.PodLogOptions) (io.ReadCloser, error) {
					return streams[opens.Add(1)-1]()
				},
			}
			err := f.Follow(t.Context())
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Follow = %v, want error containing %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A stream that ends cleanly while the status still says the container runs (it has just ended; the kubelet
// reports that a second later) is not reopened at once, which would spin through requests: the follower
// reopens when the status says the container ended, for the final read, or after a pause that grows.
func TestLogFollowerDoesNotSpinOnACleanEndBeforeTheStatus(t *testing.T) {
	const t0 = "2026-11-22T10:00:00.100000000Z"
	t.Run("reopens for the final read once the status says it ended", func(t *testing.T) {
		var out strings.Builder
		var opens atomic.Int32
		var ended atomic.Bool
		f := &LogFollower{
			Out: &out,
			// No pause ends before the status does.
			CleanEndPause: time.Hour,
			Terminated:    ended.Load,
			open: func(context.Context, *corev1.PodLogOptions) (io.ReadCloser, error) {
				opens.Add(1)
				return io.NopCloser(strings.NewReader(t0 + " last\n")), nil
			},
		}
		done := make(chan error, 1)
		go func() { done <- f.Follow(t.Context()) }()
		time.Sleep(200 * time.Millisecond)
		if n := opens.Load(); n != 1 {
			t.Errorf("%d streams opened before the status said the container ended, want 1", n)
		}
		ended.Store(true)
		if err := <-done; err != nil {
			t.Fatalf("Follow: %v", err)
		}
		if n := opens.Load(); n != 2 {
			t.Errorf("%d streams opened in all, want 2 (the first and the final read)", n)
		}
		if out.String() != "last\n" {
			t.Errorf("output %q, want the line once", out.String())
		}
	})
	t.Run("reopens after the pause while the status says nothing", func(t *testing.T) {
		var out strings.Builder
		var opens atomic.Int32
		streams := []string{t0 + " a\n", t0 + " a\n" + t0 + " b\n"}
		f := &LogFollower{
			Out:           &out,
			CleanEndPause: time.Millisecond,
			Terminated:    func() bool { return opens.Load() >= 2 },
			open: func(context.Context, *corev1.PodLogOptions) (io.ReadCloser, error) {
				n := opens.Add(1)
				return io.NopCloser(strings.NewReader(streams[min(int(n), len(streams))-1])), nil
			},
		}
		if err := f.Follow(t.Context()); err != nil {
			t.Fatalf("Follow: %v", err)
		}
		if out.String() != "a\nb\n" {
			t.Errorf("output %q, want a and b once each", out.String())
		}
	})
}

// A follow stream that the kubelet keeps open after the container ended (it notices the end about a second
// later) is cut as soon as the status says the container ended, and the final read brings the rest.
func TestLogFollowerCutsAStreamTheStatusSaysHasEnded(t *testing.T) {
	const (
		t0 = "2026-11-22T10:00:00.100000000Z"
		t1 = "2026-11-22T10:00:00.200000000Z"
	)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var out strings.Builder
	var opens atomic.Int32
	var ended atomic.Bool
	f := &LogFollower{
		Out:        &out,
		Terminated: ended.Load,
		open: func(ctx context.Context, _ *corev1.PodLogOptions) (io.ReadCloser, error) {
			if opens.Add(1) > 1 {
				return io.NopCloser(strings.NewReader(t0 + " a\n" + t1 + " b\n")), nil
			}
			// The first stream brings a line, then stays open until it is cut.
			r, w := io.Pipe()
			go func() {
				_, _ = io.WriteString(w, t0+" a\n")
				ended.Store(true)
				<-ctx.Done()
				w.CloseWithError(ctx.Err())
			}()
			return r, nil
		},
	}
	if err := f.Follow(ctx); err != nil {
		t.Fatalf("Follow: %v (the open stream was not cut when the status said the container ended)", err)
	}
	if out.String() != "a\nb\n" {
		t.Errorf("output %q, want a and b once each", out.String())
	}
	if n := opens.Load(); n != 2 {
		t.Errorf("%d streams opened, want 2", n)
	}
}
