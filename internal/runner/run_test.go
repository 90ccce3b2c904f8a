package runner

import (
	"context"

	"github.com/kubectl-testrun/kubectl-testrun/internal/diagnose"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/upload"
)

// kubelet plays the part of the Job controller and the kubelet against a fake clientset: once the Job exists
// it creates its pod, then applies each status in turn.
func kubelet(t *testing.T, client *fake.Clientset, statuses ...func(*corev1.Pod)) {
	const ns = "ci"
	t.Helper()
	go func() {
		ctx := t.Context()
		var job *batchv1.Job
		for job == nil {
			jobs, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
			if err != nil || ctx.Err() != nil {
				return
			}
			if len(jobs.Items) > 0 {
				job = &jobs.Items[0]
			}
			time.Sleep(10 * time.Millisecond)
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-abcde", Namespace: ns, Labels: job.Spec.Template.Labels, CreationTimestamp: metav1.Now()},
			Spec:       job.Spec.Template.Spec,
		}
		if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return
		}
		for _, set := range statuses {
			time.Sleep(20 * time.Millisecond)
			p, err := client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return
			}
			set(p)
			if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				return
			}
		}
	}()
}

func pullFailing(reason, message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{
			{Name: runspec.TestContainer, Image: p.Spec.Containers[0].Image, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}},
			{Name: runspec.HolderContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}},
		}
	}
}

func testExited(code int32, phase corev1.PodPhase) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = phase
		now := metav1.Now()
		holder := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
		if phase != corev1.PodRunning {
			holder = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}}
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{
			{Name: runspec.TestContainer, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Error", StartedAt: now, FinishedAt: now}}},
			{Name: runspec.HolderContainer, State: holder},
		}
	}
}

func newRunner(client *fake.Clientset, exec *podexec.Recorder) (*Runner, *bytes.Buffer) {
	// The fake has no garbage collector: deleting a Job takes its pods with it here.
	pods := corev1.SchemeGroupVersion.WithResource("pods")
	client.PrependReactor("delete", "jobs", func(action k8stesting.Action) (bool, runtime.Object, error) {
		ns := action.GetNamespace()
		list, err := client.Tracker().List(pods, corev1.SchemeGroupVersion.WithKind("Pod"), ns)
		if err != nil {
			return true, nil, err
		}
		for _, p := range list.(*corev1.PodList).Items {
			if err := client.Tracker().Delete(pods, ns, p.Name); err != nil {
				return true, nil, err
			}
		}
		return false, nil, nil
	})
	var logs, stderr bytes.Buffer
	return &Runner{
		Client: client, Exec: exec, Logs: &logs,
		Progress: &reporter.Lines{W: &stderr},
	}, &stderr
}

func TestRunnerFailsFastOnImagePullAndCleansUp(t *testing.T) {
	client := fake.NewClientset()
	exec := &podexec.Recorder{}
	r, stderr := newRunner(client, exec)
	kubelet(t, client, pullFailing("ErrImagePull", `failed to pull and unpack image "example/missing:1": not found`))

	file := diagnose.DiagnosticsPath("", "smoke-x1x2x")
	_ = os.Remove(file) // another test's
	res, err := r.Run(t.Context(), runspec.Spec{Name: "smoke-x1x2x", Namespace: "ci", Image: "example/missing:1", Timeout: time.Minute})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != exitcode.CannotRun || res.Phase != outcome.PhaseError || res.Reason != "ErrImagePull" {
		t.Errorf("result = code %d phase %q reason %q, want 125 Error ErrImagePull", res.ExitCode, res.Phase, res.Reason)
	}
	// The story names the image and where the describe output is; the describe output is only in the file.
	for _, want := range []string{"testrun: run smoke-x1x2x failed: ", "example/missing:1", "reason: ErrImagePull, exit code 125", "full diagnostics (describe of the job and pod, every event): " + file} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "--- describe") {
		t.Errorf("stderr holds the describe output, want it only in the diagnostics file:\n%s", stderr.String())
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), "--- describe job smoke-x1x2x") {
		t.Errorf("diagnostics file %s: %v, want the describe output of the job:\n%s", file, err, b)
	}
	if res.Diagnostics != file {
		t.Errorf("result diagnostics = %q, want %q", res.Diagnostics, file)
	}
	if len(exec.Calls()) != 0 {
		t.Errorf("exec calls = %v, want none: the test never ran", exec.Calls())
	}
	if _, err := client.BatchV1().Jobs("ci").Get(t.Context(), "smoke-x1x2x", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("job still exists after the run (err %v)", err)
	}
}

