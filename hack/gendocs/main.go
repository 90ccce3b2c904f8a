// Command gendocs writes one Markdown page per kubectl testrun command into a directory, from the cobra
// command tree itself, so the reference in docs/commands cannot drift from the binary's help.
// Usage: go run ./hack/gendocs DIR   (make docs writes docs/commands; make verify checks it is current)
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs DIR")
		os.Exit(2)
	}
	if err := generate(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}

func generate(dir string) error {
	// Flag defaults derived from the environment (the kubeconfig flags' --cache-dir) must read the same on
	// every machine, the way kubectl's own reference shows them.
	if err := os.Setenv("HOME", "$HOME"); err != nil {
		return err
	}
	if err := os.Unsetenv("KUBECACHEDIR"); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Pages of commands that no longer exist must not linger.
	stale, err := filepath.Glob(filepath.Join(dir, "kubectl_testrun*.md"))
	if err != nil {
		return err
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	root := cmd.NewCmdTestrun(genericiooptions.NewTestIOStreamsDiscard())
	// The date footer would make every regeneration a change.
	disableAutoGenTag(root)
	return doc.GenMarkdownTree(root, dir)
}

func disableAutoGenTag(c *cobra.Command) {
	c.DisableAutoGenTag = true
	for _, sub := range c.Commands() {
		disableAutoGenTag(sub)
	}
}
