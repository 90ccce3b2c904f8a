package cmdkit

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/cmd/get"
	"sigs.k8s.io/yaml"
)

// PrintFlags is a verb's -o/--output flag and the formats it accepts.
type PrintFlags struct {
	// Output is the format asked for; "" is the verb's default (human-readable) output.
	Output string
	// NoHeaders leaves the header out of custom-columns (the verb's --no-headers).
	NoHeaders bool
	formats   []string
	// templates and columns are kubectl's template formats, when the verb offers them (WithTemplates).
	templates *genericclioptions.KubeTemplatePrintFlags
	columns   *get.CustomColumnsPrintFlags
}

// WithTemplates lets -o take kubectl's template formats as well: jsonpath=, jsonpath-file=, go-template=,
// go-template-file= (cli-runtime's printers, with --template and --allow-missing-template-keys) and
// custom-columns=, custom-columns-file= (kubectl get's). They apply to the document -o json prints.
func (p *PrintFlags) WithTemplates() *PrintFlags {
	p.templates = genericclioptions.NewKubeTemplatePrintFlags()
	p.columns = get.NewCustomColumnsPrintFlags()
	return p
}

// Template reports whether the format is one of kubectl's template formats.
func (p *PrintFlags) Template() bool {
	if p.templates == nil || p.Output == "" || slices.Contains(p.formats, p.Output) {
		return false
	}
	name, _, _ := strings.Cut(p.Output, "=")
	return slices.Contains(p.templateFormats(), name)
}

// templateFormats are the names of the template formats offered.
func (p *PrintFlags) templateFormats() []string {
	if p.templates == nil {
		return nil
	}
	return append(p.templates.AllowedFormats(), p.columns.AllowedFormats()...)
}

// TemplatePrinter returns the printer of a template format; noHeaders leaves out custom-columns' header.
func (p *PrintFlags) TemplatePrinter(noHeaders bool) (printers.ResourcePrinter, error) {
	name, _, _ := strings.Cut(p.Output, "=")
	if slices.Contains(p.columns.AllowedFormats(), name) {
		p.columns.NoHeaders = noHeaders
		return p.columns.ToPrinter(p.Output)
	}
	return p.templates.ToPrinter(p.Output)
}

// NewPrintFlags returns the -o flag of a verb that prints the given formats.
func NewPrintFlags(formats ...string) *PrintFlags {
	return &PrintFlags{formats: formats}
}

// AddFlags binds -o/--output with its help text and completes its formats.
func (p *PrintFlags) AddFlags(cmd *cobra.Command, usage string) {
	cmd.Flags().StringVarP(&p.Output, "output", "o", p.Output, usage)
	completions := slices.Clone(p.formats)
	if p.templates != nil {
		p.templates.AddFlags(cmd)
		for _, f := range p.templateFormats() {
			completions = append(completions, f+"=")
		}
	}
	_ = cmd.RegisterFlagCompletionFunc("output", func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		directive := cobra.ShellCompDirectiveNoFileComp
		for _, c := range completions {
			if strings.HasPrefix(c, toComplete) {
				out = append(out, c)
				if strings.HasSuffix(c, "=") {
					// A template format is completed up to its "=", where the template follows without a space.
					directive |= cobra.ShellCompDirectiveNoSpace
				}
			}
		}
		return out, directive
	})
}

// Complete makes --template without -o a go-template, as kubectl get does: --template is a go-template's
// text, and nothing else reads it.
func (p *PrintFlags) Complete() {
	if p.Output == "" && p.templates != nil && p.templates.TemplateArgument != nil && *p.templates.TemplateArgument != "" {
		p.Output = "go-template"
	}
}

// Validate checks that the format is one the verb prints, and that a template parses.
func (p *PrintFlags) Validate() error {
	if p.Output == "" || slices.Contains(p.formats, p.Output) {
		return nil
	}
	if p.Template() {
		if _, err := p.TemplatePrinter(false); err != nil {
			return fmt.Errorf("--output %q: %w", p.Output, err)
		}
		return nil
	}
	if p.templates == nil {
		return fmt.Errorf("--output %q is not supported: use %s", p.Output, orList(p.formats))
	}
	return fmt.Errorf("--output %q is not supported: use %s, or a template format followed by =TEMPLATE: %s", p.Output, orList(p.formats), strings.Join(p.templateFormats(), ", "))
}

// Document reports whether the format is a document (json or yaml) rather than text.
func (p *PrintFlags) Document() bool {
	return p.Output == "json" || p.Output == "yaml"
}

// Print prints v as a document in the chosen format: json, yaml or a template format.
func (p *PrintFlags) Print(w io.Writer, v any) error {
	if !p.Template() {
		return PrintDocument(w, p.Output, v)
	}
	printer, err := p.TemplatePrinter(p.NoHeaders)
	if err != nil {
		return err
	}
	obj, err := ToUnstructured(v)
	if err != nil {
		return err
	}
	return printer.PrintObj(obj, w)
}

// ToUnstructured turns a document into the object kubectl's printers and sorter take: what its JSON says, as
// an *unstructured.UnstructuredList when it has items (custom-columns prints a row per item), else as an
// *unstructured.Unstructured.
func ToUnstructured(v any) (runtime.Object, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	items, ok := m["items"].([]any)
	if !ok {
		return &unstructured.Unstructured{Object: m}, nil
	}
	delete(m, "items")
	list := &unstructured.UnstructuredList{Object: m}
	for _, item := range items {
		if obj, ok := item.(map[string]any); ok {
			list.Items = append(list.Items, unstructured.Unstructured{Object: obj})
		}
	}
	return list, nil
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

// orList writes "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
