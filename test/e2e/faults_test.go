//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// These tests inject the faults a CI system produces (signals, closed pipes, a killed client, refusals by
// admission, evictions, a node briefly unfit) and check that every one ends with its documented exit code
// and leaves nothing behind (docs/reliability.md).

// ticker is a test that prints "started", then "tick" five times a second, for a long time.
var ticker = []string{"--image", busybox, "--", "sh", "-c", "echo started; while :; do echo tick; sleep 0.2; done"}

// startRun starts the plugin with args and waits for the test's first line on stdout; the rest of stdout
// is drained in the background. It returns the running command and its stderr.
func startRun(t *testing.T, args ...string) (*runningCmd, *syncBuffer) {
	t.Helper()
	cmd := command(context.WithoutCancel(t.Context()), pluginBin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &runningCmd{cmd: cmd, done: make(chan struct{}), stderr: stderr}
	out := bufio.NewReader(stdout)
	first, err := out.ReadString('\n')
	if err != nil || first != "started\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("first line = %q, %v; want %q (stderr: %s)", first, err, "started\n", stderr.String())
	}
	go func() {
		_, _ = io.Copy(io.Discard, out)
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return r, stderr
}

// runningCmd is a plugin process started by startRun.
type runningCmd struct {
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	stderr *syncBuffer
}

// wantExit waits up to within for the process to exit with code, and returns how long it took; the test
// fails with the plugin's stderr otherwise. what says what made it exit.
func (r *runningCmd) wantExit(t *testing.T, what string, code int, within time.Duration) time.Duration {
	t.Helper()
	got, took := r.waitExit(t, within)
	if got != code {
		t.Fatalf("exit code after %s = %d, want %d; stderr:\n%s", what, got, code, r.stderr.String())
	}
	return took
}

// waitExit waits up to within for the process to exit and returns its exit code and how long it took.
func (r *runningCmd) waitExit(t *testing.T, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-r.done:
	case <-time.After(within):
		_ = r.cmd.Process.Kill()
		t.Fatalf("the plugin did not exit within %s; stderr:\n%s", within, r.stderr.String())
	}
	return r.cmd.ProcessState.ExitCode(), time.Since(start)
}

// Ctrl-C, a CI cancellation (SIGTERM) and a closed terminal (SIGHUP) all clean up and exit with their code,
// well within the ~10 s a CI system leaves before SIGKILL, even when the test ignores SIGTERM: its grace
// period is --grace-period (3 s), then the kubelet kills it.
func TestInterruptedRunOfATestIgnoringSIGTERMIsGoneWithinTenSeconds(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			ns := namespace(t)
			p, stderr := startRun(t, "run", "stubborn", "-n", ns, "--image", busybox, "--",
				"sh", "-c", `trap "" TERM; echo started; while :; do sleep 1; done`)
			if err := p.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			took := p.wantExit(t, tc.sig.String(), tc.code, 15*time.Second)
			if took > 10*time.Second {
				t.Errorf("the plugin exited %s after %s, want within 10s", took.Round(time.Millisecond), tc.sig)
			}
			// Checked at once: nothing may remain by the time the plugin has exited.
			assertNothingLeft(t, ns)
			wantText(t, stderr.String(), "deleted job stubborn-")
		})
	}
}

