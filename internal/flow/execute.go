package flow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// PhaseSkipped is the phase of a step that did not run: a step it depends on did not pass, the flow was
// stopped before it could start, or (onExit) its condition did not hold.
const PhaseSkipped = "Skipped"

// DefaultOnExitBudget bounds the always onExit steps run after an interrupt: long enough for a short
// cleanup step, short enough that a person at a terminal is not left waiting. A second signal ends the
// process at once.
const DefaultOnExitBudget = 60 * time.Second

// RunFunc performs one run of u under ctx and returns its result document (nil when the run could not be
// created) and the exit code it ends with.
type RunFunc func(ctx context.Context, u Unit) (*outcome.Result, int)

// DeadlineError is the cause of the cancellation of a flow's runs when a bound of the flow passed.
type DeadlineError struct {
	// What says which bound, e.g. "--timeout 10m".
	What string
}

// Error implements error.
func (e *DeadlineError) Error() string { return "the flow did not end within " + e.What }

// Executor walks a Plan.
type Executor struct {
	// Run performs one run.
	Run RunFunc
	// MaxParallel bounds the runs going at once, whatever their steps; 0 means no bound.
	MaxParallel int
	// Timeout bounds the flow's steps (not its onExit steps); 0 means no bound.
	Timeout time.Duration
	// OnExitBudget bounds the always onExit steps after an interrupt (DefaultOnExitBudget when 0).
	OnExitBudget time.Duration
	// Progress says when steps start, end and are skipped.
	Progress reporter.Reporter

	// serial is held exclusively by a serial run (Unit.Serial) and shared by every other run, so that a
	// serial run never overlaps another; an Executor runs one Plan at a time.
	serial sync.RWMutex
}

// Execute runs the steps of p, each as soon as the steps it depends on passed, skips the steps that depend
// on one that did not pass, then runs the onExit steps whose condition holds. After an interrupt (ctx
// cancelled), the running steps end as interrupted runs do, and only the always onExit steps run, within
// OnExitBudget, under a context the interrupt does not cancel.
func (e *Executor) Execute(ctx context.Context, p *Plan) *Result {
	res := &Result{APIVersion: definition.APIVersion, Kind: "FlowResult", Name: p.Name, start: time.Now()}
	var sem chan struct{}
	if e.MaxParallel > 0 {
		sem = make(chan struct{}, e.MaxParallel)
	}
	flowCtx := ctx
	if e.Timeout > 0 {
		var cancel context.CancelFunc
		flowCtx, cancel = context.WithTimeoutCause(ctx, e.Timeout, &DeadlineError{What: "--timeout " + e.Timeout.String()})
		defer cancel()
	}
	res.Steps = e.graph(flowCtx, p.Steps, sem, func(Step) string { return "" })
	failed := false
	for _, s := range res.Steps {
		failed = failed || !goesOn(s)
	}
	interrupted := ctx.Err() != nil
	onExitCtx := ctx
	if interrupted {
		budget := e.OnExitBudget
		if budget <= 0 {
			budget = DefaultOnExitBudget
		}
		var cancel context.CancelFunc
		onExitCtx, cancel = context.WithTimeoutCause(context.WithoutCancel(ctx), budget,
			&DeadlineError{What: fmt.Sprintf("the %s its always onExit steps may take after an interrupt", budget)})
		defer cancel()
	}
	res.Steps = append(res.Steps, e.graph(onExitCtx, p.OnExit, sem, func(s Step) string {
		return skipOnExit(s.Condition, failed, interrupted)
	})...)
	res.finish(ctx, flowCtx)
	return res
}

// skipOnExit says why an onExit step of condition does not run, "" when it runs.
func skipOnExit(condition string, failed, interrupted bool) string {
	switch {
	case condition == definition.ConditionAlways:
		return ""
	case interrupted:
		return fmt.Sprintf("condition %s: after an interrupt only the always steps run", condition)
	case condition == definition.ConditionSuccess && failed:
		return "condition success: a step did not pass"
	case condition == definition.ConditionError && !failed:
		return "condition error: every step passed"
	}
	return ""
}

// step states within graph.
const (
	pending = iota
	running
	finished
)

