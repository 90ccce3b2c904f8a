// Package delete implements `kubectl testrun delete`.
package delete

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

var (
	long = templates.LongDesc(`
		Delete test runs: their Jobs, and with them their pods. Runs are found by name (as every verb finds
		them: the run name, job/NAME, or the name given to run), by label selector, or all at once;
		--older-than keeps the recent ones. It prints each run it removed.

		As kubectl delete, it waits until the runs are gone, pods included (--wait=false returns at once),
		takes --dry-run=client|server, and with several names of which one is missing deletes the others,
		names the missing one and exits 125 (0 with --ignore-not-found).`)

	example = templates.Examples(`
		# Delete one run
		kubectl testrun delete nightly-x7k2p

		# Delete every run of the namespace that is older than a day
		kubectl testrun delete --all --older-than 24h

		# Delete the runs of one suite
		kubectl testrun delete -l suite=api

		# What would be deleted, without deleting it
		kubectl testrun delete --all --older-than 24h --dry-run=client`)
)

// Options holds the flags of the delete command.
type Options struct {
	All            bool
	Selector       string
	OlderThan      time.Duration
	IgnoreNotFound bool
	// Wait waits until each run's Job and pods are gone; Timeout bounds that wait (0: as long as it takes).
	Wait    bool
	Timeout time.Duration

	refs    []string
	dryRun  cmdutil.DryRunStrategy
	factory *cmdkit.Factory
	clients cmdkit.Clients
	genericiooptions.IOStreams
}

// NewOptions returns the defaults: wait for the runs to be gone, as kubectl delete does, for up to 5 minutes.
func NewOptions(f *cmdkit.Factory, streams genericiooptions.IOStreams) *Options {
	return &Options{factory: f, Wait: true, Timeout: 5 * time.Minute, IOStreams: streams}
}

// NewCmdDelete returns the delete command.
func NewCmdDelete(f *cmdkit.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(f, streams)
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
	cmdkit.AddSelectorFlag(fl, &o.Selector, "Delete the runs with these labels.")
	fl.DurationVar(&o.OlderThan, "older-than", o.OlderThan, "Only runs created longer ago than this, e.g. 24h.")
	fl.BoolVar(&o.IgnoreNotFound, "ignore-not-found", o.IgnoreNotFound, "A named run that does not exist is no error.")
	fl.BoolVar(&o.Wait, "wait", o.Wait, "Wait until each run's Job and pods are gone; --wait=false returns once the deletions are accepted.")
	fl.DurationVar(&o.Timeout, "timeout", o.Timeout, "With --wait: how long to wait for the runs to be gone (exit 124 after it); 0 waits as long as it takes.")
	cmdutil.AddDryRunFlag(cmd)
	return cmd
}

// Complete takes the runs' names, the dry-run strategy, and builds the clients.
func (o *Options) Complete(cmd *cobra.Command, args []string) error {
	o.refs = args
	var err error
	if o.dryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return fmt.Errorf("--dry-run: %w", err)
	}
	o.clients, err = o.factory.Clients()
	return err
}

// Validate checks that the runs to delete are named one way.
func (o *Options) Validate() error {
	ways := 0
	for _, given := range []bool{len(o.refs) > 0, o.All, o.Selector != ""} {
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
		return fmt.Errorf("--older-than %s is negative: give an age such as 24h", o.OlderThan)
	case o.Timeout < 0:
		return fmt.Errorf("--timeout %s is negative: give a duration such as 5m, or 0 to wait as long as it takes", o.Timeout)
	}
	return cmdkit.ValidateSelector(o.Selector)
}

// Run deletes the runs found and prints them. Named runs that do not exist do not stop the others: they are
// reported afterwards and the command exits 125, unless --ignore-not-found.
func (o *Options) Run(ctx context.Context) error {
	runs, missing := o.find(ctx)
	if o.OlderThan > 0 {
		cutoff := time.Now().Add(-o.OlderThan)
		runs = slices.DeleteFunc(runs, func(r cluster.Run) bool { return !r.Job.CreationTimestamp.Time.Before(cutoff) })
	}
	if len(runs) == 0 && len(o.refs) == 0 {
		fmt.Fprintf(o.ErrOut, "No runs to delete in namespace %q.\n", o.clients.Namespace)
		return missing
	}
	var deleted []string
	var err error
	if o.dryRun == cmdutil.DryRunClient {
		for _, r := range runs {
			deleted = append(deleted, r.Name())
		}
	} else {
		deleted, err = cluster.DeleteRuns(ctx, o.clients.Client, runs, cluster.DeleteOptions{DryRun: o.dryRun == cmdutil.DryRunServer, Wait: o.Wait})
	}
	for _, d := range deleted {
		fmt.Fprintf(o.Out, "run/%s deleted%s\n", d, dryRunNote(o.dryRun))
	}
	if err != nil {
		// DeleteRuns joins the API server's refusals into one message: an API error, 125 like in every verb.
		return exitcode.New(exitcode.CannotRun, errors.Join(err, missing))
	}
	if o.Wait && o.dryRun == cmdutil.DryRunNone {
		if werr := o.waitGone(ctx, runs); werr != nil {
			return werr
		}
	}
	return missing
}

// find returns the runs to delete and an error naming the named runs that do not exist (nil with
// --ignore-not-found).
func (o *Options) find(ctx context.Context) ([]cluster.Run, error) {
	if len(o.refs) == 0 {
		return o.clients.ResolveRuns(ctx, nil, o.Selector, cmdkit.PlainNotes(o.ErrOut))
	}
	var runs []cluster.Run
	var errs []error
	for _, ref := range o.refs {
		r, err := o.clients.ResolveRun(ctx, ref, cmdkit.PlainNotes(o.ErrOut))
		var nf *cluster.NotFoundError
		switch {
		case err == nil:
			runs = append(runs, r)
		case errors.As(err, &nf) && o.IgnoreNotFound:
		default:
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return runs, exitcode.New(exitcode.CannotRun, errors.Join(errs...))
	}
	return runs, nil
}

// waitGone waits for the deleted runs' Jobs, deleted in the foreground, to be gone with their pods.
func (o *Options) waitGone(ctx context.Context, runs []cluster.Run) error {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	err := cluster.WaitGone(ctx, o.clients.Client, runs)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return exitcode.Errorf(exitcode.Timeout, "the runs were deleted, but not all of their pods were gone after --timeout %s: %w", o.Timeout, err)
	}
	return err
}

// dryRunNote is what follows "deleted" in a dry run.
func dryRunNote(s cmdutil.DryRunStrategy) string {
	switch s {
	case cmdutil.DryRunClient:
		return " (dry run)"
	case cmdutil.DryRunServer:
		return " (server dry run)"
	}
	return ""
}
