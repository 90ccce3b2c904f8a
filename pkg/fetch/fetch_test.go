package fetch

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/extract"
)

// podFiles plays a fetch container holding files: it answers the manifest and the tar execs, or fails the
// tar the way busybox tar fails on a file it may not read.
type podFiles struct {
	files      map[string]string
	unreadable string
}

func (p podFiles) Exec(_ context.Context, _, _, _ string, command []string, _ io.Reader, stdout, stderr io.Writer) error {
	switch {
	case len(command) > 2 && command[2] == manifestScript:
		for name, content := range p.files {
			fmt.Fprintf(stdout, "%x  ./%s\n", sha256.Sum256([]byte(content)), name)
		}
		return nil
	case command[0] == "tar":
		tw := tar.NewWriter(stdout)
		for name, content := range p.files {
			if name == p.unreadable {
				continue
			}
			if err := tw.WriteHeader(&tar.Header{Name: "./" + name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			if _, err := io.WriteString(tw, content); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		if p.unreadable != "" {
			fmt.Fprintf(stderr, "tar: can't open './%s': Permission denied\ntar: error exit delayed from previous errors\n", p.unreadable)
			return errors.New("command terminated with exit code 1")
		}
		return nil
	}
	return fmt.Errorf("unexpected command %q", command)
}

// localShell runs the fetch container's commands with the local sh, tar, find and sha256sum, to test the
// scripts themselves.
type localShell struct{}

func (localShell) Exec(ctx context.Context, _, _, _ string, command []string, _ io.Reader, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd.Run()
}

// The tar and manifest scripts copy a directory's content, or a single file under its own name, and agree on
// the names, so the copy verifies.
func TestFetchScriptsCopyADirectoryOrASingleFile(t *testing.T) {
	src := t.TempDir()
	for name, content := range map[string]string{"r.xml": "<testsuites/>", "sub/-odd name.txt": "a\r\nb"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, path string
		want       []string
	}{
		{"directory", src, []string{"r.xml", "sub/-odd name.txt"}},
		{"file", filepath.Join(src, "sub", "-odd name.txt"), []string{"-odd name.txt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &Fetcher{Exec: localShell{}, Limits: extract.DefaultLimits()}
			to := filepath.Join(t.TempDir(), "out")
			files, err := f.FetchPath(t.Context(), "ci", "p", "c", tc.path, to)
			if err != nil {
				t.Fatalf("Fetch(%s): %v", tc.path, err)
			}
			var got []string
			for _, file := range files {
				got = append(got, file.Path)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("files copied (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFetchPathOfNothingSaysSo(t *testing.T) {
	f := &Fetcher{Exec: localShell{}, Limits: extract.DefaultLimits()}
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := f.FetchPath(t.Context(), "ci", "p", "c", missing, filepath.Join(t.TempDir(), "out"))
	if err == nil || !strings.Contains(err.Error(), "does not exist in pod \"p\"") {
		t.Errorf("FetchPath of a missing path = %v, want an error saying it does not exist", err)
	}
}

func TestFetchVerifiesEveryFileAgainstTheManifest(t *testing.T) {
	files := map[string]string{"junit.xml": "<testsuites/>", "logs/a.txt": "line\r\n"}
	f := &Fetcher{Exec: podFiles{files: files}, Limits: extract.DefaultLimits()}
	to := filepath.Join(t.TempDir(), "out")
	got, err := f.Fetch(t.Context(), "ci", "p", "c", SourceDir, to)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("Fetch returned %d files, want 2: %+v", len(got), got)
	}
	for name, content := range files {
		if b, err := os.ReadFile(filepath.Join(to, name)); err != nil || string(b) != content {
			t.Errorf("%s = %q (%v), want %q", name, b, err, content)
		}
	}
}

func TestFetchExplainsAFileItMayNotRead(t *testing.T) {
	f := &Fetcher{Exec: podFiles{files: map[string]string{"ok.txt": "ok", "secret.txt": "s"}, unreadable: "secret.txt"}, Limits: extract.DefaultLimits()}
	_, err := f.Fetch(t.Context(), "ci", "p", "c", SourceDir, filepath.Join(t.TempDir(), "out"))
	if err == nil {
		t.Fatal("Fetch succeeded although a file could not be read")
	}
	for _, want := range []string{"can't open './secret.txt': Permission denied", "readable by all (umask 022, or chmod -R a+rX", "runAsUser"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestPrepareAddsARestrictedFetchContainer(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ci"}}
	tests := []struct {
		name string
		m    Mount
		want *corev1.SecurityContext
	}{
		{"the default user", Mount{Volume: "reports"}, NonRootSecurity(65534, 65534)},
		{"a given user", Mount{Volume: "reports", SecurityContext: NonRootSecurity(1000, 3000)}, NonRootSecurity(1000, 3000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(pod.DeepCopy())
			var patched []byte
			client.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				patched = a.(k8stesting.PatchAction).GetPatch()
				return true, pod, nil
			})
			name, err := (&Fetcher{Client: client, HelperImage: "busybox:1"}).Prepare(t.Context(), pod, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Spec struct{ EphemeralContainers []corev1.EphemeralContainer }
			}
			if err := json.Unmarshal(patched, &doc); err != nil || len(doc.Spec.EphemeralContainers) != 1 {
				t.Fatalf("patch %s: %v", patched, err)
			}
			ec := doc.Spec.EphemeralContainers[0]
			if ec.Name != name || !strings.HasPrefix(name, ContainerPrefix) {
				t.Errorf("container name %q, Prepare returned %q", ec.Name, name)
			}
			if diff := cmp.Diff(tc.want, ec.SecurityContext); diff != "" {
				t.Errorf("security context (-want +got):\n%s", diff)
			}
			if want := []corev1.VolumeMount{{Name: "reports", MountPath: SourceDir, ReadOnly: true}}; !cmp.Equal(want, ec.VolumeMounts) {
				t.Errorf("mounts = %+v, want the volume read-only at %s", ec.VolumeMounts, SourceDir)
			}
			if !*ec.SecurityContext.RunAsNonRoot || *ec.SecurityContext.AllowPrivilegeEscalation || !cmp.Equal(ec.SecurityContext.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("the fetch container is not non-root without capabilities: %+v", ec.SecurityContext)
			}
		})
	}
}

// cutTar plays a fetch container whose tar stops half-way through its one file, with err.
type cutTar struct{ err error }

func (c cutTar) Exec(_ context.Context, _, _, _ string, command []string, _ io.Reader, stdout, _ io.Writer) error {
	const content = "0123456789"
	if command[0] != "tar" {
		fmt.Fprintf(stdout, "%x  ./big\n", sha256.Sum256([]byte(content)))
		return nil
	}
	tw := tar.NewWriter(stdout)
	if err := tw.WriteHeader(&tar.Header{Name: "./big", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, content[:5]); err != nil {
		return err
	}
	return c.err
}

// A copy that broke off (a dropped connection, a process killed by a signal) is a CutError, which callers
// may retry; a command that failed by itself is not. Either way the half-written file is not left behind.
func TestFetchTellsACutCopyFromAFailedOne(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantCut bool
	}{
		{"connection dropped", errors.New("error reading from error stream: connection reset by peer"), true},
		{"tar killed", utilexec.CodeExitError{Err: errors.New("command terminated with exit code 137"), Code: 137}, true},
		{"tar failed", utilexec.CodeExitError{Err: errors.New("command terminated with exit code 1"), Code: 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &Fetcher{Exec: cutTar{err: tc.err}, Limits: extract.DefaultLimits()}
			to := filepath.Join(t.TempDir(), "out")
			_, err := f.Fetch(t.Context(), "ci", "p", "c", SourceDir, to)
			if err == nil {
				t.Fatal("Fetch succeeded although the copy broke off")
			}
			var cut *CutError
			if got := errors.As(err, &cut); got != tc.wantCut {
				t.Errorf("errors.As(%v, *CutError) = %t, want %t", err, got, tc.wantCut)
			}
			if !strings.Contains(err.Error(), `entry "./big"`) {
				t.Errorf("the error does not name the incomplete file: %v", err)
			}
			if _, err := os.Stat(filepath.Join(to, "big")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the half-written file is left in the directory (stat: %v)", err)
			}
		})
	}
}
