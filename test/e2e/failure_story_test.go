//go:build e2e

package e2e

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// diagnosticsLine starts the story's line that says where the full diagnostics of a failed run are.
const diagnosticsLine = "  full diagnostics (describe of the job and pod, every event): "

// maxStoryLines is the most lines stderr may have for a failed run with default flags, beside the test's own
// output: the "at most ~40 lines".
const maxStoryLines = 40

// diagnosticsPath returns the diagnostics file stderr names, failing the test when it names none.
func diagnosticsPath(t *testing.T, r result) string {
	t.Helper()
	for _, l := range lines(r.stderr) {
		if path, ok := strings.CutPrefix(l, diagnosticsLine); ok {
			return path
		}
	}
	t.Fatalf("stderr does not say where the full diagnostics are (%q):\n%s", diagnosticsLine, r)
	return ""
}

// wantDiagnosticsFile checks that the diagnostics file stderr names holds every string of want.
func wantDiagnosticsFile(t *testing.T, r result, want ...string) {
	t.Helper()
	path := diagnosticsPath(t, r)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the diagnostics file stderr names: %v\n%s", err, r)
	}
	for _, w := range want {
		if !strings.Contains(string(b), w) {
			t.Errorf("%s lacks %q:\n%s", path, w, b)
		}
	}
}

// A plain assertion failure (exit 1, a JUnit report naming the failed case) tells a short story on stderr:
// at most 40 lines, with the reason, the failed case and where the full diagnostics are; the test's own
// output is on stdout, once. The diagnostics file holds the describe bundle, next to the reports with
// --reports and in $TMPDIR without. The last line is the verdict.
func TestRunFailureTellsAShortStory(t *testing.T) {
	ns := namespace(t)
	out := filepath.Join(t.TempDir(), "out")
	env := []string{"--env", "TESTEE_LINES=60", "--env", "TESTEE_FILES=junit.xml=junit:3,1,0", "--env", "TESTEE_EXIT=1"}
	r := testrun(t, append([]string{"run", "assert", "-n", ns, "--image", testee, "--reports", out}, env...)...)
	wantCode(t, r, 1)
	assertNumberedLines(t, r.stdout, 60)
	stderr := lines(r.stderr)
	if len(stderr) > maxStoryLines {
		t.Errorf("stderr has %d lines, want at most %d:\n%s", len(stderr), maxStoryLines, r.stderr)
	}
	wantStderr(t, r, "testrun: run assert-", " failed: the test failed with exit code 1\n", "  reason: Error, exit code 1 (pod assert-",
		"  junit: 4 tests, 1 failed in", "    FAIL testee/test_failed_1: test_failed_1 failed: expected true, got false",
		diagnosticsLine+filepath.Join(out, diagnosticsFile)+"\n")
	// Nothing of what the user saw is repeated: no describe, no line of the test's output, no termination message.
	for _, not := range []string{"--- describe", "line 60", "Events:"} {
		if strings.Contains(r.stderr, not) {
			t.Errorf("stderr holds %q, want it only in the diagnostics file:\n%s", not, r.stderr)
		}
	}
	if last := stderr[len(stderr)-1]; !strings.HasPrefix(last, "testrun: failed with exit code 1: run assert-") || !strings.Contains(last, "(Error), 1 of 4 tests failed, ") {
		t.Errorf("the last line of stderr is %q, want the verdict: failed with exit code 1, 1 of 4 tests failed", last)
	}
	wantDiagnosticsFile(t, r, "--- describe job assert-", "--- describe pod assert-", "Exit Code:    1", "Events:", "line 60")

	// Without --reports, the file is in $TMPDIR, readable by the user alone.
	r = testrun(t, append([]string{"run", "assert", "-n", ns, "--image", testee}, env...)...)
	wantCode(t, r, 1)
	if n := len(lines(r.stderr)); n > maxStoryLines {
		t.Errorf("stderr without --reports has %d lines, want at most %d:\n%s", n, maxStoryLines, r.stderr)
	}
	path := diagnosticsPath(t, r)
	if filepath.Dir(path) != tmpDir || !strings.HasPrefix(filepath.Base(path), "testrun-assert-") {
		t.Errorf("diagnostics file %q, want testrun-<run>-diagnostics.txt in $TMPDIR %s", path, tmpDir)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("diagnostics file in $TMPDIR: %v, mode %v; want it readable by the user alone (0600)", err, fi.Mode().Perm())
	}
	wantDiagnosticsFile(t, r, "--- describe job assert-", "--- describe pod assert-", "Exit Code:    1")
	assertNothingLeft(t, ns)
}

// A test that cannot start tells why in its story, with the decisive event; the kubelet's noise stays out.
func TestRunThatCannotStartTellsTheDecisiveEvent(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "nosecret", "-n", ns, "--image", testee, "--env-from", "secret/missing-creds")
	wantCode(t, r, 125)
	if n := len(lines(r.stderr)); n > maxStoryLines {
		t.Errorf("stderr has %d lines, want at most %d:\n%s", n, maxStoryLines, r.stderr)
	}
	wantStderr(t, r, "  reason: CreateContainerConfigError, exit code 125", "  warning events:", `"missing-creds" not found`)
	for _, noise := range []string{"MissingClusterDNS", "--- describe"} {
		if strings.Contains(r.stderr, noise) {
			t.Errorf("stderr holds %q:\n%s", noise, r.stderr)
		}
	}
	wantDiagnosticsFile(t, r, "--- describe pod nosecret-", "CreateContainerConfigError")
	assertNothingLeft(t, ns)
}

