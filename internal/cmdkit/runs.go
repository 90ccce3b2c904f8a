package cmdkit

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// AddSelectorFlag binds -l/--selector, which means the same in every verb that takes runs: the runs whose
// Jobs carry these labels (the definition's labels, --label, testrun.dev/definition, testrun.dev/name).
func AddSelectorFlag(f *pflag.FlagSet, selector *string, usage string) {
	f.StringVarP(selector, "selector", "l", *selector, usage)
}

// ValidateSelector checks -l.
func ValidateSelector(selector string) error {
	if _, err := labels.Parse(selector); err != nil {
		return fmt.Errorf("-l %q is not a label selector (e.g. suite=api,tier!=slow): %w", selector, err)
	}
	return nil
}

// ValidateRunsOrSelector checks that a verb that takes runs was given run names or -l, not both, and -l.
func ValidateRunsOrSelector(refs []string, selector string) error {
	switch {
	case len(refs) == 0 && selector == "":
		return errors.New("name a run (its name, job/NAME, or the name given to run), or select runs with -l")
	case len(refs) > 0 && selector != "":
		return errors.New("give run names or -l, not both")
	}
	return ValidateSelector(selector)
}

// Notes prints a one-line note of a verb: a Progress's Printf (coloured and quiet as its flags say), or
// PlainNotes.
type Notes func(format string, args ...any)

// PlainNotes writes notes to w as plain "testrun: ..." lines, for verbs that have no --color.
func PlainNotes(w io.Writer) Notes {
	return func(format string, args ...any) { fmt.Fprintf(w, "testrun: %s\n", fmt.Sprintf(format, args...)) }
}

// ResolveRun finds the run ref names (cluster.ResolveRun) in the clients' namespace; the note on a choice
// among several runs goes to notes, one line. A ref that names no run is bad input (125).
func (c Clients) ResolveRun(ctx context.Context, ref string, notes Notes) (cluster.Run, error) {
	res, err := cluster.ResolveRun(ctx, c.Client, c.Namespace, ref)
	if err != nil {
		return cluster.Run{}, exitcode.New(exitcode.CannotRun, err)
	}
	if res.Note != "" && notes != nil {
		notes("%s", res.Note)
	}
	return res.Run, nil
}

// ResolveRuns finds the runs a verb was given: each of refs (ResolveRun), or those selector matches, oldest
// first. Refs that name no run do not stop the others: the runs found are returned with an error naming every
// missing one (125), so that a verb acts on what exists and then fails, as kubectl does. A selector that
// matches nothing is no error: the verb says so in its own words.
func (c Clients) ResolveRuns(ctx context.Context, refs []string, selector string, notes Notes) ([]cluster.Run, error) {
	if len(refs) == 0 {
		sel, err := labels.Parse(selector)
		if err != nil {
			return nil, exitcode.New(exitcode.CannotRun, ValidateSelector(selector))
		}
		runs, err := cluster.ListRuns(ctx, c.Client, c.Namespace, sel)
		if err != nil {
			return nil, exitcode.New(exitcode.CannotRun, err)
		}
		return runs, nil
	}
	var runs []cluster.Run
	var errs []error
	seen := map[string]bool{}
	for _, ref := range refs {
		r, err := c.ResolveRun(ctx, ref, notes)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if key := r.Job.Namespace + "/" + r.Job.Name; !seen[key] {
			seen[key] = true
			runs = append(runs, r)
		}
	}
	if len(errs) > 0 {
		return runs, exitcode.New(exitcode.CannotRun, errors.Join(errs...))
	}
	return runs, nil
}
