// Package wait implements `kubectl testrun wait`.
package wait

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/diagnose"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runner"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

var (
	long = templates.LongDesc(`
		Wait for a test run to end and exit with the test's own exit code, as run does: 124 when --timeout
		passes, 125 when the test cannot run (image pull error, unschedulable, missing Secret), 126/127 when its
		command cannot start. It fails fast on the same conditions as run, with the same short story on stderr
		and the full diagnostics saved in a file in $TMPDIR (--diagnostics=full or -v=1 print them too).
		Ctrl-C stops the waiting, not the run (exit code 130).

		With several runs (or -l) it waits for each in turn and exits with the first failing run's code;
		--timeout bounds the whole wait. A sharded run (run --shards) is waited for shard by shard until every
		shard ended, and exits as run does: 0 when every shard passed, else the code of the failing shard of
		the lowest index. RUN is the run's name, job/NAME, or the name given to run without its
		random suffix (the newest such run).

		wait does not release the run: fetch its reports afterwards with kubectl testrun fetch.`)

	example = templates.Examples(`
		# Wait up to an hour for a detached run
		kubectl testrun wait nightly-x7k2p --timeout 1h

		# Every run started from definitions labelled suite=api
		kubectl testrun wait -l suite=api --timeout 1h

		# On a cluster that adds nodes on demand, give the autoscaler 10 minutes to make room
		kubectl testrun wait nightly-x7k2p --schedule-timeout 10m`)
)

// Options holds the flags of the wait command.
type Options struct {
	Timeout time.Duration
	// ScheduleTimeout is how long the pod may stay unschedulable.
	ScheduleTimeout time.Duration
	Output          cmdkit.ProgressFlags
	// Diagnostics is what stderr shows of a failed run (cmdkit.AddDiagnosticsFlag).
	Diagnostics   string
	ProgressEvery cmdkit.ProgressEveryFlag

	// Selector waits for the runs it matches instead of named runs.
	Selector string

	factory *cmdkit.Factory
	refs    []string
	clients cmdkit.Clients
	genericiooptions.IOStreams
}

// NewCmdWait returns the wait command.
func NewCmdWait(f *cmdkit.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{factory: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "wait (RUN... | -l SELECTOR) [--timeout DURATION]",
		DisableFlagsInUseLine: true,
		Short:                 "Wait for a test run to end and exit with the test's exit code",
		Long:                  long,
		Example:               example,
		ValidArgsFunction:     f.CompleteRuns(),
		RunE:                  cmdkit.RunE(o),
	}
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait; 0 waits as long as it takes. When it passes the command exits 124 and the run goes on.")
	cmdkit.AddScheduleTimeoutFlag(cmd.Flags(), &o.ScheduleTimeout)
	o.Output.AddFlags(cmd, "")
	cmdkit.AddDiagnosticsFlag(cmd, &o.Diagnostics)
	cmdkit.AddSelectorFlag(cmd.Flags(), &o.Selector, "Wait for every run this label selector matches instead of named runs.")
	o.ProgressEvery.AddFlag(cmd.Flags())
	return cmd
}

// Complete takes the runs' names and builds the clients.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	o.refs = args
	var err error
	o.clients, err = o.factory.Clients()
	return err
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if err := cmdkit.ValidateRunsOrSelector(o.refs, o.Selector); err != nil {
		return err
	}
	if o.Timeout < 0 {
		return fmt.Errorf("--timeout %s is negative", o.Timeout)
	}
	if err := cmdkit.ValidateScheduleTimeout(o.ScheduleTimeout); err != nil {
		return err
	}
	if err := o.ProgressEvery.Validate(o.Output.Quiet); err != nil {
		return err
	}
	if err := cmdkit.ValidateDiagnostics(o.Diagnostics); err != nil {
		return err
	}
	return o.Output.Validate()
}

