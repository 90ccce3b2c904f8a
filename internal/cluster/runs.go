package cluster

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/logs"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// Run is one test run as found in the cluster: its Job and its newest pod, whoever created them (the plugin,
// or kubectl apply of `run --dry-run=client -o yaml` output).
type Run struct {
	Job *batchv1.Job
	Pod *corev1.Pod
	// Shards are the newest pod of each shard of a sharded run (an Indexed Job of several completions), by
	// index, nil for a shard that has none; nil for a run of one pod.
	Shards []*corev1.Pod
}

// Name is the run name.
func (r Run) Name() string { return r.Job.Labels[runspec.LabelRun] }

// ShardCount is the number of shards of a sharded run: the completions of its Indexed Job; 0 for a run of
// one pod.
func ShardCount(job *batchv1.Job) int {
	if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion || job.Spec.Completions == nil || *job.Spec.Completions < 2 {
		return 0
	}
	return int(*job.Spec.Completions)
}

// Shard is shard i of a sharded run as a run of its own: the run's Job and the shard's pod.
func (r Run) Shard(i int) Run { return Run{Job: r.Job, Pod: r.Shards[i]} }

// Outcome is the run's state, decided as `run` decides it. A sharded run has ended when every shard has,
// and then ends as its failing shard of the lowest index, or passed.
func (r Run) Outcome() outcome.Outcome {
	if len(r.Shards) == 0 {
		return outcome.Classify(r.Job, r.Pod)
	}
	var failed *outcome.Outcome
	done := 0
	for i := range r.Shards {
		o := r.Shard(i).Outcome()
		if !o.Done && !o.TestEnded {
			continue
		}
		done++
		if o.ExitCode != exitcode.OK && failed == nil {
			o.Message = fmt.Sprintf("shard %d/%d: %s", i, len(r.Shards), o.Message)
			failed = &o
		}
	}
	switch {
	case done < len(r.Shards):
		return outcome.Outcome{Status: fmt.Sprintf("%d of %d shards ended", done, len(r.Shards))}
	case failed != nil:
		return *failed
	}
	return outcome.Outcome{TestEnded: true, ExitCode: exitcode.OK, Reason: "Completed", Message: "every shard passed", Status: "every shard passed"}
}

// ShardsDone is how many shards of a sharded run ended.
func (r Run) ShardsDone() int {
	done := 0
	for i := range r.Shards {
		if o := r.Shard(i).Outcome(); o.Done || o.TestEnded {
			done++
		}
	}
	return done
}

// Summary is the run as a result document, the one `run -o json` prints; a sharded run's has a row per
// shard, and every shard's pod.
func (r Run) Summary() *outcome.Result {
	if len(r.Shards) > 0 {
		return r.shardedSummary()
	}
	spec := runspec.Spec{Name: r.Name(), Namespace: r.Job.Namespace}
	res := outcome.NewResult(spec, r.Outcome(), r.Pod, r.Job.CreationTimestamp.Time)
	res.Metadata = &outcome.ResultMetadata{Name: r.Job.Name, Namespace: r.Job.Namespace, Labels: r.Job.Labels, CreationTimestamp: r.Job.CreationTimestamp}
	res.CompletionTime = outcome.EndTime(r.Job, r.Pod)
	res.DurationSeconds = 0
	if d, ok := r.Duration(); ok {
		res.DurationSeconds = d.Round(time.Millisecond).Seconds()
	}
	if !res.Interrupted && !r.Outcome().Done && !r.Outcome().TestEnded {
		res.Phase = PhaseRunning
		res.CompletionTime = nil
	}
	if r.Pod != nil {
		res.Fetched = outcome.FetchRecordOf(r.Pod)
	}
	return res
}

