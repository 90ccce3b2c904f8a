package runner

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/diagnose"
	"github.com/kubectl-testrun/kubectl-testrun/internal/logs"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reports"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runwatch"

	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/upload"
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
	// podPollEvery is how often cleanup and suspend list the run's pods while they wait for them to go.
	podPollEvery = 200 * time.Millisecond
)

// Runner runs one test as a Job and follows it to its end.
type Runner struct {
	Client kubernetes.Interface
	// Exec runs commands in the pod (to release the holder).
	Exec podexec.Executor
	// Logs receives the test's output, line by line, as the pod prints it.
	Logs io.Writer
	// Progress tells a person what is going on (stderr); failure diagnostics go through it too.
	Progress reporter.Reporter
	// Keep leaves the Job in the cluster after the run, for inspection.
	Keep bool
	// ScheduleTimeout is how long the pod may stay unschedulable (e.g. while an autoscaler adds a node); 0
	// fails the run as soon as the scheduler finds no node.
	ScheduleTimeout time.Duration
	// DumpSelector adds the system under test to the diagnostics (see Diagnosis).
	DumpSelector string
	// FullDiagnostics prints the full diagnostics of a failed run (describe of the Job and pod, the system
	// under test) on stderr too, before its story; they are saved in a file anyway.
	FullDiagnostics bool
	// Reports, when set, is the local directory the test's report directory is copied into when it ended.
	Reports string
	// Fetcher copies the reports (required with Reports).
	Fetcher *fetch.Fetcher
	// Uploader sends the Spec's Uploads into the pod before the test starts; nil sends them through Exec
	// with upload.DefaultLimits.
	Uploader *upload.Uploader
	// API, when set, wraps the transport of Client, so that an API server gone for runwatch.APIUnreachableBudget
	// ends the run instead of leaving it waiting for --timeout.
	API *runwatch.APIHealth
	// Heartbeat is how often the run says by itself where it stands (--progress-every); a progress report
	// is printed whenever the context's interrupt.InfoRequests ask (SIGUSR1).
	Heartbeat runwatch.Heartbeat

	// shard, when set, makes the Runner follow one shard of a sharded run (RunShards), which creates and
	// deletes the Job.
	shard *shard
}

// Run creates the Job of spec, streams its logs, waits for the end decided from Job and pod status, prints
// diagnostics on failure, cleans up (unless Keep) and returns the result. The exit code the process should
// end with is Result.ExitCode; an error means the run could not be made or followed.
func (r *Runner) Run(ctx context.Context, spec runspec.Spec) (*outcome.Result, error) {
	started := time.Now()
	if r.shard == nil {
		job, err := CreateJob(ctx, r.Client, spec)
		if err != nil {
			return nil, err
		}
		r.Progress.Printf("created job %s in namespace %s", job.Name, job.Namespace)
	} else {
		started = r.shard.started
	}

	tail := diagnose.NewTailBuffer(diagnose.TailLines)
	oc, pod, got, err := r.follow(ctx, spec, tail)
	result := outcome.NewResult(spec, oc, pod, started)
	r.shard.ended(oc)
	if err != nil {
		r.cleanup(ctx, spec, true)
		return result, err
	}
	if result.Interrupted {
		r.Progress.Warnf("%s: deleting run %s, giving the test --grace-period %s to stop", oc.Message, spec.Name, spec.EffectiveGrace())
		// Delete at once, so the test's grace period runs while the diagnostics are read (see cleanup).
		r.deleteJob(ctx, spec, true)
	}
	if r.Reports != "" {
		if got == nil {
			got = &outcome.Reports{Dir: r.Reports, Files: []outcome.ReportFile{}, Error: "the test did not run to its end, so it left no reports"}
			reports.Summarize(r.Progress, got, spec.Name, oc, false, tail)
		}
		result.Reports = got
		if result.FailIfReportsLost() {
			r.Progress.Warnf("%s", result.Message)
		}
	}
	if oc.ExitCode != exitcode.OK {
		r.diagnose(ctx, spec, oc, pod, result, tail)
	}
	r.cleanup(ctx, spec, result.Interrupted)
	return result, nil
}

