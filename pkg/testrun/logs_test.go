package testrun

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
