// Package logs implements `kubectl testrun logs`.
package logs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util"
	"k8s.io/kubectl/pkg/util/templates"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/logs"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
)

var (
	long = templates.LongDesc(`
		Print the logs of a test run: its test container's output (-c holder or -c fetch for the others), for
		every pod of the run, prefixed with [pod/container] when there is more than one log. A fetch
		container runs only when reports are fetched: -c fetch on a run without one fails (125), naming the
		pod.

		RUN is the run's name, job/NAME, or the name given to run without its random suffix (the newest such
		run). --previous is refused: a run's containers never restart, so there is no previous log.

		With -f the logs are followed until the test has ended — decided from the pod's status, not from a
		stream ending — waiting through Pending; a dropped stream resumes where it stopped. Without -f the
		logs are printed as they are now. A run whose test cannot start ends the command with the reason.`)

	example = templates.Examples(`
		# Follow a detached run to its end
		kubectl testrun logs nightly-x7k2p -f

		# Every run started from a definition labelled suite=api, with timestamps
		kubectl testrun logs -l suite=api --timestamps

		# The last 20 lines of the newest run started as "nightly"
		kubectl testrun logs nightly --tail 20

		# The holder and fetch containers too
		kubectl testrun logs nightly-x7k2p --all-containers`)
)

// Options holds the flags of the logs command.
type Options struct {
	Selector      string
	Follow        bool
	Since         time.Duration
	SinceTime     string
	Tail          int64
	Timestamps    bool
	Container     string
	AllContainers bool
	Prefix        bool
	Previous      bool
	ProgressEvery cmdkit.ProgressEveryFlag

	run string
	// prefixSet says whether --prefix was given; without it lines are prefixed when several logs are shown.
	prefixSet bool
	factory   *cmdkit.Factory
	clients   cmdkit.Clients
	genericiooptions.IOStreams
}

// NewOptions returns the defaults.
func NewOptions(f *cmdkit.Factory, streams genericiooptions.IOStreams) *Options {
	return &Options{factory: f, Tail: -1, Container: runspec.TestContainer, IOStreams: streams}
}

// NewCmdLogs returns the logs command.
func NewCmdLogs(f *cmdkit.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(f, streams)
	cmd := &cobra.Command{
		Use:                   "logs (RUN | -l SELECTOR) [-f] [-c CONTAINER] [--tail N]",
		DisableFlagsInUseLine: true,
		Short:                 "Print or follow the logs of a test run",
		Long:                  long,
		Example:               example,
		Args:                  cobra.MaximumNArgs(1),
		ValidArgsFunction:     f.CompleteRuns(),
		RunE:                  cmdkit.RunE(o),
	}
	fl := cmd.Flags()
	cmdkit.AddSelectorFlag(fl, &o.Selector, "Show the runs this label selector matches instead of one RUN.")
	fl.BoolVarP(&o.Follow, "follow", "f", o.Follow, "Follow the logs until the test has ended.")
	fl.DurationVar(&o.Since, "since", o.Since, "Only lines newer than this, e.g. 5m.")
	fl.StringVar(&o.SinceTime, "since-time", o.SinceTime, "Only lines from this time on (RFC3339, e.g. 2026-11-26T19:00:00Z).")
	fl.Int64Var(&o.Tail, "tail", o.Tail, "Start each log this many lines before its end; -1 shows it all.")
	fl.BoolVar(&o.Timestamps, "timestamps", o.Timestamps, "Start each line with the time the kubelet received it.")
	fl.StringVarP(&o.Container, "container", "c", o.Container, "The container whose log is shown: test, holder, fetch (every fetch container) or a fetch container's name.")
	fl.BoolVar(&o.AllContainers, "all-containers", o.AllContainers, "Show the holder and fetch containers too.")
	fl.BoolVar(&o.Prefix, "prefix", o.Prefix, "Prefix each line with [pod/container]; by default only when more than one log is shown.")
	fl.BoolVarP(&o.Previous, "previous", "p", o.Previous, "Refused: a run's containers never restart (restartPolicy Never, backoffLimit 0), so there is no previous log.")
	_ = cmd.RegisterFlagCompletionFunc("container", cobra.FixedCompletions(
		[]string{runspec.TestContainer, runspec.HolderContainer, logs.FetchContainers}, cobra.ShellCompDirectiveNoFileComp))
	o.ProgressEvery.AddFlag(fl)
	return cmd
}

