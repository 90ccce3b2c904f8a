// Package run implements `kubectl testrun run`: the CLI wiring over the engine in pkg/testrun.
package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/templates"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/extract"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/testrun"
)

var (
	long = templates.LongDesc(`
		Run a test suite as a Job in the cluster and follow it to its end.

		The test's output is streamed live to stdout. The command exits with the test's own exit code; 124 when
		it timed out, 125 when it could not be run (bad input, missing permission, image pull error,
		unschedulable, missing Secret or ConfigMap), 126 when its container could not start, 127 when its
		command was not found, 130/143 when interrupted. When the test fails or cannot run, stderr shows the
		describe output of the Job and pod with their events. The Job and its pod are deleted at the end,
		also on Ctrl-C, unless --keep is given.

		Everything after -- is the command, which replaces the image's entrypoint. The run name is the given
		NAME with a random suffix; every object carries the labels app.kubernetes.io/managed-by=kubectl-testrun
		and testrun.dev/name=<run name>.

		With -o json or -o yaml, stdout holds only the result document and the test's output goes to stderr.`)

	example = templates.Examples(`
		# Run a test image's own entrypoint and exit with its exit code
		kubectl testrun run smoke --image registry.example/app-tests:1.2

		# Run a command in a namespace, with a timeout and environment
		kubectl testrun run smoke -n ci --image registry.example/app-tests:1.2 --timeout 20m --env SUITE=fast -- npm test

		# Take configuration from a Secret and keep the Job for inspection
		kubectl testrun run api --image app-tests:1.2 --env-from secret/api-test-creds --keep

		# Print the Job without creating it
		kubectl testrun run smoke --image app-tests:1.2 --dry-run=client -o yaml

		# Print a result document for a script
		kubectl testrun run smoke --image app-tests:1.2 -o json`)
)

// Options holds the flags and the clients of the run command.
type Options struct {
	ConfigFlags *genericclioptions.ConfigFlags

	Image           string
	Env             []string
	EnvFrom         []string
	Timeout         time.Duration
	Hold            time.Duration
	ImagePullPolicy string
	ServiceAccount  string
	Requests        string
	Limits          string
	NodeSelector    []string
	Labels          []string
	Keep            bool
	Output          string
	Color           string
	Quiet           bool
	DumpSelector    string
	HelperImage     string
	ReportDir       string
	Reports         string
	Restricted      bool
	Detach          bool
	CopyLimits      extract.Limits

	dryRun  cmdutil.DryRunStrategy
	spec    testrun.Spec
	client  kubernetes.Interface
	config  *rest.Config
	noColor bool

	genericiooptions.IOStreams
}

// NewOptions returns the defaults: the only place they are set.
func NewOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *Options {
	return &Options{
		ConfigFlags: configFlags,
		Timeout:     testrun.DefaultTimeout,
		Hold:        testrun.DefaultHold,
		Color:       "auto",
		HelperImage: testrun.DefaultHelperImage,
		ReportDir:   testrun.DefaultReportDir,
		CopyLimits:  extract.DefaultLimits(),
		IOStreams:   streams,
	}
}

