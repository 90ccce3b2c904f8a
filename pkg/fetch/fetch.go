// Package fetch copies files out of a pod, byte for byte, even from a container that has exited or has no
// shell and no tar: an ephemeral container running the helper image mounts the volume that holds the files
// read-only, and two execs into it stream a sha256 manifest and a tar
// (docs/design.md, "The fetch container"). The tar is unpacked by package extract, which treats it as
// hostile, and every file is checked against the manifest before it is presented as complete.
package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/extract"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
)

// The fetch container's layout.
const (
	// ContainerPrefix starts the name of every fetch container; a random suffix keeps names unique in a pod,
	// since ephemeral containers can never be removed.
	ContainerPrefix = "testrun-fetch-"
	// SourceDir is where the fetch container mounts the volume that holds the files.
	SourceDir = "/testrun/source"
	// ControlDir is where it mounts the run's control volume, when there is one, to see the release file.
	ControlDir = "/testrun/control"
	// nobody is the uid and gid the fetch container runs as by default.
	nobody = 65534
	// DefaultLinger is how long a fetch container waits for the plugin's execs before it exits by itself.
	DefaultLinger = 10 * time.Minute
)

// terminationLog is where the fetch container's termination message goes; the kubelet makes it writable for
// any user, also with a read-only root filesystem.
const terminationLog = "/dev/termination-log"

// lingerScript first checks that the helper image has the tools a fetch needs, and exits at once with a
// message naming the missing one otherwise, so that a broken --helper-image shows while the test still runs.
// It then keeps the fetch container running until the run is released (the control volume's release file),
// the plugin has finished its copy (Finish writes the termination message), or the linger time has passed,
// whichever comes first; the plugin execs into it meanwhile. Like the run's holder, it waits without starting
// a process: it reads the time from /proc/uptime and waits a second at a time with `read -t` on the control
// volume's wake FIFO (which the holder makes and the release writes; a FIFO opens for writing on a read-only
// mount), and sleeps in the background where there is no FIFO or the shell has no `read -t`.
const lingerScript = `trap 'exit 0' TERM INT
for tool in tar find sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "the helper image has no $tool" > ` + terminationLog + `; exit 127; }
done
read -r now _ < /proc/uptime
end=$(( ${now%%.*} + $1 ))
wake=` + ControlDir + `/wake
until [ -e ` + ControlDir + `/release ] || [ -s ` + terminationLog + ` ]; do
  read -r now _ < /proc/uptime
  [ "${now%%.*}" -gt "$end" ] && break
  if [ -p "$wake" ] && { read -t "${` + envPollSeconds + `:-1}" _ <> "$wake"; [ $? -le 1 ]; } 2>/dev/null; then :; else sleep "${` + envPollSeconds + `:-1}" & wait $!; fi
done
exit 0
`

// envPollSeconds lets the unit tests of lingerScript wait longer between its checks; the pod never sets it.
const envPollSeconds = "TESTRUN_POLL_SECONDS"

// manifestScript prints a sha256sum line for every regular file of $2 (. or ./NAME) in the directory $1, with
// the names tar gives them.
const manifestScript = `cd "$1" && find "$2" -type f -exec sha256sum {} +`

// kindScript says whether $1 is a directory, a file or neither.
const kindScript = `if [ -d "$1" ]; then echo directory; elif [ -e "$1" ]; then echo file; else echo missing; fi`

// finishScript ends the linger of a fetch container (see lingerScript).
const finishScript = `echo copied > ` + terminationLog

// ErrEphemeralForbidden is returned by Prepare when the API server refuses ephemeral containers (RBAC,
// admission policy, or a cluster that does not serve them); callers can fall back to another container.
var ErrEphemeralForbidden = errors.New("ephemeral containers are not allowed here")

// CutError is a copy that broke off on its way rather than failing for what it copied: the connection
// dropped (an API server or kubelet restart) or a process of the copy was killed. Copying again may succeed;
// an archive refused, a limit reached or a file the fetch container may not read would fail again.
type CutError struct{ Err error }

