// Package run implements `kubectl testrun run`: the CLI wiring over the engine in internal/runner.
package run

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/balance"
	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/flow"
	"github.com/kubectl-testrun/kubectl-testrun/internal/plan"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runwatch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/extract"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/upload"
	"github.com/kubectl-testrun/kubectl-testrun/plugins"
)

var (
	long = templates.LongDesc(`
		Run a test suite as a Job in the cluster and follow it to its end.

		The test's output is streamed live to stdout. The command exits with the test's own exit code; 124 when
		it timed out, 125 when it could not be run (bad input, missing permission, image pull error,
		unschedulable, missing Secret or ConfigMap) or when it passed but its --reports did not all come home
		whole, 126 when its container could not start, 127 when its
		command was not found, 130/143 when interrupted. When the test fails or cannot run, stderr tells the
		story in a few lines (the reason, the warning events, the failed tests, where the rest is) and the full
		diagnostics (describe output of the Job and pod with their events) are saved in a file: next to the
		reports with --reports, else in $TMPDIR; --diagnostics=full (or -v=1) prints them on stderr too. The
		last line on stderr is the verdict (passed, or failed with the exit code). The Job and its pod are
		deleted at the end, also on Ctrl-C, unless --keep is given.

		Everything after -- is the command, which replaces the image's entrypoint (with a definition, its
		args: see below). The run name is the given
		NAME with a random suffix; every object carries the labels app.kubernetes.io/managed-by=kubectl-testrun
		and testrun.dev/name=<run name>.

		A test definition names the image, command, args, env, config, reports, resources, timeout and labels
		of a suite once (docs/definitions.md): -f FILE reads one, --definition NAME finds one in ./.testrun/ or
		among the shipped plugins, --plugin NAME takes a shipped plugin (list them with kubectl testrun
		plugins). Flags override the definition; the words after -- replace its args, not its command; NAME
		defaults to the definition's name. --selector runs every definition whose labels match, in parallel,
		and exits with the code of the first run that failed.

		A test flow (kind: TestFlow, docs/flows.md), given with -f FILE or found by --flow NAME in ./.testrun/,
		runs its steps, each a run of a definition, as soon as the steps they depend on passed, then its onExit
		steps; --timeout bounds the whole flow and --max-parallel the runs going at once. Its lines are prefixed
		with their step, a table of the steps ends it, and it exits with the code of the first step that did
		not pass. A Gardener TestMachinery Testrun given with -f runs the same way, its TestDefinitions read from
		the .test-defs/ directory of its local locations (docs/testmachinery.md).

		Configuration from --config and ./.testrun/config.yaml reaches every run; the test also gets
		TESTRUN_GIT_SHA and TESTRUN_GIT_REF when the CI's variables give them (GitHub Actions, GitLab CI,
		Azure Pipelines, Jenkins).

		--upload LOCAL[:POD_PATH] places a local directory or file in the test container before its test starts
		(at /testrun/upload/<name> without a POD_PATH), so a suite can run from a stock image: an init container of
		the helper image receives it from the client, unpacks it and checks every file's sha256, and the test
		starts only when all arrived whole. Symlinks pointing outside the directory, special files and more than
		--upload-max-bytes or --upload-max-files are refused before anything is created.

		With -o json or -o yaml, stdout holds only the result document and the test's output goes to stderr.`)

	example = templates.Examples(`
		# Run a test image's own entrypoint and exit with its exit code
		kubectl testrun run smoke --image registry.example/app-tests:1.2

		# Run a command in a namespace, with a timeout and environment
		kubectl testrun run smoke -n ci --image registry.example/app-tests:1.2 --timeout 20m --env SUITE=fast -- npm test

		# Take configuration from a Secret and keep the Job for inspection
		kubectl testrun run api --image app-tests:1.2 --env-from secret/api-test-creds --keep

		# Run pytest from the shipped plugin on your image, on the tests in tests/api, and copy the reports
		kubectl testrun run --plugin pytest --image app-tests:1.2 --reports ./out -- tests/api

		# Run the definition e2e-api of ./.testrun/, or one from a file, with a value for its configuration
		kubectl testrun run --definition e2e-api --config API_URL=http://api.staging
		kubectl testrun run -f suites/e2e-api.yaml

		# Run every definition labelled suite=smoke in parallel
		kubectl testrun run --selector suite=smoke

		# Run a test flow, each step's reports under ./out/<step>/ and one merged ./out/junit.xml
		kubectl testrun run -f integration-flow.yaml --reports ./out --timeout 1h

		# On a cluster that adds nodes on demand, let the autoscaler make room for up to 10 minutes
		kubectl testrun run smoke --image app-tests:1.2 --schedule-timeout 10m

		# Run a suite from a stock image: its directory is placed in the pod before the test starts
		kubectl testrun run smoke --image busybox:1.37 --upload ./suite:/work --reports ./out -- sh /work/run.sh

		# Print the Job without creating it
		kubectl testrun run smoke --image app-tests:1.2 --dry-run=client -o yaml

		# Print a result document for a script
		kubectl testrun run smoke --image app-tests:1.2 -o json`)
)

