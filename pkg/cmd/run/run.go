// Package run implements `kubectl testrun run`: the CLI wiring over the engine in internal/runner.
package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runner"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runwatch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/extract"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/input"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
	"github.com/kubectl-testrun/kubectl-testrun/plugins"
)

var (
	long = templates.LongDesc(`
		Run a test suite as a Job in the cluster and follow it to its end.

		The test's output is streamed live to stdout. The command exits with the test's own exit code; 124 when
		it timed out, 125 when it could not be run (bad input, missing permission, image pull error,
		unschedulable, missing Secret or ConfigMap) or when it passed but its --reports did not all come home
		whole, 126 when its container could not start, 127 when its
		command was not found, 130/143 when interrupted. When the test fails or cannot run, stderr shows the
		describe output of the Job and pod with their events. The Job and its pod are deleted at the end,
		also on Ctrl-C, unless --keep is given.

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

		Configuration from --config and ./.testrun/config.yaml reaches every run; the test also gets
		TESTRUN_GIT_SHA and TESTRUN_GIT_REF when the CI's variables give them (GitHub Actions, GitLab CI,
		Azure Pipelines, Jenkins).

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

		# On a cluster that adds nodes on demand, let the autoscaler make room for up to 10 minutes
		kubectl testrun run smoke --image app-tests:1.2 --schedule-timeout 10m

		# Print the Job without creating it
		kubectl testrun run smoke --image app-tests:1.2 --dry-run=client -o yaml

		# Print a result document for a script
		kubectl testrun run smoke --image app-tests:1.2 -o json`)
)

// gitVariables are the CI variables the commit and ref of a run are read from, in order: GitHub Actions,
// GitLab CI, Azure Pipelines, Jenkins.
var gitVariables = []struct{ sha, ref string }{
	{"GITHUB_SHA", "GITHUB_REF"},
	{"CI_COMMIT_SHA", "CI_COMMIT_REF_NAME"},
	{"BUILD_SOURCEVERSION", "BUILD_SOURCEBRANCH"},
	{"GIT_COMMIT", "GIT_BRANCH"},
}

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
	Output          string
	Color           string
	Quiet           bool
	DumpSelector    string
	HelperImage     string
	ReportDirs      []string
	Reports         string
	Restricted      bool
	Detach          bool
	CopyLimits      extract.Limits

	// Filename, Definition, Plugin and Selector choose the definitions to run; at most one may be given.
	Filename   string
	Definition string
	Plugin     string
	Selector   string
	// Config are --config NAME=VALUE entries (type env) for every run.
	Config []string

	// DefinitionsDir is the repository's definitions directory, relative to the working directory.
	DefinitionsDir string
	// Plugins holds the shipped definitions.
	Plugins fs.FS
	// Getenv reads the client's environment, for the CI's git variables.
	Getenv func(string) string

	factory *cmdkit.Factory
	dryRun  cmdutil.DryRunStrategy
	runs    []plannedRun
	client  kubernetes.Interface
	config  *rest.Config
	api     *runwatch.APIHealth
	noColor bool
	flags   parsedFlags

	genericiooptions.IOStreams
}

// plannedRun is one run the command starts: its Spec and where its reports go.
type plannedRun struct {
	// definition is the name of the definition the run comes from, "" for a plain run; it prefixes the
	// run's output when several runs share the terminal.
	definition string
	// requires says what the definition's image must contain.
	requires string
	spec     runspec.Spec
	reports  string
}

// parsedFlags holds the list and quantity flags, parsed once for every run.
type parsedFlags struct {
	env          []corev1.EnvVar
	envFrom      []corev1.EnvFromSource
	requests     corev1.ResourceList
	limits       corev1.ResourceList
	nodeSelector map[string]string
	tolerations  []corev1.Toleration
	labels       map[string]string
	config       []definition.Config
}