// `kubectl testrun run … | head -1`: once the reader of stdout is gone, the run is cleaned up and the plugin
// exits 141, as a process killed by SIGPIPE would, instead of leaving the Job running for an hour.
func TestClosedStdoutCleansUpAndExits141(t *testing.T) {
	ns := namespace(t)
	cmd := command(context.WithoutCancel(t.Context()), pluginBin, append([]string{"run", "piped", "-n", ns}, ticker...)...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	w.Close()
	first, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || first != "started\n" {
		t.Fatalf("first line = %q, %v; stderr:\n%s", first, err, stderr.String())
	}
	r.Close() // what `head -1` does after its line
	closed := time.Now()
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit code is checked below
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the plugin still runs 20s after its stdout was closed; stderr:\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 141 {
		t.Fatalf("exit code after stdout closed = %d, want 141; stderr:\n%s", code, stderr.String())
	}
	t.Logf("exited %s after stdout was closed", time.Since(closed).Round(time.Millisecond))
	assertNothingLeft(t, ns)
	wantText(t, stderr.String(), "the output was closed (EPIPE): deleting run piped-")
}

// A CI runner whose stderr reader is gone: the same path, exit 141, nothing left.
func TestClosedStderrCleansUpAndExits141(t *testing.T) {
	ns := namespace(t)
	cmd := command(t.Context(), pluginBin, append([]string{"run", "nostderr", "-n", ns}, ticker...)...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cmd.Stderr = w
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit code is checked below
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the plugin still runs 30s after it found its stderr closed; stdout:\n%s", stdout.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 141 {
		t.Fatalf("exit code with stderr closed = %d, want 141; stdout:\n%s", code, stdout.String())
	}
	assertNothingLeft(t, ns)
}

// A client killed with SIGKILL cleans nothing up, but what it leaves stops holding the node soon after the
// test ended: the holder gives up --hold after the test's end (not after --timeout + --hold). Then
// `kubectl testrun delete --all` finds every run of the namespace by label and removes it.
func TestKilledClientLeavesAPodThatEndsHoldAfterTheTest(t *testing.T) {
	ns := namespace(t)
	const hold = 5 * time.Second
	p, _ := startRun(t, "run", "abandoned", "-n", ns, "--hold", hold.String(), "--timeout", "1h",
		"--image", busybox, "--", "sh", "-c", "echo started; sleep 3")
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, 5*time.Second)

	var pod *corev1.Pod
	waitFor(t, 60*time.Second, "the abandoned run's pod to finish", func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: managedBy})
		if err != nil || len(pods.Items) != 1 {
			return false, err
		}
		pod = &pods.Items[0]
		return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed, nil
	})
	ended := map[string]time.Time{}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Terminated == nil {
			t.Fatalf("container %s of a finished pod is not terminated: %+v", cs.Name, cs.State)
		}
		ended[cs.Name] = cs.State.Terminated.FinishedAt.Time
	}
	// Finish times have whole seconds: the holder ends between hold and hold + 2 s after the test.
	if after := ended["holder"].Sub(ended["test"]); after < hold-time.Second || after > hold+2*time.Second {
		t.Errorf("the holder ended %s after the test, want about --hold %s", after, hold)
	}
	if pod.Status.Phase != corev1.PodSucceeded {
		t.Errorf("pod phase = %s, want Succeeded: the test passed", pod.Status.Phase)
	}

	res := testrun(t, "delete", "--all", "-n", ns)
	wantCode(t, res, 0)
	waitFor(t, 30*time.Second, "nothing of the run left after delete --all", func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: managedBy})
		if err != nil {
			return false, err
		}
		jobs, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: managedBy})
		return err == nil && len(pods.Items)+len(jobs.Items) == 0, err
	})
}

// A pod the Job controller cannot create fails the run with 125 within seconds, naming the refusal and the
// fix, instead of waiting out --timeout and blaming the test.
func TestPodTheJobControllerCannotCreateFailsFast(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, ns string)
		args  []string
		want  []string
	}{
		{
			name: "missing service account", args: []string{"--service-account", "ghost"},
			want: []string{`serviceaccount "ghost" not found`, "--service-account"},
		},
		{
			name: "PodSecurity restricted namespace and a root image",
			setup: func(t *testing.T, ns string) {
				kubectl(t, "label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
			},
			want: []string{"violates PodSecurity", "--restricted"},
		},
		{
			name: "resource quota",
			setup: func(t *testing.T, ns string) {
				kubectl(t, "-n", ns, "create", "quota", "no-pods", "--hard=pods=0")
			},
			want: []string{"exceeded quota", "ResourceQuota"},
		},
		{
			name: "limit range",
			setup: func(t *testing.T, ns string) {
				lr := &corev1.LimitRange{
					ObjectMeta: metav1.ObjectMeta{Name: "small"},
					Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
						Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
					}}},
				}
				if _, err := client.CoreV1().LimitRanges(ns).Create(t.Context(), lr, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			args: []string{"--limits", "memory=1Gi"},
			want: []string{"maximum memory usage per Container is 64Mi", "LimitRange"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := namespace(t)
			if tc.setup != nil {
				tc.setup(t, ns)
			}
			args := append([]string{"run", "refused", "-n", ns, "--timeout", "10m"}, tc.args...)
			res := testrun(t, append(args, "--image", busybox, "--", "true")...)
			wantCode(t, res, 125)
			if res.took > 15*time.Second {
				t.Errorf("took %s to report a refused pod, want within 15s", res.took)
			}
			wantStderr(t, res, append([]string{"cannot be created (FailedCreate)"}, tc.want...)...)
			assertNothingLeft(t, ns)
		})
	}
}

