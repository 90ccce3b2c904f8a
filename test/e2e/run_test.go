//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const (
	testee        = "testrun.local/testee:v1"
	testeeNonroot = "testrun.local/testee-nonroot:v1"
	managedBy     = "app.kubernetes.io/managed-by=kubectl-testrun"
)

// assertNothingLeft fails the test if any Job or pod of the plugin remains in ns.
func assertNothingLeft(t *testing.T, ns string) {
	t.Helper()
	jobs, err := client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{LabelSelector: managedBy})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: managedBy})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items)+len(pods.Items) != 0 {
		var names []string
		for _, j := range jobs.Items {
			names = append(names, "job/"+j.Name)
		}
		for _, p := range pods.Items {
			names = append(names, "pod/"+p.Name)
		}
		t.Errorf("objects of the run remain in namespace %q: %v", ns, names)
	}
}

// waitRunPodsGone waits up to timeout until no pod of a run is left in ns; what names the wait in a failure.
func waitRunPodsGone(t *testing.T, ns string, timeout time.Duration, what string) {
	t.Helper()
	waitFor(t, timeout, what, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: managedBy})
		return err == nil && len(pods.Items) == 0, err
	})
}

// assertCleanedUpOrSaidSo is assertNothingLeft for a run whose cleanup may outlive its budget: after an API
// server outage the controller manager's controllers retry with growing backoffs, and the Job controller and
// the garbage collector may remove the run's ended pod (the Job controller holds it with its tracking
// finalizer) only after the plugin's 30 s. The plugin then says so; what it says must hold: the Job is gone
// already, and the cluster removes the pod by itself.
func assertCleanedUpOrSaidSo(t *testing.T, ns, stderr string) {
	t.Helper()
	if !strings.Contains(stderr, "its pod is not gone yet and will be removed by the cluster") {
		assertNothingLeft(t, ns)
		return
	}
	t.Log("the cluster had not removed the pod when the plugin's cleanup budget ran out; the plugin said so")
	jobs, err := client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{LabelSelector: managedBy})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 0 {
		t.Fatalf("the plugin said the job is deleted, but %d job(s) of the run remain in namespace %q", len(jobs.Items), ns)
	}
	waitRunPodsGone(t, ns, 2*time.Minute, "the cluster to remove the run's pod")
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit code %d, got %s", code, r)
	}
}

func wantStderr(t *testing.T, r result, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.stderr, p) {
			t.Errorf("stderr does not contain %q:\n%s", p, r.stderr)
		}
	}
}

func numbered(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// 1. A passing test exits 0, its lines arrive on stdout in order, and nothing of the run remains.
func TestRunPassingTestExitsZeroAndCleansUp(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "pass", "-n", ns, "--image", testee, "--env", "TESTEE_LINES=20")
	wantCode(t, r, 0)
	if r.stdout != numbered(20) {
		t.Errorf("stdout = %q, want the 20 numbered lines in order", r.stdout)
	}
	assertNothingLeft(t, ns)
}

// 2. A test that exits 3 makes the command exit 3, with the reason on stderr and the describe output and
// events in the diagnostics file; --diagnostics=full prints them on stderr too.
func TestRunFailingTestExitsWithItsCodeAndDiagnoses(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "fail", "-n", ns, "--image", testee, "--env", "TESTEE_PRINT=about to fail", "--env", "TESTEE_EXIT=3")
	wantCode(t, r, 3)
	if r.stdout != "about to fail\n" {
		t.Errorf("stdout = %q, want the test's own line", r.stdout)
	}
	wantStderr(t, r, "the test failed with exit code 3")
	wantDiagnosticsFile(t, r, "--- describe job fail-", "--- describe pod fail-", "Exit Code:    3", "Events:", "Started")

	r = testrun(t, "run", "fail", "-n", ns, "--image", testee, "--env", "TESTEE_EXIT=3", "--diagnostics=full")
	wantCode(t, r, 3)
	wantStderr(t, r, "--- describe job fail-", "--- describe pod fail-", "Exit Code:    3", "Events:", "the test failed with exit code 3")
	assertNothingLeft(t, ns)
}