// diagnose tells the story of a failed run on stderr (what failed, the reason, the decisive events, the failed
// test cases, the last lines of output when they were not streamed, where the rest is), and saves the full
// diagnostics in a file: next to the reports, or in the temporary directory without them. The full
// diagnostics go to stderr too with FullDiagnostics.
func (r *Runner) diagnose(ctx context.Context, spec runspec.Spec, o outcome.Outcome, pod *corev1.Pod, result *outcome.Result, tail *diagnose.TailBuffer) {
	f := diagnose.Failure{Run: spec.Name, Namespace: spec.Namespace, Outcome: o, Pod: pod}
	dir := ""
	if got := result.Reports; got != nil {
		f.JUnit, dir = got.JUnit, got.Dir
	}
	// Diagnostics read the cluster after the end, also after an interrupt, within a budget.
	d := diagnose.Diagnosis{Client: r.Client, DumpSelector: r.DumpSelector}
	f, bundle := d.Explain(ctx, diagnose.BudgetAfter(o), f, dir, tail.String())
	if r.FullDiagnostics {
		_, _ = io.WriteString(r.Progress.BlockWriter(), bundle)
	}
	r.Progress.Warnf("%s", f.Headline())
	_, _ = io.WriteString(r.Progress.BlockWriter(), strings.Join(f.Story(), "\n")+"\n")
	result.Diagnostics = f.File
	if f.File != "" && dir != "" && f.File == diagnose.DiagnosticsPath(dir, spec.Name) {
		result.Reports.Diagnostics = diagnose.DiagnosticsFile
	}
}

// failedReports hides the JUnit summary printed when the reports come home: the story of a failed run
// tells it, with the rest, once.
type failedReports struct{ reporter.Reporter }

// Report implements reporter.Reporter.
func (failedReports) Report(string) {}

// CreateJob creates the Job of spec; an error carries exit code 125.
func CreateJob(ctx context.Context, client kubernetes.Interface, spec runspec.Spec) (*batchv1.Job, error) {
	job, err := runspec.Job(spec)
	if err != nil {
		return nil, exitcode.New(exitcode.CannotRun, err)
	}
	job, err = client.BatchV1().Jobs(spec.Namespace).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		return nil, exitcode.Errorf(exitcode.CannotRun, "creating job %q in namespace %q: %w", spec.Name, spec.Namespace, err)
	}
	return job, nil
}

// Detached is the result of a run started with --detach: created, not followed.
func Detached(spec runspec.Spec, started time.Time) *outcome.Result {
	r := outcome.NewResult(spec, outcome.Outcome{}, nil, started)
	r.Phase, r.CompletionTime, r.DurationSeconds = outcome.PhaseStarted, nil, 0
	return r
}

