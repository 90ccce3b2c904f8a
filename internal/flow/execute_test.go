package flow

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// fake performs runs in memory: each unit's label maps to what its run does.
type fake struct {
	mu      sync.Mutex
	events  []string // "start X" and "end X", in order
	live    int
	mostRun int
	do      map[string]func(ctx context.Context) int
}

func (f *fake) run(ctx context.Context, u Unit) (*outcome.Result, int) {
	f.mu.Lock()
	f.events = append(f.events, "start "+u.Label)
	f.live++
	f.mostRun = max(f.mostRun, f.live)
	do := f.do[u.Label]
	f.mu.Unlock()
	code := 0
	if do != nil {
		code = do(ctx)
	}
	f.mu.Lock()
	f.events = append(f.events, "end "+u.Label)
	f.live--
	f.mu.Unlock()
	phase := outcome.PhasePassed
	switch {
	case ctx.Err() != nil:
		phase = outcome.PhaseInterrupted
	case code != 0:
		phase = outcome.PhaseFailed
	}
	return &outcome.Result{Name: u.Label, Phase: phase, ExitCode: code}, code
}

// index returns where event is in the order seen, or fails the test.
func (f *fake) index(t *testing.T, event string) int {
	t.Helper()
	i := slices.Index(f.events, event)
	if i < 0 {
		t.Fatalf("no %q among the events %v", event, f.events)
	}
	return i
}

func step(name string, deps ...string) Step {
	return Step{Name: name, DependsOn: deps, Units: []Unit{{Step: name, Label: name}}}
}

func onExit(name, condition string) Step {
	s := step(name)
	s.OnExit, s.Condition = true, condition
	return s
}

// diamond is A → (B, C) → D with one onExit step of each condition.
func diamond() *Plan {
	return &Plan{Name: "diamond",
		Steps:  []Step{step("a"), step("b", "a"), step("c", "a"), step("d", "b", "c")},
		OnExit: []Step{onExit("cleanup", "always"), onExit("on-error", "error"), onExit("on-success", "success")}}
}

// meet makes b and c each wait until the other started: they pass only when they run at the same time.
func meet(f *fake) {
	var both sync.WaitGroup
	both.Add(2)
	wait := func(context.Context) int {
		both.Done()
		ch := make(chan struct{})
		go func() { both.Wait(); close(ch) }()
		select {
		case <-ch:
			return 0
		case <-time.After(10 * time.Second):
			return 99 // the other never started alongside
		}
	}
	f.do["b"], f.do["c"] = wait, wait
}

type phases map[string]string

func phasesOf(r *Result) phases {
	p := phases{}
	for _, s := range r.Steps {
		p[s.Name] = s.Phase
	}
	return p
}

func TestExecuteDiamondRunsInDependencyOrderWithIndependentStepsInParallel(t *testing.T) {
	f := &fake{do: map[string]func(context.Context) int{}}
	meet(f)
	r := (&Executor{Run: f.run, Progress: reporter.Discard{}}).Execute(t.Context(), diamond())
	want := phases{"a": "Passed", "b": "Passed", "c": "Passed", "d": "Passed", "cleanup": "Passed", "on-error": "Skipped", "on-success": "Passed"}
	if diff := cmp.Diff(want, phasesOf(r)); diff != "" {
		t.Errorf("phases (-want +got):\n%s\nevents: %v", diff, f.events)
	}
	if r.ExitCode != 0 || r.Phase != "Passed" {
		t.Errorf("flow = %s, exit %d; want Passed, 0", r.Phase, r.ExitCode)
	}
	for _, order := range [][2]string{{"end a", "start b"}, {"end a", "start c"}, {"end b", "start d"}, {"end c", "start d"}, {"end d", "start cleanup"}} {
		if f.index(t, order[0]) > f.index(t, order[1]) {
			t.Errorf("%q came after %q: %v", order[0], order[1], f.events)
		}
	}
}