// 3. A non-existent image exits 125 quickly, naming the image and the pull error; nothing remains.
func TestRunMissingImageFailsFast(t *testing.T) {
	ns := namespace(t)
	image := "testrun.local/does-not-exist:v1"
	r := testrun(t, "run", "noimage", "-n", ns, "--image", image)
	wantCode(t, r, 125)
	if r.took > 30*time.Second {
		t.Errorf("took %s to report a missing image, want under 30s", r.took)
	}
	wantStderr(t, r, image, "ErrImagePull")
	assertNothingLeft(t, ns)
}

// 4. --env-from a missing Secret exits 125 quickly and names the Secret.
func TestRunMissingSecretFailsFast(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "nosecret", "-n", ns, "--image", testee, "--env-from", "secret/missing-creds")
	wantCode(t, r, 125)
	if r.took > 30*time.Second {
		t.Errorf("took %s to report a missing Secret, want under 30s", r.took)
	}
	wantStderr(t, r, `"missing-creds"`, "CreateContainerConfigError")
	assertNothingLeft(t, ns)
}

// 5. An unsatisfiable node selector exits 125 quickly with the scheduler's reason.
func TestRunUnschedulableFailsFast(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "nonode", "-n", ns, "--image", testee, "--node-selector", "disk=golden")
	wantCode(t, r, 125)
	if r.took > 30*time.Second {
		t.Errorf("took %s to report an unschedulable pod, want under 30s", r.took)
	}
	wantStderr(t, r, "Unschedulable", "didn't match Pod's node affinity/selector")
	assertNothingLeft(t, ns)
}

// 6. A command missing from the image exits 127; a command that is not executable exits 126.
func TestRunCommandNotFoundOrNotExecutable(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "nocmd", "-n", ns, "--image", testee, "--", "/no/such/test")
	wantCode(t, r, 127)
	wantStderr(t, r, "/no/such/test", "no such file or directory")

	r = testrun(t, "run", "noexec", "-n", ns, "--image", busybox, "--", "/etc/passwd")
	wantCode(t, r, 126)
	wantStderr(t, r, "permission denied")
	assertNothingLeft(t, ns)
}

// 7. --timeout stops a test that runs too long: exit 124, and the run is cleaned up.
func TestRunTimeoutExits124(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "slow", "-n", ns, "--image", testee, "--timeout", "5s", "--env", "TESTEE_PRINT=started", "--env", "TESTEE_SLEEP=60s")
	wantCode(t, r, 124)
	if r.took > 30*time.Second {
		t.Errorf("took %s for a 5s timeout", r.took)
	}
	wantStderr(t, r, "--timeout 5s")
	assertNothingLeft(t, ns)
}

// 8. SIGINT while the test runs: exit 130 within 10 s, with nothing of the run left behind.
func TestRunInterruptCleansUp(t *testing.T) {
	ns := namespace(t)
	cmd := command(t.Context(), pluginBin, "run", "cancelled", "-n", ns, "--image", testee, "--env", "TESTEE_PRINT=running", "--env", "TESTEE_SLEEP=120s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || first != "running\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("first line = %q, %v; want %q (stderr: %s)", first, err, "running\n", stderr.String())
	}
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	took := time.Since(signalled)
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit code after SIGINT = %d (%v), want 130; stderr:\n%s", code, err, stderr.String())
	}
	if took > 10*time.Second {
		t.Errorf("took %s to exit after SIGINT, want under 10s", took)
	}
	// What it could grab in the time, the state of the run when it was stopped, is in the diagnostics file;
	// stderr tells a short story.
	r := result{stderr: stderr.String(), code: 130}
	wantStderr(t, r, "testrun: run cancelled-", " was stopped: interrupted (SIGINT)", "testrun: interrupted with exit code 130: run cancelled-")
	if n := len(lines(r.stderr)); n > 20 {
		t.Errorf("stderr after SIGINT has %d lines, want a short story:\n%s", n, r.stderr)
	}
	wantDiagnosticsFile(t, r, "--- describe pod cancelled-", "State:          Running")
	assertNothingLeft(t, ns)
}

