package cmdkit

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// PrintFlags is a verb's -o/--output flag and the formats it accepts.
type PrintFlags struct {
	// Output is the format asked for; "" is the verb's default (human-readable) output.
	Output  string
	formats []string
}

// NewPrintFlags returns the -o flag of a verb that prints the given formats.
func NewPrintFlags(formats ...string) *PrintFlags {
	return &PrintFlags{formats: formats}
}

// AddFlags binds -o/--output with its help text and completes its formats.
func (p *PrintFlags) AddFlags(cmd *cobra.Command, usage string) {
	cmd.Flags().StringVarP(&p.Output, "output", "o", p.Output, usage)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(p.formats, cobra.ShellCompDirectiveNoFileComp))
}

// Validate checks that the format is one the verb prints.
func (p *PrintFlags) Validate() error {
	if p.Output == "" || slices.Contains(p.formats, p.Output) {
		return nil
	}
	return fmt.Errorf("--output %q is not supported: use %s", p.Output, orList(p.formats))
}

// Document reports whether the format is a document (json or yaml) rather than text.
func (p *PrintFlags) Document() bool {
	return p.Output == "json" || p.Output == "yaml"
}

// Print prints v as a document in the chosen format (json or yaml).
func (p *PrintFlags) Print(w io.Writer, v any) error {
	return PrintDocument(w, p.Output, v)
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