// Options holds the flags and the clients of the run command.
type Options struct {
	Image           string
	WorkingDir      string
	Env             []string
	EnvFrom         []string
	Timeout         time.Duration
	ScheduleTimeout time.Duration
	Hold            time.Duration
	GracePeriod     time.Duration
	ImagePullPolicy string
	ServiceAccount  string
	Requests        string
	Limits          string
	NodeSelector    []string
	Tolerations     []string
	Labels          []string
	Keep            bool
	PrintFlags      *cmdkit.PrintFlags
	Progress        cmdkit.ProgressFlags
	ProgressEvery   cmdkit.ProgressEveryFlag
	DumpSelector    string
	Diagnostics     string
	HelperImage     string
	ReportDirs      []string
	Reports         string
	Restricted      bool
	Detach          bool
	CopyLimits      extract.Limits
	// Uploads are --upload LOCAL[:POD_PATH] values; UploadLimits caps what they may send.
	Uploads      []string
	UploadLimits upload.Limits
	// Overrides is a patch of the pod template (--overrides), of the type OverrideType.
	Overrides    string
	OverrideType string
	// Shards splits the run over this many pods (--shards).
	Shards int
	// FailFast stops the other shards of a sharded run when one fails.
	FailFast bool
	// BalanceFrom is a JUnit report (or a directory of them) of an earlier run, whose durations split the
	// tests over the shards (--balance-from).
	BalanceFrom string

	// Filename, Definition, Plugin and Selector choose the definitions to run; at most one may be given.
	Filename   string
	Definition string
	Plugin     string
	Selector   string
	// Config are --config NAME=VALUE entries (type env) for every run.
	Config []string
	// Flow runs the test flow of this name from .testrun/ (-f runs a flow file too).
	Flow string
	// MaxParallel bounds the runs of a flow, or the shards of a sharded run, going at once; 0 means no bound.
	MaxParallel int

	// DefinitionsDir is the repository's definitions directory, relative to the working directory.
	DefinitionsDir string
	// Plugins holds the shipped definitions.
	Plugins fs.FS
	// Getenv reads the client's environment, for the CI's git variables.
	Getenv func(string) string

	factory *cmdkit.Factory
	dryRun  cmdutil.DryRunStrategy
	runs    []plan.Run
	// balance says the split --balance-from made, one line per shard.
	balance []string
	client  kubernetes.Interface
	config  *rest.Config
	api     *runwatch.APIHealth
	flags   plan.Flags
	flow    *flowState

	genericiooptions.IOStreams
}

