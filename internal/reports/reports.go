package reports

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/diagnose"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/extract"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
)

// fetchStart bounds the wait for the fetch container to run once the test ended.
const fetchStart = 60 * time.Second

// ReasonHelperImage is the Outcome reason of a run whose fetch container failed while the test ran.
const ReasonHelperImage = "HelperImageBroken"

// ReportCopier follows one run's reports: it adds the fetch container while the test runs, and copies the
// report volume out when the test ended, through the fetch container or, where ephemeral containers are
// refused, through the holder, which mounts the volume read-only too.
type ReportCopier struct {
	Client    kubernetes.Interface
	Fetcher   *fetch.Fetcher
	Progress  reporter.Reporter
	To        string // the local directory
	prepared  bool
	container string // the container to exec into
	dir       string // the report volume's path in it
	// Linger bounds the fetch container's life (fetch.Mount.Linger); 0 takes the pod's hold (holdOf).
	Linger time.Duration
	// SkipFinish leaves the fetch container running after the copy, for a pod that is deleted right after it
	// (which ends the container): no exec to let it exit (see finish).
	SkipFinish bool
}

// RunLinger is how long the fetch container a run adds when its test starts may have to wait for the copy:
// as long as the Job may live. A fetch container that gave up before a long test ended would lose its
// reports; one of an abandoned run ends with the Job at the latest.
func RunLinger(spec runspec.Spec) time.Duration {
	return spec.EffectiveTimeout() + spec.EffectiveHold() + runspec.DeadlineMargin
}

// Prepare adds the fetch container once the pod exists and runs, ahead of the test's end.
func (c *ReportCopier) Prepare(ctx context.Context, pod *corev1.Pod) {
	if c.prepared || pod == nil || pod.Spec.NodeName == "" || pod.Status.Phase != corev1.PodRunning {
		return
	}
	c.prepared = true
	linger := c.Linger
	if linger == 0 {
		linger = holdOf(pod)
	}
	name, err := c.Fetcher.Prepare(ctx, pod, fetch.Mount{Volume: runspec.ReportsVolume, Control: runspec.ControlVolume, Linger: linger, SecurityContext: readerSecurity(pod)})
	if err != nil {
		// Refused (fetch.ErrEphemeralForbidden: RBAC, policy) or failed: the holder mounts the volume too.
		c.Progress.Warnf("%v: fetching the reports through the holder container instead", err)
		c.container, c.dir = runspec.HolderContainer, runspec.HolderReportsDir
		return
	}
	c.container, c.dir = name, fetch.SourceDir
}

