// Package delete implements `kubectl testrun delete`.
package delete

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

var (
	long = templates.LongDesc(`
		Delete test runs: their Jobs, and with them their pods (background propagation). Runs are found by
		name, by label selector, or all at once; --older-than keeps the recent ones. It prints each run it
		removed.`)

	example = templates.Examples(`
		# Delete one run
		kubectl testrun delete nightly-x7k2p

		# Delete every run of the namespace that is older than a day
		kubectl testrun delete --all --older-than 24h

		# Delete the runs of one suite
		kubectl testrun delete -l suite=api`)
)

// Options holds the flags of the delete command.
type Options struct {
	All       bool
	Selector  string
	OlderThan time.Duration

	runs    []string
	factory *cmdkit.Factory
	clients cmdkit.Clients
	genericiooptions.IOStreams
}

// NewCmdDelete returns the delete command.
func NewCmdDelete(f *cmdkit.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{factory: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "delete (RUN... | --all | -l SELECTOR) [--older-than DURATION]",
		DisableFlagsInUseLine: true,
		Short:                 "Delete test runs by name, label or age",
		Long:                  long,
		Example:               example,
		ValidArgsFunction:     f.CompleteRuns(),
		RunE:                  cmdkit.RunE(o),
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.All, "all", o.All, "Delete every run of the namespace.")
	fl.StringVarP(&o.Selector, "selector", "l", o.Selector, "Delete the runs with these labels.")
	fl.DurationVar(&o.OlderThan, "older-than", o.OlderThan, "Only runs created longer ago than this, e.g. 24h.")
	return cmd
}

// Complete takes the runs' names and builds the clients.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	for _, a := range args {
		o.runs = append(o.runs, cmdkit.RunName(a))
	}
	var err error
	o.clients, err = o.factory.Clients()
	return err
}

// Validate checks that the runs to delete are named one way.
func (o *Options) Validate() error {
	ways := 0
	for _, given := range []bool{len(o.runs) > 0, o.All, o.Selector != ""} {
		if given {
			ways++
		}
	}
	switch {
	case ways == 0 && o.OlderThan == 0:
		return errors.New("name the runs to delete, or use --all, -l or --older-than")
	case ways > 1:
		return errors.New("give run names, --all or -l: only one of them")
	case o.OlderThan < 0:
		return fmt.Errorf("--older-than %s is negative", o.OlderThan)
	}
	if _, err := labels.Parse(o.Selector); err != nil {
		return fmt.Errorf("-l %q: %w", o.Selector, err)
	}
	return nil
}

// Run deletes the runs and prints them.
func (o *Options) Run(ctx context.Context) error {
	var runs []cluster.Run
	if len(o.runs) > 0 {
		for _, name := range o.runs {
			r, err := cluster.GetRun(ctx, o.clients.Client, o.clients.Namespace, name)
			if err != nil {
				return exitcode.New(exitcode.CannotRun, err)
			}
			runs = append(runs, r)
		}
	} else {
		selector, _ := labels.Parse(o.Selector)
		var err error
		if runs, err = cluster.ListRuns(ctx, o.clients.Client, o.clients.Namespace, selector); err != nil {
			return err
		}
	}
	if o.OlderThan > 0 {
		cutoff := time.Now().Add(-o.OlderThan)
		kept := runs[:0]
		for _, r := range runs {
			if r.Job.CreationTimestamp.Time.Before(cutoff) {
				kept = append(kept, r)
			}
		}
		runs = kept
	}
	deleted, err := cluster.DeleteRuns(ctx, o.clients.Client, runs)
	for _, d := range deleted {
		fmt.Fprintf(o.Out, "run/%s deleted\n", d)
	}
	if len(runs) == 0 {
		fmt.Fprintf(o.ErrOut, "No runs to delete in namespace %q.\n", o.clients.Namespace)
	}
	if err != nil {
		// DeleteRuns joins the API server's refusals into one message: an API error, 125 like in every verb.
		return exitcode.New(exitcode.CannotRun, err)
	}
	return nil
}