// NewOptions returns the defaults: the only place they are set.
func NewOptions(f *cmdkit.Factory, streams genericiooptions.IOStreams) *Options {
	return &Options{
		factory:        f,
		Timeout:        runspec.DefaultTimeout,
		Hold:           runspec.DefaultHold,
		GracePeriod:    runspec.DefaultGrace,
		PrintFlags:     cmdkit.NewPrintFlags("json", "yaml"),
		Progress:       cmdkit.ProgressFlags{Color: "auto"},
		Diagnostics:    cmdkit.DiagnosticsSummary,
		HelperImage:    runspec.DefaultHelperImage,
		ReportDirs:     []string{runspec.DefaultReportDir},
		CopyLimits:     extract.DefaultLimits(),
		UploadLimits:   upload.DefaultLimits(),
		OverrideType:   string(runspec.PatchStrategic),
		DefinitionsDir: definition.LocalDir,
		Plugins:        plugins.FS,
		Getenv:         os.Getenv,
		IOStreams:      streams,
	}
}

// NewCmdRun returns the run command.
func NewCmdRun(f *cmdkit.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(f, streams)
	cmd := &cobra.Command{
		Use:                   "run [NAME] (--image IMAGE | -f FILE | --definition NAME | --plugin NAME | --selector LABELS) [flags] [-- COMMAND [ARG...]]",
		DisableFlagsInUseLine: true,
		Short:                 "Run a test as a Job, stream its logs and exit with its exit code",
		Long:                  long,
		Example:               example,
		RunE:                  cmdkit.RunE(o),
	}
	o.AddFlags(cmd)
	return cmd
}

