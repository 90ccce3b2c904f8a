package run

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/input"
)

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

// catalog reads the shipped plugins, the global configuration of the working directory's .testrun/ and,
// with all, every definition there.
func (o *Options) catalog(all bool) (*definition.Catalog, error) {
	if all {
		return definition.Discover(os.DirFS(o.DefinitionsDir), o.DefinitionsDir, o.Plugins)
	}
	return definition.DiscoverShipped(os.DirFS(o.DefinitionsDir), o.DefinitionsDir, o.Plugins)
}

// definitions returns the definitions -f, --definition, --plugin or --selector chose; none for a plain run.
// data is the content of -f, read once by Complete.
func (o *Options) definitions(catalog *definition.Catalog, data []byte) ([]*definition.Definition, error) {
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
