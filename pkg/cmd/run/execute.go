package run

import (
	"context"
	"fmt"
	"io"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/plan"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runner"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/upload"
)

// Run creates the runs (or prints them with --dry-run) and follows them.
func (o *Options) Run(ctx context.Context) error {
	if o.dryRun != cmdutil.DryRunNone {
		return o.printDryRun(ctx)
	}
	if err := cluster.Preflight(ctx, o.client.AuthorizationV1(), o.runs[0].Spec.Namespace, cluster.RunPermissions); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	specs := make([]runspec.Spec, len(o.runs))
	for i, r := range o.runs {
		specs[i] = r.Spec
	}
	if err := runner.CheckConfigSources(ctx, o.client, o.config, specs); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	if o.flow != nil {
		return o.runFlow(ctx)
	}
	if o.Detach {
		return o.detach(ctx)
	}
	if len(o.runs) > 1 {
		return o.runParallel(ctx)
	}
	if o.runs[0].Spec.Sharded() {
		return o.runShards(ctx)
	}
	spec := o.runs[0].Spec
	outIsTTY := cmdkit.IsTerminal(o.Out)
	progress := cmdkit.NewProgress(o.ErrOut, cmdkit.IsTerminal(o.ErrOut), o.Progress.UseColor(o.ErrOut), o.Progress.Quiet)
	logs := progress.LogWriter(o.Out, outIsTTY)
	if o.PrintFlags.Output != "" {
		// stdout is for the result document alone.
		logs = progress.LogWriter(o.ErrOut, cmdkit.IsTerminal(o.ErrOut))
	}
	result, err := o.runner(o.runs[0], logs, progress).Run(ctx, spec)
	if err != nil {
		return err
	}
	return o.finish(progress, result, result.ExitCode, result.Verdict())
}

// finish prints the result document doc with -o, then the verdict line that ends the run's output, and
// returns the exit code (as an error carrying it). A failure's story is printed already: the verdict ends
// it, and the code says the rest.
func (o *Options) finish(progress *cmdkit.Progress, doc any, code int, verdict string) error {
	if o.PrintFlags.Output != "" {
		if err := cmdkit.PrintDocument(o.Out, o.PrintFlags.Output, doc); err != nil {
			return err
		}
	}
	if code != exitcode.OK {
		progress.Warnf("%s", verdict)
		return exitcode.New(code, nil)
	}
	progress.Printf("%s", verdict)
	return nil
}

// runner returns the Runner of one run.
func (o *Options) runner(r plan.Run, logs io.Writer, progress *cmdkit.Progress) *runner.Runner {
	exec := &podexec.Remote{Config: o.config, Client: o.client}
	return &runner.Runner{
		Client:          o.client,
		Exec:            exec,
		Reports:         r.Reports,
		Fetcher:         &fetch.Fetcher{Client: o.client, Exec: exec, HelperImage: r.Spec.HelperImage, Limits: o.CopyLimits},
		Uploader:        &upload.Uploader{Exec: exec, Limits: o.UploadLimits},
		Logs:            logs,
		Progress:        progress,
		Keep:            o.Keep,
		ScheduleTimeout: o.ScheduleTimeout,
		DumpSelector:    o.DumpSelector,
		FullDiagnostics: cmdkit.FullDiagnostics(o.Diagnostics),
		API:             o.api,
		Heartbeat:       o.ProgressEvery.Heartbeat(o.ErrOut, o.Progress.Quiet),
	}
}

// detach creates every run and prints their names, one a line, or their result documents.
func (o *Options) detach(ctx context.Context) error {
	var docs []*outcome.Result
	for _, r := range o.runs {
		started := time.Now()
		if _, err := runner.CreateJob(ctx, o.client, r.Spec); err != nil {
			return err
		}
		docs = append(docs, runner.Detached(r.Spec, started))
		if o.PrintFlags.Output == "" {
			if _, err := fmt.Fprintln(o.Out, r.Spec.Name); err != nil {
				return err
			}
		}
	}
	switch {
	case o.PrintFlags.Output == "":
		return nil
	case len(docs) == 1:
		return cmdkit.PrintDocument(o.Out, o.PrintFlags.Output, docs[0])
	}
	return cmdkit.PrintDocument(o.Out, o.PrintFlags.Output, resultList(docs))
}

// resultList is the document -o prints for several runs, as kubectl testrun list does.
func resultList(results []*outcome.Result) map[string]any {
	return map[string]any{"apiVersion": "testrun.dev/v1alpha1", "kind": "ResultList", "items": results}
}

