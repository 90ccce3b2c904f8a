package fetch

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	enginefetch "github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
)

const ns = "ci"

// runObjects returns the Job of a run as the plugin builds it and its pod on a node, in phase with the test
// container in state test and the holder still holding.
func runObjects(name string, phase corev1.PodPhase, test corev1.ContainerState) (*batchv1.Job, *corev1.Pod) {
	job := runspec.BuildJob(runspec.Spec{Name: name, Namespace: ns, Image: "tests:1"})
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-abcde", Namespace: ns, Labels: job.Spec.Template.Labels, Annotations: job.Spec.Template.Annotations},
		Spec:       *job.Spec.Template.Spec.DeepCopy(),
		Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{
			{Name: runspec.TestContainer, State: test},
			{Name: runspec.HolderContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
		}},
	}
	pod.Spec.NodeName = "node-1"
	return job, pod
}

// exited is a test container that ended with code.
func exited(code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, StartedAt: metav1.Now(), FinishedAt: metav1.Now()}}
}

// running is a test container that still runs.
var running = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}

// newClient returns a fake clientset holding objs whose kubelet starts every fetch container at once: the
// fake applies no patch to the ephemeralcontainers subresource by itself.
func newClient(t *testing.T, objs ...runtime.Object) *fake.Clientset {
	t.Helper()
	client := fake.NewClientset(objs...)
	pods := corev1.SchemeGroupVersion.WithResource("pods")
	client.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		patch := a.(k8stesting.PatchAction)
		if patch.GetSubresource() != "ephemeralcontainers" {
			return false, nil, nil
		}
		var doc struct {
			Spec struct{ EphemeralContainers []corev1.EphemeralContainer }
		}
		if err := json.Unmarshal(patch.GetPatch(), &doc); err != nil {
			return true, nil, err
		}
		obj, err := client.Tracker().Get(pods, patch.GetNamespace(), patch.GetName())
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		pod.Spec.EphemeralContainers = doc.Spec.EphemeralContainers
		pod.Status.EphemeralContainerStatuses = nil
		for _, ec := range doc.Spec.EphemeralContainers {
			pod.Status.EphemeralContainerStatuses = append(pod.Status.EphemeralContainerStatuses, corev1.ContainerStatus{
				Name: ec.Name, Image: ec.Image, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
			})
		}
		return true, pod, client.Tracker().Update(pods, pod, patch.GetNamespace())
	})
	return client
}

// podFiles plays the containers of a pod: a fetch container serves files (the kind of the path, the manifest
// and the tar); every command is recorded as "container: what", where what is the name a script runs under
// (sh -c SCRIPT NAME ...) or the command itself, and a fetch container's random name is left out.
type podFiles struct {
	files map[string]string

	mu    sync.Mutex
	calls []string
}

func (p *podFiles) Exec(_ context.Context, _, _, container string, command []string, _ io.Reader, stdout, _ io.Writer) error {
	what := strings.Join(command, " ")
	if len(command) > 3 && command[0] == "sh" {
		what = command[3]
	}
	if strings.HasPrefix(container, enginefetch.ContainerPrefix) {
		container = enginefetch.ContainerPrefix + "*"
	}
	p.mu.Lock()
	p.calls = append(p.calls, container+": "+what)
	p.mu.Unlock()
	names := slices.Sorted(maps.Keys(p.files))
	switch what {
	case "kind":
		fmt.Fprintln(stdout, "directory")
	case "manifest":
		for _, name := range names {
			fmt.Fprintf(stdout, "%x  ./%s\n", sha256.Sum256([]byte(p.files[name])), name)
		}
	}
	if command[0] != "tar" {
		return nil
	}
	tw := tar.NewWriter(stdout)
	for _, name := range names {
		if err := tw.WriteHeader(&tar.Header{Name: "./" + name, Mode: 0o644, Size: int64(len(p.files[name])), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, p.files[name]); err != nil {
			return err
		}
	}
	return tw.Close()
}

// Calls returns the commands run so far in order; the manifest and the tar of one copy run at the same
// time, so the manifest is put first.
func (p *podFiles) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	calls := slices.Clone(p.calls)
	for i := 0; i+1 < len(calls); i++ {
		if strings.Contains(calls[i], ": tar ") && strings.HasSuffix(calls[i+1], ": manifest") {
			calls[i], calls[i+1] = calls[i+1], calls[i]
		}
	}
	return calls
}

