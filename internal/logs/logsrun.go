package logs

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/diagnose"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runwatch"

	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
)

// Options say what `kubectl testrun logs` shows.
type Options struct {
	// Follow streams until every selected container has terminated (not until a stream ends), waiting
	// through Pending; without it the logs are printed as they are now.
	Follow bool
	// Timestamps keeps the kubelet's timestamp on each line.
	Timestamps bool
	// SinceSeconds starts each log that many seconds back, SinceTime at that time.
	SinceSeconds *int64
	SinceTime    *metav1.Time
	// TailLines starts each log that many lines before its end.
	TailLines *int64
	// Container is the container whose log is shown: "" or runspec.TestContainer for the test's, FetchContainers
	// for every fetch container, or any container's name.
	Container string
	// AllContainers shows every container of each pod: the test, the holder and the fetch containers.
	AllContainers bool
	// Prefix, when set, says whether each line is prefixed with [pod/container]; nil prefixes them when more
	// than one log is shown.
	Prefix *bool
	// Warnings receives a line for each log that may have lost lines (see LogFollower.Gap); nil drops them.
	Warnings io.Writer
	// Progress receives, with Follow, the progress reports asked for with SIGUSR1 and the heartbeats of
	// Heartbeat; nil prints none. Run names the run followed in them ("" for runs chosen by a selector).
	Progress  reporter.Reporter
	Heartbeat runwatch.Heartbeat
	Run       string
}

// Logs writes the logs of the pods selector matches in namespace to out, each line prefixed with
// "[pod/container] " when more than one log is shown. With Follow it returns when every selected container
// of every pod has terminated and its log was read to the end, or when a run fails before its test starts.
func Logs(ctx context.Context, client kubernetes.Interface, namespace string, selector labels.Selector, o Options, out io.Writer) error {
	w, err := runwatch.WatchSelector(ctx, client, namespace, selector)
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex // one line at a time on out
		wg      sync.WaitGroup
		errs    []error
		started = map[string]bool{}
	)
	prefix := func() bool {
		if o.Prefix != nil {
			return *o.Prefix
		}
		return len(w.Pods()) > 1 || o.AllContainers || o.Container == FetchContainers
	}
	var pulse *runwatch.Pulse
	if o.Follow && o.Progress != nil {
		pulse = o.Heartbeat.Start(ctx)
		defer pulse.Stop()
		tail := diagnose.NewTailBuffer(runwatch.ReportLines)
		pulse.Watch, pulse.Run, pulse.Tail, pulse.Seen = w, o.Run, tail, runwatch.NewOutputSeen(pulse.Now)
		out = io.MultiWriter(out, tail, pulse.Seen)
	}
	start := func(pod *corev1.Pod, container string) {
		key := pod.Name + "/" + container
		if started[key] {
			return
		}
		started[key] = true
		f := &LogFollower{
			Client:       client,
			Source:       LogSource{Namespace: namespace, Pod: pod.Name, Container: container},
			Out:          &lineWriter{mu: &mu, out: out, prefix: "[" + key + "] ", enabled: prefix},
			Timestamps:   o.Timestamps,
			SinceSeconds: o.SinceSeconds,
			SinceTime:    o.SinceTime,
			TailLines:    o.TailLines,
			Once:         !o.Follow,
			Gap: func(from, to time.Time) {
				if o.Warnings != nil {
					mu.Lock()
					defer mu.Unlock()
					fmt.Fprintf(o.Warnings, "testrun: %s: %s\n", key, GapWarning(from, to))
				}
			},
			Terminated: func() bool {
				for _, p := range w.Pods() {
					if p.Name == pod.Name {
						return ContainerEnded(p, container)
					}
				}
				return true
			},
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.Follow(ctx); err != nil && !errors.Is(err, context.Canceled) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	for {
		pods := w.Pods()
		pending := false
		for _, pod := range pods {
			for _, c := range logContainers(pod, o) {
				switch {
				case ContainerEverStarted(pod, c):
					start(pod, c)
				case !o.Follow:
				default:
					// Scheduling is waited through (a node may come); a container that cannot start is not.
					o := outcome.Classify(nil, pod)
					if o.Done && !o.TestEnded && o.Reason != corev1.PodReasonUnschedulable {
						wg.Wait()
						// The code run would exit with for the same failure.
						return exitcode.Errorf(o.ExitCode, "pod %q: %s", pod.Name, o.Message)
					}
					pending = true
				}
			}
		}
		if !o.Follow && len(pods) == 0 {
			return exitcode.Errorf(exitcode.CannotRun, "no pod matches %q in namespace %q", selector, namespace)
		}
		if !o.Follow || (len(pods) > 0 && !pending && allEnded(pods, o)) {
			wg.Wait()
			if o.Container == FetchContainers && len(started) == 0 {
				return noFetchContainer(pods)
			}
			return errors.Join(errs...)
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return context.Cause(ctx)
		case <-pulse.Asked():
			pulse.Print(ctx, client, o.Progress, "", nil, true)
		case <-pulse.Beat():
			pulse.Print(ctx, client, o.Progress, "", nil, false)
		case <-w.Changed():
		}
	}
}

// FetchContainers is the Options.Container that shows the logs of every fetch container of a pod.
const FetchContainers = "fetch"

// noFetchContainer is the error of -c fetch when no pod had a fetch container: printing nothing and exiting 0
// would look like a fetch that said nothing.
func noFetchContainer(pods []*corev1.Pod) error {
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, fmt.Sprintf("%q", p.Name))
	}
	return exitcode.Errorf(exitcode.CannotRun, "no fetch container ran in pod %s: one is added only when the reports are fetched (run --reports, or kubectl testrun fetch); -c holder and -c test show the others",
		strings.Join(names, ", "))
}

// logContainers are the containers whose logs are shown: the test's, the one named, the fetch containers
// (those that exist yet), or all of them.
func logContainers(pod *corev1.Pod, o Options) []string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name)
	}
	switch {
	case o.AllContainers:
		return names
	case o.Container == FetchContainers:
		return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, fetch.ContainerPrefix) })
	case o.Container != "" && o.Container != runspec.TestContainer:
		return []string{o.Container}
	case slices.Contains(names, runspec.TestContainer):
		return []string{runspec.TestContainer}
	}
	// A pod the plugin did not make: its first container.
	return names[:1]
}

func allEnded(pods []*corev1.Pod, o Options) bool {
	for _, p := range pods {
		for _, c := range logContainers(p, o) {
			if !ContainerEnded(p, c) {
				return false
			}
		}
	}
	return true
}

// ContainerEverStarted reports whether the named container of pod has started at least once (it runs, or
// ended, or restarted), so that its logs can be asked for.
func ContainerEverStarted(pod *corev1.Pod, name string) bool {
	s := outcome.ContainerStatus(pod, name)
	return s != nil && (s.State.Running != nil || (s.State.Terminated != nil && !s.State.Terminated.StartedAt.IsZero()))
}

// ContainerEnded is true when the container terminated, or never will run because the pod finished.
func ContainerEnded(pod *corev1.Pod, name string) bool {
	s := outcome.ContainerStatus(pod, name)
	return (s != nil && s.State.Terminated != nil) || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// lineWriter writes whole lines under a shared lock, prefixed when enabled says so.
type lineWriter struct {
	mu      *sync.Mutex
	out     io.Writer
	prefix  string
	enabled func() bool
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.enabled() {
		if _, err := io.WriteString(l.out, l.prefix); err != nil {
			return 0, err
		}
	}
	return l.out.Write(b)
}
