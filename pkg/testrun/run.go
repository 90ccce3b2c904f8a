package testrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
)

// Budgets of the steps around the test itself. Cleanup after a signal must fit in the ~10 s a CI system
// leaves between SIGINT and SIGKILL.
const (
	// logDrain bounds the wait for the log stream to deliver its last lines after the test container ended.
	logDrain = 30 * time.Second
	// settle bounds the wait for the pod and Job to finish after the holder was released.
	settle = 30 * time.Second
	// cleanupBudget bounds deleting the Job and waiting for its pods to go.
	cleanupBudget = 30 * time.Second
	// interruptedCleanupMargin is added to the test's grace period to bound deleting an interrupted run: the
	// kubelet's kill after the grace and the API's removal of the pod and then the Job.
	interruptedCleanupMargin = 4 * time.Second
	// DiagnoseBudget bounds gathering the diagnostics of a failed run.
	DiagnoseBudget = 20 * time.Second
	// InterruptedDiagnoseBudget is the same after SIGINT/SIGTERM: with the cleanup, it fits the ~10 s.
	InterruptedDiagnoseBudget = 2 * time.Second
)

// reasonInterrupted is the Outcome reason of a run stopped by a signal.
const reasonInterrupted = "Interrupted"

// Runner runs one test as a Job and follows it to its end.
type Runner struct {
	Client kubernetes.Interface
	// Exec runs commands in the pod (to release the holder).
	Exec podexec.Executor
	// Logs receives the test's output, line by line, as the pod prints it.
	Logs io.Writer
	// Progress tells a person what is going on (stderr); failure diagnostics go through it too.
	Progress *Progress
	// Keep leaves the Job in the cluster after the run, for inspection.
	Keep bool
	// ScheduleTimeout is how long the pod may stay unschedulable (e.g. while an autoscaler adds a node); 0
	// fails the run as soon as the scheduler finds no node.
	ScheduleTimeout time.Duration
	// DumpSelector adds the system under test to the diagnostics (see Diagnosis).
	DumpSelector string
	// Reports, when set, is the local directory the test's report directory is copied into when it ended.
	Reports string
	// Fetcher copies the reports (required with Reports).
	Fetcher *fetch.Fetcher
	// API, when set, wraps the transport of Client, so that an API server gone for APIUnreachableBudget
	// ends the run instead of leaving it waiting for --timeout.
	API *APIHealth
}

// tailLines is how many of the test's last lines a synthesized JUnit report carries.
const tailLines = 50

// Run creates the Job of spec, streams its logs, waits for the end decided from Job and pod status, prints
// diagnostics on failure, cleans up (unless Keep) and returns the result. The exit code the process should
// end with is Result.ExitCode; an error means the run could not be made or followed.
func (r *Runner) Run(ctx context.Context, spec Spec) (*Result, error) {
	started := time.Now()
	job, err := CreateJob(ctx, r.Client, spec)
	if err != nil {
		return nil, err
	}
	r.Progress.Printf("created job %s in namespace %s", job.Name, job.Namespace)

	tail := newTailBuffer(tailLines)
	outcome, pod, reports, err := r.follow(ctx, spec, tail)
	result := newResult(spec, outcome, pod, started)
	if err != nil {
		r.cleanup(ctx, spec, true)
		return result, err
	}
	if result.interrupted {
		r.Progress.Warnf("%s: deleting run %s, giving the test --grace-period %s to stop", outcome.Message, spec.Name, spec.grace())
		// Delete at once, so the test's grace period runs while the diagnostics are read (see cleanup).
		r.deleteJob(ctx, spec, true)
	}
	if r.Reports != "" {
		if reports == nil {
			reports = &Reports{Dir: r.Reports, Files: []ReportFile{}, Error: "the test did not run to its end, so it left no reports"}
			summarize(r.Progress, reports, spec.Name, outcome, false, tail)
		}
		result.Reports = reports
		if result.failIfReportsLost() {
			r.Progress.Warnf("%s", result.Message)
		}
	}
	if outcome.ExitCode != exitcode.OK {
		if outcome.Message != "" && !result.interrupted {
			r.Progress.Warnf("%s", outcome.Message)
		}
		r.diagnose(ctx, spec, outcome, pod, result.Reports, tail)
	}
	r.cleanup(ctx, spec, result.interrupted)
	return result, nil
}

