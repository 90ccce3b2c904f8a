package balance

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name        string
		tests       []junit.CaseTime
		n           int
		want        [][]string
		wantSeconds []float64
	}{
		{
			// Round robin in name order would give shard 0 both slow tests (a and d): 8s against 1s.
			name:  "a skewed suite",
			tests: []junit.CaseTime{{Name: "a", Seconds: 4}, {Name: "b", Seconds: 0.5}, {Name: "c", Seconds: 0.5}, {Name: "d", Seconds: 4}, {Name: "e", Seconds: 0.5}, {Name: "f", Seconds: 0.5}},
			n:     3, want: [][]string{{"a"}, {"d"}, {"b", "c", "e", "f"}}, wantSeconds: []float64{4, 4, 2},
		},
		{
			name:  "ties in name order, lowest shard first",
			tests: []junit.CaseTime{{Name: "z", Seconds: 1}, {Name: "y", Seconds: 1}, {Name: "x", Seconds: 1}, {Name: "w", Seconds: 1}},
			n:     2, want: [][]string{{"w", "y"}, {"x", "z"}}, wantSeconds: []float64{2, 2},
		},
		{
			name:  "more shards than tests",
			tests: []junit.CaseTime{{Name: "a", Seconds: 1}},
			n:     3, want: [][]string{{"a"}, {}, {}}, wantSeconds: []float64{1, 0, 0},
		},
		{name: "one shard", tests: []junit.CaseTime{{Name: "b", Seconds: 1}, {Name: "a", Seconds: 2}}, n: 1, want: [][]string{{"a", "b"}}, wantSeconds: []float64{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Split(tt.tests, tt.n)
			if diff := cmp.Diff(tt.want, p.Names()); diff != "" {
				t.Errorf("Split() tests by shard (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSeconds, p.Seconds); diff != "" {
				t.Errorf("Split() seconds by shard (-want +got):\n%s", diff)
			}
			// The same input in another order gives the same split.
			reversed := make([]junit.CaseTime, len(tt.tests))
			for i, c := range tt.tests {
				reversed[len(tt.tests)-1-i] = c
			}
			if diff := cmp.Diff(p.Names(), Split(reversed, tt.n).Names()); diff != "" {
				t.Errorf("Split() depends on the order of its input (-first +reversed):\n%s", diff)
			}
		})
	}
}

func TestPlanLines(t *testing.T) {
	p := Split([]junit.CaseTime{{Name: "a", Seconds: 4}, {Name: "b", Seconds: 0.25}, {Name: "c", Seconds: 1}, {Name: "d", Seconds: 1}, {Name: "e", Seconds: 1}, {Name: "f", Seconds: 1}, {Name: "g", Seconds: 1}, {Name: "h", Seconds: 0.5}}, 2)
	want := []string{
		"shard 0/2: 2 tests, 5s: a (4s), g (1s)",
		"shard 1/2: 6 tests, 4.8s: c (1s), d (1s), e (1s), f (1s), h (500ms), and 1 more",
	}
	if diff := cmp.Diff(want, p.Lines()); diff != "" {
		t.Errorf("Lines() (-want +got):\n%s", diff)
	}
}