// The run releases the holder once the reports are home and returns the test's code as soon as the pod
// finished: the Job, deleted next, need not say so too (here it never does: the fake has no Job controller,
// and waiting for it would take the 30 s settle bound, past the test's context).
func TestRunnerReleasesAndReturnsOnceThePodFinished(t *testing.T) {
	client := fake.NewClientset()
	exec := &podexec.Recorder{}
	r, _ := newRunner(client, exec)
	kubelet(t, client, testExited(3, corev1.PodRunning), testExited(3, corev1.PodFailed))

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := r.Run(ctx, runspec.Spec{Name: "unit-a1b2c", Namespace: "ci", Image: "tests:1", Timeout: time.Minute})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 3 || res.Phase != outcome.PhaseFailed {
		t.Errorf("result = code %d phase %q, want the test's 3, Failed", res.ExitCode, res.Phase)
	}
	if calls := exec.Calls(); len(calls) != 1 || !strings.HasPrefix(calls[0], "ci/unit-a1b2c-abcde/holder: sh -c ") || !strings.Contains(calls[0], runspec.ReleaseFile) {
		t.Errorf("exec calls = %q, want one release of the holder", calls)
	}
	if _, err := client.BatchV1().Jobs("ci").Get(t.Context(), "unit-a1b2c", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("job still exists after the run (err %v)", err)
	}
}

// A kept Job is released, so that it ends with the test's status.
func TestRunnerKeepReleasesTheHolderAndLeavesTheJob(t *testing.T) {
	client := fake.NewClientset()
	exec := &podexec.Recorder{}
	r, stderr := newRunner(client, exec)
	r.Keep = true
	kubelet(t, client, testExited(0, corev1.PodRunning), testExited(0, corev1.PodSucceeded))

	res, err := r.Run(t.Context(), runspec.Spec{Name: "kept-a1b2c", Namespace: "ci", Image: "tests:1", Timeout: time.Minute})
	if err != nil || res.ExitCode != 0 || res.Phase != outcome.PhasePassed {
		t.Fatalf("Run = %+v, %v; want a pass", res, err)
	}
	if _, err := client.BatchV1().Jobs("ci").Get(t.Context(), "kept-a1b2c", metav1.GetOptions{}); err != nil {
		t.Errorf("job is gone despite Keep: %v", err)
	}
	if !strings.Contains(stderr.String(), "kept job kept-a1b2c") {
		t.Errorf("stderr does not say the job was kept:\n%s", stderr.String())
	}
	if calls := exec.Calls(); len(calls) != 1 || !strings.HasPrefix(calls[0], "ci/kept-a1b2c-abcde/holder: sh -c ") || !strings.Contains(calls[0], runspec.ReleaseFile) {
		t.Errorf("exec calls = %q, want one release of the holder", calls)
	}
}

func TestRunnerCreateErrorIsCannotRun(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("create", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(batchv1.Resource("jobs"), "x", nil)
	})
	r, _ := newRunner(client, &podexec.Recorder{})
	_, err := r.Run(t.Context(), runspec.Spec{Name: "denied-a1b2c", Namespace: "ci", Image: "tests:1"})
	if code := exitcode.Code(t.Context(), err); code != exitcode.CannotRun {
		t.Fatalf("exit code = %d (%v), want 125", code, err)
	}
	if !strings.Contains(err.Error(), `creating job "denied-a1b2c" in namespace "ci"`) {
		t.Errorf("error %q does not name the job and namespace", err)
	}
}

func TestRunnerTimeoutIs124(t *testing.T) {
	client := fake.NewClientset()
	r, stderr := newRunner(client, &podexec.Recorder{})
	kubelet(t, client, func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning })
	res, err := r.Run(t.Context(), runspec.Spec{Name: "slow-a1b2c", Namespace: "ci", Image: "tests:1", Timeout: 300 * time.Millisecond})
	if err != nil || res.ExitCode != exitcode.Timeout || res.Phase != outcome.PhaseTimedOut {
		t.Fatalf("Run = %+v, %v; want 124 TimedOut", res, err)
	}
	if !strings.Contains(stderr.String(), "--timeout 300ms") {
		t.Errorf("stderr does not name the timeout:\n%s", stderr.String())
	}
}