// NewOptions returns the defaults: the only place they are set.
func NewOptions(f *cmdkit.Factory, streams genericiooptions.IOStreams) *Options {
	return &Options{
		factory:        f,
		Timeout:        runspec.DefaultTimeout,
		Hold:           runspec.DefaultHold,
		GracePeriod:    runspec.DefaultGrace,
		Color:          "auto",
		HelperImage:    runspec.DefaultHelperImage,
		ReportDirs:     []string{runspec.DefaultReportDir},
		CopyLimits:     extract.DefaultLimits(),
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
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return exitcode.New(exitcode.CannotRun, err)
			}
			return o.Run(cmd)
		},
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
	f.StringArrayVarP(&o.Labels, "label", "l", o.Labels, "A label KEY=VALUE for the Job and its pod; repeatable.")
	f.BoolVar(&o.Keep, "keep", o.Keep, "Keep the Job and its pod after the run, for inspection.")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Print a result document: json or yaml (with --dry-run, the Job).")
	f.StringVar(&o.Color, "color", o.Color, "Colour the plugin's messages: auto (on a terminal without NO_COLOR), always or never.")
	f.BoolVarP(&o.Quiet, "quiet", "q", o.Quiet, "Print no progress; failures and their diagnostics are still printed.")
	f.StringVar(&o.DumpSelector, "dump-selector", o.DumpSelector, "On failure, also describe and show the logs of the pods this label selector matches (the system under test).")
	f.StringVar(&o.HelperImage, "helper-image", o.HelperImage, "The image of the holder container (needs sh, date, sleep and touch) and, with --reports, of the fetch container (also tar, find and sha256sum), for clusters that cannot pull the default.")
	f.StringArrayVar(&o.ReportDirs, "report-dir", o.ReportDirs, "Where the test writes its reports in its container; exported to it as $TESTRUN_REPORT_DIR. Repeat it for more directories (e.g. a coverage directory): each then comes home under its own path.")
	f.StringVar(&o.Reports, "reports", o.Reports, "Copy the report directory into this local directory when the test ended (it must be empty or new), verify it, and summarise its JUnit files; a failed run also leaves its diagnostics there (testrun-diagnostics.txt).")
	f.BoolVar(&o.Detach, "detach", o.Detach, "Create the run and return at once, printing its name as the last line of stdout (or the result document with -o); follow it later with logs, wait and fetch.")
	f.BoolVar(&o.Restricted, "restricted", o.Restricted, "Run the test container the way PodSecurity 'restricted' requires: non-root (the image must set a numeric user), no privilege escalation, all capabilities dropped.")
	f.StringVarP(&o.Filename, "filename", "f", o.Filename, "Run the test definition in this file (- for stdin).")
	f.StringVar(&o.Definition, "definition", o.Definition, "Run the test definition of this name, from ./.testrun/ or else the shipped plugins.")
	f.StringVar(&o.Plugin, "plugin", o.Plugin, "Run the shipped plugin of this name (go-test, pytest, jest, ginkgo, shell); give the image with --image.")
	f.StringVar(&o.Selector, "selector", o.Selector, "Run every definition whose labels match this selector (e.g. suite=smoke), in parallel; exit with the first failing run's code.")
	f.StringArrayVar(&o.Config, "config", o.Config, "A configuration entry NAME=VALUE, an environment variable that a definition's own entry of the same name overrides; repeatable.")
	cmdkit.AddLimitFlags(f, &o.CopyLimits)
	cmdutil.AddDryRunFlag(cmd)
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("image-pull-policy", cobra.FixedCompletions([]string{"Always", "IfNotPresent", "Never"}, cobra.ShellCompDirectiveNoFileComp)))
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("filename", cobra.FixedCompletions([]string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt)))
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("definition", o.completeDefinitions(false)))
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("plugin", o.completeDefinitions(true)))
}

