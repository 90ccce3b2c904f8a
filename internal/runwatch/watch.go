package runwatch

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"

	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Watch keeps the latest Job and pods of one run in a local cache, fed by informers: they list, then watch,
// and list again after a watch expires or the API server restarts, so the state is always current and
// decisions are made from it (level-driven), never from counting events.
type Watch struct {
	name      string
	namespace string
	client    kubernetes.Interface
	jobs      batchlisters.JobNamespaceLister
	pods      corelisters.PodNamespaceLister
	selector  labels.Selector
	// podSelector chooses the pods Pod and Pods return: selector, or one shard's pods of it.
	podSelector labels.Selector
	changed     chan struct{}

	// Health, when set, tells whether the client's requests reach the API server (see APIHealth).
	Health *APIHealth

	mu sync.Mutex
	// failingSince is when the informers reported a failed list or watch, zero while they succeed.
	failingSince time.Time
	lastErr      error
}

// WatchRun starts watching the run name in namespace and returns once the cache holds the current state.
// It stops when ctx ends.
func WatchRun(ctx context.Context, client kubernetes.Interface, namespace, name string) (*Watch, error) {
	return watchSelected(ctx, client, namespace, name, labels.SelectorFromSet(labels.Set{runspec.LabelRun: name}))
}

// WatchShard watches the run name in namespace as WatchRun does, but Pod and Pods return only the pods of
// one shard of a sharded run (their completion index).
func WatchShard(ctx context.Context, client kubernetes.Interface, namespace, name string, shard int) (*Watch, error) {
	w, err := WatchRun(ctx, client, namespace, name)
	if err != nil {
		return nil, err
	}
	w.podSelector = labels.SelectorFromSet(labels.Set{runspec.LabelRun: name, runspec.LabelShard: strconv.Itoa(shard)})
	return w, nil
}

// WatchSelector watches the Jobs and pods selector matches in namespace; Job() then returns nil, Pods() all.
func WatchSelector(ctx context.Context, client kubernetes.Interface, namespace string, selector labels.Selector) (*Watch, error) {
	return watchSelected(ctx, client, namespace, "", selector)
}

func watchSelected(ctx context.Context, client kubernetes.Interface, namespace, name string, selector labels.Selector) (*Watch, error) {
	// Informers retry forever: one plain request first turns an unreachable API server or a missing
	// permission into an error instead of a hang.
	if _, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String(), Limit: 1}); err != nil {
		return nil, fmt.Errorf("listing pods in namespace %q: %w", namespace, err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector.String() }))
	w := &Watch{
		name:        name,
		namespace:   namespace,
		client:      client,
		jobs:        factory.Batch().V1().Jobs().Lister().Jobs(namespace),
		pods:        factory.Core().V1().Pods().Lister().Pods(namespace),
		selector:    selector,
		podSelector: selector,
		changed:     make(chan struct{}, 1),
	}
	notify := func(any) {
		select {
		case w.changed <- struct{}{}:
		default: // a notification is already pending: the reader will see the latest state anyway
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
		DeleteFunc: notify,
	}
	for _, inf := range []cache.SharedIndexInformer{factory.Batch().V1().Jobs().Informer(), factory.Core().V1().Pods().Informer()} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, err
		}
		if err := inf.SetWatchErrorHandlerWithContext(w.watchFailed); err != nil {
			return nil, err
		}
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("watching %s of run %q: %w", typ, name, context.Cause(ctx))
		}
	}
	notify(nil)
	return w, nil
}

// watchFailed records that an informer's list or watch failed; the informer retries by itself.
func (w *Watch) watchFailed(ctx context.Context, _ *cache.Reflector, err error) {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return // stopped on purpose
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failingSince.IsZero() {
		w.failingSince = time.Now()
	}
	w.lastErr = err
}

// Unreachable tells how long the API server has been failing the watches' requests, with the last error;
// 0 when it answers. After a failure it asks the API server once, so that a watch that recovered without
// news (nothing changed meanwhile) is not taken for an unreachable server. Informers retry forever: this is
// what lets a follower give up on an API server that is gone for good.
func (w *Watch) Unreachable(ctx context.Context) (time.Duration, error) {
	w.mu.Lock()
	since, lastErr := w.failingSince, w.lastErr
	w.mu.Unlock()
	if hs, herr := w.Health.failing(); !hs.IsZero() && (since.IsZero() || hs.Before(since)) {
		since, lastErr = hs, herr
	}
	if since.IsZero() {
		return 0, nil
	}
	_, err := w.client.CoreV1().Pods(w.namespace).List(ctx, metav1.ListOptions{LabelSelector: w.selector.String(), Limit: 1})
	if err == nil {
		w.mu.Lock()
		w.failingSince, w.lastErr = time.Time{}, nil
		w.mu.Unlock()
		return 0, nil
	}
	if ctx.Err() == nil {
		lastErr = err
	}
	return time.Since(since), lastErr
}

// Changed receives a value whenever the Job or a pod of the run may have changed.
func (w *Watch) Changed() <-chan struct{} { return w.changed }

// Job returns the run's Job as last seen, or nil if it does not exist (any more).
func (w *Watch) Job() *batchv1.Job {
	job, err := w.jobs.Get(w.name)
	if apierrors.IsNotFound(err) || err != nil {
		return nil
	}
	return job
}

// Pods returns every pod watched, oldest first.
func (w *Watch) Pods() []*corev1.Pod {
	pods, err := w.pods.List(w.podSelector)
	if err != nil {
		return nil
	}
	slices.SortFunc(pods, func(a, b *corev1.Pod) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return pods
}

// Pod returns the newest pod of the run, or nil while there is none.
func (w *Watch) Pod() *corev1.Pod {
	pods, err := w.pods.List(w.podSelector)
	if err != nil || len(pods) == 0 {
		return nil
	}
	newest := pods[0]
	for _, p := range pods[1:] {
		if newest.CreationTimestamp.Before(&p.CreationTimestamp) {
			newest = p
		}
	}
	return newest
}

// APIUnreachableBudget is how long a run is followed while the API server does not answer (a restart, a
// control-plane upgrade) before the plugin gives up on it.
const APIUnreachableBudget = time.Minute

// APIGone returns the outcome of a run whose API server has not answered for APIUnreachableBudget; before
// that, while it does not answer, it says so on the status line.
func (w *Watch) APIGone(ctx context.Context, name string, progress reporter.Reporter) (outcome.Outcome, bool) {
	down, err := w.Unreachable(ctx)
	if down == 0 {
		return outcome.Outcome{}, false
	}
	if down < APIUnreachableBudget {
		progress.Status(fmt.Sprintf("the API server does not answer: waiting up to %s for it", APIUnreachableBudget))
		return outcome.Outcome{}, false
	}
	return outcome.Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: outcome.ReasonAPIUnreachable, Status: "API server unreachable",
		Message: fmt.Sprintf("the API server has not answered for %s (%v), so run %q cannot be followed: check the cluster and your connection; the run ends by itself (the holder gives up --hold after the test, the Job's deadline), or delete it with kubectl testrun delete %s",
			down.Round(time.Second), err, name, name)}, true
}