// diagnose prints the diagnostics of a failed run and, with reports, saves them next to the reports (with the
// tail of the test's output, which stderr does not repeat) so a CI system can keep them as an artifact.
func (r *Runner) diagnose(ctx context.Context, spec Spec, o Outcome, pod *corev1.Pod, reports *Reports, tail *tailBuffer) {
	w := r.Progress.BlockWriter()
	saved, err := createDiagnostics(reports)
	if err != nil {
		r.Progress.Warnf("%v", err)
	}
	if saved != nil {
		defer func() {
			if err := saved.close(tail); err != nil {
				r.Progress.Warnf("%v", err)
				return
			}
			reports.Diagnostics = diagnosticsFile
			r.Progress.Printf("diagnostics saved in %s", saved.path)
		}()
		saved.header(spec, o)
		w = io.MultiWriter(w, saved)
	}
	// Diagnostics read the cluster after the end, also after an interrupt, within a budget.
	budget := DiagnoseBudget
	if o.Interrupted() {
		budget = InterruptedDiagnoseBudget
	}
	Diagnosis{Client: r.Client, DumpSelector: r.DumpSelector}.WriteWithin(ctx, w, budget, spec.Namespace, spec.Name, pod)
}

// CreateJob creates the Job of spec; an error carries exit code 125.
func CreateJob(ctx context.Context, client kubernetes.Interface, spec Spec) (*batchv1.Job, error) {
	job, err := client.BatchV1().Jobs(spec.Namespace).Create(ctx, BuildJob(spec), metav1.CreateOptions{})
	if err != nil {
		return nil, exitcode.Errorf(exitcode.CannotRun, "creating job %q in namespace %q: %w", spec.Name, spec.Namespace, err)
	}
	return job, nil
}

// Detached is the result of a run started with --detach: created, not followed.
func Detached(spec Spec, started time.Time) *Result {
	r := newResult(spec, Outcome{}, nil, started)
	r.Phase = PhaseStarted
	return r
}