// completeDefinitions completes definition names; shippedOnly for --plugin.
func (o *Options) completeDefinitions(shippedOnly bool) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		catalog, err := o.catalog(!shippedOnly)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defs := catalog.All()
		if shippedOnly {
			defs = catalog.Shipped
		}
		var names []cobra.Completion
		for _, d := range defs {
			names = append(names, cobra.CompletionWithDesc(d.Metadata.Name, d.Description()))
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
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
	if err := o.parseFlags(); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	// Only --definition and --selector read every definition of .testrun/; any run reads its config.yaml.
	catalog, err := o.catalog(o.Definition != "" || o.Selector != "")
	if err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	defs, err := o.definitions(catalog)
	if err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	namespace, err := o.factory.Namespace()
	if err != nil {
		return err
	}
	if len(defs) == 0 {
		if len(names) == 0 {
			return exitcode.Errorf(exitcode.CannotRun, "the run name is missing: give it as NAME, the first argument of run, or run a definition with -f, --definition, --plugin or --selector")
		}
		if err := runspec.ValidateRunName(names[0]); err != nil {
			return exitcode.New(exitcode.CannotRun, err)
		}
		o.runs = []plannedRun{o.plan(cmd, nil, names[0], namespace, command, catalog.GlobalConfig(), o.Reports)}
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
		o.runs = append(o.runs, o.plan(cmd, d, base, namespace, command, catalog.GlobalConfig(), reports))
	}
	switch o.Color {
	case "always":
	case "never":
		o.noColor = true
	default:
		o.noColor = !printers.AllowsColorOutput(o.ErrOut)
	}
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

// catalog reads the shipped plugins, the global configuration of the working directory's .testrun/ and,
// with all, every definition there.
func (o *Options) catalog(all bool) (*definition.Catalog, error) {
	if all {
		return definition.Discover(os.DirFS(o.DefinitionsDir), o.DefinitionsDir, o.Plugins)
	}
	return definition.DiscoverShipped(os.DirFS(o.DefinitionsDir), o.DefinitionsDir, o.Plugins)
}

// definitions returns the definitions -f, --definition, --plugin or --selector chose; none for a plain run.
func (o *Options) definitions(catalog *definition.Catalog) ([]*definition.Definition, error) {
	var given []string
	for flag, v := range map[string]string{"-f": o.Filename, "--definition": o.Definition, "--plugin": o.Plugin, "--selector": o.Selector} {
		if v != "" {
			given = append(given, flag)
		}
	}
	if len(given) > 1 {
		slices.Sort(given)
		return nil, fmt.Errorf("%s choose the definitions to run in different ways: give only one of them", strings.Join(given, " and "))
	}
	switch {
	case o.Filename != "":
		data, err := o.readFile(o.Filename)
		if err != nil {
			return nil, err
		}
		d, err := definition.ReadFile(o.Filename, data)
		if err != nil {
			return nil, err
		}
		return []*definition.Definition{d}, nil
	case o.Definition != "":
		d, err := catalog.Find(o.Definition)
		if err != nil {
			return nil, fmt.Errorf("--definition: %w", err)
		}
		return []*definition.Definition{d}, nil
	case o.Plugin != "":
		d, err := catalog.Plugin(o.Plugin)
		if err != nil {
			return nil, fmt.Errorf("--plugin: %w", err)
		}
		return []*definition.Definition{d}, nil
	case o.Selector != "":
		selector, err := labels.Parse(o.Selector)
		if err != nil {
			return nil, fmt.Errorf("--selector %q is not a label selector (e.g. suite=smoke,tier!=slow): %w", o.Selector, err)
		}
		defs := catalog.Select(selector)
		if len(defs) == 0 {
			return nil, fmt.Errorf("--selector %q matches no definition in %s/ or among the shipped plugins: list them and their labels with kubectl testrun plugins", o.Selector, o.DefinitionsDir)
		}
		return defs, nil
	}
	return nil, nil
}

// readFile reads -f FILE; "-" is stdin. Either is read within input.MaxFileBytes, so that an endless source
// (/dev/zero, a FIFO fed forever) ends in an error instead of exhausting memory.
func (o *Options) readFile(name string) ([]byte, error) {
	var tooLarge *input.TooLargeError
	if name == "-" {
		data, err := input.Read(o.In, "-", input.MaxFileBytes)
		if err != nil {
			return nil, fmt.Errorf("-f -: reading the definition from stdin: %w", err)
		}
		return data, nil
	}
	data, err := input.ReadPath(name, input.MaxFileBytes)
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("-f: %w", err)
	case err != nil:
		return nil, fmt.Errorf("-f %q: %w: give the path of a definition file", name, err)
	}
	return data, nil
}

