//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// These tests inject the faults a log stream and a report copy meet on a real node: a kubelet with a short
// streaming idle timeout, container log rotation, a stream cut by a kubelet restart, the fetch container
// killed in the middle of its copy, the API server restarted in the middle of a 200 MiB copy
// (docs/reliability.md).

// kubeletFields is how the log tests reconfigure the kubelet: a streaming idle timeout of 5 s, and log files
// rotated at 1 MiB, keeping two.
var kubeletFields = []string{"streamingConnectionIdleTimeout=5s", "containerLogMaxSize=1Mi", "containerLogMaxFiles=2"}

// kubeletConfig runs hack/cluster/kubelet-config.sh with args: it writes the kubelet's configuration,
// restarts it and waits until the node is Ready.
func kubeletConfig(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot, "hack/cluster/kubelet-config.sh"), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/cluster/kubelet-config.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// restartKubelet restarts the kubelet with kubeletFields (written again: `cluster.sh up`, which every test
// process runs, puts the original configuration file back) and checks that it runs with them.
func restartKubelet(t *testing.T) {
	t.Helper()
	kubeletConfig(t, append([]string{"set"}, kubeletFields...)...)
	var config struct {
		KubeletConfig struct {
			StreamingConnectionIdleTimeout string `json:"streamingConnectionIdleTimeout"`
			ContainerLogMaxSize            string `json:"containerLogMaxSize"`
			ContainerLogMaxFiles           int    `json:"containerLogMaxFiles"`
		} `json:"kubeletconfig"`
	}
	node := strings.TrimSpace(kubectl(t, "get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"))
	raw := kubectl(t, "get", "--raw", "/api/v1/nodes/"+node+"/proxy/configz")
	if err := json.Unmarshal([]byte(raw), &config); err != nil {
		t.Fatalf("the kubelet's configz: %v\n%s", err, raw)
	}
	got := fmt.Sprintf("streamingConnectionIdleTimeout=%s containerLogMaxSize=%s containerLogMaxFiles=%d", config.KubeletConfig.StreamingConnectionIdleTimeout,
		config.KubeletConfig.ContainerLogMaxSize, config.KubeletConfig.ContainerLogMaxFiles)
	if diff := cmp.Diff(strings.Join(kubeletFields, " "), got); diff != "" {
		t.Fatalf("the kubelet does not run with the test's settings (-want +got):\n%s", diff)
	}
}

