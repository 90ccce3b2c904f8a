package outcome

import (
	"testing"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
)

// The verdict is the run's last line: what happened, the exit code when it is not 0, the run, the JUnit count
// and how long it took.
func TestVerdict(t *testing.T) {
	tests := []struct {
		name   string
		result Result
		want   string
	}{
		{"passed with JUnit", Result{Name: "smoke-x7k2p", Phase: PhasePassed, DurationSeconds: 12.34,
			Reports: &Reports{JUnit: &junit.Summary{Files: []string{"junit.xml"}, Tests: 4}}},
			"passed: run smoke-x7k2p, 4 tests, 12.3s"},
		{"passed without reports", Result{Name: "smoke-x7k2p", Phase: PhasePassed, DurationSeconds: 1.5}, "passed: run smoke-x7k2p, 1.5s"},
		{"failed tests", Result{Name: "smoke-x7k2p", Phase: PhaseFailed, ExitCode: 3, Reason: "Error", DurationSeconds: 61,
			Reports: &Reports{JUnit: &junit.Summary{Files: []string{"junit.xml"}, Tests: 8, Failures: 1, Errors: 1}}},
			"failed with exit code 3: run smoke-x7k2p (Error), 2 of 8 tests failed, 1m1s"},
		{"could not run", Result{Name: "smoke-x7k2p", Phase: PhaseError, ExitCode: 125, Reason: "ErrImagePull", DurationSeconds: 4},
			"failed with exit code 125: run smoke-x7k2p (ErrImagePull), 4s"},
		{"reports lost", Result{Name: "smoke-x7k2p", Phase: PhasePassed, ExitCode: 125, Reason: ReasonReportsIncomplete, DurationSeconds: 4},
			"failed with exit code 125: run smoke-x7k2p (ReportsIncomplete), 4s"},
		{"timed out", Result{Name: "smoke-x7k2p", Phase: PhaseTimedOut, ExitCode: 124, Reason: ReasonDeadline, DurationSeconds: 5},
			"timed out with exit code 124: run smoke-x7k2p (DeadlineExceeded), 5s"},
		{"interrupted, no duration (wait)", Result{Name: "smoke-x7k2p", Phase: PhaseInterrupted, ExitCode: 130, Reason: ReasonInterrupted},
			"interrupted with exit code 130: run smoke-x7k2p (Interrupted)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.result.Verdict(); got != tt.want {
				t.Errorf("Verdict() = %q, want %q", got, tt.want)
			}
		})
	}
}
