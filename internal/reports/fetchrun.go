package reports

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/diagnose"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/extract"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
)

// Fetch copies files out of a run or of any pod on its own, for `kubectl testrun fetch`: a run kept with
// --keep, started with --detach or applied from a rendered manifest, or a running pod the plugin did not create.
type Fetch struct {
	Client   kubernetes.Interface
	Fetcher  *fetch.Fetcher
	Exec     podexec.Executor
	Progress reporter.Reporter
}

// Run copies the report directory of run into to and summarises its JUnit files. When the test has ended
// and release is set, it then releases the holder, so the pod and the Job finish with the test's status.
func (f *Fetch) Run(ctx context.Context, namespace, run, to string, release bool) (*outcome.Reports, error) {
	pod, err := RunPod(ctx, f.Client, namespace, run)
	if err != nil {
		return nil, err
	}
	return f.FromPod(ctx, pod, run, to, release)
}

// FromPod is Run for the given pod of the run: a shard's, for a sharded run.
func (f *Fetch) FromPod(ctx context.Context, pod *corev1.Pod, run, to string, release bool) (*outcome.Reports, error) {
	namespace := pod.Namespace
	if outcome.PodFinished(pod) {
		return nil, fmt.Errorf("the pod %q of run %q has finished (%s): its holder was released or its hold (--hold) ran out, and nothing can be read from a pod whose containers have all exited: fetch a run before it is released (run --reports, or run --keep / --detach then fetch)",
			pod.Name, run, pod.Status.Phase)
	}
	if pod.Status.Phase != corev1.PodRunning {
		return nil, fmt.Errorf("the pod %q of run %q has not started yet (%s): wait for it with kubectl testrun wait %s", pod.Name, run, pod.Status.Phase, run)
	}
	c := &ReportCopier{Client: f.Client, Fetcher: f.Fetcher, Progress: f.Progress, To: to}
	if readerSecurity(pod) == nil && holderRunning(pod) {
		// The holder reads as a fetch container would (the same user): copying through it saves starting a
		// container, and leaves no ephemeral container behind in the pod's spec for every fetch.
		c.prepared, c.container, c.dir = true, runspec.HolderContainer, runspec.HolderReportsDir
	}
	reports := c.Copy(ctx, pod)
	if reports.Error != "" {
		return reports, errors.New(reports.Error)
	}
	term := outcome.Terminated(outcome.ContainerStatus(pod, runspec.TestContainer))
	Summarize(f.Progress, reports, run, outcome.Outcome{}, term == nil || term.ExitCode == 0, diagnose.NewTailBuffer(0))
	if release && term != nil {
		if err := ReleaseHolder(ctx, f.Exec, namespace, pod.Name, outcome.NewFetchRecord(reports, time.Now())); err != nil {
			return reports, fmt.Errorf("reports copied, but releasing run %q failed (its pod ends by itself after --hold): %w", run, err)
		}
		f.Progress.Printf("released run %s", run)
	}
	return reports, nil
}

// Pod copies the file or directory p of container in a pod the plugin did not create into to (a file lands
// in to under its own name). Its fetch container exits once the copy is done. A path on a volume is read by mounting that volume read-only in a fetch container; any other path through the
// container's process namespace (/proc/1/root), which needs the fetch container to run as the same user.
func (f *Fetch) Pod(ctx context.Context, namespace, name, container, p, to string) (*outcome.Reports, error) {
	pod, err := f.Client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("pod %q in namespace %q: %w", name, namespace, err)
	}
	if outcome.PodFinished(pod) {
		return nil, fmt.Errorf("pod %q has finished (%s): once every container of a pod has exited, the kubelet starts no ephemeral container and refuses exec, so nothing can be read from it; run such tests with kubectl testrun run, whose pod keeps a holder container until the reports are fetched",
			name, pod.Status.Phase)
	}
	c, err := podContainer(pod, container)
	if err != nil {
		return nil, err
	}
	mount, dir := fetch.Mount{}, ""
	if volume, sub, ok := fetch.VolumeFor(c, p); ok {
		mount.Volume, dir = volume, path.Join(fetch.SourceDir, sub)
	} else {
		mount.Target, mount.SecurityContext, dir = c.Name, mirrorSecurity(pod, c), path.Join("/proc/1/root", p)
	}
	name, err = f.Fetcher.Prepare(ctx, pod, mount)
	if err != nil {
		return nil, err
	}
	if err := waitRunning(ctx, f.Client, namespace, pod.Name, name); err != nil {
		return nil, err
	}
	reports := &outcome.Reports{Dir: to, Files: []outcome.ReportFile{}}
	files, err := f.Fetcher.FetchPath(ctx, namespace, pod.Name, name, dir, to)
	// Nothing of the plugin stays running in a pod it does not own.
	finish(ctx, f.Fetcher, namespace, pod.Name, name)
	for _, file := range files {
		reports.Files = append(reports.Files, outcome.ReportFile{Path: file.Path, Size: file.Size, SHA256: file.SHA256})
	}
	if err != nil {
		reports.Error = err.Error()
		return reports, err
	}
	Summarize(f.Progress, reports, pod.Name, outcome.Outcome{}, true, diagnose.NewTailBuffer(0))
	return reports, nil
}

