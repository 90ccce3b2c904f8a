package cmdkit

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/extract"
)

// ProgressFlags are --color and --quiet: how the plugin's own messages look on stderr.
type ProgressFlags struct {
	Color string
	Quiet bool
}

// AddFlags binds --color and --quiet; quietHelp says what --quiet still prints for this verb ("" for the
// common text).
func (o *ProgressFlags) AddFlags(cmd *cobra.Command, quietHelp string) {
	if o.Color == "" {
		o.Color = "auto"
	}
	if quietHelp == "" {
		quietHelp = "Print no progress; failures are still printed."
	}
	f := cmd.Flags()
	f.StringVar(&o.Color, "color", o.Color, "Colour the plugin's messages: auto (on a terminal without NO_COLOR), always or never.")
	f.BoolVarP(&o.Quiet, "quiet", "q", o.Quiet, quietHelp)
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
}

// Validate checks --color.
func (o *ProgressFlags) Validate() error {
	switch o.Color {
	case "auto", "always", "never":
		return nil
	}
	return fmt.Errorf("--color %q is not supported: use auto, always or never", o.Color)
}

// UseColor says whether messages written to w are coloured.
func (o *ProgressFlags) UseColor(w io.Writer) bool {
	return o.Color == "always" || (o.Color == "auto" && AllowsColorOutput(w))
}

// Progress returns the progress printer for errOut.
func (o *ProgressFlags) Progress(errOut io.Writer) *Progress {
	return NewProgress(errOut, IsTerminal(errOut), o.UseColor(errOut), o.Quiet)
}

// AddScheduleTimeoutFlag binds --schedule-timeout, which run and wait share.
func AddScheduleTimeoutFlag(f *pflag.FlagSet, d *time.Duration) {
	f.DurationVar(d, "schedule-timeout", *d, "How long the test's pod may stay unschedulable, e.g. while a cluster autoscaler adds a node (its events show in the status). 0 fails at once with the scheduler's reason (exit 125); so does an autoscaler's NotTriggerScaleUp event.")
}

// ValidateScheduleTimeout checks --schedule-timeout.
func ValidateScheduleTimeout(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("--schedule-timeout %s is negative: pass a duration such as 10m, or 0 to fail as soon as the pod cannot be scheduled", d)
	}
	return nil
}

// AddLimitFlags binds the caps on what fetched archives may write locally.
func AddLimitFlags(f *pflag.FlagSet, l *extract.Limits) {
	f.Int64Var(&l.MaxTotalBytes, "max-bytes", l.MaxTotalBytes, "The most bytes of reports to copy; a larger archive is refused.")
	f.Int64Var(&l.MaxFileBytes, "max-file-bytes", l.MaxFileBytes, "The largest single report file to copy.")
	f.IntVar(&l.MaxEntries, "max-files", l.MaxEntries, "The most files and directories to copy.")
}

// ValidateLimits checks the caps on what a copy may write locally (AddLimitFlags): each must be positive.
func ValidateLimits(l extract.Limits) error {
	d := extract.DefaultLimits()
	switch {
	case l.MaxTotalBytes <= 0:
		return fmt.Errorf("--max-bytes %d is not positive: give the most bytes of reports to copy (the default is %d)", l.MaxTotalBytes, d.MaxTotalBytes)
	case l.MaxFileBytes <= 0:
		return fmt.Errorf("--max-file-bytes %d is not positive: give the largest report file to copy, in bytes (the default is %d)", l.MaxFileBytes, d.MaxFileBytes)
	case l.MaxEntries <= 0:
		return fmt.Errorf("--max-files %d is not positive: give the most files and directories to copy (the default is %d)", l.MaxEntries, d.MaxEntries)
	}
	return nil
}

// RunName accepts a run as NAME or run/NAME (the form list -o name prints).
func RunName(arg string) string {
	return strings.TrimPrefix(arg, "run/")
}

// CompleteRuns completes run names in the namespace of the kubeconfig flags.
func (f *Factory) CompleteRuns() cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := f.Clients()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		runs, err := cluster.ListRuns(cmd.Context(), c.Client, c.Namespace, nil)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []cobra.Completion
		for _, r := range runs {
			if strings.HasPrefix(r.Name(), toComplete) {
				names = append(names, r.Name())
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// The values of --diagnostics.
const (
	// DiagnosticsSummary prints a failed run's story on stderr and saves the full diagnostics in a file.
	DiagnosticsSummary = "summary"
	// DiagnosticsFull prints the full diagnostics on stderr too.
	DiagnosticsFull = "full"
)

// AddDiagnosticsFlag binds --diagnostics, which run and wait share.
func AddDiagnosticsFlag(cmd *cobra.Command, v *string) {
	if *v == "" {
		*v = DiagnosticsSummary
	}
	cmd.Flags().StringVar(v, "diagnostics", *v, "What stderr shows of a failed run: summary (what failed, the reason, the warning events, the failed tests, where the full diagnostics file is) or full (also the describe output of the Job and pod and the system under test, as with -v=1). The file is written either way.")
	_ = cmd.RegisterFlagCompletionFunc("diagnostics", cobra.FixedCompletions([]string{DiagnosticsSummary, DiagnosticsFull}, cobra.ShellCompDirectiveNoFileComp))
}

// ValidateDiagnostics checks --diagnostics.
func ValidateDiagnostics(v string) error {
	switch v {
	case DiagnosticsSummary, DiagnosticsFull:
		return nil
	}
	return fmt.Errorf("--diagnostics %q is not supported: use summary or full", v)
}

// FullDiagnostics says whether the full diagnostics of a failed run go to stderr: with --diagnostics=full,
// or with -v=1 or more, where a user asks to see more of what the plugin does.
func FullDiagnostics(v string) bool {
	return v == DiagnosticsFull || klog.V(1).Enabled()
}

// RegisterGlobalCompletions completes the standard kubeconfig flags bound on root, as kubectl does:
// -n/--namespace with the cluster's namespaces, --context, --cluster and --user with the kubeconfig's.
func (f *Factory) RegisterGlobalCompletions(root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("namespace", func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := f.Clients()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, err := c.Client.CoreV1().Namespaces().List(cmd.Context(), metav1.ListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []cobra.Completion
		for _, ns := range list.Items {
			if strings.HasPrefix(ns.Name, toComplete) {
				names = append(names, ns.Name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	fromConfig := func(names func(api.Config) []string) cobra.CompletionFunc {
		return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			config, err := f.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, n := range names(config) {
				if strings.HasPrefix(n, toComplete) {
					out = append(out, n)
				}
			}
			slices.Sort(out)
			return out, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = root.RegisterFlagCompletionFunc("context", fromConfig(func(c api.Config) []string { return slices.Collect(maps.Keys(c.Contexts)) }))
	_ = root.RegisterFlagCompletionFunc("cluster", fromConfig(func(c api.Config) []string { return slices.Collect(maps.Keys(c.Clusters)) }))
	_ = root.RegisterFlagCompletionFunc("user", fromConfig(func(c api.Config) []string { return slices.Collect(maps.Keys(c.AuthInfos)) }))
}