// follow waits for the run to end and returns how it ended, the last state of its pod and, with Reports, the
// reports copied when the test ended.
func (r *Runner) follow(ctx context.Context, spec Spec, tail *tailBuffer) (Outcome, *corev1.Pod, *Reports, error) {
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	w, err := WatchRun(watchCtx, r.Client, spec.Namespace, spec.Name)
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx), nil, nil, nil
		}
		return Outcome{}, nil, nil, err
	}
	w.health = r.API
	var copier *reportCopier
	var reports *Reports
	if r.Reports != "" {
		copier = &reportCopier{client: r.Client, fetcher: r.Fetcher, progress: r.Progress, to: r.Reports, linger: runLinger(spec)}
	}
	r.Progress.Start()
	defer r.Progress.Stop()

	timeout := time.NewTimer(spec.timeout())
	defer timeout.Stop()
	events := newEventWatch(r.Client, r.ScheduleTimeout)
	defer events.stop()
	var (
		logs      *logStream
		ended     *Outcome // the outcome at the moment the test container terminated
		settleBy  <-chan time.Time
		seenJob   bool
		lastState Outcome
		pod       *corev1.Pod
	)
	defer func() {
		if logs != nil {
			logs.stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return interrupted(ctx), pod, reports, nil
		case <-timeout.C:
			return Outcome{Done: true, ExitCode: exitcode.Timeout, Reason: reasonDeadline,
				Message: fmt.Sprintf("the test did not end within --timeout %s: raise --timeout, or look at the diagnostics below for where it hung", spec.timeout())}, pod, reports, nil
		case <-settleBy:
			// The holder was released but the pod did not finish in time: the test's own code is known anyway.
			return *ended, pod, reports, nil
		case <-events.C():
			if o, gone := apiGone(ctx, w, spec.Name, r.Progress); gone {
				return o, pod, reports, nil
			}
		case <-w.Changed():
		}
		job := w.Job()
		if job != nil {
			seenJob = true
		} else if seenJob {
			return Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: "JobDeleted",
				Message: fmt.Sprintf("job %q was deleted by someone else while the test ran: check who deletes jobs in namespace %q", spec.Name, spec.Namespace)}, pod, reports, nil
		}
		if p := w.Pod(); p != nil {
			pod = p
		}
		o := events.refine(ctx, job, pod, Classify(job, pod))
		if o.Status != lastState.Status {
			r.Progress.Status(o.Status)
		}
		lastState = o

		if logs == nil && pod != nil && containerEverStarted(pod, TestContainer) {
			logs = r.startLogs(ctx, w, spec.Namespace, pod.Name, tail)
		}
		if copier != nil && !o.Done {
			copier.prepare(ctx, pod)
			if err := copier.broken(pod); err != nil && ended == nil && !o.TestEnded {
				return Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: ReasonHelperImage, Message: err.Error()}, pod, reports, nil
			}
		}
		if o.TestEnded && ended == nil {
			ended = &o
			if logs != nil {
				logs.wait(logDrain)
			}
			if copier != nil && !o.Done {
				reports = copier.copy(ctx, pod)
				if reports.Error != "" {
					r.Progress.Warnf("reports: %s", reports.Error)
				}
				// Summarised before the release, which leaves the summary in the pod (see FetchRecord).
				summarize(r.Progress, reports, spec.Name, o, o.ExitCode == exitcode.OK, tail)
			}
			var rec *FetchRecord
			if reports != nil && reports.Error == "" {
				rec = newFetchRecord(reports, time.Now())
			}
			if err := releaseHolder(ctx, r.Exec, spec.Namespace, pod.Name, rec); err != nil {
				r.Progress.Warnf("could not release the holder container (the test's exit code is known, the job is deleted anyway): %v", err)
				return o, pod, reports, nil
			}
			settleBy = time.After(settle)
		}
		if o.Done {
			if ended != nil && !o.TestEnded {
				// The pod ended in a way Classify no longer reads as the test's (e.g. deleted): keep the test's code.
				return *ended, pod, reports, nil
			}
			return o, pod, reports, nil
		}
	}
}

// APIUnreachableBudget is how long a run is followed while the API server does not answer (a restart, a
// control-plane upgrade) before the plugin gives up on it.
const APIUnreachableBudget = time.Minute

// apiGone returns the outcome of a run whose API server has not answered for APIUnreachableBudget; before
// that, while it does not answer, it says so on the status line.
func apiGone(ctx context.Context, w *Watch, name string, progress *Progress) (Outcome, bool) {
	down, err := w.Unreachable(ctx)
	if down == 0 {
		return Outcome{}, false
	}
	if down < APIUnreachableBudget {
		progress.Status(fmt.Sprintf("the API server does not answer: waiting up to %s for it", APIUnreachableBudget))
		return Outcome{}, false
	}
	return Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: reasonAPIUnreachable, Status: "API server unreachable",
		Message: fmt.Sprintf("the API server has not answered for %s (%v), so run %q cannot be followed: check the cluster and your connection; the run ends by itself (the holder gives up --hold after the test, the Job's deadline), or delete it with kubectl testrun delete %s",
			down.Round(time.Second), err, name, name)}, true
}

// interrupted is the outcome of a run stopped by a signal (or any cancellation of ctx).
func interrupted(ctx context.Context) Outcome {
	return Outcome{Done: true, ExitCode: exitcode.Code(ctx, nil), Reason: reasonInterrupted, Message: context.Cause(ctx).Error()}
}

