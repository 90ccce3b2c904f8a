package flow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
)

// overlaps returns, for each serial label, the runs that were live while it was: none when serial runs
// ran alone. It replays the fake's start/end events.
func overlaps(events []string, serial map[string]bool) map[string][]string {
	live := map[string]bool{}
	got := map[string][]string{}
	for _, e := range events {
		if label, ended := strings.CutPrefix(e, "end "); ended {
			delete(live, label)
			continue
		}
		label := strings.TrimPrefix(e, "start ")
		for other := range live {
			if serial[label] {
				got[label] = append(got[label], other)
			}
			if serial[other] {
				got[other] = append(got[other], label)
			}
		}
		live[label] = true
	}
	return got
}

// A serial unit (TestMachinery's serial or disruptive behavior) never runs beside another run, whether it
// is in a step of its own or fanned out beside others in the same step. (Whether the others then overlap each
// other depends on the order the runs asked for their turn: a waiting serial run lets no new run start.)
func TestExecuteSerialUnitsRunAlone(t *testing.T) {
	slow := func(context.Context) int { time.Sleep(30 * time.Millisecond); return 0 }
	tests := map[string]*Plan{
		"serial steps among parallel steps": {Name: "f", Steps: []Step{
			step("a"),
			{Name: "b", DependsOn: []string{"a"}, Units: []Unit{{Step: "b", Label: "b", Serial: true}}},
			step("c", "a"), step("d", "a"),
			{Name: "e", DependsOn: []string{"a"}, Units: []Unit{{Step: "e", Label: "e", Serial: true}}},
		}},
		"a serial unit beside others of its step": {Name: "f", Steps: []Step{
			{Name: "tests", Units: []Unit{{Step: "tests", Label: "tests/x"}, {Step: "tests", Label: "tests/serial", Serial: true}, {Step: "tests", Label: "tests/y"}}},
			step("other"),
		}},
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			f := &fake{do: map[string]func(context.Context) int{}}
			serial := map[string]bool{}
			for _, s := range p.Steps {
				for _, u := range s.Units {
					f.do[u.Label] = slow
					serial[u.Label] = u.Serial
				}
			}
			x := &Executor{Run: f.run, Progress: reporter.Discard{}}
			res := x.Execute(t.Context(), p)
			if res.Phase != outcome.PhasePassed {
				t.Fatalf("flow phase = %s, want Passed: %+v", res.Phase, res)
			}
			if diff := cmp.Diff(map[string][]string{}, overlaps(f.events, serial)); diff != "" {
				t.Errorf("serial runs overlapped others (-want +got):\n%s\nevents: %v", diff, f.events)
			}
		})
	}
}

// A step that continues on error lets its dependents run, and its failure counts neither for the onExit
// conditions nor for the exit code; without it, the dependents are skipped.
func TestExecuteContinueOnError(t *testing.T) {
	for _, goOn := range []bool{true, false} {
		f := &fake{do: map[string]func(context.Context) int{"a": func(context.Context) int { return 3 }}}
		a := step("a")
		a.ContinueOnError = goOn
		p := &Plan{Name: "f", Steps: []Step{a, step("b", "a")}, OnExit: []Step{onExit("on-error", "error"), onExit("on-success", "success")}}
		res := (&Executor{Run: f.run, Progress: reporter.Discard{}}).Execute(t.Context(), p)
		got := map[string]string{"flow": res.Phase}
		for _, s := range res.Steps {
			got[s.Name] = s.Phase
		}
		want := map[string]string{"flow": outcome.PhasePassed, "a": outcome.PhaseFailed, "b": outcome.PhasePassed, "on-error": PhaseSkipped, "on-success": outcome.PhasePassed}
		wantCode := 0
		if !goOn {
			want = map[string]string{"flow": outcome.PhaseFailed, "a": outcome.PhaseFailed, "b": PhaseSkipped, "on-error": outcome.PhasePassed, "on-success": PhaseSkipped}
			wantCode = 3
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("continueOnError %v: phases (-want +got):\n%s", goOn, diff)
		}
		if res.ExitCode != wantCode {
			t.Errorf("continueOnError %v: exit code %d, want %d", goOn, res.ExitCode, wantCode)
		}
	}
}