const junitXML = `<testsuite name="api" tests="3" failures="1"><testcase name="a"/><testcase name="b"/><testcase name="c"><failure message="boom"/></testcase></testsuite>`

// execute runs `fetch ARGS` against client through the command line, with the API server's exec.
func execute(t *testing.T, client *fake.Clientset, args ...string) (stdout string, err error) {
	t.Helper()
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := NewCmdFetch(cmdkit.NewFakeFactory(client, ns), streams)
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestFetchRejectsBadInputNamingTheFlag(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "old.xml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(t.TempDir(), "out")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no --to", []string{"r"}, "--to is required"},
		{"pod/ without a name", []string{"pod/", "--to", to}, "name a run, or pod/NAME"},
		{"a pod without --path", []string{"pod/p", "--to", to}, "--path is required with pod/p"},
		{"pods/ without --path", []string{"pods/p", "--to", to}, "--path is required with pod/p"},
		{"--path with a run", []string{"r", "--path", "/x", "--to", to}, `--path goes with pod/NAME; for run "r"`},
		{"-c with a run", []string{"run/r", "-c", "tests", "--to", to}, "-c goes with pod/NAME"},
		{"an unknown -o", []string{"r", "-o", "xml", "--to", to}, `--output "xml" is not supported: use json or yaml`},
		{"an unknown --color", []string{"r", "--color", "red", "--to", to}, `--color "red" is not supported`},
		{"no --max-bytes", []string{"r", "--max-bytes", "0", "--to", to}, "--max-bytes 0 is not positive"},
		{"a negative --max-file-bytes", []string{"r", "--max-file-bytes", "-1", "--to", to}, "--max-file-bytes -1 is not positive"},
		{"no --max-files", []string{"r", "--max-files", "0", "--to", to}, "--max-files 0 is not positive"},
		{"a --to that holds files", []string{"r", "--to", full}, fmt.Sprintf("--to %q is not empty", full)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := newClient(t)
			stdout, err := execute(t, client, tc.args...)
			if code := exitcode.Code(t.Context(), err); code != exitcode.CannotRun || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("fetch %s: exit code %d, error %v; want %d and an error containing %q", strings.Join(tc.args, " "), code, err, exitcode.CannotRun, tc.want)
			}
			if stdout != "" {
				t.Errorf("fetch %s printed %q on stdout, want nothing", strings.Join(tc.args, " "), stdout)
			}
			if n := len(client.Actions()); n != 0 {
				t.Errorf("fetch %s made %d API requests before its input was checked, want none: %v", strings.Join(tc.args, " "), n, client.Actions())
			}
			if _, err := os.Stat(to); err == nil {
				t.Errorf("fetch %s left %s behind", strings.Join(tc.args, " "), to)
			}
		})
	}
}

// A run that cannot be fetched from exits 125 with the reason and what to do, and copies nothing.
func TestFetchOfARunThatCannotBeReadSaysWhy(t *testing.T) {
	job, pod := runObjects("r", corev1.PodRunning, exited(0))
	pending, pendingPod := runObjects("pending", corev1.PodPending, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}})
	done, donePod := runObjects("done", corev1.PodSucceeded, exited(0))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a run that does not exist", []string{"missing"}, `run "missing" not found in namespace "ci"`},
		{"a run whose pod has finished", []string{"done"}, `the pod "done-abcde" of run "done" has finished (Succeeded)`},
		{"a run that has not started", []string{"pending"}, `the pod "pending-abcde" of run "pending" has not started yet (Pending): wait for it with kubectl testrun wait pending`},
		{"a pod that does not exist", []string{"pod/nope", "--path", "/x"}, `pod "nope" in namespace "ci"`},
		{"a pod that has finished", []string{"pod/done-abcde", "--path", "/x"}, `pod "done-abcde" has finished (Succeeded)`},
		{"a container the pod does not have", []string{"pod/r-abcde", "--path", "/x", "-c", "sidecar"}, `pod "r-abcde" has no container "sidecar": pick one with -c`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := newClient(t, job, pod, pending, pendingPod, done, donePod)
			to := filepath.Join(t.TempDir(), "out")
			stdout, err := execute(t, client, append(tc.args, "--to", to)...)
			if code := exitcode.Code(t.Context(), err); code != exitcode.CannotRun || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("fetch %s: exit code %d, error %v; want %d and an error containing %q", strings.Join(tc.args, " "), code, err, exitcode.CannotRun, tc.want)
			}
			if stdout != "" {
				t.Errorf("fetch %s printed %q on stdout, want nothing", strings.Join(tc.args, " "), stdout)
			}
			if _, err := os.Stat(to); err == nil {
				t.Errorf("fetch %s created %s although nothing was copied", strings.Join(tc.args, " "), to)
			}
		})
	}
}