// The faults that need a reconfigured kubelet share this one test: it reconfigures the kubelet once, runs
// them one after the other, and puts the original configuration back (restarting the kubelet again).
func TestLogsUnderAReconfiguredKubelet(t *testing.T) {
	t.Cleanup(func() { kubeletConfig(t, "restore") })
	restartKubelet(t)

	// A test silent for twice the streaming idle timeout: every line arrives exactly once and in order. This
	// kubelet (v1.36) no longer applies streamingConnectionIdleTimeout to log streams, so the stream is also
	// cut for certain during the silence, by a kubelet restart: the follower resumes from the last timestamp.
	t.Run("silent for twice the idle timeout, stream cut meanwhile", func(t *testing.T) {
		ns := namespace(t)
		script := `i=0; while [ $i -lt 50 ]; do i=$((i+1)); echo "line $i"; done; sleep 10; ` +
			`while [ $i -lt 100 ]; do i=$((i+1)); echo "line $i"; done`
		p, out, stderr := startNumbered(t, "run", "silent", "-n", ns, "--image", busybox, "--", "sh", "-c", script)
		waitLine(t, out, "line 50", stderr)
		restartKubelet(t)
		code, _ := p.waitExit(t, 90*time.Second)
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr.String())
		}
		assertNumberedLines(t, out.String(), 100)
		assertNothingLeft(t, ns)
	})

	// A chatty test (about 20 MiB in 30 s) whose log is rotated every 10 s, and whose stream is cut by a
	// kubelet restart in the middle (the restarted kubelet rotates the oversized file at once): every line
	// arrives in order and at most once, and lines missing are reported on stderr, never silently lost.
	t.Run("container log rotation", func(t *testing.T) {
		ns := namespace(t)
		const n = 1_500_000
		script := `i=0; while [ $i -lt 30 ]; do seq $((i*50000+1)) $((i*50000+50000)) | sed "s/^/line /"; i=$((i+1)); sleep 1; done`
		p, out, stderr := startNumbered(t, "run", "chatty", "-n", ns, "--image", busybox, "--", "sh", "-c", script)
		waitLine(t, out, "line 300000", stderr)
		restartKubelet(t)
		code, _ := p.waitExit(t, 3*time.Minute)
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr.String())
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("the plugin's stderr:\n%s", stderr.String())
			}
		})
		missing, gaps := assertIncreasing(t, out.String(), n)
		const warning = "log lines may be missing between "
		// Only the reopened stream can tell a loss: the kubelet can also lose a rotated file inside a stream
		// it follows (docs/reliability.md), which no client sees, so more gaps than warnings are possible.
		switch warnings := strings.Count(stderr.String(), warning); {
		case missing > 0 && warnings == 0:
			t.Errorf("%d lines are missing in %d gaps, and stderr does not say so (%q):\n%s", missing, gaps, warning, stderr.String())
		case missing > 0:
			t.Logf("%d lines lost to the rotation in %d gap(s), %d reported: %s", missing, gaps, warnings, grepLine(stderr.String(), warning))
		default:
			t.Logf("every line arrived; stderr:\n%s", stderr.String())
		}
		assertNothingLeft(t, ns)
	})
}