// Complete reads the run and builds the clients.
func (o *Options) Complete(cmd *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.run = args[0]
	}
	o.prefixSet = cmd.Flags().Changed("prefix")
	var err error
	o.clients, err = o.factory.Clients()
	return err
}

// Validate checks that exactly one of RUN and -l is given, and the flags.
func (o *Options) Validate() error {
	var runs []string
	if o.run != "" {
		runs = []string{o.run}
	}
	if o.ProgressEvery.Given() && !o.Follow {
		return errors.New("--progress-every needs -f: without it, logs prints the logs as they are and exits")
	}
	if err := o.ProgressEvery.Validate(false); err != nil {
		return err
	}
	if err := cmdkit.ValidateRunsOrSelector(runs, o.Selector); err != nil {
		return err
	}
	switch {
	case o.Previous:
		return errors.New("--previous: a run's containers never restart (restartPolicy Never, backoffLimit 0), so there is no previous log: leave --previous out, the whole log is shown")
	case o.Since < 0:
		return fmt.Errorf("--since %s is negative: give a duration such as 5m", o.Since)
	case o.Since > 0 && o.SinceTime != "":
		return errors.New("--since and --since-time: give only one of them")
	case o.Tail < -1:
		return fmt.Errorf("--tail %d: give a number of lines, or -1 for the whole log", o.Tail)
	case o.AllContainers && o.Container != runspec.TestContainer:
		return fmt.Errorf("-c %s and --all-containers: give only one of them", o.Container)
	}
	if _, err := o.sinceTime(); err != nil {
		return err
	}
	switch c := o.Container; {
	case c == runspec.TestContainer || c == runspec.HolderContainer || c == logs.FetchContainers:
	case strings.HasPrefix(c, fetch.ContainerPrefix):
	default:
		return fmt.Errorf("-c %q is not a container of a run: use %s, %s or %s (every fetch container), or a fetch container's name (%s...)",
			c, runspec.TestContainer, runspec.HolderContainer, logs.FetchContainers, fetch.ContainerPrefix)
	}
	return nil
}

// sinceTime parses --since-time.
func (o *Options) sinceTime() (*metav1.Time, error) {
	if o.SinceTime == "" {
		return nil, nil
	}
	t, err := util.ParseRFC3339(o.SinceTime, metav1.Now)
	if err != nil {
		return nil, fmt.Errorf("--since-time %q is not an RFC3339 time (e.g. 2026-11-26T19:00:00Z): %w", o.SinceTime, err)
	}
	return &t, nil
}

// Run prints the logs.
func (o *Options) Run(ctx context.Context) error {
	var selector labels.Selector
	if o.run == "" {
		selector, _ = labels.Parse(o.Selector)
	} else {
		r, err := o.clients.ResolveRun(ctx, o.run, cmdkit.PlainNotes(o.ErrOut))
		if err != nil {
			return err
		}
		selector = labels.SelectorFromSet(labels.Set{runspec.LabelRun: r.Name()})
	}
	opts := logs.Options{Follow: o.Follow, Timestamps: o.Timestamps, Container: o.Container, AllContainers: o.AllContainers, Warnings: o.ErrOut,
		Run: o.run, Heartbeat: o.ProgressEvery.Heartbeat(o.ErrOut, false)}
	if o.Follow {
		// Progress reports (SIGUSR1) and heartbeats; the logs themselves stay on stdout.
		opts.Progress = (&cmdkit.ProgressFlags{Color: "auto"}).Progress(o.ErrOut)
	}
	if o.Since > 0 {
		opts.SinceSeconds = ptr.To(int64(o.Since.Seconds()))
	}
	opts.SinceTime, _ = o.sinceTime()
	if o.Tail >= 0 {
		opts.TailLines = ptr.To(o.Tail)
	}
	if o.prefixSet {
		opts.Prefix = ptr.To(o.Prefix)
	}
	out := o.Out
	if cmdkit.IsTerminal(o.Out) {
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