// follow waits for the run to end and returns how it ended, the last state of its pod and, with Reports, the
// reports copied when the test ended.
func (r *Runner) follow(ctx context.Context, spec runspec.Spec, tail *diagnose.TailBuffer) (outcome.Outcome, *corev1.Pod, *outcome.Reports, error) {
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	w, err := r.shard.watch(watchCtx, r.Client, spec)
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx), nil, nil, nil
		}
		return outcome.Outcome{}, nil, nil, err
	}
	w.Health = r.API
	var copier *reports.ReportCopier
	var got *outcome.Reports
	if r.Reports != "" {
		copier = &reports.ReportCopier{Client: r.Client, Fetcher: r.Fetcher, Progress: r.Progress, To: r.Reports, Linger: reports.RunLinger(spec),
			// The release that follows the copy ends the fetch container too.
			SkipFinish: true}
	}
	r.Progress.Start()
	defer r.Progress.Stop()
	pulse := r.Heartbeat.Start(ctx)
	defer pulse.Stop()
	pulse.Watch, pulse.Timeout, pulse.ReportsTo = w, spec.EffectiveTimeout(), r.Reports
	pulse.Tail, pulse.Seen = tail, runwatch.NewOutputSeen(pulse.Now)

	timeout := time.NewTimer(spec.EffectiveTimeout())
	defer timeout.Stop()
	events := runwatch.NewEventWatch(r.Client, r.ScheduleTimeout)
	defer events.Stop()
	var (
		logOut    *logStream
		uploads   *uploading
		ended     *outcome.Outcome // the outcome at the moment the test container terminated
		endSeen   <-chan error     // the wait in the pod for the test's end (ReportCopier.AwaitEnd)
		awaiting  bool
		early     *outcome.Reports // the reports copied when the test's processes were gone (ReportCopier.AwaitEnd)
		released  bool             // the holder was released then
		settleBy  <-chan time.Time
		seenJob   bool
		lastState outcome.Outcome
		pod       *corev1.Pod
	)
	defer func() {
		if logOut != nil {
			logOut.stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return interrupted(ctx), pod, got, nil
		case <-timeout.C:
			return outcome.Outcome{Done: true, ExitCode: exitcode.Timeout, Reason: outcome.ReasonDeadline,
				Message: fmt.Sprintf("the test did not end within --timeout %s: raise --timeout, or look at the diagnostics below for where it hung", spec.EffectiveTimeout())}, pod, got, nil
		case <-settleBy:
			// The holder was released but the pod did not finish in time: the test's own code is known anyway.
			return *ended, pod, got, nil
		case <-events.C():
			if o, gone := w.APIGone(ctx, spec.Name, r.Progress); gone {
				return o, pod, got, nil
			}
		case err := <-uploads.done():
			if err != nil {
				if ctx.Err() != nil {
					return interrupted(ctx), pod, got, nil
				}
				return outcome.Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: outcome.ReasonUploadFailed, Message: err.Error()}, pod, got, nil
			}
			continue
		case <-pulse.Asked():
			pulse.Print(ctx, r.Client, r.Progress, lastState.Status, got, true)
			continue
		case <-pulse.Beat():
			pulse.Print(ctx, r.Client, r.Progress, lastState.Status, got, false)
			continue
		case err := <-endSeen:
			endSeen = nil
			if err != nil {
				klog.V(4).InfoS("no early end", "run", spec.Name, "err", err)
			} else if ended == nil {
				early, released = r.endEarly(ctx, spec, copier, pod, tail)
				got = early
			}
			continue
		case <-w.Changed():
		}
		job := w.Job()
		if job != nil {
			seenJob = true
		} else if seenJob {
			return jobDeleted(spec), pod, got, nil
		}
		if p := w.Pod(); p != nil {
			pod = p
		}
		o := events.Refine(ctx, job, pod, outcome.Classify(job, pod))
		if o.Reason == outcome.ReasonPodDeleted && r.jobGone(ctx, spec) {
			// The Job's deletion took its pod with it; the pod's watch told first.
			return jobDeleted(spec), pod, got, nil
		}
		if o.Status != lastState.Status {
			r.Progress.Status(o.Status)
		}
		lastState = o

		if uploads == nil && len(spec.Uploads) > 0 && upload.Ready(pod) {
			uploads = r.startUpload(ctx, spec, pod.Name)
		}
		if logOut == nil && pod != nil && logs.ContainerEverStarted(pod, runspec.TestContainer) {
			logOut = r.startLogs(ctx, w, spec.Namespace, pod.Name, io.MultiWriter(tail, pulse.Seen))
		}
		if copier != nil && !o.Done {
			copier.Prepare(ctx, pod)
			if err := copier.Broken(pod); err != nil && ended == nil && !o.TestEnded {
				return outcome.Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: reports.ReasonHelperImage, Message: err.Error()}, pod, got, nil
			}
			if !awaiting && ended == nil && !o.TestEnded {
				endSeen = copier.AwaitEnd(ctx, pod)
				awaiting = endSeen != nil
			}
		}
		if o.TestEnded && ended == nil {
			ended = &o
			if logOut != nil {
				logOut.wait(logDrain)
			}
			if copier != nil && (early != nil || !o.Done) {
				if early != nil {
					got = early
					copier.Announce(got)
				} else {
					got = copier.Copy(ctx, pod)
				}
				if got.Error != "" {
					r.Progress.Warnf("reports: %s", got.Error)
				}
				// Summarised before the release, which leaves the summary in the pod (see FetchRecord).
				progress := r.Progress
				if o.ExitCode != exitcode.OK {
					progress = failedReports{progress}
				}
				reports.Summarize(progress, got, spec.Name, o, o.ExitCode == exitcode.OK, tail)
			}
			if !released {
				var rec *outcome.FetchRecord
				if got != nil && got.Error == "" {
					rec = outcome.NewFetchRecord(got, time.Now())
				}
				if err := reports.ReleaseHolder(ctx, r.Exec, spec.Namespace, pod.Name, rec); err != nil {
					r.Progress.Warnf("could not release the holder container (the test's exit code is known, the job is deleted anyway): %v", err)
					return o, pod, got, nil
				}
			}
			settleBy = time.After(settle)
		}
		if ended != nil && !r.Keep && pod != nil && outcome.PodFinished(pod) {
			// The released pod has finished, so deleting it is quick; a running pod takes the kubelet a few
			// seconds to tear down. Whether the Job noticed decides nothing (docs/design.md, "The holder").
			return *ended, pod, got, nil
		}
		if o.Done {
			if ended != nil && !o.TestEnded {
				// The pod ended in a way Classify no longer reads as the test's (e.g. deleted): keep the test's code.
				return *ended, pod, got, nil
			}
			return o, pod, got, nil
		}
	}
}