// RunPod returns the newest pod of run.
func RunPod(ctx context.Context, client kubernetes.Interface, namespace, run string) (*corev1.Pod, error) {
	selector := labels.SelectorFromSet(labels.Set{runspec.LabelRun: run}).String()
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("finding the pod of run %q in namespace %q: %w", run, namespace, err)
	}
	if len(pods.Items) == 0 {
		return nil, fmt.Errorf("no pod of run %q in namespace %q: check the run name and the namespace (kubectl get jobs -n %s -l %s)", run, namespace, namespace, runspec.LabelManagedBy+"="+runspec.ManagedByValue)
	}
	newest := &pods.Items[0]
	for i := range pods.Items[1:] {
		if p := &pods.Items[i+1]; newest.CreationTimestamp.Before(&p.CreationTimestamp) {
			newest = p
		}
	}
	return newest, nil
}

// podContainer returns the named container, or the default one kubectl would pick.
func podContainer(pod *corev1.Pod, name string) (*corev1.Container, error) {
	if name == "" {
		name = pod.Annotations["kubectl.kubernetes.io/default-container"]
	}
	if name == "" {
		return &pod.Spec.Containers[0], nil
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i], nil
		}
	}
	return nil, fmt.Errorf("pod %q has no container %q: pick one with -c", pod.Name, name)
}

// mirrorSecurity is the security context of a fetch container that reads c's files through its process
// namespace: the kernel lets a process read /proc/PID/root of another only with the same user and at least
// its capabilities. It mirrors what the pod says of c's user and capabilities, adding no privilege, with a
// read-only root filesystem. A user set only in the image (USER) is not visible here: such a container's
// files are readable this way only when the image's user is root, or through a volume.
func mirrorSecurity(pod *corev1.Pod, c *corev1.Container) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{}
	if c.SecurityContext != nil {
		sc = c.SecurityContext.DeepCopy()
	}
	if ps := pod.Spec.SecurityContext; ps != nil {
		if sc.RunAsUser == nil {
			sc.RunAsUser = ps.RunAsUser
		}
		if sc.RunAsGroup == nil {
			sc.RunAsGroup = ps.RunAsGroup
		}
		if sc.RunAsNonRoot == nil {
			sc.RunAsNonRoot = ps.RunAsNonRoot
		}
	}
	sc.Privileged, sc.ReadOnlyRootFilesystem = nil, ptr.To(true)
	if sc.AllowPrivilegeEscalation == nil {
		sc.AllowPrivilegeEscalation = ptr.To(false)
	}
	return sc
}

// describeLimit caps what describe copies out to summarise a run's JUnit files: it is a look, not a fetch.
const describeLimit = 16 << 20

// JUnitInPod totals the JUnit files in the report volume of a run's running pod: it copies the volume
// through the holder into a temporary directory (verified like any fetch, at most 16 MiB) and summarises it.
// It returns nil when there are no JUnit files.
func JUnitInPod(ctx context.Context, client kubernetes.Interface, exec podexec.Executor, pod *corev1.Pod) (*junit.Summary, error) {
	tmp, err := os.MkdirTemp("", "testrun-describe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	f := &fetch.Fetcher{Client: client, Exec: exec, Limits: extract.Limits{MaxTotalBytes: describeLimit, MaxFileBytes: describeLimit}}
	dir := filepath.Join(tmp, "reports")
	if _, err := f.Fetch(ctx, pod.Namespace, pod.Name, runspec.HolderContainer, runspec.HolderReportsDir, dir); err != nil {
		return nil, err
	}
	files, err := junit.Find(dir)
	if err != nil || len(files) == 0 {
		return nil, err
	}
	summary, err := junit.Summarize(dir, files)
	return &summary, err
}
