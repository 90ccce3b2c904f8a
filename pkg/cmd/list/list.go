// Package list implements `kubectl testrun list`.
package list

import (
	"context"
	"errors"
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
	"k8s.io/kubectl/pkg/cmd/get"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
)

var (
	long = templates.LongDesc(`
		List test runs: every Job that carries the plugin's labels, whoever created it (run, run --detach, or
		kubectl apply of run --dry-run=client -o yaml output). STATUS is Pending, Running, Passed, Failed,
		Error (the test could not run) or TimedOut; EXIT is the test's exit code once it ended, or the code
		the plugin would exit with when it could not run. A sharded run (run --shards) is one row: SHARDS says
		how many of its shards ended, of how many, and it ends as its failing shard of the lowest index; -o
		json has a row per shard (shards[]).

		-o jsonpath, go-template and custom-columns, and --sort-by, apply to the document -o json prints (a
		ResultList whose items carry the Job's metadata), with kubectl's own printers and sorter. --template
		without -o is a go-template, as in kubectl get.`)

	example = templates.Examples(`
		# Runs in the current namespace
		kubectl testrun list

		# Runs in every namespace, with their pods and nodes
		kubectl testrun list -A -o wide

		# Run names only, for a script
		kubectl testrun list -l suite=api -o name

		# Name and exit code of each run, newest last, and the changes as they come
		kubectl testrun list -o custom-columns=NAME:.metadata.name,EXIT:.exitCode --sort-by .metadata.creationTimestamp
		kubectl testrun list -w`)
)

// Options holds the flags of the list command.
type Options struct {
	AllNamespaces bool
	Selector      string
	PrintFlags    *cmdkit.PrintFlags
	ShowLabels    bool
	// SortBy is a JSONPath of the result document (-o json) the runs are sorted by, as kubectl get sorts.
	SortBy string
	// Watch prints the runs, then each run again whenever its status changes, until interrupted.
	Watch bool

	factory *cmdkit.Factory
	clients cmdkit.Clients
	genericiooptions.IOStreams
}