// endEarly copies the reports when the wait in the pod saw the test's processes gone, before the pod's
// status says the test ended, and releases the holder, so that the kubelet sees the test and the holder end
// together and the pod finishes one relist sooner (ReportCopier.AwaitEnd). The copy is the one the status
// would have started, only sooner (it reads as the same user, and tries once more when it breaks off), so
// its result stands, failed or not; as there, the holder is released either way, with the record of a copy
// that succeeded. It says nothing: the copy is announced, and the JUnit report summed up with the test's
// exit code, when the status comes. It returns the copy, and whether the holder was released (when not, the
// status tries again).
func (r *Runner) endEarly(ctx context.Context, spec runspec.Spec, copier *reports.ReportCopier, pod *corev1.Pod, tail *diagnose.TailBuffer) (*outcome.Reports, bool) {
	got := copier.CopyEarly(ctx, pod)
	var rec *outcome.FetchRecord
	if got.Error == "" {
		// The record carries the JUnit totals; passed=true writes no synthesized report, which waits for the code.
		reports.Summarize(reporter.Discard{}, got, spec.Name, outcome.Outcome{}, true, tail)
		rec = outcome.NewFetchRecord(got, time.Now())
	}
	if err := reports.ReleaseHolder(ctx, r.Exec, spec.Namespace, pod.Name, rec); err != nil {
		klog.V(4).InfoS("the early release failed; releasing when the status says the test ended", "run", spec.Name, "err", err)
		return got, false
	}
	klog.V(4).InfoS("early end: the test's processes are gone; reports copied and the holder released before the status", "run", spec.Name, "copyError", got.Error)
	return got, true
}

// uploading is the upload of a run's files, under way in the background while the run is followed.
type uploading struct {
	result chan error
}

// done delivers the upload's end once; nil (which never delivers) when there is no upload under way.
func (u *uploading) done() <-chan error {
	if u == nil {
		return nil
	}
	return u.result
}