// Error returns the copy's error as it is.
func (e *CutError) Error() string { return e.Err.Error() }

// Unwrap returns the copy's error.
func (e *CutError) Unwrap() error { return e.Err }

// cutBy tells whether the exec error err broke a copy off: any failure but the command's own exit, and an
// exit by a signal (128+n) too.
func cutBy(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var exit utilexec.ExitError
	return !errors.As(err, &exit) || exit.ExitStatus() > 128
}

// Fetcher copies files out of pods.
type Fetcher struct {
	Client kubernetes.Interface
	Exec   podexec.Executor
	// HelperImage runs the fetch container; it needs sh, sleep, find, sha256sum and tar (busybox has them).
	HelperImage string
	// Limits cap what an archive may write locally.
	Limits extract.Limits
}

// Mount says which volume of a pod holds the files and how the fetch container mounts it.
type Mount struct {
	// Volume is the pod volume to mount read-only at SourceDir.
	Volume string
	// Control is the run's control volume, mounted so the container exits when the run is released; empty
	// for pods the plugin did not create.
	Control string
	// Target shares the process namespace of that container, for files outside any volume
	// (/proc/1/root/PATH); Volume is then empty.
	Target string
	// Linger is how long the fetch container waits for the plugin's execs at most; 0 means DefaultLinger. A
	// run's fetch container is added when the test starts, so it must linger as long as the holder holds.
	Linger time.Duration
	// SecurityContext replaces the default one (uid 65534, every capability dropped, which PodSecurity
	// restricted admits). Reading another container's files through /proc/1/root needs the same user and at
	// least its capabilities, so Target mode mirrors the target's.
	SecurityContext *corev1.SecurityContext
}

// NonRootSecurity is the security context of a fetch container running as uid and gid (not 0): every
// capability dropped, no privilege escalation, a read-only root filesystem and the RuntimeDefault seccomp
// profile, which PodSecurity restricted admits.
func NonRootSecurity(uid, gid int64) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsUser:                ptr.To(uid),
		RunAsGroup:               ptr.To(gid),
		RunAsNonRoot:             ptr.To(true),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		ReadOnlyRootFilesystem:   ptr.To(true),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// Prepare adds a fetch container to pod and returns its name. Ephemeral containers take about a second to
// start, so callers add it while the test still runs. A refusal by the API server wraps ErrEphemeralForbidden.
func (f *Fetcher) Prepare(ctx context.Context, pod *corev1.Pod, m Mount) (string, error) {
	name := ContainerPrefix + rand.String(5)
	linger := m.Linger
	if linger <= 0 {
		linger = DefaultLinger
	}
	security := m.SecurityContext
	if security == nil {
		security = NonRootSecurity(nobody, nobody)
	}
	ec := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name:                     name,
		Image:                    f.HelperImage,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		Command:                  []string{"sh", "-c", lingerScript, "linger", strconv.FormatInt(int64(linger.Seconds()), 10)},
		TerminationMessagePath:   terminationLog,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		SecurityContext:          security,
	}}
	if m.Volume != "" {
		ec.VolumeMounts = append(ec.VolumeMounts, corev1.VolumeMount{Name: m.Volume, MountPath: SourceDir, ReadOnly: true})
	}
	if m.Control != "" {
		ec.VolumeMounts = append(ec.VolumeMounts, corev1.VolumeMount{Name: m.Control, MountPath: ControlDir, ReadOnly: true})
	}
	ec.TargetContainerName = m.Target
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"ephemeralContainers": append(pod.Spec.EphemeralContainers, ec)}})
	if err != nil {
		return "", err
	}
	_, err = f.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers")
	switch {
	case apierrors.IsForbidden(err), apierrors.IsInvalid(err), apierrors.IsNotFound(err) && !podGone(ctx, f.Client, pod):
		return "", fmt.Errorf("%w: adding a fetch container to pod %q: %w", ErrEphemeralForbidden, pod.Name, err)
	case err != nil:
		return "", fmt.Errorf("adding a fetch container to pod %q: %w", pod.Name, err)
	}
	return name, nil
}

