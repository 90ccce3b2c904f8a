// Package upload copies local files and directories into a pod before its test starts, byte for byte, also
// into a test image that has no shell and no tar: an init container running the helper image waits in the
// pod for the client, which streams a tar over an exec's stdin; the helper unpacks it into an emptyDir
// volume, checks every file against a sha256 manifest the client made while it wrote the tar, and exits 0,
// and the test container then starts with the volume mounted (docs/design.md, "Files into the pod"). It is
// the fetch of package fetch in reverse: the client's side is the trusted one here, so what it refuses is
// what would read outside the directories the user named.
package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
)

// The init container's layout. The upload volume's root holds one entry per Item (its Name) and, while the
// upload is under way, the control files below; the test container mounts only the items, each with a
// subPath, so it never sees the control files.
const (
	// ContainerName is the name of the init container that receives the upload.
	ContainerName = "testrun-upload"
	// Dir is where the init container mounts the upload volume.
	Dir = "/testrun/upload"
	// DefaultWait is how long the init container waits for the client to start the upload before it gives up
	// (and the pod fails), so that a pod whose client went away does not hold its node until the Job's deadline.
	DefaultWait = 5 * time.Minute

	// manifestFile is the last entry of the archive: a sha256sum line for every regular file before it.
	manifestFile = ".testrun-manifest"
	// startedFile tells the init container that the upload began: from then on only its end counts.
	startedFile = ".testrun-started"
	// doneFile tells the init container that the upload arrived whole and it may exit 0.
	doneFile = ".testrun-done"
	// failedFile holds why the upload failed; the init container makes it its termination message and exits 1.
	failedFile = ".testrun-failed"
	// wakeFile is a FIFO the init container waits on, which the upload writes, so that the end is seen at once.
	wakeFile = ".testrun-wake"
	// nobody is the uid and gid the init container runs as.
	nobody = 65534
)

// terminationLog is where the init container's termination message goes.
const terminationLog = "/dev/termination-log"

// waitScript is what the init container runs, with the seconds it waits for the upload to start as $1. It
// first checks that the helper image has the tools the upload needs (so a helper image without tar fails
// the run at once, naming the tool), then waits until the upload is done (exit 0) or failed (exit 1), or
// until $1 seconds passed without the upload starting (exit 1). Like the holder, it starts no process while
// it waits: it reads the time from /proc/uptime and waits a second at a time with `read -t` on a FIFO that
// the upload writes when it ends; a shell without `read -t` or mkfifo sleeps in the background instead.
// It has no "$$" and no "$(NAME)": Kubernetes would expand those in a container's command.
const waitScript = `trap 'exit 143' TERM INT
for tool in tar sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "the helper image has no $tool, which --upload needs" > ` + terminationLog + `; exit 127; }
done
cd ` + Dir + ` || exit 1
wake=` + wakeFile + `
{ mkfifo "$wake" && { read -t 0 _ <> "$wake"; [ $? -le 1 ]; }; } 2>/dev/null || { rm -f "$wake"; wake=; }
read -r now _ < /proc/uptime
end=$(( ${now%%.*} + $1 ))
until [ -e ` + doneFile + ` ]; do
  if [ -e ` + failedFile + ` ]; then cat ` + failedFile + ` > ` + terminationLog + `; exit 1; fi
  read -r now _ < /proc/uptime
  if [ ! -e ` + startedFile + ` ] && [ "${now%%.*}" -ge "$end" ]; then
    echo "no upload arrived within $1 s: the client that started the run went away" > ` + terminationLog + `
    exit 1
  fi
  if [ -n "$wake" ]; then read -t 1 _ <> "$wake"; else sleep 1 & wait $!; fi
done
exit 0
`

// sendScript runs in the init container through exec, with the archive on its stdin: it unpacks it into the
// upload volume, checks every file against the manifest, and tells the waiting init container the outcome.
// tar -o leaves the files to the container's user (GNU tar and busybox agree on it), and umask 0 keeps the
// modes the archive gives (see Write); lines of sha256sum that are not "OK" go to stderr, for the client's
// error. An empty manifest (an upload of empty directories only) has nothing to check, and sha256sum refuses it.
const sendScript = `cd ` + Dir + ` || exit 1
umask 0
: > ` + startedFile + `
wake() { [ -p ` + wakeFile + ` ] && printf '\n' 1<> ` + wakeFile + `; true; }
fail() { printf '%s\n' "$1" > ` + failedFile + `; wake; exit 1; }
tar -xof - || fail "unpacking the uploaded archive failed"
if [ -s ` + manifestFile + ` ] && ! sha256sum -c ` + manifestFile + ` > .testrun-check 2>&1; then
  while IFS= read -r line; do case $line in *': OK') ;; *) printf '%s\n' "$line" >&2 ;; esac; done < .testrun-check
  fail "the uploaded files do not match the manifest the client made"
fi
rm -f ` + manifestFile + ` .testrun-check
: > ` + doneFile + `
wake
`

