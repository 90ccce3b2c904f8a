package cmdkit

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// Verb is the shape of every command, kubectl's: Complete fills in what the flags and arguments imply (and
// builds clients), Validate checks the result without talking to the cluster, Run does the work.
type Verb interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// RunE returns the cobra RunE that runs v. Exit codes are decided here for the first two steps: an error of
// Complete or Validate is bad input (125) unless it carries a code of its own; Run's errors carry theirs
// (main maps the rest, docs/exit-codes.md).
func RunE(v Verb) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := v.Complete(cmd, args); err != nil {
			return badInput(err)
		}
		if err := v.Validate(); err != nil {
			return badInput(err)
		}
		return v.Run(cmd.Context())
	}
}

// badInput gives err the exit code 125 unless it has one.
func badInput(err error) error {
	var coded *exitcode.Error
	if errors.As(err, &coded) {
		return err
	}
	return exitcode.New(exitcode.CannotRun, err)
}
