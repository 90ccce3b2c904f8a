// Package describe implements `kubectl testrun describe`.
package describe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/diagnose"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reports"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
)

var (
	long = templates.LongDesc(`
		Show everything about a test run: its status and exit code, its Job and pod, each container's state,
		exit code, reason, start, finish and duration, its reports, and — for a run that failed — the same
		diagnostics run prints: describe of the Job and the pod, with their events.

		While the pod still runs, the report files present in it are listed and their JUnit files summarised
		(up to 16 MiB are read through the holder). Once the reports were fetched (run --reports, or fetch)
		and the run released, nothing can be read from the pod any more; describe then shows what the pod
		recorded of that fetch: how many files, their size, when, and the JUnit summary.

		A sharded run (run --shards) shows how many shards ended and a row per shard: its index, pod, node,
		status, exit code, reason and the reports fetched from it; its containers are listed per pod.

		With -o json or -o yaml it prints the result document that run -o json prints, with the fetch record
		as "fetched" (a ResultList for several runs or -l).

		RUN is the run's name, job/NAME, or the name given to run without its random suffix (the newest such
		run); a missing run fails the command (125) after the others were described.`)

	example = templates.Examples(`
		# Everything about a run
		kubectl testrun describe nightly-x7k2p

		# The result document, for a script
		kubectl testrun describe nightly-x7k2p -o json

		# Every run of a suite
		kubectl testrun describe -l suite=api`)
)

// Options holds the flags of the describe command.
type Options struct {
	PrintFlags *cmdkit.PrintFlags
	Selector   string

	refs    []string
	factory *cmdkit.Factory
	clients cmdkit.Clients
	genericiooptions.IOStreams
}

// NewCmdDescribe returns the describe command.
func NewCmdDescribe(f *cmdkit.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{factory: f, PrintFlags: cmdkit.NewPrintFlags("json", "yaml"), IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "describe (RUN... | -l SELECTOR) [-o json|yaml]",
		DisableFlagsInUseLine: true,
		Short:                 "Show a test run's status, containers, reports and diagnostics",
		Long:                  long,
		Example:               example,
		ValidArgsFunction:     f.CompleteRuns(),
		RunE:                  cmdkit.RunE(o),
	}
	o.PrintFlags.AddFlags(cmd, "Print the result document as json or yaml (a ResultList for several runs or -l).")
	cmdkit.AddSelectorFlag(cmd.Flags(), &o.Selector, "Describe the runs this label selector matches instead of named runs.")
	return cmd
}

// Complete takes the runs' names and builds the clients.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	o.refs = args
	var err error
	o.clients, err = o.factory.Clients()
	return err
}

// Validate checks the runs and -o.
func (o *Options) Validate() error {
	if err := cmdkit.ValidateRunsOrSelector(o.refs, o.Selector); err != nil {
		return err
	}
	return o.PrintFlags.Validate()
}

// Run describes the runs found, then fails (125) if a named one was missing.
func (o *Options) Run(ctx context.Context) error {
	runs, err := o.clients.ResolveRuns(ctx, o.refs, o.Selector, cmdkit.PlainNotes(o.ErrOut))
	if len(runs) == 0 && err == nil {
		fmt.Fprintf(o.ErrOut, "No runs match -l %q in namespace %q.\n", o.Selector, o.clients.Namespace)
		return nil
	}
	if o.PrintFlags.Output != "" {
		var doc any
		if len(o.refs) == 1 && len(runs) == 1 {
			doc = runs[0].Summary()
		} else {
			doc = cluster.ResultList(runs)
		}
		if perr := cmdkit.PrintDocument(o.Out, o.PrintFlags.Output, doc); perr != nil {
			return perr
		}
		return err
	}
	var b bytes.Buffer
	for i, r := range runs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		o.write(ctx, &b, r)
	}
	if werr := printers.WriteEscaped(o.Out, b.String()); werr != nil {
		return werr
	}
	return err
}