// parseFlags parses the flags that carry lists and quantities, once for every run.
func (o *Options) parseFlags() error {
	p := &o.flags
	*p = parsedFlags{}
	for _, kv := range o.Env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return fmt.Errorf("--env %q is not NAME=VALUE", kv)
		}
		p.env = append(p.env, corev1.EnvVar{Name: name, Value: value})
	}
	for _, src := range o.EnvFrom {
		kind, name, ok := strings.Cut(src, "/")
		switch {
		case !ok || name == "":
			return fmt.Errorf("--env-from %q is not secret/NAME or configmap/NAME", src)
		case kind == "secret":
			p.envFrom = append(p.envFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
		case kind == "configmap" || kind == "cm":
			p.envFrom = append(p.envFrom, corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
		default:
			return fmt.Errorf("--env-from %q: kind %q is not secret or configmap", src, kind)
		}
	}
	for _, kv := range o.Config {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("--config %q is not NAME=VALUE", kv)
		}
		c := definition.Config{Name: name, Type: definition.ConfigEnv, Value: &value}
		if err := c.Validate(); err != nil {
			return fmt.Errorf("--config %q: %w", kv, err)
		}
		p.config = slices.DeleteFunc(p.config, func(e definition.Config) bool { return e.Name == name })
		p.config = append(p.config, c)
	}
	var err error
	if p.requests, err = resourceList("--requests", o.Requests); err != nil {
		return err
	}
	if p.limits, err = resourceList("--limits", o.Limits); err != nil {
		return err
	}
	if p.nodeSelector, err = keyValues("--node-selector", o.NodeSelector); err != nil {
		return err
	}
	if p.labels, err = keyValues("--label", o.Labels); err != nil {
		return err
	}
	if p.tolerations, err = tolerations(o.Tolerations); err != nil {
		return err
	}
	return nil
}

// plan returns the run of def (nil for a plain run) named after base: the definition's values, overridden by
// the flags given on the command line. The configuration merges global, --config and the definition's own
// entries, in increasing precedence.
func (o *Options) plan(cmd *cobra.Command, def *definition.Definition, base, namespace string, command []string, global []definition.Config, reports string) plannedRun {
	changed := cmd.Flags().Changed
	spec := runspec.Spec{
		Name:            runspec.NewRunName(base),
		Namespace:       namespace,
		Image:           o.Image,
		Command:         command,
		WorkingDir:      o.WorkingDir,
		EnvFrom:         o.flags.envFrom,
		ImagePullPolicy: corev1.PullPolicy(o.ImagePullPolicy),
		ServiceAccount:  o.ServiceAccount,
		Resources:       corev1.ResourceRequirements{Requests: o.flags.requests, Limits: o.flags.limits},
		NodeSelector:    o.flags.nodeSelector,
		Tolerations:     o.flags.tolerations,
		Labels:          o.flags.labels,
		Timeout:         o.Timeout,
		Hold:            o.Hold,
		Grace:           o.GracePeriod,
		ReportDir:       o.ReportDirs[0],
		MoreReportDirs:  o.ReportDirs[1:],
		HelperImage:     o.HelperImage,
		Restricted:      o.Restricted,
	}
	spec.GitSHA, spec.GitRef = gitFromEnv(o.Getenv)
	var env []corev1.EnvVar
	var defConfig []definition.Config
	run := plannedRun{reports: reports}
	if def != nil {
		run.definition, run.requires = def.Metadata.Name, def.Spec.Requires
		if !changed("image") {
			spec.Image = def.Spec.Image
		}
		if def.Spec.WorkingDir != "" && !changed("workdir") {
			spec.WorkingDir = def.Spec.WorkingDir
		}
		// The words after -- replace the definition's args: its command is the framework's launcher.
		spec.Command, spec.Args = def.Spec.Command, def.Spec.Args
		if len(command) > 0 {
			spec.Args = command
		}
		if t := def.TimeoutDuration(); t > 0 && !changed("timeout") {
			spec.Timeout = t
		}
		if def.Spec.Reports.Dir != "" && !changed("report-dir") {
			spec.ReportDir = def.Spec.Reports.Dir
		}
		spec.Resources.Requests = mergeResources(def.Spec.Resources.Requests, o.flags.requests)
		spec.Resources.Limits = mergeResources(def.Spec.Resources.Limits, o.flags.limits)
		spec.Labels = map[string]string{definition.LabelDefinition: def.Metadata.Name}
		maps.Copy(spec.Labels, def.Spec.Labels)
		maps.Copy(spec.Labels, o.flags.labels)
		for _, e := range def.Spec.Env {
			env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
		}
		defConfig = def.Spec.Config
	}
	configEnv, files := definition.Render(definition.MergeConfig(global, o.flags.config, defConfig))
	spec.Files = files
	for _, e := range slices.Concat(configEnv, o.flags.env) {
		env = setEnv(env, e)
	}
	spec.Env = env
	run.spec = spec
	return run
}

