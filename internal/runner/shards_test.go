package runner

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// The exit code of a sharded run: 0 when every shard passed, else the code of the failing shard of the lowest
// index, whichever ended first; shards --fail-fast stopped do not count and end with the run's code.
func TestMergeShardsExitCode(t *testing.T) {
	passed := func(i int) Ended {
		return Ended{Index: i, Result: &outcome.Result{Phase: outcome.PhasePassed}}
	}
	failed := func(i, code int) Ended {
		return Ended{Index: i, Code: code, Result: &outcome.Result{Phase: outcome.PhaseFailed, ExitCode: code, Reason: "Error"}}
	}
	stopped := func(i int) Ended {
		return Ended{Index: i, Result: &outcome.Result{Phase: outcome.PhaseInterrupted, Reason: outcome.ReasonInterrupted, Interrupted: true}}
	}
	type row struct {
		Phase    string
		ExitCode int
		Reason   string
	}
	tests := []struct {
		name     string
		ended    []Ended
		failFast bool
		want     row
		shards   []row
	}{
		{name: "every shard passed", ended: []Ended{passed(0), passed(1), passed(2)},
			want:   row{outcome.PhasePassed, 0, ""},
			shards: []row{{outcome.PhasePassed, 0, ""}, {outcome.PhasePassed, 0, ""}, {outcome.PhasePassed, 0, ""}}},
		{name: "the lowest index wins", ended: []Ended{passed(0), failed(1, 1), failed(2, 3)},
			want:   row{outcome.PhaseFailed, 1, "Error"},
			shards: []row{{outcome.PhasePassed, 0, ""}, {outcome.PhaseFailed, 1, "Error"}, {outcome.PhaseFailed, 3, "Error"}}},
		{name: "stopped by --fail-fast do not count", ended: []Ended{stopped(0), stopped(1), failed(2, 4)}, failFast: true,
			want:   row{outcome.PhaseFailed, 4, "Error"},
			shards: []row{{outcome.PhaseInterrupted, 4, ReasonFailFast}, {outcome.PhaseInterrupted, 4, ReasonFailFast}, {outcome.PhaseFailed, 4, "Error"}}},
		{name: "a shard that could not be followed", ended: []Ended{{Index: 0, Code: 125, Err: errors.New("watching: forbidden")}, passed(1)},
			want:   row{outcome.PhaseError, 125, "Error"},
			shards: []row{{outcome.PhaseError, 125, "Error"}, {outcome.PhasePassed, 0, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mergeShards(t.Context(), runspec.Spec{Name: "x-abcde", Shards: len(tt.ended)}, time.Now(), tt.ended, tt.failFast)
			if diff := cmp.Diff(tt.want, row{r.Phase, r.ExitCode, r.Reason}); diff != "" {
				t.Errorf("the run (-want +got):\n%s", diff)
			}
			var got []row
			for _, s := range r.Shards {
				got = append(got, row{s.Phase, s.ExitCode, s.Reason})
			}
			if diff := cmp.Diff(tt.shards, got); diff != "" {
				t.Errorf("the shards (-want +got):\n%s", diff)
			}
		})
	}
}