func (o *Options) write(ctx context.Context, w io.Writer, r cluster.Run) {
	res := r.Summary()
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", r.Name())
	fmt.Fprintf(tw, "Namespace:\t%s\n", r.Job.Namespace)
	fmt.Fprintf(tw, "Status:\t%s\n", r.Status())
	if code, ok := r.ExitCode(); ok {
		fmt.Fprintf(tw, "Exit Code:\t%d\n", code)
	}
	if res.Reason != "" {
		fmt.Fprintf(tw, "Reason:\t%s\n", res.Reason)
	}
	if res.Message != "" {
		fmt.Fprintf(tw, "Message:\t%s\n", diagnose.IndentContinuation(res.Message))
	}
	fmt.Fprintf(tw, "Job:\tjob.batch/%s, created %s ago\n", r.Job.Name, duration.HumanDuration(time.Since(r.Job.CreationTimestamp.Time)))
	switch {
	case len(r.Shards) > 0:
		fmt.Fprintf(tw, "Shards:\t%d of %d ended\n", r.ShardsDone(), len(r.Shards))
	case r.Pod == nil:
		fmt.Fprintf(tw, "Pod:\t<none>\n")
	default:
		fmt.Fprintf(tw, "Pod:\t%s on node %s (%s)\n", r.Pod.Name, orNone(r.Pod.Spec.NodeName), r.Pod.Status.Phase)
	}
	_ = tw.Flush()
	if len(r.Shards) > 0 {
		writeShards(w, r, res)
	}
	for _, p := range res.Pods {
		if len(r.Shards) > 0 {
			fmt.Fprintf(w, "Containers of %s:\n", p.Name)
		} else {
			fmt.Fprintln(w, "Containers:")
		}
		cw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(cw, "  NAME\tIMAGE\tSTATE\tEXIT\tREASON\tSTARTED\tFINISHED\tDURATION")
		for _, c := range p.Containers {
			exit, started, finished, took := "-", "-", "-", "-"
			if c.ExitCode != nil {
				exit = fmt.Sprint(*c.ExitCode)
			}
			if c.StartedAt != nil {
				started = c.StartedAt.UTC().Format(time.RFC3339)
			}
			if c.FinishedAt != nil {
				finished = c.FinishedAt.UTC().Format(time.RFC3339)
			}
			if c.DurationSeconds != nil {
				took = (time.Duration(*c.DurationSeconds * float64(time.Second))).String()
			}
			fmt.Fprintf(cw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Image, c.State, exit, orNone(c.Reason), started, finished, took)
		}
		_ = cw.Flush()
	}
	if len(r.Shards) > 0 {
		// Each shard's reports are in its row; a failed run's diagnostics are those of its failing shard of
		// the lowest index, once every shard ended, as for a run of one pod.
		if failing := firstFailing(r); failing >= 0 && r.ShardsDone() == len(r.Shards) {
			fmt.Fprintln(w)
			diagnose.Diagnosis{Client: o.clients.Client}.WriteWithin(ctx, w, diagnose.Budget, r.Job.Namespace, r.Job.Name, r.Shards[failing])
		}
		return
	}
	if rec := res.Fetched; rec != nil {
		// The run was released after its reports were fetched: its holder carried the record out.
		fmt.Fprintf(w, "Reports:\n  %s\n", rec.Line())
		if rec.JUnit != nil {
			fmt.Fprintf(w, "JUnit:\n  %s\n", strings.ReplaceAll(rec.JUnit.Line(), "\n", "\n  "))
		}
		if rec.Truncated {
			fmt.Fprintln(w, "  (more failed cases than the pod's status can hold: see the fetched reports)")
		}
	} else {
		fmt.Fprintf(w, "Reports:%s\n", o.reports(ctx, r.Pod))
	}
	if res.Fetched == nil && r.Pod != nil && r.Pod.Status.Phase == corev1.PodRunning {
		exec := &podexec.Remote{Config: o.clients.Config, Client: o.clients.Client}
		summary, err := reports.JUnitInPod(ctx, o.clients.Client, exec, r.Pod)
		switch {
		case err != nil:
			fmt.Fprintf(w, "JUnit:   <not summarised: %v>\n", err)
		case summary != nil:
			fmt.Fprintf(w, "JUnit:\n  %s\n", strings.ReplaceAll(summary.Line(), "\n", "\n  "))
		}
	}
	if r.Status() == outcome.PhaseFailed || r.Status() == outcome.PhaseError || r.Status() == outcome.PhaseTimedOut {
		diagnose.Diagnosis{Client: o.clients.Client}.WriteWithin(ctx, w, diagnose.Budget, r.Job.Namespace, r.Job.Name, r.Pod)
	}
}

// writeShards writes a row per shard of a sharded run: its index, pod, node, status, exit code, reason and
// the reports fetched from it, as its pod recorded them.
func writeShards(w io.Writer, r cluster.Run, res *outcome.Result) {
	sw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(sw, "  INDEX\tPOD\tNODE\tSTATUS\tEXIT\tREASON\tREPORTS")
	for i, row := range res.Shards {
		shard := r.Shard(i)
		pod, node, exit := "<none>", "<none>", "-"
		if shard.Pod != nil {
			pod, node = shard.Pod.Name, orNone(shard.Pod.Spec.NodeName)
		}
		if code, ok := shard.ExitCode(); ok {
			exit = fmt.Sprint(code)
		}
		reports := "-"
		if rec := row.Fetched; rec != nil {
			reports = fmt.Sprintf("%d file(s), %s", rec.Files, outcome.HumanBytes(rec.Bytes))
			if rec.JUnit != nil {
				reports += fmt.Sprintf(", %d tests, %d failed", rec.JUnit.Tests, rec.JUnit.Failures)
			}
		}
		fmt.Fprintf(sw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\n", i, pod, node, shard.Status(), exit, orNone(row.Reason), reports)
	}
	_ = sw.Flush()
}

// firstFailing returns the index of the failing shard of the lowest index of r, -1 when none failed.
func firstFailing(r cluster.Run) int {
	for i := range r.Shards {
		switch r.Shard(i).Status() {
		case outcome.PhaseFailed, outcome.PhaseError, outcome.PhaseTimedOut:
			return i
		}
	}
	return -1
}

// reports lists the files in the pod's report volume, read through the holder while the pod still runs.
func (o *Options) reports(ctx context.Context, pod *corev1.Pod) string {
	switch {
	case pod != nil && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed):
		return " <not readable: the pod has finished, and no fetch was recorded before it was released>"
	case pod == nil || pod.Status.Phase != corev1.PodRunning:
		return " <not readable yet: the pod is not running>"
	}
	var out, errOut bytes.Buffer
	exec := &podexec.Remote{Config: o.clients.Config, Client: o.clients.Client}
	err := exec.Exec(ctx, pod.Namespace, pod.Name, runspec.HolderContainer,
		[]string{"sh", "-c", `cd "$1" && find . -type f -exec ls -ln {} +`, "list", runspec.HolderReportsDir}, nil, &out, &errOut)
	if err != nil {
		return fmt.Sprintf(" <not readable: %v>", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return " <none yet>"
	}
	var files []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 9 {
			files = append(files, fmt.Sprintf("%s (%s bytes)", strings.TrimPrefix(strings.Join(f[8:], " "), "./"), f[4]))
		}
	}
	return "\n  " + strings.Join(files, "\n  ")
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