// A pod evicted through the Eviction API (what a node drain does) ends the run with 125 and says so: it is
// not reported as a failure of the test.
func TestEvictedRunIsReportedAsSuch(t *testing.T) {
	ns := namespace(t)
	p, stderr := startRun(t, append([]string{"run", "drained", "-n", ns}, ticker...)...)
	pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: managedBy})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("want the run's pod, got %v, %v", pods, err)
	}
	eviction := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pods.Items[0].Name, Namespace: ns}}
	if err := client.CoreV1().Pods(ns).EvictV1(t.Context(), eviction); err != nil {
		t.Fatalf("evicting %s: %v", pods.Items[0].Name, err)
	}
	p.wantExit(t, "an eviction", 125, 30*time.Second)
	wantText(t, stderr.String(), "evicted through the Eviction API")
	assertNothingLeft(t, ns)
}

// A Job deleted by someone else while the test runs ends the run at once with 125, saying so.
func TestJobDeletedBySomeoneElseEndsTheRun(t *testing.T) {
	ns := namespace(t)
	p, stderr := startRun(t, append([]string{"run", "deleted", "-n", ns}, ticker...)...)
	jobs, err := client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{LabelSelector: managedBy})
	if err != nil || len(jobs.Items) != 1 {
		t.Fatalf("want the run's job, got %v, %v", jobs, err)
	}
	kubectl(t, "-n", ns, "delete", "job", jobs.Items[0].Name, "--wait=false")
	took := p.wantExit(t, "the job was deleted", 125, 30*time.Second)
	if took > 15*time.Second {
		t.Errorf("took %s to notice the deleted job, want within 15s", took)
	}
	wantText(t, stderr.String(), "deleted by someone else")
	assertNothingLeft(t, ns)
}

// A node that is cordoned for a few seconds (maintenance; the same path as a node briefly not ready or under
// pressure, whose taints the node lifecycle controller removes too quickly to test) keeps the pod off it
// for that long: the run waits, saying why in its status, instead of failing at once as unschedulable, and
// the test then runs and passes.
func TestPassingNodeConditionIsWaitedOut(t *testing.T) {
	ns := namespace(t)
	node := strings.TrimSpace(kubectl(t, "get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"))
	kubectl(t, "cordon", node)
	var once sync.Once
	uncordon := func() {
		once.Do(func() { _ = run(t, command(context.WithoutCancel(t.Context()), kubectlBin, "uncordon", node)) })
	}
	t.Cleanup(uncordon)
	go func() {
		time.Sleep(5 * time.Second)
		uncordon()
	}()
	res := testrun(t, "run", "cordoned", "-n", ns, "--image", busybox, "--", "echo", "ran")
	wantCode(t, res, 0)
	wantText(t, res.stdout, "ran")
	wantStderr(t, res, "for the node to recover (node.kubernetes.io/unschedulable)")
	assertNothingLeft(t, ns)
}

// wantText fails the test unless s contains part.
func wantText(t *testing.T, s, part string) {
	t.Helper()
	if !strings.Contains(s, part) {
		t.Errorf("output does not contain %q:\n%s", part, s)
	}
}

// syncBuffer holds the plugin's stderr, readable while the process still writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(b)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An API server gone for good (not a restart) ends a run after a minute with 125, saying so and how to
// clean up later, instead of waiting out --timeout. When the API server is back, delete --all removes what
// the plugin could not.
func TestRunGivesUpOnAnAPIServerGoneForAMinute(t *testing.T) {
	ns := namespace(t)
	p, stderr := startRun(t, append([]string{"run", "orphan", "-n", ns, "--timeout", "30m"}, ticker...)...)
	stopComponent(t, "apiserver")
	took := p.wantExit(t, "the API server went away", 125, 3*time.Minute)
	startComponents(t)
	if took > 2*time.Minute {
		t.Errorf("took %s to give up on the API server, want about a minute", took)
	}
	wantText(t, stderr.String(), "the API server has not answered for")
	wantText(t, stderr.String(), "kubectl testrun delete orphan-")
	wantCode(t, testrun(t, "delete", "--all", "-n", ns), 0)
}

// A node that stops reporting (its kubelet killed) is waited for a minute after the cluster noticed, then
// the run ends with 125 as a lost node, not as a failed test and not at --timeout.
func TestRunOnALostNodeIsReportedAsSuch(t *testing.T) {
	ns := namespace(t)
	p, stderr := startRun(t, append([]string{"run", "lost", "-n", ns, "--timeout", "30m"}, ticker...)...)
	stopComponent(t, "kubelet")
	// The node lifecycle controller notices after its grace period (50 s), then the plugin waits a minute.
	p.wantExit(t, "the node was lost", 125, 4*time.Minute)
	startComponents(t)
	wantText(t, stderr.String(), "does not respond: waiting up to 1m0s for it")
	wantText(t, stderr.String(), "stopped responding (its kubelet no longer reports to the cluster)")
	waitRunPodsGone(t, ns, 60*time.Second, "the lost run's pod to go once the node is back")
}