// startNumbered starts the plugin with args and collects its stdout in the background.
func startNumbered(t *testing.T, args ...string) (*runningCmd, *syncBuffer, *syncBuffer) {
	t.Helper()
	cmd := command(context.WithoutCancel(t.Context()), pluginBin, args...)
	out, stderr := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &runningCmd{cmd: cmd, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return r, out, stderr
}

// waitLine waits until out holds the line want.
func waitLine(t *testing.T, out *syncBuffer, want string, stderr *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), want+"\n") {
		if time.Now().After(deadline) {
			t.Fatalf("%q did not arrive within 2m; stderr:\n%s", want, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertIncreasing checks that out holds "line K" lines with K strictly increasing, up to "line n",
// and returns how many of 1…n are missing (the end too), and in how many runs of consecutive lines.
func assertIncreasing(t *testing.T, out string, n int) (missing, gaps int) {
	t.Helper()
	got := lines(out)
	prev, whole := 0, 0
	for i, l := range got {
		if lostStart(l) {
			// The end of a line whose start the kubelet lost with a rotated file: part of a gap.
			t.Logf("line %d of the output, %q, lost its start with a rotated file", i+1, l)
			continue
		}
		k, err := strconv.Atoi(strings.TrimPrefix(l, "line "))
		if err != nil || !strings.HasPrefix(l, "line ") {
			t.Fatalf("line %d of the output is %q, want \"line K\"; the lines around it: %q", i+1, l, got[max(0, i-2):min(len(got), i+3)])
		}
		whole++
		if k <= prev {
			t.Fatalf("line %d of the output is %q after \"line %d\": a line came twice or out of order", i+1, l, prev)
		}
		if k > prev+1 {
			gaps++
			if gaps <= 5 {
				t.Logf("gap %d: %d lines missing after \"line %d\"", gaps, k-prev-1, prev)
			}
		}
		prev = k
	}
	if prev != n {
		// The end lost with a rotated file: no later line shows the gap, so only the plugin's warning
		// (required by the caller for any line missing) tells it.
		gaps++
		t.Logf("gap %d: the last %d lines are missing, the output ends with \"line %d\"", gaps, n-prev, prev)
	}
	return n - whole, gaps
}

// lostStart reports whether l is the end of a "line K" line without its start: digits after a proper
// suffix of "line " ("4374", " 444374", "ne 444374"). A gap of the rotation can cut a line, and then only
// its end arrives (docs/reliability.md).
func lostStart(l string) bool {
	const prefix = "line "
	start := strings.TrimRight(l, "0123456789")
	return len(start) < len(l) && len(start) < len(prefix) && prefix[len(prefix)-len(start):] == start
}

// grepLine returns the first line of s that contains part.
func grepLine(s, part string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.Contains(sc.Text(), part) {
			return sc.Text()
		}
	}
	return ""
}

// bigReport is the 200 MiB report file of the fetch fault tests.
const bigReport = "big=random:200Mi"

// startBigReportRun starts a passing run whose test writes bigReport, copied into a new directory, and
// waits until the copy has written at least 20 MiB of it there: the fetch is in the middle of its stream.
func startBigReportRun(t *testing.T, ns string) (*runningCmd, *syncBuffer, string) {
	t.Helper()
	reports := filepath.Join(t.TempDir(), "reports")
	// The test outlives the fetch container's start, so the copy runs in it (a test that ended before would be
	// copied through the holder: see ReportCopier.CopyEarly).
	p, _, stderr := startNumbered(t, "run", "bigreport", "-n", ns, "--image", testee, "--reports", reports,
		"--env", "TESTEE_FILES="+bigReport, "--env", "TESTEE_SLEEP=5s")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if fi, err := os.Stat(filepath.Join(reports, "big")); err == nil && fi.Size() >= 20<<20 {
			return p, stderr, reports
		}
		select {
		case <-p.done:
			t.Fatalf("the run ended before its copy was seen in the middle (exit %d); stderr:\n%s", p.cmd.ProcessState.ExitCode(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the copy of the 200 MiB report did not start within 3m; stderr:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The fetch container is killed in the middle of its copy (every process of it, through the node's
// containerd): the copy is tried again, which cannot work, and the passed run exits 125; the file cut
// short is not in the reports directory, and stderr names it as incomplete.
func TestFetchContainerKilledMidStreamFailsLoudly(t *testing.T) {
	ns := namespace(t)
	p, stderr, reports := startBigReportRun(t, ns)
	ctr(t, "tasks", "kill", "--all", "--signal", "SIGKILL", fetchContainerID(t, ns))
	code, _ := p.waitExit(t, 2*time.Minute)
	if code != 125 {
		t.Fatalf("exit code = %d, want 125: the test passed but its report did not come home whole; stderr:\n%s", code, stderr.String())
	}
	if fi, err := os.Stat(filepath.Join(reports, "big")); err == nil {
		t.Errorf("%s is in the reports directory (%d of %d bytes) as if it were whole", fi.Name(), fi.Size(), 200<<20)
	}
	for _, want := range []string{"copying the reports broke off, copying them again (attempt 2 of 3)", `entry "./big"`, "the directory is incomplete",
		"copying again failed", "its reports did not all come home whole"} {
		wantText(t, stderr.String(), want)
	}
	assertNothingLeft(t, ns)
}

// fetchContainerID returns the containerd id of the running fetch container of the one run in ns.
func fetchContainerID(t *testing.T, ns string) string {
	t.Helper()
	pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: managedBy})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("want the run's pod, got %v, %v", pods, err)
	}
	for _, s := range pods.Items[0].Status.EphemeralContainerStatuses {
		if strings.HasPrefix(s.Name, "testrun-fetch-") && s.State.Running != nil {
			return strings.TrimPrefix(s.ContainerID, "containerd://")
		}
	}
	t.Fatalf("no running fetch container in %+v", pods.Items[0].Status.EphemeralContainerStatuses)
	return ""
}

// signalContainer sends sig to every process of the container id, its own and those exec'd into it: the
// processes in its cgroup.
func signalContainer(t *testing.T, id string, sig syscall.Signal) {
	t.Helper()
	cgroups, err := filepath.Glob("/proc/[0-9]*/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range cgroups {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), id) {
			continue // a process that ended meanwhile, or another container's
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if err := syscall.Kill(pid, sig); err != nil && err != syscall.ESRCH {
			t.Fatalf("sending %s to process %d of container %s: %v", sig, pid, id, err)
		}
		n++
	}
	if n < 2 {
		t.Fatalf("container %s has %d processes, want its own and the copy's", id, n)
	}
}

// ctr runs containerd's ctr against the local cluster's containerd, in the namespace of its pods.
func ctr(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("ctr", append([]string{"--address", containerdSocket(), "-n", "k8s.io"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// clusterDir is the local cluster's state directory, as hack/cluster/lib.sh sets it.
func clusterDir() string {
	if d := os.Getenv("TESTRUN_CLUSTER_DIR"); d != "" {
		return d
	}
	return "/var/lib/kubectl-testrun-cluster"
}

// containerdSocket is the address of the local cluster's containerd, as hack/cluster/lib.sh sets it.
func containerdSocket() string {
	if s := os.Getenv("CONTAINERD_ADDRESS"); s != "" {
		return s
	}
	return filepath.Join(clusterDir(), "containerd", "containerd.sock")
}

// The API server restarts in the middle of the copy of a 200 MiB report: the copy is cut, tried again when
// the API server answers again, and then every file verifies, byte for byte. The copy runs faster than
// the API server stops, so the fetch container is frozen (its cgroup, through containerd) while the API
// server restarts: the restart then happens in the middle of the stream for certain.
func TestFetchSurvivesAPIServerRestartMidStream(t *testing.T) {
	ns := namespace(t)
	want := digests(t, expectedReports(t, bigReport))
	p, stderr, reports := startBigReportRun(t, ns)
	id := fetchContainerID(t, ns)
	signalContainer(t, id, syscall.SIGSTOP)
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			signalContainer(t, id, syscall.SIGCONT)
		}
	})
	pidFile, err := os.ReadFile(filepath.Join(clusterDir(), "pids", "apiserver.pid"))
	if err != nil {
		t.Fatal(err)
	}
	apiserver, err := strconv.Atoi(strings.TrimSpace(string(pidFile)))
	if err != nil {
		t.Fatalf("the API server's pid file holds %q", pidFile)
	}
	restart := exec.Command(filepath.Join(repoRoot, "hack/cluster/cluster.sh"), "restart", "apiserver")
	var restartOut syncBuffer
	restart.Stdout, restart.Stderr = &restartOut, &restartOut
	t.Cleanup(func() { startComponents(t) })
	if err := restart.Start(); err != nil {
		t.Fatal(err)
	}
	// Continued once the API server's process has exited (it answers during its graceful shutdown), so that
	// the copy's second try, once the API server is back, finds the fetch container working.
	for deadline := time.Now().Add(30 * time.Second); syscall.Kill(apiserver, 0) == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the API server (process %d) still runs 30s after its restart began:\n%s", apiserver, restartOut.String())
		}
	}
	signalContainer(t, id, syscall.SIGCONT)
	resumed = true
	if err := restart.Wait(); err != nil {
		t.Fatalf("restarting the API server: %v\n%s", err, restartOut.String())
	}
	code, _ := p.waitExit(t, 3*time.Minute)
	if code != 0 {
		t.Fatalf("exit code = %d, want 0: the copy is tried again after the API server is back; stderr:\n%s", code, stderr.String())
	}
	wantText(t, stderr.String(), "copying the reports broke off, copying them again (attempt 2 of 3)")
	wantText(t, stderr.String(), "sha256 verified")
	if diff := cmp.Diff(want, digests(t, reports)); diff != "" {
		t.Errorf("fetched reports differ from what the test wrote (-want +got):\n%s", diff)
	}
	assertCleanedUpOrSaidSo(t, ns, stderr.String())
}
