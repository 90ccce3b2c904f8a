// Package plugins implements `kubectl testrun plugins`: list the test definitions a run can use, those of
// the working directory's .testrun/ and the shipped plugins.
package plugins

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	shipped "github.com/kubectl-testrun/kubectl-testrun/plugins"
)

// AnnotationSource is set on each definition -o json|yaml prints: "shipped", or the file it was read from.
const AnnotationSource = "testrun.dev/source"

var (
	long = templates.LongDesc(`
		List the test definitions kubectl testrun run can use: those of the working directory's .testrun/
		directory and the plugins shipped in the binary, with their labels (which run --selector matches), a
		description and what their image must contain.

		A definition of .testrun/ with the name of a shipped plugin shadows it for run --definition; run
		--plugin always takes the shipped one. Every file is parsed strictly, so this also checks .testrun/:
		a file that does not parse is an error naming the file, the line and the field. The format is
		described in docs/definitions.md.`)

	example = templates.Examples(`
		# List the definitions and plugins
		kubectl testrun plugins

		# Show what each one's image must contain
		kubectl testrun plugins -o wide

		# Print the pytest plugin as a definition run -f accepts, to start one of your own from it
		kubectl testrun plugins pytest -o yaml > .testrun/api-tests.yaml`)
)

// Options holds the flags of the plugins command.
type Options struct {
	PrintFlags *cmdkit.PrintFlags
	// DefinitionsDir is the repository's definitions directory, relative to the working directory.
	DefinitionsDir string
	// Plugins holds the shipped definitions.
	Plugins fs.FS

	names []string
	genericiooptions.IOStreams
}

// NewOptions returns the defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{PrintFlags: cmdkit.NewPrintFlags("wide", "json", "yaml"), DefinitionsDir: definition.LocalDir, Plugins: shipped.FS, IOStreams: streams}
}

// NewCmdPlugins returns the plugins command.
func NewCmdPlugins(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(streams)
	cmd := &cobra.Command{
		Use:                   "plugins [NAME...] [-o wide|json|yaml]",
		DisableFlagsInUseLine: true,
		Short:                 "List the test definitions of ./.testrun/ and the shipped plugins",
		Long:                  long,
		Example:               example,
		RunE:                  cmdkit.RunE(o),
	}
	o.PrintFlags.AddFlags(cmd, "Output format: wide (with what the image needs) or json or yaml (for one NAME the TestDefinition, which run -f accepts; else a TestDefinitionList).")
	return cmd
}

// Complete takes the names to show.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	o.names = args
	return nil
}

// Validate checks --output.
func (o *Options) Validate() error {
	return o.PrintFlags.Validate()
}

// entry is one row: a definition and where it comes from.
type entry struct {
	def    *definition.Definition
	source string
}

// Run lists the definitions.
func (o *Options) Run(context.Context) error {
	catalog, err := definition.Discover(os.DirFS(o.DefinitionsDir), o.DefinitionsDir, o.Plugins)
	if err != nil {
		return exitcode.New(exitcode.CannotRun, err)
	}
	var entries []entry
	for _, d := range catalog.Local {
		entries = append(entries, entry{def: d, source: d.Source.File})
	}
	for _, d := range catalog.Shipped {
		source := string(definition.OriginShipped)
		if slices.ContainsFunc(catalog.Local, func(l *definition.Definition) bool { return l.Metadata.Name == d.Metadata.Name }) {
			source += " (shadowed)"
		}
		entries = append(entries, entry{def: d, source: source})
	}
	if len(o.names) > 0 {
		entries = slices.DeleteFunc(entries, func(e entry) bool { return !slices.Contains(o.names, e.def.Metadata.Name) })
		for _, name := range o.names {
			if !slices.ContainsFunc(entries, func(e entry) bool { return e.def.Metadata.Name == name }) {
				return exitcode.Errorf(exitcode.CannotRun, "no definition named %q in %s/ or among the shipped plugins: run kubectl testrun plugins to list them", name, o.DefinitionsDir)
			}
		}
	}
	switch o.PrintFlags.Output {
	case "json", "yaml":
		return o.printDocuments(entries)
	}
	return o.printTable(entries)
}

// printDocuments prints the whole definitions as a TestDefinitionList, each annotated with its source; for
// one NAME, the TestDefinition alone, as run -f reads it, to start a definition of one's own from.
func (o *Options) printDocuments(entries []entry) error {
	if len(o.names) == 1 && len(entries) == 1 {
		return cmdkit.PrintDocument(o.Out, o.PrintFlags.Output, entries[0].def)
	}
	items := make([]definition.Definition, 0, len(entries))
	for _, e := range entries {
		d := *e.def
		d.Metadata.Annotations = maps.Clone(d.Metadata.Annotations)
		if d.Metadata.Annotations == nil {
			d.Metadata.Annotations = map[string]string{}
		}
		d.Metadata.Annotations[AnnotationSource] = e.source
		items = append(items, d)
	}
	return cmdkit.PrintDocument(o.Out, o.PrintFlags.Output, map[string]any{"apiVersion": definition.APIVersion, "kind": "TestDefinitionList", "items": items})
}

// printTable prints one row per definition; -o wide adds what the image needs.
func (o *Options) printTable(entries []entry) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintln(o.ErrOut, "No definitions found.")
		return err
	}
	w := printers.GetNewTabWriter(o.Out)
	header := "NAME\tSOURCE\tLABELS\tDESCRIPTION"
	if o.PrintFlags.Output == "wide" {
		header += "\tREQUIRES"
	}
	fmt.Fprintln(w, header)
	for _, e := range entries {
		row := []string{e.def.Metadata.Name, e.source, labelString(e.def.Metadata.Labels), orNone(e.def.Description())}
		if o.PrintFlags.Output == "wide" {
			row = append(row, orNone(strings.Join(strings.Fields(e.def.Spec.Requires), " ")))
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	return w.Flush()
}

func labelString(labels map[string]string) string {
	if len(labels) == 0 {
		return "<none>"
	}
	pairs := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		pairs = append(pairs, k+"="+labels[k])
	}
	return strings.Join(pairs, ",")
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
