//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	ls := lines(strings.TrimRight(s, "\n"))
	if len(ls) == 0 {
		return ""
	}
	return ls[len(ls)-1]
}

// 1. detach → logs -f streams every line to the end → wait exits with the test's code → fetch gets the
// reports → delete leaves nothing.
func TestDetachedRunLifecycle(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "nightly", "-n", ns, "--detach", "--image", testee,
		"--env", "TESTEE_LINES=300", "--env", "TESTEE_SLEEP=3s", "--env", "TESTEE_EXIT=3",
		"--env", "TESTEE_FILES=junit.xml=junit:4,1,0;logs/detail.txt=text:kept")
	wantCode(t, r, 0)
	run := lastLine(r.stdout)
	if !strings.HasPrefix(run, "nightly-") {
		t.Fatalf("--detach printed %q as its last line, want the run name", r.stdout)
	}

	r = testrun(t, "logs", run, "-n", ns, "-f")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, numbered(300)) || lastLine(r.stdout) != "slept" {
		t.Errorf("logs -f printed %d lines ending %q, want the 300 numbered lines then \"slept\"", len(lines(r.stdout)), lastLine(r.stdout))
	}

	r = testrun(t, "wait", run, "-n", ns, "--timeout", "2m")
	wantCode(t, r, 3)

	r = testrun(t, "describe", run, "-n", ns)
	wantCode(t, r, 0)
	for _, want := range []string{"Status:     Failed", "Exit Code:  3", "junit.xml (", "logs/detail.txt (4 bytes)", "junit: 5 tests, 1 failed", "--- describe pod " + run} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("describe lacks %q:\n%s", want, r.stdout)
		}
	}

	out := filepath.Join(t.TempDir(), "out")
	r = testrun(t, "fetch", run, "-n", ns, "--to", out)
	wantCode(t, r, 0)
	if b, err := os.ReadFile(filepath.Join(out, "logs/detail.txt")); err != nil || string(b) != "kept" {
		t.Errorf("fetched logs/detail.txt = %q, %v", b, err)
	}
	wantStderr(t, r, "junit: 5 tests, 1 failed", "released run "+run)
	// The test gave no user of its own, so the holder (which runs as the fetch container would) served the
	// copy: fetch started no container and left none in the pod's spec.
	pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: managedBy})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of the run: %v (%v)", pods, err)
	}
	if ec := pods.Items[0].Spec.EphemeralContainers; len(ec) != 0 {
		t.Errorf("fetch added %d ephemeral container(s) (%s), want none: the holder serves the copy", len(ec), ec[0].Name)
	}

	// Released, the pod has finished and nothing can be read from it, but describe still tells what was
	// fetched: the holder carried the record out in its termination message.
	waitFor(t, time.Minute, "the released pod to finish", func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: managedBy})
		return err == nil && len(pods.Items) == 1 && pods.Items[0].Status.Phase == corev1.PodFailed, err
	})
	r = testrun(t, "describe", run, "-n", ns)
	wantCode(t, r, 0)
	for _, want := range []string{"Status:     Failed", "Reports:\n  2 file(s), ", "fetched at ", "junit: 5 tests, 1 failed", "FAIL testee/test_failed_1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("describe of the released run lacks %q:\n%s", want, r.stdout)
		}
	}
	r = testrun(t, "describe", run, "-n", ns, "-o", "json")
	var doc struct {
		Fetched struct {
			Files int
			JUnit struct{ Tests, Failures int }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Fetched.Files != 2 || doc.Fetched.JUnit.Tests != 5 || doc.Fetched.JUnit.Failures != 1 {
		t.Errorf("describe -o json fetched = %+v (%v), want 2 files, 5 tests, 1 failed:\n%s", doc.Fetched, err, r.stdout)
	}

	r = testrun(t, "delete", run, "-n", ns)
	wantCode(t, r, 0)
	if strings.TrimSpace(r.stdout) != "run/"+run+" deleted" {
		t.Errorf("delete printed %q", r.stdout)
	}
	waitRunPodsGone(t, ns, 30*time.Second, "the run's pods to go")
	assertNothingLeft(t, ns)
}

// 2. list shows the right status and exit code for a passed, a failed and a still-running run.
func TestListShowsStatusAndExitCode(t *testing.T) {
	ns := namespace(t)
	passed := lastLine(testrun(t, "run", "passed", "-n", ns, "--detach", "--image", testee).stdout)
	failed := lastLine(testrun(t, "run", "failed", "-n", ns, "--detach", "--image", testee, "--env", "TESTEE_EXIT=4").stdout)
	running := lastLine(testrun(t, "run", "running", "-n", ns, "--detach", "--image", testee, "--env", "TESTEE_PRINT=up", "--env", "TESTEE_SLEEP=120s").stdout)
	for _, run := range []string{passed, failed} {
		testrun(t, "wait", run, "-n", ns, "--timeout", "1m")
	}
	waitFor(t, 60*time.Second, "the slow run to start", func(ctx context.Context) (bool, error) {
		r := testrun(t, "logs", running, "-n", ns)
		return r.stdout == "up\n", nil
	})

	r := testrun(t, "list", "-n", ns)
	wantCode(t, r, 0)
	rows := map[string][]string{}
	for _, l := range lines(r.stdout)[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f
	}
	want := map[string][2]string{passed: {"Passed", "0"}, failed: {"Failed", "4"}, running: {"Running", "-"}}
	for run, w := range want {
		if f := rows[run]; len(f) < 3 || f[1] != w[0] || f[2] != w[1] {
			t.Errorf("list row for %s = %v, want STATUS %s EXIT %s\n%s", run, f, w[0], w[1], r.stdout)
		}
	}
	r = testrun(t, "list", "-n", ns, "-o", "name")
	got := strings.Fields(r.stdout)
	slices.Sort(got)
	if want := []string{"run/" + failed, "run/" + passed, "run/" + running}; !slices.Equal(got, want) {
		t.Errorf("list -o name = %q, want %q", got, want)
	}
	r = testrun(t, "delete", "-n", ns, "--all")
	wantCode(t, r, 0)
	if n := len(lines(r.stdout)); n != 3 {
		t.Errorf("delete --all reported %d runs: %q", n, r.stdout)
	}
}

// 3. A run rendered with --dry-run=client -o yaml and applied with kubectl (the GitOps path) is found by label,
// waited for and fetched.
func TestAppliedManifestIsARun(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "gitops", "-n", ns, "--image", testee, "--dry-run=client", "-o", "yaml",
		"--env", "TESTEE_FILES=junit.xml=junit:2,0,0")
	wantCode(t, r, 0)
	kubectl(t, "apply", "-f", writeTemp(t, r.stdout))
	run := lastLine(testrun(t, "list", "-n", ns, "-o", "name").stdout)
	if !strings.HasPrefix(run, "run/gitops-") {
		t.Fatalf("list does not show the applied run: %q", run)
	}
	wantCode(t, testrun(t, "wait", run, "-n", ns, "--timeout", "1m"), 0)
	out := filepath.Join(t.TempDir(), "out")
	r = testrun(t, "fetch", run, "-n", ns, "--to", out)
	wantCode(t, r, 0)
	wantStderr(t, r, "junit: 2 tests, 0 failed")
	r = testrun(t, "describe", run, "-n", ns)
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "Status:") || !strings.Contains(r.stdout, "Passed") {
		t.Errorf("describe of the applied run:\n%s", r.stdout)
	}
}

