// Package shared holds what the commands that work on existing runs have in common: the clients built from
// the kubeconfig flags, the progress printer and the completion of run names.
package shared

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runwatch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// Clients are the API clients and the namespace every command needs.
type Clients struct {
	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string
	// API tells whether Client's requests reach the API server.
	API *runwatch.APIHealth
}

// NewClients builds the clients from the standard kubeconfig flags; a failure is bad input (125).
func NewClients(f *genericclioptions.ConfigFlags) (Clients, error) {
	var c Clients
	var err error
	if c.Namespace, _, err = f.ToRawKubeConfigLoader().Namespace(); err != nil {
		return c, exitcode.New(exitcode.CannotRun, err)
	}
	if c.Config, err = f.ToRESTConfig(); err != nil {
		return c, exitcode.New(exitcode.CannotRun, err)
	}
	c.API = &runwatch.APIHealth{}
	c.Config.Wrap(c.API.Wrap)
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return c, exitcode.New(exitcode.CannotRun, err)
	}
	return c, nil
}

// RunName accepts a run as NAME or run/NAME (the form list -o name prints).
func RunName(arg string) string {
	return strings.TrimPrefix(arg, "run/")
}

// Output is the --color and --quiet pair of flags.
type Output struct {
	Color string
	Quiet bool
}

// AddFlags binds --color and --quiet.
func (o *Output) AddFlags(f *pflag.FlagSet) {
	if o.Color == "" {
		o.Color = "auto"
	}
	f.StringVar(&o.Color, "color", o.Color, "Colour the plugin's messages: auto (on a terminal without NO_COLOR), always or never.")
	f.BoolVarP(&o.Quiet, "quiet", "q", o.Quiet, "Print no progress; failures are still printed.")
}

// Validate checks --color.
func (o *Output) Validate() error {
	switch o.Color {
	case "auto", "always", "never":
		return nil
	}
	return fmt.Errorf("--color %q is not supported: use auto, always or never", o.Color)
}

// Progress returns the progress printer for errOut.
func (o *Output) Progress(errOut io.Writer) *cmdkit.Progress {
	useColor := o.Color == "always" || (o.Color == "auto" && printers.AllowsColorOutput(errOut))
	return cmdkit.NewProgress(errOut, printers.IsTerminal(errOut), useColor, o.Quiet)
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

// CompleteRuns completes run names in the namespace of the kubeconfig flags.
func CompleteRuns(f *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := NewClients(f)
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