// newOptions returns the fetch options of `fetch ARGS --to DIR` against client, with exec in place of the API
// server's exec, completed and validated as the command line does it.
func newOptions(t *testing.T, client *fake.Clientset, exec *podFiles, args []string, set func(*Options)) (*Options, *strings.Builder, *strings.Builder) {
	t.Helper()
	var out, errOut strings.Builder
	o := NewOptions(cmdkit.NewFakeFactory(client, ns), genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	o.exec = exec
	o.To = filepath.Join(t.TempDir(), "out")
	if set != nil {
		set(o)
	}
	if err := o.Complete(nil, args); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return o, &out, &errOut
}

// A run's reports come home verified, with their JUnit totals; a run whose test ended is then released, one
// whose test still runs or that --release=false keeps is not. They are read through the holder, which reads
// as the default fetch container would, unless the test runs as a non-root user of its own: then a fetch
// container runs as that user.
func TestFetchRunCopiesItsReportsAndReleasesAnEndedRun(t *testing.T) {
	copied := []string{"holder: manifest", "holder: tar -cf - -C /testrun/reports ."}
	copiedAsUser := []string{"testrun-fetch-*: manifest", "testrun-fetch-*: tar -cf - -C /testrun/source .", "testrun-fetch-*: sh -c echo copied > /dev/termination-log"}
	tests := []struct {
		name      string
		test      corev1.ContainerState
		user      int64 // the pod's runAsUser; 0: none
		release   bool
		wantCalls []string
		wantErr   string // the end of stderr
	}{
		{"the test ended", exited(1), 0, true, append(slices.Clone(copied), "holder: release"), "testrun: released run r\n"},
		{"--release=false", exited(1), 0, false, copied, ""},
		{"the test still runs", running, 0, true, copied, ""},
		{"the test runs as user 1000", exited(1), 1000, true, append(slices.Clone(copiedAsUser), "holder: release"), "testrun: released run r\n"},
		{"the test runs as root", exited(1), -1, true, append(slices.Clone(copied), "holder: release"), "testrun: released run r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			job, pod := runObjects("r", corev1.PodRunning, tc.test)
			switch {
			case tc.user > 0:
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &tc.user}
			case tc.user < 0:
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64)}
			}
			exec := &podFiles{files: map[string]string{"junit.xml": junitXML, "log/out.txt": "hello\n"}}
			o, out, errOut := newOptions(t, newClient(t, job, pod), exec, []string{"run/r"}, func(o *Options) {
				o.Release, o.PrintFlags.Output = tc.release, "json"
			})
			if err := o.Run(t.Context()); err != nil {
				t.Fatalf("fetch r: %v (stderr %q)", err, errOut)
			}
			if diff := cmp.Diff(tc.wantCalls, exec.Calls()); diff != "" {
				t.Errorf("commands run in the pod (-want +got):\n%s", diff)
			}
			var doc outcome.Reports
			if err := json.Unmarshal([]byte(out.String()), &doc); err != nil {
				t.Fatalf("-o json printed no document: %v\n%s", err, out)
			}
			var files []string
			for _, f := range doc.Files {
				files = append(files, fmt.Sprintf("%s %d %s", f.Path, f.Size, f.SHA256))
			}
			wantFiles := []string{
				fmt.Sprintf("junit.xml %d %x", len(junitXML), sha256.Sum256([]byte(junitXML))),
				fmt.Sprintf("log/out.txt 6 %x", sha256.Sum256([]byte("hello\n"))),
			}
			if diff := cmp.Diff(wantFiles, files); diff != "" {
				t.Errorf("files in the document (-want +got):\n%s", diff)
			}
			if doc.Dir != o.To || doc.JUnit == nil || doc.JUnit.Tests != 3 || doc.JUnit.Failures != 1 || doc.Error != "" {
				t.Errorf("document = dir %q, JUnit %+v, error %q; want dir %q, 3 tests with 1 failure, no error", doc.Dir, doc.JUnit, doc.Error, o.To)
			}
			if b, err := os.ReadFile(filepath.Join(o.To, "log", "out.txt")); err != nil || string(b) != "hello\n" {
				t.Errorf("log/out.txt in --to = %q, %v; want %q", b, err, "hello\n")
			}
			wantStderr := "testrun: copying reports\n" +
				"testrun: copied 2 report file(s), 158 B, into " + o.To + " (sha256 verified)\n" +
				"junit: 3 tests, 1 failed in 0.0s (1 file)\n" +
				"  FAIL api/c: boom\n" + tc.wantErr
			if diff := cmp.Diff(wantStderr, errOut.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// pod/NAME copies a path of a volume through a fetch container that mounts it, and lets that container exit.
func TestFetchPodCopiesAPathOfAVolume(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "api-0", Namespace: ns},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{
			Name: "tests", Image: "api-tests:1", VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/workspace"}},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	client := newClient(t, pod)
	exec := &podFiles{files: map[string]string{"junit.xml": junitXML}}
	o, out, errOut := newOptions(t, client, exec, []string{"pod/api-0"}, func(o *Options) {
		o.Path, o.PrintFlags.Output = "/workspace/results", "yaml"
	})
	if err := o.Run(t.Context()); err != nil {
		t.Fatalf("fetch pod/api-0: %v (stderr %q)", err, errOut)
	}
	want := []string{"testrun-fetch-*: kind", "testrun-fetch-*: manifest", "testrun-fetch-*: tar -cf - -C /testrun/source/results .", "testrun-fetch-*: sh -c echo copied > /dev/termination-log"}
	if diff := cmp.Diff(want, exec.Calls()); diff != "" {
		t.Errorf("commands run in the pod (-want +got):\n%s", diff)
	}
	got, err := client.CoreV1().Pods(ns).Get(t.Context(), "api-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Spec.EphemeralContainers); n != 1 || len(got.Spec.EphemeralContainers[0].VolumeMounts) != 1 ||
		got.Spec.EphemeralContainers[0].VolumeMounts[0] != (corev1.VolumeMount{Name: "work", MountPath: enginefetch.SourceDir, ReadOnly: true}) {
		t.Errorf("fetch containers added: %+v; want one that mounts volume work read-only at %s", got.Spec.EphemeralContainers, enginefetch.SourceDir)
	}
	for _, want := range []string{"path: junit.xml", "tests: 3", "failures: 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-o yaml printed no %q:\n%s", want, out)
		}
	}
}

// A copy that fails still prints the document of what came home, and exits 125.
func TestFetchThatFailsExits125WithTheDocument(t *testing.T) {
	job, pod := runObjects("r", corev1.PodRunning, exited(0))
	exec := &podFiles{files: map[string]string{"junit.xml": junitXML, "big.bin": strings.Repeat("x", 100)}}
	o, out, _ := newOptions(t, newClient(t, job, pod), exec, []string{"r"}, func(o *Options) {
		o.PrintFlags.Output, o.Limits.MaxFileBytes = "json", 50
	})
	err := o.Run(t.Context())
	if code := exitcode.Code(t.Context(), err); code != exitcode.CannotRun || err == nil || !strings.Contains(err.Error(), "big.bin") {
		t.Fatalf("fetch r with a file over --max-file-bytes: exit code %d, error %v; want %d naming big.bin", code, err, exitcode.CannotRun)
	}
	var doc outcome.Reports
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil || doc.Error == "" {
		t.Errorf("-o json printed %q (%v), want a document carrying the error", out, err)
	}
	if slices.Contains(exec.Calls(), "holder: release") {
		t.Errorf("a run whose reports did not come home whole was released: %v", exec.Calls())
	}
}