// 9. 10,000 numbered lines all arrive exactly once and in order.
func TestRunStreamsTenThousandLinesExactlyOnce(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "many", "-n", ns, "--image", testee, "--env", "TESTEE_LINES=10000")
	wantCode(t, r, 0)
	assertNumberedLines(t, r.stdout, 10000)
}

// assertNumberedLines checks that out holds "line 1" … "line n", each once, in order.
func assertNumberedLines(t *testing.T, out string, n int) {
	t.Helper()
	got := lines(out)
	for i, l := range got {
		if want := fmt.Sprintf("line %d", i+1); l != want {
			t.Fatalf("line %d of %d is %q, want %q", i+1, len(got), l, want)
		}
	}
	if len(got) != n {
		t.Fatalf("got %d lines, want %d", len(got), n)
	}
}

// 10. The API server restarts while a run is in progress: the run still ends with the test's code, and every
// line arrives once.
func TestRunSurvivesAPIServerRestart(t *testing.T) {
	ns := namespace(t)
	script := `i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo "line $i"; sleep 0.05; done; exit 7`
	cmd := command(t.Context(), pluginBin, "run", "restart", "-n", ns, "--image", busybox, "--", "sh", "-c", script)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reader := bufio.NewReader(stdout)
	var out strings.Builder
	for out.Len() == 0 || !strings.Contains(out.String(), "line 20\n") {
		l, err := reader.ReadString('\n')
		out.WriteString(l)
		if err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("stream ended before line 20: %v; stderr:\n%s", err, stderr.String())
		}
	}
	restart := exec.Command(filepath.Join(repoRoot, "hack/cluster/cluster.sh"), "restart", "apiserver")
	restart.Stdout, restart.Stderr = os.Stderr, os.Stderr
	t.Cleanup(func() { startComponents(t) })
	if err := restart.Run(); err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("restarting the API server: %v", err)
	}
	rest, _ := io.ReadAll(reader)
	out.Write(rest)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 7 {
		t.Fatalf("exit code = %d, want the test's 7; stderr:\n%s", code, stderr.String())
	}
	assertNumberedLines(t, out.String(), 300)
	assertCleanedUpOrSaidSo(t, ns, stderr.String())
}