// setEnv sets e in env: a variable of the same name is replaced where it stands, so that $(NAME) references
// of the variables after it still see it; a new one is appended.
func setEnv(env []corev1.EnvVar, e corev1.EnvVar) []corev1.EnvVar {
	if i := slices.IndexFunc(env, func(x corev1.EnvVar) bool { return x.Name == e.Name }); i >= 0 {
		env[i] = e
		return env
	}
	return append(env, e)
}

// mergeResources returns the definition's quantities with the flag's on top, resource by resource.
// Definitions are validated, so their quantities parse.
func mergeResources(def map[string]string, flag corev1.ResourceList) corev1.ResourceList {
	if len(def) == 0 {
		return flag
	}
	list := corev1.ResourceList{}
	for name, q := range def {
		list[corev1.ResourceName(name)] = resource.MustParse(q)
	}
	maps.Copy(list, flag)
	return list
}

// gitFromEnv returns the commit and ref the CI builds, each from the first CI variable that is set.
func gitFromEnv(getenv func(string) string) (sha, ref string) {
	for _, v := range gitVariables {
		if sha == "" {
			sha = getenv(v.sha)
		}
		if ref == "" {
			ref = getenv(v.ref)
		}
	}
	return sha, ref
}

// resourceList parses "cpu=500m,memory=256Mi".
func resourceList(flag, s string) (corev1.ResourceList, error) {
	if s == "" {
		return nil, nil
	}
	list := corev1.ResourceList{}
	for item := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%s %q: %q is not NAME=QUANTITY (e.g. cpu=500m,memory=256Mi)", flag, s, item)
		}
		q, err := resource.ParseQuantity(value)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %q is not a quantity (e.g. 500m, 1, 256Mi): %w", flag, s, value, err)
		}
		list[corev1.ResourceName(name)] = q
	}
	return list, nil
}

// keyValues parses repeated KEY=VALUE flags, each possibly a comma-separated list.
func keyValues(flag string, items []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, item := range items {
		for kv := range strings.SplitSeq(item, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("%s %q is not KEY=VALUE", flag, kv)
			}
			m[k] = v
		}
	}
	return m, nil
}