// Run waits for each run in turn and returns the first failing run's exit code (in the order given, oldest
// first with -l) as an error carrying it; --timeout bounds the whole wait. A named run that does not exist
// fails the command (125) after the others were waited for.
func (o *Options) Run(ctx context.Context) error {
	runs, missing := o.clients.ResolveRuns(ctx, o.refs, o.Selector, o.Output.Progress(o.ErrOut).Printf)
	if len(runs) == 0 && missing == nil {
		return exitcode.Errorf(exitcode.CannotRun, "no runs match -l %q in namespace %q: list the runs and their labels with kubectl testrun list --show-labels", o.Selector, o.clients.Namespace)
	}
	var deadline time.Time
	if o.Timeout > 0 {
		deadline = time.Now().Add(o.Timeout)
	}
	var first error
	for i, r := range runs {
		timeout := o.Timeout
		if i > 0 && !deadline.IsZero() {
			// A run that ended is still classified when the time is up: wait rounds up to a nanosecond.
			timeout = max(time.Until(deadline), time.Nanosecond)
		}
		var err error
		if len(r.Shards) > 0 {
			err = o.waitShards(ctx, r.Name(), len(r.Shards), deadlineOf(timeout))
		} else {
			err = o.wait(ctx, r.Name(), -1, 0, timeout)
		}
		if err != nil && first == nil {
			first = err
		}
		if ctx.Err() != nil {
			return err
		}
	}
	if first != nil {
		return first
	}
	return missing
}

// deadlineOf returns when a wait of timeout that starts now ends; zero for none.
func deadlineOf(timeout time.Duration) time.Time {
	if timeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(timeout)
}

// waitShards waits for every shard of a sharded run of count shards, in index order, until deadline (zero:
// as long as it takes), and returns as run does: nil when every shard passed, else the exit code of the
// failing shard of the lowest index. An interrupted or timed-out wait returns at once.
func (o *Options) waitShards(ctx context.Context, run string, count int, deadline time.Time) error {
	progress := o.Output.Progress(o.ErrOut)
	var first error
	failed := -1
	for i := range count {
		timeout := time.Duration(0)
		if !deadline.IsZero() {
			timeout = max(time.Until(deadline), time.Nanosecond)
		}
		err := o.wait(ctx, run, i, count, timeout)
		var code *exitcode.Error
		if errors.As(err, &code) && (code.Code == exitcode.Timeout || ctx.Err() != nil) {
			return err
		}
		if err != nil && first == nil {
			first, failed = err, i
		}
	}
	if first != nil {
		var code *exitcode.Error
		if errors.As(first, &code) {
			progress.Warnf("%s failed with exit code %d, the failing shard of the lowest index: the command exits with it", runner.ShardLabel(failed, count), code.Code)
		}
		return first
	}
	progress.Printf("every shard of run %s passed", run)
	return nil
}

// wait waits for one run, or for shard of count shards of a sharded run (shard -1: a run of one pod), until
// timeout (0: as long as it takes). A failed run's story is printed and its full diagnostics saved in a
// file; an interrupted wait says only that the run goes on.
func (o *Options) wait(ctx context.Context, run string, shard, count int, timeout time.Duration) error {
	progress := o.Output.Progress(o.ErrOut)
	progress.Start()
	oc, pod, err := runner.Wait(ctx, o.clients.Client, o.clients.API, o.clients.Namespace, run, shard, timeout, o.ScheduleTimeout, o.ProgressEvery.Heartbeat(o.ErrOut, o.Output.Quiet), progress)
	progress.Stop()
	if err != nil {
		return err
	}
	name := run
	if shard >= 0 {
		name = fmt.Sprintf("%s (%s)", run, runner.ShardLabel(shard, count))
	}
	verdict := (&outcome.Result{Name: name, Phase: outcome.PhaseOf(oc), ExitCode: oc.ExitCode, Reason: oc.Reason}).Verdict()
	switch {
	case oc.ExitCode == exitcode.OK:
		progress.Printf("%s", verdict)
		return nil
	case oc.Interrupted():
		// Ctrl-C stops the waiting, not the run: one line says so.
		progress.Warnf("stopped waiting (%s): run %s goes on; wait for it again, or delete it with kubectl testrun delete %s -n %s", oc.Message, run, run, o.clients.Namespace)
		return exitcode.New(oc.ExitCode, nil)
	case oc.ExitCode == exitcode.Timeout:
		progress.Warnf("%s", oc.Message)
		return exitcode.New(oc.ExitCode, nil)
	}
	f := diagnose.Failure{Run: run, Namespace: o.clients.Namespace, Outcome: oc, Pod: pod}
	f, bundle := diagnose.Diagnosis{Client: o.clients.Client}.Explain(ctx, diagnose.BudgetAfter(oc), f, "", "")
	if cmdkit.FullDiagnostics(o.Diagnostics) {
		progress.Block(bundle)
	}
	progress.Warnf("%s", f.Headline())
	progress.Block(strings.Join(f.Story(), "\n") + "\n")
	progress.Warnf("%s", verdict)
	return exitcode.New(oc.ExitCode, nil)
}