// NewCmdList returns the list command.
func NewCmdList(f *cmdkit.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{factory: f, PrintFlags: cmdkit.NewPrintFlags("wide", "json", "yaml", "name").WithTemplates(), IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "list [-A] [-l SELECTOR] [-w] [--sort-by JSONPATH] [-o FORMAT]",
		Aliases: []string{"ls"},
		Short:   "List test runs with their status, exit code, age and duration",
		Long:    long,
		Example: example,
		Args:    cobra.NoArgs,
		RunE:    cmdkit.RunE(o),
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", o.AllNamespaces, "List the runs of every namespace.")
	cmdkit.AddSelectorFlag(fl, &o.Selector, "Only runs with these labels.")
	o.PrintFlags.AddFlags(cmd, "Output format: wide, json, yaml, name, jsonpath=, jsonpath-file=, go-template=, go-template-file=, custom-columns= or custom-columns-file=; empty for a table. Templates apply to the -o json document.")
	fl.BoolVar(&o.PrintFlags.NoHeaders, "no-headers", o.PrintFlags.NoHeaders, "Print the table (or custom columns) without its header.")
	fl.BoolVar(&o.ShowLabels, "show-labels", o.ShowLabels, "Add a LABELS column with the labels of each run's Job.")
	fl.StringVar(&o.SortBy, "sort-by", o.SortBy, "Sort the runs by this JSONPath of the -o json document, e.g. '{.metadata.creationTimestamp}' or .durationSeconds.")
	fl.BoolVarP(&o.Watch, "watch", "w", o.Watch, "After listing, print each run again when its status changes (new runs too), until interrupted.")
	return cmd
}

// Complete builds the clients; --template alone selects -o go-template, as in kubectl get.
func (o *Options) Complete(*cobra.Command, []string) error {
	o.PrintFlags.Complete()
	var err error
	o.clients, err = o.factory.Clients()
	return err
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if err := o.PrintFlags.Validate(); err != nil {
		return err
	}
	if o.SortBy != "" {
		if o.Watch {
			return errors.New("--sort-by does not go with --watch: the runs are printed as they change")
		}
		if _, err := sortPath(o.SortBy); err != nil {
			return err
		}
	}
	return cmdkit.ValidateSelector(o.Selector)
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
	if o.SortBy != "" {
		if runs, err = Sort(runs, o.SortBy); err != nil {
			return fmt.Errorf("--sort-by %q: %w", o.SortBy, err)
		}
	}
	if len(runs) == 0 && (o.PrintFlags.Output == "" || o.PrintFlags.Output == "wide") {
		where := fmt.Sprintf("namespace %q", namespace)
		if namespace == "" {
			where = "any namespace"
		}
		fmt.Fprintf(o.ErrOut, "No runs found in %s.\n", where)
	} else if err := o.print(runs, true); err != nil {
		return err
	}
	if !o.Watch {
		return nil
	}
	return o.watch(ctx, namespace, selector, runs)
}

// print prints runs in the chosen format; first says whether this is the first print (the table's header, a
// list document) or a change seen by --watch (rows, one document per run).
func (o *Options) print(runs []cluster.Run, first bool) error {
	p := o.PrintFlags
	switch {
	case p.Document() || p.Template():
		if first && !o.Watch {
			return p.Print(o.Out, cluster.ResultList(runs))
		}
		for _, r := range runs {
			if err := p.Print(o.Out, r.Summary()); err != nil {
				return err
			}
		}
		return nil
	case p.Output == "name":
		for _, r := range runs {
			fmt.Fprintf(o.Out, "run/%s\n", r.Name())
		}
		return nil
	}
	printer := printers.NewTablePrinter(printers.PrintOptions{
		Wide: p.Output == "wide", WithNamespace: o.AllNamespaces, NoHeaders: p.NoHeaders || !first, ShowLabels: o.ShowLabels,
	})
	return printer.PrintObj(Table(runs, time.Now()), o.Out)
}

// watch prints each run again whenever what its row shows changes (a new run, its status, its pod), from
// informers on the runs' Jobs and pods, until ctx ends; deleted runs are not printed.
func (o *Options) watch(ctx context.Context, namespace string, selector labels.Selector, listed []cluster.Run) error {
	shown := map[string]string{}
	for _, r := range listed {
		shown[runKey(r)] = fingerprint(r)
	}
	w, err := cluster.WatchRuns(ctx, o.clients.Client, namespace, selector)
	if err != nil {
		return err
	}
	for {
		var changed []cluster.Run
		for _, r := range w.Runs() {
			if f := fingerprint(r); shown[runKey(r)] != f {
				shown[runKey(r)] = f
				changed = append(changed, r)
			}
		}
		if len(changed) > 0 {
			if err := o.print(changed, len(shown) == len(changed) && len(listed) == 0 && o.PrintFlags.Output == ""); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.Changed():
		}
	}
}

func runKey(r cluster.Run) string { return r.Job.Namespace + "/" + r.Job.Name }

// fingerprint is what --watch compares: a run is printed again when its status, exit code, pod or number
// of shards ended changes.
func fingerprint(r cluster.Run) string {
	code, _ := r.ExitCode()
	f := fmt.Sprintf("%s %d %d", r.Status(), code, r.ShardsDone())
	if r.Pod != nil {
		f += " " + r.Pod.Name + " " + r.Pod.Spec.NodeName + " " + string(r.Pod.Status.Phase)
	}
	return f
}

// sortPath turns --sort-by into a JSONPath template, as kubectl get does ({.a.b} or .a.b).
func sortPath(field string) (string, error) {
	path, err := get.RelaxedJSONPathExpression(field)
	if err != nil {
		return "", fmt.Errorf("--sort-by %q is not a JSONPath of the result document (e.g. {.metadata.creationTimestamp}): %w", field, err)
	}
	return path, nil
}

// Sort returns runs sorted by field, a JSONPath of their result documents, with kubectl get's sorter.
func Sort(runs []cluster.Run, field string) ([]cluster.Run, error) {
	path, err := sortPath(field)
	if err != nil {
		return nil, err
	}
	objs := make([]runtime.Object, len(runs))
	for i, r := range runs {
		if objs[i], err = cmdkit.ToUnstructured(r.Summary()); err != nil {
			return nil, err
		}
	}
	sorter, err := get.SortObjects(nil, objs, path)
	if err != nil {
		return nil, err
	}
	sorted := make([]cluster.Run, len(runs))
	for i := range runs {
		sorted[i] = runs[sorter.OriginalPosition(i)]
	}
	return sorted, nil
}

// Table renders runs as a kubectl table: NAME STATUS EXIT SHARDS AGE DURATION, and POD NODE IMAGE when
// wide. SHARDS is how many shards of a sharded run ended, of how many ("2/3"), "-" for a run of one pod; a
// sharded run's POD is its newest pod.
func Table(runs []cluster.Run, now time.Time) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string"},
		{Name: "Status", Type: "string"},
		{Name: "Exit", Type: "string"},
		{Name: "Shards", Type: "string"},
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
		shards := "-"
		if len(r.Shards) > 0 {
			shards = fmt.Sprintf("%d/%d", r.ShardsDone(), len(r.Shards))
		}
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells:  []any{r.Name(), r.Status(), exit, shards, duration.HumanDuration(now.Sub(r.Job.CreationTimestamp.Time)), took, pod, node, image},
			Object: runtime.RawExtension{Object: r.Job},
		})
	}
	return t
}
