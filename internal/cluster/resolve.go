package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/agnivade/levenshtein"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// NotFoundError is the error of ResolveRun for a name that matches no run: it suggests the closest names.
type NotFoundError struct {
	// Ref is what was typed, Namespace where it was looked for.
	Ref, Namespace string
	// Suggestions are the closest run names, best first; Runs says whether the namespace holds any run.
	Suggestions []string
	Runs        bool
}

// Error says what was not found and what to do.
func (e *NotFoundError) Error() string {
	what := fmt.Sprintf("run %q not found in namespace %q", e.Ref, e.Namespace)
	list := "list the runs with kubectl testrun list -n " + e.Namespace
	switch {
	case len(e.Suggestions) > 0:
		return fmt.Sprintf("%s: did you mean %s? (%s)", what, strings.Join(e.Suggestions, ", "), list)
	case !e.Runs:
		return what + ", which holds no runs: start one with kubectl testrun run, or name the namespace with -n"
	}
	return what + ": " + list
}

// Resolved is a run found from what a user typed, and a note to show when the choice was not obvious.
type Resolved struct {
	Run Run
	// Note says which run was taken when several were started under the name given; "" otherwise.
	Note string
}

// ResolveRun finds the run that ref names in namespace, the way every verb names a run:
//   - the run name (smoke-x7k2p), also as run/NAME, the form list -o name prints;
//   - job/NAME (or jobs/NAME, job.batch/NAME): the run whose Job is NAME;
//   - the name given to run, before the random suffix (smoke, or the definition's name): the newest run
//     started under it, with a Note naming the others when there are several.
//
// A ref that matches nothing is a *NotFoundError that suggests the closest run names.
func ResolveRun(ctx context.Context, client kubernetes.Interface, namespace, ref string) (Resolved, error) {
	kind, name := SplitRunRef(ref)
	if name == "" {
		return Resolved{}, fmt.Errorf("%q names no run: give a run name, job/NAME or the name given to run", ref)
	}
	if kind == "job" {
		return resolveJob(ctx, client, namespace, name)
	}
	// A run name is a label value; anything else (pod/x, a typo with a space) can only be not found.
	if len(content.IsLabelValue(name)) == 0 {
		exact, err := ListRuns(ctx, client, namespace, labels.SelectorFromSet(labels.Set{runspec.LabelRun: name}))
		if err != nil {
			return Resolved{}, err
		}
		if len(exact) > 0 {
			return Resolved{Run: exact[len(exact)-1]}, nil
		}
	}
	all, err := ListRuns(ctx, client, namespace, nil)
	if err != nil {
		return Resolved{}, err
	}
	var started []Run
	for _, r := range all {
		if base, ok := runspec.BaseName(r.Name()); ok && base == name {
			started = append(started, r)
		}
	}
	if len(started) == 0 {
		return Resolved{}, notFound(ref, namespace, all)
	}
	newest := started[len(started)-1]
	res := Resolved{Run: newest}
	if len(started) > 1 {
		var others []string
		for _, r := range started[:len(started)-1] {
			others = append(others, r.Name())
		}
		slices.Reverse(others)
		res.Note = fmt.Sprintf("%d runs were started as %q: taking the newest, %s (the others: %s)",
			len(started), name, newest.Name(), strings.Join(others, ", "))
	}
	return res, nil
}

// SplitRunRef splits what a user typed into its kind ("run" or "job") and the name: run/NAME and NAME are
// runs, job/NAME, jobs/NAME, job.batch/NAME and jobs.batch/NAME are Jobs. Any other kind/ is left in the name,
// so that it is reported as not found with its kind.
func SplitRunRef(ref string) (kind, name string) {
	kind, name, ok := strings.Cut(ref, "/")
	if !ok {
		return "run", ref
	}
	switch kind {
	case "run", "runs":
		return "run", name
	case "job", "jobs", "job.batch", "jobs.batch":
		return "job", name
	}
	return "run", ref
}

// resolveJob finds the run whose Job is named name.
func resolveJob(ctx context.Context, client kubernetes.Interface, namespace, name string) (Resolved, error) {
	job, err := client.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		all, lerr := ListRuns(ctx, client, namespace, nil)
		if lerr != nil {
			return Resolved{}, lerr
		}
		return Resolved{}, notFound("job/"+name, namespace, all)
	case err != nil:
		return Resolved{}, fmt.Errorf("getting job %q in namespace %q: %w", name, namespace, err)
	}
	run, ok := job.Labels[runspec.LabelRun]
	if !ok || job.Labels[runspec.LabelManagedBy] != runspec.ManagedByValue {
		return Resolved{}, fmt.Errorf("job %q in namespace %q is not a test run: it lacks the labels %s=%s and %s that kubectl testrun run puts on its Jobs",
			name, namespace, runspec.LabelManagedBy, runspec.ManagedByValue, runspec.LabelRun)
	}
	runs, err := ListRuns(ctx, client, namespace, labels.SelectorFromSet(labels.Set{runspec.LabelRun: run}))
	if err != nil {
		return Resolved{}, err
	}
	for _, r := range runs {
		if r.Job.Name == name {
			return Resolved{Run: r}, nil
		}
	}
	return Resolved{}, &NotFoundError{Ref: "job/" + name, Namespace: namespace, Runs: true}
}

// notFound is the error for ref, which matches none of the runs of namespace.
func notFound(ref, namespace string, runs []Run) error {
	var names []string
	for _, r := range runs {
		names = append(names, r.Name())
	}
	return &NotFoundError{Ref: ref, Namespace: namespace, Suggestions: Closest(ref, names, 3), Runs: len(runs) > 0}
}

// Closest returns at most n of names that look like what a user meant by typed: those that start with it
// (newest last in names comes first), then those within a few edits of it, or of the name they were started
// as, closest first.
func Closest(typed string, names []string, n int) []string {
	_, typed = SplitRunRef(typed)
	type scored struct {
		name string
		d    int
	}
	var found []scored
	limit := max(2, len(typed)/3)
	for i := len(names) - 1; i >= 0; i-- {
		name := names[i]
		d := levenshtein.ComputeDistance(typed, name)
		if base, ok := runspec.BaseName(name); ok {
			d = min(d, levenshtein.ComputeDistance(typed, base))
		}
		switch {
		case strings.HasPrefix(name, typed):
			found = append(found, scored{name, 0})
		case d <= limit:
			found = append(found, scored{name, d})
		}
	}
	slices.SortStableFunc(found, func(a, b scored) int { return a.d - b.d })
	var out []string
	for _, s := range found[:min(n, len(found))] {
		out = append(out, s.name)
	}
	return out
}