// The cluster does not remove a finished run's pod within the cleanup's 30 s (here: the controller manager,
// whose Job controller and garbage collector remove it, is stopped while the test runs): the plugin says the
// cluster will remove the pod and exits with the test's code, and once the controller manager is back the
// pod goes.
func TestCleanupSaysWhenTheClusterRemovesThePodLater(t *testing.T) {
	ns := namespace(t)
	p, stderr := startRun(t, "run", "slowgc", "-n", ns, "--image", busybox, "--", "sh", "-c", "echo started; sleep 2; exit 3")
	stopComponent(t, "controller-manager")
	p.wantExit(t, "the test's end", 3, 2*time.Minute)
	wantText(t, stderr.String(), "its pod is not gone yet and will be removed by the cluster")
	startComponents(t)
	assertCleanedUpOrSaidSo(t, ns, stderr.String())
}

// stopComponent kills a component of the local cluster (hack/cluster/cluster.sh names them); it is brought
// back when the test ends, unless the test brought it back itself (with startComponents).
func stopComponent(t *testing.T, name string) {
	t.Helper()
	n, err := componentPid(name)
	if err != nil {
		t.Fatalf("reading the pid of %s: %v", name, err)
	}
	t.Cleanup(func() {
		if pid, err := componentPid(name); err == nil && pid != n && syscall.Kill(pid, 0) == nil {
			return // started again, and the components that watch the API server restarted with it
		}
		startComponents(t)
	})
	if err := syscall.Kill(n, syscall.SIGKILL); err != nil {
		t.Fatalf("killing %s (pid %d): %v", name, n, err)
	}
}

// componentPid is the pid of a component of the local cluster, from the pid file cluster.sh writes.
func componentPid(name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(clusterDir(), "pids", name+".pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// startComponents starts every component of the local cluster that is not running and waits until all are
// ready (cluster.sh up is idempotent). It then restarts every component that watches the API server: after
// an API server outage, even the seconds of a restart, their watches retry with backoffs of up to half a
// minute (a new namespace then waits more than 30 s for its default service account, a new pod as long to be
// scheduled and started, a node can be taken for NotReady), which would hold up the tests that follow, not
// the plugin.
func startComponents(t *testing.T) {
	t.Helper()
	steps := [][]string{{"up"}}
	for _, c := range []string{"controller-manager", "scheduler", "kubelet", "kube-proxy", "coredns"} {
		steps = append(steps, []string{"restart", c})
	}
	for _, args := range steps {
		c := exec.Command(filepath.Join(repoRoot, "hack/cluster/cluster.sh"), args...)
		c.Stdout, c.Stderr = io.Discard, os.Stderr
		if err := c.Run(); err != nil {
			t.Fatalf("bringing the cluster's components back (cluster.sh %s): %v", strings.Join(args, " "), err)
		}
	}
}

// Every verb maps the same failure to the same code: a refusal by the API server (here: a user without any
// permission), an API server that cannot be reached and an output format it does not print all exit 125.
func TestEveryVerbExits125ForAPIErrorsAndBadInput(t *testing.T) {
	ns := namespace(t)
	verbs := [][]string{
		{"run", "x", "--image", busybox, "--", "true"}, {"wait", "x"}, {"logs", "x"}, {"fetch", "x", "--to", t.TempDir() + "/out"},
		{"describe", "x"}, {"list"}, {"delete", "x"},
	}
	for _, verb := range verbs {
		for _, fault := range [][]string{{"--as=nobody"}, {"--server=https://127.0.0.1:1"}} {
			res := testrun(t, append([]string{"-n", ns, fault[0]}, verb...)...)
			if res.code != 125 {
				t.Errorf("kubectl testrun %s %s: want exit code 125, got %s", strings.Join(verb, " "), fault[0], res)
			}
		}
	}
	for _, verb := range [][]string{{"version"}, {"list"}, {"plugins"}, {"describe", "x"}} {
		res := testrun(t, append(append([]string{"-n", ns}, verb...), "-o", "xml")...)
		if res.code != 125 || !strings.Contains(res.stderr, `--output "xml"`) {
			t.Errorf("kubectl testrun %s -o xml: want exit code 125 naming --output, got %s", strings.Join(verb, " "), res)
		}
	}
}