// shardedSummary is the result document of a sharded run: each shard's row as its own run's document says,
// the run's phase, exit code and times over all of them.
func (r Run) shardedSummary() *outcome.Result {
	res := Run{Job: r.Job}.Summary()
	o := r.Outcome()
	whole := outcome.NewResult(runspec.Spec{Name: r.Name(), Namespace: r.Job.Namespace}, o, nil, r.Job.CreationTimestamp.Time)
	res.Phase, res.ExitCode, res.Reason, res.Message = whole.Phase, whole.ExitCode, whole.Reason, whole.Message
	res.Shards = []outcome.ShardResult{}
	var last *metav1.Time
	for i := range r.Shards {
		s := r.Shard(i).Summary()
		row := outcome.ShardResult{Index: i, Phase: s.Phase, ExitCode: s.ExitCode, Reason: s.Reason, Message: s.Message, Fetched: s.Fetched}
		if p := r.Shards[i]; p != nil {
			row.Pod = p.Name
			row.CompletionTime = s.CompletionTime
			res.Pods = append(res.Pods, s.Pods...)
			if s.CompletionTime != nil && (last == nil || last.Before(s.CompletionTime)) {
				last = s.CompletionTime
			}
		}
		if s.Phase == PhaseRunning {
			row.CompletionTime, row.ExitCode = nil, 0
			if r.Shards[i] == nil {
				row.Phase = PhasePending // waiting for its pod, e.g. for a slot of --max-parallel
			}
		}
		res.Shards = append(res.Shards, row)
	}
	res.CompletionTime, res.DurationSeconds = nil, 0
	if d, ok := r.Duration(); ok {
		res.DurationSeconds = d.Round(time.Millisecond).Seconds()
	}
	if o.Done || o.TestEnded {
		res.CompletionTime = last
	} else {
		res.Phase, res.ExitCode, res.Reason, res.Message = PhaseRunning, 0, "", o.Status
	}
	return res
}

// ResultDocumentList is the document list -o json and describe -o json of several runs print.
type ResultDocumentList struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []*outcome.Result `json:"items"`
}

// ResultList returns the result documents of runs (Summary), as one list.
func ResultList(runs []Run) ResultDocumentList {
	l := ResultDocumentList{APIVersion: "testrun.dev/v1alpha1", Kind: "ResultList", Items: []*outcome.Result{}}
	for _, r := range runs {
		l.Items = append(l.Items, r.Summary())
	}
	return l
}

// PhaseRunning is the phase of a run that has not ended.
const PhaseRunning = "Running"

// PhasePending is the phase of a shard of a sharded run that has no pod yet.
const PhasePending = "Pending"

// Status is one word for a table: Pending, Running, Passed, Failed, Error or TimedOut.
func (r Run) Status() string {
	o := r.Outcome()
	switch {
	case o.TestEnded && o.ExitCode == 0:
		return outcome.PhasePassed
	case o.TestEnded:
		return outcome.PhaseFailed
	case o.Done && o.ExitCode == exitcode.Timeout:
		return outcome.PhaseTimedOut
	case o.Done:
		return outcome.PhaseError
	case r.Pod != nil && logs.ContainerEverStarted(r.Pod, runspec.TestContainer):
		return PhaseRunning
	}
	return PhasePending
}

// ExitCode returns the test's exit code once it ended.
func (r Run) ExitCode() (int, bool) {
	o := r.Outcome()
	return o.ExitCode, o.TestEnded || o.Done
}

// Duration is how long the test ran: from its container's start to its end, or to now while it runs; for
// a sharded run, from the first shard's start to the last one's end.
func (r Run) Duration() (time.Duration, bool) {
	if len(r.Shards) > 0 {
		var first, last time.Time
		for i := range r.Shards {
			s := outcome.ContainerStatus(r.Shards[i], runspec.TestContainer)
			var start, end time.Time
			switch {
			case s == nil:
				continue
			case s.State.Terminated != nil && !s.State.Terminated.StartedAt.IsZero():
				start, end = s.State.Terminated.StartedAt.Time, s.State.Terminated.FinishedAt.Time
			case s.State.Running != nil:
				start, end = s.State.Running.StartedAt.Time, time.Now()
			default:
				continue
			}
			if first.IsZero() || start.Before(first) {
				first = start
			}
			if end.After(last) {
				last = end
			}
		}
		return last.Sub(first), !first.IsZero()
	}
	if r.Pod == nil {
		return 0, false
	}
	s := outcome.ContainerStatus(r.Pod, runspec.TestContainer)
	switch {
	case s == nil:
		return 0, false
	case s.State.Terminated != nil && !s.State.Terminated.StartedAt.IsZero():
		return s.State.Terminated.FinishedAt.Sub(s.State.Terminated.StartedAt.Time), true
	case s.State.Running != nil:
		return time.Since(s.State.Running.StartedAt.Time), true
	}
	return 0, false
}