// NewCmdRun returns the run command.
func NewCmdRun(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:                   "run NAME --image IMAGE [flags] [-- COMMAND [ARG...]]",
		DisableFlagsInUseLine: true,
		Short:                 "Run a test as a Job, stream its logs and exit with its exit code",
		Long:                  long,
		Example:               example,
		Args:                  cobra.MinimumNArgs(1),
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
	f.StringVar(&o.Image, "image", o.Image, "The test image (required). Give an explicit tag or digest.")
	f.StringArrayVarP(&o.Env, "env", "e", o.Env, "An environment variable NAME=VALUE for the test; repeatable.")
	f.StringArrayVar(&o.EnvFrom, "env-from", o.EnvFrom, "Take every key of secret/NAME or configmap/NAME as environment variables; repeatable.")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long the test may run before it is stopped and the command exits 124.")
	f.DurationVar(&o.Hold, "hold", o.Hold, "How long the pod waits, after --timeout, for its reports to be fetched when nobody releases it (a detached or abandoned run).")
	f.StringVar(&o.ImagePullPolicy, "image-pull-policy", o.ImagePullPolicy, "The test image's pull policy: Always, IfNotPresent or Never; empty for the cluster's default.")
	f.StringVar(&o.ServiceAccount, "service-account", o.ServiceAccount, "The service account the test runs as.")
	f.StringVar(&o.Requests, "requests", o.Requests, "Resource requests of the test container, e.g. cpu=500m,memory=256Mi.")
	f.StringVar(&o.Limits, "limits", o.Limits, "Resource limits of the test container, e.g. cpu=1,memory=1Gi.")
	f.StringArrayVar(&o.NodeSelector, "node-selector", o.NodeSelector, "A node label KEY=VALUE the test pod must run on; repeatable.")
	f.StringArrayVarP(&o.Labels, "label", "l", o.Labels, "A label KEY=VALUE for the Job and its pod; repeatable.")
	f.BoolVar(&o.Keep, "keep", o.Keep, "Keep the Job and its pod after the run, for inspection.")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Print a result document: json or yaml (with --dry-run, the Job).")
	f.StringVar(&o.Color, "color", o.Color, "Colour the plugin's messages: auto (on a terminal without NO_COLOR), always or never.")
	f.BoolVarP(&o.Quiet, "quiet", "q", o.Quiet, "Print no progress; failures and their diagnostics are still printed.")
	f.StringVar(&o.DumpSelector, "dump-selector", o.DumpSelector, "On failure, also describe and show the logs of the pods this label selector matches (the system under test).")
	f.StringVar(&o.HelperImage, "helper-image", o.HelperImage, "The image of the holder container (needs sh, sleep and touch), for clusters that cannot pull the default.")
	f.StringVar(&o.ReportDir, "report-dir", o.ReportDir, "Where the test writes its reports in its container; exported to it as $TESTRUN_REPORT_DIR.")
	f.StringVar(&o.Reports, "reports", o.Reports, "Copy the report directory into this local directory when the test ended (it must be empty or new), verify it, and summarise its JUnit files.")
	f.BoolVar(&o.Detach, "detach", o.Detach, "Create the run and return at once, printing its name as the last line of stdout (or the result document with -o); follow it later with logs, wait and fetch.")
	f.BoolVar(&o.Restricted, "restricted", o.Restricted, "Run the test container the way PodSecurity 'restricted' requires: non-root (the image must set a numeric user), no privilege escalation, all capabilities dropped.")
	AddLimitFlags(f, &o.CopyLimits)
	cmdutil.AddDryRunFlag(cmd)
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml"}, cobra.ShellCompDirectiveNoFileComp)))
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp)))
	cmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("image-pull-policy", cobra.FixedCompletions([]string{"Always", "IfNotPresent", "Never"}, cobra.ShellCompDirectiveNoFileComp)))
}

// Complete turns the flags into a Spec and builds the clients.
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
	if len(names) != 1 {
		return exitcode.Errorf(exitcode.CannotRun, "want exactly one NAME before --, got %d (%s): put the test's command after --", len(names), strings.Join(names, " "))
	}
	if err := testrun.ValidateRunName(names[0]); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	namespace, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	o.spec = testrun.Spec{
		Name:            testrun.NewRunName(names[0]),
		Namespace:       namespace,
		Image:           o.Image,
		Command:         command,
		ImagePullPolicy: corev1.PullPolicy(o.ImagePullPolicy),
		ServiceAccount:  o.ServiceAccount,
		Timeout:         o.Timeout,
		Hold:            o.Hold,
		ReportDir:       o.ReportDir,
		HelperImage:     o.HelperImage,
		Restricted:      o.Restricted,
	}
	if err := o.completeSpec(); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
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
	if o.config, err = o.ConfigFlags.ToRESTConfig(); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	if o.client, err = kubernetes.NewForConfig(o.config); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	return nil
}

// completeSpec parses the flags that carry lists and quantities into the Spec.
func (o *Options) completeSpec() error {
	for _, kv := range o.Env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return fmt.Errorf("--env %q is not NAME=VALUE", kv)
		}
		o.spec.Env = append(o.spec.Env, corev1.EnvVar{Name: name, Value: value})
	}
	for _, src := range o.EnvFrom {
		kind, name, ok := strings.Cut(src, "/")
		switch {
		case !ok || name == "":
			return fmt.Errorf("--env-from %q is not secret/NAME or configmap/NAME", src)
		case kind == "secret":
			o.spec.EnvFrom = append(o.spec.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
		case kind == "configmap" || kind == "cm":
			o.spec.EnvFrom = append(o.spec.EnvFrom, corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
		default:
			return fmt.Errorf("--env-from %q: kind %q is not secret or configmap", src, kind)
		}
	}
	var err error
	if o.spec.Resources.Requests, err = resourceList("--requests", o.Requests); err != nil {
		return err
	}
	if o.spec.Resources.Limits, err = resourceList("--limits", o.Limits); err != nil {
		return err
	}
	if o.spec.NodeSelector, err = keyValues("--node-selector", o.NodeSelector); err != nil {
		return err
	}
	if o.spec.Labels, err = keyValues("--label", o.Labels); err != nil {
		return err
	}
	return nil
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

// Validate checks the flags without talking to the cluster; each error names the flag to fix.
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
	if err := CheckEmptyDir("--reports", o.Reports); err != nil {
		return err
	}
	return o.spec.Validate()
}

// CheckEmptyDir refuses a local destination that already holds files, before anything is created in the
// cluster: what is in it afterwards must have come from this run.
func CheckEmptyDir(flag, dir string) error {
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("%s %q: %w", flag, dir, err)
	case len(entries) > 0:
		return fmt.Errorf("%s %q is not empty: choose an empty or new directory, so that what it holds afterwards came from this run", flag, dir)
	}
	return nil
}