func TestExecuteFailedStepSkipsItsDependentsAndRunsTheErrorSteps(t *testing.T) {
	f := &fake{do: map[string]func(context.Context) int{"b": func(context.Context) int { return 3 }}}
	r := (&Executor{Run: f.run, Progress: reporter.Discard{}}).Execute(t.Context(), diamond())
	want := phases{"a": "Passed", "b": "Failed", "c": "Passed", "d": "Skipped", "cleanup": "Passed", "on-error": "Passed", "on-success": "Skipped"}
	if diff := cmp.Diff(want, phasesOf(r)); diff != "" {
		t.Errorf("phases (-want +got):\n%s", diff)
	}
	if r.ExitCode != 3 || r.Phase != "Failed" {
		t.Errorf("flow = %s, exit %d; want Failed, 3 (the failed step's code)", r.Phase, r.ExitCode)
	}
	if got := r.Steps[3].Reason; got != `step "b" did not pass` {
		t.Errorf("d skipped because %q, want because b did not pass", got)
	}
	if slices.Contains(f.events, "start d") {
		t.Errorf("d ran after b failed: %v", f.events)
	}
}

// The exit code is the first failed step's, by the time it ended; an onExit step failing after the flow
// passed makes the flow fail too, and an onExit failure after a failed flow does not change its code.
func TestExecuteExitCodes(t *testing.T) {
	fail := func(code int, after time.Duration) func(context.Context) int {
		return func(context.Context) int { time.Sleep(after); return code }
	}
	tests := []struct {
		name     string
		do       map[string]func(context.Context) int
		wantCode int
	}{
		{"all passed", nil, 0},
		{"the first to fail wins", map[string]func(context.Context) int{"b": fail(5, 200*time.Millisecond), "c": fail(7, 0)}, 7},
		{"an onExit failure after a passing flow", map[string]func(context.Context) int{"cleanup": fail(2, 0)}, 2},
		{"an onExit failure after a failed flow", map[string]func(context.Context) int{"a": fail(4, 0), "cleanup": fail(2, 0)}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{do: tc.do}
			r := (&Executor{Run: f.run, Progress: reporter.Discard{}}).Execute(t.Context(), diamond())
			if r.ExitCode != tc.wantCode {
				t.Errorf("exit code %d, want %d; steps %v", r.ExitCode, tc.wantCode, phasesOf(r))
			}
		})
	}
}

func TestExecuteMaxParallelBoundsTheRunsAtOnce(t *testing.T) {
	p := &Plan{Steps: []Step{step("a"), step("b"), step("c"), {Name: "fan", Units: []Unit{{Label: "fan/x"}, {Label: "fan/y"}}}}}
	slow := func(context.Context) int { time.Sleep(20 * time.Millisecond); return 0 }
	f := &fake{do: map[string]func(context.Context) int{"a": slow, "b": slow, "c": slow, "fan/x": slow, "fan/y": slow}}
	r := (&Executor{Run: f.run, MaxParallel: 2, Progress: reporter.Discard{}}).Execute(t.Context(), p)
	if f.mostRun > 2 {
		t.Errorf("%d runs went at once, want at most --max-parallel 2: %v", f.mostRun, f.events)
	}
	if r.ExitCode != 0 || len(f.events) != 10 {
		t.Errorf("exit %d after events %v, want 0 after five runs", r.ExitCode, f.events)
	}
}

// A step that fans out to several definitions fails with the code of its first run that failed.
func TestExecuteFannedOutStep(t *testing.T) {
	p := &Plan{Steps: []Step{{Name: "suites", Units: []Unit{{Label: "suites/x"}, {Label: "suites/y"}}}, step("after", "suites")}}
	f := &fake{do: map[string]func(context.Context) int{"suites/y": func(context.Context) int { return 6 }}}
	r := (&Executor{Run: f.run, Progress: reporter.Discard{}}).Execute(t.Context(), p)
	if diff := cmp.Diff(phases{"suites": "Failed", "after": "Skipped"}, phasesOf(r)); diff != "" || r.ExitCode != 6 || len(r.Steps[0].Runs) != 2 {
		t.Errorf("phases (-want +got):\n%s\nexit %d, runs %d; want 6 and both runs", diff, r.ExitCode, len(r.Steps[0].Runs))
	}
}

