package upload

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// shells are the shells the scripts are run with here: the system's sh (dash on Debian, which has no
// `read -t`) and, where it is installed, busybox's, the default helper image's.
func shells() [][]string {
	s := [][]string{{"sh"}}
	if _, err := exec.LookPath("busybox"); err == nil {
		s = append(s, []string{"busybox", "sh"})
	}
	return s
}

// localScript returns script working in dir, with its termination message in dir/termination-log.
func localScript(script, dir string) string {
	return strings.ReplaceAll(strings.ReplaceAll(script, terminationLog, filepath.Join(dir, "termination-log")), Dir, filepath.Join(dir, "volume"))
}

// waiting starts the init container's script in dir and returns a channel with its exit error.
func waiting(t *testing.T, shell []string, dir string, seconds string) <-chan error {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "volume"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, shell[1:]...), "-c", localScript(waitScript, dir), "upload", seconds)
	cmd := exec.CommandContext(t.Context(), shell[0], args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return done
}

// send runs the upload's exec script in dir with archive on its stdin.
func send(t *testing.T, shell []string, dir string, archive []byte) (string, error) {
	t.Helper()
	args := append(append([]string{}, shell[1:]...), "-c", localScript(sendScript, dir), "upload")
	cmd := exec.CommandContext(t.Context(), shell[0], args...)
	cmd.Stdin = bytes.NewReader(archive)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

func exited(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the init container's script did not exit within 10 s of the upload's end")
		return nil
	}
}

// An upload with no regular file (an empty directory, or only empty directories) has an empty manifest,
// which sha256sum -c refuses: it arrives, and the test starts.
func TestScriptsAcceptAnUploadOfEmptyDirectories(t *testing.T) {
	for _, shell := range shells() {
		t.Run(strings.Join(shell, " "), func(t *testing.T) {
			dir, local := t.TempDir(), t.TempDir()
			if err := os.Mkdir(filepath.Join(local, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			done := waiting(t, shell, dir, "30")
			var archive bytes.Buffer
			if _, err := Write(&archive, []Item{{Local: local, Name: "0"}, {Local: t.TempDir(), Name: "1"}}, Limits{}); err != nil {
				t.Fatal(err)
			}
			if stderr, err := send(t, shell, dir, archive.Bytes()); err != nil {
				t.Fatalf("the upload failed: %v: %s", err, stderr)
			}
			if err := exited(t, done); err != nil {
				t.Fatalf("the init container's script ended with %v after an upload of empty directories, want exit 0", err)
			}
			for _, d := range []string{"0/sub", "1"} {
				if fi, err := os.Stat(filepath.Join(dir, "volume", filepath.FromSlash(d))); err != nil || !fi.IsDir() {
					t.Errorf("the empty directory %s did not arrive: %v", d, err)
				}
			}
		})
	}
}

func TestScriptsUnpackVerifyAndLetTheTestStart(t *testing.T) {
	for _, shell := range shells() {
		t.Run(strings.Join(shell, " "), func(t *testing.T) {
			dir := t.TempDir()
			done := waiting(t, shell, dir, "30")
			var archive bytes.Buffer
			if _, err := Write(&archive, []Item{{Local: suite(t), Name: "0"}}, Limits{}); err != nil {
				t.Fatal(err)
			}
			if stderr, err := send(t, shell, dir, archive.Bytes()); err != nil {
				t.Fatalf("the upload failed: %v: %s", err, stderr)
			}
			if err := exited(t, done); err != nil {
				t.Fatalf("the init container's script ended with %v after a good upload, want exit 0", err)
			}
			volume := filepath.Join(dir, "volume", "0")
			got, err := os.ReadFile(filepath.Join(volume, "lib", "data.bin"))
			if err != nil || !bytes.Equal(got, binary()) {
				t.Errorf("lib/data.bin arrived as %q (%v), want %q", got, err, binary())
			}
			if fi, err := os.Stat(filepath.Join(volume, "run.sh")); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("run.sh: %v, %v: want it executable (0755)", fi, err)
			}
			if target, err := os.Readlink(filepath.Join(volume, "lib", "run")); err != nil || target != "../run.sh" {
				t.Errorf("lib/run links to %q (%v), want ../run.sh", target, err)
			}
			if fi, err := os.Stat(filepath.Join(volume, "empty")); err != nil || !fi.IsDir() {
				t.Errorf("the empty directory did not arrive: %v", err)
			}
			for _, gone := range []string{manifestFile, ".testrun-check"} {
				if _, err := os.Stat(filepath.Join(dir, "volume", gone)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s is left in the volume (%v)", gone, err)
				}
			}
		})
	}
}

func TestScriptsRefuseFilesThatDoNotMatchTheManifest(t *testing.T) {
	for _, shell := range shells() {
		t.Run(strings.Join(shell, " "), func(t *testing.T) {
			dir := t.TempDir()
			done := waiting(t, shell, dir, "30")
			var archive bytes.Buffer
			tw := tar.NewWriter(&archive)
			manifest := sum([]byte("what was meant")) + "  0\n"
			for _, f := range []struct{ name, content string }{{"0", "what arrived"}, {manifestFile, manifest}} {
				if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.content))}); err != nil {
					t.Fatal(err)
				}
				if _, err := tw.Write([]byte(f.content)); err != nil {
					t.Fatal(err)
				}
			}
			if err := tw.Close(); err != nil {
				t.Fatal(err)
			}
			stderr, err := send(t, shell, dir, archive.Bytes())
			if err == nil || !strings.Contains(stderr, "0: FAILED") {
				t.Errorf("the upload of a file that does not match its manifest ended with %v, stderr %q: want a failure naming the file", err, stderr)
			}
			if err := exited(t, done); err == nil {
				t.Error("the init container's script exited 0 after a failed upload: the test would start without its files")
			}
			msg, _ := os.ReadFile(filepath.Join(dir, "termination-log"))
			if !strings.Contains(string(msg), "do not match the manifest") {
				t.Errorf("termination message %q does not say why", msg)
			}
		})
	}
}