// Validate checks the flags and the runs they make without talking to the cluster; each error names the
// flag to fix.
func (o *Options) Validate() error {
	switch o.Output {
	case "", "json", "yaml":
	default:
		return fmt.Errorf("--output %q is not supported: use json or yaml", o.Output)
	}
	switch o.Color {
	case "auto", "always", "never":
	default:
		return fmt.Errorf("--color %q is not supported: use auto, always or never", o.Color)
	}
	switch corev1.PullPolicy(o.ImagePullPolicy) {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return fmt.Errorf("--image-pull-policy %q is not supported: use Always, IfNotPresent or Never", o.ImagePullPolicy)
	}
	if o.Detach && (o.Reports != "" || o.Keep) {
		return fmt.Errorf("--detach does not follow the run, so --reports and --keep do not apply: fetch the reports later with kubectl testrun fetch")
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
		err := r.spec.Validate()
		if err == nil {
			continue
		}
		if r.definition != "" {
			if r.spec.Image == "" {
				err = fmt.Errorf("definition %q names no image: pass the test image with --image", r.definition)
				if r.requires != "" {
					err = fmt.Errorf("%w; the image needs %s", err, r.requires)
				}
			} else {
				err = fmt.Errorf("definition %q: %w", r.definition, err)
			}
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return cmdkit.CheckDestination("--reports", o.Reports)
}

// Run creates the runs (or prints them with --dry-run) and follows them.
func (o *Options) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	if o.dryRun != cmdutil.DryRunNone {
		return o.printDryRun(cmd)
	}
	if err := cluster.Preflight(ctx, o.client.AuthorizationV1(), o.runs[0].spec.Namespace, cluster.RunPermissions); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	if err := o.checkConfigSources(ctx); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	if o.Detach {
		return o.detach(ctx)
	}
	if len(o.runs) > 1 {
		return o.runParallel(ctx)
	}
	spec := o.runs[0].spec
	outIsTTY := printers.IsTerminal(o.Out)
	progress := cmdkit.NewProgress(o.ErrOut, printers.IsTerminal(o.ErrOut), !o.noColor, o.Quiet)
	logs := progress.LogWriter(o.Out, outIsTTY)
	if o.Output != "" {
		// stdout is for the result document alone.
		logs = progress.LogWriter(o.ErrOut, printers.IsTerminal(o.ErrOut))
	}
	result, err := o.runner(o.runs[0], logs, progress).Run(ctx, spec)
	if err != nil {
		return err
	}
	if o.Output != "" {
		if err := cmdkit.PrintDocument(o.Out, o.Output, result); err != nil {
			return err
		}
	}
	if result.ExitCode != exitcode.OK {
		// The reason and the diagnostics are printed already; the code says the rest.
		return exitcode.New(result.ExitCode, nil)
	}
	return nil
}

// checkConfigSources makes sure, where the user may read them, that the Secrets and ConfigMaps of
// configuration files exist (and, for a ConfigMap, hold the key). A missing one would leave the pod waiting
// for its volume, reported only in FailedMount events, until --timeout; as an environment variable it fails
// fast by itself (CreateContainerConfigError). The documented Role has no get on secrets or configmaps: the
// check is skipped where it is forbidden. A Secret is read as metadata only, so its data never reaches the
// client, and its keys cannot be checked.
func (o *Options) checkConfigSources(ctx context.Context) error {
	var meta metadata.Interface
	checked := map[string]bool{}
	for _, r := range o.runs {
		ns := r.spec.Namespace
		for _, f := range r.spec.Files {
			switch {
			case f.ConfigMapKeyRef != nil:
				ref := f.ConfigMapKeyRef
				if checked["configmap/"+ref.Name+"/"+ref.Key] {
					continue
				}
				checked["configmap/"+ref.Name+"/"+ref.Key] = true
				cm, err := o.client.CoreV1().ConfigMaps(ns).Get(ctx, ref.Name, metav1.GetOptions{})
				switch {
				case apierrors.IsNotFound(err):
					return fmt.Errorf("config entry %q: configmap %q not found in namespace %q: create it, or fix valueFrom.configMapKeyRef.name", f.Name, ref.Name, ns)
				case err != nil:
					continue // forbidden or unreachable: the kubelet will say
				}
				if _, ok := cm.Data[ref.Key]; !ok {
					if _, ok := cm.BinaryData[ref.Key]; !ok {
						return fmt.Errorf("config entry %q: configmap %q in namespace %q has no key %q: add it, or fix valueFrom.configMapKeyRef.key", f.Name, ref.Name, ns, ref.Key)
					}
				}
			case f.SecretKeyRef != nil:
				ref := f.SecretKeyRef
				if checked["secret/"+ref.Name] {
					continue
				}
				checked["secret/"+ref.Name] = true
				if meta == nil {
					var err error
					if meta, err = metadata.NewForConfig(o.config); err != nil {
						return err
					}
				}
				_, err := meta.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					return fmt.Errorf("config entry %q: secret %q not found in namespace %q: create it, or fix valueFrom.secretKeyRef.name", f.Name, ref.Name, ns)
				}
			}
		}
	}
	return nil
}

