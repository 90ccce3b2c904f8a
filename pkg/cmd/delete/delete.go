// Package delete implements `kubectl testrun delete`.
package delete

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/shared"
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
	ConfigFlags *genericclioptions.ConfigFlags
	All         bool
	Selector    string
	OlderThan   time.Duration

	runs    []string
	clients shared.Clients
	genericiooptions.IOStreams
}

// NewCmdDelete returns the delete command.
func NewCmdDelete(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{ConfigFlags: configFlags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "delete (RUN... | --all | -l SELECTOR) [--older-than DURATION]",
		DisableFlagsInUseLine: true,
		Short:                 "Delete test runs by name, label or age",
		Long:                  long,
		Example:               example,
		ValidArgsFunction:     shared.CompleteRuns(configFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				o.runs = append(o.runs, shared.RunName(a))
			}
			if err := o.Validate(); err != nil {
				return exitcode.New(exitcode.CannotRun, err)
			}
			var err error
			if o.clients, err = shared.NewClients(o.ConfigFlags); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.All, "all", o.All, "Delete every run of the namespace.")
	f.StringVarP(&o.Selector, "selector", "l", o.Selector, "Delete the runs with these labels.")
	f.DurationVar(&o.OlderThan, "older-than", o.OlderThan, "Only runs created longer ago than this, e.g. 24h.")
	return cmd
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
func (o *Options) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
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
	return err
}
