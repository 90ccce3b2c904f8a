// Package logs implements `kubectl testrun logs`.
package logs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/logs"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

var (
	long = templates.LongDesc(`
		Print the logs of a test run: its test container's output, for every pod of the run, prefixed with
		[pod/container] when there is more than one log.

		With -f the logs are followed until the test has ended — decided from the pod's status, not from a
		stream ending — waiting through Pending; a dropped stream resumes where it stopped. Without -f the
		logs are printed as they are now. A run whose test cannot start ends the command with the reason.`)

	example = templates.Examples(`
		# Follow a detached run to its end
		kubectl testrun logs nightly-x7k2p -f

		# Every run started from a definition labelled suite=api, with timestamps
		kubectl testrun logs -l suite=api --timestamps

		# The holder and fetch containers too
		kubectl testrun logs nightly-x7k2p --all-containers`)
)

// Options holds the flags of the logs command.
type Options struct {
	Selector      string
	Follow        bool
	Since         time.Duration
	Timestamps    bool
	AllContainers bool

	run     string
	factory *cmdkit.Factory
	clients cmdkit.Clients
	genericiooptions.IOStreams
}

// NewCmdLogs returns the logs command.
func NewCmdLogs(f *cmdkit.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{factory: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "logs (RUN | -l SELECTOR) [-f]",
		DisableFlagsInUseLine: true,
		Short:                 "Print or follow the logs of a test run",
		Long:                  long,
		Example:               example,
		Args:                  cobra.MaximumNArgs(1),
		ValidArgsFunction:     f.CompleteRuns(),
		RunE:                  cmdkit.RunE(o),
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Selector, "selector", "l", o.Selector, "Show the runs this label selector matches instead of one RUN.")
	fl.BoolVarP(&o.Follow, "follow", "f", o.Follow, "Follow the logs until the test has ended.")
	fl.DurationVar(&o.Since, "since", o.Since, "Only lines newer than this, e.g. 5m.")
	fl.BoolVar(&o.Timestamps, "timestamps", o.Timestamps, "Start each line with the time the kubelet received it.")
	fl.BoolVar(&o.AllContainers, "all-containers", o.AllContainers, "Show the holder and fetch containers too.")
	return cmd
}

// Complete reads the run and builds the clients.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.run = cmdkit.RunName(args[0])
	}
	var err error
	o.clients, err = o.factory.Clients()
	return err
}

// Validate checks that exactly one of RUN and -l is given.
func (o *Options) Validate() error {
	switch {
	case o.run == "" && o.Selector == "":
		return errors.New("name a run, or select runs with -l")
	case o.run != "" && o.Selector != "":
		return errors.New("give a run or -l, not both")
	case o.Since < 0:
		return fmt.Errorf("--since %s is negative", o.Since)
	}
	if o.Selector != "" {
		if _, err := labels.Parse(o.Selector); err != nil {
			return fmt.Errorf("-l %q: %w", o.Selector, err)
		}
	}
	return nil
}

// Run prints the logs.
func (o *Options) Run(ctx context.Context) error {
	selector := labels.SelectorFromSet(labels.Set{runspec.LabelRun: o.run})
	if o.run == "" {
		selector, _ = labels.Parse(o.Selector)
	} else if _, err := cluster.GetRun(ctx, o.clients.Client, o.clients.Namespace, o.run); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	opts := logs.Options{Follow: o.Follow, Timestamps: o.Timestamps, AllContainers: o.AllContainers, Warnings: o.ErrOut}
	if o.Since > 0 {
		opts.SinceSeconds = ptr.To(int64(o.Since.Seconds()))
	}
	out := o.Out
	if printers.IsTerminal(o.Out) {
		out = escaper{o.Out}
	}
	return logs.Logs(ctx, o.clients.Client, o.clients.Namespace, selector, opts, out)
}

// escaper escapes pod text on its way to a terminal.
type escaper struct {
	w interface{ Write([]byte) (int, error) }
}

func (e escaper) Write(b []byte) (int, error) {
	if err := printers.WriteEscaped(e.w, string(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}
