// Package fetch implements `kubectl testrun fetch`: copy a run's reports, or any path of a running pod, out
// through an ephemeral container, byte for byte, even from distroless images.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reports"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runner"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/extract"
	enginefetch "github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
)

var (
	long = templates.LongDesc(`
		Copy the reports of a test run into a local directory, verify every file against a sha256 manifest made
		in the pod, and summarise the JUnit files among them.

		RUN is a run name (a Job created by kubectl testrun run, or applied from its --dry-run output). Its
		report directory is copied through the run's holder container, which mounts it read-only, or, when the
		test runs as a non-root user of its own, through an ephemeral container that runs as that user; so this
		works after the test container exited and with images that have no shell or tar. When the test has
		ended, the run is then released, so its pod and Job finish with the test's status (--release=false
		keeps holding it).

		pod/NAME copies --path, a directory or a single file, from a running pod the plugin did not create: a
		path on a volume is read by mounting that volume read-only; any other path through the container's
		process namespace. The fetch container exits once the copy is done. Nothing can be read from a pod
		whose containers have all exited.

		A sharded run (run --shards) has a report directory per shard: shard i's lands in DIR/shard-<i>/, and
		their JUnit reports are merged into DIR/junit.xml, as run --reports does.

		The command exits 0 when every file came home and verified, 125 otherwise.`)

	example = templates.Examples(`
		# Copy the reports of a run kept with --keep or started with --detach
		kubectl testrun fetch nightly-x7k2p --to ./out

		# Every shard of a sharded run started with --detach, into ./out/shard-<i>/ and ./out/junit.xml
		kubectl testrun fetch unit-x7k2p --to ./out

		# Copy a directory out of a running pod of your own (distroless images too)
		kubectl testrun fetch pod/api-tests-0 --path /workspace/results --to ./results -c tests

		# Copy a single file; it lands in ./out/report.xml
		kubectl testrun fetch pod/api-tests-0 --path /workspace/report.xml --to ./out`)
)

// Options holds the flags of the fetch command.
type Options struct {
	To          string
	Path        string
	Container   string
	HelperImage string
	Release     bool
	PrintFlags  *cmdkit.PrintFlags
	Progress    cmdkit.ProgressFlags
	Limits      extract.Limits

	target  string
	isPod   bool
	factory *cmdkit.Factory
	clients cmdkit.Clients
	// exec runs the fetch container's commands: the API server's, unless a unit test set a fake first.
	exec podexec.Executor
	genericiooptions.IOStreams
}

// NewOptions returns the defaults.
func NewOptions(f *cmdkit.Factory, streams genericiooptions.IOStreams) *Options {
	return &Options{
		factory:     f,
		PrintFlags:  cmdkit.NewPrintFlags("json", "yaml"),
		HelperImage: runspec.DefaultHelperImage,
		Release:     true,
		Progress:    cmdkit.ProgressFlags{Color: "auto"},
		Limits:      extract.DefaultLimits(),
		IOStreams:   streams,
	}
}

// NewCmdFetch returns the fetch command.
func NewCmdFetch(f *cmdkit.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(f, streams)
	cmd := &cobra.Command{
		Use:                   "fetch (RUN | pod/NAME --path PATH) --to DIR",
		DisableFlagsInUseLine: true,
		Short:                 "Copy a run's reports, or a running pod's files, into a local directory",
		Long:                  long,
		Example:               example,
		Args:                  cobra.ExactArgs(1),
		ValidArgsFunction:     f.CompleteRuns(),
		RunE:                  cmdkit.RunE(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.To, "to", o.To, "The local directory to copy into (required); it must be empty or new.")
	fl.StringVar(&o.Path, "path", o.Path, "With pod/NAME: the absolute path in the container of a directory, whose contents land in --to, or of a regular file, which lands in --to under its own name; only regular files and directories are copied.")
	fl.StringVarP(&o.Container, "container", "c", o.Container, "With pod/NAME: the container whose path is copied (default: the pod's default container).")
	fl.StringVar(&o.HelperImage, "helper-image", o.HelperImage, "The image of the fetch container (needs sh, find, sha256sum and tar).")
	fl.BoolVar(&o.Release, "release", o.Release, "With RUN: release the run after copying when its test has ended.")
	o.PrintFlags.AddFlags(cmd, "Print the copied files and the JUnit summary as json or yaml.")
	o.Progress.AddFlags(cmd, "")
	cmdkit.AddLimitFlags(fl, &o.Limits)
	return cmd
}

// Complete reads the target and builds the clients.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	var err error
	o.target = args[0]
	if name, ok := strings.CutPrefix(o.target, "pod/"); ok {
		o.target, o.isPod = name, true
	} else if name, ok := strings.CutPrefix(o.target, "pods/"); ok {
		o.target, o.isPod = name, true
	}
	if o.clients, err = o.factory.Clients(); err != nil {
		return err
	}
	if o.exec == nil {
		o.exec = &podexec.Remote{Config: o.clients.Config, Client: o.clients.Client}
	}
	return nil
}