// AddFlags binds the flags to o.
func (o *Options) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Image, "image", o.Image, "The test image (required unless a definition names one). Give an explicit tag or digest.")
	f.StringVar(&o.WorkingDir, "workdir", o.WorkingDir, "The absolute directory the test starts in, instead of the image's WORKDIR.")
	f.StringArrayVarP(&o.Env, "env", "e", o.Env, "An environment variable NAME=VALUE for the test; repeatable.")
	f.StringArrayVar(&o.EnvFrom, "env-from", o.EnvFrom, "Take every key of secret/NAME or configmap/NAME as environment variables; repeatable.")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long the test may run before it is stopped and the command exits 124.")
	cmdkit.AddScheduleTimeoutFlag(f, &o.ScheduleTimeout)
	f.DurationVar(&o.Hold, "hold", o.Hold, "How long the pod waits, after the test ended, for its reports to be fetched when nobody releases it (a detached or abandoned run).")
	f.DurationVar(&o.GracePeriod, "grace-period", o.GracePeriod, "How long the test may run its own cleanup after SIGTERM when the run is interrupted (Ctrl-C, SIGTERM, SIGHUP, a closed output) or times out; then it is killed and the run deleted.")
	f.StringVar(&o.ImagePullPolicy, "image-pull-policy", o.ImagePullPolicy, "The test image's pull policy: Always, IfNotPresent or Never; empty for the cluster's default.")
	f.StringVar(&o.ServiceAccount, "service-account", o.ServiceAccount, "The service account the test runs as.")
	f.StringVar(&o.Requests, "requests", o.Requests, "Resource requests of the test container, e.g. cpu=500m,memory=256Mi.")
	f.StringVar(&o.Limits, "limits", o.Limits, "Resource limits of the test container, e.g. cpu=1,memory=1Gi.")
	f.StringArrayVar(&o.NodeSelector, "node-selector", o.NodeSelector, "A node label KEY=VALUE the test pod must run on; repeatable.")
	f.StringArrayVar(&o.Tolerations, "toleration", o.Tolerations, "Let the test pod run on nodes with this taint, written as kubectl taint writes it: KEY=VALUE:EFFECT, KEY:EFFECT (any value) or KEY (every effect); repeatable.")
	f.StringArrayVar(&o.Labels, "label", o.Labels, "A label KEY=VALUE for the Job and its pod, over the definition's labels; repeatable.")
	f.BoolVar(&o.Keep, "keep", o.Keep, "Keep the Job and its pod after the run, for inspection.")
	o.PrintFlags.AddFlags(cmd, "Print a result document: json or yaml (with --dry-run, the Job).")
	o.Progress.AddFlags(cmd, "Print no progress; failures and their diagnostics are still printed.")
	o.ProgressEvery.AddFlag(f)
	f.StringVar(&o.DumpSelector, "dump-selector", o.DumpSelector, "On failure, also describe and show the logs of the pods this label selector matches (the system under test), in the diagnostics file.")
	cmdkit.AddDiagnosticsFlag(cmd, &o.Diagnostics)
	f.StringVar(&o.HelperImage, "helper-image", o.HelperImage, "The image of the holder container (needs sh, sleep and touch) and, with --reports, of the fetch container (needs sh, sleep, tar, find and sha256sum) and, with --upload, of the upload init container (needs sh, tar and sha256sum), for clusters that cannot pull the default.")
	f.StringArrayVar(&o.ReportDirs, "report-dir", o.ReportDirs, "Where the test writes its reports in its container; exported to it as $TESTRUN_REPORT_DIR. Repeat it for more directories (e.g. a coverage directory): each then comes home under its own path.")
	f.StringVar(&o.Reports, "reports", o.Reports, "Copy the report directory into this local directory when the test ended (it must be empty or new), verify it, and summarise its JUnit files; a failed run also leaves its diagnostics there (testrun-diagnostics.txt) instead of in $TMPDIR.")
	f.StringArrayVar(&o.Uploads, "upload", o.Uploads, "Place a local directory (its content) or file in the test container at POD_PATH before the test starts, as LOCAL[:POD_PATH]; POD_PATH defaults to "+runspec.DefaultUploadDir+"/<base name of LOCAL>. Copied byte for byte and verified, by the helper image, so the test image needs no shell; repeatable; not with --detach.")
	f.Int64Var(&o.UploadLimits.MaxBytes, "upload-max-bytes", o.UploadLimits.MaxBytes, "The most bytes of files --upload may send.")
	f.IntVar(&o.UploadLimits.MaxFiles, "upload-max-files", o.UploadLimits.MaxFiles, "The most files, directories and symlinks --upload may send.")
	f.BoolVar(&o.Detach, "detach", o.Detach, "Create the run and return at once, printing its name as the last line of stdout (or the result document with -o); follow it later with logs, wait and fetch.")
	f.BoolVar(&o.Restricted, "restricted", o.Restricted, "Run the test container the way PodSecurity 'restricted' requires: non-root (the image must set a numeric user), no privilege escalation, all capabilities dropped.")
	f.StringVarP(&o.Filename, "filename", "f", o.Filename, "Run the test definition, or the batch/v1 Job manifest, in this file (- for stdin).")
	f.StringVar(&o.Definition, "definition", o.Definition, "Run the test definition of this name, from ./.testrun/ or else the shipped plugins.")
	f.StringVar(&o.Plugin, "plugin", o.Plugin, "Run the shipped plugin of this name (go-test, pytest, jest, ginkgo, shell); give the image with --image.")
	cmdkit.AddSelectorFlag(f, &o.Selector, "Run every definition whose labels match this selector (e.g. suite=smoke), in parallel; exit with the first failing run's code. The labels are put on the runs, so logs -l and list -l find them.")
	f.StringVar(&o.Flow, "flow", o.Flow, "Run the test flow (kind: TestFlow) of this name from ./.testrun/: its steps as runs, each when the steps it depends on passed, then its onExit steps (docs/flows.md). -f runs a flow file too.")
	f.IntVar(&o.MaxParallel, "max-parallel", o.MaxParallel, "With a flow, how many of its runs may go at once; with --shards, how many shards run at once; 0 for no bound.")
	f.StringArrayVar(&o.Config, "config", o.Config, "A configuration entry NAME=VALUE, an environment variable that a definition's own entry of the same name overrides; repeatable.")
	f.StringVar(&o.Overrides, "overrides", o.Overrides, "A patch of the pod template, in JSON or YAML, applied after everything else, for what no flag sets (e.g. '{\"spec\":{\"hostNetwork\":true}}'); the test container, the holder and shareProcessNamespace must stay (docs/overrides.md).")
	f.StringVar(&o.OverrideType, "override-type", o.OverrideType, "How --overrides applies: strategic (lists of containers, volumes and env merge by name), merge (RFC 7396: a list replaces the whole list) or json (RFC 6902 operations).")
	f.IntVar(&o.Shards, "shards", o.Shards, "Split the suite over this many pods of one Indexed Job, each told its shard (TESTRUN_SHARD_INDEX, TESTRUN_SHARD_COUNT); a definition's own shards when not given (docs/sharding.md).")
	f.BoolVar(&o.FailFast, "fail-fast", o.FailFast, "With --shards, stop the other shards as soon as one fails; the command exits with the failed shard's code.")
	f.StringVar(&o.BalanceFrom, "balance-from", o.BalanceFrom, "With --shards, split the tests by the durations in this JUnit report (or directory of reports) of an earlier run, so that the shards finish close together; the split is printed before the run.")
	cmdkit.AddLimitFlags(f, &o.CopyLimits)
	cmdutil.AddDryRunFlag(cmd)
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("image-pull-policy", cobra.FixedCompletions([]string{"Always", "IfNotPresent", "Never"}, cobra.ShellCompDirectiveNoFileComp)))
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("override-type", cobra.FixedCompletions([]string{"strategic", "merge", "json"}, cobra.ShellCompDirectiveNoFileComp)))
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("filename", cobra.FixedCompletions([]string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt)))
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("definition", o.completeDefinitions(false)))
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("plugin", o.completeDefinitions(true)))
}