// startUpload sends the run's uploads into the upload container of pod, which is running, and says what it
// sent when it is done.
func (r *Runner) startUpload(ctx context.Context, spec runspec.Spec, pod string) *uploading {
	u := &uploading{result: make(chan error, 1)}
	uploader := r.Uploader
	if uploader == nil {
		uploader = &upload.Uploader{Exec: r.Exec}
	}
	go func() {
		start := time.Now()
		sum, err := uploader.Send(ctx, spec.Namespace, pod, spec.UploadItems())
		if err == nil {
			r.Progress.Printf("uploaded %d file(s), %s, in %s (sha256 verified)", sum.Files, outcome.HumanBytes(sum.Bytes), time.Since(start).Round(10*time.Millisecond))
		}
		u.result <- err
	}()
	return u
}

// jobDeleted is the outcome of a run whose Job someone else deleted.
func jobDeleted(spec runspec.Spec) outcome.Outcome {
	return outcome.Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: "JobDeleted",
		Message: fmt.Sprintf("job %q was deleted by someone else while the test ran: check who deletes jobs in namespace %q", spec.Name, spec.Namespace)}
}

// jobGone asks the API server whether the run's Job is gone (or going), which the Job's watch may not have
// told yet.
func (r *Runner) jobGone(ctx context.Context, spec runspec.Spec) bool {
	job, err := r.Client.BatchV1().Jobs(spec.Namespace).Get(ctx, spec.Name, metav1.GetOptions{})
	return apierrors.IsNotFound(err) || (err == nil && job.DeletionTimestamp != nil)
}

// interrupted is the outcome of a run stopped by a signal (or any cancellation of ctx).
func interrupted(ctx context.Context) outcome.Outcome {
	return outcome.Outcome{Done: true, ExitCode: exitcode.Code(ctx, nil), Reason: outcome.ReasonInterrupted, Message: context.Cause(ctx).Error()}
}