// After an interrupt the live steps end as interrupted runs, nothing new starts, and only the always onExit
// steps run, under a context the interrupt did not cancel.
func TestExecuteInterruptRunsOnlyTheAlwaysSteps(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	f := &fake{do: map[string]func(context.Context) int{}}
	f.do["b"] = func(c context.Context) int {
		cancel(exitcode.Interrupted(syscall.SIGINT))
		<-c.Done()
		return exitcode.Code(c, nil)
	}
	f.do["cleanup"] = func(c context.Context) int {
		if c.Err() != nil {
			return 98 // the interrupt reached the cleanup step
		}
		return 0
	}
	r := (&Executor{Run: f.run, Progress: reporter.Discard{}}).Execute(ctx, diamond())
	got := phasesOf(r)
	if got["b"] != "Interrupted" || got["d"] != "Skipped" || got["cleanup"] != "Passed" || got["on-error"] != "Skipped" || got["on-success"] != "Skipped" {
		t.Errorf("phases %v: want b interrupted, d skipped, only cleanup run and passed", got)
	}
	if r.ExitCode != 130 || r.Phase != "Interrupted" {
		t.Errorf("flow = %s, exit %d; want Interrupted, 130", r.Phase, r.ExitCode)
	}
}

// --timeout bounds the flow: the live run is cut (its runner reports it as an interrupted run with code 0,
// which the flow makes 124), and the onExit steps still run.
func TestExecuteTimeoutBoundsTheFlow(t *testing.T) {
	f := &fake{do: map[string]func(context.Context) int{"b": func(c context.Context) int { <-c.Done(); return 0 }}}
	r := (&Executor{Run: f.run, Timeout: 300 * time.Millisecond, Progress: reporter.Discard{}}).Execute(t.Context(), diamond())
	got := phasesOf(r)
	if got["b"] != "TimedOut" || got["d"] != "Skipped" || got["on-error"] != "Passed" || got["cleanup"] != "Passed" {
		t.Errorf("phases %v: want b timed out, d skipped, the error and always onExit steps run", got)
	}
	if r.ExitCode != exitcode.Timeout || r.Phase != "TimedOut" {
		t.Errorf("flow = %s, exit %d; want TimedOut, 124", r.Phase, r.ExitCode)
	}
}

func TestSkipOnExit(t *testing.T) {
	tests := []struct {
		condition           string
		failed, interrupted bool
		runs                bool
	}{
		{definition.ConditionAlways, false, false, true},
		{definition.ConditionAlways, true, false, true},
		{definition.ConditionAlways, true, true, true},
		{definition.ConditionSuccess, false, false, true},
		{definition.ConditionSuccess, true, false, false},
		{definition.ConditionSuccess, true, true, false},
		{definition.ConditionError, false, false, false},
		{definition.ConditionError, true, false, true},
		{definition.ConditionError, true, true, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s failed=%v interrupted=%v", tc.condition, tc.failed, tc.interrupted), func(t *testing.T) {
			if got := skipOnExit(tc.condition, tc.failed, tc.interrupted) == ""; got != tc.runs {
				t.Errorf("runs = %v, want %v", got, tc.runs)
			}
		})
	}
}

// A run cut by --timeout before its reports (its shared directory) came home ends 124 like any run the
// bound cut, not with the 125 of lost reports.
func TestExecuteTimeoutOfARunThatLostItsReports(t *testing.T) {
	run := func(ctx context.Context, u Unit) (*outcome.Result, int) {
		if u.Label != "b" {
			return &outcome.Result{Name: u.Label, Phase: outcome.PhasePassed}, 0
		}
		<-ctx.Done()
		return &outcome.Result{Name: u.Label, Phase: outcome.PhaseInterrupted, ExitCode: exitcode.CannotRun, Reason: outcome.ReasonReportsIncomplete}, exitcode.CannotRun
	}
	r := (&Executor{Run: run, Timeout: 300 * time.Millisecond, Progress: reporter.Discard{}}).Execute(t.Context(), diamond())
	if got := phasesOf(r); got["b"] != "TimedOut" || got["d"] != "Skipped" {
		t.Errorf("phases %v: want b timed out, d skipped", got)
	}
	if r.ExitCode != exitcode.Timeout || r.Phase != "TimedOut" {
		t.Errorf("flow = %s, exit %d; want TimedOut, 124", r.Phase, r.ExitCode)
	}
}