// runner returns the Runner of one run.
func (o *Options) runner(r plannedRun, logs io.Writer, progress *cmdkit.Progress) *runner.Runner {
	exec := &podexec.Remote{Config: o.config, Client: o.client}
	return &runner.Runner{
		Client:          o.client,
		Exec:            exec,
		Reports:         r.reports,
		Fetcher:         &fetch.Fetcher{Client: o.client, Exec: exec, HelperImage: r.spec.HelperImage, Limits: o.CopyLimits},
		Logs:            logs,
		Progress:        progress,
		Keep:            o.Keep,
		ScheduleTimeout: o.ScheduleTimeout,
		DumpSelector:    o.DumpSelector,
		API:             o.api,
	}
}

// detach creates every run and prints their names, one a line, or their result documents.
func (o *Options) detach(ctx context.Context) error {
	var docs []*outcome.Result
	for _, r := range o.runs {
		started := time.Now()
		if _, err := runner.CreateJob(ctx, o.client, r.spec); err != nil {
			return err
		}
		docs = append(docs, runner.Detached(r.spec, started))
		if o.Output == "" {
			if _, err := fmt.Fprintln(o.Out, r.spec.Name); err != nil {
				return err
			}
		}
	}
	switch {
	case o.Output == "":
		return nil
	case len(docs) == 1:
		return cmdkit.PrintDocument(o.Out, o.Output, docs[0])
	}
	return cmdkit.PrintDocument(o.Out, o.Output, resultList(docs))
}

// resultList is the document -o prints for several runs, as kubectl testrun list does.
func resultList(results []*outcome.Result) map[string]any {
	return map[string]any{"apiVersion": "testrun.dev/v1alpha1", "kind": "ResultList", "items": results}
}

// runParallel starts every run at once and follows them all. Each run's lines, on stdout and stderr, are
// prefixed with its definition's name and never mixed within a line. The command exits with the code of the
// first run that ended with a non-zero code, 0 when all passed.
func (o *Options) runParallel(ctx context.Context) error {
	stdout, stderr := &lineMux{w: o.Out}, &lineMux{w: o.ErrOut}
	logsTo, logsTTY := stdout, printers.IsTerminal(o.Out)
	if o.Output != "" {
		// stdout is for the result document alone.
		logsTo, logsTTY = stderr, printers.IsTerminal(o.ErrOut)
	}
	type ended struct {
		i      int
		result *outcome.Result
		err    error
	}
	done := make(chan ended, len(o.runs))
	var wg sync.WaitGroup
	for i, r := range o.runs {
		prefix := "[" + r.definition + "] "
		errW, outW := stderr.prefixed(prefix), logsTo.prefixed(prefix)
		// Several runs share the terminal: one line per change of state each, no status line redrawn in place.
		progress := cmdkit.NewProgress(errW, false, !o.noColor, o.Quiet)
		runner := o.runner(r, progress.LogWriter(outW, logsTTY), progress)
		wg.Go(func() {
			result, err := runner.Run(ctx, r.spec)
			outW.Flush()
			if err != nil {
				progress.Warnf("%v", err)
			}
			errW.Flush()
			done <- ended{i: i, result: result, err: err}
		})
	}
	wg.Wait()
	close(done)

	code := exitcode.OK
	results := make([]*outcome.Result, len(o.runs))
	var summary []string
	for e := range done {
		r := o.runs[e.i]
		results[e.i] = e.result
		c := exitcode.OK
		switch {
		case e.err != nil:
			c = exitcode.Code(ctx, e.err)
		case e.result.ExitCode != exitcode.OK:
			c = e.result.ExitCode
		}
		line := fmt.Sprintf("%s (%s) passed", r.spec.Name, r.definition)
		if c != exitcode.OK {
			line = fmt.Sprintf("%s (%s) failed with exit code %d", r.spec.Name, r.definition, c)
			if code == exitcode.OK {
				code = c
				line += ", the first to fail: the command exits with it"
			}
		}
		summary = append(summary, line)
	}
	progress := cmdkit.NewProgress(o.ErrOut, false, !o.noColor, o.Quiet)
	for _, line := range summary {
		if strings.Contains(line, " failed ") {
			progress.Warnf("%s", line)
		} else {
			progress.Printf("%s", line)
		}
	}
	if o.Output != "" {
		docs := make([]*outcome.Result, 0, len(results))
		for _, r := range results {
			if r != nil {
				docs = append(docs, r)
			}
		}
		if err := cmdkit.PrintDocument(o.Out, o.Output, resultList(docs)); err != nil {
			return err
		}
	}
	if code != exitcode.OK {
		return exitcode.New(code, nil)
	}
	return nil
}

