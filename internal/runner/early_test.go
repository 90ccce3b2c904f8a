package runner

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
)

// earlyPod plays the holder and the fetch container of a run whose test wrote one report: it answers the
// wait for the test's end (ended, or failing), the manifest and the tar of the copy, and the release, and
// records each exec with its container.
type earlyPod struct {
	awaitErr error // what the wait for the test's end returns; nil: "ended"
	report   string
	mu       sync.Mutex
	calls    []string
}

func (p *earlyPod) Exec(_ context.Context, _, _, container string, command []string, _ io.Reader, stdout, _ io.Writer) error {
	kind := command[0]
	switch {
	case len(command) > 2 && strings.HasPrefix(command[2], "pids="):
		kind = "await-end"
	case len(command) > 3 && command[3] == "manifest":
		kind = "manifest"
	case len(command) > 3 && command[3] == "release":
		kind = "release"
	}
	p.mu.Lock()
	p.calls = append(p.calls, container+":"+kind)
	p.mu.Unlock()
	switch kind {
	case "await-end":
		if p.awaitErr != nil {
			return p.awaitErr
		}
		_, err := io.WriteString(stdout, "..ended\n")
		return err
	case "manifest":
		_, err := fmt.Fprintf(stdout, "%x  ./junit.xml\n", sha256.Sum256([]byte(p.report)))
		return err
	case "tar":
		tw := tar.NewWriter(stdout)
		if err := tw.WriteHeader(&tar.Header{Name: "./junit.xml", Mode: 0o644, Size: int64(len(p.report)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, p.report); err != nil {
			return err
		}
		return tw.Close()
	case "release":
		return nil
	}
	return fmt.Errorf("unexpected command %q", command)
}

func (p *earlyPod) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

// storeEphemeralContainers makes the fake clientset keep the fetch container a patch of the ephemeralcontainers
// subresource adds, as the API server does.
func storeEphemeralContainers(client *fake.Clientset) {
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
		obj, err := client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), patch.GetNamespace(), patch.GetName())
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		pod.Spec.EphemeralContainers = doc.Spec.EphemeralContainers
		return true, pod, client.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), pod, patch.GetNamespace())
	})
}

// allRunning is testRunning with the fetch container running too, once it was added.
func allRunning(p *corev1.Pod) {
	testRunning(p)
	p.Status.EphemeralContainerStatuses = nil
	for _, ec := range p.Spec.EphemeralContainers {
		p.Status.EphemeralContainerStatuses = append(p.Status.EphemeralContainerStatuses,
			corev1.ContainerStatus{Name: ec.Name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}})
	}
}

// waitFor gives the run time to act on the last status (here: to start the wait for the test's end and add
// the fetch container) before the next one.
func waitFor(d time.Duration, status func(*corev1.Pod)) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		time.Sleep(d)
		status(p)
	}
}

// When the test's processes are gone before the status says so, the reports are copied and the holder
// released then, once each; when that wait fails, the status tells the end and the copy and the release
// come then, once each too. Either way the test's code comes from the status and the output keeps its order.
func TestRunnerCopiesOnceWhetherTheEarlyEndWorksOrNot(t *testing.T) {
	tests := []struct {
		name     string
		awaitErr error
		// wantEarly: the copy and the release come before the status says the test ended.
		wantEarly bool
	}{
		{name: "the wait in the holder sees the end", wantEarly: true},
		{name: "the wait fails: the status tells", awaitErr: errors.New("command terminated with exit code 3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			storeEphemeralContainers(client)
			pod := &earlyPod{awaitErr: tt.awaitErr, report: `<testsuite tests="2" failures="1"><testcase name="a"/><testcase name="b"><failure message="no"/></testcase></testsuite>`}
			r, stderr := newRunner(client, nil)
			r.Exec = pod
			r.Reports = filepath.Join(t.TempDir(), "reports")
			r.Fetcher = &fetch.Fetcher{Client: client, Exec: pod, HelperImage: "busybox:1"}
			var statusSaysEnded []string // the execs made when the status said the test ended
			ended := testExited(3, corev1.PodRunning)
			kubelet(t, client, allRunning, waitFor(300*time.Millisecond, allRunning),
				waitFor(500*time.Millisecond, func(p *corev1.Pod) { statusSaysEnded = pod.Calls(); ended(p) }),
				waitFor(200*time.Millisecond, testExited(3, corev1.PodFailed)))

			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			res, err := r.Run(ctx, runspec.Spec{Name: "early-a1b2c", Namespace: "ci", Image: "tests:1", Timeout: time.Minute})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.ExitCode != 3 {
				t.Errorf("exit code %d, want the test's 3 from the status", res.ExitCode)
			}
			count := map[string]int{}
			for _, c := range pod.Calls() {
				count[strings.SplitN(c, ":", 2)[1]]++
			}
			if count["await-end"] != 1 || count["manifest"] != 1 || count["tar"] != 1 || count["release"] != 1 {
				t.Errorf("execs %q, want one wait for the end, one copy (manifest and tar) and one release", pod.Calls())
			}
			early := strings.Contains(strings.Join(statusSaysEnded, " "), "holder:release")
			if early != tt.wantEarly {
				t.Errorf("execs made before the status said the test ended: %q; want the copy and the release among them: %v", statusSaysEnded, tt.wantEarly)
			}
			if b, err := os.ReadFile(filepath.Join(r.Reports, "junit.xml")); err != nil || string(b) != pod.report {
				t.Errorf("junit.xml = %q, %v; want the test's report", b, err)
			}
			out := stderr.String()
			exited, copied := strings.Index(out, "test exited with code 3"), strings.Index(out, "copied 1 report file(s)")
			if exited < 0 || copied < exited || !strings.Contains(out, "2 tests, 1 failed") {
				t.Errorf("want the exit, then the copy and the JUnit totals, in that order:\n%s", out)
			}
		})
	}
}