// cleanup deletes the Job; its pods go with it. It waits, within a budget, until no pod of the run is left,
// so that "nothing remains" holds when it returns.
//
// An interrupted run was deleted already, in the foreground: the Job stays, terminating, until the garbage
// collector deleted its pods, each with the test's grace period (Spec.Grace); the kubelet kills a test that
// ignores SIGTERM when it ends. Its budget is that grace plus a margin from the interrupt, so that nothing
// is left, and the plugin has exited, within the ~10 s a CI system leaves between SIGINT and SIGKILL.
func (r *Runner) cleanup(ctx context.Context, spec Spec, interrupted bool) {
	if r.Keep {
		r.Progress.Printf("kept job %s in namespace %s (--keep): delete it with kubectl delete job %s -n %s", spec.Name, spec.Namespace, spec.Name, spec.Namespace)
		return
	}
	budget := cleanupBudget
	if interrupted {
		budget = spec.grace() + interruptedCleanupMargin
	}
	if !r.deleteJob(ctx, spec, interrupted) {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	selector := labels.SelectorFromSet(labels.Set{LabelRun: spec.Name}).String()
	for {
		pods, err := r.Client.CoreV1().Pods(spec.Namespace).List(cctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil && len(pods.Items) == 0 {
			_, err = r.Client.BatchV1().Jobs(spec.Namespace).Get(cctx, spec.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				r.Progress.Printf("deleted job %s", spec.Name)
				return
			}
		}
		select {
		case <-cctx.Done():
			r.Progress.Warnf("job %s is deleted; its pod is still terminating and will be removed by the cluster", spec.Name)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// deleteJob deletes the run's Job, unless Keep, and says whether it did. In the foreground, the Job stays
// until its pods are gone, so that the diagnostics of an interrupted run can still describe it.
func (r *Runner) deleteJob(ctx context.Context, spec Spec, foreground bool) bool {
	if r.Keep {
		return false
	}
	propagation := metav1.DeletePropagationBackground
	if foreground {
		propagation = metav1.DeletePropagationForeground
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), interruptedCleanupMargin)
	defer cancel()
	err := r.Client.BatchV1().Jobs(spec.Namespace).Delete(cctx, spec.Name, metav1.DeleteOptions{PropagationPolicy: &propagation})
	if err != nil && !apierrors.IsNotFound(err) {
		r.Progress.Warnf("could not delete job %q in namespace %q: %v: delete it with kubectl delete job %s -n %s", spec.Name, spec.Namespace, err, spec.Name, spec.Namespace)
		return false
	}
	return true
}

// logStream is the log follower of the test container running in the background.
type logStream struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (r *Runner) startLogs(ctx context.Context, w *Watch, namespace, pod string, tail *tailBuffer) *logStream {
	lctx, cancel := context.WithCancel(ctx)
	s := &logStream{cancel: cancel, done: make(chan struct{})}
	f := &LogFollower{
		Client: r.Client,
		Source: LogSource{Namespace: namespace, Pod: pod, Container: TestContainer},
		Out:    io.MultiWriter(r.Logs, tail),
		Terminated: func() bool {
			p := w.Pod()
			return p == nil || p.Name != pod || containerEnded(p, TestContainer)
		},
		Gap: func(from, to time.Time) { r.Progress.Warnf("%s", GapWarning(from, to)) },
	}
	go func() {
		defer close(s.done)
		if err := f.Follow(lctx); err != nil && !errors.Is(err, context.Canceled) {
			s.err = err
			r.Progress.Warnf("log stream: %v", err)
		}
	}()
	return s
}

// wait waits up to d for the stream to end by itself.
func (s *logStream) wait(d time.Duration) {
	select {
	case <-s.done:
	case <-time.After(d):
	}
}

func (s *logStream) stop() {
	s.cancel()
	<-s.done
}
