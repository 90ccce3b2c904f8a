// Package list implements `kubectl testrun list`.
package list

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
)

var (
	long = templates.LongDesc(`
		List test runs: every Job that carries the plugin's labels, whoever created it (run, run --detach, or
		kubectl apply of run --dry-run=client -o yaml output). STATUS is Pending, Running, Passed, Failed,
		Error (the test could not run) or TimedOut; EXIT is the test's exit code once it ended, or the code
		the plugin would exit with when it could not run.`)

	example = templates.Examples(`
		# Runs in the current namespace
		kubectl testrun list

		# Runs in every namespace, with their pods and nodes
		kubectl testrun list -A -o wide

		# Run names only, for a script
		kubectl testrun list -l suite=api -o name`)
)

// Options holds the flags of the list command.
type Options struct {
	AllNamespaces bool
	Selector      string
	PrintFlags    *cmdkit.PrintFlags
	NoHeaders     bool

	factory *cmdkit.Factory
	clients cmdkit.Clients
	genericiooptions.IOStreams
}

// NewCmdList returns the list command.
func NewCmdList(f *cmdkit.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{factory: f, PrintFlags: cmdkit.NewPrintFlags("wide", "json", "yaml", "name"), IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "list [-A] [-l SELECTOR] [-o wide|json|yaml|name]",
		Aliases: []string{"ls"},
		Short:   "List test runs with their status, exit code, age and duration",
		Long:    long,
		Example: example,
		Args:    cobra.NoArgs,
		RunE:    cmdkit.RunE(o),
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", o.AllNamespaces, "List the runs of every namespace.")
	fl.StringVarP(&o.Selector, "selector", "l", o.Selector, "Only runs with these labels.")
	o.PrintFlags.AddFlags(cmd, "Output format: wide, json, yaml or name; empty for a table.")
	fl.BoolVar(&o.NoHeaders, "no-headers", o.NoHeaders, "Print the table without its header.")
	return cmd
}

// Complete builds the clients.
func (o *Options) Complete(*cobra.Command, []string) error {
	var err error
	o.clients, err = o.factory.Clients()
	return err
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if err := o.PrintFlags.Validate(); err != nil {
		return err
	}
	if _, err := labels.Parse(o.Selector); err != nil {
		return fmt.Errorf("-l %q: %w", o.Selector, err)
	}
	return nil
}

// Run lists the runs.
func (o *Options) Run(ctx context.Context) error {
	namespace := o.clients.Namespace
	if o.AllNamespaces {
		namespace = ""
	}
	selector, _ := labels.Parse(o.Selector)
	runs, err := cluster.ListRuns(ctx, o.clients.Client, namespace, selector)
	if err != nil {
		return err
	}
	switch o.PrintFlags.Output {
	case "json", "yaml":
		docs := make([]*outcome.Result, 0, len(runs))
		for _, r := range runs {
			docs = append(docs, r.Summary())
		}
		return cmdkit.PrintDocument(o.Out, o.PrintFlags.Output, map[string]any{"apiVersion": "testrun.dev/v1alpha1", "kind": "ResultList", "items": docs})
	case "name":
		for _, r := range runs {
			fmt.Fprintf(o.Out, "run/%s\n", r.Name())
		}
		return nil
	}
	if len(runs) == 0 {
		where := fmt.Sprintf("namespace %q", namespace)
		if namespace == "" {
			where = "any namespace"
		}
		fmt.Fprintf(o.ErrOut, "No runs found in %s.\n", where)
		return nil
	}
	printer := printers.NewTablePrinter(printers.PrintOptions{
		Wide: o.PrintFlags.Output == "wide", WithNamespace: o.AllNamespaces, NoHeaders: o.NoHeaders,
	})
	return printer.PrintObj(Table(runs, time.Now()), o.Out)
}

// Table renders runs as a kubectl table: NAME STATUS EXIT AGE DURATION, and POD NODE IMAGE when wide.
func Table(runs []cluster.Run, now time.Time) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string"},
		{Name: "Status", Type: "string"},
		{Name: "Exit", Type: "string"},
		{Name: "Age", Type: "string"},
		{Name: "Duration", Type: "string"},
		{Name: "Pod", Type: "string", Priority: 1},
		{Name: "Node", Type: "string", Priority: 1},
		{Name: "Image", Type: "string", Priority: 1},
	}}
	for _, r := range runs {
		exit := "-"
		if code, ok := r.ExitCode(); ok {
			exit = strconv.Itoa(code)
		}
		took := "-"
		if d, ok := r.Duration(); ok {
			took = duration.HumanDuration(d)
		}
		pod, node := "<none>", "<none>"
		if r.Pod != nil {
			pod = r.Pod.Name
			if r.Pod.Spec.NodeName != "" {
				node = r.Pod.Spec.NodeName
			}
		}
		image := ""
		if cs := r.Job.Spec.Template.Spec.Containers; len(cs) > 0 {
			image = cs[0].Image
		}
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells:  []any{r.Name(), r.Status(), exit, duration.HumanDuration(now.Sub(r.Job.CreationTimestamp.Time)), took, pod, node, image},
			Object: runtime.RawExtension{Object: r.Job},
		})
	}
	return t
}