func TestWaitScriptGivesUpWhenNoUploadComes(t *testing.T) {
	for _, shell := range shells() {
		t.Run(strings.Join(shell, " "), func(t *testing.T) {
			dir := t.TempDir()
			if err := exited(t, waiting(t, shell, dir, "1")); err == nil {
				t.Fatal("the init container's script exited 0 without an upload")
			}
			msg, _ := os.ReadFile(filepath.Join(dir, "termination-log"))
			if want := "no upload arrived within 1 s"; !strings.Contains(string(msg), want) {
				t.Errorf("termination message %q does not say %q", msg, want)
			}
		})
	}
}

// localExec runs the upload's exec command locally in dir, as the init container would.
type localExec struct {
	shell []string
	dir   string
}

func (l localExec) Exec(ctx context.Context, _, _, _ string, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(command) != 4 || command[0] != "sh" || command[2] != sendScript {
		return fmt.Errorf("unexpected command %q", command)
	}
	args := append(append([]string{}, l.shell[1:]...), "-c", localScript(sendScript, l.dir), "upload")
	cmd := exec.CommandContext(ctx, l.shell[0], args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	return cmd.Run()
}

func TestSendStreamsTheArchiveAndReportsWhatItSent(t *testing.T) {
	dir := t.TempDir()
	done := waiting(t, []string{"sh"}, dir, "30")
	u := &Uploader{Exec: localExec{shell: []string{"sh"}, dir: dir}}
	got, err := u.Send(t.Context(), "ns", "pod", []Item{{Local: suite(t), Name: "0"}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff(Summary{Files: 3, Dirs: 5, Symlinks: 1, Bytes: int64(len(binary()) + 18 + 2)}, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if err := exited(t, done); err != nil {
		t.Errorf("the init container's script ended with %v, want 0", err)
	}
}

func TestSendPrefersTheLocalErrorAndNamesThePodsOwn(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "volume"), 0o755); err != nil {
		t.Fatal(err)
	}
	u := &Uploader{Exec: localExec{shell: []string{"sh"}, dir: dir}, Limits: Limits{MaxBytes: 10}}
	_, err := u.Send(t.Context(), "ns", "pod", []Item{{Local: suite(t), Name: "0"}})
	if err == nil || !strings.Contains(err.Error(), "--upload-max-bytes") {
		t.Errorf("Send of more than the limit: %v, want the limit's error", err)
	}
	// The pod's side fails: the volume directory does not exist.
	u = &Uploader{Exec: localExec{shell: []string{"sh"}, dir: filepath.Join(dir, "missing")}}
	_, err = u.Send(t.Context(), "ns", "pod", []Item{{Local: suite(t), Name: "0"}})
	if err == nil || !strings.Contains(err.Error(), `unpacking the upload in container "testrun-upload" of pod "pod"`) {
		t.Errorf("Send into a pod that cannot unpack: %v, want an error naming the container and pod", err)
	}
}

func TestProblem(t *testing.T) {
	pod := func(s corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{{Name: ContainerName, Image: "busybox:x", State: s}}}}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"no pod", nil, ""},
		{"starting", pod(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}), ""},
		{"running", pod(corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}), ""},
		{"pull", pod(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}}),
			`the upload container "testrun-upload" cannot start from helper image "busybox:x" (ImagePullBackOff): not found: pass a busybox-like image the cluster can pull (sh, tar and sha256sum) with --helper-image`},
		{"no tar", pod(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 127, Reason: "Error", Message: "the helper image has no tar, which --upload needs\n"}}),
			`the upload container "testrun-upload" ended with exit code 127 (Error): the helper image has no tar, which --upload needs: pass a busybox-like image with sh, tar and sha256sum with --helper-image`},
		{"done", pod(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := Problem(tt.pod); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Problem (-want +got):\n%s", diff)
			}
		})
	}
}