// 11. --dry-run=client -o yaml prints the Job and creates nothing.
func TestRunDryRunPrintsTheJob(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "dry", "-n", ns, "--image", testee, "--dry-run=client", "-o", "yaml", "--", "/testee", "print", "hi")
	wantCode(t, r, 0)
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(r.stdout), &job); err != nil {
		t.Fatalf("stdout is not a Job: %v\n%s", err, r.stdout)
	}
	if job.Kind != "Job" || job.Namespace != ns || !strings.HasPrefix(job.Name, "dry-") {
		t.Errorf("printed %s %s/%s, want a Job dry-… in %s", job.Kind, job.Namespace, job.Name, ns)
	}
	if got := job.Spec.Template.Spec.Containers[0].Command; strings.Join(got, " ") != "/testee print hi" {
		t.Errorf("test command = %q, want the command after --", got)
	}
	assertNothingLeft(t, ns)
	// What was printed is what run creates: the server accepts it as it is.
	kubectl(t, "create", "--dry-run=server", "-f", writeTemp(t, r.stdout))
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "object.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// 12. -o json prints the documented result document.
func TestRunResultDocument(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "doc", "-n", ns, "--image", testee, "-o", "json", "--env", "TESTEE_PRINT=to stderr", "--env", "TESTEE_EXIT=4")
	wantCode(t, r, 4)
	var doc struct {
		APIVersion, Kind, Name, Namespace, Phase, Reason string
		ExitCode                                         int
		DurationSeconds                                  float64
		Pods                                             []struct {
			Name, Node, Phase string
			Containers        []struct {
				Name, Image, State, Reason string
				ExitCode                   *int
				DurationSeconds            *float64
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not the JSON result: %v\n%s", err, r.stdout)
	}
	if doc.Kind != "Result" || doc.Namespace != ns || !strings.HasPrefix(doc.Name, "doc-") || doc.Phase != "Failed" || doc.ExitCode != 4 {
		t.Errorf("result = %+v, want a Failed Result of doc-… in %s with exit code 4", doc, ns)
	}
	if doc.DurationSeconds <= 0 || len(doc.Pods) != 1 || doc.Pods[0].Node == "" {
		t.Fatalf("result = %+v, want a duration and one pod with its node", doc)
	}
	test := doc.Pods[0].Containers[0]
	if test.Name != "test" || test.Image != testee || test.State != "terminated" || test.ExitCode == nil || *test.ExitCode != 4 || test.DurationSeconds == nil {
		t.Errorf("test container = %+v, want terminated with exit code 4 and a duration", test)
	}
	// stdout is reserved for the document: the test's output went to stderr.
	wantStderr(t, r, "to stderr")
}

// 13. Under a Role with exactly the documented permissions a run succeeds; with one permission removed the
// preflight names it and nothing is created.
func TestRunUnderTheDocumentedRole(t *testing.T) {
	ns := namespace(t)
	role := documentedRole(t)
	as := bindRole(t, ns, role)

	r := testrun(t, "run", "rbac", "-n", ns, as, "--image", testee, "--env", "TESTEE_PRINT=allowed")
	wantCode(t, r, 0)
	if r.stdout != "allowed\n" {
		t.Errorf("stdout = %q under the documented Role", r.stdout)
	}
	assertNothingLeft(t, ns)

	// Take pods/log away.
	limited := strings.Replace(role, `resources: ["pods/log"]`, `resources: ["pods/nothing"]`, 1)
	kubectl(t, "-n", ns, "apply", "-f", writeTemp(t, limited))
	r = testrun(t, "run", "rbac", "-n", ns, as, "--image", testee)
	wantCode(t, r, 125)
	wantStderr(t, r, "missing permissions", "get pods/log", "docs/rbac.md")
	assertNothingLeft(t, ns)
}

// 14. The distroless test image (no shell, no tar) runs and its exit code comes back.
func TestRunDistrolessImage(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "distroless", "-n", ns, "--image", testeeNonroot, "--env", "TESTEE_PRINT=no shell here", "--env", "TESTEE_EXIT=5")
	wantCode(t, r, 5)
	if r.stdout != "no shell here\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
}

// 15. A test killed for memory is reported as OOMKilled.
func TestRunOOMKilledIsReported(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "oom", "-n", ns, "--image", testee, "--limits", "memory=32Mi", "--env", "TESTEE_MEMORY=256Mi")
	wantCode(t, r, 137)
	wantStderr(t, r, "OOMKilled", "--limits memory")
	assertNothingLeft(t, ns)
}

// On failure, --dump-selector adds describe and logs of the system under test to the diagnostics file, as the
// seed suites dump their service's pods.
func TestRunDumpSelectorShowsTheSystemUnderTest(t *testing.T) {
	ns := namespace(t)
	kubectl(t, "-n", ns, "run", "sut", "--image", busybox, "--labels", "app=sut", "--restart", "Never",
		"--command", "--", "sh", "-c", "echo service log line; exec sleep 3600")
	waitFor(t, 60*time.Second, "the system under test to run", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, "sut", metav1.GetOptions{})
		return err == nil && p.Status.Phase == "Running", err
	})
	r := testrun(t, "run", "broken", "-n", ns, "--image", testee, "--env", "TESTEE_EXIT=1", "--dump-selector", "app=sut")
	wantCode(t, r, 1)
	wantDiagnosticsFile(t, r, "--- describe pod sut (--dump-selector)", "--- last 50 lines of pod sut container sut", "service log line")
}
