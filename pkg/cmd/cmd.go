// Package cmd builds the kubectl testrun command tree.
package cmd

import (
	"flag"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/component-base/logs/klogflags"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/completion"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/delete"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/describe"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/fetch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/list"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/logs"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/plugins"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/run"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/version"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/wait"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// NewCmdTestrun returns the root command with every subcommand, the standard kubeconfig flags and klog's
// verbosity flags.
func NewCmdTestrun(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubectl-testrun",
		Short: "Run test suites as Jobs in a cluster and bring back their logs, reports and exit code",
		Long: templates.LongDesc(`
			kubectl testrun runs a test suite as a Job inside the cluster, streams its logs, copies its reports
			out, cleans up and exits with the test's own exit code. Nothing is installed in the cluster.`),
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl testrun"},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	configFlags := genericclioptions.NewConfigFlags(true)
	configFlags.AddFlags(cmd.PersistentFlags())
	addKlogFlags(cmd.PersistentFlags())
	// A flag that does not parse is bad input: the same exit code as any other (docs/exit-codes.md).
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exitcode.Errorf(exitcode.CannotRun, "%w\nSee '%s --help' for usage.", err, c.CommandPath())
	})
	f := cmdkit.NewFactory(configFlags, streams.ErrOut)
	// The API server's warnings follow the verb's --color, as its own messages do.
	cmd.PersistentPreRun = func(c *cobra.Command, _ []string) {
		if color := c.Flags().Lookup("color"); color != nil {
			f.SetColor(color.Value.String())
		}
	}
	cmd.AddCommand(
		run.NewCmdRun(f, streams),
		fetch.NewCmdFetch(f, streams),
		logs.NewCmdLogs(f, streams),
		wait.NewCmdWait(f, streams),
		describe.NewCmdDescribe(f, streams),
		list.NewCmdList(f, streams),
		delete.NewCmdDelete(f, streams),
		plugins.NewCmdPlugins(streams),
		version.NewCmdVersion(streams),
		completion.NewCmdCompletion(streams),
	)
	f.RegisterGlobalCompletions(cmd)
	for _, c := range cmd.Commands() {
		argsAreInput(c)
	}
	return cmd
}

// argsAreInput makes a wrong number of arguments bad input (125), as a flag that does not parse is: cobra
// checks the arguments before the verb runs, so cmdkit.RunE never sees that error.
func argsAreInput(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return exitcode.Errorf(exitcode.CannotRun, "%w\nSee '%s --help' for usage.", err, cmd.CommandPath())
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		argsAreInput(sub)
	}
}

// addKlogFlags adds klog's -v/--v and --vmodule to flags, the two that kubectl keeps, so that -v=6 logs
// every API request a command makes, with its verb, URL, status and duration, as kubectl -v=6 does.
func addKlogFlags(flags *pflag.FlagSet) {
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klogflags.Init(klogFlags)
	flags.AddGoFlagSet(klogFlags)
}