// A passing run ends with the verdict line, also in CI (stderr is no terminal here); -q prints nothing on
// success.
func TestRunPassingEndsWithTheVerdict(t *testing.T) {
	ns := namespace(t)
	out := filepath.Join(t.TempDir(), "out")
	r := testrun(t, "run", "pass", "-n", ns, "--image", testee, "--reports", out, "--env", "TESTEE_FILES=junit.xml=junit:4,0,0")
	wantCode(t, r, 0)
	stderr := lines(r.stderr)
	if last := stderr[len(stderr)-1]; !strings.HasPrefix(last, "testrun: passed: run pass-") || !strings.Contains(last, ", 4 tests, ") {
		t.Errorf("the last line of stderr is %q, want the verdict: testrun: passed: run pass-…, 4 tests, <duration>\n%s", last, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(out, diagnosticsFile)); err == nil {
		t.Errorf("a passing run saved diagnostics in %s", out)
	}

	r = testrun(t, "run", "pass", "-n", ns, "--image", testee, "-q", "--env", "TESTEE_PRINT=ok")
	wantCode(t, r, 0)
	if r.stderr != "" || r.stdout != "ok\n" {
		t.Errorf("run -q of a passing test: want only its output on stdout and nothing on stderr; got %s", r)
	}
	assertNothingLeft(t, ns)
}

// startUntil starts cmd and returns once its stream (stdout or stderr) printed a line holding want.
func startUntil(t *testing.T, cmd *exec.Cmd, stream io.Reader, want string) {
	t.Helper()
	reader := bufio.NewReader(stream)
	for {
		l, err := reader.ReadString('\n')
		if strings.Contains(l, want) {
			go func() { _, _ = io.Copy(io.Discard, reader) }()
			return
		}
		if err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("%s ended before printing %q: %v", cmd, want, err)
		}
	}
}

// interrupt sends SIGINT to cmd and returns its exit code.
func interrupt(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%s did not exit within 15s of SIGINT", cmd)
	}
	return cmd.ProcessState.ExitCode()
}

// Ctrl-C on `logs -f` and on `wait` exits 130 quietly: logs prints no error, wait one line saying the run
// goes on, and neither dumps diagnostics. The run itself goes on.
func TestInterruptingLogsAndWaitExitsQuietly(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "long", "-n", ns, "--image", testee, "--detach", "--env", "TESTEE_PRINT=running", "--env", "TESTEE_SLEEP=120s")
	wantCode(t, r, 0)
	run := strings.TrimSpace(r.stdout)

	logs := command(t.Context(), pluginBin, "logs", "-f", run, "-n", ns)
	stdout, err := logs.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logsErr strings.Builder
	logs.Stderr = &logsErr
	if err := logs.Start(); err != nil {
		t.Fatal(err)
	}
	startUntil(t, logs, stdout, "running")
	if code := interrupt(t, logs); code != 130 || logsErr.String() != "" {
		t.Errorf("logs -f after SIGINT: exit code %d, stderr %q; want 130 and nothing on stderr", code, logsErr.String())
	}

	wait := command(t.Context(), pluginBin, "wait", run, "-n", ns)
	stderr, err := wait.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var waitErr strings.Builder
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	startUntil(t, wait, io.TeeReader(stderr, &waitErr), "testrun: running")
	code := interrupt(t, wait)
	got := waitErr.String()
	if code != 130 || len(lines(got)) > 2 || !strings.Contains(got, "testrun: stopped waiting (interrupted (SIGINT)): run "+run+" goes on") ||
		strings.Contains(got, "--- describe") || strings.Contains(got, "error:") {
		t.Errorf("wait after SIGINT: exit code %d, stderr:\n%s\nwant 130, the status and one line saying the run goes on", code, got)
	}
	// The run goes on: Ctrl-C stopped the waiting only.
	if r := testrun(t, "describe", run, "-n", ns); r.code != 0 || !strings.Contains(r.stdout, "Running") {
		t.Errorf("the run after the interrupted wait: want it running; got %s", r)
	}
}

// In a namespace that warns on PodSecurity "restricted", the API server's warning reaches the user as
// kubectl prints it, not in klog's format.
func TestAPIWarningsPrintTheKubectlWay(t *testing.T) {
	ns := namespace(t)
	kubectl(t, "label", "namespace", ns, "pod-security.kubernetes.io/warn=restricted")
	r := testrun(t, "run", "warned", "-n", ns, "--image", testee, "--env", "TESTEE_PRINT=ok")
	wantCode(t, r, 0)
	var warnings []string
	for _, l := range lines(r.stderr) {
		if strings.Contains(l, "would violate PodSecurity") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], `Warning: would violate PodSecurity "restricted:latest": `) {
		t.Errorf("want one line `Warning: would violate PodSecurity \"restricted:latest\": …` on stderr; got %q in:\n%s", warnings, r.stderr)
	}
	if strings.Contains(r.stderr, "warnings.go") {
		t.Errorf("stderr holds a warning in klog's format:\n%s", r.stderr)
	}
	assertNothingLeft(t, ns)
}