// Complete reads the definitions to run, turns them and the flags into one Spec per run, and builds the
// clients.
func (o *Options) Complete(cmd *cobra.Command, args []string) error {
	var err error
	if o.dryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	dash := cmd.ArgsLenAtDash()
	names, command := args, []string(nil)
	if dash >= 0 {
		names, command = args[:dash], args[dash:]
	}
	if len(names) > 1 {
		return exitcode.Errorf(exitcode.CannotRun, "want exactly one NAME before --, got %d (%s): put the test's command after --", len(names), strings.Join(names, " "))
	}
	if err := o.parseFlags(cmd, command); err != nil {
		return err
	}
	var data []byte
	if o.Filename != "" {
		if data, err = o.readFile(o.Filename); err != nil {
			return exitcode.New(exitcode.CannotRun, err)
		}
	}
	isFlow, isTestrun := o.Flow != "", false
	if data != nil {
		apiVersion, kind, _ := definition.Kind(o.Filename, data)
		isTestrun = definition.IsTestMachinery(apiVersion)
		isFlow = kind == definition.KindFlow && !isTestrun
	}
	// Only --definition, --selector and flows read every definition of .testrun/; any run reads its config.yaml.
	catalog, err := o.catalog(o.Definition != "" || o.Selector != "" || isFlow)
	if err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	namespace, err := o.factory.Namespace()
	if err != nil {
		return err
	}
	if isFlow || isTestrun {
		var p *flow.Plan
		if isTestrun {
			p, err = o.readTestrun(data)
		} else {
			var f *definition.Flow
			if f, err = o.readFlow(catalog, data); err == nil {
				p, err = resolveFlow(f, catalog)
			}
		}
		if err == nil {
			err = o.completeFlow(p, names, command, namespace, cmd.Flags().Changed("timeout"))
		}
		if err != nil {
			return exitcode.New(exitcode.CannotRun, err)
		}
		return o.completeClients()
	}
	defs, err := o.definitions(catalog, data)
	if err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	if len(defs) == 0 {
		if len(names) == 0 {
			return exitcode.Errorf(exitcode.CannotRun, "the run name is missing: give it as NAME, the first argument of run, or run a definition with -f, --definition, --plugin or --selector")
		}
		if err := runspec.ValidateRunName(names[0]); err != nil {
			return exitcode.New(exitcode.CannotRun, err)
		}
		o.runs = []plan.Run{o.plan(nil, names[0], namespace, catalog.GlobalConfig(), o.Reports)}
	}
	if len(names) == 1 && o.Selector != "" {
		return exitcode.Errorf(exitcode.CannotRun, "--selector %q runs each definition under its own name: remove NAME (%s)", o.Selector, names[0])
	}
	for _, d := range defs {
		base, reports := d.Metadata.Name, o.Reports
		if len(names) == 1 {
			if err := runspec.ValidateRunName(names[0]); err != nil {
				return exitcode.New(exitcode.CannotRun, err)
			}
			base = names[0]
		}
		if o.Selector != "" && reports != "" {
			// However many match, each run's reports have a directory of their own.
			reports = filepath.Join(reports, d.Metadata.Name)
		}
		ns, err := o.jobNamespace(d, namespace)
		if err != nil {
			return exitcode.New(exitcode.CannotRun, err)
		}
		o.runs = append(o.runs, o.plan(d, base, ns, catalog.GlobalConfig(), reports))
	}
	if err := o.balanceShards(); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	return o.completeClients()
}

