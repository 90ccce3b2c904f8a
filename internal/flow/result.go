package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
)

// Result is the document `kubectl testrun run -o json|yaml` prints for a flow: the flow's phase and exit
// code, and every step with its runs' result documents.
type Result struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Name is the flow's name.
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Phase is Passed, Failed, TimedOut or Interrupted.
	Phase string `json:"phase"`
	// ExitCode is the code the command exits with: the first step that did not pass (by the time it
	// ended), else the first onExit step that did not pass; 0 when all passed (docs/exit-codes.md).
	ExitCode        int         `json:"exitCode"`
	StartTime       metav1.Time `json:"startTime"`
	CompletionTime  metav1.Time `json:"completionTime"`
	DurationSeconds float64     `json:"durationSeconds"`
	// Steps are the steps, then the onExit steps, in the order of the document.
	Steps []StepResult `json:"steps"`
	// Reports is the local directory of the reports (--reports): one sub-directory per step.
	Reports string `json:"reports,omitempty"`
	// JUnit totals the merged JUnit report of every step (Reports/junit.xml).
	JUnit *junit.Summary `json:"junit,omitempty"`

	start time.Time
}

// StepResult is one step of a flow's result.
type StepResult struct {
	Name string `json:"name"`
	// OnExit and Condition say the step is an onExit step and when it runs.
	OnExit    bool   `json:"onExit,omitempty"`
	Condition string `json:"condition,omitempty"`
	// ContinueOnError says the flow goes on as if the step passed when it does not.
	ContinueOnError bool `json:"continueOnError,omitempty"`
	// Phase is Passed, Failed, Error, TimedOut, Interrupted, or Skipped (Reason says why).
	Phase    string `json:"phase"`
	ExitCode int    `json:"exitCode"`
	Reason   string `json:"reason,omitempty"`
	// DurationSeconds is from the start of the step's first run to the end of its last.
	DurationSeconds float64 `json:"durationSeconds"`
	// Runs are the result documents of the step's runs.
	Runs []*outcome.Result `json:"runs,omitempty"`

	start, end time.Time
}

// finish sets the flow's exit code and phase from its steps; ctx is the command's context, flowCtx the
// one the steps ran under.
func (r *Result) finish(ctx, flowCtx context.Context) {
	end := time.Now()
	r.StartTime, r.CompletionTime = metav1.NewTime(r.start), metav1.NewTime(end)
	r.DurationSeconds = end.Sub(r.start).Round(time.Millisecond).Seconds()
	r.ExitCode = firstFailure(r.Steps, false)
	if r.ExitCode == exitcode.OK {
		r.ExitCode = firstFailure(r.Steps, true)
	}
	var deadline *DeadlineError
	switch {
	case ctx.Err() != nil:
		r.Phase = outcome.PhaseInterrupted
		if r.ExitCode == exitcode.OK {
			r.ExitCode = exitcode.Code(ctx, nil)
		}
	case flowCtx.Err() != nil && errors.As(context.Cause(flowCtx), &deadline):
		r.Phase = outcome.PhaseTimedOut
		if r.ExitCode == exitcode.OK {
			r.ExitCode = exitcode.Timeout
		}
	case r.ExitCode == exitcode.OK:
		r.Phase = outcome.PhasePassed
	default:
		r.Phase = outcome.PhaseFailed
	}
}

// firstFailure is the exit code of the step (of the flow, or with onExit of the onExit steps) that ended
// first without passing; skipped steps and the steps that continue on error have none.
func firstFailure(steps []StepResult, onExit bool) int {
	var first *StepResult
	for i := range steps {
		s := &steps[i]
		if s.OnExit != onExit || s.Phase == PhaseSkipped || s.ExitCode == exitcode.OK || s.ContinueOnError {
			continue
		}
		if first == nil || s.end.Before(first.end) {
			first = s
		}
	}
	if first == nil {
		return exitcode.OK
	}
	return first.ExitCode
}

// WriteTable writes the flow's final table: each step's result, exit code, duration, report files and JUnit
// totals.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tRESULT\tEXIT\tDURATION\tREPORTS\tJUNIT")
	for _, s := range r.Steps {
		name := s.Name
		if s.OnExit {
			name += " (onExit " + s.Condition + ")"
		}
		result, code, took := s.Phase, fmt.Sprint(s.ExitCode), (time.Duration(s.DurationSeconds * float64(time.Second))).Round(100*time.Millisecond).String()
		if s.Phase == PhaseSkipped {
			code, took = "-", "-"
		}
		files, tests := 0, (*junit.Summary)(nil)
		for _, run := range s.Runs {
			if run.Reports == nil {
				continue
			}
			files += len(run.Reports.Files)
			if j := run.Reports.JUnit; j != nil {
				if tests == nil {
					tests = &junit.Summary{}
				}
				tests.Tests, tests.Failures, tests.Errors, tests.Skipped = tests.Tests+j.Tests, tests.Failures+j.Failures, tests.Errors+j.Errors, tests.Skipped+j.Skipped
			}
		}
		reports, totals := "-", "-"
		if files > 0 {
			reports = fmt.Sprintf("%d %s", files, plural(files, "file", "files"))
		}
		if tests != nil {
			totals = fmt.Sprintf("%d %s, %d failed, %d %s, %d skipped", tests.Tests, plural(tests.Tests, "test", "tests"), tests.Failures, tests.Errors, plural(tests.Errors, "error", "errors"), tests.Skipped)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, result, code, took, reports, totals)
	}
	return tw.Flush()
}

// Verdict is the flow's last line.
func (r *Result) Verdict() string {
	if r.ExitCode == exitcode.OK {
		return fmt.Sprintf("flow %s passed in %s", r.Name, time.Duration(r.DurationSeconds*float64(time.Second)).Round(100*time.Millisecond))
	}
	var failed []string
	for _, s := range r.Steps {
		if s.Phase != outcome.PhasePassed && s.Phase != PhaseSkipped {
			failed = append(failed, s.Name)
		}
	}
	verdict := fmt.Sprintf("flow %s %s with exit code %d", r.Name, phaseWords(r.Phase), r.ExitCode)
	if len(failed) > 0 {
		verdict += " (steps that did not pass: " + strings.Join(failed, ", ") + ")"
	}
	return verdict
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
