// Package version implements `kubectl testrun version`.
package version

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/version"
)

var example = templates.Examples(`
	# Print the plugin's version
	kubectl testrun version

	# Print it as JSON for a script
	kubectl testrun version -o json`)

// Options holds the flags of the version command.
type Options struct {
	PrintFlags *cmdkit.PrintFlags
	genericiooptions.IOStreams
}

// NewOptions returns the defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{PrintFlags: cmdkit.NewPrintFlags("json", "yaml"), IOStreams: streams}
}

// NewCmdVersion returns the version command.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(streams)
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the plugin's version",
		Long:    templates.LongDesc(`Print the version, commit and build date of kubectl-testrun.`),
		Example: example,
		Args:    cobra.NoArgs,
		RunE:    cmdkit.RunE(o),
	}
	o.PrintFlags.AddFlags(cmd, "Output format: one of json or yaml; empty for one line.")
	return cmd
}

// Complete has nothing to complete: version needs no cluster.
func (o *Options) Complete(*cobra.Command, []string) error { return nil }

// Validate checks the flags.
func (o *Options) Validate() error {
	return o.PrintFlags.Validate()
}

// Run prints the version.
func (o *Options) Run(context.Context) error {
	info := version.Get()
	if o.PrintFlags.Document() {
		return o.PrintFlags.Print(o.Out, info)
	}
	_, err := fmt.Fprintf(o.Out, "kubectl-testrun %s (commit %s, built %s, %s, %s)\n",
		info.Version, info.Commit, info.Date, info.GoVersion, info.Platform)
	return err
}