// runParallel starts every run at once and follows them all (runner.RunParallel): each run's lines are
// prefixed with its definition's name. The command exits with the code of the first run that ended with a
// non-zero code, 0 when all passed.
func (o *Options) runParallel(ctx context.Context) error {
	logsTo, logsTTY := o.Out, cmdkit.IsTerminal(o.Out)
	if o.PrintFlags.Output != "" {
		// stdout is for the result document alone.
		logsTo, logsTTY = o.ErrOut, cmdkit.IsTerminal(o.ErrOut)
	}
	specs, labels := make([]runspec.Spec, len(o.runs)), make([]string, len(o.runs))
	for i, r := range o.runs {
		specs[i], labels[i] = r.Spec, r.Definition
	}
	ended := runner.RunParallel(ctx, specs, labels, logsTo, o.ErrOut, func(i int, logs, messages io.Writer) (*runner.Runner, reporter.Reporter) {
		// Several runs share the terminal: one line per change of state each, no status line redrawn in place.
		progress := cmdkit.NewProgress(messages, false, o.Progress.UseColor(o.ErrOut), o.Progress.Quiet)
		return o.runner(o.runs[i], progress.LogWriter(logs, logsTTY), progress), progress
	})
	code := exitcode.OK
	results := make([]*outcome.Result, len(o.runs))
	progress := cmdkit.NewProgress(o.ErrOut, false, o.Progress.UseColor(o.ErrOut), o.Progress.Quiet)
	for _, e := range ended {
		r := o.runs[e.Index]
		results[e.Index] = e.Result
		if e.Code == exitcode.OK {
			progress.Printf("%s (%s) passed", r.Spec.Name, r.Definition)
			continue
		}
		line := fmt.Sprintf("%s (%s) failed with exit code %d", r.Spec.Name, r.Definition, e.Code)
		if code == exitcode.OK {
			code = e.Code
			line += ", the first to fail: the command exits with it"
		}
		progress.Warnf("%s", line)
	}
	if o.PrintFlags.Output != "" {
		docs := make([]*outcome.Result, 0, len(results))
		for _, r := range results {
			if r != nil {
				docs = append(docs, r)
			}
		}
		if err := cmdkit.PrintDocument(o.Out, o.PrintFlags.Output, resultList(docs)); err != nil {
			return err
		}
	}
	if code != exitcode.OK {
		return exitcode.New(code, nil)
	}
	return nil
}

// runShards runs the one sharded run and follows every shard (runner.RunShards): each shard's lines are
// prefixed with "shard i/n". The command exits with the code of the failing shard of the lowest index, 0 when
// all passed.
func (o *Options) runShards(ctx context.Context) error {
	r := o.runs[0]
	logsTo, logsTTY := o.Out, cmdkit.IsTerminal(o.Out)
	if o.PrintFlags.Output != "" {
		// stdout is for the result document alone.
		logsTo, logsTTY = o.ErrOut, cmdkit.IsTerminal(o.ErrOut)
	}
	// Several shards share the terminal: one line per change of state each, no status line redrawn in place.
	progress := cmdkit.NewProgress(o.ErrOut, false, o.Progress.UseColor(o.ErrOut), o.Progress.Quiet)
	if len(o.balance) > 0 {
		progress.Printf("balanced from %s (the tests it names, by their durations; any other test as without it):", o.BalanceFrom)
		for _, l := range o.balance {
			progress.Printf("  %s", l)
		}
	}
	top := o.runner(r, progress.LogWriter(logsTo, logsTTY), progress)
	result, err := top.RunShards(ctx, r.Spec, o.FailFast, logsTo, o.ErrOut, func(_ int, logs, messages io.Writer) (*runner.Runner, reporter.Reporter) {
		p := cmdkit.NewProgress(messages, false, o.Progress.UseColor(o.ErrOut), o.Progress.Quiet)
		return o.runner(r, p.LogWriter(logs, logsTTY), p), p
	})
	if err != nil {
		return err
	}
	first := !result.Interrupted
	for _, s := range result.Shards {
		label := runner.ShardLabel(s.Index, len(result.Shards))
		switch {
		case s.Reason == runner.ReasonFailFast:
			progress.Warnf("%s was stopped (--fail-fast)", label)
		case s.ExitCode == exitcode.OK:
			progress.Printf("%s passed", label)
		case first:
			first = false
			progress.Warnf("%s failed with exit code %d, the failing shard of the lowest index: the command exits with it", label, s.ExitCode)
		default:
			progress.Warnf("%s failed with exit code %d", label, s.ExitCode)
		}
	}
	return o.finish(progress, result, result.ExitCode, result.Verdict())
}

// printDryRun prints the Job of every run without creating it (--dry-run=server asks the API server to admit
// it): one line each, or with -o the Job, or a List of the Jobs of several runs.
func (o *Options) printDryRun(ctx context.Context) error {
	jobs := make([]*batchv1.Job, 0, len(o.runs))
	for _, r := range o.runs {
		job, err := runspec.Job(r.Spec)
		if err != nil {
			return exitcode.New(exitcode.CannotRun, err)
		}
		if o.dryRun == cmdutil.DryRunServer {
			created, err := o.client.BatchV1().Jobs(r.Spec.Namespace).Create(ctx, job, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				return exitcode.Errorf(exitcode.CannotRun, "server dry run of job %q in namespace %q: %w", r.Spec.Name, r.Spec.Namespace, err)
			}
			created.APIVersion, created.Kind = job.APIVersion, job.Kind
			job = created
		}
		jobs = append(jobs, job)
	}
	switch {
	case o.PrintFlags.Output == "":
		for _, job := range jobs {
			if _, err := fmt.Fprintf(o.Out, "job.batch/%s created (%s dry run)\n", job.Name, dryRunName(o.dryRun)); err != nil {
				return err
			}
		}
		return nil
	case len(jobs) == 1:
		return cmdkit.PrintDocument(o.Out, o.PrintFlags.Output, jobs[0])
	}
	return cmdkit.PrintDocument(o.Out, o.PrintFlags.Output, map[string]any{"apiVersion": "v1", "kind": "List", "items": jobs})
}

func dryRunName(s cmdutil.DryRunStrategy) string {
	if s == cmdutil.DryRunServer {
		return "server"
	}
	return "client"
}