// lineMux writes whole lines from several writers onto one stream, so that the output of parallel runs is
// never mixed within a line.
type lineMux struct {
	mu sync.Mutex
	w  io.Writer
}

// maxPartialLine bounds what a prefixWriter holds back waiting for the end of a line.
const maxPartialLine = 64 << 10

func (m *lineMux) prefixed(prefix string) *prefixWriter {
	return &prefixWriter{mux: m, prefix: []byte(prefix)}
}

func (m *lineMux) write(prefix, line []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(append(slices.Clip(prefix), line...))
}

// prefixWriter prefixes each line written to it and passes whole lines to its lineMux.
type prefixWriter struct {
	mux     *lineMux
	prefix  []byte
	mu      sync.Mutex
	partial []byte
}

// Write implements io.Writer.
func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		p.mux.write(p.prefix, p.partial[:i+1])
		p.partial = p.partial[i+1:]
	}
	if len(p.partial) > maxPartialLine {
		p.mux.write(p.prefix, append(p.partial, '\n'))
		p.partial = nil
	}
	return len(b), nil
}

// Flush writes a last line that has no newline.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.partial) > 0 {
		p.mux.write(p.prefix, append(p.partial, '\n'))
		p.partial = nil
	}
}

// printDryRun prints the Job of every run without creating it (--dry-run=server asks the API server to admit
// it): one line each, or with -o the Job, or a List of the Jobs of several runs.
func (o *Options) printDryRun(cmd *cobra.Command) error {
	jobs := make([]*batchv1.Job, 0, len(o.runs))
	for _, r := range o.runs {
		job := runspec.BuildJob(r.spec)
		if o.dryRun == cmdutil.DryRunServer {
			created, err := o.client.BatchV1().Jobs(r.spec.Namespace).Create(cmd.Context(), job, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				return exitcode.Errorf(exitcode.CannotRun, "server dry run of job %q in namespace %q: %w", r.spec.Name, r.spec.Namespace, err)
			}
			created.APIVersion, created.Kind = job.APIVersion, job.Kind
			job = created
		}
		jobs = append(jobs, job)
	}
	switch {
	case o.Output == "":
		for _, job := range jobs {
			if _, err := fmt.Fprintf(o.Out, "job.batch/%s created (%s dry run)\n", job.Name, dryRunName(o.dryRun)); err != nil {
				return err
			}
		}
		return nil
	case len(jobs) == 1:
		return cmdkit.PrintDocument(o.Out, o.Output, jobs[0])
	}
	return cmdkit.PrintDocument(o.Out, o.Output, map[string]any{"apiVersion": "v1", "kind": "List", "items": jobs})
}

func dryRunName(s cmdutil.DryRunStrategy) string {
	if s == cmdutil.DryRunServer {
		return "server"
	}
	return "client"
}