// graph runs steps in dependency order and returns their results in the steps' order. skip says why a
// step whose dependencies passed does not run ("" to run it).
func (e *Executor) graph(ctx context.Context, steps []Step, sem chan struct{}, skip func(Step) string) []StepResult {
	results := make([]StepResult, len(steps))
	state := make([]int, len(steps))
	index := map[string]int{}
	for i, s := range steps {
		index[s.Name] = i
		results[i] = StepResult{Name: s.Name, OnExit: s.OnExit, Condition: s.Condition, ContinueOnError: s.ContinueOnError}
	}
	done := make(chan int)
	live := 0
	for {
		changed := false
		for i, s := range steps {
			if state[i] != pending {
				continue
			}
			why, blocked := "", false
			for _, d := range s.DependsOn {
				j := index[d]
				switch {
				case state[j] != finished:
					blocked = true
				case !goesOn(results[j]) && why == "":
					why = fmt.Sprintf("step %q did not pass", d)
				}
			}
			switch {
			case why != "":
			case blocked:
				continue
			case ctx.Err() != nil:
				why = "the flow was stopped before it could start: " + context.Cause(ctx).Error()
			default:
				why = skip(s)
			}
			changed = true
			if why != "" {
				state[i], results[i].Phase, results[i].Reason = finished, PhaseSkipped, why
				e.Progress.Warnf("step %s skipped: %s", s.Name, why)
				continue
			}
			state[i] = running
			live++
			go func() {
				results[i] = e.step(ctx, s, sem, results[i])
				done <- i
			}()
		}
		if changed {
			continue
		}
		if live == 0 {
			return results
		}
		i := <-done
		state[i] = finished
		live--
	}
}

// goesOn says whether the flow goes on after step r as after a step that passed: it passed, or it ran and
// continues on error.
func goesOn(r StepResult) bool {
	return r.Phase == outcome.PhasePassed || (r.ContinueOnError && r.Phase != PhaseSkipped)
}

// step runs every unit of s at once (each waiting for a free place under MaxParallel) and returns the
// step's result: passed when every run passed, else the phase and exit code of the first run that did not.
func (e *Executor) step(ctx context.Context, s Step, sem chan struct{}, r StepResult) StepResult {
	r.start = time.Now()
	e.Progress.Printf("step %s started", s.Name)
	runs := make([]*outcome.Result, len(s.Units))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, u := range s.Units {
		wg.Go(func() {
			res, code, phase := e.unit(ctx, u, sem)
			mu.Lock()
			defer mu.Unlock()
			runs[i] = res
			if code != exitcode.OK && r.ExitCode == exitcode.OK {
				r.ExitCode, r.Phase = code, phase
				if res != nil {
					r.Reason = res.Reason
				}
			}
		})
	}
	wg.Wait()
	r.end = time.Now()
	r.DurationSeconds = r.end.Sub(r.start).Round(time.Millisecond).Seconds()
	for _, run := range runs {
		if run != nil {
			r.Runs = append(r.Runs, run)
		}
	}
	if r.ExitCode == exitcode.OK {
		r.Phase = outcome.PhasePassed
		e.Progress.Printf("step %s passed in %s", s.Name, r.end.Sub(r.start).Round(100*time.Millisecond))
		return r
	}
	e.Progress.Warnf("step %s %s with exit code %d", s.Name, phaseWords(r.Phase), r.ExitCode)
	return r
}

// unit performs one run once no serial run goes on (or, for a serial run, once no other run does) and a
// place under MaxParallel is free, and returns its result, its exit code and its phase. A run cut by a
// bound of the flow ends 124, as a run's own --timeout does.
func (e *Executor) unit(ctx context.Context, u Unit, sem chan struct{}) (*outcome.Result, int, string) {
	if u.Serial {
		e.serial.Lock()
		defer e.serial.Unlock()
	} else {
		e.serial.RLock()
		defer e.serial.RUnlock()
	}
	if ctx.Err() != nil {
		return nil, stoppedCode(ctx), stoppedPhase(ctx)
	}
	if sem != nil {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
		case <-ctx.Done():
			return nil, stoppedCode(ctx), stoppedPhase(ctx)
		}
	}
	res, code := e.Run(ctx, u)
	var deadline *DeadlineError
	// A run cut by the bound ends as a timeout, even when it had no time to bring its reports home.
	cut := code == exitcode.OK || (res != nil && res.Reason == outcome.ReasonReportsIncomplete)
	if ctx.Err() != nil && errors.As(context.Cause(ctx), &deadline) && cut {
		code = exitcode.Timeout
		if res != nil {
			res.Phase, res.ExitCode, res.Reason, res.Message = outcome.PhaseTimedOut, code, "FlowDeadline", deadline.Error()
		}
	}
	phase := outcome.PhaseError
	if res != nil {
		phase = res.Phase
	}
	return res, code, phase
}

// stoppedCode is the exit code of a run that never started because ctx ended.
func stoppedCode(ctx context.Context) int {
	var deadline *DeadlineError
	if errors.As(context.Cause(ctx), &deadline) {
		return exitcode.Timeout
	}
	return exitcode.Code(ctx, nil)
}

func stoppedPhase(ctx context.Context) string {
	if stoppedCode(ctx) == exitcode.Timeout {
		return outcome.PhaseTimedOut
	}
	return outcome.PhaseInterrupted
}

// phaseWords says how a step that did not pass ended.
func phaseWords(phase string) string {
	switch phase {
	case outcome.PhaseTimedOut:
		return "timed out"
	case outcome.PhaseInterrupted:
		return "was interrupted"
	case outcome.PhaseError:
		return "could not run"
	}
	return "failed"
}