// 4. logs -f started before the pod is scheduled waits, then streams; started after the run ended it prints
// the whole log and exits.
func TestLogsFollowWaitsAndReplays(t *testing.T) {
	ns := namespace(t)
	// A node selector no node has keeps the pod Pending until the test gives the node that label.
	run := lastLine(testrun(t, "run", "later", "-n", ns, "--detach", "--image", testee, "--node-selector", "e2e-"+ns+"=yes",
		"--env", "TESTEE_LINES=50").stdout)
	cmd := command(t.Context(), pluginBin, "logs", run, "-n", ns, "-f")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if stdout.Len() != 0 {
		t.Fatalf("logs -f printed before the pod ran: %q", stdout.String())
	}
	labelNode(t, "e2e-"+ns)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("logs -f: %v\n%s", err, stderr.String())
		}
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("logs -f did not end after the test ended; stdout %q", stdout.String())
	}
	if stdout.String() != numbered(50) {
		t.Errorf("logs -f printed %q, want the 50 numbered lines", stdout.String())
	}
	// After the end: the whole log, then exit.
	wantCode(t, testrun(t, "wait", run, "-n", ns), 0)
	r := testrun(t, "logs", run, "-n", ns, "-f")
	wantCode(t, r, 0)
	if r.stdout != numbered(50) {
		t.Errorf("logs -f after the end printed %q", r.stdout)
	}
}

// 5. wait on a run whose image cannot be pulled exits 125 quickly with the reason.
func TestWaitFailsFastOnAnImagePullError(t *testing.T) {
	ns := namespace(t)
	run := lastLine(testrun(t, "run", "bad", "-n", ns, "--detach", "--image", "testrun.local/absent:v1").stdout)
	r := testrun(t, "wait", run, "-n", ns, "--timeout", "5m")
	wantCode(t, r, 125)
	if r.took > 30*time.Second {
		t.Errorf("wait took %s to report an image pull error", r.took)
	}
	wantStderr(t, r, "testrun.local/absent:v1", "ErrImagePull")
}

// Shell completion offers the runs of the namespace as arguments, directly and through kubectl's plugin
// completion (kubectl_complete-testrun), which is what bash calls on TAB.
func TestCompletionOffersRunNames(t *testing.T) {
	ns := namespace(t)
	name := lastLine(testrun(t, "run", "complete-me", "-n", ns, "--detach", "--image", testee).stdout)
	for _, args := range [][]string{
		{pluginBin, "__complete", "logs", "-n", ns, "comp"},
		{kubectlBin, "__complete", "testrun", "wait", "-n", ns, "comp"},
	} {
		r := run(t, command(t.Context(), args[0], args[1:]...))
		if r.code != 0 || !strings.Contains(r.stdout, name+"\n") {
			t.Errorf("%s offers:\n%s\nwant the run %s", strings.Join(args, " "), r, name)
		}
	}
}