// ListRuns returns the runs in namespace (all namespaces when it is empty) that match selector, oldest first.
// Only Jobs carrying the plugin's labels are runs.
func ListRuns(ctx context.Context, client kubernetes.Interface, namespace string, selector labels.Selector) ([]Run, error) {
	selector, err := runSelector(selector)
	if err != nil {
		return nil, err
	}
	opts := metav1.ListOptions{LabelSelector: selector.String()}
	jobs, err := client.BatchV1().Jobs(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	pods, err := client.CoreV1().Pods(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing the pods of runs: %w", err)
	}
	jobPtrs := make([]*batchv1.Job, len(jobs.Items))
	for i := range jobs.Items {
		jobPtrs[i] = &jobs.Items[i]
	}
	podPtrs := make([]*corev1.Pod, len(pods.Items))
	for i := range pods.Items {
		podPtrs[i] = &pods.Items[i]
	}
	return groupRuns(jobPtrs, podPtrs), nil
}

// runSelector is selector narrowed to the plugin's runs: Jobs (and pods) with both of its labels.
func runSelector(selector labels.Selector) (labels.Selector, error) {
	managed, err := labels.NewRequirement(runspec.LabelManagedBy, selection.Equals, []string{runspec.ManagedByValue})
	if err != nil {
		return nil, err
	}
	hasRun, err := labels.NewRequirement(runspec.LabelRun, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	if selector == nil {
		selector = labels.Everything()
	}
	return selector.Add(*managed, *hasRun), nil
}

// groupRuns pairs each Job with the newest of its pods, and for a sharded run with the newest pod of each
// shard; the runs come oldest first.
func groupRuns(jobs []*batchv1.Job, pods []*corev1.Pod) []Run {
	newest := map[string]*corev1.Pod{}
	newer := func(key string, p *corev1.Pod) {
		if q := newest[key]; q == nil || q.CreationTimestamp.Before(&p.CreationTimestamp) {
			newest[key] = p
		}
	}
	for _, p := range pods {
		key := p.Namespace + "/" + p.Labels[runspec.LabelRun]
		newer(key, p)
		if i, ok := p.Labels[runspec.LabelShard]; ok {
			newer(key+"/"+i, p)
		}
	}
	runs := make([]Run, 0, len(jobs))
	for _, j := range jobs {
		key := j.Namespace + "/" + j.Labels[runspec.LabelRun]
		r := Run{Job: j, Pod: newest[key]}
		if n := ShardCount(j); n > 0 {
			r.Shards = make([]*corev1.Pod, n)
			for i := range n {
				r.Shards[i] = newest[key+"/"+strconv.Itoa(i)]
			}
		}
		runs = append(runs, r)
	}
	slices.SortStableFunc(runs, func(a, b Run) int {
		if c := a.Job.CreationTimestamp.Compare(b.Job.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Job.Namespace+"/"+a.Job.Name, b.Job.Namespace+"/"+b.Job.Name)
	})
	return runs
}

// RunWatch keeps the runs of a namespace that match a selector up to date, from informers on their Jobs and
// pods (level-driven: they list, watch, and list again when a watch expires).
type RunWatch struct {
	jobs, pods cache.Store
	changed    chan struct{}
}

// WatchRuns starts watching the runs of namespace (all namespaces when empty) that selector matches, until
// ctx ends; it returns once both informers have listed.
func WatchRuns(ctx context.Context, client kubernetes.Interface, namespace string, selector labels.Selector) (*RunWatch, error) {
	selector, err := runSelector(selector)
	if err != nil {
		return nil, err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector.String() }))
	w := &RunWatch{changed: make(chan struct{}, 1)}
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.notify() },
		UpdateFunc: func(any, any) { w.notify() },
		DeleteFunc: func(any) { w.notify() },
	}
	jobs := factory.Batch().V1().Jobs().Informer()
	pods := factory.Core().V1().Pods().Informer()
	for _, inf := range []cache.SharedIndexInformer{jobs, pods} {
		if _, err := inf.AddEventHandler(notify); err != nil {
			return nil, err
		}
	}
	w.jobs, w.pods = jobs.GetStore(), pods.GetStore()
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("watching runs: the %v informer did not sync: %w", typ, context.Cause(ctx))
		}
	}
	return w, nil
}