// Run creates the run (or prints it with --dry-run) and follows it.
func (o *Options) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	if o.dryRun != cmdutil.DryRunNone {
		return o.printDryRun(cmd)
	}
	if err := testrun.Preflight(ctx, o.client.AuthorizationV1(), o.spec.Namespace, testrun.RunPermissions); err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	if o.Detach {
		started := time.Now()
		if _, err := testrun.CreateJob(ctx, o.client, o.spec); err != nil {
			return err
		}
		if o.Output != "" {
			return PrintDocument(o.Out, o.Output, testrun.Detached(o.spec, started))
		}
		_, err := fmt.Fprintln(o.Out, o.spec.Name)
		return err
	}
	outIsTTY := printers.IsTerminal(o.Out)
	progress := testrun.NewProgress(o.ErrOut, printers.IsTerminal(o.ErrOut), !o.noColor, o.Quiet)
	logs := progress.LogWriter(o.Out, outIsTTY)
	if o.Output != "" {
		// stdout is for the result document alone.
		logs = progress.LogWriter(o.ErrOut, printers.IsTerminal(o.ErrOut))
	}
	exec := &podexec.Remote{Config: o.config, Client: o.client}
	runner := &testrun.Runner{
		Client:       o.client,
		Exec:         exec,
		Reports:      o.Reports,
		Fetcher:      &fetch.Fetcher{Client: o.client, Exec: exec, HelperImage: o.spec.HelperImage, Limits: o.CopyLimits},
		Logs:         logs,
		Progress:     progress,
		Diagnostics:  o.ErrOut,
		Keep:         o.Keep,
		DumpSelector: o.DumpSelector,
	}
	result, err := runner.Run(ctx, o.spec)
	if err != nil {
		return err
	}
	if o.Output != "" {
		if err := PrintDocument(o.Out, o.Output, result); err != nil {
			return err
		}
	}
	if result.ExitCode != exitcode.OK {
		// The reason and the diagnostics are printed already; the code says the rest.
		return exitcode.New(result.ExitCode, nil)
	}
	return nil
}

func (o *Options) printDryRun(cmd *cobra.Command) error {
	job := testrun.BuildJob(o.spec)
	if o.dryRun == cmdutil.DryRunServer {
		created, err := o.client.BatchV1().Jobs(o.spec.Namespace).Create(cmd.Context(), job, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return exitcode.Errorf(exitcode.CannotRun, "server dry run of job %q in namespace %q: %w", o.spec.Name, o.spec.Namespace, err)
		}
		created.APIVersion, created.Kind = job.APIVersion, job.Kind
		job = created
	}
	format := o.Output
	if format == "" {
		_, err := fmt.Fprintf(o.Out, "job.batch/%s created (%s dry run)\n", job.Name, dryRunName(o.dryRun))
		return err
	}
	return PrintDocument(o.Out, format, job)
}

// AddLimitFlags binds the caps on what fetched archives may write locally.
func AddLimitFlags(f *pflag.FlagSet, l *extract.Limits) {
	f.Int64Var(&l.MaxTotalBytes, "max-bytes", l.MaxTotalBytes, "The most bytes of reports to copy; a larger archive is refused.")
	f.Int64Var(&l.MaxFileBytes, "max-file-bytes", l.MaxFileBytes, "The largest single report file to copy.")
	f.IntVar(&l.MaxEntries, "max-files", l.MaxEntries, "The most files and directories to copy.")
}

func dryRunName(s cmdutil.DryRunStrategy) string {
	if s == cmdutil.DryRunServer {
		return "server"
	}
	return "client"
}

// PrintDocument prints v as indented JSON or as YAML, for -o json|yaml.
func PrintDocument(w io.Writer, format string, v any) error {
	var b []byte
	var err error
	if format == "json" {
		b, err = json.MarshalIndent(v, "", "    ")
		b = append(b, '\n')
	} else {
		b, err = yaml.Marshal(v)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