// cleanup deletes the Job; its pods go with it. It waits, within a budget, until no pod of the run is left,
// so that "nothing remains" holds when it returns.
//
// An interrupted run was deleted already, in the foreground: the Job stays, terminating, until the garbage
// collector deleted its pods, each with the test's grace period (Spec.Grace); the kubelet kills a test that
// ignores SIGTERM when it ends. Its budget is that grace plus a margin from the interrupt, so that nothing
// is left, and the plugin has exited, within the ~10 s a CI system leaves between SIGINT and SIGKILL.
func (r *Runner) cleanup(ctx context.Context, spec runspec.Spec, interrupted bool) {
	if r.shard != nil {
		return // RunShards cleans up once every shard ended
	}
	if r.Keep {
		r.Progress.Printf("kept job %s in namespace %s (--keep): delete it with kubectl delete job %s -n %s", spec.Name, spec.Namespace, spec.Name, spec.Namespace)
		return
	}
	budget := cleanupBudget
	if interrupted {
		budget = spec.EffectiveGrace() + interruptedCleanupMargin
	}
	if !r.deleteJob(ctx, spec, interrupted) {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	gone := r.untilRunPods(cctx, spec, func(ctx context.Context, pods []corev1.Pod) bool {
		if len(pods) > 0 {
			return false
		}
		_, err := r.Client.BatchV1().Jobs(spec.Namespace).Get(ctx, spec.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if gone {
		r.Progress.Printf("deleted job %s", spec.Name)
		return
	}
	r.Progress.Warnf("job %s is deleted; its pod is not gone yet and will be removed by the cluster", spec.Name)
}

// untilRunPods lists the run's pods every podPollEvery until done says the wait is over, and says whether it
// did before ctx ended. A failed list counts as not done.
func (r *Runner) untilRunPods(ctx context.Context, spec runspec.Spec, done func(ctx context.Context, pods []corev1.Pod) bool) bool {
	selector := labels.SelectorFromSet(labels.Set{runspec.LabelRun: spec.Name}).String()
	err := wait.PollUntilContextCancel(ctx, podPollEvery, true, func(ctx context.Context) (bool, error) {
		pods, err := r.Client.CoreV1().Pods(spec.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		return err == nil && done(ctx, pods.Items), nil
	})
	return err == nil
}

// deleteJob deletes the run's Job, unless Keep, and says whether it did. In the foreground, the Job stays
// until its pods are gone, so that the diagnostics of an interrupted run can still describe it.
func (r *Runner) deleteJob(ctx context.Context, spec runspec.Spec, foreground bool) bool {
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

// startLogs follows the test container's log into r.Logs and record (the tail kept for diagnostics and
// progress reports).
func (r *Runner) startLogs(ctx context.Context, w *runwatch.Watch, namespace, pod string, record io.Writer) *logStream {
	lctx, cancel := context.WithCancel(ctx)
	s := &logStream{cancel: cancel, done: make(chan struct{})}
	f := &logs.LogFollower{
		Client: r.Client,
		Source: logs.LogSource{Namespace: namespace, Pod: pod, Container: runspec.TestContainer},
		Out:    io.MultiWriter(r.Logs, record),
		Terminated: func() bool {
			p := w.Pod()
			return p == nil || p.Name != pod || logs.ContainerEnded(p, runspec.TestContainer)
		},
		Gap: func(from, to time.Time) { r.Progress.Warnf("%s", logs.GapWarning(from, to)) },
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

// Wait follows run until its test has ended, or it failed to run, and returns how it ended. It does not
// release the holder: the reports can still be fetched afterwards.
// A timeout of 0 waits as long as ctx lasts; when it passes, the outcome has exit code 124. scheduleTimeout
// is how long the pod may stay unschedulable (see Runner.ScheduleTimeout).
//
// health, when not nil, wraps the transport of client (see Runner.API); heartbeat is as Runner.Heartbeat.
// shardIndex is the index of the shard of a sharded run to wait for, -1 for a run of one pod.
func Wait(ctx context.Context, client kubernetes.Interface, health *runwatch.APIHealth, namespace, run string, shardIndex int, timeout, scheduleTimeout time.Duration, heartbeat runwatch.Heartbeat, progress reporter.Reporter) (outcome.Outcome, *corev1.Pod, error) {
	if _, err := cluster.GetRun(ctx, client, namespace, run); err != nil {
		return outcome.Outcome{}, nil, exitcode.New(exitcode.CannotRun, err)
	}
	var s *shard
	if shardIndex >= 0 {
		s = &shard{index: shardIndex}
	}
	w, err := s.watch(ctx, client, runspec.Spec{Namespace: namespace, Name: run})
	if err != nil {
		return outcome.Outcome{}, nil, err
	}
	w.Health = health
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	events := runwatch.NewEventWatch(client, scheduleTimeout)
	defer events.Stop()
	pulse := heartbeat.Start(ctx)
	defer pulse.Stop()
	pulse.Watch, pulse.Timeout = w, timeout
	var pod *corev1.Pod
	for {
		job := w.Job()
		if job == nil {
			return outcome.Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: "JobDeleted",
				Message: fmt.Sprintf("job %q was deleted before its test ended", run)}, pod, nil
		}
		if p := w.Pod(); p != nil {
			pod = p
		}
		o := events.Refine(ctx, job, pod, outcome.Classify(job, pod))
		progress.Status(o.Status)
		if o.Done || o.TestEnded {
			return o, pod, nil
		}
		select {
		case <-ctx.Done():
			return interrupted(ctx), pod, nil
		case <-expired:
			return outcome.Outcome{Done: true, ExitCode: exitcode.Timeout, Reason: outcome.ReasonDeadline,
				Message: fmt.Sprintf("run %q did not end within --timeout %s: the run goes on; wait again, or see kubectl testrun describe %s", run, timeout, run)}, pod, nil
		case <-events.C():
			if o, gone := w.APIGone(ctx, run, progress); gone {
				return o, pod, nil
			}
		case <-pulse.Asked():
			pulse.Print(ctx, client, progress, o.Status, nil, true)
		case <-pulse.Beat():
			pulse.Print(ctx, client, progress, o.Status, nil, false)
		case <-w.Changed():
		}
	}
}