// Validate checks the flags; each error names the flag.
func (o *Options) Validate() error {
	switch {
	case o.To == "":
		return fmt.Errorf("--to is required: the local directory to copy into")
	case o.target == "":
		return fmt.Errorf("name a run, or pod/NAME")
	case o.isPod && o.Path == "":
		return fmt.Errorf("--path is required with pod/%s: the file or directory to copy", o.target)
	case !o.isPod && o.Path != "":
		return fmt.Errorf("--path goes with pod/NAME; for run %q the report directory is copied", o.target)
	case !o.isPod && o.Container != "":
		return fmt.Errorf("-c goes with pod/NAME; a run's reports are read from its report volume")
	}
	if err := o.PrintFlags.Validate(); err != nil {
		return err
	}
	if err := o.Progress.Validate(); err != nil {
		return err
	}
	if err := cmdkit.ValidateLimits(o.Limits); err != nil {
		return err
	}
	return cmdkit.CheckDestination("--to", o.To)
}

// Run copies the files.
func (o *Options) Run(ctx context.Context) error {
	client, namespace := o.clients.Client, o.clients.Namespace
	f := &reports.Fetch{
		Client:   client,
		Exec:     o.exec,
		Progress: o.Progress.Progress(o.ErrOut),
		Fetcher:  &enginefetch.Fetcher{Client: client, Exec: o.exec, HelperImage: o.HelperImage, Limits: o.Limits},
	}
	var reports *outcome.Reports
	var err error
	if o.isPod {
		reports, err = f.Pod(ctx, namespace, o.target, o.Container, o.Path, o.To)
	} else {
		var r cluster.Run
		if r, err = o.clients.ResolveRun(ctx, o.target, f.Progress.Printf); err != nil {
			return err
		}
		if len(r.Shards) > 0 {
			reports, err = o.shards(ctx, f, r)
		} else {
			reports, err = f.Run(ctx, namespace, r.Name(), o.To, o.Release)
		}
	}
	if o.PrintFlags.Output != "" && reports != nil {
		if perr := cmdkit.PrintDocument(o.Out, o.PrintFlags.Output, reports); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		// Files that did not come home whole, like a run's lost reports, and an API error: 125 (docs/exit-codes.md).
		return exitcode.New(exitcode.CannotRun, err)
	}
	return nil
}

// shards copies the reports of every shard of the sharded run r into ShardDir(o.To, i), then merges their
// JUnit reports into o.To, as run does; a shard that cannot be fetched does not stop the others.
func (o *Options) shards(ctx context.Context, f *reports.Fetch, r cluster.Run) (*outcome.Reports, error) {
	n := len(r.Shards)
	got := make([]*outcome.Reports, n)
	var errs []error
	for i, pod := range r.Shards {
		label := runner.ShardLabel(i, n)
		if pod == nil {
			errs = append(errs, fmt.Errorf("%s of run %q has no pod yet: wait for it with kubectl testrun wait %s", label, r.Name(), r.Name()))
			continue
		}
		rep, err := f.FromPod(ctx, pod, r.Name(), runner.ShardDir(o.To, i), o.Release)
		got[i] = rep
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", label, err))
		}
	}
	merged := runner.MergeShardReports(o.To, got, f.Progress)
	if merged.Error != "" && len(errs) == 0 {
		errs = append(errs, errors.New(merged.Error))
	}
	return merged, errors.Join(errs...)
}