// holdOf is how long the holder of pod holds it after the test ended (its EnvHoldSeconds), which bounds the
// fetch container `fetch RUN` adds to a run whose test may have ended already. 0 when the pod does not say.
func holdOf(pod *corev1.Pod) time.Duration {
	for _, c := range pod.Spec.Containers {
		if c.Name != runspec.HolderContainer {
			continue
		}
		for _, e := range c.Env {
			if n, err := strconv.ParseInt(e.Value, 10, 64); e.Name == runspec.EnvHoldSeconds && err == nil && n > 0 && n < int64(runspec.MaxDeadline/time.Second) {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

// Broken returns why the fetch container added while the test runs will not serve the copy, as soon as that
// shows (it ended: the helper image lacks a tool; its image cannot be pulled), so the run fails fast with
// 125 and names --helper-image instead of losing the reports when the test ended. nil while it runs or starts.
func (c *ReportCopier) Broken(pod *corev1.Pod) error {
	if c.container == "" || c.container == runspec.HolderContainer || pod == nil || outcome.PodFinished(pod) {
		return nil
	}
	_, err := fetch.Running(pod, c.container)
	if err != nil && !strings.Contains(err.Error(), "--helper-image") {
		err = fmt.Errorf("%w: the reports could not be copied: pass a busybox-like image with sh, sleep, touch, tar, find and sha256sum with --helper-image", err)
	}
	return err
}

// readerSecurity is the security context of the fetch container that reads a run's reports: nil (the default,
// uid 65534) unless the pod gives the test container a non-root user, which the fetch container then shares,
// so that files only that user may read come home too. It stays non-root without any capability
// (docs/design.md, "The fetch container"): files a root test made readable to root alone cannot be read, and
// the fetch says so.
func readerSecurity(pod *corev1.Pod) *corev1.SecurityContext {
	var user, group *int64
	for _, c := range pod.Spec.Containers {
		if c.Name == runspec.TestContainer && c.SecurityContext != nil {
			user, group = c.SecurityContext.RunAsUser, c.SecurityContext.RunAsGroup
		}
	}
	if ps := pod.Spec.SecurityContext; ps != nil {
		if user == nil {
			user = ps.RunAsUser
		}
		if group == nil {
			group = ps.RunAsGroup
		}
	}
	if user == nil || *user == 0 {
		return nil
	}
	if group == nil {
		group = user
	}
	return fetch.NonRootSecurity(*user, *group)
}

// Copy waits for the fetch container to run, then copies the reports into the Runner's Reports directory
// and says what it copied.
func (c *ReportCopier) Copy(ctx context.Context, pod *corev1.Pod) *outcome.Reports {
	reports := c.copyFiles(ctx, pod, c.Progress)
	c.Announce(reports)
	return reports
}

// CopyQuietly is Copy without a word of progress (warnings still come): the copy made when the test's
// processes are gone, before the pod's status says so, which Announce reports once it does (see AwaitEnd).
func (c *ReportCopier) CopyQuietly(ctx context.Context, pod *corev1.Pod) *outcome.Reports {
	return c.copyFiles(ctx, pod, reporter.Discard{})
}

// Announce says what a copy brought home; nothing when it failed (the caller warns with its error).
func (c *ReportCopier) Announce(reports *outcome.Reports) {
	if reports.Error != "" {
		return
	}
	var size int64
	for _, f := range reports.Files {
		size += f.Size
	}
	c.Progress.Printf("copied %d report file(s), %s, into %s (sha256 verified)", len(reports.Files), outcome.HumanBytes(size), c.To)
}

func (c *ReportCopier) copyFiles(ctx context.Context, pod *corev1.Pod, progress reporter.Reporter) *outcome.Reports {
	c.Prepare(ctx, pod)
	reports := &outcome.Reports{Dir: c.To, Files: []outcome.ReportFile{}}
	if c.container == "" {
		reports.Error = "the pod never ran, so no fetch container could be added"
		return reports
	}
	if running, _ := fetch.Running(pod, c.container); !running && c.container != runspec.HolderContainer {
		if err := waitRunning(ctx, c.Client, pod.Namespace, pod.Name, c.container); err != nil {
			reports.Error = err.Error()
			return reports
		}
	}
	progress.Status("copying reports")
	files, err := c.Fetcher.Fetch(ctx, pod.Namespace, pod.Name, c.container, c.dir, c.To)
	if cut := (*fetch.CutError)(nil); errors.As(err, &cut) {
		files, err = c.again(ctx, pod, files, err)
	}
	if c.container != runspec.HolderContainer && !c.SkipFinish {
		finish(ctx, c.Fetcher, pod.Namespace, pod.Name, c.container)
	}
	for _, f := range files {
		reports.Files = append(reports.Files, outcome.ReportFile{Path: f.Path, Size: f.Size, SHA256: f.SHA256})
	}
	if err == nil {
		err = arrange(c.To, pod.Annotations[runspec.AnnotationReportDirs], reports.Files)
	}
	if err != nil {
		reports.Error = err.Error()
	}
	return reports
}

// finishBudget bounds letting a fetch container exit after its copy, also after an interrupt.
const finishBudget = 5 * time.Second

// finish lets the fetch container exit now that its copy is done (fetch.Fetcher.Finish). A failure is not
// worth a word: the copy is complete, and the container ends by itself when its linger runs out.
func finish(ctx context.Context, f *fetch.Fetcher, namespace, pod, container string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishBudget)
	defer cancel()
	_ = f.Finish(ctx, namespace, pod, container)
}

// copyAttempts bounds the copies of one run's reports: a copy that broke off is tried again at most twice.
// An API server that restarts spends one retry; the other covers a stream that then loses its end on its own,
// which exec streams can (kubernetes/kubernetes#124571). See docs/reliability.md.
const copyAttempts = 3

// again copies the reports again after the first copy broke off (failed, with the files it completed): once
// the fetch container runs again, which also waits out an API server that restarts, it empties the
// directory, which held nothing before the first copy, and copies again, up to copyAttempts in all, as long
// as each copy broke off. A copy that failed otherwise is not tried again. When no copy succeeds, the error
// carries the first failure and the last; the files of the last copy then stay, and the error names the
// incomplete one.
func (c *ReportCopier) again(ctx context.Context, pod *corev1.Pod, files []extract.File, failed error) ([]extract.File, error) {
	last := failed
	for attempt := 2; attempt <= copyAttempts; attempt++ {
		c.Progress.Warnf("copying the reports broke off, copying them again (attempt %d of %d): %v", attempt, copyAttempts, last)
		if err := c.waitReady(ctx, pod); err != nil {
			return files, fmt.Errorf("%w; copying again failed: %w", failed, err)
		}
		entries, err := os.ReadDir(c.To)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return files, fmt.Errorf("%w; copying again failed: %w", failed, err)
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(c.To, e.Name())); err != nil {
				return files, fmt.Errorf("%w; copying again failed: %w", failed, err)
			}
		}
		files, last = c.Fetcher.Fetch(ctx, pod.Namespace, pod.Name, c.container, c.dir, c.To)
		if last == nil {
			c.Progress.Printf("copying the reports again succeeded")
			return files, nil
		}
		if cut := (*fetch.CutError)(nil); !errors.As(last, &cut) {
			break
		}
	}
	return files, fmt.Errorf("%w; copying again failed too: %w", failed, last)
}

// waitReady waits until the container the reports are copied through can run an exec again: the fetch
// container runs, or the pod can be read (the holder).
func (c *ReportCopier) waitReady(ctx context.Context, pod *corev1.Pod) error {
	if c.container != runspec.HolderContainer {
		return waitRunning(ctx, c.Client, pod.Namespace, pod.Name, c.container)
	}
	ctx, cancel := context.WithTimeout(ctx, fetchStart)
	defer cancel()
	for {
		_, err := c.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err == nil || apierrors.IsNotFound(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

// arrange moves the report directories of a run with several of them from the volume's sub-directories 0,
// 1, … to their own paths under to ("/reports" → to/reports, "/app/coverage" → to/app/coverage), and renames
// files to match. dirs is the pod's AnnotationReportDirs; empty means one directory, already in place. The
// annotation comes from the pod spec, so each path must stay inside to.
func arrange(to, dirs string, files []outcome.ReportFile) error {
	if dirs == "" {
		return nil
	}
	list := strings.Split(dirs, ",")
	targets := make([]string, len(list))
	for i, d := range list {
		rel := strings.TrimPrefix(path.Clean("/"+d), "/")
		if rel == "" || !filepath.IsLocal(rel) {
			return fmt.Errorf("report directory %q of the pod cannot be laid out under %q", d, to)
		}
		targets[i] = rel
	}
	// Through temporary names first: a target may be named like another index ("/1").
	for i := range list {
		if err := os.Rename(filepath.Join(to, strconv.Itoa(i)), filepath.Join(to, ".testrun-"+strconv.Itoa(i))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for i, rel := range targets {
		dst := filepath.Join(to, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(to, ".testrun-"+strconv.Itoa(i)), dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for i := range files {
		index, rest, _ := strings.Cut(files[i].Path, "/")
		if n, err := strconv.Atoi(index); err == nil && n < len(targets) {
			files[i].Path = path.Join(targets[n], rest)
		}
	}
	return nil
}

// waitRunning waits until the ephemeral container of pod runs, watching that one pod.
func waitRunning(ctx context.Context, client kubernetes.Interface, namespace, pod, container string) error {
	ctx, cancel := context.WithTimeoutCause(ctx, fetchStart,
		fmt.Errorf("fetch container %q did not start within %s: see kubectl describe pod %s -n %s", container, fetchStart, pod, namespace))
	defer cancel()
	selector := fields.OneTermEqualSelector("metadata.name", pod).String()
	// Wrapped as client-go's own informers are: a client that cannot stream a list's initial events (the
	// fake clientset of unit tests) is then listed and watched the classic way, not waited on forever.
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return client.CoreV1().Pods(namespace).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return client.CoreV1().Pods(namespace).Watch(ctx, o)
		},
	}, client)
	var failed error
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, func(e watch.Event) (bool, error) {
		if e.Type == watch.Deleted {
			return false, fmt.Errorf("pod %q is gone, its reports with it", pod)
		}
		p, ok := e.Object.(*corev1.Pod)
		if !ok {
			return false, nil
		}
		running, err := fetch.Running(p, container)
		failed = err
		return running || err != nil, nil
	})
	if failed != nil {
		return failed
	}
	if err != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// Summarize totals the JUnit files among the reports and prints the summary; when the run did not pass and
// the test left no JUnit file, it writes one failing case with the reason and the log tail, so a CI
// dashboard shows the failure.
func Summarize(progress reporter.Reporter, reports *outcome.Reports, name string, o outcome.Outcome, passed bool, tail *diagnose.TailBuffer) {
	dir := reports.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		reports.Error = joinErr(reports.Error, err.Error())
		return
	}
	files, err := junit.Find(dir)
	if err == nil && len(files) > 0 {
		summary, err := junit.Summarize(dir, files)
		if err != nil {
			progress.Warnf("%v", err)
			reports.Error = joinErr(reports.Error, err.Error())
			return
		}
		reports.JUnit = &summary
		progress.Report(summary.Line())
		return
	}
	if passed {
		return
	}
	target := "junit.xml"
	if _, err := os.Stat(filepath.Join(dir, target)); err == nil {
		target = "testrun-junit.xml"
	}
	f, err := os.Create(filepath.Join(dir, target))
	if err != nil {
		reports.Error = joinErr(reports.Error, err.Error())
		return
	}
	defer f.Close()
	reason := o.Reason
	if o.Message != "" {
		reason += ": " + o.Message
	}
	detail := tail.String()
	if reports.Error != "" {
		detail = "reports: " + reports.Error + "\n\n" + detail
	}
	if err := junit.Synthesize(f, name, reason, detail); err != nil {
		reports.Error = joinErr(reports.Error, err.Error())
		return
	}
	reports.Synthesized = target
	progress.Printf("the test left no JUnit report: wrote %s with the failure", filepath.Join(dir, target))
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