// Container returns the init container that receives the upload: the helper image, the upload volume at
// Dir, waiting up to wait (0 means DefaultWait) for the client. It is locked down as the holder is, so that
// PodSecurity "restricted" admits it: uid 65534, every capability dropped, a read-only root filesystem.
func Container(image, volume string, wait time.Duration) corev1.Container {
	if wait <= 0 {
		wait = DefaultWait
	}
	return corev1.Container{
		Name:                     ContainerName,
		Image:                    image,
		Command:                  []string{"sh", "-c", waitScript, "upload", strconv.FormatInt(int64(wait/time.Second), 10)},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("1m"),
				corev1.ResourceMemory: resource.MustParse("8Mi"),
			},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: volume, MountPath: Dir}},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			RunAsUser:                ptr.To[int64](nobody),
			RunAsGroup:               ptr.To[int64](nobody),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			ReadOnlyRootFilesystem:   ptr.To(true),
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// Status returns the status of the upload init container of pod; nil when the pod has none (yet).
func Status(pod *corev1.Pod) *corev1.ContainerStatus {
	if pod == nil {
		return nil
	}
	for i := range pod.Status.InitContainerStatuses {
		if pod.Status.InitContainerStatuses[i].Name == ContainerName {
			return &pod.Status.InitContainerStatuses[i]
		}
	}
	return nil
}

// Ready reports whether the upload init container of pod runs, so the upload can be sent.
func Ready(pod *corev1.Pod) bool {
	s := Status(pod)
	return s != nil && s.State.Running != nil
}

// Uploader sends uploads into pods.
type Uploader struct {
	Exec podexec.Executor
	// Limits caps what one upload may send; zero fields take DefaultLimits.
	Limits Limits
}

// errExecEnded closes the archive's pipe when the exec ended first, so the writer stops.
var errExecEnded = errors.New("the upload's exec ended")

// maxStderr bounds what the init container's errors may add to an error message.
const maxStderr = 4 << 10

// Send streams items into the upload init container of pod, which unpacks and verifies them and then exits
// 0, letting the test start. A local problem (a file gone, a limit passed) is returned as it is; a problem
// in the pod names it.
func (u *Uploader) Send(ctx context.Context, namespace, pod string, items []Item) (Summary, error) {
	pr, pw := io.Pipe()
	type written struct {
		sum Summary
		err error
	}
	wrote := make(chan written, 1)
	go func() {
		sum, err := Write(pw, items, u.Limits)
		pw.CloseWithError(err)
		wrote <- written{sum, err}
	}()
	var stderr limitedBuffer
	err := u.Exec.Exec(ctx, namespace, pod, ContainerName, []string{"sh", "-c", sendScript, "upload"}, pr, io.Discard, &stderr)
	pr.CloseWithError(errExecEnded)
	w := <-wrote
	if w.err != nil && !errors.Is(w.err, errExecEnded) && !errors.Is(w.err, io.ErrClosedPipe) {
		return w.sum, w.err
	}
	if err != nil {
		detail := strings.TrimSpace(stderr.String())
		if detail != "" {
			detail = " (in the pod: " + detail + ")"
		}
		return w.sum, fmt.Errorf("unpacking the upload in container %q of pod %q: %w%s", ContainerName, pod, err, detail)
	}
	return w.sum, nil
}

// limitedBuffer keeps the first maxStderr bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

// Write implements io.Writer, dropping what does not fit.
func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxStderr - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// Problem returns why the upload init container of pod will never take the upload, or nil while it may:
// its image cannot be pulled or started, the helper image lacks a tool, or it gave up waiting.
func Problem(pod *corev1.Pod) error {
	s := Status(pod)
	if s == nil {
		return nil
	}
	if w := s.State.Waiting; w != nil {
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
			return fmt.Errorf("the upload container %q cannot start from helper image %q (%s): %s: pass a busybox-like image the cluster can pull (sh, tar and sha256sum) with --helper-image",
				ContainerName, s.Image, w.Reason, strings.TrimSpace(w.Message))
		}
		return nil
	}
	if t := s.State.Terminated; t != nil && t.ExitCode != 0 {
		err := fmt.Errorf("the upload container %q ended with exit code %d (%s): %s", ContainerName, t.ExitCode, t.Reason, strings.TrimSpace(t.Message))
		if t.ExitCode == 127 || t.Reason == "StartError" {
			err = fmt.Errorf("%w: pass a busybox-like image with sh, tar and sha256sum with --helper-image", err)
		}
		return err
	}
	return nil
}