// podGone tells a pod that no longer exists from an API server that does not serve the subresource.
func podGone(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod) bool {
	_, err := client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

// Running reports whether the named ephemeral container of pod runs, and an error when it never will.
func Running(pod *corev1.Pod, container string) (bool, error) {
	for _, s := range pod.Status.EphemeralContainerStatuses {
		if s.Name != container {
			continue
		}
		switch {
		case s.State.Running != nil:
			return true, nil
		case s.State.Terminated != nil:
			err := fmt.Errorf("fetch container %q of pod %q ended before the fetch (%s, exit code %d): %s",
				container, pod.Name, s.State.Terminated.Reason, s.State.Terminated.ExitCode, strings.TrimSpace(s.State.Terminated.Message))
			if s.State.Terminated.ExitCode == 127 || s.State.Terminated.Reason == "StartError" {
				err = fmt.Errorf("%w: pass a busybox-like image with sh, sleep, tar, find and sha256sum with --helper-image", err)
			}
			return false, err
		case s.State.Waiting != nil && isPullProblem(s.State.Waiting.Reason):
			return false, fmt.Errorf("fetch container %q of pod %q cannot start: image %q: %s: %s: pass an image the cluster can pull with --helper-image",
				container, pod.Name, s.Image, s.State.Waiting.Reason, s.State.Waiting.Message)
		}
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false, fmt.Errorf("pod %q has finished (%s): nothing can be read from a pod whose containers have all exited", pod.Name, pod.Status.Phase)
	}
	return false, nil
}

func isPullProblem(reason string) bool {
	switch reason {
	case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerError", "CreateContainerConfigError":
		return true
	}
	return false
}

// Fetch copies the directory dir of container (inside the pod) into the local directory to, which it creates
// and which must be empty or not exist, and verifies every file against a manifest made in the pod. It returns
// the files written; on error the local directory is incomplete.
func (f *Fetcher) Fetch(ctx context.Context, namespace, pod, container, dir, to string) ([]extract.File, error) {
	return f.fetch(ctx, namespace, pod, container, dir, ".", to)
}

// FetchPath copies p of container, a directory (its content, as Fetch does) or a single file (into to under
// its own name), for a path the user named: it asks the container first which one p is.
func (f *Fetcher) FetchPath(ctx context.Context, namespace, pod, container, p, to string) ([]extract.File, error) {
	var out, errOut bytes.Buffer
	if err := f.Exec.Exec(ctx, namespace, pod, container, []string{"sh", "-c", kindScript, "kind", p}, nil, &out, &errOut); err != nil {
		return nil, fmt.Errorf("looking at %q in pod %q: %w%s", p, pod, err, stderrDetail(&errOut))
	}
	switch strings.TrimSpace(out.String()) {
	case "directory":
		return f.fetch(ctx, namespace, pod, container, p, ".", to)
	case "file":
		return f.fetch(ctx, namespace, pod, container, path.Dir(p), "./"+path.Base(p), to)
	}
	return nil, fmt.Errorf("%q does not exist in pod %q, or the fetch container may not see it: check --path and -c", p, pod)
}

// fetch copies entry ("." for all of it, or "./NAME") of the directory dir. tar runs as the container's own
// tar, not through sh, where busybox would prefer its built-in applet over the image's tar.
func (f *Fetcher) fetch(ctx context.Context, namespace, pod, container, dir, entry, to string) ([]extract.File, error) {
	// The manifest is made while the tar streams: both read the same files, which the test no longer writes,
	// and hashing in the pod would otherwise add its whole time to the copy.
	type manifestResult struct {
		sums map[string]string
		err  error
		cut  bool
	}
	manifestDone := make(chan manifestResult, 1)
	go func() {
		var out, errOut bytes.Buffer
		err := f.Exec.Exec(ctx, namespace, pod, container, []string{"sh", "-c", manifestScript, "manifest", dir, entry}, nil, &out, &errOut)
		if err != nil {
			manifestDone <- manifestResult{err: fmt.Errorf("listing the files under %q in pod %q: %w%s", dir, pod, err, stderrDetail(&errOut)), cut: cutBy(ctx, err)}
			return
		}
		sums, err := extract.ParseManifest(&out)
		if err != nil {
			err = fmt.Errorf("reading the manifest of %q in pod %q: %w", dir, pod, err)
		}
		manifestDone <- manifestResult{sums: sums, err: err}
	}()

	pr, pw := io.Pipe()
	var tarErr bytes.Buffer
	execDone := make(chan error, 1)
	go func() {
		err := f.Exec.Exec(ctx, namespace, pod, container, []string{"tar", "-cf", "-", "-C", dir, entry}, nil, pw, &tarErr)
		pw.CloseWithError(err)
		execDone <- err
	}()
	files, err := extract.Extract(pr, to, f.Limits)
	// Extract stops at the end-of-archive marker, or at the first entry it refuses; the exec still sends the
	// rest (tar pads its last record). It is drained rather than refused: client-go's exec streaming would
	// otherwise print "Copying stdout failed" on stderr, and then drain it anyway.
	_, _ = io.Copy(io.Discard, pr)
	execErr := <-execDone
	if err == nil {
		err = execErr
	}
	manifest := <-manifestDone
	if err != nil {
		err = fmt.Errorf("copying %q from pod %q: %w%s", dir, pod, err, stderrDetail(&tarErr))
		if strings.Contains(tarErr.String(), "Permission denied") {
			return files, fmt.Errorf("%w: the fetch container's user may not read the files named above: have the test write its reports readable by all (umask 022, or chmod -R a+rX on the directory), or give the test container a numeric non-root runAsUser, which the fetch container then shares", err)
		}
		if cutBy(ctx, execErr) {
			err = &CutError{Err: err}
		}
		return files, err
	}
	if manifest.err != nil {
		if manifest.cut {
			return files, &CutError{Err: manifest.err}
		}
		return files, manifest.err
	}
	if err := extract.Verify(files, manifest.sums); err != nil {
		return files, fmt.Errorf("the files copied from %q in pod %q do not match the manifest made in the pod, so they are not complete: %w", dir, pod, err)
	}
	return files, nil
}

// Finish lets the fetch container of a pod the plugin did not create exit once its copy is done (see
// lingerScript), so that no process of the plugin is left running in someone else's pod. The copy is complete
// by then, so a failure only means the container lingers until DefaultLinger.
func (f *Fetcher) Finish(ctx context.Context, namespace, pod, container string) error {
	return f.Exec.Exec(ctx, namespace, pod, container, []string{"sh", "-c", finishScript}, nil, io.Discard, io.Discard)
}

func stderrDetail(b *bytes.Buffer) string {
	s := strings.TrimSpace(b.String())
	if s == "" {
		return ""
	}
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return " (in the pod: " + s + ")"
}

// VolumeFor finds the volume of container that holds path, the deepest mount containing it, and the path
// inside that volume. ok is false when path is on the container's own filesystem.
func VolumeFor(container *corev1.Container, p string) (volume, subPath string, ok bool) {
	p = path.Clean(p)
	best := -1
	for i, m := range container.VolumeMounts {
		mp := path.Clean(m.MountPath)
		if (p == mp || strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/")) && (best < 0 || len(mp) > len(path.Clean(container.VolumeMounts[best].MountPath))) {
			best = i
		}
	}
	if best < 0 {
		return "", "", false
	}
	m := container.VolumeMounts[best]
	rel := strings.TrimPrefix(strings.TrimPrefix(p, path.Clean(m.MountPath)), "/")
	return m.Name, path.Join(m.SubPath, rel), true
}
