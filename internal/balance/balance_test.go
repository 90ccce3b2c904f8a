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
			tests: []junit.CaseTime{{"a", 4}, {"b", 0.5}, {"c", 0.5}, {"d", 4}, {"e", 0.5}, {"f", 0.5}},
			n:     3, want: [][]string{{"a"}, {"d"}, {"b", "c", "e", "f"}}, wantSeconds: []float64{4, 4, 2},
		},
		{
			name:  "ties in name order, lowest shard first",
			tests: []junit.CaseTime{{"z", 1}, {"y", 1}, {"x", 1}, {"w", 1}},
			n:     2, want: [][]string{{"w", "y"}, {"x", "z"}}, wantSeconds: []float64{2, 2},
		},
		{
			name:  "more shards than tests",
			tests: []junit.CaseTime{{"a", 1}},
			n:     3, want: [][]string{{"a"}, {}, {}}, wantSeconds: []float64{1, 0, 0},
		},
		{name: "one shard", tests: []junit.CaseTime{{"b", 1}, {"a", 2}}, n: 1, want: [][]string{{"a", "b"}}, wantSeconds: []float64{3}},
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
	p := Split([]junit.CaseTime{{"a", 4}, {"b", 0.25}, {"c", 1}, {"d", 1}, {"e", 1}, {"f", 1}, {"g", 1}, {"h", 0.5}}, 2)
	want := []string{
		"shard 0/2: 2 tests, 5s: a (4s), g (1s)",
		"shard 1/2: 6 tests, 4.8s: c (1s), d (1s), e (1s), f (1s), h (500ms), and 1 more",
	}
	if diff := cmp.Diff(want, p.Lines()); diff != "" {
		t.Errorf("Lines() (-want +got):\n%s", diff)
	}
}
