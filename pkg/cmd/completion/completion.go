// Package completion implements `kubectl testrun completion SHELL`: the shell completion script for the
// plugin binary run on its own. Completion of `kubectl testrun ...` goes through kubectl instead, which calls
// the kubectl_complete-testrun script shipped next to the binary (kubectl 1.26 or newer).
package completion

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

var (
	long = templates.LongDesc(`
		Print the shell completion script of kubectl-testrun for bash, zsh, fish or powershell.

		Completing "kubectl testrun ..." needs no script from this command: kubectl 1.26 or newer completes a
		plugin by running the executable kubectl_complete-testrun found on PATH, and kubectl's own completion
		(kubectl completion SHELL) does the rest. That executable ships in the release archives next to the
		binary: keep it on your PATH beside kubectl-testrun.

		Completing "kubectl-testrun ..." typed on its own needs the script this command prints, loaded into your
		shell. The bash script needs the bash-completion package. docs/install.md covers every shell.`)

	example = templates.Examples(`
		# Complete kubectl-testrun in the current bash session
		source <(kubectl testrun completion bash)

		# Complete it in every new bash session (Linux, with the bash-completion package)
		kubectl testrun completion bash > ~/.local/share/bash-completion/completions/kubectl-testrun

		# Complete it in every new zsh session
		kubectl testrun completion zsh > "${fpath[1]}/_kubectl-testrun"

		# Complete it in every new fish session
		kubectl testrun completion fish > ~/.config/fish/completions/kubectl-testrun.fish

		# Complete it in the current PowerShell session
		kubectl testrun completion powershell | Out-String | Invoke-Expression`)
)

// generators writes the completion script for each supported shell, with descriptions.
var generators = map[string]func(root *cobra.Command, out io.Writer) error{
	"bash":       func(root *cobra.Command, out io.Writer) error { return root.GenBashCompletionV2(out, true) },
	"zsh":        func(root *cobra.Command, out io.Writer) error { return root.GenZshCompletion(out) },
	"fish":       func(root *cobra.Command, out io.Writer) error { return root.GenFishCompletion(out, true) },
	"powershell": func(root *cobra.Command, out io.Writer) error { return root.GenPowerShellCompletionWithDesc(out) },
}

// Shells returns the supported shells, sorted.
func Shells() []string {
	shells := make([]string, 0, len(generators))
	for s := range generators {
		shells = append(shells, s)
	}
	slices.Sort(shells)
	return shells
}

// Options holds the argument of the completion command.
type Options struct {
	// Shell is the shell to print the script for.
	Shell string

	root *cobra.Command
	genericiooptions.IOStreams
}

// NewOptions returns the defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams}
}

// NewCmdCompletion returns the completion command.
func NewCmdCompletion(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(streams)
	cmd := &cobra.Command{
		Use:                   "completion SHELL",
		DisableFlagsInUseLine: true,
		Short:                 "Print the shell completion script (bash, zsh, fish or powershell)",
		Long:                  long,
		Example:               example,
		ValidArgs:             Shells(),
		Args:                  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(cmd, args)
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	return cmd
}

// Complete takes the shell from the arguments and the command tree to describe from cmd.
func (o *Options) Complete(cmd *cobra.Command, args []string) {
	o.Shell = args[0]
	o.root = cmd.Root()
}

// Validate checks that the shell is supported.
func (o *Options) Validate() error {
	if _, ok := generators[o.Shell]; !ok {
		return exitcode.Errorf(exitcode.CannotRun, "shell %q is not supported: use one of %s",
			o.Shell, strings.Join(Shells(), ", "))
	}
	return nil
}

// Run prints the script.
func (o *Options) Run() error {
	if err := generators[o.Shell](o.root, o.Out); err != nil {
		return fmt.Errorf("writing the %s completion script: %w", o.Shell, err)
	}
	return nil
}