// completeClients builds the clients, which a client dry run does not need.
func (o *Options) completeClients() error {
	if o.dryRun == cmdutil.DryRunClient {
		return nil
	}
	clients, err := o.factory.Clients()
	if err != nil {
		return err
	}
	o.client, o.config, o.api = clients.Client, clients.Config, clients.API
	return nil
}

// jobNamespace returns the namespace of the run of d: a Job manifest's own namespace, unless -n names
// another, which is an error as with kubectl apply; namespace otherwise.
func (o *Options) jobNamespace(d *definition.Definition, namespace string) (string, error) {
	if d.Namespace == "" {
		return namespace, nil
	}
	if flag := o.factory.ConfigFlags.Namespace; flag != nil && *flag != "" && *flag != d.Namespace {
		return "", fmt.Errorf("the Job manifest %q is in namespace %q, -n says %q: pass -n %s, or remove metadata.namespace from the manifest", d.Source.File, d.Namespace, *flag, d.Namespace)
	}
	return d.Namespace, nil
}

// parseFlags turns the flags into the planner's input, once for every run: lists and quantities parsed,
// and the values a definition may also set given only when the user set them.
func (o *Options) parseFlags(cmd *cobra.Command, command []string) error {
	changed := cmd.Flags().Changed
	f := plan.Flags{
		Command:         command,
		ImagePullPolicy: corev1.PullPolicy(o.ImagePullPolicy),
		ServiceAccount:  o.ServiceAccount,
		Hold:            o.Hold,
		Grace:           o.GracePeriod,
		HelperImage:     o.HelperImage,
		Restricted:      o.Restricted,
		MaxParallel:     o.MaxParallel,
	}
	if changed("shards") {
		f.Shards = &o.Shards
	}
	if changed("image") || o.Image != "" {
		f.Image = &o.Image
	}
	if changed("workdir") || o.WorkingDir != "" {
		f.WorkingDir = &o.WorkingDir
	}
	if changed("timeout") {
		f.Timeout = &o.Timeout
	}
	if changed("report-dir") {
		f.ReportDirs = o.ReportDirs
	}
	var err error
	if f.Env, err = plan.Env(o.Env); err != nil {
		return err
	}
	if f.EnvFrom, err = plan.EnvFrom(o.EnvFrom); err != nil {
		return err
	}
	if f.Config, err = plan.Config(o.Config); err != nil {
		return err
	}
	if f.Requests, err = plan.ResourceList("--requests", o.Requests); err != nil {
		return err
	}
	if f.Limits, err = plan.ResourceList("--limits", o.Limits); err != nil {
		return err
	}
	if f.NodeSelector, err = plan.KeyValues("--node-selector", o.NodeSelector); err != nil {
		return err
	}
	if f.Labels, err = plan.KeyValues("--label", o.Labels); err != nil {
		return err
	}
	if f.Tolerations, err = plan.Tolerations(o.Tolerations); err != nil {
		return err
	}
	if !slices.Contains(runspec.PatchTypes, runspec.PatchType(o.OverrideType)) {
		return fmt.Errorf("--override-type %q is not supported: use strategic, merge or json", o.OverrideType)
	}
	if f.Uploads, err = plan.Uploads(o.Uploads); err != nil {
		return err
	}
	if o.Overrides != "" {
		p, err := runspec.ParsePodPatch("--overrides", runspec.PatchType(o.OverrideType), []byte(o.Overrides))
		if err != nil {
			return err
		}
		f.PodPatches = []runspec.PodPatch{p}
	}
	o.flags = f
	return nil
}