func TestRunnerSavesDiagnosticsNextToTheReports(t *testing.T) {
	client := fake.NewClientset()
	r, stderr := newRunner(client, &podexec.Recorder{})
	r.Reports = filepath.Join(t.TempDir(), "out")
	kubelet(t, client, pullFailing("ErrImagePull", "failed to pull \x1b[31mexample/missing:1\x1b[0m: not found"))

	res, err := r.Run(t.Context(), runspec.Spec{Name: "smoke-x1x2x", Namespace: "ci", Image: "example/missing:1", Timeout: time.Minute})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Reports == nil || res.Reports.Diagnostics != diagnose.DiagnosticsFile {
		t.Fatalf("result reports = %+v, want diagnostics %q", res.Reports, diagnose.DiagnosticsFile)
	}
	b, err := os.ReadFile(filepath.Join(r.Reports, diagnose.DiagnosticsFile))
	if err != nil {
		t.Fatalf("reading the saved diagnostics: %v\nstderr:\n%s", err, stderr)
	}
	got := string(b)
	for _, want := range []string{"run smoke-x1x2x in namespace ci: ErrImagePull (exit code 125)", "--- describe job smoke-x1x2x", "--- describe pod smoke-x1x2x-abcde", "^[[31mexample/missing:1"} {
		if !strings.Contains(got, want) {
			t.Errorf("saved diagnostics lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\x1b") {
		t.Errorf("saved diagnostics hold a raw escape character from the pod's status:\n%q", got)
	}
	if !strings.Contains(stderr.String(), "full diagnostics (describe of the job and pod, every event): "+filepath.Join(r.Reports, diagnose.DiagnosticsFile)) {
		t.Errorf("stderr does not say where the diagnostics are:\n%s", stderr)
	}
}

func TestRunnerKeepsATestsOwnDiagnosticsFile(t *testing.T) {
	client := fake.NewClientset()
	r, stderr := newRunner(client, &podexec.Recorder{})
	r.Reports = t.TempDir()
	own := filepath.Join(r.Reports, diagnose.DiagnosticsFile)
	if err := os.WriteFile(own, []byte("the test's own\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kubelet(t, client, pullFailing("ErrImagePull", "not found"))

	res, err := r.Run(t.Context(), runspec.Spec{Name: "smoke-x1x2x", Namespace: "ci", Image: "example/missing:1", Timeout: time.Minute})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if b, _ := os.ReadFile(own); string(b) != "the test's own\n" {
		t.Errorf("the test's %s was replaced with:\n%s", diagnose.DiagnosticsFile, b)
	}
	if res.Reports.Diagnostics != "" {
		t.Errorf("result names diagnostics %q among the reports, want them elsewhere", res.Reports.Diagnostics)
	}
	// They are saved in the temporary directory instead, and stderr says where.
	if dir := filepath.Dir(res.Diagnostics); dir != os.TempDir() {
		t.Errorf("diagnostics saved as %q, want a file in %s", res.Diagnostics, os.TempDir())
	}
	if b, err := os.ReadFile(res.Diagnostics); err != nil || !strings.Contains(string(b), "--- describe job smoke-x1x2x") {
		t.Errorf("diagnostics file %q: %v, want the describe output of the job:\n%s", res.Diagnostics, err, b)
	}
	if !strings.Contains(stderr.String(), "full diagnostics (describe of the job and pod, every event): "+res.Diagnostics) {
		t.Errorf("stderr does not say where the diagnostics are:\n%s", stderr)
	}
}

// A Job deleted by someone else in the foreground is still there, terminating, when its pod's deletion shows:
// the run names the Job's deletion, not the pod's (in the background the pod's watch may tell first too).
func TestRunnerNamesTheJobsDeletionWhenItsPodGoesFirst(t *testing.T) {
	client := fake.NewClientset()
	r, stderr := newRunner(client, &podexec.Recorder{})
	kubelet(t, client, func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		job, err := client.BatchV1().Jobs("ci").Get(t.Context(), "gone-a1b2c", metav1.GetOptions{})
		if err != nil {
			t.Errorf("getting the job: %v", err)
			return
		}
		now := metav1.Now()
		job.DeletionTimestamp = &now
		if _, err := client.BatchV1().Jobs("ci").Update(t.Context(), job, metav1.UpdateOptions{}); err != nil {
			t.Errorf("marking the job deleted: %v", err)
		}
		p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, ptr.To[int64](3)
	})
	res, err := r.Run(t.Context(), runspec.Spec{Name: "gone-a1b2c", Namespace: "ci", Image: "tests:1", Timeout: time.Minute})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != exitcode.CannotRun || res.Reason != "JobDeleted" {
		t.Errorf("result = code %d reason %q, want 125 JobDeleted", res.ExitCode, res.Reason)
	}
	if !strings.Contains(stderr.String(), "deleted by someone else") {
		t.Errorf("stderr does not say the job was deleted by someone else:\n%s", stderr.String())
	}
}

func uploadRunning(p *corev1.Pod) {
	p.Status.Phase = corev1.PodPending
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{
		{Name: upload.ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}},
	}
}

// The files of --upload are sent into the upload container as soon as it runs, before the test starts.
func TestRunnerSendsTheUploadOnceItsContainerRuns(t *testing.T) {
	client := fake.NewClientset()
	exec := &podexec.Recorder{}
	r, stderr := newRunner(client, exec)
	r.Uploader = &upload.Uploader{Exec: exec}
	kubelet(t, client, uploadRunning, testExited(0, corev1.PodRunning), testExited(0, corev1.PodSucceeded))

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	spec := runspec.Spec{Name: "up-a1b2c", Namespace: "ci", Image: "tests:1", Timeout: time.Minute,
		Uploads: []runspec.Upload{{Local: t.TempDir(), Path: "/work"}}}
	res, err := r.Run(ctx, spec)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v; want a pass", res, err)
	}
	calls := exec.Calls()
	if len(calls) != 2 || !strings.HasPrefix(calls[0], "ci/up-a1b2c-abcde/testrun-upload: sh -c ") || !strings.HasPrefix(calls[1], "ci/up-a1b2c-abcde/holder: ") {
		t.Errorf("exec calls = %q, want the upload into testrun-upload, then the holder's release", calls)
	}
	if !strings.Contains(stderr.String(), "uploaded 0 file(s), 0 B, in ") {
		t.Errorf("stderr does not say what was uploaded:\n%s", stderr.String())
	}
}

// An upload that fails ends the run with 125 (UploadFailed) before the test starts, and cleans up.
func TestRunnerFailsTheRunWhenTheUploadFails(t *testing.T) {
	client := fake.NewClientset()
	r, _ := newRunner(client, &podexec.Recorder{})
	r.Uploader = &upload.Uploader{Exec: &podexec.Recorder{Err: errors.New("command terminated with exit code 1")}}
	kubelet(t, client, uploadRunning)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	spec := runspec.Spec{Name: "up-f1b2c", Namespace: "ci", Image: "tests:1", Timeout: time.Minute,
		Uploads: []runspec.Upload{{Local: t.TempDir(), Path: "/work"}}}
	res, err := r.Run(ctx, spec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != exitcode.CannotRun || res.Reason != outcome.ReasonUploadFailed || !strings.Contains(res.Message, `unpacking the upload in container "testrun-upload"`) {
		t.Errorf("result = code %d reason %q message %q, want 125 UploadFailed naming the container", res.ExitCode, res.Reason, res.Message)
	}
	if _, err := client.BatchV1().Jobs("ci").Get(t.Context(), "up-f1b2c", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("job still exists after the run (err %v)", err)
	}
}

// untilRunPods waits for the run's own pods only, retries a failed list, and gives up when its context ends.
func TestUntilRunPods(t *testing.T) {
	const ns = "ci"
	spec := runspec.Spec{Name: "wait-x1x2x", Namespace: ns}
	pod := func(name, run string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{runspec.LabelRun: run}}}
	}
	none := func(_ context.Context, pods []corev1.Pod) bool { return len(pods) == 0 }

	t.Run("another run's pod does not count", func(t *testing.T) {
		client := fake.NewClientset(pod("other-abcde", "other-x1x2x"))
		r, _ := newRunner(client, &podexec.Recorder{})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if !r.untilRunPods(ctx, spec, none) {
			t.Error("untilRunPods = false, want true: no pod of the run exists")
		}
	})
	t.Run("waits until the pod goes", func(t *testing.T) {
		client := fake.NewClientset(pod("wait-x1x2x-abcde", spec.Name))
		r, _ := newRunner(client, &podexec.Recorder{})
		go func() {
			time.Sleep(3 * podPollEvery)
			_ = client.CoreV1().Pods(ns).Delete(context.Background(), "wait-x1x2x-abcde", metav1.DeleteOptions{})
		}()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if !r.untilRunPods(ctx, spec, none) {
			t.Error("untilRunPods = false, want true once the pod was deleted")
		}
		if n := countActions(client, "list", "pods"); n < 2 {
			t.Errorf("listed pods %d time(s), want the pod seen before it went", n)
		}
	})
	t.Run("a failed list is not done", func(t *testing.T) {
		client := fake.NewClientset()
		r, _ := newRunner(client, &podexec.Recorder{})
		failures := 2
		client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			if failures > 0 {
				failures--
				return true, nil, apierrors.NewServiceUnavailable("etcd is restarting")
			}
			return false, nil, nil
		})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if !r.untilRunPods(ctx, spec, none) {
			t.Error("untilRunPods = false, want true after the list recovered")
		}
		if n := countActions(client, "list", "pods"); n != 3 {
			t.Errorf("listed pods %d time(s), want 3: two failures, then the empty list", n)
		}
	})
	t.Run("gives up when its context ends", func(t *testing.T) {
		client := fake.NewClientset(pod("wait-x1x2x-abcde", spec.Name))
		r, _ := newRunner(client, &podexec.Recorder{})
		ctx, cancel := context.WithTimeout(t.Context(), 3*podPollEvery)
		defer cancel()
		if r.untilRunPods(ctx, spec, none) {
			t.Error("untilRunPods = true, want false: the pod never went")
		}
	})
}

func countActions(client *fake.Clientset, verb, resource string) int {
	n := 0
	for _, a := range client.Actions() {
		if a.Matches(verb, resource) {
			n++
		}
	}
	return n
}