func (w *RunWatch) notify() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// Changed receives a value after the Jobs or pods changed.
func (w *RunWatch) Changed() <-chan struct{} { return w.changed }

// Runs returns the runs as they are now, oldest first.
func (w *RunWatch) Runs() []Run {
	var jobs []*batchv1.Job
	for _, o := range w.jobs.List() {
		jobs = append(jobs, o.(*batchv1.Job))
	}
	var pods []*corev1.Pod
	for _, o := range w.pods.List() {
		pods = append(pods, o.(*corev1.Pod))
	}
	return groupRuns(jobs, pods)
}

// GetRun returns the run named name in namespace.
func GetRun(ctx context.Context, client kubernetes.Interface, namespace, name string) (Run, error) {
	runs, err := ListRuns(ctx, client, namespace, labels.SelectorFromSet(labels.Set{runspec.LabelRun: name}))
	if err != nil {
		return Run{}, err
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("run %q not found in namespace %q: list the runs with kubectl testrun list -n %s", name, namespace, namespace)
	}
	return runs[len(runs)-1], nil
}

// DeleteOptions say how DeleteRuns deletes.
type DeleteOptions struct {
	// DryRun asks the API server to check the deletions without making them (--dry-run=server).
	DryRun bool
	// Wait deletes each Job in the foreground, so that it is gone only once its pods are, and waits for that;
	// without it the Job goes at once and its pods follow in the background.
	Wait bool
}

// DeleteRuns deletes the Jobs of runs, and their pods with them; it returns the runs deleted (all of them are
// tried) and the API server's refusals. With o.Wait it then waits until every deleted Job is gone, which in
// the foreground means its pods are gone too (nothing left holding a node's resources).
func DeleteRuns(ctx context.Context, client kubernetes.Interface, runs []Run, o DeleteOptions) ([]string, error) {
	var deleted []string
	var errs []string
	policy := metav1.DeletePropagationBackground
	if o.Wait && !o.DryRun {
		policy = metav1.DeletePropagationForeground
	}
	opts := metav1.DeleteOptions{PropagationPolicy: &policy}
	if o.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, r := range runs {
		// The Job's UID: a Job of the same name created since it was found is not this run.
		opts.Preconditions = &metav1.Preconditions{UID: ptr.To(r.Job.UID)}
		if r.Job.UID == "" {
			opts.Preconditions = nil
		}
		if err := client.BatchV1().Jobs(r.Job.Namespace).Delete(ctx, r.Job.Name, opts); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Sprintf("job %q in namespace %q: %v", r.Job.Name, r.Job.Namespace, err))
			continue
		}
		deleted = append(deleted, r.Name())
	}
	if len(errs) > 0 {
		return deleted, fmt.Errorf("deleting runs: %s", strings.Join(errs, "; "))
	}
	return deleted, nil
}

// WaitGone waits until the Jobs of runs no longer exist, from a watch of each (level-driven: a Job already
// gone when it is listed is done).
func WaitGone(ctx context.Context, client kubernetes.Interface, runs []Run) error {
	for _, r := range runs {
		jobs := client.BatchV1().Jobs(r.Job.Namespace)
		byName := fields.OneTermEqualSelector("metadata.name", r.Job.Name).String()
		// The client says whether it serves watch lists (a fake does not): the wrapper passes that on.
		lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.FieldSelector = byName
				return jobs.List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.FieldSelector = byName
				return jobs.Watch(ctx, o)
			},
		}, client)
		key := r.Job.Namespace + "/" + r.Job.Name
		gone := func(store cache.Store) (bool, error) {
			_, exists, err := store.GetByKey(key)
			return !exists, err
		}
		_, err := watchtools.UntilWithSync(ctx, lw, &batchv1.Job{}, gone, func(e watch.Event) (bool, error) {
			j, ok := e.Object.(*batchv1.Job)
			return e.Type == watch.Deleted && ok && j.Name == r.Job.Name, nil
		})
		if err != nil {
			return fmt.Errorf("waiting for run %q to be deleted: %w", r.Name(), err)
		}
	}
	return nil
}