// plan returns the run of def (nil for a plain run) named after base.
func (o *Options) plan(def *definition.Definition, base, namespace string, global []definition.Config, reports string) plan.Run {
	return plan.Plan(plan.Input{Definition: def, Name: runspec.NewRunName(base), Namespace: namespace,
		Global: global, Reports: reports, Flags: o.flags, Getenv: o.Getenv})
}

// Validate checks the flags and the runs they make without talking to the cluster; each error names the
// flag to fix.
func (o *Options) Validate() error {
	if err := o.PrintFlags.Validate(); err != nil {
		return err
	}
	if err := o.Progress.Validate(); err != nil {
		return err
	}
	if err := o.ProgressEvery.Validate(o.Progress.Quiet); err != nil {
		return err
	}
	if err := cmdkit.ValidateDiagnostics(o.Diagnostics); err != nil {
		return err
	}
	switch corev1.PullPolicy(o.ImagePullPolicy) {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return fmt.Errorf("--image-pull-policy %q is not supported: use Always, IfNotPresent or Never", o.ImagePullPolicy)
	}
	if o.MaxParallel < 0 {
		return fmt.Errorf("--max-parallel %d is negative: give how many runs may go at once, or 0 for no bound", o.MaxParallel)
	}
	if o.flow != nil && o.Detach {
		return fmt.Errorf("--detach does not apply to a flow: its client starts each step when the steps it depends on passed, so it must follow them")
	}
	if o.Detach && (o.Reports != "" || o.Keep) {
		return fmt.Errorf("--detach does not follow the run, so --reports and --keep do not apply: fetch the reports later with kubectl testrun fetch")
	}
	if o.Detach && len(o.Uploads) > 0 {
		return fmt.Errorf("--upload needs the client until its files are in the pod, which --detach does not wait for: remove --detach (or --upload, and build the files into the image)")
	}
	switch {
	case o.UploadLimits.MaxBytes <= 0:
		return fmt.Errorf("--upload-max-bytes %d is not positive: give the most bytes --upload may send (the default is %d)", o.UploadLimits.MaxBytes, upload.DefaultLimits().MaxBytes)
	case o.UploadLimits.MaxFiles <= 0:
		return fmt.Errorf("--upload-max-files %d is not positive: give the most files --upload may send (the default is %d)", o.UploadLimits.MaxFiles, upload.DefaultLimits().MaxFiles)
	}
	if o.DumpSelector != "" {
		if _, err := labels.Parse(o.DumpSelector); err != nil {
			return fmt.Errorf("--dump-selector %q is not a label selector (e.g. app=api): %w", o.DumpSelector, err)
		}
	}
	if err := cmdkit.ValidateLimits(o.CopyLimits); err != nil {
		return err
	}
	if err := cmdkit.ValidateScheduleTimeout(o.ScheduleTimeout); err != nil {
		return err
	}
	var errs []error
	for _, r := range o.runs {
		if r.CannotSplit {
			errs = append(errs, fmt.Errorf("definition %q does not say how its framework splits a suite (spec.sharding), so each of the --shards %d pods would run all of it: add spec.sharding to the definition (docs/sharding.md), or remove --shards", r.Definition, r.Spec.Shards))
			continue
		}
		err := r.Spec.Validate()
		if err == nil {
			continue
		}
		switch {
		case o.flow != nil:
			err = fmt.Errorf("step %q: %w", r.Definition, err)
			if r.Spec.Image == "" {
				err = fmt.Errorf("step %q names no image, nor does its definition: give the step an image (spec.steps[].image), or pass --image for every step", r.Definition)
			}
		case r.Definition != "":
			if r.Spec.Image == "" {
				err = fmt.Errorf("definition %q names no image: pass the test image with --image", r.Definition)
				if r.Requires != "" {
					err = fmt.Errorf("%w; the image needs %s", err, r.Requires)
				}
			} else {
				err = fmt.Errorf("definition %q: %w", r.Definition, err)
			}
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if len(o.runs) > 0 && len(o.runs[0].Spec.Uploads) > 0 {
		// Every run uploads the same files: read them once, before anything is created.
		if _, err := upload.Scan(o.runs[0].Spec.UploadItems(), o.UploadLimits); err != nil {
			return err
		}
	}
	if err := o.validateShards(); err != nil {
		return err
	}
	return cmdkit.CheckDestination("--reports", o.Reports)
}

// validateShards checks what sharding allows: one sharded run at a time, and --fail-fast only for shards.
func (o *Options) validateShards() error {
	sharded := slices.ContainsFunc(o.runs, func(r plan.Run) bool { return r.Spec.Sharded() })
	switch {
	case sharded && len(o.runs) > 1:
		return fmt.Errorf("--selector %q chose %d runs, and a sharded run is run alone: shard them one at a time (--definition NAME --shards N), or remove --shards", o.Selector, len(o.runs))
	case o.FailFast && !sharded:
		return fmt.Errorf("--fail-fast stops the other shards of a sharded run: add --shards N (2 or more), or remove --fail-fast")
	case o.BalanceFrom != "" && !sharded:
		return fmt.Errorf("--balance-from %q splits the tests of a sharded run: add --shards N (2 or more), or remove --balance-from", o.BalanceFrom)
	}
	return nil
}

// balanceShards splits the tests of each sharded run by the durations in --balance-from.
func (o *Options) balanceShards() error {
	if o.BalanceFrom == "" || !slices.ContainsFunc(o.runs, func(r plan.Run) bool { return r.Spec.Sharded() }) {
		return nil // Validate says what is wrong
	}
	dir, files := o.BalanceFrom, []string(nil)
	info, err := os.Stat(o.BalanceFrom)
	switch {
	case err != nil:
		return fmt.Errorf("--balance-from %q: %w: give the JUnit report of an earlier run", o.BalanceFrom, err)
	case info.IsDir():
		if files, err = junit.Find(dir); err != nil {
			return fmt.Errorf("--balance-from: %w", err)
		}
		if len(files) == 0 {
			return fmt.Errorf("--balance-from %q holds no JUnit report: give the report of an earlier run, e.g. its --reports directory's junit.xml", o.BalanceFrom)
		}
	default:
		dir, files = filepath.Dir(o.BalanceFrom), []string{filepath.Base(o.BalanceFrom)}
	}
	times, err := junit.Durations(dir, files)
	if err != nil {
		return fmt.Errorf("--balance-from: %w", err)
	}
	if len(times) == 0 {
		return fmt.Errorf("--balance-from %q holds no test case: give the JUnit report of an earlier run of the suite", o.BalanceFrom)
	}
	for i, r := range o.runs {
		if !r.Spec.Sharded() {
			continue
		}
		split := balance.Split(times, r.Spec.ShardCount())
		o.runs[i].Spec.ShardTests = split.Names()
		o.balance = split.Lines()
	}
	return nil
}
