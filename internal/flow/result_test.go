package flow

import (
	"bytes"
	"testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
)

// The final table: a row per step, onExit steps marked with their condition, skipped steps without code or
// duration, reports and JUnit totals summed over a step's runs; then the verdict.
func TestWriteTableGolden(t *testing.T) {
	reports := func(files int, j *junit.Summary) *outcome.Result {
		r := &outcome.Result{Reports: &outcome.Reports{JUnit: j}}
		for range files {
			r.Reports.Files = append(r.Reports.Files, outcome.ReportFile{})
		}
		return r
	}
	r := &Result{Name: "integration", Phase: outcome.PhaseFailed, ExitCode: 1, Steps: []StepResult{
		{Name: "create-env", Phase: outcome.PhasePassed, DurationSeconds: 12.43, Runs: []*outcome.Result{reports(1, &junit.Summary{Tests: 1})}},
		{Name: "suites", Phase: outcome.PhaseFailed, ExitCode: 1, DurationSeconds: 48.2, Runs: []*outcome.Result{
			reports(2, &junit.Summary{Tests: 30, Failures: 2, Skipped: 1}), reports(1, &junit.Summary{Tests: 10, Errors: 1})}},
		{Name: "smoke", Phase: PhaseSkipped, Reason: `step "suites" did not pass`},
		{Name: "delete-env", OnExit: true, Condition: "always", Phase: outcome.PhasePassed, DurationSeconds: 8.1, Runs: []*outcome.Result{{}}},
		{Name: "notify", OnExit: true, Condition: "success", Phase: PhaseSkipped, Reason: "condition success: a step did not pass"},
	}}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	b.WriteString(r.Verdict() + "\n")
	r.Phase, r.ExitCode, r.DurationSeconds = outcome.PhaseTimedOut, 124, 61
	b.WriteString(r.Verdict() + "\n")
	r.Phase, r.ExitCode = outcome.PhasePassed, 0
	b.WriteString(r.Verdict() + "\n")
	testkit.Golden(t, "testdata/table.golden", b.Bytes())
}
